//! One happy-path scenario that sends every message of every contract (the event-catalogue
//! and permission tests run it).

use anyhow::Result as AnyResult;
use cosmwasm_std::coin;
use datapact_types::consent::SignedAction;
use datapact_types::events::key;
use datapact_types::{Sensitivity, Severity, VersionRef};
use k256::ecdsa::SigningKey;

use datapact_agreements::msg as agreements_msg;
use datapact_audit::msg as audit_msg;
use datapact_consent::msg as consent_msg;
use datapact_registry::msg as registry_msg;

use crate::*;

impl Suite {
    /// A full, happy-path scenario touching every message of every contract.
    pub fn scenario_touching_everything(&mut self) -> AnyResult<()> {
        let p = self.addr("provider1");
        let s1 = self.addr("steward1");
        let c1 = self.addr("consumer1");
        let subj = self.addr("subject1");
        let att = self.addr("attestor1");
        let p2 = self.addr("provider2");
        let a = self.register_asset(&p, Sensitivity::Personal)?;
        let v1 = self.publish(&p, a, vec![])?;
        let b = self.register_asset(&p, Sensitivity::Internal)?;
        self.publish(
            &p,
            b,
            vec![VersionRef {
                asset_id: a,
                version: v1,
            }],
        )?;
        let evidence = hash_of("audit report");
        use registry_msg::ExecuteMsg as R;
        self.exec(
            &att,
            Which::Registry,
            &R::Attest {
                asset_id: a,
                version: v1,
                claim: "quality_checked".into(),
                evidence_hash: evidence,
            },
            &[],
        )?;
        self.exec(
            &att,
            Which::Registry,
            &R::RevokeAttestation {
                asset_id: a,
                version: v1,
                claim: "quality_checked".into(),
            },
            &[],
        )?;
        self.exec(
            &p,
            Which::Registry,
            &R::AddSteward {
                asset_id: a,
                steward: s1.to_string(),
            },
            &[],
        )?;
        self.exec(
            &p,
            Which::Registry,
            &R::RemoveSteward {
                asset_id: a,
                steward: s1.to_string(),
            },
            &[],
        )?;
        self.exec(
            &p,
            Which::Registry,
            &R::TransferOwnership {
                asset_id: b,
                new_owner: p2.to_string(),
            },
            &[],
        )?;
        self.exec(
            &p,
            Which::Registry,
            &R::CancelOwnershipTransfer { asset_id: b },
            &[],
        )?;
        self.exec(
            &p,
            Which::Registry,
            &R::TransferOwnership {
                asset_id: b,
                new_owner: p2.to_string(),
            },
            &[],
        )?;
        self.exec(
            &p2,
            Which::Registry,
            &R::AcceptOwnership { asset_id: b },
            &[],
        )?;
        self.exec(&p2, Which::Registry, &R::Tombstone { asset_id: b }, &[])?;

        let cid = self.grant(&subj, Self::terms(&p, a, "research"))?;
        self.withdraw(&subj, cid)?;
        let key = SigningKey::from_slice(&[5u8; 32])?;
        let (pk, sig) = self.sign_doc(
            &key,
            0,
            SignedAction::Grant {
                terms: Self::terms(&p, a, "research"),
            },
        );
        let relayer = self.addr("relayer");
        let res = self.exec(
            &relayer,
            Which::Consent,
            &consent_msg::ExecuteMsg::GrantSigned {
                terms: Self::terms(&p, a, "research"),
                nonce: 0,
                public_key: pk.clone(),
                signature: sig,
            },
            &[],
        )?;
        let signed_id = attr_u64(&res, key::CONSENT_ID)?;
        let (_, sig) = self.sign_doc(
            &key,
            1,
            SignedAction::Withdraw {
                consent_id: signed_id,
            },
        );
        self.exec(
            &relayer,
            Which::Consent,
            &consent_msg::ExecuteMsg::WithdrawSigned {
                consent_id: signed_id,
                nonce: 1,
                public_key: pk,
                signature: sig,
            },
            &[],
        )?;

        // a pseudonym's key binds the subject's wallet, which then grants in its name
        let psn_key = SigningKey::from_slice(&[6u8; 32])?;
        let (pk, sig) = self.sign_doc(
            &psn_key,
            0,
            SignedAction::BindWallet {
                wallet: subj.to_string(),
            },
        );
        self.exec(
            &subj,
            Which::Consent,
            &consent_msg::ExecuteMsg::BindPseudonym {
                nonce: 0,
                public_key: pk.clone(),
                signature: sig,
            },
            &[],
        )?;
        self.exec(
            &subj,
            Which::Consent,
            &consent_msg::ExecuteMsg::Grant {
                subject: Some(datapact_types::consent::pseudonym_id(&pk)),
                terms: Self::terms(&p, a, "research"),
            },
            &[],
        )?;

        use agreements_msg::ExecuteMsg as A;
        let o = self.create_offer(&p, a, Self::offer_terms(1000, Some(10), false))?;
        let o2 = self.create_offer(&p, a, Self::offer_terms(0, None, false))?;
        self.exec(
            &p,
            Which::Agreements,
            &A::WithdrawOffer { offer_id: o2 },
            &[],
        )?;
        let ag = self.sign(&c1, o, "research", &[coin(1000, DENOM)])?;
        self.deposit_key(&p, ag)?;
        self.record_access(&c1, ag, "research", None)?;
        self.exec(&p, Which::Agreements, &A::Suspend { agreement_id: ag }, &[])?;
        self.exec(&p, Which::Agreements, &A::Resume { agreement_id: ag }, &[])?;
        self.advance(10, 86_400);
        self.exec(&p, Which::Agreements, &A::Claim { agreement_id: ag }, &[])?;
        self.exec(
            &c1,
            Which::Agreements,
            &A::Terminate { agreement_id: ag },
            &[],
        )?;

        let admin = self.admin.clone();
        use audit_msg::ExecuteMsg as U;
        self.exec(
            &admin,
            Which::Audit,
            &U::UpdateRoles {
                add_sentinels: vec![],
                remove_sentinels: vec![],
                add_responders: vec![admin.to_string()],
                remove_responders: vec![],
            },
            &[],
        )?;
        self.exec(
            &admin,
            Which::Audit,
            &U::UpdatePolicy {
                suspend_threshold: Severity::High,
            },
            &[],
        )?;
        let sentinel = self.sentinel.clone();
        let responder = self.responder.clone();
        let alert = self.report_alert(&sentinel, &c1, Severity::Critical)?;
        self.exec(
            &responder,
            Which::Audit,
            &U::Acknowledge { alert_seq: alert },
            &[],
        )?;
        self.exec(
            &responder,
            Which::Audit,
            &U::LiftSuspension { alert_seq: alert },
            &[],
        )?;
        self.exec(
            &responder,
            Which::Audit,
            &U::Resolve {
                alert_seq: alert,
                resolution: "false positive".into(),
            },
            &[],
        )?;
        Ok(())
    }
}
