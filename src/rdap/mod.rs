//! RDAP (RFC 7480, 9082, 9083) over HTTP or HTTPS: lookups of domains,
//! name servers and entities, `/help`, and searches, read from the latest
//! snapshot. Every response carries `Access-Control-Allow-Origin: *`; HEAD
//! answers like GET without a body; clients are rate limited per address,
//! per network and for searches (429 with `Retry-After`); connections,
//! request sizes and idle time are bounded. Each query is counted for the
//! ICANN activity report.

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
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::config::RdapConfig;
use crate::model::{Clock, Timestamp};
use crate::ratelimit::{Kind, RateLimiter};
use crate::rdds;
use crate::registry::Registry;
use crate::registry::counts::ReadCounts;
use render::Context;

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
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<RdapServer> {
        let mut listeners = Vec::new();
        for &addr in &config.listen {
            listeners.push(TcpListener::bind(addr).await.map_err(|e| io::Error::new(e.kind(), format!("{addr}: {e}")))?);
        }
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr()).collect::<io::Result<_>>()?;
        let base = config.base(addrs.first().copied());
        let terms_of_service_url =
            if config.terms_of_service_url.is_empty() { format!("{base}help") } else { config.terms_of_service_url.clone() };
        let shared = Arc::new(RdapShared {
            registry,
            clock,
            limiter: RateLimiter::new(config.limits.clone()),
            config,
            base,
            notices: render::Notices::new(terms_of_service_url),
            counts,
        });
        let connections = Arc::new(Semaphore::new(shared.config.connections_max));
        let mut tasks = Vec::new();
        for (listener, addr) in listeners.into_iter().zip(&addrs) {
            tracing::info!(address = %addr, tls = tls.is_some(), "serving RDAP");
            let incoming = Incoming::start(listener, tls.clone(), connections.clone(), &shared.config, shutdown.clone());
            let app = MakeAdmit { shared: shared.clone(), router: router(shared.clone()) };
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(incoming, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.changed().await;
                    })
                    .await;
            }));
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
    pub fn context<'a>(&'a self, request_url: &'a str, now: Timestamp) -> Context<'a> {
        Context { base: &self.base, request_url, notices: &self.notices, now, snapshot: None }
    }

    pub fn error(&self, status: StatusCode, description: &str, request_url: &str) -> Rdap {
        let cx = self.context(request_url, self.clock.now());
        Rdap(status, render::error(status.as_u16(), status.canonical_reason().unwrap_or("Error"), description, &cx))
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

/// Makes each connection's service, which knows the client's address.
#[derive(Clone)]
struct MakeAdmit {
    shared: Arc<RdapShared>,
    router: Router,
}

impl<'a> Service<axum::serve::IncomingStream<'a, Incoming>> for MakeAdmit {
    type Response = Admit;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Admit, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: axum::serve::IncomingStream<'a, Incoming>) -> Self::Future {
        std::future::ready(Ok(Admit { shared: self.shared.clone(), router: self.router.clone(), peer: *stream.remote_addr() }))
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
        let refusal = if target_len > shared.config.request_bytes_max {
            tracing::info!(%peer, len = target_len, "RDAP request too long");
            Some((StatusCode::BAD_REQUEST, "the request is too long", None))
        } else if !matches!(*request.method(), Method::GET | Method::HEAD) {
            Some((StatusCode::METHOD_NOT_ALLOWED, "RDAP is read with GET or HEAD", None))
        } else {
            let kind = if matches!(path, "/domains" | "/nameservers" | "/entities") { Kind::Search } else { Kind::Lookup };
            shared.limiter.check(peer.ip(), kind, shared.clock.now()).err().map(|wait| {
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
            let cx = Context { snapshot: Some(snapshot.memo_id()), ..shared.context(&url, now) };
            Rdap(StatusCode::OK, render::domain(&d, &cx, true))
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
        Ok(Some(h)) => Rdap(StatusCode::OK, render::nameserver(&h, &shared.context(&url, now))),
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
            Ok(Some(r)) => return Rdap(StatusCode::OK, render::registrar(&r, &shared.context(&url, now))),
            Ok(None) => {}
            Err(e) => return internal(&shared, e, &url),
        }
    }
    let Ok(id) = crate::model::ContactId::parse(&handle) else {
        return shared.error(StatusCode::BAD_REQUEST, "not a valid entity handle", &url);
    };
    match snapshot.contact(&id) {
        Ok(Some(c)) => Rdap(StatusCode::OK, render::contact(&c, &shared.context(&url, now))),
        Ok(None) => shared.error(StatusCode::NOT_FOUND, "no such entity", &url),
        Err(e) => internal(&shared, e, &url),
    }
}

async fn help(State(shared): Shared) -> Rdap {
    let url = format!("{}help", shared.base);
    Rdap(StatusCode::OK, render::help(&shared.context(&url, shared.clock.now()), shared.config.searches))
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

/// Accepted connections, TLS already done, each holding a connection slot
/// and closed when idle.
pub struct Incoming {
    receiver: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
}

impl Incoming {
    fn start(
        listener: TcpListener,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        connections: Arc<Semaphore>,
        config: &RdapConfig,
        mut shutdown: watch::Receiver<bool>,
    ) -> Incoming {
        let local = listener.local_addr().expect("a bound listener");
        let (sender, receiver) = mpsc::channel(64);
        let idle = Duration::from_secs(config.idle_timeout_s);
        let acceptor = tls.map(TlsAcceptor::from);
        tokio::spawn(async move {
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
                    _ = shutdown.changed() => return,
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "RDAP connection limit reached; closing");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let (sender, acceptor) = (sender.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let io = match acceptor {
                        None => Io::Plain(tcp),
                        Some(a) => match tokio::time::timeout(idle, a.accept(tcp)).await {
                            Ok(Ok(s)) => Io::Tls(Box::new(s)),
                            _ => return tracing::info!(%peer, "RDAP TLS handshake failed or timed out"),
                        },
                    };
                    let conn = Conn {
                        io,
                        _permit: permit,
                        idle,
                        last_read: tokio::time::Instant::now(),
                        timer: Box::pin(tokio::time::sleep(idle)),
                    };
                    let _ = sender.send((conn, peer)).await;
                });
            }
        });
        Incoming { receiver, local }
    }
}

impl axum::serve::Listener for Incoming {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.receiver.recv().await {
            Some(c) => c,
            // The accept loop ended (shutdown): serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// One client connection: its slot is released on drop; reads that wait
/// longer than the idle timeout fail, so slow clients cannot hold slots.
pub struct Conn {
    io: Io,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    last_read: tokio::time::Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if result.is_ready() {
            // Only the time is noted here; the timer is moved when it fires.
            this.last_read = tokio::time::Instant::now();
            return result;
        }
        loop {
            match this.timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    let deadline = this.last_read + this.idle;
                    if tokio::time::Instant::now() >= deadline {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection")));
                    }
                    this.timer.as_mut().reset(deadline);
                }
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
