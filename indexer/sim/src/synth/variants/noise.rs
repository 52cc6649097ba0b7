//! The honest-noise variants: what they change per consumer, and where (so the evaluation can
//! count the alerts on honest windows of each sort).

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use datapact_types::agreements::DenyReason;

use super::super::schedule::{Clock, Ev};
use super::super::world::World;
use super::Variant;
use crate::workload::PURPOSES;

/// Where a noise variant changed honest behaviour: an honest actor between two heights. The
/// evaluation counts the alerts on the unlabelled windows these cover.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NoiseMark {
    pub variant: String,
    pub actor: String,
    pub first_height: u64,
    pub last_height: u64,
}

/// What the honest-noise variants change per consumer, drawn before the history is played.
#[derive(Clone, Debug, Default)]
pub(in crate::synth) struct Noise {
    pub retry_storms: bool,
    pub honest_refusals: bool,
    /// hours the consumer's daily rhythm is turned by (night shift: 12)
    pub phase: Vec<u64>,
    /// the hour the consumer's traffic begins (late joiners)
    pub start: Vec<u64>,
}

impl Noise {
    /// The noise of `variants` for `w`'s consumers, from a stream of its own.
    pub(in crate::synth) fn draw(w: &mut World, variants: &[Variant], clock: &Clock) -> Noise {
        let n = w.cfg.consumers;
        let mut rng =
            ChaCha8Rng::seed_from_u64(w.cfg.seed.wrapping_mul(0x2545_F491).wrapping_add(7));
        let mut noise = Noise {
            retry_storms: variants.contains(&Variant::RetryStorm),
            honest_refusals: variants.contains(&Variant::HonestRefusals),
            phase: vec![0; n],
            start: vec![0; n],
        };
        let last = clock.height_of(clock.hours * 3600);
        if variants.contains(&Variant::NightShift) {
            for c in 0..n {
                if rng.random_bool(0.1) {
                    noise.phase[c] = 12;
                    w.noise.push(NoiseMark {
                        variant: Variant::NightShift.name().into(),
                        actor: w.consumers[c].clone(),
                        first_height: 1,
                        last_height: last,
                    });
                }
            }
        }
        if variants.contains(&Variant::LateJoiners) {
            let latest = ((clock.hours as f64 * 0.7) as u64).max(49);
            for c in 0..n {
                if rng.random_bool(0.1) {
                    noise.start[c] = rng.random_range(48..latest);
                    w.noise.push(NoiseMark {
                        variant: Variant::LateJoiners.name().into(),
                        actor: w.consumers[c].clone(),
                        first_height: clock.height_of(noise.start[c] * 3600),
                        last_height: last,
                    });
                }
            }
        }
        noise
    }
}

/// Every reason an honest consumer may be refused for, now and then.
const HONEST_REASONS: [DenyReason; 7] = [
    DenyReason::NoAgreement,
    DenyReason::ConsentNotGranted,
    DenyReason::SubjectRequired,
    DenyReason::AgreementExpired,
    DenyReason::AgreementSuspended,
    DenyReason::CapReached,
    DenyReason::PurposeNotPermitted,
];

/// An honest refusal of consumer `c` on its agreement `ag` at second `t` (honest-refusals), or
/// None when the draw says no (one access attempt in 250).
pub(in crate::synth) fn honest_refusal(
    w: &mut World,
    c: usize,
    ag: usize,
    t: u64,
    clock: &Clock,
) -> Option<Ev> {
    if !w.rng.random_bool(0.004) {
        return None;
    }
    let reason = *HONEST_REASONS.choose(&mut w.rng)?;
    let a = &w.agreements[ag];
    let (agreement, purpose, subject) = match reason {
        // a stale or mistyped agreement id: somebody else's
        DenyReason::NoAgreement => {
            let other = w.rng.random_range(0..w.agreements.len());
            (Some(other), w.agreements[other].purpose.to_string(), None)
        }
        DenyReason::ConsentNotGranted => {
            let s = w.rng.random_range(0..w.subjects.len());
            (Some(ag), a.purpose.to_string(), Some(w.subjects[s].clone()))
        }
        DenyReason::PurposeNotPermitted => {
            let other = PURPOSES
                .iter()
                .find(|p| **p != a.purpose)
                .copied()
                .unwrap_or("analytics");
            (Some(ag), other.to_string(), None)
        }
        _ => (Some(ag), a.purpose.to_string(), None),
    };
    let h = clock.height_of(t);
    w.noise.push(NoiseMark {
        variant: Variant::HonestRefusals.name().into(),
        actor: w.consumers[c].clone(),
        first_height: h,
        last_height: h,
    });
    Some(Ev::Denied {
        consumer: c,
        agreement,
        purpose,
        subject,
        reason,
        label: None,
    })
}

/// How many refusals a capped honest client sends at once: 5-20 in a retry storm (a third of the
/// times it is refused, with retry-storm on), else one.
pub(in crate::synth) fn retry_storm(w: &mut World, c: usize, height: u64) -> u32 {
    if !(w.noise_of.retry_storms && w.rng.random_bool(0.3)) {
        return 1;
    }
    w.noise.push(NoiseMark {
        variant: Variant::RetryStorm.name().into(),
        actor: w.consumers[c].clone(),
        first_height: height,
        last_height: height,
    });
    w.rng.random_range(5..=20)
}
