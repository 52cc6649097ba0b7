//! `datapact detect`: the detector on any table a user brings (CSV with a header, or Parquet).

use anyhow::Context;
use polars::prelude::*;

use super::{detect, DetectConfig, Feature};
use crate::metrics;

/// `datapact detect`: scores a CSV (with a header) or Parquet table; every numeric column but
/// the label and id columns is a feature. Writes `row,id,score,reasons` as CSV to `out` and
/// returns a summary (with PR-AUC and recall at 5% FPR when a 0/1 label column is named).
pub fn score_file(
    input: &std::path::Path,
    out: &std::path::Path,
    label: Option<&str>,
    id: Option<&str>,
    cfg: &DetectConfig,
) -> anyhow::Result<String> {
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let is_parquet = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let df = if is_parquet {
        ParquetReader::new(file)
            .finish()
            .with_context(|| format!("{} is not a readable Parquet file", input.display()))?
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .into_reader_with_file_handle(file)
            .finish()
            .with_context(|| {
                format!(
                    "{} is not a readable CSV file with a header",
                    input.display()
                )
            })?
    };
    let mut names = Vec::new();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for c in df.columns() {
        let name = c.name().to_string();
        if Some(name.as_str()) == label
            || Some(name.as_str()) == id
            || !c.dtype().is_primitive_numeric()
        {
            continue;
        }
        let f = c.cast(&DataType::Float64)?;
        columns.push(
            f.f64()?
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
        );
        names.push(name);
    }
    anyhow::ensure!(
        !names.is_empty(),
        "{} has no numeric feature columns (besides the label and id columns)",
        input.display()
    );
    let n = df.height();
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| columns.iter().map(|c| c[i]).collect())
        .collect();
    let features: Vec<Feature> = names.iter().map(|n| Feature::generic(n.clone())).collect();
    let scored = detect(&rows, &features, cfg)?;
    let ids: Vec<String> = match id {
        Some(c) => df
            .column(c)
            .with_context(|| format!("no column {c:?}"))?
            .cast(&DataType::String)?
            .str()?
            .into_iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect(),
        None => (0..n).map(|i| i.to_string()).collect(),
    };
    let mut text = String::from("row,id,score,reasons\n");
    for (i, s) in scored.iter().enumerate() {
        let reasons: Vec<String> = s
            .reasons
            .iter()
            .take(3)
            .map(|(j, z)| format!("{} ({z:+.1})", names[*j]))
            .collect();
        text.push_str(&format!(
            "{i},\"{}\",{:.6},\"{}\"\n",
            ids[i].replace('"', "\"\""),
            s.score,
            reasons.join("; ")
        ));
    }
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    let mut summary = format!(
        "{} rows, {} features scored; scores in {}",
        n,
        names.len(),
        out.display()
    );
    if let Some(l) = label {
        let y: Vec<f64> = df
            .column(l)
            .with_context(|| format!("no label column {l:?}"))?
            .cast(&DataType::Float64)?
            .f64()?
            .into_iter()
            .map(|v| v.unwrap_or(0.0))
            .collect();
        let pos: Vec<f64> = scored
            .iter()
            .zip(&y)
            .filter(|(_, y)| **y > 0.5)
            .map(|(s, _)| s.score)
            .collect();
        let neg: Vec<f64> = scored
            .iter()
            .zip(&y)
            .filter(|(_, y)| **y <= 0.5)
            .map(|(s, _)| s.score)
            .collect();
        summary.push_str(&format!(
            "\nagainst {l}: {} anomalies, {} normal rows; PR-AUC {:.3}, ROC-AUC {:.3}, recall at 5% FPR {:.3}",
            pos.len(),
            neg.len(),
            metrics::average_precision(&pos, &neg),
            metrics::auc(&neg, &pos),
            metrics::recall_at_fpr(&pos, &neg, 0.05)
        ));
    }
    Ok(summary)
}
