#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    to_json_binary, Addr, Binary, Deps, DepsMut, Env, MessageInfo, Order, Response, StdResult,
    Timestamp,
};
use cw_storage_plus::Bound;
use datapact_types::consent::{
    ConsentMethod, ConsentRecord, ConsentStatusResponse, ConsentTerms, SignedAction,
};
use datapact_types::events::{action, instantiate_response, key, response};
use datapact_types::validate::{self, is_key_subject, is_pseudonym};
use datapact_types::{next_id, page_limit, AssetId, ConsentId};

use crate::error::ContractError;
use crate::msg::{
    ConsentResponse, ConsentsResponse, ExecuteMsg, HistoryResponse, InstantiateMsg, MigrateMsg,
    NonceResponse, QueryMsg,
};
use crate::signed::verify_and_consume;
use crate::state::{
    ConsentState, StateChange, ACTIVE, BY_CONTROLLER, BY_PAIR, BY_SUBJECT, CONSENTS, CONTRACT_NAME,
    CONTRACT_VERSION, HISTORY, LAST_CONSENT_ID, MAX_ACTIVE_PER_PAIR, MAX_HISTORY_SCAN, NONCES,
    PSEUDONYMS,
};

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    _msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    Ok(instantiate_response(
        &info.sender,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    ))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    mut deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::Grant { subject, terms } => {
            let subject = wallet_subject(&deps, &info.sender, subject)?;
            let (id, record) = store_grant(
                deps,
                &env,
                &info.sender,
                subject,
                terms,
                ConsentMethod::Wallet,
            )?;
            Ok(grant_response(action::GRANT, &info.sender, id, &record))
        }
        ExecuteMsg::GrantSigned {
            terms,
            nonce,
            public_key,
            signature,
        } => {
            let subject = verify_and_consume(
                &mut deps,
                &env,
                SignedAction::Grant {
                    terms: terms.clone(),
                },
                nonce,
                &public_key,
                &signature,
            )?;
            let (id, record) = store_grant(
                deps,
                &env,
                &info.sender,
                subject,
                terms,
                ConsentMethod::Signature,
            )?;
            Ok(
                grant_response(action::GRANT_SIGNED, &info.sender, id, &record)
                    .add_attribute(key::NONCE, nonce.to_string()),
            )
        }
        ExecuteMsg::Withdraw { consent_id } => {
            let record = load(deps.as_ref(), consent_id)?;
            if !wallet_may_act_for(deps.as_ref(), &info.sender, &record.subject)? {
                return Err(ContractError::Unauthorized {
                    sender: info.sender.into_string(),
                    required_role: format!("subject of consent {consent_id}"),
                });
            }
            let record = store_withdrawal(deps, &env, &info.sender, record, ConsentMethod::Wallet)?;
            Ok(withdraw_response(action::WITHDRAW, &info.sender, &record))
        }
        ExecuteMsg::WithdrawSigned {
            consent_id,
            nonce,
            public_key,
            signature,
        } => {
            let record = load(deps.as_ref(), consent_id)?;
            let subject = verify_and_consume(
                &mut deps,
                &env,
                SignedAction::Withdraw { consent_id },
                nonce,
                &public_key,
                &signature,
            )?;
            if subject != record.subject {
                return Err(ContractError::Unauthorized {
                    sender: subject,
                    required_role: format!("signing key of consent {consent_id}'s subject"),
                });
            }
            let record =
                store_withdrawal(deps, &env, &info.sender, record, ConsentMethod::Signature)?;
            Ok(
                withdraw_response(action::WITHDRAW_SIGNED, &info.sender, &record)
                    .add_attribute(key::NONCE, nonce.to_string()),
            )
        }
    }
}

fn load(deps: Deps, id: ConsentId) -> Result<ConsentRecord, ContractError> {
    CONSENTS
        .may_load(deps.storage, id)?
        .ok_or(ContractError::ConsentNotFound { id })
}

