//! One EPP session over TLS (RFC 5730, RFC 5734): greeting, then frames
//! (`framing.rs`) answered in turn — login (`login.rs`), poll (`poll.rs`),
//! logout, and object commands dispatched to their mapping module, which
//! either answers from a snapshot or names the registry command to execute —
//! within limits on XML shape, command rate, idle time and the login
//! deadline, each answered with its RFC result code, and counted for the
//! reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use super::framing::{Frame, read_frame, write_frame};
use super::login::{LoggedIn, SessionSlot, answer_login};
use super::mapping::{ClientView, Verdict};
use super::poll::poll;
use super::render::{self, Response};
use super::request::{self, Request, TransferVerb, Verb};
use super::result::{EppError, code};
use super::shared::EppShared;
use super::xml::{self, Element, Limits, Ns};
use crate::config::EppConfig;
use crate::ops::metrics::Open;
use crate::ratelimit::Bucket;
use crate::registry::Actor;
use crate::store::Snapshot;

/// Runs one session until logout, a closing error, a timeout or EOF.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    connected: Instant,
    certificate: Option<String>,
    waiting: Option<tokio::sync::OwnedSemaphorePermit>,
    shared: &EppShared,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let cfg = &shared.config;
    let limits = Limits { depth_max: cfg.xml_depth_max, elements_max: cfg.xml_elements_max, text_bytes_max: cfg.frame_bytes_max };
    let write_limit = Duration::from_secs(cfg.idle_timeout_s);
    // Absolute: neither `<hello/>` nor failed logins keep an unauthenticated connection open longer.
    let login_deadline = connected + Duration::from_secs(cfg.login_timeout_s);
    write_frame(stream, &render::greeting(&shared.server_id, shared.clock.now()), write_limit).await?;
    let mut conn = Connection { peer, certificate, waiting, session: None, slot: None, logged_in: None };
    // `commands_per_second` a second, in bursts of up to as many.
    let per_second = f64::from(cfg.commands_per_second);
    let mut rate = Bucket::full(shared.clock.now(), per_second);
    let _connection = Open::new(&shared.metrics.epp_connections);
    loop {
        let (wait, frame_within) = frame_waits(cfg, conn.session.is_some(), login_deadline);
        let Some(frame) = next_frame(stream, cfg, wait, frame_within, shutdown).await? else {
            return Ok(());
        };
        let svtrid = render::next_svtrid();
        let declared: &[String] = conn.session.as_ref().map_or(&[], |s| &s.extensions);
        let over_rate = rate.take(shared.clock.now(), per_second, per_second).is_err();
        let (request, cltrid) = match understand(&frame, limits, over_rate) {
            Understood::Request(request, cltrid) => (request, cltrid),
            Understood::Refused(r, cltrid) => {
                shared.count("", "invalid", r.code);
                write_frame(stream, &r.to_xml(cltrid.as_deref(), &svtrid, declared), write_limit).await?;
                continue;
            }
            Understood::OverRate(cltrid) => {
                shared.count("", "invalid", code::SESSION_LIMIT_CLOSING);
                return over_rate_limit(stream, cltrid.as_deref(), &svtrid, declared, cfg.commands_per_second, write_limit).await;
            }
        };
        if matches!(request, Request::Hello) {
            write_frame(stream, &render::greeting(&shared.server_id, shared.clock.now()), write_limit).await?;
            continue;
        }
        let started = Instant::now();
        let audited = Audited::of(&request, conn.session.as_ref());
        let (object, command) = request.counted_as();
        let (response, close, login_declared) = conn.answer(request, shared).await;
        let declared: &[String] = conn.session.as_ref().map_or(&login_declared, |s| &s.extensions);
        write_frame(stream, &response.to_xml(cltrid.as_deref(), &svtrid, declared), write_limit).await?;
        shared.count(object, command, response.code);
        let elapsed_us = started.elapsed().as_micros() as u64;
        match audited {
            Some(a) => a.log(conn.session.as_ref(), peer, cltrid.as_deref(), &svtrid, response.code, elapsed_us),
            None => tracing::debug!(code = response.code, elapsed_us, "EPP command"),
        }
        if close {
            return Ok(());
        }
    }
}

