//! RDAP (RFC 7480, 9082, 9083) over HTTP or HTTPS: lookups of domains,
//! name servers and entities, `/help`, and searches, read from the latest
//! snapshot. Every response carries `Access-Control-Allow-Origin: *`; HEAD
//! answers like GET without a body; clients are rate limited per address,
//! per network and for searches (429 with `Retry-After`); connections (in
//! all and per address, 503 over either), request sizes, the time to send a
//! request header, stalled writes and each connection's lifetime are
//! bounded, and searches run on blocking threads, a few at a time. Each
//! query is counted for the ICANN activity report.
//!
//! Must not: write registry state.

mod json;
pub mod render;
mod search;

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::config::RdapConfig;
use crate::connections::{ConnectionCaps, ConnectionSlot, Over};
use crate::model::{Clock, Timestamp};
use crate::ops::metrics::Counters;
use crate::ratelimit::{Kind, RateLimiter};
use crate::rdds;
use crate::registry::Registry;
use crate::registry::counts::ReadCounts;
use render::ResponseBasis;

/// What the handlers share.
pub struct RdapShared {
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    pub config: RdapConfig,
    /// Base URL ending in `/`.
    pub base: String,
    pub notices: render::Notices,
    pub limiter: RateLimiter,
    pub counts: Arc<ReadCounts>,
    pub metrics: Arc<Counters>,
    /// Turns to run a search.
    searches: Arc<Semaphore>,
}

type Shared = State<Arc<RdapShared>>;

