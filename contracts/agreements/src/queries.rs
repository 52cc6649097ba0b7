//! What anyone may ask about agreements and suspensions.

use cosmwasm_std::{Addr, Deps, Env, Order, StdResult};
use cw_storage_plus::{Bound, Map};
use datapact_types::{page_limit, AgreementId};

use crate::access::is_suspended;
use crate::msg::{
    AgreementResponse, AgreementsResponse, ConsumerSuspensionResponse, EffectiveStatus,
};
use crate::payment::{held, vested};
use crate::state::{
    load_agreement_for_query, standing_suspensions, AgreementStatus, MAX_SUSPENSIONS_LISTED,
};

/// One page of the agreements an index lists for one party (consumer or provider).
pub fn list_agreements(
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
        vested: vested(
            &agreement,
            env.block.time,
            crate::settlement::erased_at(deps, &agreement)?,
        ),
        held: held(&agreement),
        consumer_suspended: is_suspended(deps, &agreement.consumer)?,
        agreement,
    })
}

pub fn query_consumer_suspension(
    deps: Deps,
    consumer: String,
) -> StdResult<ConsumerSuspensionResponse> {
    let consumer = deps.api.addr_validate(&consumer)?;
    let standing = standing_suspensions(deps.storage, &consumer, MAX_SUSPENSIONS_LISTED)?;
    Ok(ConsumerSuspensionResponse {
        consumer,
        suspension: standing.first().cloned(),
        standing,
    })
}
