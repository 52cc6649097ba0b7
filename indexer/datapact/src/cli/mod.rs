//! The `datapact` command line: flags, help and dispatch. Each group of commands lives in its
//! own module; the binary's `main` only parses and calls [`run`].

mod analytics;
mod chain;
mod consumer;
mod index;
mod ops;
mod plane;
mod provider;
mod quality;
mod subject;
mod suppress;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use datapact_chain::{Chain as ChainClient, FeePolicy};

#[derive(Parser)]
#[command(
    name = "datapact",
    version,
    about = "Data-sharing agreements and consent enforced by a CosmWasm chain, and the indexer, \
             analytics, sentinel and dashboard that watch it.",
    after_help = "Examples:\n  \
        datapact localnet start        # a local wasmd chain on 127.0.0.1:26657\n  \
        datapact deploy                # store + instantiate the suite, write .data/deployment.json\n  \
        datapact ingest --follow       # index it into Postgres (a private cluster unless DATABASE_URL)\n  \
        datapact analyze               # provenance scores and anomaly reports\n  \
        datapact sentinel              # report medium severity and above to the audit contract\n  \
        datapact serve                 # the dashboard on http://127.0.0.1:8080/\n\n\
Each command's --help has its flags, environment variables and examples. `make demo` runs them all;\n\
the workload that drives the demo is `datapact-sim simulate`."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local single-node wasmd chain (data under $DATAPACT_DATA/localnet, default .data).
    Localnet {
        #[command(subcommand)]
        action: chain::LocalnetAction,
    },
    /// Store, instantiate (or migrate) and wire the four contracts; write the deployment file.
    Deploy(chain::DeployArgs),
    /// Index the chain into Postgres: backfill from the checkpoint (or --from), then --follow.
    Ingest(index::IngestArgs),
    /// Save blocks and their results as the indexer reads them (JSON), e.g. as test fixtures.
    Capture {
        #[command(flatten)]
        chain: ChainArgs,
        /// Heights to capture.
        #[arg(required = true)]
        heights: Vec<u64>,
        /// Folder to write block-<height>.json into.
        #[arg(long, default_value = "indexer/tests/fixtures")]
        out: PathBuf,
    },
    /// Provenance scores and anomaly reports from the indexed tables, written back to Postgres
    /// and to a report folder (JSON, Parquet, HTML): the windows closed since the last run
    /// (--follow: as they close).
    Analyze(analytics::AnalyzeArgs),
    /// Check an analysis run against its manifest (inputs, a recomputation, outputs, report
    /// files) and the manifest against its anchor on chain; name what differs.
    VerifyRun(analytics::VerifyRunArgs),
    /// Score any numeric table (CSV or Parquet) with the anomaly detector: scores and the
    /// features that explain them, as CSV.
    Detect(analytics::DetectArgs),
    /// The analysts' dashboard and its JSON API (read-only), on 127.0.0.1:8080 by default.
    Serve(ops::ServeArgs),
    /// Report anomalies at or above a severity as alerts to the audit contract (signed with the
    /// sentinel's key), exactly once; the chain then suspends the offender at its threshold.
    Sentinel(ops::SentinelArgs),
    /// A responder's action on an alert: acknowledge, resolve (--false-positive: the alert was
    /// wrong), or lift the suspension it caused.
    Respond(ops::RespondArgs),
    /// Analysts' suppressions: an actor's anomalies expected until a time, not reported by the
    /// sentinel (add, list, lift).
    Suppress(suppress::SuppressArgs),
    /// The data gateway: serves a version's ciphertext to a consumer whose signed proof names a
    /// record_access transaction the chain still honours, once per transaction.
    Gateway(plane::GatewayArgs),
    /// A provider's commands: register, publish a file (encrypted), offer, deliver keys,
    /// tombstone.
    Provider(provider::ProviderArgs),
    /// A consumer's commands: keygen, offers, sign, fetch (through a gateway, checked against
    /// the chain).
    Consumer(consumer::ConsumerArgs),
    /// A data subject's commands: grant, withdraw, status; a consent signed off chain by a bare
    /// key, and relaying it.
    Subject(subject::SubjectArgs),
    /// Check a file's quality: its profile, the asset's rules, drift from the parent version;
    /// every discrepancy named by check and column.
    Quality(quality::QualityArgs),
    /// The private Postgres cluster used when DATABASE_URL is unset (.data/postgres, port 55432).
    Postgres {
        #[command(subcommand)]
        action: index::PostgresAction,
    },
}

#[derive(Args)]
pub(crate) struct ChainArgs {
    /// CometBFT RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    pub(crate) rpc: String,
    /// Gas price with its denom, e.g. 0.025udpt.
    #[arg(long, env = "GAS_PRICE", default_value = "0.025udpt")]
    pub(crate) gas_price: String,
    /// Where the deployment file is read and written.
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    pub(crate) deployment: PathBuf,
}

impl ChainArgs {
    pub(crate) async fn connect(&self) -> anyhow::Result<ChainClient> {
        let fees = FeePolicy::parse(&self.gas_price, 1.4).context("--gas-price")?;
        ChainClient::connect(&self.rpc, fees).await
    }
}

/// Logs (at `default` unless `RUST_LOG` says) and pipes, as every datapact process sets them
/// up.
/// A read-only connection to an index, when one is reachable: `url`, else the private
/// cluster's reader if it runs (never started here). None, with the reason logged, otherwise.
pub(crate) async fn index_reader(url: Option<&str>) -> Option<sqlx::PgPool> {
    let cluster = datapact_index::db::PgCluster::from_env();
    let url = match url {
        Some(u) => u.to_string(),
        None if cluster.accepting() => cluster.reader_url(),
        None => return None,
    };
    match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect(&url)
        .await
    {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::debug!("no index: {e:#}");
            None
        }
    }
}

pub fn init_logging(default: &str) {
    datapact_chain::process::restore_sigpipe();
    datapact_chain::process::init_logging(default);
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Localnet { action } => chain::localnet(action).await,
        Command::Deploy(args) => chain::deploy(args).await,
        Command::Ingest(args) => index::ingest(args).await,
        Command::Capture {
            chain,
            heights,
            out,
        } => index::capture(chain, heights, out).await,
        Command::Postgres { action } => index::postgres(action).await,
        Command::Analyze(args) => analytics::analyze(args).await,
        Command::VerifyRun(args) => analytics::verify_run(args).await,
        Command::Detect(args) => analytics::detect(args).await,
        Command::Serve(args) => ops::serve(args).await,
        Command::Sentinel(args) => ops::sentinel(args).await,
        Command::Respond(args) => ops::respond(args).await,
        Command::Suppress(args) => suppress::suppress(args).await,
        Command::Gateway(args) => plane::gateway(args).await,
        Command::Provider(args) => provider::provider(args).await,
        Command::Consumer(args) => consumer::consumer(args).await,
        Command::Subject(args) => subject::subject(args).await,
        Command::Quality(args) => quality::quality(args).await,
    }
}
