//! `make bench-gateway`: the gateway's cost, in one run, against the same bytes served without
//! checks.
//!
//! (a) throughput: a 1 GiB CSV (`--size-mib`) published encrypted, downloaded through
//!     `datapact gateway` (proof, record on chain, `CanDeliver`, redemption, then the stream)
//!     and from a plain server that streams the very same ciphertext file the same way (axum,
//!     64 KiB reads) with no checks; both are child processes on this machine, the client
//!     discards what it reads. Best of `--repeats`, alternating.
//! (b) memory: each server's peak resident set (VmHWM) after the small file (`--small-mib`)
//!     and after the large one: flat in file size means the two are close.
//! (c) the checks' latency: the time to the response's headers (everything the gateway does
//!     before the first byte) over `--samples` requests on the small file, p50 and p95, against
//!     the plain server's.
//!
//! Set-up (file generation, encryption, the transactions) is timed and reported apart.
//! Needs the local chain with the suite deployed (`make localnet deploy`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use datapact::participants::provider::{self, Keyring, ProviderFiles};
use datapact::participants::{consumer, exec};
use datapact_agreements::msg::{ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ};
use datapact_agreements::state::OfferTerms;
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment, FeePolicy};
use datapact_gateway::Store;
use datapact_index::db::PgCluster;
use datapact_plane::proof::{nonce, AccessProof, AccessRequest};
use datapact_plane::DataKey;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_types::events::{action, key};
use datapact_types::Sensitivity;

#[path = "bench/trips.rs"]
mod trips;
use trips::write_csv;

const GATEWAY_ID: &str = "gateway-bench";

#[derive(Parser)]
#[command(
    about = "The gateway against the same bytes served without checks (see the source's header)"
)]
struct Args {
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:26657")]
    rpc: String,
    #[arg(
        long,
        env = "DATAPACT_DEPLOYMENT",
        default_value = ".data/deployment.json"
    )]
    deployment: PathBuf,
    /// Scratch folder for the files, the store and the keyring (deleted and remade).
    #[arg(long, default_value = ".data/bench-gateway")]
    dir: PathBuf,
    /// The large file, in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// The small file, in MiB (memory baseline and latency).
    #[arg(long, default_value_t = 16)]
    small_mib: u64,
    /// Downloads of the large file per server (the best counts).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Requests for the latency percentiles.
    #[arg(long, default_value_t = 40)]
    samples: usize,
    /// Internal: serve `--root` without checks on `--addr` (the baseline's child process).
    #[arg(long, hide = true)]
    serve_plain: bool,
    #[arg(long, hide = true)]
    root: Option<PathBuf>,
    #[arg(long, hide = true)]
    addr: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_plain {
        return serve_plain(args.root.context("--root")?, args.addr.context("--addr")?).await;
    }
    run(args).await
}

