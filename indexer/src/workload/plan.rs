//! The workload's model of the world and its round-by-round plan.

use std::collections::BTreeMap;

use anyhow::Context;
use cosmrs::Any;
use cosmwasm_std::{Binary, Coin, Uint256};
use k256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_agreements::state::OfferTerms;
use datapact_consent::msg::ExecuteMsg as ConsentMsg;
use datapact_registry::msg::ExecuteMsg as RegistryMsg;
use datapact_types::consent::{
    key_subject_id, AssetScope, ConsentSignDoc, ConsentTerms, LegalBasis, SignedAction,
};
use datapact_types::{
    AgreementId, AssetId, ConsentId, OfferId, Sensitivity, VersionNo, VersionRef,
};

use super::exec::{Expect, Fleet, Planned};
use super::{Label, WorkloadConfig};
use crate::chain::tx::{execute_msg, TxOutcome};
use crate::chain::Chain;
use crate::deploy::Deployment;

/// Purposes consumers ask for; the last two are never permitted by honest offers (the
/// synthetic histories of `analytics::synth` use the same).
pub const PURPOSES: [&str; 6] = [
    "analytics",
    "research",
    "fraud-detection",
    "model-training",
    "marketing",
    "resale",
];
pub const HONEST_PURPOSES: usize = 4;
pub const CLAIMS: [&str; 3] = ["schema-valid", "pii-scan-clean", "source-verified"];
/// Txs per consumer per access round.
const TXS_PER_CONSUMER: usize = 12;

const GAS_BASE: u64 = 90_000;
fn gas_for(kind: &str) -> u64 {
    match kind {
        "register" => 220_000,
        "publish" => 300_000,
        "attest" => 220_000,
        "grant" => 260_000,
        "grant_signed" => 320_000,
        "withdraw" => 200_000,
        "offer" => 320_000,
        "sign" => 320_000,
        "deposit" => 220_000,
        "access" => 300_000,
        "suspend" => 180_000,
        "claim" => 250_000,
        _ => 350_000,
    }
}

#[derive(Clone, Debug)]
pub struct AssetSlot {
    pub provider: String,
    pub id: Option<AssetId>,
    pub sensitivity: Sensitivity,
    pub versions: VersionNo,
    pub laundering: bool,
}

#[derive(Clone, Debug)]
pub struct ConsentRec {
    pub id: ConsentId,
    /// the subject id the contract keys on (an address or `key:…`)
    pub subject: String,
    /// which subject account: `subject-N`
    pub holder: String,
    pub controller: String,
    pub signed: bool,
    pub withdrawn: bool,
    /// None: every asset of the controller
    pub asset: Option<AssetId>,
    pub purposes: Vec<String>,
    /// given before this run (found on chain at start)
    pub prior: bool,
}

impl ConsentRec {
    fn covers(&self, controller: &str, asset_id: AssetId, purpose: &str) -> bool {
        !self.withdrawn
            && self.controller == controller
            && self.asset.is_none_or(|a| a == asset_id)
            && self.purposes.iter().any(|p| p == purpose)
    }
}

#[derive(Clone, Debug)]
pub struct OfferRec {
    pub id: OfferId,
    pub asset: usize,
    pub provider: String,
    pub permitted: Vec<String>,
    pub cap: Option<u64>,
    pub price: u128,
    pub consent_required: bool,
}

#[derive(Clone, Debug)]
pub struct AgreementRec {
    pub id: AgreementId,
    pub offer: usize,
    pub consumer: String,
    pub provider: String,
    pub asset_id: AssetId,
    pub purpose: String,
    pub cap: Option<u64>,
    pub count: u64,
    pub consent_required: bool,
    pub suspended: bool,
    pub terminated: bool,
    pub keyed: bool,
}

/// An offer on the asset in this slot.
type PlannedOffer = (usize, OfferTerms);

