//! `make bench-ingest`: the ingester's speed against its physical limits, in one run.
//!
//! (a) rows/s of the write path (delete the range, COPY, move the checkpoint, one transaction
//!     per batch) against one raw COPY of the very same rows into the same tables;
//! (b) backfill blocks/s from the node against a fetch-only pass over the same range: the
//!     database should never be the bottleneck;
//! (c) follow mode: the time from a block's header time to its commit, while a workload runs.
//!
//! Needs a chain with the suite deployed (`make localnet deploy simulate`); writes into
//! scratch databases on the private Postgres cluster (or the server of `BENCH_PG_ADMIN_URL`).

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use futures::StreamExt;
use sqlx::PgPool;

use datapact_index::copy::copy_in;
use datapact_index::db::PgCluster;
use datapact_index::decode::{decode_block, Contracts};
use datapact_index::metrics::IngestMetrics;
use datapact_index::tables::{Rebase, Rows};
use datapact_index::write::{write_batch, BATCH_ROWS};
use datapact_index::{ingest, source, IngestConfig, RawBlock};
use datapact_sim::stats::quantile;
use datapact_sim::workload::{self, WorkloadConfig};

/// Rows the write benchmark aims for (blocks are replayed at later heights to get there).
const WRITE_ROWS: usize = 600_000;

async fn scratch(cluster: &PgCluster, name: &str) -> anyhow::Result<PgPool> {
    let url = cluster.fresh_database(name).await?;
    datapact_index::db::connect(&url, 4).await
}

