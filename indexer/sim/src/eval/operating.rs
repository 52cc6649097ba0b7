//! Where the chain acts: precision, recall and false alerts at a score threshold (each severity's
//! floor, the sentinel's default among them), pooled over seeds, and the rule that chooses the
//! sentinel's default severity on the development seeds.

use serde::Serialize;

use datapact_analytics::analysis::{severity_floor, SEVERITY_FLOORS};
use datapact_analytics::{REPORT_THRESHOLD, SENTINEL_DEFAULT_SEVERITY};

use super::{Quality, SeedResult, AFTERMATH};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OperatingPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub false_alerts: usize,
    /// false alerts per 1,000 actors (of the kind's role) per day of history
    pub false_per_1000_actor_days: f64,
}

/// The least overall precision the sentinel's default severity must keep: at most one alert in
/// ten false (what [`choose_severity`] chooses by, and an aim checked on held-out seeds).
pub const PRECISION_FLOOR: f64 = 0.9;

/// The score the sentinel reports from unless told otherwise.
pub fn sentinel_threshold() -> f64 {
    severity_floor(SENTINEL_DEFAULT_SEVERITY).unwrap_or(REPORT_THRESHOLD)
}

pub(super) fn operating_point(
    pos: &[f64],
    neg: &[f64],
    threshold: f64,
    actor_days: f64,
) -> OperatingPoint {
    let tp = pos.iter().filter(|s| **s >= threshold).count();
    let fp = neg.iter().filter(|s| **s >= threshold).count();
    OperatingPoint {
        threshold,
        precision: if tp + fp > 0 {
            tp as f64 / (tp + fp) as f64
        } else {
            f64::NAN
        },
        recall: if pos.is_empty() {
            f64::NAN
        } else {
            tp as f64 / pos.len() as f64
        },
        false_alerts: fp,
        false_per_1000_actor_days: 1000.0 * fp as f64 / actor_days.max(1e-9),
    }
}

/// Precision at the sentinel's threshold pooled over seeds (a seed without alerts has none).
pub(super) fn pooled_precision(qs: &[&Quality]) -> f64 {
    pooled_precision_at(qs, &|q| &q.sentinel)
}

pub(super) fn pooled_precision_at(
    qs: &[&Quality],
    at: &dyn Fn(&Quality) -> &OperatingPoint,
) -> f64 {
    pooled_alerts_at(qs, at).0
}

/// Pooled precision and how many alerts it is measured on.
fn pooled_alerts_at(qs: &[&Quality], at: &dyn Fn(&Quality) -> &OperatingPoint) -> (f64, f64) {
    let fp: usize = qs.iter().map(|q| at(q).false_alerts).sum();
    let tp: f64 = qs
        .iter()
        .map(|q| at(q).recall * q.positives as f64)
        .filter(|v| v.is_finite())
        .sum();
    let n = tp + fp as f64;
    (if n > 0.0 { tp / n } else { f64::NAN }, n)
}

/// Per severity, highest first: pooled overall precision, its standard error (binomial) and
/// the alerts it is measured on.
pub fn precision_by_severity(results: &[SeedResult]) -> Vec<(&'static str, f64, f64, f64)> {
    let overall: Vec<&Quality> = results
        .iter()
        .filter_map(|r| r.quality.iter().find(|q| q.kind == "overall"))
        .collect();
    SEVERITY_FLOORS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let (p, n) = pooled_alerts_at(&overall, &|q| {
                q.by_severity.get(i).map_or(&q.sentinel, |(_, p)| p)
            });
            let se = if n > 0.0 {
                (p * (1.0 - p) / n).sqrt()
            } else {
                f64::NAN
            };
            (*name, p, se, n)
        })
        .collect()
}

/// The alerts at the floor of severity `i` (as [`SEVERITY_FLOORS`]) on the unlabelled windows of
/// noise row `row` ([`super::evaluate_noise`]), summed over seeds.
pub(super) fn noise_alerts_at(results: &[SeedResult], row: &str, i: usize) -> usize {
    results
        .iter()
        .flat_map(|r| &r.noise)
        .filter(|a| a.variant == row)
        .filter_map(|a| a.by_severity.get(i))
        .sum()
}

/// Per severity, highest first: pooled overall precision as [`precision_by_severity`] has it,
/// not counting the false alerts in an attack's next day ([`AFTERMATH`]): an alert there falls
/// on the attacker, late, and on no honest customer.
pub fn precision_without_aftermath(results: &[SeedResult]) -> Vec<(&'static str, f64)> {
    precision_by_severity(results)
        .into_iter()
        .enumerate()
        .map(|(i, (name, p, _, n))| {
            let tp = if p.is_finite() { p * n } else { 0.0 };
            let counted = n - noise_alerts_at(results, AFTERMATH, i) as f64;
            (
                name,
                if counted > 0.0 {
                    tp / counted
                } else {
                    f64::NAN
                },
            )
        })
        .collect()
}

/// The sentinel's default as the development seeds choose it: going down from the highest, the
/// last severity whose pooled overall precision is at least `precision` within one standard
/// error (a precision measured on a few hundred alerts is known to a couple of points) (None:
/// not even the highest).
pub fn choose_severity(results: &[SeedResult], precision: f64) -> Option<&'static str> {
    precision_by_severity(results)
        .into_iter()
        // no alerts at all is no false alert
        .take_while(|(_, p, se, _)| p.is_nan() || p + se >= precision)
        .map(|(name, ..)| name)
        .last()
}

