//! The operator API: JSON over HTTP (axum), bearer-token authenticated,
//! loopback by default. Handlers only translate: requests become registry
//! commands or snapshot reads, registry errors become HTTP statuses with a
//! stable code and a message. The CLI's admin commands call it ([`client`]).
//!
//! Must not: hold rules: handlers translate requests into commands or snapshot reads.

pub mod client;
mod views;

use std::path::PathBuf;

use crate::ops::backup::BackupError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::dns::zonefile::{self, Format};
use crate::model::{ClientId, ContactId, DomainName};
use crate::registry::command::*;
use crate::registry::{Outcome, Registry, RegistryError};

/// Request bodies other than zone imports are small.
const BODY_BYTES_MAX: usize = 1 << 20;
/// Longest page of a listing.
const LIST_LIMIT_MAX: usize = 1000;

pub struct AdminState {
    pub registry: Registry,
    pub clock: std::sync::Arc<dyn crate::model::Clock>,
    pub token: String,
    pub zones_dir: PathBuf,
    /// Where escrow deposits go, and their keys.
    pub escrow_folder: PathBuf,
    pub escrow_keys: Option<crate::escrow::RydeKeys>,
    /// The keys of BRDA deposits (encrypted to ICANN), when configured.
    pub brda_keys: Option<crate::escrow::RydeKeys>,
    /// Passes the deposit schedule completed, when it runs.
    pub escrow_passes: Option<Arc<std::sync::atomic::AtomicU64>>,
    pub reports: crate::config::ReportsConfig,
    /// Passes the monthly report schedule completed, when it runs.
    pub report_passes: Option<Arc<std::sync::atomic::AtomicU64>>,
    pub import_body_bytes_max: usize,
    /// Set once every listener is bound; cleared when a shutdown begins.
    pub ready: Arc<AtomicBool>,
    pub backups: Arc<crate::ops::backup::Backups>,
    /// None when metrics are off.
    pub metrics: Option<Arc<crate::ops::metrics::Metrics>>,
    /// Whether `/metrics` asks for the bearer token too.
    pub metrics_token_required: bool,
    /// The registry database file, for its size.
    pub store_path: PathBuf,
}

/// An API error: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    fn bad_name(e: impl std::fmt::Display) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_name", format!("invalid name: {e}"))
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let status = match &e {
            RegistryError::NotFound { .. } => StatusCode::NOT_FOUND,
            RegistryError::Exists { .. }
            | RegistryError::StatusProhibits(_)
            | RegistryError::Association(_)
            | RegistryError::NotRenewable(_)
            | RegistryError::NotTransferable(_)
            | RegistryError::TransferPending(_)
            | RegistryError::NoTransferPending(_) => StatusCode::CONFLICT,
            RegistryError::Authorization(_) | RegistryError::AuthInfo => StatusCode::FORBIDDEN,
            RegistryError::Billing(_) => StatusCode::PAYMENT_REQUIRED,
            RegistryError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Store(store) if store.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Store(_) | RegistryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "registry failure");
        }
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            // Well-formed JSON whose values the types refuse (bad names, unknown statuses, …).
            JsonRejection::JsonDataError(e) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text()),
            other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        (self.status, body).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;
type AppState = State<Arc<AdminState>>;

fn name(text: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(text).map_err(ApiError::bad_name)
}

/// Refused (404) unless this registry serves `tld`.
fn served(snapshot: &crate::store::Snapshot, tld: &DomainName) -> Result<(), ApiError> {
    match snapshot.zone(tld) {
        Some(_) => Ok(()),
        None => Err(RegistryError::not_found(crate::registry::ObjectKind::Tld, tld).into()),
    }
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

fn created(value: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

/// An outcome the endpoint does not expect. It is never written out: stored
/// objects carry secret hashes, and only their views may leave the API.
fn unexpected(outcome: Outcome) -> ApiResult {
    let kind = outcome.kind();
    tracing::error!(outcome = kind, "the operator API got an outcome it does not expect");
    Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("unexpected {kind} outcome")))
}

/// Builds the router.
pub fn router(state: Arc<AdminState>) -> Router {
    let import_limit = state.import_body_bytes_max;
    let api = Router::new()
        .route("/v1/tlds", get(list_tlds).post(create_tld))
        .route("/v1/tlds/{tld}", get(show_tld).patch(update_tld))
        .route("/v1/tlds/{tld}/domains", get(list_domains))
        .route("/v1/tlds/{tld}/export", post(export_zone))
        .route("/v1/tlds/{tld}/escrow", post(escrow_deposit).get(escrow_cursors))
        .route("/v1/tlds/{tld}/reserved", get(list_reserved).post(reserve_names).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/tlds/{tld}/reserved/release", post(release_names).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/tlds/{tld}/premium", get(list_premium).post(set_premium).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/tlds/{tld}/premium/remove", post(remove_premium).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/tlds/{tld}/tokens", get(list_tokens).post(issue_token))
        .route("/v1/tlds/{tld}/phases", get(list_phases).post(add_phase))
        .route(
            "/v1/tlds/{tld}/idn",
            get(show_idn_table).put(set_idn_table).delete(remove_idn_table).layer(DefaultBodyLimit::max(import_limit)),
        )
        .route("/v1/tlds/{tld}/phases/{starts}", axum::routing::delete(remove_phase))
        .route("/v1/tokens/{token}/revoke", post(revoke_token))
        .route("/v1/tlds/{tld}/applications", get(list_applications))
        .route("/v1/applications/{id}/allocate", post(allocate_application))
        .route("/v1/applications/{id}/reject", post(reject_application))
        .route("/v1/tmch", get(show_tmch))
        .route("/v1/tlds/{tld}/gtld", axum::routing::put(set_gtld))
        .route("/v1/tlds/{tld}/lordn/{kind}", get(lordn_file))
        .route("/v1/tmch/{list}", axum::routing::put(load_tmch).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/tlds/{tld}/reports/{month}", get(monthly_reports))
        .route("/v1/tlds/{tld}/reports/{month}/send", post(send_reports))
        .route("/v1/tlds/{tld}/reports/{month}/dns/{server}", axum::routing::put(record_dns_counts))
        .route("/v1/tlds/{tld}/dnssec", get(show_dnssec))
        .route("/v1/tlds/{tld}/dnssec/roll", post(roll_key))
        .route("/v1/tlds/{tld}/dnssec/ds-seen", post(ds_seen))
        .route("/v1/tlds/{tld}/import", post(import_zone).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/escrow/import", post(import_deposit).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/registrars", get(list_registrars).post(create_registrar))
        .route("/v1/registrars/{id}", get(show_registrar).patch(update_registrar))
        .route("/v1/registrars/{id}/funds", post(fund_registrar))
        .route("/v1/registrars/{id}/accreditations", get(list_accreditations).post(accredit))
        .route("/v1/registrars/{id}/ledger", get(registrar_ledger))
        .route("/v1/iana/registrars", get(show_iana_registrars).put(load_iana_registrars).layer(DefaultBodyLimit::max(import_limit)))
        .route("/v1/registrars/{id}/accreditations/{tld}", axum::routing::delete(unaccredit))
        .route("/v1/contacts", post(create_contact))
        .route("/v1/contacts/{id}", get(show_contact).delete(delete_contact))
        .route("/v1/domains", post(create_domain))
        .route("/v1/domains/{name}", get(show_domain).patch(update_domain).delete(delete_domain))
        .route("/v1/hosts", get(list_hosts).post(create_host))
        .route("/v1/hosts/{name}", get(show_host).patch(update_host).delete(delete_host))
        .route("/v1/backups", post(take_backup))
        .route("/v1/status", get(status))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(api)
        .layer(middleware::from_fn(log_request))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
}

/// Serves until `shutdown` turns true.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AdminState>, mut shutdown: watch::Receiver<bool>) {
    let app = router(state);
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "admin API stopped");
    }
}

