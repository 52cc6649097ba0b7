//! Suspensions: the provider suspends and resumes one agreement; the audit contract suspends
//! every agreement of a consumer and lifts it.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Response};
use datapact_types::events::{key, response};
use datapact_types::{AgreementId, EntrySeq};

use crate::error::ContractError;
use crate::payment::withheld_seconds;
use crate::state::{
    add_suspension, load_agreement, remove_suspension, save_agreement, AgreementStatus,
    ConsumerSuspension, ACCESS_TERMS, CONFIG,
};
use datapact_types::events::action;

/// The provider suspends (`to` = Suspended) or resumes an agreement. The time it stays
/// suspended after delivering the key is withheld from the consumer, so it does not vest.
pub fn execute_set_status(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
    from: AgreementStatus,
    to: AgreementStatus,
    act: &str,
) -> Result<Response, ContractError> {
    let mut a = ACCESS_TERMS
        .may_load(deps.storage, agreement_id)?
        .ok_or(ContractError::AgreementNotFound { id: agreement_id })?;
    if a.provider != info.sender {
        return Err(ContractError::unauthorized(
            &info.sender,
            &format!("provider of agreement {agreement_id}"),
        ));
    }
    if a.status != from {
        return Err(ContractError::invalid_status(agreement_id, a.status, act));
    }
    a.status = to;
    ACCESS_TERMS.save(deps.storage, agreement_id, &a)?;
    // the escrow clock: a suspension's start, or its withheld seconds at the resume
    let mut whole = load_agreement(deps.storage, agreement_id)?;
    match to {
        AgreementStatus::Suspended => whole.suspended_since = Some(env.block.time),
        _ => {
            if let Some(since) = whole.suspended_since.take() {
                let erased = crate::settlement::erased_at(deps.as_ref(), &whole)?;
                whole.paused_seconds += withheld_seconds(&whole, since, env.block.time, erased);
            }
        }
    }
    save_agreement(deps.storage, &whole)?;
    Ok(response(act, &info.sender).add_attribute(key::AGREEMENT_ID, agreement_id.to_string()))
}

fn ensure_audit(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    match CONFIG.load(deps.storage)?.audit {
        None => Err(ContractError::NoAuditContract {}),
        Some(audit) if audit == *sender => Ok(()),
        Some(_) => Err(ContractError::unauthorized(sender, "audit contract")),
    }
}

pub fn execute_suspend_consumer(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    consumer: String,
    alert_seq: EntrySeq,
) -> Result<Response, ContractError> {
    ensure_audit(deps.as_ref(), &info.sender)?;
    let consumer = deps.api.addr_validate(&consumer)?;
    // one record per alert: the consumer stays suspended until every one of them is lifted
    add_suspension(
        deps.storage,
        &consumer,
        &ConsumerSuspension {
            alert_seq,
            height: env.block.height,
            time: env.block.time,
        },
    )?;
    Ok(response(action::SUSPEND_CONSUMER, &info.sender)
        .add_attribute(key::CONSUMER, consumer)
        .add_attribute(key::ALERT_SEQ, alert_seq.to_string()))
}

pub fn execute_lift_suspension(
    deps: DepsMut,
    info: MessageInfo,
    consumer: String,
    alert_seq: EntrySeq,
) -> Result<Response, ContractError> {
    ensure_audit(deps.as_ref(), &info.sender)?;
    let consumer = deps.api.addr_validate(&consumer)?;
    // lifts this alert's suspension only (idempotent): another alert's still stands
    remove_suspension(deps.storage, &consumer, alert_seq)?;
    Ok(response(action::LIFT_SUSPENSION, &info.sender)
        .add_attribute(key::CONSUMER, consumer)
        .add_attribute(key::ALERT_SEQ, alert_seq.to_string()))
}
