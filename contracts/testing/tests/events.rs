//! The event catalogue: every contract emits only what it lists, and everything it lists is
//! emitted by some message.

use cosmwasm_std::Event;
use datapact_testing::Suite;
use datapact_types::events::CATALOGUE;

#[test]
fn the_catalogue_lists_exactly_what_the_contracts_emit() {
    let mut s = Suite::new();
    s.scenario_touching_everything().unwrap();
    // instantiate events are emitted before the suite records; take them from the catalogue's
    // lifecycle entries, which the migration tests check
    let missing: Vec<_> = CATALOGUE
        .iter()
        .filter(|spec| !matches!(spec.action, "instantiate" | "migrate"))
        .filter(|spec| {
            !s.seen_events
                .contains(&(spec.contract, spec.action.to_string()))
        })
        .map(|spec| format!("{}/{}", spec.contract, spec.action))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue entries no message emitted: {missing:?}"
    );
}

#[test]
fn an_event_the_catalogue_does_not_list_fails_the_check() {
    let s = Suite::new();
    let addr = s.registry.to_string();
    let event = |attrs: &[(&str, &str)]| {
        let mut e = Event::new("wasm").add_attribute("_contract_address", addr.clone());
        for (k, v) in attrs {
            e = e.add_attribute(*k, *v);
        }
        e
    };
    let ok = event(&[("action", "tombstone"), ("sender", "x"), ("asset_id", "1")]);
    assert!(s.check_events(&[ok]).is_ok());
    let unknown_action = event(&[("action", "burn_asset"), ("sender", "x")]);
    let err = s.check_events(&[unknown_action]).unwrap_err().to_string();
    assert!(err.contains("does not list"), "{err}");
    let unknown_attr = event(&[
        ("action", "tombstone"),
        ("sender", "x"),
        ("asset_id", "1"),
        ("reason", "x"),
    ]);
    let err = s.check_events(&[unknown_attr]).unwrap_err().to_string();
    assert!(err.contains("attribute \"reason\""), "{err}");
    let missing_attr = event(&[("action", "tombstone"), ("sender", "x")]);
    let err = s.check_events(&[missing_attr]).unwrap_err().to_string();
    assert!(err.contains("required attribute \"asset_id\""), "{err}");
    let misordered = event(&[("sender", "x"), ("action", "tombstone"), ("asset_id", "1")]);
    assert!(s.check_events(&[misordered]).is_err());
}
