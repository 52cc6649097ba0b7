//! Forecasts from the indexed tables, one step = the run's window: per agreement the accesses
//! to come and when its cap will be reached; per asset the accesses and new agreements; per
//! consent scope the withdrawals; per consumer the probability of being reported in the next
//! window. Each series forecast has a prediction interval ([`model`]), each probability comes
//! from a logistic regression whose calibration `make eval-forecast` measures ([`risk`]), and
//! [`backtest`] holds the rolling-origin evaluation. A forecast reads only steps before its
//! origin (the step the run's last block falls in): nothing it says can come from the future.

pub mod backtest;
pub mod ets;
pub mod model;
pub mod risk;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::load::{AgreementState, SeriesInputs};
pub use model::{ModelConfig, Path};
use risk::{RiskModel, Timeline};

/// What is forecast, named once: the `target` of a series and the `kind` of an outlook.
pub mod targets {
    pub const AGREEMENT_ACCESSES: &str = "agreement.accesses";
    pub const ASSET_ACCESSES: &str = "asset.accesses";
    pub const ASSET_AGREEMENTS: &str = "asset.agreements";
    pub const CONSENT_WITHDRAWALS: &str = "consent.withdrawals";
    /// when an agreement reaches its access cap
    pub const AGREEMENT_CAP: &str = "agreement.cap";
    /// the probability that a consumer is reported in its next window
    pub const CONSUMER_ALERT: &str = "consumer.alert";
}

/// The forecasts' settings; recorded in a run's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastConfig {
    /// steps ahead; None: two days of steps, between 8 and 96
    pub horizon: Option<usize>,
    pub model: ModelConfig,
    /// per target, the factor its intervals are widened by (others: the model's)
    pub interval_scales: BTreeMap<String, f64>,
}

/// The interval scales `make eval-forecast` chose on its training histories (see
/// docs/forecasts.md; the held-out figures there are for these).
pub const TUNED_SCALES: [(&str, f64); 3] = [
    (targets::AGREEMENT_ACCESSES, 1.0),
    (targets::ASSET_ACCESSES, 1.1),
    (targets::CONSENT_WITHDRAWALS, 1.0),
];

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            horizon: None,
            model: ModelConfig::default(),
            interval_scales: TUNED_SCALES
                .iter()
                .map(|(t, k)| (t.to_string(), *k))
                .collect(),
        }
    }
}

impl ForecastConfig {
    /// The model settings of one target's series.
    pub fn model_for(&self, target: &str) -> ModelConfig {
        ModelConfig {
            interval_scale: self
                .interval_scales
                .get(target)
                .copied()
                .unwrap_or(self.model.interval_scale),
            ..self.model.clone()
        }
    }

    pub fn horizon_for(&self, step_seconds: i64) -> usize {
        self.horizon
            .unwrap_or_else(|| (2 * 86400 / step_seconds.max(1)).clamp(8, 96) as usize)
            .max(1)
    }
}

/// The seasons of a step length: a day and a week, when a step divides the day.
pub fn periods(step_seconds: i64) -> Vec<usize> {
    if step_seconds <= 0 || step_seconds >= 86400 || 86400 % step_seconds != 0 {
        return if step_seconds == 86400 {
            vec![7]
        } else {
            Vec::new()
        };
    }
    let day = (86400 / step_seconds) as usize;
    // a week of hourly steps (168) is the longest season worth decomposing
    [day, 7 * day].into_iter().filter(|p| *p <= 168).collect()
}

/// One series, forecast from `origin` on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesForecast {
    pub target: &'static str,
    pub key: String,
    /// the steps of history the model read
    pub history: usize,
    pub path: Path,
}

/// A forecast about one party: when an agreement reaches its cap, or a consumer's risk; as
/// computed, stored (`forecast_outlooks`) and digested.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Outlook {
    /// [`targets::AGREEMENT_CAP`] or [`targets::CONSUMER_ALERT`]
    pub kind: String,
    /// `agreement:N` or the consumer's address
    pub key: String,
    /// who it concerns: the agreement's provider, or the consumer
    pub party: String,
    /// cap: accesses expected over the horizon; alert: the probability
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    /// cap: when it is reached (unix seconds; early/late from the interval's ends)
    pub at: Option<i64>,
    pub at_early: Option<i64>,
    pub at_late: Option<i64>,
    /// cap: whether it is reached before the agreement expires
    pub before_expiry: Option<bool>,
    /// what drives it, in words
    pub drivers: String,
}

