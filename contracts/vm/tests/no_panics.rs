//! Bytes from outside never panic a contract: random bytes and random message-shaped JSON
//! (real variant and field names, hostile values) sent to the real artifacts in the VM end in
//! a typed contract error or a success, never a trap (a panic aborts the wasm instance and
//! shows up as a VM error).

use cosmwasm_std::testing::message_info;
use cosmwasm_std::{coin, Empty};
use cosmwasm_vm::{call_execute, call_query};
use datapact_vm::{addr, artifact, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const VARIANTS: &[&str] = &[
    "register_asset",
    "publish_version",
    "attest",
    "revoke_attestation",
    "add_steward",
    "remove_steward",
    "transfer_ownership",
    "accept_ownership",
    "cancel_ownership_transfer",
    "tombstone",
    "grant",
    "grant_signed",
    "withdraw",
    "withdraw_signed",
    "update_config",
    "create_offer",
    "withdraw_offer",
    "sign",
    "deposit_key",
    "record_access",
    "suspend",
    "resume",
    "terminate",
    "claim",
    "suspend_consumer",
    "lift_suspension",
    "update_roles",
    "update_policy",
    "report_alert",
    "acknowledge",
    "resolve",
    "asset",
    "list_assets",
    "assets_by_owner",
    "versions",
    "version",
    "lineage",
    "attestations",
    "asset_role",
    "consent_status",
    "consent",
    "history",
    "by_subject",
    "by_controller",
    "nonce",
    "config",
    "offer",
    "offers",
    "agreement",
    "agreements_by_consumer",
    "agreements_by_provider",
    "can_access",
    "consumer_suspension",
    "roles",
    "alert",
    "alerts",
    "entries",
    "head",
    "verify",
];

const FIELDS: &[&str] = &[
    "asset_id",
    "version",
    "name",
    "description",
    "sensitivity",
    "tags",
    "content_hash",
    "schema_hash",
    "uri",
    "parents",
    "claim",
    "evidence_hash",
    "steward",
    "new_owner",
    "subject",
    "terms",
    "nonce",
    "public_key",
    "signature",
    "consent_id",
    "audit",
    "admin",
    "offer_id",
    "purpose",
    "consumer_public_key",
    "agreement_id",
    "wrapped_key",
    "consumer",
    "alert_seq",
    "add_sentinels",
    "remove_sentinels",
    "add_responders",
    "remove_responders",
    "suspend_threshold",
    "kind",
    "severity",
    "score",
    "model_version",
    "resolution",
    "start_after",
    "limit",
    "owner",
    "direction",
    "max_depth",
    "address",
    "controller",
    "at",
    "from",
    "to",
    "min_severity",
    "state",
];

fn hostile() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(|n| json!(n)),
        Just(json!(u64::MAX)),
        Just(json!("340282366920938463463374607431768211455")),
        Just(json!("0")),
        Just(json!("1.000000000000000001")),
        Just(json!(addr("someone").to_string())),
        Just(json!(
            "psn:0000000000000000000000000000000000000000000000000000000000000000"
        )),
        Just(json!("critical")),
        Just(json!("all_of_controller")),
        "[a-z_]{0,12}".prop_map(Value::String),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(FIELDS), inner, 0..5).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Valid messages of every contract, to be mutated one field at a time.
fn templates() -> Vec<Value> {
    let h = "ab".repeat(32);
    let a = addr("someone").to_string();
    let terms = json!({"controller": a, "scope": {"asset": {"asset_id": 1}}, "purposes": ["research"], "legal_basis": "consent", "expires_at": null});
    let offer = json!({"permitted_purposes": ["research"], "prohibited_purposes": [], "duration_seconds": 100, "access_cap": 3, "price": {"denom": "udpt", "amount": "5"}, "consent_required": true});
    vec![
        json!({"register_asset": {"name": "n", "description": null, "sensitivity": "personal", "tags": ["t"]}}),
        json!({"publish_version": {"asset_id": 1, "content_hash": h, "schema_hash": null, "uri": "s3://x", "parents": [{"asset_id": 1, "version": 1}]}}),
        json!({"attest": {"asset_id": 1, "version": 1, "claim": "c", "evidence_hash": h}}),
        json!({"transfer_ownership": {"asset_id": 1, "new_owner": a}}),
        json!({"tombstone": {"asset_id": 1}}),
        json!({"lineage": {"asset_id": 1, "version": 1, "direction": "descendants", "max_depth": 3}}),
        json!({"attestations": {"asset_id": 1, "version": 1, "start_after": {"attestor": a, "claim": "c"}, "limit": 5}}),
        json!({"grant": {"subject": null, "terms": terms}}),
        json!({"grant_signed": {"terms": terms, "nonce": 0, "public_key": "A".repeat(44), "signature": "A".repeat(88)}}),
        json!({"withdraw": {"consent_id": 1}}),
        json!({"consent_status": {"subject": a, "controller": a, "asset_id": 1, "purpose": "research", "at": "5"}}),
        json!({"history": {"consent_id": 1, "start_after": 0, "limit": 10}}),
        json!({"create_offer": {"asset_id": 1, "terms": offer}}),
        json!({"sign": {"offer_id": 1, "purpose": "research", "consumer_public_key": "AAAA"}}),
        json!({"deposit_key": {"agreement_id": 1, "wrapped_key": "AAAA"}}),
        json!({"record_access": {"agreement_id": 1, "purpose": "research", "subject": a}}),
        json!({"terminate": {"agreement_id": 1}}),
        json!({"can_access": {"consumer": a, "asset_id": 1, "purpose": "research", "subject": null}}),
        json!({"report_alert": {"kind": "k", "severity": "critical", "subject": a, "asset_id": null, "evidence_hash": h, "score": "0.5", "model_version": "m"}}),
        json!({"update_roles": {"add_sentinels": [a], "remove_sentinels": [], "add_responders": [], "remove_responders": [a]}}),
        json!({"resolve": {"alert_seq": 1, "resolution": "done"}}),
        json!({"verify": {"from": 1, "to": 5}}),
        json!({"alerts": {"subject": a, "min_severity": "low", "state": "open", "start_after": null, "limit": 3}}),
    ]
}

