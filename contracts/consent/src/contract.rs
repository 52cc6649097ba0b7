#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use datapact_types::events::instantiate_response;

use crate::error::ContractError;
use crate::msg::{ExecuteMsg, InstantiateMsg, MigrateMsg, QueryMsg};
use crate::state::{CONTRACT_NAME, CONTRACT_VERSION};
use crate::{grants, pseudonyms, queries, withdrawals};

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
        ExecuteMsg::Grant { subject, terms } => {
            grants::execute_grant(deps, env, info, subject, terms)
        }
        ExecuteMsg::GrantSigned {
            terms,
            nonce,
            public_key,
            signature,
        } => grants::execute_grant_signed(deps, env, info, terms, nonce, public_key, signature),
        ExecuteMsg::Withdraw { consent_id } => {
            withdrawals::execute_withdraw(deps, env, info, consent_id)
        }
        ExecuteMsg::WithdrawSigned {
            consent_id,
            nonce,
            public_key,
            signature,
        } => withdrawals::execute_withdraw_signed(
            deps, env, info, consent_id, nonce, public_key, signature,
        ),
        ExecuteMsg::BindPseudonym {
            nonce,
            public_key,
            signature,
        } => pseudonyms::execute_bind_pseudonym(deps, env, info, nonce, public_key, signature),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::ConsentsInForce {
            controller,
            asset_id,
            purpose,
            subjects,
        } => to_json_binary(&queries::consents_in_force(
            deps, &env, controller, asset_id, purpose, subjects,
        )?),
        QueryMsg::Pseudonym { subject } => {
            to_json_binary(&queries::query_pseudonym(deps, subject)?)
        }
        QueryMsg::ConsentStatus {
            subject,
            controller,
            asset_id,
            purpose,
            at,
        } => to_json_binary(&queries::query_consent_status(
            deps, &env, subject, controller, asset_id, purpose, at,
        )?),
        QueryMsg::Consent { consent_id } => {
            to_json_binary(&queries::query_consent(deps, consent_id)?)
        }
        QueryMsg::History {
            consent_id,
            start_after,
            limit,
        } => to_json_binary(&queries::list_history(
            deps,
            consent_id,
            start_after,
            limit,
        )?),
        QueryMsg::BySubject {
            subject,
            start_after,
            limit,
        } => to_json_binary(&queries::list_by_subject(
            deps,
            subject,
            start_after,
            limit,
        )?),
        QueryMsg::ByController {
            controller,
            start_after,
            limit,
        } => to_json_binary(&queries::list_by_controller(
            deps,
            controller,
            start_after,
            limit,
        )?),
        QueryMsg::Nonce { subject } => to_json_binary(&queries::query_nonce(deps, subject)?),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, env: Env, msg: MigrateMsg) -> Result<Response, ContractError> {
    crate::migration::migrate(deps, env, msg)
}
