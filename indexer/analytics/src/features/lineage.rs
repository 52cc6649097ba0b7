//! Unattested ancestry: which versions' lineage holds ancestors nobody attested.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{i64_col, str_col};
use crate::load::Data;

/// An attestor's word on a version: (height, attestor, attests — false for a revocation).
pub type Word = (i64, String, bool);

/// What a publisher needs before its unattested versions stop counting as nobody's sources (a
/// record, [`Lineage::unvouched_depth_at`]): this many of its versions standing attested, by at
/// least [`RECORD_MIN_ATTESTORS`] attestors other than itself between them — as an attestor's
/// word weighs nothing until it has vouched for several owners (`inputs::TRACK_MIN_OWNERS`). One
/// attested version by one attestor (model 5's record, until model 11) is what a launderer's
/// second wallet gets in a day.
pub const RECORD_MIN_VERSIONS: usize = 2;
pub const RECORD_MIN_ATTESTORS: usize = 2;

/// Versions whose lineage holds an ancestor nobody attested, with the longest run of
/// unattested ancestors (plain Rust: the registry tables are small).
pub struct Lineage {
    /// (asset, version) -> parents
    pub parents: HashMap<(i64, i64), Vec<(i64, i64)>>,
    /// versions with at least one attestation that was not revoked (as of the last height read)
    pub attested: BTreeSet<(i64, i64)>,
    /// per version, every attestor's words in height order: (height, attestor, attests) — a
    /// revocation is a word that does not
    pub words: HashMap<(i64, i64), Vec<Word>>,
    /// who published each version (private: `published` is indexed from it once)
    publishers: HashMap<(i64, i64), String>,
    /// each publisher's versions (from `publishers`)
    published: HashMap<String, Vec<(i64, i64)>>,
}

impl Lineage {
    /// A lineage from its parts; each publisher's versions are indexed here.
    pub fn new(
        parents: HashMap<(i64, i64), Vec<(i64, i64)>>,
        attested: BTreeSet<(i64, i64)>,
        words: HashMap<(i64, i64), Vec<Word>>,
        publishers: HashMap<(i64, i64), String>,
    ) -> Self {
        let mut published: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for (v, who) in &publishers {
            published.entry(who.clone()).or_default().push(*v);
        }
        Self {
            parents,
            attested,
            words,
            publishers,
            published,
        }
    }

    /// Who published version `v`, if it is known.
    pub fn publisher(&self, v: (i64, i64)) -> Option<&str> {
        self.publishers.get(&v).map(String::as_str)
    }

