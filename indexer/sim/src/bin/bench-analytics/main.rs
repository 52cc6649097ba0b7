//! `make bench-analytics` and `make bench-scale`: datapact's analytics against the analyst's
//! pipeline of today, and at scale.
//!
//! bench-analytics [--accesses N] [--seed S] [--window SECONDS] [--runs R]
//!   writes a labelled synthetic history (N accesses, default 1,000,000) into a scratch
//!   database, then runs on the same data, each as its own process: `datapact analyze`
//!   (polars + the detector + the rules) and indexer/sim/peer/peer.py (pandas + scikit-learn's
//!   IsolationForest over the same features), R times each (default 3), one after the other in
//!   turn. Prints each pipeline's median run (wall time and peak memory, with the range of the
//!   R walls) with the ratios, and both detectors' quality against the labels.
//!
//! bench-analytics --scale [--accesses N]
//!   about 10,000,000 accesses (N drawn, default 12,700,000), then one `datapact analyze --full` that reads them from
//!   Postgres, computes and writes everything back; prints its time and peak memory.
//!
//! bench-analytics --forecast [--accesses N] [--series 400] [--reuse]   (`make bench-forecast`)
//!   the same history; the time the run spends forecasting beside the time of the rest of the
//!   run; then forecaster against forecaster on the same series (every agreement's and asset's
//!   accesses per step, the last 48 steps held out): datapact's (augurs MSTL + AutoETS, on all
//!   cores) against statsmodels' Holt-Winters (indexer/sim/peer/forecast.py, one process per
//!   core, its start-up reported apart): time and pooled MASE, on a fixed sample of the series
//!   (`--series`, 400) since the peer takes about half a second each. `--reuse` keeps the
//!   synthetic history already in the database instead of writing it again.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::Parser;

use datapact_analytics::metrics::{average_precision, recall_at_fpr};
use datapact_index::db::PgCluster;
use datapact_sim::labels::{role_of, Label, KINDS};
use datapact_sim::synth::{self, SynthConfig};

mod forecast;
mod scorers;

use forecast::forecasts_against_peer;
use scorers::scorer_race;

#[derive(Parser)]
#[command(
    about = "datapact's analytics against pandas + scikit-learn on the same data (time, memory, quality), and at scale",
    after_help = "Examples:\n  bench-analytics                 # what `make bench-analytics` runs\n  \
bench-analytics --scale         # `make bench-scale`: about 10 million accesses, one full run\n  \
bench-analytics --forecast      # `make bench-forecast`: forecasts at scale, and a race\n\n\
It writes a synthetic history into a database of its own on the private cluster (bench_analytics,\n\
or bench_scale with --scale or --forecast), replacing what that database held unless --reuse."
)]
#[command(group(clap::ArgGroup::new("at_scale").args(["scale", "forecast"]).multiple(true)))]
struct Args {
    /// Accesses drawn for the synthetic history [default: 1000000; 12700000 with --scale or
    /// --forecast, as about a fifth never happen (caps reached, agreements suspended)]
    #[arg(long)]
    accesses: Option<u64>,
    /// The history's seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The analytics' window, in seconds
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    window: i64,
    /// Runs of each pipeline, in turn; each one's median run is reported
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// About 10 million accesses and one `datapact analyze --full` over them: its time and peak
    /// memory (no peer)
    #[arg(long)]
    scale: bool,
    /// As --scale, then the forecasts' share of the run and datapact's forecaster against
    /// statsmodels' on the same series
    #[arg(long)]
    forecast: bool,
    /// Series sampled for the forecaster race (with --forecast)
    #[arg(long, default_value_t = 400)]
    series: usize,
    /// Keep the synthetic history already in the database instead of writing it again (with
    /// --scale or --forecast: the quality comparison needs the labels a fresh history writes)
    #[arg(long, requires = "at_scale")]
    reuse: bool,
}

fn datapact_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("datapact");
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: build it with the same profile (cargo build --profile native -p datapact)",
        bin.display()
    );
    Ok(bin)
}

/// The peer pipeline: PEER_SCRIPT, else this checkout's (the Makefile runs the benchmark from
/// the workspace root), else the one of the checkout that compiled this binary.
fn peer_script() -> PathBuf {
    std::env::var_os("PEER_SCRIPT")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("indexer/sim/peer/peer.py")).filter(|p| p.exists()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peer/peer.py"))
}

