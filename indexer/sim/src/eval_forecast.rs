//! `make eval-forecast`: the forecasts back-tested on synthetic histories whose demand has a
//! trend, a weekly cycle, a regime change or all three. The season test's level, the fit window
//! and the interval widths are tuned on the training histories (seeds and demand shapes named as
//! such) and every figure reported is from the held-out ones: other seeds and demand shapes the
//! tuning never saw.
//!
//! Rolling origin: per series, `origins` origins `horizon` steps apart, each forecasting the
//! `horizon` steps after it from the steps before it only; the naive baselines get the same
//! history. The alert risk is refitted at each origin window on the pairs before it and scored
//! on the windows that follow.

use std::collections::BTreeMap;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use sqlx::PgPool;

use datapact_analytics::forecast::backtest::{self, Errors, OriginResult, ProbabilityScore};
use datapact_analytics::forecast::model::{Baseline, ModelConfig};
use datapact_analytics::forecast::{self, risk, targets, ForecastConfig};
use datapact_analytics::load::{self, SeriesInputs};
use datapact_analytics::{AnalyzeConfig, REPORT_THRESHOLD};

use crate::synth::{self, Demand, SynthConfig};

#[derive(Clone, Debug)]
pub struct ForecastEvalConfig {
    pub train_seeds: Vec<u64>,
    pub test_seeds: Vec<u64>,
    pub train_demand: Vec<Demand>,
    pub test_demand: Vec<Demand>,
    pub synth: SynthConfig,
    /// step length in seconds (the analysis window)
    pub window: i64,
    pub origins: usize,
    pub horizon: usize,
    /// at most this many agreements per history (a fixed-seed sample)
    pub agreements: usize,
    pub level: f64,
}

/// One target's back-test in one split.
#[derive(Clone, Debug, Serialize)]
pub struct TargetRow {
    pub split: String,
    pub target: String,
    pub series: usize,
    pub forecasts: usize,
    pub model: Errors,
    /// (baseline, its errors), in [`Baseline::ALL`]'s order
    pub baselines: Vec<(String, Errors)>,
}

/// One model setting tried on the training histories.
#[derive(Clone, Debug, Serialize)]
pub struct GridRow {
    pub season_alpha: f64,
    pub fit_window: usize,
    pub max_iterations: usize,
    /// per target, the pooled MASE on the training histories
    pub mase: BTreeMap<String, f64>,
    /// seconds spent fitting and forecasting (both cores)
    pub seconds: f64,
    pub chosen: bool,
}

/// The settings the tuning tries: the season test's level (1: every season that fits), the fit
/// window (0: the whole history) and the smoothing optimizer's step budget. The first is the
/// model before the season test (for comparison).
pub const GRID: [(f64, usize, usize); 7] = [
    (1.0, 0, 2000),
    (0.01, 0, 2000),
    (0.01, 0, 200),
    (0.01, 0, 100),
    (0.01, 336, 2000),
    (0.01, 336, 200),
    (0.01, 336, 100),
];

/// How much worse than the lowest mean training MASE a faster setting may be and still be chosen.
pub const NEAR_BEST: f64 = 0.01;

/// The alert risk in one split.
#[derive(Clone, Debug, Serialize)]
pub struct RiskRow {
    pub split: String,
    pub score: ProbabilityScore,
}

#[derive(Clone, Debug, Serialize)]
pub struct ForecastEval {
    pub level: f64,
    /// per target, the interval scale chosen on the training histories and the coverage it
    /// gave there
    pub interval_scales: BTreeMap<String, (f64, f64)>,
    pub histories: Vec<(String, u64, String, u64)>,
    /// the settings tried on the training histories, the chosen one marked
    pub grid: Vec<GridRow>,
    pub targets: Vec<TargetRow>,
    pub risk: Vec<RiskRow>,
}

type Results = BTreeMap<&'static str, (usize, Vec<OriginResult>)>;

