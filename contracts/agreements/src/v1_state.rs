//! The stored layouts of 0.1.0, kept to migrate from them. Two builds shipped as 0.1.0: the
//! first stored each agreement as one record under `agreements`; the second split it into the
//! access terms, the details and a counter (the current layout). Both kept one suspension per
//! consumer under `suspended_consumers`.

use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Binary, Timestamp, Uint256};
use cw_storage_plus::Map;
use datapact_types::{AgreementId, AssetId, OfferId};

use crate::state::{AgreementStatus, ConsumerSuspension, OfferTerms};

/// 0.1.0 (first build): an agreement as one record.
#[cw_serde]
pub struct AgreementV1 {
    pub id: AgreementId,
    pub offer_id: OfferId,
    pub asset_id: AssetId,
    pub provider: Addr,
    pub consumer: Addr,
    pub purpose: String,
    pub terms: OfferTerms,
    pub consumer_public_key: Binary,
    pub status: AgreementStatus,
    pub signed_at: Timestamp,
    pub signed_height: u64,
    pub expires_at: Timestamp,
    pub access_count: u64,
    pub wrapped_key: Option<Binary>,
    pub key_deposited_at: Option<Timestamp>,
    pub terminated_at: Option<Timestamp>,
    pub paid_to_provider: Uint256,
    pub refunded_to_consumer: Uint256,
}

/// 0.1.0 (first build): agreements by id.
pub const AGREEMENTS_V1: Map<AgreementId, AgreementV1> = Map::new("agreements");

/// 0.1.0: one suspension per consumer (a second alert's was dropped, one lift cleared all).
pub const SUSPENDED_CONSUMERS_V1: Map<&Addr, ConsumerSuspension> = Map::new("suspended_consumers");
