//! What can go wrong in the data plane, each with what to do about it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlaneError {
    /// The cause is in the message, not the error chain, so it is said once.
    #[error("cannot read or write {what}: {cause}")]
    Io { what: String, cause: std::io::Error },
    #[error("not an age X25519 secret key (expected AGE-SECRET-KEY-1…): check the key file")]
    BadSecretKey,
    #[error("not an age X25519 public key (expected age1…, {got} bytes given)")]
    BadPublicKey { got: usize },
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("cannot decrypt: {0} (a wrong key, or the ciphertext was altered)")]
    Decrypt(String),
    #[error("the proof is malformed: {0}")]
    MalformedProof(String),
    #[error("the proof's signature does not verify for its public key")]
    BadSignature,
    #[error("the proof is for gateway {got:?}, this is {want:?}")]
    WrongGateway { got: String, want: String },
    #[error("the proof is for chain {got:?}, this gateway serves {want:?}")]
    WrongChain { got: String, want: String },
    #[error("the proof expired at {expires} (now {now}): sign a new one")]
    Expired { expires: u64, now: u64 },
    #[error("the proof expires at {expires}, more than {max_seconds} s after now ({now}): sign one that lives shorter")]
    TooLongLived {
        expires: u64,
        now: u64,
        max_seconds: u64,
    },
    #[error("cannot read the table {path}: {reason}")]
    Table { path: String, reason: String },
    #[error("the table has no column {column:?} (columns: {columns})")]
    NoSuchColumn { column: String, columns: String },
    #[error("{0}")]
    Policy(String),
}

impl PlaneError {
    pub(crate) fn io(what: impl Into<String>, cause: std::io::Error) -> Self {
        PlaneError::Io {
            what: what.into(),
            cause,
        }
    }
}
