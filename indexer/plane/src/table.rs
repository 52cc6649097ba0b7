//! What a provider publishes about a file: the hash of its bytes (the version's
//! `content_hash`), its schema's fingerprint (`schema_hash`) and row count, read with polars.

use std::io::Read;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::PlaneError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
}

/// A table file described.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableInfo {
    pub format: Format,
    pub rows: u64,
    /// (name, polars dtype) in file order.
    pub columns: Vec<(String, String)>,
    /// SHA-256 (hex) of the column list, one `name:dtype` line each: equal for files with the
    /// same columns of the same types in the same order.
    pub schema_hash: String,
    /// SHA-256 (hex) of the file's bytes.
    pub content_hash: String,
    pub bytes: u64,
}

/// The format by extension: `.parquet` is Parquet, anything else CSV with a header.
pub fn format_of(path: &Path) -> Format {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        Format::Parquet
    } else {
        Format::Csv
    }
}

/// SHA-256 of everything `r` yields, in constant memory: (hex digest, length).
pub fn hash_reader<R: Read>(mut r: R) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// Reads `path` as a table (CSV with a header, or Parquet).
pub fn read(path: &Path) -> Result<DataFrame, PlaneError> {
    let shown = path.display().to_string();
    let table_err = |reason: String| PlaneError::Table {
        path: shown.clone(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| PlaneError::io(shown.clone(), e))?;
    match format_of(path) {
        Format::Parquet => ParquetReader::new(file)
            .finish()
            .map_err(|e| table_err(format!("not a readable Parquet file: {e}"))),
        Format::Csv => {
            check_text(path).map_err(table_err)?;
            CsvReadOptions::default()
                .with_has_header(true)
                .into_reader_with_file_handle(file)
                .finish()
                .map_err(|e| table_err(format!("not a readable CSV file with a header: {e}")))
        }
    }
}

/// A CSV is UTF-8 text: the first 64 KiB hold no NUL byte and no invalid UTF-8 (a character
/// cut at the end of the window is fine). Polars alone reads binary data as a one-column table.
pub fn check_text(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1 << 16);
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if let Some(at) = head.iter().position(|b| *b == 0) {
        return Err(format!(
            "not a CSV file: binary data (a NUL byte at offset {at}); publish CSV text or Parquet (.parquet)"
        ));
    }
    if let Err(e) = std::str::from_utf8(&head) {
        if e.error_len().is_some() {
            return Err(format!(
                "not a CSV file: not UTF-8 text (invalid byte at offset {}); convert it to UTF-8 or publish Parquet (.parquet)",
                e.valid_up_to()
            ));
        }
    }
    Ok(())
}

/// The fingerprint of a table's columns (see [`TableInfo::schema_hash`]).
pub fn schema_hash(columns: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    for (name, dtype) in columns {
        h.update(name.as_bytes());
        h.update(b":");
        h.update(dtype.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Describes the table at `path`: it must read as a table, or nothing is published.
pub fn describe(path: &Path) -> Result<TableInfo, PlaneError> {
    let df = read(path)?;
    let columns: Vec<(String, String)> = df
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().to_string()))
        .collect();
    let file =
        std::fs::File::open(path).map_err(|e| PlaneError::io(path.display().to_string(), e))?;
    let (content_hash, bytes) =
        hash_reader(file).map_err(|e| PlaneError::io(path.display().to_string(), e))?;
    Ok(TableInfo {
        format: format_of(path),
        rows: df.height() as u64,
        schema_hash: schema_hash(&columns),
        columns,
        content_hash,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn binary_or_non_utf8_bytes_are_not_a_csv_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.csv");
        std::fs::write(&p, [0xffu8, 0xfe, 0x00, 0x01, b'\n']).unwrap();
        let e = describe(&p).unwrap_err().to_string();
        assert!(e.contains("binary data"), "{e}");
        std::fs::write(&p, b"id,name\n1,\xe9t\xe9\n").unwrap();
        let e = describe(&p).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        std::fs::write(&p, "id,name\n1,été\n").unwrap();
        assert_eq!(describe(&p).unwrap().rows, 1, "UTF-8 text is fine");
    }

    #[test]
    fn a_csv_is_described_by_its_bytes_columns_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.csv", "id,name,score\n1,x,0.5\n2,y,1.5\n");
        let info = describe(&p).unwrap();
        assert_eq!(info.rows, 2);
        assert_eq!(info.format, Format::Csv);
        let names: Vec<_> = info.columns.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["id", "name", "score"]);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(info.content_hash, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(info.bytes, bytes.len() as u64);
    }

    #[test]
    fn the_schema_hash_changes_with_a_column_or_a_type_and_not_with_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let a = describe(&write(dir.path(), "a.csv", "id,score\n1,0.5\n")).unwrap();
        let more_rows = describe(&write(dir.path(), "b.csv", "id,score\n1,0.5\n2,3.5\n")).unwrap();
        let retyped = describe(&write(dir.path(), "c.csv", "id,score\n1,high\n")).unwrap();
        let dropped = describe(&write(dir.path(), "d.csv", "id\n1\n")).unwrap();
        assert_eq!(a.schema_hash, more_rows.schema_hash);
        assert_ne!(a.content_hash, more_rows.content_hash);
        assert_ne!(a.schema_hash, retyped.schema_hash);
        assert_ne!(a.schema_hash, dropped.schema_hash);
    }

    #[test]
    fn a_parquet_file_reads_back_the_same_table() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(dir.path(), "a.csv", "id,score\n1,0.5\n2,1.5\n");
        let mut df = read(&csv).unwrap();
        let pq = dir.path().join("a.parquet");
        ParquetWriter::new(std::fs::File::create(&pq).unwrap())
            .finish(&mut df)
            .unwrap();
        let (c, p) = (describe(&csv).unwrap(), describe(&pq).unwrap());
        assert_eq!(p.format, Format::Parquet);
        assert_eq!((p.rows, &p.columns), (c.rows, &c.columns));
    }

    #[test]
    fn a_file_that_is_no_table_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "bad.parquet", "this is not parquet");
        let err = describe(&p).unwrap_err().to_string();
        assert!(err.contains("not a readable Parquet file"), "{err}");
        let missing = describe(&dir.path().join("nope.csv"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.csv"), "{missing}");
    }
}
