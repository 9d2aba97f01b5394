//! Read snapshots: one redb read transaction, the zone table opened once,
//! and each served zone's apex facts decoded once, so that a DNS lookup is an
//! ordered B-tree probe and nothing else; registrars and shared name servers
//! decoded once per snapshot and thread for the public lookups.

use std::cell::RefCell;
use std::hash::Hash;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};
use rustc_hash::FxHashMap;

use super::journal::{self, JournalEntry};
use super::tables::{Nsec3Entry, NsecEntry, get, nsec_at_or_before, nsec3_at_or_before, nsec3_prefix};
use super::{
    ACCREDITATIONS, APPLICATIONS, CHANGES, CONTACTS, COUNTERS, DNSSEC, DOMAINS, DUE, GRANDFATHERED, HOST_BY_NAME, HOST_LINKS, HOSTS,
    IDN_TABLES, JOURNAL, LAUNCH_REGISTRATIONS, LEDGER, META, NSEC3, PHASES, POLL, PREMIUM, REGISTRARS, RESERVED, StoreError, TLDS, TMCH,
    TOKENS, TRANSACTIONS, ZONE, codec,
};
use crate::model::dnssec::KeyRole;
use crate::model::ledger::Accreditation;
use crate::model::zone::{negative_ttl, soa_rdata};
use crate::model::{ClientId, Contact, ContactId, Domain, DomainName, Host, PollMessage, Registrar, Roid, Tld};

/// Stored objects by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ObjectCounts {
    pub registrars: u64,
    pub contacts: u64,
    pub domains: u64,
    pub hosts: u64,
}

/// A zone this snapshot serves, with the facts every answer needs.
#[derive(Debug, Clone)]
pub struct ZoneApex {
    pub tld: Tld,
    /// Canonical key of the apex; every row of the zone starts with it.
    pub key: Vec<u8>,
    /// Apex name in wire form.
    pub wire: Vec<u8>,
    pub label_count: usize,
    pub soa_rdata: Vec<u8>,
    pub negative_ttl: u32,
    /// The zone is signed: answers to DNSSEC-aware clients carry its
    /// signatures and NSEC3 (or NSEC) proofs.
    pub signed: bool,
    /// Of a signed zone: it denies existence with NSEC, not NSEC3.
    pub nsec: bool,
    /// Of a signed zone: the NSEC3 record matching the apex and the one
    /// covering the wildcard at the apex, which every denial of a name just
    /// below the apex needs; found once per snapshot, not per answer.
    pub apex_nsec3: Option<Nsec3Entry>,
    pub apex_wildcard_nsec3: Option<Nsec3Entry>,
    /// Of a signed zone: the RRSIGs over the SOA, which every negative
    /// answer carries; read once per snapshot, not per answer.
    pub soa_rrsigs: Vec<Vec<u8>>,
}

impl ZoneApex {
    fn new(tld: Tld) -> Self {
        ZoneApex {
            key: tld.name.canonical_key(),
            wire: tld.name.to_wire(),
            label_count: tld.name.label_count(),
            soa_rdata: soa_rdata(&tld.policy, tld.serial),
            negative_ttl: negative_ttl(&tld.policy),
            signed: false,
            nsec: false,
            apex_nsec3: None,
            apex_wildcard_nsec3: None,
            soa_rrsigs: Vec::new(),
            tld,
        }
    }

    pub fn serial(&self) -> u32 {
        self.tld.serial
    }

    pub fn soa_ttl(&self) -> u32 {
        self.tld.policy.soa.ttl_s
    }
}

/// What the zone table holds at a name.
pub enum ZoneProbe<'a> {
    /// A row at exactly this name.
    Row(redb::AccessGuard<'a, &'static [u8]>),
    /// No row here, but rows below: an empty non-terminal (NODATA, not NXDOMAIN).
    EmptyNonTerminal,
    Absent,
}

/// What one stretch of a signature sweep found.
#[derive(Debug, Default)]
pub struct SweepStretch {
    /// Owner keys (zone rows) or hashes (NSEC3) holding a signature due.
    pub due: Vec<Vec<u8>>,
    /// Where the next stretch starts after (relative to the zone's prefix),
    /// or `None` when this one reached the end.
    pub last: Option<Vec<u8>>,
    /// The earliest signature expiry seen.
    pub earliest: Option<u32>,
    /// Whether a row held a signature by a key that no longer signs.
    pub stale: bool,
}

