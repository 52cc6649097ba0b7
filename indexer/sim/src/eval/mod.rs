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

use datapact_analytics::analysis::SEVERITY_FLOORS;
use datapact_analytics::metrics::{auc, average_precision, recall_at_fpr};
use datapact_analytics::{Analysis, AnalyzeConfig, REPORT_THRESHOLD};

use crate::labels::{role_of, Label, KINDS};
use crate::synth::{self, NoiseMark, SynthConfig};

mod operating;
mod report;

use operating::operating_point;
pub use operating::{choose_severity, sentinel_threshold, OperatingPoint};
pub use report::{aims, debug_top, default_choice, summary};

/// One scored unit and the label kinds it carries.
#[derive(Clone, Debug)]
pub struct Unit {
    pub role: String,
    pub actor: String,
    pub window: i64,
    pub score: f64,
    pub kinds: Vec<String>,
    /// the generator's variants whose labels cover it (attacks)
    pub variants: Vec<String>,
    /// the honest-noise variants that touched it (only on unlabelled units)
    pub noise: Vec<String>,
    /// the labels that cover it (indices into the history's labels)
    pub labels: Vec<usize>,
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
/// Units from an analysis, labelled, with the honest noise that touched them.
pub fn units(a: &Analysis, labels: &[Label], noise: &[NoiseMark]) -> Vec<Unit> {
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
    let mut by_actor: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_actor
            .entry((role_of(&l.kind), l.actor.as_str()))
            .or_default()
            .push(i);
    }
    let mut noise_of: HashMap<&str, Vec<&NoiseMark>> = HashMap::new();
    for m in noise {
        noise_of.entry(m.actor.as_str()).or_default().push(m);
    }
    out.into_iter()
        .map(|((role, actor, window), (score, first, last))| {
            let ids: Vec<usize> = by_actor
                .get(&(role.as_str(), actor.as_str()))
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| overlaps(&labels[i], first, last))
                .collect();
            let covering: Vec<&Label> = ids.iter().map(|&i| &labels[i]).collect();
            let kinds = covering.iter().map(|l| l.kind.clone()).collect();
            let mut variants: Vec<String> =
                covering.iter().filter_map(|l| l.variant.clone()).collect();
            variants.dedup();
            // noise counts only where no label does: an attacker's noise is not honest noise
            let mut noise: Vec<String> = if covering.is_empty() && role == "consumer" {
                noise_of
                    .get(actor.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|m| first <= m.last_height as i64 && m.first_height as i64 <= last)
                    .map(|m| m.variant.clone())
                    .collect()
            } else {
                Vec::new()
            };
            noise.sort();
            noise.dedup();
            Unit {
                role,
                actor,
                window,
                score,
                kinds,
                variants,
                noise,
                labels: ids,
            }
        })
        .collect()
}

/// The labels that cover `actor` in `role` between heights `first..=last`.
fn covering<'a>(
    labels: &'a [Label],
    role: &str,
    actor: &str,
    first: i64,
    last: i64,
) -> Vec<&'a Label> {
    labels
        .iter()
        .filter(|l| role_of(&l.kind) == role && l.actor == actor)
        .filter(|l| overlaps(l, first, last))
        .collect()
}

/// Whether a label's heights overlap `first..=last`.
fn overlaps(l: &Label, first: i64, last: i64) -> bool {
    let (lf, ll) = (
        l.first_height.unwrap_or(0) as i64,
        l.last_height.unwrap_or(0) as i64,
    );
    first <= ll && lf <= last
}

/// One labelled instance where the sentinel acts: its windows, and how many windows after its
/// first one a window of it first reached the sentinel's threshold (None: never).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Incident {
    pub kind: String,
    pub variant: Option<String>,
    pub windows: usize,
    pub first_alert: Option<i64>,
}

/// Per label of the history, its incident: what a suspension needs is one alert per instance,
/// as early as it can be, where the tables above count every window of it alike.
pub fn incidents(units: &[Unit], labels: &[Label]) -> Vec<Incident> {
    let t = sentinel_threshold();
    let mut of: BTreeMap<usize, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        for &i in &u.labels {
            of.entry(i).or_default().push(u);
        }
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut us = of.remove(&i).unwrap_or_default();
            us.sort_by_key(|u| u.window);
            let first = us.first().map_or(0, |u| u.window);
            Incident {
                kind: l.kind.clone(),
                variant: l.variant.clone(),
                windows: us.len(),
                first_alert: us.iter().find(|u| u.score >= t).map(|u| u.window - first),
            }
        })
        .collect()
}

/// The kinds of the labels that cover `actor` in `role` between heights `first..=last`.
pub fn kinds_for(labels: &[Label], role: &str, actor: &str, first: i64, last: i64) -> Vec<String> {
    covering(labels, role, actor, first, last)
        .into_iter()
        .map(|l| l.kind.clone())
        .collect()
}

