//! The consumer's side: sign an offer with an age public key, fetch a version through a
//! gateway and accept it only if its plaintext hashes to the version's hash on chain.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use cosmwasm_std::Binary;
use datapact_agreements::msg::{
    AgreementResponse, ExecuteMsg as AgreementsMsg, OfferResponse, QueryMsg as AQ,
};
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};
use datapact_gateway::RefusalBody;
use datapact_plane::proof::{nonce, AccessProof, AccessRequest};
use datapact_plane::segments::{self, DeliveryHead};
use datapact_plane::table::hash_reader;
use datapact_plane::{seal, DataKey};
use datapact_registry::msg::{AssetResponse, QueryMsg as RQ, VersionResponse};
use datapact_types::agreements::CanAccessResponse;
use datapact_types::events::{action, key};
use serde::Serialize;

use super::exec;

/// What `sign` did.
#[derive(Debug, Serialize)]
pub struct Signed {
    pub agreement_id: u64,
    pub offer_id: u64,
    pub asset_id: u64,
    pub paid: String,
    pub tx: String,
}

/// Signs `offer_id` for `purpose`, paying its price and registering `age_key`'s public key
/// (what the provider wraps the data key to).
pub async fn sign(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    age_key: &DataKey,
    offer_id: u64,
    purpose: &str,
) -> anyhow::Result<Signed> {
    let agreements = deployment.address("agreements")?;
    let offer: OfferResponse = chain
        .smart(agreements, &AQ::Offer { offer_id })
        .await
        .with_context(|| {
            format!(
                "no offer {offer_id} on this chain: `datapact consumer offers` lists the open ones"
            )
        })?;
    let price = offer.offer.terms.price;
    let amount: u128 = price
        .amount
        .to_string()
        .parse()
        .context("the offer's price")?;
    let funds = if amount == 0 {
        vec![]
    } else {
        vec![(amount, price.denom.as_str())]
    };
    let outcome = exec(
        chain,
        sender,
        agreements,
        &AgreementsMsg::Sign {
            offer_id,
            purpose: purpose.to_string(),
            consumer_public_key: Binary::from(age_key.public().to_bytes()),
        },
        &funds,
    )
    .await?;
    let agreement_id = outcome.wasm_id(action::SIGN, key::AGREEMENT_ID)?;
    Ok(Signed {
        agreement_id,
        offer_id,
        asset_id: offer.offer.asset_id,
        paid: format!("{amount}{}", price.denom),
        tx: outcome.hash,
    })
}

/// A consumer's standing: suspended or not, and its agreements (the newest 100).
#[derive(Debug, Serialize)]
pub struct Status {
    pub consumer: String,
    /// The alerts whose suspensions stand, if any.
    pub suspended_by: Option<Vec<u64>>,
    pub agreements: Vec<AgreementLine>,
}

#[derive(Debug, Serialize)]
pub struct AgreementLine {
    pub agreement_id: u64,
    pub asset_id: u64,
    pub status: String,
    pub key_delivered: bool,
    pub accesses: u64,
}

pub async fn status(
    chain: &Chain,
    deployment: &Deployment,
    consumer: &str,
) -> anyhow::Result<Status> {
    let agreements = deployment.address("agreements")?;
    let s: datapact_agreements::msg::ConsumerSuspensionResponse = chain
        .smart(
            agreements,
            &AQ::ConsumerSuspension {
                consumer: consumer.to_string(),
            },
        )
        .await?;
    let suspended_by = (!s.standing.is_empty() || s.suspension.is_some()).then(|| {
        let mut seqs: Vec<u64> = s.standing.iter().map(|x| x.alert_seq).collect();
        if seqs.is_empty() {
            seqs.extend(s.suspension.iter().map(|x| x.alert_seq));
        }
        seqs
    });
    let page: datapact_agreements::msg::AgreementsResponse = chain
        .smart(
            agreements,
            &AQ::AgreementsByConsumer {
                consumer: consumer.to_string(),
                start_after: None,
                limit: Some(100),
            },
        )
        .await?;
    Ok(Status {
        consumer: consumer.to_string(),
        suspended_by,
        agreements: page
            .agreements
            .into_iter()
            .map(|a| AgreementLine {
                agreement_id: a.id,
                asset_id: a.asset_id,
                status: format!("{:?}", a.status).to_lowercase(),
                key_delivered: a.wrapped_key.is_some(),
                accesses: a.access_count,
            })
            .collect(),
    })
}

/// Where and how to fetch.
#[derive(Clone, Debug)]
pub struct FetchPlan {
    pub agreement_id: u64,
    /// The version to fetch; the asset's newest when `None`.
    pub version: Option<u32>,
    /// The gateway's base URL, e.g. `http://127.0.0.1:8090`.
    pub gateway_url: String,
    /// The gateway's name, as it checks it in proofs.
    pub gateway_id: String,
    /// How long the proof lives (seconds).
    pub proof_seconds: u64,
    /// Where the plaintext goes (written only once it checked out).
    pub out: PathBuf,
    /// The data subject the access names (an agreement with consent required must name one;
    /// for personal data, the gateway then serves that subject's rows only).
    pub subject: Option<String>,
    /// Quality checkers this consumer trusts: when any is named, the version must carry a
    /// standing passing quality attestation by one of them, or nothing is recorded.
    pub require_quality: Vec<String>,
}

