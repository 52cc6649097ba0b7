//! Escrow arithmetic. Pure functions, so the rules are checked here once and relied on
//! everywhere; the property test checks them again against a model.
//!
//! The price P moves into escrow at `Sign`. Nothing vests before the key is delivered. At the
//! delivery, the delivery share (`delivery_share_bps` of P) vests at once: a key once delivered
//! cannot be taken back. The rest vests linearly over the agreement's whole term `[signed,
//! expires]`, but only for the seconds the data is actually available to the consumer: from
//! the delivery on, not while the provider suspends the agreement, not after the asset is
//! erased or the agreement ends. A late delivery therefore earns less, and no move of the
//! provider's can earn it the part of the term it withheld; no move of the consumer's can take
//! back the delivery share. A suspension by the audit contract (the consumer's misbehaviour)
//! does not stop the clock.
//!
//! Invariants (the property test checks each):
//! - conservation: `paid_to_provider + refunded_to_consumer + held = P`, and the contract's
//!   balance is the sum of what it holds;
//! - no delivery, no pay: before `DepositKey`, `vested = 0`;
//! - the delivery is paid: after it, `vested >= delivery share`;
//! - no pay for withheld time: `vested <= share + (P - share) * live / term`, where `live`
//!   excludes provider suspensions, time after a tombstone and time before the delivery;
//! - monotone and bounded: `vested` never decreases and never exceeds P.
//!
//! Agreements signed before 0.2.0 keep their terms (no delivery share, the rest vesting from
//! the delivery to expiry), with the two defect fixes: provider suspensions and tombstones
//! stop their clock too.

use cosmwasm_std::{Timestamp, Uint256};

use crate::state::{Agreement, BPS};

/// The seconds of `a`'s term during which its data was available to the consumer, up to
/// `now`: from the key's delivery to the earliest of now, expiry, termination and erasure
/// (`erased_at`), less the provider's suspensions.
pub fn live_seconds(a: &Agreement, now: Timestamp, erased_at: Option<Timestamp>) -> u64 {
    let Some(delivered) = a.key_deposited_at else {
        return 0;
    };
    let mut end = now.min(a.expires_at);
    if let Some(t) = a.terminated_at {
        end = end.min(t);
    }
    if let Some(t) = erased_at {
        end = end.min(t);
    }
    let (start, end) = (delivered.seconds(), end.seconds());
    if end <= start {
        return 0;
    }
    let suspended_now = a
        .suspended_since
        .map_or(0, |since| end.saturating_sub(since.seconds().max(start)));
    (end - start).saturating_sub(a.paused_seconds + suspended_now)
}

/// The delivery share of the price.
pub fn delivery_share(a: &Agreement) -> Uint256 {
    let bps = a.terms.delivery_share_bps.min(BPS);
    a.terms.price.amount.multiply_ratio(bps, BPS)
}

/// What has vested to the provider at `now` (rounded down, in the consumer's favour).
pub fn vested(a: &Agreement, now: Timestamp, erased_at: Option<Timestamp>) -> Uint256 {
    let Some(delivered) = a.key_deposited_at else {
        return Uint256::zero();
    };
    let price = a.terms.price.amount;
    let share = delivery_share(a);
    let rest = price - share;
    // over the whole term (0.2.0 on), or from delivery to expiry (agreements signed before)
    let span = if a.term_vesting {
        a.expires_at.seconds().saturating_sub(a.signed_at.seconds())
    } else {
        a.expires_at.seconds().saturating_sub(delivered.seconds())
    };
    if span == 0 {
        return price;
    }
    let live = live_seconds(a, now, erased_at).min(span);
    share + rest.multiply_ratio(live, span)
}

/// What the contract still holds for the agreement.
pub fn held(a: &Agreement) -> Uint256 {
    a.terms.price.amount - a.paid_to_provider - a.refunded_to_consumer
}

/// Splits what is held at termination: (to the provider, back to the consumer).
pub fn settle(a: &Agreement, now: Timestamp, erased_at: Option<Timestamp>) -> (Uint256, Uint256) {
    let v = vested(a, now, erased_at).max(a.paid_to_provider);
    let to_provider = v - a.paid_to_provider;
    let to_consumer = a.terms.price.amount - v - a.refunded_to_consumer;
    (to_provider, to_consumer)
}

