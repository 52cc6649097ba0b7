//! The random steps and the independent model of the rules they are checked against.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use datapact_types::agreements::DenyReason;
use datapact_types::Severity;
use proptest::prelude::*;

pub(crate) const PURPOSES: [&str; 3] = ["research", "analytics", "marketing"];
/// Senders: 0-1 providers, 2-4 consumers, 5-6 subjects, 7 sentinel, 8 responder, 9 stranger,
/// 10 a steward.
pub(crate) const ACTORS: usize = 11;
/// The steward's index.
pub(crate) const STEWARD: usize = 10;
/// Stands for "the consumer of the agreement picked", so most accesses come from the right
/// sender and reach the rules behind authorization.
pub(crate) const OWN_CONSUMER: usize = usize::MAX;
pub(crate) const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

#[derive(Debug, Clone)]
pub(crate) enum Step {
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
    AddSteward {
        sender: usize,
        asset: usize,
        steward: usize,
    },
    RemoveSteward {
        sender: usize,
        asset: usize,
        steward: usize,
    },
    /// The owner proposes `to` as the new owner, who accepts in the same step.
    TransferOwnership {
        sender: usize,
        asset: usize,
        to: usize,
    },
    CreateOffer {
        sender: usize,
        asset: usize,
        kind: usize,
    },
    WithdrawOffer {
        sender: usize,
        offer: usize,
    },
    Advance {
        seconds: u64,
    },
}

pub(crate) fn step() -> impl Strategy<Value = Step> {
    let who = 0..ACTORS;
    let pick = 0..16usize;
    prop_oneof![
        4 => (0..ACTORS, 0..9usize, 0..3usize, 0..3u8).prop_map(|(sender, offer, purpose, pay)| Step::Sign { sender: if sender < 2 { sender } else { 2 + sender % 3 }, offer, purpose, pay }),
        4 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::DepositKey { sender: sender % 3, agreement }),
        8 => (who.clone(), pick.clone(), 0..3usize, proptest::option::of(5..7usize)).prop_map(|(sender, agreement, purpose, subject)| Step::RecordAccess { sender: if sender < 7 { OWN_CONSUMER } else { sender }, agreement, purpose: [0, 0, 1][purpose], subject }),
        2 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Suspend { sender: sender % 4, agreement }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Resume { sender: sender % 4, agreement }),
        3 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Terminate { sender, agreement }),
        1 => (who.clone(), pick.clone()).prop_map(|(sender, agreement)| Step::Claim { sender: sender % 4, agreement }),
        // mostly to the asset's owner (the controller agreements ask about), sometimes not
        4 => (5..7usize, 0..4usize, 0..3usize, 0..3usize).prop_map(|(subject, provider, asset, purpose)| Step::Grant { subject, provider, asset, purpose: [0, 0, 1][purpose] }),
        2 => (who.clone(), pick.clone()).prop_map(|(sender, consent)| Step::Withdraw { sender: if sender < 5 { 5 + sender % 2 } else { sender }, consent }),
        2 => (who.clone(), 0..3usize, 0..4usize).prop_map(|(sender, consumer, severity)| Step::ReportAlert { sender: if sender < 5 { 7 } else { sender }, consumer: consumer % 2, severity: (severity + 1).min(3) }),
        2 => (who.clone(), pick.clone()).prop_map(|(sender, alert)| Step::LiftSuspension { sender: if sender < 5 { 8 } else { sender }, alert }),
        2 => (who.clone(), 0..3usize).prop_map(|(sender, asset)| Step::Tombstone { sender: sender % 3, asset }),
        // stewards come and go, assets change hands, offers are made by whoever manages
        1 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(sender, asset, steward)| Step::AddSteward { sender: sender % 2, asset, steward: [STEWARD, 0, 1][steward] }),
        1 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(sender, asset, steward)| Step::RemoveSteward { sender: sender % 2, asset, steward: [STEWARD, 0, 1][steward] }),
        1 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(sender, asset, to)| Step::TransferOwnership { sender: sender % 2, asset, to: [0, 1, STEWARD][to] }),
        2 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(sender, asset, kind)| Step::CreateOffer { sender: [0, 1, STEWARD][sender], asset, kind }),
        1 => (who, pick).prop_map(|(sender, offer)| Step::WithdrawOffer { sender: [0, 1, STEWARD, 9][sender % 4], offer }),
        4 => (0..1200u64).prop_map(|seconds| Step::Advance { seconds }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Suspended,
    Terminated,
}

#[derive(Debug, Clone)]
pub(crate) struct MOffer {
    pub(crate) id: u64,
    pub(crate) asset: usize,
    pub(crate) provider: usize,
    pub(crate) price: u128,
    pub(crate) cap: Option<u64>,
    pub(crate) consent_required: bool,
    pub(crate) duration: u64,
    /// basis points of the price that vest at the key's delivery
    pub(crate) share_bps: u128,
    pub(crate) withdrawn: bool,
}

