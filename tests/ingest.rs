//! End to end: the seeded workload on a real chain, ingested into a real Postgres; the typed
//! tables must say what the contracts answer, and re-ingesting changes nothing.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use tokio::sync::OnceCell;

use datapact_agreements::msg::{AgreementResponse, QueryMsg as AQ};
use datapact_agreements::state::AgreementStatus;
use datapact_consent::msg::{ConsentResponse, QueryMsg as CQ};
use datapact_e2e::{datapact_bin, fresh_database, lock, pg_cluster, setup, workspace_root, Ctx};
use datapact_index::{ingest, IngestConfig};
use datapact_registry::msg::{AssetResponse, QueryMsg as RQ};
use datapact_sim::workload::{self, WorkloadConfig};

fn cfg(from: u64, to: u64) -> IngestConfig {
    IngestConfig {
        from: Some(from),
        to: Some(to),
        follow: false,
        concurrency: 8,
        batch_blocks: 50,
        ..IngestConfig::default()
    }
}

/// (rows, md5 of all rows in a fixed order) for every table the indexer writes, up to `max`.
async fn table_checksums(
    pool: &PgPool,
    max: u64,
) -> anyhow::Result<BTreeMap<String, (i64, String)>> {
    let mut out = BTreeMap::new();
    for (table, _) in datapact_index::TABLES {
        let sql = format!(
            "select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') \
             from {table} t where height <= $1"
        );
        let (n, sum): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(max as i64)
            .fetch_one(pool)
            .await?;
        out.insert(table.to_string(), (n, sum));
    }
    Ok(out)
}

/// The seeded workload, run once per test binary on the shared test chain; returns the head
/// after it. Tests then index `first_height..=head` of that chain.
static WORKLOAD: OnceCell<u64> = OnceCell::const_new();

async fn chain_with_workload(ctx: &Ctx) -> anyhow::Result<u64> {
    let head = WORKLOAD
        .get_or_try_init(|| async {
            let labels = workspace_root().join(".data/e2e/labels-ingest.jsonl");
            let wl = WorkloadConfig {
                seed: 5,
                rounds: 4,
                batch: 3,
                inject: true,
                labels,
            };
            workload::run(&ctx.chain, &ctx.d, &wl).await?;
            Ok::<_, anyhow::Error>(ingest::head(&ctx.chain).await?)
        })
        .await?;
    Ok(*head)
}

/// A reference index of `first..=to`, written in one uninterrupted run.
async fn reference(ctx: &Ctx, name: &str, to: u64) -> anyhow::Result<PgPool> {
    reference_of(ctx, name, ctx.d.first_height(), to).await
}

/// A reference index of `from..=to`, written in one uninterrupted run.
async fn reference_of(ctx: &Ctx, name: &str, from: u64, to: u64) -> anyhow::Result<PgPool> {
    let url = fresh_database(name).await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(from, to)).await?;
    Ok(pool)
}

/// `datapact ingest` as a child process against the test chain and `url`.
fn ingest_process(ctx: &Ctx, url: &str, args: &[&str]) -> anyhow::Result<tokio::process::Child> {
    Ok(ingest_command(ctx, url, args)?
        .stderr(Stdio::inherit())
        .spawn()?)
}

/// Like [`ingest_process`], its stderr in `log` (replaced).
fn ingest_process_logged(
    ctx: &Ctx,
    url: &str,
    args: &[&str],
    log: &std::path::Path,
) -> anyhow::Result<tokio::process::Child> {
    let file = std::fs::File::create(log)?;
    Ok(ingest_command(ctx, url, args)?.stderr(file).spawn()?)
}

