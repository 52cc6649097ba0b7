//! A run's report folder: `anomalies.json`, `provenance.json`, `run.json`, the same tables and
//! every scored window as Parquet, and `report.html`, one self-contained page with its charts
//! drawn as inline SVG.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use polars::prelude::*;
use serde_json::json;

use crate::analysis::Analysis;
use crate::svg::{self, esc};

fn parquet(path: &Path, df: &mut DataFrame) -> anyhow::Result<()> {
    let file = fs::File::create(path)?;
    ParquetWriter::new(file).finish(df)?;
    Ok(())
}

/// Writes the folder (created if needed).
pub fn write(dir: &Path, a: &Analysis) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(
        dir.join("anomalies.json"),
        serde_json::to_vec_pretty(&a.anomalies)?,
    )?;
    fs::write(
        dir.join("provenance.json"),
        serde_json::to_vec_pretty(&a.provenance)?,
    )?;
    fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&json!({
            "run_id": a.run_id,
            "model_version": crate::MODEL_VERSION,
            "window_seconds": a.window.seconds,
            "from_height": a.from_height,
            "to_height": a.to_height,
            "anomalies": a.anomalies.len(),
            "findings_by_rule": a.findings.len(),
            "versions_scored": a.provenance.len(),
            "windows": a.tables.iter().map(|(t, _)| json!({"role": t.role, "windows": t.rows.len()})).collect::<Vec<_>>(),
        }))?,
    )?;
    let an = &a.anomalies;
    let mut df = df!(
        "role" => an.iter().map(|x| x.role.clone()).collect::<Vec<_>>(),
        "actor" => an.iter().map(|x| x.actor.clone()).collect::<Vec<_>>(),
        "window_start" => an.iter().map(|x| x.window_start).collect::<Vec<_>>(),
        "method" => an.iter().map(|x| x.method.clone()).collect::<Vec<_>>(),
        "kind" => an.iter().map(|x| x.kind.clone()).collect::<Vec<_>>(),
        "score" => an.iter().map(|x| x.score).collect::<Vec<_>>(),
        "severity" => an.iter().map(|x| x.severity.clone()).collect::<Vec<_>>(),
        "explanation" => an.iter().map(|x| x.explanation.clone()).collect::<Vec<_>>(),
        "first_height" => an.iter().map(|x| x.first_height).collect::<Vec<_>>(),
        "last_height" => an.iter().map(|x| x.last_height).collect::<Vec<_>>(),
    )?;
    parquet(&dir.join("anomalies.parquet"), &mut df)?;
    let p = &a.provenance;
    let mut df = df!(
        "asset_id" => p.iter().map(|x| x.asset_id).collect::<Vec<_>>(),
        "version" => p.iter().map(|x| x.version).collect::<Vec<_>>(),
        "score" => p.iter().map(|x| x.score).collect::<Vec<_>>(),
        "own" => p.iter().map(|x| x.own).collect::<Vec<_>>(),
        "lineage" => p.iter().map(|x| x.lineage).collect::<Vec<_>>(),
        "attestation" => p.iter().map(|x| x.attestation).collect::<Vec<_>>(),
        "diversity" => p.iter().map(|x| x.diversity).collect::<Vec<_>>(),
        "integrity" => p.iter().map(|x| x.integrity).collect::<Vec<_>>(),
        "consent" => p.iter().map(|x| x.consent).collect::<Vec<_>>(),
        "alerts" => p.iter().map(|x| x.alerts).collect::<Vec<_>>(),
        "inherited" => p.iter().map(|x| x.inherited).collect::<Vec<_>>(),
    )?;
    parquet(&dir.join("provenance.parquet"), &mut df)?;
    let mut role = Vec::new();
    let mut actor = Vec::new();
    let mut window = Vec::new();
    let mut score = Vec::new();
    for (t, s) in &a.tables {
        for (w, sc) in t.rows.iter().zip(s) {
            role.push(t.role);
            actor.push(w.actor.clone());
            window.push(a.window.start(w.window));
            score.push(sc.score);
        }
    }
    let mut df = df!("role" => role, "actor" => actor, "window_start" => window, "score" => score)?;
    parquet(&dir.join("windows.parquet"), &mut df)?;
    fs::write(dir.join("report.html"), html(a))?;
    Ok(())
}

