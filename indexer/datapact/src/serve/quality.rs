//! `/quality/{sha256}`: one quality checker's report (profile, discrepancies, drift from the
//! parent) as it was recorded, checked against its hash and the attestations that cite it; and
//! the per-version list the asset page shows.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use datapact_quality::checks;
use maud::{html, Markup};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::layout::*;
use super::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/quality/{sha}", get(report_page))
        .route("/api/quality/{sha}", get(report_api))
}

/// A recorded report as an asset's version lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct QualityLine {
    pub sha256: String,
    pub version: i32,
    pub passed: bool,
    pub recorded_at: Option<String>,
    pub discrepancies: Option<i32>,
    /// attestors whose standing `quality.passed` cites this report
    pub attested_by: Vec<String>,
}

/// The recorded reports of asset `id`, newest version first.
pub async fn of_asset(pool: &PgPool, id: i64) -> ApiResult<Vec<QualityLine>> {
    lines(pool, Some(id), None).await
}

/// Recorded reports: of an asset, or the one with a hash.
async fn lines(
    pool: &PgPool,
    asset: Option<i64>,
    sha: Option<&str>,
) -> ApiResult<Vec<QualityLine>> {
    Ok(sqlx::query_as(
        "select q.sha256, q.version, q.passed, to_char(q.recorded_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as recorded_at, \
         (case when jsonb_typeof(q.report::jsonb -> 'discrepancies') = 'array' \
               then jsonb_array_length(q.report::jsonb -> 'discrepancies') end)::int as discrepancies, \
         array(select distinct a.attestor from attestations a where a.asset_id = q.asset_id and a.version = q.version \
               and a.evidence_hash = q.sha256 and a.claim = $2 and not a.revoked \
               and not exists (select 1 from attestations r where r.asset_id = a.asset_id and r.version = a.version \
                               and r.attestor = a.attestor and r.claim = a.claim and r.revoked and r.height >= a.height)) as attested_by \
         from quality_reports q where ($1::bigint is null or q.asset_id = $1) and ($3::text is null or q.sha256 = $3) \
         order by q.version desc, q.recorded_at desc limit 100",
    )
    .bind(asset)
    .bind(datapact_types::claims::QUALITY_PASSED)
    .bind(sha)
    .fetch_all(pool)
    .await?)
}

pub fn quality_table(rows: &[QualityLine]) -> Markup {
    html! {
        @if rows.is_empty() { p { "No quality report recorded (" code { "datapact quality FILE --rules R --asset A --version V --record" } ")." } }
        @else {
            table {
                tr { th { "version" } th { "verdict" } th { "discrepancies" } th { "recorded (UTC)" } th { "attested on chain by" } th { "report" } }
                @for q in rows {
                    tr { td { (q.version) }
                         td { @if q.passed { span.ok { "passed" } } @else { span.bad { "failed" } } }
                         td { (q.discrepancies.map(|n| n.to_string()).unwrap_or_default()) }
                         td { (q.recorded_at.clone().unwrap_or_default()) }
                         td { @if q.attested_by.is_empty() { "—" } @for a in &q.attested_by { (actor_link(a)) " " } }
                         td.mono { a href={ "/quality/" (q.sha256) } { (short(&q.sha256)) } } }
                }
            }
        }
    }
}

/// One report, its hash checked, with the attestations citing it.
#[derive(Debug, Serialize)]
pub struct QualityReport {
    pub sha256: String,
    pub asset_id: i64,
    pub version: i32,
    pub passed: bool,
    /// the stored bytes still hash to their key
    pub hash_matches: bool,
    pub attested_by: Vec<String>,
    pub report: serde_json::Value,
}

