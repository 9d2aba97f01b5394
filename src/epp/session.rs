//! One EPP session over TLS (RFC 5730, RFC 5734): greeting, login with all
//! three credentials (password, pinned client certificate, allowed source
//! address), commands, logout — within limits on frame size, XML shape,
//! command rate, idle time and failed logins, each answered with its RFC
//! result code. Object commands go to their mapping module, which either
//! answers from a snapshot or names the registry command to execute.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::mapping::{Ctx, Verdict};
use super::render::{self, MsgQ, Response};
use super::request::{self, Login, PollOp, Request, TransferVerb, Verb};
use super::result::{EppError, code};
use super::xml::{self, Element, Limits, Ns};
use crate::config::EppConfig;
use crate::model::{ClientId, Clock, PollPayload, RegistrarStatus, Timestamp};
use crate::ratelimit::{Bucket, network};
use crate::registry::command::{Command, Password};
use crate::registry::credentials::verify_password;
use crate::registry::{Actor, Outcome, Registry, RegistryError};
use crate::store::Snapshot;

/// What a session needs from the server.
pub struct EppShared {
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    pub config: EppConfig,
    pub server_id: String,
    /// Open sessions per registrar.
    sessions: Mutex<HashMap<ClientId, usize>>,
    /// Consecutive failed logins per source network and client id, and when a
    /// lockout ends (at most [`FAILURES_TRACKED_MAX`] entries).
    failures: Mutex<HashMap<(IpAddr, ClientId), Failures>>,
    /// Turns to compute a password hash.
    login_hashes: Semaphore,
    /// One turn per registrar in front of those: one registrar's flood of
    /// failed logins queues behind itself, not in front of everyone else.
    registrar_hashes: Mutex<HashMap<ClientId, Arc<Semaphore>>>,
    /// Counts of commands that never reach the writer (reads, early refusals).
    pub read_counts: Arc<crate::registry::counts::ReadCounts>,
    /// New connections per network, spent before the TLS handshake.
    pub connects: crate::ratelimit::ConnectBudget,
}

/// Failed logins in a row, and the end of the lockout they caused.
type Failures = (u32, Option<Timestamp>);

/// (network, client id) pairs whose failed logins are remembered at once.
/// Only registrars that exist, seen from an allowed address with their
/// pinned certificate, are counted, so honest use stays far below it.
pub const FAILURES_TRACKED_MAX: usize = 10_000;

impl EppShared {
    pub fn new(
        registry: Registry,
        clock: Arc<dyn Clock>,
        config: EppConfig,
        server_id: String,
        read_counts: Arc<crate::registry::counts::ReadCounts>,
    ) -> EppShared {
        let login_hashes = Semaphore::new(config.login_hashes_max);
        let connects = crate::ratelimit::ConnectBudget::new(config.connects_per_network_per_s, config.connects_per_network_burst);
        EppShared {
            connects,
            registry,
            clock,
            config,
            server_id,
            sessions: Default::default(),
            failures: Default::default(),
            login_hashes,
            registrar_hashes: Default::default(),
            read_counts,
        }
    }
}

struct LoggedIn {
    registrar: ClientId,
    objects: Vec<String>,
    extensions: Vec<String>,
}

/// Releases a registrar's session slot when the session ends.
struct SessionSlot<'a> {
    shared: &'a EppShared,
    registrar: ClientId,
}

impl Drop for SessionSlot<'_> {
    fn drop(&mut self) {
        let mut sessions = self.shared.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = sessions.get_mut(&self.registrar) {
            *n = n.saturating_sub(1);
        }
    }
}

enum Frame {
    Data(Vec<u8>),
    /// Larger than allowed: answered with 2500 and the connection closed.
    TooLarge(u32),
    Closed,
}

/// Reads one RFC 5734 data unit: a 4-byte length that counts itself, then the XML.
async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S, max: usize, wait: Duration, complete_within: Duration) -> std::io::Result<Frame> {
    let len = match tokio::time::timeout(wait, stream.read_u32()).await {
        Ok(Ok(len)) => len,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Frame::Closed),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(Frame::Closed),
    };
    if len < 5 || len as usize - 4 > max {
        return Ok(Frame::TooLarge(len));
    }
    let mut payload = vec![0u8; len as usize - 4];
    match tokio::time::timeout(complete_within, stream.read_exact(&mut payload)).await {
        Ok(Ok(_)) => Ok(Frame::Data(payload)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Frame::Closed),
        Ok(Err(e)) => Err(e),
        // A length prefix that promises more than ever arrives, or a slowloris peer.
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "frame not completed in time")),
    }
}

