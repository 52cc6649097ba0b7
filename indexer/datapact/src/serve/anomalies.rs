//! `/anomalies`: anomalies ranked, with their explanations.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::layout::*;
use super::params::*;
use super::{ApiError, ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anomalies", get(anomalies_page))
        .route("/api/anomalies", get(anomalies_api))
}

#[derive(Debug, Default, Deserialize)]
pub struct AnomalyParams {
    pub severity: Option<String>,
    pub method: Option<String>,
    pub role: Option<String>,
    pub actor: Option<String>,
    /// keyset: the score and id of the previous page's last row
    pub after_score: Option<f64>,
    pub after_id: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AnomalyRow {
    pub anomaly_id: i64,
    pub role: String,
    pub actor: String,
    pub window_start: String,
    pub window_end: String,
    pub method: String,
    pub kind: String,
    pub score: f64,
    pub severity: String,
    pub explanation: String,
    pub first_height: i64,
    pub last_height: i64,
    pub txs: Vec<String>,
    pub targets: Vec<String>,
    /// the sentinel's alert for it, when reported
    pub report_tx: Option<String>,
    pub alert_seq: Option<i64>,
    pub suspended: Option<bool>,
    /// the analysts' feedback that holds it back from the sentinel (a suppression, or an alert
    /// on the same actor and kind resolved as a false positive), when any
    pub covered_by: Option<String>,
}

fn anomaly_select() -> String {
    format!(
        "select a.anomaly_id, a.role, a.actor, to_char(a.window_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as window_start, \
         to_char(a.window_end at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as window_end, a.method, a.kind, a.score, a.severity, a.explanation, \
         a.first_height, a.last_height, a.txs, a.targets, r.tx_hash as report_tx, r.alert_seq, r.suspended, \
         {} as covered_by \
         from anomalies a left join sentinel_reports r on r.role = a.role and r.actor = a.actor \
           and r.window_start = a.window_start and r.kind = a.kind and r.status = 'reported'",
        datapact_analytics::feedback::covered_reason_sql()
    )
}

pub async fn anomalies(pool: &PgPool, p: &AnomalyParams) -> ApiResult<Vec<AnomalyRow>> {
    let lim = limit(p.limit)?;
    let severity = one_of(
        "severity",
        &p.severity,
        &["low", "medium", "high", "critical"],
    )?;
    let method = one_of("method", &p.method, &["model", "rule"])?;
    let role = one_of("role", &p.role, &["consumer", "provider", "attestor"])?;
    let actor = address("actor", &p.actor)?;
    if p.after_score.is_some() != p.after_id.is_some() {
        return Err(ApiError::BadRequest(
            "after_score and after_id go together (the last row of the previous page)".into(),
        ));
    }
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{} where ($1::text is null or a.severity = $1) and ($2::text is null or a.method = $2) \
         and ($3::text is null or a.role = $3) and ($4::text is null or a.actor = $4) \
         and ($5::float8 is null or (a.score, -a.anomaly_id) < ($5, -$6::bigint)) \
         order by a.score desc, a.anomaly_id limit $7",
        anomaly_select()
    )))
    .bind(severity)
    .bind(method)
    .bind(role)
    .bind(actor)
    .bind(p.after_score)
    .bind(p.after_id)
    .bind(lim)
    .fetch_all(pool)
    .await?)
}

/// Links to the assets an anomaly names (`asset:<id>@<version>` targets, as the laundering rule
/// writes them); a target that does not parse is left to the explanation's text.
fn asset_links(targets: &[String]) -> Markup {
    use datapact_analytics::target;
    let assets: Vec<(u64, String)> = targets
        .iter()
        .filter_map(|t| {
            let id = target::asset_of(t)?;
            let shown = target::version_of(t).map_or(id.to_string(), |(a, v)| format!("{a}@{v}"));
            Some((id, shown))
        })
        .collect();
    html! {
        @for (id, shown) in assets {
            " · " a.asset href={ "/assets/" (id) } { "asset " (shown) }
        }
    }
}

pub(super) fn anomaly_table(rows: &[AnomalyRow]) -> Markup {
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
                    td { (a.explanation) (asset_links(&a.targets)) }
                    td { @if let Some(tx) = &a.report_tx {
                            "alert " (a.alert_seq.map(|s| s.to_string()).unwrap_or_default()) " in " (tx_link(&Some(tx.clone())))
                            @if a.suspended == Some(true) { " · " span.bad { "suspended" } }
                         } @else if let Some(why) = &a.covered_by { span.note title=(why) { "held back: " (why) } }
                         @else { "—" } }
                }
            }
        }
    }
}

async fn anomalies_api(
    State(s): State<AppState>,
    Query(p): Query<AnomalyParams>,
) -> ApiResult<Json<Vec<AnomalyRow>>> {
    Ok(Json(anomalies(&s.pool, &p).await?))
}

async fn anomalies_page(
    State(s): State<AppState>,
    Query(p): Query<AnomalyParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = anomalies(&s.pool, &p).await?;
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
            p { "Ranked by score. " b { "rule" } " findings are what the contracts' own rules decided (attempts after a withdrawal or a suspension; a product attested over unattested sources of its own or of wallets without a record, linked to its asset); " b { "model" } " scores are learned from each actor's behaviour against its own past and its peers, with the features that explain them." }
            (PreEscaped(datapact_analytics::svg::histogram("scores on this page", &scores, 0.0, 1.0, 20)))
            @if rows.is_empty() { div.note { "No anomalies (yet): run " code { "datapact analyze" } " after ingesting." } }
            (anomaly_table(&rows))
            @if let Some(last) = rows.last() { @if rows.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) {
                a href={ "/anomalies?after_score=" (last.score) "&after_id=" (last.anomaly_id) } { "next page →" } } }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_targets_link_to_their_assets_and_anything_else_is_left_alone() {
        let targets = [
            "asset:12@3",
            "agreement:4",
            "asset:",
            "asset:x@1",
            "asset:99999999999999999999999@1",
            "asset:7",
        ]
        .map(String::from);
        let html = asset_links(&targets).into_string();
        assert_eq!(html.matches("<a ").count(), 2, "{html}");
        assert!(
            html.contains(r#"href="/assets/12""#) && html.contains("asset 12@3"),
            "{html}"
        );
        assert!(html.contains(r#"href="/assets/7""#), "{html}");
    }
}
