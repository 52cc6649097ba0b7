//! What anyone may ask: roles, alerts, the log's entries and head, and a check of the hash
//! chain.

use cosmwasm_std::{Addr, Deps, Order, StdResult};
use cw_storage_plus::{Bound, Map};
use datapact_types::{page_limit, EntrySeq, Severity};

use crate::chain::{entry_is_valid, head, GENESIS_HASH};
use crate::error::ContractError;
use crate::msg::{
    AlertResponse, AlertsResponse, EntriesResponse, HeadResponse, RolesResponse,
    SuspensionResponse, VerifyResponse,
};
use crate::state::{
    AlertState, ALERTS, ALERTS_BY_SUBJECT, ENTRIES, MAX_SCAN, MAX_VERIFY, RESPONDERS, SENTINELS,
};

pub fn query_roles(deps: Deps) -> StdResult<RolesResponse> {
    let list = |m: Map<&Addr, ()>| -> StdResult<Vec<Addr>> {
        m.keys(deps.storage, None, None, Order::Ascending).collect()
    };
    Ok(RolesResponse {
        sentinels: list(SENTINELS)?,
        responders: list(RESPONDERS)?,
    })
}

pub fn query_alert(deps: Deps, alert_seq: EntrySeq) -> StdResult<AlertResponse> {
    Ok(AlertResponse {
        alert: ALERTS.load(deps.storage, alert_seq)?,
    })
}

pub fn query_suspension(deps: Deps, subject: String) -> StdResult<SuspensionResponse> {
    let subject = deps.api.addr_validate(&subject)?;
    let alerts: Vec<_> = ALERTS_BY_SUBJECT
        .prefix(&subject)
        .keys(deps.storage, None, None, Order::Ascending)
        .take(MAX_SCAN)
        .map(|seq| seq.and_then(|seq| ALERTS.load(deps.storage, seq)))
        .filter(|a| {
            a.as_ref()
                .map_or(true, |a| a.suspended && !a.suspension_lifted)
        })
        .collect::<StdResult<_>>()?;
    Ok(SuspensionResponse {
        subject,
        suspended: !alerts.is_empty(),
        alerts,
    })
}

pub fn list_entries(
    deps: Deps,
    start_after: Option<EntrySeq>,
    limit: Option<u32>,
) -> StdResult<EntriesResponse> {
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
    Ok(EntriesResponse { entries })
}

pub fn query_head(deps: Deps) -> StdResult<HeadResponse> {
    let (seq, hash) = head(deps.storage)?;
    Ok(HeadResponse { seq, hash })
}

pub fn list_alerts(
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

pub fn verify(deps: Deps, from: EntrySeq, to: EntrySeq) -> StdResult<VerifyResponse> {
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
