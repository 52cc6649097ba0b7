//! The evaluation's unit — an actor in a window, its score and the labels that cover it — and
//! what is read from units: the instances the sentinel catches, and the CSV dump for study.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use datapact_analytics::Analysis;

use super::sentinel_threshold;
use crate::labels::{role_of, Label};
use crate::synth::NoiseMark;

/// One scored unit and the label kinds it carries.
#[derive(Clone, Debug)]
pub struct Unit {
    pub role: String,
    pub actor: String,
    pub window: i64,
    pub score: f64,
    pub kinds: Vec<String>,
    /// the generator's variants whose labels cover it (attacks)
    pub variants: Vec<String>,
    /// the honest-noise variants that touched it (only on unlabelled units)
    pub noise: Vec<String>,
    /// the labels that cover it (indices into the history's labels)
    pub labels: Vec<usize>,
}

/// Units from an analysis, labelled, with the honest noise that touched them.
pub fn units(a: &Analysis, labels: &[Label], noise: &[NoiseMark]) -> Vec<Unit> {
    let mut out: BTreeMap<(String, String, i64), (f64, i64, i64)> = BTreeMap::new();
    for (t, scores) in &a.tables {
        for (w, s) in t.rows.iter().zip(scores) {
            out.insert(
                (t.role.to_string(), w.actor.clone(), w.window),
                (s.score, w.first_height, w.last_height),
            );
        }
    }
    for f in &a.findings {
        let e = out
            .entry((f.role.to_string(), f.actor.clone(), f.window))
            .or_insert((0.0, f.first_height, f.last_height));
        e.0 = e.0.max(f.score());
        e.1 = e.1.min(f.first_height);
        e.2 = e.2.max(f.last_height);
    }
    let mut by_actor: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_actor
            .entry((role_of(&l.kind), l.actor.as_str()))
            .or_default()
            .push(i);
    }
    let mut noise_of: HashMap<&str, Vec<&NoiseMark>> = HashMap::new();
    for m in noise {
        noise_of.entry(m.actor.as_str()).or_default().push(m);
    }
    out.into_iter()
        .map(|((role, actor, window), (score, first, last))| {
            let of_actor = by_actor
                .get(&(role.as_str(), actor.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let ids = covering(labels, of_actor, first, last);
            let covering: Vec<&Label> = ids.iter().map(|&i| &labels[i]).collect();
            let kinds = covering.iter().map(|l| l.kind.clone()).collect();
            let mut variants: Vec<String> =
                covering.iter().filter_map(|l| l.variant.clone()).collect();
            variants.dedup();
            // noise counts only where no label does: an attacker's noise is not honest noise
            let mut noise: Vec<String> = if covering.is_empty() && role == "consumer" {
                noise_of
                    .get(actor.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|m| first <= m.last_height as i64 && m.first_height as i64 <= last)
                    .map(|m| m.variant.clone())
                    .collect()
            } else {
                Vec::new()
            };
            noise.sort();
            noise.dedup();
            Unit {
                role,
                actor,
                window,
                score,
                kinds,
                variants,
                noise,
                labels: ids,
            }
        })
        .collect()
}

/// Of `of_actor` (indices into `labels`: one actor's labels in one role), those whose heights
/// overlap `first..=last`.
fn covering(labels: &[Label], of_actor: &[usize], first: i64, last: i64) -> Vec<usize> {
    of_actor
        .iter()
        .copied()
        .filter(|&i| {
            let l = &labels[i];
            let (lf, ll) = (
                l.first_height.unwrap_or(0) as i64,
                l.last_height.unwrap_or(0) as i64,
            );
            first <= ll && lf <= last
        })
        .collect()
}

/// One labelled instance where the sentinel acts: its windows, and how many windows after its
/// first one a window of it first reached the sentinel's threshold (None: never).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Incident {
    pub kind: String,
    pub variant: Option<String>,
    pub windows: usize,
    pub first_alert: Option<i64>,
}

/// Per label of the history, its incident: what a suspension needs is one alert per instance,
/// as early as it can be, where the tables above count every window of it alike.
pub fn incidents(units: &[Unit], labels: &[Label]) -> Vec<Incident> {
    let t = sentinel_threshold();
    let mut of: BTreeMap<usize, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        for &i in &u.labels {
            of.entry(i).or_default().push(u);
        }
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut us = of.remove(&i).unwrap_or_default();
            us.sort_by_key(|u| u.window);
            let first = us.first().map_or(0, |u| u.window);
            Incident {
                kind: l.kind.clone(),
                variant: l.variant.clone(),
                windows: us.len(),
                first_alert: us.iter().find(|u| u.score >= t).map(|u| u.window - first),
            }
        })
        .collect()
}

/// The kinds of the labels that cover `actor` in `role` between heights `first..=last`.
pub fn kinds_for(labels: &[Label], role: &str, actor: &str, first: i64, last: i64) -> Vec<String> {
    let of_actor: Vec<usize> = (0..labels.len())
        .filter(|&i| role_of(&labels[i].kind) == role && labels[i].actor == actor)
        .collect();
    covering(labels, &of_actor, first, last)
        .into_iter()
        .map(|i| labels[i].kind.clone())
        .collect()
}

/// Writes one CSV per role of an analysis's windows with what the evaluation knows of each:
/// the unit's score (the model's and the rules' higher), the model's score and views, every
/// feature's raw and usual value, and the labels, variants and honest noise on it. For studying
/// a detector on development seeds; `stem` names the files (`<stem>-<role>.csv`).
pub fn write_units(
    dir: &std::path::Path,
    stem: &str,
    a: &Analysis,
    units: &[Unit],
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir)?;
    let by_key: HashMap<(&str, &str, i64), &Unit> = units
        .iter()
        .map(|u| ((u.role.as_str(), u.actor.as_str(), u.window), u))
        .collect();
    for (t, scores) in &a.tables {
        let mut s = String::from("actor,window,first_height,last_height,score,model");
        for v in ["feature", "forest", "knn", "pca", "density"] {
            let _ = write!(s, ",view_{v}");
        }
        for f in &t.features {
            let _ = write!(s, ",{}", f.feature.name);
        }
        for f in &t.features {
            let _ = write!(s, ",usual_{}", f.feature.name);
        }
        s.push_str(",kinds,variants,noise\n");
        for (w, sc) in t.rows.iter().zip(scores) {
            let u = by_key.get(&(t.role, w.actor.as_str(), w.window));
            let _ = write!(
                s,
                "{},{},{},{},{},{}",
                w.actor,
                w.window,
                w.first_height,
                w.last_height,
                u.map_or(sc.score, |u| u.score),
                sc.score
            );
            for p in sc.parts {
                let _ = write!(s, ",{p}");
            }
            for v in w.raw.iter().chain(&w.usual) {
                let _ = write!(s, ",{v}");
            }
            let list = |f: fn(&Unit) -> &Vec<String>| u.map(|u| f(u).join(";")).unwrap_or_default();
            let _ = writeln!(
                s,
                ",{},{},{}",
                list(|u| &u.kinds),
                list(|u| &u.variants),
                list(|u| &u.noise)
            );
        }
        std::fs::write(dir.join(format!("{stem}-{}.csv", t.role)), s)?;
    }
    Ok(())
}
