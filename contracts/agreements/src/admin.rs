//! The admin's message: rewiring the contract's peers or handing over admin.

use cosmwasm_std::{DepsMut, MessageInfo, Response};
use datapact_types::events::{action, response};

use crate::error::ContractError;
use crate::state::CONFIG;

pub fn execute_update_config(
    deps: DepsMut,
    info: MessageInfo,
    audit: Option<String>,
    admin: Option<String>,
) -> Result<Response, ContractError> {
    let mut config = CONFIG.load(deps.storage)?;
    if info.sender != config.admin {
        return Err(ContractError::unauthorized(&info.sender, "admin"));
    }
    if let Some(a) = audit {
        config.audit = Some(deps.api.addr_validate(&a)?);
    }
    if let Some(a) = admin {
        config.admin = deps.api.addr_validate(&a)?;
    }
    CONFIG.save(deps.storage, &config)?;
    Ok(response(action::UPDATE_CONFIG, &info.sender))
}
