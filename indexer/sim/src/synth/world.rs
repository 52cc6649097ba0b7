//! The synthetic world: accounts, assets with lineage and attestations, consents, offers and
//! agreements, and the rows each of them writes.

use std::collections::BTreeMap;

use anyhow::Context;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use sha2::{Digest, Sha256};

use datapact_index::copy::{PgArray, UnixTime};
use datapact_index::tables::{
    Agreement as AgreementRow, Asset, Attestation, Consent as ConsentRow, LineageEdge, Offer, Pos,
    Rows, Tx, Version,
};

use super::variants::{Noise, NoiseMark, Variant};
use super::{address, SynthConfig};
use crate::labels::Label;
use crate::workload::{CLAIMS, HONEST_PURPOSES, PURPOSES};

/// Agreements in a synthetic history do not expire (2100-01-01).
const FAR_FUTURE: i64 = 4_102_444_800;

pub(super) struct Agreement {
    pub id: u64,
    pub asset: u64,
    pub provider: usize,
    pub consumer: usize,
    pub purpose: &'static str,
    pub cap: Option<u64>,
    pub count: u64,
    pub consent_required: bool,
    pub suspended: bool,
}

pub(super) struct Consent {
    pub id: u64,
    pub subject: usize,
    pub controller: usize,
    /// None: every asset of the controller
    pub asset: Option<u64>,
    pub purposes: Vec<&'static str>,
    pub withdrawn_at: Option<u64>,
}

/// One block's worth of rows.
pub(super) struct BlockRows<'a> {
    pub rows: &'a mut Rows,
    pub height: u64,
    pub next_tx: u32,
}

impl BlockRows<'_> {
    /// A transaction of this block; returns its index.
    pub fn tx(
        &mut self,
        hash_seed: u64,
        sender: &str,
        success: bool,
        action: &str,
        log: Option<String>,
    ) -> u32 {
        let i = self.next_tx;
        self.next_tx += 1;
        let hash = hex::encode_upper(Sha256::digest(format!("{hash_seed}:{}:{i}", self.height)));
        self.rows.txs.push(Tx {
            height: self.height as i64,
            tx_index: i as i32,
            hash,
            sender: Some(sender.to_string()),
            success,
            code: if success { 0 } else { 5 },
            log,
            gas_wanted: 400_000,
            gas_used: 250_000,
            contract: None,
            action: Some(action.to_string()),
            msg: None,
            decode_error: None,
        });
        i
    }

    /// Where event `event` of transaction `tx` of this block sits.
    pub fn at(&self, tx: u32, event: u32) -> Pos {
        Pos {
            height: self.height as i64,
            tx_index: tx as i32,
            event_index: event as i32,
        }
    }
}

pub(super) struct World {
    pub rng: ChaCha8Rng,
    pub cfg: SynthConfig,
    pub consumers: Vec<String>,
    pub providers: Vec<String>,
    pub subjects: Vec<String>,
    pub attestors: Vec<String>,
    /// (asset id, owner index, personal)
    pub assets: Vec<(u64, usize, bool)>,
    /// (asset, version) -> attested
    pub attested: BTreeMap<(u64, u32), bool>,
    pub latest_version: BTreeMap<u64, u32>,
    pub agreements: Vec<Agreement>,
    pub consents: Vec<Consent>,
    /// controller -> indexes of its consents
    pub by_controller: Vec<Vec<usize>>,
    /// consumer -> agreement indexes
    pub by_consumer: Vec<Vec<usize>>,
    /// per-consumer accesses per hour
    pub rate: Vec<f64>,
    /// per-consumer demand shape (empty: steady)
    pub shapes: Vec<Shape>,
    pub next_asset: u64,
    pub next_consent: u64,
    pub labels: Vec<Label>,
    /// where the honest-noise variants changed behaviour
    pub noise: Vec<NoiseMark>,
    /// what they change
    pub noise_of: Noise,
}