/// What a connection carries from one command to the next.
struct Connection<'a> {
    peer: SocketAddr,
    certificate: Option<String>,
    /// This connection's turn among those not logged in, given back at login.
    waiting: Option<tokio::sync::OwnedSemaphorePermit>,
    session: Option<LoggedIn>,
    /// The registrar's session slot, held while logged in.
    slot: Option<SessionSlot<'a>>,
    /// Counts this connection among the open sessions once logged in.
    logged_in: Option<Open>,
}

impl<'a> Connection<'a> {
    /// Answers one request other than `<hello>`: the response, whether the
    /// connection closes after it, and the extensions a login declared.
    async fn answer(&mut self, request: Request, shared: &'a EppShared) -> (Response, bool, Vec<String>) {
        match request {
            Request::Hello => unreachable!("a greeting is answered by the session loop"),
            Request::Login(login, _) => {
                let (response, close, declared) =
                    answer_login(&login, self.peer, self.certificate.as_deref(), &mut self.session, &mut self.slot, shared).await;
                if self.session.is_some() {
                    self.logged_in.get_or_insert_with(|| Open::new(&shared.metrics.epp_sessions));
                    drop(self.waiting.take());
                    shared.remember_login_address(self.peer.ip(), shared.clock.now());
                }
                (response, close, declared)
            }
            Request::Logout(_) => (Response::new(code::OK_BYE), true, Vec::new()),
            Request::Poll(op, _) => match &self.session {
                None => (not_logged_in(), false, Vec::new()),
                Some(s) => (poll(op, s, shared).await, false, Vec::new()),
            },
            Request::Object { verb, object, extension, .. } => match &self.session {
                None => (not_logged_in(), false, Vec::new()),
                Some(s) => (object_command(verb, &object, extension.as_ref(), s, shared).await, false, Vec::new()),
            },
        }
    }
}

/// A request the audit trail records: a login or logout, or a command that
/// changes (or asks to change) registry state. Queries are not audited;
/// they are counted for the reports.
struct Audited {
    command: String,
    object: String,
    /// Who asked: the session's registrar, or the client id a login claims.
    registrar: String,
}

impl Audited {
    fn of(request: &Request, session: Option<&LoggedIn>) -> Option<Audited> {
        let registrar = session.map(|s| s.registrar.to_string()).unwrap_or_default();
        match request {
            Request::Login(login, _) => {
                Some(Audited { command: "login".into(), object: String::new(), registrar: login.client_id.clone() })
            }
            Request::Logout(_) => Some(Audited { command: "logout".into(), object: String::new(), registrar }),
            Request::Object { verb, object, .. } => {
                let (kind, command) = counted_as(*verb, &object.ns)?;
                let transforms = !matches!(verb, Verb::Check | Verb::Info | Verb::Transfer(TransferVerb::Query));
                // The name or id a command names first; a check lists several and is not audited.
                let named = object.children.iter().find(|c| c.name == "name" || c.name == "id").map(|c| c.trimmed().to_string());
                transforms.then(|| Audited { command: format!("{kind}:{command}"), object: named.unwrap_or_default(), registrar })
            }
            Request::Hello | Request::Poll(..) => None,
        }
    }

    /// One line for the audit trail (target `audit`), after the answer went
    /// out: the registrar is the session's once a login succeeded. Never a
    /// password or authorization code: only names, ids and the result.
    fn log(self, session: Option<&LoggedIn>, peer: SocketAddr, cltrid: Option<&str>, svtrid: &str, code: u16, elapsed_us: u64) {
        let registrar = session.map_or(self.registrar, |s| s.registrar.to_string());
        tracing::info!(
            target: "audit",
            registrar,
            client = %peer,
            command = self.command,
            object = self.object,
            cltrid = cltrid.unwrap_or(""),
            svtrid,
            code,
            elapsed_us,
            "EPP {}",
            if code < 2000 { "done" } else { "refused" }
        );
    }
}

/// What a frame asks for, each with the clTRID to echo where there is one.
enum Understood {
    Request(Request, Option<String>),
    /// Malformed XML or a request RFC 5730 does not allow: answered, and the session goes on.
    Refused(Response, Option<String>),
    /// Over the command rate: answered 2502, and the session ends.
    OverRate(Option<String>),
}

