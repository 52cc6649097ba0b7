//! `/audit`: alerts, suspensions, responders' actions, and the contract's own hash-chain check.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::layout::*;
use super::params::*;
use super::{ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit_page))
        .route("/api/audit", get(audit_api))
}

#[derive(Debug, Default, Deserialize)]
pub struct AlertParams {
    pub subject: Option<String>,
    pub severity: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertRow {
    pub alert_seq: i64,
    pub height: i64,
    pub time: Option<String>,
    pub tx_hash: Option<String>,
    pub sentinel: String,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub score: String,
    pub model_version: String,
    pub evidence_hash: String,
    pub entry_hash: String,
    pub suspended: bool,
    /// the latest response: acknowledge, resolve, lift_suspension
    pub response: Option<String>,
}

pub async fn alerts(pool: &PgPool, p: &AlertParams) -> ApiResult<Vec<AlertRow>> {
    let lim = limit(p.limit)?;
    let subject = address("subject", &p.subject)?;
    let severity = one_of(
        "severity",
        &p.severity,
        &["info", "low", "medium", "high", "critical"],
    )?;
    Ok(sqlx::query_as(
        "select a.alert_seq, a.height, to_char(b.time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as time, t.hash as tx_hash, \
         a.sentinel, a.kind, a.severity, a.subject, a.score, a.model_version, a.evidence_hash, a.entry_hash, a.suspended, \
         (select c.change from audit_changes c where c.alert_seq = a.alert_seq order by c.height desc, c.event_index desc limit 1) as response \
         from alerts a left join blocks b using (height) left join txs t on t.height = a.height and t.tx_index = a.tx_index \
         where ($1::text is null or a.subject = $1) and ($2::text is null or a.severity = $2) \
         and ($3::bigint is null or a.alert_seq < $3) order by a.alert_seq desc limit $4",
    )
    .bind(subject)
    .bind(severity)
    .bind(p.after)
    .bind(lim)
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct SuspensionRow {
    pub height: i64,
    pub consumer: String,
    pub alert_seq: i64,
    pub lifted: bool,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AuditChangeRow {
    pub height: i64,
    pub alert_seq: Option<i64>,
    pub change: String,
    pub actor: String,
}

#[derive(Debug, Serialize)]
pub struct Audit {
    pub alerts: Vec<AlertRow>,
    pub changes: Vec<AuditChangeRow>,
    pub suspensions: Vec<SuspensionRow>,
    /// the audit contract's own check of its hash chain, when the chain could be asked
    pub chain_verified: Option<bool>,
    pub entries_checked: Option<u64>,
    pub first_invalid: Option<u64>,
    /// of the alerts responders resolved, the share that were not false positives
    pub precision: datapact_analytics::feedback::AlertPrecision,
    /// the analysts' suppressions standing now
    pub suppressions: Vec<datapact_analytics::feedback::Suppression>,
}

pub async fn audit(pool: &PgPool, p: &AlertParams) -> ApiResult<Audit> {
    Ok(Audit {
        alerts: alerts(pool, p).await?,
        changes: sqlx::query_as(
            "select height, alert_seq, change, actor from audit_changes order by height desc, event_index desc limit 200",
        )
        .fetch_all(pool)
        .await?,
        suspensions: sqlx::query_as(
            "select height, consumer, alert_seq, lifted from consumer_suspensions order by height desc limit 200",
        )
        .fetch_all(pool)
        .await?,
        chain_verified: None,
        entries_checked: None,
        first_invalid: None,
        precision: datapact_analytics::feedback::alert_precision(pool).await?,
        suppressions: datapact_analytics::feedback::suppressions(pool, false).await?,
    })
}

pub(super) fn alert_table(rows: &[AlertRow]) -> Markup {
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
    let mut audit = audit(&s.pool, p).await?;
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
            h2 { "Measured precision of past alerts" }
            @let pr = &a.precision;
            @match pr.precision {
                Some(x) => p { "Of " (pr.resolved) " alerts responders resolved, " (pr.false_positives) " were false positives: precision "
                    b { (format!("{:.0}%", x * 100.0)) } " (" (pr.alerts - pr.resolved) " of " (pr.alerts) " alerts not resolved yet). A false-positive verdict ("
                    code { "datapact respond resolve N --false-positive" } ") keeps the sentinel from reporting the same actor and kind for "
                    (datapact_analytics::feedback::FALSE_POSITIVE_DAYS) " days." },
                None => p { "No alert resolved yet (" (pr.alerts) " on chain): the precision of past alerts is measured from responders' verdicts ("
                    code { "datapact respond resolve N [--false-positive]" } ")." },
            }
            @if !pr.by_severity.is_empty() {
                table {
                    tr { th { "severity" } th { "resolved" } th { "false positives" } th { "precision" } }
                    @for r in &pr.by_severity { tr { td class={ "sev-" (r.severity) } { (r.severity) } td { (r.resolved) } td { (r.false_positives) }
                        td { (format!("{:.0}%", 100.0 * (r.resolved - r.false_positives) as f64 / r.resolved.max(1) as f64)) } } }
                }
            }
            h2 { "Suppressions" }
            @if a.suppressions.is_empty() { p { "None standing (" code { "datapact suppress add --actor … --reason …" } ")." } }
            @else {
                table {
                    tr { th { "#" } th { "actor" } th { "kind" } th { "until" } th { "by" } th { "why" } }
                    @for x in &a.suppressions { tr { td { (x.suppression_id) } td { (actor_link(&x.actor)) " (" (x.role) ")" }
                        td { (x.kind.clone().unwrap_or_else(|| "every kind".into())) }
                        td { (x.until.map(|t| time_label(t as f64)).unwrap_or_else(|| "lifted by hand".into())) }
                        td { (x.created_by) } td { (x.reason) } } }
                }
            }
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