impl World {
    pub(super) fn new(cfg: &SynthConfig) -> anyhow::Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let name = |p: &str, n: usize| -> Vec<String> {
            (0..n)
                .map(|i| address(cfg.seed, &format!("{p}-{i}")))
                .collect()
        };
        let consumers = name("consumer", cfg.consumers);
        let lognormal = LogNormal::new(0.0, 0.8).context("rate distribution")?;
        let raw: Vec<f64> = (0..cfg.consumers)
            .map(|_| lognormal.sample(&mut rng))
            .collect();
        // scale rates so the whole run makes about `accesses` accesses (daily rhythm averages 1)
        let hours = (cfg.days as f64 * 24.0).max(1.0);
        let total: f64 = raw.iter().sum::<f64>() * hours;
        let k = cfg.accesses as f64 / total.max(1e-9);
        Ok(Self {
            shapes: Shape::draw(cfg),
            rate: raw.iter().map(|r| r * k).collect(),
            consumers,
            providers: name("provider", cfg.providers),
            subjects: name("subject", cfg.subjects),
            attestors: name("attestor", cfg.attestors),
            rng,
            cfg: cfg.clone(),
            assets: Vec::new(),
            attested: BTreeMap::new(),
            latest_version: BTreeMap::new(),
            agreements: Vec::new(),
            consents: Vec::new(),
            by_controller: Vec::new(),
            by_consumer: vec![Vec::new(); cfg.consumers],
            next_asset: 1,
            next_consent: 1,
            labels: Vec::new(),
            noise: Vec::new(),
            noise_of: Noise::default(),
        })
    }

    pub(super) fn label(
        &mut self,
        kind: &str,
        actor: String,
        targets: Vec<String>,
        description: &str,
    ) -> usize {
        self.labels
            .push(Label::new(kind, actor, targets, self.cfg.seed, description));
        self.labels.len() - 1
    }

    /// A label of an attack variant's instance (of the variant's kind).
    pub(super) fn variant_label(&mut self, v: Variant, actor: String, description: &str) -> usize {
        let kind = v.kind().unwrap_or(v.name());
        let l = self.label(kind, actor, vec![], description);
        self.labels[l].variant = Some(v.name().to_string());
        l
    }

    pub(super) fn touch(&mut self, label: Option<usize>, height: u64) {
        if let Some(l) = label.and_then(|l| self.labels.get_mut(l)) {
            l.touch(height);
        }
    }

    /// Registers an asset with a root version; returns its id.
    pub(super) fn register(
        &mut self,
        b: &mut BlockRows,
        owner: usize,
        personal: bool,
        parents: &[(u64, u32)],
    ) -> u64 {
        let id = self.next_asset;
        self.next_asset += 1;
        let owner_addr = self.providers[owner].clone();
        let tx = b.tx(self.cfg.seed, &owner_addr, true, "register_asset", None);
        b.rows.assets.push(Asset {
            at: b.at(tx, 0),
            asset_id: id as i64,
            owner: owner_addr.clone(),
            sensitivity: if personal { "personal" } else { "internal" }.into(),
        });
        self.assets.push((id, owner, personal));
        self.publish(b, owner, id, parents);
        id
    }

    pub(super) fn publish(
        &mut self,
        b: &mut BlockRows,
        owner: usize,
        asset: u64,
        parents: &[(u64, u32)],
    ) -> u32 {
        let v = self.latest_version.get(&asset).copied().unwrap_or(0) + 1;
        self.latest_version.insert(asset, v);
        let owner_addr = self.providers[owner].clone();
        let tx = b.tx(self.cfg.seed, &owner_addr, true, "publish_version", None);
        for (pa, pv) in parents {
            b.rows.lineage_edges.push(LineageEdge {
                at: b.at(tx, 0),
                parent_asset: *pa as i64,
                parent_version: *pv as i32,
                child_asset: asset as i64,
                child_version: v as i32,
            });
        }
        let content = hex::encode(Sha256::digest(format!("{asset}@{v}")));
        let schema = self
            .rng
            .random_bool(0.7)
            .then(|| hex::encode(Sha256::digest(format!("schema {asset}"))));
        b.rows.versions.push(Version {
            at: b.at(tx, 0),
            asset_id: asset as i64,
            version: v as i32,
            publisher: owner_addr,
            content_hash: content,
            schema_hash: schema,
        });
        self.attested.insert((asset, v), false);
        v
    }

    pub(super) fn attest(&mut self, b: &mut BlockRows, attestor: usize, asset: u64, v: u32) {
        let who = self.attestors[attestor].clone();
        let tx = b.tx(self.cfg.seed, &who, true, "attest", None);
        let claim = CLAIMS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("schema-valid");
        let evidence = hex::encode(Sha256::digest(format!("{who} {asset} {v} {claim}")));
        b.rows.attestations.push(Attestation {
            at: b.at(tx, 0),
            asset_id: asset as i64,
            version: v as i32,
            attestor: who,
            claim: claim.to_string(),
            evidence_hash: Some(evidence),
            revoked: false,
        });
        self.attested.insert((asset, v), true);
    }

    /// Assets, versions with lineage, attestations, offers, agreements and consents, in block 1.
    pub(super) fn setup(&mut self, b: &mut BlockRows) {
        for p in 0..self.cfg.providers {
            let n = self.rng.random_range(3..=7);
            for _ in 0..n {
                let personal = self.rng.random_bool(0.4);
                // most new assets derive from an attested version somebody already published
                let parents: Vec<(u64, u32)> = if !self.assets.is_empty()
                    && self.rng.random_bool(0.4)
                {
                    let (pa, _, _) = *self.assets.choose(&mut self.rng).unwrap_or(&(1, 0, false));
                    vec![(pa, 1)]
                } else {
                    vec![]
                };
                let id = self.register(b, p, personal, &parents);
                for _ in 0..self.rng.random_range(0..3) {
                    self.publish(b, p, id, &[]);
                }
                // one to three attestors per version, now and then none
                let versions = self.latest_version[&id];
                for v in 1..=versions {
                    if self.rng.random_bool(0.9) {
                        let k = self.rng.random_range(1..=3.min(self.cfg.attestors.max(1)));
                        let mut who: Vec<usize> = (0..self.cfg.attestors).collect();
                        who.shuffle(&mut self.rng);
                        for a in who.into_iter().take(k) {
                            self.attest(b, a, id, v);
                        }
                    }
                }
            }
        }
        // consents: each subject consents to one to three controllers
        for subj in 0..self.cfg.subjects {
            for _ in 0..self.rng.random_range(1..=3) {
                let controller = self.rng.random_range(0..self.cfg.providers);
                let mine: Vec<u64> = self
                    .assets
                    .iter()
                    .filter(|a| a.1 == controller && a.2)
                    .map(|a| a.0)
                    .collect();
                let asset = if !mine.is_empty() && self.rng.random_bool(0.5) {
                    mine.choose(&mut self.rng).copied()
                } else {
                    None
                };
                let mut purposes: Vec<&'static str> = PURPOSES[..HONEST_PURPOSES].to_vec();
                purposes.shuffle(&mut self.rng);
                purposes.truncate(self.rng.random_range(2..=HONEST_PURPOSES));
                self.grant(b, subj, controller, asset, purposes);
            }
        }
        // offers and agreements: each consumer signs two to six
        let mut offer = 0u64;
        for c in 0..self.cfg.consumers {
            for _ in 0..self.rng.random_range(2..=6) {
                let (asset, owner, personal) =
                    *self.assets.choose(&mut self.rng).unwrap_or(&(1, 0, false));
                offer += 1;
                let purpose = PURPOSES[self.rng.random_range(0..HONEST_PURPOSES)];
                let cap = self
                    .rng
                    .random_bool(0.25)
                    .then(|| self.rng.random_range(50..400u64));
                let provider = self.providers[owner].clone();
                let tx = b.tx(self.cfg.seed, &provider, true, "create_offer", None);
                b.rows.offers.push(Offer {
                    at: b.at(tx, 0),
                    offer_id: offer as i64,
                    asset_id: asset as i64,
                    provider: provider.clone(),
                    price: "1000udpt".into(),
                    consent_required: personal,
                    purposes: PgArray(vec![purpose.to_string()]),
                    access_cap: cap.map(|c| c as i64),
                    delivery_share_bps: Some(2_500),
                });
                let id = self.agreements.len() as u64 + 1;
                let consumer = self.consumers[c].clone();
                let tx = b.tx(self.cfg.seed, &consumer, true, "sign", None);
                b.rows.agreements.push(AgreementRow {
                    at: b.at(tx, 0),
                    agreement_id: id as i64,
                    offer_id: offer as i64,
                    asset_id: asset as i64,
                    provider,
                    consumer,
                    purpose: purpose.to_string(),
                    price: "1000udpt".into(),
                    expires_at: UnixTime(FAR_FUTURE),
                });
                self.by_consumer[c].push(self.agreements.len());
                self.agreements.push(Agreement {
                    id,
                    asset,
                    provider: owner,
                    consumer: c,
                    purpose,
                    cap,
                    count: 0,
                    consent_required: personal,
                    suspended: false,
                });
            }
        }
    }

    pub(super) fn grant(
        &mut self,
        b: &mut BlockRows,
        subj: usize,
        controller: usize,
        asset: Option<u64>,
        purposes: Vec<&'static str>,
    ) -> usize {
        let id = self.next_consent;
        self.next_consent += 1;
        let subject = self.subjects[subj].clone();
        let tx = b.tx(self.cfg.seed, &subject, true, "grant", None);
        let scope = match asset {
            Some(a) => format!("asset:{a}"),
            None => "controller".into(),
        };
        b.rows.consents.push(ConsentRow {
            at: b.at(tx, 0),
            consent_id: id as i64,
            subject,
            controller: self.providers[controller].clone(),
            scope,
            purposes: PgArray(purposes.iter().map(|p| p.to_string()).collect()),
            legal_basis: "consent".into(),
            method: "wallet".into(),
            expires_at: None,
        });
        if self.by_controller.len() <= controller {
            self.by_controller.resize(controller + 1, Vec::new());
        }
        self.by_controller[controller].push(self.consents.len());
        self.consents.push(Consent {
            id,
            subject: subj,
            controller,
            asset,
            purposes,
            withdrawn_at: None,
        });
        self.consents.len() - 1
    }

    /// Consents in force at `height` that cover this agreement's use.
    pub(super) fn covering(&self, a: &Agreement, height: u64) -> Vec<usize> {
        self.by_controller
            .get(a.provider)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| (i, &self.consents[i]))
            // by_controller holds only this provider's consents
            .filter(|(_, c)| {
                c.asset.is_none_or(|x| x == a.asset)
                    && c.purposes.contains(&a.purpose)
                    && c.withdrawn_at.is_none_or(|w| w > height)
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// How one consumer's demand changes over the history (a multiplier of its rate per hour).
#[derive(Clone, Debug)]
pub(super) struct Shape {
    growth: f64,
    weekly: f64,
    weekly_phase: f64,
    regime_at: u64,
    regime: f64,
    hours: f64,
}

impl Shape {
    /// Every consumer's shape, from a stream of its own: the other draws of a history do not
    /// change with the demand (a steady history is exactly as before).
    fn draw(cfg: &SynthConfig) -> Vec<Shape> {
        use super::Demand;
        if cfg.demand == Demand::Steady {
            return Vec::new();
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_mul(0x9E37_79B9).wrapping_add(0xD3));
        let hours = (cfg.days as f64 * 24.0).max(1.0);
        let (trend, weekly, regime) = match cfg.demand {
            Demand::Trend => (true, false, false),
            Demand::Weekly => (false, true, false),
            Demand::Regime => (false, false, true),
            _ => (true, true, true),
        };
        (0..cfg.consumers)
            .map(|_| {
                let growth = rng.random_range(-0.5..1.5);
                let weekly_amp = rng.random_range(0.2..0.6);
                let weekly_phase = rng.random_range(0.0..7.0);
                let regime_at = (hours * rng.random_range(0.5..0.85)) as u64;
                let factor = if rng.random_bool(0.5) {
                    rng.random_range(0.3..0.6)
                } else {
                    rng.random_range(1.7..3.0)
                };
                Shape {
                    growth: if trend { growth } else { 0.0 },
                    weekly: if weekly { weekly_amp } else { 0.0 },
                    weekly_phase,
                    regime_at: if regime { regime_at } else { u64::MAX },
                    regime: factor,
                    hours,
                }
            })
            .collect()
    }

    /// The multiplier of the consumer's rate in `hour`.
    pub(super) fn at(&self, hour: u64) -> f64 {
        let trend = 1.0 + self.growth * hour as f64 / self.hours;
        let day = hour as f64 / 24.0;
        let week =
            1.0 + self.weekly * ((day - self.weekly_phase) / 7.0 * std::f64::consts::TAU).cos();
        let regime = if hour >= self.regime_at {
            self.regime
        } else {
            1.0
        };
        (trend * week * regime).max(0.05)
    }
}

/// The daily rhythm: quiet at night, busy in office hours; averages 1 over a day.
pub(super) fn rhythm(hour_of_day: u64) -> f64 {
    let x = (hour_of_day as f64 - 14.0) / 24.0 * std::f64::consts::TAU;
    1.0 + 0.6 * x.cos()
}
