//! From one block and its results to rows: raw blocks, transactions and events, typed rows per
//! domain, denied attempts from failed executes, and quarantine for whatever does not decode.
//!
//! Pure: no I/O, so it is tested on fixtures captured from the real chain.

use std::collections::BTreeMap;

use base64::Engine;
use cosmrs::proto::cosmwasm::wasm::v1::MsgExecuteContract;
use cosmrs::proto::prost::Message;
use serde::{Deserialize, Serialize};

use datapact_types::events::{self, action as a, key as k};

use crate::chain::TxEvent;

/// A block as the indexer needs it, from `block` and `block_results`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RawBlock {
    pub height: u64,
    /// RFC 3339
    pub time: String,
    pub hash: String,
    pub txs: Vec<RawTx>,
    /// finalize-block events (begin/end block)
    pub block_events: Vec<TxEvent>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RawTx {
    pub hash: String,
    /// the tx bytes, base64
    pub bytes: String,
    pub code: u32,
    pub log: String,
    pub gas_wanted: i64,
    pub gas_used: i64,
    pub events: Vec<TxEvent>,
}

/// Our contracts by address.
#[derive(Clone, Debug, Default)]
pub struct Contracts {
    by_address: BTreeMap<String, &'static str>,
}

impl Contracts {
    pub fn new(registry: &str, consent: &str, agreements: &str, audit: &str) -> Self {
        let mut by_address = BTreeMap::new();
        by_address.insert(registry.to_string(), events::contract::REGISTRY);
        by_address.insert(consent.to_string(), events::contract::CONSENT);
        by_address.insert(agreements.to_string(), events::contract::AGREEMENTS);
        by_address.insert(audit.to_string(), events::contract::AUDIT);
        Self { by_address }
    }

    /// The four contracts of a deployment file.
    pub fn from_deployment(d: &crate::deploy::Deployment) -> Result<Self, super::IngestError> {
        let addr = |c: &str| {
            d.address(c).map_err(|e| {
                super::IngestError::Config(format!("{e:#}: redeploy with `datapact deploy`"))
            })
        };
        Ok(Self::new(
            addr("registry")?,
            addr("consent")?,
            addr("agreements")?,
            addr("audit")?,
        ))
    }

    pub fn name(&self, address: &str) -> Option<&'static str> {
        self.by_address.get(address).copied()
    }
}

pub type Row = Vec<Option<String>>;

/// Every row a block yields, by table, in the tables' column order (see [`TABLES`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub tables: BTreeMap<&'static str, Vec<Row>>,
}

impl Rows {
    /// Appends a row to `table` (columns in [`TABLES`] order).
    pub fn push(&mut self, table: &'static str, row: Row) {
        self.tables.entry(table).or_default().push(row);
    }

    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables
            .get(table)
            .map(|v| v.as_slice())
            .unwrap_or_default()
    }

    pub fn extend(&mut self, other: Rows) {
        for (t, rows) in other.tables {
            self.tables.entry(t).or_default().extend(rows);
        }
    }

    pub fn count(&self) -> usize {
        self.tables.values().map(Vec::len).sum()
    }
}

