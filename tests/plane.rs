//! The data plane end to end on a real wasmd chain and a real Postgres: a provider publishes a
//! real CSV encrypted, delivers its key, a consumer fetches it through the gateway and gets
//! the provider's bytes; every way a delivery must be refused is refused with its reason.

use std::path::Path;
use std::time::Duration;

use datapact::participants::consumer::{self, FetchError};
use datapact::participants::provider;
use datapact_chain::keys::localnet_wallet;
use datapact_e2e::plane::*;
use datapact_e2e::{hash_hex, lock, setup};
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
    if let datapact_types::consent::SignedAction::Grant { terms } = &mut tampered.action {
        terms.purposes = vec!["marketing".into()];
    }
    tampered.nonce += 1;
    let e = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &tampered)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the chain refused"),
        "terms changed after signing: {e:#}"
    );
    // the key's holder withdraws the same way: signed off chain, relayed by anyone; another
    // key's signature over the same withdrawal is refused while the consent is in force
    let stranger =
        subject::sign_withdrawal(&ctx.chain, &ctx.d, &subject::new_subject_key().0, id).await?;
    let e = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &stranger)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the chain refused"),
        "another key cannot withdraw it: {e:#}"
    );
    let theirs = subject::consents(&ctx.chain, &ctx.d, &signed.subject).await?;
    assert!(in_force(&theirs, id), "still in force: {theirs:?}");
    let w = subject::sign_withdrawal(&ctx.chain, &ctx.d, &key, id).await?;
    let (wid, _) = subject::relay(&ctx.chain, &ctx.d, &mut relayer, &w).await?;
    assert_eq!(wid, id);
    let theirs = subject::consents(&ctx.chain, &ctx.d, &signed.subject).await?;
    assert!(!in_force(&theirs, id), "withdrawn by its key: {theirs:?}");
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
async fn bad_input_to_every_participant_command_says_what_to_do_and_changes_nothing(
) -> anyhow::Result<()> {
    let (_g, ctx, p, age) = start("e2e_gateway_bad_input").await?;
    let s = share(&ctx, &p, &age, 50, None, 86_400).await?;
    // assets whose policy a command must enforce
    let register = |sensitivity| {
        let ctx = &ctx;
        async move {
            let o = ctx
                .ok(
                    PROVIDER,
                    "registry",
                    &R::RegisterAsset {
                        name: "policy".into(),
                        description: None,
                        sensitivity,
                        tags: vec![],
                    },
                    &[],
                )
                .await?;
            anyhow::Ok(
                o.wasm_attr("register_asset", "asset_id")
                    .map(str::to_string)
                    .unwrap_or_default(),
            )
        }
    };
    let personal = register(datapact_types::Sensitivity::Personal).await?;
    let special = register(datapact_types::Sensitivity::SpecialCategory).await?;
    let dir = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let age_file = dir.join("consumer.agekey");
    std::fs::write(&age_file, age.key_file())?;
    let garbage = dir.join("garbage.csv");
    std::fs::write(&garbage, [0xffu8, 0xfe, 0x00, 0x01, b'\n', 0x00])?;
    std::fs::write(dir.join("not-json.json"), "{ this is not json")?;
    std::fs::write(dir.join("bad.key"), "not hex at all\n")?;
    let out = dir.join("bad-fetch.csv");
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let taken_port = taken.local_addr()?.port().to_string();

    let chain_args = |who: &str, role: &str, action: &[String]| -> Vec<String> {
        let mut v = vec![
            role.to_string(),
            "--rpc".into(),
            ctx.chain.url.clone(),
            "--deployment".into(),
            ctx.deployment_path.display().to_string(),
        ];
        if !who.is_empty() {
            v.extend(["--as".into(), who.into()]);
        }
        if role == "provider" {
            v.extend([
                "--store".into(),
                p.files.store.root().display().to_string(),
                "--keyring".into(),
                p.files.keyring.dir.display().to_string(),
            ]);
        }
        if role == "consumer" && !action.iter().any(|a| a == "--age-key") {
            v.extend(["--age-key".into(), age_file.display().to_string()]);
        }
        v
    };
    let d = dir.display().to_string();
    let agreement = s.agreement_id.to_string();
    let asset = s.asset_id.to_string();
    // (who, role, arguments, what the message must say)
    let cases: Vec<(&str, &str, Vec<String>, &str)> = vec![
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                asset.clone(),
                format!("{d}/missing.csv"),
            ],
            "missing.csv",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                asset.clone(),
                garbage.display().to_string(),
            ],
            "not a CSV file",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                personal.clone(),
                s.original.display().to_string(),
            ],
            "--subject-column",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                personal.clone(),
                "--subject-column".into(),
                "patient".into(),
                s.original.display().to_string(),
            ],
            "no column \"patient\"",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                asset.clone(),
                "--parent".into(),
                "3".into(),
                s.original.display().to_string(),
            ],
            "ASSET:VERSION",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "publish".into(),
                "--asset".into(),
                "999999".into(),
                s.original.display().to_string(),
            ],
            "999999",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "offer".into(),
                "--asset".into(),
                special.clone(),
                "--purpose".into(),
                "research".into(),
            ],
            "--consent-required",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "register".into(),
                "--name".into(),
                "x".into(),
                "--sensitivity".into(),
                "secret".into(),
            ],
            "special_category",
        ),
        (
            STRANGER,
            "provider",
            vec!["tombstone".into(), "--asset".into(), asset.clone()],
            "the chain refused",
        ),
        (
            "",
            "provider",
            vec![
                "register".into(),
                "--name".into(),
                "x".into(),
                "--sensitivity".into(),
                "public".into(),
            ],
            "--key-file",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "fetch".into(),
                "--agreement".into(),
                "999999".into(),
                "--out".into(),
                out.display().to_string(),
            ],
            "999999",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "fetch".into(),
                "--agreement".into(),
                agreement.clone(),
                "--gateway".into(),
                "http://127.0.0.1:9".into(),
                "--out".into(),
                out.display().to_string(),
            ],
            "nothing was recorded",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "fetch".into(),
                "--agreement".into(),
                agreement.clone(),
                "--gateway".into(),
                p.url.clone(),
                "--out".into(),
                s.original.display().to_string(),
            ],
            "never overwrites",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "fetch".into(),
                "--agreement".into(),
                agreement.clone(),
                "--gateway".into(),
                p.url.clone(),
                "--out".into(),
                format!("{d}/no/such/dir/x.csv"),
            ],
            "cannot write beside",
        ),
        (
            STRANGER,
            "consumer",
            vec![
                "fetch".into(),
                "--agreement".into(),
                agreement.clone(),
                "--gateway".into(),
                p.url.clone(),
                "--out".into(),
                out.display().to_string(),
            ],
            "fetch with the consumer's key",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "sign".into(),
                "--offer".into(),
                "999999".into(),
                "--purpose".into(),
                "research".into(),
            ],
            "999999",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "--age-key".into(),
                format!("{d}/none.agekey"),
                "sign".into(),
                "--offer".into(),
                "1".into(),
                "--purpose".into(),
                "research".into(),
            ],
            "consumer keygen",
        ),
        (
            "subject-7",
            "subject",
            vec!["withdraw".into(), "--consent".into(), "999999".into()],
            "the chain refused",
        ),
        (
            "subject-7",
            "subject",
            vec![
                "grant".into(),
                "--controller".into(),
                "not-an-address".into(),
                "--purpose".into(),
                "research".into(),
            ],
            "the chain refused",
        ),
        (
            "relayer-1",
            "subject",
            vec!["relay".into(), format!("{d}/not-json.json")],
            "is not a signed consent",
        ),
        (
            "",
            "subject",
            vec![
                "sign-consent".into(),
                "--subject-key".into(),
                format!("{d}/bad.key"),
                "--controller".into(),
                ctx.addr(PROVIDER),
                "--purpose".into(),
                "research".into(),
                "--out".into(),
                format!("{d}/c.json"),
            ],
            "64 hex digits",
        ),
        (
            "",
            "gateway",
            vec![
                "--addr".into(),
                format!("127.0.0.1:{taken_port}"),
                "--no-metrics".into(),
            ],
            "is the port taken",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "add-steward".into(),
                "--asset".into(),
                asset.clone(),
                "--steward".into(),
                "not-an-address".into(),
            ],
            "the chain refused",
        ),
        (
            PROVIDER,
            "provider",
            vec![
                "remove-steward".into(),
                "--asset".into(),
                asset.clone(),
                "--steward".into(),
                ctx.addr(STRANGER),
            ],
            "the chain refused",
        ),
        (
            PROVIDER,
            "provider",
            vec!["deliver-keys".into(), "--interval".into(), "soon".into()],
            "invalid value",
        ),
        (
            CONSUMER,
            "consumer",
            vec![
                "--age-key".into(),
                age_file.display().to_string(),
                "keygen".into(),
            ],
            "never overwritten",
        ),
        (
            CONSUMER,
            "consumer",
            vec!["offers".into(), "--asset".into(), "first".into()],
            "invalid value",
        ),
        ("", "consumer", vec!["status".into()], "--key-file"),
        (
            "",
            "subject",
            vec!["keygen".into(), "--out".into(), format!("{d}/bad.key")],
            "never overwritten",
        ),
        (
            "",
            "subject",
            vec![
                "sign-withdrawal".into(),
                "--subject-key".into(),
                format!("{d}/bad.key"),
                "--consent".into(),
                "1".into(),
                "--out".into(),
                format!("{d}/w.json"),
            ],
            "64 hex digits",
        ),
        ("", "subject", vec!["status".into()], "--key-file"),
    ];
    let account = |name: &str| {
        let ctx = &ctx;
        let addr = ctx.addr(name);
        async move { ctx.chain.account(&addr).await }
    };
    let names = [PROVIDER, CONSUMER, STRANGER, "subject-7", "relayer-1"];
    let mut before = Vec::new();
    for n in names {
        before.push(account(n).await?);
    }
    let listing = |root: &Path| -> Vec<String> {
        let mut v: Vec<String> = walk(root);
        v.sort();
        v
    };
    let (store_before, keys_before) =
        (listing(p.files.store.root()), listing(&p.files.keyring.dir));
    for (who, role, args, says) in &cases {
        let mut full = chain_args(who, role, args);
        // --as and the role's flags go before the action
        let split = full.len();
        full.extend(args.iter().cloned());
        let o = tokio::process::Command::new(datapact_e2e::datapact_bin()?)
            .args(&full)
            .env("DATABASE_URL", &p.db_url)
            .env_remove("DATAPACT_KEY")
            .output()
            .await?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(
            !o.status.success(),
            "{:?} succeeded: {text}",
            &full[split..]
        );
        assert!(
            text.contains(says),
            "{role} {:?}: the message should say {says:?}, said: {text}",
            &full[split..]
        );
        assert!(!text.contains("panicked"), "{text}");
    }
    drop(taken);
    // and the gateway's endpoint: JSON refusals with a stable reason, whatever is sent
    let http = reqwest::Client::new();
    for (path, auth, want) in [
        (
            format!("/v1/assets/{asset}/versions/1"),
            None,
            (401, "no_proof"),
        ),
        (
            format!("/v1/assets/{asset}/versions/1"),
            Some("DataPact !!!not base64"),
            (401, "malformed_proof"),
        ),
        (
            format!("/v1/assets/{asset}/versions/1"),
            Some("Bearer abc"),
            (401, "no_proof"),
        ),
        (
            "/v1/assets/x/versions/1".to_string(),
            None,
            (400, "bad_path"),
        ),
        (
            "/v1/assets/1/versions/99999999999".to_string(),
            None,
            (400, "bad_path"),
        ),
    ] {
        let mut req = http.get(format!("{}{path}", p.url));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let body: RefusalBody = res.json().await?;
        assert_eq!((status, body.refused.as_str()), want, "{path} {auth:?}");
    }
    for (n, b) in names.iter().zip(before) {
        assert_eq!(account(n).await?, b, "{n} sent no transaction");
    }
    assert_eq!(
        listing(p.files.store.root()),
        store_before,
        "the store is untouched"
    );
    assert_eq!(
        listing(&p.files.keyring.dir),
        keys_before,
        "the keyring is untouched"
    );
    assert!(!out.exists(), "nothing fetched");
    assert!(
        datapact_index::ledger::of_agreement(&p.pool, s.agreement_id)
            .await?
            .is_empty(),
        "nothing redeemed"
    );
    Ok(())
}

