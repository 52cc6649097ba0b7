//! The injected misbehaviour of the access rounds, each with its label: accesses after a
//! consent withdrawal and after a suspension, an exfiltration burst, purpose hopping, a flood
//! of refused attempts. (Provenance laundering is planned with the setup's assets.)

use rand::seq::IndexedRandom;
use rand::Rng;

use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_analytics::target;
use datapact_types::agreements::DenyReason;

use super::exec::{Expect, Planned};
use super::world::{Pending, World, PURPOSES, TXS_PER_CONSUMER};
use crate::labels::kind;

impl World {
    /// At its round, a consumer with a consent-bound agreement keeps using a subject who is
    /// about to withdraw (the attempts come next round).
    pub(super) fn inject_after_withdrawal(&mut self, round: u32) {
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
                    kind::ACCESS_AFTER_WITHDRAWAL,
                    &consumer,
                    vec![target::agreement(self.agreements[a].id), target::subject(&self.consents[c].subject)],
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
    }

    /// At its round, a provider suspends an agreement; its consumer keeps trying next round.
    pub(super) fn inject_after_suspension(
        &mut self,
        round: u32,
        out: &mut Vec<Planned>,
    ) -> anyhow::Result<()> {
        if self.inject && round == self.schedule.after_suspension {
            let candidates: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| self.usable(i))
                .collect();
            if let Some(&i) = candidates.choose(&mut self.rng) {
                let a = self.agreements[i].clone();
                self.agreements[i].suspended = true;
                let label = self.label(
                    kind::ACCESS_AFTER_SUSPENSION,
                    &a.consumer,
                    vec![target::agreement(a.id)],
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
        Ok(())
    }

    /// The attempts against last round's withdrawal and suspension.
    pub(super) fn retry_refused(
        &mut self,
        round: u32,
        out: &mut Vec<Planned>,
    ) -> anyhow::Result<()> {
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
                    Expect::Denied(Some(DenyReason::ConsentNotGranted)),
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
                    Expect::Denied(Some(DenyReason::AgreementSuspended)),
                    Some(label),
                    Pending::Accesses(vec![]),
                ));
            }
        }
        Ok(())
    }

    /// An exfiltration burst (its round and the next), ten times the usual volume.
    pub(super) fn inject_burst(
        &mut self,
        round: u32,
        out: &mut Vec<Planned>,
    ) -> anyhow::Result<()> {
        let (b_round, b_consumer) = self.schedule.burst.clone();
        if round == b_round || round == b_round + 1 {
            let label = match self
                .labels
                .iter()
                .position(|l| l.kind == kind::ACCESS_BURST)
            {
                Some(l) => l,
                None => self.label(
                    kind::ACCESS_BURST,
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
                    self.labels[label].name(target::agreement(self.agreements[i].id));
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
        Ok(())
    }

    /// Purpose hopping: one consumer tries purpose after purpose on its agreements.
    pub(super) fn inject_purpose_hopping(
        &mut self,
        round: u32,
        out: &mut Vec<Planned>,
    ) -> anyhow::Result<()> {
        let (h_round, h_consumer) = self.schedule.hopping.clone();
        if round == h_round {
            let mine: Vec<usize> = (0..self.agreements.len())
                .filter(|&i| self.agreements[i].consumer == h_consumer && self.usable(i))
                .collect();
            if !mine.is_empty() {
                let label = self.label(
                    kind::PURPOSE_HOPPING,
                    &h_consumer,
                    mine.iter()
                        .map(|&i| target::agreement(self.agreements[i].id))
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
                        Expect::Denied(Some(DenyReason::PurposeNotPermitted)),
                        Some(label),
                        Pending::Accesses(vec![]),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A flood of refused attempts: probing other consumers' agreements and unconsented
    /// subjects.
    pub(super) fn inject_denied_flood(
        &mut self,
        round: u32,
        out: &mut Vec<Planned>,
    ) -> anyhow::Result<()> {
        let (f_round, f_consumer) = self.schedule.flood.clone();
        if round == f_round {
            let label = self.label(
                kind::DENIED_FLOOD,
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
                self.labels[label].name(target::agreement(a.id));
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
        Ok(())
    }
}
