//! Executes rounds of planned transactions: every account sends its own transactions back to
//! back (sequence numbers pipelined, no wait for inclusion), all accounts in parallel; then the
//! round's blocks are read once each to collect every outcome.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cosmrs::tendermint::Hash;
use cosmrs::Any;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use datapact_chain::tx::{Sender, TxOutcome};
use datapact_chain::Chain;
use datapact_types::agreements::{DenyReason, Refusal};

/// What a planned transaction should do on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    /// Fails; when Some, for this reason.
    Denied(Option<DenyReason>),
}

/// One transaction to send.
#[derive(Clone, Debug)]
pub struct Planned {
    pub sender: String,
    pub msgs: Vec<Any>,
    pub gas: u64,
    pub expect: Expect,
    /// index into the run's labels, when this tx is injected misbehaviour
    pub label: Option<usize>,
}

/// Accounts by name, each behind its own lock so one account's transactions stay in order.
pub struct Fleet {
    pub senders: HashMap<String, Arc<Mutex<Sender>>>,
}

/// Throughput figures over the whole run.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub txs: u64,
    pub msgs: u64,
    pub failed_txs: u64,
    pub busy: Duration,
    /// our transactions per block height
    pub per_block: BTreeMap<u64, u64>,
    pub gas_used: u64,
}

impl Stats {
    pub fn txs_per_second(&self) -> f64 {
        self.txs as f64 / self.busy.as_secs_f64().max(1e-9)
    }
    pub fn max_block(&self) -> u64 {
        self.per_block.values().copied().max().unwrap_or(0)
    }
    pub fn mean_block(&self) -> f64 {
        if self.per_block.is_empty() {
            0.0
        } else {
            self.per_block.values().sum::<u64>() as f64 / self.per_block.len() as f64
        }
    }
}

fn tx_hash(bytes: &[u8]) -> Hash {
    Hash::Sha256(Sha256::digest(bytes).into())
}

/// Sends every planned transaction and returns their outcomes in plan order.
pub async fn run_round(
    chain: &Chain,
    fleet: &Fleet,
    planned: &[Planned],
    stats: &mut Stats,
) -> anyhow::Result<Vec<TxOutcome>> {
    if planned.is_empty() {
        return Ok(Vec::new());
    }
    let started = Instant::now();
    let start_height = chain.latest_height().await?;
    let mut by_sender: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in planned.iter().enumerate() {
        by_sender.entry(p.sender.as_str()).or_default().push(i);
    }
    let mut tasks = Vec::new();
    for (name, idxs) in by_sender {
        let sender = fleet
            .senders
            .get(name)
            .with_context(|| format!("no account named {name} in the fleet"))?
            .clone();
        let chain = chain.clone();
        let txs: Vec<(usize, Vec<Any>, u64)> = idxs
            .iter()
            .map(|&i| (i, planned[i].msgs.clone(), planned[i].gas))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut s = sender.lock().await;
            let mut out = Vec::with_capacity(txs.len());
            for (i, msgs, gas) in txs {
                let hash = s
                    .send(&chain, msgs, gas)
                    .await
                    .with_context(|| format!("{} could not send its transaction", s.wallet.name))?;
                out.push((i, hash));
            }
            anyhow::Ok(out)
        }));
    }
    let mut hashes: HashMap<Hash, usize> = HashMap::new();
    for t in tasks {
        for (i, h) in t.await.context("a sender task panicked")?? {
            hashes.insert(h, i);
        }
    }
    let mut outcomes: Vec<Option<TxOutcome>> = vec![None; planned.len()];
    let mut missing = hashes.len();
    let mut height = start_height + 1;
    let deadline = Instant::now() + Duration::from_secs(180);
    while missing > 0 {
        if chain.latest_height().await? < height {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{missing} transactions were not included within 180 s (chain at {})",
                height - 1
            );
            tokio::time::sleep(Duration::from_millis(60)).await;
            continue;
        }
        let (block, results) = datapact_chain::block_with_results(chain.rpc(), height).await?;
        let txs_results = results.txs_results.unwrap_or_default();
        for (bytes, result) in block.block.data.iter().zip(txs_results) {
            let h = tx_hash(bytes);
            if let Some(&i) = hashes.get(&h) {
                let o = TxOutcome::from_result(h, height, result);
                *stats.per_block.entry(height).or_default() += 1;
                stats.gas_used += o.gas_used.max(0) as u64;
                outcomes[i] = Some(o);
                missing -= 1;
            }
        }
        height += 1;
    }
    stats.busy += started.elapsed();
    stats.txs += planned.len() as u64;
    stats.msgs += planned.iter().map(|p| p.msgs.len() as u64).sum::<u64>();
    let outcomes: Vec<TxOutcome> = outcomes
        .into_iter()
        .map(|o| o.context("an outcome went missing"))
        .collect::<anyhow::Result<_>>()?;
    stats.failed_txs += outcomes.iter().filter(|o| !o.ok()).count() as u64;
    Ok(outcomes)
}

