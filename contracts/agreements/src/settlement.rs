//! Settling the escrow: the provider claims what has vested; either party terminates, which
//! pays the vested part to the provider and refunds the rest.

use cosmwasm_std::{
    Addr, BankMsg, Coin, Deps, DepsMut, Env, MessageInfo, Response, StdResult, Timestamp, Uint256,
};
use datapact_types::events::{action, key, response};
use datapact_types::registry::RegistryContract;
use datapact_types::AgreementId;

use crate::error::ContractError;
use crate::payment::{settle, vested};
use crate::state::{
    load_agreement, load_agreement_as_provider, save_agreement, Agreement, AgreementStatus, CONFIG,
};

/// A bank transfer, or nothing for a zero amount (a zero-coin send fails on chain).
fn pay(to: &Addr, denom: &str, amount: Uint256) -> Option<BankMsg> {
    (!amount.is_zero()).then(|| BankMsg::Send {
        to_address: to.to_string(),
        amount: vec![Coin::new(amount, denom)],
    })
}

/// When the agreement's asset was erased, if it was: the registry's record, read raw.
pub fn erased_at(deps: Deps, a: &Agreement) -> StdResult<Option<Timestamp>> {
    RegistryContract(CONFIG.load(deps.storage)?.registry).tombstoned_at(&deps.querier, a.asset_id)
}

pub fn execute_terminate(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
) -> Result<Response, ContractError> {
    let mut a = load_agreement(deps.storage, agreement_id)?;
    if a.provider != info.sender && a.consumer != info.sender {
        return Err(ContractError::unauthorized(
            &info.sender,
            &format!("provider or consumer of agreement {agreement_id}"),
        ));
    }
    if a.status == AgreementStatus::Terminated {
        return Err(ContractError::invalid_status(a.id, a.status, "terminated"));
    }
    let erased = erased_at(deps.as_ref(), &a)?;
    let (to_provider, to_consumer) = settle(&a, env.block.time, erased);
    // a suspension still running ends with the agreement: its time is withheld
    if let Some(since) = a.suspended_since.take() {
        a.paused_seconds += crate::payment::withheld_seconds(&a, since, env.block.time, erased);
    }
    a.status = AgreementStatus::Terminated;
    a.terminated_at = Some(env.block.time);
    a.paid_to_provider += to_provider;
    a.refunded_to_consumer += to_consumer;
    save_agreement(deps.storage, &a)?;
    let denom = &a.terms.price.denom;
    Ok(response(action::TERMINATE, &info.sender)
        .add_messages(pay(&a.provider, denom, to_provider))
        .add_messages(pay(&a.consumer, denom, to_consumer))
        .add_attribute(key::AGREEMENT_ID, agreement_id.to_string())
        .add_attribute(key::PAID_TO_PROVIDER, to_provider.to_string())
        .add_attribute(key::REFUNDED_TO_CONSUMER, to_consumer.to_string()))
}

pub fn execute_claim(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
) -> Result<Response, ContractError> {
    let mut a = load_agreement_as_provider(deps.storage, agreement_id, &info.sender)?;
    let erased = erased_at(deps.as_ref(), &a)?;
    let amount = vested(&a, env.block.time, erased).saturating_sub(a.paid_to_provider);
    if amount.is_zero() {
        return Err(ContractError::NothingToClaim { id: agreement_id });
    }
    a.paid_to_provider += amount;
    save_agreement(deps.storage, &a)?;
    Ok(response(action::CLAIM, &info.sender)
        .add_messages(pay(&a.provider, &a.terms.price.denom, amount))
        .add_attribute(key::AGREEMENT_ID, agreement_id.to_string())
        .add_attribute(key::AMOUNT, amount.to_string()))
}
