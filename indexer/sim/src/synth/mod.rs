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

mod play;
mod schedule;
mod variants;
mod world;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use datapact_index::tables::Rows;

use crate::labels::{self, Label};
use schedule::{Clock, Plan};
pub use variants::{NoiseMark, Variant, HELD_OUT, TRAINING};
use world::{BlockRows, World};

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
    /// how each consumer's demand changes over the history (steady: only the daily rhythm)
    pub demand: Demand,
    /// honest-noise and attack variants of the generator (none: the base generator alone)
    pub variants: Vec<Variant>,
}

/// How honest demand changes over a history, per consumer (drawn from the seed): what the
/// forecasts are evaluated on. `steady` leaves every other history exactly as it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Demand {
    /// the daily rhythm only
    #[default]
    Steady,
    /// growth or decline, from -50% to +150% over the history
    Trend,
    /// a weekly cycle of 20-60% around the mean, its low days differing per consumer
    Weekly,
    /// a step to 0.3-0.6x or 1.7-3x at a point in the last half of the history
    Regime,
    /// trend, weekly cycle and a regime change at once
    Mixed,
}

impl Demand {
    pub fn name(self) -> &'static str {
        match self {
            Demand::Steady => "steady",
            Demand::Trend => "trend",
            Demand::Weekly => "weekly",
            Demand::Regime => "regime",
            Demand::Mixed => "mixed",
        }
    }
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
            demand: Demand::Steady,
            variants: Vec::new(),
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
    /// where honest-noise variants changed behaviour
    pub noise: Vec<NoiseMark>,
}

/// A bech32 `wasm1…` address derived from a name, like a real account's.
pub fn address(seed: u64, name: &str) -> String {
    let digest = Sha256::digest(format!("datapact synth {seed} {name}"));
    cosmrs::AccountId::new("wasm", &digest[..20])
        .map(|a| a.to_string())
        .unwrap_or_else(|_| format!("wasm1{}", hex::encode(&digest[..19])))
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
    let clock = Clock::new(bs, hours);
    // block 1: the world as it stands
    let mut setup = Rows::default();
    w.setup(&mut BlockRows {
        rows: &mut setup,
        height: 1,
        next_tx: 0,
    });
    // what happens when: honest traffic is drawn hour by hour as the history is played;
    // withdrawals, suspensions, publications and the injected misbehaviour are planned now
    let mut planned = Plan::new();
    w.noise_of = variants::Noise::draw(&mut w, &cfg.variants, &clock);
    schedule::honest(&mut w, hours, &mut planned);
    let mut pick = schedule::inject(&mut w, &clock, cfg.injections, &mut planned);
    // attack variants: half as many instances as each base kind
    let per_variant = (cfg.injections / 2).max(1);
    variants::inject(
        &mut w,
        &mut pick,
        &clock,
        &cfg.variants,
        per_variant,
        &mut planned,
    );
    play::play(pool, &mut w, &clock, setup, planned, &mut summary).await?;
    summary.labels = w.labels.clone();
    summary.noise = w.noise.clone();
    labels::write(&cfg.labels, &summary.labels)?;
    Ok(summary)
}