/// Tables and their columns, in COPY order. Every table starts with `height`.
pub const TABLES: &[(&str, &[&str])] = &[
    ("blocks", &["height", "time", "hash", "num_txs"]),
    (
        "txs",
        &[
            "height",
            "tx_index",
            "hash",
            "sender",
            "success",
            "code",
            "log",
            "gas_wanted",
            "gas_used",
            "contract",
            "action",
            "msg",
            "decode_error",
        ],
    ),
    (
        "events",
        &[
            "height",
            "tx_index",
            "event_index",
            "kind",
            "contract",
            "action",
            "attrs",
        ],
    ),
    (
        "quarantine",
        &[
            "height",
            "tx_index",
            "event_index",
            "contract",
            "reason",
            "kind",
            "attrs",
        ],
    ),
    (
        "assets",
        &[
            "height",
            "tx_index",
            "event_index",
            "asset_id",
            "owner",
            "sensitivity",
        ],
    ),
    (
        "asset_changes",
        &[
            "height",
            "tx_index",
            "event_index",
            "asset_id",
            "change",
            "actor",
            "party",
        ],
    ),
    (
        "versions",
        &[
            "height",
            "tx_index",
            "event_index",
            "asset_id",
            "version",
            "publisher",
            "content_hash",
            "schema_hash",
        ],
    ),
    (
        "lineage_edges",
        &[
            "height",
            "tx_index",
            "event_index",
            "parent_asset",
            "parent_version",
            "child_asset",
            "child_version",
        ],
    ),
    (
        "attestations",
        &[
            "height",
            "tx_index",
            "event_index",
            "asset_id",
            "version",
            "attestor",
            "claim",
            "evidence_hash",
            "revoked",
        ],
    ),
    (
        "consents",
        &[
            "height",
            "tx_index",
            "event_index",
            "consent_id",
            "subject",
            "controller",
            "scope",
            "purposes",
            "legal_basis",
            "method",
            "expires_at",
        ],
    ),
    (
        "consent_withdrawals",
        &[
            "height",
            "tx_index",
            "event_index",
            "consent_id",
            "subject",
            "controller",
            "signed",
        ],
    ),
    (
        "offers",
        &[
            "height",
            "tx_index",
            "event_index",
            "offer_id",
            "asset_id",
            "provider",
            "price",
            "consent_required",
            "purposes",
            "access_cap",
        ],
    ),
    (
        "agreements",
        &[
            "height",
            "tx_index",
            "event_index",
            "agreement_id",
            "offer_id",
            "asset_id",
            "provider",
            "consumer",
            "purpose",
            "price",
            "expires_at",
        ],
    ),
    (
        "agreement_changes",
        &[
            "height",
            "tx_index",
            "event_index",
            "agreement_id",
            "offer_id",
            "change",
            "actor",
            "amount",
            "refunded",
        ],
    ),
    (
        "accesses",
        &[
            "height",
            "tx_index",
            "event_index",
            "agreement_id",
            "asset_id",
            "consumer",
            "purpose",
            "subject",
            "access_count",
        ],
    ),
    (
        "denied_attempts",
        &[
            "height",
            "tx_index",
            "msg_index",
            "consumer",
            "agreement_id",
            "purpose",
            "subject",
            "reason",
        ],
    ),
    (
        "consumer_suspensions",
        &[
            "height",
            "tx_index",
            "event_index",
            "consumer",
            "alert_seq",
            "lifted",
        ],
    ),
    (
        "alerts",
        &[
            "height",
            "tx_index",
            "event_index",
            "alert_seq",
            "sentinel",
            "kind",
            "severity",
            "subject",
            "asset_id",
            "evidence_hash",
            "score",
            "model_version",
            "entry_hash",
            "suspended",
        ],
    ),
    (
        "audit_changes",
        &[
            "height",
            "tx_index",
            "event_index",
            "alert_seq",
            "change",
            "actor",
            "attrs",
        ],
    ),
];

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// Postgres array literal of text values (every element quoted and escaped).
pub fn pg_array<T: AsRef<str>>(items: &[T]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| {
            let i = i.as_ref();
            format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn attrs_json(e: &TxEvent) -> String {
    serde_json::to_string(&e.attributes).unwrap_or_else(|_| "[]".into())
}

/// Attributes the chain itself adds to every event (wasmd adds `_contract_address`; the SDK
/// adds `msg_index` since v0.50).
const SDK_KEYS: [&str; 1] = ["msg_index"];

/// Why a contract event could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct Bad(pub String);

struct Ev<'a> {
    e: &'a TxEvent,
}

impl<'a> Ev<'a> {
    fn get(&self, key: &str) -> Result<&'a str, Bad> {
        self.e
            .get(key)
            .ok_or_else(|| Bad(format!("missing attribute {key}")))
    }
    fn opt(&self, key: &str) -> Option<&'a str> {
        self.e.get(key)
    }
    fn num(&self, key: &str) -> Result<u64, Bad> {
        let v = self.get(key)?;
        v.parse()
            .map_err(|_| Bad(format!("{key} = {v:?} is not a number")))
    }
    fn flag(&self, key: &str) -> Result<bool, Bad> {
        match self.get(key)? {
            "true" => Ok(true),
            "false" => Ok(false),
            v => Err(Bad(format!("{key} = {v:?} is not true/false"))),
        }
    }
}

/// `asset@version,asset@version` into pairs.
fn parse_parents(v: &str) -> Result<Vec<(u64, u32)>, Bad> {
    if v.is_empty() {
        return Ok(vec![]);
    }
    v.split(',')
        .map(|p| {
            let (a, ver) = p
                .split_once('@')
                .ok_or_else(|| Bad(format!("parent {p:?} is not asset@version")))?;
            Ok((
                a.parse()
                    .map_err(|_| Bad(format!("parent {p:?}: bad asset id")))?,
                ver.parse()
                    .map_err(|_| Bad(format!("parent {p:?}: bad version")))?,
            ))
        })
        .collect()
}

