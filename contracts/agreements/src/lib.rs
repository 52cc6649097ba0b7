//! datapact agreements: offers, signed agreements with escrowed payment, key deposit, access
//! checks and suspension.
#![doc = include_str!("../README.md")]

pub mod access;
pub mod contract;
mod error;
pub mod msg;
pub mod payment;
pub mod state;

pub use crate::error::ContractError;
