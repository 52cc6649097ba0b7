//! The data plane's commands: who signs (keys), where ciphertext lives, the gateway; the
//! provider's, consumer's and subject's commands are in `provider.rs`, `consumer.rs` and
//! `subject.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use datapact_chain::keys::{localnet_accounts, localnet_wallet, Wallet};
use datapact_chain::tx::Sender;
use datapact_chain::{localnet, Chain, Deployment};
use datapact_gateway::{Gateway, GatewayConfig, GatewayMetrics, Store};
use datapact_index::db;
use serde::Serialize;

use super::ChainArgs;

/// Who signs: a key file, an env var, or (on the local chain) a named local account.
#[derive(Args, Clone)]
pub(crate) struct KeyArgs {
    /// The participant's chain key: a file holding a BIP-39 mnemonic or a hex secp256k1 secret.
    /// Else DATAPACT_KEY holds it. Never printed.
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    key_index: u32,
    /// On the local chain only: act as this funded account (provider-0 .. provider-7,
    /// consumer-0 .. consumer-15, subject-0 ..), by name or by address.
    #[arg(long = "as", value_name = "ACCOUNT")]
    account: Option<String>,
}

impl KeyArgs {
    pub(crate) fn wallet(&self, chain: &Chain) -> anyhow::Result<Wallet> {
        if let Some(path) = &self.key_file {
            return Wallet::from_file("participant", path, self.key_index);
        }
        if let Ok(secret) = std::env::var("DATAPACT_KEY") {
            return Wallet::from_secret("participant", &secret, self.key_index)
                .context("DATAPACT_KEY holds no usable key");
        }
        match &self.account {
            Some(name) if chain.chain_id == localnet::CHAIN_ID => {
                if name.starts_with(&chain.prefix) {
                    // a local account named by its address
                    for (n, _, _) in localnet_accounts() {
                        let w = localnet_wallet(&n)?;
                        if w.addr() == *name {
                            return Ok(w);
                        }
                    }
                    anyhow::bail!("{name} is not one of the local chain's accounts");
                }
                localnet_wallet(name)
            }
            Some(_) => anyhow::bail!(
                "--as names a local account, and chain {} is not the local chain: give --key-file or DATAPACT_KEY",
                chain.chain_id
            ),
            None => anyhow::bail!(
                "no key: give --key-file FILE, set DATAPACT_KEY, or on the local chain --as provider-0 (or another account)"
            ),
        }
    }

    pub(crate) async fn sender(&self, chain: &Chain) -> anyhow::Result<Sender> {
        Sender::load(chain, self.wallet(chain)?).await
    }
}

/// Where ciphertext lives (shared by the provider's commands and the gateway).
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    #[arg(long, env = "DATAPACT_STORE", default_value = ".data/store")]
    pub(crate) store: PathBuf,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact gateway                                   # http://127.0.0.1:8090, store .data/store\n  \
    datapact gateway --gateway-id eu-1 --addr 0.0.0.0:8090 --metrics-addr 127.0.0.1:9192\n\n\
GET /v1/assets/ASSET/versions/VERSION with `Authorization: DataPact <base64 AccessProof JSON>`\n\
(`datapact consumer fetch` makes one). Redemptions go to Postgres (DATABASE_URL, else the private\n\
cluster), so gateways sharing a database redeem each record_access transaction once between them.")]
pub(crate) struct GatewayArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, env = "DATAPACT_GATEWAY_ADDR", default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// This gateway's name: proofs must name it (a proof for another gateway is refused).
    #[arg(long, env = "DATAPACT_GATEWAY_ID", default_value = "gateway-local")]
    gateway_id: String,
    /// The longest a proof may live, in seconds.
    #[arg(long, default_value_t = 300)]
    max_proof_seconds: u64,
    /// The oldest record_access transaction redeemed, in seconds.
    #[arg(long, default_value_t = 900)]
    max_record_seconds: u64,
    /// Prometheus metrics (`GET /metrics`) on this address.
    #[arg(
        long,
        env = "DATAPACT_GATEWAY_METRICS_ADDR",
        default_value = "127.0.0.1:9192"
    )]
    metrics_addr: SocketAddr,
    #[arg(long)]
    no_metrics: bool,
    /// Serve only versions a quality checker at this address attested as passing
    /// (`datapact quality --attest`); repeat to trust several.
    #[arg(long = "require-quality", value_name = "ATTESTOR")]
    require_quality: Vec<String>,
}

pub(crate) fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human(value));
    }
    Ok(())
}

pub(crate) async fn gateway(args: GatewayArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    let url = db::database_url(args.database_url.as_deref()).await?;
    let pool = db::connect(&url, 8).await?;
    let metrics = GatewayMetrics::default();
    if !args.no_metrics {
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let addr = args.metrics_addr;
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(addr, registry).await {
                tracing::error!("metrics: {e:#}");
            }
        });
    }
    let g = Arc::new(Gateway {
        config: GatewayConfig {
            gateway_id: args.gateway_id.clone(),
            agreements: deployment.address("agreements")?.to_string(),
            consent: deployment.address("consent")?.to_string(),
            registry: deployment.address("registry")?.to_string(),
            max_proof_seconds: args.max_proof_seconds,
            max_record_seconds: args.max_record_seconds,
            require_quality: args.require_quality.clone(),
        },
        chain,
        pool,
        store: Store::new(&args.store.store),
        metrics,
    });
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is the port taken? (--addr)",
                args.addr
            )
        })?;
    println!(
        "gateway {} at http://{}/ serving {}",
        args.gateway_id,
        args.addr,
        args.store.store.display()
    );
    axum::serve(listener, datapact_gateway::router(g))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}
