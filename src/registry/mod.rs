//! The one write path. Every change to registry state is a [`Command`]
//! executed by the writer thread: validated against the current state and the
//! `model` rules, applied to objects, zone rows and the journal in one
//! transaction, committed durably (many commands per fsync), published as
//! the new read snapshot, and only then acknowledged.
//!
//! Reads never go through here: front-ends take [`Registry::snapshot`].

mod apply;
pub mod command;
pub mod credentials;
pub mod import;
mod writer;
mod zone;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

pub use command::{Command, Outcome};
pub use import::{ImportSummary, ZoneImport};

use crate::model::{AddrError, Clock, DsError, IdError, NameError, PolicyError, StatusError};
use crate::store::{Snapshot, SnapshotCell, Store, StoreError};

/// Kinds of registry objects, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Tld,
    Registrar,
    Contact,
    Domain,
    Host,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Tld => "TLD",
            ObjectKind::Registrar => "registrar",
            ObjectKind::Contact => "contact",
            ObjectKind::Domain => "domain",
            ObjectKind::Host => "host",
        })
    }
}

/// Why a command was refused. Front-ends map these to their protocol's codes.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{kind} {id} does not exist")]
    NotFound { kind: ObjectKind, id: String },
    #[error("{kind} {id} already exists")]
    Exists { kind: ObjectKind, id: String },
    #[error("invalid name: {0}")]
    Name(#[from] NameError),
    #[error("invalid address: {0}")]
    Addr(#[from] AddrError),
    #[error("invalid DS data: {0}")]
    Ds(#[from] DsError),
    #[error("invalid identifier: {0}")]
    Id(#[from] IdError),
    #[error("invalid status: {0}")]
    Status(#[from] StatusError),
    #[error("invalid TLD policy: {0}")]
    TldPolicy(#[from] PolicyError),
    /// A value is well-formed but outside what the command allows.
    #[error("{0}")]
    Invalid(String),
    /// The registry's data policy refuses the request (EPP 2306).
    #[error("{0}")]
    Policy(String),
    /// An object status prohibits the operation (EPP 2304).
    #[error("{0}")]
    StatusProhibits(String),
    /// Another object depends on this one (EPP 2305).
    #[error("{0}")]
    Association(String),
    #[error("the registry is shutting down")]
    Unavailable,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// A stable identifier for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::NotFound { .. } => "not_found",
            RegistryError::Exists { .. } => "exists",
            RegistryError::Name(_) => "bad_name",
            RegistryError::Addr(_) => "bad_address",
            RegistryError::Ds(_) => "bad_ds",
            RegistryError::Id(_) => "bad_identifier",
            RegistryError::Status(_) => "bad_status",
            RegistryError::TldPolicy(_) => "bad_policy",
            RegistryError::Invalid(_) => "invalid",
            RegistryError::Policy(_) => "policy",
            RegistryError::StatusProhibits(_) => "status_prohibits",
            RegistryError::Association(_) => "association_prohibits",
            RegistryError::Unavailable => "unavailable",
            RegistryError::Store(_) => "internal",
        }
    }

    pub(crate) fn not_found(kind: ObjectKind, id: impl std::fmt::Display) -> Self {
        RegistryError::NotFound { kind, id: id.to_string() }
    }

    pub(crate) fn exists(kind: ObjectKind, id: impl std::fmt::Display) -> Self {
        RegistryError::Exists { kind, id: id.to_string() }
    }
}

/// Settings the writer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    pub roid_suffix: crate::model::RoidSuffix,
    pub queue_max: usize,
    pub batch_max: usize,
    pub journal_entries_max: usize,
}

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Outcome, RegistryError>>,
}

/// Handle to the registry: submit commands, take snapshots, watch commits.
#[derive(Clone)]
pub struct Registry {
    queue: mpsc::Sender<Job>,
    snapshots: Arc<SnapshotCell>,
    commits: watch::Receiver<u64>,
}

/// The writer thread; joining it waits until every queued command is committed.
pub struct WriterThread(std::thread::JoinHandle<()>);

impl WriterThread {
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("registry writer thread panicked");
        }
    }
}

