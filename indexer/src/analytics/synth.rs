//! `datapact synth`: a synthetic chain history written straight into the typed tables, with
//! ground-truth labels — the fast path for evaluating and benchmarking the analytics at a scale
//! (millions of accesses, weeks of blocks) that a local chain cannot produce in minutes.
//!
//! It writes the rows the ingester would have written for such a chain (blocks, transactions
//! and the typed tables; not the raw `events` layer), through the ingester's own write path, so
//! the analytics cannot tell it from an ingested chain. Behaviour follows the on-chain workload
//! (`datapact simulate`) at scale: consumers with their own rates and daily rhythm, honest
//! spikes and honest mistakes, consents given and withdrawn, and the same six kinds of injected
//! misbehaviour, several instances each, labelled in the same JSON-lines format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::ingest::decode::{pg_array, Row, Rows};
use crate::ingest::write::write_batch;
use crate::workload::{Label, CLAIMS, HONEST_PURPOSES, PURPOSES};

/// The misbehaviour kinds, as the on-chain workload names them.
pub const KINDS: [&str; 6] = [
    "access_burst",
    "purpose_hopping",
    "access_after_withdrawal",
    "access_after_suspension",
    "denied_flood",
    "provenance_laundering",
];

#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub seed: u64,
    pub consumers: usize,
    pub providers: usize,
    pub subjects: usize,
    pub attestors: usize,
    pub days: u32,
    /// seconds between blocks
    pub block_seconds: u64,
    /// about this many accesses in all
    pub accesses: u64,
    /// instances of each misbehaviour kind
    pub injections: usize,
    pub labels: PathBuf,
    pub chain_id: String,
    pub progress: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            consumers: 300,
            providers: 40,
            subjects: 3000,
            attestors: 12,
            days: 14,
            block_seconds: 6,
            accesses: 300_000,
            injections: 8,
            labels: PathBuf::from(".data/synth-labels.jsonl"),
            chain_id: "datapact-synth".into(),
            progress: true,
        }
    }
}

/// What a run wrote.
#[derive(Debug, Default)]
pub struct SynthSummary {
    pub blocks: u64,
    pub accesses: u64,
    pub denied: u64,
    pub rows: u64,
    pub labels: Vec<Label>,
}

/// A bech32 `wasm1…` address derived from a name, like a real account's.
pub fn address(seed: u64, name: &str) -> String {
    let digest = Sha256::digest(format!("datapact synth {seed} {name}"));
    cosmrs::AccountId::new("wasm", &digest[..20])
        .map(|a| a.to_string())
        .unwrap_or_else(|_| format!("wasm1{}", hex::encode(&digest[..19])))
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

struct Agreement {
    id: u64,
    asset: u64,
    provider: usize,
    consumer: usize,
    purpose: &'static str,
    cap: Option<u64>,
    count: u64,
    consent_required: bool,
    suspended: bool,
}

struct Consent {
    id: u64,
    subject: usize,
    controller: usize,
    /// None: every asset of the controller
    asset: Option<u64>,
    purposes: Vec<&'static str>,
    withdrawn_at: Option<u64>,
}

/// One block's worth of rows, built in table column order.
struct BlockRows<'a> {
    rows: &'a mut Rows,
    height: u64,
    next_tx: u32,
}

impl BlockRows<'_> {
    fn tx(
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
        self.rows.push(
            "txs",
            vec![
                s(self.height),
                s(i),
                s(hash),
                s(sender),
                s(success),
                s(if success { 0 } else { 5 }),
                log,
                s(400_000),
                s(250_000),
                None,
                s(action),
                None,
                None,
            ],
        );
        i
    }

    fn pos(&self, tx: u32, event: u32) -> Vec<Option<String>> {
        vec![s(self.height), s(tx), s(event)]
    }

    fn push(&mut self, table: &'static str, tx: u32, event: u32, rest: Vec<Option<String>>) {
        let mut row: Row = self.pos(tx, event);
        row.extend(rest);
        self.rows.push(table, row);
    }
}