pub(super) async fn write_frame<S: AsyncWrite + Unpin>(stream: &mut S, xml: &str, limit: Duration) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(xml.len() + 4);
    framed.extend_from_slice(&((xml.len() + 4) as u32).to_be_bytes());
    framed.extend_from_slice(xml.as_bytes());
    tokio::time::timeout(limit, async {
        stream.write_all(&framed).await?;
        stream.flush().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "peer not reading"))?
}

/// Runs one session until logout, a closing error, a timeout or EOF.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    connected: Instant,
    certificate: Option<String>,
    shared: &EppShared,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let cfg = &shared.config;
    let limits = Limits { depth_max: cfg.xml_depth_max, elements_max: cfg.xml_elements_max, text_bytes_max: cfg.frame_bytes_max };
    let write_limit = Duration::from_secs(cfg.idle_timeout_s);
    // Absolute: neither `<hello/>` nor failed logins keep an unauthenticated connection open longer.
    let login_deadline = connected + Duration::from_secs(cfg.login_timeout_s);
    write_frame(stream, &render::greeting(&shared.server_id, shared.clock.now()), write_limit).await?;
    let mut session: Option<LoggedIn> = None;
    let mut slot: Option<SessionSlot> = None;
    // `commands_per_second` a second, in bursts of up to as many.
    let per_second = f64::from(cfg.commands_per_second);
    let mut rate = Bucket::full(shared.clock.now(), per_second);
    loop {
        let (wait, frame_within) = frame_waits(cfg, session.is_some(), login_deadline);
        // Shutdown takes effect between commands, never inside one.
        let next = tokio::select! {
            frame = read_frame(stream, cfg.frame_bytes_max, wait, frame_within) => frame?,
            _ = shutdown.changed() => {
                tracing::info!("EPP session closed for shutdown");
                return Ok(());
            }
        };
        let frame = match next {
            Frame::Closed => {
                tracing::info!("EPP session ended by the peer or by inactivity");
                return Ok(());
            }
            Frame::TooLarge(len) => {
                tracing::warn!(len, "EPP frame length out of bounds; closing");
                let r = Response::with_msg(code::FAILED_CLOSING, format!("frames are limited to {} bytes", cfg.frame_bytes_max));
                write_frame(stream, &r.to_xml(None, &render::next_svtrid(), &[]), write_limit).await?;
                return Ok(());
            }
            Frame::Data(d) => d,
        };
        let svtrid = render::next_svtrid();
        let declared: &[String] = session.as_ref().map_or(&[], |s| &s.extensions);
        // Parsed even when over the limit, so the 2502 can echo the clTRID (RFC 5730 §2.6).
        let over_rate = rate.take(shared.clock.now(), per_second, per_second).is_err();
        let root = match xml::parse(&frame, limits) {
            Ok(root) => root,
            Err(e) if !over_rate => {
                tracing::info!(error = %e, "malformed EPP frame");
                let r = Response::with_msg(code::SYNTAX, e.to_string());
                write_frame(stream, &r.to_xml(None, &svtrid, declared), write_limit).await?;
                continue;
            }
            Err(_) => return over_rate_limit(stream, None, &svtrid, declared, cfg.commands_per_second, write_limit).await,
        };
        if over_rate {
            let cltrid = request::salvage_cltrid(&root);
            return over_rate_limit(stream, cltrid.as_deref(), &svtrid, declared, cfg.commands_per_second, write_limit).await;
        }
        let (request, cltrid) = match request::parse(&root) {
            Ok(r) => {
                let c = r.cltrid().map(str::to_string);
                (r, c)
            }
            Err(e) => {
                let r = Response::with_msg(e.code, e.reason);
                write_frame(stream, &r.to_xml(request::salvage_cltrid(&root).as_deref(), &svtrid, declared), write_limit).await?;
                continue;
            }
        };
        if matches!(request, Request::Hello) {
            write_frame(stream, &render::greeting(&shared.server_id, shared.clock.now()), write_limit).await?;
            continue;
        }
        let started = Instant::now();
        let mut login_declared = Vec::new();
        let (response, close) = match request {
            Request::Hello => unreachable!("answered above"),
            Request::Login(login, _) => {
                let (response, close, declared) = answer_login(&login, peer, certificate.as_deref(), &mut session, &mut slot, shared).await;
                login_declared = declared;
                (response, close)
            }
            Request::Logout(_) => (Response::new(code::OK_BYE), true),
            Request::Poll(op, _) => match &session {
                None => (not_logged_in(), false),
                Some(s) => (poll(op, s, shared).await, false),
            },
            Request::Object { verb, object, extension, .. } => match &session {
                None => (not_logged_in(), false),
                Some(s) => (object_command(verb, &object, extension.as_ref(), s, shared).await, false),
            },
        };
        let declared: &[String] = session.as_ref().map_or(&login_declared, |s| &s.extensions);
        write_frame(stream, &response.to_xml(cltrid.as_deref(), &svtrid, declared), write_limit).await?;
        tracing::debug!(code = response.code, elapsed_us = started.elapsed().as_micros() as u64, "EPP command");
        if close {
            drop(slot);
            return Ok(());
        }
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

/// RFC 8807: a password too long for `<pw>` travels in the extension.
fn effective(core: &str, extension: Option<&Option<String>>) -> String {
    match (core, extension) {
        ("[LOGIN-SECURITY]", Some(Some(real))) => real.clone(),
        _ => core.to_string(),
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

/// Answers a `<login>`: the session and its slot on success; whether to
/// close; the extensions the answer may use (login security, when asked for).
async fn answer_login<'a>(
    login: &Login,
    peer: SocketAddr,
    certificate: Option<&str>,
    session: &mut Option<LoggedIn>,
    slot: &mut Option<SessionSlot<'a>>,
    shared: &'a EppShared,
) -> (Response, bool, Vec<String>) {
    let mut events = Vec::new();
    let (response, close) = match log_in(login, peer, certificate, session, shared, &mut events).await {
        Ok((logged_in, new_slot)) => {
            tracing::Span::current().record("registrar", logged_in.registrar.as_str());
            tracing::info!(registrar = %logged_in.registrar, "EPP login");
            *session = Some(logged_in);
            *slot = Some(new_slot);
            (Response::new(code::OK), false)
        }
        Err(e) => {
            tracing::info!(client = login.client_id.as_str(), code = e.code, reason = e.reason.as_str(), "EPP login refused");
            let closes = e.closes();
            (Response::with_msg(e.code, e.reason), closes)
        }
    };
    // RFC 8807 events go to clients that asked for login security, whether or not the login succeeded.
    match login_sec_data(&events) {
        Some(data) if login.extension_uris.iter().any(|u| u == xml::LOGIN_SEC) => {
            (response.extension(xml::LOGIN_SEC, data), close, vec![xml::LOGIN_SEC.to_string()])
        }
        _ => (response, close, Vec::new()),
    }
}

async fn log_in<'a>(
    login: &Login,
    peer: SocketAddr,
    certificate: Option<&str>,
    session: &Option<LoggedIn>,
    shared: &'a EppShared,
    events: &mut Vec<LoginEvent>,
) -> Result<(LoggedIn, SessionSlot<'a>), EppError> {
    check_login_options(login, session)?;
    let now = shared.clock.now();
    // One answer for every failure, so a client cannot tell which credential was wrong.
    let refused = || EppError::new(code::AUTHENTICATION, "authentication failed: client id, password, certificate or source address");
    let snapshot = shared.registry.snapshot();
    let Some(registrar) = ClientId::parse(&login.client_id).ok().and_then(|id| snapshot.registrar(&id).ok().flatten()) else {
        return Err(refused());
    };
    // The free credentials first: a peer without the pinned certificate or
    // outside the allowed addresses can never log in, so it costs no hash
    // and its failures are not counted (it cannot lock the registrar out).
    if !(certificate.is_some_and(|fp| registrar.cert_fingerprints.iter().any(|p| p == fp))
        && registrar.allowed_addresses.iter().any(|a| a.contains(peer.ip())))
    {
        return Err(refused());
    }
    let key = (network(peer.ip()), registrar.id.clone());
    if shared.locked_out(&key, now) {
        return Err(EppError::new(code::AUTHENTICATION_CLOSING, "too many failed logins; try again later"));
    }
    let login_sec = login.login_sec.as_ref();
    let password = effective(&login.password, login_sec.map(|(pw, _)| pw));
    let new_password = login.new_password.as_deref().map(|np| effective(np, login_sec.map(|(_, n)| n)));
    if !shared.verify_password_in_turn(&registrar.id, registrar.password_hash.clone(), password).await? {
        return Err(if shared.count_failure(key, now) {
            EppError::new(code::AUTHENTICATION_CLOSING, "too many failed logins")
        } else {
            refused()
        });
    }
    let failed_before = shared.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&key).map_or(0, |(n, _)| n);
    if failed_before > 0 {
        events.push(LoginEvent {
            kind: "stat",
            name: Some("failedLogins"),
            level: "warning",
            value: Some(failed_before.to_string()),
            text: "failed logins since the last successful one".into(),
        });
    }
    if registrar.status == RegistrarStatus::Terminated {
        return Err(EppError::new(code::AUTHORIZATION, "the registrar is not active"));
    }
    let slot = shared.session_slot(&registrar.id)?;
    if let Some(np) = new_password {
        change_password(shared, &registrar.id, np, events).await?;
    }
    Ok((LoggedIn { registrar: registrar.id.clone(), objects: login.object_uris.clone(), extensions: login.extension_uris.clone() }, slot))
}

