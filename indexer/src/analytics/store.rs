//! Writing an analysis back to Postgres: the run, its windows, anomalies and provenance scores,
//! and the state the next incremental run starts from — all in one transaction, so a run is
//! there entirely or not at all.

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

use super::features::{ActorWindow, Windowing};
use super::provenance::ProvenanceScore;
use crate::ingest::decode::{pg_array, Row};
use crate::ingest::write::csv;

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
}

/// (window seconds, last analyzed height) of the previous run, if any.
pub async fn state(pool: &PgPool) -> anyhow::Result<Option<(i64, i64)>> {
    sqlx::query_as("select window_seconds, last_height from analytics_state where id = 1")
        .fetch_optional(pool)
        .await
        .context("reading the analytics state")
}

/// Windows of `role` that start before `before` (unix s), for baselines.
pub async fn prior_windows(
    pool: &PgPool,
    role: &str,
    before: i64,
) -> anyhow::Result<Vec<ActorWindow>> {
    let rows: Vec<(String, i64, i64, i64, Vec<f64>)> = sqlx::query_as(
        "select actor, extract(epoch from window_start)::bigint / window_seconds, first_height, last_height, raw \
         from actor_windows where role = $1 and window_start < to_timestamp($2)",
    )
    .bind(role)
    .bind(before as f64)
    .fetch_all(pool)
    .await
    .context("reading earlier windows")?;
    Ok(rows
        .into_iter()
        .map(
            |(actor, window, first_height, last_height, raw)| ActorWindow {
                actor,
                window,
                first_height,
                last_height,
                raw,
                x: Vec::new(),
                usual: Vec::new(),
            },
        )
        .collect())
}

fn ts(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

async fn copy(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    table: &str,
    columns: &[&str],
    rows: &[Row],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = format!(
        "copy {table} ({}) from stdin with (format csv)",
        columns.join(", ")
    );
    let mut c = tx
        .copy_in_raw(&stmt)
        .await
        .with_context(|| format!("COPY into {table}"))?;
    c.send(csv(rows).into_bytes()).await?;
    c.finish().await?;
    Ok(())
}

/// What one run writes.
pub struct RunOutput<'a> {
    pub window: Windowing,
    pub from_height: i64,
    pub to_height: i64,
    pub params: serde_json::Value,
    pub stats: serde_json::Value,
    pub report_dir: String,
    /// (role, windows, scores)
    pub windows: Vec<(&'a str, &'a [ActorWindow], Vec<f64>)>,
    pub anomalies: &'a [Anomaly],
    pub provenance: &'a [ProvenanceScore],
    pub model_version: &'a str,
}