async fn authenticate(State(state): AppState, headers: HeaderMap, request: Request, next: Next) -> Response {
    if !has_token(&state, &headers) {
        return unauthorized(request.uri().path());
    }
    next.run(request).await
}

fn has_token(state: &AdminState, headers: &HeaderMap) -> bool {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    presented.is_some_and(|p| p.len() == state.token.len() && p.bytes().zip(state.token.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0)
}

fn unauthorized(path: &str) -> Response {
    tracing::warn!(path, "admin API request without a valid token");
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required").into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The Prometheus exposition; without a token unless the config asks for one.
async fn metrics(State(s): AppState, headers: HeaderMap) -> Response {
    let Some(metrics) = s.metrics.clone() else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "metrics are off (admin.metrics = false)").into_response();
    };
    if s.metrics_token_required && !has_token(&s, &headers) {
        return unauthorized("/metrics");
    }
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::ops::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()).into_response(),
    }
}

async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let span = tracing::info_span!("admin", %method, path = %path);
    let response = {
        let _enter = span.enter();
        next.run(request)
    }
    .await;
    tracing::info!(parent: &span, status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Liveness, for supervisors: whether the registry writer runs and the store
/// takes writes. No token, and nothing but the state and its reason.
async fn live(State(s): AppState) -> Response {
    match writer_failure(&s) {
        None => Json(json!({ "status": "live" })).into_response(),
        Some(reason) => unavailable(reason),
    }
}

/// Readiness, for load balancers: live, every listener bound, not shutting
/// down, and no signed zone serving an expired signature (validators would
/// refuse its answers). Signatures due to expire within a day are named
/// as warnings while the server stays ready.
async fn ready(State(s): AppState) -> Response {
    let (expired, warnings) = signature_health(&s.registry.health().signature_expiries(), s.clock.now().unix_seconds());
    match writer_failure(&s) {
        Some(reason) => unavailable(reason),
        None if !s.ready.load(Ordering::Acquire) => unavailable("starting or shutting down".into()),
        None if !expired.is_empty() => unavailable(expired.join("; ")),
        None => Json(json!({ "status": "ready", "warnings": warnings })).into_response(),
    }
}

/// How close to expiry a signature may come before readiness warns: the
/// signature sweep refreshes a week ahead, so a day left means it is stuck.
const SIGNATURE_WARNING_S: i64 = 86_400;

/// The zones whose earliest signature (Unix seconds) has expired at `now`,
/// and those within [`SIGNATURE_WARNING_S`] of it, as messages.
fn signature_health(expiries: &std::collections::BTreeMap<crate::model::DomainName, u32>, now: i64) -> (Vec<String>, Vec<String>) {
    let (mut expired, mut warnings) = (Vec::new(), Vec::new());
    for (tld, expiry) in expiries {
        let left_s = i64::from(*expiry) - now;
        if left_s <= 0 {
            expired.push(format!("a signature of zone {tld} has expired"));
        } else if left_s < SIGNATURE_WARNING_S {
            warnings.push(format!("a signature of zone {tld} expires in {left_s} s"));
        }
    }
    (expired, warnings)
}

/// What `domain-os status` shows: health, the writer, the store, the zones.
async fn status(State(s): AppState) -> ApiResult {
    let snapshot = s.registry.snapshot();
    let objects = snapshot.object_counts().map_err(RegistryError::Store)?;
    let failure = writer_failure(&s);
    let health = s.registry.health();
    let expiries = health.signature_expiries();
    ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "live": failure.is_none(),
        "ready": failure.is_none() && s.ready.load(Ordering::Acquire),
        "reason": failure,
        "writer": {
            "queue_depth": s.registry.queue_depth(),
            "snapshot_age_s": health.snapshot_age().as_secs_f64(),
        },
        "store_bytes": std::fs::metadata(&s.store_path).map(|m| m.len()).ok(),
        "objects": objects,
        "zones": snapshot.zones().iter().map(|z| {
            let expiry = expiries.get(&z.tld.name).map(|e| crate::model::Timestamp::from_unix_seconds(i64::from(*e)));
            json!({ "tld": z.tld.name.to_string(), "serial": z.serial(), "earliest_signature_expiry": expiry })
        }).collect::<Vec<_>>(),
    }))
}

fn writer_failure(s: &AdminState) -> Option<String> {
    let health = s.registry.health();
    (!health.is_live()).then(|| health.store_failure().unwrap_or_else(|| "the registry writer stopped".into()))
}

fn unavailable(reason: String) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": reason }))).into_response()
}

// ------------------------------------------------------------------ TLDs

async fn list_tlds(State(s): AppState) -> ApiResult {
    let snap = s.registry.snapshot();
    ok(snap.zones().iter().map(views::tld).collect::<Vec<_>>())
}

async fn show_tld(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    let zone = snap.zone(&tld).ok_or_else(|| RegistryError::not_found(crate::registry::ObjectKind::Tld, &tld))?;
    ok(views::tld(zone))
}

async fn show_dnssec(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    dnssec_view(&s, name(&tld)?).await
}