/// What `fetch` did.
#[derive(Debug, Serialize)]
pub struct Fetched {
    pub agreement_id: u64,
    pub asset_id: u64,
    pub version: u32,
    pub record_tx: String,
    pub bytes: u64,
    pub content_hash: String,
    pub out: PathBuf,
    /// Personal data: the subjects whose rows were delivered, and how many were held back
    /// because their consent was not in force.
    pub subjects: Option<Vec<String>>,
    pub withheld: Option<u64>,
}

/// Why a fetch wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the gateway refused ({status}): {} — {}", .body.refused, .body.detail)]
    Refused { status: u16, body: RefusalBody },
    #[error("the plaintext hashes to {got}, version {version} on chain says {want}: the ciphertext was altered or is another version's; nothing was written")]
    HashMismatch {
        version: u32,
        got: String,
        want: String,
    },
    #[error("the delivered segments do not check out against version {version} on chain: {why}; nothing was written")]
    Segments { version: u32, why: String },
}

/// Records the access on chain, asks the gateway with a proof of that record, decrypts what
/// it sends and checks it against the chain's hash; writes `plan.out` only if it matches.
pub async fn fetch(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    age_key: &DataKey,
    plan: &FetchPlan,
) -> anyhow::Result<Fetched> {
    let agreements = deployment.address("agreements")?;
    let registry = deployment.address("registry")?;
    let a: AgreementResponse = chain
        .smart(
            agreements,
            &AQ::Agreement {
                agreement_id: plan.agreement_id,
            },
        )
        .await?;
    let a = a.agreement;
    if a.consumer.as_str() != sender.addr() {
        anyhow::bail!(
            "agreement {} is {}'s, not {}'s: fetch with the consumer's key",
            a.id,
            a.consumer,
            sender.addr()
        );
    }
    // the chain's answer first: a refusal is said in its words before anything is sent
    let now: CanAccessResponse = chain
        .smart(
            agreements,
            &AQ::CanAccess {
                consumer: sender.addr(),
                asset_id: a.asset_id,
                purpose: a.purpose.clone(),
                subject: plan.subject.clone(),
            },
        )
        .await?;
    if let Some(reason) = now.reason.filter(|_| !now.allowed) {
        anyhow::bail!(
            "the chain refuses this access to asset {}: {}",
            a.asset_id,
            reason.as_str()
        );
    }
    let wrapped = a.wrapped_key.clone().with_context(|| {
        format!(
            "the provider has not delivered the key of agreement {} yet: ask them to run `datapact provider deliver-keys`",
            a.id
        )
    })?;
    let agreement_key = seal::unwrap(wrapped.as_slice(), age_key)
        .context("the agreement's key does not open with this age key (--age-key)")?;
    let asset: AssetResponse = chain
        .smart(
            registry,
            &RQ::Asset {
                asset_id: a.asset_id,
            },
        )
        .await?;
    let version = plan.version.unwrap_or(asset.asset.latest_version);
    let v: VersionResponse = chain
        .smart(
            registry,
            &RQ::Version {
                asset_id: a.asset_id,
                version,
            },
        )
        .await?;
    let want = v.version.content_hash;

    if !plan.require_quality.is_empty()
        && super::quality::passed_by(
            chain,
            deployment,
            a.asset_id,
            version,
            &plan.require_quality,
        )
        .await?
        .is_none()
    {
        anyhow::bail!(
            "asset {} version {version} has no passing quality attestation by {}: nothing was recorded (a checker attests with `datapact quality FILE --attest`)",
            a.asset_id,
            plan.require_quality.join(" or ")
        );
    }
    // what would waste the recorded access is checked before it: the output's place, the gateway
    if plan.out.exists() {
        anyhow::bail!(
            "{} exists: choose another --out, or move it away first (fetch never overwrites)",
            plan.out.display()
        );
    }
    let dir = plan
        .out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut staged = tempfile::Builder::new()
        .prefix(".fetching-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write beside {} (--out)", plan.out.display()))?;
    let health = format!("{}/health", plan.gateway_url.trim_end_matches('/'));
    reqwest::Client::new()
        .get(&health)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| {
            format!(
                "cannot reach the gateway at {} (--gateway): nothing was recorded",
                plan.gateway_url
            )
        })?;
    // the access is recorded before anything is asked: the chain may refuse it here already
    let record = exec(
        chain,
        sender,
        agreements,
        &AgreementsMsg::RecordAccess {
            agreement_id: a.id,
            purpose: a.purpose.clone(),
            subject: plan.subject.clone(),
        },
        &[],
    )
    .await
    .context("recording the access on chain")?;
    let request = AccessRequest {
        gateway: plan.gateway_id.clone(),
        chain_id: chain.chain_id.clone(),
        agreement_id: a.id,
        asset_id: a.asset_id,
        version,
        record_tx: record.hash.clone(),
        nonce: nonce(),
        expires: datapact_gateway::check::now() + plan.proof_seconds,
    };
    let proof = AccessProof::sign(&request, sender.wallet.key(), &chain.prefix)?;
    let (ciphertext, content_type, version_key) =
        download(plan, a.asset_id, version, &proof).await?;
    let version_key = base64::engine::general_purpose::STANDARD
        .decode(version_key.trim())
        .context("the gateway sent no readable version key (header x-datapact-version-key)")?;
    let data_key = seal::unwrap(&version_key, &agreement_key).with_context(|| {
        format!(
            "the version key the gateway sent does not open with agreement {}'s key",
            a.id
        )
    })?;

    // decrypt into the file staged beside the output, hashing as it goes; keep it on a match
    let mut fetched = Fetched {
        agreement_id: a.id,
        asset_id: a.asset_id,
        version,
        record_tx: record.hash,
        bytes: 0,
        content_hash: want.clone(),
        out: plan.out.clone(),
        subjects: None,
        withheld: None,
    };
    if content_type == segments::CONTENT_TYPE {
        let (csv, head) = open_segments(&ciphertext, &data_key, &want)
            .map_err(|why| FetchError::Segments { version, why })?;
        staged.as_file_mut().write_all(&csv)?;
        fetched.bytes = csv.len() as u64;
        fetched.subjects = Some(head.served.into_iter().map(|s| s.subject).collect());
        fetched.withheld = Some(head.withheld);
    } else {
        let reader = seal::open(&data_key, std::io::BufReader::new(ciphertext.reopen()?))?;
        let mut tee = Tee {
            inner: reader,
            out: std::io::BufWriter::new(staged.as_file_mut()),
        };
        let (got, bytes) = hash_reader(&mut tee).context("decrypting")?;
        tee.out.flush()?;
        drop(tee);
        if !got.eq_ignore_ascii_case(&want) {
            return Err(FetchError::HashMismatch { version, got, want }.into());
        }
        fetched.bytes = bytes;
    }
    staged
        .persist_noclobber(&plan.out)
        .with_context(|| format!("writing {}", plan.out.display()))?;
    Ok(fetched)
}

