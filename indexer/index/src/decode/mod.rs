//! From one block and its results to rows: the block, its transactions and every raw event,
//! typed rows per contract (`registry`, `consent`, `agreements`, `audit`), refused attempts
//! from failed executes ([`tx`]), and quarantine for whatever does not decode.
//!
//! Pure: no I/O, so it is tested on fixtures captured from the real chain.

mod agreements;
mod attrs;
mod audit;
mod consent;
mod registry;
pub mod tx;

use std::collections::BTreeMap;

use datapact_chain::TxEvent;
use datapact_types::events::{self, action as a, key as k};

pub use attrs::{attrs_json, EventAttrs, Undecodable};
pub use registry::parse_parents;

use crate::block::RawBlock;
use crate::copy::JsonText;
use crate::tables::{Block, Event, Pos, Quarantined, Rows, Tx};

/// Our contracts by address.
#[derive(Clone, Debug, Default)]
pub struct Contracts {
    by_address: BTreeMap<String, &'static str>,
    agreements: String,
}

impl Contracts {
    pub fn new(registry: &str, consent: &str, agreements: &str, audit: &str) -> Self {
        let mut by_address = BTreeMap::new();
        by_address.insert(registry.to_string(), events::contract::REGISTRY);
        by_address.insert(consent.to_string(), events::contract::CONSENT);
        by_address.insert(agreements.to_string(), events::contract::AGREEMENTS);
        by_address.insert(audit.to_string(), events::contract::AUDIT);
        Self {
            by_address,
            agreements: agreements.to_string(),
        }
    }

    /// The four contracts of a deployment file.
    pub fn from_deployment(d: &datapact_chain::Deployment) -> Result<Self, crate::IngestError> {
        let addr = |c: &str| {
            d.address(c).map_err(|e| {
                crate::IngestError::Config(format!("{e:#}: redeploy with `datapact deploy`"))
            })
        };
        Ok(Self::new(
            addr("registry")?,
            addr("consent")?,
            addr("agreements")?,
            addr("audit")?,
        ))
    }

    /// The catalogue's name of the contract at `address`, if it is ours.
    pub fn name(&self, address: &str) -> Option<&'static str> {
        self.by_address.get(address).copied()
    }
}

/// Attributes the chain itself adds to every event (wasmd adds `_contract_address`; the SDK
/// adds `msg_index` since v0.50).
const SDK_KEYS: [&str; 1] = ["msg_index"];

/// Typed rows for one of our contracts' `wasm` events.
fn contract_event(
    contract: &'static str,
    e: &EventAttrs,
    at: Pos,
    out: &mut Rows,
) -> Result<(), Undecodable> {
    let action = e.text(k::ACTION)?;
    let spec = events::lookup(contract, action)
        .ok_or_else(|| Undecodable(format!("the catalogue has no {contract} action {action:?}")))?;
    for key in spec.required {
        e.text(key)?;
    }
    if let Some(unknown) = e
        .event
        .attributes
        .iter()
        .map(|(k, _)| k.as_str())
        .find(|key| !key.starts_with('_') && !SDK_KEYS.contains(key) && !spec.allows(key))
    {
        return Err(Undecodable(format!(
            "attribute {unknown:?} is not in the catalogue for {action}"
        )));
    }
    // lifecycle events are kept in `events` only; a migration carries no sender (wasmd runs
    // `migrate` for the admin, and the contract does not repeat it)
    if matches!(action, a::INSTANTIATE | a::MIGRATE | a::UPDATE_CONFIG) {
        return Ok(());
    }
    let sender = e.text(k::SENDER)?;
    match contract {
        events::contract::REGISTRY => registry::decode(action, sender, e, at, out),
        events::contract::CONSENT => consent::decode(action, sender, e, at, out),
        events::contract::AGREEMENTS => agreements::decode(action, sender, e, at, out),
        events::contract::AUDIT => audit::decode(action, sender, e, at, out),
        other => Err(Undecodable(format!("unknown contract {other}"))),
    }
}

