//! Commands for the analytics: analyze, detect.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use datapact_chain::Deployment;

use super::ops::role_key;
use super::ChainArgs;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact analyze                       # what is new since the last run\n  \
    datapact analyze --anchor              # ... and put its manifest's hash on chain\n  \
    datapact analyze --full --window 3600  # everything again, hourly windows\n  \
    datapact analyze --follow --anchor     # score windows as they close, until interrupted\n\n\
The window is fixed by the first run (chosen from the data's span unless --window says). A run\n\
scores the windows that closed since the last one (closed: a block at or after its end is\n\
indexed) and never scores a window again; --follow repeats that every --interval seconds\n\
whenever a window has closed (run it beside `datapact ingest --follow` and `datapact\n\
sentinel`). Detectors are stored and reused until the history they were fitted from has\n\
doubled (--refit fits new ones now); each is named by its content's SHA-256.\n\
reports go to REPORTS/run-<id>/ (report.html, anomalies.json, provenance.json, *.parquet,\n\
manifest.json). Every run records a manifest: the heights it read, a digest of each input\n\
table, the model and its settings, a digest of each output (docs/runs.md). --anchor publishes\n\
the manifest's SHA-256 as a version of the analyst's \"datapact analysis runs\" asset on the\n\
registry (this run's and any earlier unanchored run's); the key comes from --key-file or\n\
DATAPACT_ANALYST_KEY, on the local chain the funded `analyst` account by default.\n\
`datapact verify-run <id>` checks a run against its manifest and its anchor.")]
pub(crate) struct AnalyzeArgs {
    /// Postgres to read and write; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Window length in seconds (default: the previous run's, or about 1/48 of the data's span).
    #[arg(long)]
    pub(crate) window: Option<i64>,
    /// Forget earlier runs and analyze everything again.
    #[arg(long)]
    pub(crate) full: bool,
    /// Folder for the run reports.
    #[arg(long, default_value = ".data/reports")]
    pub(crate) reports: PathBuf,
    /// Compute, but store nothing (no run, no report).
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Fit new detectors now instead of reusing the stored ones.
    #[arg(long)]
    pub(crate) refit: bool,
    /// Skip the forecasts: anomalies and provenance scores only (a run recorded so has none).
    #[arg(long)]
    pub(crate) no_forecasts: bool,
    /// Keep running: analyze again every --interval seconds once a window has closed, until
    /// interrupted.
    #[arg(long, conflicts_with_all = ["full", "dry_run", "scores_out"])]
    pub(crate) follow: bool,
    /// Seconds between two looks at the index with --follow.
    #[arg(long, default_value_t = 1.0, value_parser = positive_seconds)]
    pub(crate) interval: f64,
    /// Also write every consumer window's scores (model, and with the findings by rule) as CSV.
    #[arg(long)]
    pub(crate) scores_out: Option<PathBuf>,
    /// Print one JSON line of figures (seconds, peak memory, counts) instead of the summary.
    #[arg(long)]
    pub(crate) json: bool,
    /// Anchor the run's manifest hash on chain (and any earlier run not anchored yet).
    #[arg(long)]
    pub(crate) anchor: bool,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// The analyst's key for --anchor (mnemonic or hex); else DATAPACT_ANALYST_KEY; on the local
    /// chain the `analyst` account.
    #[arg(long)]
    pub(crate) key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub(crate) key_index: u32,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact verify-run 3           # exit 0: verified; 3: something differs; 1: cannot check\n  \
    datapact verify-run 3 --json\n\n\
It reads run 3's manifest, checks it against its recorded hash, reads the run's inputs from the\n\
index again (same heights, same queries) and recomputes the run with the recorded settings and\n\
the history as it was, digests the run's stored rows and report files, and asks the registry\n\
for the anchored version. Each difference is named: input (an indexed table), recomputed or\n\
output (an output table), file (a report file), manifest, or anchor. The verdict is recorded\n\
for the dashboard.")]
pub(crate) struct VerifyRunArgs {
    /// The run's id (analytics_runs.run_id; the dashboard's Runs page lists them).
    pub(crate) run_id: i64,
    /// Postgres holding the run; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact detect --input features.csv --label-column is_anomaly --out scores.csv\n  \
datapact detect --input features.csv --contamination 0.02\n\n\
Every numeric column except --label-column and --id-column is a feature; both directions of a\n\
deviation count. Three views score each row, in equal parts: how rare each of its values is\n\
in its column's histogram, how soon an isolation forest isolates it, and its mean distance to\n\
its 50 nearest rows (each column over its 1st-99th percentile range). Scores are 0-1 on an absolute scale (a table without anomalies gets no high\n\
scores); rows at --threshold or above are flagged, or with --contamination that share of the\n\
rows, the highest. With a label column, PR-AUC, recall at 5% FPR, and the flagged rows'\n\
precision and recall are printed."
)]
pub(crate) struct DetectArgs {
    /// A CSV (with a header) or Parquet file.
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Where the scores go (CSV): row, score, top features.
    #[arg(long, default_value = "scores.csv")]
    pub(crate) out: PathBuf,
    /// A 0/1 column to evaluate against (not used for scoring).
    #[arg(long)]
    pub(crate) label_column: Option<String>,
    /// A column to carry through as the row's name.
    #[arg(long)]
    pub(crate) id_column: Option<String>,
    /// Trees in the isolation forest.
    #[arg(long, default_value_t = 100)]
    pub(crate) trees: usize,
    /// Rows each tree is grown on.
    #[arg(long, default_value_t = 256)]
    pub(crate) sample_size: usize,
    /// Seed of every random choice (trees, reference rows): the same seed, the same scores.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Flag rows whose score reaches this (0-1; the sentinel acts from 0.5, "medium").
    #[arg(long, default_value_t = 0.5, value_parser = unit_share)]
    pub(crate) threshold: f64,
    /// Flag this share of the rows instead (0-1), the highest scores: e.g. 0.02 when about 2%
    /// of the rows are expected to be anomalies.
    #[arg(long, value_parser = unit_share, conflicts_with = "threshold")]
    pub(crate) contamination: Option<f64>,
}

