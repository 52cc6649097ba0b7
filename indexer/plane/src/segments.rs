//! Consent reaches the rows: personal data is published one segment per subject, so the
//! gateway can serve exactly the subjects whose consent is in force at the moment of delivery,
//! and the consumer can still check what it got against the one hash on chain.
//!
//! Each segment is the CSV (with header) of one subject's rows. Its leaf is
//! `SHA-256("datapact/segment/v1" ‖ 0 ‖ subject ‖ 0 ‖ SHA-256(segment))`; the version's
//! `content_hash` is `SHA-256("datapact/segments/v1" ‖ 0 ‖ leaf₁ ‖ … ‖ leafₙ)` over the leaves
//! in subject order. The gateway sends every leaf (hashes only: a leaf reveals nothing without
//! the segment) and the segments it may serve; the consumer recomputes the served segments'
//! leaves, finds each in the list and the list's root equal to the chain's hash.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::PlaneError;

/// One subject's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub subject: String,
    pub rows: u64,
    /// The rows as CSV with a header.
    pub csv: Vec<u8>,
}

impl Segment {
    pub fn leaf(&self) -> [u8; 32] {
        leaf(&self.subject, &self.csv)
    }
}

/// The leaf of `subject`'s segment `csv`.
pub fn leaf(subject: &str, csv: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"datapact/segment/v1\0");
    h.update(subject.as_bytes());
    h.update(b"\0");
    h.update(Sha256::digest(csv));
    h.finalize().into()
}

/// The root over leaves in subject order: the version's content hash (hex).
pub fn root(leaves: &[[u8; 32]]) -> String {
    let mut h = Sha256::new();
    h.update(b"datapact/segments/v1\0");
    for l in leaves {
        h.update(l);
    }
    hex::encode(h.finalize())
}

/// The media type of a segmented delivery: one JSON line ([`DeliveryHead`]), then the served
/// segments' ciphertexts back to back, each as long as the head says.
pub const CONTENT_TYPE: &str = "application/vnd.datapact.segments";

/// The longest head a consumer reads (a leaf is 67 bytes of JSON: ~250k subjects).
pub const MAX_HEAD_BYTES: usize = 16 << 20;

/// What the provider stores beside a segmented version's ciphertexts
/// (`<store>/<asset>/<version>.segments/index.json`): the subjects in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentIndex {
    pub segments: Vec<IndexedSegment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedSegment {
    pub subject: String,
    /// The segment's leaf (hex).
    pub leaf: String,
    pub rows: u64,
    /// The ciphertext's file name in the version's folder.
    pub file: String,
}

/// The first line of a segmented delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryHead {
    /// Every leaf of the version, in subject order (hex).
    pub leaves: Vec<String>,
    /// The segments that follow, in order, with their ciphertexts' lengths.
    pub served: Vec<ServedSegment>,
    /// How many subjects' rows were held back (no consent in force at delivery).
    pub withheld: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedSegment {
    pub subject: String,
    pub bytes: u64,
}

/// Leaves from their hex form.
pub fn parse_leaves(hex_leaves: &[String]) -> Result<Vec<[u8; 32]>, PlaneError> {
    hex_leaves
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| PlaneError::Decrypt(format!("{h:?} is not a 32-byte hex leaf")))
        })
        .collect()
}

