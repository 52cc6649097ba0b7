//! Prints each artifact's size and the VM gas of each execute message and main query, with
//! cw20-base's `transfer` and `balance` (built and optimized the same way) as the yardstick.
//!
//! Usage: `make bench-contracts` (builds the yardstick first), or
//! `YARDSTICK_WASM=path/to/cw20_base.wasm cargo run -p datapact-vm --bin bench-contracts`.

use anyhow::{Context, Result};
use cosmwasm_std::{coin, Binary, Decimal, WasmQuery};
use datapact_agreements::msg::{ExecuteMsg as A, InstantiateMsg as AI, QueryMsg as AQ};
use datapact_audit::msg::{ExecuteMsg as U, InstantiateMsg as UI, QueryMsg as UQ};
use datapact_consent::msg::{ExecuteMsg as C, InstantiateMsg as CI};
use datapact_registry::msg::{
    ExecuteMsg as R, InstantiateMsg as RI, LineageDirection, QueryMsg as RQ,
};
use datapact_types::consent::{AssetScope, ConsentQuery, ConsentTerms, LegalBasis};
use datapact_types::registry::RegistryQuery;
use datapact_types::{Sensitivity, Severity, VersionRef};
use datapact_vm::{addr, artifact, artifacts_dir, Vm};
use serde_json::json;

struct Row {
    contract: &'static str,
    call: String,
    gas: u64,
}

/// A lowercase hex SHA-256, as every content and evidence hash is.
fn hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn terms(controller: &str) -> ConsentTerms {
    ConsentTerms {
        controller: controller.to_string(),
        scope: AssetScope::Asset { asset_id: 1 },
        purposes: vec!["research".into()],
        legal_basis: LegalBasis::Consent,
        expires_at: None,
    }
}

