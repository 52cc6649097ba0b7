#![doc = include_str!("../README.md")]

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result as AnyResult};
use cosmwasm_std::{coin, Addr, Binary, Coin, Decimal, Empty, Event, Timestamp};
use cw_multi_test::{App, AppBuilder, AppResponse, Contract, ContractWrapper, Executor};
use datapact_types::agreements::CanAccessResponse;
use datapact_types::consent::{
    key_subject_id, AssetScope, ConsentSignDoc, ConsentStatusResponse, ConsentTerms, LegalBasis,
    SignedAction,
};
use datapact_types::events::{contract as cname, key, lookup};
use datapact_types::{
    AgreementId, AssetId, ConsentId, EntrySeq, Sensitivity, Severity, VersionRef,
};
use k256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
use serde::Serialize;

pub use datapact_agreements::msg as agreements_msg;
use datapact_agreements::state::OfferTerms;
pub use datapact_audit::msg as audit_msg;
pub use datapact_consent::msg as consent_msg;
pub use datapact_registry::msg as registry_msg;

/// The denom prices are paid in.
pub const DENOM: &str = "udpt";
/// What every named account starts with.
pub const START_BALANCE: u128 = 1_000_000_000;

pub fn registry_contract() -> Box<dyn Contract<Empty>> {
    use datapact_registry::contract as c;
    Box::new(ContractWrapper::new(c::execute, c::instantiate, c::query).with_migrate(c::migrate))
}

pub fn consent_contract() -> Box<dyn Contract<Empty>> {
    use datapact_consent::contract as c;
    Box::new(ContractWrapper::new(c::execute, c::instantiate, c::query).with_migrate(c::migrate))
}

pub fn agreements_contract() -> Box<dyn Contract<Empty>> {
    use datapact_agreements::contract as c;
    Box::new(ContractWrapper::new(c::execute, c::instantiate, c::query).with_migrate(c::migrate))
}

pub fn audit_contract() -> Box<dyn Contract<Empty>> {
    use datapact_audit::contract as c;
    Box::new(ContractWrapper::new(c::execute, c::instantiate, c::query).with_migrate(c::migrate))
}

/// Code ids of the four contracts.
#[derive(Debug, Clone, Copy)]
pub struct CodeIds {
    pub registry: u64,
    pub consent: u64,
    pub agreements: u64,
    pub audit: u64,
}

/// Which of the four contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Which {
    Registry,
    Consent,
    Agreements,
    Audit,
}

/// The four contracts on one multi-test chain, with named accounts.
pub struct Suite {
    pub app: App,
    pub code_ids: CodeIds,
    pub registry: Addr,
    pub consent: Addr,
    pub agreements: Addr,
    pub audit: Addr,
    pub admin: Addr,
    pub sentinel: Addr,
    pub responder: Addr,
    /// Every (contract, action) emitted so far, for catalogue coverage.
    pub seen_events: BTreeSet<(&'static str, String)>,
}

/// Names of the accounts funded at genesis (besides admin, sentinel and responder).
pub const ACCOUNTS: &[&str] = &[
    "provider1",
    "provider2",
    "steward1",
    "consumer1",
    "consumer2",
    "consumer3",
    "subject1",
    "subject2",
    "attestor1",
    "attestor2",
    "stranger",
    "relayer",
];

impl Default for Suite {
    fn default() -> Self {
        Self::new()
    }
}

impl Suite {
    /// Instantiates registry, consent, agreements and audit, wired to each other, with the
    /// policy suspending at `High`.
    pub fn new() -> Self {
        Self::with_threshold(Severity::High)
    }