fn ingest_command(ctx: &Ctx, url: &str, args: &[&str]) -> anyhow::Result<tokio::process::Command> {
    let mut cmd = tokio::process::Command::new(datapact_bin()?);
    cmd.arg("ingest")
        .args(["--rpc", &ctx.chain.url])
        .arg("--deployment")
        .arg(&ctx.deployment_path)
        .args(["--no-metrics", "--quiet"])
        .args(args)
        .env("DATABASE_URL", url)
        // E2E_INGEST_LOG=datapact_index=debug shows what an ingester under test is doing
        .env(
            "RUST_LOG",
            std::env::var("E2E_INGEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .kill_on_drop(true);
    Ok(cmd)
}

async fn checkpoint_height(pool: &PgPool) -> anyhow::Result<u64> {
    let h: Option<i64> = sqlx::query_scalar("select height from checkpoint")
        .fetch_optional(pool)
        .await?;
    Ok(h.unwrap_or(0) as u64)
}

async fn wait_checkpoint(pool: &PgPool, at_least: u64, within: Duration) -> anyhow::Result<u64> {
    let deadline = Instant::now() + within;
    loop {
        let h = checkpoint_height(pool).await.unwrap_or(0);
        if h >= at_least {
            return Ok(h);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the ingester did not reach height {at_least} within {within:?} (at {h})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_tables_say_what_the_contracts_answer_and_reingesting_changes_nothing(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    chain_with_workload(&ctx).await?;
    let url = fresh_database("e2e_ingest").await?;
    let pool = datapact_index::db::connect(&url, 4).await?;
    let head = ingest::head(&ctx.chain).await?;
    let stats = ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(ctx.d.first_height(), head)).await?;
    assert_eq!(stats.last_height, head);
    assert_eq!(stats.quarantined, 0, "every datapact event decodes");
    let (chain_id, checkpoint): (String, i64) =
        sqlx::query_as("select chain_id, height from checkpoint")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        (chain_id.as_str(), checkpoint as u64),
        (ctx.chain.chain_id.as_str(), head)
    );

    // every agreement: access count and status as the contract says
    let agreements: Vec<(i64, String)> =
        sqlx::query_as("select agreement_id, consumer from agreements order by 1")
            .fetch_all(&pool)
            .await?;
    assert!(
        agreements.len() >= 20,
        "the workload signs agreements: {}",
        agreements.len()
    );
    for (id, consumer) in &agreements {
        let chain: AgreementResponse = ctx
            .query(
                "agreements",
                &AQ::Agreement {
                    agreement_id: *id as u64,
                },
            )
            .await?;
        assert_eq!(chain.agreement.consumer.as_str(), consumer);
        let (count,): (i64,) = sqlx::query_as(
            "select coalesce(max(access_count), 0) from accesses where agreement_id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await?;
        assert_eq!(
            count as u64, chain.agreement.access_count,
            "access count of agreement {id}"
        );
        let (n,): (i64,) = sqlx::query_as("select count(*) from accesses where agreement_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await?;
        assert_eq!(n, count, "one row per access of agreement {id}");
        let last: Option<(String,)> = sqlx::query_as(
            "select change from agreement_changes where agreement_id = $1 and change in ('suspend', 'resume', 'terminate') \
             order by height desc, tx_index desc, event_index desc limit 1",
        )
        .bind(id)
        .fetch_optional(&pool)
        .await?;
        let status = match last.as_ref().map(|(c,)| c.as_str()) {
            Some("terminate") => AgreementStatus::Terminated,
            Some("suspend") => AgreementStatus::Suspended,
            _ => AgreementStatus::Active,
        };
        assert_eq!(status, chain.agreement.status, "status of agreement {id}");
    }

    // every consent: withdrawn exactly when the contract says so
    let consents: Vec<(i64, String, bool)> = sqlx::query_as(
        "select c.consent_id, c.subject, exists(select 1 from consent_withdrawals w where w.consent_id = c.consent_id) \
         from consents c order by 1",
    )
    .fetch_all(&pool)
    .await?;
    assert!(!consents.is_empty());
    for (id, subject, withdrawn) in &consents {
        let chain: ConsentResponse = ctx
            .query(
                "consent",
                &CQ::Consent {
                    consent_id: *id as u64,
                },
            )
            .await?;
        assert_eq!(&chain.consent.subject, subject);
        assert_eq!(
            chain.consent.withdrawn_at.is_some(),
            *withdrawn,
            "consent {id}"
        );
    }

    // every asset: owner and number of versions
    let assets: Vec<(i64, String, i64)> = sqlx::query_as(
        "select a.asset_id, a.owner, (select count(*) from versions v where v.asset_id = a.asset_id) from assets a order by 1",
    )
    .fetch_all(&pool)
    .await?;
    for (id, owner, versions) in &assets {
        let chain: AssetResponse = ctx
            .query(
                "registry",
                &RQ::Asset {
                    asset_id: *id as u64,
                },
            )
            .await?;
        assert_eq!(chain.asset.owner.as_str(), owner);
        assert_eq!(
            chain.asset.latest_version as i64, *versions,
            "versions of asset {id}"
        );
    }
    // the highest asset id on chain is indexed (nothing missing at the end)
    let (max_id,): (Option<i64>,) = sqlx::query_as("select max(asset_id) from assets")
        .fetch_one(&pool)
        .await?;
    let next: Result<AssetResponse, _> = ctx
        .query(
            "registry",
            &RQ::Asset {
                asset_id: max_id.unwrap_or(0) as u64 + 1,
            },
        )
        .await;
    assert!(
        next.is_err(),
        "an asset exists on chain that the index does not have"
    );

    // refused accesses: one denied attempt per failed RecordAccess, with a named reason
    let (denied, named): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where reason <> 'other') from denied_attempts",
    )
    .fetch_one(&pool)
    .await?;
    let (failed,): (i64,) =
        sqlx::query_as("select count(*) from txs where not success and action = 'record_access'")
            .fetch_one(&pool)
            .await?;
    assert!(denied > 0);
    assert_eq!(denied, failed);
    assert_eq!(named, denied, "every refusal reason is recognised");

    // re-ingesting a range, or all of it, leaves every table exactly as it was
    let before = table_checksums(&pool, head).await?;
    let mid = (ctx.d.first_height() + head) / 2;
    ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(mid, mid + 10)).await?;
    assert_eq!(
        checkpoint_height(&pool).await?,
        head,
        "re-ingesting a range below the checkpoint leaves it where it was"
    );
    ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(ctx.d.first_height(), head)).await?;
    let after = table_checksums(&pool, head).await?;
    assert_eq!(before, after);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_moments_the_ingester_ends_with_the_same_tables_as_an_uninterrupted_run(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let head = chain_with_workload(&ctx).await?;
    // a backfill long enough for many kills: at least 300 blocks (empty ones count too)
    let head = head.max(ctx.d.first_height() + 300);
    let now = ingest::head(&ctx.chain).await?;
    ctx.chain
        .wait_blocks(head.saturating_sub(now), Duration::from_secs(300))
        .await?;
    let reference = reference(&ctx, "e2e_crash_ref", head).await?;
    let url = fresh_database("e2e_crash").await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    let to = head.to_string();
    let from = ctx.d.first_height().to_string();
    // small batches and few fetches at once: many commits, so a kill can land anywhere
    let args = [
        "--from",
        &from,
        "--to",
        &to,
        "--batch-blocks",
        "2",
        "--concurrency",
        "2",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut kills = 0;
    let mut heights = Vec::new();
    let log = workspace_root().join(".data/e2e/ingest-crash.log");
    // The moment of each kill is drawn in the ingester's progress, not in time alone: a
    // quarter of the runs are killed 20-100 ms after they start (before or at their first
    // commits), the rest 0-15 ms after their checkpoint has moved 1-8 blocks (between or in
    // the middle of commits). Drawn in time alone, a faster ingester (sqlx 0.9.1, Nagle off)
    // finished the backfill before ten kills landed.
    while kills < 12 {
        // after the first run, resume from the checkpoint (no --from)
        let a: &[&str] = if kills == 0 { &args } else { &args[2..] };
        let start = checkpoint_height(&pool)
            .await?
            .max(ctx.d.first_height().saturating_sub(1));
        let by_time = rng.random_bool(0.25);
        let after = Duration::from_millis(rng.random_range(20..100));
        let blocks = rng.random_range(1..=8u64);
        let extra = Duration::from_millis(rng.random_range(0..15));
        let mut child = ingest_process_logged(&ctx, &url, a, &log)?;
        let started = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "an ingester run neither finished nor moved 8 blocks in 2 minutes"
            );
            let due = if by_time {
                started.elapsed() >= after
            } else {
                checkpoint_height(&pool).await? >= start + blocks
            };
            if due {
                if !by_time {
                    tokio::time::sleep(extra).await;
                }
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let status = match finished {
            Some(status) => status,
            None => {
                child.start_kill()?; // SIGKILL
                let status = child.wait().await?;
                if status.signal().is_none() {
                    status // it ended on its own just before the kill
                } else {
                    kills += 1;
                    heights.push(checkpoint_height(&pool).await?);
                    continue;
                }
            }
        };
        assert!(
            status.success(),
            "the ingester failed on its own ({status}): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        break;
    }
    // whatever is left, uninterrupted
    if checkpoint_height(&pool).await? < head {
        let status = ingest_process(&ctx, &url, &args[2..])?.wait().await?;
        assert!(status.success());
    }
    println!("killed {kills} times; checkpoints after each kill: {heights:?}");
    assert!(
        kills >= 10,
        "only {kills} kills landed before the backfill ended"
    );
    assert!(
        heights.windows(2).all(|w| w[0] <= w[1]),
        "the checkpoint never goes back: {heights:?}"
    );
    assert_eq!(checkpoint_height(&pool).await?, head);
    assert_eq!(
        table_checksums(&pool, head).await?,
        table_checksums(&reference, head).await?,
        "row for row, the killed-and-restarted index equals the uninterrupted one"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_survives_the_node_stopping_and_starting_again_without_a_gap(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    chain_with_workload(&ctx).await?;
    let url = fresh_database("e2e_follow").await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    let from = ctx.d.first_height().to_string();
    let mut follower = ingest_process(&ctx, &url, &["--from", &from, "--follow"])?;
    let head = ingest::head(&ctx.chain).await?;
    wait_checkpoint(&pool, head, Duration::from_secs(120)).await?;
    // a second ingester on the same database is refused, and writes nothing
    let checkpoint: (i64,) = sqlx::query_as("select coalesce(max(height), 0) from blocks")
        .fetch_one(&pool)
        .await?;
    let second = ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(ctx.d.first_height(), head)).await;
    assert!(
        matches!(second, Err(datapact_index::IngestError::Busy)),
        "while the follower holds the writer lock: {second:?}"
    );
    let after: (i64,) = sqlx::query_as("select coalesce(max(height), 0) from blocks")
        .fetch_one(&pool)
        .await?;
    assert!(after.0 >= checkpoint.0, "the follower's work stands");

    // the node goes away for a while, then comes back
    let net = ctx.net.clone();
    tokio::task::spawn_blocking(move || net.stop()).await??;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        follower.try_wait()?.is_none(),
        "the follower must wait for the node, not exit"
    );
    let net = ctx.net.clone();
    tokio::task::spawn_blocking(move || net.start()).await??;
    let ctx = setup().await?; // a fresh client for the restarted node
                              // new activity after the restart
    ctx.ok(
        "provider-1",
        "registry",
        &datapact_registry::msg::ExecuteMsg::RegisterAsset {
            name: "registered after a node restart".into(),
            description: None,
            sensitivity: datapact_types::Sensitivity::Public,
            tags: vec![],
        },
        &[],
    )
    .await?;
    let head = ingest::head(&ctx.chain).await?;
    wait_checkpoint(&pool, head, Duration::from_secs(60)).await?;
    follower.start_kill()?;
    follower.wait().await?;

    let (min, max, n): (i64, i64, i64) =
        sqlx::query_as("select min(height), max(height), count(*) from blocks")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        n,
        max - min + 1,
        "no height is missing between {min} and {max}"
    );
    let reference = reference(&ctx, "e2e_follow_ref", head).await?;
    assert_eq!(
        table_checksums(&pool, head).await?,
        table_checksums(&reference, head).await?,
        "what the follower wrote across the restart equals a one-shot index"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ingester_reconnects_when_postgres_restarts_mid_backfill() -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let head = chain_with_workload(&ctx).await?;
    // two blocks a batch is slow on purpose (the restart must land mid-run): over the last 600
    // blocks at most, so a test chain that has been running for hours does not make it longer
    let from = ctx.d.first_height().max(head.saturating_sub(600));
    let reference = reference_of(&ctx, "e2e_pgrestart_ref", from, head).await?;
    let ref_sums = table_checksums(&reference, head).await?;
    reference.close().await;
    let url = fresh_database("e2e_pgrestart").await?;
    let (from, to) = (from.to_string(), head.to_string());
    let mut child = ingest_process(
        &ctx,
        &url,
        &[
            "--from",
            &from,
            "--to",
            &to,
            "--batch-blocks",
            "2",
            "--concurrency",
            "2",
        ],
    )?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let restarted_mid_run = child.try_wait()?.is_none();
    let cluster = pg_cluster();
    tokio::task::spawn_blocking(move || cluster.restart()).await??;
    let status = tokio::time::timeout(Duration::from_secs(180), child.wait()).await??;
    assert!(status.success(), "the ingester gave up after the restart");
    assert!(
        restarted_mid_run,
        "the backfill ended before the restart: make it longer"
    );
    let pool = datapact_index::db::connect(&url, 2).await?;
    assert_eq!(checkpoint_height(&pool).await?, head);
    assert_eq!(table_checksums(&pool, head).await?, ref_sums);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_holds_the_writer_lock_again_after_postgres_restarts() -> anyhow::Result<()> {
    // the defect: the lock went with the connection Postgres dropped, the follower wrote on
    // without it, and a second ingester could then write beside it
    let _g = lock().await;
    let ctx = setup().await?;
    let head = chain_with_workload(&ctx).await?;
    let url = fresh_database("e2e_pglock").await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    let from = ctx.d.first_height().max(head.saturating_sub(200));
    let mut follower = ingest_process(&ctx, &url, &["--from", &from.to_string(), "--follow"])?;
    wait_checkpoint(&pool, head, Duration::from_secs(120)).await?;
    let cluster = pg_cluster();
    tokio::task::spawn_blocking(move || cluster.restart()).await??;
    // the follower has written blocks made after the restart
    let after = ingest::head(&ctx.chain).await? + 2;
    wait_checkpoint(&pool, after, Duration::from_secs(60)).await?;
    assert!(
        follower.try_wait()?.is_none(),
        "the follower must outlive the restart"
    );
    let second = ingest::run(&pool, &ctx.chain, &ctx.d, &cfg(from, after)).await;
    assert!(
        matches!(second, Err(datapact_index::IngestError::Busy)),
        "after the restart the follower holds the writer lock again: {second:?}"
    );
    follower.start_kill()?;
    follower.wait().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synthetic_history_refuses_a_database_that_holds_a_chains_index_unless_told_scratch(
) -> anyhow::Result<()> {
    let _g = lock().await;
    let ctx = setup().await?;
    let to = chain_with_workload(&ctx).await?;
    let pool = reference(&ctx, "e2e_synth_guard", to).await?;
    let before = table_checksums(&pool, to).await?;
    let e = datapact_index::db::replace_with_synthetic(&pool, false)
        .await
        .expect_err("an index of a chain is not scratch");
    let e = format!("{e:#}");
    assert!(
        e.contains(&format!("the index of chain {}", ctx.chain.chain_id))
            && e.contains("--scratch"),
        "{e}"
    );
    assert_eq!(
        table_checksums(&pool, to).await?,
        before,
        "nothing was changed"
    );
    // said in so many words, it is replaced; a synthetic history may then be replaced again
    datapact_index::db::replace_with_synthetic(&pool, true).await?;
    let n: i64 = sqlx::query_scalar("select count(*) from blocks")
        .fetch_one(&pool)
        .await?;
    assert_eq!(n, 0);
    sqlx::query("insert into checkpoint (id, chain_id, start_height, height) values (1, $1, 1, 1)")
        .bind(format!("{}1", datapact_index::db::SYNTHETIC_CHAIN_PREFIX))
        .execute(&pool)
        .await?;
    datapact_index::db::replace_with_synthetic(&pool, false).await?;
    Ok(())
}

/// The TCP sockets of this process connected to `port`, and whether each has Nagle's
/// algorithm off (`TCP_NODELAY`). Read from the process's own descriptors, as the pool keeps
/// its sockets to itself.
fn tcp_sockets_to(port: u16) -> Vec<(i32, bool)> {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `addr` is large enough for any address and `len` says how large it is; a
        // descriptor that is not a connected socket (or was closed meanwhile) fails the call
        let peer = unsafe {
            libc::getpeername(fd, (&raw mut addr).cast::<libc::sockaddr>(), &raw mut len)
        };
        if peer != 0 {
            continue;
        }
        let peer_port = match i32::from(addr.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in
                let v4 = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in>() };
                u16::from_be(v4.sin_port)
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6
                let v6 = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in6>() };
                u16::from_be(v6.sin6_port)
            }
            _ => continue,
        };
        if peer_port != port {
            continue;
        }
        let mut on: libc::c_int = 0;
        let mut on_len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `on` is a c_int and `on_len` its size, as TCP_NODELAY's value is
        let got = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&raw mut on).cast::<libc::c_void>(),
                &raw mut on_len,
            )
        };
        if got == 0 {
            out.push((fd, on != 0));
        }
    }
    out
}

