//! Isolation forest (Liu, Ting & Zhou, 2008), which smartcore does not have.
//!
//! Each tree isolates points of a subsample by random axis-parallel cuts; anomalies are isolated
//! in fewer cuts. The score of a point is `2^(-E[h(x)] / c(ψ))`, where `h` is the path length
//! (plus `c(size)` for the points left in a leaf) and `c(n)` is the average path length of an
//! unsuccessful search in a binary search tree of `n` points. Scores near 1 are anomalies, well
//! below 0.5 are normal, and about 0.5 everywhere means no distinct anomaly.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Average path length of an unsuccessful BST search among `n` points (the paper's `c(n)`).
pub fn c(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            // H(n-1) ≈ ln(n-1) + Euler–Mascheroni
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

enum Node {
    Leaf {
        size: usize,
    },
    Split {
        feature: usize,
        at: f64,
        left: Box<Node>,
        right: Box<Node>,
    },
}

/// A tree laid out flat, children after their parent: (feature, threshold, left, right) for a
/// split, or a leaf's path-length correction; walking it touches one array.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Flat {
    Leaf(f64),
    Split(u32, f64, u32, u32),
}

fn flatten(node: &Node, out: &mut Vec<Flat>) -> u32 {
    let at = out.len() as u32;
    match node {
        Node::Leaf { size } => out.push(Flat::Leaf(c(*size))),
        Node::Split {
            feature,
            at: threshold,
            left,
            right,
        } => {
            out.push(Flat::Leaf(0.0));
            let l = flatten(left, out);
            let r = flatten(right, out);
            out[at as usize] = Flat::Split(*feature as u32, *threshold, l, r);
        }
    }
    at
}

/// A fitted forest.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct IsolationForest {
    trees: Vec<Vec<Flat>>,
    sample_size: usize,
}

fn build(
    rows: &[&[f64]],
    idx: &mut [usize],
    depth: usize,
    limit: usize,
    rng: &mut ChaCha8Rng,
) -> Node {
    if depth >= limit || idx.len() <= 1 {
        return Node::Leaf { size: idx.len() };
    }
    let features = rows.first().map_or(0, |r| r.len());
    // pick a feature that varies in this node; give up after a few tries (all equal: a leaf)
    for _ in 0..features.max(1) * 2 {
        let f = rng.random_range(0..features.max(1));
        let (lo, hi) = idx
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                let v = rows[i][f];
                (lo.min(v), hi.max(v))
            });
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let at = rng.random_range(lo..hi);
        // partition in place: values < at to the left
        let mut split = 0;
        for k in 0..idx.len() {
            if rows[idx[k]][f] < at {
                idx.swap(k, split);
                split += 1;
            }
        }
        let (l, r) = idx.split_at_mut(split);
        return Node::Split {
            feature: f,
            at,
            left: Box::new(build(rows, l, depth + 1, limit, rng)),
            right: Box::new(build(rows, r, depth + 1, limit, rng)),
        };
    }
    Node::Leaf { size: idx.len() }
}

fn path_length(tree: &[Flat], x: &[f64]) -> f64 {
    let mut i = 0usize;
    let mut depth = 0.0;
    loop {
        match tree.get(i) {
            Some(Flat::Leaf(correction)) => return depth + correction,
            Some(Flat::Split(feature, at, l, r)) => {
                depth += 1.0;
                i = if x.get(*feature as usize).copied().unwrap_or(0.0) < *at {
                    *l as usize
                } else {
                    *r as usize
                };
            }
            None => return depth,
        }
    }
}

impl IsolationForest {
    /// Fits `trees` trees on subsamples of `sample_size` rows (256 in the paper).
    pub fn fit(rows: &[Vec<f64>], trees: usize, sample_size: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let psi = sample_size.min(rows.len()).max(1);
        let limit = (psi as f64).log2().ceil() as usize;
        let views: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let trees = (0..trees)
            .map(|_| {
                let mut idx = if rows.is_empty() {
                    Vec::new()
                } else {
                    sample(&mut rng, rows.len(), psi).into_vec()
                };
                let tree = build(&views, &mut idx, 0, limit, &mut rng);
                let mut flat = Vec::new();
                flatten(&tree, &mut flat);
                flat
            })
            .collect();
        Self {
            trees,
            sample_size: psi,
        }
    }

    /// The anomaly score of `x`, in (0, 1].
    pub fn score(&self, x: &[f64]) -> f64 {
        if self.trees.is_empty() {
            return 0.5;
        }
        let mean =
            self.trees.iter().map(|t| path_length(t, x)).sum::<f64>() / self.trees.len() as f64;
        let cn = c(self.sample_size);
        if cn == 0.0 {
            return 0.5;
        }
        2f64.powf(-mean / cn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn the_average_path_length_matches_the_papers_values() {
        // c(256) = 2 H(255) - 2*255/256, with H(255) = 6.1243...
        assert!((c(256) - 10.2448).abs() < 1e-3, "{}", c(256));
        assert_eq!(c(1), 0.0);
        assert_eq!(c(2), 1.0);
        // grows like 2 ln n
        assert!(c(1_000_000) > 26.0 && c(1_000_000) < 27.0);
    }

    #[test]
    fn a_far_point_scores_high_and_the_cluster_scores_low() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rows: Vec<Vec<f64>> = (0..1000)
            .map(|_| vec![normal.sample(&mut rng), normal.sample(&mut rng)])
            .collect();
        rows.push(vec![8.0, 8.0]);
        let forest = IsolationForest::fit(&rows, 100, 256, 7);
        let outlier = forest.score(&[8.0, 8.0]);
        let centre = forest.score(&[0.0, 0.0]);
        assert!(outlier > 0.7, "outlier {outlier}");
        assert!(centre < 0.5, "centre {centre}");
        // the outlier ranks first among all points
        let max_inlier = rows[..1000]
            .iter()
            .map(|r| forest.score(r))
            .fold(0.0, f64::max);
        assert!(outlier > max_inlier, "{outlier} vs {max_inlier}");
    }

    #[test]
    fn identical_points_give_no_anomaly_and_no_panic() {
        let rows = vec![vec![1.0, 1.0]; 50];
        let forest = IsolationForest::fit(&rows, 10, 256, 1);
        let s = forest.score(&[1.0, 1.0]);
        // every tree is one leaf of 50: h = c(50) = c(psi), so the score is exactly 0.5
        assert!((s - 0.5).abs() < 1e-9, "{s}");
        let empty = IsolationForest::fit(&[], 10, 256, 1);
        assert_eq!(empty.score(&[0.0]), 0.5);
    }
}
