//! Consent records as other contracts and off-chain signers see them.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{to_json_vec, Addr, QuerierWrapper, StdResult, Timestamp};
use sha2::{Digest, Sha256};

use crate::validate::KEY_SUBJECT_PREFIX;
use crate::{AssetId, ConsentId};

/// Which assets a consent covers.
#[cw_serde]
#[derive(Eq)]
pub enum AssetScope {
    /// One asset of the controller.
    Asset { asset_id: AssetId },
    /// Every asset the controller offers.
    AllOfController {},
}

impl AssetScope {
    /// Whether the scope covers `asset_id`.
    pub fn covers(&self, asset_id: AssetId) -> bool {
        match self {
            AssetScope::Asset { asset_id: a } => *a == asset_id,
            AssetScope::AllOfController {} => true,
        }
    }

    /// Compact form used in events: `asset:<id>` or `controller`.
    pub fn to_event_value(&self) -> String {
        match self {
            AssetScope::Asset { asset_id } => format!("asset:{asset_id}"),
            AssetScope::AllOfController {} => "controller".to_string(),
        }
    }
}

/// Lawful basis of processing (GDPR art. 6 and 9), as ISO/IEC TS 27560 records it.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum LegalBasis {
    Consent,
    ExplicitConsent,
    Contract,
    LegalObligation,
    VitalInterest,
    PublicTask,
    LegitimateInterest,
}

impl LegalBasis {
    /// The snake_case name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::ExplicitConsent => "explicit_consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::VitalInterest => "vital_interest",
            LegalBasis::PublicTask => "public_task",
            LegalBasis::LegitimateInterest => "legitimate_interest",
        }
    }
}

/// What a subject agrees to: the same fields whether given by wallet or by signature.
#[cw_serde]
pub struct ConsentTerms {
    pub controller: String,
    pub scope: AssetScope,
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    pub expires_at: Option<Timestamp>,
}

/// How a consent was given or withdrawn.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum ConsentMethod {
    /// A transaction from the subject's own wallet.
    Wallet,
    /// An off-chain secp256k1 signature relayed by anyone.
    Signature,
}

/// The stored consent record (ISO/IEC TS 27560 in spirit).
#[cw_serde]
pub struct ConsentRecord {
    pub id: ConsentId,
    /// An address, `psn:<hex>` (a pseudonym bound to a wallet) or `key:<hex>` (a signing key).
    pub subject: String,
    pub controller: Addr,
    pub scope: AssetScope,
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    pub given_at: Timestamp,
    pub given_height: u64,
    pub expires_at: Option<Timestamp>,
    pub withdrawn_at: Option<Timestamp>,
    pub withdrawn_height: Option<u64>,
    pub method: ConsentMethod,
}

impl ConsentRecord {
    /// In force at `at`: given at or before it, not yet expired, not withdrawn at or before it
    /// (so a withdrawal denies from its own block on).
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.given_at <= at
            && self.expires_at.is_none_or(|e| at < e)
            && self.withdrawn_at.is_none_or(|w| at < w)
    }

    /// Whether the record covers this asset and purpose (whatever its state).
    pub fn covers(&self, asset_id: AssetId, purpose: &str) -> bool {
        self.scope.covers(asset_id) && self.purposes.iter().any(|p| p == purpose)
    }
}

/// The consent queries other contracts send; mirrored by the consent contract's `QueryMsg`.
#[cw_serde]
#[derive(QueryResponses)]
pub enum ConsentQuery {
    /// Whether `subject` consents to `controller` using `asset_id` for `purpose` at `at`
    /// (default: the current block time).
    #[returns(ConsentStatusResponse)]
    ConsentStatus {
        subject: String,
        controller: String,
        asset_id: AssetId,
        purpose: String,
        at: Option<Timestamp>,
    },
}

/// The answer, and the record that decides it: the record in force when granted, else the
/// most recent record covering the asset and purpose, if any.
#[cw_serde]
pub struct ConsentStatusResponse {
    pub granted: bool,
    pub record: Option<ConsentRecord>,
}

/// A consent contract, as another contract sees it.
#[cw_serde]
pub struct ConsentContract(pub Addr);

impl ConsentContract {
    /// Whether consent is in force now (at the current block) for this use.
    pub fn is_granted(
        &self,
        querier: &QuerierWrapper,
        subject: &str,
        controller: &Addr,
        asset_id: AssetId,
        purpose: &str,
    ) -> StdResult<bool> {
        let res: ConsentStatusResponse = querier.query_wasm_smart(
            &self.0,
            &ConsentQuery::ConsentStatus {
                subject: subject.to_string(),
                controller: controller.to_string(),
                asset_id,
                purpose: purpose.to_string(),
                at: None,
            },
        )?;
        Ok(res.granted)
    }
}

