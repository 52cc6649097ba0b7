//! The decoder on blocks captured from the real local chain (`datapact capture`): every event
//! kept raw, every datapact event typed, failed executes kept with their decoded message, and a
//! corrupted event quarantined rather than dropped.

use std::path::PathBuf;

use datapact_index::decode::{decode_block, Contracts};
use datapact_index::{RawBlock, Rows};
use datapact_types::agreements::Refusal;

/// This checkout's fixtures: the package folder cargo names at run time, so a test binary
/// reused from another checkout that shares the target dir does not read that one's.
fn fixtures() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/fixtures")
}

fn contracts() -> Contracts {
    let text = std::fs::read_to_string(fixtures().join("contracts.json")).expect("contracts.json");
    let c: std::collections::BTreeMap<String, String> = serde_json::from_str(&text).expect("json");
    Contracts::new(&c["registry"], &c["consent"], &c["agreements"], &c["audit"])
}

fn block(height: u64) -> RawBlock {
    let text =
        std::fs::read_to_string(fixtures().join(format!("block-{height}.json"))).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn wasm_actions(b: &RawBlock, action: &str) -> usize {
    b.txs
        .iter()
        .flat_map(|t| &t.events)
        .filter(|e| e.kind == "wasm" && e.get("action") == Some(action))
        .count()
}

/// What holds for every block: all events and txs kept, nothing quarantined, bodies decoded.
fn common(b: &RawBlock, rows: &Rows) {
    let events: usize = b.txs.iter().map(|t| t.events.len()).sum::<usize>() + b.block_events.len();
    assert_eq!(rows.events.len(), events, "every event is kept raw");
    assert_eq!(rows.txs.len(), b.txs.len());
    assert_eq!(rows.blocks.len(), 1);
    assert!(rows.quarantine.is_empty(), "{:?}", rows.quarantine);
    assert!(
        rows.txs.iter().all(|t| t.decode_error.is_none()),
        "every body decodes"
    );
    for (tx, row) in b.txs.iter().zip(&rows.txs) {
        assert_eq!(
            row.log.is_some(),
            tx.code != 0,
            "the log is kept for failures only"
        );
    }
}

#[test]
fn published_versions_and_their_lineage_edges() {
    let b = block(126);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    assert_eq!(rows.versions.len(), wasm_actions(&b, "publish_version"));
    let parents: usize = b
        .txs
        .iter()
        .flat_map(|t| &t.events)
        .filter(|e| e.get("action") == Some("publish_version"))
        .map(|e| {
            e.get("parents")
                .map_or(0, |p| p.split(',').filter(|s| !s.is_empty()).count())
        })
        .sum();
    assert!(parents > 0, "the fixture has derived versions");
    assert_eq!(rows.lineage_edges.len(), parents);
}

#[test]
fn consents_by_wallet_and_by_signature() {
    let b = block(129);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    let methods: Vec<&str> = rows.consents.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods.len(),
        wasm_actions(&b, "grant") + wasm_actions(&b, "grant_signed")
    );
    assert_eq!(
        methods.iter().filter(|m| **m == "signature").count(),
        wasm_actions(&b, "grant_signed")
    );
    assert!(rows.consents.iter().any(|c| c.subject.starts_with("key:")));
    assert!(rows.consents.iter().all(|c| !c.purposes.0.is_empty()));
}

#[test]
fn claims_terminations_and_a_failed_claim() {
    let b = block(150);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    let changes: Vec<&str> = rows
        .agreement_changes
        .iter()
        .map(|c| c.change.as_str())
        .collect();
    assert_eq!(
        changes.iter().filter(|c| **c == "claim").count(),
        wasm_actions(&b, "claim")
    );
    assert_eq!(changes.iter().filter(|c| **c == "terminate").count(), 1);
    let failed: Vec<_> = rows.txs.iter().filter(|r| !r.success).collect();
    assert_eq!(failed.len(), 1);
    let (action, msg) = (
        failed[0].action.as_deref(),
        failed[0]
            .msg
            .as_ref()
            .map(|m| m.0.as_str())
            .unwrap_or_default(),
    );
    assert_eq!(
        action,
        Some("claim"),
        "the failed execute's message is decoded"
    );
    assert!(msg.contains("agreement_id"), "{msg}");
    assert!(
        rows.denied_attempts.is_empty(),
        "a failed claim is not an access attempt"
    );
}

#[test]
fn refused_accesses_become_denied_attempts_with_their_reason() {
    let b = block(4182);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    let failed = b.txs.iter().filter(|t| t.code != 0).count();
    assert!(failed > 0);
    assert_eq!(rows.denied_attempts.len(), failed);
    for d in &rows.denied_attempts {
        assert_ne!(d.reason, Refusal::Other, "every refusal is named");
        assert!(d.agreement_id.is_some());
    }
    assert_eq!(rows.accesses.len(), wasm_actions(&b, "record_access"));
}

#[test]
fn a_corrupted_event_is_quarantined_and_still_kept_raw() {
    let mut b = block(4182);
    let ok = decode_block(&b, &contracts());
    let e = b
        .txs
        .iter_mut()
        .flat_map(|t| t.events.iter_mut())
        .find(|e| e.get("action") == Some("record_access"))
        .expect("an access");
    for (k, v) in e.attributes.iter_mut() {
        if k == "access_count" {
            *v = "many".into();
        }
    }
    let rows = decode_block(&b, &contracts());
    assert_eq!(rows.events.len(), ok.events.len());
    assert_eq!(rows.accesses.len(), ok.accesses.len() - 1);
    let q = &rows.quarantine;
    assert_eq!(q.len(), 1);
    assert!(q[0].reason.contains("access_count"), "{:?}", q[0]);
}
