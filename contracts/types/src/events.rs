//! The event vocabulary of every datapact contract, written once.
//!
//! Every response carries, in the contract's `wasm` event, `action` (the snake_case name of
//! the message), then `sender`, then the primary id, then the attributes listed in
//! [`CATALOGUE`]. The indexer imports these constants; `docs/events.md` is rendered from the
//! catalogue, and the contracts' tests fail when a response emits anything not listed here.

use cosmwasm_std::{Addr, Response};

/// The contract names used in the catalogue (and, prefixed, in cw2).
pub mod contract {
    pub const REGISTRY: &str = "registry";
    pub const CONSENT: &str = "consent";
    pub const AGREEMENTS: &str = "agreements";
    pub const AUDIT: &str = "audit";
}

/// Values of the `action` attribute.
pub mod action {
    pub const INSTANTIATE: &str = "instantiate";
    pub const MIGRATE: &str = "migrate";
    // registry
    pub const REGISTER_ASSET: &str = "register_asset";
    pub const PUBLISH_VERSION: &str = "publish_version";
    pub const ATTEST: &str = "attest";
    pub const REVOKE_ATTESTATION: &str = "revoke_attestation";
    pub const ADD_STEWARD: &str = "add_steward";
    pub const REMOVE_STEWARD: &str = "remove_steward";
    pub const TRANSFER_OWNERSHIP: &str = "transfer_ownership";
    pub const ACCEPT_OWNERSHIP: &str = "accept_ownership";
    pub const CANCEL_OWNERSHIP_TRANSFER: &str = "cancel_ownership_transfer";
    pub const TOMBSTONE: &str = "tombstone";
    // consent
    pub const GRANT: &str = "grant";
    pub const GRANT_SIGNED: &str = "grant_signed";
    pub const WITHDRAW: &str = "withdraw";
    pub const WITHDRAW_SIGNED: &str = "withdraw_signed";
    pub const BIND_PSEUDONYM: &str = "bind_pseudonym";
    // agreements
    pub const UPDATE_CONFIG: &str = "update_config";
    pub const CREATE_OFFER: &str = "create_offer";
    pub const WITHDRAW_OFFER: &str = "withdraw_offer";
    pub const SIGN: &str = "sign";
    pub const DEPOSIT_KEY: &str = "deposit_key";
    pub const RECORD_ACCESS: &str = "record_access";
    pub const SUSPEND: &str = "suspend";
    pub const RESUME: &str = "resume";
    pub const TERMINATE: &str = "terminate";
    pub const CLAIM: &str = "claim";
    pub const SUSPEND_CONSUMER: &str = "suspend_consumer";
    pub const LIFT_SUSPENSION: &str = "lift_suspension";
    // audit
    pub const UPDATE_ROLES: &str = "update_roles";
    pub const UPDATE_POLICY: &str = "update_policy";
    pub const REPORT_ALERT: &str = "report_alert";
    pub const ACKNOWLEDGE: &str = "acknowledge";
    pub const RESOLVE: &str = "resolve";
}

/// Attribute keys.
pub mod key {
    pub const ACTION: &str = "action";
    pub const SENDER: &str = "sender";
    pub const CONTRACT_NAME: &str = "contract_name";
    pub const CONTRACT_VERSION: &str = "contract_version";
    pub const FROM_VERSION: &str = "from_version";
    pub const ASSET_ID: &str = "asset_id";
    pub const VERSION: &str = "version";
    pub const OWNER: &str = "owner";
    pub const NEW_OWNER: &str = "new_owner";
    pub const PREVIOUS_OWNER: &str = "previous_owner";
    pub const STEWARD: &str = "steward";
    pub const SENSITIVITY: &str = "sensitivity";
    pub const CONTENT_HASH: &str = "content_hash";
    pub const SCHEMA_HASH: &str = "schema_hash";
    pub const PARENTS: &str = "parents";
    pub const ATTESTOR: &str = "attestor";
    pub const CLAIM: &str = "claim";
    pub const EVIDENCE_HASH: &str = "evidence_hash";
    pub const CONSENT_ID: &str = "consent_id";
    pub const SUBJECT: &str = "subject";
    pub const CONTROLLER: &str = "controller";
    pub const SCOPE: &str = "scope";
    pub const PURPOSES: &str = "purposes";
    pub const PURPOSE: &str = "purpose";
    pub const LEGAL_BASIS: &str = "legal_basis";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const METHOD: &str = "method";
    pub const NONCE: &str = "nonce";
    pub const WALLET: &str = "wallet";
    pub const OFFER_ID: &str = "offer_id";
    pub const AGREEMENT_ID: &str = "agreement_id";
    pub const PROVIDER: &str = "provider";
    pub const CONSUMER: &str = "consumer";
    pub const PRICE: &str = "price";
    pub const ACCESS_CAP: &str = "access_cap";
    pub const DELIVERY_SHARE_BPS: &str = "delivery_share_bps";
    pub const CONSENT_REQUIRED: &str = "consent_required";
    pub const ACCESS_COUNT: &str = "access_count";
    pub const PAID_TO_PROVIDER: &str = "paid_to_provider";
    pub const REFUNDED_TO_CONSUMER: &str = "refunded_to_consumer";
    pub const AMOUNT: &str = "amount";
    pub const ALERT_SEQ: &str = "alert_seq";
    pub const ENTRY_SEQ: &str = "entry_seq";
    pub const ENTRY_HASH: &str = "entry_hash";
    pub const KIND: &str = "kind";
    pub const SEVERITY: &str = "severity";
    pub const SCORE: &str = "score";
    pub const MODEL_VERSION: &str = "model_version";
    pub const SUSPENDED: &str = "suspended";
    pub const SUSPEND_THRESHOLD: &str = "suspend_threshold";
}

