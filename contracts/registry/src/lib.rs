//! datapact registry: data assets, their immutable versions and lineage, attestations, and
//! erasure by tombstone.
#![doc = include_str!("../README.md")]

pub mod assets;
pub mod attestations;
pub mod contract;
mod error;
pub mod migration;
pub mod msg;
pub mod state;
pub mod versions;

pub use crate::error::ContractError;