fn python() -> PathBuf {
    std::env::var_os("PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("DATAPACT_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                        .join(".cache/datapact")
                });
            cache.join("peer-venv/bin/python")
        })
}

/// Runs a command that prints one JSON line of figures last; returns it, with the process's
/// whole wall time (start-up and interpreter included) as `wall`.
fn figures(cmd: &mut Command, what: &str) -> anyhow::Result<serde_json::Value> {
    let t = std::time::Instant::now();
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{what} printed no figures: {stdout}"))?;
    let mut v: serde_json::Value = serde_json::from_str(line)?;
    v["wall"] = serde_json::json!(wall);
    Ok(v)
}

/// A number a command printed among its figures (NaN when it printed none).
fn figure(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// The run of median wall time (the upper one of an even count), and the range of the walls.
fn median_run(mut runs: Vec<serde_json::Value>) -> (serde_json::Value, (f64, f64)) {
    let wall = |v: &serde_json::Value| figure(v, "wall");
    runs.sort_by(|a, b| wall(a).total_cmp(&wall(b)));
    let range = (
        runs.first().map_or(f64::NAN, wall),
        runs.last().map_or(f64::NAN, wall),
    );
    let median = if runs.is_empty() {
        serde_json::Value::Null
    } else {
        let mid = runs.len() / 2;
        runs.swap_remove(mid)
    };
    (median, range)
}

/// (actor, window) -> score, from a CSV with a header whose first two columns are the key.
fn scores(path: &Path, column: usize) -> anyhow::Result<HashMap<(String, i64), f64>> {
    let text = std::fs::read_to_string(path)?;
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() <= column {
            continue;
        }
        let (Ok(w), Ok(s)) = (f[1].parse::<f64>(), f[column].parse::<f64>()) else {
            continue;
        };
        out.insert((f[0].to_string(), w as i64), s);
    }
    Ok(out)
}

/// The consumer windows each label covers, from its heights' block times.
async fn labelled_windows(
    pool: &sqlx::PgPool,
    labels: &[Label],
    window: i64,
) -> anyhow::Result<HashMap<(String, i64), String>> {
    let mut out = HashMap::new();
    for l in labels.iter().filter(|l| role_of(&l.kind) == "consumer") {
        let (Some(a), Some(b)) = (l.first_height, l.last_height) else {
            continue;
        };
        let (t0, t1): (i64, i64) = sqlx::query_as(
            "select extract(epoch from min(time))::bigint, extract(epoch from max(time))::bigint \
             from blocks where height between $1 and $2",
        )
        .bind(a as i64)
        .bind(b as i64)
        .fetch_one(pool)
        .await?;
        for w in t0.div_euclid(window)..=t1.div_euclid(window) {
            out.insert((l.actor.clone(), w), l.kind.clone());
        }
    }
    Ok(out)
}

