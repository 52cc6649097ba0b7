//! The one migration rule every contract applies: same contract, never a downgrade.

use cosmwasm_std::{Response, Storage};

use crate::events::{action, key};
use thiserror::Error;

/// Why a migration was refused.
#[derive(Error, Debug, PartialEq)]
pub enum MigrationError {
    #[error("cannot migrate: stored contract is {stored}, this code is {expected}")]
    WrongContract { stored: String, expected: String },
    #[error("cannot migrate from version {stored} to older version {new}")]
    Downgrade { stored: String, new: String },
    #[error("cannot migrate: version {version:?} is not semver")]
    BadVersion { version: String },
    #[error("cannot migrate: no cw2 version info stored")]
    NoVersionInfo,
    #[error("cannot migrate: {what} does not read as the layout it should have ({error}); nothing was changed")]
    UnreadableRecord { what: String, error: String },
}

impl MigrationError {
    /// An old record, described by `what`, that does not read as its layout.
    pub fn unreadable(what: impl Into<String>, error: impl std::fmt::Display) -> Self {
        MigrationError::UnreadableRecord {
            what: what.into(),
            error: error.to_string(),
        }
    }
}

/// Checks the stored cw2 info names this contract at an older or equal version, then stores
/// the new version. Returns the version migrated from.
pub fn migrate_version(
    storage: &mut dyn Storage,
    name: &str,
    version: &str,
) -> Result<String, MigrationError> {
    let stored = cw2::get_contract_version(storage).map_err(|_| MigrationError::NoVersionInfo)?;
    if stored.contract != name {
        return Err(MigrationError::WrongContract {
            stored: stored.contract,
            expected: name.to_string(),
        });
    }
    let parse = |v: &str| {
        semver::Version::parse(v).map_err(|_| MigrationError::BadVersion {
            version: v.to_string(),
        })
    };
    if parse(&stored.version)? > parse(version)? {
        return Err(MigrationError::Downgrade {
            stored: stored.version,
            new: version.to_string(),
        });
    }
    cw2::set_contract_version(storage, name, version).map_err(|_| MigrationError::NoVersionInfo)?;
    Ok(stored.version)
}

/// The `migrate` event: which contract, from which version, to which.
pub fn migrate_response(name: &str, from: &str, version: &str) -> Response {
    Response::new()
        .add_attribute(key::ACTION, action::MIGRATE)
        .add_attribute(key::CONTRACT_NAME, name)
        .add_attribute(key::FROM_VERSION, from)
        .add_attribute(key::CONTRACT_VERSION, version)
}

/// The whole `migrate` of a contract whose stored layout did not change: [`migrate_version`],
/// then the `migrate` event.
pub fn migrate(
    storage: &mut dyn Storage,
    name: &str,
    version: &str,
) -> Result<Response, MigrationError> {
    let from = migrate_version(storage, name, version)?;
    Ok(migrate_response(name, &from, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmwasm_std::testing::MockStorage;

    #[test]
    fn refuses_other_contract_and_downgrade_and_accepts_upgrade() {
        let mut s = MockStorage::new();
        assert_eq!(
            migrate_version(&mut s, "a", "1.0.0"),
            Err(MigrationError::NoVersionInfo)
        );
        cw2::set_contract_version(&mut s, "a", "1.2.0").unwrap();
        assert!(matches!(
            migrate_version(&mut s, "b", "2.0.0"),
            Err(MigrationError::WrongContract { .. })
        ));
        assert!(matches!(
            migrate_version(&mut s, "a", "1.1.9"),
            Err(MigrationError::Downgrade { .. })
        ));
        assert_eq!(
            migrate_version(&mut s, "a", "1.10.0"),
            Ok("1.2.0".to_string())
        );
        assert_eq!(cw2::get_contract_version(&s).unwrap().version, "1.10.0");
    }
}