/// Everything one run forecast.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecasts {
    pub step_seconds: i64,
    /// the first step forecast (unix seconds / step_seconds)
    pub origin: i64,
    pub horizon: usize,
    pub periods: Vec<usize>,
    /// the nominal coverage of the intervals
    pub level: f64,
    pub series: Vec<SeriesForecast>,
    pub outlooks: Vec<Outlook>,
    pub risk: RiskModel,
}

/// One forecast step of one series, as stored (`forecasts`) and digested.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct PointRow {
    pub target: String,
    pub key: String,
    pub step: i32,
    /// unix seconds
    pub step_start: i64,
    pub step_seconds: i64,
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
    pub level: f64,
    pub method: String,
    pub history: i32,
}

impl Forecasts {
    pub fn point_rows(&self) -> Vec<PointRow> {
        self.series
            .iter()
            .flat_map(|s| {
                (0..s.path.point.len()).map(move |k| PointRow {
                    target: s.target.to_string(),
                    key: s.key.clone(),
                    step: k as i32,
                    step_start: (self.origin + k as i64) * self.step_seconds,
                    step_seconds: self.step_seconds,
                    point: s.path.point[k],
                    lower: s.path.lower[k],
                    upper: s.path.upper[k],
                    level: self.level,
                    method: s.path.method.clone(),
                    history: i32::try_from(s.history).unwrap_or(i32::MAX),
                })
            })
            .collect()
    }
}

/// The most steps of history a series is fitted on (twelve weeks of hours): a run whose window
/// is short against its chain's age (seconds on a chain days old) still forecasts in moments.
pub const MAX_HISTORY: i64 = 2016;

/// Dense series per key, from the key's first non-zero step (at most [`MAX_HISTORY`] steps
/// back) up to `origin - 1`.
pub fn dense<K: Ord + Clone>(rows: &[(K, i64, i64)], origin: i64) -> BTreeMap<K, Vec<f64>> {
    let mut by: BTreeMap<K, Vec<(i64, i64)>> = BTreeMap::new();
    for (k, s, n) in rows {
        if *s < origin && *s >= origin - MAX_HISTORY {
            by.entry(k.clone()).or_default().push((*s, *n));
        }
    }
    by.into_iter()
        .filter_map(|(k, mut v)| {
            v.sort_unstable();
            let first = v.first()?.0;
            let mut y = vec![0.0; (origin - first) as usize];
            for (s, n) in v {
                y[(s - first) as usize] += n as f64;
            }
            Some((k, y))
        })
        .collect()
}

