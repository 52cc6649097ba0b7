//! Every read the analytics make of the index. The tables go into polars through
//! `COPY (query) TO STDOUT` in CSV, parsed by polars' multi-threaded CSV reader against a fixed
//! schema: the fastest path out of Postgres that sqlx offers, and no per-row decoding in Rust.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use anyhow::Context;
use futures::TryStreamExt;
use polars::prelude::*;
use sqlx::PgPool;

use crate::manifest::{self, Digest};

mod series;
pub use series::{AgreementState, SeriesInputs};

/// Runs `query` (a SELECT) through COPY and returns its CSV, as Postgres wrote it.
pub async fn copy_bytes(pool: &PgPool, query: &str) -> anyhow::Result<Vec<u8>> {
    let mut conn = pool.acquire().await.context("a connection to read from")?;
    let stmt = format!("copy ({query}) to stdout with (format csv)");
    let mut stream = conn
        .copy_out_raw(&stmt)
        .await
        .with_context(|| format!("reading: {query}"))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .with_context(|| format!("reading: {query}"))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Parses headerless CSV with an explicit schema (empty unquoted fields are nulls).
pub fn parse_csv(bytes: &[u8], schema: &[(&str, DataType)]) -> anyhow::Result<DataFrame> {
    let schema: Schema = schema
        .iter()
        .map(|(n, t)| Field::new((*n).into(), t.clone()))
        .collect();
    if bytes.is_empty() {
        return Ok(DataFrame::empty_with_schema(&schema));
    }
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(schema)))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .context("parsing the rows read from Postgres")
}

/// The chain the index holds (None before the first ingest).
pub async fn chain_id(pool: &PgPool) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("select chain_id from checkpoint where id = 1")
        .fetch_optional(pool)
        .await
        .context("reading the checkpoint")
}

/// The last indexed height (the ingester's checkpoint), if anything is indexed.
pub async fn indexed_height(pool: &PgPool) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("select height from checkpoint where id = 1")
        .fetch_optional(pool)
        .await
        .context("reading the checkpoint")
}

/// Unix seconds of the first and last activity (accesses and refused attempts), not of idle
/// blocks; None when there is none.
pub async fn activity_span(pool: &PgPool) -> anyhow::Result<Option<(i64, i64)>> {
    sqlx::query_as(
        "select extract(epoch from min(b.time))::bigint, extract(epoch from max(b.time))::bigint \
         from blocks b where b.height in (select min(height) from accesses union all select max(height) from accesses \
         union all select min(height) from denied_attempts union all select max(height) from denied_attempts) \
         having count(*) > 0",
    )
    .fetch_optional(pool)
    .await
    .context("reading the span of activity")
}

/// The time (unix seconds) of block `height`, if indexed.
pub async fn block_time(pool: &PgPool, height: i64) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("select extract(epoch from time)::bigint from blocks where height = $1")
        .bind(height)
        .fetch_optional(pool)
        .await
        .context("reading a block's time")
}

/// The first indexed height whose second (its time rounded, as every read here takes it) is
/// at or after unix second `t`.
pub async fn first_height_since(pool: &PgPool, t: i64) -> anyhow::Result<Option<i64>> {
    // a block's second is its time rounded (`extract(epoch from time)::bigint`, as every read
    // here takes it): the window starting at t holds the blocks from t - 0.5 s on (found by
    // tests/runs.rs: a run starting at an exact t left out the blocks of its first window
    // that rounded up into it)
    sqlx::query_scalar("select min(height) from blocks where time >= to_timestamp($1 - 0.5)")
        .bind(t as f64)
        .fetch_one(pool)
        .await
        .context("reading the first block of a window")
}

/// The hashes of the transactions at (height, tx_index).
pub async fn tx_hashes(
    pool: &PgPool,
    at: &[(i64, i64)],
) -> anyhow::Result<HashMap<(i64, i64), String>> {
    let heights: Vec<i64> = at.iter().map(|w| w.0).collect();
    let idx: Vec<i64> = at.iter().map(|w| w.1).collect();
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "select t.height, t.tx_index::bigint, t.hash from txs t \
         join unnest($1::bigint[], $2::bigint[]) as w(h, i) on t.height = w.h and t.tx_index = w.i",
    )
    .bind(&heights)
    .bind(&idx)
    .fetch_all(pool)
    .await
    .context("reading transaction hashes")?;
    Ok(rows.into_iter().map(|(h, i, x)| ((h, i), x)).collect())
}