fn quality(kind: &str, pos: &[f64], neg: &[f64], actor_days: f64) -> Quality {
    let at_report = operating_point(pos, neg, REPORT_THRESHOLD, actor_days);
    // no reports at all counts as precision 0 here (the table's F1 column)
    let precision = if at_report.precision.is_nan() {
        0.0
    } else {
        at_report.precision
    };
    let recall = at_report.recall;
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

/// Per attack variant: its instances' units against every negative of the kind's role.
pub fn evaluate_variants(units: &[Unit], variants: &[synth::Variant], days: f64) -> Vec<Quality> {
    variants
        .iter()
        .filter_map(|v| Some((v.name(), role_of(v.kind()?))))
        .map(|(name, role)| {
            let pos: Vec<f64> = units
                .iter()
                .filter(|u| u.role == role && u.variants.iter().any(|x| x == name))
                .map(|u| u.score)
                .collect();
            let of_role = units.iter().filter(|u| u.role == role);
            let neg: Vec<f64> = of_role
                .clone()
                .filter(|u| u.kinds.is_empty())
                .map(|u| u.score)
                .collect();
            let actors = of_role
                .map(|u| u.actor.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len() as f64;
            quality(name, &pos, &neg, actors * days)
        })
        .collect()
}

/// How often honest noise of one variant is alerted on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NoiseAlerts {
    pub variant: String,
    /// unlabelled windows the noise touched
    pub windows: usize,
    /// of those, at or above the sentinel's threshold
    pub alerts: usize,
}

/// Per honest-noise variant (and `all unlabelled` for comparison): the windows it touched and
/// the alerts on them at the sentinel's threshold.
pub fn evaluate_noise(units: &[Unit], variants: &[synth::Variant]) -> Vec<NoiseAlerts> {
    let t = sentinel_threshold();
    let count = |name: &str, f: &dyn Fn(&Unit) -> bool| {
        let touched: Vec<&Unit> = units
            .iter()
            .filter(|u| u.kinds.is_empty() && f(u))
            .collect();
        NoiseAlerts {
            variant: name.to_string(),
            windows: touched.len(),
            alerts: touched.iter().filter(|u| u.score >= t).count(),
        }
    };
    let mut out: Vec<NoiseAlerts> = variants
        .iter()
        .filter(|v| v.kind().is_none())
        .map(|v| count(v.name(), &|u| u.noise.iter().any(|n| n == v.name())))
        .collect();
    out.push(count("all unlabelled", &|_| true));
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
            variant: None,
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
                variants: vec![],
                noise: vec![],
                labels: vec![],
            },
            Unit {
                role: "consumer".into(),
                actor: "c2".into(),
                window: 1,
                score: 0.2,
                kinds: vec![],
                variants: vec![],
                noise: vec![],
                labels: vec![],
            },
        ];
        let q = evaluate(&units, &["access_burst"], 1.0);
        assert_eq!(q[0].pr_auc, 1.0);
        assert_eq!(q[0].f1, 1.0);
        assert_eq!(q[1].kind, "overall");
    }

    #[test]
    fn an_instance_is_caught_at_its_first_window_at_the_threshold_and_missed_if_none_reaches_it() {
        let label = |actor: &str, first: u64, last: u64| Label {
            kind: "access_burst".into(),
            actor: actor.into(),
            targets: vec![],
            seed: 1,
            first_height: Some(first),
            last_height: Some(last),
            txs: vec![],
            description: String::new(),
            variant: Some("sustained-2x".into()),
        };
        let labels = [label("slow", 10, 40), label("missed", 10, 40)];
        let t = sentinel_threshold();
        let unit = |actor: &str, window: i64, score: f64, labels: Vec<usize>| Unit {
            role: "consumer".into(),
            actor: actor.into(),
            window,
            score,
            kinds: vec!["access_burst".into()],
            variants: vec!["sustained-2x".into()],
            noise: vec![],
            labels,
        };
        // windows out of order: the instance's first window is 5, its first alert at 8
        let units = vec![
            unit("slow", 9, t + 0.1, vec![0]),
            unit("slow", 8, t, vec![0]),
            unit("slow", 5, t - 0.01, vec![0]),
            unit("missed", 5, t - 0.01, vec![1]),
            unit("missed", 6, 0.1, vec![1]),
        ];
        let i = incidents(&units, &labels);
        assert_eq!(i.len(), 2);
        assert_eq!((i[0].windows, i[0].first_alert), (3, Some(3)));
        assert_eq!((i[1].windows, i[1].first_alert), (2, None));
        assert_eq!(i[0].variant.as_deref(), Some("sustained-2x"));
    }

    #[test]
    fn a_variant_is_measured_on_its_own_instances_and_honest_noise_by_its_alerts() {
        use synth::Variant;
        let unit = |actor: &str, score: f64, variant: Option<&str>, noise: Option<&str>| Unit {
            role: "consumer".into(),
            actor: actor.into(),
            window: 1,
            score,
            kinds: variant
                .map(|_| vec!["access_burst".to_string()])
                .unwrap_or_default(),
            variants: variant.map(|v| vec![v.to_string()]).unwrap_or_default(),
            noise: noise.map(|n| vec![n.to_string()]).unwrap_or_default(),
            labels: vec![],
        };
        let t = sentinel_threshold();
        // a base-generator instance carries its kind but no variant
        let mut base = unit("base", 0.99, Some("-"), None);
        base.variants.clear();
        let units = vec![
            // the base burst ranks first; one sustained 2x is below an honest night shift
            base,
            unit("s1", t + 0.01, Some("sustained-2x"), None),
            unit("s2", 0.3, Some("sustained-2x"), None),
            unit("night", t + 0.02, None, Some("night-shift")),
            unit("night2", 0.1, None, Some("night-shift")),
            unit("other", 0.2, None, None),
        ];
        let v = evaluate_variants(&units, &[Variant::Sustained2x, Variant::NightShift], 1.0);
        // only the attack variant has a row, on its own two instances
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].kind.as_str(), v[0].positives), ("sustained-2x", 2));
        assert_eq!(v[0].sentinel.recall, 0.5);
        assert_eq!(v[0].sentinel.false_alerts, 1);
        let n = evaluate_noise(&units, &[Variant::Sustained2x, Variant::NightShift]);
        assert_eq!(
            n,
            vec![
                NoiseAlerts {
                    variant: "night-shift".into(),
                    windows: 2,
                    alerts: 1
                },
                NoiseAlerts {
                    variant: "all unlabelled".into(),
                    windows: 3,
                    alerts: 1
                },
            ]
        );
    }
}