fn unit_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number from 0 to 1 (e.g. 0.02)")),
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!(
            "{s:?} is not a positive number of seconds (e.g. 0.5)"
        )),
    }
}

pub(crate) async fn analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    let url = datapact_index::db::database_url(args.database_url.as_deref()).await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    let cfg = datapact_analytics::AnalyzeConfig {
        window: args.window,
        full: args.full,
        reports: args.reports.clone(),
        refit: args.refit,
        wait_for_close: args.follow,
        forecast: (!args.no_forecasts).then(Default::default),
        progress: !args.json && !args.follow,
        ..Default::default()
    };
    let mut anchoring = None;
    if args.anchor && !args.dry_run {
        let chain = args.chain.connect().await?;
        let deployment = Deployment::load(&args.chain.deployment)?;
        let wallet = role_key(
            args.key_file.as_ref(),
            args.key_index,
            "DATAPACT_ANALYST_KEY",
            "analyst",
            &chain,
        )?;
        let addr = wallet.addr();
        let sender = datapact_chain::tx::Sender::load(&chain, wallet)
            .await
            .with_context(|| {
                format!(
                    "loading the analyst account {addr} (a local chain started before the analyst \
                     account existed lacks it: `make localnet-reset` deletes that chain and a new demo \
                     starts a fresh one; or give a funded key with --key-file)"
                )
            })?;
        anchoring = Some((chain, deployment, sender));
    }
    if !args.follow {
        return analyze_once(&args, &pool, &cfg, anchoring.as_mut()).await;
    }
    tracing::info!(interval = args.interval, "analyzing windows as they close");
    let mut failures = 0u32;
    loop {
        let round = analyze_once(&args, &pool, &cfg, anchoring.as_mut());
        tokio::select! {
            r = round => match r {
                Ok(()) => failures = 0,
                // a round that fails stores nothing; the next one tries again
                Err(e) => {
                    failures += 1;
                    tracing::warn!(failures, "analysis round failed: {e:#}");
                }
            },
            _ = tokio::signal::ctrl_c() => {
                println!("interrupted: every stored run is complete; run again to go on");
                return Ok(());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs_f64(args.interval)) => {}
            _ = tokio::signal::ctrl_c() => {
                println!("interrupted: every stored run is complete; run again to go on");
                return Ok(());
            }
        }
    }
}

