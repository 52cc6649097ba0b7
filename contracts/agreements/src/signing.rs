//! Signing an offer (the price goes into escrow) and the provider's key deposit (the data key
//! wrapped to the consumer's public key).

use cosmwasm_std::{Binary, DepsMut, Env, MessageInfo, Response, Uint256};
use datapact_types::events::{action, key, response};
use datapact_types::{next_id, AgreementId, OfferId};

use crate::error::ContractError;
use crate::offers::ensure_still_manages;
use crate::state::{
    load_agreement_as_provider, save_agreement, standing_suspensions, Agreement, AgreementStatus,
    OfferStatus, BY_CONSUMER, BY_CONSUMER_ASSET, BY_PROVIDER, LAST_AGREEMENT_ID,
    MAX_PUBLIC_KEY_LEN, MAX_WRAPPED_KEY_LEN, OFFERS,
};

fn check_key(field: &'static str, key: &Binary, max: usize) -> Result<(), ContractError> {
    if key.is_empty() || key.len() > max {
        return Err(ContractError::InvalidKey {
            field,
            max,
            got: key.len(),
        });
    }
    Ok(())
}

pub fn execute_sign(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    offer_id: OfferId,
    purpose: String,
    consumer_public_key: Binary,
) -> Result<Response, ContractError> {
    let offer = OFFERS
        .may_load(deps.storage, offer_id)?
        .ok_or(ContractError::OfferNotFound { id: offer_id })?;
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id: offer_id });
    }
    if offer.provider == info.sender {
        return Err(ContractError::SelfDealing {});
    }
    if let Some(s) = standing_suspensions(deps.storage, &info.sender, 1)?.pop() {
        return Err(ContractError::ConsumerSuspended {
            consumer: info.sender.into_string(),
            alert_seq: s.alert_seq,
        });
    }
    if !offer.terms.permitted_purposes.contains(&purpose)
        || offer.terms.prohibited_purposes.contains(&purpose)
    {
        return Err(ContractError::PurposeNotOffered { offer_id, purpose });
    }
    check_key(
        "consumer_public_key",
        &consumer_public_key,
        MAX_PUBLIC_KEY_LEN,
    )?;
    let price = &offer.terms.price;
    let paid_exactly = if price.amount.is_zero() {
        info.funds.is_empty()
    } else {
        info.funds.len() == 1 && info.funds[0] == *price
    };
    if !paid_exactly {
        return Err(ContractError::WrongPayment {
            expected: price.clone(),
            got: crate::contract::coins_str(&info.funds),
        });
    }
    // the registry's answer now, not when the offer was made: the provider must still own or
    // steward the asset, and the asset must not be erased
    ensure_still_manages(deps.as_ref(), offer_id, &offer.provider, offer.asset_id)?;

    let id = next_id(deps.storage, &LAST_AGREEMENT_ID)?;
    let expires_at = env.block.time.plus_seconds(offer.terms.duration_seconds);
    let agreement = Agreement {
        id,
        offer_id,
        asset_id: offer.asset_id,
        provider: offer.provider.clone(),
        consumer: info.sender.clone(),
        purpose: purpose.clone(),
        terms: offer.terms.clone(),
        consumer_public_key,
        status: AgreementStatus::Active,
        signed_at: env.block.time,
        signed_height: env.block.height,
        expires_at,
        access_count: 0,
        wrapped_key: None,
        key_deposited_at: None,
        terminated_at: None,
        paid_to_provider: Uint256::zero(),
        refunded_to_consumer: Uint256::zero(),
        paused_seconds: 0,
        suspended_since: None,
        term_vesting: true,
    };
    save_agreement(deps.storage, &agreement)?;
    BY_CONSUMER.save(deps.storage, (&info.sender, id), &())?;
    BY_PROVIDER.save(deps.storage, (&offer.provider, id), &())?;
    BY_CONSUMER_ASSET.save(deps.storage, (&info.sender, offer.asset_id, id), &())?;
    Ok(response(action::SIGN, &info.sender)
        .add_attribute(key::AGREEMENT_ID, id.to_string())
        .add_attribute(key::OFFER_ID, offer_id.to_string())
        .add_attribute(key::ASSET_ID, offer.asset_id.to_string())
        .add_attribute(key::PROVIDER, offer.provider.as_str())
        .add_attribute(key::CONSUMER, info.sender.as_str())
        .add_attribute(key::PURPOSE, purpose)
        .add_attribute(key::PRICE, price.to_string())
        .add_attribute(key::EXPIRES_AT, expires_at.seconds().to_string()))
}

pub fn execute_deposit_key(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
    wrapped_key: Binary,
) -> Result<Response, ContractError> {
    let mut a = load_agreement_as_provider(deps.storage, agreement_id, &info.sender)?;
    if a.status == AgreementStatus::Terminated {
        return Err(ContractError::invalid_status(a.id, a.status, "given a key"));
    }
    if env.block.time >= a.expires_at {
        return Err(ContractError::AgreementExpired { id: agreement_id });
    }
    if a.wrapped_key.is_some() {
        return Err(ContractError::KeyAlreadyDeposited { id: agreement_id });
    }
    check_key("wrapped_key", &wrapped_key, MAX_WRAPPED_KEY_LEN)?;
    // a provider the owner removed (or an asset since erased) delivers nothing more: the
    // consumer terminates for a full refund
    ensure_still_manages(deps.as_ref(), a.offer_id, &a.provider, a.asset_id)?;
    a.wrapped_key = Some(wrapped_key);
    a.key_deposited_at = Some(env.block.time);
    save_agreement(deps.storage, &a)?;
    Ok(response(action::DEPOSIT_KEY, &info.sender)
        .add_attribute(key::AGREEMENT_ID, agreement_id.to_string())
        .add_attribute(key::CONSUMER, a.consumer.as_str()))
}
