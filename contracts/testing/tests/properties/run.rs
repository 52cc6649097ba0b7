//! One random sequence run against the wired contracts and the model, step by step.

use std::collections::BTreeMap;

use cosmwasm_std::{coin, Coin};
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{Suite, Which, DENOM};
use datapact_types::Severity;
use proptest::prelude::*;

use super::model::*;
use super::setup::*;

impl Run {
    pub(crate) fn now(&self) -> u64 {
        self.s.now().seconds()
    }

    pub(crate) fn exec<T: serde::Serialize + std::fmt::Debug>(
        &mut self,
        sender: usize,
        which: Which,
        msg: &T,
        funds: &[Coin],
    ) -> anyhow::Result<cw_multi_test::AppResponse> {
        let addr = self.actors[sender].clone();
        self.s.exec(&addr, which, msg, funds)
    }

    pub(crate) fn apply(
        &mut self,
        step: &Step,
        seen: &mut BTreeMap<String, u32>,
    ) -> Result<(), TestCaseError> {
        let now = self.now();
        match step.clone() {
            Step::Sign {
                sender,
                offer,
                purpose,
                pay,
            } => {
                let mut offer = offer;
                let Some(o) = pick(&self.m.offers, &mut offer) else {
                    return Ok(());
                };
                let purpose = PURPOSES[purpose];
                let funds = match (pay, o.price) {
                    (0, 0) => vec![],
                    (0, p) => vec![coin(p, DENOM)],
                    (1, _) => vec![],
                    _ => vec![coin(o.price + 1, DENOM)],
                };
                let paid_right = funds
                    .iter()
                    .map(|c| c.amount.to_string().parse::<u128>().unwrap_or(0))
                    .sum::<u128>()
                    == o.price
                    && (o.price > 0 || funds.is_empty());
                let still_manages = self.m.manages(o.provider, o.asset);
                let expect = !o.withdrawn
                    && sender != o.provider
                    && !self.m.is_suspended(sender)
                    && purpose != "marketing"
                    && paid_right
                    && still_manages;
                if !o.withdrawn && !still_manages && !self.m.tombstoned.contains_key(&o.asset) {
                    // a removed steward's offer, or one from before an ownership transfer
                    *seen.entry("sign_by_former_manager".into()).or_default() += 1;
                }
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::Sign {
                        offer_id: o.id,
                        purpose: purpose.into(),
                        consumer_public_key: vec![1u8; 32].into(),
                    },
                    &funds,
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    let id =
                        datapact_testing::attr_u64(res.as_ref().unwrap(), "agreement_id").unwrap();
                    *self.m.balances.get_mut(&sender).unwrap() -= o.price;
                    self.m.held += o.price;
                    self.m.agreements.push(MAgreement {
                        id,
                        offer,
                        consumer: sender,
                        purpose,
                        expires: now + o.duration,
                        status: Status::Active,
                        count: 0,
                        key_at: None,
                        terminated_at: None,
                        paid: 0,
                        refunded: 0,
                        signed_at: now,
                        suspensions: vec![],
                        vested_seen: 0,
                    });
                }
            }
            Step::DepositKey {
                sender,
                mut agreement,
            } => {
                let Some(a) = pick(&self.m.agreements, &mut agreement) else {
                    return Ok(());
                };
                let o = &self.m.offers[a.offer];
                let expect = sender == o.provider
                    && a.status != Status::Terminated
                    && now < a.expires
                    && a.key_at.is_none()
                    && self.m.manages(o.provider, o.asset);
                // in the second half of the term: a late delivery earns less
                if expect && now >= a.signed_at + (a.expires - a.signed_at) / 2 {
                    *seen.entry("late_delivery".into()).or_default() += 1;
                }
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::DepositKey {
                        agreement_id: a.id,
                        wrapped_key: vec![2u8; 40].into(),
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.agreements[agreement].key_at = Some(now);
                }
            }
            Step::RecordAccess {
                sender,
                mut agreement,
                purpose,
                subject,
            } => {
                let Some(a) = pick(&self.m.agreements, &mut agreement) else {
                    return Ok(());
                };
                let sender = if sender == OWN_CONSUMER {
                    a.consumer
                } else {
                    sender
                };
                let purpose = PURPOSES[purpose];
                let subject_addr = subject.map(|s| self.actors[s].to_string());
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::RecordAccess {
                        agreement_id: a.id,
                        purpose: purpose.into(),
                        subject: subject_addr,
                    },
                    &[],
                );
                if sender != a.consumer {
                    prop_assert!(
                        outcome(&res).unwrap_err().contains("is not allowed"),
                        "{:?}",
                        step
                    );
                    return Ok(());
                }
                let reason = self.m.deny_reason(&a, purpose, subject, now);
                *seen
                    .entry(reason.map_or("allowed".to_string(), |r| r.to_string()))
                    .or_default() += 1;
                match reason {
                    None => {
                        prop_assert!(res.is_ok(), "{:?} must succeed: {:?}", step, outcome(&res));
                        self.m.agreements[agreement].count += 1;
                    }
                    Some(reason) => {
                        let err = outcome(&res).err().unwrap_or_default();
                        prop_assert!(
                            err.contains(&format!("denied: {reason}")),
                            "{:?} must be denied for {}: {:?}",
                            step,
                            reason,
                            err
                        );
                    }
                }
            }
            Step::Suspend {
                sender,
                mut agreement,
            }
            | Step::Resume {
                sender,
                mut agreement,
            } => {
                let Some(a) = pick(&self.m.agreements, &mut agreement) else {
                    return Ok(());
                };
                let suspend = matches!(step, Step::Suspend { .. });
                let (from, to) = if suspend {
                    (Status::Active, Status::Suspended)
                } else {
                    (Status::Suspended, Status::Active)
                };
                let expect = sender == self.m.offers[a.offer].provider && a.status == from;
                let msg = if suspend {
                    A::Suspend { agreement_id: a.id }
                } else {
                    A::Resume { agreement_id: a.id }
                };
                let res = self.exec(sender, Which::Agreements, &msg, &[]);
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    let m = &mut self.m.agreements[agreement];
                    m.status = to;
                    if suspend {
                        m.suspensions.push((now, None));
                        if m.key_at.is_some() {
                            *seen.entry("suspension_after_delivery".into()).or_default() += 1;
                        }
                    } else if let Some(last) = m.suspensions.last_mut() {
                        last.1 = Some(now);
                    }
                }
            }
            Step::Terminate {
                sender,
                mut agreement,
            } => {
                let Some(a) = pick(&self.m.agreements, &mut agreement) else {
                    return Ok(());
                };
                let provider = self.m.offers[a.offer].provider;
                let expect =
                    (sender == provider || sender == a.consumer) && a.status != Status::Terminated;
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::Terminate { agreement_id: a.id },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    if a.key_at.is_some_and(|k| now.saturating_sub(k) < 300) {
                        *seen
                            .entry("termination_right_after_delivery".into())
                            .or_default() += 1;
                    }
                    let price = self.m.offers[a.offer].price;
                    let v = self.m.vested(&a, now);
                    let (to_p, to_c) = (v - a.paid, price - v - a.refunded);
                    *self.m.balances.get_mut(&provider).unwrap() += to_p;
                    *self.m.balances.get_mut(&a.consumer).unwrap() += to_c;
                    self.m.held -= to_p + to_c;
                    let m = &mut self.m.agreements[agreement];
                    m.status = Status::Terminated;
                    m.terminated_at = Some(now);
                    if let Some(last) = m.suspensions.last_mut() {
                        if last.1.is_none() {
                            last.1 = Some(now);
                        }
                    }
                    m.paid += to_p;
                    m.refunded += to_c;
                }
            }
            Step::Claim {
                sender,
                mut agreement,
            } => {
                let Some(a) = pick(&self.m.agreements, &mut agreement) else {
                    return Ok(());
                };
                let provider = self.m.offers[a.offer].provider;
                let due = self.m.vested(&a, now) - a.paid;
                let expect = sender == provider && due > 0;
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::Claim { agreement_id: a.id },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    *self.m.balances.get_mut(&provider).unwrap() += due;
                    self.m.held -= due;
                    self.m.agreements[agreement].paid += due;
                }
            }
            Step::Grant {
                subject,
                provider,
                asset,
                purpose,
            } => {
                let provider = if provider < 2 {
                    provider
                } else {
                    self.m.asset_owner[asset]
                };
                let terms = Suite::terms(
                    &self.actors[provider],
                    self.m.asset_ids[asset],
                    PURPOSES[purpose],
                );
                let addr = self.actors[subject].clone();
                let id = self
                    .s
                    .grant(&addr, terms)
                    .map_err(|e| TestCaseError::fail(format!("{step:?}: {e:#}")))?;
                self.m.consents.push(MConsent {
                    id,
                    subject,
                    provider,
                    asset,
                    purpose: PURPOSES[purpose],
                    withdrawn: false,
                });
            }
            Step::Withdraw {
                sender,
                mut consent,
            } => {
                let Some(c) = pick(&self.m.consents, &mut consent) else {
                    return Ok(());
                };
                let expect = sender == c.subject && !c.withdrawn;
                let res = self.exec(
                    sender,
                    Which::Consent,
                    &datapact_consent::msg::ExecuteMsg::Withdraw { consent_id: c.id },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.consents[consent].withdrawn = true;
                    let checked = self.withdrawal_denies_in_the_same_block(&c)?;
                    *seen.entry("same_block_withdrawal".into()).or_default() += checked;
                }
            }
            Step::ReportAlert {
                sender,
                consumer,
                severity,
            } => {
                let subject = self.actors[2 + consumer].clone();
                let severity = SEVERITIES[severity];
                let res = self.exec(
                    sender,
                    Which::Audit,
                    &U::ReportAlert {
                        kind: "burst".into(),
                        severity,
                        subject: subject.to_string(),
                        asset_id: None,
                        evidence_hash: datapact_testing::hash_of("e"),
                        score: cosmwasm_std::Decimal::percent(90),
                        model_version: "m1".into(),
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), sender == 7, "{:?}: {:?}", step, outcome(&res));
                if sender == 7 {
                    let seq =
                        datapact_testing::attr_u64(res.as_ref().unwrap(), "entry_seq").unwrap();
                    let suspended = severity >= Severity::High;
                    self.m.alerts.push(MAlert {
                        seq,
                        consumer: 2 + consumer,
                        suspended,
                        lifted: false,
                    });
                }
            }
            Step::LiftSuspension { sender, mut alert } => {
                let Some(al) = pick(&self.m.alerts, &mut alert) else {
                    return Ok(());
                };
                let expect = sender == 8 && al.suspended && !al.lifted;
                let res = self.exec(
                    sender,
                    Which::Audit,
                    &U::LiftSuspension { alert_seq: al.seq },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.alerts[alert].lifted = true;
                    if self.m.is_suspended(al.consumer) {
                        // another alert still suspends this consumer: the lift must not free it
                        *seen
                            .entry("lift_with_another_alert_standing".into())
                            .or_default() += 1;
                        let standing: datapact_agreements::msg::ConsumerSuspensionResponse = self
                            .s
                            .query(
                                Which::Agreements,
                                &datapact_agreements::msg::QueryMsg::ConsumerSuspension {
                                    consumer: self.actors[al.consumer].to_string(),
                                },
                            )
                            .unwrap();
                        prop_assert!(standing.suspension.is_some(), "{:?}: freed too early", step);
                    }
                }
            }
            Step::Tombstone { sender, asset } => {
                let expect =
                    sender == self.m.asset_owner[asset] && !self.m.tombstoned.contains_key(&asset);
                let res = self.exec(
                    sender,
                    Which::Registry,
                    &R::Tombstone {
                        asset_id: self.m.asset_ids[asset],
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.tombstoned.insert(asset, now);
                    if self.m.agreements.iter().any(|a| {
                        a.key_at.is_some()
                            && self.m.offers[a.offer].asset == asset
                            && now < a.expires
                    }) {
                        *seen.entry("erasure_after_delivery".into()).or_default() += 1;
                    }
                }
            }
            Step::AddSteward {
                sender,
                asset,
                steward,
            } => {
                let owner = self.m.asset_owner[asset];
                let expect = sender == owner
                    && !self.m.tombstoned.contains_key(&asset)
                    && steward != owner
                    && !self.m.stewards[asset].contains(&steward);
                let res = self.exec(
                    sender,
                    Which::Registry,
                    &R::AddSteward {
                        asset_id: self.m.asset_ids[asset],
                        steward: self.actors[steward].to_string(),
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.stewards[asset].insert(steward);
                }
            }
            Step::RemoveSteward {
                sender,
                asset,
                steward,
            } => {
                let expect = sender == self.m.asset_owner[asset]
                    && !self.m.tombstoned.contains_key(&asset)
                    && self.m.stewards[asset].contains(&steward);
                let res = self.exec(
                    sender,
                    Which::Registry,
                    &R::RemoveSteward {
                        asset_id: self.m.asset_ids[asset],
                        steward: self.actors[steward].to_string(),
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.stewards[asset].remove(&steward);
                }
            }
            Step::TransferOwnership { sender, asset, to } => {
                let expect = sender == self.m.asset_owner[asset]
                    && !self.m.tombstoned.contains_key(&asset)
                    && to != sender;
                let asset_id = self.m.asset_ids[asset];
                let res = self.exec(
                    sender,
                    Which::Registry,
                    &R::TransferOwnership {
                        asset_id,
                        new_owner: self.actors[to].to_string(),
                    },
                    &[],
                );
                let proposed = res.is_ok();
                prop_assert!(
                    proposed
                        == (sender == self.m.asset_owner[asset]
                            && !self.m.tombstoned.contains_key(&asset)),
                    "{:?}: {:?}",
                    step,
                    outcome(&res)
                );
                if proposed {
                    let res = self.exec(to, Which::Registry, &R::AcceptOwnership { asset_id }, &[]);
                    prop_assert!(res.is_ok(), "{:?}: accepting: {:?}", step, outcome(&res));
                    // the new owner cannot stay a steward of its own asset
                    self.m.stewards[asset].remove(&to);
                    self.m.asset_owner[asset] = to;
                }
                let _ = expect;
            }
            Step::CreateOffer {
                sender,
                asset,
                kind,
            } => {
                let expect = self.m.manages(sender, asset);
                let (t, mut o) = offer_of_kind(kind, asset, sender);
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::CreateOffer {
                        asset_id: self.m.asset_ids[asset],
                        terms: t,
                    },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    o.id = datapact_testing::attr_u64(res.as_ref().unwrap(), "offer_id").unwrap();
                    self.m.offers.push(o);
                }
            }
            Step::WithdrawOffer { sender, mut offer } => {
                let Some(o) = pick(&self.m.offers, &mut offer) else {
                    return Ok(());
                };
                let expect =
                    !o.withdrawn && (sender == o.provider || sender == self.m.asset_owner[o.asset]);
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::WithdrawOffer { offer_id: o.id },
                    &[],
                );
                prop_assert_eq!(res.is_ok(), expect, "{:?}: {:?}", step, outcome(&res));
                if expect {
                    self.m.offers[offer].withdrawn = true;
                }
            }
            Step::Advance { seconds } => self.s.advance(1, seconds),
        }
        Ok(())
    }
}
