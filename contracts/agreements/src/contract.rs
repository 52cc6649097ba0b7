#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    coin, to_json_binary, Addr, BankMsg, Binary, Coin, Deps, DepsMut, Env, MessageInfo, Order,
    Response, StdResult, Uint256,
};
use cw_storage_plus::{Bound, Map};
use datapact_types::agreements::CanAccessResponse;
use datapact_types::events::{action, instantiate_response, key, response};
use datapact_types::registry::RegistryContract;
use datapact_types::{next_id, page_limit, validate, AgreementId, AssetId, EntrySeq, OfferId};

use crate::access::{check_access, is_suspended};
use crate::error::ContractError;
use crate::msg::{
    AgreementResponse, AgreementsResponse, ConsumerSuspensionResponse, EffectiveStatus, ExecuteMsg,
    InstantiateMsg, MigrateMsg, OfferResponse, OffersResponse, QueryMsg,
};
use crate::payment::{held, settle, vested};
use crate::state::{
    load_agreement_for_query, may_load_agreement, save_agreement, Agreement, AgreementStatus,
    Config, ConsumerSuspension, Offer, OfferStatus, OfferTerms, ACCESS_COUNTS, ACCESS_TERMS,
    BY_CONSUMER, BY_CONSUMER_ASSET, BY_PROVIDER, CONFIG, CONTRACT_NAME, CONTRACT_VERSION,
    LAST_AGREEMENT_ID, LAST_OFFER_ID, MAX_ACCESS_SCAN, MAX_DURATION_SECONDS, MAX_PUBLIC_KEY_LEN,
    MAX_WRAPPED_KEY_LEN, OFFERS, OFFERS_BY_ASSET, SUSPENDED_CONSUMERS,
};

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    let config = Config {
        admin: match msg.admin {
            Some(a) => deps.api.addr_validate(&a)?,
            None => info.sender.clone(),
        },
        registry: deps.api.addr_validate(&msg.registry)?,
        consent: deps.api.addr_validate(&msg.consent)?,
        audit: msg.audit.map(|a| deps.api.addr_validate(&a)).transpose()?,
    };
    CONFIG.save(deps.storage, &config)?;
    Ok(instantiate_response(
        &info.sender,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    ))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    // only Sign carries funds; anything sent elsewhere would be stuck
    if !matches!(msg, ExecuteMsg::Sign { .. }) && !info.funds.is_empty() {
        return Err(ContractError::WrongPayment {
            expected: coin(0, "any"),
            got: coins_str(&info.funds),
        });
    }
    match msg {
        ExecuteMsg::UpdateConfig { audit, admin } => {
            execute_update_config(deps, info, audit, admin)
        }
        ExecuteMsg::CreateOffer { asset_id, terms } => {
            execute_create_offer(deps, env, info, asset_id, terms)
        }
        ExecuteMsg::WithdrawOffer { offer_id } => execute_withdraw_offer(deps, info, offer_id),
        ExecuteMsg::Sign {
            offer_id,
            purpose,
            consumer_public_key,
        } => execute_sign(deps, env, info, offer_id, purpose, consumer_public_key),
        ExecuteMsg::DepositKey {
            agreement_id,
            wrapped_key,
        } => execute_deposit_key(deps, env, info, agreement_id, wrapped_key),
        ExecuteMsg::RecordAccess {
            agreement_id,
            purpose,
            subject,
        } => execute_record_access(deps, env, info, agreement_id, purpose, subject),
        ExecuteMsg::Suspend { agreement_id } => execute_set_status(
            deps,
            info,
            agreement_id,
            AgreementStatus::Active,
            AgreementStatus::Suspended,
            action::SUSPEND,
        ),
        ExecuteMsg::Resume { agreement_id } => execute_set_status(
            deps,
            info,
            agreement_id,
            AgreementStatus::Suspended,
            AgreementStatus::Active,
            action::RESUME,
        ),
        ExecuteMsg::Terminate { agreement_id } => execute_terminate(deps, env, info, agreement_id),
        ExecuteMsg::Claim { agreement_id } => execute_claim(deps, env, info, agreement_id),
        ExecuteMsg::SuspendConsumer {
            consumer,
            alert_seq,
        } => execute_suspend_consumer(deps, env, info, consumer, alert_seq),
        ExecuteMsg::LiftSuspension {
            consumer,
            alert_seq,
        } => execute_lift_suspension(deps, info, consumer, alert_seq),
    }
}

