//! A sustained rise in a consumer's volume, read window by window from its life so far (the day
//! surprise, models 13-15). A hidden Markov model's filter over an honest state and rises at one
//! of a few heights above each window's usual rate: unbroken, in pulses now and then, or in
//! pulses on a beat. A window near its usual rate is evidence for the honest state, one above it
//! for a rise of about its height, and a rise is believed only once it has lasted, because one
//! starts rarely and an honest busy window is common. As in the trickle evidence (`trickle.rs`),
//! the odds are those of a rise going on in the window itself. Once the volume is back at its
//! usual rate an unbroken rise has ended, and its evidence falls at once. A rise in pulses has
//! quiet windows between its raised ones: now and then (model 14), each quiet window costs it
//! only the chance of being quiet, and its evidence fades over some windows after the last
//! pulse; on a beat (model 15), a quiet window between two pulses costs nothing and a pulse
//! that does not come when due ends it. (Model 13 had unbroken rises only, and a pulse's quiet
//! window ended them; models 4-12 averaged the evidence of a doubling over the stretches ending
//! in the window, and ended it by a rule.)

/// The heights a rise may have, times the usual rate (the training rises: twice for a day,
/// a ramp to four times, a plateau of 1.5 to 4 times, a night at the day's peak).
const HEIGHTS: [f64; 4] = [1.5, 2.0, 3.0, 4.0];
/// The chance that a rise starts in a given window (one in 10,000).
const START: f64 = 1e-4;
/// The chance that a rise ends after a window (it lasts 48 windows on average: the longer a
/// rise has lasted, the less a window or two near the usual rate say it has ended) and that
/// its height is drawn again (a rise that steepens or eases, as a ramp does).
const END: f64 = 1.0 / 48.0;
const REDRAW: f64 = 0.1;
/// An honest consumer's busy windows: this share of its windows runs at one of [`BUSY`] times
/// its usual rate (the training generator's batch hours), so one busy window is no rise.
const BUSY_SHARE: f64 = 0.01;
const BUSY: [f64; 4] = [1.5, 2.0, 2.5, 3.0];
/// The most one window can multiply the odds of a rise by: less than the odds against one
/// starting, so one window alone, however busy, is no sustained rise (a burst is the volume
/// surprise's), and two such in a row are.
const GAIN_MAX: f64 = 1e3;

/// The evidence (decimal digits of the odds, at least 0, to a tenth) of each window of `dense`
/// (one consumer's accesses per window from its first access on, idle windows as zeros) that a
/// rise is going on in it, given `usual`, each window's usual rate from the past alone (None:
/// no past yet, the window is skipped and its evidence is 0).
pub(super) fn rise_evidence(dense: &[f64], usual: &[Option<f64>]) -> Vec<f64> {
    let mut filter = Filter::default();
    dense
        .iter()
        .zip(usual)
        .map(|(&c, u)| match u {
            Some(u) if *u > 0.0 && c.is_finite() && c >= 0.0 => {
                filter.step(c, *u);
                filter.evidence()
            }
            _ => 0.0,
        })
        .collect()
}

