//! Property tests: random sequences of messages from random senders, run against the four
//! wired contracts and against an independent model of the rules. After every step:
//! - every message succeeds exactly when the model says it must, and a refused access is
//!   refused for the reason the model names (so no `RecordAccess` ever succeeds without an
//!   active, unexpired, uncapped agreement for the signed purpose and, where required,
//!   consent in force at that block);
//! - a withdrawal denies every consent-bound access from its own block on;
//! - coins are conserved: each account holds what the model says, and the contract holds
//!   exactly the sum of what the agreements still escrow;
//! - the escrow invariants (see `contracts/agreements/src/payment.rs`): nothing vests before
//!   the key's delivery, the delivery share at it, and otherwise only the seconds the data was
//!   live (provider suspensions and erasure withhold), never decreasing, never above the price;
//! - only a current owner or steward sells: offers of a removed steward or a previous owner
//!   cannot be signed; a suspension stands while any of its alerts stands;
//! - the audit hash chain verifies.

#[path = "properties/checks.rs"]
mod checks;
#[path = "properties/model.rs"]
mod model;
#[path = "properties/run.rs"]
mod run;
#[path = "properties/setup.rs"]
mod setup;

use std::collections::BTreeMap;

use proptest::prelude::*;

use model::*;
use setup::*;

/// Every outcome an access can have, the same-block withdrawal check, and every path of the
/// audit's findings (former managers' offers, a lift with another alert standing, the escrow
/// games); the run fails if the generator stopped reaching one of them.
const MUST_SEE: [&str; 17] = [
    "sign_by_former_manager",
    "lift_with_another_alert_standing",
    "suspension_after_delivery",
    "erasure_after_delivery",
    "termination_right_after_delivery",
    "late_delivery",
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

/// The outcome counts, one per line, the paths the run must reach marked.
fn outcome_report(seen: &BTreeMap<String, u32>) -> String {
    let mut out = String::from("property test: paths reached over 3000 random sequences\n");
    for (outcome, n) in seen {
        let must = if MUST_SEE.contains(&outcome.as_str()) {
            " (must reach)"
        } else {
            ""
        };
        out.push_str(&format!("  {outcome:<36} {n:>7}{must}\n"));
    }
    out
}

/// How often each path must be reached. The seed is random, so the weights in `step()` keep the
/// rarest path's expected count near 40: far above this, the run fails only when a change to
/// the generator or the contracts makes a path (nearly) unreachable.
const MIN_REACH: u32 = 5;

/// The seed `make test` uses unless PROPTEST_RNG_SEED names another.
const DEFAULT_SEED: u64 = 20_261_201;

#[test]
fn random_message_sequences_keep_every_rule() {
    // one fixed seed by default, so `make test` is reproducible; PROPTEST_RNG_SEED=<n> explores
    // another set of sequences (and a failure names the seed that re-runs it)
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let config = ProptestConfig {
        cases: 3000,
        max_shrink_iters: 2000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let seen = std::cell::RefCell::new(BTreeMap::<String, u32>::new());
    let result = runner.run(&proptest::collection::vec(step(), 1..60), |steps| {
        let mut run = setup();
        for s in &steps {
            run.apply(s, &mut seen.borrow_mut())?;
            run.check_invariants()?;
            run.check_escrow()?;
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
        panic!("{e}\nre-run: PROPTEST_RNG_SEED={seed} cargo test -p datapact-testing --test properties");
    }
    let seen = seen.into_inner();
    let report = outcome_report(&seen);
    println!("{report}");
    // kept where `make test` prints it after the run (cargo captures a passing test's output)
    if let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR") {
        let dir = std::path::Path::new(&root).join("../../build");
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join("property-outcomes.txt"), &report);
        }
    }
    for outcome in MUST_SEE {
        assert!(
            seen.get(outcome).copied().unwrap_or(0) >= MIN_REACH,
            "the generator reached {outcome:?} fewer than {MIN_REACH} times: {seen:?}"
        );
    }
}
