//! The access rule, in one place: `RecordAccess` enforces it, `CanAccess` reports it.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Order, Response, StdResult};
use datapact_types::agreements::{CanAccessResponse, DenyReason};
use datapact_types::consent::ConsentContract;
use datapact_types::events::{action, key, response};
use datapact_types::registry::RegistryContract;
use datapact_types::{AgreementId, AssetId};

use crate::error::ContractError;
use crate::state::{
    AccessTerms, AgreementStatus, Config, ACCESS_COUNTS, ACCESS_TERMS, BY_CONSUMER_ASSET, CONFIG,
    MAX_ACCESS_SCAN, SUSPENSION_COUNTS,
};

/// Checks one access under the agreement whose access terms are `a` and which has recorded
/// `access_count` accesses, at the current block; `None` for an access already recorded
/// (counted against the cap when it was recorded), which the cap no longer refuses. The outer
/// error is a failed query to a peer contract; the inner one the first rule the access breaks.
pub fn check_access(
    deps: Deps,
    env: &Env,
    config: &Config,
    a: &AccessTerms,
    access_count: Option<u64>,
    purpose: &str,
    subject: Option<&str>,
) -> StdResult<Result<(), DenyReason>> {
    if is_suspended(deps, &a.consumer)? {
        return Ok(Err(DenyReason::ConsumerSuspended));
    }
    match a.status {
        AgreementStatus::Suspended => return Ok(Err(DenyReason::AgreementSuspended)),
        AgreementStatus::Terminated => return Ok(Err(DenyReason::AgreementTerminated)),
        AgreementStatus::Active => {}
    }
    if env.block.time >= a.expires_at {
        return Ok(Err(DenyReason::AgreementExpired));
    }
    if matches!((a.access_cap, access_count), (Some(cap), Some(count)) if count >= cap) {
        return Ok(Err(DenyReason::CapReached));
    }
    if a.purpose != purpose {
        return Ok(Err(DenyReason::PurposeNotPermitted));
    }
    // agreements exist only for assets that existed; only a tombstone can end one
    if RegistryContract(config.registry.clone()).is_tombstoned(&deps.querier, a.asset_id)? {
        return Ok(Err(DenyReason::AssetTombstoned));
    }
    if a.consent_required {
        let Some(subject) = subject else {
            return Ok(Err(DenyReason::SubjectRequired));
        };
        // the provider is the controller the subject consents to
        let granted = ConsentContract(config.consent.clone()).is_granted(
            &deps.querier,
            subject,
            &a.provider,
            a.asset_id,
            purpose,
        )?;
        if !granted {
            return Ok(Err(DenyReason::ConsentNotGranted));
        }
    }
    Ok(Ok(()))
}

pub fn is_suspended(deps: Deps, consumer: &Addr) -> StdResult<bool> {
    // suspended while any alert's suspension stands: one key read
    Ok(SUSPENSION_COUNTS.has(deps.storage, consumer))
}

pub fn execute_record_access(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
    purpose: String,
    subject: Option<String>,
) -> Result<Response, ContractError> {
    // the hot path: read the small access record and the counter, write only the counter
    let a = ACCESS_TERMS
        .may_load(deps.storage, agreement_id)?
        .ok_or(ContractError::AgreementNotFound { id: agreement_id })?;
    if a.consumer != info.sender {
        return Err(ContractError::unauthorized(
            &info.sender,
            &format!("consumer of agreement {agreement_id}"),
        ));
    }
    let count = ACCESS_COUNTS
        .may_load(deps.storage, agreement_id)?
        .unwrap_or_default();
    let config = CONFIG.load(deps.storage)?;
    if let Err(reason) = check_access(
        deps.as_ref(),
        &env,
        &config,
        &a,
        Some(count),
        &purpose,
        subject.as_deref(),
    )? {
        return Err(ContractError::AccessDenied {
            agreement_id,
            reason,
        });
    }
    ACCESS_COUNTS.save(deps.storage, agreement_id, &(count + 1))?;
    let mut res = response(action::RECORD_ACCESS, &info.sender)
        .add_attribute(key::AGREEMENT_ID, agreement_id.to_string())
        .add_attribute(key::ASSET_ID, a.asset_id.to_string())
        .add_attribute(key::CONSUMER, a.consumer.as_str())
        .add_attribute(key::PURPOSE, purpose)
        .add_attribute(key::ACCESS_COUNT, (count + 1).to_string());
    if let Some(s) = subject {
        res = res.add_attribute(key::SUBJECT, s);
    }
    Ok(res)
}

pub fn query_can_access(
    deps: Deps,
    env: &Env,
    consumer: String,
    asset_id: AssetId,
    purpose: String,
    subject: Option<String>,
) -> StdResult<CanAccessResponse> {
    let consumer = deps.api.addr_validate(&consumer)?;
    let config = CONFIG.load(deps.storage)?;
    let mut first_refusal = None;
    for id in BY_CONSUMER_ASSET
        .prefix((&consumer, asset_id))
        .keys(deps.storage, None, None, Order::Descending)
        .take(MAX_ACCESS_SCAN)
    {
        let id = id?;
        let a = ACCESS_TERMS.load(deps.storage, id)?;
        let count = ACCESS_COUNTS
            .may_load(deps.storage, id)?
            .unwrap_or_default();
        match check_access(
            deps,
            env,
            &config,
            &a,
            Some(count),
            &purpose,
            subject.as_deref(),
        )? {
            Ok(()) => {
                return Ok(CanAccessResponse {
                    allowed: true,
                    agreement_id: Some(id),
                    reason: None,
                })
            }
            Err(reason) => {
                first_refusal.get_or_insert((id, reason));
            }
        }
    }
    Ok(match first_refusal {
        Some((id, reason)) => CanAccessResponse {
            allowed: false,
            agreement_id: Some(id),
            reason: Some(reason),
        },
        None => CanAccessResponse {
            allowed: false,
            agreement_id: None,
            reason: Some(datapact_types::agreements::DenyReason::NoAgreement),
        },
    })
}

/// The gateway's question for an access already recorded on `agreement_id`: the access rule
/// at this block for the agreement's own purpose, except the cap (the recorded access was
/// counted against it). A delivery after a suspension, a withdrawal of consent, the expiry or
/// a tombstone is refused even though its access was recorded before.
pub fn query_can_deliver(
    deps: Deps,
    env: &Env,
    agreement_id: AgreementId,
    subject: Option<String>,
) -> StdResult<CanAccessResponse> {
    let config = CONFIG.load(deps.storage)?;
    let Some(a) = ACCESS_TERMS.may_load(deps.storage, agreement_id)? else {
        return Ok(CanAccessResponse {
            allowed: false,
            agreement_id: None,
            reason: Some(DenyReason::NoAgreement),
        });
    };
    let purpose = a.purpose.clone();
    let verdict = check_access(deps, env, &config, &a, None, &purpose, subject.as_deref())?;
    Ok(CanAccessResponse {
        allowed: verdict.is_ok(),
        agreement_id: Some(agreement_id),
        reason: verdict.err(),
    })
}
