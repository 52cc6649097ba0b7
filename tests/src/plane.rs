//! The data plane's test world: a gateway served in the test process (or as a `datapact
//! gateway` child), a provider's store and keyring in a temporary folder, a shared asset, and
//! proofs made by hand.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datapact::participants::consumer::{self, FetchPlan};
use datapact::participants::provider::{self, Keyring, ProviderFiles};
use datapact_agreements::msg::{ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ};
use datapact_agreements::state::OfferTerms;
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::Sender;
use datapact_gateway::{Gateway, GatewayConfig, GatewayMetrics, RefusalBody, Store};
use datapact_plane::proof::{nonce, AccessProof, AccessRequest};
use datapact_plane::DataKey;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_types::Sensitivity;

use crate::{datapact_bin, fresh_database, lock, setup, Ctx};

pub const PROVIDER: &str = "provider-6";
pub const CONSUMER: &str = "consumer-12";
pub const STRANGER: &str = "consumer-13";
pub const GATEWAY: &str = "gateway-e2e";

/// A gateway served in this process on a free port, its store, ledger and the provider's
/// keyring in a temporary folder.
pub struct Plane {
    pub url: String,
    pub db_url: String,
    pub files: ProviderFiles,
    pub pool: sqlx::PgPool,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

pub async fn gateway(
    ctx: &Ctx,
    files: &ProviderFiles,
    pool: sqlx::PgPool,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    gateway_requiring(ctx, files, pool, vec![]).await
}

/// [`gateway`], serving only versions one of `require_quality` attested as passing.
pub async fn gateway_requiring(
    ctx: &Ctx,
    files: &ProviderFiles,
    pool: sqlx::PgPool,
    require_quality: Vec<String>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let g = Arc::new(Gateway {
        config: GatewayConfig {
            gateway_id: GATEWAY.into(),
            agreements: ctx.contract("agreements"),
            consent: ctx.contract("consent"),
            registry: ctx.contract("registry"),
            max_proof_seconds: 300,
            max_record_seconds: 900,
            require_quality,
        },
        chain: ctx.chain.clone(),
        pool,
        store: files.store.clone(),
        metrics: GatewayMetrics::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, datapact_gateway::router(g)).await;
    });
    Ok((url, server))
}

pub async fn plane(ctx: &Ctx, db: &str) -> anyhow::Result<Plane> {
    let dir = tempfile::tempdir()?;
    let files = ProviderFiles {
        store: Store::new(dir.path().join("store")),
        keyring: Keyring {
            dir: dir.path().join("keyring"),
        },
    };
    let db_url = fresh_database(db).await?;
    let pool = datapact_index::db::connect(&db_url, 4).await?;
    let (url, server) = gateway(ctx, &files, pool.clone()).await?;
    Ok(Plane {
        url,
        db_url,
        files,
        pool,
        _server: server,
        _dir: dir,
    })
}

/// A CSV of `rows` rows, different for every `seed`.
pub fn csv(path: &Path, rows: usize, seed: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "trip_id,city,distance_km,fare")?;
    for i in 0..rows {
        let x = (i as u64).wrapping_mul(2_654_435_761).wrapping_add(seed) % 10_000;
        writeln!(
            f,
            "{i},{},{}.{},{}",
            ["Oslo", "Lyon", "Turin"][i % 3],
            x / 100,
            x % 100,
            x % 97
        )?;
    }
    f.flush()?;
    Ok(())
}

pub async fn sender(name: &str, ctx: &Ctx) -> anyhow::Result<Sender> {
    Sender::load(&ctx.chain, localnet_wallet(name)?).await
}

/// A sentinel's high alert on CONSUMER about `asset_id`: the audit contract suspends it.
pub async fn suspend(ctx: &Ctx, asset_id: u64) -> anyhow::Result<()> {
    ctx.ok(
        "sentinel",
        "audit",
        &datapact_audit::msg::ExecuteMsg::ReportAlert {
            kind: "access_burst".into(),
            severity: datapact_types::Severity::High,
            subject: ctx.addr(CONSUMER),
            asset_id: Some(asset_id),
            evidence_hash: crate::hash_hex("gateway e2e"),
            score: cosmwasm_std::Decimal::percent(97),
            model_version: "e2e".into(),
        },
        &[],
    )
    .await?;
    Ok(())
}

