//! One series, forecast: the seasons the series shows are found by an analysis of variance
//! (cycles x phases; statrs' F distribution), Grafana's augurs decomposes them (MSTL) over the
//! recent steps and fits exponential smoothing to what is left (AutoETS, additive errors: its
//! intervals are analytic, so the same series always gives the same forecast); a short or nearly
//! empty series gets the mean of its recent past with a Poisson interval. Beside it, the naive
//! baselines a forecast is judged against.

use std::panic::{catch_unwind, AssertUnwindSafe};

use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::ets::EtsSearch;

/// How every series is forecast; recorded in a run's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// the nominal coverage of the prediction intervals
    pub level: f64,
    /// the intervals' half-widths are multiplied by this (chosen on the training histories of
    /// `make eval-forecast` so that coverage is near nominal; see docs/forecasts.md)
    pub interval_scale: f64,
    /// a series with fewer non-zero steps than this gets the mean model
    pub min_nonzero: usize,
    /// a season is decomposed where the test of [`seasons`] rejects "no season" at this level;
    /// 1 decomposes every season that fits twice (what runs recorded before it did)
    #[serde(default = "every_season")]
    pub season_alpha: f64,
    /// the model fits the last this many steps, or two cycles of its longest season if more;
    /// 0: the whole history (what runs recorded before it did)
    #[serde(default)]
    pub fit_window: usize,
    /// the exponential smoothing optimizer's step budget per candidate (2,000: augurs' AutoETS,
    /// what runs recorded before it used)
    #[serde(default = "autoets_iterations")]
    pub max_iterations: usize,
}

fn every_season() -> f64 {
    1.0
}

fn autoets_iterations() -> usize {
    2000
}

/// The season test's level and the fit window that `make eval-forecast` chose on its training
/// histories (docs/forecasts.md).
pub const TUNED_SEASON_ALPHA: f64 = 0.01;
pub const TUNED_FIT_WINDOW: usize = 336;
pub const TUNED_MAX_ITERATIONS: usize = 100;

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            level: 0.8,
            interval_scale: 1.0,
            min_nonzero: 12,
            season_alpha: TUNED_SEASON_ALPHA,
            fit_window: TUNED_FIT_WINDOW,
            max_iterations: TUNED_MAX_ITERATIONS,
        }
    }
}

/// A forecast of the next `horizon` steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Path {
    pub point: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// "mstl+ets", "ets" or "mean", with the reason for a fallback
    pub method: String,
    /// the level the series has now and its change per step (what drives the forecast)
    pub level_now: f64,
    pub trend_per_step: f64,
}

/// The seasons that fit in a series of `n` steps: each needs two whole cycles.
pub fn usable_periods(periods: &[usize], n: usize) -> Vec<usize> {
    periods
        .iter()
        .copied()
        .filter(|p| *p >= 2 && 2 * p <= n)
        .collect()
}

/// The seasons among `periods` (shortest first) that `y` shows. Each is tested as in a classical
/// decomposition: a centred moving average over one cycle takes out the level and its drift,
/// and an analysis of variance of what is left, grouped by phase, asks whether the phase means
/// differ; the season is kept where the F test rejects "no season" at level `alpha`. A longer
/// season is tested on what the seasons kept before it leave, so a week is kept only for what it
/// adds to the day. At `alpha` >= 1 every season that fits twice is kept.
pub fn seasons(y: &[f64], periods: &[usize], alpha: f64) -> Vec<usize> {
    let usable = usable_periods(periods, y.len());
    if alpha >= 1.0 {
        return usable;
    }
    let mut rest = y.to_vec();
    let mut kept = Vec::new();
    for p in usable {
        let Some((pvalue, effects)) = season_test(&rest, p) else {
            continue;
        };
        if pvalue < alpha {
            for (i, v) in rest.iter_mut().enumerate() {
                *v -= effects[i % p];
            }
            kept.push(p);
        }
    }
    kept
}

