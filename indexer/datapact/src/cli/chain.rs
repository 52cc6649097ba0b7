//! Commands for the chain: the local chain and deployment.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::ChainArgs;
use datapact_chain::deploy::{deploy as run_deploy, DeployPlan, Deployment};
use datapact_chain::keys::{localnet_accounts, localnet_mnemonic, localnet_wallet, Wallet};
use datapact_chain::localnet::{self, Localnet};
use datapact_chain::tx::Sender;
use datapact_chain::Chain;

#[derive(Subcommand)]
pub(crate) enum LocalnetAction {
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
pub(crate) struct DeployArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Folder with datapact_*.wasm and checksums.txt.
    #[arg(long, default_value = "artifacts")]
    pub(crate) artifacts: PathBuf,
    /// File holding the deployer's key: a BIP-39 mnemonic or a hex secp256k1 secret. Without it
    /// (and without DATAPACT_KEY) the local chain's `admin` account deploys.
    #[arg(long)]
    pub(crate) key_file: Option<PathBuf>,
    /// HD index for a mnemonic key.
    #[arg(long, default_value_t = 0)]
    pub(crate) key_index: u32,
    /// Sentinel addresses allowed to report alerts (default: the local `sentinel` account on the
    /// local chain, the deployer elsewhere).
    #[arg(long = "sentinel")]
    pub(crate) sentinels: Vec<String>,
    /// Responder addresses allowed to acknowledge and resolve alerts.
    #[arg(long = "responder")]
    pub(crate) responders: Vec<String>,
    /// Alerts at or above this severity suspend the subject: info, low, medium, high, critical.
    #[arg(long, default_value = "high")]
    pub(crate) suspend_threshold: String,
    /// Contract label prefix.
    #[arg(long, default_value = "datapact-")]
    pub(crate) label_prefix: String,
}

pub(crate) fn local_key_or(
    args_key: Option<&PathBuf>,
    index: u32,
    chain: &Chain,
) -> anyhow::Result<Wallet> {
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

pub(crate) async fn localnet(action: LocalnetAction) -> anyhow::Result<()> {
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
    Ok(())
}

pub(crate) async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
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
    let suspend_threshold = serde_json::from_value(serde_json::Value::String(
        args.suspend_threshold.clone(),
    ))
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
    let (deployment, report) = run_deploy(&chain, &mut admin, &plan, previous).await?;
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
    Ok(())
}