/// `ln` of the likelihood of `c` accesses in a window whose rate is `height` times its usual
/// rate `u` (on top of which an honest busy window may come, as [`BUSY`]), relative to the
/// Poisson likelihood at `u` itself.
fn log_likelihood(c: f64, u: f64, height: f64) -> f64 {
    // ln Poisson(c; m) - ln Poisson(c; u)
    let rel = |m: f64| c * (m / u).ln() - (m - u);
    let busy = (BUSY_SHARE / BUSY.len() as f64).ln();
    let mut terms = [0.0; BUSY.len() + 1];
    terms[0] = (1.0 - BUSY_SHARE).ln() + rel(height * u);
    for (t, s) in terms[1..].iter_mut().zip(BUSY) {
        *t = busy + rel((s + height - 1.0) * u);
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
}

/// How often a rise's windows are raised: every window (an unbroken rise), or each window
/// independently with this chance, as usual between (a rise in pulses; the training pulses
/// raise one window in four).
const SHARES: [f64; 2] = [1.0, 0.25];

/// Pulses on a beat: one raised window every `p` windows for `p` in these, as usual between, so
/// a quiet window between two pulses costs nothing and a pulse that does not come when due
/// costs much (it comes anyway, too small to read, with chance [`MISS`]).
const PERIODS: std::ops::RangeInclusive<usize> = 2..=12;
const MISS: f64 = 0.1;
/// The chance that pulses on some beat start in a given window (as a rise's, spread over the
/// beats and their phases), so one window alone, however busy, is no beat (more, and a burst
/// left a beat's evidence behind it: docs/anomalies.md, step 19).
const BEAT_START: f64 = START;

/// How many times more likely a window is under a state that raises it or leaves it as usual
/// (`raised`, `quiet`: the `ln` of each chance times its likelihood) than under the honest state
/// (`honest`, the `ln` of its likelihood), at most [`GAIN_MAX`].
fn gain(raised: f64, quiet: f64, honest: f64) -> f64 {
    let either = raised.max(quiet) + (-(raised - quiet).abs()).exp().ln_1p();
    (either - honest).min(GAIN_MAX.ln()).exp()
}

/// The filter's state: the chance of the honest state, of a rise of each share and height, and
/// of pulses on each beat, at each phase (windows until the next pulse) and height, given the
/// windows so far (they sum to 1).
struct Filter {
    honest: f64,
    rise: [[f64; HEIGHTS.len()]; SHARES.len()],
    beats: Vec<Vec<[f64; HEIGHTS.len()]>>,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            honest: 1.0,
            rise: [[0.0; HEIGHTS.len()]; SHARES.len()],
            beats: PERIODS.map(|p| vec![[0.0; HEIGHTS.len()]; p]).collect(),
        }
    }
}

impl Filter {
    /// The chance that a rise of any sort is going on.
    fn rising(&self) -> f64 {
        let beats: f64 = self.beats.iter().flatten().flatten().sum();
        self.rise.iter().flatten().sum::<f64>() + beats
    }

    /// One window on for the pulses on a beat: each phase a window nearer its pulse (the one
    /// due now starting over), a beat beginning at any phase, and what the window says of the
    /// phase whose pulse is due in it.
    fn beat(&mut self, honest: f64, up: &[f64; HEIGHTS.len()]) {
        let n = HEIGHTS.len() as f64;
        let start = self.honest * BEAT_START / (self.beats.len() as f64 * n);
        // a due pulse at each height: the same for every beat
        let due_gain = up.map(|up| gain((1.0 - MISS).ln() + up, MISS.ln() + honest, honest));
        for phases in &mut self.beats {
            phases.rotate_left(1);
            let p = phases.len() as f64;
            for x in phases.iter_mut().flatten() {
                *x = *x * (1.0 - END) + start / p;
            }
            if let Some(due) = phases.first_mut() {
                for (x, g) in due.iter_mut().zip(due_gain) {
                    *x *= g;
                }
            }
        }
    }

    /// One window on, with `c` accesses where `u` were usual.
    fn step(&mut self, c: f64, u: f64) {
        let n = HEIGHTS.len() as f64;
        let honest = log_likelihood(c, u, 1.0);
        let up = HEIGHTS.map(|h| log_likelihood(c, u, h));
        let ending = self.rising();
        self.beat(honest, &up);
        for (rise, q) in self.rise.iter_mut().zip(SHARES) {
            // where the window starts: a rise of this share begins, goes on (its height kept
            // or drawn again) or ends
            let total: f64 = rise.iter().sum();
            for (x, up) in rise.iter_mut().zip(up) {
                *x = self.honest * START / n
                    + *x * (1.0 - END) * (1.0 - REDRAW)
                    + total * (1.0 - END) * REDRAW / n;
                // what the window's accesses say: raised with chance q, else as usual
                *x *= gain(q.ln() + up, (1.0 - q).ln() + honest, honest);
            }
        }
        self.honest = self.honest * (1.0 - SHARES.len() as f64 * START - BEAT_START) + ending * END;
        let total = self.honest + self.rising();
        if total > 0.0 && total.is_finite() {
            self.honest /= total;
            self.rise.iter_mut().flatten().for_each(|x| *x /= total);
            self.beats
                .iter_mut()
                .flatten()
                .flatten()
                .for_each(|x| *x /= total);
        } else {
            *self = Self::default();
        }
    }

