//! Withdrawing consent: one message, as easy as giving it, from the wallet or by signature.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use datapact_types::consent::{ConsentMethod, ConsentRecord, SignedAction};
use datapact_types::events::{action, key, response};
use datapact_types::validate::is_pseudonym;
use datapact_types::ConsentId;

use crate::error::ContractError;
use crate::signed::{verify_and_consume, SignedAs};
use crate::state::{ConsentState, StateChange, ACTIVE, CONSENTS, HISTORY, PSEUDONYM_BINDINGS};

pub fn execute_withdraw(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    consent_id: ConsentId,
) -> Result<Response, ContractError> {
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

pub fn execute_withdraw_signed(
    mut deps: DepsMut,
    env: Env,
    info: MessageInfo,
    consent_id: ConsentId,
    nonce: u64,
    public_key: cosmwasm_std::Binary,
    signature: cosmwasm_std::Binary,
) -> Result<Response, ContractError> {
    let record = load(deps.as_ref(), consent_id)?;
    // a pseudonym's key withdraws its consents whichever wallet gave them
    let role = if is_pseudonym(&record.subject) {
        SignedAs::Pseudonym
    } else {
        SignedAs::Key
    };
    let subject = verify_and_consume(
        &mut deps,
        &env,
        SignedAction::Withdraw { consent_id },
        nonce,
        &public_key,
        &signature,
        role,
    )?;
    if subject != record.subject {
        return Err(ContractError::Unauthorized {
            sender: subject,
            required_role: format!("signing key of consent {consent_id}'s subject"),
        });
    }
    let record = store_withdrawal(deps, &env, &info.sender, record, ConsentMethod::Signature)?;
    Ok(
        withdraw_response(action::WITHDRAW_SIGNED, &info.sender, &record)
            .add_attribute(key::NONCE, nonce.to_string()),
    )
}

fn load(deps: Deps, id: ConsentId) -> Result<ConsentRecord, ContractError> {
    CONSENTS
        .may_load(deps.storage, id)?
        .ok_or(ContractError::ConsentNotFound { id })
}

/// Whether `sender` may act for `subject` from its wallet.
fn wallet_may_act_for(deps: Deps, sender: &Addr, subject: &str) -> StdResult<bool> {
    if subject == sender.as_str() {
        return Ok(true);
    }
    if is_pseudonym(subject) {
        // a binding without proof (from before 0.2.0) may still withdraw what it gave
        return Ok(PSEUDONYM_BINDINGS
            .may_load(deps.storage, subject)?
            .is_some_and(|b| b.wallet == *sender));
    }
    Ok(false)
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

fn withdraw_response(act: &str, sender: &Addr, r: &ConsentRecord) -> Response {
    response(act, sender)
        .add_attribute(key::CONSENT_ID, r.id.to_string())
        .add_attribute(key::SUBJECT, &r.subject)
        .add_attribute(key::CONTROLLER, r.controller.as_str())
}
