//! Harness for the end-to-end tests: a real single-node wasmd chain (started, or reused when
//! already running) under `.data/e2e/`, with the committed artifacts deployed on it.
//!
//! The chain listens on 127.0.0.1:36657 (override with `E2E_RPC_PORT`), apart from the
//! developer's own `make localnet` on 26657. Tests take [`lock`] so they never race for the
//! same accounts' sequence numbers.

pub mod deal;
pub mod pipeline;
pub mod plane;
pub mod webdriver;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;

use datapact_chain::deploy::{deploy, DeployPlan, DeployReport, Deployment};
use datapact_chain::keys::localnet_wallet;
use datapact_chain::localnet::{self, default_wasmd, Localnet};
use datapact_chain::tx::{execute_msg, Sender, TxOutcome};
use datapact_chain::{Chain, FeePolicy};
use datapact_types::Severity;

static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Serialises the tests: they share the chain and its accounts.
pub async fn lock() -> tokio::sync::MutexGuard<'static, ()> {
    LOCK.lock().await
}

/// The checkout the tests run in: the package folder cargo names at run time (a test binary
/// reused from another checkout that shares the target dir must not use that one's folders).
pub fn workspace_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Gas for test transactions: fixed, so a transaction expected to fail is still sent.
pub const GAS: u64 = 900_000;

pub struct Ctx {
    pub chain: Chain,
    pub d: Deployment,
    pub net: Localnet,
    pub deployment_path: PathBuf,
}

impl Ctx {
    pub fn addr(&self, name: &str) -> String {
        localnet_wallet(name).map(|w| w.addr()).unwrap_or_default()
    }

    pub fn contract(&self, c: &str) -> String {
        self.d.address(c).map(str::to_string).unwrap_or_default()
    }

    /// Sends one execute message from a local account and waits for its block.
    pub async fn exec<M: Serialize>(
        &self,
        from: &str,
        contract: &str,
        msg: &M,
        funds: &[(u128, &str)],
    ) -> anyhow::Result<TxOutcome> {
        let mut s = Sender::load(&self.chain, localnet_wallet(from)?).await?;
        let any = execute_msg(&s.addr(), &self.contract(contract), msg, funds)?;
        s.exec(&self.chain, vec![any], GAS).await
    }

    /// Like [`Ctx::exec`], and fails unless the transaction succeeded.
    pub async fn ok<M: Serialize>(
        &self,
        from: &str,
        contract: &str,
        msg: &M,
        funds: &[(u128, &str)],
    ) -> anyhow::Result<TxOutcome> {
        Ok(self.exec(from, contract, msg, funds).await?.into_ok()?)
    }

    pub async fn query<Q: Serialize, R: DeserializeOwned>(
        &self,
        contract: &str,
        q: &Q,
    ) -> anyhow::Result<R> {
        self.chain.smart(&self.contract(contract), q).await
    }

    /// The fee a transaction paid: its gas limit at the chain's gas price.
    pub fn fee(&self, o: &TxOutcome) -> u128 {
        self.chain.fees.fee_for(o.gas_wanted as u64)
    }

    pub async fn deploy_again(&self) -> anyhow::Result<(Deployment, DeployReport)> {
        deploy_with(&self.chain, &self.deployment_path).await
    }
}

fn fees() -> FeePolicy {
    FeePolicy {
        denom: localnet::DENOM.to_string(),
        gas_price: localnet::GAS_PRICE,
        adjustment: 1.4,
    }
}

async fn deploy_with(chain: &Chain, path: &Path) -> anyhow::Result<(Deployment, DeployReport)> {
    let mut admin = Sender::load(chain, localnet_wallet("admin")?).await?;
    let plan = DeployPlan {
        artifacts: workspace_root().join("artifacts"),
        sentinels: vec![localnet_wallet("sentinel")?.addr()],
        responders: vec![localnet_wallet("responder")?.addr()],
        suspend_threshold: Severity::High,
        label_prefix: "datapact-".into(),
    };
    let previous = path.exists().then(|| Deployment::load(path)).transpose()?;
    let (d, report) = deploy(chain, &mut admin, &plan, previous).await?;
    d.save(path)?;
    Ok((d, report))
}

/// Starts (or reuses) the test chain and deploys the committed artifacts on it.
pub async fn setup() -> anyhow::Result<Ctx> {
    let port = std::env::var("E2E_RPC_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(36657);
    let dir = workspace_root().join(".data/e2e");
    let net = Localnet::new(default_wasmd(), dir.join("localnet"), port);
    let starter = net.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .context("the localnet starter panicked")?
        .context("starting the test chain (build wasmd with `make wasmd`)")?;
    let chain = Chain::connect(&net.rpc_url(), fees()).await?;
    let deployment_path = dir.join("deployment.json");
    let (d, _) = deploy_with(&chain, &deployment_path).await?;
    Ok(Ctx {
        chain,
        d,
        net,
        deployment_path,
    })
}

/// The tests' own Postgres cluster: `.data/e2e/postgres` on 127.0.0.1:55433 (`E2E_PG_PORT`).
pub fn pg_cluster() -> datapact_index::db::PgCluster {
    let port = std::env::var("E2E_PG_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(55433);
    datapact_index::db::PgCluster::new(workspace_root().join(".data/e2e/postgres"), port)
}

/// A freshly created database `name` on the tests' cluster (started or reused). Returns its URL.
pub async fn fresh_database(name: &str) -> anyhow::Result<String> {
    pg_cluster().fresh_database(name).await
}

/// The `datapact` binary of this build. Cargo builds it beside the tests only for its own
/// package's tests, so it is built here (once per test process): a binary left by an older
/// build of this target dir would lack today's commands.
pub fn datapact_bin() -> anyhow::Result<PathBuf> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| build_datapact().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

fn build_datapact() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> -> target/<profile>/datapact
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("datapact"))
        .context("no target folder above the test binary")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--locked", "--workspace", "--bins"])
        .current_dir(workspace_root());
    // cargo gives a test process its package's CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...; build
    // scripts (ring's, through polars) rerun when those differ from the outer build's, which
    // would rebuild half the dependency tree: build as `make bin` does, without them
    // (how to build stays: with CARGO_INCREMENTAL=0 removed, this build rebuilt the workspace's
    // libraries in place with incremental on, and the doctests that ran after it found
    // libraries that no longer matched theirs: "can't find crate for `datapact_chain`")
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        let keep = [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "CARGO_INCREMENTAL",
        ];
        let how = k.starts_with("CARGO_BUILD_") || k.starts_with("CARGO_PROFILE_");
        if k.starts_with("CARGO_") && !keep.contains(&k.as_str()) && !how {
            cmd.env_remove(&k);
        }
    }
    let status = cmd.status()?;
    anyhow::ensure!(status.success(), "building the datapact binary failed");
    anyhow::ensure!(bin.is_file(), "cargo built no binary at {}", bin.display());
    Ok(bin)
}

/// A 64-hex-character hash of `text`, for content and evidence hashes.
pub fn hash_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
