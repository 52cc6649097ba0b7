//! Analysts' feedback (docs/anomalies.md, "Feedback"): suppressions — an actor's anomalies, of
//! one kind or every kind, expected until a time or until lifted — and alerts the responders
//! resolved as false positives. The sentinel does not report an anomaly either covers; the
//! dashboard marks them, and shows the measured precision of past alerts.

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

/// A resolution that begins with this (in any case) is the responder's verdict that the alert
/// was wrong (`datapact respond resolve N --false-positive` writes it).
pub const FALSE_POSITIVE: &str = "false positive";

/// Days a false-positive verdict keeps the same actor's anomalies of the same kind from being
/// reported again, counted from the block that recorded the verdict.
pub const FALSE_POSITIVE_DAYS: i64 = 7;

/// A standing suppression `s` (of `suppressions`) that covers the anomaly `a`: the same actor
/// (and kind, unless every kind), not lifted, its term reaching the window.
const SUPPRESSION_COVERS: &str = "s.role = a.role and s.actor = a.actor \
     and (s.kind is null or s.kind = a.kind) and s.lifted_at is null \
     and (s.until is null or s.until > a.window_start)";

/// A false-positive verdict `f` (of `alert_resolutions`) that covers the anomaly `a`: the same
/// actor and kind, recorded less than [`FALSE_POSITIVE_DAYS`] before the window starts (or
/// after it: the same episode, not reported yet).
fn false_positive_covers() -> String {
    format!(
        "f.false_positive and f.subject = a.actor and f.kind = a.kind \
         and a.window_start < f.resolved_at + interval '{FALSE_POSITIVE_DAYS} days'"
    )
}

/// The condition an anomaly `a` (a row of `anomalies`) meets when no feedback covers it.
pub fn uncovered_sql() -> String {
    format!(
        "not exists (select 1 from suppressions s where {SUPPRESSION_COVERS}) \
         and not exists (select 1 from alert_resolutions f where {})",
        false_positive_covers()
    )
}

/// Why feedback covers the anomaly `a`, or null: for the dashboard.
pub fn covered_reason_sql() -> String {
    format!(
        "coalesce((select 'suppressed #' || s.suppression_id || ': ' || s.reason from suppressions s \
         where {SUPPRESSION_COVERS} order by s.suppression_id limit 1), \
         (select 'alert ' || f.alert_seq || ' resolved as a false positive' from alert_resolutions f \
         where {} order by f.alert_seq limit 1))",
        false_positive_covers()
    )
}

/// One suppression.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Suppression {
    pub suppression_id: i64,
    pub role: String,
    pub actor: String,
    /// None: every kind
    pub kind: Option<String>,
    /// unix seconds; None: until lifted
    pub until: Option<i64>,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    pub lifted_at: Option<i64>,
}

/// Records a suppression; returns its id.
pub async fn suppress(
    pool: &PgPool,
    role: &str,
    actor: &str,
    kind: Option<&str>,
    until: Option<i64>,
    reason: &str,
    created_by: &str,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "insert into suppressions (role, actor, kind, until, reason, created_by) \
         values ($1, $2, $3, to_timestamp($4), $5, $6) returning suppression_id",
    )
    .bind(role)
    .bind(actor)
    .bind(kind)
    .bind(until.map(|t| t as f64))
    .bind(reason)
    .bind(created_by)
    .fetch_one(pool)
    .await
    .context("recording the suppression")
}

/// Lifts a suppression (the row stays, with the time it was lifted). False when there is no
/// such suppression standing.
pub async fn lift(pool: &PgPool, suppression_id: i64) -> anyhow::Result<bool> {
    let n = sqlx::query(
        "update suppressions set lifted_at = now() where suppression_id = $1 and lifted_at is null",
    )
    .bind(suppression_id)
    .execute(pool)
    .await
    .context("lifting the suppression")?
    .rows_affected();
    Ok(n == 1)
}

/// The suppressions standing now (`all`: every one ever made), newest first.
pub async fn suppressions(pool: &PgPool, all: bool) -> anyhow::Result<Vec<Suppression>> {
    sqlx::query_as(
        "select suppression_id, role, actor, kind, extract(epoch from until)::bigint as until, reason, \
         created_by, extract(epoch from created_at)::bigint as created_at, \
         extract(epoch from lifted_at)::bigint as lifted_at from suppressions \
         where $1 or (lifted_at is null and (until is null or until > now())) \
         order by suppression_id desc",
    )
    .bind(all)
    .fetch_all(pool)
    .await
    .context("reading the suppressions")
}

/// Resolved alerts of one severity: how many, and how many were false positives.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct Resolved {
    pub severity: String,
    pub resolved: i64,
    pub false_positives: i64,
}

/// The measured precision of past alerts: of the alerts responders resolved, the share that
/// were not false positives.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertPrecision {
    pub alerts: i64,
    pub resolved: i64,
    pub false_positives: i64,
    /// None until an alert is resolved
    pub precision: Option<f64>,
    pub by_severity: Vec<Resolved>,
}

pub async fn alert_precision(pool: &PgPool) -> anyhow::Result<AlertPrecision> {
    let alerts: i64 = sqlx::query_scalar("select count(*) from alerts")
        .fetch_one(pool)
        .await
        .context("counting alerts")?;
    let by_severity: Vec<Resolved> = sqlx::query_as(
        "select severity, count(distinct alert_seq) as resolved, \
         count(distinct alert_seq) filter (where false_positive) as false_positives \
         from alert_resolutions group by severity \
         order by array_position(array['critical','high','medium','low','info'], severity)",
    )
    .fetch_all(pool)
    .await
    .context("reading resolved alerts")?;
    let resolved: i64 = by_severity.iter().map(|r| r.resolved).sum();
    let false_positives: i64 = by_severity.iter().map(|r| r.false_positives).sum();
    Ok(AlertPrecision {
        alerts,
        resolved,
        false_positives,
        precision: (resolved > 0).then(|| (resolved - false_positives) as f64 / resolved as f64),
        by_severity,
    })
}
