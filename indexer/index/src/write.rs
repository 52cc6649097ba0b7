//! The write path: a batch of decoded blocks and the checkpoint, in one transaction.
//!
//! Every table is keyed by height first, so a batch at or below the checkpoint first deletes its
//! height range (the idempotence of a re-ingest; a batch above it has nothing to delete) and then
//! COPYs its rows in CSV, which is the fastest way into Postgres that sqlx offers. A crash before
//! COMMIT leaves nothing behind; after COMMIT, the checkpoint says so.

use sqlx::{Acquire, PgPool, Postgres};

use crate::copy::copy_in;
use crate::error::IngestError;
use crate::tables::Rows;

/// A backfill batch is written once it holds this many rows (or its most blocks).
pub const BATCH_ROWS: usize = 20_000;

/// Writes the rows of blocks `from..=to` and moves the checkpoint to `to` (never backwards: a
/// re-ingested range below the checkpoint leaves it where it was), atomically, on `conn`: a
/// pool, or the one connection that holds the ingester's writer lock.
pub async fn write_batch<'c>(
    conn: impl Acquire<'c, Database = Postgres>,
    chain_id: &str,
    from: u64,
    to: u64,
    rows: &Rows,
) -> Result<(), IngestError> {
    let mut tx = conn
        .begin()
        .await
        .map_err(IngestError::db("opening a write transaction"))?;
    // The rows and the checkpoint commit together, so a commit lost in a Postgres crash takes
    // its checkpoint with it and those blocks are simply read again from the chain: waiting
    // for the WAL flush at every commit buys nothing here.
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await
        .map_err(IngestError::db("setting up the write transaction"))?;
    // only a range at or below the checkpoint can hold rows already (a re-ingest)
    let checkpoint: Option<i64> = sqlx::query_scalar("select height from checkpoint where id = 1")
        .fetch_optional(&mut *tx)
        .await
        .map_err(IngestError::db("reading the checkpoint"))?;
    let rewrite = checkpoint.is_some_and(|h| from as i64 <= h);
    for table in rows.csv_tables() {
        // table names come from the compile-time row structs
        if rewrite {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "delete from {} where height between $1 and $2",
                table.name
            )))
            .bind(from as i64)
            .bind(to as i64)
            .execute(&mut *tx)
            .await
            .map_err(IngestError::db(format!(
                "clearing {} {from}..={to}",
                table.name
            )))?;
        }
        if table.rows == 0 {
            continue;
        }
        copy_in(&mut tx, table.name, table.columns, table.csv)
            .await
            .map_err(IngestError::db(format!("COPY into {}", table.name)))?;
    }
    sqlx::query(
        "insert into checkpoint (id, chain_id, start_height, height) values (1, $1, $2, $3) \
         on conflict (id) do update set chain_id = excluded.chain_id, \
           start_height = least(checkpoint.start_height, excluded.start_height), \
           height = greatest(checkpoint.height, excluded.height), updated_at = now()",
    )
    .bind(chain_id)
    .bind(from as i64)
    .bind(to as i64)
    .execute(&mut *tx)
    .await
    .map_err(IngestError::db("moving the checkpoint"))?;
    tx.commit()
        .await
        .map_err(IngestError::db("committing the batch"))?;
    Ok(())
}

/// What the database holds: the chain it indexes and the heights `start_height..=height`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub chain_id: String,
    pub start_height: u64,
    pub height: u64,
}

/// The checkpoint, if anything was ever committed.
pub async fn checkpoint(pool: &PgPool) -> Result<Option<Checkpoint>, IngestError> {
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("select chain_id, start_height, height from checkpoint where id = 1")
            .fetch_optional(pool)
            .await
            .map_err(IngestError::db("reading the checkpoint"))?;
    Ok(row.map(|(chain_id, s, h)| Checkpoint {
        chain_id,
        start_height: s as u64,
        height: h as u64,
    }))
}
