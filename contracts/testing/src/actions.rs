//! The suite's verbs: one helper per message a test sends, named for what it does.

use anyhow::Result as AnyResult;
use cosmwasm_std::{coin, Addr, Binary, Coin, Decimal};
use cw_multi_test::AppResponse;
use datapact_types::agreements::CanAccessResponse;
use datapact_types::consent::{
    AssetScope, ConsentSignDoc, ConsentStatusResponse, ConsentTerms, LegalBasis, SignedAction,
};
use datapact_types::events::key;
use datapact_types::{
    AgreementId, AssetId, ConsentId, EntrySeq, Sensitivity, Severity, VersionRef,
};
use k256::ecdsa::SigningKey;

use datapact_agreements::msg as agreements_msg;
use datapact_agreements::state::OfferTerms;
use datapact_audit::msg as audit_msg;
use datapact_consent::msg as consent_msg;
use datapact_registry::msg as registry_msg;

use crate::*;

impl Suite {
    // ---- registry ----

    pub fn register_asset(&mut self, owner: &Addr, sensitivity: Sensitivity) -> AnyResult<AssetId> {
        let res = self.exec(
            owner,
            Which::Registry,
            &registry_msg::ExecuteMsg::RegisterAsset {
                name: "patients 2026".into(),
                description: Some("hospital admissions".into()),
                sensitivity,
                tags: vec!["health".into()],
            },
            &[],
        )?;
        attr_u64(&res, key::ASSET_ID)
    }

    pub fn publish(
        &mut self,
        sender: &Addr,
        asset_id: AssetId,
        parents: Vec<VersionRef>,
    ) -> AnyResult<u32> {
        let res = self.exec(
            sender,
            Which::Registry,
            &registry_msg::ExecuteMsg::PublishVersion {
                asset_id,
                content_hash: hash_of(&format!("{asset_id}/{parents:?}")),
                schema_hash: None,
                uri: Some(format!("s3://bucket/{asset_id}")),
                parents,
            },
            &[],
        )?;
        Ok(attr_u64(&res, key::VERSION)? as u32)
    }

    // ---- consent ----

    /// Terms for one asset of `controller` and one purpose, without expiry.
    pub fn terms(controller: &Addr, asset_id: AssetId, purpose: &str) -> ConsentTerms {
        ConsentTerms {
            controller: controller.to_string(),
            scope: AssetScope::Asset { asset_id },
            purposes: vec![purpose.to_string()],
            legal_basis: LegalBasis::Consent,
            expires_at: None,
        }
    }

    pub fn grant(&mut self, subject: &Addr, terms: ConsentTerms) -> AnyResult<ConsentId> {
        let res = self.exec(
            subject,
            Which::Consent,
            &consent_msg::ExecuteMsg::Grant {
                subject: None,
                terms,
            },
            &[],
        )?;
        attr_u64(&res, key::CONSENT_ID)
    }

    pub fn withdraw(&mut self, subject: &Addr, consent_id: ConsentId) -> AnyResult<AppResponse> {
        self.exec(
            subject,
            Which::Consent,
            &consent_msg::ExecuteMsg::Withdraw { consent_id },
            &[],
        )
    }

    /// Signs `action` with `key` for this suite's chain and consent contract.
    pub fn sign_doc(&self, key: &SigningKey, nonce: u64, action: SignedAction) -> (Binary, Binary) {
        let doc = ConsentSignDoc {
            chain_id: self.app.block_info().chain_id,
            contract: self.consent.to_string(),
            nonce,
            action,
        };
        sign(key, &doc)
    }

    pub fn consent_status(
        &self,
        subject: &str,
        controller: &Addr,
        asset_id: AssetId,
        purpose: &str,
    ) -> AnyResult<ConsentStatusResponse> {
        self.query(
            Which::Consent,
            &consent_msg::QueryMsg::ConsentStatus {
                subject: subject.to_string(),
                controller: controller.to_string(),
                asset_id,
                purpose: purpose.to_string(),
                at: None,
            },
        )
    }

    // ---- agreements ----

    /// Terms: purpose `research` permitted, `marketing` prohibited, 100 days, `price` udpt,
    /// a quarter of it vesting when the key is delivered.
    pub fn offer_terms(price: u128, cap: Option<u64>, consent_required: bool) -> OfferTerms {
        OfferTerms {
            permitted_purposes: vec!["research".into(), "analytics".into()],
            prohibited_purposes: vec!["marketing".into()],
            duration_seconds: 100 * 86_400,
            access_cap: cap,
            price: coin(price, DENOM),
            consent_required,
            delivery_share_bps: 2_500,
        }
    }

