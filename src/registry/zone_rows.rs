//! Keeping zone rows equal to what the objects imply. Commands name the
//! owner names they may have affected; each is re-derived from the objects
//! with the `model::zone` rules and compared with the stored row, and the
//! difference is written and collected. At the end of a batch every zone that
//! changed gets a new serial and one journal entry with the net RR diff.

use std::collections::{BTreeMap, BTreeSet};

use super::keys::Keys;
use super::signing::{self, ZoneSigner};
use crate::model::zone::{GlueFacts, RowSources, Rr, ZoneRow, derive_row, glue_published, next_serial, soa_rdata};
use crate::model::{DomainName, Timestamp, Tld};
use crate::store::{JournalEntry, StoreError, WriteTables};

/// A journal entry larger than this is not kept: IXFR clients fall back to
/// AXFR, which is cheaper than replaying a diff the size of the zone.
const JOURNAL_ENTRY_RRS_MAX: usize = 100_000;

#[derive(Default)]
pub(super) struct ZoneDiff {
    /// SOA (TTL, RDATA) before the batch; `None` for a zone created in it.
    old_soa: Option<(u32, Vec<u8>)>,
    removed: BTreeSet<Rr>,
    added: BTreeSet<Rr>,
    /// The SOA itself changed (policy update), even if no other RR did.
    soa_changed: bool,
    /// History is discarded (bulk import): no diff is collected.
    reset: bool,
    /// Owner keys whose rows changed: what a signed zone signs again.
    touched: BTreeSet<Vec<u8>>,
    /// The zone was signed or unsigned: every row is rewritten.
    signing_changed: bool,
    /// Owner keys and NSEC3 hashes whose signatures the sweep found due.
    due_owners: Vec<Vec<u8>>,
    due_hashes: Vec<Vec<u8>>,
    refresh_asked: bool,
}

/// Zone changes collected over one batch.
#[derive(Default)]
pub(super) struct ZoneChanges {
    zones: BTreeMap<DomainName, ZoneDiff>,
}

impl ZoneChanges {
    /// Registers `tld` (as stored before any change in this batch) as changing.
    pub fn begin(&mut self, tld: &Tld) -> &mut ZoneDiff {
        self.zones.entry(tld.name.clone()).or_insert_with(|| ZoneDiff {
            old_soa: (tld.serial != 0).then(|| (tld.policy.soa.ttl_s, soa_rdata(&tld.policy, tld.serial))),
            ..ZoneDiff::default()
        })
    }

    /// A zone created in this batch: no previous version to diff from.
    pub fn created(&mut self, tld: &DomainName) {
        self.zones.entry(tld.clone()).or_default().reset = true;
    }

    /// Signs what changed in signed zones, then gives every changed zone its
    /// new serial (with its signature) and journal entry.
    pub fn finish(self, t: &mut WriteTables<'_>, now: Timestamp, journal_entries_max: usize, keys: &Keys) -> Result<(), StoreError> {
        for (name, mut diff) in self.zones {
            let Some(mut tld) = t.tld(&name)? else {
                continue;
            };
            let signing = t.zone_signing(&name)?;
            let basis = tld.clone();
            let signer = signing.as_ref().map(|s| ZoneSigner::new(&basis, s, keys, now)).transpose()?;
            match &signer {
                Some(s) if diff.signing_changed => s.sign_all(t)?,
                None if diff.signing_changed => signing::unsign_all(t, &name)?,
                Some(s) => {
                    let touched: Vec<Vec<u8>> = std::mem::take(&mut diff.touched).into_iter().collect();
                    s.sign_touched(t, &touched, &mut |key, old, new| diff.record(key, old, new))?;
                    if diff.refresh_asked {
                        let (owners, hashes) = (std::mem::take(&mut diff.due_owners), std::mem::take(&mut diff.due_hashes));
                        s.refresh(t, &owners, &hashes, &mut |key, old, new| diff.record(key, old, new))?;
                        if s.soa_due(t)? {
                            diff.soa_changed();
                        }
                    }
                }
                None => {}
            }
            if diff.is_empty() {
                continue;
            }
            let from_serial = tld.serial;
            tld.serial = next_serial(tld.serial, now);
            t.put_tld(&tld)?;
            if let Some(s) = &signer {
                s.sign_soa(t, tld.serial, &mut |key, old, new| diff.record(key, old, new))?;
            }
            let size = diff.removed.len() + diff.added.len();
            match diff.old_soa {
                Some(old_soa) if !diff.reset && size <= JOURNAL_ENTRY_RRS_MAX => {
                    let entry = JournalEntry {
                        from_serial,
                        to_serial: tld.serial,
                        old_soa,
                        new_soa: (tld.policy.soa.ttl_s, soa_rdata(&tld.policy, tld.serial)),
                        removed: diff.removed.into_iter().collect(),
                        added: diff.added.into_iter().collect(),
                        committed: now,
                    };
                    t.journal_append(&name, &entry, journal_entries_max)?;
                }
                _ => t.journal_clear(&name)?,
            }
        }
        Ok(())
    }

