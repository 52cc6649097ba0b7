use cosmwasm_std::{StdError, Timestamp};
use datapact_types::migrate::MigrationError;
use datapact_types::{ConsentId, ValidationError};
use thiserror::Error;

/// Every way a consent message can be refused.
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

    #[error("consent {id} not found")]
    ConsentNotFound { id: ConsentId },

    #[error("{sender} is not allowed: this needs the {required_role}")]
    Unauthorized {
        sender: String,
        required_role: String,
    },

    #[error("consent {id} is already withdrawn")]
    AlreadyWithdrawn { id: ConsentId },

    #[error("expiry {expires_at} is not after the current block time {now}")]
    ExpiryInPast {
        expires_at: Timestamp,
        now: Timestamp,
    },

    #[error("subject {subject} is a signing key: use GrantSigned / WithdrawSigned")]
    KeySubjectNeedsSignature { subject: String },

    #[error("subject {subject} must be the sender ({sender}) or a psn: pseudonym")]
    SubjectNotSender { subject: String, sender: String },

    #[error("{sender} may not act for {subject}: the pseudonym's key must first bind this wallet (BindPseudonym)")]
    PseudonymNotBound { subject: String, sender: String },

    #[error("pseudonym {subject} was bound to {wallet} without proof before 0.2.0: it may withdraw, but gives new consent only once the pseudonym's key binds it (BindPseudonym)")]
    PseudonymUnproven { subject: String, wallet: String },

    #[error("{got} subjects asked at once: at most {max}")]
    TooManySubjects { max: usize, got: usize },

    #[error("wrong nonce for {subject}: expected {expected}, got {got}")]
    NonceMismatch {
        subject: String,
        expected: u64,
        got: u64,
    },

    #[error("public key must be a 33-byte compressed secp256k1 key, got {len} bytes")]
    InvalidPublicKey { len: usize },

    #[error("signature does not verify for {subject} over the canonical sign doc")]
    InvalidSignature { subject: String },

    #[error("{subject} has {max} active consents with {controller}: withdraw one first")]
    TooManyActiveConsents {
        subject: String,
        controller: String,
        max: usize,
    },
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
        }
        .to_string();
        assert_eq!(Refusal::from_log(&text), Refusal::Unauthorized, "{text}");
    }
}
