//! Agreements: offers, signing with payment, key deposit, access checks, escrow settlement.

use cosmwasm_std::{coin, Addr, Binary, Uint256};
use datapact_agreements::msg::{EffectiveStatus, ExecuteMsg as A, OffersResponse, QueryMsg as Q};
use datapact_agreements::ContractError;
use datapact_testing::{assert_fails_with, Suite, Which, DENOM, START_BALANCE};
use datapact_types::agreements::DenyReason;
use datapact_types::registry::AssetRole;
use datapact_types::{Sensitivity, Severity};

struct World {
    s: Suite,
    provider: Addr,
    consumer: Addr,
    asset: u64,
}

fn world() -> World {
    let mut s = Suite::new();
    let provider = s.addr("provider1");
    let consumer = s.addr("consumer1");
    let asset = s.register_asset(&provider, Sensitivity::Personal).unwrap();
    s.publish(&provider, asset, vec![]).unwrap();
    World {
        s,
        provider,
        consumer,
        asset,
    }
}

fn denied(reason: DenyReason, agreement_id: u64) -> ContractError {
    ContractError::AccessDenied {
        agreement_id,
        reason,
    }
}

#[test]
fn only_the_owner_or_a_steward_can_offer_an_asset() {
    let mut w = world();
    let x = w.s.addr("stranger");
    let st = w.s.addr("steward1");
    let terms = Suite::offer_terms(100, None, false);
    assert_fails_with(
        w.s.create_offer(&x, w.asset, terms.clone()),
        ContractError::NotAssetManager {
            sender: x.to_string(),
            asset_id: w.asset,
        },
    );
    assert_fails_with(
        w.s.create_offer(&x, 99, terms.clone()),
        ContractError::AssetNotFound { id: 99 },
    );
    w.s.exec(
        &w.provider,
        Which::Registry,
        &datapact_registry::msg::ExecuteMsg::AddSteward {
            asset_id: w.asset,
            steward: st.to_string(),
        },
        &[],
    )
    .unwrap();
    w.s.create_offer(&st, w.asset, terms.clone())
        .expect("a steward may offer");
    w.s.create_offer(&w.provider, w.asset, terms)
        .expect("the owner may offer");
    let offers: OffersResponse =
        w.s.query(
            Which::Agreements,
            &Q::Offers {
                asset_id: Some(w.asset),
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert_eq!(offers.offers.len(), 2);
    assert!(AssetRole::Steward.can_manage() && !AssetRole::None.can_manage());
}

#[test]
fn offer_terms_are_validated() {
    let mut w = world();
    let mut t = Suite::offer_terms(100, None, false);
    t.prohibited_purposes.push("research".into());
    assert_fails_with(
        w.s.create_offer(&w.provider, w.asset, t),
        ContractError::PurposeConflict {
            purpose: "research".into(),
        },
    );
    let mut t = Suite::offer_terms(100, None, false);
    t.duration_seconds = 0;
    assert_fails_with(
        w.s.create_offer(&w.provider, w.asset, t),
        "duration must be 1 to",
    );
    assert_fails_with(
        w.s.create_offer(
            &w.provider,
            w.asset,
            Suite::offer_terms(100, Some(0), false),
        ),
        ContractError::InvalidCap {},
    );
    let mut t = Suite::offer_terms(100, None, false);
    t.price.denom = "!".into();
    assert_fails_with(
        w.s.create_offer(&w.provider, w.asset, t),
        ContractError::InvalidDenom { denom: "!".into() },
    );
    let mut t = Suite::offer_terms(100, None, false);
    t.permitted_purposes.clear();
    assert_fails_with(
        w.s.create_offer(&w.provider, w.asset, t),
        "permitted_purposes must not be empty",
    );
}

#[test]
fn signing_needs_the_exact_price_a_permitted_purpose_and_an_open_offer() {
    let mut w = world();
    let o =
        w.s.create_offer(&w.provider, w.asset, Suite::offer_terms(500, None, false))
            .unwrap();
    let c = w.consumer.clone();
    assert_fails_with(
        w.s.sign(&c, o, "research", &[]),
        "wrong payment: send exactly 500udpt",
    );
    assert_fails_with(
        w.s.sign(&c, o, "research", &[coin(499, DENOM)]),
        "wrong payment",
    );
    assert_fails_with(
        w.s.sign(&c, o, "research", &[coin(501, DENOM)]),
        "wrong payment",
    );
    assert_fails_with(
        w.s.sign(&c, o, "marketing", &[coin(500, DENOM)]),
        ContractError::PurposeNotOffered {
            offer_id: o,
            purpose: "marketing".into(),
        },
    );
    assert_fails_with(
        w.s.sign(&c, o, "training", &[coin(500, DENOM)]),
        "is not permitted by offer",
    );
    let p = w.provider.clone();
    assert_fails_with(
        w.s.sign(&p, o, "research", &[coin(500, DENOM)]),
        ContractError::SelfDealing {},
    );
    let res = w.s.exec(
        &c,
        Which::Agreements,
        &A::Sign {
            offer_id: o,
            purpose: "research".into(),
            consumer_public_key: Binary::default(),
        },
        &[coin(500, DENOM)],
    );
    assert_fails_with(res, "consumer_public_key must be 1 to 128 bytes");
    let id = w.s.sign(&c, o, "research", &[coin(500, DENOM)]).unwrap();
    assert_eq!(w.s.balance(&c), START_BALANCE - 500);
    assert_eq!(w.s.balance(&w.s.agreements.clone()), 500);
    assert_eq!(w.s.agreement(id).unwrap().held, Uint256::from(500u128));
    w.s.exec(
        &p,
        Which::Agreements,
        &A::WithdrawOffer { offer_id: o },
        &[],
    )
    .unwrap();
    assert_fails_with(
        w.s.sign(&c, o, "research", &[coin(500, DENOM)]),
        ContractError::OfferWithdrawn { id: o },
    );
    assert_eq!(
        w.s.agreement(id).unwrap().effective_status,
        EffectiveStatus::Active,
        "withdrawing an offer leaves signed agreements standing"
    );
    let free =
        w.s.create_offer(&p, w.asset, Suite::offer_terms(0, None, false))
            .unwrap();
    assert_fails_with(
        w.s.sign(&c, free, "research", &[coin(1, DENOM)]),
        "wrong payment",
    );
    w.s.sign(&c, free, "research", &[])
        .expect("a free offer takes no funds");
}

#[test]
fn every_deny_reason_is_reported_by_can_access_and_enforced_by_record_access() {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let a = w.asset;
    let check = |w: &World, purpose: &str, subject: Option<&str>| {
        w.s.can_access(&w.consumer, a, purpose, subject).unwrap()
    };
    assert_eq!(
        check(&w, "research", None).reason,
        Some(DenyReason::NoAgreement)
    );

    let o =
        w.s.create_offer(&p, a, Suite::offer_terms(0, Some(2), false))
            .unwrap();
    let id = w.s.sign(&c, o, "research", &[]).unwrap();
    let ok = check(&w, "research", None);
    assert!(ok.allowed && ok.agreement_id == Some(id));
    assert_eq!(
        check(&w, "analytics", None).reason,
        Some(DenyReason::PurposeNotPermitted),
        "only the purpose signed for"
    );
    assert_fails_with(
        w.s.record_access(&c, id, "analytics", None),
        denied(DenyReason::PurposeNotPermitted, id),
    );

    w.s.record_access(&c, id, "research", None).unwrap();
    w.s.record_access(&c, id, "research", None).unwrap();
    assert_eq!(
        check(&w, "research", None).reason,
        Some(DenyReason::CapReached)
    );
    assert_fails_with(
        w.s.record_access(&c, id, "research", None),
        denied(DenyReason::CapReached, id),
    );
    assert_eq!(w.s.agreement(id).unwrap().agreement.access_count, 2);

    let o2 =
        w.s.create_offer(&p, a, Suite::offer_terms(0, None, false))
            .unwrap();
    let id2 = w.s.sign(&c, o2, "research", &[]).unwrap();
    assert_eq!(
        check(&w, "research", None).agreement_id,
        Some(id2),
        "any agreement that allows, allows"
    );
    w.s.exec(
        &p,
        Which::Agreements,
        &A::Suspend { agreement_id: id2 },
        &[],
    )
    .unwrap();
    assert_fails_with(
        w.s.record_access(&c, id2, "research", None),
        denied(DenyReason::AgreementSuspended, id2),
    );
    assert_fails_with(
        w.s.exec(
            &p,
            Which::Agreements,
            &A::Suspend { agreement_id: id2 },
            &[],
        ),
        "is suspended, so it cannot be suspend",
    );
    w.s.exec(&p, Which::Agreements, &A::Resume { agreement_id: id2 }, &[])
        .unwrap();
    w.s.record_access(&c, id2, "research", None).unwrap();

    w.s.advance(100, 100 * 86_400);
    assert_fails_with(
        w.s.record_access(&c, id2, "research", None),
        denied(DenyReason::AgreementExpired, id2),
    );
    assert_eq!(
        w.s.agreement(id2).unwrap().effective_status,
        EffectiveStatus::Expired
    );

    let o3 =
        w.s.create_offer(&p, a, Suite::offer_terms(0, None, false))
            .unwrap();
    let id3 = w.s.sign(&c, o3, "research", &[]).unwrap();
    w.s.exec(
        &c,
        Which::Agreements,
        &A::Terminate { agreement_id: id3 },
        &[],
    )
    .unwrap();
    assert_fails_with(
        w.s.record_access(&c, id3, "research", None),
        denied(DenyReason::AgreementTerminated, id3),
    );

    let o4 =
        w.s.create_offer(&p, a, Suite::offer_terms(0, None, false))
            .unwrap();
    let id4 = w.s.sign(&c, o4, "research", &[]).unwrap();
    w.s.exec(
        &p,
        Which::Registry,
        &datapact_registry::msg::ExecuteMsg::Tombstone { asset_id: a },
        &[],
    )
    .unwrap();
    assert_fails_with(
        w.s.record_access(&c, id4, "research", None),
        denied(DenyReason::AssetTombstoned, id4),
    );
    assert_fails_with(
        w.s.create_offer(&p, a, Suite::offer_terms(0, None, false)),
        ContractError::AssetTombstoned { id: a },
    );
    let x = w.s.addr("stranger");
    assert_fails_with(
        w.s.record_access(&x, id4, "research", None),
        "needs the consumer of agreement 4",
    );
}

#[test]
fn consent_required_terms_ask_the_consent_contract_at_every_access() {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let subj = w.s.addr("subject1");
    let o =
        w.s.create_offer(&p, w.asset, Suite::offer_terms(0, None, true))
            .unwrap();
    let id = w.s.sign(&c, o, "research", &[]).unwrap();
    assert_fails_with(
        w.s.record_access(&c, id, "research", None),
        denied(DenyReason::SubjectRequired, id),
    );
    assert_fails_with(
        w.s.record_access(&c, id, "research", Some(subj.as_str())),
        denied(DenyReason::ConsentNotGranted, id),
    );
    // consent to another controller does not count
    let other = w.s.addr("provider2");
    w.s.grant(&subj, Suite::terms(&other, w.asset, "research"))
        .unwrap();
    assert_fails_with(
        w.s.record_access(&c, id, "research", Some(subj.as_str())),
        denied(DenyReason::ConsentNotGranted, id),
    );
    let cid =
        w.s.grant(&subj, Suite::terms(&p, w.asset, "research"))
            .unwrap();
    w.s.record_access(&c, id, "research", Some(subj.as_str()))
        .unwrap();
    w.s.withdraw(&subj, cid).unwrap();
    // same block as the withdrawal
    assert_fails_with(
        w.s.record_access(&c, id, "research", Some(subj.as_str())),
        denied(DenyReason::ConsentNotGranted, id),
    );
    assert_eq!(
        w.s.can_access(&c, w.asset, "research", Some(subj.as_str()))
            .unwrap()
            .reason,
        Some(DenyReason::ConsentNotGranted)
    );
}

#[test]
fn escrow_vests_from_key_deposit_and_settles_on_termination() {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let contract = w.s.agreements.clone();
    let mut t = Suite::offer_terms(1000, None, false);
    t.duration_seconds = 1000;
    let o = w.s.create_offer(&p, w.asset, t).unwrap();

    // terminated before delivery: full refund
    let id = w.s.sign(&c, o, "research", &[coin(1000, DENOM)]).unwrap();
    assert_fails_with(
        w.s.exec(&p, Which::Agreements, &A::Claim { agreement_id: id }, &[]),
        ContractError::NothingToClaim { id },
    );
    w.s.advance(1, 500);
    w.s.exec(
        &p,
        Which::Agreements,
        &A::Terminate { agreement_id: id },
        &[],
    )
    .unwrap();
    assert_eq!(
        (w.s.balance(&c), w.s.balance(&p), w.s.balance(&contract)),
        (START_BALANCE, START_BALANCE, 0)
    );
    assert_fails_with(
        w.s.exec(
            &c,
            Which::Agreements,
            &A::Terminate { agreement_id: id },
            &[],
        ),
        "is terminated, so it cannot be terminated",
    );

    // delivered (a quarter vests at once), claimed at 25% of the term, terminated at 60%
    let id = w.s.sign(&c, o, "research", &[coin(1000, DENOM)]).unwrap();
    let x = w.s.addr("stranger");
    assert_fails_with(w.s.deposit_key(&x, id), "needs the provider of agreement 2");
    w.s.deposit_key(&p, id).unwrap();
    assert_fails_with(
        w.s.deposit_key(&p, id),
        ContractError::KeyAlreadyDeposited { id },
    );
    assert_eq!(w.s.agreement(id).unwrap().vested, Uint256::from(250u128));
    w.s.advance(1, 250);
    w.s.exec(&p, Which::Agreements, &A::Claim { agreement_id: id }, &[])
        .unwrap();
    // 250 + 750 * 250/1000, rounded down
    assert_eq!(w.s.balance(&p), START_BALANCE + 437);
    w.s.advance(1, 350);
    assert_eq!(w.s.agreement(id).unwrap().vested, Uint256::from(700u128));
    w.s.exec(
        &c,
        Which::Agreements,
        &A::Terminate { agreement_id: id },
        &[],
    )
    .unwrap();
    assert_eq!(w.s.balance(&p), START_BALANCE + 700);
    assert_eq!(w.s.balance(&c), START_BALANCE - 700);
    assert_eq!(w.s.balance(&contract), 0);
    let a = w.s.agreement(id).unwrap();
    assert_eq!(
        (
            a.agreement.paid_to_provider,
            a.agreement.refunded_to_consumer,
            a.held
        ),
        (
            Uint256::from(700u128),
            Uint256::from(300u128),
            Uint256::zero()
        )
    );

    // run to expiry: everything vests, the provider claims it all
    let id = w.s.sign(&c, o, "research", &[coin(1000, DENOM)]).unwrap();
    w.s.deposit_key(&p, id).unwrap();
    w.s.advance(10, 5000);
    assert_fails_with(
        w.s.deposit_key(&p, id),
        ContractError::AgreementExpired { id },
    );
    w.s.exec(&p, Which::Agreements, &A::Claim { agreement_id: id }, &[])
        .unwrap();
    assert_eq!(w.s.balance(&p), START_BALANCE + 1700);
    assert_eq!(w.s.balance(&contract), 0);
}

#[test]
fn funds_sent_to_a_message_that_takes_none_are_refused() {
    let mut w = world();
    let p = w.provider.clone();
    let res = w.s.exec(
        &p,
        Which::Agreements,
        &A::CreateOffer {
            asset_id: w.asset,
            terms: Suite::offer_terms(1, None, false),
        },
        &[coin(5, DENOM)],
    );
    assert_fails_with(res, "takes no payment");
}

#[test]
fn suspend_consumer_is_accepted_only_from_the_audit_contract() {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let admin = w.s.admin.clone();
    let msg = A::SuspendConsumer {
        consumer: c.to_string(),
        alert_seq: 1,
    };
    for sender in [&p, &c, &admin] {
        assert_fails_with(
            w.s.exec(sender, Which::Agreements, &msg, &[]),
            "needs the audit contract",
        );
    }
    let o =
        w.s.create_offer(&p, w.asset, Suite::offer_terms(0, None, false))
            .unwrap();
    let id = w.s.sign(&c, o, "research", &[]).unwrap();
    let sentinel = w.s.sentinel.clone();
    let alert = w.s.report_alert(&sentinel, &c, Severity::High).unwrap();
    assert_fails_with(
        w.s.record_access(&c, id, "research", None),
        denied(DenyReason::ConsumerSuspended, id),
    );
    assert_fails_with(
        w.s.sign(&c, o, "research", &[]),
        ContractError::ConsumerSuspended {
            consumer: c.to_string(),
            alert_seq: alert,
        },
    );
    assert!(w.s.agreement(id).unwrap().consumer_suspended);
}

#[test]
fn a_recorded_access_stays_deliverable_past_the_cap_and_not_past_a_suspension_the_expiry_or_a_tombstone(
) {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let a = w.asset;
    let o =
        w.s.create_offer(&p, a, Suite::offer_terms(0, Some(1), false))
            .unwrap();
    let id = w.s.sign(&c, o, "research", &[]).unwrap();
    w.s.record_access(&c, id, "research", None).unwrap();
    assert_eq!(
        w.s.can_access(&c, a, "research", None).unwrap().reason,
        Some(DenyReason::CapReached),
        "no further access may be recorded"
    );
    let ok = w.s.can_deliver(id, None).unwrap();
    assert!(
        ok.allowed && ok.agreement_id == Some(id) && ok.reason.is_none(),
        "the access that used the last unit of the cap is still delivered: {ok:?}"
    );
    assert_eq!(
        w.s.can_deliver(id + 100, None).unwrap().reason,
        Some(DenyReason::NoAgreement),
        "an unknown agreement is refused, not an error"
    );

    let sentinel = w.s.sentinel.clone();
    let alert = w.s.report_alert(&sentinel, &c, Severity::High).unwrap();
    assert_eq!(
        w.s.can_deliver(id, None).unwrap().reason,
        Some(DenyReason::ConsumerSuspended),
        "a suspension after the access was recorded stops its delivery"
    );
    let responder = w.s.responder.clone();
    w.s.exec(
        &responder,
        Which::Audit,
        &datapact_audit::msg::ExecuteMsg::LiftSuspension { alert_seq: alert },
        &[],
    )
    .unwrap();
    assert!(w.s.can_deliver(id, None).unwrap().allowed, "lifted");

    w.s.exec(
        &p,
        Which::Registry,
        &datapact_registry::msg::ExecuteMsg::Tombstone { asset_id: a },
        &[],
    )
    .unwrap();
    assert_eq!(
        w.s.can_deliver(id, None).unwrap().reason,
        Some(DenyReason::AssetTombstoned)
    );
}

#[test]
fn an_access_recorded_before_the_expiry_is_not_delivered_after_it() {
    let mut w = world();
    let (p, c) = (w.provider.clone(), w.consumer.clone());
    let o =
        w.s.create_offer(&p, w.asset, Suite::offer_terms(0, None, false))
            .unwrap();
    let id = w.s.sign(&c, o, "research", &[]).unwrap();
    w.s.record_access(&c, id, "research", None).unwrap();
    w.s.advance(10, 100 * 86_400);
    assert_eq!(
        w.s.can_deliver(id, None).unwrap().reason,
        Some(DenyReason::AgreementExpired)
    );
}
