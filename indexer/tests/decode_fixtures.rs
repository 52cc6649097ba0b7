//! The decoder on blocks captured from the real local chain (`datapact capture`): every event
//! kept raw, every datapact event typed, failed executes kept with their decoded message, and a
//! corrupted event quarantined rather than dropped.

use std::path::PathBuf;

use datapact::ingest::decode::{decode_block, Contracts, RawBlock, Rows};

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

fn col<'a>(rows: &'a Rows, table: &str, column: &str) -> Vec<Option<&'a str>> {
    let (_, cols) = datapact::ingest::decode::TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .expect("table");
    let i = cols.iter().position(|c| *c == column).expect("column");
    rows.rows(table).iter().map(|r| r[i].as_deref()).collect()
}

/// What holds for every block: all events and txs kept, nothing quarantined, bodies decoded.
fn common(b: &RawBlock, rows: &Rows) {
    let events: usize = b.txs.iter().map(|t| t.events.len()).sum::<usize>() + b.block_events.len();
    assert_eq!(rows.rows("events").len(), events, "every event is kept raw");
    assert_eq!(rows.rows("txs").len(), b.txs.len());
    assert_eq!(rows.rows("blocks").len(), 1);
    assert!(
        rows.rows("quarantine").is_empty(),
        "{:?}",
        rows.rows("quarantine")
    );
    assert!(
        col(rows, "txs", "decode_error").iter().all(Option::is_none),
        "every body decodes"
    );
    for (tx, log) in b.txs.iter().zip(col(rows, "txs", "log")) {
        assert_eq!(
            log.is_some(),
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
    assert_eq!(
        rows.rows("versions").len(),
        wasm_actions(&b, "publish_version")
    );
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
    assert_eq!(rows.rows("lineage_edges").len(), parents);
}

#[test]
fn consents_by_wallet_and_by_signature() {
    let b = block(129);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    let methods = col(&rows, "consents", "method");
    assert_eq!(
        methods.len(),
        wasm_actions(&b, "grant") + wasm_actions(&b, "grant_signed")
    );
    assert_eq!(
        methods.iter().filter(|m| **m == Some("signature")).count(),
        wasm_actions(&b, "grant_signed")
    );
    assert!(col(&rows, "consents", "subject")
        .iter()
        .any(|s| s.is_some_and(|s| s.starts_with("key:"))));
    assert!(col(&rows, "consents", "purposes")
        .iter()
        .all(|p| p.is_some_and(|p| p.starts_with('{'))));
}

#[test]
fn claims_terminations_and_a_failed_claim() {
    let b = block(150);
    let rows = decode_block(&b, &contracts());
    common(&b, &rows);
    let changes = col(&rows, "agreement_changes", "change");
    assert_eq!(
        changes.iter().filter(|c| **c == Some("claim")).count(),
        wasm_actions(&b, "claim")
    );
    assert_eq!(
        changes.iter().filter(|c| **c == Some("terminate")).count(),
        1
    );
    let failed: Vec<_> = rows
        .rows("txs")
        .iter()
        .filter(|r| r[4].as_deref() == Some("false"))
        .collect();
    assert_eq!(failed.len(), 1);
    let (action, msg) = (
        failed[0][10].as_deref(),
        failed[0][11].as_deref().unwrap_or_default(),
    );
    assert_eq!(
        action,
        Some("claim"),
        "the failed execute's message is decoded"
    );
    assert!(msg.contains("agreement_id"), "{msg}");
    assert!(
        rows.rows("denied_attempts").is_empty(),
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
    assert_eq!(rows.rows("denied_attempts").len(), failed);
    for reason in col(&rows, "denied_attempts", "reason") {
        assert!(reason.is_some_and(|r| r != "other"), "{reason:?}");
    }
    assert!(col(&rows, "denied_attempts", "agreement_id")
        .iter()
        .all(Option::is_some));
    assert_eq!(
        rows.rows("accesses").len(),
        wasm_actions(&b, "record_access")
    );
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
    assert_eq!(rows.rows("events").len(), ok.rows("events").len());
    assert_eq!(rows.rows("accesses").len(), ok.rows("accesses").len() - 1);
    let q = rows.rows("quarantine");
    assert_eq!(q.len(), 1);
    assert!(
        q[0][4]
            .as_deref()
            .unwrap_or_default()
            .contains("access_count"),
        "{:?}",
        q[0]
    );
}
