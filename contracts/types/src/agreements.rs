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
#[derive(Copy, Eq, Hash)]
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

impl DenyReason {
    /// Every reason, in the order the rule checks them.
    pub const ALL: [DenyReason; 10] = [
        DenyReason::NoAgreement,
        DenyReason::ConsumerSuspended,
        DenyReason::AgreementSuspended,
        DenyReason::AgreementTerminated,
        DenyReason::AgreementExpired,
        DenyReason::CapReached,
        DenyReason::PurposeNotPermitted,
        DenyReason::AssetTombstoned,
        DenyReason::SubjectRequired,
        DenyReason::ConsentNotGranted,
    ];

    /// The reason named `name` (its [`DenyReason::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// What the agreements contract's refusal says before the reason's name:
/// `access under agreement 7 denied: cap_reached`.
pub const DENIED_MARKER: &str = "denied: ";
/// What every contract's `Unauthorized` error says: `wasm1… is not allowed: this needs …`.
pub const UNAUTHORIZED_MARKER: &str = " is not allowed: this needs ";

/// Why a transaction that tried an access failed, as the indexer records it: the contract's
/// [`DenyReason`] when it named one, else what the failure's text says. A failed transaction
/// carries its reason only in its log text; this is the one place that text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The access rule refused it.
    Denied(DenyReason),
    /// The sender may not record accesses under that agreement (not its consumer).
    Unauthorized,
    /// The transaction ran out of gas.
    OutOfGas,
    /// Anything else (an agreement that does not exist, a malformed message, ...).
    Other,
}

impl Refusal {
    /// The snake_case name stored in the index (a [`DenyReason`]'s own name for a denial).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Denied(r) => r.as_str(),
            Refusal::Unauthorized => "unauthorized",
            Refusal::OutOfGas => "out_of_gas",
            Refusal::Other => "other",
        }
    }

    /// The refusal named `name` (its [`Refusal::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        DenyReason::from_name(name)
            .map(Refusal::Denied)
            .or(match name {
                "unauthorized" => Some(Refusal::Unauthorized),
                "out_of_gas" => Some(Refusal::OutOfGas),
                "other" => Some(Refusal::Other),
                _ => None,
            })
    }

    /// Reads a failed transaction's log.
    pub fn from_log(log: &str) -> Self {
        if let Some(rest) = log.split(DENIED_MARKER).nth(1) {
            let name = rest
                .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .next()
                .unwrap_or_default();
            if let Some(r) = DenyReason::from_name(name) {
                return Refusal::Denied(r);
            }
        }
        if log.contains(UNAUTHORIZED_MARKER) {
            return Refusal::Unauthorized;
        }
        if log.contains("out of gas") {
            return Refusal::OutOfGas;
        }
        Refusal::Other
    }
}

impl serde::Serialize for Refusal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_through_its_name() {
        for r in DenyReason::ALL {
            assert_eq!(DenyReason::from_name(r.as_str()), Some(r));
            assert_eq!(Refusal::from_name(r.as_str()), Some(Refusal::Denied(r)));
        }
        for r in [Refusal::Unauthorized, Refusal::OutOfGas, Refusal::Other] {
            assert_eq!(Refusal::from_name(r.as_str()), Some(r));
        }
        assert_eq!(Refusal::from_name("nope"), None);
    }

    #[test]
    fn a_failed_transactions_log_names_its_refusal() {
        let log = "failed to execute message; message index: 2: access under agreement 7 denied: cap_reached: execute wasm contract failed";
        assert_eq!(
            Refusal::from_log(log),
            Refusal::Denied(DenyReason::CapReached)
        );
        assert_eq!(
            Refusal::from_log("wasm1x is not allowed: this needs the consumer of agreement 3"),
            Refusal::Unauthorized
        );
        assert_eq!(
            Refusal::from_log("out of gas in location: wasm"),
            Refusal::OutOfGas
        );
        assert_eq!(Refusal::from_log("something else"), Refusal::Other);
        assert_eq!(
            Refusal::from_log("denied: not_a_reason"),
            Refusal::Other,
            "only a name of the vocabulary counts"
        );
    }
}
