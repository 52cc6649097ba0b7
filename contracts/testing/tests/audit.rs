//! Audit: alerts, the hash chain, threat response, acknowledgement and resolution.

use cosmwasm_std::Decimal;
use datapact_audit::msg::{
    AlertsResponse, EntriesResponse, ExecuteMsg as U, HeadResponse, QueryMsg as Q,
};
use datapact_audit::state::AlertState;
use datapact_audit::ContractError;
use datapact_testing::{assert_fails_with, hash_of, Suite, Which};
use datapact_types::agreements::DenyReason;
use datapact_types::{Sensitivity, Severity};

#[test]
fn an_alert_at_the_threshold_suspends_and_below_it_does_not() {
    let mut s = Suite::new();
    let (p, c1, c2) = (
        s.addr("provider1"),
        s.addr("consumer1"),
        s.addr("consumer2"),
    );
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    let o = s
        .create_offer(&p, a, Suite::offer_terms(0, None, false))
        .unwrap();
    s.sign(&c1, o, "research", &[]).unwrap();
    s.sign(&c2, o, "research", &[]).unwrap();
    let sentinel = s.sentinel.clone();
    s.report_alert(&sentinel, &c2, Severity::Medium).unwrap();
    assert!(
        s.can_access(&c2, a, "research", None).unwrap().allowed,
        "medium is below the high threshold"
    );
    let seq = s.report_alert(&sentinel, &c1, Severity::High).unwrap();
    assert_eq!(
        s.can_access(&c1, a, "research", None).unwrap().reason,
        Some(DenyReason::ConsumerSuspended)
    );
    let responder = s.responder.clone();
    s.exec(
        &responder,
        Which::Audit,
        &U::LiftSuspension { alert_seq: seq },
        &[],
    )
    .unwrap();
    assert!(
        s.can_access(&c1, a, "research", None).unwrap().allowed,
        "lifted"
    );
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::LiftSuspension { alert_seq: seq },
            &[],
        ),
        ContractError::NoSuspension { seq },
    );
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::LiftSuspension { alert_seq: 1 },
            &[],
        ),
        ContractError::NoSuspension { seq: 1 },
    );
}

#[test]
fn alerts_move_open_acknowledged_resolved_and_no_further() {
    let mut s = Suite::new();
    let c = s.addr("consumer1");
    let (sentinel, responder) = (s.sentinel.clone(), s.responder.clone());
    let seq = s.report_alert(&sentinel, &c, Severity::Low).unwrap();
    s.exec(
        &responder,
        Which::Audit,
        &U::Acknowledge { alert_seq: seq },
        &[],
    )
    .unwrap();
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::Acknowledge { alert_seq: seq },
            &[],
        ),
        "is acknowledged, so it cannot be acknowledged",
    );
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::Resolve {
                alert_seq: seq,
                resolution: "".into(),
            },
            &[],
        ),
        "resolution must not be empty",
    );
    s.exec(
        &responder,
        Which::Audit,
        &U::Resolve {
            alert_seq: seq,
            resolution: "confirmed, key rotated".into(),
        },
        &[],
    )
    .unwrap();
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::Resolve {
                alert_seq: seq,
                resolution: "again".into(),
            },
            &[],
        ),
        "is resolved",
    );
    assert_fails_with(
        s.exec(
            &responder,
            Which::Audit,
            &U::Acknowledge { alert_seq: 77 },
            &[],
        ),
        ContractError::AlertNotFound { seq: 77 },
    );
}