/// The seconds a provider suspension from `since` to `until` withheld from the live window:
/// counted from the delivery (a suspension before it withholds nothing) up to expiry or the
/// asset's erasure, whichever comes first (time after either is not live anyway, so counting
/// it would withhold it twice).
pub fn withheld_seconds(
    a: &Agreement,
    since: Timestamp,
    until: Timestamp,
    erased_at: Option<Timestamp>,
) -> u64 {
    let Some(delivered) = a.key_deposited_at else {
        return 0;
    };
    let from = since.max(delivered).seconds();
    let mut to = until.min(a.expires_at);
    if let Some(t) = erased_at {
        to = to.min(t);
    }
    to.seconds().saturating_sub(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AgreementStatus, OfferTerms};
    use cosmwasm_std::{coin, Addr, Binary};

    fn agreement(price: u128, share_bps: u16, key_at: Option<u64>, expires: u64) -> Agreement {
        Agreement {
            id: 1,
            offer_id: 1,
            asset_id: 1,
            provider: Addr::unchecked("p"),
            consumer: Addr::unchecked("c"),
            purpose: "research".into(),
            terms: OfferTerms {
                permitted_purposes: vec!["research".into()],
                prohibited_purposes: vec![],
                duration_seconds: expires,
                access_cap: None,
                price: coin(price, "udpt"),
                consent_required: false,
                delivery_share_bps: share_bps,
            },
            consumer_public_key: Binary::from(vec![1]),
            status: AgreementStatus::Active,
            signed_at: Timestamp::from_seconds(0),
            signed_height: 1,
            expires_at: Timestamp::from_seconds(expires),
            access_count: 0,
            wrapped_key: None,
            key_deposited_at: key_at.map(Timestamp::from_seconds),
            terminated_at: None,
            paid_to_provider: Uint256::zero(),
            refunded_to_consumer: Uint256::zero(),
            paused_seconds: 0,
            suspended_since: None,
            term_vesting: true,
        }
    }

    fn t(s: u64) -> Timestamp {
        Timestamp::from_seconds(s)
    }

    #[test]
    fn nothing_vests_before_the_key_is_delivered() {
        let a = agreement(1000, 2000, None, 100);
        assert_eq!(vested(&a, t(50), None), Uint256::zero());
        assert_eq!(
            settle(&a, t(50), None),
            (Uint256::zero(), Uint256::from(1000u128))
        );
    }

    #[test]
    fn the_delivery_share_vests_at_once_and_the_rest_over_the_whole_term() {
        let a = agreement(1000, 2000, Some(20), 100);
        assert_eq!(vested(&a, t(20), None), Uint256::from(200u128));
        // 40 of 100 seconds live: 200 + 800 * 40/100
        assert_eq!(vested(&a, t(60), None), Uint256::from(520u128));
        // delivered at 20: 80 live seconds at most
        assert_eq!(vested(&a, t(1000), None), Uint256::from(840u128));
    }

    #[test]
    fn a_provider_suspension_and_an_erasure_stop_the_clock() {
        let mut a = agreement(1000, 2000, Some(0), 100);
        a.suspended_since = Some(t(10));
        assert_eq!(vested(&a, t(90), None), Uint256::from(280u128), "10 s live");
        a.suspended_since = None;
        a.paused_seconds = 80;
        assert_eq!(
            vested(&a, t(100), None),
            Uint256::from(360u128),
            "20 s live"
        );
        let b = agreement(1000, 2000, Some(0), 100);
        assert_eq!(
            vested(&b, t(100), Some(t(25))),
            Uint256::from(400u128),
            "nothing after the erasure"
        );
    }

    #[test]
    fn settlement_after_a_claim_conserves_the_price() {
        let mut a = agreement(999, 1500, Some(0), 10);
        a.paid_to_provider = vested(&a, t(3), None);
        let (p, c) = settle(&a, t(7), None);
        assert_eq!(a.paid_to_provider + p + c, Uint256::from(999u128));
    }

    #[test]
    fn termination_stops_the_clock() {
        let mut a = agreement(1000, 0, Some(0), 100);
        a.terminated_at = Some(t(10));
        assert_eq!(vested(&a, t(90), None), Uint256::from(100u128));
    }

    #[test]
    fn agreements_from_before_0_2_0_vest_from_delivery_to_expiry() {
        let mut a = agreement(1000, 0, Some(20), 100);
        a.term_vesting = false;
        assert_eq!(vested(&a, t(60), None), Uint256::from(500u128));
        assert_eq!(vested(&a, t(100), None), Uint256::from(1000u128));
    }

    #[test]
    fn a_suspension_before_delivery_withholds_nothing() {
        let a = agreement(1000, 0, Some(50), 100);
        assert_eq!(withheld_seconds(&a, t(10), t(40), None), 0);
        assert_eq!(withheld_seconds(&a, t(40), t(70), None), 20);
        assert_eq!(withheld_seconds(&a, t(90), t(200), None), 10);
        assert_eq!(
            withheld_seconds(&a, t(40), t(70), Some(t(60))),
            10,
            "not past the erasure"
        );
    }

    #[test]
    fn a_suspension_that_outlives_the_erasure_does_not_lower_what_vested() {
        // found by the property test (seed 761927708): delivered at 0, suspended and erased
        // at 2, terminated at 3; the suspension's last second was after the erasure
        let erased = Some(t(2));
        let mut a = agreement(1000, 2500, Some(0), 100);
        a.suspended_since = Some(t(2));
        let at_termination = vested(&a, t(3), erased);
        a.paused_seconds += withheld_seconds(&a, t(2), t(3), erased);
        a.suspended_since = None;
        a.terminated_at = Some(t(3));
        assert_eq!(vested(&a, t(10), erased), at_termination);
    }
}
