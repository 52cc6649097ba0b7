//! A consumer's suspension stands while any alert that suspended it stands, in the audit
//! contract and in the agreements contract alike: lifting one alert as a false positive does not
//! free a consumer another alert suspended.

use cosmwasm_std::coin;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_testing::{Suite, Which, DENOM};
use datapact_types::agreements::DenyReason;
use datapact_types::{Sensitivity, Severity};

#[test]
fn lifting_one_alert_leaves_the_suspension_of_another_standing() {
    let mut s = Suite::new();
    let (p, c) = (s.addr("provider1"), s.addr("consumer1"));
    let (sentinel, responder) = (s.sentinel.clone(), s.responder.clone());
    let asset = s.register_asset(&p, Sensitivity::Internal).unwrap();
    let offer = s
        .create_offer(&p, asset, Suite::offer_terms(1000, None, false))
        .unwrap();
    s.sign(&c, offer, "research", &[coin(1000, DENOM)]).unwrap();
    let first = s.report_alert(&sentinel, &c, Severity::High).unwrap();
    let second = s.report_alert(&sentinel, &c, Severity::Critical).unwrap();
    let refused = |s: &Suite| s.can_access(&c, asset, "research", None).unwrap().reason;
    assert_eq!(refused(&s), Some(DenyReason::ConsumerSuspended));
    s.exec(
        &responder,
        Which::Audit,
        &U::LiftSuspension { alert_seq: first },
        &[],
    )
    .unwrap();
    assert_eq!(
        refused(&s),
        Some(DenyReason::ConsumerSuspended),
        "alert {second} still suspends the consumer"
    );
    s.exec(
        &responder,
        Which::Audit,
        &U::LiftSuspension { alert_seq: second },
        &[],
    )
    .unwrap();
    assert_eq!(refused(&s), None, "with every alert lifted, access is back");
}
