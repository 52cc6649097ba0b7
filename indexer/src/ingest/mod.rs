//! `datapact ingest`: chain events into Postgres, exactly once.
//!
//! Blocks and their results are fetched over HTTP in parallel (bounded, in height order),
//! decoded ([`decode`]) and written in batches, each batch with the checkpoint in one
//! transaction ([`write`]). After the backfill it follows the head. Errors from the node are
//! retried with backoff and logged; a start below the node's earliest block is a clear error.

pub mod decode;
pub mod write;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::chain::tx::TxOutcome;
use crate::chain::{block_with_results, rpc_error, Chain, TxEvent};
use crate::deploy::Deployment;
use cosmrs::rpc::Client as _;
use decode::{decode_block, Contracts, RawBlock, RawTx, Rows};

pub struct IngestConfig {
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub follow: bool,
    /// blocks fetched at once
    pub concurrency: usize,
    /// most blocks per write transaction
    pub batch_blocks: usize,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct IngestStats {
    pub blocks: u64,
    pub rows: u64,
    pub quarantined: u64,
    pub last_height: u64,
    pub elapsed: Duration,
}

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
        .map(|e| TxEvent {
            kind: e.kind,
            attributes: e
                .attributes
                .iter()
                .map(|a| {
                    (
                        a.key_str().unwrap_or("<non-utf8>").to_string(),
                        a.value_str().unwrap_or("<non-utf8>").to_string(),
                    )
                })
                .collect(),
        })
        .collect();
    RawBlock {
        height,
        time: block.block.header.time.to_rfc3339(),
        hash: block.block_id.hash.to_string(),
        txs,
        block_events,
    }
}

/// Fetches one block, retrying with backoff (forever: the node may be away for a while).
async fn fetch(chain: &Chain, height: u64) -> RawBlock {
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0u32;
    loop {
        match block_with_results(chain.rpc(), height).await {
            Ok((b, r)) => return raw_block(b, r),
            Err(e) => {
                attempt += 1;
                tracing::warn!(
                    "block {height}: attempt {attempt} failed: {e:#}; retrying in {delay:?}"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// The node's (earliest, latest) heights.
async fn node_range(chain: &Chain) -> anyhow::Result<(u64, u64)> {
    let s = chain.rpc().status().await.map_err(rpc_error)?;
    Ok((
        s.sync_info.earliest_block_height.value(),
        s.sync_info.latest_block_height.value(),
    ))
}

pub async fn run(
    pool: &PgPool,
    chain: &Chain,
    d: &Deployment,
    cfg: &IngestConfig,
) -> anyhow::Result<IngestStats> {
    let started = Instant::now();
    let contracts = Contracts::new(
        d.address("registry")?,
        d.address("consent")?,
        d.address("agreements")?,
        d.address("audit")?,
    );
    let checkpoint = write::checkpoint(pool).await?;
    if let Some((chain_id, _)) = &checkpoint {
        if *chain_id != chain.chain_id {
            bail!(
                "this database indexes chain {chain_id}, but the node serves {}: use another database",
                chain.chain_id
            );
        }
    }
    let mut next = match (cfg.from, &checkpoint) {
        (Some(h), _) => h,
        (None, Some((_, h))) => h + 1,
        (None, None) => d.first_height(),
    };
    let (earliest, mut head) = node_range(chain).await?;
    if next < earliest {
        bail!(
            "height {next} is below the node's earliest block {earliest} (it prunes its history): \
             start at --from {earliest} or later, or use an archive node"
        );
    }
    let mut stats = IngestStats::default();
    let bar = if cfg.progress && head >= next {
        let bar = indicatif::ProgressBar::new(
            head.min(cfg.to.unwrap_or(u64::MAX)).saturating_sub(next) + 1,
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} backfill [{elapsed_precise}] {bar:30} {pos}/{len} blocks {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    loop {
        let end = cfg.to.map_or(head, |t| t.min(head));
        if next > end {
            if cfg.to.is_some_and(|t| next > t) || !cfg.follow {
                break;
            }
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            head = match node_range(chain).await {
                Ok((_, h)) => h,
                Err(e) => {
                    tracing::warn!("the node does not answer: {e:#}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    head
                }
            };
            continue;
        }
        let last = end.min(next + cfg.batch_blocks as u64 - 1);
        let mut blocks = futures::stream::iter(next..=last)
            .map(|h| fetch(chain, h))
            .buffered(cfg.concurrency.max(1));
        let mut rows = Rows::default();
        while let Some(b) = blocks.next().await {
            rows.extend(decode_block(&b, &contracts));
        }
        let quarantined = rows.rows("quarantine").len() as u64;
        if quarantined > 0 {
            tracing::warn!("{quarantined} events in blocks {next}..={last} did not decode: see the quarantine table");
        }
        let mut delay = Duration::from_millis(200);
        loop {
            match write::write_batch(pool, &chain.chain_id, next, last, &rows).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(
                        "writing blocks {next}..={last} failed: {e:#}; retrying in {delay:?}"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
        stats.blocks += last - next + 1;
        stats.rows += rows.count() as u64;
        stats.quarantined += quarantined;
        stats.last_height = last;
        if let Some(b) = &bar {
            b.inc(last - next + 1);
        }
        tracing::debug!("committed blocks {next}..={last} ({} rows)", rows.count());
        next = last + 1;
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    stats.elapsed = started.elapsed();
    Ok(stats)
}

/// Whether the node has `height` yet (for callers that wait on it).
pub async fn head(chain: &Chain) -> anyhow::Result<u64> {
    node_range(chain)
        .await
        .map(|(_, h)| h)
        .context("reading the node's head")
}
