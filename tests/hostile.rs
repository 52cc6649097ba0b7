//! No chain data can break a page. Every attribute of every event the catalogue knows (and the
//! fields of a refused `RecordAccess`) carries hostile text: non-ASCII, right-to-left marks,
//! very long, empty, markup, NUL. The rows come from the real decoder and the real write path,
//! the analytics run over them, and then every page, every JSON twin and every export is
//! requested, with those same strings in paths and parameters: none may fail with a 5xx or
//! drop the connection (a panic in a handler fails this test), and no markup may come back
//! unescaped.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine;
use cosmrs::proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
use cosmrs::proto::cosmwasm::wasm::v1::MsgExecuteContract;
use cosmrs::proto::prost::Message;

use datapact_analytics::AnalyzeConfig;
use datapact_chain::TxEvent;
use datapact_e2e::pipeline::{get, router};
use datapact_e2e::{fresh_database, workspace_root};
use datapact_index::decode::{decode_block, Contracts};
use datapact_index::write::write_batch;
use datapact_index::{RawBlock, RawTx};
use datapact_types::events::{action as a, key as k, CATALOGUE};

const REGISTRY: &str = "wasm1hostileregistry";
const CONSENT: &str = "wasm1hostileconsent";
const AGREEMENTS: &str = "wasm1hostileagreements";
const AUDIT: &str = "wasm1hostileaudit";

/// Text no page may stumble over.
fn hostile() -> Vec<String> {
    vec![
        "é€😀 ﷽ \u{202E}evil\u{202C} ñ̃".to_string(),
        "x".repeat(10_000),
        String::new(),
        "<script>alert(1)</script>".into(),
        "\"'><img src=x onerror=alert(1)>&amp;".into(),
        "nul\0byte".into(),
        "ｗａｓｍ１ｆｕｌｌｗｉｄｔｈ…".into(),
        "🧪".repeat(40),
    ]
}

fn number_keys() -> [&'static str; 12] {
    [
        k::ASSET_ID,
        k::VERSION,
        k::CONSENT_ID,
        k::OFFER_ID,
        k::AGREEMENT_ID,
        k::ACCESS_COUNT,
        k::ALERT_SEQ,
        k::ENTRY_SEQ,
        k::EXPIRES_AT,
        k::ACCESS_CAP,
        k::NONCE,
        k::DELIVERY_SHARE_BPS,
    ]
}

/// Every catalogued event of every contract, with `text` in every text attribute and ids
/// from `base` (so the blocks' unique keys stay unique).
fn events(text: &str, base: u64) -> Vec<TxEvent> {
    let address = |contract: &str| match contract {
        "registry" => REGISTRY,
        "consent" => CONSENT,
        "agreements" => AGREEMENTS,
        _ => AUDIT,
    };
    CATALOGUE
        .iter()
        .filter(|s| !matches!(s.action, a::INSTANTIATE | a::MIGRATE | a::UPDATE_CONFIG))
        .map(|spec| {
            let mut attrs = vec![
                (
                    "_contract_address".to_string(),
                    address(spec.contract).to_string(),
                ),
                (k::ACTION.to_string(), spec.action.to_string()),
                (k::SENDER.to_string(), text.to_string()),
            ];
            for key in spec.required.iter().chain(spec.optional) {
                let value = if number_keys().contains(key) {
                    match *key {
                        k::VERSION => "1".to_string(),
                        k::EXPIRES_AT => "2000000000".to_string(),
                        k::DELIVERY_SHARE_BPS => "2500".to_string(),
                        // both grants create a consent: each its own id
                        k::CONSENT_ID if spec.action == a::GRANT_SIGNED => {
                            (base + 100_000).to_string()
                        }
                        _ => base.to_string(),
                    }
                } else if matches!(*key, k::CONSENT_REQUIRED | k::SUSPENDED) {
                    "true".to_string()
                } else if *key == k::PARENTS {
                    String::new()
                } else if *key == k::PURPOSES {
                    format!("{text},research")
                } else {
                    text.to_string()
                };
                attrs.push((key.to_string(), value));
            }
            TxEvent {
                kind: "wasm".into(),
                attributes: attrs,
            }
        })
        .collect()
}

