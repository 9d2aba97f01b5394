//! The registry database: one redb file holding the schema version, every
//! registry object, the per-TLD zone rows derived from them and the journal
//! of RR changes. This is the only module that knows tables and byte
//! layouts; the registry writes through [`WriteTables`], everyone else reads
//! consistent [`Snapshot`]s.
//!
//! Tables (schema v1):
//! - `meta`: `schema_version`, sequences (ROIDs, poll message ids)
//! - `tlds` name → [`Tld`]; `registrars` clID → [`Registrar`]; `contacts` id → [`Contact`]
//! - `domains` canonical name key → [`Domain`] (so a TLD's domains are one key range); `hosts` ROID → [`Host`]; `host_by_name` canonical name key → ROID
//! - `host_links` host ROID `\0` domain name → () (which domains delegate to a host)
//! - `zone` canonical owner key → row of RRsets (see [`codec`])
//! - `journal` TLD `\0` sequence → [`JournalEntry`]
//!
//! Added in v2:
//! - `poll` registrar `\0` message id → [`PollMessage`] (the registrar's message queue)
//! - `due` instant, kind, object → () (lifecycle deadlines, earliest first)
//! - `counters` month `|` TLD `|` registrar `|` object `|` command `|` result → count
//!
//! Added in v3:
//! - `meta` `poll_count:`registrar → the length of its poll queue (kept, not counted per poll)
//!
//! Must not: contain business rules.

pub mod backup;
pub mod codec;
mod journal;
mod migrate;
mod read;
pub mod record;
mod tables;
mod write;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

pub use journal::JournalEntry;
pub use read::{ObjectCounts, Snapshot, SweepStretch, ZoneApex, ZoneProbe, earlier_expiry};
pub(crate) use write::WriteTables;

pub(crate) use crate::registry::WriteAccess;

#[allow(unused_imports)] // named in the module docs
use crate::model::{Contact, Domain, Host, Registrar, Tld};

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 13;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const TLDS: TableDefinition<&str, &[u8]> = TableDefinition::new("tlds");
pub(crate) const REGISTRARS: TableDefinition<&str, &[u8]> = TableDefinition::new("registrars");
pub(crate) const CONTACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("contacts");
pub(crate) const DOMAINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("domains");
pub(crate) const HOSTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hosts");
pub(crate) const HOST_BY_NAME: TableDefinition<&[u8], &str> = TableDefinition::new("host_by_name");
pub(crate) const HOST_LINKS: TableDefinition<&[u8], ()> = TableDefinition::new("host_links");
pub(crate) const ZONE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("zone");
pub(crate) const JOURNAL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal");
pub(crate) const POLL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("poll");
pub(crate) const DUE: TableDefinition<&[u8], ()> = TableDefinition::new("due");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// A signed TLD's signing state ([`crate::model::dnssec::ZoneSigning`]) by TLD name.
pub(crate) const DNSSEC: TableDefinition<&str, &[u8]> = TableDefinition::new("dnssec");
/// NSEC3 records of signed zones: apex key, then the 20-byte owner hash,
/// so the record covering a hash is one ordered probe. Values are zone rows
/// (the NSEC3 RR and its RRSIG).
pub(crate) const NSEC3: TableDefinition<&[u8], &[u8]> = TableDefinition::new("nsec3");
/// The change log: entry number (commit order) → which object a commit
/// changed, and when (`model::change::Change`).
pub(crate) const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");
/// Transaction records of the monthly reports (`model::report`): TLD, a
/// zero octet, the reporting time and a sequence number (both big-endian),
/// so a TLD's month is one range.
pub(crate) const TRANSACTIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("transactions");
/// Names that cannot be registered (`model::reserved`), by canonical name key.
pub(crate) const RESERVED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("reserved");
/// Premium names and their prices (`model::premium`), by canonical name key.
pub(crate) const PREMIUM: TableDefinition<&[u8], &[u8]> = TableDefinition::new("premium");
/// TLDs' launch timelines (`model::phase`): TLD, a zero octet, the start.
pub(crate) const PHASES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("phases");

/// The key of `tld`'s phase that begins at `ms` (Unix milliseconds).
pub(crate) fn phase_key(tld: &str, ms: i64) -> Vec<u8> {
    let mut key = name_prefix(tld);
    key.extend_from_slice(&((ms as u64) ^ (1 << 63)).to_be_bytes());
    key
}