    /// `log10` of the odds that a rise is going on, at least 0, to a tenth. (The honest state
    /// never empties: every step moves a rise's chance `END` of ending into it, and no window
    /// multiplies a rise by more than [`GAIN_MAX`].)
    fn evidence(&self) -> f64 {
        let digits = (self.rising() / self.honest).log10().max(0.0);
        if digits.is_finite() {
            (digits * 10.0).round() / 10.0
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The evidence over a life whose usual rate is `u` throughout.
    fn evidence(dense: &[f64], u: f64) -> Vec<f64> {
        rise_evidence(dense, &vec![Some(u); dense.len()])
    }

    /// A life at `u` an hour: `before` windows, then `times` hours at `pulse`, `every` hours
    /// apart and at `u` between, then `after` windows; and the index of its first pulse.
    fn pulsed_life(
        u: f64,
        pulse: f64,
        every: usize,
        times: usize,
        before: usize,
        after: usize,
    ) -> (Vec<f64>, usize) {
        let mut life = vec![u; before];
        for k in 0..(times - 1) * every + 1 {
            life.push(if k % every == 0 { pulse } else { u });
        }
        life.extend(vec![u; after]);
        (life, before)
    }

    #[test]
    fn a_rise_is_believed_once_it_has_lasted_and_gone_the_window_it_ends() {
        // 10 an hour, then 12 hours at 20, then 10 again
        let mut life = vec![10.0; 24];
        life.extend(vec![20.0; 12]);
        life.extend(vec![10.0; 12]);
        let e = evidence(&life, 10.0);
        assert!(e[..24].iter().all(|&x| x == 0.0), "{:?}", &e[..24]);
        assert_eq!(e[24], 0.0, "its first window alone: {:?}", &e[24..36]);
        assert!(e[27] > 1.0, "four windows in: {:?}", &e[24..36]);
        assert!(e[24..36].iter().all(|&x| x >= 0.0));
        assert!(e[35] >= e[27], "{:?}", &e[24..36]);
        // back at its usual rate: the rise has ended
        assert!(e[36] < e[35] / 2.0, "{:?}", &e[35..]);
        assert!(e[37..].iter().all(|&x| x == 0.0), "{:?}", &e[36..]);
    }

    #[test]
    fn one_busy_window_or_one_burst_is_no_rise() {
        // a busy consumer's honest batch hour at three times its rate
        let mut life = vec![30.0; 24];
        life.push(90.0);
        life.extend(vec![30.0; 12]);
        assert!(evidence(&life, 30.0).iter().all(|&x| x == 0.0));
        // a burst twenty times the rate: no rise after it
        let mut burst = vec![10.0; 24];
        burst.push(200.0);
        burst.extend(vec![10.0; 12]);
        let e = evidence(&burst, 10.0);
        assert!(e[25..].iter().all(|&x| x == 0.0), "{:?}", &e[24..]);
    }

    #[test]
    fn a_small_consumers_few_hours_at_three_times_its_rate_are_a_rise() {
        let mut life = vec![3.0; 24];
        life.extend(vec![9.0; 4]);
        life.extend(vec![3.0; 4]);
        let e = evidence(&life, 3.0);
        assert_eq!(e[24], 0.0, "its first hour alone");
        assert!(e[27] > 0.5 && e[27] >= e[26], "{:?}", &e[24..28]);
    }

    #[test]
    fn a_rise_after_a_rise_is_seen_again() {
        // two rises a day apart: the first explains nothing of the second
        let mut life = vec![10.0; 24];
        for _ in 0..2 {
            life.extend(vec![20.0; 8]);
            life.extend(vec![10.0; 24]);
        }
        let e = evidence(&life, 10.0);
        let first = e[24..32].iter().copied().fold(0.0, f64::max);
        let second = e[56..64].iter().copied().fold(0.0, f64::max);
        assert!(
            first > 1.0 && (second - first).abs() < 0.5,
            "{first} {second}"
        );
    }

    #[test]
    fn pulses_add_up_to_a_rise_through_their_quiet_windows_which_fades_after_the_last() {
        // 20 an hour, then an hour at 80 every four hours, six times (21 hours)
        let (life, first) = pulsed_life(20.0, 80.0, 4, 6, 24, 48);
        let e = evidence(&life, 20.0);
        let pulses = &e[first..first + 21];
        assert_eq!(pulses[0], 0.0, "the first pulse alone: {pulses:?}");
        assert!(pulses[8] > 1.0 && pulses[20] > pulses[8], "{pulses:?}");
        // between the later pulses the rise is still believed, if less than at a pulse
        assert!(pulses[9..20].iter().all(|&x| x > 0.0), "{pulses:?}");
        assert!(pulses[13] < pulses[12], "{pulses:?}");
        // after the last pulse it fades, and is gone within a day
        let after = &e[first + 21..];
        assert!(after[0] < pulses[20], "{after:?}");
        assert!(after.windows(2).all(|w| w[1] <= w[0]), "{after:?}");
        assert!(after[24..].iter().all(|&x| x == 0.0), "{after:?}");
    }

    #[test]
    fn pulses_on_a_beat_are_believed_by_the_fourth_however_far_apart_and_end_when_one_fails() {
        // 5 an hour, then an hour at 15 every eight hours, eight times: each pulse an honest
        // busy hour's height, seven quiet hours between (57 hours)
        let (life, first) = pulsed_life(5.0, 15.0, 8, 8, 48, 24);
        let e = evidence(&life, 5.0);
        let pulse = |k: usize| e[first + 8 * k];
        assert_eq!(pulse(0), 0.0, "{:?}", &e[first..]);
        assert!(pulse(3) > 0.5 && pulse(7) > pulse(3), "{:?}", &e[first..]);
        // the quiet hours between the later pulses keep it
        assert!(
            e[first + 49..first + 56].iter().all(|&x| x > 0.5),
            "{:?}",
            &e[first..]
        );
        // the ninth pulse does not come: gone within a few windows of it
        assert!(
            e[first + 64 + 3..].iter().all(|&x| x == 0.0),
            "{:?}",
            &e[first + 57..]
        );
    }

    #[test]
    fn honest_busy_hours_a_day_or_more_apart_are_no_pulses() {
        // an honest batch hour at three times the rate every 30 hours, for two weeks
        let life: Vec<f64> = (0..14 * 24)
            .map(|t| if t % 30 == 29 { 60.0 } else { 20.0 })
            .collect();
        assert!(evidence(&life, 20.0).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn no_past_is_no_evidence() {
        let e = rise_evidence(&[50.0, 50.0, 50.0], &[None, None, None]);
        assert_eq!(e, vec![0.0; 3]);
    }

    proptest! {
        #[test]
        fn any_life_gets_finite_evidence_at_least_zero(
            life in proptest::collection::vec(0.0f64..1e6, 1..200),
            usual in proptest::collection::vec(proptest::option::of(0.0f64..1e4), 1..200),
        ) {
            let n = life.len().min(usual.len());
            let e = rise_evidence(&life[..n], &usual[..n]);
            prop_assert_eq!(e.len(), n);
            prop_assert!(e.iter().all(|x| x.is_finite() && *x >= 0.0));
        }
    }
}
