//! Typed access to every table inside one write transaction. The registry
//! writer opens these once per batch of commands; nothing else writes.

use std::collections::BTreeSet;

use redb::{ReadableTable, Table, WriteTransaction};

use super::journal::{self, JournalEntry};
use super::read::get;
use super::{
    CONTACTS, COUNTERS, DOMAINS, DUE, HOST_BY_NAME, HOST_LINKS, HOSTS, JOURNAL, META, POLL, REGISTRARS, StoreError, TLDS, ZONE, codec,
};
use crate::model::zone::ZoneRow;
use crate::model::{ClientId, Contact, ContactId, Domain, DomainName, Host, PollMessage, Registrar, Roid, Timestamp, Tld};

pub struct WriteTables<'t> {
    meta: Table<'t, &'static str, &'static [u8]>,
    tlds: Table<'t, &'static str, &'static [u8]>,
    registrars: Table<'t, &'static str, &'static [u8]>,
    contacts: Table<'t, &'static str, &'static [u8]>,
    domains: Table<'t, &'static [u8], &'static [u8]>,
    hosts: Table<'t, &'static str, &'static [u8]>,
    host_by_name: Table<'t, &'static [u8], &'static str>,
    host_links: Table<'t, &'static [u8], ()>,
    zone: Table<'t, &'static [u8], &'static [u8]>,
    journal: Table<'t, &'static [u8], &'static [u8]>,
    poll: Table<'t, &'static [u8], &'static [u8]>,
    due: Table<'t, &'static [u8], ()>,
    counters: Table<'t, &'static str, u64>,
}

