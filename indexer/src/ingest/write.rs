//! The write path: a batch of decoded blocks and the checkpoint, in one transaction.
//!
//! Every table is keyed by height first, so a batch first deletes its height range (a no-op on
//! a first pass, the idempotence of a re-ingest) and then COPYs its rows in CSV, which is the
//! fastest way into Postgres that sqlx offers. A crash before COMMIT leaves nothing behind; after
//! COMMIT, the checkpoint says so.

use anyhow::Context;
use sqlx::PgPool;

use super::decode::{Row, Rows, TABLES};

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

/// Writes the rows of blocks `from..=to` and moves the checkpoint to `to`, atomically.
pub async fn write_batch(
    pool: &PgPool,
    chain_id: &str,
    from: u64,
    to: u64,
    rows: &Rows,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await.context("opening a write transaction")?;
    for (table, columns) in TABLES {
        // table names come from the compile-time TABLES list
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "delete from {table} where height between $1 and $2"
        )))
        .bind(from as i64)
        .bind(to as i64)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("clearing {table} {from}..={to}"))?;
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
            .with_context(|| format!("starting COPY into {table}"))?;
        copy.send(csv(data).into_bytes())
            .await
            .with_context(|| format!("COPY into {table}"))?;
        copy.finish()
            .await
            .with_context(|| format!("finishing COPY into {table}"))?;
    }
    sqlx::query(
        "insert into checkpoint (id, chain_id, height) values (1, $1, $2) \
         on conflict (id) do update set chain_id = excluded.chain_id, height = excluded.height, updated_at = now()",
    )
    .bind(chain_id)
    .bind(to as i64)
    .execute(&mut *tx)
    .await
    .context("moving the checkpoint")?;
    tx.commit().await.context("committing the batch")?;
    Ok(())
}

/// (chain id, height) of the last committed block, if any.
pub async fn checkpoint(pool: &PgPool) -> anyhow::Result<Option<(String, u64)>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("select chain_id, height from checkpoint where id = 1")
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(c, h)| (c, h as u64)))
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