    pub fn from_data(data: &Data) -> anyhow::Result<Self> {
        let l = &data.lineage;
        let (pa, pv, ca, cv) = (
            i64_col(l, "parent_asset")?,
            i64_col(l, "parent_version")?,
            i64_col(l, "child_asset")?,
            i64_col(l, "child_version")?,
        );
        let mut parents: HashMap<(i64, i64), Vec<(i64, i64)>> = HashMap::new();
        for i in 0..pa.len() {
            parents
                .entry((ca[i], cv[i]))
                .or_default()
                .push((pa[i], pv[i]));
        }
        let a = &data.attestations;
        let (asset, version, revoked) = (
            i64_col(a, "asset_id")?,
            i64_col(a, "version")?,
            a.column("revoked")?
                .bool()?
                .into_iter()
                .map(|v| v.unwrap_or(false))
                .collect::<Vec<_>>(),
        );
        // the latest word per (version, attestor) counts: attested unless revoked since
        let attestor = str_col(a, "attestor")?;
        let height = i64_col(a, "height")?;
        let mut last: BTreeMap<(i64, i64, &str), bool> = BTreeMap::new();
        let mut words: HashMap<(i64, i64), Vec<Word>> = HashMap::new();
        for i in 0..asset.len() {
            last.insert((asset[i], version[i], attestor[i].as_str()), !revoked[i]);
            words.entry((asset[i], version[i])).or_default().push((
                height[i],
                attestor[i].clone(),
                !revoked[i],
            ));
        }
        // the same height keeps the order the rows came in (the chain's)
        words
            .values_mut()
            .for_each(|w| w.sort_by_key(|(h, _, _)| *h));
        let attested = last
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|((a, v, _), _)| (a, v))
            .collect();
        let v = &data.versions;
        let publishers = i64_col(v, "asset_id")?
            .into_iter()
            .zip(i64_col(v, "version")?)
            .zip(str_col(v, "publisher")?)
            .collect();
        Ok(Self::new(parents, attested, words, publishers))
    }

    /// Whether `v` stood attested at height `at` (by the latest word of each attestor up to it);
    /// None: as of the last height read.
    pub fn attested_at(&self, v: (i64, i64), at: Option<i64>) -> bool {
        let Some(at) = at else {
            return self.attested.contains(&v);
        };
        !self.attestors_at(v, Some(at)).is_empty()
    }

    /// Who stood attesting `v` at height `at` (each attestor's latest word up to it attests);
    /// None: as of the last height read.
    fn attestors_at(&self, v: (i64, i64), at: Option<i64>) -> BTreeSet<&str> {
        let mut latest: BTreeMap<&str, bool> = BTreeMap::new();
        for (h, who, ok) in self.words.get(&v).into_iter().flatten() {
            if at.is_some_and(|at| *h > at) {
                break;
            }
            latest.insert(who, *ok);
        }
        latest
            .into_iter()
            .filter_map(|(who, ok)| ok.then_some(who))
            .collect()
    }

    /// The longest chain of unattested ancestors above `v` (0: every ancestor is attested), as
    /// of the last height read.
    pub fn unattested_depth(&self, v: (i64, i64)) -> i64 {
        self.unattested_depth_at(v, None)
    }

    /// [`Lineage::unattested_depth`] as it stood at height `at`: what a window closing then
    /// could read (a window's features come from the past only).
    pub fn unattested_depth_at(&self, v: (i64, i64), at: Option<i64>) -> i64 {
        let mut memo = HashMap::new();
        self.depth(v, at, None, &mut memo, 0)
    }

    /// The longest chain of unattested ancestors above `v` that nobody vouches for, as it stood
    /// at height `at`: each published by `v`'s own publisher or by a publisher without a record
    /// then (fewer than [`RECORD_MIN_VERSIONS`] versions attested, or by fewer than
    /// [`RECORD_MIN_ATTESTORS`] others) — a publisher building on sources of its own or of
    /// nobody's.
    pub fn unvouched_depth_at(&self, v: (i64, i64), at: Option<i64>) -> i64 {
        let Some(me) = self.publishers.get(&v) else {
            return 0;
        };
        let mut memo = HashMap::new();
        self.depth(v, at, Some(me), &mut memo, 0)
    }

    /// Whether `who` had earned a record as a publisher at `at`: at least [`RECORD_MIN_VERSIONS`]
    /// of its versions stood attested then, by at least [`RECORD_MIN_ATTESTORS`] attestors other
    /// than itself between them.
    fn has_record(&self, who: &str, at: Option<i64>) -> bool {
        let Some(vs) = self.published.get(who) else {
            return false;
        };
        let mut versions = 0;
        let mut attestors: BTreeSet<&str> = BTreeSet::new();
        for v in vs {
            let mut by = self.attestors_at(*v, at);
            by.remove(who);
            if !by.is_empty() {
                versions += 1;
                attestors.extend(by);
            }
        }
        versions >= RECORD_MIN_VERSIONS && attestors.len() >= RECORD_MIN_ATTESTORS
    }

    /// The longest run of unattested ancestors above `v` (when `by` is given, only those `by`
    /// published or a publisher without a record did).
    fn depth(
        &self,
        v: (i64, i64),
        at: Option<i64>,
        by: Option<&str>,
        memo: &mut HashMap<(i64, i64), i64>,
        guard: usize,
    ) -> i64 {
        if let Some(d) = memo.get(&v) {
            return *d;
        }
        if guard > 64 {
            return 0;
        }
        let counts = |p: &(i64, i64)| {
            !self.attested_at(*p, at)
                && by.is_none_or(|by| {
                    self.publishers
                        .get(p)
                        .is_some_and(|q| q == by || !self.has_record(q, at))
                })
        };
        let d = self
            .parents
            .get(&v)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        if counts(p) {
                            1 + self.depth(*p, at, by, memo, guard + 1)
                        } else {
                            0
                        }
                    })
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(v, d);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unattested_depth_counts_unattested_ancestors_in_a_row() {
        // 1@1 (unattested) <- 2@1 (unattested) <- 3@1 (attested); 4@1 attested <- 5@1
        let mut parents = HashMap::new();
        parents.insert((2, 1), vec![(1, 1)]);
        parents.insert((3, 1), vec![(2, 1)]);
        parents.insert((5, 1), vec![(4, 1)]);
        let attested = [(3, 1), (4, 1), (5, 1)].into_iter().collect();
        let words = [((3, 1), 30), ((4, 1), 40), ((5, 1), 50)]
            .into_iter()
            .map(|(v, h)| (v, vec![(h, "wasm1a".to_string(), true)]))
            .collect();
        let l = Lineage::new(parents, attested, words, HashMap::new());
        assert_eq!(l.unattested_depth((3, 1)), 2);
        assert_eq!(l.unattested_depth((2, 1)), 1);
        assert_eq!(l.unattested_depth((1, 1)), 0);
        assert_eq!(l.unattested_depth((5, 1)), 0);
        // as it stood before 4@1 was attested (height 40), 5@1's parent was not
        assert_eq!(l.unattested_depth_at((5, 1), Some(39)), 1);
        assert_eq!(l.unattested_depth_at((5, 1), Some(40)), 0);
    }

    #[test]
    fn a_version_stands_attested_by_each_attestors_latest_word_up_to_the_height() {
        let words = HashMap::from([(
            (1, 1),
            vec![
                (10, "wasm1a".to_string(), true),
                (20, "wasm1b".to_string(), true),
                (30, "wasm1a".to_string(), false),
                (40, "wasm1b".to_string(), false),
            ],
        )]);
        let l = Lineage::new(HashMap::new(), BTreeSet::new(), words, HashMap::new());
        let at = |h| l.attested_at((1, 1), Some(h));
        assert!(!at(9));
        assert!(at(10) && at(30), "b still attests after a revoked");
        assert!(!at(40), "both revoked");
        assert!(!l.attested_at((1, 1), None), "as of the end: the set");
    }

    #[test]
    fn the_unvouched_depth_counts_the_publishers_own_and_record_less_publishers_versions() {
        // p: 1@1 <- 2@1 <- 3@1 (a chain of its own); 5@1 (p's) <- 6@1 (p's) over q's 4@1; q has
        // a record (7@1 attested at 10, 10@1 at 8 by another); r, without one, published 8@1
        // under p's 9@1
        let mut parents = HashMap::new();
        parents.insert((2, 1), vec![(1, 1)]);
        parents.insert((3, 1), vec![(2, 1)]);
        parents.insert((5, 1), vec![(4, 1)]);
        parents.insert((6, 1), vec![(5, 1)]);
        parents.insert((9, 1), vec![(8, 1)]);
        let publishers = [
            (1, "p"),
            (2, "p"),
            (3, "p"),
            (4, "q"),
            (5, "p"),
            (6, "p"),
            (7, "q"),
            (8, "r"),
            (9, "p"),
            (10, "q"),
        ]
        .into_iter()
        .map(|(a, who)| ((a, 1), who.to_string()))
        .collect();
        // 1@1 gets attested at height 50, q's 7@1 at 10 and 10@1 at 8
        let words = HashMap::from([
            ((1, 1), vec![(50, "wasm1a".to_string(), true)]),
            ((7, 1), vec![(10, "wasm1a".to_string(), true)]),
            ((10, 1), vec![(8, "wasm1b".to_string(), true)]),
        ]);
        let l = Lineage::new(
            parents,
            [(1, 1), (7, 1), (10, 1)].into_iter().collect(),
            words,
            publishers,
        );
        assert_eq!(l.unvouched_depth_at((3, 1), Some(49)), 2);
        assert_eq!(l.unattested_depth_at((6, 1), Some(49)), 2);
        assert_eq!(
            l.unvouched_depth_at((6, 1), Some(49)),
            1,
            "q's 4@1 is not p's own, and q has a record"
        );
        assert_eq!(
            l.unvouched_depth_at((6, 1), Some(9)),
            2,
            "before q's record (one version attested, 10@1 at 8), q's 4@1 counts"
        );
        assert_eq!(l.unvouched_depth_at((9, 1), Some(49)), 1, "r has no record");
        // once 1@1 is attested, 3@1 stands on one unattested version of p's
        assert_eq!(l.unvouched_depth_at((3, 1), Some(50)), 1);
        assert_eq!(l.unvouched_depth_at((99, 1), None), 0, "unknown version");
    }
}
