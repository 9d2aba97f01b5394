//! The systemd service protocols, spoken directly over their environment
//! variables (no libsystemd): `sd_notify` datagrams to `NOTIFY_SOCKET`
//! (`READY=1`, `STATUS=`, `STOPPING=1`, `WATCHDOG=1`), the watchdog interval
//! from `WATCHDOG_USEC`, and sockets passed by socket activation
//! (`LISTEN_FDS`, `LISTEN_PID`), which the listeners adopt.
//!
//! Must not: decide which socket serves what; the listeners match them to the configuration.

// Adopting inherited descriptors and clearing the variables that name them
// cannot be done without `unsafe`; both happen once, before any thread starts.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::registry::Registry;

/// The first descriptor socket activation passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;
/// More than any configuration binds; a larger count is a broken environment.
const LISTEN_FDS_MAX: i32 = 256;

/// Sends one notification to the service manager; without `NOTIFY_SOCKET`
/// (not started by systemd) it does nothing.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    if let Err(e) = send_to(&path, state.as_bytes()) {
        tracing::warn!(error = %e, socket = ?path, "cannot notify the service manager");
    }
}

fn send_to(path: &std::ffi::OsStr, message: &[u8]) -> std::io::Result<usize> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    let socket = UnixDatagram::unbound()?;
    // A leading '@' names a socket in the abstract namespace.
    match path.as_bytes().strip_prefix(b"@") {
        Some(name) => socket.send_to_addr(message, &std::os::unix::net::SocketAddr::from_abstract_name(name)?),
        None => socket.send_to(message, path),
    }
}

/// How often the service manager wants to hear `WATCHDOG=1`, if it watches this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    let pid = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok());
    if pid.is_some_and(|pid| pid != std::process::id()) {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Feeds the watchdog at half its interval for as long as the registry
/// writer can commit; once it cannot, the feeding stops, so a writer that
/// died or a store that takes no more writes gets the service restarted even
/// if the process itself hangs on.
pub async fn feed_watchdog(registry: Registry, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if !registry.health().is_live() {
            tracing::error!("the registry writer cannot commit; no longer feeding the watchdog");
            return;
        }
        notify("WATCHDOG=1");
    }
}

/// Sockets passed by socket activation and not yet adopted by a listener.
static INHERITED: Mutex<Vec<socket2::Socket>> = Mutex::new(Vec::new());

/// Takes the sockets systemd passed this process, if any, and clears the
/// variables naming them so nothing started later takes them for its own.
///
/// # Safety
/// Must run before any other thread exists: it changes the environment and
/// claims descriptors 3.. as this process's own.
pub unsafe fn adopt_listen_fds() {
    let for_us = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse::<i32>().ok()).unwrap_or(0);
    // SAFETY: the caller guarantees no other thread reads or writes the environment.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if !for_us || !(1..=LISTEN_FDS_MAX).contains(&count) {
        return;
    }
    let mut inherited = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    for fd in LISTEN_FDS_START..LISTEN_FDS_START + count {
        // SAFETY: socket activation passes descriptors 3..3+LISTEN_FDS to this
        // process (LISTEN_PID says so) and nothing else in it owns them.
        let socket = socket2::Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
        if let Err(e) = socket.set_cloexec(true) {
            tracing::warn!(fd, error = %e, "cannot mark an inherited socket close-on-exec");
        }
        inherited.push(socket);
    }
}

/// The inherited socket bound to exactly `addr` with type `kind`, if one was passed.
pub fn take_inherited(addr: std::net::SocketAddr, kind: socket2::Type) -> Option<socket2::Socket> {
    let mut inherited = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    let at =
        inherited.iter().position(|s| s.r#type().ok() == Some(kind) && s.local_addr().ok().and_then(|a| a.as_socket()) == Some(addr))?;
    Some(inherited.swap_remove(at))
}

/// Closes the inherited sockets no configured address asked for, naming
/// them: a socket unit and a configuration that disagree are an operator
/// error worth a line in the log, not a silent port nobody answers.
pub fn close_unclaimed() {
    let unclaimed = std::mem::take(&mut *INHERITED.lock().unwrap_or_else(|p| p.into_inner()));
    for socket in unclaimed {
        let address = socket.local_addr().ok().and_then(|a| a.as_socket());
        tracing::warn!(?address, kind = ?socket.r#type().ok(), "an inherited socket matches no configured address; closing it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        send_to(path.as_os_str(), b"READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("domain-os-test-{}", std::process::id());
        let abstract_receiver = UnixDatagram::bind_addr(&std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
        send_to(std::ffi::OsStr::new(&format!("@{name}")), b"WATCHDOG=1").unwrap();
        let n = abstract_receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }
}
