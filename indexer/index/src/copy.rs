//! Rows into Postgres's `COPY ... FROM STDIN (FORMAT csv)`: how each kind of value is written,
//! and the one function that streams a table's CSV into a transaction.
//!
//! NULL is an unquoted empty field and every value is quoted, so `""` is an empty string and
//! never NULL. Every layer that bulk-loads a table (the ingester, the analytics store, the
//! synthetic histories) writes through this module.

use sqlx::PgConnection;

/// One line of CSV being written: fields are separated as they are added.
pub struct CsvLine<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> CsvLine<'a> {
    /// Starts a line at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        Self { out, first: true }
    }

    /// Appends one field.
    pub fn field<T: CsvField + ?Sized>(&mut self, v: &T) -> &mut Self {
        v.write(self);
        self
    }

    /// Appends NULL.
    pub fn null(&mut self) {
        self.sep();
    }

    /// Appends a quoted text value (a NUL, which Postgres text cannot hold, becomes U+FFFD).
    pub fn text(&mut self, v: &str) {
        self.sep();
        self.out.push('"');
        for ch in v.chars() {
            match ch {
                '"' => self.out.push_str("\"\""),
                '\0' => self.out.push('\u{FFFD}'),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    /// Appends a value that needs no quoting (numbers, booleans).
    pub fn bare(&mut self, v: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        self.sep();
        let _ = self.out.write_fmt(v);
    }

    /// Appends a field written by `f`, which must quote what needs quoting.
    pub fn raw(&mut self, f: impl FnOnce(&mut String)) {
        self.sep();
        f(self.out);
    }

    /// Ends the line.
    pub fn end(self) {
        self.out.push('\n');
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }
}

/// A value that can be a field (or, for [`crate::tables::Pos`], several fields) of a COPY line.
pub trait CsvField {
    fn write(&self, line: &mut CsvLine<'_>);
}

macro_rules! bare_field {
    ($($t:ty),*) => {$(
        impl CsvField for $t {
            fn write(&self, line: &mut CsvLine<'_>) {
                line.bare(format_args!("{self}"));
            }
        }
    )*};
}
bare_field!(i64, i32, u64, u32, bool, f64);

impl CsvField for str {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.text(self);
    }
}

impl CsvField for String {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.text(self);
    }
}

impl<T: CsvField> CsvField for Option<T> {
    fn write(&self, line: &mut CsvLine<'_>) {
        match self {
            Some(v) => v.write(line),
            None => line.null(),
        }
    }
}

impl CsvField for datapact_types::agreements::Refusal {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.text(self.as_str());
    }
}

/// A Postgres `text[]` value.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PgArray(pub Vec<String>);

impl PgArray {
    /// The array literal: every element quoted and escaped.
    pub fn literal(&self) -> String {
        pg_array(&self.0)
    }
}

impl CsvField for PgArray {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.text(&self.literal());
    }
}

/// Postgres array literal of text values (every element quoted and escaped).
pub fn pg_array<T: AsRef<str>>(items: &[T]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| {
            let i = i.as_ref();
            format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// A `timestamptz` given in unix seconds (how the contracts emit times).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct UnixTime(pub i64);

impl CsvField for UnixTime {
    fn write(&self, line: &mut CsvLine<'_>) {
        let t = time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        match t {
            Some(t) => line.text(&t),
            // beyond what Postgres can hold: the decoder never produces one
            None => line.null(),
        }
    }
}

/// A `jsonb` value, already serialized.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JsonText(pub String);

impl JsonText {
    /// `v` as jsonb text. Postgres's jsonb refuses the escape of a NUL character (`\u0000`),
    /// which chain data may hold: NULs become U+FFFD, so a hostile attribute cannot stop the
    /// ingester.
    pub fn of<T: serde::Serialize + ?Sized>(v: &T) -> Self {
        let mut value = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
        clean_json(&mut value);
        JsonText(value.to_string())
    }
}

/// Replaces NUL characters in every string and key of a JSON value.
fn clean_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                clean_json(&mut item);
                map.insert(k.replace('\0', "\u{FFFD}"), item);
            }
        }
        Value::Object(map) => map.values_mut().for_each(clean_json),
        _ => {}
    }
}

impl CsvField for JsonText {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.text(&self.0);
    }
}

/// A Postgres `double precision[]` value.
pub struct FloatArray<'a>(pub &'a [f64]);

impl CsvField for FloatArray<'_> {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.raw(|out| {
            use std::fmt::Write;
            out.push_str("\"{");
            for (j, v) in self.0.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{v}");
            }
            out.push_str("}\"");
        });
    }
}

/// The `COPY` statement for `columns` of `table`. Both come from compile-time lists.
pub fn copy_statement(table: &str, columns: &[&str]) -> String {
    format!(
        "copy {table} ({}) from stdin with (format csv)",
        columns.join(", ")
    )
}

/// Streams `csv` (lines as [`CsvLine`] writes them) into `table` inside `conn`'s transaction.
pub async fn copy_in(
    conn: &mut PgConnection,
    table: &str,
    columns: &[&str],
    csv: String,
) -> Result<(), sqlx::Error> {
    let mut copy = conn.copy_in_raw(&copy_statement(table, columns)).await?;
    if let Err(e) = copy.send(csv.into_bytes()).await {
        let _ = copy.abort("the rows could not be sent").await;
        return Err(e);
    }
    copy.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_keeps_null_apart_from_the_empty_string_and_escapes_quotes() {
        let mut out = String::new();
        let mut line = CsvLine::new(&mut out);
        line.field(&None::<String>)
            .field("")
            .field("a\"b,c\nd")
            .field(&7i64);
        line.end();
        assert_eq!(out, ",\"\",\"a\"\"b,c\nd\",7\n");
    }

    #[test]
    fn a_nul_character_never_reaches_postgres() {
        let mut out = String::new();
        let mut line = CsvLine::new(&mut out);
        line.field("a\0b");
        line.end();
        assert_eq!(out, "\"a\u{FFFD}b\"\n");
        let j = JsonText::of(&serde_json::json!({"k\0": ["x\0", {"y": "\0"}], "lit": "\\u0000"}));
        let back: serde_json::Value = serde_json::from_str(&j.0).unwrap();
        assert_eq!(back["k\u{FFFD}"][0], "x\u{FFFD}");
        assert_eq!(back["k\u{FFFD}"][1]["y"], "\u{FFFD}");
        assert_eq!(
            back["lit"], "\\u0000",
            "a literal backslash-u stays as it was"
        );
    }

    #[test]
    fn purposes_become_a_postgres_array() {
        assert_eq!(pg_array(&["a", "b\"c"]), "{\"a\",\"b\\\"c\"}");
        assert_eq!(PgArray(vec![]).literal(), "{}");
    }

    #[test]
    fn unix_seconds_become_an_rfc3339_timestamp() {
        let mut out = String::new();
        let mut line = CsvLine::new(&mut out);
        line.field(&UnixTime(86_400));
        line.end();
        assert_eq!(out, "\"1970-01-02T00:00:00Z\"\n");
    }
}
