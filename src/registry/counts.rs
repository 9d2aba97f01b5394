//! Report counts of work that never passes the writer — EPP reads and early
//! refusals, RDAP, WHOIS and DNS queries — kept in memory and moved into the
//! store's counters with one command per interval, so reads stay read-only
//! and the monthly reports stay exact up to the last interval. Each DNS
//! serving thread counts into a slot of its own (an uncontended lock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{Command, Registry};
use crate::model::{Clock, DomainName, Timestamp};

/// DNS queries of one serving thread by TLD: UDP received and responded,
/// TCP received and responded (the activity report's order).
#[derive(Default)]
pub struct DnsQueryCounts(Mutex<Vec<(DomainName, [u64; 4])>>);

impl DnsQueryCounts {
    /// Counts a query for a name in `tld`.
    pub fn add(&self, tld: &DomainName, tcp: bool, responded: bool) {
        self.add_n(tld, tcp, 1, u64::from(responded));
    }

    /// Counts `received` queries for names in `tld`, `responded` of them answered.
    pub fn add_n(&self, tld: &DomainName, tcp: bool, received: u64, responded: u64) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let i = match counts.iter().position(|(t, _)| t == tld) {
            Some(i) => i,
            None => {
                counts.push((tld.clone(), [0; 4]));
                counts.len() - 1
            }
        };
        let at = if tcp { 2 } else { 0 };
        counts[i].1[at] += received;
        counts[i].1[at + 1] += responded;
    }
}

#[derive(Default)]
pub struct ReadCounts {
    pending: Mutex<HashMap<String, u64>>,
    dns: Mutex<Vec<Arc<DnsQueryCounts>>>,
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

    /// A slot for one DNS serving thread.
    pub fn dns_slot(&self) -> Arc<DnsQueryCounts> {
        let slot = Arc::new(DnsQueryCounts::default());
        self.dns.lock().unwrap_or_else(|p| p.into_inner()).push(slot.clone());
        slot
    }

    /// Moves what was counted so far into the store, under the month of `now`.
    pub async fn flush(&self, registry: &Registry, now: Timestamp) {
        let queries = std::mem::take(&mut *self.queries.lock().unwrap_or_else(|p| p.into_inner()));
        let mut counts: Vec<(String, u64)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect();
        counts.extend(queries.into_iter().map(|q| (super::query_counter_key(q.year_month, &q.tld, q.service), q.n)));
        let month = crate::model::report::Month::of(now);
        let slots = self.dns.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for slot in slots {
            for (tld, n) in std::mem::take(&mut *slot.0.lock().unwrap_or_else(|p| p.into_inner())) {
                for (name, n) in crate::report::DNS_COUNTS.iter().zip(n).filter(|(_, n)| *n > 0) {
                    counts.push((crate::report::counter_key(month, tld.as_str(), "", "dns", name), n));
                }
            }
        }
        if !counts.is_empty()
            && let Err(e) = registry.execute(Command::CountReads(counts)).await
        {
            tracing::error!(error = %e, "cannot store query counts");
        }
    }

    /// Flushes every `every` until `stop` turns true, then once more.
    pub async fn run(&self, registry: Registry, clock: Arc<dyn Clock>, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(every) => false,
                _ = stop.changed() => true,
            };
            self.flush(&registry, clock.now()).await;
            if stopping {
                return;
            }
        }
    }
}