impl Registry {
    /// Starts the writer thread over `store`. The writer stops once every
    /// `Registry` clone is dropped and the queue is drained.
    pub fn start(store: Store, clock: Arc<dyn Clock>, settings: WriterSettings) -> Result<(Registry, WriterThread), StoreError> {
        let first = store.snapshot(0)?;
        let snapshots = Arc::new(SnapshotCell::new(first));
        let (queue, jobs) = mpsc::channel(settings.queue_max);
        let (commit_tx, commits) = watch::channel(0);
        let writer = writer::Writer::new(store, clock, settings, snapshots.clone(), commit_tx);
        let handle = std::thread::Builder::new()
            .name("registry-writer".into())
            .spawn(move || writer.run(jobs))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok((Registry { queue, snapshots, commits }, WriterThread(handle)))
    }

    /// Executes a command; returns once it is durably committed (or refused).
    pub async fn execute(&self, command: Command) -> Result<Outcome, RegistryError> {
        let command = if needs_preparation(&command) {
            tokio::task::spawn_blocking(move || prepare(command)).await.map_err(|_| RegistryError::Unavailable)??
        } else {
            command
        };
        let (reply, response) = oneshot::channel();
        self.queue.send(Job { command, reply }).await.map_err(|_| RegistryError::Unavailable)?;
        response.await.map_err(|_| RegistryError::Unavailable)?
    }

    /// Blocking form of [`Registry::execute`] for callers outside the runtime (CLI tools).
    pub fn execute_blocking(&self, command: Command) -> Result<Outcome, RegistryError> {
        let command = prepare(command)?;
        let (reply, response) = oneshot::channel();
        self.queue.blocking_send(Job { command, reply }).map_err(|_| RegistryError::Unavailable)?;
        response.blocking_recv().map_err(|_| RegistryError::Unavailable)?
    }

    /// The latest committed state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.load()
    }

    pub fn snapshots(&self) -> &Arc<SnapshotCell> {
        &self.snapshots
    }

    /// Changes after every commit; the value is the snapshot generation.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }
}

fn needs_preparation(command: &Command) -> bool {
    matches!(command, Command::CreateRegistrar(spec) | Command::UpdateRegistrar(_, spec) if spec.password.is_some())
}

