//! The local single-node wasmd chain: initialise, start in the background, stop, reset.
//!
//! Everything lives under one data folder (default `.data/localnet`): the node's home, its log
//! and its pid file. Blocks come every few hundred milliseconds; RPC, gRPC and REST listen on
//! 127.0.0.1 only. The named test accounts of [`crate::keys`] are funded in genesis.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::keys::{localnet_accounts, localnet_mnemonic, Wallet};

pub const CHAIN_ID: &str = "datapact-local-1";
pub const DENOM: &str = "udpt";
/// Local fees: real enough to show up in balances, negligible against the funding.
pub const GAS_PRICE: f64 = 0.025;
const ACCOUNT_FUNDS: u128 = 1_000_000_000_000;
const VALIDATOR_STAKE: u128 = 100_000_000_000;

/// Where and how the local chain runs.
#[derive(Clone, Debug)]
pub struct Localnet {
    pub wasmd: PathBuf,
    pub dir: PathBuf,
    pub rpc_port: u16,
    pub p2p_port: u16,
    pub grpc_port: u16,
    pub api_port: u16,
    /// CometBFT `timeout_commit`, e.g. "300ms"
    pub block_time: String,
}

impl Localnet {
    /// Defaults, overridable by env: `WASMD` (binary), `DATAPACT_DATA` (data folder, default
    /// `.data`), `DATAPACT_RPC_PORT` (default 26657; see [`Localnet::new`] for the other ports).
    pub fn from_env() -> Self {
        let rpc_port: u16 = std::env::var("DATAPACT_RPC_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(26657);
        let data = std::env::var_os("DATAPACT_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".data"));
        Self::new(default_wasmd(), data.join("localnet"), rpc_port)
    }

    /// A chain in `dir` with its RPC on `rpc_port`: P2P one below, gRPC and REST at the same
    /// offset from 9090 and 1317.
    pub fn new(wasmd: PathBuf, dir: PathBuf, rpc_port: u16) -> Self {
        let offset = rpc_port.wrapping_sub(26657);
        Self {
            wasmd,
            dir,
            rpc_port,
            p2p_port: rpc_port.wrapping_sub(1),
            grpc_port: 9090u16.wrapping_add(offset),
            api_port: 1317u16.wrapping_add(offset),
            block_time: std::env::var("DATAPACT_BLOCK_TIME").unwrap_or_else(|_| "300ms".into()),
        }
    }

    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("wasmd.pid")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("wasmd.log")
    }

    fn lib_dir(&self) -> Option<PathBuf> {
        // build-wasmd.sh keeps libwasmvm beside the binary: <cache>/wasmd-v…/{bin,lib}
        self.wasmd.parent()?.parent().map(|p| p.join("lib"))
    }

    fn wasmd_cmd(&self) -> Command {
        let mut c = Command::new(&self.wasmd);
        if let Some(lib) = self.lib_dir().filter(|d| d.is_dir()) {
            let mut paths = vec![lib];
            if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
                paths.extend(std::env::split_paths(&old));
            }
            if let Ok(joined) = std::env::join_paths(paths) {
                c.env("LD_LIBRARY_PATH", joined);
            }
        }
        c.arg("--home").arg(self.home());
        c
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut cmd = self.wasmd_cmd();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", self.wasmd.display()))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "`wasmd {}` failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    fn check_binary(&self) -> anyhow::Result<()> {
        if !self.wasmd.is_file() {
            bail!(
                "wasmd not found at {}: run `make wasmd` to build it (or set WASMD to a wasmd v0.61 binary)",
                self.wasmd.display()
            );
        }
        self.run(&["version"], None)
            .with_context(|| format!("{} does not run", self.wasmd.display()))?;
        Ok(())
    }

    /// The pid of the running node, if its pid file names a live process.
    pub fn running_pid(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    fn ports(&self) -> [(u16, &'static str); 4] {
        [
            (self.rpc_port, "RPC"),
            (self.p2p_port, "P2P"),
            (self.grpc_port, "gRPC"),
            (self.api_port, "REST"),
        ]
    }

    fn check_ports(&self) -> anyhow::Result<()> {
        for (port, what) in self.ports() {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "port {port} ({what}) on 127.0.0.1 is taken: another node or program uses it.\n  \
                     Stop it, or move the local chain with DATAPACT_RPC_PORT=<port> (the other ports follow)."
                );
            }
        }
        Ok(())
    }

    fn initialized(&self) -> bool {
        self.home().join("config/genesis.json").is_file()
    }

    /// Creates the node's home: genesis with the funded test accounts and one validator.
    pub fn init(&self) -> anyhow::Result<()> {
        let home = self.home();
        fs::create_dir_all(&self.dir)?;
        self.run(
            &[
                "init",
                "datapact-local",
                "--chain-id",
                CHAIN_ID,
                "--default-denom",
                DENOM,
            ],
            None,
        )?;
        // the validator's key lives in the node's test keyring; it signs nothing else
        self.run(
            &["keys", "add", "validator", "--keyring-backend", "test"],
            None,
        )?;
        let funds = ACCOUNT_FUNDS.to_string();
        self.run(
            &[
                "genesis",
                "add-genesis-account",
                "validator",
                &format!("{}{DENOM}", VALIDATOR_STAKE * 2),
                "--keyring-backend",
                "test",
            ],
            None,
        )?;
        let phrase = localnet_mnemonic();
        let accounts = localnet_accounts()
            .into_iter()
            .map(|(name, _, index)| {
                let w = Wallet::from_mnemonic(&name, &phrase, index)?;
                Ok(json!({"address": w.addr(), "coins": [{"denom": DENOM, "amount": funds}]}))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let bulk = self.dir.join("genesis-accounts.json");
        fs::write(&bulk, serde_json::to_vec_pretty(&accounts)?)?;
        let bulk_arg = bulk.to_string_lossy().to_string();
        self.run(&["genesis", "bulk-add-genesis-account", &bulk_arg], None)?;
        self.run(
            &[
                "genesis",
                "gentx",
                "validator",
                &format!("{VALIDATOR_STAKE}{DENOM}"),
                "--chain-id",
                CHAIN_ID,
                "--keyring-backend",
                "test",
            ],
            None,
        )?;
        self.run(&["genesis", "collect-gentxs"], None)?;
        self.configure(&home)?;
        self.run(&["genesis", "validate"], None)?;
        Ok(())
    }

    fn configure(&self, home: &Path) -> anyhow::Result<()> {
        let local = |port: u16| format!("tcp://127.0.0.1:{port}");
        edit_toml(&home.join("config/config.toml"), |doc| {
            doc["rpc"]["laddr"] = toml_edit::value(local(self.rpc_port));
            doc["rpc"]["pprof_laddr"] = toml_edit::value("");
            doc["rpc"]["max_body_bytes"] = toml_edit::value(10_000_000i64);
            doc["p2p"]["laddr"] = toml_edit::value(local(self.p2p_port));
            doc["consensus"]["timeout_commit"] = toml_edit::value(self.block_time.as_str());
            doc["consensus"]["timeout_propose"] = toml_edit::value("1s");
            doc["mempool"]["size"] = toml_edit::value(20_000i64);
            doc["mempool"]["max_txs_bytes"] = toml_edit::value(1_073_741_824i64);
            doc["tx_index"]["indexer"] = toml_edit::value("kv");
        })?;
        edit_toml(&home.join("config/app.toml"), |doc| {
            doc["minimum-gas-prices"] = toml_edit::value(format!("{GAS_PRICE}{DENOM}"));
            // the indexer reads every block from the start: keep them all
            doc["pruning"] = toml_edit::value("nothing");
            doc["api"]["enable"] = toml_edit::value(true);
            doc["api"]["address"] = toml_edit::value(local(self.api_port));
            doc["grpc"]["address"] = toml_edit::value(format!("127.0.0.1:{}", self.grpc_port));
        })?;
        Ok(())
    }

    /// Starts the node (initialising it on first use) and returns once blocks are produced.
    /// An already running node is reused.
    pub fn start(&self) -> anyhow::Result<()> {
        if let Some(pid) = self.running_pid() {
            tracing::info!(
                "the local chain is already running (pid {pid}) at {}",
                self.rpc_url()
            );
            return self.wait_for_blocks(Duration::from_secs(30));
        }
        self.check_binary()?;
        self.check_ports()?;
        if !self.initialized() {
            tracing::info!("initialising the local chain in {}", self.home().display());
            if self.home().exists() {
                fs::remove_dir_all(self.home())?;
            }
            self.init()?;
        }
        let log = fs::File::create(self.log_file())
            .with_context(|| format!("cannot write {}", self.log_file().display()))?;
        let mut cmd = self.wasmd_cmd();
        cmd.arg("start")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        {
            use std::os::unix::process::CommandExt;
            // its own process group: the node outlives the command that started it
            cmd.process_group(0);
        }
        let child = cmd.spawn().context("cannot start wasmd")?;
        fs::write(self.pid_file(), child.id().to_string())?;
        tracing::info!(
            "wasmd started (pid {}), log: {}",
            child.id(),
            self.log_file().display()
        );
        self.wait_for_blocks(Duration::from_secs(90))
    }

    fn wait_for_blocks(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut first: Option<u64> = None;
        loop {
            if self.running_pid().is_none() {
                bail!(
                    "wasmd exited during start-up; the end of its log ({}):\n{}",
                    self.log_file().display(),
                    tail(&self.log_file(), 25)
                );
            }
            if let Some(h) = self.height() {
                match first {
                    Some(f) if h > f => {
                        tracing::info!(
                            "the local chain produces blocks (height {h}) at {}",
                            self.rpc_url()
                        );
                        return Ok(());
                    }
                    None => first = Some(h),
                    _ => {}
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "the local chain produced no block within {timeout:?}; the end of its log:\n{}",
                    tail(&self.log_file(), 25)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The latest height, read from the RPC status endpoint with a plain HTTP request.
    pub fn height(&self) -> Option<u64> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.rpc_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(s, "GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let json_start = body.find('{')?;
        let v: serde_json::Value = serde_json::from_str(&body[json_start..]).ok()?;
        v["result"]["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// Stops the node (SIGTERM, then SIGKILL after 15 s). Not running is not an error.
    pub fn stop(&self) -> anyhow::Result<bool> {
        let Some(pid) = self.running_pid() else {
            let _ = fs::remove_file(self.pid_file());
            return Ok(false);
        };
        signal(pid, "TERM")?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.running_pid().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.running_pid().is_some() {
            signal(pid, "KILL")?;
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = fs::remove_file(self.pid_file());
        Ok(true)
    }

    /// Stops the node and deletes its chain data.
    pub fn reset(&self) -> anyhow::Result<()> {
        self.stop()?;
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot delete {}", self.dir.display()))?;
        }
        Ok(())
    }
}

fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .context("cannot run kill")?;
    if !status.success() && Path::new(&format!("/proc/{pid}")).exists() {
        bail!("could not signal wasmd (pid {pid})");
    }
    Ok(())
}

fn edit_toml(path: &Path, f: impl FnOnce(&mut toml_edit::DocumentMut)) -> anyhow::Result<()> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    f(&mut doc);
    fs::write(path, doc.to_string())?;
    Ok(())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `$WASMD`, else the binary `make wasmd` builds: `$DATAPACT_CACHE/wasmd-v0.61.14/bin/wasmd`
/// (cache default `~/.cache/datapact`).
pub fn default_wasmd() -> PathBuf {
    if let Some(w) = std::env::var_os("WASMD") {
        return PathBuf::from(w);
    }
    let cache = std::env::var_os("DATAPACT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(".cache/datapact"));
    cache.join("wasmd-v0.61.14/bin/wasmd")
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}