/// TLDs' IDN tables (`model::idn`) by TLD.
pub(crate) const IDN_TABLES: TableDefinition<&str, &[u8]> = TableDefinition::new("idn_tables");
/// What the Trademark Clearinghouse gives the registry (`model::tmch`): the
/// trust its signed marks are verified against under `trust`, the DNL's
/// labels under `dnl/<label>`, revoked signed marks under `smdrl/<smd id>`.
pub(crate) const TMCH: TableDefinition<&str, &[u8]> = TableDefinition::new("tmch");
pub(crate) const TMCH_TRUST_KEY: &str = "trust";
pub(crate) const TMCH_DNL_PREFIX: &str = "dnl/";
pub(crate) const TMCH_SMDRL_PREFIX: &str = "smdrl/";
/// The key in `meta` that marks `tld` a gTLD: only registrars IANA
/// accredits may act on it.
pub(crate) fn gtld_key(tld: &str) -> String {
    format!("gtld:{tld}")
}

/// IANA's registrar list (`model::iana`), in `meta` under this key, once loaded.
pub(crate) const IANA_REGISTRARS_KEY: &str = "iana_registrars";
/// The premium prices a registered domain keeps (grandfathered): those
/// its name had when it was created, by canonical name key.
pub(crate) const GRANDFATHERED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("grandfathered");
/// Domains created with a signed mark or a claims notice (`model::tmch`),
/// for `launch:info` and the LORDN files: TLD, a zero octet, the name.
pub(crate) const LAUNCH_REGISTRATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("launch_registrations");

/// The key of the launch registration of `name` under `tld`.
pub(crate) fn launch_registration_key(tld: &str, name: &str) -> Vec<u8> {
    let mut key = name_prefix(tld);
    key.extend_from_slice(name.as_bytes());
    key
}

/// Registrars' account histories (`model::ledger`): registrar, a zero
/// octet, the entry's sequence number.
pub(crate) const LEDGER: TableDefinition<&[u8], &[u8]> = TableDefinition::new("ledger");

/// The key of `registrar`'s ledger entry `seq`.
pub(crate) fn ledger_key(registrar: &str, seq: u64) -> Vec<u8> {
    let mut key = name_prefix(registrar);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}
/// Launch applications (`model::application`) by their id.
pub(crate) const APPLICATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("applications");
/// The ids of the applications for a name, so that a create need not read
/// every application to find those for its name: the name, a zero octet,
/// the id (no value).
pub(crate) const APPLICATION_NAMES: TableDefinition<&[u8], ()> = TableDefinition::new("application_names");

pub(crate) fn application_name_key(name: &str, id: &str) -> Vec<u8> {
    let mut key = name_prefix(name);
    key.extend_from_slice(id.as_bytes());
    key
}
/// Allocation tokens (`model::token`) by their text.
pub(crate) const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
/// Which registrar may act on which TLD: TLD, a zero octet, registrar id →
/// the accreditation (`model::ledger::Accreditation`: since when, which
/// account pays).
pub(crate) const ACCREDITATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("accreditations");

/// The key of `registrar`'s accreditation for `tld`.
pub(crate) fn accreditation_key(tld: &str, registrar: &str) -> Vec<u8> {
    let mut key = name_prefix(tld);
    key.extend_from_slice(registrar.as_bytes());
    key
}

const SCHEMA_KEY: &str = "schema_version";
/// In `meta`: the highest change log entry dropped for age.
pub(crate) const CHANGES_DROPPED_KEY: &str = "changes_dropped_through";
/// In `meta`: the last transaction record's sequence number.
pub(crate) const TRANSACTION_SEQ_KEY: &str = "transaction_seq";

/// Where the keys of a TLD's or a registrar's rows begin in the tables
/// keyed by one of them first (transactions, accreditations, phases, launch
/// registrations, ledger): the name and a zero octet, so one owner's rows
/// are one range and no owner's range holds another's.
pub(crate) fn name_prefix(tld: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(tld.len() + 24);
    key.extend_from_slice(tld.as_bytes());
    key.push(0);
    key
}

