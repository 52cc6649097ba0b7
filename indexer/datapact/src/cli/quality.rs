//! `datapact quality`: check a file against the asset's rules and its parent version.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use datapact_chain::Deployment;
use datapact_quality::{DriftLimits, Rules, Verdict};

use super::plane::{print, KeyArgs};
use super::ChainArgs;
use crate::participants::quality::{attest_passed, record_report};

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact quality trips-v2.csv --rules trips.rules.json --parent trips-v1.csv\n  \
    datapact quality visits.parquet --json > report.json\n  \
    datapact quality trips-v2.csv --rules trips.rules.json --attest --asset 3 --version 2 --as attestor-0\n  \
    datapact quality trips-v2.csv --rules trips.rules.json --asset 3 --version 2 --record  # for the dashboard\n\n\
The file is only read. Exit status 0 when every check passes, 3 when any fails (each discrepancy\n\
named by its check and column), 1 when the check cannot run (the error says why). The rules format\n\
and the drift tests are in docs/quality.md.")]
pub(crate) struct QualityArgs {
    /// The version's file (CSV with a header, or .parquet).
    file: PathBuf,
    /// The asset's rules (JSON: key, and per column type, not_null, unique, min, max, allowed).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The parent version's file, to check drift against.
    #[arg(long)]
    parent: Option<PathBuf>,
    /// Drift: a numeric column shifted when the KS test's p is below this…
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// …and its statistic D at least this.
    #[arg(long, default_value_t = 0.1)]
    min_ks: f64,
    /// Drift: a text column's category mix shifted above this population stability index.
    #[arg(long, default_value_t = 0.25)]
    max_psi: f64,
    /// Drift: the row count may change by at most this factor either way.
    #[arg(long, default_value_t = 2.0)]
    max_row_ratio: f64,
    /// Print the verdict and the profile as JSON.
    #[arg(long)]
    json: bool,
    /// Write the verdict (JSON) here; with --attest its SHA-256 is the evidence hash on chain.
    #[arg(long)]
    report: Option<PathBuf>,
    /// When every check passes, attest it on chain (claim `quality.passed`, evidence the
    /// report's hash) for --asset/--version, whose content hash must be this file's.
    #[arg(long, requires_all = ["asset", "version", "report"])]
    attest: bool,
    #[arg(long)]
    asset: Option<u64>,
    #[arg(long)]
    version: Option<u32>,
    /// Record the verdict, pass or fail, in the index for --asset/--version (the dashboard's
    /// Quality section and /quality/<sha256>); DATABASE_URL, else the private cluster.
    #[arg(long, requires_all = ["asset", "version"])]
    record: bool,
    /// Postgres for --record; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    key: KeyArgs,
}

/// Human lines for a verdict.
fn report(v: &Verdict) -> String {
    let p = &v.profile;
    let mut lines = vec![format!(
        "{}: {} rows, {} columns, {} duplicate row(s)",
        if v.passed { "passed" } else { "FAILED" },
        p.rows,
        p.columns.len(),
        p.duplicate_rows
    )];
    for d in &v.discrepancies {
        lines.push(format!(
            "  [{}] {}{}",
            d.check,
            d.column
                .as_ref()
                .map_or(String::new(), |c| format!("column {c}: ")),
            d.detail
        ));
    }
    lines.join("\n")
}

pub(crate) async fn quality(args: QualityArgs) -> anyhow::Result<()> {
    let rules = match &args.rules {
        Some(p) => Rules::load(p)?,
        None => Rules::default(),
    };
    let limits = DriftLimits {
        alpha: args.alpha,
        min_ks: args.min_ks,
        max_psi: args.max_psi,
        max_row_ratio: args.max_row_ratio,
    };
    let verdict = datapact_quality::check(&args.file, &rules, args.parent.as_deref(), &limits)?;
    let bytes = serde_json::to_vec_pretty(&verdict)?;
    if let Some(out) = &args.report {
        if out.exists() {
            anyhow::bail!(
                "{} exists: choose another --report (a report is never overwritten)",
                out.display()
            );
        }
        std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    print(args.json, &verdict, report)?;
    if let (true, Some(asset), Some(version)) = (args.record, args.asset, args.version) {
        let url = datapact_index::db::database_url(args.database_url.as_deref()).await?;
        let pool = datapact_index::db::connect(&url, 1).await?;
        let sha = record_report(&pool, asset, version, verdict.passed, &bytes).await?;
        if !args.json {
            println!("recorded in the index: /quality/{sha}");
        }
    }
    if !verdict.passed {
        if args.attest {
            eprintln!("nothing attested: the file failed its checks");
        }
        // the verdict is the output; the status says it failed
        std::process::exit(3);
    }
    if let (true, Some(asset), Some(version)) = (args.attest, args.asset, args.version) {
        let chain = args.chain.connect().await?;
        let deployment = Deployment::load(&args.chain.deployment)?;
        let mut sender = args.key.sender(&chain).await?;
        let a = attest_passed(
            &chain,
            &deployment,
            &mut sender,
            asset,
            version,
            &args.file,
            &bytes,
        )
        .await?;
        if !args.json {
            println!(
                "attested {} on asset {} version {} (evidence {}{}, tx {})",
                a.claim,
                a.asset_id,
                a.version,
                a.evidence_hash,
                args.report
                    .as_ref()
                    .map_or(String::new(), |r| format!(" = sha256 of {}", r.display())),
                a.tx
            );
        }
    }
    Ok(())
}
