//! Building, signing and reading transactions.

use std::time::Duration;

use anyhow::Context;
use cosmrs::cosmwasm::{
    MsgExecuteContract, MsgInstantiateContract, MsgMigrateContract, MsgStoreCode,
};
use cosmrs::tendermint::abci::types::ExecTxResult;
use cosmrs::tendermint::Hash;
use cosmrs::tx::{Body, Fee, Msg, SignDoc, SignerInfo};
use cosmrs::{AccountId, Any, Coin, Denom};
use serde::Serialize;

use crate::client::{Chain, ChainError};
use crate::keys::Wallet;

/// One event of a transaction, attributes in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TxEvent {
    pub kind: String,
    pub attributes: Vec<(String, String)>,
}

impl TxEvent {
    /// An ABCI event as the node returned it (attributes that are not UTF-8 are marked so).
    pub fn from_abci(e: cosmrs::tendermint::abci::Event) -> Self {
        TxEvent {
            kind: e.kind,
            attributes: e
                .attributes
                .iter()
                .map(|a| {
                    (
                        a.key_str().unwrap_or("<non-utf8>").to_string(),
                        a.value_str().unwrap_or("<non-utf8>").to_string(),
                    )
                })
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What happened to an included transaction.
#[derive(Clone, Debug, Serialize)]
pub struct TxOutcome {
    pub hash: String,
    pub height: u64,
    pub code: u32,
    pub log: String,
    pub gas_wanted: i64,
    pub gas_used: i64,
    pub events: Vec<TxEvent>,
}

impl TxOutcome {
    pub fn from_result(hash: Hash, height: u64, r: ExecTxResult) -> Self {
        Self {
            hash: hash.to_string(),
            height,
            code: r.code.value(),
            log: r.log,
            gas_wanted: r.gas_wanted,
            gas_used: r.gas_used,
            events: r.events.into_iter().map(TxEvent::from_abci).collect(),
        }
    }

    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Fails unless the transaction succeeded.
    pub fn into_ok(self) -> Result<Self, ChainError> {
        if self.ok() {
            Ok(self)
        } else {
            Err(ChainError::Failed {
                hash: self.hash,
                height: self.height,
                code: self.code,
                log: self.log,
            })
        }
    }

    /// The contracts' `wasm` events whose `action` is `action`.
    pub fn wasm_events<'a>(&'a self, action: &'a str) -> impl Iterator<Item = &'a TxEvent> + 'a {
        self.events
            .iter()
            .filter(move |e| e.kind == "wasm" && e.get("action") == Some(action))
    }

    /// The first value of `key` in a wasm event of `action`.
    pub fn wasm_attr(&self, action: &str, key: &str) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.kind == "wasm" && e.get("action") == Some(action))
            .find_map(|e| e.get(key))
    }

    /// The id a contract named in `key` of its `action` event (an asset, a version, an offer,
    /// an agreement, a consent): what the sender of a creating message wants back.
    pub fn wasm_id<T: std::str::FromStr>(&self, action: &str, key: &str) -> anyhow::Result<T> {
        self.wasm_attr(action, key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "transaction {} has no {key} in its {action} event",
                    self.hash
                )
            })
    }

    /// The first value of `key` in any event of type `kind` (e.g. `store_code` / `code_id`).
    pub fn attr(&self, kind: &str, key: &str) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .find_map(|e| e.get(key))
    }
}

/// A wallet with its on-chain account number and next sequence.
#[derive(Debug)]
pub struct Sender {
    pub wallet: Wallet,
    pub account_number: u64,
    pub sequence: u64,
}

impl Sender {
    pub async fn load(chain: &Chain, wallet: Wallet) -> anyhow::Result<Self> {
        let (account_number, sequence) = chain.account(&wallet.addr()).await?;
        Ok(Self {
            wallet,
            account_number,
            sequence,
        })
    }

    pub fn addr(&self) -> String {
        self.wallet.addr()
    }

    /// Reads the account number and sequence from the chain again.
    pub async fn reload(&mut self, chain: &Chain) -> anyhow::Result<()> {
        let (n, seq) = chain.account(&self.addr()).await?;
        self.account_number = n;
        self.sequence = seq;
        Ok(())
    }

    /// Signs `msgs` at the current sequence (does not advance it).
    pub fn sign(
        &self,
        chain: &Chain,
        msgs: Vec<Any>,
        gas_limit: u64,
        memo: &str,
    ) -> anyhow::Result<Vec<u8>> {
        let body = Body::new(msgs, memo, 0u32);
        let denom: Denom = chain
            .fees
            .denom
            .parse()
            .map_err(|e| anyhow::anyhow!("fee denom {:?}: {e}", chain.fees.denom))?;
        let fee = Fee::from_amount_and_gas(
            Coin {
                denom,
                amount: chain.fees.fee_for(gas_limit),
            },
            gas_limit,
        );
        let auth_info =
            SignerInfo::single_direct(Some(self.wallet.key().public_key()), self.sequence)
                .auth_info(fee);
        let chain_id = chain
            .chain_id
            .parse()
            .map_err(|e| anyhow::anyhow!("chain id {:?}: {e}", chain.chain_id))?;
        let doc = SignDoc::new(&body, &auth_info, &chain_id, self.account_number)
            .map_err(|e| anyhow::anyhow!("sign doc: {e}"))?;
        let raw = doc
            .sign(self.wallet.key())
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        raw.to_bytes()
            .map_err(|e| anyhow::anyhow!("encoding the tx: {e}"))
    }