    pub fn create_offer(
        &mut self,
        provider: &Addr,
        asset_id: AssetId,
        terms: OfferTerms,
    ) -> AnyResult<u64> {
        let res = self.exec(
            provider,
            Which::Agreements,
            &agreements_msg::ExecuteMsg::CreateOffer { asset_id, terms },
            &[],
        )?;
        attr_u64(&res, key::OFFER_ID)
    }

    pub fn sign(
        &mut self,
        consumer: &Addr,
        offer_id: u64,
        purpose: &str,
        funds: &[Coin],
    ) -> AnyResult<AgreementId> {
        let res = self.exec(
            consumer,
            Which::Agreements,
            &agreements_msg::ExecuteMsg::Sign {
                offer_id,
                purpose: purpose.to_string(),
                consumer_public_key: Binary::from(vec![7u8; 32]),
            },
            funds,
        )?;
        attr_u64(&res, key::AGREEMENT_ID)
    }

    pub fn deposit_key(
        &mut self,
        provider: &Addr,
        agreement_id: AgreementId,
    ) -> AnyResult<AppResponse> {
        self.exec(
            provider,
            Which::Agreements,
            &agreements_msg::ExecuteMsg::DepositKey {
                agreement_id,
                wrapped_key: Binary::from(vec![9u8; 48]),
            },
            &[],
        )
    }

    pub fn record_access(
        &mut self,
        consumer: &Addr,
        agreement_id: AgreementId,
        purpose: &str,
        subject: Option<&str>,
    ) -> AnyResult<AppResponse> {
        self.exec(
            consumer,
            Which::Agreements,
            &agreements_msg::ExecuteMsg::RecordAccess {
                agreement_id,
                purpose: purpose.to_string(),
                subject: subject.map(str::to_string),
            },
            &[],
        )
    }

    pub fn can_access(
        &self,
        consumer: &Addr,
        asset_id: AssetId,
        purpose: &str,
        subject: Option<&str>,
    ) -> AnyResult<CanAccessResponse> {
        self.query(
            Which::Agreements,
            &agreements_msg::QueryMsg::CanAccess {
                consumer: consumer.to_string(),
                asset_id,
                purpose: purpose.to_string(),
                subject: subject.map(str::to_string),
            },
        )
    }

    pub fn can_deliver(
        &self,
        agreement_id: AgreementId,
        subject: Option<&str>,
    ) -> AnyResult<CanAccessResponse> {
        self.query(
            Which::Agreements,
            &agreements_msg::QueryMsg::CanDeliver {
                agreement_id,
                subject: subject.map(str::to_string),
            },
        )
    }

    pub fn agreement(
        &self,
        agreement_id: AgreementId,
    ) -> AnyResult<agreements_msg::AgreementResponse> {
        self.query(
            Which::Agreements,
            &agreements_msg::QueryMsg::Agreement { agreement_id },
        )
    }

    // ---- audit ----

    pub fn report_alert(
        &mut self,
        sender: &Addr,
        subject: &Addr,
        severity: Severity,
    ) -> AnyResult<EntrySeq> {
        let res = self.exec(
            sender,
            Which::Audit,
            &audit_msg::ExecuteMsg::ReportAlert {
                kind: "access_burst".into(),
                severity,
                subject: subject.to_string(),
                asset_id: Some(1),
                evidence_hash: hash_of("evidence"),
                score: Decimal::percent(93),
                model_version: "iforest-1.0.0".into(),
            },
            &[],
        )?;
        attr_u64(&res, key::ENTRY_SEQ)
    }

    pub fn verify_audit(&self) -> AnyResult<audit_msg::VerifyResponse> {
        let head: audit_msg::HeadResponse =
            self.query(Which::Audit, &audit_msg::QueryMsg::Head {})?;
        if head.seq == 0 {
            return Ok(audit_msg::VerifyResponse {
                valid: true,
                checked: 0,
                first_invalid: None,
            });
        }
        self.query(
            Which::Audit,
            &audit_msg::QueryMsg::Verify {
                from: 1,
                to: head.seq,
            },
        )
    }
}