/// With Nagle's algorithm on, a COPY's last message (CopyDone, a few bytes after the rows)
/// waits for the server to acknowledge the rows, which Linux delays by 40 ms: once per table
/// in every batch the ingester writes and every run the analysis stores. `make bench-ingest`
/// found the write path at a third of a raw COPY's rate on a chain of many small tables'
/// rows, and the server's log showed COPYs of a few rows taking 40-45 ms each. sqlx 0.9.0
/// left Nagle on (0.9.1 turns it off): every connection the project opens must have it off.
#[tokio::test(flavor = "multi_thread")]
async fn every_connection_to_postgres_sends_at_once_with_nagle_off() -> anyhow::Result<()> {
    let url = fresh_database("e2e_nodelay").await?;
    let port = url.parse::<sqlx::postgres::PgConnectOptions>()?.get_port();
    let pool = datapact_index::db::connect(&url, 2).await?;
    let mut a = pool.acquire().await?;
    let mut b = pool.acquire().await?;
    sqlx::query("select 1").execute(&mut *a).await?;
    sqlx::query("select 1").execute(&mut *b).await?;
    let sockets = tcp_sockets_to(port);
    assert!(
        sockets.len() >= 2,
        "the pool's two connections are TCP sockets to port {port}: {sockets:?}"
    );
    let nagle: Vec<i32> = sockets
        .iter()
        .filter(|(_, nodelay)| !nodelay)
        .map(|(fd, _)| *fd)
        .collect();
    assert!(
        nagle.is_empty(),
        "sockets to Postgres with Nagle's algorithm on (descriptors {nagle:?} of {sockets:?})"
    );
    Ok(())
}
