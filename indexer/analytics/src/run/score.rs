//! A run's windows completed against their history and scored: each role's detector, the one
//! a recorded run names, a stored one still fit to score, or a new one fitted on what is
//! believed normal.

use std::collections::BTreeMap;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::PgPool;

use super::{AnalyzeConfig, Plan};
use crate::analysis::REPORT_THRESHOLD;
use crate::detect::{Detector, Feature, Scored};
use crate::features::{self, ActorWindow, FeatureDef, Lineage, RoleTable, Windowing};
use crate::load::Data;
use crate::manifest::{self, Digest};
use crate::{store, MODEL_VERSION};

/// One role's windows to score, and what a detector for it would be fitted on.
pub(super) struct RoleInput {
    table: RoleTable,
    /// the new windows and a sample of the history
    fit: Vec<Vec<f64>>,
    /// windows in the history, the new ones included
    history_rows: usize,
}

/// What [`role_tables`] gives: per role its windows to score; the digest of the history read
/// (an input of the run); the consumers' earlier (actor, window, score), the alert risk's
/// history.
pub(super) type RoleTables = (Vec<RoleInput>, Digest, Vec<(String, i64, f64)>);

/// The role tables of the plan's windows, completed against their history (read once, for the
/// baselines and the alert risk).
pub(super) async fn role_tables(
    pool: &PgPool,
    data: &Data,
    lineage: &Lineage,
    plan: &Plan,
    cfg: &AnalyzeConfig,
) -> anyhow::Result<RoleTables> {
    let window = plan.window;
    let tables = vec![
        features::consumers(data, window)?,
        features::providers(data, window, lineage)?,
        features::attestors(data, window, lineage)?,
    ];
    let mut out = Vec::new();
    let mut history = Vec::new();
    let mut consumer_scores = Vec::new();
    for mut table in tables {
        // earlier windows: the baseline of a re-run
        let (prior, scores): (Vec<ActorWindow>, Vec<f64>) = match plan.since_window {
            Some(w0) => {
                store::prior_windows(pool, table.role, window.start(w0), plan.as_of_run).await?
            }
            None => Vec::new(),
        }
        .into_iter()
        .unzip();
        // a detector is fitted on what is believed normal: windows already reported are left
        // out, so alerted bursts do not become the new normal (found by bench-loop: after a
        // refit, a third of the bursts went unreported)
        let reported: Vec<bool> = scores.iter().map(|s| *s >= REPORT_THRESHOLD).collect();
        if table.role == "consumer" {
            consumer_scores = prior
                .iter()
                .zip(scores)
                .map(|(w, s)| (w.actor.clone(), w.window, s))
                .collect();
        }
        history.extend(
            prior
                .iter()
                .map(|w| manifest::window_line(table.role, window, w, None)),
        );
        // the windows this run scores: those that closed since the previous run
        table.rows.retain(|r| plan.scores(r.window));
        features::finish(&mut table, &prior, window);
        let history_rows = table.rows.len() + prior.len();
        // a detector would fit on the new windows and a sample of the history
        let fit = fit_rows(&table, prior, &reported, cfg.fit_sample, window);
        out.push(RoleInput {
            table,
            fit,
            history_rows,
        });
    }
    Ok((out, manifest::digest_lines(history), consumer_scores))
}

fn feature_specs(defs: &[FeatureDef]) -> Vec<Feature> {
    defs.iter().map(|d| d.feature.clone()).collect()
}

/// What scored a run's windows: per role the detector's id, and the detectors this run fitted.
#[derive(Default)]
pub(super) struct Detectors {
    pub ids: BTreeMap<String, String>,
    pub fitted: Vec<store::StoredModel>,
}