/// The offers every asset gets at the start and `CreateOffer` makes: (price, cap, consent
/// required, duration, delivery share).
pub(crate) const OFFER_KINDS: [(u128, Option<u64>, bool, u64, u128); 3] = [
    (1000, Some(2), false, 1500, 2500),
    (0, Some(3), true, 3000, 0),
    (250, None, true, 2000, 1000),
];

#[derive(Debug, Clone)]
pub(crate) struct MAgreement {
    pub(crate) id: u64,
    pub(crate) offer: usize,
    pub(crate) consumer: usize,
    pub(crate) purpose: &'static str,
    pub(crate) expires: u64,
    pub(crate) status: Status,
    pub(crate) count: u64,
    pub(crate) key_at: Option<u64>,
    pub(crate) terminated_at: Option<u64>,
    pub(crate) paid: u128,
    pub(crate) refunded: u128,
    pub(crate) signed_at: u64,
    /// the provider's suspensions: (from, until), until None while it lasts
    pub(crate) suspensions: Vec<(u64, Option<u64>)>,
    /// the highest `vested` seen on chain so far (it must never go down)
    pub(crate) vested_seen: u128,
}

#[derive(Debug, Clone)]
pub(crate) struct MConsent {
    pub(crate) id: u64,
    pub(crate) subject: usize,
    pub(crate) provider: usize,
    pub(crate) asset: usize,
    pub(crate) purpose: &'static str,
    pub(crate) withdrawn: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct MAlert {
    pub(crate) seq: u64,
    pub(crate) consumer: usize,
    pub(crate) suspended: bool,
    pub(crate) lifted: bool,
}

/// The model: what the rules say, written independently of the contracts.
pub(crate) struct Model {
    pub(crate) offers: Vec<MOffer>,
    /// Owner of each asset (index), by actor index.
    pub(crate) asset_owner: [usize; 3],
    pub(crate) stewards: [BTreeSet<usize>; 3],
    pub(crate) asset_ids: [u64; 3],
    /// when each erased asset was erased
    pub(crate) tombstoned: BTreeMap<usize, u64>,
    pub(crate) agreements: Vec<MAgreement>,
    pub(crate) consents: Vec<MConsent>,
    pub(crate) alerts: Vec<MAlert>,
    pub(crate) balances: BTreeMap<usize, u128>,
    pub(crate) held: u128,
}

impl Model {
    /// Whether `who` may sell `asset` now: its owner or a steward, and not erased.
    pub(crate) fn manages(&self, who: usize, asset: usize) -> bool {
        !self.tombstoned.contains_key(&asset)
            && (self.asset_owner[asset] == who || self.stewards[asset].contains(&who))
    }

    /// A consumer is suspended while any alert that suspended it stands.
    pub(crate) fn is_suspended(&self, consumer: usize) -> bool {
        self.alerts
            .iter()
            .any(|a| a.consumer == consumer && a.suspended && !a.lifted)
    }

    /// Seconds of `a`'s data being available up to `now`: the delivery to the earliest of now,
    /// expiry, termination and erasure, less every provider suspension in that span.
    pub(crate) fn live(&self, a: &MAgreement, now: u64) -> u64 {
        let Some(start) = a.key_at else { return 0 };
        let mut end = now.min(a.expires);
        if let Some(t) = a.terminated_at {
            end = end.min(t);
        }
        if let Some(t) = self.tombstoned.get(&self.offers[a.offer].asset) {
            end = end.min(*t);
        }
        if end <= start {
            return 0;
        }
        let withheld: u64 = a
            .suspensions
            .iter()
            .map(|(from, until)| {
                let (from, until) = ((*from).max(start), until.unwrap_or(end).min(end));
                until.saturating_sub(from)
            })
            .sum();
        (end - start).saturating_sub(withheld)
    }

    /// What has vested: the delivery share at delivery, the rest over the whole term for the
    /// live seconds.
    pub(crate) fn vested(&self, a: &MAgreement, now: u64) -> u128 {
        if a.key_at.is_none() {
            return 0;
        }
        let o = &self.offers[a.offer];
        let share = o.price * o.share_bps / 10_000;
        let term = u128::from(a.expires - a.signed_at);
        share + (o.price - share) * u128::from(self.live(a, now)).min(term) / term
    }

    pub(crate) fn consent_in_force(
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
    pub(crate) fn deny_reason(
        &self,
        a: &MAgreement,
        purpose: &str,
        subject: Option<usize>,
        now: u64,
    ) -> Option<DenyReason> {
        let o = &self.offers[a.offer];
        if self.is_suspended(a.consumer) {
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
        if self.tombstoned.contains_key(&o.asset) {
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
