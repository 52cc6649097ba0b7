//! A run's manifest: the heights it read, a digest of every input table, the model and its
//! settings, a digest of every output table and report file (docs/runs.md).
//!
//! A table's digest is the SHA-256 of its rows' canonical lines, sorted bytewise, each ending
//! in `\n`. An input's lines are what Postgres' `COPY (query) TO STDOUT (FORMAT csv)` writes for
//! the query the manifest names, so anyone can check one with
//! `psql -c "copy (QUERY) to stdout csv" | LC_ALL=C sort | sha256sum`. An output's lines are
//! the JSON of each row (keys in a fixed order, floats as their shortest exact decimals), so
//! the rows a run keeps in memory and the rows read back from Postgres digest alike.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::analysis::{Analysis, Anomaly};
use crate::features::{ActorWindow, Windowing};
use crate::provenance::ProvenanceScore;

/// The manifest format this code writes and reads.
pub const FORMAT: &str = "datapact-run-manifest/1";

/// How many rows (tables) or bytes (files), and the SHA-256 of their canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub sha256: String,
    /// for an input: the query whose `COPY ... (FORMAT csv)` lines were digested
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The model a run scored with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub version: String,
    /// every setting that changes a score (detector, fit sample, report threshold)
    pub settings: serde_json::Value,
    /// per role, the id of the fitted detector that scored its windows (`analytics_models`;
    /// runs recorded before stored detectors have none)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detectors: BTreeMap<String, String>,
}

/// One run's manifest. Its SHA-256 (of [`Manifest::text`]) is what goes on chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub run_id: i64,
    pub chain_id: Option<String>,
    pub window_seconds: i64,
    /// event tables were read over from_height..=to_height; state tables up to to_height
    pub from_height: i64,
    pub to_height: i64,
    /// the first window this run (re)computed; earlier windows were read as its baseline
    pub since_window: Option<i64>,
    /// the first window this run did not score: it was still open (runs recorded before
    /// streaming have none, and scored every window they read)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_window: Option<i64>,
    pub model: Model,
    /// "blocks", "accesses", ... and "prior_windows"
    pub inputs: BTreeMap<String, Digest>,
    /// "actor_windows", "anomalies", "provenance_scores"
    pub outputs: BTreeMap<String, Digest>,
    /// the report folder's files, by name
    pub files: BTreeMap<String, Digest>,
}

impl Manifest {
    /// The canonical text: compact JSON, fields in the order above, maps sorted by key.
    pub fn text(&self) -> String {
        // a struct of strings, integers and sorted maps always serializes
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn sha256(&self) -> String {
        sha256_hex(self.text().as_bytes())
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let m: Manifest = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("the stored manifest is not one: {e}"))?;
        if m.format != FORMAT {
            anyhow::bail!(
                "manifest format {:?}: this datapact reads {FORMAT}",
                m.format
            );
        }
        Ok(m)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The digest of a multiset of lines: sorted bytewise, each hashed with a trailing `\n`.
pub fn digest_lines<L: AsRef<[u8]> + Send>(mut lines: Vec<L>) -> Digest {
    lines.par_sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_ref());
        h.update(b"\n");
    }
    Digest {
        rows: Some(lines.len() as u64),
        bytes: None,
        sha256: hex::encode(h.finalize()),
        query: None,
    }
}

/// The digest of CSV text in one or more chunks (each whole lines), as `COPY` wrote it.
pub fn digest_csv(chunks: &[&[u8]]) -> Digest {
    // memchr finds the line ends: a split byte by byte was a third of a million-line table's
    // digest (about 65 ms of 210 in `make bench-analytics`' read; 25 ms with memchr)
    let mut lines: Vec<&[u8]> = Vec::new();
    for c in chunks {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', c).chain(std::iter::once(c.len())) {
            if end > start {
                lines.push(&c[start..end]);
            }
            start = end + 1;
        }
    }
    digest_lines(lines)
}

/// The digest of an input: the CSV `COPY` wrote for `query` (in one or more chunks), naming
/// the query.
pub fn digest_copy(query: &str, chunks: &[&[u8]]) -> Digest {
    Digest {
        query: Some(query.to_string()),
        ..digest_csv(chunks)
    }
}

