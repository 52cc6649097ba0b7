//! `make bench-loop`: how long the loop from a misbehaviour to its suspension takes with every
//! part running as it is deployed — `datapact ingest --follow`, `datapact analyze --follow
//! --anchor` and `datapact sentinel`, each its own process, on a fresh database.
//!
//! Consumers of its own (fresh deals between local accounts) keep an ordinary pace, one access
//! every window or so. Then, one consumer at a time, a burst: BURST accesses in three
//! transactions sent back to back. The figure is the chain's own clock: from the header time of
//! the block holding the burst's last transaction to the time of the block in which the
//! consumer's suspension was recorded (the sentinel's alert transaction). The responder then
//! lifts the suspensions and the next burst comes from the next consumer. p50 and p95 over the
//! bursts; the aim is p95 under 10 s with 300 ms blocks.
//!
//! Needs the local chain with the suite deployed (`make localnet deploy`); writes into a scratch
//! database `bench_loop` on the private Postgres cluster; the processes' logs go to
//! `.data/bench-loop/`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cosmrs::rpc::Client as _;
use cosmwasm_std::{Binary, Coin, Uint256};
use tokio::sync::Mutex;

use datapact_agreements::msg::{ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ};
use datapact_agreements::state::OfferTerms;
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::{execute_msg, Sender};
use datapact_chain::{Chain, Deployment};
use datapact_index::db::PgCluster;
use datapact_index::ingest;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_sim::stats::quantile;
use datapact_types::Sensitivity;

/// Window length of the analysis (seconds): a burst waits at most this long for its window to
/// close.
const WINDOW: i64 = 2;
/// Accesses in one burst, in three transactions.
const BURST: usize = 60;
const CONSUMERS: [&str; 6] = [
    "consumer-10",
    "consumer-11",
    "consumer-12",
    "consumer-13",
    "consumer-14",
    "consumer-15",
];
const PROVIDER: &str = "provider-6";
const DENOM: &str = "udpt";
const GAS_PER_ACCESS: u64 = 400_000;

/// A child process, killed when dropped.
struct Process(Child, &'static str);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(
    bin: &Path,
    name: &'static str,
    args: &[&str],
    url: &str,
    logs: &Path,
) -> anyhow::Result<Process> {
    let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
    let child = Command::new(bin)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} {}", bin.display(), args.join(" ")))?;
    Ok(Process(child, name))
}

fn check(p: &mut Process, logs: &Path) -> anyhow::Result<()> {
    if let Some(status) = p.0.try_wait()? {
        anyhow::bail!(
            "`datapact {}` stopped ({status}); its log: {}",
            p.1,
            logs.join(format!("{}.log", p.1)).display()
        );
    }
    Ok(())
}

/// One consumer's agreement, and its account (one sender at a time).
struct Consumer {
    name: &'static str,
    agreement_id: u64,
    sender: Mutex<Sender>,
}

fn access_msg(
    sender: &str,
    agreements: &str,
    agreement_id: u64,
    n: usize,
) -> anyhow::Result<Vec<cosmrs::Any>> {
    (0..n)
        .map(|_| {
            execute_msg(
                sender,
                agreements,
                &A::RecordAccess {
                    agreement_id,
                    purpose: "research".into(),
                    subject: None,
                },
                &[],
            )
        })
        .collect()
}

