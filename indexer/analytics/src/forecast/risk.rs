//! The probability that a consumer is reported in its next window: a logistic regression
//! (smartcore) over what its recent windows looked like, fitted on every consumer's past pairs
//! of (window, the window after). A window is "reported" when its anomaly score reaches the
//! report threshold: what the sentinel acts on.

use std::collections::BTreeMap;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

/// What the model reads of a consumer's windows up to the one it predicts from.
pub const FEATURES: [&str; 5] = [
    "score of the latest window",
    "highest score of the 3 windows before it",
    "share of the last 8 windows reported",
    "share of the last 8 windows active",
    "active in the latest window",
];

/// At most this many (window, next window) pairs fit the model (a fixed-seed sample).
pub const FIT_PAIRS: usize = 50_000;

/// A consumer's scores per window, dense from its first window (inactive windows score 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub actor: String,
    pub first: i64,
    pub scores: Vec<f64>,
    pub active: Vec<bool>,
}

/// Builds timelines from (actor, window, score), each up to `last` (inclusive).
pub fn timelines(rows: impl IntoIterator<Item = (String, i64, f64)>, last: i64) -> Vec<Timeline> {
    let mut by: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for (a, w, s) in rows {
        if w <= last {
            by.entry(a).or_default().insert(w, s);
        }
    }
    by.into_iter()
        .filter_map(|(actor, ws)| {
            let first = *ws.keys().next()?;
            let n = (last - first + 1) as usize;
            let mut scores = vec![0.0; n];
            let mut active = vec![false; n];
            for (w, s) in ws {
                scores[(w - first) as usize] = s;
                active[(w - first) as usize] = true;
            }
            Some(Timeline {
                actor,
                first,
                scores,
                active,
            })
        })
        .collect()
}

/// The features of timeline `t` at its position `i`.
pub fn features(t: &Timeline, i: usize, threshold: f64) -> [f64; 5] {
    let before = &t.scores[i.saturating_sub(3)..i];
    let last8 = i.saturating_sub(7)..=i;
    let n8 = last8.clone().count() as f64;
    [
        t.scores[i],
        before.iter().copied().fold(0.0, f64::max),
        t.scores[last8.clone()]
            .iter()
            .filter(|s| **s >= threshold)
            .count() as f64
            / n8,
        t.active[last8].iter().filter(|a| **a).count() as f64 / n8,
        f64::from(u8::from(t.active[i])),
    ]
}

/// The fitted model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskModel {
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// the share of pairs whose next window was reported (the base rate)
    pub base_rate: f64,
    pub pairs: usize,
    /// "logistic" or "base rate" (too few pairs, or one outcome only)
    pub method: String,
}

