//! Consumer features over a span of windows: a day's volume against the pace before it, the
//! volume against the same time of day on earlier days, and recent refused purposes. Each is
//! read from its window and the ones before it, as every feature is (docs/anomalies.md).

use std::collections::HashMap;

use super::consumers::{poisson_surprise, REFUSED_PURPOSE};
use super::history::lives;
use super::{ActorWindow, Windowing};

/// Windows summed by the day surprise (a day of hourly windows) and by the recent refusals.
const DAY_WINDOWS: i64 = 24;
const RECENT_WINDOWS: i64 = 12;
/// Past days at the same time of day the hour surprise needs, and reads at most.
const SAME_HOUR_MIN_DAYS: i64 = 3;
const SAME_HOUR_MAX_DAYS: i64 = 28;

/// The derived features that read a span of the actor's life, per new window (each from that
/// window and the ones before it, idle windows as zeros):
/// - day surprise: the accesses of the last [`DAY_WINDOWS`] windows against that many windows
///   at the mean pace of the windows before them (a sustained rise no single window shows);
///   each window counts at most twice the pace and two accesses more, so one burst does not
///   echo through the day after it (it did: the 22 windows after each burst were alerted on);
/// - hour surprise: the window's accesses against the mean of the same time of day on earlier
///   days (at least [`SAME_HOUR_MIN_DAYS`]), when windows tile a day (a night at day rates);
/// - recent purpose refusals: of the last [`RECENT_WINDOWS`] windows, how many had an attempt
///   refused for its purpose (one attempt per window adds up; one window of many does not echo).
pub(super) fn spans(rows: &[ActorWindow], prior: &[ActorWindow], w: Windowing) -> Vec<[f64; 3]> {
    let per_day = (w.seconds > 0 && w.seconds <= 43_200 && 86_400 % w.seconds == 0)
        .then(|| 86_400 / w.seconds);
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let mut out = vec![[0.0; 3]; rows.len()];
    for ws in lives(rows, prior) {
        let at = |j: usize| ws[j].raw.first().copied().unwrap_or(0.0);
        // an actor's pace starts with its first access, not its first refused attempt: a
        // consumer that probed days before going live is not a sudden rise when it does (held
        // out, late joiners picked for an injection were alerted on for a day: 266 windows)
        // (none yet: the surprises are 0, as for an actor without a past)
        let first = (0..ws.len())
            .find(|&j| at(j) > 0.0)
            .map_or(i64::MAX, |j| ws[j].window);
        let refused = |j: usize| {
            let n = ws[j].raw.get(REFUSED_PURPOSE).copied().unwrap_or(0.0);
            if n > 0.0 {
                1.0
            } else {
                0.0
            }
        };
        // prefix sums over the lived windows (idle windows add nothing)
        let mut acc = vec![0.0; ws.len() + 1];
        let mut den = vec![0.0; ws.len() + 1];
        for j in 0..ws.len() {
            acc[j + 1] = acc[j] + at(j);
            den[j + 1] = den[j] + refused(j);
        }
        // lived windows before window `x`
        let before = |x: i64| ws.partition_point(|l| l.window < x);
        let by_window: HashMap<i64, f64> = (0..ws.len()).map(|j| (ws[j].window, at(j))).collect();
        for (j, l) in ws.iter().enumerate() {
            let Some(i) = l.new else { continue };
            let upto = j + 1;
            // day: the last DAY_WINDOWS windows against the mean pace before them
            let start = l.window - DAY_WINDOWS + 1;
            let earlier = start.saturating_sub(first);
            let day = if earlier >= DAY_WINDOWS {
                let k = before(start);
                let pace = acc[k] / earlier as f64;
                let cap = 2.0 * pace + 2.0;
                let recent: f64 = (k..upto).map(|x| at(x).min(cap)).sum();
                poisson_surprise(recent, pace * DAY_WINDOWS as f64)
            } else {
                0.0
            };
            // hour: against the same time of day on earlier days
            let hour = per_day.map_or(0.0, |d| {
                let days: Vec<f64> = (1..=SAME_HOUR_MAX_DAYS)
                    .map(|k| l.window - k * d)
                    .take_while(|x| *x >= first)
                    .map(|x| by_window.get(&x).copied().unwrap_or(0.0))
                    .collect();
                if days.len() as i64 >= SAME_HOUR_MIN_DAYS {
                    let mean = days.iter().sum::<f64>() / days.len() as f64;
                    poisson_surprise(at(j), mean)
                } else {
                    0.0
                }
            });
            let recent = den[upto] - den[before(l.window - RECENT_WINDOWS + 1)];
            out[i] = [round(day), round(hour), recent];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::consumer_window;

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
        assert!(s[71][0] > 10.0, "a day at twice the pace: {}", s[71][0]);
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
        // refused attempts only in its first window, four idle days, then 10 an hour
        let mut accesses = vec![0.0; 97];
        accesses.extend(vec![10.0; 30]);
        let s = spans(&life(&accesses, &[5.0]), &[], hourly);
        for (w, x) in s.iter().enumerate().skip(97) {
            assert_eq!((x[0], x[1]), (0.0, 0.0), "window {w}");
        }
        assert_eq!(s[0][2], 1.0, "its refused purposes still count");
    }

    #[test]
    fn one_refused_purpose_per_window_adds_up_and_one_window_of_many_counts_once() {
        let hourly = Windowing { seconds: 3600 };
        let accesses = vec![5.0; 30];
        let mut trickle = vec![0.0; 30];
        trickle[10..16].fill(1.0);
        let s = spans(&life(&accesses, &trickle), &[], hourly);
        let recent: Vec<f64> = s[10..16].iter().map(|x| x[2]).collect();
        assert_eq!(recent, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut hop = vec![0.0; 30];
        hop[10] = 12.0;
        let h = spans(&life(&accesses, &hop), &[], hourly);
        assert!(h[11..22].iter().all(|x| x[2] == 1.0));
        assert_eq!(h[22][2], 0.0, "out of the last 12 windows");
    }
}