/// The baseline: `GET /{asset}/{version}` streams `<root>/<asset>/<version>.age` in 64 KiB
/// reads, exactly as the gateway's stream does, and checks nothing.
async fn serve_plain(root: PathBuf, addr: SocketAddr) -> anyhow::Result<()> {
    use axum::body::{Body, Bytes};
    use axum::extract::{Path as UrlPath, State};
    use axum::http::{header, StatusCode};
    use axum::response::{IntoResponse, Response};
    use tokio::io::AsyncReadExt;
    async fn file(
        State(root): State<Arc<PathBuf>>,
        UrlPath((asset, version)): UrlPath<(u64, u32)>,
    ) -> Response {
        let path = root.join(asset.to_string()).join(format!("{version}.age"));
        let Ok(f) = tokio::fs::File::open(&path).await else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let size = f.metadata().await.map(|m| m.len()).unwrap_or(0);
        let body = futures::stream::unfold(f, |mut f| async move {
            let mut buf = vec![0u8; 64 * 1024];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        });
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/age".to_string()),
                (header::CONTENT_LENGTH, size.to_string()),
            ],
            Body::from_stream(body),
        )
            .into_response()
    }
    let app = axum::Router::new()
        .route("/{asset}/{version}", axum::routing::get(file))
        .with_state(Arc::new(root));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_up(url: &str) -> anyhow::Result<()> {
    for _ in 0..400 {
        if reqwest::get(url).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{url} did not answer")
}

/// One download: (time to headers, time to the last byte, bytes).
async fn download(
    client: &reqwest::Client,
    url: &str,
    auth: Option<String>,
) -> anyhow::Result<(Duration, Duration, u64)> {
    let t = Instant::now();
    let mut req = client.get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let mut res = req.send().await?;
    let headers = t.elapsed();
    anyhow::ensure!(
        res.status().is_success(),
        "{url}: {} {}",
        res.status(),
        res.text().await.unwrap_or_default()
    );
    let mut n = 0u64;
    while let Some(chunk) = res.chunk().await? {
        n += chunk.len() as u64;
    }
    Ok((headers, t.elapsed(), n))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct World {
    chain: Chain,
    d: Deployment,
    consumer: Sender,
    agreement_id: u64,
    asset_id: u64,
}

impl World {
    /// A proof for a fresh `record_access` of the agreement.
    async fn proof(&mut self, version: u32) -> anyhow::Result<String> {
        let agreements = self.d.address("agreements")?.to_string();
        let o = exec(
            &self.chain,
            &mut self.consumer,
            &agreements,
            &A::RecordAccess {
                agreement_id: self.agreement_id,
                purpose: "research".into(),
                subject: None,
            },
            &[],
        )
        .await?;
        let request = AccessRequest {
            gateway: GATEWAY_ID.into(),
            chain_id: self.chain.chain_id.clone(),
            agreement_id: self.agreement_id,
            asset_id: self.asset_id,
            version,
            record_tx: o.hash,
            nonce: nonce(),
            expires: datapact_gateway::check::now() + 120,
        };
        Ok(
            AccessProof::sign(&request, self.consumer.wallet.key(), &self.chain.prefix)?
                .to_header(),
        )
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let chain = Chain::connect(&args.rpc, FeePolicy::parse("0.025udpt", 1.4)?).await?;
    let d = Deployment::load(&args.deployment).with_context(|| {
        format!(
            "no deployment at {}: run `make localnet deploy` first",
            args.deployment.display()
        )
    })?;
    let cluster = PgCluster::from_env();
    cluster.ensure_running().await?;
    let db_url = cluster.fresh_database("bench_gateway").await?;

    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("clearing {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)?;
    let files = ProviderFiles {
        store: Store::new(args.dir.join("store")),
        keyring: Keyring {
            dir: args.dir.join("keyring"),
        },
    };

    // set-up, timed apart
    let t = Instant::now();
    let (small, large) = (args.dir.join("small.csv"), args.dir.join("large.csv"));
    write_csv(&small, args.small_mib)?;
    write_csv(&large, args.size_mib)?;
    let generate = t.elapsed();

    let mut prov = Sender::load(&chain, localnet_wallet("provider-0")?).await?;
    let agreements = d.address("agreements")?.to_string();
    let mut consumer_name = None;
    for i in 0..20 {
        let name = format!("consumer-{i}");
        let s: ConsumerSuspensionResponse = chain
            .smart(
                &agreements,
                &AQ::ConsumerSuspension {
                    consumer: localnet_wallet(&name)?.addr(),
                },
            )
            .await?;
        if s.suspension.is_none() {
            consumer_name = Some(name);
            break;
        }
    }
    let consumer_name = consumer_name.context("every local consumer is suspended")?;
    let registry = d.address("registry")?.to_string();
    let o = exec(
        &chain,
        &mut prov,
        &registry,
        &R::RegisterAsset {
            name: "bench-gateway".into(),
            description: None,
            sensitivity: Sensitivity::Internal,
            tags: vec![],
        },
        &[],
    )
    .await?;
    let asset_id: u64 = o.wasm_id(action::REGISTER_ASSET, key::ASSET_ID)?;
    let t = Instant::now();
    for file in [&small, &large] {
        provider::publish(&chain, &d, &mut prov, &files, asset_id, file, None, vec![]).await?;
    }
    let encrypt = t.elapsed();
    let o = exec(
        &chain,
        &mut prov,
        &agreements,
        &A::CreateOffer {
            asset_id,
            terms: OfferTerms {
                permitted_purposes: vec!["research".into()],
                prohibited_purposes: vec![],
                duration_seconds: 86_400,
                access_cap: None,
                price: cosmwasm_std::coin(0, "udpt"),
                consent_required: false,
                delivery_share_bps: 0,
            },
        },
        &[],
    )
    .await?;
    let offer_id: u64 = o.wasm_id(action::CREATE_OFFER, key::OFFER_ID)?;
    let mut cons = Sender::load(&chain, localnet_wallet(&consumer_name)?).await?;
    let age = DataKey::generate();
    let signed = consumer::sign(&chain, &d, &mut cons, &age, offer_id, "research").await?;
    provider::deliver_keys(&chain, &d, &mut prov, &files).await?;
    let mut world = World {
        chain: chain.clone(),
        d,
        consumer: cons,
        agreement_id: signed.agreement_id,
        asset_id,
    };
    let large_bytes = std::fs::metadata(files.store.path(asset_id, 2))?.len();

    // the two servers
    let exe = std::env::current_exe()?;
    let datapact = exe.with_file_name("datapact");
    anyhow::ensure!(
        datapact.exists(),
        "{} is missing: build it beside this benchmark (`make native`)",
        datapact.display()
    );
    let (gport, pport) = (free_port()?, free_port()?);
    let mut gateway = tokio::process::Command::new(&datapact)
        .arg("gateway")
        .args(["--rpc", &args.rpc])
        .arg("--deployment")
        .arg(&args.deployment)
        .arg("--store")
        .arg(files.store.root())
        .args([
            "--addr",
            &format!("127.0.0.1:{gport}"),
            "--gateway-id",
            GATEWAY_ID,
        ])
        .arg("--no-metrics")
        .env("DATABASE_URL", &db_url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut plain = tokio::process::Command::new(&exe)
        .arg("--serve-plain")
        .arg("--root")
        .arg(files.store.root())
        .args(["--addr", &format!("127.0.0.1:{pport}")])
        .kill_on_drop(true)
        .spawn()?;
    let (gurl, purl) = (
        format!("http://127.0.0.1:{gport}"),
        format!("http://127.0.0.1:{pport}"),
    );
    wait_up(&format!("{gurl}/health")).await?;
    wait_up(&format!("{purl}/0/0")).await?;
    let (gpid, ppid) = (
        gateway.id().context("gateway pid")?,
        plain.id().context("plain pid")?,
    );
    let client = reqwest::Client::new();
    let path = |base: &str, gw: bool, v: u32| {
        if gw {
            format!("{base}/v1/assets/{asset_id}/versions/{v}")
        } else {
            format!("{base}/{asset_id}/{v}")
        }
    };

    // (c) latency on the small file, which also sets the memory baseline
    let (mut g_lat, mut p_lat) = (Vec::new(), Vec::new());
    let bar = indicatif::ProgressBar::new(args.samples as u64)
        .with_message("latency (each gateway request records an access on chain first)");
    for _ in 0..args.samples {
        let auth = world.proof(1).await?;
        let (h, _, _) = download(&client, &path(&gurl, true, 1), Some(auth)).await?;
        g_lat.push(h.as_secs_f64() * 1e3);
        let (h, _, _) = download(&client, &path(&purl, false, 1), None).await?;
        p_lat.push(h.as_secs_f64() * 1e3);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (g_small_rss, p_small_rss) = (
        datapact_analytics::peak_rss_mib_of(gpid),
        datapact_analytics::peak_rss_mib_of(ppid),
    );

    // (a) throughput on the large file, alternating
    let (mut g_best, mut p_best) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..args.repeats {
        let (_, t, n) = download(&client, &path(&purl, false, 2), None).await?;
        anyhow::ensure!(n == large_bytes, "plain served {n} of {large_bytes} bytes");
        p_best = p_best.min(t.as_secs_f64());
        let auth = world.proof(2).await?;
        let (_, t, n) = download(&client, &path(&gurl, true, 2), Some(auth)).await?;
        anyhow::ensure!(
            n == large_bytes,
            "the gateway served {n} of {large_bytes} bytes"
        );
        g_best = g_best.min(t.as_secs_f64());
    }
    let (g_large_rss, p_large_rss) = (
        datapact_analytics::peak_rss_mib_of(gpid),
        datapact_analytics::peak_rss_mib_of(ppid),
    );
    let _ = gateway.kill().await;
    let _ = plain.kill().await;

    g_lat.sort_by(f64::total_cmp);
    p_lat.sort_by(f64::total_cmp);
    let mib = large_bytes as f64 / (1 << 20) as f64;
    println!(
        "bench-gateway: chain {}, asset {asset_id}, agreement {} ({consumer_name}), {} cores",
        world.chain.chain_id,
        world.agreement_id,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "set-up (apart): {:.1} s writing {} + {} MiB of CSV, {:.1} s hashing, fingerprinting and encrypting both",
        generate.as_secs_f64(),
        args.small_mib,
        args.size_mib,
        encrypt.as_secs_f64()
    );
    println!();
    println!("(a) {mib:.0} MiB of ciphertext, best of {}", args.repeats);
    println!(
        "    plain server (no checks)   {:>8.0} MiB/s  ({:.2} s)",
        mib / p_best,
        p_best
    );
    println!(
        "    datapact gateway           {:>8.0} MiB/s  ({:.2} s, checks included)",
        mib / g_best,
        g_best
    );
    println!("    ratio                      {:>8.2}", p_best / g_best);
    println!();
    println!("(b) peak resident memory (VmHWM), MiB");
    println!(
        "    after {:>4} MiB files       gateway {:>6.1}   plain {:>6.1}",
        args.small_mib, g_small_rss, p_small_rss
    );
    println!(
        "    after {:>4} MiB files       gateway {:>6.1}   plain {:>6.1}",
        args.size_mib, g_large_rss, p_large_rss
    );
    println!();
    println!(
        "(c) time to the response's headers, {} requests, ms",
        args.samples
    );
    println!(
        "    gateway (proof, tx lookup, CanDeliver, redemption)  p50 {:>7.1}  p95 {:>7.1}",
        percentile(&g_lat, 0.5),
        percentile(&g_lat, 0.95)
    );
    println!(
        "    plain server                                       p50 {:>7.1}  p95 {:>7.1}",
        percentile(&p_lat, 0.5),
        percentile(&p_lat, 0.95)
    );
    Ok(())
}
