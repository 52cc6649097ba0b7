//! The data plane end to end on a real wasmd chain and a real Postgres: a provider publishes a
//! real CSV encrypted, delivers its key, a consumer fetches it through the gateway and gets
//! the provider's bytes; every way a delivery must be refused is refused with its reason.

use std::path::Path;
use std::time::Duration;

use datapact::participants::consumer::{self, FetchError};
use datapact::participants::provider;
use datapact_chain::keys::localnet_wallet;
use datapact_e2e::hash_hex;
use datapact_e2e::plane::*;
use datapact_gateway::RefusalBody;
use datapact_plane::proof::AccessProof;
use datapact_registry::msg::ExecuteMsg as R;

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
    // a second gateway behind the same name and ledger (a load balancer's pool) knows it
    let (second, _server) = gateway(&ctx, &p.files, p.pool.clone()).await?;
    assert_eq!(
        refused(ask_at(&ctx, &second, CONSUMER, &request(&ctx, &s, &tx)).await?),
        (409, "already_redeemed".into()),
        "redeemed at the first gateway, replayed at the second"
    );
    let fresh = record(&ctx, s.agreement_id).await?;
    assert_eq!(
        ask_at(&ctx, &second, CONSUMER, &request(&ctx, &s, &fresh))
            .await?
            .0,
        200
    );
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &request(&ctx, &s, &fresh)).await?),
        (409, "already_redeemed".into()),
        "and the other way round"
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
    suspend(&ctx, s.asset_id).await?;
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
async fn a_version_published_later_gets_its_own_key_and_only_agreements_in_good_standing_get_it(
) -> anyhow::Result<()> {
    let (_g, ctx, p, age) = start("e2e_gateway_rotation").await?;
    let s = share(&ctx, &p, &age, 500, None, 86_400).await?;
    let dir = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut prov = sender(PROVIDER, &ctx).await?;
    let mut cons = sender(CONSUMER, &ctx).await?;
    let publish = |v: u64| {
        let (ctx, p, file) = (&ctx, &p, dir.join(format!("v{v}.csv")));
        async move {
            csv(&file, 300, 1_000 + v)?;
            let mut prov = sender(PROVIDER, ctx).await?;
            provider::publish(
                &ctx.chain,
                &ctx.d,
                &mut prov,
                &p.files,
                s.asset_id,
                &file,
                None,
                vec![],
            )
            .await?;
            anyhow::Ok(file)
        }
    };
    let fetch_version = |v: u32, out: &str| {
        let mut fp = plan(&p, &s, &dir.join(out));
        fp.version = Some(v);
        fp
    };

    // version 2 after the agreement: no key for it until the provider wraps one
    let v2 = publish(2).await?;
    let e = consumer::fetch(
        &ctx.chain,
        &ctx.d,
        &mut cons,
        &age,
        &fetch_version(2, "v2.out"),
    )
    .await
    .unwrap_err();
    assert!(format!("{e:#}").contains("key_not_delivered"), "{e:#}");
    assert!(
        datapact_index::ledger::of_agreement(&p.pool, s.agreement_id)
            .await?
            .is_empty(),
        "a refusal redeems nothing"
    );
    let (delivered, _) = provider::deliver_keys(&ctx.chain, &ctx.d, &mut prov, &p.files).await?;
    let mine: Vec<_> = delivered
        .iter()
        .filter(|d| d.agreement_id == s.agreement_id)
        .collect();
    assert_eq!(mine.len(), 1, "{delivered:?}");
    assert_eq!(
        (mine[0].deposit_tx.is_none(), mine[0].versions.as_slice()),
        (true, &[2][..]),
        "no second deposit: version 2's key wrapped to the agreement's key"
    );
    consumer::fetch(
        &ctx.chain,
        &ctx.d,
        &mut cons,
        &age,
        &fetch_version(2, "v2.out"),
    )
    .await?;
    assert_eq!(std::fs::read(dir.join("v2.out"))?, std::fs::read(&v2)?);

    // suspended: version 3 is published, and its key does not reach the suspended consumer
    suspend(&ctx, s.asset_id).await?;
    publish(3).await?;
    let (delivered, skipped) =
        provider::deliver_keys(&ctx.chain, &ctx.d, &mut prov, &p.files).await?;
    assert!(
        !delivered.iter().any(|d| d.agreement_id == s.agreement_id),
        "{delivered:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|k| k.agreement_id == s.agreement_id && k.why.contains("suspended")),
        "{skipped:?}"
    );
    assert!(!p
        .files
        .store
        .version_key(s.asset_id, 3, s.agreement_id)
        .exists());
    unsuspend(&ctx, CONSUMER).await?;
    let tx = record(&ctx, s.agreement_id).await?;
    let mut r = request(&ctx, &s, &tx);
    r.version = 3;
    assert_eq!(
        refused(ask(&ctx, &p, CONSUMER, &r).await?),
        (403, "key_not_delivered".into()),
        "lifted, but version 3 was never wrapped for it"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn personal_rows_leave_the_gateway_only_for_subjects_whose_consent_is_in_force_at_delivery(
) -> anyhow::Result<()> {
    use datapact::participants::subject::{self, ConsentAsk};
    let (_g, ctx, p, age) = start("e2e_gateway_personal").await?;
    // three subjects without wallets: their consents are signed off chain and relayed
    let keys: Vec<_> = (0..3).map(|_| subject::new_subject_key().0).collect();
    let ids: Vec<String> = keys
        .iter()
        .map(|k| {
            datapact_types::consent::key_subject_id(
                k.verifying_key().to_encoded_point(true).as_bytes(),
            )
        })
        .collect();
    let s = share_personal(&ctx, &p, &age, &ids, 4, false).await?;
    let mut relayer = sender("relayer-1", &ctx).await?;
    let ask = ConsentAsk {
        controller: ctx.addr(PROVIDER),
        asset_id: Some(s.asset_id),
        purposes: vec!["research".into()],
        days: Some(30),
    };
    let mut consents = Vec::new();
    for k in &keys[..2] {
        let signed = subject::sign_consent(&ctx.chain, &ctx.d, k, &ask).await?;
        consents.push(
            subject::relay(&ctx.chain, &ctx.d, &mut relayer, &signed)
                .await?
                .0,
        );
    }
    let dir = p.files.store.root().parent().unwrap_or(Path::new("."));
    let mut cons = sender(CONSUMER, &ctx).await?;
    // the subjects whose rows a fetched CSV holds, with their row counts
    let rows_of = |path: &Path| -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
        let text = std::fs::read_to_string(path)?;
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("subject,visit,score"), "one header");
        let mut counts = std::collections::BTreeMap::new();
        for l in lines {
            *counts
                .entry(l.split(',').next().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
        Ok(counts)
    };
    let only = |subjects: &[&String]| {
        subjects
            .iter()
            .map(|s| (s.to_string(), 4usize))
            .collect::<std::collections::BTreeMap<_, _>>()
    };

    // a and b consent, c never did: c's rows stay at the gateway
    let out = dir.join("personal-1.csv");
    let f = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out)).await?;
    assert_eq!(rows_of(&out)?, only(&[&ids[0], &ids[1]]));
    assert_eq!(f.withheld, Some(1));

    // b withdraws (signed off chain, relayed): the next delivery has a's rows only
    let w = subject::sign_withdrawal(&ctx.chain, &ctx.d, &keys[1], consents[1]).await?;
    subject::relay(&ctx.chain, &ctx.d, &mut relayer, &w).await?;
    let out = dir.join("personal-2.csv");
    let f = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out)).await?;
    assert_eq!(rows_of(&out)?, only(&[&ids[0]]));
    assert_eq!(
        (f.subjects.as_deref(), f.withheld),
        (Some(&ids[..1]), Some(2))
    );

    // an agreement with consent required names its subject: that subject's rows, if it consents
    let required =
        offer_and_sign(&ctx, &p, &age, s.asset_id, offer_terms(None, 86_400, true)).await?;
    let mut by_subject = plan(&p, &s, &dir.join("personal-a.csv"));
    by_subject.agreement_id = required;
    by_subject.subject = Some(ids[0].clone());
    consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &by_subject).await?;
    assert_eq!(rows_of(&by_subject.out)?, only(&[&ids[0]]));
    by_subject.subject = Some(ids[1].clone());
    by_subject.out = dir.join("personal-b.csv");
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &by_subject)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("consent_not_granted"),
        "b withdrew: {e:#}"
    );
    assert!(!by_subject.out.exists(), "nothing written");

    // a withdraws too: no subject consents, the gateway refuses with the chain's reason
    let w = subject::sign_withdrawal(&ctx.chain, &ctx.d, &keys[0], consents[0]).await?;
    subject::relay(&ctx.chain, &ctx.d, &mut relayer, &w).await?;
    let out = dir.join("personal-3.csv");
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &plan(&p, &s, &out))
        .await
        .unwrap_err();
    match e.downcast_ref::<FetchError>() {
        Some(FetchError::Refused { status, body }) => {
            assert_eq!(
                (*status, body.refused.as_str()),
                (403, "consent_not_granted")
            )
        }
        _ => panic!("refused by the gateway: {e:#}"),
    }
    assert!(!out.exists(), "nothing written");
    Ok(())
}