/// A running RDAP service.
pub struct RdapServer {
    pub addrs: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RdapServer {
    pub async fn start(
        config: RdapConfig,
        registry: Registry,
        clock: Arc<dyn Clock>,
        counts: Arc<ReadCounts>,
        metrics: Arc<Counters>,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<RdapServer> {
        let mut listeners = Vec::new();
        for &addr in &config.listen {
            listeners.push(crate::ops::listeners::tokio_tcp(addr).await?);
        }
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr()).collect::<io::Result<_>>()?;
        let base = config.base(addrs.first().copied());
        let terms_of_service_url =
            if config.terms_of_service_url.is_empty() { format!("{base}help") } else { config.terms_of_service_url.clone() };
        let config_searches = config.searches_concurrent_max;
        let shared = Arc::new(RdapShared {
            registry,
            clock,
            limiter: RateLimiter::new(config.limits.clone()),
            config,
            base,
            notices: render::Notices::new(terms_of_service_url),
            counts,
            metrics,
            searches: Arc::new(Semaphore::new(config_searches)),
        });
        let connections = ConnectionCaps::new(shared.config.connections_max, shared.config.connections_per_address_max);
        let acceptor = tls.map(TlsAcceptor::from);
        let router = router(shared.clone());
        let mut tasks = Vec::new();
        for (listener, addr) in listeners.into_iter().zip(&addrs) {
            tracing::info!(address = %addr, tls = acceptor.is_some(), "serving RDAP");
            let admit = Admit { shared: shared.clone(), router: router.clone(), peer: *addr };
            tasks.push(tokio::spawn(accept(listener, acceptor.clone(), connections.clone(), admit, shutdown.clone())));
        }
        Ok(RdapServer { addrs, tasks })
    }

    pub async fn stop(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Everything but name lookups, which admission answers.
fn router(shared: Arc<RdapShared>) -> Router {
    Router::new()
        .route("/entity/{handle}", get(entity))
        .route("/help", get(help))
        .route("/domains", get(search::domains))
        .route("/nameservers", get(search::nameservers))
        .route("/entities", get(search::entities))
        .route("/ip/{*rest}", get(not_implemented))
        .route("/autnum/{*rest}", get(not_implemented))
        .fallback(unknown_path)
        .with_state(shared)
}

/// A JSON answer with the RDAP media type.
pub struct Rdap(pub StatusCode, pub String);

impl IntoResponse for Rdap {
    /// Every answer, errors included, may be read by any web page (CORS).
    fn into_response(self) -> Response {
        // Built directly: the generic tuple conversion sets a text content type first, then replaces it.
        let mut response = Response::new(axum::body::Body::from(self.1));
        *response.status_mut() = self.0;
        let headers = response.headers_mut();
        headers.reserve(2);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(render::MEDIA_TYPE));
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        response
    }
}

impl RdapShared {
    pub fn response_basis<'a>(&'a self, request_url: &'a str, now: Timestamp) -> ResponseBasis<'a> {
        ResponseBasis { base: &self.base, request_url, notices: &self.notices, now, snapshot: None }
    }

    pub fn error(&self, status: StatusCode, description: &str, request_url: &str) -> Rdap {
        let basis = self.response_basis(request_url, self.clock.now());
        Rdap(status, render::error(status.as_u16(), status.canonical_reason().unwrap_or("Error"), description, &basis))
    }
}

/// The URL a request asked for, as link `value`s show it.
pub fn request_url(shared: &RdapShared, path: &str, query: Option<&str>) -> String {
    let path = path.trim_start_matches('/');
    match query {
        Some(q) => format!("{}{path}?{q}", shared.base),
        None => format!("{}{path}", shared.base),
    }
}

/// Every request passes here first: size bound, method, rate limit, counting.
#[derive(Clone)]
struct Admit {
    shared: Arc<RdapShared>,
    router: Router,
    peer: SocketAddr,
}

impl Service<Request> for Admit {
    type Response = Response;
    type Error = Infallible;
    type Future = Admitted;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Admitted {
        let (shared, peer) = (&self.shared, self.peer);
        let path = request.uri().path();
        let target_len = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
        if request.method() == Method::OPTIONS {
            return Admitted::Answered(Some(preflight(&request)));
        }
        shared.metrics.rdap_requests.inc();
        let refusal = if target_len > shared.config.request_bytes_max {
            tracing::info!(%peer, len = target_len, "RDAP request too long");
            Some((StatusCode::BAD_REQUEST, "the request is too long", None))
        } else if !matches!(*request.method(), Method::GET | Method::HEAD) {
            Some((StatusCode::METHOD_NOT_ALLOWED, "RDAP is read with GET or HEAD", None))
        } else {
            let kind = if matches!(path, "/domains" | "/nameservers" | "/entities") { Kind::Search } else { Kind::Lookup };
            shared.limiter.check(peer.ip(), kind, shared.clock.now()).err().map(|wait| {
                shared.metrics.rdap_rate_limited.inc();
                tracing::info!(%peer, path, "RDAP rate limit");
                (StatusCode::TOO_MANY_REQUESTS, "too many queries; retry later", Some(wait))
            })
        };
        if let Some((status, description, wait)) = refusal {
            let url = request_url(shared, path, request.uri().query());
            let mut r = shared.error(status, description, &url).into_response();
            if let Some(wait) = wait {
                let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if status == StatusCode::METHOD_NOT_ALLOWED {
                r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(METHODS));
            }
            return Admitted::Answered(Some(r));
        }
        // Name lookups, most of the traffic, are answered here: the router's
        // matching and parameter extraction cost more than the lookup's store probe.
        // They are counted by their handlers, under the TLD of the decoded name.
        if let Some((kind, segment)) = name_lookup(path) {
            let name = percent_encoding::percent_decode_str(segment).decode_utf8().ok();
            let answer = match kind {
                NameKind::Domain => domain(shared, name),
                NameKind::Nameserver => nameserver(shared, name),
            };
            return Admitted::Answered(Some(answer.into_response()));
        }
        shared.counts.add_query(shared.clock.now(), "", "rdap");
        Admitted::Routed(self.router.call(request))
    }
}

/// The methods every RDAP path answers (RFC 9110 `Allow`).
const METHODS: &str = "GET, HEAD, OPTIONS";

/// `OPTIONS`: the methods, and for a CORS preflight the permission to send
/// them from any origin with the headers it asks for (RFC 7480 §5.6).
fn preflight(request: &Request) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static(METHODS));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(METHODS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    if let Some(asked) = request.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    r
}

enum Admitted {
    Answered(Option<Response>),
    Routed(axum::routing::future::RouteFuture<Infallible>),
}

impl Future for Admitted {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Admitted::Answered(r) => Poll::Ready(Ok(r.take().expect("polled after completion"))),
            Admitted::Routed(f) => Pin::new(f).poll(cx),
        }
    }
}

#[derive(Clone, Copy)]
enum NameKind {
    Domain,
    Nameserver,
}

impl NameKind {
    fn path(self) -> &'static str {
        match self {
            NameKind::Domain => "domain",
            NameKind::Nameserver => "nameserver",
        }
    }
}

/// A domain or name server lookup and its (still percent-encoded) name, from a request path.
fn name_lookup(path: &str) -> Option<(NameKind, &str)> {
    let (kind, segment) = if let Some(s) = path.strip_prefix("/domain/") {
        (NameKind::Domain, s)
    } else {
        (NameKind::Nameserver, path.strip_prefix("/nameserver/")?)
    };
    (!segment.is_empty() && !segment.contains('/')).then_some((kind, segment))
}

/// What a domain or name server lookup starts with: its URL, one snapshot,
/// the time, and the name read (and counted under its TLD), or the error answer.
struct NameLookup {
    url: String,
    snapshot: Arc<crate::store::Snapshot>,
    now: Timestamp,
    name: crate::model::DomainName,
    /// Whether the name is under one of our TLDs.
    served: bool,
}

