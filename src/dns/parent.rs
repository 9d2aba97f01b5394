//! Watching the parent for a new KSK's DS: while a zone's key rollover waits
//! for the parent to serve the DS of its new KSK, and the zone names the
//! parent's servers, each is asked for the zone's DS every
//! `ds_check_interval_s`; once every one serves a DS of that key, the
//! registry is told through the writer, as the operator would with
//! `dnssec ds-seen`. The answers are not validated: the servers are the
//! operator's choice, and all of them must agree.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::RecordType;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;

use crate::model::dnssec::{ZoneKey, ds_matches};
use crate::model::rollover::{awaited_ds, ds_ready_at};
use crate::model::{Clock, DomainName};
use crate::registry::{Command, Registry};

/// How long one server has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the watch every `tick` until shutdown.
pub async fn run(registry: Registry, clock: std::sync::Arc<dyn Clock>, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut last_asked: HashMap<DomainName, Instant> = HashMap::new();
    loop {
        let snapshot = registry.snapshot();
        for zone in snapshot.zones() {
            let tld = &zone.tld.name;
            let Ok(Some(signing)) = snapshot.zone_signing(tld) else { continue };
            let Some(key) = awaited_ds(&signing).filter(|_| !signing.parent_servers.is_empty()) else { continue };
            if ds_ready_at(&signing, key).is_none_or(|ready| clock.now() < ready) {
                continue;
            }
            let interval = Duration::from_secs(u64::from(signing.ds_check_interval_s));
            if last_asked.get(tld).is_some_and(|at| at.elapsed() < interval) {
                continue;
            }
            last_asked.insert(tld.clone(), Instant::now());
            let mut everywhere = true;
            for server in &signing.parent_servers {
                match serves_ds(*server, tld, key).await {
                    Ok(true) => {}
                    Ok(false) => everywhere = false,
                    Err(e) => {
                        tracing::info!(%tld, %server, error = %e, "cannot ask a parent server for the DS");
                        everywhere = false;
                    }
                }
            }
            if everywhere {
                let key_tag = key.key_tag();
                match registry.execute(Command::DsSeen { tld: tld.clone(), key_tag }).await {
                    Ok(_) => tracing::info!(%tld, key_tag, "every parent server serves the new KSK's DS"),
                    Err(e) => tracing::warn!(%tld, key_tag, error = %e, "the parent serves the new DS, but the registry refused it"),
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Whether `server` answers the DS query for `tld` with a DS of `key`.
async fn serves_ds(server: SocketAddr, tld: &DomainName, key: &ZoneKey) -> std::io::Result<bool> {
    let owner = tld.to_wire();
    let dnskey = key.dnskey_rdata();
    let answer = ask(server, &owner, crate::model::zone::rtype::DS).await?;
    Ok(answer.answers.iter().filter(|r| r.record_type() == RecordType::DS).any(|r| {
        let mut rdata = Vec::new();
        r.data.emit(&mut BinEncoder::new(&mut rdata)).is_ok() && ds_matches(&rdata, &owner, &dnskey)
    }))
}

/// One query (`name` in wire form, class IN, no recursion) over UDP, again
/// over TCP when the answer is truncated.
async fn ask(server: SocketAddr, name: &[u8], rtype: u16) -> std::io::Result<Message> {
    let id = super::notify::random_id();
    let bytes = [id.to_be_bytes().as_slice(), &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0], name, &rtype.to_be_bytes(), &[0, 1]].concat();
    let socket = UdpSocket::bind(SocketAddr::new(unspecified(server), 0)).await?;
    socket.send_to(&bytes, server).await?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    let answer = loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await??;
        if from != server {
            continue;
        }
        match Message::from_vec(&buf[..len]) {
            Ok(m) if m.metadata.id == id && m.metadata.message_type == MessageType::Response => break m,
            _ => continue,
        }
    };
    if !answer.metadata.truncation {
        return Ok(answer);
    }
    let mut stream = tokio::time::timeout(ANSWER_TIMEOUT, TcpStream::connect(server)).await??;
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_exact(&mut len)).await??;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_exact(&mut body)).await??;
    Message::from_vec(&body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

fn unspecified(server: SocketAddr) -> std::net::IpAddr {
    if server.is_ipv4() { std::net::Ipv4Addr::UNSPECIFIED.into() } else { std::net::Ipv6Addr::UNSPECIFIED.into() }
}
