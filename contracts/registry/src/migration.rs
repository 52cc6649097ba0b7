//! `migrate`: from any released layout to this one, or a refusal that names what it cannot
//! read.
//!
//! From 0.1.0: every tombstoned asset gets its entry in the tombstone index other contracts
//! read raw (the first 0.1.0 build had no index) and in the index of erasure times (which
//! 0.2.0 adds: an asset erased before the upgrade is taken as erased at the upgrade), and loses
//! its name, which 0.1.0 kept although it is free text like the description.

use cosmwasm_std::{DepsMut, Env, Order, Response, StdResult};
use datapact_types::migrate::{migrate_response, migrate_version, MigrationError};
use datapact_types::AssetId;

use crate::error::ContractError;
use crate::msg::MigrateMsg;
use crate::state::{Asset, ASSETS, CONTRACT_NAME, CONTRACT_VERSION, TOMBSTONES, TOMBSTONE_TIMES};

pub fn migrate(deps: DepsMut, env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    let from = migrate_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    let erased: Vec<(AssetId, Asset)> = ASSETS
        .range(deps.storage, None, None, Order::Ascending)
        .filter(|r| r.as_ref().map_or(true, |(_, a)| a.is_tombstoned()))
        .collect::<StdResult<_>>()
        .map_err(|e| MigrationError::unreadable("an asset", e))?;
    for (id, mut asset) in erased {
        let height = asset.tombstoned_height.unwrap_or(env.block.height);
        if !TOMBSTONES.has(deps.storage, id) {
            TOMBSTONES.save(deps.storage, id, &height)?;
        }
        if !TOMBSTONE_TIMES.has(deps.storage, id) {
            TOMBSTONE_TIMES.save(deps.storage, id, &env.block.time)?;
        }
        if !asset.name.is_empty() {
            asset.name.clear();
            ASSETS.save(deps.storage, id, &asset)?;
        }
    }
    Ok(migrate_response(CONTRACT_NAME, &from, CONTRACT_VERSION))
}
