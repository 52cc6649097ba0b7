//! The workload's model of the world: the accounts, what exists on chain, the schedule of
//! injected misbehaviour, and how each round's outcomes are read back into the model.

use std::collections::BTreeMap;

use anyhow::Context;
use cosmrs::Any;
use k256::ecdsa::SigningKey;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_agreements::state::OfferTerms;
use datapact_consent::msg::ExecuteMsg as ConsentMsg;
use datapact_registry::msg::ExecuteMsg as RegistryMsg;
use datapact_types::consent::{key_subject_id, AssetScope};
use datapact_types::{AgreementId, AssetId, ConsentId, OfferId, Sensitivity, VersionNo};

use datapact_chain::tx::{execute_msg, TxOutcome};
use datapact_chain::{Chain, Deployment};

use super::exec::{Expect, Fleet, Planned};
use super::WorkloadConfig;
use crate::labels::Label;

/// Purposes consumers ask for; honest offers never permit the last two (synth uses the same).
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
pub(super) const TXS_PER_CONSUMER: usize = 12;

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
    pub(super) fn covers(&self, controller: &str, asset_id: AssetId, purpose: &str) -> bool {
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
pub(super) type PlannedOffer = (usize, OfferTerms);

/// What a planned tx will create, read back from its events in `absorb`.
#[derive(Clone, Debug)]
pub(super) enum Pending {
    None,
    Assets(Vec<usize>),
    Consents(Vec<(String, String, bool)>),
    Offers(Vec<PlannedOffer>),
    Signs(Vec<(String, usize)>),
    Accesses(Vec<usize>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
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
pub(super) struct Schedule {
    pub(super) burst: (u32, String),
    pub(super) hopping: (u32, String),
    pub(super) after_withdrawal: u32,
    pub(super) after_suspension: u32,
    pub(super) flood: (u32, String),
}

pub struct World {
    pub(super) rng: ChaCha8Rng,
    pub(super) seed: u64,
    pub(super) inject: bool,
    pub(super) rounds: u32,
    pub(super) batch: usize,
    pub(super) chain_id: String,
    pub(super) registry: String,
    pub(super) consent: String,
    pub(super) agreements_addr: String,
    pub(super) denom: String,
    pub(super) addr: BTreeMap<String, String>,
    pub(super) pubkey: BTreeMap<String, Vec<u8>>,
    pub(super) providers: Vec<String>,
    pub(super) consumers: Vec<String>,
    pub(super) subjects: Vec<String>,
    pub(super) attestors: Vec<String>,
    pub(super) relayers: Vec<String>,
    /// off-chain signing keys of the subjects who consent by signature
    pub(super) subject_keys: BTreeMap<String, SigningKey>,
    pub(super) nonces: BTreeMap<String, u64>,
    pub assets: Vec<AssetSlot>,
    pub consents: Vec<ConsentRec>,
    pub offers: Vec<OfferRec>,
    pub agreements: Vec<AgreementRec>,
    pub accesses_allowed: u64,
    pub accesses_denied: u64,
    pub(super) stage: Stage,
    pub(super) pending: Vec<Pending>,
    pub(super) schedule: Schedule,
    pub(super) labels: Vec<Label>,
    /// withdrawals by round: (consent index, label index if injected)
    pub(super) to_withdraw: BTreeMap<u32, Vec<(usize, Option<usize>)>>,
    /// (consumer, consent index, label) whose holder withdrew: attempts to come
    pub(super) after_withdrawal_attempts: Vec<(String, usize, usize, usize)>,
    pub(super) after_suspension_attempts: Vec<(usize, usize)>,
}

pub(super) fn hex_hash(parts: &[&[u8]]) -> String {
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
            let key = datapact_plane::DataKey::generate(); // an age key, as consumers make
            pubkey.insert(name.clone(), key.public().to_bytes());
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
            match r.suspension {
                None => consumers.push(c),
                Some(_) => tracing::warn!("{c} is suspended by an audit alert: it sits this out"),
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
            "{} providers and {} consumers in good standing; the workload needs 4 and 8: lift \
             earlier alerts' suspensions (`datapact respond lift ALERT`) or `make localnet-reset`",
            providers.len(),
            consumers.len()
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

    pub(super) fn a(&self, name: &str) -> &str {
        self.addr.get(name).map(|s| s.as_str()).unwrap_or_default()
    }

    pub(super) fn exec_registry(&self, sender: &str, msg: &RegistryMsg) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.registry, msg, &[])
    }
    pub(super) fn exec_consent(&self, sender: &str, msg: &ConsentMsg) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.consent, msg, &[])
    }
    pub(super) fn exec_agreements(
        &self,
        sender: &str,
        msg: &AgreementsMsg,
        funds: &[(u128, &str)],
    ) -> anyhow::Result<Any> {
        execute_msg(self.a(sender), &self.agreements_addr, msg, funds)
    }

    pub(super) fn label(
        &mut self,
        kind: &str,
        actor: &str,
        targets: Vec<String>,
        description: String,
    ) -> usize {
        let actor = self.a(actor).to_string();
        self.labels
            .push(Label::new(kind, actor, targets, self.seed, &description));
        self.labels.len() - 1
    }

    pub(super) fn tx(
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

    // ---- outcomes --------------------------------------------------------------------------

    /// Reads ids from the round's events and notes the labelled transactions.
    pub fn absorb(&mut self, planned: &[Planned], outcomes: &[TxOutcome]) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for ((p, o), pend) in planned.iter().zip(outcomes).zip(pending) {
            if let Some(l) = p.label {
                let label = &mut self.labels[l];
                label.txs.push(o.hash.clone());
                label.touch(o.height);
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
