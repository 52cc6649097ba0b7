//! Why the gateway said no: one name per reason, its HTTP status and what the caller can do.

use axum::http::StatusCode;
use datapact_plane::PlaneError;
use datapact_types::agreements::DenyReason;

/// A refused request. `reason()` is the stable name in the JSON body, the logs and the
/// `reason` label of `datapact_gateway_refusals_total`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the path is /v1/assets/ASSET/versions/VERSION, both whole numbers")]
    BadPath,
    #[error("no proof: send `Authorization: DataPact <base64 of the AccessProof JSON>`")]
    NoProof,
    #[error(transparent)]
    Proof(PlaneError),
    #[error("the proof asks for asset {asked_asset} version {asked_version}, the path names asset {asset} version {version}")]
    PathMismatch {
        asked_asset: u64,
        asked_version: u32,
        asset: u64,
        version: u32,
    },
    #[error("transaction {0} is not on chain (not yet in a block, or never sent): wait for it and ask again")]
    RecordNotFound(String),
    #[error("transaction {tx} failed on chain: {log}")]
    RecordFailed { tx: String, log: String },
    #[error("transaction {tx} does not record this access: {why}")]
    RecordMismatch { tx: String, why: String },
    #[error("transaction {tx} is {age} s old (this gateway redeems records up to {max} s old): record the access again")]
    RecordTooOld { tx: String, age: u64, max: u64 },
    #[error("the chain refuses agreement {agreement_id} now: {reason}", reason = .reason.as_str())]
    Chain {
        agreement_id: u64,
        reason: DenyReason,
    },
    #[error("asset {asset} version {version} is not stored at this gateway")]
    NotStored { asset: u64, version: u32 },
    #[error("the provider has not given agreement {agreement_id} the key of asset {asset} version {version} (a version published while the consumer was suspended or after the agreement ended never gets one): ask them to run `datapact provider deliver-keys`")]
    KeyNotDelivered {
        agreement_id: u64,
        asset: u64,
        version: u32,
    },
    #[error("asset {asset} version {version} has no passing quality attestation by a checker this gateway trusts")]
    QualityNotAttested { asset: u64, version: u32 },
    #[error("asset {asset} version {version} holds no rows of subject {subject:?}, the subject the access recorded")]
    SubjectNotInVersion {
        asset: u64,
        version: u32,
        subject: String,
    },
    #[error("no subject of asset {asset} version {version} consents now to agreement {agreement_id}'s purpose: none of its rows may leave")]
    NoConsentInForce {
        agreement_id: u64,
        asset: u64,
        version: u32,
    },
    #[error("transaction {tx} was redeemed already (by gateway {gateway} at {at}): record a new access for a new delivery")]
    AlreadyRedeemed {
        tx: String,
        gateway: String,
        at: String,
    },
    #[error("the gateway cannot check this now ({0}): try again later")]
    Unavailable(String),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::BadPath => "bad_path",
            Refusal::NoProof => "no_proof",
            Refusal::Proof(e) => match e {
                PlaneError::BadSignature => "bad_signature",
                PlaneError::WrongGateway { .. } => "wrong_gateway",
                PlaneError::WrongChain { .. } => "wrong_chain",
                PlaneError::Expired { .. } => "proof_expired",
                PlaneError::TooLongLived { .. } => "proof_too_long_lived",
                _ => "malformed_proof",
            },
            Refusal::PathMismatch { .. } => "path_mismatch",
            Refusal::RecordNotFound(_) => "record_not_found",
            Refusal::RecordFailed { .. } => "record_failed",
            Refusal::RecordMismatch { .. } => "record_mismatch",
            Refusal::RecordTooOld { .. } => "record_too_old",
            Refusal::Chain { reason, .. } => reason.as_str(),
            Refusal::NotStored { .. } => "not_stored",
            Refusal::SubjectNotInVersion { .. } => "subject_not_in_version",
            Refusal::KeyNotDelivered { .. } => "key_not_delivered",
            Refusal::QualityNotAttested { .. } => "quality_not_attested",
            // the chain's own name for it: no consent in force
            Refusal::NoConsentInForce { .. } => DenyReason::ConsentNotGranted.as_str(),
            Refusal::AlreadyRedeemed { .. } => "already_redeemed",
            Refusal::Unavailable(_) => "unavailable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NoProof | Refusal::Proof(_) => StatusCode::UNAUTHORIZED,
            Refusal::PathMismatch { .. } | Refusal::BadPath => StatusCode::BAD_REQUEST,
            Refusal::RecordNotFound(_)
            | Refusal::RecordFailed { .. }
            | Refusal::RecordMismatch { .. }
            | Refusal::RecordTooOld { .. }
            | Refusal::Chain { .. }
            | Refusal::NoConsentInForce { .. }
            | Refusal::KeyNotDelivered { .. }
            | Refusal::QualityNotAttested { .. } => StatusCode::FORBIDDEN,
            Refusal::NotStored { .. } | Refusal::SubjectNotInVersion { .. } => {
                StatusCode::NOT_FOUND
            }
            Refusal::AlreadyRedeemed { .. } => StatusCode::CONFLICT,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The JSON body of a refusal.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RefusalBody {
    pub refused: String,
    pub detail: String,
}

impl From<&Refusal> for RefusalBody {
    fn from(r: &Refusal) -> Self {
        RefusalBody {
            refused: r.reason().to_string(),
            detail: r.to_string(),
        }
    }
}
