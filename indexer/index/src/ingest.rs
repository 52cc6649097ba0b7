//! `datapact ingest`: chain events into Postgres, exactly once.
//!
//! A fetcher task reads blocks and their results over HTTP ([`source`]), many at once but
//! yielded in height order, decodes them ([`decode`]) and hands batches to the writer, which
//! commits each batch with the checkpoint in one transaction ([`write`]) while the next blocks
//! are already being fetched. After the backfill the fetcher follows the head, sending each new
//! block as soon as it exists. What the node or Postgres fails to do is retried with backoff
//! ([`IngestError::is_retryable`]); what retrying cannot mend (a pruned node, another chain's
//! database, a gap) stops the run with the reason.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::mpsc;

use datapact_chain::{Chain, Deployment};

use crate::decode::{decode_block, Contracts};
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::tables::Rows;
use crate::{source, write};

pub struct IngestConfig {
    /// first height; default: after the checkpoint, or the deployment's first block
    pub from: Option<u64>,
    /// last height; default: the head (and, with `follow`, on and on)
    pub to: Option<u64>,
    pub follow: bool,
    /// blocks fetched at once
    pub concurrency: usize,
    /// most blocks per write transaction
    pub batch_blocks: usize,
    pub progress: bool,
    pub metrics: IngestMetrics,
    /// told of every commit (for lag measurements)
    pub on_commit: Option<mpsc::UnboundedSender<Commit>>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            follow: false,
            concurrency: 16,
            batch_blocks: 2000,
            progress: false,
            metrics: IngestMetrics::default(),
            on_commit: None,
        }
    }
}

/// One committed batch.
#[derive(Clone, Debug)]
pub struct Commit {
    pub from: u64,
    pub to: u64,
    /// the time in the header of block `to`
    pub block_time: Option<SystemTime>,
    pub committed_at: SystemTime,
}

#[derive(Debug, Default)]
pub struct IngestStats {
    pub blocks: u64,
    pub rows: u64,
    pub events: u64,
    pub quarantined: u64,
    pub last_height: u64,
    pub elapsed: Duration,
}

/// Decoded blocks `from..=to`, ready to commit.
struct Batch {
    from: u64,
    to: u64,
    rows: Rows,
    block_time: Option<SystemTime>,
}

fn parse_time(rfc3339: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(t.into())
}

/// Where this run starts, after checking it leaves no gap in what the database holds.
async fn start_height(
    pool: &PgPool,
    chain: &Chain,
    d: &Deployment,
    cfg: &IngestConfig,
) -> Result<u64, IngestError> {
    let checkpoint = write::checkpoint(pool).await?;
    if let Some(cp) = &checkpoint {
        if cp.chain_id != chain.chain_id {
            return Err(IngestError::ChainMismatch {
                indexed: cp.chain_id.clone(),
                served: chain.chain_id.clone(),
            });
        }
    }
    Ok(match (cfg.from, &checkpoint) {
        (Some(from), Some(cp)) => {
            if from > cp.height + 1 {
                return Err(IngestError::Gap {
                    from,
                    next: cp.height + 1,
                    checkpoint: cp.height,
                });
            }
            if from < cp.start_height && cfg.to.is_some_and(|t| t + 1 < cp.start_height) {
                return Err(IngestError::Gap {
                    from: cp.start_height,
                    next: cfg.to.unwrap_or_default() + 1,
                    checkpoint: cp.height,
                });
            }
            from
        }
        (Some(from), None) => from,
        (None, Some(cp)) => cp.height + 1,
        (None, None) => d.first_height(),
    })
}

/// What the fetcher reads and how.
struct FetchPlan {
    chain: Chain,
    contracts: Contracts,
    next: u64,
    to: Option<u64>,
    follow: bool,
    concurrency: usize,
    batch_blocks: usize,
    metrics: IngestMetrics,
}

