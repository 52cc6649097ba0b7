//! What the chain itself yields: blocks, transactions, every raw event, and the events of our
//! contracts that did not decode.

use crate::copy::JsonText;

table! {
    /// One row per block.
    "blocks" => Block {
        height: i64,
        /// RFC 3339, as the block header gives it
        time: String,
        hash: String,
        num_txs: i32,
    }
}

table! {
    /// Every transaction; for wasm executes, the contract and the decoded message, also (above
    /// all) when it failed: a failed execute is a denied attempt.
    "txs" => Tx {
        height: i64,
        tx_index: i32,
        hash: String,
        sender: Option<String>,
        success: bool,
        code: i64,
        /// the failure's log (kept only for failures)
        log: Option<String>,
        gas_wanted: i64,
        gas_used: i64,
        contract: Option<String>,
        action: Option<String>,
        /// the execute message's JSON (an array when the tx carries several)
        msg: Option<JsonText>,
        decode_error: Option<String>,
    }
}

table! {
    /// Every event as the chain emitted it, attributes in order as `[[key, value], ...]`.
    "events" => Event at {
        kind: String,
        contract: Option<String>,
        action: Option<String>,
        attrs: JsonText,
    }
}

table! {
    /// An event of our contracts that the catalogue does not know or that does not decode:
    /// kept with the reason, never dropped.
    "quarantine" => Quarantined at {
        contract: Option<String>,
        reason: String,
        kind: String,
        attrs: JsonText,
    }
}