async fn dnssec_view(s: &AdminState, tld: DomainName) -> ApiResult {
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let now = s.clock.now().unix_seconds().clamp(0, u32::MAX as i64) as u32;
    let signing = snap.zone_signing(&tld).map_err(RegistryError::from)?;
    let clean = signing.as_ref().and_then(|signing| s.registry.health().clean_pass(&tld, &signing.active_signers()));
    // Reading every signature of a large zone takes a while: off the runtime.
    let view = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, RegistryError> {
        let zone = snap.zone(&tld).expect("checked above");
        let earliest = match &signing {
            Some(_) => snap.earliest_signature_expiry(zone, now)?,
            None => None,
        };
        Ok(views::dnssec(zone, signing.as_ref(), earliest, clean))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    ok(view)
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RollWhat {
    Zsk,
    Ksk,
    /// Every key at once: a new KSK and ZSK, of `algorithm` if given.
    All,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Roll {
    key: RollWhat,
    algorithm: Option<u8>,
}

async fn roll_key(State(s): AppState, Path(tld): Path<String>, body: Result<Json<Roll>, JsonRejection>) -> ApiResult {
    use crate::model::dnssec::KeyRole;
    use crate::model::rollover::Roll as Rolled;
    let Json(roll) = body?;
    let tld = name(&tld)?;
    let rolled = match (roll.key, roll.algorithm) {
        (RollWhat::All, algorithm) => Rolled::KeySet { algorithm },
        (RollWhat::Zsk, None) => Rolled::Key(KeyRole::Zsk),
        (RollWhat::Ksk, None) => Rolled::Key(KeyRole::Ksk),
        (_, Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "an algorithm changes only by rolling every key (\"key\": \"all\")",
            ));
        }
    };
    s.registry.execute(Command::RollKey { tld: tld.clone(), roll: rolled }).await?;
    dnssec_view(&s, tld).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsSeen {
    key_tag: u16,
}

async fn ds_seen(State(s): AppState, Path(tld): Path<String>, body: Result<Json<DsSeen>, JsonRejection>) -> ApiResult {
    let Json(seen) = body?;
    let tld = name(&tld)?;
    s.registry.execute(Command::DsSeen { tld: tld.clone(), key_tag: seen.key_tag }).await?;
    dnssec_view(&s, tld).await
}

async fn create_tld(State(s): AppState, body: Result<Json<TldSpec>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::CreateTld(spec)).await? {
        Outcome::Tld(t) => created(views::tld_record(&t)),
        other => unexpected(other),
    }
}

async fn update_tld(State(s): AppState, Path(tld): Path<String>, body: Result<Json<TldSpec>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::UpdateTld(name(&tld)?, spec)).await? {
        Outcome::Tld(t) => ok(views::tld_record(&t)),
        other => unexpected(other),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

impl Page {
    fn parts(&self) -> Result<(Option<DomainName>, usize), ApiError> {
        let after = self.after.as_deref().map(name).transpose()?;
        Ok((after, self.limit.unwrap_or(100).clamp(1, LIST_LIMIT_MAX)))
    }
}

async fn list_domains(State(s): AppState, Path(tld): Path<String>, page: Result<Query<Page>, QueryRejection>) -> ApiResult {
    let Query(page) = page?;
    let (after, limit) = page.parts()?;
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    let domains = snap.domains(&tld, after.as_ref(), limit).map_err(RegistryError::from)?;
    let mut out = Vec::with_capacity(domains.len());
    for d in &domains {
        out.push(views::domain(&snap, d, s.clock.now())?);
    }
    ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    #[serde(default)]
    format: Format,
}

async fn export_zone(State(s): AppState, Path(tld): Path<String>, q: Result<Query<ExportQuery>, QueryRejection>) -> ApiResult {
    let Query(q) = q?;
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let dir = s.zones_dir.clone();
    let summary = tokio::task::spawn_blocking(move || zonefile::export(&snap, &tld, q.format, &dir, &mut |_| {}))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    ok(summary)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscrowRequest {
    /// `full` (escrow, to the agent) or `brda` (bulk registration data, to ICANN).
    r#type: String,
    /// Also leave the plain XML beside the deposit.
    #[serde(default)]
    keep_xml: bool,
}

/// A FULL or BRDA RyDE deposit of the TLD from the latest commit, as of now.
async fn escrow_deposit(State(s): AppState, Path(tld): Path<String>, body: Result<Json<EscrowRequest>, JsonRejection>) -> ApiResult {
    let Json(request) = body?;
    let tld = name(&tld)?;
    let (kind, keys, needs) = match request.r#type.as_str() {
        "full" => (crate::escrow::DepositKind::Full, s.escrow_keys.clone(), "agent_cert"),
        "diff" => (crate::escrow::DepositKind::Diff, s.escrow_keys.clone(), "agent_cert"),
        "brda" => (crate::escrow::DepositKind::Brda, s.brda_keys.clone(), "brda_cert"),
        _ => return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "\"type\" is \"full\", \"diff\" or \"brda\"")),
    };
    let keys = keys.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            format!("this deposit needs [escrow] {needs} and signing_key in the configuration"),
        )
    })?;
    served(&s.registry.snapshot(), &tld)?;
    let made =
        crate::escrow::schedule::make(&s.registry, s.clock.as_ref(), kind, tld, keys, s.escrow_folder.clone(), request.keep_xml).await;
    match made {
        Ok(deposit) => created(deposit),
        Err(e @ crate::escrow::EscrowError::NoBase) => Err(ApiError::new(StatusCode::CONFLICT, "no_base", e.to_string())),
        Err(e @ crate::escrow::EscrowError::DiffMade(_)) => Err(ApiError::new(StatusCode::CONFLICT, "diff_made", e.to_string())),
        Err(e) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())),
    }
}

