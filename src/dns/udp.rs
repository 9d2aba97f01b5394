//! The UDP query path: per address, one socket per worker thread
//! (SO_REUSEPORT spreads clients across them), batches of packets read with
//! recvmmsg and answered with sendmmsg, buffers reused, no task per query.
//! Workers look at the snapshot generation once per batch and wake every
//! 200 ms to notice shutdown and to let go of stale snapshots.
//!
//! The one module with unsafe code: libc's batch socket calls, each with the
//! reason it is sound beside it.
#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::Socket;

use super::answer::{self, AnswerConfig, Handled, Scratch, Transport};
use crate::model::Clock;
use crate::ops::metrics::DnsCounts;
use crate::registry::counts::DnsQueryCounts;
use crate::store::SnapshotCell;

/// Packets handled per system call.
const BATCH: usize = 32;
/// Largest query we read; longer datagrams are dropped.
const QUERY_BYTES_MAX: usize = 4096;
const WAKE_INTERVAL: Duration = Duration::from_millis(200);
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Malformed packets are summed up in one log line per interval rather than one each.
const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// `workers` sockets receiving on `addr` (see [`crate::ops::listeners::udp`]),
/// set up for the workers; returns them and the bound address.
pub fn bind(addr: SocketAddr, workers: usize) -> io::Result<(Vec<Socket>, SocketAddr)> {
    let (sockets, bound) = crate::ops::listeners::udp(addr, workers)?;
    for socket in &sockets {
        // Best effort: the kernel may cap these.
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
        socket.set_read_timeout(Some(WAKE_INTERVAL))?;
    }
    Ok((sockets, bound))
}

pub struct Shared {
    pub snapshots: Arc<SnapshotCell>,
    pub config: Arc<AnswerConfig>,
    pub clock: Arc<dyn Clock>,
    pub stop: Arc<AtomicBool>,
}

/// Starts a worker on `socket`, counting its answers into `counts`.
pub fn spawn(
    socket: Socket,
    shared: Arc<Shared>,
    counts: Option<Arc<DnsCounts>>,
    report_counts: Arc<DnsQueryCounts>,
    name: String,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(move || {
        if let Err(e) = run(&socket, &shared, counts.as_deref(), &report_counts) {
            tracing::error!(error = %e, "UDP worker stopped");
        }
    })
}

struct Batch {
    bufs: Vec<[u8; QUERY_BYTES_MAX]>,
    addrs: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    replies: Vec<Vec<u8>>,
    reply_iovecs: Vec<libc::iovec>,
    reply_headers: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new() -> Box<Batch> {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let zero_storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        let zero_hdr: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
        let zero_iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        let mut b = Box::new(Batch {
            bufs: vec![[0u8; QUERY_BYTES_MAX]; BATCH],
            addrs: vec![zero_storage; BATCH],
            iovecs: vec![zero_iov; BATCH],
            headers: vec![zero_hdr; BATCH],
            replies: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            reply_iovecs: vec![zero_iov; BATCH],
            reply_headers: vec![zero_hdr; BATCH],
        });
        b.arm();
        b
    }

    /// Points every receive header at its buffer and address slot again.
    fn arm(&mut self) {
        for i in 0..BATCH {
            self.iovecs[i] = libc::iovec { iov_base: self.bufs[i].as_mut_ptr().cast(), iov_len: QUERY_BYTES_MAX };
            let h = &mut self.headers[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iovecs[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.headers[i].msg_len = 0;
        }
    }
}

fn run(socket: &Socket, shared: &Shared, counts: Option<&DnsCounts>, report_counts: &DnsQueryCounts) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let mut batch = Batch::new();
    let mut scratch = Scratch::default();
    let mut snapshot = shared.snapshots.load();
    let (mut malformed, mut last_report) = (0u64, std::time::Instant::now());
    // A batch's report counts by zone (index, received, responded), added in one go.
    let mut by_zone: Vec<(usize, u64, u64)> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        if malformed > 0 && last_report.elapsed() >= REPORT_INTERVAL {
            tracing::info!(malformed, "malformed UDP packets since the last report (answered FORMERR or dropped)");
            (malformed, last_report) = (0, std::time::Instant::now());
        }
        batch.arm();
        // SAFETY: headers point into `batch`, which outlives the call; BATCH entries exist.
        let n = unsafe { libc::recvmmsg(fd, batch.headers.as_mut_ptr(), BATCH as u32, libc::MSG_WAITFORONE, std::ptr::null_mut()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => {
                    // Idle: drop a stale snapshot so old pages can be reused.
                    shared.snapshots.refresh(&mut snapshot);
                    continue;
                }
                _ => {
                    tracing::warn!(error = %e, "recvmmsg failed");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let snap = shared.snapshots.refresh(&mut snapshot);
        let now = shared.clock.now().unix_seconds().max(0) as u64;
        let mut out = 0;
        for i in 0..n as usize {
            let h = &batch.headers[i];
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                malformed += 1;
                if let Some(c) = counts {
                    c.dropped();
                }
                continue;
            }
            let packet = &batch.bufs[i][..h.msg_len as usize];
            let handled = answer::handle(packet, Transport::Udp, snap, &shared.config, &mut scratch, now);
            if matches!(handled, Handled::Drop) || scratch.writer.buf.get(3).is_some_and(|b| b & 0x0F == 1) {
                malformed += 1;
            }
            if let Some(c) = counts {
                match handled {
                    Handled::Reply => c.answered(&scratch.writer.buf),
                    _ => c.dropped(),
                }
            }
            if let Some(zone) = scratch.zone {
                let responded = u64::from(matches!(handled, Handled::Reply));
                match by_zone.iter_mut().find(|(z, _, _)| *z == zone) {
                    Some(entry) => {
                        entry.1 += 1;
                        entry.2 += responded;
                    }
                    None => by_zone.push((zone, 1, responded)),
                }
            }
            if let Handled::Reply = handled {
                let reply = &mut batch.replies[out];
                reply.clear();
                reply.extend_from_slice(&scratch.writer.buf);
                batch.reply_iovecs[out] = libc::iovec { iov_base: reply.as_mut_ptr().cast(), iov_len: reply.len() };
                let rh = &mut batch.reply_headers[out].msg_hdr;
                rh.msg_name = (&mut batch.addrs[i] as *mut libc::sockaddr_storage).cast();
                rh.msg_namelen = h.msg_hdr.msg_namelen;
                rh.msg_iov = &mut batch.reply_iovecs[out];
                rh.msg_iovlen = 1;
                rh.msg_control = std::ptr::null_mut();
                rh.msg_controllen = 0;
                rh.msg_flags = 0;
                out += 1;
            }
        }
        for (zone, received, responded) in by_zone.drain(..) {
            if let Some(zone) = snap.zones().get(zone) {
                report_counts.add_n(&zone.tld.name, false, received, responded);
            }
        }
        let mut sent = 0;
        while sent < out {
            // SAFETY: reply headers [sent, out) point into `batch`.
            let r = unsafe { libc::sendmmsg(fd, batch.reply_headers[sent..].as_mut_ptr(), (out - sent) as u32, 0) };
            if r <= 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    // One unreachable peer must not cost the others their answers.
                    tracing::debug!(error = %e, "sendmmsg failed; skipping one reply");
                    sent += 1;
                }
                continue;
            }
            sent += r as usize;
        }
    }
    Ok(())
}
