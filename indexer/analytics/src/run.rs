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
    /// fit new detectors even where the stored ones could score (else a stored detector is
    /// reused until the history it was fitted from has doubled)
    pub refit: bool,
    /// the history is complete (a synthetic one): its last window counts as closed
    pub close_last: bool,
    /// run only once a window has closed since the previous run (`analyze --follow`; else a
    /// run also happens for new blocks alone, for the provenance scores and forecasts)
    pub wait_for_close: bool,
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
            refit: false,
            close_last: false,
            wait_for_close: false,
            progress: false,
        }
    }
}

/// The advisory lock a writing run holds (not the ingester's: they run side by side).
const RUN_LOCK: i64 = datapact_index::db::locks::ANALYSIS_RUN;

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
    /// the first window this run scores (None: all of them)
    pub since_window: Option<i64>,
    /// the first window it does not: still open, as no block at or after its end is indexed
    /// (None: no cut, as runs recorded before streaming)
    pub until_window: Option<i64>,
    /// nothing new was indexed since the last run
    pub up_to_date: bool,
    /// the run whose inputs these are, for a recomputation (None: a new run, reading what is
    /// current)
    pub as_of_run: Option<i64>,
}

impl Plan {
    /// Whether the run scores `window`: closed since the previous run, and closed.
    pub fn scores(&self, window: i64) -> bool {
        self.since_window.is_none_or(|w0| window >= w0)
            && self.until_window.is_none_or(|u| window < u)
    }

    /// The plan a recorded run followed.
    pub fn of(m: &Manifest) -> Self {
        Plan {
            window: Windowing {
                seconds: m.window_seconds,
            },
            from_height: m.from_height,
            to_height: m.to_height,
            since_window: m.since_window,
            until_window: m.until_window,
            up_to_date: false,
            as_of_run: Some(m.run_id),
        }
    }
}

