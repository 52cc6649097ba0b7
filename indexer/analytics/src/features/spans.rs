//! Consumer features over a span of windows: a doubling sustained over the last windows, the
//! volume against the same time of day on earlier days, and the evidence of a trickle of
//! refused purposes. Each is read from its window and the ones before it, as every feature is
//! (docs/anomalies.md).

use super::consumers::poisson_surprise;
use super::history::per_new_window;
use super::rise::rise_evidence;
use super::trickle::trickle_evidence;
use super::{ActorWindow, Windowing};

/// Windows of past a window's usual rate leaves out (a day of hourly windows), so a rise does
/// not become its own baseline while it lasts.
const DAY_WINDOWS: i64 = 24;
/// Past days at the same time of day the hour surprise needs, and reads at most.
const SAME_HOUR_MIN_DAYS: i64 = 3;
const SAME_HOUR_MAX_DAYS: i64 = 28;

/// The derived features that read a span of the actor's life, per new window (each from that
/// window and the ones before it, idle windows as zeros):
/// - day surprise: the odds, in decimal digits, that the actor's volume is in a sustained rise
///   above its usual rate (a rise no single window shows; see [`rise_evidence`], model 13).
///   The usual rate of each window is its time of day on earlier days, shrunk towards the
///   mean pace (see [`usual_rates`]). (Models 4-12: the Poisson likelihood ratio of "doubled
///   since k windows ago" against "as usual", averaged over k < [`DAY_WINDOWS`], each window
///   counted at most at twice its rate and two more, the stretch's strongest window left out,
///   0 once the last two windows read more as usual than as doubled.)
/// - hour surprise: the window's accesses against the mean of the same time of day on earlier
///   days (at least [`SAME_HOUR_MIN_DAYS`]), when windows tile a day (a night at day rates);
/// - trickle evidence: the odds, in decimal digits, that a trickle of refused purposes is
///   going on (see [`trickle_evidence`]; model 7, in place of the count of the recent windows
///   with one, which missed trickles slower than one an hour: held out at stop 32, refusals
///   every 2-4 hours ranked at 0.179 where an oracle of their form reached 0.807).
pub(super) fn spans(rows: &[ActorWindow], prior: &[ActorWindow], w: Windowing) -> Vec<[f64; 3]> {
    let per_day = (w.seconds > 0 && w.seconds <= 43_200 && 86_400 % w.seconds == 0)
        .then(|| 86_400 / w.seconds);
    let round = |v: f64| (v * 10.0).round() / 10.0;
    per_new_window(rows, prior, |ws| {
        let mut out = Vec::new();
        let at = |j: usize| ws[j].raw.first().copied().unwrap_or(0.0);
        // an actor's pace starts with its first access, not its first refused attempt: a
        // consumer that probed days before going live is not a sudden rise when it does (held
        // out, late joiners picked for an injection were alerted on for a day: 266 windows)
        // (none yet: the surprises are 0, as for an actor without a past)
        let first = (0..ws.len())
            .find(|&j| at(j) > 0.0)
            .map_or(i64::MAX, |j| ws[j].window);
        let trickle = trickle_evidence(ws);
        // a window's place in `dense` (None before the first access)
        let place = |window: i64| {
            window
                .checked_sub(first)
                .and_then(|t| usize::try_from(t).ok())
        };
        // accesses per window from the first access on, idle windows as zeros, and each one's
        // usual rate (none before the actor has a past)
        let mut dense = vec![0.0; ws.last().and_then(|l| place(l.window)).map_or(0, |t| t + 1)];
        for (j, l) in ws.iter().enumerate() {
            if let Some(t) = place(l.window) {
                dense[t] = at(j);
            }
        }
        let usual = usual_rates(&dense, per_day);
        let rise = rise_evidence(&dense, &usual);
        for (j, l) in ws.iter().enumerate() {
            let Some(i) = l.new else { continue };
            let t = place(l.window);
            // day: a rise sustained over the last windows
            let day = t.and_then(|t| rise.get(t).copied()).unwrap_or(0.0);
            // hour: against the same time of day on earlier days
            let hour = match (per_day, t) {
                (Some(d), Some(t)) => {
                    let (sum, days) = same_time_earlier(t, d)
                        .fold((0.0, 0_i64), |(s, m), x| (s + dense[x], m + 1));
                    if days >= SAME_HOUR_MIN_DAYS {
                        poisson_surprise(at(j), sum / days as f64)
                    } else {
                        0.0
                    }
                }
                _ => 0.0,
            };
            out.push((i, [round(day), round(hour), trickle[j]]));
        }
        out
    })
}

