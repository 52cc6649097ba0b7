//! Commands that run beside the chain: the dashboard, the sentinel, the responders.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::ChainArgs;
use datapact_chain::keys::{localnet_wallet, Wallet};
use datapact_chain::localnet;
use datapact_chain::{Chain, Deployment, FeePolicy};
use datapact_index::db;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact serve                              # http://127.0.0.1:8080/\n  \
    datapact serve --addr 0.0.0.0:8080 --no-chain\n\n\
Pages: / (overview), /assets, /assets/ID, /agreements, /consents, /anomalies, /actors/ADDR, /audit,\n\
/tx/HASH; each has a JSON twin under /api/..., and lists export as /export/VIEW.csv or .parquet.\n\
Every query runs in a read-only transaction.")]
pub(crate) struct ServeArgs {
    /// Postgres to read, ideally as a read-only role: the schema must be current (run
    /// `datapact ingest` once as a writer); unset: the private cluster, as its read-only role
    /// datapact_reader.
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Where to listen (127.0.0.1 by default: the dashboard has no login).
    #[arg(
        long,
        env = "DATAPACT_DASHBOARD_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub(crate) addr: std::net::SocketAddr,
    /// The chain the overview and the audit page ask (head height, hash-chain verification).
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    pub(crate) rpc: String,
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    pub(crate) deployment: PathBuf,
    /// Do not ask the chain anything.
    #[arg(long)]
    pub(crate) no_chain: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact sentinel                        # follow new anomalies, report medium severity and above\n  \
    datapact sentinel --dry-run --once       # print what it would send, send nothing\n  \
    datapact sentinel --key-file sentinel.key --min-severity critical --rpc https://rpc.example:443\n\n\
The key (a BIP-39 mnemonic or a hex secp256k1 secret) comes from --key-file or DATAPACT_SENTINEL_KEY;\n\
on the local chain the funded `sentinel` account is the default. It is never printed or logged, and\n\
a key the audit contract does not know as a sentinel is refused at start.")]
pub(crate) struct SentinelArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Postgres holding the anomalies; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    #[arg(long)]
    pub(crate) key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub(crate) key_index: u32,
    /// Report anomalies of at least this severity: low, medium, high, critical.
    #[arg(long, default_value = datapact_analytics::SENTINEL_DEFAULT_SEVERITY)]
    pub(crate) min_severity: String,
    /// Seconds between polls of the anomalies.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) interval: f64,
    /// At most this many reports per minute.
    #[arg(long, default_value_t = 30)]
    pub(crate) per_minute: u32,
    /// Print what would be sent; send and record nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// One pass, then exit.
    #[arg(long)]
    pub(crate) once: bool,
    /// Also report anomalies of runs not anchored on chain (by default only anchored runs'
    /// anomalies are reported, so every alert's evidence points into a verifiable run).
    #[arg(long)]
    pub(crate) unanchored: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact respond ack 3\n  \
    datapact respond resolve 3 --resolution \"false positive: a planned migration\"\n  \
    datapact respond resolve 3 --false-positive --resolution \"an export the provider agreed to\"\n  \
    datapact respond lift 3                  # lift the suspension alert 3 caused")]
pub(crate) struct RespondArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// ack, resolve or lift.
    pub(crate) action: String,
    /// The alert's sequence number (alert_seq).
    pub(crate) alert: u64,
    /// What the responder concluded (for resolve).
    #[arg(long, default_value = "resolved")]
    pub(crate) resolution: String,
    /// For resolve: the alert was wrong. The resolution is recorded as "false positive: …", and
    /// the sentinel does not report the same actor and kind for 7 days (the dashboard counts it
    /// in the measured precision of past alerts).
    #[arg(long)]
    pub(crate) false_positive: bool,
    /// The responder's key (mnemonic or hex); DATAPACT_RESPONDER_KEY; the local `responder` by default.
    #[arg(long)]
    pub(crate) key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub(crate) key_index: u32,
}

/// A role's key: --key-file, else the env var, else the local chain's named account.
pub(crate) fn role_key(
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

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // the server only reads: on the private cluster its owner brings the schema up to date and
    // the dashboard connects as the read-only role the migrations created; a given DATABASE_URL
    // (a read-only role, ideally) must already hold the current schema
    let read_url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let owner = db::database_url(None).await?;
            db::connect(&owner, 1).await?.close().await;
            db::PgCluster::from_env().reader_url()
        }
    };
    let pool = crate::serve::read_only_pool(&read_url).await?;
    db::check_schema(&pool).await?;
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
    crate::serve::serve(
        args.addr,
        crate::serve::AppState {
            pool,
            chain,
            deployment,
        },
    )
    .await?;
    Ok(())
}

pub(crate) async fn sentinel(args: SentinelArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    let wallet = role_key(
        args.key_file.as_ref(),
        args.key_index,
        "DATAPACT_SENTINEL_KEY",
        "sentinel",
        &chain,
    )?;
    let cfg = crate::sentinel::SentinelConfig {
        min_severity: crate::sentinel::parse_severity(&args.min_severity)?,
        interval: std::time::Duration::from_secs_f64(args.interval.max(0.1)),
        per_minute: args.per_minute.max(1),
        dry_run: args.dry_run,
        once: args.once,
        require_anchor: !args.unanchored,
    };
    let url = db::database_url(args.database_url.as_deref()).await?;
    let pool = db::connect(&url, 2).await?;
    let mut sentinel = crate::sentinel::Sentinel::new(chain, &deployment, wallet, cfg).await?;
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
    Ok(())
}

pub(crate) async fn respond(args: RespondArgs) -> anyhow::Result<()> {
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
        "ack" | "acknowledge" => crate::sentinel::Response::Acknowledge,
        "resolve" if args.false_positive => crate::sentinel::Response::Resolve(format!(
            "{}: {}",
            datapact_analytics::feedback::FALSE_POSITIVE,
            args.resolution
        )),
        "resolve" => crate::sentinel::Response::Resolve(args.resolution),
        _ if args.false_positive => {
            anyhow::bail!("--false-positive goes with resolve: `datapact respond resolve {} --false-positive --resolution \"why\"`", args.alert)
        }
        "lift" => crate::sentinel::Response::Lift,
        other => anyhow::bail!("{other:?}: the action is ack, resolve or lift"),
    };
    let o = crate::sentinel::respond(&chain, &deployment, wallet, args.alert, action).await?;
    println!("done in tx {} at height {}", o.hash, o.height);
    Ok(())
}
