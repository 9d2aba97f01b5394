//! Report counts of work that never passes the writer — EPP reads and early
//! refusals, RDAP and WHOIS queries — kept in memory and moved into the
//! store's counters with one command per interval, so reads stay read-only
//! and the monthly reports stay exact up to the last interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use super::{Command, Registry};
use crate::model::Timestamp;

#[derive(Default)]
pub struct ReadCounts {
    pending: Mutex<HashMap<String, u64>>,
    /// Public lookups, counted without building a key per query (they come by
    /// the ten thousand a second); few months, TLDs and services, so a list.
    queries: Mutex<Vec<QueryCount>>,
}

struct QueryCount {
    year_month: (i64, u32),
    tld: Box<str>,
    service: &'static str,
    n: u64,
}

impl ReadCounts {
    pub fn add(&self, key: String) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(0) += 1;
    }

    /// Counts one query of a public lookup service (`rdap`, `whois-43`)
    /// under `tld` (empty when the query names none of ours).
    pub fn add_query(&self, now: Timestamp, tld: &str, service: &'static str) {
        let year_month = now.year_month();
        let mut queries = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        match queries.iter_mut().find(|q| q.year_month == year_month && q.service == service && &*q.tld == tld) {
            Some(q) => q.n += 1,
            None => queries.push(QueryCount { year_month, tld: tld.into(), service, n: 1 }),
        }
    }

    /// Moves what was counted so far into the store.
    pub async fn flush(&self, registry: &Registry) {
        let queries = std::mem::take(&mut *self.queries.lock().unwrap_or_else(|p| p.into_inner()));
        let mut counts: Vec<(String, u64)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect();
        counts.extend(queries.into_iter().map(|q| (super::query_counter_key(q.year_month, &q.tld, q.service), q.n)));
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
