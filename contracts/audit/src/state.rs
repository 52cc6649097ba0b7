use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Decimal, HexBinary, Timestamp};
use cw_storage_plus::{Item, Map};
use datapact_types::{AssetId, EntrySeq, Severity};

pub const CONTRACT_NAME: &str = "crates.io:datapact-audit";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Most entries a filtered alert listing scans per page.
pub const MAX_SCAN: usize = 500;
/// Most entries one `Verify` checks.
pub const MAX_VERIFY: u64 = 1000;

#[cw_serde]
pub struct Config {
    pub admin: Addr,
    pub agreements: Addr,
    /// Alerts at or above this severity suspend their subject.
    pub suspend_threshold: Severity,
}

/// What one log entry records.
#[cw_serde]
pub enum EntryBody {
    Alert {
        kind: String,
        severity: Severity,
        subject: Addr,
        asset_id: Option<AssetId>,
        evidence_hash: String,
        score: Decimal,
        model_version: String,
        suspended: bool,
    },
    Acknowledged {
        alert_seq: EntrySeq,
    },
    Resolved {
        alert_seq: EntrySeq,
        resolution: String,
    },
    SuspensionLifted {
        alert_seq: EntrySeq,
        subject: Addr,
    },
    RolesUpdated {
        add_sentinels: Vec<Addr>,
        remove_sentinels: Vec<Addr>,
        add_responders: Vec<Addr>,
        remove_responders: Vec<Addr>,
    },
    PolicyUpdated {
        suspend_threshold: Severity,
    },
}

/// One append-only, hash-chained log entry.
#[cw_serde]
pub struct LogEntry {
    pub seq: EntrySeq,
    pub actor: Addr,
    pub height: u64,
    pub time: Timestamp,
    pub body: EntryBody,
    pub prev_hash: HexBinary,
    pub hash: HexBinary,
}

#[cw_serde]
#[derive(Copy, Eq)]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }
}

/// The current state of an alert, derived from the log as it grows.
#[cw_serde]
pub struct Alert {
    pub seq: EntrySeq,
    pub kind: String,
    pub severity: Severity,
    pub subject: Addr,
    pub asset_id: Option<AssetId>,
    pub score: Decimal,
    pub model_version: String,
    pub evidence_hash: String,
    pub reported_by: Addr,
    pub height: u64,
    pub state: AlertState,
    /// Whether the alert suspended its subject.
    pub suspended: bool,
    /// Whether a responder lifted that suspension.
    pub suspension_lifted: bool,
}

/// Admin, peer and policy.
pub const CONFIG: Item<Config> = Item::new("config");
/// Addresses allowed to report alerts.
pub const SENTINELS: Map<&Addr, ()> = Map::new("sentinels");
/// Addresses allowed to acknowledge, resolve and lift.
pub const RESPONDERS: Map<&Addr, ()> = Map::new("responders");
/// The log, by sequence number from 1.
pub const ENTRIES: Map<EntrySeq, LogEntry> = Map::new("entries");
/// Alerts by the sequence number of their report entry.
pub const ALERTS: Map<EntrySeq, Alert> = Map::new("alerts");
/// Index: alerts of a subject.
pub const ALERTS_BY_SUBJECT: Map<(&Addr, EntrySeq), ()> = Map::new("alerts_by_subject");
