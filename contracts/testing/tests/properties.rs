//! Property tests: random sequences of messages from random senders, run against the four
//! wired contracts and against an independent model of the rules. After every step:
//! - every message succeeds exactly when the model says it must, and a refused access is
//!   refused for the reason the model names (so no `RecordAccess` ever succeeds without an
//!   active, unexpired, uncapped agreement for the signed purpose and, where required,
//!   consent in force at that block);
//! - a withdrawal denies every consent-bound access from its own block on;
//! - coins are conserved: each account holds what the model says, and the contract holds
//!   exactly the sum of what the agreements still escrow;
//! - the audit hash chain verifies.

use std::collections::{BTreeMap, BTreeSet};

use cosmwasm_std::{coin, Addr, Coin};
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{Suite, Which, DENOM, START_BALANCE};
use datapact_types::agreements::DenyReason;
use datapact_types::{Sensitivity, Severity};
use proptest::prelude::*;

const PURPOSES: [&str; 3] = ["research", "analytics", "marketing"];
/// Senders: 0-1 providers, 2-4 consumers, 5-6 subjects, 7 sentinel, 8 responder, 9 stranger.
const ACTORS: usize = 10;
/// Stands for "the consumer of the agreement picked", so most accesses come from the right
/// sender and reach the rules behind authorization.
const OWN_CONSUMER: usize = usize::MAX;
const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

#[derive(Debug, Clone)]
enum Step {
    Sign {
        sender: usize,
        offer: usize,
        purpose: usize,
        pay: u8,
    },
    DepositKey {
        sender: usize,
        agreement: usize,
    },
    RecordAccess {
        sender: usize,
        agreement: usize,
        purpose: usize,
        subject: Option<usize>,
    },
    Suspend {
        sender: usize,
        agreement: usize,
    },
    Resume {
        sender: usize,
        agreement: usize,
    },
    Terminate {
        sender: usize,
        agreement: usize,
    },
    Claim {
        sender: usize,
        agreement: usize,
    },
    Grant {
        subject: usize,
        provider: usize,
        asset: usize,
        purpose: usize,
    },
    Withdraw {
        sender: usize,
        consent: usize,
    },
    ReportAlert {
        sender: usize,
        consumer: usize,
        severity: usize,
    },
    LiftSuspension {
        sender: usize,
        alert: usize,
    },
    Tombstone {
        sender: usize,
        asset: usize,
    },
    Advance {
        seconds: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0..ACTORS;
    let pick = 0..16usize;
    prop_oneof![
        4 => (0..ACTORS, 0..9usize, 0..3usize, 0..3u8).prop_map(|(sender, offer, purpose, pay)| Step::Sign { sender: if sender < 2 { sender } else { 2 + sender % 3 }, offer, purpose, pay }),
        2 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::DepositKey { sender: sender % 3, agreement }),
        8 => (who.clone(), pick.clone(), 0..3usize, proptest::option::of(5..7usize)).prop_map(|(sender, agreement, purpose, subject)| Step::RecordAccess { sender: if sender < 7 { OWN_CONSUMER } else { sender }, agreement, purpose: [0, 0, 1][purpose], subject }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Suspend { sender: sender % 4, agreement }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Resume { sender: sender % 4, agreement }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Terminate { sender, agreement }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Claim { sender: sender % 4, agreement }),
        // mostly to the asset's owner (the controller agreements ask about), sometimes not
        4 => (5..7usize, 0..4usize, 0..3usize, 0..3usize).prop_map(|(subject, provider, asset, purpose)| Step::Grant { subject, provider, asset, purpose: [0, 0, 1][purpose] }),
        2 => (who.clone(), pick.clone()).prop_map(|(sender, consent)| Step::Withdraw { sender: if sender < 5 { 5 + sender % 2 } else { sender }, consent }),
        1 => (who.clone(), 0..3usize, 0..4usize).prop_map(|(sender, consumer, severity)| Step::ReportAlert { sender: if sender < 5 { 7 } else { sender }, consumer, severity }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, alert)| Step::LiftSuspension { sender: if sender < 5 { 8 } else { sender }, alert }),
        1 => (who, 0..3usize).prop_map(|(sender, asset)| Step::Tombstone { sender: sender % 3, asset }),
        3 => (0..900u64).prop_map(|seconds| Step::Advance { seconds }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Suspended,
    Terminated,
}

#[derive(Debug, Clone)]
struct MOffer {
    asset: usize,
    provider: usize,
    price: u128,
    cap: Option<u64>,
    consent_required: bool,
    duration: u64,
}

#[derive(Debug, Clone)]
struct MAgreement {
    id: u64,
    offer: usize,
    consumer: usize,
    purpose: &'static str,
    expires: u64,
    status: Status,
    count: u64,
    key_at: Option<u64>,
    terminated_at: Option<u64>,
    paid: u128,
    refunded: u128,
}

#[derive(Debug, Clone)]
struct MConsent {
    id: u64,
    subject: usize,
    provider: usize,
    asset: usize,
    purpose: &'static str,
    withdrawn: bool,
}

#[derive(Debug, Clone)]
struct MAlert {
    seq: u64,
    suspended: bool,
    lifted: bool,
}

/// The model: what the rules say, written independently of the contracts.
struct Model {
    offers: Vec<MOffer>,
    /// Owner of each asset (index), by provider index.
    asset_owner: [usize; 3],
    asset_ids: [u64; 3],
    tombstoned: BTreeSet<usize>,
    agreements: Vec<MAgreement>,
    consents: Vec<MConsent>,
    alerts: Vec<MAlert>,
    suspended: BTreeSet<usize>,
    balances: BTreeMap<usize, u128>,
    held: u128,
}

impl Model {
    fn vested(&self, a: &MAgreement, now: u64) -> u128 {
        let price = self.offers[a.offer].price;
        let Some(start) = a.key_at else { return 0 };
        let now = a.terminated_at.map_or(now, |t| t.min(now));
        if now >= a.expires {
            return price;
        }
        if now <= start {
            return 0;
        }
        price * u128::from(now - start) / u128::from(a.expires - start)
    }

