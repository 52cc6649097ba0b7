//! Features per actor and time window, from the indexed tables.
//!
//! The event-level work (millions of accesses) runs in polars: windows from block times, group
//! by (actor, window), joins of the per-window aggregates. The small tables (versions, lineage,
//! attestations) are walked in plain Rust. Every feature has a raw value an analyst can read
//! ("41 accesses") and a transformed value the detector sees (`ln(1 + x)` for counts, so that
//! ten times the volume is a step of the same size for a small and a large consumer).

mod consumers;
mod history;
mod keys;
mod lineage;
mod providers;
mod rise;
mod spans;
mod trickle;

use anyhow::Context;
use polars::prelude::*;

use crate::detect::{Direction, Feature};

pub use consumers::{consumer_features, consumers, poisson_surprise};
pub use history::{Past, YOUNG_WINDOWS};
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
    /// the actor's usual value of each feature: the median over its windows before this one
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

/// Per new row (in `rows`' order): the actor's usual value of each raw feature, the median over
/// every window of its life before the row's (idle ones as zeros); a young window (fewer than
/// [`YOUNG_WINDOWS`] before it) has no baseline, and its usual values are its own.
fn usual_values(rows: &[ActorWindow], prior: &[ActorWindow], width: usize) -> Vec<Vec<f64>> {
    history::per_new_window(rows, prior, |ws| {
        let mut out = Vec::new();
        let first = ws.first().map_or(0, |l| l.window);
        let mut past = vec![Past::default(); width];
        let mut prev: Option<i64> = None;
        for l in ws {
            if let Some(p) = prev {
                let idle = (l.window - p - 1).max(0) as usize;
                past.iter_mut().for_each(|x| x.push_zeros(idle));
            }
            if let Some(i) = l.new {
                out.push((
                    i,
                    if l.window - first < YOUNG_WINDOWS {
                        l.raw.to_vec()
                    } else {
                        past.iter().map(Past::median).collect()
                    },
                ));
            }
            for (x, v) in past.iter_mut().zip(l.raw) {
                x.push(*v);
            }
            prev = Some(l.window);
        }
        out
    })
}

/// Completes a role's new windows against the actor's history (`prior`: earlier windows of
/// the same role, already complete): the usual value of every feature, the consumer's volume
/// surprise against its own rate and its first-windows volume, and the detector's view. Every
/// value of a window is read from that window and the ones before it: finishing a history at
/// once or in parts gives the same rows.
pub fn finish(table: &mut RoleTable, prior: &[ActorWindow], w: Windowing) {
    let width = table.features.len();
    if table.role == "consumer" {
        consumers::add_volume_surprise(table, prior, w);
    }
    let usual = usual_values(&table.rows, prior, width);
    let defs = &table.features;
    for (r, usual) in table.rows.iter_mut().zip(usual) {
        r.usual = usual;
        r.x = r
            .raw
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let def = &defs[j];
                if consumers::SURPRISES.contains(&def.feature.name.as_str()) {
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

/// A consumer window with `accesses` and every other raw feature 0 (for tests).
#[cfg(test)]
pub(crate) fn consumer_window(actor: &str, window: i64, accesses: f64) -> ActorWindow {
    let mut raw = vec![0.0; consumer_features().len()];
    raw[0] = accesses;
    ActorWindow {
        actor: actor.into(),
        window,
        first_height: window,
        last_height: window,
        raw,
        x: Vec::new(),
        usual: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn history() -> impl Strategy<Value = Vec<ActorWindow>> {
        let width = consumer_features().len();
        // (actor, window, accesses, refused): actors with gaps in their lives
        // up to 80 windows of 3 hours: long enough for the day surprise (24 windows of
        // history before the 24 it sums) and the hour surprise (three earlier days)
        proptest::collection::vec((0..4u8, 0..80i64, 0..60u32, 0..4u32), 1..200).prop_map(
            move |cells| {
                let mut seen = std::collections::BTreeMap::new();
                for (actor, window, accesses, refused) in cells {
                    let mut raw = vec![0.0; width];
                    raw[0] = f64::from(accesses);
                    raw[2] = f64::from(accesses.min(7));
                    raw[5] = f64::from(refused);
                    raw[6] = f64::from(refused.min(2));
                    seen.insert((format!("c{actor}"), window), raw);
                }
                seen.into_iter()
                    .map(|((actor, window), raw)| ActorWindow {
                        raw,
                        ..consumer_window(&actor, window, 0.0)
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn a_history_finished_at_once_or_window_by_window_gives_the_same_rows(
            rows in history(),
            cut in 0i64..81,
        ) {
            let table = |rows: Vec<ActorWindow>| RoleTable {
                role: "consumer",
                features: consumer_features(),
                rows,
            };
            let mut once = table(rows.clone());
            let w = Windowing { seconds: 10_800 };
            finish(&mut once, &[], w);
            // an earlier run finished the windows before `cut` (and stored their raw values);
            // a later one finishes the rest against them
            let (before, after): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.window < cut);
            let mut first = table(before);
            finish(&mut first, &[], w);
            let stored: Vec<ActorWindow> = first
                .rows
                .iter()
                .map(|r| ActorWindow { x: Vec::new(), usual: Vec::new(), ..r.clone() })
                .collect();
            let mut second = table(after);
            finish(&mut second, &stored, w);
            let mut parts = first.rows;
            parts.extend(second.rows);
            parts.sort_by(|a, b| (&a.actor, a.window).cmp(&(&b.actor, b.window)));
            prop_assert_eq!(once.rows, parts);
        }
    }

    #[test]
    fn windows_count_from_the_epoch() {
        let w = Windowing { seconds: 3600 };
        assert_eq!(w.index(3599), 0);
        assert_eq!(w.index(3600), 1);
        assert_eq!(w.start(2), 7200);
        assert_eq!(w.index(-1), -1);
    }
}
