//! Reading one contract event's attributes, each failure worded for the quarantine.

use datapact_chain::TxEvent;

/// Why a contract event could not be decoded (kept in the quarantine table).
#[derive(Debug, PartialEq, Eq)]
pub struct Undecodable(pub String);

/// The attributes of one of our contracts' `wasm` events.
pub struct EventAttrs<'a> {
    pub event: &'a TxEvent,
}

impl<'a> EventAttrs<'a> {
    /// A required attribute.
    pub fn text(&self, key: &str) -> Result<&'a str, Undecodable> {
        self.event
            .get(key)
            .ok_or_else(|| Undecodable(format!("missing attribute {key}")))
    }

    /// An attribute the event carries only sometimes.
    pub fn optional(&self, key: &str) -> Option<&'a str> {
        self.event.get(key)
    }

    /// A required number.
    pub fn number(&self, key: &str) -> Result<i64, Undecodable> {
        let v = self.text(key)?;
        v.parse::<u64>()
            .ok()
            .and_then(|n| i64::try_from(n).ok())
            .ok_or_else(|| Undecodable(format!("{key} = {v:?} is not a number")))
    }

    /// A required number that fits Postgres's `integer` (versions).
    pub fn small_number(&self, key: &str) -> Result<i32, Undecodable> {
        let v = self.text(key)?;
        v.parse::<u32>()
            .ok()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| Undecodable(format!("{key} = {v:?} is not a version number")))
    }

    /// A number the event carries only sometimes (present but malformed is an error).
    pub fn optional_number(&self, key: &str) -> Result<Option<i64>, Undecodable> {
        self.event.get(key).map(|_| self.number(key)).transpose()
    }

    /// A required `true`/`false`.
    pub fn flag(&self, key: &str) -> Result<bool, Undecodable> {
        match self.text(key)? {
            "true" => Ok(true),
            "false" => Ok(false),
            v => Err(Undecodable(format!("{key} = {v:?} is not true/false"))),
        }
    }

    /// A comma-separated list (empty: none).
    pub fn list(&self, key: &str) -> Result<Vec<String>, Undecodable> {
        let v = self.text(key)?;
        Ok(if v.is_empty() {
            vec![]
        } else {
            v.split(',').map(str::to_string).collect()
        })
    }

    /// The attributes as stored in `events.attrs`: `[[key, value], ...]`.
    pub fn json(&self) -> crate::copy::JsonText {
        attrs_json(self.event)
    }
}

/// An event's attributes as JSON, in order.
pub fn attrs_json(e: &TxEvent) -> crate::copy::JsonText {
    crate::copy::JsonText::of(&e.attributes)
}
