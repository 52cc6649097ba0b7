use cosmwasm_std::StdError;
use datapact_types::migrate::MigrationError;
use datapact_types::{EntrySeq, ValidationError};
use thiserror::Error;

/// Every way an audit message can be refused.
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

    #[error("{sender} is not allowed: this needs the {required_role} role")]
    Unauthorized {
        sender: String,
        required_role: String,
    },

    #[error("alert {seq} not found")]
    AlertNotFound { seq: EntrySeq },

    #[error("alert {seq} is {state}, so it cannot be {action}")]
    InvalidAlertState {
        seq: EntrySeq,
        state: String,
        action: String,
    },

    #[error("alert {seq} caused no suspension that is still in force")]
    NoSuspension { seq: EntrySeq },

    #[error("score must be between 0 and 1, got {score}")]
    InvalidScore { score: String },

    #[error("verify range {from}..={to} is invalid: from must be >= 1, to >= from, at most {max} entries")]
    InvalidRange {
        from: EntrySeq,
        to: EntrySeq,
        max: u64,
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
