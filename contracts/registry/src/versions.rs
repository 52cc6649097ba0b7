//! Versions and lineage. A version names only parents that already exist, so the lineage
//! graph is acyclic by construction: no cycle check is ever needed.

use std::collections::{BTreeSet, VecDeque};

use cosmwasm_std::{Deps, DepsMut, Env, MessageInfo, Order, Response, StdError, StdResult};
use cw_storage_plus::Bound;
use datapact_types::events::{action, key, response};
use datapact_types::validate::{self, MAX_URI_LEN};
use datapact_types::{page_limit, AssetId, VersionNo, VersionRef};

use crate::assets::{load_asset, unauthorized};
use crate::error::ContractError;
use crate::msg::{
    LineageDirection, LineageEdge, LineageNode, LineageResponse, VersionResponse, VersionsResponse,
};
use crate::state::{Version, ASSETS, CHILDREN, MAX_PARENTS, MAX_VERSIONS, VERSIONS, VERSION_URIS};

/// Default and cap of a lineage walk's depth.
pub const MAX_LINEAGE_DEPTH: u32 = 16;
/// Most nodes one lineage answer carries.
pub const MAX_LINEAGE_NODES: usize = 200;

#[allow(clippy::too_many_arguments)]
pub fn execute_publish_version(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
    content_hash: String,
    schema_hash: Option<String>,
    uri: Option<String>,
    parents: Vec<VersionRef>,
) -> Result<Response, ContractError> {
    let mut asset = load_asset(deps.as_ref(), asset_id)?;
    // only the asset's owner or a steward may publish
    if asset.owner != info.sender && !asset.is_steward(&info.sender) {
        return Err(unauthorized(&info.sender, "owner or a steward", asset_id));
    }
    if asset.is_tombstoned() {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    if asset.latest_version >= MAX_VERSIONS {
        return Err(ContractError::TooManyVersions {
            asset_id,
            max: MAX_VERSIONS,
        });
    }
    validate::hash("content_hash", &content_hash)?;
    if let Some(h) = &schema_hash {
        validate::hash("schema_hash", h)?;
    }
    if let Some(u) = &uri {
        validate::required_text("uri", u, MAX_URI_LEN)?;
    }
    if parents.len() > MAX_PARENTS {
        return Err(ContractError::TooManyParents {
            max: MAX_PARENTS,
            got: parents.len(),
        });
    }
    for (i, p) in parents.iter().enumerate() {
        if parents[..i].contains(p) {
            return Err(ContractError::DuplicateParent {
                asset_id: p.asset_id,
                version: p.version,
            });
        }
        if !VERSIONS.has(deps.storage, (p.asset_id, p.version)) {
            return Err(ContractError::ParentNotFound {
                asset_id: p.asset_id,
                version: p.version,
            });
        }
    }

    let number = asset.latest_version + 1;
    let me = VersionRef {
        asset_id,
        version: number,
    };
    let version = Version {
        asset_id,
        version: number,
        content_hash: content_hash.clone(),
        schema_hash: schema_hash.clone(),
        uri: None,
        parents: parents.clone(),
        publisher: info.sender.clone(),
        height: env.block.height,
        time: env.block.time,
    };
    VERSIONS.save(deps.storage, (asset_id, number), &version)?;
    if let Some(u) = uri {
        VERSION_URIS.save(deps.storage, (asset_id, number), &u)?;
    }
    for p in &parents {
        CHILDREN.save(deps.storage, (p.key(), me.key()), &())?;
    }
    asset.latest_version = number;
    ASSETS.save(deps.storage, asset_id, &asset)?;

    let parents_attr = parents
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut res = response(action::PUBLISH_VERSION, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::VERSION, number.to_string())
        .add_attribute(key::CONTENT_HASH, content_hash)
        .add_attribute(key::PARENTS, parents_attr);
    if let Some(h) = schema_hash {
        res = res.add_attribute(key::SCHEMA_HASH, h);
    }
    Ok(res)
}

fn with_uri(deps: Deps, mut v: Version) -> StdResult<Version> {
    v.uri = VERSION_URIS.may_load(deps.storage, (v.asset_id, v.version))?;
    Ok(v)
}

pub fn query_version(
    deps: Deps,
    asset_id: AssetId,
    version: VersionNo,
) -> StdResult<VersionResponse> {
    let v = VERSIONS
        .may_load(deps.storage, (asset_id, version))?
        .ok_or_else(|| StdError::msg(format!("version {version} of asset {asset_id} not found")))?;
    Ok(VersionResponse {
        version: with_uri(deps, v)?,
    })
}

pub fn list_versions(
    deps: Deps,
    asset_id: AssetId,
    start_after: Option<VersionNo>,
    limit: Option<u32>,
) -> StdResult<VersionsResponse> {
    let versions = VERSIONS
        .prefix(asset_id)
        .range(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit))
        .map(|r| r.and_then(|(_, v)| with_uri(deps, v)))
        .collect::<StdResult<_>>()?;
    Ok(VersionsResponse { versions })
}

