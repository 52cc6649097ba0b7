//! datapact consent: subjects give and withdraw consent, by wallet or by off-chain signature.
#![doc = include_str!("../README.md")]

pub mod contract;
mod error;
pub mod grants;
pub mod migration;
pub mod msg;
pub mod pseudonyms;
pub mod queries;
pub mod signed;
pub mod state;
pub mod v1_state;
pub mod withdrawals;

pub use crate::error::ContractError;
