//! `datapact-sim`: the simulator's commands. `simulate` drives a deployed suite on a chain,
//! `synth` writes a labelled history into a scratch database, `eval` measures the analytics on
//! such histories.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use datapact_chain::{Chain, Deployment, FeePolicy};
use datapact_index::db;

use crate::workload::{self, WorkloadConfig};

#[derive(Parser)]
#[command(
    name = "datapact-sim",
    version,
    about = "Traffic for a datapact chain and labelled histories for its analytics: the world \
             datapact is tested and measured against (never run it against real users' data).",
    after_help = "Examples:\n  \
        datapact-sim simulate --seed 7             # a workload on the local chain (labels in .data/labels.jsonl)\n  \
        datapact-sim synth --seed 3 --database-url postgres://…/scratch   # a history into a scratch database\n  \
        datapact-sim eval --seeds 1,2,3            # what `make eval` runs"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive the deployed suite with a seeded, realistic workload and injected misbehaviour;
    /// write ground-truth labels.
    Simulate(SimulateArgs),
    /// Write a synthetic chain history with labelled misbehaviour straight into the typed
    /// tables (for evaluating and benchmarking the analytics at scale).
    Synth(SynthArgs),
    /// The labelled evaluation: synthetic histories with injected misbehaviour, per seed;
    /// prints precision, recall, F1 and PR-AUC per kind.
    Eval(EvalArgs),
    /// The forecasts back-tested: synthetic histories with trends, weekly cycles and regime
    /// changes; interval width tuned on the training ones, figures from the held-out ones.
    EvalForecast(EvalForecastArgs),
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact-sim eval-forecast   # what `make eval-forecast` runs\n\n\
It uses its own database (datapact_eval on the private cluster, or --database-url) and replaces\n\
its content for each history; while it runs, another eval or synth on that database is refused.\n\
Training and held-out seeds and demand shapes must not overlap."
)]
struct EvalForecastArgs {
    /// Postgres to use (its content is replaced); unset: database datapact_eval on the private cluster.
    #[arg(long, env = "EVAL_DATABASE_URL")]
    database_url: Option<String>,
    /// Seeds the interval width is tuned on.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    train_seeds: Vec<u64>,
    /// Seeds reported on.
    #[arg(long, value_delimiter = ',', default_value = "11,12,13")]
    test_seeds: Vec<u64>,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "trend,weekly"
    )]
    train_demand: Vec<crate::synth::Demand>,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "regime,mixed"
    )]
    test_demand: Vec<crate::synth::Demand>,
    /// Accesses per history.
    #[arg(long, default_value_t = 200_000)]
    accesses: u64,
    #[arg(long, default_value_t = 200)]
    consumers: usize,
    /// Days per history (four weeks: two weekly cycles before the first origin).
    #[arg(long, default_value_t = 28)]
    days: u32,
    /// Step (window) length in seconds.
    #[arg(long, default_value_t = 3600)]
    window: i64,
    /// Origins per series, one horizon apart.
    #[arg(long, default_value_t = 4)]
    origins: usize,
    /// Steps forecast from each origin.
    #[arg(long, default_value_t = 48)]
    horizon: usize,
    /// At most this many agreements per history.
    #[arg(long, default_value_t = 150)]
    agreements: usize,
    /// Write the figures as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ChainArgs {
    /// CometBFT RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    rpc: String,
    /// Gas price with its denom, e.g. 0.025udpt.
    #[arg(long, env = "GAS_PRICE", default_value = "0.025udpt")]
    gas_price: String,
    /// Where the deployment file is read.
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    deployment: PathBuf,
}

#[derive(Args)]
struct SimulateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Seed: the same seed on a fresh deployment gives the same workload.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Workload size: number of access rounds in the steady phase.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Accesses per consumer per round (batched in one tx where they cannot fail).
    #[arg(long, default_value_t = 8)]
    batch: u32,
    /// Ground-truth labels of the injected misbehaviour (JSON lines).
    #[arg(long, default_value = ".data/labels.jsonl")]
    labels: PathBuf,
    /// Skip the injected misbehaviour.
    #[arg(long)]
    no_inject: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact-sim synth --seed 3                          # 300k accesses over 14 days, 8 injections per kind\n  \
    datapact-sim synth --accesses 10000000 --consumers 2000 --days 30   # the scale benchmark's data\n\n\
