//! Online signing inside the batch's write transaction: after a batch's
//! rows are re-derived, every owner name whose row changed (and the names
//! above and below it, whose standing in the zone may follow from it) gets
//! the RRSIGs and the NSEC3 (or NSEC) record it must have, and the SOA is signed at
//! the new serial — before the commit, so no snapshot ever pairs data with
//! a stale or missing proof. One change signs only what it touches; turning
//! signing on or off rewrites the whole zone.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::keys::{Keys, SigningKey};
use crate::model::dnssec::{
    Denial, KeyRole, NSEC3_HASH_BYTES, NSEC3_OPT_OUT, RrsigFields, ZoneSigning, base32hex, label_count, nsec3_hash, nsec3_rdata,
    nsec3param_rdata,
};
use crate::model::zone::{RrSet, ZoneRow, negative_ttl, rtype, soa_rdata};
use crate::model::{DomainName, Timestamp, Tld};
use crate::store::{StoreError, WriteTables};

type Hash = [u8; NSEC3_HASH_BYTES];

/// How a diff learns of what signing changed: `(owner key, old row, new row)`.
pub(super) type Record<'r> = dyn FnMut(&[u8], &ZoneRow, &ZoneRow) + 'r;

/// Signs for one zone within one batch.
pub(super) struct ZoneSigner<'a> {
    tld: &'a Tld,
    signing: &'a ZoneSigning,
    /// The keys that sign now: key tag, algorithm, private half, role.
    keys: Vec<(u16, u8, Arc<SigningKey>, KeyRole)>,
    rng: &'a ring::rand::SystemRandom,
    pub(super) apex_wire: Vec<u8>,
    pub(super) apex_key: Vec<u8>,
    now: u32,
    pub(super) denial_ttl: u32,
}

/// Where an owner name stands in a signed zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    Apex,
    /// A delegation; secure when it has DS.
    Delegation {
        secure: bool,
    },
    /// Data we are authoritative for below the apex.
    Authoritative,
    /// No data, but names below: exists in the DNS.
    EmptyNonTerminal,
    /// Below a delegation (glue), or not in the zone at all.
    Outside,
}

impl<'a> ZoneSigner<'a> {
    pub fn new(tld: &'a Tld, signing: &'a ZoneSigning, keys: &'a Keys, now: Timestamp) -> Result<Self, StoreError> {
        let mut loaded = Vec::new();
        for key in signing.keys.iter().filter(|k| k.active()) {
            loaded.push((key.key_tag(), key.algorithm, keys.signer(&tld.name, key)?, key.role));
        }
        Ok(ZoneSigner {
            tld,
            signing,
            keys: loaded,
            rng: keys.rng(),
            apex_wire: tld.name.to_wire(),
            apex_key: tld.name.canonical_key(),
            now: now.unix_seconds().clamp(0, u32::MAX as i64) as u32,
            denial_ttl: negative_ttl(&tld.policy),
        })
    }

    /// Brings the owner names with keys `touched`, and those their change
    /// may affect, to what a signed zone must hold.
    pub fn sign_touched(&self, t: &mut WriteTables<'_>, touched: &[Vec<u8>], record: &mut Record<'_>) -> Result<(), StoreError> {
        let mut affected = std::collections::BTreeSet::new();
        for key in touched {
            affected.insert(key.clone());
            if key.as_slice() == self.apex_key.as_slice() {
                continue;
            }
            // Names above may become (or stop being) empty non-terminals,
            // names below may fall under (or come out from under) a cut.
            let mut at = key.len() - 1;
            while let Some(end) = key[..at].iter().rposition(|&b| b == 0) {
                if end < self.apex_key.len() {
                    break;
                }
                affected.insert(key[..=end].to_vec());
                at = end;
            }
            affected.extend(t.zone_keys_below(key, 1_000, false)?);
        }
        for key in affected {
            self.sign_owner(t, &key, record)?;
        }
        Ok(())
    }

