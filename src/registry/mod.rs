//! The one write path. Every change to registry state is a [`Command`]
//! executed by the writer thread: validated against the current state and the
//! `model` rules, applied to objects, zone rows (signed, for a signed TLD)
//! and the journal in one transaction, committed durably (many commands per fsync), published as
//! the new read snapshot, and only then acknowledged.
//!
//! Reads never go through here: front-ends take [`Registry::snapshot`].
//!
//! Must not: be bypassed: nothing else writes registry state.

mod account;
mod application;
mod apply;
pub mod command;
mod contact;
mod context;
pub mod counts;
pub mod credentials;
mod domain;
mod due;
mod host;
pub mod import;
pub mod import_data;
mod import_deposit;
pub mod keys;
mod names;
mod nsec;
pub mod query;
mod resign;
mod rollover;
mod signing;
pub mod token;
mod writer;
mod zone_rows;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

pub use apply::{counter_key, query_counter_key};
pub use command::{Actor, Command, Outcome};
pub use import_data::{ImportSummary, ZoneImport};
pub use resign::run_signature_sweep;
pub(crate) use writer::WriteAccess;
pub use writer::WriterHealth;

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
    PollMessage,
    Token,
    Application,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Tld => "TLD",
            ObjectKind::Registrar => "registrar",
            ObjectKind::Contact => "contact",
            ObjectKind::Domain => "domain",
            ObjectKind::Host => "host",
            ObjectKind::PollMessage => "poll message",
            ObjectKind::Token => "token",
            ObjectKind::Application => "application",
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
    /// A value is well-formed but not acceptable here (EPP 2306).
    #[error("{0}")]
    Invalid(String),
    /// A value is outside its range: periods, fees, counts (EPP 2004).
    #[error("{0}")]
    Range(String),
    /// A value is not well-formed (EPP 2005).
    #[error("{0}")]
    Syntax(String),
    /// A required value is missing (EPP 2003).
    #[error("{0}")]
    Missing(String),
    /// The registry's data policy refuses the request (EPP 2306).
    #[error("{0}")]
    Policy(String),
    /// The actor may not do this to this object (EPP 2201).
    #[error("{0}")]
    Authorization(String),
    /// Wrong authorization information (EPP 2202).
    #[error("invalid authorization information")]
    AuthInfo,
    /// Not enough funds (EPP 2104).
    #[error("{0}")]
    Billing(String),
    /// EPP 2105.
    #[error("{0}")]
    NotRenewable(String),
    /// EPP 2106.
    #[error("{0}")]
    NotTransferable(String),
    /// EPP 2300.
    #[error("a transfer of {0} is already pending")]
    TransferPending(String),
    /// EPP 2301.
    #[error("no transfer of {0} is pending")]
    NoTransferPending(String),
    /// An object status prohibits the operation (EPP 2304).
    #[error("{0}")]
    StatusProhibits(String),
    /// Another object depends on this one (EPP 2305).
    #[error("{0}")]
    Association(String),
    #[error("the registry is shutting down")]
    Unavailable,
    /// The registry failed on this command (a bug, logged); nothing of it was kept (EPP 2400).
    #[error("{0}")]
    Internal(String),
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
            RegistryError::Range(_) => "out_of_range",
            RegistryError::Syntax(_) => "bad_syntax",
            RegistryError::Missing(_) => "missing",
            RegistryError::Policy(_) => "policy",
            RegistryError::Authorization(_) => "forbidden",
            RegistryError::AuthInfo => "bad_auth_info",
            RegistryError::Billing(_) => "insufficient_funds",
            RegistryError::NotRenewable(_) => "not_renewable",
            RegistryError::NotTransferable(_) => "not_transferable",
            RegistryError::TransferPending(_) => "transfer_pending",
            RegistryError::NoTransferPending(_) => "no_transfer_pending",
            RegistryError::StatusProhibits(_) => "status_prohibits",
            RegistryError::Association(_) => "association_prohibits",
            RegistryError::Unavailable => "unavailable",
            RegistryError::Internal(_) => "internal",
            RegistryError::Store(e) if e.is_unavailable() => "storage_unavailable",
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
    /// The private halves of the zone signing keys.
    pub keys: std::sync::Arc<keys::Keys>,
}