/// Parses a frame into a request. Over the rate it is still parsed, so the
/// 2502 can echo the clTRID (RFC 5730 §2.6).
fn understand(frame: &[u8], limits: Limits, over_rate: bool) -> Understood {
    let root = match xml::parse(frame, limits) {
        Ok(root) => root,
        Err(_) if over_rate => return Understood::OverRate(None),
        Err(e) => {
            tracing::info!(error = %e, "malformed EPP frame");
            return Understood::Refused(Response::with_msg(code::SYNTAX, e.to_string()), None);
        }
    };
    if over_rate {
        return Understood::OverRate(request::salvage_cltrid(&root));
    }
    match request::parse(&root) {
        Ok(r) => {
            let cltrid = r.cltrid().map(str::to_string);
            Understood::Request(r, cltrid)
        }
        Err(e) => Understood::Refused(Response::with_msg(e.code, e.reason), request::salvage_cltrid(&root)),
    }
}

async fn over_rate_limit<S: AsyncWrite + Unpin>(
    stream: &mut S,
    cltrid: Option<&str>,
    svtrid: &str,
    declared: &[String],
    commands_per_second: u32,
    write_limit: Duration,
) -> std::io::Result<()> {
    tracing::warn!("EPP command rate limit exceeded; closing");
    let r = Response::with_msg(code::SESSION_LIMIT_CLOSING, format!("more than {commands_per_second} commands a second"));
    write_frame(stream, &r.to_xml(cltrid, svtrid, declared), write_limit).await
}

fn not_logged_in() -> Response {
    Response::with_msg(code::USE, "log in first")
}

/// The next frame's bytes, or `None` when the session ends: at shutdown
/// (which takes effect between commands, never inside one), when the peer
/// leaves or idles out, or after a frame over the size limit (answered 2500).
async fn next_frame<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    cfg: &EppConfig,
    wait: Duration,
    frame_within: Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Option<Vec<u8>>> {
    let next = tokio::select! {
        frame = read_frame(stream, cfg.frame_bytes_max, wait, frame_within) => frame?,
        _ = shutdown.changed() => {
            tracing::info!("EPP session closed for shutdown");
            return Ok(None);
        }
    };
    match next {
        Frame::Data(d) => Ok(Some(d)),
        Frame::Closed => {
            tracing::info!("EPP session ended by the peer or by inactivity");
            Ok(None)
        }
        Frame::TooLarge(len) => {
            tracing::warn!(len, "EPP frame length out of bounds; closing");
            let r = Response::with_msg(code::FAILED_CLOSING, format!("frames are limited to {} bytes", cfg.frame_bytes_max));
            write_frame(stream, &r.to_xml(None, &render::next_svtrid(), &[]), Duration::from_secs(cfg.idle_timeout_s)).await?;
            Ok(None)
        }
    }
}

/// How long to wait for the next frame, and for its bytes once it starts:
/// before login both end at the login deadline.
fn frame_waits(cfg: &EppConfig, logged_in: bool, login_deadline: Instant) -> (Duration, Duration) {
    let frame_within = Duration::from_secs(cfg.frame_timeout_s);
    if logged_in {
        return (Duration::from_secs(cfg.idle_timeout_s), frame_within);
    }
    let left = login_deadline.saturating_duration_since(Instant::now());
    (left, frame_within.min(left))
}

impl Request {
    /// `(object, command)` for the metrics: `("", "login")`, `("domain", "create")`.
    fn counted_as(&self) -> (&'static str, &'static str) {
        match self {
            Request::Hello => ("", "hello"),
            Request::Login(..) => ("", "login"),
            Request::Logout(_) => ("", "logout"),
            Request::Poll(..) => ("", "poll"),
            Request::Object { verb, object, .. } => counted_as(*verb, &object.ns).unwrap_or(("", "other")),
        }
    }
}

