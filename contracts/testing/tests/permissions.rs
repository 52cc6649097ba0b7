//! The permission matrix: every privileged message sent by every role; only the roles the
//! design names succeed, everyone else gets a typed "not allowed" error.

use cosmwasm_std::{Addr, Decimal};
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_consent::msg::ExecuteMsg as C;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{hash_of, Suite, Which};
use datapact_types::{Sensitivity, Severity};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Owner,
    Steward,
    PendingOwner,
    Attestor,
    Consumer,
    Subject,
    Admin,
    Sentinel,
    Responder,
    AuditContract,
    Stranger,
}

const ROLES: [Role; 11] = [
    Role::Owner,
    Role::Steward,
    Role::PendingOwner,
    Role::Attestor,
    Role::Consumer,
    Role::Subject,
    Role::Admin,
    Role::Sentinel,
    Role::Responder,
    Role::AuditContract,
    Role::Stranger,
];

/// A suite in which every privileged message has something to act on.
struct Fixture {
    s: Suite,
    asset: u64,
    consent: u64,
    offer: u64,
    /// Key deposited, a day vested.
    delivered: u64,
    /// Suspended by the provider.
    suspended: u64,
    /// No key yet.
    fresh: u64,
    alert: u64,
}

fn fixture() -> Fixture {
    let mut s = Suite::new();
    let (p, st, p2, at, c, c2, subj) = (
        s.addr("provider1"),
        s.addr("steward1"),
        s.addr("provider2"),
        s.addr("attestor1"),
        s.addr("consumer1"),
        s.addr("consumer2"),
        s.addr("subject1"),
    );
    let asset = s.register_asset(&p, Sensitivity::Personal).unwrap();
    s.publish(&p, asset, vec![]).unwrap();
    s.exec(
        &p,
        Which::Registry,
        &R::AddSteward {
            asset_id: asset,
            steward: st.to_string(),
        },
        &[],
    )
    .unwrap();
    s.exec(
        &p,
        Which::Registry,
        &R::TransferOwnership {
            asset_id: asset,
            new_owner: p2.to_string(),
        },
        &[],
    )
    .unwrap();
    s.exec(
        &at,
        Which::Registry,
        &R::Attest {
            asset_id: asset,
            version: 1,
            claim: "checked".into(),
            evidence_hash: hash_of("e"),
        },
        &[],
    )
    .unwrap();
    let consent = s.grant(&subj, Suite::terms(&p, asset, "research")).unwrap();
    let offer = s
        .create_offer(&p, asset, Suite::offer_terms(0, None, false))
        .unwrap();
    let paid = s
        .create_offer(&p, asset, Suite::offer_terms(1000, None, false))
        .unwrap();
    let delivered = s
        .sign(
            &c,
            paid,
            "research",
            &[cosmwasm_std::coin(1000, datapact_testing::DENOM)],
        )
        .unwrap();
    s.deposit_key(&p, delivered).unwrap();
    let suspended = s.sign(&c, offer, "research", &[]).unwrap();
    s.exec(
        &p,
        Which::Agreements,
        &A::Suspend {
            agreement_id: suspended,
        },
        &[],
    )
    .unwrap();
    let fresh = s.sign(&c, offer, "research", &[]).unwrap();
    s.advance(100, 86_400);
    let sentinel = s.sentinel.clone();
    let alert = s.report_alert(&sentinel, &c2, Severity::Critical).unwrap();
    Fixture {
        s,
        asset,
        consent,
        offer,
        delivered,
        suspended,
        fresh,
        alert,
    }
}

fn who(s: &Suite, role: Role) -> Addr {
    match role {
        Role::Owner => s.addr("provider1"),
        Role::Steward => s.addr("steward1"),
        Role::PendingOwner => s.addr("provider2"),
        Role::Attestor => s.addr("attestor1"),
        Role::Consumer => s.addr("consumer1"),
        Role::Subject => s.addr("subject1"),
        Role::Admin => s.admin.clone(),
        Role::Sentinel => s.sentinel.clone(),
        Role::Responder => s.responder.clone(),
        Role::AuditContract => s.audit.clone(),
        Role::Stranger => s.addr("stranger"),
    }
}

/// Sends the message built by `msg` from every role, each on a fresh fixture, and checks that
/// exactly `allowed` succeed.
fn matrix<T: Serialize + std::fmt::Debug>(
    which: Which,
    allowed: &[Role],
    msg: impl Fn(&Fixture) -> T,
) {
    for role in ROLES {
        let mut f = fixture();
        let m = msg(&f);
        let sender = who(&f.s, role);
        let res = f.s.exec(&sender, which, &m, &[]);
        if allowed.contains(&role) {
            assert!(
                res.is_ok(),
                "{m:?} from {role:?} should succeed: {:?}",
                res.err()
            );
        } else {
            let err = format!(
                "{:#}",
                res.expect_err(&format!("{m:?} from {role:?} should be refused"))
            );
            assert!(
                err.contains("is not allowed") || err.contains("neither owns nor stewards"),
                "{m:?} from {role:?}: expected an authorization error, got {err}"
            );
        }
    }
}

