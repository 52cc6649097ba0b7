//! The labelled evaluation: how well the anomaly scores find the injected misbehaviour.
//!
//! The unit is an actor in a window. A unit is positive for a label when the label's actor is
//! the unit's actor and their heights overlap; units no label touches are the negatives. A
//! consumer unit's score is the higher of its model score and its findings by rule. Per kind
//! (that kind's positives against every negative) and overall: average precision (PR-AUC),
//! recall at a 5% false-positive rate, precision / recall / F1 at the report threshold, and
//! where the chain acts — at the sentinel's default severity — precision, recall and false
//! alerts per 1,000 actors per day.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use datapact_analytics::analysis::{severity_floor, SEVERITY_FLOORS};
use datapact_analytics::metrics::{auc, average_precision, recall_at_fpr};
use datapact_analytics::{Analysis, AnalyzeConfig, REPORT_THRESHOLD, SENTINEL_DEFAULT_SEVERITY};

use crate::labels::{role_of, Label, KINDS};
use crate::synth::{self, SynthConfig};

/// One scored unit and the label kinds it carries.
#[derive(Clone, Debug)]
pub struct Unit {
    pub role: String,
    pub actor: String,
    pub window: i64,
    pub score: f64,
    pub kinds: Vec<String>,
}

/// Quality figures for one kind (or `overall`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Quality {
    pub kind: String,
    pub positives: usize,
    pub negatives: usize,
    pub pr_auc: f64,
    pub recall_at_5pct_fpr: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// where the sentinel acts by default
    pub sentinel: OperatingPoint,
    /// at each severity's floor, highest first (what each `--min-severity` would do)
    pub by_severity: Vec<(String, OperatingPoint)>,
}

/// Precision, recall and false alerts at one threshold.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OperatingPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub false_alerts: usize,
    /// false alerts per 1,000 actors (of the kind's role) per day of history
    pub false_per_1000_actor_days: f64,
}

/// The score the sentinel reports from unless told otherwise.
pub fn sentinel_threshold() -> f64 {
    severity_floor(SENTINEL_DEFAULT_SEVERITY).unwrap_or(REPORT_THRESHOLD)
}

