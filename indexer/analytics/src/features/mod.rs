//! Features per actor and time window, from the indexed tables.
//!
//! The event-level work (millions of accesses) runs in polars: windows from block times, group
//! by (actor, window), joins of the per-window aggregates. The small tables (versions, lineage,
//! attestations) are walked in plain Rust. Every feature has a raw value an analyst can read
//! ("41 accesses") and a transformed value the detector sees (`ln(1 + x)` for counts, so that
//! ten times the volume is a step of the same size for a small and a large consumer).

mod consumers;
mod lineage;
mod providers;

use std::collections::HashMap;

use anyhow::Context;
use polars::prelude::*;

use crate::detect::{Direction, Feature};

pub use consumers::{baseline_rate, consumer_features, consumers, poisson_surprise};
pub use lineage::Lineage;
pub use providers::{attestor_features, attestors, provider_features, providers};

/// Windows of `seconds`, counted from the unix epoch (so runs agree on their boundaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windowing {
    pub seconds: i64,
}

impl Windowing {
    pub fn index(&self, t: i64) -> i64 {
        t.div_euclid(self.seconds.max(1))
    }
    pub fn start(&self, window: i64) -> i64 {
        window * self.seconds
    }
}

/// How a feature reads to an analyst: `{v}` is the raw value, `{u}` the actor's usual value.
#[derive(Clone, Debug)]
pub struct FeatureDef {
    pub feature: Feature,
    pub text: &'static str,
    /// the detector sees the excess over the actor's own usual value, not the value itself
    pub relative: bool,
}

pub(crate) fn count(name: &str, text: &'static str) -> FeatureDef {
    weighted(name, 1.0, text)
}

/// A count whose deviations count `weight` in the feature view: volume is unusual but not in
/// itself risky; refusals and unattested lineage are.
pub(crate) fn weighted(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    FeatureDef {
        feature: Feature {
            name: name.into(),
            direction: Direction::High,
            // ln(1+x): the step from 0 to 1 is 0.69; one unit of surprise is about that
            floor: 0.5,
            weight,
        },
        text,
        relative: false,
    }
}

/// A count that honest actors almost never have: its unit of surprise is smaller.
pub(crate) fn rare(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    let mut d = weighted(name, weight, text);
    d.feature.floor = 0.3;
    d
}

/// A volume measured against the actor's own usual value.
pub(crate) fn relative(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    FeatureDef {
        relative: true,
        ..weighted(name, weight, text)
    }
}

/// One actor in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct ActorWindow {
    pub actor: String,
    pub window: i64,
    pub first_height: i64,
    pub last_height: i64,
    /// what an analyst reads, per feature
    pub raw: Vec<f64>,
    /// what the detector sees, per feature
    pub x: Vec<f64>,
    /// the actor's usual value of each feature (per window, over its whole history)
    pub usual: Vec<f64>,
}

/// All windows of one role, with the features that describe them.
#[derive(Clone, Debug)]
pub struct RoleTable {
    pub role: &'static str,
    pub features: Vec<FeatureDef>,
    pub rows: Vec<ActorWindow>,
}

pub(crate) fn i64_col(df: &DataFrame, name: &str) -> anyhow::Result<Vec<i64>> {
    let c = df
        .column(name)
        .with_context(|| format!("column {name}"))?
        .cast(&DataType::Int64)?;
    Ok(c.i64()?.into_iter().map(|v| v.unwrap_or(0)).collect())
}

pub(crate) fn str_col(df: &DataFrame, name: &str) -> anyhow::Result<Vec<String>> {
    let c = df.column(name).with_context(|| format!("column {name}"))?;
    Ok(c.str()?
        .into_iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// Per actor, the median of each raw feature over every window of its life (zeros included).
fn usual_values(rows: &[ActorWindow], width: usize, last_window: i64) -> HashMap<String, Vec<f64>> {
    let mut by_actor: HashMap<&str, Vec<&ActorWindow>> = HashMap::new();
    for r in rows {
        by_actor.entry(&r.actor).or_default().push(r);
    }
    by_actor
        .into_iter()
        .map(|(actor, ws)| {
            let first = ws.iter().map(|w| w.window).min().unwrap_or(0);
            let alive = (last_window - first + 1).max(1) as usize;
            let usual = (0..width)
                .map(|j| {
                    let mut v: Vec<f64> = ws.iter().map(|w| w.raw[j]).collect();
                    v.resize(alive.max(v.len()), 0.0);
                    median(v)
                })
                .collect();
            (actor.to_string(), usual)
        })
        .collect()
}

/// Completes a role's new windows against the actor's history (`prior`: earlier windows of
/// the same role, already complete): the usual value of every feature, the consumer's volume
/// surprise against its own rate and its first-windows volume, and the detector's view.
pub fn finish(table: &mut RoleTable, prior: &[ActorWindow]) {
    let width = table.features.len();
    let last_window = table
        .rows
        .iter()
        .chain(prior)
        .map(|r| r.window)
        .max()
        .unwrap_or(0);
    if table.role == "consumer" {
        consumers::add_volume_surprise(table, prior, last_window);
    }
    let mut everything: Vec<ActorWindow> = prior.to_vec();
    everything.extend(table.rows.iter().cloned());
    let usual = usual_values(&everything, width, last_window);
    let defs = &table.features;
    for r in &mut table.rows {
        r.usual = usual.get(&r.actor).cloned().unwrap_or_default();
        r.x = r
            .raw
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let def = &defs[j];
                if def.feature.name == "volume_surprise" {
                    v.min(1e3)
                } else if def.relative {
                    v.ln_1p() - r.usual.get(j).copied().unwrap_or(0.0).ln_1p()
                } else {
                    v.ln_1p()
                }
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_from_the_epoch() {
        let w = Windowing { seconds: 3600 };
        assert_eq!(w.index(3599), 0);
        assert_eq!(w.index(3600), 1);
        assert_eq!(w.start(2), 7200);
        assert_eq!(w.index(-1), -1);
    }
}