    /// Signs and broadcasts; on CheckTx success the sequence advances and the hash is returned.
    /// A sequence mismatch reloads the account once and retries.
    pub async fn send(
        &mut self,
        chain: &Chain,
        msgs: Vec<Any>,
        gas_limit: u64,
    ) -> anyhow::Result<Hash> {
        for attempt in 0..2 {
            let bytes = self.sign(chain, msgs.clone(), gas_limit, "")?;
            match chain.broadcast(bytes).await {
                Ok(hash) => {
                    self.sequence += 1;
                    return Ok(hash);
                }
                Err(e) => match e.downcast_ref::<ChainError>() {
                    // 32 = ErrWrongSequence
                    Some(ChainError::CheckTx { code: 32, .. }) if attempt == 0 => {
                        self.reload(chain).await?;
                    }
                    _ => return Err(e),
                },
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Simulates to size the gas (times the fee policy's adjustment), then sends and waits.
    pub async fn exec_auto(&mut self, chain: &Chain, msgs: Vec<Any>) -> anyhow::Result<TxOutcome> {
        let probe = self.sign(chain, msgs.clone(), 10_000_000, "")?;
        let used = match chain.simulate(probe).await {
            Ok(used) => used,
            // another transaction of this key went first: read the sequence again, once
            Err(e) if format!("{e:#}").contains("account sequence mismatch") => {
                self.reload(chain).await?;
                let probe = self.sign(chain, msgs.clone(), 10_000_000, "")?;
                chain
                    .simulate(probe)
                    .await
                    .context("simulating the transaction")?
            }
            Err(e) => return Err(e.context("simulating the transaction")),
        };
        let gas = ((used as f64) * chain.fees.adjustment).ceil() as u64 + 20_000;
        self.exec(chain, msgs, gas).await
    }

    /// Sends and waits for inclusion; the outcome may be a failure (check `ok()`).
    pub async fn exec(
        &mut self,
        chain: &Chain,
        msgs: Vec<Any>,
        gas_limit: u64,
    ) -> anyhow::Result<TxOutcome> {
        let hash = self.send(chain, msgs, gas_limit).await?;
        chain.wait_tx(hash, Duration::from_secs(60)).await
    }
}

fn account_id(addr: &str) -> anyhow::Result<AccountId> {
    addr.parse()
        .map_err(|e| anyhow::anyhow!("{addr:?} is not a bech32 address: {e}"))
}

fn coins(funds: &[(u128, &str)]) -> anyhow::Result<Vec<Coin>> {
    funds
        .iter()
        .map(|(amount, denom)| {
            Ok(Coin {
                denom: denom
                    .parse()
                    .map_err(|e| anyhow::anyhow!("denom {denom:?}: {e}"))?,
                amount: *amount,
            })
        })
        .collect()
}

fn any<M: Msg>(m: M) -> anyhow::Result<Any> {
    m.to_any()
        .map_err(|e| anyhow::anyhow!("encoding a message: {e}"))
}

pub fn execute_msg<T: Serialize>(
    sender: &str,
    contract: &str,
    msg: &T,
    funds: &[(u128, &str)],
) -> anyhow::Result<Any> {
    any(MsgExecuteContract {
        sender: account_id(sender)?,
        contract: account_id(contract)?,
        msg: serde_json::to_vec(msg)?,
        funds: coins(funds)?,
    })
}

pub fn store_code_msg(sender: &str, wasm: Vec<u8>) -> anyhow::Result<Any> {
    any(MsgStoreCode {
        sender: account_id(sender)?,
        wasm_byte_code: wasm,
        instantiate_permission: None,
    })
}

pub fn instantiate_msg<T: Serialize>(
    sender: &str,
    admin: Option<&str>,
    code_id: u64,
    label: &str,
    msg: &T,
) -> anyhow::Result<Any> {
    any(MsgInstantiateContract {
        sender: account_id(sender)?,
        admin: admin.map(account_id).transpose()?,
        code_id,
        label: Some(label.to_string()),
        msg: serde_json::to_vec(msg)?,
        funds: vec![],
    })
}

pub fn migrate_msg<T: Serialize>(
    sender: &str,
    contract: &str,
    code_id: u64,
    msg: &T,
) -> anyhow::Result<Any> {
    any(MsgMigrateContract {
        sender: account_id(sender)?,
        contract: account_id(contract)?,
        code_id,
        msg: serde_json::to_vec(msg)?,
    })
}

pub fn bank_send_msg(from: &str, to: &str, amount: u128, denom: &str) -> anyhow::Result<Any> {
    any(cosmrs::bank::MsgSend {
        from_address: account_id(from)?,
        to_address: account_id(to)?,
        amount: coins(&[(amount, denom)])?,
    })
}
