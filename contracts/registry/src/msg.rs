use cosmwasm_schema::{cw_serde, QueryResponses};
use datapact_types::{AssetId, Sensitivity, VersionNo, VersionRef};

use crate::state::{Asset, Attestation, Version};

/// The registry needs no configuration: every asset carries its own roles.
#[cw_serde]
pub struct InstantiateMsg {}

#[cw_serde]
pub enum ExecuteMsg {
    /// Registers an asset owned by the sender.
    RegisterAsset {
        name: String,
        description: Option<String>,
        sensitivity: Sensitivity,
        tags: Vec<String>,
    },
    /// Publishes an immutable version (owner or steward). Parents must already exist.
    PublishVersion {
        asset_id: AssetId,
        content_hash: String,
        schema_hash: Option<String>,
        uri: Option<String>,
        parents: Vec<VersionRef>,
    },
    /// The sender attests `claim` about a version, with the hash of its evidence.
    Attest {
        asset_id: AssetId,
        version: VersionNo,
        claim: String,
        evidence_hash: String,
    },
    /// The sender revokes its own attestation.
    RevokeAttestation {
        asset_id: AssetId,
        version: VersionNo,
        claim: String,
    },
    /// Owner only.
    AddSteward { asset_id: AssetId, steward: String },
    /// Owner only.
    RemoveSteward { asset_id: AssetId, steward: String },
    /// Owner only: proposes a new owner, who must accept.
    TransferOwnership {
        asset_id: AssetId,
        new_owner: String,
    },
    /// The proposed owner accepts.
    AcceptOwnership { asset_id: AssetId },
    /// Owner only: withdraws a pending proposal.
    CancelOwnershipTransfer { asset_id: AssetId },
    /// Owner only: the off-chain data is erased; the chain keeps hashes only, forever.
    Tombstone { asset_id: AssetId },
}

#[cw_serde]
pub struct MigrateMsg {}

/// Which way to walk lineage.
#[cw_serde]
#[derive(Copy)]
pub enum LineageDirection {
    Ancestors,
    Descendants,
}

/// Resumes an attestation listing after this attestor and claim.
#[cw_serde]
pub struct AttestationCursor {
    pub attestor: String,
    pub claim: String,
}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(AssetResponse)]
    Asset { asset_id: AssetId },
    #[returns(AssetsResponse)]
    ListAssets {
        start_after: Option<AssetId>,
        limit: Option<u32>,
    },
    #[returns(AssetsResponse)]
    AssetsByOwner {
        owner: String,
        start_after: Option<AssetId>,
        limit: Option<u32>,
    },
    #[returns(VersionsResponse)]
    Versions {
        asset_id: AssetId,
        start_after: Option<VersionNo>,
        limit: Option<u32>,
    },
    #[returns(VersionResponse)]
    Version {
        asset_id: AssetId,
        version: VersionNo,
    },
    /// Walks lineage breadth-first to `max_depth` (default and cap: 16), at most 200 nodes.
    #[returns(LineageResponse)]
    Lineage {
        asset_id: AssetId,
        version: VersionNo,
        direction: LineageDirection,
        max_depth: Option<u32>,
    },
    #[returns(AttestationsResponse)]
    Attestations {
        asset_id: AssetId,
        version: VersionNo,
        start_after: Option<AttestationCursor>,
        limit: Option<u32>,
    },
    /// The cross-contract question (see `datapact_types::registry::RegistryQuery`).
    #[returns(datapact_types::registry::AssetRoleResponse)]
    AssetRole { asset_id: AssetId, address: String },
}

#[cw_serde]
pub struct AssetResponse {
    pub asset: Asset,
}

#[cw_serde]
pub struct AssetsResponse {
    pub assets: Vec<Asset>,
}

#[cw_serde]
pub struct VersionResponse {
    pub version: Version,
}

#[cw_serde]
pub struct VersionsResponse {
    pub versions: Vec<Version>,
}

/// One version reached by a lineage walk, at `depth` edges from the root.
#[cw_serde]
pub struct LineageNode {
    pub version: VersionRef,
    pub depth: u32,
}

/// A lineage edge: `child` was derived from `parent`.
#[cw_serde]
pub struct LineageEdge {
    pub parent: VersionRef,
    pub child: VersionRef,
}

#[cw_serde]
pub struct LineageResponse {
    pub root: VersionRef,
    pub direction: LineageDirection,
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
    /// True when the walk stopped at the depth or node cap before exhausting lineage.
    pub truncated: bool,
}

#[cw_serde]
pub struct AttestationsResponse {
    pub attestations: Vec<Attestation>,
}
