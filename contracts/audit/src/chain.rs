//! The hash chain: each entry's hash commits to the previous hash and to everything the entry
//! records, so rewriting any entry breaks every hash after it.

use cosmwasm_std::{to_json_vec, Addr, HexBinary, StdResult, Storage, Timestamp};
use sha2::{Digest, Sha256};

use crate::state::{EntryBody, LogEntry, ENTRIES};
use datapact_types::EntrySeq;

/// Hash of the (absent) entry before the first one.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

/// What an entry's hash covers, in a fixed field order.
#[derive(serde::Serialize)]
struct Preimage<'a> {
    seq: EntrySeq,
    actor: &'a Addr,
    height: u64,
    time: Timestamp,
    body: &'a EntryBody,
}

/// sha256(prev_hash || canonical JSON of the entry's fields).
pub fn entry_hash(
    prev_hash: &[u8],
    seq: EntrySeq,
    actor: &Addr,
    height: u64,
    time: Timestamp,
    body: &EntryBody,
) -> StdResult<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(to_json_vec(&Preimage {
        seq,
        actor,
        height,
        time,
        body,
    })?);
    Ok(h.finalize().into())
}

/// Whether `entry` is intact and follows `prev_hash`.
pub fn entry_is_valid(entry: &LogEntry, prev_hash: &[u8]) -> StdResult<bool> {
    Ok(entry.prev_hash.as_slice() == prev_hash
        && entry.hash.as_slice()
            == entry_hash(
                prev_hash,
                entry.seq,
                &entry.actor,
                entry.height,
                entry.time,
                &entry.body,
            )?
            .as_slice())
}

/// The newest entry's sequence number and hash (0 and the genesis hash when empty).
pub fn head(store: &dyn Storage) -> StdResult<(EntrySeq, HexBinary)> {
    Ok(
        match ENTRIES
            .range(store, None, None, cosmwasm_std::Order::Descending)
            .next()
            .transpose()?
        {
            Some((seq, e)) => (seq, e.hash),
            None => (0, HexBinary::from(GENESIS_HASH.to_vec())),
        },
    )
}

/// Appends an entry after the head and returns it.
pub fn append(
    store: &mut dyn Storage,
    actor: &Addr,
    height: u64,
    time: Timestamp,
    body: EntryBody,
) -> StdResult<LogEntry> {
    let (last, prev_hash) = head(store)?;
    let seq = last + 1;
    let hash = entry_hash(&prev_hash, seq, actor, height, time, &body)?;
    let entry = LogEntry {
        seq,
        actor: actor.clone(),
        height,
        time,
        body,
        prev_hash,
        hash: HexBinary::from(hash.to_vec()),
    };
    ENTRIES.save(store, seq, &entry)?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmwasm_std::testing::MockStorage;
    use datapact_types::Severity;

    fn body(t: Severity) -> EntryBody {
        EntryBody::PolicyUpdated {
            suspend_threshold: t,
        }
    }

    #[test]
    fn appended_entries_link_and_verify() {
        let mut s = MockStorage::new();
        let a = Addr::unchecked("admin");
        let e1 = append(
            &mut s,
            &a,
            1,
            Timestamp::from_seconds(1),
            body(Severity::High),
        )
        .unwrap();
        let e2 = append(
            &mut s,
            &a,
            2,
            Timestamp::from_seconds(2),
            body(Severity::Low),
        )
        .unwrap();
        assert_eq!(e1.prev_hash.as_slice(), GENESIS_HASH);
        assert_eq!(e2.prev_hash, e1.hash);
        assert!(entry_is_valid(&e1, &GENESIS_HASH).unwrap());
        assert!(entry_is_valid(&e2, e1.hash.as_slice()).unwrap());
        assert_eq!(head(&s).unwrap(), (2, e2.hash.clone()));
    }

    #[test]
    fn tampering_with_any_field_breaks_the_hash() {
        let mut s = MockStorage::new();
        let a = Addr::unchecked("admin");
        let e = append(
            &mut s,
            &a,
            1,
            Timestamp::from_seconds(1),
            body(Severity::High),
        )
        .unwrap();
        let mut t = e.clone();
        t.body = body(Severity::Critical);
        assert!(!entry_is_valid(&t, &GENESIS_HASH).unwrap());
        let mut t = e.clone();
        t.height = 2;
        assert!(!entry_is_valid(&t, &GENESIS_HASH).unwrap());
        let mut t = e;
        t.actor = Addr::unchecked("mallory");
        assert!(!entry_is_valid(&t, &GENESIS_HASH).unwrap());
    }
}
