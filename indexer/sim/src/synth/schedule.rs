//! What happens when: the honest events planned in advance (withdrawals, suspensions by
//! providers, publications) and the injected misbehaviour, six kinds, each instance by a
//! distinct actor, away from the first day (every actor needs a baseline first). Honest access
//! traffic is drawn hour by hour as the history is played ([`super::play`]).

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use datapact_analytics::target;
use datapact_types::agreements::DenyReason;

use super::world::World;
use crate::labels::kind;
use crate::workload::PURPOSES;

/// Events scheduled at a second offset from the start.
pub(super) enum Ev {
    Access {
        agreement: usize,
        subject: Option<usize>,
        label: Option<usize>,
    },
    Denied {
        consumer: usize,
        agreement: Option<usize>,
        purpose: String,
        subject: Option<String>,
        reason: DenyReason,
        label: Option<usize>,
    },
    Withdraw {
        consent: usize,
        label: Option<usize>,
    },
    Suspend {
        agreement: usize,
        label: Option<usize>,
    },
    Launder {
        provider: usize,
        label: usize,
        step: u8,
        /// who attests the product (None: two of the established attestors)
        attestors: Option<Vec<usize>>,
    },
    Publish {
        provider: usize,
        over_unattested: bool,
    },
    /// a new asset of `provider`'s, its first version attested by one established attestor
    /// (`by`, or one drawn when it happens): a record earned before misbehaving
    Vouch { provider: usize, by: Option<usize> },
}

/// Events by the second (from the start of the history) they happen at.
pub(super) type Plan = BTreeMap<u64, Vec<Ev>>;

/// The history's clock: block length, length in hours, and the first hour injections may use.
pub(super) struct Clock {
    pub block_seconds: u64,
    pub hours: u64,
    pub first: u64,
}

impl Clock {
    pub fn new(block_seconds: u64, hours: u64) -> Self {
        Clock {
            block_seconds,
            hours,
            first: 24.min(hours.saturating_sub(2)),
        }
    }

    /// A random hour for an injected misbehaviour: after the first day, before the end.
    pub fn injection_hour(&self, rng: &mut ChaCha8Rng) -> u64 {
        rng.random_range(self.first..self.hours.max(self.first + 1))
    }

    /// A random hour for a laundering chain: after the first day, two hours before the end (its
    /// three steps must land).
    pub fn laundering_hour(&self, rng: &mut ChaCha8Rng) -> u64 {
        rng.random_range(self.first..self.hours.saturating_sub(2).max(self.first + 1))
    }

    /// The block holding second `second` of the history (block 1 is the setup).
    pub fn height_of(&self, second: u64) -> u64 {
        1 + second / self.block_seconds
    }
}

/// Hands out consumers for injections, each at most once.
#[derive(Default)]
pub(super) struct Picker {
    used: BTreeSet<usize>,
}

impl Picker {
    pub(super) fn consumer(
        &mut self,
        w: &mut World,
        need: &dyn Fn(&World, usize) -> bool,
    ) -> Option<usize> {
        // a late joiner (variant late-joiners) is honest noise: an injection before it joins
        // would be an attacker that vanishes for days and comes back as someone else
        let joined = |c: usize| w.noise_of.start.get(c).copied().unwrap_or(0) == 0;
        let mut cands: Vec<usize> = (0..w.cfg.consumers)
            .filter(|c| !self.used.contains(c) && need(w, *c) && joined(*c))
            .collect();
        cands.shuffle(&mut w.rng);
        let c = cands.first().copied()?;
        self.used.insert(c);
        Some(c)
    }
}

/// Honest events planned in advance: withdrawals, suspensions by providers, publications.
pub(super) fn honest(w: &mut World, hours: u64, planned: &mut Plan) {
    // a random second after the first hour
    let at =
        |rng: &mut ChaCha8Rng| rng.random_range(1..hours.max(2)) * 3600 + rng.random_range(0..3600);
    // honest withdrawals: a tenth of the consents, at random times
    for c in 0..w.consents.len() {
        if w.rng.random_bool(0.1) {
            let t = at(&mut w.rng);
            planned.entry(t).or_default().push(Ev::Withdraw {
                consent: c,
                label: None,
            });
        }
    }
    // honest suspensions by providers, now and then
    for a in 0..w.agreements.len() {
        if w.rng.random_bool(0.02) {
            let t = at(&mut w.rng);
            planned.entry(t).or_default().push(Ev::Suspend {
                agreement: a,
                label: None,
            });
        }
    }
    // honest publications over time, a few over unattested parents
    for p in 0..w.cfg.providers {
        for _ in 0..w.rng.random_range(1..=4) {
            let t = at(&mut w.rng);
            let over_unattested = w.rng.random_bool(0.1);
            planned.entry(t).or_default().push(Ev::Publish {
                provider: p,
                over_unattested,
            });
        }
    }
}

