//! `datapact serve`: the analysts' dashboard and its JSON API.
//!
//! One router built from one module per resource (its queries, its page, its JSON twin under
//! `/api`), every list with a CSV and Parquet export under `/export`. Postgres is read through
//! read-only transactions with parameterized, keyset-paginated queries; charts are inline SVG
//! drawn on the server (`datapact_analytics::svg`), so nothing is fetched from anywhere else.
//! An empty database or an indexer that is behind is shown as such, and no chain data can
//! break a page.

pub mod actors;
pub mod agreements;
pub mod anomalies;
pub mod assets;
pub mod audit;
pub mod consents;
pub mod export;
pub mod forecasts;
pub mod layout;
pub mod overview;
pub mod params;
pub mod quality;
pub mod runs;
pub mod txs;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use datapact_chain::{Chain, Deployment};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// the chain, when the dashboard may ask it (head height, on-chain audit verification)
    pub chain: Option<Chain>,
    pub deployment: Option<Deployment>,
}

/// Errors as the reader sees them: a clear 4xx for what they asked wrong, a bare 500 (details
/// in the log, never the database's words) for what went wrong here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, msg) = match &self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            ApiError::Internal(e) => {
                tracing::error!("request failed: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (see the server's log)".to_string(),
                )
            }
        };
        (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The dashboard's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(overview::router())
        .merge(assets::router())
        .merge(agreements::router())
        .merge(consents::router())
        .merge(anomalies::router())
        .merge(actors::router())
        .merge(audit::router())
        .merge(runs::router())
        .merge(forecasts::router())
        .merge(quality::router())
        .merge(txs::router())
        .merge(export::router())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(state)
}

/// A pool whose every transaction is read-only, whatever the role may do.
pub async fn read_only_pool(url: &str) -> anyhow::Result<PgPool> {
    let opts: PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a Postgres URL (postgres://user@host:port/db)")?;
    let opts = opts.options([("default_transaction_read_only", "on")]);
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .with_context(|| {
            format!(
                "cannot connect to Postgres at {}",
                datapact_index::db::redact(url)
            )
        })
}

/// Serves the dashboard on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is the port taken? (--addr)"))?;
    tracing::info!("dashboard at http://{addr}/");
    axum::serve(listener, app(state))
        .await
        .context("the dashboard server stopped")
}
