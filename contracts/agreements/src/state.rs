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
/// The least share of a priced offer that vests when the key is delivered (10%).
pub const MIN_DELIVERY_SHARE_BPS: u16 = 1_000;
/// Basis points in a whole.
pub const BPS: u16 = 10_000;
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
    /// The share of the price (in basis points) that vests when the key is delivered: a key
    /// once delivered cannot be taken back. 1,000 to 10,000 for a priced offer. (0 in offers
    /// made before 0.2.0.)
    #[serde(default)]
    pub delivery_share_bps: u16,
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

// Stored in three parts (`AccessTerms`, `AgreementDetails`, `ACCESS_COUNTS`) so that an
// access reads a small record and writes only a counter.
/// An agreement: its parties, the terms signed, its state and usage, and the escrow ledger.
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
    /// Seconds the provider kept the agreement suspended after delivering (ended suspensions).
    pub paused_seconds: u64,
    /// Since when the provider suspends it, if it does now.
    pub suspended_since: Option<Timestamp>,
    /// The price vests over the agreement's whole term (from 0.2.0); false: from the key's
    /// delivery to expiry, as agreements signed before 0.2.0 said.
    pub term_vesting: bool,
}

/// What every access check reads: small on purpose. `access_cap` and `consent_required` are
/// copies of the signed terms, which never change.
#[cw_serde]
pub struct AccessTerms {
    pub asset_id: AssetId,
    pub provider: Addr,
    pub consumer: Addr,
    pub purpose: String,
    pub status: AgreementStatus,
    pub expires_at: Timestamp,
    pub access_cap: Option<u64>,
    pub consent_required: bool,
}

/// The rest of an agreement: the signed terms, keys and the escrow ledger.
#[cw_serde]
pub struct AgreementDetails {
    pub offer_id: OfferId,
    pub terms: OfferTerms,
    pub consumer_public_key: Binary,
    pub signed_at: Timestamp,
    pub signed_height: u64,
    pub wrapped_key: Option<Binary>,
    pub key_deposited_at: Option<Timestamp>,
    pub terminated_at: Option<Timestamp>,
    pub paid_to_provider: Uint256,
    pub refunded_to_consumer: Uint256,
    /// See [`Agreement::paused_seconds`] (absent before 0.2.0: 0).
    #[serde(default)]
    pub paused_seconds: u64,
    #[serde(default)]
    pub suspended_since: Option<Timestamp>,
    /// See [`Agreement::term_vesting`] (absent before 0.2.0: false).
    #[serde(default)]
    pub term_vesting: bool,
}

impl Agreement {
    /// Reassembles an agreement from its stored parts.
    pub fn join(id: AgreementId, a: AccessTerms, d: AgreementDetails, access_count: u64) -> Self {
        Agreement {
            id,
            offer_id: d.offer_id,
            asset_id: a.asset_id,
            provider: a.provider,
            consumer: a.consumer,
            purpose: a.purpose,
            terms: d.terms,
            consumer_public_key: d.consumer_public_key,
            status: a.status,
            signed_at: d.signed_at,
            signed_height: d.signed_height,
            expires_at: a.expires_at,
            access_count,
            wrapped_key: d.wrapped_key,
            key_deposited_at: d.key_deposited_at,
            terminated_at: d.terminated_at,
            paid_to_provider: d.paid_to_provider,
            refunded_to_consumer: d.refunded_to_consumer,
            paused_seconds: d.paused_seconds,
            suspended_since: d.suspended_since,
            term_vesting: d.term_vesting,
        }
    }

