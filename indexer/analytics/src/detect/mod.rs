//! The detector core: any numeric feature table in, a 0-1 anomaly score per row and the
//! features that explain it out. Used on datapact's actor windows and, through
//! `datapact detect`, on any CSV or Parquet table (public anomaly benchmarks among them).
//!
//! Five views of "unlike the others", combined:
//! - robust statistics: each feature's deviation from its median in units of its spread
//!   (MAD, with fallbacks and a per-feature floor so a feature that is nearly always zero does
//!   not turn its first 1 into a catastrophe);
//! - an isolation forest ([`crate::iforest`]) on the robust-scaled table;
//! - the distance to the k nearest neighbours among a reference sample (`knn.rs`, an exact
//!   scan), in the robust-scaled table or with every feature spanning one unit;
//! - the reconstruction error after smartcore's PCA (a row that breaks the features' usual
//!   correlations);
//! - the rarity of each of the row's values in a histogram of its feature (`density.rs`).
//!
//! Each learned view's raw value is turned into robust z units against its own distribution
//! over the reference rows, the views are blended, and the blend is mapped to (0, 1) by
//! `1 - exp(-s / SCALE)`: an absolute scale, so a table without anomalies gets no high scores.
//!
//! Two blends are named: [`DetectConfig::windows`], the one `datapact analyze` fits on actors'
//! windows (whose features are counts chosen for the domain, so the feature view leads), and
//! [`DetectConfig::default`], the one for a table the detector knows nothing about
//! (`datapact detect`): density, isolation and distance in equal parts.

use rand::seq::index::sample;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::iforest::IsolationForest;

mod density;
mod knn;
mod legacy;
mod pca;
mod scale;
mod table;
use density::Density;
use knn::Neighbours;
use pca::Pca;
use scale::ViewScale;
pub use scale::{range_center_scale, robust_center_scale};
pub use table::{read_table, score_file, Flag, Measured, Table};

/// Which deviations of a feature are suspicious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// only values above the typical (counts of risky things)
    High,
    /// both ways (a generic table)
    Both,
}

/// How the detector sees one feature.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Feature {
    pub name: String,
    pub direction: Direction,
    /// smallest spread the feature is scaled by (its "unit of surprise")
    pub floor: f64,
    /// how much a deviation of this feature counts in the feature view (1: fully)
    pub weight: f64,
}

impl Feature {
    pub fn generic(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            direction: Direction::Both,
            floor: 1e-9,
            weight: 1.0,
        }
    }
}

/// Where the kNN view measures distances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Distance {
    /// among the rows as the forest sees them (robust z units, clipped)
    #[default]
    Scaled,
    /// with each feature divided by its 1st-99th percentile range ([`range_center_scale`])
    Ranges,
}

/// A detector's settings. Settings stored before a field existed read as the blend they were
/// (`serde(default)`: no density view, distances in robust units, kNN gated).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectConfig {
    pub trees: usize,
    pub sample_size: usize,
    pub k: usize,
    /// rows the kNN search looks among (a random sample of the table)
    pub reference: usize,
    pub seed: u64,
    /// weights of (features, isolation forest, kNN, PCA)
    pub weights: [f64; 4],
    /// weight of the density view
    #[serde(default)]
    pub density: f64,
    #[serde(default)]
    pub distance: Distance,
    /// search neighbours for every row; otherwise only for rows whose other views could
    /// take the score past the report threshold (faster; their kNN view reads 0)
    #[serde(default)]
    pub knn_every_row: bool,
}

impl Default for DetectConfig {
    /// The blend for a table the detector knows nothing about: the density, isolation and
    /// distance views in equal parts, every row searched. Chosen on bench-public's tuning
    /// tables only (docs/anomalies.md): of the views alone, density was best on two tables and
    /// worst on others, distance the reverse, and the equal blend of the three kinds of view
    /// was ahead of scikit-learn's IsolationForest on most tuning tables and on their mean.
    fn default() -> Self {
        Self {
            // the paper's and scikit-learn's forest
            trees: 100,
            sample_size: 256,
            // more neighbours than a small cluster of anomalies has members, so a cluster does
            // not vouch for itself
            k: 50,
            reference: 3000,
            seed: 42,
            weights: [0.0, 1.0 / 3.0, 1.0 / 3.0, 0.0],
            density: 1.0 / 3.0,
            distance: Distance::Ranges,
            knn_every_row: true,
        }
    }
}