    /// The signatures at `owners` (keys) and on the NSEC3 records `hashes`
    /// of `tld`'s zone are due: made again at the end of the batch.
    pub fn signatures_due(&mut self, tld: &Tld, owners: Vec<Vec<u8>>, hashes: Vec<Vec<u8>>) {
        let diff = self.begin(tld);
        diff.due_owners.extend(owners);
        diff.due_hashes.extend(hashes);
        diff.refresh_asked = true;
    }

    /// `tld` (as stored before the change) is signed or unsigned in this batch.
    pub fn signing_changed(&mut self, tld: &Tld) {
        let diff = self.begin(tld);
        diff.reset();
        diff.signing_changed = true;
    }
}

impl ZoneDiff {
    fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty() && !self.soa_changed && !self.reset && !self.signing_changed
    }

    pub fn soa_changed(&mut self) {
        self.soa_changed = true;
    }

    /// Drops history and stops collecting RR diffs for this zone.
    pub fn reset(&mut self) {
        self.reset = true;
        self.removed.clear();
        self.added.clear();
    }

    fn record(&mut self, owner_key: &[u8], old: &ZoneRow, new: &ZoneRow) {
        if self.reset {
            return;
        }
        let to_rr = |(rtype, ttl, rdata): (u16, u32, &[u8])| Rr { owner_key: owner_key.to_vec(), rtype, ttl, rdata: rdata.to_vec() };
        let old_rrs: BTreeSet<Rr> = old.rrs().map(to_rr).collect();
        let new_rrs: BTreeSet<Rr> = new.rrs().map(to_rr).collect();
        for rr in old_rrs.difference(&new_rrs) {
            if !self.added.remove(rr) {
                self.removed.insert(rr.clone());
            }
        }
        for rr in new_rrs.difference(&old_rrs) {
            if !self.removed.remove(rr) {
                self.added.insert(rr.clone());
            }
        }
    }
}

/// Re-derives the row at `owner` in `tld`'s zone from the objects, stores it
/// if it changed and records the difference.
pub(super) fn refresh(t: &mut WriteTables<'_>, changes: &mut ZoneChanges, tld: &Tld, owner: &DomainName) -> Result<(), StoreError> {
    let key = owner.canonical_key();
    let new_row = derive_owner_row(t, tld, owner)?;
    let old_row = t.zone_row(&key)?.unwrap_or_default();
    if old_row.rrsets.iter().filter(|s| !signing::is_dnssec(s.rtype)).eq(new_row.rrsets.iter()) {
        return Ok(());
    }
    let new_row = signing::carry_over(&old_row, new_row);
    t.put_zone_row(&key, &new_row)?;
    let diff = changes.begin(tld);
    diff.record(&key, &old_row, &new_row);
    diff.touched.insert(key);
    Ok(())
}

/// What the zone of `tld` holds at `owner`, from the stored objects.
pub(super) fn derive_owner_row(t: &WriteTables<'_>, tld: &Tld, owner: &DomainName) -> Result<ZoneRow, StoreError> {
    if !owner.is_at_or_below(&tld.name) {
        return Ok(ZoneRow::default());
    }
    let domain = t.domain(owner)?.filter(|d| d.tld == tld.name && d.is_published());
    let mut ns_names = Vec::new();
    if let Some(d) = &domain {
        for roid in &d.nameservers {
            if let Some(h) = t.host(roid)? {
                ns_names.push(h.name);
            }
        }
    }
    let host = if owner.is_below(&tld.name) { t.host_by_name(owner)? } else { None };
    let glue = match &host {
        Some(h) if !h.addrs.is_empty() => {
            let superordinate_delegates_to_it = match &h.superordinate {
                Some(s) if Some(s) == domain.as_ref().map(|d| &d.name) => domain.as_ref().is_some_and(|d| d.nameservers.contains(&h.roid)),
                Some(s) => t.domain(s)?.is_some_and(|d| d.is_published() && d.nameservers.contains(&h.roid)),
                None => false,
            };
            let facts = GlueFacts {
                is_apex_nameserver: tld.policy.nameservers.contains(&h.name),
                superordinate_delegates_to_it,
                published_link_count: h.published_link_count,
            };
            glue_published(tld.policy.glue_policy, facts).then_some(h.addrs.as_slice())
        }
        _ => None,
    };
    let sources =
        RowSources { apex: owner == &tld.name, delegation: domain.as_ref().map(|d| (ns_names.as_slice(), d.ds.as_slice())), glue };
    Ok(derive_row(&tld.policy, &sources))
}
