//! `/consents`: consent records, their state and withdrawals over time.

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
        .route("/consents", get(consents_page))
        .route("/api/consents", get(consents_api))
}

#[derive(Debug, Default, Deserialize)]
pub struct ConsentParams {
    pub subject: Option<String>,
    pub controller: Option<String>,
    /// in_force or withdrawn
    pub state: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ConsentRow {
    pub consent_id: i64,
    pub subject: String,
    pub controller: String,
    pub scope: String,
    pub purposes: Vec<String>,
    pub legal_basis: String,
    pub method: String,
    pub expires_at: Option<String>,
    pub granted_height: i64,
    pub withdrawn_height: Option<i64>,
}

pub(super) const CONSENT_SELECT: &str = "select c.consent_id, c.subject, c.controller, c.scope, c.purposes, c.legal_basis, c.method, to_char(c.expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as expires_at, \
     c.height as granted_height, w.height as withdrawn_height from consents c \
     left join consent_withdrawals w on w.consent_id = c.consent_id";

#[derive(Debug, Serialize)]
pub struct Consents {
    pub consents: Vec<ConsentRow>,
    /// (bucket start unix s, withdrawals)
    pub withdrawals_over_time: Vec<(i64, i64)>,
}

pub async fn consents(pool: &PgPool, p: &ConsentParams) -> ApiResult<Consents> {
    let lim = limit(p.limit)?;
    let subject = address("subject", &p.subject)?;
    let controller = address("controller", &p.controller)?;
    let state = one_of("state", &p.state, &["in_force", "withdrawn"])?;
    let consents = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CONSENT_SELECT} where ($1::text is null or c.subject = $1) and ($2::text is null or c.controller = $2) \
         and ($3::text is null or ($3 = 'withdrawn') = (w.consent_id is not null)) \
         and ($4::bigint is null or c.consent_id > $4) order by c.consent_id limit $5"
    )))
    .bind(subject)
    .bind(controller)
    .bind(state)
    .bind(p.after)
    .bind(lim)
    .fetch_all(pool)
    .await?;
    let withdrawals_over_time = sqlx::query_as(
        "with s as (select min(b.time) t0, greatest(extract(epoch from max(b.time) - min(b.time)), 1) span \
           from consent_withdrawals w join blocks b using (height)) \
         select (extract(epoch from s.t0) + floor(extract(epoch from b.time - s.t0) / (s.span / 30)) * (s.span / 30))::bigint, count(*) \
         from consent_withdrawals w join blocks b using (height), s group by 1 order by 1",
    )
    .fetch_all(pool)
    .await?;
    Ok(Consents {
        consents,
        withdrawals_over_time,
    })
}

pub(super) fn consent_table(rows: &[ConsentRow]) -> Markup {
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
    Ok(Json(consents(&s.pool, &p).await?))
}

async fn consents_page(
    State(s): State<AppState>,
    Query(p): Query<ConsentParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let c = consents(&s.pool, &p).await?;
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
            (PreEscaped(datapact_analytics::svg::line("withdrawals over time", &points, &time_label)))
            @if c.consents.is_empty() { div.note { "No consents match (or none are indexed yet)." } }
            (consent_table(&c.consents))
            @if let Some(last) = c.consents.last() { @if c.consents.len() as i64 == p.limit.unwrap_or(DEFAULT_LIMIT) { a href={ "/consents?after=" (last.consent_id) } { "next page →" } } }
        },
    ))
}
