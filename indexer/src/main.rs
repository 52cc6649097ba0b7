//! `datapact`: one binary, one subcommand per job. The work lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use datapact::chain::keys::{localnet_accounts, localnet_mnemonic, localnet_wallet, Wallet};
use datapact::chain::tx::Sender;
use datapact::chain::{Chain, FeePolicy};
use datapact::deploy::{deploy, DeployPlan, Deployment};
use datapact::localnet::{self, Localnet};
use datapact::workload::{self, WorkloadConfig};

#[derive(Parser)]
#[command(
    name = "datapact",
    version,
    about = "Data-sharing agreements and consent enforced by a CosmWasm chain: local chain, deployment, workload.",
    after_help = "Examples:\n  \
        datapact localnet start                 # a local wasmd chain on 127.0.0.1:26657\n  \
        datapact deploy                         # store + instantiate the suite, write .data/deployment.json\n  \
        datapact simulate --seed 7 --minutes 1  # drive it with a seeded workload\n  \
        datapact deploy --rpc https://rpc.example:443 --key-file admin.key --gas-price 0.025uxyz"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local single-node wasmd chain (data under $DATAPACT_DATA/localnet, default .data).
    Localnet {
        #[command(subcommand)]
        action: LocalnetAction,
    },
    /// Store, instantiate (or migrate) and wire the four contracts; write the deployment file.
    Deploy(DeployArgs),
    /// Drive the deployed suite with a seeded, realistic workload and injected misbehaviour;
    /// write ground-truth labels.
    Simulate(SimulateArgs),
    /// Index the chain into Postgres: backfill from the checkpoint (or --from), then --follow.
    Ingest(IngestArgs),
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
    /// and to a report folder (JSON, Parquet, HTML). Incremental: only new blocks are read.
    Analyze(AnalyzeArgs),
    /// The labelled evaluation: synthetic histories with injected misbehaviour, per seed;
    /// prints precision, recall, F1 and PR-AUC per kind.
    Eval(EvalArgs),
    /// Score any numeric table (CSV or Parquet) with the anomaly detector: scores and the
    /// features that explain them, as CSV.
    Detect(DetectArgs),
    /// The analysts' dashboard and its JSON API (read-only), on 127.0.0.1:8080 by default.
    Serve(ServeArgs),
    /// Report anomalies at or above a severity as alerts to the audit contract (signed with the
    /// sentinel's key), exactly once; the chain then suspends the offender at its threshold.
    Sentinel(SentinelArgs),
    /// A responder's action on an alert: acknowledge, resolve, or lift the suspension it caused.
    Respond(RespondArgs),
    /// Write a synthetic chain history with labelled misbehaviour straight into the typed tables
    /// (for evaluating and benchmarking the analytics at scale; replaces the database's content).
    Synth(SynthArgs),
    /// The private Postgres cluster used when DATABASE_URL is unset (.data/postgres, port 55432).
    Postgres {
        #[command(subcommand)]
        action: PostgresAction,
    },
}

