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

/// A fitted forest: its trees as stored, and (built on first use) as walked.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct IsolationForest {
    trees: Vec<Vec<Flat>>,
    sample_size: usize,
    #[serde(skip)]
    walk: std::sync::OnceLock<Vec<Walk>>,
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

/// A node of a tree as it is walked: a row goes to `left` if `x[feature] < at` and to
/// `left + 1` otherwise (children side by side; a NaN goes left). A leaf points to itself
/// (`at` is NaN, which no value reaches, +inf included), so every row can take the same
/// number of steps, the tree's height, with no
/// branch: where it ends is a leaf, and [`Walk::value`] holds that leaf's depth plus its
/// path-length correction.
#[derive(Clone, Copy)]
struct Node16 {
    feature: u32,
    left: u32,
    at: f64,
}

/// A stored tree laid out for walking.
struct Walk {
    nodes: Vec<Node16>,
    /// per node: a leaf's path length (its depth + the correction); 0 for a split
    value: Vec<f64>,
    height: usize,
}

impl Walk {
    /// Breadth first, each split's children side by side.
    fn new(tree: &[Flat]) -> Self {
        let leaf = |at: usize| Node16 {
            feature: 0,
            left: at as u32,
            at: f64::NAN,
        };
        let mut nodes = vec![leaf(0)];
        let mut value = vec![0.0];
        let mut height = 0;
        // (stored index, walked index, depth)
        let mut queue = std::collections::VecDeque::from([(0usize, 0usize, 0usize)]);
        while let Some((from, to, depth)) = queue.pop_front() {
            match tree.get(from) {
                Some(Flat::Split(feature, at, l, r)) => {
                    let left = nodes.len();
                    nodes.extend([leaf(left), leaf(left + 1)]);
                    value.extend([0.0, 0.0]);
                    nodes[to] = Node16 {
                        feature: *feature,
                        left: left as u32,
                        at: *at,
                    };
                    queue.push_back((*l as usize, left, depth + 1));
                    queue.push_back((*r as usize, left + 1, depth + 1));
                    height = height.max(depth + 1);
                }
                Some(Flat::Leaf(correction)) => value[to] = depth as f64 + correction,
                None => value[to] = depth as f64,
            }
        }
        Self {
            nodes,
            value,
            height,
        }
    }

    /// The path lengths of up to [`BATCH`] rows, walked side by side (their memory loads
    /// overlap instead of waiting on each other).
    fn lengths(&self, xs: &[&[f64]]) -> [f64; BATCH] {
        let mut at = [0usize; BATCH];
        let lanes = xs.len().min(BATCH);
        for _ in 0..self.height {
            for (lane, x) in at.iter_mut().zip(xs).take(lanes) {
                let node = self.nodes.get(*lane).copied().unwrap_or(Node16 {
                    feature: 0,
                    left: 0,
                    at: f64::NAN,
                });
                let v = x.get(node.feature as usize).copied().unwrap_or(0.0);
                *lane = node.left as usize + usize::from(v >= node.at);
            }
        }
        let mut out = [0.0; BATCH];
        for (o, a) in out.iter_mut().zip(at).take(lanes) {
            *o = self.value.get(a).copied().unwrap_or(0.0);
        }
        out
    }
}

/// Rows walked through a tree side by side.
const BATCH: usize = 8;

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
            walk: std::sync::OnceLock::new(),
        }
    }

    /// The anomaly scores of many rows, each as [`IsolationForest::score`] gives it (to the
    /// bit).
    pub fn score_batch(&self, xs: &[&[f64]]) -> Vec<f64> {
        if self.trees.is_empty() {
            return vec![0.5; xs.len()];
        }
        let walk = self
            .walk
            .get_or_init(|| self.trees.iter().map(|t| Walk::new(t)).collect());
        let cn = c(self.sample_size);
        let mut out = Vec::with_capacity(xs.len());
        for group in xs.chunks(BATCH) {
            let mut sums = [0.0; BATCH];
            for tree in walk {
                for (s, l) in sums.iter_mut().zip(tree.lengths(group)) {
                    *s += l;
                }
            }
            out.extend(sums.iter().take(group.len()).map(|sum| {
                if cn == 0.0 {
                    0.5
                } else {
                    2f64.powf(-(sum / walk.len() as f64) / cn)
                }
            }));
        }
        out
    }

    /// The anomaly score of `x`, in (0, 1].
    pub fn score(&self, x: &[f64]) -> f64 {
        self.score_batch(&[x])[0]
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

    /// The score by walking the stored trees node by node (as the forest was first scored).
    fn walked_one_by_one(forest: &IsolationForest, x: &[f64]) -> f64 {
        let mean = forest
            .trees
            .iter()
            .map(|tree| {
                let (mut i, mut depth) = (0usize, 0.0);
                loop {
                    match tree[i] {
                        Flat::Leaf(correction) => break depth + correction,
                        Flat::Split(feature, at, l, r) => {
                            depth += 1.0;
                            let v = x.get(feature as usize).copied().unwrap_or(0.0);
                            i = if v >= at { r } else { l } as usize;
                        }
                    }
                }
            })
            .sum::<f64>()
            / forest.trees.len() as f64;
        2f64.powf(-mean / c(forest.sample_size))
    }

    #[test]
    fn the_side_by_side_walk_gives_each_row_the_stored_trees_score_to_the_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let rows: Vec<Vec<f64>> = (0..203)
            .map(|_| (0..4).map(|_| normal.sample(&mut rng)).collect())
            .collect();
        let forest = IsolationForest::fit(&rows, 50, 64, 9);
        let mut queries = rows.clone();
        // a NaN, infinities, a short row, and rows far outside
        queries.push(vec![f64::NAN, 1.0, 2.0, 3.0]);
        queries.push(vec![f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, 0.0]);
        queries.push(vec![1.0]);
        queries.push(vec![40.0, -40.0, 40.0, -40.0]);
        let views: Vec<&[f64]> = queries.iter().map(Vec::as_slice).collect();
        let batch = forest.score_batch(&views);
        assert_eq!(batch.len(), queries.len());
        for (q, b) in queries.iter().zip(&batch) {
            assert_eq!(
                walked_one_by_one(&forest, q).to_bits(),
                b.to_bits(),
                "{q:?}"
            );
            assert_eq!(forest.score(q).to_bits(), b.to_bits(), "{q:?}");
        }
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
