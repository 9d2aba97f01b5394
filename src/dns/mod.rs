//! Authoritative DNS for every TLD, answered from the latest committed
//! snapshot: UDP on dedicated worker threads, TCP (with AXFR/IXFR) on the
//! async runtime, NOTIFY to secondaries, TSIG, and zonefiles of the same data.
//!
//! The serving path is our own wire code over the ordered zone rows. The
//! stock hickory-server stores scale linearly with zone size, refuse DS in
//! zone files and answer AXFR in a single message, so they cannot carry a
//! TLD; hickory-proto is used where a general message model is worth its
//! cost (parsing replies from secondaries).
//!
//! Must not: write registry state.

pub mod answer;
pub mod cds;
pub mod client;
pub mod notify;
pub mod parent;
pub mod tcp;
pub mod tsig;
pub mod udp;
pub mod wire;
pub mod xfr;
pub mod zonefile;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use crate::config::DnsConfig;
use crate::connections::ConnectionCaps;
use crate::model::Clock;
use crate::ops::metrics::{Counters, DnsTransport};
use crate::registry::counts::ReadCounts;
use crate::store::SnapshotCell;

/// A running DNS service.
pub struct DnsServer {
    /// Bound addresses (UDP and TCP share each one).
    pub addrs: Vec<SocketAddr>,
    udp_threads: Vec<std::thread::JoinHandle<()>>,
    udp_stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DnsServer {
    /// Binds every configured address and starts serving.
    pub async fn start(
        config: &DnsConfig,
        keyring: tsig::Keyring,
        snapshots: Arc<SnapshotCell>,
        clock: Arc<dyn Clock>,
        counters: &Counters,
        report_counts: &ReadCounts,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<DnsServer> {
        let answer_config = Arc::new(answer::AnswerConfig {
            udp_payload_max: config.udp_payload_bytes_max,
            nsid: (!config.nsid.is_empty()).then(|| config.nsid.as_bytes().to_vec()),
            keyring,
        });
        let workers = match config.udp_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let udp_stop = Arc::new(AtomicBool::new(false));
        let udp_shared = Arc::new(udp::Shared {
            snapshots: snapshots.clone(),
            config: answer_config.clone(),
            clock: clock.clone(),
            stop: udp_stop.clone(),
        });
        let tcp_shared = Arc::new(tcp::TcpShared {
            snapshots,
            config: answer_config,
            clock,
            acl: config.transfer_acl.clone(),
            connections: ConnectionCaps::new(config.tcp_connections_max, config.tcp_connections_per_address_max),
            transfers: Arc::new(Semaphore::new(config.transfers_max)),
            idle_timeout: Duration::from_secs(config.tcp_idle_timeout_s),
            counts: counters.dns_slot(DnsTransport::Tcp),
            report_counts: report_counts.dns_slot(),
        });
        let mut server = DnsServer { addrs: Vec::new(), udp_threads: Vec::new(), udp_stop, tasks: Vec::new() };
        for &addr in &config.listen {
            let (listener, sockets, bound) = match bind_pair(addr, workers) {
                Ok(bound) => bound,
                Err(e) => {
                    // Nothing has been served yet: stop what was bound so far at once.
                    for task in &server.tasks {
                        task.abort();
                    }
                    server.stop().await;
                    return Err(io::Error::new(e.kind(), format!("{addr}: {e}")));
                }
            };
            for (i, socket) in sockets.into_iter().enumerate() {
                let (counts, name) = (counters.dns_slot(DnsTransport::Udp), format!("dns-udp-{}-{i}", bound.port()));
                server.udp_threads.push(udp::spawn(socket, udp_shared.clone(), counts, report_counts.dns_slot(), name)?);
            }
            server.tasks.push(tokio::spawn(tcp::serve(listener, tcp_shared.clone(), shutdown.clone())));
            tracing::info!(address = %bound, udp_workers = workers, "serving DNS over UDP and TCP");
            server.addrs.push(bound);
        }
        Ok(server)
    }

    /// Stops the workers; the caller has already signalled `shutdown`.
    pub async fn stop(self) {
        self.udp_stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        let threads = self.udp_threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Binds TCP and UDP on the same address; with port 0 the kernel's TCP port
/// is reused for UDP (retrying if UDP happens to have it taken).
fn bind_pair(addr: SocketAddr, workers: usize) -> io::Result<(tokio::net::TcpListener, Vec<socket2::Socket>, SocketAddr)> {
    let mut last_error = None;
    for _ in 0..10 {
        let std_listener = crate::ops::listeners::tcp(addr)?;
        let bound = std_listener.local_addr()?;
        match udp::bind(bound, workers) {
            Ok((sockets, _)) => {
                return Ok((tokio::net::TcpListener::from_std(std_listener)?, sockets, bound));
            }
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("cannot bind UDP and TCP on one port")))
}

/// Re-writes zonefiles after changes, once `debounce` has passed without another commit.
pub async fn auto_export(
    snapshots: Arc<SnapshotCell>,
    mut commits: watch::Receiver<u64>,
    dir: PathBuf,
    debounce: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut written: std::collections::HashMap<crate::model::DomainName, u32> = Default::default();
    loop {
        let snapshot = snapshots.load();
        for zone in snapshot.zones() {
            if written.get(&zone.tld.name) == Some(&zone.serial()) {
                continue;
            }
            let (dir, snap, tld) = (dir.clone(), snapshot.clone(), zone.tld.name.clone());
            let result =
                tokio::task::spawn_blocking(move || zonefile::export(&snap, &tld, zonefile::Format::Bind, &dir, &mut |_| {})).await;
            match result {
                Ok(Ok(summary)) => {
                    tracing::info!(path = %summary.path.display(), serial = summary.serial, records = summary.records, "zonefile written");
                    written.insert(zone.tld.name.clone(), zone.serial());
                }
                Ok(Err(e)) => {
                    tracing::error!(zone = %zone.tld.name, error = %e, "zonefile export failed")
                }
                Err(e) => tracing::error!(error = %e, "zonefile export task failed"),
            }
        }
        drop(snapshot);
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = shutdown.changed() => return,
        }
        // Let a burst of commits settle before writing again.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(debounce) => break,
                changed = commits.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
            }
        }
    }
}