impl<'t> WriteTables<'t> {
    pub fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(WriteTables {
            meta: txn.open_table(META)?,
            tlds: txn.open_table(TLDS)?,
            registrars: txn.open_table(REGISTRARS)?,
            contacts: txn.open_table(CONTACTS)?,
            domains: txn.open_table(DOMAINS)?,
            hosts: txn.open_table(HOSTS)?,
            host_by_name: txn.open_table(HOST_BY_NAME)?,
            host_links: txn.open_table(HOST_LINKS)?,
            zone: txn.open_table(ZONE)?,
            journal: txn.open_table(JOURNAL)?,
            poll: txn.open_table(POLL)?,
            due: txn.open_table(DUE)?,
            counters: txn.open_table(COUNTERS)?,
        })
    }

    /// Next value of a named counter (ROID numbers), starting at 1.
    pub fn next_sequence(&mut self, name: &str) -> Result<u64, StoreError> {
        self.reserve_sequence(name, 1)
    }

    /// Reserves `count` consecutive values of a named counter; returns the first.
    pub fn reserve_sequence(&mut self, name: &str, count: u64) -> Result<u64, StoreError> {
        let key = format!("seq:{name}");
        let current = match self.meta.get(key.as_str())? {
            Some(v) => u64::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt(key.clone()))?),
            None => 0,
        };
        self.meta.insert(key.as_str(), (current + count).to_be_bytes().as_slice())?;
        Ok(current + 1)
    }

    pub fn tld(&self, name: &DomainName) -> Result<Option<Tld>, StoreError> {
        get(&self.tlds, name.as_str(), "tld")
    }

    pub fn tlds(&self) -> Result<Vec<Tld>, StoreError> {
        let mut out = Vec::new();
        for item in self.tlds.iter()? {
            out.push(codec::decode(item?.1.value(), "tld")?);
        }
        Ok(out)
    }

    pub fn put_tld(&mut self, tld: &Tld) -> Result<(), StoreError> {
        self.tlds.insert(tld.name.as_str(), codec::encode(tld).as_slice())?;
        Ok(())
    }

    pub fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        get(&self.registrars, id.as_str(), "registrar")
    }

    pub fn put_registrar(&mut self, registrar: &Registrar) -> Result<(), StoreError> {
        self.registrars.insert(registrar.id.as_str(), codec::encode(registrar).as_slice())?;
        Ok(())
    }

    pub fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        get(&self.contacts, id.as_str(), "contact")
    }

    pub fn put_contact(&mut self, contact: &Contact) -> Result<(), StoreError> {
        self.contacts.insert(contact.id.as_str(), codec::encode(contact).as_slice())?;
        Ok(())
    }

    pub fn delete_contact(&mut self, id: &ContactId) -> Result<(), StoreError> {
        self.contacts.remove(id.as_str())?;
        Ok(())
    }

    pub fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        get_domain(&self.domains, name)
    }

    pub fn put_domain(&mut self, domain: &Domain) -> Result<(), StoreError> {
        self.domains.insert(domain.name.canonical_key().as_slice(), codec::encode(domain).as_slice())?;
        Ok(())
    }

    pub fn delete_domain(&mut self, name: &DomainName) -> Result<(), StoreError> {
        self.domains.remove(name.canonical_key().as_slice())?;
        Ok(())
    }

    /// Whether any domain below `tld` is registered.
    pub fn tld_has_domains(&self, tld: &DomainName) -> Result<bool, StoreError> {
        let prefix = tld.canonical_key();
        match self.domains.range::<&[u8]>(prefix.as_slice()..)?.next() {
            Some(item) => Ok(item?.0.value().starts_with(&prefix)),
            None => Ok(false),
        }
    }

    pub fn host(&self, roid: &Roid) -> Result<Option<Host>, StoreError> {
        get(&self.hosts, roid.as_str(), "host")
    }

    pub fn host_roid(&self, name: &DomainName) -> Result<Option<Roid>, StoreError> {
        Ok(self.host_by_name.get(name.canonical_key().as_slice())?.map(|r| Roid(r.value().into())))
    }

    pub fn host_by_name(&self, name: &DomainName) -> Result<Option<Host>, StoreError> {
        match self.host_roid(name)? {
            Some(roid) => self.host(&roid),
            None => Ok(None),
        }
    }

    /// Stores a host and indexes its current name.
    pub fn put_host(&mut self, host: &Host) -> Result<(), StoreError> {
        self.hosts.insert(host.roid.as_str(), codec::encode(host).as_slice())?;
        self.host_by_name.insert(host.name.canonical_key().as_slice(), host.roid.as_str())?;
        Ok(())
    }

    /// Drops a name from the host index (after a rename or delete).
    pub fn unindex_host_name(&mut self, name: &DomainName) -> Result<(), StoreError> {
        self.host_by_name.remove(name.canonical_key().as_slice())?;
        Ok(())
    }

    pub fn delete_host(&mut self, host: &Host) -> Result<(), StoreError> {
        self.hosts.remove(host.roid.as_str())?;
        self.unindex_host_name(&host.name)
    }

    /// Hosts named `name` or below it: a domain's subordinate hosts (a host
    /// may carry the domain's own name), or every host under a TLD.
    pub fn hosts_at_or_below(&self, name: &DomainName, limit: usize) -> Result<Vec<Host>, StoreError> {
        let prefix = name.canonical_key();
        let mut out = Vec::new();
        for item in self.host_by_name.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, roid) = item?;
            if !k.value().starts_with(&prefix) || out.len() >= limit {
                break;
            }
            if let Some(h) = self.host(&Roid(roid.value().into()))? {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// Every name that has, or may need, a row in `tld`'s zone: current rows,
    /// registered domains and hosts below the apex.
    pub fn owner_names(&self, tld: &DomainName) -> Result<BTreeSet<DomainName>, StoreError> {
        let prefix = tld.canonical_key();
        let mut names = BTreeSet::new();
        let mut add = |key: &[u8]| -> Result<(), StoreError> {
            let name = DomainName::from_canonical_key(key).ok_or_else(|| StoreError::Corrupt("name key".into()))?;
            names.insert(name);
            Ok(())
        };
        for item in self.zone.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, _) = item?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            add(k.value())?;
        }
        for item in self.domains.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, _) = item?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            add(k.value())?;
        }
        for item in self.host_by_name.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, _) = item?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            add(k.value())?;
        }
        Ok(names)
    }

    pub fn link_host(&mut self, host: &Roid, domain: &DomainName) -> Result<(), StoreError> {
        self.host_links.insert(link_key(host, domain).as_slice(), ())?;
        Ok(())
    }

    pub fn unlink_host(&mut self, host: &Roid, domain: &DomainName) -> Result<(), StoreError> {
        self.host_links.remove(link_key(host, domain).as_slice())?;
        Ok(())
    }

    pub fn host_links(&self, host: &Roid, limit: usize) -> Result<Vec<DomainName>, StoreError> {
        host_link_names(&self.host_links, host, limit)
    }

    pub fn zone_row(&self, key: &[u8]) -> Result<Option<ZoneRow>, StoreError> {
        match self.zone.get(key)? {
            Some(v) => Ok(Some(codec::decode_row(v.value())?)),
            None => Ok(None),
        }
    }

    /// Stores a zone row; an empty row removes the name from the zone.
    pub fn put_zone_row(&mut self, key: &[u8], row: &ZoneRow) -> Result<(), StoreError> {
        if row.is_empty() {
            self.zone.remove(key)?;
        } else {
            self.zone.insert(key, codec::encode_row(row).as_slice())?;
        }
        Ok(())
    }

    /// Appends a journal entry and drops the oldest beyond `entries_max`.
    pub fn journal_append(&mut self, tld: &DomainName, entry: &JournalEntry, entries_max: usize) -> Result<(), StoreError> {
        let (start, end) = journal::range(tld.as_str());
        // Sequences are contiguous (trimming removes the oldest first), so the
        // ends give the count without walking the journal.
        let (first, last) = {
            let mut range = self.journal.range::<&[u8]>(start.as_slice()..end.as_slice())?;
            let first = match range.next() {
                Some(item) => Some(journal::seq_of(item?.0.value())?),
                None => None,
            };
            let last = match range.next_back() {
                Some(item) => Some(journal::seq_of(item?.0.value())?),
                None => first,
            };
            (first, last)
        };
        let seq = last.map_or(0, |s| s + 1);
        self.journal.insert(journal::key(tld.as_str(), seq).as_slice(), entry.encode().as_slice())?;
        if let Some(first) = first {
            let count = (seq - first + 1) as usize;
            for old in first..first + count.saturating_sub(entries_max) as u64 {
                self.journal.remove(journal::key(tld.as_str(), old).as_slice())?;
            }
        }
        Ok(())
    }

    /// Queues a message for `registrar`; its id comes from a registry-wide sequence.
    pub fn poll_push(&mut self, registrar: &ClientId, mut message: PollMessage) -> Result<u64, StoreError> {
        message.id = self.next_sequence("poll")?;
        let count = self.poll_count(registrar)?;
        self.poll.insert(poll_key(registrar, message.id).as_slice(), codec::encode(&message).as_slice())?;
        self.meta.insert(poll_count_key(registrar.as_str()).as_str(), (count + 1).to_be_bytes().as_slice())?;
        Ok(message.id)
    }

    /// Removes a message; false when `registrar` has no message with that id.
    pub fn poll_remove(&mut self, registrar: &ClientId, id: u64) -> Result<bool, StoreError> {
        let removed = self.poll.remove(poll_key(registrar, id).as_slice())?.is_some();
        if removed {
            let count = self.poll_count(registrar)?;
            self.meta.insert(poll_count_key(registrar.as_str()).as_str(), count.saturating_sub(1).to_be_bytes().as_slice())?;
        }
        Ok(removed)
    }

    pub fn poll_count(&self, registrar: &ClientId) -> Result<u64, StoreError> {
        poll_count(&self.meta, registrar)
    }

    /// Records a deadline: `kind` happens to `object` at `at`.
    pub fn due_add(&mut self, at: Timestamp, kind: u8, object: &str) -> Result<(), StoreError> {
        self.due.insert(due_key(at, kind, object).as_slice(), ())?;
        Ok(())
    }

    pub fn due_remove(&mut self, at: Timestamp, kind: u8, object: &str) -> Result<(), StoreError> {
        self.due.remove(due_key(at, kind, object).as_slice())?;
        Ok(())
    }

    /// Deadlines at or before `now`, earliest first, at most `limit`.
    pub fn due_until(&self, now: Timestamp, limit: usize) -> Result<Vec<(Timestamp, u8, String)>, StoreError> {
        let end = due_key(now, u8::MAX, "\u{10FFFF}");
        let mut out = Vec::new();
        for item in self.due.range::<&[u8]>(..end.as_slice())?.take(limit) {
            out.push(parse_due_key(item?.0.value())?);
        }
        Ok(out)
    }

    /// Adds to a report counter.
    pub fn count(&mut self, key: &str, delta: u64) -> Result<(), StoreError> {
        let current = self.counters.get(key)?.map(|v| v.value()).unwrap_or(0);
        self.counters.insert(key, current + delta)?;
        Ok(())
    }

    /// Forgets a zone's history: IXFR clients then fall back to AXFR.
    pub fn journal_clear(&mut self, tld: &DomainName) -> Result<(), StoreError> {
        let (start, end) = journal::range(tld.as_str());
        self.journal.retain_in::<&[u8], _>(start.as_slice()..end.as_slice(), |_, _| false)?;
        Ok(())
    }
}