/// Chooses the window and the heights to read, from the previous run's state: the windows
/// that closed since the previous run scored its last.
async fn plan(pool: &PgPool, cfg: &AnalyzeConfig) -> anyhow::Result<Plan> {
    let previous = if cfg.full {
        None
    } else {
        store::state(pool).await?
    };
    let to_height = load::indexed_height(pool).await?.unwrap_or(0);
    let seconds = match (cfg.window, previous) {
        (_, Some(s)) => s.window_seconds,
        (Some(w), _) => w.max(1),
        (None, _) => {
            let span = load::activity_span(pool).await?;
            auto_window(span.map_or(3600, |(a, b)| b - a))
        }
    };
    let window = Windowing { seconds };
    if let Some(s) = previous {
        if cfg.window.is_some_and(|c| c != s.window_seconds) {
            anyhow::bail!(
                "earlier runs used {}-second windows; run with --full to analyze everything again with --window {}",
                s.window_seconds,
                cfg.window.unwrap_or(s.window_seconds)
            );
        }
    }
    let up_to_date = previous.is_some_and(|s| s.last_height >= to_height);
    // the first window not yet scored (a state written before streaming: the window holding
    // the last analyzed block, which those runs recomputed)
    let since_window = match previous {
        Some(s) if !up_to_date => Some(match s.next_window {
            Some(w) => w,
            None => window.index(load::block_time(pool, s.last_height).await?.unwrap_or(0)),
        }),
        _ => None,
    };
    let from_height = match (since_window, previous) {
        (Some(w0), Some(s)) => load::first_height_since(pool, window.start(w0))
            .await?
            .unwrap_or(s.last_height),
        _ => 0,
    };
    // windows before the one holding the last indexed block are closed: every later block is
    // at or after their end
    let until_window = match load::block_time(pool, to_height).await? {
        Some(t) => window.index(t) + i64::from(cfg.close_last),
        None => since_window.unwrap_or(0),
    };
    Ok(Plan {
        window,
        from_height,
        to_height,
        since_window,
        until_window: Some(until_window.max(since_window.unwrap_or(i64::MIN))),
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

/// Seconds spent per step, each lap from the end of the one before (the first from the start).
struct Timings {
    laps: Vec<(String, f64)>,
    t: Instant,
}

impl Timings {
    fn start() -> Self {
        Timings {
            laps: Vec::new(),
            t: Instant::now(),
        }
    }

    fn lap(&mut self, name: &str) {
        self.laps
            .push((name.to_string(), self.t.elapsed().as_secs_f64()));
        self.t = Instant::now();
    }
}

/// One role's windows to score, and what a detector for it would be fitted on.
struct RoleInput {
    table: RoleTable,
    /// the new windows and a sample of the history
    fit: Vec<Vec<f64>>,
    /// windows in the history, the new ones included
    history_rows: usize,
}

/// What [`role_tables`] gives: per role its windows to score; the digest of the history read
/// (an input of the run); the consumers' earlier (actor, window, score), the alert risk's
/// history.
type RoleTables = (Vec<RoleInput>, Digest, Vec<(String, i64, f64)>);

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
        // a detector is fitted on what is believed normal: windows already reported are left
        // out, so alerted bursts do not become the new normal (found by bench-loop: after a
        // refit, a third of the bursts went unreported)
        let reported: Vec<bool> = scores.iter().map(|s| *s >= REPORT_THRESHOLD).collect();
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
        // the windows this run scores: those that closed since the previous run
        table.rows.retain(|r| plan.scores(r.window));
        features::finish(&mut table, &prior);
        let history_rows = table.rows.len() + prior.len();
        // a detector would fit on the new windows and a sample of the history
        let fit = fit_rows(&table, prior, &reported, cfg.fit_sample);
        out.push(RoleInput {
            table,
            fit,
            history_rows,
        });
    }
    Ok((out, manifest::digest_lines(history), consumer_scores))
}

fn feature_specs(defs: &[FeatureDef]) -> Vec<Feature> {
    defs.iter().map(|d| d.feature.clone()).collect()
}

/// What scored a run's windows: per role the detector's id, and the detectors this run fitted.
#[derive(Default)]
struct Detectors {
    ids: BTreeMap<String, String>,
    fitted: Vec<store::StoredModel>,
}

/// Scores each role's windows with its detector: the one a recorded run names (`recorded`),
/// else the newest stored one while it still fits the settings and the history it was fitted
/// from has not doubled (and neither `full` nor `refit` is asked), else a new one.
async fn score(
    pool: &PgPool,
    inputs: Vec<RoleInput>,
    cfg: &AnalyzeConfig,
    recorded: Option<&BTreeMap<String, String>>,
) -> anyhow::Result<(Vec<(RoleTable, Vec<Scored>)>, Detectors)> {
    let mut scored = Vec::new();
    let mut detectors = Detectors::default();
    for RoleInput {
        table,
        fit,
        history_rows,
    } in inputs
    {
        if table.rows.is_empty() {
            scored.push((table, Vec::new()));
            continue;
        }
        let role = table.role;
        let specs = feature_specs(&table.features);
        let stored = match recorded {
            Some(ids) => {
                let id = ids.get(role).ok_or_else(|| {
                    anyhow::anyhow!("the run's manifest names no detector for its {role} windows")
                })?;
                let m = store::model(pool, id).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the detector {id} the run scored its {role} windows with is not stored"
                    )
                })?;
                Some((Detector::from_bytes(&m.body)?, m.body))
            }
            None if cfg.full || cfg.refit => None,
            None => match store::latest_model(pool, role, MODEL_VERSION).await? {
                Some(m) if (m.history_rows as usize).saturating_mul(2) > history_rows => {
                    let d = Detector::from_bytes(&m.body)?;
                    (d.config() == &cfg.detect && d.features() == specs.as_slice())
                        .then_some((d, m.body))
                }
                _ => None,
            },
        };
        // a detector's id is the SHA-256 of the bytes it was loaded from, or stored as
        let (detector, id) = match stored {
            Some((d, body)) => (d, manifest::sha256_hex(&body)),
            None => {
                let d = Detector::fit(&fit, &specs, &cfg.detect)?;
                let body = d.to_bytes()?;
                let id = manifest::sha256_hex(&body);
                detectors.fitted.push(store::StoredModel {
                    model_id: id.clone(),
                    role: role.to_string(),
                    version: MODEL_VERSION.to_string(),
                    history_rows: history_rows as i64,
                    fitted_rows: fit.len() as i64,
                    body,
                });
                (d, id)
            }
        };
        detectors.ids.insert(role.to_string(), id);
        let xs: Vec<&[f64]> = table.rows.iter().map(|r| r.x.as_slice()).collect();
        let scores = detector.score_all(&xs);
        scored.push((table, scores));
    }
    Ok((scored, detectors))
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
    // one writing run at a time (a follower and a run by hand would score a window twice):
    // the lock is the session's, released when this connection closes, however the run ends
    let _lock = if write {
        let mut conn = pool.acquire().await?.detach();
        sqlx::query("select pg_advisory_lock($1)")
            .bind(RUN_LOCK)
            .execute(&mut conn)
            .await
            .context("waiting for another analysis run to finish")?;
        Some(conn)
    } else {
        None
    };
    if cfg.full && write {
        store::reset(pool).await?;
    }
    let plan = plan(pool, cfg).await?;
    let nothing_closed = plan
        .since_window
        .zip(plan.until_window)
        .is_some_and(|(since, until)| until <= since);
    if plan.up_to_date || (cfg.wait_for_close && nothing_closed) {
        return Ok(Analysis {
            run_id: None,
            window: plan.window,
            from_height: plan.to_height,
            to_height: plan.to_height,
            since_window: None,
            until_window: None,
            detectors: BTreeMap::new(),
            new_models: Vec::new(),
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
    let (mut analysis, mut timings) = compute(pool, &plan, cfg, None).await?;
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
    // a run recorded before stored detectors fitted its own (deterministically)
    let recorded = (!m.model.detectors.is_empty()).then_some(&m.model.detectors);
    Ok(compute(pool, &Plan::of(m), cfg, recorded).await?.0)
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
    recorded: Option<&BTreeMap<String, String>>,
) -> anyhow::Result<(Analysis, Timings)> {
    // the first lap is the read
    let mut timings = Timings::start();
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
    let (scored, detectors) = score(pool, tables, cfg, recorded).await?;
    timings.lap("detect");
    steps.step("rules");
    let times = data.block_times()?;
    let (attempts, agreements, consents) = inputs::rule_inputs(&data)?;
    let mut findings = rules::findings(
        &attempts,
        &agreements,
        &consents,
        &|h| times.get(&h).copied(),
        plan.window,
    );
    // the windows this run scores, as for the detector
    findings.retain(|f| plan.scores(f.window));
    timings.lap("rules");
    steps.step("provenance");
    let (facts, track) = inputs::provenance_inputs(&data, &lineage)?;
    let alerts = inputs::standing_alerts(&data)?;
    let provenance = provenance::score_all(&facts, &alerts, &track);
    timings.lap("provenance");
    steps.step("writing back");
    let wanted: Vec<(i64, i64)> = findings.iter().flat_map(|f| f.txs.clone()).collect();
    let tx_hashes: HashMap<(i64, i64), String> = load::tx_hashes(pool, &wanted).await?;
    let anomalies =
        analysis::anomalies(plan.window, &scored, &findings, &tx_hashes, &detectors.ids);
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
            until_window: plan.until_window,
            detectors: detectors.ids,
            new_models: detectors.fitted,
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
        new_models: &analysis.new_models,
        next_window: analysis.until_window,
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
        until_window: analysis.until_window,
        model: Model {
            version: MODEL_VERSION.into(),
            settings: settings(cfg),
            detectors: analysis.detectors.clone(),
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

/// The rows the detector is fitted on: the new windows and the history but for the windows
/// already reported (`reported`, in `prior`'s order), sampled to `cap`.
fn fit_rows(
    table: &RoleTable,
    prior: Vec<ActorWindow>,
    reported: &[bool],
    cap: usize,
) -> Vec<Vec<f64>> {
    let mut all: Vec<Vec<f64>> = table.rows.iter().map(|r| r.x.clone()).collect();
    if !prior.is_empty() {
        // the history's detector view, computed as for new windows
        let mut past = RoleTable {
            role: table.role,
            features: table.features.clone(),
            rows: prior,
        };
        features::finish(&mut past, &[]);
        all.extend(
            past.rows
                .into_iter()
                .zip(reported)
                .filter(|(_, reported)| !**reported)
                .map(|(r, _)| r.x),
        );
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
    fn a_detector_is_fitted_without_the_windows_already_reported() {
        let row = features::consumer_window;
        let mut table = RoleTable {
            role: "consumer",
            features: features::consumer_features(),
            rows: vec![row("a", 3, 2.0), row("b", 3, 1.0)],
        };
        features::finish(&mut table, &[]);
        // three earlier windows; the burst in the second was reported
        let prior = vec![row("a", 0, 1.0), row("a", 1, 480.0), row("a", 2, 1.0)];
        let fit = fit_rows(&table, prior, &[false, true, false], 100);
        assert_eq!(
            fit.len(),
            4,
            "two new windows and two of the three earlier ones"
        );
        let burst = 480f64.ln_1p();
        assert!(
            fit.iter().all(|x| x[0] < burst),
            "the reported burst is not among them: {fit:?}"
        );
    }

    #[test]
    fn the_automatic_window_gives_about_48_windows_in_round_units() {
        assert_eq!(auto_window(14 * 86400), 21600);
        assert_eq!(auto_window(48 * 3600), 3600);
        assert_eq!(auto_window(60), 1);
        assert_eq!(auto_window(0), 1);
        assert_eq!(auto_window(30 * 60), 30);
    }
}