/// The indexed tables the analytics read, as polars frames.
pub struct Data {
    /// height, t (unix seconds)
    pub blocks: DataFrame,
    /// height, consumer, agreement_id, asset_id, purpose, subject (a hash), access_count
    pub accesses: DataFrame,
    /// height, tx_index, consumer, agreement_id, purpose, subject, reason
    pub denied: DataFrame,
    /// agreement_id, offer_id, asset_id, provider, consumer, purpose
    pub agreements: DataFrame,
    /// offer_id, access_cap
    pub offers: DataFrame,
    /// height, asset_id, version, publisher, schema_hash
    pub versions: DataFrame,
    /// parent_asset, parent_version, child_asset, child_version
    pub lineage: DataFrame,
    /// height, asset_id, version, attestor, claim, revoked
    pub attestations: DataFrame,
    /// height, asset_id, owner, sensitivity
    pub assets: DataFrame,
    /// asset_id (tombstoned ones)
    pub tombstones: DataFrame,
    /// height, consent_id, subject, controller
    pub withdrawals: DataFrame,
    /// consent_id, subject, controller, scope, purposes (comma-separated)
    pub consents: DataFrame,
    /// subject, severity, asset_id, standing (neither resolved nor lifted)
    pub alerts: DataFrame,
    /// each table's digest as read (the run's inputs), by table name
    pub digests: BTreeMap<String, Digest>,
    /// `blocks` by height, built on the first [`Data::block_times`] (the features and the rules
    /// each look heights up)
    times: std::sync::OnceLock<BlockTimes>,
}

