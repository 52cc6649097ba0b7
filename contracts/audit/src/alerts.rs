//! Alerts: sentinels report them (and an alert at the policy's severity suspends its
//! subject); responders acknowledge, resolve and lift the suspensions they caused.

use cosmwasm_std::{Addr, Decimal, Deps, DepsMut, Env, MessageInfo, Response};
use datapact_types::agreements::AgreementsContract;
use datapact_types::events::{action, key, response};
use datapact_types::validate::{self, MAX_TEXT_LEN};
use datapact_types::{AssetId, EntrySeq, Severity};

use crate::chain::append;
use crate::error::ContractError;
use crate::roles::{ensure_responder, unauthorized};
use crate::state::{
    Alert, AlertState, EntryBody, LogEntry, ALERTS, ALERTS_BY_SUBJECT, CONFIG, SENTINELS,
};

#[allow(clippy::too_many_arguments)]
pub fn execute_report_alert(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    kind: String,
    severity: Severity,
    subject: String,
    asset_id: Option<AssetId>,
    evidence_hash: String,
    score: Decimal,
    model_version: String,
) -> Result<Response, ContractError> {
    if !SENTINELS.has(deps.storage, &info.sender) {
        return Err(unauthorized(&info.sender, "sentinel"));
    }
    validate::slug("kind", &kind)?;
    validate::slug("model_version", &model_version)?;
    validate::hash("evidence_hash", &evidence_hash)?;
    if score > Decimal::one() {
        return Err(ContractError::InvalidScore {
            score: score.to_string(),
        });
    }
    let subject = deps.api.addr_validate(&subject)?;
    let config = CONFIG.load(deps.storage)?;
    let suspended = severity >= config.suspend_threshold;
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        EntryBody::Alert {
            kind: kind.clone(),
            severity,
            subject: subject.clone(),
            asset_id,
            evidence_hash: evidence_hash.clone(),
            score,
            model_version: model_version.clone(),
            suspended,
        },
    )?;
    let alert = Alert {
        seq: entry.seq,
        kind: kind.clone(),
        severity,
        subject: subject.clone(),
        asset_id,
        score,
        model_version: model_version.clone(),
        evidence_hash: evidence_hash.clone(),
        reported_by: info.sender.clone(),
        height: env.block.height,
        state: AlertState::Open,
        suspended,
        suspension_lifted: false,
    };
    ALERTS.save(deps.storage, entry.seq, &alert)?;
    ALERTS_BY_SUBJECT.save(deps.storage, (&subject, entry.seq), &())?;

    let mut res = entry_response(action::REPORT_ALERT, &info.sender, &entry)
        .add_attribute(key::KIND, kind)
        .add_attribute(key::SEVERITY, severity.as_str())
        .add_attribute(key::SUBJECT, subject.as_str())
        .add_attribute(key::SCORE, score.to_string())
        .add_attribute(key::MODEL_VERSION, model_version)
        .add_attribute(key::EVIDENCE_HASH, evidence_hash)
        .add_attribute(key::SUSPENDED, suspended.to_string());
    if let Some(a) = asset_id {
        res = res.add_attribute(key::ASSET_ID, a.to_string());
    }
    if suspended {
        // dynamic threat response: the chain suspends the subject in the same transaction
        res = res.add_message(
            AgreementsContract(config.agreements).suspend_consumer(&subject, entry.seq)?,
        );
    }
    Ok(res)
}

pub fn execute_acknowledge(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    alert_seq: EntrySeq,
) -> Result<Response, ContractError> {
    ensure_responder(deps.as_ref(), &info.sender)?;
    let mut alert = load_alert(deps.as_ref(), alert_seq)?;
    if alert.state != AlertState::Open {
        return Err(invalid_state(&alert, "acknowledged"));
    }
    alert.state = AlertState::Acknowledged;
    ALERTS.save(deps.storage, alert_seq, &alert)?;
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        EntryBody::Acknowledged { alert_seq },
    )?;
    Ok(entry_response(action::ACKNOWLEDGE, &info.sender, &entry)
        .add_attribute(key::ALERT_SEQ, alert_seq.to_string()))
}

pub fn execute_resolve(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    alert_seq: EntrySeq,
    resolution: String,
) -> Result<Response, ContractError> {
    ensure_responder(deps.as_ref(), &info.sender)?;
    validate::required_text("resolution", &resolution, MAX_TEXT_LEN)?;
    let mut alert = load_alert(deps.as_ref(), alert_seq)?;
    if alert.state == AlertState::Resolved {
        return Err(invalid_state(&alert, "resolved"));
    }
    alert.state = AlertState::Resolved;
    ALERTS.save(deps.storage, alert_seq, &alert)?;
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        EntryBody::Resolved {
            alert_seq,
            resolution,
        },
    )?;
    Ok(entry_response(action::RESOLVE, &info.sender, &entry)
        .add_attribute(key::ALERT_SEQ, alert_seq.to_string()))
}

pub fn execute_lift_suspension(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    alert_seq: EntrySeq,
) -> Result<Response, ContractError> {
    ensure_responder(deps.as_ref(), &info.sender)?;
    let mut alert = load_alert(deps.as_ref(), alert_seq)?;
    if !alert.suspended || alert.suspension_lifted {
        return Err(ContractError::NoSuspension { seq: alert_seq });
    }
    alert.suspension_lifted = true;
    ALERTS.save(deps.storage, alert_seq, &alert)?;
    let config = CONFIG.load(deps.storage)?;
    let msg = AgreementsContract(config.agreements).lift_suspension(&alert.subject, alert_seq)?;
    let entry = append(
        deps.storage,
        &info.sender,
        env.block.height,
        env.block.time,
        EntryBody::SuspensionLifted {
            alert_seq,
            subject: alert.subject.clone(),
        },
    )?;
    Ok(
        entry_response(action::LIFT_SUSPENSION, &info.sender, &entry)
            .add_message(msg)
            .add_attribute(key::ALERT_SEQ, alert_seq.to_string())
            .add_attribute(key::SUBJECT, alert.subject),
    )
}

fn load_alert(deps: Deps, seq: EntrySeq) -> Result<Alert, ContractError> {
    ALERTS
        .may_load(deps.storage, seq)?
        .ok_or(ContractError::AlertNotFound { seq })
}

fn invalid_state(alert: &Alert, action: &str) -> ContractError {
    ContractError::InvalidAlertState {
        seq: alert.seq,
        state: alert.state.as_str().to_string(),
        action: action.to_string(),
    }
}

pub fn entry_response(act: &str, sender: &Addr, entry: &LogEntry) -> Response {
    response(act, sender)
        .add_attribute(key::ENTRY_SEQ, entry.seq.to_string())
        .add_attribute(key::ENTRY_HASH, entry.hash.to_hex())
}