It replaces the content of its database: by default `datapact_synth` on the private cluster, never\n\
the `datapact` database `datapact ingest` fills. A database that holds a chain's index (its\n\
checkpoint names a chain that is not synthetic) is refused and left as it is, unless --scratch\n\
says it may be replaced; so is a database another synth or eval is writing.")]
struct SynthArgs {
    /// Postgres to write to (its content is replaced); unset: database `datapact_synth` on the
    /// private cluster. A database holding a chain's index is refused without --scratch.
    #[arg(long, env = "SYNTH_DATABASE_URL")]
    database_url: Option<String>,
    /// The database is scratch: replace its content even if it holds a chain's index.
    #[arg(long)]
    scratch: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// About this many accesses in all.
    #[arg(long, default_value_t = 300_000)]
    accesses: u64,
    #[arg(long, default_value_t = 300)]
    consumers: usize,
    #[arg(long, default_value_t = 40)]
    providers: usize,
    #[arg(long, default_value_t = 3000)]
    subjects: usize,
    #[arg(long, default_value_t = 12)]
    attestors: usize,
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Seconds between blocks (a divisor of 3600).
    #[arg(long, default_value_t = 6)]
    block_seconds: u64,
    /// Instances of each misbehaviour kind.
    #[arg(long, default_value_t = 8)]
    injections: usize,
    /// Ground-truth labels (JSON lines, the workload's format).
    #[arg(long, default_value = ".data/synth-labels.jsonl")]
    labels: PathBuf,
    /// How each consumer's demand changes over the history (what the forecasts are evaluated
    /// on); steady leaves the history as it always was.
    #[arg(long, value_enum, default_value_t = crate::synth::Demand::Steady)]
    demand: crate::synth::Demand,
    /// Variants of the generator, comma-separated: honest noise and misbehaviour that hides,
    /// each listed below with what it does (docs/anomalies.md says more). None: the base
    /// generator alone.
    #[arg(long, value_enum, value_delimiter = ',')]
    variants: Vec<crate::synth::Variant>,
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact-sim eval   # what `make eval` runs: development seeds 1-3 with the\n\
                      # training variants, held-out seeds 11-13 with the held-out ones\n\n\
It uses its own database (datapact_eval on the private cluster, or --database-url) and replaces\n\
its content for each seed; while it runs, another eval or synth on that database is refused.\n\
Development and held-out seeds, and training and held-out variants, must not overlap."
)]
struct EvalArgs {
    /// Postgres to use (its content is replaced); unset: database datapact_eval on the private cluster.
    #[arg(long, env = "EVAL_DATABASE_URL")]
    database_url: Option<String>,
    /// Development seeds: the detector's settings were chosen looking at these.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Held-out seeds, reported apart (never looked at while tuning); the flag alone: none
    /// (while tuning on the development seeds).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "11,12,13")]
    held_out_seeds: Vec<u64>,
    /// Variants of the generator the development seeds run with (the settings were chosen
    /// looking at them); see `datapact-sim synth --help`.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_values_t = crate::synth::TRAINING
    )]
    variants: Vec<crate::synth::Variant>,
    /// Variants the held-out seeds run with: honest noise and evasions never looked at while
    /// tuning.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_values_t = crate::synth::HELD_OUT
    )]
    held_out_variants: Vec<crate::synth::Variant>,
    /// Accesses per synthetic history.
    #[arg(long, default_value_t = 300_000)]
    accesses: u64,
    #[arg(long, default_value_t = 300)]
    consumers: usize,
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Window length in seconds.
    #[arg(long, default_value_t = 3600)]
    window: i64,
    /// Write the per-seed figures as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Print the highest-scored windows of each role with their views (for tuning).
    #[arg(long)]
    debug: bool,
    /// Write every scored window, its features and its labels as CSV into this directory
    /// (`<split>-seed<N>-<role>.csv`), for studying a detector on the development seeds.
    #[arg(long, value_name = "DIR")]
    units: Option<PathBuf>,
}

