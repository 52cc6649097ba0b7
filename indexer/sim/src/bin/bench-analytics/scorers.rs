//! The scorers alone, on the very same feature matrix: datapact's detector against
//! scikit-learn's IsolationForest.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::{figure, figures, peer_script, python, quality};

/// The scorers alone on the very same matrix (the peer's features, in log units): datapact's
/// detector (generic features, in the blend `datapact analyze` fits on windows) in this process, against
/// scikit-learn's IsolationForest (every core) in its own; each reads the matrix before its
/// clock starts. Time to fit and score every row, and quality against the labels.
pub(super) fn scorer_race(
    matrix: &Path,
    dir: &Path,
    truth: &HashMap<(String, i64), String>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(matrix)
        .with_context(|| format!("the peer's feature matrix {}", matrix.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .context("an empty matrix")?
        .split(',')
        .collect();
    let names: Vec<String> = header.iter().skip(2).map(|s| s.to_string()).collect();
    let mut keys = Vec::new();
    let mut rows = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            continue;
        }
        let window = f[1].parse::<f64>().map(|w| w as i64)?;
        keys.push((f[0].to_string(), window));
        rows.push(
            f[2..]
                .iter()
                .map(|v| v.parse::<f64>().unwrap_or(f64::NAN))
                .collect::<Vec<f64>>(),
        );
    }
    let features: Vec<datapact_analytics::detect::Feature> = names
        .iter()
        .map(|n| datapact_analytics::detect::Feature::generic(n.clone()))
        .collect();
    let t = std::time::Instant::now();
    let scored = datapact_analytics::detect::detect(
        &rows,
        &features,
        &datapact_analytics::detect::DetectConfig::windows(),
    )?;
    let ours_secs = t.elapsed().as_secs_f64();
    let ours: HashMap<(String, i64), f64> = keys
        .iter()
        .cloned()
        .zip(scored.iter().map(|s| s.score))
        .collect();
    let out = dir.join("scorer.csv");
    let sk = figures(
        Command::new(python())
            .arg(peer_script().with_file_name("scorer.py"))
            .arg(matrix)
            .arg(&out),
        "the scikit-learn scorer",
    )?;
    let theirs_by_row = scores_by_row(&out)?;
    let theirs: HashMap<(String, i64), f64> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| theirs_by_row.get(i).map(|s| (k.clone(), *s)))
        .collect();
    let sk_secs = figure(&sk, "seconds");
    let (a, b) = (quality(&ours, truth, None), quality(&theirs, truth, None));
    println!();
    println!(
        "the scorers alone on the peer's feature matrix ({} rows x {} features; fit and score, all cores, reading apart):",
        rows.len(),
        names.len()
    );
    println!("{:<44} {:>10} {:>22}", "", "time (s)", "PR-AUC / R@5%FPR");
    println!(
        "{:<44} {:>10.2} {:>13.3} / {:<6.3}",
        "datapact detector (generic features)", ours_secs, a.0, a.1
    );
    println!(
        "{:<44} {:>10.2} {:>13.3} / {:<6.3}",
        "scikit-learn IsolationForest (n_jobs=-1)", sk_secs, b.0, b.1
    );
    println!(
        "{:<44} {:>10.1}x",
        "ratio (IsolationForest / datapact)",
        sk_secs / ours_secs
    );
    Ok(())
}

/// Scores by row from a `row,score` CSV.
fn scores_by_row(path: &Path) -> anyhow::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1).and_then(|s| s.parse().ok()))
        .collect())
}
