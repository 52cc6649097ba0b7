//! The provider's side: publish a file as an encrypted version, deliver data keys to signed
//! agreements, erase an asset's ciphertext and keys with its tombstone.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cosmwasm_std::Binary;
use datapact_agreements::msg::{
    AgreementsResponse, ConsumerSuspensionResponse, ExecuteMsg as AgreementsMsg, QueryMsg as AQ,
};
use datapact_agreements::state::AgreementStatus;
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};
use datapact_gateway::Store;
use datapact_plane::segments::{self, IndexedSegment, SegmentIndex};
use datapact_plane::table::{self, TableInfo};
use datapact_plane::{policy, seal, DataKey, PublicKey};
use datapact_registry::msg::{AssetResponse, ExecuteMsg as RegistryMsg, QueryMsg as RQ};
use datapact_types::events::{action, key};
use datapact_types::VersionRef;
use serde::Serialize;

use super::{exec, write_secret};

/// Where a provider keeps its data keys: `<dir>/<asset>/<version>.key` (age identities, 0600).
#[derive(Clone, Debug)]
pub struct Keyring {
    pub dir: PathBuf,
}

impl Keyring {
    pub fn path(&self, asset: u64, version: u32) -> PathBuf {
        self.dir
            .join(asset.to_string())
            .join(format!("{version}.key"))
    }

    /// The key of one agreement: what `DepositKey` gave the consumer; every version's data key
    /// is wrapped to it.
    pub fn agreement_path(&self, agreement_id: u64) -> PathBuf {
        self.dir
            .join("agreements")
            .join(format!("{agreement_id}.key"))
    }

    pub fn load_agreement(&self, agreement_id: u64) -> anyhow::Result<DataKey> {
        let path = self.agreement_path(agreement_id);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no key of agreement {agreement_id} at {} (was its key deposited from this keyring?)",
                path.display()
            )
        })?;
        Ok(DataKey::from_secret(&text)?)
    }

    pub fn load(&self, asset: u64, version: u32) -> anyhow::Result<DataKey> {
        let path = self.path(asset, version);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no data key for asset {asset} version {version} at {} (was it published from this keyring?)",
                path.display()
            )
        })?;
        Ok(DataKey::from_secret(&text)?)
    }
}

/// A provider's files: the gateway's store (ciphertext) and the keyring (data keys).
#[derive(Clone, Debug)]
pub struct ProviderFiles {
    pub store: Store,
    pub keyring: Keyring,
}

/// What `publish` did.
#[derive(Debug, Serialize)]
pub struct Published {
    pub asset_id: u64,
    pub version: u32,
    pub tx: String,
    pub table: TableInfo,
    /// The version's `content_hash` on chain: the file's SHA-256, or for personal data the
    /// root over its segments' leaves (docs/data-plane.md).
    pub content_hash: String,
    /// Personal data: how many subjects' segments were stored.
    pub subjects: Option<u64>,
    /// The ciphertext file, or the folder of a segmented version.
    pub ciphertext: PathBuf,
    pub ciphertext_bytes: u64,
}

/// The ciphertext staged under a temporary name in the asset's folder, moved where the gateway
/// serves it once the chain gave the version its number (dropped, it is deleted).
enum Staged {
    File(tempfile::NamedTempFile),
    Segments(tempfile::TempDir),
}

