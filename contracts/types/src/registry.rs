//! What other contracts ask the registry, and the typed wrapper that asks it.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, QuerierWrapper, StdResult};
use cw_storage_plus::Map;

use crate::{AssetId, Sensitivity};

/// The registry queries other contracts send. The registry's own `QueryMsg` has the same
/// variants with the same fields, and a test there keeps the two byte-identical.
#[cw_serde]
#[derive(QueryResponses)]
pub enum RegistryQuery {
    /// The role `address` holds on the asset, and whether the asset may still be used.
    #[returns(AssetRoleResponse)]
    AssetRole { asset_id: AssetId, address: String },
}

/// The role an address holds on an asset.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum AssetRole {
    Owner,
    Steward,
    None,
}

impl AssetRole {
    /// Owners and stewards may publish versions and offer the asset.
    pub fn can_manage(self) -> bool {
        matches!(self, AssetRole::Owner | AssetRole::Steward)
    }
}

/// Answer to [`RegistryQuery::AssetRole`]. `exists` is false for an unknown asset (the other
/// fields then say nothing).
#[cw_serde]
pub struct AssetRoleResponse {
    pub asset_id: AssetId,
    pub exists: bool,
    pub role: AssetRole,
    pub owner: Option<Addr>,
    pub sensitivity: Option<Sensitivity>,
    pub tombstoned: bool,
}

/// The registry's map of tombstoned assets to the height of their erasure. Its namespace and
/// key layout are part of the registry's interface: other contracts read it with a raw query,
/// which costs a storage read instead of a second contract execution.
pub const TOMBSTONES: Map<AssetId, u64> = Map::new("tombstones");

/// When each tombstoned asset was erased (block time). Read raw by the agreements contract:
/// escrow stops vesting when the data is gone.
pub const TOMBSTONE_TIMES: Map<AssetId, cosmwasm_std::Timestamp> = Map::new("tombstone_times");

/// A registry contract, as another contract sees it.
#[cw_serde]
pub struct RegistryContract(pub Addr);

impl RegistryContract {
    /// Asks the registry which role `address` holds on `asset_id`.
    pub fn asset_role(
        &self,
        querier: &QuerierWrapper,
        asset_id: AssetId,
        address: &Addr,
    ) -> StdResult<AssetRoleResponse> {
        querier.query_wasm_smart(
            &self.0,
            &RegistryQuery::AssetRole {
                asset_id,
                address: address.to_string(),
            },
        )
    }

    /// When the asset was erased, by a raw read of the registry's [`TOMBSTONE_TIMES`] map.
    pub fn tombstoned_at(
        &self,
        querier: &QuerierWrapper,
        asset_id: AssetId,
    ) -> StdResult<Option<cosmwasm_std::Timestamp>> {
        TOMBSTONE_TIMES.query(querier, self.0.clone(), asset_id)
    }

    /// Whether the asset is tombstoned, by a raw read of the registry's [`TOMBSTONES`] map.
    pub fn is_tombstoned(&self, querier: &QuerierWrapper, asset_id: AssetId) -> StdResult<bool> {
        Ok(TOMBSTONES
            .query(querier, self.0.clone(), asset_id)?
            .is_some())
    }
}