/// The places in a life's windows of the same time of day on up to [`SAME_HOUR_MAX_DAYS`]
/// earlier days (`per_day` windows a day) than place `t`, the nearest first.
fn same_time_earlier(t: usize, per_day: i64) -> impl Iterator<Item = usize> {
    let d = per_day as usize;
    (1..=SAME_HOUR_MAX_DAYS as usize).map_while(move |k| t.checked_sub(k * d))
}

/// Pseudo-days of the mean pace a window's time-of-day rate is shrunk towards (few days at one
/// hour are a noisy rate).
const PRIOR_DAYS: f64 = 3.0;

/// The usual rate of every window of `dense` (accesses per window from the actor's first
/// access on), from the windows before its own last [`DAY_WINDOWS`] only: the mean of the same
/// time of day on up to [`SAME_HOUR_MAX_DAYS`] earlier days (when windows tile a day,
/// `per_day`), shrunk towards the mean pace with [`PRIOR_DAYS`] pseudo-days. None until
/// [`DAY_WINDOWS`] windows of past precede those last ones.
fn usual_rates(dense: &[f64], per_day: Option<i64>) -> Vec<Option<f64>> {
    let n = DAY_WINDOWS as usize;
    let mut prefix = vec![0.0; dense.len() + 1];
    for (j, c) in dense.iter().enumerate() {
        prefix[j + 1] = prefix[j] + c;
    }
    (0..dense.len())
        .map(|j| {
            // the past of window j: the windows before j - (n - 1)
            let end = (j + 1).checked_sub(n)?;
            if end < n {
                return None;
            }
            let pace = prefix[end] / end as f64;
            let (sum, days) = per_day.map_or((0.0, 0.0), |d| {
                same_time_earlier(j, d)
                    .filter(|&x| x < end)
                    .fold((0.0, 0.0), |(s, m), x| (s + dense[x], m + 1.0))
            });
            Some(((sum + PRIOR_DAYS * pace) / (days + PRIOR_DAYS)).max(0.1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::consumer_window;
    use crate::features::consumers::REFUSED_PURPOSE;

    /// One consumer's hourly life: accesses per window, and purpose refusals per window.
    fn life(accesses: &[f64], refusals: &[f64]) -> Vec<ActorWindow> {
        accesses
            .iter()
            .enumerate()
            .map(|(w, a)| {
                let mut r = consumer_window("c", w as i64, *a);
                r.raw[REFUSED_PURPOSE] = refusals.get(w).copied().unwrap_or(0.0);
                r
            })
            .collect()
    }

    #[test]
    fn a_sustained_doubling_is_a_day_surprise_and_one_burst_does_not_echo_through_the_day() {
        let hourly = Windowing { seconds: 3600 };
        // two days at 10 an hour, then a day at 20
        let mut steady: Vec<f64> = vec![10.0; 48];
        steady.extend(vec![20.0; 24]);
        let s = spans(&life(&steady, &[]), &[], hourly);
        assert_eq!(s[47][0], 0.0, "nothing yet");
        assert!(s[71][0] > 1.0, "a day at twice the pace: {}", s[71][0]);
        // two days at 10, one window of 200, then 10 again: the windows after it are calm
        let mut burst: Vec<f64> = vec![10.0; 48];
        burst.push(200.0);
        burst.extend(vec![10.0; 23]);
        let b = spans(&life(&burst, &[]), &[], hourly);
        for (w, x) in b.iter().enumerate().skip(49) {
            assert!(x[0] < 3.0, "window {w} after the burst: {}", x[0]);
        }
    }

    #[test]
    fn one_busy_hour_is_no_sustained_rise_and_a_few_hours_at_three_times_the_rate_are() {
        let hourly = Windowing { seconds: 3600 };
        // a busy consumer: two days at 30 an hour, one honest batch hour at 90, then 30 again
        let mut batch: Vec<f64> = vec![30.0; 48];
        batch.push(90.0);
        batch.extend(vec![30.0; 23]);
        let b = spans(&life(&batch, &[]), &[], hourly);
        // (model 3, the strongest window counted: the batch hour alone was 4.3 digits)
        assert_eq!(b[48][0], 0.0, "the batch hour");
        assert!(b[49..].iter().all(|x| x[0] == 0.0), "{:?}", &b[49..]);
        // a small consumer: two days at 3 an hour, then four hours at 9
        let mut night: Vec<f64> = vec![3.0; 48];
        night.extend(vec![9.0; 4]);
        night.extend(vec![3.0; 4]);
        let n = spans(&life(&night, &[]), &[], hourly);
        assert_eq!(n[48][0], 0.0, "its first hour alone");
        assert!(
            n[51][0] > 1.0 && n[51][0] >= n[50][0],
            "four hours: {:?}",
            &n[48..52]
        );
    }

    #[test]
    fn a_doublings_evidence_grows_while_it_lasts_and_is_gone_once_it_stops() {
        let hourly = Windowing { seconds: 3600 };
        // two days at 10 an hour, 12 windows at 20, then 10 again
        let mut a: Vec<f64> = vec![10.0; 48];
        a.extend(vec![20.0; 12]);
        a.extend(vec![10.0; 24]);
        let s = spans(&life(&a, &[]), &[], hourly);
        let day: Vec<f64> = s.iter().map(|x| x[0]).collect();
        assert!(
            day[49..60].windows(2).all(|w| w[1] >= w[0]),
            "rising while it lasts: {:?}",
            &day[48..60]
        );
        assert!(
            day[59] > 1.0,
            "twelve windows at twice the rate: {}",
            day[59]
        );
        // a sum over the last day stayed up for the whole day after (model 3: about 15 digits
        // until window 83); the first ordinary window may still belong to the rise, the next
        // ends it
        assert!(day[60] < day[59], "{:?}", &day[59..62]);
        assert!(day[61..].iter().all(|&x| x == 0.0), "{:?}", &day[60..]);
    }

    #[test]
    fn a_daily_rhythm_is_no_evidence_of_a_doubling() {
        let hourly = Windowing { seconds: 3600 };
        // a week of quiet nights (2 an hour) and busy days (10, then 14 in the afternoon)
        let day: Vec<f64> = (0..24)
            .map(|h| match h {
                0..6 => 2.0,
                6..13 => 10.0,
                13..18 => 14.0,
                _ => 6.0,
            })
            .collect();
        let week: Vec<f64> = (0..7).flat_map(|_| day.clone()).collect();
        let s = spans(&life(&week, &[]), &[], hourly);
        for (w, x) in s.iter().enumerate() {
            assert_eq!(x[0], 0.0, "window {w}");
        }
    }

    #[test]
    fn a_night_at_day_rates_is_an_hour_surprise_a_day_at_day_rates_is_not() {
        let hourly = Windowing { seconds: 3600 };
        // four days: 2 an hour at night (0-5), 10 by day; then a fifth whose night runs at 10
        let day = |night: f64| -> Vec<f64> {
            (0..24).map(|h| if h < 6 { night } else { 10.0 }).collect()
        };
        let mut a: Vec<f64> = (0..4).flat_map(|_| day(2.0)).collect();
        a.extend(day(10.0));
        let s = spans(&life(&a, &[]), &[], hourly);
        assert!(s[96][1] > 3.0, "the fifth night: {}", s[96][1]);
        assert_eq!(s[96 + 12][1], 0.0, "the fifth day is as usual");
        assert_eq!(s[50][1], 0.0, "three earlier days are needed");
        // windows that do not tile a day have no time of day
        let odd = spans(&life(&a, &[]), &[], Windowing { seconds: 7 });
        assert!(odd.iter().all(|x| x[1] == 0.0));
    }

    #[test]
    fn a_consumer_that_probed_days_before_going_live_is_not_a_sudden_rise_when_it_does() {
        let hourly = Windowing { seconds: 3600 };
        // refused attempts only in its first two windows, four idle days, then 10 an hour
        let mut accesses = vec![0.0; 97];
        accesses.extend(vec![10.0; 30]);
        let s = spans(&life(&accesses, &[5.0, 5.0]), &[], hourly);
        for (w, x) in s.iter().enumerate().skip(97) {
            assert_eq!((x[0], x[1]), (0.0, 0.0), "window {w}");
        }
        assert!(
            s[1][2] > 0.0,
            "its refused purposes still count: {:?}",
            &s[..2]
        );
    }
}
