//! Auditable analysis runs on the real chain and Postgres (docs/runs.md): a run's manifest hash
//! anchored as a registry version and verified by `datapact verify-run`; an input row, an output
//! row or a report file changed afterwards makes it fail and name what changed; a later run
//! scores only the windows that closed since, with the stored detectors, and leaves the earlier
//! run as it was; the two runs' scores are those of one run over the whole history, bit for bit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use datapact_analytics::manifest::{self, Manifest, Model};
use datapact_analytics::{self as analytics, AnalyzeConfig};
use datapact_chain::keys::localnet_wallet;
use datapact_chain::tx::Sender;
use datapact_e2e::deal::{access, deal, DealTerms};
use datapact_e2e::pipeline::{ingest_all, verify_run as verify};
use datapact_e2e::{fresh_database, lock, setup, workspace_root};
use datapact_index::ingest;
use datapact_registry::msg::{QueryMsg as RQ, VersionResponse};

/// The (part, name) of each difference a verdict lists.
fn named(v: &serde_json::Value) -> Vec<(String, String)> {
    v["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["part"].as_str().unwrap_or_default().to_string(),
                d["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn has(v: &serde_json::Value, part: &str, name: &str) -> bool {
    named(v).iter().any(|(p, n)| p == part && n == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anchored_run_verifies_and_a_changed_input_output_or_report_file_is_named(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    // activity of its own, whatever else the shared chain holds: an asset, an agreement, accesses
    let d = deal(&ctx, "provider-7", "consumer-15", DealTerms::default()).await?;
    for _ in 0..2 {
        ctx.ok("consumer-15", "agreements", &access(&d, None), &[])
            .await?;
    }
    let url = fresh_database("e2e_runs").await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    ingest_all(&ctx, &pool, 1).await?;
    let reports = workspace_root().join("build/e2e-runs");
    let _ = std::fs::remove_dir_all(&reports);
    // one-second windows: every window but the one holding the last indexed block is closed
    let cfg = AnalyzeConfig {
        reports: reports.clone(),
        window: Some(1),
        ..AnalyzeConfig::default()
    };
    let a = analytics::analyze(&pool, &cfg, true).await?;
    let run = a.run_id.expect("a stored run");
    let mut analyst = Sender::load(&ctx.chain, localnet_wallet("analyst")?).await?;
    let anchors = datapact::runs::anchor_pending(&ctx.chain, &ctx.d, &mut analyst, &pool).await?;
    assert_eq!(anchors.len(), 1, "the one run is anchored");
    assert_eq!(anchors[0].run_id, run);
    // on chain, the registry version holds the manifest's hash
    let sha: String =
        sqlx::query_scalar("select manifest_sha256 from analytics_runs where run_id = $1")
            .bind(run)
            .fetch_one(&pool)
            .await?;
    let v: VersionResponse = ctx
        .query(
            "registry",
            &RQ::Version {
                asset_id: anchors[0].asset_id as u64,
                version: anchors[0].version as u32,
            },
        )
        .await?;
    assert_eq!(v.version.content_hash, sha);
    let manifest = std::fs::read_to_string(reports.join(format!("run-{run}/manifest.json")))?;
    assert_eq!(
        datapact_analytics::manifest::sha256_hex(manifest.as_bytes()),
        sha,
        "the report folder's manifest is the anchored one"
    );
    let (code, out) = verify(&ctx, &url, run)?;
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["ok"], true);

    // an input row changed: one access's count
    let (h, t, e, n): (i64, i32, i32, i64) = sqlx::query_as(
        "select height, tx_index, event_index, access_count from accesses where height <= $1 order by height limit 1",
    )
    .bind(a.to_height)
    .fetch_one(&pool)
    .await?;
    let set_count = |c: i64| {
        sqlx::query(
            "update accesses set access_count = $4 where height = $1 and tx_index = $2 and event_index = $3",
        )
        .bind(h)
        .bind(t)
        .bind(e)
        .bind(c)
    };
    set_count(n + 1).execute(&pool).await?;
    let (code, out) = verify(&ctx, &url, run)?;
    set_count(n).execute(&pool).await?;
    assert_eq!(code, 3, "{out:#}");
    assert!(has(&out, "input", "accesses"), "{out:#}");
    assert!(!has(&out, "output", "provenance_scores"), "{out:#}");

    // an output row changed: one provenance score
    let (asset, version, score): (i64, i32, f64) = sqlx::query_as(
        "select asset_id, version, score from provenance_scores where run_id = $1 limit 1",
    )
    .bind(run)
    .fetch_one(&pool)
    .await?;
    let set_score = |s: f64| {
        sqlx::query(
            "update provenance_scores set score = $4 where run_id = $1 and asset_id = $2 and version = $3",
        )
        .bind(run)
        .bind(asset)
        .bind(version)
        .bind(s)
    };
    set_score(score + 7.5).execute(&pool).await?;
    let (code, out) = verify(&ctx, &url, run)?;
    set_score(score).execute(&pool).await?;
    assert_eq!(code, 3, "{out:#}");
    assert!(has(&out, "output", "provenance_scores"), "{out:#}");
    assert!(
        named(&out).iter().all(|(p, _)| p == "output"),
        "only the stored output differs: {out:#}"
    );

    // the run's forecasts are outputs of its manifest like any other: one outlook changed is
    // named, and nothing else
    let outputs = serde_json::from_str::<serde_json::Value>(&manifest)?["outputs"].clone();
    assert!(
        outputs.get("forecasts").is_some() && outputs.get("forecast_outlooks").is_some(),
        "{outputs:#}"
    );
    let (kind, key, value): (String, String, f64) = sqlx::query_as(
        "select kind, key, value from forecast_outlooks where run_id = $1 order by kind, key limit 1",
    )
    .bind(run)
    .fetch_one(&pool)
    .await?;
    let set_value = |v: f64| {
        sqlx::query(
            "update forecast_outlooks set value = $4 where run_id = $1 and kind = $2 and key = $3",
        )
        .bind(run)
        .bind(kind.clone())
        .bind(key.clone())
        .bind(v)
    };
    set_value(value + 0.25).execute(&pool).await?;
    let (code, out) = verify(&ctx, &url, run)?;
    set_value(value).execute(&pool).await?;
    assert_eq!(code, 3, "{out:#}");
    assert_eq!(
        named(&out),
        [("output".to_string(), "forecast_outlooks".to_string())]
    );

    // a report file changed
    let html = reports.join(format!("run-{run}/report.html"));
    let original = std::fs::read(&html)?;
    let mut edited = original.clone();
    edited.extend_from_slice(b"<!-- edited -->");
    std::fs::write(&html, &edited)?;
    let (code, out) = verify(&ctx, &url, run)?;
    std::fs::write(&html, &original)?;
    assert_eq!(code, 3, "{out:#}");
    assert_eq!(
        named(&out),
        [("file".to_string(), "report.html".to_string())]
    );

    // restored, it verifies again
    let (code, out) = verify(&ctx, &url, run)?;
    assert_eq!(code, 0, "{out:#}");

    // a later run scores the windows that closed since the first one, and no other
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "select count(*) from {table} where run_id = $1"
            )))
            .bind(run)
            .fetch_one(&pool)
            .await?;
            anyhow::Ok(n)
        }
    };
    let before = (count("actor_windows").await?, count("anomalies").await?);
    let o = ctx
        .ok("consumer-15", "agreements", &access(&d, None), &[])
        .await?;
    // blocks come every 300 ms: a few later, the access's one-second window has closed
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (ingest::head(&ctx.chain).await? as i64) < o.height as i64 + 5 {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the chain stopped");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ingest_all(&ctx, &pool, 1).await?;
    // an ingester following the chain holds its writer lock the whole time: a run goes on
    // beside it (found by bench-loop: both once took the same advisory lock, and the run waited)
    let mut ingester = pool.acquire().await?.detach();
    sqlx::query("select pg_advisory_lock($1)")
        .bind(datapact_index::db::locks::INGEST_WRITER)
        .execute(&mut ingester)
        .await?;
    let b = tokio::time::timeout(
        Duration::from_secs(120),
        analytics::analyze(&pool, &cfg, true),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the run waited for the ingester's lock"))??;
    drop(ingester);
    let second = b.run_id.expect("a second run");
    datapact::runs::anchor_pending(&ctx.chain, &ctx.d, &mut analyst, &pool).await?;
    assert_eq!(
        b.since_window, a.until_window,
        "the second run starts at the first window the first one left open"
    );
    let superseded: i64 =
        sqlx::query_scalar("select count(*) from actor_windows where superseded_by is not null")
            .fetch_one(&pool)
            .await?;
    assert_eq!(superseded, 0, "no window is scored twice");
    assert_eq!(
        (count("actor_windows").await?, count("anomalies").await?),
        before,
        "the first run's windows and anomalies are all still there"
    );
    let consumer = |x: &analytics::Analysis| x.detectors.get("consumer").cloned();
    assert!(consumer(&b).is_some(), "the access's window was scored");
    for (role, id) in &b.detectors {
        assert_eq!(
            a.detectors.get(role),
            Some(id),
            "the second run scored its {role} windows with the stored detector"
        );
    }
    let stored_models: i64 = sqlx::query_scalar("select count(*) from analytics_models")
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        stored_models as usize,
        a.detectors.len(),
        "no detector fitted twice"
    );

    // one run over the whole history, with the same detectors, scores every window and
    // reports every anomaly exactly as the two runs did
    let whole = Manifest {
        format: manifest::FORMAT.into(),
        run_id: second,
        chain_id: None,
        window_seconds: 1,
        from_height: 0,
        to_height: b.to_height,
        since_window: None,
        until_window: b.until_window,
        model: Model {
            version: analytics::MODEL_VERSION.into(),
            settings: analytics::run::settings(&cfg),
            detectors: a.detectors.clone(),
        },
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let once = analytics::run::recompute(
        &pool,
        &whole,
        &AnalyzeConfig {
            forecast: None,
            ..cfg.clone()
        },
    )
    .await?;
    let once_scores: BTreeMap<(String, String, i64), u64> = once
        .tables
        .iter()
        .flat_map(|(t, s)| {
            t.rows.iter().zip(s).map(|(w, s)| {
                (
                    (t.role.to_string(), w.actor.clone(), w.window),
                    s.score.to_bits(),
                )
            })
        })
        .collect();
    let stored: Vec<(String, String, i64, f64)> = sqlx::query_as(
        "select role, actor, extract(epoch from window_start)::bigint, score from actor_windows",
    )
    .fetch_all(&pool)
    .await?;
    let stored_scores: BTreeMap<(String, String, i64), u64> = stored
        .into_iter()
        .map(|(role, actor, w, s)| ((role, actor, w), s.to_bits()))
        .collect();
    assert!(!once_scores.is_empty());
    assert_eq!(
        once_scores, stored_scores,
        "incremental runs score as one run over everything"
    );
    let once_anomalies: BTreeSet<(String, String, i64, String, u64)> = once
        .anomalies
        .iter()
        .map(|x| {
            (
                x.role.clone(),
                x.actor.clone(),
                x.window_start,
                x.kind.clone(),
                x.score.to_bits(),
            )
        })
        .collect();
    let stored: Vec<(String, String, i64, String, f64)> = sqlx::query_as(
        "select role, actor, extract(epoch from window_start)::bigint, kind, score from anomalies",
    )
    .fetch_all(&pool)
    .await?;
    let stored_anomalies: BTreeSet<(String, String, i64, String, u64)> = stored
        .into_iter()
        .map(|(r, a, w, k, s)| (r, a, w, k, s.to_bits()))
        .collect();
    assert_eq!(
        once_anomalies, stored_anomalies,
        "and reports the same anomalies"
    );
    for r in [run, second] {
        let (code, out) = verify(&ctx, &url, r)?;
        assert_eq!(code, 0, "run {r}: {out:#}");
    }
    // the dashboard's runs list shows both, anchored and verified
    let lines = datapact_analytics::runs::lines(&pool, None, 10).await?;
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l.anchor_version.is_some() && l.verified_ok == Some(true)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_begins_with_the_blocks_whose_second_rounds_into_it() -> anyhow::Result<()> {
    // blocks carry sub-second times; every read takes a block's second rounded, and so must
    // the first height of a window a run starts from (runs once left such blocks out)
    let url = fresh_database("e2e_window_edges").await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    for (h, t) in [
        (1i64, "2026-01-01 00:00:09.4+00"),
        (2, "2026-01-01 00:00:09.6+00"),
        (3, "2026-01-01 00:00:10.2+00"),
    ] {
        sqlx::query(
            "insert into blocks (height, time, hash, num_txs) values ($1, $2::timestamptz, 'h', 0)",
        )
        .bind(h)
        .bind(t)
        .execute(&pool)
        .await?;
    }
    let second_10 = 1_767_225_610; // 2026-01-01 00:00:10 UTC
    assert_eq!(
        analytics::load::block_time(&pool, 2).await?,
        Some(second_10),
        "09.6 is second 10"
    );
    assert_eq!(
        analytics::load::first_height_since(&pool, second_10).await?,
        Some(2),
        "the window of second 10 begins with block 2"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_loses_its_lock_stores_nothing_and_the_next_run_stores_it_all(
) -> anyhow::Result<()> {
    // the defect: a run wrote through the pool, so a run whose lock's session had ended (a
    // Postgres restart mid-run) still committed, unguarded against a second run beside it
    use datapact_sim::synth::{self, SynthConfig};
    let url = fresh_database("e2e_run_lock").await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    datapact_index::db::replace_with_synthetic(&pool, false).await?;
    let labels = std::env::temp_dir().join("e2e-run-lock.jsonl");
    let cfg = SynthConfig {
        seed: 3,
        consumers: 30,
        accesses: 3_000,
        days: 2,
        progress: false,
        chain_id: format!("{}3", datapact_index::db::SYNTHETIC_CHAIN_PREFIX),
        labels,
        ..SynthConfig::default()
    };
    synth::run(&pool, &cfg).await?;
    let reports = std::env::temp_dir().join("e2e-run-lock-reports");
    let _ = std::fs::remove_dir_all(&reports);
    let cfg = AnalyzeConfig {
        reports,
        forecast: None,
        ..AnalyzeConfig::default()
    };
    // hold the run after it took its lock: its plan reads analytics_state
    let mut hold = pool.begin().await?;
    sqlx::query("lock table analytics_state in access exclusive mode")
        .execute(&mut *hold)
        .await?;
    let run = tokio::spawn({
        let (pool, cfg) = (pool.clone(), cfg.clone());
        async move { analytics::analyze(&pool, &cfg, true).await }
    });
    // the session that holds the run's lock ends, as a Postgres restart would end it
    let key = datapact_index::db::locks::ANALYSIS_RUN;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let holder = loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "select pid from pg_locks where locktype = 'advisory' and granted \
             and ((classid::bigint << 32) | objid::bigint) = $1",
        )
        .bind(key)
        .fetch_optional(&pool)
        .await?;
        if let Some(pid) = pid {
            break pid;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the run never took its lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ended: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(holder)
        .fetch_one(&pool)
        .await?;
    assert!(ended);
    hold.rollback().await?;
    let lost = run.await?.map(|a| a.run_id);
    let e = format!(
        "{:#}",
        lost.expect_err("a run without its lock stores nothing")
    );
    assert!(e.contains("nothing of it was stored"), "{e}");
    let runs: i64 = sqlx::query_scalar("select count(*) from analytics_runs")
        .fetch_one(&pool)
        .await?;
    assert_eq!(runs, 0, "no run was recorded");
    // the next run takes the lock afresh and scores every window
    let next = analytics::analyze(&pool, &cfg, true).await?;
    assert!(next.run_id.is_some());
    let scored: i64 = sqlx::query_scalar("select count(*) from actor_windows")
        .fetch_one(&pool)
        .await?;
    assert!(scored > 0, "the next run stored its windows");
    Ok(())
}