pub(super) fn get_domain(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    name: &DomainName,
) -> Result<Option<Domain>, StoreError> {
    match table.get(name.canonical_key().as_slice())? {
        Some(v) => Ok(Some(codec::decode(v.value(), "domain")?)),
        None => Ok(None),
    }
}

fn link_key(host: &Roid, domain: &DomainName) -> Vec<u8> {
    let mut k = Vec::with_capacity(host.as_str().len() + 1 + domain.as_str().len());
    k.extend_from_slice(host.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(domain.as_str().as_bytes());
    k
}

pub(super) fn host_link_names(
    table: &impl ReadableTable<&'static [u8], ()>,
    host: &Roid,
    limit: usize,
) -> Result<Vec<DomainName>, StoreError> {
    let mut prefix = host.as_str().as_bytes().to_vec();
    prefix.push(0);
    let mut out = Vec::new();
    for item in table.range::<&[u8]>(prefix.as_slice()..)?.take(limit) {
        let (k, _) = item?;
        let Some(name) = k.value().strip_prefix(prefix.as_slice()) else {
            break;
        };
        let text = std::str::from_utf8(name).map_err(|_| StoreError::Corrupt("host link".into()))?;
        out.push(DomainName::parse(text).map_err(|_| StoreError::Corrupt("host link".into()))?);
    }
    Ok(out)
}

pub(super) fn poll_key(registrar: &ClientId, id: u64) -> Vec<u8> {
    let mut k = registrar.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn poll_range(registrar: &ClientId) -> (Vec<u8>, Vec<u8>) {
    let mut start = registrar.as_str().as_bytes().to_vec();
    start.push(0);
    let mut end = registrar.as_str().as_bytes().to_vec();
    end.push(1);
    (start, end)
}

/// Where the length of a registrar's queue is kept (`meta`), so that a poll
/// or an ack does not walk a queue that may hold many thousand messages.
pub(super) fn poll_count_key(registrar: &str) -> String {
    format!("poll_count:{registrar}")
}

pub(super) fn poll_count(meta: &impl ReadableTable<&'static str, &'static [u8]>, registrar: &ClientId) -> Result<u64, StoreError> {
    let key = poll_count_key(registrar.as_str());
    match meta.get(key.as_str())? {
        Some(v) => Ok(u64::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt(key))?)),
        None => Ok(0),
    }
}