/// CPU-heavy work done before a command is queued, so the writer never waits
/// on it: registrar passwords are hashed here.
fn prepare(mut command: Command) -> Result<Command, RegistryError> {
    if let Command::CreateRegistrar(spec) | Command::UpdateRegistrar(_, spec) = &mut command
        && let Some(password) = spec.password.take()
    {
        spec.password_hash = Some(credentials::hash_password(&password)?);
    }
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::command::*;
    use super::*;
    use crate::model::zone::rtype;
    use crate::model::{DomainName, ManualClock, RoidSuffix, Timestamp};

    fn n(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    async fn registry(clock: ManualClock) -> (Registry, WriterThread, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.redb"), 1 << 22).unwrap();
        let settings =
            WriterSettings { roid_suffix: RoidSuffix::parse("T").unwrap(), queue_max: 64, batch_max: 64, journal_entries_max: 100 };
        let (registry, writer) = Registry::start(store, Arc::new(clock), settings).unwrap();
        registry
            .execute(Command::CreateRegistrar(RegistrarSpec {
                id: Some(crate::model::ClientId::parse("reg").unwrap()),
                name: Some("Reg".into()),
                email: Some("r@reg.test".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        registry
            .execute(Command::CreateTld(TldSpec {
                name: Some(n("test")),
                nameservers: Some(vec![n("ns.example.net")]),
                ..Default::default()
            }))
            .await
            .unwrap();
        (registry, writer, dir)
    }

    fn create(name: &str, nameservers: &[&str]) -> Command {
        Command::CreateDomain(CreateDomain {
            name: n(name),
            registrar: crate::model::ClientId::parse("reg").unwrap(),
            nameservers: nameservers.iter().map(|s| n(s)).collect(),
            ds: vec![],
            statuses: vec![],
            period_years: 1,
            registrant: None,
            contacts: vec![],
        })
    }

    fn host(name: &str, addrs: &[&str]) -> Command {
        Command::CreateHost(CreateHost {
            name: n(name),
            registrar: Some(crate::model::ClientId::parse("reg").unwrap()),
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            statuses: vec![],
        })
    }

    fn serial(r: &Registry) -> u32 {
        r.snapshot().tld(&n("test")).unwrap().serial
    }

    #[tokio::test]
    async fn the_manual_clock_drives_serials() {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000));
        let (r, writer, _dir) = registry(clock.clone()).await;
        assert_eq!(serial(&r), 1_800_000_000);
        r.execute(host("ns.example.net", &[])).await.unwrap();
        assert_eq!(serial(&r), 1_800_000_000, "a change outside the zone keeps the serial");
        r.execute(create("a.test", &["ns.example.net"])).await.unwrap();
        assert_eq!(serial(&r), 1_800_000_001, "two changes in one second still move the serial");
        clock.advance_seconds(100);
        r.execute(create("b.test", &["ns.example.net"])).await.unwrap();
        assert_eq!(serial(&r), 1_800_000_100);
        drop(r);
        writer.join();
    }

    #[tokio::test]
    async fn the_journal_holds_the_exact_diff() {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000));
        let (r, writer, _dir) = registry(clock.clone()).await;
        r.execute(host("ns.example.net", &[])).await.unwrap();
        r.execute(create("a.test", &[])).await.unwrap();
        r.execute(host("ns1.a.test", &["192.0.2.1"])).await.unwrap();
        let before = serial(&r);
        let update = UpdateDomain { add_nameservers: vec![n("ns1.a.test"), n("ns.example.net")], ..Default::default() };
        r.execute(Command::UpdateDomain(n("a.test"), update)).await.unwrap();
        let entries = r.snapshot().journal_since(&n("test"), before).unwrap().unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e.from_serial, e.to_serial), (before, serial(&r)));
        assert!(e.removed.is_empty());
        let added: Vec<(String, u16)> =
            e.added.iter().map(|rr| (DomainName::from_canonical_key(&rr.owner_key).unwrap().to_string(), rr.rtype)).collect();
        assert_eq!(added, vec![("a.test".into(), rtype::NS), ("a.test".into(), rtype::NS), ("ns1.a.test".into(), rtype::A)]);

        // Holding the domain withdraws its delegation and the glue only it needed.
        let hold = UpdateDomain { add_statuses: vec![crate::model::DomainStatus::ClientHold], ..Default::default() };
        let held_from = serial(&r);
        r.execute(Command::UpdateDomain(n("a.test"), hold)).await.unwrap();
        let e = &r.snapshot().journal_since(&n("test"), held_from).unwrap().unwrap()[0];
        assert_eq!(e.removed.len(), 3);
        assert!(e.added.is_empty());
        drop(r);
        writer.join();
    }

    #[tokio::test]
    async fn refused_commands_leave_no_trace_beside_accepted_ones() {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000));
        let (r, writer, _dir) = registry(clock).await;
        r.execute(host("ns.example.net", &[])).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let r = r.clone();
            // Every other command names a host that does not exist.
            let ns = if i % 2 == 0 { "ns.example.net" } else { "missing.example.net" };
            tasks.push(tokio::spawn(async move { r.execute(create(&format!("d{i}.test"), &[ns])).await }));
        }
        let results: Vec<_> = futures_join(tasks).await;
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i % 2 == 0, "d{i}: {:?}", result.as_ref().err());
        }
        let snap = r.snapshot();
        let domains = snap.domains(&n("test"), None, 100).unwrap();
        assert_eq!(domains.len(), 20);
        let host = snap.host_by_name(&n("ns.example.net")).unwrap().unwrap();
        assert_eq!(host.link_count, 20, "links counted once per accepted domain");
        assert!(domains.iter().all(|d| d.name.as_str().trim_start_matches('d').trim_end_matches(".test").parse::<u32>().unwrap() % 2 == 0));
        drop(snap);
        drop(r);
        writer.join();
    }

    async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
