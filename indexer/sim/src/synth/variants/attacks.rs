//! The attack variants: labelled instances of a kind, each a way a misbehaviour hides.

use std::ops::RangeInclusive;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

use super::super::address;
use super::super::schedule::{launder_chain, refused_purpose, Clock, Ev, Picker, Plan};
use super::super::world::{rhythm, World};
use super::Variant;

/// The attack variants' instances: `per_variant` of each attack in `variants`, each by an actor
/// no other injection uses.
pub(in crate::synth) fn inject(
    w: &mut World,
    pick: &mut Picker,
    clock: &Clock,
    variants: &[Variant],
    per_variant: usize,
    planned: &mut Plan,
) {
    for &v in variants {
        for i in 0..per_variant {
            match v {
                Variant::BurstSweep => {
                    let m = [2.0, 3.0, 5.0, 8.0][i % 4];
                    let about = format!("a burst at {m}x its usual hourly volume");
                    volume(w, pick, clock, v, &about, 1, &|_| m - 1.0, planned);
                }
                Variant::Sustained2x => {
                    let about = "twice its usual volume for a whole day";
                    volume(w, pick, clock, v, about, 24, &|_| 1.0, planned);
                }
                Variant::SlowRamp => {
                    let about = "a rise from its usual volume to four times it over 12 hours";
                    let lift = |k: u64| 3.0 * (k + 1) as f64 / 12.0;
                    volume(w, pick, clock, v, about, 12, &lift, planned);
                }
                Variant::PlateauSweep => {
                    let m = [1.5, 2.0, 3.0, 4.0][i % 4];
                    let about = format!("eight hours at {m}x its usual volume");
                    volume(w, pick, clock, v, &about, 8, &|_| m - 1.0, planned);
                }
                Variant::PulsedRise => {
                    let about =
                        "an hour at four times its usual volume every four hours, six times";
                    let lift = |k| pulse(k, PULSE_EVERY, 3.0);
                    volume(w, pick, clock, v, about, PULSED_HOURS, &lift, planned);
                }
                Variant::SparsePulses => {
                    let about =
                        "an hour at three times its usual volume every eight hours, eight times";
                    let lift = |k| pulse(k, SPARSE_EVERY, 2.0);
                    volume(w, pick, clock, v, about, SPARSE_HOURS, &lift, planned);
                }
                Variant::LowPulses => {
                    let about = "an hour at twice its usual volume every six hours, eight times";
                    let lift = |k| pulse(k, LOW_EVERY, 1.0);
                    volume(w, pick, clock, v, about, LOW_HOURS, &lift, planned);
                }
                Variant::NightAtDayRates => night_at_day_rates(w, pick, clock, planned),
                Variant::SplitAddresses => split_addresses(w, pick, clock, planned),
                Variant::TrickleRefusals
                | Variant::SparseRefusals
                | Variant::IrregularRefusals
                | Variant::SlowRefusals
                | Variant::DailyRefusals
                | Variant::SlowingRefusals
                | Variant::QuickeningRefusals => refusals_apart(w, pick, clock, planned, v),
                Variant::SelfAttested => self_attested(w, clock, i, planned),
                Variant::RelayedScrape | Variant::VouchedRelay | Variant::SeasonedRelay => {
                    relayed_scrape(w, clock, i, v, planned)
                }
                Variant::NightShift
                | Variant::RetryStorm
                | Variant::HonestRefusals
                | Variant::LateJoiners => {}
            }
        }
    }
}

/// A volume attack of variant `v` by a busy consumer: for `hours` hours from a random one, `lift`
/// (of the hour's index) times its usual volume on top of its honest traffic.
#[allow(clippy::too_many_arguments)]
fn volume(
    w: &mut World,
    pick: &mut Picker,
    clock: &Clock,
    v: Variant,
    about: &str,
    hours: u64,
    lift: &dyn Fn(u64) -> f64,
    planned: &mut Plan,
) {
    let hour = clock
        .injection_hour(&mut w.rng)
        .min(clock.hours.saturating_sub(hours));
    if let Some(c) = pick.consumer(w, &busy) {
        let l = w.variant_label(v, w.consumers[c].clone(), about);
        for k in 0..hours {
            extra_traffic(w, c, hour + k..hour + k + 1, lift(k), l, planned);
        }
    }
}

