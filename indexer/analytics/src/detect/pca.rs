//! The PCA view: how far a row falls from the plane the reference rows mostly lie in (smartcore's
//! PCA, keeping half the dimensions): a row that breaks the features' usual correlations.

use smartcore::decomposition::pca::{PCAParameters, PCA};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;

/// A fitted PCA, as stored in a detector's bytes (postcard writes a struct as its fields in
/// order: the same bytes as the `(components, means)` pair stored before).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Pca {
    /// m x k: feature j's loading on component c is `components[j][c]`
    components: Vec<Vec<f64>>,
    /// the reference rows' column means
    means: Vec<f64>,
}

impl Pca {
    /// PCA on the reference rows, keeping half the dimensions: what the rest carries is the
    /// "unusual combination" signal. None for a table too small or degenerate.
    pub fn fit(x: &[Vec<f64>]) -> Option<Self> {
        let n = x.len();
        let m = x.first().map_or(0, Vec::len);
        if n < 3 || m < 2 {
            return None;
        }
        let comps = (m / 2).max(1);
        let matrix = DenseMatrix::from_2d_vec(&x.to_vec()).ok()?;
        let pca = PCA::fit(&matrix, PCAParameters::default().with_n_components(comps)).ok()?;
        let p = pca.components(); // m x comps
        let components: Vec<Vec<f64>> = (0..m)
            .map(|j| (0..comps).map(|c| *p.get((j, c))).collect())
            .collect();
        if components.iter().flatten().any(|v| !v.is_finite()) {
            return None;
        }
        let means: Vec<f64> = (0..m)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        Some(Self { components, means })
    }

    /// The reconstruction error of `x`: its distance from its projection on the components.
    pub fn error(&self, x: &[f64]) -> f64 {
        let p = &self.components;
        let centred: Vec<f64> = x.iter().zip(&self.means).map(|(v, m)| v - m).collect();
        let k = p.first().map_or(0, Vec::len);
        let t: Vec<f64> = (0..k)
            .map(|c| centred.iter().zip(p).map(|(v, row)| v * row[c]).sum())
            .collect();
        centred
            .iter()
            .zip(p)
            .map(|(v, row)| {
                let back: f64 = row.iter().zip(&t).map(|(a, b)| a * b).sum();
                (v - back).powi(2)
            })
            .sum::<f64>()
            .sqrt()
    }
}
