//! The rules a provider declares for an asset, as JSON:
//!
//! ```json
//! {
//!   "key": ["trip_id"],
//!   "columns": {
//!     "trip_id": {"type": "integer", "not_null": true},
//!     "fare":    {"type": "number", "min": 0, "max": 500},
//!     "city":    {"type": "string", "allowed": ["Oslo", "Lyon", "Turin"]},
//!     "rider":   {"unique": true}
//!   },
//!   "freshness": {"column": "started_at", "max_age_days": 30}
//! }
//! ```
//!
//! Freshness: the newest value of the column (RFC 3339 timestamps or `YYYY-MM-DD` dates) is at
//! most `max_age_days` old when the check runs.
//!
//! Types: `integer`, `number` (integers or decimals), `string`, `boolean`. A column the rules
//! name must exist; columns they do not name are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::profile::{numbers, repeats, text};
use crate::{checks, Discrepancy, QualityError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Columns whose values together identify a row: no two rows may share them.
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRule>,
    pub freshness: Option<Freshness>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    pub column: String,
    pub max_age_days: f64,
}

/// Seconds since the epoch of an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC).
fn instant(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// The freshness rule against `now` (seconds since the epoch).
fn fresh(df: &DataFrame, f: &Freshness, now: i64) -> Result<Option<Discrepancy>, QualityError> {
    let Ok(c) = df.column(&f.column) else {
        return Ok(Some(found(
            checks::MISSING_COLUMN,
            &f.column,
            None,
            format!(
                "the freshness rule names column {:?}, which the file does not have",
                f.column
            ),
        )));
    };
    let s = text(c)?;
    let (mut newest, mut unreadable) = (None::<i64>, 0u64);
    for v in s.into_iter().flatten() {
        match instant(v) {
            Some(t) => newest = Some(newest.map_or(t, |n| n.max(t))),
            None => unreadable += 1,
        }
    }
    let max_age = (f.max_age_days * 86_400.0) as i64;
    Ok(match newest {
        None => Some(found(
            checks::STALE,
            &f.column,
            Some(unreadable),
            "no value is a date (YYYY-MM-DD) or an RFC 3339 timestamp".into(),
        )),
        Some(t) if now - t > max_age => Some(found(
            checks::STALE,
            &f.column,
            None,
            format!(
                "the newest value is {:.1} days old (limit {} days)",
                (now - t) as f64 / 86_400.0,
                f.max_age_days
            ),
        )),
        Some(_) => None,
    })
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    #[serde(rename = "type")]
    pub kind: Option<Kind>,
    #[serde(default)]
    pub not_null: bool,
    #[serde(default)]
    pub unique: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub allowed: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Integer,
    Number,
    String,
    Boolean,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Boolean => "boolean",
        }
    }

    fn admits(self, dtype: &DataType) -> bool {
        match self {
            Kind::Integer => dtype.is_integer(),
            Kind::Number => dtype.is_primitive_numeric(),
            Kind::String => dtype.is_string(),
            Kind::Boolean => dtype.is_bool(),
        }
    }

    /// The type a column of this kind is cast to, to count the values that are not of it.
    fn target(self) -> Option<DataType> {
        match self {
            Kind::Integer => Some(DataType::Int64),
            Kind::Number => Some(DataType::Float64),
            Kind::Boolean => Some(DataType::Boolean),
            Kind::String => None,
        }
    }
}

impl Rules {
    /// Reads a rules file, saying what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, QualityError> {
        let err = |reason: String| QualityError::Rules {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "{e} (see docs/quality.md for the format: key, columns with type, not_null, unique, min, max, allowed)"
            ))
        })
    }
}

fn found(check: &'static str, column: &str, count: Option<u64>, detail: String) -> Discrepancy {
    Discrepancy {
        check,
        column: Some(column.to_string()),
        count,
        detail,
    }
}

/// A few examples of the values of `c` where `mask` holds.
fn examples(c: &Column, mask: &BooleanChunked) -> String {
    let picked = c
        .as_materialized_series()
        .filter(mask)
        .ok()
        .map(|s| s.head(Some(3)));
    match picked {
        Some(s) => {
            let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            v.join(", ")
        }
        None => String::new(),
    }
}

