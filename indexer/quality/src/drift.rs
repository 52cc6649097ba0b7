//! Drift of a version from its parent: schema changes, a jump in the row count, and a shift in
//! each shared column's distribution.
//!
//! The stated tests: numeric columns, the two-sample Kolmogorov–Smirnov test on the non-null
//! values (statistic D, the largest gap between the two empirical CDFs; p from the asymptotic
//! Kolmogorov distribution with Stephens' small-sample correction), flagged when p < `alpha`
//! **and** D ≥ `min_ks` (with millions of rows every shift is significant, so the size of the
//! shift must matter too); text columns with at most 50 distinct values on both sides, the
//! population stability index over the categories, flagged above `max_psi` (0.25 is the usual
//! "significant shift" line).

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::profile::numbers;
use crate::{checks, Discrepancy, QualityError};

/// When a difference from the parent is a discrepancy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftLimits {
    pub alpha: f64,
    pub min_ks: f64,
    pub max_psi: f64,
    /// The row count may grow or shrink by at most this factor.
    pub max_row_ratio: f64,
}

impl Default for DriftLimits {
    fn default() -> Self {
        DriftLimits {
            alpha: 0.01,
            min_ks: 0.1,
            max_psi: 0.25,
            max_row_ratio: 2.0,
        }
    }
}

/// The two-sample Kolmogorov–Smirnov statistic and its asymptotic p-value. Both samples must be
/// non-empty; NaNs are ignored.
pub fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    let sorted = |v: &[f64]| {
        let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return (0.0, 1.0);
    }
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < n && j < m {
        let x = a[i].min(b[j]);
        while i < n && a[i] <= x {
            i += 1;
        }
        while j < m && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    let ne = (n as f64 * m as f64) / (n + m) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * d;
    (d, kolmogorov_q(lambda))
}

/// Q(λ) = 2 Σ (−1)^(j−1) e^(−2 j² λ²): the probability of a gap at least this large.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let jf = j as f64;
        let term = (-2.0 * jf * jf * lambda * lambda).exp();
        sum += if j % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// The population stability index between two category counts.