/// A file's digest: its bytes' SHA-256.
pub fn digest_file(path: &Path) -> std::io::Result<Digest> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h)?;
    Ok(Digest {
        rows: None,
        bytes: Some(n),
        sha256: hex::encode(h.finalize()),
        query: None,
    })
}

/// Every file of a report folder but the manifest itself, by name.
pub fn digest_files(dir: &Path) -> std::io::Result<BTreeMap<String, Digest>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if name == MANIFEST_FILE || !e.file_type()?.is_file() {
            continue;
        }
        out.insert(name, digest_file(&e.path())?);
    }
    Ok(out)
}

/// The manifest's name in a run's report folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A window's canonical line (as an input baseline or an output with its score).
pub fn window_line(role: &str, window: Windowing, w: &ActorWindow, score: Option<f64>) -> String {
    let raw: Vec<String> = w.raw.iter().map(|x| x.to_string()).collect();
    let mut line = serde_json::json!([
        role,
        w.actor,
        window.start(w.window),
        window.seconds,
        w.first_height,
        w.last_height,
        raw.join(";"),
    ])
    .to_string();
    if let Some(s) = score {
        line.push(' ');
        line.push_str(&s.to_string());
    }
    line
}

/// An anomaly's line. Its `features` (a JSON copy of the window's raw features, which
/// `actor_windows` digests exactly) go through Postgres' jsonb and serde_json's float parser on
/// the way back, which may move a float by an ulp: their numbers are written with 10
/// significant digits.
pub fn anomaly_line(a: &Anomaly) -> String {
    let mut a = a.clone();
    a.features = ten_digits(&a.features);
    serde_json::to_string(&a).unwrap_or_default()
}

/// `v` with every number written as a string of 10 significant digits.
fn ten_digits(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if !(n.is_i64() || n.is_u64()) => Value::String(format!("{x:.9e}")),
            _ => v.clone(),
        },
        Value::Array(xs) => Value::Array(xs.iter().map(ten_digits).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), ten_digits(x))).collect())
        }
        _ => v.clone(),
    }
}

pub fn provenance_line(p: &ProvenanceScore) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

/// The digests of a run's output tables, from the rows in memory.
pub fn outputs(a: &Analysis) -> BTreeMap<String, Digest> {
    let windows: Vec<String> = a
        .tables
        .iter()
        .flat_map(|(t, s)| {
            t.rows
                .iter()
                .zip(s)
                .map(|(w, s)| window_line(t.role, a.window, w, Some(s.score)))
        })
        .collect();
    let mut out = BTreeMap::from([
        ("actor_windows".to_string(), digest_lines(windows)),
        (
            "anomalies".to_string(),
            digest_lines(a.anomalies.iter().map(anomaly_line).collect()),
        ),
        (
            "provenance_scores".to_string(),
            digest_lines(a.provenance.iter().map(provenance_line).collect()),
        ),
    ]);
    if let Some(f) = &a.forecasts {
        let (points, outlooks) = forecast_lines(f);
        out.insert("forecasts".to_string(), digest_lines(points));
        out.insert("forecast_outlooks".to_string(), digest_lines(outlooks));
    }
    out
}

/// The lines of a run's forecasts and outlooks, as digested.
pub fn forecast_lines(f: &crate::forecast::Forecasts) -> (Vec<String>, Vec<String>) {
    (
        f.point_rows().iter().map(json_line).collect(),
        f.outlooks.iter().map(json_line).collect(),
    )
}

/// A row as one line of JSON (numbers written as serde_json writes them: exact).
pub fn json_line<T: Serialize>(row: &T) -> String {
    serde_json::to_string(row).unwrap_or_default()
}

/// One thing that is not as the manifest says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// "manifest", "anchor", "input", "output", "file" or "recomputed"
    pub part: String,
    pub name: String,
    pub expected: String,
    pub found: String,
}