fn split_list(v: &str) -> Vec<&str> {
    if v.is_empty() {
        vec![]
    } else {
        v.split(',').collect()
    }
}

/// Typed rows for one of our contracts' events. `pos` = (height, tx_index, event_index).
fn typed(contract: &str, ev: &Ev, pos: [String; 3], out: &mut Rows) -> Result<(), Bad> {
    let action = ev.get(k::ACTION)?;
    let spec = events::lookup(contract, action)
        .ok_or_else(|| Bad(format!("the catalogue has no {contract} action {action:?}")))?;
    for key in spec.required {
        ev.get(key)?;
    }
    if let Some(unknown) =
        ev.e.attributes
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|key| !key.starts_with('_') && !SDK_KEYS.contains(key) && !spec.allows(key))
    {
        return Err(Bad(format!(
            "attribute {unknown:?} is not in the catalogue for {action}"
        )));
    }
    // lifecycle events are kept in `events` only; a migration carries no sender (wasmd runs
    // `migrate` for the admin, and the contract does not repeat it)
    if matches!(action, a::INSTANTIATE | a::MIGRATE | a::UPDATE_CONFIG) {
        return Ok(());
    }
    let sender = ev.get(k::SENDER)?;
    let p =
        |rest: Vec<Option<String>>| -> Row { pos.iter().cloned().map(Some).chain(rest).collect() };
    match (contract, action) {
        (_, a::REGISTER_ASSET) => out.push(
            "assets",
            p(vec![
                s(ev.num(k::ASSET_ID)?),
                s(ev.get(k::OWNER)?),
                s(ev.get(k::SENSITIVITY)?),
            ]),
        ),
        (_, a::PUBLISH_VERSION) => {
            let asset = ev.num(k::ASSET_ID)?;
            let version = ev.num(k::VERSION)?;
            for (pa, pv) in parse_parents(ev.get(k::PARENTS)?)? {
                out.push("lineage_edges", p(vec![s(pa), s(pv), s(asset), s(version)]));
            }
            out.push(
                "versions",
                p(vec![
                    s(asset),
                    s(version),
                    s(sender),
                    s(ev.get(k::CONTENT_HASH)?),
                    ev.opt(k::SCHEMA_HASH).map(str::to_string),
                ]),
            );
        }
        (_, a::ATTEST) | (_, a::REVOKE_ATTESTATION) => out.push(
            "attestations",
            p(vec![
                s(ev.num(k::ASSET_ID)?),
                s(ev.num(k::VERSION)?),
                s(ev.get(k::ATTESTOR)?),
                s(ev.get(k::CLAIM)?),
                ev.opt(k::EVIDENCE_HASH).map(str::to_string),
                s(action == a::REVOKE_ATTESTATION),
            ]),
        ),
        (events::contract::REGISTRY, change) => {
            let party = ev
                .opt(k::STEWARD)
                .or(ev.opt(k::NEW_OWNER))
                .or(ev.opt(k::PREVIOUS_OWNER))
                .map(str::to_string);
            out.push(
                "asset_changes",
                p(vec![s(ev.num(k::ASSET_ID)?), s(change), s(sender), party]),
            );
        }
        (_, a::GRANT) | (_, a::GRANT_SIGNED) => out.push(
            "consents",
            p(vec![
                s(ev.num(k::CONSENT_ID)?),
                s(ev.get(k::SUBJECT)?),
                s(ev.get(k::CONTROLLER)?),
                s(ev.get(k::SCOPE)?),
                s(pg_array(&split_list(ev.get(k::PURPOSES)?))),
                s(ev.get(k::LEGAL_BASIS)?),
                s(ev.get(k::METHOD)?),
                ev.opt(k::EXPIRES_AT).map(str::to_string),
            ]),
        ),
        (_, a::WITHDRAW) | (_, a::WITHDRAW_SIGNED) => out.push(
            "consent_withdrawals",
            p(vec![
                s(ev.num(k::CONSENT_ID)?),
                s(ev.get(k::SUBJECT)?),
                s(ev.get(k::CONTROLLER)?),
                s(action == a::WITHDRAW_SIGNED),
            ]),
        ),
        (_, a::CREATE_OFFER) => out.push(
            "offers",
            p(vec![
                s(ev.num(k::OFFER_ID)?),
                s(ev.num(k::ASSET_ID)?),
                s(ev.get(k::PROVIDER)?),
                s(ev.get(k::PRICE)?),
                s(ev.flag(k::CONSENT_REQUIRED)?),
                s(pg_array(&split_list(ev.get(k::PURPOSES)?))),
                ev.opt(k::ACCESS_CAP)
                    .map(|_| ev.num(k::ACCESS_CAP))
                    .transpose()?
                    .map(|c| c.to_string()),
            ]),
        ),
        (_, a::SIGN) => out.push(
            "agreements",
            p(vec![
                s(ev.num(k::AGREEMENT_ID)?),
                s(ev.num(k::OFFER_ID)?),
                s(ev.num(k::ASSET_ID)?),
                s(ev.get(k::PROVIDER)?),
                s(ev.get(k::CONSUMER)?),
                s(ev.get(k::PURPOSE)?),
                s(ev.get(k::PRICE)?),
                s(ev.get(k::EXPIRES_AT)?),
            ]),
        ),
        (_, a::RECORD_ACCESS) => out.push(
            "accesses",
            p(vec![
                s(ev.num(k::AGREEMENT_ID)?),
                s(ev.num(k::ASSET_ID)?),
                s(ev.get(k::CONSUMER)?),
                s(ev.get(k::PURPOSE)?),
                ev.opt(k::SUBJECT).map(str::to_string),
                s(ev.num(k::ACCESS_COUNT)?),
            ]),
        ),
        (events::contract::AGREEMENTS, a::SUSPEND_CONSUMER)
        | (events::contract::AGREEMENTS, a::LIFT_SUSPENSION) => out.push(
            "consumer_suspensions",
            p(vec![
                s(ev.get(k::CONSUMER)?),
                s(ev.num(k::ALERT_SEQ)?),
                s(action == a::LIFT_SUSPENSION),
            ]),
        ),
        (events::contract::AGREEMENTS, change) => {
            let (amount, refunded) = match change {
                a::CLAIM => (ev.opt(k::AMOUNT), None),
                a::TERMINATE => (ev.opt(k::PAID_TO_PROVIDER), ev.opt(k::REFUNDED_TO_CONSUMER)),
                _ => (None, None),
            };
            let agreement = ev
                .opt(k::AGREEMENT_ID)
                .map(|_| ev.num(k::AGREEMENT_ID))
                .transpose()?;
            let offer = ev
                .opt(k::OFFER_ID)
                .map(|_| ev.num(k::OFFER_ID))
                .transpose()?;
            out.push(
                "agreement_changes",
                p(vec![
                    agreement.map(|v| v.to_string()),
                    offer.map(|v| v.to_string()),
                    s(change),
                    s(sender),
                    amount.map(str::to_string),
                    refunded.map(str::to_string),
                ]),
            );
        }
        (_, a::REPORT_ALERT) => out.push(
            "alerts",
            p(vec![
                s(ev.num(k::ENTRY_SEQ)?),
                s(sender),
                s(ev.get(k::KIND)?),
                s(ev.get(k::SEVERITY)?),
                s(ev.get(k::SUBJECT)?),
                ev.opt(k::ASSET_ID)
                    .map(|_| ev.num(k::ASSET_ID))
                    .transpose()?
                    .map(|v| v.to_string()),
                s(ev.get(k::EVIDENCE_HASH)?),
                s(ev.get(k::SCORE)?),
                s(ev.get(k::MODEL_VERSION)?),
                s(ev.get(k::ENTRY_HASH)?),
                s(ev.flag(k::SUSPENDED)?),
            ]),
        ),
        (events::contract::AUDIT, change) => {
            let alert = ev
                .opt(k::ALERT_SEQ)
                .map(|_| ev.num(k::ALERT_SEQ))
                .transpose()?;
            out.push(
                "audit_changes",
                p(vec![
                    alert.map(|v| v.to_string()),
                    s(change),
                    s(sender),
                    s(attrs_json(ev.e)),
                ]),
            );
        }
        (other, _) => return Err(Bad(format!("unknown contract {other}"))),
    }
    Ok(())
}