/// The discrepancy `check` of column `c` where `mask` holds, if it holds anywhere: `say` gets
/// the count and a few examples.
fn flagged(
    check: &'static str,
    c: &Column,
    mask: &BooleanChunked,
    say: impl FnOnce(u64, String) -> String,
) -> Option<Discrepancy> {
    let n = mask.sum().unwrap_or(0) as u64;
    (n > 0).then(|| found(check, c.name().as_str(), Some(n), say(n, examples(c, mask))))
}

/// Every rule `df` breaks.
pub fn check(df: &DataFrame, rules: &Rules) -> Result<Vec<Discrepancy>, QualityError> {
    let mut out = Vec::new();
    let present: BTreeSet<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let names = |cols: &[String]| cols.join(", ");
    for (name, rule) in &rules.columns {
        let Ok(c) = df.column(name) else {
            out.push(found(
                checks::MISSING_COLUMN,
                name,
                None,
                format!(
                    "the rules name column {name:?}, the file has {}",
                    names(&present.iter().cloned().collect::<Vec<_>>())
                ),
            ));
            continue;
        };
        let compute =
            |what: &str, e: PolarsError| QualityError::compute(format!("{what} of {name:?}"), e);
        if let Some(kind) = rule.kind {
            if !kind.admits(c.dtype()) {
                // how many values are not of the kind: those a lenient cast turns into nulls
                let bad = match kind.target() {
                    Some(t) => {
                        // a plain cast is lenient: what does not convert becomes null
                        let cast = c.cast(&t).map_err(|e| compute("casting", e))?;
                        let mask = &cast.is_null() & &c.is_not_null();
                        let n = mask.sum().unwrap_or(0) as u64;
                        (n, examples(c, &mask))
                    }
                    None => (c.len() as u64 - c.null_count() as u64, String::new()),
                };
                out.push(found(
                    checks::TYPE,
                    name,
                    Some(bad.0),
                    format!(
                        "expected {}, the column reads as {}: {} value(s) are not {}{}",
                        kind.name(),
                        c.dtype(),
                        bad.0,
                        kind.name(),
                        if bad.1.is_empty() {
                            String::new()
                        } else {
                            format!(" (e.g. {})", bad.1)
                        }
                    ),
                ));
            }
        }
        if rule.not_null && c.null_count() > 0 {
            out.push(found(
                checks::NOT_NULL,
                name,
                Some(c.null_count() as u64),
                format!("{} empty value(s) where none may be", c.null_count()),
            ));
        }
        if rule.min.is_some() || rule.max.is_some() {
            if let Some(ca) = numbers(c)? {
                let (lo, hi) = (
                    rule.min.unwrap_or(f64::NEG_INFINITY),
                    rule.max.unwrap_or(f64::INFINITY),
                );
                let mask: BooleanChunked = ca
                    .into_iter()
                    .map(|v| Some(v.is_some_and(|v| v < lo || v > hi || v.is_nan())))
                    .collect();
                out.extend(flagged(checks::RANGE, c, &mask, |n, eg| {
                    format!(
                        "{n} value(s) outside [{}, {}] (e.g. {eg})",
                        rule.min.map_or("-inf".into(), |v| v.to_string()),
                        rule.max.map_or("inf".into(), |v| v.to_string()),
                    )
                }));
            }
        }
        if let Some(allowed) = &rule.allowed {
            let set: BTreeSet<&str> = allowed.iter().map(String::as_str).collect();
            let mask: BooleanChunked = text(c)?
                .into_iter()
                .map(|v| Some(v.is_some_and(|v| !set.contains(v))))
                .collect();
            out.extend(flagged(checks::ALLOWED, c, &mask, |n, eg| {
                format!(
                    "{n} value(s) not among the {} allowed (e.g. {eg})",
                    allowed.len()
                )
            }));
        }
        if rule.unique {
            let one = df
                .select([name.as_str()])
                .map_err(|e| compute("selecting", e))?;
            let n = repeats(&one)?;
            if n > 0 {
                out.push(found(
                    checks::UNIQUE,
                    name,
                    Some(n),
                    format!("{n} value(s) repeat an earlier row's"),
                ));
            }
        }
    }
    if let Some(f) = &rules.freshness {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        out.extend(fresh(df, f, now)?);
    }
    if !rules.key.is_empty() {
        let missing: Vec<&String> = rules.key.iter().filter(|k| !present.contains(*k)).collect();
        if missing.is_empty() {
            let keyed = df
                .select(rules.key.iter().map(String::as_str))
                .map_err(|e| QualityError::compute("the key", e))?;
            let n = repeats(&keyed)?;
            if n > 0 {
                out.push(Discrepancy {
                    check: checks::DUPLICATE_KEY,
                    column: Some(names(&rules.key)),
                    count: Some(n),
                    detail: format!(
                        "{n} row(s) repeat the key ({}) of an earlier row",
                        names(&rules.key)
                    ),
                });
            }
        } else {
            for k in missing {
                out.push(found(
                    checks::MISSING_COLUMN,
                    k,
                    None,
                    format!("the key names column {k:?}, which the file does not have"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Rules {
        serde_json::from_str(json).unwrap()
    }

    fn named(d: &[Discrepancy]) -> Vec<(&'static str, Option<&str>, Option<u64>)> {
        d.iter()
            .map(|x| (x.check, x.column.as_deref(), x.count))
            .collect()
    }

    #[test]
    fn a_clean_table_breaks_no_rule() {
        let df = df!("id" => [1i64, 2, 3], "fare" => [1.0f64, 2.0, 3.0], "city" => ["Oslo", "Lyon", "Oslo"]).unwrap();
        let r = rules(
            r#"{"key": ["id"], "columns": {"id": {"type": "integer", "not_null": true, "unique": true}, "fare": {"type": "number", "min": 0, "max": 10}, "city": {"type": "string", "allowed": ["Oslo", "Lyon"]}}}"#,
        );
        assert_eq!(check(&df, &r).unwrap(), vec![]);
    }

    #[test]
    fn each_broken_rule_is_named_by_check_and_column_with_a_count() {
        let df = df!(
            "id" => [1i64, 2, 2, 4],
            "fare" => [Some("1.5"), Some("abc"), None, Some("2")],
            "km" => [1.0f64, -3.0, 500.0, 2.0],
            "city" => ["Oslo", "Paris", "Oslo", "Rome"],
        )
        .unwrap();
        let r = rules(
            r#"{"key": ["id"], "columns": {"fare": {"type": "number", "not_null": true}, "km": {"min": 0, "max": 100}, "city": {"allowed": ["Oslo", "Lyon"]}, "rider": {}}}"#,
        );
        let got = check(&df, &r).unwrap();
        assert_eq!(
            named(&got),
            vec![
                ("allowed_values", Some("city"), Some(2)),
                ("type", Some("fare"), Some(1)),
                ("not_null", Some("fare"), Some(1)),
                ("range", Some("km"), Some(2)),
                ("missing_column", Some("rider"), None),
                ("duplicate_key", Some("id"), Some(1)),
            ]
        );
        let ty = got.iter().find(|d| d.check == "type").unwrap();
        assert!(
            ty.detail.contains("abc") && ty.detail.contains("reads as str"),
            "{}",
            ty.detail
        );
        let range = got.iter().find(|d| d.check == "range").unwrap();
        assert!(
            range.detail.contains("-3") && range.detail.contains("500"),
            "{}",
            range.detail
        );
    }

    #[test]
    fn the_newest_date_must_be_within_the_freshness_limit() {
        let df = df!("at" => ["2026-11-20", "2026-11-28T10:00:00Z", "soon"]).unwrap();
        let rule = Freshness {
            column: "at".into(),
            max_age_days: 5.0,
        };
        let day = 86_400;
        let nov_30 = instant("2026-11-30").unwrap();
        assert_eq!(fresh(&df, &rule, nov_30).unwrap(), None, "1.6 days old");
        let stale = fresh(&df, &rule, nov_30 + 10 * day).unwrap().unwrap();
        assert_eq!(stale.check, "stale");
        assert!(stale.detail.contains("11.6 days old"), "{}", stale.detail);
        let none = df!("at" => ["soon", "later"]).unwrap();
        assert_eq!(fresh(&none, &rule, nov_30).unwrap().unwrap().count, Some(2));
    }

    #[test]
    fn a_rules_file_with_an_unknown_field_says_where_the_format_is() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, r#"{"columns": {"a": {"minimum": 0}}}"#).unwrap();
        let e = Rules::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("minimum") && e.contains("docs/quality.md"),
            "{e}"
        );
    }
}