/// The start of every response: `action` then `sender`.
pub fn response(action: &str, sender: &Addr) -> Response {
    Response::new()
        .add_attribute(key::ACTION, action)
        .add_attribute(key::SENDER, sender.as_str())
}

/// The response of every contract's `instantiate`, after it stored its cw2 version.
pub fn instantiate_response(sender: &Addr, name: &str, version: &str) -> Response {
    response(action::INSTANTIATE, sender)
        .add_attribute(key::CONTRACT_NAME, name)
        .add_attribute(key::CONTRACT_VERSION, version)
}

/// One kind of event: which contract emits it, for which message, with which attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    pub contract: &'static str,
    pub action: &'static str,
    /// Emitted every time, in this order, after `action` and `sender`.
    pub required: &'static [&'static str],
    /// Emitted when the message carried the field.
    pub optional: &'static [&'static str],
    pub description: &'static str,
}

impl EventSpec {
    /// Whether `key` may appear on this event (`action` and `sender` always may).
    pub fn allows(&self, key: &str) -> bool {
        key == key::ACTION
            || key == key::SENDER
            || self.required.contains(&key)
            || self.optional.contains(&key)
    }
}

use self::action as a;
use self::contract as c;
use self::key as k;

const LIFECYCLE_INSTANTIATE: &[&str] = &[k::CONTRACT_NAME, k::CONTRACT_VERSION];
const LIFECYCLE_MIGRATE: &[&str] = &[k::CONTRACT_NAME, k::FROM_VERSION, k::CONTRACT_VERSION];

macro_rules! lifecycle {
    ($contract:expr) => {
        [
            EventSpec {
                contract: $contract,
                action: a::INSTANTIATE,
                required: LIFECYCLE_INSTANTIATE,
                optional: &[],
                description: "The contract was instantiated.",
            },
            EventSpec {
                contract: $contract,
                action: a::MIGRATE,
                required: LIFECYCLE_MIGRATE,
                optional: &[],
                description: "The contract was migrated to new code.",
            },
        ]
    };
}

const fn spec(
    contract: &'static str,
    action: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    description: &'static str,
) -> EventSpec {
    EventSpec {
        contract,
        action,
        required,
        optional,
        description,
    }
}

const REGISTRY_LIFECYCLE: [EventSpec; 2] = lifecycle!(c::REGISTRY);
const CONSENT_LIFECYCLE: [EventSpec; 2] = lifecycle!(c::CONSENT);
const AGREEMENTS_LIFECYCLE: [EventSpec; 2] = lifecycle!(c::AGREEMENTS);
const AUDIT_LIFECYCLE: [EventSpec; 2] = lifecycle!(c::AUDIT);

