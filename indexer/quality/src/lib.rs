//! Data quality of real files (CSV or Parquet, read with polars): a profile of the version,
//! the rules its provider declares for the asset, and drift against the parent version. Every
//! discrepancy is named by its check and column and says what was found; the file is only read.
//!
//! ```text
//! check(file, rules, parent) ─▶ Profile ─▶ rules::check ─▶ drift::check ─▶ Verdict { passed, discrepancies }
//! ```

pub mod drift;
pub mod profile;
pub mod rules;
pub mod stream;

use std::path::Path;

use serde::Serialize;

pub use drift::DriftLimits;
pub use profile::{ColumnProfile, Profile};
pub use rules::Rules;

/// What can stop a check from running at all (a failing check is a [`Verdict`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error(transparent)]
    Table(#[from] datapact_plane::PlaneError),
    #[error("the rules file {path}: {reason}")]
    Rules { path: String, reason: String },
    #[error("computing {what}: {reason}")]
    Compute { what: String, reason: String },
}

impl QualityError {
    pub(crate) fn compute(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        QualityError::Compute {
            what: what.into(),
            reason: e.to_string(),
        }
    }
}

/// One thing wrong with a file, named once: `check` is a stable name (see [`checks`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Discrepancy {
    pub check: &'static str,
    pub column: Option<String>,
    /// How many values (or rows) are affected, where that is countable.
    pub count: Option<u64>,
    pub detail: String,
}

/// The stable names of the checks, as reports and attestations carry them.
pub mod checks {
    pub const MISSING_COLUMN: &str = "missing_column";
    pub const TYPE: &str = "type";
    pub const NOT_NULL: &str = "not_null";
    pub const RANGE: &str = "range";
    pub const ALLOWED: &str = "allowed_values";
    pub const UNIQUE: &str = "unique";
    pub const DUPLICATE_KEY: &str = "duplicate_key";
    pub const STALE: &str = "stale";
    pub const DROPPED_COLUMN: &str = "dropped_column";
    pub const ADDED_COLUMN: &str = "added_column";
    pub const RETYPED_COLUMN: &str = "retyped_column";
    pub const ROW_COUNT_JUMP: &str = "row_count_jump";
    pub const DISTRIBUTION_SHIFT: &str = "distribution_shift";
}

/// The claim a quality checker attests on chain for a version whose file passed every check;
/// the evidence hash is the SHA-256 of the verdict's JSON report.
pub const PASSED_CLAIM: &str = datapact_types::claims::QUALITY_PASSED;

/// A file's quality: its profile and everything found wrong with it.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub discrepancies: Vec<Discrepancy>,
    pub profile: Profile,
}

/// Checks `file` against `rules` and, when given, for drift from `parent` (the previous
/// version's file). Added columns are reported but do not fail a check; everything else does.
pub fn check(
    file: &Path,
    rules: &Rules,
    parent: Option<&Path>,
    limits: &DriftLimits,
) -> Result<Verdict, QualityError> {
    // a profile alone streams (memory flat in the file's size); rules and drift read it whole
    if rules == &Rules::default() && parent.is_none() {
        return Ok(Verdict {
            passed: true,
            discrepancies: Vec::new(),
            profile: profile::profile_file(file)?,
        });
    }
    let df = datapact_plane::table::read(file)?;
    let profile = profile::profile(&df)?;
    let mut discrepancies = rules::check(&df, rules)?;
    if let Some(parent) = parent {
        let before = datapact_plane::table::read(parent)?;
        discrepancies.extend(drift::check(&before, &df, limits)?);
    }
    let passed = discrepancies
        .iter()
        .all(|d| d.check == checks::ADDED_COLUMN);
    Ok(Verdict {
        passed,
        discrepancies,
        profile,
    })
}