/// A segmented delivery (personal data): the head, then each served segment decrypted; every
/// segment's leaf must be in the head's list and the list must hash to the chain's
/// `content_hash`. Returns the served rows as one CSV.
fn open_segments(
    file: &tempfile::NamedTempFile,
    data_key: &DataKey,
    want: &str,
) -> Result<(Vec<u8>, DeliveryHead), String> {
    use std::io::{BufRead, Read};
    let mut r = std::io::BufReader::new(file.reopen().map_err(|e| e.to_string())?);
    let mut line = Vec::new();
    (&mut r)
        .take(segments::MAX_HEAD_BYTES as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading the head: {e}"))?;
    let head: DeliveryHead = serde_json::from_slice(&line)
        .map_err(|e| format!("the head is not a delivery head: {e}"))?;
    let leaves = segments::parse_leaves(&head.leaves).map_err(|e| e.to_string())?;
    let mut served = Vec::with_capacity(head.served.len());
    for seg in &head.served {
        let mut csv = Vec::new();
        seal::open(data_key, (&mut r).take(seg.bytes))
            .and_then(|mut plain| {
                plain
                    .read_to_end(&mut csv)
                    .map_err(|e| datapact_plane::PlaneError::Decrypt(e.to_string()))
            })
            .map_err(|e| format!("subject {:?}: {e}", seg.subject))?;
        served.push((seg.subject.clone(), csv));
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(|e| e.to_string())? != 0 {
        return Err("bytes after the last segment".into());
    }
    segments::verify_delivery(want, &leaves, &served).map_err(|e| e.to_string())?;
    let csv = segments::merge(&served).map_err(|e| e.to_string())?;
    Ok((csv, head))
}

/// The gateway's answer into a temporary file (deleted when dropped), its media type and the
/// wrapped version key it came with.
async fn download(
    plan: &FetchPlan,
    asset: u64,
    version: u32,
    proof: &AccessProof,
) -> anyhow::Result<(tempfile::NamedTempFile, String, String)> {
    let url = format!(
        "{}/v1/assets/{asset}/versions/{version}",
        plan.gateway_url.trim_end_matches('/')
    );
    let mut response = reqwest::Client::new()
        .get(&url)
        .header("authorization", proof.to_header())
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(RefusalBody {
            refused: "unknown".into(),
            detail: text,
        });
        return Err(FetchError::Refused {
            status: status.as_u16(),
            body,
        }
        .into());
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let version_key = response
        .headers()
        .get(seal::VERSION_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut file = tempfile::NamedTempFile::new().context("a temporary file for the ciphertext")?;
    while let Some(chunk) = response.chunk().await.context("reading from the gateway")? {
        file.write_all(&chunk)?;
    }
    file.flush()?;
    Ok((file, content_type, version_key))
}

/// Copies what it reads into `out`.
struct Tee<R, W> {
    inner: R,
    out: W,
}

impl<R: std::io::Read, W: Write> std::io::Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}
