use cosmwasm_std::StdError;
use datapact_types::migrate::MigrationError;
use datapact_types::{AssetId, ValidationError, VersionNo};
use thiserror::Error;

/// Every way a registry message can be refused.
#[derive(Error, Debug)]
pub enum ContractError {
    #[error(transparent)]
    Std(#[from] StdError),

    #[error(transparent)]
    Funds(#[from] datapact_types::funds::FundsNotAccepted),

    #[error(transparent)]
    Invalid(#[from] ValidationError),

    #[error(transparent)]
    Migration(#[from] MigrationError),

    #[error("asset {id} not found")]
    AssetNotFound { id: AssetId },

    #[error("version {version} of asset {asset_id} not found")]
    VersionNotFound {
        asset_id: AssetId,
        version: VersionNo,
    },

    #[error("parent version {version} of asset {asset_id} not found: publish parents first")]
    ParentNotFound {
        asset_id: AssetId,
        version: VersionNo,
    },

    #[error("parent {asset_id}@{version} is listed twice")]
    DuplicateParent {
        asset_id: AssetId,
        version: VersionNo,
    },

    #[error("{sender} is not allowed: this needs the {required_role} of asset {asset_id}")]
    Unauthorized {
        sender: String,
        required_role: String,
        asset_id: AssetId,
    },

    #[error("asset {id} is tombstoned: it can no longer change")]
    AssetTombstoned { id: AssetId },

    #[error("{steward} is already a steward of asset {asset_id}")]
    AlreadySteward { asset_id: AssetId, steward: String },

    #[error("{steward} is not a steward of asset {asset_id}")]
    NotSteward { asset_id: AssetId, steward: String },

    #[error("the owner of asset {asset_id} cannot also be its steward")]
    OwnerAsSteward { asset_id: AssetId },

    #[error("asset {asset_id} has {max} stewards already")]
    TooManyStewards { asset_id: AssetId, max: usize },

    #[error("asset {asset_id} has {max} versions already")]
    TooManyVersions { asset_id: AssetId, max: VersionNo },

    #[error("a version may name at most {max} parents, got {got}")]
    TooManyParents { max: usize, got: usize },

    #[error("asset {asset_id} has no pending ownership transfer")]
    NoPendingTransfer { asset_id: AssetId },

    #[error("{attestor} already attests {claim:?} on {asset_id}@{version}: revoke it first")]
    AlreadyAttested {
        asset_id: AssetId,
        version: VersionNo,
        attestor: String,
        claim: String,
    },

    #[error("{attestor} has no attestation {claim:?} in force on {asset_id}@{version}")]
    AttestationNotFound {
        asset_id: AssetId,
        version: VersionNo,
        attestor: String,
        claim: String,
    },

    #[error("max_depth must be between 1 and {max}, got {got}")]
    InvalidDepth { max: u32, got: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use datapact_types::agreements::Refusal;

    #[test]
    fn the_indexer_reads_an_unauthorized_sender_from_this_contracts_error_text() {
        let text = ContractError::Unauthorized {
            sender: "wasm1x".into(),
            required_role: "owner".into(),
            asset_id: 1,
        }
        .to_string();
        assert_eq!(Refusal::from_log(&text), Refusal::Unauthorized, "{text}");
    }
}
