//! The dashboard's data: one function per view, parameterized SQL, keyset pagination. Every
//! function returns serializable rows, which the HTML pages render and the API returns as is.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

fn limit(l: Option<i64>) -> ApiResult<i64> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n}: use 1 to {MAX_LIMIT}"
        ))),
    }
}

fn address(field: &str, v: &Option<String>) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(a)
            if a.len() <= 128
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_') =>
        {
            Ok(Some(a.to_string()))
        }
        Some(a) => Err(ApiError::BadRequest(format!(
            "{field} {a:?} is not an address or a subject id"
        ))),
    }
}

fn one_of(field: &str, v: &Option<String>, allowed: &[&str]) -> ApiResult<Option<String>> {
    match v.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(x) if allowed.contains(&x) => Ok(Some(x.to_string())),
        Some(x) => Err(ApiError::BadRequest(format!(
            "{field} {x:?}: use one of {}",
            allowed.join(", ")
        ))),
    }
}

// ---------------------------------------------------------------------------------- overview

#[derive(Debug, Serialize)]
pub struct Overview {
    /// false: nothing indexed yet
    pub indexed: bool,
    pub chain_id: Option<String>,
    pub indexed_height: Option<i64>,
    pub indexed_at: Option<String>,
    pub chain_head: Option<u64>,
    pub lag_blocks: Option<i64>,
    /// over the last 200 indexed blocks, by their block times
    pub blocks_per_second: Option<f64>,
    pub events_per_second: Option<f64>,
    pub counts: Vec<(String, i64)>,
    pub recent_alerts: Vec<AlertRow>,
    pub top_anomalies: Vec<AnomalyRow>,
    pub last_run: Option<RunRow>,
    /// (bucket start unix s, accesses)
    pub accesses_over_time: Vec<(i64, i64)>,
    pub score_histogram: Vec<f64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub run_id: i64,
    pub finished_at: Option<String>,
    pub model_version: String,
    pub window_seconds: i64,
    pub to_height: i64,
    pub report_dir: Option<String>,
}

/// The planner's estimate of a table's rows (kept by ANALYZE and autovacuum): free to read,
/// where a count(*) scans the table. None for an unknown table.
async fn estimated_rows(pool: &PgPool, table: &str) -> ApiResult<Option<f64>> {
    let est: Option<f32> =
        sqlx::query_scalar("select reltuples from pg_class where relname = $1 and relkind = 'r'")
            .bind(table)
            .fetch_optional(pool)
            .await?;
    Ok(est.map(f64::from))
}

