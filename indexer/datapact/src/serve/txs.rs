//! `/tx/HASH`: one transaction, its decoded message and its events.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup};
use serde::Serialize;
use sqlx::PgPool;

use super::layout::*;
use super::{ApiError, ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tx/{hash}", get(tx_page))
        .route("/api/tx/{hash}", get(tx_api))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct TxRow {
    pub height: i64,
    pub tx_index: i32,
    pub hash: String,
    pub time: Option<String>,
    pub sender: Option<String>,
    pub success: bool,
    pub code: i32,
    pub log: Option<String>,
    pub gas_used: i64,
    pub contract: Option<String>,
    pub action: Option<String>,
    pub msg: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct TxDetail {
    pub tx: TxRow,
    /// (kind, action, attributes)
    pub events: Vec<(String, Option<String>, serde_json::Value)>,
}

pub async fn tx(pool: &PgPool, hash: &str) -> ApiResult<TxDetail> {
    let hash = hash.trim().to_ascii_uppercase();
    if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "{hash:?} is not a transaction hash (64 hex characters)"
        )));
    }
    let tx: TxRow = sqlx::query_as(
        "select t.height, t.tx_index, t.hash, to_char(b.time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as time, t.sender, t.success, t.code, t.log, \
         t.gas_used, t.contract, t.action, t.msg from txs t left join blocks b using (height) where t.hash = $1 limit 1",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("transaction {hash} is not indexed")))?;
    let events = sqlx::query_as(
        "select kind, action, attrs from events where height = $1 and tx_index = $2 order by event_index",
    )
    .bind(tx.height)
    .bind(tx.tx_index)
    .fetch_all(pool)
    .await?;
    Ok(TxDetail { tx, events })
}

async fn tx_api(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<Json<TxDetail>> {
    Ok(Json(tx(&s.pool, &hash).await?))
}

async fn tx_page(State(s): State<AppState>, Path(hash): Path<String>) -> ApiResult<Markup> {
    let d = tx(&s.pool, &hash).await?;
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
