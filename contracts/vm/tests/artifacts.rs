//! Every artifact, loaded from artifacts/ into the real CosmWasm VM, runs a scenario: the
//! bytes that a chain stores behave as the multi-test suite says the code does.

use cosmwasm_std::{coin, to_json_binary, Binary, CosmosMsg, Decimal, WasmMsg, WasmQuery};
use datapact_agreements::msg::{ExecuteMsg as A, InstantiateMsg as AI, QueryMsg as AQ};
use datapact_audit::msg::{ExecuteMsg as U, InstantiateMsg as UI, QueryMsg as UQ, VerifyResponse};
use datapact_consent::msg::{ExecuteMsg as C, InstantiateMsg as CI};
use datapact_registry::msg::{
    ExecuteMsg as R, InstantiateMsg as RI, QueryMsg as RQ, VersionResponse,
};
use datapact_testing::{hash_of, sign, Suite};
use datapact_types::agreements::{CanAccessResponse, DenyReason};
use datapact_types::consent::{
    key_subject_id, ConsentQuery, ConsentSignDoc, ConsentStatusResponse, SignedAction,
};
use datapact_types::registry::{AssetRoleResponse, RegistryQuery, TOMBSTONES, TOMBSTONE_TIMES};
use datapact_types::{Sensitivity, Severity};
use datapact_vm::{addr, artifact, attr, Vm};
use k256::ecdsa::SigningKey;

#[derive(serde::Serialize)]
struct Empty {}

