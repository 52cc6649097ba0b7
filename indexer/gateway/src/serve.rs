//! The router: the checks, the redemption, then the bytes in 64 KiB chunks.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use datapact_chain::Chain;
use datapact_index::ledger::{self, Redeemed, Redemption};
use datapact_types::agreements::DenyReason;
use sqlx::PgPool;
use tokio::io::AsyncReadExt;

use crate::check::{self, Admitted, GatewayConfig};
use crate::metrics::{GatewayMetrics, ReasonLabels};
use crate::refusal::{Refusal, RefusalBody};
use crate::store::Store;

const CHUNK: usize = 64 * 1024;

/// Everything a request needs.
pub struct Gateway {
    pub config: GatewayConfig,
    pub chain: Chain,
    pub pool: PgPool,
    pub store: Store,
    pub metrics: GatewayMetrics,
}

/// `GET /v1/assets/{asset}/versions/{version}` and `GET /health`.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/assets/{asset}/versions/{version}", get(deliver))
        .route("/health", get(|| async { "ok\n" }))
        .with_state(gateway)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status(), Json(RefusalBody::from(&self))).into_response()
    }
}

async fn deliver(
    State(g): State<Arc<Gateway>>,
    Path((asset, version)): Path<(u64, u32)>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let decided = decide(&g, asset, version, &headers).await;
    g.metrics
        .check_seconds
        .observe(started.elapsed().as_secs_f64());
    match decided {
        Ok((admitted, file, size)) => {
            g.metrics.deliveries.inc();
            tracing::info!(
                agreement = admitted.agreement_id,
                consumer = %admitted.consumer,
                asset, version, size, record_tx = %admitted.record_tx,
                "delivering"
            );
            stream(g, admitted, file, size)
        }
        Err(refusal) => {
            g.metrics
                .refusals
                .get_or_create(&ReasonLabels {
                    reason: refusal.reason().to_string(),
                })
                .inc();
            tracing::info!(
                asset,
                version,
                reason = refusal.reason(),
                "refused: {refusal}"
            );
            refusal.into_response()
        }
    }
}

/// Steps 1–6: a refusal, or the admitted request with its opened file, redeemed.
async fn decide(
    g: &Gateway,
    asset: u64,
    version: u32,
    headers: &HeaderMap,
) -> Result<(Admitted, tokio::fs::File, u64), Refusal> {
    let now = check::now();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (signer, request) = check::read_proof(auth, &g.chain, &g.config, asset, version, now)?;
    let admitted = match check::admit(&g.chain, &g.config, signer, request, now).await {
        Err(Refusal::Chain {
            reason: DenyReason::AssetTombstoned,
            agreement_id,
        }) => {
            // the owner erased the asset: so does every gateway that sees it
            match g.store.erase(asset) {
                Ok(true) => tracing::info!(asset, "tombstoned on chain: ciphertext deleted"),
                Ok(false) => {}
                Err(e) => tracing::error!(asset, "tombstoned on chain, cannot delete: {e}"),
            }
            return Err(Refusal::Chain {
                agreement_id,
                reason: DenyReason::AssetTombstoned,
            });
        }
        other => other?,
    };
    let path = g.store.path(asset, version);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| Refusal::NotStored { asset, version })?;
    let size = file
        .metadata()
        .await
        .map_err(|e| Refusal::Unavailable(format!("reading {}: {e}", path.display())))?
        .len();
    let redemption = Redemption {
        record_tx: admitted.record_tx.clone(),
        gateway: g.config.gateway_id.clone(),
        agreement_id: admitted.agreement_id,
        consumer: admitted.consumer.clone(),
        asset_id: asset,
        version,
        subject: admitted.subject.clone(),
        nonce: admitted.nonce.clone(),
    };
    match ledger::redeem(&g.pool, &redemption)
        .await
        .map_err(|e| Refusal::Unavailable(format!("the redemption ledger: {e}")))?
    {
        Redeemed::Now => Ok((admitted, file, size)),
        Redeemed::Before { gateway, at } => Err(Refusal::AlreadyRedeemed {
            tx: admitted.record_tx,
            gateway,
            at,
        }),
    }
}

/// Step 7: the file in chunks. The ledger row gets the byte count before the last chunk is
/// handed over (with a known length the server may never poll the stream for its end).
fn stream(g: Arc<Gateway>, admitted: Admitted, file: tokio::fs::File, size: u64) -> Response {
    let state = Some((file, 0u64, g, admitted));
    let body = futures::stream::unfold(state, move |state| async move {
        let (mut file, sent, g, admitted) = state?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                let sent = sent + n as u64;
                g.metrics.delivered_bytes.inc_by(n as u64);
                if sent >= size {
                    if let Err(e) = ledger::delivered(&g.pool, &admitted.record_tx, sent).await {
                        tracing::error!(record_tx = %admitted.record_tx, "cannot record the delivery's end: {e}");
                    }
                    tracing::info!(record_tx = %admitted.record_tx, bytes = sent, "delivered");
                }
                Some((
                    Ok::<Bytes, std::io::Error>(Bytes::from(buf)),
                    Some((file, sent, g, admitted)),
                ))
            }
            Err(e) => {
                tracing::error!(record_tx = %admitted.record_tx, "reading the ciphertext: {e}");
                Some((Err(e), None))
            }
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/age".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