/// A pulsed rise: every [`PULSE_EVERY`] hours an hour at four times the usual volume, the hours
/// between as usual, from the first pulse to the sixth ([`PULSED_HOURS`]).
const PULSE_EVERY: u64 = 4;
const PULSED_HOURS: u64 = 5 * PULSE_EVERY + 1;
/// Sparse pulses: every [`SPARSE_EVERY`] hours an hour at three times the usual volume, from the
/// first pulse to the eighth ([`SPARSE_HOURS`]).
const SPARSE_EVERY: u64 = 8;
const SPARSE_HOURS: u64 = 7 * SPARSE_EVERY + 1;
/// Low pulses: every [`LOW_EVERY`] hours an hour at twice the usual volume, from the first pulse
/// to the eighth ([`LOW_HOURS`]).
const LOW_EVERY: u64 = 6;
const LOW_HOURS: u64 = 7 * LOW_EVERY + 1;

/// The lift of a pulsed attack's `k`-th hour: `lift` every `every` hours from the first, none
/// between.
fn pulse(k: u64, every: u64, lift: f64) -> f64 {
    if k % every == 0 {
        lift
    } else {
        0.0
    }
}

/// Three nights (00:00-06:00) at the day's peak rate, a label per night: the days between are
/// honest.
fn night_at_day_rates(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let day = clock.injection_hour(&mut w.rng) / 24;
    let days = clock.hours / 24;
    if let Some(c) = pick.consumer(w, &busy) {
        for d in day..(day + 3).min(days) {
            let l = w.variant_label(
                Variant::NightAtDayRates,
                w.consumers[c].clone(),
                "a night of traffic at its day-time peak rate (one of three)",
            );
            for h in 0..6 {
                let hour = d * 24 + h;
                // up to the peak of the daily rhythm (1.6)
                let lift = 1.6 / rhythm(h) - 1.0;
                extra_traffic(w, c, hour..hour + 1, lift, l, planned);
            }
        }
    }
}

/// One burst of 8-15 times a consumer's volume shared by three addresses.
fn split_addresses(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan) {
    let hour = clock.injection_hour(&mut w.rng);
    let m: f64 = w.rng.random_range(8.0..15.0);
    let party: Vec<usize> = (0..3).filter_map(|_| pick.consumer(w, &busy)).collect();
    let k = party.len().max(1) as f64;
    for &c in &party {
        let l = w.variant_label(
            Variant::SplitAddresses,
            w.consumers[c].clone(),
            &format!("one of {k} addresses sharing a burst of {m:.0}x one address's volume"),
        );
        extra_traffic(w, c, hour..hour + 1, m / k, l, planned);
    }
}

/// A purpose-hopping variant's form: what its label says, how many refused purposes, and the
/// hours from one to the next: drawn evenly from `gaps` (a single value draws nothing), or, for
/// a trickle whose pace changes, the first drawn so and each next from the one before.
struct RefusalForm {
    variant: Variant,
    about: &'static str,
    times: RangeInclusive<u64>,
    gaps: RangeInclusive<u64>,
    pace: Pace,
}

/// How a trickle's gaps follow one another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pace {
    /// every gap drawn from the form's `gaps`
    Drawn,
    /// the first drawn, each next twice the one before (a trickle that slows)
    Doubling,
    /// the first drawn, each next half the one before, at least an hour (one that quickens)
    Halving,
}

impl RefusalForm {
    /// The hours to the next refusal after a gap of `before` hours (0: after the first).
    fn gap(&self, before: u64, rng: &mut impl Rng) -> u64 {
        match self.pace {
            Pace::Doubling if before > 0 => before * 2,
            Pace::Halving if before > 0 => (before / 2).max(1),
            _ if self.gaps.start() == self.gaps.end() => *self.gaps.start(),
            _ => rng.random_range(self.gaps.clone()),
        }
    }
}

const REFUSAL_FORMS: [RefusalForm; 7] = [
    RefusalForm {
        variant: Variant::TrickleRefusals,
        about: "one purpose its agreements do not permit per hour, for hours",
        times: 6..=12,
        gaps: 1..=1,
        pace: Pace::Drawn,
    },
    RefusalForm {
        variant: Variant::SparseRefusals,
        about: "one purpose its agreements do not permit every few hours",
        times: 5..=8,
        gaps: 2..=4,
        pace: Pace::Drawn,
    },
    RefusalForm {
        variant: Variant::IrregularRefusals,
        about: "purposes its agreements do not permit, tried at irregular gaps of hours",
        times: 4..=8,
        gaps: 1..=8,
        pace: Pace::Drawn,
    },
    RefusalForm {
        variant: Variant::SlowRefusals,
        about: "purposes its agreements do not permit, tried every 6-12 hours",
        times: 4..=7,
        gaps: 6..=12,
        pace: Pace::Drawn,
    },
    RefusalForm {
        variant: Variant::DailyRefusals,
        about: "purposes its agreements do not permit, tried about once a day",
        times: 4..=6,
        gaps: 16..=30,
        pace: Pace::Drawn,
    },
    RefusalForm {
        variant: Variant::SlowingRefusals,
        about: "purposes its agreements do not permit, tried ever further apart (each gap twice the last)",
        times: 5..=6,
        gaps: 1..=3,
        pace: Pace::Doubling,
    },
    RefusalForm {
        variant: Variant::QuickeningRefusals,
        about: "purposes its agreements do not permit, tried ever closer together (each gap half the last)",
        times: 5..=6,
        gaps: 16..=24,
        pace: Pace::Halving,
    },
];

