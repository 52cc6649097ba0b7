//! Exact k nearest neighbours among the detector's reference rows.
//!
//! A few thousand reference rows of a dozen or so robust-scaled features are a few hundred KiB:
//! they stay in cache. The rows are kept in the order of their projection on the rows' main
//! axis (their first principal direction, by power iteration), in blocks of [`LANES`] rows
//! stored feature by feature, so the distances to a whole block are computed at once without a
//! branch (the compiler turns the loop over a block's lanes into vector instructions). A query
//! takes the blocks outwards from its own projection and stops once the gap along the axis
//! alone exceeds its k-th nearest distance: no row further along can be nearer, since a
//! projection on a unit vector never exceeds the distance. smartcore's cover tree, used before,
//! spent most of the scoring time allocating and walking nodes. A distance is summed feature by
//! feature in column order, as before, so the neighbours and their mean distance are the same.

/// Rows per block.
const LANES: usize = 8;

/// The reference rows in blocks of [`LANES`], in the order of their projection on `axis`.
pub(super) struct Neighbours {
    dim: usize,
    /// block b's feature j is `blocks[b * dim + j]`, one value per row of the block; a last
    /// block that is not full is padded with rows at infinity (never anyone's neighbour)
    blocks: Vec<[f64; LANES]>,
    /// each block's lowest and highest projection
    spans: Vec<(f64, f64)>,
    axis: Vec<f64>,
}

/// Slack on the stopping rule, for the rounding of the projections.
const SLACK: f64 = 1e-9;

impl Neighbours {
    /// None when there are too few rows for `k` neighbours (and a row's own match), or the rows
    /// are of different widths.
    pub fn new(refs: &[Vec<f64>], k: usize) -> Option<Self> {
        let dim = refs.first().map_or(0, Vec::len);
        if refs.len() <= k + 1 || dim == 0 || refs.iter().any(|r| r.len() != dim) {
            return None;
        }
        let axis = main_axis(refs, dim);
        let mut order: Vec<(f64, usize)> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| (dot(&axis, r), i))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut blocks = Vec::with_capacity(order.len().div_ceil(LANES) * dim);
        let mut spans = Vec::with_capacity(order.len().div_ceil(LANES));
        for chunk in order.chunks(LANES) {
            let mut block = vec![[f64::INFINITY; LANES]; dim];
            for (lane, &(_, i)) in chunk.iter().enumerate() {
                for (column, v) in block.iter_mut().zip(&refs[i]) {
                    column[lane] = *v;
                }
            }
            blocks.extend(block);
            let lo = chunk.first().map_or(0.0, |c| c.0);
            let hi = chunk.last().map_or(0.0, |c| c.0);
            spans.push((lo, hi));
        }
        Some(Self {
            dim,
            blocks,
            spans,
            axis,
        })
    }

    /// The distances to the `k` nearest reference rows, nearest first, into `best` (cleared).
    /// A query of another width than the rows, or with a value that is not finite, finds
    /// nothing.
    pub fn nearest(&self, x: &[f64], k: usize, best: &mut Vec<f64>) {
        best.clear();
        if x.len() != self.dim || k == 0 || x.iter().any(|v| !v.is_finite()) {
            return;
        }
        let p = dot(&self.axis, x);
        // the first block whose highest projection reaches p; blocks below go down from it
        let start = self.spans.partition_point(|s| s.1 < p);
        let (mut down, mut up) = (start, start);
        loop {
            let gap_down = down.checked_sub(1).map(|b| p - self.spans[b].1);
            let gap_up = self.spans.get(up).map(|s| (s.0 - p).max(0.0));
            let (b, gap) = match (gap_down, gap_up) {
                (Some(d), Some(u)) if d < u => (down - 1, d),
                (_, Some(u)) => (up, u),
                (Some(d), None) => (down - 1, d),
                (None, None) => break,
            };
            // squared distances are kept: the k-th bounds every row further along the axis
            if best.len() == k && gap * gap > best[k - 1] * (1.0 + SLACK) + SLACK {
                break;
            }
            if b < start {
                down -= 1;
            } else {
                up += 1;
            }
            let mut sums = [0.0; LANES];
            for (lanes, v) in self.blocks[b * self.dim..(b + 1) * self.dim].iter().zip(x) {
                for (sum, r) in sums.iter_mut().zip(lanes) {
                    *sum += (v - r) * (v - r);
                }
            }
            for sum in sums {
                offer(sum, k, best);
            }
        }
        for d in best.iter_mut() {
            *d = d.sqrt();
        }
    }
}