/// Scores each role's windows with its detector: the one a recorded run names (`recorded`),
/// else the newest stored one while it still fits the settings and the history it was fitted
/// from has not doubled (and neither `full` nor `refit` is asked), else a new one.
pub(super) async fn score(
    pool: &PgPool,
    inputs: Vec<RoleInput>,
    cfg: &AnalyzeConfig,
    recorded: Option<&BTreeMap<String, String>>,
) -> anyhow::Result<(Vec<(RoleTable, Vec<Scored>)>, Detectors)> {
    let mut scored = Vec::new();
    let mut detectors = Detectors::default();
    for RoleInput {
        table,
        fit,
        history_rows,
    } in inputs
    {
        if table.rows.is_empty() {
            scored.push((table, Vec::new()));
            continue;
        }
        let role = table.role;
        let specs = feature_specs(&table.features);
        let stored = match recorded {
            Some(ids) => {
                let id = ids.get(role).ok_or_else(|| {
                    anyhow::anyhow!("the run's manifest names no detector for its {role} windows")
                })?;
                let m = store::model(pool, id).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the detector {id} the run scored its {role} windows with is not stored"
                    )
                })?;
                Some((Detector::from_bytes(&m.body)?, m.body))
            }
            None if cfg.full || cfg.refit => None,
            None => match store::latest_model(pool, role, MODEL_VERSION).await? {
                Some(m) if (m.history_rows as usize).saturating_mul(2) > history_rows => {
                    let d = Detector::from_bytes(&m.body)?;
                    (d.config() == &cfg.detect && d.features() == specs.as_slice())
                        .then_some((d, m.body))
                }
                _ => None,
            },
        };
        // a detector's id is the SHA-256 of the bytes it was loaded from, or stored as
        let (detector, id) = match stored {
            Some((d, body)) => (d, manifest::sha256_hex(&body)),
            None => {
                let d = Detector::fit(&fit, &specs, &cfg.detect)?;
                let body = d.to_bytes()?;
                let id = manifest::sha256_hex(&body);
                detectors.fitted.push(store::StoredModel {
                    model_id: id.clone(),
                    role: role.to_string(),
                    version: MODEL_VERSION.to_string(),
                    history_rows: history_rows as i64,
                    fitted_rows: fit.len() as i64,
                    body,
                });
                (d, id)
            }
        };
        detectors.ids.insert(role.to_string(), id);
        let xs: Vec<&[f64]> = table.rows.iter().map(|r| r.x.as_slice()).collect();
        let scores = detector.score_all(&xs);
        scored.push((table, scores));
    }
    Ok((scored, detectors))
}

/// The rows the detector is fitted on: the new windows and the history but for the windows
/// already reported (`reported`, in `prior`'s order), sampled to `cap`.
fn fit_rows(
    table: &RoleTable,
    prior: Vec<ActorWindow>,
    reported: &[bool],
    cap: usize,
    window: Windowing,
) -> Vec<Vec<f64>> {
    let mut all: Vec<Vec<f64>> = table.rows.iter().map(|r| r.x.clone()).collect();
    if !prior.is_empty() {
        // the history's detector view, computed as for new windows
        let mut past = RoleTable {
            role: table.role,
            features: table.features.clone(),
            rows: prior,
        };
        features::finish(&mut past, &[], window);
        all.extend(
            past.rows
                .into_iter()
                .zip(reported)
                .filter(|(_, reported)| !**reported)
                .map(|(r, _)| r.x),
        );
    }
    if all.len() > cap {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let keep = sample(&mut rng, all.len(), cap).into_vec();
        all = keep
            .into_iter()
            .map(|i| std::mem::take(&mut all[i]))
            .collect();
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detector_is_fitted_without_the_windows_already_reported() {
        let row = features::consumer_window;
        let mut table = RoleTable {
            role: "consumer",
            features: features::consumer_features(),
            rows: vec![row("a", 3, 2.0), row("b", 3, 1.0)],
        };
        let hourly = Windowing { seconds: 3600 };
        features::finish(&mut table, &[], hourly);
        // three earlier windows; the burst in the second was reported
        let prior = vec![row("a", 0, 1.0), row("a", 1, 480.0), row("a", 2, 1.0)];
        let fit = fit_rows(&table, prior, &[false, true, false], 100, hourly);
        assert_eq!(
            fit.len(),
            4,
            "two new windows and two of the three earlier ones"
        );
        let burst = 480f64.ln_1p();
        assert!(
            fit.iter().all(|x| x[0] < burst),
            "the reported burst is not among them: {fit:?}"
        );
    }
}
