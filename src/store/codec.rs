//! Byte layouts of stored values. Objects are the postcard encoding of
//! their frozen record ([`super::record`]) behind a one-byte record version,
//! so a later schema can read old rows and migrate them. Zone rows use a
//! fixed layout that the DNS path reads in place, without decoding into
//! owned values.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use super::record::Stored;
use crate::model::zone::{RrSet, ZoneRow, rr_ttl};

/// Version byte in front of every stored object.
const RECORD_V1: u8 = 1;

/// The stored bytes of a live value: its record's.
pub fn encode<T: Stored>(value: &T) -> Vec<u8> {
    encode_record(&value.to_record())
}

pub fn decode<T: Stored>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    decode_record(bytes, what).map(T::from_record)
}

/// A record's bytes; migrations write the layouts of their own schema with it.
pub(super) fn encode_record<R: Serialize>(record: &R) -> Vec<u8> {
    let mut out = vec![RECORD_V1];
    // Writing postcard into a Vec cannot fail for our types (no maps with non-string keys, no I/O).
    out.extend(postcard::to_stdvec(record).expect("postcard encoding of a registry record"));
    out
}

pub(super) fn decode_record<R: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<R, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_V1, body)) => postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(format!("{what}: {e}"))),
        Some((version, _)) => Err(StoreError::Corrupt(format!("{what}: unknown record version {version}"))),
        None => Err(StoreError::Corrupt(format!("{what}: empty record"))),
    }
}

/// Zone row layout: `count:u8` then per RRset `type:u16 ttl:u32 n:u16` and
/// `n` times `len:u16 rdata`. All big-endian.
pub fn encode_row(row: &ZoneRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(row.rrsets.len() as u8);
    for set in &row.rrsets {
        out.extend_from_slice(&set.rtype.to_be_bytes());
        out.extend_from_slice(&set.ttl.to_be_bytes());
        out.extend_from_slice(&(set.rdatas.len() as u16).to_be_bytes());
        for rdata in &set.rdatas {
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(rdata);
        }
    }
    out
}

pub fn decode_row(bytes: &[u8]) -> Result<ZoneRow, StoreError> {
    let view = RowView::new(bytes)?;
    Ok(ZoneRow {
        rrsets: view.rrsets().map(|s| RrSet { rtype: s.rtype, ttl: s.ttl, rdatas: s.rdatas().map(<[u8]>::to_vec).collect() }).collect(),
    })
}

/// A zone row read in place.
#[derive(Clone, Copy)]
pub struct RowView<'a> {
    bytes: &'a [u8],
}

/// One RRset of a [`RowView`].
#[derive(Clone, Copy)]
pub struct RrSetView<'a> {
    pub rtype: u16,
    pub ttl: u32,
    pub count: u16,
    body: &'a [u8],
}

impl<'a> RowView<'a> {
    /// Checks the layout once, so iteration afterwards cannot run off the end.
    pub fn new(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("zone row layout".into());
        let (&count, mut rest) = bytes.split_first().ok_or_else(corrupt)?;
        for _ in 0..count {
            if rest.len() < 8 {
                return Err(corrupt());
            }
            let n = u16::from_be_bytes([rest[6], rest[7]]);
            rest = &rest[8..];
            for _ in 0..n {
                if rest.len() < 2 {
                    return Err(corrupt());
                }
                let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                rest = rest.get(2 + len..).ok_or_else(corrupt)?;
            }
        }
        if !rest.is_empty() {
            return Err(corrupt());
        }
        Ok(RowView { bytes })
    }

    pub fn rrsets(&self) -> impl Iterator<Item = RrSetView<'a>> + 'a {
        let count = self.bytes[0];
        let mut rest = &self.bytes[1..];
        (0..count).map(move |_| {
            let rtype = u16::from_be_bytes([rest[0], rest[1]]);
            let ttl = u32::from_be_bytes([rest[2], rest[3], rest[4], rest[5]]);
            let n = u16::from_be_bytes([rest[6], rest[7]]);
            let mut end = 8;
            for _ in 0..n {
                end += 2 + u16::from_be_bytes([rest[end], rest[end + 1]]) as usize;
            }
            let set = RrSetView { rtype, ttl, count: n, body: &rest[8..end] };
            rest = &rest[end..];
            set
        })
    }

    pub fn get(&self, rtype: u16) -> Option<RrSetView<'a>> {
        self.rrsets().find(|s| s.rtype == rtype)
    }
}

impl<'a> RrSetView<'a> {
    pub fn rdatas(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = self.body;
        (0..self.count).map(move |_| {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let rdata = &rest[2..2 + len];
            rest = &rest[2 + len..];
            rdata
        })
    }

    /// Each RR with the TTL it is served with (see [`rr_ttl`]).
    pub fn rrs(&self) -> impl Iterator<Item = (u32, &'a [u8])> + 'a {
        let (rtype, ttl) = (self.rtype, self.ttl);
        self.rdatas().map(move |rd| (rr_ttl(rtype, ttl, rd), rd))
    }

    /// The RRSIGs of this (RRSIG) set that cover `covered`.
    pub fn covering(&self, covered: u16) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.rdatas().filter(move |rd| rd.len() > 2 && u16::from_be_bytes([rd[0], rd[1]]) == covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::zone::rtype;

    #[test]
    fn row_round_trip_and_in_place_reads() {
        let row = ZoneRow {
            rrsets: vec![
                RrSet { rtype: rtype::NS, ttl: 3600, rdatas: vec![b"\x02ns\x00".to_vec(), b"\x03ns2\x00".to_vec()] },
                RrSet { rtype: rtype::DS, ttl: 60, rdatas: vec![vec![1, 2, 3]] },
            ],
        };
        let bytes = encode_row(&row);
        assert_eq!(decode_row(&bytes).unwrap(), row);
        let view = RowView::new(&bytes).unwrap();
        let ds = view.get(rtype::DS).unwrap();
        assert_eq!((ds.ttl, ds.rdatas().collect::<Vec<_>>()), (60, vec![&[1u8, 2, 3][..]]));
        assert!(view.get(rtype::A).is_none());
    }

    #[test]
    fn damaged_rows_are_refused() {
        let bytes = encode_row(&ZoneRow { rrsets: vec![RrSet { rtype: 1, ttl: 1, rdatas: vec![vec![1, 2, 3, 4]] }] });
        for cut in 0..bytes.len() {
            assert!(RowView::new(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RowView::new(&longer).is_err());
    }

    #[test]
    fn records_carry_a_version() {
        let bytes = encode_record(&("a".to_string(), 7u32));
        assert_eq!(bytes[0], RECORD_V1);
        let back: (String, u32) = decode_record(&bytes, "test").unwrap();
        assert_eq!(back, ("a".to_string(), 7));
        let mut future = bytes.clone();
        future[0] = 9;
        assert!(decode_record::<(String, u32)>(&future, "test").is_err());
    }
}
