//! Cross-contract messages in the shared package serialize byte for byte like the variants
//! of the contracts that receive them.

use cosmwasm_std::{to_json_vec, Timestamp};
use datapact_types::agreements::{AgreementsHookMsg, AgreementsQuery};
use datapact_types::consent::ConsentQuery;
use datapact_types::registry::RegistryQuery;

#[test]
fn registry_query_mirrors_the_registry() {
    let shared = RegistryQuery::AssetRole {
        asset_id: 3,
        address: "a".into(),
    };
    let own = datapact_registry::msg::QueryMsg::AssetRole {
        asset_id: 3,
        address: "a".into(),
    };
    assert_eq!(to_json_vec(&shared).unwrap(), to_json_vec(&own).unwrap());
}

#[test]
fn consent_query_mirrors_the_consent_contract() {
    let at = Some(Timestamp::from_seconds(5));
    let shared = ConsentQuery::ConsentStatus {
        subject: "s".into(),
        controller: "c".into(),
        asset_id: 1,
        purpose: "p".into(),
        at,
    };
    let own = datapact_consent::msg::QueryMsg::ConsentStatus {
        subject: "s".into(),
        controller: "c".into(),
        asset_id: 1,
        purpose: "p".into(),
        at,
    };
    assert_eq!(to_json_vec(&shared).unwrap(), to_json_vec(&own).unwrap());
}

#[test]
fn agreements_hooks_and_can_access_mirror_the_agreements_contract() {
    use datapact_agreements::msg::{ExecuteMsg, QueryMsg};
    let pairs = [
        (
            to_json_vec(&AgreementsHookMsg::SuspendConsumer {
                consumer: "c".into(),
                alert_seq: 2,
            })
            .unwrap(),
            to_json_vec(&ExecuteMsg::SuspendConsumer {
                consumer: "c".into(),
                alert_seq: 2,
            })
            .unwrap(),
        ),
        (
            to_json_vec(&AgreementsHookMsg::LiftSuspension {
                consumer: "c".into(),
                alert_seq: 2,
            })
            .unwrap(),
            to_json_vec(&ExecuteMsg::LiftSuspension {
                consumer: "c".into(),
                alert_seq: 2,
            })
            .unwrap(),
        ),
        (
            to_json_vec(&AgreementsQuery::CanAccess {
                consumer: "c".into(),
                asset_id: 1,
                purpose: "p".into(),
                subject: None,
            })
            .unwrap(),
            to_json_vec(&QueryMsg::CanAccess {
                consumer: "c".into(),
                asset_id: 1,
                purpose: "p".into(),
                subject: None,
            })
            .unwrap(),
        ),
    ];
    for (shared, own) in pairs {
        assert_eq!(
            String::from_utf8(shared).unwrap(),
            String::from_utf8(own).unwrap()
        );
    }
}