/// Replaces the value at a pseudo-randomly chosen path of `v` (object fields, any depth) with
/// `with`; `pick` chooses the path.
fn mutate(v: &mut Value, pick: usize, with: Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let n = map.len();
            let key = map.keys().nth(pick % n).cloned().unwrap_or_default();
            let rest = pick / n;
            let Some(child) = map.get_mut(&key) else {
                return;
            };
            // stop at this depth half of the time, or at a leaf
            if rest % 2 == 0 || !child.is_object() {
                *child = with;
            } else {
                mutate(child, rest / 2, with);
            }
        }
        other => *other = with,
    }
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    let templates = templates();
    prop_oneof![
        4 => (prop::sample::select(templates), any::<usize>(), hostile()).prop_map(|(mut t, pick, with)| {
            mutate(&mut t, pick, with);
            serde_json::to_vec(&t).unwrap_or_default()
        }),
        3 => (prop::sample::select(VARIANTS), prop::collection::btree_map(prop::sample::select(FIELDS), hostile(), 0..6)).prop_map(|(v, fields)| {
            let body: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            serde_json::to_vec(&json!({ v: body })).unwrap_or_default()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn instances() -> Vec<(&'static str, Vm)> {
    let admin = addr("admin");
    let mut out = vec![];
    for name in ["registry", "consent", "agreements", "audit"] {
        let mut vm = Vm::new(&artifact(name).expect("artifact"));
        let init = match name {
            "agreements" => {
                json!({"registry": addr("r").to_string(), "consent": addr("c").to_string(), "audit": addr("a").to_string(), "admin": null})
            }
            "audit" => {
                json!({"admin": null, "agreements": addr("g").to_string(), "sentinels": [admin.to_string()], "responders": [admin.to_string()], "suspend_threshold": "high"})
            }
            _ => json!({}),
        };
        vm.instantiate(&admin, &init, &[]).expect("instantiate");
        out.push((name, vm));
    }
    out
}

thread_local! {
    // compiled once and reused by every case: state left by earlier inputs only adds variety
    static VMS: std::cell::RefCell<Vec<(&'static str, Vm)>> = std::cell::RefCell::new(instances());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn no_input_traps_any_contract(msgs in prop::collection::vec(message(), 1..8), funded in any::<bool>()) {
        let sender = addr("admin");
        let funds = if funded { vec![coin(5, "udpt")] } else { vec![] };
        VMS.with(|vms| -> Result<(), TestCaseError> {
        let mut vms = vms.borrow_mut();
        for msg in &msgs {
            for (name, vm) in vms.iter_mut() {
                let info = message_info(&sender, &funds);
                let res = call_execute::<_, _, _, Empty>(&mut vm.instance, &vm.env, &info, msg);
                prop_assert!(res.is_ok(), "{} trapped on execute {:?}: {:?}", name, String::from_utf8_lossy(msg), res.err());
                let q = call_query(&mut vm.instance, &vm.env, msg);
                prop_assert!(q.is_ok(), "{} trapped on query {:?}: {:?}", name, String::from_utf8_lossy(msg), q.err());
            }
        }
        Ok(())
        })?;
    }
}

/// Every path to a value inside `v` (object fields and array items, at any depth).
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn replace_at(v: &mut Value, path: &[String], with: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    let child = match v {
        Value::Object(map) => map.get_mut(first),
        Value::Array(items) => first.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    };
    if let Some(child) = child {
        replace_at(child, rest, with);
    }
}

#[test]
fn every_field_of_every_message_survives_every_hostile_value() {
    let hostile_values = vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(1),
        json!(u64::MAX),
        json!(1e300),
        json!(""),
        json!("x".repeat(5000)),
        json!("0"),
        json!("-1"),
        json!("1.5"),
        json!("340282366920938463463374607431768211455"),
        json!("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
        json!([]),
        json!({}),
        json!([null]),
        json!(addr("someone").to_string()),
        json!("psn:0000000000000000000000000000000000000000000000000000000000000000"),
        json!("critical"),
    ];
    let mut vms = instances();
    let sender = addr("admin");
    let mut sent = 0;
    for template in templates() {
        let mut all = vec![];
        paths(&template, &mut vec![], &mut all);
        for path in all {
            for with in &hostile_values {
                let mut msg = template.clone();
                replace_at(&mut msg, &path, with.clone());
                let bytes = serde_json::to_vec(&msg).expect("json");
                for (name, vm) in vms.iter_mut() {
                    // with and without funds: some contracts refuse funds before anything else
                    for funds in [vec![], vec![coin(5, "udpt")]] {
                        let info = message_info(&sender, &funds);
                        let res = call_execute::<_, _, _, Empty>(
                            &mut vm.instance,
                            &vm.env,
                            &info,
                            &bytes,
                        );
                        assert!(
                            res.is_ok(),
                            "{name} trapped on execute {msg}: {:?}",
                            res.err()
                        );
                    }
                    let q = call_query(&mut vm.instance, &vm.env, &bytes);
                    assert!(q.is_ok(), "{name} trapped on query {msg}: {:?}", q.err());
                }
                sent += 1;
            }
        }
    }
    assert!(sent > 2000, "only {sent} mutated messages were sent");
    println!("{sent} single-field mutations sent to each of the 4 contracts");
}
