//! Playing the history: hour by hour, the honest traffic drawn for the hour and the planned
//! events, block by block, into the rows the ingester would have written; a day at a time
//! through the ingester's own write path.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_distr::{Distribution, Poisson};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use datapact_index::tables::{
    Access, AgreementChange, Block, ConsentWithdrawal, DeniedAttempt, Rows,
};
use datapact_index::write::write_batch;
use datapact_types::agreements::{DenyReason, Refusal, DENIED_MARKER};

use super::schedule::{Clock, Ev, Plan};
use super::world::{rhythm, Agreement, BlockRows, World};
use super::SynthSummary;
use crate::workload::{HONEST_PURPOSES, PURPOSES};

/// The first block's time: 2026-01-01T00:00:00Z.
const START_UNIX: i64 = 1_767_225_600;

/// The `blocks` row of block `height` with `txs` transactions.
fn block_row(rows: &mut Rows, clock: &Clock, height: u64, txs: u32) {
    let t = START_UNIX + ((height - 1) * clock.block_seconds) as i64;
    let time = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    rows.blocks.push(Block {
        height: height as i64,
        time,
        hash: hex::encode_upper(Sha256::digest(height.to_be_bytes())),
        num_txs: txs as i32,
    });
}

/// The log a refused access leaves, worded as the agreements contract words it.
fn refusal_log(agreement: Option<u64>, reason: DenyReason) -> String {
    let id = agreement.map_or_else(|| "?".to_string(), |i| i.to_string());
    format!("failed to execute message; message index: 0: access under agreement {id} {DENIED_MARKER}{reason}")
}

/// A refused access under agreement `a` by `consumer`, for `reason`.
fn refuse(b: &mut BlockRows, seed: u64, consumer: &str, a: &Agreement, reason: DenyReason) {
    let tx = b.tx(
        seed,
        consumer,
        false,
        "record_access",
        Some(refusal_log(Some(a.id), reason)),
    );
    b.rows.denied_attempts.push(DeniedAttempt {
        height: b.height as i64,
        tx_index: tx as i32,
        msg_index: 0,
        consumer: consumer.to_string(),
        agreement_id: Some(a.id as i64),
        purpose: Some(a.purpose.to_string()),
        subject: None,
        reason: Refusal::Denied(reason),
    });
}

/// Honest traffic of one hour, consumer by consumer, into `events`.
fn honest_hour(w: &mut World, hour: u64, events: &mut Plan, clock: &Clock) {
    let hour_start = hour * 3600;
    for c in 0..w.cfg.consumers {
        if w.by_consumer[c].is_empty() {
            continue;
        }
        // variants: a night shift's rhythm is turned by 12 hours; a late joiner has not arrived
        let phase = w.noise_of.phase.get(c).copied().unwrap_or(0);
        if hour < w.noise_of.start.get(c).copied().unwrap_or(0) {
            continue;
        }
        let r = rhythm((hour + phase) % 24);
        // an honest batch job now and then: one and a half to three times the usual
        let spike = if w.rng.random_bool(0.01) {
            w.rng.random_range(1.5..3.0)
        } else {
            1.0
        };
        let shape = w.shapes.get(c).map_or(1.0, |s| s.at(hour));
        let lambda = (w.rate[c] * r * spike * shape).max(1e-6);
        let n = Poisson::new(lambda)
            .map(|p| p.sample(&mut w.rng) as u64)
            .unwrap_or(0);
        for _ in 0..n {
            let ag = *w.by_consumer[c].choose(&mut w.rng).unwrap_or(&0);
            let t = hour_start + w.rng.random_range(0..3600);
            if w.noise_of.honest_refusals {
                if let Some(ev) = super::variants::honest_refusal(w, c, ag, t, clock) {
                    events.entry(t).or_default().push(ev);
                    continue;
                }
            }
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
                    reason: DenyReason::PurposeNotPermitted,
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
}

/// Laundering chains in progress: label -> the versions published so far.
type Chains = BTreeMap<usize, Vec<(u64, u32)>>;

/// Plays one block's events into its rows.
fn play_block(
    w: &mut World,
    b: &mut BlockRows,
    evs: Vec<Ev>,
    laundering: &mut Chains,
    accesses: &mut u64,
    denied: &mut u64,
) {
    let seed = w.cfg.seed;
    let height = b.height;
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
                        refuse(b, seed, &consumer, a, DenyReason::AgreementSuspended);
                        *denied += 1;
                    }
                    continue;
                }
                if a.cap.is_some_and(|cap| a.count >= cap) {
                    // past the cap: honest consumers see the refusal once in a while
                    if w.rng.random_bool(0.02) {
                        let c = a.consumer;
                        let n = if label.is_none() {
                            super::variants::retry_storm(w, c, height)
                        } else {
                            1
                        };
                        let a = &w.agreements[agreement];
                        for _ in 0..n {
                            refuse(b, seed, &consumer, a, DenyReason::CapReached);
                            *denied += 1;
                        }
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
                        let tx = b.tx(seed, &consumer, true, "record_access", None);
                        accesses_in_tx.insert(a.consumer, (tx, 0));
                        (tx, 0)
                    }
                };
                b.rows.accesses.push(Access {
                    at: b.at(tx, event),
                    agreement_id: a.id as i64,
                    asset_id: a.asset as i64,
                    consumer,
                    purpose: a.purpose.to_string(),
                    subject: subj.map(|x| w.subjects[x].clone()),
                    access_count: a.count as i64,
                });
                *accesses += 1;
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
                let tx = b.tx(
                    seed,
                    &who,
                    false,
                    "record_access",
                    Some(refusal_log(id, reason)),
                );
                b.rows.denied_attempts.push(DeniedAttempt {
                    height: b.height as i64,
                    tx_index: tx as i32,
                    msg_index: 0,
                    consumer: who,
                    agreement_id: id.map(|i| i as i64),
                    purpose: Some(purpose),
                    subject,
                    reason: Refusal::Denied(reason),
                });
                *denied += 1;
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
                let tx = b.tx(seed, &subject, true, "withdraw", None);
                b.rows.consent_withdrawals.push(ConsentWithdrawal {
                    at: b.at(tx, 0),
                    consent_id: id as i64,
                    subject,
                    controller,
                    signed: false,
                });
                w.touch(label, height);
            }
            Ev::Suspend { agreement, label } => {
                let a = &mut w.agreements[agreement];
                if a.suspended {
                    continue;
                }
                a.suspended = true;
                let (id, provider) = (a.id, w.providers[a.provider].clone());
                let tx = b.tx(seed, &provider, true, "suspend", None);
                b.rows.agreement_changes.push(AgreementChange {
                    at: b.at(tx, 0),
                    agreement_id: Some(id as i64),
                    offer_id: None,
                    change: "suspend".into(),
                    actor: provider,
                    amount: None,
                    refunded: None,
                });
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
                    .find(|k| w.attested.get(k).copied().unwrap_or(false) != over_unattested)
                    .or_else(|| mine.first().copied());
                let parents: Vec<(u64, u32)> = parent.into_iter().collect();
                let personal = w.rng.random_bool(0.3);
                let id = w.register(b, provider, personal, &parents);
                if !over_unattested && w.rng.random_bool(0.8) {
                    let at = w.rng.random_range(0..w.cfg.attestors.max(1));
                    w.attest(b, at, id, 1);
                }
            }
            Ev::Vouch { provider, by } => {
                let id = w.register(b, provider, false, &[]);
                let at = by.unwrap_or_else(|| w.rng.random_range(0..w.cfg.attestors.max(1)));
                w.attest(b, at, id, 1);
            }
            Ev::Launder {
                provider,
                label,
                step,
                attestors,
            } => {
                let chain = laundering.entry(label).or_default();
                let parents: Vec<(u64, u32)> = chain.last().copied().into_iter().collect();
                let id = w.register(b, provider, true, &parents);
                laundering.entry(label).or_default().push((id, 1));
                if step == 2 {
                    let who: Vec<usize> = match attestors {
                        Some(who) => who,
                        None => {
                            let mut who: Vec<usize> = (0..w.cfg.attestors).collect();
                            who.shuffle(&mut w.rng);
                            who.truncate(2);
                            who
                        }
                    };
                    for at in who {
                        w.attest(b, at, id, 1);
                    }
                }
                w.labels[label]
                    .targets
                    .push(datapact_analytics::target::version(id, 1));
                w.touch(Some(label), height);
            }
        }
    }
}

