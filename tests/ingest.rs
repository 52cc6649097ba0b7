//! End to end: the seeded workload on a real chain, ingested into a real Postgres; the typed
//! tables must say what the contracts answer, and re-ingesting changes nothing. The ingester
//! interrupted is in `ingest/recovery.rs`, its connections to Postgres in `ingest/connections.rs`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::OnceCell;

use datapact_agreements::msg::{AgreementResponse, QueryMsg as AQ};
use datapact_agreements::state::AgreementStatus;
use datapact_consent::msg::{ConsentResponse, QueryMsg as CQ};
use datapact_e2e::{datapact_bin, fresh_database, lock, setup, workspace_root, Ctx};
use datapact_index::{ingest, IngestConfig};
use datapact_registry::msg::{AssetResponse, QueryMsg as RQ};
use datapact_sim::workload::{self, WorkloadConfig};

// the ingester killed, its node stopped, Postgres restarted under it
#[path = "ingest/recovery.rs"]
mod recovery;

// the connections to Postgres, as the operating system sees them
#[path = "ingest/connections.rs"]
mod connections;

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
