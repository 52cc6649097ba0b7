//! Robust scaling: a column's centre and spread measured so that its own outliers do not set
//! them, and the spread of a learned view over the fitted rows.

/// Rows a tail quantile keeps beyond it, at least: in a small table the top percent is one or
/// two rows, and those may be the very anomalies the spread must not be measured by.
const TAIL_ROWS: usize = 3;

/// Positions of the 1st and 99th percentiles in `n` sorted values, each with at least
/// [`TAIL_ROWS`] values beyond it (so both are the median's neighbourhood in a tiny table).
fn tail_positions(n: usize) -> (usize, usize) {
    let last = n.saturating_sub(1);
    let hi = ((last as f64 * 0.99).round() as usize).min(last.saturating_sub(TAIL_ROWS));
    let lo = ((last as f64 * 0.01).round() as usize)
        .max(TAIL_ROWS)
        .min(hi);
    (lo, hi)
}

/// Median and spread of a column: the larger of 1.4826·MAD and a sixth of the 1st-99th
/// percentile range (so a heavy-tailed column's ordinary top percent stays within about 3),
/// else 1.2533·mean absolute deviation, else the standard deviation; never below `floor`.
pub fn robust_center_scale(values: &[f64], floor: f64) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, floor.max(1e-12));
    }
    v.sort_by(f64::total_cmp);
    let (lo, hi) = tail_positions(v.len());
    let (q01, q99) = (v[lo], v[hi]);
    let med = median_in_place(&mut v.clone());
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    let mad = 1.4826 * median_in_place(&mut dev);
    let tails = (q99 - q01) / 6.0;
    let mean_abs = 1.2533 * dev.iter().sum::<f64>() / dev.len() as f64;
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    let scale = [mad.max(tails), mean_abs, std]
        .into_iter()
        .find(|s| *s > 1e-12)
        .unwrap_or(0.0);
    (med, scale.max(floor).max(1e-12))
}

/// Median and range of a column for measuring distances: its 1st-99th percentile range (each
/// tail keeping [`TAIL_ROWS`] rows beyond), else its whole range, else 1. Every feature then
/// spans about one unit, a sparse one included: a distance is not dominated by the column
/// whose usual value is constant and whose MAD is therefore tiny.
pub fn range_center_scale(values: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let (lo, hi) = tail_positions(v.len());
    let med = median_in_place(&mut v.clone());
    let range = [v[hi] - v[lo], v[v.len() - 1] - v[0]]
        .into_iter()
        .find(|r| *r > 1e-12)
        .unwrap_or(1.0);
    (med, range)
}

fn median_in_place(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if v.len() % 2 == 0 {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + m) / 2.0
    } else {
        m
    }
}

/// The spread of a view (isolation score, kNN distance, PCA error) over the fitted rows.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct ViewScale {
    pub med: f64,
    pub scale: f64,
}

impl ViewScale {
    /// A view taken as it is (a view that is not fitted).
    pub const IDENTITY: Self = Self {
        med: 0.0,
        scale: 1.0,
    };

    /// Median, and a spread that puts the 99th percentile at 3: the learned views have heavy
    /// tails, and a MAD alone would turn their ordinary top percent into alarms.
    pub fn fit(values: &[f64]) -> Self {
        let (med, mad) = robust_center_scale(values, 1e-12);
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let q99: f64 = <[f64]>::get(&v, tail_positions(v.len()).1)
            .copied()
            .unwrap_or(med);
        Self {
            med,
            scale: ((q99 - med) / 3.0).max(mad).max(1e-9),
        }
    }
    pub fn z(&self, v: f64) -> f64 {
        ((v - self.med) / self.scale).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_outliers_in_a_small_table_do_not_set_its_spread() {
        // 96 windows: 70 ordinary, 24 busy, and a burst that fills two: 2% of the rows, so a
        // plain 99th percentile would be the burst itself and put it at z = 6
        let mut v = vec![48.0; 70];
        v.extend([96.0; 24]);
        v.extend([480.0; 2]);
        let (m, s) = robust_center_scale(&v, 0.0);
        assert_eq!(m, 48.0);
        let z = (480.0 - m) / s;
        assert!(z > 20.0, "z = {z}");
        assert_eq!(
            tail_positions(1000),
            (10, 989),
            "a large table keeps its percentiles"
        );
        assert_eq!(tail_positions(3), (0, 0));
    }

    #[test]
    fn a_distance_range_is_the_percentile_range_else_the_whole_range_else_one() {
        let v: Vec<f64> = (0..=1000).map(f64::from).collect();
        assert_eq!(range_center_scale(&v), (500.0, 980.0));
        // 995 zeros and 5 sixteens: the percentiles meet at 0, the whole range is 16
        let mut v = vec![0.0; 995];
        v.extend([16.0; 5]);
        assert_eq!(range_center_scale(&v), (0.0, 16.0));
        assert_eq!(range_center_scale(&[3.0; 10]), (3.0, 1.0));
        assert_eq!(range_center_scale(&[f64::NAN]), (0.0, 1.0));
    }

    #[test]
    fn the_spread_falls_back_when_most_values_are_equal_and_never_drops_below_its_floor() {
        // 1..=100: the MAD (25, times 1.4826) is wider than the tails' sixth
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let (m, s) = robust_center_scale(&v, 0.0);
        assert_eq!(m, 50.5);
        assert!((s - 1.4826 * 25.0).abs() < 1e-9, "{s}");
        // 95 zeros and 5 ones: MAD is 0, the 1st-99th percentile range is 1
        let mut v = vec![0.0; 95];
        v.extend([1.0; 5]);
        let (m, s) = robust_center_scale(&v, 0.0);
        assert_eq!(m, 0.0);
        assert!((s - 1.0 / 6.0).abs() < 1e-9, "{s}");
        let (_, s) = robust_center_scale(&v, 0.5);
        assert_eq!(s, 0.5, "the floor wins");
        let (_, s) = robust_center_scale(&[7.0; 10], 0.0);
        assert!(s > 0.0, "a constant column still has a positive scale");
        // 99 of 100 equal: only the mean absolute deviation sees the one that is not
        let mut v = vec![1.0; 99];
        v.push(1000.0);
        let (_, s) = robust_center_scale(&v, 0.0);
        assert!((s - 1.2533 * 999.0 / 100.0).abs() < 1e-9, "{s}");
    }
}