struct World {
    rng: ChaCha8Rng,
    cfg: SynthConfig,
    consumers: Vec<String>,
    providers: Vec<String>,
    subjects: Vec<String>,
    attestors: Vec<String>,
    /// (asset id, owner index, personal)
    assets: Vec<(u64, usize, bool)>,
    /// (asset, version) -> attested
    attested: BTreeMap<(u64, u32), bool>,
    latest_version: BTreeMap<u64, u32>,
    agreements: Vec<Agreement>,
    consents: Vec<Consent>,
    /// controller -> indexes of its consents
    by_controller: Vec<Vec<usize>>,
    /// consumer -> agreement indexes
    by_consumer: Vec<Vec<usize>>,
    /// per-consumer accesses per hour
    rate: Vec<f64>,
    next_asset: u64,
    next_consent: u64,
    labels: Vec<Label>,
}

/// Events scheduled at a second offset from the start.
enum Ev {
    Access {
        agreement: usize,
        subject: Option<usize>,
        label: Option<usize>,
    },
    Denied {
        consumer: usize,
        agreement: Option<usize>,
        purpose: String,
        subject: Option<String>,
        reason: &'static str,
        label: Option<usize>,
    },
    Withdraw {
        consent: usize,
        label: Option<usize>,
    },
    Suspend {
        agreement: usize,
        label: Option<usize>,
    },
    Launder {
        provider: usize,
        label: usize,
        step: u8,
    },
    Publish {
        provider: usize,
        over_unattested: bool,
    },
}

