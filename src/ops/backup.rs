//! Backups while the daemon serves: taken on request (operator API, `domain-os
//! backup`) or on the configured schedule, one at a time, each from the
//! latest published snapshot, named by their UTC time in the backup folder,
//! with the oldest scheduled ones beyond the configured count removed.
//!
//! Must not: write registry state; the copy itself is `store::backup`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::config::Config;
use crate::model::{Clock, Timestamp};
use crate::registry::Registry;
use crate::registry::keys::Keys;
use crate::store::StoreError;
use crate::store::backup::{self, BackupSummary};

const PREFIX: &str = "registry-";
const SUFFIX: &str = ".redb";

/// What a finished backup reports.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub schema_version: u32,
    /// Rows per table.
    pub tables: Vec<(String, u64)>,
    /// Each TLD's SOA serial in the backup.
    pub serials: Vec<(String, u32)>,
}

impl BackupReport {
    pub fn new(path: PathBuf, summary: BackupSummary, elapsed: Duration) -> Self {
        BackupReport {
            path,
            bytes: summary.bytes,
            elapsed_ms: elapsed.as_millis() as u64,
            schema_version: summary.schema_version,
            tables: summary.tables.into_iter().map(|(t, n)| (t.to_string(), n)).collect(),
            serials: summary.serials,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a backup is already running")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The daemon's backups: where they go and the turn only one holds at a time.
pub struct Backups {
    registry: Registry,
    clock: Arc<dyn Clock>,
    folder: PathBuf,
    keep: usize,
    /// Where the private keys a backup carries are read from.
    keys: Arc<Keys>,
    turn: tokio::sync::Mutex<()>,
}

impl Backups {
    pub fn new(registry: Registry, clock: Arc<dyn Clock>, config: &Config, keys: Arc<Keys>) -> Arc<Self> {
        Arc::new(Backups {
            registry,
            clock,
            folder: config.data_dir.join(&config.backup.folder),
            keep: config.backup.keep,
            keys,
            turn: Default::default(),
        })
    }

    /// Backs up the latest snapshot to `to`, or to a new time-named file in
    /// the backup folder; refused while another backup runs.
    pub async fn take(&self, to: Option<PathBuf>) -> Result<BackupReport, BackupError> {
        let _turn = self.turn.try_lock().map_err(|_| BackupError::Busy)?;
        let to = to.unwrap_or_else(|| time_named(&self.folder, self.clock.now()));
        let snapshot = self.registry.snapshot();
        let started = Instant::now();
        let (path, keys) = (to.clone(), self.keys.clone());
        let summary = tokio::task::spawn_blocking(move || backup::backup(&snapshot, &keys.export(&snapshot)?, &path, &mut |_, _| {}))
            .await
            .map_err(|e| StoreError::Db(format!("the backup task failed: {e}")))??;
        let report = BackupReport::new(to, summary, started.elapsed());
        tracing::info!(path = %report.path.display(), bytes = report.bytes, elapsed_ms = report.elapsed_ms, "backup written");
        Ok(report)
    }

    /// Takes a backup every `interval` until shutdown, keeping the newest `keep`.
    pub async fn run_schedule(self: Arc<Self>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            match self.take(None).await {
                Ok(_) => {
                    if let Err(e) = prune(&self.folder, self.keep) {
                        tracing::warn!(folder = %self.folder.display(), error = %e, "cannot remove old backups");
                    }
                }
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
        }
    }
}

/// The backup file in `folder` for a backup taken at `now`.
pub fn time_named(folder: &Path, now: Timestamp) -> PathBuf {
    folder.join(file_name(&now.to_rfc3339_seconds()))
}

/// `registry-20261205T123000Z.redb` for `2026-12-05T12:30:00Z`: names that sort by time.
fn file_name(rfc3339: &str) -> String {
    let compact: String = rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("{PREFIX}{compact}{SUFFIX}")
}

/// Removes all but the newest `keep` time-named backups in `folder`.
pub fn prune(folder: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut named: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX)))
        .collect();
    named.sort();
    let excess = named.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = named.drain(..excess).collect();
    for path in &removed {
        std::fs::remove_file(path)?;
        tracing::info!(path = %path.display(), "old backup removed");
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_pruning_keeps_the_newest() {
        assert_eq!(file_name("2026-12-05T12:30:00Z"), "registry-20261205T123000Z.redb");
        let dir = tempfile::tempdir().unwrap();
        for t in ["2026-12-03T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-04T00:00:00Z"] {
            std::fs::write(dir.path().join(file_name(t)), "").unwrap();
        }
        std::fs::write(dir.path().join("chosen-by-hand.redb"), "").unwrap();
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(removed, vec![dir.path().join("registry-20261203T000000Z.redb")]);
        assert!(dir.path().join("chosen-by-hand.redb").exists(), "only time-named backups are pruned");
    }
}