fn coins_str(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn unauthorized(sender: &Addr, role: &str) -> ContractError {
    ContractError::Unauthorized {
        sender: sender.to_string(),
        required_role: role.to_string(),
    }
}

fn load_agreement(deps: Deps, id: AgreementId) -> Result<Agreement, ContractError> {
    may_load_agreement(deps.storage, id)?.ok_or(ContractError::AgreementNotFound { id })
}

pub fn execute_update_config(
    deps: DepsMut,
    info: MessageInfo,
    audit: Option<String>,
    admin: Option<String>,
) -> Result<Response, ContractError> {
    let mut config = CONFIG.load(deps.storage)?;
    if info.sender != config.admin {
        return Err(unauthorized(&info.sender, "admin"));
    }
    if let Some(a) = audit {
        config.audit = Some(deps.api.addr_validate(&a)?);
    }
    if let Some(a) = admin {
        config.admin = deps.api.addr_validate(&a)?;
    }
    CONFIG.save(deps.storage, &config)?;
    Ok(response(action::UPDATE_CONFIG, &info.sender))
}

fn validate_terms(terms: &OfferTerms) -> Result<(), ContractError> {
    validate::slug_list("permitted_purposes", &terms.permitted_purposes)?;
    validate::bounded_slug_list("prohibited_purposes", &terms.prohibited_purposes)?;
    if let Some(p) = terms
        .permitted_purposes
        .iter()
        .find(|p| terms.prohibited_purposes.contains(p))
    {
        return Err(ContractError::PurposeConflict { purpose: p.clone() });
    }
    if terms.duration_seconds == 0 || terms.duration_seconds > MAX_DURATION_SECONDS {
        return Err(ContractError::InvalidDuration {
            max: MAX_DURATION_SECONDS,
            got: terms.duration_seconds,
        });
    }
    if terms.access_cap == Some(0) {
        return Err(ContractError::InvalidCap {});
    }
    let d = &terms.price.denom;
    let denom_ok = (3..=128).contains(&d.len())
        && d.as_bytes()[0].is_ascii_alphabetic()
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b':' | b'.' | b'_' | b'-'));
    if !denom_ok {
        return Err(ContractError::InvalidDenom { denom: d.clone() });
    }
    Ok(())
}

pub fn execute_create_offer(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    asset_id: AssetId,
    terms: OfferTerms,
) -> Result<Response, ContractError> {
    validate_terms(&terms)?;
    let config = CONFIG.load(deps.storage)?;
    let role =
        RegistryContract(config.registry).asset_role(&deps.querier, asset_id, &info.sender)?;
    if !role.exists {
        return Err(ContractError::AssetNotFound { id: asset_id });
    }
    if role.tombstoned {
        return Err(ContractError::AssetTombstoned { id: asset_id });
    }
    // only the asset's owner or a steward may offer it
    if !role.role.can_manage() {
        return Err(ContractError::NotAssetManager {
            sender: info.sender.into_string(),
            asset_id,
        });
    }
    let id = next_id(deps.storage, &LAST_OFFER_ID)?;
    let offer = Offer {
        id,
        asset_id,
        provider: info.sender.clone(),
        terms,
        status: OfferStatus::Open,
        created_height: env.block.height,
    };
    OFFERS.save(deps.storage, id, &offer)?;
    OFFERS_BY_ASSET.save(deps.storage, (asset_id, id), &())?;
    let mut res = response(action::CREATE_OFFER, &info.sender)
        .add_attribute(key::OFFER_ID, id.to_string())
        .add_attribute(key::ASSET_ID, asset_id.to_string())
        .add_attribute(key::PROVIDER, info.sender.as_str())
        .add_attribute(key::PRICE, offer.terms.price.to_string())
        .add_attribute(
            key::CONSENT_REQUIRED,
            offer.terms.consent_required.to_string(),
        )
        .add_attribute(key::PURPOSES, offer.terms.permitted_purposes.join(","));
    if let Some(cap) = offer.terms.access_cap {
        res = res.add_attribute(key::ACCESS_CAP, cap.to_string());
    }
    Ok(res)
}