/// Lifts whatever suspensions earlier tests or workloads left on `consumer`.
pub async fn unsuspend(ctx: &Ctx, consumer: &str) -> anyhow::Result<()> {
    loop {
        let s: ConsumerSuspensionResponse = ctx
            .query(
                "agreements",
                &AQ::ConsumerSuspension {
                    consumer: ctx.addr(consumer),
                },
            )
            .await?;
        let Some(first) = s.suspension else {
            return Ok(());
        };
        ctx.ok(
            "responder",
            "audit",
            &datapact_audit::msg::ExecuteMsg::LiftSuspension {
                alert_seq: first.alert_seq,
            },
            &[],
        )
        .await?;
    }
}

/// An internal asset of PROVIDER with one published CSV, a free offer with `cap` for
/// `duration_seconds`, signed by CONSUMER (with `age`), its key delivered.
pub struct Shared {
    pub asset_id: u64,
    pub agreement_id: u64,
    pub original: PathBuf,
}

pub async fn share(
    ctx: &Ctx,
    p: &Plane,
    age: &DataKey,
    rows: usize,
    cap: Option<u64>,
    duration_seconds: u64,
) -> anyhow::Result<Shared> {
    let file = |path: &Path, asset_id: u64| csv(path, rows, asset_id);
    let terms = |_| offer_terms(cap, duration_seconds, false);
    share_with(ctx, p, age, Sensitivity::Internal, file, None, terms).await
}

/// A personal asset of PROVIDER: `rows_each` rows of every one of `subjects`, published one
/// segment per subject, a free offer (with consent required or not) signed by CONSUMER, its
/// key delivered.
pub async fn share_personal(
    ctx: &Ctx,
    p: &Plane,
    age: &DataKey,
    subjects: &[String],
    rows_each: usize,
    consent_required: bool,
) -> anyhow::Result<Shared> {
    let file = |path: &Path, _| -> anyhow::Result<()> {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(f, "subject,visit,score")?;
        for i in 0..rows_each {
            for (k, s) in subjects.iter().enumerate() {
                writeln!(f, "{s},{i},{}", (i * 7 + k * 13) % 100)?;
            }
        }
        f.flush()?;
        Ok(())
    };
    let terms = |_| offer_terms(None, 86_400, consent_required);
    share_with(
        ctx,
        p,
        age,
        Sensitivity::Personal,
        file,
        Some("subject"),
        terms,
    )
    .await
}

pub fn offer_terms(cap: Option<u64>, duration_seconds: u64, consent_required: bool) -> OfferTerms {
    OfferTerms {
        permitted_purposes: vec!["research".into()],
        prohibited_purposes: vec![],
        duration_seconds,
        access_cap: cap,
        price: cosmwasm_std::coin(0, "udpt"),
        consent_required,
        delivery_share_bps: 2_500,
    }
}

/// Registers an asset of `sensitivity`, writes its file with `file(path, asset_id)`, publishes
/// it, offers it with `terms(asset_id)`, signs the offer as CONSUMER and delivers the key.
pub async fn share_with(
    ctx: &Ctx,
    p: &Plane,
    age: &DataKey,
    sensitivity: Sensitivity,
    file: impl FnOnce(&Path, u64) -> anyhow::Result<()>,
    subject_column: Option<&str>,
    terms: impl FnOnce(u64) -> OfferTerms,
) -> anyhow::Result<Shared> {
    let mut prov = sender(PROVIDER, ctx).await?;
    let out = ctx
        .ok(
            PROVIDER,
            "registry",
            &R::RegisterAsset {
                name: "trips".into(),
                description: None,
                sensitivity,
                tags: vec![],
            },
            &[],
        )
        .await?;
    let asset_id: u64 = out.wasm_id("register_asset", "asset_id")?;
    let original = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("asset-{asset_id}.csv"));
    file(&original, asset_id)?;
    provider::publish(
        &ctx.chain,
        &ctx.d,
        &mut prov,
        &p.files,
        asset_id,
        &original,
        subject_column,
        vec![],
    )
    .await?;
    let agreement_id = offer_and_sign(ctx, p, age, asset_id, terms(asset_id)).await?;
    Ok(Shared {
        asset_id,
        agreement_id,
        original,
    })
}

