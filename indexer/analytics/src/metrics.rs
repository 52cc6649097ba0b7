//! Ranking measures of scores against labels, shared by `datapact detect`, the evaluation and
//! the benchmarks.

/// Average precision of `pos` against `neg` scores (ties broken against the positives).
pub fn average_precision(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|s| (*s, true))
        .chain(neg.iter().map(|s| (*s, false)))
        .collect();
    // highest first; at equal scores negatives first (pessimistic)
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let (mut tp, mut ap) = (0.0, 0.0);
    for (i, (_, is_pos)) in all.iter().enumerate() {
        if *is_pos {
            tp += 1.0;
            ap += tp / (i + 1) as f64;
        }
    }
    ap / pos.len() as f64
}

/// Recall at the threshold that lets `fpr` of the negatives through.
pub fn recall_at_fpr(pos: &[f64], neg: &[f64], fpr: f64) -> f64 {
    if pos.is_empty() {
        return f64::NAN;
    }
    let mut n: Vec<f64> = neg.to_vec();
    n.sort_by(|a, b| b.total_cmp(a));
    let allowed = (n.len() as f64 * fpr).floor() as usize;
    // scores strictly above the (allowed+1)-th highest negative pass
    let threshold = n.get(allowed).copied().unwrap_or(f64::NEG_INFINITY);
    pos.iter().filter(|s| **s > threshold).count() as f64 / pos.len() as f64
}

/// ROC AUC of `low` scoring below `high`: the share of (low, high) pairs ordered right
/// (ties count half).
pub fn auc(low: &[f64], high: &[f64]) -> f64 {
    if low.is_empty() || high.is_empty() {
        return f64::NAN;
    }
    let mut right = 0.0;
    for l in low {
        for h in high {
            right += if l < h {
                1.0
            } else if l == h {
                0.5
            } else {
                0.0
            };
        }
    }
    right / (low.len() * high.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_matches_hand_computed_values() {
        assert_eq!(average_precision(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        // ranking: pos 0.9, neg 0.8, pos 0.7 -> (1/1 + 2/3) / 2
        let ap = average_precision(&[0.9, 0.7], &[0.8]);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{ap}");
        // a tie goes against the positive
        assert_eq!(average_precision(&[0.5], &[0.5]), 0.5);
        assert!(average_precision(&[], &[0.1]).is_nan());
    }

    #[test]
    fn recall_at_five_percent_fpr_uses_the_twentieth_highest_negative_of_four_hundred() {
        let neg: Vec<f64> = (0..400).map(|i| i as f64 / 400.0).collect();
        // 5% of 400 = 20 negatives may pass: the threshold is the 21st highest, 379/400 = 0.9475
        let pos = [0.99, 0.95, 0.9, 0.5];
        let r = recall_at_fpr(&pos, &neg, 0.05);
        assert_eq!(r, 0.5, "0.99 and 0.95 pass 0.9475; 0.9 and 0.5 do not");
    }

    #[test]
    fn auc_counts_ordered_pairs() {
        assert_eq!(auc(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        assert_eq!(auc(&[3.0], &[1.0]), 0.0);
        assert_eq!(auc(&[1.0], &[1.0]), 0.5);
        assert!(auc(&[], &[1.0]).is_nan());
    }
}