fn operating_point(pos: &[f64], neg: &[f64], threshold: f64, actor_days: f64) -> OperatingPoint {
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

/// Units from an analysis, labelled.
pub fn units(a: &Analysis, labels: &[Label]) -> Vec<Unit> {
    let mut out: BTreeMap<(String, String, i64), (f64, i64, i64)> = BTreeMap::new();
    for (t, scores) in &a.tables {
        for (w, s) in t.rows.iter().zip(scores) {
            out.insert(
                (t.role.to_string(), w.actor.clone(), w.window),
                (s.score, w.first_height, w.last_height),
            );
        }
    }
    for f in &a.findings {
        let e = out
            .entry(("consumer".into(), f.consumer.clone(), f.window))
            .or_insert((0.0, f.first_height, f.last_height));
        e.0 = e.0.max(f.score());
        e.1 = e.1.min(f.first_height);
        e.2 = e.2.max(f.last_height);
    }
    let mut by_actor: HashMap<(&str, &str), Vec<Label>> = HashMap::new();
    for l in labels {
        by_actor
            .entry((role_of(&l.kind), l.actor.as_str()))
            .or_default()
            .push(l.clone());
    }
    out.into_iter()
        .map(|((role, actor, window), (score, first, last))| {
            let kinds = by_actor
                .get(&(role.as_str(), actor.as_str()))
                .map(|ls| kinds_for(ls, &role, &actor, first, last))
                .unwrap_or_default();
            Unit {
                role,
                actor,
                window,
                score,
                kinds,
            }
        })
        .collect()
}

/// The kinds of the labels that cover `actor` in `role` between heights `first..=last`.
pub fn kinds_for(labels: &[Label], role: &str, actor: &str, first: i64, last: i64) -> Vec<String> {
    labels
        .iter()
        .filter(|l| role_of(&l.kind) == role && l.actor == actor)
        .filter(|l| {
            let (lf, ll) = (
                l.first_height.unwrap_or(0) as i64,
                l.last_height.unwrap_or(0) as i64,
            );
            first <= ll && lf <= last
        })
        .map(|l| l.kind.clone())
        .collect()
}

fn quality(kind: &str, pos: &[f64], neg: &[f64], actor_days: f64) -> Quality {
    let tp = pos.iter().filter(|s| **s >= REPORT_THRESHOLD).count() as f64;
    let fp = neg.iter().filter(|s| **s >= REPORT_THRESHOLD).count() as f64;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if pos.is_empty() {
        f64::NAN
    } else {
        tp / pos.len() as f64
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Quality {
        kind: kind.to_string(),
        positives: pos.len(),
        negatives: neg.len(),
        pr_auc: average_precision(pos, neg),
        recall_at_5pct_fpr: recall_at_fpr(pos, neg, 0.05),
        precision,
        recall,
        f1,
        sentinel: operating_point(pos, neg, sentinel_threshold(), actor_days),
        by_severity: SEVERITY_FLOORS
            .iter()
            .map(|(name, t)| (name.to_string(), operating_point(pos, neg, *t, actor_days)))
            .collect(),
    }
}

/// Per kind, then overall. Negatives of a kind are the unlabelled units of its role; `days` is
/// the history's length (for false alerts per actor per day).
pub fn evaluate(units: &[Unit], kinds: &[&str], days: f64) -> Vec<Quality> {
    let actors = |role: Option<&str>| {
        units
            .iter()
            .filter(|u| role.is_none_or(|r| u.role == r))
            .map(|u| (u.role.as_str(), u.actor.as_str()))
            .collect::<std::collections::BTreeSet<_>>()
            .len() as f64
    };
    let mut out = Vec::new();
    let mut all_pos = Vec::new();
    for kind in kinds {
        let role = role_of(kind);
        let pos: Vec<f64> = units
            .iter()
            .filter(|u| u.role == role && u.kinds.iter().any(|k| k == kind))
            .map(|u| u.score)
            .collect();
        let neg: Vec<f64> = units
            .iter()
            .filter(|u| u.role == role && u.kinds.is_empty())
            .map(|u| u.score)
            .collect();
        all_pos.extend(pos.iter().copied());
        out.push(quality(kind, &pos, &neg, actors(Some(role)) * days));
    }
    let neg: Vec<f64> = units
        .iter()
        .filter(|u| u.kinds.is_empty())
        .map(|u| u.score)
        .collect();
    out.push(quality("overall", &all_pos, &neg, actors(None) * days));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_is_positive_only_for_labels_of_its_actor_that_overlap_its_heights() {
        let labels = [Label {
            kind: "access_burst".into(),
            actor: "c1".into(),
            targets: vec![],
            seed: 1,
            first_height: Some(10),
            last_height: Some(20),
            txs: vec![],
            description: String::new(),
        }];
        assert_eq!(
            kinds_for(&labels, "consumer", "c1", 15, 30),
            vec!["access_burst"]
        );
        assert!(
            kinds_for(&labels, "consumer", "c1", 21, 30).is_empty(),
            "after it"
        );
        assert!(
            kinds_for(&labels, "consumer", "c1", 1, 9).is_empty(),
            "before it"
        );
        assert!(
            kinds_for(&labels, "consumer", "c2", 10, 20).is_empty(),
            "another actor"
        );
        assert!(
            kinds_for(&labels, "provider", "c1", 10, 20).is_empty(),
            "another role"
        );
        let units = vec![
            Unit {
                role: "consumer".into(),
                actor: "c1".into(),
                window: 1,
                score: 0.9,
                kinds: vec!["access_burst".into()],
            },
            Unit {
                role: "consumer".into(),
                actor: "c2".into(),
                window: 1,
                score: 0.2,
                kinds: vec![],
            },
        ];
        let q = evaluate(&units, &["access_burst"], 1.0);
        assert_eq!(q[0].pr_auc, 1.0);
        assert_eq!(q[0].f1, 1.0);
        assert_eq!(q[1].kind, "overall");
    }

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
        let unit = |actor: String, score: f64, positive: bool| Unit {
            role: "consumer".into(),
            actor,
            window: 1,
            score,
            kinds: if positive {
                vec!["access_burst".into()]
            } else {
                vec![]
            },
        };
        // 19 positives at 0.8 and one negative there (precision 0.95 at medium); ten negatives
        // at 0.6 (at low: 19 of 30)
        let mut units: Vec<Unit> = (0..19).map(|i| unit(format!("p{i}"), 0.8, true)).collect();
        units.push(unit("n".into(), 0.8, false));
        units.extend((0..10).map(|i| unit(format!("m{i}"), 0.6, false)));
        let result = |quality| SeedResult {
            seed: 1,
            accesses: 0,
            units: 0,
            quality,
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
    }
}

/// One seed's results.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub accesses: u64,
    pub units: usize,
    pub quality: Vec<Quality>,
    /// AUC of laundered versions scoring below clean derived ones
    pub provenance_auc: f64,
    pub laundered_mean: f64,
    pub clean_mean: f64,
    pub analyze_seconds: f64,
}

/// Generates a labelled synthetic history per seed in `pool` (replacing its content), analyzes
/// it without storing, and measures.
pub async fn run(
    pool: &sqlx::PgPool,
    seeds: &[u64],
    synth: &SynthConfig,
    analyze: &AnalyzeConfig,
    debug: bool,
) -> anyhow::Result<Vec<SeedResult>> {
    let mut out = Vec::new();
    for &seed in seeds {
        datapact_index::db::replace_with_synthetic(pool, false).await?;
        let cfg = SynthConfig {
            seed,
            chain_id: format!("{}{seed}", datapact_index::db::SYNTHETIC_CHAIN_PREFIX),
            ..synth.clone()
        };
        let s = synth::run(pool, &cfg).await?;
        let t = std::time::Instant::now();
        let a = datapact_analytics::analyze(pool, analyze, false).await?;
        let analyze_seconds = t.elapsed().as_secs_f64();
        let u = units(&a, &s.labels);
        if debug {
            eprint!("{}", debug_top(&a, &u, 15));
            let q = |v: &mut Vec<f64>, p: f64| {
                v.sort_by(f64::total_cmp);
                v.get(((v.len().max(1) - 1) as f64 * p) as usize)
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            let mut neg: Vec<f64> = u
                .iter()
                .filter(|x| x.kinds.is_empty())
                .map(|x| x.score)
                .collect();
            eprintln!(
                "negatives: p50 {:.3} p90 {:.3} p99 {:.3} p99.9 {:.3}",
                q(&mut neg, 0.5),
                q(&mut neg, 0.9),
                q(&mut neg, 0.99),
                q(&mut neg, 0.999)
            );
            for k in KINDS {
                let mut pos: Vec<f64> = u
                    .iter()
                    .filter(|x| x.kinds.iter().any(|y| y == k))
                    .map(|x| x.score)
                    .collect();
                eprintln!(
                    "{k}: min {:.3} median {:.3}",
                    q(&mut pos, 0.0),
                    q(&mut pos, 0.5)
                );
            }
        }
        let quality = evaluate(&u, &KINDS, f64::from(synth.days));
        // provenance: laundered versions against clean derived versions
        let laundered: std::collections::BTreeSet<(i64, i64)> = s
            .labels
            .iter()
            .filter(|l| l.kind == "provenance_laundering")
            .flat_map(|l| l.targets.iter())
            .filter_map(|t| {
                let (a, v) = t.strip_prefix("asset:")?.split_once('@')?;
                Some((a.parse().ok()?, v.parse().ok()?))
            })
            .collect();
        let (mut low, mut high) = (Vec::new(), Vec::new());
        for p in &a.provenance {
            if laundered.contains(&(p.asset_id, p.version)) {
                // the roots of a laundering chain are plain unattested scrapes; the derived
                // products are what laundering is about
                if p.inherited < 1.0 || p.unattested_ancestors > 0 {
                    low.push(p.score);
                }
            } else if p.unattested_ancestors == 0
                && p.inherited < 1.0 + f64::EPSILON
                && p.attestors > 0
            {
                high.push(p.score);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        out.push(SeedResult {
            seed,
            accesses: s.accesses,
            units: u.len(),
            quality,
            provenance_auc: auc(&low, &high),
            laundered_mean: mean(&low),
            clean_mean: mean(&high),
            analyze_seconds,
        });
    }
    Ok(out)
}

/// A ratio to two places, "-" where there is none (no alerts at all).
fn ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "-".into()
    }
}

/// Precision at the sentinel's threshold pooled over seeds (a seed without alerts has none).
fn pooled_precision(qs: &[&Quality]) -> f64 {
    pooled_precision_at(qs, &|q| &q.sentinel)
}

fn pooled_precision_at(qs: &[&Quality], at: &dyn Fn(&Quality) -> &OperatingPoint) -> f64 {
    let fp: usize = qs.iter().map(|q| at(q).false_alerts).sum();
    let tp: f64 = qs
        .iter()
        .map(|q| at(q).recall * q.positives as f64)
        .filter(|v| v.is_finite())
        .sum();
    if tp + fp as f64 > 0.0 {
        tp / (tp + fp as f64)
    } else {
        f64::NAN
    }
}

/// The table `make eval` prints: per kind, the mean over seeds and the worst seed.
pub fn summary(results: &[SeedResult]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<26} {:>6} {:>8} {:>8} {:>8} {:>8} {:>15} | {:>11} {:>13}",
        "kind",
        "pos",
        "PR-AUC",
        "min",
        "R@5%FPR",
        "min",
        "P/R/F1@0.5",
        format!("P/R@{:.2}", sentinel_threshold()),
        "false/1k/day"
    );
    let kinds: Vec<String> = results
        .first()
        .map(|r| r.quality.iter().map(|q| q.kind.clone()).collect())
        .unwrap_or_default();
    for k in &kinds {
        let qs: Vec<&Quality> = results
            .iter()
            .filter_map(|r| r.quality.iter().find(|q| &q.kind == k))
            .collect();
        let mean = |f: &dyn Fn(&Quality) -> f64| {
            qs.iter().map(|q| f(q)).sum::<f64>() / qs.len().max(1) as f64
        };
        let min =
            |f: &dyn Fn(&Quality) -> f64| qs.iter().map(|q| f(q)).fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            s,
            "{:<26} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>5.2}/{:.2}/{:.2} | {:>5}/{:.2} {:>13.2}",
            k,
            qs.iter().map(|q| q.positives).sum::<usize>(),
            mean(&|q| q.pr_auc),
            min(&|q| q.pr_auc),
            mean(&|q| q.recall_at_5pct_fpr),
            min(&|q| q.recall_at_5pct_fpr),
            mean(&|q| q.precision),
            mean(&|q| q.recall),
            mean(&|q| q.f1),
            ratio(pooled_precision(&qs)),
            mean(&|q| q.sentinel.recall),
            mean(&|q| q.sentinel.false_per_1000_actor_days),
        );
    }
    let overall: Vec<&Quality> = results
        .iter()
        .filter_map(|r| r.quality.iter().find(|q| q.kind == "overall"))
        .collect();
    let _ = writeln!(
        s,
        "overall at each --min-severity of the sentinel (precision pooled over seeds; false alerts per 1,000 actors per day):"
    );
    for (i, (name, floor)) in SEVERITY_FLOORS.iter().enumerate() {
        let at = |q: &Quality| q.by_severity.get(i).map(|(_, p)| p.clone());
        let points: Vec<OperatingPoint> = overall.iter().filter_map(|q| at(q)).collect();
        let n = points.len().max(1) as f64;
        let _ = writeln!(
            s,
            "  {name:<9} (score >= {floor:.2}): precision {:>4}, recall {:.2}, false alerts {:.2}{}",
            ratio(pooled_precision_at(&overall, &|q| {
                q.by_severity.get(i).map_or(&q.sentinel, |(_, p)| p)
            })),
            points.iter().map(|p| p.recall).sum::<f64>() / n,
            points.iter().map(|p| p.false_per_1000_actor_days).sum::<f64>() / n,
            if *name == SENTINEL_DEFAULT_SEVERITY {
                "  <- the sentinel's default"
            } else {
                ""
            }
        );
    }
    let aucs: Vec<f64> = results.iter().map(|r| r.provenance_auc).collect();
    let _ = writeln!(
        s,
        "provenance: laundered versions score below clean derived ones with AUC {:.3} (seeds: {}); mean score {:.1} laundered vs {:.1} clean",
        aucs.iter().sum::<f64>() / aucs.len().max(1) as f64,
        aucs.iter().map(|a| format!("{a:.3}")).collect::<Vec<_>>().join(", "),
        results.iter().map(|r| r.laundered_mean).sum::<f64>() / results.len().max(1) as f64,
        results.iter().map(|r| r.clean_mean).sum::<f64>() / results.len().max(1) as f64,
    );
    s
}