pub async fn overview(pool: &PgPool, chain_head: Option<u64>) -> ApiResult<Overview> {
    let cp: Option<(String, i64, String)> = sqlx::query_as(
        "select chain_id, height, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') from checkpoint where id = 1",
    )
    .fetch_optional(pool)
    .await?;
    let rate: Option<(Option<f64>, Option<f64>)> = sqlx::query_as(
        "with recent as (select height, time from blocks order by height desc limit 200) \
         select (count(*) - 1) / nullif(extract(epoch from max(time) - min(time)), 0)::float8, \
                (select count(*) from events e where e.height >= (select min(height) from recent))::float8 \
                  / nullif(extract(epoch from max(time) - min(time)), 0)::float8 \
         from recent",
    )
    .fetch_optional(pool)
    .await?;
    // exact counts for the small tables, the planner's estimate for the big ones
    let mut counts = Vec::new();
    for (label, table, exact) in [
        ("blocks", "blocks", false),
        ("assets", "assets", true),
        ("versions", "versions", true),
        ("agreements", "agreements", true),
        ("consents", "consents", true),
        ("accesses", "accesses", false),
        ("refused attempts", "denied_attempts", false),
        ("alerts", "alerts", true),
        ("anomalies", "anomalies", true),
        ("quarantined events", "quarantine", true),
    ] {
        let n: i64 = if exact {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(pool)
                .await?
        } else {
            match estimated_rows(pool, table).await? {
                Some(e) if e >= 100_000.0 => e as i64,
                _ => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                        .fetch_one(pool)
                        .await?
                }
            }
        };
        counts.push((label.to_string(), n));
    }
    let last_run: Option<RunRow> = sqlx::query_as(
        "select run_id, to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS') as finished_at, model_version, \
         window_seconds, to_height, report_dir from analytics_runs order by run_id desc limit 1",
    )
    .fetch_optional(pool)
    .await?;
    let accesses_over_time: Vec<(i64, i64)> = if last_run.is_some() {
        // from the analysis: one sum per window instead of a scan of every access
        sqlx::query_as(
            "select extract(epoch from window_start)::bigint, sum(raw[1])::bigint from actor_windows \
             where role = 'consumer' group by 1 order by 1",
        )
        .fetch_all(pool)
        .await?
    } else {
        sqlx::query_as(
            "select extract(epoch from date_trunc('minute', b.time))::bigint, count(*) \
             from accesses a join blocks b using (height) \
             where a.height > (select coalesce(max(height), 0) - 20000 from blocks) group by 1 order by 1",
        )
        .fetch_all(pool)
        .await?
    };
    // a sample of about 20,000 window scores: random pages (TABLESAMPLE SYSTEM) on a big table,
    // so the histogram costs the same at ten thousand windows and at ten million
    let windows = estimated_rows(pool, "actor_windows").await?.unwrap_or(0.0);
    let score_histogram: Vec<f64> = if windows > 40_000.0 {
        let percent = (20_000.0 * 100.0 / windows).min(100.0);
        sqlx::query_scalar("select score from actor_windows tablesample system ($1)")
            .bind(percent)
            .fetch_all(pool)
            .await?
    } else {
        sqlx::query_scalar("select score from actor_windows limit 40000")
            .fetch_all(pool)
            .await?
    };
    let indexed_height = cp.as_ref().map(|c| c.1);
    Ok(Overview {
        indexed: cp.is_some(),
        chain_id: cp.as_ref().map(|c| c.0.clone()),
        indexed_height,
        indexed_at: cp.map(|c| c.2),
        chain_head,
        lag_blocks: chain_head.zip(indexed_height).map(|(h, i)| h as i64 - i),
        blocks_per_second: rate.and_then(|r| r.0),
        events_per_second: rate.and_then(|r| r.1),
        counts,
        recent_alerts: alerts(pool, &AlertParams::default())
            .await?
            .into_iter()
            .take(5)
            .collect(),
        top_anomalies: anomalies(
            pool,
            &AnomalyParams {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await?,
        last_run,
        accesses_over_time,
        score_histogram,
    })
}

// ------------------------------------------------------------------------------------ assets

#[derive(Debug, Default, Deserialize)]
pub struct AssetParams {
    /// an asset id, or an owner address
    pub q: Option<String>,
    pub owner: Option<String>,
    pub sensitivity: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// the last asset id of the previous page
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AssetRow {
    pub asset_id: i64,
    pub owner: String,
    pub sensitivity: String,
    pub registered_height: i64,
    pub versions: i64,
    pub tombstoned: bool,
    pub score: Option<f64>,
    pub lineage: Option<f64>,
    pub attestation: Option<f64>,
    pub diversity: Option<f64>,
    pub integrity: Option<f64>,
    pub consent: Option<f64>,
    pub alerts: Option<f64>,
    pub inherited: Option<f64>,
}

const ASSET_SELECT: &str = "select a.asset_id, a.owner, a.sensitivity, a.height as registered_height, \
     coalesce(v.n, 0) as versions, exists(select 1 from asset_changes c where c.asset_id = a.asset_id and c.change = 'tombstone') as tombstoned, \
     p.score, p.lineage, p.attestation, p.diversity, p.integrity, p.consent, p.alerts, p.inherited \
     from assets a \
     left join lateral (select count(*) as n, max(version) as latest from versions v where v.asset_id = a.asset_id) v on true \
     left join provenance_scores p on p.run_id = (select max(run_id) from analytics_runs) \
          and p.asset_id = a.asset_id and p.version = v.latest";

pub async fn assets(pool: &PgPool, p: &AssetParams) -> ApiResult<Vec<AssetRow>> {
    let lim = limit(p.limit)?;
    let mut owner = address("owner", &p.owner)?;
    let mut id: Option<i64> = None;
    if let Some(q) = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        match q.parse::<i64>() {
            Ok(n) => id = Some(n),
            Err(_) => owner = address("q", &Some(q.to_string()))?,
        }
    }
    let sens = one_of(
        "sensitivity",
        &p.sensitivity,
        &["public", "internal", "personal", "special_category"],
    )?;
    for (name, v) in [("min_score", p.min_score), ("max_score", p.max_score)] {
        if v.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
            return Err(ApiError::BadRequest(format!("{name}: use 0 to 100")));
        }
    }
    let sql = format!(
        "{ASSET_SELECT} where ($1::bigint is null or a.asset_id = $1) and ($2::text is null or a.owner = $2) \
         and ($3::text is null or a.sensitivity = $3) and ($4::float8 is null or p.score >= $4) \
         and ($5::float8 is null or p.score <= $5) and ($6::bigint is null or a.asset_id > $6) \
         order by a.asset_id limit $7"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(owner)
        .bind(sens)
        .bind(p.min_score)
        .bind(p.max_score)
        .bind(p.after)
        .bind(lim)
        .fetch_all(pool)
        .await?)
}