/// The p-value of "no season of period `p`" in `y`, and the phase effects (phase `i % p` at
/// step `i`); None with fewer than two cycles.
fn season_test(y: &[f64], p: usize) -> Option<(f64, Vec<f64>)> {
    let n = y.len();
    if p < 2 || n < 2 * p {
        return None;
    }
    // the centred moving average: over p steps, or 2 x p halved at its ends when p is even
    let half = p / 2;
    let mut sums = vec![0.0; n + 1];
    for (i, v) in y.iter().enumerate() {
        sums[i + 1] = sums[i] + v;
    }
    let trend = |i: usize| {
        if p % 2 == 1 {
            (sums[i + half + 1] - sums[i - half]) / p as f64
        } else {
            let inner = sums[i + half] - sums[i - half + 1];
            (inner + 0.5 * (y[i - half] + y[i + half])) / p as f64
        }
    };
    let (mut sum, mut count) = (vec![0.0; p], vec![0usize; p]);
    let detrended: Vec<(usize, f64)> = (half..n - half).map(|i| (i % p, y[i] - trend(i))).collect();
    for (r, d) in &detrended {
        sum[*r] += d;
        count[*r] += 1;
    }
    let means: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, c)| s / (*c).max(1) as f64)
        .collect();
    let grand = detrended.iter().map(|(_, d)| d).sum::<f64>() / detrended.len() as f64;
    let ss_phase: f64 = means
        .iter()
        .zip(&count)
        .map(|(m, c)| *c as f64 * (m - grand).powi(2))
        .sum();
    let ss_rest: f64 = detrended.iter().map(|(r, d)| (d - means[*r]).powi(2)).sum();
    let (d1, d2) = ((p - 1) as f64, (detrended.len() - p) as f64);
    let pvalue = if ss_rest <= 1e-12 * ss_phase {
        // nothing but the season (or nothing at all)
        if ss_phase > 0.0 {
            0.0
        } else {
            1.0
        }
    } else {
        let f = (ss_phase / d1) / (ss_rest / d2);
        FisherSnedecor::new(d1, d2).map_or(1.0, |d| d.sf(f))
    };
    Some((pvalue, means.iter().map(|m| m - grand).collect()))
}

/// Forecasts `y` (counts per step, oldest first) `horizon` steps ahead.
pub fn forecast(y: &[f64], periods: &[usize], horizon: usize, cfg: &ModelConfig) -> Path {
    let nonzero = y.iter().filter(|v| **v > 0.0).count();
    if y.len() < 8 || nonzero < cfg.min_nonzero {
        return mean_path(y, periods, horizon, cfg, "mean (short or sparse history)");
    }
    let periods = seasons(y, periods, cfg.season_alpha);
    let longest = periods.iter().copied().max().unwrap_or(0);
    let keep = match cfg.fit_window {
        0 => y.len(),
        w => w.max(2 * longest).min(y.len()),
    };
    let y = &y[y.len() - keep..];
    // augurs is outside code run on outside data: a panic in it is a fallback, not a crash
    let fitted = catch_unwind(AssertUnwindSafe(|| fit_predict(y, &periods, horizon, cfg)));
    match fitted {
        Ok(Ok(p))
            if p.point
                .iter()
                .chain(&p.lower)
                .chain(&p.upper)
                .all(|v| v.is_finite()) =>
        {
            p
        }
        Ok(Ok(_)) => mean_path(y, &periods, horizon, cfg, "mean (the model diverged)"),
        Ok(Err(e)) => mean_path(y, &periods, horizon, cfg, &format!("mean (no fit: {e})")),
        Err(_) => mean_path(y, &periods, horizon, cfg, "mean (the model failed)"),
    }
}

