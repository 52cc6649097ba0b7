//! Giving consent: from the subject's wallet (or a pseudonym it holds), or by a signature of
//! the subject's key that a relayer submits.

use cosmwasm_std::{Addr, DepsMut, Env, MessageInfo, Order, Response, StdResult, Timestamp};
use datapact_types::consent::{ConsentMethod, ConsentRecord, ConsentTerms, SignedAction};
use datapact_types::events::{action, key, response};
use datapact_types::validate::{self, is_key_subject, is_pseudonym};
use datapact_types::{next_id, ConsentId};

use crate::error::ContractError;
use crate::signed::{verify_and_consume, SignedAs};
use crate::state::{
    ConsentState, StateChange, ACTIVE, BY_CONTROLLER, BY_PAIR, BY_SUBJECT, CONSENTS, HISTORY,
    LAST_CONSENT_ID, MAX_ACTIVE_PER_PAIR, PSEUDONYM_BINDINGS,
};

pub fn execute_grant(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    subject: Option<String>,
    terms: ConsentTerms,
) -> Result<Response, ContractError> {
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

pub fn execute_grant_signed(
    mut deps: DepsMut,
    env: Env,
    info: MessageInfo,
    terms: ConsentTerms,
    nonce: u64,
    public_key: cosmwasm_std::Binary,
    signature: cosmwasm_std::Binary,
) -> Result<Response, ContractError> {
    let subject = verify_and_consume(
        &mut deps,
        &env,
        SignedAction::Grant {
            terms: terms.clone(),
        },
        nonce,
        &public_key,
        &signature,
        SignedAs::Key,
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

/// The subject a wallet grants for: itself, or a `psn:` pseudonym whose key has bound it.
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
    match PSEUDONYM_BINDINGS.may_load(deps.storage, &subject)? {
        Some(b) if b.wallet == *sender && b.proven => Ok(subject),
        Some(b) if b.wallet == *sender => Err(ContractError::PseudonymUnproven {
            subject,
            wallet: b.wallet.into_string(),
        }),
        _ => Err(ContractError::PseudonymNotBound {
            subject,
            sender: sender.to_string(),
        }),
    }
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
pub(crate) fn prune_expired(
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
