//! The consent contract's tables.

use crate::copy::{PgArray, UnixTime};

table! {
    /// Consent given, from a wallet or by a relayed signature.
    "consents" => Consent at {
        consent_id: i64,
        subject: String,
        controller: String,
        scope: String,
        purposes: PgArray,
        legal_basis: String,
        method: String,
        expires_at: Option<UnixTime>,
    }
}

table! {
    /// Consent withdrawn (`signed`: by a relayed signature).
    "consent_withdrawals" => ConsentWithdrawal at {
        consent_id: i64,
        subject: String,
        controller: String,
        signed: bool,
    }
}
