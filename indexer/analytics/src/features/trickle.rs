//! Purpose hopping spread over hours: the evidence that a trickle of refused purposes is going
//! on, read window by window from a consumer's life so far (models 7 to 9). A forward pass
//! over the states of a trickle (refusals so far, windows since the last), against the
//! consumer's own honest rate of mistaken purposes, as a hidden Markov model's filter: one
//! honest mistake is no evidence, a second a few windows later some, and each one more
//! multiplies it; windows without the next refusal when it was due take it away.

use super::consumers::REFUSED_PURPOSE;
use super::history::Lived;

/// The trickles the evidence is for: [`COUNT_MIN`]..=[`COUNT_MAX`] refused purposes, each 1 to
/// [`GAP_MAX`] windows after the one before, every count and gap alike likely. (The forms of
/// the training variants: one refusal an hour, 6-12 times; one every 2-4 hours, 5-8 times;
/// 4-8 at gaps of 1-8 hours; 4-7 at gaps of 6-12 hours. Model 7 knew the first two only: 5-12
/// refusals, gaps of 1-4; model 8 gaps of 1-8.)
const COUNT_MIN: usize = 4;
const COUNT_MAX: usize = 12;
const GAP_MAX: usize = 12;
/// Prior odds that a trickle starts in a given window of a consumer (four in 100,000).
const START: f64 = 4e-5;
/// An honest consumer's mistaken purposes per access before its own past says otherwise, and
/// how many accesses' worth that prior weighs.
const MISTAKES_PER_ACCESS: f64 = 0.002;
const PRIOR_ACCESSES: f64 = 500.0;
/// The consumer's own rate and pace are read from the windows more than `LAG` before (three
/// days of hourly windows; a day until model 9), so a trickle's own refusals do not make it
/// look like the consumer's habit while it goes on: a trickle of refusals half a day apart
/// lasts up to three days.
const LAG: i64 = 72;
/// The fewest accesses a window is taken to expose to mistakes: a consumer that tries and is
/// refused without accessing (its agreements suspended or capped) still makes them.
const PACE_FLOOR: f64 = 0.5;
/// The most one window's refusals can multiply the odds by: twelve such windows are 10^72, so
/// no life's odds overflow.
const GAIN_MAX: f64 = 1e6;

/// The evidence (decimal digits of the odds, at least 0) of each window in `ws` (one
/// consumer's lived windows, in order; idle windows between them count as windows without
/// accesses or refusals) that a trickle of refused purposes is going on in it — between a
/// trickle's first refusal and its last — from that window and the ones before it.
///
/// A window's honest mean of refused purposes is the consumer's rate of them per access before
/// its last [`LAG`] windows (with a prior of [`MISTAKES_PER_ACCESS`] worth [`PRIOR_ACCESSES`])
/// times the larger of its accesses and its mean pace then; `c` refusals where `m` were
/// expected are `c / m` times likelier with one of them the trickle's (Poisson), at most
/// [`GAIN_MAX`] (a window of many is a flood, which other features read). The odds are those
/// of "a trickle is going on" against "all honest, or a trickle that has ended": after its
/// fourth refusal a trickle may have been all it was to be, which explains the past as well but
/// not this window. So the windows after a refusal from the fourth on fall at once well below
/// the refusal's own (without this, the three windows after every training trickle were
/// alerted on); from the past alone, those between a long trickle's refusals cannot be told
/// from those after its last, and fall alike.
pub(super) fn trickle_evidence(ws: &[Lived]) -> Vec<f64> {
    let accessed = |l: &Lived| l.raw.first().copied().unwrap_or(0.0);
    let refused = |l: &Lived| l.raw.get(REFUSED_PURPOSE).copied().unwrap_or(0.0);
    let mut out = vec![0.0; ws.len()];
    let Some(first) = ws.iter().position(|l| refused(l) > 0.0) else {
        return out;
    };
    let start = ws[0].window;
    // the consumer's accesses and refused purposes in the windows more than `LAG` before the
    // one being read (`past` lived windows of `ws` are in them)
    let (mut accesses, mut mistakes, mut past) = (0.0, 0.0, 0);
    let mut filter = Filter::default();
    let mut j = first;
    let mut window = ws[first].window;
    while j < ws.len() {
        while past < ws.len() && ws[past].window < window.saturating_sub(LAG) {
            accesses += accessed(&ws[past]);
            mistakes += refused(&ws[past]);
            past += 1;
        }
        let lived = ws[j].window == window;
        let (a, c) = if lived {
            (accessed(&ws[j]), refused(&ws[j]))
        } else {
            (0.0, 0.0)
        };
        let seen = window.saturating_sub(LAG).saturating_sub(start).max(1) as f64;
        let pace = (accesses / seen).max(PACE_FLOOR);
        let rate = (mistakes + MISTAKES_PER_ACCESS * PRIOR_ACCESSES) / (accesses + PRIOR_ACCESSES);
        let honest = rate * a.max(pace);
        filter.step(if c > 0.0 {
            (c / honest).min(GAIN_MAX)
        } else {
            0.0
        });
        if lived {
            out[j] = filter.evidence();
            j += 1;
        }
        window += 1;
        if filter.quiet() {
            // nothing going on: the idle windows up to the next lived one change nothing
            window = window.max(ws.get(j).map_or(window, |l| l.window));
        }
    }
    out
}