    /// Makes again the signatures near expiry at the owner names with keys
    /// `owners` and on the NSEC3 records with `hashes`, and nothing else:
    /// what the signature sweep found due.
    pub fn refresh(
        &self,
        t: &mut WriteTables<'_>,
        owners: &[Vec<u8>],
        hashes: &[Vec<u8>],
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        for key in owners.iter().filter(|k| k.starts_with(&self.apex_key)) {
            self.sign_owner(t, key, record)?;
        }
        for hash in hashes {
            let Ok(hash) = Hash::try_from(hash.as_slice()) else { continue };
            let Some(old) = t.nsec3(&self.apex_key, &hash)? else { continue };
            let Some(set) = old.get(rtype::NSEC3) else { continue };
            if old.get(rtype::RRSIG).is_some_and(|sigs| self.exactly_signed(&sigs.rdatas, set)) {
                continue;
            }
            let mut row = old.clone();
            row.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: self.sign_set(&wire_of(&self.nsec3_owner_key(&hash)), set)? });
            self.write_nsec3(t, &hash, Some(&old), Some(&row), record)?;
        }
        Ok(())
    }

    /// Whether the SOA signature in the apex row is due: a zone with no
    /// change for a week still gets a new serial and SOA signature.
    pub fn soa_due(&self, t: &WriteTables<'_>) -> Result<bool, StoreError> {
        let row = t.zone_row(&self.apex_key)?.unwrap_or_default();
        let soa = RrSet { rtype: rtype::SOA, ttl: self.tld.policy.soa.ttl_s, rdatas: vec![soa_rdata(&self.tld.policy, self.tld.serial)] };
        let good = row.get(rtype::RRSIG).is_some_and(|sigs| self.complete(&sigs.rdatas, &soa));
        Ok(!good)
    }

    /// Signs every name of the zone and builds its NSEC3 (or NSEC) chain
    /// from scratch.
    pub fn sign_all(&self, t: &mut WriteTables<'_>) -> Result<(), StoreError> {
        if self.nsec() {
            self.sign_all_nsec(t)?;
            for hash in t.nsec3_hashes(&self.apex_key)? {
                t.put_nsec3(&self.apex_key, &hash, &ZoneRow::default())?;
            }
            return Ok(());
        }
        let mut chain: BTreeMap<Hash, Vec<u16>> = BTreeMap::new();
        let keys = t.zone_keys(&self.apex_key)?;
        let mut seen_ents = std::collections::BTreeSet::new();
        for key in &keys {
            let row = t.zone_row(key)?.unwrap_or_default();
            let standing = self.standing(t, key, &row)?;
            let signed = self.signed_row(key, &row, standing)?;
            if signed != row {
                t.put_zone_row(key, &signed)?;
            }
            if let Some(types) = self.nsec3_types(&signed, standing) {
                chain.insert(nsec3_hash(&wire_of(key), &[], 0), types);
            }
            // Empty non-terminals have no row: find them above each name.
            if standing != Standing::Outside && key.len() > self.apex_key.len() {
                let mut at = key.len() - 1;
                while let Some(end) = key[..at].iter().rposition(|&b| b == 0) {
                    if end < self.apex_key.len() {
                        break;
                    }
                    let above = &key[..=end];
                    if above.len() > self.apex_key.len() && t.zone_row(above)?.is_none() && seen_ents.insert(above.to_vec()) {
                        chain.insert(nsec3_hash(&wire_of(above), &[], 0), Vec::new());
                    }
                    at = end;
                }
            }
        }
        for stale in t.nsec3_hashes(&self.apex_key)? {
            if !stale.as_slice().try_into().is_ok_and(|h: Hash| chain.contains_key(&h)) {
                t.put_nsec3(&self.apex_key, &stale, &ZoneRow::default())?;
            }
        }
        let hashes: Vec<Hash> = chain.keys().copied().collect();
        for (i, (hash, types)) in chain.iter().enumerate() {
            let next = hashes[(i + 1) % hashes.len()];
            let row = self.nsec3_row(hash, &next, types)?;
            t.put_nsec3(&self.apex_key, hash, &row)?;
        }
        Ok(())
    }

    /// Signs the SOA at `serial`, in the apex row.
    pub fn sign_soa(&self, t: &mut WriteTables<'_>, serial: u32, record: &mut Record<'_>) -> Result<(), StoreError> {
        let old = t.zone_row(&self.apex_key)?.unwrap_or_default();
        let mut row = old.clone();
        let soa = RrSet { rtype: rtype::SOA, ttl: self.tld.policy.soa.ttl_s, rdatas: vec![soa_rdata(&self.tld.policy, serial)] };
        let mut sigs: Vec<Vec<u8>> = row.get(rtype::RRSIG).map(|s| s.rdatas.clone()).unwrap_or_default();
        sigs.retain(|s| covered(s) != rtype::SOA);
        sigs.extend(self.sign_set(&self.apex_wire, &soa)?);
        row.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: sorted(sigs) });
        t.put_zone_row(&self.apex_key, &row)?;
        record(&self.apex_key, &old, &row);
        Ok(())
    }

    fn sign_owner(&self, t: &mut WriteTables<'_>, key: &[u8], record: &mut Record<'_>) -> Result<(), StoreError> {
        let old = t.zone_row(key)?.unwrap_or_default();
        let standing = self.standing(t, key, &old)?;
        let row = self.signed_row(key, &old, standing)?;
        if self.nsec() {
            return self.nsec_at_owner(t, key, &old, row, standing, record);
        }
        if row != old {
            t.put_zone_row(key, &row)?;
            record(key, &old, &row);
        }
        let hash = nsec3_hash(&wire_of(key), &[], 0);
        self.put_in_chain(t, &hash, self.nsec3_types(&row, standing), record)
    }

    pub(super) fn standing(&self, t: &WriteTables<'_>, key: &[u8], row: &ZoneRow) -> Result<Standing, StoreError> {
        if key == self.apex_key.as_slice() {
            return Ok(Standing::Apex);
        }
        if !key.starts_with(&self.apex_key) {
            return Ok(Standing::Outside);
        }
        // Any cut strictly between the apex and the name puts it below a delegation.
        let mut end = self.apex_key.len();
        while let Some(next) = key[end..].iter().position(|&b| b == 0).map(|p| end + p + 1) {
            if next >= key.len() {
                break;
            }
            if t.zone_row(&key[..next])?.is_some_and(|r| r.get(rtype::NS).is_some()) {
                return Ok(Standing::Outside);
            }
            end = next;
        }
        if row.get(rtype::NS).is_some() {
            return Ok(Standing::Delegation { secure: row.get(rtype::DS).is_some() });
        }
        if row.rrsets.iter().any(|s| !is_dnssec(s.rtype)) {
            return Ok(Standing::Authoritative);
        }
        if !t.zone_keys_below(key, 1, false)?.is_empty() {
            return Ok(Standing::EmptyNonTerminal);
        }
        Ok(Standing::Outside)
    }

    /// `row` with the apex's DNSSEC RRsets and exactly the RRSIGs its standing
    /// asks for: current ones kept, missing or ageing ones made.
    pub(super) fn signed_row(&self, key: &[u8], row: &ZoneRow, standing: Standing) -> Result<ZoneRow, StoreError> {
        let owner = wire_of(key);
        let mut out = ZoneRow { rrsets: row.rrsets.iter().filter(|s| !is_dnssec(s.rtype)).cloned().collect() };
        if standing == Standing::Apex {
            let dnskeys = self.signing.dnskey_rdatas();
            out.put(RrSet { rtype: rtype::DNSKEY, ttl: self.signing.dnskey_ttl_s, rdatas: sorted(dnskeys) });
            if !self.nsec() {
                out.put(RrSet { rtype: rtype::NSEC3PARAM, ttl: self.denial_ttl, rdatas: vec![nsec3param_rdata()] });
            }
        }
        let old_sigs: Vec<Vec<u8>> = row.get(rtype::RRSIG).map(|s| s.rdatas.clone()).unwrap_or_default();
        let mut sigs = Vec::new();
        for set in &out.rrsets {
            let wanted = match standing {
                Standing::Apex | Standing::Authoritative => true,
                Standing::Delegation { .. } => set.rtype == rtype::DS,
                Standing::EmptyNonTerminal | Standing::Outside => false,
            };
            if !wanted {
                continue;
            }
            // The apex's DNSKEY RRset changes here, with the keys: its old signatures go.
            if row.get(set.rtype) == Some(set) && self.complete(&old_sigs, set) {
                sigs.extend(old_sigs.iter().filter(|s| self.still_good(s, set)).cloned());
            } else {
                sigs.extend(self.sign_set(&owner, set)?);
            }
        }
        if standing == Standing::Apex {
            // The SOA's signature is made at every serial by `sign_soa`.
            sigs.extend(old_sigs.iter().filter(|s| covered(s) == rtype::SOA).cloned());
        }
        out.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: sorted(sigs) });
        Ok(out)
    }

    /// The key (tag, algorithm) of `sig` if it still covers `set` as it is
    /// now, by a key that signs such sets now, with more than the refresh
    /// time left.
    fn good_signer(&self, sig: &[u8], set: &RrSet) -> Option<(u16, u8)> {
        let (fields, _) = RrsigFields::parse(sig)?;
        let key = (fields.key_tag, fields.algorithm);
        (fields.type_covered == set.rtype
            && fields.original_ttl == set.ttl
            && self.signers(set.rtype).any(|(tag, alg, _)| (*tag, *alg) == key)
            && !self.signing.refresh_due(fields.expiration, self.now))
        .then_some(key)
    }

    pub(super) fn still_good(&self, sig: &[u8], set: &RrSet) -> bool {
        self.good_signer(sig, set).is_some()
    }

    /// Whether `sigs` hold a good signature over `set` by every key that
    /// signs it now.
    pub(super) fn complete(&self, sigs: &[Vec<u8>], set: &RrSet) -> bool {
        let good: Vec<(u16, u8)> = sigs.iter().filter_map(|s| self.good_signer(s, set)).collect();
        self.signers(set.rtype).all(|(tag, alg, _)| good.contains(&(*tag, *alg)))
    }

    /// Whether `sigs` are good signatures over `set` by exactly the keys
    /// that sign it now: none missing, none by a key that no longer does.
    fn exactly_signed(&self, sigs: &[Vec<u8>], set: &RrSet) -> bool {
        sigs.iter().all(|s| self.still_good(s, set)) && self.complete(sigs, set)
    }

    fn signers(&self, rtype: u16) -> impl Iterator<Item = (&u16, &u8, &Arc<SigningKey>)> {
        self.keys.iter().filter(move |k| k.3.signs(rtype)).map(|(tag, alg, key, _)| (tag, alg, key))
    }

    /// The types the NSEC3 record of a name lists, or `None` when the name
    /// has no place in the chain.
    fn nsec3_types(&self, row: &ZoneRow, standing: Standing) -> Option<Vec<u16>> {
        let mut types: Vec<u16> = row.rrsets.iter().map(|s| s.rtype).collect();
        match standing {
            Standing::Apex => types.push(rtype::SOA),
            Standing::Delegation { secure: false } if self.signing.opt_out() => return None,
            Standing::Delegation { .. } | Standing::Authoritative => {}
            Standing::EmptyNonTerminal => return Some(Vec::new()),
            Standing::Outside => return None,
        }
        Some(types)
    }

    /// Puts the name with `hash` into the chain (or takes it out), keeping
    /// the previous record's "next" link and signature right.
    fn put_in_chain(
        &self,
        t: &mut WriteTables<'_>,
        hash: &Hash,
        types: Option<Vec<u16>>,
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        let existing = t.nsec3(&self.apex_key, hash)?;
        let before = t.nsec3_before(&self.apex_key, hash)?.filter(|(h, _)| h.as_slice() != hash.as_slice());
        match (existing, types) {
            (None, None) => Ok(()),
            (Some(old), None) => {
                let next = next_of(&old).unwrap_or(*hash);
                self.write_nsec3(t, hash, Some(&old), None, record)?;
                if let Some((prev, prev_row)) = before {
                    self.relink(t, &prev, &prev_row, next, record)?;
                }
                Ok(())
            }
            (None, Some(types)) => {
                let next = match &before {
                    Some((prev, prev_row)) => {
                        let next = next_of(prev_row).unwrap_or(*hash);
                        self.relink(t, prev, prev_row, *hash, record)?;
                        next
                    }
                    None => *hash,
                };
                let row = self.nsec3_row(hash, &next, &types)?;
                self.write_nsec3(t, hash, None, Some(&row), record)
            }
            (Some(old), Some(types)) => {
                let next = next_of(&old).unwrap_or(*hash);
                let wanted = nsec3_rdata(self.nsec3_flags(), &next, &with_rrsig(&types));
                let current = old.get(rtype::NSEC3).is_some_and(|s| s.rdatas == [wanted.clone()]);
                let signed = old
                    .get(rtype::NSEC3)
                    .is_some_and(|set| old.get(rtype::RRSIG).is_some_and(|sigs| self.exactly_signed(&sigs.rdatas, set)));
                if current && signed {
                    return Ok(());
                }
                let row = self.nsec3_row(hash, &next, &types)?;
                self.write_nsec3(t, hash, Some(&old), Some(&row), record)
            }
        }
    }

    /// Points the record at `prev` to `next`, signed again.
    fn relink(
        &self,
        t: &mut WriteTables<'_>,
        prev: &[u8],
        prev_row: &ZoneRow,
        next: Hash,
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        let prev: Hash = prev.try_into().map_err(|_| StoreError::Corrupt("NSEC3 key".into()))?;
        let types = prev_row.get(rtype::NSEC3).and_then(|s| s.rdatas.first()).map(|rd| bitmap_of(rd)).unwrap_or_default();
        let row = self.nsec3_row(&prev, &next, &types)?;
        self.write_nsec3(t, &prev, Some(prev_row), Some(&row), record)
    }

    fn write_nsec3(
        &self,
        t: &mut WriteTables<'_>,
        hash: &Hash,
        old: Option<&ZoneRow>,
        new: Option<&ZoneRow>,
        record: &mut Record<'_>,
    ) -> Result<(), StoreError> {
        let empty = ZoneRow::default();
        let new = new.unwrap_or(&empty);
        t.put_nsec3(&self.apex_key, hash, new)?;
        record(&self.nsec3_owner_key(hash), old.unwrap_or(&empty), new);
        Ok(())
    }

    pub(super) fn nsec(&self) -> bool {
        self.signing.denial == Denial::Nsec
    }

    fn nsec3_flags(&self) -> u8 {
        if self.signing.opt_out() { NSEC3_OPT_OUT } else { 0 }
    }

    fn nsec3_row(&self, hash: &Hash, next: &Hash, types: &[u16]) -> Result<ZoneRow, StoreError> {
        let set =
            RrSet { rtype: rtype::NSEC3, ttl: self.denial_ttl, rdatas: vec![nsec3_rdata(self.nsec3_flags(), next, &with_rrsig(types))] };
        let owner = wire_of(&self.nsec3_owner_key(hash));
        let sigs = self.sign_set(&owner, &set)?;
        Ok(ZoneRow { rrsets: vec![set, RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: sigs }] })
    }

    /// The canonical key of the NSEC3 owner name `<base32hex(hash)>.<apex>`.
    pub fn nsec3_owner_key(&self, hash: &Hash) -> Vec<u8> {
        let mut key = self.apex_key.clone();
        key.extend_from_slice(base32hex(hash).as_bytes());
        key.push(0);
        key
    }

    pub(super) fn sign_set(&self, owner: &[u8], set: &RrSet) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(self.keys.len());
        for (key_tag, algorithm, key) in self.signers(set.rtype) {
            let fields = RrsigFields {
                type_covered: set.rtype,
                algorithm: *algorithm,
                labels: label_count(owner),
                original_ttl: set.ttl,
                expiration: self.signing.expiration(owner, self.now),
                inception: self.now.wrapping_sub(self.signing.inception_offset_s),
                key_tag: *key_tag,
                signer: self.apex_wire.clone(),
            };
            let signature = key.sign(&fields.signed_data(owner, &set.rdatas), self.rng)?;
            out.push(fields.rdata(&signature));
        }
        Ok(out)
    }
}

