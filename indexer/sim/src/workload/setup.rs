//! The setup phases: assets, versions with lineage, attestations, consents (by wallet and by
//! relayed signature), offers, signatures and key deposits.

use std::collections::BTreeMap;

use anyhow::Context;
use cosmrs::Any;
use cosmwasm_std::{Binary, Coin, Uint256};
use k256::ecdsa::{signature::hazmat::PrehashSigner, Signature};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_agreements::state::OfferTerms;
use datapact_consent::msg::ExecuteMsg as ConsentMsg;
use datapact_registry::msg::ExecuteMsg as RegistryMsg;
use datapact_types::consent::{
    key_subject_id, AssetScope, ConsentSignDoc, ConsentTerms, LegalBasis, SignedAction,
};
use datapact_types::{Sensitivity, VersionNo, VersionRef};

use super::exec::{Expect, Planned};
use super::files::version_table;
use super::world::{
    hex_hash, AssetSlot, Pending, PlannedOffer, World, CLAIMS, HONEST_PURPOSES, PURPOSES,
};
use crate::labels::kind;

impl World {
    pub(super) fn plan_assets(&mut self) -> anyhow::Result<Vec<Planned>> {
        let sens = [
            Sensitivity::Public,
            Sensitivity::Internal,
            Sensitivity::Personal,
            Sensitivity::Personal,
            Sensitivity::SpecialCategory,
        ];
        let (honest, launderer) = if self.inject {
            let (h, l) = self.providers.split_at(self.providers.len() - 1);
            (h.to_vec(), Some(l[0].clone()))
        } else {
            (self.providers.clone(), None)
        };
        let mut out = Vec::new();
        for p in honest {
            let n = self.rng.random_range(2..=4);
            let mut msgs = Vec::new();
            let mut slots = Vec::new();
            for k in 0..n {
                let sensitivity = *sens.choose(&mut self.rng).unwrap_or(&Sensitivity::Internal);
                msgs.push(self.exec_registry(
                    &p,
                    &RegistryMsg::RegisterAsset {
                        name: format!("{p} dataset {k}"),
                        description: Some(format!("{sensitivity:?} data published by {p}")),
                        sensitivity,
                        tags: vec!["workload".into()],
                    },
                )?);
                slots.push(self.assets.len());
                self.assets.push(AssetSlot {
                    provider: p.clone(),
                    id: None,
                    sensitivity,
                    versions: 0,
                    laundering: false,
                });
            }
            out.push(self.tx(
                &p,
                msgs,
                "register",
                Expect::Ok,
                None,
                Pending::Assets(slots),
            ));
        }
        // the launderer: an unattested scrape, then derivatives that look respectable
        let Some(launderer) = launderer else {
            return Ok(out);
        };
        let label = Some(self.label(
            kind::PROVENANCE_LAUNDERING,
            &launderer,
            vec![],
            "derived versions published over unattested parents, then attested themselves".into(),
        ));
        let mut msgs = Vec::new();
        let mut slots = Vec::new();
        for name in ["scraped contacts", "cleaned contacts", "enriched contacts"] {
            msgs.push(self.exec_registry(
                &launderer,
                &RegistryMsg::RegisterAsset {
                    name: name.to_string(),
                    description: None,
                    sensitivity: Sensitivity::Personal,
                    tags: vec!["workload".into()],
                },
            )?);
            slots.push(self.assets.len());
            self.assets.push(AssetSlot {
                provider: launderer.clone(),
                id: None,
                sensitivity: Sensitivity::Personal,
                versions: 0,
                laundering: true,
            });
        }
        out.push(self.tx(
            &launderer,
            msgs,
            "register",
            Expect::Ok,
            label,
            Pending::Assets(slots),
        ));
        Ok(out)
    }

    pub(super) fn version_ref(
        &self,
        slot: usize,
        version: VersionNo,
    ) -> anyhow::Result<VersionRef> {
        Ok(VersionRef {
            asset_id: self.assets[slot].id.context("asset without id")?,
            version,
        })
    }

