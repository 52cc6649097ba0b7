//! What `verify-run` checks of the sentinel's reports: each report whose evidence names a run,
//! beside the report that run's stored anomaly makes.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::PgPool;

use super::Candidate;

/// A sentinel report whose evidence names run `run_id`, and the report that run's stored
/// anomaly makes today (None: the run holds no such anomaly).
pub struct EvidenceCheck {
    pub evidence_hash: String,
    pub report_text: String,
    pub rebuilt: Option<String>,
}

/// The sentinel's reports whose evidence points into run `run_id`, each beside the canonical
/// report rebuilt from the run's anomaly (what `verify-run` compares).
pub async fn evidence_of_run(pool: &PgPool, run_id: i64) -> anyhow::Result<Vec<EvidenceCheck>> {
    let reports: Vec<(String, String, String, String, i64, String)> = sqlx::query_as(
        "select evidence_hash, report_text, role, actor, extract(epoch from window_start)::bigint, kind \
         from sentinel_reports where (report_text::jsonb -> 'run' ->> 'id')::bigint = $1",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading the sentinel's reports")?;
    if reports.is_empty() {
        return Ok(Vec::new());
    }
    // the run's anomalies, the first of each (role, actor, window, kind)
    let anomalies: Vec<Candidate> = sqlx::query_as(concat!(
        "select ",
        candidate_columns!(),
        " from anomalies a join analytics_runs ar on ar.run_id = a.run_id \
         where a.run_id = $1 order by a.anomaly_id"
    ))
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading the run's anomalies")?;
    let mut by_key: HashMap<(String, String, i64, String), Candidate> = HashMap::new();
    for c in anomalies {
        let key = (
            c.role.clone(),
            c.actor.clone(),
            c.window_start,
            c.kind.clone(),
        );
        by_key.entry(key).or_insert(c);
    }
    Ok(reports
        .into_iter()
        .map(
            |(evidence_hash, report_text, role, actor, start, kind)| EvidenceCheck {
                evidence_hash,
                report_text,
                rebuilt: by_key
                    .get(&(role, actor, start, kind))
                    .map(Candidate::canonical),
            },
        )
        .collect())
}
