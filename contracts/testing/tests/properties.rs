//! Property tests: random sequences of messages from random senders, run against the four
//! wired contracts and against an independent model of the rules. After every step:
//! - every message succeeds exactly when the model says it must, and a refused access is
//!   refused for the reason the model names (so no `RecordAccess` ever succeeds without an
//!   active, unexpired, uncapped agreement for the signed purpose and, where required,
//!   consent in force at that block);
//! - a withdrawal denies every consent-bound access from its own block on;
//! - coins are conserved: each account holds what the model says, and the contract holds
//!   exactly the sum of what the agreements still escrow;
//! - the audit hash chain verifies.

#[path = "properties/model.rs"]
mod model;
#[path = "properties/run.rs"]
mod run;

use std::collections::BTreeMap;

use proptest::prelude::*;

use model::*;
use run::*;

/// Every outcome an access can have, and the same-block withdrawal check; the run fails if the
/// generator stopped reaching one of them.
const MUST_SEE: [&str; 11] = [
    "same_block_withdrawal",
    "allowed",
    "consumer_suspended",
    "agreement_suspended",
    "agreement_terminated",
    "agreement_expired",
    "cap_reached",
    "purpose_not_permitted",
    "asset_tombstoned",
    "subject_required",
    "consent_not_granted",
];

#[test]
fn random_message_sequences_keep_every_rule() {
    let config = ProptestConfig {
        cases: 3000,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let seen = std::cell::RefCell::new(BTreeMap::<String, u32>::new());
    let result = runner.run(&proptest::collection::vec(step(), 1..40), |steps| {
        let mut run = setup();
        for s in &steps {
            run.apply(s, &mut seen.borrow_mut())?;
            run.check_invariants()?;
        }
        // every agreement's on-chain counters agree with the model at the end
        for a in &run.m.agreements {
            let on_chain = run.s.agreement(a.id).unwrap();
            prop_assert_eq!(on_chain.agreement.access_count, a.count);
            prop_assert_eq!(
                on_chain.agreement.paid_to_provider.to_string(),
                a.paid.to_string()
            );
            prop_assert_eq!(
                on_chain.agreement.refunded_to_consumer.to_string(),
                a.refunded.to_string()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner();
    println!("access outcomes over 3000 sequences: {seen:?}");
    for outcome in MUST_SEE {
        assert!(
            seen.get(outcome).copied().unwrap_or(0) >= 20,
            "the generator reached {outcome:?} fewer than 20 times: {seen:?}"
        );
    }
}