/// The sentinel's default as the development seeds choose it: going down from the highest, the
/// last severity whose pooled overall precision is at least `precision` (None: not even the
/// highest).
pub fn choose_severity(results: &[SeedResult], precision: f64) -> Option<&'static str> {
    let overall: Vec<&Quality> = results
        .iter()
        .filter_map(|r| r.quality.iter().find(|q| q.kind == "overall"))
        .collect();
    SEVERITY_FLOORS
        .iter()
        .enumerate()
        .take_while(|(i, _)| {
            let p = pooled_precision_at(&overall, &|q| {
                q.by_severity.get(*i).map_or(&q.sentinel, |(_, p)| p)
            });
            // no alerts at all is no false alert
            p.is_nan() || p >= precision
        })
        .map(|(_, (name, _))| *name)
        .last()
}

/// The aims, checked on held-out seeds: overall PR-AUC >= 0.9, precision >= 0.9 at the
/// sentinel's threshold, and every kind's recall >= 0.8 there.
pub fn aims(results: &[SeedResult]) -> String {
    use std::fmt::Write;
    let of = |kind: &str| -> Vec<&Quality> {
        results
            .iter()
            .filter_map(|r| r.quality.iter().find(|q| q.kind == kind))
            .collect()
    };
    let mean = |qs: &[&Quality], f: &dyn Fn(&Quality) -> f64| {
        qs.iter().map(|q| f(q)).sum::<f64>() / qs.len().max(1) as f64
    };
    let overall = of("overall");
    let pr = mean(&overall, &|q| q.pr_auc);
    let precision = pooled_precision(&overall);
    let t = sentinel_threshold();
    let mut s = String::new();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let _ = writeln!(
        s,
        "aim overall PR-AUC >= 0.9 on held-out seeds: {pr:.3} ({})",
        verdict(pr >= 0.9)
    );
    let _ = writeln!(
        s,
        "aim precision >= 0.9 at the sentinel's threshold ({t:.2}): {precision:.3} ({})",
        verdict(precision >= 0.9)
    );
    let kinds: Vec<String> = results
        .first()
        .map(|r| r.quality.iter().map(|q| q.kind.clone()).collect())
        .unwrap_or_default();
    let low: Vec<String> = kinds
        .iter()
        .filter(|k| *k != "overall")
        .filter_map(|k| {
            let r = mean(&of(k), &|q| q.sentinel.recall);
            (r < 0.8).then(|| format!("{k} {r:.2}"))
        })
        .collect();
    let _ = writeln!(
        s,
        "aim every kind's recall >= 0.8 at {t:.2}: {}",
        if low.is_empty() {
            "met".to_string()
        } else {
            format!("NOT met ({})", low.join(", "))
        }
    );
    s
}

