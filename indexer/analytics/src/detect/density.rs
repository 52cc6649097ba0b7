//! The density view: how rare each of a row's values is among the fitted rows, feature by
//! feature (a histogram-based outlier score, as HBOS: Goldstein & Dengel, 2012).
//!
//! Each feature gets [`BINS`] bins of equal width over the range of its fitted values; a
//! value's surprise is `-ln p` of its bin, with one pseudo-count per bin (so an empty bin and a
//! value outside the fitted range are the rarest, not infinite). A row's view is the sum of its
//! features' surprises. It needs no scale (a histogram of any unit is the same histogram), so
//! a sparse column's rare values count for what they are: rare.

use super::{Direction, Feature};

/// Bins per feature (HBOS's static histogram, as PyOD's default).
pub const BINS: usize = 10;

/// One feature's histogram.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Histogram {
    lo: f64,
    width: f64,
    /// `-ln p` per bin
    surprise: Vec<f64>,
    /// `-ln p` of a value outside the fitted range (an empty bin's)
    outside: f64,
    /// the median: a missing value counts as it, and for a feature where only high values are
    /// suspicious, so does any value below it
    med: f64,
    high_only: bool,
}

impl Histogram {
    fn fit(values: &[f64], feature: &Feature) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        // a constant (or empty) column says nothing about any row
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let width = (hi - lo) / BINS as f64;
        let mut counts = [0usize; BINS];
        for &x in &v {
            counts[bin(x, lo, width)] += 1;
        }
        let total = (v.len() + BINS) as f64;
        let surprise = counts
            .iter()
            .map(|&c| -((c + 1) as f64 / total).ln())
            .collect();
        let mid = v.len() / 2;
        let med = *v.select_nth_unstable_by(mid, f64::total_cmp).1;
        Some(Self {
            lo,
            width,
            surprise,
            outside: -(1.0 / total).ln(),
            med,
            high_only: feature.direction == Direction::High,
        })
    }

    fn surprise(&self, x: f64) -> f64 {
        let x = if !x.is_finite() || (self.high_only && x < self.med) {
            self.med
        } else {
            x
        };
        let hi = self.lo + self.width * BINS as f64;
        if x < self.lo || x > hi {
            return self.outside;
        }
        self.surprise
            .get(bin(x, self.lo, self.width))
            .copied()
            .unwrap_or(self.outside)
    }
}

/// The bin of `x` (within the fitted range; the top edge belongs to the last bin).
fn bin(x: f64, lo: f64, width: f64) -> usize {
    (((x - lo) / width).floor().max(0.0) as usize).min(BINS - 1)
}

/// A histogram per feature (None for a constant one).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Density {
    columns: Vec<Option<Histogram>>,
}

impl Density {
    /// Fitted on `rows` (raw values, all of the features' width).
    pub fn fit(rows: &[Vec<f64>], features: &[Feature]) -> Self {
        let columns = features
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let col: Vec<f64> = rows.iter().filter_map(|r| r.get(j).copied()).collect();
                Histogram::fit(&col, f)
            })
            .collect();
        Self { columns }
    }

    /// The sum of the row's values' surprises (raw values, in column order).
    pub fn score(&self, row: &[f64]) -> f64 {
        self.columns
            .iter()
            .zip(row)
            .filter_map(|(h, &x)| h.as_ref().map(|h| h.surprise(x)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(rows: &[Vec<f64>], features: &[Feature]) -> Density {
        Density::fit(rows, features)
    }

    #[test]
    fn a_rare_value_is_more_surprising_than_a_common_one_and_an_unseen_one_most() {
        let f = [Feature::generic("a")];
        // 0 in 90 rows, 10 in 10 rows: the range 0..10 in ten bins
        let rows: Vec<Vec<f64>> = (0..100)
            .map(|i| vec![if i < 90 { 0.0 } else { 10.0 }])
            .collect();
        let d = fit(&rows, &f);
        let (common, rare, empty, outside) = (
            d.score(&[0.0]),
            d.score(&[10.0]),
            d.score(&[5.0]),
            d.score(&[-3.0]),
        );
        assert!(common < rare && rare < empty, "{common} {rare} {empty}");
        assert_eq!(
            empty, outside,
            "an empty bin and the unseen are equally rare"
        );
        assert!((common - -(91.0f64 / 110.0).ln()).abs() < 1e-12, "{common}");
        assert!(outside.is_finite());
    }

    #[test]
    fn a_high_only_feature_finds_nothing_rare_below_its_median_and_a_constant_one_nothing() {
        let f = [
            Feature {
                direction: Direction::High,
                ..Feature::generic("refused")
            },
            Feature::generic("constant"),
        ];
        let rows: Vec<Vec<f64>> = (0..200).map(|i| vec![(i % 7) as f64, 4.0]).collect();
        let d = fit(&rows, &f);
        let typical = d.score(&[3.0, 4.0]);
        assert_eq!(d.score(&[-50.0, 4.0]), typical, "low is not suspicious");
        assert!(d.score(&[60.0, 4.0]) > typical, "high is");
        assert_eq!(
            d.score(&[3.0, 1e9]),
            typical,
            "a constant column says nothing"
        );
        assert_eq!(
            d.score(&[f64::NAN, 4.0]),
            typical,
            "a missing value counts as the median"
        );
    }

    #[test]
    fn the_view_does_not_depend_on_a_features_unit() {
        let f = [Feature::generic("a"), Feature::generic("b")];
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| vec![(i * 37 % 101) as f64, ((i * 13) % 17) as f64])
            .collect();
        let metres = fit(&rows, &f);
        let scaled: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[0] * 1000.0, r[1]]).collect();
        let millimetres = fit(&scaled, &f);
        for (r, s) in rows.iter().zip(&scaled) {
            assert!((metres.score(r) - millimetres.score(s)).abs() < 1e-9);
        }
    }
}