/// The provider's asset, offered for research without a cap; each consumer signs.
async fn deals(chain: &Chain, d: &Deployment) -> anyhow::Result<Vec<Arc<Consumer>>> {
    let registry = d.address("registry")?.to_string();
    let agreements = d.address("agreements")?.to_string();
    let mut provider = Sender::load(chain, localnet_wallet(PROVIDER)?).await?;
    let me = provider.addr();
    let o = provider
        .exec_auto(
            chain,
            vec![execute_msg(
                &me,
                &registry,
                &R::RegisterAsset {
                    name: "bench-loop asset".into(),
                    description: None,
                    sensitivity: Sensitivity::Internal,
                    tags: vec![],
                },
                &[],
            )?],
        )
        .await?
        .into_ok()?;
    let asset_id: u64 = o.wasm_id("register_asset", "asset_id")?;
    provider
        .exec_auto(
            chain,
            vec![execute_msg(
                &me,
                &registry,
                &R::PublishVersion {
                    asset_id,
                    content_hash: "ab".repeat(32),
                    schema_hash: None,
                    uri: None,
                    parents: vec![],
                },
                &[],
            )?],
        )
        .await?
        .into_ok()?;
    let terms = OfferTerms {
        permitted_purposes: vec!["research".into()],
        prohibited_purposes: vec![],
        duration_seconds: 86_400,
        access_cap: None,
        price: Coin {
            denom: DENOM.into(),
            amount: Uint256::from(1_000u128),
        },
        consent_required: false,
        delivery_share_bps: 2_500,
    };
    let o = provider
        .exec_auto(
            chain,
            vec![execute_msg(
                &me,
                &agreements,
                &A::CreateOffer { asset_id, terms },
                &[],
            )?],
        )
        .await?
        .into_ok()?;
    let offer_id: u64 = o.wasm_id("create_offer", "offer_id")?;
    let mut out = Vec::new();
    for name in CONSUMERS {
        let mut s = Sender::load(chain, localnet_wallet(name)?).await?;
        let addr = s.addr();
        let standing: ConsumerSuspensionResponse = chain
            .smart(
                &agreements,
                &AQ::ConsumerSuspension {
                    consumer: addr.clone(),
                },
            )
            .await?;
        if !standing.standing.is_empty() {
            println!("{name} is suspended (an earlier alert): left out");
            continue;
        }
        let o = s
            .exec_auto(
                chain,
                vec![execute_msg(
                    &addr,
                    &agreements,
                    &A::Sign {
                        offer_id,
                        purpose: "research".into(),
                        consumer_public_key: Binary::from(vec![2u8; 33]),
                    },
                    &[(1_000, DENOM)],
                )?],
            )
            .await?
            .into_ok()?;
        out.push(Arc::new(Consumer {
            name,
            agreement_id: o.wasm_id("sign", "agreement_id")?,
            sender: Mutex::new(s),
        }));
    }
    anyhow::ensure!(out.len() >= 2, "fewer than two consumers in good standing");
    Ok(out)
}

/// The header time of block `height`, in unix nanoseconds.
async fn header_nanos(chain: &Chain, height: u64) -> anyhow::Result<i128> {
    let h = cosmrs::tendermint::block::Height::try_from(height)?;
    let header = chain
        .rpc()
        .header(h)
        .await
        .map_err(|e| anyhow::anyhow!("reading the header at {height}: {e}"))?;
    Ok(header.header.time.unix_timestamp_nanos())
}

