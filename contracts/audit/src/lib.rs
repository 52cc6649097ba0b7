//! datapact audit: sentinel alerts in a hash-chained, append-only log, and the suspensions
//! they trigger.
#![doc = include_str!("../README.md")]

pub mod alerts;
pub mod chain;
pub mod contract;
mod error;
pub mod msg;
pub mod queries;
pub mod roles;
pub mod state;

pub use crate::error::ContractError;
