//! Suspensions: the provider suspends and resumes one agreement; the audit contract suspends
//! every agreement of a consumer and lifts it.

use cosmwasm_std::{Addr, Deps, DepsMut, Env, MessageInfo, Response};
use datapact_types::events::{key, response};
use datapact_types::{AgreementId, EntrySeq};

use crate::error::ContractError;
use crate::state::{
    AgreementStatus, ConsumerSuspension, ACCESS_TERMS, CONFIG, SUSPENDED_CONSUMERS,
};
use datapact_types::events::action;

pub fn execute_set_status(
    deps: DepsMut,
    info: MessageInfo,
    agreement_id: AgreementId,
    from: AgreementStatus,
    to: AgreementStatus,
    act: &str,
) -> Result<Response, ContractError> {
    // status lives in the access terms alone: the details record is not rewritten
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
    // a second alert keeps the first suspension's record: one lift clears it
    if !SUSPENDED_CONSUMERS.has(deps.storage, &consumer) {
        SUSPENDED_CONSUMERS.save(
            deps.storage,
            &consumer,
            &ConsumerSuspension {
                alert_seq,
                height: env.block.height,
                time: env.block.time,
            },
        )?;
    }
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
    // idempotent: two alerts may have suspended the same consumer, and lifting either one
    // must not leave the other's lift failing forever
    SUSPENDED_CONSUMERS.remove(deps.storage, &consumer);
    Ok(response(action::LIFT_SUSPENSION, &info.sender)
        .add_attribute(key::CONSUMER, consumer)
        .add_attribute(key::ALERT_SEQ, alert_seq.to_string()))
}