impl DetectConfig {
    /// The blend `datapact analyze` fits on actors' windows: the features were chosen for
    /// the domain (counts of risky things), so their own view leads; kNN only where it can
    /// change a verdict.
    pub fn windows() -> Self {
        Self {
            trees: 100,
            sample_size: 256,
            k: 10,
            reference: 3000,
            seed: 42,
            weights: [0.55, 0.2, 0.15, 0.1],
            density: 0.0,
            distance: Distance::Scaled,
            knn_every_row: false,
        }
    }
}

/// The blend that maps to a score of 1 - 1/e ≈ 0.63 (8: about three units of surprise in
/// the riskiest feature and some from the other views).
pub const SCALE: f64 = 8.0;

/// One row's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// 0-1
    pub score: f64,
    /// the views, in robust z units (features, isolation forest, kNN, PCA, density)
    pub parts: [f64; 5],
    /// features by how much they deviate (robust z, signed), strongest first, top five
    pub reasons: Vec<(usize, f64)>,
}

/// A detector fitted on a table (or a sample of it): scores rows it has never seen, so a
/// re-run scores only new windows. Its fitted state is [`Detector::to_bytes`]; the SHA-256 of
/// those bytes, [`Detector::id`], names it (a version derived from its content and settings).
pub struct Detector {
    fitted: Fitted,
    neighbours: Option<Neighbours>,
    /// which of the rows it was fitted on are its kNN reference rows (empty once loaded)
    ref_rows: Vec<usize>,
}

/// Everything a fitted detector is: its settings and what it learned. The kNN index is built
/// again from `refs` (the same rows in the same order give the same neighbours).
#[derive(serde::Serialize, serde::Deserialize)]
struct Fitted {
    /// the format of these bytes
    format: u32,
    features: Vec<Feature>,
    cfg: DetectConfig,
    columns: Vec<(f64, f64)>,
    forest: IsolationForest,
    /// the kNN view's reference rows, in its space
    refs: Vec<Vec<f64>>,
    pca: Option<Pca>,
    /// the views' spreads: isolation forest, kNN, PCA, density
    scales: [ViewScale; 4],
    /// kNN is the costly view: only rows whose other views reach this blend are searched
    knn_gate: f64,
    /// per feature (median, range) when distances are measured in ranges; empty otherwise
    ranges: Vec<(f64, f64)>,
    /// None when the density view has no weight
    density: Option<Density>,
}

/// The format of a stored detector's bytes (postcard of [`Fitted`]); format 1 (before the
/// density view and the distance in ranges) is read by [`legacy`].
const FITTED_FORMAT: u32 = 2;

