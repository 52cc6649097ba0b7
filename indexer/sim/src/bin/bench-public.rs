//! `make bench-public`: datapact's detector against scikit-learn's IsolationForest on public
//! anomaly tables, built as ODDS builds them from data scikit-learn ships
//! (indexer/sim/peer/public_benchmark.py), each drawn with several seeds.
//!
//! The tables are split once, by name: the detector's settings were chosen looking at the
//! tuning tables only; the held-out tables are reported, never tuned on. Both sides score the
//! very same CSV with the same seed; the peer fits and scores on every core.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::Parser;

use datapact_analytics::detect::{self, DetectConfig};
use datapact_sim::stats::mean;

/// Tables the detector's settings may be chosen on.
const TUNING: &[&str] = &[
    "wbc", "wine", "digits-0", "digits-1", "digits-2", "digits-3", "digits-4",
];
/// Tables reported and never tuned on.
const HELD_OUT: &[&str] = &["digits-5", "digits-6", "digits-7", "digits-8", "digits-9"];
/// The splits, by name.
const SPLITS: [(&str, &[&str]); 2] = [("tuning", TUNING), ("held out", HELD_OUT)];

#[derive(Parser)]
#[command(
    about = "datapact's detector against scikit-learn's IsolationForest on public anomaly tables",
    after_help = "Example:\n  bench-public --seeds 0,1,2\n\n\
Tables (ODDS-style, from scikit-learn's bundled data): wbc, wine, digits-0..9 (every other\n\
digit normal, 3% of the rows digit D). Tuning tables: wbc, wine, digits-0..4; held out:\n\
digits-5..9. Each table is drawn once per seed; both detectors use that seed. Prints PR-AUC per\n\
table (mean over seeds) and the mean over each split."
)]
struct Args {
    /// Seeds: which anomalies each table keeps, and both detectors' seed
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// Where the tables are written
    #[arg(long, default_value_os_t = std::env::temp_dir().join("datapact-bench-public"))]
    dir: PathBuf,
    /// Python with scikit-learn (PEER_PYTHON; the Makefile's peer venv)
    #[arg(long, env = "PEER_PYTHON")]
    python: PathBuf,
    /// The table builder (indexer/sim/peer/public_benchmark.py)
    #[arg(long, default_value = "indexer/sim/peer/public_benchmark.py")]
    script: PathBuf,
    /// One JSON object per table and seed instead of the table
    #[arg(long)]
    json: bool,
}

#[derive(serde::Deserialize)]
struct Peer {
    set: String,
    seed: u64,
    csv: PathBuf,
    rows: usize,
    anomalies: usize,
    iforest_pr_auc: f64,
    iforest_seconds: f64,
}

struct Run {
    peer: Peer,
    pr_auc: f64,
    seconds: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(!args.seeds.is_empty(), "--seeds: name at least one seed");
    let mut cmd = Command::new(&args.python);
    cmd.arg(&args.script).arg(&args.dir);
    cmd.args(args.seeds.iter().map(u64::to_string));
    let out = cmd.output().with_context(|| {
        format!(
            "cannot run {} (make peer builds its venv)",
            args.python.display()
        )
    })?;
    anyhow::ensure!(
        out.status.success(),
        "the table builder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut runs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let peer: Peer = serde_json::from_str(line)
            .with_context(|| format!("the table builder printed {line:?}"))?;
        let table = detect::read_table(&peer.csv, Some("is_anomaly"), None)?;
        let cfg = DetectConfig {
            seed: peer.seed,
            ..DetectConfig::default()
        };
        let t = std::time::Instant::now();
        let scored = detect::detect(&table.rows, &table.features(), &cfg)?;
        let seconds = t.elapsed().as_secs_f64();
        let scores: Vec<f64> = scored.iter().map(|s| s.score).collect();
        let m = table
            .measure(&scores)
            .context("the table has no label column")?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "set": peer.set, "seed": peer.seed, "split": split(&peer.set),
                    "rows": peer.rows, "anomalies": peer.anomalies,
                    "datapact_pr_auc": m.pr_auc, "iforest_pr_auc": peer.iforest_pr_auc,
                    "datapact_seconds": seconds, "iforest_seconds": peer.iforest_seconds,
                })
            );
        }
        runs.push(Run {
            peer,
            pr_auc: m.pr_auc,
            seconds,
        });
    }
    if !args.json {
        print_table(&runs, &args.seeds);
    }
    Ok(())
}

fn split(set: &str) -> &'static str {
    SPLITS
        .iter()
        .find(|(_, names)| names.contains(&set))
        .map_or("unlisted", |(split, _)| split)
}

fn print_table(runs: &[Run], seeds: &[u64]) {
    println!(
        "PR-AUC, mean of seeds {:?} (each table drawn per seed; both detectors seeded alike)",
        seeds
    );
    println!(
        "{:<10} {:<9} {:>6} {:>9} {:>10} {:>15} {:>10} {:>10}",
        "table",
        "split",
        "rows",
        "anomalies",
        "datapact",
        "IsolationForest",
        "ours (s)",
        "peer (s)"
    );
    let mut per_split: Vec<(&str, f64, f64, usize, usize)> = Vec::new();
    for (split_name, names) in SPLITS {
        let (mut ours, mut theirs, mut wins) = (Vec::new(), Vec::new(), 0);
        for name in names {
            let of: Vec<&Run> = runs.iter().filter(|r| r.peer.set == *name).collect();
            let Some(first) = of.first() else { continue };
            let a = mean(of.iter().map(|r| r.pr_auc));
            let b = mean(of.iter().map(|r| r.peer.iforest_pr_auc));
            println!(
                "{:<10} {:<9} {:>6} {:>9} {:>10.3} {:>15.3} {:>10.3} {:>10.3}",
                name,
                split(name),
                first.peer.rows,
                first.peer.anomalies,
                a,
                b,
                mean(of.iter().map(|r| r.seconds)),
                mean(of.iter().map(|r| r.peer.iforest_seconds)),
            );
            wins += usize::from(a >= b);
            ours.push(a);
            theirs.push(b);
        }
        per_split.push((split_name, mean(ours), mean(theirs), wins, names.len()));
    }
    println!();
    for (name, a, b, wins, n) in per_split {
        println!(
            "{name:<9} mean PR-AUC: datapact {a:.3}, IsolationForest {b:.3}; datapact at least as good on {wins} of {n} tables"
        );
    }
}
