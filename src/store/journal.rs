//! The change journal: for each zone change, the serials it moves between,
//! the SOA before and after, and the exact RRs removed and added. IXFR is
//! served from it, NOTIFY is triggered by it. Entries are stored as
//! `from:u32 to:u32` followed by the record, so a scan for a client's serial
//! reads eight bytes per entry.

use super::StoreError;
use super::codec;
use super::record::{RrRecord, record};
use crate::model::Timestamp;
use crate::model::zone::Rr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub from_serial: u32,
    pub to_serial: u32,
    /// SOA RDATA and TTL before and after the change.
    pub old_soa: (u32, Vec<u8>),
    pub new_soa: (u32, Vec<u8>),
    pub removed: Vec<Rr>,
    pub added: Vec<Rr>,
    pub committed: Timestamp,
}

record!(JournalRecord of JournalEntry {
    from_serial: u32,
    to_serial: u32,
    old_soa: (u32, Vec<u8>),
    new_soa: (u32, Vec<u8>),
    removed: Vec<RrRecord>,
    added: Vec<RrRecord>,
    committed: Timestamp,
});

impl JournalEntry {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.from_serial.to_be_bytes());
        out.extend_from_slice(&self.to_serial.to_be_bytes());
        out.extend(codec::encode(self));
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let body = bytes.get(8..).ok_or_else(|| StoreError::Corrupt("journal entry".into()))?;
        codec::decode(body, "journal entry")
    }

    /// The serials of an encoded entry, without decoding it.
    pub fn serials(bytes: &[u8]) -> Result<(u32, u32), StoreError> {
        match bytes.get(..8) {
            Some(h) => Ok((u32::from_be_bytes([h[0], h[1], h[2], h[3]]), u32::from_be_bytes([h[4], h[5], h[6], h[7]]))),
            None => Err(StoreError::Corrupt("journal entry header".into())),
        }
    }
}

/// Journal key: TLD name, a zero byte, then the entry's sequence number.
pub fn key(tld: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(tld.len() + 9);
    k.extend_from_slice(tld.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// First key of a TLD's journal range and the key just past it.
pub fn range(tld: &str) -> (Vec<u8>, Vec<u8>) {
    let mut start = tld.as_bytes().to_vec();
    start.push(0);
    let mut end = tld.as_bytes().to_vec();
    end.push(1);
    (start, end)
}

pub fn seq_of(key: &[u8]) -> Result<u64, StoreError> {
    key.len()
        .checked_sub(8)
        .and_then(|at| key[at..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("journal key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_readable_without_decoding() {
        let e = JournalEntry {
            from_serial: 7,
            to_serial: 9,
            old_soa: (60, vec![1]),
            new_soa: (60, vec![2]),
            removed: vec![],
            added: vec![Rr { owner_key: b"example\0a\0".to_vec(), rtype: 2, ttl: 60, rdata: vec![0] }],
            committed: Timestamp(5),
        };
        let bytes = e.encode();
        assert_eq!(JournalEntry::serials(&bytes).unwrap(), (7, 9));
        assert_eq!(JournalEntry::decode(&bytes).unwrap(), e);
        let k = key("example", 3);
        assert_eq!(seq_of(&k).unwrap(), 3);
        let (start, end) = range("example");
        assert!(start.as_slice() <= k.as_slice() && k.as_slice() < end.as_slice());
        assert!(key("example2", 0).as_slice() >= end.as_slice());
    }
}