/// The blocks of `from..=to` decoded, replayed at later heights and with other ids (every
/// unique key stays unique, however short the chain's history) until about `target` rows, in
/// the batches the ingester writes (closed at BATCH_ROWS rows or 2000 blocks).
fn amplified(blocks: &[RawBlock], contracts: &Contracts, target: usize) -> Vec<(u64, u64, Rows)> {
    let span = blocks.len() as u64;
    let base: Vec<Rows> = blocks.iter().map(|b| decode_block(b, contracts)).collect();
    let per_pass: usize = base.iter().map(Rows::count).sum::<usize>().max(1);
    let passes = target.div_ceil(per_pass).max(1) as u64;
    // ids grow by more than any id a pass holds
    const IDS_PER_PASS: i64 = 1_000_000_000;
    let mut out = Vec::new();
    let mut batch = Rows::default();
    let mut first: Option<u64> = None;
    for pass in 0..passes {
        let shift = pass * span;
        for (i, rows) in base.iter().enumerate() {
            let height = blocks[i].height + shift;
            first.get_or_insert(height);
            let mut rows = rows.clone();
            rows.rebase(Rebase {
                heights: shift as i64,
                ids: pass as i64 * IDS_PER_PASS,
            });
            batch.extend(rows);
            let blocks_in = height - first.unwrap_or(height) + 1;
            if batch.count() >= BATCH_ROWS || blocks_in >= 2000 {
                out.push((first.unwrap_or(height), height, std::mem::take(&mut batch)));
                first = None;
            }
        }
    }
    if let Some(f) = first {
        let last = blocks.last().map_or(f, |b| b.height + (passes - 1) * span);
        out.push((f, last, batch));
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    datapact_sim::cli::init_logging("warn");
    let (chain, d) = datapact_sim::cli::bench_chain().await?;
    let contracts = Contracts::from_deployment(&d)?;
    let cluster = PgCluster::from_env();
    cluster.ensure_running().await?;
    let head = ingest::head(&chain).await?;
    let from = d.first_height();
    anyhow::ensure!(
        head > from + 50,
        "the chain has only {} blocks since the deployment: run `make simulate` first",
        head - from
    );
    let concurrency = 16;
    println!(
        "bench-ingest: chain {} blocks {from}..={head} ({} blocks), {concurrency} fetches at once",
        chain.chain_id,
        head - from + 1
    );

    // (b) first, since it also gives us the blocks: fetch only, then the full backfill
    let metrics = IngestMetrics::default();
    let t = Instant::now();
    let blocks: Vec<RawBlock> = futures::stream::iter(from..=head)
        .map(|h| {
            let (chain, metrics) = (&chain, &metrics);
            async move { source::fetch(chain, h, metrics).await }
        })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let fetch_secs = t.elapsed().as_secs_f64();
    let n_blocks = blocks.len() as f64;
    let events: usize = blocks
        .iter()
        .map(|b| b.txs.iter().map(|t| t.events.len()).sum::<usize>())
        .sum();
    let pool = scratch(&cluster, "bench_backfill").await?;
    let cfg = IngestConfig {
        from: Some(from),
        to: Some(head),
        concurrency,
        ..IngestConfig::default()
    };
    let t = Instant::now();
    let stats = ingest::run(&pool, &chain, &d, &cfg).await?;
    let backfill_secs = t.elapsed().as_secs_f64();
    pool.close().await;
    println!();
    println!(
        "(b) backfill from the node, {} blocks, {} events, {} rows",
        stats.blocks, events, stats.rows
    );
    println!(
        "    fetch only (block + block_results)  {:>9.0} blocks/s",
        n_blocks / fetch_secs
    );
    println!(
        "    ingest (fetch, decode, write)       {:>9.0} blocks/s",
        stats.blocks as f64 / backfill_secs
    );
    println!("    ratio ingest / fetch-only           {:>9.2}  (1.00: the database is never the bottleneck)", fetch_secs / backfill_secs);

    // (a) the write path against a raw COPY of the same rows
    let batches = amplified(&blocks, &contracts, WRITE_ROWS);
    let rows: usize = batches.iter().map(|(_, _, r)| r.count()).sum();
    let pool = scratch(&cluster, "bench_write").await?;
    let t = Instant::now();
    for (first, last, batch) in &batches {
        write_batch(&pool, &chain.chain_id, *first, *last, batch).await?;
    }
    let write_secs = t.elapsed().as_secs_f64();
    pool.close().await;
    // the same rows, every table's CSV in one COPY each, one transaction, nothing else
    let mut all = Rows::default();
    for (_, _, batch) in &batches {
        all.extend(batch.clone());
    }
    let tables = all.csv_tables();
    let pool = scratch(&cluster, "bench_copy").await?;
    let t = Instant::now();
    let mut tx = pool.begin().await?;
    for table in tables {
        if table.rows > 0 {
            copy_in(&mut tx, table.name, table.columns, table.csv).await?;
        }
    }
    tx.commit().await?;
    let copy_secs = t.elapsed().as_secs_f64();
    pool.close().await;
    println!();
    println!("(a) write path, {rows} rows in {} batches as the backfill writes them (the chain's blocks replayed at later heights)", batches.len());
    println!(
        "    raw COPY, one transaction           {:>9.0} rows/s",
        rows as f64 / copy_secs
    );
    println!(
        "    write path (COPY + checkpoint per batch) {:>4.0} rows/s",
        rows as f64 / write_secs
    );
    println!(
        "    ratio write path / raw COPY         {:>9.2}  (aim: at least 0.5)",
        copy_secs / write_secs
    );

    // (c) follow mode while a workload runs
    let pool = scratch(&cluster, "bench_follow").await?;
    let now = ingest::head(&chain).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = IngestConfig {
        from: Some(now),
        follow: true,
        on_commit: Some(tx),
        ..IngestConfig::default()
    };
    let follower = {
        let (pool, chain, d) = (pool.clone(), chain.clone(), d.clone());
        tokio::spawn(async move { ingest::run(&pool, &chain, &d, &cfg).await })
    };
    let labels = std::env::temp_dir().join("datapact-bench-ingest-labels.jsonl");
    let wl = WorkloadConfig {
        seed: 1000 + now,
        rounds: 6,
        batch: 4,
        inject: false,
        labels,
    };
    let t = Instant::now();
    let summary = workload::run(&chain, &d, &wl)
        .await
        .context("the workload under follow")?;
    let workload_secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    follower.abort();
    let mut lags = Vec::new();
    let mut intervals = Vec::new();
    let mut last_time: Option<SystemTime> = None;
    while let Ok(c) = rx.try_recv() {
        if let Some(bt) = c.block_time {
            lags.push(
                c.committed_at
                    .duration_since(bt)
                    .unwrap_or_default()
                    .as_secs_f64()
                    * 1000.0,
            );
            if let Some(prev) = last_time {
                intervals.push(bt.duration_since(prev).unwrap_or_default().as_secs_f64() * 1000.0);
            }
            last_time = Some(bt);
        }
    }
    println!();
    println!(
        "(c) follow mode during a workload ({} txs in {:.0} s): {} commits",
        summary.stats.txs,
        workload_secs,
        lags.len()
    );
    println!(
        "    block interval (header times)       {:>9.0} ms median",
        quantile(intervals, 0.5)
    );
    println!(
        "    block time -> committed in Postgres {:>9.0} ms median, {:.0} ms p95, {:.0} ms max",
        quantile(lags.clone(), 0.5),
        quantile(lags.clone(), 0.95),
        quantile(lags, 1.0)
    );
    Ok(())
}
