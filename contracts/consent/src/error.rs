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

    #[error("pseudonym {subject} belongs to another wallet")]
    PseudonymTaken { subject: String },

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
