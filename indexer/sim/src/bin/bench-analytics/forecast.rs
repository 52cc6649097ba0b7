//! `--forecast`: the run's forecasting stage, and datapact's forecaster against statsmodels'.

use std::process::Command;

use anyhow::Context;

use super::{figure, peer_script, python};

/// `--forecast`: the run's forecasting stage beside the rest of it, then datapact's forecaster
/// against statsmodels' on the same series with the last 48 steps held out.
pub(super) async fn forecasts_against_peer(
    pool: &sqlx::PgPool,
    run: &serde_json::Value,
    window: i64,
    sample: usize,
) -> anyhow::Result<()> {
    use datapact_analytics::forecast::{self, backtest, model};
    use rayon::prelude::*;
    let stage = |name: &str| -> f64 {
        run["timings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l[0] == name)
            .filter_map(|l| l[1].as_f64())
            .sum()
    };
    let (reads, fc, total) = (stage("forecast reads"), stage("forecasts"), stage("total"));
    println!(
        "\nforecasts in the run: {:.1} s of its {total:.1} s (reading the series {reads:.1} s, fitting and forecasting {fc:.1} s; {:.1} s for everything else: read, features, scores, rules, provenance, write)",
        reads + fc,
        total - fc - reads
    );
    let to = datapact_analytics::load::indexed_height(pool)
        .await?
        .unwrap_or(0);
    let inputs = datapact_analytics::load::SeriesInputs::load(pool, to, window).await?;
    let by_asset = inputs.asset_accesses();
    let h = 48;
    let mut series: Vec<(String, Vec<f64>)> = Vec::new();
    for (ag, y) in forecast::dense(&inputs.accesses, inputs.origin) {
        series.push((datapact_analytics::target::agreement(ag), y));
    }
    for (a, y) in forecast::dense(&by_asset, inputs.origin) {
        series.push((format!("asset:{a}"), y));
    }
    series.retain(|(_, y)| y.len() > 2 * h);
    // the same fixed-seed sample for both (the peer takes about half a second a series)
    let all = series.len();
    if all > sample {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut keep = rand::seq::index::sample(&mut rng, all, sample).into_vec();
        keep.sort_unstable();
        series = keep
            .into_iter()
            .map(|i| std::mem::take(&mut series[i]))
            .collect();
    }
    let periods = forecast::periods(window);
    let m = periods.first().copied().unwrap_or(1);
    let cfg = model::ModelConfig::default();
    let t = std::time::Instant::now();
    let paths: Vec<model::Path> = series
        .par_iter()
        .map(|(_, y)| model::forecast(&y[..y.len() - h], &periods, h, &cfg))
        .collect();
    let ours_s = t.elapsed().as_secs_f64();
    // which model each series got (the seasons its test kept), without the fit window
    let mut methods: std::collections::BTreeMap<String, usize> = Default::default();
    for p in &paths {
        let m = p.method.split(" on ").next().unwrap_or(&p.method);
        *methods.entry(m.to_string()).or_default() += 1;
    }
    let ours: Vec<Vec<f64>> = paths.into_iter().map(|p| p.point).collect();
    // the peer reads exactly these series
    let dir = std::env::temp_dir().join("datapact-bench-forecast");
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("series.csv");
    let mut text = String::new();
    for (k, y) in &series {
        let v: Vec<String> = y[..y.len() - h].iter().map(|x| x.to_string()).collect();
        text.push_str(&format!("{k},{}\n", v.join(";")));
    }
    std::fs::write(&src, text)?;
    let out = dir.join("peer.json");
    let script = peer_script().with_file_name("forecast.py");
    let t = std::time::Instant::now();
    let status = Command::new(python())
        .arg(&script)
        .arg(&src)
        .arg(&out)
        .args([h.to_string(), m.to_string()])
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    let wall = t.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "the forecasting peer failed");
    let peer: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let mut e_ours = backtest::Errors::default();
    let mut e_peer = backtest::Errors::default();
    for ((k, y), f) in series.iter().zip(&ours) {
        let (train, actual) = y.split_at(y.len() - h);
        let scale = backtest::naive_scale(train, m, h);
        let pf: Vec<f64> = peer["forecasts"][k]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default();
        if pf.len() != h {
            continue;
        }
        for (e, f) in [(&mut e_ours, f.as_slice()), (&mut e_peer, pf.as_slice())] {
            e.scale += scale;
            e.abs_error += actual
                .iter()
                .zip(f)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>();
        }
    }
    let fit = figure(&peer, "fit_s");
    println!(
        "forecaster against forecaster: {} series (a fixed sample of {all}; {} steps of {window} s each at most), the last {h} held out",
        series.len(),
        series.iter().map(|s| s.1.len()).max().unwrap_or(0)
    );
    println!(
        "  datapact (augurs MSTL over the seasons of {periods:?} its test keeps + AutoETS on the last {} steps, rayon on {} cores): {ours_s:.1} s, pooled MASE {:.3}",
        cfg.fit_window,
        rayon::current_num_threads(),
        e_ours.mase()
    );
    let got: Vec<String> = methods.iter().map(|(m, n)| format!("{m} {n}")).collect();
    println!("    models chosen: {}", got.join(", "));
    println!(
        "  statsmodels Holt-Winters (season {m}, {} processes): fit {fit:.1} s (+ import {:.2} s, read {:.2} s; process wall {wall:.1} s), pooled MASE {:.3}",
        peer["cores"],
        figure(&peer, "import_s"),
        figure(&peer, "read_s"),
        e_peer.mase()
    );
    println!(
        "  datapact is {:.1}x the peer's fitting speed",
        fit / ours_s.max(1e-9)
    );
    Ok(())
}