impl Data {
    /// Reads everything the analytics need, as indexed up to `to_height`: the event tables from
    /// `from_height` on (0: all), the state tables whole. Each table's rows are digested as
    /// `COPY` writes them (see [`crate::manifest`]): the run's inputs.
    pub async fn load(pool: &PgPool, from_height: i64, to_height: i64) -> anyhow::Result<Self> {
        use DataType::*;
        let (f, t) = (from_height, to_height);
        let events = |cols: &str, table: &str| {
            format!("select {cols} from {table} where height between {f} and {t}")
        };
        let state =
            |cols: &str, table: &str| format!("select {cols} from {table} where height <= {t}");
        let mut digests = BTreeMap::new();
        let q_blocks = events("height, extract(epoch from time)::bigint", "blocks");
        let q_denied = events(
            "height, tx_index, consumer, agreement_id, purpose, subject, reason",
            "denied_attempts",
        );
        // a subject is only counted, never shown: its hash is enough, and far smaller
        let acc_cols =
            "height, consumer, agreement_id, asset_id, purpose, hashtext(subject), access_count";
        // the accesses, the big table, in two height ranges read at once: Postgres formats
        // each on its own core
        let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as(
            "select min(height), max(height) from accesses where height between $1 and $2",
        )
        .bind(f)
        .bind(t)
        .fetch_one(pool)
        .await?;
        let (lo, hi) = (lo.unwrap_or(f), hi.unwrap_or(f));
        let mid = lo + (hi - lo) / 2;
        let q_acc = |a: i64, b: i64| {
            format!("select {acc_cols} from accesses where height between {a} and {b}")
        };
        let acc_schema = [
            ("height", Int64),
            ("consumer", String),
            ("agreement_id", Int64),
            ("asset_id", Int64),
            ("purpose", String),
            ("subject", Int32),
            ("access_count", Int64),
        ];
        let (q1, q2) = (q_acc(lo, mid), q_acc(mid + 1, hi));
        let (blocks, acc1, acc2, denied) = tokio::try_join!(
            copy_bytes(pool, &q_blocks),
            copy_bytes(pool, &q1),
            copy_bytes(pool, &q2),
            copy_bytes(pool, &q_denied),
        )?;
        let q_accesses = events(acc_cols, "accesses");
        let denied_schema = [
            ("height", Int64),
            ("tx_index", Int64),
            ("consumer", String),
            ("agreement_id", Int64),
            ("purpose", String),
            ("subject", String),
            ("reason", String),
        ];
        // the digests (a sort of every line) while polars parses the same bytes
        let (digested, parsed) = rayon::join(
            || {
                [
                    ("blocks", &q_blocks, &[&blocks[..]][..]),
                    ("accesses", &q_accesses, &[&acc1[..], &acc2[..]]),
                    ("denied_attempts", &q_denied, &[&denied[..]]),
                ]
                .map(|(name, query, chunks)| (name, manifest::digest_copy(query, chunks)))
            },
            || -> anyhow::Result<_> {
                let blocks = parse_csv(&blocks, &[("height", Int64), ("t", Int64)])?;
                let mut accesses = parse_csv(&acc1, &acc_schema)?;
                accesses.vstack_mut(&parse_csv(&acc2, &acc_schema)?)?;
                let denied = parse_csv(&denied, &denied_schema)?;
                Ok((blocks, accesses, denied))
            },
        );
        digests.extend(digested.map(|(name, d)| (name.to_string(), d)));
        let (blocks, accesses, denied) = parsed?;
        // addresses and purposes repeat: as categories they cost an integer a row
        let accesses = accesses
            .lazy()
            .with_columns([
                col("consumer").cast(DataType::from_categories(Categories::global())),
                col("purpose").cast(DataType::from_categories(Categories::global())),
            ])
            .collect()?;
        // an alert stands until a responder resolves it or lifts its suspension
        let standing = format!(
            "subject, severity, asset_id, (not exists (select 1 from audit_changes c \
             where c.alert_seq = alerts.alert_seq and c.change in ('{}', '{}') and c.height <= {t}))::text",
            datapact_types::events::action::RESOLVE,
            datapact_types::events::action::LIFT_SUSPENSION
        );
        // the state tables, small, read at once; their digests as each arrives
        let read_digests = std::sync::Mutex::new(BTreeMap::new());
        let read = async |name: &str, query: std::string::String, schema: &[(&str, DataType)]| {
            let bytes = copy_bytes(pool, &query).await?;
            let digest = manifest::digest_copy(&query, &[&bytes]);
            read_digests
                .lock()
                .map_err(|_| {
                    anyhow::anyhow!("a state table's reader panicked while recording its digest")
                })?
                .insert(name.to_string(), digest);
            parse_csv(&bytes, schema)
        };
        let (
            agreements,
            offers,
            versions,
            lineage,
            attestations,
            assets,
            tombstones,
            withdrawals,
            consents,
            alerts,
        ) = tokio::try_join!(
            read(
                "agreements",
                state(
                    "agreement_id, offer_id, asset_id, provider, consumer, purpose",
                    "agreements",
                ),
                &[
                    ("agreement_id", Int64),
                    ("offer_id", Int64),
                    ("asset_id", Int64),
                    ("provider", String),
                    ("consumer", String),
                    ("purpose", String),
                ],
            ),
            read(
                "offers",
                state("offer_id, access_cap", "offers"),
                &[("offer_id", Int64), ("access_cap", Int64)],
            ),
            read(
                "versions",
                state(
                    "height, asset_id, version, publisher, (schema_hash is not null)::text",
                    "versions",
                ),
                &[
                    ("height", Int64),
                    ("asset_id", Int64),
                    ("version", Int64),
                    ("publisher", String),
                    ("schema_hash", Boolean),
                ],
            ),
            read(
                "lineage_edges",
                state(
                    "parent_asset, parent_version, child_asset, child_version",
                    "lineage_edges",
                ),
                &[
                    ("parent_asset", Int64),
                    ("parent_version", Int64),
                    ("child_asset", Int64),
                    ("child_version", Int64),
                ],
            ),
            read(
                "attestations",
                state(
                    "height, asset_id, version, attestor, claim, revoked::text",
                    "attestations",
                ) + " order by height, tx_index, event_index",
                &[
                    ("height", Int64),
                    ("asset_id", Int64),
                    ("version", Int64),
                    ("attestor", String),
                    ("claim", String),
                    ("revoked", Boolean),
                ],
            ),
            read(
                "assets",
                state("height, asset_id, owner, sensitivity", "assets"),
                &[
                    ("height", Int64),
                    ("asset_id", Int64),
                    ("owner", String),
                    ("sensitivity", String),
                ],
            ),
            read(
                "asset_changes",
                state("distinct asset_id", "asset_changes") + " and change = 'tombstone'",
                &[("asset_id", Int64)],
            ),
            read(
                "consent_withdrawals",
                state(
                    "height, consent_id, subject, controller",
                    "consent_withdrawals",
                ),
                &[
                    ("height", Int64),
                    ("consent_id", Int64),
                    ("subject", String),
                    ("controller", String),
                ],
            ),
            read(
                "consents",
                state(
                    "consent_id, subject, controller, scope, array_to_string(purposes, ',')",
                    "consents",
                ),
                &[
                    ("consent_id", Int64),
                    ("subject", String),
                    ("controller", String),
                    ("scope", String),
                    ("purposes", String),
                ],
            ),
            read(
                "alerts",
                state(&standing, "alerts"),
                &[
                    ("subject", String),
                    ("severity", String),
                    ("asset_id", Int64),
                    ("standing", Boolean),
                ],
            ),
        )?;
        digests.extend(read_digests.into_inner().map_err(|_| {
            anyhow::anyhow!("a state table's reader panicked while recording its digest")
        })?);
        Ok(Self {
            blocks,
            accesses,
            denied,
            agreements,
            offers,
            versions,
            lineage,
            attestations,
            assets,
            tombstones,
            withdrawals,
            consents,
            alerts,
            digests,
            times: std::sync::OnceLock::new(),
        })
    }

