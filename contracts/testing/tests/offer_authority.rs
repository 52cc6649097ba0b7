//! Who may sell an asset: only its current owner or a current steward. An offer made by a
//! steward who was removed, or by an owner who has since handed the asset over, can no longer
//! be signed; the asset's current owner may withdraw any offer of it.

use cosmwasm_std::coin;
use datapact_agreements::msg::ExecuteMsg as A;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_testing::{Suite, Which, DENOM};
use datapact_types::Sensitivity;

#[test]
fn a_removed_steward_can_no_longer_sell_the_asset() {
    let mut s = Suite::new();
    let (owner, steward, consumer) = (s.addr("provider1"), s.addr("steward1"), s.addr("consumer1"));
    let asset = s.register_asset(&owner, Sensitivity::Internal).unwrap();
    s.exec(
        &owner,
        Which::Registry,
        &R::AddSteward {
            asset_id: asset,
            steward: steward.to_string(),
        },
        &[],
    )
    .unwrap();
    let offer = s
        .create_offer(&steward, asset, Suite::offer_terms(1000, None, false))
        .unwrap();
    s.exec(
        &owner,
        Which::Registry,
        &R::RemoveSteward {
            asset_id: asset,
            steward: steward.to_string(),
        },
        &[],
    )
    .unwrap();
    let signed = s.sign(&consumer, offer, "research", &[coin(1000, DENOM)]);
    assert!(
        signed.is_err(),
        "a consumer must not pay a steward the owner has removed"
    );
}

#[test]
fn an_offer_made_before_an_ownership_transfer_cannot_be_signed_after_it() {
    let mut s = Suite::new();
    let (old, new, consumer) = (
        s.addr("provider1"),
        s.addr("provider2"),
        s.addr("consumer1"),
    );
    let asset = s.register_asset(&old, Sensitivity::Internal).unwrap();
    let offer = s
        .create_offer(&old, asset, Suite::offer_terms(1000, None, false))
        .unwrap();
    s.exec(
        &old,
        Which::Registry,
        &R::TransferOwnership {
            asset_id: asset,
            new_owner: new.to_string(),
        },
        &[],
    )
    .unwrap();
    s.exec(
        &new,
        Which::Registry,
        &R::AcceptOwnership { asset_id: asset },
        &[],
    )
    .unwrap();
    let signed = s.sign(&consumer, offer, "research", &[coin(1000, DENOM)]);
    assert!(
        signed.is_err(),
        "the previous owner cannot keep selling an asset it handed over"
    );
}

#[test]
fn the_assets_current_owner_may_withdraw_any_offer_of_it() {
    let mut s = Suite::new();
    let (owner, steward) = (s.addr("provider1"), s.addr("steward1"));
    let asset = s.register_asset(&owner, Sensitivity::Internal).unwrap();
    s.exec(
        &owner,
        Which::Registry,
        &R::AddSteward {
            asset_id: asset,
            steward: steward.to_string(),
        },
        &[],
    )
    .unwrap();
    let offer = s
        .create_offer(&steward, asset, Suite::offer_terms(1000, None, false))
        .unwrap();
    s.exec(
        &owner,
        Which::Agreements,
        &A::WithdrawOffer { offer_id: offer },
        &[],
    )
    .expect("the owner withdraws its steward's offer");
}