/// Every event every datapact contract emits.
pub const CATALOGUE: &[EventSpec] = &[
    REGISTRY_LIFECYCLE[0],
    REGISTRY_LIFECYCLE[1],
    spec(c::REGISTRY, a::REGISTER_ASSET, &[k::ASSET_ID, k::OWNER, k::SENSITIVITY], &[],
        "An asset was registered; the sender owns it."),
    spec(c::REGISTRY, a::PUBLISH_VERSION, &[k::ASSET_ID, k::VERSION, k::CONTENT_HASH, k::PARENTS], &[k::SCHEMA_HASH],
        "An immutable version was published. `parents` lists `asset@version` refs, comma-separated (empty for a root)."),
    spec(c::REGISTRY, a::ATTEST, &[k::ASSET_ID, k::VERSION, k::ATTESTOR, k::CLAIM, k::EVIDENCE_HASH], &[],
        "An attestor attested a claim about a version."),
    spec(c::REGISTRY, a::REVOKE_ATTESTATION, &[k::ASSET_ID, k::VERSION, k::ATTESTOR, k::CLAIM], &[],
        "An attestor revoked its attestation."),
    spec(c::REGISTRY, a::ADD_STEWARD, &[k::ASSET_ID, k::STEWARD], &[], "The owner added a steward."),
    spec(c::REGISTRY, a::REMOVE_STEWARD, &[k::ASSET_ID, k::STEWARD], &[], "The owner removed a steward."),
    spec(c::REGISTRY, a::TRANSFER_OWNERSHIP, &[k::ASSET_ID, k::NEW_OWNER], &[],
        "The owner proposed a new owner (step one of two)."),
    spec(c::REGISTRY, a::ACCEPT_OWNERSHIP, &[k::ASSET_ID, k::PREVIOUS_OWNER, k::OWNER], &[],
        "The proposed owner accepted (step two of two)."),
    spec(c::REGISTRY, a::CANCEL_OWNERSHIP_TRANSFER, &[k::ASSET_ID], &[], "The owner withdrew a pending transfer."),
    spec(c::REGISTRY, a::TOMBSTONE, &[k::ASSET_ID], &[],
        "The owner erased the asset: off-chain data is gone, the chain keeps hashes only."),
    CONSENT_LIFECYCLE[0],
    CONSENT_LIFECYCLE[1],
    spec(c::CONSENT, a::GRANT, &[k::CONSENT_ID, k::SUBJECT, k::CONTROLLER, k::SCOPE, k::PURPOSES, k::LEGAL_BASIS, k::METHOD], &[k::EXPIRES_AT],
        "A subject gave consent from its wallet (subject = the sender or its pseudonym)."),
    spec(c::CONSENT, a::GRANT_SIGNED, &[k::CONSENT_ID, k::SUBJECT, k::CONTROLLER, k::SCOPE, k::PURPOSES, k::LEGAL_BASIS, k::METHOD, k::NONCE], &[k::EXPIRES_AT],
        "A relayer submitted consent signed off chain by a subject's key."),
    spec(c::CONSENT, a::WITHDRAW, &[k::CONSENT_ID, k::SUBJECT, k::CONTROLLER], &[],
        "A subject withdrew consent from its wallet."),
    spec(c::CONSENT, a::WITHDRAW_SIGNED, &[k::CONSENT_ID, k::SUBJECT, k::CONTROLLER, k::NONCE], &[],
        "A relayer submitted a withdrawal signed off chain by the subject's key."),
    spec(c::CONSENT, a::BIND_PSEUDONYM, &[k::SUBJECT, k::WALLET, k::NONCE], &[],
        "A pseudonym's key named the wallet that may act for it (replacing any earlier binding)."),
    AGREEMENTS_LIFECYCLE[0],
    AGREEMENTS_LIFECYCLE[1],
    spec(c::AGREEMENTS, a::UPDATE_CONFIG, &[], &[], "The admin rewired the contract's peers."),
    spec(c::AGREEMENTS, a::CREATE_OFFER, &[k::OFFER_ID, k::ASSET_ID, k::PROVIDER, k::PRICE, k::CONSENT_REQUIRED, k::PURPOSES], &[k::ACCESS_CAP, k::DELIVERY_SHARE_BPS],
        "An owner or steward offered an asset under terms (`delivery_share_bps`: since 0.2.0)."),
    spec(c::AGREEMENTS, a::WITHDRAW_OFFER, &[k::OFFER_ID], &[], "The provider withdrew an offer."),
    spec(c::AGREEMENTS, a::SIGN, &[k::AGREEMENT_ID, k::OFFER_ID, k::ASSET_ID, k::PROVIDER, k::CONSUMER, k::PURPOSE, k::PRICE, k::EXPIRES_AT], &[],
        "A consumer signed an offer, paying the price into escrow."),
    spec(c::AGREEMENTS, a::DEPOSIT_KEY, &[k::AGREEMENT_ID, k::CONSUMER], &[],
        "The provider deposited the data key wrapped to the consumer's public key; payment starts vesting."),
    spec(c::AGREEMENTS, a::RECORD_ACCESS, &[k::AGREEMENT_ID, k::ASSET_ID, k::CONSUMER, k::PURPOSE, k::ACCESS_COUNT], &[k::SUBJECT],
        "An access was checked against the terms and recorded."),
    spec(c::AGREEMENTS, a::SUSPEND, &[k::AGREEMENT_ID], &[], "The provider suspended an agreement."),
    spec(c::AGREEMENTS, a::RESUME, &[k::AGREEMENT_ID], &[], "The provider resumed an agreement."),
    spec(c::AGREEMENTS, a::TERMINATE, &[k::AGREEMENT_ID, k::PAID_TO_PROVIDER, k::REFUNDED_TO_CONSUMER], &[],
        "A party terminated the agreement; escrow settled (vested part to the provider, the rest back to the consumer)."),
    spec(c::AGREEMENTS, a::CLAIM, &[k::AGREEMENT_ID, k::AMOUNT], &[], "The provider claimed the vested part of the escrow."),
    spec(c::AGREEMENTS, a::SUSPEND_CONSUMER, &[k::CONSUMER, k::ALERT_SEQ], &[],
        "The audit contract suspended every agreement of a consumer."),
    spec(c::AGREEMENTS, a::LIFT_SUSPENSION, &[k::CONSUMER, k::ALERT_SEQ], &[],
        "The audit contract lifted a consumer's suspension."),
    AUDIT_LIFECYCLE[0],
    AUDIT_LIFECYCLE[1],
    spec(c::AUDIT, a::UPDATE_ROLES, &[k::ENTRY_SEQ, k::ENTRY_HASH], &[], "The admin changed sentinels or responders."),
    spec(c::AUDIT, a::UPDATE_POLICY, &[k::ENTRY_SEQ, k::ENTRY_HASH, k::SUSPEND_THRESHOLD], &[],
        "The admin changed the severity at which alerts suspend."),
    spec(c::AUDIT, a::REPORT_ALERT, &[k::ENTRY_SEQ, k::ENTRY_HASH, k::KIND, k::SEVERITY, k::SUBJECT, k::SCORE, k::MODEL_VERSION, k::EVIDENCE_HASH, k::SUSPENDED], &[k::ASSET_ID],
        "A sentinel reported an alert; `suspended` says whether it triggered a suspension."),
    spec(c::AUDIT, a::ACKNOWLEDGE, &[k::ENTRY_SEQ, k::ENTRY_HASH, k::ALERT_SEQ], &[], "A responder acknowledged an alert."),
    spec(c::AUDIT, a::RESOLVE, &[k::ENTRY_SEQ, k::ENTRY_HASH, k::ALERT_SEQ], &[], "A responder resolved an alert."),
    spec(c::AUDIT, a::LIFT_SUSPENSION, &[k::ENTRY_SEQ, k::ENTRY_HASH, k::ALERT_SEQ, k::SUBJECT], &[],
        "A responder lifted the suspension an alert caused."),
];