fn fit_predict(
    y: &[f64],
    periods: &[usize],
    horizon: usize,
    cfg: &ModelConfig,
) -> Result<Path, String> {
    let ets = EtsSearch {
        max_iterations: cfg.max_iterations,
    };
    let (f, method) = if periods.is_empty() {
        let fitted = ets.fit(y).map_err(|e| e.to_string())?;
        let f = fitted
            .predict(horizon, cfg.level)
            .map_err(|e| e.to_string())?;
        (f, "ets".to_string())
    } else {
        let model = MSTLModel::new(periods.to_vec(), ets);
        let fitted = model.fit(y).map_err(|e| e.to_string())?;
        let f = fitted
            .predict(horizon, cfg.level)
            .map_err(|e| e.to_string())?;
        let seasons: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
        (f, format!("mstl({})+ets", seasons.join(",")))
    };
    // a window is named where one was read; the whole history keeps the label runs recorded
    // before windows existed carry, so they recompute to the same rows
    let method = if cfg.fit_window == 0 {
        method
    } else {
        format!("{method} on {} steps", y.len())
    };
    let iv = f.intervals.ok_or("no intervals")?;
    let (point, lower, upper) = widen(&f.point, &iv.lower, &iv.upper, cfg.interval_scale);
    // the change per step between points a season apart (that season cancels out)
    let m = periods
        .iter()
        .copied()
        .filter(|p| *p < f.point.len())
        .max()
        .unwrap_or(1);
    let trend_per_step = if f.point.len() > m {
        let n = f.point.len() - m;
        (0..n).map(|i| f.point[i + m] - f.point[i]).sum::<f64>() / (n * m) as f64
    } else if f.point.len() >= 2 {
        (f.point[f.point.len() - 1] - f.point[0]) / (f.point.len() - 1) as f64
    } else {
        0.0
    };
    Ok(Path {
        level_now: f.point.first().copied().unwrap_or(0.0),
        point,
        lower,
        upper,
        method,
        trend_per_step,
    })
}

/// Scales each interval about its point and keeps counts non-negative.
fn widen(point: &[f64], lower: &[f64], upper: &[f64], k: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut p = Vec::with_capacity(point.len());
    let mut l = Vec::with_capacity(point.len());
    let mut u = Vec::with_capacity(point.len());
    for i in 0..point.len() {
        let c = point[i];
        p.push(c.max(0.0));
        l.push((c - k * (c - lower[i])).max(0.0));
        u.push((c + k * (upper[i] - c)).max(0.0));
    }
    (p, l, u)
}

/// The recent mean with a Poisson interval: the central `level` of Poisson(mean), in whole
/// counts (widened about the mean by the interval scale).
fn mean_path(y: &[f64], periods: &[usize], horizon: usize, cfg: &ModelConfig, why: &str) -> Path {
    let recent = y
        .len()
        .min(periods.iter().copied().max().unwrap_or(0).max(24) * 2);
    let tail = &y[y.len() - recent..];
    let mean = if tail.is_empty() {
        0.0
    } else {
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    let lo = poisson_quantile(mean, (1.0 - cfg.level) / 2.0);
    let hi = poisson_quantile(mean, (1.0 + cfg.level) / 2.0);
    let lower = (mean - cfg.interval_scale * (mean - lo)).max(0.0).floor();
    let upper = (mean + cfg.interval_scale * (hi - mean)).max(0.0).ceil();
    Path {
        point: vec![mean; horizon],
        lower: vec![lower; horizon],
        upper: vec![upper; horizon],
        method: why.to_string(),
        level_now: mean,
        trend_per_step: 0.0,
    }
}

/// The smallest whole k with P(X <= k) >= p for X ~ Poisson(mean).
fn poisson_quantile(mean: f64, p: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    if mean > 500.0 {
        // the normal approximation, where summing terms would underflow
        return (mean + normal_quantile(p) * mean.sqrt()).max(0.0).round();
    }
    let (mut k, mut term) = (0u32, (-mean).exp());
    let mut cdf = term;
    while cdf < p && k < 100_000 {
        k += 1;
        term *= mean / f64::from(k);
        cdf += term;
    }
    f64::from(k)
}

/// The standard normal quantile (distrs, the crate augurs' own intervals use).
pub fn normal_quantile(p: f64) -> f64 {
    distrs::Normal::ppf(p.clamp(1e-12, 1.0 - 1e-12), 0.0, 1.0)
}

/// The baselines a forecast is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// the last value, repeated
    Last,
    /// the value one season earlier
    SeasonalNaive,
    /// the mean of the history
    Mean,
}

