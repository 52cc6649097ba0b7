#![doc = include_str!("../README.md")]

pub mod agreements;
pub mod consent;
pub mod events;
pub mod funds;
pub mod migrate;
pub mod registry;
pub mod validate;

pub use validate::ValidationError;

use cosmwasm_schema::cw_serde;

/// Identifier of a data asset in the registry.
pub type AssetId = u64;
/// Version number of an asset, starting at 1.
pub type VersionNo = u32;
/// Identifier of an offer in the agreements contract.
pub type OfferId = u64;
/// Identifier of a signed agreement.
pub type AgreementId = u64;
/// Identifier of a consent record.
pub type ConsentId = u64;
/// Sequence number of an audit log entry (alerts are identified by their entry).
pub type EntrySeq = u64;

/// Default page size of every list query.
pub const DEFAULT_LIMIT: u32 = 30;
/// Hard cap on every list query's page size.
pub const MAX_LIMIT: u32 = 100;

/// Hands out the next id from `counter` (the first is 1).
pub fn next_id(
    store: &mut dyn cosmwasm_std::Storage,
    counter: &cw_storage_plus::Item<u64>,
) -> cosmwasm_std::StdResult<u64> {
    let id = counter.may_load(store)?.unwrap_or_default() + 1;
    counter.save(store, &id)?;
    Ok(id)
}

/// Applies the default and the hard cap to a requested page size.
pub fn page_limit(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

/// How sensitive the data behind an asset is (GDPR art. 9 "special category" included).
#[cw_serde]
#[derive(Copy, Eq, PartialOrd, Ord)]
pub enum Sensitivity {
    Public,
    Internal,
    Personal,
    SpecialCategory,
}

impl Sensitivity {
    /// Whether the data is about people, so accesses to it are covered by consent rules.
    pub fn is_personal(self) -> bool {
        matches!(self, Sensitivity::Personal | Sensitivity::SpecialCategory)
    }
}

/// A reference to one immutable version of an asset.
#[cw_serde]
#[derive(Copy, Eq, PartialOrd, Ord, Hash)]
pub struct VersionRef {
    pub asset_id: AssetId,
    pub version: VersionNo,
}

impl VersionRef {
    /// Packs the reference into one storage key, ordered by asset then version.
    pub fn key(self) -> u128 {
        ((self.asset_id as u128) << 32) | self.version as u128
    }

    /// Inverse of [`VersionRef::key`].
    pub fn from_key(key: u128) -> Self {
        VersionRef {
            asset_id: (key >> 32) as u64,
            version: (key & 0xffff_ffff) as u32,
        }
    }
}

impl std::fmt::Display for VersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.asset_id, self.version)
    }
}

/// Severity of an audit alert, ordered from least to most severe.
#[cw_serde]
#[derive(Copy, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The snake_case name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Claims attested on the registry whose meaning the off-chain tools share.
pub mod claims {
    /// A quality checker's verdict that a version's file passed every check (`datapact quality
    /// --attest`); the evidence hash is the SHA-256 of the verdict's JSON report.
    pub const QUALITY_PASSED: &str = "quality.passed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_key_round_trips_and_orders_by_asset_then_version() {
        let a = VersionRef {
            asset_id: 7,
            version: u32::MAX,
        };
        let b = VersionRef {
            asset_id: 8,
            version: 1,
        };
        assert_eq!(VersionRef::from_key(a.key()), a);
        assert_eq!(VersionRef::from_key(b.key()), b);
        assert!(a.key() < b.key());
        let max = VersionRef {
            asset_id: u64::MAX,
            version: u32::MAX,
        };
        assert_eq!(VersionRef::from_key(max.key()), max);
    }

    #[test]
    fn page_limit_applies_default_and_cap() {
        assert_eq!(page_limit(None), DEFAULT_LIMIT as usize);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(10_000)), MAX_LIMIT as usize);
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Info < Severity::Low);
        assert!(Severity::High < Severity::Critical);
    }
}
