//! What other contracts send to, and ask of, the agreements contract.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{to_json_binary, Addr, StdResult, WasmMsg};

use crate::{AgreementId, AssetId, EntrySeq};

/// Messages the audit contract sends to the agreements contract. The agreements contract's
/// `ExecuteMsg` has the same variants, and a test there keeps the two byte-identical.
#[cw_serde]
pub enum AgreementsHookMsg {
    /// Suspends every agreement of `consumer` (accepted only from the audit contract).
    SuspendConsumer {
        consumer: String,
        alert_seq: EntrySeq,
    },
    /// Lifts the suspension of `consumer` (accepted only from the audit contract).
    LiftSuspension {
        consumer: String,
        alert_seq: EntrySeq,
    },
}

/// The question every data gateway asks; mirrored by the agreements contract's `QueryMsg`.
#[cw_serde]
#[derive(QueryResponses)]
pub enum AgreementsQuery {
    /// May `consumer` access `asset_id` for `purpose` now (for `subject`'s data, when the
    /// agreement requires consent)?
    #[returns(CanAccessResponse)]
    CanAccess {
        consumer: String,
        asset_id: AssetId,
        purpose: String,
        subject: Option<String>,
    },
}

/// Why an access is refused. Checked in this order, so the first rule broken is the one named.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum DenyReason {
    /// The consumer has no agreement for this asset.
    NoAgreement,
    /// The consumer is suspended by the audit contract.
    ConsumerSuspended,
    /// The provider suspended the agreement.
    AgreementSuspended,
    /// The agreement was terminated.
    AgreementTerminated,
    /// The agreement's duration has run out.
    AgreementExpired,
    /// The agreement's access cap is used up.
    CapReached,
    /// The purpose is not the one the agreement was signed for.
    PurposeNotPermitted,
    /// The asset's owner erased it.
    AssetTombstoned,
    /// The agreement requires consent, and no subject was named.
    SubjectRequired,
    /// The subject's consent is not in force for this controller, asset and purpose.
    ConsentNotGranted,
}

impl DenyReason {
    /// The snake_case name used in errors and events.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::NoAgreement => "no_agreement",
            DenyReason::ConsumerSuspended => "consumer_suspended",
            DenyReason::AgreementSuspended => "agreement_suspended",
            DenyReason::AgreementTerminated => "agreement_terminated",
            DenyReason::AgreementExpired => "agreement_expired",
            DenyReason::CapReached => "cap_reached",
            DenyReason::PurposeNotPermitted => "purpose_not_permitted",
            DenyReason::AssetTombstoned => "asset_tombstoned",
            DenyReason::SubjectRequired => "subject_required",
            DenyReason::ConsentNotGranted => "consent_not_granted",
        }
    }
}

impl std::fmt::Display for DenyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Answer to `CanAccess`: allowed, under which agreement, or the exact reason why not.
#[cw_serde]
pub struct CanAccessResponse {
    pub allowed: bool,
    /// The agreement that allows the access, or the one whose rule refused it.
    pub agreement_id: Option<AgreementId>,
    pub reason: Option<DenyReason>,
}

/// An agreements contract, as another contract sees it.
#[cw_serde]
pub struct AgreementsContract(pub Addr);

impl AgreementsContract {
    /// The message that suspends every agreement of `consumer`.
    pub fn suspend_consumer(&self, consumer: &Addr, alert_seq: EntrySeq) -> StdResult<WasmMsg> {
        self.hook(AgreementsHookMsg::SuspendConsumer {
            consumer: consumer.to_string(),
            alert_seq,
        })
    }

    /// The message that lifts the suspension of `consumer`.
    pub fn lift_suspension(&self, consumer: &Addr, alert_seq: EntrySeq) -> StdResult<WasmMsg> {
        self.hook(AgreementsHookMsg::LiftSuspension {
            consumer: consumer.to_string(),
            alert_seq,
        })
    }

    fn hook(&self, msg: AgreementsHookMsg) -> StdResult<WasmMsg> {
        Ok(WasmMsg::Execute {
            contract_addr: self.0.to_string(),
            msg: to_json_binary(&msg)?,
            funds: vec![],
        })
    }
}
