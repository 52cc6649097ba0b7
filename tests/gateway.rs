//! The data plane end to end on a real wasmd chain and a real Postgres: a provider publishes a
//! real CSV encrypted, delivers its key, a consumer fetches it through the gateway and gets
//! the provider's bytes; every way a delivery must be refused is refused with its reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use cosmwasm_std::Decimal;
use datapact::participants::consumer::{self, FetchError, FetchPlan};
use datapact::participants::provider::{self, Keyring, ProviderFiles};
use datapact_agreements::msg::{ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ};
use datapact_agreements::state::OfferTerms;
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::Sender;
use datapact_e2e::{fresh_database, hash_hex, lock, setup, Ctx};
use datapact_gateway::{Gateway, GatewayConfig, GatewayMetrics, RefusalBody, Store};
use datapact_plane::proof::{nonce, AccessProof, AccessRequest};
use datapact_plane::DataKey;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_types::{Sensitivity, Severity};

const PROVIDER: &str = "provider-6";
const CONSUMER: &str = "consumer-12";
const STRANGER: &str = "consumer-13";
const GATEWAY: &str = "gateway-e2e";

/// A gateway served in this process on a free port, its store, ledger and the provider's
/// keyring in a temporary folder.
struct Plane {
    url: String,
    files: ProviderFiles,
    pool: sqlx::PgPool,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn gateway(
    ctx: &Ctx,
    files: &ProviderFiles,
    pool: sqlx::PgPool,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let g = Arc::new(Gateway {
        config: GatewayConfig {
            gateway_id: GATEWAY.into(),
            agreements: ctx.contract("agreements"),
            max_proof_seconds: 300,
            max_record_seconds: 900,
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

async fn plane(ctx: &Ctx, db: &str) -> anyhow::Result<Plane> {
    let dir = tempfile::tempdir()?;
    let files = ProviderFiles {
        store: Store::new(dir.path().join("store")),
        keyring: Keyring {
            dir: dir.path().join("keyring"),
        },
    };
    let pool = datapact_index::db::connect(&fresh_database(db).await?, 4).await?;
    let (url, server) = gateway(ctx, &files, pool.clone()).await?;
    Ok(Plane {
        url,
        files,
        pool,
        _server: server,
        _dir: dir,
    })
}

/// A CSV of `rows` rows, different for every `seed`.
fn csv(path: &Path, rows: usize, seed: u64) -> anyhow::Result<()> {
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

async fn sender(name: &str, ctx: &Ctx) -> anyhow::Result<Sender> {
    Sender::load(&ctx.chain, localnet_wallet(name)?).await
}

/// Lifts whatever suspensions earlier tests or workloads left on `consumer`.
async fn unsuspend(ctx: &Ctx, consumer: &str) -> anyhow::Result<()> {
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
struct Shared {
    asset_id: u64,
    agreement_id: u64,
    original: PathBuf,
}

async fn share(
    ctx: &Ctx,
    p: &Plane,
    age: &DataKey,
    rows: usize,
    cap: Option<u64>,
    duration_seconds: u64,
) -> anyhow::Result<Shared> {
    let mut prov = sender(PROVIDER, ctx).await?;
    let out = ctx
        .ok(
            PROVIDER,
            "registry",
            &R::RegisterAsset {
                name: "trips".into(),
                description: None,
                sensitivity: Sensitivity::Internal,
                tags: vec![],
            },
            &[],
        )
        .await?;
    let asset_id: u64 = out
        .wasm_attr("register_asset", "asset_id")
        .unwrap_or_default()
        .parse()?;
    let original = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("trips-{asset_id}.csv"));
    csv(&original, rows, asset_id)?;
    provider::publish(
        &ctx.chain,
        &ctx.d,
        &mut prov,
        &p.files,
        asset_id,
        &original,
        vec![],
    )
    .await?;
    let terms = OfferTerms {
        permitted_purposes: vec!["research".into()],
        prohibited_purposes: vec![],
        duration_seconds,
        access_cap: cap,
        price: cosmwasm_std::coin(0, "udpt"),
        consent_required: false,
        delivery_share_bps: 2_500,
    };
    let out = ctx
        .ok(
            PROVIDER,
            "agreements",
            &A::CreateOffer { asset_id, terms },
            &[],
        )
        .await?;
    let offer_id: u64 = out
        .wasm_attr("create_offer", "offer_id")
        .unwrap_or_default()
        .parse()?;
    let mut cons = sender(CONSUMER, ctx).await?;
    let signed = consumer::sign(&ctx.chain, &ctx.d, &mut cons, age, offer_id, "research").await?;
    let (delivered, _) =
        provider::deliver_keys(&ctx.chain, &ctx.d, &mut prov, &p.files.keyring).await?;
    assert!(
        delivered
            .iter()
            .any(|d| d.agreement_id == signed.agreement_id),
        "the new agreement got its key: {delivered:?}"
    );
    Ok(Shared {
        asset_id,
        agreement_id: signed.agreement_id,
        original,
    })
}

fn plan(p: &Plane, s: &Shared, out: &Path) -> FetchPlan {
    FetchPlan {
        agreement_id: s.agreement_id,
        version: None,
        gateway_url: p.url.clone(),
        gateway_id: GATEWAY.into(),
        proof_seconds: 60,
        out: out.to_path_buf(),
    }
}

/// Records an access as CONSUMER; returns the transaction's hash.
async fn record(ctx: &Ctx, agreement_id: u64) -> anyhow::Result<String> {
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
async fn ask(
    ctx: &Ctx,
    p: &Plane,
    signer: &str,
    r: &AccessRequest,
) -> anyhow::Result<(u16, Option<RefusalBody>)> {
    let proof = AccessProof::sign(r, localnet_wallet(signer)?.key(), &ctx.chain.prefix)?;
    let header = format!(
        "DataPact {}",
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&proof)?)
    );
    let res = reqwest::Client::new()
        .get(format!(
            "{}/v1/assets/{}/versions/{}",
            p.url, r.asset_id, r.version
        ))
        .header("authorization", header)
        .send()
        .await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).ok()))
}

fn request(ctx: &Ctx, s: &Shared, record_tx: &str) -> AccessRequest {
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

fn refused(got: (u16, Option<RefusalBody>)) -> (u16, String) {
    (got.0, got.1.map(|b| b.refused).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_fetches_a_real_csv_and_gets_the_providers_bytes_once_per_recorded_access(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, "e2e_gateway_fetch").await?;
    let age = DataKey::generate();
    let s = share(&ctx, &p, &age, 20_000, Some(2), 86_400).await?;
    let out = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .join("fetched.csv");
    let mut cons = sender(CONSUMER, &ctx).await?;

    let f = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out)).await?;
    assert_eq!(
        std::fs::read(&out)?,
        std::fs::read(&s.original)?,
        "the provider's bytes"
    );
    assert!(f.bytes > 300_000, "a real file: {} bytes", f.bytes);
    let ledger = datapact_index::ledger::of_agreement(&p.pool, s.agreement_id).await?;
    assert_eq!(ledger.len(), 1, "one redemption: {ledger:?}");
    assert!(
        ledger[0].delivered_bytes.unwrap_or(0) > 0,
        "the end of the stream is recorded"
    );

    // the same record twice: the second is refused
    let tx = record(&ctx, s.agreement_id).await?;
    assert_eq!(
        ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &tx)).await?.0,
        200
    );
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &tx)).await?),
        (409, "already_redeemed".into()),
        "a second proof naming a redeemed record, even with a fresh nonce"
    );

    // the cap (2) is used: the chain refuses a third record, and fetch says so
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("cap_reached"), "{e:#}");

    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn proofs_that_are_not_the_consumers_own_for_this_gateway_and_still_valid_are_refused(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, "e2e_gateway_proofs").await?;
    let age = DataKey::generate();
    let s = share(&ctx, &p, &age, 100, None, 86_400).await?;
    let tx = record(&ctx, s.agreement_id).await?;

    let mut other_gateway = request(&ctx, &s, &tx);
    other_gateway.gateway = "gateway-elsewhere".into();
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &other_gateway).await?),
        (401, "wrong_gateway".into())
    );

    let mut expired = request(&ctx, &s, &tx);
    expired.expires = datapact_gateway::check::now() - 1;
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &expired).await?),
        (401, "proof_expired".into())
    );

    assert_eq!(
        refused(ask(&ctx, &p, STRANGER, &request(&ctx, &s, &tx)).await?),
        (403, "record_mismatch".into()),
        "a stranger naming someone else's record"
    );
    let mut unknown = request(&ctx, &s, &tx);
    unknown.record_tx = hash_hex("never sent").to_uppercase();
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &unknown).await?),
        (403, "record_not_found".into())
    );

    let mut other_version = request(&ctx, &s, &tx);
    other_version.version = 2;
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &other_version).await?),
        (404, "not_stored".into())
    );

    // none of these redeemed the record: the consumer's own valid proof still works
    assert_eq!(
        ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &tx)).await?.0,
        200
    );

    // no proof, or garbage
    let res = reqwest::get(format!("{}/v1/assets/{}/versions/1", p.url, s.asset_id)).await?;
    assert_eq!(res.status().as_u16(), 401);
    let res = reqwest::Client::new()
        .get(format!("{}/v1/assets/{}/versions/1", p.url, s.asset_id))
        .header("authorization", "DataPact %%%")
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(res.json::<RefusalBody>().await?.refused, "malformed_proof");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chains_answer_now_decides_a_suspension_an_expiry_and_a_tombstone_stop_a_recorded_access(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, "e2e_gateway_chain").await?;
    let age = DataKey::generate();

    // suspended by a sentinel's alert after the access was recorded
    let s = share(&ctx, &p, &age, 100, None, 86_400).await?;
    let tx = record(&ctx, s.agreement_id).await?;
    ctx.ok(
        "sentinel",
        "audit",
        &datapact_audit::msg::ExecuteMsg::ReportAlert {
            kind: "access_burst".into(),
            severity: Severity::High,
            subject: ctx.addr(CONSUMER),
            asset_id: Some(s.asset_id),
            evidence_hash: hash_hex("gateway e2e"),
            score: Decimal::percent(97),
            model_version: "e2e".into(),
        },
        &[],
    )
    .await?;
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &tx)).await?),
        (403, "consumer_suspended".into())
    );
    unsuspend(&ctx, CONSUMER).await?;
    assert_eq!(
        ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &tx)).await?.0,
        200,
        "a refusal does not redeem: once lifted, the record is delivered"
    );

    // expired between the record and the request
    let short = share(&ctx, &p, &age, 100, None, 6).await?;
    let tx = record(&ctx, short.agreement_id).await?;
    tokio::time::sleep(Duration::from_secs(7)).await;
    ctx.chain.wait_blocks(2, Duration::from_secs(30)).await?;
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &request(&ctx, &short, &tx)).await?),
        (403, "agreement_expired".into())
    );

    // tombstoned: refused, and the gateway deletes what it stored
    let t = share(&ctx, &p, &age, 100, None, 86_400).await?;
    let tx = record(&ctx, t.agreement_id).await?;
    ctx.ok(
        PROVIDER,
        "registry",
        &R::Tombstone {
            asset_id: t.asset_id,
        },
        &[],
    )
    .await?;
    assert!(p.files.store.path(t.asset_id, 1).exists());
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &request(&ctx, &t, &tx)).await?),
        (403, "asset_tombstoned".into())
    );
    assert!(
        !p.files.store.asset_dir(t.asset_id).exists(),
        "the ciphertext is gone"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_altered_ciphertext_is_refused_by_the_consumer_and_nothing_is_written(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, "e2e_gateway_tamper").await?;
    let age = DataKey::generate();
    let s = share(&ctx, &p, &age, 2_000, None, 86_400).await?;
    let stored = p.files.store.path(s.asset_id, 1);
    let out = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .join("tampered.csv");
    let mut cons = sender(CONSUMER, &ctx).await?;

    // a flipped byte: age's authentication fails
    let mut bytes = std::fs::read(&stored)?;
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&stored, &bytes)?;
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("decrypt"), "{e:#}");
    assert!(!out.exists(), "nothing written");

    // another file under the same key: decrypts, and the hash on chain catches it
    let other = stored.with_extension("other.csv");
    csv(&other, 2_000, 999)?;
    let key = p.files.keyring.load(s.asset_id, 1)?;
    datapact_plane::seal::seal(
        &key.public(),
        std::fs::File::open(&other)?,
        std::fs::File::create(&stored)?,
    )?;
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.downcast_ref::<FetchError>(),
            Some(FetchError::HashMismatch { .. })
        ),
        "{e:#}"
    );
    assert!(!out.exists(), "nothing written");
    Ok(())
}

