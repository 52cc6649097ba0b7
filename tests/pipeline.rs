//! The whole loop on a real chain and a real Postgres: the seeded workload injects misbehaviour,
//! the indexer ingests it, the analytics detect it, the sentinel reports it on chain, the audit
//! contract suspends the offender, the next access is refused, and all of it shows in Postgres
//! and on the dashboard (driven in headless Chromium), whose API answers every endpoint.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use tower::ServiceExt;

use datapact::analytics::{self, AnalyzeConfig};
use datapact::chain::keys::{localnet_accounts, localnet_wallet};
use datapact::ingest::{self, IngestConfig};
use datapact::sentinel::{Sentinel, SentinelConfig};
use datapact::serve::{self, AppState};
use datapact::workload::{self, Label, WorkloadConfig};
use datapact_agreements::msg::{ConsumerSuspensionResponse, ExecuteMsg as A, QueryMsg as AQ};
use datapact_e2e::webdriver::Browser;
use datapact_e2e::{datapact_bin, fresh_database, lock, setup, workspace_root, Ctx};
use datapact_types::Severity;

/// What the shared run left for the tests to check.
#[derive(Clone, Debug)]
struct Pipeline {
    url: String,
    labels: Vec<Label>,
    burst: String,
    /// the refused access the burst consumer attempted after its suspension
    denied_tx: String,
    denied_height: u64,
    /// seconds from the burst's last block to the block that suspended the consumer
    seconds_to_suspension: f64,
    reported: u32,
    /// (windows of the first analysis, where the second started, its windows, whether the
    /// second and the third found nothing new)
    incremental: (usize, i64, usize, bool, bool),
}

static PIPELINE: OnceCell<Pipeline> = OnceCell::const_new();

fn local_name(addr: &str) -> anyhow::Result<String> {
    for (name, _, _) in localnet_accounts() {
        if localnet_wallet(&name)?.addr() == addr {
            return Ok(name);
        }
    }
    anyhow::bail!("{addr} is not a local account")
}

async fn ingest_all(ctx: &Ctx, pool: &PgPool, from: u64) -> anyhow::Result<()> {
    let head = ingest::head(&ctx.chain).await?;
    let cp: Option<i64> = sqlx::query_scalar("select height from checkpoint")
        .fetch_optional(pool)
        .await?;
    let cfg = IngestConfig {
        from: Some(cp.map_or(from, |h| h as u64 + 1)),
        to: Some(head),
        ..IngestConfig::default()
    };
    ingest::run(pool, &ctx.chain, &ctx.d, &cfg).await?;
    Ok(())
}

async fn block_time(pool: &PgPool, height: i64) -> anyhow::Result<f64> {
    Ok(
        sqlx::query_scalar("select extract(epoch from time)::float8 from blocks where height = $1")
            .bind(height)
            .fetch_one(pool)
            .await?,
    )
}

