//! The pages, and the JSON API behind each of them.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use super::data::{self, *};
use super::{ApiError, ApiResult, AppState};
use crate::svg;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview_page))
        .route("/api/overview", get(overview_api))
        .route("/assets", get(assets_page))
        .route("/api/assets", get(assets_api))
        .route("/assets/{id}", get(asset_page))
        .route("/api/assets/{id}", get(asset_api))
        .route("/agreements", get(agreements_page))
        .route("/api/agreements", get(agreements_api))
        .route("/consents", get(consents_page))
        .route("/api/consents", get(consents_api))
        .route("/anomalies", get(anomalies_page))
        .route("/api/anomalies", get(anomalies_api))
        .route("/actors/{addr}", get(actor_page))
        .route("/api/actors/{addr}", get(actor_api))
        .route("/audit", get(audit_page))
        .route("/api/audit", get(audit_api))
        .route("/tx/{hash}", get(tx_page))
        .route("/api/tx/{hash}", get(tx_api))
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{background:#1d2a44;color:#fff;padding:10px 24px;display:flex;gap:18px;align-items:center}\
header a{color:#dfe7ff;text-decoration:none}header a:hover{text-decoration:underline}header b{margin-right:12px}\
main{padding:18px 24px;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff;margin:10px 0}\
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#eef1f5}code,.mono{font-family:ui-monospace,monospace;font-size:12px}\
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e3e6ea;padding:10px 14px;min-width:130px}\
.card b{display:block;font-size:20px}.sev-critical,.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#b35c00}\
.note{background:#fff8e1;border:1px solid #f0d98c;padding:10px 14px;margin:10px 0}\
.ok{color:#17803d;font-weight:600}.bad{color:#b00020;font-weight:600}form.filters{margin:8px 0}\
form.filters input,form.filters select{margin-right:8px}a.export{margin-right:10px}";

fn short(s: &str) -> String {
    if s.len() > 20 {
        format!("{}…{}", &s[..10], &s[s.len() - 6..])
    } else {
        s.to_string()
    }
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // no favicon request: the page needs nothing but itself
                link rel="icon" href="data:,";
                title { (title) " · datapact" }
                style { (PreEscaped(CSS)) (PreEscaped(svg::CHART_CSS)) }
            }
            body {
                header {
                    b { "datapact" }
                    a href="/" { "Overview" }
                    a href="/assets" { "Assets" }
                    a href="/agreements" { "Agreements" }
                    a href="/consents" { "Consents" }
                    a href="/anomalies" { "Anomalies" }
                    a href="/audit" { "Audit trail" }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn actor_link(a: &str) -> Markup {
    html! { a.mono href={ "/actors/" (a) } title=(a) { (short(a)) } }
}

fn tx_link(h: &Option<String>) -> Markup {
    match h {
        Some(h) => html! { a.mono href={ "/tx/" (h) } title=(h) { (short(h)) } },
        None => html! { "—" },
    }
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

fn time_label(t: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t as i64)
        .map(|d| {
            format!(
                "{:02}-{:02} {:02}:{:02}:{:02}",
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
            )
        })
        .unwrap_or_default()
}

/// The chain's head, asked with a short timeout (the page must not hang on a slow node).
async fn chain_head(s: &AppState) -> Option<u64> {
    let chain = s.chain.as_ref()?;
    tokio::time::timeout(std::time::Duration::from_secs(2), chain.latest_height())
        .await
        .ok()?
        .ok()
}

// ------------------------------------------------------------------------------------ overview

async fn overview_api(State(s): State<AppState>) -> ApiResult<Json<Overview>> {
    let head = chain_head(&s).await;
    Ok(Json(data::overview(&s.pool, head).await?))
}

async fn overview_page(State(s): State<AppState>) -> ApiResult<Markup> {
    let head = chain_head(&s).await;
    let o = data::overview(&s.pool, head).await?;
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
            (PreEscaped(svg::line("accesses over time", &points, &time_label)))
            (PreEscaped(svg::histogram("anomaly scores of actor windows (sample)", &o.score_histogram, 0.0, 1.0, 20)))
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

// -------------------------------------------------------------------------------------- assets

async fn assets_api(
    State(s): State<AppState>,
    Query(p): Query<AssetParams>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    Ok(Json(data::assets(&s.pool, &p).await?))
}

fn export_links(view: &str, query: &str) -> Markup {
    html! {
        p {
            a.export href={ "/export/" (view) ".csv?" (query) } download { "Export CSV" }
            a.export href={ "/export/" (view) ".parquet?" (query) } download { "Export Parquet" }
            a.export href={ "/api/" (view) "?" (query) } { "JSON" }
        }
    }
}

async fn assets_page(
    State(s): State<AppState>,
    Query(p): Query<AssetParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = data::assets(&s.pool, &p).await?;
    let scores: Vec<f64> = rows.iter().filter_map(|r| r.score).collect();
    let next = rows.last().map(|r| r.asset_id);
    Ok(layout(
        "Assets",
        html! {
            form.filters method="get" {
                input name="q" placeholder="asset id or owner" value=(p.q.clone().unwrap_or_default());
                select name="sensitivity" {
                    option value="" { "any sensitivity" }
                    @for v in ["public", "internal", "personal", "special_category"] {
                        option value=(v) selected[p.sensitivity.as_deref() == Some(v)] { (v) }
                    }
                }
                input name="max_score" placeholder="max score" size="8" value=(p.max_score.map(|v| v.to_string()).unwrap_or_default());
                button { "Filter" }
            }
            (export_links("assets", &raw.unwrap_or_default()))
            (PreEscaped(svg::histogram("provenance scores (this page)", &scores, 0.0, 100.0, 20)))
            @if rows.is_empty() { div.note { "No assets match (or none are indexed yet)." } }
            table {
                tr { th { "asset" } th { "owner" } th { "sensitivity" } th { "versions" } th { "score" } th { "lineage" } th { "attestation" } th { "diversity" } th { "integrity" } th { "consent" } th { "alerts" } th { "inherited" } }
                @for r in &rows {
                    tr {
                        td { a href={ "/assets/" (r.asset_id) } { (r.asset_id) } @if r.tombstoned { " (erased)" } }
                        td { (actor_link(&r.owner)) }
                        td { (r.sensitivity) }
                        td { (r.versions) }
                        td { b { (opt_f(r.score, 1)) } }
                        td { (opt_f(r.lineage, 2)) } td { (opt_f(r.attestation, 2)) } td { (opt_f(r.diversity, 2)) }
                        td { (opt_f(r.integrity, 2)) } td { (opt_f(r.consent, 2)) } td { (opt_f(r.alerts, 2)) } td { (opt_f(r.inherited, 2)) }
                    }
                }
            }
            @if let Some(n) = next { @if rows.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) { a href={ "/assets?after=" (n) } { "next page →" } } }
        },
    ))
}

async fn asset_api(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetDetail>> {
    Ok(Json(data::asset(&s.pool, parse_id(&id)?).await?))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::BadRequest(format!("{id:?} is not an id (a positive number)")))
}

async fn asset_page(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Markup> {
    let d = data::asset(&s.pool, parse_id(&id)?).await?;
    let a = &d.asset;
    let nodes: Vec<(String, String, Option<f64>)> = d
        .graph_scores
        .iter()
        .map(|(k, s)| (k.clone(), format!("asset {k}"), *s))
        .collect();
    let points: Vec<(f64, f64)> = d
        .accesses_over_time
        .iter()
        .map(|(t, n)| (*t as f64, *n as f64))
        .collect();
    Ok(layout(
        &format!("Asset {}", a.asset_id),
        html! {
            p { "Owner " (actor_link(&a.owner)) " · " (a.sensitivity) " · registered at height " (a.registered_height)
                @if a.tombstoned { " · " b.bad { "erased (tombstoned)" } } }
            div.cards {
                div.card { "provenance score" b { (opt_f(a.score, 1)) } }
                div.card { "lineage" b { (opt_f(a.lineage, 2)) } }
                div.card { "attestation" b { (opt_f(a.attestation, 2)) } }
                div.card { "diversity" b { (opt_f(a.diversity, 2)) } }
                div.card { "integrity" b { (opt_f(a.integrity, 2)) } }
                div.card { "consent" b { (opt_f(a.consent, 2)) } }
                div.card { "alerts" b { (opt_f(a.alerts, 2)) } }
                div.card { "inherited" b { (opt_f(a.inherited, 2)) } }
            }
            h2 { "Lineage" }
            @if d.edges.is_empty() { p { "No parents and no derivatives." } }
            @else { (PreEscaped(svg::lineage(&nodes, &d.edges))) }
            h2 { "Versions" }
            table {
                tr { th { "version" } th { "height" } th { "publisher" } th { "content hash" } th { "schema" } th { "score" } th { "own" } th { "lineage" } th { "attestation" } th { "inherited" } th { "unattested ancestors" } }
                @for v in &d.versions {
                    tr { td { (v.version) } td { (v.height) } td { (actor_link(&v.publisher)) } td.mono { (short(&v.content_hash)) }
                        td { @if v.schema_hash.is_some() { "yes" } @else { "no" } } td { b { (opt_f(v.score, 1)) } } td { (opt_f(v.own, 2)) }
                        td { (opt_f(v.lineage, 2)) } td { (opt_f(v.attestation, 2)) } td { (opt_f(v.inherited, 2)) }
                        td { (v.unattested_ancestors.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) } }
                }
            }
            h2 { "Attestations" }
            table {
                tr { th { "version" } th { "height" } th { "attestor" } th { "claim" } th { "revoked" } }
                @for t in &d.attestations { tr { td { (t.version) } td { (t.height) } td { (actor_link(&t.attestor)) } td { (t.claim) } td { (t.revoked) } } }
            }
            h2 { "Accesses over time" }
            (PreEscaped(svg::line("accesses to this asset", &points, &time_label)))
            h2 { "Agreements" }
            (agreement_table(&d.agreements))
            h2 { "Consents in force" }
            (consent_table(&d.consents_in_force))
        },
    ))
}

// ---------------------------------------------------------------------------------- agreements

fn agreement_table(rows: &[AgreementRow]) -> Markup {
    html! {
        table {
            tr { th { "agreement" } th { "asset" } th { "provider" } th { "consumer" } th { "purpose" } th { "status" } th { "accesses / cap" } th { "expires" } th { "signed at" } }
            @for r in rows {
                tr {
                    td { (r.agreement_id) } td { a href={ "/assets/" (r.asset_id) } { (r.asset_id) } }
                    td { (actor_link(&r.provider)) } td { (actor_link(&r.consumer)) } td { (r.purpose) }
                    td { (r.status) @if r.consumer_suspended { " · " span.bad { "consumer suspended" } } }
                    td { (r.accesses) " / " (r.access_cap.map(|c| c.to_string()).unwrap_or_else(|| "∞".into()))
                        @if let Some(c) = r.access_cap { @if c > 0 && r.accesses * 10 >= c * 9 { " " span.sev-medium { "near cap" } } } }
                    td { (r.expires_at) } td { (r.signed_height) }
                }
            }
        }
    }
}

async fn agreements_api(
    State(s): State<AppState>,
    Query(p): Query<AgreementParams>,
) -> ApiResult<Json<Vec<AgreementRow>>> {
    Ok(Json(data::agreements(&s.pool, &p).await?))
}

async fn agreements_page(
    State(s): State<AppState>,
    Query(p): Query<AgreementParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = data::agreements(&s.pool, &p).await?;
    let usage: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            r.access_cap
                .filter(|c| *c > 0)
                .map(|c| r.accesses as f64 / c as f64)
        })
        .collect();
    Ok(layout(
        "Agreements",
        html! {
            form.filters method="get" {
                input name="consumer" placeholder="consumer" value=(p.consumer.clone().unwrap_or_default());
                input name="provider" placeholder="provider" value=(p.provider.clone().unwrap_or_default());
                select name="status" {
                    option value="" { "any status" }
                    @for v in ["active", "suspended", "terminated"] { option value=(v) selected[p.status.as_deref() == Some(v)] { (v) } }
                }
                button { "Filter" }
            }
            (export_links("agreements", &raw.unwrap_or_default()))
            (PreEscaped(svg::histogram("usage against the cap (capped agreements on this page)", &usage, 0.0, 1.0, 10)))
            @if rows.is_empty() { div.note { "No agreements match (or none are indexed yet)." } }
            (agreement_table(&rows))
            @if let Some(last) = rows.last() { @if rows.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) { a href={ "/agreements?after=" (last.agreement_id) } { "next page →" } } }
        },
    ))
}

// ------------------------------------------------------------------------------------ consents

fn consent_table(rows: &[ConsentRow]) -> Markup {
    html! {
        table {
            tr { th { "consent" } th { "subject" } th { "controller" } th { "scope" } th { "purposes" } th { "basis" } th { "method" } th { "granted at" } th { "state" } }
            @for c in rows {
                tr { td { (c.consent_id) } td.mono title=(c.subject) { (short(&c.subject)) } td { (actor_link(&c.controller)) } td { (c.scope) }
                    td { (c.purposes.join(", ")) } td { (c.legal_basis) } td { (c.method) } td { (c.granted_height) }
                    td { @match c.withdrawn_height { Some(h) => { span.bad { "withdrawn at " (h) } }, None => { "in force" } } } }
            }
        }
    }
}

async fn consents_api(
    State(s): State<AppState>,
    Query(p): Query<ConsentParams>,
) -> ApiResult<Json<Consents>> {
    Ok(Json(data::consents(&s.pool, &p).await?))
}

async fn consents_page(
    State(s): State<AppState>,
    Query(p): Query<ConsentParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let c = data::consents(&s.pool, &p).await?;
    let points: Vec<(f64, f64)> = c
        .withdrawals_over_time
        .iter()
        .map(|(t, n)| (*t as f64, *n as f64))
        .collect();
    Ok(layout(
        "Consents",
        html! {
            form.filters method="get" {
                input name="subject" placeholder="subject" value=(p.subject.clone().unwrap_or_default());
                input name="controller" placeholder="controller" value=(p.controller.clone().unwrap_or_default());
                select name="state" {
                    option value="" { "any state" }
                    @for v in ["in_force", "withdrawn"] { option value=(v) selected[p.state.as_deref() == Some(v)] { (v) } }
                }
                button { "Filter" }
            }
            (export_links("consents", &raw.unwrap_or_default()))
            (PreEscaped(svg::line("withdrawals over time", &points, &time_label)))
            @if c.consents.is_empty() { div.note { "No consents match (or none are indexed yet)." } }
            (consent_table(&c.consents))
            @if let Some(last) = c.consents.last() { @if c.consents.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) { a href={ "/consents?after=" (last.consent_id) } { "next page →" } } }
        },
    ))
}

// ----------------------------------------------------------------------------------- anomalies

fn anomaly_table(rows: &[AnomalyRow]) -> Markup {
    html! {
        table.anomalies {
            tr { th { "#" } th { "score" } th { "severity" } th { "found by" } th { "actor" } th { "window (UTC)" } th { "heights" } th { "why" } th { "on chain" } }
            @for (i, a) in rows.iter().enumerate() {
                tr data-actor=(a.actor) {
                    td { (i + 1) }
                    td { b { (format!("{:.3}", a.score)) } }
                    td class={ "sev-" (a.severity) } { (a.severity) }
                    td { (a.method) " · " (a.kind) }
                    td { (actor_link(&a.actor)) " (" (a.role) ")" }
                    td { (a.window_start) }
                    td { (a.first_height) ".." (a.last_height) }
                    td { (a.explanation) }
                    td { @if let Some(tx) = &a.report_tx {
                            "alert " (a.alert_seq.map(|s| s.to_string()).unwrap_or_default()) " in " (tx_link(&Some(tx.clone())))
                            @if a.suspended == Some(true) { " · " span.bad { "suspended" } }
                         } @else { "—" } }
                }
            }
        }
    }
}

async fn anomalies_api(
    State(s): State<AppState>,
    Query(p): Query<AnomalyParams>,
) -> ApiResult<Json<Vec<AnomalyRow>>> {
    Ok(Json(data::anomalies(&s.pool, &p).await?))
}

async fn anomalies_page(
    State(s): State<AppState>,
    Query(p): Query<AnomalyParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = data::anomalies(&s.pool, &p).await?;
    let scores: Vec<f64> = rows.iter().map(|r| r.score).collect();
    Ok(layout(
        "Anomalies",
        html! {
            form.filters method="get" {
                select name="severity" { option value="" { "any severity" } @for v in ["low", "medium", "high", "critical"] { option value=(v) selected[p.severity.as_deref() == Some(v)] { (v) } } }
                select name="method" { option value="" { "model and rule" } @for v in ["model", "rule"] { option value=(v) selected[p.method.as_deref() == Some(v)] { (v) } } }
                select name="role" { option value="" { "any role" } @for v in ["consumer", "provider", "attestor"] { option value=(v) selected[p.role.as_deref() == Some(v)] { (v) } } }
                button { "Filter" }
            }
            (export_links("anomalies", &raw.unwrap_or_default()))
            p { "Ranked by score. " b { "rule" } " findings are what the contracts' own rules decided (attempts after a withdrawal or a suspension); " b { "model" } " scores are learned from each actor's behaviour against its own past and its peers, with the features that explain them." }
            (PreEscaped(svg::histogram("scores on this page", &scores, 0.0, 1.0, 20)))
            @if rows.is_empty() { div.note { "No anomalies (yet): run " code { "datapact analyze" } " after ingesting." } }
            (anomaly_table(&rows))
            @if let Some(last) = rows.last() { @if rows.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) {
                a href={ "/anomalies?after_score=" (last.score) "&after_id=" (last.anomaly_id) } { "next page →" } } }
        },
    ))
}

// -------------------------------------------------------------------------------------- actors

#[derive(Debug, Default, Deserialize)]
pub struct ActorParams {
    pub before_height: Option<i64>,
}

async fn actor_api(
    State(s): State<AppState>,
    Path(addr): Path<String>,
    Query(p): Query<ActorParams>,
) -> ApiResult<Json<Actor>> {
    Ok(Json(data::actor(&s.pool, &addr, p.before_height).await?))
}

async fn actor_page(
    State(s): State<AppState>,
    Path(addr): Path<String>,
    Query(p): Query<ActorParams>,
) -> ApiResult<Markup> {
    let a = data::actor(&s.pool, &addr, p.before_height).await?;
    let points: Vec<(f64, f64)> = a.windows.iter().map(|(t, _, s)| (*t as f64, *s)).collect();
    Ok(layout(
        &format!("Actor {}", short(&a.actor)),
        html! {
            p.mono { (a.actor) }
            (PreEscaped(svg::line("anomaly score per window", &points, &time_label)))
            h2 { "Anomalies" }
            (anomaly_table(&a.anomalies))
            h2 { "Alerts and suspensions" }
            (alert_table(&a.alerts))
            table {
                tr { th { "height" } th { "alert" } th { "suspension" } }
                @for x in &a.suspensions { tr { td { (x.height) } td { (x.alert_seq) } td { @if x.lifted { "lifted" } @else { span.bad { "suspended" } } } } }
            }
            h2 { "Latest activity" }
            table.activity {
                tr { th { "height" } th { "time (UTC)" } th { "tx" } th { "what" } th { "agreement" } th { "purpose" } th { "subject" } th { "outcome" } }
                @for x in &a.activity {
                    tr { td { (x.height) } td { (x.time) } td { (tx_link(&x.tx_hash)) } td { (x.what) }
                        td { (x.agreement_id.map(|i| i.to_string()).unwrap_or_default()) } td { (x.purpose.clone().unwrap_or_default()) }
                        td.mono { (x.subject.as_deref().map(short).unwrap_or_default()) }
                        td { @if x.outcome.starts_with("refused") { span.bad { (x.outcome) } } @else { (x.outcome) } } }
                }
            }
            @if let Some(last) = a.activity.last() { a href={ "/actors/" (a.actor) "?before_height=" (last.height) } { "older activity →" } }
            h2 { "Agreements" }
            (agreement_table(&a.agreements))
        },
    ))
}

// --------------------------------------------------------------------------------------- audit

fn alert_table(rows: &[AlertRow]) -> Markup {
    html! {
        table {
            tr { th { "alert" } th { "time (UTC)" } th { "tx" } th { "kind" } th { "severity" } th { "subject" } th { "score" } th { "suspended" } th { "response" } th { "evidence" } }
            @for a in rows {
                tr { td { (a.alert_seq) } td { (a.time.clone().unwrap_or_default()) } td { (tx_link(&a.tx_hash)) } td { (a.kind) }
                    td class={ "sev-" (a.severity) } { (a.severity) } td { (actor_link(&a.subject)) } td { (a.score) }
                    td { @if a.suspended { span.bad { "yes" } } @else { "no" } } td { (a.response.clone().unwrap_or_default()) }
                    td.mono title=(a.evidence_hash) { (short(&a.evidence_hash)) } }
            }
        }
    }
}

async fn audit_data(s: &AppState, p: &AlertParams) -> ApiResult<Audit> {
    let mut audit = data::audit(&s.pool, p).await?;
    // the contract's own verification of its hash chain, when the chain is reachable
    if let (Some(chain), Some(d)) = (&s.chain, &s.deployment) {
        if let Ok(addr) = d.address("audit") {
            let check = async {
                let head: datapact_audit::msg::HeadResponse = chain
                    .smart(addr, &datapact_audit::msg::QueryMsg::Head {})
                    .await?;
                let from = head.seq.saturating_sub(999).max(1);
                let v: datapact_audit::msg::VerifyResponse = chain
                    .smart(
                        addr,
                        &datapact_audit::msg::QueryMsg::Verify { from, to: head.seq },
                    )
                    .await?;
                Ok::<_, anyhow::Error>(v)
            };
            if let Ok(Ok(v)) = tokio::time::timeout(std::time::Duration::from_secs(3), check).await
            {
                audit.chain_verified = Some(v.valid);
                audit.entries_checked = Some(v.checked);
                audit.first_invalid = v.first_invalid;
            }
        }
    }
    Ok(audit)
}

async fn audit_api(
    State(s): State<AppState>,
    Query(p): Query<AlertParams>,
) -> ApiResult<Json<Audit>> {
    Ok(Json(audit_data(&s, &p).await?))
}

async fn audit_page(
    State(s): State<AppState>,
    Query(p): Query<AlertParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let a = audit_data(&s, &p).await?;
    Ok(layout(
        "Audit trail",
        html! {
            @match a.chain_verified {
                Some(true) => { p.ok { "The audit contract's hash chain verifies (" (a.entries_checked.unwrap_or(0)) " latest entries checked on chain)." } },
                Some(false) => { p.bad { "The audit contract's hash chain does NOT verify: first bad entry " (a.first_invalid.map(|x| x.to_string()).unwrap_or_default()) "." } },
                None => { p { "The chain could not be asked to verify the hash chain (no node configured or reachable)." } },
            }
            (export_links("alerts", &raw.unwrap_or_default()))
            h2 { "Alerts" }
            @if a.alerts.is_empty() { div.note { "No alerts on chain yet." } }
            (alert_table(&a.alerts))
            h2 { "Responses" }
            table {
                tr { th { "height" } th { "alert" } th { "response" } th { "by" } }
                @for c in &a.changes { tr { td { (c.height) } td { (c.alert_seq.map(|x| x.to_string()).unwrap_or_default()) } td { (c.change) } td { (actor_link(&c.actor)) } } }
            }
            h2 { "Suspensions" }
            table {
                tr { th { "height" } th { "consumer" } th { "alert" } th { "state" } }
                @for x in &a.suspensions { tr { td { (x.height) } td { (actor_link(&x.consumer)) } td { (x.alert_seq) } td { @if x.lifted { "lifted" } @else { span.bad { "suspended" } } } } }
            }
        },
    ))
}

// ------------------------------------------------------------------------------------------ tx

async fn tx_api(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<Json<TxDetail>> {
    Ok(Json(data::tx(&s.pool, &hash).await?))
}

async fn tx_page(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<Markup> {
    let d = data::tx(&s.pool, &hash).await?;
    let t = &d.tx;
    Ok(layout(
        "Transaction",
        html! {
            table.tx {
                tr { th { "hash" } td.mono id="tx-hash" { (t.hash) } }
                tr { th { "height" } td id="tx-height" { (t.height) } }
                tr { th { "time (UTC)" } td { (t.time.clone().unwrap_or_default()) } }
                tr { th { "sender" } td { @if let Some(s) = &t.sender { (actor_link(s)) } } }
                tr { th { "result" } td { @if t.success { span.ok { "success" } } @else { span.bad { "failed (code " (t.code) ")" } } } }
                @if let Some(l) = &t.log { tr { th { "log" } td.mono { (l) } } }
                tr { th { "gas used" } td { (t.gas_used) } }
                tr { th { "contract" } td.mono { (t.contract.clone().unwrap_or_default()) } }
                tr { th { "message" } td.mono { (t.msg.as_ref().map(|m| m.to_string()).unwrap_or_default()) } }
            }
            h2 { "Events" }
            table {
                tr { th { "type" } th { "action" } th { "attributes" } }
                @for (kind, action, attrs) in &d.events { tr { td { (kind) } td { (action.clone().unwrap_or_default()) } td.mono { (attrs.to_string()) } } }
            }
        },
    ))
}
