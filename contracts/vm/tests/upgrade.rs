//! Every released layout migrates to the current code, in the real VM: state is written by the
//! released artifact (kept in `fixtures/`), the contract is migrated to the current artifact,
//! and every record reads back as it was. `migrate` refuses what it cannot read.
//!
//! Old artifacts are driven with the JSON their own messages had (written out here), so a
//! message field added since cannot hide a missing migration.

use cosmwasm_std::{coin, to_json_binary, Binary, WasmQuery};
use serde_json::{json, Value};

use datapact_testing::hash_of;
use datapact_types::registry::{AssetRole, AssetRoleResponse};
use datapact_types::Sensitivity;
use datapact_vm::{addr, artifact, attr, released_artifact, Vm, RELEASES};

fn q(vm: &mut Vm, msg: Value) -> Value {
    vm.query(&msg)
        .unwrap_or_else(|e| panic!("query {msg} failed: {e}"))
        .0
}

/// The fields of `old` (a record as the old code answered it) as `new` answers them: every
/// field the old code had must read back unchanged; fields added since may be new.
#[track_caller]
fn assert_reads_back(old: &Value, new: &Value, what: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let got = n
                    .get(k)
                    .unwrap_or_else(|| panic!("{what}.{k} is gone after migration: {new}"));
                assert_reads_back(v, got, &format!("{what}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            assert_eq!(o.len(), n.len(), "{what}: {old} vs {new}");
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                assert_reads_back(a, b, &format!("{what}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{what} changed in the migration"),
    }
}

fn migrate(vm: Vm, contract: &str) -> (Vm, String) {
    let mut vm = vm.upgrade(&artifact(contract).unwrap()).unwrap();
    let (res, _) = vm.migrate(&json!({})).unwrap();
    let from = attr(&res, "from_version").unwrap_or_default();
    (vm, from)
}

/// The registry's answer to the agreements contract: `owner` owns every asset.
fn answer_as_registry(vm: &mut Vm, owner: String) {
    vm.answer_wasm_queries(move |req| match req {
        WasmQuery::Smart { msg, .. } => {
            let v: Value = serde_json::from_slice(msg).ok()?;
            let asset_id = v["asset_role"]["asset_id"].as_u64()?;
            let role = if v["asset_role"]["address"] == owner.as_str() {
                AssetRole::Owner
            } else {
                AssetRole::None
            };
            to_json_binary(&AssetRoleResponse {
                asset_id,
                exists: true,
                role,
                owner: Some(cosmwasm_std::Addr::unchecked(owner.clone())),
                sensitivity: Some(Sensitivity::Internal),
                tombstoned: false,
            })
            .ok()
        }
        _ => None,
    })
    .unwrap();
}

#[test]
fn agreements_of_every_release_read_back_after_migration_and_keep_working() {
    for release in RELEASES {
        let mut vm = Vm::new(&released_artifact(release, "agreements").unwrap());
        let (p, c1, c2, audit) = (
            addr("provider"),
            addr("consumer1"),
            addr("consumer2"),
            addr("audit"),
        );
        answer_as_registry(&mut vm, p.to_string());
        vm.instantiate(
            &p,
            &json!({"registry": addr("registry"), "consent": addr("consent"), "audit": audit, "admin": null}),
            &[],
        )
        .unwrap();
        let terms = json!({"permitted_purposes": ["research"], "prohibited_purposes": ["marketing"],
            "duration_seconds": 864000, "access_cap": 5,
            "price": {"denom": "udpt", "amount": "1000"}, "consent_required": false});
        vm.execute(
            &p,
            &json!({"create_offer": {"asset_id": 1, "terms": terms}}),
            &[],
        )
        .unwrap();
        for c in [&c1, &c2] {
            vm.execute(
                c,
                &json!({"sign": {"offer_id": 1, "purpose": "research",
                    "consumer_public_key": Binary::from(vec![7u8; 32])}}),
                &[coin(1000, "udpt")],
            )
            .unwrap();
        }
        vm.execute(
            &p,
            &json!({"deposit_key": {"agreement_id": 1, "wrapped_key": Binary::from(vec![9u8; 48])}}),
            &[],
        )
        .unwrap();
        for _ in 0..2 {
            vm.execute(
                &c1,
                &json!({"record_access": {"agreement_id": 1, "purpose": "research", "subject": null}}),
                &[],
            )
            .unwrap();
        }
        vm.advance(10, 86_400);
        vm.execute(&p, &json!({"claim": {"agreement_id": 1}}), &[])
            .unwrap();
        vm.execute(&c2, &json!({"terminate": {"agreement_id": 2}}), &[])
            .unwrap();
        vm.execute(
            &audit,
            &json!({"suspend_consumer": {"consumer": c2, "alert_seq": 7}}),
            &[],
        )
        .unwrap();
        let reads = [
            json!({"agreement": {"agreement_id": 1}}),
            json!({"agreement": {"agreement_id": 2}}),
            json!({"offers": {"asset_id": null, "start_after": null, "limit": null}}),
            json!({"agreements_by_consumer": {"consumer": c1, "start_after": null, "limit": null}}),
            json!({"agreements_by_provider": {"consumer": null, "provider": p, "start_after": null, "limit": null}}),
            json!({"config": {}}),
        ];
        let reads: Vec<Value> = reads
            .into_iter()
            .map(|r| {
                // the provider listing takes no consumer field
                if r.get("agreements_by_provider").is_some() {
                    json!({"agreements_by_provider": {"provider": p, "start_after": null, "limit": null}})
                } else {
                    r
                }
            })
            .collect();
        let before: Vec<Value> = reads.iter().map(|r| q(&mut vm, r.clone())).collect();
        let (mut vm, from) = migrate(vm, "agreements");
        assert_eq!(from, "0.1.0", "{release}");
        for (r, old) in reads.iter().zip(&before) {
            let new = q(&mut vm, r.clone());
            assert_reads_back(old, &new, &format!("{release}: {r}"));
        }
        // the suspension stands, under the alert that caused it
        let s = q(&mut vm, json!({"consumer_suspension": {"consumer": c2}}));
        assert!(
            s.to_string().contains("\"alert_seq\":7"),
            "{release}: the suspension of consumer2 survives: {s}"
        );
        // and the migrated agreement keeps working under the new code
        let (res, _) = vm
            .execute(
                &c1,
                &json!({"record_access": {"agreement_id": 1, "purpose": "research", "subject": null}}),
                &[],
            )
            .unwrap();
        assert_eq!(
            attr(&res, "access_count").as_deref(),
            Some("3"),
            "{release}"
        );
    }
}

#[test]
fn registries_of_every_release_read_back_with_their_tombstones_indexed_and_names_erased() {
    for release in RELEASES {
        let mut vm = Vm::new(&released_artifact(release, "registry").unwrap());
        let (owner, steward, att) = (addr("owner"), addr("steward"), addr("attestor"));
        vm.instantiate(&owner, &json!({}), &[]).unwrap();
        for name in ["patients 2026", "scraped contacts"] {
            vm.execute(
                &owner,
                &json!({"register_asset": {"name": name, "description": "d", "sensitivity": "personal", "tags": ["x"]}}),
                &[],
            )
            .unwrap();
        }
        vm.execute(
            &owner,
            &json!({"publish_version": {"asset_id": 1, "content_hash": hash_of("v1"), "schema_hash": null, "uri": "s3://x/1", "parents": []}}),
            &[],
        )
        .unwrap();
        vm.execute(
            &owner,
            &json!({"publish_version": {"asset_id": 2, "content_hash": hash_of("v2"), "schema_hash": hash_of("s"), "uri": "s3://x/2", "parents": [{"asset_id": 1, "version": 1}]}}),
            &[],
        )
        .unwrap();
        vm.execute(
            &owner,
            &json!({"add_steward": {"asset_id": 1, "steward": steward}}),
            &[],
        )
        .unwrap();
        vm.execute(
            &att,
            &json!({"attest": {"asset_id": 2, "version": 1, "claim": "schema-valid", "evidence_hash": hash_of("e")}}),
            &[],
        )
        .unwrap();
        vm.execute(&owner, &json!({"tombstone": {"asset_id": 2}}), &[])
            .unwrap();
        let reads = [
            json!({"asset": {"asset_id": 1}}),
            json!({"version": {"asset_id": 1, "version": 1}}),
            json!({"version": {"asset_id": 2, "version": 1}}),
            json!({"attestations": {"asset_id": 2, "version": 1, "start_after": null, "limit": null}}),
            json!({"lineage": {"asset_id": 2, "version": 1, "direction": "ancestors", "max_depth": null}}),
            json!({"asset_role": {"asset_id": 1, "address": steward}}),
        ];
        let before: Vec<Value> = reads.iter().map(|r| q(&mut vm, r.clone())).collect();
        let (mut vm, from) = migrate(vm, "registry");
        assert_eq!(from, "0.1.0");
        for (r, old) in reads.iter().zip(&before) {
            assert_reads_back(old, &q(&mut vm, r.clone()), &format!("{release}: {r}"));
        }
        let erased = q(&mut vm, json!({"asset": {"asset_id": 2}}));
        assert_eq!(
            erased["asset"]["name"], "",
            "{release}: a tombstoned asset's name is erased by the migration"
        );
        let role = q(
            &mut vm,
            json!({"asset_role": {"asset_id": 2, "address": owner}}),
        );
        assert_eq!(role["tombstoned"], true, "{release}");
        // other contracts read the tombstone index raw: it must hold the erased asset
        let key = cw_storage_plus::Map::<u64, u64>::new("tombstones").key(2);
        assert!(
            vm.raw(&key).unwrap().is_some(),
            "{release}: the tombstone index holds asset 2 after the migration"
        );
    }
}

#[test]
fn consents_of_every_release_read_back_and_their_subjects_can_still_withdraw() {
    for release in RELEASES {
        let mut vm = Vm::new(&released_artifact(release, "consent").unwrap());
        let (subject, wallet, controller) = (addr("subject"), addr("wallet"), addr("controller"));
        vm.instantiate(&controller, &json!({}), &[]).unwrap();
        let terms = json!({"controller": controller, "scope": {"all_of_controller": {}},
            "purposes": ["research"], "legal_basis": "consent", "expires_at": null});
        vm.execute(
            &subject,
            &json!({"grant": {"subject": null, "terms": terms}}),
            &[],
        )
        .unwrap();
        let psn = format!("psn:{}", "ab".repeat(32));
        vm.execute(
            &wallet,
            &json!({"grant": {"subject": psn, "terms": terms}}),
            &[],
        )
        .unwrap();
        vm.advance(1, 5);
        vm.execute(&subject, &json!({"withdraw": {"consent_id": 1}}), &[])
            .unwrap();
        let status = |s: &str| json!({"consent_status": {"subject": s, "controller": controller, "asset_id": 3, "purpose": "research", "at": null}});
        let reads = [
            json!({"consent": {"consent_id": 1}}),
            json!({"consent": {"consent_id": 2}}),
            json!({"history": {"consent_id": 1, "start_after": null, "limit": null}}),
            json!({"by_controller": {"controller": controller, "start_after": null, "limit": null}}),
            status(subject.as_str()),
            status(&psn),
        ];
        let before: Vec<Value> = reads.iter().map(|r| q(&mut vm, r.clone())).collect();
        let (mut vm, from) = migrate(vm, "consent");
        assert_eq!(from, "0.1.0");
        for (r, old) in reads.iter().zip(&before) {
            assert_reads_back(old, &q(&mut vm, r.clone()), &format!("{release}: {r}"));
        }
        // the wallet that held the pseudonym before the upgrade can still withdraw its consent
        vm.execute(&wallet, &json!({"withdraw": {"consent_id": 2}}), &[])
            .unwrap_or_else(|e| panic!("{release}: the pseudonym's wallet withdraws: {e}"));
    }
}

#[test]
fn audit_logs_of_every_release_read_back_and_their_hash_chain_verifies() {
    for release in RELEASES {
        let mut vm = Vm::new(&released_artifact(release, "audit").unwrap());
        let (admin, sentinel, responder, consumer) = (
            addr("admin"),
            addr("sentinel"),
            addr("responder"),
            addr("consumer"),
        );
        vm.instantiate(
            &admin,
            &json!({"admin": null, "agreements": addr("agreements"), "sentinels": [sentinel],
                "responders": [responder], "suspend_threshold": "high"}),
            &[],
        )
        .unwrap();
        for severity in ["high", "low", "critical"] {
            vm.execute(
                &sentinel,
                &json!({"report_alert": {"kind": "access_burst", "severity": severity, "subject": consumer,
                    "asset_id": 1, "evidence_hash": hash_of(severity), "score": "0.93", "model_version": "m-1"}}),
                &[],
            )
            .unwrap();
        }
        vm.execute(&responder, &json!({"acknowledge": {"alert_seq": 2}}), &[])
            .unwrap();
        vm.execute(
            &responder,
            &json!({"lift_suspension": {"alert_seq": 1}}),
            &[],
        )
        .unwrap();
        let reads = [
            json!({"entries": {"start_after": null, "limit": null}}),
            json!({"alert": {"alert_seq": 3}}),
            json!({"head": {}}),
            json!({"roles": {}}),
        ];
        let before: Vec<Value> = reads.iter().map(|r| q(&mut vm, r.clone())).collect();
        let (mut vm, from) = migrate(vm, "audit");
        assert_eq!(from, "0.1.0");
        for (r, old) in reads.iter().zip(&before) {
            assert_reads_back(old, &q(&mut vm, r.clone()), &format!("{release}: {r}"));
        }
        let v = q(&mut vm, json!({"verify": {"from": 1, "to": 5}}));
        assert_eq!(v["valid"], true, "{release}: {v}");
    }
}

#[test]
fn migrate_refuses_another_contracts_state_a_downgrade_and_a_record_it_cannot_read() {
    // another contract's state
    let mut vm = Vm::new(&released_artifact(RELEASES[1], "registry").unwrap());
    vm.instantiate(&addr("owner"), &json!({}), &[]).unwrap();
    let mut vm = vm.upgrade(&artifact("consent").unwrap()).unwrap();
    let err = vm.migrate(&json!({})).unwrap_err().to_string();
    assert!(err.contains("stored contract is"), "{err}");
    // a record of the old layout that does not parse is named, and nothing is written
    let mut vm = Vm::new(&released_artifact(RELEASES[0], "agreements").unwrap());
    vm.instantiate(
        &addr("p"),
        &json!({"registry": addr("r"), "consent": addr("c"), "audit": null, "admin": null}),
        &[],
    )
    .unwrap();
    let key = cw_storage_plus::Map::<u64, Value>::new("agreements").key(5);
    vm.set_raw(&key, b"{\"not\":\"an agreement\"}").unwrap();
    let mut vm = vm.upgrade(&artifact("agreements").unwrap()).unwrap();
    let err = vm.migrate(&json!({})).unwrap_err().to_string();
    assert!(
        err.contains("agreement 5") || err.contains("cannot read"),
        "the unreadable record is named: {err}"
    );
}