    fn consent_in_force(
        &self,
        subject: usize,
        provider: usize,
        asset: usize,
        purpose: &str,
    ) -> bool {
        self.consents.iter().any(|c| {
            !c.withdrawn
                && c.subject == subject
                && c.provider == provider
                && c.asset == asset
                && c.purpose == purpose
        })
    }

    /// The first rule an access breaks, in the contract's documented order.
    fn deny_reason(
        &self,
        a: &MAgreement,
        purpose: &str,
        subject: Option<usize>,
        now: u64,
    ) -> Option<DenyReason> {
        let o = &self.offers[a.offer];
        if self.suspended.contains(&a.consumer) {
            return Some(DenyReason::ConsumerSuspended);
        }
        match a.status {
            Status::Suspended => return Some(DenyReason::AgreementSuspended),
            Status::Terminated => return Some(DenyReason::AgreementTerminated),
            Status::Active => {}
        }
        if now >= a.expires {
            return Some(DenyReason::AgreementExpired);
        }
        if o.cap.is_some_and(|c| a.count >= c) {
            return Some(DenyReason::CapReached);
        }
        if a.purpose != purpose {
            return Some(DenyReason::PurposeNotPermitted);
        }
        if self.tombstoned.contains(&o.asset) {
            return Some(DenyReason::AssetTombstoned);
        }
        if o.consent_required {
            let Some(s) = subject else {
                return Some(DenyReason::SubjectRequired);
            };
            if !self.consent_in_force(s, o.provider, o.asset, purpose) {
                return Some(DenyReason::ConsentNotGranted);
            }
        }
        None
    }
}

struct Run {
    s: Suite,
    m: Model,
    actors: Vec<Addr>,
}

fn setup() -> Run {
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
fn pick<T: Clone>(list: &[T], i: &mut usize) -> Option<T> {
    if list.is_empty() {
        return None;
    }
    *i %= list.len();
    Some(list[*i].clone())
}

fn outcome(res: &anyhow::Result<cw_multi_test::AppResponse>) -> Result<(), String> {
    res.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"))
}

impl Run {
    fn now(&self) -> u64 {
        self.s.now().seconds()
    }

    fn exec<T: serde::Serialize + std::fmt::Debug>(
        &mut self,
        sender: usize,
        which: Which,
        msg: &T,
        funds: &[Coin],
    ) -> anyhow::Result<cw_multi_test::AppResponse> {
        let addr = self.actors[sender].clone();
        self.s.exec(&addr, which, msg, funds)
    }

    fn apply(
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
    fn withdrawal_denies_in_the_same_block(&mut self, c: &MConsent) -> Result<u32, TestCaseError> {
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

    fn check_invariants(&self) -> Result<(), TestCaseError> {
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

/// Every outcome an access can have, and the same-block withdrawal check; the run fails if the
/// generator stopped reaching one of them.
const MUST_SEE: [&str; 11] = [
    "same_block_withdrawal",
    "allowed",
    "consumer_suspended",
    "agreement_suspended",
    "agreement_terminated",
    "agreement_expired",
    "cap_reached",
    "purpose_not_permitted",
    "asset_tombstoned",
    "subject_required",
    "consent_not_granted",
];

#[test]
fn random_message_sequences_keep_every_rule() {
    let config = ProptestConfig {
        cases: 3000,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let seen = std::cell::RefCell::new(BTreeMap::<String, u32>::new());
    let result = runner.run(&proptest::collection::vec(step(), 1..40), |steps| {
        let mut run = setup();
        for s in &steps {
            run.apply(s, &mut seen.borrow_mut())?;
            run.check_invariants()?;
        }
        // every agreement's on-chain counters agree with the model at the end
        for a in &run.m.agreements {
            let on_chain = run.s.agreement(a.id).unwrap();
            prop_assert_eq!(on_chain.agreement.access_count, a.count);
            prop_assert_eq!(
                on_chain.agreement.paid_to_provider.to_string(),
                a.paid.to_string()
            );
            prop_assert_eq!(
                on_chain.agreement.refunded_to_consumer.to_string(),
                a.refunded.to_string()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner();
    println!("access outcomes over 3000 sequences: {seen:?}");
    for outcome in MUST_SEE {
        assert!(
            seen.get(outcome).copied().unwrap_or(0) >= 20,
            "the generator reached {outcome:?} fewer than 20 times: {seen:?}"
        );
    }
}
