//! The records that make a run auditable (docs/runs.md): its manifest, its outputs read back
//! and digested as the run digested them, its anchor on chain, and every verification of it.
//! The SQL of `analytics_runs`' manifest columns, `run_anchors` and `run_verifications`.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

use crate::analysis::Anomaly;
use crate::features::{ActorWindow, Windowing};
use crate::forecast::{Outlook, PointRow};
use crate::manifest::{self, Difference, Digest};
use crate::provenance::ProvenanceScore;

/// A run as recorded.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunRecord {
    pub run_id: i64,
    pub manifest: Option<String>,
    pub manifest_sha256: Option<String>,
    pub report_dir: Option<String>,
}

pub async fn record(pool: &PgPool, run_id: i64) -> anyhow::Result<Option<RunRecord>> {
    sqlx::query_as(
        "select run_id, manifest, manifest_sha256, report_dir from analytics_runs where run_id = $1",
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await
    .context("reading the run")
}

/// The digests of run `run_id`'s rows as stored now, computed as the run computed them from
/// memory ([`manifest::outputs`]).
pub async fn stored_outputs(
    pool: &PgPool,
    run_id: i64,
) -> anyhow::Result<BTreeMap<String, Digest>> {
    type WindowCols = (String, String, i64, i64, i64, i64, Vec<f64>, f64);
    let windows: Vec<WindowCols> = sqlx::query_as(
        "select role, actor, extract(epoch from window_start)::bigint, window_seconds, first_height, \
         last_height, raw, score from actor_windows where run_id = $1",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading the run's windows")?;
    let windows: Vec<String> = windows
        .into_iter()
        .map(
            |(role, actor, start, seconds, first_height, last_height, raw, score)| {
                let window = Windowing { seconds };
                let w = ActorWindow {
                    actor,
                    window: window.index(start),
                    first_height,
                    last_height,
                    raw,
                    x: Vec::new(),
                    usual: Vec::new(),
                };
                manifest::window_line(&role, window, &w, Some(score))
            },
        )
        .collect();
    type AnomalyCols = (
        String,
        String,
        i64,
        i64,
        String,
        String,
        f64,
        String,
        String,
        serde_json::Value,
        i64,
        i64,
        Vec<String>,
        Vec<String>,
        String,
    );
    let anomalies: Vec<AnomalyCols> = sqlx::query_as(
        "select role, actor, extract(epoch from window_start)::bigint, extract(epoch from window_end)::bigint, \
         method, kind, score, severity, explanation, features, first_height, last_height, txs, targets, \
         model_version from anomalies where run_id = $1",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading the run's anomalies")?;
    let anomalies: Vec<String> = anomalies
        .into_iter()
        .map(|r| {
            manifest::anomaly_line(&Anomaly {
                role: r.0,
                actor: r.1,
                window_start: r.2,
                window_end: r.3,
                method: r.4,
                kind: r.5,
                score: r.6,
                severity: r.7,
                explanation: r.8,
                features: r.9,
                first_height: r.10,
                last_height: r.11,
                txs: r.12,
                targets: r.13,
                model_version: r.14,
            })
        })
        .collect();
    type ScoreCols = (
        i64,
        i32,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        i32,
        i32,
    );
    let scores: Vec<ScoreCols> = sqlx::query_as(
        "select asset_id, version, score, own, lineage, attestation, diversity, integrity, consent, \
         alerts, inherited, attestors, unattested_ancestors from provenance_scores where run_id = $1",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading the run's provenance scores")?;
    let scores: Vec<String> = scores
        .into_iter()
        .map(|r| {
            manifest::provenance_line(&ProvenanceScore {
                asset_id: r.0,
                version: i64::from(r.1),
                score: r.2,
                own: r.3,
                lineage: r.4,
                attestation: r.5,
                diversity: r.6,
                integrity: r.7,
                consent: r.8,
                alerts: r.9,
                inherited: r.10,
                attestors: usize::try_from(r.11).unwrap_or(0),
                unattested_ancestors: usize::try_from(r.12).unwrap_or(0),
            })
        })
        .collect();
    let mut out = BTreeMap::from([
        ("actor_windows".to_string(), manifest::digest_lines(windows)),
        ("anomalies".to_string(), manifest::digest_lines(anomalies)),
        (
            "provenance_scores".to_string(),
            manifest::digest_lines(scores),
        ),
    ]);
    // runs recorded before forecasts have none, and no forecast settings
    let forecast: Option<bool> = sqlx::query_scalar(
        "select (params -> 'settings') ? 'forecast' from analytics_runs where run_id = $1",
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await
    .context("reading the run's settings")?;
    if forecast == Some(true) {
        let points: Vec<PointRow> = sqlx::query_as(
            "select target, key, step, extract(epoch from step_start)::bigint as step_start, step_seconds, \
             point, lower, upper, level, method, history from forecasts where run_id = $1",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await
        .context("reading the run's forecasts")?;
        let outlooks: Vec<Outlook> = sqlx::query_as(
            "select kind, key, party, value, lower, upper, extract(epoch from at)::bigint as at, \
             extract(epoch from at_early)::bigint as at_early, extract(epoch from at_late)::bigint as at_late, \
             before_expiry, drivers from forecast_outlooks where run_id = $1",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await
        .context("reading the run's outlooks")?;
        out.insert(
            "forecasts".into(),
            manifest::digest_lines(points.iter().map(manifest::json_line).collect()),
        );
        out.insert(
            "forecast_outlooks".into(),
            manifest::digest_lines(outlooks.iter().map(manifest::json_line).collect()),
        );
    }
    Ok(out)
}

/// Where a run's manifest hash is on chain.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Anchor {
    pub run_id: i64,
    pub manifest_sha256: String,
    pub chain_id: String,
    pub registry: String,
    pub asset_id: i64,
    pub version: i64,
    pub tx_hash: String,
    pub height: i64,
}

pub async fn anchor_of(pool: &PgPool, run_id: i64) -> anyhow::Result<Option<Anchor>> {
    sqlx::query_as(
        "select run_id, manifest_sha256, chain_id, registry, asset_id, version, tx_hash, height \
         from run_anchors where run_id = $1",
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await
    .context("reading the run's anchor")
}

/// The newest anchor on `registry` (its asset is the runs' asset; its version the next one's
/// parent).
pub async fn last_anchor(pool: &PgPool, registry: &str) -> anyhow::Result<Option<Anchor>> {
    sqlx::query_as(
        "select run_id, manifest_sha256, chain_id, registry, asset_id, version, tx_hash, height \
         from run_anchors where registry = $1 order by version desc limit 1",
    )
    .bind(registry)
    .fetch_optional(pool)
    .await
    .context("reading the last anchor")
}

/// Runs with a manifest and no anchor yet, oldest first.
pub async fn unanchored(pool: &PgPool) -> anyhow::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select r.run_id from analytics_runs r left join run_anchors a using (run_id) \
         where r.manifest_sha256 is not null and a.run_id is null order by r.run_id",
    )
    .fetch_all(pool)
    .await
    .context("reading the runs to anchor")
}

pub async fn save_anchor(pool: &PgPool, a: &Anchor) -> anyhow::Result<()> {
    sqlx::query(
        "insert into run_anchors (run_id, manifest_sha256, chain_id, registry, asset_id, version, tx_hash, height) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.run_id)
    .bind(&a.manifest_sha256)
    .bind(&a.chain_id)
    .bind(&a.registry)
    .bind(a.asset_id)
    .bind(a.version)
    .bind(&a.tx_hash)
    .bind(a.height)
    .execute(pool)
    .await
    .context("recording the anchor")?;
    Ok(())
}

/// Records what a verification found.
pub async fn save_verification(
    pool: &PgPool,
    run_id: i64,
    differences: &[Difference],
) -> anyhow::Result<()> {
    sqlx::query("insert into run_verifications (run_id, ok, differences) values ($1, $2, $3)")
        .bind(run_id)
        .bind(differences.is_empty())
        .bind(serde_json::to_value(differences)?)
        .execute(pool)
        .await
        .context("recording the verification")?;
    Ok(())
}

/// One run as the dashboard lists it: its heights, anchor and last verification.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct RunLine {
    pub run_id: i64,
    pub finished_at: Option<i64>,
    pub model_version: String,
    pub from_height: i64,
    pub to_height: i64,
    pub manifest_sha256: Option<String>,
    pub anchor_asset: Option<i64>,
    pub anchor_version: Option<i64>,
    pub anchor_tx: Option<String>,
    pub anchor_height: Option<i64>,
    pub verified_at: Option<i64>,
    pub verified_ok: Option<bool>,
    pub differences: Option<serde_json::Value>,
}

/// The newest runs first, `limit` of them from `before` (a run id) down.
pub async fn lines(pool: &PgPool, before: Option<i64>, limit: i64) -> anyhow::Result<Vec<RunLine>> {
    sqlx::query_as(
        "select r.run_id, extract(epoch from r.finished_at)::bigint as finished_at, r.model_version, \
                r.from_height, r.to_height, r.manifest_sha256, a.asset_id as anchor_asset, \
                a.version as anchor_version, a.tx_hash as anchor_tx, a.height as anchor_height, \
                extract(epoch from v.checked_at)::bigint as verified_at, v.ok as verified_ok, v.differences \
         from analytics_runs r left join run_anchors a using (run_id) \
         left join lateral (select checked_at, ok, differences from run_verifications x \
                            where x.run_id = r.run_id order by checked_at desc limit 1) v on true \
         where $1::bigint is null or r.run_id < $1 order by r.run_id desc limit $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading the runs")
}

/// What [`check`] found about a run, without the chain.
pub struct Checked {
    pub manifest: manifest::Manifest,
    /// the stored manifest's SHA-256 (what the anchor must hold)
    pub manifest_sha256: String,
    pub differences: Vec<Difference>,
}

/// Checks run `run_id` against its manifest, everything but the chain: the manifest against its
/// recorded hash, the inputs read again from the index, the run recomputed from them with the
/// recorded settings (and the history as it was), the stored outputs, the report files.
pub async fn check(pool: &PgPool, run_id: i64) -> anyhow::Result<Checked> {
    let r = record(pool, run_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no run {run_id} in this index"))?;
    let text = r.manifest.ok_or_else(|| {
        anyhow::anyhow!("run {run_id} has no manifest (it ran before runs had one): nothing to verify it against")
    })?;
    let mut differences = Vec::new();
    let sha = manifest::sha256_hex(text.as_bytes());
    let recorded = r.manifest_sha256.unwrap_or_default();
    if sha != recorded {
        differences.push(Difference {
            part: "manifest".into(),
            name: "analytics_runs.manifest".into(),
            expected: format!("sha256 {recorded}"),
            found: format!("sha256 {sha}"),
        });
    }
    let m = manifest::Manifest::parse(&text)?;
    if m.run_id != run_id {
        anyhow::bail!("run {run_id}'s manifest names run {}", m.run_id);
    }
    let cfg = crate::AnalyzeConfig::of(&m)?;
    let again = crate::run::recompute(pool, &m, &cfg).await?;
    differences.extend(manifest::compare("input", &m.inputs, &again.inputs));
    differences.extend(manifest::compare(
        "recomputed",
        &m.outputs,
        &manifest::outputs(&again),
    ));
    differences.extend(manifest::compare(
        "output",
        &m.outputs,
        &stored_outputs(pool, run_id).await?,
    ));
    let files = match &r.report_dir {
        Some(dir) if !dir.is_empty() => {
            manifest::digest_files(std::path::Path::new(dir)).unwrap_or_default()
        }
        _ => BTreeMap::new(),
    };
    differences.extend(manifest::compare("file", &m.files, &files));
    Ok(Checked {
        manifest: m,
        manifest_sha256: sha,
        differences,
    })
}