/// Fetches `next..` in height order and sends decoded batches to `out`; follows the head when
/// asked. Ends when the range is done, the receiver is gone, or on an error it cannot retry.
async fn fetcher(plan: FetchPlan, out: mpsc::Sender<Result<Batch, IngestError>>) {
    let FetchPlan {
        chain,
        contracts,
        mut next,
        to,
        follow,
        concurrency,
        batch_blocks,
        metrics,
    } = plan;
    let mut head = None;
    loop {
        let known_head = match head {
            Some(h) => h,
            None => match source::node_range(&chain).await {
                Ok((_, h)) => {
                    metrics.chain_head.set(h as i64);
                    h
                }
                Err(e) => {
                    metrics.error("status");
                    tracing::warn!("{e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        head = None;
        let end = to.map_or(known_head, |t| t.min(known_head));
        if next > end {
            if to.is_some_and(|t| next > t) || !follow {
                return;
            }
            // caught up: poll the head well within a block time
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let mut blocks = futures::stream::iter(next..=end)
            .map(|h| {
                let chain = &chain;
                let metrics = &metrics;
                async move { source::fetch(chain, h, metrics).await }
            })
            .buffered(concurrency.max(1));
        let mut batch: Option<Batch> = None;
        while let Some(fetched) = blocks.next().await {
            let b = match fetched {
                Ok(b) => b,
                Err(e) => {
                    let _ = out.send(Err(e)).await;
                    return;
                }
            };
            let rows = decode_block(&b, &contracts);
            let current = batch.get_or_insert_with(|| Batch {
                from: b.height,
                to: b.height,
                rows: Rows::default(),
                block_time: None,
            });
            current.to = b.height;
            current.block_time = parse_time(&b.time);
            current.rows.extend(rows);
            let full = (current.to - current.from + 1) as usize >= batch_blocks.max(1)
                || current.rows.count() >= write::BATCH_ROWS;
            if full || b.height == end {
                if let Some(ready) = batch.take() {
                    if out.send(Ok(ready)).await.is_err() {
                        return;
                    }
                }
            }
        }
        next = end + 1;
    }
}

/// The advisory lock one ingester holds per database.
const WRITER_LOCK: i64 = crate::db::locks::INGEST_WRITER;

/// Takes the database's writer lock on a connection of its own, so two ingesters never write
/// the same tables at once; the lock goes with the connection (dropped, or its process killed).
/// A lock still held by a process that just died is waited for, up to 10 s.
async fn writer_lock(pool: &PgPool) -> Result<PgConnection, IngestError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(IngestError::db("connecting for the writer lock"))?
        .detach();
    for _ in 0..50 {
        let (got,): (bool,) = sqlx::query_as("select pg_try_advisory_lock($1)")
            .bind(WRITER_LOCK)
            .fetch_one(&mut conn)
            .await
            .map_err(IngestError::db("taking the writer lock"))?;
        if got {
            return Ok(conn);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(IngestError::Busy)
}

/// The writer lock and the connection that holds it. Every batch is written on that very
/// connection, so no batch commits unless the lock is held: a connection Postgres dropped (it
/// restarted) took the lock with it, and the next write takes the lock again first, or ends the
/// run with [`IngestError::Busy`] if another ingester took it in between.
struct Writer<'p> {
    pool: &'p PgPool,
    conn: Option<PgConnection>,
}

impl<'p> Writer<'p> {
    async fn take(pool: &'p PgPool) -> Result<Self, IngestError> {
        Ok(Writer {
            pool,
            conn: Some(writer_lock(pool).await?),
        })
    }

    async fn write(&mut self, chain_id: &str, batch: &Batch) -> Result<(), IngestError> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => writer_lock(self.pool).await?,
        };
        let written =
            write::write_batch(&mut conn, chain_id, batch.from, batch.to, &batch.rows).await;
        // a session that survived a failed write still holds the lock; a lost one is let go
        if written.is_ok() || conn.ping().await.is_ok() {
            self.conn = Some(conn);
        }
        written
    }
}

/// Ingests per `cfg`; returns when the range is done (never, with `follow` and no `to`, unless
/// an error retrying cannot mend stops it).
pub async fn run(
    pool: &PgPool,
    chain: &Chain,
    d: &Deployment,
    cfg: &IngestConfig,
) -> Result<IngestStats, IngestError> {
    let started = Instant::now();
    let contracts = Contracts::from_deployment(d)?;
    // the writer lock, held until this run ends on the connection every batch is written on
    // ([`Writer`]); Postgres restarting as the run starts is waited out as it is mid-run
    let m = &cfg.metrics;
    let mut writer =
        with_retry(m, || "taking the writer lock".into(), || Writer::take(pool)).await?;
    let next = with_retry(
        m,
        || "reading the checkpoint".into(),
        || start_height(pool, chain, d, cfg),
    )
    .await?;
    let (earliest, head) = source::node_range(chain).await?;
    if next < earliest {
        return Err(IngestError::Pruned {
            height: next,
            earliest,
        });
    }
    m.chain_head.set(head as i64);
    let backfill_end = cfg.to.map_or(head, |t| t.min(head));
    let bar = (cfg.progress && backfill_end >= next).then(|| {
        let bar = indicatif::ProgressBar::new(backfill_end - next + 1);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} backfill [{elapsed_precise}] {bar:30} {pos}/{len} blocks {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    // two batches in flight: one being written, one being filled
    let (tx, mut rx) = mpsc::channel(2);
    let fetch = tokio::spawn(fetcher(
        FetchPlan {
            chain: chain.clone(),
            contracts,
            next,
            to: cfg.to,
            follow: cfg.follow,
            concurrency: cfg.concurrency,
            batch_blocks: cfg.batch_blocks,
            metrics: m.clone(),
        },
        tx,
    ));
    let mut stats = IngestStats::default();
    let result = loop {
        let Some(batch) = rx.recv().await else {
            break Ok(());
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => break Err(e),
        };
        let t0 = Instant::now();
        if let Err(e) = write_with_retry(&mut writer, &chain.chain_id, &batch, m).await {
            break Err(e);
        }
        m.batch_seconds.observe(t0.elapsed().as_secs_f64());
        let committed_at = SystemTime::now();
        let blocks = batch.to - batch.from + 1;
        let events = batch.rows.events.len() as u64;
        let quarantined = batch.rows.quarantine.len() as u64;
        if quarantined > 0 {
            tracing::warn!(
                "{quarantined} events in blocks {}..={} did not decode: kept in the quarantine table",
                batch.from,
                batch.to
            );
        }
        stats.blocks += blocks;
        stats.rows += batch.rows.count() as u64;
        stats.events += events;
        stats.quarantined += quarantined;
        stats.last_height = batch.to;
        m.height.set(batch.to as i64);
        m.blocks.inc_by(blocks);
        m.events.inc_by(events);
        m.rows.inc_by(batch.rows.count() as u64);
        m.quarantined.inc_by(quarantined);
        let head = m.chain_head.get().max(batch.to as i64);
        m.lag_blocks.set(head - batch.to as i64);
        if let Some(t) = batch.block_time {
            let lag = committed_at.duration_since(t).unwrap_or_default();
            m.lag_seconds.set(lag.as_secs_f64());
        }
        if let Some(tx) = &cfg.on_commit {
            let _ = tx.send(Commit {
                from: batch.from,
                to: batch.to,
                block_time: batch.block_time,
                committed_at,
            });
        }
        match &bar {
            Some(b) if !b.is_finished() => {
                b.inc(blocks);
                if batch.to >= backfill_end {
                    b.finish_and_clear();
                    if cfg.follow {
                        tracing::info!("backfill done at height {}; following the head", batch.to);
                    }
                }
            }
            _ => tracing::debug!("committed blocks {}..={}", batch.from, batch.to),
        }
    };
    fetch.abort();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    stats.elapsed = started.elapsed();
    result.map(|()| stats)
}

async fn write_with_retry(
    writer: &mut Writer<'_>,
    chain_id: &str,
    batch: &Batch,
    m: &IngestMetrics,
) -> Result<(), IngestError> {
    let mut backoff = Backoff::default();
    loop {
        match writer.write(chain_id, batch).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let what = || format!("writing blocks {}..={}", batch.from, batch.to);
                backoff.wait(m, what, e).await?
            }
        }
    }
}

/// Runs `op` until it succeeds or fails with an error retrying cannot mend, waiting as
/// [`Backoff`] says between attempts; `what` says what was being done, in the warnings.
async fn with_retry<T, Fut>(
    m: &IngestMetrics,
    what: impl Fn() -> String,
    mut op: impl FnMut() -> Fut,
) -> Result<T, IngestError>
where
    Fut: std::future::Future<Output = Result<T, IngestError>>,
{
    let mut backoff = Backoff::default();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => backoff.wait(m, &what, e).await?,
        }
    }
}

/// The waits between attempts at a Postgres step: 200 ms after the first failure, twice as long
/// after each, up to 10 s.
struct Backoff {
    delay: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: Duration::from_millis(200),
            attempt: 0,
        }
    }
}

