//! Provenance scores: how far an analyst can trust each asset version, 0-100, with the
//! components that make it up. The formula and its reasons are in docs/provenance.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datapact_types::claims;
use serde::Serialize;

/// What the score knows about a version.
#[derive(Clone, Debug, Default)]
pub struct VersionFacts {
    pub owner: String,
    pub personal: bool,
    pub tombstoned: bool,
    pub schema_hash: bool,
    pub parents: Vec<(i64, i64)>,
    /// attestor -> claims (revoked ones left out)
    pub attestations: BTreeMap<String, Vec<String>>,
    /// accesses to the asset, and those that named a data subject
    pub accesses: u64,
    pub accesses_with_subject: u64,
    /// consumers with an agreement on the asset
    pub consumers: BTreeSet<String>,
}

/// A version's score and its components (each 0-1; the score is 0-100).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProvenanceScore {
    pub asset_id: i64,
    pub version: i64,
    pub score: f64,
    /// the version's own evidence, before what it inherits
    pub own: f64,
    /// ancestors attested and not erased
    pub lineage: f64,
    /// independent attestations, weighted by the attestors' track records
    pub attestation: f64,
    /// how many independent attestors (3 or more: 1)
    pub diversity: f64,
    /// content hash, schema hash, integrity claims
    pub integrity: f64,
    /// accesses to personal data that went through a consent check
    pub consent: f64,
    /// standing alerts against the owner or naming the asset
    pub alerts: f64,
    /// the weakest parent's score (0-1), 1 for a root
    pub inherited: f64,
    pub attestors: usize,
    pub unattested_ancestors: usize,
}

/// Weights of the own-evidence components: lineage, attestation, diversity, integrity,
/// consent, alerts.
pub const WEIGHTS: [f64; 6] = [0.25, 0.25, 0.15, 0.10, 0.15, 0.10];
/// A derived version keeps this share of its own score, and earns the rest through its parents.
pub const OWN_SHARE: f64 = 0.5;

fn severity_weight(s: &str) -> f64 {
    match s {
        "critical" => 0.6,
        "high" => 0.4,
        "medium" => 0.2,
        "low" => 0.1,
        _ => 0.05,
    }
}