pub fn execute_withdraw_offer(
    deps: DepsMut,
    info: MessageInfo,
    offer_id: OfferId,
) -> Result<Response, ContractError> {
    let mut offer = OFFERS
        .may_load(deps.storage, offer_id)?
        .ok_or(ContractError::OfferNotFound { id: offer_id })?;
    if offer.provider != info.sender {
        return Err(unauthorized(
            &info.sender,
            &format!("provider of offer {offer_id}"),
        ));
    }
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id: offer_id });
    }
    offer.status = OfferStatus::Withdrawn;
    OFFERS.save(deps.storage, offer_id, &offer)?;
    Ok(response(action::WITHDRAW_OFFER, &info.sender)
        .add_attribute(key::OFFER_ID, offer_id.to_string()))
}

fn check_key(field: &'static str, key: &Binary, max: usize) -> Result<(), ContractError> {
    if key.is_empty() || key.len() > max {
        return Err(ContractError::InvalidKey {
            field,
            max,
            got: key.len(),
        });
    }
    Ok(())
}

pub fn execute_sign(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    offer_id: OfferId,
    purpose: String,
    consumer_public_key: Binary,
) -> Result<Response, ContractError> {
    let offer = OFFERS
        .may_load(deps.storage, offer_id)?
        .ok_or(ContractError::OfferNotFound { id: offer_id })?;
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id: offer_id });
    }
    if offer.provider == info.sender {
        return Err(ContractError::SelfDealing {});
    }
    if let Some(s) = SUSPENDED_CONSUMERS.may_load(deps.storage, &info.sender)? {
        return Err(ContractError::ConsumerSuspended {
            consumer: info.sender.into_string(),
            alert_seq: s.alert_seq,
        });
    }
    if !offer.terms.permitted_purposes.contains(&purpose)
        || offer.terms.prohibited_purposes.contains(&purpose)
    {
        return Err(ContractError::PurposeNotOffered { offer_id, purpose });
    }
    check_key(
        "consumer_public_key",
        &consumer_public_key,
        MAX_PUBLIC_KEY_LEN,
    )?;
    let price = &offer.terms.price;
    let paid_exactly = if price.amount.is_zero() {
        info.funds.is_empty()
    } else {
        info.funds.len() == 1 && info.funds[0] == *price
    };
    if !paid_exactly {
        return Err(ContractError::WrongPayment {
            expected: price.clone(),
            got: coins_str(&info.funds),
        });
    }
    let config = CONFIG.load(deps.storage)?;
    // the offer proves the asset existed; only a tombstone can have ended it since
    if RegistryContract(config.registry).is_tombstoned(&deps.querier, offer.asset_id)? {
        return Err(ContractError::AssetTombstoned { id: offer.asset_id });
    }

    let id = next_id(deps.storage, &LAST_AGREEMENT_ID)?;
    let expires_at = env.block.time.plus_seconds(offer.terms.duration_seconds);
    let agreement = Agreement {
        id,
        offer_id,
        asset_id: offer.asset_id,
        provider: offer.provider.clone(),
        consumer: info.sender.clone(),
        purpose: purpose.clone(),
        terms: offer.terms.clone(),
        consumer_public_key,
        status: AgreementStatus::Active,
        signed_at: env.block.time,
        signed_height: env.block.height,
        expires_at,
        access_count: 0,
        wrapped_key: None,
        key_deposited_at: None,
        terminated_at: None,
        paid_to_provider: Uint256::zero(),
        refunded_to_consumer: Uint256::zero(),
    };
    save_agreement(deps.storage, &agreement)?;
    BY_CONSUMER.save(deps.storage, (&info.sender, id), &())?;
    BY_PROVIDER.save(deps.storage, (&offer.provider, id), &())?;
    BY_CONSUMER_ASSET.save(deps.storage, (&info.sender, offer.asset_id, id), &())?;
    Ok(response(action::SIGN, &info.sender)
        .add_attribute(key::AGREEMENT_ID, id.to_string())
        .add_attribute(key::OFFER_ID, offer_id.to_string())
        .add_attribute(key::ASSET_ID, offer.asset_id.to_string())
        .add_attribute(key::PROVIDER, offer.provider.as_str())
        .add_attribute(key::CONSUMER, info.sender.as_str())
        .add_attribute(key::PURPOSE, purpose)
        .add_attribute(key::PRICE, price.to_string())
        .add_attribute(key::EXPIRES_AT, expires_at.seconds().to_string()))
}

