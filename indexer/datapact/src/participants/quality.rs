//! A quality checker's attestation on chain, and a consumer's requirement of one.

use std::path::Path;

use anyhow::Context;
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};
use datapact_quality::PASSED_CLAIM;
use datapact_registry::msg::{ExecuteMsg as RegistryMsg, QueryMsg as RQ, VersionResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::exec;

/// What `attest_passed` recorded.
#[derive(Debug, Serialize)]
pub struct Attested {
    pub asset_id: u64,
    pub version: u32,
    pub claim: &'static str,
    /// SHA-256 of the report's bytes.
    pub evidence_hash: String,
    pub tx: String,
}

/// Attests that `file`, which must be asset `asset_id` version `version` (its SHA-256 equals
/// the version's content hash on chain), passed: claim [`PASSED_CLAIM`], evidence the SHA-256
/// of `report` (the verdict as written for anyone to check).
pub async fn attest_passed(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    asset_id: u64,
    version: u32,
    file: &Path,
    report: &[u8],
) -> anyhow::Result<Attested> {
    let registry = deployment.address("registry")?;
    let v: VersionResponse = chain
        .smart(registry, &RQ::Version { asset_id, version })
        .await
        .with_context(|| format!("no version {version} of asset {asset_id} on this chain"))?;
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let (sha, _) = datapact_plane::table::hash_reader(std::io::BufReader::new(f))
        .with_context(|| format!("reading {}", file.display()))?;
    if !sha.eq_ignore_ascii_case(&v.version.content_hash) {
        anyhow::bail!(
            "{} is not asset {asset_id} version {version}: its SHA-256 is {sha}, the chain holds {} (a personal version's hash is its segments' root: check the file that was split)",
            file.display(),
            v.version.content_hash
        );
    }
    let evidence_hash = hex::encode(Sha256::digest(report));
    let o = exec(
        chain,
        sender,
        registry,
        &RegistryMsg::Attest {
            asset_id,
            version,
            claim: PASSED_CLAIM.to_string(),
            evidence_hash: evidence_hash.clone(),
        },
        &[],
    )
    .await?;
    Ok(Attested {
        asset_id,
        version,
        claim: PASSED_CLAIM,
        evidence_hash,
        tx: o.hash,
    })
}

/// Records a checker's report in the index (`quality_reports`, keyed by the SHA-256 of its
/// bytes: the evidence hash of an attestation that cites it), pass or fail, for the dashboard.
/// Recording the same report again changes nothing.
pub async fn record_report(
    pool: &sqlx::PgPool,
    asset_id: u64,
    version: u32,
    passed: bool,
    report: &[u8],
) -> anyhow::Result<String> {
    let text = std::str::from_utf8(report).context("a report is JSON text")?;
    let sha = hex::encode(Sha256::digest(report));
    sqlx::query(
        "insert into quality_reports (sha256, asset_id, version, passed, report) values ($1, $2, $3, $4, $5) \
         on conflict (sha256) do nothing",
    )
    .bind(&sha)
    .bind(i64::try_from(asset_id)?)
    .bind(i32::try_from(version)?)
    .bind(passed)
    .bind(text)
    .execute(pool)
    .await
    .context("recording the report in the index")?;
    Ok(sha)
}

/// The first of `attestors` with a standing [`PASSED_CLAIM`] on the version, if any.
pub async fn passed_by(
    chain: &Chain,
    deployment: &Deployment,
    asset_id: u64,
    version: u32,
    attestors: &[String],
) -> anyhow::Result<Option<String>> {
    let registry = deployment.address("registry")?;
    datapact_gateway::check::quality_passed(chain, registry, asset_id, version, attestors).await
}