impl Baseline {
    pub const ALL: [Baseline; 3] = [Baseline::Last, Baseline::SeasonalNaive, Baseline::Mean];

    pub fn name(self) -> &'static str {
        match self {
            Baseline::Last => "last value",
            Baseline::SeasonalNaive => "seasonal naive",
            Baseline::Mean => "mean",
        }
    }

    /// The baseline's point forecast of `horizon` steps after `y`, with season `m` (1: none).
    pub fn predict(self, y: &[f64], m: usize, horizon: usize) -> Vec<f64> {
        let n = y.len();
        if n == 0 {
            return vec![0.0; horizon];
        }
        match self {
            Baseline::Last => vec![y[n - 1]; horizon],
            Baseline::SeasonalNaive => {
                let m = m.clamp(1, n);
                (0..horizon).map(|h| y[n - m + h % m]).collect()
            }
            Baseline::Mean => vec![y.iter().sum::<f64>() / n as f64; horizon],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal(n: usize, level: f64, slope: f64, amp: f64, m: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let phase = (t % m) as f64 / m as f64 * std::f64::consts::TAU;
                // a deterministic wobble stands for noise
                let noise = ((t * 7919) % 13) as f64 / 13.0 - 0.5;
                level + slope * t as f64 + amp * phase.sin() + noise
            })
            .collect()
    }

    #[test]
    fn a_known_trend_and_season_is_recovered_within_the_interval() {
        let (m, n, h) = (24, 24 * 14, 48);
        let all = seasonal(n + h, 40.0, 0.05, 10.0, m);
        let (history, future) = all.split_at(n);
        let p = forecast(history, &[m], h, &ModelConfig::default());
        assert!(p.method.starts_with("mstl(24)"), "{}", p.method);
        // the truth (without its wobble, within 0.5) lies inside every interval
        let inside = future
            .iter()
            .zip(p.lower.iter().zip(&p.upper))
            .filter(|(v, (l, u))| **v >= **l - 0.5 && **v <= **u + 0.5)
            .count();
        assert!(inside >= h * 9 / 10, "{inside} of {h} inside");
        // the slope is found: the forecast rises about 0.05 a step
        assert!(
            (p.trend_per_step - 0.05).abs() < 0.03,
            "{}",
            p.trend_per_step
        );
        let season_nowhere = Baseline::Mean.predict(history, m, h);
        let err = |f: &[f64]| {
            f.iter()
                .zip(future)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
        };
        assert!(err(&p.point) < err(&season_nowhere) / 3.0);
    }

    /// Poisson-like counts from a fixed-seed generator: `rate(t)` per step.
    fn counts(n: usize, seed: u64, rate: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut uniform = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|t| {
                // Knuth's method: count uniforms until their product drops below e^-rate
                let (limit, mut prod, mut k) = ((-rate(t)).exp(), uniform(), 0.0);
                while prod > limit {
                    prod *= uniform();
                    k += 1.0;
                }
                k
            })
            .collect()
    }

    #[test]
    fn the_season_test_keeps_the_seasons_a_series_has_and_no_others() {
        let day = |t: usize| ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
        let weekend = |t: usize| if (t / 24) % 7 >= 5 { 0.4 } else { 1.0 };
        let n = 24 * 30;
        let mut found = [0usize; 4];
        for seed in 0..20 {
            let flat = counts(n, seed, |_| 4.0);
            let daily = counts(n, seed, |t| 4.0 + 2.0 * day(t));
            let weekly = counts(n, seed, |t| (4.0 + 2.0 * day(t)) * weekend(t));
            // a rising level is not a season
            let rising = counts(n, seed, |t| 1.0 + t as f64 / 60.0);
            for (i, y) in [flat, daily, weekly, rising].iter().enumerate() {
                let s = seasons(y, &[24, 168], 0.01);
                found[i] += usize::from(
                    s == [24, 168][..match i {
                        1 => 1,
                        2 => 2,
                        _ => 0,
                    }],
                );
            }
        }
        // at the 1% level, noise alone shows a season now and then: allow one in twenty
        assert!(found[0] >= 19, "flat: {found:?}");
        assert_eq!(found[1], 20, "daily: {found:?}");
        assert_eq!(found[2], 20, "day and week: {found:?}");
        assert!(found[3] >= 19, "rising: {found:?}");
        // at level 1 every season that fits twice is kept, as before the test existed
        assert_eq!(
            seasons(&counts(n, 1, |_| 4.0), &[24, 168], 1.0),
            vec![24, 168]
        );
        assert_eq!(seasons(&counts(300, 1, |_| 4.0), &[24, 168], 1.0), vec![24]);
    }

    #[test]
    fn the_model_fits_its_window_and_says_so() {
        let y = counts(24 * 30, 3, |t| {
            4.0 + 2.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()
        });
        let p = forecast(&y, &[24, 168], 24, &ModelConfig::default());
        assert_eq!(
            p.method,
            format!("mstl(24)+ets on {TUNED_FIT_WINDOW} steps")
        );
        let all = ModelConfig {
            season_alpha: 1.0,
            fit_window: 0,
            ..ModelConfig::default()
        };
        // the whole history: the label of runs recorded before windows existed
        assert_eq!(
            forecast(&y, &[24, 168], 24, &all).method,
            "mstl(24,168)+ets"
        );
    }

    #[test]
    fn settings_recorded_before_the_season_test_read_as_what_ran_then() {
        let old = r#"{"level":0.8,"interval_scale":1.4,"min_nonzero":12}"#;
        let cfg: ModelConfig = serde_json::from_str(old).expect("an old manifest's model");
        assert_eq!(
            (cfg.season_alpha, cfg.fit_window, cfg.max_iterations),
            (1.0, 0, 2000)
        );
    }

    #[test]
    fn a_sparse_series_gets_the_mean_with_a_poisson_interval() {
        let mut y = vec![0.0; 100];
        y[10] = 1.0;
        y[70] = 2.0;
        let p = forecast(&y, &[24], 5, &ModelConfig::default());
        assert!(p.method.starts_with("mean"), "{}", p.method);
        assert!(p.point.iter().all(|v| (*v - 2.0 / 48.0).abs() < 1e-12));
        // 80% of Poisson(1/24) is 0: the narrowest whole-count interval is [0, 0]
        assert!(p.lower.iter().all(|v| *v == 0.0));
        assert!(p.upper.iter().all(|v| *v == 0.0));
        // at a mean of 4: P(X <= 1) = 0.092, P(X <= 6) = 0.889, P(X <= 7) = 0.949
        assert_eq!(poisson_quantile(4.0, 0.1), 2.0);
        assert_eq!(poisson_quantile(4.0, 0.9), 7.0);
    }

    #[test]
    fn the_same_series_gives_the_same_forecast() {
        let y = seasonal(200, 5.0, 0.0, 3.0, 24);
        let a = forecast(&y, &[24], 24, &ModelConfig::default());
        let b = forecast(&y, &[24], 24, &ModelConfig::default());
        assert_eq!(a, b);
    }

    #[test]
    fn baselines_repeat_what_they_say() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(Baseline::Last.predict(&y, 3, 2), vec![6.0, 6.0]);
        assert_eq!(
            Baseline::SeasonalNaive.predict(&y, 3, 4),
            vec![4.0, 5.0, 6.0, 4.0]
        );
        assert_eq!(Baseline::Mean.predict(&y, 3, 1), vec![3.5]);
    }

    #[test]
    fn the_normal_quantile_matches_known_values() {
        assert!((normal_quantile(0.9) - 1.281_551_565_5).abs() < 1e-8);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
    }
}
