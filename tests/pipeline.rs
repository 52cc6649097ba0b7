//! The whole loop on a real chain and a real Postgres: the seeded workload injects misbehaviour,
//! the indexer ingests it, the analytics detect it, the sentinel reports it on chain, the audit
//! contract suspends the offender, the next access is refused, and all of it shows in Postgres
//! and on the dashboard (driven in headless Chromium), whose API answers every endpoint.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;

use datapact::serve::{self, AppState};
use datapact_chain::keys::localnet_wallet;
use datapact_e2e::pipeline::{get, ingest_all, pipeline, pipeline_sentinel, router};
use datapact_e2e::webdriver::Browser;
use datapact_e2e::{datapact_bin, fresh_database, lock, setup, workspace_root};

#[tokio::test(flavor = "multi_thread")]
async fn a_detected_burst_becomes_an_alert_that_suspends_the_consumer_and_all_of_it_is_indexed(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = datapact_index::db::connect(&p.url, 2).await?;
    assert!(p.reported >= 1);
    // the anomaly, its report, the alert, the suspension and the refused access, linked
    let (evidence, tx, alert_seq): (String, String, i64) = sqlx::query_as(
        "select evidence_hash, tx_hash, alert_seq from sentinel_reports where actor = $1 and status = 'reported' limit 1",
    )
    .bind(&p.burst)
    .fetch_one(&pool)
    .await?;
    let (chain_evidence, suspended): (String, bool) =
        sqlx::query_as("select evidence_hash, suspended from alerts where alert_seq = $1")
            .bind(alert_seq)
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        chain_evidence, evidence,
        "the alert carries the report's hash"
    );
    assert!(suspended);
    let (txs_hash,): (String,) = sqlx::query_as(
        "select t.hash from alerts a join txs t on t.height = a.height and t.tx_index = a.tx_index where a.alert_seq = $1",
    )
    .bind(alert_seq)
    .fetch_one(&pool)
    .await?;
    assert_eq!(txs_hash, tx, "the sentinel's tx is the indexed alert's tx");
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from consumer_suspensions where consumer = $1 and alert_seq = $2 and not lifted",
    )
    .bind(&p.burst)
    .bind(alert_seq)
    .fetch_one(&pool)
    .await?;
    assert_eq!(n, 1, "the suspension is indexed");
    let (lifted,): (i64,) = sqlx::query_as(
        "select count(*) from consumer_suspensions where consumer = $1 and alert_seq = $2 and lifted",
    )
    .bind(&p.burst)
    .bind(alert_seq)
    .fetch_one(&pool)
    .await?;
    assert_eq!(lifted, 1, "the responder's lift is indexed too");
    let (reason,): (String,) = sqlx::query_as(
        "select d.reason from denied_attempts d join txs t on t.height = d.height and t.tx_index = d.tx_index where t.hash = $1",
    )
    .bind(&p.denied_tx)
    .fetch_one(&pool)
    .await?;
    assert_eq!(reason, "consumer_suspended");
    // the report itself is what the evidence hash says
    let text: String =
        sqlx::query_scalar("select report_text from sentinel_reports where tx_hash = $1")
            .bind(&tx)
            .fetch_one(&pool)
            .await?;
    assert_eq!(datapact_e2e::hash_hex(&text), evidence);
    assert!(p.seconds_to_suspension >= 0.0);
    // the laundering rule's finding reached the chain too: an alert on the launderer naming its
    // attested product
    let (launderer, product) = p.laundered_product();
    let alerted: Vec<(String, Option<i64>)> =
        sqlx::query_as("select kind, asset_id from alerts where subject = $1")
            .bind(&launderer)
            .fetch_all(&pool)
            .await?;
    assert!(
        alerted.contains(&("provenance_laundering".to_string(), Some(product))),
        "the launderer's alerts: {alerted:?}"
    );
    // a re-run reads only what is new: from a later height, fewer windows; then nothing
    let (first_windows, from, second_windows, second_idle, third_idle) = p.incremental;
    assert!(!second_idle, "the second analysis had new blocks to read");
    assert!(
        from > 0,
        "the second analysis started after the first one's blocks"
    );
    assert!(
        second_windows < first_windows,
        "{second_windows} windows again out of {first_windows}"
    );
    assert!(third_idle, "the third analysis found nothing new");
    let dup: i64 = sqlx::query_scalar(
        "select count(*) from (select actor, role, window_start from actor_windows group by 1, 2, 3 having count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(dup, 0, "a window is stored once");
    // a second pass with the first one's settings reports nothing new
    let mut sentinel = pipeline_sentinel(&setup().await?).await?;
    let again = sentinel.run(&pool).await?;
    assert_eq!(again.reported, 0, "an anomaly is reported once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sentinel_killed_between_broadcast_and_recording_finds_its_tx_and_reports_once(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = datapact_index::db::connect(&p.url, 2).await?;
    let run = |crash: bool| {
        let mut cmd = tokio::process::Command::new(datapact_bin()?);
        cmd.args(["sentinel", "--once", "--min-severity", "low"])
            .args(["--rpc", &ctx.chain.url])
            .arg("--deployment")
            .arg(&ctx.deployment_path)
            .env("DATABASE_URL", &p.url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if crash {
            cmd.env("DATAPACT_SENTINEL_CRASH_AFTER_BROADCAST", "1");
        }
        anyhow::Ok(cmd)
    };
    let before: i64 = sqlx::query_scalar("select count(*) from sentinel_reports")
        .fetch_one(&pool)
        .await?;
    let status = run(true)?.status().await?;
    assert!(!status.success(), "the fault injection aborts the sentinel");
    let pending: Vec<(String, String)> = sqlx::query_as(
        "select evidence_hash, actor from sentinel_reports where status = 'pending'",
    )
    .fetch_all(&pool)
    .await?;
    assert_eq!(pending.len(), 1, "one report was sent but not recorded");
    let (evidence, actor) = pending[0].clone();
    let status = run(false)?.status().await?;
    assert!(status.success());
    let status: String =
        sqlx::query_scalar("select status from sentinel_reports where evidence_hash = $1")
            .bind(&evidence)
            .fetch_one(&pool)
            .await?;
    assert_eq!(status, "reported", "the restart found its own tx");
    let after: i64 = sqlx::query_scalar("select count(*) from sentinel_reports")
        .fetch_one(&pool)
        .await?;
    assert!(after > before);
    // on chain: exactly one alert carries that evidence
    let alerts: datapact_audit::msg::AlertsResponse = ctx
        .query(
            "audit",
            &datapact_audit::msg::QueryMsg::Alerts {
                subject: Some(actor),
                min_severity: None,
                state: None,
                start_after: None,
                limit: Some(100),
            },
        )
        .await?;
    let n = alerts
        .alerts
        .iter()
        .filter(|a| a.evidence_hash == evidence)
        .count();
    assert_eq!(n, 1, "reported exactly once on chain");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_endpoint_answers_and_bad_parameters_get_a_clear_4xx() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = serve::read_only_pool(&p.url).await?;
    let app = router(pool);
    let asset: i64 = {
        let w = datapact_index::db::connect(&p.url, 1).await?;
        sqlx::query_scalar("select min(asset_id) from assets")
            .fetch_one(&w)
            .await?
    };
    let ok = [
        "/".to_string(),
        "/api/overview".into(),
        "/assets".into(),
        "/api/assets?limit=5".into(),
        format!("/api/assets?q={}", p.burst),
        "/api/assets?max_score=60&sensitivity=personal".into(),
        format!("/assets/{asset}"),
        format!("/api/assets/{asset}"),
        "/agreements".into(),
        "/api/agreements?status=active".into(),
        format!("/api/agreements?consumer={}", p.burst),
        "/consents".into(),
        "/api/consents?state=withdrawn".into(),
        "/anomalies".into(),
        "/api/anomalies?method=rule".into(),
        "/api/anomalies?severity=high&role=consumer".into(),
        "/api/anomalies?after_score=0.9&after_id=1".into(),
        format!("/actors/{}", p.burst),
        format!("/api/actors/{}", p.burst),
        "/audit".into(),
        "/api/audit".into(),
        "/runs".into(),
        "/api/runs?limit=5".into(),
        "/runs/1".into(),
        "/api/runs/1".into(),
        "/forecasts".into(),
        format!("/api/forecasts?party={}&kind=consumer.alert", p.burst),
        "/export/forecasts.parquet".into(),
        format!("/tx/{}", p.denied_tx),
        format!("/api/tx/{}", p.denied_tx.to_lowercase()),
        "/export/assets.csv".into(),
        "/export/anomalies.parquet".into(),
        "/export/agreements.csv?status=active".into(),
        "/export/consents.csv".into(),
        "/export/alerts.csv".into(),
        "/healthz".into(),
    ];
    for uri in &ok {
        let (status, body) = get(&app, uri).await?;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    let bad = [
        ("/api/assets?limit=0", 400, "limit"),
        ("/api/assets?limit=100000", 400, "limit"),
        ("/api/assets?limit=abc", 400, "limit"),
        ("/api/assets?min_score=101", 400, "min_score"),
        ("/api/assets?sensitivity=secret", 400, "sensitivity"),
        (
            "/api/assets?q=%27%3B%20drop%20table%20assets",
            400,
            "not an address",
        ),
        ("/assets/abc", 400, "not an id"),
        ("/api/assets/999999999", 404, "not indexed"),
        ("/api/agreements?status=paused", 400, "status"),
        ("/api/consents?state=maybe", 400, "state"),
        ("/api/anomalies?severity=apocalyptic", 400, "severity"),
        ("/api/anomalies?after_score=0.5", 400, "go together"),
        ("/api/actors/%3Cscript%3E", 400, "not an address"),
        ("/api/tx/xyz", 400, "not a transaction hash"),
        ("/api/runs/abc", 400, "not an id"),
        ("/api/runs/999999", 404, "no run"),
        ("/api/forecasts?kind=weather", 400, "kind"),
        ("/api/forecasts?run=0", 400, "numbered from 1"),
        ("/api/forecasts/series", 400, "target is required"),
        (
            "/api/forecasts/series?target=asset.accesses&key=%3C",
            400,
            "address",
        ),
        ("/api/quality/abc", 400, "not a SHA-256"),
        (
            "/api/quality/0000000000000000000000000000000000000000000000000000000000000000",
            404,
            "no quality report",
        ),
        (
            "/tx/0000000000000000000000000000000000000000000000000000000000000000",
            404,
            "not indexed",
        ),
        ("/export/passwords.csv", 404, "no export"),
        ("/export/assets.xlsx", 404, "csv or parquet"),
        ("/no/such/page", 404, ""),
    ];
    for (uri, want, words) in bad {
        let (status, body) = get(&app, uri).await?;
        assert_eq!(status.as_u16(), want, "{uri}: {body}");
        assert!(body.contains(words), "{uri}: {body:?} should say {words:?}");
        assert!(
            !body.contains("ERROR:") && !body.contains("sqlx"),
            "{uri} leaks: {body}"
        );
    }
    // a database without the schema: the read-only server says what to run instead of failing
    // on a migration it may not apply
    let empty = fresh_database("e2e_empty").await?;
    let bare = serve::read_only_pool(&empty).await?;
    let why = datapact_index::db::check_schema(&bare)
        .await
        .expect_err("no schema yet");
    assert!(
        format!("{why:#}").contains("no datapact schema") && format!("{why:#}").contains("ingest"),
        "{why:#}"
    );
    bare.close().await;
    // an empty index is shown as such, not as an error
    datapact_index::db::connect(&empty, 1).await?.close().await;
    let empty_pool = serve::read_only_pool(&empty).await?;
    datapact_index::db::check_schema(&empty_pool).await?;
    let empty_app = router(empty_pool);
    let (status, body) = get(&empty_app, "/").await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Nothing is indexed yet"), "{body}");
    for uri in [
        "/assets",
        "/agreements",
        "/consents",
        "/anomalies",
        "/audit",
        "/runs",
        "/forecasts",
        "/api/forecasts",
        "/api/overview",
    ] {
        let (status, body) = get(&empty_app, uri).await?;
        assert_eq!(status, StatusCode::OK, "{uri} on an empty index: {body}");
    }
    // the JSON is what the pages show
    let (_, body) = get(&app, "/api/anomalies?limit=3").await?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    let rows = v.as_array().cloned().unwrap_or_default();
    assert!(
        !rows.is_empty() && rows[0]["score"].as_f64().is_some(),
        "{body}"
    );
    assert!(rows
        .windows(2)
        .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()));
    // the run forecast: every consumer has a risk (highest first), with what drives it
    let (_, body) = get(&app, "/api/forecasts?limit=500").await?;
    let risks: Vec<serde_json::Value> = serde_json::from_str::<serde_json::Value>(&body)?["risks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let p: Vec<f64> = risks
        .iter()
        .filter(|r| r["drivers"] != "")
        .filter_map(|r| r["value"].as_f64())
        .collect();
    assert!(!p.is_empty() && p.len() == risks.len(), "{body}");
    assert!(p.iter().all(|x| (0.0..=1.0).contains(x)) && p.windows(2).all(|w| w[0] >= w[1]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_the_injected_misbehaviour_and_leads_from_an_anomaly_to_its_transaction(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = serve::read_only_pool(&p.url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState {
        pool,
        chain: Some(ctx.chain.clone()),
        deployment: Some(ctx.d.clone()),
    };
    tokio::spawn(async move { axum::serve(listener, serve::app(state)).await });
    let build = workspace_root().join("build");
    let downloads = build.join("downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    let shots = build.join("screenshots");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let b = Browser::start(port, &downloads).await?;

    // every page loads, without errors in the console
    let asset: i64 = {
        let w = datapact_index::db::connect(&p.url, 1).await?;
        sqlx::query_scalar(
            "select coalesce(max(child_asset), (select min(asset_id) from assets)) from lineage_edges",
        )
        .fetch_one(&w)
        .await?
    };
    let pages: Vec<(&str, String)> = vec![
        ("overview", "/".into()),
        ("assets", "/assets".into()),
        ("asset", format!("/assets/{asset}")),
        ("agreements", "/agreements".into()),
        ("consents", "/consents".into()),
        ("anomalies", "/anomalies".into()),
        ("actor", format!("/actors/{}", p.burst)),
        ("audit", "/audit".into()),
        ("runs", "/runs".into()),
        ("run", "/runs/1".into()),
        ("forecasts", "/forecasts".into()),
        ("tx", format!("/tx/{}", p.denied_tx)),
    ];
    b.console().await?;
    for (name, path) in &pages {
        b.goto(&format!("{base}{path}")).await?;
        let text = b.body_text().await?;
        assert!(!text.contains("internal error"), "{path}: {text}");
        let errors: Vec<_> = b
            .console()
            .await?
            .into_iter()
            .filter(|(level, _)| level == "SEVERE")
            .collect();
        assert!(errors.is_empty(), "{path}: console errors {errors:?}");
        b.screenshot(&shots.join(format!("{name}.png"))).await?;
    }

    // the injected misbehaviour is in the top ranks
    b.goto(&format!("{base}/anomalies")).await?;
    let mut ranked = Vec::new();
    for row in b.find_all("table.anomalies tr[data-actor]").await? {
        ranked.push(b.attr(&row, "data-actor").await?.unwrap_or_default());
    }
    let rank_of: BTreeMap<&str, usize> = ranked
        .iter()
        .enumerate()
        .rev()
        .map(|(i, a)| (a.as_str(), i + 1))
        .collect();
    for l in &p.labels {
        let r = rank_of.get(l.actor.as_str()).copied();
        println!("{:<24} {} ranked {:?}", l.kind, l.actor, r);
        assert!(
            r.is_some_and(|r| r <= 15),
            "{} ({}) is not in the top 15 anomalies: {ranked:?}",
            l.kind,
            l.actor
        );
    }

    // drill down: anomaly -> actor -> its refused access after the suspension -> the tx
    let link = b
        .find(&format!(
            "table.anomalies tr[data-actor='{}'] a[href^='/actors/']",
            p.burst
        ))
        .await?;
    b.click(&link).await?;
    assert!(b
        .current_url()
        .await?
        .contains(&format!("/actors/{}", p.burst)));
    let tx_link = b
        .find(&format!("table.activity a[href='/tx/{}']", p.denied_tx))
        .await?;
    b.click(&tx_link).await?;
    let hash = b.text(&b.find("#tx-hash").await?).await?;
    let height = b.text(&b.find("#tx-height").await?).await?;
    assert_eq!(hash, p.denied_tx);
    assert_eq!(height, p.denied_height.to_string());
    assert!(b.body_text().await?.contains("consumer_suspended"));
    b.screenshot(&shots.join("drill-down-tx.png")).await?;

    // laundering -> its product's asset page (the finding names the attested product)
    let (launderer, product) = p.laundered_product();
    b.goto(&format!("{base}/anomalies?method=rule")).await?;
    let link = b
        .find(&format!(
            "table.anomalies tr[data-actor='{launderer}'] a.asset[href='/assets/{product}']"
        ))
        .await?;
    b.click(&link).await?;
    assert!(b
        .current_url()
        .await?
        .ends_with(&format!("/assets/{product}")));

    // an export downloads
    b.goto(&format!("{base}/anomalies")).await?;
    let export = b.find("a.export[href^='/export/anomalies.csv']").await?;
    b.click(&export).await?;
    let file = downloads.join("anomalies.csv");
    let mut waited = 0;
    while !file.is_file() && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let csv = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("no download at {}: {e}", file.display()))?;
    assert!(
        csv.lines().next().is_some_and(|h| h.contains("anomaly_id")) && csv.contains(&p.burst),
        "{csv}"
    );
    println!("screenshots in {}", shots.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_offers_shows_each_offered_assets_provenance_score_from_the_index(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    // `datapact consumer offers --json` against the index at `url`
    let offers_with = |url: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        let out = std::process::Command::new(datapact_bin()?)
            .args([
                "consumer",
                "--json",
                "--rpc",
                &ctx.chain.url,
                "--deployment",
            ])
            .arg(&ctx.deployment_path)
            .args(["offers", "--database-url", url])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let offers = offers_with(&p.url)?;
    let scored: Vec<_> = offers
        .iter()
        .filter(|o| o["provenance_score"].is_number())
        .collect();
    assert!(!scored.is_empty(), "some offered asset was scored");
    let pool = datapact_index::db::connect(&p.url, 1).await?;
    for o in scored {
        let asset = o["asset_id"].as_i64().unwrap_or_default();
        let want = datapact_analytics::store::latest_asset_scores(&pool, &[asset]).await?;
        assert_eq!(
            (o["provenance_score"].as_f64(), o["scored_version"].as_i64()),
            (
                want.first().map(|w| w.2),
                want.first().map(|w| i64::from(w.1))
            ),
            "asset {asset}: the newest run's score of its newest scored version"
        );
    }
    // no index: the offers still come, without scores
    let bare = offers_with("postgres://nobody@127.0.0.1:9/none")?;
    assert_eq!(bare.len(), offers.len());
    assert!(bare.iter().all(|o| o["provenance_score"].is_null()));

    // a provider of capped agreements reads when each will reach its cap
    let provider: String = sqlx::query_scalar(
        "select g.provider from agreements g join offers o on o.offer_id = g.offer_id \
         where o.access_cap is not null order by g.agreement_id limit 1",
    )
    .fetch_one(&pool)
    .await?;
    let out = std::process::Command::new(datapact_bin()?)
        .args([
            "provider",
            "--json",
            "--rpc",
            &ctx.chain.url,
            "--as",
            &provider,
        ])
        .arg("--deployment")
        .arg(&ctx.deployment_path)
        .args(["outlook", "--database-url", &p.url])
        .output()?;
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    let want: i64 = sqlx::query_scalar(
        "select count(*) from forecast_outlooks where kind = 'agreement.cap' and party = $1 \
         and run_id = (select max(run_id) from forecast_outlooks)",
    )
    .bind(&provider)
    .fetch_one(&pool)
    .await?;
    assert!(
        out.status.success() && want > 0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines.len() as i64, want);
    assert!(lines
        .iter()
        .all(|l| l["kind"] == "agreement.cap" && l["party"] == provider.as_str()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_behind_an_alert_is_anchored_and_verifies_with_the_alerts_evidence(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = datapact_index::db::connect(&p.url, 2).await?;
    // the burst's alert names the run that found it, and that run's manifest
    let report: String = sqlx::query_scalar(
        "select report_text from sentinel_reports where actor = $1 and status = 'reported' limit 1",
    )
    .bind(&p.burst)
    .fetch_one(&pool)
    .await?;
    let report: serde_json::Value = serde_json::from_str(&report)?;
    let run = report["run"]["id"]
        .as_i64()
        .expect("the evidence names its run");
    let (code, v) = datapact_e2e::pipeline::verify_run(&ctx, &p.url, run)?;
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["manifest_sha256"], report["run"]["manifest_sha256"],
        "the evidence carries the anchored manifest's hash"
    );
    assert!(v["anchor"]["version"].as_i64().is_some());
    assert!(v["evidence_checked"].as_u64().unwrap_or(0) >= 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_false_positive_verdict_and_a_suppression_keep_the_sentinel_quiet_and_count_in_the_alerts_precision(
) -> anyhow::Result<()> {
    use datapact_analytics::feedback;
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = datapact_index::db::connect(&p.url, 2).await?;
    let sentinel = pipeline_sentinel(&ctx).await?;
    let before = feedback::alert_precision(&pool).await?;
    // the responder resolves the burst consumer's alert as a false positive, on chain
    let (seq, kind): (i64, String) = sqlx::query_as(
        "select alert_seq, kind from alerts where subject = $1 order by alert_seq limit 1",
    )
    .bind(&p.burst)
    .fetch_one(&pool)
    .await?;
    datapact::sentinel::respond(
        &ctx.chain,
        &ctx.d,
        localnet_wallet("responder")?,
        seq as u64,
        datapact::sentinel::Response::Resolve(format!(
            "{}: e2e, an export the provider had agreed to",
            feedback::FALSE_POSITIVE
        )),
    )
    .await?;
    ingest_all(&ctx, &pool, 1).await?;
    let after = feedback::alert_precision(&pool).await?;
    assert_eq!(after.resolved, before.resolved + 1, "{after:?}");
    assert_eq!(
        after.false_positives,
        before.false_positives + 1,
        "{after:?}"
    );
    assert!(after.precision.is_some_and(|x| x < 1.0), "{after:?}");
    // two anomalies not reported yet, each as an earlier run's row: the same actor and kind an
    // hour later, and another actor's
    let copy = |actor: &'static str, shift: &'static str| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into anomalies (run_id, role, actor, window_start, window_end, method, kind, score, severity, \
             explanation, features, first_height, last_height, txs, targets, model_version) \
             select run_id, role, {actor}, window_start + interval '{shift}', window_end + interval '{shift}', method, \
             kind, 0.99, 'critical', explanation, features, first_height, last_height, txs, targets, model_version \
             from anomalies where actor = $1 and kind = $2 order by anomaly_id limit 1 returning anomaly_id"
        )))
        .bind(&p.burst)
        .bind(&kind)
    };
    let mut added: Vec<i64> = Vec::new();
    for (actor, shift) in [("actor", "1 hour"), ("'wasm1feedbackother'", "2 hours")] {
        let id: i64 = sqlx::Row::get(&copy(actor, shift).fetch_one(&pool).await?, 0);
        added.push(id);
    }
    let candidates = |pool: sqlx::PgPool| {
        let sentinel = &sentinel;
        async move {
            let c = sentinel.candidates(&pool, 1000).await?;
            anyhow::Ok(c.into_iter().map(|c| c.actor).collect::<Vec<_>>())
        }
    };
    let now = candidates(pool.clone()).await?;
    assert!(
        !now.contains(&p.burst),
        "the false positive's actor and kind are not reported again: {now:?}"
    );
    assert!(now.iter().any(|a| a == "wasm1feedbackother"), "{now:?}");
    // a suppression of the other actor holds its anomaly back until it is lifted
    let id = feedback::suppress(
        &pool,
        "consumer",
        "wasm1feedbackother",
        None,
        None,
        "e2e: a load test account",
        "e2e",
    )
    .await?;
    let now = candidates(pool.clone()).await?;
    assert!(
        !now.iter().any(|a| a == "wasm1feedbackother"),
        "suppressed: {now:?}"
    );
    assert!(feedback::lift(&pool, id).await?);
    assert!(!feedback::lift(&pool, id).await?, "lifted once");
    let now = candidates(pool.clone()).await?;
    assert!(
        now.iter().any(|a| a == "wasm1feedbackother"),
        "lifted: {now:?}"
    );
    // the dashboard's audit page says what was measured
    let app = router(pool.clone());
    let (code, body) = get(&app, "/api/audit").await?;
    assert_eq!(code, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(
        v["precision"]["false_positives"], after.false_positives,
        "{}",
        v["precision"]
    );
    let (_, page) = get(&app, "/audit").await?;
    assert!(page.contains("Measured precision of past alerts"), "{page}");
    // the shared pipeline's later tests see its anomalies as they were
    sqlx::query("delete from anomalies where anomaly_id = any($1)")
        .bind(&added)
        .execute(&pool)
        .await?;
    Ok(())
}