pub fn execute_deposit_key(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
    wrapped_key: Binary,
) -> Result<Response, ContractError> {
    let mut a = load_agreement(deps.as_ref(), agreement_id)?;
    if a.provider != info.sender {
        return Err(unauthorized(
            &info.sender,
            &format!("provider of agreement {agreement_id}"),
        ));
    }
    if a.status == AgreementStatus::Terminated {
        return Err(invalid_status(a.id, a.status, "given a key"));
    }
    if env.block.time >= a.expires_at {
        return Err(ContractError::AgreementExpired { id: agreement_id });
    }
    if a.wrapped_key.is_some() {
        return Err(ContractError::KeyAlreadyDeposited { id: agreement_id });
    }
    check_key("wrapped_key", &wrapped_key, MAX_WRAPPED_KEY_LEN)?;
    a.wrapped_key = Some(wrapped_key);
    a.key_deposited_at = Some(env.block.time);
    save_agreement(deps.storage, &a)?;
    Ok(response(action::DEPOSIT_KEY, &info.sender)
        .add_attribute(key::AGREEMENT_ID, agreement_id.to_string())
        .add_attribute(key::CONSUMER, a.consumer.as_str()))
}

fn invalid_status(id: AgreementId, status: AgreementStatus, action: &str) -> ContractError {
    ContractError::InvalidStatus {
        id,
        status: status.as_str().to_string(),
        action: action.to_string(),
    }
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
        return Err(unauthorized(
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
        count,
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

fn execute_set_status(
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
        return Err(unauthorized(
            &info.sender,
            &format!("provider of agreement {agreement_id}"),
        ));
    }
    if a.status != from {
        return Err(invalid_status(agreement_id, a.status, act));
    }
    a.status = to;
    ACCESS_TERMS.save(deps.storage, agreement_id, &a)?;
    Ok(response(act, &info.sender).add_attribute(key::AGREEMENT_ID, agreement_id.to_string()))
}

/// A bank transfer, or nothing for a zero amount (a zero-coin send fails on chain).
fn pay(to: &Addr, denom: &str, amount: Uint256) -> Option<BankMsg> {
    (!amount.is_zero()).then(|| BankMsg::Send {
        to_address: to.to_string(),
        amount: vec![Coin::new(amount, denom)],
    })
}

pub fn execute_terminate(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    agreement_id: AgreementId,
) -> Result<Response, ContractError> {
    let mut a = load_agreement(deps.as_ref(), agreement_id)?;
    if a.provider != info.sender && a.consumer != info.sender {
        return Err(unauthorized(
            &info.sender,
            &format!("provider or consumer of agreement {agreement_id}"),
        ));
    }
    if a.status == AgreementStatus::Terminated {
        return Err(invalid_status(a.id, a.status, "terminated"));
    }
    let (to_provider, to_consumer) = settle(&a, env.block.time);
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
    let mut a = load_agreement(deps.as_ref(), agreement_id)?;
    if a.provider != info.sender {
        return Err(unauthorized(
            &info.sender,
            &format!("provider of agreement {agreement_id}"),
        ));
    }
    let amount = vested(&a, env.block.time) - a.paid_to_provider;
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

fn ensure_audit(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    match CONFIG.load(deps.storage)?.audit {
        None => Err(ContractError::NoAuditContract {}),
        Some(audit) if audit == *sender => Ok(()),
        Some(_) => Err(unauthorized(sender, "audit contract")),
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

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&CONFIG.load(deps.storage)?),
        QueryMsg::Offer { offer_id } => to_json_binary(&OfferResponse {
            offer: OFFERS.load(deps.storage, offer_id)?,
        }),
        QueryMsg::Offers {
            asset_id,
            start_after,
            limit,
        } => to_json_binary(&list_offers(deps, asset_id, start_after, limit)?),
        QueryMsg::Agreement { agreement_id } => {
            to_json_binary(&query_agreement(deps, &env, agreement_id)?)
        }
        QueryMsg::AgreementsByConsumer {
            consumer,
            start_after,
            limit,
        } => to_json_binary(&list_agreements(
            deps,
            BY_CONSUMER,
            consumer,
            start_after,
            limit,
        )?),
        QueryMsg::AgreementsByProvider {
            provider,
            start_after,
            limit,
        } => to_json_binary(&list_agreements(
            deps,
            BY_PROVIDER,
            provider,
            start_after,
            limit,
        )?),
        QueryMsg::CanAccess {
            consumer,
            asset_id,
            purpose,
            subject,
        } => to_json_binary(&query_can_access(
            deps, &env, consumer, asset_id, purpose, subject,
        )?),
        QueryMsg::ConsumerSuspension { consumer } => {
            let consumer = deps.api.addr_validate(&consumer)?;
            let suspension = SUSPENDED_CONSUMERS.may_load(deps.storage, &consumer)?;
            to_json_binary(&ConsumerSuspensionResponse {
                consumer,
                suspension,
            })
        }
    }
}

fn list_offers(
    deps: Deps,
    asset_id: Option<AssetId>,
    start_after: Option<OfferId>,
    limit: Option<u32>,
) -> StdResult<OffersResponse> {
    let limit = page_limit(limit);
    let start = start_after.map(Bound::exclusive);
    let offers = match asset_id {
        None => OFFERS
            .range(deps.storage, start, None, Order::Ascending)
            .take(limit)
            .map(|r| r.map(|(_, o)| o))
            .collect::<StdResult<_>>()?,
        Some(asset_id) => OFFERS_BY_ASSET
            .prefix(asset_id)
            .keys(deps.storage, start, None, Order::Ascending)
            .take(limit)
            .map(|id| id.and_then(|id| OFFERS.load(deps.storage, id)))
            .collect::<StdResult<_>>()?,
    };
    Ok(OffersResponse { offers })
}

/// One page of the agreements an index lists for one party (consumer or provider).
fn list_agreements(
    deps: Deps,
    index: Map<(&Addr, AgreementId), ()>,
    party: String,
    start_after: Option<AgreementId>,
    limit: Option<u32>,
) -> StdResult<AgreementsResponse> {
    let party = deps.api.addr_validate(&party)?;
    let agreements = index
        .prefix(&party)
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_limit(limit))
        .map(|id| id.and_then(|id| load_agreement_for_query(deps.storage, id)))
        .collect::<StdResult<_>>()?;
    Ok(AgreementsResponse { agreements })
}

pub fn query_agreement(deps: Deps, env: &Env, id: AgreementId) -> StdResult<AgreementResponse> {
    let agreement = load_agreement_for_query(deps.storage, id)?;
    let effective_status = match agreement.status {
        AgreementStatus::Terminated => EffectiveStatus::Terminated,
        _ if env.block.time >= agreement.expires_at => EffectiveStatus::Expired,
        AgreementStatus::Suspended => EffectiveStatus::Suspended,
        AgreementStatus::Active => EffectiveStatus::Active,
    };
    Ok(AgreementResponse {
        effective_status,
        vested: vested(&agreement, env.block.time),
        held: held(&agreement),
        consumer_suspended: is_suspended(deps, &agreement.consumer)?,
        agreement,
    })
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
        match check_access(deps, env, &config, &a, count, &purpose, subject.as_deref())? {
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

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn migrate(deps: DepsMut, _env: Env, _msg: MigrateMsg) -> Result<Response, ContractError> {
    Ok(datapact_types::migrate::migrate(
        deps.storage,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    )?)
}