#[derive(Subcommand)]
enum PostgresAction {
    /// Create (first time) and start it; print its URL.
    Start,
    /// Stop it (its data stays).
    Stop,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact ingest                      # backfill into the private Postgres, then stop\n  \
    datapact ingest --follow             # and keep following the head\n  \
    datapact ingest --from 1200 --to 1300 # re-ingest a range (idempotent)\n  \
    DATABASE_URL=postgres://u:p@db/datapact datapact ingest --follow")]
struct IngestArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Postgres to write to; unset: the private cluster under .data/postgres (started if needed).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// First height (default: after the checkpoint, or the deployment's first block).
    #[arg(long)]
    from: Option<u64>,
    /// Last height (default: the head).
    #[arg(long)]
    to: Option<u64>,
    /// After the backfill, follow new blocks until interrupted.
    #[arg(long)]
    follow: bool,
    /// Blocks fetched in parallel.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Most blocks per write transaction.
    #[arg(long, default_value_t = 200)]
    batch_blocks: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics (height, lag, events, quarantined,
    /// errors).
    #[arg(long, env = "DATAPACT_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    metrics_addr: std::net::SocketAddr,
    /// Do not serve metrics.
    #[arg(long)]
    no_metrics: bool,
    /// No progress bar (logs only).
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact synth --seed 3                          # 300k accesses over 14 days, 8 injections per kind\n  \
    datapact synth --accesses 10000000 --consumers 2000 --days 30   # the scale benchmark's data")]
struct SynthArgs {
    /// Postgres to write to; unset: the private cluster (database `datapact`).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
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
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact analyze                       # what is new since the last run\n  \
    datapact analyze --full --window 3600  # everything again, hourly windows\n\n\
The window is fixed by the first run (chosen from the data's span unless --window says);\n\
reports go to REPORTS/run-<id>/ (report.html, anomalies.json, provenance.json, *.parquet).")]
struct AnalyzeArgs {
    /// Postgres to read and write; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Window length in seconds (default: the previous run's, or about 1/48 of the data's span).
    #[arg(long)]
    window: Option<i64>,
    /// Forget earlier runs and analyze everything again.
    #[arg(long)]
    full: bool,
    /// Folder for the run reports.
    #[arg(long, default_value = ".data/reports")]
    reports: PathBuf,
    /// Compute, but store nothing (no run, no report).
    #[arg(long)]
    dry_run: bool,
    /// Also write every consumer window's scores (model, and with the findings by rule) as CSV.
    #[arg(long)]
    scores_out: Option<PathBuf>,
    /// Print one JSON line of figures (seconds, peak memory, counts) instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact eval --seeds 1,2,3   # what `make eval` runs\n\n\
It uses its own database (datapact_eval on the private cluster, or --database-url) and replaces\n\
its content for each seed."
)]
struct EvalArgs {
    /// Postgres to use (its content is replaced); unset: database datapact_eval on the private cluster.
    #[arg(long, env = "EVAL_DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
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
}

#[derive(Args)]
#[command(
    after_help = "Example:\n  datapact detect --input features.csv --label-column is_anomaly --out scores.csv\n\n\
Every numeric column except --label-column and --id-column is a feature; both directions of a\n\
deviation count. With a label column, PR-AUC and recall at 5% FPR are printed."
)]
struct DetectArgs {
    /// A CSV (with a header) or Parquet file.
    #[arg(long)]
    input: PathBuf,
    /// Where the scores go (CSV): row, score, top features.
    #[arg(long, default_value = "scores.csv")]
    out: PathBuf,
    /// A 0/1 column to evaluate against (not used for scoring).
    #[arg(long)]
    label_column: Option<String>,
    /// A column to carry through as the row's name.
    #[arg(long)]
    id_column: Option<String>,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact serve                              # http://127.0.0.1:8080/\n  \
    datapact serve --addr 0.0.0.0:8080 --no-chain\n\n\
Pages: / (overview), /assets, /assets/ID, /agreements, /consents, /anomalies, /actors/ADDR, /audit,\n\
/tx/HASH; each has a JSON twin under /api/..., and lists export as /export/VIEW.csv or .parquet.\n\
Every query runs in a read-only transaction.")]
struct ServeArgs {
    /// Postgres to read; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Where to listen (127.0.0.1 by default: the dashboard has no login).
    #[arg(
        long,
        env = "DATAPACT_DASHBOARD_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    addr: std::net::SocketAddr,
    /// The chain the overview and the audit page ask (head height, hash-chain verification).
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    rpc: String,
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    deployment: PathBuf,
    /// Do not ask the chain anything.
    #[arg(long)]
    no_chain: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact sentinel                        # follow new anomalies, report high and critical ones\n  \
    datapact sentinel --dry-run --once       # print what it would send, send nothing\n  \
    datapact sentinel --key-file sentinel.key --min-severity critical --rpc https://rpc.example:443\n\n\
The key (a BIP-39 mnemonic or a hex secp256k1 secret) comes from --key-file or DATAPACT_SENTINEL_KEY;\n\
on the local chain the funded `sentinel` account is the default. It is never printed or logged, and\n\
a key the audit contract does not know as a sentinel is refused at start.")]
struct SentinelArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Postgres holding the anomalies; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    key_index: u32,
    /// Report anomalies of at least this severity: low, medium, high, critical.
    #[arg(long, default_value = "high")]
    min_severity: String,
    /// Seconds between polls of the anomalies.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// At most this many reports per minute.
    #[arg(long, default_value_t = 30)]
    per_minute: u32,
    /// Print what would be sent; send and record nothing.
    #[arg(long)]
    dry_run: bool,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact respond ack 3\n  \
    datapact respond resolve 3 --resolution \"false positive: a planned migration\"\n  \
    datapact respond lift 3                  # lift the suspension alert 3 caused")]
struct RespondArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// ack, resolve or lift.
    action: String,
    /// The alert's sequence number (alert_seq).
    alert: u64,
    /// What the responder concluded (for resolve).
    #[arg(long, default_value = "resolved")]
    resolution: String,
    /// The responder's key (mnemonic or hex); DATAPACT_RESPONDER_KEY; the local `responder` by default.
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    key_index: u32,
}