/// What an off-chain signature authorizes.
#[cw_serde]
pub enum SignedAction {
    Grant {
        terms: ConsentTerms,
    },
    Withdraw {
        consent_id: ConsentId,
    },
    /// The key's pseudonym (`psn:` + the key's hash) may be used by `wallet`.
    BindWallet {
        wallet: String,
    },
}

/// The canonical document a subject signs: bound to the chain, the contract and a nonce, so
/// a signature is good for exactly one message on exactly one deployment.
#[cw_serde]
pub struct ConsentSignDoc {
    pub chain_id: String,
    pub contract: String,
    pub nonce: u64,
    pub action: SignedAction,
}

impl ConsentSignDoc {
    /// The canonical bytes: the document's JSON with fields in declaration order.
    pub fn canonical_bytes(&self) -> StdResult<Vec<u8>> {
        to_json_vec(self)
    }

    /// SHA-256 of the canonical bytes: what the secp256k1 signature signs.
    pub fn digest(&self) -> StdResult<[u8; 32]> {
        Ok(Sha256::digest(self.canonical_bytes()?).into())
    }
}

/// The pseudonym of a signing key: `psn:` + hex(sha256(compressed public key)). A pseudonym
/// names a subject without naming the person; only the key's holder can bind it to a wallet.
pub fn pseudonym_id(public_key: &[u8]) -> String {
    format!(
        "{}{}",
        crate::validate::PSEUDONYM_PREFIX,
        hex::encode(Sha256::digest(public_key))
    )
}

/// The subject id of a signing key: `key:` + hex(sha256(compressed public key)).
pub fn key_subject_id(public_key: &[u8]) -> String {
    format!(
        "{KEY_SUBJECT_PREFIX}{}",
        hex::encode(Sha256::digest(public_key))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(given: u64, expires: Option<u64>, withdrawn: Option<u64>) -> ConsentRecord {
        ConsentRecord {
            id: 1,
            subject: "s".into(),
            controller: Addr::unchecked("c"),
            scope: AssetScope::Asset { asset_id: 3 },
            purposes: vec!["research".into()],
            legal_basis: LegalBasis::Consent,
            given_at: Timestamp::from_seconds(given),
            given_height: 1,
            expires_at: expires.map(Timestamp::from_seconds),
            withdrawn_at: withdrawn.map(Timestamp::from_seconds),
            withdrawn_height: None,
            method: ConsentMethod::Wallet,
        }
    }

    #[test]
    fn withdrawal_denies_from_its_own_block_on() {
        let r = record(10, None, Some(20));
        assert!(!r.in_force_at(Timestamp::from_seconds(9)));
        assert!(r.in_force_at(Timestamp::from_seconds(10)));
        assert!(r.in_force_at(Timestamp::from_seconds(19)));
        assert!(!r.in_force_at(Timestamp::from_seconds(20)));
    }

    #[test]
    fn expiry_is_exclusive() {
        let r = record(10, Some(30), None);
        assert!(r.in_force_at(Timestamp::from_seconds(29)));
        assert!(!r.in_force_at(Timestamp::from_seconds(30)));
    }

    #[test]
    fn scope_covers_one_asset_or_all() {
        let r = record(1, None, None);
        assert!(r.covers(3, "research"));
        assert!(!r.covers(4, "research"));
        assert!(!r.covers(3, "marketing"));
        assert!(AssetScope::AllOfController {}.covers(99));
    }

    #[test]
    fn sign_doc_bytes_are_stable_and_bound_to_chain_contract_and_nonce() {
        let doc = ConsentSignDoc {
            chain_id: "datapact-1".into(),
            contract: "wasm1contract".into(),
            nonce: 0,
            action: SignedAction::Withdraw { consent_id: 4 },
        };
        assert_eq!(
            String::from_utf8(doc.canonical_bytes().unwrap()).unwrap(),
            r#"{"chain_id":"datapact-1","contract":"wasm1contract","nonce":0,"action":{"withdraw":{"consent_id":4}}}"#
        );
        let other_nonce = ConsentSignDoc {
            nonce: 1,
            ..doc.clone()
        };
        let other_chain = ConsentSignDoc {
            chain_id: "x".into(),
            ..doc.clone()
        };
        assert_ne!(doc.digest().unwrap(), other_nonce.digest().unwrap());
        assert_ne!(doc.digest().unwrap(), other_chain.digest().unwrap());
    }

    #[test]
    fn key_subject_id_is_prefixed_digest() {
        let id = key_subject_id(&[2u8; 33]);
        assert!(id.starts_with("key:"));
        assert!(crate::validate::pseudonym("subject", &id).is_ok());
    }
}
