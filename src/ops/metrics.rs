//! The daemon's metrics in the Prometheus text exposition format, served at
//! `/metrics` on the operator listener: what the front-ends count as they
//! serve (DNS answers by transport and rcode, EPP commands by command and
//! result code, RDAP and WHOIS queries and rate-limit refusals, open
//! connections and sessions), and what is read at scrape time (writer queue,
//! batch sizes and commit latency, snapshot age, store size, zone serials,
//! DNSSEC keys and the earliest signature expiry, process figures).
//!
//! The DNS path counts into a slot of its own per UDP worker, so counting
//! costs one uncontended add per answer.
//!
//! Must not: write registry state.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry as MetricRegistry;

use crate::registry::Registry;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers by rcode (0–15), and queries dropped unanswered in the last slot.
const RCODE_SLOTS: usize = 17;
const DROPPED: usize = 16;
const RCODE_NAMES: [&str; 16] = [
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
    "DSOTYPENI",
    "RCODE12",
    "RCODE13",
    "RCODE14",
    "RCODE15",
];

/// One counting thread's DNS answers by rcode, on a cache line pair of its
/// own so that threads never share one.
#[repr(align(128))]
#[derive(Debug, Default)]
pub struct DnsCounts([AtomicU64; RCODE_SLOTS]);