/// The versions one step away from `v` in `direction`.
/// At most `at_most` neighbours of `v`: anyone may attach children to a version, so the walk
/// never loads more than it can still return.
fn neighbours(
    deps: Deps,
    v: VersionRef,
    direction: LineageDirection,
    at_most: usize,
) -> StdResult<Vec<VersionRef>> {
    match direction {
        LineageDirection::Ancestors => {
            let mut parents = VERSIONS
                .load(deps.storage, (v.asset_id, v.version))?
                .parents;
            parents.truncate(at_most);
            Ok(parents)
        }
        LineageDirection::Descendants => CHILDREN
            .prefix(v.key())
            .keys(deps.storage, None, None, Order::Ascending)
            .take(at_most)
            .map(|k| k.map(VersionRef::from_key))
            .collect(),
    }
}

pub fn query_lineage(
    deps: Deps,
    asset_id: AssetId,
    version: VersionNo,
    direction: LineageDirection,
    max_depth: Option<u32>,
) -> StdResult<LineageResponse> {
    let max_depth = max_depth.unwrap_or(MAX_LINEAGE_DEPTH);
    if max_depth == 0 || max_depth > MAX_LINEAGE_DEPTH {
        return Err(StdError::msg(
            ContractError::InvalidDepth {
                max: MAX_LINEAGE_DEPTH,
                got: max_depth,
            }
            .to_string(),
        ));
    }
    let root = VersionRef { asset_id, version };
    if !VERSIONS.has(deps.storage, (asset_id, version)) {
        return Err(StdError::msg(format!(
            "version {version} of asset {asset_id} not found"
        )));
    }
    let mut seen = BTreeSet::from([root]);
    let mut queue = VecDeque::from([(root, 0u32)]);
    let mut nodes = vec![];
    let mut edges = vec![];
    let mut truncated = false;
    while let Some((v, depth)) = queue.pop_front() {
        // one more than still fits tells whether the walk was cut short
        let room = MAX_LINEAGE_NODES.saturating_sub(nodes.len()) + 1;
        let next = neighbours(deps, v, direction, room)?;
        if depth == max_depth {
            truncated |= !next.is_empty();
            continue;
        }
        for n in next {
            edges.push(match direction {
                LineageDirection::Ancestors => LineageEdge {
                    parent: n,
                    child: v,
                },
                LineageDirection::Descendants => LineageEdge {
                    parent: v,
                    child: n,
                },
            });
            if seen.insert(n) {
                if nodes.len() == MAX_LINEAGE_NODES {
                    truncated = true;
                    queue.clear();
                    break;
                }
                nodes.push(LineageNode {
                    version: n,
                    depth: depth + 1,
                });
                queue.push_back((n, depth + 1));
            }
        }
    }
    Ok(LineageResponse {
        root,
        direction,
        nodes,
        edges,
        truncated,
    })
}
