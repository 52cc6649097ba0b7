//! One analysis run, end to end: plan what to read, read it, compute, write back, report.
//!
//! A run reads what is new since the previous run (from the window holding the last analyzed
//! block on), keeps the window length of the first run, and fits the detector on the new
//! windows and a sample of the history. With `write` false (the evaluation) nothing is stored.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sqlx::PgPool;

use crate::analysis::{self, Analysis, REPORT_THRESHOLD};
use crate::detect::{DetectConfig, Detector, Feature, Scored};
use crate::features::{self, ActorWindow, FeatureDef, Lineage, RoleTable, Windowing};
use crate::forecast::{self, risk, ForecastConfig, Forecasts};
use crate::load::{self, Data, SeriesInputs};
use crate::manifest::{self, Digest, Manifest, Model};
use crate::store::{self, RunOutput};
use crate::{inputs, provenance, report, rules, MODEL_VERSION};

#[derive(Clone, Debug)]
pub struct AnalyzeConfig {
    /// window length in seconds; None: the previous run's, or about 1/48 of the span of activity
    pub window: Option<i64>,
    /// forget earlier runs and analyze everything again
    pub full: bool,
    /// where each run's report folder goes
    pub reports: PathBuf,
    pub detect: DetectConfig,
    /// at most this many windows per role fit the detector (a random sample of the history)
    pub fit_sample: usize,
    /// what the run forecasts (None: no forecasts, as runs recorded before them)
    pub forecast: Option<ForecastConfig>,
    pub progress: bool,
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        Self {
            window: None,
            full: false,
            reports: PathBuf::from(".data/reports"),
            detect: DetectConfig::default(),
            fit_sample: 50_000,
            forecast: Some(ForecastConfig::default()),
            progress: false,
        }
    }
}

/// A round window length near `span / 48`: enough windows for every actor to have a baseline.
pub fn auto_window(span_seconds: i64) -> i64 {
    const NICE: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
    ];
    let target = (span_seconds / 48).max(1);
    NICE.iter().copied().rfind(|n| *n <= target).unwrap_or(1)
}

/// What a run reads: its window, its heights, and where its windows start.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub window: Windowing,
    pub from_height: i64,
    pub to_height: i64,
    /// the first window this run recomputes (None: all of them)
    pub since_window: Option<i64>,
    /// nothing new was indexed since the last run
    pub up_to_date: bool,
    /// the run whose inputs these are, for a recomputation (None: a new run, reading what is
    /// current)
    pub as_of_run: Option<i64>,
}

impl Plan {
    /// The plan a recorded run followed.
    pub fn of(m: &Manifest) -> Self {
        Plan {
            window: Windowing {
                seconds: m.window_seconds,
            },
            from_height: m.from_height,
            to_height: m.to_height,
            since_window: m.since_window,
            up_to_date: false,
            as_of_run: Some(m.run_id),
        }
    }
}

/// Chooses the window and the heights to read, from the previous run's state.
async fn plan(pool: &PgPool, cfg: &AnalyzeConfig) -> anyhow::Result<Plan> {
    let previous = if cfg.full {
        None
    } else {
        store::state(pool).await?
    };
    let to_height = load::indexed_height(pool).await?.unwrap_or(0);
    let seconds = match (cfg.window, previous) {
        (_, Some((w, _))) if !cfg.full => w,
        (Some(w), _) => w.max(1),
        (None, _) => {
            let span = load::activity_span(pool).await?;
            auto_window(span.map_or(3600, |(a, b)| b - a))
        }
    };
    let window = Windowing { seconds };
    if let Some((w, _)) = previous {
        if cfg.window.is_some_and(|c| c != w) {
            anyhow::bail!(
                "earlier runs used {w}-second windows; run with --full to analyze everything again with --window {}",
                cfg.window.unwrap_or(w)
            );
        }
    }
    let up_to_date = previous.is_some_and(|(_, h)| h >= to_height);
    // an incremental run recomputes from the window holding the last analyzed block
    let (from_height, since_window) = match previous {
        Some((_, last)) if !up_to_date => {
            let t_last = load::block_time(pool, last).await?;
            let w0 = window.index(t_last.unwrap_or(0));
            let h0 = load::first_height_since(pool, window.start(w0)).await?;
            (h0.unwrap_or(last), Some(w0))
        }
        _ => (0, None),
    };
    Ok(Plan {
        window,
        from_height,
        to_height,
        since_window,
        up_to_date,
        as_of_run: None,
    })
}

/// A progress bar over a run's steps, when asked for.
struct Steps(Option<indicatif::ProgressBar>);

