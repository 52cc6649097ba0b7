//! The participants' commands end to end on a real wasmd chain: subjects grant and withdraw
//! (with a wallet, or a bare key's signature relayed by anyone), and an owner's stewards manage
//! an asset through the `datapact` binary.

use datapact_e2e::plane::*;
use datapact_e2e::{lock, setup};

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

#[tokio::test(flavor = "multi_thread")]
async fn a_checker_attests_a_passing_file_and_a_consumer_requiring_one_refuses_a_version_without(
) -> anyhow::Result<()> {
    use datapact::participants::{consumer, provider, quality};
    use sha2::{Digest, Sha256};
    let (_g, ctx, p, age) = start("e2e_gateway_quality").await?;
    let s = share(&ctx, &p, &age, 300, None, 86_400).await?;
    let checker = "attestor-5";
    let dir = p
        .files
        .store
        .root()
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let check = |file: &std::path::Path, version: u32, report: &str| {
        let mut cmd = tokio::process::Command::new(datapact_e2e::datapact_bin().unwrap());
        cmd.arg("quality")
            .arg(file)
            .args(["--attest", "--asset", &s.asset_id.to_string()])
            .args(["--version", &version.to_string(), "--report"])
            .arg(dir.join(report))
            .args(["--rpc", &ctx.chain.url, "--deployment"])
            .arg(&ctx.deployment_path)
            .args(["--as", checker, "--record"])
            .env("DATABASE_URL", &p.db_url)
            .env_remove("DATAPACT_KEY");
        cmd
    };

    // the published file passes and is attested, its report's hash on chain
    let o = check(&s.original, 1, "v1.quality.json").output().await?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let trusted = vec![ctx.addr(checker)];
    assert_eq!(
        quality::passed_by(&ctx.chain, &ctx.d, s.asset_id, 1, &trusted).await?,
        Some(ctx.addr(checker))
    );
    let report = std::fs::read(dir.join("v1.quality.json"))?;
    let listed: datapact_registry::msg::AttestationsResponse = ctx
        .query(
            "registry",
            &datapact_registry::msg::QueryMsg::Attestations {
                asset_id: s.asset_id,
                version: 1,
                start_after: None,
                limit: None,
            },
        )
        .await?;
    assert!(
        listed
            .attestations
            .iter()
            .any(|a| a.evidence_hash == hex::encode(Sha256::digest(&report))),
        "the evidence hash is the report's"
    );

    // a consumer requiring the checker's pass fetches version 1
    let mut cons = sender(CONSUMER, &ctx).await?;
    let mut fp = plan(&p, &s, &dir.join("attested.csv"));
    fp.require_quality = trusted.clone();
    consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &fp).await?;

    // version 2 fails its check (a fare that is not a number): nothing is attested, and the
    // consumer refuses it before recording anything
    let bad = dir.join("v2.csv");
    let text = std::fs::read_to_string(&s.original)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut first: Vec<&str> = lines[1].split(',').collect();
    first[2] = "n/a"; // distance_km
    lines[1] = first.join(",");
    std::fs::write(&bad, lines.join("\n") + "\n")?;
    let mut prov = sender(PROVIDER, &ctx).await?;
    provider::publish(
        &ctx.chain,
        &ctx.d,
        &mut prov,
        &p.files,
        s.asset_id,
        &bad,
        None,
        vec![],
    )
    .await?;
    provider::deliver_keys(&ctx.chain, &ctx.d, &mut prov, &p.files).await?;
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"columns": {"distance_km": {"type": "number"}}}"#,
    )?;
    let o = check(&bad, 2, "v2.quality.json")
        .arg("--rules")
        .arg(&rules)
        .output()
        .await?;
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        quality::passed_by(&ctx.chain, &ctx.d, s.asset_id, 2, &trusted).await?,
        None
    );
    let before = ctx.chain.account(&ctx.addr(CONSUMER)).await?;
    fp.version = Some(2);
    fp.out = dir.join("unattested.csv");
    let e = consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &fp)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("no passing quality attestation"),
        "{e:#}"
    );
    assert_eq!(
        ctx.chain.account(&ctx.addr(CONSUMER)).await?,
        before,
        "nothing recorded"
    );
    assert!(!fp.out.exists());
    // without the requirement the same version is fetched
    fp.require_quality.clear();
    consumer::fetch(&ctx.chain, &ctx.d, &mut cons, &age, &fp).await?;

    // a gateway that trusts the checker serves version 1 and refuses version 2
    let (strict, _server) = gateway_requiring(&ctx, &p.files, p.pool.clone(), trusted).await?;
    for (version, want) in [
        (1u32, (200, String::new())),
        (2, (403, "quality_not_attested".into())),
    ] {
        let tx = record(&ctx, s.agreement_id).await?;
        let mut r = request(&ctx, &s, &tx);
        r.version = version;
        assert_eq!(
            refused(ask_at(&ctx, &strict, CONSUMER, &r).await?),
            want,
            "version {version}"
        );
    }

    // both reports are in the index; the dashboard shows each, its hash checked, and who
    // attested it on chain (once the chain is indexed)
    datapact_e2e::pipeline::ingest_all(&ctx, &p.pool, 1).await?;
    let app = datapact_e2e::pipeline::router(p.pool.clone());
    for (file, passed, attested) in [
        ("v1.quality.json", true, vec![ctx.addr(checker)]),
        ("v2.quality.json", false, vec![]),
    ] {
        let sha = hex::encode(Sha256::digest(std::fs::read(dir.join(file))?));
        let (status, body) =
            datapact_e2e::pipeline::get(&app, &format!("/api/quality/{sha}")).await?;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(v["hash_matches"], true);
        assert_eq!(v["passed"], passed, "{file}");
        assert_eq!(v["attested_by"], serde_json::json!(attested), "{file}");
        let (status, page) =
            datapact_e2e::pipeline::get(&app, &format!("/assets/{}", s.asset_id)).await?;
        assert_eq!(status, 200);
        assert!(
            page.contains(&format!("/quality/{sha}")),
            "the asset page links {file}"
        );
    }
    let (_, page) = datapact_e2e::pipeline::get(
        &app,
        &format!(
            "/quality/{}",
            hex::encode(Sha256::digest(std::fs::read(dir.join("v2.quality.json"))?))
        ),
    )
    .await?;
    assert!(
        page.contains("distance_km"),
        "the failed check names its column"
    );
    Ok(())
}
