//! datapact agreements: offers, signed agreements with escrowed payment, key deposit, access
//! checks and suspension.
#![doc = include_str!("../README.md")]

pub mod access;
pub mod admin;
pub mod contract;
mod error;
pub mod migration;
pub mod msg;
pub mod offers;
pub mod payment;
pub mod queries;
pub mod settlement;
pub mod signing;
pub mod state;
pub mod suspension;
pub mod v1_state;

pub use crate::error::ContractError;
