//! The registry's events.

use datapact_types::events::{action as a, key as k};

use super::attrs::{EventAttrs, Undecodable};
use crate::tables::{Asset, AssetChange, Attestation, LineageEdge, Pos, Rows, Version};

pub fn decode(
    action: &str,
    sender: &str,
    e: &EventAttrs,
    at: Pos,
    out: &mut Rows,
) -> Result<(), Undecodable> {
    match action {
        a::REGISTER_ASSET => out.assets.push(Asset {
            at,
            asset_id: e.number(k::ASSET_ID)?,
            owner: e.text(k::OWNER)?.into(),
            sensitivity: e.text(k::SENSITIVITY)?.into(),
        }),
        a::PUBLISH_VERSION => {
            let asset_id = e.number(k::ASSET_ID)?;
            let version = e.small_number(k::VERSION)?;
            for (parent_asset, parent_version) in parse_parents(e.text(k::PARENTS)?)? {
                out.lineage_edges.push(LineageEdge {
                    at,
                    parent_asset,
                    parent_version,
                    child_asset: asset_id,
                    child_version: version,
                });
            }
            out.versions.push(Version {
                at,
                asset_id,
                version,
                publisher: sender.into(),
                content_hash: e.text(k::CONTENT_HASH)?.into(),
                schema_hash: e.optional(k::SCHEMA_HASH).map(str::to_string),
            });
        }
        a::ATTEST | a::REVOKE_ATTESTATION => out.attestations.push(Attestation {
            at,
            asset_id: e.number(k::ASSET_ID)?,
            version: e.small_number(k::VERSION)?,
            attestor: e.text(k::ATTESTOR)?.into(),
            claim: e.text(k::CLAIM)?.into(),
            evidence_hash: e.optional(k::EVIDENCE_HASH).map(str::to_string),
            revoked: action == a::REVOKE_ATTESTATION,
        }),
        // stewards, ownership, tombstones
        change => out.asset_changes.push(AssetChange {
            at,
            asset_id: e.number(k::ASSET_ID)?,
            change: change.into(),
            actor: sender.into(),
            party: e
                .optional(k::STEWARD)
                .or(e.optional(k::NEW_OWNER))
                .or(e.optional(k::PREVIOUS_OWNER))
                .map(str::to_string),
        }),
    }
    Ok(())
}

/// `asset@version,asset@version` into pairs.
pub fn parse_parents(v: &str) -> Result<Vec<(i64, i32)>, Undecodable> {
    if v.is_empty() {
        return Ok(vec![]);
    }
    v.split(',')
        .map(|p| {
            let (asset, version) = p
                .split_once('@')
                .ok_or_else(|| Undecodable(format!("parent {p:?} is not asset@version")))?;
            let asset = asset
                .parse::<u64>()
                .ok()
                .and_then(|a| i64::try_from(a).ok())
                .ok_or_else(|| Undecodable(format!("parent {p:?}: bad asset id")))?;
            let version = version
                .parse::<u32>()
                .ok()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| Undecodable(format!("parent {p:?}: bad version")))?;
            Ok((asset, version))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_edges_come_from_the_parents_attribute() {
        assert_eq!(parse_parents("").unwrap(), vec![]);
        assert_eq!(parse_parents("3@1,4@2").unwrap(), vec![(3, 1), (4, 2)]);
        assert!(parse_parents("3-1").is_err());
        assert!(parse_parents("3@-1").is_err());
    }
}
