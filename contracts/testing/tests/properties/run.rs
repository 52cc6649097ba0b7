//! One random sequence run against the wired contracts and the model, step by step.

use std::collections::{BTreeMap, BTreeSet};

use cosmwasm_std::{coin, Addr, Coin};
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{Suite, Which, DENOM, START_BALANCE};
use datapact_types::{Sensitivity, Severity};
use proptest::prelude::*;

use super::model::*;

pub(crate) struct Run {
    pub(crate) s: Suite,
    pub(crate) m: Model,
    pub(crate) actors: Vec<Addr>,
}

pub(crate) fn setup() -> Run {
    let mut s = Suite::new();
    let names = [
        "provider1",
        "provider2",
        "consumer1",
        "consumer2",
        "consumer3",
        "subject1",
        "subject2",
    ];
    let mut actors: Vec<Addr> = names.iter().map(|n| s.addr(n)).collect();
    actors.push(s.sentinel.clone());
    actors.push(s.responder.clone());
    actors.push(s.addr("stranger"));
    let asset_owner = [0, 0, 1];
    let mut asset_ids = [0; 3];
    let mut offers = vec![];
    for (i, owner) in asset_owner.iter().enumerate() {
        let owner_addr = actors[*owner].clone();
        asset_ids[i] = s
            .register_asset(&owner_addr, Sensitivity::Personal)
            .unwrap();
        s.publish(&owner_addr, asset_ids[i], vec![]).unwrap();
        for (price, cap, consent_required, duration) in [
            (1000u128, Some(2u64), false, 1500u64),
            (0, Some(3), true, 3000),
            (250, None, true, 2000),
        ] {
            let mut t = Suite::offer_terms(price, cap, consent_required);
            t.duration_seconds = duration;
            s.create_offer(&owner_addr, asset_ids[i], t).unwrap();
            offers.push(MOffer {
                asset: i,
                provider: *owner,
                price,
                cap,
                consent_required,
                duration,
            });
        }
    }
    let balances = (0..ACTORS).map(|i| (i, START_BALANCE)).collect();
    let m = Model {
        offers,
        asset_owner,
        asset_ids,
        tombstoned: BTreeSet::new(),
        agreements: vec![],
        consents: vec![],
        alerts: vec![],
        suspended: BTreeSet::new(),
        balances,
        held: 0,
    };
    Run { s, m, actors }
}

/// The entry `*i` points at, taken modulo the list's length (so random picks always land),
/// with `*i` updated to the index used.
pub(crate) fn pick<T: Clone>(list: &[T], i: &mut usize) -> Option<T> {
    if list.is_empty() {
        return None;
    }
    *i %= list.len();
    Some(list[*i].clone())
}

pub(crate) fn outcome(res: &anyhow::Result<cw_multi_test::AppResponse>) -> Result<(), String> {
    res.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"))
}

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
                let o = self.m.offers[offer].clone();
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
                let expect = sender != o.provider
                    && !self.m.suspended.contains(&sender)
                    && purpose != "marketing"
                    && paid_right
                    && !self.m.tombstoned.contains(&o.asset);
                let res = self.exec(
                    sender,
                    Which::Agreements,
                    &A::Sign {
                        offer_id: offer as u64 + 1,
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
                let expect = sender == self.m.offers[a.offer].provider
                    && a.status != Status::Terminated
                    && now < a.expires
                    && a.key_at.is_none();
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
                    self.m.agreements[agreement].status = to;
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
                    let price = self.m.offers[a.offer].price;
                    let v = self.m.vested(&a, now);
                    let (to_p, to_c) = (v - a.paid, price - v - a.refunded);
                    *self.m.balances.get_mut(&provider).unwrap() += to_p;
                    *self.m.balances.get_mut(&a.consumer).unwrap() += to_c;
                    self.m.held -= to_p + to_c;
                    let m = &mut self.m.agreements[agreement];
                    m.status = Status::Terminated;
                    m.terminated_at = Some(now);
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
                    if suspended {
                        self.m.suspended.insert(2 + consumer);
                    }
                    self.m.alerts.push(MAlert {
                        seq,
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
                    let subject: datapact_audit::msg::AlertResponse = self
                        .s
                        .query(
                            Which::Audit,
                            &datapact_audit::msg::QueryMsg::Alert { alert_seq: al.seq },
                        )
                        .unwrap();
                    let idx = self
                        .actors
                        .iter()
                        .position(|a| *a == subject.alert.subject)
                        .unwrap();
                    self.m.suspended.remove(&idx);
                }
            }
            Step::Tombstone { sender, asset } => {
                let expect =
                    sender == self.m.asset_owner[asset] && !self.m.tombstoned.contains(&asset);
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
                    self.m.tombstoned.insert(asset);
                }
            }
            Step::Advance { seconds } => self.s.advance(1, seconds),
        }
        Ok(())
    }

    /// Right after a withdrawal, in the same block, every consent-bound access for that
    /// subject, controller, asset and purpose is refused, unless another consent covers it.
    pub(crate) fn withdrawal_denies_in_the_same_block(
        &mut self,
        c: &MConsent,
    ) -> Result<u32, TestCaseError> {
        let mut checked = 0;
        if self
            .m
            .consent_in_force(c.subject, c.provider, c.asset, c.purpose)
        {
            return Ok(checked);
        }
        let subject = self.actors[c.subject].to_string();
        for a in self.m.agreements.clone() {
            let o = &self.m.offers[a.offer];
            if o.consent_required
                && o.asset == c.asset
                && o.provider == c.provider
                && a.purpose == c.purpose
            {
                let consumer = self.actors[a.consumer].clone();
                let res = self
                    .s
                    .record_access(&consumer, a.id, a.purpose, Some(&subject));
                prop_assert!(
                    res.is_err(),
                    "access under agreement {} after withdrawal of consent {}",
                    a.id,
                    c.id
                );
                checked += 1;
            }
        }
        Ok(checked)
    }

    pub(crate) fn check_invariants(&self) -> Result<(), TestCaseError> {
        let contract_balance = self.s.balance(&self.s.agreements);
        prop_assert_eq!(
            contract_balance,
            self.m.held,
            "contract holds exactly the escrow"
        );
        let escrowed: u128 = self
            .m
            .agreements
            .iter()
            .map(|a| self.m.offers[a.offer].price - a.paid - a.refunded)
            .sum();
        prop_assert_eq!(escrowed, self.m.held);
        for (i, want) in &self.m.balances {
            prop_assert_eq!(
                self.s.balance(&self.actors[*i]),
                *want,
                "balance of actor {}",
                i
            );
        }
        let v = self
            .s
            .verify_audit()
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert!(v.valid, "audit chain broken at {:?}", v.first_invalid);
        Ok(())
    }
}
