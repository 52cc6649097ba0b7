//! `datapact detect`: the detector on any table a user brings (CSV with a header, or Parquet).

use anyhow::Context;
use polars::prelude::*;

use super::{detect, DetectConfig, Feature};
use crate::metrics;

/// A table a user brings, read for the detector: its numeric feature columns by row, the
/// 0/1 label column if one was named, and each row's name.
pub struct Table {
    /// the feature columns' names, in column order
    pub names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    /// the label column (1: an anomaly), when one was named
    pub labels: Option<Vec<f64>>,
    /// the id column's values, else the row numbers
    pub ids: Vec<String>,
}

impl Table {
    /// Every column is a generic feature (both directions of a deviation count).
    pub fn features(&self) -> Vec<Feature> {
        self.names
            .iter()
            .map(|n| Feature::generic(n.clone()))
            .collect()
    }

    /// PR-AUC, ROC-AUC and recall at 5% FPR of `scores` against the label column (None
    /// without one).
    pub fn measure(&self, scores: &[f64]) -> Option<Measured> {
        let y = self.labels.as_ref()?;
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for (s, y) in scores.iter().zip(y) {
            if *y > 0.5 {
                pos.push(*s);
            } else {
                neg.push(*s);
            }
        }
        Some(Measured {
            anomalies: pos.len(),
            normal: neg.len(),
            pr_auc: metrics::average_precision(&pos, &neg),
            roc_auc: metrics::auc(&neg, &pos),
            recall_at_5pct_fpr: metrics::recall_at_fpr(&pos, &neg, 0.05),
        })
    }
}

/// Scores against a table's labels.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub anomalies: usize,
    pub normal: usize,
    pub pr_auc: f64,
    pub roc_auc: f64,
    pub recall_at_5pct_fpr: f64,
}

/// Reads a CSV (with a header) or Parquet table: every numeric column but the label and id
/// columns is a feature.
pub fn read_table(
    input: &std::path::Path,
    label: Option<&str>,
    id: Option<&str>,
) -> anyhow::Result<Table> {
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
    let labels = match label {
        Some(l) => Some(
            df.column(l)
                .with_context(|| format!("no label column {l:?}"))?
                .cast(&DataType::Float64)?
                .f64()?
                .into_iter()
                .map(|v| v.unwrap_or(0.0))
                .collect(),
        ),
        None => None,
    };
    Ok(Table {
        names,
        rows,
        labels,
        ids,
    })
}

/// Which rows `datapact detect` flags as anomalies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flag {
    /// every row whose score reaches this (0-1)
    Threshold(f64),
    /// this share of the rows (0-1), the highest scores (ties broken by row order)
    Contamination(f64),
}

impl Flag {
    /// Whether each of `scores` is flagged.
    pub fn apply(self, scores: &[f64]) -> Vec<bool> {
        match self {
            Flag::Threshold(t) => scores.iter().map(|s| *s >= t).collect(),
            Flag::Contamination(share) => {
                let k = (scores.len() as f64 * share.clamp(0.0, 1.0)).round() as usize;
                let mut order: Vec<usize> = (0..scores.len()).collect();
                order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
                let mut flagged = vec![false; scores.len()];
                for i in order.into_iter().take(k) {
                    flagged[i] = true;
                }
                flagged
            }
        }
    }
}

