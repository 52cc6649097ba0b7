//! A signing client for a CosmWasm chain over CometBFT RPC: account lookup, smart and module
//! queries, gas simulation, signing, broadcasting and waiting for inclusion.
//!
//! Everything goes through one HTTP RPC endpoint (ABCI queries for the SDK's gRPC services), so a
//! deployer needs exactly the URL they already have for `wasmd --node`.

use std::time::{Duration, Instant};

use cosmrs::proto::cosmos::auth::v1beta1::{
    BaseAccount, QueryAccountRequest, QueryAccountResponse,
};
use cosmrs::proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use cosmrs::proto::cosmos::base::query::v1beta1::PageRequest;
use cosmrs::proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use cosmrs::proto::cosmwasm::wasm::v1::{
    QueryCodesRequest, QueryCodesResponse, QueryContractInfoRequest, QueryContractInfoResponse,
    QuerySmartContractStateRequest, QuerySmartContractStateResponse,
};
use cosmrs::proto::prost::Message;
use cosmrs::rpc::{self, Client as _, HttpClient};
use cosmrs::tendermint::Hash;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::tx::TxOutcome;

/// tendermint-rpc's errors print a backtrace in their Display when RUST_BACKTRACE is set: keep
/// the message only.
pub fn rpc_error(e: rpc::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", rpc_message(&e))
}

/// The error's message and causes on one line, without the backtrace flex-error appends.
pub fn rpc_message(e: &rpc::Error) -> String {
    let full = e.to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in full.lines() {
        let t = line.trim();
        if t.starts_with("Location:") || t.contains("backtrace") {
            break;
        }
        let t = t.trim_start_matches("Caused by:").trim();
        let t = t
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == ':')
            .trim();
        if !t.is_empty() && !parts.contains(&t) {
            parts.push(t);
        }
    }
    if parts.is_empty() {
        e.detail().to_string()
    } else {
        parts.join(": ")
    }
}

/// Block and its results at `height`, retried for up to 10 s: the node can announce a height
/// (or include a transaction) a moment before its results are stored, and under load that
/// moment once exceeded 2 s.
pub async fn block_with_results(
    rpc: &HttpClient,
    height: u64,
) -> anyhow::Result<(
    rpc::endpoint::block::Response,
    rpc::endpoint::block_results::Response,
)> {
    let h = cosmrs::tendermint::block::Height::try_from(height)
        .map_err(|e| anyhow::anyhow!("height {height}: {e}"))?;
    let mut attempt = 0;
    loop {
        let res = async {
            let b = rpc.block(h).await?;
            let r = rpc.block_results(h).await?;
            Ok::<_, rpc::Error>((b, r))
        }
        .await;
        match res {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 200 => {
                tracing::debug!("block {height} not ready: {}", e.detail());
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(rpc_error(e).context(format!("reading block {height}"))),
        }
    }
}

/// Errors a caller can act on; anything else is wrapped with context by anyhow.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot reach the node at {url}: {detail}\n  is the chain running? (`make localnet` starts a local one)")]
    Unreachable { url: String, detail: String },
    #[error("account {0} does not exist on chain: fund it first (a bank send to it creates it)")]
    NoAccount(String),
    #[error("the node refused the transaction before inclusion (code {code}): {log}")]
    CheckTx { code: u32, log: String },
    #[error("transaction {hash} failed in block {height} (code {code}): {log}")]
    Failed {
        hash: String,
        height: u64,
        code: u32,
        log: String,
    },
    #[error("transaction {hash} was not included within {secs} s")]
    Timeout { hash: String, secs: u64 },
    #[error("query {path} failed (code {code}): {log}")]
    Query {
        path: String,
        code: u32,
        log: String,
    },
}

/// Fee policy: `gas_price` in `denom` per unit of gas; fees are charged on the gas limit.
#[derive(Clone, Debug)]
pub struct FeePolicy {
    pub denom: String,
    pub gas_price: f64,
    /// multiplier on simulated gas
    pub adjustment: f64,
}

