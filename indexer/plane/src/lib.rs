#![doc = include_str!("../README.md")]

pub mod error;
pub mod policy;
pub mod proof;
pub mod seal;
pub mod segments;
pub mod table;

pub use error::PlaneError;
pub use policy::{policy, Policy};
pub use proof::{AccessProof, AccessRequest, VerifiedRequest};
pub use seal::{DataKey, PublicKey};
