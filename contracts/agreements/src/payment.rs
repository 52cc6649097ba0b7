//! Escrow arithmetic: linear vesting from key deposit to expiry. Pure functions, so the coin
//! conservation rule is checked here once and relied on everywhere.

use cosmwasm_std::{Timestamp, Uint256};

use crate::state::Agreement;

/// What has vested to the provider at `now`: nothing before the key is deposited, the whole
/// price at or after expiry, linear in between (rounded down, in the consumer's favour).
pub fn vested(a: &Agreement, now: Timestamp) -> Uint256 {
    let price = a.terms.price.amount;
    let Some(start) = a.key_deposited_at else {
        return Uint256::zero();
    };
    // after termination the clock stops
    let now = a.terminated_at.map_or(now, |t| t.min(now));
    if now >= a.expires_at || start >= a.expires_at {
        return price;
    }
    if now <= start {
        return Uint256::zero();
    }
    let elapsed = now.seconds() - start.seconds();
    let total = a.expires_at.seconds() - start.seconds();
    price.multiply_ratio(elapsed, total)
}

/// What the contract still holds for the agreement.
pub fn held(a: &Agreement) -> Uint256 {
    a.terms.price.amount - a.paid_to_provider - a.refunded_to_consumer
}

/// Splits what is held at termination: (to the provider, back to the consumer).
pub fn settle(a: &Agreement, now: Timestamp) -> (Uint256, Uint256) {
    let v = vested(a, now);
    let to_provider = v - a.paid_to_provider;
    let to_consumer = a.terms.price.amount - v - a.refunded_to_consumer;
    (to_provider, to_consumer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AgreementStatus, OfferTerms};
    use cosmwasm_std::{coin, Addr, Binary};

    fn agreement(price: u128, key_at: Option<u64>, expires: u64) -> Agreement {
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
        }
    }

    #[test]
    fn nothing_vests_before_key_deposit() {
        let a = agreement(1000, None, 100);
        assert_eq!(vested(&a, Timestamp::from_seconds(50)), Uint256::zero());
        assert_eq!(
            settle(&a, Timestamp::from_seconds(50)),
            (Uint256::zero(), Uint256::from(1000u128))
        );
    }

    #[test]
    fn vests_linearly_from_deposit_to_expiry() {
        let a = agreement(1000, Some(20), 100);
        assert_eq!(vested(&a, Timestamp::from_seconds(20)), Uint256::zero());
        assert_eq!(
            vested(&a, Timestamp::from_seconds(60)),
            Uint256::from(500u128)
        );
        assert_eq!(
            vested(&a, Timestamp::from_seconds(100)),
            Uint256::from(1000u128)
        );
        assert_eq!(
            vested(&a, Timestamp::from_seconds(1000)),
            Uint256::from(1000u128)
        );
    }

    #[test]
    fn settlement_after_a_claim_conserves_the_price() {
        let mut a = agreement(999, Some(0), 10);
        a.paid_to_provider = vested(&a, Timestamp::from_seconds(3));
        let (p, c) = settle(&a, Timestamp::from_seconds(7));
        assert_eq!(a.paid_to_provider + p + c, Uint256::from(999u128));
    }

    #[test]
    fn termination_stops_the_clock() {
        let mut a = agreement(1000, Some(0), 100);
        a.terminated_at = Some(Timestamp::from_seconds(10));
        assert_eq!(
            vested(&a, Timestamp::from_seconds(90)),
            Uint256::from(100u128)
        );
    }
}