/// The decoded body of a transaction: (sender, [(contract, action, msg JSON)]) of its wasm
/// executes, or why it could not be decoded.
fn decode_executes(bytes_b64: &str) -> Result<Vec<(String, String, serde_json::Value)>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bytes_b64)
        .map_err(|e| format!("tx bytes are not base64: {e}"))?;
    let raw = cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(bytes.as_slice())
        .map_err(|e| format!("not a TxRaw: {e}"))?;
    let body = cosmrs::proto::cosmos::tx::v1beta1::TxBody::decode(raw.body_bytes.as_slice())
        .map_err(|e| format!("undecodable tx body: {e}"))?;
    let mut out = Vec::new();
    for m in body.messages {
        if m.type_url != "/cosmwasm.wasm.v1.MsgExecuteContract" {
            continue;
        }
        let exec = MsgExecuteContract::decode(m.value.as_slice())
            .map_err(|e| format!("undecodable MsgExecuteContract: {e}"))?;
        let json: serde_json::Value = serde_json::from_slice(&exec.msg).unwrap_or_else(|_| {
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(&exec.msg))
        });
        out.push((exec.sender, exec.contract, json));
    }
    Ok(out)
}

/// The SDK's failure log names the failing message: "... message index: N: ...".
fn failing_msg_index(log: &str) -> Option<usize> {
    let rest = log.split("message index: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The refusal reason in a failed execute's log: a DenyReason name, else the contract's words.
fn refusal_reason(log: &str) -> String {
    const REASONS: [&str; 10] = [
        "no_agreement",
        "consumer_suspended",
        "agreement_suspended",
        "agreement_terminated",
        "agreement_expired",
        "cap_reached",
        "purpose_not_permitted",
        "asset_tombstoned",
        "subject_required",
        "consent_not_granted",
    ];
    if let Some(r) = REASONS
        .iter()
        .find(|r| log.contains(&format!("denied: {r}")))
    {
        return r.to_string();
    }
    if log.contains("is not allowed") {
        return "unauthorized".into();
    }
    if log.contains("out of gas") {
        return "out_of_gas".into();
    }
    "other".into()
}

/// Decodes one block into rows.
pub fn decode_block(b: &RawBlock, contracts: &Contracts) -> Rows {
    let mut out = Rows::default();
    let h = b.height.to_string();
    out.push(
        "blocks",
        vec![s(b.height), s(&b.time), s(&b.hash), s(b.txs.len())],
    );
    let event_rows = |tx_index: i64, evs: &[TxEvent], out: &mut Rows| {
        for (ei, e) in evs.iter().enumerate() {
            let contract_addr = e.get("_contract_address");
            let ours = contract_addr.and_then(|c| contracts.name(c));
            let action = if ours.is_some() {
                e.get(k::ACTION)
            } else {
                None
            };
            let pos = [h.clone(), tx_index.to_string(), ei.to_string()];
            out.push(
                "events",
                vec![
                    s(&pos[0]),
                    s(&pos[1]),
                    s(&pos[2]),
                    s(&e.kind),
                    contract_addr.map(str::to_string),
                    action.map(str::to_string),
                    s(attrs_json(e)),
                ],
            );
            let Some(name) = ours else { continue };
            if e.kind != "wasm" {
                // wasmd's own module events (execute, instantiate) carry no datapact payload;
                // a custom `wasm-*` event from our contract is not something the catalogue knows
                if e.kind.starts_with("wasm-") {
                    out.push(
                        "quarantine",
                        vec![
                            s(&pos[0]),
                            s(&pos[1]),
                            s(&pos[2]),
                            s(name),
                            s(format!("custom event type {}", e.kind)),
                            s(&e.kind),
                            s(attrs_json(e)),
                        ],
                    );
                }
                continue;
            }
            let mut typed_rows = Rows::default();
            match typed(name, &Ev { e }, pos.clone(), &mut typed_rows) {
                Ok(()) => out.extend(typed_rows),
                Err(Bad(reason)) => out.push(
                    "quarantine",
                    vec![
                        s(&pos[0]),
                        s(&pos[1]),
                        s(&pos[2]),
                        s(name),
                        s(reason),
                        s(&e.kind),
                        s(attrs_json(e)),
                    ],
                ),
            }
        }
    };
    event_rows(-1, &b.block_events, &mut out);
    for (ti, tx) in b.txs.iter().enumerate() {
        let success = tx.code == 0;
        let (sender, contract, action, msg, decode_error) = match decode_executes(&tx.bytes) {
            Ok(execs) => {
                let first = execs.first();
                let action = first.and_then(|(_, _, m)| m.as_object()?.keys().next().cloned());
                let sender = first
                    .map(|(s, _, _)| s.clone())
                    .or_else(|| {
                        tx.events
                            .iter()
                            .find(|e| e.kind == "tx")
                            .and_then(|e| e.get("fee_payer"))
                            .map(str::to_string)
                    })
                    .or_else(|| {
                        tx.events
                            .iter()
                            .find(|e| e.kind == "message")
                            .and_then(|e| e.get("sender"))
                            .map(str::to_string)
                    });
                // the failed executes of our agreements contract's RecordAccess are denied attempts
                if !success {
                    let failing = failing_msg_index(&tx.log).unwrap_or(0);
                    if let Some((snd, c, m)) = execs.get(failing) {
                        if contracts.name(c) == Some(events::contract::AGREEMENTS) {
                            if let Some(ra) = m.get(a::RECORD_ACCESS) {
                                out.push(
                                    "denied_attempts",
                                    vec![
                                        s(&h),
                                        s(ti),
                                        s(failing),
                                        s(snd),
                                        ra.get("agreement_id")
                                            .and_then(|v| v.as_u64())
                                            .map(|v| v.to_string()),
                                        ra.get("purpose")
                                            .and_then(|v| v.as_str())
                                            .map(str::to_string),
                                        ra.get("subject")
                                            .and_then(|v| v.as_str())
                                            .map(str::to_string),
                                        s(refusal_reason(&tx.log)),
                                    ],
                                );
                            }
                        }
                    }
                }
                let msg = if execs.len() == 1 {
                    first.map(|(_, _, m)| m.to_string())
                } else if execs.is_empty() {
                    None
                } else {
                    Some(
                        serde_json::Value::Array(execs.iter().map(|(_, _, m)| m.clone()).collect())
                            .to_string(),
                    )
                };
                (sender, first.map(|(_, c, _)| c.clone()), action, msg, None)
            }
            Err(why) => (None, None, None, None, Some(why)),
        };
        out.push(
            "txs",
            vec![
                s(&h),
                s(ti),
                s(&tx.hash),
                sender,
                s(success),
                s(tx.code),
                (!success).then(|| tx.log.clone()),
                s(tx.gas_wanted),
                s(tx.gas_used),
                contract,
                action,
                msg,
                decode_error,
            ],
        );
        event_rows(ti as i64, &tx.events, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, attrs: &[(&str, &str)]) -> TxEvent {
        TxEvent {
            kind: kind.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn contracts() -> Contracts {
        Contracts::new("reg", "con", "agr", "aud")
    }

    fn block(events: Vec<TxEvent>, code: u32, log: &str) -> RawBlock {
        RawBlock {
            height: 9,
            time: "2026-11-24T00:00:00Z".into(),
            hash: "AB".into(),
            txs: vec![RawTx {
                hash: "T".into(),
                bytes: "not base64 !".into(),
                code,
                log: log.into(),
                gas_wanted: 10,
                gas_used: 5,
                events,
            }],
            block_events: vec![],
        }
    }

    /// The `wasm` event wasmd makes of a contract's response attributes.
    fn wasm_event(contract: &str, response: &cosmwasm_std::Response) -> TxEvent {
        let mut attrs = vec![("_contract_address".to_string(), contract.to_string())];
        attrs.extend(
            response
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.value.clone())),
        );
        attrs.push(("msg_index".into(), "0".into()));
        TxEvent {
            kind: "wasm".into(),
            attributes: attrs,
        }
    }

    #[test]
    fn a_migration_as_the_contracts_emit_it_decodes_without_a_sender() {
        let mut storage = cosmwasm_std::testing::MockStorage::new();
        cw2::set_contract_version(&mut storage, "crates.io:datapact-registry", "0.1.0").unwrap();
        let response =
            datapact_types::migrate::migrate(&mut storage, "crates.io:datapact-registry", "0.1.0")
                .unwrap();
        let e = wasm_event("reg", &response);
        assert!(
            e.get("sender").is_none(),
            "the premise: migrate has no sender"
        );
        let rows = decode_block(&block(vec![e], 0, ""), &contracts());
        assert!(
            rows.rows("quarantine").is_empty(),
            "{:?}",
            rows.rows("quarantine")
        );
        let events = rows.rows("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0][5], s("migrate"), "kept in events with its action");
    }

    #[test]
    fn a_catalogued_event_becomes_a_typed_row() {
        let e = ev(
            "wasm",
            &[
                ("_contract_address", "agr"),
                ("action", "record_access"),
                ("sender", "c1"),
                ("agreement_id", "4"),
                ("asset_id", "2"),
                ("consumer", "c1"),
                ("purpose", "research"),
                ("access_count", "3"),
                ("subject", "s1"),
                ("msg_index", "0"),
            ],
        );
        let rows = decode_block(&block(vec![e], 0, ""), &contracts());
        assert_eq!(
            rows.rows("accesses"),
            &[vec![
                s(9),
                s(0),
                s(0),
                s(4),
                s(2),
                s("c1"),
                s("research"),
                s("s1"),
                s(3)
            ]]
        );
        assert!(rows.rows("quarantine").is_empty());
        assert_eq!(rows.rows("events").len(), 1);
    }

    #[test]
    fn unknown_actions_missing_attributes_and_bad_numbers_are_quarantined_with_the_reason() {
        let cases = [
            (
                vec![
                    ("_contract_address", "agr"),
                    ("action", "exfiltrate"),
                    ("sender", "x"),
                ],
                "no agreements action",
            ),
            (
                vec![
                    ("_contract_address", "reg"),
                    ("action", "register_asset"),
                    ("sender", "x"),
                    ("asset_id", "1"),
                    ("owner", "x"),
                ],
                "missing attribute sensitivity",
            ),
            (
                vec![
                    ("_contract_address", "reg"),
                    ("action", "register_asset"),
                    ("sender", "x"),
                    ("asset_id", "one"),
                    ("owner", "x"),
                    ("sensitivity", "public"),
                ],
                "is not a number",
            ),
            (
                vec![
                    ("_contract_address", "reg"),
                    ("action", "tombstone"),
                    ("sender", "x"),
                    ("asset_id", "1"),
                    ("extra", "y"),
                ],
                "not in the catalogue",
            ),
        ];
        for (attrs, why) in cases {
            let rows = decode_block(&block(vec![ev("wasm", &attrs)], 0, ""), &contracts());
            let q = rows.rows("quarantine");
            assert_eq!(q.len(), 1, "{attrs:?}");
            assert!(
                q[0][4].as_deref().unwrap_or_default().contains(why),
                "{:?} lacks {why}",
                q[0][4]
            );
            assert_eq!(rows.rows("events").len(), 1, "the raw event is kept too");
            assert_eq!(rows.count(), 4, "block, tx, event, quarantine");
        }
    }

    #[test]
    fn other_contracts_events_are_kept_raw_and_not_judged() {
        let e = ev(
            "wasm",
            &[("_contract_address", "cw20"), ("action", "transfer")],
        );
        let rows = decode_block(&block(vec![e], 0, ""), &contracts());
        assert_eq!(rows.rows("events").len(), 1);
        assert!(rows.rows("quarantine").is_empty());
    }

    #[test]
    fn an_undecodable_tx_body_is_kept_with_the_reason() {
        let rows = decode_block(&block(vec![], 5, "boom"), &contracts());
        let tx = &rows.rows("txs")[0];
        assert_eq!(tx[4], s(false));
        assert_eq!(tx[6], s("boom"));
        assert!(tx[12].as_deref().unwrap_or_default().contains("base64"));
    }

    #[test]
    fn lineage_edges_come_from_the_parents_attribute() {
        assert_eq!(parse_parents("").unwrap(), vec![]);
        assert_eq!(parse_parents("3@1,4@2").unwrap(), vec![(3, 1), (4, 2)]);
        assert!(parse_parents("3-1").is_err());
    }

    #[test]
    fn refusal_reasons_and_the_failing_message_are_read_from_the_log() {
        let log = "failed to execute message; message index: 2: access under agreement 7 denied: cap_reached: execute wasm contract failed";
        assert_eq!(failing_msg_index(log), Some(2));
        assert_eq!(refusal_reason(log), "cap_reached");
        assert_eq!(
            refusal_reason("x is not allowed: this needs the consumer"),
            "unauthorized"
        );
        assert_eq!(refusal_reason("something else"), "other");
    }

    #[test]
    fn purposes_become_a_postgres_array() {
        assert_eq!(pg_array(&["a", "b\"c"]), "{\"a\",\"b\\\"c\"}");
    }
}