    /// height -> block time (unix seconds).
    pub fn block_times(&self) -> anyhow::Result<&BlockTimes> {
        if let Some(times) = self.times.get() {
            return Ok(times);
        }
        let h = self.blocks.column("height")?.i64()?;
        let t = self.blocks.column("t")?.i64()?;
        let times = BlockTimes::new(
            h.into_iter()
                .zip(t)
                .filter_map(|(h, t)| Some((h?, t?)))
                .collect(),
        );
        Ok(self.times.get_or_init(|| times))
    }
}

/// Block times by height. The blocks read are a range of heights, so they sit in a table from
/// the first (as long as the blocks' frame), looked up by offset: a hash map of them, or a hash
/// join, was most of a lookup's cost (the consumers' windows of `make bench-analytics`' 823,782
/// accesses, 0.647 -> 0.577 s for the consumers' features). Blocks far sparser than their range
/// of heights (an index with a hole) go in a map instead.
pub enum BlockTimes {
    Dense { first: i64, times: Vec<Option<i64>> },
    Sparse(HashMap<i64, i64>),
}

impl BlockTimes {
    /// From (height, time) pairs; of a height read twice, the later time.
    pub fn new(blocks: Vec<(i64, i64)>) -> Self {
        let lo = blocks.iter().map(|b| b.0).min().unwrap_or(0);
        let hi = blocks.iter().map(|b| b.0).max().unwrap_or(0);
        let span =
            usize::try_from(hi.saturating_sub(lo)).map_or(usize::MAX, |d| d.saturating_add(1));
        if blocks.is_empty() || span > 2 * blocks.len() + 1024 {
            return BlockTimes::Sparse(blocks.into_iter().collect());
        }
        let mut times = vec![None; span];
        for (h, t) in blocks {
            times[(h - lo) as usize] = Some(t);
        }
        BlockTimes::Dense { first: lo, times }
    }

    /// The time (unix seconds) of block `height`, if it was read.
    pub fn get(&self, height: i64) -> Option<i64> {
        match self {
            BlockTimes::Dense { first, times } => {
                let i = usize::try_from(height.checked_sub(*first)?).ok()?;
                times.get(i).copied().flatten()
            }
            BlockTimes::Sparse(m) => m.get(&height).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_from_copy_parses_with_nulls_and_quoted_text() {
        let text = b"1,\"wasm1a\",\n2,\"a,b\",7\n".to_vec();
        let df = parse_csv(
            &text,
            &[
                ("h", DataType::Int64),
                ("who", DataType::String),
                ("n", DataType::Int64),
            ],
        )
        .unwrap();
        assert_eq!(df.height(), 2);
        let n = df.column("n").unwrap().i64().unwrap();
        assert_eq!(n.get(0), None);
        assert_eq!(n.get(1), Some(7));
        assert_eq!(df.column("who").unwrap().str().unwrap().get(1), Some("a,b"));
        let empty = parse_csv(&[], &[("h", DataType::Int64)]).unwrap();
        assert_eq!(empty.height(), 0);
        assert_eq!(empty.width(), 1);
    }
}
