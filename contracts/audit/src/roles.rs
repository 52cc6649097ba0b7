//! The admin's messages: who may report and respond, and the severity that suspends.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use cw_storage_plus::Map;
use datapact_types::events::{action, key};
use datapact_types::Severity;

use crate::alerts::entry_response;
use crate::chain::append;
use crate::error::ContractError;
use crate::state::{EntryBody, CONFIG, RESPONDERS, SENTINELS};

pub fn execute_update_roles(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    add_sentinels: Vec<String>,
    remove_sentinels: Vec<String>,
    add_responders: Vec<String>,
    remove_responders: Vec<String>,
) -> Result<Response, ContractError> {
    ensure_admin(deps.as_ref(), &info.sender)?;
    let body = EntryBody::RolesUpdated {
        add_sentinels: validate_all(deps.as_ref(), &add_sentinels)?,
        remove_sentinels: validate_all(deps.as_ref(), &remove_sentinels)?,
        add_responders: validate_all(deps.as_ref(), &add_responders)?,
        remove_responders: validate_all(deps.as_ref(), &remove_responders)?,
    };
    if let EntryBody::RolesUpdated {
        add_sentinels,
        remove_sentinels,
        add_responders,
        remove_responders,
    } = &body
    {
        apply_roles(deps.storage, SENTINELS, add_sentinels, remove_sentinels)?;
        apply_roles(deps.storage, RESPONDERS, add_responders, remove_responders)?;
    }
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        body,
    )?;
    Ok(entry_response(action::UPDATE_ROLES, &info.sender, &entry))
}

pub fn execute_update_policy(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    suspend_threshold: Severity,
) -> Result<Response, ContractError> {
    ensure_admin(deps.as_ref(), &info.sender)?;
    let mut config = CONFIG.load(deps.storage)?;
    config.suspend_threshold = suspend_threshold;
    CONFIG.save(deps.storage, &config)?;
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        EntryBody::PolicyUpdated { suspend_threshold },
    )?;
    Ok(entry_response(action::UPDATE_POLICY, &info.sender, &entry)
        .add_attribute(key::SUSPEND_THRESHOLD, suspend_threshold.as_str()))
}

pub fn validate_all(deps: Deps, addrs: &[String]) -> StdResult<Vec<Addr>> {
    addrs.iter().map(|a| deps.api.addr_validate(a)).collect()
}

fn apply_roles(
    store: &mut dyn cosmwasm_std::Storage,
    map: Map<&Addr, ()>,
    add: &[Addr],
    remove: &[Addr],
) -> StdResult<()> {
    for a in add {
        map.save(store, a, &())?;
    }
    for r in remove {
        map.remove(store, r);
    }
    Ok(())
}

pub fn ensure_admin(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    if CONFIG.load(deps.storage)?.admin != *sender {
        return Err(unauthorized(sender, "admin"));
    }
    Ok(())
}

pub fn ensure_responder(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    if !RESPONDERS.has(deps.storage, sender) {
        return Err(unauthorized(sender, "responder"));
    }
    Ok(())
}

pub fn unauthorized(sender: &Addr, role: &str) -> ContractError {
    ContractError::Unauthorized {
        sender: sender.to_string(),
        required_role: role.to_string(),
    }
}
