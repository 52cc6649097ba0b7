//! The benchmarks' summaries of their samples, written once.

/// The value at quantile `q` of `v` by the nearest rank (rounded); NaN when empty.
pub fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// The arithmetic mean of `v`; 0 when it is empty.
pub fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = v
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_nothing_is_zero() {
        assert_eq!(mean([1.0, 2.0, 6.0]), 3.0);
        assert_eq!(mean(Vec::new()), 0.0);
    }

    #[test]
    fn the_quantile_is_the_nearest_rank() {
        let v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(v.clone(), 0.5), 3.0);
        assert_eq!(quantile(v.clone(), 0.95), 5.0);
        assert_eq!(quantile(v, 0.0), 1.0);
        assert!(quantile(Vec::new(), 0.5).is_nan());
    }
}