/// What one split's histories gave.
#[derive(Default)]
struct Split {
    /// per model setting tried: target -> (series count, results)
    results: Vec<Results>,
    /// per model setting tried: seconds spent forecasting
    seconds: Vec<f64>,
    probabilities: Vec<f64>,
    outcomes: Vec<bool>,
    base: Vec<f64>,
}

/// Runs the evaluation on `pool` (its content is replaced by each history).
pub async fn run(pool: &PgPool, cfg: &ForecastEvalConfig) -> anyhow::Result<ForecastEval> {
    let mut histories = Vec::new();
    let setting = |alpha: f64, window: usize, iterations: usize| ForecastConfig {
        model: ModelConfig {
            level: cfg.level,
            interval_scale: 1.0,
            season_alpha: alpha,
            fit_window: window,
            max_iterations: iterations,
            ..ModelConfig::default()
        },
        interval_scales: BTreeMap::new(),
        horizon: Some(cfg.horizon),
    };
    let grid: Vec<ForecastConfig> = GRID.iter().map(|(a, w, i)| setting(*a, *w, *i)).collect();
    let mut train = split(
        pool,
        cfg,
        "training",
        &cfg.train_seeds,
        &cfg.train_demand,
        &grid,
        &mut histories,
    )
    .await?;
    let mase = |r: &Results| -> BTreeMap<String, f64> {
        r.iter()
            .map(|(t, (_, rs))| {
                let pooled: Errors = rs.iter().map(|o| &o.model).sum();
                (t.to_string(), pooled.mase())
            })
            .collect()
    };
    let mean = |m: &BTreeMap<String, f64>| m.values().sum::<f64>() / m.len().max(1) as f64;
    // the cheapest setting whose mean of the targets' training MASE is within 1% of the lowest
    // (a forecast is wanted within the minute of its run; a hair of accuracy is not worth double):
    // cheapest = the fewest optimizer steps, then the fewest steps fitted, then the fewest
    // seasons (by the settings, not by a clock, so a re-run chooses the same)
    let means: Vec<f64> = train.results.iter().map(|r| mean(&mase(r))).collect();
    let lowest = means.iter().copied().fold(f64::INFINITY, f64::min);
    let best = (0..means.len())
        .filter(|i| means[*i] <= lowest * (1.0 + NEAR_BEST))
        .min_by(|a, b| {
            let work = |i: usize| {
                let (alpha, window, iterations) = GRID[i];
                let window = if window == 0 { usize::MAX } else { window };
                (iterations, window, alpha)
            };
            let (ia, wa, aa) = work(*a);
            let (ib, wb, ab) = work(*b);
            ia.cmp(&ib).then(wa.cmp(&wb)).then(aa.total_cmp(&ab))
        })
        .unwrap_or(0);
    let grid_rows: Vec<GridRow> = GRID
        .iter()
        .enumerate()
        .map(|(i, (a, w, it))| GridRow {
            season_alpha: *a,
            fit_window: *w,
            max_iterations: *it,
            mase: train.results.get(i).map(&mase).unwrap_or_default(),
            seconds: train.seconds.get(i).copied().unwrap_or(0.0),
            chosen: i == best,
        })
        .collect();
    let chosen = train.results.swap_remove(best);
    train.results = vec![chosen];
    let interval_scales: BTreeMap<String, (f64, f64)> = train.results[0]
        .iter()
        .map(|(t, (_, rs))| (t.to_string(), choose_scale(rs, cfg.level)))
        .collect();
    let tuned = ForecastConfig {
        interval_scales: interval_scales
            .iter()
            .map(|(t, (k, _))| (t.clone(), *k))
            .collect(),
        ..grid[best].clone()
    };
    let test = split(
        pool,
        cfg,
        "held-out",
        &cfg.test_seeds,
        &cfg.test_demand,
        std::slice::from_ref(&tuned),
        &mut histories,
    )
    .await?;
    let mut rows = Vec::new();
    let mut risk_rows = Vec::new();
    for (name, s) in [("training", &train), ("held-out", &test)] {
        for (target, (series, results)) in s.results.iter().flatten() {
            let model: Errors = results.iter().map(|r| &r.model).sum();
            let baselines = (0..Baseline::ALL.len())
                .map(|i| results.iter().filter_map(|r| r.baselines.get(i)).sum());
            rows.push(TargetRow {
                split: name.into(),
                target: target.to_string(),
                series: *series,
                forecasts: results.len(),
                model,
                baselines: Baseline::ALL
                    .iter()
                    .map(|b| b.name().to_string())
                    .zip(baselines)
                    .collect(),
            });
        }
        let base = s.base.iter().sum::<f64>() / s.base.len().max(1) as f64;
        let mut score = backtest::score_probabilities(&s.probabilities, &s.outcomes, base, 10);
        // each origin's own base rate (the rate of the pairs it was fitted on), not a pooled one
        let n = s.outcomes.len().max(1) as f64;
        score.brier_base = s
            .base
            .iter()
            .zip(&s.outcomes)
            .map(|(b, y)| (b - f64::from(u8::from(*y))).powi(2))
            .sum::<f64>()
            / n;
        risk_rows.push(RiskRow {
            split: name.into(),
            score,
        });
    }
    Ok(ForecastEval {
        level: cfg.level,
        interval_scales,
        histories,
        grid: grid_rows,
        targets: rows,
        risk: risk_rows,
    })
}

