#![doc = include_str!("../README.md")]

mod actions;
mod scenario;

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result as AnyResult};
use cosmwasm_std::{coin, Addr, Binary, Coin, Empty, Event, Timestamp};
use cw_multi_test::{App, AppBuilder, AppResponse, Contract, ContractWrapper, Executor};
use datapact_types::consent::{key_subject_id, ConsentSignDoc};
use datapact_types::events::{contract as cname, key, lookup};
use datapact_types::Severity;
use k256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
use serde::Serialize;

pub use datapact_agreements::msg as agreements_msg;
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