#[test]
fn every_action_extends_a_hash_chain_that_verifies() {
    let mut s = Suite::new();
    let c = s.addr("consumer1");
    let (sentinel, responder, admin) = (s.sentinel.clone(), s.responder.clone(), s.admin.clone());
    let a1 = s.report_alert(&sentinel, &c, Severity::Low).unwrap();
    s.exec(
        &responder,
        Which::Audit,
        &U::Acknowledge { alert_seq: a1 },
        &[],
    )
    .unwrap();
    s.exec(
        &admin,
        Which::Audit,
        &U::UpdatePolicy {
            suspend_threshold: Severity::Critical,
        },
        &[],
    )
    .unwrap();
    s.report_alert(&sentinel, &c, Severity::High).unwrap();
    let head: HeadResponse = s.query(Which::Audit, &Q::Head {}).unwrap();
    assert_eq!(head.seq, 4);
    let entries: EntriesResponse = s
        .query(
            Which::Audit,
            &Q::Entries {
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    for pair in entries.entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(entries.entries.last().unwrap().hash, head.hash);
    let v = s.verify_audit().unwrap();
    assert!(v.valid && v.checked == 4 && v.first_invalid.is_none());
    let bad: anyhow::Result<datapact_audit::msg::VerifyResponse> =
        s.query(Which::Audit, &Q::Verify { from: 0, to: 3 });
    assert_fails_with(bad, "verify range 0..=3 is invalid");
    // the critical threshold now applies: a high alert did not suspend
    let alerts: AlertsResponse = s
        .query(
            Which::Audit,
            &Q::Alerts {
                subject: None,
                min_severity: None,
                state: None,
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert!(!alerts.alerts[1].suspended);
}

#[test]
fn alert_listing_filters_by_subject_severity_and_state() {
    let mut s = Suite::new();
    let (c1, c2) = (s.addr("consumer1"), s.addr("consumer2"));
    let (sentinel, responder) = (s.sentinel.clone(), s.responder.clone());
    s.report_alert(&sentinel, &c1, Severity::Low).unwrap();
    let high = s.report_alert(&sentinel, &c1, Severity::High).unwrap();
    s.report_alert(&sentinel, &c2, Severity::Critical).unwrap();
    s.exec(
        &responder,
        Which::Audit,
        &U::Acknowledge { alert_seq: high },
        &[],
    )
    .unwrap();
    let q = |subject: Option<String>, min_severity, state| Q::Alerts {
        subject,
        min_severity,
        state,
        start_after: None,
        limit: None,
    };
    let by_subject: AlertsResponse = s
        .query(Which::Audit, &q(Some(c1.to_string()), None, None))
        .unwrap();
    assert_eq!(by_subject.alerts.len(), 2);
    let severe: AlertsResponse = s
        .query(Which::Audit, &q(None, Some(Severity::High), None))
        .unwrap();
    assert_eq!(severe.alerts.len(), 2);
    let acked: AlertsResponse = s
        .query(
            Which::Audit,
            &q(Some(c1.to_string()), None, Some(AlertState::Acknowledged)),
        )
        .unwrap();
    assert_eq!(
        acked.alerts.iter().map(|a| a.seq).collect::<Vec<_>>(),
        vec![high]
    );
}

#[test]
fn malformed_alerts_are_typed_errors() {
    let mut s = Suite::new();
    let c = s.addr("consumer1");
    let sentinel = s.sentinel.clone();
    let alert = |score: Decimal, evidence: &str, kind: &str| U::ReportAlert {
        kind: kind.into(),
        severity: Severity::Low,
        subject: c.to_string(),
        asset_id: None,
        evidence_hash: evidence.into(),
        score,
        model_version: "m1".into(),
    };
    assert_fails_with(
        s.exec(
            &sentinel,
            Which::Audit,
            &alert(Decimal::percent(101), &hash_of("e"), "burst"),
            &[],
        ),
        "score must be between 0 and 1",
    );
    assert_fails_with(
        s.exec(
            &sentinel,
            Which::Audit,
            &alert(Decimal::one(), "zz", "burst"),
            &[],
        ),
        "evidence_hash must be 64 lowercase hex",
    );
    assert_fails_with(
        s.exec(
            &sentinel,
            Which::Audit,
            &alert(Decimal::one(), &hash_of("e"), "Burst!"),
            &[],
        ),
        "kind must be a lowercase slug",
    );
    let mut bad_subject = alert(Decimal::one(), &hash_of("e"), "burst");
    if let U::ReportAlert { subject, .. } = &mut bad_subject {
        *subject = "not-an-address".into();
    }
    assert!(s.exec(&sentinel, Which::Audit, &bad_subject, &[]).is_err());
}
