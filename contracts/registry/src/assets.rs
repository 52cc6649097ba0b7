//! Assets: registration, stewards, two-step ownership transfer, tombstone.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Order, Response, StdError, StdResult};
use cw_storage_plus::Bound;
use datapact_types::events::{action, key, response};
use datapact_types::registry::{AssetRole, AssetRoleResponse, TOMBSTONES, TOMBSTONE_TIMES};
use datapact_types::validate::{self, MAX_TEXT_LEN};
use datapact_types::{next_id, page_limit, AssetId, Sensitivity};

use crate::error::ContractError;
use crate::msg::{AssetResponse, AssetsResponse};
use crate::state::{
    Asset, ASSETS, ASSETS_BY_OWNER, LAST_ASSET_ID, MAX_NAME_LEN, MAX_STEWARDS, VERSION_URIS,
};

/// Loads an asset or names the missing id.
pub fn load_asset(deps: Deps, asset_id: AssetId) -> Result<Asset, ContractError> {
    ASSETS
        .may_load(deps.storage, asset_id)?
        .ok_or(ContractError::AssetNotFound { id: asset_id })
}

/// Loads an asset that the sender owns and that is not tombstoned.
fn load_owned(deps: Deps, sender: &Addr, asset_id: AssetId) -> Result<Asset, ContractError> {
    let asset = load_asset(deps, asset_id)?;
    if asset.owner != *sender {
        return Err(unauthorized(sender, "owner", asset_id));
    }
    if asset.is_tombstoned() {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    Ok(asset)
}

pub(crate) fn unauthorized(sender: &Addr, role: &str, asset_id: AssetId) -> ContractError {
    ContractError::Unauthorized {
        sender: sender.to_string(),
        required_role: role.to_string(),
        asset_id,
    }
}

pub fn execute_register_asset(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    name: String,
    description: Option<String>,
    sensitivity: Sensitivity,
    tags: Vec<String>,
) -> Result<Response, ContractError> {
    validate::required_text("name", &name, MAX_NAME_LEN)?;
    let description = description.unwrap_or_default();
    validate::text("description", &description, MAX_TEXT_LEN)?;
    validate::bounded_slug_list("tags", &tags)?;

    let id = next_id(deps.storage, &LAST_ASSET_ID)?;
    let asset = Asset {
        id,
        owner: info.sender.clone(),
        pending_owner: None,
        stewards: vec![],
        name,
        description,
        sensitivity,
        tags,
        created_height: env.block.height,
        latest_version: 0,
        tombstoned_height: None,
    };
    ASSETS.save(deps.storage, id, &asset)?;
    ASSETS_BY_OWNER.save(deps.storage, (&info.sender, id), &())?;

    Ok(response(action::REGISTER_ASSET, &info.sender)
        .add_attribute(key::ASSET_ID, id.to_string())
        .add_attribute(key::OWNER, info.sender.as_str())
        .add_attribute(key::SENSITIVITY, sensitivity_str(sensitivity)))
}

fn sensitivity_str(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Public => "public",
        Sensitivity::Internal => "internal",
        Sensitivity::Personal => "personal",
        Sensitivity::SpecialCategory => "special_category",
    }
}

pub fn execute_add_steward(
    deps: DepsMut,
    info: MessageInfo,
    asset_id: AssetId,
    steward: String,
) -> Result<Response, ContractError> {
    let mut asset = load_owned(deps.as_ref(), &info.sender, asset_id)?;
    let steward = deps.api.addr_validate(&steward)?;
    if steward == asset.owner {
        return Err(ContractError::OwnerAsSteward { asset_id });
    }
    if asset.is_steward(&steward) {
        return Err(ContractError::AlreadySteward {
            asset_id,
            steward: steward.into_string(),
        });
    }
    if asset.stewards.len() >= MAX_STEWARDS {
        return Err(ContractError::TooManyStewards {
            asset_id,
            max: MAX_STEWARDS,
        });
    }
    asset.stewards.push(steward.clone());
    ASSETS.save(deps.storage, asset_id, &asset)?;
    Ok(response(action::ADD_STEWARD, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::STEWARD, steward))
}

pub fn execute_remove_steward(
    deps: DepsMut,
    info: MessageInfo,
    asset_id: AssetId,
    steward: String,
) -> Result<Response, ContractError> {
    let mut asset = load_owned(deps.as_ref(), &info.sender, asset_id)?;
    let steward = deps.api.addr_validate(&steward)?;
    let before = asset.stewards.len();
    asset.stewards.retain(|s| *s != steward);
    if asset.stewards.len() == before {
        return Err(ContractError::NotSteward {
            asset_id,
            steward: steward.into_string(),
        });
    }
    ASSETS.save(deps.storage, asset_id, &asset)?;
    Ok(response(action::REMOVE_STEWARD, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::STEWARD, steward))
}

pub fn execute_transfer_ownership(
    deps: DepsMut,
    info: MessageInfo,
    asset_id: AssetId,
    new_owner: String,
) -> Result<Response, ContractError> {
    let mut asset = load_owned(deps.as_ref(), &info.sender, asset_id)?;
    let new_owner = deps.api.addr_validate(&new_owner)?;
    asset.pending_owner = Some(new_owner.clone());
    ASSETS.save(deps.storage, asset_id, &asset)?;
    Ok(response(action::TRANSFER_OWNERSHIP, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::NEW_OWNER, new_owner))
}