impl NameLookup {
    /// `name` is the decoded path segment, `None` when it is not percent-encoded UTF-8.
    fn start(shared: &RdapShared, kind: NameKind, invalid: &str, name: Option<Cow<str>>) -> Result<NameLookup, Rdap> {
        let now = shared.clock.now();
        let Some(name) = name else {
            // Admission left the counting of this path to us: count it before refusing.
            shared.counts.add_query(now, "", "rdap");
            return Err(undecodable(shared, kind.path()));
        };
        let url = [shared.base.as_str(), kind.path(), "/", &name].concat();
        let snapshot = shared.registry.snapshot();
        let parsed = rdds::query_name(&name);
        let served = rdds::count(&shared.counts, &snapshot, parsed.as_ref(), now, "rdap");
        match parsed {
            Some(name) => Ok(NameLookup { url, snapshot, now, name, served }),
            None => Err(shared.error(StatusCode::BAD_REQUEST, invalid, &url)),
        }
    }
}

fn domain(shared: &RdapShared, name: Option<Cow<str>>) -> Rdap {
    let NameLookup { url, snapshot, now, name: parsed, served } =
        match NameLookup::start(shared, NameKind::Domain, "not a valid domain name", name) {
            Ok(l) => l,
            Err(answer) => return answer,
        };
    if !served {
        return shared.error(StatusCode::NOT_FOUND, "this registry does not serve that TLD", &url);
    }
    match rdds::domain(&snapshot, &parsed, now) {
        Ok(Some(d)) => {
            let basis = ResponseBasis { snapshot: Some(snapshot.memo_id()), ..shared.response_basis(&url, now) };
            Rdap(StatusCode::OK, render::domain(&d, &basis, true))
        }
        Ok(None) => shared.error(StatusCode::NOT_FOUND, "no such domain", &url),
        Err(e) => internal(shared, e, &url),
    }
}

fn nameserver(shared: &RdapShared, name: Option<Cow<str>>) -> Rdap {
    let NameLookup { url, snapshot, now, name: parsed, .. } =
        match NameLookup::start(shared, NameKind::Nameserver, "not a valid host name", name) {
            Ok(l) => l,
            Err(answer) => return answer,
        };
    match rdds::host(&snapshot, &parsed) {
        Ok(Some(h)) => Rdap(StatusCode::OK, render::nameserver(&h, &shared.response_basis(&url, now))),
        Ok(None) => shared.error(StatusCode::NOT_FOUND, "no such name server", &url),
        Err(e) => internal(shared, e, &url),
    }
}

/// Registrars by IANA id; contacts by handle.
async fn entity(State(shared): Shared, handle: Result<Path<String>, PathRejection>) -> Rdap {
    let Ok(Path(handle)) = handle else { return undecodable(&shared, "entity") };
    let url = format!("{}entity/{handle}", shared.base);
    let snapshot = shared.registry.snapshot();
    let now = shared.clock.now();
    if let Ok(iana_id) = handle.parse::<u32>() {
        match rdds::registrar_by_iana_id(&snapshot, iana_id) {
            Ok(Some(r)) => return Rdap(StatusCode::OK, render::registrar(&r, &shared.response_basis(&url, now))),
            Ok(None) => {}
            Err(e) => return internal(&shared, e, &url),
        }
    }
    let Ok(id) = crate::model::ContactId::parse(&handle) else {
        return shared.error(StatusCode::BAD_REQUEST, "not a valid entity handle", &url);
    };
    match snapshot.contact(&id) {
        Ok(Some(c)) => Rdap(StatusCode::OK, render::contact(&c, &shared.response_basis(&url, now))),
        Ok(None) => shared.error(StatusCode::NOT_FOUND, "no such entity", &url),
        Err(e) => internal(&shared, e, &url),
    }
}

async fn help(State(shared): Shared) -> Rdap {
    let url = format!("{}help", shared.base);
    Rdap(StatusCode::OK, render::help(&shared.response_basis(&url, shared.clock.now()), shared.config.searches))
}

async fn not_implemented(State(shared): Shared, request: Request) -> Rdap {
    let url = request_url(&shared, request.uri().path(), None);
    shared.error(StatusCode::NOT_IMPLEMENTED, "a domain name registry has no IP or autnum data", &url)
}

async fn unknown_path(State(shared): Shared, RawQuery(query): RawQuery, request: Request) -> Rdap {
    let url = request_url(&shared, request.uri().path(), query.as_deref());
    shared.error(StatusCode::BAD_REQUEST, "not an RDAP query this server answers; see /help", &url)
}