/// One analysis, printed (in --follow, a round where no window closed prints nothing).
async fn analyze_once(
    args: &AnalyzeArgs,
    pool: &sqlx::PgPool,
    cfg: &datapact_analytics::AnalyzeConfig,
    anchoring: Option<&mut (
        datapact_chain::Chain,
        Deployment,
        datapact_chain::tx::Sender,
    )>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let a = datapact_analytics::analyze(pool, cfg, !args.dry_run).await?;
    if args.follow && a.up_to_date {
        return Ok(());
    }
    let anchors = match anchoring {
        // this run's manifest, and any earlier run's not anchored yet
        Some((chain, deployment, sender)) => {
            crate::runs::anchor_pending(chain, deployment, sender, pool).await?
        }
        _ => Vec::new(),
    };
    if let Some(path) = &args.scores_out {
        datapact_analytics::report::write_consumer_scores(path, &a)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "seconds": started.elapsed().as_secs_f64(),
                "peak_mib": datapact_analytics::peak_rss_mib(),
                "windows": a.tables.iter().map(|(t, _)| t.rows.len()).sum::<usize>(),
                "anomalies": a.anomalies.len(),
                "timings": a.timings,
                "run_id": a.run_id,
                "anchors": anchors,
            })
        );
        return Ok(());
    }
    let show_anchors = || {
        for x in &anchors {
            println!(
                "run {} anchored: manifest sha256 {} is version {} of registry asset {} (tx {}, height {})",
                x.run_id, x.manifest_sha256, x.version, x.asset_id, x.tx_hash, x.height
            );
        }
    };
    if a.up_to_date {
        println!(
            "nothing new since the last run (height {}): up to date",
            a.to_height
        );
        show_anchors();
        return Ok(());
    }
    println!(
        "analysis {} over heights {}..={} ({}-second windows): {} anomalies ({} findings by rule), {} versions scored",
        a.run_id.map(|r| format!("run {r}")).unwrap_or_else(|| "(dry run)".into()),
        a.from_height,
        a.to_height,
        a.window.seconds,
        a.anomalies.len(),
        a.findings.len(),
        a.provenance.len()
    );
    for (t, _) in &a.tables {
        println!("  {:<9} {} windows", t.role, t.rows.len());
    }
    for x in a.anomalies.iter().take(10) {
        println!(
            "  {:.3} {:<8} {:<6} {} {}: {}",
            x.score, x.severity, x.method, x.role, x.actor, x.explanation
        );
    }
    if let Some(f) = &a.forecasts {
        use datapact_analytics::forecast::targets;
        let caps = f
            .outlooks
            .iter()
            .filter(|o| o.kind == targets::AGREEMENT_CAP && o.before_expiry == Some(true))
            .count();
        let top = f
            .outlooks
            .iter()
            .filter(|o| o.kind == targets::CONSUMER_ALERT)
            .max_by(|x, y| x.value.total_cmp(&y.value));
        println!(
            "forecasts: {} series {} steps of {} s ahead; {caps} capped agreements reach their cap before they expire{}",
            f.series.len(),
            f.horizon,
            f.step_seconds,
            top.map(|o| format!(
                "; highest alert risk {:.1}% ({})",
                o.value * 100.0,
                o.key
            ))
            .unwrap_or_default()
        );
    }
    let timings: Vec<String> = a
        .timings
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}s"))
        .collect();
    println!(
        "timings: {}; peak memory {:.0} MiB",
        timings.join(", "),
        datapact_analytics::peak_rss_mib()
    );
    if let Some(dir) = &a.report_dir {
        println!("report: {}", dir.join("report.html").display());
    }
    show_anchors();
    Ok(())
}

pub(crate) async fn verify_run(args: VerifyRunArgs) -> anyhow::Result<()> {
    let url = datapact_index::db::database_url(args.database_url.as_deref()).await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    let chain = args.chain.connect().await?;
    let v = crate::runs::verify(&pool, &chain, args.run_id).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        match &v.anchor {
            Some(a) => println!(
                "run {}: heights {}..={}, manifest sha256 {}, anchored as version {} of registry asset {} (height {})",
                v.run_id, v.from_height, v.to_height, v.manifest_sha256, a.version, a.asset_id, a.height
            ),
            None => println!(
                "run {}: heights {}..={}, manifest sha256 {}, not anchored",
                v.run_id, v.from_height, v.to_height, v.manifest_sha256
            ),
        }
        if v.ok {
            println!("verified: inputs, recomputed outputs, stored outputs, report files and the anchor all match the manifest");
        }
        for d in &v.differences {
            println!(
                "DIFFERS {} {}: expected {}; found {}",
                d.part, d.name, d.expected, d.found
            );
        }
    }
    if !v.ok {
        std::process::exit(3);
    }
    Ok(())
}

pub(crate) async fn detect(args: DetectArgs) -> anyhow::Result<()> {
    let report = datapact_analytics::detect::score_file(
        &args.input,
        &args.out,
        args.label_column.as_deref(),
        args.id_column.as_deref(),
        &datapact_analytics::detect::DetectConfig {
            trees: args.trees.max(1),
            sample_size: args.sample_size.max(2),
            seed: args.seed,
            ..Default::default()
        },
        match args.contamination {
            Some(c) => datapact_analytics::detect::Flag::Contamination(c),
            None => datapact_analytics::detect::Flag::Threshold(args.threshold),
        },
    )?;
    println!("{report}");
    Ok(())
}
