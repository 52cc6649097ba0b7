//! What is checked after every step: the same-block withdrawal rule, the escrow invariants,
//! conservation of coins and the audit hash chain.

use proptest::prelude::*;

use super::model::*;
use super::setup::*;

impl Run {
    /// Right after a withdrawal, in the same block, every consent-bound access for that
    /// subject, controller, asset and purpose is refused, unless another consent covers it.
    pub(crate) fn withdrawal_denies_in_the_same_block(
        &mut self,
        c: &MConsent,
    ) -> Result<u32, TestCaseError> {
        let mut checked = 0;
        if self
            .m
            .consent_in_force(c.subject, c.provider, c.asset, c.purpose)
        {
            return Ok(checked);
        }
        let subject = self.actors[c.subject].to_string();
        for a in self.m.agreements.clone() {
            let o = &self.m.offers[a.offer];
            if o.consent_required
                && o.asset == c.asset
                && o.provider == c.provider
                && a.purpose == c.purpose
            {
                let consumer = self.actors[a.consumer].clone();
                let res = self
                    .s
                    .record_access(&consumer, a.id, a.purpose, Some(&subject));
                prop_assert!(
                    res.is_err(),
                    "access under agreement {} after withdrawal of consent {}",
                    a.id,
                    c.id
                );
                checked += 1;
            }
        }
        Ok(checked)
    }

    /// The escrow invariants of `payment.rs`, on every agreement, against the chain's answer:
    /// no delivery no pay, the delivery share paid at delivery, nothing for withheld time (the
    /// model's `vested` exactly), never decreasing, never above the price.
    pub(crate) fn check_escrow(&mut self) -> Result<(), TestCaseError> {
        let now = self.now();
        for i in 0..self.m.agreements.len() {
            let a = self.m.agreements[i].clone();
            let o = &self.m.offers[a.offer];
            let on_chain: u128 = self
                .s
                .agreement(a.id)
                .map_err(|e| TestCaseError::fail(format!("{e:#}")))?
                .vested
                .to_string()
                .parse()
                .unwrap_or(u128::MAX);
            match a.key_at {
                None => prop_assert_eq!(on_chain, 0, "agreement {}: no delivery, no pay", a.id),
                Some(_) => prop_assert!(
                    on_chain >= o.price * o.share_bps / 10_000,
                    "agreement {}: the delivery share is paid",
                    a.id
                ),
            }
            prop_assert_eq!(
                on_chain,
                self.m.vested(&a, now),
                "agreement {}: vested for live seconds only",
                a.id
            );
            prop_assert!(on_chain <= o.price, "agreement {}: above the price", a.id);
            prop_assert!(
                on_chain >= a.vested_seen,
                "agreement {}: vested went down",
                a.id
            );
            self.m.agreements[i].vested_seen = on_chain;
        }
        Ok(())
    }

    pub(crate) fn check_invariants(&self) -> Result<(), TestCaseError> {
        let contract_balance = self.s.balance(&self.s.agreements);
        prop_assert_eq!(
            contract_balance,
            self.m.held,
            "contract holds exactly the escrow"
        );
        let escrowed: u128 = self
            .m
            .agreements
            .iter()
            .map(|a| self.m.offers[a.offer].price - a.paid - a.refunded)
            .sum();
        prop_assert_eq!(escrowed, self.m.held);
        for (i, want) in &self.m.balances {
            prop_assert_eq!(
                self.s.balance(&self.actors[*i]),
                *want,
                "balance of actor {}",
                i
            );
        }
        let v = self
            .s
            .verify_audit()
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert!(v.valid, "audit chain broken at {:?}", v.first_invalid);
        Ok(())
    }
}