async fn report(pool: &PgPool, sha: &str) -> ApiResult<QualityReport> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "{:?} is not a SHA-256 (64 hex digits)",
            short(sha)
        )));
    }
    let sha = sha.to_ascii_lowercase();
    let row: Option<(i64, i32, bool, String)> = sqlx::query_as(
        "select asset_id, version, passed, report from quality_reports where sha256 = $1",
    )
    .bind(&sha)
    .fetch_optional(pool)
    .await?;
    let (asset_id, version, passed, text) =
        row.ok_or_else(|| ApiError::NotFound(format!("no quality report {sha}")))?;
    let attested_by = lines(pool, None, Some(&sha))
        .await?
        .into_iter()
        .next()
        .map(|q| q.attested_by)
        .unwrap_or_default();
    Ok(QualityReport {
        hash_matches: hex::encode(Sha256::digest(text.as_bytes())) == sha,
        sha256: sha,
        asset_id,
        version,
        passed,
        attested_by,
        report: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    })
}

async fn report_api(
    State(s): State<AppState>,
    Path(sha): Path<String>,
) -> ApiResult<Json<QualityReport>> {
    Ok(Json(report(&s.pool, &sha).await?))
}

/// A JSON value as a table cell (numbers rounded for reading).
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() != 0.0 => format!("{x:.4}"),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The checks that compare a version with its parent.
const DRIFT_CHECKS: [&str; 5] = [
    checks::DROPPED_COLUMN,
    checks::ADDED_COLUMN,
    checks::RETYPED_COLUMN,
    checks::ROW_COUNT_JUMP,
    checks::DISTRIBUTION_SHIFT,
];

async fn report_page(State(s): State<AppState>, Path(sha): Path<String>) -> ApiResult<Markup> {
    let q = report(&s.pool, &sha).await?;
    let r = &q.report;
    let empty = Vec::new();
    let found = r["discrepancies"].as_array().unwrap_or(&empty);
    let (drift, other): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) = found
        .iter()
        .partition(|d| DRIFT_CHECKS.contains(&d["check"].as_str().unwrap_or("")));
    let columns = r["profile"]["columns"].as_array().unwrap_or(&empty);
    let discrepancy_table = |rows: &[&serde_json::Value]| {
        html! {
            table {
                tr { th { "check" } th { "column" } th { "count" } th { "what" } }
                @for d in rows { tr { td { (cell(&d["check"])) } td { (cell(&d["column"])) } td { (cell(&d["count"])) } td { (cell(&d["detail"])) } } }
            }
        }
    };
    Ok(layout(
        &format!("Quality of asset {} version {}", q.asset_id, q.version),
        html! {
            p { a href={ "/assets/" (q.asset_id) } { "asset " (q.asset_id) } " · version " (q.version) " · "
                @if q.passed { span.ok { "passed" } } @else { span.bad { "failed" } }
                " · report SHA-256 " code { (q.sha256) } " "
                @if q.hash_matches { span.ok { "(the stored report hashes to it)" } } @else { span.bad { "(the stored report does NOT hash to it)" } } }
            p { "Attested on chain (" code { (datapact_types::claims::QUALITY_PASSED) } ", evidence = this hash) by: "
                @if q.attested_by.is_empty() { "nobody" } @for a in &q.attested_by { (actor_link(a)) " " } }
            h2 { "Rules and types" }
            @if other.is_empty() { p { "Nothing found." } } @else { (discrepancy_table(&other)) }
            h2 { "Drift from the parent version" }
            @if drift.is_empty() { p { "No drift found (or no parent was checked)." } } @else { (discrepancy_table(&drift)) }
            h2 { "Profile" }
            p { (cell(&r["profile"]["rows"])) " rows, " (cell(&r["profile"]["duplicate_rows"])) " duplicate rows" }
            table {
                tr { th { "column" } th { "type" } th { "nulls" } th { "distinct" } th { "min" } th { "max" } th { "mean" } th { "std" } }
                @for c in columns { tr { td { (cell(&c["name"])) } td { (cell(&c["dtype"])) } td { (cell(&c["nulls"])) } td { (cell(&c["distinct"])) }
                    td { (cell(&c["min"])) } td { (cell(&c["max"])) } td { (cell(&c["mean"])) } td { (cell(&c["std"])) } } }
            }
        },
    ))
}
