//! Findings by rule: what the chain's own records decide, not what a model guesses.
//!
//! A refused access whose reason is the lack of consent, where the same subject had withdrawn
//! a consent that covered that use before the attempt, is an access attempted after a
//! withdrawal. A refused access on a suspended agreement, or by a suspended consumer, is an
//! access attempted after a suspension. Both are certain; their score says how insistent the
//! actor was (one attempt 0.3, two 0.6, three 0.85, more up to 0.97), their severity too.
//!
//! An attestation of a version that stands, at that height, on two or more generations in a
//! row that nobody attested, each published by its own publisher or by a wallet without a
//! record (fewer than two of its versions attested, or by fewer than two attestors other than
//! itself), is provenance laundering: a product vouched for over unvouched sources of its own
//! or of nobody's. Its count is the versions in that chain (the product and its sources, three
//! or more), on the same ladder.

use std::collections::{BTreeMap, HashMap};

use crate::features::{Lineage, Windowing};
use crate::target;

/// The rules' names: each finding's kind, as the anomalies and the sentinel's alerts carry it.
pub const ACCESS_AFTER_WITHDRAWAL: &str = "access_after_withdrawal";
pub const ACCESS_AFTER_SUSPENSION: &str = "access_after_suspension";
pub const PROVENANCE_LAUNDERING: &str = "provenance_laundering";

/// A refused access attempt, as indexed.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub height: i64,
    pub tx_index: i64,
    pub consumer: String,
    pub agreement_id: Option<i64>,
    pub subject: Option<String>,
    pub reason: String,
}

/// The terms of an agreement the rules need.
#[derive(Clone, Debug)]
pub struct AgreementTerms {
    pub provider: String,
    pub asset_id: i64,
    pub purpose: String,
}

/// A consent record and, when withdrawn, the height of the withdrawal.
#[derive(Clone, Debug)]
pub struct ConsentRecord {
    pub subject: String,
    pub controller: String,
    /// what the grant covered; None when the index starts after the grant and holds only
    /// the withdrawal
    pub grant: Option<GrantTerms>,
    pub withdrawn_at: Option<i64>,
}

/// What a consent grant covers.
#[derive(Clone, Debug)]
pub struct GrantTerms {
    /// `controller` (every asset of the controller) or `asset:<id>`
    pub scope: String,
    pub purposes: Vec<String>,
}

impl ConsentRecord {
    /// Whether this consent was for the agreement's use. A withdrawal whose grant is not in
    /// the index is taken to cover every use of its controller's data: the subject withdrew
    /// from that controller, and the contract refused the access for want of consent.
    fn covers(&self, a: &AgreementTerms) -> bool {
        self.controller == a.provider
            && self.grant.as_ref().is_none_or(|g| {
                (g.scope == "controller" || g.scope == format!("asset:{}", a.asset_id))
                    && g.purposes.contains(&a.purpose)
            })
    }
}

/// One rule's findings for one actor in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    /// `consumer` for the access rules, `provider` for laundering
    pub role: &'static str,
    pub actor: String,
    pub window: i64,
    /// how many: refused attempts for the access rules; versions in the laundered chain
    pub count: u32,
    pub first_height: i64,
    pub last_height: i64,
    /// (height, tx_index) of each attempt
    pub txs: Vec<(i64, i64)>,
    /// `agreement:N`, `subject:S`
    pub targets: Vec<String>,
}

impl Finding {
    /// How insistent: one attempt can be an honest race with the withdrawal or the
    /// suspension; three or more are a pattern (a laundered chain has three versions at least).
    pub fn score(&self) -> f64 {
        match self.count {
            0 => 0.0,
            1 => 0.3,
            2 => 0.6,
            3 => 0.85,
            4 => 0.93,
            _ => 0.97,
        }
    }

    pub fn severity(&self) -> &'static str {
        match self.count {
            0 | 1 => "low",
            2 => "medium",
            3 | 4 => "high",
            _ => "critical",
        }
    }

    pub fn explanation(&self) -> String {
        match self.rule {
            ACCESS_AFTER_WITHDRAWAL => format!(
                "{} access attempt(s) for data subjects who had withdrawn their consent (refused by the consent rule): {}",
                self.count,
                self.targets.join(", ")
            ),
            PROVENANCE_LAUNDERING => format!(
                "attested while it stood on {} generation(s) nobody attested, published by itself or by wallets without a record: {}",
                self.count.saturating_sub(1),
                self.targets.join(", ")
            ),
            _ => format!(
                "{} access attempt(s) on suspended agreements (refused by the agreement's status): {}",
                self.count,
                self.targets.join(", ")
            ),
        }
    }

    /// A finding of `rule` with nothing in it yet, for `actor` (in `role`) in `window`.
    fn empty(
        rule: &'static str,
        role: &'static str,
        actor: &str,
        window: i64,
        height: i64,
    ) -> Self {
        Finding {
            rule,
            role,
            actor: actor.to_string(),
            window,
            count: 0,
            first_height: height,
            last_height: height,
            txs: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Widens the finding to `height` and names `targets` (each once).
    fn saw(&mut self, height: i64, targets: impl IntoIterator<Item = String>) {
        self.first_height = self.first_height.min(height);
        self.last_height = self.last_height.max(height);
        for t in targets {
            if !self.targets.contains(&t) {
                self.targets.push(t);
            }
        }
    }

    /// What the count is, for the anomaly's features.
    pub fn count_name(&self) -> &'static str {
        match self.rule {
            PROVENANCE_LAUNDERING => "chain",
            _ => "attempts",
        }
    }
}

