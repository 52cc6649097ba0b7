//! The access rounds (withdrawals, honest traffic and honest mistakes) and the settlement at
//! the end.

use cosmrs::Any;
use rand::seq::IndexedRandom;
use rand::Rng;

use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_consent::msg::ExecuteMsg as ConsentMsg;
use datapact_types::agreements::DenyReason;
use datapact_types::consent::SignedAction;

use super::exec::{Expect, Planned};
use std::collections::BTreeMap;

use super::world::{AgreementRec, Pending, World, HONEST_PURPOSES, PURPOSES, TXS_PER_CONSUMER};

impl World {
    pub(super) fn usable(&self, i: usize) -> bool {
        let a = &self.agreements[i];
        !a.suspended && !a.terminated && a.cap.is_none_or(|c| a.count < c)
    }

    /// A subject whose consent to `a`'s provider covers its asset and purpose (and is not
    /// being withdrawn).
    pub(super) fn consenting_subject(&mut self, a: &AgreementRec) -> Option<String> {
        let live: Vec<String> = self
            .consents
            .iter()
            .filter(|c| c.covers(&a.provider, a.asset_id, &a.purpose))
            .map(|c| c.subject.clone())
            .collect();
        live.choose(&mut self.rng).cloned()
    }

    pub(super) fn access_msg(
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
    pub(super) fn honest_access(
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

    /// One access round: withdrawals, the injected misbehaviour due now, honest traffic.
    pub(super) fn plan_access(&mut self, round: u32) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        self.schedule_withdrawals(round);
        self.inject_after_withdrawal(round);
        self.send_withdrawals(round, &mut out)?;
        self.inject_after_suspension(round, &mut out)?;
        self.retry_refused(round, &mut out)?;
        self.honest_traffic(&mut out)?;
        if !self.inject {
            return Ok(out);
        }
        self.inject_burst(round, &mut out)?;
        self.inject_purpose_hopping(round, &mut out)?;
        self.inject_denied_flood(round, &mut out)?;
        Ok(out)
    }

    /// Two honest withdrawals a third and two thirds of the way through.
    fn schedule_withdrawals(&mut self, round: u32) {
        if round == self.rounds / 3 || round == 2 * self.rounds / 3 {
            let live: Vec<usize> = (0..self.consents.len())
                .filter(|&i| !self.consents[i].withdrawn)
                .collect();
            for &i in live.choose_multiple(&mut self.rng, 2) {
                self.to_withdraw.entry(round).or_default().push((i, None));
            }
        }
    }

    /// The withdrawals due this round, by wallet or by relayed signature.
    fn send_withdrawals(&mut self, round: u32, out: &mut Vec<Planned>) -> anyhow::Result<()> {
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
        Ok(())
    }

    /// Every consumer's honest accesses (several txs of `batch` each), and honest mistakes now
    /// and then: a purpose the agreement does not permit, one access past a cap.
    fn honest_traffic(&mut self, out: &mut Vec<Planned>) -> anyhow::Result<()> {
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
                        Expect::Denied(Some(DenyReason::PurposeNotPermitted)),
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
                        Expect::Denied(Some(DenyReason::CapReached)),
                        None,
                        Pending::Accesses(vec![]),
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) fn plan_settle(&mut self) -> anyhow::Result<Vec<Planned>> {
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
}
