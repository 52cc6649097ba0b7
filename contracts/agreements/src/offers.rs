//! Offers: an asset's owner or steward offers it under ODRL-style terms; the offer's provider
//! withdraws it.

use cosmwasm_std::{Deps, DepsMut, Env, MessageInfo, Order, Response, StdResult};
use cw_storage_plus::Bound;
use datapact_types::events::{action, key, response};
use datapact_types::registry::{AssetRole, RegistryContract};
use datapact_types::{next_id, page_limit, validate, AssetId, OfferId};

use crate::error::ContractError;
use crate::msg::{OfferResponse, OffersResponse};
use crate::state::{
    Offer, OfferStatus, OfferTerms, BPS, CONFIG, LAST_OFFER_ID, MAX_DURATION_SECONDS,
    MIN_DELIVERY_SHARE_BPS, OFFERS, OFFERS_BY_ASSET,
};

fn validate_terms(terms: &OfferTerms) -> Result<(), ContractError> {
    validate::slug_list("permitted_purposes", &terms.permitted_purposes)?;
    validate::bounded_slug_list("prohibited_purposes", &terms.prohibited_purposes)?;
    if let Some(p) = terms
        .permitted_purposes
        .iter()
        .find(|p| terms.prohibited_purposes.contains(p))
    {
        return Err(ContractError::PurposeConflict { purpose: p.clone() });
    }
    if terms.duration_seconds == 0 || terms.duration_seconds > MAX_DURATION_SECONDS {
        return Err(ContractError::InvalidDuration {
            max: MAX_DURATION_SECONDS,
            got: terms.duration_seconds,
        });
    }
    if terms.access_cap == Some(0) {
        return Err(ContractError::InvalidCap {});
    }
    // a priced offer names what the key's delivery is worth: it cannot be taken back
    let share = terms.delivery_share_bps;
    let least = if terms.price.amount.is_zero() {
        0
    } else {
        MIN_DELIVERY_SHARE_BPS
    };
    if !(least..=BPS).contains(&share) {
        return Err(ContractError::InvalidDeliveryShare {
            least,
            most: BPS,
            got: share,
        });
    }
    let d = &terms.price.denom;
    let denom_ok = (3..=128).contains(&d.len())
        && d.as_bytes()[0].is_ascii_alphabetic()
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b':' | b'.' | b'_' | b'-'));
    if !denom_ok {
        return Err(ContractError::InvalidDenom { denom: d.clone() });
    }
    Ok(())
}

pub fn execute_create_offer(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
    terms: OfferTerms,
) -> Result<Response, ContractError> {
    validate_terms(&terms)?;
    let config = CONFIG.load(deps.storage)?;
    let role =
        RegistryContract(config.registry).asset_role(&deps.querier, asset_id, &info.sender)?;
    if !role.exists {
        return Err(ContractError::AssetNotFound { id: asset_id });
    }
    if role.tombstoned {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    // only the asset's owner or a steward may offer it
    if !role.role.can_manage() {
        return Err(ContractError::NotAssetManager {
            sender: info.sender.into_string(),
            asset_id,
        });
    }
    let id = next_id(deps.storage, &LAST_OFFER_ID)?;
    let offer = Offer {
        id,
        asset_id,
        provider: info.sender.clone(),
        terms,
        status: OfferStatus::Open,
        created_height: env.block.height,
    };
    OFFERS.save(deps.storage, id, &offer)?;
    OFFERS_BY_ASSET.save(deps.storage, (asset_id, id), &())?;
    let mut res = response(action::CREATE_OFFER, &info.sender)
        .add_attribute(key::OFFER_ID, id.to_string())
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::PROVIDER, info.sender.as_str())
        .add_attribute(key::PRICE, offer.terms.price.to_string())
        .add_attribute(
            key::CONSENT_REQUIRED,
            offer.terms.consent_required.to_string(),
        )
        .add_attribute(key::PURPOSES, offer.terms.permitted_purposes.join(","));
    if let Some(cap) = offer.terms.access_cap {
        res = res.add_attribute(key::ACCESS_CAP, cap.to_string());
    }
    res = res.add_attribute(
        key::DELIVERY_SHARE_BPS,
        offer.terms.delivery_share_bps.to_string(),
    );
    Ok(res)
}

pub fn execute_withdraw_offer(
    deps: DepsMut,
    info: MessageInfo,
    offer_id: OfferId,
) -> Result<Response, ContractError> {
    let mut offer = OFFERS
        .may_load(deps.storage, offer_id)?
        .ok_or(ContractError::OfferNotFound { id: offer_id })?;
    // the offer's provider, or the asset's owner now: an owner can always stop the sale of
    // what it owns (by a steward it removed, or made before it took the asset over)
    if offer.provider != info.sender {
        let registry = RegistryContract(CONFIG.load(deps.storage)?.registry);
        let role = registry.asset_role(&deps.querier, offer.asset_id, &info.sender)?;
        if role.role != AssetRole::Owner {
            return Err(ContractError::unauthorized(
                &info.sender,
                &format!(
                    "provider of offer {offer_id} or the owner of asset {}",
                    offer.asset_id
                ),
            ));
        }
    }
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id: offer_id });
    }
    offer.status = OfferStatus::Withdrawn;
    OFFERS.save(deps.storage, offer_id, &offer)?;
    Ok(response(action::WITHDRAW_OFFER, &info.sender)
        .add_attribute(key::OFFER_ID, offer_id.to_string()))
}

pub fn query_offer(deps: Deps, offer_id: OfferId) -> StdResult<OfferResponse> {
    Ok(OfferResponse {
        offer: OFFERS.load(deps.storage, offer_id)?,
    })
}

pub fn list_offers(
    deps: Deps,
    asset_id: Option<AssetId>,
    start_after: Option<OfferId>,
    limit: Option<u32>,
) -> StdResult<OffersResponse> {
    let limit = page_limit(limit);
    let start = start_after.map(Bound::exclusive);
    let offers = match asset_id {
        None => OFFERS
            .range(deps.storage, start, None, Order::Ascending)
            .take(limit)
            .map(|r| r.map(|(_, o)| o))
            .collect::<StdResult<_>>()?,
        Some(asset_id) => OFFERS_BY_ASSET
            .prefix(asset_id)
            .keys(deps.storage, start, None, Order::Ascending)
            .take(limit)
            .map(|id| id.and_then(|id| OFFERS.load(deps.storage, id)))
            .collect::<StdResult<_>>()?,
    };
    Ok(OffersResponse { offers })
}

/// Checks that `provider` may still sell `asset_id` (owner or steward now) and that the asset
/// is not erased: a removed steward or a previous owner can no longer sign agreements or deliver.
pub fn ensure_still_manages(
    deps: Deps,
    offer_id: OfferId,
    provider: &cosmwasm_std::Addr,
    asset_id: AssetId,
) -> Result<(), ContractError> {
    let registry = RegistryContract(CONFIG.load(deps.storage)?.registry);
    let role = registry.asset_role(&deps.querier, asset_id, provider)?;
    if !role.exists {
        return Err(ContractError::AssetNotFound { id: asset_id });
    }
    if role.tombstoned {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    if !role.role.can_manage() {
        return Err(ContractError::ProviderNoLongerManages {
            offer_id,
            provider: provider.to_string(),
            asset_id,
        });
    }
    Ok(())
}
