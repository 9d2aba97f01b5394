//! DNS over TCP (RFC 7766): length-prefixed messages, several per
//! connection, caps on connections (in all and per source address), and a
//! timeout on every read and every write, so a peer that stops reading
//! cannot hold a connection (or a transfer and its snapshot) forever. Zone
//! transfers are checked against the ACL, produced from one snapshot on a
//! blocking thread and streamed to the peer as they are packed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::Instrument;

use super::answer::{self, AnswerConfig, Handled, Scratch, Transport, transfer_allowed};
use super::tsig::Signer;
use super::wire::{MessageWriter, Request, rcode};
use super::xfr::{self, XfrKind};
use crate::config::AclRule;
use crate::connections::ConnectionCaps;
use crate::model::Clock;
use crate::ops::metrics::DnsCounts;
use crate::registry::counts::DnsQueryCounts;
use crate::store::SnapshotCell;

/// Largest query accepted over TCP. Queries (even signed, with EDNS options)
/// are a few hundred bytes; anything near the 64 KiB frame limit is abuse.
pub const TCP_QUERY_BYTES_MAX: usize = 16 * 1024;

pub struct TcpShared {
    pub snapshots: Arc<SnapshotCell>,
    pub config: Arc<AnswerConfig>,
    pub clock: Arc<dyn Clock>,
    pub acl: Vec<AclRule>,
    pub connections: Arc<ConnectionCaps>,
    pub transfers: Arc<Semaphore>,
    /// Bound on waiting for a peer, reading or writing.
    pub idle_timeout: Duration,
    pub counts: Option<Arc<DnsCounts>>,
    /// The monthly reports' counts, by TLD.
    pub report_counts: Arc<DnsQueryCounts>,
}

/// Accepts until `shutdown` turns true; connections in progress finish their current message.
pub async fn serve(listener: TcpListener, shared: Arc<TcpShared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: log, breathe, go on.
                tracing::warn!(error = %e, "DNS TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        let span = tracing::info_span!("dns_tcp", %peer);
        tokio::spawn(
            async move {
                // DNS over TCP has no refusal message: a peer over a cap is closed (RFC 7766 §6.2.2).
                let _slot = match shared.connections.claim(peer.ip()) {
                    Ok(slot) => slot,
                    Err(over) => return tracing::warn!(reason = over.reason(), "DNS TCP connection refused; closing"),
                };
                if let Err(e) = connection(stream, peer, &shared, shutdown).await {
                    tracing::debug!(error = %e, "DNS TCP connection ended");
                }
            }
            .instrument(span),
        );
    }
}

fn timed_out(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, format!("peer too slow ({what})"))
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &TcpShared,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut scratch = Scratch::default();
    let mut packet = Vec::with_capacity(512);
    loop {
        let len = tokio::select! {
            r = tokio::time::timeout(shared.idle_timeout, stream.read_u16()) => match r {
                Ok(Ok(len)) => len as usize,
                Ok(Err(_)) | Err(_) => return Ok(()),
            },
            _ = shutdown.changed() => return Ok(()),
        };
        if !(super::wire::HEADER_BYTES..=TCP_QUERY_BYTES_MAX).contains(&len) {
            tracing::info!(len, "DNS TCP message length out of bounds; closing");
            return Ok(());
        }
        packet.resize(len, 0);
        match tokio::time::timeout(shared.idle_timeout, stream.read_exact(&mut packet)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                tracing::info!("DNS TCP message not completed in time; closing");
                return Ok(());
            }
        }
        let snapshot = shared.snapshots.load();
        let now = shared.clock.now().unix_seconds().max(0) as u64;
        let handled = answer::handle(&packet, Transport::Tcp, &snapshot, &shared.config, &mut scratch, now);
        if let Some(zone) = scratch.zone.and_then(|i| snapshot.zones().get(i)) {
            shared.report_counts.add(&zone.tld.name, true, matches!(handled, Handled::Reply));
        }
        match handled {
            Handled::Reply => {
                if let Some(c) = &shared.counts {
                    c.answered(&scratch.writer.buf);
                }
                write_message(&mut stream, &scratch.writer.buf, shared.idle_timeout).await?
            }
            Handled::Drop => {
                if let Some(c) = &shared.counts {
                    c.dropped();
                }
            }
            Handled::Transfer(signer) => {
                drop(snapshot);
                transfer(&mut stream, peer, shared, std::mem::take(&mut packet), signer, now).await?;
            }
        }
    }
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    framed.extend_from_slice(msg);
    framed
}

