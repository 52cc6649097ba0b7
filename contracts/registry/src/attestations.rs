//! Attestations: any address may attest a claim about a version; only it may revoke.

use cosmwasm_std::{Deps, DepsMut, Env, MessageInfo, Order, Response, StdResult};
use cw_storage_plus::Bound;
use datapact_types::events::{action, key, response};
use datapact_types::{page_limit, validate, AssetId, VersionNo, VersionRef};

use crate::assets::load_asset;
use crate::error::ContractError;
use crate::msg::{AttestationCursor, AttestationsResponse};
use crate::state::{Attestation, ATTESTATIONS, VERSIONS};

fn version_key(asset_id: AssetId, version: VersionNo) -> u128 {
    VersionRef { asset_id, version }.key()
}

pub fn execute_attest(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
    version: VersionNo,
    claim: String,
    evidence_hash: String,
) -> Result<Response, ContractError> {
    let asset = load_asset(deps.as_ref(), asset_id)?;
    if asset.is_tombstoned() {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    if !VERSIONS.has(deps.storage, (asset_id, version)) {
        return Err(ContractError::VersionNotFound { asset_id, version });
    }
    validate::slug("claim", &claim)?;
    validate::hash("evidence_hash", &evidence_hash)?;
    let k = (version_key(asset_id, version), &info.sender, claim.as_str());
    if let Some(existing) = ATTESTATIONS.may_load(deps.storage, k)? {
        if existing.revoked_height.is_none() {
            return Err(ContractError::AlreadyAttested {
                asset_id,
                version,
                attestor: info.sender.into_string(),
                claim,
            });
        }
    }
    ATTESTATIONS.save(
        deps.storage,
        k,
        &Attestation {
            asset_id,
            version,
            attestor: info.sender.clone(),
            claim: claim.clone(),
            evidence_hash: evidence_hash.clone(),
            height: env.block.height,
            revoked_height: None,
        },
    )?;
    Ok(response(action::ATTEST, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::VERSION, version.to_string())
        .add_attribute(key::ATTESTOR, info.sender.as_str())
        .add_attribute(key::CLAIM, claim)
        .add_attribute(key::EVIDENCE_HASH, evidence_hash))
}

pub fn execute_revoke_attestation(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
    version: VersionNo,
    claim: String,
) -> Result<Response, ContractError> {
    let k = (version_key(asset_id, version), &info.sender, claim.as_str());
    let mut att = match ATTESTATIONS.may_load(deps.storage, k)? {
        Some(a) if a.revoked_height.is_none() => a,
        _ => {
            return Err(ContractError::AttestationNotFound {
                asset_id,
                version,
                attestor: info.sender.into_string(),
                claim,
            })
        }
    };
    att.revoked_height = Some(env.block.height);
    ATTESTATIONS.save(deps.storage, k, &att)?;
    Ok(response(action::REVOKE_ATTESTATION, &info.sender)
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::VERSION, version.to_string())
        .add_attribute(key::ATTESTOR, info.sender.as_str())
        .add_attribute(key::CLAIM, claim))
}

pub fn list_attestations(
    deps: Deps,
    asset_id: AssetId,
    version: VersionNo,
    start_after: Option<AttestationCursor>,
    limit: Option<u32>,
) -> StdResult<AttestationsResponse> {
    // the cursor's address is validated before it bounds the range
    let cursor = start_after
        .map(|c| deps.api.addr_validate(&c.attestor).map(|a| (a, c.claim)))
        .transpose()?;
    let min = cursor
        .as_ref()
        .map(|(a, c)| Bound::exclusive((a, c.as_str())));
    let attestations = ATTESTATIONS
        .sub_prefix(version_key(asset_id, version))
        .range(deps.storage, min, None, Order::Ascending)
        .take(page_limit(limit))
        .map(|r| r.map(|(_, a)| a))
        .collect::<StdResult<_>>()?;
    Ok(AttestationsResponse { attestations })
}