impl FeePolicy {
    /// Parses a gas price with its denom, e.g. `0.025udpt`.
    pub fn parse(gas_price: &str, adjustment: f64) -> anyhow::Result<Self> {
        let split = gas_price
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| {
                anyhow::anyhow!("gas price {gas_price:?} needs a denom, e.g. 0.025udpt")
            })?;
        let (price, denom) = gas_price.split_at(split);
        let gas_price: f64 = price
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| {
                anyhow::anyhow!("gas price {gas_price:?}: {price:?} is not a non-negative number")
            })?;
        Ok(Self {
            denom: denom.to_string(),
            gas_price,
            adjustment,
        })
    }

    pub fn fee_for(&self, gas_limit: u64) -> u128 {
        (gas_limit as f64 * self.gas_price).ceil() as u128
    }
}

#[derive(Clone)]
pub struct Chain {
    rpc: HttpClient,
    pub url: String,
    pub chain_id: String,
    pub fees: FeePolicy,
    pub prefix: String,
}

impl Chain {
    /// Connects and reads the chain id from the node's status.
    pub async fn connect(url: &str, fees: FeePolicy) -> anyhow::Result<Self> {
        let rpc = HttpClient::builder(
            url.parse()
                .map_err(|e| anyhow::anyhow!("RPC URL {url:?} is not a valid URL: {e}"))?,
        )
        .compat_mode(rpc::client::CompatMode::V0_38)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build an RPC client for {url}: {e}"))?;
        let status = rpc.status().await.map_err(|e| ChainError::Unreachable {
            url: url.to_string(),
            detail: rpc_message(&e),
        })?;
        Ok(Self {
            rpc,
            url: url.to_string(),
            chain_id: status.node_info.network.to_string(),
            fees,
            prefix: "wasm".to_string(),
        })
    }

    pub fn rpc(&self) -> &HttpClient {
        &self.rpc
    }

    pub async fn latest_height(&self) -> anyhow::Result<u64> {
        let status = self.rpc.status().await.map_err(rpc_error)?;
        Ok(status.sync_info.latest_block_height.value())
    }

