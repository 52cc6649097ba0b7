//! The inputs of the rules and of the provenance score, shaped from the loaded frames.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use crate::features::Lineage;
use crate::load::Data;
use crate::provenance::VersionFacts;
use crate::rules::{AgreementTerms, Attempt, ConsentRecord, GrantTerms};

pub(crate) fn strs(df: &DataFrame, c: &str) -> anyhow::Result<Vec<Option<String>>> {
    Ok(df
        .column(c)?
        .str()?
        .into_iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

pub(crate) fn ints(df: &DataFrame, c: &str) -> anyhow::Result<Vec<Option<i64>>> {
    Ok(df
        .column(c)?
        .cast(&DataType::Int64)?
        .i64()?
        .into_iter()
        .collect())
}

/// What the rules read: refused attempts, agreements' terms, consents with their withdrawals.
pub type RuleInputs = (
    Vec<Attempt>,
    HashMap<i64, AgreementTerms>,
    Vec<ConsentRecord>,
);

pub fn rule_inputs(data: &Data) -> anyhow::Result<RuleInputs> {
    let d = &data.denied;
    let (h, txi, consumer, ag, subject, reason) = (
        ints(d, "height")?,
        ints(d, "tx_index")?,
        strs(d, "consumer")?,
        ints(d, "agreement_id")?,
        strs(d, "subject")?,
        strs(d, "reason")?,
    );
    let attempts = (0..h.len())
        .map(|i| Attempt {
            height: h[i].unwrap_or(0),
            tx_index: txi[i].unwrap_or(0),
            consumer: consumer[i].clone().unwrap_or_default(),
            agreement_id: ag[i],
            subject: subject[i].clone(),
            reason: reason[i].clone().unwrap_or_default(),
        })
        .collect();
    let a = &data.agreements;
    let (id, provider, asset, purpose) = (
        ints(a, "agreement_id")?,
        strs(a, "provider")?,
        ints(a, "asset_id")?,
        strs(a, "purpose")?,
    );
    let agreements = (0..id.len())
        .filter_map(|i| {
            Some((
                id[i]?,
                AgreementTerms {
                    provider: provider[i].clone()?,
                    asset_id: asset[i]?,
                    purpose: purpose[i].clone()?,
                },
            ))
        })
        .collect();
    let w = &data.withdrawals;
    let (wid, wheight, wsubj, wctrl) = (
        ints(w, "consent_id")?,
        ints(w, "height")?,
        strs(w, "subject")?,
        strs(w, "controller")?,
    );
    let withdrawn: HashMap<i64, i64> = wid
        .iter()
        .zip(&wheight)
        .filter_map(|(c, h)| Some(((*c)?, (*h)?)))
        .collect();
    let c = &data.consents;
    let (cid, subj, ctrl, scope, purposes) = (
        ints(c, "consent_id")?,
        strs(c, "subject")?,
        strs(c, "controller")?,
        strs(c, "scope")?,
        strs(c, "purposes")?,
    );
    let mut consents: Vec<ConsentRecord> = (0..cid.len())
        .map(|i| ConsentRecord {
            subject: subj[i].clone().unwrap_or_default(),
            controller: ctrl[i].clone().unwrap_or_default(),
            grant: Some(GrantTerms {
                scope: scope[i].clone().unwrap_or_default(),
                purposes: purposes[i]
                    .clone()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            withdrawn_at: cid[i].and_then(|id| withdrawn.get(&id).copied()),
        })
        .collect();
    // withdrawals of consents granted before the index starts: known by subject and controller
    let granted: HashSet<i64> = cid.iter().flatten().copied().collect();
    consents.extend((0..wid.len()).filter_map(|i| {
        let id = wid[i]?;
        (!granted.contains(&id)).then(|| ConsentRecord {
            subject: wsubj[i].clone().unwrap_or_default(),
            controller: wctrl[i].clone().unwrap_or_default(),
            grant: None,
            withdrawn_at: wheight[i],
        })
    }));
    Ok((attempts, agreements, consents))
}

/// Facts per version, and each attestor's track record.
pub type ProvenanceInputs = (HashMap<(i64, i64), VersionFacts>, HashMap<String, f64>);

/// What an attestor's attestations earned.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub all: u32,
    /// never revoked, and of versions whose lineage was attested
    pub good: u32,
    /// the owners (other than itself) of the versions of its good attestations
    pub owners: std::collections::BTreeSet<String>,
}

/// Good attestations an attestor needs, over at least [`TRACK_MIN_OWNERS`] owners, before its
/// word weighs anything: a fresh address, or one that has only ever vouched for one owner (an
/// owner's own second wallet, say), is no evidence.
pub const TRACK_MIN_GOOD: u32 = 3;
pub const TRACK_MIN_OWNERS: usize = 2;

/// An attestor's track record in 0-1: 0 until it has earned one, then the share of its
/// attestations that were good (Laplace-smoothed).
pub fn track_record(r: &Record) -> f64 {
    if r.good < TRACK_MIN_GOOD || r.owners.len() < TRACK_MIN_OWNERS {
        return 0.0;
    }
    (f64::from(r.good) + 1.0) / (f64::from(r.all) + 2.0)
}

/// Facts per version for the provenance score, and the attestors' track records.
pub fn provenance_inputs(data: &Data, lineage: &Lineage) -> anyhow::Result<ProvenanceInputs> {
    let assets = &data.assets;
    let owners: HashMap<i64, (String, bool)> = ints(assets, "asset_id")?
        .into_iter()
        .zip(strs(assets, "owner")?)
        .zip(strs(assets, "sensitivity")?)
        .filter_map(|((id, o), s)| {
            let personal = matches!(s.as_deref(), Some("personal") | Some("special_category"));
            Some((id?, (o?, personal)))
        })
        .collect();
    let tomb: BTreeSet<i64> = ints(&data.tombstones, "asset_id")?
        .into_iter()
        .flatten()
        .collect();
    let v = &data.versions;
    let (asset, version) = (ints(v, "asset_id")?, ints(v, "version")?);
    let schema: Vec<bool> = v
        .column("schema_hash")?
        .bool()?
        .into_iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let mut facts: HashMap<(i64, i64), VersionFacts> = HashMap::new();
    for i in 0..asset.len() {
        let (Some(a), Some(ver)) = (asset[i], version[i]) else {
            continue;
        };
        let (owner, personal) = owners.get(&a).cloned().unwrap_or_default();
        facts.insert(
            (a, ver),
            VersionFacts {
                owner,
                personal,
                tombstoned: tomb.contains(&a),
                schema_hash: schema[i],
                parents: lineage.parents.get(&(a, ver)).cloned().unwrap_or_default(),
                ..Default::default()
            },
        );
    }
    // attestations in order: the latest word per (version, attestor) counts
    let at = &data.attestations;
    let (aa, av, who, claim) = (
        ints(at, "asset_id")?,
        ints(at, "version")?,
        strs(at, "attestor")?,
        strs(at, "claim")?,
    );
    let revoked: Vec<bool> = at
        .column("revoked")?
        .bool()?
        .into_iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    // track record: an attestor's attestations that were never revoked and do not vouch for
    // versions whose lineage nobody attested, and the other owners they vouched for
    let mut record: HashMap<String, Record> = HashMap::new();
    for i in 0..aa.len() {
        let (Some(a), Some(ver), Some(w)) = (aa[i], av[i], who[i].clone()) else {
            continue;
        };
        let owner = facts.get(&(a, ver)).map(|f| f.owner.clone());
        let e = record.entry(w.clone()).or_default();
        e.all += 1;
        if !revoked[i] && lineage.unattested_depth((a, ver)) == 0 {
            e.good += 1;
            if let Some(o) = owner.filter(|o| *o != w) {
                e.owners.insert(o);
            }
        }
        if let Some(f) = facts.get_mut(&(a, ver)) {
            let c = claim[i].clone().unwrap_or_default();
            if revoked[i] {
                revoke(&mut f.attestations, &w, &c);
            } else {
                f.attestations.entry(w).or_default().push(c);
            }
        }
    }
    let track = record
        .into_iter()
        .map(|(w, r)| (w, track_record(&r)))
        .collect();
    // accesses per asset, and consumers per asset (from the agreements)
    let acc = data
        .accesses
        .clone()
        .lazy()
        .group_by([col("asset_id")])
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("subject")
                .is_not_null()
                .cast(DataType::Int64)
                .sum()
                .alias("with_subject"),
        ])
        .collect()?;
    let per_asset: HashMap<i64, (u64, u64)> = ints(&acc, "asset_id")?
        .into_iter()
        .zip(ints(&acc, "n")?)
        .zip(ints(&acc, "with_subject")?)
        .filter_map(|((a, n), s)| Some((a?, (n? as u64, s? as u64))))
        .collect();
    let ag = &data.agreements;
    let mut consumers: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (a, c) in ints(ag, "asset_id")?.into_iter().zip(strs(ag, "consumer")?) {
        if let (Some(a), Some(c)) = (a, c) {
            consumers.entry(a).or_default().insert(c);
        }
    }
    for ((a, _), f) in facts.iter_mut() {
        if let Some((n, s)) = per_asset.get(a) {
            f.accesses = *n;
            f.accesses_with_subject = *s;
        }
        f.consumers = consumers.get(a).cloned().unwrap_or_default();
    }
    Ok((facts, track))
}

/// The standing alerts (neither resolved nor lifted by the run's last height), as the
/// provenance score counts them.
pub fn standing_alerts(data: &Data) -> anyhow::Result<Vec<crate::provenance::StandingAlert>> {
    let a = &data.alerts;
    let standing: Vec<bool> = a
        .column("standing")?
        .bool()?
        .into_iter()
        .map(|b| b.unwrap_or(true))
        .collect();
    Ok(strs(a, "subject")?
        .into_iter()
        .zip(strs(a, "severity")?)
        .zip(ints(a, "asset_id")?)
        .zip(standing)
        .filter_map(|(((subject, severity), asset_id), standing)| {
            Some(crate::provenance::StandingAlert {
                subject: subject?,
                severity: severity?,
                asset_id,
            })
            .filter(|_| standing)
        })
        .collect())
}

/// Takes back one claim of an attestor on a version (its other claims stand); an attestor with
/// no claim left is no longer an attestor of the version.
fn revoke(
    attestations: &mut std::collections::BTreeMap<String, Vec<String>>,
    attestor: &str,
    claim: &str,
) {
    if let Some(claims) = attestations.get_mut(attestor) {
        claims.retain(|c| c != claim);
        if claims.is_empty() {
            attestations.remove(attestor);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn revoking_one_claim_leaves_the_attestors_other_claims_standing() {
        let mut a = std::collections::BTreeMap::from([
            (
                "w".to_string(),
                vec!["schema-valid".to_string(), "quality.passed".to_string()],
            ),
            ("v".to_string(), vec!["schema-valid".to_string()]),
        ]);
        super::revoke(&mut a, "w", "schema-valid");
        assert_eq!(a["w"], ["quality.passed"]);
        super::revoke(&mut a, "v", "schema-valid");
        assert!(!a.contains_key("v"), "no claim left: no longer an attestor");
        super::revoke(&mut a, "nobody", "x");
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn an_attestor_earns_a_track_record_by_good_attestations_for_several_owners() {
        let rec = |good: u32, all: u32, owners: &[&str]| super::Record {
            all,
            good,
            owners: owners.iter().map(|o| o.to_string()).collect(),
        };
        assert_eq!(super::track_record(&rec(0, 0, &[])), 0.0, "a fresh address");
        assert_eq!(
            super::track_record(&rec(9, 9, &["p"])),
            0.0,
            "one that only ever vouched for one owner"
        );
        assert_eq!(super::track_record(&rec(2, 2, &["p", "q"])), 0.0, "too few");
        let earned = super::track_record(&rec(3, 3, &["p", "q"]));
        assert!((earned - 0.8).abs() < 1e-12, "{earned}");
        let sloppy = super::track_record(&rec(3, 10, &["p", "q"]));
        assert!(sloppy < 0.4, "bad attestations count against it: {sloppy}");
    }
}