/// The forward pass's state: the odds (against all honest) of each trickle state, and of the
/// trickles that have ended.
#[derive(Default)]
struct Filter {
    /// `going[k][g]`: k + 1 refusals so far, the last g windows ago
    going: [[f64; GAP_MAX]; COUNT_MAX],
    ended: f64,
}

impl Filter {
    /// One window on, in which refused purposes are `gain` times likelier with one of them a
    /// trickle's than all honest (0: none refused).
    fn step(&mut self, gain: f64) {
        let mut next = [[0.0; GAP_MAX]; COUNT_MAX];
        for (k, row) in self.going.iter().enumerate() {
            let count = k + 1;
            for (g, &odds) in row.iter().enumerate() {
                let mut odds = odds;
                if odds == 0.0 {
                    continue;
                }
                if g == 0 && count >= COUNT_MIN {
                    // the refusal just seen may have been the trickle's last
                    let stop = 1.0 / (COUNT_MAX + 1 - count) as f64;
                    self.ended += odds * stop;
                    odds *= 1.0 - stop;
                }
                // of the gaps longer than g, the one of exactly g + 1 is due now
                let due = 1.0 / (GAP_MAX - g) as f64;
                if count < COUNT_MAX {
                    next[k + 1][0] += odds * due * gain;
                }
                if g + 1 < GAP_MAX {
                    next[k][g + 1] += odds * (1.0 - due);
                }
            }
        }
        // a trickle starts with its first refusal
        next[0][0] += START * gain;
        self.going = next;
    }

    fn quiet(&self) -> bool {
        self.going.iter().flatten().all(|&x| x == 0.0)
    }

