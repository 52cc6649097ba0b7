#![doc = include_str!("../README.md")]

pub mod client;
pub mod deploy;
pub mod keys;
pub mod localnet;
pub mod process;
pub mod tx;

pub use client::{block_with_results, rpc_error, rpc_message, Chain, ChainError, FeePolicy};
pub use deploy::{Deployed, Deployment};
pub use tx::{TxEvent, TxOutcome};