/// Refused purposes by one consumer in the form of variant `v` ([`REFUSAL_FORMS`]; none for a
/// variant without one), from a random hour.
fn refusals_apart(w: &mut World, pick: &mut Picker, clock: &Clock, planned: &mut Plan, v: Variant) {
    let Some(form) = REFUSAL_FORMS.iter().find(|f| f.variant == v) else {
        return;
    };
    let hour = clock.injection_hour(&mut w.rng);
    if let Some(c) = pick.consumer(w, &|w, c| !w.by_consumer[c].is_empty()) {
        let l = w.variant_label(v, w.consumers[c].clone(), form.about);
        let (mut at, mut gap) = (hour, 0);
        for k in 0..w.rng.random_range(form.times.clone()) {
            let t = at * 3600 + w.rng.random_range(0..3600);
            if t < clock.hours * 3600 {
                refused_purpose(w, planned, t, (c, k as usize), l);
            }
            gap = form.gap(gap, &mut w.rng);
            at += gap;
        }
    }
}

/// A laundering variant's hour, launderer and label (in this order of draws).
fn launderer(w: &mut World, clock: &Clock, v: Variant, about: &str) -> (u64, usize, usize) {
    let hour = clock.laundering_hour(&mut w.rng);
    let p = w.rng.random_range(0..w.cfg.providers);
    let l = w.variant_label(v, w.providers[p].clone(), about);
    (hour, p, l)
}

/// Laundering whose product three fresh wallets of the launderer's own attest (instance `i`).
fn self_attested(w: &mut World, clock: &Clock, i: usize, planned: &mut Plan) {
    let about =
        "derived versions over unattested parents, attested by three fresh wallets of its own";
    let (hour, p, l) = launderer(w, clock, Variant::SelfAttested, about);
    // the launderer's own wallets: attestors nobody else uses, with no record
    let wallets: Vec<usize> = (0..3)
        .map(|j| {
            let name = format!("fresh-wallet-{p}-{i}-{j}");
            w.attestors.push(address(w.cfg.seed, &name));
            w.attestors.len() - 1
        })
        .collect();
    launder_chain(w, hour, (p, l), Some(wallets), None, planned);
}

/// Laundering whose scrape a second wallet of the launderer's publishes (instance `i`, variant
/// `v`). For vouched-relay the wallet first earns a record: a version of its own attested 6-24
/// hours before; for seasoned-relay two, each attested by another established attestor, one
/// 1-3 days before and one 6-24 hours before.
fn relayed_scrape(w: &mut World, clock: &Clock, i: usize, v: Variant, planned: &mut Plan) {
    let (about, wallet) = match v {
        Variant::VouchedRelay => (
            "a scrape published by a second wallet of its own with an attested record, derived and attested under its main address",
            "vouched-relay",
        ),
        Variant::SeasonedRelay => (
            "a scrape published by a second wallet of its own with two versions attested by two attestors, derived and attested under its main address",
            "seasoned-relay",
        ),
        _ => (
            "a scrape published by a second wallet of its own, derived and attested under its main address",
            "relay-wallet",
        ),
    };
    let (hour, p, l) = launderer(w, clock, v, about);
    // the launderer's second wallet: a provider address nobody else uses
    w.providers
        .push(address(w.cfg.seed, &format!("{wallet}-{p}-{i}")));
    let relay = w.providers.len() - 1;
    // the record is not labelled: on its own it is honest-looking
    let mut vouch = |w: &mut World, hours: std::ops::Range<u64>, by: Option<usize>| {
        let before = w.rng.random_range(hours);
        let t = hour.saturating_sub(before) * 3600 + w.rng.random_range(0..3600);
        planned.entry(t).or_default().push(Ev::Vouch {
            provider: relay,
            by,
        });
    };
    match v {
        Variant::VouchedRelay => vouch(w, 6..24, None),
        Variant::SeasonedRelay => {
            let mut who: Vec<usize> = (0..w.cfg.attestors.max(1)).collect();
            who.shuffle(&mut w.rng);
            vouch(w, 24..72, who.first().copied());
            vouch(w, 6..24, who.get(1).copied());
        }
        _ => {}
    }
    launder_chain(w, hour, (p, l), None, Some(relay), planned);
}