/// A role's key: --key-file, else the env var, else the local chain's named account.
fn role_key(
    file: Option<&PathBuf>,
    index: u32,
    env: &str,
    local_name: &str,
    chain: &Chain,
) -> anyhow::Result<Wallet> {
    if let Some(path) = file {
        return Wallet::from_file(local_name, path, index);
    }
    if let Ok(secret) = std::env::var(env) {
        return Wallet::from_secret(local_name, &secret, index)
            .with_context(|| format!("{env} holds no usable key"));
    }
    if chain.chain_id == localnet::CHAIN_ID {
        return localnet_wallet(local_name);
    }
    anyhow::bail!(
        "chain {} is not the local chain: give the {local_name}'s key with --key-file FILE or {env}",
        chain.chain_id
    )
}

#[derive(Subcommand)]
enum LocalnetAction {
    /// Initialise (first time) and start the chain in the background; return when blocks come.
    Start,
    /// Stop the chain (its data stays).
    Stop,
    /// Stop the chain and delete its data.
    Reset,
    /// Is it running, and at which height?
    Status,
    /// List the funded test accounts (name, role, address); --mnemonic prints the public test
    /// mnemonic, for `wasmd keys add NAME --recover --index N`.
    Accounts {
        #[arg(long)]
        mnemonic: bool,
    },
}

#[derive(Args)]
struct ChainArgs {
    /// CometBFT RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    rpc: String,
    /// Gas price with its denom, e.g. 0.025udpt.
    #[arg(long, env = "GAS_PRICE", default_value = "0.025udpt")]
    gas_price: String,
    /// Where the deployment file is read and written.
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    deployment: PathBuf,
}

impl ChainArgs {
    async fn connect(&self) -> anyhow::Result<Chain> {
        let fees = FeePolicy::parse(&self.gas_price, 1.4).context("--gas-price")?;
        Chain::connect(&self.rpc, fees).await
    }
}

#[derive(Args)]
struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Folder with datapact_*.wasm and checksums.txt.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
    /// File holding the deployer's key: a BIP-39 mnemonic or a hex secp256k1 secret. Without it
    /// (and without DATAPACT_KEY) the local chain's `admin` account deploys.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// HD index for a mnemonic key.
    #[arg(long, default_value_t = 0)]
    key_index: u32,
    /// Sentinel addresses allowed to report alerts (default: the local `sentinel` account on the
    /// local chain, the deployer elsewhere).
    #[arg(long = "sentinel")]
    sentinels: Vec<String>,
    /// Responder addresses allowed to acknowledge and resolve alerts.
    #[arg(long = "responder")]
    responders: Vec<String>,
    /// Alerts at or above this severity suspend the subject: info, low, medium, high, critical.
    #[arg(long, default_value = "high")]
    suspend_threshold: String,
    /// Contract label prefix.
    #[arg(long, default_value = "datapact-")]
    label_prefix: String,
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

