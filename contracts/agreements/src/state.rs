use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Binary, Coin, StdResult, Storage, Timestamp, Uint256};
use cw_storage_plus::{Item, Map};
use datapact_types::{AgreementId, AssetId, EntrySeq, OfferId};

pub const CONTRACT_NAME: &str = "crates.io:datapact-agreements";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Longest agreement: ten years.
pub const MAX_DURATION_SECONDS: u64 = 10 * 365 * 24 * 3600;
/// Longest consumer public key.
pub const MAX_PUBLIC_KEY_LEN: usize = 128;
/// Longest wrapped data key.
pub const MAX_WRAPPED_KEY_LEN: usize = 1024;
/// Most agreements of one consumer on one asset that `CanAccess` looks at, newest first.
pub const MAX_ACCESS_SCAN: usize = 30;

#[cw_serde]
pub struct Config {
    pub admin: Addr,
    pub registry: Addr,
    pub consent: Addr,
    /// The only sender of `SuspendConsumer` / `LiftSuspension`.
    pub audit: Option<Addr>,
}

/// ODRL-style terms of an offer.
#[cw_serde]
pub struct OfferTerms {
    pub permitted_purposes: Vec<String>,
    pub prohibited_purposes: Vec<String>,
    pub duration_seconds: u64,
    pub access_cap: Option<u64>,
    /// In one denom; a zero amount makes the offer free.
    pub price: Coin,
    /// Whether each access must name a subject whose consent is in force.
    pub consent_required: bool,
}

#[cw_serde]
#[derive(Copy, Eq)]
pub enum OfferStatus {
    Open,
    Withdrawn,
}

#[cw_serde]
pub struct Offer {
    pub id: OfferId,
    pub asset_id: AssetId,
    pub provider: Addr,
    pub terms: OfferTerms,
    pub status: OfferStatus,
    pub created_height: u64,
}

#[cw_serde]
#[derive(Copy, Eq)]
pub enum AgreementStatus {
    Active,
    Suspended,
    Terminated,
}

impl AgreementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Active => "active",
            AgreementStatus::Suspended => "suspended",
            AgreementStatus::Terminated => "terminated",
        }
    }
}

#[cw_serde]
pub struct Agreement {
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

/// A consumer suspended by the audit contract.
#[cw_serde]
pub struct ConsumerSuspension {
    pub alert_seq: EntrySeq,
    pub height: u64,
    pub time: Timestamp,
}

/// Peers and admin.
pub const CONFIG: Item<Config> = Item::new("config");
/// Last offer id handed out.
pub const LAST_OFFER_ID: Item<OfferId> = Item::new("last_offer_id");
/// Last agreement id handed out.
pub const LAST_AGREEMENT_ID: Item<AgreementId> = Item::new("last_agreement_id");
/// Offers by id.
pub const OFFERS: Map<OfferId, Offer> = Map::new("offers");
/// Index: offers of an asset.
pub const OFFERS_BY_ASSET: Map<(AssetId, OfferId), ()> = Map::new("offers_by_asset");
/// Agreements by id.
pub const AGREEMENTS: Map<AgreementId, Agreement> = Map::new("agreements");
/// Index: agreements of a consumer.
pub const BY_CONSUMER: Map<(&Addr, AgreementId), ()> = Map::new("by_consumer");
/// Index: agreements of a provider.
pub const BY_PROVIDER: Map<(&Addr, AgreementId), ()> = Map::new("by_provider");
/// Index: agreements of a consumer on an asset, for `CanAccess`.
pub const BY_CONSUMER_ASSET: Map<(&Addr, AssetId, AgreementId), ()> = Map::new("by_consumer_asset");
/// Consumers suspended by the audit contract.
pub const SUSPENDED_CONSUMERS: Map<&Addr, ConsumerSuspension> = Map::new("suspended_consumers");

/// Hands out the next id from `counter`.
pub fn next_id(store: &mut dyn Storage, counter: &Item<u64>) -> StdResult<u64> {
    let id = counter.may_load(store)?.unwrap_or_default() + 1;
    counter.save(store, &id)?;
    Ok(id)
}
