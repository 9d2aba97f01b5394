//! The writer thread: drains queued commands into a batch, applies them in
//! one write transaction, commits once (one fsync for the batch), publishes
//! the new snapshot, and only then answers each submitter.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::apply::{Cx, apply};
use super::zone::ZoneChanges;
use super::{Command, Job, Outcome, RegistryError, WriterSettings};
use crate::model::Clock;
use crate::store::{SnapshotCell, Store, StoreError, WriteTables};

pub(super) struct Writer {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WriterSettings,
    snapshots: Arc<SnapshotCell>,
    commits: watch::Sender<u64>,
    generation: u64,
}

impl Writer {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: WriterSettings,
        snapshots: Arc<SnapshotCell>,
        commits: watch::Sender<u64>,
    ) -> Self {
        let generation = snapshots.generation();
        Writer { store, clock, settings, snapshots, commits, generation }
    }

    /// Runs until every sender is gone and the queue is empty.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut carried: Option<Job> = None;
        loop {
            let Some(first) = carried.take().or_else(|| jobs.blocking_recv()) else {
                break;
            };
            let mut batch = vec![first];
            // A bulk import commits alone, so its failure takes nothing else with it.
            if !is_import(&batch[0]) {
                while batch.len() < self.settings.batch_max {
                    match jobs.try_recv() {
                        Ok(job) if is_import(&job) => {
                            carried = Some(job);
                            break;
                        }
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
            }
            self.execute(batch);
        }
        tracing::debug!("registry writer stopped");
    }

    fn execute(&mut self, batch: Vec<Job>) {
        let size = batch.len();
        let started = std::time::Instant::now();
        match self.commit(&batch) {
            Ok((results, changed)) => {
                if changed {
                    // Query counts are committed every second; they change no object, so
                    // what readers decoded and rendered from the last snapshot stays valid.
                    let objects_changed = !batch.iter().all(|job| matches!(job.command, Command::CountReads(_)));
                    self.publish(objects_changed);
                }
                tracing::debug!(commands = size, elapsed_us = started.elapsed().as_micros() as u64, "batch committed");
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, commands = size, "batch failed; nothing was committed");
                let message = e.to_string();
                for job in batch {
                    let _ = job.reply.send(Err(RegistryError::Store(StoreError::Corrupt(message.clone()))));
                }
            }
        }
    }

    /// Applies the batch and commits it if any command succeeded; a storage
    /// failure aborts the whole transaction.
    fn commit(&mut self, batch: &[Job]) -> Result<(Vec<Result<Outcome, RegistryError>>, bool), StoreError> {
        let now = self.clock.now();
        let txn = self.store.begin_write()?;
        let mut results = Vec::with_capacity(batch.len());
        let mut changed = false;
        {
            let mut tables = WriteTables::open(&txn)?;
            let mut zones = ZoneChanges::default();
            for job in batch {
                let mut cx = Cx::new(&mut tables, &mut zones, now, &self.settings, &job.actor);
                match apply(&mut cx, &job.command) {
                    Err(RegistryError::Store(e)) => return Err(e),
                    Ok(outcome) => {
                        changed = true;
                        results.push(Ok(outcome));
                    }
                    Err(refused) => {
                        // A registrar's refused command still counts in the reports.
                        changed |= job.actor.registrar().is_some() && job.command.counted_as().is_some();
                        results.push(Err(refused));
                    }
                }
            }
            zones.finish(&mut tables, now, self.settings.journal_entries_max)?;
        }
        if changed {
            txn.commit()?;
        } else {
            txn.abort()?;
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
                let _ = self.commits.send(self.generation);
            }
            Err(e) => tracing::error!(error = %e, "cannot open a snapshot after commit"),
        }
    }
}

fn is_import(job: &Job) -> bool {
    matches!(job.command, Command::Import(_))
}
