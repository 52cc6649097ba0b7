//! Reading the indexed tables into polars: `COPY (query) TO STDOUT` in CSV, parsed by polars'
//! multi-threaded CSV reader against a fixed schema — the fastest path out of Postgres that
//! sqlx offers, and no per-row decoding in Rust.

use std::io::Cursor;

use anyhow::Context;
use futures::TryStreamExt;
use polars::prelude::*;
use sqlx::PgPool;

/// Runs `query` (a SELECT) through COPY and parses its CSV with `schema` (column names and
/// types, in the query's order).
pub async fn frame(
    pool: &PgPool,
    query: &str,
    schema: &[(&str, DataType)],
) -> anyhow::Result<DataFrame> {
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
    drop(stream);
    parse_csv(bytes, schema)
}

/// Parses headerless CSV with an explicit schema (empty unquoted fields are nulls).
pub fn parse_csv(bytes: Vec<u8>, schema: &[(&str, DataType)]) -> anyhow::Result<DataFrame> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_from_copy_parses_with_nulls_and_quoted_text() {
        let text = b"1,\"wasm1a\",\n2,\"a,b\",7\n".to_vec();
        let df = parse_csv(
            text,
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
        let empty = parse_csv(Vec::new(), &[("h", DataType::Int64)]).unwrap();
        assert_eq!(empty.height(), 0);
        assert_eq!(empty.width(), 1);
    }
}
