//! The router: the checks, the redemption, then the bytes in 64 KiB chunks.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use datapact_chain::Chain;
use datapact_index::ledger::{self, Redeemed, Redemption};
use datapact_plane::seal;
use datapact_plane::segments::{self, DeliveryHead, IndexedSegment, SegmentIndex, ServedSegment};
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
    path: Result<Path<(u64, u32)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Path((asset, version))) = path else {
        return count(&g, Refusal::BadPath, 0, 0);
    };
    let started = Instant::now();
    let decided = decide(&g, asset, version, &headers).await;
    g.metrics
        .check_seconds
        .observe(started.elapsed().as_secs_f64());
    match decided {
        Ok((admitted, payload)) => {
            g.metrics.deliveries.inc();
            tracing::info!(
                agreement = admitted.agreement_id,
                consumer = %admitted.consumer,
                asset, version, size = payload.size, record_tx = %admitted.record_tx,
                segments = payload.files.len(), withheld = payload.withheld,
                "delivering"
            );
            stream(g, admitted, payload)
        }
        Err(refusal) => count(&g, refusal, asset, version),
    }
}

/// A refusal logged, counted and answered.
fn count(g: &Gateway, refusal: Refusal, asset: u64, version: u32) -> Response {
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

/// What leaves the gateway for one admitted request: an optional head, then files.
struct Payload {
    head: Option<Bytes>,
    files: VecDeque<PathBuf>,
    size: u64,
    content_type: &'static str,
    /// Subjects whose rows were held back (segmented versions).
    withheld: u64,
    /// The version's data key wrapped to the agreement's key (base64), sent as a header.
    version_key: String,
}

/// Steps 1–6: a refusal, or the admitted request with what to send, redeemed.
async fn decide(
    g: &Gateway,
    asset: u64,
    version: u32,
    headers: &HeaderMap,
) -> Result<(Admitted, Payload), Refusal> {
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
    if !g.config.require_quality.is_empty() {
        let unavailable = |e: anyhow::Error| Refusal::Unavailable(format!("{e:#}"));
        let passed = check::quality_passed(
            &g.chain,
            &g.config.registry,
            asset,
            version,
            &g.config.require_quality,
        )
        .await
        .map_err(unavailable)?;
        if passed.is_none() {
            return Err(Refusal::QualityNotAttested { asset, version });
        }
    }
    let index = g.store.segment_index(asset, version).map_err(|e| {
        Refusal::Unavailable(format!(
            "the segment index of asset {asset} version {version}: {e}"
        ))
    })?;
    let mut payload = match index {
        Some(index) => segmented(g, &admitted, index).await?,
        None => whole(g, asset, version)?,
    };
    // the version's data key, wrapped to this agreement's key by the provider
    let wrapped = g.store.version_key(asset, version, admitted.agreement_id);
    payload.version_key = match std::fs::read(&wrapped) {
        Ok(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Refusal::KeyNotDelivered {
                agreement_id: admitted.agreement_id,
                asset,
                version,
            })
        }
        Err(e) => {
            return Err(Refusal::Unavailable(format!(
                "reading {}: {e}",
                wrapped.display()
            )))
        }
    };
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
        Redeemed::Now => Ok((admitted, payload)),
        Redeemed::Before { gateway, at } => Err(Refusal::AlreadyRedeemed {
            tx: admitted.record_tx,
            gateway,
            at,
        }),
    }
}

