//! Starting and stopping the appliance: open the store, start the registry
//! writer, seed the demo if asked, bind DNS and the operator API, start
//! NOTIFY and zonefile re-emission, and on shutdown stop accepting, finish
//! what is in flight, drain the writer and close the database cleanly.
//! `main` and the integration tests both go through [`start`].

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::dns::tsig::{KeyFileError, Keyring};
use crate::dns::{self, DnsServer, notify};
use crate::epp::EppServer;
use crate::epp::shared::EppShared;
use crate::epp::tls::Pki;
use crate::model::Clock;
use crate::ops::backup::Backups;
use crate::ops::metrics::{Counters, Metrics};
use crate::rdap::RdapServer;
use crate::registry::counts::ReadCounts;
use crate::registry::{Registry, WriterSettings, WriterThread};
use crate::store::{Store, StoreError, Upgrade};
use crate::whois::WhoisServer;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("TSIG keys: {0}")]
    Keys(#[from] KeyFileError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("demo data: {0}")]
    Demo(#[from] crate::demo::DemoError),
    #[error("{0}")]
    Tls(#[from] crate::epp::tls::TlsError),
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Seed the demo registry (idempotent).
    pub demo: bool,
}

/// A running appliance.
pub struct Daemon {
    pub dns_addrs: Vec<SocketAddr>,
    pub admin_addr: SocketAddr,
    pub epp_addrs: Vec<SocketAddr>,
    pub rdap_addrs: Vec<SocketAddr>,
    pub whois_addrs: Vec<SocketAddr>,
    /// The RDAP base URL links are made from.
    pub rdap_base: String,
    pub registry: Registry,
    pub token: String,
    running: Running,
}

/// What a start has set going so far, so that a start that fails halfway
/// stops it all again (listeners, UDP workers, writer, store lock).
struct Running {
    shutdown: watch::Sender<bool>,
    shutdown_timeout: Duration,
    dns: Option<DnsServer>,
    epp: Option<EppServer>,
    rdap: Option<RdapServer>,
    whois: Option<WhoisServer>,
    tasks: Vec<JoinHandle<()>>,
    /// Stops the read-count flusher once every front-end has stopped.
    stop_counting: watch::Sender<bool>,
    counting: Option<JoinHandle<()>>,
    registry: Registry,
    /// The signing keys the writer uses, which backups read too.
    keys: Arc<crate::registry::keys::Keys>,
    writer: WriterThread,
    /// What `/health/ready` reports.
    ready: Arc<AtomicBool>,
}

/// Opens the store the way the daemon does (for offline CLI commands too).
/// Opens the store for `serve` or another writing command; only `upgrade`
/// lets it migrate an older schema.
pub fn open_store(config: &Config, upgrade: Upgrade) -> Result<Store, StoreError> {
    Store::open(&config.db_path(), config.registry.cache_mib << 20, upgrade)
}

/// The writer's settings; opens the PKCS#11 token when one is configured.
pub fn writer_settings(config: &Config) -> Result<WriterSettings, StoreError> {
    Ok(WriterSettings {
        roid_suffix: config.registry.roid_suffix.clone(),
        queue_max: config.registry.queue_max,
        batch_max: config.registry.batch_max,
        journal_entries_max: config.dns.journal_entries_max,
        keys: Arc::new(crate::registry::keys::Keys::open(config)?),
    })
}

pub async fn start(config: &Config, clock: Arc<dyn Clock>, options: Options) -> Result<Daemon, DaemonError> {
    config.validate().map_err(|e| DaemonError::Config(e.to_string()))?;
    let keyring = Keyring::load(&config.dns.tsig_key_files)?;
    check_key_names(config, &keyring)?;
    std::fs::create_dir_all(&config.data_dir).map_err(io_error(format!("creating {}", config.data_dir.display())))?;
    let token = load_or_create_token(&config.token_path())?;
    let epp_tls = if config.epp.listen.is_empty() { None } else { Some(epp_tls(config)?) };
    let rdap_tls = match config.rdap_certificate() {
        Some((cert, key)) => Some(crate::epp::tls::server_config_without_client_auth(&cert, &key)?),
        None => None,
    };

    let store = open_store(config, Upgrade::Allowed)?;
    let settings = writer_settings(config)?;
    let keys = settings.keys.clone();
    let (registry, writer) = Registry::start(store, clock.clone(), settings)?;
    let (shutdown, _) = watch::channel(false);
    let (stop_counting, _) = watch::channel(false);
    let mut running = Running {
        keys,
        shutdown,
        shutdown_timeout: Duration::from_secs(config.shutdown_timeout_s),
        dns: None,
        epp: None,
        rdap: None,
        whois: None,
        tasks: Vec::new(),
        stop_counting,
        counting: None,
        registry: registry.clone(),
        writer,
        ready: Arc::new(AtomicBool::new(false)),
    };
    match bind(config, clock, options, keyring, epp_tls, rdap_tls, &token, &mut running).await {
        Ok(bound) => {
            running.ready.store(true, Ordering::Release);
            Ok(Daemon {
                dns_addrs: bound.dns,
                admin_addr: bound.admin,
                epp_addrs: bound.epp,
                rdap_addrs: bound.rdap,
                whois_addrs: bound.whois,
                rdap_base: bound.rdap_base,
                registry,
                token,
                running,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "start failed; stopping what was started");
            drop(registry);
            running.stop().await;
            Err(e)
        }
    }
}

/// Where the listeners were bound.
struct Bound {
    dns: Vec<SocketAddr>,
    admin: SocketAddr,
    epp: Vec<SocketAddr>,
    rdap: Vec<SocketAddr>,
    whois: Vec<SocketAddr>,
    rdap_base: String,
}

/// Seeds the demo if asked and binds every listener, recording in
/// `running` what it set going.
#[allow(clippy::too_many_arguments)]
async fn bind(
    config: &Config,
    clock: Arc<dyn Clock>,
    options: Options,
    keyring: Keyring,
    epp_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    rdap_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    token: &str,
    running: &mut Running,
) -> Result<Bound, DaemonError> {
    let registry = running.registry.clone();
    if options.demo {
        crate::demo::seed(&registry, &Pki { dir: config.tls_dir() }).await?;
    }
    let shutdown_rx = running.shutdown.subscribe();
    let counters = Arc::new(Counters::new(config.admin.metrics));
    let metrics = config.admin.metrics.then(|| Arc::new(Metrics::new(counters.clone(), registry.clone(), config.db_path())));
    let counts = Arc::new(ReadCounts::default());
    let dns = DnsServer::start(
        &config.dns,
        keyring.clone(),
        registry.snapshots().clone(),
        clock.clone(),
        &counters,
        &counts,
        shutdown_rx.clone(),
    )
    .await
    .map_err(io_error("binding DNS"))?;
    let dns_addrs = dns.addrs.clone();
    running.dns = Some(dns);

    let listener = crate::ops::listeners::tokio_tcp(config.admin.listen).await.map_err(io_error("binding the operator API"))?;
    let admin_addr = listener.local_addr().map_err(io_error("operator API address"))?;
    let backups = Backups::new(registry.clone(), clock.clone(), config, running.keys.clone());
    if config.backup.interval_s > 0 {
        let interval = Duration::from_secs(config.backup.interval_s);
        running.tasks.push(tokio::spawn(backups.clone().run_schedule(interval, shutdown_rx.clone())));
    }
    let escrow_passes: Option<Arc<std::sync::atomic::AtomicU64>> = config.escrow.schedule.then(Arc::default);
    if let Some(passes) = &escrow_passes {
        let keys = config.escrow.keys().ok_or_else(|| DaemonError::Config("[escrow] schedule needs agent_cert and signing_key".into()))?;
        let scheduled = crate::escrow::schedule::Scheduled {
            schedule: crate::escrow::schedule::Schedule {
                full_weekday: config.escrow.full_weekday,
                daily: config.escrow.daily,
                brda_weekday: Some(config.escrow.brda_weekday),
            },
            keys,
            brda_keys: config.escrow.brda_keys(),
            folder: config.data_dir.join(&config.escrow.folder),
            check_interval: Duration::from_secs(config.escrow.check_interval_s.max(1)),
            sftp: config.escrow.sftp.clone(),
            brda_sftp: config.escrow.brda_sftp.clone(),
            passes: passes.clone(),
            icann: config.escrow.icann.clone(),
        };
        running.tasks.push(tokio::spawn(crate::escrow::schedule::run(registry.clone(), clock.clone(), scheduled, shutdown_rx.clone())));
    }
    let report_passes: Option<Arc<std::sync::atomic::AtomicU64>> = config.reports.schedule.then(Arc::default);
    if let Some(passes) = &report_passes {
        let scheduled = crate::report::schedule::Scheduled {
            settings: config.reports.settings(),
            folder: config.data_dir.join(&config.reports.folder),
            icann: config.reports.icann.clone(),
            check_interval: Duration::from_secs(config.reports.check_interval_s.max(1)),
            passes: passes.clone(),
        };
        running.tasks.push(tokio::spawn(crate::report::schedule::run(registry.clone(), clock.clone(), scheduled, shutdown_rx.clone())));
    }
    let state = Arc::new(AdminState {
        registry: registry.clone(),
        clock: clock.clone(),
        token: token.to_string(),
        zones_dir: config.zones_dir.clone(),
        escrow_folder: config.data_dir.join(&config.escrow.folder),
        escrow_keys: config.escrow.keys(),
        brda_keys: config.escrow.brda_keys(),
        escrow_passes,
        reports: config.reports.clone(),
        report_passes,
        import_body_bytes_max: config.admin.body_bytes_max,
        ready: running.ready.clone(),
        backups,
        metrics,
        metrics_token_required: config.admin.metrics_token_required,
        store_path: config.db_path(),
    });
    running.tasks.push(tokio::spawn(admin::serve(listener, state, shutdown_rx.clone())));
    tracing::info!(address = %admin_addr, "serving the operator API");

    running.counting = Some({
        let (counts, registry, clock, stop) = (counts.clone(), registry.clone(), clock.clone(), running.stop_counting.subscribe());
        tokio::spawn(async move { counts.run(registry, clock, Duration::from_secs(1), stop).await })
    });
    let rdap = RdapServer::start(
        config.rdap.clone(),
        registry.clone(),
        clock.clone(),
        counts.clone(),
        counters.clone(),
        rdap_tls,
        shutdown_rx.clone(),
    )
    .await
    .map_err(io_error("binding RDAP"))?;
    let (rdap_addrs, rdap_base) = (rdap.addrs.clone(), config.rdap.base(rdap.addrs.first().copied()));
    running.rdap = Some(rdap);
    let whois =
        WhoisServer::start(config.whois.clone(), registry.clone(), clock.clone(), counts.clone(), counters.clone(), shutdown_rx.clone())
            .await
            .map_err(io_error("binding WHOIS"))?;
    let whois_addrs = whois.addrs.clone();
    running.whois = Some(whois);

    let mut epp_addrs = Vec::new();
    if let Some(tls) = epp_tls {
        let server_id = format!("domain-os {} ({})", env!("CARGO_PKG_VERSION"), config.epp.server_name);
        let shared = Arc::new(EppShared::new(registry.clone(), clock.clone(), config.epp.clone(), server_id, counts.clone(), counters));
        let epp = EppServer::start(shared, tls, shutdown_rx.clone()).await.map_err(io_error("binding EPP"))?;
        epp_addrs = epp.addrs.clone();
        running.epp = Some(epp);
    }

    let notify_settings = notify::NotifySettings {
        secondaries: config.dns.secondaries.clone(),
        keyring,
        timeout: Duration::from_millis(config.dns.notify_timeout_ms),
        retries: config.dns.notify_retries,
        clock: clock.clone(),
    };
    running.tasks.push(tokio::spawn(notify::run(notify_settings, registry.snapshots().clone(), registry.commits(), shutdown_rx.clone())));
    running.tasks.push(tokio::spawn(crate::registry::run_scheduler(
        registry.clone(),
        clock.clone(),
        Duration::from_millis(config.registry.lifecycle_tick_ms),
        shutdown_rx.clone(),
    )));
    running.tasks.push(tokio::spawn(dns::cds::run(
        registry.clone(),
        clock.clone(),
        config.dnssec.resolver,
        Duration::from_millis(config.registry.lifecycle_tick_ms),
        shutdown_rx.clone(),
    )));
    running.tasks.push(tokio::spawn(dns::parent::run(
        registry.clone(),
        clock.clone(),
        Duration::from_millis(config.registry.lifecycle_tick_ms),
        shutdown_rx.clone(),
    )));
    running.tasks.push(tokio::spawn(crate::registry::run_signature_sweep(
        registry.clone(),
        clock.clone(),
        Duration::from_millis(config.registry.lifecycle_tick_ms),
        shutdown_rx.clone(),
    )));
    if config.zonefile.auto_export {
        running.tasks.push(tokio::spawn(dns::auto_export(
            registry.snapshots().clone(),
            registry.commits(),
            config.zones_dir.clone(),
            Duration::from_millis(config.zonefile.debounce_ms),
            shutdown_rx,
        )));
    }
    Ok(Bound { dns: dns_addrs, admin: admin_addr, epp: epp_addrs, rdap: rdap_addrs, whois: whois_addrs, rdap_base })
}

impl Daemon {
    /// Resolves once the daemon cannot go on (the store takes no more
    /// writes, or the writer is gone), with the reason.
    pub async fn failed(&self) -> String {
        self.registry.failed().await
    }

    /// Stops accepting, lets in-flight work finish, commits what is queued
    /// and closes the store, within the configured shutdown timeout: peers
    /// still busy then are cut off.
    pub async fn shutdown(self) {
        let Daemon { registry, running, .. } = self;
        drop(registry);
        running.stop().await;
    }
}

impl Running {
    async fn stop(self) {
        let Running { shutdown, shutdown_timeout, dns, epp, rdap, whois, tasks, stop_counting, counting, registry, writer, ready, keys: _ } =
            self;
        ready.store(false, Ordering::Release);
        let _ = shutdown.send(true);
        let front_ends = async {
            for task in tasks {
                let _ = task.await;
            }
            if let Some(epp) = epp {
                epp.stop().await;
            }
            if let Some(rdap) = rdap {
                rdap.stop().await;
            }
            if let Some(whois) = whois {
                whois.stop().await;
            }
            if let Some(dns) = dns {
                dns.stop().await;
            }
        };
        if tokio::time::timeout(shutdown_timeout, front_ends).await.is_err() {
            tracing::warn!(timeout_s = shutdown_timeout.as_secs(), "peers still busy at the shutdown timeout; cutting them off");
        }
        let _ = stop_counting.send(true);
        if let Some(counting) = counting {
            let _ = counting.await;
        }
        // Commits what is queued, then stops, even if a peer cut off above still holds a handle.
        registry.close().await;
        drop(registry);
        let joined = tokio::task::spawn_blocking(move || writer.join());
        if tokio::time::timeout(shutdown_timeout, joined).await.is_err() {
            tracing::error!("the registry writer did not finish its last commit in time; nothing unacknowledged is kept");
            return;
        }
        tracing::info!("stopped");
    }
}

/// The EPP server's TLS configuration; a private CA and certificate are
/// created when the configured files are the defaults and do not exist yet.
fn epp_tls(config: &Config) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, DaemonError> {
    let (cert, key) = config.epp_certificate();
    let pki = Pki { dir: config.tls_dir() };
    if !cert.exists() && !key.exists() && cert == pki.server_cert() && key == pki.server_key() {
        let mut names = vec![config.epp.server_name.clone(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
        names.dedup();
        pki.ensure_server(&names)?;
    }
    Ok(crate::epp::tls::server_config(&cert, &key)?)
}

/// Every key named by the ACL or a secondary must be loaded.
fn check_key_names(config: &Config, keyring: &Keyring) -> Result<(), DaemonError> {
    let named =
        config.dns.transfer_acl.iter().flat_map(|r| r.keys.iter()).chain(config.dns.secondaries.iter().filter_map(|s| s.key.as_ref()));
    for key in named {
        if keyring.get(key).is_none() {
            return Err(DaemonError::Config(format!("TSIG key {key:?} is used but not defined in dns.tsig_key_files")));
        }
    }
    Ok(())
}

/// Reads the operator API token, creating a random one (mode 0600) on first start.
pub fn load_or_create_token(path: &Path) -> Result<String, DaemonError> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(format!("reading {}", path.display()))(e)),
    }
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| DaemonError::Config("no randomness for the admin token".into()))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(format!("creating {}", parent.display())))?;
    }
    write_private(path, &token).map_err(io_error(format!("writing {}", path.display())))?;
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Waits for SIGTERM or SIGINT.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}