impl Detector {
    /// Fits on `rows` (all of the same width as `features`); at most `cfg.reference` rows are
    /// used for the kNN index and the PCA.
    pub fn fit(
        rows: &[Vec<f64>],
        features: &[Feature],
        cfg: &DetectConfig,
    ) -> anyhow::Result<Self> {
        let m = features.len();
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != m) {
            anyhow::bail!("row {i} has {} values, the table has {m} features", r.len());
        }
        let columns: Vec<(f64, f64)> = (0..m)
            .into_par_iter()
            .map(|j| {
                let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                robust_center_scale(&col, features[j].floor)
            })
            .collect();
        let mut f = Fitted {
            format: FITTED_FORMAT,
            features: features.to_vec(),
            cfg: cfg.clone(),
            columns,
            forest: IsolationForest::fit(&[], 0, 1, 0),
            refs: Vec::new(),
            pca: None,
            scales: [ViewScale::IDENTITY; 4],
            knn_gate: 0.0,
            ranges: Vec::new(),
            density: (cfg.density != 0.0).then(|| Density::fit(rows, features)),
        };
        if cfg.distance == Distance::Ranges {
            f.ranges = (0..m)
                .into_par_iter()
                .map(|j| {
                    let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                    range_center_scale(&col)
                })
                .collect();
        }
        let x: Vec<Vec<f64>> = rows.par_iter().map(|r| f.scaled(r).1).collect();
        f.forest = IsolationForest::fit(&x, cfg.trees, cfg.sample_size, cfg.seed);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x6b6e6e);
        let ref_rows: Vec<usize> = if x.len() > cfg.reference {
            sample(&mut rng, x.len(), cfg.reference).into_vec()
        } else {
            (0..x.len()).collect()
        };
        f.refs = ref_rows.iter().map(|&i| x[i].clone()).collect();
        f.pca = Pca::fit(&f.refs);
        // search neighbours only where it can matter: below this blend, the kNN view at its
        // cap (30 x its weight) still leaves the score under the report threshold
        f.knn_gate = if cfg.knn_every_row {
            f64::NEG_INFINITY
        } else {
            1.0
        };
        let spaced: Vec<Vec<f64>> = if f.ranges.is_empty() {
            f.refs.clone()
        } else {
            ref_rows.iter().map(|&i| f.ranged(&rows[i])).collect()
        };
        let pca: Vec<f64> = f.refs.par_iter().map(|r| f.pca_error(r)).collect();
        let refs: Vec<&[f64]> = f.refs.iter().map(Vec::as_slice).collect();
        let iso = f.forest.score_batch(&refs);
        let density: Vec<f64> = ref_rows.par_iter().map(|&i| f.density(&rows[i])).collect();
        f.refs = spaced;
        let mut d = Detector {
            neighbours: Neighbours::new(&f.refs, cfg.k),
            fitted: f,
            ref_rows,
        };
        // the views' own spreads, measured on the reference rows (each searches all of them)
        let knn: Vec<f64> = d.fitted.refs.par_iter().map(|r| d.knn(r, true)).collect();
        d.fitted.scales = [
            ViewScale::fit(&iso),
            ViewScale::fit(&knn),
            ViewScale::fit(&pca),
            ViewScale::fit(&density),
        ];
        Ok(d)
    }

    /// The fitted state, as stored (postcard): settings, features and what was learned.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        postcard::to_allocvec(&self.fitted)
            .map_err(|e| anyhow::anyhow!("encoding the detector: {e}"))
    }

    /// A detector from [`Detector::to_bytes`]: it scores exactly as the one stored.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        let fitted = match legacy::format_of(bytes) {
            Some(1) => legacy::read_v1(bytes)?,
            _ => postcard::from_bytes::<Fitted>(bytes)
                .map_err(|e| anyhow::anyhow!("a stored detector that does not decode: {e}"))?,
        };
        if fitted.format != FITTED_FORMAT {
            anyhow::bail!(
                "a stored detector of format {}: this datapact reads format {FITTED_FORMAT}",
                fitted.format
            );
        }
        Ok(Detector {
            neighbours: Neighbours::new(&fitted.refs, fitted.cfg.k),
            fitted,
            ref_rows: Vec::new(),
        })
    }

    /// The detector's name: the SHA-256 (hex) of its bytes.
    pub fn id(&self) -> anyhow::Result<String> {
        Ok(crate::manifest::sha256_hex(&self.to_bytes()?))
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &DetectConfig {
        &self.fitted.cfg
    }

    /// The features it was fitted on, in column order.
    pub fn features(&self) -> &[Feature] {
        &self.fitted.features
    }

    fn knn(&self, x: &[f64], is_reference: bool) -> f64 {
        let Some(neighbours) = &self.neighbours else {
            return 0.0;
        };
        let k = self.fitted.cfg.k + usize::from(is_reference);
        let mut d = Vec::with_capacity(k);
        neighbours.nearest(x, k, &mut d);
        // a reference row meets itself first, at distance 0
        let d = if is_reference && !d.is_empty() {
            &d[1..]
        } else {
            &d[..]
        };
        d.iter().sum::<f64>() / d.len().max(1) as f64
    }

    /// Scores many rows, on every core.
    pub fn score_all(&self, rows: &[&[f64]]) -> Vec<Scored> {
        self.score_rows(rows, &[])
    }

    /// Scores the very rows it was fitted on (in the same order): a reference row does not
    /// count itself among its own neighbours (it would meet itself at distance 0).
    pub fn score_fitted(&self, rows: &[&[f64]]) -> Vec<Scored> {
        let mut is_ref = vec![false; rows.len()];
        for &i in &self.ref_rows {
            if let Some(r) = is_ref.get_mut(i) {
                *r = true;
            }
        }
        self.score_rows(rows, &is_ref)
    }

    fn score_rows(&self, rows: &[&[f64]], is_ref: &[bool]) -> Vec<Scored> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = rows.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    s.spawn(move || {
                        let scaled: Vec<_> = part.iter().map(|r| self.fitted.scaled(r)).collect();
                        let xs: Vec<&[f64]> = scaled.iter().map(|s| s.1.as_slice()).collect();
                        let iso = self.fitted.forest.score_batch(&xs);
                        scaled
                            .into_iter()
                            .zip(iso)
                            .enumerate()
                            .map(|(j, (view, iso))| {
                                let own = is_ref.get(c * chunk + j).copied().unwrap_or(false);
                                self.blend(part[j], view, iso, own)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Scores one row.
    pub fn score(&self, row: &[f64]) -> Scored {
        self.score_one(row, false)
    }

    /// Scores one row; `is_reference`: the row is one of the kNN reference rows itself.
    fn score_one(&self, row: &[f64], is_reference: bool) -> Scored {
        let view = self.fitted.scaled(row);
        let iso = self.fitted.forest.score(&view.1);
        self.blend(row, view, iso, is_reference)
    }

    /// The verdict on a row (raw, and its feature view as [`Fitted::scaled`] gives it) with
    /// its isolation score: the other views, and their blend.
    fn blend(&self, row: &[f64], view: Scaled, iso: f64, is_reference: bool) -> Scored {
        let f = &self.fitted;
        let (feat, x, reasons) = view;
        let w = [
            f.cfg.weights[0],
            f.cfg.weights[1],
            f.cfg.weights[2],
            f.cfg.weights[3],
            f.cfg.density,
        ];
        let iso = f.scales[0].z(iso);
        let pca = f.scales[2].z(f.pca_error(&x));
        let density = match f.density {
            Some(_) => f.scales[3].z(f.density(row)),
            None => 0.0,
        };
        let partial = feat.min(30.0) * w[0]
            + iso.min(30.0) * w[1]
            + pca.min(30.0) * w[3]
            + density.min(30.0) * w[4];
        let knn = if partial >= f.knn_gate {
            let z = if f.ranges.is_empty() {
                self.knn(&x, is_reference)
            } else {
                self.knn(&f.ranged(row), is_reference)
            };
            f.scales[1].z(z)
        } else {
            0.0
        };
        let parts = [feat, iso, knn, pca, density];
        let blend: f64 = parts.iter().zip(w).map(|(p, w)| p.min(30.0) * w).sum();
        Scored {
            score: 1.0 - (-blend / SCALE).exp(),
            parts,
            reasons,
        }
    }
}

/// A row as the views see it: (feature view, the row robust-scaled and clipped, reasons).
type Scaled = (f64, Vec<f64>, Vec<(usize, f64)>);

impl Fitted {
    /// (feature view, the row robust-scaled and clipped for the learned views, reasons)
    fn scaled(&self, row: &[f64]) -> Scaled {
        let mut x = Vec::with_capacity(row.len());
        let mut dev = Vec::new();
        for (j, (&v, &(med, scale))) in row.iter().zip(&self.columns).enumerate() {
            let v = if v.is_finite() { v } else { med };
            let z = ((v - med) / scale).clamp(-50.0, 50.0);
            let f = &self.features[j];
            match f.direction {
                Direction::High => {
                    x.push(z.clamp(0.0, 20.0));
                    if z > 0.0 {
                        dev.push((j, z));
                    }
                }
                Direction::Both => {
                    x.push(z.clamp(-20.0, 20.0));
                    if z != 0.0 {
                        dev.push((j, z));
                    }
                }
            }
        }
        let weight = |j: usize| self.features[j].weight;
        dev.sort_by(|a, b| (b.1.abs() * weight(b.0)).total_cmp(&(a.1.abs() * weight(a.0))));
        let top: f64 = dev
            .iter()
            .take(3)
            .zip([1.0, 0.5, 0.25])
            .map(|((j, v), w)| v.abs() * weight(*j) * w)
            .sum();
        dev.truncate(5);
        (top, x, dev)
    }

    fn pca_error(&self, x: &[f64]) -> f64 {
        self.pca.as_ref().map_or(0.0, |p| p.error(x))
    }

    fn density(&self, row: &[f64]) -> f64 {
        self.density.as_ref().map_or(0.0, |d| d.score(row))
    }

    /// The row for distances in ranges: each feature less its median, over its range (a
    /// missing value at the median; clipped at 50 ranges, as the robust units are; a feature
    /// that only counts upwards is not below its median).
    fn ranged(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(&self.ranges)
            .zip(&self.features)
            .map(|((&v, &(med, range)), f)| {
                let v = if v.is_finite() { v } else { med };
                let u = ((v - med) / range).clamp(-50.0, 50.0);
                match f.direction {
                    Direction::High => u.max(0.0),
                    Direction::Both => u,
                }
            })
            .collect()
    }
}

/// Fits on `rows` and scores every one of them.
pub fn detect(
    rows: &[Vec<f64>],
    features: &[Feature],
    cfg: &DetectConfig,
) -> anyhow::Result<Vec<Scored>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let d = Detector::fit(rows, features, cfg)?;
    let views: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    Ok(d.score_fitted(&views))
}

#[cfg(test)]
mod tests;
