//! The access rule, in one place: `RecordAccess` enforces it, `CanAccess` reports it.

use cosmwasm_std::{Addr, Deps, Env, StdResult};
use datapact_types::agreements::DenyReason;
use datapact_types::consent::ConsentContract;
use datapact_types::registry::RegistryContract;

use crate::state::{AccessTerms, AgreementStatus, Config, SUSPENDED_CONSUMERS};

/// Checks one access under the agreement whose access terms are `a` and which has recorded
/// `access_count` accesses, at the current block. The outer error is a failed query to a peer
/// contract; the inner one the first rule the access breaks.
pub fn check_access(
    deps: Deps,
    env: &Env,
    config: &Config,
    a: &AccessTerms,
    access_count: u64,
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
    if a.access_cap.is_some_and(|cap| access_count >= cap) {
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
    Ok(SUSPENDED_CONSUMERS.has(deps.storage, consumer))
}