/// Takes every trace of signing out of the zone of `tld`: RRSIGs, DNSKEY,
/// NSEC3PARAM and the NSEC3 or NSEC chain.
pub(super) fn unsign_all(t: &mut WriteTables<'_>, tld: &DomainName) -> Result<(), StoreError> {
    let apex_key = tld.canonical_key();
    for key in t.zone_keys(&apex_key)? {
        let row = t.zone_row(&key)?.unwrap_or_default();
        let plain = ZoneRow { rrsets: row.rrsets.iter().filter(|s| !is_dnssec(s.rtype)).cloned().collect() };
        if plain != row {
            t.put_zone_row(&key, &plain)?;
        }
    }
    for hash in t.nsec3_hashes(&apex_key)? {
        t.put_nsec3(&apex_key, &hash, &ZoneRow::default())?;
    }
    Ok(())
}

/// RRsets that signing adds to a row, never derived from registry objects.
pub(super) fn is_dnssec(rtype: u16) -> bool {
    matches!(rtype, rtype::RRSIG | rtype::DNSKEY | rtype::NSEC3PARAM | rtype::NSEC)
}

/// What a re-derived row keeps of the stored one: the apex's DNSSEC RRsets,
/// the NSEC record (the signer corrects it), the SOA's signature, and every
/// RRSIG whose RRset did not change.
pub(super) fn carry_over(old: &ZoneRow, mut new: ZoneRow) -> ZoneRow {
    if old.rrsets.iter().all(|s| !is_dnssec(s.rtype)) {
        return new;
    }
    for set in &old.rrsets {
        if matches!(set.rtype, rtype::DNSKEY | rtype::NSEC3PARAM | rtype::NSEC) {
            new.put(set.clone());
        }
    }
    if let Some(sigs) = old.get(rtype::RRSIG) {
        let kept: Vec<Vec<u8>> = sigs
            .rdatas
            .iter()
            .filter(|s| {
                let c = covered(s);
                c == rtype::SOA || (old.get(c).is_some() && old.get(c) == new.get(c))
            })
            .cloned()
            .collect();
        new.put(RrSet { rtype: rtype::RRSIG, ttl: 0, rdatas: kept });
    }
    new
}

