//! Backups of the store while it serves: every table copied from one read
//! transaction into a new redb file (a redb file must not be copied as
//! bytes while it is written), written beside its destination and renamed
//! into place only once complete and synced; and verification of such a
//! file — schema version, every row of every table read back, every stored
//! record and zone row decoded — with the counts it holds.
//!
//! A backup also carries the private signing keys of the signed zones, in
//! a table of its own that the live store never has: the file is its
//! owner's alone, and a restore moves the keys into the keys folder and
//! drops the table before the copy becomes the store.
//!
//! Must not: write to the live store.

use std::path::{Path, PathBuf};

use redb::{Database, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value, WriteTransaction};

use super::codec;
use super::journal::JournalEntry;
use super::{
    ACCREDITATIONS, APPLICATION_NAMES, APPLICATIONS, CHANGES, CONTACTS, COUNTERS, DNSSEC, DOMAINS, DUE, GRANDFATHERED, HOST_BY_NAME,
    HOST_LINKS, HOSTS, IDN_TABLES, JOURNAL, LAUNCH_REGISTRATIONS, LEDGER, META, NSEC3, PHASES, POLL, PREMIUM, REGISTRARS, RESERVED,
    ReadOnlyStore, SCHEMA_VERSION, Snapshot, StoreError, TLDS, TMCH, TOKENS, TRANSACTIONS, ZONE,
};
use crate::model::dnssec::ZoneSigning;
use crate::model::{Contact, Domain, Host, PollMessage, Registrar, Tld};

/// What a backup holds: the rows of each table, and each TLD's SOA serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub schema_version: u32,
    pub tables: Vec<(&'static str, u64)>,
    pub serials: Vec<(String, u32)>,
    pub bytes: u64,
}

impl BackupSummary {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Private key files by their name in the keys folder; only in backups.
const SIGNING_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("signing_keys");

/// Private key files, by their name in the keys folder.
pub type KeyFiles = Vec<(String, Vec<u8>)>;

/// Writes a consistent copy of the whole store as `snapshot` sees it to
/// `to`, with the private key files `keys`: commits go on meanwhile and are
/// not in it. A file already at `to` is replaced only once the copy is
/// complete, and the copy is verified.
pub fn backup(snapshot: &Snapshot, keys: &KeyFiles, to: &Path, progress: &mut dyn FnMut(&str, u64)) -> Result<BackupSummary, StoreError> {
    let partial = partial_path(to);
    if let Err(e) = write_copy(&snapshot.txn, keys, &partial, progress) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, to).map_err(|e| unavailable(to, e))?;
    sync_parent(to)?;
    verify(to, &mut |table, rows| progress(&format!("{table} (read back)"), rows))
}

fn unavailable(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {e}", path.display()))
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// The rename is durable only once the folder holding it is synced.
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(parent).and_then(|dir| dir.sync_all()).map_err(|e| unavailable(parent, e))
}

fn write_copy(source: &ReadTransaction, keys: &KeyFiles, to: &Path, progress: &mut dyn FnMut(&str, u64)) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| unavailable(parent, e))?;
    }
    let _ = std::fs::remove_file(to);
    // Owner-only from the start: the file will hold private keys.
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(to).map_err(|e| unavailable(to, e))?;
    let db = Database::builder().set_cache_size(CACHE_BYTES).create(to)?;
    // One transaction, so its durable commit is the only fsync.
    let txn = db.begin_write()?;
    copy(source, &txn, META, progress)?;
    copy(source, &txn, TLDS, progress)?;
    copy(source, &txn, REGISTRARS, progress)?;
    copy(source, &txn, CONTACTS, progress)?;
    copy(source, &txn, DOMAINS, progress)?;
    copy(source, &txn, HOSTS, progress)?;
    copy(source, &txn, HOST_BY_NAME, progress)?;
    copy(source, &txn, HOST_LINKS, progress)?;
    copy(source, &txn, ZONE, progress)?;
    copy(source, &txn, DNSSEC, progress)?;
    copy(source, &txn, NSEC3, progress)?;
    copy(source, &txn, JOURNAL, progress)?;
    copy(source, &txn, POLL, progress)?;
    copy(source, &txn, DUE, progress)?;
    copy(source, &txn, COUNTERS, progress)?;
    copy(source, &txn, CHANGES, progress)?;
    copy(source, &txn, TRANSACTIONS, progress)?;
    copy(source, &txn, RESERVED, progress)?;
    copy(source, &txn, PREMIUM, progress)?;
    copy(source, &txn, GRANDFATHERED, progress)?;
    copy(source, &txn, ACCREDITATIONS, progress)?;
    copy(source, &txn, TOKENS, progress)?;
    copy(source, &txn, APPLICATIONS, progress)?;
    copy(source, &txn, APPLICATION_NAMES, progress)?;
    copy(source, &txn, TMCH, progress)?;
    copy(source, &txn, LEDGER, progress)?;
    copy(source, &txn, LAUNCH_REGISTRATIONS, progress)?;
    copy(source, &txn, PHASES, progress)?;
    copy(source, &txn, IDN_TABLES, progress)?;
    {
        let mut table = txn.open_table(SIGNING_KEYS)?;
        for (name, bytes) in keys {
            table.insert(name.as_str(), bytes.as_slice())?;
        }
        progress(SIGNING_KEYS.name(), keys.len() as u64);
    }
    txn.commit()?;
    Ok(())
}