/// What a login asks for besides credentials: a first login, version 1.0, English, objects and extensions we serve.
fn check_login_options(login: &Login, session: &Option<LoggedIn>) -> Result<(), EppError> {
    if session.is_some() {
        return Err(EppError::new(code::USE, "already logged in"));
    }
    if login.version != "1.0" {
        return Err(EppError::new(code::UNIMPLEMENTED_VERSION, format!("version {} is not supported", login.version)));
    }
    if login.lang != "en" {
        return Err(EppError::new(code::POLICY, "the only language is en"));
    }
    if let Some(uri) = login.object_uris.iter().find(|u| !render::OBJECT_URIS.contains(&u.as_str())) {
        return Err(EppError::new(code::UNIMPLEMENTED_SERVICE, format!("{uri} is not served")));
    }
    if let Some(uri) = login.extension_uris.iter().find(|u| !render::EXTENSION_URIS.contains(&u.as_str())) {
        return Err(EppError::new(code::UNIMPLEMENTED_EXTENSION, format!("{uri} is not supported")));
    }
    Ok(())
}

/// RFC 8807 §3.2: a new password the policy refuses fails the login.
async fn change_password(
    shared: &EppShared,
    registrar: &ClientId,
    new_password: String,
    events: &mut Vec<LoginEvent>,
) -> Result<(), EppError> {
    let actor = Actor::Registrar(registrar.clone());
    match shared.registry.execute_as(actor, Command::ChangePassword(registrar.clone(), Password::Clear(new_password))).await {
        Ok(_) => Ok(()),
        Err(RegistryError::Invalid(reason)) => {
            events.push(LoginEvent { kind: "newPW", name: None, level: "error", value: None, text: reason.clone() });
            Err(EppError::new(code::AUTHENTICATION, format!("new password refused: {reason}")))
        }
        Err(e) => Err(EppError::from(e)),
    }
}