/// The subject a wallet grants for: itself, or a `psn:` pseudonym bound to it on first use.
fn wallet_subject(
    deps: &DepsMut,
    sender: &Addr,
    subject: Option<String>,
) -> Result<String, ContractError> {
    let Some(subject) = subject else {
        return Ok(sender.to_string());
    };
    if subject == sender.as_str() {
        return Ok(subject);
    }
    if is_key_subject(&subject) {
        return Err(ContractError::KeySubjectNeedsSignature { subject });
    }
    if !is_pseudonym(&subject) {
        return Err(ContractError::SubjectNotSender {
            subject,
            sender: sender.to_string(),
        });
    }
    validate::pseudonym("subject", &subject)?;
    match PSEUDONYMS.may_load(deps.storage, &subject)? {
        Some(owner) if owner != *sender => Err(ContractError::PseudonymTaken { subject }),
        _ => Ok(subject),
    }
}

/// Whether `sender` may act for `subject` from its wallet.
fn wallet_may_act_for(deps: Deps, sender: &Addr, subject: &str) -> StdResult<bool> {
    if subject == sender.as_str() {
        return Ok(true);
    }
    if is_pseudonym(subject) {
        return Ok(PSEUDONYMS.may_load(deps.storage, subject)?.as_ref() == Some(sender));
    }
    Ok(false)
}

fn store_grant(
    deps: DepsMut,
    env: &Env,
    sender: &Addr,
    subject: String,
    terms: ConsentTerms,
    method: ConsentMethod,
) -> Result<(ConsentId, ConsentRecord), ContractError> {
    let controller = deps.api.addr_validate(&terms.controller)?;
    validate::slug_list("purposes", &terms.purposes)?;
    let now = env.block.time;
    if let Some(e) = terms.expires_at {
        if e <= now {
            return Err(ContractError::ExpiryInPast { expires_at: e, now });
        }
    }
    if is_pseudonym(&subject) {
        PSEUDONYMS.save(deps.storage, &subject, sender)?;
    }
    prune_expired(deps.storage, &subject, &controller, now)?;
    let active = ACTIVE
        .prefix((&subject, &controller))
        .keys(deps.storage, None, None, Order::Ascending)
        .count();
    if active >= MAX_ACTIVE_PER_PAIR {
        return Err(ContractError::TooManyActiveConsents {
            subject,
            controller: controller.into_string(),
            max: MAX_ACTIVE_PER_PAIR,
        });
    }

    let id = next_id(deps.storage, &LAST_CONSENT_ID)?;
    let record = ConsentRecord {
        id,
        subject: subject.clone(),
        controller: controller.clone(),
        scope: terms.scope,
        purposes: terms.purposes,
        legal_basis: terms.legal_basis,
        given_at: now,
        given_height: env.block.height,
        expires_at: terms.expires_at,
        withdrawn_at: None,
        withdrawn_height: None,
        method,
    };
    CONSENTS.save(deps.storage, id, &record)?;
    BY_SUBJECT.save(deps.storage, (&subject, id), &())?;
    BY_CONTROLLER.save(deps.storage, (&controller, id), &())?;
    BY_PAIR.save(deps.storage, (&subject, &controller, id), &())?;
    ACTIVE.save(deps.storage, (&subject, &controller, id), &())?;
    HISTORY.save(
        deps.storage,
        (id, 0),
        &StateChange {
            seq: 0,
            state: ConsentState::Given,
            height: env.block.height,
            time: now,
            sent_by: sender.clone(),
            method,
        },
    )?;
    Ok((id, record))
}

