//! NOTIFY (RFC 1996): after every commit that moves a zone's serial, each
//! configured secondary of that zone is told, over UDP, retrying with
//! backoff until it acknowledges. A newer serial replaces a NOTIFY still
//! being retried for the same zone and secondary. Zones are announced once
//! at start as well, so secondaries catch up after a restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::tsig::{Key, Keyring, Signer};
use super::wire::{MessageWriter, Rdata, Section, class, flags, opcode};
use crate::config::Secondary;
use crate::model::zone::rtype;
use crate::model::{Clock, DomainName};
use crate::store::{SnapshotCell, ZoneApex};

pub struct NotifySettings {
    pub secondaries: Vec<Secondary>,
    pub keyring: Keyring,
    pub timeout: Duration,
    pub retries: u32,
    pub clock: Arc<dyn Clock>,
}

/// Watches commits and notifies secondaries until `shutdown`.
pub async fn run(
    settings: NotifySettings,
    snapshots: Arc<SnapshotCell>,
    mut commits: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    if settings.secondaries.is_empty() {
        return;
    }
    let settings = Arc::new(settings);
    let mut announced: HashMap<DomainName, u32> = HashMap::new();
    let mut in_flight: HashMap<(SocketAddr, DomainName), JoinHandle<()>> = HashMap::new();
    loop {
        let snapshot = snapshots.load();
        for zone in snapshot.zones() {
            if announced.get(&zone.tld.name) == Some(&zone.serial()) {
                continue;
            }
            announced.insert(zone.tld.name.clone(), zone.serial());
            for secondary in settings.secondaries.iter().filter(|s| s.zones.is_empty() || s.zones.contains(&zone.tld.name)) {
                let key = secondary.key.as_deref().and_then(|k| settings.keyring.get(k)).cloned();
                let job = NotifyJob::new(zone, secondary.address, key);
                let slot = (secondary.address, zone.tld.name.clone());
                if let Some(previous) = in_flight.remove(&slot) {
                    previous.abort();
                }
                in_flight.insert(slot, tokio::spawn(job.run(settings.clone())));
            }
        }
        in_flight.retain(|_, task| !task.is_finished());
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { break },
            _ = shutdown.changed() => break,
        }
    }
    for (_, task) in in_flight {
        task.abort();
    }
}

struct NotifyJob {
    zone: DomainName,
    zone_wire: Vec<u8>,
    soa: (u32, Vec<u8>),
    serial: u32,
    target: SocketAddr,
    key: Option<Key>,
}

impl NotifyJob {
    fn new(zone: &ZoneApex, target: SocketAddr, key: Option<Key>) -> Self {
        NotifyJob {
            zone: zone.tld.name.clone(),
            zone_wire: zone.wire.clone(),
            soa: (zone.soa_ttl(), zone.soa_rdata.clone()),
            serial: zone.serial(),
            target,
            key,
        }
    }

    async fn run(self, settings: Arc<NotifySettings>) {
        let local: SocketAddr = if self.target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
        let socket = match UdpSocket::bind(local).await {
            Ok(s) => s,
            Err(e) => return tracing::error!(error = %e, "cannot open a socket for NOTIFY"),
        };
        let mut wait = settings.timeout;
        for attempt in 0..=settings.retries {
            let id = random_id();
            let message = self.message(id, settings.clock.now().unix_seconds().max(0) as u64);
            if let Err(e) = socket.send_to(&message, self.target).await {
                tracing::warn!(zone = %self.zone, secondary = %self.target, error = %e, "NOTIFY not sent");
            } else if let Some(rc) = await_reply(&socket, self.target, id, wait).await {
                if rc == ResponseCode::NoError {
                    tracing::info!(zone = %self.zone, serial = self.serial, secondary = %self.target, "NOTIFY acknowledged");
                } else {
                    tracing::warn!(zone = %self.zone, serial = self.serial, secondary = %self.target, rcode = %rc, "NOTIFY refused");
                }
                return;
            }
            tracing::debug!(zone = %self.zone, secondary = %self.target, attempt, "no NOTIFY reply yet");
            wait = (wait * 2).min(Duration::from_secs(60));
        }
        tracing::warn!(zone = %self.zone, serial = self.serial, secondary = %self.target, "secondary never acknowledged NOTIFY");
    }

    fn message(&self, id: u16, now: u64) -> Vec<u8> {
        let mut question = self.zone_wire.clone();
        question.extend_from_slice(&rtype::SOA.to_be_bytes());
        question.extend_from_slice(&class::IN.to_be_bytes());
        let mut w = MessageWriter::default();
        w.start(id, ((opcode::NOTIFY as u16) << 11) | flags::AA, Some(&question), 512);
        // The SOA hint lets a secondary skip its own SOA query (RFC 1996 §3.7).
        let _ = w.record(Section::Answer, &self.zone_wire, rtype::SOA, class::IN, self.soa.0, Rdata::Soa(&self.soa.1));
        w.finish();
        if let Some(key) = &self.key {
            Signer::for_request(key, id).sign(&mut w, now);
        }
        w.buf
    }
}

/// Waits for the reply with `id` from `target`; other datagrams are ignored.
async fn await_reply(socket: &UdpSocket, target: SocketAddr, id: u16, wait: Duration) -> Option<ResponseCode> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await.ok()?.ok()?;
        if from != target {
            continue;
        }
        let Ok(reply) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        if reply.metadata.id == id && reply.metadata.message_type == MessageType::Response && reply.metadata.op_code == OpCode::Notify {
            return Some(reply.metadata.response_code);
        }
    }
}

pub(super) fn random_id() -> u16 {
    let mut b = [0u8; 2];
    if SystemRandom::new().fill(&mut b).is_err() {
        return std::process::id() as u16;
    }
    u16::from_be_bytes(b)
}
