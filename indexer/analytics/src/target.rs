//! How a finding, an alert, a label of the synthetic histories and a forecast name what they
//! are about: `agreement:<id>`, `subject:<address>`, `asset:<id>` and `asset:<id>@<version>`.
//! Written and read through these functions alone.

use std::fmt::Display;

use datapact_types::{AgreementId, AssetId, VersionNo};

/// The target naming agreement `id`.
pub fn agreement(id: impl Display) -> String {
    format!("agreement:{id}")
}

/// The target naming the data subject at `address`.
pub fn subject(address: impl Display) -> String {
    format!("subject:{address}")
}

/// The target naming asset `id` (all its versions).
pub fn asset(id: impl Display) -> String {
    format!("asset:{id}")
}

/// The target naming `version` of `asset`.
pub fn version(asset: impl Display, version: impl Display) -> String {
    format!("asset:{asset}@{version}")
}

/// The agreement an `agreement:<id>` target names; None for any other.
pub fn agreement_of(t: &str) -> Option<AgreementId> {
    t.strip_prefix("agreement:")?.parse().ok()
}

/// The asset a target names (`asset:<id>` or `asset:<id>@<version>`); None for any other.
pub fn asset_of(t: &str) -> Option<AssetId> {
    t.strip_prefix("asset:")?.split('@').next()?.parse().ok()
}

/// The (asset, version) an `asset:<id>@<version>` target names; None for any other.
pub fn version_of(t: &str) -> Option<(AssetId, VersionNo)> {
    let (a, v) = t.strip_prefix("asset:")?.split_once('@')?;
    Some((a.parse().ok()?, v.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_target_reads_back_as_written_and_as_nothing_else(
            id in any::<u64>(),
            v in any::<u32>(),
        ) {
            prop_assert_eq!(agreement_of(&agreement(id)), Some(id));
            prop_assert_eq!(asset_of(&asset(id)), Some(id));
            prop_assert_eq!(asset_of(&version(id, v)), Some(id));
            prop_assert_eq!(version_of(&version(id, v)), Some((id, v)));
            prop_assert_eq!(version_of(&asset(id)), None);
            prop_assert_eq!(agreement_of(&asset(id)), None);
            prop_assert_eq!(asset_of(&agreement(id)), None);
            prop_assert_eq!(asset_of(&subject(id)), None);
        }
    }

    #[test]
    fn targets_that_do_not_parse_name_nothing() {
        for t in [
            "agreement:",
            "agreement:x",
            "agreement:-1",
            "asset:",
            "asset:x@1",
            "asset:1@",
            "subject:a",
            "",
        ] {
            assert_eq!(agreement_of(t), None, "{t}");
            assert_eq!(version_of(t), None, "{t}");
        }
        assert_eq!(
            asset_of("asset:99999999999999999999999@1"),
            None,
            "overflow"
        );
    }
}