async fn standing(
    chain: &Chain,
    agreements: &str,
    consumer: &str,
) -> anyhow::Result<ConsumerSuspensionResponse> {
    chain
        .smart(
            agreements,
            &AQ::ConsumerSuspension {
                consumer: consumer.to_string(),
            },
        )
        .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    datapact_sim::cli::init_logging("warn");
    let bursts: usize = std::env::var("BENCH_LOOP_BURSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let (chain, d) = datapact_sim::cli::bench_chain().await?;
    let agreements = d.address("agreements")?.to_string();
    let bin: PathBuf = std::env::current_exe()?
        .parent()
        .map(|p| p.join("datapact"))
        .context("where this binary is")?;
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: `make native` builds it",
        bin.display()
    );
    let logs = PathBuf::from(".data/bench-loop");
    std::fs::create_dir_all(&logs)?;
    let reports = logs.join("reports");
    let _ = std::fs::remove_dir_all(&reports);
    let cluster = PgCluster::from_env();
    cluster.ensure_running().await?;
    let url = cluster.fresh_database("bench_loop").await?;

    let head = ingest::head(&chain).await?;
    println!(
        "bench-loop: chain {}, from height {head}; {WINDOW}-second windows; {bursts} bursts of {BURST} accesses; logs in {}",
        chain.chain_id,
        logs.display()
    );
    let from = head.to_string();
    let mut ingester = spawn(
        &bin,
        "ingest",
        &[
            "ingest",
            "--from",
            &from,
            "--follow",
            "--quiet",
            "--no-metrics",
        ],
        &url,
        &logs,
    )?;
    let consumers = deals(&chain, &d).await?;

    // the ordinary pace: each consumer not bursting accesses once a window or so
    let paused: Arc<Mutex<HashSet<&'static str>>> = Arc::default();
    let pace = {
        let (chain, consumers, paused, agreements) = (
            chain.clone(),
            consumers.clone(),
            paused.clone(),
            agreements.clone(),
        );
        tokio::spawn(async move {
            loop {
                for c in &consumers {
                    if paused.lock().await.contains(c.name) {
                        continue;
                    }
                    let mut s = c.sender.lock().await;
                    let addr = s.addr();
                    if let Ok(msgs) = access_msg(&addr, &agreements, c.agreement_id, 1) {
                        if let Err(e) = s.send(&chain, msgs, GAS_PER_ACCESS).await {
                            tracing::warn!("{}: an ordinary access was not sent: {e:#}", c.name);
                            let _ = s.reload(&chain).await;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        })
    };
    // the consumers' history: enough windows that none is young when its burst comes
    println!("ordinary pace for 30 s, then the analysis and the sentinel start");
    tokio::time::sleep(Duration::from_secs(30)).await;
    let window = WINDOW.to_string();
    let reports_dir = reports.to_string_lossy().to_string();
    let mut analyzer = spawn(
        &bin,
        "analyze",
        &[
            "analyze",
            "--follow",
            "--anchor",
            "--window",
            &window,
            "--interval",
            "0.5",
            "--reports",
            &reports_dir,
        ],
        &url,
        &logs,
    )?;
    let mut sentinel = spawn(
        &bin,
        "sentinel",
        &["sentinel", "--interval", "0.5", "--per-minute", "120"],
        &url,
        &logs,
    )?;
    tokio::time::sleep(Duration::from_secs(15)).await;

    let mut seconds = Vec::new();
    let mut missed = 0;
    for i in 0..bursts {
        for p in [&mut ingester, &mut analyzer, &mut sentinel] {
            check(p, &logs)?;
        }
        let c = &consumers[i % consumers.len()];
        paused.lock().await.insert(c.name);
        let last = {
            let mut s = c.sender.lock().await;
            let addr = s.addr();
            let mut hashes = Vec::new();
            for _ in 0..3 {
                let msgs = access_msg(&addr, &agreements, c.agreement_id, BURST / 3)?;
                hashes.push(
                    s.send(&chain, msgs, GAS_PER_ACCESS * (BURST / 3) as u64)
                        .await?,
                );
            }
            let mut last = None;
            for h in hashes {
                last = Some(chain.wait_tx(h, Duration::from_secs(60)).await?.into_ok()?);
            }
            last.context("no burst transaction")?
        };
        let burst_at = header_nanos(&chain, last.height).await?;
        let addr = c.sender.lock().await.addr();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut found = None;
        while Instant::now() < deadline {
            let s = standing(&chain, &agreements, &addr).await?;
            if let Some(x) = s.standing.iter().find(|x| x.height > last.height) {
                found = Some(x.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match found {
            Some(x) => {
                let secs = (x.time.nanos() as i128 - burst_at) as f64 / 1e9;
                println!(
                    "burst {:>2} by {}: last transaction at height {}, suspended at height {} by alert {}: {secs:.2} s",
                    i + 1,
                    c.name,
                    last.height,
                    x.height,
                    x.alert_seq
                );
                seconds.push(secs);
            }
            None => {
                missed += 1;
                println!(
                    "burst {:>2} by {}: not suspended within 60 s",
                    i + 1,
                    c.name
                );
            }
        }
        // later windows of the burst may bring more alerts: lift until none stands for a while
        let mut quiet_since = Instant::now();
        let settle = Duration::from_secs((2 * WINDOW + 3) as u64);
        while quiet_since.elapsed() < settle {
            let s = standing(&chain, &agreements, &addr).await?;
            for x in &s.standing {
                let out = Command::new(&bin)
                    .args(["respond", "lift", &x.alert_seq.to_string()])
                    .output()?;
                anyhow::ensure!(
                    out.status.success(),
                    "lifting alert {}: {}",
                    x.alert_seq,
                    String::from_utf8_lossy(&out.stderr)
                );
                quiet_since = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        paused.lock().await.remove(c.name);
    }
    pace.abort();
    drop((sentinel, analyzer, ingester));
    println!();
    println!(
        "from a burst's last transaction to the consumer's suspension (block times), {} bursts, {missed} not suspended:",
        seconds.len()
    );
    println!(
        "  p50 {:.2} s   p95 {:.2} s   max {:.2} s   (aim: p95 under 10 s with 300 ms blocks: {})",
        quantile(seconds.clone(), 0.5),
        quantile(seconds.clone(), 0.95),
        quantile(seconds.clone(), 1.0),
        if missed == 0 && quantile(seconds.clone(), 0.95) < 10.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  of which waiting for the burst's {WINDOW}-second window to close: up to {WINDOW} s"
    );
    Ok(())
}