    pub(super) fn plan_versions(&mut self, layer: u8) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, Vec<(usize, Vec<VersionRef>)>> = BTreeMap::new();
        let honest: Vec<usize> = (0..self.assets.len())
            .filter(|&i| !self.assets[i].laundering)
            .collect();
        let launder: Vec<usize> = (0..self.assets.len())
            .filter(|&i| self.assets[i].laundering)
            .collect();
        match layer {
            1 => {
                // roots: the first half of the honest assets, and the launderer's scrape
                for &i in honest.iter().take(honest.len() / 2).chain(launder.first()) {
                    per_provider
                        .entry(self.assets[i].provider.clone())
                        .or_default()
                        .push((i, vec![]));
                }
            }
            2 => {
                // derived: the second half, each from one or two roots
                let roots: Vec<usize> = honest
                    .iter()
                    .copied()
                    .filter(|&i| self.assets[i].versions > 0)
                    .collect();
                for &i in honest.iter().filter(|&&i| self.assets[i].versions == 0) {
                    let k = self.rng.random_range(1..=2usize.min(roots.len()));
                    let parents: Vec<usize> =
                        roots.choose_multiple(&mut self.rng, k).copied().collect();
                    let refs = parents
                        .iter()
                        .map(|&p| self.version_ref(p, 1))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    per_provider
                        .entry(self.assets[i].provider.clone())
                        .or_default()
                        .push((i, refs));
                }
                if let (Some(&l0), Some(&l1)) = (launder.first(), launder.get(1)) {
                    let r = self.version_ref(l0, 1)?;
                    per_provider
                        .entry(self.assets[l1].provider.clone())
                        .or_default()
                        .push((l1, vec![r]));
                }
            }
            _ => {
                // second versions of some honest assets (parent: their own first version)
                for &i in honest.iter() {
                    if self.assets[i].versions == 1 && self.rng.random_bool(0.4) {
                        let r = self.version_ref(i, 1)?;
                        per_provider
                            .entry(self.assets[i].provider.clone())
                            .or_default()
                            .push((i, vec![r]));
                    }
                }
                if let (Some(&l1), Some(&l2)) = (launder.get(1), launder.get(2)) {
                    let mut parents = vec![self.version_ref(l1, 1)?];
                    // mixed with one respectable root, as laundering does
                    if let Some(&root) = honest.iter().find(|&&i| self.assets[i].versions > 0) {
                        parents.push(self.version_ref(root, 1)?);
                    }
                    per_provider
                        .entry(self.assets[l2].provider.clone())
                        .or_default()
                        .push((l2, parents));
                }
            }
        }
        let mut out = Vec::new();
        for (p, items) in per_provider {
            let mut msgs = Vec::new();
            let mut label = None;
            for (slot, parents) in items {
                let asset_id = self.assets[slot].id.context("asset without id")?;
                self.assets[slot].versions += 1;
                let v = self.assets[slot].versions;
                if self.assets[slot].laundering {
                    label = Some(0);
                    if let Some(l) = self
                        .labels
                        .iter_mut()
                        .find(|l| l.kind == kind::PROVENANCE_LAUNDERING)
                    {
                        l.targets
                            .push(datapact_analytics::target::version(asset_id, v));
                    }
                }
                let (content_hash, schema_hash) = version_table(asset_id, v);
                msgs.push(self.exec_registry(
                    &p,
                    &RegistryMsg::PublishVersion {
                        asset_id,
                        content_hash,
                        schema_hash: Some(schema_hash),
                        uri: Some(format!("s3://datapact-demo/{asset_id}/v{v}")),
                        parents,
                    },
                )?);
            }
            let label = label.and_then(|_| {
                self.labels
                    .iter()
                    .position(|l| l.kind == kind::PROVENANCE_LAUNDERING)
            });
            out.push(self.tx(&p, msgs, "publish", Expect::Ok, label, Pending::None));
        }
        Ok(out)
    }

    pub(super) fn plan_attest(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        let last = self.assets.iter().rposition(|a| a.laundering);
        for at in self.attestors.clone() {
            let mut msgs = Vec::new();
            for slot in 0..self.assets.len() {
                let a = self.assets[slot].clone();
                let Some(asset_id) = a.id else { continue };
                // the launderer's sources stay unattested; its final product gets attested by all
                let attest = if a.laundering {
                    Some(slot) == last
                } else {
                    self.rng.random_bool(0.5)
                };
                if !attest {
                    continue;
                }
                for v in 1..=a.versions {
                    let claim = CLAIMS
                        .choose(&mut self.rng)
                        .copied()
                        .unwrap_or("schema-valid");
                    msgs.push(self.exec_registry(
                        &at,
                        &RegistryMsg::Attest {
                            asset_id,
                            version: v,
                            claim: claim.to_string(),
                            evidence_hash: hex_hash(&[
                                at.as_bytes(),
                                &asset_id.to_be_bytes(),
                                claim.as_bytes(),
                            ]),
                        },
                    )?);
                }
            }
            for chunk in msgs.chunks(12) {
                out.push(self.tx(
                    &at,
                    chunk.to_vec(),
                    "attest",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            }
        }
        Ok(out)
    }

    pub(super) fn consent_terms(&self, controller: &str) -> ConsentTerms {
        ConsentTerms {
            controller: self.a(controller).to_string(),
            scope: AssetScope::AllOfController {},
            purposes: PURPOSES[..HONEST_PURPOSES]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            legal_basis: LegalBasis::Consent,
            expires_at: None,
        }
    }

    pub(super) fn sign_doc(
        &mut self,
        holder: &str,
        action: SignedAction,
    ) -> anyhow::Result<(u64, Binary, Binary)> {
        let key = self
            .subject_keys
            .get(holder)
            .context("no signing key")?
            .clone();
        let pk = key
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        let subject = key_subject_id(&pk);
        let nonce = *self.nonces.get(&subject).unwrap_or(&0);
        self.nonces.insert(subject, nonce + 1);
        let doc = ConsentSignDoc {
            chain_id: self.chain_id.clone(),
            contract: self.consent.clone(),
            nonce,
            action,
        };
        let digest = doc.digest().map_err(|e| anyhow::anyhow!("sign doc: {e}"))?;
        let sig: Signature = key
            .sign_prehash(&digest)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        Ok((
            nonce,
            Binary::from(pk),
            Binary::from(sig.to_bytes().to_vec()),
        ))
    }

    pub(super) fn plan_consents(&mut self) -> anyhow::Result<Vec<Planned>> {
        // controllers: providers with personal data
        let controllers: Vec<String> = self
            .providers
            .iter()
            .filter(|p| {
                self.assets
                    .iter()
                    .any(|a| &a.provider == *p && a.sensitivity.is_personal())
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        let mut relayed: Vec<(Any, (String, String, bool))> = Vec::new();
        for s in self.subjects.clone() {
            let k = self
                .rng
                .random_range(1..=3usize.min(controllers.len().max(1)));
            let chosen: Vec<String> = controllers
                .choose_multiple(&mut self.rng, k)
                .cloned()
                .collect();
            if self.subject_keys.contains_key(&s) {
                for c in chosen {
                    let terms = self.consent_terms(&c);
                    let (nonce, public_key, signature) = self.sign_doc(
                        &s,
                        SignedAction::Grant {
                            terms: terms.clone(),
                        },
                    )?;
                    let relayer = self.relayers[0].clone();
                    let msg = self.exec_consent(
                        &relayer,
                        &ConsentMsg::GrantSigned {
                            terms,
                            nonce,
                            public_key,
                            signature,
                        },
                    )?;
                    relayed.push((msg, (s.clone(), c, true)));
                }
            } else {
                let mut msgs = Vec::new();
                let mut pend = Vec::new();
                for c in chosen {
                    msgs.push(self.exec_consent(
                        &s,
                        &ConsentMsg::Grant {
                            subject: None,
                            terms: self.consent_terms(&c),
                        },
                    )?);
                    pend.push((s.clone(), c, false));
                }
                if !msgs.is_empty() {
                    out.push(self.tx(&s, msgs, "grant", Expect::Ok, None, Pending::Consents(pend)));
                }
            }
        }
        // one relayer carries the signed grants in order (nonces are per subject, in sequence)
        let relayer = self.relayers[0].clone();
        for chunk in relayed.chunks(8) {
            let (msgs, pend): (Vec<Any>, Vec<_>) = chunk.iter().cloned().unzip();
            out.push(self.tx(
                &relayer,
                msgs,
                "grant_signed",
                Expect::Ok,
                None,
                Pending::Consents(pend),
            ));
        }
        Ok(out)
    }

    pub(super) fn plan_offers(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, (Vec<Any>, Vec<PlannedOffer>)> = BTreeMap::new();
        for slot in 0..self.assets.len() {
            let a = self.assets[slot].clone();
            let (Some(asset_id), true) = (a.id, a.versions > 0) else {
                continue;
            };
            // the launderer only sells its final product
            if a.laundering && Some(slot) != self.assets.iter().rposition(|x| x.laundering) {
                continue;
            }
            let n = if self.rng.random_bool(0.3) { 2 } else { 1 };
            for _ in 0..n {
                let mut purposes: Vec<String> = PURPOSES[..HONEST_PURPOSES]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                purposes.shuffle(&mut self.rng);
                purposes.truncate(self.rng.random_range(1..=2));
                let cap = self
                    .rng
                    .random_bool(0.25)
                    .then(|| self.rng.random_range(6..16));
                let terms = OfferTerms {
                    permitted_purposes: purposes,
                    prohibited_purposes: vec!["marketing".into(), "resale".into()],
                    duration_seconds: 86_400 * self.rng.random_range(1..=90),
                    access_cap: cap,
                    price: Coin {
                        denom: self.denom.clone(),
                        amount: Uint256::from(self.rng.random_range(5u128..50) * 1_000_000),
                    },
                    consent_required: a.sensitivity.is_personal(),
                    delivery_share_bps: 2_500,
                };
                let msg = self.exec_agreements(
                    &a.provider,
                    &AgreementsMsg::CreateOffer {
                        asset_id,
                        terms: terms.clone(),
                    },
                    &[],
                )?;
                let e = per_provider.entry(a.provider.clone()).or_default();
                e.0.push(msg);
                e.1.push((slot, terms));
            }
        }
        let mut out = Vec::new();
        for (p, (msgs, pend)) in per_provider {
            out.push(self.tx(&p, msgs, "offer", Expect::Ok, None, Pending::Offers(pend)));
        }
        Ok(out)
    }

    pub(super) fn plan_sign(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut out = Vec::new();
        let open: Vec<usize> = (0..self.offers.len()).collect();
        for c in self.consumers.clone() {
            let k = self.rng.random_range(2..=4usize).min(open.len());
            let picks: Vec<usize> = open.choose_multiple(&mut self.rng, k).copied().collect();
            let mut msgs = Vec::new();
            let mut pend = Vec::new();
            for o in picks {
                let offer = self.offers[o].clone();
                let purpose = offer
                    .permitted
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or_default();
                let pk = Binary::from(self.pubkey.get(&c).cloned().unwrap_or_default());
                msgs.push(self.exec_agreements(
                    &c,
                    &AgreementsMsg::Sign {
                        offer_id: offer.id,
                        purpose: purpose.clone(),
                        consumer_public_key: pk,
                    },
                    &[(offer.price, &self.denom.clone())],
                )?);
                pend.push((purpose, o));
            }
            if !msgs.is_empty() {
                out.push(self.tx(&c, msgs, "sign", Expect::Ok, None, Pending::Signs(pend)));
            }
        }
        Ok(out)
    }

    pub(super) fn plan_keys(&mut self) -> anyhow::Result<Vec<Planned>> {
        let mut per_provider: BTreeMap<String, Vec<Any>> = BTreeMap::new();
        for i in 0..self.agreements.len() {
            let a = self.agreements[i].clone();
            // drawn as before, so the seeded schedule stays what it was
            let mut draw = [0u8; 80];
            self.rng.fill(&mut draw[..]);
            // a real agreement key, wrapped with age to the key the consumer registered
            let to = datapact_plane::PublicKey::parse(
                self.pubkey
                    .get(&a.consumer)
                    .map_or(&[][..], |k| k.as_slice()),
            )?;
            let wrapped = datapact_plane::seal::wrap(&datapact_plane::DataKey::generate(), &to)?;
            let msg = self.exec_agreements(
                &a.provider,
                &AgreementsMsg::DepositKey {
                    agreement_id: a.id,
                    wrapped_key: Binary::from(wrapped),
                },
                &[],
            )?;
            per_provider
                .entry(a.provider.clone())
                .or_default()
                .push(msg);
            self.agreements[i].keyed = true;
        }
        let mut out = Vec::new();
        for (p, msgs) in per_provider {
            for chunk in msgs.chunks(10) {
                out.push(self.tx(
                    &p,
                    chunk.to_vec(),
                    "deposit",
                    Expect::Ok,
                    None,
                    Pending::None,
                ));
            }
        }
        Ok(out)
    }
}