pub fn execute_accept_ownership(
    deps: DepsMut,
    info: MessageInfo,
    asset_id: AssetId,
) -> Result<Response, ContractError> {
    let mut asset = load_asset(deps.as_ref(), asset_id)?;
    if asset.is_tombstoned() {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    match &asset.pending_owner {
        None => return Err(ContractError::NoPendingTransfer { asset_id }),
        Some(p) if *p != info.sender => {
            return Err(unauthorized(&info.sender, "pending owner", asset_id))
        }
        Some(_) => {}
    }
    let previous = std::mem::replace(&mut asset.owner, info.sender.clone());
    asset.pending_owner = None;
    // the new owner cannot stay a steward of its own asset
    asset.stewards.retain(|s| *s != info.sender);
    ASSETS.save(deps.storage, asset_id, &asset)?;
    ASSETS_BY_OWNER.remove(deps.storage, (&previous, asset_id));
    ASSETS_BY_OWNER.save(deps.storage, (&info.sender, asset_id), &())?;
    Ok(response(action::ACCEPT_OWNERSHIP, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::PREVIOUS_OWNER, previous)
        .add_attribute(key::OWNER, info.sender.as_str()))
}

pub fn execute_cancel_ownership_transfer(
    deps: DepsMut,
    info: MessageInfo,
    asset_id: AssetId,
) -> Result<Response, ContractError> {
    let mut asset = load_owned(deps.as_ref(), &info.sender, asset_id)?;
    if asset.pending_owner.take().is_none() {
        return Err(ContractError::NoPendingTransfer { asset_id });
    }
    ASSETS.save(deps.storage, asset_id, &asset)?;
    Ok(response(action::CANCEL_OWNERSHIP_TRANSFER, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string()))
}

pub fn execute_tombstone(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
) -> Result<Response, ContractError> {
    let mut asset = load_owned(deps.as_ref(), &info.sender, asset_id)?;
    asset.tombstoned_height = Some(env.block.height);
    // the public index other contracts read raw on every access
    TOMBSTONES.save(deps.storage, asset_id, &env.block.height)?;
    // and when: agreements on the asset stop vesting from this moment
    TOMBSTONE_TIMES.save(deps.storage, asset_id, &env.block.time)?;
    // erasure: every free-text field goes (a name can identify people as well as a description)
    asset.name.clear();
    asset.description.clear();
    asset.tags.clear();
    asset.pending_owner = None;
    ASSETS.save(deps.storage, asset_id, &asset)?;
    // erasure: pointers to the off-chain data go; hashes stay
    let uris: Vec<_> = VERSION_URIS
        .prefix(asset_id)
        .keys(deps.storage, None, None, Order::Ascending)
        .collect::<StdResult<_>>()?;
    for v in uris {
        VERSION_URIS.remove(deps.storage, (asset_id, v));
    }
    Ok(
        response(action::TOMBSTONE, &info.sender)
            .add_attribute(key::ASSET_ID, asset_id.to_string()),
    )
}

pub fn query_asset(deps: Deps, asset_id: AssetId) -> StdResult<AssetResponse> {
    let asset = ASSETS
        .may_load(deps.storage, asset_id)?
        .ok_or_else(|| StdError::msg(format!("asset {asset_id} not found")))?;
    Ok(AssetResponse { asset })
}

pub fn list_assets(
    deps: Deps,
    start_after: Option<AssetId>,
    limit: Option<u32>,
) -> StdResult<AssetsResponse> {
    let assets = ASSETS
        .range(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit))
        .map(|r| r.map(|(_, a)| a))
        .collect::<StdResult<_>>()?;
    Ok(AssetsResponse { assets })
}

pub fn list_assets_by_owner(
    deps: Deps,
    owner: String,
    start_after: Option<AssetId>,
    limit: Option<u32>,
) -> StdResult<AssetsResponse> {
    let owner = deps.api.addr_validate(&owner)?;
    let ids: Vec<AssetId> = ASSETS_BY_OWNER
        .prefix(&owner)
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit))
        .collect::<StdResult<_>>()?;
    let assets = ids
        .into_iter()
        .map(|id| ASSETS.load(deps.storage, id))
        .collect::<StdResult<_>>()?;
    Ok(AssetsResponse { assets })
}

pub fn query_asset_role(
    deps: Deps,
    asset_id: AssetId,
    address: String,
) -> StdResult<AssetRoleResponse> {
    let address = deps.api.addr_validate(&address)?;
    Ok(match ASSETS.may_load(deps.storage, asset_id)? {
        None => AssetRoleResponse {
            asset_id,
            exists: false,
            role: AssetRole::None,
            owner: None,
            sensitivity: None,
            tombstoned: false,
        },
        Some(asset) => AssetRoleResponse {
            asset_id,
            exists: true,
            role: if asset.owner == address {
                AssetRole::Owner
            } else if asset.is_steward(&address) {
                AssetRole::Steward
            } else {
                AssetRole::None
            },
            tombstoned: asset.is_tombstoned(),
            sensitivity: Some(asset.sensitivity),
            owner: Some(asset.owner),
        },
    })
}