pub fn psi(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> f64 {
    let (nb, na) = (
        before.values().sum::<u64>().max(1) as f64,
        after.values().sum::<u64>().max(1) as f64,
    );
    let eps = 1e-4;
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .map(|k| {
            let p = (*before.get(*k).unwrap_or(&0) as f64 / nb).max(eps);
            let q = (*after.get(*k).unwrap_or(&0) as f64 / na).max(eps);
            (q - p) * (q / p).ln()
        })
        .sum()
}

fn categories(c: &Column) -> Result<Option<BTreeMap<String, u64>>, QualityError> {
    if !c.dtype().is_string() {
        return Ok(None);
    }
    let s = c
        .as_materialized_series()
        .str()
        .map_err(|e| QualityError::compute(format!("categories of {:?}", c.name()), e))?;
    let mut counts = BTreeMap::new();
    for v in s.into_iter().flatten() {
        *counts.entry(v.to_string()).or_insert(0) += 1;
        if counts.len() > 50 {
            return Ok(None);
        }
    }
    Ok(Some(counts))
}

fn values(ca: &Float64Chunked) -> Vec<f64> {
    ca.into_iter().flatten().collect()
}

fn column(check: &'static str, name: &str, detail: String) -> Discrepancy {
    Discrepancy {
        check,
        column: Some(name.to_string()),
        count: None,
        detail,
    }
}

/// How `after` differs from `before` beyond `limits`.
pub fn check(
    before: &DataFrame,
    after: &DataFrame,
    limits: &DriftLimits,
) -> Result<Vec<Discrepancy>, QualityError> {
    let mut out = Vec::new();
    for b in before.columns() {
        let name = b.name().as_str();
        let Ok(a) = after.column(name) else {
            out.push(column(
                checks::DROPPED_COLUMN,
                name,
                format!(
                    "the parent has column {name:?} ({}), this version does not",
                    b.dtype()
                ),
            ));
            continue;
        };
        if a.dtype() != b.dtype() {
            out.push(column(
                checks::RETYPED_COLUMN,
                name,
                format!("{} in the parent, {} now", b.dtype(), a.dtype()),
            ));
            continue;
        }
        if let (Some(x), Some(y)) = (numbers(b)?, numbers(a)?) {
            let (x, y) = (values(&x), values(&y));
            if !x.is_empty() && !y.is_empty() {
                let (d, p) = ks(&x, &y);
                if p < limits.alpha && d >= limits.min_ks {
                    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
                    out.push(column(
                        checks::DISTRIBUTION_SHIFT,
                        name,
                        format!(
                            "two-sample Kolmogorov–Smirnov D = {d:.3}, p = {p:.2e} (limits: p < {}, D ≥ {}); mean {:.4} in the parent, {:.4} now",
                            limits.alpha,
                            limits.min_ks,
                            mean(&x),
                            mean(&y)
                        ),
                    ));
                }
            }
        } else if let (Some(x), Some(y)) = (categories(b)?, categories(a)?) {
            let index = psi(&x, &y);
            if index > limits.max_psi {
                out.push(column(
                    checks::DISTRIBUTION_SHIFT,
                    name,
                    format!(
                        "population stability index {index:.3} over {} categories (limit {})",
                        x.len().max(y.len()),
                        limits.max_psi
                    ),
                ));
            }
        }
    }
    for a in after.columns() {
        if before.column(a.name().as_str()).is_err() {
            out.push(column(
                checks::ADDED_COLUMN,
                a.name().as_str(),
                format!("new column ({}), not in the parent", a.dtype()),
            ));
        }
    }
    let (nb, na) = (before.height() as f64, after.height() as f64);
    if nb > 0.0 {
        let ratio = na / nb;
        if ratio > limits.max_row_ratio || ratio < 1.0 / limits.max_row_ratio {
            out.push(Discrepancy {
                check: checks::ROW_COUNT_JUMP,
                column: None,
                count: Some(after.height() as u64),
                detail: format!(
                    "{} rows against the parent's {} (×{ratio:.2}; limit ×{} either way)",
                    after.height(),
                    before.height(),
                    limits.max_row_ratio
                ),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic, roughly normal draws (sum of uniforms from an LCG).
    fn normal(n: usize, mean: f64, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| mean + (0..12).map(|_| next()).sum::<f64>() - 6.0)
            .collect()
    }

    #[test]
    fn a_shifted_distribution_is_flagged_and_a_fresh_draw_of_the_same_one_is_not() {
        let limits = DriftLimits::default();
        let before =
            df!("x" => normal(2_000, 0.0, 1), "id" => (0..2_000i64).collect::<Vec<_>>()).unwrap();
        let same =
            df!("x" => normal(2_000, 0.0, 2), "id" => (0..2_000i64).collect::<Vec<_>>()).unwrap();
        let shifted =
            df!("x" => normal(2_000, 0.5, 3), "id" => (0..2_000i64).collect::<Vec<_>>()).unwrap();
        assert_eq!(check(&before, &same, &limits).unwrap(), vec![]);
        let got = check(&before, &shifted, &limits).unwrap();
        let checks: Vec<_> = got.iter().map(|d| (d.check, d.column.as_deref())).collect();
        assert_eq!(checks, vec![("distribution_shift", Some("x"))], "{got:?}");
    }

    #[test]
    fn schema_changes_and_row_count_jumps_are_named() {
        let before = df!("a" => [1i64, 2], "b" => [1.0f64, 2.0], "c" => ["x", "y"]).unwrap();
        let after = df!("a" => ["1", "2", "3", "4", "5"], "c" => ["x", "y", "x", "y", "x"], "d" => [1i64, 2, 3, 4, 5]).unwrap();
        let got = check(&before, &after, &DriftLimits::default()).unwrap();
        let checks: Vec<_> = got.iter().map(|d| (d.check, d.column.as_deref())).collect();
        assert_eq!(
            checks,
            vec![
                ("retyped_column", Some("a")),
                ("dropped_column", Some("b")),
                ("added_column", Some("d")),
                ("row_count_jump", None),
            ]
        );
    }

    #[test]
    fn a_category_mix_that_changes_is_flagged_by_its_stability_index() {
        let before = df!("city" => ["Oslo", "Lyon"].repeat(200)).unwrap();
        let mut mix = vec!["Oslo"; 360];
        mix.extend(["Lyon"; 40]);
        let after = df!("city" => mix).unwrap();
        let got = check(&before, &after, &DriftLimits::default()).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].detail.contains("population stability index"));
        assert_eq!(
            check(&before, &before, &DriftLimits::default()).unwrap(),
            vec![]
        );
    }

    proptest! {
        #[test]
        fn ks_is_symmetric_bounded_and_zero_against_itself(
            a in prop::collection::vec(-1e6f64..1e6, 1..200),
            b in prop::collection::vec(-1e6f64..1e6, 1..200),
        ) {
            let (d, p) = ks(&a, &b);
            let (d2, p2) = ks(&b, &a);
            prop_assert!((d - d2).abs() < 1e-12 && (p - p2).abs() < 1e-12);
            prop_assert!((0.0..=1.0).contains(&d) && (0.0..=1.0).contains(&p));
            let (d0, p0) = ks(&a, &a);
            prop_assert_eq!(d0, 0.0);
            prop_assert_eq!(p0, 1.0);
        }
    }
}