/// The served segments as one CSV: the header once, then every segment's rows in order. The
/// segments must share their header (they were split from one table).
pub fn merge(served: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PlaneError> {
    let mut out = Vec::new();
    let mut header: Option<&[u8]> = None;
    for (subject, csv) in served {
        let cut = csv
            .iter()
            .position(|b| *b == b'\n')
            .map_or(csv.len(), |i| i + 1);
        let (head, rows) = csv.split_at(cut);
        match header {
            None => {
                header = Some(head);
                out.extend_from_slice(head);
            }
            Some(h) if h != head => {
                return Err(PlaneError::Decrypt(format!(
                    "the segment of subject {subject:?} has another header than the first"
                )))
            }
            Some(_) => {}
        }
        out.extend_from_slice(rows);
    }
    Ok(out)
}

/// Splits `df` by the subject named in `column`, subjects in order. A row without a subject
/// cannot be checked against anyone's consent: it is an error, and nothing is published.
pub fn split(df: &DataFrame, column: &str) -> Result<Vec<Segment>, PlaneError> {
    let col = df.column(column).map_err(|_| PlaneError::NoSuchColumn {
        column: column.to_string(),
        columns: df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let subjects = col
        .cast(&DataType::String)
        .map_err(|e| PlaneError::Policy(format!("column {column:?}: {e}")))?;
    let subjects = subjects
        .str()
        .map_err(|e| PlaneError::Policy(format!("column {column:?}: {e}")))?;
    let mut rows: BTreeMap<String, Vec<IdxSize>> = BTreeMap::new();
    for (i, s) in subjects.into_iter().enumerate() {
        match s.map(str::trim) {
            Some(s) if !s.is_empty() => rows.entry(s.to_string()).or_default().push(i as IdxSize),
            _ => {
                return Err(PlaneError::Policy(format!(
                    "row {} has no subject in column {column:?}: every row of personal data \
                     must name its subject",
                    i + 1
                )))
            }
        }
    }
    rows.into_iter()
        .map(|(subject, idx)| {
            let n = idx.len() as u64;
            let taken = df
                .take(&IdxCa::from_vec("idx".into(), idx))
                .map_err(|e| PlaneError::Policy(e.to_string()))?;
            Ok(Segment {
                csv: to_csv(taken)?,
                subject,
                rows: n,
            })
        })
        .collect()
}

fn to_csv(mut df: DataFrame) -> Result<Vec<u8>, PlaneError> {
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .include_header(true)
        .finish(&mut df)
        .map_err(|e| PlaneError::Policy(format!("cannot write a segment: {e}")))?;
    Ok(out)
}

/// The consumer's check: every served segment's leaf is in `leaves`, which hash to `root_hex`
/// (the version's content hash on chain).
pub fn verify_delivery(
    root_hex: &str,
    leaves: &[[u8; 32]],
    served: &[(String, Vec<u8>)],
) -> Result<(), PlaneError> {
    if !root(leaves).eq_ignore_ascii_case(root_hex) {
        return Err(PlaneError::Decrypt(
            "the segment list does not hash to the version's content hash on chain".into(),
        ));
    }
    for (subject, csv) in served {
        if !leaves.contains(&leaf(subject, csv)) {
            return Err(PlaneError::Decrypt(format!(
                "the segment of subject {subject:?} is not the one the provider published"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> DataFrame {
        df!(
            "subject" => ["psn:b", "psn:a", "psn:b", "psn:c"],
            "value" => [1i64, 2, 3, 4],
        )
        .unwrap()
    }

    #[test]
    fn rows_are_split_per_subject_in_subject_order_and_none_is_lost() {
        let segs = split(&table(), "subject").unwrap();
        let subjects: Vec<_> = segs.iter().map(|s| s.subject.as_str()).collect();
        assert_eq!(subjects, ["psn:a", "psn:b", "psn:c"]);
        assert_eq!(segs.iter().map(|s| s.rows).sum::<u64>(), 4);
        let b = String::from_utf8(segs[1].csv.clone()).unwrap();
        assert_eq!(b, "subject,value\npsn:b,1\npsn:b,3\n");
    }

    #[test]
    fn a_filtered_delivery_verifies_against_the_root_and_a_tampered_one_does_not() {
        let segs = split(&table(), "subject").unwrap();
        let leaves: Vec<_> = segs.iter().map(Segment::leaf).collect();
        let r = root(&leaves);
        // psn:b withdrew: only a and c are served
        let served: Vec<_> = [&segs[0], &segs[2]]
            .iter()
            .map(|s| (s.subject.clone(), s.csv.clone()))
            .collect();
        verify_delivery(&r, &leaves, &served).unwrap();
        let mut tampered = served.clone();
        tampered[0].1.extend_from_slice(b"psn:a,99\n");
        assert!(verify_delivery(&r, &leaves, &tampered).is_err());
        let mut renamed = served.clone();
        renamed[0].0 = "psn:c".into();
        assert!(verify_delivery(&r, &leaves, &renamed).is_err());
        assert!(
            verify_delivery(&r, &leaves[1..], &served).is_err(),
            "a dropped leaf"
        );
    }

    #[test]
    fn merged_segments_keep_one_header_and_every_served_row_in_order() {
        let segs = split(&table(), "subject").unwrap();
        let served: Vec<_> = [&segs[0], &segs[2]]
            .iter()
            .map(|s| (s.subject.clone(), s.csv.clone()))
            .collect();
        let merged = String::from_utf8(merge(&served).unwrap()).unwrap();
        assert_eq!(merged, "subject,value\npsn:a,2\npsn:c,4\n");
        assert!(merge(&[]).unwrap().is_empty());
        let other = vec![
            served[0].clone(),
            ("psn:x".to_string(), b"who,value\npsn:x,1\n".to_vec()),
        ];
        assert!(merge(&other).is_err(), "a foreign header");
    }

    #[test]
    fn leaves_round_trip_through_hex_and_garbage_is_an_error() {
        let segs = split(&table(), "subject").unwrap();
        let leaves: Vec<_> = segs.iter().map(Segment::leaf).collect();
        let hexed: Vec<_> = leaves.iter().map(hex::encode).collect();
        assert_eq!(parse_leaves(&hexed).unwrap(), leaves);
        assert!(parse_leaves(&["zz".into()]).is_err());
        assert!(parse_leaves(&["abcd".into()]).is_err(), "too short");
    }

    #[test]
    fn a_row_without_a_subject_or_a_missing_column_refuses_the_split() {
        let df = df!("subject" => [Some("psn:a"), None], "v" => [1i64, 2]).unwrap();
        let err = split(&df, "subject").unwrap_err().to_string();
        assert!(err.contains("row 2 has no subject"), "{err}");
        let err = split(&table(), "who").unwrap_err().to_string();
        assert!(
            err.contains("no column \"who\"") && err.contains("subject, value"),
            "{err}"
        );
    }
}
