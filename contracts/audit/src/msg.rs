use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, Decimal, HexBinary};
use datapact_types::{AssetId, EntrySeq, Severity};

use crate::state::{Alert, AlertState, LogEntry};

#[cw_serde]
pub struct InstantiateMsg {
    /// Defaults to the sender.
    pub admin: Option<String>,
    pub agreements: String,
    pub sentinels: Vec<String>,
    pub responders: Vec<String>,
    pub suspend_threshold: Severity,
}

#[cw_serde]
pub enum ExecuteMsg {
    /// Admin only.
    UpdateRoles {
        add_sentinels: Vec<String>,
        remove_sentinels: Vec<String>,
        add_responders: Vec<String>,
        remove_responders: Vec<String>,
    },
    /// Admin only.
    UpdatePolicy { suspend_threshold: Severity },
    /// Sentinel only. At or above the threshold, suspends `subject`'s agreements.
    ReportAlert {
        kind: String,
        severity: Severity,
        subject: String,
        asset_id: Option<AssetId>,
        evidence_hash: String,
        score: Decimal,
        model_version: String,
    },
    /// Responder only.
    Acknowledge { alert_seq: EntrySeq },
    /// Responder only.
    Resolve {
        alert_seq: EntrySeq,
        resolution: String,
    },
    /// Responder only: lifts the suspension the alert caused.
    LiftSuspension { alert_seq: EntrySeq },
}

#[cw_serde]
pub struct MigrateMsg {}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(crate::state::Config)]
    Config {},
    #[returns(RolesResponse)]
    Roles {},
    #[returns(AlertResponse)]
    Alert { alert_seq: EntrySeq },
    /// Alerts, oldest first, filtered. Scans at most 500 alerts per page: continue from
    /// `last_scanned` when a page comes back short.
    #[returns(AlertsResponse)]
    Alerts {
        subject: Option<String>,
        min_severity: Option<Severity>,
        state: Option<AlertState>,
        start_after: Option<EntrySeq>,
        limit: Option<u32>,
    },
    /// The alerts whose suspension of `subject` stands (suspended and not lifted): the subject
    /// is suspended while one does, here and in the agreements contract alike.
    #[returns(SuspensionResponse)]
    Suspension { subject: String },
    #[returns(EntriesResponse)]
    Entries {
        start_after: Option<EntrySeq>,
        limit: Option<u32>,
    },
    #[returns(HeadResponse)]
    Head {},
    /// Recomputes every hash in `from..=to` (at most 1000 entries) and checks the links.
    #[returns(VerifyResponse)]
    Verify { from: EntrySeq, to: EntrySeq },
}

#[cw_serde]
pub struct RolesResponse {
    pub sentinels: Vec<Addr>,
    pub responders: Vec<Addr>,
}

#[cw_serde]
pub struct SuspensionResponse {
    pub subject: Addr,
    pub suspended: bool,
    /// The standing alerts (the first 500 alerts of the subject are scanned).
    pub alerts: Vec<Alert>,
}

#[cw_serde]
pub struct AlertResponse {
    pub alert: Alert,
}

#[cw_serde]
pub struct AlertsResponse {
    pub alerts: Vec<Alert>,
    /// The last alert looked at, matching or not; None when nothing was scanned.
    pub last_scanned: Option<EntrySeq>,
}

#[cw_serde]
pub struct EntriesResponse {
    pub entries: Vec<LogEntry>,
}

#[cw_serde]
pub struct HeadResponse {
    pub seq: EntrySeq,
    pub hash: HexBinary,
}

#[cw_serde]
pub struct VerifyResponse {
    pub valid: bool,
    pub checked: u64,
    /// The first entry whose hash or link is wrong.
    pub first_invalid: Option<EntrySeq>,
}