/// A consumer busy enough for a volume attack to mean anything: at least 3 accesses an hour on
/// average (below that, 2x is one access more, which honest chance does every hour).
fn busy(w: &World, c: usize) -> bool {
    !w.by_consumer[c].is_empty() && w.rate[c] >= 3.0
}

/// `lift` times consumer `c`'s usual volume (rate by the daily rhythm) on top of its honest
/// traffic in each of `hours`, labelled `l`.
fn extra_traffic(
    w: &mut World,
    c: usize,
    hours: std::ops::Range<u64>,
    lift: f64,
    l: usize,
    planned: &mut Plan,
) {
    for hour in hours {
        let usual = w.rate[c] * rhythm(hour % 24);
        let x = usual * lift;
        // the fraction of an access drawn, so small lifts are not rounded away
        let n = x.floor() as u64 + u64::from(w.rng.random_bool(x.fract().clamp(0.0, 1.0)));
        for _ in 0..n {
            let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
            let t = hour * 3600 + w.rng.random_range(0..3600);
            planned.entry(t).or_default().push(Ev::Access {
                agreement: ag,
                subject: None,
                label: Some(l),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::labels::kind;

    #[test]
    fn every_purpose_hopping_variant_has_a_form_of_refusals_and_no_other_has() {
        use clap::ValueEnum;
        for v in Variant::value_variants() {
            let hopping = v.kind() == Some(kind::PURPOSE_HOPPING);
            let form = REFUSAL_FORMS.iter().any(|f| f.variant == *v);
            assert_eq!(form, hopping, "{}", v.name());
        }
    }

    #[test]
    fn a_slowing_trickle_doubles_each_gap_a_quickening_one_halves_it_and_the_others_draw_every_gap()
    {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for form in &REFUSAL_FORMS {
            for _ in 0..50 {
                let mut gaps = vec![form.gap(0, &mut rng)];
                for _ in 1..6 {
                    let before = gaps[gaps.len() - 1];
                    gaps.push(form.gap(before, &mut rng));
                }
                assert!(form.gaps.contains(&gaps[0]), "{:?}", gaps);
                if form.pace == Pace::Doubling {
                    let expect: Vec<u64> = (0..6).map(|k| gaps[0] << k).collect();
                    assert_eq!(gaps, expect);
                } else if form.pace == Pace::Halving {
                    let expect: Vec<u64> = (0..6).map(|k| (gaps[0] >> k).max(1)).collect();
                    assert_eq!(gaps, expect);
                } else {
                    assert!(gaps.iter().all(|g| form.gaps.contains(g)), "{:?}", gaps);
                }
            }
        }
    }

    /// A world of 20 consumers, 6 providers and 50 subjects drawn with `seed`.
    fn small_world(seed: u64) -> World {
        let cfg = crate::synth::SynthConfig {
            seed,
            consumers: 20,
            providers: 6,
            subjects: 50,
            ..Default::default()
        };
        let Ok(w) = World::new(&cfg) else {
            panic!("a world of {cfg:?}");
        };
        w
    }

    /// The hours holding one instance of the pulsed variant `v` in the world of `seed` (each with
    /// its count of accesses), and the labels' variants.
    fn pulse_hours(v: Variant, seed: u64) -> (BTreeMap<u64, usize>, Vec<Option<String>>) {
        let mut w = small_world(seed);
        // its agreements: a volume attack picks a busy consumer that has some
        let mut rows = datapact_index::tables::Rows::default();
        w.setup(&mut crate::synth::world::BlockRows {
            rows: &mut rows,
            height: 1,
            next_tx: 0,
        });
        let mut plan = Plan::new();
        let clock = Clock::new(6, 14 * 24);
        inject(&mut w, &mut Picker::default(), &clock, &[v], 1, &mut plan);
        let mut hours: BTreeMap<u64, usize> = BTreeMap::new();
        for (t, evs) in &plan {
            for e in evs {
                if let Ev::Access { label: Some(_), .. } = e {
                    *hours.entry(t / 3600).or_default() += 1;
                }
            }
        }
        let labels = w.labels.iter().map(|l| l.variant.clone()).collect();
        (hours, labels)
    }

    /// Asserts that `v` lays `times` hours of accesses `every` hours apart, at least `least` in
    /// each (a busy consumer has 3+ accesses an hour on average, fewer at night, and a pulse adds
    /// once to three times that), under one label of its name.
    fn assert_pulses(v: Variant, every: u64, times: u64, least: usize) {
        for seed in 1..=10 {
            let (hours, labels) = pulse_hours(v, seed);
            let first = hours.keys().next().copied().unwrap_or(0);
            let expect: Vec<u64> = (0..times).map(|k| first + k * every).collect();
            assert_eq!(
                hours.keys().copied().collect::<Vec<_>>(),
                expect,
                "seed {seed}"
            );
            assert!(
                hours.values().all(|n| *n >= least),
                "seed {seed}: {hours:?}"
            );
            assert_eq!(labels, vec![Some(v.name().to_string())]);
        }
    }

    #[test]
    fn a_pulsed_rise_adds_an_hour_at_four_times_the_volume_every_four_hours_six_times() {
        assert_pulses(Variant::PulsedRise, 4, 6, 3);
        assert_eq!(pulse(8, PULSE_EVERY, 3.0), 3.0);
    }

    #[test]
    fn sparse_pulses_add_an_hour_at_three_times_the_volume_every_eight_hours_eight_times() {
        assert_pulses(Variant::SparsePulses, 8, 8, 3);
        // twice the usual volume added: three times in all, lower than the training pulses
        assert_eq!(pulse(16, SPARSE_EVERY, 2.0), 2.0);
        assert_eq!(pulse(17, SPARSE_EVERY, 2.0), 0.0);
    }

    #[test]
    fn low_pulses_add_an_hour_at_twice_the_volume_every_six_hours_eight_times() {
        assert_pulses(Variant::LowPulses, 6, 8, 1);
        // the usual volume added once more: twice in all
        assert_eq!(pulse(12, LOW_EVERY, 1.0), 1.0);
        assert_eq!(pulse(13, LOW_EVERY, 1.0), 0.0);
    }

    /// The relays' records as planned: (second, relay, attestor) of each `Vouch`, and the second
    /// the laundering chain starts.
    fn planned_relay(v: Variant, seed: u64) -> (Vec<(u64, usize, Option<usize>)>, u64) {
        let mut w = small_world(seed);
        let mut plan = Plan::new();
        relayed_scrape(&mut w, &Clock::new(6, 14 * 24), 0, v, &mut plan);
        let vouches = plan
            .iter()
            .flat_map(|(t, evs)| evs.iter().map(move |e| (*t, e)))
            .filter_map(|(t, e)| match e {
                Ev::Vouch { provider, by } => Some((t, *provider, *by)),
                _ => None,
            })
            .collect();
        let chain = plan
            .iter()
            .find(|(_, evs)| evs.iter().any(|e| matches!(e, Ev::Launder { .. })))
            .map_or(0, |(t, _)| *t);
        (vouches, chain)
    }

    #[test]
    fn a_seasoned_relay_has_two_versions_attested_by_two_attestors_days_and_hours_before() {
        for seed in 1..=20 {
            let (vouches, chain) = planned_relay(Variant::SeasonedRelay, seed);
            assert_eq!(vouches.len(), 2, "seed {seed}: {vouches:?}");
            let (first, second) = (vouches[0], vouches[1]);
            assert_eq!(first.1, second.1, "one relay wallet");
            assert!(first.2.is_some() && second.2.is_some() && first.2 != second.2);
            let hours_before = |t: u64| (chain / 3600).saturating_sub(t / 3600);
            // the chain is drawn after the first day, so the earlier record may be clamped to 0
            assert!(
                (24..=72).contains(&hours_before(first.0)) || first.0 < 3600,
                "seed {seed}: {} h before",
                hours_before(first.0)
            );
            assert!((6..=24).contains(&hours_before(second.0)), "seed {seed}");
        }
        // vouched-relay keeps its one record, its attestor drawn when it happens
        let (vouches, _) = planned_relay(Variant::VouchedRelay, 1);
        assert_eq!(vouches.len(), 1);
        assert_eq!(vouches[0].2, None);
        // relayed-scrape has none
        assert!(planned_relay(Variant::RelayedScrape, 1).0.is_empty());
    }
}