fn local_key_or(args_key: Option<&PathBuf>, index: u32, chain: &Chain) -> anyhow::Result<Wallet> {
    if let Some(path) = args_key {
        return Wallet::from_file("deployer", path, index);
    }
    if let Ok(secret) = std::env::var("DATAPACT_KEY") {
        return Wallet::from_secret("deployer", &secret, index)
            .context("DATAPACT_KEY holds no usable key");
    }
    if chain.chain_id == localnet::CHAIN_ID {
        return localnet_wallet("admin");
    }
    anyhow::bail!(
        "chain {} is not the local chain: give the deployer's key with --key-file FILE or DATAPACT_KEY",
        chain.chain_id
    )
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Localnet { action } => {
            let net = Localnet::from_env();
            match action {
                LocalnetAction::Start => {
                    net.start()?;
                    println!(
                        "local chain {} running at {}",
                        localnet::CHAIN_ID,
                        net.rpc_url()
                    );
                }
                LocalnetAction::Stop => {
                    if net.stop()? {
                        println!("local chain stopped");
                    } else {
                        println!("local chain was not running");
                    }
                }
                LocalnetAction::Reset => {
                    net.reset()?;
                    println!(
                        "local chain stopped and its data deleted ({})",
                        net.dir.display()
                    );
                }
                LocalnetAction::Status => match (net.running_pid(), net.height()) {
                    (Some(pid), Some(h)) => {
                        println!("running (pid {pid}) at {}, height {h}", net.rpc_url())
                    }
                    (Some(pid), None) => {
                        println!("process {pid} is up but its RPC does not answer yet")
                    }
                    _ => println!("not running"),
                },
                LocalnetAction::Accounts { mnemonic } => {
                    if mnemonic {
                        println!("{}", localnet_mnemonic());
                        return Ok(());
                    }
                    for (name, role, index) in localnet_accounts() {
                        let w = localnet_wallet(&name)?;
                        println!(
                            "{name:<12} {:<10} index {index:<3} {}",
                            format!("{role:?}").to_lowercase(),
                            w.addr()
                        );
                    }
                }
            }
        }
        Command::Deploy(args) => {
            let chain = args.chain.connect().await?;
            let wallet = local_key_or(args.key_file.as_ref(), args.key_index, &chain)?;
            let local = chain.chain_id == localnet::CHAIN_ID;
            let default_role = |name: &str| -> anyhow::Result<Vec<String>> {
                Ok(vec![if local {
                    localnet_wallet(name)?.addr()
                } else {
                    wallet.addr()
                }])
            };
            let sentinels = if args.sentinels.is_empty() {
                default_role("sentinel")?
            } else {
                args.sentinels
            };
            let responders = if args.responders.is_empty() {
                default_role("responder")?
            } else {
                args.responders
            };
            let suspend_threshold =
                serde_json::from_value(serde_json::Value::String(args.suspend_threshold.clone()))
                    .map_err(|_| {
                    anyhow::anyhow!(
                        "--suspend-threshold {:?}: use info, low, medium, high or critical",
                        args.suspend_threshold
                    )
                })?;
            let mut admin = Sender::load(&chain, wallet).await?;
            let previous = args
                .chain
                .deployment
                .exists()
                .then(|| Deployment::load(&args.chain.deployment))
                .transpose()?;
            let plan = DeployPlan {
                artifacts: args.artifacts,
                sentinels,
                responders,
                suspend_threshold,
                label_prefix: args.label_prefix,
            };
            let (deployment, report) = deploy(&chain, &mut admin, &plan, previous).await?;
            deployment.save(&args.chain.deployment)?;
            if report.changed() {
                for (c, id) in &report.stored {
                    println!("stored      {c:<11} code {id}");
                }
                for c in &report.instantiated {
                    println!("instantiated {c:<10} {}", deployment.contracts[c].address);
                }
                for (c, from, to) in &report.migrated {
                    println!("migrated    {c:<11} code {from} -> {to}");
                }
                if report.rewired {
                    println!("wired       agreements -> audit");
                }
            } else {
                println!("unchanged: the chain already runs these artifacts");
            }
            for (c, d) in &deployment.contracts {
                println!("{c:<11} code {:<3} {}", d.code_id, d.address);
            }
            println!("deployment written to {}", args.chain.deployment.display());
        }
        Command::Simulate(args) => {
            let chain = args.chain.connect().await?;
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
        }
        Command::Ingest(args) => {
            let chain = args.chain.connect().await?;
            let deployment = Deployment::load(&args.chain.deployment)?;
            let url = datapact::db::database_url(args.database_url.as_deref()).await?;
            let pool = datapact::db::connect(&url, 4).await?;
            let metrics = datapact::metrics::IngestMetrics::default();
            if !args.no_metrics {
                let mut registry = prometheus_client::registry::Registry::default();
                metrics.register(&mut registry);
                datapact::metrics::serve(args.metrics_addr, registry).await?;
            }
            let cfg = datapact::ingest::IngestConfig {
                from: args.from,
                to: args.to,
                follow: args.follow,
                concurrency: args.concurrency,
                batch_blocks: args.batch_blocks,
                progress: !args.quiet,
                metrics,
                on_commit: None,
            };
            let stats = tokio::select! {
                r = datapact::ingest::run(&pool, &chain, &deployment, &cfg) => r?,
                _ = tokio::signal::ctrl_c() => {
                    println!("interrupted: everything up to the checkpoint is committed; run again to resume");
                    return Ok(());
                }
            };
            println!(
                "ingested {} blocks up to height {} in {:.1} s: {} events, {} rows, {} events quarantined",
                stats.blocks,
                stats.last_height,
                stats.elapsed.as_secs_f64(),
                stats.events,
                stats.rows,
                stats.quarantined
            );
        }
        Command::Capture {
            chain,
            heights,
            out,
        } => {
            let chain = chain.connect().await?;
            std::fs::create_dir_all(&out)?;
            for h in heights {
                let (b, r) = datapact::chain::block_with_results(chain.rpc(), h).await?;
                let raw = datapact::ingest::raw_block(b, r);
                let path = out.join(format!("block-{h}.json"));
                std::fs::write(&path, serde_json::to_vec_pretty(&raw)?)?;
                println!("{} ({} txs)", path.display(), raw.txs.len());
            }
        }
        Command::Analyze(args) => {
            let started = std::time::Instant::now();
            let url = datapact::db::database_url(args.database_url.as_deref()).await?;
            let pool = datapact::db::connect(&url, 4).await?;
            let cfg = datapact::analytics::AnalyzeConfig {
                window: args.window,
                full: args.full,
                reports: args.reports,
                progress: !args.json,
                ..Default::default()
            };
            let a = datapact::analytics::analyze(&pool, &cfg, !args.dry_run).await?;
            if let Some(path) = &args.scores_out {
                datapact::analytics::eval::write_scores(path, &a)?;
            }
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "seconds": started.elapsed().as_secs_f64(),
                        "peak_mib": datapact::analytics::peak_rss_mib(),
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
                datapact::analytics::peak_rss_mib()
            );
            if let Some(dir) = &a.report_dir {
                println!("report: {}", dir.join("report.html").display());
            }
        }
        Command::Eval(args) => {
            let url = match args.database_url {
                Some(u) => u,
                None => {
                    datapact::db::PgCluster::from_env()
                        .fresh_database("datapact_eval")
                        .await?
                }
            };
            let pool = datapact::db::connect(&url, 4).await?;
            let synth = datapact::analytics::synth::SynthConfig {
                accesses: args.accesses,
                consumers: args.consumers,
                days: args.days,
                progress: false,
                labels: std::env::temp_dir().join("datapact-eval-labels.jsonl"),
                ..Default::default()
            };
            let cfg = datapact::analytics::AnalyzeConfig {
                window: Some(args.window),
                full: true,
                ..Default::default()
            };
            let results =
                datapact::analytics::eval::run(&pool, &args.seeds, &synth, &cfg, args.debug)
                    .await?;
            for r in &results {
                println!(
                    "seed {}: {} accesses, {} actor windows, analyzed in {:.1} s",
                    r.seed, r.accesses, r.units, r.analyze_seconds
                );
            }
            print!("{}", datapact::analytics::eval::summary(&results));
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
            }
        }
        Command::Detect(args) => {
            let report = datapact::analytics::detect::score_file(
                &args.input,
                &args.out,
                args.label_column.as_deref(),
                args.id_column.as_deref(),
            )?;
            println!("{report}");
        }
        Command::Serve(args) => {
            let url = datapact::db::database_url(args.database_url.as_deref()).await?;
            // the schema is brought up to date once, by a writer; the server itself only reads
            datapact::db::connect(&url, 1).await?.close().await;
            let pool = datapact::serve::read_only_pool(&url).await?;
            let chain = if args.no_chain {
                None
            } else {
                match Chain::connect(&args.rpc, FeePolicy::parse("0udpt", 1.0)?).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!("the dashboard runs without the chain: {e:#}");
                        None
                    }
                }
            };
            let deployment = Deployment::load(&args.deployment).ok();
            println!("dashboard at http://{}/", args.addr);
            datapact::serve::serve(
                args.addr,
                datapact::serve::AppState {
                    pool,
                    chain,
                    deployment,
                },
            )
            .await?;
        }
        Command::Sentinel(args) => {
            let chain = args.chain.connect().await?;
            let deployment = Deployment::load(&args.chain.deployment)?;
            let wallet = role_key(
                args.key_file.as_ref(),
                args.key_index,
                "DATAPACT_SENTINEL_KEY",
                "sentinel",
                &chain,
            )?;
            let cfg = datapact::sentinel::SentinelConfig {
                min_severity: datapact::sentinel::parse_severity(&args.min_severity)?,
                interval: std::time::Duration::from_secs_f64(args.interval.max(0.1)),
                per_minute: args.per_minute.max(1),
                dry_run: args.dry_run,
                once: args.once,
            };
            let url = datapact::db::database_url(args.database_url.as_deref()).await?;
            let pool = datapact::db::connect(&url, 2).await?;
            let mut sentinel =
                datapact::sentinel::Sentinel::new(chain, &deployment, wallet, cfg).await?;
            tracing::info!("sentinel {} watching the anomalies", sentinel.address());
            let stats = tokio::select! {
                r = sentinel.run(&pool) => r?,
                _ = tokio::signal::ctrl_c() => {
                    println!("interrupted: every report sent is recorded or pending (settled at the next start)");
                    return Ok(());
                }
            };
            println!(
                "sentinel: {} reported, {} recovered after a crash, {} dry-run, {} waiting for the rate limit",
                stats.reported, stats.recovered, stats.dry_run, stats.waiting
            );
        }
        Command::Respond(args) => {
            let chain = args.chain.connect().await?;
            let deployment = Deployment::load(&args.chain.deployment)?;
            let wallet = role_key(
                args.key_file.as_ref(),
                args.key_index,
                "DATAPACT_RESPONDER_KEY",
                "responder",
                &chain,
            )?;
            let action = match args.action.as_str() {
                "ack" | "acknowledge" => datapact::sentinel::Response::Acknowledge,
                "resolve" => datapact::sentinel::Response::Resolve(args.resolution),
                "lift" => datapact::sentinel::Response::Lift,
                other => anyhow::bail!("{other:?}: the action is ack, resolve or lift"),
            };
            let o = datapact::sentinel::respond(&chain, &deployment, wallet, args.alert, action)
                .await?;
            println!("done in tx {} at height {}", o.hash, o.height);
        }
        Command::Synth(args) => {
            let url = datapact::db::database_url(args.database_url.as_deref()).await?;
            let pool = datapact::db::connect(&url, 4).await?;
            datapact::db::truncate_all(&pool).await?;
            let cfg = datapact::analytics::synth::SynthConfig {
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
            let s = datapact::analytics::synth::run(&pool, &cfg).await?;
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
        }
        Command::Postgres { action } => {
            let cluster = datapact::db::PgCluster::from_env();
            match action {
                PostgresAction::Start => println!("{}", cluster.ensure_running().await?),
                PostgresAction::Stop => {
                    if cluster.stop()? {
                        println!("Postgres stopped");
                    } else {
                        println!("Postgres was not running");
                    }
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
