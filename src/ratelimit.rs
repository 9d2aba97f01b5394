//! Crawl mitigation for the public services (RDAP, WHOIS): token buckets per
//! client address, per network prefix (/24 for IPv4, /56 for IPv6, so one
//! client cannot escape by rotating addresses within its allocation), and a
//! slower bucket for searches, with higher limits for trusted addresses.
//! Memory is bounded: buckets that have refilled are forgotten when the
//! tables grow past their limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{IpPrefix, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Off only where something in front of the service limits clients already.
    pub enabled: bool,
    /// Sustained queries per second per client address, and the burst allowed.
    pub queries_per_second: u32,
    pub burst: u32,
    /// The same per /24 (IPv4) or /56 (IPv6) network.
    pub prefix_queries_per_second: u32,
    pub prefix_burst: u32,
    /// Searches per minute per client address (also counted as queries).
    pub searches_per_minute: u32,
    /// The same per /24 (IPv4) or /56 (IPv6) network.
    pub prefix_searches_per_minute: u32,
    /// Clients with the trusted limit instead (e.g. monitoring, authorised portals).
    pub trusted: Vec<IpPrefix>,
    pub trusted_queries_per_second: u32,
    /// Clients tracked at once before refilled buckets are forgotten.
    pub tracked_max: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            queries_per_second: 10,
            burst: 40,
            prefix_queries_per_second: 50,
            prefix_burst: 200,
            searches_per_minute: 30,
            prefix_searches_per_minute: 120,
            trusted: Vec::new(),
            trusted_queries_per_second: 10_000,
            tracked_max: 100_000,
        }
    }
}

impl RateLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.queries_per_second == 0 || self.burst == 0 || self.prefix_queries_per_second == 0 || self.prefix_burst == 0 {
            return Err("rate limits must be positive".into());
        }
        if self.trusted_queries_per_second == 0 || self.tracked_max == 0 {
            return Err("trusted_queries_per_second and tracked_max must be positive".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lookup,
    Search,
}

/// A token bucket on the registry's clock (so tests move time instead of waiting for it).
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Timestamp,
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.0 - from.0).max(0) as f64 / 1000.0
}

impl Bucket {
    pub fn full(now: Timestamp, burst: f64) -> Bucket {
        Bucket { tokens: burst, at: now }
    }

    /// Takes one token if there is one; otherwise says when there will be.
    pub fn take(&mut self, now: Timestamp, rate: f64, burst: f64) -> Result<(), Duration> {
        self.tokens = (self.tokens + seconds_between(self.at, now) * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    fn refilled(&self, now: Timestamp, rate: f64, burst: f64) -> bool {
        self.tokens + seconds_between(self.at, now) * rate >= burst
    }
}

struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    rate: f64,
    burst: f64,
}

impl Table {
    fn new(rate: f64, burst: f64) -> Self {
        Table { buckets: HashMap::new(), rate, burst }
    }

    fn take(&mut self, key: IpAddr, now: Timestamp, tracked_max: usize, rate: f64, burst: f64) -> Result<(), Duration> {
        if self.buckets.len() >= tracked_max && !self.buckets.contains_key(&key) {
            let (r, b) = (self.rate, self.burst);
            self.buckets.retain(|_, bucket| !bucket.refilled(now, r, b));
            if self.buckets.len() >= tracked_max {
                // More active clients than we track: start everyone afresh rather than grow.
                tracing::warn!(tracked = self.buckets.len(), "rate limiter table full; resetting it");
                self.buckets.clear();
            }
        }
        self.buckets.entry(key).or_insert(Bucket::full(now, burst)).take(now, rate, burst)
    }
}

struct Tables {
    per_address: Table,
    per_network: Table,
    searches: Table,
    network_searches: Table,
}

pub struct RateLimiter {
    limits: RateLimits,
    state: Mutex<Tables>,
}

/// New connections per network (/24, /56), admitted before any costly work
/// (a TLS handshake) is done for them: one network's flood of connects
/// spends its own budget, not the cores every other peer shares.
pub struct ConnectBudget {
    table: Mutex<Table>,
}

/// Networks tracked at once by a [`ConnectBudget`].
const CONNECT_NETWORKS_TRACKED_MAX: usize = 100_000;

impl ConnectBudget {
    pub fn new(per_s: u32, burst: u32) -> Self {
        ConnectBudget { table: Mutex::new(Table::new(per_s as f64, burst as f64)) }
    }