fn file_len(path: &std::path::Path, asset: u64, version: u32) -> Result<u64, Refusal> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Refusal::NotStored { asset, version })
        }
        Err(e) => Err(Refusal::Unavailable(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

/// A version stored whole: its one ciphertext.
fn whole(g: &Gateway, asset: u64, version: u32) -> Result<Payload, Refusal> {
    let path = g.store.path(asset, version);
    let size = file_len(&path, asset, version)?;
    Ok(Payload {
        head: None,
        files: VecDeque::from([path]),
        size,
        content_type: "application/age",
        withheld: 0,
        version_key: String::new(),
    })
}

/// Personal data: the segments of the subjects the access may reach (the one it recorded, or
/// all) whose consent is in force now, after a head with every leaf for the consumer's check.
async fn segmented(
    g: &Gateway,
    admitted: &Admitted,
    index: SegmentIndex,
) -> Result<Payload, Refusal> {
    let (asset, version) = (admitted.asset_id, admitted.version);
    let asked: Vec<&IndexedSegment> = match &admitted.subject {
        Some(s) => index.segments.iter().filter(|x| &x.subject == s).collect(),
        None => index.segments.iter().collect(),
    };
    if let (Some(subject), true) = (&admitted.subject, asked.is_empty()) {
        return Err(Refusal::SubjectNotInVersion {
            asset,
            version,
            subject: subject.clone(),
        });
    }
    let subjects: Vec<String> = asked.iter().map(|x| x.subject.clone()).collect();
    let in_force: HashSet<String> =
        check::consents_in_force(&g.chain, &g.config, admitted.agreement_id, &subjects)
            .await?
            .into_iter()
            .collect();
    let dir = g.store.segments_dir(asset, version);
    let (mut served, mut files, mut size) = (Vec::new(), VecDeque::new(), 0u64);
    for seg in asked.into_iter().filter(|x| in_force.contains(&x.subject)) {
        // the index names files inside its own folder, nothing else
        if std::path::Path::new(&seg.file).file_name() != Some(std::ffi::OsStr::new(&seg.file)) {
            return Err(Refusal::Unavailable(format!(
                "the segment index names {:?}, not a file in {}",
                seg.file,
                dir.display()
            )));
        }
        let path = dir.join(&seg.file);
        let bytes = file_len(&path, asset, version)?;
        size += bytes;
        served.push(ServedSegment {
            subject: seg.subject.clone(),
            bytes,
        });
        files.push_back(path);
    }
    if served.is_empty() {
        return Err(Refusal::NoConsentInForce {
            agreement_id: admitted.agreement_id,
            asset,
            version,
        });
    }
    let head = DeliveryHead {
        leaves: index.segments.iter().map(|x| x.leaf.clone()).collect(),
        withheld: (index.segments.len() - served.len()) as u64,
        served,
    };
    let mut line = serde_json::to_vec(&head)
        .map_err(|e| Refusal::Unavailable(format!("writing the delivery head: {e}")))?;
    line.push(b'\n');
    Ok(Payload {
        size: size + line.len() as u64,
        withheld: head.withheld,
        head: Some(Bytes::from(line)),
        files,
        content_type: segments::CONTENT_TYPE,
        version_key: String::new(),
    })
}

/// What the stream holds between chunks.
struct Sending {
    payload: Payload,
    open: Option<tokio::fs::File>,
    sent: u64,
    g: Arc<Gateway>,
    admitted: Admitted,
}

impl Sending {
    /// The next chunk, `None` at the end.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        if let Some(head) = self.payload.head.take() {
            return Ok(Some(head));
        }
        loop {
            let file = match &mut self.open {
                Some(f) => f,
                None => match self.payload.files.pop_front() {
                    Some(path) => self.open.insert(tokio::fs::File::open(path).await?),
                    None => return Ok(None),
                },
            };
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                self.open = None;
                continue;
            }
            buf.truncate(n);
            return Ok(Some(Bytes::from(buf)));
        }
    }
}

/// Step 7: the payload in chunks. The ledger row gets the byte count before the last chunk is
/// handed over (with a known length the server may never poll the stream for its end).
fn stream(g: Arc<Gateway>, admitted: Admitted, payload: Payload) -> Response {
    let (size, content_type) = (payload.size, payload.content_type);
    let version_key = payload.version_key.clone();
    let state = Some(Sending {
        payload,
        open: None,
        sent: 0,
        g,
        admitted,
    });
    let body = futures::stream::unfold(state, move |state| async move {
        let mut s = state?;
        match s.next().await {
            Ok(None) => None,
            Ok(Some(chunk)) => {
                s.sent += chunk.len() as u64;
                s.g.metrics.delivered_bytes.inc_by(chunk.len() as u64);
                if s.sent >= size {
                    let tx = &s.admitted.record_tx;
                    if let Err(e) = ledger::delivered(&s.g.pool, tx, s.sent).await {
                        tracing::error!(record_tx = %tx, "cannot record the delivery's end: {e}");
                    }
                    tracing::info!(record_tx = %tx, bytes = s.sent, "delivered");
                }
                Some((Ok::<Bytes, std::io::Error>(chunk), Some(s)))
            }
            Err(e) => {
                tracing::error!(record_tx = %s.admitted.record_tx, "reading the ciphertext: {e}");
                Some((Err(e), None))
            }
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::HeaderName::from_static(seal::VERSION_KEY_HEADER),
                version_key,
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
