//! Commands for the index: ingest, capture fixtures, the private Postgres.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ChainArgs;
use datapact_chain::Deployment;
use datapact_index::db;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact ingest                      # backfill into the private Postgres, then stop\n  \
    datapact ingest --follow             # and keep following the head\n  \
    datapact ingest --from 1200 --to 1300 # re-ingest a range (idempotent)\n  \
    DATABASE_URL=postgres://u:p@db/datapact datapact ingest --follow")]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Postgres to write to; unset: the private cluster under .data/postgres (started if needed).
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// First height (default: after the checkpoint, or the deployment's first block).
    #[arg(long)]
    pub(crate) from: Option<u64>,
    /// Last height (default: the head).
    #[arg(long)]
    pub(crate) to: Option<u64>,
    /// After the backfill, follow new blocks until interrupted.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Blocks fetched in parallel.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Most blocks per write transaction (a batch also closes at 20,000 rows).
    #[arg(long, default_value_t = 2000)]
    pub(crate) batch_blocks: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics (height, lag, events, quarantined,
    /// errors).
    #[arg(long, env = "DATAPACT_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub(crate) metrics_addr: std::net::SocketAddr,
    /// Do not serve metrics.
    #[arg(long)]
    pub(crate) no_metrics: bool,
    /// No progress bar (logs only).
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Subcommand)]
pub(crate) enum PostgresAction {
    /// Create (first time) and start it; print its URL.
    Start,
    /// Stop it (its data stays).
    Stop,
}

pub(crate) async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    let url = db::database_url(args.database_url.as_deref()).await?;
    let pool = db::connect(&url, 4).await?;
    let metrics = datapact_index::metrics::IngestMetrics::default();
    if !args.no_metrics {
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        crate::metrics::serve(args.metrics_addr, registry).await?;
    }
    let cfg = datapact_index::IngestConfig {
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
        r = datapact_index::ingest::run(&pool, &chain, &deployment, &cfg) => r?,
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
    Ok(())
}

pub(crate) async fn capture(
    chain: ChainArgs,
    heights: Vec<u64>,
    out: PathBuf,
) -> anyhow::Result<()> {
    let chain = chain.connect().await?;
    std::fs::create_dir_all(&out)?;
    for h in heights {
        let (b, r) = datapact_chain::block_with_results(chain.rpc(), h).await?;
        let raw = datapact_index::source::raw_block(b, r);
        let path = out.join(format!("block-{h}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&raw)?)?;
        println!("{} ({} txs)", path.display(), raw.txs.len());
    }
    Ok(())
}

pub(crate) async fn postgres(action: PostgresAction) -> anyhow::Result<()> {
    let cluster = db::PgCluster::from_env();
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
    Ok(())
}
