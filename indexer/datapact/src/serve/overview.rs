//! `/`: chain and indexer health, counts, rates, charts, the top anomalies and recent alerts.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped};
use serde::Serialize;
use sqlx::PgPool;

use super::anomalies::{anomalies, anomaly_table, AnomalyParams, AnomalyRow};
use super::audit::{alert_table, alerts, AlertParams, AlertRow};
use super::layout::*;
use super::{ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview_page))
        .route("/api/overview", get(overview_api))
}

#[derive(Debug, Serialize)]
pub struct Overview {
    /// false: nothing indexed yet
    pub indexed: bool,
    pub chain_id: Option<String>,
    pub indexed_height: Option<i64>,
    pub indexed_at: Option<String>,
    pub chain_head: Option<u64>,
    pub lag_blocks: Option<i64>,
    /// over the last 200 indexed blocks, by their block times
    pub blocks_per_second: Option<f64>,
    pub events_per_second: Option<f64>,
    pub counts: Vec<(String, i64)>,
    pub recent_alerts: Vec<AlertRow>,
    pub top_anomalies: Vec<AnomalyRow>,
    pub last_run: Option<RunRow>,
    /// (bucket start unix s, accesses)
    pub accesses_over_time: Vec<(i64, i64)>,
    pub score_histogram: Vec<f64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub run_id: i64,
    pub finished_at: Option<String>,
    pub model_version: String,
    pub window_seconds: i64,
    pub to_height: i64,
    pub report_dir: Option<String>,
}

/// The planner's estimate of a table's rows (kept by ANALYZE and autovacuum): free to read,
/// where a count(*) scans the table. None for an unknown table.
async fn estimated_rows(pool: &PgPool, table: &str) -> ApiResult<Option<f64>> {
    let est: Option<f32> =
        sqlx::query_scalar("select reltuples from pg_class where relname = $1 and relkind = 'r'")
            .bind(table)
            .fetch_optional(pool)
            .await?;
    Ok(est.map(f64::from))
}

