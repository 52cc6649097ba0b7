//! `/runs`: every analysis run with its heights, its manifest hash, its anchor on chain and
//! its last verification (`datapact verify-run`); `/runs/{id}`: the manifest itself.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use datapact_analytics::manifest::{Digest, Manifest};
use datapact_analytics::runs::{self, RunLine};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::layout::*;
use super::params::*;
use super::{ApiError, ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(runs_page))
        .route("/api/runs", get(runs_api))
        .route("/runs/{id}", get(run_page))
        .route("/api/runs/{id}", get(run_api))
}

#[derive(Debug, Default, Deserialize)]
pub struct RunParams {
    /// runs older than this id
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

async fn runs_api(
    State(s): State<AppState>,
    Query(p): Query<RunParams>,
) -> ApiResult<Json<Vec<RunLine>>> {
    Ok(Json(runs::lines(&s.pool, p.before, limit(p.limit)?).await?))
}

/// A run's verification state in words.
fn verdict(r: &RunLine) -> Markup {
    match r.verified_ok {
        Some(true) => html! { span.ok { "verified" } },
        Some(false) => html! { span.bad { "DIFFERS" } },
        None => html! { "not verified yet" },
    }
}

async fn runs_page(State(s): State<AppState>, Query(p): Query<RunParams>) -> ApiResult<Markup> {
    let rows = runs::lines(&s.pool, p.before, limit(p.limit)?).await?;
    Ok(layout(
        "Analysis runs",
        html! {
            p { "Each run's manifest records the heights it read, a digest of every input table, the model and its settings, and a digest of every output; its SHA-256 is anchored on chain as a version of the analyst's registry asset. "
                code { "datapact verify-run <run>" } " checks a run again and records the verdict shown here." }
            @if rows.is_empty() { div.note { "No analysis runs yet: " code { "datapact analyze --anchor" } "." } }
            table {
                tr { th { "run" } th { "finished (UTC)" } th { "heights" } th { "model" } th { "manifest" } th { "anchor" } th { "verification" } }
                @for r in &rows {
                    tr {
                        td { a href={ "/runs/" (r.run_id) } { (r.run_id) } }
                        td { (r.finished_at.map(|t| time_label(t as f64)).unwrap_or_default()) }
                        td { (r.from_height) "..=" (r.to_height) }
                        td { (r.model_version) }
                        td.mono title=(r.manifest_sha256.clone().unwrap_or_default()) { (short(r.manifest_sha256.as_deref().unwrap_or("none"))) }
                        td { @match (r.anchor_asset, r.anchor_version) {
                            (Some(a), Some(v)) => { "asset " (a) " v" (v) " at " (r.anchor_height.unwrap_or(0)) " " (tx_link(&r.anchor_tx)) },
                            _ => { span.bad { "not anchored" } },
                        } }
                        td { (verdict(r))
                            @if let Some(serde_json::Value::Array(ds)) = &r.differences {
                                @for d in ds { div.mono { (d["part"].as_str().unwrap_or("")) " " (d["name"].as_str().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// One run: its line and its manifest.
#[derive(Debug, Serialize)]
pub struct RunDetail {
    pub run: RunLine,
    pub manifest: Option<Manifest>,
}

async fn run_detail(s: &AppState, id: &str) -> ApiResult<RunDetail> {
    let id = parse_id(id)?;
    let run = runs::lines(&s.pool, Some(id + 1), 1)
        .await?
        .into_iter()
        .find(|r| r.run_id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
    // a manifest that does not parse is shown as missing; verify-run names it
    let manifest = runs::record(&s.pool, id)
        .await?
        .and_then(|r| r.manifest)
        .and_then(|t| Manifest::parse(&t).ok());
    Ok(RunDetail { run, manifest })
}

async fn run_api(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<RunDetail>> {
    Ok(Json(run_detail(&s, &id).await?))
}

fn digest_table(title: &str, rows: &std::collections::BTreeMap<String, Digest>) -> Markup {
    html! {
        h2 { (title) }
        table {
            tr { th { "name" } th { "rows / bytes" } th { "sha256" } th { "query" } }
            @for (name, d) in rows {
                tr { td { (name) } td { (d.rows.or(d.bytes).unwrap_or(0)) } td.mono { (d.sha256) }
                     td.mono { (d.query.clone().unwrap_or_default()) } }
            }
        }
    }
}

async fn run_page(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Markup> {
    let d = run_detail(&s, &id).await?;
    let r = &d.run;
    Ok(layout(
        &format!("Analysis run {}", r.run_id),
        html! {
            p { "Heights " (r.from_height) "..=" (r.to_height) ", model " (r.model_version) ". Manifest SHA-256 "
                code { (r.manifest_sha256.clone().unwrap_or_else(|| "none".into())) } ". " (verdict(r)) }
            @match (r.anchor_asset, r.anchor_version) {
                (Some(a), Some(v)) => p { "Anchored as version " (v) " of registry asset " a href={ "/assets/" (a) } { (a) } " at height " (r.anchor_height.unwrap_or(0)) ", " (tx_link(&r.anchor_tx)) "." },
                _ => p.bad { "Not anchored on chain." },
            }
            @if let Some(serde_json::Value::Array(ds)) = &r.differences {
                @if !ds.is_empty() {
                    h2 { "What the last verification found" }
                    table {
                        tr { th { "part" } th { "name" } th { "expected" } th { "found" } }
                        @for x in ds { tr { td { (x["part"].as_str().unwrap_or("")) } td { (x["name"].as_str().unwrap_or("")) }
                            td.mono { (x["expected"].as_str().unwrap_or("")) } td.mono { (x["found"].as_str().unwrap_or("")) } } }
                    }
                }
            }
            @match &d.manifest {
                Some(m) => {
                    p { "Window " (m.window_seconds) " s; first recomputed window " (m.since_window.map(|w| w.to_string()).unwrap_or_else(|| "all".into()))
                        "; settings " code { (m.model.settings) } }
                    (digest_table("Inputs", &m.inputs))
                    (digest_table("Outputs", &m.outputs))
                    (digest_table("Report files", &m.files))
                },
                None => div.note { "This run has no readable manifest." },
            }
        },
    ))
}
