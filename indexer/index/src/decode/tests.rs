use super::*;
use crate::block::RawTx;

fn ev(kind: &str, attrs: &[(&str, &str)]) -> TxEvent {
    TxEvent {
        kind: kind.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn contracts() -> Contracts {
    Contracts::new("reg", "con", "agr", "aud")
}

fn block(events: Vec<TxEvent>, code: u32, log: &str) -> RawBlock {
    RawBlock {
        height: 9,
        time: "2026-11-24T00:00:00Z".into(),
        hash: "AB".into(),
        txs: vec![RawTx {
            hash: "T".into(),
            bytes: "not base64 !".into(),
            code,
            log: log.into(),
            gas_wanted: 10,
            gas_used: 5,
            events,
        }],
        block_events: vec![],
    }
}

/// The `wasm` event wasmd makes of a contract's response attributes.
fn wasm_event(contract: &str, response: &cosmwasm_std::Response) -> TxEvent {
    let mut attrs = vec![("_contract_address".to_string(), contract.to_string())];
    attrs.extend(
        response
            .attributes
            .iter()
            .map(|a| (a.key.clone(), a.value.clone())),
    );
    attrs.push(("msg_index".into(), "0".into()));
    TxEvent {
        kind: "wasm".into(),
        attributes: attrs,
    }
}

#[test]
fn a_migration_as_the_contracts_emit_it_decodes_without_a_sender() {
    let mut storage = cosmwasm_std::testing::MockStorage::new();
    cw2::set_contract_version(&mut storage, "crates.io:datapact-registry", "0.1.0").unwrap();
    let response =
        datapact_types::migrate::migrate(&mut storage, "crates.io:datapact-registry", "0.1.0")
            .unwrap();
    let e = wasm_event("reg", &response);
    assert!(
        e.get("sender").is_none(),
        "the premise: migrate has no sender"
    );
    let rows = decode_block(&block(vec![e], 0, ""), &contracts());
    assert!(rows.quarantine.is_empty(), "{:?}", rows.quarantine);
    assert_eq!(rows.events.len(), 1);
    assert_eq!(
        rows.events[0].action.as_deref(),
        Some("migrate"),
        "kept in events with its action"
    );
}

#[test]
fn a_catalogued_event_becomes_a_typed_row() {
    let e = ev(
        "wasm",
        &[
            ("_contract_address", "agr"),
            ("action", "record_access"),
            ("sender", "c1"),
            ("agreement_id", "4"),
            ("asset_id", "2"),
            ("consumer", "c1"),
            ("purpose", "research"),
            ("access_count", "3"),
            ("subject", "s1"),
            ("msg_index", "0"),
        ],
    );
    let rows = decode_block(&block(vec![e], 0, ""), &contracts());
    assert_eq!(
        rows.accesses,
        vec![crate::tables::Access {
            at: Pos {
                height: 9,
                tx_index: 0,
                event_index: 0
            },
            agreement_id: 4,
            asset_id: 2,
            consumer: "c1".into(),
            purpose: "research".into(),
            subject: Some("s1".into()),
            access_count: 3,
        }]
    );
    assert!(rows.quarantine.is_empty());
    assert_eq!(rows.events.len(), 1);
}

#[test]
fn an_agreements_expiry_is_a_time_from_the_contracts_seconds() {
    let e = ev(
        "wasm",
        &[
            ("_contract_address", "agr"),
            ("action", "sign"),
            ("sender", "c1"),
            ("agreement_id", "4"),
            ("offer_id", "1"),
            ("asset_id", "2"),
            ("provider", "p"),
            ("consumer", "c1"),
            ("purpose", "research"),
            ("price", "5udpt"),
            ("expires_at", "86400"),
        ],
    );
    let rows = decode_block(&block(vec![e], 0, ""), &contracts());
    assert_eq!(rows.agreements[0].expires_at, crate::copy::UnixTime(86_400));
}

#[test]
fn unknown_actions_missing_attributes_and_bad_numbers_are_quarantined_with_the_reason() {
    let cases = [
        (
            vec![
                ("_contract_address", "agr"),
                ("action", "exfiltrate"),
                ("sender", "x"),
            ],
            "no agreements action",
        ),
        (
            vec![
                ("_contract_address", "reg"),
                ("action", "register_asset"),
                ("sender", "x"),
                ("asset_id", "1"),
                ("owner", "x"),
            ],
            "missing attribute sensitivity",
        ),
        (
            vec![
                ("_contract_address", "reg"),
                ("action", "register_asset"),
                ("sender", "x"),
                ("asset_id", "one"),
                ("owner", "x"),
                ("sensitivity", "public"),
            ],
            "is not a number",
        ),
        (
            vec![
                ("_contract_address", "reg"),
                ("action", "tombstone"),
                ("sender", "x"),
                ("asset_id", "1"),
                ("extra", "y"),
            ],
            "not in the catalogue",
        ),
        (
            vec![
                ("_contract_address", "agr"),
                ("action", "sign"),
                ("sender", "c1"),
                ("agreement_id", "4"),
                ("offer_id", "1"),
                ("asset_id", "2"),
                ("provider", "p"),
                ("consumer", "c1"),
                ("purpose", "research"),
                ("price", "5udpt"),
                ("expires_at", "99999999999999999999"),
            ],
            "is not a number",
        ),
    ];
    for (attrs, why) in cases {
        let rows = decode_block(&block(vec![ev("wasm", &attrs)], 0, ""), &contracts());
        let q = &rows.quarantine;
        assert_eq!(q.len(), 1, "{attrs:?}");
        assert!(q[0].reason.contains(why), "{:?} lacks {why}", q[0].reason);
        assert_eq!(rows.events.len(), 1, "the raw event is kept too");
        assert_eq!(rows.count(), 4, "block, tx, event, quarantine");
    }
}

#[test]
fn other_contracts_events_are_kept_raw_and_not_judged() {
    let e = ev(
        "wasm",
        &[("_contract_address", "cw20"), ("action", "transfer")],
    );
    let rows = decode_block(&block(vec![e], 0, ""), &contracts());
    assert_eq!(rows.events.len(), 1);
    assert!(rows.quarantine.is_empty());
}

#[test]
fn an_undecodable_tx_body_is_kept_with_the_reason() {
    let rows = decode_block(&block(vec![], 5, "boom"), &contracts());
    let tx = &rows.txs[0];
    assert!(!tx.success);
    assert_eq!(tx.log.as_deref(), Some("boom"));
    assert!(tx
        .decode_error
        .as_deref()
        .unwrap_or_default()
        .contains("base64"));
}
