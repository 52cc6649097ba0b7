//! Migrations: same contract only, never a downgrade, state kept across a new code id.

use cw_multi_test::Executor;
use datapact_registry::msg::{AssetResponse, QueryMsg as RQ};
use datapact_testing::{
    agreements_contract, assert_fails_with, audit_contract, consent_contract, registry_contract,
    Suite, Which,
};
use datapact_types::Sensitivity;

#[derive(serde::Serialize)]
struct MigrateMsg {}

fn migrate(
    s: &mut Suite,
    which: Which,
    code_id: u64,
) -> anyhow::Result<cw_multi_test::AppResponse> {
    let admin = s.admin.clone();
    let addr = s.contract(which).clone();
    let res = s
        .app
        .migrate_contract(admin, addr, &MigrateMsg {}, code_id)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    s.check_events(&res.events)?;
    Ok(res)
}

#[test]
fn every_contract_migrates_to_a_new_code_id_and_keeps_its_state() {
    let mut s = Suite::new();
    s.scenario_touching_everything().unwrap();
    let new_ids = [
        (Which::Registry, s.app.store_code(registry_contract())),
        (Which::Consent, s.app.store_code(consent_contract())),
        (Which::Agreements, s.app.store_code(agreements_contract())),
        (Which::Audit, s.app.store_code(audit_contract())),
    ];
    let before: AssetResponse = s
        .query(Which::Registry, &RQ::Asset { asset_id: 1 })
        .unwrap();
    let head_before: datapact_audit::msg::HeadResponse = s
        .query(Which::Audit, &datapact_audit::msg::QueryMsg::Head {})
        .unwrap();
    for (which, code_id) in new_ids {
        migrate(&mut s, which, code_id).unwrap();
        let info = s
            .app
            .wrap()
            .query_wasm_contract_info(s.contract(which))
            .unwrap();
        assert_eq!(info.code_id, code_id, "{which:?}");
    }
    let after: AssetResponse = s
        .query(Which::Registry, &RQ::Asset { asset_id: 1 })
        .unwrap();
    assert_eq!(before, after);
    let head_after: datapact_audit::msg::HeadResponse = s
        .query(Which::Audit, &datapact_audit::msg::QueryMsg::Head {})
        .unwrap();
    assert_eq!(head_before, head_after);
    assert!(s.verify_audit().unwrap().valid);
    // the suite still works end to end after migration
    let p = s.addr("provider1");
    s.register_asset(&p, Sensitivity::Public).unwrap();
}

#[test]
fn a_contract_cannot_migrate_to_another_contracts_code() {
    let mut s = Suite::new();
    let consent_code = s.code_ids.consent;
    assert_fails_with(
        migrate(&mut s, Which::Registry, consent_code),
        "stored contract is crates.io:datapact-registry, this code is crates.io:datapact-consent",
    );
}

#[test]
fn a_contract_cannot_migrate_to_an_older_version() {
    let mut s = Suite::new();
    let addr = s.agreements.clone();
    {
        let mut store = s.app.contract_storage_mut(&addr);
        cw2::set_contract_version(store.as_mut(), "crates.io:datapact-agreements", "9.0.0")
            .unwrap();
    }
    let code = s.code_ids.agreements;
    assert_fails_with(
        migrate(&mut s, Which::Agreements, code),
        "cannot migrate from version 9.0.0 to older version",
    );
}