impl Backoff {
    /// Hands back `e` if retrying cannot mend it ([`IngestError::is_retryable`]); otherwise
    /// counts and logs it, and waits before the next attempt.
    async fn wait(
        &mut self,
        m: &IngestMetrics,
        what: impl Fn() -> String,
        e: IngestError,
    ) -> Result<(), IngestError> {
        if !e.is_retryable() {
            return Err(e);
        }
        m.error("db");
        self.attempt += 1;
        if self.attempt == 1 || self.attempt % 10 == 0 {
            let (attempt, delay) = (self.attempt, self.delay);
            tracing::warn!("{}: {e} (attempt {attempt}); retrying in {delay:?}", what());
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(10));
        Ok(())
    }
}

/// The node's latest height.
pub async fn head(chain: &Chain) -> Result<u64, IngestError> {
    source::node_range(chain).await.map(|(_, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection reset, as Postgres restarting gives.
    fn reset() -> IngestError {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        IngestError::db("connecting for the writer lock")(sqlx::Error::Io(io))
    }

    #[tokio::test]
    async fn a_step_that_meets_postgres_restarting_is_tried_again_until_it_succeeds() {
        // the defect: `run` gave up when the restart came while it took the writer lock
        let m = IngestMetrics::default();
        let mut calls = 0;
        let got = with_retry(
            &m,
            || "taking the writer lock".into(),
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(reset())
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(got.ok(), Some(3));
    }

    #[tokio::test]
    async fn an_error_retrying_cannot_mend_ends_the_step_at_once() {
        let m = IngestMetrics::default();
        let mut calls = 0;
        let got: Result<(), _> = with_retry(
            &m,
            || "taking the writer lock".into(),
            || {
                calls += 1;
                async { Err(IngestError::Busy) }
            },
        )
        .await;
        assert!(matches!(got, Err(IngestError::Busy)));
        assert_eq!(calls, 1);
    }
}
