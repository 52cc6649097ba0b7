//! One analysis run, end to end: read, compute, write back, report.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use polars::prelude::*;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sqlx::PgPool;

use super::detect::{DetectConfig, Detector, Feature, Scored};
use super::features::{self, ActorWindow, FeatureDef, Lineage, RoleTable, Windowing};
use super::provenance::{self, ProvenanceScore, VersionFacts};
use super::rules::{self, AgreementTerms, Attempt, ConsentRecord, Finding, GrantTerms};
use super::store::{self, Anomaly, RunOutput};
use super::{report, Data, MODEL_VERSION};

/// Windows scored at or above this are reported as anomalies.
pub const REPORT_THRESHOLD: f64 = 0.5;

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
            progress: false,
        }
    }
}

/// What a run found; also what the evaluation reads.
pub struct Analysis {
    pub run_id: Option<i64>,
    pub window: Windowing,
    pub from_height: i64,
    pub to_height: i64,
    /// the role tables this run (re)computed, with their scores
    pub tables: Vec<(RoleTable, Vec<Scored>)>,
    pub findings: Vec<Finding>,
    pub provenance: Vec<ProvenanceScore>,
    pub anomalies: Vec<Anomaly>,
    pub timings: Vec<(String, f64)>,
    pub report_dir: Option<PathBuf>,
    /// true when nothing new was indexed since the last run
    pub up_to_date: bool,
}

/// A round window length near `span / 48`: enough windows for every actor to have a baseline.
pub fn auto_window(span_seconds: i64) -> i64 {
    const NICE: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
    ];
    let target = (span_seconds / 48).max(1);
    NICE.iter().copied().rfind(|n| *n <= target).unwrap_or(1)
}

fn feature_specs(defs: &[FeatureDef]) -> Vec<Feature> {
    defs.iter().map(|d| d.feature.clone()).collect()
}

/// Explains a model score: the features that moved most, in words.
pub fn explain(defs: &[FeatureDef], w: &ActorWindow, s: &Scored) -> String {
    let mut parts = Vec::new();
    for (j, z) in s.reasons.iter().take(3) {
        if *z < 1.0 {
            continue;
        }
        let Some(def) = defs.get(*j) else { continue };
        let v = w.raw.get(*j).copied().unwrap_or(0.0);
        let u = w.usual.get(*j).copied().unwrap_or(0.0);
        let fmt = |x: f64| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        };
        parts.push(def.text.replace("{v}", &fmt(v)).replace("{u}", &fmt(u)));
    }
    if parts.is_empty() {
        "unlike the other windows in combination (no single feature stands out)".into()
    } else {
        parts.join("; ")
    }
}

fn severity(score: f64) -> &'static str {
    if score >= 0.97 {
        "critical"
    } else if score >= 0.9 {
        "high"
    } else if score >= 0.75 {
        "medium"
    } else if score >= REPORT_THRESHOLD {
        "low"
    } else {
        "info"
    }
}