/// Page cache for writing and reading back a copy: it is read and written
/// once, so a large cache would only grow the daemon by the store's size.
const CACHE_BYTES: usize = 64 << 20;

/// Rows reported to `progress` at a time.
const PROGRESS_ROWS: u64 = 65_536;

fn copy<K: Key + 'static, V: Value + 'static>(
    source: &ReadTransaction,
    target: &WriteTransaction,
    table: TableDefinition<K, V>,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<u64, StoreError> {
    let from = source.open_table(table)?;
    let mut to = target.open_table(table)?;
    let mut rows = 0u64;
    for item in from.iter()? {
        let (k, v) = item?;
        to.insert(k.value(), v.value())?;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_ROWS) {
            progress(table.name(), rows);
        }
    }
    progress(table.name(), rows);
    Ok(rows)
}

/// Opens a backup (or a stopped store) read-only and reads all of it back:
/// the schema version must be this build's, every table must be there, and
/// every object, zone row and journal entry must decode.
pub fn verify(path: &Path, progress: &mut dyn FnMut(&str, u64)) -> Result<BackupSummary, StoreError> {
    let bytes = std::fs::metadata(path).map_err(|e| unavailable(path, e))?.len();
    let store = ReadOnlyStore::open_with_cache(path, Some(CACHE_BYTES))?;
    let txn = store.db.begin_read()?;
    let tables = vec![
        ("meta", rows(&txn, META, progress, |_| Ok(()))?),
        ("tlds", rows(&txn, TLDS, progress, |v| codec::decode::<Tld>(v, "tld").map(drop))?),
        ("registrars", rows(&txn, REGISTRARS, progress, |v| codec::decode::<Registrar>(v, "registrar").map(drop))?),
        ("contacts", rows(&txn, CONTACTS, progress, |v| codec::decode::<Contact>(v, "contact").map(drop))?),
        ("domains", rows(&txn, DOMAINS, progress, |v| codec::decode::<Domain>(v, "domain").map(drop))?),
        ("hosts", rows(&txn, HOSTS, progress, |v| codec::decode::<Host>(v, "host").map(drop))?),
        ("host_by_name", rows(&txn, HOST_BY_NAME, progress, |_| Ok(()))?),
        ("host_links", rows(&txn, HOST_LINKS, progress, |_| Ok(()))?),
        ("zone", rows(&txn, ZONE, progress, |v| codec::decode_row(v).map(drop))?),
        ("dnssec", rows(&txn, DNSSEC, progress, |v| codec::decode::<ZoneSigning>(v, "zone signing").map(drop))?),
        ("nsec3", rows(&txn, NSEC3, progress, |v| codec::decode_row(v).map(drop))?),
        ("journal", rows(&txn, JOURNAL, progress, |v| JournalEntry::decode(v).map(drop))?),
        ("poll", rows(&txn, POLL, progress, |v| codec::decode::<PollMessage>(v, "poll message").map(drop))?),
        ("due", rows(&txn, DUE, progress, |_| Ok(()))?),
        ("counters", rows(&txn, COUNTERS, progress, |_| Ok(()))?),
        ("changes", rows(&txn, CHANGES, progress, |v| codec::decode::<crate::model::change::Change>(v, "change").map(drop))?),
        ("accreditations", rows(&txn, ACCREDITATIONS, progress, |_| Ok(()))?),
        ("idn_tables", rows(&txn, IDN_TABLES, progress, |v| codec::decode::<crate::model::idn::IdnTable>(v, "IDN table").map(drop))?),
        (
            "launch_registrations",
            rows(&txn, LAUNCH_REGISTRATIONS, progress, |v| {
                codec::decode::<crate::model::tmch::LaunchRegistration>(v, "launch registration").map(drop)
            })?,
        ),
        ("ledger", rows(&txn, LEDGER, progress, |v| codec::decode::<crate::model::ledger::LedgerEntry>(v, "ledger entry").map(drop))?),
        ("tmch", rows(&txn, TMCH, progress, tmch_row)?),
        ("phases", rows(&txn, PHASES, progress, |v| codec::decode::<crate::model::phase::Phase>(v, "phase").map(drop))?),
        (
            "applications",
            rows(&txn, APPLICATIONS, progress, |v| codec::decode::<crate::model::application::Application>(v, "application").map(drop))?,
        ),
        ("application_names", rows(&txn, APPLICATION_NAMES, progress, |_| Ok(()))?),
        (
            "tokens",
            rows(&txn, TOKENS, progress, |v| codec::decode::<crate::model::token::AllocationToken>(v, "allocation token").map(drop))?,
        ),
        (
            "grandfathered",
            rows(&txn, GRANDFATHERED, progress, |v| {
                codec::decode::<crate::model::premium::PremiumName>(v, "grandfathered prices").map(drop)
            })?,
        ),
        ("premium", rows(&txn, PREMIUM, progress, |v| codec::decode::<crate::model::premium::PremiumName>(v, "premium name").map(drop))?),
        (
            "reserved",
            rows(&txn, RESERVED, progress, |v| codec::decode::<crate::model::reserved::ReservedName>(v, "reserved name").map(drop))?,
        ),
        (
            "transactions",
            rows(&txn, TRANSACTIONS, progress, |v| {
                codec::decode::<crate::model::report::TransactionRecord>(v, "transaction record").map(drop)
            })?,
        ),
        ("signing_keys", signing_keys(&txn)?.len() as u64),
    ];
    drop(txn);
    let snapshot = store.snapshot()?;
    let serials = snapshot.zones().iter().map(|z| (z.tld.name.to_string(), z.serial())).collect();
    Ok(BackupSummary { schema_version: SCHEMA_VERSION, tables, serials, bytes })
}

