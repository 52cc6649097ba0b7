//! datapact's native side: the chain client, the local chain, deployment and the workload
//! generator (and, as they land, the indexer, analytics, dashboard and sentinel).
//! `datapact --help` lists the commands; each module is one of them.

pub mod analytics;
pub mod chain;
pub mod cli;
pub mod db;
pub mod deploy;
pub mod ingest;
pub mod localnet;
pub mod metrics;
pub mod sentinel;
pub mod serve;
pub mod svg;
pub mod workload;