impl RiskModel {
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z: f64 = self.intercept + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The features that push this probability up most, in words.
    pub fn drivers(&self, x: &[f64]) -> String {
        let mut parts: Vec<(f64, String)> = self
            .weights
            .iter()
            .zip(x)
            .zip(FEATURES)
            .filter(|((w, v), _)| (*w * *v).abs() > 1e-9)
            .map(|((w, v), name)| (w * v, format!("{name} {v:.2} ({:+.2})", w * v)))
            .collect();
        parts.sort_by(|a, b| b.0.total_cmp(&a.0));
        if parts.is_empty() {
            format!("base rate {:.3}", self.base_rate)
        } else {
            parts
                .into_iter()
                .take(3)
                .map(|p| p.1)
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

/// The (features, next window reported) pairs whose next window is in `from..until`.
pub fn pairs(ts: &[Timeline], from: i64, until: i64, threshold: f64) -> Vec<([f64; 5], bool)> {
    let mut out = Vec::new();
    for t in ts {
        for i in 0..t.scores.len().saturating_sub(1) {
            let next = t.first + i as i64 + 1;
            if next >= until {
                break;
            }
            if next >= from {
                out.push((features(t, i, threshold), t.scores[i + 1] >= threshold));
            }
        }
    }
    out
}

/// Fits on every pair whose next window is before `until`.
pub fn fit(ts: &[Timeline], until: i64, threshold: f64) -> RiskModel {
    let mut all = pairs(ts, i64::MIN, until, threshold);
    let n = all.len();
    let positives = all.iter().filter(|p| p.1).count();
    let base_rate = if n == 0 {
        0.0
    } else {
        positives as f64 / n as f64
    };
    let only_base = |why: &str| RiskModel {
        weights: vec![0.0; FEATURES.len()],
        intercept: logit(base_rate.clamp(1e-4, 1.0 - 1e-4)),
        base_rate,
        pairs: n,
        method: format!("base rate ({why})"),
    };
    if n < 50 || positives < 5 || positives == n {
        return only_base("too few pairs or outcomes");
    }
    if n > FIT_PAIRS {
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        let mut keep = sample(&mut rng, n, FIT_PAIRS).into_vec();
        keep.sort_unstable();
        all = keep.into_iter().map(|i| all[i]).collect();
    }
    let x: Vec<Vec<f64>> = all.iter().map(|p| p.0.to_vec()).collect();
    let y: Vec<i32> = all.iter().map(|p| i32::from(p.1)).collect();
    let Ok(m) = DenseMatrix::from_2d_vec(&x) else {
        return only_base("no matrix");
    };
    let params = LogisticRegressionParameters::default().with_alpha(0.1);
    match LogisticRegression::fit(&m, &y, params) {
        Ok(lr) => {
            let c = lr.coefficients();
            let weights: Vec<f64> = (0..FEATURES.len()).map(|j| *c.get((0, j))).collect();
            let intercept = *lr.intercept().get((0, 0));
            if weights.iter().chain([&intercept]).all(|w| w.is_finite()) {
                RiskModel {
                    weights,
                    intercept,
                    base_rate,
                    pairs: n,
                    method: "logistic".into(),
                }
            } else {
                only_base("the fit diverged")
            }
        }
        Err(e) => only_base(&format!("no fit: {e}")),
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(actor: &str, scores: &[f64]) -> Vec<(String, i64, f64)> {
        scores
            .iter()
            .enumerate()
            .filter(|(_, s)| **s >= 0.0)
            .map(|(i, s)| (actor.to_string(), i as i64, *s))
            .collect()
    }

    #[test]
    fn timelines_are_dense_and_stop_at_the_last_window() {
        let mut rows = line("a", &[0.1, -1.0, 0.7]);
        rows.push(("a".into(), 9, 0.9));
        let ts = timelines(rows, 3);
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].scores, vec![0.1, 0.0, 0.7, 0.0]);
        assert_eq!(ts[0].active, vec![true, false, true, false]);
    }

    #[test]
    fn pairs_never_reach_the_window_they_are_fitted_before() {
        let ts = timelines(line("a", &[0.1, 0.2, 0.9, 0.1, 0.8]), 4);
        let p = pairs(&ts, i64::MIN, 3, 0.5);
        // (0 -> 1), (1 -> 2): the pair (2 -> 3) would read window 3
        assert_eq!(p.len(), 2);
        assert!(!p[0].1 && p[1].1);
    }

    #[test]
    fn a_consumer_reported_now_is_riskier_than_a_quiet_one_and_the_probabilities_are_calibrated() {
        // reported windows come in runs: one now makes one next more likely
        let mut rows = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        use rand::Rng;
        for c in 0..200 {
            let mut hot = false;
            for w in 0..40 {
                hot = if hot {
                    rng.random_bool(0.6)
                } else {
                    rng.random_bool(0.03)
                };
                let s = if hot { 0.8 } else { rng.random_range(0.0..0.3) };
                rows.push((format!("c{c}"), w, s));
            }
        }
        let ts = timelines(rows, 39);
        let m = fit(&ts, 30, 0.5);
        assert_eq!(m.method, "logistic");
        let hot = m.probability(&[0.8, 0.8, 0.25, 1.0, 1.0]);
        let quiet = m.probability(&[0.1, 0.1, 0.0, 1.0, 1.0]);
        assert!(hot > 0.4 && quiet < 0.1, "hot {hot} quiet {quiet}");
        // on the pairs after the fit (windows 30-39), the mean probability is near the share
        // reported
        let held = pairs(&ts, 30, 40, 0.5);
        let mean_p = held.iter().map(|p| m.probability(&p.0)).sum::<f64>() / held.len() as f64;
        let share = held.iter().filter(|p| p.1).count() as f64 / held.len() as f64;
        assert!(
            (mean_p - share).abs() < 0.03,
            "mean p {mean_p} share {share}"
        );
        assert!(m
            .drivers(&[0.8, 0.8, 0.25, 1.0, 1.0])
            .contains("score of the latest window"));
    }

    #[test]
    fn one_outcome_only_gives_the_base_rate() {
        let ts = timelines(line("a", &[0.1; 100]), 99);
        let m = fit(&ts, 100, 0.5);
        assert!(m.method.starts_with("base rate"));
        assert!(m.probability(&[0.1, 0.1, 0.0, 1.0, 1.0]) < 0.01);
    }
}