/// The type an RRSIG covers.
pub(super) fn covered(rrsig: &[u8]) -> u16 {
    match rrsig {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

fn next_of(nsec3_row: &ZoneRow) -> Option<Hash> {
    let rdata = nsec3_row.get(rtype::NSEC3)?.rdatas.first()?;
    let salt_len = *rdata.get(4)? as usize;
    let at = 5 + salt_len + 1;
    rdata.get(at..at + NSEC3_HASH_BYTES)?.try_into().ok()
}

/// The types of an NSEC3 RDATA written by [`nsec3_rdata`], RRSIG left out
/// (the record is signed again with its own rule).
fn bitmap_of(rdata: &[u8]) -> Vec<u16> {
    let at = 6 + NSEC3_HASH_BYTES;
    crate::model::dnssec::bitmap_types(rdata.get(at..).unwrap_or_default()).into_iter().filter(|&t| t != rtype::RRSIG).collect()
}

/// A name's types as its NSEC3 record lists them: RRSIG too wherever
/// anything is signed, which is everywhere but an insecure delegation and
/// an empty non-terminal.
fn with_rrsig(types: &[u16]) -> Vec<u16> {
    let mut out = types.to_vec();
    if out.iter().any(|&t| t != rtype::NS && t != rtype::RRSIG) {
        out.push(rtype::RRSIG);
    }
    out.sort_unstable();
    out.dedup();
    out
}

pub(super) fn sorted(mut rdatas: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    rdatas.sort();
    rdatas.dedup();
    rdatas
}

pub(super) fn wire_of(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    crate::model::name::key_to_wire(key, &mut out);
    out
}
