//! The write path: a batch of decoded blocks and the checkpoint, in one transaction.
//!
//! Every table is keyed by height first, so a batch at or below the checkpoint first deletes its
//! height range (the idempotence of a re-ingest; a batch above it has nothing to delete) and then
//! COPYs its rows in CSV, which is the fastest way into Postgres that sqlx offers. A crash before
//! COMMIT leaves nothing behind; after COMMIT, the checkpoint says so.

use sqlx::PgPool;

use super::decode::{Row, Rows, TABLES};
use super::IngestError;

/// One CSV field: NULL is an unquoted empty field, every value is quoted (so "" is an empty
/// string, never NULL).
fn csv_field(out: &mut String, v: &Option<String>) {
    if let Some(v) = v {
        out.push('"');
        for ch in v.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    }
}

pub fn csv(rows: &[Row]) -> String {
    let mut out = String::with_capacity(rows.len() * 96);
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, v);
        }
        out.push('\n');
    }
    out
}

/// A backfill batch is written once it holds this many rows (or its most blocks).
pub const BATCH_ROWS: usize = 20_000;

/// Writes the rows of blocks `from..=to` and moves the checkpoint to `to` (never backwards: a
/// re-ingested range below the checkpoint leaves it where it was), atomically.
pub async fn write_batch(
    pool: &PgPool,
    chain_id: &str,
    from: u64,
    to: u64,
    rows: &Rows,
) -> Result<(), IngestError> {
    let mut tx = pool
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
    for (table, columns) in TABLES {
        // table names come from the compile-time TABLES list
        if rewrite {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "delete from {table} where height between $1 and $2"
            )))
            .bind(from as i64)
            .bind(to as i64)
            .execute(&mut *tx)
            .await
            .map_err(IngestError::db(format!("clearing {table} {from}..={to}")))?;
        }
        let data = rows.rows(table);
        if data.is_empty() {
            continue;
        }
        let stmt = format!(
            "copy {table} ({}) from stdin with (format csv)",
            columns.join(", ")
        );
        let mut copy = tx
            .copy_in_raw(&stmt)
            .await
            .map_err(IngestError::db(format!("starting COPY into {table}")))?;
        copy.send(csv(data).into_bytes())
            .await
            .map_err(IngestError::db(format!("COPY into {table}")))?;
        copy.finish()
            .await
            .map_err(IngestError::db(format!("finishing COPY into {table}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_keeps_null_apart_from_the_empty_string_and_escapes_quotes() {
        let rows = vec![vec![None, Some(String::new()), Some("a\"b,c\nd".into())]];
        assert_eq!(csv(&rows), ",\"\",\"a\"\"b,c\nd\"\n");
    }
}
