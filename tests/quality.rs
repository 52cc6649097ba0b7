//! `datapact quality` on real files, as a provider runs it before publishing: a clean file
//! passes; a wrong type, a range violation, a duplicated key, a dropped column and a shifted
//! distribution each fail with their named discrepancy; the file is never touched.

use std::io::Write;
use std::path::{Path, PathBuf};

use datapact_e2e::datapact_bin;

const RULES: &str = r#"{
  "key": ["trip_id"],
  "columns": {
    "trip_id": {"type": "integer", "not_null": true},
    "city": {"type": "string", "allowed": ["Oslo", "Lyon", "Turin"]},
    "fare": {"type": "number", "min": 0, "max": 200}
  }
}"#;

/// A trips table: `rows` rows, fares around `fare_mean`, with `edit` applied to each line.
fn trips(path: &Path, rows: usize, fare_mean: f64, edit: impl Fn(usize, String) -> Option<String>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "trip_id,city,fare,distance_km").unwrap();
    for i in 0..rows {
        let jitter = ((i * 7919) % 1000) as f64 / 100.0 - 5.0;
        let line = format!(
            "{i},{},{:.2},{:.1}",
            ["Oslo", "Lyon", "Turin"][i % 3],
            fare_mean + jitter,
            (i % 40) as f64 + 0.5
        );
        if let Some(l) = edit(i, line) {
            writeln!(f, "{l}").unwrap();
        }
    }
    f.flush().unwrap();
}

fn run(args: &[&Path], extra: &[&str]) -> (i32, serde_json::Value) {
    let out = std::process::Command::new(datapact_bin().unwrap())
        .arg("quality")
        .args(args)
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not a JSON verdict: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn found(v: &serde_json::Value) -> Vec<(String, String)> {
    v["discrepancies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["check"].as_str().unwrap_or_default().to_string(),
                        d["column"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_clean_file_passes_and_each_defect_fails_with_its_named_discrepancy() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| -> PathBuf { dir.path().join(name) };
    std::fs::write(p("rules.json"), RULES).unwrap();
    let rules = p("rules.json");
    trips(&p("v1.csv"), 3_000, 40.0, |_, l| Some(l));
    trips(&p("v2.csv"), 3_000, 40.0, |_, l| Some(l));
    let before = std::fs::read(p("v2.csv")).unwrap();

    let args = |f: &str| {
        vec![
            p(f),
            PathBuf::from("--rules"),
            rules.clone(),
            PathBuf::from("--parent"),
            p("v1.csv"),
        ]
    };
    let call = |f: &str| {
        let a = args(f);
        let refs: Vec<&Path> = a.iter().map(PathBuf::as_path).collect();
        run(&refs, &[])
    };

    let (code, v) = call("v2.csv");
    assert_eq!((code, v["passed"].as_bool()), (0, Some(true)), "{v}");
    assert_eq!(v["profile"]["rows"], 3_000);

    // a wrong type: a fare that is not a number
    trips(&p("type.csv"), 3_000, 40.0, |i, l| {
        if i != 17 {
            return Some(l);
        }
        let mut f: Vec<&str> = l.split(',').collect();
        f[2] = "n/a";
        Some(f.join(","))
    });
    // a range violation, a duplicated key, a dropped column, a shifted distribution
    trips(&p("range.csv"), 3_000, 40.0, |i, l| {
        if i != 5 {
            return Some(l);
        }
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        f[2] = "999.00".into();
        Some(f.join(","))
    });
    trips(&p("dupkey.csv"), 3_000, 40.0, |i, l| {
        Some(if i == 9 { l.replacen("9,", "8,", 1) } else { l })
    });
    {
        let text = std::fs::read_to_string(p("v2.csv")).unwrap();
        let dropped: Vec<String> = text
            .lines()
            .map(|l| l.rsplit_once(',').map_or("", |x| x.0).to_string())
            .collect();
        std::fs::write(p("dropped.csv"), dropped.join("\n") + "\n").unwrap();
    }
    trips(&p("shifted.csv"), 3_000, 70.0, |_, l| Some(l));

    for (file, want) in [
        ("type.csv", ("type", "fare")),
        ("range.csv", ("range", "fare")),
        ("dupkey.csv", ("duplicate_key", "trip_id")),
        ("dropped.csv", ("dropped_column", "distance_km")),
        ("shifted.csv", ("distribution_shift", "fare")),
    ] {
        let (code, v) = call(file);
        assert_eq!(code, 3, "{file} fails: {v}");
        assert_eq!(v["passed"].as_bool(), Some(false));
        let got = found(&v);
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{file}: want {want:?}, found {got:?}"
        );
        assert!(
            v["discrepancies"].as_array().is_some_and(|a| a
                .iter()
                .all(|d| !d["detail"].as_str().unwrap_or_default().is_empty())),
            "each explained: {v}"
        );
    }
    assert_eq!(
        std::fs::read(p("v2.csv")).unwrap(),
        before,
        "files are only read"
    );

    // a broken rules file is an error (status 1) that says where the format is
    std::fs::write(
        p("bad-rules.json"),
        r#"{"columns": {"fare": {"maximum": 3}}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(datapact_bin().unwrap())
        .arg("quality")
        .arg(p("v2.csv"))
        .arg("--rules")
        .arg(p("bad-rules.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("docs/quality.md"));
}