async fn pipeline(ctx: &Ctx) -> anyhow::Result<Pipeline> {
    PIPELINE
        .get_or_try_init(|| async {
            // 1. a workload with injected misbehaviour
            let start = ingest::head(&ctx.chain).await? + 1;
            let labels_path = workspace_root().join(".data/e2e/labels-pipeline.jsonl");
            let wl = WorkloadConfig {
                seed: 9,
                rounds: 10,
                batch: 4,
                inject: true,
                labels: labels_path,
            };
            let summary = workload::run(&ctx.chain, &ctx.d, &wl).await?;
            let labels = summary.labels.clone();
            let burst = labels
                .iter()
                .find(|l| l.kind == "access_burst")
                .map(|l| l.actor.clone())
                .ok_or_else(|| anyhow::anyhow!("the workload injected no burst"))?;
            // 2. ingest it, 3. analyze it
            let url = fresh_database("e2e_pipeline").await?;
            let pool = datapact::db::connect(&url, 4).await?;
            ingest_all(ctx, &pool, start).await?;
            let reports = workspace_root().join("build/e2e-reports");
            let cfg = AnalyzeConfig {
                reports,
                ..AnalyzeConfig::default()
            };
            let a = analytics::analyze(&pool, &cfg, true).await?;
            anyhow::ensure!(!a.anomalies.is_empty(), "the analysis found nothing");
            // 4. the sentinel reports what is high or critical
            let cfg = SentinelConfig {
                min_severity: Severity::High,
                once: true,
                ..SentinelConfig::default()
            };
            let mut sentinel = Sentinel::new(
                ctx.chain.clone(),
                &ctx.d,
                localnet_wallet("sentinel")?,
                cfg,
            )
            .await?;
            let stats = sentinel.run(&pool).await?;
            // 5. the chain suspended the burst consumer
            let s: ConsumerSuspensionResponse = ctx
                .query(
                    "agreements",
                    &AQ::ConsumerSuspension {
                        consumer: burst.clone(),
                    },
                )
                .await?;
            let suspension = s
                .suspension
                .ok_or_else(|| anyhow::anyhow!("the burst consumer {burst} was not suspended"))?;
            // 6. its next access is refused
            let (agreement, purpose): (i64, String) = sqlx::query_as(
                "select agreement_id, purpose from agreements where consumer = $1 order by agreement_id limit 1",
            )
            .bind(&burst)
            .fetch_one(&pool)
            .await?;
            let subject: Option<String> = sqlx::query_scalar(
                "select subject from accesses where agreement_id = $1 and subject is not null limit 1",
            )
            .bind(agreement)
            .fetch_optional(&pool)
            .await?;
            let o = ctx
                .exec(
                    &local_name(&burst)?,
                    "agreements",
                    &A::RecordAccess {
                        agreement_id: agreement as u64,
                        purpose,
                        subject,
                    },
                    &[],
                )
                .await?;
            anyhow::ensure!(!o.ok(), "the suspended consumer's access went through");
            anyhow::ensure!(
                o.log.contains("consumer_suspended"),
                "refused for another reason: {}",
                o.log
            );
            // 7. all of it indexed
            ingest_all(ctx, &pool, start).await?;
            let (alert_height,): (i64,) = sqlx::query_as(
                "select a.height from alerts a join sentinel_reports r on r.evidence_hash = a.evidence_hash \
                 where a.subject = $1 order by a.height limit 1",
            )
            .bind(&burst)
            .fetch_one(&pool)
            .await?;
            // 8. a responder lifts the suspensions (the shared chain's consumers are needed by
            // other tests), and that too is indexed
            lift_all(ctx, &pool).await?;
            ingest_all(ctx, &pool, start).await?;
            // 9. the analysis again: only the new blocks' windows, then nothing to do
            let cfg = AnalyzeConfig {
                reports: workspace_root().join("build/e2e-reports"),
                ..AnalyzeConfig::default()
            };
            let second = analytics::analyze(&pool, &cfg, true).await?;
            let third = analytics::analyze(&pool, &cfg, true).await?;
            let incremental = (
                a.tables.iter().map(|(t, _)| t.rows.len()).sum::<usize>(),
                second.from_height,
                second.tables.iter().map(|(t, _)| t.rows.len()).sum::<usize>(),
                second.up_to_date,
                third.up_to_date,
            );
            let label = labels.iter().find(|l| l.kind == "access_burst").cloned();
            let last = label.and_then(|l| l.last_height).unwrap_or(0) as i64;
            let seconds =
                block_time(&pool, alert_height).await? - block_time(&pool, last).await?;
            println!(
                "burst by {burst}: last burst block {last}, suspended by alert {} at height {alert_height}: {seconds:.1} s from the burst's last transaction to the suspension (ingest, analyze and sentinel run once each in this test)",
                suspension.alert_seq
            );
            let _ = (stats.reported, suspension.alert_seq);
            Ok::<_, anyhow::Error>(Pipeline {
                url,
                labels,
                burst,
                denied_tx: o.hash.clone(),
                denied_height: o.height,
                seconds_to_suspension: seconds,
                reported: stats.reported,
                incremental,
            })
        })
        .await
        .cloned()
}

/// Lifts every suspension an alert caused, so the shared chain's consumers are free again.
async fn lift_all(ctx: &Ctx, pool: &PgPool) -> anyhow::Result<()> {
    let seqs: Vec<i64> = sqlx::query_scalar(
        "select a.alert_seq from alerts a where a.suspended and not exists \
         (select 1 from consumer_suspensions s where s.alert_seq = a.alert_seq and s.lifted)",
    )
    .fetch_all(pool)
    .await?;
    for seq in seqs {
        datapact::sentinel::respond(
            &ctx.chain,
            &ctx.d,
            localnet_wallet("responder")?,
            seq as u64,
            datapact::sentinel::Response::Lift,
        )
        .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detected_burst_becomes_an_alert_that_suspends_the_consumer_and_all_of_it_is_indexed(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = datapact::db::connect(&p.url, 2).await?;
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
    // a second pass reports nothing new
    let ctx2 = setup().await?;
    let mut sentinel = Sentinel::new(
        ctx2.chain.clone(),
        &ctx2.d,
        localnet_wallet("sentinel")?,
        SentinelConfig {
            once: true,
            ..SentinelConfig::default()
        },
    )
    .await?;
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
    let pool = datapact::db::connect(&p.url, 2).await?;
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

fn router(pool: PgPool) -> axum::Router {
    serve::app(AppState {
        pool,
        chain: None,
        deployment: None,
    })
}

async fn get(app: &axum::Router, uri: &str) -> anyhow::Result<(StatusCode, String)> {
    let r = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty())?)
        .await?;
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 16 << 20).await?;
    Ok((status, String::from_utf8_lossy(&bytes).to_string()))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_endpoint_answers_and_bad_parameters_get_a_clear_4xx() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let p = pipeline(&ctx).await?;
    let pool = serve::read_only_pool(&p.url).await?;
    let app = router(pool);
    let asset: i64 = {
        let w = datapact::db::connect(&p.url, 1).await?;
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
    let why = datapact::db::check_schema(&bare)
        .await
        .expect_err("no schema yet");
    assert!(
        format!("{why:#}").contains("no datapact schema") && format!("{why:#}").contains("ingest"),
        "{why:#}"
    );
    bare.close().await;
    // an empty index is shown as such, not as an error
    datapact::db::connect(&empty, 1).await?.close().await;
    let empty_pool = serve::read_only_pool(&empty).await?;
    datapact::db::check_schema(&empty_pool).await?;
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
        let w = datapact::db::connect(&p.url, 1).await?;
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