    /// The parts it is stored in (the access count is written only by accesses).
    pub fn split(&self) -> (AccessTerms, AgreementDetails) {
        (
            AccessTerms {
                asset_id: self.asset_id,
                provider: self.provider.clone(),
                consumer: self.consumer.clone(),
                purpose: self.purpose.clone(),
                status: self.status,
                expires_at: self.expires_at,
                access_cap: self.terms.access_cap,
                consent_required: self.terms.consent_required,
            },
            AgreementDetails {
                offer_id: self.offer_id,
                terms: self.terms.clone(),
                consumer_public_key: self.consumer_public_key.clone(),
                signed_at: self.signed_at,
                signed_height: self.signed_height,
                wrapped_key: self.wrapped_key.clone(),
                key_deposited_at: self.key_deposited_at,
                terminated_at: self.terminated_at,
                paid_to_provider: self.paid_to_provider,
                refunded_to_consumer: self.refunded_to_consumer,
                paused_seconds: self.paused_seconds,
                suspended_since: self.suspended_since,
                term_vesting: self.term_vesting,
            },
        )
    }
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
/// The part of each agreement every access reads.
pub const ACCESS_TERMS: Map<AgreementId, AccessTerms> = Map::new("access_terms");
/// The rest of each agreement.
pub const DETAILS: Map<AgreementId, AgreementDetails> = Map::new("agreement_details");
/// Accesses recorded per agreement: the only thing an access writes.
pub const ACCESS_COUNTS: Map<AgreementId, u64> = Map::new("access_counts");
/// Index: agreements of a consumer.
pub const BY_CONSUMER: Map<(&Addr, AgreementId), ()> = Map::new("by_consumer");
/// Index: agreements of a provider.
pub const BY_PROVIDER: Map<(&Addr, AgreementId), ()> = Map::new("by_provider");
/// Index: agreements of a consumer on an asset, for `CanAccess`.
pub const BY_CONSUMER_ASSET: Map<(&Addr, AssetId, AgreementId), ()> = Map::new("by_consumer_asset");
/// Suspensions by the audit contract, one per (consumer, alert): a consumer is suspended while
/// any of its alerts' suspensions stands.
pub const SUSPENSIONS: Map<(&Addr, EntrySeq), ConsumerSuspension> = Map::new("suspensions");
/// How many of a consumer's suspensions stand (absent at zero): the access check's one read.
pub const SUSPENSION_COUNTS: Map<&Addr, u32> = Map::new("suspension_counts");
/// Most standing suspensions of one consumer a query lists.
pub const MAX_SUSPENSIONS_LISTED: usize = 30;

/// Records the suspension of `consumer` for `s.alert_seq` (no change if it stands already).
pub fn add_suspension(
    store: &mut dyn Storage,
    consumer: &Addr,
    s: &ConsumerSuspension,
) -> StdResult<()> {
    if SUSPENSIONS.has(store, (consumer, s.alert_seq)) {
        return Ok(());
    }
    SUSPENSIONS.save(store, (consumer, s.alert_seq), s)?;
    let n = SUSPENSION_COUNTS.may_load(store, consumer)?.unwrap_or(0);
    SUSPENSION_COUNTS.save(store, consumer, &(n + 1))
}

/// Lifts the suspension of `consumer` for `alert_seq` (no change if none stands).
pub fn remove_suspension(
    store: &mut dyn Storage,
    consumer: &Addr,
    alert_seq: EntrySeq,
) -> StdResult<()> {
    if !SUSPENSIONS.has(store, (consumer, alert_seq)) {
        return Ok(());
    }
    SUSPENSIONS.remove(store, (consumer, alert_seq));
    match SUSPENSION_COUNTS.may_load(store, consumer)?.unwrap_or(0) {
        0 | 1 => SUSPENSION_COUNTS.remove(store, consumer),
        n => SUSPENSION_COUNTS.save(store, consumer, &(n - 1))?,
    }
    Ok(())
}

/// The consumer's standing suspensions, oldest alert first (at most `limit`).
pub fn standing_suspensions(
    store: &dyn Storage,
    consumer: &Addr,
    limit: usize,
) -> StdResult<Vec<ConsumerSuspension>> {
    SUSPENSIONS
        .prefix(consumer)
        .range(store, None, None, cosmwasm_std::Order::Ascending)
        .take(limit)
        .map(|r| r.map(|(_, s)| s))
        .collect()
}

/// Loads a whole agreement, or None.
pub fn may_load_agreement(store: &dyn Storage, id: AgreementId) -> StdResult<Option<Agreement>> {
    let Some(access) = ACCESS_TERMS.may_load(store, id)? else {
        return Ok(None);
    };
    let details = DETAILS.load(store, id)?;
    let count = ACCESS_COUNTS.may_load(store, id)?.unwrap_or_default();
    Ok(Some(Agreement::join(id, access, details, count)))
}

/// Loads a whole agreement for a message, naming the id when it is missing.
pub fn load_agreement(
    store: &dyn Storage,
    id: AgreementId,
) -> Result<Agreement, crate::ContractError> {
    may_load_agreement(store, id)?.ok_or(crate::ContractError::AgreementNotFound { id })
}

/// Loads a whole agreement for its provider: any other sender is refused.
pub fn load_agreement_as_provider(
    store: &dyn Storage,
    id: AgreementId,
    sender: &Addr,
) -> Result<Agreement, crate::ContractError> {
    let a = load_agreement(store, id)?;
    if a.provider != *sender {
        return Err(crate::ContractError::unauthorized(
            sender,
            &format!("provider of agreement {id}"),
        ));
    }
    Ok(a)
}

/// Loads a whole agreement for a query, naming the id when it is missing.
pub fn load_agreement_for_query(store: &dyn Storage, id: AgreementId) -> StdResult<Agreement> {
    may_load_agreement(store, id)?
        .ok_or_else(|| cosmwasm_std::StdError::msg(format!("agreement {id} not found")))
}

/// Stores a whole agreement except its access count.
pub fn save_agreement(store: &mut dyn Storage, a: &Agreement) -> StdResult<()> {
    let (access, details) = a.split();
    ACCESS_TERMS.save(store, a.id, &access)?;
    DETAILS.save(store, a.id, &details)
}