impl Steps {
    fn new(show: bool) -> Self {
        Steps(show.then(|| {
            let b = indicatif::ProgressBar::new(7);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} analyze [{elapsed_precise}] {bar:20} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        }))
    }

    fn step(&self, msg: &str) {
        if let Some(b) = &self.0 {
            b.set_message(msg.to_string());
            b.inc(1);
        }
    }

    fn done(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Seconds spent per step.
#[derive(Default)]
struct Timings {
    laps: Vec<(String, f64)>,
    t: Option<Instant>,
}

impl Timings {
    fn lap(&mut self, name: &str) {
        let t = self.t.get_or_insert_with(Instant::now);
        self.laps
            .push((name.to_string(), t.elapsed().as_secs_f64()));
        *t = Instant::now();
    }
}

/// What [`role_tables`] gives: per role its table and the rows its detector fits on; the
/// digest of the history read (an input of the run); the consumers' earlier (actor, window,
/// score), the alert risk's history.
type RoleTables = (
    Vec<(RoleTable, Vec<Vec<f64>>)>,
    Digest,
    Vec<(String, i64, f64)>,
);

/// The role tables of the plan's windows, completed against their history (read once, for the
/// baselines and the alert risk).
async fn role_tables(
    pool: &PgPool,
    data: &Data,
    lineage: &Lineage,
    plan: &Plan,
    cfg: &AnalyzeConfig,
) -> anyhow::Result<RoleTables> {
    let window = plan.window;
    let tables = vec![
        features::consumers(data, window)?,
        features::providers(data, window, lineage)?,
        features::attestors(data, window, lineage)?,
    ];
    let mut out = Vec::new();
    let mut history = Vec::new();
    let mut consumer_scores = Vec::new();
    for mut table in tables {
        // earlier windows: the baseline of a re-run
        let (prior, scores): (Vec<ActorWindow>, Vec<f64>) = match plan.since_window {
            Some(w0) => {
                store::prior_windows(pool, table.role, window.start(w0), plan.as_of_run).await?
            }
            None => Vec::new(),
        }
        .into_iter()
        .unzip();
        if table.role == "consumer" {
            consumer_scores = prior
                .iter()
                .zip(scores)
                .map(|(w, s)| (w.actor.clone(), w.window, s))
                .collect();
        }
        history.extend(
            prior
                .iter()
                .map(|w| manifest::window_line(table.role, window, w, None)),
        );
        if let Some(w0) = plan.since_window {
            table.rows.retain(|r| r.window >= w0);
        }
        features::finish(&mut table, &prior);
        // the detector fits on the new windows and a sample of the history
        let fit = fit_rows(&table, prior, cfg.fit_sample);
        out.push((table, fit));
    }
    Ok((out, manifest::digest_lines(history), consumer_scores))
}

fn feature_specs(defs: &[FeatureDef]) -> Vec<Feature> {
    defs.iter().map(|d| d.feature.clone()).collect()
}

/// Fits each role's detector and scores its windows.
fn score(
    tables: Vec<(RoleTable, Vec<Vec<f64>>)>,
    cfg: &DetectConfig,
) -> anyhow::Result<Vec<(RoleTable, Vec<Scored>)>> {
    let mut scored = Vec::new();
    for (table, fit) in tables {
        let scores = if table.rows.is_empty() {
            Vec::new()
        } else {
            let detector = Detector::fit(&fit, &feature_specs(&table.features), cfg)?;
            let xs: Vec<&[f64]> = table.rows.iter().map(|r| r.x.as_slice()).collect();
            detector.score_all(&xs)
        };
        scored.push((table, scores));
    }
    Ok(scored)
}

/// The settings a run records in its manifest: every one that changes a score.
pub fn settings(cfg: &AnalyzeConfig) -> serde_json::Value {
    let mut s = json!({"detect": cfg.detect, "fit_sample": cfg.fit_sample, "report_threshold": REPORT_THRESHOLD});
    if let Some(f) = &cfg.forecast {
        s["forecast"] = json!(f);
    }
    s
}

/// Runs an analysis over what is indexed (only what is new since the last run, unless
/// `cfg.full`) and writes it back with its manifest. With `write` false nothing is stored (the
/// evaluation).
pub async fn analyze(pool: &PgPool, cfg: &AnalyzeConfig, write: bool) -> anyhow::Result<Analysis> {
    let t0 = Instant::now();
    if cfg.full && write {
        store::reset(pool).await?;
    }
    let plan = plan(pool, cfg).await?;
    if plan.up_to_date {
        return Ok(Analysis {
            run_id: None,
            window: plan.window,
            from_height: plan.to_height,
            to_height: plan.to_height,
            since_window: None,
            tables: Vec::new(),
            findings: Vec::new(),
            provenance: Vec::new(),
            anomalies: Vec::new(),
            forecasts: None,
            inputs: BTreeMap::new(),
            timings: Vec::new(),
            report_dir: None,
            up_to_date: true,
        });
    }
    let (mut analysis, mut timings) = compute(pool, &plan, cfg).await?;
    if write {
        persist(pool, cfg, &mut analysis).await?;
    }
    timings.lap("write");
    timings
        .laps
        .push(("total".into(), t0.elapsed().as_secs_f64()));
    analysis.timings = timings.laps;
    Ok(analysis)
}

/// Computes the run `m` describes again, from the index as it is now and the history as it was
/// then; stores nothing. With `cfg`'s settings (use the manifest's: [`AnalyzeConfig::of`]).
pub async fn recompute(
    pool: &PgPool,
    m: &Manifest,
    cfg: &AnalyzeConfig,
) -> anyhow::Result<Analysis> {
    Ok(compute(pool, &Plan::of(m), cfg).await?.0)
}

impl AnalyzeConfig {
    /// The settings a manifest recorded (an error if this code cannot score with them).
    pub fn of(m: &Manifest) -> anyhow::Result<Self> {
        if m.model.version != MODEL_VERSION {
            anyhow::bail!(
                "run {} scored with model {}; this datapact has {MODEL_VERSION} and cannot recompute it",
                m.run_id,
                m.model.version
            );
        }
        let s = &m.model.settings;
        let detect: DetectConfig = serde_json::from_value(s["detect"].clone())
            .map_err(|e| anyhow::anyhow!("the manifest's detector settings: {e}"))?;
        let fit_sample = s["fit_sample"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("the manifest has no fit_sample"))?;
        // runs recorded before forecasts have none in their settings
        let forecast = match s.get("forecast") {
            Some(f) => Some(
                serde_json::from_value(f.clone())
                    .map_err(|e| anyhow::anyhow!("the manifest's forecast settings: {e}"))?,
            ),
            None => None,
        };
        Ok(AnalyzeConfig {
            window: Some(m.window_seconds),
            detect,
            fit_sample: fit_sample as usize,
            forecast,
            ..Default::default()
        })
    }
}

/// Reads what the plan names and computes everything a run stores.
async fn compute(
    pool: &PgPool,
    plan: &Plan,
    cfg: &AnalyzeConfig,
) -> anyhow::Result<(Analysis, Timings)> {
    let mut timings = Timings::default();
    let steps = Steps::new(cfg.progress);
    steps.step("reading the indexed tables");
    let mut data = Data::load(pool, plan.from_height, plan.to_height)
        .await
        .context("reading the indexed tables")?;
    timings.lap("read");
    steps.step("features");
    let lineage = Lineage::from_data(&data)?;
    let (tables, history, prior_scores) = role_tables(pool, &data, &lineage, plan, cfg).await?;
    let mut inputs = std::mem::take(&mut data.digests);
    inputs.insert("prior_windows".into(), history);
    timings.lap("features");
    steps.step("scoring");
    let scored = score(tables, &cfg.detect)?;
    timings.lap("detect");
    steps.step("rules");
    let times = data.block_times()?;
    let (attempts, agreements, consents) = inputs::rule_inputs(&data)?;
    let findings = rules::findings(
        &attempts,
        &agreements,
        &consents,
        &|h| times.get(&h).copied(),
        plan.window,
    );
    timings.lap("rules");
    steps.step("provenance");
    let (facts, track) = inputs::provenance_inputs(&data, &lineage)?;
    let alerts = inputs::standing_alerts(&data)?;
    let provenance = provenance::score_all(&facts, &alerts, &track);
    timings.lap("provenance");
    steps.step("writing back");
    let wanted: Vec<(i64, i64)> = findings.iter().flat_map(|f| f.txs.clone()).collect();
    let tx_hashes: HashMap<(i64, i64), String> = load::tx_hashes(pool, &wanted).await?;
    let anomalies = analysis::anomalies(plan.window, &scored, &findings, &tx_hashes);
    timings.lap("anomalies");
    steps.step("forecasts");
    let forecasts = match &cfg.forecast {
        Some(fc) => Some(
            forecasts(
                pool,
                plan,
                &scored,
                prior_scores,
                fc,
                &mut inputs,
                &mut timings,
            )
            .await?,
        ),
        None => None,
    };
    timings.lap("forecasts");
    steps.done();
    Ok((
        Analysis {
            run_id: None,
            window: plan.window,
            from_height: plan.from_height,
            to_height: plan.to_height,
            since_window: plan.since_window,
            tables: scored,
            findings,
            provenance,
            anomalies,
            forecasts,
            inputs,
            timings: Vec::new(),
            report_dir: None,
            up_to_date: false,
        },
        timings,
    ))
}

/// Stores the run, writes its report folder, then its manifest (in the folder and with the
/// run).
async fn persist(
    pool: &PgPool,
    cfg: &AnalyzeConfig,
    analysis: &mut Analysis,
) -> anyhow::Result<()> {
    let stats = json!({
        "windows": analysis.tables.iter().map(|(t, _)| (t.role, t.rows.len())).collect::<BTreeMap<_, _>>(),
        "anomalies": analysis.anomalies.len(),
        "findings": analysis.findings.len(),
        "versions": analysis.provenance.len(),
        "forecasts": analysis.forecasts.as_ref().map(|f| f.series.len()),
        "outlooks": analysis.forecasts.as_ref().map(|f| f.outlooks.len()),
    });
    let out = RunOutput {
        window: analysis.window,
        from_height: analysis.from_height,
        to_height: analysis.to_height,
        params: json!({"window_seconds": analysis.window.seconds, "full": cfg.full, "settings": settings(cfg)}),
        stats,
        report_dir: String::new(),
        windows: analysis
            .tables
            .iter()
            .map(|(t, s)| {
                (
                    t.role,
                    t.rows.as_slice(),
                    s.iter().map(|x| x.score).collect(),
                )
            })
            .collect(),
        anomalies: &analysis.anomalies,
        provenance: &analysis.provenance,
        forecasts: analysis.forecasts.as_ref(),
        model_version: MODEL_VERSION,
    };
    let run_id = store::save(pool, &out).await?;
    analysis.run_id = Some(run_id);
    let dir = cfg.reports.join(format!("run-{run_id}"));
    report::write(&dir, analysis)
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    let m = Manifest {
        format: manifest::FORMAT.into(),
        run_id,
        chain_id: load::chain_id(pool).await?,
        window_seconds: analysis.window.seconds,
        from_height: analysis.from_height,
        to_height: analysis.to_height,
        since_window: analysis.since_window,
        model: Model {
            version: MODEL_VERSION.into(),
            settings: settings(cfg),
        },
        inputs: analysis.inputs.clone(),
        outputs: manifest::outputs(analysis),
        files: manifest::digest_files(&dir)
            .with_context(|| format!("digesting the report files in {}", dir.display()))?,
    };
    let text = m.text();
    std::fs::write(dir.join(manifest::MANIFEST_FILE), &text)
        .with_context(|| format!("writing the manifest to {}", dir.display()))?;
    store::set_report(pool, run_id, &dir.to_string_lossy(), &text, &m.sha256()).await?;
    analysis.report_dir = Some(dir);
    Ok(())
}

/// The run's forecasts: the series read up to its last height, the consumers' timelines from
/// the earlier runs' scores (`rows`, as [`role_tables`] read them) and this run's.
async fn forecasts(
    pool: &PgPool,
    plan: &Plan,
    scored: &[(RoleTable, Vec<Scored>)],
    mut rows: Vec<(String, i64, f64)>,
    cfg: &ForecastConfig,
    inputs: &mut BTreeMap<String, Digest>,
    timings: &mut Timings,
) -> anyhow::Result<Forecasts> {
    let mut series = SeriesInputs::load(pool, plan.to_height, plan.window.seconds).await?;
    timings.lap("forecast reads");
    inputs.append(&mut series.digests);
    inputs.insert(
        "prior_scores".into(),
        manifest::digest_lines(rows.iter().map(manifest::json_line).collect()),
    );
    for (table, scores) in scored.iter().filter(|(t, _)| t.role == "consumer") {
        rows.extend(
            table
                .rows
                .iter()
                .zip(scores)
                .map(|(w, s)| (w.actor.clone(), w.window, s.score)),
        );
    }
    let timelines = risk::timelines(rows, series.origin);
    Ok(forecast::forecast(
        &series,
        &timelines,
        cfg,
        REPORT_THRESHOLD,
    ))
}

/// The rows the detector is fitted on: the new windows and the history, sampled to `cap`.
fn fit_rows(table: &RoleTable, prior: Vec<ActorWindow>, cap: usize) -> Vec<Vec<f64>> {
    let mut all: Vec<Vec<f64>> = table.rows.iter().map(|r| r.x.clone()).collect();
    if !prior.is_empty() {
        // the history's detector view, computed as for new windows
        let mut past = RoleTable {
            role: table.role,
            features: table.features.clone(),
            rows: prior,
        };
        features::finish(&mut past, &[]);
        all.extend(past.rows.into_iter().map(|r| r.x));
    }
    if all.len() > cap {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let keep = sample(&mut rng, all.len(), cap).into_vec();
        all = keep
            .into_iter()
            .map(|i| std::mem::take(&mut all[i]))
            .collect();
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_window_gives_about_48_windows_in_round_units() {
        assert_eq!(auto_window(14 * 86400), 21600);
        assert_eq!(auto_window(48 * 3600), 3600);
        assert_eq!(auto_window(60), 1);
        assert_eq!(auto_window(0), 1);
        assert_eq!(auto_window(30 * 60), 30);
    }
}