async fn write_framed(stream: &mut TcpStream, framed: &[u8], limit: Duration) -> std::io::Result<()> {
    tokio::time::timeout(limit, stream.write_all(framed)).await.map_err(|_| timed_out("write"))?
}

async fn write_message(stream: &mut TcpStream, msg: &[u8], limit: Duration) -> std::io::Result<()> {
    write_framed(stream, &framed(msg), limit).await
}

/// Answers a transfer request with an error RCODE (signed when the request was).
async fn refuse(
    stream: &mut TcpStream,
    request: &Request<'_>,
    signer: Option<Box<Signer>>,
    now: u64,
    rc: u16,
    limit: Duration,
) -> std::io::Result<()> {
    let mut w = MessageWriter::default();
    w.start(request.id, answer::response_flags(request.flags), Some(request.question_bytes()), 65535);
    w.set_rcode(rc);
    w.finish();
    if let Some(mut s) = signer {
        s.sign(&mut w, now);
    }
    write_message(stream, &w.buf, limit).await
}

async fn transfer(
    stream: &mut TcpStream,
    peer: SocketAddr,
    shared: &TcpShared,
    packet: Vec<u8>,
    signer: Option<Box<Signer>>,
    now: u64,
) -> std::io::Result<()> {
    let key = signer.as_ref().map(|s| s.key().name.to_string());
    let request = match Request::parse(&packet) {
        Ok(r) => r,
        Err(_) => return Ok(()),
    };
    let zone = super::wire::name_to_text(request.qname.wire());
    if !transfer_allowed(&shared.acl, peer.ip(), key.as_deref()) {
        tracing::warn!(key = key.as_deref().unwrap_or("-"), "zone transfer refused by ACL");
        if let Some(c) = &shared.counts {
            c.rcode(rcode::REFUSED);
        }
        return refuse(stream, &request, signer, now, rcode::REFUSED, shared.idle_timeout).await;
    }
    let Ok(_permit) = shared.transfers.clone().try_acquire_owned() else {
        tracing::warn!("too many concurrent zone transfers; refusing");
        if let Some(c) = &shared.counts {
            c.rcode(rcode::REFUSED);
        }
        return refuse(stream, &request, signer, now, rcode::REFUSED, shared.idle_timeout).await;
    };
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
    let snapshot = shared.snapshots.load();
    let producer = tokio::task::spawn_blocking(move || {
        let request = Request::parse(&packet).map_err(|_| "unparsable request".to_string())?;
        // Stops as soon as the writer side is gone (peer closed or too slow).
        let mut sink = |msg: &[u8]| tx.blocking_send(framed(msg)).is_ok();
        xfr::transfer(&snapshot, &request, signer.map(|s| *s), now, &mut sink).map_err(|e| e.to_string())
    });
    let mut bytes = 0usize;
    let mut written = Ok(());
    while let Some(message) = rx.recv().await {
        if bytes == 0 {
            // A transfer is one answer however many messages carry it.
            if let Some(c) = &shared.counts {
                c.answered(&message[2..]);
            }
        }
        bytes += message.len();
        if let Err(e) = write_framed(stream, &message, shared.idle_timeout).await {
            written = Err(e);
            break;
        }
    }
    drop(rx);
    match producer.await {
        Ok(Ok(stats)) => {
            let kind = match stats.kind {
                XfrKind::Axfr => "AXFR",
                XfrKind::Ixfr => "IXFR",
                XfrKind::IxfrFallback => "IXFR (full zone)",
                XfrKind::UpToDate => "IXFR (up to date)",
                XfrKind::Refused(_) => "refused",
            };
            tracing::info!(
                zone = zone.as_str(),
                kind,
                serial = stats.serial,
                messages = stats.messages,
                records = stats.records,
                bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "zone transfer"
            );
        }
        Ok(Err(e)) => tracing::error!(error = %e, "zone transfer failed"),
        Err(e) => tracing::error!(error = %e, "zone transfer task failed"),
    }
    written
}
