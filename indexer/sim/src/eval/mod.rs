//! The labelled evaluation: how well the anomaly scores find the injected misbehaviour.
//!
//! The unit is an actor in a window. A unit is positive for a label when the label's actor is
//! the unit's actor and their heights overlap; units no label touches are the negatives. A
//! unit's score is the higher of its model score and its findings by rule. Per kind
//! (that kind's positives against every negative) and overall: average precision (PR-AUC),
//! recall at a 5% false-positive rate, precision / recall / F1 at the report threshold, and
//! where the chain acts — at the sentinel's default severity — precision, recall and false
//! alerts per 1,000 actors per day.

use serde::Serialize;

use datapact_analytics::analysis::SEVERITY_FLOORS;
use datapact_analytics::metrics::{auc, average_precision, recall_at_fpr};
use datapact_analytics::{AnalyzeConfig, REPORT_THRESHOLD};

use crate::labels::{role_of, KINDS};
use crate::synth::{self, SynthConfig};

mod operating;
mod report;
#[cfg(test)]
mod tests;
mod units;

use operating::operating_point;
pub use operating::{choose_severity, sentinel_threshold, OperatingPoint};
pub use report::{aims, debug_top, default_choice, summary};
pub use units::{incidents, kinds_for, units, write_units, Incident, Unit};

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
    /// of those, at or above each severity's floor (highest first, as [`SEVERITY_FLOORS`])
    pub by_severity: Vec<usize>,
}

/// How many windows after an attacker's last labelled window of an instance count as that
/// attack's aftermath: a day of hourly windows, the longest span a consumer feature read back
/// when it was set (model 11's day surprise averaged over stretches of up to 24 windows; the
/// trickle evidence is 0 twelve windows after a refusal). Within it what a feature still
/// carries of the attack can lift the attacker's unlabelled windows; an alert there falls on
/// the attacker, late, and on no honest customer.
pub const AFTERMATH_WINDOWS: i64 = 24;

/// Per honest-noise variant (and `all unlabelled` for comparison): the windows it touched and
/// the alerts on them at the sentinel's threshold (and at each severity's floor). The
/// unlabelled windows are then split by whose they are: an actor with a labelled instance (its
/// windows outside it: the hours after an attack are unlabelled, and an alert there falls on
/// the attacker) or an actor never labelled (an honest customer, whom a false alert costs);
/// and of the labelled actors' windows, those in an attack's aftermath
/// ([`AFTERMATH_WINDOWS`] after one of the actor's labelled windows).
pub fn evaluate_noise(units: &[Unit], variants: &[synth::Variant]) -> Vec<NoiseAlerts> {
    let mut attacked: std::collections::BTreeMap<(&str, &str), Vec<i64>> =
        std::collections::BTreeMap::new();
    for u in units.iter().filter(|u| !u.kinds.is_empty()) {
        attacked
            .entry((u.role.as_str(), u.actor.as_str()))
            .or_default()
            .push(u.window);
    }
    let attacker = |u: &Unit| attacked.contains_key(&(u.role.as_str(), u.actor.as_str()));
    let aftermath = |u: &Unit| {
        attacked
            .get(&(u.role.as_str(), u.actor.as_str()))
            .is_some_and(|ws| {
                ws.iter()
                    .any(|w| (1..=AFTERMATH_WINDOWS).contains(&(u.window - w)))
            })
    };
    let t = sentinel_threshold();
    let count = |name: &str, f: &dyn Fn(&Unit) -> bool| {
        let touched: Vec<&Unit> = units
            .iter()
            .filter(|u| u.kinds.is_empty() && f(u))
            .collect();
        let at = |floor: f64| touched.iter().filter(|u| u.score >= floor).count();
        NoiseAlerts {
            variant: name.to_string(),
            windows: touched.len(),
            alerts: at(t),
            by_severity: SEVERITY_FLOORS.iter().map(|(_, f)| at(*f)).collect(),
        }
    };
    let mut out: Vec<NoiseAlerts> = variants
        .iter()
        .filter(|v| v.kind().is_none())
        .map(|v| count(v.name(), &|u| u.noise.iter().any(|n| n == v.name())))
        .collect();
    out.push(count("all unlabelled", &|_| true));
    out.push(count(NEVER_LABELLED, &|u| !attacker(u)));
    out.push(count(LABELLED_ACTORS, &attacker));
    out.push(count(AFTERMATH, &aftermath));
    out
}

/// The rows of [`evaluate_noise`] that split the unlabelled windows by whose they are.
pub const NEVER_LABELLED: &str = "of actors never labelled";
pub const LABELLED_ACTORS: &str = "of labelled actors";
/// Of the labelled actors' windows, those in an attack's aftermath.
pub const AFTERMATH: &str = "  an attack's next day";

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
                let (a, v) = datapact_analytics::target::version_of(t)?;
                Some((i64::try_from(a).ok()?, i64::from(v)))
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
