//! The audit contract's tables.

use crate::copy::JsonText;

table! {
    /// A sentinel's alert.
    "alerts" => Alert at {
        alert_seq: i64,
        sentinel: String,
        kind: String,
        severity: String,
        subject: String,
        asset_id: Option<i64>,
        evidence_hash: String,
        score: String,
        model_version: String,
        entry_hash: String,
        suspended: bool,
    }
}

table! {
    /// Acknowledgements, resolutions, lifts and role/policy changes, with all their attributes.
    "audit_changes" => AuditChange at {
        alert_seq: Option<i64>,
        change: String,
        actor: String,
        attrs: JsonText,
    }
}