/// Publishes `file` as the next version of `asset_id`: hashes and fingerprints it, encrypts
/// it under a fresh data key into the gateway's store, publishes the version on chain and
/// keeps the key. Personal data (the asset's sensitivity decides) is split by
/// `subject_column` and stored one segment per subject. On any failure nothing is left behind
/// but the untouched file.
#[allow(clippy::too_many_arguments)]
pub async fn publish(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    files: &ProviderFiles,
    asset_id: u64,
    file: &Path,
    subject_column: Option<&str>,
    parents: Vec<VersionRef>,
) -> anyhow::Result<Published> {
    let (store, keyring) = (&files.store, &files.keyring);
    let registry = deployment.address("registry")?;
    let asset: AssetResponse = chain.smart(registry, &RQ::Asset { asset_id }).await?;
    let asset = asset.asset;
    if asset.tombstoned_height.is_some() {
        anyhow::bail!("asset {asset_id} is tombstoned: nothing can be published to it");
    }
    policy::check_publish(asset.sensitivity, subject_column)?;
    let info = table::describe(file)?;
    // encrypt into the store under a temporary name; the version number comes from the chain
    let dir = store.asset_dir(asset_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let data_key = DataKey::generate();
    let (staged, content_hash, subjects, ciphertext_bytes) =
        match subject_column.filter(|_| policy(asset.sensitivity).per_subject) {
            Some(column) => {
                let (staged, root, n, bytes) = stage_segments(file, column, &dir, &data_key)?;
                (Staged::Segments(staged), root, Some(n), bytes)
            }
            None => {
                let (staged, bytes) = stage_file(file, &dir, &data_key)?;
                (Staged::File(staged), info.content_hash.clone(), None, bytes)
            }
        };
    let outcome = exec(
        chain,
        sender,
        registry,
        &RegistryMsg::PublishVersion {
            asset_id,
            content_hash: content_hash.clone(),
            schema_hash: Some(info.schema_hash.clone()),
            uri: Some(format!("datapact-gateway://{asset_id}")),
            parents,
        },
        &[],
    )
    .await?;
    let version: u32 = outcome.wasm_id(action::PUBLISH_VERSION, key::VERSION)?;
    write_secret(&keyring.path(asset_id, version), &data_key.key_file())?;
    let ciphertext = match staged {
        Staged::File(staged) => {
            let to = store.path(asset_id, version);
            staged
                .persist(&to)
                .with_context(|| format!("moving the ciphertext to {}", to.display()))?;
            to
        }
        Staged::Segments(staged) => {
            let to = store.segments_dir(asset_id, version);
            std::fs::rename(staged.path(), &to)
                .with_context(|| format!("moving the segments to {}", to.display()))?;
            to
        }
    };
    Ok(Published {
        asset_id,
        version,
        tx: outcome.hash,
        table: info,
        content_hash,
        subjects,
        ciphertext,
        ciphertext_bytes,
    })
}

/// The whole file encrypted (streaming) into a temporary file in `dir`.
fn stage_file(
    file: &Path,
    dir: &Path,
    data_key: &DataKey,
) -> anyhow::Result<(tempfile::NamedTempFile, u64)> {
    let staged = tempfile::Builder::new()
        .prefix(".publishing-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    seal::seal(
        &data_key.public(),
        std::io::BufReader::new(input),
        std::io::BufWriter::new(staged.as_file()),
    )?;
    let bytes = staged.as_file().metadata()?.len();
    Ok((staged, bytes))
}

/// Personal data: the table split by `column`, each subject's rows encrypted into a temporary
/// folder in `dir` with the index the gateway reads. Returns the folder, the root over the
/// leaves (the version's content hash), the number of subjects and the bytes stored.
fn stage_segments(
    file: &Path,
    column: &str,
    dir: &Path,
    data_key: &DataKey,
) -> anyhow::Result<(tempfile::TempDir, String, u64, u64)> {
    let df = table::read(file)?;
    let segs = segments::split(&df, column)?;
    let staged = tempfile::Builder::new()
        .prefix(".publishing-")
        .tempdir_in(dir)
        .with_context(|| format!("creating a folder in {}", dir.display()))?;
    let (mut index, mut leaves, mut bytes) = (Vec::new(), Vec::new(), 0u64);
    for (i, seg) in segs.iter().enumerate() {
        let name = format!("{i}.age");
        let path = staged.path().join(&name);
        let out =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        seal::seal(
            &data_key.public(),
            seg.csv.as_slice(),
            std::io::BufWriter::new(&out),
        )?;
        bytes += out.metadata()?.len();
        let leaf = seg.leaf();
        leaves.push(leaf);
        index.push(IndexedSegment {
            subject: seg.subject.clone(),
            leaf: hex::encode(leaf),
            rows: seg.rows,
            file: name,
        });
    }
    let path = staged.path().join("index.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&SegmentIndex { segments: index })?,
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok((staged, segments::root(&leaves), segs.len() as u64, bytes))
}

/// What one agreement was given.
#[derive(Debug, Serialize)]
pub struct Delivered {
    pub agreement_id: u64,
    pub asset_id: u64,
    pub consumer: String,
    /// The `DepositKey` transaction, when the agreement got its key in this run.
    pub deposit_tx: Option<String>,
    /// The versions whose data keys were wrapped to the agreement's key in this run.
    pub versions: Vec<u32>,
}

/// One agreement passed over, and why.
#[derive(Debug, Serialize)]
pub struct Skipped {
    pub agreement_id: u64,
    /// `suspended`, `not_published_here`, `no_age_key` or `key_elsewhere`.
    pub kind: &'static str,
    pub why: String,
}

/// Keys for every active, unexpired agreement of this provider whose consumer is not
/// suspended: an agreement without a key gets a fresh agreement key, wrapped to the consumer's
/// public key and deposited on chain (once); then every version of the asset this keyring
/// published gets its data key wrapped to the agreement's key, in the store beside the
/// ciphertext, where the gateway hands it out with the delivery. A consumer suspended or an
/// agreement ended gets no key for any version published from then on (every version has its
/// own data key): that is the rotation.
pub async fn deliver_keys(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    files: &ProviderFiles,
) -> anyhow::Result<(Vec<Delivered>, Vec<Skipped>)> {
    let (store, keyring) = (&files.store, &files.keyring);
    let agreements = deployment.address("agreements")?;
    let registry = deployment.address("registry")?;
    let now = chain.block_time(chain.latest_height().await?).await?;
    let (mut delivered, mut skipped) = (Vec::new(), Vec::new());
    let mut start_after = None;
    loop {
        let page: AgreementsResponse = chain
            .smart(
                agreements,
                &AQ::AgreementsByProvider {
                    provider: sender.addr(),
                    start_after,
                    limit: Some(50),
                },
            )
            .await?;
        let Some(last) = page.agreements.last() else {
            break;
        };
        start_after = Some(last.id);
        for a in page.agreements {
            if a.status != AgreementStatus::Active || a.expires_at.seconds() <= now {
                continue;
            }
            let skip = |kind: &'static str, why: String| Skipped {
                agreement_id: a.id,
                kind,
                why,
            };
            // the policy: no key to a consumer the audit contract suspends
            let s: ConsumerSuspensionResponse = chain
                .smart(
                    agreements,
                    &AQ::ConsumerSuspension {
                        consumer: a.consumer.to_string(),
                    },
                )
                .await?;
            if let Some(s) = s.suspension {
                skipped.push(skip(
                    "suspended",
                    format!(
                        "consumer {} is suspended (alert {}): no key until it is lifted",
                        a.consumer, s.alert_seq
                    ),
                ));
                continue;
            }
            let asset: AssetResponse = chain
                .smart(
                    registry,
                    &RQ::Asset {
                        asset_id: a.asset_id,
                    },
                )
                .await?;
            let versions: Vec<u32> = (1..=asset.asset.latest_version)
                .filter(|v| keyring.path(a.asset_id, *v).exists())
                .collect();
            if versions.is_empty() {
                skipped.push(skip(
                    "not_published_here",
                    format!(
                        "no version of asset {} was published from this keyring",
                        a.asset_id
                    ),
                ));
                continue;
            }
            let (agreement_key, deposit_tx) = match &a.wrapped_key {
                Some(_) => match keyring.load_agreement(a.id) {
                    Ok(k) => (k, None),
                    Err(e) => {
                        skipped.push(skip("key_elsewhere", format!("{e:#}")));
                        continue;
                    }
                },
                None => {
                    let to = match PublicKey::parse(a.consumer_public_key.as_slice()) {
                        Ok(k) => k,
                        Err(e) => {
                            skipped.push(skip(
                                "no_age_key",
                                format!("the consumer registered no usable age key: {e}"),
                            ));
                            continue;
                        }
                    };
                    // kept before it is deposited, so a failed deposit is retried with it
                    let path = keyring.agreement_path(a.id);
                    let k = if path.exists() {
                        keyring.load_agreement(a.id)?
                    } else {
                        let k = DataKey::generate();
                        write_secret(&path, &k.key_file())?;
                        k
                    };
                    let outcome = exec(
                        chain,
                        sender,
                        agreements,
                        &AgreementsMsg::DepositKey {
                            agreement_id: a.id,
                            wrapped_key: Binary::from(seal::wrap(&k, &to)?),
                        },
                        &[],
                    )
                    .await?;
                    (k, Some(outcome.hash))
                }
            };
            let mut wrapped = Vec::new();
            for v in versions {
                let path = store.version_key(a.asset_id, v, a.id);
                if path.exists() {
                    continue;
                }
                let bytes = seal::wrap(&keyring.load(a.asset_id, v)?, &agreement_key.public())?;
                write_new(&path, &bytes)?;
                wrapped.push(v);
            }
            if deposit_tx.is_some() || !wrapped.is_empty() {
                delivered.push(Delivered {
                    agreement_id: a.id,
                    asset_id: a.asset_id,
                    consumer: a.consumer.to_string(),
                    deposit_tx,
                    versions: wrapped,
                });
            }
        }
    }
    Ok((delivered, skipped))
}

/// Writes `bytes` to a new file at `path` (its folder made), all or nothing.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut staged = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut staged, bytes)?;
    staged
        .persist_noclobber(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// What `tombstone` erased.
#[derive(Debug, Serialize)]
pub struct Erased {
    pub asset_id: u64,
    pub tx: String,
    pub ciphertext_deleted: bool,
    pub keys_deleted: bool,
}

/// Tombstones `asset_id` on chain, then deletes its ciphertext from the store and its data
/// keys from the keyring.
pub async fn tombstone(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    files: &ProviderFiles,
    asset_id: u64,
) -> anyhow::Result<Erased> {
    let (store, keyring) = (&files.store, &files.keyring);
    let registry = deployment.address("registry")?;
    let outcome = exec(
        chain,
        sender,
        registry,
        &RegistryMsg::Tombstone { asset_id },
        &[],
    )
    .await?;
    let ciphertext_deleted = store
        .erase(asset_id)
        .with_context(|| format!("deleting the ciphertext under {}", store.root().display()))?;
    let keys = keyring.dir.join(asset_id.to_string());
    let keys_deleted = keys.exists();
    if keys_deleted {
        std::fs::remove_dir_all(&keys).with_context(|| format!("deleting {}", keys.display()))?;
    }
    Ok(Erased {
        asset_id,
        tx: outcome.hash,
        ciphertext_deleted,
        keys_deleted,
    })
}