fn quality(
    s: &HashMap<(String, i64), f64>,
    truth: &HashMap<(String, i64), String>,
    kind: Option<&str>,
) -> (f64, f64) {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (k, v) in s {
        match truth.get(k) {
            Some(t) if kind.is_none_or(|x| x == t) => pos.push(*v),
            Some(_) => {}
            None => neg.push(*v),
        }
    }
    // labelled windows the pipeline produced no row for count as missed (score 0)
    for (k, t) in truth {
        if kind.is_none_or(|x| x == t) && !s.contains_key(k) {
            pos.push(f64::NEG_INFINITY);
        }
    }
    (
        average_precision(&pos, &neg),
        recall_at_fpr(&pos, &neg, 0.05),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let forecast = args.forecast;
    let scale = forecast || args.scale;
    // about a fifth of the drawn accesses never happen (caps reached, agreements suspended):
    // ask for 12.7 million to get over 10 million
    let accesses = args
        .accesses
        .unwrap_or(if scale { 12_700_000 } else { 1_000_000 });
    let (seed, window) = (args.seed, args.window);
    let bin = datapact_bin()?;
    let cluster = PgCluster::from_env();
    let db = if scale {
        "bench_scale"
    } else {
        "bench_analytics"
    };
    // --reuse (clap asks for --scale or --forecast with it): the synthetic history already in
    // the database
    let reuse = args.reuse;
    let url = if reuse {
        cluster.ensure_database(db).await?
    } else {
        cluster.fresh_database(db).await?
    };
    let pool = datapact_index::db::connect(&url, 4).await?;
    // consumers scale with the volume: about 7 accesses per consumer-hour
    let days = if scale { 30 } else { 14 };
    let consumers = ((accesses as f64 / (days as f64 * 24.0 * 7.0)).ceil() as usize).max(50);
    let labels_path = std::env::temp_dir().join(format!("datapact-{db}-labels.jsonl"));
    let cfg = SynthConfig {
        seed,
        accesses,
        consumers,
        providers: (consumers / 8).max(10),
        subjects: consumers * 10,
        days,
        injections: 8,
        labels: labels_path.clone(),
        chain_id: format!("{}{seed}", datapact_index::db::SYNTHETIC_CHAIN_PREFIX),
        progress: true,
        ..SynthConfig::default()
    };
    println!(
        "synthetic history: {accesses} accesses by {consumers} consumers over {days} days (seed {seed}) into database {db}"
    );
    let t = std::time::Instant::now();
    let chain: Option<String> = sqlx::query_scalar("select chain_id from checkpoint where id = 1")
        .fetch_optional(&pool)
        .await?;
    let s = if reuse
        && chain.is_some_and(|c| c.starts_with(datapact_index::db::SYNTHETIC_CHAIN_PREFIX))
    {
        let n: i64 = sqlx::query_scalar("select count(*) from accesses")
            .fetch_one(&pool)
            .await?;
        println!("  reusing the history already there: {n} accesses");
        synth::SynthSummary {
            accesses: n as u64,
            ..Default::default()
        }
    } else {
        anyhow::ensure!(
            !reuse,
            "--reuse: database {db} holds no synthetic history; run without --reuse first"
        );
        let s = synth::run(&pool, &cfg).await?;
        println!(
            "  written in {:.0} s: {} accesses, {} refused attempts, {} rows",
            t.elapsed().as_secs_f64(),
            s.accesses,
            s.denied,
            s.rows
        );
        sqlx::query("vacuum analyze").execute(&pool).await.ok();
        s
    };

    if scale {
        let ours = figures(
            Command::new(&bin)
                .args([
                    "analyze",
                    "--full",
                    "--json",
                    "--window",
                    &window.to_string(),
                ])
                .args([
                    "--reports",
                    &std::env::temp_dir()
                        .join("datapact-bench-scale-reports")
                        .to_string_lossy(),
                ])
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "warn"),
            "datapact analyze",
        )?;
        println!();
        println!(
            "scale: {} accesses read from Postgres, analyzed, written back ({} windows, {} anomalies)",
            s.accesses, ours["windows"], ours["anomalies"]
        );
        println!(
            "  time {:.1} s (aim: under 60), peak memory {:.0} MiB (aim: under 4096)",
            figure(&ours, "wall"),
            figure(&ours, "peak_mib")
        );
        println!("  stages: {}", ours["timings"]);
        if forecast {
            forecasts_against_peer(&pool, &ours, window, args.series).await?;
        }
        return Ok(());
    }

    let dir = std::env::temp_dir().join("datapact-bench-analytics");
    std::fs::create_dir_all(&dir)?;
    let ours_csv = dir.join("ours.csv");
    let peer_csv = dir.join("peer.csv");
    let ours_cmd = || {
        let mut c = Command::new(&bin);
        c.args([
            "analyze",
            "--full",
            "--dry-run",
            "--json",
            // the peer does not forecast: the same work on both sides
            "--no-forecasts",
            "--window",
            &window.to_string(),
        ])
        .arg("--scores-out")
        .arg(&ours_csv)
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn");
        c
    };
    let script = peer_script();
    let peer_cmd = || {
        let mut c = Command::new(python());
        c.arg(&script)
            .arg(&url)
            .arg(window.to_string())
            .arg(&peer_csv);
        c
    };
    // a 2-core machine's wall times wander by a tenth between runs of the same binary: each
    // pipeline runs `runs` times, in turn, and its median run is the one reported
    let runs = usize::try_from(args.runs).context("--runs")?;
    let (mut ours_runs, mut peer_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours_runs.push(figures(&mut ours_cmd(), "datapact analyze")?);
        peer_runs.push(figures(
            &mut peer_cmd(),
            "the pandas + scikit-learn peer (make peer installs it)",
        )?);
    }
    let (ours, ours_range) = median_run(ours_runs);
    let (peer, peer_range) = median_run(peer_runs);
    let truth = labelled_windows(&pool, &s.labels, window).await?;
    let ours_full = scores(&ours_csv, 3)?;
    let ours_model = scores(&ours_csv, 2)?;
    let peer_scores = scores(&peer_csv, 2)?;
    let secs = |v: &serde_json::Value| figure(v, "wall");
    let peak = |v: &serde_json::Value| figure(v, "peak_mib");
    println!();
    println!("same data, each pipeline reading it from Postgres and scoring every consumer window");
    println!("(time: the whole process, start to exit; peak: its resident memory)");
    println!(
        "(the median of {runs} runs each, in turn: datapact's walls {:.2}-{:.2} s, the peer's {:.2}-{:.2} s)",
        ours_range.0, ours_range.1, peer_range.0, peer_range.1
    );
    println!("{:<44} {:>10} {:>12}", "", "time (s)", "peak (MiB)");
    println!(
        "{:<44} {:>10.2} {:>12.0}",
        "datapact analyze (polars, detector, rules)",
        secs(&ours),
        peak(&ours)
    );
    println!(
        "{:<44} {:>10.2} {:>12.0}",
        "peer (pandas, scikit-learn IsolationForest)",
        secs(&peer),
        peak(&peer)
    );
    println!(
        "{:<44} {:>10.1}x {:>11.1}x",
        "datapact advantage (peer / datapact)",
        secs(&peer) / secs(&ours),
        peak(&peer) / peak(&ours)
    );
    // start-up apart: the process's whole time less what it measured from its first line of
    // work (for the peer: the interpreter's start and the imports)
    let inner = |v: &serde_json::Value| figure(v, "seconds");
    println!(
        "{:<44} {:>10.2} {:>12.2}",
        "start-up (process start to first work), s",
        secs(&ours) - inner(&ours),
        secs(&peer) - inner(&peer)
    );
    println!(
        "{:<44} {:>10.1}x   (datapact {:.2} s, peer {:.2} s; the peer's read {:.2} s by COPY, {} parser)",
        "advantage without start-up",
        inner(&peer) / inner(&ours),
        inner(&ours),
        inner(&peer),
        figure(&peer, "read_seconds"),
        peer["csv_engine"].as_str().unwrap_or("?")
    );
    // where each side's time goes, in its median run
    let stage = |name: &str| {
        ours["timings"]
            .as_array()
            .and_then(|laps| {
                laps.iter()
                    .find(|l| l[0] == name)
                    .and_then(|l| l[1].as_f64())
            })
            .unwrap_or(f64::NAN)
    };
    let (read, features, detect) = (stage("read"), stage("features"), stage("detect"));
    println!(
        "{:<44} datapact read {:.2}, features {:.2}, detect {:.2}, the rest {:.2}",
        "stages, s (the median runs)",
        read,
        features,
        detect,
        stage("total") - read - features - detect
    );
    let [peer_read, peer_features, peer_score] =
        ["read_seconds", "features_seconds", "score_seconds"].map(|k| figure(&peer, k));
    println!(
        "{:<44} peer read {:.2}, features {:.2}, IsolationForest {:.2}, the rest {:.2}",
        "",
        peer_read,
        peer_features,
        peer_score,
        inner(&peer) - peer_read - peer_features - peer_score
    );
    println!();
    println!("quality against the labels (consumer windows; PR-AUC / recall at 5% FPR):");
    println!(
        "{:<26} {:>18} {:>18} {:>18}",
        "kind", "datapact", "datapact model", "peer IForest"
    );
    let kinds: BTreeSet<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| role_of(k) == "consumer")
        .collect();
    for k in kinds.iter().map(|k| Some(*k)).chain([None]) {
        let a = quality(&ours_full, &truth, k);
        let b = quality(&ours_model, &truth, k);
        let c = quality(&peer_scores, &truth, k);
        println!(
            "{:<26} {:>9.3} / {:<6.3} {:>9.3} / {:<6.3} {:>9.3} / {:<6.3}",
            k.unwrap_or("overall"),
            a.0,
            a.1,
            b.0,
            b.1,
            c.0,
            c.1
        );
    }
    println!(
        "(\"datapact\" counts the findings by rule; \"datapact model\" is the learned score alone)"
    );
    // the matrix the peer scored, written by a run of its own outside the timed ones (pandas
    // takes about two seconds to write it: work the timed runs of neither side do)
    let matrix = dir.join("peer.features.csv");
    figures(
        peer_cmd().arg("--features-out").arg(&matrix),
        "the peer, writing its feature matrix",
    )?;
    scorer_race(&matrix, &dir, &truth)?;
    Ok(())
}
