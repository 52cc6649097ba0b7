//! One series, forecast: Grafana's augurs decomposes the seasons (MSTL) and fits exponential
//! smoothing to what is left (AutoETS, additive errors: its intervals are analytic, so the same
//! series always gives the same forecast); a short or nearly empty series gets the mean of its
//! recent past with a Poisson interval. Beside it, the naive baselines a forecast is judged
//! against.

use std::panic::{catch_unwind, AssertUnwindSafe};

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use serde::{Deserialize, Serialize};

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
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            level: 0.8,
            interval_scale: 1.0,
            min_nonzero: 12,
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

/// Forecasts `y` (counts per step, oldest first) `horizon` steps ahead.
pub fn forecast(y: &[f64], periods: &[usize], horizon: usize, cfg: &ModelConfig) -> Path {
    let nonzero = y.iter().filter(|v| **v > 0.0).count();
    if y.len() < 8 || nonzero < cfg.min_nonzero {
        return mean_path(y, periods, horizon, cfg, "mean (short or sparse history)");
    }
    let periods = usable_periods(periods, y.len());
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
    let ets = AutoETS::new(1, "AZN").map_err(|e| e.to_string())?;
    let (f, method) = if periods.is_empty() {
        let fitted = ets.fit(y).map_err(|e| e.to_string())?;
        let f = fitted
            .predict(horizon, cfg.level)
            .map_err(|e| e.to_string())?;
        (f, "ets".to_string())
    } else {
        let model = MSTLModel::new(periods.to_vec(), ets.into_trend_model());
        let fitted = model.fit(y).map_err(|e| e.to_string())?;
        let f = fitted
            .predict(horizon, cfg.level)
            .map_err(|e| e.to_string())?;
        let seasons: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
        (f, format!("mstl({})+ets", seasons.join(",")))
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