    pub fn with_threshold(threshold: Severity) -> Self {
        let mut app = AppBuilder::new().build(|router, api, storage| {
            for name in ACCOUNTS.iter().chain(&["admin", "sentinel", "responder"]) {
                router
                    .bank
                    .init_balance(
                        storage,
                        &api.addr_make(name),
                        vec![coin(START_BALANCE, DENOM)],
                    )
                    .expect("genesis balance");
            }
        });
        let admin = app.api().addr_make("admin");
        let sentinel = app.api().addr_make("sentinel");
        let responder = app.api().addr_make("responder");
        let code_ids = CodeIds {
            registry: app.store_code(registry_contract()),
            consent: app.store_code(consent_contract()),
            agreements: app.store_code(agreements_contract()),
            audit: app.store_code(audit_contract()),
        };
        let adm = Some(admin.to_string());
        let registry = app
            .instantiate_contract(
                code_ids.registry,
                admin.clone(),
                &registry_msg::InstantiateMsg {},
                &[],
                "registry",
                adm.clone(),
            )
            .expect("instantiate registry");
        let consent = app
            .instantiate_contract(
                code_ids.consent,
                admin.clone(),
                &consent_msg::InstantiateMsg {},
                &[],
                "consent",
                adm.clone(),
            )
            .expect("instantiate consent");
        let agreements = app
            .instantiate_contract(
                code_ids.agreements,
                admin.clone(),
                &agreements_msg::InstantiateMsg {
                    registry: registry.to_string(),
                    consent: consent.to_string(),
                    audit: None,
                    admin: None,
                },
                &[],
                "agreements",
                adm.clone(),
            )
            .expect("instantiate agreements");
        let audit = app
            .instantiate_contract(
                code_ids.audit,
                admin.clone(),
                &audit_msg::InstantiateMsg {
                    admin: None,
                    agreements: agreements.to_string(),
                    sentinels: vec![sentinel.to_string()],
                    responders: vec![responder.to_string()],
                    suspend_threshold: threshold,
                },
                &[],
                "audit",
                adm,
            )
            .expect("instantiate audit");
        let mut suite = Suite {
            app,
            code_ids,
            registry,
            consent,
            agreements,
            audit,
            admin,
            sentinel,
            responder,
            seen_events: BTreeSet::new(),
        };
        let admin = suite.admin.clone();
        let audit = suite.audit.to_string();
        suite
            .exec(
                &admin,
                Which::Agreements,
                &agreements_msg::ExecuteMsg::UpdateConfig {
                    audit: Some(audit),
                    admin: None,
                },
                &[],
            )
            .expect("wire audit into agreements");
        suite
    }

    /// The address of a named account.
    pub fn addr(&self, name: &str) -> Addr {
        self.app.api().addr_make(name)
    }

    pub fn contract(&self, which: Which) -> &Addr {
        match which {
            Which::Registry => &self.registry,
            Which::Consent => &self.consent,
            Which::Agreements => &self.agreements,
            Which::Audit => &self.audit,
        }
    }

    fn name_of(&self, addr: &str) -> Option<&'static str> {
        [
            (Which::Registry, cname::REGISTRY),
            (Which::Consent, cname::CONSENT),
            (Which::Agreements, cname::AGREEMENTS),
            (Which::Audit, cname::AUDIT),
        ]
        .into_iter()
        .find(|(w, _)| self.contract(*w).as_str() == addr)
        .map(|(_, n)| n)
    }

    /// Executes `msg` on `which`, then checks every wasm event it caused against the catalogue.
    pub fn exec<T: Serialize + std::fmt::Debug>(
        &mut self,
        sender: &Addr,
        which: Which,
        msg: &T,
        funds: &[Coin],
    ) -> AnyResult<AppResponse> {
        let contract = self.contract(which).clone();
        let res = self
            .app
            .execute_contract(sender.clone(), contract, msg, funds)
            .map_err(|e| anyhow!("{e}"))?;
        for (name, action) in self.check_events(&res.events)? {
            self.seen_events.insert((name, action));
        }
        Ok(res)
    }