/// A path segment that is not percent-encoded UTF-8.
fn undecodable(shared: &RdapShared, kind: &str) -> Rdap {
    shared.error(StatusCode::BAD_REQUEST, "the name is not percent-encoded UTF-8", &format!("{}{kind}/", shared.base))
}

fn internal(shared: &RdapShared, e: crate::store::StoreError, url: &str) -> Rdap {
    tracing::error!(error = %e, "RDAP lookup failed");
    shared.error(StatusCode::INTERNAL_SERVER_ERROR, "the lookup failed; try again later", url)
}

/// Accepts until shutdown; each connection is served on its own task and
/// the listener's task ends once they all have.
async fn accept(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    connections: Arc<ConnectionCaps>,
    admit: Admit,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut open = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "RDAP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        while open.try_join_next().is_some() {}
        let _ = tcp.set_nodelay(true);
        match connections.claim(peer.ip()) {
            Ok(slot) => {
                let admit = Admit { peer, ..admit.clone() };
                open.spawn(connection(tcp, acceptor.clone(), slot, admit, shutdown.clone()));
            }
            Err(over) => {
                tracing::warn!(%peer, reason = over.reason(), "RDAP connection refused");
                if let Some(turn) = connections.refusal() {
                    tokio::spawn(refuse(tcp, acceptor.clone(), admit.shared.clone(), over, turn));
                }
            }
        }
    }
    while open.join_next().await.is_some() {}
}

/// One client connection, HTTP/1.1 with keep-alive, every wait bounded:
/// the TLS handshake and each request header by `idle_timeout_s` (absolute,
/// not restarted by each byte), each stalled write by the same, and the
/// whole connection by `connection_lifetime_s` (then closed after the
/// request in hand).
async fn connection(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    _slot: ConnectionSlot,
    admit: Admit,
    mut shutdown: watch::Receiver<bool>,
) {
    let (peer, cfg) = (admit.peer, &admit.shared.config);
    let idle = Duration::from_secs(cfg.idle_timeout_s);
    let lifetime = tokio::time::sleep(Duration::from_secs(cfg.connection_lifetime_s));
    let io = match acceptor {
        None => Io::Plain(tcp),
        Some(a) => match tokio::time::timeout(idle, a.accept(tcp)).await {
            Ok(Ok(s)) => Io::Tls(Box::new(s)),
            _ => return tracing::info!(%peer, "RDAP TLS handshake failed or timed out"),
        },
    };
    let conn = Conn { io, write_timeout: idle, stalled: None };
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let mut admit = admit.clone();
        admit.call(request.map(axum::body::Body::new))
    });
    let http = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(idle)
        .serve_connection(hyper_util::rt::TokioIo::new(conn), service);
    let mut http = std::pin::pin!(http);
    tokio::select! {
        _ = http.as_mut() => return,
        _ = lifetime => {}
        _ = shutdown.changed() => {}
    }
    http.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(idle, http).await;
}

/// Over a connection cap, the client still gets an RDAP answer: 503 with
/// `Retry-After`, after reading (briefly) its request so it sees the answer
/// rather than a reset.
async fn refuse(tcp: TcpStream, acceptor: Option<TlsAcceptor>, shared: Arc<RdapShared>, over: Over, _turn: OwnedSemaphorePermit) {
    let body = shared.error(StatusCode::SERVICE_UNAVAILABLE, over.reason(), &shared.base).1;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: {}\r\nAccess-Control-Allow-Origin: *\r\nRetry-After: {REFUSAL_RETRY_S}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        render::MEDIA_TYPE,
        body.len()
    );
    let answer = [head.into_bytes(), body.into_bytes()].concat();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        match acceptor {
            None => answer_and_close(tcp, &answer).await,
            Some(a) => answer_and_close(a.accept(tcp).await?, &answer).await,
        }
    })
    .await;
}

/// Seconds a client refused for a connection cap is asked to wait.
const REFUSAL_RETRY_S: u32 = 10;

async fn answer_and_close<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: &[u8]) -> io::Result<()> {
    let (mut head, mut chunk) = (Vec::new(), [0u8; 2048]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    stream.write_all(answer).await?;
    stream.shutdown().await
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// One client connection's byte stream; a write that makes no progress for
/// `write_timeout` fails, so a client that never reads cannot hold its slot.
pub struct Conn {
    io: Io,
    write_timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Conn {
    fn watch<T>(&mut self, result: Poll<io::Result<T>>, cx: &mut TaskContext<'_>) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let timeout = self.write_timeout;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client not reading"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        self.watch(result, cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let result = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        self.watch(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let result = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        };
        self.watch(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let result = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        };
        self.watch(result, cx)
    }
}
