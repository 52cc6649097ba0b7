//! `migrate`: from any released layout to this one, or a refusal that names what it cannot
//! read. Nothing is written unless every record reads.
//!
//! From 0.1.0: agreements stored as one record move into the split layout; the one
//! suspension per consumer becomes a suspension per (consumer, alert); agreements keep the
//! vesting they were signed under (`term_vesting: false`), and one the provider suspends now
//! withholds its time from the upgrade on.

use cosmwasm_std::{Addr, DepsMut, Env, Order, Response, StdResult};
use datapact_types::migrate::{migrate_response, migrate_version, MigrationError};
use datapact_types::AgreementId;

use crate::error::ContractError;
use crate::msg::MigrateMsg;
use crate::state::{
    add_suspension, save_agreement, Agreement, AgreementStatus, ConsumerSuspension, ACCESS_COUNTS,
    ACCESS_TERMS, CONTRACT_NAME, CONTRACT_VERSION,
};
use crate::v1_state::{AgreementV1, AGREEMENTS_V1, SUSPENDED_CONSUMERS_V1};

pub fn migrate(deps: DepsMut, env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    let from = migrate_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    // read everything of the old layouts first: a record that does not read stops the
    // migration before anything is written
    let single = read_one_by_one(&deps)?;
    let suspensions: Vec<(Addr, ConsumerSuspension)> = SUSPENDED_CONSUMERS_V1
        .range(deps.storage, None, None, Order::Ascending)
        .collect::<StdResult<_>>()
        .map_err(|e| unreadable("a consumer suspension (0.1.0)", e))?;
    for (id, old) in &single {
        let a = Agreement {
            id: *id,
            offer_id: old.offer_id,
            asset_id: old.asset_id,
            provider: old.provider.clone(),
            consumer: old.consumer.clone(),
            purpose: old.purpose.clone(),
            terms: old.terms.clone(),
            consumer_public_key: old.consumer_public_key.clone(),
            status: old.status,
            signed_at: old.signed_at,
            signed_height: old.signed_height,
            expires_at: old.expires_at,
            access_count: old.access_count,
            wrapped_key: old.wrapped_key.clone(),
            key_deposited_at: old.key_deposited_at,
            terminated_at: old.terminated_at,
            paid_to_provider: old.paid_to_provider,
            refunded_to_consumer: old.refunded_to_consumer,
            paused_seconds: 0,
            suspended_since: None,
            term_vesting: false,
        };
        save_agreement(deps.storage, &a)?;
        ACCESS_COUNTS.save(deps.storage, *id, &old.access_count)?;
        AGREEMENTS_V1.remove(deps.storage, *id);
    }
    for (consumer, s) in &suspensions {
        add_suspension(deps.storage, consumer, s)?;
        SUSPENDED_CONSUMERS_V1.remove(deps.storage, consumer);
    }
    // an agreement its provider suspends now stops vesting from the upgrade on
    let suspended: Vec<AgreementId> = ACCESS_TERMS
        .range(deps.storage, None, None, Order::Ascending)
        .filter_map(|r| match r {
            Ok((id, t)) if t.status == AgreementStatus::Suspended => Some(Ok(id)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<StdResult<_>>()
        .map_err(|e| unreadable("an agreement's access terms", e))?;
    for id in suspended {
        let mut a = crate::state::load_agreement(deps.storage, id)?;
        if a.suspended_since.is_none() {
            a.suspended_since = Some(env.block.time);
            save_agreement(deps.storage, &a)?;
        }
    }
    Ok(migrate_response(CONTRACT_NAME, &from, CONTRACT_VERSION))
}

fn unreadable(what: &str, e: cosmwasm_std::StdError) -> ContractError {
    MigrationError::unreadable(what, e).into()
}

/// Reads the single-record agreements one at a time, to name the first that does not read.
fn read_one_by_one(deps: &DepsMut) -> Result<Vec<(AgreementId, AgreementV1)>, ContractError> {
    let ids: Vec<AgreementId> = AGREEMENTS_V1
        .keys(deps.storage, None, None, Order::Ascending)
        .collect::<StdResult<_>>()?;
    ids.into_iter()
        .map(|id| {
            AGREEMENTS_V1
                .load(deps.storage, id)
                .map(|a| (id, a))
                .map_err(|e| unreadable(&format!("agreement {id} (stored as one record)"), e))
        })
        .collect()
}
