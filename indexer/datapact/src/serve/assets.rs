//! `/assets` and `/assets/ID`: assets with their provenance, versions, lineage and accesses.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::agreements::{agreement_table, AgreementRow, AGREEMENT_SELECT};
use super::consents::{consent_table, ConsentRow, CONSENT_SELECT};
use super::layout::*;
use super::params::*;
use super::{ApiError, ApiResult, AppState};

/// This resource's pages and their JSON twins.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets", get(assets_page))
        .route("/api/assets", get(assets_api))
        .route("/assets/{id}", get(asset_page))
        .route("/api/assets/{id}", get(asset_api))
}

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
    /// quality checkers' recorded reports, per version
    pub quality: Vec<super::quality::QualityLine>,
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
        quality: super::quality::of_asset(pool, id).await?,
        consents_in_force,
        agreements,
        accesses_over_time,
    })
}

async fn assets_api(
    State(s): State<AppState>,
    Query(p): Query<AssetParams>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    Ok(Json(assets(&s.pool, &p).await?))
}

async fn assets_page(
    State(s): State<AppState>,
    Query(p): Query<AssetParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Markup> {
    let rows = assets(&s.pool, &p).await?;
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
            (PreEscaped(datapact_analytics::svg::histogram("provenance scores (this page)", &scores, 0.0, 100.0, 20)))
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
    Ok(Json(asset(&s.pool, parse_id(&id)?).await?))
}

async fn asset_page(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Markup> {
    let d = asset(&s.pool, parse_id(&id)?).await?;
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
            @else { (PreEscaped(datapact_analytics::svg::lineage(&nodes, &d.edges))) }
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
            h2 { "Quality" }
            (super::quality::quality_table(&d.quality))
            h2 { "Attestations" }
            table {
                tr { th { "version" } th { "height" } th { "attestor" } th { "claim" } th { "revoked" } }
                @for t in &d.attestations { tr { td { (t.version) } td { (t.height) } td { (actor_link(&t.attestor)) } td { (t.claim) } td { (t.revoked) } } }
            }
            h2 { "Accesses over time" }
            (PreEscaped(datapact_analytics::svg::line("accesses to this asset", &points, &time_label)))
            h2 { "Agreements" }
            (agreement_table(&d.agreements))
            h2 { "Consents in force" }
            (consent_table(&d.consents_in_force))
        },
    ))
}
