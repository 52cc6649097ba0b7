//! `/agreements`: agreements with their status and usage against caps.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::layout::*;
use super::params::*;
use super::{ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agreements", get(agreements_page))
        .route("/api/agreements", get(agreements_api))
}

#[derive(Debug, Default, Deserialize)]
pub struct AgreementParams {
    pub consumer: Option<String>,
    pub provider: Option<String>,
    /// active, suspended or terminated
    pub status: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AgreementRow {
    pub agreement_id: i64,
    pub asset_id: i64,
    pub provider: String,
    pub consumer: String,
    pub purpose: String,
    pub price: String,
    pub expires_at: String,
    pub signed_height: i64,
    pub access_cap: Option<i64>,
    pub accesses: i64,
    pub status: String,
    pub consumer_suspended: bool,
}

pub(super) const AGREEMENT_SELECT: &str = "select * from (select a.agreement_id, a.asset_id, a.provider, a.consumer, a.purpose, a.price, to_char(a.expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as expires_at, \
     a.height as signed_height, o.access_cap, \
     coalesce((select max(x.access_count) from accesses x where x.agreement_id = a.agreement_id), 0) as accesses, \
     coalesce((select case c.change when 'suspend' then 'suspended' when 'terminate' then 'terminated' else 'active' end \
        from agreement_changes c where c.agreement_id = a.agreement_id and c.change in ('suspend', 'resume', 'terminate') \
        order by c.height desc, c.tx_index desc, c.event_index desc limit 1), 'active') as status, \
     coalesce((select not s.lifted from consumer_suspensions s where s.consumer = a.consumer \
        order by s.height desc, s.tx_index desc, s.event_index desc limit 1), false) as consumer_suspended \
     from agreements a left join offers o on o.offer_id = a.offer_id) a";

pub async fn agreements(pool: &PgPool, p: &AgreementParams) -> ApiResult<Vec<AgreementRow>> {
    let lim = limit(p.limit)?;
    let consumer = address("consumer", &p.consumer)?;
    let provider = address("provider", &p.provider)?;
    let status = one_of("status", &p.status, &["active", "suspended", "terminated"])?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{AGREEMENT_SELECT} where ($1::text is null or a.consumer = $1) and ($2::text is null or a.provider = $2) \
         and ($3::text is null or a.status = $3) and ($4::bigint is null or a.agreement_id > $4) \
         order by a.agreement_id limit $5"
    )))
    .bind(consumer)
    .bind(provider)
    .bind(status)
    .bind(p.after)
    .bind(lim)
    .fetch_all(pool)
    .await?)
}

pub(super) fn agreement_table(rows: &[AgreementRow]) -> Markup {
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
    Ok(Json(agreements(&s.pool, &p).await?))
}

async fn agreements_page(
    State(s): State<AppState>,
    Query(p): Query<AgreementParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = agreements(&s.pool, &p).await?;
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
            (PreEscaped(datapact_analytics::svg::histogram("usage against the cap (capped agreements on this page)", &usage, 0.0, 1.0, 10)))
            @if rows.is_empty() { div.note { "No agreements match (or none are indexed yet)." } }
            (agreement_table(&rows))
            @if let Some(last) = rows.last() { @if rows.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) { a href={ "/agreements?after=" (last.agreement_id) } { "next page →" } } }
        },
    ))
}
