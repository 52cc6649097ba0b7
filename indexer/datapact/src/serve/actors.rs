//! `/actors/ADDR`: one actor's timeline of windows, its transactions, alerts and suspensions.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::agreements::{agreement_table, AgreementRow, AGREEMENT_SELECT};
use super::anomalies::{anomalies, anomaly_table, AnomalyParams, AnomalyRow};
use super::audit::{alert_table, alerts, AlertParams, AlertRow, SuspensionRow};
use super::layout::*;
use super::params::*;
use super::{ApiError, ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/actors/{addr}", get(actor_page))
        .route("/api/actors/{addr}", get(actor_api))
}

#[derive(Debug, Serialize)]
pub struct Actor {
    pub actor: String,
    /// (window start unix s, role, score)
    pub windows: Vec<(i64, String, f64)>,
    pub anomalies: Vec<AnomalyRow>,
    pub activity: Vec<ActivityRow>,
    pub agreements: Vec<AgreementRow>,
    pub alerts: Vec<AlertRow>,
    pub suspensions: Vec<SuspensionRow>,
}

/// An access or a refused attempt, with the transaction behind it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ActivityRow {
    pub height: i64,
    pub time: String,
    pub tx_hash: Option<String>,
    pub what: String,
    pub agreement_id: Option<i64>,
    pub purpose: Option<String>,
    pub subject: Option<String>,
    pub outcome: String,
}

pub async fn actor(pool: &PgPool, addr: &str, before_height: Option<i64>) -> ApiResult<Actor> {
    let addr = address("actor", &Some(addr.to_string()))?
        .ok_or_else(|| ApiError::BadRequest("an actor address is needed".into()))?;
    let windows = sqlx::query_as(
        "select extract(epoch from window_start)::bigint, role, score from actor_windows where actor = $1 order by 1 limit 5000",
    )
    .bind(&addr)
    .fetch_all(pool)
    .await?;
    let anomalies = anomalies(
        pool,
        &AnomalyParams {
            actor: Some(addr.clone()),
            limit: Some(100),
            ..Default::default()
        },
    )
    .await?;
    let activity = sqlx::query_as(
        "select * from ( \
           (select a.height, to_char(b.time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as time, t.hash as tx_hash, 'access' as what, \
             a.agreement_id, a.purpose, a.subject, 'allowed' as outcome \
            from accesses a join blocks b using (height) left join txs t on t.height = a.height and t.tx_index = a.tx_index \
            where a.consumer = $1 and ($2::bigint is null or a.height < $2) order by a.height desc limit 100) \
           union all \
           (select d.height, to_char(b.time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), t.hash, 'attempt', d.agreement_id, d.purpose, d.subject, \
             'refused: ' || d.reason \
            from denied_attempts d join blocks b using (height) left join txs t on t.height = d.height and t.tx_index = d.tx_index \
            where d.consumer = $1 and ($2::bigint is null or d.height < $2) order by d.height desc limit 100) \
         ) x order by height desc limit 100",
    )
    .bind(&addr)
    .bind(before_height)
    .fetch_all(pool)
    .await?;
    let agreements = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{AGREEMENT_SELECT} where a.consumer = $1 or a.provider = $1 order by a.agreement_id limit 200"
    )))
    .bind(&addr)
    .fetch_all(pool)
    .await?;
    let alerts = alerts(
        pool,
        &AlertParams {
            subject: Some(addr.clone()),
            ..Default::default()
        },
    )
    .await?;
    let suspensions = sqlx::query_as(
        "select height, consumer, alert_seq, lifted from consumer_suspensions where consumer = $1 order by height desc limit 100",
    )
    .bind(&addr)
    .fetch_all(pool)
    .await?;
    Ok(Actor {
        actor: addr,
        windows,
        anomalies,
        activity,
        agreements,
        alerts,
        suspensions,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ActorParams {
    pub before_height: Option<i64>,
}

async fn actor_api(
    State(s): State<AppState>,
    Path(addr): Path<String>,
    Query(p): Query<ActorParams>,
) -> ApiResult<Json<Actor>> {
    Ok(Json(actor(&s.pool, &addr, p.before_height).await?))
}

async fn actor_page(
    State(s): State<AppState>,
    Path(addr): Path<String>,
    Query(p): Query<ActorParams>,
) -> ApiResult<Markup> {
    let a = actor(&s.pool, &addr, p.before_height).await?;
    let points: Vec<(f64, f64)> = a.windows.iter().map(|(t, _, s)| (*t as f64, *s)).collect();
    Ok(layout(
        &format!("Actor {}", short(&a.actor)),
        html! {
            p.mono { (a.actor) }
            (PreEscaped(datapact_analytics::svg::line("anomaly score per window", &points, &time_label)))
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