/// Writes one CSV per role of an analysis's windows with what the evaluation knows of each:
/// the unit's score (the model's and the rules' higher), the model's score and views, every
/// feature's raw and usual value, and the labels, variants and honest noise on it. For studying
/// a detector on development seeds; `stem` names the files (`<stem>-<role>.csv`).
pub fn write_units(
    dir: &std::path::Path,
    stem: &str,
    a: &Analysis,
    units: &[Unit],
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir)?;
    let by_key: HashMap<(&str, &str, i64), &Unit> = units
        .iter()
        .map(|u| ((u.role.as_str(), u.actor.as_str(), u.window), u))
        .collect();
    for (t, scores) in &a.tables {
        let mut s = String::from("actor,window,first_height,last_height,score,model");
        for v in ["feature", "forest", "knn", "pca", "density"] {
            let _ = write!(s, ",view_{v}");
        }
        for f in &t.features {
            let _ = write!(s, ",{}", f.feature.name);
        }
        for f in &t.features {
            let _ = write!(s, ",usual_{}", f.feature.name);
        }
        s.push_str(",kinds,variants,noise\n");
        for (w, sc) in t.rows.iter().zip(scores) {
            let u = by_key.get(&(t.role, w.actor.as_str(), w.window));
            let _ = write!(
                s,
                "{},{},{},{},{},{}",
                w.actor,
                w.window,
                w.first_height,
                w.last_height,
                u.map_or(sc.score, |u| u.score),
                sc.score
            );
            for p in sc.parts {
                let _ = write!(s, ",{p}");
            }
            for v in w.raw.iter().chain(&w.usual) {
                let _ = write!(s, ",{v}");
            }
            let list = |f: fn(&Unit) -> &Vec<String>| u.map(|u| f(u).join(";")).unwrap_or_default();
            let _ = writeln!(
                s,
                ",{},{},{}",
                list(|u| &u.kinds),
                list(|u| &u.variants),
                list(|u| &u.noise)
            );
        }
        std::fs::write(dir.join(format!("{stem}-{}.csv", t.role)), s)?;
    }
    Ok(())
}

/// One seed's results.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub accesses: u64,
    pub units: usize,
    pub quality: Vec<Quality>,
    /// per attack variant of the generator
    pub variants: Vec<Quality>,
    /// per honest-noise variant
    pub noise: Vec<NoiseAlerts>,
    /// per labelled instance
    pub incidents: Vec<Incident>,
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
    dump: Option<(&std::path::Path, &str)>,
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
        let u = units(&a, &s.labels, &s.noise);
        if let Some((dir, split)) = dump {
            write_units(dir, &format!("{split}-seed{seed}"), &a, &u)?;
        }
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
        let variants = evaluate_variants(&u, &synth.variants, f64::from(synth.days));
        let noise = evaluate_noise(&u, &synth.variants);
        let incidents = incidents(&u, &s.labels);
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
            variants,
            noise,
            incidents,
            provenance_auc: auc(&low, &high),
            laundered_mean: mean(&low),
            clean_mean: mean(&high),
            analyze_seconds,
        });
    }
    Ok(out)
}