/// Applies the rules to every refused attempt. `time_of` gives a height's block time (unix s).
pub fn findings(
    attempts: &[Attempt],
    agreements: &HashMap<i64, AgreementTerms>,
    consents: &[ConsentRecord],
    time_of: &dyn Fn(i64) -> Option<i64>,
    w: Windowing,
) -> Vec<Finding> {
    // consents by subject, to look up withdrawals quickly
    let mut by_subject: HashMap<&str, Vec<&ConsentRecord>> = HashMap::new();
    for c in consents {
        by_subject.entry(c.subject.as_str()).or_default().push(c);
    }
    let mut out: BTreeMap<(&'static str, String, i64), Finding> = BTreeMap::new();
    for a in attempts {
        let rule = match a.reason.as_str() {
            "consent_not_granted" => {
                let (Some(subject), Some(terms)) = (
                    a.subject.as_deref(),
                    a.agreement_id.and_then(|id| agreements.get(&id)),
                ) else {
                    continue;
                };
                let withdrawn_before = by_subject.get(subject).is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.withdrawn_at.is_some_and(|h| h <= a.height) && c.covers(terms))
                });
                if !withdrawn_before {
                    continue;
                }
                ACCESS_AFTER_WITHDRAWAL
            }
            "agreement_suspended" | "consumer_suspended" => ACCESS_AFTER_SUSPENSION,
            _ => continue,
        };
        let Some(t) = time_of(a.height) else { continue };
        let window = w.index(t);
        let f = out
            .entry((rule, a.consumer.clone(), window))
            .or_insert_with(|| Finding::empty(rule, "consumer", &a.consumer, window, a.height));
        f.count += 1;
        f.txs.push((a.height, a.tx_index));
        let mut targets: Vec<String> = a.agreement_id.map(target::agreement).into_iter().collect();
        if rule == ACCESS_AFTER_WITHDRAWAL {
            targets.extend(a.subject.as_ref().map(target::subject));
        }
        f.saw(a.height, targets);
    }
    out.into_values().collect()
}

