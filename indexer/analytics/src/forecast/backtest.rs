//! Rolling-origin evaluation: at each origin the model and the naive baselines see only the
//! steps before it and forecast the next `horizon`; errors are scaled as MASE (by the
//! in-sample error of the seasonal naive forecast), as sMAPE, and the intervals are scored by
//! how often they hold the truth. Probabilities are scored by the Brier score and a
//! calibration table.

use serde::Serialize;

use super::model::{self, Baseline, ModelConfig};

/// The errors of one forecast (or of a sum of them).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Errors {
    /// sum of |error| over the horizon, and the scale it is divided by
    pub abs_error: f64,
    pub scale: f64,
    pub smape_sum: f64,
    pub points: usize,
    pub covered: usize,
}

impl Errors {
    pub fn add(&mut self, o: &Errors) {
        self.abs_error += o.abs_error;
        self.scale += o.scale;
        self.smape_sum += o.smape_sum;
        self.points += o.points;
        self.covered += o.covered;
    }

    /// Mean absolute error over the mean in-sample naive error (of every series added).
    pub fn mase(&self) -> f64 {
        if self.scale > 0.0 {
            self.abs_error / self.scale
        } else {
            f64::NAN
        }
    }

    pub fn smape(&self) -> f64 {
        self.smape_sum / self.points.max(1) as f64
    }

    pub fn coverage(&self) -> f64 {
        self.covered as f64 / self.points.max(1) as f64
    }
}

/// Pooling: the errors of many forecasts added up.
impl<'a> std::iter::Sum<&'a Errors> for Errors {
    fn sum<I: Iterator<Item = &'a Errors>>(iter: I) -> Self {
        let mut total = Errors::default();
        iter.for_each(|e| total.add(e));
        total
    }
}

/// The in-sample mean absolute error of the seasonal naive forecast with season `m`, times
/// `horizon`: the scale a series' errors over one horizon are divided by.
pub fn naive_scale(y: &[f64], m: usize, horizon: usize) -> f64 {
    let m = m.max(1);
    if y.len() <= m {
        return 0.0;
    }
    let mae = y.windows(m + 1).map(|w| (w[m] - w[0]).abs()).sum::<f64>() / (y.len() - m) as f64;
    mae * horizon as f64
}

fn errors(actual: &[f64], point: &[f64], band: Option<(&[f64], &[f64])>, scale: f64) -> Errors {
    let mut e = Errors {
        scale,
        ..Default::default()
    };
    for (i, (a, f)) in actual.iter().zip(point).enumerate() {
        e.abs_error += (a - f).abs();
        let d = a.abs() + f.abs();
        e.smape_sum += if d > 0.0 {
            2.0 * (a - f).abs() / d
        } else {
            0.0
        };
        e.points += 1;
        if let Some((l, u)) = band {
            if *a >= l[i] && *a <= u[i] {
                e.covered += 1;
            }
        }
    }
    e
}

/// One series at one origin: the model's errors and each baseline's.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OriginResult {
    pub model: Errors,
    /// in [`Baseline::ALL`]'s order
    pub baselines: Vec<Errors>,
    /// (actual, point, lower, upper) per step: what an interval's width is tuned on
    pub band: Vec<(f64, f64, f64, f64)>,
}

/// Evaluates `y` at `origin`: the model reads `y[..origin]` and is scored on the next
/// `horizon` steps; the MASE scale is the seasonal naive's in-sample error (season: the
/// shortest usable period, or 1).
pub fn at_origin(
    y: &[f64],
    origin: usize,
    periods: &[usize],
    horizon: usize,
    cfg: &ModelConfig,
) -> Option<OriginResult> {
    if origin >= y.len() || origin < 2 {
        return None;
    }
    let (train, rest) = y.split_at(origin);
    let actual = &rest[..horizon.min(rest.len())];
    let h = actual.len();
    let usable = model::usable_periods(periods, train.len());
    let m = usable.first().copied().unwrap_or(1);
    let scale = naive_scale(train, m, h);
    let p = model::forecast(train, periods, h, cfg);
    let model = errors(actual, &p.point, Some((&p.lower, &p.upper)), scale);
    let baselines = Baseline::ALL
        .iter()
        .map(|b| errors(actual, &b.predict(train, m, h), None, scale))
        .collect();
    let band = (0..h)
        .map(|i| (actual[i], p.point[i], p.lower[i], p.upper[i]))
        .collect();
    Some(OriginResult {
        model,
        baselines,
        band,
    })
}

