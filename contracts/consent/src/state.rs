use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Timestamp};
use cw_storage_plus::{Item, Map};
use datapact_types::consent::{ConsentMethod, ConsentRecord};
use datapact_types::ConsentId;

pub const CONTRACT_NAME: &str = "crates.io:datapact-consent";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Most records in force (not withdrawn, not expired) per subject and controller.
pub const MAX_ACTIVE_PER_PAIR: usize = 32;
/// Most records a status query at a past instant scans, newest first.
pub const MAX_HISTORY_SCAN: usize = 256;
/// Most subjects one `ConsentsInForce` query asks about.
pub const MAX_SUBJECTS_PER_QUERY: usize = 100;

/// A record's state as history keeps it.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum ConsentState {
    Given,
    Withdrawn,
}

/// One state change of a consent record.
#[cw_serde]
pub struct StateChange {
    pub seq: u32,
    pub state: ConsentState,
    pub height: u64,
    pub time: Timestamp,
    /// The address that sent the transaction (the subject, or the relayer of a signature).
    pub sent_by: Addr,
    pub method: ConsentMethod,
}

/// Last consent id handed out.
pub const LAST_CONSENT_ID: Item<ConsentId> = Item::new("last_consent_id");
/// Records by id.
pub const CONSENTS: Map<ConsentId, ConsentRecord> = Map::new("consents");
/// State changes by (record, seq).
pub const HISTORY: Map<(ConsentId, u32), StateChange> = Map::new("history");
/// Index: every record of a subject.
pub const BY_SUBJECT: Map<(&str, ConsentId), ()> = Map::new("by_subject");
/// Index: every record of a controller.
pub const BY_CONTROLLER: Map<(&Addr, ConsentId), ()> = Map::new("by_controller");
/// Index: every record of a (subject, controller) pair, for status at a past instant.
pub const BY_PAIR: Map<(&str, &Addr, ConsentId), ()> = Map::new("by_pair");
/// Index: records of a pair not yet withdrawn, for status now (pruned of expired ones on grant).
pub const ACTIVE: Map<(&str, &Addr, ConsentId), ()> = Map::new("active");
/// How a wallet came to act for a pseudonym.
#[cw_serde]
pub struct PseudonymBinding {
    pub wallet: Addr,
    /// The pseudonym's key signed the binding. False only for bindings made before 0.2.0,
    /// when the first wallet to use a pseudonym got it: such a wallet may still withdraw the
    /// consents it gave, but gives no new ones until the key binds a wallet.
    pub proven: bool,
    pub height: u64,
}

/// Wallet each `psn:` pseudonym is bound to.
pub const PSEUDONYM_BINDINGS: Map<&str, PseudonymBinding> = Map::new("pseudonym_bindings");
/// Next nonce of each subject that signs (`key:` subjects, and `psn:` pseudonyms' keys).
pub const NONCES: Map<&str, u64> = Map::new("nonces");
