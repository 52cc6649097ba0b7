//! A block as the indexer needs it: what `block` and `block_results` say, in plain types (the
//! node's tendermint-rpc types are converted in [`crate::source`] and nowhere else).

use serde::{Deserialize, Serialize};

use datapact_chain::TxEvent;

/// One block with its transactions' results and its block-level events.
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

/// One transaction and its result.
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