/// Raw rows for a list of events, typed rows for ours, quarantine for ours that do not decode.
fn decode_events(
    height: i64,
    tx_index: i32,
    evs: &[TxEvent],
    contracts: &Contracts,
    out: &mut Rows,
) {
    for (ei, e) in evs.iter().enumerate() {
        let at = Pos {
            height,
            tx_index,
            event_index: i32::try_from(ei).unwrap_or(i32::MAX),
        };
        let address = e.get("_contract_address");
        let ours = address.and_then(|c| contracts.name(c));
        out.events.push(Event {
            at,
            kind: e.kind.clone(),
            contract: address.map(str::to_string),
            action: ours.and(e.get(k::ACTION)).map(str::to_string),
            attrs: attrs_json(e),
        });
        let Some(name) = ours else { continue };
        let quarantine = |reason: String, out: &mut Rows| {
            out.quarantine.push(Quarantined {
                at,
                contract: Some(name.to_string()),
                reason,
                kind: e.kind.clone(),
                attrs: attrs_json(e),
            })
        };
        if e.kind != "wasm" {
            // wasmd's own module events (execute, instantiate) carry no datapact payload; a
            // custom `wasm-*` event from our contract is not something the catalogue knows
            if e.kind.starts_with("wasm-") {
                quarantine(format!("custom event type {}", e.kind), out);
            }
            continue;
        }
        let mut typed = Rows::default();
        match contract_event(name, &EventAttrs { event: e }, at, &mut typed) {
            Ok(()) => out.extend(typed),
            Err(Undecodable(reason)) => quarantine(reason, out),
        }
    }
}

/// Decodes one block into rows.
pub fn decode_block(b: &RawBlock, contracts: &Contracts) -> Rows {
    let mut out = Rows::default();
    let height = i64::try_from(b.height).unwrap_or(i64::MAX);
    out.blocks.push(Block {
        height,
        time: b.time.clone(),
        hash: b.hash.clone(),
        num_txs: i32::try_from(b.txs.len()).unwrap_or(i32::MAX),
    });
    decode_events(height, -1, &b.block_events, contracts, &mut out);
    for (ti, raw) in b.txs.iter().enumerate() {
        let tx_index = i32::try_from(ti).unwrap_or(i32::MAX);
        let success = raw.code == 0;
        let mut row = Tx {
            height,
            tx_index,
            hash: raw.hash.clone(),
            sender: None,
            success,
            code: i64::from(raw.code),
            log: (!success).then(|| raw.log.clone()),
            gas_wanted: raw.gas_wanted,
            gas_used: raw.gas_used,
            contract: None,
            action: None,
            msg: None,
            decode_error: None,
        };
        match tx::executes(&raw.bytes) {
            Ok(execs) => {
                let first = execs.first();
                row.action = first.and_then(tx::Execute::action);
                row.contract = first.map(|x| x.contract.clone());
                row.sender = first.map(|x| x.sender.clone()).or_else(|| {
                    let attr = |kind: &str, key: &str| {
                        raw.events
                            .iter()
                            .find(|e| e.kind == kind)
                            .and_then(|e| e.get(key))
                            .map(str::to_string)
                    };
                    attr("tx", "fee_payer").or_else(|| attr("message", "sender"))
                });
                row.msg = match execs.as_slice() {
                    [] => None,
                    [one] => Some(JsonText::of(&one.msg)),
                    many => Some(JsonText::of(&serde_json::Value::Array(
                        many.iter().map(|x| x.msg.clone()).collect(),
                    ))),
                };
                if !success {
                    out.denied_attempts.extend(tx::denied_attempt(
                        height,
                        tx_index,
                        &raw.log,
                        &execs,
                        &contracts.agreements,
                    ));
                }
            }
            Err(why) => row.decode_error = Some(why),
        }
        out.txs.push(row);
        decode_events(height, tx_index, &raw.events, contracts, &mut out);
    }
    out
}

#[cfg(test)]
mod tests;
