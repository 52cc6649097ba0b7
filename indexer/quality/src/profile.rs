//! A version's profile: rows, and per column its type, nulls, distinct values and, for
//! numbers, range, mean and standard deviation; plus how many rows repeat another entirely.

use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::QualityError;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub rows: u64,
    /// Rows that are an exact copy of an earlier row.
    pub duplicate_rows: u64,
    pub columns: Vec<ColumnProfile>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnProfile {
    pub name: String,
    /// The polars type the file reads as (`i64`, `f64`, `str`, …).
    pub dtype: String,
    pub nulls: u64,
    pub distinct: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
}

/// The values of a numeric column as f64 (`None` for other types).
pub(crate) fn numbers(c: &Column) -> Result<Option<Float64Chunked>, QualityError> {
    if !c.dtype().is_primitive_numeric() {
        return Ok(None);
    }
    let cast = c
        .cast(&DataType::Float64)
        .map_err(|e| QualityError::compute(format!("column {:?} as numbers", c.name()), e))?;
    let ca = cast
        .as_materialized_series()
        .f64()
        .map_err(|e| QualityError::compute(format!("column {:?} as numbers", c.name()), e))?
        .clone();
    Ok(Some(ca))
}

/// The values of any column as text.
pub(crate) fn text(c: &Column) -> Result<StringChunked, QualityError> {
    let what = || format!("column {:?} as text", c.name());
    let cast = c
        .cast(&DataType::String)
        .map_err(|e| QualityError::compute(what(), e))?;
    let ca = cast
        .as_materialized_series()
        .str()
        .map_err(|e| QualityError::compute(what(), e))?
        .clone();
    Ok(ca)
}

pub fn profile(df: &DataFrame) -> Result<Profile, QualityError> {
    let mut columns = Vec::with_capacity(df.width());
    for c in df.columns() {
        let distinct = c
            .n_unique()
            .map_err(|e| QualityError::compute(format!("distinct values of {:?}", c.name()), e))?;
        let (min, max, mean, std) = match numbers(c)? {
            Some(ca) => (ca.min(), ca.max(), ca.mean(), ca.std(1)),
            None => (None, None, None, None),
        };
        columns.push(ColumnProfile {
            name: c.name().to_string(),
            dtype: c.dtype().to_string(),
            nulls: c.null_count() as u64,
            distinct: distinct as u64,
            min,
            max,
            mean,
            std,
        });
    }
    let duplicate_rows = if df.width() == 0 || df.height() == 0 {
        0
    } else {
        repeats(df)?
    };
    Ok(Profile {
        rows: df.height() as u64,
        duplicate_rows,
        columns,
    })
}

/// The profile of the file at `path`: a CSV read in chunks (memory flat in its size,
/// [`crate::stream`]), a Parquet file whole.
pub fn profile_file(path: &Path) -> Result<Profile, QualityError> {
    use datapact_plane::table::{check_text, format_of, Format};
    match format_of(path) {
        Format::Csv => {
            check_text(path).map_err(|reason| {
                QualityError::from(datapact_plane::PlaneError::Table {
                    path: path.display().to_string(),
                    reason,
                })
            })?;
            crate::stream::profile_csv(path, &crate::stream::StreamOptions::default())
        }
        Format::Parquet => profile(&datapact_plane::table::read(path)?),
    }
}

/// Rows that repeat an earlier row of `df` (the first of each group is not counted): the rows
/// less the groups of equal rows (a group-by, without copying the table).
pub(crate) fn repeats(df: &DataFrame) -> Result<u64, QualityError> {
    let groups = df
        .group_by(df.get_column_names_owned())
        .map(|g| g.get_groups().len())
        .map_err(|e| QualityError::compute("duplicate rows", e))?;
    Ok(df.height().saturating_sub(groups) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_counts_rows_nulls_distincts_repeats_and_numeric_ranges() {
        let df = df!(
            "id" => [1i64, 2, 3, 3],
            "city" => [Some("Oslo"), None, Some("Lyon"), Some("Lyon")],
            "fare" => [1.5f64, 2.5, 4.0, 4.0],
        )
        .unwrap();
        let p = profile(&df).unwrap();
        assert_eq!((p.rows, p.duplicate_rows), (4, 1));
        let city = &p.columns[1];
        assert_eq!((city.nulls, city.distinct, city.min), (1, 3, None));
        let fare = &p.columns[2];
        assert_eq!((fare.min, fare.max), (Some(1.5), Some(4.0)));
        assert_eq!(fare.mean, Some(3.0));
        assert_eq!(p.columns[0].dtype, "i64");
    }
}
