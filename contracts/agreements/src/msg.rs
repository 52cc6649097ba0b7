use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, Binary, Uint256};
use datapact_types::{AgreementId, AssetId, EntrySeq, OfferId};

use crate::state::{Agreement, ConsumerSuspension, Offer, OfferTerms};

#[cw_serde]
pub struct InstantiateMsg {
    pub registry: String,
    pub consent: String,
    /// Usually set later with `UpdateConfig`: the audit contract is instantiated after this one.
    pub audit: Option<String>,
    /// Defaults to the sender.
    pub admin: Option<String>,
}

#[cw_serde]
pub enum ExecuteMsg {
    /// Admin only: rewires peers or hands over admin.
    UpdateConfig {
        audit: Option<String>,
        admin: Option<String>,
    },
    /// The asset's owner or a steward offers it under `terms`.
    CreateOffer {
        asset_id: AssetId,
        terms: OfferTerms,
    },
    /// The offer's provider withdraws it; agreements already signed stand.
    WithdrawOffer { offer_id: OfferId },
    /// The sender signs an offer for one permitted purpose, attaching exactly the price.
    Sign {
        offer_id: OfferId,
        purpose: String,
        /// Public key the data key is to be wrapped to.
        consumer_public_key: Binary,
    },
    /// Provider only: the data key wrapped to the consumer's public key (ciphertext only).
    DepositKey {
        agreement_id: AgreementId,
        wrapped_key: Binary,
    },
    /// Consumer only: records an access, checked against the terms.
    RecordAccess {
        agreement_id: AgreementId,
        purpose: String,
        /// Whose data, when the terms require consent.
        subject: Option<String>,
    },
    /// Provider only.
    Suspend { agreement_id: AgreementId },
    /// Provider only.
    Resume { agreement_id: AgreementId },
    /// Provider or consumer: settles escrow and closes the agreement.
    Terminate { agreement_id: AgreementId },
    /// Provider only: pays out the vested part of the escrow.
    Claim { agreement_id: AgreementId },
    /// Audit contract only.
    SuspendConsumer {
        consumer: String,
        alert_seq: EntrySeq,
    },
    /// Audit contract only.
    LiftSuspension {
        consumer: String,
        alert_seq: EntrySeq,
    },
}

#[cw_serde]
pub struct MigrateMsg {}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(crate::state::Config)]
    Config {},
    #[returns(OfferResponse)]
    Offer { offer_id: OfferId },
    /// All offers, or one asset's.
    #[returns(OffersResponse)]
    Offers {
        asset_id: Option<AssetId>,
        start_after: Option<OfferId>,
        limit: Option<u32>,
    },
    #[returns(AgreementResponse)]
    Agreement { agreement_id: AgreementId },
    #[returns(AgreementsResponse)]
    AgreementsByConsumer {
        consumer: String,
        start_after: Option<AgreementId>,
        limit: Option<u32>,
    },
    #[returns(AgreementsResponse)]
    AgreementsByProvider {
        provider: String,
        start_after: Option<AgreementId>,
        limit: Option<u32>,
    },
    /// The question every data gateway asks (see `datapact_types::agreements::AgreementsQuery`).
    #[returns(datapact_types::agreements::CanAccessResponse)]
    CanAccess {
        consumer: String,
        asset_id: AssetId,
        purpose: String,
        subject: Option<String>,
    },
    /// The gateway's question before it delivers an access already recorded on
    /// `agreement_id`: the access rule now, for the agreement's purpose, without the cap (the
    /// recorded access counted against it). `subject` as the recorded access named it.
    #[returns(datapact_types::agreements::CanAccessResponse)]
    CanDeliver {
        agreement_id: AgreementId,
        subject: Option<String>,
    },
    #[returns(ConsumerSuspensionResponse)]
    ConsumerSuspension { consumer: String },
}

#[cw_serde]
pub struct OfferResponse {
    pub offer: Offer,
}

#[cw_serde]
pub struct OffersResponse {
    pub offers: Vec<Offer>,
}

/// State as of the current block, derived from stored state and time.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum EffectiveStatus {
    Active,
    Suspended,
    Terminated,
    Expired,
}

#[cw_serde]
pub struct AgreementResponse {
    pub agreement: Agreement,
    pub effective_status: EffectiveStatus,
    /// What has vested to the provider by now.
    pub vested: Uint256,
    /// What the contract still holds for this agreement.
    pub held: Uint256,
    pub consumer_suspended: bool,
}

#[cw_serde]
pub struct AgreementsResponse {
    pub agreements: Vec<Agreement>,
}

#[cw_serde]
pub struct ConsumerSuspensionResponse {
    pub consumer: Addr,
    /// The oldest standing suspension, if any: the consumer is suspended while one stands.
    pub suspension: Option<ConsumerSuspension>,
    /// Every standing suspension, one per alert (at most 30 listed).
    pub standing: Vec<ConsumerSuspension>,
}
