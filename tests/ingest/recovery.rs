//! The ingester interrupted: killed at random moments, the node stopping under a follower,
//! Postgres restarting mid-backfill and under a follower that holds the writer lock. Each ends
//! with the index an uninterrupted run writes, and one writer at a time.

use std::os::unix::process::ExitStatusExt;

use rand::{Rng, SeedableRng};

use datapact_e2e::pg_cluster;

use super::*;

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