/// The key tag an RRSIG names (RFC 4034 §3.1).
fn signature_key_tag(rrsig: &[u8]) -> Option<u16> {
    rrsig.get(16..18).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Whether the RRSIGs of a stored row are not those the keys that sign
/// now (`signers`, tag and role) would make: one by a key not among them or
/// over a type its role does not sign, or a signed type without the
/// signature of one of them that signs it.
fn holds_stale_signature(row: &[u8], signers: &[(u16, KeyRole)]) -> Result<bool, StoreError> {
    let Some(sigs) = codec::RowView::new(row)?.get(crate::model::zone::rtype::RRSIG) else { return Ok(false) };
    let made: Vec<(u16, u16)> = sigs.rdatas().filter_map(|s| Some((covered_type(s)?, signature_key_tag(s)?))).collect();
    if made.len() != sigs.rdatas().count() {
        return Ok(true);
    }
    let wrong = made.iter().any(|&(rtype, tag)| !signers.iter().any(|&(t, role)| t == tag && role.signs(rtype)));
    let missing =
        made.iter().any(|&(rtype, _)| signers.iter().filter(|(_, role)| role.signs(rtype)).any(|&(tag, _)| !made.contains(&(rtype, tag))));
    Ok(wrong || missing)
}

/// The type an RRSIG covers (RFC 4034 §3.1).
fn covered_type(rrsig: &[u8]) -> Option<u16> {
    rrsig.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// The earliest expiry of the RRSIGs in a stored row, seen from `now`.
fn earliest_in_row(row: &[u8], now: u32) -> Result<Option<u32>, StoreError> {
    let mut earliest = None;
    if let Some(sigs) = codec::RowView::new(row)?.get(crate::model::zone::rtype::RRSIG) {
        for sig in sigs.rdatas() {
            let expiry = sig.get(8..12).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            earliest = earlier_expiry(earliest, expiry, now);
        }
    }
    Ok(earliest)
}

/// The earlier of two expiries in RFC 4034 serial arithmetic, seen from `now`.
pub fn earlier_expiry(a: Option<u32>, b: Option<u32>, now: u32) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if (b.wrapping_sub(now) as i32) < (a.wrapping_sub(now) as i32) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A zone row as iterated: the owner's canonical key and the row bytes.
pub type ZoneRowEntry<'a> = (Vec<u8>, redb::AccessGuard<'a, &'static [u8]>);

/// One NSEC3 row of a zone as read: its owner hash and the row bytes.
pub type Nsec3RowEntry<'a> = (Vec<u8>, redb::AccessGuard<'a, &'static [u8]>);

pub struct Snapshot {
    pub(super) txn: ReadTransaction,
    zone: ReadOnlyTable<&'static [u8], &'static [u8]>,
    nsec3: ReadOnlyTable<&'static [u8], &'static [u8]>,
    // Opened once per snapshot: a lookup is then a B-tree probe, not a table-tree walk first.
    domains: ReadOnlyTable<&'static [u8], &'static [u8]>,
    hosts: ReadOnlyTable<&'static str, &'static [u8]>,
    host_by_name: ReadOnlyTable<&'static [u8], &'static str>,
    registrars: ReadOnlyTable<&'static str, &'static [u8]>,
    contacts: ReadOnlyTable<&'static str, &'static [u8]>,
    // Every domain check asks both.
    reserved: ReadOnlyTable<&'static [u8], &'static [u8]>,
    premium: ReadOnlyTable<&'static [u8], &'static [u8]>,
    /// IDN tables, decoded on first use: every check of a TLD with one holds
    /// its names to it, and a table can have thousands of entries.
    idn_tables: std::sync::OnceLock<Vec<Arc<crate::model::idn::IdnTable>>>,
    /// Every TLD's launch timeline, decoded on first use: every domain check
    /// asks its TLD's, and they are a few phases each.
    phases: std::sync::OnceLock<Vec<crate::model::phase::Phase>>,
    /// Served zones, longest apex key first so the first match is the closest.
    zones: Vec<ZoneApex>,
    /// Tells this snapshot's decoded objects apart in [`MEMO`]; unique in the process.
    memo_id: u64,
    pub generation: u64,
}

/// Registrars and name servers decoded once per snapshot and thread for the
/// public lookups: a registry has few registrars, and most domains delegate
/// to a few thousand shared name servers. Per thread, so that lookups on
/// different threads never meet on a lock or a cache line.
struct Memo {
    snapshot: u64,
    registrars: FxHashMap<ClientId, Arc<Registrar>>,
    hosts: FxHashMap<Roid, Arc<Host>>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo { snapshot: 0, registrars: FxHashMap::default(), hosts: FxHashMap::default() });
}

/// Bounds the memory a thread's memo holds beyond the store's own cache.
const MEMO_ENTRIES_MAX: usize = 16_384;

static NEXT_MEMO_ID: AtomicU64 = AtomicU64::new(1);

/// `keep` says whether a loaded value is worth keeping (likely to be asked again).
fn memoized<K: Hash + Eq + Clone, V>(
    snapshot: u64,
    table: impl Fn(&mut Memo) -> &mut FxHashMap<K, Arc<V>>,
    key: &K,
    load: impl FnOnce() -> Result<Option<V>, StoreError>,
    keep: impl FnOnce(&V) -> bool,
) -> Result<Option<Arc<V>>, StoreError> {
    let found = MEMO.with_borrow_mut(|memo| {
        if memo.snapshot != snapshot {
            memo.snapshot = snapshot;
            memo.registrars.clear();
            memo.hosts.clear();
        }
        table(memo).get(key).cloned()
    });
    if found.is_some() {
        return Ok(found);
    }
    let Some(value) = load()? else { return Ok(None) };
    let value = Arc::new(value);
    if !keep(&value) {
        return Ok(Some(value));
    }
    MEMO.with_borrow_mut(|memo| {
        if memo.snapshot == snapshot {
            let entries = table(memo);
            if entries.len() < MEMO_ENTRIES_MAX {
                entries.insert(key.clone(), value.clone());
            }
        }
    });
    Ok(Some(value))
}

impl Snapshot {
    pub(super) fn new(txn: ReadTransaction, generation: u64) -> Result<Self, StoreError> {
        let zone = txn.open_table(ZONE)?;
        let mut zones = Vec::new();
        let signing = txn.open_table(DNSSEC)?;
        let nsec3 = txn.open_table(NSEC3)?;
        for item in txn.open_table(TLDS)?.iter()? {
            let (k, v) = item?;
            let mut apex = ZoneApex::new(codec::decode::<Tld>(v.value(), "tld")?);
            let denial = get::<crate::model::dnssec::ZoneSigning>(&signing, k.value(), "zone signing")?.map(|s| s.denial);
            apex.signed = denial.is_some();
            apex.nsec = denial == Some(crate::model::dnssec::Denial::Nsec);
            if apex.signed
                && let Some(row) = zone.get(apex.key.as_slice())?
            {
                let row = codec::RowView::new(row.value())?;
                let sigs = row.get(crate::model::zone::rtype::RRSIG);
                apex.soa_rrsigs = sigs.iter().flat_map(|s| s.covering(crate::model::zone::rtype::SOA)).map(<[u8]>::to_vec).collect();
            }
            if apex.signed && !apex.nsec {
                let hash = |wire: &[u8]| crate::model::dnssec::nsec3_hash(wire, &[], 0);
                let apex_hash = hash(&apex.wire);
                apex.apex_nsec3 = nsec3_at_or_before(&nsec3, &apex.key, &apex_hash, true)?.filter(|(h, _)| *h == apex_hash);
                let wildcard_hash = hash(&[b"\x01*".as_slice(), &apex.wire].concat());
                apex.apex_wildcard_nsec3 =
                    nsec3_at_or_before(&nsec3, &apex.key, &wildcard_hash, true)?.filter(|(h, _)| *h != wildcard_hash);
            }
            zones.push(apex);
        }
        zones.sort_by(|a, b| b.key.len().cmp(&a.key.len()).then_with(|| a.key.cmp(&b.key)));
        Ok(Snapshot {
            domains: txn.open_table(DOMAINS)?,
            hosts: txn.open_table(HOSTS)?,
            host_by_name: txn.open_table(HOST_BY_NAME)?,
            registrars: txn.open_table(REGISTRARS)?,
            contacts: txn.open_table(CONTACTS)?,
            reserved: txn.open_table(RESERVED)?,
            premium: txn.open_table(PREMIUM)?,
            idn_tables: std::sync::OnceLock::new(),
            phases: std::sync::OnceLock::new(),
            nsec3,
            txn,
            zone,
            zones,
            memo_id: NEXT_MEMO_ID.fetch_add(1, Ordering::Relaxed),
            generation,
        })
    }

    /// What memos of this snapshot's objects are keyed by: unique in the
    /// process, except that snapshots with the same objects may share it.
    pub fn memo_id(&self) -> u64 {
        self.memo_id
    }

    /// Declares that this snapshot's registry objects are those of `previous`
    /// (only counters changed since), so that what was decoded or rendered
    /// from `previous` is reused.
    pub fn keep_memo_of(&mut self, previous: &Snapshot) {
        self.memo_id = previous.memo_id;
    }

    pub fn zones(&self) -> &[ZoneApex] {
        &self.zones
    }

    /// The served zone at or above the name with canonical key `key`.
    pub fn zone_for(&self, key: &[u8]) -> Option<&ZoneApex> {
        self.zones.iter().find(|z| key.starts_with(&z.key))
    }

    /// The index in [`Snapshot::zones`] of the zone `key` is in.
    pub fn zone_index_for(&self, key: &[u8]) -> Option<usize> {
        self.zones.iter().position(|z| key.starts_with(&z.key))
    }

    pub fn zone(&self, tld: &DomainName) -> Option<&ZoneApex> {
        self.zones.iter().find(|z| &z.tld.name == tld)
    }

    /// One ordered probe: the row at `key`, or whether anything lies below it.
    pub fn zone_probe(&self, key: &[u8]) -> Result<ZoneProbe<'_>, StoreError> {
        let mut range = self.zone.range::<&[u8]>(key..)?;
        match range.next() {
            Some(item) => {
                let (k, v) = item?;
                if k.value() == key {
                    Ok(ZoneProbe::Row(v))
                } else if k.value().starts_with(key) {
                    Ok(ZoneProbe::EmptyNonTerminal)
                } else {
                    Ok(ZoneProbe::Absent)
                }
            }
            None => Ok(ZoneProbe::Absent),
        }
    }

    pub fn zone_row(&self, key: &[u8]) -> Result<Option<redb::AccessGuard<'_, &'static [u8]>>, StoreError> {
        Ok(self.zone.get(key)?)
    }

    pub fn zone_signing(&self, tld: &DomainName) -> Result<Option<crate::model::dnssec::ZoneSigning>, StoreError> {
        get(&self.txn.open_table(DNSSEC)?, tld.as_str(), "zone signing")
    }

    /// The earliest expiration of any signature in `apex`'s zone (Unix
    /// seconds; RFC 4034 serial arithmetic), or `None` when it has none. Reads
    /// every row: for status, not for answers.
    pub fn earliest_signature_expiry(&self, apex: &ZoneApex, now: u32) -> Result<Option<u32>, StoreError> {
        let mut earliest = None;
        for item in self.zone_rows(apex)? {
            earliest = earlier_expiry(earliest, earliest_in_row(item?.1.value(), now)?, now);
        }
        for item in self.nsec3_rows(apex)? {
            earliest = earlier_expiry(earliest, earliest_in_row(item?.1.value(), now)?, now);
        }
        Ok(earliest)
    }

    /// One stretch of the signature sweep over `apex`'s zone rows (or, with
    /// `nsec3`, its NSEC3 records): up to `rows_max` rows after `after` (from
    /// the start when `None`), and which of them hold a signature due for
    /// refresh at `now` or made by a key that no longer signs.
    pub fn signature_sweep(
        &self,
        apex: &ZoneApex,
        signing: &crate::model::dnssec::ZoneSigning,
        nsec3: bool,
        after: Option<&[u8]>,
        rows_max: usize,
        now: u32,
    ) -> Result<SweepStretch, StoreError> {
        let (table, prefix) = if nsec3 { (&self.nsec3, nsec3_prefix(&apex.key)) } else { (&self.zone, apex.key.clone()) };
        let start = match after {
            Some(after) => std::ops::Bound::Excluded([prefix.as_slice(), after].concat()),
            None => std::ops::Bound::Included(prefix.clone()),
        };
        let mut stretch = SweepStretch { due: Vec::new(), last: None, earliest: None, stale: false };
        let signers = signing.active_signers();
        let mut rows = 0;
        for item in table.range::<&[u8]>((start.as_ref().map(Vec::as_slice), std::ops::Bound::Unbounded))? {
            let (k, v) = item?;
            let Some(id) = k.value().strip_prefix(prefix.as_slice()) else { return Ok(stretch) };
            let earliest = earliest_in_row(v.value(), now)?;
            let stale = holds_stale_signature(v.value(), &signers)?;
            stretch.stale |= stale;
            if stale || earliest.is_some_and(|e| signing.refresh_due(e, now)) {
                stretch.due.push(if nsec3 { id.to_vec() } else { k.value().to_vec() });
            }
            stretch.earliest = earlier_expiry(stretch.earliest, earliest, now);
            rows += 1;
            if rows == rows_max {
                stretch.last = Some(id.to_vec());
                break;
            }
        }
        Ok(stretch)
    }

    /// The NSEC3 record of `apex`'s zone that matches `hash` or, failing
    /// that, covers it: its hash and row (NSEC3 RR and RRSIG); `None` when
    /// the zone has none.
    pub fn nsec3_at_or_before(&self, apex: &ZoneApex, hash: &[u8]) -> Result<Option<Nsec3Entry>, StoreError> {
        nsec3_at_or_before(&self.nsec3, &apex.key, hash, true)
    }

    /// The row of `apex`'s zone whose NSEC record matches or covers the
    /// name with owner key `key`: its owner key and row bytes.
    pub fn nsec_at_or_before(&self, apex: &ZoneApex, key: &[u8]) -> Result<Option<NsecEntry>, StoreError> {
        nsec_at_or_before(&self.zone, &apex.key, key, true)
    }

    /// Every NSEC3 row of a zone, in hash order: `(hash, row bytes)`.
    pub fn nsec3_rows<'a>(
        &'a self,
        apex: &'a ZoneApex,
    ) -> Result<impl Iterator<Item = Result<Nsec3RowEntry<'a>, StoreError>> + 'a, StoreError> {
        let prefix = nsec3_prefix(&apex.key);
        let start = prefix.clone();
        Ok(self
            .nsec3
            .range::<&[u8]>(start.as_slice()..)?
            .map(|item| item.map_err(StoreError::from))
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.value().starts_with(&prefix)))
            .map(|item| item.map(|(k, v)| (k.value()[k.value().len() - crate::model::dnssec::NSEC3_HASH_BYTES..].to_vec(), v))))
    }

    /// Every row of a zone in canonical order, apex first: `(owner key, row bytes)`.
    pub fn zone_rows<'a>(
        &'a self,
        apex: &'a ZoneApex,
    ) -> Result<impl Iterator<Item = Result<ZoneRowEntry<'a>, StoreError>> + 'a, StoreError> {
        let range = self.zone.range::<&[u8]>(apex.key.as_slice()..)?;
        Ok(range
            .map(|item| item.map_err(StoreError::from))
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.value().starts_with(&apex.key)))
            .map(|item| item.map(|(k, v)| (k.value().to_vec(), v))))
    }

    /// Journal entries that take a client at `serial` to the current serial, or
    /// `None` when the journal does not reach back that far.
    pub fn journal_since(&self, tld: &DomainName, serial: u32) -> Result<Option<Vec<JournalEntry>>, StoreError> {
        let table = self.txn.open_table(JOURNAL)?;
        let (start, end) = journal::range(tld.as_str());
        let mut found = None;
        for item in table.range::<&[u8]>(start.as_slice()..end.as_slice())? {
            let (k, v) = item?;
            if JournalEntry::serials(v.value())?.0 == serial {
                found = Some(k.value().to_vec());
                break;
            }
        }
        let Some(first) = found else { return Ok(None) };
        let mut entries = Vec::new();
        for item in table.range::<&[u8]>(first.as_slice()..end.as_slice())? {
            let (_, v) = item?;
            entries.push(JournalEntry::decode(v.value())?);
        }
        Ok(Some(entries))
    }

    pub fn journal_len(&self, tld: &DomainName) -> Result<usize, StoreError> {
        let (start, end) = journal::range(tld.as_str());
        Ok(self.txn.open_table(JOURNAL)?.range::<&[u8]>(start.as_slice()..end.as_slice())?.count())
    }

    pub fn tld(&self, name: &DomainName) -> Option<&Tld> {
        self.zone(name).map(|z| &z.tld)
    }

    pub fn tlds(&self) -> impl Iterator<Item = &Tld> {
        self.zones.iter().map(|z| &z.tld)
    }

    /// The served TLD a name belongs to (the closest enclosing one).
    pub fn tld_of(&self, name: &DomainName) -> Option<&Tld> {
        self.zone_for(&name.canonical_key()).map(|z| &z.tld)
    }

    pub fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        get(&self.registrars, id.as_str(), "registrar")
    }

    /// A registrar decoded at most once per snapshot.
    pub fn registrar_shared(&self, id: &ClientId) -> Result<Option<Arc<Registrar>>, StoreError> {
        memoized(self.memo_id, |m| &mut m.registrars, id, || self.registrar(id), |_| true)
    }

    /// How many objects of each kind are stored (redb keeps table lengths, so this reads no rows).
    pub fn object_counts(&self) -> Result<ObjectCounts, StoreError> {
        Ok(ObjectCounts {
            registrars: self.registrars.len()?,
            contacts: self.contacts.len()?,
            domains: self.domains.len()?,
            hosts: self.hosts.len()?,
        })
    }

    pub fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        let mut out = Vec::new();
        for item in self.registrars.iter()? {
            out.push(codec::decode(item?.1.value(), "registrar")?);
        }
        Ok(out)
    }

    pub fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        get(&self.contacts, id.as_str(), "contact")
    }

    pub fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        super::tables::get_domain(&self.domains, name)
    }

    /// Domains of a TLD in canonical order, after `after`, at most `limit`.
    pub fn domains(&self, tld: &DomainName, after: Option<&DomainName>, limit: usize) -> Result<Vec<Domain>, StoreError> {
        let table = &self.domains;
        let prefix = tld.canonical_key();
        let start = after.map(|a| a.canonical_key()).unwrap_or_else(|| prefix.clone());
        let mut out = Vec::new();
        for item in table.range::<&[u8]>((Bound::Excluded(start.as_slice()), Bound::Unbounded))? {
            let (k, v) = item?;
            if !k.value().starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(v.value(), "domain")?);
        }
        Ok(out)
    }

    pub fn host(&self, roid: &Roid) -> Result<Option<Host>, StoreError> {
        get(&self.hosts, roid.as_str(), "host")
    }

    /// A host, decoded at most once per snapshot and thread when several domains use it.
    pub fn host_shared(&self, roid: &Roid) -> Result<Option<Arc<Host>>, StoreError> {
        memoized(self.memo_id, |m| &mut m.hosts, roid, || self.host(roid), |h| h.link_count > 1)
    }

    pub fn host_by_name(&self, name: &DomainName) -> Result<Option<Host>, StoreError> {
        match self.host_roid(name)? {
            Some(roid) => self.host(&roid),
            None => Ok(None),
        }
    }

    pub fn host_roid(&self, name: &DomainName) -> Result<Option<Roid>, StoreError> {
        Ok(self.host_by_name.get(name.canonical_key().as_slice())?.map(|r| Roid(r.value().into())))
    }

    /// Hosts in canonical name order, after `after`, at most `limit`.
    pub fn hosts(&self, after: Option<&DomainName>, limit: usize) -> Result<Vec<Host>, StoreError> {
        let (index, hosts) = (&self.host_by_name, &self.hosts);
        let start = after.map(|a| a.canonical_key());
        let range = match &start {
            Some(s) => index.range::<&[u8]>((Bound::Excluded(s.as_slice()), Bound::Unbounded))?,
            None => index.range::<&[u8]>(..)?,
        };
        let mut out = Vec::new();
        for item in range.take(limit) {
            let (_, roid) = item?;
            if let Some(h) = get(hosts, roid.value(), "host")? {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// The oldest message queued for `registrar` and how many are queued.
    pub fn poll_first(&self, registrar: &ClientId) -> Result<(Option<PollMessage>, u64), StoreError> {
        let (meta, table) = (self.txn.open_table(META)?, self.txn.open_table(POLL)?);
        Ok((super::tables::poll_first(&table, registrar)?, super::tables::poll_count(&meta, registrar)?))
    }

    /// Whether any lifecycle deadline is at or before `now`.
    pub fn due_before(&self, now: crate::model::Timestamp) -> Result<bool, StoreError> {
        let table = self.txn.open_table(DUE)?;
        match table.first()? {
            Some((k, _)) => {
                Ok(k.value().get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).is_some_and(|ms| ms as i64 <= now.0))
            }
            None => Ok(false),
        }
    }

    /// The last deposit of `kind` (`full`/`diff`, or `thin`) of `tld`.
    pub fn escrow_cursor(&self, tld: &DomainName, kind: &str) -> Result<Option<crate::model::change::EscrowCursor>, StoreError> {
        let key = crate::model::change::EscrowCursor::key(tld, kind);
        get(&self.txn.open_table(META)?, key.as_str(), "escrow cursor")
    }

    /// The number of the newest change log entry (0 for none).
    pub fn last_change(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(CHANGES)?.last()?.map_or(0, |(k, _)| k.value()))
    }

    /// The highest change log entry dropped for age (0 for none): the log
    /// holds every change after it.
    pub fn changes_dropped_through(&self) -> Result<u64, StoreError> {
        let meta = self.txn.open_table(META)?;
        let Some(v) = meta.get(super::CHANGES_DROPPED_KEY)? else { return Ok(0) };
        Ok(u64::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt(super::CHANGES_DROPPED_KEY.into()))?))
    }

    /// Change log entries after `after` up to `through`, in order, at most `limit`.
    pub fn changes(&self, after: u64, through: u64, limit: usize) -> Result<Vec<(u64, crate::model::change::Change)>, StoreError> {
        let table = self.txn.open_table(CHANGES)?;
        let mut out = Vec::new();
        for item in table.range(after.saturating_add(1)..=through)?.take(limit) {
            let (k, v) = item?;
            out.push((k.value(), codec::decode(v.value(), "change")?));
        }
        Ok(out)
    }

    /// The transaction records of `tld` reported in `from..to`, in reporting order.
    pub fn transactions(
        &self,
        tld: &DomainName,
        from: crate::model::Timestamp,
        to: crate::model::Timestamp,
    ) -> Result<Vec<crate::model::report::TransactionRecord>, StoreError> {
        let table = self.txn.open_table(TRANSACTIONS)?;
        let (start, end) = (super::transaction_key(tld.as_str(), from.0, 0), super::transaction_key(tld.as_str(), to.0, 0));
        let mut out = Vec::new();
        for item in table.range::<&[u8]>(start.as_slice()..end.as_slice())? {
            out.push(codec::decode(item?.1.value(), "transaction record")?);
        }
        Ok(out)
    }

    /// `tld`'s IDN table, if it has one.
    pub fn idn_table(&self, tld: &DomainName) -> Result<Option<Arc<crate::model::idn::IdnTable>>, StoreError> {
        if self.idn_tables.get().is_none() {
            let mut tables = Vec::new();
            for item in self.txn.open_table(IDN_TABLES)?.iter()? {
                tables.push(Arc::new(codec::decode(item?.1.value(), "IDN table")?));
            }
            // Another thread may have decoded them meanwhile: the same tables.
            let _ = self.idn_tables.set(tables);
        }
        Ok(self.idn_tables.get().and_then(|tables| tables.iter().find(|t| &t.tld == tld)).cloned())
    }

    /// `tld`'s launch timeline, in order.
    pub fn phases(&self, tld: &DomainName) -> Result<Vec<crate::model::phase::Phase>, StoreError> {
        if self.phases.get().is_none() {
            let mut all = Vec::new();
            for item in self.txn.open_table(PHASES)?.iter()? {
                all.push(codec::decode(item?.1.value(), "phase")?);
            }
            // Another thread may have decoded them meanwhile: the same phases.
            let _ = self.phases.set(all);
        }
        Ok(self.phases.get().map(|all| all.iter().filter(|p| &p.tld == tld).cloned().collect()).unwrap_or_default())
    }

    /// A page of `registrar`'s account history: the entries after `after`, oldest first.
    pub fn ledger(
        &self,
        registrar: &ClientId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::model::ledger::LedgerEntry>, StoreError> {
        let table = self.txn.open_table(LEDGER)?;
        let prefix = super::name_prefix(registrar.as_str());
        let from = super::ledger_key(registrar.as_str(), after.map_or(0, |a| a.saturating_add(1)));
        let mut out = Vec::new();
        for item in table.range(from.as_slice()..)? {
            let (key, value) = item?;
            if !key.value().starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(value.value(), "ledger entry")?);
        }
        Ok(out)
    }

    /// Whether `tld` is a gTLD (only IANA-accredited registrars act on it).
    pub fn is_gtld(&self, tld: &DomainName) -> Result<bool, StoreError> {
        self.meta_has(&super::gtld_key(tld.as_str()))
    }

    fn meta_has(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.txn.open_table(META)?.get(key)?.is_some())
    }

    /// IANA's registrar list, once loaded, sorted by id.
    pub fn iana_registrars(&self) -> Result<Option<Vec<crate::model::iana::IanaRegistrar>>, StoreError> {
        get(&self.txn.open_table(META)?, super::IANA_REGISTRARS_KEY, "IANA registrar list")
    }

    /// `tld`'s launch registrations made from `from` to `to`, both
    /// included, oldest first (a scan of the TLD's, which LORDN runs make
    /// a few times a day).
    pub fn launch_registrations(
        &self,
        tld: &DomainName,
        from: crate::model::Timestamp,
        to: crate::model::Timestamp,
    ) -> Result<Vec<crate::model::tmch::LaunchRegistration>, StoreError> {
        let table = self.txn.open_table(LAUNCH_REGISTRATIONS)?;
        let prefix = super::name_prefix(tld.as_str());
        let mut out: Vec<crate::model::tmch::LaunchRegistration> = Vec::new();
        for item in table.range(prefix.as_slice()..)? {
            let (key, value) = item?;
            if !key.value().starts_with(&prefix) {
                break;
            }
            let r: crate::model::tmch::LaunchRegistration = codec::decode(value.value(), "launch registration")?;
            if from <= r.created && r.created <= to {
                out.push(r);
            }
        }
        out.sort_by_key(|r| r.created);
        Ok(out)
    }

    /// How `name` of `tld` was created in a launch phase, if it was.
    pub fn launch_registration(
        &self,
        tld: &DomainName,
        name: &DomainName,
    ) -> Result<Option<crate::model::tmch::LaunchRegistration>, StoreError> {
        let table = self.txn.open_table(LAUNCH_REGISTRATIONS)?;
        let key = super::launch_registration_key(tld.as_str(), name.as_str());
        match table.get(key.as_slice())? {
            Some(v) => Ok(Some(codec::decode(v.value(), "launch registration")?)),
            None => Ok(None),
        }
    }

    /// The trust signed marks are verified against, once loaded.
    pub fn tmch_trust(&self) -> Result<Option<crate::model::tmch::TmchTrust>, StoreError> {
        get(&self.txn.open_table(TMCH)?, super::TMCH_TRUST_KEY, "TMCH trust")
    }

    /// The DNL's entry for `label`, if it is under claims.
    pub fn claims_label(&self, label: &str) -> Result<Option<crate::model::tmch::ClaimsLabel>, StoreError> {
        get(&self.txn.open_table(TMCH)?, &format!("{}{label}", super::TMCH_DNL_PREFIX), "DNL label")
    }

    /// How many labels the DNL holds, and how many revoked signed marks.
    pub fn tmch_list_sizes(&self) -> Result<(u64, u64), StoreError> {
        let table = self.txn.open_table(TMCH)?;
        let count = |prefix: &str| -> Result<u64, StoreError> {
            let mut n = 0;
            for item in table.range(prefix..)? {
                if !item?.0.value().starts_with(prefix) {
                    break;
                }
                n += 1;
            }
            Ok(n)
        };
        Ok((count(super::TMCH_DNL_PREFIX)?, count(super::TMCH_SMDRL_PREFIX)?))
    }

    /// An allocation token, by its text.
    pub fn token(&self, token: &str) -> Result<Option<crate::model::token::AllocationToken>, StoreError> {
        get(&self.txn.open_table(TOKENS)?, token, "allocation token")
    }

    pub fn application(&self, id: &str) -> Result<Option<crate::model::application::Application>, StoreError> {
        get(&self.txn.open_table(APPLICATIONS)?, id, "application")
    }

    /// The applications for names of `tld`, oldest first.
    pub fn applications(&self, tld: &DomainName) -> Result<Vec<crate::model::application::Application>, StoreError> {
        let mut out = Vec::new();
        for item in self.txn.open_table(APPLICATIONS)?.iter()? {
            let a: crate::model::application::Application = codec::decode(item?.1.value(), "application")?;
            if &a.tld == tld {
                out.push(a);
            }
        }
        out.sort_by_key(|a| a.created);
        Ok(out)
    }

    /// The allocation tokens of `tld`.
    pub fn tokens(&self, tld: &DomainName) -> Result<Vec<crate::model::token::AllocationToken>, StoreError> {
        let mut out = Vec::new();
        for item in self.txn.open_table(TOKENS)?.iter()? {
            let token: crate::model::token::AllocationToken = codec::decode(item?.1.value(), "allocation token")?;
            if &token.tld == tld {
                out.push(token);
            }
        }
        Ok(out)
    }

    /// Whether `registrar` may act on `tld`.
    pub fn accredited(&self, tld: &DomainName, registrar: &ClientId) -> Result<bool, StoreError> {
        Ok(self.accreditation(tld, registrar)?.is_some())
    }

    /// `registrar`'s accreditation for `tld`, if it has one.
    pub fn accreditation(&self, tld: &DomainName, registrar: &ClientId) -> Result<Option<Accreditation>, StoreError> {
        let key = super::accreditation_key(tld.as_str(), registrar.as_str());
        self.txn.open_table(ACCREDITATIONS)?.get(key.as_slice())?.map(|v| codec::decode(v.value(), "accreditation")).transpose()
    }

    /// The registrars accredited for `tld`.
    pub fn accredited_registrars(&self, tld: &DomainName) -> Result<Vec<ClientId>, StoreError> {
        let table = self.txn.open_table(ACCREDITATIONS)?;
        let prefix = super::name_prefix(tld.as_str());
        let mut out = Vec::new();
        for item in table.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, _) = item?;
            let Some(id) = k.value().strip_prefix(prefix.as_slice()) else { break };
            let id = std::str::from_utf8(id).ok().and_then(|t| ClientId::parse(t).ok());
            out.push(id.ok_or_else(|| StoreError::Corrupt("an accreditation names no registrar".into()))?);
        }
        Ok(out)
    }

    /// The prices of `name`, if it is a premium name.
    pub fn premium(&self, name: &DomainName) -> Result<Option<crate::model::premium::PremiumName>, StoreError> {
        super::tables::get_by_name(&self.premium, name, "premium name")
    }

    /// The premium prices registered `name` keeps from its creation, if it was a premium name then.
    pub fn grandfathered(&self, name: &DomainName) -> Result<Option<crate::model::premium::PremiumName>, StoreError> {
        super::tables::get_by_name(&self.txn.open_table(GRANDFATHERED)?, name, "grandfathered prices")
    }

    /// The premium names of `tld` after `after` in canonical order, at most `limit`.
    pub fn premium_in(
        &self,
        tld: &DomainName,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<crate::model::premium::PremiumName>, StoreError> {
        names_in(&self.premium, tld, after, limit, "premium name")
    }

    /// The reservation of `name`, if it cannot be registered.
    pub fn reserved(&self, name: &DomainName) -> Result<Option<crate::model::reserved::ReservedName>, StoreError> {
        super::tables::get_by_name(&self.reserved, name, "reserved name")
    }

    /// The reserved names of `tld` after `after` in canonical order, at most `limit`.
    pub fn reserved_in(
        &self,
        tld: &DomainName,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<crate::model::reserved::ReservedName>, StoreError> {
        names_in(&self.reserved, tld, after, limit, "reserved name")
    }

    /// Report counters whose key starts with `prefix`.
    pub fn counters(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let table = self.txn.open_table(COUNTERS)?;
        let mut out = Vec::new();
        for item in table.range::<&str>(prefix..)? {
            let (k, v) = item?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }

    /// Hosts named `name` or below it (a domain's subordinate hosts), at most `limit`.
    pub fn hosts_at_or_below(&self, name: &DomainName, limit: usize) -> Result<Vec<Host>, StoreError> {
        self.hosts_with_key_prefix(&name.canonical_key(), limit)
    }

    /// Hosts whose canonical name key starts with `prefix` (a partial
    /// leftmost label finds the names starting with it), at most `limit`.
    pub fn hosts_with_key_prefix(&self, prefix: &[u8], limit: usize) -> Result<Vec<Host>, StoreError> {
        let (index, hosts) = (&self.host_by_name, &self.hosts);
        let mut out = Vec::new();
        for item in index.range::<&[u8]>(prefix..)? {
            let (k, roid) = item?;
            if !k.value().starts_with(prefix) || out.len() >= limit {
                break;
            }
            if let Some(h) = get(hosts, roid.value(), "host")? {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// Domains whose canonical key starts with `prefix`, at most `limit`.
    pub fn domains_with_key_prefix(&self, prefix: &[u8], limit: usize) -> Result<Vec<Domain>, StoreError> {
        let mut out = Vec::new();
        for item in self.domains.range::<&[u8]>(prefix..)? {
            let (k, v) = item?;
            if !k.value().starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(v.value(), "domain")?);
        }
        Ok(out)
    }

    /// Contacts whose id starts with `prefix`, in id order, at most `limit`.
    pub fn contacts_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Contact>, StoreError> {
        let mut out = Vec::new();
        for item in self.contacts.range::<&str>(prefix..)? {
            let (k, v) = item?;
            if !k.value().starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(v.value(), "contact")?);
        }
        Ok(out)
    }

    /// Contacts in id order, after `after`, at most `limit`.
    pub fn contacts(&self, after: Option<&ContactId>, limit: usize) -> Result<Vec<Contact>, StoreError> {
        let range = match after {
            Some(a) => self.contacts.range::<&str>((Bound::Excluded(a.as_str()), Bound::Unbounded))?,
            None => self.contacts.range::<&str>(..)?,
        };
        let mut out = Vec::new();
        for item in range.take(limit) {
            out.push(codec::decode(item?.1.value(), "contact")?);
        }
        Ok(out)
    }

    /// Names of the domains that delegate to a host (at most `limit`).
    pub fn host_links(&self, host: &Roid, limit: usize) -> Result<Vec<DomainName>, StoreError> {
        super::tables::host_link_names(&self.txn.open_table(HOST_LINKS)?, host, limit)
    }
}

/// The records of a table keyed by name that lie below `tld`, after
/// `after` in canonical order, at most `limit`.
fn names_in<T: super::record::Stored>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    tld: &DomainName,
    after: Option<&DomainName>,
    limit: usize,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    let prefix = tld.canonical_key();
    let after = after.map(DomainName::canonical_key);
    let start = after.clone().unwrap_or_else(|| prefix.clone());
    let mut out = Vec::new();
    for item in table.range::<&[u8]>(start.as_slice()..)? {
        let (k, v) = item?;
        if !k.value().starts_with(&prefix) || out.len() >= limit {
            break;
        }
        if after.as_deref() == Some(k.value()) {
            continue;
        }
        out.push(codec::decode(v.value(), what)?);
    }
    Ok(out)
}

/// The phases of `tld` in a phases table, in order.
pub(super) fn phases_of(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    tld: &DomainName,
) -> Result<Vec<crate::model::phase::Phase>, StoreError> {
    let prefix = super::name_prefix(tld.as_str());
    let mut out = Vec::new();
    for item in table.range::<&[u8]>(prefix.as_slice()..)? {
        let (k, v) = item?;
        if !k.value().starts_with(&prefix) {
            break;
        }
        out.push(codec::decode(v.value(), "phase")?);
    }
    Ok(out)
}
