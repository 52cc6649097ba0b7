//! Escrow that neither side can game by timing. The key, once delivered, cannot be taken back:
//! the delivery share of the price vests at the deposit; the rest vests only while the data is
//! actually available to the consumer (not while its provider suspends the agreement, not after
//! the asset is erased), over the agreement's whole term, so a late delivery earns less.

use cosmwasm_std::coin;
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{Suite, Which, DENOM};
use datapact_types::Sensitivity;

const PRICE: u128 = 1_000_000;
/// `Suite::offer_terms` runs 100 days.
const TERM: u64 = 100 * 86_400;

/// An agreement between provider1 and consumer1 at PRICE, signed now; its id and asset.
fn agreement(s: &mut Suite) -> (u64, u64) {
    let (p, c) = (s.addr("provider1"), s.addr("consumer1"));
    let asset = s.register_asset(&p, Sensitivity::Internal).unwrap();
    let offer = s
        .create_offer(&p, asset, Suite::offer_terms(PRICE, None, false))
        .unwrap();
    let id = s
        .sign(&c, offer, "research", &[coin(PRICE, DENOM)])
        .unwrap();
    (id, asset)
}

/// Terminates (by the consumer) and returns what the provider was paid in all.
fn settle(s: &mut Suite, id: u64) -> u128 {
    let c = s.addr("consumer1");
    s.exec(
        &c,
        Which::Agreements,
        &A::Terminate { agreement_id: id },
        &[],
    )
    .unwrap();
    let a = s.agreement(id).unwrap().agreement;
    assert_eq!(
        a.paid_to_provider + a.refunded_to_consumer,
        cosmwasm_std::Uint256::from(PRICE),
        "every coin ends with one side"
    );
    a.paid_to_provider.to_string().parse().unwrap()
}

#[test]
fn a_consumer_terminating_just_after_delivery_still_pays_for_the_delivery() {
    let mut s = Suite::new();
    let (id, _) = agreement(&mut s);
    let p = s.addr("provider1");
    s.deposit_key(&p, id).unwrap();
    s.advance(1, 5);
    let paid = settle(&mut s, id);
    assert!(
        paid >= PRICE / 10,
        "the key cannot be taken back: the provider keeps at least a tenth, got {paid}"
    );
}

#[test]
fn a_provider_suspending_after_delivery_does_not_vest_while_suspended() {
    let mut s = Suite::new();
    let (id, _) = agreement(&mut s);
    let p = s.addr("provider1");
    s.deposit_key(&p, id).unwrap();
    s.exec(&p, Which::Agreements, &A::Suspend { agreement_id: id }, &[])
        .unwrap();
    s.advance(100, TERM + 10);
    let paid = settle(&mut s, id);
    assert!(
        paid <= PRICE * 3 / 10,
        "a provider that withheld the data all term long earns little more than the delivery, got {paid}"
    );
}

#[test]
fn erasing_the_asset_after_delivery_stops_the_vesting() {
    let mut s = Suite::new();
    let (id, asset) = agreement(&mut s);
    let p = s.addr("provider1");
    s.deposit_key(&p, id).unwrap();
    s.exec(&p, Which::Registry, &R::Tombstone { asset_id: asset }, &[])
        .unwrap();
    s.advance(100, TERM + 10);
    let paid = settle(&mut s, id);
    assert!(
        paid <= PRICE * 3 / 10,
        "no data, no vesting after the tombstone: got {paid}"
    );
}

#[test]
fn a_delivery_one_second_before_expiry_vests_only_the_delivery_share() {
    let mut s = Suite::new();
    let (id, _) = agreement(&mut s);
    let p = s.addr("provider1");
    s.advance(100, TERM - 1);
    s.deposit_key(&p, id).unwrap();
    s.advance(1, 10);
    let paid = settle(&mut s, id);
    assert!(
        paid <= PRICE * 3 / 10,
        "a last-second delivery is worth the delivery share, not the whole price: got {paid}"
    );
}
