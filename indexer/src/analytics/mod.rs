//! `datapact analyze`: provenance scores per asset version and anomaly reports per actor and
//! time window, from the indexed tables, written back to Postgres and to a report folder.
//!
//! - [`load`] reads the tables into polars frames (COPY, CSV, a fixed schema);
//! - [`features`] turns events into per-(actor, window) features (polars for the big tables);
//! - [`detect`] scores any numeric table (robust statistics, an isolation forest of
//!   [`iforest`], smartcore's kNN and PCA) and explains each score;
//! - [`rules`] reports what the contracts' rules decided (attempts after a withdrawal or a
//!   suspension) as findings, beside the learned scores;
//! - [`provenance`] scores every version's trustworthiness with its components;
//! - [`store`] writes runs, windows, anomalies and scores back, incrementally;
//! - [`report`] writes JSON, Parquet and one self-contained HTML page per run;
//! - [`synth`] and [`eval`] generate labelled histories at scale and measure the quality.

pub mod detect;
pub mod eval;
pub mod features;
pub mod iforest;
pub mod load;
pub mod provenance;
pub mod report;
pub mod rules;
pub mod run;
pub mod store;
pub mod synth;

use std::collections::HashMap;

use polars::prelude::*;
use sqlx::PgPool;

pub use run::{analyze, Analysis, AnalyzeConfig};

/// The version of the scoring, recorded with every run and every alert it leads to.
pub const MODEL_VERSION: &str = "datapact-anomaly-1";

/// This process's peak resident memory so far, in MiB (Linux: VmHWM), 0 where unknown.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
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
    /// subject, severity
    pub alerts: DataFrame,
}

impl Data {
    /// Reads everything the analytics need; the event tables from `from_height` on (0: all).
    pub async fn load(pool: &PgPool, from_height: i64) -> anyhow::Result<Self> {
        use DataType::*;
        let f = from_height;
        let q_blocks = format!(
            "select height, extract(epoch from time)::bigint from blocks where height >= {f}"
        );
        let q_denied = format!("select height, tx_index, consumer, agreement_id, purpose, subject, reason from denied_attempts where height >= {f}");
        // the accesses, the big table, in two height ranges read at once: Postgres formats
        // each on its own core
        let (lo, hi): (Option<i64>, Option<i64>) =
            sqlx::query_as("select min(height), max(height) from accesses where height >= $1")
                .bind(f)
                .fetch_one(pool)
                .await?;
        let (lo, hi) = (lo.unwrap_or(f), hi.unwrap_or(f));
        let mid = lo + (hi - lo) / 2;
        let q_acc = |a: i64, b: i64| {
            // a subject is only counted, never shown: its hash is enough, and far smaller
            format!("select height, consumer, agreement_id, asset_id, purpose, hashtext(subject), access_count from accesses where height between {a} and {b}")
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
        let (blocks, mut accesses, accesses2, denied) = tokio::try_join!(
            load::frame(pool, &q_blocks, &[("height", Int64), ("t", Int64)]),
            load::frame(pool, &q1, &acc_schema),
            load::frame(pool, &q2, &acc_schema),
            load::frame(
                pool,
                &q_denied,
                &[
                    ("height", Int64),
                    ("tx_index", Int64),
                    ("consumer", String),
                    ("agreement_id", Int64),
                    ("purpose", String),
                    ("subject", String),
                    ("reason", String),
                ],
            ),
        )?;
        accesses.vstack_mut(&accesses2)?;
        drop(accesses2);
        // addresses and purposes repeat: as categories they cost an integer a row
        let accesses = accesses
            .lazy()
            .with_columns([
                col("consumer").cast(DataType::from_categories(Categories::global())),
                col("purpose").cast(DataType::from_categories(Categories::global())),
            ])
            .collect()?;
        let agreements = load::frame(
            pool,
            "select agreement_id, offer_id, asset_id, provider, consumer, purpose from agreements",
            &[
                ("agreement_id", Int64),
                ("offer_id", Int64),
                ("asset_id", Int64),
                ("provider", String),
                ("consumer", String),
                ("purpose", String),
            ],
        )
        .await?;
        let offers = load::frame(
            pool,
            "select offer_id, access_cap from offers",
            &[("offer_id", Int64), ("access_cap", Int64)],
        )
        .await?;
        let versions = load::frame(
            pool,
            "select height, asset_id, version, publisher, (schema_hash is not null)::text from versions",
            &[
                ("height", Int64),
                ("asset_id", Int64),
                ("version", Int64),
                ("publisher", String),
                ("schema_hash", Boolean),
            ],
        )
        .await?;
        let lineage = load::frame(
            pool,
            "select parent_asset, parent_version, child_asset, child_version from lineage_edges",
            &[
                ("parent_asset", Int64),
                ("parent_version", Int64),
                ("child_asset", Int64),
                ("child_version", Int64),
            ],
        )
        .await?;
        let attestations = load::frame(
            pool,
            "select height, asset_id, version, attestor, claim, revoked::text from attestations \
             order by height, tx_index, event_index",
            &[
                ("height", Int64),
                ("asset_id", Int64),
                ("version", Int64),
                ("attestor", String),
                ("claim", String),
                ("revoked", Boolean),
            ],
        )
        .await?;
        let assets = load::frame(
            pool,
            "select height, asset_id, owner, sensitivity from assets",
            &[
                ("height", Int64),
                ("asset_id", Int64),
                ("owner", String),
                ("sensitivity", String),
            ],
        )
        .await?;
        let tombstones = load::frame(
            pool,
            "select distinct asset_id from asset_changes where change = 'tombstone'",
            &[("asset_id", Int64)],
        )
        .await?;
        let withdrawals = load::frame(
            pool,
            "select height, consent_id, subject, controller from consent_withdrawals",
            &[
                ("height", Int64),
                ("consent_id", Int64),
                ("subject", String),
                ("controller", String),
            ],
        )
        .await?;
        let consents = load::frame(
            pool,
            "select consent_id, subject, controller, scope, array_to_string(purposes, ',') from consents",
            &[
                ("consent_id", Int64),
                ("subject", String),
                ("controller", String),
                ("scope", String),
                ("purposes", String),
            ],
        )
        .await?;
        let alerts = load::frame(
            pool,
            "select subject, severity from alerts",
            &[("subject", String), ("severity", String)],
        )
        .await?;
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
        })
    }

    /// height -> block time (unix seconds).
    pub fn block_times(&self) -> anyhow::Result<HashMap<i64, i64>> {
        let h = self.blocks.column("height")?.i64()?;
        let t = self.blocks.column("t")?.i64()?;
        Ok(h.into_iter()
            .zip(t)
            .filter_map(|(h, t)| Some((h?, t?)))
            .collect())
    }
}
