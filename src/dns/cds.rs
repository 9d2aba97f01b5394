//! Scanning children for CDS (RFC 7344, RFC 8078): every
//! `cds_scan_interval_s`, each secure delegation of a signed TLD is asked,
//! at every one of its name servers, for its DNSKEY and CDS RRsets with
//! their signatures; `model::cds` decides what the answer is worth against
//! the DS held now. Only when every name server gives the same verdict is
//! the DS replaced (or removed) — through the writer as a registry update,
//! which tells the sponsor with a change poll message (RFC 8590). Domains
//! their registrar or the registry locked against updates are left alone.
//! In-zone name servers are reached at their glue; others at the addresses
//! the configured resolver gives for them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::client::{self, Flags};
use crate::model::cds::{self, CdsChange, ChildAnswer};
use crate::model::status::DomainStatus;
use crate::model::zone::rtype;
use crate::model::{Clock, Domain, DomainName};
use crate::registry::command::UpdateDomain;
use crate::registry::{Actor, Command, Registry};
use crate::store::Snapshot;

/// CDS and CDNSKEY RR types (RFC 7344).
const CDS: u16 = 59;

/// Domains read from the snapshot at a time.
const DOMAINS_PER_READ: usize = 1_000;

/// Children asked at once.
const CHILDREN_IN_FLIGHT_MAX: usize = 32;

