//! The detector's tests (kept beside it, out of `mod.rs`).

use super::*;
use rand::Rng;

fn table(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let a: f64 = rng.random_range(0.0..10.0);
            // b follows a, c is noise
            vec![
                a,
                2.0 * a + rng.random_range(-0.5..0.5),
                rng.random_range(0.0..1.0),
            ]
        })
        .collect()
}

#[test]
fn planted_outliers_rank_first_and_a_clean_table_scores_low() {
    let features: Vec<Feature> = ["a", "b", "c"]
        .iter()
        .map(|n| Feature::generic(*n))
        .collect();
    let clean = table(800, 1);
    let scored = detect(&clean, &features, &DetectConfig::default()).unwrap();
    let high = scored.iter().filter(|s| s.score > 0.9).count();
    assert!(high <= 8, "{high} of 800 clean rows scored above 0.9");

    let mut rows = table(800, 2);
    rows.push(vec![40.0, 80.0, 0.5]); // far out along the usual direction
    rows.push(vec![5.0, -10.0, 0.5]); // breaks the correlation of a and b
    let scored = detect(&rows, &features, &DetectConfig::default()).unwrap();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&i, &j| scored[j].score.total_cmp(&scored[i].score));
    assert!(
        order[..2].contains(&800) && order[..2].contains(&801),
        "{:?}",
        &order[..5]
    );
    assert!(
        scored[800].score > 0.75 && scored[801].score > 0.5,
        "{:?} {:?}",
        scored[800],
        scored[801]
    );
    // the explanation names the feature that moved
    assert_eq!(scored[801].reasons[0].0, 1, "{:?}", scored[801].reasons);
}

