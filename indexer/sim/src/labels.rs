//! Ground truth: the kinds of injected misbehaviour, written once, and the labels file both
//! the on-chain workload and the synthetic histories write (JSON lines).

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The kinds of injected misbehaviour.
pub mod kind {
    /// An exfiltration-like burst: many times the consumer's usual access volume.
    pub const ACCESS_BURST: &str = "access_burst";
    /// Purposes its agreements do not permit, tried one after another.
    pub const PURPOSE_HOPPING: &str = "purpose_hopping";
    /// Accesses recorded for a subject after the subject withdrew consent.
    pub const ACCESS_AFTER_WITHDRAWAL: &str = "access_after_withdrawal";
    /// Accesses attempted on an agreement its provider suspended.
    pub const ACCESS_AFTER_SUSPENSION: &str = "access_after_suspension";
    /// A flood of attempts that are all refused.
    pub const DENIED_FLOOD: &str = "denied_flood";
    /// Derived versions published over unattested parents, then attested.
    pub const PROVENANCE_LAUNDERING: &str = "provenance_laundering";
}

/// Every kind, in report order.
pub const KINDS: [&str; 6] = [
    kind::ACCESS_BURST,
    kind::PURPOSE_HOPPING,
    kind::ACCESS_AFTER_WITHDRAWAL,
    kind::ACCESS_AFTER_SUSPENSION,
    kind::DENIED_FLOOD,
    kind::PROVENANCE_LAUNDERING,
];

/// The role a kind of misbehaviour is committed in.
pub fn role_of(kind: &str) -> &'static str {
    if kind == kind::PROVENANCE_LAUNDERING {
        "provider"
    } else {
        "consumer"
    }
}

/// Ground truth for one injected misbehaviour.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Label {
    pub kind: String,
    /// the misbehaving account (consumer or provider address)
    pub actor: String,
    /// what it touched: `agreement:7`, `asset:3@2`, `subject:wasm1…`
    pub targets: Vec<String>,
    pub seed: u64,
    pub first_height: Option<u64>,
    pub last_height: Option<u64>,
    pub txs: Vec<String>,
    pub description: String,
    /// the variant of the generator that injected it (`datapact-sim synth --variants`); none: the
    /// base generator's own instance of the kind
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Label {
    /// A label of `kind` for `actor`, before any of its transactions.
    pub fn new(
        kind: &str,
        actor: String,
        targets: Vec<String>,
        seed: u64,
        description: &str,
    ) -> Self {
        Label {
            kind: kind.to_string(),
            actor,
            targets,
            seed,
            first_height: None,
            last_height: None,
            txs: Vec::new(),
            description: description.to_string(),
            variant: None,
        }
    }

    /// Names `target` among what the label touched, once.
    pub fn name(&mut self, target: String) {
        if !self.targets.contains(&target) {
            self.targets.push(target);
        }
    }

    /// Widens the label's height range to cover `height`.
    pub fn touch(&mut self, height: u64) {
        self.first_height = Some(self.first_height.map_or(height, |h| h.min(height)));
        self.last_height = Some(self.last_height.map_or(height, |h| h.max(height)));
    }
}

/// Writes labels as JSON lines.
pub fn write(path: &Path, labels: &[Label]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = String::new();
    for l in labels {
        text.push_str(&serde_json::to_string(l)?);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a labels file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Label>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the labels {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("{}: bad label", path.display())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_names_each_target_once_in_the_order_first_named() {
        let mut l = Label::new(kind::PURPOSE_HOPPING, "c".into(), Vec::new(), 1, "hops");
        for t in ["agreement:2", "agreement:1", "agreement:2"] {
            l.name(t.to_string());
        }
        assert_eq!(l.targets, ["agreement:2", "agreement:1"]);
    }
}
