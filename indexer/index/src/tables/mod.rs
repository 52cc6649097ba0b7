//! The index's tables, one row struct each: the struct's fields are the table's columns, in
//! COPY order, written once. The decoder builds these rows from blocks, the synthetic
//! histories build the same rows from a model, and both reach Postgres through the one write
//! path ([`crate::write`]). The schema itself is in `migrations/`.
//!
//! Adding an attribute to an event is a field here, a line in the contract's decoder
//! (`decode/<contract>.rs`) and a column in a new migration.

use serde::Serialize;

use crate::copy::{CsvField, CsvLine};

/// A table the ingester writes.
pub trait Table {
    /// The table's name in Postgres.
    const NAME: &'static str;
    /// Its columns, in the order [`Table::write_row`] writes them.
    const COLUMNS: &'static [&'static str];
    /// Appends the row as one COPY line.
    fn write_row(&self, line: &mut CsvLine<'_>);
    /// Moves the row to other heights and ids (to replay a history elsewhere; benchmarks).
    fn rebase(&mut self, by: Rebase);
}

/// Where an event sits in the chain: every event-derived row starts with these three columns
/// (`tx_index` is -1 for begin/end-block events).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub height: i64,
    pub tx_index: i32,
    pub event_index: i32,
}

impl CsvField for Pos {
    fn write(&self, line: &mut CsvLine<'_>) {
        line.field(&self.height)
            .field(&self.tx_index)
            .field(&self.event_index);
    }
}

/// How far [`Table::rebase`] moves a row: heights by `heights`, every id column (`*_id`,
/// `*_asset`, `alert_seq`) by `ids`, so a replayed history keeps every unique key unique.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rebase {
    pub heights: i64,
    pub ids: i64,
}

/// A column value that [`Table::rebase`] may move.
pub trait Rebased {
    fn rebase(&mut self, column: &str, by: Rebase);
}

fn is_id_column(column: &str) -> bool {
    column.ends_with("_id") || column.ends_with("_asset") || column == "alert_seq"
}

impl Rebased for i64 {
    fn rebase(&mut self, column: &str, by: Rebase) {
        if column == "height" {
            *self += by.heights;
        } else if is_id_column(column) {
            *self += by.ids;
        }
    }
}

impl Rebased for Option<i64> {
    fn rebase(&mut self, column: &str, by: Rebase) {
        if let Some(v) = self {
            v.rebase(column, by);
        }
    }
}

impl Rebased for Pos {
    fn rebase(&mut self, _column: &str, by: Rebase) {
        self.height += by.heights;
    }
}

macro_rules! unmoved {
    ($($t:ty),*) => {$(
        impl Rebased for $t {
            fn rebase(&mut self, _column: &str, _by: Rebase) {}
        }
    )*};
}
unmoved!(
    i32,
    f64,
    Option<f64>,
    bool,
    Option<bool>,
    String,
    Option<String>,
    crate::copy::PgArray,
    crate::copy::JsonText,
    crate::copy::UnixTime,
    Option<crate::copy::UnixTime>,
    Option<crate::copy::JsonText>,
    datapact_types::agreements::Refusal
);