#[allow(clippy::too_many_arguments)]
async fn split(
    pool: &PgPool,
    cfg: &ForecastEvalConfig,
    name: &str,
    seeds: &[u64],
    demands: &[Demand],
    models: &[ForecastConfig],
    histories: &mut Vec<(String, u64, String, u64)>,
) -> anyhow::Result<Split> {
    let mut out = Split {
        results: vec![Results::new(); models.len()],
        seconds: vec![0.0; models.len()],
        ..Split::default()
    };
    for &seed in seeds {
        for &demand in demands {
            datapact_index::db::replace_with_synthetic(pool, false).await?;
            let sc = SynthConfig {
                seed,
                demand,
                chain_id: format!("{}{seed}", datapact_index::db::SYNTHETIC_CHAIN_PREFIX),
                ..cfg.synth.clone()
            };
            let s = synth::run(pool, &sc).await?;
            histories.push((
                name.to_string(),
                seed,
                demand.name().to_string(),
                s.accesses,
            ));
            tracing::info!(
                split = name,
                seed,
                demand = demand.name(),
                "history written"
            );
            history(pool, cfg, seed, models, &mut out).await?;
        }
    }
    Ok(out)
}

async fn history(
    pool: &PgPool,
    cfg: &ForecastEvalConfig,
    seed: u64,
    models: &[ForecastConfig],
    out: &mut Split,
) -> anyhow::Result<()> {
    let to = load::indexed_height(pool).await?.unwrap_or(0);
    let inputs = SeriesInputs::load(pool, to, cfg.window).await?;
    let periods = forecast::periods(cfg.window);
    let mut agreements = forecast::dense(&inputs.accesses, inputs.origin);
    if agreements.len() > cfg.agreements {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let keys: Vec<i64> = agreements.keys().copied().collect();
        let keep: std::collections::BTreeSet<i64> = sample(&mut rng, keys.len(), cfg.agreements)
            .into_iter()
            .map(|i| keys[i])
            .collect();
        agreements.retain(|k, _| keep.contains(k));
    }
    let by_asset = inputs.asset_accesses();
    let sets: Vec<(&'static str, Vec<Vec<f64>>)> = vec![
        (
            targets::AGREEMENT_ACCESSES,
            agreements.into_values().collect(),
        ),
        (
            targets::ASSET_ACCESSES,
            forecast::dense(&by_asset, inputs.origin)
                .into_values()
                .collect(),
        ),
        (
            targets::CONSENT_WITHDRAWALS,
            forecast::dense(&inputs.withdrawals, inputs.origin)
                .into_values()
                .collect(),
        ),
    ];
    for (i, fc) in models.iter().enumerate() {
        let started = std::time::Instant::now();
        for (target, series) in &sets {
            let model = &fc.model_for(target);
            let results: Vec<OriginResult> = series
                .par_iter()
                .flat_map_iter(|y| {
                    (1..=cfg.origins).filter_map(|j| {
                        let o = y.len().checked_sub(j * cfg.horizon)?;
                        // at least two weeks of history before an origin
                        (o >= 14 * 86400 / cfg.window.max(1) as usize)
                            .then(|| backtest::at_origin(y, o, &periods, cfg.horizon, model))
                            .flatten()
                    })
                })
                .collect();
            let e = out.results[i].entry(*target).or_default();
            e.0 += series.len();
            e.1.extend(results);
        }
        out.seconds[i] += started.elapsed().as_secs_f64();
    }
    // the alert risk: scores per consumer window from the anomaly run, then rolling origins
    let a = datapact_analytics::analyze(
        pool,
        &AnalyzeConfig {
            window: Some(cfg.window),
            full: true,
            forecast: None,
            close_last: true,
            ..Default::default()
        },
        false,
    )
    .await?;
    let rows: Vec<(String, i64, f64)> = a
        .tables
        .iter()
        .filter(|(t, _)| t.role == "consumer")
        .flat_map(|(t, s)| {
            t.rows
                .iter()
                .zip(s)
                .map(|(w, s)| (w.actor.clone(), w.window, s.score))
        })
        .collect();
    let last = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let ts = risk::timelines(rows, last);
    let block = cfg.horizon as i64;
    for j in (1..=cfg.origins as i64).rev() {
        let o = last + 1 - j * block;
        let m = risk::fit(&ts, o, REPORT_THRESHOLD);
        for (x, y) in risk::pairs(&ts, o, o + block, REPORT_THRESHOLD) {
            out.probabilities.push(m.probability(&x));
            out.outcomes.push(y);
            out.base.push(m.base_rate);
        }
    }
    Ok(())
}

