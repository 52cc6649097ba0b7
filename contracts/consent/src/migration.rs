//! `migrate`: from any released layout to this one, or a refusal that names what it cannot
//! read.
//!
//! From 0.1.0: a pseudonym was bound to the first wallet that used it, without proof. Those
//! bindings move to the new index as unproven: the wallet may still withdraw the consents it
//! gave, but gives no new ones until the pseudonym's key binds a wallet (which replaces the old
//! binding, so a squatter can be evicted by the real subject).

use cosmwasm_std::{Addr, DepsMut, Env, Order, Response, StdResult};
use datapact_types::migrate::{migrate_response, migrate_version, MigrationError};

use crate::error::ContractError;
use crate::msg::MigrateMsg;
use crate::state::{PseudonymBinding, CONTRACT_NAME, CONTRACT_VERSION, PSEUDONYM_BINDINGS};
use crate::v1_state::PSEUDONYMS;

pub fn migrate(deps: DepsMut, env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    let from = migrate_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    let old: Vec<(String, Addr)> = PSEUDONYMS
        .range(deps.storage, None, None, Order::Ascending)
        .collect::<StdResult<_>>()
        .map_err(|e| MigrationError::unreadable("a pseudonym binding (0.1.0)", e))?;
    for (subject, wallet) in old {
        if !PSEUDONYM_BINDINGS.has(deps.storage, &subject) {
            PSEUDONYM_BINDINGS.save(
                deps.storage,
                &subject,
                &PseudonymBinding {
                    wallet,
                    proven: false,
                    height: env.block.height,
                },
            )?;
        }
        PSEUDONYMS.remove(deps.storage, &subject);
    }
    Ok(migrate_response(CONTRACT_NAME, &from, CONTRACT_VERSION))
}