/// Hands the key files in the copy at `path` to `install` and removes them
/// from it, so the live store never holds a private key.
fn take_keys(path: &Path, install: &mut dyn FnMut(&KeyFiles) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let db = Database::builder().set_cache_size(CACHE_BYTES).open(path)?;
    let files = signing_keys(&db.begin_read()?)?;
    install(&files)?;
    let txn = db.begin_write()?;
    txn.delete_table(SIGNING_KEYS)?;
    txn.commit()?;
    Ok(())
}

/// Reads every row of `table`, checking each value with `check`.
/// A row of the TMCH table decodes as one of the records it holds.
fn tmch_row(v: &[u8]) -> Result<(), StoreError> {
    use crate::model::tmch::{ClaimsLabel, RevokedMark, TmchTrust};
    codec::decode::<ClaimsLabel>(v, "DNL label")
        .map(drop)
        .or_else(|_| codec::decode::<RevokedMark>(v, "revoked signed mark").map(drop))
        .or_else(|_| codec::decode::<TmchTrust>(v, "TMCH trust").map(drop))
}

fn rows<K: Key + 'static, V: Value + 'static>(
    txn: &ReadTransaction,
    table: TableDefinition<K, V>,
    progress: &mut dyn FnMut(&str, u64),
    check: impl Fn(V::SelfType<'_>) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let t = txn.open_table(table).map_err(|e| match e {
        redb::TableError::TableDoesNotExist(name) => StoreError::Corrupt(format!("table {name} is missing")),
        other => StoreError::from(other),
    })?;
    let mut n = 0u64;
    for item in t.iter()? {
        let (_, v) = item?;
        check(v.value())?;
        n += 1;
        if n.is_multiple_of(PROGRESS_ROWS) {
            progress(table.name(), n);
        }
    }
    progress(table.name(), n);
    Ok(n)
}

/// The private key files a backup carries (none in a store, or in a backup
/// of a store without signed zones).
fn signing_keys(txn: &ReadTransaction) -> Result<KeyFiles, StoreError> {
    let table = match txn.open_table(SIGNING_KEYS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for item in table.iter()? {
        let (name, bytes) = item?;
        files.push((name.value().to_string(), bytes.value().to_vec()));
    }
    Ok(files)
}

/// Puts a verified backup in place of the store at `store` (the daemon must
/// be stopped: the live store is locked while it runs). The backup is
/// verified first and copied beside the store; its key files go to
/// `install_keys` and leave the copy, which is then synced and renamed over
/// the store, so a failed restore leaves the old store as it was.
pub fn restore(
    backup: &Path,
    store: &Path,
    install_keys: &mut dyn FnMut(&KeyFiles) -> Result<(), StoreError>,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<BackupSummary, StoreError> {
    let summary = verify(backup, progress)?;
    if store.exists() {
        // Fails with `Locked` while a daemon has the store open.
        drop(Database::builder().open(store)?);
    }
    let partial = partial_path(store);
    if let Some(parent) = store.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| unavailable(parent, e))?;
    }
    std::fs::copy(backup, &partial).map_err(|e| unavailable(&partial, e))?;
    let taken = take_keys(&partial, install_keys);
    if let Err(e) = taken {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| unavailable(&partial, e))?;
    std::fs::rename(&partial, store).map_err(|e| unavailable(store, e))?;
    sync_parent(store)?;
    Ok(summary)
}