/// Writes the history: block 1 (`setup`), then every hour of `planned` and its honest
/// traffic, a day per transaction.
pub(super) async fn play(
    pool: &PgPool,
    w: &mut World,
    clock: &Clock,
    setup: Rows,
    mut planned: Plan,
    summary: &mut SynthSummary,
) -> anyhow::Result<()> {
    let hours = clock.hours;
    let bar = w.cfg.progress.then(|| {
        let bar = indicatif::ProgressBar::new(hours);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} synth [{elapsed_precise}] {bar:30} {pos}/{len} hours {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let setup_txs = setup.txs.len() as u32;
    let mut pending = setup;
    block_row(&mut pending, clock, 1, setup_txs);
    let mut written_to = 0u64;
    let mut laundering = Chains::new();
    for hour in 0..hours {
        let hour_start = hour * 3600;
        let later = planned.split_off(&(hour_start + 3600));
        let mut events = std::mem::replace(&mut planned, later);
        honest_hour(w, hour, &mut events, clock);
        // play the hour block by block
        let mut by_block: BTreeMap<u64, Vec<Ev>> = BTreeMap::new();
        for (t, evs) in events {
            by_block
                .entry(clock.height_of(t).max(2))
                .or_default()
                .extend(evs);
        }
        for (height, evs) in by_block {
            let mut b = BlockRows {
                rows: &mut pending,
                height,
                next_tx: 0,
            };
            play_block(
                w,
                &mut b,
                evs,
                &mut laundering,
                &mut summary.accesses,
                &mut summary.denied,
            );
            let txs = b.next_tx;
            block_row(&mut pending, clock, height, txs);
        }
        // empty blocks of the hour still exist on a chain; the ones without rows get a blocks row
        let first_h = clock.height_of(hour_start).max(2);
        let last_h = clock.height_of(hour_start + 3600 - 1);
        let present: BTreeSet<u64> = pending.blocks.iter().map(|b| b.height as u64).collect();
        for h in first_h..=last_h {
            if !present.contains(&h) {
                block_row(&mut pending, clock, h, 0);
            }
        }
        // flush a day at a time
        if (hour + 1) % 24 == 0 || hour + 1 == hours {
            let to = last_h;
            summary.rows += pending.count() as u64;
            write_batch(pool, &w.cfg.chain_id, written_to + 1, to, &pending)
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
    Ok(())
}