/// Drops expired records from the active index (they stay in history and the other indexes).
fn prune_expired(
    store: &mut dyn cosmwasm_std::Storage,
    subject: &str,
    controller: &Addr,
    now: Timestamp,
) -> StdResult<()> {
    let ids: Vec<ConsentId> = ACTIVE
        .prefix((subject, controller))
        .keys(store, None, None, Order::Ascending)
        .collect::<StdResult<_>>()?;
    for id in ids {
        let r = CONSENTS.load(store, id)?;
        if r.expires_at.is_some_and(|e| e <= now) {
            ACTIVE.remove(store, (subject, controller, id));
        }
    }
    Ok(())
}

fn store_withdrawal(
    deps: DepsMut,
    env: &Env,
    sender: &Addr,
    mut record: ConsentRecord,
    method: ConsentMethod,
) -> Result<ConsentRecord, ContractError> {
    if record.withdrawn_at.is_some() {
        return Err(ContractError::AlreadyWithdrawn { id: record.id });
    }
    record.withdrawn_at = Some(env.block.time);
    record.withdrawn_height = Some(env.block.height);
    CONSENTS.save(deps.storage, record.id, &record)?;
    ACTIVE.remove(
        deps.storage,
        (&record.subject, &record.controller, record.id),
    );
    HISTORY.save(
        deps.storage,
        (record.id, 1),
        &StateChange {
            seq: 1,
            state: ConsentState::Withdrawn,
            height: env.block.height,
            time: env.block.time,
            sent_by: sender.clone(),
            method,
        },
    )?;
    Ok(record)
}

fn grant_response(act: &str, sender: &Addr, id: ConsentId, r: &ConsentRecord) -> Response {
    let mut res = response(act, sender)
        .add_attribute(key::CONSENT_ID, id.to_string())
        .add_attribute(key::SUBJECT, &r.subject)
        .add_attribute(key::CONTROLLER, r.controller.as_str())
        .add_attribute(key::SCOPE, r.scope.to_event_value())
        .add_attribute(key::PURPOSES, r.purposes.join(","))
        .add_attribute(key::LEGAL_BASIS, r.legal_basis.as_str())
        .add_attribute(
            key::METHOD,
            match r.method {
                ConsentMethod::Wallet => "wallet",
                ConsentMethod::Signature => "signature",
            },
        );
    if let Some(e) = r.expires_at {
        res = res.add_attribute(key::EXPIRES_AT, e.seconds().to_string());
    }
    res
}

fn withdraw_response(act: &str, sender: &Addr, r: &ConsentRecord) -> Response {
    response(act, sender)
        .add_attribute(key::CONSENT_ID, r.id.to_string())
        .add_attribute(key::SUBJECT, &r.subject)
        .add_attribute(key::CONTROLLER, r.controller.as_str())
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::ConsentStatus {
            subject,
            controller,
            asset_id,
            purpose,
            at,
        } => to_json_binary(&query_consent_status(
            deps, &env, subject, controller, asset_id, purpose, at,
        )?),
        QueryMsg::Consent { consent_id } => {
            let consent = CONSENTS.load(deps.storage, consent_id)?;
            to_json_binary(&ConsentResponse { consent })
        }
        QueryMsg::History {
            consent_id,
            start_after,
            limit,
        } => {
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
            to_json_binary(&HistoryResponse { changes })
        }
        QueryMsg::BySubject {
            subject,
            start_after,
            limit,
        } => {
            let ids = BY_SUBJECT
                .prefix(&subject)
                .keys(
                    deps.storage,
                    start_after.map(Bound::exclusive),
                    None,
                    Order::Ascending,
                )
                .take(page_limit(limit));
            to_json_binary(&load_all(deps, ids)?)
        }
        QueryMsg::ByController {
            controller,
            start_after,
            limit,
        } => {
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
            to_json_binary(&load_all(deps, ids)?)
        }
        QueryMsg::Nonce { subject } => {
            let next_nonce = NONCES.may_load(deps.storage, &subject)?.unwrap_or_default();
            to_json_binary(&NonceResponse {
                subject,
                next_nonce,
            })
        }
    }
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

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, _env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    Ok(datapact_types::migrate::migrate(
        deps.storage,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    )?)
}
