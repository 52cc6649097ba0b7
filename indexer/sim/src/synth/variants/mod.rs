//! Variants of the generator (`--variants`): honest noise the detector was not built around, and
//! ways a misbehaviour hides. The base generator's noise and injections are what the detector's
//! settings were chosen on; a variant changes the history so an evaluation can hold some of them
//! out (`make eval` tunes on [`TRAINING`] and reports on [`HELD_OUT`] as well).
//!
//! An attack variant injects labelled instances of a kind (the label names the variant); a noise
//! variant changes honest behaviour and records where ([`NoiseMark`]), so the evaluation can say
//! how often honest noise of each sort is alerted on. With no variants the history is exactly the
//! base generator's (variants draw from streams of their own or only when on).

use serde::Serialize;

use crate::labels::kind;

mod attacks;
mod noise;

pub(super) use attacks::inject;
pub use noise::NoiseMark;
pub(super) use noise::{honest_refusal, retry_storm, Noise};

/// A change to the generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// honest: a tenth of the consumers work nights (their daily rhythm turned by 12 hours)
    NightShift,
    /// honest: a client that hits its agreement's cap retries 5-20 times at once
    RetryStorm,
    /// honest: now and then a refusal of any reason (a stale agreement id, a subject whose consent
    /// lapsed, no subject named, an expired, suspended or capped agreement, a wrong purpose)
    HonestRefusals,
    /// honest: a tenth of the consumers arrive late (first traffic between day 2 and 70% through)
    LateJoiners,
    /// attack (access_burst): bursts at 2, 3, 5 and 8 times the usual hourly volume
    BurstSweep,
    /// attack (purpose_hopping): one refused purpose per hour, for 6-12 hours
    TrickleRefusals,
    /// attack (access_burst): twice the usual volume for 24 hours
    #[value(name = "sustained-2x")]
    #[serde(rename = "sustained-2x")]
    Sustained2x,
    /// attack (access_burst): three nights of traffic at the day's peak rate
    NightAtDayRates,
    /// attack (access_burst): a rise from its usual volume to four times it over 12 hours
    SlowRamp,
    /// attack (access_burst): eight hours at 1.5, 2, 3 or 4 times the usual volume (a plateau,
    /// from barely there to plain)
    PlateauSweep,
    /// attack (access_burst): one burst of 8-15 times a consumer's volume split over three addresses
    SplitAddresses,
    /// attack (access_burst): an hour at four times the usual volume every four hours, six
    /// times (pulses, the hours between as usual)
    PulsedRise,
    /// attack (access_burst): an hour at three times the usual volume every eight hours, eight
    /// times (pulses further apart and lower, the hours between as usual)
    SparsePulses,
    /// attack (access_burst): an hour at twice the usual volume every six hours, eight times
    /// (pulses at the height of an honest busy hour, the hours between as usual)
    LowPulses,
    /// attack (provenance_laundering): the laundered product attested by three fresh wallets of
    /// the launderer's own
    SelfAttested,
    /// attack (purpose_hopping): one refused purpose every 2-4 hours, 5-8 times
    SparseRefusals,
    /// attack (purpose_hopping): 4-8 refused purposes at irregular gaps, each 1-8 hours after
    /// the one before
    IrregularRefusals,
    /// attack (purpose_hopping): 4-7 refused purposes, each 6-12 hours after the one before
    /// (two a day, or one overnight)
    SlowRefusals,
    /// attack (purpose_hopping): 4-6 refused purposes, each 16-30 hours after the one before
    /// (about one a day)
    DailyRefusals,
    /// attack (purpose_hopping): 5-6 refused purposes ever further apart: the first gap 1-3
    /// hours, each next twice the one before (a trickle that slows, lasting up to four days)
    SlowingRefusals,
    /// attack (purpose_hopping): 5-6 refused purposes ever closer together: the first gap 16-24
    /// hours, each next half the one before, at least an hour (a trickle that quickens)
    QuickeningRefusals,
    /// attack (provenance_laundering): the scrape published by a second wallet of the
    /// launderer's, the derivatives and the attested product by its main address
    RelayedScrape,
    /// attack (provenance_laundering): as relayed-scrape, the second wallet having had a version
    /// of its own attested by an established attestor 6-24 hours before
    VouchedRelay,
    /// attack (provenance_laundering): as relayed-scrape, the second wallet having had two
    /// versions of its own attested, each by another established attestor: one 1-3 days
    /// before, one 6-24 hours before
    SeasonedRelay,
}

