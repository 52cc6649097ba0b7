//! One analysis run, end to end: plan what to read, read it, compute, write back, report.
//!
//! A run scores the windows that closed since the previous run (`plan.rs`), keeps the window
//! length of the first run, and scores them with each role's detector, stored or fitted
//! (`score.rs`). With `write` false (the evaluation) nothing is stored.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::analysis::{self, Analysis, REPORT_THRESHOLD};
use crate::detect::{DetectConfig, Scored};
mod plan;
mod score;

use plan::plan;
pub use plan::{auto_window, Plan};
use score::{role_tables, score};

use crate::features::{Lineage, RoleTable};
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
            detect: DetectConfig::windows(),
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
    // the lock is the session's, released when this connection closes, however the run ends.
    // The run writes on that connection only, so it commits nothing once the lock is lost (a
    // Postgres restart mid-run ends the session, and with it the lock and this run).
    let mut lock = if write {
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
    if let (true, Some(conn)) = (cfg.full, &mut lock) {
        store::reset(conn).await?;
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
    if let Some(conn) = &mut lock {
        persist(pool, conn, cfg, &mut analysis).await?;
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
        &|h| times.get(h),
        plan.window,
    );
    findings.extend(rules::laundering(&lineage, &|h| times.get(h), plan.window));
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
/// run); every write to the database on `lock`, the connection that holds the run's lock.
async fn persist(
    pool: &PgPool,
    lock: &mut PgConnection,
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
    let run_id = store::save(lock, &out).await.context(
        "storing the run failed and nothing of it was stored (if Postgres restarted, the run's \
         lock went with it): the next run scores these windows",
    )?;
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
    store::set_report(lock, run_id, &dir.to_string_lossy(), &text, &m.sha256()).await?;
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
