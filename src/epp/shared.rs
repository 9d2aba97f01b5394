//! What every EPP session needs from the server: the registry, the clock,
//! the settings, and the state sessions share — open sessions per
//! registrar, failed logins per network, the turns for password hashes, the
//! connect budget and the counts of reads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::config::EppConfig;
use crate::model::{ClientId, Clock, IpPrefix, Timestamp};
use crate::registry::Registry;

/// What a session needs from the server.
pub struct EppShared {
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    pub config: EppConfig,
    pub server_id: String,
    /// Open sessions per registrar.
    pub(super) sessions: Mutex<HashMap<ClientId, usize>>,
    /// Consecutive failed logins per source network and client id, and when a
    /// lockout ends (at most [`FAILURES_TRACKED_MAX`] entries).
    pub(super) failures: Mutex<HashMap<(IpAddr, ClientId), Failures>>,
    /// Turns to compute a password hash.
    pub(super) login_hashes: Semaphore,
    /// One turn per registrar in front of those: one registrar's flood of
    /// failed logins queues behind itself, not in front of everyone else.
    pub(super) registrar_hashes: Mutex<HashMap<ClientId, Arc<Semaphore>>>,
    /// Counts of commands that never reach the writer (reads, early refusals).
    pub read_counts: Arc<crate::registry::counts::ReadCounts>,
    pub metrics: Arc<crate::ops::metrics::Counters>,
    /// New connections per network, spent before the TLS handshake.
    pub connects: crate::ratelimit::ConnectBudget,
    /// Connections not yet logged in (`unauthenticated_connections_max`);
    /// a session gives its turn back at login.
    pub(super) unauthenticated: Arc<Semaphore>,
    /// The source prefixes some registrar may log in from, as of a snapshot generation.
    admitted: Mutex<Option<(u64, Arc<[IpPrefix]>)>>,
    /// Addresses a registrar logged in from lately, and when: their new
    /// connections do not wait among the unauthenticated ones, so a crowd
    /// that never logs in cannot keep a registrar's usual address out.
    logged_in_from: Mutex<HashMap<IpAddr, Timestamp>>,
}

/// Addresses remembered for their logins; at most [`LOGIN_ADDRESSES_MAX`] of them.
pub const LOGIN_ADDRESS_KEPT_S: i64 = 7 * 86_400;
pub const LOGIN_ADDRESSES_MAX: usize = 4096;

/// Failed logins in a row, and the end of the lockout they caused.
pub(super) type Failures = (u32, Option<Timestamp>);

/// (network, client id) pairs whose failed logins are remembered at once.
/// Only registrars that exist, seen from an allowed address with their
/// pinned certificate, are counted, so honest use stays far below it.
pub const FAILURES_TRACKED_MAX: usize = 10_000;

impl EppShared {
    /// One answered command, for the metrics.
    pub fn count(&self, object: &'static str, command: &'static str, code: u16) {
        self.metrics.epp_commands.get_or_create(&crate::ops::metrics::EppCommand { object, command, code }).inc();
    }

    pub fn new(
        registry: Registry,
        clock: Arc<dyn Clock>,
        config: EppConfig,
        server_id: String,
        read_counts: Arc<crate::registry::counts::ReadCounts>,
        metrics: Arc<crate::ops::metrics::Counters>,
    ) -> EppShared {
        let login_hashes = Semaphore::new(config.login_hashes_max);
        let unauthenticated = Arc::new(Semaphore::new(config.unauthenticated_connections_max));
        let connects = crate::ratelimit::ConnectBudget::new(config.connects_per_network_per_s, config.connects_per_network_burst);
        EppShared {
            connects,
            registry,
            clock,
            config,
            server_id,
            sessions: Default::default(),
            failures: Default::default(),
            login_hashes,
            registrar_hashes: Default::default(),
            read_counts,
            metrics,
            unauthenticated,
            admitted: Mutex::new(None),
            logged_in_from: Default::default(),
        }
    }

    pub(super) fn remember_login_address(&self, addr: IpAddr, now: Timestamp) {
        let mut seen = self.logged_in_from.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= LOGIN_ADDRESSES_MAX && !seen.contains_key(&addr) {
            seen.retain(|_, at| at.plus_seconds(LOGIN_ADDRESS_KEPT_S) > now);
            if seen.len() >= LOGIN_ADDRESSES_MAX
                && let Some(oldest) = seen.iter().min_by_key(|(_, at)| **at).map(|(a, _)| *a)
            {
                seen.remove(&oldest);
            }
        }
        seen.insert(addr, now);
    }

    /// Whether a registrar logged in from `addr` within [`LOGIN_ADDRESS_KEPT_S`].
    pub fn logged_in_lately_from(&self, addr: IpAddr, now: Timestamp) -> bool {
        let seen = self.logged_in_from.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&addr).is_some_and(|at| at.plus_seconds(LOGIN_ADDRESS_KEPT_S) > now)
    }

    /// Whether some registrar may log in from `addr`. Login needs the
    /// source address in the registrar's allowed prefixes, so a peer outside
    /// all of them can never log in: it is closed before the TLS handshake
    /// and never holds a connection slot. Read from the newest snapshot; the
    /// prefixes are gathered again only after a commit.
    pub fn may_log_in_from(&self, addr: IpAddr) -> bool {
        let snapshot = self.registry.snapshot();
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        let prefixes = match &*admitted {
            Some((generation, prefixes)) if *generation == snapshot.generation => prefixes.clone(),
            _ => match snapshot.registrars() {
                Ok(registrars) => {
                    let prefixes: Arc<[IpPrefix]> = registrars.into_iter().flat_map(|r| r.allowed_addresses).collect();
                    *admitted = Some((snapshot.generation, prefixes.clone()));
                    prefixes
                }
                // Login reads the same store and will answer for itself.
                Err(_) => return true,
            },
        };
        prefixes.iter().any(|p| p.contains(addr))
    }
}
