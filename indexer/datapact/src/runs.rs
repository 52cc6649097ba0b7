//! Auditable analysis runs on chain (docs/runs.md): a run's manifest hash anchored as a version
//! of the analyst's "analysis runs" asset on the registry, each version the previous run's
//! child; and `verify-run`, which checks a run against its manifest and the manifest against
//! its anchor.

use anyhow::Context;
use datapact_analytics::manifest::{Difference, FORMAT};
use datapact_analytics::runs::{self, Anchor};
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};
use datapact_registry::msg::{ExecuteMsg as RegistryMsg, QueryMsg as RQ, VersionResponse};
use datapact_types::events::{action, key};
use datapact_types::{Sensitivity, VersionRef};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::participants::exec;

/// The name of the asset whose versions are the anchored runs.
pub const RUNS_ASSET: &str = "datapact analysis runs";

/// Anchors run `run_id`'s manifest hash on chain (once: an anchored run returns its anchor).
pub async fn anchor(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    pool: &PgPool,
    run_id: i64,
) -> anyhow::Result<Anchor> {
    if let Some(a) = runs::anchor_of(pool, run_id).await? {
        return Ok(a);
    }
    let r = runs::record(pool, run_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no run {run_id} in this index"))?;
    let sha = r.manifest_sha256.ok_or_else(|| {
        anyhow::anyhow!(
            "run {run_id} has no manifest (it ran before runs had one): nothing to anchor"
        )
    })?;
    let registry = deployment.address("registry")?;
    let last = runs::last_anchor(pool, registry).await?;
    let asset_id: u64 = match &last {
        Some(a) => u64::try_from(a.asset_id)?,
        None => {
            let o = exec(
                chain,
                sender,
                registry,
                &RegistryMsg::RegisterAsset {
                    name: RUNS_ASSET.into(),
                    description: Some(
                        "each version's content hash is the SHA-256 of one analysis run's manifest (datapact docs/runs.md)"
                            .into(),
                    ),
                    sensitivity: Sensitivity::Public,
                    tags: vec!["datapact.analysis-runs".into()],
                },
                &[],
            )
            .await
            .context("registering the analysis-runs asset")?;
            o.wasm_id(action::REGISTER_ASSET, key::ASSET_ID)?
        }
    };
    let parents = last
        .iter()
        .filter_map(|a| {
            Some(VersionRef {
                asset_id,
                version: u32::try_from(a.version).ok()?,
            })
        })
        .collect();
    let o = exec(
        chain,
        sender,
        registry,
        &RegistryMsg::PublishVersion {
            asset_id,
            content_hash: sha.clone(),
            schema_hash: Some(hex::encode(Sha256::digest(FORMAT.as_bytes()))),
            uri: Some(format!("datapact-run:{run_id}")),
            parents,
        },
        &[],
    )
    .await
    .with_context(|| format!("anchoring run {run_id}"))?;
    let version: u32 = o.wasm_id(action::PUBLISH_VERSION, key::VERSION)?;
    let a = Anchor {
        run_id,
        manifest_sha256: sha,
        chain_id: chain.chain_id.clone(),
        registry: registry.to_string(),
        asset_id: i64::try_from(asset_id)?,
        version: i64::from(version),
        tx_hash: o.hash,
        height: i64::try_from(o.height)?,
    };
    runs::save_anchor(pool, &a).await?;
    Ok(a)
}

/// Anchors every run with a manifest and no anchor, oldest first.
pub async fn anchor_pending(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    pool: &PgPool,
) -> anyhow::Result<Vec<Anchor>> {
    let mut out = Vec::new();
    for run_id in runs::unanchored(pool).await? {
        out.push(anchor(chain, deployment, sender, pool, run_id).await?);
    }
    Ok(out)
}

/// What `verify-run` found.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub run_id: i64,
    pub ok: bool,
    pub manifest_sha256: String,
    pub from_height: i64,
    pub to_height: i64,
    pub anchor: Option<Anchor>,
    /// the sentinel's alerts whose evidence names this run, each checked
    pub evidence_checked: usize,
    pub differences: Vec<Difference>,
}

/// Verifies run `run_id`: [`runs::check`] (manifest, inputs, recomputation, outputs, files),
/// then the anchor: the registry version it names must hold the manifest's hash. Records the
/// verdict (the dashboard shows the last one).
pub async fn verify(pool: &PgPool, chain: &Chain, run_id: i64) -> anyhow::Result<Verification> {
    let checked = runs::check(pool, run_id).await?;
    let mut differences = checked.differences;
    // the sentinel's alerts that name this run: each evidence hash is its report's, and the
    // report is what the run's stored anomaly makes
    let evidence = crate::sentinel::evidence_of_run(pool, run_id).await?;
    let evidence_checked = evidence.len();
    for e in evidence {
        let name = format!("sentinel evidence {}", e.evidence_hash);
        let sha = hex::encode(Sha256::digest(e.report_text.as_bytes()));
        if sha != e.evidence_hash {
            differences.push(Difference {
                part: "evidence".into(),
                name: name.clone(),
                expected: format!("report text with sha256 {}", e.evidence_hash),
                found: format!("report text with sha256 {sha}"),
            });
        }
        if e.rebuilt.as_deref() != Some(e.report_text.as_str()) {
            differences.push(Difference {
                part: "evidence".into(),
                name,
                expected: e.report_text,
                found: e
                    .rebuilt
                    .unwrap_or_else(|| format!("no such anomaly in run {run_id}")),
            });
        }
    }
    let anchor = runs::anchor_of(pool, run_id).await?;
    match &anchor {
        None => differences.push(Difference {
            part: "anchor".into(),
            name: "run_anchors".into(),
            expected: format!("the manifest hash {} on chain", checked.manifest_sha256),
            found: format!("run {run_id} was never anchored (datapact analyze --anchor)"),
        }),
        Some(a) => {
            if a.chain_id != chain.chain_id {
                anyhow::bail!(
                    "run {run_id} is anchored on chain {}, and the RPC endpoint serves {}",
                    a.chain_id,
                    chain.chain_id
                );
            }
            let v: VersionResponse = chain
                .smart(
                    &a.registry,
                    &RQ::Version {
                        asset_id: u64::try_from(a.asset_id)?,
                        version: u32::try_from(a.version)?,
                    },
                )
                .await
                .with_context(|| {
                    format!(
                        "reading the anchor (asset {} version {}) from the registry",
                        a.asset_id, a.version
                    )
                })?;
            if v.version.content_hash != checked.manifest_sha256 {
                differences.push(Difference {
                    part: "anchor".into(),
                    name: format!("registry asset {} version {}", a.asset_id, a.version),
                    expected: format!("sha256 {}", checked.manifest_sha256),
                    found: format!("sha256 {}", v.version.content_hash),
                });
            }
        }
    }
    runs::save_verification(pool, run_id, &differences).await?;
    Ok(Verification {
        run_id,
        ok: differences.is_empty(),
        manifest_sha256: checked.manifest_sha256,
        from_height: checked.manifest.from_height,
        to_height: checked.manifest.to_height,
        anchor,
        evidence_checked,
        differences,
    })
}