/// The interval scale whose coverage on the training back-tests is nearest the nominal level,
/// and that coverage.
fn choose_scale(results: &[OriginResult], level: f64) -> (f64, f64) {
    let bands: Vec<&(f64, f64, f64, f64)> = results.iter().flat_map(|r| r.band.iter()).collect();
    let coverage = |k: f64| {
        let inside = bands
            .iter()
            .filter(|(a, p, l, u)| {
                let lo = (p - k * (p - l)).max(0.0);
                let hi = p + k * (u - p);
                *a >= lo && *a <= hi
            })
            .count();
        inside as f64 / bands.len().max(1) as f64
    };
    (0..=50)
        .map(|i| 0.5 + i as f64 * 0.05)
        .map(|k| (k, coverage(k)))
        .min_by(|a, b| (a.1 - level).abs().total_cmp(&(b.1 - level).abs()))
        .unwrap_or((1.0, coverage(1.0)))
}

/// The table `make eval-forecast` prints.
pub fn summary(e: &ForecastEval, cfg: &ForecastEvalConfig) -> String {
    use std::fmt::Write;
    let list = |v: &[u64]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let names = |v: &[Demand]| v.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "forecasts back-tested: {} origins {} steps apart, {} steps of {} s ahead, {:.0}% intervals",
        cfg.origins,
        cfg.horizon,
        cfg.horizon,
        cfg.window,
        e.level * 100.0
    );
    let scales: Vec<String> = e
        .interval_scales
        .iter()
        .map(|(t, (k, c))| format!("{t} {k:.2} ({:.1}%)", c * 100.0))
        .collect();
    let _ = writeln!(
        s,
        "training: seeds {} x demand {}; interval scales chosen there (training coverage): {}",
        list(&cfg.train_seeds),
        names(&cfg.train_demand),
        scales.join(", ")
    );
    let _ = writeln!(
        s,
        "\nmodel settings tried on the training histories (season test level, 1 = every season that fits; fit window in steps, 0 = all; optimizer steps):"
    );
    let _ = writeln!(
        s,
        "  {:>6} {:>6} {:>6} | {:>18} {:>15} {:>19} | {:>8}",
        "alpha",
        "window",
        "iters",
        targets::AGREEMENT_ACCESSES,
        targets::ASSET_ACCESSES,
        targets::CONSENT_WITHDRAWALS,
        "seconds"
    );
    for g in &e.grid {
        let m = |t: &str| g.mase.get(t).copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            s,
            "  {:>6} {:>6} {:>6} | {:>18.3} {:>15.3} {:>19.3} | {:>8.1}{}",
            g.season_alpha,
            g.fit_window,
            g.max_iterations,
            m(targets::AGREEMENT_ACCESSES),
            m(targets::ASSET_ACCESSES),
            m(targets::CONSENT_WITHDRAWALS),
            g.seconds,
            if g.chosen {
                "  <- chosen: the cheapest within 1% of the lowest mean MASE"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        s,
        "held out: seeds {} x demand {} (never seen by the tuning); training rows below are the chosen setting before the interval tuning (scale 1)",
        list(&cfg.test_seeds),
        names(&cfg.test_demand)
    );
    let _ = writeln!(
        s,
        "\n{:<9} {:<20} {:>6} {:>6} | {:>7} {:>7} {:>7} {:>7} | {:>6} {:>8}",
        "split",
        "target",
        "series",
        "fcasts",
        "MASE",
        "last",
        "s-naive",
        "mean",
        "sMAPE",
        "coverage"
    );
    for r in &e.targets {
        let b = |i: usize| r.baselines.get(i).map_or(f64::NAN, |b| b.1.mase());
        let _ = writeln!(
            s,
            "{:<9} {:<20} {:>6} {:>6} | {:>7.3} {:>7.3} {:>7.3} {:>7.3} | {:>6.3} {:>7.1}%",
            r.split,
            r.target,
            r.series,
            r.forecasts,
            r.model.mase(),
            b(0),
            b(1),
            b(2),
            r.model.smape(),
            r.model.coverage() * 100.0
        );
    }
    let _ = writeln!(
        s,
        "(MASE pooled over series and origins: the sum of absolute errors over the sum of each history's in-sample seasonal-naive error; below 1 beats that naive forecast)"
    );
    for r in &e.risk {
        let p = &r.score;
        let _ = writeln!(
            s,
            "\nalert risk, {}: {} consumer windows, {} reported next; Brier {:.6} vs base rate {:.6} (skill {:+.3})",
            r.split,
            p.n,
            p.positives,
            p.brier,
            p.brier_base,
            1.0 - p.brier / p.brier_base.max(1e-12)
        );
        if r.split == "held-out" {
            let _ = writeln!(s, "  probability bin   windows   mean p   observed");
            for b in p.table.iter().filter(|b| b.count > 0) {
                let _ = writeln!(
                    s,
                    "  {:.1}-{:.1}        {:>8}   {:>6.3}   {:>8.3}",
                    b.lo, b.hi, b.count, b.mean_probability, b.observed
                );
            }
        }
    }
    for r in e.targets.iter().filter(|r| r.split == "held-out") {
        let sn = r.baselines.get(1).map_or(f64::NAN, |b| b.1.mase());
        let cov = r.model.coverage() * 100.0;
        let _ = writeln!(
            s,
            "aim {}: MASE {:.3} {} seasonal naive {:.3}; coverage {:.1}% {} 5 points of {:.0}%",
            r.target,
            r.model.mase(),
            if r.model.mase() < sn {
                "beats"
            } else {
                "does NOT beat"
            },
            sn,
            cov,
            if (cov - e.level * 100.0).abs() <= 5.0 {
                "within"
            } else {
                "NOT within"
            },
            e.level * 100.0
        );
    }
    if let Some(r) = e.risk.iter().find(|r| r.split == "held-out") {
        let _ = writeln!(
            s,
            "aim alert risk: Brier {:.6} {} the base rate's {:.6}",
            r.score.brier,
            if r.score.brier < r.score.brier_base {
                "better than"
            } else {
                "NOT better than"
            },
            r.score.brier_base
        );
    }
    s
}