#[derive(Debug, Serialize)]
pub struct AssetDetail {
    pub asset: AssetRow,
    pub versions: Vec<VersionRow>,
    /// (parent "a@v", child "a@v") over the asset's lineage, both ways
    pub edges: Vec<(String, String)>,
    /// "a@v" -> score, for every version in the graph
    pub graph_scores: Vec<(String, Option<f64>)>,
    pub attestations: Vec<AttestationRow>,
    pub consents_in_force: Vec<ConsentRow>,
    pub agreements: Vec<AgreementRow>,
    pub accesses_over_time: Vec<(i64, i64)>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct VersionRow {
    pub version: i32,
    pub height: i64,
    pub publisher: String,
    pub content_hash: String,
    pub schema_hash: Option<String>,
    pub score: Option<f64>,
    pub own: Option<f64>,
    pub lineage: Option<f64>,
    pub attestation: Option<f64>,
    pub inherited: Option<f64>,
    pub unattested_ancestors: Option<i32>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AttestationRow {
    pub version: i32,
    pub height: i64,
    pub attestor: String,
    pub claim: String,
    pub revoked: bool,
}

pub async fn asset(pool: &PgPool, id: i64) -> ApiResult<AssetDetail> {
    let asset: AssetRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ASSET_SELECT} where a.asset_id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("asset {id} is not indexed")))?;
    let versions: Vec<VersionRow> = sqlx::query_as(
        "select v.version, v.height, v.publisher, v.content_hash, v.schema_hash, p.score, p.own, p.lineage, \
         p.attestation, p.inherited, p.unattested_ancestors from versions v \
         left join provenance_scores p on p.run_id = (select max(run_id) from analytics_runs) \
           and p.asset_id = v.asset_id and p.version = v.version \
         where v.asset_id = $1 order by v.version",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    // lineage both ways, at most 16 levels (the registry's own limit)
    let edges: Vec<(i64, i32, i64, i32)> = sqlx::query_as(
        "with recursive up(a, v, d) as (select asset_id, version, 0 from versions where asset_id = $1 \
           union select e.parent_asset, e.parent_version, up.d + 1 from lineage_edges e join up on e.child_asset = up.a and e.child_version = up.v where up.d < 16), \
         down(a, v, d) as (select asset_id, version, 0 from versions where asset_id = $1 \
           union select e.child_asset, e.child_version, down.d + 1 from lineage_edges e join down on e.parent_asset = down.a and e.parent_version = down.v where down.d < 16) \
         select distinct e.parent_asset, e.parent_version, e.child_asset, e.child_version from lineage_edges e \
         where (e.child_asset, e.child_version) in (select a, v from up) or (e.parent_asset, e.parent_version) in (select a, v from down) \
         limit 400",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut nodes: Vec<(i64, i32)> = versions.iter().map(|v| (id, v.version)).collect();
    for (pa, pv, ca, cv) in &edges {
        nodes.push((*pa, *pv));
        nodes.push((*ca, *cv));
    }
    nodes.sort();
    nodes.dedup();
    let node_assets: Vec<i64> = nodes.iter().map(|n| n.0).collect();
    let node_versions: Vec<i32> = nodes.iter().map(|n| n.1).collect();
    let scores: Vec<(i64, i32, Option<f64>)> = sqlx::query_as(
        "select n.a, n.v, p.score from unnest($1::bigint[], $2::int[]) as n(a, v) \
         left join provenance_scores p on p.run_id = (select max(run_id) from analytics_runs) \
           and p.asset_id = n.a and p.version = n.v",
    )
    .bind(&node_assets)
    .bind(&node_versions)
    .fetch_all(pool)
    .await?;
    let attestations = sqlx::query_as(
        "select version, height, attestor, claim, revoked from attestations where asset_id = $1 \
         order by height, tx_index, event_index limit 500",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let consents_in_force = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CONSENT_SELECT} where w.consent_id is null and (c.scope = $1 or (c.scope = 'controller' and c.controller = $2)) \
         order by c.consent_id limit 200"
    )))
    .bind(format!("asset:{id}"))
    .bind(&asset.owner)
    .fetch_all(pool)
    .await?;
    let agreements = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{AGREEMENT_SELECT} where a.asset_id = $1 order by a.agreement_id limit 200"
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    let accesses_over_time = sqlx::query_as(
        "with s as (select min(b.time) t0, greatest(extract(epoch from max(b.time) - min(b.time)), 1) span \
           from accesses a join blocks b using (height) where a.asset_id = $1) \
         select (extract(epoch from s.t0) + floor(extract(epoch from b.time - s.t0) / (s.span / 40)) * (s.span / 40))::bigint, count(*) \
         from accesses a join blocks b using (height), s where a.asset_id = $1 group by 1 order by 1",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(AssetDetail {
        asset,
        versions,
        edges: edges
            .iter()
            .map(|(pa, pv, ca, cv)| (format!("{pa}@{pv}"), format!("{ca}@{cv}")))
            .collect(),
        graph_scores: scores
            .into_iter()
            .map(|(a, v, s)| (format!("{a}@{v}"), s))
            .collect(),
        attestations,
        consents_in_force,
        agreements,
        accesses_over_time,
    })
}