impl DnsCounts {
    /// Counts one reply by its header's rcode.
    pub fn answered(&self, reply: &[u8]) {
        let slot = reply.get(3).map_or(DROPPED, |b| usize::from(b & 0x0F));
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rcode(&self, rcode: u16) {
        self.0[usize::from(rcode & 0x0F)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped(&self) {
        self.0[DROPPED].fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsTransport {
    Udp,
    Tcp,
}

impl DnsTransport {
    fn label(self) -> &'static str {
        match self {
            DnsTransport::Udp => "udp",
            DnsTransport::Tcp => "tcp",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EppCommand {
    /// `domain`, `host`, `contact`, or empty for session commands.
    pub object: &'static str,
    /// `login`, `create`, `transfer-request`, …; `invalid` for frames that are not a request.
    pub command: &'static str,
    pub code: u16,
}

/// What the front-ends count while they serve.
#[derive(Debug, Default)]
pub struct Counters {
    /// Off, the DNS path gets no slots and counts nothing.
    pub dns_counted: bool,
    dns: Mutex<Vec<(DnsTransport, Arc<DnsCounts>)>>,
    pub epp_commands: Family<EppCommand, Counter>,
    pub epp_connections: Gauge,
    pub epp_sessions: Gauge,
    pub rdap_requests: Counter,
    pub rdap_rate_limited: Counter,
    pub whois_queries: Counter,
    pub whois_rate_limited: Counter,
}

impl Counters {
    pub fn new(dns_counted: bool) -> Counters {
        Counters { dns_counted, ..Counters::default() }
    }

    /// A new slot for one DNS serving thread (or the TCP tasks together), if DNS is counted.
    pub fn dns_slot(&self, transport: DnsTransport) -> Option<Arc<DnsCounts>> {
        let slot = Arc::new(DnsCounts::default());
        self.dns_counted.then(|| {
            self.dns.lock().unwrap_or_else(|p| p.into_inner()).push((transport, slot.clone()));
            slot
        })
    }

    /// DNS answers so far, by transport and rcode slot.
    fn dns_totals(&self) -> Vec<(DnsTransport, [u64; RCODE_SLOTS])> {
        let mut totals: Vec<(DnsTransport, [u64; RCODE_SLOTS])> = Vec::new();
        for (transport, slot) in self.dns.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let i = match totals.iter().position(|(t, _)| t == transport) {
                Some(i) => i,
                None => {
                    totals.push((*transport, [0; RCODE_SLOTS]));
                    totals.len() - 1
                }
            };
            for (total, n) in totals[i].1.iter_mut().zip(&slot.0) {
                *total += n.load(Ordering::Relaxed);
            }
        }
        totals
    }
}

/// Open connections or sessions, counted down again however they end.
pub struct Open(Gauge);

impl Open {
    pub fn new(gauge: &Gauge) -> Open {
        gauge.inc();
        Open(gauge.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The daemon's metric registry.
pub struct Metrics {
    registry: MetricRegistry,
}

impl Metrics {
    pub fn new(counters: Arc<Counters>, registry: Registry, store_path: PathBuf) -> Metrics {
        // Unprefixed, so that the process figures keep their standard `process_` names.
        let mut r = MetricRegistry::default();
        r.register("domain_os_epp_commands", "EPP commands answered, by command and result code", counters.epp_commands.clone());
        r.register("domain_os_epp_connections", "EPP connections open", counters.epp_connections.clone());
        r.register("domain_os_epp_sessions", "EPP sessions logged in", counters.epp_sessions.clone());
        r.register("domain_os_rdap_requests", "RDAP requests received", counters.rdap_requests.clone());
        r.register("domain_os_rdap_rate_limited", "RDAP requests refused by the rate limit", counters.rdap_rate_limited.clone());
        r.register("domain_os_whois_queries", "WHOIS queries received", counters.whois_queries.clone());
        r.register("domain_os_whois_rate_limited", "WHOIS queries refused by the rate limit", counters.whois_rate_limited.clone());
        let health = registry.health();
        r.register("domain_os_writer_batch_commands", "Commands per committed batch", health.batch_commands.clone());
        r.register("domain_os_writer_commit_seconds", "Time from taking a batch to its durable commit", health.commit_seconds.clone());
        r.register(
            "domain_os_writer_apply_seconds",
            "Time from taking a batch to the end of its commands and signing, before the commit",
            health.apply_seconds.clone(),
        );
        r.register_collector(Box::new(AtScrape { counters, registry, store_path }));
        Metrics { registry: r }
    }

    /// The exposition of every metric now.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }
}

/// What is read when scraped rather than counted as it happens.
struct AtScrape {
    counters: Arc<Counters>,
    registry: Registry,
    store_path: PathBuf,
}

impl std::fmt::Debug for AtScrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtScrape").field("store_path", &self.store_path).finish_non_exhaustive()
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

impl Collector for AtScrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let queries = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "domain_os_dns_queries",
            "DNS queries, by transport and the rcode answered (DROPPED: not answered).",
            None,
            queries.metric_type(),
        )?;
        for (transport, counts) in self.counters.dns_totals() {
            for (slot, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                let rcode = RCODE_NAMES.get(slot).copied().unwrap_or("DROPPED");
                let labels = [("transport", transport.label()), ("rcode", rcode)];
                ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
            }
        }

        let snapshot = self.registry.snapshot();
        if let Ok(counts) = snapshot.object_counts() {
            let objects = ConstGauge::new(0i64);
            let mut family = encoder.encode_descriptor("domain_os_objects", "Objects stored, by kind.", None, objects.metric_type())?;
            let kinds =
                [("registrar", counts.registrars), ("contact", counts.contacts), ("domain", counts.domains), ("host", counts.hosts)];
            for (kind, n) in kinds {
                ConstGauge::new(n as i64).encode(family.encode_family(&[("kind", kind)])?)?;
            }
        }
        let serial = ConstGauge::new(0i64);
        let mut family =
            encoder.encode_descriptor("domain_os_zone_serial", "SOA serial of each zone served.", None, serial.metric_type())?;
        for zone in snapshot.zones() {
            let labels = [("zone", zone.tld.name.to_string())];
            ConstGauge::new(i64::from(zone.serial())).encode(family.encode_family(&labels)?)?;
        }
        let keys = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "domain_os_dnssec_keys",
            "Keys a signed zone publishes, by key tag, algorithm, role and state (published, active, retired; 1 each).",
            None,
            keys.metric_type(),
        )?;
        for zone in snapshot.zones() {
            for key in snapshot.zone_signing(&zone.tld.name).ok().flatten().map(|s| s.keys).unwrap_or_default() {
                let labels = [
                    ("zone", zone.tld.name.to_string()),
                    ("key_tag", key.key_tag().to_string()),
                    ("algorithm", key.algorithm.to_string()),
                    ("flags", key.flags.to_string()),
                    ("role", key.role.as_str().to_string()),
                    ("state", key.state().to_string()),
                ];
                ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;
            }
        }
        drop(snapshot);

        let health = self.registry.health();
        let expiry = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "domain_os_dnssec_earliest_signature_expiry_timestamp_seconds",
            "The earliest expiry of any signature in a signed zone, as of the last full signature sweep.",
            None,
            expiry.metric_type(),
        )?;
        for (zone, earliest) in health.signature_expiries() {
            ConstGauge::new(i64::from(earliest)).encode(family.encode_family(&[("zone", zone.to_string())])?)?;
        }
        gauge(
            &mut encoder,
            "domain_os_writer_live",
            "1 while the registry writer runs and the store takes writes.",
            f64::from(u8::from(health.is_live())),
        )?;
        gauge(
            &mut encoder,
            "domain_os_writer_queue_depth",
            "Commands waiting for the registry writer.",
            self.registry.queue_depth() as f64,
        )?;
        gauge(
            &mut encoder,
            "domain_os_snapshot_age_seconds",
            "Time since the snapshot readers see was published.",
            health.snapshot_age().as_secs_f64(),
        )?;
        if let Ok(meta) = std::fs::metadata(&self.store_path) {
            gauge(&mut encoder, "domain_os_store_bytes", "Size of the registry database file.", meta.len() as f64)?;
        }
        process(&mut encoder)
    }
}

/// Clock ticks per second of the times in `/proc` (USER_HZ, fixed by the kernel's ABI).
const USER_HZ: f64 = 100.0;

/// The standard `process_*` figures, from `/proc` (Linux).
fn process(encoder: &mut DescriptorEncoder) -> std::fmt::Result {
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // The fields after the command name, which is in parentheses and may hold spaces; the first is field 3.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            counter(encoder, "process_cpu_seconds", "User and system CPU time.", (user + system) / USER_HZ)?;
        }
        if let (Some(start), Some(boot)) = (field(22), boot_time_s()) {
            gauge(encoder, "process_start_time_seconds", "Start time since the Unix epoch.", boot + start / USER_HZ)?;
        }
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let kib =
            |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok());
        if let Some(rss) = kib("VmRSS:") {
            gauge(encoder, "process_resident_memory_bytes", "Resident memory.", rss * 1024.0)?;
        }
        if let Some(threads) = kib("Threads:") {
            gauge(encoder, "process_threads", "Threads.", threads)?;
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(encoder, "process_open_fds", "Open file descriptors.", fds.count() as f64)?;
    }
    Ok(())
}

fn boot_time_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_counts_add_up_across_slots_by_transport_and_rcode() {
        assert!(Counters::new(false).dns_slot(DnsTransport::Udp).is_none());
        let counters = Counters::new(true);
        let slot = |t| counters.dns_slot(t).unwrap();
        let (a, b, t) = (slot(DnsTransport::Udp), slot(DnsTransport::Udp), slot(DnsTransport::Tcp));
        let nxdomain = [0, 0, 0x81, 0x83];
        a.answered(&nxdomain);
        b.answered(&nxdomain);
        b.answered(&[0, 0, 0x81, 0x80]);
        b.dropped();
        t.answered(&[0, 0, 0x81, 0x85]);
        let totals = counters.dns_totals();
        let udp = totals.iter().find(|(t, _)| *t == DnsTransport::Udp).unwrap().1;
        let tcp = totals.iter().find(|(t, _)| *t == DnsTransport::Tcp).unwrap().1;
        assert_eq!((udp[0], udp[3], udp[DROPPED], udp.iter().sum::<u64>()), (1, 2, 1, 4));
        assert_eq!((tcp[5], tcp.iter().sum::<u64>()), (1, 1));
    }
}
