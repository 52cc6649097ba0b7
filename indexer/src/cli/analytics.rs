//! Commands for the analytics: analyze, eval, detect, synth.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact analyze                       # what is new since the last run\n  \
    datapact analyze --full --window 3600  # everything again, hourly windows\n\n\
The window is fixed by the first run (chosen from the data's span unless --window says);\n\
reports go to REPORTS/run-<id>/ (report.html, anomalies.json, provenance.json, *.parquet).")]
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
    /// Also write every consumer window's scores (model, and with the findings by rule) as CSV.
    #[arg(long)]
    pub(crate) scores_out: Option<PathBuf>,
    /// Print one JSON line of figures (seconds, peak memory, counts) instead of the summary.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact eval --seeds 1,2,3   # what `make eval` runs\n\n\
It uses its own database (datapact_eval on the private cluster, or --database-url) and replaces\n\
its content for each seed."
)]
pub(crate) struct EvalArgs {
    /// Postgres to use (its content is replaced); unset: database datapact_eval on the private cluster.
    #[arg(long, env = "EVAL_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub(crate) seeds: Vec<u64>,
    /// Accesses per synthetic history.
    #[arg(long, default_value_t = 300_000)]
    pub(crate) accesses: u64,
    #[arg(long, default_value_t = 300)]
    pub(crate) consumers: usize,
    #[arg(long, default_value_t = 14)]
    pub(crate) days: u32,
    /// Window length in seconds.
    #[arg(long, default_value_t = 3600)]
    pub(crate) window: i64,
    /// Write the per-seed figures as JSON here too.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Print the highest-scored windows of each role with their views (for tuning).
    #[arg(long)]
    pub(crate) debug: bool,
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact detect --input features.csv --label-column is_anomaly --out scores.csv\n\n\
Every numeric column except --label-column and --id-column is a feature; both directions of a\n\
deviation count. With a label column, PR-AUC and recall at 5% FPR are printed."
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
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact synth --seed 3                          # 300k accesses over 14 days, 8 injections per kind\n  \
    datapact synth --accesses 10000000 --consumers 2000 --days 30   # the scale benchmark's data")]
pub(crate) struct SynthArgs {
    /// Postgres to write to; unset: the private cluster (database `datapact`).
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// About this many accesses in all.
    #[arg(long, default_value_t = 300_000)]
    pub(crate) accesses: u64,
    #[arg(long, default_value_t = 300)]
    pub(crate) consumers: usize,
    #[arg(long, default_value_t = 40)]
    pub(crate) providers: usize,
    #[arg(long, default_value_t = 3000)]
    pub(crate) subjects: usize,
    #[arg(long, default_value_t = 12)]
    pub(crate) attestors: usize,
    #[arg(long, default_value_t = 14)]
    pub(crate) days: u32,
    /// Seconds between blocks (a divisor of 3600).
    #[arg(long, default_value_t = 6)]
    pub(crate) block_seconds: u64,
    /// Instances of each misbehaviour kind.
    #[arg(long, default_value_t = 8)]
    pub(crate) injections: usize,
    /// Ground-truth labels (JSON lines, the workload's format).
    #[arg(long, default_value = ".data/synth-labels.jsonl")]
    pub(crate) labels: PathBuf,
}

pub(crate) async fn analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let url = crate::db::database_url(args.database_url.as_deref()).await?;
    let pool = crate::db::connect(&url, 4).await?;
    let cfg = crate::analytics::AnalyzeConfig {
        window: args.window,
        full: args.full,
        reports: args.reports,
        progress: !args.json,
        ..Default::default()
    };
    let a = crate::analytics::analyze(&pool, &cfg, !args.dry_run).await?;
    if let Some(path) = &args.scores_out {
        crate::analytics::eval::write_scores(path, &a)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "seconds": started.elapsed().as_secs_f64(),
                "peak_mib": crate::analytics::peak_rss_mib(),
                "windows": a.tables.iter().map(|(t, _)| t.rows.len()).sum::<usize>(),
                "anomalies": a.anomalies.len(),
                "timings": a.timings,
                "run_id": a.run_id,
            })
        );
        return Ok(());
    }
    if a.up_to_date {
        println!(
            "nothing new since the last run (height {}): up to date",
            a.to_height
        );
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
    let timings: Vec<String> = a
        .timings
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}s"))
        .collect();
    println!(
        "timings: {}; peak memory {:.0} MiB",
        timings.join(", "),
        crate::analytics::peak_rss_mib()
    );
    if let Some(dir) = &a.report_dir {
        println!("report: {}", dir.join("report.html").display());
    }
    Ok(())
}

pub(crate) async fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let url = match args.database_url {
        Some(u) => u,
        None => {
            crate::db::PgCluster::from_env()
                .fresh_database("datapact_eval")
                .await?
        }
    };
    let pool = crate::db::connect(&url, 4).await?;
    let synth = crate::analytics::synth::SynthConfig {
        accesses: args.accesses,
        consumers: args.consumers,
        days: args.days,
        progress: false,
        labels: std::env::temp_dir().join("datapact-eval-labels.jsonl"),
        ..Default::default()
    };
    let cfg = crate::analytics::AnalyzeConfig {
        window: Some(args.window),
        full: true,
        ..Default::default()
    };
    let results = crate::analytics::eval::run(&pool, &args.seeds, &synth, &cfg, args.debug).await?;
    for r in &results {
        println!(
            "seed {}: {} accesses, {} actor windows, analyzed in {:.1} s",
            r.seed, r.accesses, r.units, r.analyze_seconds
        );
    }
    print!("{}", crate::analytics::eval::summary(&results));
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
    }
    Ok(())
}

pub(crate) async fn detect(args: DetectArgs) -> anyhow::Result<()> {
    let report = crate::analytics::detect::score_file(
        &args.input,
        &args.out,
        args.label_column.as_deref(),
        args.id_column.as_deref(),
    )?;
    println!("{report}");
    Ok(())
}

pub(crate) async fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let url = crate::db::database_url(args.database_url.as_deref()).await?;
    let pool = crate::db::connect(&url, 4).await?;
    crate::db::truncate_all(&pool).await?;
    let cfg = crate::analytics::synth::SynthConfig {
        seed: args.seed,
        consumers: args.consumers,
        providers: args.providers,
        subjects: args.subjects,
        attestors: args.attestors,
        days: args.days,
        block_seconds: args.block_seconds,
        accesses: args.accesses,
        injections: args.injections,
        labels: args.labels,
        chain_id: format!("datapact-synth-{}", args.seed),
        progress: true,
    };
    let t = std::time::Instant::now();
    let s = crate::analytics::synth::run(&pool, &cfg).await?;
    println!(
        "synthetic history in {:.1} s: {} blocks, {} accesses, {} refused attempts, {} rows; {} labels in {}",
        t.elapsed().as_secs_f64(),
        s.blocks,
        s.accesses,
        s.denied,
        s.rows,
        s.labels.len(),
        cfg.labels.display()
    );
    Ok(())
}