fn html(a: &Analysis) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<!doctype html><html lang=en><meta charset=utf-8><title>datapact analysis, run {}</title>\
         <style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222}}\
         table{{border-collapse:collapse;width:100%;margin:1em 0}}td,th{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}}\
         .sev-critical,.sev-high{{color:#a00;font-weight:600}}.sev-medium{{color:#b60}}code{{font-size:12px}}{}</style>",
        a.run_id.map(|r| r.to_string()).unwrap_or_default(),
        svg::CHART_CSS
    );
    let _ = write!(
        b,
        "<h1>datapact analysis</h1><p>Run {} · model {} · windows of {} s · heights {}..={} · {} anomalies ({} by rule) · {} versions scored</p>",
        a.run_id.map(|r| r.to_string()).unwrap_or_else(|| "(not stored)".into()),
        crate::MODEL_VERSION,
        a.window.seconds,
        a.from_height,
        a.to_height,
        a.anomalies.len(),
        a.findings.len(),
        a.provenance.len()
    );
    let scores: Vec<f64> = a
        .tables
        .iter()
        .flat_map(|(_, s)| s.iter().map(|x| x.score))
        .collect();
    b.push_str(&svg::histogram(
        "anomaly scores of every actor window",
        &scores,
        0.0,
        1.0,
        20,
    ));
    let prov: Vec<f64> = a.provenance.iter().map(|p| p.score).collect();
    b.push_str(&svg::histogram(
        "provenance scores of every version",
        &prov,
        0.0,
        100.0,
        20,
    ));
    b.push_str("<h2>Anomalies, highest first</h2><table><tr><th>score</th><th>severity</th><th>method</th><th>actor</th><th>window (UTC)</th><th>heights</th><th>why</th></tr>");
    for x in a.anomalies.iter().take(100) {
        let start = time::OffsetDateTime::from_unix_timestamp(x.window_start)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr><td>{:.3}</td><td class=sev-{}>{}</td><td>{} / {}</td><td><code>{}</code> ({})</td><td>{}</td><td>{}..{}</td><td>{}</td></tr>",
            x.score,
            esc(&x.severity),
            esc(&x.severity),
            esc(&x.method),
            esc(&x.kind),
            esc(&x.actor),
            esc(&x.role),
            esc(&start),
            x.first_height,
            x.last_height,
            esc(&x.explanation)
        );
    }
    b.push_str("</table><h2>Least trustworthy versions</h2><table><tr><th>version</th><th>score</th><th>lineage</th><th>attestation</th><th>diversity</th><th>integrity</th><th>consent</th><th>alerts</th><th>inherited</th></tr>");
    let mut worst: Vec<_> = a.provenance.iter().collect();
    worst.sort_by(|x, y| x.score.total_cmp(&y.score));
    for p in worst.iter().take(30) {
        let _ = write!(
            b,
            "<tr><td>{}@{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            p.asset_id, p.version, p.score, p.lineage, p.attestation, p.diversity, p.integrity, p.consent, p.alerts, p.inherited
        );
    }
    b.push_str(
        "</table><p>The score formulas are in docs/provenance.md and docs/anomalies.md.</p></html>",
    );
    b
}

/// Writes every consumer window's scores as CSV: `consumer,window,model,score` where `score`
/// also counts the findings by rule (what `bench-analytics` compares with its peer).
pub fn write_consumer_scores(path: &std::path::Path, a: &Analysis) -> anyhow::Result<()> {
    use std::fmt::Write;
    let mut rule: HashMap<(&str, i64), f64> = HashMap::new();
    for f in a.findings.iter().filter(|f| f.role == "consumer") {
        let e = rule.entry((f.actor.as_str(), f.window)).or_default();
        *e = e.max(f.score());
    }
    let mut text = String::from("consumer,window,model,score\n");
    let mut seen = std::collections::HashSet::new();
    for (t, scores) in a.tables.iter().filter(|(t, _)| t.role == "consumer") {
        for (w, s) in t.rows.iter().zip(scores) {
            let r = rule
                .get(&(w.actor.as_str(), w.window))
                .copied()
                .unwrap_or(0.0);
            seen.insert((w.actor.as_str(), w.window));
            let _ = writeln!(
                text,
                "{},{},{:.6},{:.6}",
                w.actor,
                w.window,
                s.score,
                s.score.max(r)
            );
        }
    }
    for ((actor, window), r) in &rule {
        if !seen.contains(&(*actor, *window)) {
            let _ = writeln!(text, "{actor},{window},0,{r:.6}");
        }
    }
    std::fs::write(path, text)?;
    Ok(())
}
