//! Report counts of work that never passes the writer — EPP reads and early
//! refusals, RDAP and WHOIS queries — kept in memory and moved into the
//! store's counters with one command per interval, so reads stay read-only
//! and the monthly reports stay exact up to the last interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use super::{Command, Registry};

#[derive(Default)]
pub struct ReadCounts {
    pending: Mutex<HashMap<String, u64>>,
}

impl ReadCounts {
    pub fn add(&self, key: String) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(0) += 1;
    }

    /// Moves what was counted so far into the store.
    pub async fn flush(&self, registry: &Registry) {
        let counts: Vec<(String, u64)> = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect();
        if !counts.is_empty()
            && let Err(e) = registry.execute(Command::CountReads(counts)).await
        {
            tracing::error!(error = %e, "cannot store query counts");
        }
    }

    /// Flushes every `every` until `stop` turns true, then once more.
    pub async fn run(&self, registry: Registry, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(every) => false,
                _ = stop.changed() => true,
            };
            self.flush(&registry).await;
            if stopping {
                return;
            }
        }
    }
}