/// `datapact gateway` as a child process on `port`, serving `files.store` with the ledger at
/// `db_url`; returns once it answers `/health`.
async fn gateway_process(
    ctx: &Ctx,
    files: &ProviderFiles,
    db_url: &str,
    port: u16,
) -> anyhow::Result<tokio::process::Child> {
    let child = tokio::process::Command::new(datapact_e2e::datapact_bin()?)
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

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_killed_mid_stream_keeps_the_redemption() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    unsuspend(&ctx, CONSUMER).await?;
    let p = plane(&ctx, "e2e_gateway_restart").await?;
    let db_url = fresh_database("e2e_gateway_restart").await?;
    let ledger = datapact_index::db::connect(&db_url, 2).await?;
    let age = DataKey::generate();
    // ~20 MB: more than the sockets between the two processes buffer
    let s = share(&ctx, &p, &age, 1_000_000, None, 86_400).await?;
    let tx = record(&ctx, s.agreement_id).await?;
    let r = request(&ctx, &s, &tx);
    let proof = AccessProof::sign(&r, localnet_wallet(CONSUMER)?.key(), &ctx.chain.prefix)?;
    let header = format!(
        "DataPact {}",
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&proof)?)
    );
    let port = free_port()?;
    let mut child = gateway_process(&ctx, &p.files, &db_url, port).await?;
    let url = format!(
        "http://127.0.0.1:{port}/v1/assets/{}/versions/1",
        s.asset_id
    );
    let mut res = reqwest::Client::new()
        .get(&url)
        .header("authorization", header.clone())
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 200);
    let first = res.chunk().await?.map_or(0, |c| c.len());
    assert!(first > 0, "the stream started");
    child.kill().await?; // the gateway dies mid-stream
    let mut received = first;
    while let Ok(Some(c)) = res.chunk().await {
        received += c.len();
    }
    let size = std::fs::metadata(p.files.store.path(s.asset_id, 1))?.len() as usize;
    assert!(
        received < size,
        "the stream was cut ({received} of {size} bytes)"
    );

    // the gateway comes back on the same ledger: the record stays redeemed
    let _child = gateway_process(&ctx, &p.files, &db_url, port).await?;
    let res = reqwest::Client::new()
        .get(&url)
        .header("authorization", header)
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 409);
    assert_eq!(res.json::<RefusalBody>().await?.refused, "already_redeemed");
    let rows = datapact_index::ledger::of_agreement(&ledger, s.agreement_id).await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].delivered_bytes, None,
        "the cut stream never completed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subject_grants_and_withdraws_and_one_without_a_wallet_signs_a_consent_a_relayer_records(
) -> anyhow::Result<()> {
    use datapact::participants::subject::{self, ConsentAsk};
    let _g = lock().await;
    let ctx = setup().await?;
    let ask = ConsentAsk {
        controller: ctx.addr(PROVIDER),
        asset_id: None,
        purposes: vec!["research".into()],
        days: Some(30),
    };
    let in_force = |list: &[datapact_types::consent::ConsentRecord], id: u64| {
        list.iter().any(|c| c.id == id && c.withdrawn_at.is_none())
    };

    let mut s = sender("subject-7", &ctx).await?;
    let (id, _) = subject::grant(&ctx.chain, &ctx.d, &mut s, &ask).await?;
    let mine = subject::consents(&ctx.chain, &ctx.d, &ctx.addr("subject-7")).await?;
    assert!(in_force(&mine, id), "granted: {mine:?}");
    subject::withdraw(&ctx.chain, &ctx.d, &mut s, id).await?;
    let mine = subject::consents(&ctx.chain, &ctx.d, &ctx.addr("subject-7")).await?;
    assert!(
        !in_force(&mine, id) && mine.iter().any(|c| c.id == id),
        "withdrawn, and still listed"
    );
    let e = subject::withdraw(&ctx.chain, &ctx.d, &mut s, id)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the chain refused"),
        "twice: {e:#}"
    );

    // no wallet: a bare key signs, relayer-1 pays
    let (key, _) = subject::new_subject_key();
    let signed = subject::sign_consent(&ctx.chain, &ctx.d, &key, &ask).await?;
    let mut relayer = sender("relayer-1", &ctx).await?;
    let (id, _) = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &signed).await?;
    let theirs = subject::consents(&ctx.chain, &ctx.d, &signed.subject).await?;
    assert!(
        in_force(&theirs, id),
        "recorded for {}: {theirs:?}",
        signed.subject
    );
    let e = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &signed)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the chain refused"),
        "a replayed signature: {e:#}"
    );
    let mut tampered = signed.clone();
    tampered.terms.purposes = vec!["marketing".into()];
    tampered.nonce += 1;
    let e = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &tampered)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the chain refused"),
        "terms changed after signing: {e:#}"
    );
    Ok(())
}
