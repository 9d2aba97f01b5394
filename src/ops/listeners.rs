//! Where every front-end's listening sockets come from: a socket the
//! service manager passed for exactly the configured address is adopted
//! (so the daemon needs no privilege for ports below 1024), otherwise a new
//! one is bound. IPv6 sockets are IPv6-only, so `0.0.0.0` and `[::]` can
//! both be configured.
//!
//! Must not: set options a front-end owns (timeouts, buffer sizes).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use super::systemd;

/// A non-blocking TCP listener on `addr`.
pub fn tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = match systemd::take_inherited(addr, Type::STREAM) {
        Some(socket) => {
            tracing::info!(address = %addr, "adopting the TCP socket passed by the service manager");
            socket
        }
        None => {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            if addr.is_ipv6() {
                socket.set_only_v6(true)?;
            }
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(1024)?;
            socket
        }
    };
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// [`tcp`] for the async runtime, with the address in any error.
pub async fn tokio_tcp(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    tcp(addr).and_then(tokio::net::TcpListener::from_std).map_err(|e| io::Error::new(e.kind(), format!("{addr}: {e}")))
}

/// `count` blocking UDP sockets receiving on `addr`: an inherited socket is
/// shared (each worker gets its own descriptor of it), a new one is bound
/// `count` times with SO_REUSEPORT so the kernel spreads queries over them.
/// Returns them and the bound address (port 0 resolved).
pub fn udp(addr: SocketAddr, count: usize) -> io::Result<(Vec<Socket>, SocketAddr)> {
    let count = count.max(1);
    if let Some(socket) = systemd::take_inherited(addr, Type::DGRAM) {
        tracing::info!(address = %addr, "adopting the UDP socket passed by the service manager");
        socket.set_nonblocking(false)?;
        let mut sockets = Vec::with_capacity(count);
        for _ in 1..count {
            sockets.push(socket.try_clone()?);
        }
        sockets.push(socket);
        return Ok((sockets, addr));
    }
    let mut sockets = Vec::with_capacity(count);
    let mut bound = addr;
    for _ in 0..count {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_reuse_port(true)?;
        socket.bind(&bound.into())?;
        bound = socket.local_addr()?.as_socket().unwrap_or(bound);
        sockets.push(socket);
    }
    Ok((sockets, bound))
}
