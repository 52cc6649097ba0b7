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
