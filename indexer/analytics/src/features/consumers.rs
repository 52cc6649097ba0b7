//! Consumer windows: accesses and refused attempts, in polars; volume against the consumer's
//! own usual rate.

use std::collections::HashMap;

use anyhow::Context;
use polars::prelude::*;

use super::history::{per_new_window, Lived};
use super::keys::{key_origins, pack, sorted_by, with_windows};
use super::{
    count, i64_col, rare, relative, str_col, weighted, ActorWindow, FeatureDef, Past, RoleTable,
    Windowing, YOUNG_WINDOWS,
};
use datapact_types::agreements::DenyReason;

use crate::detect::{Direction, Feature};
use crate::load::Data;

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
        odds(
            "day_surprise",
            DAY_WEIGHT,
            "volume risen above its usual rate for this time of day and sustained over the last windows (odds of 10^{v} that it is a sustained rise: exfiltration)",
        ),
        surprise(
            "hour_surprise",
            "access volume far above its own usual at this time of day (surprise {v})",
        ),
        odds(
            "trickle_evidence",
            5.0,
            "refused purposes trickling in, a few windows apart (odds of 10^{v} that it is purpose hopping)",
        ),
    ]
}

/// The features read as Poisson surprises (digits of improbability), not counts.
pub const SURPRISES: [&str; 4] = [
    "volume_surprise",
    "day_surprise",
    "hour_surprise",
    "trickle_evidence",
];

fn surprise(name: &str, text: &'static str) -> FeatureDef {
    weighted_surprise(name, 1.0, text)
}

fn weighted_surprise(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    FeatureDef {
        feature: Feature {
            name: name.into(),
            direction: Direction::High,
            floor: 1.0,
            weight,
        },
        text,
        relative: false,
    }
}

/// A feature read as posterior odds in decimal digits: odds with a prior, not a bare
/// likelihood ratio as the surprises are, so a quarter of a digit is one unit (odds of 100:1
/// are 8).
fn odds(name: &str, weight: f64, text: &'static str) -> FeatureDef {
    let mut d = weighted_surprise(name, weight, text);
    d.feature.floor = 0.25;
    d
}

/// The day surprise's weight in the feature view (model 13; models 6-12: 3, read in whole
/// digits).
const DAY_WEIGHT: f64 = 2.0;

/// Where the derived features sit in a consumer row.
const VOLUME_SURPRISE: usize = 1;
pub(super) const REFUSED_PURPOSE: usize = 6;
const NEW_ACTOR_VOLUME: usize = 12;
const DAY_SURPRISE: usize = 13;
const HOUR_SURPRISE: usize = 14;
const TRICKLE_EVIDENCE: usize = 15;

/// Surprise of seeing `n` events where `rate` were expected: a Chernoff bound on the Poisson
/// upper tail, in decimal digits (`-log10 P(X >= n)`, an upper bound's worth).
pub fn poisson_surprise(n: f64, rate: f64) -> f64 {
    let rate = rate.max(0.05);
    if n <= rate {
        return 0.0;
    }
    (n * (n / rate).ln() - n + rate) / std::f64::consts::LN_10
}

