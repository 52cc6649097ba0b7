//! Writing an analysis back to Postgres: the run, its windows, anomalies and provenance scores,
//! and the state the next incremental run starts from — all in one transaction, so a run is
//! there entirely or not at all.

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};

use datapact_index::copy::{copy_in, CsvLine, FloatArray, JsonText, PgArray, UnixTime};
use datapact_index::Table;

use crate::analysis::Anomaly;
use crate::features::{ActorWindow, Windowing};
use crate::forecast::Forecasts;
use crate::provenance::ProvenanceScore;

datapact_index::table! {
    /// A reported anomaly of one run.
    "anomalies" => AnomalyRow {
        run_id: i64,
        role: String,
        actor: String,
        window_start: UnixTime,
        window_end: UnixTime,
        method: String,
        kind: String,
        score: f64,
        severity: String,
        explanation: String,
        features: JsonText,
        first_height: i64,
        last_height: i64,
        txs: PgArray,
        targets: PgArray,
        model_version: String,
    }
}

datapact_index::table! {
    /// One version's provenance score in one run, with its components.
    "provenance_scores" => ProvenanceRow {
        run_id: i64,
        asset_id: i64,
        version: i32,
        score: f64,
        own: f64,
        lineage: f64,
        attestation: f64,
        diversity: f64,
        integrity: f64,
        consent: f64,
        alerts: f64,
        inherited: f64,
        attestors: i32,
        unattested_ancestors: i32,
    }
}

datapact_index::table! {
    /// One step of one series' forecast in one run.
    "forecasts" => ForecastRow {
        run_id: i64,
        target: String,
        key: String,
        step: i32,
        step_start: UnixTime,
        step_seconds: i64,
        point: f64,
        lower: f64,
        upper: f64,
        level: f64,
        method: String,
        history: i32,
    }
}

datapact_index::table! {
    /// One outlook (a cap date, a consumer's risk) in one run.
    "forecast_outlooks" => OutlookDbRow {
        run_id: i64,
        kind: String,
        key: String,
        party: String,
        value: f64,
        lower: f64,
        upper: f64,
        at: Option<UnixTime>,
        at_early: Option<UnixTime>,
        at_late: Option<UnixTime>,
        before_expiry: Option<bool>,
        drivers: String,
    }
}

/// Where the next run starts.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct State {
    pub window_seconds: i64,
    /// the last height the previous run read
    pub last_height: i64,
    /// the first window no run has scored (None: a state written before streaming)
    pub next_window: Option<i64>,
}

/// Where the previous run left off, if there was one.
pub async fn state(pool: &PgPool) -> anyhow::Result<Option<State>> {
    sqlx::query_as(
        "select window_seconds, last_height, next_window from analytics_state where id = 1",
    )
    .fetch_optional(pool)
    .await
    .context("reading the analytics state")
}

/// A fitted detector as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredModel {
    /// the SHA-256 (hex) of `body`
    pub model_id: String,
    pub role: String,
    pub version: String,
    /// windows in the history it was fitted from, and the sample it was fitted on
    pub history_rows: i64,
    pub fitted_rows: i64,
    pub body: Vec<u8>,
}

/// The newest stored detector of `role` for model `version`.
pub async fn latest_model(
    pool: &PgPool,
    role: &str,
    version: &str,
) -> anyhow::Result<Option<StoredModel>> {
    sqlx::query_as(
        "select model_id, role, version, history_rows, fitted_rows, body from analytics_models \
         where role = $1 and version = $2 order by created_at desc, model_id limit 1",
    )
    .bind(role)
    .bind(version)
    .fetch_optional(pool)
    .await
    .context("reading the stored detectors")
}

/// The stored detector named `model_id`.
pub async fn model(pool: &PgPool, model_id: &str) -> anyhow::Result<Option<StoredModel>> {
    sqlx::query_as(
        "select model_id, role, version, history_rows, fitted_rows, body from analytics_models \
         where model_id = $1",
    )
    .bind(model_id)
    .fetch_optional(pool)
    .await
    .context("reading a stored detector")
}

/// Windows of `role` that start before `before` (unix s), with their scores, for baselines and
/// the alert risk's history: the current ones, or (`as_of_run`) the ones that were current
/// when that run read them.
pub async fn prior_windows(
    pool: &PgPool,
    role: &str,
    before: i64,
    as_of_run: Option<i64>,
) -> anyhow::Result<Vec<(ActorWindow, f64)>> {
    let rows: Vec<(String, i64, i64, i64, Vec<f64>, f64)> = sqlx::query_as(
        "select actor, extract(epoch from window_start)::bigint / window_seconds, first_height, last_height, raw, score \
         from actor_windows where role = $1 and window_start < to_timestamp($2) and case when $3::bigint is null \
         then superseded_by is null else run_id < $3 and (superseded_by is null or superseded_by >= $3) end",
    )
    .bind(role)
    .bind(before as f64)
    .bind(as_of_run)
    .fetch_all(pool)
    .await
    .context("reading earlier windows")?;
    Ok(rows
        .into_iter()
        .map(|(actor, window, first_height, last_height, raw, score)| {
            let w = ActorWindow {
                actor,
                window,
                first_height,
                last_height,
                raw,
                x: Vec::new(),
                usual: Vec::new(),
            };
            (w, score)
        })
        .collect())
}

