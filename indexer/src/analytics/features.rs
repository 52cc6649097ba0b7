//! Features per actor and time window, from the indexed tables.
//!
//! The event-level work (millions of accesses) runs in polars: windows from block times, group
//! by (actor, window), joins of the per-window aggregates. The small tables (versions, lineage,
//! attestations) are walked in plain Rust. Every feature has a raw value an analyst can read
//! ("41 accesses") and a transformed value the detector sees (`ln(1 + x)` for counts, so that
//! ten times the volume is a step of the same size for a small and a large consumer).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context;
use polars::prelude::*;

use super::detect::{Direction, Feature};
use super::Data;

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

fn count(name: &str, text: &'static str) -> FeatureDef {
    weighted(name, 1.0, text)
}

/// A count whose deviations count `weight` in the feature view: volume is unusual but not in
/// itself risky; refusals and unattested lineage are.
fn weighted(name: &str, weight: f64, text: &'static str) -> FeatureDef {
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
fn rare(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    let mut d = weighted(name, weight, text);
    d.feature.floor = 0.3;
    d
}

/// A volume measured against the actor's own usual value.
fn relative(name: &str, weight: f64, text: &'static str) -> FeatureDef {
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

/// The consumer features, in column order.
pub fn consumer_features() -> Vec<FeatureDef> {
    vec![
        relative("accesses", 0.5, "{v} accesses in the window (usually {u})"),
        FeatureDef {
            feature: Feature {
                name: "volume_surprise".into(),
                direction: Direction::High,
                floor: 1.0,
                weight: 1.0,
            },
            text: "access volume far above its own usual rate (surprise {v}: 10^-{v} odds at its usual pace)",
            relative: false,
        },
        relative("assets", 0.5, "{v} distinct assets accessed (usually {u})"),
        relative("subjects", 0.5, "{v} distinct data subjects accessed (usually {u})"),
        relative("max_per_block", 0.5, "{v} accesses in a single block (usually {u})"),
        weighted("refused", 1.5, "{v} access attempts refused (usually {u})"),
        rare("refused_purpose", 1.5, "{v} attempts refused for a purpose its agreement does not permit (usually {u})"),
        count("purposes_tried", "{v} distinct purposes tried (usually {u})"),
        rare("refused_no_agreement", 1.5, "{v} attempts on agreements that are not its own (usually {u})"),
        weighted("refused_consent", 1.5, "{v} attempts refused for lack of the subject's consent (usually {u})"),
        weighted("refused_suspended", 1.5, "{v} attempts on suspended or terminated agreements (usually {u})"),
        weighted("near_cap", 0.5, "{v} accesses within 10% of an agreement's cap (usually {u})"),
        weighted("new_actor_volume", 0.6, "{v} accesses in its first windows on chain"),
    ]
}

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

fn i64_col(df: &DataFrame, name: &str) -> anyhow::Result<Vec<i64>> {
    let c = df
        .column(name)
        .with_context(|| format!("column {name}"))?
        .cast(&DataType::Int64)?;
    Ok(c.i64()?.into_iter().map(|v| v.unwrap_or(0)).collect())
}

fn str_col(df: &DataFrame, name: &str) -> anyhow::Result<Vec<String>> {
    let c = df.column(name).with_context(|| format!("column {name}"))?;
    Ok(c.str()?
        .into_iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Surprise of seeing `n` events where `rate` were expected: a Chernoff bound on the Poisson
/// upper tail, in decimal digits (`-log10 P(X >= n)`, an upper bound's worth).
pub fn poisson_surprise(n: f64, rate: f64) -> f64 {
    let rate = rate.max(0.05);
    if n <= rate {
        return 0.0;
    }
    (n * (n / rate).ln() - n + rate) / std::f64::consts::LN_10
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

/// Consumer windows from accesses and refused attempts (polars).
pub fn consumers(data: &Data, w: Windowing) -> anyhow::Result<RoleTable> {
    let features = consumer_features();
    let secs = w.seconds.max(1);
    let times = data.blocks.clone().lazy().select([col("height"), col("t")]);
    let window = col("t").floor_div(lit(secs)).alias("window");
    // near cap: the access's count against its offer's cap
    let caps = data
        .agreements
        .clone()
        .lazy()
        .join(
            data.offers.clone().lazy(),
            [col("offer_id")],
            [col("offer_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([col("agreement_id"), col("access_cap")]);
    let acc = data
        .accesses
        .clone()
        .lazy()
        .join(
            times.clone(),
            [col("height")],
            [col("height")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            caps,
            [col("agreement_id")],
            [col("agreement_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            window.clone(),
            (col("access_count")
                .cast(DataType::Float64)
                .gt_eq(col("access_cap").cast(DataType::Float64) * lit(0.9)))
            .fill_null(lit(false))
            .cast(DataType::Int64)
            .alias("near"),
        ])
        // consumers as categories: the group-bys below hash small integers, not addresses
        .with_columns([col("consumer").cast(DataType::from_categories(Categories::global()))])
        // only what the aggregations read: the copy costs memory at scale
        .select([
            col("consumer"),
            col("window"),
            col("height"),
            col("asset_id"),
            col("subject"),
            col("purpose"),
            col("near"),
        ])
        // materialized once: three aggregations read it
        .collect()
        .context("accesses with their windows (polars)")?
        .lazy();
    let per_block = acc
        .clone()
        .group_by([col("consumer"), col("window"), col("height")])
        .agg([len().cast(DataType::Int64).alias("n")])
        .group_by([col("consumer"), col("window")])
        .agg([col("n").max().alias("max_per_block")]);
    let acc_w = acc
        .clone()
        .group_by([col("consumer"), col("window")])
        .agg([
            len().cast(DataType::Int64).alias("accesses"),
            col("asset_id")
                .n_unique()
                .cast(DataType::Int64)
                .alias("assets"),
            col("subject")
                .drop_nulls()
                .n_unique()
                .cast(DataType::Int64)
                .alias("subjects"),
            col("near").sum().alias("near_cap"),
            col("height").min().alias("first_a"),
            col("height").max().alias("last_a"),
        ])
        .join(
            per_block,
            [col("consumer"), col("window")],
            [col("consumer"), col("window")],
            JoinArgs::new(JoinType::Left),
        );
    let den = data
        .denied
        .clone()
        .lazy()
        .join(
            times,
            [col("height")],
            [col("height")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            window,
            col("consumer").cast(DataType::from_categories(Categories::global())),
            col("purpose").cast(DataType::from_categories(Categories::global())),
        ]);
    let is = |reasons: &[&str]| {
        let mut e = lit(false);
        for r in reasons {
            e = e.or(col("reason").eq(lit(*r)));
        }
        e.cast(DataType::Int64).sum()
    };
    let den_w = den.clone().group_by([col("consumer"), col("window")]).agg([
        len().cast(DataType::Int64).alias("refused"),
        is(&["purpose_not_permitted"]).alias("refused_purpose"),
        is(&["no_agreement"]).alias("refused_no_agreement"),
        is(&["consent_not_granted", "subject_required"]).alias("refused_consent"),
        is(&[
            "agreement_suspended",
            "consumer_suspended",
            "agreement_terminated",
            "agreement_expired",
        ])
        .alias("refused_suspended"),
        col("height").min().alias("first_d"),
        col("height").max().alias("last_d"),
    ]);
    let purposes = concat(
        [
            acc.select([col("consumer"), col("window"), col("purpose")]),
            den.select([col("consumer"), col("window"), col("purpose")]),
        ],
        UnionArgs::default(),
    )?
    .group_by([col("consumer"), col("window")])
    .agg([col("purpose")
        .drop_nulls()
        .n_unique()
        .cast(DataType::Int64)
        .alias("purposes_tried")]);
    let keys = [col("consumer"), col("window")];
    let t0 = std::time::Instant::now();
    let all = acc_w
        .join(
            den_w,
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .join(purposes, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .with_columns([col("consumer").cast(DataType::String)])
        .collect()
        .context("consumer windows (polars)")?;
    tracing::debug!("consumer windows: polars {:?}", t0.elapsed());
    let n = all.height();
    let actor = str_col(&all, "consumer")?;
    let windows = i64_col(&all, "window")?;
    let get = |c: &str| i64_col(&all, c);
    let cols: Vec<Vec<i64>> = [
        "accesses",
        "assets",
        "subjects",
        "max_per_block",
        "refused",
        "refused_purpose",
        "purposes_tried",
        "refused_no_agreement",
        "refused_consent",
        "refused_suspended",
        "near_cap",
    ]
    .iter()
    .map(|c| get(c))
    .collect::<anyhow::Result<_>>()?;
    let (fa, la, fd, ld) = (
        get("first_a")?,
        get("last_a")?,
        get("first_d")?,
        get("last_d")?,
    );
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let raw = vec![
            cols[0][i] as f64,
            0.0, // volume_surprise: see finish()
            cols[1][i] as f64,
            cols[2][i] as f64,
            cols[3][i] as f64,
            cols[4][i] as f64,
            cols[5][i] as f64,
            cols[6][i] as f64,
            cols[7][i] as f64,
            cols[8][i] as f64,
            cols[9][i] as f64,
            cols[10][i] as f64,
            0.0, // new_actor_volume: see finish()
        ];
        let first_height = [fa[i], fd[i]]
            .into_iter()
            .filter(|h| *h > 0)
            .min()
            .unwrap_or(0);
        let last_height = [la[i], ld[i]].into_iter().max().unwrap_or(0);
        rows.push(ActorWindow {
            actor: actor[i].clone(),
            window: windows[i],
            first_height,
            last_height,
            raw,
            x: Vec::new(),
            usual: Vec::new(),
        });
    }
    rows.sort_by(|a, b| (&a.actor, a.window).cmp(&(&b.actor, b.window)));
    Ok(RoleTable {
        role: "consumer",
        features,
        rows,
    })
}

/// An actor's usual accesses per window without some of its windows (`left_out`, values that
/// are in `sorted`): the larger of the mean and the 90th percentile (its busy-but-normal level)
/// of the rest. `sorted` holds every window of its life, idle ones as zeros, in order; `total`
/// is their sum. None when nothing is left.
pub fn baseline_rate(sorted: &[f64], total: f64, left_out: &[f64]) -> Option<f64> {
    let n = sorted
        .len()
        .checked_sub(left_out.len())
        .filter(|n| *n > 0)?;
    // positions (in `sorted`) of the left-out values, distinct even for equal values
    let mut gone: Vec<usize> = Vec::with_capacity(left_out.len());
    for &x in left_out {
        let mut i = sorted.partition_point(|y| *y <= x);
        while i > 0 && (gone.contains(&(i - 1)) || sorted[i - 1] != x) {
            i -= 1;
        }
        if i == 0 || sorted[i - 1] != x {
            return None; // not one of the actor's windows
        }
        gone.push(i - 1);
    }
    gone.sort_unstable();
    let mut at = ((n - 1) as f64 * 0.9).round() as usize;
    for g in &gone {
        if *g <= at {
            at += 1;
        }
    }
    let q90 = sorted.get(at).copied()?;
    let mean = (total - left_out.iter().sum::<f64>()) / n as f64;
    Some(mean.max(q90))
}

/// Per new consumer window: its volume surprise against the consumer's own baseline, and its
/// volume when the window is one of the consumer's first two (else 0).
fn volume_surprise(
    rows: &[ActorWindow],
    prior: &[ActorWindow],
    last_window: i64,
) -> Vec<(f64, f64)> {
    // per actor: first window, and accesses by window
    let mut first_seen: HashMap<&str, i64> = HashMap::new();
    let mut by_window: HashMap<&str, HashMap<i64, f64>> = HashMap::new();
    for r in rows.iter().chain(prior) {
        let e = first_seen.entry(&r.actor).or_insert(r.window);
        *e = (*e).min(r.window);
        *by_window
            .entry(&r.actor)
            .or_default()
            .entry(r.window)
            .or_default() += r.raw.first().copied().unwrap_or(0.0);
    }
    // every window of the actor's life, idle ones as zeros, sorted, and their sum: its
    // baseline is read from this with the window in question and its two neighbours left out
    // (a burst that straddles a window boundary must not become its own baseline)
    let history: HashMap<&str, (Vec<f64>, f64)> = by_window
        .iter()
        .map(|(actor, ws)| {
            let alive = (last_window - first_seen[actor] + 1).max(1) as usize;
            let mut v: Vec<f64> = ws.values().copied().collect();
            let total = v.iter().sum();
            v.resize(alive.max(v.len()), 0.0);
            v.sort_by(f64::total_cmp);
            (*actor, (v, total))
        })
        .collect();
    rows.iter()
        .map(|r| {
            let a = r.raw[0];
            let actor = r.actor.as_str();
            let first = first_seen.get(actor).copied().unwrap_or(r.window);
            let mine = by_window.get(actor);
            let left_out: Vec<f64> = (r.window - 1..=r.window + 1)
                .filter(|w| (first..=last_window).contains(w))
                .map(|w| mine.and_then(|m| m.get(&w)).copied().unwrap_or(0.0))
                .collect();
            let rate = history
                .get(actor)
                .and_then(|(sorted, total)| baseline_rate(sorted, *total, &left_out))
                .unwrap_or(a);
            let young = r.window - first < 2;
            (
                (poisson_surprise(a, rate) * 10.0).round() / 10.0,
                if young { a } else { 0.0 },
            )
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
        let derived = volume_surprise(&table.rows, prior, last_window);
        for (r, (surprise, young)) in table.rows.iter_mut().zip(derived) {
            r.raw[1] = surprise;
            r.raw[12] = young;
        }
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

/// Versions whose lineage holds an ancestor nobody attested, with the longest run of
/// unattested ancestors (plain Rust: the registry tables are small).
pub struct Lineage {
    /// (asset, version) -> parents
    pub parents: HashMap<(i64, i64), Vec<(i64, i64)>>,
    /// versions with at least one attestation that was not revoked
    pub attested: BTreeSet<(i64, i64)>,
}

impl Lineage {
    pub fn from_data(data: &Data) -> anyhow::Result<Self> {
        let l = &data.lineage;
        let (pa, pv, ca, cv) = (
            i64_col(l, "parent_asset")?,
            i64_col(l, "parent_version")?,
            i64_col(l, "child_asset")?,
            i64_col(l, "child_version")?,
        );
        let mut parents: HashMap<(i64, i64), Vec<(i64, i64)>> = HashMap::new();
        for i in 0..pa.len() {
            parents
                .entry((ca[i], cv[i]))
                .or_default()
                .push((pa[i], pv[i]));
        }
        let a = &data.attestations;
        let (asset, version, revoked) = (
            i64_col(a, "asset_id")?,
            i64_col(a, "version")?,
            a.column("revoked")?
                .bool()?
                .into_iter()
                .map(|v| v.unwrap_or(false))
                .collect::<Vec<_>>(),
        );
        // the latest word per (version, attestor) counts: attested unless revoked since
        let attestor = str_col(a, "attestor")?;
        let mut last: BTreeMap<(i64, i64, &str), bool> = BTreeMap::new();
        for i in 0..asset.len() {
            last.insert((asset[i], version[i], attestor[i].as_str()), !revoked[i]);
        }
        let attested = last
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|((a, v, _), _)| (a, v))
            .collect();
        Ok(Self { parents, attested })
    }

    /// The longest chain of unattested ancestors above `v` (0: every ancestor is attested).
    pub fn unattested_depth(&self, v: (i64, i64)) -> i64 {
        let mut memo = HashMap::new();
        self.depth(v, &mut memo, 0)
    }

    fn depth(&self, v: (i64, i64), memo: &mut HashMap<(i64, i64), i64>, guard: usize) -> i64 {
        if let Some(d) = memo.get(&v) {
            return *d;
        }
        if guard > 64 {
            return 0;
        }
        let d = self
            .parents
            .get(&v)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let above = self.depth(*p, memo, guard + 1);
                        if self.attested.contains(p) {
                            0
                        } else {
                            1 + above
                        }
                    })
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(v, d);
        d
    }
}

fn window_of(times: &HashMap<i64, i64>, w: Windowing, height: i64) -> Option<i64> {
    times.get(&height).map(|t| w.index(*t))
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
        let Some(win) = window_of(&times, w, h[i]) else {
            continue;
        };
        let key = (asset[i], version[i]);
        acc.add(&publisher[i], win, h[i], 0, width, 1.0);
        let ps = lineage.parents.get(&key);
        if ps.is_some_and(|ps| ps.iter().any(|p| !lineage.attested.contains(p))) {
            acc.add(&publisher[i], win, h[i], 2, width, 1.0);
        }
        let depth = lineage.unattested_depth(key) as f64;
        acc.max(&publisher[i], win, h[i], 3, width, depth);
        if depth > 0.0 && lineage.attested.contains(&key) {
            acc.add(&publisher[i], win, h[i], 4, width, 1.0);
        }
    }
    let a = &data.assets;
    let (h, owner) = (i64_col(a, "height")?, str_col(a, "owner")?);
    for i in 0..h.len() {
        if let Some(win) = window_of(&times, w, h[i]) {
            acc.add(&owner[i], win, h[i], 1, width, 1.0);
        }
    }
    let wd = &data.withdrawals;
    let (h, controller) = (i64_col(wd, "height")?, str_col(wd, "controller")?);
    for i in 0..h.len() {
        if let Some(win) = window_of(&times, w, h[i]) {
            acc.add(&controller[i], win, h[i], 5, width, 1.0);
        }
    }
    Ok(acc.into_table("provider", features))
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
    let revoked: Vec<bool> = a
        .column("revoked")?
        .bool()?
        .into_iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    for i in 0..h.len() {
        let Some(win) = window_of(&times, w, h[i]) else {
            continue;
        };
        if revoked[i] {
            acc.add(&attestor[i], win, h[i], 2, width, 1.0);
            continue;
        }
        acc.add(&attestor[i], win, h[i], 0, width, 1.0);
        if lineage.unattested_depth((asset[i], version[i])) > 0 {
            acc.add(&attestor[i], win, h[i], 1, width, 1.0);
        }
    }
    Ok(acc.into_table("attestor", features))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surprise_grows_with_the_excess_over_the_usual_rate() {
        assert_eq!(
            poisson_surprise(2.0, 5.0),
            0.0,
            "fewer than usual is no surprise"
        );
        let small = poisson_surprise(9.0, 3.0);
        let burst = poisson_surprise(40.0, 3.0);
        assert!(small > 0.5 && small < 3.0, "{small}");
        assert!(burst > 15.0, "{burst}");
        // Chernoff: P(X >= 9 | 3) <= e^-3 (3e/9)^9 = e^-3.887 = 0.0205 -> 1.688 digits
        assert!((small - 1.688).abs() < 0.01, "{small}");
    }

    #[test]
    fn the_baseline_leaves_out_the_window_and_its_neighbours() {
        // windows 48, 480, 480, 48, 0, 96, 48: leaving out 48 and both 480s leaves 0, 48, 48, 96
        let sorted = [0.0, 48.0, 48.0, 48.0, 96.0, 480.0, 480.0];
        let total: f64 = sorted.iter().sum();
        assert_eq!(
            baseline_rate(&sorted, total, &[48.0, 480.0, 480.0]),
            Some(96.0)
        );
        assert_eq!(
            baseline_rate(&sorted, total, &[]),
            Some(480.0),
            "with nothing left out the bursts are the 90th percentile"
        );
        assert_eq!(baseline_rate(&sorted, total, &[7.0]), None, "not a window");
        assert_eq!(baseline_rate(&[5.0], 5.0, &[5.0]), None, "nothing left");
    }

    fn consumer_row(actor: &str, window: i64, accesses: f64) -> ActorWindow {
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

    #[test]
    fn a_burst_straddling_a_window_boundary_is_surprising_in_both_windows() {
        // a short history (eight windows) where the burst fills two of them: with the burst in
        // its own baseline, the 90th percentile would be the burst itself
        let burst = [48.0, 480.0, 480.0, 48.0, 48.0, 96.0, 48.0, 96.0];
        let mut rows: Vec<ActorWindow> = burst
            .iter()
            .enumerate()
            .map(|(w, a)| consumer_row("b", w as i64, *a))
            .collect();
        rows.extend((0..8).map(|w| consumer_row("c", w, 48.0)));
        let mut table = RoleTable {
            role: "consumer",
            features: consumer_features(),
            rows,
        };
        finish(&mut table, &[]);
        for r in &table.rows {
            let surprise = r.raw[1];
            if r.actor == "b" && (r.window == 1 || r.window == 2) {
                assert!(surprise > 50.0, "window {}: {surprise}", r.window);
            } else {
                assert_eq!(surprise, 0.0, "{} window {}", r.actor, r.window);
            }
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

    #[test]
    fn the_unattested_depth_counts_unattested_ancestors_in_a_row() {
        // 1@1 (unattested) <- 2@1 (unattested) <- 3@1 (attested); 4@1 attested <- 5@1
        let mut parents = HashMap::new();
        parents.insert((2, 1), vec![(1, 1)]);
        parents.insert((3, 1), vec![(2, 1)]);
        parents.insert((5, 1), vec![(4, 1)]);
        let attested = [(3, 1), (4, 1), (5, 1)].into_iter().collect();
        let l = Lineage { parents, attested };
        assert_eq!(l.unattested_depth((3, 1)), 2);
        assert_eq!(l.unattested_depth((2, 1)), 1);
        assert_eq!(l.unattested_depth((1, 1)), 0);
        assert_eq!(l.unattested_depth((5, 1)), 0);
    }
}
