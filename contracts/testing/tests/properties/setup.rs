//! The world every random sequence starts from: the wired contracts, three assets with their
//! offers, funded actors; and the small helpers the steps share.

use std::collections::BTreeMap;

use cosmwasm_std::Addr;
use datapact_testing::{Suite, START_BALANCE};
use datapact_types::Sensitivity;

use super::model::*;

pub(crate) struct Run {
    pub(crate) s: Suite,
    pub(crate) m: Model,
    pub(crate) actors: Vec<Addr>,
}

pub(crate) fn setup() -> Run {
    let mut s = Suite::new();
    let names = [
        "provider1",
        "provider2",
        "consumer1",
        "consumer2",
        "consumer3",
        "subject1",
        "subject2",
    ];
    let mut actors: Vec<Addr> = names.iter().map(|n| s.addr(n)).collect();
    actors.push(s.sentinel.clone());
    actors.push(s.responder.clone());
    actors.push(s.addr("stranger"));
    actors.push(s.addr("steward1"));
    let asset_owner = [0, 0, 1];
    let mut asset_ids = [0; 3];
    let mut offers = vec![];
    for (i, owner) in asset_owner.iter().enumerate() {
        let owner_addr = actors[*owner].clone();
        asset_ids[i] = s
            .register_asset(&owner_addr, Sensitivity::Personal)
            .unwrap();
        s.publish(&owner_addr, asset_ids[i], vec![]).unwrap();
        for kind in 0..OFFER_KINDS.len() {
            let (t, mut o) = offer_of_kind(kind, i, *owner);
            o.id = s.create_offer(&owner_addr, asset_ids[i], t).unwrap();
            offers.push(o);
        }
    }
    let balances = (0..ACTORS).map(|i| (i, START_BALANCE)).collect();
    let m = Model {
        offers,
        asset_owner,
        stewards: Default::default(),
        asset_ids,
        tombstoned: BTreeMap::new(),
        agreements: vec![],
        consents: vec![],
        alerts: vec![],
        balances,
        held: 0,
    };
    Run { s, m, actors }
}

/// The terms of offer kind `kind` on `asset` by `provider`, and its model (id 0 until made).
pub(crate) fn offer_of_kind(
    kind: usize,
    asset: usize,
    provider: usize,
) -> (datapact_agreements::state::OfferTerms, MOffer) {
    let (price, cap, consent_required, duration, share_bps) = OFFER_KINDS[kind];
    let mut t = Suite::offer_terms(price, cap, consent_required);
    t.duration_seconds = duration;
    t.delivery_share_bps = share_bps as u16;
    let o = MOffer {
        id: 0,
        asset,
        provider,
        price,
        cap,
        consent_required,
        duration,
        share_bps,
        withdrawn: false,
    };
    (t, o)
}

/// The entry `*i` points at, taken modulo the list's length (so random picks always land),
/// with `*i` updated to the index used.
pub(crate) fn pick<T: Clone>(list: &[T], i: &mut usize) -> Option<T> {
    if list.is_empty() {
        return None;
    }
    *i %= list.len();
    Some(list[*i].clone())
}

pub(crate) fn outcome(res: &anyhow::Result<cw_multi_test::AppResponse>) -> Result<(), String> {
    res.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"))
}