    /// Takes a connect from `addr`'s network, if its budget has one.
    pub fn admit(&self, addr: IpAddr, now: Timestamp) -> bool {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let (rate, burst) = (t.rate, t.burst);
        t.take(network(addr), now, CONNECT_NETWORKS_TRACKED_MAX, rate, burst).is_ok()
    }
}

/// The network a client address belongs to, for the per-prefix limits.
pub fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xFFFF_FF00).into()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 72) - 1)).into()),
        },
    }
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        let per_address = Table::new(limits.queries_per_second as f64, limits.burst as f64);
        let per_network = Table::new(limits.prefix_queries_per_second as f64, limits.prefix_burst as f64);
        let per_minute = |n: u32| Table::new(n as f64 / 60.0, n.max(1) as f64);
        let searches = per_minute(limits.searches_per_minute);
        let network_searches = per_minute(limits.prefix_searches_per_minute);
        RateLimiter { limits, state: Mutex::new(Tables { per_address, per_network, searches, network_searches }) }
    }

    /// Admits one request from `addr` at `now`, or says how long until it would be.
    pub fn check(&self, addr: IpAddr, kind: Kind, now: Timestamp) -> Result<(), Duration> {
        let l = &self.limits;
        if !l.enabled {
            return Ok(());
        }
        // Decided before the lock: every RDAP and WHOIS request waits on it.
        let trusted = l.trusted.iter().any(|p| p.contains(addr));
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Tables { per_address, per_network, searches, network_searches } = &mut *guard;
        if trusted {
            let rate = l.trusted_queries_per_second as f64;
            return per_address.take(addr, now, l.tracked_max, rate, rate);
        }
        if kind == Kind::Search {
            if l.searches_per_minute == 0 || l.prefix_searches_per_minute == 0 {
                return Err(Duration::from_secs(60));
            }
            let (rate, burst) = (searches.rate, searches.burst);
            searches.take(addr, now, l.tracked_max, rate, burst)?;
            let (rate, burst) = (network_searches.rate, network_searches.burst);
            network_searches.take(network(addr), now, l.tracked_max, rate, burst)?;
        }
        let (rate, burst) = (per_address.rate, per_address.burst);
        per_address.take(addr, now, l.tracked_max, rate, burst)?;
        let (rate, burst) = (per_network.rate, per_network.burst);
        per_network.take(network(addr), now, l.tracked_max, rate, burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Time stands still unless a test moves it.
    const T: Timestamp = Timestamp(1_700_000_000_000);

    fn limiter(per_address: u32, per_network: u32) -> RateLimiter {
        RateLimiter::new(RateLimits {
            queries_per_second: 1,
            burst: per_address,
            prefix_queries_per_second: 1,
            prefix_burst: per_network,
            searches_per_minute: 2,
            prefix_searches_per_minute: 3,
            trusted: vec![IpPrefix::parse("192.0.2.0/24").unwrap()],
            tracked_max: 4,
            ..RateLimits::default()
        })
    }

    #[test]
    fn bursts_then_refuses_with_a_retry_time() {
        let l = limiter(3, 100);
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..3 {
            l.check(a, Kind::Lookup, T).unwrap();
        }
        let wait = l.check(a, Kind::Lookup, T).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(l.check(a, Kind::Lookup, T.plus_seconds(1)).is_ok(), "one token back after a second");
        assert!(l.check(a, Kind::Lookup, T.plus_seconds(1)).is_err());
        l.check("198.51.100.8".parse().unwrap(), Kind::Lookup, T).expect("another client is unaffected");
    }

    #[test]
    fn a_network_shares_its_budget() {
        let l = limiter(100, 5);
        for i in 0..5 {
            l.check(format!("203.0.113.{i}").parse().unwrap(), Kind::Lookup, T).unwrap();
        }
        assert!(l.check("203.0.113.200".parse().unwrap(), Kind::Lookup, T).is_err(), "same /24");
        assert!(l.check("203.0.114.1".parse().unwrap(), Kind::Lookup, T).is_ok(), "next /24");
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(network(v6("2001:db8:1:2300::1")), network(v6("2001:db8:1:23ff:ffff::9")), "same /56");
        assert_ne!(network(v6("2001:db8:1:2300::1")), network(v6("2001:db8:1:2400::1")));
    }

    #[test]
    fn searches_have_their_own_budget_and_trusted_clients_theirs() {
        let l = limiter(100, 100);
        let a: IpAddr = "198.51.100.9".parse().unwrap();
        l.check(a, Kind::Search, T).unwrap();
        l.check(a, Kind::Search, T).unwrap();
        assert!(l.check(a, Kind::Search, T).is_err());
        assert!(l.check(a, Kind::Lookup, T).is_ok(), "lookups go on");
        // Its network has one search left: a neighbour takes it, the next neighbour waits.
        l.check("198.51.100.10".parse().unwrap(), Kind::Search, T).unwrap();
        assert!(l.check("198.51.100.11".parse().unwrap(), Kind::Search, T).is_err(), "the /24's search budget is spent");
        assert!(l.check("198.51.101.11".parse().unwrap(), Kind::Search, T).is_ok(), "another /24 searches on");
        let trusted: IpAddr = "192.0.2.10".parse().unwrap();
        for _ in 0..1000 {
            l.check(trusted, Kind::Search, T).unwrap();
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let l = limiter(100, 100);
        for i in 0..50u32 {
            let _ = l.check(IpAddr::V4((0x0A00_0000 + (i << 8)).into()), Kind::Lookup, T);
        }
        let state = l.state.lock().unwrap();
        assert!(state.per_address.buckets.len() <= 4 && state.per_network.buckets.len() <= 4);
    }
}