    /// Waits until the chain has produced `n` more blocks.
    pub async fn wait_blocks(&self, n: u64, timeout: Duration) -> anyhow::Result<u64> {
        let start = self.latest_height().await?;
        let deadline = Instant::now() + timeout;
        loop {
            let h = self.latest_height().await?;
            if h >= start + n {
                return Ok(h);
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "the chain did not advance {n} blocks within {timeout:?} (stuck at {h})"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A raw ABCI query against one of the SDK's gRPC query services.
    pub async fn abci<Req: Message, Resp: Message + Default>(
        &self,
        path: &str,
        req: &Req,
    ) -> anyhow::Result<Resp> {
        let res = self
            .rpc
            .abci_query(Some(path.to_string()), req.encode_to_vec(), None, false)
            .await
            .map_err(|e| rpc_error(e).context(format!("ABCI query {path}")))?;
        if res.code.is_err() {
            return Err(ChainError::Query {
                path: path.to_string(),
                code: res.code.value(),
                log: res.log.to_string(),
            }
            .into());
        }
        Resp::decode(res.value.as_slice())
            .map_err(|e| anyhow::anyhow!("ABCI query {path}: undecodable response: {e}"))
    }

    /// (account number, sequence) of an existing account.
    pub async fn account(&self, address: &str) -> anyhow::Result<(u64, u64)> {
        let req = QueryAccountRequest {
            address: address.to_string(),
        };
        let resp: QueryAccountResponse =
            match self.abci("/cosmos.auth.v1beta1.Query/Account", &req).await {
                Ok(r) => r,
                Err(e) => match e.downcast_ref::<ChainError>() {
                    Some(ChainError::Query { log, .. }) if log.contains("not found") => {
                        return Err(ChainError::NoAccount(address.to_string()).into())
                    }
                    _ => return Err(e),
                },
            };
        let any = resp
            .account
            .ok_or_else(|| ChainError::NoAccount(address.to_string()))?;
        anyhow::ensure!(
            any.type_url == "/cosmos.auth.v1beta1.BaseAccount",
            "account {address} is a {} (only base accounts can sign here)",
            any.type_url
        );
        let base = BaseAccount::decode(any.value.as_slice())?;
        Ok((base.account_number, base.sequence))
    }

    pub async fn balance(&self, address: &str, denom: &str) -> anyhow::Result<u128> {
        let req = QueryBalanceRequest {
            address: address.to_string(),
            denom: denom.to_string(),
        };
        let resp: QueryBalanceResponse = self
            .abci("/cosmos.bank.v1beta1.Query/Balance", &req)
            .await?;
        Ok(match resp.balance {
            Some(c) => c
                .amount
                .parse()
                .map_err(|e| anyhow::anyhow!("balance {:?} is not a number: {e}", c.amount))?,
            None => 0,
        })
    }

    /// A contract's smart query, JSON in and out.
    pub async fn smart<Q: Serialize, R: DeserializeOwned>(
        &self,
        contract: &str,
        query: &Q,
    ) -> anyhow::Result<R> {
        let req = QuerySmartContractStateRequest {
            address: contract.to_string(),
            query_data: serde_json::to_vec(query)?,
        };
        let resp: QuerySmartContractStateResponse = self
            .abci("/cosmwasm.wasm.v1.Query/SmartContractState", &req)
            .await?;
        serde_json::from_slice(&resp.data).map_err(|e| {
            anyhow::anyhow!(
                "contract {contract} answered {} which does not match the expected type: {e}",
                String::from_utf8_lossy(&resp.data)
            )
        })
    }

    /// Code id and checksum (hex) of every stored code.
    pub async fn codes(&self) -> anyhow::Result<Vec<(u64, String)>> {
        let mut out = Vec::new();
        let mut key = Vec::new();
        loop {
            let req = QueryCodesRequest {
                pagination: Some(PageRequest {
                    key: key.clone(),
                    limit: 100,
                    ..Default::default()
                }),
            };
            let resp: QueryCodesResponse = self.abci("/cosmwasm.wasm.v1.Query/Codes", &req).await?;
            out.extend(
                resp.code_infos
                    .into_iter()
                    .map(|c| (c.code_id, hex::encode(c.data_hash))),
            );
            match resp.pagination {
                Some(p) if !p.next_key.is_empty() => key = p.next_key,
                _ => break,
            }
        }
        Ok(out)
    }

    /// (code id, admin, label) of a contract, or None when no contract lives at `address`.
    pub async fn contract_info(
        &self,
        address: &str,
    ) -> anyhow::Result<Option<(u64, String, String)>> {
        let req = QueryContractInfoRequest {
            address: address.to_string(),
        };
        match self
            .abci::<_, QueryContractInfoResponse>("/cosmwasm.wasm.v1.Query/ContractInfo", &req)
            .await
        {
            Ok(r) => Ok(r.contract_info.map(|i| (i.code_id, i.admin, i.label))),
            Err(e) => match e.downcast_ref::<ChainError>() {
                Some(ChainError::Query { log, .. }) if log.contains("not found") => Ok(None),
                _ => Err(e),
            },
        }
    }

    /// Gas the transaction would use (signature checks included).
    pub async fn simulate(&self, tx_bytes: Vec<u8>) -> anyhow::Result<u64> {
        #[allow(deprecated)]
        let req = SimulateRequest { tx: None, tx_bytes };
        let resp: SimulateResponse = self
            .abci("/cosmos.tx.v1beta1.Service/Simulate", &req)
            .await?;
        Ok(resp.gas_info.map(|g| g.gas_used).unwrap_or_default())
    }

    /// Hands a signed transaction to the node's mempool; returns its hash once CheckTx passed.
    pub async fn broadcast(&self, tx_bytes: Vec<u8>) -> anyhow::Result<Hash> {
        let res = self
            .rpc
            .broadcast_tx_sync(tx_bytes)
            .await
            .map_err(|e| rpc_error(e).context("broadcast"))?;
        if res.code.is_err() {
            return Err(ChainError::CheckTx {
                code: res.code.value(),
                log: res.log,
            }
            .into());
        }
        Ok(res.hash)
    }

    /// A transaction from the node's tx index by its hash, or `None` when the node does not
    /// know it (never sent, not yet in a block, or pruned).
    pub async fn find_tx(&self, hash: Hash) -> anyhow::Result<Option<TxOutcome>> {
        match self.rpc.tx(hash, false).await {
            Ok(r) => Ok(Some(TxOutcome::from_result(
                hash,
                r.height.value(),
                r.tx_result,
            ))),
            Err(e) if rpc_message(&e).contains("not found") => Ok(None),
            Err(e) => Err(rpc_error(e).context(format!("looking up transaction {hash}"))),
        }
    }

    /// The time (unix seconds) of the block at `height`.
    pub async fn block_time(&self, height: u64) -> anyhow::Result<u64> {
        let h = cosmrs::tendermint::block::Height::try_from(height)
            .map_err(|e| anyhow::anyhow!("height {height}: {e}"))?;
        let header = self
            .rpc
            .header(h)
            .await
            .map_err(|e| rpc_error(e).context(format!("reading the header at {height}")))?;
        let t = header.header.time.unix_timestamp();
        u64::try_from(t).map_err(|_| anyhow::anyhow!("block {height} has time {t} before 1970"))
    }

    /// Polls the node's tx index until the transaction is in a block.
    pub async fn wait_tx(&self, hash: Hash, timeout: Duration) -> anyhow::Result<TxOutcome> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.rpc.tx(hash, false).await {
                Ok(r) => return Ok(TxOutcome::from_result(hash, r.height.value(), r.tx_result)),
                Err(e) => {
                    if Instant::now() > deadline {
                        tracing::debug!("last error waiting for {hash}: {}", e.detail());
                        return Err(ChainError::Timeout {
                            hash: hash.to_string(),
                            secs: timeout.as_secs(),
                        }
                        .into());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gas_price_parses_into_amount_and_denom_and_fees_round_up() {
        let f = FeePolicy::parse("0.025udpt", 1.4).unwrap();
        assert_eq!(f.denom, "udpt");
        assert_eq!(f.fee_for(200_000), 5_000);
        assert_eq!(f.fee_for(1), 1, "a fraction of a coin rounds up");
    }

    #[tokio::test]
    async fn an_unreachable_node_is_reported_with_its_cause_and_without_a_backtrace() {
        let fees = FeePolicy::parse("0.025udpt", 1.0).unwrap();
        let err = Chain::connect("http://127.0.0.1:1", fees)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("cannot reach the node at http://127.0.0.1:1"),
            "{err}"
        );
        assert!(err.contains("Connection refused"), "{err}");
        assert!(
            !err.contains("Location") && !err.contains("backtrace"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_gas_price_says_what_is_wrong() {
        let e = FeePolicy::parse("0.025", 1.0).unwrap_err().to_string();
        assert!(e.contains("needs a denom"), "{e}");
        let e = FeePolicy::parse("abcudpt", 1.0).unwrap_err().to_string();
        assert!(
            e.contains("needs a denom") || e.contains("not a non-negative number"),
            "{e}"
        );
        let e = FeePolicy::parse("-1udpt", 1.0).unwrap_err().to_string();
        assert!(e.contains("not a non-negative number"), "{e}");
    }
}