fn main() -> Result<()> {
    let mut rows: Vec<Row> = vec![];
    let mut push = |contract: &'static str, call: &str, gas: u64| {
        rows.push(Row {
            contract,
            call: call.to_string(),
            gas,
        })
    };
    let (owner, steward, attestor, consumer, subject) = (
        addr("owner"),
        addr("steward"),
        addr("attestor"),
        addr("consumer"),
        addr("subject"),
    );

    // registry
    let mut reg = Vm::new(&artifact("registry")?);
    push(
        "registry",
        "instantiate",
        reg.instantiate(&owner, &RI {}, &[])?.1,
    );
    let register = R::RegisterAsset {
        name: "admissions 2026".into(),
        description: Some("hospital admissions".into()),
        sensitivity: Sensitivity::Personal,
        tags: vec!["health".into()],
    };
    push(
        "registry",
        "register_asset",
        reg.execute(&owner, &register, &[])?.1,
    );
    reg.execute(&owner, &register, &[])?;
    push(
        "registry",
        "add_steward",
        reg.execute(
            &owner,
            &R::AddSteward {
                asset_id: 1,
                steward: steward.to_string(),
            },
            &[],
        )?
        .1,
    );
    let publish = |asset_id, parents: Vec<VersionRef>| R::PublishVersion {
        asset_id,
        content_hash: hash(&format!("{asset_id}{parents:?}")),
        schema_hash: Some(hash("schema")),
        uri: Some("s3://datapact/admissions/v1.parquet".into()),
        parents,
    };
    push(
        "registry",
        "publish_version (root)",
        reg.execute(&owner, &publish(1, vec![]), &[])?.1,
    );
    push(
        "registry",
        "publish_version (1 parent)",
        reg.execute(
            &owner,
            &publish(
                1,
                vec![VersionRef {
                    asset_id: 1,
                    version: 1,
                }],
            ),
            &[],
        )?
        .1,
    );
    push(
        "registry",
        "publish_version (2 parents)",
        reg.execute(
            &owner,
            &publish(
                2,
                vec![
                    VersionRef {
                        asset_id: 1,
                        version: 1,
                    },
                    VersionRef {
                        asset_id: 1,
                        version: 2,
                    },
                ],
            ),
            &[],
        )?
        .1,
    );
    push(
        "registry",
        "attest",
        reg.execute(
            &attestor,
            &R::Attest {
                asset_id: 1,
                version: 1,
                claim: "schema_valid".into(),
                evidence_hash: hash("ev"),
            },
            &[],
        )?
        .1,
    );
    push(
        "registry",
        "query asset",
        reg.query_raw(&RQ::Asset { asset_id: 1 })?.1,
    );
    push(
        "registry",
        "query lineage (ancestors)",
        reg.query_raw(&RQ::Lineage {
            asset_id: 2,
            version: 1,
            direction: LineageDirection::Ancestors,
            max_depth: None,
        })?
        .1,
    );
    let role_q = RegistryQuery::AssetRole {
        asset_id: 1,
        address: owner.to_string(),
    };
    let (role_answer, role_gas) = reg.query_raw(&role_q)?;
    push("registry", "query asset_role", role_gas);

    // consent
    let mut con = Vm::new(&artifact("consent")?);
    push(
        "consent",
        "instantiate",
        con.instantiate(&owner, &CI {}, &[])?.1,
    );
    push(
        "consent",
        "grant",
        con.execute(
            &subject,
            &C::Grant {
                subject: None,
                terms: terms(owner.as_str()),
            },
            &[],
        )?
        .1,
    );
    let status_q = ConsentQuery::ConsentStatus {
        subject: subject.to_string(),
        controller: owner.to_string(),
        asset_id: 1,
        purpose: "research".into(),
        at: None,
    };
    let (status_answer, status_gas) = con.query_raw(&status_q)?;
    push("consent", "query consent_status", status_gas);
    con.execute(
        &subject,
        &C::Grant {
            subject: None,
            terms: terms(owner.as_str()),
        },
        &[],
    )?;
    push(
        "consent",
        "withdraw",
        con.execute(&subject, &C::Withdraw { consent_id: 2 }, &[])?
            .1,
    );

    // agreements, answered by the real registry and consent artifacts' bytes
    let mut agr = Vm::new(&artifact("agreements")?);
    let (reg_addr, con_addr) = (addr("registry").to_string(), addr("consent").to_string());
    let (ra, ca) = (reg_addr.clone(), con_addr.clone());
    agr.answer_wasm_queries(move |q| match q {
        WasmQuery::Smart { contract_addr, .. } if *contract_addr == ra => Some(role_answer.clone()),
        WasmQuery::Smart { contract_addr, .. } if *contract_addr == ca => {
            Some(status_answer.clone())
        }
        // raw reads of the registry's tombstone map: not tombstoned
        _ => None,
    })?;
    push(
        "agreements",
        "instantiate",
        agr.instantiate(
            &owner,
            &AI {
                registry: reg_addr,
                consent: con_addr,
                audit: Some(addr("audit").to_string()),
                admin: None,
            },
            &[],
        )?
        .1,
    );
    let offer = |price: u128, consent_required: bool| A::CreateOffer {
        asset_id: 1,
        terms: datapact_agreements::state::OfferTerms {
            permitted_purposes: vec!["research".into(), "analytics".into()],
            prohibited_purposes: vec!["marketing".into()],
            duration_seconds: 90 * 86_400,
            access_cap: Some(1_000),
            price: coin(price, "udpt"),
            consent_required,
            delivery_share_bps: 2_500,
        },
    };
    push(
        "agreements",
        "create_offer (+asset_role query)",
        agr.execute(&owner, &offer(1000, false), &[])?.1 + role_gas,
    );
    agr.execute(&owner, &offer(0, true), &[])?;
    let sign = |offer_id| A::Sign {
        offer_id,
        purpose: "research".into(),
        consumer_public_key: Binary::from(vec![7u8; 32]),
    };
    push(
        "agreements",
        "sign",
        agr.execute(&consumer, &sign(1), &[coin(1000, "udpt")])?.1,
    );
    agr.execute(&consumer, &sign(2), &[])?;
    push(
        "agreements",
        "deposit_key",
        agr.execute(
            &owner,
            &A::DepositKey {
                agreement_id: 1,
                wrapped_key: Binary::from(vec![9u8; 80]),
            },
            &[],
        )?
        .1,
    );
    let access = |agreement_id, subject: Option<String>| A::RecordAccess {
        agreement_id,
        purpose: "research".into(),
        subject,
    };
    // the tombstone check is a raw storage read (no registry execution): its VM cost is in
    // the contract's own gas; on chain it adds one KV read of SDK gas, like cw20's reads
    let own = agr.execute(&consumer, &access(1, None), &[])?.1;
    push("agreements", "record_access", own);
    let own_c = agr
        .execute(&consumer, &access(2, Some(subject.to_string())), &[])?
        .1;
    push(
        "agreements",
        "record_access consent-bound (+consent query)",
        own_c + status_gas,
    );
    let can = AQ::CanAccess {
        consumer: consumer.to_string(),
        asset_id: 1,
        purpose: "research".into(),
        subject: None,
    };
    let can_own = agr.query_raw(&can)?.1;
    push("agreements", "query can_access", can_own);
    push(
        "agreements",
        "query agreement",
        agr.query_raw(&AQ::Agreement { agreement_id: 1 })?.1,
    );
    agr.advance(10, 30 * 86_400);
    push(
        "agreements",
        "claim",
        agr.execute(&owner, &A::Claim { agreement_id: 1 }, &[])?.1,
    );
    push(
        "agreements",
        "terminate",
        agr.execute(&consumer, &A::Terminate { agreement_id: 1 }, &[])?
            .1,
    );

    // audit
    let mut aud = Vm::new(&artifact("audit")?);
    let (admin, sentinel, responder) = (addr("admin"), addr("sentinel"), addr("responder"));
    push(
        "audit",
        "instantiate",
        aud.instantiate(
            &admin,
            &UI {
                admin: None,
                agreements: addr("agreements").to_string(),
                sentinels: vec![sentinel.to_string()],
                responders: vec![responder.to_string()],
                suspend_threshold: Severity::High,
            },
            &[],
        )?
        .1,
    );
    let alert = |severity| U::ReportAlert {
        kind: "access_burst".into(),
        severity,
        subject: consumer.to_string(),
        asset_id: Some(1),
        evidence_hash: hash("report"),
        score: Decimal::percent(97),
        model_version: "iforest-1.0.0".into(),
    };
    push(
        "audit",
        "report_alert (below threshold)",
        aud.execute(&sentinel, &alert(Severity::Low), &[])?.1,
    );
    push(
        "audit",
        "report_alert (suspends)",
        aud.execute(&sentinel, &alert(Severity::Critical), &[])?.1,
    );
    push(
        "audit",
        "acknowledge",
        aud.execute(&responder, &U::Acknowledge { alert_seq: 2 }, &[])?
            .1,
    );
    for _ in 0..97 {
        aud.execute(&sentinel, &alert(Severity::Low), &[])?;
    }
    push("audit", "query head", aud.query_raw(&UQ::Head {})?.1);
    push(
        "audit",
        "query verify (100 entries)",
        aud.query_raw(&UQ::Verify { from: 1, to: 100 })?.1,
    );

    // the yardstick
    let yard_path = std::env::var("YARDSTICK_WASM").unwrap_or_else(|_| {
        format!(
            "{}/../target/yardstick/cw20_base.wasm",
            artifacts_dir().display()
        )
    });
    let yard = std::fs::read(&yard_path).with_context(|| {
        format!("reading {yard_path} (run `make bench-contracts`, which builds it)")
    })?;
    let mut cw20 = Vm::new(&yard);
    cw20.instantiate(&owner, &json!({"name": "Yardstick", "symbol": "YARD", "decimals": 6, "initial_balances": [{"address": owner.to_string(), "amount": "1000000000"}], "mint": null, "marketing": null}), &[])?;
    cw20.execute(
        &owner,
        &json!({"transfer": {"recipient": consumer.to_string(), "amount": "1"}}),
        &[],
    )?;
    let transfer = cw20
        .execute(
            &owner,
            &json!({"transfer": {"recipient": consumer.to_string(), "amount": "1000"}}),
            &[],
        )?
        .1;
    let balance = cw20
        .query_raw(&json!({"balance": {"address": owner.to_string()}}))?
        .1;

    println!("Artifact sizes (wasmd's limit is 800 KiB; budget 400 KiB)");
    println!("{:<34} {:>10} {:>9}", "artifact", "bytes", "KiB");
    for name in ["registry", "consent", "agreements", "audit"] {
        let len = artifact(name)?.len();
        println!(
            "{:<34} {:>10} {:>9.1}",
            format!("datapact_{name}.wasm"),
            len,
            len as f64 / 1024.0
        );
    }
    println!(
        "{:<34} {:>10} {:>9.1}",
        "cw20_base.wasm (yardstick)",
        yard.len(),
        yard.len() as f64 / 1024.0
    );
    println!();
    println!("VM gas per call (cosmwasm-vm 3.0.10; SDK gas = VM gas / 140, plus storage costs)");
    println!("yardstick: cw20-base transfer = {transfer} (execute), balance = {balance} (query)");
    println!(
        "{:<12} {:<42} {:>12} {:>10}",
        "contract", "call", "VM gas", "x cw20"
    );
    for r in &rows {
        let base = if r.call.starts_with("query") {
            balance
        } else {
            transfer
        };
        println!(
            "{:<12} {:<42} {:>12} {:>9.2}x",
            r.contract,
            r.call,
            r.gas,
            r.gas as f64 / base as f64
        );
    }
    let ratio = |call: &str, base: u64| {
        rows.iter()
            .find(|r| r.call == call)
            .map(|r| r.gas as f64 / base as f64)
            .unwrap_or(f64::NAN)
    };
    println!();
    println!("Aim: record_access and can_access at most 2x a cw20 transfer");
    println!(
        "  record_access:                                 {:.2}x transfer",
        ratio("record_access", transfer)
    );
    println!(
        "  record_access consent-bound incl. its query:   {:.2}x transfer",
        ratio("record_access consent-bound (+consent query)", transfer)
    );
    println!(
        "  can_access:                                    {:.2}x transfer, {:.2}x balance",
        ratio("query can_access", transfer),
        ratio("query can_access", balance)
    );
    Ok(())
}
