//! `datapact-sim simulate`: a seeded workload that drives the deployed suite the way its users
//! would, with injected misbehaviour whose ground truth is written to a labels file.
//!
//! The run is a sequence of rounds. Inside a round every account sends its own transactions
//! back to back and all accounts send in parallel, so blocks carry hundreds of transactions;
//! between rounds the generator reads the outcomes (ids from events) and plans the next round
//! from an exact model of the contracts' state. Every transaction has an expected outcome
//! (success, or a denial for a named reason) and a mismatch fails the run: the workload
//! doubles as a check of the contracts on a real chain.
//!
//! Normal behaviour: providers register assets and publish versions with lineage, attestors
//! attest, subjects grant consent (some by signed payload through a relayer) and a few
//! withdraw, providers offer, consumers sign (paying) and access (mostly allowed; now and then
//! an honest mistake is denied), providers deposit keys and claim, a consumer terminates.
//!
//! Injected misbehaviour (labels): an exfiltration burst, purpose hopping, access attempts after
//! a consent withdrawal, access attempts after a suspension, a flood of denied attempts, and
//! provenance laundering through unattested parents.

mod access;
mod exec;
mod files;
mod inject;
mod setup;
mod world;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::Mutex;

pub use exec::{Expect, Fleet, Planned, Stats};
pub use world::{AgreementRec, AssetSlot, ConsentRec, World, CLAIMS, HONEST_PURPOSES, PURPOSES};

use datapact_chain::keys::localnet_wallets;
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};

use crate::labels::{self, Label};

pub struct WorkloadConfig {
    pub seed: u64,
    /// access rounds in the steady phase
    pub rounds: u32,
    /// messages per access transaction
    pub batch: u32,
    pub inject: bool,
    pub labels: PathBuf,
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    pub stats: Stats,
    pub by_phase: Vec<(String, u64)>,
    pub labels: Vec<Label>,
    pub labels_path: PathBuf,
    pub wall: std::time::Duration,
    /// the model's final state, for checking the chain against it
    pub assets: Vec<AssetSlot>,
    pub agreements: Vec<AgreementRec>,
    pub consents: Vec<ConsentRec>,
    pub accesses_allowed: u64,
    pub accesses_denied: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.stats;
        writeln!(
            f,
            "workload done in {:.1} s: {} txs ({} msgs, {} failed as planned) in {} blocks",
            self.wall.as_secs_f64(),
            s.txs,
            s.msgs,
            s.failed_txs,
            s.per_block.len()
        )?;
        writeln!(
            f,
            "sustained {:.0} txs/s, {:.0} msgs/s; per block: mean {:.0} txs, max {} txs; gas used {}",
            s.txs_per_second(),
            s.msgs as f64 / s.busy.as_secs_f64().max(1e-9),
            s.mean_block(),
            s.max_block(),
            s.gas_used
        )?;
        writeln!(
            f,
            "state: {} assets, {} consents, {} agreements; accesses {} allowed, {} denied",
            self.assets.len(),
            self.consents.len(),
            self.agreements.len(),
            self.accesses_allowed,
            self.accesses_denied
        )?;
        for (phase, txs) in &self.by_phase {
            writeln!(f, "  {phase:<12} {txs} txs")?;
        }
        writeln!(
            f,
            "{} labelled misbehaviours written to {}",
            self.labels.len(),
            self.labels_path.display()
        )?;
        for l in &self.labels {
            writeln!(
                f,
                "  {:<24} {} heights {}..{} ({} txs)",
                l.kind,
                l.actor,
                l.first_height.unwrap_or(0),
                l.last_height.unwrap_or(0),
                l.txs.len()
            )?;
        }
        Ok(())
    }
}

/// Loads every local account into a fleet (account numbers and sequences from the chain).
pub async fn local_fleet(chain: &Chain) -> anyhow::Result<Fleet> {
    let wallets = localnet_wallets()?;
    let loads = wallets.into_iter().map(|(_, w)| {
        let chain = chain.clone();
        async move { Sender::load(&chain, w).await }
    });
    let senders = futures::future::try_join_all(loads)
        .await
        .context("loading the local accounts (is this the local chain, funded by `datapact localnet start`?)")?;
    Ok(Fleet {
        senders: senders
            .into_iter()
            .map(|s| (s.wallet.name.clone(), Arc::new(Mutex::new(s))))
            .collect(),
    })
}

pub async fn run(
    chain: &Chain,
    deployment: &Deployment,
    cfg: &WorkloadConfig,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let fleet = local_fleet(chain).await?;
    let mut world = World::new(chain, deployment, cfg, &fleet).await?;
    let mut stats = Stats::default();
    let mut by_phase = Vec::new();
    let progress = indicatif::ProgressBar::new(world.phase_count() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut mismatches = Vec::new();
    while let Some((phase, planned)) = world.next_round()? {
        progress.set_message(phase.clone());
        let outcomes = exec::run_round(chain, &fleet, &planned, &mut stats).await?;
        for (p, o) in planned.iter().zip(&outcomes) {
            if let Some(why) = exec::check(p, o) {
                mismatches.push(format!("{phase}: tx {} from {}: {why}", o.hash, p.sender));
            }
        }
        world.absorb(&planned, &outcomes)?;
        match by_phase.last_mut() {
            Some((name, n)) if *name == phase => *n += planned.len() as u64,
            _ => by_phase.push((phase.clone(), planned.len() as u64)),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let labels = world.labels();
    labels::write(&cfg.labels, &labels)?;
    if !mismatches.is_empty() {
        for m in mismatches.iter().take(20) {
            tracing::error!("{m}");
        }
        anyhow::bail!(
            "{} transactions did not do what the model expected (first: {})",
            mismatches.len(),
            mismatches[0]
        );
    }
    Ok(Summary {
        stats,
        by_phase,
        labels_path: cfg.labels.clone(),
        wall: started.elapsed(),
        assets: world.assets.clone(),
        agreements: world.agreements.clone(),
        consents: world.consents.clone(),
        accesses_allowed: world.accesses_allowed,
        accesses_denied: world.accesses_denied,
        labels,
    })
}
