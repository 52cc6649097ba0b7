use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Timestamp};
use cw_storage_plus::{Item, Map};
use datapact_types::{AssetId, Sensitivity, VersionNo, VersionRef};

pub const CONTRACT_NAME: &str = "crates.io:datapact-registry";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Most stewards an asset may have.
pub const MAX_STEWARDS: usize = 10;
/// Most versions an asset may have (bounds the work of a tombstone).
pub const MAX_VERSIONS: VersionNo = 500;
/// Most parents one version may name.
pub const MAX_PARENTS: usize = 16;
/// Longest asset name.
pub const MAX_NAME_LEN: usize = 128;

#[cw_serde]
pub struct Asset {
    pub id: AssetId,
    pub owner: Addr,
    pub pending_owner: Option<Addr>,
    pub stewards: Vec<Addr>,
    pub name: String,
    /// Emptied on tombstone.
    pub description: String,
    pub sensitivity: Sensitivity,
    /// Emptied on tombstone.
    pub tags: Vec<String>,
    pub created_height: u64,
    /// Number of the newest version; 0 before the first.
    pub latest_version: VersionNo,
    pub tombstoned_height: Option<u64>,
}

impl Asset {
    pub fn is_steward(&self, addr: &Addr) -> bool {
        self.stewards.contains(addr)
    }

    pub fn is_tombstoned(&self) -> bool {
        self.tombstoned_height.is_some()
    }
}

#[cw_serde]
pub struct Version {
    pub asset_id: AssetId,
    pub version: VersionNo,
    pub content_hash: String,
    pub schema_hash: Option<String>,
    /// Where the data lives. Never stored here: kept in `VERSION_URIS` (which a tombstone
    /// empties) and filled in on query.
    pub uri: Option<String>,
    pub parents: Vec<VersionRef>,
    pub publisher: Addr,
    pub height: u64,
    pub time: Timestamp,
}

#[cw_serde]
pub struct Attestation {
    pub asset_id: AssetId,
    pub version: VersionNo,
    pub attestor: Addr,
    pub claim: String,
    pub evidence_hash: String,
    pub height: u64,
    pub revoked_height: Option<u64>,
}

/// Last asset id handed out.
pub const LAST_ASSET_ID: Item<AssetId> = Item::new("last_asset_id");
/// Assets by id.
pub const ASSETS: Map<AssetId, Asset> = Map::new("assets");
/// Index of assets by owner.
pub const ASSETS_BY_OWNER: Map<(&Addr, AssetId), ()> = Map::new("assets_by_owner");
/// Versions by (asset, version); stored without their URI.
pub const VERSIONS: Map<(AssetId, VersionNo), Version> = Map::new("versions");
/// Version URIs, apart so a tombstone deletes them and nothing else.
pub const VERSION_URIS: Map<(AssetId, VersionNo), String> = Map::new("version_uris");
/// Lineage edges parent -> child, keyed by `VersionRef::key()`, for descendant walks.
pub const CHILDREN: Map<(u128, u128), ()> = Map::new("children");
/// Attestations by (version key, attestor, claim).
pub const ATTESTATIONS: Map<(u128, &Addr, &str), Attestation> = Map::new("attestations");

/// Tombstoned assets (asset -> height, asset -> time), defined in the shared package because
/// other contracts read them raw.
pub use datapact_types::registry::{TOMBSTONES, TOMBSTONE_TIMES};
