//! `/forecasts`: what the latest run forecast — the consumers most likely to be reported in
//! their next window, the agreements that will reach their cap (and whether before they
//! expire), the assets' demand drawn with its interval, the consent scopes expecting
//! withdrawals. JSON twins under `/api/forecasts`; the outlooks export as CSV or Parquet.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use datapact_analytics::forecast::{targets, Outlook};
use datapact_analytics::target;
use maud::{html, Markup, PreEscaped};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::layout::*;
use super::params::*;
use super::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forecasts", get(page))
        .route("/api/forecasts", get(api))
        .route("/api/forecasts/series", get(series_api))
}

/// One outlook of a run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutlookLine {
    pub run_id: i64,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub outlook: Outlook,
}

/// One series of a run: its totals over the horizon.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SeriesLine {
    pub target: String,
    pub key: String,
    pub steps: i64,
    pub step_seconds: i64,
    pub first_step: i64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub method: String,
}

/// One step of one series.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StepLine {
    pub step_start: i64,
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ForecastParams {
    /// a run (default: the latest with forecasts)
    pub run: Option<i64>,
    /// only outlooks about this party (a provider's agreements, a consumer)
    pub party: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SeriesParams {
    pub run: Option<i64>,
    pub target: Option<String>,
    pub key: Option<String>,
}

const KINDS: [&str; 2] = [targets::AGREEMENT_CAP, targets::CONSUMER_ALERT];
const TARGETS: [&str; 4] = [
    targets::AGREEMENT_ACCESSES,
    targets::ASSET_ACCESSES,
    targets::ASSET_AGREEMENTS,
    targets::CONSENT_WITHDRAWALS,
];

/// The run asked for, or the latest run that forecast (None: no run has).
pub async fn run_of(pool: &PgPool, asked: Option<i64>) -> ApiResult<Option<i64>> {
    if let Some(r) = asked {
        if r <= 0 {
            return Err(ApiError::BadRequest(format!(
                "run {r}: runs are numbered from 1"
            )));
        }
        return Ok(Some(r));
    }
    Ok(sqlx::query_scalar(
        "select max(run_id) from analytics_runs where (params -> 'settings') ? 'forecast'",
    )
    .fetch_one(pool)
    .await?)
}

/// The outlooks of a run, of one kind: risks highest first, caps soonest first.
pub async fn outlooks(
    pool: &PgPool,
    run: i64,
    kind: &str,
    party: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<OutlookLine>> {
    Ok(sqlx::query_as(
        "select run_id, kind, key, party, value, lower, upper, extract(epoch from at)::bigint as at, \
         extract(epoch from at_early)::bigint as at_early, extract(epoch from at_late)::bigint as at_late, \
         before_expiry, drivers from forecast_outlooks \
         where run_id = $1 and kind = $2 and ($3::text is null or party = $3) \
         order by case when kind = $5 then -value end, at nulls last, key limit $4",
    )
    .bind(run)
    .bind(kind)
    .bind(party)
    .bind(limit)
    // risks highest first
    .bind(targets::CONSUMER_ALERT)
    .fetch_all(pool)
    .await?)
}

/// The series of one target in a run, the largest expected totals first.
pub async fn series(
    pool: &PgPool,
    run: i64,
    target: &str,
    limit: i64,
) -> ApiResult<Vec<SeriesLine>> {
    Ok(sqlx::query_as(
        "select target, key, count(*) as steps, max(step_seconds) as step_seconds, \
         min(extract(epoch from step_start))::bigint as first_step, sum(point) as expected, \
         sum(lower) as lower, sum(upper) as upper, min(method) as method \
         from forecasts where run_id = $1 and target = $2 group by target, key \
         order by sum(point) desc, key limit $3",
    )
    .bind(run)
    .bind(target)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

async fn steps(pool: &PgPool, run: i64, target: &str, key: &str) -> ApiResult<Vec<StepLine>> {
    Ok(sqlx::query_as(
        "select extract(epoch from step_start)::bigint as step_start, point, lower, upper \
         from forecasts where run_id = $1 and target = $2 and key = $3 order by step",
    )
    .bind(run)
    .bind(target)
    .bind(key)
    .fetch_all(pool)
    .await?)
}

/// An asset's accesses per step over the `steps` steps before `until` (unix s).
async fn asset_history(
    pool: &PgPool,
    asset: i64,
    step: i64,
    until: i64,
    steps: i64,
) -> ApiResult<Vec<(f64, f64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select extract(epoch from b.time)::bigint / $2 as s, count(*) from accesses a \
         join blocks b on b.height = a.height where a.asset_id = $1 \
         and b.time >= to_timestamp($3) and b.time < to_timestamp($4) group by 1 order by 1",
    )
    .bind(asset)
    .bind(step.max(1))
    .bind((until - steps * step) as f64)
    .bind(until as f64)
    .fetch_all(pool)
    .await?;
    let first = until / step.max(1) - steps;
    let mut dense = vec![0.0; steps.max(0) as usize];
    for (s, n) in rows {
        if let Some(v) = usize::try_from(s - first)
            .ok()
            .and_then(|i| dense.get_mut(i))
        {
            *v = n as f64;
        }
    }
    Ok(dense
        .into_iter()
        .enumerate()
        .map(|(i, v)| (((first + i as i64) * step) as f64, v))
        .collect())
}

/// What `/api/forecasts` answers.
#[derive(Debug, Serialize)]
pub struct ForecastView {
    pub run_id: Option<i64>,
    pub risks: Vec<OutlookLine>,
    pub caps: Vec<OutlookLine>,
    pub demand: Vec<SeriesLine>,
    pub new_agreements: Vec<SeriesLine>,
    pub withdrawals: Vec<SeriesLine>,
}

async fn view(pool: &PgPool, p: &ForecastParams) -> ApiResult<ForecastView> {
    let limit = limit(p.limit)?;
    let party = address("party", &p.party)?;
    let kind = one_of("kind", &p.kind, &KINDS)?;
    let Some(run) = run_of(pool, p.run).await? else {
        return Ok(ForecastView {
            run_id: None,
            risks: Vec::new(),
            caps: Vec::new(),
            demand: Vec::new(),
            new_agreements: Vec::new(),
            withdrawals: Vec::new(),
        });
    };
    let wants = |k: &str| kind.as_deref().is_none_or(|x| x == k);
    let risks = if wants(targets::CONSUMER_ALERT) {
        outlooks(pool, run, targets::CONSUMER_ALERT, party.as_deref(), limit).await?
    } else {
        Vec::new()
    };
    let caps = if wants(targets::AGREEMENT_CAP) {
        outlooks(pool, run, targets::AGREEMENT_CAP, party.as_deref(), limit).await?
    } else {
        Vec::new()
    };
    Ok(ForecastView {
        run_id: Some(run),
        risks,
        caps,
        demand: series(pool, run, targets::ASSET_ACCESSES, limit).await?,
        new_agreements: series(pool, run, targets::ASSET_AGREEMENTS, limit).await?,
        withdrawals: series(pool, run, targets::CONSENT_WITHDRAWALS, limit).await?,
    })
}

async fn api(
    State(s): State<AppState>,
    Query(p): Query<ForecastParams>,
) -> ApiResult<Json<ForecastView>> {
    Ok(Json(view(&s.pool, &p).await?))
}

async fn series_api(
    State(s): State<AppState>,
    Query(p): Query<SeriesParams>,
) -> ApiResult<Json<Vec<StepLine>>> {
    let target = one_of("target", &p.target, &TARGETS)?.ok_or_else(|| {
        ApiError::BadRequest(format!("target is required: one of {}", TARGETS.join(", ")))
    })?;
    let key = address("key", &p.key)?
        .ok_or_else(|| ApiError::BadRequest("key is required, e.g. asset:3".into()))?;
    let Some(run) = run_of(&s.pool, p.run).await? else {
        return Err(ApiError::NotFound("no run has forecasts yet".into()));
    };
    Ok(Json(steps(&s.pool, run, &target, &key).await?))
}

fn when(t: Option<i64>) -> String {
    t.map(|t| time_label(t as f64))
        .unwrap_or_else(|| "not foreseeable".into())
}

fn key_link(key: &str) -> Markup {
    if let Some(n) = target::agreement_of(key) {
        html! { a href={ "/agreements?limit=1&after=" (i128::from(n) - 1) } { (key) } }
    } else if let Some(id) = target::asset_of(key) {
        html! { a href={ "/assets/" (id) } { (key) } }
    } else {
        html! { span.mono { (short(key)) } }
    }
}

async fn page(State(s): State<AppState>, Query(p): Query<ForecastParams>) -> ApiResult<Markup> {
    let v = view(&s.pool, &p).await?;
    let Some(run) = v.run_id else {
        return Ok(layout(
            "Forecasts",
            html! { div.note { "No run has forecasts yet: " code { "datapact analyze" } " writes them." } },
        ));
    };
    // the four assets with the most demand expected, drawn with their history
    let mut charts = Vec::new();
    for d in v.demand.iter().take(4) {
        let Some(asset) = target::asset_of(&d.key).and_then(|a| i64::try_from(a).ok()) else {
            continue;
        };
        let path = steps(&s.pool, run, targets::ASSET_ACCESSES, &d.key).await?;
        let history =
            asset_history(&s.pool, asset, d.step_seconds, d.first_step, 3 * d.steps).await?;
        let points: Vec<(f64, f64, f64, f64)> = path
            .iter()
            .map(|x| (x.step_start as f64, x.point, x.lower, x.upper))
            .collect();
        charts.push(datapact_analytics::svg::band(
            &format!(
                "asset {asset}: accesses per {} s, then the forecast",
                d.step_seconds
            ),
            &history,
            &points,
            &time_label,
        ));
    }
    Ok(layout(
        "Forecasts",
        html! {
            p { "From run " a href={ "/runs/" (run) } { (run) } ": every series forecast from its own history before the run's last window (MSTL seasons + exponential smoothing, augurs), with an 80% interval; a consumer's risk is a logistic regression on its recent windows. How well they held on held-out histories: " code { "make eval-forecast" } " (docs/forecasts.md)." }
            p { a.export href="/export/forecasts.csv" { "CSV" } a.export href="/export/forecasts.parquet" { "Parquet" } a.export href="/api/forecasts" { "JSON" } }
            h2 { "Consumers most likely to be reported in their next window" }
            table {
                tr { th { "consumer" } th { "probability" } th { "what drives it" } }
                @for r in &v.risks {
                    tr { td { (actor_link(&r.outlook.party)) } td { (format!("{:.1}%", r.outlook.value * 100.0)) } td { (r.outlook.drivers) } }
                }
            }
            h2 { "Agreements reaching their access cap" }
            table {
                tr { th { "agreement" } th { "provider" } th { "expected accesses (80%)" } th { "cap reached" } th { "early – late" } th { "before expiry?" } th { "why" } }
                @for c in v.caps.iter().map(|c| &c.outlook) {
                    tr { td { (key_link(&c.key)) } td { (actor_link(&c.party)) }
                         td { (format!("{:.0} ({:.0}–{:.0})", c.value, c.lower, c.upper)) }
                         td { (when(c.at)) } td { (when(c.at_early)) " – " (when(c.at_late)) }
                         td { @match c.before_expiry { Some(true) => span.bad { "yes: the cap bites first" }, Some(false) => "no", None => "—" } }
                         td { (c.drivers) } }
                }
            }
            h2 { "Asset demand" }
            @for c in &charts { (PreEscaped(c)) }
            (series_table("accesses over the horizon", &v.demand))
            h2 { "New agreements per asset" }
            (series_table("agreements signed over the horizon", &v.new_agreements))
            h2 { "Consent withdrawals per scope" }
            (series_table("withdrawals over the horizon", &v.withdrawals))
        },
    ))
}

fn series_table(what: &str, rows: &[SeriesLine]) -> Markup {
    html! {
        @if rows.is_empty() { p { "Nothing to forecast." } } @else {
            table {
                tr { th { "series" } th { (what) " (80%)" } th { "from" } th { "steps" } th { "model" } }
                @for r in rows {
                    tr { td { (key_link(&r.key)) } td { (format!("{:.1} ({:.1}–{:.1})", r.expected, r.lower, r.upper)) }
                         td { (time_label(r.first_step as f64)) } td { (r.steps) " × " (r.step_seconds) " s" } td { (r.method) } }
                }
            }
        }
    }
}

/// Every outlook of the latest run (or `run`), for the export.
pub async fn export_rows(pool: &PgPool, p: &ForecastParams) -> ApiResult<Vec<OutlookLine>> {
    let v = view(pool, p).await?;
    Ok(v.risks.into_iter().chain(v.caps).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecast_keys_link_to_their_agreement_or_asset_and_anything_else_is_left_alone() {
        let html = |k: &str| key_link(k).into_string();
        assert!(html("agreement:5").contains(r#"href="/agreements?limit=1&amp;after=4""#));
        // the first agreement: the page after -1 (its id, unsigned, must not wrap below 0)
        assert!(
            html("agreement:0").contains("after=-1"),
            "{}",
            html("agreement:0")
        );
        assert!(html("asset:9").contains(r#"href="/assets/9""#));
        for k in [
            "agreement:x",
            "agreement:-3",
            "asset:",
            "asset:../x",
            "consumer:wasm1",
        ] {
            assert!(!html(k).contains("<a "), "{k}: {}", html(k));
        }
    }
}
