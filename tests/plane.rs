//! The data plane end to end on a real wasmd chain and a real Postgres: a provider publishes a
//! real CSV encrypted, delivers its key, a consumer fetches it through the gateway and gets
//! the provider's bytes; every way a delivery must be refused is refused with its reason.

use std::path::Path;
use std::time::Duration;

use cosmwasm_std::Decimal;
use datapact::participants::consumer::{self, FetchError};
use datapact_chain::keys::localnet_wallet;
use datapact_e2e::plane::*;
use datapact_e2e::{hash_hex, lock, setup};
use datapact_gateway::RefusalBody;
use datapact_plane::proof::AccessProof;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_types::Severity;

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_fetches_a_real_csv_and_gets_the_providers_bytes_once_per_recorded_access(
) -> anyhow::Result<()> {
    let (_g, ctx, p, age) = start("e2e_gateway_fetch").await?;
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
    let (_g, ctx, p, age) = start("e2e_gateway_proofs").await?;
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
    let (_g, ctx, p, age) = start("e2e_gateway_chain").await?;

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
    let (_g, ctx, p, age) = start("e2e_gateway_tamper").await?;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_killed_mid_stream_keeps_the_redemption() -> anyhow::Result<()> {
    let (_g, ctx, p, age) = start("e2e_gateway_restart").await?;
    let (db_url, ledger) = (p.db_url.clone(), p.pool.clone());
    // ~20 MB: more than the sockets between the two processes buffer
    let s = share(&ctx, &p, &age, 1_000_000, None, 86_400).await?;
    let tx = record(&ctx, s.agreement_id).await?;
    let r = request(&ctx, &s, &tx);
    let proof = AccessProof::sign(&r, localnet_wallet(CONSUMER)?.key(), &ctx.chain.prefix)?;
    let header = proof.to_header();
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
