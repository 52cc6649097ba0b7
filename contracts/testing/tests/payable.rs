//! Only `Sign` takes a payment. Every other message of every contract refuses funds, which
//! would otherwise be stuck in a contract that has no way to pay them out.

use cosmwasm_std::coin;
use datapact_audit::msg::ExecuteMsg as U;
use datapact_consent::msg::ExecuteMsg as C;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{hash_of, Suite, Which, DENOM};
use datapact_types::{Sensitivity, Severity};

#[test]
fn registry_consent_and_audit_refuse_funds_sent_with_any_message() {
    let mut s = Suite::new();
    let (p, subject) = (s.addr("provider1"), s.addr("subject1"));
    let sentinel = s.sentinel.clone();
    let funds = [coin(5, DENOM)];
    let cases = [
        s.exec(
            &p,
            Which::Registry,
            &R::RegisterAsset {
                name: "a".into(),
                description: None,
                sensitivity: Sensitivity::Public,
                tags: vec![],
            },
            &funds,
        )
        .err(),
        s.exec(
            &subject,
            Which::Consent,
            &C::Grant {
                subject: None,
                terms: Suite::terms(&p, 1, "research"),
            },
            &funds,
        )
        .err(),
        s.exec(
            &sentinel,
            Which::Audit,
            &U::ReportAlert {
                kind: "access_burst".into(),
                severity: Severity::Low,
                subject: p.to_string(),
                asset_id: None,
                evidence_hash: hash_of("e"),
                score: cosmwasm_std::Decimal::percent(50),
                model_version: "m-1".into(),
            },
            &funds,
        )
        .err(),
    ];
    for (i, err) in cases.iter().enumerate() {
        let err = err
            .as_ref()
            .unwrap_or_else(|| panic!("case {i}: funds were accepted"));
        assert!(
            err.to_string().contains("takes no payment") || err.to_string().contains("payment"),
            "case {i}: {err}"
        );
    }
}
