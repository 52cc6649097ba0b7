#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    to_json_binary, Addr, Binary, Decimal, Deps, DepsMut, Env, MessageInfo, Order, Response,
    StdResult,
};
use cw_storage_plus::{Bound, Map};
use datapact_types::agreements::AgreementsContract;
use datapact_types::events::{action, instantiate_response, key, response};
use datapact_types::validate::{self, MAX_TEXT_LEN};
use datapact_types::{page_limit, AssetId, EntrySeq, Severity};

use crate::chain::{append, entry_is_valid, head, GENESIS_HASH};
use crate::error::ContractError;
use crate::msg::{
    AlertResponse, AlertsResponse, EntriesResponse, ExecuteMsg, HeadResponse, InstantiateMsg,
    MigrateMsg, QueryMsg, RolesResponse, VerifyResponse,
};
use crate::state::{
    Alert, AlertState, Config, EntryBody, LogEntry, ALERTS, ALERTS_BY_SUBJECT, CONFIG,
    CONTRACT_NAME, CONTRACT_VERSION, ENTRIES, MAX_SCAN, MAX_VERIFY, RESPONDERS, SENTINELS,
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
        agreements: deps.api.addr_validate(&msg.agreements)?,
        suspend_threshold: msg.suspend_threshold,
    };
    CONFIG.save(deps.storage, &config)?;
    for s in validate_all(deps.as_ref(), &msg.sentinels)? {
        SENTINELS.save(deps.storage, &s, &())?;
    }
    for r in validate_all(deps.as_ref(), &msg.responders)? {
        RESPONDERS.save(deps.storage, &r, &())?;
    }
    Ok(instantiate_response(
        &info.sender,
        CONTRACT_NAME,
        CONTRACT_VERSION,
    ))
}

fn validate_all(deps: Deps, addrs: &[String]) -> StdResult<Vec<Addr>> {
    addrs.iter().map(|a| deps.api.addr_validate(a)).collect()
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::UpdateRoles {
            add_sentinels,
            remove_sentinels,
            add_responders,
            remove_responders,
        } => {
            ensure_admin(deps.as_ref(), &info.sender)?;
            let body = EntryBody::RolesUpdated {
                add_sentinels: validate_all(deps.as_ref(), &add_sentinels)?,
                remove_sentinels: validate_all(deps.as_ref(), &remove_sentinels)?,
                add_responders: validate_all(deps.as_ref(), &add_responders)?,
                remove_responders: validate_all(deps.as_ref(), &remove_responders)?,
            };
            if let EntryBody::RolesUpdated {
                add_sentinels,
                remove_sentinels,
                add_responders,
                remove_responders,
            } = &body
            {
                apply_roles(deps.storage, SENTINELS, add_sentinels, remove_sentinels)?;
                apply_roles(deps.storage, RESPONDERS, add_responders, remove_responders)?;
            }
            let entry = append(
                deps.storage,
                &info.sender,
                env.block.height,
                env.block.time,
                body,
            )?;
            Ok(entry_response(action::UPDATE_ROLES, &info.sender, &entry))
        }
        ExecuteMsg::UpdatePolicy { suspend_threshold } => {
            ensure_admin(deps.as_ref(), &info.sender)?;
            let mut config = CONFIG.load(deps.storage)?;
            config.suspend_threshold = suspend_threshold;
            CONFIG.save(deps.storage, &config)?;
            let entry = append(
                deps.storage,
                &info.sender,
                env.block.height,
                env.block.time,
                EntryBody::PolicyUpdated { suspend_threshold },
            )?;
            Ok(entry_response(action::UPDATE_POLICY, &info.sender, &entry)
                .add_attribute(key::SUSPEND_THRESHOLD, suspend_threshold.as_str()))
        }
        ExecuteMsg::ReportAlert {
            kind,
            severity,
            subject,
            asset_id,
            evidence_hash,
            score,
            model_version,
        } => execute_report_alert(
            deps,
            env,
            info,
            kind,
            severity,
            subject,
            asset_id,
            evidence_hash,
            score,
            model_version,
        ),
        ExecuteMsg::Acknowledge { alert_seq } => {
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
        ExecuteMsg::Resolve {
            alert_seq,
            resolution,
        } => {
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
        ExecuteMsg::LiftSuspension { alert_seq } => {
            ensure_responder(deps.as_ref(), &info.sender)?;
            let mut alert = load_alert(deps.as_ref(), alert_seq)?;
            if !alert.suspended || alert.suspension_lifted {
                return Err(ContractError::NoSuspension { seq: alert_seq });
            }
            alert.suspension_lifted = true;
            ALERTS.save(deps.storage, alert_seq, &alert)?;
            let config = CONFIG.load(deps.storage)?;
            let msg =
                AgreementsContract(config.agreements).lift_suspension(&alert.subject, alert_seq)?;
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
    }
}

fn apply_roles(
    store: &mut dyn cosmwasm_std::Storage,
    map: Map<&Addr, ()>,
    add: &[Addr],
    remove: &[Addr],
) -> StdResult<()> {
    for a in add {
        map.save(store, a, &())?;
    }
    for r in remove {
        map.remove(store, r);
    }
    Ok(())
}

fn ensure_admin(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    if CONFIG.load(deps.storage)?.admin != *sender {
        return Err(unauthorized(sender, "admin"));
    }
    Ok(())
}

fn ensure_responder(deps: Deps, sender: &Addr) -> Result<(), ContractError> {
    if !RESPONDERS.has(deps.storage, sender) {
        return Err(unauthorized(sender, "responder"));
    }
    Ok(())
}

fn unauthorized(sender: &Addr, role: &str) -> ContractError {
    ContractError::Unauthorized {
        sender: sender.to_string(),
        required_role: role.to_string(),
    }
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

fn entry_response(act: &str, sender: &Addr, entry: &LogEntry) -> Response {
    response(act, sender)
        .add_attribute(key::ENTRY_SEQ, entry.seq.to_string())
        .add_attribute(key::ENTRY_HASH, entry.hash.to_hex())
}

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

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&CONFIG.load(deps.storage)?),
        QueryMsg::Roles {} => {
            let list = |m: Map<&Addr, ()>| -> StdResult<Vec<Addr>> {
                m.keys(deps.storage, None, None, Order::Ascending).collect()
            };
            to_json_binary(&RolesResponse {
                sentinels: list(SENTINELS)?,
                responders: list(RESPONDERS)?,
            })
        }
        QueryMsg::Alert { alert_seq } => to_json_binary(&AlertResponse {
            alert: ALERTS.load(deps.storage, alert_seq)?,
        }),
        QueryMsg::Alerts {
            subject,
            min_severity,
            state,
            start_after,
            limit,
        } => to_json_binary(&list_alerts(
            deps,
            subject,
            min_severity,
            state,
            start_after,
            limit,
        )?),
        QueryMsg::Entries { start_after, limit } => {
            let entries = ENTRIES
                .range(
                    deps.storage,
                    start_after.map(Bound::exclusive),
                    None,
                    Order::Ascending,
                )
                .take(page_limit(limit))
                .map(|r| r.map(|(_, e)| e))
                .collect::<StdResult<_>>()?;
            to_json_binary(&EntriesResponse { entries })
        }
        QueryMsg::Head {} => {
            let (seq, hash) = head(deps.storage)?;
            to_json_binary(&HeadResponse { seq, hash })
        }
        QueryMsg::Verify { from, to } => to_json_binary(&verify(deps, from, to)?),
    }
}

