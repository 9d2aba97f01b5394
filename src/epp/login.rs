//! EPP login (RFC 5730 §2.9.1.1, RFC 8807 login security): the free
//! credentials (source address, pinned certificate) before the password
//! hash, which runs in turns — a few at a time and one at a time per
//! registrar; failed logins per (network, registrar) and their lockout; the
//! session slot per registrar; the RFC 8807 password change and events.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::render::Response;
use super::request::Login;
use super::result::{EppError, code};
use super::shared::{EppShared, FAILURES_TRACKED_MAX};
use super::{render, xml};
use crate::model::{ClientId, RegistrarStatus, Timestamp};
use crate::ratelimit::network;
use crate::registry::command::{Command, Password};
use crate::registry::credentials::verify_password;
use crate::registry::{Actor, RegistryError};

/// A logged-in session: its registrar and what it declared at login.
pub(super) struct LoggedIn {
    pub(super) registrar: ClientId,
    pub(super) objects: Vec<String>,
    pub(super) extensions: Vec<String>,
}

/// Releases a registrar's session slot when the session ends.
pub(super) struct SessionSlot<'a> {
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

/// RFC 8807: a password too long for `<pw>` travels in the extension.
fn effective(core: &str, extension: Option<&Option<String>>) -> String {
    match (core, extension) {
        ("[LOGIN-SECURITY]", Some(Some(real))) => real.clone(),
        _ => core.to_string(),
    }
}

/// Answers a `<login>`: the session and its slot on success; whether to
/// close; the extensions the answer may use (login security, when asked for).
pub(super) async fn answer_login<'a>(
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