    /// `log10` of the odds that a trickle is going on, at least 0, to a tenth.
    fn evidence(&self) -> f64 {
        let going: f64 = self.going.iter().flatten().sum();
        if going <= 0.0 || !going.is_finite() {
            return 0.0;
        }
        let digits = (going.log10() - self.ended.ln_1p() / std::f64::consts::LN_10).max(0.0);
        (digits * 10.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::consumer_window;
    use crate::features::ActorWindow;

    /// A consumer's hourly life at `pace` accesses an hour with refused purposes at `at`.
    fn life(hours: usize, pace: f64, at: &[(usize, f64)]) -> Vec<ActorWindow> {
        (0..hours)
            .map(|w| {
                let mut r = consumer_window("c", w as i64, pace);
                r.raw[REFUSED_PURPOSE] = at.iter().filter(|x| x.0 == w).map(|x| x.1).sum();
                r
            })
            .collect()
    }

    fn evidence(rows: &[ActorWindow]) -> Vec<f64> {
        let ws: Vec<Lived> = rows
            .iter()
            .map(|r| Lived {
                window: r.window,
                raw: &r.raw,
                new: None,
            })
            .collect();
        trickle_evidence(&ws)
    }

    #[test]
    fn a_trickle_of_one_refusal_an_hour_is_evidence_by_its_fourth_and_none_once_it_stops() {
        let at: Vec<(usize, f64)> = (100..108).map(|h| (h, 1.0)).collect();
        let e = evidence(&life(200, 5.0, &at));
        assert!(e[..100].iter().all(|&x| x == 0.0));
        assert!(
            e[103] > 0.0,
            "four refusals in four hours: {:?}",
            &e[100..108]
        );
        assert!(
            e[102..105].windows(2).all(|w| w[1] > w[0]),
            "rising to its fifth: {:?}",
            &e[100..108]
        );
        // from its fourth on, each refusal may be its last, and the odds it goes on settle
        assert!(
            e[104..108].iter().all(|&x| x >= 1.5),
            "eight in eight hours: {:?}",
            &e[100..108]
        );
        // the hour after the last: still possible, but less likely than inside it
        assert!(e[108] < e[107] / 2.0, "{:?}", &e[104..110]);
        // twelve windows without the next refusal: no form of trickle is still going on
        assert!(e[120..].iter().all(|&x| x == 0.0), "{:?}", &e[108..122]);
    }

    #[test]
    fn refusals_a_few_hours_apart_add_up_and_farther_apart_do_not() {
        let sparse: Vec<(usize, f64)> = (0..7).map(|k| (50 + 3 * k, 1.0)).collect();
        let e = evidence(&life(120, 5.0, &sparse));
        assert!(
            e[68] > 1.5,
            "seven refusals three hours apart: {:?}",
            &e[50..70]
        );
        // the windows between refusals keep what the refusals built
        assert!(e[67] > 0.0, "{:?}", &e[50..70]);
        // ten hours apart: a form of trickle still (gaps of up to twelve), each refusal as
        // strong as a nearer one's, the windows between falling as the next one is overdue
        let ten: Vec<(usize, f64)> = (0..7).map(|k| (50 + 10 * k, 1.0)).collect();
        let f = evidence(&life(150, 5.0, &ten));
        assert!(f[110] > 1.5, "{:?}", &f[50..120]);
        assert!(
            f[100..110].windows(2).all(|w| w[1] <= w[0]) && f[109] < f[100] / 2.0,
            "{:?}",
            &f[100..111]
        );
        let apart: Vec<(usize, f64)> = (0..7).map(|k| (20 + 13 * k, 1.0)).collect();
        let f = evidence(&life(150, 5.0, &apart));
        assert!(f.iter().all(|&x| x == 0.0), "thirteen hours apart: {f:?}");
    }

    #[test]
    fn a_slow_trickle_does_not_become_the_consumers_habit_while_it_lasts() {
        // six refusals twelve hours apart (60 hours): read from one day back (model 8), its
        // first refusals had become the consumer's own rate of mistakes by its fourth
        let at: Vec<(usize, f64)> = (0..6).map(|k| (200 + 12 * k, 1.0)).collect();
        let e = evidence(&life(300, 3.0, &at));
        let at_refusals: Vec<f64> = at.iter().map(|x| e[x.0]).collect();
        // from the fourth on, each may be the last (a tenth of a digit less each time), but
        // none reads as the consumer's habit (with one day's memory: 2.3, 1.9, 1.7)
        assert!(
            at_refusals[4..].iter().all(|&x| x >= at_refusals[3] - 0.2),
            "{at_refusals:?}"
        );
        assert!(at_refusals[5] >= 2.0, "{at_refusals:?}");
    }

    #[test]
    fn a_consumer_that_often_mistakes_its_purpose_needs_more_to_be_a_trickle() {
        // the same three refusals in three hours, after 300 hours of one mistake a day, and
        // after none
        let mut careless: Vec<(usize, f64)> = (0..12).map(|d| (24 * d + 9, 1.0)).collect();
        let mut careful = Vec::new();
        for h in 300..304 {
            careless.push((h, 1.0));
            careful.push((h, 1.0));
        }
        let a = evidence(&life(320, 5.0, &careless));
        let b = evidence(&life(320, 5.0, &careful));
        assert!(b[303] > 0.0, "{:?}", &b[300..304]);
        assert!(a[303] < b[303], "{} against {}", a[303], b[303]);
    }

    #[test]
    fn a_consumer_without_accesses_is_read_at_the_floor_pace_not_as_infinitely_careful() {
        // idle (its agreements suspended) but trying: four mistakes in two weeks, far apart
        let at: Vec<(usize, f64)> = [30, 120, 200, 300].iter().map(|&h| (h, 1.0)).collect();
        let e = evidence(&life(336, 0.0, &at));
        assert!(e.iter().all(|&x| x == 0.0), "{e:?}");
        assert!(e.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn idle_windows_between_lived_ones_count_as_windows_without_refusals() {
        // the same refusals, in a life with every window and in one with only its refusals'
        let at: Vec<(usize, f64)> = (0..6).map(|k| (40 + 2 * k, 1.0)).collect();
        let dense = life(60, 0.0, &at);
        let e = evidence(&dense);
        let sparse: Vec<ActorWindow> = dense
            .into_iter()
            .filter(|r| r.raw[REFUSED_PURPOSE] > 0.0)
            .collect();
        let f = evidence(&sparse);
        let dense_at: Vec<f64> = at.iter().map(|x| e[x.0]).collect();
        assert_eq!(dense_at, f);
        assert!(f[5] > 0.0, "{f:?}");
    }

    proptest::proptest! {
        #[test]
        fn a_regular_trickle_is_evidence_at_any_gap_of_its_form_and_none_beyond(
            gap in 1..=2 * GAP_MAX,
            count in COUNT_MIN + 2..=COUNT_MAX,
            pace in 0.5..5.0f64,
        ) {
            // a careful consumer's life of `pace` accesses an hour, then `count` refused
            // purposes `gap` windows apart from window 100 on
            let at: Vec<(usize, f64)> = (0..count).map(|k| (100 + gap * k, 1.0)).collect();
            let last = 100 + gap * (count - 1);
            let e = evidence(&life(last + 2 * GAP_MAX, pace, &at));
            if gap <= GAP_MAX {
                // every gap of the form is alike likely: a trickle of them is evidence by its end
                proptest::prop_assert!(e[last] > 0.0, "gap {}: {:?}", gap, &e[100..=last]);
                // and none is left once no form of trickle can still be going on
                proptest::prop_assert!(e[last + GAP_MAX..].iter().all(|&x| x == 0.0));
            } else {
                // refusals further apart than any gap of the form are honest mistakes
                proptest::prop_assert!(
                    e.iter().all(|&x| x == 0.0),
                    "gap {}: {:?}",
                    gap,
                    &e[100..=last]
                );
            }
        }

        #[test]
        fn any_life_gets_finite_evidence_at_least_zero(
            start in proptest::prelude::any::<i64>(),
            cells in proptest::collection::vec((1..40i64, 0.0..1e9f64, 0.0..1e9f64), 1..60),
        ) {
            // windows far apart or adjacent, anywhere in i64 (saturating), counts up to 1e9
            let mut window = start;
            let rows: Vec<ActorWindow> = cells
                .iter()
                .map(|&(step, accesses, refused)| {
                    window = window.saturating_add(step);
                    let mut r = consumer_window("c", window, accesses);
                    r.raw[REFUSED_PURPOSE] = refused;
                    r
                })
                .collect();
            let mut rows = rows;
            rows.dedup_by_key(|r| r.window);
            for x in evidence(&rows) {
                proptest::prop_assert!(x.is_finite() && x >= 0.0, "{}", x);
            }
        }
    }
}
