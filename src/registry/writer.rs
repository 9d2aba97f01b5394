//! The writer thread: drains queued commands into a batch, applies them in
//! one write transaction, commits once (one fsync for the batch), publishes
//! the new snapshot, and only then answers each submitter.
//!
//! Each command runs to a rollback point of its own (see `apply`), so a
//! refused command leaves nothing while the rest of its batch commits. A
//! handler that panics aborts its batch: that command is answered with an
//! internal error and the others run again without it. A storage failure
//! fails the batch, is named as such, and marks the store unavailable in
//! [`WriterHealth`] (redb takes no more writes in this process after an I/O
//! error, so the daemon stops and its supervisor starts it again).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::sync::{mpsc, watch};

use super::apply::apply;
use super::context::Cx;
use super::zone_rows::ZoneChanges;
use super::{Command, Job, Message, Outcome, RegistryError, WriterSettings};
use crate::model::dnssec::Signers;
use crate::model::{Clock, DomainName};
use crate::store::{SnapshotCell, Store, StoreError, WriteTables};

/// How long the change log keeps an entry: a DIFF escrow deposit reads the
/// changes since the previous deposit (a day, or a few after an outage).
pub const CHANGE_LOG_RETENTION_S: i64 = 45 * 86_400;

/// Proof of being the registry writer: only this module can make one, and
/// the store's write API asks for it, so nothing else in the crate can write.
pub(crate) struct WriteAccess(());

#[cfg(test)]
impl WriteAccess {
    pub(crate) fn for_tests() -> Self {
        WriteAccess(())
    }
}

/// Whether the writer can still commit, for health checks and the daemon,
/// and how its batches go, for the metrics.
#[derive(Debug)]
pub struct WriterHealth {
    stopped: AtomicBool,
    /// Why the store takes no more writes, once it does not.
    store_failure: Mutex<Option<String>>,
    /// Commands per committed batch.
    pub batch_commands: Histogram,
    /// From taking a batch to its commit being durable.
    pub commit_seconds: Histogram,
    /// From taking a batch to the end of its work in the transaction: what
    /// the commands and their signing cost, before the commit writes pages
    /// and syncs them.
    pub apply_seconds: Histogram,
    /// When the snapshot readers see was published.
    published: Mutex<Instant>,
    /// Per signed zone, the earliest signature expiry (Unix seconds) the
    /// signature sweep's last full pass saw.
    signature_expiry: Mutex<BTreeMap<DomainName, u32>>,
    /// Per signed zone, the sweep's last full pass that found no signature
    /// by a key that no longer signs, with the keys that signed then.
    clean_pass: Mutex<BTreeMap<DomainName, (Signers, crate::model::rollover::CleanPass)>>,
}

impl Default for WriterHealth {
    fn default() -> Self {
        WriterHealth {
            stopped: AtomicBool::new(false),
            store_failure: Mutex::new(None),
            batch_commands: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 14)),
            apply_seconds: Histogram::new(exponential_buckets(0.000_01, 2.0, 18)),
            published: Mutex::new(Instant::now()),
            signature_expiry: Mutex::new(BTreeMap::new()),
            clean_pass: Mutex::new(BTreeMap::new()),
        }
    }
}

impl WriterHealth {
    /// The writer thread has ended (shutdown, or it died).
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Why writes cannot succeed any more in this process, if they cannot.
    pub fn store_failure(&self) -> Option<String> {
        self.store_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether commands can be committed.
    pub fn is_live(&self) -> bool {
        !self.stopped() && self.store_failure().is_none()
    }

    /// The earliest signature expiry of each signed zone, as of the
    /// signature sweep's last full pass over it.
    pub fn signature_expiries(&self) -> BTreeMap<DomainName, u32> {
        self.signature_expiry.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set_signature_expiry(&self, tld: &DomainName, earliest: Option<u32>) {
        let mut map = self.signature_expiry.lock().unwrap_or_else(|p| p.into_inner());
        match earliest {
            Some(e) => map.insert(tld.clone(), e),
            None => map.remove(tld),
        };
    }

    /// The sweep's last full pass over `tld` that found no signature by a
    /// key that no longer signs, if the keys that sign now (`signers`) are
    /// those it read under: a pass from before a key change proves nothing,
    /// even when a coarse clock gives it the new keys' very timestamp.
    pub fn clean_pass(&self, tld: &DomainName, signers: &Signers) -> Option<crate::model::rollover::CleanPass> {
        let passes = self.clean_pass.lock().unwrap_or_else(|p| p.into_inner());
        passes.get(tld).filter(|(read_under, _)| read_under == signers).map(|(_, pass)| *pass)
    }

    pub(super) fn set_clean_pass(&self, tld: &DomainName, signers: Signers, pass: crate::model::rollover::CleanPass) {
        self.clean_pass.lock().unwrap_or_else(|p| p.into_inner()).insert(tld.clone(), (signers, pass));
    }

    /// Forgets zones no longer signed.
    pub(super) fn keep_signature_expiries(&self, signed: &[DomainName]) {
        self.signature_expiry.lock().unwrap_or_else(|p| p.into_inner()).retain(|tld, _| signed.contains(tld));
        self.clean_pass.lock().unwrap_or_else(|p| p.into_inner()).retain(|tld, _| signed.contains(tld));
    }

    /// How long ago the snapshot readers see was published (the start, before any commit).
    pub fn snapshot_age(&self) -> Duration {
        self.published.lock().unwrap_or_else(|p| p.into_inner()).elapsed()
    }
}

/// Marks the writer stopped however its thread ends, panics included.
struct StoppedOnDrop(Arc<WriterHealth>);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
    }
}

