//! EPP for registrars (RFC 5730–5734 with secDNS, RGP, fee, launch, login
//! security, change poll, secure authinfo and unhandled namespaces): TLS
//! listeners, one task and one tracing span per session. Sessions translate
//! XML into registry commands and snapshot reads; every rule lives in the
//! registry.

pub mod contact;
pub mod domain;
pub mod ext;
pub mod host;
pub mod render;
pub mod request;
pub mod result;
pub mod session;
pub mod tls;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use session::EppShared;

/// A running EPP service.
pub struct EppServer {
    pub addrs: Vec<SocketAddr>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    connections: Arc<Semaphore>,
    connections_max: usize,
}

impl EppServer {
    pub async fn start(
        shared: Arc<EppShared>,
        tls: Arc<tokio_rustls::rustls::ServerConfig>,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<EppServer> {
        let acceptor = TlsAcceptor::from(tls);
        let connections_max = shared.config.connections_max;
        let connections = Arc::new(Semaphore::new(connections_max));
        let (mut addrs, mut listeners) = (Vec::new(), Vec::new());
        for &addr in &shared.config.listen {
            let listener = TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
            let bound = listener.local_addr()?;
            tracing::info!(address = %bound, "serving EPP over TLS");
            addrs.push(bound);
            listeners.push(tokio::spawn(accept(listener, acceptor.clone(), shared.clone(), connections.clone(), shutdown.clone())));
        }
        Ok(EppServer { addrs, listeners, connections, connections_max })
    }

    /// After the shutdown signal: stops accepting and lets each session
    /// finish the command in hand, its reply included (the daemon bounds
    /// how long it waits).
    pub async fn stop(self) {
        for task in self.listeners {
            let _ = task.await;
        }
        let all = u32::try_from(self.connections_max).unwrap_or(u32::MAX);
        let _ = self.connections.acquire_many(all).await;
    }
}

async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<EppShared>,
    connections: Arc<Semaphore>,
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
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "EPP connection limit reached; closing");
            continue;
        };
        let (acceptor, shared, mut shutdown) = (acceptor.clone(), shared.clone(), shutdown.clone());
        let span = tracing::info_span!("epp", %peer, registrar = tracing::field::Empty);
        tokio::spawn(
            async move {
                let _permit = permit;
                let handshake = Duration::from_secs(shared.config.tls_handshake_timeout_s);
                let mut stream = match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return tracing::info!(error = %e, "EPP TLS handshake failed"),
                    Err(_) => return tracing::info!("EPP TLS handshake timed out"),
                };
                let certificate = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| tls::fingerprint(c));
                if let Err(e) = session::run(&mut stream, peer, certificate, &shared, &mut shutdown).await {
                    tracing::info!(error = %e, "EPP session ended");
                }
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            }
            .instrument(span),
        );
    }
}