/// PROVIDER offers `asset_id` on `terms`, CONSUMER signs for research, the key is delivered;
/// returns the agreement.
pub async fn offer_and_sign(
    ctx: &Ctx,
    p: &Plane,
    age: &DataKey,
    asset_id: u64,
    terms: OfferTerms,
) -> anyhow::Result<u64> {
    let out = ctx
        .ok(
            PROVIDER,
            "agreements",
            &A::CreateOffer { asset_id, terms },
            &[],
        )
        .await?;
    let offer_id: u64 = out.wasm_id("create_offer", "offer_id")?;
    let mut cons = sender(CONSUMER, ctx).await?;
    let signed = consumer::sign(&ctx.chain, &ctx.d, &mut cons, age, offer_id, "research").await?;
    let mut prov = sender(PROVIDER, ctx).await?;
    let (delivered, _) = provider::deliver_keys(&ctx.chain, &ctx.d, &mut prov, &p.files).await?;
    assert!(
        delivered
            .iter()
            .any(|d| d.agreement_id == signed.agreement_id),
        "the new agreement got its key: {delivered:?}"
    );
    Ok(signed.agreement_id)
}

pub fn plan(p: &Plane, s: &Shared, out: &Path) -> FetchPlan {
    FetchPlan {
        agreement_id: s.agreement_id,
        version: None,
        gateway_url: p.url.clone(),
        gateway_id: GATEWAY.into(),
        proof_seconds: 60,
        out: out.to_path_buf(),
        subject: None,
        require_quality: vec![],
    }
}

/// Records an access as CONSUMER; returns the transaction's hash.
pub async fn record(ctx: &Ctx, agreement_id: u64) -> anyhow::Result<String> {
    let o = ctx
        .ok(
            CONSUMER,
            "agreements",
            &A::RecordAccess {
                agreement_id,
                purpose: "research".into(),
                subject: None,
            },
            &[],
        )
        .await?;
    Ok(o.hash)
}

/// Asks the gateway with a proof signed by `signer`; returns the status and the refusal.
pub async fn ask(
    ctx: &Ctx,
    p: &Plane,
    signer: &str,
    r: &AccessRequest,
) -> anyhow::Result<(u16, Option<RefusalBody>)> {
    ask_at(ctx, &p.url, signer, r).await
}

/// [`ask`], of the gateway at `url`.
pub async fn ask_at(
    ctx: &Ctx,
    url: &str,
    signer: &str,
    r: &AccessRequest,
) -> anyhow::Result<(u16, Option<RefusalBody>)> {
    let proof = AccessProof::sign(r, localnet_wallet(signer)?.key(), &ctx.chain.prefix)?;
    let header = proof.to_header();
    let res = reqwest::Client::new()
        .get(format!(
            "{url}/v1/assets/{}/versions/{}",
            r.asset_id, r.version
        ))
        .header("authorization", header)
        .send()
        .await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).ok()))
}

pub fn request(ctx: &Ctx, s: &Shared, record_tx: &str) -> AccessRequest {
    AccessRequest {
        gateway: GATEWAY.into(),
        chain_id: ctx.chain.chain_id.clone(),
        agreement_id: s.agreement_id,
        asset_id: s.asset_id,
        version: 1,
        record_tx: record_tx.into(),
        nonce: nonce(),
        expires: datapact_gateway::check::now() + 60,
    }
}

pub fn refused(got: (u16, Option<RefusalBody>)) -> (u16, String) {
    (got.0, got.1.map(|b| b.refused).unwrap_or_default())
}

/// `datapact gateway` as a child process on `port`, serving `files.store` with the ledger at
/// `db_url`; returns once it answers `/health`.
pub async fn gateway_process(
    ctx: &Ctx,
    files: &ProviderFiles,
    db_url: &str,
    port: u16,
) -> anyhow::Result<tokio::process::Child> {
    let child = tokio::process::Command::new(datapact_bin()?)
        .arg("gateway")
        .args(["--rpc", &ctx.chain.url])
        .arg("--deployment")
        .arg(&ctx.deployment_path)
        .arg("--store")
        .arg(files.store.root())
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--gateway-id",
            GATEWAY,
            "--no-metrics",
        ])
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/health"))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the gateway did not answer on port {port}")
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// How every data-plane test starts: the test chain (held against the other end-to-end tests),
/// CONSUMER in good standing, a gateway on a fresh database `db`, and the consumer's age key.
pub async fn start(
    db: &str,
) -> anyhow::Result<(tokio::sync::MutexGuard<'static, ()>, Ctx, Plane, DataKey)> {
    let guard = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, db).await?;
    Ok((guard, ctx, p, DataKey::generate()))
}