pub async fn overview(pool: &PgPool, chain_head: Option<u64>) -> ApiResult<Overview> {
    let cp: Option<(String, i64, String)> = sqlx::query_as(
        "select chain_id, height, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') from checkpoint where id = 1",
    )
    .fetch_optional(pool)
    .await?;
    let rate: Option<(Option<f64>, Option<f64>)> = sqlx::query_as(
        "with recent as (select height, time from blocks order by height desc limit 200) \
         select (count(*) - 1) / nullif(extract(epoch from max(time) - min(time)), 0)::float8, \
                (select count(*) from events e where e.height >= (select min(height) from recent))::float8 \
                  / nullif(extract(epoch from max(time) - min(time)), 0)::float8 \
         from recent",
    )
    .fetch_optional(pool)
    .await?;
    // exact counts for the small tables, the planner's estimate for the big ones
    let mut counts = Vec::new();
    for (label, table, exact) in [
        ("blocks", "blocks", false),
        ("assets", "assets", true),
        ("versions", "versions", true),
        ("agreements", "agreements", true),
        ("consents", "consents", true),
        ("accesses", "accesses", false),
        ("refused attempts", "denied_attempts", false),
        ("alerts", "alerts", true),
        ("anomalies", "anomalies", true),
        ("quarantined events", "quarantine", true),
    ] {
        let n: i64 = if exact {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(pool)
                .await?
        } else {
            match estimated_rows(pool, table).await? {
                Some(e) if e >= 100_000.0 => e as i64,
                _ => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                        .fetch_one(pool)
                        .await?
                }
            }
        };
        counts.push((label.to_string(), n));
    }
    let last_run: Option<RunRow> = sqlx::query_as(
        "select run_id, to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS') as finished_at, model_version, \
         window_seconds, to_height, report_dir from analytics_runs order by run_id desc limit 1",
    )
    .fetch_optional(pool)
    .await?;
    let accesses_over_time: Vec<(i64, i64)> = if last_run.is_some() {
        // from the analysis: one sum per window instead of a scan of every access
        sqlx::query_as(
            "select extract(epoch from window_start)::bigint, sum(raw[1])::bigint from actor_windows \
             where role = 'consumer' group by 1 order by 1",
        )
        .fetch_all(pool)
        .await?
    } else {
        sqlx::query_as(
            "select extract(epoch from date_trunc('minute', b.time))::bigint, count(*) \
             from accesses a join blocks b using (height) \
             where a.height > (select coalesce(max(height), 0) - 20000 from blocks) group by 1 order by 1",
        )
        .fetch_all(pool)
        .await?
    };
    // a sample of about 20,000 window scores: random pages (TABLESAMPLE SYSTEM) on a big table,
    // so the histogram costs the same at ten thousand windows and at ten million
    let windows = estimated_rows(pool, "actor_windows").await?.unwrap_or(0.0);
    let score_histogram: Vec<f64> = if windows > 40_000.0 {
        let percent = (20_000.0 * 100.0 / windows).min(100.0);
        sqlx::query_scalar("select score from actor_windows tablesample system ($1)")
            .bind(percent)
            .fetch_all(pool)
            .await?
    } else {
        sqlx::query_scalar("select score from actor_windows limit 40000")
            .fetch_all(pool)
            .await?
    };
    let indexed_height = cp.as_ref().map(|c| c.1);
    Ok(Overview {
        indexed: cp.is_some(),
        chain_id: cp.as_ref().map(|c| c.0.clone()),
        indexed_height,
        indexed_at: cp.map(|c| c.2),
        chain_head,
        lag_blocks: chain_head.zip(indexed_height).map(|(h, i)| h as i64 - i),
        blocks_per_second: rate.and_then(|r| r.0),
        events_per_second: rate.and_then(|r| r.1),
        counts,
        recent_alerts: alerts(pool, &AlertParams::default())
            .await?
            .into_iter()
            .take(5)
            .collect(),
        top_anomalies: anomalies(
            pool,
            &AnomalyParams {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await?,
        last_run,
        accesses_over_time,
        score_histogram,
    })
}

async fn overview_api(State(s): State<AppState>) -> ApiResult<Json<Overview>> {
    let head = chain_head(&s).await;
    Ok(Json(overview(&s.pool, head).await?))
}

async fn overview_page(State(s): State<AppState>) -> ApiResult<Markup> {
    let head = chain_head(&s).await;
    let o = overview(&s.pool, head).await?;
    let points: Vec<(f64, f64)> = o
        .accesses_over_time
        .iter()
        .map(|(t, n)| (*t as f64, *n as f64))
        .collect();
    Ok(layout(
        "Overview",
        html! {
            @if !o.indexed {
                div.note { "Nothing is indexed yet. Run " code { "datapact ingest" } " (or " code { "make demo" } ") and reload." }
            }
            div.cards {
                div.card { "chain" b { (o.chain_id.clone().unwrap_or_else(|| "—".into())) } }
                div.card { "chain head" b { (o.chain_head.map(|h| h.to_string()).unwrap_or_else(|| "unknown".into())) } }
                div.card { "indexed height" b { (o.indexed_height.map(|h| h.to_string()).unwrap_or_else(|| "—".into())) } }
                div.card { "lag (blocks)" b { (o.lag_blocks.map(|h| h.to_string()).unwrap_or_else(|| "—".into())) } }
                div.card { "blocks/s" b { (opt_f(o.blocks_per_second, 2)) } }
                div.card { "events/s" b { (opt_f(o.events_per_second, 1)) } }
            }
            @if let (Some(l), Some(_)) = (o.lag_blocks, o.chain_head) {
                @if l > 5 { div.note { "The indexer is " (l) " blocks behind the chain: the figures below stop at height " (o.indexed_height.unwrap_or(0)) "." } }
            }
            div.cards { @for (k, v) in &o.counts { div.card { (k) b { (v) } } } }
            (PreEscaped(datapact_analytics::svg::line("accesses over time", &points, &time_label)))
            (PreEscaped(datapact_analytics::svg::histogram("anomaly scores of actor windows (sample)", &o.score_histogram, 0.0, 1.0, 20)))
            h2 { "Top anomalies" }
            (anomaly_table(&o.top_anomalies))
            h2 { "Recent alerts" }
            (alert_table(&o.recent_alerts))
            @if let Some(r) = &o.last_run {
                p { "Last analysis: run " (r.run_id) " (" (r.model_version) ", " (r.window_seconds) "-second windows, up to height " (r.to_height) ") at " (r.finished_at.clone().unwrap_or_default()) " UTC." }
            } @else {
                p { "No analysis yet: run " code { "datapact analyze" } "." }
            }
        },
    ))
}