/// Every file under `root`, relative, with its length.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push(format!(
                    "{} {len}",
                    path.strip_prefix(root).unwrap_or(&path).display()
                ));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_adds_a_steward_who_then_publishes_and_removed_cannot() -> anyhow::Result<()> {
    let (_g, ctx, p, age) = start("e2e_gateway_stewards").await?;
    let s = share(&ctx, &p, &age, 50, None, 86_400).await?;
    let steward = "provider-7";
    let run = |who: &str, action: Vec<String>| {
        let mut args: Vec<String> = vec![
            "provider".into(),
            "--json".into(),
            "--rpc".into(),
            ctx.chain.url.clone(),
            "--deployment".into(),
            ctx.deployment_path.display().to_string(),
            "--as".into(),
            who.into(),
            "--store".into(),
            p.files.store.root().display().to_string(),
            "--keyring".into(),
            p.files.keyring.dir.display().to_string(),
        ];
        args.extend(action);
        async move {
            let o = tokio::process::Command::new(datapact_e2e::datapact_bin()?)
                .args(&args)
                .env_remove("DATAPACT_KEY")
                .output()
                .await?;
            anyhow::Ok((
                o.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            ))
        }
    };
    let asset = s.asset_id.to_string();
    let file = s.original.display().to_string();
    let publish = || {
        vec![
            "publish".into(),
            "--asset".into(),
            asset.clone(),
            file.clone(),
        ]
    };
    let stewarding = |what: &str| {
        vec![
            what.to_string(),
            "--asset".into(),
            asset.clone(),
            "--steward".into(),
            ctx.addr(steward),
        ]
    };

    let (ok, text) = run(steward, publish()).await?;
    assert!(
        !ok && text.contains("the chain refused"),
        "not yet a steward: {text}"
    );
    let (ok, text) = run(PROVIDER, stewarding("add-steward")).await?;
    assert!(ok, "{text}");
    let (ok, text) = run(steward, publish()).await?;
    assert!(ok, "a steward publishes: {text}");
    let published: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(published["version"], 2);
    let (ok, text) = run(steward, stewarding("add-steward")).await?;
    assert!(
        !ok && text.contains("the chain refused"),
        "only the owner adds: {text}"
    );
    let (ok, text) = run(PROVIDER, stewarding("remove-steward")).await?;
    assert!(ok, "{text}");
    let (ok, text) = run(steward, publish()).await?;
    assert!(!ok && text.contains("the chain refused"), "removed: {text}");
    Ok(())
}