/// The key of a transaction record of `tld` reported at `ms` (Unix
/// milliseconds) numbered `seq`; `seq` 0 starts the records at `ms`.
pub(crate) fn transaction_key(tld: &str, ms: i64, seq: u64) -> Vec<u8> {
    let mut key = name_prefix(tld);
    key.extend_from_slice(&((ms as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the database is open in another process (is the daemon running?)")]
    Locked,
    #[error("the database was written by a newer domain-os (schema {found}, this build reads {supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("the database is at schema {found}; `domain-os store upgrade` (or `serve`) upgrades it to {supported} first")]
    OlderSchema { found: u32, supported: u32 },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The disk refused a read, write or fsync (full, failing, gone). Nothing
    /// in the failed transaction was acknowledged; the daemon stops so that
    /// its supervisor reopens the store (redb refuses every later write in
    /// this process once one I/O error occurred).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Db(String),
}

impl StoreError {
    /// Whether the store can take no more writes in this process.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Io(io) => StoreError::Unavailable(io.to_string()),
            redb::Error::PreviousIo => StoreError::Unavailable("an earlier write failed; the store must be reopened".into()),
            redb::Error::Corrupted(what) => StoreError::Corrupt(what),
            other => StoreError::Db(other.to_string()),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::from(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
            other => StoreError::from(redb::Error::from(other)),
        }
    }
}

/// A store opened only to read (`zone export` offline): it never writes,
/// creates or migrates anything, and reads only this build's schema.
pub struct ReadOnlyStore {
    db: redb::ReadOnlyDatabase,
}

impl ReadOnlyStore {
    pub fn open(path: &Path) -> Result<ReadOnlyStore, StoreError> {
        Self::open_with_cache(path, None)
    }

    /// Opened with a page cache of `cache_bytes` (default: redb's).
    pub fn open_with_cache(path: &Path, cache_bytes: Option<usize>) -> Result<ReadOnlyStore, StoreError> {
        if !path.exists() {
            return Err(StoreError::Unavailable(format!("there is no store at {}", path.display())));
        }
        let mut builder = Database::builder();
        if let Some(bytes) = cache_bytes {
            builder.set_cache_size(bytes);
        }
        let db = builder.open_read_only(path)?;
        let txn = db.begin_read()?;
        let found = match txn.open_table(META) {
            Ok(meta) => meta.get(SCHEMA_KEY)?.map(|v| v.value().try_into().map(u32::from_be_bytes)),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(redb::Error::from(e).into()),
        };
        match found {
            Some(Ok(SCHEMA_VERSION)) => {}
            Some(Ok(v)) if v > SCHEMA_VERSION => return Err(StoreError::NewerSchema { found: v, supported: SCHEMA_VERSION }),
            Some(Ok(v)) => return Err(StoreError::OlderSchema { found: v, supported: SCHEMA_VERSION }),
            _ => return Err(StoreError::Corrupt("schema_version".into())),
        }
        drop(txn);
        Ok(ReadOnlyStore { db })
    }

    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        Snapshot::new(self.db.begin_read()?, 0)
    }
}

/// Handle to the open database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    upgrades: Arc<Vec<String>>,
}

