//! Stored detectors of format 1 (before the density view and distances in ranges), read as
//! the detector they were: no density view, distances in robust units, the kNN view gated.
//! Runs recorded with them can still be re-scored and verified.

use super::{DetectConfig, Distance, Feature, Fitted, Pca, ViewScale};
use crate::iforest::IsolationForest;

/// The first field of every format: its number.
pub(super) fn format_of(bytes: &[u8]) -> Option<u32> {
    postcard::take_from_bytes::<u32>(bytes).ok().map(|(f, _)| f)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ConfigV1 {
    trees: usize,
    sample_size: usize,
    k: usize,
    reference: usize,
    seed: u64,
    weights: [f64; 4],
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FittedV1 {
    format: u32,
    features: Vec<Feature>,
    cfg: ConfigV1,
    columns: Vec<(f64, f64)>,
    forest: IsolationForest,
    refs: Vec<Vec<f64>>,
    pca: Option<Pca>,
    scales: [ViewScale; 3],
    knn_gate: f64,
}

/// A format-1 detector's bytes as today's fitted state.
pub(super) fn read_v1(bytes: &[u8]) -> anyhow::Result<Fitted> {
    let v1: FittedV1 = postcard::from_bytes(bytes)
        .map_err(|e| anyhow::anyhow!("a stored detector (format 1) that does not decode: {e}"))?;
    let c = v1.cfg;
    Ok(Fitted {
        format: super::FITTED_FORMAT,
        features: v1.features,
        cfg: DetectConfig {
            trees: c.trees,
            sample_size: c.sample_size,
            k: c.k,
            reference: c.reference,
            seed: c.seed,
            weights: c.weights,
            density: 0.0,
            distance: Distance::Scaled,
            knn_every_row: false,
        },
        columns: v1.columns,
        forest: v1.forest,
        refs: v1.refs,
        pca: v1.pca,
        scales: [
            v1.scales[0],
            v1.scales[1],
            v1.scales[2],
            ViewScale::IDENTITY,
        ],
        knn_gate: v1.knn_gate,
        ranges: Vec::new(),
        density: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{DetectConfig, Detector, Feature};
    use super::*;

    /// Today's windows detector written as format 1 wrote it.
    fn as_v1(d: &Detector) -> Vec<u8> {
        let f = &d.fitted;
        let c = &f.cfg;
        let v1 = FittedV1 {
            format: 1,
            features: f.features.clone(),
            cfg: ConfigV1 {
                trees: c.trees,
                sample_size: c.sample_size,
                k: c.k,
                reference: c.reference,
                seed: c.seed,
                weights: c.weights,
            },
            columns: f.columns.clone(),
            forest: postcard::from_bytes(&postcard::to_allocvec(&f.forest).unwrap()).unwrap(),
            refs: f.refs.clone(),
            pca: f
                .pca
                .as_ref()
                .map(|p| postcard::from_bytes(&postcard::to_allocvec(p).unwrap()).unwrap()),
            scales: [f.scales[0], f.scales[1], f.scales[2]],
            knn_gate: f.knn_gate,
        };
        postcard::to_allocvec(&v1).unwrap()
    }

    #[test]
    fn a_format_1_detector_still_loads_and_scores_as_it_did() {
        let features: Vec<Feature> = ["a", "b", "c"].map(Feature::generic).to_vec();
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|i| {
                let a = (i % 37) as f64;
                vec![a, 2.0 * a + (i % 5) as f64, (i % 11) as f64]
            })
            .collect();
        let cfg = DetectConfig {
            reference: 150,
            ..DetectConfig::windows()
        };
        let fitted = Detector::fit(&rows, &features, &cfg).unwrap();
        let old = as_v1(&fitted);
        assert_eq!(format_of(&old), Some(1));
        let loaded = Detector::from_bytes(&old).unwrap();
        let mut probe = rows[..50].to_vec();
        probe.push(vec![300.0, 10.0, 3.0]);
        let views: Vec<&[f64]> = probe.iter().map(Vec::as_slice).collect();
        let bits = |d: &Detector| -> Vec<u64> {
            d.score_all(&views)
                .iter()
                .flat_map(|s| std::iter::once(s.score).chain(s.parts))
                .map(f64::to_bits)
                .collect()
        };
        assert_eq!(bits(&loaded), bits(&fitted));
        // cut short, it is an error that names the format
        let e = Detector::from_bytes(&old[..old.len() - 9])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("format 1"), "{e}");
    }
}