impl EppShared {
    fn locked_out(&self, key: &(IpAddr, ClientId), now: Timestamp) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        matches!(failures.get(key), Some((_, Some(until))) if *until > now)
    }

    /// Checks `password` against `hash` when it is this registrar's turn and
    /// one of the shared turns is free: a flood of logins waits here and
    /// cannot take every core, and waits behind its own registrar's earlier
    /// logins, not in front of others'.
    async fn verify_password_in_turn(&self, registrar: &ClientId, hash: Option<String>, password: String) -> Result<bool, EppError> {
        let Some(hash) = hash else { return Ok(false) };
        let mine = self
            .registrar_hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(registrar.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone();
        let shutting_down = |_| EppError::new(code::FAILED, "shutting down");
        let _mine = mine.acquire().await.map_err(shutting_down)?;
        let _turn = self.login_hashes.acquire().await.map_err(shutting_down)?;
        Ok(tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false))
    }

    /// Counts a failed login for `key`; true when it starts a lockout.
    fn count_failure(&self, key: (IpAddr, ClientId), now: Timestamp) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= FAILURES_TRACKED_MAX && !failures.contains_key(&key) {
            failures.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        // A table still full holds only running lockouts: those are kept, this failure goes uncounted.
        if failures.len() >= FAILURES_TRACKED_MAX && !failures.contains_key(&key) {
            return false;
        }
        let entry = failures.entry(key).or_insert((0, None));
        entry.0 += 1;
        if entry.0 < self.config.failed_logins_max {
            return false;
        }
        *entry = (0, Some(now.plus_seconds(self.config.lockout_s as i64)));
        true
    }

    /// One of the registrar's session slots, if it has one left.
    fn session_slot(&self, registrar: &ClientId) -> Result<SessionSlot<'_>, EppError> {
        let max = self.config.sessions_per_registrar_max;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let n = sessions.entry(registrar.clone()).or_insert(0);
        if *n >= max {
            return Err(EppError::new(code::SESSION_LIMIT_CLOSING, format!("at most {max} sessions per registrar")));
        }
        *n += 1;
        Ok(SessionSlot { shared: self, registrar: registrar.clone() })
    }
}