/// The oldest message queued for `registrar`.
pub(super) fn poll_first(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    registrar: &ClientId,
) -> Result<Option<PollMessage>, StoreError> {
    let (start, end) = poll_range(registrar);
    match table.range::<&[u8]>(start.as_slice()..end.as_slice())?.next() {
        Some(item) => Ok(Some(codec::decode(item?.1.value(), "poll message")?)),
        None => Ok(None),
    }
}

/// Deadline keys sort by time: milliseconds (non-negative), kind, object.
fn due_key(at: Timestamp, kind: u8, object: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + object.len());
    k.extend_from_slice(&(at.0.max(0) as u64).to_be_bytes());
    k.push(kind);
    k.extend_from_slice(object.as_bytes());
    k
}

fn parse_due_key(key: &[u8]) -> Result<(Timestamp, u8, String), StoreError> {
    let corrupt = || StoreError::Corrupt("due key".into());
    let ms = u64::from_be_bytes(key.get(..8).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?);
    let kind = *key.get(8).ok_or_else(corrupt)?;
    let object = std::str::from_utf8(&key[9..]).map_err(|_| corrupt())?.to_string();
    Ok((Timestamp(ms as i64), kind, object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_queue_lengths_follow_pushes_and_acks() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(&dir.path().join("r.redb"), 1 << 20).unwrap();
        let (a, b) = (ClientId::parse("reg-a").unwrap(), ClientId::parse("reg-b").unwrap());
        let transfer = crate::model::Transfer {
            status: crate::model::TransferStatus::Pending,
            gaining: b.clone(),
            requested: Timestamp(0),
            losing: a.clone(),
            acted: Timestamp(0),
            years: 0,
            new_expires: None,
            fee: crate::model::Money(0),
        };
        let message = |text: &str| PollMessage {
            id: 0,
            queued: Timestamp(0),
            text: text.into(),
            payload: crate::model::poll::PollPayload::ContactTransfer {
                id: crate::model::ContactId::parse("c-1").unwrap(),
                transfer: transfer.clone(),
            },
        };
        let txn = store.begin_write().unwrap();
        let mut tables = WriteTables::open(&txn).unwrap();
        let first = tables.poll_push(&a, message("one")).unwrap();
        tables.poll_push(&a, message("two")).unwrap();
        tables.poll_push(&b, message("three")).unwrap();
        assert_eq!((tables.poll_count(&a).unwrap(), tables.poll_count(&b).unwrap()), (2, 1));
        assert!(tables.poll_remove(&a, first).unwrap());
        assert!(!tables.poll_remove(&a, first).unwrap(), "already gone");
        assert!(!tables.poll_remove(&b, first).unwrap(), "not b's");
        assert_eq!((tables.poll_count(&a).unwrap(), tables.poll_count(&b).unwrap()), (1, 1));
    }
}