/// Provenance laundering: every attestation (not a revocation) of a version that stood, at its
/// height, on two or more generations in a row of unattested versions by its own publisher or by
/// publishers without a record ([`Lineage::unvouched_depth_at`]). One
/// finding per publisher and window, its count the longest such chain (with the product); the
/// targets name the attested versions (`asset:<id>@<version>`).
pub fn laundering(
    lineage: &Lineage,
    time_of: &dyn Fn(i64) -> Option<i64>,
    w: Windowing,
) -> Vec<Finding> {
    let mut out: BTreeMap<(String, i64), Finding> = BTreeMap::new();
    // in a fixed order: the findings' targets come out the same on every run
    let mut versions: Vec<&(i64, i64)> = lineage.words.keys().collect();
    versions.sort();
    for v in versions {
        let Some(publisher) = lineage.publisher(*v) else {
            continue;
        };
        for (height, _, attests) in &lineage.words[v] {
            if !attests {
                continue;
            }
            let depth = lineage.unvouched_depth_at(*v, Some(*height));
            let (true, Some(t)) = (depth >= 2, time_of(*height)) else {
                continue;
            };
            let window = w.index(t);
            let f = out
                .entry((publisher.to_string(), window))
                .or_insert_with(|| {
                    Finding::empty(
                        PROVENANCE_LAUNDERING,
                        "provider",
                        publisher,
                        window,
                        *height,
                    )
                });
            f.count = f.count.max(u32::try_from(depth + 1).unwrap_or(u32::MAX));
            f.saw(*height, [target::version(v.0, v.1)]);
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn attempt(height: i64, reason: &str, subject: Option<&str>) -> Attempt {
        Attempt {
            height,
            tx_index: 0,
            consumer: "c".into(),
            agreement_id: Some(1),
            subject: subject.map(str::to_string),
            reason: reason.into(),
        }
    }

    fn setup() -> (HashMap<i64, AgreementTerms>, Vec<ConsentRecord>) {
        let mut ag = HashMap::new();
        ag.insert(
            1,
            AgreementTerms {
                provider: "p".into(),
                asset_id: 7,
                purpose: "research".into(),
            },
        );
        let consents = vec![ConsentRecord {
            subject: "s".into(),
            controller: "p".into(),
            grant: Some(GrantTerms {
                scope: "asset:7".into(),
                purposes: vec!["research".into()],
            }),
            withdrawn_at: Some(10),
        }];
        (ag, consents)
    }

    #[test]
    fn an_attempt_after_a_covering_withdrawal_is_a_finding_and_one_before_it_is_not() {
        let (ag, consents) = setup();
        let attempts = vec![
            attempt(9, "consent_not_granted", Some("s")),
            attempt(12, "consent_not_granted", Some("s")),
            attempt(13, "consent_not_granted", Some("s")),
            attempt(14, "consent_not_granted", Some("psn:never-consented")),
        ];
        let f = findings(
            &attempts,
            &ag,
            &consents,
            &|h| Some(h * 6),
            Windowing { seconds: 3600 },
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "access_after_withdrawal");
        assert_eq!(f[0].count, 2);
        assert_eq!((f[0].first_height, f[0].last_height), (12, 13));
        assert_eq!(f[0].targets, vec!["agreement:1", "subject:s"]);
        assert!((f[0].score() - 0.6).abs() < 1e-12);
        assert_eq!(f[0].severity(), "medium");
    }

    #[test]
    fn a_withdrawal_that_does_not_cover_the_use_is_no_finding() {
        let (ag, mut consents) = setup();
        if let Some(g) = consents[0].grant.as_mut() {
            g.scope = "asset:8".into();
        }
        let f = findings(
            &[attempt(12, "consent_not_granted", Some("s"))],
            &ag,
            &consents,
            &|h| Some(h),
            Windowing { seconds: 60 },
        );
        assert!(f.is_empty());
    }

    #[test]
    fn a_withdrawal_whose_grant_predates_the_index_covers_its_controllers_data() {
        let (ag, mut consents) = setup();
        consents[0].grant = None;
        let attempts = [attempt(12, "consent_not_granted", Some("s"))];
        let run = |consents: &[ConsentRecord]| {
            findings(
                &attempts,
                &ag,
                consents,
                &|h| Some(h),
                Windowing { seconds: 60 },
            )
        };
        let f = run(&consents);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "access_after_withdrawal");
        // another controller's subject withdrawing is still no finding
        consents[0].controller = "q".into();
        assert!(run(&consents).is_empty());
    }

    #[test]
    fn attempts_on_suspended_agreements_are_findings_per_window() {
        let (ag, consents) = setup();
        let attempts = vec![
            attempt(1, "agreement_suspended", None),
            attempt(2, "consumer_suspended", None),
            attempt(700, "agreement_suspended", None),
            attempt(3, "cap_reached", None),
        ];
        let f = findings(
            &attempts,
            &ag,
            &consents,
            &|h| Some(h * 6),
            Windowing { seconds: 3600 },
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].count, 2);
        assert_eq!(f[1].count, 1);
        assert_eq!(f[1].severity(), "low");
    }

    /// p: 1@1 (a scrape) <- 2@1 <- 3@1 (the product), none attested until 3@1 at height 20;
    /// q: 4@1 over p's 2@1, attested at 20 too. p has a record: 9@1 attested at 1 by a third
    /// attestor, and 3@1.
    fn chain() -> Lineage {
        let (parents, attested, words, publishers) = chain_parts();
        Lineage::new(parents, attested, words, publishers)
    }

    /// What [`Lineage::new`] takes: parents, attested, words, publishers.
    type Parts = (
        HashMap<(i64, i64), Vec<(i64, i64)>>,
        BTreeSet<(i64, i64)>,
        HashMap<(i64, i64), Vec<(i64, String, bool)>>,
        HashMap<(i64, i64), String>,
    );

    /// What [`chain`] is built from, for tests that add to it.
    fn chain_parts() -> Parts {
        let parents = HashMap::from([
            ((2, 1), vec![(1, 1)]),
            ((3, 1), vec![(2, 1)]),
            ((4, 1), vec![(2, 1)]),
        ]);
        let publishers = [(1, "p"), (2, "p"), (3, "p"), (4, "q"), (9, "p")]
            .into_iter()
            .map(|(a, who)| ((a, 1), who.to_string()))
            .collect();
        let words = HashMap::from([
            (
                (3, 1),
                vec![(20, "a1".to_string(), true), (21, "a2".to_string(), true)],
            ),
            ((4, 1), vec![(20, "a1".to_string(), true)]),
            ((9, 1), vec![(1, "a3".to_string(), true)]),
        ]);
        (
            parents,
            [(3, 1), (4, 1), (9, 1)].into_iter().collect(),
            words,
            publishers,
        )
    }

    #[test]
    fn a_product_attested_over_two_of_its_publishers_own_unattested_versions_is_laundering() {
        let f = laundering(&chain(), &|h| Some(h * 6), Windowing { seconds: 3600 });
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].rule, f[0].role, f[0].actor.as_str()),
            (PROVENANCE_LAUNDERING, "provider", "p")
        );
        assert_eq!(f[0].count, 3, "the product and its two unattested sources");
        assert_eq!(
            f[0].targets,
            vec!["asset:3@1"],
            "attested twice, named once"
        );
        assert_eq!((f[0].first_height, f[0].last_height), (20, 21));
        assert_eq!(f[0].severity(), "high");
        assert!(
            f[0].explanation().contains("2 generation(s)"),
            "{}",
            f[0].explanation()
        );
    }

    #[test]
    fn building_on_someone_elses_or_on_attested_sources_is_no_laundering() {
        // q's 4@1 stands on p's unattested versions, not on its own: no finding for q (above)
        let mut l = chain();
        // the scrape attested before the product: 3@1 stands on one unattested version only
        l.words.insert((1, 1), vec![(19, "a3".to_string(), true)]);
        assert!(laundering(&l, &|h| Some(h), Windowing { seconds: 60 }).is_empty());
        // a revocation is no attestation
        let mut l = chain();
        for w in l.words.values_mut() {
            for word in w.iter_mut() {
                word.2 = false;
            }
        }
        assert!(laundering(&l, &|h| Some(h), Windowing { seconds: 60 }).is_empty());
    }

    #[test]
    fn a_scrape_relayed_through_a_wallet_without_a_record_is_laundering_and_with_one_is_not() {
        // the scrape 1@1 published by r, p's 2@1 over it, p's product 3@1 attested at 20; r's
        // own versions `extra`: (version, publisher, attested at and by)
        type Extra<'a> = ((i64, i64), &'a str, Option<(i64, &'a str)>);
        let with = |extra: &[Extra]| {
            let (parents, mut attested, mut words, mut publishers) = chain_parts();
            for (v, who, by) in extra {
                publishers.insert(*v, who.to_string());
                if let Some((h, a)) = by {
                    words.insert(*v, vec![(*h, a.to_string(), true)]);
                    attested.insert(*v);
                }
            }
            Lineage::new(parents, attested, words, publishers)
        };
        let finds = |l: &Lineage| laundering(l, &|h| Some(h), Windowing { seconds: 60 });
        let f = finds(&with(&[((1, 1), "r", None)]));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].actor.as_str(), f[0].count), ("p", 3));
        // r with a record of its own: two versions attested by two others before the product
        let seasoned = with(&[
            ((1, 1), "r", None),
            ((5, 1), "r", Some((5, "a1"))),
            ((6, 1), "r", Some((6, "a2"))),
        ]);
        assert!(
            finds(&seasoned).is_empty(),
            "its scrape is vouched for by r's name"
        );
    }

    #[test]
    fn one_attested_version_or_one_attestor_or_its_own_word_earns_a_relay_no_record() {
        // the held-out vouched-relay of stop 29 to 36: r's one version attested by an
        // established attestor hours before the chain (model 5's record; no finding until
        // model 11)
        let (parents, mut attested, mut words, mut publishers) = chain_parts();
        publishers.insert((1, 1), "r".into());
        for (v, h, by) in [((5, 1), 5, "a1"), ((6, 1), 6, "a1"), ((7, 1), 7, "r")] {
            publishers.insert(v, "r".into());
            words.insert(v, vec![(h, by.to_string(), true)]);
            attested.insert(v);
        }
        let base = (parents, attested, words, publishers);
        let finds = |drop: &[(i64, i64)]| {
            let (parents, mut attested, mut words, mut publishers) = base.clone();
            for v in drop {
                publishers.remove(v);
                words.remove(v);
                attested.remove(v);
            }
            let l = Lineage::new(parents, attested, words, publishers);
            laundering(&l, &|h| Some(h), Windowing { seconds: 60 })
        };
        let one_version = finds(&[(6, 1), (7, 1)]);
        assert_eq!(
            one_version.len(),
            1,
            "one version by one attestor: {one_version:?}"
        );
        assert_eq!(one_version[0].count, 3);
        assert_eq!(finds(&[(7, 1)]).len(), 1, "two versions, one attestor");
        assert_eq!(
            finds(&[(6, 1)]).len(),
            1,
            "two versions, one of them its own word"
        );
    }
}