/// What the writer's queue carries.
// Close is sent once per process; boxing every job would cost an allocation per command.
#[allow(clippy::large_enum_variant)]
enum Message {
    Job(Job),
    /// Stop once the commands queued before are committed.
    Close,
}

struct Job {
    actor: Actor,
    command: Command,
    reply: oneshot::Sender<Result<Outcome, RegistryError>>,
}

/// Handle to the registry: submit commands, take snapshots, watch commits.
#[derive(Clone)]
pub struct Registry {
    queue: mpsc::Sender<Message>,
    snapshots: Arc<SnapshotCell>,
    commits: watch::Receiver<u64>,
    health: Arc<WriterHealth>,
    failures: watch::Receiver<Option<String>>,
    /// The writer's clock, which preparation checks signed marks at.
    clock: Arc<dyn Clock>,
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
        let (failure_tx, failures) = watch::channel(None);
        let health = Arc::new(WriterHealth::default());
        let writer = writer::Writer::new(store, clock.clone(), settings, snapshots.clone(), commit_tx, health.clone(), failure_tx);
        let handle = std::thread::Builder::new()
            .name("registry-writer".into())
            .spawn(move || writer.run(jobs))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok((Registry { queue, snapshots, commits, health, failures, clock }, WriterThread(handle)))
    }

    /// Whether the writer is running and the store takes writes.
    pub fn health(&self) -> &WriterHealth {
        &self.health
    }

    /// Resolves once the store can take no more writes in this process (or
    /// the writer is gone), with the reason: the daemon then stops, so that
    /// its supervisor reopens the store.
    pub async fn failed(&self) -> String {
        let mut failures = self.failures.clone();
        loop {
            if let Some(reason) = failures.borrow_and_update().clone() {
                return reason;
            }
            if failures.changed().await.is_err() {
                return "the registry writer stopped".into();
            }
        }
    }

    /// Executes a command for the registry; returns once it is durably committed (or refused).
    pub async fn execute(&self, command: Command) -> Result<Outcome, RegistryError> {
        self.execute_as(Actor::Registry, command).await
    }

    /// Executes a command on behalf of `actor`.
    pub async fn execute_as(&self, actor: Actor, command: Command) -> Result<Outcome, RegistryError> {
        let command = self.prepare(command).await?;
        self.submit(actor, command).await
    }

    /// Checks and hashes the secrets a command carries, off the writer (and,
    /// for slow password hashes, off the async runtime). Refusals here never
    /// reach the writer, so front-ends count them themselves.
    pub async fn prepare(&self, mut command: Command) -> Result<Command, RegistryError> {
        if let Command::CreateDomain(spec) = &mut command
            && let Some(document) = spec.signed_mark.take()
        {
            let trust = self
                .snapshot()
                .tmch_trust()?
                .ok_or_else(|| RegistryError::Policy("the registry has no TMCH CA certificate: signed marks cannot be verified".into()))?;
            let now = self.clock.now();
            spec.verified_mark = Some(crate::tmch::verify(document, &trust, now).await.map_err(RegistryError::Invalid)?);
        }
        if needs_slow_preparation(&command) {
            tokio::task::spawn_blocking(move || prepare(command)).await.map_err(|_| RegistryError::Unavailable)?
        } else {
            prepare(command)
        }
    }

    /// Queues a prepared command; returns once it is durably committed (or refused).
    pub async fn submit(&self, actor: Actor, command: Command) -> Result<Outcome, RegistryError> {
        let (reply, response) = oneshot::channel();
        self.queue.send(Message::Job(Job { actor, command, reply })).await.map_err(|_| RegistryError::Unavailable)?;
        response.await.map_err(|_| RegistryError::Unavailable)?
    }

    /// Blocking form of [`Registry::execute`] for callers outside the runtime (CLI tools).
    pub fn execute_blocking(&self, command: Command) -> Result<Outcome, RegistryError> {
        let command = prepare(command)?;
        let (reply, response) = oneshot::channel();
        self.queue.blocking_send(Message::Job(Job { actor: Actor::Registry, command, reply })).map_err(|_| RegistryError::Unavailable)?;
        response.blocking_recv().map_err(|_| RegistryError::Unavailable)?
    }

    /// Stops the writer once the commands queued before this are committed,
    /// even while other handles live on (peers a shutdown gave up waiting
    /// for); what they submit later is answered as unavailable, never lost
    /// after an acknowledgement.
    pub async fn close(&self) {
        let _ = self.queue.send(Message::Close).await;
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

    /// Commands queued for the writer and not yet taken into a batch.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

/// Carries out lifecycle deadlines as they pass: checks the latest snapshot
/// every `tick` and, when something is due by the clock, runs `RunDue`
/// through the writer until nothing due is left.
pub async fn run_scheduler(registry: Registry, clock: Arc<dyn Clock>, tick: std::time::Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        let due = registry.snapshot().due_before(clock.now());
        match due {
            Ok(true) => match registry.execute(Command::RunDue).await {
                Ok(Outcome::Due { more: true, .. }) => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "lifecycle run failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot read lifecycle deadlines"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Password hashing (Argon2) is slow enough to leave the async runtime for.
fn needs_slow_preparation(command: &Command) -> bool {
    match command {
        Command::CreateRegistrar(spec) | Command::UpdateRegistrar(_, spec) => spec.password.is_some(),
        Command::ChangePassword(_, command::Password::Clear(_)) => true,
        Command::All(commands) => commands.iter().any(needs_slow_preparation),
        _ => false,
    }
}

/// Work done before a command is queued, so the writer never waits on it and
/// never sees a secret in clear: passwords and authorization codes are
/// checked and hashed here.
fn prepare(mut command: Command) -> Result<Command, RegistryError> {
    /// A new authorization code: empty clears it; otherwise it must be strong (RFC 9154).
    fn auth_info(clear: &mut Option<String>, hash: &mut Option<String>) -> Result<(), RegistryError> {
        if let Some(pw) = clear.take() {
            if !pw.is_empty() && !crate::model::lifecycle::strong_auth_info(&pw) {
                return Err(RegistryError::Policy(
                    "authorization information must be 16-64 characters from at least three of: lower case, upper case, digits, symbols"
                        .into(),
                ));
            }
            *hash = Some(if pw.is_empty() { String::new() } else { credentials::hash_auth_info(&pw) });
        }
        Ok(())
    }
    match &mut command {
        Command::CreateRegistrar(spec) | Command::UpdateRegistrar(_, spec) => {
            if let Some(password) = spec.password.take() {
                spec.password_hash = Some(credentials::hash_password(&password)?);
            }
        }
        Command::ChangePassword(_, password) => {
            if let command::Password::Clear(clear) = password {
                *password = command::Password::Hashed(credentials::hash_password(clear)?);
            }
        }
        Command::CreateDomain(spec) => auth_info(&mut spec.auth_info, &mut spec.auth_info_hash)?,
        Command::UpdateDomain(_, spec) => auth_info(&mut spec.auth_info, &mut spec.auth_info_hash)?,
        Command::UpdateApplication { spec, .. } => auth_info(&mut spec.auth_info, &mut spec.auth_info_hash)?,
        Command::CreateContact(spec) => auth_info(&mut spec.auth_info, &mut spec.auth_info_hash)?,
        Command::UpdateContact(_, spec) => auth_info(&mut spec.auth_info, &mut spec.auth_info_hash)?,
        Command::All(commands) => *commands = std::mem::take(commands).into_iter().map(prepare).collect::<Result<_, _>>()?,
        _ => {}
    }
    Ok(command)
}

#[cfg(test)]
mod tests;