/// An RFC 8807 `<loginSec:event>`.
struct LoginEvent {
    kind: &'static str,
    name: Option<&'static str>,
    level: &'static str,
    value: Option<String>,
    text: String,
}

fn login_sec_data(events: &[LoginEvent]) -> Option<String> {
    if events.is_empty() {
        return None;
    }
    let mut w = render::fragment();
    w.open("loginSec:loginSecData", &[("xmlns:loginSec", xml::LOGIN_SEC)]);
    for e in events {
        let mut attrs = vec![("type", e.kind)];
        if let Some(name) = e.name {
            attrs.push(("name", name));
        }
        attrs.push(("level", e.level));
        if let Some(value) = &e.value {
            attrs.push(("value", value));
        }
        attrs.push(("lang", "en"));
        w.leaf("loginSec:event", &attrs, &e.text);
    }
    w.close();
    Some(w.finish())
}

async fn poll(op: PollOp, s: &LoggedIn, shared: &EppShared) -> Response {
    let actor = Actor::Registrar(s.registrar.clone());
    match op {
        PollOp::Request => {
            let snapshot = shared.registry.snapshot();
            let (message, count) = match snapshot.poll_first(&s.registrar) {
                Ok(x) => x,
                Err(e) => return EppError::from(RegistryError::from(e)).into_response(),
            };
            let Some(m) = message else { return Response::new(code::OK_NO_MESSAGES) };
            let ctx = Ctx { snapshot: snapshot.clone(), registrar: s.registrar.clone(), now: shared.clock.now() };
            let mut response = Response::new(code::OK_ACK_TO_DEQUEUE);
            response.msgq = Some(MsgQ { count, id: m.id, queued: m.queued, msg: m.text.clone() });
            match &m.payload {
                PollPayload::DomainTransfer { name, transfer } => response.res_data = Some(super::domain::transfer_data(name, transfer)),
                PollPayload::ContactTransfer { id, transfer } => response.res_data = Some(super::contact::transfer_data(id, transfer)),
                PollPayload::DomainChange { domain, operation, server_transaction, who, reason } => {
                    let mut w = render::fragment();
                    if super::domain::info_data(&mut w, domain, "del", &ctx).is_ok() {
                        response.res_data = Some(w.finish());
                    }
                    let mut c = render::fragment();
                    c.open("changePoll:changeData", &[("xmlns:changePoll", xml::CHANGE_POLL), ("state", "after")]);
                    c.leaf("changePoll:operation", &[], operation.as_str()).leaf("changePoll:date", &[], &m.queued.to_rfc3339());
                    c.leaf("changePoll:svTRID", &[], server_transaction).leaf("changePoll:who", &[], who);
                    if let Some(r) = reason {
                        c.leaf("changePoll:reason", &[], r);
                    }
                    response = response.extension(xml::CHANGE_POLL, c.finish());
                }
            }
            response
        }
        PollOp::Ack(id) => match shared.registry.execute_as(actor, Command::AckPoll(id)).await {
            Ok(Outcome::PollAcked { remaining }) => {
                let mut r = Response::new(code::OK);
                r.acked = Some((remaining, id));
                r
            }
            Ok(_) => Response::new(code::OK),
            Err(e) => EppError::from(e).into_response(),
        },
    }
}

impl EppError {
    fn into_response(self) -> Response {
        Response::with_msg(self.code, self.reason)
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
    let counted = counted_as(verb, &object.ns);
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
    let cx = Ctx { snapshot: snapshot.clone(), registrar: s.registrar.clone(), now };
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
            let cx = Ctx { snapshot: shared.registry.snapshot(), ..cx };
            match object.ns {
                Ns::Domain => super::domain::render(&after, outcome, &cx),
                Ns::Host => super::host::render(&after, outcome),
                _ => super::contact::render(&after, outcome),
            }
        }
        Err(e) => EppError::from(e).into_response(),
    }
}