/// The injected misbehaviour: `injections` instances of every kind. Returns who was picked, so
/// further injections pick others.
pub(super) fn inject(
    w: &mut World,
    clock: &Clock,
    injections: usize,
    planned: &mut Plan,
) -> Picker {
    let mut pick = Picker::default();
    for _ in 0..injections {
        burst(w, &mut pick, clock, planned);
        purpose_hopping(w, &mut pick, clock, planned);
        after_withdrawal(w, &mut pick, clock, planned);
        after_suspension(w, &mut pick, clock, planned);
        denied_flood(w, &mut pick, clock, planned);
        laundering(w, &mut pick, clock, planned);
    }
    pick
}

/// An exfiltration burst: eight to fifteen times the consumer's usual hourly volume, at least 60.
fn burst(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    if let Some(c) = pick.consumer(w, &|w, c| !w.by_consumer[c].is_empty()) {
        let l = w.label(
            kind::ACCESS_BURST,
            w.consumers[c].clone(),
            vec![],
            "an exfiltration-like burst: many times its usual access volume",
        );
        let n = ((w.rate[c] * w.rng.random_range(8.0..15.0)) as u64).max(60);
        let span = w.rng.random_range(1..=2u64);
        for _ in 0..n {
            let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
            let t = hour * 3600 + w.rng.random_range(0..3600 * span);
            planned.entry(t).or_default().push(Ev::Access {
                agreement: ag,
                subject: None,
                label: Some(l),
            });
        }
    }
}

/// Purpose hopping: purposes its agreements do not permit, one after another.
fn purpose_hopping(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    if let Some(c) = pick.consumer(w, &|w, c| !w.by_consumer[c].is_empty()) {
        let l = w.label(
            kind::PURPOSE_HOPPING,
            w.consumers[c].clone(),
            vec![],
            "tries purposes its agreements do not permit, one after another",
        );
        let start = hour * 3600 + w.rng.random_range(0..1800);
        for k in 0..w.rng.random_range(6..=12u64) {
            refused_purpose(w, planned, start + k * 60, (c, k as usize), l);
        }
    }
}

/// At `t`, consumer `c`'s `k`-th try at a purpose its agreements do not permit
/// ([`wrong_purpose`]), refused, labelled `l`.
pub(super) fn refused_purpose(
    w: &World,
    planned: &mut Plan,
    t: u64,
    (c, k): (usize, usize),
    l: usize,
) {
    let (ag, purpose) = wrong_purpose(w, c, k);
    planned.entry(t).or_default().push(Ev::Denied {
        consumer: c,
        agreement: Some(ag),
        purpose,
        subject: None,
        reason: DenyReason::PurposeNotPermitted,
        label: Some(l),
    });
}

/// The `k`-th try of consumer `c` at a purpose its agreements do not permit: its agreements in
/// turn, each with the `k`-th (cycling) purpose other than the one it was signed for.
fn wrong_purpose(w: &World, c: usize, k: usize) -> (usize, String) {
    let ag = w.by_consumer[c][k % w.by_consumer[c].len()];
    let others: Vec<&str> = PURPOSES
        .iter()
        .copied()
        .filter(|p| *p != w.agreements[ag].purpose)
        .collect();
    (ag, others[k % others.len()].to_string())
}

/// Three to eight refused attempts of consumer `c` on agreement `ag` for its own purpose, spread
/// over the minutes after `t`: what a misbehaving consumer does after it was cut off.
fn keeps_trying(
    w: &mut World,
    planned: &mut Plan,
    t: u64,
    (c, ag): (usize, usize),
    subject: Option<String>,
    reason: DenyReason,
    label: usize,
) {
    for k in 0..w.rng.random_range(3..=8u64) {
        let purpose = w.agreements[ag].purpose.to_string();
        planned
            .entry(t + 120 + k * w.rng.random_range(30..400))
            .or_default()
            .push(Ev::Denied {
                consumer: c,
                agreement: Some(ag),
                purpose,
                subject: subject.clone(),
                reason,
                label: Some(label),
            });
    }
}