/// Whether an outcome is what the plan expected; `None` when it is, else why not.
pub fn check(p: &Planned, o: &TxOutcome) -> Option<String> {
    match (&p.expect, o.ok()) {
        (Expect::Ok, true) => None,
        (Expect::Ok, false) => Some(format!(
            "expected success, failed (code {}): {}",
            o.code, o.log
        )),
        (Expect::Denied(_), true) => Some("expected a denial, succeeded".to_string()),
        (Expect::Denied(Some(reason)), false)
            if Refusal::from_log(&o.log) != Refusal::Denied(*reason) =>
        {
            Some(format!("expected a denial for {reason}, got: {}", o.log))
        }
        (Expect::Denied(_), false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(expect: Expect) -> Planned {
        Planned {
            sender: "consumer-0".into(),
            msgs: vec![],
            gas: 1,
            expect,
            label: None,
        }
    }

    fn outcome(code: u32, log: &str) -> TxOutcome {
        TxOutcome {
            hash: "H".into(),
            height: 1,
            code,
            log: log.into(),
            gas_wanted: 1,
            gas_used: 1,
            events: vec![],
        }
    }

    #[test]
    fn an_outcome_matches_only_the_expectation_it_meets() {
        let denied = "failed to execute message; message index: 0: access under agreement 3 denied: cap_reached";
        assert_eq!(check(&planned(Expect::Ok), &outcome(0, "")), None);
        assert!(check(&planned(Expect::Ok), &outcome(5, denied)).is_some());
        assert!(check(&planned(Expect::Denied(None)), &outcome(0, "")).is_some());
        assert_eq!(
            check(&planned(Expect::Denied(None)), &outcome(5, denied)),
            None
        );
        assert_eq!(
            check(
                &planned(Expect::Denied(Some(DenyReason::CapReached))),
                &outcome(5, denied)
            ),
            None
        );
        let wrong = check(
            &planned(Expect::Denied(Some(DenyReason::ConsentNotGranted))),
            &outcome(5, denied),
        );
        assert!(wrong.is_some_and(|w| w.contains("consent_not_granted")));
        // out of gas is a failure, but not the denial the plan expected
        assert!(check(
            &planned(Expect::Denied(Some(DenyReason::CapReached))),
            &outcome(11, "out of gas")
        )
        .is_some());
    }

    #[test]
    fn throughput_figures_come_from_the_blocks_seen() {
        let mut s = Stats {
            txs: 300,
            busy: Duration::from_secs(2),
            ..Default::default()
        };
        s.per_block.insert(10, 250);
        s.per_block.insert(11, 50);
        assert_eq!(s.max_block(), 250);
        assert_eq!(s.mean_block(), 150.0);
        assert_eq!(s.txs_per_second(), 150.0);
    }
}
