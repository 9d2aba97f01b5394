//! The NSEC chain of a zone that denies existence with NSEC (RFC 4034 §4,
//! RFC 4035 §2.3): at every owner name with authoritative data or a
//! delegation, in canonical order, a record naming the next such name and
//! the types at this one. Unlike NSEC3 records, which sit in their own
//! table, an NSEC record lives in its owner's row with its signature, so a
//! change to a name re-signs that row and at most the one before it.

use super::signing::{Record, Standing, ZoneSigner, covered, sorted, wire_of};
use crate::model::dnssec::{bitmap_types, nsec_rdata};
use crate::model::zone::{RrSet, ZoneRow, rtype};
use crate::store::{StoreError, WriteTables};

impl ZoneSigner<'_> {
    /// Signs every name and chains, in one pass in canonical order, each
    /// name in the chain to the next; the last links back to the apex.
    pub(super) fn sign_all_nsec(&self, t: &mut WriteTables<'_>) -> Result<(), StoreError> {
        // The member waiting for its next name: key, stored row, signed row, standing.
        let mut pending: Option<(Vec<u8>, ZoneRow, ZoneRow, Standing)> = None;
        for key in t.zone_keys(&self.apex_key)? {
            let old = t.zone_row(&key)?.unwrap_or_default();
            let standing = self.standing(t, &key, &old)?;
            let signed = self.signed_row(&key, &old, standing)?;
            if !in_chain(standing) {
                if signed != old {
                    t.put_zone_row(&key, &signed)?;
                }
                continue;
            }
            if let Some((prev, prev_old, prev_signed, prev_standing)) = pending.take() {
                let row = self.with_nsec(&prev, &prev_old, prev_signed, prev_standing, &wire_of(&key))?;
                t.put_zone_row(&prev, &row)?;
            }
            pending = Some((key, old, signed, standing));
        }
        if let Some((last, old, signed, standing)) = pending {
            let row = self.with_nsec(&last, &old, signed, standing, &self.apex_wire)?;
            t.put_zone_row(&last, &row)?;
        }
        Ok(())
    }

    /// Writes the owner `key`'s `signed` row (made from its stored row
    /// `old`) with the NSEC record its standing asks for, joining the chain
    /// or leaving it as it must, and keeps the previous link right.
    pub(super) fn nsec_at_owner(
        &self,
        t: &mut WriteTables<'_>,
        key: &[u8],
        old: &ZoneRow,
        signed: ZoneRow,
        standing: Standing,
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        let old_next = old.get(rtype::NSEC).and_then(|s| s.rdatas.first()).map(|rd| next_name(rd).to_vec());
        let row = match (old_next, in_chain(standing)) {
            (None, false) => signed,
            (Some(next), false) => {
                if let Some((prev, prev_row)) = t.nsec_before(&self.apex_key, key)? {
                    self.relink_nsec(t, &prev, &prev_row, &next, record)?;
                }
                signed
            }
            (Some(next), true) => self.with_nsec(key, old, signed, standing, &next)?,
            (None, true) => {
                let next = match t.nsec_before(&self.apex_key, key)? {
                    Some((prev, prev_row)) => {
                        let next = prev_row.get(rtype::NSEC).and_then(|s| s.rdatas.first()).map(|rd| next_name(rd).to_vec());
                        self.relink_nsec(t, &prev, &prev_row, &wire_of(key), record)?;
                        next.unwrap_or_else(|| self.apex_wire.clone())
                    }
                    None => self.apex_wire.clone(),
                };
                self.with_nsec(key, old, signed, standing, &next)?
            }
        };
        if row != *old {
            t.put_zone_row(key, &row)?;
            record(key, old, &row);
        }
        Ok(())
    }

    /// `signed` with the NSEC record pointing to `next` (wire form) and its
    /// signature: the stored one while it still holds, else a new one.
    fn with_nsec(&self, key: &[u8], old: &ZoneRow, mut signed: ZoneRow, standing: Standing, next: &[u8]) -> Result<ZoneRow, StoreError> {
        let mut types: Vec<u16> = signed.rrsets.iter().map(|s| s.rtype).collect();
        if standing == Standing::Apex {
            types.push(rtype::SOA);
        }
        // The NSEC record is itself signed, at a delegation too (RFC 4035 §2.3).
        types.extend([rtype::NSEC, rtype::RRSIG]);
        let set = RrSet { rtype: rtype::NSEC, ttl: self.denial_ttl, rdatas: vec![nsec_rdata(next, &types)] };
        let old_sigs: Vec<Vec<u8>> = old.get(rtype::RRSIG).map(|s| s.rdatas.clone()).unwrap_or_default();
        let mut sigs: Vec<Vec<u8>> = signed.get(rtype::RRSIG).map(|s| s.rdatas.clone()).unwrap_or_default();
        if old.get(rtype::NSEC) == Some(&set) && self.complete(&old_sigs, &set) {
            sigs.extend(old_sigs.iter().filter(|s| self.still_good(s, &set)).cloned());
        } else {
            sigs.extend(self.sign_set(&wire_of(key), &set)?);
        }
        signed.put(set);
        signed.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: sorted(sigs) });
        Ok(signed)
    }

    /// Points the NSEC record at `prev` to `next` (wire form), signed again.
    fn relink_nsec(
        &self,
        t: &mut WriteTables<'_>,
        prev: &[u8],
        prev_row: &ZoneRow,
        next: &[u8],
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        let Some(rdata) = prev_row.get(rtype::NSEC).and_then(|s| s.rdatas.first()) else {
            return Ok(());
        };
        let types = bitmap_types(&rdata[next_name(rdata).len()..]);
        let set = RrSet { rtype: rtype::NSEC, ttl: self.denial_ttl, rdatas: vec![nsec_rdata(next, &types)] };
        let mut row = prev_row.clone();
        let mut sigs: Vec<Vec<u8>> = row.get(rtype::RRSIG).map(|s| s.rdatas.clone()).unwrap_or_default();
        sigs.retain(|s| covered(s) != rtype::NSEC);
        sigs.extend(self.sign_set(&wire_of(prev), &set)?);
        row.put(set);
        row.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: sorted(sigs) });
        t.put_zone_row(prev, &row)?;
        record(prev, prev_row, &row);
        Ok(())
    }
}

/// Whether a name of this standing has an NSEC record: every name with
/// data we are authoritative for and every delegation, secure or not; not
/// empty non-terminals (the record before them proves them) nor glue.
fn in_chain(standing: Standing) -> bool {
    matches!(standing, Standing::Apex | Standing::Authoritative | Standing::Delegation { .. })
}

/// The next owner name at the start of an NSEC RDATA, in wire form.
fn next_name(rdata: &[u8]) -> &[u8] {
    let mut at = 0;
    while let Some(&len) = rdata.get(at) {
        at += 1 + len as usize;
        if len == 0 {
            break;
        }
    }
    &rdata[..at.min(rdata.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_name_ends_at_its_root_label() {
        let rdata = nsec_rdata(b"\x05hello\x07example\x00", &[rtype::NS, rtype::NSEC, rtype::RRSIG]);
        assert_eq!(next_name(&rdata), b"\x05hello\x07example\x00");
        assert_eq!(bitmap_types(&rdata[next_name(&rdata).len()..]), vec![rtype::NS, rtype::RRSIG, rtype::NSEC]);
    }
}