/// `datapact detect`: scores a CSV (with a header) or Parquet table; every numeric column but
/// the label and id columns is a feature. Writes `row,id,score,flagged,reasons` as CSV to `out`
/// and returns a summary (with PR-AUC, recall at 5% FPR, and the flagged rows' precision and
/// recall when a 0/1 label column is named).
pub fn score_file(
    input: &std::path::Path,
    out: &std::path::Path,
    label: Option<&str>,
    id: Option<&str>,
    cfg: &DetectConfig,
    flag: Flag,
) -> anyhow::Result<String> {
    let table = read_table(input, label, id)?;
    let (names, ids, n) = (&table.names, &table.ids, table.rows.len());
    let scored = detect(&table.rows, &table.features(), cfg)?;
    let scores: Vec<f64> = scored.iter().map(|s| s.score).collect();
    let flagged = flag.apply(&scores);
    let mut text = String::from("row,id,score,flagged,reasons\n");
    for (i, s) in scored.iter().enumerate() {
        let reasons: Vec<String> = s
            .reasons
            .iter()
            .take(3)
            .map(|(j, z)| format!("{} ({z:+.1})", names[*j]))
            .collect();
        text.push_str(&format!(
            "{i},\"{}\",{:.6},{},\"{}\"\n",
            ids[i].replace('"', "\"\""),
            s.score,
            u8::from(flagged[i]),
            reasons.join("; ")
        ));
    }
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    let n_flagged = flagged.iter().filter(|f| **f).count();
    let rule = match flag {
        Flag::Threshold(t) => format!("score >= {t}"),
        Flag::Contamination(c) => format!("the highest {:.1}%", c * 100.0),
    };
    let mut summary = format!(
        "{} rows, {} features scored; {n_flagged} flagged ({rule}); scores in {}",
        n,
        names.len(),
        out.display()
    );
    if let (Some(l), Some(m), Some(y)) = (label, table.measure(&scores), &table.labels) {
        let hits = flagged
            .iter()
            .zip(y)
            .filter(|(f, y)| **f && **y > 0.5)
            .count();
        summary.push_str(&format!(
            "\nagainst {l}: {} anomalies, {} normal rows; PR-AUC {:.3}, ROC-AUC {:.3}, recall at 5% FPR {:.3}; \
             flagged: precision {}, recall {:.3}",
            m.anomalies,
            m.normal,
            m.pr_auc,
            m.roc_auc,
            m.recall_at_5pct_fpr,
            if n_flagged == 0 {
                "- (none flagged)".to_string()
            } else {
                format!("{:.3}", hits as f64 / n_flagged as f64)
            },
            hits as f64 / m.anomalies.max(1) as f64
        ));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_flags_every_score_that_reaches_it_and_a_contamination_a_share_of_the_rows() {
        let scores = [0.1, 0.9, 0.5, 0.5, 0.2, 0.7, 0.0, 0.3, 0.6, 0.4];
        let t = Flag::Threshold(0.5).apply(&scores);
        assert_eq!(t.iter().filter(|f| **f).count(), 5);
        assert!(t[2] && t[3] && !t[9], "0.5 reaches 0.5, 0.4 does not");
        let c = Flag::Contamination(0.3).apply(&scores);
        assert_eq!(
            c,
            [false, true, false, false, false, true, false, false, true, false]
        );
        // ties at the edge: the earlier row is flagged, and exactly the share is
        let c = Flag::Contamination(0.4).apply(&scores);
        assert_eq!(c.iter().filter(|f| **f).count(), 4);
        assert!(c[2] && !c[3]);
        assert!(Flag::Contamination(0.0).apply(&scores).iter().all(|f| !f));
    }

    #[test]
    fn a_scored_file_carries_the_flag_and_reports_the_flagged_rows_precision() {
        let dir = std::env::temp_dir().join(format!("datapact-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let input = dir.join("t.csv");
        let mut text = String::from("a,b,is_anomaly\n");
        for i in 0..200 {
            text.push_str(&format!("{},{},0\n", i % 10, (i * 7) % 13));
        }
        text.push_str("90,-80,1\n95,85,1\n");
        std::fs::write(&input, text).expect("written");
        let out = dir.join("scores.csv");
        let summary = score_file(
            &input,
            &out,
            Some("is_anomaly"),
            None,
            &DetectConfig::default(),
            Flag::Contamination(0.01),
        )
        .expect("scored");
        assert!(summary.contains("2 flagged"), "{summary}");
        assert!(
            summary.contains("precision 1.000, recall 1.000"),
            "{summary}"
        );
        let written = std::fs::read_to_string(&out).expect("the scores");
        let flagged: Vec<&str> = written
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(3) == Some("1"))
            .collect();
        assert_eq!(flagged.len(), 2);
        assert!(flagged[0].starts_with("200,") && flagged[1].starts_with("201,"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
