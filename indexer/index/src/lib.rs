#![doc = include_str!("../README.md")]

pub mod block;
pub mod copy;
pub mod db;
pub mod decode;
pub mod error;
pub mod ingest;
pub mod ledger;
pub mod metrics;
pub mod source;
pub mod tables;
pub mod write;

pub use block::{RawBlock, RawTx};
pub use error::IngestError;
pub use ingest::{Commit, IngestConfig, IngestStats};
pub use tables::{Rows, Table, TABLES};
