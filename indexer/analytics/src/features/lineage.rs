//! Unattested ancestry: which versions' lineage holds ancestors nobody attested.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{i64_col, str_col};
use crate::load::Data;

/// Versions whose lineage holds an ancestor nobody attested, with the longest run of
/// unattested ancestors (plain Rust: the registry tables are small).
pub struct Lineage {
    /// (asset, version) -> parents
    pub parents: HashMap<(i64, i64), Vec<(i64, i64)>>,
    /// versions with at least one attestation that was not revoked
    pub attested: BTreeSet<(i64, i64)>,
}

impl Lineage {
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
        let mut last: BTreeMap<(i64, i64, &str), bool> = BTreeMap::new();
        for i in 0..asset.len() {
            last.insert((asset[i], version[i], attestor[i].as_str()), !revoked[i]);
        }
        let attested = last
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|((a, v, _), _)| (a, v))
            .collect();
        Ok(Self { parents, attested })
    }

    /// The longest chain of unattested ancestors above `v` (0: every ancestor is attested).
    pub fn unattested_depth(&self, v: (i64, i64)) -> i64 {
        let mut memo = HashMap::new();
        self.depth(v, &mut memo, 0)
    }

    fn depth(&self, v: (i64, i64), memo: &mut HashMap<(i64, i64), i64>, guard: usize) -> i64 {
        if let Some(d) = memo.get(&v) {
            return *d;
        }
        if guard > 64 {
            return 0;
        }
        let d = self
            .parents
            .get(&v)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let above = self.depth(*p, memo, guard + 1);
                        if self.attested.contains(p) {
                            0
                        } else {
                            1 + above
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
        let l = Lineage { parents, attested };
        assert_eq!(l.unattested_depth((3, 1)), 2);
        assert_eq!(l.unattested_depth((2, 1)), 1);
        assert_eq!(l.unattested_depth((1, 1)), 0);
        assert_eq!(l.unattested_depth((5, 1)), 0);
    }
}