/// A failed `RecordAccess` by `text` for `text`'s purpose and subject.
fn refused_access(text: &str, agreement: u64) -> RawTx {
    let msg = serde_json::json!({"record_access": {
        "agreement_id": agreement, "purpose": text, "subject": text}});
    let exec = MsgExecuteContract {
        sender: text.to_string(),
        contract: AGREEMENTS.to_string(),
        msg: msg.to_string().into_bytes(),
        funds: vec![],
    };
    let body = TxBody {
        messages: vec![cosmrs::Any {
            type_url: "/cosmwasm.wasm.v1.MsgExecuteContract".into(),
            value: exec.encode_to_vec(),
        }],
        ..Default::default()
    };
    let raw = TxRaw {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: vec![],
        signatures: vec![],
    };
    RawTx {
        hash: format!("{agreement:064X}"),
        bytes: base64::engine::general_purpose::STANDARD.encode(raw.encode_to_vec()),
        code: 5,
        log: format!(
            "failed to execute message; message index: 0: access under agreement {agreement} denied: consent_not_granted"
        ),
        gas_wanted: 1,
        gas_used: 1,
        events: vec![],
    }
}

/// `s` percent-encoded for a URL path segment or a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_chain_data_renders_on_every_page_without_a_5xx_or_unescaped_markup(
) -> anyhow::Result<()> {
    let url = fresh_database("e2e_hostile").await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    let contracts = Contracts::new(REGISTRY, CONSENT, AGREEMENTS, AUDIT);
    let texts = hostile();
    for (i, text) in texts.iter().enumerate() {
        let height = 10 + i as u64;
        let base = 100 + i as u64;
        let block = RawBlock {
            height,
            time: format!("2026-11-24T00:{:02}:00Z", i),
            hash: format!("{height:064X}"),
            txs: vec![
                RawTx {
                    hash: format!("{:064X}", 1000 + i),
                    bytes: String::new(),
                    code: 0,
                    log: String::new(),
                    gas_wanted: 1,
                    gas_used: 1,
                    events: events(text, base),
                },
                refused_access(text, base),
            ],
            block_events: vec![],
        };
        let rows = decode_block(&block, &contracts);
        assert!(
            rows.quarantine.is_empty(),
            "hostile but well-formed events decode: {:?}",
            rows.quarantine.first().map(|q| &q.reason)
        );
        assert_eq!(rows.denied_attempts.len(), 1, "the refused access is kept");
        write_batch(&pool, "hostile-1", height, height, &rows).await?;
    }
    let reports = workspace_root().join(".data/e2e/reports-hostile");
    let cfg = AnalyzeConfig {
        window: Some(60),
        full: true,
        reports: reports.clone(),
        ..Default::default()
    };
    datapact_analytics::analyze(&pool, &cfg, true).await?;

    let app = router(datapact::serve::read_only_pool(&url).await?);
    let mut uris: Vec<String> = [
        "/",
        "/api/overview",
        "/assets",
        "/api/assets",
        "/agreements",
        "/api/agreements",
        "/consents",
        "/api/consents",
        "/anomalies",
        "/api/anomalies",
        "/audit",
        "/api/audit",
        "/runs",
        "/api/runs",
        "/forecasts",
        "/api/forecasts",
        "/export/forecasts.csv",
        "/export/assets.csv",
        "/export/agreements.parquet",
        "/export/consents.csv",
        "/export/anomalies.csv",
        "/export/alerts.parquet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, text) in texts.iter().enumerate() {
        let t = enc(text);
        uris.extend([
            format!("/actors/{t}"),
            format!("/api/actors/{t}"),
            format!("/assets/{}", 100 + i),
            format!("/api/assets/{}", 100 + i),
            format!("/tx/{:064X}", 1000 + i),
            format!("/api/tx/{:064X}", 100 + i),
            format!("/api/assets?q={t}"),
            format!("/api/anomalies?actor={t}"),
            format!("/api/agreements?consumer={t}"),
            format!("/export/anomalies.csv?actor={t}"),
        ]);
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for uri in &uris {
        let (status, body) = get(&app, uri).await?;
        *statuses.entry(status.as_u16()).or_default() += 1;
        assert!(
            status.as_u16() < 500,
            "{} answered {status}: {}",
            &uri[..uri.len().min(120)],
            &body[..body.len().min(300)]
        );
        if status == StatusCode::OK && !uri.starts_with("/export") && !uri.starts_with("/api") {
            assert!(
                !body.contains("<script>alert(1)</script>") && !body.contains("<img src=x"),
                "{} echoes markup unescaped",
                &uri[..uri.len().min(120)]
            );
        }
    }
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= texts.len() * 4,
        "most requests render: {statuses:?}"
    );
    let _ = std::fs::remove_dir_all(reports);
    Ok(())
}