impl World {
    fn new(cfg: &SynthConfig) -> anyhow::Result<Self> {
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
        })
    }

    fn label(
        &mut self,
        kind: &str,
        actor: String,
        targets: Vec<String>,
        description: &str,
    ) -> usize {
        self.labels.push(Label {
            kind: kind.into(),
            actor,
            targets,
            seed: self.cfg.seed,
            first_height: None,
            last_height: None,
            txs: Vec::new(),
            description: description.into(),
        });
        self.labels.len() - 1
    }

    fn touch(&mut self, label: Option<usize>, height: u64) {
        if let Some(l) = label.and_then(|l| self.labels.get_mut(l)) {
            l.first_height = Some(l.first_height.map_or(height, |h| h.min(height)));
            l.last_height = Some(l.last_height.map_or(height, |h| h.max(height)));
        }
    }

    /// Registers an asset with a root version; returns its id.
    fn register(
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
        b.push(
            "assets",
            tx,
            0,
            vec![
                s(id),
                s(&owner_addr),
                s(if personal { "personal" } else { "internal" }),
            ],
        );
        self.assets.push((id, owner, personal));
        self.publish(b, owner, id, parents);
        id
    }

    fn publish(
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
            b.push("lineage_edges", tx, 0, vec![s(pa), s(pv), s(asset), s(v)]);
        }
        let content = hex::encode(Sha256::digest(format!("{asset}@{v}")));
        let schema = self
            .rng
            .random_bool(0.7)
            .then(|| hex::encode(Sha256::digest(format!("schema {asset}"))));
        b.push(
            "versions",
            tx,
            0,
            vec![s(asset), s(v), s(&owner_addr), s(content), schema],
        );
        self.attested.insert((asset, v), false);
        v
    }

    fn attest(&mut self, b: &mut BlockRows, attestor: usize, asset: u64, v: u32) {
        let who = self.attestors[attestor].clone();
        let tx = b.tx(self.cfg.seed, &who, true, "attest", None);
        let claim = CLAIMS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("schema-valid");
        let evidence = hex::encode(Sha256::digest(format!("{who} {asset} {v} {claim}")));
        b.push(
            "attestations",
            tx,
            0,
            vec![s(asset), s(v), s(&who), s(claim), s(evidence), s(false)],
        );
        self.attested.insert((asset, v), true);
    }

    /// Assets, versions with lineage, attestations, offers, agreements and consents, in block 1.
    fn setup(&mut self, b: &mut BlockRows) {
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
                b.push(
                    "offers",
                    tx,
                    0,
                    vec![
                        s(offer),
                        s(asset),
                        s(&provider),
                        s("1000udpt"),
                        s(personal),
                        s(pg_array(&[purpose])),
                        cap.map(|c| c.to_string()),
                    ],
                );
                let id = self.agreements.len() as u64 + 1;
                let consumer = self.consumers[c].clone();
                let tx = b.tx(self.cfg.seed, &consumer, true, "sign", None);
                b.push(
                    "agreements",
                    tx,
                    0,
                    vec![
                        s(id),
                        s(offer),
                        s(asset),
                        s(&provider),
                        s(&consumer),
                        s(purpose),
                        s("1000udpt"),
                        s("2100-01-01T00:00:00Z"),
                    ],
                );
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

    fn grant(
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
        b.push(
            "consents",
            tx,
            0,
            vec![
                s(id),
                s(&subject),
                s(&self.providers[controller]),
                s(scope),
                s(pg_array(&purposes)),
                s("consent"),
                s("wallet"),
                None,
            ],
        );
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
    fn covering(&self, a: &Agreement, height: u64) -> Vec<usize> {
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

/// The daily rhythm: quiet at night, busy in office hours; averages 1 over a day.
fn rhythm(hour_of_day: u64) -> f64 {
    let x = (hour_of_day as f64 - 14.0) / 24.0 * std::f64::consts::TAU;
    1.0 + 0.6 * x.cos()
}

/// Writes the synthetic history into `pool` (which must be empty or hold an earlier synth run
/// of the same chain id: it is replaced) and the labels file.
pub async fn run(pool: &PgPool, cfg: &SynthConfig) -> anyhow::Result<SynthSummary> {
    let mut w = World::new(cfg)?;
    let mut summary = SynthSummary::default();
    let bs = cfg.block_seconds.max(1);
    let hours = cfg.days as u64 * 24;
    anyhow::ensure!(
        3600 % bs == 0,
        "--block-seconds {bs}: use a divisor of 3600 (hours must start on a block)"
    );
    anyhow::ensure!(
        cfg.consumers >= 10 && cfg.providers >= 2 && cfg.subjects >= 10 && cfg.attestors >= 1,
        "synth needs at least 10 consumers, 2 providers, 10 subjects and 1 attestor"
    );
    let start_unix: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    let height_of = |second: u64| 1 + second / bs;

    // block 1: the world as it stands
    let mut setup_rows = Rows::default();
    {
        let mut b = BlockRows {
            rows: &mut setup_rows,
            height: 1,
            next_tx: 0,
        };
        w.setup(&mut b);
    }

    // the schedule of what happens when, hour by hour: honest traffic is drawn per hour as we
    // go; withdrawals, suspensions, publications and the injected misbehaviour are planned now
    let mut planned: BTreeMap<u64, Vec<Ev>> = BTreeMap::new();
    // a random second after the first hour
    let at =
        |rng: &mut ChaCha8Rng| rng.random_range(1..hours.max(2)) * 3600 + rng.random_range(0..3600);
    // honest withdrawals: a tenth of the consents, at random times
    for c in 0..w.consents.len() {
        if w.rng.random_bool(0.1) {
            let t = at(&mut w.rng);
            planned.entry(t).or_default().push(Ev::Withdraw {
                consent: c,
                label: None,
            });
        }
    }
    // honest suspensions by providers, now and then
    for a in 0..w.agreements.len() {
        if w.rng.random_bool(0.02) {
            let t = at(&mut w.rng);
            planned.entry(t).or_default().push(Ev::Suspend {
                agreement: a,
                label: None,
            });
        }
    }
    // honest publications over time, a few over unattested parents
    for p in 0..cfg.providers {
        for _ in 0..w.rng.random_range(1..=4) {
            let t = at(&mut w.rng);
            let over_unattested = w.rng.random_bool(0.1);
            planned.entry(t).or_default().push(Ev::Publish {
                provider: p,
                over_unattested,
            });
        }
    }
    // injections: distinct actors per kind and instance, away from the first day (baselines)
    let first = 24.min(hours.saturating_sub(2));
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut pick_consumer =
        |w: &mut World, need: &dyn Fn(&World, usize) -> bool| -> Option<usize> {
            let mut cands: Vec<usize> = (0..w.cfg.consumers)
                .filter(|c| !used.contains(c) && need(w, *c))
                .collect();
            cands.shuffle(&mut w.rng);
            let c = cands.first().copied()?;
            used.insert(c);
            Some(c)
        };
    for _ in 0..cfg.injections {
        let hour = w.rng.random_range(first..hours.max(first + 1));
        // 1. exfiltration burst: eight to fifteen times its usual hourly volume, at least 60
        if let Some(c) = pick_consumer(&mut w, &|w, c| !w.by_consumer[c].is_empty()) {
            let l = w.label(
                "access_burst",
                w.consumers[c].clone(),
                vec![],
                "an exfiltration-like burst: many times its usual access volume",
            );
            let n = ((w.rate[c] * w.rng.random_range(8.0..15.0)) as u64).max(60);
            let span = w.rng.random_range(1..=2u64);
            for _ in 0..n {
                let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
                let t = hour * 3600 + w.rng.random_range(0..3600 * span);
                planned.entry(t).or_default().push(Ev::Access {
                    agreement: ag,
                    subject: None,
                    label: Some(l),
                });
            }
        }
        // 2. purpose hopping: purposes its agreements do not permit, one after another
        let hour = w.rng.random_range(first..hours.max(first + 1));
        if let Some(c) = pick_consumer(&mut w, &|w, c| !w.by_consumer[c].is_empty()) {
            let l = w.label(
                "purpose_hopping",
                w.consumers[c].clone(),
                vec![],
                "tries purposes its agreements do not permit, one after another",
            );
            let start = hour * 3600 + w.rng.random_range(0..1800);
            for k in 0..w.rng.random_range(6..=12u64) {
                let ag = w.by_consumer[c][k as usize % w.by_consumer[c].len()];
                let others: Vec<&str> = PURPOSES
                    .iter()
                    .copied()
                    .filter(|p| *p != w.agreements[ag].purpose)
                    .collect();
                let purpose = others[k as usize % others.len()].to_string();
                planned.entry(start + k * 60).or_default().push(Ev::Denied {
                    consumer: c,
                    agreement: Some(ag),
                    purpose,
                    subject: None,
                    reason: "purpose_not_permitted",
                    label: Some(l),
                });
            }
        }
        // 3. attempts after a withdrawal: the subject withdraws, the consumer keeps going
        let hour = w.rng.random_range(first..hours.max(first + 1));
        let consented = pick_consumer(&mut w, &|w, c| {
            w.by_consumer[c]
                .iter()
                .any(|&a| w.agreements[a].consent_required)
        })
        .and_then(|c| {
            Some((
                c,
                *w.by_consumer[c]
                    .iter()
                    .find(|&&a| w.agreements[a].consent_required)?,
            ))
        });
        if let Some((c, ag)) = consented {
            let t = hour * 3600 + w.rng.random_range(0..1200);
            let covering = w.covering(&w.agreements[ag], height_of(t));
            if let Some(&consent) = covering.choose(&mut w.rng) {
                let subj = w.consents[consent].subject;
                let l = w.label("access_after_withdrawal", w.consumers[c].clone(), vec![format!("agreement:{}", w.agreements[ag].id), format!("subject:{}", w.subjects[subj])], "keeps recording accesses for a data subject after the subject withdrew consent");
                // every record of that subject covering the use is withdrawn
                for other in covering.iter().filter(|&&o| w.consents[o].subject == subj) {
                    planned.entry(t).or_default().push(Ev::Withdraw {
                        consent: *other,
                        label: Some(l),
                    });
                }
                for k in 0..w.rng.random_range(3..=8u64) {
                    let purpose = w.agreements[ag].purpose.to_string();
                    let subject = Some(w.subjects[subj].clone());
                    planned
                        .entry(t + 120 + k * w.rng.random_range(30..400))
                        .or_default()
                        .push(Ev::Denied {
                            consumer: c,
                            agreement: Some(ag),
                            purpose,
                            subject,
                            reason: "consent_not_granted",
                            label: Some(l),
                        });
                }
            }
        }
        // 4. attempts after a suspension
        let hour = w.rng.random_range(first..hours.max(first + 1));
        if let Some(c) = pick_consumer(&mut w, &|w, c| !w.by_consumer[c].is_empty()) {
            let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
            let l = w.label(
                "access_after_suspension",
                w.consumers[c].clone(),
                vec![format!("agreement:{}", w.agreements[ag].id)],
                "keeps attempting accesses on an agreement its provider suspended",
            );
            let t = hour * 3600 + w.rng.random_range(0..1200);
            planned.entry(t).or_default().push(Ev::Suspend {
                agreement: ag,
                label: Some(l),
            });
            for k in 0..w.rng.random_range(3..=8u64) {
                let purpose = w.agreements[ag].purpose.to_string();
                planned
                    .entry(t + 120 + k * w.rng.random_range(30..400))
                    .or_default()
                    .push(Ev::Denied {
                        consumer: c,
                        agreement: Some(ag),
                        purpose,
                        subject: None,
                        reason: "agreement_suspended",
                        label: Some(l),
                    });
            }
        }
        // 5. a flood of refused attempts: others' agreements, probe subjects
        let hour = w.rng.random_range(first..hours.max(first + 1));
        if let Some(c) = pick_consumer(&mut w, &|_, _| true) {
            let l = w.label(
                "denied_flood",
                w.consumers[c].clone(),
                vec![],
                "a flood of access attempts that are all refused",
            );
            let start = hour * 3600 + w.rng.random_range(0..1800);
            for k in 0..w.rng.random_range(25..=60u64) {
                let ag = w.rng.random_range(0..w.agreements.len());
                let (purpose, reason) = (
                    w.agreements[ag].purpose.to_string(),
                    if w.rng.random_bool(0.7) {
                        "no_agreement"
                    } else {
                        "consent_not_granted"
                    },
                );
                let probe = Some(format!("psn:probe-{}", w.rng.random_range(0..10_000)));
                planned
                    .entry(start + k * w.rng.random_range(5..40))
                    .or_default()
                    .push(Ev::Denied {
                        consumer: c,
                        agreement: Some(ag),
                        purpose,
                        subject: probe,
                        reason,
                        label: Some(l),
                    });
            }
        }
        // 6. provenance laundering: an unattested scrape, derivatives, an attested final product
        let hour = w
            .rng
            .random_range(first..hours.saturating_sub(2).max(first + 1));
        let p = w.rng.random_range(0..cfg.providers);
        let l = w.label(
            "provenance_laundering",
            w.providers[p].clone(),
            vec![],
            "derived versions published over unattested parents, then attested themselves",
        );
        let t = hour * 3600 + w.rng.random_range(0..1800);
        for step in 0..3u8 {
            planned
                .entry(t + step as u64 * 300)
                .or_default()
                .push(Ev::Launder {
                    provider: p,
                    label: l,
                    step,
                });
        }
    }

    // write block 1, then hour by hour
    let bar = cfg.progress.then(|| {
        let bar = indicatif::ProgressBar::new(hours);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} synth [{elapsed_precise}] {bar:30} {pos}/{len} hours {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut pending: Rows = Rows::default();
    let blocks_row = |rows: &mut Rows, height: u64, txs: u32| {
        let t = start_unix + ((height - 1) * bs) as i64;
        let time = time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        rows.push(
            "blocks",
            vec![
                s(height),
                s(time),
                s(hex::encode_upper(Sha256::digest(height.to_be_bytes()))),
                s(txs),
            ],
        );
    };
    let setup_txs = setup_rows.rows("txs").len() as u32;
    pending.extend(setup_rows);
    blocks_row(&mut pending, 1, setup_txs);
    let mut written_to = 0u64;
    let mut laundering: BTreeMap<usize, Vec<(u64, u32)>> = BTreeMap::new();
    for hour in 0..hours {
        let hour_start = hour * 3600;
        // honest traffic of this hour, consumer by consumer
        let later = planned.split_off(&(hour_start + 3600));
        let mut events = std::mem::replace(&mut planned, later);
        let r = rhythm(hour % 24);
        for c in 0..cfg.consumers {
            if w.by_consumer[c].is_empty() {
                continue;
            }
            // an honest batch job now and then: one and a half to three times the usual
            let spike = if w.rng.random_bool(0.01) {
                w.rng.random_range(1.5..3.0)
            } else {
                1.0
            };
            let lambda = (w.rate[c] * r * spike).max(1e-6);
            let n = Poisson::new(lambda)
                .map(|p| p.sample(&mut w.rng) as u64)
                .unwrap_or(0);
            for _ in 0..n {
                let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
                let t = hour_start + w.rng.random_range(0..3600);
                // honest mistakes: a purpose not permitted, rarely
                if w.rng.random_bool(0.002) {
                    let wrong = PURPOSES[..HONEST_PURPOSES]
                        .iter()
                        .find(|p| **p != w.agreements[ag].purpose)
                        .copied()
                        .unwrap_or("analytics");
                    events.entry(t).or_default().push(Ev::Denied {
                        consumer: c,
                        agreement: Some(ag),
                        purpose: wrong.to_string(),
                        subject: None,
                        reason: "purpose_not_permitted",
                        label: None,
                    });
                } else {
                    events.entry(t).or_default().push(Ev::Access {
                        agreement: ag,
                        subject: None,
                        label: None,
                    });
                }
            }
        }
        // play the hour block by block
        let mut by_block: BTreeMap<u64, Vec<Ev>> = BTreeMap::new();
        for (t, evs) in events {
            by_block.entry(height_of(t).max(2)).or_default().extend(evs);
        }
        for (height, evs) in by_block {
            let mut b = BlockRows {
                rows: &mut pending,
                height,
                next_tx: 0,
            };
            // consumer -> (its access tx in this block, events in it so far)
            let mut accesses_in_tx: BTreeMap<usize, (u32, u32)> = BTreeMap::new();
            for ev in evs {
                match ev {
                    Ev::Access {
                        agreement,
                        subject,
                        label,
                    } => {
                        let a = &w.agreements[agreement];
                        let consumer = w.consumers[a.consumer].clone();
                        if a.suspended {
                            // an honest consumer notices and stops after one refusal
                            if label.is_none() && w.rng.random_bool(0.05) {
                                let tx = b.tx(
                                    cfg.seed,
                                    &consumer,
                                    false,
                                    "record_access",
                                    Some("access denied: agreement_suspended".into()),
                                );
                                b.push(
                                    "denied_attempts",
                                    tx,
                                    0,
                                    vec![
                                        s(&consumer),
                                        s(a.id),
                                        s(a.purpose),
                                        None,
                                        s("agreement_suspended"),
                                    ],
                                );
                                summary.denied += 1;
                            }
                            continue;
                        }
                        if a.cap.is_some_and(|cap| a.count >= cap) {
                            // past the cap: honest consumers see the refusal once in a while
                            if w.rng.random_bool(0.02) {
                                let tx = b.tx(
                                    cfg.seed,
                                    &consumer,
                                    false,
                                    "record_access",
                                    Some("access denied: cap_reached".into()),
                                );
                                b.push(
                                    "denied_attempts",
                                    tx,
                                    0,
                                    vec![
                                        s(&consumer),
                                        s(a.id),
                                        s(a.purpose),
                                        None,
                                        s("cap_reached"),
                                    ],
                                );
                                summary.denied += 1;
                            }
                            continue;
                        }
                        let subj = match subject {
                            Some(x) => Some(x),
                            None if a.consent_required => {
                                let cov = w.covering(a, height);
                                match cov.choose(&mut w.rng) {
                                    Some(&c) => Some(w.consents[c].subject),
                                    None => continue,
                                }
                            }
                            None => None,
                        };
                        let a = &mut w.agreements[agreement];
                        a.count += 1;
                        // a consumer's accesses in one block share a transaction, as the workload batches them
                        let (tx, event) = match accesses_in_tx.get_mut(&a.consumer) {
                            Some((tx, n)) => {
                                *n += 1;
                                (*tx, *n)
                            }
                            None => {
                                let tx = b.tx(cfg.seed, &consumer, true, "record_access", None);
                                accesses_in_tx.insert(a.consumer, (tx, 0));
                                (tx, 0)
                            }
                        };
                        b.push(
                            "accesses",
                            tx,
                            event,
                            vec![
                                s(a.id),
                                s(a.asset),
                                s(&consumer),
                                s(a.purpose),
                                subj.map(|x| w.subjects[x].clone()),
                                s(a.count),
                            ],
                        );
                        summary.accesses += 1;
                        w.touch(label, height);
                    }
                    Ev::Denied {
                        consumer,
                        agreement,
                        purpose,
                        subject,
                        reason,
                        label,
                    } => {
                        let who = w.consumers[consumer].clone();
                        let id = agreement.map(|a| w.agreements[a].id);
                        let log = format!(
                            "failed to execute message; message index: 0: access denied: {reason}"
                        );
                        let tx = b.tx(cfg.seed, &who, false, "record_access", Some(log));
                        b.push(
                            "denied_attempts",
                            tx,
                            0,
                            vec![
                                s(&who),
                                id.map(|i| i.to_string()),
                                s(purpose),
                                subject,
                                s(reason),
                            ],
                        );
                        summary.denied += 1;
                        w.touch(label, height);
                    }
                    Ev::Withdraw { consent, label } => {
                        let c = &mut w.consents[consent];
                        if c.withdrawn_at.is_some() {
                            continue;
                        }
                        c.withdrawn_at = Some(height);
                        let (id, subject, controller) = (
                            c.id,
                            w.subjects[c.subject].clone(),
                            w.providers[c.controller].clone(),
                        );
                        let tx = b.tx(cfg.seed, &subject, true, "withdraw", None);
                        b.push(
                            "consent_withdrawals",
                            tx,
                            0,
                            vec![s(id), s(&subject), s(controller), s(false)],
                        );
                        w.touch(label, height);
                    }
                    Ev::Suspend { agreement, label } => {
                        let a = &mut w.agreements[agreement];
                        if a.suspended {
                            continue;
                        }
                        a.suspended = true;
                        let (id, provider) = (a.id, w.providers[a.provider].clone());
                        let tx = b.tx(cfg.seed, &provider, true, "suspend", None);
                        b.push(
                            "agreement_changes",
                            tx,
                            0,
                            vec![s(id), None, s("suspend"), s(provider), None, None],
                        );
                        w.touch(label, height);
                    }
                    Ev::Publish {
                        provider,
                        over_unattested,
                    } => {
                        let mine: Vec<(u64, u32)> = w
                            .assets
                            .iter()
                            .filter(|a| a.1 == provider)
                            .map(|a| (a.0, w.latest_version[&a.0]))
                            .collect();
                        let parent = mine
                            .iter()
                            .copied()
                            .find(|k| {
                                w.attested.get(k).copied().unwrap_or(false) != over_unattested
                            })
                            .or_else(|| mine.first().copied());
                        let parents: Vec<(u64, u32)> = parent.into_iter().collect();
                        let personal = w.rng.random_bool(0.3);
                        let id = w.register(&mut b, provider, personal, &parents);
                        if !over_unattested && w.rng.random_bool(0.8) {
                            let at = w.rng.random_range(0..cfg.attestors.max(1));
                            w.attest(&mut b, at, id, 1);
                        }
                    }
                    Ev::Launder {
                        provider,
                        label,
                        step,
                    } => {
                        let chain = laundering.entry(label).or_default();
                        let parents: Vec<(u64, u32)> = chain.last().copied().into_iter().collect();
                        let id = w.register(&mut b, provider, true, &parents);
                        laundering.entry(label).or_default().push((id, 1));
                        if step == 2 {
                            let mut who: Vec<usize> = (0..cfg.attestors).collect();
                            who.shuffle(&mut w.rng);
                            for at in who.into_iter().take(2) {
                                w.attest(&mut b, at, id, 1);
                            }
                        }
                        w.labels[label].targets.push(format!("asset:{id}@1"));
                        w.touch(Some(label), height);
                    }
                }
            }
            let txs = b.next_tx;
            blocks_row(&mut pending, height, txs);
        }
        // empty blocks of the hour still exist on a chain; the ones without rows get a blocks row
        let first_h = height_of(hour_start).max(2);
        let last_h = height_of(hour_start + 3600 - 1);
        let present: BTreeSet<u64> = pending
            .rows("blocks")
            .iter()
            .filter_map(|r| r[0].as_deref()?.parse().ok())
            .collect();
        for h in first_h..=last_h {
            if !present.contains(&h) {
                blocks_row(&mut pending, h, 0);
            }
        }
        // flush a day at a time
        if (hour + 1) % 24 == 0 || hour + 1 == hours {
            let to = last_h;
            summary.rows += pending.count() as u64;
            write_batch(pool, &cfg.chain_id, written_to + 1, to, &pending)
                .await
                .context("writing synthetic rows")?;
            summary.blocks = to;
            written_to = to;
            pending = Rows::default();
        }
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(format!("{} accesses", summary.accesses));
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    summary.labels = w.labels.clone();
    if let Some(dir) = cfg.labels.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = String::new();
    for l in &summary.labels {
        text.push_str(&serde_json::to_string(l)?);
        text.push('\n');
    }
    std::fs::write(&cfg.labels, text)
        .with_context(|| format!("cannot write {}", cfg.labels.display()))?;
    Ok(summary)
}
