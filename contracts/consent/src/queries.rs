//! What anyone may ask: is consent in force, records, their history, nonces.

use cosmwasm_std::{Deps, Env, Order, StdResult, Timestamp};
use cw_storage_plus::Bound;
use datapact_types::consent::{ConsentRecord, ConsentStatusResponse};
use datapact_types::{page_limit, AssetId, ConsentId};

use crate::error::ContractError;
use crate::msg::{
    ConsentResponse, ConsentsInForceResponse, ConsentsResponse, HistoryResponse, NonceResponse,
    PseudonymResponse,
};
use crate::state::{
    ACTIVE, BY_CONTROLLER, BY_PAIR, BY_SUBJECT, CONSENTS, HISTORY, MAX_ACTIVE_PER_PAIR,
    MAX_HISTORY_SCAN, MAX_SUBJECTS_PER_QUERY, NONCES, PSEUDONYM_BINDINGS,
};

pub fn consents_in_force(
    deps: Deps,
    env: &Env,
    controller: String,
    asset_id: AssetId,
    purpose: String,
    subjects: Vec<String>,
) -> StdResult<ConsentsInForceResponse> {
    if subjects.len() > MAX_SUBJECTS_PER_QUERY {
        return Err(cosmwasm_std::StdError::msg(
            ContractError::TooManySubjects {
                max: MAX_SUBJECTS_PER_QUERY,
                got: subjects.len(),
            }
            .to_string(),
        ));
    }
    let mut in_force = Vec::new();
    for subject in subjects {
        let status = query_consent_status(
            deps,
            env,
            subject.clone(),
            controller.clone(),
            asset_id,
            purpose.clone(),
            None,
        )?;
        if status.granted {
            in_force.push(subject);
        }
    }
    Ok(ConsentsInForceResponse { in_force })
}

pub fn query_pseudonym(deps: Deps, subject: String) -> StdResult<PseudonymResponse> {
    let binding = PSEUDONYM_BINDINGS.may_load(deps.storage, &subject)?;
    Ok(PseudonymResponse { subject, binding })
}

pub fn query_consent(deps: Deps, consent_id: ConsentId) -> StdResult<ConsentResponse> {
    let consent = CONSENTS.load(deps.storage, consent_id)?;
    Ok(ConsentResponse { consent })
}

pub fn list_history(
    deps: Deps,
    consent_id: ConsentId,
    start_after: Option<u32>,
    limit: Option<u32>,
) -> StdResult<HistoryResponse> {
    let changes = HISTORY
        .prefix(consent_id)
        .range(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit))
        .map(|r| r.map(|(_, c)| c))
        .collect::<StdResult<_>>()?;
    Ok(HistoryResponse { changes })
}

pub fn list_by_subject(
    deps: Deps,
    subject: String,
    start_after: Option<ConsentId>,
    limit: Option<u32>,
) -> StdResult<ConsentsResponse> {
    let ids = BY_SUBJECT
        .prefix(&subject)
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit));
    load_all(deps, ids)
}

pub fn list_by_controller(
    deps: Deps,
    controller: String,
    start_after: Option<ConsentId>,
    limit: Option<u32>,
) -> StdResult<ConsentsResponse> {
    let controller = deps.api.addr_validate(&controller)?;
    let ids = BY_CONTROLLER
        .prefix(&controller)
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit));
    load_all(deps, ids)
}

pub fn query_nonce(deps: Deps, subject: String) -> StdResult<NonceResponse> {
    let next_nonce = NONCES.may_load(deps.storage, &subject)?.unwrap_or_default();
    Ok(NonceResponse {
        subject,
        next_nonce,
    })
}

fn load_all(
    deps: Deps,
    ids: impl Iterator<Item = StdResult<ConsentId>>,
) -> StdResult<ConsentsResponse> {
    let consents = ids
        .map(|id| id.and_then(|id| CONSENTS.load(deps.storage, id)))
        .collect::<StdResult<_>>()?;
    Ok(ConsentsResponse { consents })
}

pub fn query_consent_status(
    deps: Deps,
    env: &Env,
    subject: String,
    controller: String,
    asset_id: AssetId,
    purpose: String,
    at: Option<Timestamp>,
) -> StdResult<ConsentStatusResponse> {
    let controller = deps.api.addr_validate(&controller)?;
    let (index, instant, scan) = match at {
        // now: only records not withdrawn can be in force
        None => (ACTIVE, env.block.time, MAX_ACTIVE_PER_PAIR),
        Some(t) => (BY_PAIR, t, MAX_HISTORY_SCAN),
    };
    let mut latest: Option<ConsentRecord> = None;
    for id in index
        .prefix((&subject, &controller))
        .keys(deps.storage, None, None, Order::Descending)
        .take(scan)
    {
        let record = CONSENTS.load(deps.storage, id?)?;
        if !record.covers(asset_id, &purpose) {
            continue;
        }
        if record.in_force_at(instant) {
            return Ok(ConsentStatusResponse {
                granted: true,
                record: Some(record),
            });
        }
        latest.get_or_insert(record);
    }
    if latest.is_none() && at.is_none() {
        // say which withdrawn record decided, if there is one
        for id in BY_PAIR
            .prefix((&subject, &controller))
            .keys(deps.storage, None, None, Order::Descending)
            .take(MAX_HISTORY_SCAN)
        {
            let record = CONSENTS.load(deps.storage, id?)?;
            if record.covers(asset_id, &purpose) {
                latest = Some(record);
                break;
            }
        }
    }
    Ok(ConsentStatusResponse {
        granted: false,
        record: latest,
    })
}