/// What opening a store may do to an older schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// Migrate it in place (`serve`, `store upgrade`).
    Allowed,
    /// Refuse it: commands other than those two never change the layout.
    Refused,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creates missing
    /// tables and checks the schema version, migrating an older one only
    /// when `upgrade` allows it.
    pub fn open(path: &Path, cache_bytes: usize, upgrade: Upgrade) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Unavailable(format!("creating {}: {e}", parent.display())))?;
        }
        let db = Database::builder().set_cache_size(cache_bytes).create(path)?;
        let mut store = Store { db: Arc::new(db), upgrades: Arc::default() };
        store.upgrades = Arc::new(store.prepare_schema(upgrade)?);
        Ok(store)
    }

    /// What opening this store migrated, one line per schema step.
    pub fn upgrades(&self) -> &[String] {
        &self.upgrades
    }

    fn prepare_schema(&self, upgrade: Upgrade) -> Result<Vec<String>, StoreError> {
        let mut upgrades = Vec::new();
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let found = match meta.get(SCHEMA_KEY)? {
                Some(v) => Some(u32::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt("schema_version".into()))?)),
                None => None,
            };
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::NewerSchema { found: v, supported: SCHEMA_VERSION });
                }
                Some(0) => return Err(StoreError::Corrupt("schema 0 predates the first released schema".into())),
                Some(v) if v < SCHEMA_VERSION && upgrade == Upgrade::Refused => {
                    return Err(StoreError::OlderSchema { found: v, supported: SCHEMA_VERSION });
                }
                Some(v) if v < SCHEMA_VERSION => {
                    if v == 1 {
                        upgrades.push(migrate::v1_to_v2(&txn)?);
                    }
                    if v <= 2 {
                        upgrades.push(migrate::v2_to_v3(&txn, &mut meta)?);
                    }
                    if v <= 3 {
                        upgrades.push(migrate::v3_to_v4(&txn)?);
                    }
                    if v <= 4 {
                        upgrades.push(migrate::v4_to_v5(&txn)?);
                    }
                    if v <= 5 {
                        upgrades.push(migrate::v5_to_v6());
                    }
                    if v <= 6 {
                        upgrades.push(migrate::v6_to_v7(&txn)?);
                    }
                    if v <= 7 {
                        upgrades.push(migrate::v7_to_v8(&txn)?);
                    }
                    if v <= 8 {
                        upgrades.push(migrate::v8_to_v9());
                    }
                    if v <= 9 {
                        upgrades.push(migrate::v9_to_v10(&txn)?);
                    }
                    if v <= 10 {
                        upgrades.push(migrate::v10_to_v11(&txn)?);
                    }
                    if v <= 11 {
                        upgrades.push(migrate::v11_to_v12(&txn, &mut meta)?);
                    }
                    upgrades.push(migrate::v12_to_v13(&txn)?);
                    for step in &upgrades {
                        tracing::warn!(step, "store upgraded");
                    }
                }
                _ => {}
            }
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_be_bytes().as_slice())?;
            txn.open_table(TLDS)?;
            txn.open_table(REGISTRARS)?;
            txn.open_table(CONTACTS)?;
            txn.open_table(DOMAINS)?;
            txn.open_table(HOSTS)?;
            txn.open_table(HOST_BY_NAME)?;
            txn.open_table(HOST_LINKS)?;
            txn.open_table(ZONE)?;
            txn.open_table(JOURNAL)?;
            txn.open_table(POLL)?;
            txn.open_table(DUE)?;
            txn.open_table(COUNTERS)?;
            txn.open_table(DNSSEC)?;
            txn.open_table(NSEC3)?;
            txn.open_table(CHANGES)?;
            txn.open_table(TRANSACTIONS)?;
            txn.open_table(RESERVED)?;
            txn.open_table(PREMIUM)?;
            txn.open_table(ACCREDITATIONS)?;
            txn.open_table(TOKENS)?;
            txn.open_table(APPLICATIONS)?;
            txn.open_table(APPLICATION_NAMES)?;
            txn.open_table(PHASES)?;
            txn.open_table(IDN_TABLES)?;
            txn.open_table(TMCH)?;
            txn.open_table(LEDGER)?;
            txn.open_table(LAUNCH_REGISTRATIONS)?;
            txn.open_table(GRANDFATHERED)?;
        }
        txn.commit()?;
        Ok(upgrades)
    }

    /// A consistent read view of the latest commit.
    pub fn snapshot(&self, generation: u64) -> Result<Snapshot, StoreError> {
        Snapshot::new(self.db.begin_read()?, generation)
    }

    /// Starts the (single) write transaction. Only the registry writer holds
    /// a [`WriteAccess`], so nothing else in the crate can write.
    pub(crate) fn begin_write(&self, _: &WriteAccess) -> Result<redb::WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
    }

    /// Opens a store on a storage backend of the test's choosing (one that fails on demand).
    #[cfg(test)]
    pub(crate) fn open_on(backend: impl redb::StorageBackend, cache_bytes: usize) -> Result<Store, StoreError> {
        let db = Database::builder().set_cache_size(cache_bytes).create_with_backend(backend)?;
        let store = Store { db: Arc::new(db), upgrades: Arc::default() };
        store.prepare_schema(Upgrade::Allowed)?;
        Ok(store)
    }

    /// Writes the schema version directly; for migration tests.
    #[cfg(test)]
    pub(crate) fn force_schema_version(&self, version: u32) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert(SCHEMA_KEY, version.to_be_bytes().as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

/// The snapshot DNS and the other readers use, replaced after every commit.
///
/// Readers keep their own `Arc` and compare generations (one atomic load)
/// to notice a newer commit, so the hot path takes no lock.
pub struct SnapshotCell {
    generation: AtomicU64,
    current: Mutex<Arc<Snapshot>>,
}

impl SnapshotCell {
    pub fn new(first: Snapshot) -> Self {
        SnapshotCell { generation: AtomicU64::new(first.generation), current: Mutex::new(Arc::new(first)) }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn load(&self) -> Arc<Snapshot> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn publish(&self, next: Snapshot) {
        let generation = next.generation;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.generation.store(generation, Ordering::Release);
    }

    /// Returns the snapshot to use now, refreshing `cached` if a newer one was published.
    pub fn refresh<'a>(&self, cached: &'a mut Arc<Snapshot>) -> &'a Snapshot {
        if cached.generation != self.generation() {
            *cached = self.load();
        }
        cached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.redb");
        let store = Store::open(&path, 1 << 20, Upgrade::Allowed).unwrap();
        store.force_schema_version(SCHEMA_VERSION + 1).unwrap();
        drop(store);
        match Store::open(&path, 1 << 20, Upgrade::Allowed) {
            Err(StoreError::NewerSchema { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
            }
            other => panic!("expected NewerSchema, got {:?}", other.err()),
        }
    }

    #[test]
    fn the_journal_keeps_its_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.redb"), 1 << 20, Upgrade::Allowed).unwrap();
        let tld = crate::model::DomainName::parse("example").unwrap();
        let entry = |n: u32| JournalEntry {
            from_serial: n,
            to_serial: n + 1,
            old_soa: (0, Vec::new()),
            new_soa: (0, Vec::new()),
            removed: Vec::new(),
            added: Vec::new(),
            committed: crate::model::Timestamp(0),
        };
        for n in 0..10 {
            let txn = store.begin_write(&WriteAccess::for_tests()).unwrap();
            WriteTables::open(&txn).unwrap().journal_append(&tld, &entry(n), 4).unwrap();
            txn.commit().unwrap();
        }
        let snapshot = store.snapshot(0).unwrap();
        assert_eq!(snapshot.journal_len(&tld).unwrap(), 4);
        let kept = snapshot.journal_since(&tld, 6).unwrap().expect("reaches serial 6");
        assert_eq!(kept.iter().map(|e| e.from_serial).collect::<Vec<_>>(), vec![6, 7, 8, 9]);
        assert!(snapshot.journal_since(&tld, 5).unwrap().is_none(), "trimmed");
    }

    #[test]
    fn schema_2_poll_queues_get_their_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.redb");
        {
            let store = Store::open(&path, 1 << 20, Upgrade::Allowed).unwrap();
            let txn = store.begin_write(&WriteAccess::for_tests()).unwrap();
            {
                // Queued as schema 2 did: messages only, no kept length.
                use crate::model::{ClientId, DomainName, Money, PollMessage, PollPayload, Timestamp, Transfer, TransferStatus};
                let mut poll = txn.open_table(POLL).unwrap();
                for (registrar, id) in [("reg-a", 1), ("reg-a", 2), ("reg-b", 3)] {
                    let (at, by) = (Timestamp::from_unix_seconds(0), ClientId::parse(registrar).unwrap());
                    let transfer = Transfer {
                        status: TransferStatus::Pending,
                        gaining: by.clone(),
                        requested: at,
                        losing: by.clone(),
                        acted: at,
                        years: 1,
                        new_expires: None,
                        fee: Money(0),
                        currency: None,
                    };
                    let payload = PollPayload::DomainTransfer { name: DomainName::parse("a.test").unwrap(), transfer };
                    let message = codec::encode(&PollMessage { id, queued: at, text: "m".into(), payload });
                    poll.insert(tables::poll_key(&by, id).as_slice(), message.as_slice()).unwrap();
                }
            }
            // Schema 2 had no accreditations; their layout of schemas 10 to 12 comes with the upgrade.
            txn.delete_table(ACCREDITATIONS).unwrap();
            txn.commit().unwrap();
            store.force_schema_version(2).unwrap();
        }
        let store = Store::open(&path, 1 << 20, Upgrade::Allowed).unwrap();
        let txn = store.begin_write(&WriteAccess::for_tests()).unwrap();
        let tables = WriteTables::open(&txn).unwrap();
        let length = |id: &str| tables.poll_count(&crate::model::ClientId::parse(id).unwrap()).unwrap();
        assert_eq!((length("reg-a"), length("reg-b"), length("reg-c")), (2, 1, 0));
    }

    #[test]
    fn second_open_reports_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.redb");
        let _first = Store::open(&path, 1 << 20, Upgrade::Allowed).unwrap();
        assert!(matches!(Store::open(&path, 1 << 20, Upgrade::Allowed), Err(StoreError::Locked)));
    }
}