fn strs(df: &DataFrame, c: &str) -> anyhow::Result<Vec<Option<String>>> {
    Ok(df
        .column(c)?
        .str()?
        .into_iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

fn ints(df: &DataFrame, c: &str) -> anyhow::Result<Vec<Option<i64>>> {
    Ok(df
        .column(c)?
        .cast(&DataType::Int64)?
        .i64()?
        .into_iter()
        .collect())
}

/// What the rules read: refused attempts, agreements' terms, consents with their withdrawals.
type RuleInputs = (
    Vec<Attempt>,
    HashMap<i64, AgreementTerms>,
    Vec<ConsentRecord>,
);

fn rule_inputs(data: &Data) -> anyhow::Result<RuleInputs> {
    let d = &data.denied;
    let (h, txi, consumer, ag, subject, reason) = (
        ints(d, "height")?,
        ints(d, "tx_index")?,
        strs(d, "consumer")?,
        ints(d, "agreement_id")?,
        strs(d, "subject")?,
        strs(d, "reason")?,
    );
    let attempts = (0..h.len())
        .map(|i| Attempt {
            height: h[i].unwrap_or(0),
            tx_index: txi[i].unwrap_or(0),
            consumer: consumer[i].clone().unwrap_or_default(),
            agreement_id: ag[i],
            subject: subject[i].clone(),
            reason: reason[i].clone().unwrap_or_default(),
        })
        .collect();
    let a = &data.agreements;
    let (id, provider, asset, purpose) = (
        ints(a, "agreement_id")?,
        strs(a, "provider")?,
        ints(a, "asset_id")?,
        strs(a, "purpose")?,
    );
    let agreements = (0..id.len())
        .filter_map(|i| {
            Some((
                id[i]?,
                AgreementTerms {
                    provider: provider[i].clone()?,
                    asset_id: asset[i]?,
                    purpose: purpose[i].clone()?,
                },
            ))
        })
        .collect();
    let w = &data.withdrawals;
    let (wid, wheight, wsubj, wctrl) = (
        ints(w, "consent_id")?,
        ints(w, "height")?,
        strs(w, "subject")?,
        strs(w, "controller")?,
    );
    let withdrawn: HashMap<i64, i64> = wid
        .iter()
        .zip(&wheight)
        .filter_map(|(c, h)| Some(((*c)?, (*h)?)))
        .collect();
    let c = &data.consents;
    let (cid, subj, ctrl, scope, purposes) = (
        ints(c, "consent_id")?,
        strs(c, "subject")?,
        strs(c, "controller")?,
        strs(c, "scope")?,
        strs(c, "purposes")?,
    );
    let mut consents: Vec<ConsentRecord> = (0..cid.len())
        .map(|i| ConsentRecord {
            subject: subj[i].clone().unwrap_or_default(),
            controller: ctrl[i].clone().unwrap_or_default(),
            grant: Some(GrantTerms {
                scope: scope[i].clone().unwrap_or_default(),
                purposes: purposes[i]
                    .clone()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            withdrawn_at: cid[i].and_then(|id| withdrawn.get(&id).copied()),
        })
        .collect();
    // withdrawals of consents granted before the index starts: known by subject and controller
    let granted: HashSet<i64> = cid.iter().flatten().copied().collect();
    consents.extend((0..wid.len()).filter_map(|i| {
        let id = wid[i]?;
        (!granted.contains(&id)).then(|| ConsentRecord {
            subject: wsubj[i].clone().unwrap_or_default(),
            controller: wctrl[i].clone().unwrap_or_default(),
            grant: None,
            withdrawn_at: wheight[i],
        })
    }));
    Ok((attempts, agreements, consents))
}

/// Facts per version, and each attestor's track record.
type ProvenanceInputs = (HashMap<(i64, i64), VersionFacts>, HashMap<String, f64>);

/// Facts per version for the provenance score, and the attestors' track records.
fn provenance_inputs(data: &Data, lineage: &Lineage) -> anyhow::Result<ProvenanceInputs> {
    let assets = &data.assets;
    let owners: HashMap<i64, (String, bool)> = ints(assets, "asset_id")?
        .into_iter()
        .zip(strs(assets, "owner")?)
        .zip(strs(assets, "sensitivity")?)
        .filter_map(|((id, o), s)| {
            let personal = matches!(s.as_deref(), Some("personal") | Some("special_category"));
            Some((id?, (o?, personal)))
        })
        .collect();
    let tomb: BTreeSet<i64> = ints(&data.tombstones, "asset_id")?
        .into_iter()
        .flatten()
        .collect();
    let v = &data.versions;
    let (asset, version) = (ints(v, "asset_id")?, ints(v, "version")?);
    let schema: Vec<bool> = v
        .column("schema_hash")?
        .bool()?
        .into_iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let mut facts: HashMap<(i64, i64), VersionFacts> = HashMap::new();
    for i in 0..asset.len() {
        let (Some(a), Some(ver)) = (asset[i], version[i]) else {
            continue;
        };
        let (owner, personal) = owners.get(&a).cloned().unwrap_or_default();
        facts.insert(
            (a, ver),
            VersionFacts {
                owner,
                personal,
                tombstoned: tomb.contains(&a),
                schema_hash: schema[i],
                parents: lineage.parents.get(&(a, ver)).cloned().unwrap_or_default(),
                ..Default::default()
            },
        );
    }
    // attestations in order: the latest word per (version, attestor) counts
    let at = &data.attestations;
    let (aa, av, who, claim) = (
        ints(at, "asset_id")?,
        ints(at, "version")?,
        strs(at, "attestor")?,
        strs(at, "claim")?,
    );
    let revoked: Vec<bool> = at
        .column("revoked")?
        .bool()?
        .into_iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    // track record: share of an attestor's attestations that were never revoked and do not
    // vouch for versions whose lineage nobody attested
    let mut record: HashMap<String, (f64, f64)> = HashMap::new();
    for i in 0..aa.len() {
        let (Some(a), Some(ver), Some(w)) = (aa[i], av[i], who[i].clone()) else {
            continue;
        };
        let e = record.entry(w.clone()).or_insert((0.0, 0.0));
        e.1 += 1.0;
        if !revoked[i] && lineage.unattested_depth((a, ver)) == 0 {
            e.0 += 1.0;
        }
        if let Some(f) = facts.get_mut(&(a, ver)) {
            if revoked[i] {
                f.attestations.remove(&w);
            } else {
                f.attestations
                    .entry(w)
                    .or_default()
                    .push(claim[i].clone().unwrap_or_default());
            }
        }
    }
    let track = record
        .into_iter()
        .map(|(w, (good, all))| (w, (good + 1.0) / (all + 2.0)))
        .collect();
    // accesses per asset, and consumers per asset (from the agreements)
    let acc = data
        .accesses
        .clone()
        .lazy()
        .group_by([col("asset_id")])
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("subject")
                .is_not_null()
                .cast(DataType::Int64)
                .sum()
                .alias("with_subject"),
        ])
        .collect()?;
    let per_asset: HashMap<i64, (u64, u64)> = ints(&acc, "asset_id")?
        .into_iter()
        .zip(ints(&acc, "n")?)
        .zip(ints(&acc, "with_subject")?)
        .filter_map(|((a, n), s)| Some((a?, (n? as u64, s? as u64))))
        .collect();
    let ag = &data.agreements;
    let mut consumers: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (a, c) in ints(ag, "asset_id")?.into_iter().zip(strs(ag, "consumer")?) {
        if let (Some(a), Some(c)) = (a, c) {
            consumers.entry(a).or_default().insert(c);
        }
    }
    for ((a, _), f) in facts.iter_mut() {
        if let Some((n, s)) = per_asset.get(a) {
            f.accesses = *n;
            f.accesses_with_subject = *s;
        }
        f.consumers = consumers.get(a).cloned().unwrap_or_default();
    }
    Ok((facts, track))
}

/// Runs an analysis over what is indexed (only what is new since the last run, unless
/// `cfg.full`) and writes it back. With `write` false nothing is stored (the evaluation).
pub async fn analyze(pool: &PgPool, cfg: &AnalyzeConfig, write: bool) -> anyhow::Result<Analysis> {
    let t0 = Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &str, t: &mut Instant| {
        timings.push((name.to_string(), t.elapsed().as_secs_f64()));
        *t = Instant::now();
    };
    let mut t = Instant::now();
    if cfg.full && write {
        store::reset(pool).await?;
    }
    let previous = if cfg.full {
        None
    } else {
        store::state(pool).await?
    };
    let (to_height, span): (Option<i64>, Option<(i64, i64)>) = (
        sqlx::query_scalar("select height from checkpoint where id = 1")
            .fetch_optional(pool)
            .await?,
        // the span of activity (accesses and refused attempts), not of idle blocks
        sqlx::query_as(
            "select extract(epoch from min(b.time))::bigint, extract(epoch from max(b.time))::bigint \
             from blocks b where b.height in (select min(height) from accesses union all select max(height) from accesses \
             union all select min(height) from denied_attempts union all select max(height) from denied_attempts) \
             having count(*) > 0",
        )
        .fetch_optional(pool)
        .await?,
    );
    let to_height = to_height.unwrap_or(0);
    let seconds = match (cfg.window, previous) {
        (_, Some((w, _))) if !cfg.full => w,
        (Some(w), _) => w.max(1),
        (None, _) => auto_window(span.map_or(3600, |(a, b)| b - a)),
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
            let t_last: Option<i64> = sqlx::query_scalar(
                "select extract(epoch from time)::bigint from blocks where height = $1",
            )
            .bind(last)
            .fetch_optional(pool)
            .await?;
            let w0 = window.index(t_last.unwrap_or(0));
            let h0: Option<i64> =
                sqlx::query_scalar("select min(height) from blocks where time >= to_timestamp($1)")
                    .bind(window.start(w0) as f64)
                    .fetch_one(pool)
                    .await?;
            (h0.unwrap_or(last), Some(w0))
        }
        _ => (0, None),
    };
    if up_to_date {
        return Ok(Analysis {
            run_id: None,
            window,
            from_height: to_height,
            to_height,
            tables: Vec::new(),
            findings: Vec::new(),
            provenance: Vec::new(),
            anomalies: Vec::new(),
            timings,
            report_dir: None,
            up_to_date: true,
        });
    }
    let bar = cfg.progress.then(|| {
        let b = indicatif::ProgressBar::new(7);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} analyze [{elapsed_precise}] {bar:20} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let step = |msg: &str| {
        if let Some(b) = &bar {
            b.set_message(msg.to_string());
            b.inc(1);
        }
    };
    step("reading the indexed tables");
    let data = Data::load(pool, from_height)
        .await
        .context("reading the indexed tables")?;
    lap("read", &mut t);
    step("features");
    let lineage = Lineage::from_data(&data)?;
    let mut tables = vec![
        {
            let t0 = Instant::now();
            let c = features::consumers(&data, window)?;
            tracing::debug!("consumer features {:?}", t0.elapsed());
            c
        },
        features::providers(&data, window, &lineage)?,
        features::attestors(&data, window, &lineage)?,
    ];
    // earlier windows: the baseline of a re-run
    let mut fits = Vec::new();
    for table in &mut tables {
        let prior = match since_window {
            Some(w0) => store::prior_windows(pool, table.role, window.start(w0)).await?,
            None => Vec::new(),
        };
        if let Some(w0) = since_window {
            table.rows.retain(|r| r.window >= w0);
        }
        let t0 = Instant::now();
        features::finish(table, &prior);
        tracing::debug!("{}: finish {:?}", table.role, t0.elapsed());
        // the detector fits on the new windows and a sample of the history
        fits.push(fit_rows(table, prior, cfg.fit_sample));
    }
    lap("features", &mut t);
    step("scoring");
    let mut scored = Vec::new();
    for (table, fit) in tables.into_iter().zip(fits) {
        let specs = feature_specs(&table.features);
        let scores = if table.rows.is_empty() {
            Vec::new()
        } else {
            let t0 = Instant::now();
            let detector = Detector::fit(&fit, &specs, &cfg.detect)?;
            tracing::debug!("{}: fit {:?}", table.role, t0.elapsed());
            let t0 = Instant::now();
            let xs: Vec<&[f64]> = table.rows.iter().map(|r| r.x.as_slice()).collect();
            let s = detector.score_all(&xs);
            tracing::debug!(
                "{}: score {} rows {:?}",
                table.role,
                table.rows.len(),
                t0.elapsed()
            );
            s
        };
        scored.push((table, scores));
    }
    lap("detect", &mut t);
    step("rules");
    let times = data.block_times()?;
    let (attempts, agreements, consents) = rule_inputs(&data)?;
    let findings = rules::findings(
        &attempts,
        &agreements,
        &consents,
        &|h| times.get(&h).copied(),
        window,
    );
    lap("rules", &mut t);
    step("provenance");
    let (facts, track) = provenance_inputs(&data, &lineage)?;
    let alerts: Vec<(String, String)> = strs(&data.alerts, "subject")?
        .into_iter()
        .zip(strs(&data.alerts, "severity")?)
        .filter_map(|(a, b)| Some((a?, b?)))
        .collect();
    let provenance = provenance::score_all(&facts, &alerts, &track);
    lap("provenance", &mut t);
    step("writing back");
    // tx hashes behind the rule findings
    let tx_hashes: HashMap<(i64, i64), String> = {
        let wanted: Vec<(i64, i64)> = findings.iter().flat_map(|f| f.txs.clone()).collect();
        let heights: Vec<i64> = wanted.iter().map(|w| w.0).collect();
        let idx: Vec<i64> = wanted.iter().map(|w| w.1).collect();
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "select t.height, t.tx_index::bigint, t.hash from txs t \
             join unnest($1::bigint[], $2::bigint[]) as w(h, i) on t.height = w.h and t.tx_index = w.i",
        )
        .bind(&heights)
        .bind(&idx)
        .fetch_all(pool)
        .await?;
        rows.into_iter().map(|(h, i, x)| ((h, i), x)).collect()
    };
    let mut anomalies = Vec::new();
    for (table, scores) in &scored {
        for (w, s) in table.rows.iter().zip(scores) {
            if s.score < REPORT_THRESHOLD {
                continue;
            }
            let features: serde_json::Map<String, serde_json::Value> = table
                .features
                .iter()
                .enumerate()
                .map(|(j, d)| {
                    (
                        d.feature.name.clone(),
                        json!({"value": w.raw.get(j), "usual": w.usual.get(j)}),
                    )
                })
                .collect();
            anomalies.push(Anomaly {
                role: table.role.to_string(),
                actor: w.actor.clone(),
                window_start: window.start(w.window),
                window_end: window.start(w.window + 1),
                method: "model".into(),
                kind: format!("{}_behaviour", table.role),
                score: s.score,
                severity: severity(s.score).into(),
                explanation: explain(&table.features, w, s),
                features: json!({"features": features, "views": {"features": s.parts[0], "isolation_forest": s.parts[1], "knn": s.parts[2], "pca": s.parts[3]}}),
                first_height: w.first_height,
                last_height: w.last_height,
                txs: Vec::new(),
                targets: Vec::new(),
            });
        }
    }
    for f in &findings {
        anomalies.push(Anomaly {
            role: "consumer".into(),
            actor: f.consumer.clone(),
            window_start: window.start(f.window),
            window_end: window.start(f.window + 1),
            method: "rule".into(),
            kind: f.rule.into(),
            score: f.score(),
            severity: f.severity().into(),
            explanation: f.explanation(),
            features: json!({"attempts": f.attempts}),
            first_height: f.first_height,
            last_height: f.last_height,
            txs: f
                .txs
                .iter()
                .filter_map(|k| tx_hashes.get(k).cloned())
                .collect(),
            targets: f.targets.clone(),
        });
    }
    anomalies.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut analysis = Analysis {
        run_id: None,
        window,
        from_height,
        to_height,
        tables: scored,
        findings,
        provenance,
        anomalies,
        timings: Vec::new(),
        report_dir: None,
        up_to_date: false,
    };
    if write {
        let stats = json!({
            "windows": analysis.tables.iter().map(|(t, _)| (t.role, t.rows.len())).collect::<BTreeMap<_, _>>(),
            "anomalies": analysis.anomalies.len(),
            "findings": analysis.findings.len(),
            "versions": analysis.provenance.len(),
        });
        let out = RunOutput {
            window,
            from_height,
            to_height,
            params: json!({"window_seconds": seconds, "full": cfg.full, "detect": format!("{:?}", cfg.detect), "threshold": REPORT_THRESHOLD}),
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
            model_version: MODEL_VERSION,
        };
        let t0 = Instant::now();
        let run_id = store::save(pool, &out).await?;
        tracing::debug!("stored in {:?}", t0.elapsed());
        analysis.run_id = Some(run_id);
        let dir = cfg.reports.join(format!("run-{run_id}"));
        let t0 = Instant::now();
        report::write(&dir, &analysis)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
        tracing::debug!("report written in {:?}", t0.elapsed());
        sqlx::query("update analytics_runs set report_dir = $1 where run_id = $2")
            .bind(dir.to_string_lossy().to_string())
            .bind(run_id)
            .execute(pool)
            .await?;
        analysis.report_dir = Some(dir);
    }
    lap("write", &mut t);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    timings.push(("total".into(), t0.elapsed().as_secs_f64()));
    analysis.timings = timings;
    Ok(analysis)
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