/// Attempts after a withdrawal: the subject withdraws, the consumer keeps going.
fn after_withdrawal(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    let consented = pick
        .consumer(w, &|w, c| {
            w.by_consumer[c]
                .iter()
                .any(|&a| w.agreements[a].consent_required)
        })
        .and_then(|c| {
            Some((
                c,
                *w.by_consumer[c]
                    .iter()
                    .find(|&&a| w.agreements[a].consent_required)?,
            ))
        });
    if let Some((c, ag)) = consented {
        let t = hour * 3600 + w.rng.random_range(0..1200);
        let covering = w.covering(&w.agreements[ag], clock.height_of(t));
        if let Some(&consent) = covering.choose(&mut w.rng) {
            let subj = w.consents[consent].subject;
            let l = w.label(
                kind::ACCESS_AFTER_WITHDRAWAL,
                w.consumers[c].clone(),
                vec![
                    target::agreement(w.agreements[ag].id),
                    target::subject(&w.subjects[subj]),
                ],
                "keeps recording accesses for a data subject after the subject withdrew consent",
            );
            // every record of that subject covering the use is withdrawn
            for other in covering.iter().filter(|&&o| w.consents[o].subject == subj) {
                planned.entry(t).or_default().push(Ev::Withdraw {
                    consent: *other,
                    label: Some(l),
                });
            }
            let subject = Some(w.subjects[subj].clone());
            keeps_trying(
                w,
                planned,
                t,
                (c, ag),
                subject,
                DenyReason::ConsentNotGranted,
                l,
            );
        }
    }
}

/// Attempts after a suspension: the provider suspends, the consumer keeps trying.
fn after_suspension(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    if let Some(c) = pick.consumer(w, &|w, c| !w.by_consumer[c].is_empty()) {
        let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
        let l = w.label(
            kind::ACCESS_AFTER_SUSPENSION,
            w.consumers[c].clone(),
            vec![target::agreement(w.agreements[ag].id)],
            "keeps attempting accesses on an agreement its provider suspended",
        );
        let t = hour * 3600 + w.rng.random_range(0..1200);
        planned.entry(t).or_default().push(Ev::Suspend {
            agreement: ag,
            label: Some(l),
        });
        keeps_trying(
            w,
            planned,
            t,
            (c, ag),
            None,
            DenyReason::AgreementSuspended,
            l,
        );
    }
}

/// A flood of refused attempts: others' agreements, probe subjects.
fn denied_flood(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    if let Some(c) = pick.consumer(w, &|_, _| true) {
        let l = w.label(
            kind::DENIED_FLOOD,
            w.consumers[c].clone(),
            vec![],
            "a flood of access attempts that are all refused",
        );
        let start = hour * 3600 + w.rng.random_range(0..1800);
        for k in 0..w.rng.random_range(25..=60u64) {
            let ag = w.rng.random_range(0..w.agreements.len());
            let (purpose, reason) = (
                w.agreements[ag].purpose.to_string(),
                if w.rng.random_bool(0.7) {
                    DenyReason::NoAgreement
                } else {
                    DenyReason::ConsentNotGranted
                },
            );
            let probe = Some(format!("psn:probe-{}", w.rng.random_range(0..10_000)));
            planned
                .entry(start + k * w.rng.random_range(5..40))
                .or_default()
                .push(Ev::Denied {
                    consumer: c,
                    agreement: Some(ag),
                    purpose,
                    subject: probe,
                    reason,
                    label: Some(l),
                });
        }
    }
}

/// Provenance laundering: an unattested scrape, derivatives, an attested final product.
fn laundering(w: &mut World, _pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.laundering_hour(&mut w.rng);
    let p = w.rng.random_range(0..w.cfg.providers);
    let l = w.label(
        kind::PROVENANCE_LAUNDERING,
        w.providers[p].clone(),
        vec![],
        "derived versions published over unattested parents, then attested themselves",
    );
    launder_chain(w, hour, (p, l), None, None, planned);
}

/// The three steps of a laundering chain by provider `p` under label `l`, five minutes apart,
/// from a random second of the first half of `hour`; `attestors` attest the product (None: two
/// established ones); `scrape_by` publishes the scrape (None: `p` itself).
pub(super) fn launder_chain(
    w: &mut World,
    hour: u64,
    (p, l): (usize, usize),
    attestors: Option<Vec<usize>>,
    scrape_by: Option<usize>,
    planned: &mut Plan,
) {
    let t = hour * 3600 + w.rng.random_range(0..1800);
    for step in 0..3u8 {
        planned
            .entry(t + step as u64 * 300)
            .or_default()
            .push(Ev::Launder {
                provider: if step == 0 { scrape_by.unwrap_or(p) } else { p },
                label: l,
                step,
                attestors: attestors.clone(),
            });
    }
}