/// COPYs typed rows into their table inside the run's transaction.
async fn copy_rows<T: Table>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    rows: &[T],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut csv = String::with_capacity(rows.len() * 256);
    for r in rows {
        let mut line = CsvLine::new(&mut csv);
        r.write_row(&mut line);
        line.end();
    }
    copy_in(tx, T::NAME, T::COLUMNS, csv)
        .await
        .with_context(|| format!("COPY into {}", T::NAME))
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
    pub forecasts: Option<&'a Forecasts>,
    pub model_version: &'a str,
    /// detectors fitted by this run (stored once: a detector's id is its content)
    pub new_models: &'a [StoredModel],
    /// the first window the next run scores
    pub next_window: Option<i64>,
}

/// Stores a run, in one transaction on `conn` (a writing run's: the one that holds its lock);
/// returns its id.
pub async fn save(conn: &mut PgConnection, out: &RunOutput<'_>) -> anyhow::Result<i64> {
    let mut tx = conn.begin().await?;
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
    // the windows this run recomputed supersede what earlier runs wrote for them; those rows
    // stay as their runs wrote them (a run's outputs never change: docs/runs.md)
    if let Some(first) = first_window {
        let since = out.window.start(first) as f64;
        for update in [
            "update actor_windows set superseded_by = $1 where window_start >= to_timestamp($2) and superseded_by is null",
            "update anomalies set superseded_by = $1 where window_start >= to_timestamp($2) and superseded_by is null",
        ] {
            sqlx::query(update)
                .bind(run_id)
                .bind(since)
                .execute(&mut *tx)
                .await?;
        }
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
        let mut stream = tx
            .copy_in_raw(
                "copy actor_windows (role, actor, window_start, window_seconds, first_height, \
                 last_height, raw, score, run_id) from stdin with (format csv)",
            )
            .await
            .context("COPY into actor_windows")?;
        let mut buf = String::with_capacity(9 << 20);
        for (role, ws, scores) in &out.windows {
            for (w, score) in ws.iter().zip(scores) {
                let mut line = CsvLine::new(&mut buf);
                line.field(*role)
                    .field(&w.actor)
                    .field(&UnixTime(out.window.start(w.window)))
                    .field(&secs)
                    .field(&w.first_height)
                    .field(&w.last_height)
                    .field(&FloatArray(&w.raw))
                    .field(score)
                    .field(&run_id);
                line.end();
                if buf.len() > 8 << 20 {
                    stream.send(std::mem::take(&mut buf).into_bytes()).await?;
                    buf.reserve(9 << 20);
                }
            }
        }
        if !buf.is_empty() {
            stream.send(buf.into_bytes()).await?;
        }
        stream
            .finish()
            .await
            .context("finishing COPY into actor_windows")?;
    }
    tracing::debug!("actor windows copied");
    if bulk {
        sqlx::query(
            "alter table actor_windows add primary key (actor, role, window_start, run_id)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("create index actor_windows_time on actor_windows (window_start)")
            .execute(&mut *tx)
            .await?;
    }
    let anomalies: Vec<AnomalyRow> = out
        .anomalies
        .iter()
        .map(|a| AnomalyRow {
            run_id,
            role: a.role.clone(),
            actor: a.actor.clone(),
            window_start: UnixTime(a.window_start),
            window_end: UnixTime(a.window_end),
            method: a.method.clone(),
            kind: a.kind.clone(),
            score: a.score,
            severity: a.severity.clone(),
            explanation: a.explanation.clone(),
            features: JsonText::of(&a.features),
            first_height: a.first_height,
            last_height: a.last_height,
            txs: PgArray(a.txs.clone()),
            targets: PgArray(a.targets.clone()),
            model_version: a.model_version.clone(),
        })
        .collect();
    copy_rows(&mut tx, &anomalies).await?;
    let provenance: Vec<ProvenanceRow> = out
        .provenance
        .iter()
        .map(|p| ProvenanceRow {
            run_id,
            asset_id: p.asset_id,
            version: i32::try_from(p.version).unwrap_or(i32::MAX),
            score: p.score,
            own: p.own,
            lineage: p.lineage,
            attestation: p.attestation,
            diversity: p.diversity,
            integrity: p.integrity,
            consent: p.consent,
            alerts: p.alerts,
            inherited: p.inherited,
            attestors: i32::try_from(p.attestors).unwrap_or(i32::MAX),
            unattested_ancestors: i32::try_from(p.unattested_ancestors).unwrap_or(i32::MAX),
        })
        .collect();
    copy_rows(&mut tx, &provenance).await?;
    if let Some(f) = out.forecasts {
        let points: Vec<ForecastRow> = f
            .point_rows()
            .into_iter()
            .map(|r| ForecastRow {
                run_id,
                target: r.target,
                key: r.key,
                step: r.step,
                step_start: UnixTime(r.step_start),
                step_seconds: r.step_seconds,
                point: r.point,
                lower: r.lower,
                upper: r.upper,
                level: r.level,
                method: r.method,
                history: r.history,
            })
            .collect();
        copy_rows(&mut tx, &points).await?;
        let outlooks: Vec<OutlookDbRow> = f
            .outlooks
            .iter()
            .cloned()
            .map(|r| OutlookDbRow {
                run_id,
                kind: r.kind,
                key: r.key,
                party: r.party,
                value: r.value,
                lower: r.lower,
                upper: r.upper,
                at: r.at.map(UnixTime),
                at_early: r.at_early.map(UnixTime),
                at_late: r.at_late.map(UnixTime),
                before_expiry: r.before_expiry,
                drivers: r.drivers,
            })
            .collect();
        copy_rows(&mut tx, &outlooks).await?;
    }
    for m in out.new_models {
        sqlx::query(
            "insert into analytics_models (model_id, role, version, history_rows, fitted_rows, body) \
             values ($1, $2, $3, $4, $5, $6) on conflict (model_id) do nothing",
        )
        .bind(&m.model_id)
        .bind(&m.role)
        .bind(&m.version)
        .bind(m.history_rows)
        .bind(m.fitted_rows)
        .bind(&m.body)
        .execute(&mut *tx)
        .await
        .context("storing a fitted detector")?;
    }
    sqlx::query(
        "insert into analytics_state (id, window_seconds, last_height, last_run, next_window) values (1, $1, $2, $3, $4) \
         on conflict (id) do update set window_seconds = excluded.window_seconds, \
         last_height = excluded.last_height, last_run = excluded.last_run, next_window = excluded.next_window",
    )
    .bind(out.window.seconds)
    .bind(out.to_height)
    .bind(run_id)
    .bind(out.next_window)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("committing the analysis")?;
    Ok(run_id)
}

/// The newest run's provenance score of each of `asset_ids`, for its highest scored version:
/// (asset, version, score).
pub async fn latest_asset_scores(
    pool: &PgPool,
    asset_ids: &[i64],
) -> anyhow::Result<Vec<(i64, i32, f64)>> {
    sqlx::query_as(
        "select distinct on (asset_id) asset_id, version, score from provenance_scores \
         where run_id = (select max(run_id) from analytics_runs) and asset_id = any($1) \
         order by asset_id, version desc",
    )
    .bind(asset_ids)
    .fetch_all(pool)
    .await
    .context("reading provenance scores")
}

/// The latest forecasting run's outlooks of `kind` about `party`, soonest first: (run, row).
pub async fn latest_outlooks(
    pool: &PgPool,
    kind: &str,
    party: &str,
) -> anyhow::Result<Vec<(i64, crate::forecast::Outlook)>> {
    let run: Option<i64> = sqlx::query_scalar(
        "select max(run_id) from analytics_runs where (params -> 'settings') ? 'forecast'",
    )
    .fetch_one(pool)
    .await
    .context("reading the latest forecasting run")?;
    let Some(run) = run else {
        return Ok(Vec::new());
    };
    let rows: Vec<crate::forecast::Outlook> = sqlx::query_as(
        "select kind, key, party, value, lower, upper, extract(epoch from at)::bigint as at, \
         extract(epoch from at_early)::bigint as at_early, extract(epoch from at_late)::bigint as at_late, \
         before_expiry, drivers from forecast_outlooks where run_id = $1 and kind = $2 and party = $3 \
         order by at nulls last, key",
    )
    .bind(run)
    .bind(kind)
    .bind(party)
    .fetch_all(pool)
    .await
    .context("reading outlooks")?;
    Ok(rows.into_iter().map(|r| (run, r)).collect())
}

/// Forgets every earlier analysis (for `analyze --full`).
pub async fn reset(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(
        "truncate analytics_state, anomalies, actor_windows, provenance_scores, forecasts, \
         forecast_outlooks, run_verifications, run_anchors, analytics_runs, analytics_models",
    )
    .execute(conn)
    .await
    .context("clearing earlier analyses")?;
    Ok(())
}

/// Records where a run's report folder is and the run's manifest (its canonical text and that
/// text's SHA-256).
pub async fn set_report(
    conn: &mut PgConnection,
    run_id: i64,
    dir: &str,
    manifest: &str,
    manifest_sha256: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "update analytics_runs set report_dir = $1, manifest = $2, manifest_sha256 = $3 where run_id = $4",
    )
    .bind(dir)
    .bind(manifest)
    .bind(manifest_sha256)
    .bind(run_id)
    .execute(conn)
    .await
    .context("recording the report folder and the manifest")?;
    Ok(())
}
