//! The edge: the node's answers (tendermint-rpc types) become [`RawBlock`]s here, and nowhere
//! else. Fetches retry what can be retried, and say clearly what cannot.

use std::time::Duration;

use cosmrs::rpc::Client as _;
use sha2::{Digest, Sha256};

use datapact_chain::{block_with_results, rpc_message, Chain, TxEvent, TxOutcome};

use crate::block::{RawBlock, RawTx};
use crate::error::IngestError;
use crate::metrics::IngestMetrics;

/// Converts the node's answers into the decoder's input.
pub fn raw_block(
    block: cosmrs::rpc::endpoint::block::Response,
    results: cosmrs::rpc::endpoint::block_results::Response,
) -> RawBlock {
    let height = block.block.header.height.value();
    let txs_results = results.txs_results.unwrap_or_default();
    let txs = block
        .block
        .data
        .iter()
        .zip(txs_results)
        .map(|(bytes, r)| {
            let hash = cosmrs::tendermint::Hash::Sha256(Sha256::digest(bytes).into());
            let o = TxOutcome::from_result(hash, height, r);
            RawTx {
                hash: o.hash,
                bytes: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
                code: o.code,
                log: o.log,
                gas_wanted: o.gas_wanted,
                gas_used: o.gas_used,
                events: o.events,
            }
        })
        .collect();
    let block_events = results
        .begin_block_events
        .unwrap_or_default()
        .into_iter()
        .chain(results.finalize_block_events)
        .chain(results.end_block_events.unwrap_or_default())
        .map(TxEvent::from_abci)
        .collect();
    RawBlock {
        height,
        time: block.block.header.time.to_rfc3339(),
        hash: block.block_id.hash.to_string(),
        txs,
        block_events,
    }
}

/// The node's (earliest, latest) heights.
pub async fn node_range(chain: &Chain) -> Result<(u64, u64), IngestError> {
    let s = chain
        .rpc()
        .status()
        .await
        .map_err(|e| IngestError::Status {
            detail: rpc_message(&e),
        })?;
    Ok((
        s.sync_info.earliest_block_height.value(),
        s.sync_info.latest_block_height.value(),
    ))
}

/// Fetches one block and its results. Retries while the node is away (with backoff up to
/// 10 s, forever: a node restart must not stop a follower), but fails at once when the node no
/// longer has the block.
pub async fn fetch(
    chain: &Chain,
    height: u64,
    metrics: &IngestMetrics,
) -> Result<RawBlock, IngestError> {
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0u32;
    loop {
        match block_with_results(chain.rpc(), height).await {
            Ok((b, r)) => return Ok(raw_block(b, r)),
            Err(e) => {
                metrics.error("rpc");
                if let Ok((earliest, _)) = node_range(chain).await {
                    if height < earliest {
                        return Err(IngestError::Pruned { height, earliest });
                    }
                }
                attempt += 1;
                let err = IngestError::Rpc {
                    height,
                    detail: format!("{e:#}"),
                };
                if attempt == 1 || attempt % 10 == 0 {
                    tracing::warn!("{err} (attempt {attempt}); retrying in {delay:?}");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
