use cosmwasm_std::{Coin, StdError};
use datapact_types::agreements::DenyReason;
use datapact_types::migrate::MigrationError;
use datapact_types::{AgreementId, AssetId, EntrySeq, OfferId, ValidationError};
use thiserror::Error;

/// Every way an agreements message can be refused.
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

    #[error("{sender} is not allowed: this needs the {required_role}")]
    Unauthorized {
        sender: String,
        required_role: String,
    },

    #[error("asset {id} not found in the registry")]
    AssetNotFound { id: AssetId },

    #[error("asset {id} is tombstoned")]
    AssetTombstoned { id: AssetId },

    #[error("{sender} neither owns nor stewards asset {asset_id}")]
    NotAssetManager { sender: String, asset_id: AssetId },

    #[error("{provider}, who made offer {offer_id}, no longer owns or stewards asset {asset_id}")]
    ProviderNoLongerManages {
        offer_id: OfferId,
        provider: String,
        asset_id: AssetId,
    },

    #[error("offer {id} not found")]
    OfferNotFound { id: OfferId },

    #[error("offer {id} was withdrawn")]
    OfferWithdrawn { id: OfferId },

    #[error("agreement {id} not found")]
    AgreementNotFound { id: AgreementId },

    #[error("purpose {purpose:?} is both permitted and prohibited")]
    PurposeConflict { purpose: String },

    #[error("purpose {purpose:?} is not permitted by offer {offer_id}")]
    PurposeNotOffered { offer_id: OfferId, purpose: String },

    #[error("duration must be 1 to {max} seconds, got {got}")]
    InvalidDuration { max: u64, got: u64 },

    #[error("access cap must be at least 1 when set")]
    InvalidCap {},

    #[error("delivery_share_bps must be {least} to {most} (basis points of the price that vest when the key is delivered), got {got}")]
    InvalidDeliveryShare { least: u16, most: u16, got: u16 },

    #[error("denom {denom:?} is not a valid coin denomination")]
    InvalidDenom { denom: String },

    #[error("wrong payment: send exactly {expected}, got [{got}]")]
    WrongPayment { expected: Coin, got: String },

    #[error("{field} must be 1 to {max} bytes, got {got}")]
    InvalidKey {
        field: &'static str,
        max: usize,
        got: usize,
    },

    #[error("the provider cannot sign its own offer")]
    SelfDealing {},

    #[error("consumer {consumer} is suspended by audit alert {alert_seq}")]
    ConsumerSuspended {
        consumer: String,
        alert_seq: EntrySeq,
    },

    #[error("access under agreement {agreement_id} denied: {reason}")]
    AccessDenied {
        agreement_id: AgreementId,
        reason: DenyReason,
    },

    #[error("agreement {id} is {status}, so it cannot be {action}")]
    InvalidStatus {
        id: AgreementId,
        status: String,
        action: String,
    },

    #[error("agreement {id} has expired")]
    AgreementExpired { id: AgreementId },

    #[error("the key for agreement {id} is already deposited")]
    KeyAlreadyDeposited { id: AgreementId },

    #[error("nothing has vested to claim on agreement {id}")]
    NothingToClaim { id: AgreementId },

    #[error("no audit contract is configured")]
    NoAuditContract {},
}

impl ContractError {
    /// `sender` lacks `role`.
    pub fn unauthorized(sender: &cosmwasm_std::Addr, role: &str) -> Self {
        ContractError::Unauthorized {
            sender: sender.to_string(),
            required_role: role.to_string(),
        }
    }

    /// Agreement `id` is in `status`, which forbids `action`.
    pub fn invalid_status(
        id: AgreementId,
        status: crate::state::AgreementStatus,
        action: &str,
    ) -> Self {
        ContractError::InvalidStatus {
            id,
            status: status.as_str().to_string(),
            action: action.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datapact_types::agreements::{DenyReason, Refusal};

    #[test]
    fn the_indexer_reads_every_refusal_back_from_this_contracts_error_text() {
        for reason in DenyReason::ALL {
            let text = ContractError::AccessDenied {
                agreement_id: 7,
                reason,
            }
            .to_string();
            let log = format!(
                "failed to execute message; message index: 0: {text}: execute wasm contract failed"
            );
            assert_eq!(Refusal::from_log(&log), Refusal::Denied(reason), "{log}");
        }
        let text = ContractError::Unauthorized {
            sender: "wasm1x".into(),
            required_role: "consumer of agreement 3".into(),
        }
        .to_string();
        assert_eq!(Refusal::from_log(&text), Refusal::Unauthorized, "{text}");
    }
}