#[test]
fn a_stored_detector_scores_bit_for_bit_as_the_one_fitted_and_is_named_by_its_content() {
    let features: Vec<Feature> = ["a", "b", "c"]
        .iter()
        .map(|n| Feature::generic(*n))
        .collect();
    let rows = table(600, 5);
    // a small reference set: the kNN index is rebuilt from it on loading
    let cfg = DetectConfig {
        reference: 200,
        ..DetectConfig::default()
    };
    let fitted = Detector::fit(&rows, &features, &cfg).unwrap();
    let bytes = fitted.to_bytes().unwrap();
    let loaded = Detector::from_bytes(&bytes).unwrap();
    let mut probe = table(300, 6);
    probe.push(vec![40.0, 80.0, 0.5]);
    probe.push(vec![5.0, -10.0, 0.5]);
    let views: Vec<&[f64]> = probe.iter().map(Vec::as_slice).collect();
    let bits = |d: &Detector| -> Vec<[u64; 5]> {
        d.score_all(&views)
            .iter()
            .map(|s| {
                let p = s.parts.map(f64::to_bits);
                [s.score.to_bits(), p[0], p[1], p[2], p[3]]
            })
            .collect()
    };
    assert_eq!(bits(&fitted), bits(&loaded));
    assert!(
        loaded.score_all(&views).iter().any(|s| s.parts[2] > 0.0),
        "the kNN view was searched"
    );
    // the name is the content's: the same fit, the same name; other settings, another
    assert_eq!(loaded.id().unwrap(), fitted.id().unwrap());
    let again = Detector::fit(&rows, &features, &cfg).unwrap();
    assert_eq!(again.id().unwrap(), fitted.id().unwrap());
    let other = DetectConfig { seed: 7, ..cfg };
    let reseeded = Detector::fit(&rows, &features, &other).unwrap();
    assert_ne!(reseeded.id().unwrap(), fitted.id().unwrap());
    // bytes that are not a detector are an error, not a panic
    assert!(Detector::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    assert!(Detector::from_bytes(b"").is_err());
}

#[test]
fn a_reference_row_scored_with_its_table_does_not_count_itself_as_a_neighbour() {
    let features: Vec<Feature> = ["a", "b", "c"]
        .iter()
        .map(|n| Feature::generic(*n))
        .collect();
    let mut rows = table(400, 3);
    rows.push(vec![40.0, 80.0, 0.5]);
    let d = Detector::fit(&rows, &features, &DetectConfig::default()).unwrap();
    let views: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    // every row is a reference row here (400 < 3000): scored as new rows, each meets
    // itself at distance 0 (the defect); scored as the fitted rows, it does not
    let as_new = d.score_all(&views);
    let fitted = d.score_fitted(&views);
    let outlier = rows.len() - 1;
    assert!(
        fitted[outlier].parts[2] > as_new[outlier].parts[2],
        "{:?} vs {:?}",
        fitted[outlier].parts,
        as_new[outlier].parts
    );
    assert!(fitted
        .iter()
        .zip(&as_new)
        .all(|(f, n)| f.parts[2] >= n.parts[2]));
    // the other views do not depend on it
    assert_eq!(fitted[outlier].parts[1], as_new[outlier].parts[1]);
}

#[test]
fn a_small_cluster_of_anomalies_does_not_vouch_for_itself_in_the_generic_blend() {
    let features = vec![Feature::generic("a"), Feature::generic("b")];
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut rows: Vec<Vec<f64>> = (0..1000)
        .map(|_| vec![rng.random_range(0.0..10.0), rng.random_range(0.0..10.0)])
        .collect();
    // thirty alike, away from everyone else
    rows.extend((0..30).map(|_| {
        vec![
            20.0 + rng.random_range(-0.1..0.1),
            20.0 + rng.random_range(-0.1..0.1),
        ]
    }));
    let knn_of = |cfg: &DetectConfig| -> (f64, f64) {
        let s = detect(&rows, &features, cfg).unwrap();
        let normal = s[..1000].iter().map(|s| s.parts[2]).fold(0.0, f64::max);
        let cluster = s[1000..]
            .iter()
            .map(|s| s.parts[2])
            .fold(f64::MAX, f64::min);
        (normal, cluster)
    };
    // 50 neighbours: each member has to look beyond its 29 fellows
    let (normal, cluster) = knn_of(&DetectConfig::default());
    assert!(cluster > normal, "cluster {cluster} vs normal {normal}");
    // 10 neighbours (the windows' blend, every row searched): the fellows are enough
    let (normal, cluster) = knn_of(&DetectConfig {
        knn_every_row: true,
        ..DetectConfig::windows()
    });
    assert!(cluster < normal, "cluster {cluster} vs normal {normal}");
    // and the blend ranks the whole cluster first
    let s = detect(&rows, &features, &DetectConfig::default()).unwrap();
    let lowest = s[1000..].iter().map(|s| s.score).fold(f64::MAX, f64::min);
    assert!(s[..1000].iter().all(|s| s.score < lowest));
}

#[test]
fn a_high_only_feature_never_flags_low_values() {
    let features = vec![Feature {
        name: "refused".into(),
        direction: Direction::High,
        floor: 0.5,
        weight: 1.0,
    }];
    let mut rows: Vec<Vec<f64>> = (0..500).map(|i| vec![(i % 5) as f64 + 3.0]).collect();
    rows.push(vec![0.0]);
    rows.push(vec![30.0]);
    let s = detect(&rows, &features, &DetectConfig::default()).unwrap();
    assert!(
        s[500].score < 0.2,
        "low is not suspicious: {}",
        s[500].score
    );
    assert!(s[501].score > 0.8, "{}", s[501].score);
}

#[test]
fn a_ragged_table_is_an_error_not_a_panic() {
    let features = vec![Feature::generic("a"), Feature::generic("b")];
    let e = detect(
        &[vec![1.0, 2.0], vec![1.0]],
        &features,
        &DetectConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("row 1 has 1 values"), "{e}");
    assert!(detect(&[], &features, &DetectConfig::default())
        .unwrap()
        .is_empty());
}
