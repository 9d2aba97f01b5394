//! EPP for registrars (RFC 5730–5734 with secDNS, RGP, fee, launch, login
//! security, change poll, secure authinfo and unhandled namespaces): TLS
//! listeners, one task and one tracing span per session. Sessions translate
//! XML into registry commands and snapshot reads; every rule lives in the
//! registry.
//!
//! Must not: hold rules: mappings translate XML into commands, and outcomes back.

pub mod contact;
pub mod domain;
pub mod ext;
mod framing;
pub mod host;
mod login;
pub mod mapping;
mod poll;
pub mod render;
pub mod request;
pub mod result;
pub mod session;
pub mod shared;
pub mod tls;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::connections::{ConnectionCaps, Over};
use shared::EppShared;

/// The whole exchange with a refused peer: TLS handshake and the 2502.
const REFUSAL_S: Duration = Duration::from_secs(5);

/// A running EPP service.
pub struct EppServer {
    pub addrs: Vec<SocketAddr>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    connections: Arc<ConnectionCaps>,
}

impl EppServer {
    pub async fn start(
        shared: Arc<EppShared>,
        tls: Arc<tokio_rustls::rustls::ServerConfig>,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<EppServer> {
        let acceptor = TlsAcceptor::from(tls);
        let connections = ConnectionCaps::new(shared.config.connections_max, shared.config.connections_per_address_max);
        let (mut addrs, mut listeners) = (Vec::new(), Vec::new());
        for &addr in &shared.config.listen {
            let listener = crate::ops::listeners::tokio_tcp(addr).await?;
            let bound = listener.local_addr()?;
            tracing::info!(address = %bound, "serving EPP over TLS");
            addrs.push(bound);
            listeners.push(tokio::spawn(accept(listener, acceptor.clone(), shared.clone(), connections.clone(), shutdown.clone())));
        }
        Ok(EppServer { addrs, listeners, connections })
    }

    /// After the shutdown signal: stops accepting and lets each session
    /// finish the command in hand, its reply included (the daemon bounds
    /// how long it waits).
    pub async fn stop(self) {
        for task in self.listeners {
            let _ = task.await;
        }
        self.connections.drained().await;
    }
}

async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<EppShared>,
    connections: Arc<ConnectionCaps>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "EPP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let connected = Instant::now();
        // EPP is a dialogue of small frames: Nagle's algorithm behind a peer's
        // delayed ACK would add ~40 ms to the TLS handshake and each answer.
        let _ = tcp.set_nodelay(true);
        // A network that connects faster than its budget is closed before TLS,
        // so its handshakes cannot take the cores from everyone else.
        if !shared.connects.admit(peer.ip(), shared.clock.now()) {
            tracing::debug!(%peer, "EPP connect over its network's budget; closed before TLS");
            continue;
        }
        if !shared.may_log_in_from(peer.ip()) {
            tracing::info!(%peer, "EPP connect from an address no registrar may log in from; closed before TLS");
            continue;
        }
        let claimed = connections.claim(peer.ip()).and_then(|slot| {
            if shared.logged_in_lately_from(peer.ip(), shared.clock.now()) {
                return Ok((slot, None));
            }
            let waiting = shared.unauthenticated.clone().try_acquire_owned().map_err(|_| Over::Unauthenticated)?;
            Ok((slot, Some(waiting)))
        });
        let (slot, waiting) = match claimed {
            Ok(claimed) => claimed,
            Err(over) => {
                tracing::warn!(%peer, reason = over.reason(), "EPP connection refused");
                if let Some(turn) = connections.refusal() {
                    tokio::spawn(refuse(tcp, acceptor.clone(), over, turn));
                }
                continue;
            }
        };
        let (acceptor, shared, mut shutdown) = (acceptor.clone(), shared.clone(), shutdown.clone());
        let span = tracing::info_span!("epp", %peer, registrar = tracing::field::Empty);
        tokio::spawn(
            async move {
                let _slot = slot;
                let handshake = Duration::from_secs(shared.config.tls_handshake_timeout_s);
                let mut stream = match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return tracing::info!(error = %e, "EPP TLS handshake failed"),
                    Err(_) => return tracing::info!("EPP TLS handshake timed out"),
                };
                let certificate = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| tls::fingerprint(c));
                if let Err(e) = session::run(&mut stream, peer, connected, certificate, waiting, &shared, &mut shutdown).await {
                    tracing::info!(error = %e, "EPP session ended");
                }
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            }
            .instrument(span),
        );
    }
}

/// Over a connection cap, the peer still learns why: 2502 in place of the
/// greeting (RFC 5730 §3), within a short bound on the whole exchange.
async fn refuse(tcp: TcpStream, acceptor: TlsAcceptor, over: Over, _turn: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(REFUSAL_S, async {
        let mut stream = acceptor.accept(tcp).await?;
        let response = render::Response::with_msg(result::code::SESSION_LIMIT_CLOSING, over.reason());
        framing::write_frame(&mut stream, &response.to_xml(None, &render::next_svtrid(), &[]), REFUSAL_S).await?;
        tokio::io::AsyncWriteExt::shutdown(&mut stream).await
    })
    .await;
}