/// Consumer windows from accesses and refused attempts (polars).
pub fn consumers(data: &Data, w: Windowing) -> anyhow::Result<RoleTable> {
    let features = consumer_features();
    let secs = w.seconds.max(1);
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
    // every group and join below is on one integer key (see `keys`): (consumer, window) and
    // (consumer, block) packed into a u64 each
    let (h0, w0) = key_origins(&data.blocks, secs)?;
    let times = data.block_times()?;
    let cw = pack(col("consumer"), col("window") - lit(w0)).alias("cw");
    let acc = with_windows(data.accesses.clone(), times, secs)?
        .lazy()
        .join(
            caps,
            [col("agreement_id")],
            [col("agreement_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([(col("access_count")
            .cast(DataType::Float64)
            .gt_eq(col("access_cap").cast(DataType::Float64) * lit(0.9)))
        .fill_null(lit(false))
        .cast(DataType::Int64)
        .alias("near")])
        // consumers as categories: the keys below pack their integer codes
        .with_columns([col("consumer").cast(DataType::from_categories(Categories::global()))])
        .with_columns([
            cw.clone(),
            pack(col("consumer"), col("height") - lit(h0)).alias("cb"),
        ])
        // only what the aggregations read: the copy costs memory at scale
        .select([
            col("cw"),
            col("cb"),
            col("consumer"),
            col("window"),
            col("height"),
            col("asset_id"),
            col("subject"),
            col("purpose"),
            col("near"),
        ])
        // in (consumer, block) order: polars groups a sorted key by slicing its runs
        .sort(["cb"], SortMultipleOptions::default())
        // materialized once: three aggregations read it
        .collect()
        .context("accesses with their windows (polars)")?;
    let acc = sorted_by(acc, "cw")?.lazy();
    let per_block = acc
        .clone()
        .group_by([col("cb")])
        .agg([len().cast(DataType::Int64).alias("n"), col("cw").first()])
        .group_by([col("cw")])
        .agg([col("n").max().alias("max_per_block")]);
    let acc_w = acc
        .clone()
        .group_by([col("cw")])
        .agg([
            col("consumer").first(),
            col("window").first(),
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
            [col("cw")],
            [col("cw")],
            JoinArgs::new(JoinType::Left),
        );
    let den = with_windows(data.denied.clone(), times, secs)?
        .lazy()
        .with_columns([
            col("consumer").cast(DataType::from_categories(Categories::global())),
            col("purpose").cast(DataType::from_categories(Categories::global())),
        ])
        .with_columns([cw]);
    let is = |reasons: &[DenyReason]| {
        let mut e = lit(false);
        for r in reasons {
            e = e.or(col("reason").eq(lit(r.as_str())));
        }
        e.cast(DataType::Int64).sum()
    };
    let den_w = den.clone().group_by([col("cw")]).agg([
        col("consumer").first(),
        col("window").first(),
        len().cast(DataType::Int64).alias("refused"),
        is(&[DenyReason::PurposeNotPermitted]).alias("refused_purpose"),
        is(&[DenyReason::NoAgreement]).alias("refused_no_agreement"),
        is(&[DenyReason::ConsentNotGranted, DenyReason::SubjectRequired]).alias("refused_consent"),
        is(&[
            DenyReason::AgreementSuspended,
            DenyReason::ConsumerSuspended,
            DenyReason::AgreementTerminated,
            DenyReason::AgreementExpired,
        ])
        .alias("refused_suspended"),
        col("height").min().alias("first_d"),
        col("height").max().alias("last_d"),
    ]);
    let purposes = concat(
        [
            acc.select([col("cw"), col("purpose")]),
            den.select([col("cw"), col("purpose")]),
        ],
        UnionArgs::default(),
    )?
    .group_by([col("cw")])
    .agg([col("purpose")
        .drop_nulls()
        .n_unique()
        .cast(DataType::Int64)
        .alias("purposes_tried")]);
    let t0 = std::time::Instant::now();
    let all = acc_w
        .join(
            den_w,
            [col("cw")],
            [col("cw")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .join(
            purposes,
            [col("cw")],
            [col("cw")],
            JoinArgs::new(JoinType::Left),
        )
        // a window with refusals only has its consumer and window from the refusals' side
        .with_columns([
            coalesce(&[col("consumer"), col("consumer_right")]).cast(DataType::String),
            coalesce(&[col("window"), col("window_right")]),
        ])
        .collect()
        .context("consumer windows (polars)")?;
    tracing::debug!("consumer windows: polars {:?}", t0.elapsed());
    let n = all.height();
    let mut actor = str_col(&all, "consumer")?;
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
    // the rows in (consumer, window) order, built in it (sorting the built rows by their
    // strings took a tenth of a second): the few consumers ranked once, the rows by rank
    let order: Vec<usize> = {
        let mut names: Vec<&str> = actor.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let rank: HashMap<&str, usize> = names.iter().enumerate().map(|(r, a)| (*a, r)).collect();
        let mut keyed: Vec<(usize, i64, usize)> = (0..n)
            .map(|i| {
                (
                    rank.get(actor[i].as_str()).copied().unwrap_or(0),
                    windows[i],
                    i,
                )
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, _, i)| i).collect()
    };
    let mut rows = Vec::with_capacity(n);
    for i in order {
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
            0.0, // day_surprise: see finish()
            0.0, // hour_surprise: see finish()
            0.0, // trickle_evidence: see finish()
        ];
        let first_height = [fa[i], fd[i]]
            .into_iter()
            .filter(|h| *h > 0)
            .min()
            .unwrap_or(0);
        let last_height = [la[i], ld[i]].into_iter().max().unwrap_or(0);
        rows.push(ActorWindow {
            actor: std::mem::take(&mut actor[i]),
            window: windows[i],
            first_height,
            last_height,
            raw,
            x: Vec::new(),
            usual: Vec::new(),
        });
    }
    Ok(RoleTable {
        role: "consumer",
        features,
        rows,
    })
}

/// An actor's usual accesses per window from its past: the larger of the mean and the 90th
/// percentile (its busy-but-normal level). None without a past.
pub fn baseline_rate(past: &Past) -> Option<f64> {
    (!past.is_empty()).then(|| past.mean().max(past.quantile(0.9)))
}

/// Per new consumer window: its volume surprise against the consumer's own baseline, and its
/// volume when the window is one of the consumer's first [`YOUNG_WINDOWS`] (else 0). The
/// baseline is every window before the one before it (idle ones as zeros): a burst that
/// straddles a window boundary must not become its own baseline.
pub(super) fn volume_surprise(rows: &[ActorWindow], prior: &[ActorWindow]) -> Vec<(f64, f64)> {
    let accesses = |l: &Lived| l.raw.first().copied().unwrap_or(0.0);
    per_new_window(rows, prior, |ws| {
        let mut out = Vec::new();
        let first = ws.first().map_or(0, |l| l.window);
        let mut past = Past::default();
        // windows before `upto` are in `past`; `next` is the first of `ws` not yet in it
        let (mut upto, mut next) = (first, 0);
        for l in ws {
            while upto < l.window - 1 {
                match ws.get(next) {
                    Some(p) if p.window == upto => {
                        past.push(accesses(p));
                        next += 1;
                    }
                    _ => past.push_zeros(1),
                }
                upto += 1;
            }
            let Some(i) = l.new else { continue };
            let a = accesses(l);
            let young = l.window - first < YOUNG_WINDOWS;
            let rate = if young { None } else { baseline_rate(&past) };
            out.push((
                i,
                (
                    (poisson_surprise(a, rate.unwrap_or(a)) * 10.0).round() / 10.0,
                    if young { a } else { 0.0 },
                ),
            ));
        }
        out
    })
}

/// Fills the consumer windows' derived features: the volume surprise, the first-windows
/// volume, and the ones over a span of windows ([`spans`](super::spans::spans)).
pub(super) fn add_volume_surprise(table: &mut RoleTable, prior: &[ActorWindow], w: Windowing) {
    let derived = volume_surprise(&table.rows, prior);
    let spans = super::spans::spans(&table.rows, prior, w);
    let width = table.features.len();
    for ((r, (surprise, young)), span) in table.rows.iter_mut().zip(derived).zip(spans) {
        r.raw.resize(width, 0.0);
        r.raw[VOLUME_SURPRISE] = surprise;
        r.raw[NEW_ACTOR_VOLUME] = young;
        r.raw[DAY_SURPRISE] = span[0];
        r.raw[HOUR_SURPRISE] = span[1];
        r.raw[TRICKLE_EVIDENCE] = span[2];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{consumer_window, finish};

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
    fn the_baseline_is_the_busier_of_the_mean_and_the_90th_percentile_of_the_past() {
        let mut past = Past::default();
        assert_eq!(baseline_rate(&past), None, "no past, no baseline");
        for v in [48.0, 48.0, 96.0, 0.0, 48.0] {
            past.push(v);
        }
        assert_eq!(baseline_rate(&past), Some(96.0));
        past.push_zeros(45);
        // 50 windows, 46 of them zeros: the 90th percentile is 0, the mean 240 / 50
        let rate = baseline_rate(&past).unwrap_or(f64::NAN);
        assert!(
            (rate - 4.8).abs() < 1e-12,
            "idle windows count as zeros: {rate}"
        );
    }

    #[test]
    fn a_burst_straddling_a_window_boundary_is_surprising_in_both_windows() {
        // a short history (nine windows) where the burst fills windows 4 and 5: window 5's
        // baseline must not hold window 4, nor either window its own
        let burst = [48.0, 48.0, 48.0, 48.0, 480.0, 480.0, 48.0, 96.0, 48.0];
        let mut rows: Vec<ActorWindow> = burst
            .iter()
            .enumerate()
            .map(|(w, a)| consumer_window("b", w as i64, *a))
            .collect();
        rows.extend((0..9).map(|w| consumer_window("c", w, 48.0)));
        let mut table = RoleTable {
            role: "consumer",
            features: consumer_features(),
            rows,
        };
        finish(&mut table, &[], Windowing { seconds: 3600 });
        for r in &table.rows {
            let (surprise, young) = (r.raw[1], r.raw[12]);
            if r.actor == "b" && (r.window == 4 || r.window == 5) {
                assert!(surprise > 50.0, "window {}: {surprise}", r.window);
            } else {
                assert_eq!(surprise, 0.0, "{} window {}", r.actor, r.window);
            }
            // the first windows have no baseline: their volume is read as it is
            let expected_young = if r.window < YOUNG_WINDOWS {
                r.raw[0]
            } else {
                0.0
            };
            assert_eq!(young, expected_young, "{} window {}", r.actor, r.window);
        }
    }
}