#[cfg(test)]
mod tests {
    use super::super::tests::consumer_unit;
    use super::super::{evaluate, Unit};
    use super::*;

    #[test]
    fn the_operating_point_counts_false_alerts_per_actor_day_at_the_sentinels_threshold() {
        assert_eq!(
            Some(sentinel_threshold()),
            severity_floor(SENTINEL_DEFAULT_SEVERITY)
        );
        let unit = |actor: &str, score: f64, kind: Option<&str>| Unit {
            role: "consumer".into(),
            actor: actor.into(),
            window: 1,
            score,
            kinds: kind.map(|k| vec![k.to_string()]).unwrap_or_default(),
            variants: vec![],
            noise: vec![],
            labels: vec![],
        };
        let units = vec![
            unit("a", 0.95, Some("access_burst")),
            unit("b", 0.85, Some("access_burst")),
            unit("c", 0.92, None),
            unit("d", 0.6, None),
        ];
        // four consumers over two days: one false alert is 125 per 1,000 actors per day
        let q = evaluate(&units, &["access_burst"], 2.0);
        let (name, p) = &q[0].by_severity[1];
        assert_eq!((name.as_str(), p.threshold), ("high", 0.9));
        assert_eq!((p.precision, p.recall, p.false_alerts), (0.5, 0.5, 1));
        assert!((p.false_per_1000_actor_days - 125.0).abs() < 1e-9);
        // the report threshold (0.5) sees both positives
        assert_eq!(q[0].recall, 1.0);
    }

    #[test]
    fn the_sentinels_default_is_the_lowest_severity_that_keeps_precision() {
        let unit =
            |actor: String, score: f64, positive: bool| consumer_unit(&actor, 1, score, positive);
        // 190 positives at 0.8 and ten negatives there (precision 0.95 +- 0.015 at medium); 300
        // negatives at 0.6 (at low: 190 of 500)
        let mut units: Vec<Unit> = (0..190).map(|i| unit(format!("p{i}"), 0.8, true)).collect();
        units.extend((0..10).map(|i| unit(format!("n{i}"), 0.8, false)));
        units.extend((0..300).map(|i| unit(format!("m{i}"), 0.6, false)));
        let result = |quality| SeedResult {
            seed: 1,
            accesses: 0,
            units: 0,
            quality,
            variants: vec![],
            noise: vec![],
            incidents: vec![],
            provenance_auc: 1.0,
            laundered_mean: 0.0,
            clean_mean: 0.0,
            analyze_seconds: 0.0,
        };
        let r = [result(evaluate(&units, &["access_burst"], 1.0))];
        // no alert at all above medium is no false alert there
        assert_eq!(choose_severity(&r, 0.9), Some("medium"));
        assert_eq!(choose_severity(&r, 0.99), Some("high"));
        units.push(unit("top".into(), 0.99, true));
        let r = [result(evaluate(&units, &["access_burst"], 1.0))];
        assert_eq!(choose_severity(&r, 0.9), Some("medium"));
        assert_eq!(choose_severity(&r, 0.99), Some("high"));
        // 179 of 200 right at medium: 0.895, below 0.9 but within its standard error (0.022)
        let mut edge: Vec<Unit> = (0..179).map(|i| unit(format!("p{i}"), 0.8, true)).collect();
        edge.extend((0..21).map(|i| unit(format!("n{i}"), 0.8, false)));
        edge.extend((0..300).map(|i| unit(format!("m{i}"), 0.6, false)));
        let r = [result(evaluate(&edge, &["access_burst"], 1.0))];
        assert_eq!(choose_severity(&r, 0.9), Some("medium"));
        // 170 of 200 (0.85 +- 0.025) is below it
        let mut low: Vec<Unit> = (0..170).map(|i| unit(format!("p{i}"), 0.8, true)).collect();
        low.extend((0..30).map(|i| unit(format!("n{i}"), 0.8, false)));
        let r = [result(evaluate(&low, &["access_burst"], 1.0))];
        assert_eq!(choose_severity(&r, 0.9), Some("high"));
    }

    #[test]
    fn precision_without_aftermath_leaves_out_only_the_alerts_in_an_attacks_next_day() {
        let unit = consumer_unit;
        // at medium: 8 attack windows alerted, 2 alerts in an attacker's next day and 2 on
        // honest actors: precision 8 / 12, and 8 / 10 without the next day's
        let mut units: Vec<Unit> = (0..8)
            .map(|i| unit(&format!("p{i}"), 5, 0.8, true))
            .collect();
        units.push(unit("p0", 6, 0.8, false));
        units.push(unit("p1", 7, 0.8, false));
        units.push(unit("h0", 6, 0.8, false));
        units.push(unit("h1", 6, 0.8, false));
        let r = [SeedResult {
            seed: 1,
            accesses: 0,
            units: 0,
            quality: evaluate(&units, &["access_burst"], 1.0),
            variants: vec![],
            noise: super::super::evaluate_noise(&units, &[]),
            incidents: vec![],
            provenance_auc: 1.0,
            laundered_mean: 0.0,
            clean_mean: 0.0,
            analyze_seconds: 0.0,
        }];
        let at = |v: Vec<(&'static str, f64)>| {
            v.into_iter()
                .find(|(name, _)| *name == "medium")
                .map(|(_, p)| p)
        };
        let strict = precision_by_severity(&r)
            .into_iter()
            .map(|(name, p, ..)| (name, p))
            .collect();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(at(strict), 8.0 / 12.0));
        assert!(close(at(precision_without_aftermath(&r)), 8.0 / 10.0));
    }
}
