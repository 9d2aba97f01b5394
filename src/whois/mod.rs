//! WHOIS on port 43 (RFC 3912) in the ICANN key/value format (Registry
//! Agreement Specification 4 and the Registration Data Policy): one query
//! line per connection — a domain name (A-label or U-label), `nameserver
//! NAME` or `registrar NAME|IANA-ID` — one answer, then the server closes.
//! Withheld data reads `REDACTED FOR PRIVACY`. Clients are rate limited like
//! RDAP's; query size, connections and the wait for the query are bounded.
//!
//! Must not: write registry state.

mod render;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;

use crate::config::WhoisConfig;
use crate::connections::ConnectionCaps;
use crate::model::Clock;
use crate::ops::metrics::Counters;
use crate::ratelimit::{Kind, RateLimiter};
use crate::rdds;
use crate::registry::Registry;
use crate::registry::counts::ReadCounts;

pub struct WhoisShared {
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    pub config: WhoisConfig,
    pub limiter: RateLimiter,
    pub counts: Arc<ReadCounts>,
    pub metrics: Arc<Counters>,
}

pub struct WhoisServer {
    pub addrs: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WhoisServer {
    pub async fn start(
        config: WhoisConfig,
        registry: Registry,
        clock: Arc<dyn Clock>,
        counts: Arc<ReadCounts>,
        metrics: Arc<Counters>,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<WhoisServer> {
        let limiter = RateLimiter::new(config.limits.clone());
        let shared = Arc::new(WhoisShared { registry, clock, limiter, config, counts, metrics });
        let connections = ConnectionCaps::new(shared.config.connections_max, shared.config.connections_per_address_max);
        let (mut addrs, mut tasks) = (Vec::new(), Vec::new());
        for &addr in &shared.config.listen {
            let listener = crate::ops::listeners::tokio_tcp(addr).await?;
            let bound = listener.local_addr()?;
            tracing::info!(address = %bound, "serving WHOIS");
            addrs.push(bound);
            tasks.push(tokio::spawn(accept(listener, shared.clone(), connections.clone(), shutdown.clone())));
        }
        Ok(WhoisServer { addrs, tasks })
    }

    pub async fn stop(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<WhoisShared>, connections: Arc<ConnectionCaps>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "WHOIS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let slot = match connections.claim(peer.ip()) {
            Ok(slot) => slot,
            Err(over) => {
                tracing::warn!(%peer, reason = over.reason(), "WHOIS connection refused");
                if let Some(turn) = connections.refusal() {
                    let (mut stream, cfg) = (stream, shared.config.clone());
                    tokio::spawn(async move {
                        let _turn = turn;
                        let _ = write(&mut stream, &format!("Refused: {}; try again later.\r\n", over.reason()), &cfg).await;
                    });
                }
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(
            async move {
                let _slot = slot;
                if let Err(e) = serve(stream, peer, &shared).await {
                    tracing::debug!(error = %e, "WHOIS connection ended");
                }
            }
            .instrument(tracing::info_span!("whois", %peer)),
        );
    }
}

async fn serve(mut stream: TcpStream, peer: SocketAddr, shared: &WhoisShared) -> io::Result<()> {
    let cfg = &shared.config;
    let line = match tokio::time::timeout(Duration::from_secs(cfg.query_timeout_s), read_line(&mut stream, cfg.query_bytes_max)).await {
        Err(_) => {
            tracing::info!("WHOIS query not sent in time");
            return Ok(());
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Line::TooLong)) => {
            tracing::info!("WHOIS query too long");
            return write(&mut stream, &format!("Query too long: at most {} bytes.\r\n", cfg.query_bytes_max), cfg).await;
        }
        Ok(Ok(Line::Query(q))) => q,
    };
    shared.metrics.whois_queries.inc();
    if let Err(wait) = shared.limiter.check(peer.ip(), Kind::Lookup, shared.clock.now()) {
        shared.metrics.whois_rate_limited.inc();
        tracing::info!("WHOIS rate limit");
        let text = format!("Query rate limit exceeded; try again in {} seconds.\r\n", wait.as_secs().max(1));
        return write(&mut stream, &text, cfg).await;
    }
    let snapshot = shared.registry.snapshot();
    let now = shared.clock.now();
    let query = render::Query::parse(&line);
    rdds::count(&shared.counts, &snapshot, query.name(), now, "whois-43");
    let text = match render::answer(&query, &snapshot, now, cfg) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "WHOIS lookup failed");
            "The lookup failed; try again later.\r\n".to_string()
        }
    };
    write(&mut stream, &text, cfg).await
}

enum Line {
    Query(String),
    TooLong,
}

/// Reads up to CR LF (or LF, or the end of input), at most `max` bytes.
async fn read_line(stream: &mut TcpStream, max: usize) -> io::Result<Line> {
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.iter().position(|b| *b == b'\n') {
            buf.truncate(end);
            break;
        }
        if buf.len() > max {
            return Ok(Line::TooLong);
        }
    }
    if buf.len() > max {
        return Ok(Line::TooLong);
    }
    Ok(Line::Query(String::from_utf8_lossy(&buf).trim().to_string()))
}

/// Writes the answer and closes; a client that will not read is cut off.
async fn write(stream: &mut TcpStream, text: &str, cfg: &WhoisConfig) -> io::Result<()> {
    let sending = async {
        stream.write_all(text.as_bytes()).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(cfg.query_timeout_s), sending)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "client not reading")))
}
