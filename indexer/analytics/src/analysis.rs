//! What a run found: the scored windows, the findings by rule, the provenance scores, and the
//! anomalies an analyst reads (with a severity and an explanation in words).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use crate::detect::Scored;
use crate::features::{ActorWindow, FeatureDef, RoleTable, Windowing};
use crate::provenance::ProvenanceScore;
use crate::rules::Finding;

/// Windows scored at or above this are reported as anomalies.
pub const REPORT_THRESHOLD: f64 = 0.5;

/// What a run found; also what the evaluation reads.
pub struct Analysis {
    pub run_id: Option<i64>,
    pub window: Windowing,
    pub from_height: i64,
    pub to_height: i64,
    /// the first window this run (re)computed (None: all)
    pub since_window: Option<i64>,
    /// the first window it did not: still open (None: no cut)
    pub until_window: Option<i64>,
    /// per role, the id of the detector that scored its windows
    pub detectors: BTreeMap<String, String>,
    /// the detectors this run fitted (stored with it)
    pub new_models: Vec<crate::store::StoredModel>,
    /// the digests of what the run read (see [`crate::manifest`])
    pub inputs: std::collections::BTreeMap<String, crate::manifest::Digest>,
    /// the role tables this run (re)computed, with their scores
    pub tables: Vec<(RoleTable, Vec<Scored>)>,
    pub findings: Vec<Finding>,
    pub provenance: Vec<ProvenanceScore>,
    pub anomalies: Vec<Anomaly>,
    /// what the run forecast (None: a run recorded without forecasts)
    pub forecasts: Option<crate::forecast::Forecasts>,
    pub timings: Vec<(String, f64)>,
    pub report_dir: Option<PathBuf>,
    /// true when nothing new was indexed since the last run
    pub up_to_date: bool,
}

/// An anomaly as analysts read it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Anomaly {
    pub role: String,
    pub actor: String,
    /// unix seconds
    pub window_start: i64,
    pub window_end: i64,
    /// `model` or `rule`
    pub method: String,
    /// for rules, the rule; for models, the role's model (`consumer_behaviour`, ...)
    pub kind: String,
    pub score: f64,
    pub severity: String,
    pub explanation: String,
    pub features: serde_json::Value,
    pub first_height: i64,
    pub last_height: i64,
    pub txs: Vec<String>,
    pub targets: Vec<String>,
    /// what scored it: the model version, and for a model's anomaly its fitted detector
    /// ([`crate::MODEL_VERSION`]`.<12 hex of its id>`)
    pub model_version: String,
}

/// Explains a model score: the features that moved most, in words.
pub fn explain(defs: &[FeatureDef], w: &ActorWindow, s: &Scored) -> String {
    let mut parts = Vec::new();
    for (j, z) in s.reasons.iter().take(3) {
        if *z < 1.0 {
            continue;
        }
        let Some(def) = defs.get(*j) else { continue };
        let v = w.raw.get(*j).copied().unwrap_or(0.0);
        let u = w.usual.get(*j).copied().unwrap_or(0.0);
        let fmt = |x: f64| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        };
        parts.push(def.text.replace("{v}", &fmt(v)).replace("{u}", &fmt(u)));
    }
    if parts.is_empty() {
        "unlike the other windows in combination (no single feature stands out)".into()
    } else {
        parts.join("; ")
    }
}

/// Each severity's lowest score, highest first; below them all a score is "info".
pub const SEVERITY_FLOORS: [(&str, f64); 4] = [
    ("critical", 0.97),
    ("high", 0.9),
    ("medium", 0.75),
    ("low", REPORT_THRESHOLD),
];

/// The least severity the sentinel reports unless told otherwise (`--min-severity`): chosen by
/// `make eval` on its development seeds as the lowest severity whose precision there is at least
/// 0.9 (docs/anomalies.md; the held-out seeds report what it does).
pub const SENTINEL_DEFAULT_SEVERITY: &str = "medium";

/// The severity a score is reported with.
pub fn severity(score: f64) -> &'static str {
    SEVERITY_FLOORS
        .iter()
        .find(|(_, floor)| score >= *floor)
        .map_or("info", |(name, _)| *name)
}

/// The lowest score of a severity (None: "info" or not a severity).
pub fn severity_floor(name: &str) -> Option<f64> {
    SEVERITY_FLOORS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, floor)| *floor)
}

/// The anomalies of a run: every window scored at or above [`REPORT_THRESHOLD`], and every
/// finding by rule (with the hashes of the transactions behind it), highest score first.
/// How an anomaly names the detector that scored it: the model version and the first 12 hex
/// digits of the detector's id (a slug, as the audit contract takes it).
pub fn model_tag(detector_id: &str) -> String {
    format!(
        "{}.{}",
        crate::MODEL_VERSION,
        detector_id.get(..12).unwrap_or(detector_id)
    )
}

pub fn anomalies(
    window: Windowing,
    tables: &[(RoleTable, Vec<Scored>)],
    findings: &[Finding],
    tx_hashes: &HashMap<(i64, i64), String>,
    detectors: &BTreeMap<String, String>,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (table, scores) in tables {
        for (w, s) in table.rows.iter().zip(scores) {
            if s.score < REPORT_THRESHOLD {
                continue;
            }
            let features: serde_json::Map<String, serde_json::Value> = table
                .features
                .iter()
                .enumerate()
                .map(|(j, d)| {
                    (
                        d.feature.name.clone(),
                        json!({"value": w.raw.get(j), "usual": w.usual.get(j)}),
                    )
                })
                .collect();
            out.push(Anomaly {
                role: table.role.to_string(),
                actor: w.actor.clone(),
                window_start: window.start(w.window),
                window_end: window.start(w.window + 1),
                method: "model".into(),
                kind: format!("{}_behaviour", table.role),
                score: s.score,
                severity: severity(s.score).into(),
                explanation: explain(&table.features, w, s),
                features: json!({"features": features, "views": {"features": s.parts[0], "isolation_forest": s.parts[1], "knn": s.parts[2], "pca": s.parts[3], "density": s.parts[4]}}),
                first_height: w.first_height,
                last_height: w.last_height,
                txs: Vec::new(),
                targets: Vec::new(),
                model_version: detectors
                    .get(table.role)
                    .map_or_else(|| crate::MODEL_VERSION.to_string(), |id| model_tag(id)),
            });
        }
    }
    for f in findings {
        out.push(Anomaly {
            role: f.role.into(),
            actor: f.actor.clone(),
            window_start: window.start(f.window),
            window_end: window.start(f.window + 1),
            method: "rule".into(),
            kind: f.rule.into(),
            score: f.score(),
            severity: f.severity().into(),
            explanation: f.explanation(),
            features: json!({ f.count_name(): f.count }),
            first_height: f.first_height,
            last_height: f.last_height,
            txs: f
                .txs
                .iter()
                .filter_map(|k| tx_hashes.get(k).cloned())
                .collect(),
            targets: f.targets.clone(),
            model_version: crate::MODEL_VERSION.to_string(),
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anomalys_model_tag_is_a_slug_the_audit_contract_takes() {
        // found on the chain: the sentinel's alert was refused for a '+' in the tag
        let tag = model_tag(&"c08ef5c737a9".repeat(5));
        assert_eq!(tag, format!("{}.c08ef5c737a9", crate::MODEL_VERSION));
        datapact_types::validate::slug("model_version", &tag).unwrap();
        datapact_types::validate::slug("model_version", crate::MODEL_VERSION).unwrap();
    }
}