    /// Checks wasm events against the catalogue; returns the (contract, action) pairs seen.
    pub fn check_events(&self, events: &[Event]) -> AnyResult<Vec<(&'static str, String)>> {
        let mut seen = vec![];
        for e in events.iter().filter(|e| e.ty == "wasm") {
            let get = |k: &str| {
                e.attributes
                    .iter()
                    .find(|a| a.key == k)
                    .map(|a| a.value.clone())
            };
            let addr = get("_contract_address")
                .ok_or_else(|| anyhow!("wasm event without _contract_address"))?;
            let name = self
                .name_of(&addr)
                .ok_or_else(|| anyhow!("event from unknown contract {addr}"))?;
            let action = get(key::ACTION)
                .ok_or_else(|| anyhow!("{name} emitted a wasm event without action"))?;
            let spec = lookup(name, &action).ok_or_else(|| {
                anyhow!("{name} emitted action {action:?}, which the event catalogue does not list")
            })?;
            let keys: Vec<&str> = e
                .attributes
                .iter()
                .map(|a| a.key.as_str())
                .filter(|k| *k != "_contract_address")
                .collect();
            if keys.first() != Some(&key::ACTION)
                || keys.get(1) != Some(&key::SENDER) && action != "migrate"
            {
                bail!("{name}/{action}: attributes must start with action, sender: {keys:?}");
            }
            for k in &keys {
                if !spec.allows(k) {
                    bail!("{name}/{action} emitted attribute {k:?}, which the event catalogue does not list");
                }
            }
            for r in spec.required {
                if !keys.contains(r) {
                    bail!("{name}/{action} did not emit required attribute {r:?}");
                }
            }
            seen.push((name, action));
        }
        Ok(seen)
    }

    pub fn query<T: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        which: Which,
        msg: &T,
    ) -> AnyResult<R> {
        self.app
            .wrap()
            .query_wasm_smart(self.contract(which), msg)
            .map_err(|e| anyhow!("{e}"))
    }

    /// Moves the chain `blocks` blocks and `seconds` seconds forward.
    pub fn advance(&mut self, blocks: u64, seconds: u64) {
        self.app.update_block(|b| {
            b.height += blocks;
            b.time = b.time.plus_seconds(seconds);
        });
    }

    pub fn now(&self) -> Timestamp {
        self.app.block_info().time
    }

    pub fn balance(&self, addr: &Addr) -> u128 {
        self.app
            .wrap()
            .query_balance(addr, DENOM)
            .map(|c| c.amount.to_string().parse().unwrap_or_default())
            .unwrap_or_default()
    }

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

    /// Terms: purpose `research` permitted, `marketing` prohibited, 100 days, `price` udpt.
    pub fn offer_terms(price: u128, cap: Option<u64>, consent_required: bool) -> OfferTerms {
        OfferTerms {
            permitted_purposes: vec!["research".into(), "analytics".into()],
            prohibited_purposes: vec!["marketing".into()],
            duration_seconds: 100 * 86_400,
            access_cap: cap,
            price: coin(price, DENOM),
            consent_required,
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

/// The value of attribute `k` in the response's wasm events, as a number.
pub fn attr_u64(res: &AppResponse, k: &str) -> AnyResult<u64> {
    res.events
        .iter()
        .filter(|e| e.ty == "wasm")
        .flat_map(|e| &e.attributes)
        .find(|a| a.key == k)
        .ok_or_else(|| anyhow!("no {k} attribute"))?
        .value
        .parse()
        .map_err(|e| anyhow!("{k}: {e}"))
}

/// A lowercase hex SHA-256 of `s`, for content and evidence hashes.
pub fn hash_of(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Signs a consent sign doc: (compressed public key, 64-byte signature over its digest).
pub fn sign(key: &SigningKey, doc: &ConsentSignDoc) -> (Binary, Binary) {
    let digest = doc.digest().expect("sign doc serializes");
    let sig: Signature = key.sign_prehash(&digest).expect("sign");
    let sig = sig.normalize_s().unwrap_or(sig);
    let pk = key.verifying_key().to_encoded_point(true);
    (
        Binary::from(pk.as_bytes().to_vec()),
        Binary::from(sig.to_bytes().to_vec()),
    )
}

/// The `key:` subject id of a signing key.
pub fn key_subject(key: &SigningKey) -> String {
    key_subject_id(key.verifying_key().to_encoded_point(true).as_bytes())
}

/// Asserts that `res` failed with exactly `expected`'s message (cw-multi-test hands contract
/// errors back as strings, so the Display text is what can be compared).
#[track_caller]
pub fn assert_fails_with<T: std::fmt::Debug>(res: AnyResult<T>, expected: impl std::fmt::Display) {
    let expected = expected.to_string();
    match res {
        Ok(v) => panic!("expected failure {expected:?}, got success {v:?}"),
        Err(e) => {
            let got = format!("{e:#}");
            assert!(
                got.contains(&expected),
                "expected error {expected:?}, got {got:?}"
            );
        }
    }
}