/// Runs the scan until shutdown; `tick` is how often schedules are looked at.
pub async fn run(
    registry: Registry,
    clock: std::sync::Arc<dyn Clock>,
    resolver: Option<SocketAddr>,
    tick: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_scan: HashMap<DomainName, Instant> = HashMap::new();
    loop {
        let snapshot = registry.snapshot();
        for tld in snapshot.tlds().map(|t| t.name.clone()).collect::<Vec<_>>() {
            let Ok(Some(signing)) = snapshot.zone_signing(&tld) else { continue };
            let interval = Duration::from_secs(u64::from(signing.cds_scan_interval_s));
            if interval.is_zero() || last_scan.get(&tld).is_some_and(|at| at.elapsed() < interval) {
                continue;
            }
            last_scan.insert(tld.clone(), Instant::now());
            if let Err(e) = scan_tld(&registry, &tld, clock.as_ref(), resolver).await {
                tracing::warn!(%tld, error = %e, "the CDS scan stopped early");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Scans the secure delegations of `tld`, a page at a time, each page from
/// a fresh snapshot: a long scan never holds one read transaction (and the
/// pages it pins) while it waits on the network.
async fn scan_tld(
    registry: &Registry,
    tld: &DomainName,
    clock: &dyn Clock,
    resolver: Option<SocketAddr>,
) -> Result<(), crate::store::StoreError> {
    let mut after: Option<DomainName> = None;
    loop {
        let (page, more) = {
            let snapshot = registry.snapshot();
            let page = snapshot.domains(tld, after.as_ref(), DOMAINS_PER_READ)?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.name.clone());
            let more = page.len() == DOMAINS_PER_READ;
            let children: Vec<(Domain, Vec<NameServer>)> = page
                .into_iter()
                .filter(scanned)
                .map(|d| {
                    let servers = name_servers(&snapshot, &d);
                    (d, servers)
                })
                .collect();
            (children, more)
        };
        // The children of a page are asked side by side, a bounded number at a time.
        let mut asked = tokio::task::JoinSet::new();
        let mut changes = Vec::new();
        for (domain, name_servers) in page {
            if asked.len() >= CHILDREN_IN_FLIGHT_MAX
                && let Some(Ok(done)) = asked.join_next().await
            {
                changes.push(done);
            }
            let now = clock.now().unix_seconds().clamp(0, i64::from(u32::MAX)) as u32;
            asked.spawn(async move {
                let change = child_verdict(&domain, &name_servers, resolver, now).await;
                (domain.name, change)
            });
        }
        changes.extend(asked.join_all().await);
        for (name, change) in changes {
            let spec = match change {
                None | Some(CdsChange::Unchanged) => continue,
                Some(CdsChange::Replace(ds)) => UpdateDomain { remove_all_ds: true, add_ds: ds, ..Default::default() },
                Some(CdsChange::Delete) => UpdateDomain { remove_all_ds: true, ..Default::default() },
            };
            match registry.execute_as(Actor::Registry, Command::UpdateDomain(name.clone(), spec)).await {
                Ok(_) => tracing::info!(domain = %name, "DS changed as the child's CDS asks"),
                Err(e) => tracing::info!(domain = %name, error = %e, "the child's CDS was refused"),
            }
        }
        if !more {
            return Ok(());
        }
    }
}

/// A child's name server: its name and, for ours, its glue.
struct NameServer {
    name: crate::model::HostName,
    glue: Vec<IpAddr>,
}

/// The name servers of `domain` as the snapshot knows them.
fn name_servers(snapshot: &Snapshot, domain: &Domain) -> Vec<NameServer> {
    domain
        .nameservers
        .iter()
        .filter_map(|roid| snapshot.host(roid).ok().flatten())
        .map(|host| NameServer { name: host.name, glue: host.addrs })
        .collect()
}

/// A secure delegation that neither its registrar nor the registry locked
/// against updates.
fn scanned(domain: &Domain) -> bool {
    let locked = [DomainStatus::ClientUpdateProhibited, DomainStatus::ServerUpdateProhibited, DomainStatus::PendingDelete];
    !domain.ds.is_empty() && !locked.iter().any(|s| domain.statuses.contains(*s))
}

/// The verdict every name server of `domain` agrees on, if they do and
/// each could be reached.
async fn child_verdict(domain: &Domain, name_servers: &[NameServer], resolver: Option<SocketAddr>, now: u32) -> Option<CdsChange> {
    let owner = domain.name.to_wire();
    let mut verdict: Option<CdsChange> = None;
    if name_servers.len() != domain.nameservers.len() {
        return None;
    }
    for address in name_server_addresses(name_servers, resolver).await? {
        let server = SocketAddr::new(address, 53);
        let answer = match ask_child(server, &owner).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::debug!(domain = %domain.name, %server, error = %e, "a child's name server did not answer");
                return None;
            }
        };
        match cds::read(&domain.ds, &owner, &answer, now) {
            Ok(this) if verdict.as_ref().is_none_or(|v| *v == this) => verdict = Some(this),
            Ok(_) => {
                tracing::info!(domain = %domain.name, "the child's name servers disagree on its CDS; nothing changes");
                return None;
            }
            Err(why) => {
                tracing::info!(domain = %domain.name, %server, why, "the child's CDS is not taken");
                return None;
            }
        }
    }
    verdict
}

/// The addresses of `domain`'s name servers: glue for ours, the resolver's
/// answers for the others; `None` when one of them has none, as a verdict
/// must be that of every name server.
async fn name_server_addresses(name_servers: &[NameServer], resolver: Option<SocketAddr>) -> Option<Vec<IpAddr>> {
    let mut addresses = Vec::new();
    for host in name_servers {
        if !host.glue.is_empty() {
            addresses.extend(host.glue.iter().copied());
            continue;
        }
        let resolver = resolver?;
        let wire = host.name.to_wire();
        let found = addresses.len();
        for rt in [rtype::A, rtype::AAAA] {
            let asked = Flags { recursion_desired: true, dnssec_ok: false };
            let Ok(answer) = client::query(resolver, &wire, rt, asked).await else { continue };
            for rdata in client::answer_rdatas(&answer, rt) {
                match rdata.len() {
                    4 => addresses.push(IpAddr::from(<[u8; 4]>::try_from(rdata.as_slice()).expect("four octets"))),
                    16 => addresses.push(IpAddr::from(<[u8; 16]>::try_from(rdata.as_slice()).expect("sixteen octets"))),
                    _ => {}
                }
            }
        }
        if addresses.len() == found {
            return None;
        }
    }
    addresses.sort();
    addresses.dedup();
    (!addresses.is_empty()).then_some(addresses)
}

/// The child's DNSKEY and CDS RRsets with their signatures, from `server`.
async fn ask_child(server: SocketAddr, owner: &[u8]) -> std::io::Result<ChildAnswer> {
    let signed = Flags { recursion_desired: false, dnssec_ok: true };
    let dnskey = client::query(server, owner, rtype::DNSKEY, signed).await?;
    let cds = client::query(server, owner, CDS, signed).await?;
    let covering = |message, covered: u16| -> Vec<Vec<u8>> {
        client::answer_rdatas(message, rtype::RRSIG).into_iter().filter(|sig| sig.get(..2) == Some(&covered.to_be_bytes()[..])).collect()
    };
    Ok(ChildAnswer {
        dnskeys: client::answer_rdatas(&dnskey, rtype::DNSKEY),
        dnskey_sigs: covering(&dnskey, rtype::DNSKEY),
        cds: client::answer_rdatas(&cds, CDS),
        cds_sigs: covering(&cds, CDS),
    })
}
