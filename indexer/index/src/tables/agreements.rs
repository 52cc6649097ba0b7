//! The agreements contract's tables, and the refused attempts decoded from failed
//! transactions.

use datapact_types::agreements::Refusal;

use crate::copy::{PgArray, UnixTime};

table! {
    /// An offer was made.
    "offers" => Offer at {
        offer_id: i64,
        asset_id: i64,
        provider: String,
        price: String,
        consent_required: bool,
        purposes: PgArray,
        access_cap: Option<i64>,
        /// basis points of the price vesting at the key's delivery (offers from 0.2.0 on)
        delivery_share_bps: Option<i64>,
    }
}

table! {
    /// A consumer signed an offer.
    "agreements" => Agreement at {
        agreement_id: i64,
        offer_id: i64,
        asset_id: i64,
        provider: String,
        consumer: String,
        purpose: String,
        price: String,
        expires_at: UnixTime,
    }
}

table! {
    /// Key deposits, suspensions, resumptions, terminations, claims, offer withdrawals.
    "agreement_changes" => AgreementChange at {
        agreement_id: Option<i64>,
        offer_id: Option<i64>,
        change: String,
        actor: String,
        /// claimed, or paid to the provider at termination
        amount: Option<String>,
        /// refunded to the consumer at termination
        refunded: Option<String>,
    }
}

table! {
    /// An access was checked and recorded.
    "accesses" => Access at {
        agreement_id: i64,
        asset_id: i64,
        consumer: String,
        purpose: String,
        subject: Option<String>,
        access_count: i64,
    }
}

table! {
    /// A failed `RecordAccess`: who tried what, and why the chain refused it.
    "denied_attempts" => DeniedAttempt {
        height: i64,
        tx_index: i32,
        /// the failing message's index in its transaction
        msg_index: i32,
        consumer: String,
        agreement_id: Option<i64>,
        purpose: Option<String>,
        subject: Option<String>,
        reason: Refusal,
    }
}

table! {
    /// The audit contract suspended a consumer, or lifted the suspension (`lifted`).
    "consumer_suspensions" => ConsumerSuspension at {
        consumer: String,
        alert_seq: i64,
        lifted: bool,
    }
}