/// The entries of `found` that differ from `expected` (missing or extra ones too).
pub fn compare(
    part: &str,
    expected: &BTreeMap<String, Digest>,
    found: &BTreeMap<String, Digest>,
) -> Vec<Difference> {
    let show = |d: Option<&Digest>| match d {
        None => "absent".to_string(),
        Some(d) => match (d.rows, d.bytes) {
            (Some(r), _) => format!("{r} rows, sha256 {}", d.sha256),
            (_, Some(b)) => format!("{b} bytes, sha256 {}", d.sha256),
            _ => format!("sha256 {}", d.sha256),
        },
    };
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = expected.keys().chain(found.keys()).collect();
    for n in names {
        let (e, f) = (expected.get(n), found.get(n));
        if e != f {
            out.push(Difference {
                part: part.to_string(),
                name: n.clone(),
                expected: show(e),
                found: show(f),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tables_digest_does_not_depend_on_row_order_but_on_every_byte() {
        let a = digest_csv(&[b"1,a\n2,b\n", b"3,c\n"]);
        let b = digest_csv(&[b"3,c\n1,a\n", b"2,b\n"]);
        assert_eq!(a, b);
        assert_eq!(a.rows, Some(3));
        let c = digest_csv(&[b"1,a\n2,b\n3,C\n"]);
        assert_ne!(a.sha256, c.sha256);
        // a chunk's last line without its end, and empty lines, count as before
        assert_eq!(digest_csv(&[b"2,b\n\n1,a", b"\n3,c"]), a);
        // the same as `printf '1,a\n2,b\n3,c\n' | sha256sum`
        assert_eq!(a.sha256, sha256_hex(b"1,a\n2,b\n3,c\n"));
    }

    #[test]
    fn a_manifest_reads_back_to_the_same_text_and_hash() {
        let m = Manifest {
            format: FORMAT.into(),
            run_id: 7,
            chain_id: Some("datapact-local".into()),
            window_seconds: 60,
            from_height: 10,
            to_height: 20,
            since_window: Some(3),
            until_window: Some(9),
            model: Model {
                version: "m".into(),
                settings: serde_json::json!({"b": 1, "a": [0.5]}),
                detectors: BTreeMap::from([("consumer".into(), "ab".repeat(32))]),
            },
            inputs: BTreeMap::from([("blocks".into(), digest_csv(&[b"1\n"]))]),
            outputs: BTreeMap::new(),
            files: BTreeMap::new(),
        };
        let back = Manifest::parse(&m.text()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.sha256(), m.sha256());
        let mut other = m.clone();
        other.format = "x".into();
        assert!(Manifest::parse(&other.text()).is_err());
    }

    #[test]
    fn an_anomalys_features_digest_alike_after_a_last_ulp_change() {
        let a = |x: f64| Anomaly {
            role: "consumer".into(),
            actor: "wasm1a".into(),
            window_start: 60,
            window_end: 120,
            method: "model".into(),
            kind: "consumer_behaviour".into(),
            score: 0.75,
            severity: "high".into(),
            explanation: "many".into(),
            features: serde_json::json!({"accesses": 40, "share": x, "nested": [x]}),
            first_height: 1,
            last_height: 2,
            txs: vec![],
            targets: vec![],
            model_version: "datapact-anomaly-2.0123456789ab".into(),
        };
        let x = 0.1 + 0.2;
        assert_eq!(
            anomaly_line(&a(x)),
            anomaly_line(&a(f64::from_bits(x.to_bits() + 1)))
        );
        assert_ne!(anomaly_line(&a(x)), anomaly_line(&a(0.31)));
        assert!(anomaly_line(&a(x)).contains(r#""accesses":40"#));
    }

    #[test]
    fn a_comparison_names_the_changed_missing_and_extra_entries() {
        let d = |s: &str| digest_csv(&[s.as_bytes()]);
        let e = BTreeMap::from([("a".to_string(), d("1\n")), ("b".to_string(), d("2\n"))]);
        let f = BTreeMap::from([("a".to_string(), d("1\n")), ("c".to_string(), d("3\n"))]);
        let diff = compare("output", &e, &f);
        let names: Vec<&str> = diff.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(diff[0].found, "absent");
        assert!(compare("output", &e, &e).is_empty());
    }
}