/// Forecasts everything from what was read and the consumers' timelines (windows up to the
/// origin's); reported means a score at or above `threshold`.
pub fn forecast(
    inputs: &SeriesInputs,
    timelines: &[Timeline],
    cfg: &ForecastConfig,
    threshold: f64,
) -> Forecasts {
    let (step, origin) = (inputs.step_seconds, inputs.origin);
    let horizon = cfg.horizon_for(step);
    let periods = periods(step);
    let now = origin * step;
    // agreements worth forecasting: not terminated, not expired
    let live: HashMap<i64, &AgreementState> = inputs
        .agreements
        .iter()
        .filter(|a| !a.terminated && a.expires_at.is_none_or(|e| e > now))
        .map(|a| (a.agreement_id, a))
        .collect();
    let by_asset = inputs.asset_accesses();
    let mut jobs: Vec<(&'static str, String, Vec<f64>)> = Vec::new();
    for (ag, y) in dense(&inputs.accesses, origin) {
        if live.contains_key(&ag) {
            jobs.push((targets::AGREEMENT_ACCESSES, crate::target::agreement(ag), y));
        }
    }
    for (asset, y) in dense(&by_asset, origin) {
        jobs.push((targets::ASSET_ACCESSES, crate::target::asset(asset), y));
    }
    for (asset, y) in dense(&inputs.signed, origin) {
        jobs.push((targets::ASSET_AGREEMENTS, crate::target::asset(asset), y));
    }
    for (scope, y) in dense(&inputs.withdrawals, origin) {
        jobs.push((targets::CONSENT_WITHDRAWALS, scope, y));
    }
    let series: Vec<SeriesForecast> = jobs
        .into_par_iter()
        .map(|(target, key, y)| SeriesForecast {
            target,
            key,
            history: y.len(),
            path: model::forecast(&y, &periods, horizon, &cfg.model_for(target)),
        })
        .collect();
    let mut outlooks = Vec::new();
    let paths: HashMap<&str, &Path> = series
        .iter()
        .filter(|s| s.target == targets::AGREEMENT_ACCESSES)
        .map(|s| (s.key.as_str(), &s.path))
        .collect();
    for a in inputs
        .agreements
        .iter()
        .filter(|a| live.contains_key(&a.agreement_id))
    {
        let key = crate::target::agreement(a.agreement_id);
        if let Some(o) = cap_outlook(a, paths.get(key.as_str()).copied(), origin, step) {
            outlooks.push(o);
        }
    }
    let risk = risk::fit(timelines, origin, threshold);
    for t in timelines {
        let Some(i) = t.scores.len().checked_sub(1) else {
            continue;
        };
        let x = risk::features(t, i, threshold);
        let p = risk.probability(&x);
        outlooks.push(Outlook {
            kind: targets::CONSUMER_ALERT.into(),
            key: t.actor.clone(),
            party: t.actor.clone(),
            value: p,
            lower: p,
            upper: p,
            at: Some((t.first + i as i64 + 1) * step),
            at_early: None,
            at_late: None,
            before_expiry: None,
            drivers: risk.drivers(&x),
        });
    }
    Forecasts {
        step_seconds: step,
        origin,
        horizon,
        periods,
        level: cfg.model.level,
        series,
        outlooks,
        risk,
    }
}

/// When `remaining` more accesses have happened along `v` (per step from `origin`): the end of
/// the step that reaches it, or past the horizon at the path's mean rate; None at rate zero.
fn reach(v: &[f64], remaining: f64, origin: i64, step: i64) -> Option<i64> {
    let mut cum = 0.0;
    for (k, x) in v.iter().enumerate() {
        cum += x;
        if cum >= remaining {
            return Some((origin + k as i64 + 1) * step);
        }
    }
    // past the horizon at the mean rate, within ten years (further is "not foreseeable")
    let rate = cum / v.len().max(1) as f64;
    let after = remaining / rate * step as f64;
    (rate > 1e-9 && after < 10.0 * 365.0 * 86400.0).then(|| origin * step + after.ceil() as i64)
}

/// When a capped agreement will reach its cap.
fn cap_outlook(a: &AgreementState, path: Option<&Path>, origin: i64, step: i64) -> Option<Outlook> {
    let cap = a.cap?;
    let remaining = (cap - a.used) as f64;
    let key = crate::target::agreement(a.agreement_id);
    let (value, lower, upper, at, early, late, drivers) = match path {
        _ if remaining <= 0.0 => (
            0.0,
            0.0,
            0.0,
            Some(origin * step),
            Some(origin * step),
            Some(origin * step),
            format!("the cap of {cap} is reached ({} used)", a.used),
        ),
        None => (
            0.0,
            0.0,
            0.0,
            None,
            None,
            None,
            format!("{} of {cap} used; no accesses yet to forecast from", a.used),
        ),
        Some(p) => (
            p.point.iter().sum(),
            p.lower.iter().sum(),
            p.upper.iter().sum(),
            reach(&p.point, remaining, origin, step),
            reach(&p.upper, remaining, origin, step),
            reach(&p.lower, remaining, origin, step),
            format!(
                "{} of {cap} used; about {:.2} accesses per window now, {:+.3} per window ({})",
                a.used, p.level_now, p.trend_per_step, p.method
            ),
        ),
    };
    Some(Outlook {
        kind: targets::AGREEMENT_CAP.into(),
        key,
        party: a.provider.clone(),
        value,
        lower,
        upper,
        at,
        at_early: early,
        at_late: late,
        before_expiry: at.zip(a.expires_at).map(|(t, e)| t < e),
        drivers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(accesses: Vec<(i64, i64, i64)>, origin: i64) -> SeriesInputs {
        SeriesInputs {
            step_seconds: 3600,
            origin,
            accesses,
            agreements: vec![AgreementState {
                agreement_id: 1,
                asset_id: 5,
                provider: "p".into(),
                consumer: "c".into(),
                cap: Some(1000),
                used: 400,
                expires_at: Some(4_000_000_000),
                terminated: false,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn seasons_follow_the_step() {
        assert_eq!(periods(3600), vec![24, 168]);
        assert_eq!(periods(21600), vec![4, 28]);
        assert_eq!(periods(60), Vec::<usize>::new());
        assert_eq!(periods(86400), vec![7]);
        assert_eq!(periods(7), Vec::<usize>::new());
    }

    #[test]
    fn no_forecast_reads_the_future() {
        // ten accesses an hour for two weeks, then an origin; whatever comes after the origin
        // (here a flood) changes nothing
        let origin = 1000 + 14 * 24;
        let past: Vec<(i64, i64, i64)> = (1000..origin).map(|s| (1, s, 10 + (s % 3))).collect();
        let mut with_future = past.clone();
        with_future.extend((origin..origin + 48).map(|s| (1, s, 500)));
        let cfg = ForecastConfig::default();
        let a = forecast(&inputs(past, origin), &[], &cfg, 0.5);
        let b = forecast(&inputs(with_future, origin), &[], &cfg, 0.5);
        assert_eq!(a, b);
        assert_eq!(a.series.len(), 2, "the agreement and its asset");
        assert!(a.series.iter().all(|s| s.history == 14 * 24));
    }

    #[test]
    fn the_cap_date_follows_the_rate_and_its_interval_brackets_it() {
        let origin = 1000 + 14 * 24;
        let past: Vec<(i64, i64, i64)> = (1000..origin).map(|s| (1, s, 10 + (s % 3))).collect();
        let f = forecast(&inputs(past, origin), &[], &ForecastConfig::default(), 0.5);
        let cap = f
            .outlooks
            .iter()
            .find(|o| o.kind == targets::AGREEMENT_CAP)
            .expect("a cap outlook");
        // 600 left at about 11 an hour: 54-55 hours after the origin
        let at = cap.at.expect("a date");
        let hours = (at - origin * 3600) as f64 / 3600.0;
        assert!((50.0..=60.0).contains(&hours), "{hours}");
        let (early, late) = (cap.at_early.expect("early"), cap.at_late.expect("late"));
        assert!(early <= at && at <= late, "{early} {at} {late}");
        assert_eq!(cap.before_expiry, Some(true));
        assert_eq!(cap.party, "p");
    }

    #[test]
    fn dense_series_start_at_the_first_activity_and_stop_before_the_origin() {
        let d = dense(&[(7, 3, 2), (7, 5, 1), (7, 9, 4), (8, 8, 1)], 9);
        assert_eq!(d[&7], vec![2.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(d[&8], vec![1.0]);
        // a key active since long ago keeps its last MAX_HISTORY steps
        let o = 10 * MAX_HISTORY;
        let d = dense(&[(1, 0, 5), (1, o - 1, 1)], o);
        assert_eq!(d[&1].len(), 1);
        let d = dense(&[(1, o - MAX_HISTORY, 5), (1, o - 1, 1)], o);
        assert_eq!(d[&1].len() as i64, MAX_HISTORY);
    }

    #[test]
    fn a_reached_cap_is_dated_now_at_both_ends() {
        let mut i = inputs(vec![(1, 1000, 3)], 1010);
        i.agreements[0].used = 1000;
        let f = forecast(&i, &[], &ForecastConfig::default(), 0.5);
        let cap = f
            .outlooks
            .iter()
            .find(|o| o.kind == targets::AGREEMENT_CAP)
            .expect("cap");
        let now = Some(1010 * 3600);
        assert_eq!((cap.at, cap.at_early, cap.at_late), (now, now, now));
        assert!(cap.drivers.contains("is reached"), "{}", cap.drivers);
    }
}
