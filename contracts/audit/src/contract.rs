#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use datapact_types::events::instantiate_response;

use crate::error::ContractError;
use crate::msg::{ExecuteMsg, InstantiateMsg, MigrateMsg, QueryMsg};
use crate::roles::validate_all;
use crate::state::{Config, CONFIG, CONTRACT_NAME, CONTRACT_VERSION, RESPONDERS, SENTINELS};
use crate::{alerts, queries, roles};

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
        agreements: deps.api.addr_validate(&msg.agreements)?,
        suspend_threshold: msg.suspend_threshold,
    };
    CONFIG.save(deps.storage, &config)?;
    for s in validate_all(deps.as_ref(), &msg.sentinels)? {
        SENTINELS.save(deps.storage, &s, &())?;
    }
    for r in validate_all(deps.as_ref(), &msg.responders)? {
        RESPONDERS.save(deps.storage, &r, &())?;
    }
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
        ExecuteMsg::UpdateRoles {
            add_sentinels,
            remove_sentinels,
            add_responders,
            remove_responders,
        } => roles::execute_update_roles(
            deps,
            env,
            info,
            add_sentinels,
            remove_sentinels,
            add_responders,
            remove_responders,
        ),
        ExecuteMsg::UpdatePolicy { suspend_threshold } => {
            roles::execute_update_policy(deps, env, info, suspend_threshold)
        }
        ExecuteMsg::ReportAlert {
            kind,
            severity,
            subject,
            asset_id,
            evidence_hash,
            score,
            model_version,
        } => alerts::execute_report_alert(
            deps,
            env,
            info,
            kind,
            severity,
            subject,
            asset_id,
            evidence_hash,
            score,
            model_version,
        ),
        ExecuteMsg::Acknowledge { alert_seq } => {
            alerts::execute_acknowledge(deps, env, info, alert_seq)
        }
        ExecuteMsg::Resolve {
            alert_seq,
            resolution,
        } => alerts::execute_resolve(deps, env, info, alert_seq, resolution),
        ExecuteMsg::LiftSuspension { alert_seq } => {
            alerts::execute_lift_suspension(deps, env, info, alert_seq)
        }
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&CONFIG.load(deps.storage)?),
        QueryMsg::Roles {} => to_json_binary(&queries::query_roles(deps)?),
        QueryMsg::Alert { alert_seq } => to_json_binary(&queries::query_alert(deps, alert_seq)?),
        QueryMsg::Alerts {
            subject,
            min_severity,
            state,
            start_after,
            limit,
        } => to_json_binary(&queries::list_alerts(
            deps,
            subject,
            min_severity,
            state,
            start_after,
            limit,
        )?),
        QueryMsg::Entries { start_after, limit } => {
            to_json_binary(&queries::list_entries(deps, start_after, limit)?)
        }
        QueryMsg::Suspension { subject } => {
            to_json_binary(&queries::query_suspension(deps, subject)?)
        }
        QueryMsg::Head {} => to_json_binary(&queries::query_head(deps)?),
        QueryMsg::Verify { from, to } => to_json_binary(&queries::verify(deps, from, to)?),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, _env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    Ok(datapact_types::migrate::migrate(
        deps.storage,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    )?)
}
