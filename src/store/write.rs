//! Typed access to every table inside one write transaction. The registry
//! writer opens these once per batch of commands; nothing else writes.
//!
//! Every change is recorded in an undo log (the key and the bytes it held
//! before), so a command that is refused after it wrote can be rolled back
//! to the point where it started while the rest of its batch commits: a
//! refused command leaves no trace whatever its handler did, because no
//! write can bypass the log. redb's savepoints cannot serve here: they can
//! only be taken before the transaction's first write.

use std::collections::BTreeSet;

use redb::{Key, ReadableTable, Table, Value, WriteTransaction};

use super::journal::{self, JournalEntry};
use super::tables::{
    due_key, get, get_by_name, get_domain, host_link_names, link_key, nsec_at_or_before, nsec3_at_or_before, nsec3_key, nsec3_prefix,
    parse_due_key, poll_count, poll_count_key, poll_key,
};
use super::{
    ACCREDITATIONS, APPLICATION_NAMES, APPLICATIONS, CHANGES, CONTACTS, COUNTERS, DNSSEC, DOMAINS, DUE, GRANDFATHERED, HOST_BY_NAME,
    HOST_LINKS, HOSTS, IDN_TABLES, JOURNAL, LAUNCH_REGISTRATIONS, LEDGER, META, NSEC3, PHASES, POLL, PREMIUM, REGISTRARS, RESERVED,
    StoreError, TLDS, TMCH, TOKENS, TRANSACTIONS, ZONE, codec,
};
use crate::model::change::{Change, ObjectRef};
use crate::model::dnssec::ZoneSigning;
use crate::model::ledger::Accreditation;
use crate::model::zone::ZoneRow;
use crate::model::{ClientId, Contact, ContactId, Domain, DomainName, Host, PollMessage, Registrar, Roid, Timestamp, Tld};

pub(crate) struct WriteTables<'t> {
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
    dnssec: Table<'t, &'static str, &'static [u8]>,
    nsec3: Table<'t, &'static [u8], &'static [u8]>,
    changes: Table<'t, u64, &'static [u8]>,
    transactions: Table<'t, &'static [u8], &'static [u8]>,
    reserved: Table<'t, &'static [u8], &'static [u8]>,
    premium: Table<'t, &'static [u8], &'static [u8]>,
    grandfathered: Table<'t, &'static [u8], &'static [u8]>,
    accreditations: Table<'t, &'static [u8], &'static [u8]>,
    tokens: Table<'t, &'static str, &'static [u8]>,
    applications: Table<'t, &'static str, &'static [u8]>,
    application_names: Table<'t, &'static [u8], ()>,
    phases: Table<'t, &'static [u8], &'static [u8]>,
    idn_tables: Table<'t, &'static str, &'static [u8]>,
    tmch: Table<'t, &'static str, &'static [u8]>,
    launch_registrations: Table<'t, &'static [u8], &'static [u8]>,
    ledger: Table<'t, &'static [u8], &'static [u8]>,
    /// The objects written in this transaction, in order (with repeats),
    /// for the change log; rolled back with the undo log.
    changed: Vec<ObjectRef>,
    /// What each change overwrote, oldest first; `None` when changes are not
    /// recorded (a bulk import, which commits alone or not at all).
    undo: Option<Vec<Undo>>,
}

/// Where a command started: rolling back to it undoes everything after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RollbackPoint {
    undo: usize,
    changed: usize,
}

#[derive(Debug, Clone, Copy)]
enum TableId {
    Meta,
    Tlds,
    Registrars,
    Contacts,
    Domains,
    Hosts,
    HostByName,
    HostLinks,
    Zone,
    Journal,
    Poll,
    Due,
    Counters,
    Dnssec,
    Nsec3,
    Changes,
    Transactions,
    Reserved,
    Premium,
    Grandfathered,
    Accreditations,
    Tokens,
    Applications,
    ApplicationNames,
    Phases,
    IdnTables,
    Tmch,
    LaunchRegistrations,
    Ledger,
}

/// One change: the key and the value it had before (`None`: it was absent).
struct Undo {
    table: TableId,
    key: Vec<u8>,
    before: Option<Vec<u8>>,
}

/// Inserts and records what the key held before.
fn put<'k, 'v, K: Key + 'static, V: Value + 'static>(
    table: &mut Table<'_, K, V>,
    undo: &mut Option<Vec<Undo>>,
    id: TableId,
    key: K::SelfType<'k>,
    value: V::SelfType<'v>,
) -> Result<(), StoreError> {
    let before = table.insert(&key, &value)?.map(|old| V::as_bytes(&old.value()).as_ref().to_vec());
    if let Some(log) = undo {
        log.push(Undo { table: id, key: K::as_bytes(&key).as_ref().to_vec(), before });
    }
    Ok(())
}

