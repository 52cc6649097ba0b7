//! End to end on a real wasmd chain: the deployed suite enforces its rules, moves money as the
//! terms say, responds to a sentinel's alert, survives a migration, and carries the seeded
//! workload with every outcome as the model planned.

use std::collections::BTreeSet;
use std::time::Duration;

use cosmwasm_std::{Binary, Coin, Decimal, Uint256};

use datapact_agreements::msg::{
    AgreementResponse, ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ,
};
use datapact_agreements::state::{AgreementStatus, OfferTerms};
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::{execute_msg, Sender};
use datapact_consent::msg::{ConsentResponse, ConsentsResponse, ExecuteMsg as C, QueryMsg as CQ};
use datapact_e2e::deal::{access, can_access, deal, DealTerms, DENOM};
use datapact_e2e::{hash_hex, lock, setup};
use datapact_registry::msg::{
    AssetResponse, AttestationsResponse, QueryMsg as RQ, VersionsResponse,
};
use datapact_sim::workload::{self, WorkloadConfig};
use datapact_types::agreements::DenyReason;
use datapact_types::consent::{AssetScope, ConsentTerms, LegalBasis};
use datapact_types::{Sensitivity, Severity};

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_consent_denies_the_next_access() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let d = deal(
        &ctx,
        "provider-0",
        "consumer-0",
        DealTerms {
            sensitivity: Sensitivity::Personal,
            ..Default::default()
        },
    )
    .await?;
    let subject = ctx.addr("subject-0");
    // the test chain is reused, and the workloads give subject-0 consents of their own (some
    // for all of provider-0's assets): withdraw them, so the one granted here is the only one
    let mut in_force = Vec::new();
    let mut after = None;
    loop {
        let page: ConsentsResponse = ctx
            .query(
                "consent",
                &CQ::BySubject {
                    subject: subject.clone(),
                    start_after: after,
                    limit: Some(100),
                },
            )
            .await?;
        let Some(last) = page.consents.last() else {
            break;
        };
        after = Some(last.id);
        in_force.extend(
            page.consents
                .iter()
                .filter(|c| c.withdrawn_at.is_none())
                .map(|c| c.id),
        );
    }
    if !in_force.is_empty() {
        let mut s = Sender::load(&ctx.chain, localnet_wallet("subject-0")?).await?;
        let consent = ctx.contract("consent");
        let msgs = in_force
            .iter()
            .map(|&consent_id| execute_msg(&s.addr(), &consent, &C::Withdraw { consent_id }, &[]))
            .collect::<anyhow::Result<Vec<_>>>()?;
        s.exec_auto(&ctx.chain, msgs).await?.into_ok()?;
    }
    let out = ctx
        .ok(
            "subject-0",
            "consent",
            &C::Grant {
                subject: None,
                terms: ConsentTerms {
                    controller: ctx.addr("provider-0"),
                    scope: AssetScope::Asset {
                        asset_id: d.asset_id,
                    },
                    purposes: vec!["research".into()],
                    legal_basis: LegalBasis::Consent,
                    expires_at: None,
                },
            },
            &[],
        )
        .await?;
    let consent_id: u64 = out
        .wasm_attr("grant", "consent_id")
        .unwrap_or_default()
        .parse()?;
    ctx.ok(
        "consumer-0",
        "agreements",
        &access(&d, Some(subject.clone())),
        &[],
    )
    .await?;

    ctx.ok("subject-0", "consent", &C::Withdraw { consent_id }, &[])
        .await?;
    let can = can_access(&ctx, "consumer-0", &d, Some(subject.clone())).await?;
    assert!(!can.allowed);
    assert_eq!(can.reason, Some(DenyReason::ConsentNotGranted));
    let denied = ctx
        .exec("consumer-0", "agreements", &access(&d, Some(subject)), &[])
        .await?;
    assert!(!denied.ok(), "an access after the withdrawal must fail");
    assert!(denied.log.contains("consent_not_granted"), "{}", denied.log);
    let rec: ConsentResponse = ctx.query("consent", &CQ::Consent { consent_id }).await?;
    assert!(rec.consent.withdrawn_at.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capped_agreement_refuses_the_access_after_its_cap() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let d = deal(
        &ctx,
        "provider-1",
        "consumer-1",
        DealTerms {
            cap: Some(2),
            ..Default::default()
        },
    )
    .await?;
    for _ in 0..2 {
        ctx.ok("consumer-1", "agreements", &access(&d, None), &[])
            .await?;
    }
    let denied = ctx
        .exec("consumer-1", "agreements", &access(&d, None), &[])
        .await?;
    assert!(!denied.ok());
    assert!(denied.log.contains("cap_reached"), "{}", denied.log);
    let a: AgreementResponse = ctx
        .query(
            "agreements",
            &AQ::Agreement {
                agreement_id: d.agreement_id,
            },
        )
        .await?;
    assert_eq!(
        a.agreement.access_count, 2,
        "the refused access is not counted"
    );
    assert_eq!(
        can_access(&ctx, "consumer-1", &d, None).await?.reason,
        Some(DenyReason::CapReached)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_owner_cannot_offer_an_asset() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let d = deal(&ctx, "provider-2", "consumer-2", DealTerms::default()).await?;
    let terms = OfferTerms {
        permitted_purposes: vec!["research".into()],
        prohibited_purposes: vec![],
        duration_seconds: 3600,
        access_cap: None,
        price: Coin {
            denom: DENOM.into(),
            amount: Uint256::from(1u128),
        },
        consent_required: false,
        delivery_share_bps: 2_500,
    };
    let out = ctx
        .exec(
            "consumer-2",
            "agreements",
            &A::CreateOffer {
                asset_id: d.asset_id,
                terms,
            },
            &[],
        )
        .await?;
    assert!(!out.ok(), "a consumer offered someone else's asset");
    assert!(out.log.contains("neither owns nor stewards"), "{}", out.log);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_move_as_the_terms_define() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let agreements = ctx.contract("agreements");
    let (consumer, provider) = (ctx.addr("consumer-3"), ctx.addr("provider-3"));
    let bal = |a: String| {
        let chain = ctx.chain.clone();
        async move { chain.balance(&a, DENOM).await }
    };
    let escrow_before = bal(agreements.clone()).await?;
    let consumer_before = bal(consumer.clone()).await?;
    let d = deal(
        &ctx,
        "provider-3",
        "consumer-3",
        DealTerms {
            price: 60_000_000,
            duration_seconds: 600,
            ..Default::default()
        },
    )
    .await?;
    // signing moved exactly the price (plus the sign tx's fee) into escrow
    assert_eq!(bal(agreements.clone()).await?, escrow_before + d.price);
    let consumer_after_sign = bal(consumer.clone()).await?;
    assert!(
        consumer_before - consumer_after_sign > d.price,
        "price plus a fee left the consumer"
    );

    let wrapped = A::DepositKey {
        agreement_id: d.agreement_id,
        wrapped_key: Binary::from(vec![7u8; 48]),
    };
    ctx.ok("provider-3", "agreements", &wrapped, &[]).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let p0 = bal(provider.clone()).await?;
    let claim = ctx
        .ok(
            "provider-3",
            "agreements",
            &A::Claim {
                agreement_id: d.agreement_id,
            },
            &[],
        )
        .await?;
    let claimed: u128 = claim
        .wasm_attr("claim", "amount")
        .unwrap_or_default()
        .parse()?;
    // the delivery share (25%) vested at the deposit, a few seconds of the rest since
    assert!(
        claimed >= d.price / 4 && claimed < d.price,
        "claimed {claimed} of {}",
        d.price
    );
    assert_eq!(
        bal(provider.clone()).await?,
        p0 + claimed - ctx.fee(&claim),
        "the provider got the vested part"
    );

    let (p1, c1) = (bal(provider.clone()).await?, bal(consumer.clone()).await?);
    let term = ctx
        .ok(
            "consumer-3",
            "agreements",
            &A::Terminate {
                agreement_id: d.agreement_id,
            },
            &[],
        )
        .await?;
    let paid: u128 = term
        .wasm_attr("terminate", "paid_to_provider")
        .unwrap_or_default()
        .parse()?;
    let refunded: u128 = term
        .wasm_attr("terminate", "refunded_to_consumer")
        .unwrap_or_default()
        .parse()?;
    assert_eq!(
        claimed + paid + refunded,
        d.price,
        "every coin of the price is accounted for"
    );
    assert!(refunded > 0);
    assert_eq!(bal(provider.clone()).await?, p1 + paid);
    assert_eq!(bal(consumer.clone()).await?, c1 + refunded - ctx.fee(&term));
    assert_eq!(
        bal(agreements).await?,
        escrow_before,
        "the escrow holds nothing for a settled agreement"
    );
    let a: AgreementResponse = ctx
        .query(
            "agreements",
            &AQ::Agreement {
                agreement_id: d.agreement_id,
            },
        )
        .await?;
    assert_eq!(a.agreement.status, AgreementStatus::Terminated);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sentinel_alert_suspends_the_consumers_agreements_until_lifted() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let d = deal(&ctx, "provider-4", "consumer-4", DealTerms::default()).await?;
    let d2 = deal(&ctx, "provider-5", "consumer-4", DealTerms::default()).await?;
    ctx.ok("consumer-4", "agreements", &access(&d, None), &[])
        .await?;

    let alert = datapact_audit::msg::ExecuteMsg::ReportAlert {
        kind: "access_burst".into(),
        severity: Severity::High,
        subject: ctx.addr("consumer-4"),
        asset_id: Some(d.asset_id),
        evidence_hash: hash_hex("e2e evidence"),
        score: Decimal::percent(97),
        model_version: "e2e".into(),
    };
    // only a sentinel may report
    assert!(!ctx.exec("consumer-0", "audit", &alert, &[]).await?.ok());
    let out = ctx.ok("sentinel", "audit", &alert, &[]).await?;
    let seq: u64 = out
        .wasm_attr("suspend_consumer", "alert_seq")
        .unwrap_or_default()
        .parse()?;

    let s: ConsumerSuspensionResponse = ctx
        .query(
            "agreements",
            &AQ::ConsumerSuspension {
                consumer: ctx.addr("consumer-4"),
            },
        )
        .await?;
    assert_eq!(s.suspension.map(|s| s.alert_seq), Some(seq));
    for deal in [&d, &d2] {
        let denied = ctx
            .exec("consumer-4", "agreements", &access(deal, None), &[])
            .await?;
        assert!(denied.log.contains("consumer_suspended"), "{}", denied.log);
    }

    ctx.ok(
        "responder",
        "audit",
        &datapact_audit::msg::ExecuteMsg::LiftSuspension { alert_seq: seq },
        &[],
    )
    .await?;
    ctx.ok("consumer-4", "agreements", &access(&d, None), &[])
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_to_a_new_code_id_keeps_state_and_deploy_is_idempotent() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let d = deal(&ctx, "provider-6", "consumer-5", DealTerms::default()).await?;
    ctx.ok("consumer-5", "agreements", &access(&d, None), &[])
        .await?;
    let registry = ctx.contract("registry");
    let agreements = ctx.contract("agreements");
    let asset_before: AssetResponse = ctx
        .query(
            "registry",
            &RQ::Asset {
                asset_id: d.asset_id,
            },
        )
        .await?;
    let agreement_before: AgreementResponse = ctx
        .query(
            "agreements",
            &AQ::Agreement {
                agreement_id: d.agreement_id,
            },
        )
        .await?;

    // the same bytes stored again get a new code id; migrate both contracts onto it
    let mut admin = datapact_chain::tx::Sender::load(
        &ctx.chain,
        datapact_chain::keys::localnet_wallet("admin")?,
    )
    .await?;
    for (name, addr) in [("registry", &registry), ("agreements", &agreements)] {
        let wasm = std::fs::read(
            datapact_e2e::workspace_root().join(format!("artifacts/datapact_{name}.wasm")),
        )?;
        let stored = admin
            .exec_auto(
                &ctx.chain,
                vec![datapact_chain::tx::store_code_msg(&admin.addr(), wasm)?],
            )
            .await?
            .into_ok()?;
        let code_id: u64 = stored
            .attr("store_code", "code_id")
            .unwrap_or_default()
            .parse()?;
        let (old_code, _, _) = ctx.chain.contract_info(addr).await?.expect("deployed");
        assert_ne!(old_code, code_id);
        let migrated = admin
            .exec_auto(
                &ctx.chain,
                vec![datapact_chain::tx::migrate_msg(
                    &admin.addr(),
                    addr,
                    code_id,
                    &serde_json::json!({}),
                )?],
            )
            .await?
            .into_ok()?;
        assert_eq!(
            migrated.wasm_attr("migrate", "contract_name"),
            Some(format!("crates.io:datapact-{name}").as_str())
        );
        let (now_code, _, _) = ctx.chain.contract_info(addr).await?.expect("deployed");
        assert_eq!(now_code, code_id);
    }
    let asset_after: AssetResponse = ctx
        .query(
            "registry",
            &RQ::Asset {
                asset_id: d.asset_id,
            },
        )
        .await?;
    let agreement_after: AgreementResponse = ctx
        .query(
            "agreements",
            &AQ::Agreement {
                agreement_id: d.agreement_id,
            },
        )
        .await?;
    assert_eq!(asset_before, asset_after);
    assert_eq!(agreement_before.agreement, agreement_after.agreement);
    // and the migrated contracts still work
    ctx.ok("consumer-5", "agreements", &access(&d, None), &[])
        .await?;

    // deploy sees the chain already runs these artifacts: nothing to do, twice
    let (first, report) = ctx.deploy_again().await?;
    assert!(!report.changed(), "{report:?}");
    let (second, report) = ctx.deploy_again().await?;
    assert!(!report.changed(), "{report:?}");
    assert_eq!(first, second);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeded_workload_runs_as_modelled_and_labels_every_injection() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let labels = datapact_e2e::workspace_root().join(".data/e2e/labels.jsonl");
    let cfg = WorkloadConfig {
        seed: 11,
        rounds: 4,
        batch: 3,
        inject: true,
        labels: labels.clone(),
    };
    // run() fails if any transaction's outcome differs from the model's expectation
    let summary = workload::run(&ctx.chain, &ctx.d, &cfg).await?;
    println!("{summary}");

    let kinds: BTreeSet<&str> = summary.labels.iter().map(|l| l.kind.as_str()).collect();
    for k in [
        "access_burst",
        "purpose_hopping",
        "access_after_withdrawal",
        "access_after_suspension",
        "denied_flood",
        "provenance_laundering",
    ] {
        assert!(kinds.contains(k), "no {k} label: {kinds:?}");
    }
    for l in &summary.labels {
        assert!(
            !l.txs.is_empty() && l.first_height.is_some(),
            "label {} names no transaction",
            l.kind
        );
    }
    let written = std::fs::read_to_string(&labels)?;
    assert_eq!(written.lines().count(), summary.labels.len());

    // the chain agrees with the model, agreement by agreement and consent by consent
    for a in &summary.agreements {
        let r: AgreementResponse = ctx
            .query("agreements", &AQ::Agreement { agreement_id: a.id })
            .await?;
        assert_eq!(
            r.agreement.access_count, a.count,
            "access count of agreement {}",
            a.id
        );
        let expected = if a.terminated {
            AgreementStatus::Terminated
        } else if a.suspended {
            AgreementStatus::Suspended
        } else {
            AgreementStatus::Active
        };
        assert_eq!(r.agreement.status, expected, "status of agreement {}", a.id);
        assert_eq!(r.agreement.wrapped_key.is_some(), a.keyed);
    }
    for c in &summary.consents {
        let r: ConsentResponse = ctx
            .query("consent", &CQ::Consent { consent_id: c.id })
            .await?;
        assert_eq!(
            r.consent.withdrawn_at.is_some(),
            c.withdrawn,
            "consent {}",
            c.id
        );
        assert_eq!(r.consent.subject, c.subject);
    }
    for a in &summary.assets {
        let id = a.id.expect("every planned asset was registered");
        let r: VersionsResponse = ctx
            .query(
                "registry",
                &RQ::Versions {
                    asset_id: id,
                    start_after: None,
                    limit: None,
                },
            )
            .await?;
        assert_eq!(
            r.versions.len() as u32,
            a.versions,
            "versions of asset {id}"
        );
    }
    // laundering: the launderer's sources carry no attestation, its product does
    let laundering = summary
        .labels
        .iter()
        .find(|l| l.kind == "provenance_laundering")
        .expect("label");
    let refs: Vec<(u64, u32)> = laundering
        .targets
        .iter()
        .filter_map(|t| datapact_analytics::target::version_of(t))
        .collect();
    assert_eq!(refs.len(), 3, "{:?}", laundering.targets);
    for (k, (asset_id, version)) in refs.iter().enumerate() {
        let r: AttestationsResponse = ctx
            .query(
                "registry",
                &RQ::Attestations {
                    asset_id: *asset_id,
                    version: *version,
                    start_after: None,
                    limit: None,
                },
            )
            .await?;
        assert_eq!(
            r.attestations.is_empty(),
            k < 2,
            "attestations of laundering step {k}"
        );
    }
    Ok(())
}