/// Logs (at `default` unless `RUST_LOG` says) and pipes, as every datapact process sets them
/// up.
/// The chain and the deployment a benchmark runs against: `RPC_URL` (the local chain by
/// default) and `DATAPACT_DEPLOYMENT` (`.data/deployment.json`).
pub async fn bench_chain() -> anyhow::Result<(Chain, Deployment)> {
    let rpc = std::env::var("RPC_URL").unwrap_or_else(|_| "http://127.0.0.1:26657".into());
    let deployment =
        std::env::var("DATAPACT_DEPLOYMENT").unwrap_or_else(|_| ".data/deployment.json".into());
    let chain = Chain::connect(&rpc, FeePolicy::parse("0.025udpt", 1.4)?).await?;
    let d = Deployment::load(std::path::Path::new(&deployment))?;
    Ok((chain, d))
}

pub fn init_logging(default: &str) {
    datapact_chain::process::restore_sigpipe();
    datapact_chain::process::init_logging(default);
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate(args).await,
        Command::Synth(args) => synth(args).await,
        Command::Eval(args) => eval(args).await,
        Command::EvalForecast(args) => eval_forecast(args).await,
    }
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let fees = FeePolicy::parse(&args.chain.gas_price, 1.4)?;
    let chain = Chain::connect(&args.chain.rpc, fees).await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    anyhow::ensure!(
        deployment.chain_id == chain.chain_id,
        "the deployment file is for chain {} but {} serves {}",
        deployment.chain_id,
        chain.url,
        chain.chain_id
    );
    let cfg = WorkloadConfig {
        seed: args.seed,
        rounds: args.rounds,
        batch: args.batch,
        inject: !args.no_inject,
        labels: args.labels,
    };
    let summary = workload::run(&chain, &deployment, &cfg).await?;
    println!("{summary}");
    Ok(())
}

async fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let url = match args.database_url {
        Some(u) => u,
        None => {
            db::PgCluster::from_env()
                .ensure_database("datapact_synth")
                .await?
        }
    };
    // held until the history is written: a second run on this database is refused meanwhile
    let _claim = db::claim_url(&url).await?;
    let pool = db::connect(&url, 4).await?;
    db::replace_with_synthetic(&pool, args.scratch).await?;
    let cfg = crate::synth::SynthConfig {
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
        chain_id: format!("{}{}", db::SYNTHETIC_CHAIN_PREFIX, args.seed),
        progress: true,
        demand: args.demand,
        variants: args.variants,
    };
    let t = std::time::Instant::now();
    let s = crate::synth::run(&pool, &cfg).await?;
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

/// The evaluations' database: `url`, else a fresh `datapact_eval` on the private cluster; with
/// the claim on it that refuses a second evaluation there while this one runs (keep it alive).
async fn eval_pool(url: Option<String>) -> anyhow::Result<(sqlx::PgPool, db::Claim)> {
    let (url, claim) = match url {
        Some(u) => {
            let claim = db::claim_url(&u).await?;
            (u, claim)
        }
        None => {
            let cluster = db::PgCluster::from_env();
            // before the drop, which would otherwise end another evaluation's connections
            let claim = cluster.claim("datapact_eval").await?;
            (cluster.fresh_database("datapact_eval").await?, claim)
        }
    };
    Ok((db::connect(&url, 4).await?, claim))
}

async fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let (pool, _claim) = eval_pool(args.database_url).await?;
    let synth = crate::synth::SynthConfig {
        accesses: args.accesses,
        consumers: args.consumers,
        days: args.days,
        progress: false,
        labels: std::env::temp_dir().join("datapact-eval-labels.jsonl"),
        ..Default::default()
    };
    // the forecasts have an evaluation of their own (eval-forecast)
    let cfg = datapact_analytics::AnalyzeConfig {
        window: Some(args.window),
        full: true,
        forecast: None,
        // a synthetic history has ended: its last window is as closed as the rest
        close_last: true,
        ..Default::default()
    };
    anyhow::ensure!(
        !args.seeds.iter().any(|s| args.held_out_seeds.contains(s)),
        "--seeds and --held-out-seeds overlap: a held-out seed must not be one the settings were chosen on"
    );
    anyhow::ensure!(
        !args.variants.iter().any(|v| args.held_out_variants.contains(v)),
        "--variants and --held-out-variants overlap: a held-out variant must not be one the settings were chosen on"
    );
    let mut all = serde_json::Map::new();
    for (name, seeds, variants, about) in [
        (
            "development",
            &args.seeds,
            &args.variants,
            "the detector's settings were chosen looking at these",
        ),
        (
            "held_out",
            &args.held_out_seeds,
            &args.held_out_variants,
            "never looked at while tuning",
        ),
    ] {
        if seeds.is_empty() {
            continue;
        }
        let synth = crate::synth::SynthConfig {
            variants: variants.clone(),
            ..synth.clone()
        };
        let results = crate::eval::run(
            &pool,
            seeds,
            &synth,
            &cfg,
            args.debug,
            args.units.as_deref().map(|d| (d, name)),
        )
        .await?;
        let list: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
        let vs: Vec<&str> = variants.iter().map(|v| v.name()).collect();
        println!(
            "\n{} seeds {} with variants {} ({about}):",
            name.replace('_', "-"),
            list.join(","),
            if vs.is_empty() {
                "none".to_string()
            } else {
                vs.join(",")
            }
        );
        for r in &results {
            println!(
                "seed {}: {} accesses, {} actor windows, analyzed in {:.1} s",
                r.seed, r.accesses, r.units, r.analyze_seconds
            );
        }
        print!("{}", crate::eval::summary(&results));
        if name == "development" {
            print!("{}", crate::eval::default_choice(&results));
        }
        if name == "held_out" {
            print!("{}", crate::eval::aims(&results));
        }
        all.insert(name.into(), serde_json::to_value(&results)?);
    }
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&all)?)?;
    }
    Ok(())
}

async fn eval_forecast(args: EvalForecastArgs) -> anyhow::Result<()> {
    let overlap = args.train_seeds.iter().any(|s| args.test_seeds.contains(s))
        || args
            .train_demand
            .iter()
            .any(|d| args.test_demand.contains(d));
    anyhow::ensure!(
        !overlap,
        "a seed or demand shape is both training and held out; name disjoint ones (--train-seeds, --test-seeds, --train-demand, --test-demand)"
    );
    let (pool, _claim) = eval_pool(args.database_url).await?;
    let cfg = crate::eval_forecast::ForecastEvalConfig {
        train_seeds: args.train_seeds,
        test_seeds: args.test_seeds,
        train_demand: args.train_demand,
        test_demand: args.test_demand,
        synth: crate::synth::SynthConfig {
            accesses: args.accesses,
            consumers: args.consumers,
            days: args.days,
            progress: false,
            labels: std::env::temp_dir().join("datapact-eval-forecast-labels.jsonl"),
            ..Default::default()
        },
        window: args.window,
        origins: args.origins,
        horizon: args.horizon,
        agreements: args.agreements,
        level: datapact_analytics::forecast::ModelConfig::default().level,
    };
    let t = std::time::Instant::now();
    let e = crate::eval_forecast::run(&pool, &cfg).await?;
    print!("{}", crate::eval_forecast::summary(&e, &cfg));
    println!(
        "({} histories in {:.0} s)",
        e.histories.len(),
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&e)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_by_default_tunes_on_the_training_variants_and_holds_out_the_others() {
        let cli = Cli::try_parse_from(["datapact-sim", "eval"]).expect("eval parses");
        let Command::Eval(args) = cli.command else {
            panic!("not eval")
        };
        assert_eq!(args.variants, crate::synth::TRAINING.to_vec());
        assert_eq!(args.held_out_variants, crate::synth::HELD_OUT.to_vec());
        assert_eq!(args.seeds, vec![1, 2, 3]);
        assert_eq!(args.held_out_seeds, vec![11, 12, 13]);
    }
}