/// The variants `make eval` tunes on (with development seeds).
pub const TRAINING: [Variant; 17] = [
    Variant::NightShift,
    Variant::RetryStorm,
    Variant::BurstSweep,
    Variant::TrickleRefusals,
    // held out at first; its held-out figures were seen before the span features were
    // written, so it is training now (docs/anomalies.md, "Variants")
    Variant::Sustained2x,
    // held out at stop 29; its held-out figures were seen before the laundering rule was
    // widened to sources nobody vouched for, so it is training now
    Variant::RelayedScrape,
    // held out until stop 31; their held-out figures were seen before the day surprise left
    // out a stretch's strongest window (model 6), so they are training now
    Variant::NightAtDayRates,
    Variant::SlowRamp,
    // held out until stop 33; its held-out figures (and the bound of `make eval-bound`) were
    // seen before the trickle evidence was written (model 7), so it is training now
    Variant::SparseRefusals,
    // held out until stop 34; its held-out figures were seen before the trickle evidence
    // took gaps of up to 8 windows (model 8), so it is training now
    Variant::IrregularRefusals,
    // held out until stop 35; its held-out figures were seen before the trickle evidence
    // took gaps of up to 12 windows (model 9), so it is training now
    Variant::SlowRefusals,
    // held out until stop 36; its held-out figures were seen with model 9, so it is training
    // now (model 10, the trickle evidence over paces up to a day and a half, was tried on it
    // and reverted: docs/anomalies.md, step 13)
    Variant::DailyRefusals,
    // held out until stop 37; its held-out figures were seen before the laundering rule asked
    // a relay's record for two attested versions by two attestors (model 11), so it is
    // training now
    Variant::VouchedRelay,
    // held out until stop 37; its held-out figures were seen with model 9 and model 11, so it
    // is training now (model 12, a trickle evidence that follows a trickle's own pace, was
    // tried on it and reverted: docs/anomalies.md, step 15)
    Variant::SlowingRefusals,
    // held out until stop 38; its held-out figures were seen before the day surprise was
    // rewritten as a filter over rises of several heights (model 13), so it is training now
    Variant::PlateauSweep,
    // held out until stop 39; its held-out figures were seen before the day surprise read
    // rises in pulses (model 14), so it is training now
    Variant::PulsedRise,
    // held out until stop 39; its held-out figures were seen before the day surprise read
    // sparser pulses (model 15), so it is training now
    Variant::SparsePulses,
];

/// The variants `make eval` holds out (with held-out seeds): never looked at while tuning.
pub const HELD_OUT: [Variant; 7] = [
    Variant::HonestRefusals,
    Variant::LateJoiners,
    Variant::SplitAddresses,
    Variant::SelfAttested,
    // written at stop 37 before any run of model 11 (a record is two versions attested by
    // two attestors): the evasion that rule invites, a relay that earns such a record first
    Variant::SeasonedRelay,
    // written at stop 37 before any run of model 12 (a trickle evidence that follows a
    // trickle's own pace): a trickle whose gaps shrink, where every training form's keep or grow
    Variant::QuickeningRefusals,
    // written at stop 39 before any run of model 15 (the day surprise reads pulses as sparse
    // as one window in eight): pulses lower still, at twice the usual volume, which an honest
    // busy hour often reaches, every six hours
    Variant::LowPulses,
];

impl Variant {
    /// Its name on the command line and in labels.
    pub fn name(self) -> &'static str {
        match self {
            Variant::NightShift => "night-shift",
            Variant::RetryStorm => "retry-storm",
            Variant::HonestRefusals => "honest-refusals",
            Variant::LateJoiners => "late-joiners",
            Variant::BurstSweep => "burst-sweep",
            Variant::TrickleRefusals => "trickle-refusals",
            Variant::Sustained2x => "sustained-2x",
            Variant::NightAtDayRates => "night-at-day-rates",
            Variant::SlowRamp => "slow-ramp",
            Variant::PlateauSweep => "plateau-sweep",
            Variant::SplitAddresses => "split-addresses",
            Variant::PulsedRise => "pulsed-rise",
            Variant::SparsePulses => "sparse-pulses",
            Variant::LowPulses => "low-pulses",
            Variant::SelfAttested => "self-attested",
            Variant::SparseRefusals => "sparse-refusals",
            Variant::IrregularRefusals => "irregular-refusals",
            Variant::SlowRefusals => "slow-refusals",
            Variant::DailyRefusals => "daily-refusals",
            Variant::SlowingRefusals => "slowing-refusals",
            Variant::QuickeningRefusals => "quickening-refusals",
            Variant::RelayedScrape => "relayed-scrape",
            Variant::VouchedRelay => "vouched-relay",
            Variant::SeasonedRelay => "seasoned-relay",
        }
    }

    /// The kind of misbehaviour an attack variant injects; none for honest noise.
    pub fn kind(self) -> Option<&'static str> {
        match self {
            Variant::NightShift
            | Variant::RetryStorm
            | Variant::HonestRefusals
            | Variant::LateJoiners => None,
            Variant::BurstSweep
            | Variant::Sustained2x
            | Variant::NightAtDayRates
            | Variant::SlowRamp
            | Variant::PlateauSweep
            | Variant::SplitAddresses
            | Variant::PulsedRise
            | Variant::SparsePulses
            | Variant::LowPulses => Some(kind::ACCESS_BURST),
            Variant::TrickleRefusals
            | Variant::SparseRefusals
            | Variant::IrregularRefusals
            | Variant::SlowRefusals
            | Variant::DailyRefusals
            | Variant::SlowingRefusals
            | Variant::QuickeningRefusals => Some(kind::PURPOSE_HOPPING),
            Variant::SelfAttested
            | Variant::RelayedScrape
            | Variant::VouchedRelay
            | Variant::SeasonedRelay => Some(kind::PROVENANCE_LAUNDERING),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_and_held_out_variants_do_not_overlap_and_name_every_variant() {
        use clap::ValueEnum;
        for v in TRAINING {
            assert!(!HELD_OUT.contains(&v), "{} is both", v.name());
        }
        let all = Variant::value_variants();
        assert_eq!(TRAINING.len() + HELD_OUT.len(), all.len());
        for v in all {
            // the command line, the labels and the reports spell it alike
            let flag = v.to_possible_value().map(|p| p.get_name().to_string());
            assert_eq!(flag.as_deref(), Some(v.name()));
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::Value::String(v.name().into()))
            );
        }
    }
}