/// Stores a run; returns its id.
pub async fn save(pool: &PgPool, out: &RunOutput<'_>) -> anyhow::Result<i64> {
    let mut tx = pool.begin().await?;
    let run_id: i64 = sqlx::query_scalar(
        "insert into analytics_runs (model_version, window_seconds, from_height, to_height, params, stats, report_dir, finished_at) \
         values ($1, $2, $3, $4, $5, $6, $7, now()) returning run_id",
    )
    .bind(out.model_version)
    .bind(out.window.seconds)
    .bind(out.from_height)
    .bind(out.to_height)
    .bind(&out.params)
    .bind(&out.stats)
    .bind(&out.report_dir)
    .fetch_one(&mut *tx)
    .await
    .context("recording the run")?;
    let first_window = out
        .windows
        .iter()
        .flat_map(|(_, ws, _)| ws.iter().map(|w| w.window))
        .min();
    // the windows this run recomputed replace what earlier runs wrote for them
    if let Some(first) = first_window {
        let since = out.window.start(first) as f64;
        sqlx::query("delete from actor_windows where window_start >= to_timestamp($1)")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from anomalies where window_start >= to_timestamp($1)")
            .bind(since)
            .execute(&mut *tx)
            .await?;
    }
    let secs = out.window.seconds;
    let total: usize = out.windows.iter().map(|(_, ws, _)| ws.len()).sum();
    // a big load goes in faster with the indexes built after it than kept up row by row
    // (schema changes are transactional: a failed run leaves them as they were)
    let bulk = total > 100_000;
    if bulk {
        sqlx::query("alter table actor_windows drop constraint actor_windows_pkey")
            .execute(&mut *tx)
            .await?;
        sqlx::query("drop index actor_windows_time")
            .execute(&mut *tx)
            .await?;
    }
    if total > 0 {
        // CSV written straight into chunks of ~8 MB, each sent while the next is written
        let mut copy_in = tx
            .copy_in_raw(
                "copy actor_windows (role, actor, window_start, window_seconds, first_height, \
                 last_height, raw, score, run_id) from stdin with (format csv)",
            )
            .await
            .context("COPY into actor_windows")?;
        let mut starts: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
        let mut buf = String::with_capacity(9 << 20);
        for (role, ws, scores) in &out.windows {
            for (w, score) in ws.iter().zip(scores) {
                use std::fmt::Write;
                let start = starts
                    .entry(w.window)
                    .or_insert_with(|| ts(out.window.start(w.window)));
                let _ = write!(
                    buf,
                    "{role},{},{start},{secs},{},{},\"{{",
                    w.actor, w.first_height, w.last_height
                );
                for (j, v) in w.raw.iter().enumerate() {
                    if j > 0 {
                        buf.push(',');
                    }
                    let _ = write!(buf, "{v}");
                }
                let _ = writeln!(buf, "}}\",{score:.6},{run_id}");
                if buf.len() > 8 << 20 {
                    copy_in.send(std::mem::take(&mut buf).into_bytes()).await?;
                    buf.reserve(9 << 20);
                }
            }
        }
        if !buf.is_empty() {
            copy_in.send(buf.into_bytes()).await?;
        }
        copy_in
            .finish()
            .await
            .context("finishing COPY into actor_windows")?;
    }
    tracing::debug!("actor windows copied");
    if bulk {
        sqlx::query("alter table actor_windows add primary key (actor, role, window_start)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("create index actor_windows_time on actor_windows (window_start)")
            .execute(&mut *tx)
            .await?;
    }
    let rows: Vec<Row> = out
        .anomalies
        .iter()
        .map(|a| {
            vec![
                Some(run_id.to_string()),
                Some(a.role.clone()),
                Some(a.actor.clone()),
                Some(ts(a.window_start)),
                Some(ts(a.window_end)),
                Some(a.method.clone()),
                Some(a.kind.clone()),
                Some(format!("{:.6}", a.score)),
                Some(a.severity.clone()),
                Some(a.explanation.clone()),
                Some(a.features.to_string()),
                Some(a.first_height.to_string()),
                Some(a.last_height.to_string()),
                Some(pg_array(&a.txs)),
                Some(pg_array(&a.targets)),
                Some(out.model_version.to_string()),
            ]
        })
        .collect();
    copy(
        &mut tx,
        "anomalies",
        &[
            "run_id",
            "role",
            "actor",
            "window_start",
            "window_end",
            "method",
            "kind",
            "score",
            "severity",
            "explanation",
            "features",
            "first_height",
            "last_height",
            "txs",
            "targets",
            "model_version",
        ],
        &rows,
    )
    .await?;
    let rows: Vec<Row> = out
        .provenance
        .iter()
        .map(|p| {
            let f = |v: f64| Some(format!("{v:.6}"));
            vec![
                Some(run_id.to_string()),
                Some(p.asset_id.to_string()),
                Some(p.version.to_string()),
                f(p.score),
                f(p.own),
                f(p.lineage),
                f(p.attestation),
                f(p.diversity),
                f(p.integrity),
                f(p.consent),
                f(p.alerts),
                f(p.inherited),
                Some(p.attestors.to_string()),
                Some(p.unattested_ancestors.to_string()),
            ]
        })
        .collect();
    copy(
        &mut tx,
        "provenance_scores",
        &[
            "run_id",
            "asset_id",
            "version",
            "score",
            "own",
            "lineage",
            "attestation",
            "diversity",
            "integrity",
            "consent",
            "alerts",
            "inherited",
            "attestors",
            "unattested_ancestors",
        ],
        &rows,
    )
    .await?;
    sqlx::query(
        "insert into analytics_state (id, window_seconds, last_height, last_run) values (1, $1, $2, $3) \
         on conflict (id) do update set window_seconds = excluded.window_seconds, \
         last_height = excluded.last_height, last_run = excluded.last_run",
    )
    .bind(out.window.seconds)
    .bind(out.to_height)
    .bind(run_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("committing the analysis")?;
    Ok(run_id)
}

/// Forgets every earlier analysis (for `analyze --full`).
pub async fn reset(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "truncate analytics_state, anomalies, actor_windows, provenance_scores, analytics_runs",
    )
    .execute(pool)
    .await
    .context("clearing earlier analyses")?;
    Ok(())
}
