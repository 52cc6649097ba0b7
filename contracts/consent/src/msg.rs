use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Binary, Timestamp};
use datapact_types::consent::{ConsentRecord, ConsentTerms};
use datapact_types::{AssetId, ConsentId};

use crate::state::StateChange;

#[cw_serde]
pub struct InstantiateMsg {}

#[cw_serde]
pub enum ExecuteMsg {
    /// The sender consents. `subject`: None for the sender's own address, or a `psn:`
    /// pseudonym whose key has bound the sender (see `BindPseudonym`).
    Grant {
        subject: Option<String>,
        terms: ConsentTerms,
    },
    /// Anyone relays a consent signed off chain by the subject's key over
    /// `ConsentSignDoc { chain_id, contract, nonce, action: Grant { terms } }`.
    GrantSigned {
        terms: ConsentTerms,
        nonce: u64,
        public_key: Binary,
        signature: Binary,
    },
    /// The subject (or the wallet its pseudonym is bound to) withdraws.
    Withdraw { consent_id: ConsentId },
    /// Anyone relays a withdrawal signed off chain by the subject's key (for a `psn:`
    /// subject: the pseudonym's key, whichever wallet it is bound to).
    WithdrawSigned {
        consent_id: ConsentId,
        nonce: u64,
        public_key: Binary,
        signature: Binary,
    },
    /// The sender becomes the wallet of the pseudonym `psn:` + hex(sha256(public_key)), by a
    /// signature of that key over
    /// `ConsentSignDoc { chain_id, contract, nonce, action: BindWallet { wallet: sender } }`.
    /// Replaces any earlier binding: the key's holder decides.
    BindPseudonym {
        nonce: u64,
        public_key: Binary,
        signature: Binary,
    },
}

#[cw_serde]
pub struct MigrateMsg {}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    /// Which of `subjects` (at most 100) consent now to `controller` using `asset_id` for
    /// `purpose`: what a gateway asks before it serves a table's rows.
    #[returns(ConsentsInForceResponse)]
    ConsentsInForce {
        controller: String,
        asset_id: AssetId,
        purpose: String,
        subjects: Vec<String>,
    },
    /// The wallet a pseudonym is bound to, if any.
    #[returns(PseudonymResponse)]
    Pseudonym { subject: String },
    /// The cross-contract question (see `datapact_types::consent::ConsentQuery`).
    #[returns(datapact_types::consent::ConsentStatusResponse)]
    ConsentStatus {
        subject: String,
        controller: String,
        asset_id: AssetId,
        purpose: String,
        at: Option<Timestamp>,
    },
    #[returns(ConsentResponse)]
    Consent { consent_id: ConsentId },
    /// Every state change of a record, oldest first.
    #[returns(HistoryResponse)]
    History {
        consent_id: ConsentId,
        start_after: Option<u32>,
        limit: Option<u32>,
    },
    #[returns(ConsentsResponse)]
    BySubject {
        subject: String,
        start_after: Option<ConsentId>,
        limit: Option<u32>,
    },
    #[returns(ConsentsResponse)]
    ByController {
        controller: String,
        start_after: Option<ConsentId>,
        limit: Option<u32>,
    },
    /// The nonce the next signed message of `subject` must carry.
    #[returns(NonceResponse)]
    Nonce { subject: String },
}

#[cw_serde]
pub struct ConsentResponse {
    pub consent: ConsentRecord,
}

#[cw_serde]
pub struct ConsentsResponse {
    pub consents: Vec<ConsentRecord>,
}

#[cw_serde]
pub struct HistoryResponse {
    pub changes: Vec<StateChange>,
}

#[cw_serde]
pub struct NonceResponse {
    pub subject: String,
    pub next_nonce: u64,
}

#[cw_serde]
pub struct ConsentsInForceResponse {
    /// The subjects asked about whose consent is in force, in the order asked.
    pub in_force: Vec<String>,
}

#[cw_serde]
pub struct PseudonymResponse {
    pub subject: String,
    pub binding: Option<crate::state::PseudonymBinding>,
}
