//! A descendants query costs what its cap allows, not what the graph holds: anyone may attach
//! children to a version, and the walk must not load every one of them before it stops.

use serde_json::json;

use datapact_testing::hash_of;
use datapact_vm::{addr, artifact, Vm};

/// Gas of a one-level descendants query of version 1@1 once it has `children` children.
fn descendants_gas(children: u64) -> u64 {
    let mut vm = Vm::new(&artifact("registry").unwrap());
    let owner = addr("owner");
    vm.instantiate(&owner, &json!({}), &[]).unwrap();
    vm.execute(
        &owner,
        &json!({"register_asset": {"name": "root", "description": null, "sensitivity": "public", "tags": []}}),
        &[],
    )
    .unwrap();
    vm.execute(
        &owner,
        &json!({"publish_version": {"asset_id": 1, "content_hash": hash_of("root"), "schema_hash": null, "uri": null, "parents": []}}),
        &[],
    )
    .unwrap();
    // a stranger's assets, each with a version naming 1@1 as its parent
    let stranger = addr("stranger");
    for i in 0..children {
        vm.execute(
            &stranger,
            &json!({"register_asset": {"name": format!("child {i}"), "description": null, "sensitivity": "public", "tags": []}}),
            &[],
        )
        .unwrap();
        vm.execute(
            &stranger,
            &json!({"publish_version": {"asset_id": i + 2, "content_hash": hash_of(&i.to_string()), "schema_hash": null, "uri": null, "parents": [{"asset_id": 1, "version": 1}]}}),
            &[],
        )
        .unwrap();
    }
    let (res, gas): (serde_json::Value, u64) = vm
        .query(&json!({"lineage": {"asset_id": 1, "version": 1, "direction": "descendants", "max_depth": 1}}))
        .unwrap();
    assert_eq!(res["truncated"], children > 200, "{res}");
    gas
}

#[test]
fn a_descendants_query_stops_at_its_cap_without_loading_every_child() {
    let at_cap = descendants_gas(210);
    let far_beyond = descendants_gas(630);
    assert!(
        (far_beyond as f64) < at_cap as f64 * 1.15,
        "three times the children beyond the cap cost {far_beyond} gas against {at_cap}"
    );
}