/// The last escrow deposit and BRDA made of a TLD (the schedule's cursors).
async fn escrow_cursors(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let escrow = snap.escrow_cursor(&tld, "full").map_err(RegistryError::from)?;
    let brda = snap.escrow_cursor(&tld, "thin").map_err(RegistryError::from)?;
    let passes = s.escrow_passes.as_ref().map(|p| p.load(std::sync::atomic::Ordering::Acquire));
    ok(json!({ "escrow": escrow, "brda": brda, "schedule_passes": passes }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRequest {
    /// The file as the TMCH publishes it: PEM for `ca` and `crl`, CSV for
    /// `dnl` and `smdrl`.
    text: String,
}

/// Loads what the TMCH publishes: its CA certificate (`ca`), the CA's
/// revocation list (`crl`), the DNL (`dnl`) or the SMD revocation list
/// (`smdrl`); each replaces the one held. A new CA certificate drops the
/// revocation list of the old one.
async fn load_tmch(State(s): AppState, Path(list): Path<String>, body: Result<Json<FileRequest>, JsonRejection>) -> ApiResult {
    let Json(FileRequest { text }) = body.map_err(ApiError::from)?;
    let bad = |code: &'static str, problems: Vec<String>| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, problems.join("; "));
    let now = s.clock.now();
    let held = s.registry.snapshot().tmch_trust().map_err(RegistryError::from)?;
    let command = match list.as_str() {
        "ca" => {
            crate::tmch::ca_certificates(&text).map_err(|e| bad("bad_certificate", vec![e]))?;
            let crl_pem = held.filter(|t| t.ca_pem == text).and_then(|t| t.crl_pem);
            Command::SetTmchTrust(crate::model::tmch::TmchTrust { ca_pem: text, crl_pem, loaded: now })
        }
        "crl" => {
            crate::tmch::revocation_list(&text).map_err(|e| bad("bad_crl", vec![e]))?;
            let held = held.ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no_ca", "load the TMCH CA certificate first"))?;
            Command::SetTmchTrust(crate::model::tmch::TmchTrust { crl_pem: Some(text), loaded: now, ..held })
        }
        "dnl" => Command::ReplaceDnl(crate::model::tmch::parse_dnl(&text).map_err(|p| bad("bad_dnl", p))?),
        "smdrl" => Command::ReplaceSmdrl(crate::model::tmch::parse_smdrl(&text).map_err(|p| bad("bad_smdrl", p))?),
        other => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{other:?} is not ca, crl, dnl or smdrl"))),
    };
    s.registry.execute(command).await?;
    show_tmch(State(s)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LordnPeriod {
    from: Option<crate::model::Timestamp>,
    to: Option<crate::model::Timestamp>,
}

/// A LORDN file of `tld` for the TMCH: the `sunrise` or `claims`
/// registrations made from `from` (the beginning) until `to` (now).
async fn lordn_file(
    State(s): AppState,
    Path((tld, kind)): Path<(String, String)>,
    period: Result<Query<LordnPeriod>, QueryRejection>,
) -> ApiResult {
    let Query(period) = period?;
    let tld = name(&tld)?;
    let sunrise = match kind.as_str() {
        "sunrise" => true,
        "claims" => false,
        other => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{other:?} is not sunrise or claims"))),
    };
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let now = s.clock.now();
    let registrations = snap
        .launch_registrations(&tld, period.from.unwrap_or(crate::model::Timestamp(i64::MIN)), period.to.unwrap_or(now))
        .map_err(RegistryError::from)?;
    let mut rows = Vec::new();
    for r in registrations.into_iter().filter(|r| r.sunrise == sunrise) {
        let iana_id = snap.registrar(&r.registrar).map_err(RegistryError::from)?.and_then(|reg| reg.iana_id).ok_or_else(|| {
            ApiError::new(StatusCode::CONFLICT, "no_iana_id", format!("registrar {} has no IANA id, which LORDN rows carry", r.registrar))
        })?;
        rows.push((r, iana_id));
    }
    let stamp: String = now.to_rfc3339_seconds().chars().filter(char::is_ascii_alphanumeric).collect();
    ok(json!({
        "file_name": format!("{tld}-{kind}-{stamp}.csv"),
        "rows": rows.len(),
        "csv": crate::model::tmch::lordn(sunrise, &rows, now),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GtldRequest {
    gtld: bool,
}

/// Makes a TLD a gTLD (only IANA-accredited registrars act on it), or not.
async fn set_gtld(State(s): AppState, Path(tld): Path<String>, body: Result<Json<GtldRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(GtldRequest { gtld }) = body.map_err(ApiError::from)?;
    s.registry.execute(Command::SetGtld { tld: tld.clone(), gtld }).await?;
    ok(json!({ "tld": tld, "gtld": gtld }))
}

/// What the registry holds of the TMCH's data.
async fn show_tmch(State(s): AppState) -> ApiResult {
    let snap = s.registry.snapshot();
    let trust = snap.tmch_trust().map_err(RegistryError::from)?;
    let (dnl, smdrl) = snap.tmch_list_sizes().map_err(RegistryError::from)?;
    let certificates = trust.as_ref().map_or(0, |t| crate::tmch::ca_certificates(&t.ca_pem).map_or(0, |c| c.len()));
    ok(json!({
        "ca_certificates": certificates,
        "crl": trust.as_ref().is_some_and(|t| t.crl_pem.is_some()),
        "trust_loaded": trust.map(|t| t.loaded),
        "dnl_labels": dnl,
        "revoked_marks": smdrl,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveRequest {
    /// Labels or names directly below the TLD.
    names: Vec<String>,
    #[serde(default = "withheld")]
    state: crate::model::reserved::NameState,
    reason: String,
    #[serde(default = "operator_list")]
    list: String,
}

fn withheld() -> crate::model::reserved::NameState {
    crate::model::reserved::NameState::Withheld
}

fn operator_list() -> String {
    "operator".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    names: Vec<String>,
}

fn names_under(tld: &DomainName, names: &[String]) -> Result<Vec<DomainName>, ApiError> {
    let mut parsed = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for entry in names {
        match crate::model::reserved::name_under(entry.trim(), tld) {
            Ok(name) => parsed.push(name),
            Err(e) if problems.len() < 20 => problems.push(e),
            Err(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_names", problems.join("; ")));
    }
    Ok(parsed)
}

/// Reserves names of a TLD (withheld or blocked): all of them, or none.
async fn reserve_names(State(s): AppState, Path(tld): Path<String>, body: Result<Json<ReserveRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(request) = body.map_err(ApiError::from)?;
    let names = names_under(&tld, &request.names)?;
    let spec = ReserveNames { tld, names, state: request.state, reason: request.reason, list: request.list };
    match s.registry.execute(Command::Reserve(spec)).await? {
        Outcome::Names { names, already } => ok(json!({ "reserved": names, "already_reserved": already })),
        other => unexpected(other),
    }
}

/// Ends the reservations of names of a TLD.
async fn release_names(State(s): AppState, Path(tld): Path<String>, body: Result<Json<ReleaseRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(request) = body.map_err(ApiError::from)?;
    let names = names_under(&tld, &request.names)?;
    match s.registry.execute(Command::Unreserve { tld, names }).await? {
        Outcome::Names { names, already } => ok(json!({ "released": names, "not_reserved": already })),
        other => unexpected(other),
    }
}

/// A page of a TLD's reserved names, in canonical order.
async fn list_reserved(State(s): AppState, Path(tld): Path<String>, page: Result<Query<Page>, QueryRejection>) -> ApiResult {
    let Query(page) = page?;
    let (after, limit) = page.parts()?;
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let names = snap.reserved_in(&tld, after.as_ref(), limit).map_err(RegistryError::from)?;
    ok(json!({ "names": names }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PremiumEntry {
    /// A label or a name directly below the TLD.
    name: String,
    #[serde(default = "premium_class")]
    class: String,
    create: crate::model::Money,
    renew: crate::model::Money,
    /// Defaults to the renewal price.
    transfer: Option<crate::model::Money>,
}

fn premium_class() -> String {
    "premium".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PremiumRequest {
    names: Vec<PremiumEntry>,
}

/// Prices names of a TLD as premium names: all of them, or none.
async fn set_premium(State(s): AppState, Path(tld): Path<String>, body: Result<Json<PremiumRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(request) = body.map_err(ApiError::from)?;
    let labels: Vec<String> = request.names.iter().map(|e| e.name.clone()).collect();
    let parsed = names_under(&tld, &labels)?;
    let names = request
        .names
        .into_iter()
        .zip(parsed)
        .map(|(e, name)| crate::model::premium::PremiumName {
            name,
            tld: tld.clone(),
            class: e.class,
            prices: crate::model::lifecycle::PremiumPrices { create: e.create, renew: e.renew, transfer: e.transfer.unwrap_or(e.renew) },
        })
        .collect();
    match s.registry.execute(Command::SetPremium { tld, names }).await? {
        Outcome::Names { names, already } => ok(json!({ "priced": names, "repriced": already })),
        other => unexpected(other),
    }
}

/// Gives names of a TLD their standard prices again.
async fn remove_premium(State(s): AppState, Path(tld): Path<String>, body: Result<Json<ReleaseRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(request) = body.map_err(ApiError::from)?;
    let names = names_under(&tld, &request.names)?;
    match s.registry.execute(Command::RemovePremium { tld, names }).await? {
        Outcome::Names { names, already } => ok(json!({ "removed": names, "not_premium": already })),
        other => unexpected(other),
    }
}

/// A page of a TLD's premium names and their prices, in canonical order.
async fn list_premium(State(s): AppState, Path(tld): Path<String>, page: Result<Query<Page>, QueryRejection>) -> ApiResult {
    let Query(page) = page?;
    let (after, limit) = page.parts()?;
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let names = snap.premium_in(&tld, after.as_ref(), limit).map_err(RegistryError::from)?;
    ok(json!({ "names": names }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    /// The token's text; a random one when absent.
    token: Option<String>,
    /// A label or a name directly below the TLD.
    name: Option<String>,
    registrar: Option<ClientId>,
    #[serde(default = "one_use")]
    uses: u32,
    create_price: Option<crate::model::Money>,
    expires: Option<crate::model::Timestamp>,
}

fn one_use() -> u32 {
    1
}

/// Issues an allocation token (RFC 8495) of a TLD.
async fn issue_token(State(s): AppState, Path(tld): Path<String>, body: Result<Json<TokenRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(request) = body.map_err(ApiError::from)?;
    let bound = request.name.map(|n| names_under(&tld, &[n])).transpose()?.and_then(|mut v| v.pop());
    let text = match request.token {
        Some(t) => t,
        None => crate::model::token::generate().map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?,
    };
    let token = crate::model::token::AllocationToken {
        token: text,
        tld,
        name: bound,
        registrar: request.registrar,
        uses_max: request.uses,
        uses: 0,
        create_price: request.create_price,
        expires: request.expires,
        revoked: false,
        created: s.clock.now(),
    };
    s.registry.execute(Command::IssueToken(token.clone())).await?;
    created(token)
}

/// A TLD's allocation tokens.
async fn list_tokens(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    ok(json!({ "tokens": snap.tokens(&tld).map_err(RegistryError::from)? }))
}

/// Revokes an allocation token: it allows nothing more.
async fn revoke_token(State(s): AppState, Path(token): Path<String>) -> ApiResult {
    s.registry.execute(Command::RevokeToken(token.clone())).await?;
    ok(json!({ "token": token, "revoked": true }))
}

/// A TLD's launch applications, oldest first.
async fn list_applications(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    ok(json!({ "applications": snap.applications(&tld).map_err(RegistryError::from)? }))
}

/// Allocates a name to one of its launch applications, once its phase is over.
async fn allocate_application(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    application_decided(s.registry.execute(Command::AllocateApplication(id)).await?)
}

/// Rejects a launch application.
async fn reject_application(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    application_decided(s.registry.execute(Command::RejectApplication(id)).await?)
}

fn application_decided(outcome: crate::registry::Outcome) -> ApiResult {
    match outcome {
        crate::registry::Outcome::Application(a, _) => ok(json!({ "application": a })),
        other => Err(RegistryError::Invalid(format!("unexpected outcome {}", other.kind())).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdnRequest {
    /// The table's id (`sv-1.0`).
    id: String,
    /// The RFC 7940 LGR document.
    lgr: String,
    policy: crate::model::idn::VariantPolicy,
    #[serde(default)]
    idn_only: bool,
    /// Where the table is published, and the registry's IDN policy (escrow names both).
    url: Option<String>,
    url_policy: Option<String>,
}

/// Sets a TLD's IDN table from an LGR document.
async fn set_idn_table(State(s): AppState, Path(tld): Path<String>, body: Result<Json<IdnRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(r) = body.map_err(ApiError::from)?;
    let (repertoire, variants) =
        crate::model::idn::parse_lgr(&r.lgr).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_lgr", e))?;
    for url in [&r.url, &r.url_policy].into_iter().flatten() {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 || url.chars().any(char::is_whitespace) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_url", format!("{url:?} is not an http(s) URL")));
        }
    }
    let table = crate::model::idn::IdnTable {
        tld,
        id: r.id,
        repertoire,
        variants,
        policy: r.policy,
        idn_only: r.idn_only,
        url: r.url,
        url_policy: r.url_policy,
    };
    s.registry.execute(Command::SetIdnTable(table.clone())).await?;
    ok(idn_summary(&table))
}

fn idn_summary(t: &crate::model::idn::IdnTable) -> serde_json::Value {
    let code_points: u64 = t.repertoire.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
    json!({ "tld": t.tld, "id": t.id, "policy": t.policy, "idn_only": t.idn_only, "code_points": code_points, "variant_pairs": t.variants.len() })
}

/// A TLD's IDN table, in short.
async fn show_idn_table(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    match s.registry.snapshot().idn_table(&tld).map_err(RegistryError::from)? {
        Some(t) => ok(idn_summary(&t)),
        None => Err(RegistryError::not_found(crate::registry::ObjectKind::Tld, format!("IDN table of {tld}")).into()),
    }
}

async fn remove_idn_table(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    s.registry.execute(Command::RemoveIdnTable(tld.clone())).await?;
    ok(json!({ "tld": tld, "idn_table": null }))
}

/// A phase as the API takes it: its dates and create price, and its terms
/// (`model::phase::PhaseTerms`) beside them in the same object.
#[derive(Deserialize)]
struct PhaseRequest {
    kind: crate::model::phase::PhaseKind,
    name: Option<String>,
    starts: crate::model::Timestamp,
    ends: Option<crate::model::Timestamp>,
    create_price: Option<crate::model::Money>,
    #[serde(flatten)]
    terms: crate::model::phase::PhaseTerms,
    /// What neither took: refused, as the other requests refuse unknown fields.
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Adds a phase to a TLD's launch timeline.
async fn add_phase(State(s): AppState, Path(tld): Path<String>, body: Result<Json<PhaseRequest>, JsonRejection>) -> ApiResult {
    let tld = name(&tld)?;
    let Json(r) = body.map_err(ApiError::from)?;
    if let Some(field) = r.unknown.keys().next() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("unknown field `{field}`")));
    }
    let phase = crate::model::phase::Phase {
        tld,
        kind: r.kind,
        name: r.name,
        starts: r.starts,
        ends: r.ends,
        create_price: r.create_price,
        terms: r.terms,
    };
    s.registry.execute(Command::AddPhase(phase.clone())).await?;
    created(json!({ "phase": phase }))
}

/// A TLD's launch timeline, and the phase running now.
async fn list_phases(State(s): AppState, Path(tld): Path<String>) -> ApiResult {
    let tld = name(&tld)?;
    let snap = s.registry.snapshot();
    served(&snap, &tld)?;
    let phases = snap.phases(&tld).map_err(RegistryError::from)?;
    let at = s.clock.now();
    let now = match crate::model::phase::standing(&phases, at) {
        crate::model::phase::Standing::Open => json!("open"),
        crate::model::phase::Standing::Closed => json!("closed"),
        crate::model::phase::Standing::In(p) => json!(p.name.clone().unwrap_or_else(|| p.kind.as_str().to_string())),
    };
    let mut listed = Vec::new();
    for p in &phases {
        let mut entry = json!(p);
        if !p.terms.daily_create_prices.is_empty() {
            entry["create_price_today"] = json!(p.create_price_on(at));
        }
        listed.push(entry);
    }
    ok(json!({ "phases": listed, "now": now }))
}

/// Removes a phase that has not begun.
async fn remove_phase(State(s): AppState, Path((tld, starts)): Path<(String, String)>) -> ApiResult {
    let tld = name(&tld)?;
    let starts = crate::model::Timestamp::parse_rfc3339(&starts)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", format!("{starts:?}: {e}")))?;
    s.registry.execute(Command::RemovePhase { tld: tld.clone(), starts }).await?;
    ok(json!({ "tld": tld, "removed": starts }))
}

fn client_id(text: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(text).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccreditRequest {
    tld: String,
    /// The currency the registrar pays in, one the TLD takes (none: the TLD's).
    #[serde(default)]
    currency: Option<String>,
}

/// Lets a registrar act on a TLD, paying in the currency named (again: changes it).
async fn accredit(State(s): AppState, Path(id): Path<String>, body: Result<Json<AccreditRequest>, JsonRejection>) -> ApiResult {
    let Json(request) = body.map_err(ApiError::from)?;
    let (registrar, tld) = (client_id(&id)?, name(&request.tld)?);
    if let Some(c) = &request.currency {
        crate::model::ledger::check_currency(c).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_currency", e))?;
    }
    let command = Command::Accredit { registrar: registrar.clone(), tld: tld.clone(), currency: request.currency };
    s.registry.execute(command).await?;
    list_accreditations(State(s), Path(id)).await
}

/// Ends a registrar's accreditation for a TLD.
async fn unaccredit(State(s): AppState, Path((id, tld)): Path<(String, String)>) -> ApiResult {
    let (registrar, tld) = (client_id(&id)?, name(&tld)?);
    s.registry.execute(Command::Unaccredit { registrar: registrar.clone(), tld: tld.clone() }).await?;
    ok(json!({ "registrar": registrar, "tld": tld, "accredited": false }))
}

/// The TLDs a registrar is accredited for.
/// Loads IANA's registrar list (its CSV as published), in place of the one held.
async fn load_iana_registrars(State(s): AppState, body: Result<Json<FileRequest>, JsonRejection>) -> ApiResult {
    let Json(FileRequest { text }) = body.map_err(ApiError::from)?;
    let list =
        crate::model::iana::parse_csv(&text).map_err(|p| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_iana_list", p.join("; ")))?;
    s.registry.execute(Command::ReplaceIanaRegistrars(list)).await?;
    show_iana_registrars(State(s)).await
}

/// How many registrars IANA's list holds, and this registry's registrars
/// whose IANA id it does not accredit.
async fn show_iana_registrars(State(s): AppState) -> ApiResult {
    let snap = s.registry.snapshot();
    let list = snap.iana_registrars().map_err(RegistryError::from)?.unwrap_or_default();
    let mut not_accredited = Vec::new();
    if !list.is_empty() {
        for r in snap.registrars().map_err(RegistryError::from)? {
            if let Some(Err(why)) = r.iana_id.map(|id| crate::model::iana::check_id(&list, id)) {
                not_accredited.push(json!({ "registrar": r.id, "why": why }));
            }
        }
    }
    ok(json!({ "registrars": list.len(), "not_accredited": not_accredited }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerPage {
    after: Option<u64>,
    limit: Option<usize>,
}

/// A page of a registrar's account history, oldest first: the entries
/// after sequence number `after`.
async fn registrar_ledger(State(s): AppState, Path(id): Path<String>, page: Result<Query<LedgerPage>, QueryRejection>) -> ApiResult {
    let Query(page) = page?;
    let registrar = client_id(&id)?;
    let snap = s.registry.snapshot();
    if snap.registrar(&registrar).map_err(RegistryError::from)?.is_none() {
        return Err(RegistryError::not_found(crate::registry::ObjectKind::Registrar, &registrar).into());
    }
    let limit = page.limit.unwrap_or(100).clamp(1, crate::model::ledger::LEDGER_PAGE_MAX);
    let entries = snap.ledger(&registrar, page.after, limit).map_err(RegistryError::from)?;
    ok(json!({ "registrar": registrar, "entries": entries }))
}

async fn list_accreditations(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    let registrar = client_id(&id)?;
    let snap = s.registry.snapshot();
    if snap.registrar(&registrar).map_err(RegistryError::from)?.is_none() {
        return Err(RegistryError::not_found(crate::registry::ObjectKind::Registrar, &registrar).into());
    }
    let (mut tlds, mut accreditations) = (Vec::new(), Vec::new());
    for zone in snap.zones() {
        if let Some(a) = snap.accreditation(&zone.tld.name, &registrar).map_err(RegistryError::from)? {
            let currency = a.currency.unwrap_or_else(|| zone.tld.registration.currency.clone());
            accreditations.push(json!({ "tld": zone.tld.name, "since": a.since, "currency": currency }));
            tlds.push(zone.tld.name.clone());
        }
    }
    ok(json!({ "registrar": registrar, "tlds": tlds, "accreditations": accreditations }))
}

fn report_month(tld: &str, month: &str, s: &AdminState) -> Result<(DomainName, crate::model::report::Month), ApiError> {
    let tld = name(tld)?;
    served(&s.registry.snapshot(), &tld)?;
    let month = crate::model::report::Month::parse(month)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "bad_month", format!("{month:?} is not a month (YYYY-MM)")))?;
    Ok((tld, month))
}

fn report_error(e: crate::report::ReportError) -> ApiError {
    match e {
        crate::report::ReportError::Store(e) => RegistryError::from(e).into(),
        e @ crate::report::ReportError::NoTld(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        e @ crate::report::ReportError::Future(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "future_month", e.to_string()),
    }
}

/// Both monthly reports of a TLD (RA Specification 3), as they are now,
/// and whether ICANN accepted them.
async fn monthly_reports(State(s): AppState, Path((tld, month)): Path<(String, String)>) -> ApiResult {
    let (tld, month) = report_month(&tld, &month, &s)?;
    let reports =
        crate::report::schedule::make_both(&s.registry, &tld, month, &s.reports.settings(), s.clock.now()).map_err(report_error)?;
    let snapshot = s.registry.snapshot();
    let mut out = serde_json::Map::new();
    for (kind, report) in reports {
        let accepted = crate::report::schedule::accepted(&snapshot, &tld, month, kind).map_err(report_error)?;
        out.insert(kind.as_str().into(), json!({ "file_name": report.file_name, "csv": report.csv, "accepted": accepted }));
    }
    out.insert("schedule_passes".into(), json!(s.report_passes.as_ref().map(|p| p.load(std::sync::atomic::Ordering::Acquire))));
    ok(out)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    /// Send reports ICANN accepted already, too.
    #[serde(default)]
    again: bool,
}

/// Sends a month's reports to ICANN (those not accepted yet, or all when
/// asked again); 502 with ICANN's answers when one is not accepted.
async fn send_reports(State(s): AppState, Path((tld, month)): Path<(String, String)>, body: Bytes) -> ApiResult {
    let (tld, month) = report_month(&tld, &month, &s)?;
    let request: SendRequest = if body.is_empty() {
        SendRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?
    };
    let Some(icann) = &s.reports.icann else {
        return Err(ApiError::new(StatusCode::CONFLICT, "no_icann", "[reports] icann is not configured"));
    };
    let now = s.clock.now();
    crate::report::schedule::take_totals(&s.registry, &tld, month, now).await.map_err(report_error)?;
    let mut results = serde_json::Map::new();
    let mut refused = Vec::new();
    for (kind, report) in crate::report::schedule::make_both(&s.registry, &tld, month, &s.reports.settings(), now).map_err(report_error)? {
        let accepted = crate::report::schedule::accepted(&s.registry.snapshot(), &tld, month, kind).map_err(report_error)?;
        let result = if accepted.is_some() && !request.again {
            "accepted before".to_string()
        } else {
            match crate::report::schedule::send(&s.registry, icann, &tld, month, kind, &report, now).await {
                Ok(()) => "accepted".to_string(),
                Err(e) => {
                    refused.push(format!("{}: {e}", kind.as_str()));
                    e.to_string()
                }
            }
        };
        results.insert(kind.as_str().into(), json!(result));
    }
    if !refused.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, "not_accepted", refused.join("; ")));
    }
    ok(results)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsCounts {
    udp_received: u64,
    udp_responded: u64,
    tcp_received: u64,
    tcp_responded: u64,
}

/// Records a month's DNS query counts of a name server the registry does
/// not run (an external secondary); they add to the activity report's.
async fn record_dns_counts(
    State(s): AppState,
    Path((tld, month, server)): Path<(String, String, String)>,
    body: Result<Json<DnsCounts>, JsonRejection>,
) -> ApiResult {
    let (tld, month) = report_month(&tld, &month, &s)?;
    let Json(counts) = body.map_err(ApiError::from)?;
    let server = name(&server)?;
    let object = format!("dns-secondary:{server}");
    let values = [counts.udp_received, counts.udp_responded, counts.tcp_received, counts.tcp_responded];
    let keys: Vec<(String, u64)> = crate::report::DNS_COUNTS
        .iter()
        .zip(values)
        .map(|(n, v)| (crate::report::counter_key(month, tld.as_str(), "", &object, n), v))
        .collect();
    s.registry.execute(Command::SetCounts(keys)).await?;
    ok(
        json!({ "tld": tld, "month": month.to_string(), "server": server, "udp_received": values[0], "udp_responded": values[1], "tcp_received": values[2], "tcp_responded": values[3] }),
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    /// The file to write; without it, a time-named file in the backup folder.
    to: Option<PathBuf>,
}

/// A backup of the latest commit while everything keeps serving; 409 while another runs.
async fn take_backup(State(s): AppState, body: Bytes) -> ApiResult {
    let request: BackupRequest = if body.is_empty() {
        BackupRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?
    };
    match s.backups.take(request.to).await {
        Ok(report) => created(report),
        Err(BackupError::Busy) => Err(ApiError::new(StatusCode::CONFLICT, "backup_running", "a backup is already running")),
        Err(BackupError::Store(e)) => Err(RegistryError::from(e).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    registrar: String,
    period_years: Option<u32>,
    #[serde(default)]
    apex_from_file: bool,
}

async fn import_zone(State(s): AppState, Path(tld): Path<String>, q: Result<Query<ImportQuery>, QueryRejection>, body: Bytes) -> ApiResult {
    let Query(q) = q?;
    let tld = name(&tld)?;
    let registrar =
        ClientId::parse(&q.registrar).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))?;
    let apex = tld.clone();
    let parsed = tokio::task::spawn_blocking(move || zonefile::parse_for_import(&apex, body.as_ref()))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(errors) => {
            let body = json!({ "error": { "code": "bad_zone_file", "message": format!("{} problem(s) in the zone file; nothing was imported", errors.len()), "lines": errors } });
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
    };
    let import = parsed.into_import(tld, registrar, q.period_years.unwrap_or(1), q.apex_from_file);
    match s.registry.execute(Command::Import(Box::new(import))).await? {
        Outcome::Imported(summary) => ok(summary),
        other => unexpected(other),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositImportQuery {
    /// Apex name servers, comma-separated, for a TLD the import creates.
    ns: Option<String>,
}

/// Loads a registry deposit (its plain RFC 9022 XML) through the writer.
async fn import_deposit(State(s): AppState, q: Result<Query<DepositImportQuery>, QueryRejection>, body: Bytes) -> ApiResult {
    let Query(q) = q?;
    let nameservers = q.ns.iter().flat_map(|ns| ns.split(',')).filter(|n| !n.is_empty()).map(name).collect::<Result<Vec<_>, _>>()?;
    let parsed = tokio::task::spawn_blocking(move || crate::escrow::import::parse(body.as_ref()))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let import = match parsed {
        Ok(import) => import,
        Err(crate::escrow::import::ImportError::Objects(problems)) => {
            let body = json!({ "error": { "code": "bad_deposit", "message": format!("{} problem(s) in the deposit; nothing was imported", problems.total), "problems": problems.problems } });
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
        Err(e) => return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_deposit", e.to_string())),
    };
    let import = crate::registry::import_data::DepositImport { nameservers, ..import };
    match s.registry.execute(Command::ImportDeposit(Box::new(import))).await? {
        Outcome::DepositImported(summary) => ok(summary),
        other => unexpected(other),
    }
}

// ------------------------------------------------------------------ registrars

async fn list_registrars(State(s): AppState) -> ApiResult {
    let registrars = s.registry.snapshot().registrars().map_err(RegistryError::from)?;
    ok(registrars.iter().map(views::registrar).collect::<Vec<_>>())
}

async fn show_registrar(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    let id = ClientId::parse(&id).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))?;
    let r = s
        .registry
        .snapshot()
        .registrar(&id)
        .map_err(RegistryError::from)?
        .ok_or_else(|| RegistryError::not_found(crate::registry::ObjectKind::Registrar, &id))?;
    ok(views::registrar(&r))
}

async fn create_registrar(State(s): AppState, body: Result<Json<RegistrarSpec>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::CreateRegistrar(spec)).await? {
        Outcome::Registrar(r) => created(views::registrar(&r)),
        other => unexpected(other),
    }
}

async fn update_registrar(State(s): AppState, Path(id): Path<String>, body: Result<Json<RegistrarSpec>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    let id = ClientId::parse(&id).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))?;
    match s.registry.execute(Command::UpdateRegistrar(id, spec)).await? {
        Outcome::Registrar(r) => ok(views::registrar(&r)),
        other => unexpected(other),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Funds {
    /// Added to the balance (negative to take funds away), e.g. `"100.00"`.
    amount: crate::model::Money,
    /// The account's ISO 4217 code; by default, the currency of the
    /// registrar's TLDs.
    currency: Option<String>,
}

async fn fund_registrar(State(s): AppState, Path(id): Path<String>, body: Result<Json<Funds>, JsonRejection>) -> ApiResult {
    let Json(funds) = body?;
    let id = ClientId::parse(&id).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))?;
    match s.registry.execute(Command::Fund(id, funds.currency, funds.amount)).await? {
        Outcome::Registrar(r) => ok(views::registrar(&r)),
        other => unexpected(other),
    }
}

// ------------------------------------------------------------------ contacts

fn contact_id(text: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(text).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_identifier", e.to_string()))
}

async fn create_contact(State(s): AppState, body: Result<Json<CreateContact>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::CreateContact(spec)).await? {
        Outcome::Contact(c) => created(views::contact(&c)),
        other => unexpected(other),
    }
}

async fn show_contact(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    let id = contact_id(&id)?;
    let c = s
        .registry
        .snapshot()
        .contact(&id)
        .map_err(RegistryError::from)?
        .ok_or_else(|| RegistryError::not_found(crate::registry::ObjectKind::Contact, &id))?;
    ok(views::contact(&c))
}

async fn delete_contact(State(s): AppState, Path(id): Path<String>) -> ApiResult {
    s.registry.execute(Command::DeleteContact(contact_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------ domains

async fn show_domain(State(s): AppState, Path(domain): Path<String>) -> ApiResult {
    let domain = name(&domain)?;
    let snap = s.registry.snapshot();
    let d = snap
        .domain(&domain)
        .map_err(RegistryError::from)?
        .ok_or_else(|| RegistryError::not_found(crate::registry::ObjectKind::Domain, &domain))?;
    ok(views::domain(&snap, &d, s.clock.now())?)
}

async fn create_domain(State(s): AppState, body: Result<Json<CreateDomain>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::CreateDomain(spec)).await? {
        Outcome::Domain(d) => {
            Ok((StatusCode::CREATED, Json(views::domain(&s.registry.snapshot(), &d.domain, s.clock.now())?)).into_response())
        }
        other => unexpected(other),
    }
}

async fn update_domain(State(s): AppState, Path(domain): Path<String>, body: Result<Json<UpdateDomain>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::UpdateDomain(name(&domain)?, spec)).await? {
        Outcome::Domain(d) => ok(views::domain(&s.registry.snapshot(), &d.domain, s.clock.now())?),
        other => unexpected(other),
    }
}

async fn delete_domain(State(s): AppState, Path(domain): Path<String>) -> ApiResult {
    s.registry.execute(Command::DeleteDomain(name(&domain)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------ hosts

async fn list_hosts(State(s): AppState, page: Result<Query<Page>, QueryRejection>) -> ApiResult {
    let Query(page) = page?;
    let (after, limit) = page.parts()?;
    let hosts = s.registry.snapshot().hosts(after.as_ref(), limit).map_err(RegistryError::from)?;
    ok(hosts.iter().map(views::host).collect::<Vec<_>>())
}

async fn show_host(State(s): AppState, Path(host): Path<String>) -> ApiResult {
    let host = name(&host)?;
    let h = s
        .registry
        .snapshot()
        .host_by_name(&host)
        .map_err(RegistryError::from)?
        .ok_or_else(|| RegistryError::not_found(crate::registry::ObjectKind::Host, &host))?;
    ok(views::host(&h))
}

async fn create_host(State(s): AppState, body: Result<Json<CreateHost>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::CreateHost(spec)).await? {
        Outcome::Host(h) => created(views::host(&h)),
        other => unexpected(other),
    }
}

async fn update_host(State(s): AppState, Path(host): Path<String>, body: Result<Json<UpdateHost>, JsonRejection>) -> ApiResult {
    let Json(spec) = body?;
    match s.registry.execute(Command::UpdateHost(name(&host)?, spec)).await? {
        Outcome::Host(h) => ok(views::host(&h)),
        other => unexpected(other),
    }
}

async fn delete_host(State(s): AppState, Path(host): Path<String>) -> ApiResult {
    s.registry.execute(Command::DeleteHost(name(&host)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_refuses_expired_signatures_and_warns_a_day_ahead() {
        let zone = |n: &str| crate::model::DomainName::parse(n).unwrap();
        let now = 1_000_000;
        let expiries =
            [(zone("fresh"), now as u32 + 7 * 86_400), (zone("soon"), now as u32 + 3_600), (zone("late"), now as u32 - 1)].into();
        let (expired, warnings) = signature_health(&expiries, now);
        assert_eq!(expired, ["a signature of zone late has expired"]);
        assert_eq!(warnings, ["a signature of zone soon expires in 3600 s"]);
        assert_eq!(signature_health(&Default::default(), now), (vec![], vec![]));
    }
}