/// The highest-scored windows of each role that no label covers, with their views and raw
/// features (for tuning): printed by `datapact eval --debug`.
pub fn debug_top(a: &Analysis, units: &[Unit], n: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let positive: std::collections::HashSet<(&str, &str, i64)> = units
        .iter()
        .filter(|u| !u.kinds.is_empty())
        .map(|u| (u.role.as_str(), u.actor.as_str(), u.window))
        .collect();
    for (t, scores) in &a.tables {
        let mut idx: Vec<usize> = (0..t.rows.len())
            .filter(|&i| !positive.contains(&(t.role, t.rows[i].actor.as_str(), t.rows[i].window)))
            .collect();
        idx.sort_by(|&i, &j| scores[j].score.total_cmp(&scores[i].score));
        let _ = writeln!(
            s,
            "== {}: top unlabelled of {} windows",
            t.role,
            t.rows.len()
        );
        for &i in idx.iter().take(n) {
            let (w, sc) = (&t.rows[i], &scores[i]);
            let _ = writeln!(
                s,
                "{:.3} parts [{:.1} {:.1} {:.1} {:.1}] raw {:?} usual {:?}",
                sc.score, sc.parts[0], sc.parts[1], sc.parts[2], sc.parts[3], w.raw, w.usual
            );
        }
    }
    s
}