/// The catalogue entry for `action` emitted by `contract`.
pub fn lookup(contract: &str, action: &str) -> Option<&'static EventSpec> {
    CATALOGUE
        .iter()
        .find(|s| s.contract == contract && s.action == action)
}

/// Renders the catalogue as the Markdown of `docs/events.md`.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# datapact events\n\n\
         Generated from `contracts/types/src/events.rs` by `make docs`; a test fails when this \
         file and the catalogue differ.\n\n\
         Every message's response carries these attributes in the contract's `wasm` event \
         (after wasmd's `_contract_address`): `action`, then `sender`, then the ones below, \
         in this order. Optional attributes appear when the message carried the field.\n",
    );
    for contract in [c::REGISTRY, c::CONSENT, c::AGREEMENTS, c::AUDIT] {
        out.push_str(&format!(
            "\n## {contract}\n\n| action | attributes | optional | meaning |\n|---|---|---|---|\n"
        ));
        for s in CATALOGUE.iter().filter(|s| s.contract == contract) {
            let list = |keys: &[&str]| {
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                s.action,
                list(s.required),
                list(s.optional),
                s.description
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_no_duplicate_actions_per_contract() {
        for (i, s) in CATALOGUE.iter().enumerate() {
            assert!(
                !CATALOGUE[..i]
                    .iter()
                    .any(|o| o.contract == s.contract && o.action == s.action),
                "{}/{} listed twice",
                s.contract,
                s.action
            );
        }
    }

    #[test]
    fn docs_events_md_matches_the_catalogue() {
        // cargo sets CARGO_MANIFEST_DIR for the test process too: this checkout's docs, even
        // when the binary was compiled in another checkout sharing the target dir
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
        let path = std::path::Path::new(&dir).join("../../docs/events.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == render_markdown(),
            "docs/events.md is stale: run `make docs`"
        );
    }
}
