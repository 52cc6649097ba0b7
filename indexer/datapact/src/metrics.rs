//! Serves a Prometheus registry at `GET /metrics` (OpenMetrics text) for the long-running
//! commands (`ingest --follow`, and the gateway).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;

/// Serves `GET /metrics` on `addr` until the process ends. Binding fails loudly (a taken port is
/// an operator's error), serving errors are logged.
pub async fn serve(addr: SocketAddr, registry: Registry) -> anyhow::Result<()> {
    let registry = Arc::new(registry);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    datapact_index::metrics::render(&registry),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for metrics: is the port taken? (--metrics-addr)")
    })?;
    tracing::info!("metrics at http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics server stopped: {e}");
        }
    });
    Ok(())
}
