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

// the dashboard's and the API's tests, on the same pipeline run
#[path = "pipeline/dashboard.rs"]
mod dashboard;

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