/// What a planned tx will create, read back from its events in `absorb`.
#[derive(Clone, Debug)]
enum Pending {
    None,
    Assets(Vec<usize>),
    Consents(Vec<(String, String, bool)>),
    Offers(Vec<PlannedOffer>),
    Signs(Vec<(String, usize)>),
    Accesses(Vec<usize>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Assets,
    Versions(u8),
    Attest,
    Consents,
    Offers,
    Sign,
    Keys,
    Access(u32),
    Settle,
    Done,
}

/// Injected misbehaviour scheduled for this run.
struct Schedule {
    burst: (u32, String),
    hopping: (u32, String),
    after_withdrawal: u32,
    after_suspension: u32,
    flood: (u32, String),
}

pub struct World {
    rng: ChaCha8Rng,
    seed: u64,
    inject: bool,
    rounds: u32,
    batch: usize,
    chain_id: String,
    registry: String,
    consent: String,
    agreements_addr: String,
    denom: String,
    addr: BTreeMap<String, String>,
    pubkey: BTreeMap<String, Vec<u8>>,
    providers: Vec<String>,
    consumers: Vec<String>,
    subjects: Vec<String>,
    attestors: Vec<String>,
    relayers: Vec<String>,
    /// off-chain signing keys of the subjects who consent by signature
    subject_keys: BTreeMap<String, SigningKey>,
    nonces: BTreeMap<String, u64>,
    pub assets: Vec<AssetSlot>,
    pub consents: Vec<ConsentRec>,
    pub offers: Vec<OfferRec>,
    pub agreements: Vec<AgreementRec>,
    pub accesses_allowed: u64,
    pub accesses_denied: u64,
    stage: Stage,
    pending: Vec<Pending>,
    schedule: Schedule,
    labels: Vec<Label>,
    /// withdrawals by round: (consent index, label index if injected)
    to_withdraw: BTreeMap<u32, Vec<(usize, Option<usize>)>>,
    /// (consumer, consent index, label) whose holder withdrew: attempts to come
    after_withdrawal_attempts: Vec<(String, usize, usize, usize)>,
    after_suspension_attempts: Vec<(usize, usize)>,
}

fn hex_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

impl World {
    pub async fn new(
        chain: &Chain,
        d: &Deployment,
        cfg: &WorkloadConfig,
        fleet: &Fleet,
    ) -> anyhow::Result<Self> {
        let mut addr = BTreeMap::new();
        let mut pubkey = BTreeMap::new();
        for (name, s) in &fleet.senders {
            let s = s.lock().await;
            addr.insert(name.clone(), s.addr());
            pubkey.insert(name.clone(), s.wallet.public_key_bytes());
        }
        let by_prefix = |p: &str| -> Vec<String> {
            let mut v: Vec<String> = addr.keys().filter(|n| n.starts_with(p)).cloned().collect();
            v.sort_by_key(|n| {
                n.rsplit('-')
                    .next()
                    .and_then(|i| i.parse::<u32>().ok())
                    .unwrap_or(0)
            });
            v
        };
        let providers = by_prefix("provider-");
        // consumers an earlier alert suspended cannot take part (their accesses would be refused)
        let mut consumers = Vec::new();
        for c in by_prefix("consumer-") {
            let r: datapact_agreements::msg::ConsumerSuspensionResponse = chain
                .smart(
                    d.address("agreements")?,
                    &datapact_agreements::msg::QueryMsg::ConsumerSuspension {
                        consumer: addr[&c].clone(),
                    },
                )
                .await?;
            if r.suspension.is_none() {
                consumers.push(c);
            } else {
                tracing::warn!("{c} is suspended by an audit alert: it sits this workload out");
            }
        }
        let subjects = by_prefix("subject-");
        let attestors = by_prefix("attestor-");
        let relayers = by_prefix("relayer-");
        anyhow::ensure!(
            providers.len() >= 4
                && consumers.len() >= 8
                && subjects.len() >= 8
                && !attestors.is_empty()
                && !relayers.is_empty(),
            "the fleet lacks the local chain's named accounts"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // a quarter of the subjects consent by signature, from keys that never touch the chain
        let mut subject_keys = BTreeMap::new();
        for s in subjects.iter().skip(subjects.len() * 3 / 4) {
            let secret = Sha256::digest(format!("datapact workload {} {s}", cfg.seed));
            let key = SigningKey::from_slice(&secret).context("subject key")?;
            subject_keys.insert(s.clone(), key);
        }
        // signed consents continue from the chain's nonce (an earlier run may have used the key)
        let mut nonces = BTreeMap::new();
        for key in subject_keys.values() {
            let subject = key_subject_id(key.verifying_key().to_encoded_point(true).as_bytes());
            let r: datapact_consent::msg::NonceResponse = chain
                .smart(
                    d.address("consent")?,
                    &datapact_consent::msg::QueryMsg::Nonce {
                        subject: subject.clone(),
                    },
                )
                .await?;
            nonces.insert(subject, r.next_nonce);
        }
        // consents given before this run still count on chain: the model starts from them
        let by_addr: BTreeMap<String, String> =
            addr.iter().map(|(n, a)| (a.clone(), n.clone())).collect();
        let mut consents = Vec::new();
        for holder in &subjects {
            let subject_id = match subject_keys.get(holder) {
                Some(key) => key_subject_id(key.verifying_key().to_encoded_point(true).as_bytes()),
                None => addr[holder].clone(),
            };
            let mut start_after = None;
            loop {
                let page: datapact_consent::msg::ConsentsResponse = chain
                    .smart(
                        d.address("consent")?,
                        &datapact_consent::msg::QueryMsg::BySubject {
                            subject: subject_id.clone(),
                            start_after,
                            limit: Some(100),
                        },
                    )
                    .await?;
                let Some(last) = page.consents.last().map(|c| c.id) else {
                    break;
                };
                for c in page.consents {
                    let Some(controller) = by_addr.get(c.controller.as_str()) else {
                        continue;
                    };
                    if c.expires_at.is_some() {
                        continue;
                    }
                    consents.push(ConsentRec {
                        id: c.id,
                        subject: c.subject,
                        holder: holder.clone(),
                        controller: controller.clone(),
                        signed: c.method == datapact_types::consent::ConsentMethod::Signature,
                        withdrawn: c.withdrawn_at.is_some(),
                        asset: match c.scope {
                            AssetScope::Asset { asset_id } => Some(asset_id),
                            AssetScope::AllOfController {} => None,
                        },
                        purposes: c.purposes,
                        prior: true,
                    });
                }
                start_after = Some(last);
            }
        }
        // misbehaving consumers: three distinct ones among the first twelve
        let mut pool: Vec<String> = consumers
            .iter()
            .take(consumers.len().min(12))
            .cloned()
            .collect();
        pool.shuffle(&mut rng);
        let rounds = cfg.rounds.max(4);
        let at = |rng: &mut ChaCha8Rng, lo: u32| rng.random_range(lo.min(rounds - 2)..rounds - 1);
        let schedule = Schedule {
            burst: (at(&mut rng, 1), pool[0].clone()),
            hopping: (at(&mut rng, 1), pool[1].clone()),
            after_withdrawal: at(&mut rng, 1),
            after_suspension: at(&mut rng, 1),
            flood: (at(&mut rng, 1), pool[2].clone()),
        };
        Ok(Self {
            rng,
            seed: cfg.seed,
            inject: cfg.inject,
            rounds,
            batch: cfg.batch.max(1) as usize,
            chain_id: chain.chain_id.clone(),
            registry: d.address("registry")?.to_string(),
            consent: d.address("consent")?.to_string(),
            agreements_addr: d.address("agreements")?.to_string(),
            denom: d.denom.clone(),
            addr,
            pubkey,
            providers,
            consumers,
            subjects,
            attestors,
            relayers,
            subject_keys,
            nonces,
            assets: Vec::new(),
            consents,
            offers: Vec::new(),
            agreements: Vec::new(),
            accesses_allowed: 0,
            accesses_denied: 0,
            stage: Stage::Assets,
            pending: Vec::new(),
            schedule,
            labels: Vec::new(),
            to_withdraw: BTreeMap::new(),
            after_withdrawal_attempts: Vec::new(),
            after_suspension_attempts: Vec::new(),
        })
    }

    pub fn phase_count(&self) -> u32 {
        // assets, 3 version layers, attest, consents, offers, sign, keys, rounds, settle
        9 + self.rounds + 1
    }

    pub fn labels(&self) -> Vec<Label> {
        self.labels.clone()
    }

    fn a(&self, name: &str) -> &str {
        self.addr.get(name).map(|s| s.as_str()).unwrap_or_default()
    }

    fn exec_registry(&self, sender: &str, msg: &RegistryMsg) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.registry, msg, &[])
    }
    fn exec_consent(&self, sender: &str, msg: &ConsentMsg) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.consent, msg, &[])
    }
    fn exec_agreements(
        &self,
        sender: &str,
        msg: &AgreementsMsg,
        funds: &[(u128, &str)],
    ) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.agreements_addr, msg, funds)
    }

    fn label(
        &mut self,
        kind: &str,
        actor: &str,
        targets: Vec<String>,
        description: String,
    ) -> usize {
        self.labels.push(Label {
            kind: kind.to_string(),
            actor: self.a(actor).to_string(),
            targets,
            seed: self.seed,
            first_height: None,
            last_height: None,
            txs: Vec::new(),
            description,
        });
        self.labels.len() - 1
    }

    fn tx(
        &mut self,
        sender: &str,
        msgs: Vec<Any>,
        kind: &str,
        expect: Expect,
        label: Option<usize>,
        pending: Pending,
    ) -> Planned {
        self.pending.push(pending);
        Planned {
            sender: sender.to_string(),
            gas: GAS_BASE + gas_for(kind) * msgs.len() as u64,
            msgs,
            expect,
            label,
        }
    }

    /// The next round to send, or None when the workload is done.
    pub fn next_round(&mut self) -> anyhow::Result<Option<(String, Vec<Planned>)>> {
        self.pending.clear();
        let (name, planned) = match self.stage {
            Stage::Assets => ("assets".to_string(), self.plan_assets()?),
            Stage::Versions(layer) => ("versions".to_string(), self.plan_versions(layer)?),
            Stage::Attest => ("attest".to_string(), self.plan_attest()?),
            Stage::Consents => ("consents".to_string(), self.plan_consents()?),
            Stage::Offers => ("offers".to_string(), self.plan_offers()?),
            Stage::Sign => ("sign".to_string(), self.plan_sign()?),
            Stage::Keys => ("keys".to_string(), self.plan_keys()?),
            Stage::Access(r) => ("access".to_string(), self.plan_access(r)?),
            Stage::Settle => ("settle".to_string(), self.plan_settle()?),
            Stage::Done => return Ok(None),
        };
        self.stage = match self.stage {
            Stage::Assets => Stage::Versions(1),
            Stage::Versions(l) if l < 3 => Stage::Versions(l + 1),
            Stage::Versions(_) => Stage::Attest,
            Stage::Attest => Stage::Consents,
            Stage::Consents => Stage::Offers,
            Stage::Offers => Stage::Sign,
            Stage::Sign => Stage::Keys,
            Stage::Keys => Stage::Access(0),
            Stage::Access(r) if r + 1 < self.rounds => Stage::Access(r + 1),
            Stage::Access(_) => Stage::Settle,
            Stage::Settle | Stage::Done => Stage::Done,
        };
        Ok(Some((name, planned)))
    }

    // ---- setup phases ----------------------------------------------------------------------

    fn plan_assets(&mut self) -> anyhow::Result<Vec<Planned>> {
        let sens = [
            Sensitivity::Public,
            Sensitivity::Internal,
            Sensitivity::Personal,
            Sensitivity::Personal,
            Sensitivity::SpecialCategory,
        ];
        let (honest, launderer) = if self.inject {
            let (h, l) = self.providers.split_at(self.providers.len() - 1);
            (h.to_vec(), Some(l[0].clone()))
        } else {
            (self.providers.clone(), None)
        };
        let mut out = Vec::new();
        for p in honest {
            let n = self.rng.random_range(2..=4);
            let mut msgs = Vec::new();
            let mut slots = Vec::new();
            for k in 0..n {
                let sensitivity = *sens.choose(&mut self.rng).unwrap_or(&Sensitivity::Internal);
                msgs.push(self.exec_registry(
                    &p,
                    &RegistryMsg::RegisterAsset {
                        name: format!("{p} dataset {k}"),
                        description: Some(format!("{sensitivity:?} data published by {p}")),
                        sensitivity,
                        tags: vec!["workload".into()],
                    },
                )?);
                slots.push(self.assets.len());
                self.assets.push(AssetSlot {
                    provider: p.clone(),
                    id: None,
                    sensitivity,
                    versions: 0,
                    laundering: false,
                });
            }
            out.push(self.tx(
                &p,
                msgs,
                "register",
                Expect::Ok,
                None,
                Pending::Assets(slots),
            ));
        }
        // the launderer: an unattested scrape, then derivatives that look respectable
        let Some(launderer) = launderer else {
            return Ok(out);
        };
        let label = Some(self.label(
            "provenance_laundering",
            &launderer,
            vec![],
            "derived versions published over unattested parents, then attested themselves".into(),
        ));
        let mut msgs = Vec::new();
        let mut slots = Vec::new();
        for name in ["scraped contacts", "cleaned contacts", "enriched contacts"] {
            msgs.push(self.exec_registry(
                &launderer,
                &RegistryMsg::RegisterAsset {
                    name: name.to_string(),
                    description: None,
                    sensitivity: Sensitivity::Personal,
                    tags: vec!["workload".into()],
                },
            )?);
            slots.push(self.assets.len());
            self.assets.push(AssetSlot {
                provider: launderer.clone(),
                id: None,
                sensitivity: Sensitivity::Personal,
                versions: 0,
                laundering: true,
            });
        }
        out.push(self.tx(
            &launderer,
            msgs,
            "register",
            Expect::Ok,
            label,
            Pending::Assets(slots),
        ));
        Ok(out)
    }

    fn version_ref(&self, slot: usize, version: VersionNo) -> anyhow::Result<VersionRef> {
        Ok(VersionRef {
            asset_id: self.assets[slot].id.context("asset without id")?,
            version,
        })
    }

    fn plan_versions(&mut self, layer: u8) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, Vec<(usize, Vec<VersionRef>)>> = BTreeMap::new();
        let honest: Vec<usize> = (0..self.assets.len())
            .filter(|&i| !self.assets[i].laundering)
            .collect();
        let launder: Vec<usize> = (0..self.assets.len())
            .filter(|&i| self.assets[i].laundering)
            .collect();
        match layer {
            1 => {
                // roots: the first half of the honest assets, and the launderer's scrape
                for &i in honest.iter().take(honest.len() / 2).chain(launder.first()) {
                    per_provider
                        .entry(self.assets[i].provider.clone())
                        .or_default()
                        .push((i, vec![]));
                }
            }
            2 => {
                // derived: the second half, each from one or two roots
                let roots: Vec<usize> = honest
                    .iter()
                    .copied()
                    .filter(|&i| self.assets[i].versions > 0)
                    .collect();
                for &i in honest.iter().filter(|&&i| self.assets[i].versions == 0) {
                    let k = self.rng.random_range(1..=2usize.min(roots.len()));
                    let parents: Vec<usize> =
                        roots.choose_multiple(&mut self.rng, k).copied().collect();
                    let refs = parents
                        .iter()
                        .map(|&p| self.version_ref(p, 1))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    per_provider
                        .entry(self.assets[i].provider.clone())
                        .or_default()
                        .push((i, refs));
                }
                if let (Some(&l0), Some(&l1)) = (launder.first(), launder.get(1)) {
                    let r = self.version_ref(l0, 1)?;
                    per_provider
                        .entry(self.assets[l1].provider.clone())
                        .or_default()
                        .push((l1, vec![r]));
                }
            }
            _ => {
                // second versions of some honest assets (parent: their own first version)
                for &i in honest.iter() {
                    if self.assets[i].versions == 1 && self.rng.random_bool(0.4) {
                        let r = self.version_ref(i, 1)?;
                        per_provider
                            .entry(self.assets[i].provider.clone())
                            .or_default()
                            .push((i, vec![r]));
                    }
                }
                if let (Some(&l1), Some(&l2)) = (launder.get(1), launder.get(2)) {
                    let mut parents = vec![self.version_ref(l1, 1)?];
                    // mixed with one respectable root, as laundering does
                    if let Some(&root) = honest.iter().find(|&&i| self.assets[i].versions > 0) {
                        parents.push(self.version_ref(root, 1)?);
                    }
                    per_provider
                        .entry(self.assets[l2].provider.clone())
                        .or_default()
                        .push((l2, parents));
                }
            }
        }
        let mut out = Vec::new();
        for (p, items) in per_provider {
            let mut msgs = Vec::new();
            let mut label = None;
            for (slot, parents) in items {
                let asset_id = self.assets[slot].id.context("asset without id")?;
                self.assets[slot].versions += 1;
                let v = self.assets[slot].versions;
                if self.assets[slot].laundering {
                    label = Some(0);
                    if let Some(l) = self
                        .labels
                        .iter_mut()
                        .find(|l| l.kind == "provenance_laundering")
                    {
                        l.targets.push(format!("asset:{asset_id}@{v}"));
                    }
                }
                msgs.push(self.exec_registry(
                    &p,
                    &RegistryMsg::PublishVersion {
                        asset_id,
                        content_hash: hex_hash(&[
                            b"content",
                            &asset_id.to_be_bytes(),
                            &v.to_be_bytes(),
                        ]),
                        schema_hash: Some(hex_hash(&[b"schema", &asset_id.to_be_bytes()])),
                        uri: Some(format!("s3://datapact-demo/{asset_id}/v{v}")),
                        parents,
                    },
                )?);
            }
            let label = label.and_then(|_| {
                self.labels
                    .iter()
                    .position(|l| l.kind == "provenance_laundering")
            });
            out.push(self.tx(&p, msgs, "publish", Expect::Ok, label, Pending::None));
        }
        Ok(out)
    }

    fn plan_attest(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        let last = self.assets.iter().rposition(|a| a.laundering);
        for at in self.attestors.clone() {
            let mut msgs = Vec::new();
            for slot in 0..self.assets.len() {
                let a = self.assets[slot].clone();
                let Some(asset_id) = a.id else { continue };
                // the launderer's sources stay unattested; its final product gets attested by all
                let attest = if a.laundering {
                    Some(slot) == last
                } else {
                    self.rng.random_bool(0.5)
                };
                if !attest {
                    continue;
                }
                for v in 1..=a.versions {
                    let claim = CLAIMS
                        .choose(&mut self.rng)
                        .copied()
                        .unwrap_or("schema-valid");
                    msgs.push(self.exec_registry(
                        &at,
                        &RegistryMsg::Attest {
                            asset_id,
                            version: v,
                            claim: claim.to_string(),
                            evidence_hash: hex_hash(&[
                                at.as_bytes(),
                                &asset_id.to_be_bytes(),
                                claim.as_bytes(),
                            ]),
                        },
                    )?);
                }
            }
            for chunk in msgs.chunks(12) {
                out.push(self.tx(
                    &at,
                    chunk.to_vec(),
                    "attest",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            }
        }
        Ok(out)
    }

    fn consent_terms(&self, controller: &str) -> ConsentTerms {
        ConsentTerms {
            controller: self.a(controller).to_string(),
            scope: AssetScope::AllOfController {},
            purposes: PURPOSES[..HONEST_PURPOSES]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            legal_basis: LegalBasis::Consent,
            expires_at: None,
        }
    }

    fn sign_doc(
        &mut self,
        holder: &str,
        action: SignedAction,
    ) -> anyhow::Result<(u64, Binary, Binary)> {
        let key = self
            .subject_keys
            .get(holder)
            .context("no signing key")?
            .clone();
        let pk = key
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        let subject = key_subject_id(&pk);
        let nonce = *self.nonces.get(&subject).unwrap_or(&0);
        self.nonces.insert(subject, nonce + 1);
        let doc = ConsentSignDoc {
            chain_id: self.chain_id.clone(),
            contract: self.consent.clone(),
            nonce,
            action,
        };
        let digest = doc.digest().map_err(|e| anyhow::anyhow!("sign doc: {e}"))?;
        let sig: Signature = key
            .sign_prehash(&digest)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        Ok((
            nonce,
            Binary::from(pk),
            Binary::from(sig.to_bytes().to_vec()),
        ))
    }

    fn plan_consents(&mut self) -> anyhow::Result<Vec<Planned>> {
        // controllers: providers with personal data
        let controllers: Vec<String> = self
            .providers
            .iter()
            .filter(|p| {
                self.assets
                    .iter()
                    .any(|a| &a.provider == *p && a.sensitivity.is_personal())
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        let mut relayed: Vec<(Any, (String, String, bool))> = Vec::new();
        for s in self.subjects.clone() {
            let k = self
                .rng
                .random_range(1..=3usize.min(controllers.len().max(1)));
            let chosen: Vec<String> = controllers
                .choose_multiple(&mut self.rng, k)
                .cloned()
                .collect();
            if self.subject_keys.contains_key(&s) {
                for c in chosen {
                    let terms = self.consent_terms(&c);
                    let (nonce, public_key, signature) = self.sign_doc(
                        &s,
                        SignedAction::Grant {
                            terms: terms.clone(),
                        },
                    )?;
                    let relayer = self.relayers[0].clone();
                    let msg = self.exec_consent(
                        &relayer,
                        &ConsentMsg::GrantSigned {
                            terms,
                            nonce,
                            public_key,
                            signature,
                        },
                    )?;
                    relayed.push((msg, (s.clone(), c, true)));
                }
            } else {
                let mut msgs = Vec::new();
                let mut pend = Vec::new();
                for c in chosen {
                    msgs.push(self.exec_consent(
                        &s,
                        &ConsentMsg::Grant {
                            subject: None,
                            terms: self.consent_terms(&c),
                        },
                    )?);
                    pend.push((s.clone(), c, false));
                }
                if !msgs.is_empty() {
                    out.push(self.tx(&s, msgs, "grant", Expect::Ok, None, Pending::Consents(pend)));
                }
            }
        }
        // one relayer carries the signed grants in order (nonces are per subject, in sequence)
        let relayer = self.relayers[0].clone();
        for chunk in relayed.chunks(8) {
            let (msgs, pend): (Vec<Any>, Vec<_>) = chunk.iter().cloned().unzip();
            out.push(self.tx(
                &relayer,
                msgs,
                "grant_signed",
                Expect::Ok,
                None,
                Pending::Consents(pend),
            ));
        }
        Ok(out)
    }

    fn plan_offers(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, (Vec<Any>, Vec<PlannedOffer>)> = BTreeMap::new();
        for slot in 0..self.assets.len() {
            let a = self.assets[slot].clone();
            let (Some(asset_id), true) = (a.id, a.versions > 0) else {
                continue;
            };
            // the launderer only sells its final product
            if a.laundering && Some(slot) != self.assets.iter().rposition(|x| x.laundering) {
                continue;
            }
            let n = if self.rng.random_bool(0.3) { 2 } else { 1 };
            for _ in 0..n {
                let mut purposes: Vec<String> = PURPOSES[..HONEST_PURPOSES]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                purposes.shuffle(&mut self.rng);
                purposes.truncate(self.rng.random_range(1..=2));
                let cap = self
                    .rng
                    .random_bool(0.25)
                    .then(|| self.rng.random_range(6..16));
                let terms = OfferTerms {
                    permitted_purposes: purposes,
                    prohibited_purposes: vec!["marketing".into(), "resale".into()],
                    duration_seconds: 86_400 * self.rng.random_range(1..=90),
                    access_cap: cap,
                    price: Coin {
                        denom: self.denom.clone(),
                        amount: Uint256::from(self.rng.random_range(5u128..50) * 1_000_000),
                    },
                    consent_required: a.sensitivity.is_personal(),
                };
                let msg = self.exec_agreements(
                    &a.provider,
                    &AgreementsMsg::CreateOffer {
                        asset_id,
                        terms: terms.clone(),
                    },
                    &[],
                )?;
                let e = per_provider.entry(a.provider.clone()).or_default();
                e.0.push(msg);
                e.1.push((slot, terms));
            }
        }
        let mut out = Vec::new();
        for (p, (msgs, pend)) in per_provider {
            out.push(self.tx(&p, msgs, "offer", Expect::Ok, None, Pending::Offers(pend)));
        }
        Ok(out)
    }

    fn plan_sign(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        let open: Vec<usize> = (0..self.offers.len()).collect();
        for c in self.consumers.clone() {
            let k = self.rng.random_range(2..=4usize).min(open.len());
            let picks: Vec<usize> = open.choose_multiple(&mut self.rng, k).copied().collect();
            let mut msgs = Vec::new();
            let mut pend = Vec::new();
            for o in picks {
                let offer = self.offers[o].clone();
                let purpose = offer
                    .permitted
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or_default();
                let pk = Binary::from(self.pubkey.get(&c).cloned().unwrap_or_default());
                msgs.push(self.exec_agreements(
                    &c,
                    &AgreementsMsg::Sign {
                        offer_id: offer.id,
                        purpose: purpose.clone(),
                        consumer_public_key: pk,
                    },
                    &[(offer.price, &self.denom.clone())],
                )?);
                pend.push((purpose, o));
            }
            if !msgs.is_empty() {
                out.push(self.tx(&c, msgs, "sign", Expect::Ok, None, Pending::Signs(pend)));
            }
        }
        Ok(out)
    }

    fn plan_keys(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, Vec<Any>> = BTreeMap::new();
        for i in 0..self.agreements.len() {
            let a = self.agreements[i].clone();
            let mut wrapped = vec![0u8; 80];
            self.rng.fill(&mut wrapped[..]);
            let msg = self.exec_agreements(
                &a.provider,
                &AgreementsMsg::DepositKey {
                    agreement_id: a.id,
                    wrapped_key: Binary::from(wrapped),
                },
                &[],
            )?;
            per_provider
                .entry(a.provider.clone())
                .or_default()
                .push(msg);
            self.agreements[i].keyed = true;
        }
        let mut out = Vec::new();
        for (p, msgs) in per_provider {
            for chunk in msgs.chunks(10) {
                out.push(self.tx(
                    &p,
                    chunk.to_vec(),
                    "deposit",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            }
        }
        Ok(out)
    }

    // ---- access rounds ---------------------------------------------------------------------

    fn usable(&self, i: usize) -> bool {
        let a = &self.agreements[i];
        !a.suspended && !a.terminated && a.cap.is_none_or(|c| a.count < c)
    }

    /// A subject whose consent to `a`'s provider covers its asset and purpose (and is not
    /// being withdrawn).
    fn consenting_subject(&mut self, a: &AgreementRec) -> Option<String> {
        let live: Vec<String> = self
            .consents
            .iter()
            .filter(|c| c.covers(&a.provider, a.asset_id, &a.purpose))
            .map(|c| c.subject.clone())
            .collect();
        live.choose(&mut self.rng).cloned()
    }

    fn access_msg(
        &self,
        consumer: &str,
        agreement: usize,
        purpose: &str,
        subject: Option<String>,
    ) -> anyhow::Result<Any> {
        self.exec_agreements(
            consumer,
            &AgreementsMsg::RecordAccess {
                agreement_id: self.agreements[agreement].id,
                purpose: purpose.to_string(),
                subject,
            },
            &[],
        )
    }

    /// An allowed access by `consumer` on one of its usable agreements; the model counts it.
    fn honest_access(
        &mut self,
        consumer: &str,
        uncapped_only: bool,
    ) -> anyhow::Result<Option<(Any, usize)>> {
        let mine: Vec<usize> = (0..self.agreements.len())
            .filter(|&i| self.agreements[i].consumer == consumer && self.usable(i))
            .filter(|&i| !uncapped_only || self.agreements[i].cap.is_none())
            .collect();
        let Some(&i) = mine.choose(&mut self.rng) else {
            return Ok(None);
        };
        let a = self.agreements[i].clone();
        let subject = if a.consent_required {
            match self.consenting_subject(&a) {
                Some(s) => Some(s),
                None => return Ok(None),
            }
        } else {
            None
        };
        self.agreements[i].count += 1;
        Ok(Some((
            self.access_msg(consumer, i, &a.purpose, subject)?,
            i,
        )))
    }

    fn plan_access(&mut self, round: u32) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        // 1. withdrawals scheduled for this round (normal ones, and the injected one's trigger)
        if round == self.rounds / 3 || round == 2 * self.rounds / 3 {
            let live: Vec<usize> = (0..self.consents.len())
                .filter(|&i| !self.consents[i].withdrawn)
                .collect();
            for &i in live.choose_multiple(&mut self.rng, 2) {
                self.to_withdraw.entry(round).or_default().push((i, None));
            }
        }
        if self.inject && round == self.schedule.after_withdrawal {
            // a consumer with a consent-bound agreement keeps using a subject who withdrew
            let candidates: Vec<(usize, usize)> = (0..self.agreements.len())
                .filter(|&a| self.agreements[a].consent_required && self.usable(a))
                .flat_map(|a| {
                    let ag = &self.agreements[a];
                    self.consents
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.covers(&ag.provider, ag.asset_id, &ag.purpose))
                        .map(move |(c, _)| (a, c))
                        .collect::<Vec<_>>()
                })
                .collect();
            if let Some(&(a, c)) = candidates.choose(&mut self.rng) {
                let consumer = self.agreements[a].consumer.clone();
                let label = self.label(
                    "access_after_withdrawal",
                    &consumer,
                    vec![format!("agreement:{}", self.agreements[a].id), format!("subject:{}", self.consents[c].subject)],
                    "keeps recording accesses for a data subject after the subject withdrew consent".into(),
                );
                // the subject withdraws every consent that covers this use, not just one record
                let ag = self.agreements[a].clone();
                let subject = self.consents[c].subject.clone();
                let all: Vec<usize> = (0..self.consents.len())
                    .filter(|&i| {
                        self.consents[i].subject == subject
                            && self.consents[i].covers(&ag.provider, ag.asset_id, &ag.purpose)
                    })
                    .collect();
                for i in all {
                    self.to_withdraw.entry(round).or_default().push((i, None));
                }
                self.after_withdrawal_attempts.push((consumer, a, c, label));
            }
        }
        for (c, _) in self.to_withdraw.remove(&round).unwrap_or_default() {
            if self.consents[c].withdrawn {
                continue;
            }
            self.consents[c].withdrawn = true;
            let rec = self.consents[c].clone();
            if rec.signed {
                let (nonce, public_key, signature) =
                    self.sign_doc(&rec.holder, SignedAction::Withdraw { consent_id: rec.id })?;
                let relayer = self.relayers[self.relayers.len() - 1].clone();
                let msg = self.exec_consent(
                    &relayer,
                    &ConsentMsg::WithdrawSigned {
                        consent_id: rec.id,
                        nonce,
                        public_key,
                        signature,
                    },
                )?;
                out.push(self.tx(
                    &relayer,
                    vec![msg],
                    "withdraw",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            } else {
                let msg =
                    self.exec_consent(&rec.holder, &ConsentMsg::Withdraw { consent_id: rec.id })?;
                out.push(self.tx(
                    &rec.holder,
                    vec![msg],
                    "withdraw",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            }
        }
        // 2. a provider suspends an agreement; its consumer keeps trying next round
        if self.inject && round == self.schedule.after_suspension {
            let candidates: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| self.usable(i))
                .collect();
            if let Some(&i) = candidates.choose(&mut self.rng) {
                let a = self.agreements[i].clone();
                self.agreements[i].suspended = true;
                let label = self.label(
                    "access_after_suspension",
                    &a.consumer,
                    vec![format!("agreement:{}", a.id)],
                    "keeps attempting accesses on an agreement its provider suspended".into(),
                );
                let msg = self.exec_agreements(
                    &a.provider,
                    &AgreementsMsg::Suspend { agreement_id: a.id },
                    &[],
                )?;
                out.push(self.tx(
                    &a.provider,
                    vec![msg],
                    "suspend",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
                self.after_suspension_attempts.push((i, label));
            }
        }
        // 3. attempts against last round's withdrawal and suspension
        for (consumer, a, c, label) in std::mem::take(&mut self.after_withdrawal_attempts) {
            if round == self.schedule.after_withdrawal {
                self.after_withdrawal_attempts.push((consumer, a, c, label));
                continue;
            }
            let purpose = self.agreements[a].purpose.clone();
            let subject = self.consents[c].subject.clone();
            for _ in 0..self.rng.random_range(4..8) {
                let msg = self.access_msg(&consumer, a, &purpose, Some(subject.clone()))?;
                out.push(self.tx(
                    &consumer,
                    vec![msg],
                    "access",
                    Expect::Denied(Some("consent_not_granted")),
                    Some(label),
                    Pending::Accesses(vec![]),
                ));
            }
        }
        for (i, label) in std::mem::take(&mut self.after_suspension_attempts) {
            if round == self.schedule.after_suspension {
                self.after_suspension_attempts.push((i, label));
                continue;
            }
            let a = self.agreements[i].clone();
            let subject = if a.consent_required {
                self.consenting_subject(&a)
            } else {
                None
            };
            for _ in 0..self.rng.random_range(4..8) {
                let msg = self.access_msg(&a.consumer, i, &a.purpose, subject.clone())?;
                out.push(self.tx(
                    &a.consumer,
                    vec![msg],
                    "access",
                    Expect::Denied(Some("agreement_suspended")),
                    Some(label),
                    Pending::Accesses(vec![]),
                ));
            }
        }
        // 4. honest traffic: every consumer, several txs of `batch` accesses each
        for c in self.consumers.clone() {
            for _ in 0..TXS_PER_CONSUMER {
                let mut msgs = Vec::new();
                let mut idx = Vec::new();
                for _ in 0..self.batch {
                    if let Some((m, i)) = self.honest_access(&c, false)? {
                        msgs.push(m);
                        idx.push(i);
                    }
                }
                if !msgs.is_empty() {
                    out.push(self.tx(&c, msgs, "access", Expect::Ok, None, Pending::Accesses(idx)));
                }
            }
            // honest mistakes, now and then: a purpose the agreement does not permit
            if self.rng.random_bool(0.15) {
                let mine: Vec<usize> = (0..self.agreements.len())
                    .filter(|&i| self.agreements[i].consumer == c && self.usable(i))
                    .collect();
                if let Some(&i) = mine.choose(&mut self.rng) {
                    let a = self.agreements[i].clone();
                    let wrong = PURPOSES[..HONEST_PURPOSES]
                        .iter()
                        .find(|p| **p != a.purpose)
                        .copied()
                        .unwrap_or("analytics");
                    let subject = if a.consent_required {
                        self.consenting_subject(&a)
                    } else {
                        None
                    };
                    let msg = self.access_msg(&c, i, wrong, subject)?;
                    out.push(self.tx(
                        &c,
                        vec![msg],
                        "access",
                        Expect::Denied(Some("purpose_not_permitted")),
                        None,
                        Pending::Accesses(vec![]),
                    ));
                }
            }
            // ... or one access past a cap it did not notice
            let capped: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| {
                    let a = &self.agreements[i];
                    a.consumer == c
                        && !a.suspended
                        && !a.terminated
                        && a.cap.is_some_and(|cap| a.count >= cap)
                })
                .collect();
            if let Some(&i) = capped.first() {
                if self.rng.random_bool(0.3) {
                    let a = self.agreements[i].clone();
                    let subject = if a.consent_required {
                        self.consenting_subject(&a)
                    } else {
                        None
                    };
                    let msg = self.access_msg(&c, i, &a.purpose, subject)?;
                    out.push(self.tx(
                        &c,
                        vec![msg],
                        "access",
                        Expect::Denied(Some("cap_reached")),
                        None,
                        Pending::Accesses(vec![]),
                    ));
                }
            }
        }
        if !self.inject {
            return Ok(out);
        }
        // 5. injected: an exfiltration burst (this round and the next), ten times the usual volume
        let (b_round, b_consumer) = self.schedule.burst.clone();
        if round == b_round || round == b_round + 1 {
            let label = match self.labels.iter().position(|l| l.kind == "access_burst") {
                Some(l) => l,
                None => self.label(
                    "access_burst",
                    &b_consumer,
                    vec![],
                    "an exfiltration-like burst: about ten times its usual access volume".into(),
                ),
            };
            for _ in 0..TXS_PER_CONSUMER * 9 {
                let mut msgs = Vec::new();
                let mut idx = Vec::new();
                for _ in 0..self.batch {
                    if let Some((m, i)) = self.honest_access(&b_consumer, true)? {
                        msgs.push(m);
                        idx.push(i);
                    }
                }
                if msgs.is_empty() {
                    break;
                }
                for &i in &idx {
                    let t = format!("agreement:{}", self.agreements[i].id);
                    if !self.labels[label].targets.contains(&t) {
                        self.labels[label].targets.push(t);
                    }
                }
                out.push(self.tx(
                    &b_consumer,
                    msgs,
                    "access",
                    Expect::Ok,
                    Some(label),
                    Pending::Accesses(idx),
                ));
            }
        }
        // 6. purpose hopping: one consumer tries purpose after purpose on its agreements
        let (h_round, h_consumer) = self.schedule.hopping.clone();
        if round == h_round {
            let mine: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| self.agreements[i].consumer == h_consumer && self.usable(i))
                .collect();
            if !mine.is_empty() {
                let label = self.label(
                    "purpose_hopping",
                    &h_consumer,
                    mine.iter()
                        .map(|&i| format!("agreement:{}", self.agreements[i].id))
                        .collect(),
                    "tries purposes its agreements do not permit, one after another".into(),
                );
                for k in 0..10 {
                    let i = mine[k % mine.len()];
                    let a = self.agreements[i].clone();
                    let others: Vec<&str> = PURPOSES
                        .iter()
                        .copied()
                        .filter(|p| *p != a.purpose)
                        .collect();
                    let purpose = others[k % others.len()];
                    let subject = if a.consent_required {
                        self.consenting_subject(&a)
                    } else {
                        None
                    };
                    let msg = self.access_msg(&h_consumer, i, purpose, subject)?;
                    out.push(self.tx(
                        &h_consumer,
                        vec![msg],
                        "access",
                        Expect::Denied(Some("purpose_not_permitted")),
                        Some(label),
                        Pending::Accesses(vec![]),
                    ));
                }
            }
        }
        // 7. a flood of denied attempts: probing other consumers' agreements and unconsented subjects
        let (f_round, f_consumer) = self.schedule.flood.clone();
        if round == f_round {
            let label = self.label(
                "denied_flood",
                &f_consumer,
                vec![],
                "a flood of access attempts that are all refused".into(),
            );
            let others: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| self.agreements[i].consumer != f_consumer)
                .collect();
            for _ in 0..40 {
                let Some(&i) = others.choose(&mut self.rng) else {
                    break;
                };
                let a = self.agreements[i].clone();
                let probe = format!("psn:probe-{}", self.rng.random_range(0..1000));
                let msg = self.access_msg(&f_consumer, i, &a.purpose, Some(probe))?;
                let t = format!("agreement:{}", a.id);
                if !self.labels[label].targets.contains(&t) {
                    self.labels[label].targets.push(t);
                }
                out.push(self.tx(
                    &f_consumer,
                    vec![msg],
                    "access",
                    Expect::Denied(None),
                    Some(label),
                    Pending::Accesses(vec![]),
                ));
            }
        }
        Ok(out)
    }

    fn plan_settle(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        // one consumer ends an agreement early: vested part to the provider, the rest refunded
        let live: Vec<usize> = (0..self.agreements.len())
            .filter(|&i| !self.agreements[i].terminated && !self.agreements[i].suspended)
            .collect();
        if let Some(&i) = live.choose(&mut self.rng) {
            let a = self.agreements[i].clone();
            self.agreements[i].terminated = true;
            let msg = self.exec_agreements(
                &a.consumer,
                &AgreementsMsg::Terminate { agreement_id: a.id },
                &[],
            )?;
            out.push(self.tx(
                &a.consumer,
                vec![msg],
                "terminate",
                Expect::Ok,
                None,
                Pending::None,
            ));
        }
        // providers claim what has vested on the others
        let mut per_provider: BTreeMap<String, Vec<Any>> = BTreeMap::new();
        for a in self.agreements.clone() {
            if a.keyed && !a.terminated {
                per_provider
                    .entry(a.provider.clone())
                    .or_default()
                    .push(self.exec_agreements(
                        &a.provider,
                        &AgreementsMsg::Claim { agreement_id: a.id },
                        &[],
                    )?);
            }
        }
        for (p, msgs) in per_provider {
            for chunk in msgs.chunks(10) {
                out.push(self.tx(&p, chunk.to_vec(), "claim", Expect::Ok, None, Pending::None));
            }
        }
        Ok(out)
    }

    // ---- outcomes --------------------------------------------------------------------------

    /// Reads ids from the round's events and notes the labelled transactions.
    pub fn absorb(&mut self, planned: &[Planned], outcomes: &[TxOutcome]) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for ((p, o), pend) in planned.iter().zip(outcomes).zip(pending) {
            if let Some(l) = p.label {
                let label = &mut self.labels[l];
                label.txs.push(o.hash.clone());
                label.first_height = Some(label.first_height.map_or(o.height, |h| h.min(o.height)));
                label.last_height = Some(label.last_height.map_or(o.height, |h| h.max(o.height)));
            }
            if !o.ok() {
                if matches!(pend, Pending::Accesses(_)) {
                    self.accesses_denied += 1;
                }
                continue;
            }
            let ids = |action: &str, key: &str| -> anyhow::Result<Vec<u64>> {
                o.wasm_events(action)
                    .map(|e| {
                        e.get(key)
                            .with_context(|| format!("{action} event without {key}"))?
                            .parse::<u64>()
                            .with_context(|| format!("{action}.{key} is not a number"))
                    })
                    .collect()
            };
            match pend {
                Pending::None => {}
                Pending::Assets(slots) => {
                    let got = ids("register_asset", "asset_id")?;
                    anyhow::ensure!(
                        got.len() == slots.len(),
                        "expected {} assets, events name {}",
                        slots.len(),
                        got.len()
                    );
                    for (s, id) in slots.into_iter().zip(got) {
                        self.assets[s].id = Some(id);
                    }
                }
                Pending::Consents(items) => {
                    let mut got = ids("grant", "consent_id")?;
                    got.extend(ids("grant_signed", "consent_id")?);
                    let subjects: Vec<String> = o
                        .events
                        .iter()
                        .filter(|e| {
                            e.kind == "wasm"
                                && matches!(e.get("action"), Some("grant") | Some("grant_signed"))
                        })
                        .filter_map(|e| e.get("subject").map(str::to_string))
                        .collect();
                    anyhow::ensure!(
                        got.len() == items.len() && subjects.len() == items.len(),
                        "consent events do not match the plan"
                    );
                    for (((holder, controller, signed), id), subject) in
                        items.into_iter().zip(got).zip(subjects)
                    {
                        self.consents.push(ConsentRec {
                            id,
                            subject,
                            holder,
                            controller,
                            signed,
                            withdrawn: false,
                            asset: None,
                            purposes: PURPOSES[..HONEST_PURPOSES]
                                .iter()
                                .map(|p| p.to_string())
                                .collect(),
                            prior: false,
                        });
                    }
                }
                Pending::Offers(items) => {
                    let got = ids("create_offer", "offer_id")?;
                    anyhow::ensure!(
                        got.len() == items.len(),
                        "offer events do not match the plan"
                    );
                    for ((slot, terms), id) in items.into_iter().zip(got) {
                        self.offers.push(OfferRec {
                            id,
                            asset: slot,
                            provider: self.assets[slot].provider.clone(),
                            permitted: terms.permitted_purposes,
                            cap: terms.access_cap,
                            price: terms.price.amount.to_string().parse().unwrap_or_default(),
                            consent_required: terms.consent_required,
                        });
                    }
                }
                Pending::Signs(items) => {
                    let got = ids("sign", "agreement_id")?;
                    anyhow::ensure!(
                        got.len() == items.len(),
                        "sign events do not match the plan"
                    );
                    for ((purpose, o_idx), id) in items.into_iter().zip(got) {
                        let offer = self.offers[o_idx].clone();
                        self.agreements.push(AgreementRec {
                            id,
                            offer: o_idx,
                            consumer: p.sender.clone(),
                            provider: offer.provider.clone(),
                            asset_id: self.assets[offer.asset].id.unwrap_or_default(),
                            purpose,
                            cap: offer.cap,
                            count: 0,
                            consent_required: offer.consent_required,
                            suspended: false,
                            terminated: false,
                            keyed: false,
                        });
                    }
                }
                Pending::Accesses(idx) => {
                    self.accesses_allowed += idx.len() as u64;
                }
            }
        }
        Ok(())
    }
}