#[test]
fn registry_permissions() {
    use Role::*;
    matrix(Which::Registry, &[Owner, Steward], |f| R::PublishVersion {
        asset_id: f.asset,
        content_hash: hash_of("v2"),
        schema_hash: None,
        uri: None,
        parents: vec![],
    });
    matrix(Which::Registry, &[Owner], |f| R::AddSteward {
        asset_id: f.asset,
        steward: f.s.addr("consumer3").to_string(),
    });
    matrix(Which::Registry, &[Owner], |f| R::RemoveSteward {
        asset_id: f.asset,
        steward: f.s.addr("steward1").to_string(),
    });
    matrix(Which::Registry, &[Owner], |f| R::TransferOwnership {
        asset_id: f.asset,
        new_owner: f.s.addr("consumer3").to_string(),
    });
    matrix(Which::Registry, &[Owner], |f| R::CancelOwnershipTransfer {
        asset_id: f.asset,
    });
    matrix(Which::Registry, &[PendingOwner], |f| R::AcceptOwnership {
        asset_id: f.asset,
    });
    matrix(Which::Registry, &[Owner], |f| R::Tombstone {
        asset_id: f.asset,
    });
}

#[test]
fn attestations_are_revocable_by_their_attestor_only() {
    for role in ROLES {
        let mut f = fixture();
        let sender = who(&f.s, role);
        let res = f.s.exec(
            &sender,
            Which::Registry,
            &R::RevokeAttestation {
                asset_id: f.asset,
                version: 1,
                claim: "checked".into(),
            },
            &[],
        );
        assert_eq!(res.is_ok(), role == Role::Attestor, "{role:?}");
    }
}

#[test]
fn consent_permissions() {
    matrix(Which::Consent, &[Role::Subject], |f| C::Withdraw {
        consent_id: f.consent,
    });
}

#[test]
fn agreements_permissions() {
    use Role::*;
    matrix(Which::Agreements, &[Admin], |_| A::UpdateConfig {
        audit: None,
        admin: None,
    });
    matrix(Which::Agreements, &[Owner, Steward], |f| A::CreateOffer {
        asset_id: f.asset,
        terms: Suite::offer_terms(1, None, false),
    });
    matrix(Which::Agreements, &[Owner], |f| A::WithdrawOffer {
        offer_id: f.offer,
    });
    matrix(Which::Agreements, &[Owner], |f| A::DepositKey {
        agreement_id: f.fresh,
        wrapped_key: vec![1u8; 8].into(),
    });
    matrix(Which::Agreements, &[Consumer], |f| A::RecordAccess {
        agreement_id: f.fresh,
        purpose: "research".into(),
        subject: None,
    });
    matrix(Which::Agreements, &[Owner], |f| A::Suspend {
        agreement_id: f.fresh,
    });
    matrix(Which::Agreements, &[Owner], |f| A::Resume {
        agreement_id: f.suspended,
    });
    matrix(Which::Agreements, &[Owner, Consumer], |f| A::Terminate {
        agreement_id: f.delivered,
    });
    matrix(Which::Agreements, &[Owner], |f| A::Claim {
        agreement_id: f.delivered,
    });
    matrix(Which::Agreements, &[AuditContract], |f| {
        A::SuspendConsumer {
            consumer: f.s.addr("consumer1").to_string(),
            alert_seq: 9,
        }
    });
    matrix(Which::Agreements, &[AuditContract], |f| A::LiftSuspension {
        consumer: f.s.addr("consumer2").to_string(),
        alert_seq: f.alert,
    });
}

#[test]
fn audit_permissions() {
    use Role::*;
    matrix(Which::Audit, &[Admin], |_| U::UpdateRoles {
        add_sentinels: vec![],
        remove_sentinels: vec![],
        add_responders: vec![],
        remove_responders: vec![],
    });
    matrix(Which::Audit, &[Admin], |_| U::UpdatePolicy {
        suspend_threshold: Severity::Critical,
    });
    matrix(Which::Audit, &[Sentinel], |f| U::ReportAlert {
        kind: "burst".into(),
        severity: Severity::Low,
        subject: f.s.addr("consumer1").to_string(),
        asset_id: None,
        evidence_hash: hash_of("x"),
        score: Decimal::percent(50),
        model_version: "m1".into(),
    });
    matrix(Which::Audit, &[Responder], |f| U::Acknowledge {
        alert_seq: f.alert,
    });
    matrix(Which::Audit, &[Responder], |f| U::Resolve {
        alert_seq: f.alert,
        resolution: "done".into(),
    });
    matrix(Which::Audit, &[Responder], |f| U::LiftSuspension {
        alert_seq: f.alert,
    });
}

#[test]
fn wasmd_admin_is_set_so_every_contract_can_migrate() {
    let f = fixture();
    for which in [
        Which::Registry,
        Which::Consent,
        Which::Agreements,
        Which::Audit,
    ] {
        let info =
            f.s.app
                .wrap()
                .query_wasm_contract_info(f.s.contract(which))
                .unwrap();
        assert_eq!(info.admin, Some(f.s.admin.clone()), "{which:?}");
    }
}