/// A calibration table's row: forecasts whose probability fell in `lo..hi`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    pub mean_probability: f64,
    pub observed: f64,
}

/// Probabilities against outcomes: Brier score, the base rate's Brier score (predicting the
/// rate `base` for everyone) and the calibration table in `bins` equal bins.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbabilityScore {
    pub n: usize,
    pub positives: usize,
    pub brier: f64,
    pub brier_base: f64,
    pub table: Vec<CalibrationBin>,
}

pub fn score_probabilities(p: &[f64], y: &[bool], base: f64, bins: usize) -> ProbabilityScore {
    let n = p.len().min(y.len());
    let sq = |a: f64, b: bool| (a - f64::from(u8::from(b))).powi(2);
    let brier = (0..n).map(|i| sq(p[i], y[i])).sum::<f64>() / n.max(1) as f64;
    let brier_base = (0..n).map(|i| sq(base, y[i])).sum::<f64>() / n.max(1) as f64;
    let bins = bins.max(1);
    let mut table: Vec<CalibrationBin> = (0..bins)
        .map(|b| CalibrationBin {
            lo: b as f64 / bins as f64,
            hi: (b + 1) as f64 / bins as f64,
            count: 0,
            mean_probability: 0.0,
            observed: 0.0,
        })
        .collect();
    for i in 0..n {
        let b = ((p[i] * bins as f64) as usize).min(bins - 1);
        table[b].count += 1;
        table[b].mean_probability += p[i];
        table[b].observed += f64::from(u8::from(y[i]));
    }
    for b in &mut table {
        if b.count > 0 {
            b.mean_probability /= b.count as f64;
            b.observed /= b.count as f64;
        }
    }
    ProbabilityScore {
        n,
        positives: y.iter().take(n).filter(|v| **v).count(),
        brier,
        brier_base,
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mase_is_one_for_the_seasonal_naive_on_a_steady_pattern_of_noise_and_scales_by_it() {
        // y alternates 0, 2: the one-step naive errs by 2 every step
        let y: Vec<f64> = (0..40)
            .map(|t| if t % 2 == 0 { 0.0 } else { 2.0 })
            .collect();
        assert_eq!(naive_scale(&y, 1, 1), 2.0);
        assert_eq!(naive_scale(&y, 2, 3), 0.0);
        let e = errors(&[1.0, 1.0], &[0.0, 2.0], None, 4.0);
        assert_eq!(e.mase(), 0.5);
        assert!((e.smape() - (2.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn an_origin_scores_only_what_comes_after_it() {
        let y: Vec<f64> = (0..200).map(|t| 5.0 + (t % 24) as f64).collect();
        let mut z = y.clone();
        for v in z.iter_mut().skip(148) {
            *v = 1000.0;
        }
        let cfg = ModelConfig::default();
        let a = at_origin(&y, 100, &[24], 48, &cfg).expect("scored");
        let b = at_origin(&z, 100, &[24], 48, &cfg).expect("scored");
        // the same forecast: the errors differ only because the truth after step 148 does
        assert_eq!(a.model.points, 48);
        assert_eq!(a.model.scale, b.model.scale);
        // the seasonal naive is perfect on an exact season
        assert!(a.baselines[1].abs_error < 1e-9);
    }

    #[test]
    fn brier_scores_and_the_calibration_table_count_what_they_see() {
        let p = [0.1, 0.1, 0.9, 0.9];
        let y = [false, false, true, false];
        let s = score_probabilities(&p, &y, 0.25, 10);
        assert_eq!(s.n, 4);
        assert_eq!(s.positives, 1);
        assert!((s.brier - (0.01 + 0.01 + 0.01 + 0.81) / 4.0).abs() < 1e-12);
        assert!((s.brier_base - (3.0 * 0.0625 + 0.5625) / 4.0).abs() < 1e-12);
        assert_eq!(s.table[1].count, 2);
        assert_eq!(s.table[9].count, 2);
        assert_eq!(s.table[9].observed, 0.5);
    }
}