/// The object of a command, for counting: `(object, command)`.
fn counted_as(verb: Verb, ns: &Ns) -> Option<(&'static str, &'static str)> {
    let object = match ns {
        Ns::Domain => "domain",
        Ns::Host => "host",
        Ns::Contact => "contact",
        _ => return None,
    };
    let command = match verb {
        Verb::Check => "check",
        Verb::Info => "info",
        Verb::Create => "create",
        Verb::Delete => "delete",
        Verb::Renew => "renew",
        Verb::Update => "update",
        Verb::Transfer(TransferVerb::Query) => "transfer-query",
        Verb::Transfer(TransferVerb::Request) => "transfer-request",
        Verb::Transfer(TransferVerb::Approve) => "transfer-approve",
        Verb::Transfer(TransferVerb::Reject) => "transfer-reject",
        Verb::Transfer(TransferVerb::Cancel) => "transfer-cancel",
    };
    Some((object, command))
}

/// The TLD a command is counted under, as the writer counts the commands it
/// executes: that of the (first) domain or host it names.
fn counted_tld(object: &Element, snapshot: &Snapshot) -> String {
    object
        .children
        .iter()
        .find(|c| matches!(c.ns, Ns::Domain | Ns::Host) && c.name == "name")
        .and_then(|n| crate::model::DomainName::parse(n.trimmed()).ok())
        .and_then(|n| snapshot.tld_of(&n).map(|t| t.name.to_string()))
        .unwrap_or_default()
}

async fn object_command(verb: Verb, object: &Element, extension: Option<&Element>, s: &LoggedIn, shared: &EppShared) -> Response {
    let snapshot = shared.registry.snapshot();
    let now = shared.clock.now();
    let counted = match (counted_as(verb, &object.ns), super::ext::rgp_restore(extension)) {
        (Some(("domain", "update")), Ok(Some(crate::registry::command::Restore::Request))) => Some(("domain", "rgp-restore-request")),
        (Some(("domain", "update")), Ok(Some(crate::registry::command::Restore::Report { .. }))) => Some(("domain", "rgp-restore-report")),
        (counted, _) => counted,
    };
    let key = |ok: bool| counted.map(|(o, c)| crate::registry::counter_key(now, &counted_tld(object, &snapshot), &s.registrar, o, c, ok));
    // Every extension used must be one we offer and the client declared at login.
    for e in extension.map(|e| e.children.as_slice()).unwrap_or_default() {
        let uri = e.ns.uri();
        if !render::EXTENSION_URIS.contains(&uri) {
            return Response::with_msg(code::UNIMPLEMENTED_EXTENSION, format!("{uri} is not supported"));
        }
        if !s.extensions.iter().any(|d| d == uri) {
            return Response::with_msg(code::USE, format!("{uri} was not declared at login"));
        }
    }
    if !s.objects.iter().any(|o| o == object.ns.uri()) {
        return Response::with_msg(code::USE, format!("{} was not declared at login", object.ns.uri()));
    }
    let cx = ClientView { snapshot: snapshot.clone(), registrar: s.registrar.clone(), now };
    let handled = match object.ns {
        Ns::Domain => super::domain::handle(verb, object, extension, &cx),
        Ns::Host => super::host::handle(verb, object, extension, &cx),
        Ns::Contact => super::contact::handle(verb, object, extension, &cx),
        _ => Err(EppError::new(code::UNIMPLEMENTED_SERVICE, format!("{} objects are not served", object.ns.uri()))),
    };
    let (command, after) = match handled {
        Ok(Verdict::Reply(r)) => {
            if let Some(k) = key(true) {
                shared.read_counts.add(k);
            }
            return r;
        }
        Ok(Verdict::Execute(command, after)) => (command, after),
        Err(e) => {
            if let Some(k) = key(false) {
                shared.read_counts.add(k);
            }
            return e.into_response();
        }
    };
    // Secrets are checked and hashed here; a refusal at this step never reaches the writer.
    let command = match shared.registry.prepare(command).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(k) = key(false) {
                shared.read_counts.add(k);
            }
            return EppError::from(e).into_response();
        }
    };
    match shared.registry.submit(Actor::Registrar(s.registrar.clone()), command).await {
        Ok(outcome) => {
            let cx = ClientView { snapshot: shared.registry.snapshot(), ..cx };
            match object.ns {
                Ns::Domain => super::domain::render(&after, outcome, &cx),
                Ns::Host => super::host::render(&after, outcome),
                _ => super::contact::render(&after, outcome),
            }
        }
        Err(e) => EppError::from(e).into_response(),
    }
}