pub(super) struct Writer {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WriterSettings,
    snapshots: Arc<SnapshotCell>,
    commits: watch::Sender<u64>,
    health: Arc<WriterHealth>,
    failures: watch::Sender<Option<String>>,
    generation: u64,
    access: WriteAccess,
}

/// Why a batch was not committed.
enum BatchFailure {
    Store(StoreError),
    /// The handler of the command at `index` panicked.
    Panicked {
        index: usize,
        message: String,
    },
}

impl From<StoreError> for BatchFailure {
    fn from(e: StoreError) -> Self {
        BatchFailure::Store(e)
    }
}

impl Writer {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: WriterSettings,
        snapshots: Arc<SnapshotCell>,
        commits: watch::Sender<u64>,
        health: Arc<WriterHealth>,
        failures: watch::Sender<Option<String>>,
    ) -> Self {
        let generation = snapshots.generation();
        Writer { store, clock, settings, snapshots, commits, health, failures, generation, access: WriteAccess(()) }
    }

    /// Runs until every sender is gone and the queue is empty, or until told to close.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Message>) {
        let _stopped = StoppedOnDrop(self.health.clone());
        let mut carried: Option<Job> = None;
        let mut closing = false;
        while !closing {
            let first = match carried.take().map(Message::Job).or_else(|| jobs.blocking_recv()) {
                Some(Message::Job(job)) => job,
                Some(Message::Close) | None => break,
            };
            let mut batch = vec![first];
            // A bulk import commits alone, so its failure takes nothing else with it.
            if !is_import(&batch[0]) {
                while batch.len() < self.settings.batch_max {
                    match jobs.try_recv() {
                        Ok(Message::Job(job)) if is_import(&job) => {
                            carried = Some(job);
                            break;
                        }
                        Ok(Message::Job(job)) => batch.push(job),
                        Ok(Message::Close) => {
                            closing = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
            self.execute(batch);
        }
        tracing::debug!("registry writer stopped");
    }

    fn execute(&mut self, mut batch: Vec<Job>) {
        let started = Instant::now();
        loop {
            match self.commit(&batch) {
                Ok((results, changed)) => {
                    self.health.batch_commands.observe(batch.len() as f64);
                    self.health.commit_seconds.observe(started.elapsed().as_secs_f64());
                    if changed {
                        // Query counts are committed every second; they change no object, so
                        // what readers decoded and rendered from the last snapshot stays valid.
                        let objects_changed =
                            !batch.iter().all(|job| matches!(job.command, Command::CountReads(_) | Command::SetCounts(_)));
                        self.publish(objects_changed);
                    }
                    tracing::debug!(commands = batch.len(), elapsed_us = started.elapsed().as_micros() as u64, "batch committed");
                    for (job, result) in batch.into_iter().zip(results) {
                        let _ = job.reply.send(result);
                    }
                    return;
                }
                Err(BatchFailure::Panicked { index, message }) => {
                    let job = batch.remove(index);
                    tracing::error!(
                        command = job.command.name(),
                        panic = %message,
                        others = batch.len(),
                        "a command handler panicked; its batch was aborted and runs again without it"
                    );
                    let _ = job.reply.send(Err(RegistryError::Internal(format!("the registry failed on this {}", job.command.name()))));
                    if batch.is_empty() {
                        return;
                    }
                }
                Err(BatchFailure::Store(e)) => {
                    tracing::error!(error = %e, commands = batch.len(), "batch failed; nothing was committed");
                    if e.is_unavailable() {
                        self.store_failed(&e);
                    }
                    for job in batch {
                        let _ = job.reply.send(Err(RegistryError::Store(e.clone())));
                    }
                    return;
                }
            }
        }
    }

    fn store_failed(&self, e: &StoreError) {
        let mut failure = self.health.store_failure.lock().unwrap_or_else(|p| p.into_inner());
        if failure.is_none() {
            tracing::error!(error = %e, "the store takes no more writes in this process; the daemon stops so that it is reopened");
            *failure = Some(e.to_string());
            let _ = self.failures.send(Some(e.to_string()));
        }
    }

    /// Applies the batch and commits it if any command succeeded; a storage
    /// failure or a panic aborts the whole transaction.
    fn commit(&mut self, batch: &[Job]) -> Result<(Vec<Result<Outcome, RegistryError>>, bool), BatchFailure> {
        let started = Instant::now();
        let now = self.clock.now();
        let txn = self.store.begin_write(&self.access)?;
        let mut results = Vec::with_capacity(batch.len());
        let mut changed = false;
        {
            let mut tables = WriteTables::open(&txn)?;
            if batch.len() == 1 && is_import(&batch[0]) {
                tables.record_no_undo();
            }
            let mut zones = ZoneChanges::default();
            for (index, job) in batch.iter().enumerate() {
                let mut cx = Cx::new(&mut tables, &mut zones, now, &self.settings, &job.actor);
                let result = catch_unwind(AssertUnwindSafe(|| apply(&mut cx, &job.command)))
                    .map_err(|panic| BatchFailure::Panicked { index, message: panic_message(panic.as_ref()) })?;
                match result {
                    Err(RegistryError::Store(e)) => return Err(e.into()),
                    Ok(outcome) => {
                        changed = true;
                        results.push(Ok(outcome));
                    }
                    Err(refused) => {
                        if !tables.keeps_undo() {
                            // A refused bulk import (alone in its batch) cannot be undone
                            // change by change: nothing of the transaction is kept.
                            drop(tables);
                            txn.abort().map_err(StoreError::from)?;
                            return Ok((vec![Err(refused)], false));
                        }
                        // A registrar's refused command still counts in the reports.
                        changed |= job.actor.registrar().is_some() && job.command.counted_as().is_some();
                        results.push(Err(refused));
                    }
                }
                tables.settle();
            }
            zones.finish(&mut tables, now, self.settings.journal_entries_max, &self.settings.keys)?;
            tables.log_changes(now, now.plus_seconds(-CHANGE_LOG_RETENTION_S))?;
        }
        self.health.apply_seconds.observe(started.elapsed().as_secs_f64());
        if changed {
            txn.commit().map_err(StoreError::from)?;
        } else {
            txn.abort().map_err(StoreError::from)?;
        }
        Ok((results, changed))
    }

    fn publish(&mut self, objects_changed: bool) {
        self.generation += 1;
        match self.store.snapshot(self.generation) {
            Ok(mut snapshot) => {
                // Only from the snapshot just before: after a publish that failed, the
                // one still out may hold objects older than this commit's.
                let previous = self.snapshots.load();
                if !objects_changed && previous.generation + 1 == self.generation {
                    snapshot.keep_memo_of(&previous);
                }
                self.snapshots.publish(snapshot);
                *self.health.published.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                let _ = self.commits.send(self.generation);
            }
            Err(e) => tracing::error!(error = %e, "cannot open a snapshot after commit"),
        }
    }
}

fn is_import(job: &Job) -> bool {
    matches!(job.command, Command::Import(_) | Command::ImportDeposit(_))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::model::dnssec::KeyRole;
    use crate::model::rollover::CleanPass;

    #[test]
    fn a_clean_pass_holds_only_for_the_keys_it_was_read_under() {
        let health = WriterHealth::default();
        let tld: DomainName = "example".parse().unwrap();
        let at = Timestamp::from_unix_seconds(1_000_000);
        let pass = CleanPass { started: at, ended: at };
        let old = vec![(1, KeyRole::Ksk), (2, KeyRole::Zsk)];
        health.set_clean_pass(&tld, old.clone(), pass);
        assert_eq!(health.clean_pass(&tld, &old), Some(pass));
        let rolled = vec![(1, KeyRole::Ksk), (2, KeyRole::Zsk), (3, KeyRole::Ksk), (4, KeyRole::Zsk)];
        assert_eq!(health.clean_pass(&tld, &rolled), None, "a pass from before the key change proves nothing");
        health.keep_signature_expiries(&[]);
        assert_eq!(health.clean_pass(&tld, &old), None, "an unsigned zone has no pass");
    }
}
