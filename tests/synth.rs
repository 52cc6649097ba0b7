//! Synthetic histories (`datapact-sim synth`) on a real Postgres: the generator's variants write
//! labelled evasions and mark the honest noise they add (docs/anomalies.md, "Variants").

use datapact_e2e::fresh_database;

#[tokio::test(flavor = "multi_thread")]
async fn synth_variants_write_labelled_evasions_and_mark_the_honest_noise_they_add(
) -> anyhow::Result<()> {
    use datapact_sim::synth::{self, SynthConfig, Variant, HELD_OUT, TRAINING};
    let url = fresh_database("e2e_synth_variants").await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    let all: Vec<Variant> = TRAINING.iter().chain(HELD_OUT.iter()).copied().collect();
    let cfg = SynthConfig {
        seed: 5,
        // enough consumers that some night shifts are left over after the injections pick
        // theirs (with 80, none were once the late joiners stopped being picked)
        consumers: 200,
        accesses: 80_000,
        days: 5,
        injections: 4,
        progress: false,
        chain_id: format!("{}5", datapact_index::db::SYNTHETIC_CHAIN_PREFIX),
        labels: std::env::temp_dir().join("e2e-synth-variants.jsonl"),
        variants: all.clone(),
        ..SynthConfig::default()
    };
    datapact_index::db::replace_with_synthetic(&pool, false).await?;
    let s = synth::run(&pool, &cfg).await?;
    for v in &all {
        match v.kind() {
            // every attack variant injected instances of its kind that happened on the chain
            Some(kind) => {
                let ls: Vec<_> = s
                    .labels
                    .iter()
                    .filter(|l| l.variant.as_deref() == Some(v.name()))
                    .collect();
                assert!(!ls.is_empty(), "{} injected nothing", v.name());
                for l in ls {
                    assert_eq!(l.kind, kind, "{}", v.name());
                    assert!(l.first_height.is_some(), "{} never happened", v.name());
                }
            }
            // every honest-noise variant says where it changed behaviour
            None => assert!(
                s.noise.iter().any(|m| m.variant == v.name()),
                "{} marked nothing",
                v.name()
            ),
        }
    }
    // the base generator's instances carry no variant
    assert!(s.labels.iter().any(|l| l.variant.is_none()));

    // self-attested: the laundered product's attestors attested nothing else in the history
    let products: Vec<(i64, i32)> = s
        .labels
        .iter()
        .filter(|l| l.variant.as_deref() == Some("self-attested"))
        .filter_map(|l| {
            let (a, v) = datapact_analytics::target::version_of(l.targets.last()?)?;
            Some((i64::try_from(a).ok()?, i32::try_from(v).ok()?))
        })
        .collect();
    assert!(!products.is_empty());
    for (asset, version) in products {
        let records: Vec<i64> = sqlx::query_scalar(
            "select (select count(*) from attestations o where o.attestor = a.attestor)
               from attestations a where a.asset_id = $1 and a.version = $2",
        )
        .bind(asset)
        .bind(version)
        .fetch_all(&pool)
        .await?;
        assert_eq!(
            records,
            vec![1, 1, 1],
            "three fresh wallets, one attestation each"
        );
    }

    // a retry storm: one consumer refused for its cap 5 or more times in one block
    let storm: Option<i64> = sqlx::query_scalar(
        "select max(n) from (select count(*) n from denied_attempts
           where reason = 'cap_reached' group by height, consumer) x",
    )
    .fetch_one(&pool)
    .await?;
    assert!(storm.unwrap_or(0) >= 5, "no retry storm: {storm:?}");
    // honest refusals of many reasons from consumers no label names
    let labelled: Vec<String> = s.labels.iter().map(|l| l.actor.clone()).collect();
    let reasons: i64 = sqlx::query_scalar(
        "select count(distinct reason) from denied_attempts where consumer <> all($1)",
    )
    .bind(&labelled)
    .fetch_one(&pool)
    .await?;
    assert!(reasons >= 6, "honest refusals of {reasons} reasons");
    // a late joiner has no accesses before it joins
    for m in s.noise.iter().filter(|m| m.variant == "late-joiners") {
        if labelled.contains(&m.actor) {
            continue;
        }
        let early: i64 =
            sqlx::query_scalar("select count(*) from accesses where consumer = $1 and height < $2")
                .bind(&m.actor)
                .bind(m.first_height as i64)
                .fetch_one(&pool)
                .await?;
        assert_eq!(early, 0, "{} accessed before it joined", m.actor);
    }
    // night shifts work nights: most of their traffic between 20:00 and 08:00, unlike the rest
    let night_share = |shifted: bool| {
        let actors: Vec<String> = s
            .noise
            .iter()
            .filter(|m| m.variant == "night-shift" && !labelled.contains(&m.actor))
            .map(|m| m.actor.clone())
            .collect();
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<f64>>(
                "select avg(case when extract(hour from b.time at time zone 'UTC') >= 20
                                   or extract(hour from b.time at time zone 'UTC') < 8
                                 then 1.0 else 0.0 end)::float8
                   from accesses a join blocks b using (height)
                  where (a.consumer = any($1)) = $2",
            )
            .bind(&actors)
            .bind(shifted)
            .fetch_one(&pool)
            .await
        }
    };
    let (shifted, rest) = (night_share(true).await?, night_share(false).await?);
    assert!(
        shifted.unwrap_or(0.0) > 0.6 && rest.unwrap_or(1.0) < 0.4,
        "night share: shifted {shifted:?}, the rest {rest:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_on_a_claimed_database_is_refused_until_the_first_lets_it_go(
) -> anyhow::Result<()> {
    use datapact_index::db;
    let url = fresh_database("e2e_synth_claim").await?;
    let first = db::claim_url(&url).await?;
    let second = db::claim_url(&url).await;
    let refused = second.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(
        refused.contains("another run") && refused.contains("e2e_synth_claim"),
        "{refused}"
    );
    assert!(
        refused.contains("--database-url"),
        "says what to do: {refused}"
    );
    // a claim on another database is another claim
    let other = fresh_database("e2e_synth_claim_other").await?;
    let beside = db::claim_url(&other).await?;
    first.release().await?;
    // once let go, the next run gets it
    let again = db::claim_url(&url).await?;
    again.release().await?;
    beside.release().await?;
    Ok(())
}
