//! Bad input to every participant command and to the gateway's endpoint, on a real wasmd chain
//! and a real Postgres: each says what was wrong and how to fix it, and changes nothing (no
//! transaction sent, the store, the keyring and the redemption ledger as they were).

use std::path::Path;

use datapact_e2e::plane::*;
use datapact_gateway::RefusalBody;
use datapact_registry::msg::ExecuteMsg as R;

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
            anyhow::Ok(o.wasm_id::<u64>("register_asset", "asset_id")?.to_string())
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