/// Removes and records what the key held; true when it held something.
fn take<'k, K: Key + 'static, V: Value + 'static>(
    table: &mut Table<'_, K, V>,
    undo: &mut Option<Vec<Undo>>,
    id: TableId,
    key: K::SelfType<'k>,
) -> Result<bool, StoreError> {
    let Some(old) = table.remove(&key)? else { return Ok(false) };
    if let Some(log) = undo {
        log.push(Undo { table: id, key: K::as_bytes(&key).as_ref().to_vec(), before: Some(V::as_bytes(&old.value()).as_ref().to_vec()) });
    }
    Ok(true)
}

/// Puts back what one change overwrote.
fn restore<K: Key + 'static, V: Value + 'static>(table: &mut Table<'_, K, V>, undo: &Undo) -> Result<(), StoreError> {
    let key = K::from_bytes(&undo.key);
    match &undo.before {
        Some(value) => {
            table.insert(&key, V::from_bytes(value))?;
        }
        None => {
            table.remove(&key)?;
        }
    }
    Ok(())
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
            dnssec: txn.open_table(DNSSEC)?,
            nsec3: txn.open_table(NSEC3)?,
            changes: txn.open_table(CHANGES)?,
            transactions: txn.open_table(TRANSACTIONS)?,
            reserved: txn.open_table(RESERVED)?,
            premium: txn.open_table(PREMIUM)?,
            grandfathered: txn.open_table(GRANDFATHERED)?,
            accreditations: txn.open_table(ACCREDITATIONS)?,
            tokens: txn.open_table(TOKENS)?,
            applications: txn.open_table(APPLICATIONS)?,
            application_names: txn.open_table(APPLICATION_NAMES)?,
            phases: txn.open_table(PHASES)?,
            idn_tables: txn.open_table(IDN_TABLES)?,
            tmch: txn.open_table(TMCH)?,
            launch_registrations: txn.open_table(LAUNCH_REGISTRATIONS)?,
            ledger: txn.open_table(LEDGER)?,
            changed: Vec::new(),
            undo: Some(Vec::new()),
        })
    }

    /// Stops recording changes: for a bulk import, whose undo log would be as
    /// large as the zone; its batch must then be aborted if it is refused.
    pub fn record_no_undo(&mut self) {
        self.undo = None;
    }

    /// Whether [`WriteTables::roll_back`] can undo changes.
    pub fn keeps_undo(&self) -> bool {
        self.undo.is_some()
    }

    /// The point a command starts from.
    pub fn rollback_point(&self) -> RollbackPoint {
        RollbackPoint { undo: self.undo.as_ref().map_or(0, Vec::len), changed: self.changed.len() }
    }

    /// Undoes every change made since `point`, newest first. Returns false
    /// when changes are not recorded (the transaction must then be aborted).
    pub fn roll_back(&mut self, point: RollbackPoint) -> Result<bool, StoreError> {
        let Some(mut log) = self.undo.take() else { return Ok(false) };
        self.changed.truncate(point.changed);
        let result = (|| {
            while log.len() > point.undo {
                let Some(undo) = log.pop() else { break };
                match undo.table {
                    TableId::Meta => restore(&mut self.meta, &undo)?,
                    TableId::Tlds => restore(&mut self.tlds, &undo)?,
                    TableId::Registrars => restore(&mut self.registrars, &undo)?,
                    TableId::Contacts => restore(&mut self.contacts, &undo)?,
                    TableId::Domains => restore(&mut self.domains, &undo)?,
                    TableId::Hosts => restore(&mut self.hosts, &undo)?,
                    TableId::HostByName => restore(&mut self.host_by_name, &undo)?,
                    TableId::HostLinks => restore(&mut self.host_links, &undo)?,
                    TableId::Zone => restore(&mut self.zone, &undo)?,
                    TableId::Journal => restore(&mut self.journal, &undo)?,
                    TableId::Poll => restore(&mut self.poll, &undo)?,
                    TableId::Due => restore(&mut self.due, &undo)?,
                    TableId::Counters => restore(&mut self.counters, &undo)?,
                    TableId::Dnssec => restore(&mut self.dnssec, &undo)?,
                    TableId::Nsec3 => restore(&mut self.nsec3, &undo)?,
                    TableId::Changes => restore(&mut self.changes, &undo)?,
                    TableId::Transactions => restore(&mut self.transactions, &undo)?,
                    TableId::Reserved => restore(&mut self.reserved, &undo)?,
                    TableId::Premium => restore(&mut self.premium, &undo)?,
                    TableId::Grandfathered => restore(&mut self.grandfathered, &undo)?,
                    TableId::Accreditations => restore(&mut self.accreditations, &undo)?,
                    TableId::Tokens => restore(&mut self.tokens, &undo)?,
                    TableId::Applications => restore(&mut self.applications, &undo)?,
                    TableId::ApplicationNames => restore(&mut self.application_names, &undo)?,
                    TableId::Phases => restore(&mut self.phases, &undo)?,
                    TableId::IdnTables => restore(&mut self.idn_tables, &undo)?,
                    TableId::Tmch => restore(&mut self.tmch, &undo)?,
                    TableId::LaunchRegistrations => restore(&mut self.launch_registrations, &undo)?,
                    TableId::Ledger => restore(&mut self.ledger, &undo)?,
                }
            }
            Ok(())
        })();
        self.undo = Some(log);
        result.map(|()| true)
    }

    /// Forgets the recorded changes once they can no longer be refused.
    pub fn settle(&mut self) {
        if let Some(log) = &mut self.undo {
            log.clear();
        }
    }

    /// Writes the change log entries of this transaction: one per object
    /// written, numbered after the last entry, stamped `at`; and drops up to
    /// as many entries older than `keep_after` (so the log stays bounded by
    /// its retention however busy the registry is). The highest number
    /// dropped is kept in `meta`, so a reader can tell the log no longer
    /// reaches back to a given entry.
    pub fn log_changes(&mut self, at: Timestamp, keep_after: Timestamp) -> Result<(), StoreError> {
        let mut objects = std::mem::take(&mut self.changed);
        if objects.is_empty() {
            return Ok(());
        }
        objects.sort();
        objects.dedup();
        let first = self.changes.last()?.map_or(1, |(k, _)| k.value() + 1);
        for (number, object) in (first..).zip(&objects) {
            let entry = codec::encode(&Change { at, object: object.clone() });
            put(&mut self.changes, &mut self.undo, TableId::Changes, number, entry.as_slice())?;
        }
        let mut old = Vec::new();
        for item in self.changes.iter()?.take(objects.len()) {
            let (k, v) = item?;
            let change: Change = codec::decode(v.value(), "change")?;
            if change.at >= keep_after {
                break;
            }
            old.push(k.value());
        }
        if let Some(&last) = old.last() {
            for key in old {
                take(&mut self.changes, &mut self.undo, TableId::Changes, key)?;
            }
            put(&mut self.meta, &mut self.undo, TableId::Meta, super::CHANGES_DROPPED_KEY, last.to_be_bytes().as_slice())?;
        }
        Ok(())
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
        put(&mut self.meta, &mut self.undo, TableId::Meta, key.as_str(), (current + count).to_be_bytes().as_slice())?;
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

    pub fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        let mut out = Vec::new();
        for item in self.registrars.iter()? {
            out.push(codec::decode(item?.1.value(), "registrar")?);
        }
        Ok(out)
    }

    /// Records the last deposit of its kind of `tld`.
    pub fn put_escrow_cursor(&mut self, tld: &DomainName, cursor: &crate::model::change::EscrowCursor) -> Result<(), StoreError> {
        let key = crate::model::change::EscrowCursor::key(tld, &cursor.kind);
        put(&mut self.meta, &mut self.undo, TableId::Meta, key.as_str(), codec::encode(cursor).as_slice())
    }

    pub fn put_tld(&mut self, tld: &Tld) -> Result<(), StoreError> {
        put(&mut self.tlds, &mut self.undo, TableId::Tlds, tld.name.as_str(), codec::encode(tld).as_slice())?;
        Ok(())
    }

    pub fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        get(&self.registrars, id.as_str(), "registrar")
    }

    pub fn put_registrar(&mut self, registrar: &Registrar) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Registrar(registrar.id.clone()));
        put(&mut self.registrars, &mut self.undo, TableId::Registrars, registrar.id.as_str(), codec::encode(registrar).as_slice())?;
        Ok(())
    }

    pub fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        get(&self.contacts, id.as_str(), "contact")
    }

    pub fn put_contact(&mut self, contact: &Contact) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Contact(contact.id.clone()));
        put(&mut self.contacts, &mut self.undo, TableId::Contacts, contact.id.as_str(), codec::encode(contact).as_slice())?;
        Ok(())
    }

    pub fn delete_contact(&mut self, id: &ContactId) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Contact(id.clone()));
        take(&mut self.contacts, &mut self.undo, TableId::Contacts, id.as_str())?;
        Ok(())
    }

    pub fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        get_domain(&self.domains, name)
    }

    pub fn put_domain(&mut self, domain: &Domain) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Domain(domain.name.clone()));
        put(&mut self.domains, &mut self.undo, TableId::Domains, domain.name.canonical_key().as_slice(), codec::encode(domain).as_slice())?;
        Ok(())
    }

    pub fn delete_domain(&mut self, name: &DomainName) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Domain(name.clone()));
        take(&mut self.domains, &mut self.undo, TableId::Domains, name.canonical_key().as_slice())?;
        Ok(())
    }

    pub fn reserved(&self, name: &DomainName) -> Result<Option<crate::model::reserved::ReservedName>, StoreError> {
        get_by_name(&self.reserved, name, "reserved name")
    }

    pub fn put_reserved(&mut self, reserved: &crate::model::reserved::ReservedName) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Reserved(reserved.name.clone()));
        let key = reserved.name.canonical_key();
        put(&mut self.reserved, &mut self.undo, TableId::Reserved, key.as_slice(), codec::encode(reserved).as_slice())
    }

    pub fn delete_reserved(&mut self, name: &DomainName) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Reserved(name.clone()));
        take(&mut self.reserved, &mut self.undo, TableId::Reserved, name.canonical_key().as_slice())?;
        Ok(())
    }

    pub fn idn_table(&self, tld: &DomainName) -> Result<Option<crate::model::idn::IdnTable>, StoreError> {
        get(&self.idn_tables, tld.as_str(), "IDN table")
    }

    pub fn put_idn_table(&mut self, table: &crate::model::idn::IdnTable) -> Result<(), StoreError> {
        put(&mut self.idn_tables, &mut self.undo, TableId::IdnTables, table.tld.as_str(), codec::encode(table).as_slice())
    }

    pub fn delete_idn_table(&mut self, tld: &DomainName) -> Result<bool, StoreError> {
        take(&mut self.idn_tables, &mut self.undo, TableId::IdnTables, tld.as_str())
    }

    /// `tld`'s launch timeline, in order.
    pub fn phases(&self, tld: &DomainName) -> Result<Vec<crate::model::phase::Phase>, StoreError> {
        super::read::phases_of(&self.phases, tld)
    }

    pub fn put_phase(&mut self, phase: &crate::model::phase::Phase) -> Result<(), StoreError> {
        let key = super::phase_key(phase.tld.as_str(), phase.starts.0);
        put(&mut self.phases, &mut self.undo, TableId::Phases, key.as_slice(), codec::encode(phase).as_slice())
    }

    pub fn delete_phase(&mut self, tld: &DomainName, starts: Timestamp) -> Result<bool, StoreError> {
        take(&mut self.phases, &mut self.undo, TableId::Phases, super::phase_key(tld.as_str(), starts.0).as_slice())
    }

    /// Sets or clears a mark in `meta` (a key whose presence is the value).
    fn set_meta_flag(&mut self, key: &str, on: bool) -> Result<(), StoreError> {
        match on {
            true => put(&mut self.meta, &mut self.undo, TableId::Meta, key, [1u8].as_slice()),
            false => take(&mut self.meta, &mut self.undo, TableId::Meta, key).map(drop),
        }
    }

    pub fn is_gtld(&self, tld: &DomainName) -> Result<bool, StoreError> {
        Ok(self.meta.get(super::gtld_key(tld.as_str()).as_str())?.is_some())
    }

    pub fn set_gtld(&mut self, tld: &DomainName, gtld: bool) -> Result<(), StoreError> {
        self.set_meta_flag(&super::gtld_key(tld.as_str()), gtld)
    }

    pub fn iana_registrars(&self) -> Result<Option<Vec<crate::model::iana::IanaRegistrar>>, StoreError> {
        get(&self.meta, super::IANA_REGISTRARS_KEY, "IANA registrar list")
    }

    pub fn put_iana_registrars(&mut self, list: &Vec<crate::model::iana::IanaRegistrar>) -> Result<(), StoreError> {
        put(&mut self.meta, &mut self.undo, TableId::Meta, super::IANA_REGISTRARS_KEY, codec::encode(list).as_slice())
    }

    pub fn put_launch_registration(&mut self, r: &crate::model::tmch::LaunchRegistration) -> Result<(), StoreError> {
        let key = super::launch_registration_key(r.tld.as_str(), r.domain.as_str());
        put(&mut self.launch_registrations, &mut self.undo, TableId::LaunchRegistrations, key.as_slice(), codec::encode(r).as_slice())
    }

    /// Appends an entry to its registrar's account history.
    pub fn put_ledger_entry(&mut self, entry: &crate::model::ledger::LedgerEntry) -> Result<(), StoreError> {
        let key = super::ledger_key(entry.registrar.as_str(), entry.seq);
        put(&mut self.ledger, &mut self.undo, TableId::Ledger, key.as_slice(), codec::encode(entry).as_slice())
    }

    pub fn put_tmch_trust(&mut self, trust: &crate::model::tmch::TmchTrust) -> Result<(), StoreError> {
        put(&mut self.tmch, &mut self.undo, TableId::Tmch, super::TMCH_TRUST_KEY, codec::encode(trust).as_slice())
    }

    pub fn claims_label(&self, label: &str) -> Result<Option<crate::model::tmch::ClaimsLabel>, StoreError> {
        get(&self.tmch, &format!("{}{label}", super::TMCH_DNL_PREFIX), "DNL label")
    }

    pub fn mark_revoked(&self, smd_id: &str) -> Result<bool, StoreError> {
        Ok(self.tmch.get(format!("{}{smd_id}", super::TMCH_SMDRL_PREFIX).as_str())?.is_some())
    }

    /// Puts the DNL in place of the one held.
    pub fn replace_dnl(&mut self, labels: &[crate::model::tmch::ClaimsLabel]) -> Result<(), StoreError> {
        self.replace_tmch_list(super::TMCH_DNL_PREFIX, labels, |l| &l.label)
    }

    /// Puts the SMD revocation list in place of the one held.
    pub fn replace_smdrl(&mut self, marks: &[crate::model::tmch::RevokedMark]) -> Result<(), StoreError> {
        self.replace_tmch_list(super::TMCH_SMDRL_PREFIX, marks, |m| &m.smd_id)
    }

    /// Replaces the rows under `prefix` with `rows`, each keyed by `key`.
    fn replace_tmch_list<T: super::record::Stored>(
        &mut self,
        prefix: &str,
        rows: &[T],
        key: impl Fn(&T) -> &str,
    ) -> Result<(), StoreError> {
        self.clear_tmch_list(prefix)?;
        for row in rows {
            let key = format!("{prefix}{}", key(row));
            put(&mut self.tmch, &mut self.undo, TableId::Tmch, key.as_str(), codec::encode(row).as_slice())?;
        }
        Ok(())
    }

    fn clear_tmch_list(&mut self, prefix: &str) -> Result<(), StoreError> {
        let mut keys = Vec::new();
        for item in self.tmch.range(prefix..)? {
            let key = item?.0.value().to_string();
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key);
        }
        for key in keys {
            take(&mut self.tmch, &mut self.undo, TableId::Tmch, key.as_str())?;
        }
        Ok(())
    }

    pub fn token(&self, token: &str) -> Result<Option<crate::model::token::AllocationToken>, StoreError> {
        get(&self.tokens, token, "allocation token")
    }

    pub fn put_token(&mut self, token: &crate::model::token::AllocationToken) -> Result<(), StoreError> {
        put(&mut self.tokens, &mut self.undo, TableId::Tokens, token.token.as_str(), codec::encode(token).as_slice())
    }

    pub fn application(&self, id: &str) -> Result<Option<crate::model::application::Application>, StoreError> {
        get(&self.applications, id, "application")
    }

    pub fn put_application(&mut self, a: &crate::model::application::Application) -> Result<(), StoreError> {
        let index = super::application_name_key(a.name.as_str(), &a.id);
        put(&mut self.application_names, &mut self.undo, TableId::ApplicationNames, index.as_slice(), ())?;
        put(&mut self.applications, &mut self.undo, TableId::Applications, a.id.as_str(), codec::encode(a).as_slice())
    }

    /// A withdrawn application is gone.
    pub fn delete_application(&mut self, a: &crate::model::application::Application) -> Result<bool, StoreError> {
        let index = super::application_name_key(a.name.as_str(), &a.id);
        take(&mut self.application_names, &mut self.undo, TableId::ApplicationNames, index.as_slice())?;
        take(&mut self.applications, &mut self.undo, TableId::Applications, a.id.as_str())
    }

    /// The applications for `name`, through its index.
    pub fn applications_for(&self, name: &DomainName) -> Result<Vec<crate::model::application::Application>, StoreError> {
        let prefix = super::name_prefix(name.as_str());
        let mut out = Vec::new();
        for item in self.application_names.range(prefix.as_slice()..)? {
            let (key, _) = item?;
            let Some(id) = key.value().strip_prefix(prefix.as_slice()) else { break };
            let id = std::str::from_utf8(id).map_err(|_| StoreError::Corrupt("application index".into()))?;
            out.extend(self.application(id)?);
        }
        Ok(out)
    }

    /// The applications made in `tld`'s phase beginning at `starts` (all of
    /// them: a TLD has applications only while it launches).
    pub fn applications_of(&self, tld: &DomainName, starts: Timestamp) -> Result<Vec<crate::model::application::Application>, StoreError> {
        let mut out = Vec::new();
        for item in self.applications.iter()? {
            let a: crate::model::application::Application = codec::decode(item?.1.value(), "application")?;
            if &a.tld == tld && a.phase_starts == starts {
                out.push(a);
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
        self.accreditations.get(key.as_slice())?.map(|v| codec::decode(v.value(), "accreditation")).transpose()
    }

    /// The accreditations for `tld`, by registrar.
    pub fn accreditations_for(&self, tld: &DomainName) -> Result<Vec<(ClientId, Accreditation)>, StoreError> {
        let prefix = super::name_prefix(tld.as_str());
        let mut out = Vec::new();
        for item in self.accreditations.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, v) = item?;
            let Some(id) = k.value().strip_prefix(prefix.as_slice()) else { break };
            let id = std::str::from_utf8(id).ok().and_then(|t| ClientId::parse(t).ok());
            let id = id.ok_or_else(|| StoreError::Corrupt("an accreditation names no registrar".into()))?;
            out.push((id, codec::decode(v.value(), "accreditation")?));
        }
        Ok(out)
    }

    pub fn accredit(&mut self, tld: &DomainName, registrar: &ClientId, accreditation: &Accreditation) -> Result<(), StoreError> {
        let key = super::accreditation_key(tld.as_str(), registrar.as_str());
        put(&mut self.accreditations, &mut self.undo, TableId::Accreditations, key.as_slice(), codec::encode(accreditation).as_slice())
    }

    pub fn unaccredit(&mut self, tld: &DomainName, registrar: &ClientId) -> Result<bool, StoreError> {
        let key = super::accreditation_key(tld.as_str(), registrar.as_str());
        take(&mut self.accreditations, &mut self.undo, TableId::Accreditations, key.as_slice())
    }

    pub fn premium(&self, name: &DomainName) -> Result<Option<crate::model::premium::PremiumName>, StoreError> {
        get_by_name(&self.premium, name, "premium name")
    }

    pub fn put_premium(&mut self, premium: &crate::model::premium::PremiumName) -> Result<(), StoreError> {
        let key = premium.name.canonical_key();
        put(&mut self.premium, &mut self.undo, TableId::Premium, key.as_slice(), codec::encode(premium).as_slice())
    }

    pub fn grandfathered(&self, name: &DomainName) -> Result<Option<crate::model::premium::PremiumName>, StoreError> {
        get_by_name(&self.grandfathered, name, "grandfathered prices")
    }

    pub fn put_grandfathered(&mut self, prices: &crate::model::premium::PremiumName) -> Result<(), StoreError> {
        let key = prices.name.canonical_key();
        put(&mut self.grandfathered, &mut self.undo, TableId::Grandfathered, key.as_slice(), codec::encode(prices).as_slice())
    }

    pub fn delete_grandfathered(&mut self, name: &DomainName) -> Result<bool, StoreError> {
        take(&mut self.grandfathered, &mut self.undo, TableId::Grandfathered, name.canonical_key().as_slice())
    }

    pub fn delete_premium(&mut self, name: &DomainName) -> Result<bool, StoreError> {
        take(&mut self.premium, &mut self.undo, TableId::Premium, name.canonical_key().as_slice())
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
        self.changed.push(ObjectRef::Host(host.roid.clone()));
        put(&mut self.hosts, &mut self.undo, TableId::Hosts, host.roid.as_str(), codec::encode(host).as_slice())?;
        put(&mut self.host_by_name, &mut self.undo, TableId::HostByName, host.name.canonical_key().as_slice(), host.roid.as_str())?;
        Ok(())
    }

    /// Drops a name from the host index (after a rename or delete).
    pub fn unindex_host_name(&mut self, name: &DomainName) -> Result<(), StoreError> {
        take(&mut self.host_by_name, &mut self.undo, TableId::HostByName, name.canonical_key().as_slice())?;
        Ok(())
    }

    pub fn delete_host(&mut self, host: &Host) -> Result<(), StoreError> {
        self.changed.push(ObjectRef::Host(host.roid.clone()));
        take(&mut self.hosts, &mut self.undo, TableId::Hosts, host.roid.as_str())?;
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

    /// Whether any domain is registered under `tld`.
    pub fn has_domains(&self, tld: &DomainName) -> Result<bool, StoreError> {
        let prefix = tld.canonical_key();
        match self.domains.range::<&[u8]>(prefix.as_slice()..)?.next() {
            Some(item) => Ok(item?.0.value().starts_with(&prefix)),
            None => Ok(false),
        }
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
        put(&mut self.host_links, &mut self.undo, TableId::HostLinks, link_key(host, domain).as_slice(), ())?;
        Ok(())
    }

    pub fn unlink_host(&mut self, host: &Roid, domain: &DomainName) -> Result<(), StoreError> {
        take(&mut self.host_links, &mut self.undo, TableId::HostLinks, link_key(host, domain).as_slice())?;
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
            take(&mut self.zone, &mut self.undo, TableId::Zone, key)?;
        } else {
            put(&mut self.zone, &mut self.undo, TableId::Zone, key, codec::encode_row(row).as_slice())?;
        }
        Ok(())
    }

    /// The owner keys of every row of the zone at `apex_key`, apex first.
    pub fn zone_keys(&self, apex_key: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.zone_keys_below(apex_key, usize::MAX, true)
    }

    /// Up to `limit` owner keys of the rows at or below `key` (`key` itself
    /// only when `including`).
    pub fn zone_keys_below(&self, key: &[u8], limit: usize, including: bool) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for item in self.zone.range::<&[u8]>(key..)? {
            let (k, _) = item?;
            let k = k.value();
            if !k.starts_with(key) || out.len() >= limit {
                break;
            }
            if including || k != key {
                out.push(k.to_vec());
            }
        }
        Ok(out)
    }

    pub fn zone_signing(&self, tld: &DomainName) -> Result<Option<ZoneSigning>, StoreError> {
        get(&self.dnssec, tld.as_str(), "zone signing")
    }

    pub fn put_zone_signing(&mut self, tld: &DomainName, signing: Option<&ZoneSigning>) -> Result<(), StoreError> {
        match signing {
            Some(s) => put(&mut self.dnssec, &mut self.undo, TableId::Dnssec, tld.as_str(), codec::encode(s).as_slice()),
            None => take(&mut self.dnssec, &mut self.undo, TableId::Dnssec, tld.as_str()).map(drop),
        }
    }

    /// The NSEC3 row (NSEC3 RR and RRSIG) of the zone at `apex_key` for `hash`.
    pub fn nsec3(&self, apex_key: &[u8], hash: &[u8]) -> Result<Option<ZoneRow>, StoreError> {
        match self.nsec3.get(nsec3_key(apex_key, hash).as_slice())? {
            Some(v) => Ok(Some(codec::decode_row(v.value())?)),
            None => Ok(None),
        }
    }

    /// An empty row removes the record.
    pub fn put_nsec3(&mut self, apex_key: &[u8], hash: &[u8], row: &ZoneRow) -> Result<(), StoreError> {
        let key = nsec3_key(apex_key, hash);
        if row.is_empty() {
            take(&mut self.nsec3, &mut self.undo, TableId::Nsec3, key.as_slice()).map(drop)
        } else {
            put(&mut self.nsec3, &mut self.undo, TableId::Nsec3, key.as_slice(), codec::encode_row(row).as_slice())
        }
    }

    /// The zone's NSEC3 hash before `hash` (strictly, wrapping round to the last).
    pub fn nsec3_before(&self, apex_key: &[u8], hash: &[u8]) -> Result<Option<(Vec<u8>, ZoneRow)>, StoreError> {
        match nsec3_at_or_before(&self.nsec3, apex_key, hash, false)? {
            Some((h, v)) => Ok(Some((h, codec::decode_row(&v)?))),
            None => Ok(None),
        }
    }

    /// The row before the owner key `key` (strictly) in the zone at
    /// `apex_key` that holds an NSEC record: the previous link of its chain.
    pub fn nsec_before(&self, apex_key: &[u8], key: &[u8]) -> Result<Option<(Vec<u8>, ZoneRow)>, StoreError> {
        match nsec_at_or_before(&self.zone, apex_key, key, false)? {
            Some((k, v)) => Ok(Some((k, codec::decode_row(&v)?))),
            None => Ok(None),
        }
    }

    /// Every NSEC3 hash of the zone at `apex_key`, in order.
    pub fn nsec3_hashes(&self, apex_key: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = nsec3_prefix(apex_key);
        let mut out = Vec::new();
        for item in self.nsec3.range::<&[u8]>(prefix.as_slice()..)? {
            let (k, _) = item?;
            match k.value().strip_prefix(prefix.as_slice()) {
                Some(hash) if hash.len() == crate::model::dnssec::NSEC3_HASH_BYTES => out.push(hash.to_vec()),
                _ => break,
            }
        }
        Ok(out)
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
        put(&mut self.journal, &mut self.undo, TableId::Journal, journal::key(tld.as_str(), seq).as_slice(), entry.encode().as_slice())?;
        if let Some(first) = first {
            let count = (seq - first + 1) as usize;
            for old in first..first + count.saturating_sub(entries_max) as u64 {
                take(&mut self.journal, &mut self.undo, TableId::Journal, journal::key(tld.as_str(), old).as_slice())?;
            }
        }
        Ok(())
    }

    /// Queues a message for `registrar`; its id comes from a registry-wide sequence.
    pub fn poll_push(&mut self, registrar: &ClientId, mut message: PollMessage) -> Result<u64, StoreError> {
        message.id = self.next_sequence("poll")?;
        let count = self.poll_count(registrar)?;
        put(&mut self.poll, &mut self.undo, TableId::Poll, poll_key(registrar, message.id).as_slice(), codec::encode(&message).as_slice())?;
        put(
            &mut self.meta,
            &mut self.undo,
            TableId::Meta,
            poll_count_key(registrar.as_str()).as_str(),
            (count + 1).to_be_bytes().as_slice(),
        )?;
        Ok(message.id)
    }

    /// Removes a message; false when `registrar` has no message with that id.
    pub fn poll_remove(&mut self, registrar: &ClientId, id: u64) -> Result<bool, StoreError> {
        let removed = take(&mut self.poll, &mut self.undo, TableId::Poll, poll_key(registrar, id).as_slice())?;
        if removed {
            let count = self.poll_count(registrar)?;
            put(
                &mut self.meta,
                &mut self.undo,
                TableId::Meta,
                poll_count_key(registrar.as_str()).as_str(),
                count.saturating_sub(1).to_be_bytes().as_slice(),
            )?;
        }
        Ok(removed)
    }

    pub fn poll_count(&self, registrar: &ClientId) -> Result<u64, StoreError> {
        poll_count(&self.meta, registrar)
    }

    /// Records a deadline: `kind` happens to `object` at `at`.
    pub fn due_add(&mut self, at: Timestamp, kind: u8, object: &str) -> Result<(), StoreError> {
        put(&mut self.due, &mut self.undo, TableId::Due, due_key(at, kind, object).as_slice(), ())?;
        Ok(())
    }

    pub fn due_remove(&mut self, at: Timestamp, kind: u8, object: &str) -> Result<(), StoreError> {
        take(&mut self.due, &mut self.undo, TableId::Due, due_key(at, kind, object).as_slice())?;
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

    /// Writes a transaction record of the monthly reports.
    pub fn put_transaction(&mut self, record: &crate::model::report::TransactionRecord) -> Result<(), StoreError> {
        let seq = match self.meta.get(super::TRANSACTION_SEQ_KEY)? {
            Some(v) => u64::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt(super::TRANSACTION_SEQ_KEY.into()))?) + 1,
            None => 1,
        };
        put(&mut self.meta, &mut self.undo, TableId::Meta, super::TRANSACTION_SEQ_KEY, seq.to_be_bytes().as_slice())?;
        let key = super::transaction_key(record.tld.as_str(), record.reported_at.0, seq);
        put(&mut self.transactions, &mut self.undo, TableId::Transactions, key.as_slice(), codec::encode(record).as_slice())
    }

    /// Sets a report counter.
    pub fn set_count(&mut self, key: &str, value: u64) -> Result<(), StoreError> {
        put(&mut self.counters, &mut self.undo, TableId::Counters, key, value)
    }

    /// Adds to a report counter.
    pub fn count(&mut self, key: &str, delta: u64) -> Result<(), StoreError> {
        let current = self.counters.get(key)?.map(|v| v.value()).unwrap_or(0);
        put(&mut self.counters, &mut self.undo, TableId::Counters, key, current.saturating_add(delta))?;
        Ok(())
    }

    /// Forgets a zone's history: IXFR clients then fall back to AXFR.
    pub fn journal_clear(&mut self, tld: &DomainName) -> Result<(), StoreError> {
        let (start, end) = journal::range(tld.as_str());
        let keys = {
            let mut keys = Vec::new();
            for item in self.journal.range::<&[u8]>(start.as_slice()..end.as_slice())? {
                keys.push(item?.0.value().to_vec());
            }
            keys
        };
        for key in keys {
            take(&mut self.journal, &mut self.undo, TableId::Journal, key.as_slice())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::WriteAccess;

    #[test]
    fn poll_queue_lengths_follow_pushes_and_acks() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(&dir.path().join("r.redb"), 1 << 20, super::super::Upgrade::Refused).unwrap();
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
            currency: None,
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
        let txn = store.begin_write(&WriteAccess::for_tests()).unwrap();
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
