#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    to_json_binary, Binary, Coin, Deps, DepsMut, Env, MessageInfo, Response, StdResult,
};
use datapact_types::events::{action, instantiate_response};

use crate::error::ContractError;
use crate::msg::{ExecuteMsg, InstantiateMsg, MigrateMsg, QueryMsg};
use crate::state::{
    AgreementStatus, Config, BY_CONSUMER, BY_PROVIDER, CONFIG, CONTRACT_NAME, CONTRACT_VERSION,
};
use crate::{access, admin, offers, queries, settlement, signing, suspension};

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    let config = Config {
        admin: match msg.admin {
            Some(a) => deps.api.addr_validate(&a)?,
            None => info.sender.clone(),
        },
        registry: deps.api.addr_validate(&msg.registry)?,
        consent: deps.api.addr_validate(&msg.consent)?,
        audit: msg.audit.map(|a| deps.api.addr_validate(&a)).transpose()?,
    };
    CONFIG.save(deps.storage, &config)?;
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
    // only Sign takes a payment; funds sent with anything else would be stuck here
    if !matches!(msg, ExecuteMsg::Sign { .. }) {
        datapact_types::funds::no_funds(&info)?;
    }
    match msg {
        ExecuteMsg::UpdateConfig { audit, admin } => {
            admin::execute_update_config(deps, info, audit, admin)
        }
        ExecuteMsg::CreateOffer { asset_id, terms } => {
            offers::execute_create_offer(deps, env, info, asset_id, terms)
        }
        ExecuteMsg::WithdrawOffer { offer_id } => {
            offers::execute_withdraw_offer(deps, info, offer_id)
        }
        ExecuteMsg::Sign {
            offer_id,
            purpose,
            consumer_public_key,
        } => signing::execute_sign(deps, env, info, offer_id, purpose, consumer_public_key),
        ExecuteMsg::DepositKey {
            agreement_id,
            wrapped_key,
        } => signing::execute_deposit_key(deps, env, info, agreement_id, wrapped_key),
        ExecuteMsg::RecordAccess {
            agreement_id,
            purpose,
            subject,
        } => access::execute_record_access(deps, env, info, agreement_id, purpose, subject),
        ExecuteMsg::Suspend { agreement_id } => suspension::execute_set_status(
            deps,
            env,
            info,
            agreement_id,
            AgreementStatus::Active,
            AgreementStatus::Suspended,
            action::SUSPEND,
        ),
        ExecuteMsg::Resume { agreement_id } => suspension::execute_set_status(
            deps,
            env,
            info,
            agreement_id,
            AgreementStatus::Suspended,
            AgreementStatus::Active,
            action::RESUME,
        ),
        ExecuteMsg::Terminate { agreement_id } => {
            settlement::execute_terminate(deps, env, info, agreement_id)
        }
        ExecuteMsg::Claim { agreement_id } => {
            settlement::execute_claim(deps, env, info, agreement_id)
        }
        ExecuteMsg::SuspendConsumer {
            consumer,
            alert_seq,
        } => suspension::execute_suspend_consumer(deps, env, info, consumer, alert_seq),
        ExecuteMsg::LiftSuspension {
            consumer,
            alert_seq,
        } => suspension::execute_lift_suspension(deps, info, consumer, alert_seq),
    }
}

/// The coins of a message, as an error names them.
pub fn coins_str(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&CONFIG.load(deps.storage)?),
        QueryMsg::Offer { offer_id } => to_json_binary(&offers::query_offer(deps, offer_id)?),
        QueryMsg::Offers {
            asset_id,
            start_after,
            limit,
        } => to_json_binary(&offers::list_offers(deps, asset_id, start_after, limit)?),
        QueryMsg::Agreement { agreement_id } => {
            to_json_binary(&queries::query_agreement(deps, &env, agreement_id)?)
        }
        QueryMsg::AgreementsByConsumer {
            consumer,
            start_after,
            limit,
        } => to_json_binary(&queries::list_agreements(
            deps,
            BY_CONSUMER,
            consumer,
            start_after,
            limit,
        )?),
        QueryMsg::AgreementsByProvider {
            provider,
            start_after,
            limit,
        } => to_json_binary(&queries::list_agreements(
            deps,
            BY_PROVIDER,
            provider,
            start_after,
            limit,
        )?),
        QueryMsg::CanAccess {
            consumer,
            asset_id,
            purpose,
            subject,
        } => to_json_binary(&access::query_can_access(
            deps, &env, consumer, asset_id, purpose, subject,
        )?),
        QueryMsg::CanDeliver {
            agreement_id,
            subject,
        } => to_json_binary(&access::query_can_deliver(
            deps,
            &env,
            agreement_id,
            subject,
        )?),
        QueryMsg::ConsumerSuspension { consumer } => {
            to_json_binary(&queries::query_consumer_suspension(deps, consumer)?)
        }
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, env: Env, msg: MigrateMsg) -> Result<Response, ContractError> {
    crate::migration::migrate(deps, env, msg)
}