fn list_alerts(
    deps: Deps,
    subject: Option<String>,
    min_severity: Option<Severity>,
    state: Option<AlertState>,
    start_after: Option<EntrySeq>,
    limit: Option<u32>,
) -> StdResult<AlertsResponse> {
    let limit = page_limit(limit);
    let start = start_after.map(Bound::exclusive);
    let seqs: Box<dyn Iterator<Item = StdResult<EntrySeq>>> = match subject {
        Some(s) => {
            let s = deps.api.addr_validate(&s)?;
            let v: Vec<_> = ALERTS_BY_SUBJECT
                .prefix(&s)
                .keys(deps.storage, start, None, Order::Ascending)
                .take(MAX_SCAN)
                .collect();
            Box::new(v.into_iter())
        }
        None => Box::new(
            ALERTS
                .keys(deps.storage, start, None, Order::Ascending)
                .take(MAX_SCAN),
        ),
    };
    let mut alerts = vec![];
    let mut last_scanned = None;
    for seq in seqs {
        let seq = seq?;
        last_scanned = Some(seq);
        let alert = ALERTS.load(deps.storage, seq)?;
        if min_severity.is_some_and(|m| alert.severity < m)
            || state.is_some_and(|s| alert.state != s)
        {
            continue;
        }
        alerts.push(alert);
        if alerts.len() == limit {
            break;
        }
    }
    Ok(AlertsResponse {
        alerts,
        last_scanned,
    })
}

fn verify(deps: Deps, from: EntrySeq, to: EntrySeq) -> StdResult<VerifyResponse> {
    if from == 0 || to < from || to - from >= MAX_VERIFY {
        return Err(cosmwasm_std::StdError::msg(
            ContractError::InvalidRange {
                from,
                to,
                max: MAX_VERIFY,
            }
            .to_string(),
        ));
    }
    let mut prev = if from == 1 {
        GENESIS_HASH.to_vec()
    } else {
        ENTRIES.load(deps.storage, from - 1)?.hash.to_vec()
    };
    let mut checked = 0;
    for seq in from..=to {
        let Some(entry) = ENTRIES.may_load(deps.storage, seq)? else {
            break;
        };
        checked += 1;
        if entry.seq != seq || !entry_is_valid(&entry, &prev)? {
            return Ok(VerifyResponse {
                valid: false,
                checked,
                first_invalid: Some(seq),
            });
        }
        prev = entry.hash.to_vec();
    }
    Ok(VerifyResponse {
        valid: true,
        checked,
        first_invalid: None,
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
