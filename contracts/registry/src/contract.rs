#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use datapact_types::events::instantiate_response;

use crate::error::ContractError;
use crate::msg::{ExecuteMsg, InstantiateMsg, MigrateMsg, QueryMsg};
use crate::state::{CONTRACT_NAME, CONTRACT_VERSION};
use crate::{assets, attestations, versions};

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    _msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    Ok(instantiate_response(
        &info.sender,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    ))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    // no message of this contract takes a payment: funds sent along would be stuck here
    datapact_types::funds::no_funds(&info)?;
    match msg {
        ExecuteMsg::RegisterAsset {
            name,
            description,
            sensitivity,
            tags,
        } => assets::execute_register_asset(deps, env, info, name, description, sensitivity, tags),
        ExecuteMsg::PublishVersion {
            asset_id,
            content_hash,
            schema_hash,
            uri,
            parents,
        } => versions::execute_publish_version(
            deps,
            env,
            info,
            asset_id,
            content_hash,
            schema_hash,
            uri,
            parents,
        ),
        ExecuteMsg::Attest {
            asset_id,
            version,
            claim,
            evidence_hash,
        } => attestations::execute_attest(deps, env, info, asset_id, version, claim, evidence_hash),
        ExecuteMsg::RevokeAttestation {
            asset_id,
            version,
            claim,
        } => attestations::execute_revoke_attestation(deps, env, info, asset_id, version, claim),
        ExecuteMsg::AddSteward { asset_id, steward } => {
            assets::execute_add_steward(deps, info, asset_id, steward)
        }
        ExecuteMsg::RemoveSteward { asset_id, steward } => {
            assets::execute_remove_steward(deps, info, asset_id, steward)
        }
        ExecuteMsg::TransferOwnership {
            asset_id,
            new_owner,
        } => assets::execute_transfer_ownership(deps, info, asset_id, new_owner),
        ExecuteMsg::AcceptOwnership { asset_id } => {
            assets::execute_accept_ownership(deps, info, asset_id)
        }
        ExecuteMsg::CancelOwnershipTransfer { asset_id } => {
            assets::execute_cancel_ownership_transfer(deps, info, asset_id)
        }
        ExecuteMsg::Tombstone { asset_id } => assets::execute_tombstone(deps, env, info, asset_id),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Asset { asset_id } => to_json_binary(&assets::query_asset(deps, asset_id)?),
        QueryMsg::ListAssets { start_after, limit } => {
            to_json_binary(&assets::list_assets(deps, start_after, limit)?)
        }
        QueryMsg::AssetsByOwner {
            owner,
            start_after,
            limit,
        } => to_json_binary(&assets::list_assets_by_owner(
            deps,
            owner,
            start_after,
            limit,
        )?),
        QueryMsg::Versions {
            asset_id,
            start_after,
            limit,
        } => to_json_binary(&versions::list_versions(
            deps,
            asset_id,
            start_after,
            limit,
        )?),
        QueryMsg::Version { asset_id, version } => {
            to_json_binary(&versions::query_version(deps, asset_id, version)?)
        }
        QueryMsg::Lineage {
            asset_id,
            version,
            direction,
            max_depth,
        } => to_json_binary(&versions::query_lineage(
            deps, asset_id, version, direction, max_depth,
        )?),
        QueryMsg::Attestations {
            asset_id,
            version,
            start_after,
            limit,
        } => to_json_binary(&attestations::list_attestations(
            deps,
            asset_id,
            version,
            start_after,
            limit,
        )?),
        QueryMsg::AssetRole { asset_id, address } => {
            to_json_binary(&assets::query_asset_role(deps, asset_id, address)?)
        }
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, env: Env, msg: MigrateMsg) -> Result<Response, ContractError> {
    crate::migration::migrate(deps, env, msg)
}
