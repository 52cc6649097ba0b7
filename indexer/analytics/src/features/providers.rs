//! Provider and attestor windows: publications, lineage over unattested parents, withdrawals
//! received, attestations and revocations (plain Rust: the registry tables are small).

use std::collections::{BTreeMap, HashMap};

use super::lineage::Lineage;
use super::{
    count, i64_col, rare, relative, str_col, weighted, ActorWindow, FeatureDef, RoleTable,
    Windowing,
};
use crate::load::{BlockTimes, Data};

/// The provider features, in column order.
pub fn provider_features() -> Vec<FeatureDef> {
    vec![
        relative("versions", 0.3, "{v} versions published (usually {u})"),
        relative(
            "assets_registered",
            0.3,
            "{v} assets registered (usually {u})",
        ),
        rare(
            "derived_over_unattested",
            1.0,
            "{v} versions derived from parents nobody attested (usually {u})",
        ),
        rare(
            "unattested_depth",
            2.5,
            "lineage with {v} unattested ancestors in a row",
        ),
        rare(
            "attested_over_unattested",
            1.0,
            "{v} of its versions attested although their lineage is not",
        ),
        weighted(
            "withdrawals_received",
            0.5,
            "{v} consent withdrawals as controller (usually {u})",
        ),
    ]
}

/// The attestor features, in column order.
pub fn attestor_features() -> Vec<FeatureDef> {
    vec![
        relative("attestations", 0.3, "{v} attestations (usually {u})"),
        count(
            "attested_over_unattested",
            "{v} attestations of versions whose lineage nobody attested",
        ),
        count("revocations", "{v} attestations revoked (usually {u})"),
    ]
}

fn window_of(times: &BlockTimes, w: Windowing, height: i64) -> Option<i64> {
    times.get(height).map(|t| w.index(t))
}

/// A small helper to accumulate raw counts per (actor, window).
#[derive(Default)]
struct Acc {
    cells: BTreeMap<(String, i64), (Vec<f64>, i64, i64)>,
}

impl Acc {
    fn add(&mut self, actor: &str, window: i64, height: i64, j: usize, width: usize, v: f64) {
        let cell = self
            .cells
            .entry((actor.to_string(), window))
            .or_insert_with(|| (vec![0.0; width], i64::MAX, i64::MIN));
        cell.0[j] += v;
        cell.1 = cell.1.min(height);
        cell.2 = cell.2.max(height);
    }
    fn max(&mut self, actor: &str, window: i64, height: i64, j: usize, width: usize, v: f64) {
        let cell = self
            .cells
            .entry((actor.to_string(), window))
            .or_insert_with(|| (vec![0.0; width], i64::MAX, i64::MIN));
        cell.0[j] = cell.0[j].max(v);
        cell.1 = cell.1.min(height);
        cell.2 = cell.2.max(height);
    }
    fn into_table(self, role: &'static str, features: Vec<FeatureDef>) -> RoleTable {
        let rows: Vec<ActorWindow> = self
            .cells
            .into_iter()
            .map(|((actor, window), (raw, first, last))| ActorWindow {
                raw,
                actor,
                window,
                first_height: first,
                last_height: last,
                x: Vec::new(),
                usual: Vec::new(),
            })
            .collect();
        RoleTable {
            role,
            features,
            rows,
        }
    }
}

/// Provider windows: publications, lineage over unattested parents, withdrawals received.
pub fn providers(data: &Data, w: Windowing, lineage: &Lineage) -> anyhow::Result<RoleTable> {
    let features = provider_features();
    let width = features.len();
    let times = data.block_times()?;
    let mut acc = Acc::default();
    let v = &data.versions;
    let (h, asset, version, publisher) = (
        i64_col(v, "height")?,
        i64_col(v, "asset_id")?,
        i64_col(v, "version")?,
        str_col(v, "publisher")?,
    );
    for i in 0..h.len() {
        let Some(win) = window_of(times, w, h[i]) else {
            continue;
        };
        let key = (asset[i], version[i]);
        acc.add(&publisher[i], win, h[i], 0, width, 1.0);
        // the lineage as it stood at the publication: what the window could know when it closed
        let at = Some(h[i]);
        let ps = lineage.parents.get(&key);
        if ps.is_some_and(|ps| ps.iter().any(|p| !lineage.attested_at(*p, at))) {
            acc.add(&publisher[i], win, h[i], 2, width, 1.0);
        }
        let depth = lineage.unattested_depth_at(key, at) as f64;
        acc.max(&publisher[i], win, h[i], 3, width, depth);
    }
    // a version attested although its lineage is not: counted for its publisher in the window
    // the attestation lands in (the publication's window could not have known)
    let publishers: HashMap<(i64, i64), &str> = (0..h.len())
        .map(|i| ((asset[i], version[i]), publisher[i].as_str()))
        .collect();
    let at = &data.attestations;
    let (ah, aasset, aversion) = (
        i64_col(at, "height")?,
        i64_col(at, "asset_id")?,
        i64_col(at, "version")?,
    );
    let revoked = revoked_col(at)?;
    for i in 0..ah.len() {
        let key = (aasset[i], aversion[i]);
        let (Some(win), Some(p)) = (window_of(times, w, ah[i]), publishers.get(&key)) else {
            continue;
        };
        if !revoked[i] && lineage.unattested_depth_at(key, Some(ah[i])) > 0 {
            acc.add(p, win, ah[i], 4, width, 1.0);
        }
    }
    let a = &data.assets;
    let (h, owner) = (i64_col(a, "height")?, str_col(a, "owner")?);
    for i in 0..h.len() {
        if let Some(win) = window_of(times, w, h[i]) {
            acc.add(&owner[i], win, h[i], 1, width, 1.0);
        }
    }
    let wd = &data.withdrawals;
    let (h, controller) = (i64_col(wd, "height")?, str_col(wd, "controller")?);
    for i in 0..h.len() {
        if let Some(win) = window_of(times, w, h[i]) {
            acc.add(&controller[i], win, h[i], 5, width, 1.0);
        }
    }
    Ok(acc.into_table("provider", features))
}

fn revoked_col(a: &polars::prelude::DataFrame) -> anyhow::Result<Vec<bool>> {
    Ok(a.column("revoked")?
        .bool()?
        .into_iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

/// Attestor windows.
pub fn attestors(data: &Data, w: Windowing, lineage: &Lineage) -> anyhow::Result<RoleTable> {
    let features = attestor_features();
    let width = features.len();
    let times = data.block_times()?;
    let mut acc = Acc::default();
    let a = &data.attestations;
    let (h, asset, version, attestor) = (
        i64_col(a, "height")?,
        i64_col(a, "asset_id")?,
        i64_col(a, "version")?,
        str_col(a, "attestor")?,
    );
    let revoked = revoked_col(a)?;
    for i in 0..h.len() {
        let Some(win) = window_of(times, w, h[i]) else {
            continue;
        };
        if revoked[i] {
            acc.add(&attestor[i], win, h[i], 2, width, 1.0);
            continue;
        }
        acc.add(&attestor[i], win, h[i], 0, width, 1.0);
        if lineage.unattested_depth_at((asset[i], version[i]), Some(h[i])) > 0 {
            acc.add(&attestor[i], win, h[i], 1, width, 1.0);
        }
    }
    Ok(acc.into_table("attestor", features))
}