#[test]
fn registry_artifact_registers_publishes_attests_and_tombstones() {
    let mut vm = Vm::new(&artifact("registry").unwrap());
    let (owner, att) = (addr("owner"), addr("attestor"));
    vm.instantiate(&owner, &RI {}, &[]).unwrap();
    let (res, _) = vm
        .execute(
            &owner,
            &R::RegisterAsset {
                name: "a".into(),
                description: None,
                sensitivity: Sensitivity::Personal,
                tags: vec![],
            },
            &[],
        )
        .unwrap();
    assert_eq!(attr(&res, "asset_id").as_deref(), Some("1"));
    vm.execute(
        &owner,
        &R::PublishVersion {
            asset_id: 1,
            content_hash: hash_of("v1"),
            schema_hash: None,
            uri: Some("s3://x".into()),
            parents: vec![],
        },
        &[],
    )
    .unwrap();
    vm.execute(
        &att,
        &R::Attest {
            asset_id: 1,
            version: 1,
            claim: "checked".into(),
            evidence_hash: hash_of("e"),
        },
        &[],
    )
    .unwrap();
    let err = vm
        .execute(&att, &R::Tombstone { asset_id: 1 }, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not allowed"), "{err}");
    vm.execute(&owner, &R::Tombstone { asset_id: 1 }, &[])
        .unwrap();
    let (v, _): (VersionResponse, _) = vm
        .query(&RQ::Version {
            asset_id: 1,
            version: 1,
        })
        .unwrap();
    assert_eq!(
        (v.version.uri, v.version.content_hash),
        (None, hash_of("v1"))
    );
    let (role, _): (AssetRoleResponse, _) = vm
        .query(&RegistryQuery::AssetRole {
            asset_id: 1,
            address: owner.to_string(),
        })
        .unwrap();
    assert!(role.tombstoned);
    vm.migrate(&Empty {}).expect("migrate to the same version");
}

#[test]
fn consent_artifact_verifies_secp256k1_signatures_in_the_vm() {
    let mut vm = Vm::new(&artifact("consent").unwrap());
    let (controller, relayer) = (addr("controller"), addr("relayer"));
    vm.instantiate(&controller, &CI {}, &[]).unwrap();
    let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
    let terms = Suite::terms(&controller, 1, "research");
    let doc = ConsentSignDoc {
        chain_id: vm.env.block.chain_id.clone(),
        contract: vm.address().to_string(),
        nonce: 0,
        action: SignedAction::Grant {
            terms: terms.clone(),
        },
    };
    let (pk, sig) = sign(&key, &doc);
    let msg = C::GrantSigned {
        terms,
        nonce: 0,
        public_key: pk.clone(),
        signature: sig,
    };
    vm.execute(&relayer, &msg, &[]).unwrap();
    let replay = vm.execute(&relayer, &msg, &[]).unwrap_err().to_string();
    assert!(replay.contains("wrong nonce"), "{replay}");
    let status = ConsentQuery::ConsentStatus {
        subject: key_subject_id(&pk),
        controller: controller.to_string(),
        asset_id: 1,
        purpose: "research".into(),
        at: None,
    };
    let (s, _): (ConsentStatusResponse, _) = vm.query(&status).unwrap();
    assert!(s.granted);
}

#[test]
fn agreements_artifact_enforces_terms_with_answers_from_the_real_registry_and_consent_artifacts() {
    // registry and consent artifacts, each with one asset / one consent
    let (provider, consumer, subject) = (addr("provider"), addr("consumer"), addr("subject"));
    let mut registry = Vm::new(&artifact("registry").unwrap());
    registry.instantiate(&provider, &RI {}, &[]).unwrap();
    registry
        .execute(
            &provider,
            &R::RegisterAsset {
                name: "a".into(),
                description: None,
                sensitivity: Sensitivity::Personal,
                tags: vec![],
            },
            &[],
        )
        .unwrap();
    let mut consent = Vm::new(&artifact("consent").unwrap());
    consent.instantiate(&provider, &CI {}, &[]).unwrap();
    consent
        .execute(
            &subject,
            &C::Grant {
                subject: None,
                terms: Suite::terms(&provider, 1, "research"),
            },
            &[],
        )
        .unwrap();
    let role = registry
        .query_raw(&RegistryQuery::AssetRole {
            asset_id: 1,
            address: provider.to_string(),
        })
        .unwrap()
        .0;
    let status_q = ConsentQuery::ConsentStatus {
        subject: subject.to_string(),
        controller: provider.to_string(),
        asset_id: 1,
        purpose: "research".into(),
        at: None,
    };
    let granted = consent.query_raw(&status_q).unwrap().0;
    let (registry_addr, consent_addr) = (addr("registry"), addr("consent"));

    // the tombstone flag and time are read raw from the registry's storage, as wasmd would
    let tomb_key = TOMBSTONES.key(1).to_vec();
    let tomb_time_key = TOMBSTONE_TIMES.key(1).to_vec();
    assert_eq!(registry.raw(&tomb_key).unwrap(), None);
    assert_eq!(registry.raw(&tomb_time_key).unwrap(), None);
    registry
        .execute(&provider, &R::Tombstone { asset_id: 2 }, &[])
        .unwrap_err();
    let mut vm = Vm::new(&artifact("agreements").unwrap());
    let (ra, ca) = (registry_addr.to_string(), consent_addr.to_string());
    let expected_status_q = to_json_binary(&status_q).unwrap();
    vm.answer_wasm_queries(move |q| match q {
        WasmQuery::Smart { contract_addr, .. } if *contract_addr == ra => Some(role.clone()),
        WasmQuery::Smart { contract_addr, msg }
            if *contract_addr == ca && *msg == expected_status_q =>
        {
            Some(granted.clone())
        }
        WasmQuery::Raw { contract_addr, key }
            if *contract_addr == ra
                && (key.as_slice() == tomb_key.as_slice()
                    || key.as_slice() == tomb_time_key.as_slice()) =>
        {
            None
        }
        _ => Some(Binary::from(b"unexpected query".to_vec())),
    })
    .unwrap();
    vm.instantiate(
        &provider,
        &AI {
            registry: registry_addr.to_string(),
            consent: consent_addr.to_string(),
            audit: Some(addr("audit").to_string()),
            admin: None,
        },
        &[],
    )
    .unwrap();
    vm.execute(
        &provider,
        &A::CreateOffer {
            asset_id: 1,
            terms: Suite::offer_terms(1000, Some(1), true),
        },
        &[],
    )
    .unwrap();
    let wrong = vm.execute(
        &consumer,
        &A::Sign {
            offer_id: 1,
            purpose: "research".into(),
            consumer_public_key: Binary::from(vec![1u8; 32]),
        },
        &[coin(999, "udpt")],
    );
    assert!(wrong.unwrap_err().to_string().contains("wrong payment"));
    vm.execute(
        &consumer,
        &A::Sign {
            offer_id: 1,
            purpose: "research".into(),
            consumer_public_key: Binary::from(vec![1u8; 32]),
        },
        &[coin(1000, "udpt")],
    )
    .unwrap();
    vm.execute(
        &provider,
        &A::DepositKey {
            agreement_id: 1,
            wrapped_key: Binary::from(vec![2u8; 48]),
        },
        &[],
    )
    .unwrap();
    let no_subject = vm.execute(
        &consumer,
        &A::RecordAccess {
            agreement_id: 1,
            purpose: "research".into(),
            subject: None,
        },
        &[],
    );
    assert!(no_subject
        .unwrap_err()
        .to_string()
        .contains("denied: subject_required"));
    vm.execute(
        &consumer,
        &A::RecordAccess {
            agreement_id: 1,
            purpose: "research".into(),
            subject: Some(subject.to_string()),
        },
        &[],
    )
    .unwrap();
    let (can, _): (CanAccessResponse, _) = vm
        .query(&AQ::CanAccess {
            consumer: consumer.to_string(),
            asset_id: 1,
            purpose: "research".into(),
            subject: Some(subject.to_string()),
        })
        .unwrap();
    assert_eq!(can.reason, Some(DenyReason::CapReached));
    vm.advance(10, 50 * 86_400);
    let (res, _) = vm
        .execute(&consumer, &A::Terminate { agreement_id: 1 }, &[])
        .unwrap();
    let paid: u128 = attr(&res, "paid_to_provider").unwrap().parse().unwrap();
    let refunded: u128 = attr(&res, "refunded_to_consumer").unwrap().parse().unwrap();
    assert_eq!(paid + refunded, 1000, "{paid} + {refunded}");
    // the key was delivered at signing: the 25% delivery share, then half of the rest
    assert!((624..=626).contains(&paid), "paid {paid}");
    assert_eq!(res.messages.len(), 2, "one payment to each party");
}

#[test]
fn audit_artifact_chains_entries_and_emits_the_suspension() {
    let mut vm = Vm::new(&artifact("audit").unwrap());
    let (admin, sentinel, responder, consumer, agreements) = (
        addr("admin"),
        addr("sentinel"),
        addr("responder"),
        addr("consumer"),
        addr("agreements"),
    );
    vm.instantiate(
        &admin,
        &UI {
            admin: None,
            agreements: agreements.to_string(),
            sentinels: vec![sentinel.to_string()],
            responders: vec![responder.to_string()],
            suspend_threshold: Severity::High,
        },
        &[],
    )
    .unwrap();
    let alert = |severity| U::ReportAlert {
        kind: "burst".into(),
        severity,
        subject: consumer.to_string(),
        asset_id: Some(1),
        evidence_hash: hash_of("e"),
        score: Decimal::percent(97),
        model_version: "m1".into(),
    };
    let (low, _) = vm.execute(&sentinel, &alert(Severity::Low), &[]).unwrap();
    assert!(low.messages.is_empty());
    let (high, _) = vm
        .execute(&sentinel, &alert(Severity::Critical), &[])
        .unwrap();
    let CosmosMsg::Wasm(WasmMsg::Execute {
        contract_addr, msg, ..
    }) = &high.messages[0].msg
    else {
        panic!("expected a wasm execute")
    };
    assert_eq!(contract_addr, agreements.as_str());
    let want = to_json_binary(&A::SuspendConsumer {
        consumer: consumer.to_string(),
        alert_seq: 2,
    })
    .unwrap();
    assert_eq!(*msg, want);
    vm.execute(&responder, &U::Acknowledge { alert_seq: 2 }, &[])
        .unwrap();
    let (v, _): (VerifyResponse, _) = vm.query(&UQ::Verify { from: 1, to: 3 }).unwrap();
    assert!(v.valid && v.checked == 3);
}
