//! Commands for the analytics: analyze, detect.

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

pub(crate) async fn analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let url = datapact_index::db::database_url(args.database_url.as_deref()).await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    let cfg = datapact_analytics::AnalyzeConfig {
        window: args.window,
        full: args.full,
        reports: args.reports,
        progress: !args.json,
        ..Default::default()
    };
    let a = datapact_analytics::analyze(&pool, &cfg, !args.dry_run).await?;
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
        datapact_analytics::peak_rss_mib()
    );
    if let Some(dir) = &a.report_dir {
        println!("report: {}", dir.join("report.html").display());
    }
    Ok(())
}

pub(crate) async fn detect(args: DetectArgs) -> anyhow::Result<()> {
    let report = datapact_analytics::detect::score_file(
        &args.input,
        &args.out,
        args.label_column.as_deref(),
        args.id_column.as_deref(),
    )?;
    println!("{report}");
    Ok(())
}