/// Puts a squared distance among the `k` best (sorted) if it belongs there.
fn offer(sum: f64, k: usize, best: &mut Vec<f64>) {
    if best.len() == k && sum >= best[k - 1] || sum.is_nan() || sum == f64::INFINITY {
        return;
    }
    let at = best.partition_point(|d| *d <= sum);
    if best.len() == k {
        best.pop();
    }
    best.insert(at, sum);
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The rows' first principal direction (unit length), by power iteration on their covariance
/// from a fixed start: deterministic. Any unit vector keeps the search exact; this one makes
/// the projections spread the most, so the walk stops soonest.
fn main_axis(rows: &[Vec<f64>], dim: usize) -> Vec<f64> {
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..dim)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0.0; dim * dim];
    for r in rows {
        for a in 0..dim {
            let da = r[a] - mean[a];
            for b in 0..dim {
                cov[a * dim + b] += da * (r[b] - mean[b]);
            }
        }
    }
    let unit = |v: Vec<f64>| {
        let norm = dot(&v, &v).sqrt();
        (norm > 1e-12 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect::<Vec<f64>>())
    };
    // a fixed start with no symmetry a covariance is likely to share
    let start: Vec<f64> = (0..dim).map(|j| 1.0 + j as f64 / dim as f64).collect();
    let Some(first) = unit(start) else {
        return vec![0.0; dim];
    };
    let mut v = first.clone();
    for _ in 0..50 {
        let next: Vec<f64> = (0..dim)
            .map(|a| dot(&cov[a * dim..(a + 1) * dim], &v))
            .collect();
        match unit(next) {
            Some(u) => v = u,
            None => return first,
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(refs: &[Vec<f64>], x: &[f64], k: usize) -> Vec<f64> {
        let mut d: Vec<f64> = refs
            .iter()
            .map(|r| {
                r.iter()
                    .zip(x)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        d.sort_by(f64::total_cmp);
        d.truncate(k);
        d
    }

    proptest! {
        #[test]
        fn the_scan_finds_exactly_the_k_nearest_distances(
            refs in proptest::collection::vec(proptest::collection::vec(-20.0f64..20.0, 7), 12..80),
            x in proptest::collection::vec(-25.0f64..25.0, 7),
            k in 1usize..10,
        ) {
            let n = Neighbours::new(&refs, k).expect("enough rows");
            let mut got = Vec::new();
            n.nearest(&x, k, &mut got);
            let want = brute(&refs, &x, k);
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() < 1e-9, "{:?} vs {:?}", got, want);
            }
        }
    }

    #[test]
    fn too_few_rows_or_a_query_of_another_width_find_nothing() {
        let refs = vec![vec![0.0, 1.0]; 5];
        assert!(Neighbours::new(&refs, 4).is_none(), "k + 1 rows are needed");
        let n = Neighbours::new(&refs, 3).expect("enough rows");
        let mut got = vec![9.0];
        n.nearest(&[0.0, 1.0, 2.0], 3, &mut got);
        assert!(got.is_empty());
        n.nearest(&[0.0, 1.0], 3, &mut got);
        assert_eq!(got, vec![0.0; 3], "a query on the rows meets them at 0");
    }

    #[test]
    fn the_walk_along_the_main_axis_stops_early_and_still_finds_the_nearest() {
        // a long cloud: the main axis is (1, 1)/sqrt 2
        let refs: Vec<Vec<f64>> = (0..1000)
            .map(|i| {
                let t = f64::from(i) / 10.0;
                vec![t, t + if i % 2 == 0 { 0.3 } else { -0.3 }]
            })
            .collect();
        let n = Neighbours::new(&refs, 5).expect("enough rows");
        let axis = main_axis(&refs, 2);
        assert!((axis[0] - axis[1]).abs() < 1e-3, "{axis:?}");
        let x = [50.0, 50.0];
        let mut got = Vec::new();
        n.nearest(&x, 5, &mut got);
        let want = brute(&refs, &x, 5);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
        }
    }
}