// -------------------------------------------------------------------------------- agreements

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

const AGREEMENT_SELECT: &str = "select * from (select a.agreement_id, a.asset_id, a.provider, a.consumer, a.purpose, a.price, a.expires_at, \
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

// ---------------------------------------------------------------------------------- consents

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

const CONSENT_SELECT: &str = "select c.consent_id, c.subject, c.controller, c.scope, c.purposes, c.legal_basis, c.method, c.expires_at, \
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

// --------------------------------------------------------------------------------- anomalies

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
}

const ANOMALY_SELECT: &str = "select a.anomaly_id, a.role, a.actor, to_char(a.window_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as window_start, \
     to_char(a.window_end at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as window_end, a.method, a.kind, a.score, a.severity, a.explanation, \
     a.first_height, a.last_height, a.txs, a.targets, r.tx_hash as report_tx, r.alert_seq, r.suspended \
     from anomalies a left join sentinel_reports r on r.role = a.role and r.actor = a.actor \
       and r.window_start = a.window_start and r.kind = a.kind and r.status = 'reported'";

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
        "{ANOMALY_SELECT} where ($1::text is null or a.severity = $1) and ($2::text is null or a.method = $2) \
         and ($3::text is null or a.role = $3) and ($4::text is null or a.actor = $4) \
         and ($5::float8 is null or (a.score, -a.anomaly_id) < ($5, -$6::bigint)) \
         order by a.score desc, a.anomaly_id limit $7"
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

// ------------------------------------------------------------------------------------ actors

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

// ------------------------------------------------------------------------------------- audit

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
    })
}

// ---------------------------------------------------------------------------------------- tx

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