/// Ancestors of `v` (not `v` itself), breadth first, at most 16 levels (the registry's limit).
fn ancestors(v: (i64, i64), facts: &HashMap<(i64, i64), VersionFacts>) -> Vec<(i64, i64)> {
    let mut seen = BTreeSet::new();
    let mut frontier = vec![v];
    for _ in 0..16 {
        let mut next = Vec::new();
        for x in frontier {
            for p in facts
                .get(&x)
                .map(|f| f.parents.as_slice())
                .unwrap_or_default()
            {
                if seen.insert(*p) {
                    next.push(*p);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    seen.into_iter().collect()
}

/// A standing alert on chain (neither resolved nor lifted): its subject, severity, and the
/// asset it names, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct StandingAlert {
    pub subject: String,
    pub severity: String,
    pub asset_id: Option<i64>,
}

/// Scores every version. `alerts` are the standing alerts; `track` is each attestor's track
/// record in 0-1.
pub fn score_all(
    facts: &HashMap<(i64, i64), VersionFacts>,
    alerts: &[StandingAlert],
    track: &HashMap<String, f64>,
) -> Vec<ProvenanceScore> {
    let attested = |v: &(i64, i64)| facts.get(v).is_some_and(|f| !f.attestations.is_empty());
    // an alert counts against the asset of its owner (the subject) or the asset it names, once;
    // a consumer's alert is the consumer's, not the asset's (anyone could grief an asset)
    let mut by_subject: HashMap<&str, f64> = HashMap::new();
    let mut by_asset: HashMap<i64, Vec<&StandingAlert>> = HashMap::new();
    for a in alerts {
        *by_subject.entry(a.subject.as_str()).or_default() += severity_weight(&a.severity);
        if let Some(asset) = a.asset_id {
            by_asset.entry(asset).or_default().push(a);
        }
    }
    let mut own: BTreeMap<(i64, i64), ProvenanceScore> = BTreeMap::new();
    for (&(asset, version), f) in facts {
        let anc = ancestors((asset, version), facts);
        let good = anc
            .iter()
            .filter(|a| attested(a) && !facts.get(a).is_some_and(|f| f.tombstoned))
            .count();
        let lineage = if anc.is_empty() {
            1.0
        } else {
            good as f64 / anc.len() as f64
        };
        // self-attestation by the owner is no evidence, nor is the word of an address without
        // a track record (a fresh wallet, or one that only ever vouched for one owner)
        let earned = |a: &String| track.get(a).copied().unwrap_or(0.0);
        let independent: Vec<&String> = f
            .attestations
            .keys()
            .filter(|a| **a != f.owner && earned(a) > 0.0)
            .collect();
        let attestation = 1.0
            - independent
                .iter()
                .map(|a| 1.0 - 0.6 * earned(a))
                .product::<f64>();
        let diversity = (independent.len() as f64 / 3.0).min(1.0);
        // what can be checked about the bytes: the content hash (always on chain), a schema
        // hash, and claims by someone other than the owner: a passed quality check fully,
        // any other claim half
        let vouched: Vec<&String> = independent
            .iter()
            .flat_map(|a| &f.attestations[*a])
            .collect();
        let checked = if vouched.iter().any(|c| *c == claims::QUALITY_PASSED) {
            1.0
        } else if !vouched.is_empty() {
            0.5
        } else {
            0.0
        };
        let integrity = 0.4 + 0.3 * f64::from(u8::from(f.schema_hash)) + 0.3 * checked;
        let consent = if f.personal && f.accesses > 0 {
            f.accesses_with_subject as f64 / f.accesses as f64
        } else {
            1.0
        };
        let against: f64 = by_subject.get(f.owner.as_str()).copied().unwrap_or(0.0)
            + by_asset
                .get(&asset)
                .into_iter()
                .flatten()
                .filter(|a| a.subject != f.owner)
                .map(|a| severity_weight(&a.severity))
                .sum::<f64>();
        let alerts_c = 1.0 - against.min(1.0);
        let parts = [
            lineage,
            attestation,
            diversity,
            integrity,
            consent,
            alerts_c,
        ];
        let own_score: f64 = parts.iter().zip(WEIGHTS).map(|(p, w)| p * w).sum();
        own.insert(
            (asset, version),
            ProvenanceScore {
                asset_id: asset,
                version,
                score: 0.0,
                own: own_score,
                lineage,
                attestation,
                diversity,
                integrity,
                consent,
                alerts: alerts_c,
                inherited: 1.0,
                attestors: independent.len(),
                unattested_ancestors: anc.iter().filter(|a| !attested(a)).count(),
            },
        );
    }
    // propagation: parents before children (lineage is acyclic, parents exist first)
    let mut done: HashMap<(i64, i64), f64> = HashMap::new();
    fn resolve(
        v: (i64, i64),
        facts: &HashMap<(i64, i64), VersionFacts>,
        own: &BTreeMap<(i64, i64), ProvenanceScore>,
        done: &mut HashMap<(i64, i64), f64>,
        depth: usize,
    ) -> f64 {
        if let Some(s) = done.get(&v) {
            return *s;
        }
        let Some(o) = own.get(&v) else { return 0.0 };
        let parents = facts.get(&v).map(|f| f.parents.clone()).unwrap_or_default();
        let inherited = if parents.is_empty() || depth > 32 {
            1.0
        } else {
            parents
                .iter()
                .map(|p| resolve(*p, facts, own, done, depth + 1))
                .fold(1.0, f64::min)
        };
        let erased = facts.get(&v).is_some_and(|f| f.tombstoned);
        let s = if erased {
            0.0
        } else if parents.is_empty() {
            o.own
        } else {
            o.own * (OWN_SHARE + (1.0 - OWN_SHARE) * inherited)
        };
        done.insert(v, s);
        s
    }
    let keys: Vec<(i64, i64)> = own.keys().copied().collect();
    for k in &keys {
        resolve(*k, facts, &own, &mut done, 0);
    }
    own.into_iter()
        .map(|(k, mut s)| {
            let parents = facts.get(&k).map(|f| f.parents.clone()).unwrap_or_default();
            s.inherited = parents
                .iter()
                .map(|p| done.get(p).copied().unwrap_or(0.0))
                .fold(1.0, f64::min);
            s.score = (done.get(&k).copied().unwrap_or(0.0) * 1000.0).round() / 10.0;
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(owner: &str, parents: &[(i64, i64)], attestors: &[&str]) -> VersionFacts {
        VersionFacts {
            owner: owner.into(),
            schema_hash: true,
            parents: parents.to_vec(),
            attestations: attestors
                .iter()
                .map(|a| (a.to_string(), vec!["schema-valid".to_string()]))
                .collect(),
            ..Default::default()
        }
    }

    /// Attestors with a track record earned elsewhere.
    fn established(names: &[&str]) -> HashMap<String, f64> {
        names.iter().map(|n| (n.to_string(), 0.8)).collect()
    }

    #[test]
    fn three_fresh_wallets_attesting_a_version_weigh_nothing_beside_established_attestors() {
        // the game: a scrape published as a root, attested by three new addresses
        let mut facts = HashMap::new();
        facts.insert((1, 1), version("q", &[], &["fresh1", "fresh2", "fresh3"]));
        // its honest counterpart: the same, attested by three attestors with a record
        facts.insert((2, 1), version("p", &[], &["a1", "a2", "a3"]));
        // a fresh wallet has no record: it is absent from the track records or earned 0
        let mut track = established(&["a1", "a2", "a3"]);
        track.insert("fresh1".into(), 0.0);
        let s = score_all(&facts, &[], &track);
        let get = |a: i64| s.iter().find(|x| x.asset_id == a).unwrap();
        assert_eq!(get(1).attestation, 0.0);
        assert_eq!(get(1).diversity, 0.0, "fresh addresses are no diversity");
        assert_eq!(get(1).attestors, 0);
        assert!(
            get(2).attestation > 0.8 && get(2).diversity == 1.0,
            "{:?}",
            get(2)
        );
        assert!(
            get(1).score + 20.0 < get(2).score,
            "laundered {} honest {}",
            get(1).score,
            get(2).score
        );
    }

    #[test]
    fn laundering_through_unattested_parents_scores_below_a_clean_lineage() {
        let mut facts = HashMap::new();
        // clean: an attested root and an attested derivative
        facts.insert((1, 1), version("p", &[], &["a1", "a2"]));
        facts.insert((2, 1), version("p", &[(1, 1)], &["a1", "a2"]));
        // laundered: unattested scrape, unattested cleaning, attested final product
        facts.insert((3, 1), version("q", &[], &[]));
        facts.insert((4, 1), version("q", &[(3, 1)], &[]));
        facts.insert((5, 1), version("q", &[(4, 1)], &["a1", "a2"]));
        let scores = score_all(&facts, &[], &established(&["a1", "a2"]));
        let get = |a: i64| scores.iter().find(|s| s.asset_id == a).unwrap();
        assert!(
            get(2).score > get(5).score + 20.0,
            "clean {} laundered {}",
            get(2).score,
            get(5).score
        );
        assert_eq!(get(5).lineage, 0.0);
        assert_eq!(get(5).unattested_ancestors, 2);
        assert_eq!(get(2).lineage, 1.0);
        // the final product's own attestations do not hide its parents
        assert!(get(5).inherited < 0.5, "{}", get(5).inherited);
        assert!(scores.iter().all(|s| (0.0..=100.0).contains(&s.score)));
    }

    #[test]
    fn self_attestation_tombstones_and_alerts_lower_the_score() {
        let mut facts = HashMap::new();
        facts.insert((1, 1), version("p", &[], &["a1"]));
        facts.insert((2, 1), version("p", &[], &["p"]));
        let mut erased = version("p", &[], &["a1"]);
        erased.tombstoned = true;
        facts.insert((3, 1), erased);
        let track = established(&["a1", "p"]);
        let base = score_all(&facts, &[], &track);
        let get = |s: &[ProvenanceScore], a: i64| s.iter().find(|x| x.asset_id == a).unwrap().score;
        assert!(
            get(&base, 2) < get(&base, 1),
            "an owner attesting itself counts for nothing"
        );
        assert_eq!(get(&base, 3), 0.0);
        let alert = |subject: &str, asset_id: Option<i64>| StandingAlert {
            subject: subject.into(),
            severity: "high".into(),
            asset_id,
        };
        let alerted = score_all(&facts, &[alert("p", None)], &track);
        assert!(get(&alerted, 1) < get(&base, 1));
    }

    #[test]
    fn a_consumers_alert_is_the_consumers_and_one_naming_the_asset_counts_once() {
        let mut facts = HashMap::new();
        let mut v = version("p", &[], &["a1"]);
        v.consumers.insert("c".into());
        facts.insert((1, 1), v);
        let alert = |subject: &str, asset_id: Option<i64>| StandingAlert {
            subject: subject.into(),
            severity: "high".into(),
            asset_id,
        };
        let alerts_c =
            |alerts: &[StandingAlert]| score_all(&facts, alerts, &HashMap::new())[0].alerts;
        assert_eq!(alerts_c(&[]), 1.0);
        // the game: a consumer of the asset provokes an alert against itself
        assert_eq!(
            alerts_c(&[alert("c", None)]),
            1.0,
            "a consumer's alert does not grief the asset"
        );
        assert!(
            alerts_c(&[alert("c", Some(1))]) < 1.0,
            "an alert naming the asset counts"
        );
        assert_eq!(
            alerts_c(&[alert("p", Some(1))]),
            alerts_c(&[alert("p", None)]),
            "counted once"
        );
        assert_eq!(
            alerts_c(&[alert("x", Some(2))]),
            1.0,
            "another asset's alert does not count"
        );
    }

    #[test]
    fn a_quality_check_passed_by_another_counts_and_the_owners_own_claims_do_not() {
        let mut facts = HashMap::new();
        let with = |claimer: &str, claim: &str| VersionFacts {
            owner: "p".into(),
            schema_hash: true,
            attestations: [(claimer.to_string(), vec![claim.to_string()])].into(),
            ..Default::default()
        };
        facts.insert((1, 1), with("checker", claims::QUALITY_PASSED));
        facts.insert((2, 1), with("checker", "schema-valid"));
        facts.insert((3, 1), with("p", claims::QUALITY_PASSED));
        let s = score_all(&facts, &[], &established(&["checker", "p"]));
        let integrity = |a: i64| s.iter().find(|x| x.asset_id == a).unwrap().integrity;
        assert_eq!(integrity(1), 1.0);
        assert_eq!(integrity(2), 0.85);
        assert_eq!(
            integrity(3),
            0.7,
            "the owner vouching for itself adds nothing"
        );
    }
}