/// Declares a table's row struct; `at` tables start with the event's [`Pos`]. Every layer that
/// bulk-loads a table of its own declares its rows with this.
#[macro_export]
macro_rules! table {
    (
        $(#[$meta:meta])*
        $table:literal => $name:ident at {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct $name {
            /// Where the event sits: height, tx_index, event_index.
            pub at: $crate::tables::Pos,
            $( $(#[$fmeta])* pub $field: $ty ),+
        }

        impl $crate::tables::Table for $name {
            const NAME: &'static str = $table;
            const COLUMNS: &'static [&'static str] =
                &["height", "tx_index", "event_index", $(stringify!($field)),+];
            fn write_row(&self, line: &mut $crate::copy::CsvLine<'_>) {
                line.field(&self.at);
                $( line.field(&self.$field); )+
            }
            fn rebase(&mut self, by: $crate::tables::Rebase) {
                $crate::tables::Rebased::rebase(&mut self.at, "at", by);
                $( $crate::tables::Rebased::rebase(&mut self.$field, stringify!($field), by); )+
            }
        }
    };
    (
        $(#[$meta:meta])*
        $table:literal => $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),+
        }

        impl $crate::tables::Table for $name {
            const NAME: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            fn write_row(&self, line: &mut $crate::copy::CsvLine<'_>) {
                $( line.field(&self.$field); )+
            }
            fn rebase(&mut self, by: $crate::tables::Rebase) {
                $( $crate::tables::Rebased::rebase(&mut self.$field, stringify!($field), by); )+
            }
        }
    };
}

pub mod agreements;
pub mod audit;
pub mod chain;
pub mod consent;
pub mod registry;

pub use agreements::{
    Access, Agreement, AgreementChange, ConsumerSuspension, DeniedAttempt, Offer,
};
pub use audit::{Alert, AuditChange};
pub use chain::{Block, Event, Quarantined, Tx};
pub use consent::{Consent, ConsentWithdrawal};
pub use registry::{Asset, AssetChange, Attestation, LineageEdge, Version};

/// One table's rows as COPY CSV.
pub struct CsvTable {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub rows: usize,
    pub csv: String,
}

fn csv_table<T: Table>(rows: &[T]) -> CsvTable {
    let mut csv = String::with_capacity(rows.len() * 96);
    for r in rows {
        let mut line = CsvLine::new(&mut csv);
        r.write_row(&mut line);
        line.end();
    }
    CsvTable {
        name: T::NAME,
        columns: T::COLUMNS,
        rows: rows.len(),
        csv,
    }
}

macro_rules! rows {
    ($( $(#[$fmeta:meta])* $field:ident : $ty:ty ),+ $(,)?) => {
        /// Every row a block (or a batch of blocks) yields, one list per table.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct Rows {
            $( $(#[$fmeta])* pub $field: Vec<$ty> ),+
        }

        impl Rows {
            /// Appends another batch's rows.
            pub fn extend(&mut self, other: Rows) {
                $( self.$field.extend(other.$field); )+
            }

            /// Rows in all tables.
            pub fn count(&self) -> usize {
                0 $( + self.$field.len() )+
            }

            /// Every table's rows as COPY CSV, in [`TABLES`] order.
            pub fn csv_tables(&self) -> Vec<CsvTable> {
                vec![$( csv_table(&self.$field) ),+]
            }

            /// Moves every row to other heights and ids (see [`Rebase`]).
            pub fn rebase(&mut self, by: Rebase) {
                $( self.$field.iter_mut().for_each(|r| r.rebase(by)); )+
            }
        }

        /// Every table the ingester writes, with its columns.
        pub const TABLES: &[(&str, &[&str])] = &[$( (<$ty as Table>::NAME, <$ty as Table>::COLUMNS) ),+];

        #[cfg(test)]
        const FIELD_NAMES: &[&str] = &[$(stringify!($field)),+];
    };
}

rows! {
    blocks: Block,
    txs: Tx,
    events: Event,
    quarantine: Quarantined,
    assets: Asset,
    asset_changes: AssetChange,
    versions: Version,
    lineage_edges: LineageEdge,
    attestations: Attestation,
    consents: Consent,
    consent_withdrawals: ConsentWithdrawal,
    offers: Offer,
    agreements: Agreement,
    agreement_changes: AgreementChange,
    accesses: Access,
    denied_attempts: DeniedAttempt,
    consumer_suspensions: ConsumerSuspension,
    alerts: Alert,
    audit_changes: AuditChange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rows_field_is_named_after_its_table_and_every_table_starts_with_height() {
        assert_eq!(FIELD_NAMES.len(), TABLES.len());
        for (field, (table, columns)) in FIELD_NAMES.iter().zip(TABLES) {
            assert_eq!(field, table);
            assert_eq!(columns[0], "height", "{table}");
        }
    }

    #[test]
    fn the_migrations_create_every_column_the_rows_write() {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
        let sql: String = std::fs::read_dir(std::path::Path::new(&dir).join("migrations"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        for (table, columns) in TABLES {
            let start = sql
                .find(&format!("create table {table} ("))
                .unwrap_or_else(|| panic!("no create table {table}"));
            let body = &sql[start..start + sql[start..].find(");").unwrap_or(0)];
            for c in *columns {
                assert!(
                    body.contains(&format!("{c} "))
                        || sql.contains(&format!("alter table {table} add column {c} ")),
                    "{table}.{c} is not created by the migrations"
                );
            }
        }
    }

    #[test]
    fn a_rebase_moves_heights_and_ids_but_not_versions_or_counts() {
        let mut rows = Rows::default();
        rows.versions.push(Version {
            at: Pos {
                height: 10,
                tx_index: 0,
                event_index: 1,
            },
            asset_id: 3,
            version: 2,
            publisher: "p".into(),
            content_hash: "h".into(),
            schema_hash: None,
        });
        rows.rebase(Rebase {
            heights: 100,
            ids: 1000,
        });
        let v = &rows.versions[0];
        assert_eq!((v.at.height, v.asset_id, v.version), (110, 1003, 2));
    }
}
