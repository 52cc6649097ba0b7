//! What a workload version stands for: a real CSV, hashed and fingerprinted the way
//! `datapact provider publish` does it for a file.

use super::world::hex_hash;

/// The CSV a workload version stands for: a few rows that differ per asset and version. Its
/// SHA-256 is the version's `content_hash`, its columns give the `schema_hash`, as
/// `datapact provider publish` computes them for a real file.
pub(super) fn version_table(asset_id: u64, version: u32) -> (String, String) {
    let (hashes, _) = version_table_csv(asset_id, version);
    hashes
}

fn version_table_csv(asset_id: u64, version: u32) -> ((String, String), String) {
    use std::fmt::Write;
    let mut csv = String::from("row,asset,version,value\n");
    for i in 0..20u64 {
        let x = (i * 2_654_435_761 + asset_id * 97 + u64::from(version)) % 10_000;
        let _ = writeln!(csv, "{i},{asset_id},{version},{}.{:02}", x / 100, x % 100);
    }
    let columns: Vec<(String, String)> = [
        ("row", "i64"),
        ("asset", "i64"),
        ("version", "i64"),
        ("value", "f64"),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .collect();
    (
        (
            hex_hash(&[csv.as_bytes()]),
            datapact_plane::table::schema_hash(&columns),
        ),
        csv,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_version_hashes_and_fingerprints_like_the_published_file() {
        let ((content, schema), csv) = version_table_csv(7, 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        std::fs::write(&path, &csv).unwrap();
        let info = datapact_plane::table::describe(&path).unwrap();
        assert_eq!((info.content_hash, info.schema_hash), (content, schema));
        assert_eq!(info.rows, 20);
        assert_ne!(version_table(7, 3), version_table(7, 2), "versions differ");
    }
}
