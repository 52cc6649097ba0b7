//! The stored layout of 0.1.0, kept to migrate from it.

use cosmwasm_std::Addr;
use cw_storage_plus::Map;

/// 0.1.0: the wallet each pseudonym was bound to, by first use (no proof).
pub const PSEUDONYMS: Map<&str, Addr> = Map::new("pseudonyms");
