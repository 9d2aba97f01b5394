//! The daemon's configuration: a TOML file (`--config FILE`) whose every
//! field has a documented default that serves on loopback high ports, so
//! running with no file at all gives a working local registry. Unknown
//! fields are errors; relative paths are relative to the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{DomainName, IpPrefix, RoidSuffix};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder of the registry database and generated secrets.
    pub data_dir: PathBuf,
    /// Folder that `zone export` and automatic re-emission write zonefiles to.
    pub zones_dir: PathBuf,
    /// `tracing` filter directives (overridden by `RUST_LOG`). The audit
    /// trail of EPP logins and transform commands is target `audit`.
    pub log: String,
    /// `text` for people, `json` (one object per line) for log shippers.
    pub log_format: LogFormat,
    /// How long a shutdown waits for peers to finish what they are doing
    /// (and, again, for the last commit) before it cuts them off.
    pub shutdown_timeout_s: u64,
    pub registry: RegistryConfig,
    pub dns: DnsConfig,
    pub zonefile: ZonefileConfig,
    pub admin: AdminConfig,
    pub epp: EppConfig,
    pub rdap: RdapConfig,
    pub whois: WhoisConfig,
    pub backup: BackupConfig,
    pub dnssec: DnssecConfig,
    pub escrow: EscrowConfig,
    pub reports: ReportsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            zones_dir: PathBuf::from("zones"),
            log: "info".into(),
            log_format: LogFormat::Text,
            shutdown_timeout_s: 30,
            registry: RegistryConfig::default(),
            dns: DnsConfig::default(),
            zonefile: ZonefileConfig::default(),
            admin: AdminConfig::default(),
            epp: EppConfig::default(),
            rdap: RdapConfig::default(),
            whois: WhoisConfig::default(),
            backup: BackupConfig::default(),
            dnssec: DnssecConfig::default(),
            escrow: EscrowConfig::default(),
            reports: ReportsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Repository suffix of ROIDs (`D1-<suffix>`), as registered with IANA.
    pub roid_suffix: RoidSuffix,
    /// Commands waiting for the writer before submitters are made to wait.
    pub queue_max: usize,
    /// Commands committed together by one fsync (group commit).
    pub batch_max: usize,
    /// Page cache of the store, in MiB. It fills only as pages are read,
    /// so a small registry uses little of it; a signed 1M-delegation TLD
    /// answers DNSSEC queries from about 400 MiB of it.
    pub cache_mib: usize,
    /// How often lifecycle deadlines (auto-renew, grace ends, transfers, purge) are looked for.
    pub lifecycle_tick_ms: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            roid_suffix: RoidSuffix::parse("DOS").expect("valid suffix"),
            queue_max: 4096,
            batch_max: 1024,
            cache_mib: 1024,
            lifecycle_tick_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Addresses served over both UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads per address (0: one per CPU).
    pub udp_workers: usize,
    /// Largest UDP response we send to EDNS clients (RFC 9715 suggests 1232).
    pub udp_payload_bytes_max: u16,
    pub tcp_connections_max: usize,
    /// TCP connections from one source address (RFC 7766 §6.2.2).
    pub tcp_connections_per_address_max: usize,
    /// A TCP connection with no complete query for this long is closed (RFC 7766 §6.2.3).
    pub tcp_idle_timeout_s: u64,
    /// Concurrent AXFR/IXFR streams.
    pub transfers_max: usize,
    /// TSIG keys in BIND key-file syntax (`key "name" { algorithm hmac-sha256; secret "…"; };`).
    pub tsig_key_files: Vec<PathBuf>,
    /// Who may transfer zones: a rule matches when the source is in its `addresses` (if any)
    /// and the request is signed with one of its `keys` (if any).
    pub transfer_acl: Vec<AclRule>,
    /// Secondaries to NOTIFY on every serial change.
    pub secondaries: Vec<Secondary>,
    /// Journal entries kept per zone for IXFR; older clients get AXFR.
    pub journal_entries_max: usize,
    pub notify_timeout_ms: u64,
    pub notify_retries: u32,
    /// Name server identifier returned for EDNS NSID (RFC 5001); empty: not sent.
    pub nsid: String,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            listen: vec!["127.0.0.1:8053".parse().expect("valid address")],
            udp_workers: 0,
            udp_payload_bytes_max: 1232,
            tcp_connections_max: 256,
            tcp_connections_per_address_max: 32,
            tcp_idle_timeout_s: 10,
            transfers_max: 8,
            tsig_key_files: Vec::new(),
            transfer_acl: vec![AclRule {
                addresses: vec![IpPrefix::parse("127.0.0.0/8").expect("prefix"), IpPrefix::parse("::1/128").expect("prefix")],
                keys: Vec::new(),
            }],
            secondaries: Vec::new(),
            journal_entries_max: 10_000,
            notify_timeout_ms: 2000,
            notify_retries: 5,
            nsid: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AclRule {
    pub addresses: Vec<IpPrefix>,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secondary {
    pub address: SocketAddr,
    /// TSIG key to sign NOTIFY with.
    #[serde(default)]
    pub key: Option<String>,
    /// Zones this secondary serves (empty: all).
    #[serde(default)]
    pub zones: Vec<DomainName>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZonefileConfig {
    /// Re-write `zones/<tld>.zone` after changes.
    pub auto_export: bool,
    /// Quiet time after a change before re-writing, so bursts cost one write.
    pub debounce_ms: u64,
}

impl Default for ZonefileConfig {
    fn default() -> Self {
        ZonefileConfig { auto_export: false, debounce_ms: 1000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Operator API address; keep it on loopback or a management network.
    pub listen: SocketAddr,
    /// Bearer token file; created with a random token on first start when missing.
    /// Relative paths are relative to `data_dir`.
    pub token_file: PathBuf,
    /// Largest request body (zone imports are the big ones).
    pub body_bytes_max: usize,
    /// Whether `/metrics` is served (off: it answers 404 and the DNS path
    /// counts nothing).
    pub metrics: bool,
    /// Whether `/metrics` asks for the bearer token like the API does
    /// (scrapers then send it); off, it is open to whoever reaches the listener.
    pub metrics_token_required: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:8081".parse().expect("valid address"),
            token_file: PathBuf::from("admin.token"),
            body_bytes_max: 512 * 1024 * 1024,
            metrics: true,
            metrics_token_required: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EppConfig {
    /// EPP over TLS (RFC 5734); production uses port 700. Empty: no EPP service.
    pub listen: Vec<SocketAddr>,
    /// The host name clients connect to: the server certificate's subject, the greeting's svID.
    pub server_name: String,
    /// PEM certificate chain and key. Relative paths are relative to `data_dir`; when
    /// both are missing a private CA and a certificate for `server_name` are created.
    pub certificate_file: PathBuf,
    pub private_key_file: PathBuf,
    pub connections_max: usize,
    /// Of those, connections not yet logged in; the rest is kept for
    /// sessions, so peers that never log in cannot fill the server.
    pub unauthenticated_connections_max: usize,
    /// Connections from one client address (a registrar opens a few sessions, not hundreds).
    pub connections_per_address_max: usize,
    pub sessions_per_registrar_max: usize,
    /// Largest EPP frame (RFC 5734 data unit) accepted.
    pub frame_bytes_max: usize,
    pub xml_depth_max: usize,
    pub xml_elements_max: usize,
    pub commands_per_second: u32,
    /// A session waits this long for the next command.
    pub idle_timeout_s: u64,
    /// A new connection must log in within this time of connecting, whatever it sends meanwhile.
    pub login_timeout_s: u64,
    /// A frame, once started, must arrive within this time (slow senders are cut off).
    pub frame_timeout_s: u64,
    pub tls_handshake_timeout_s: u64,
    /// Failed logins in a row before a client id is locked out.
    pub failed_logins_max: u32,
    pub lockout_s: u64,
    /// Password hashes computed at once: a flood of logins queues here instead of taking every core.
    pub login_hashes_max: usize,
    /// New connections per second from one /24 (IPv4) or /56 (IPv6) network, and
    /// the burst allowed; beyond it a connect is closed before the TLS handshake.
    pub connects_per_network_per_s: u32,
    pub connects_per_network_burst: u32,
}

impl Default for EppConfig {
    fn default() -> Self {
        EppConfig {
            listen: vec!["127.0.0.1:7700".parse().expect("valid address")],
            server_name: "localhost".into(),
            certificate_file: PathBuf::from("tls/server.pem"),
            private_key_file: PathBuf::from("tls/server.key"),
            connections_max: 512,
            unauthenticated_connections_max: 256,
            connections_per_address_max: 32,
            sessions_per_registrar_max: 16,
            frame_bytes_max: 64 * 1024,
            xml_depth_max: 32,
            xml_elements_max: 4096,
            commands_per_second: 2000,
            idle_timeout_s: 600,
            login_timeout_s: 60,
            frame_timeout_s: 30,
            tls_handshake_timeout_s: 10,
            failed_logins_max: 5,
            lockout_s: 300,
            login_hashes_max: 2,
            connects_per_network_per_s: 20,
            connects_per_network_burst: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RdapConfig {
    /// RDAP over HTTP, or HTTPS when a certificate is set (production: 443). Empty: no RDAP service.
    pub listen: Vec<SocketAddr>,
    /// The service's public base URL, ending in `/` (links, notices). Empty: derived from the first address.
    pub base_url: String,
    /// PEM certificate chain and key for HTTPS (relative paths are relative to `data_dir`).
    pub certificate_file: Option<PathBuf>,
    pub private_key_file: Option<PathBuf>,
    /// The Terms of Service the required notice links to. Empty: this service's `/help`.
    pub terms_of_service_url: String,
    /// Whether `/domains`, `/nameservers` and `/entities` searches are served.
    pub searches: bool,
    /// Results per search; more are cut off with the truncation notice.
    pub search_results_max: usize,
    /// Objects a search may look at before it stops (and says so).
    pub search_scan_max: usize,
    /// Characters a search prefix needs before its `*`.
    pub search_prefix_min: usize,
    pub connections_max: usize,
    pub connections_per_address_max: usize,
    /// Longest request target (path and query) accepted.
    pub request_bytes_max: usize,
    /// A request's header must arrive whole within this time (also the wait for the next
    /// request on a kept-alive connection), and a response must be taken within it.
    pub idle_timeout_s: u64,
    /// A connection is closed, after its request in hand, this long after it was opened.
    pub connection_lifetime_s: u64,
    /// Searches run at once, off the serving threads; more wait up to `idle_timeout_s`, then get 503.
    pub searches_concurrent_max: usize,
    pub limits: crate::ratelimit::RateLimits,
}

impl Default for RdapConfig {
    fn default() -> Self {
        RdapConfig {
            listen: vec!["127.0.0.1:8080".parse().expect("valid address")],
            base_url: String::new(),
            certificate_file: None,
            private_key_file: None,
            terms_of_service_url: String::new(),
            searches: true,
            search_results_max: 50,
            search_scan_max: 100_000,
            search_prefix_min: 2,
            connections_max: 1024,
            connections_per_address_max: 64,
            request_bytes_max: 2048,
            idle_timeout_s: 30,
            connection_lifetime_s: 300,
            searches_concurrent_max: 2,
            limits: crate::ratelimit::RateLimits::default(),
        }
    }
}

impl RdapConfig {
    /// The base URL links are made from.
    pub fn base(&self, bound: Option<SocketAddr>) -> String {
        if !self.base_url.is_empty() {
            let b = self.base_url.clone();
            return if b.ends_with('/') { b } else { b + "/" };
        }
        let scheme = if self.certificate_file.is_some() { "https" } else { "http" };
        match bound.or(self.listen.first().copied()) {
            Some(a) => format!("{scheme}://{a}/"),
            None => format!("{scheme}://localhost/"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhoisConfig {
    /// WHOIS on TCP (RFC 3912; production: port 43). Empty: no WHOIS service.
    pub listen: Vec<SocketAddr>,
    /// The registry's WHOIS server name, shown in answers.
    pub server_name: String,
    pub connections_max: usize,
    pub connections_per_address_max: usize,
    /// Longest query line accepted.
    pub query_bytes_max: usize,
    /// A client must send its query within this time of connecting, and take the answer within it.
    pub query_timeout_s: u64,
    /// The legal disclaimer closing every answer.
    pub disclaimer: String,
    pub limits: crate::ratelimit::RateLimits,
}

impl Default for WhoisConfig {
    fn default() -> Self {
        WhoisConfig {
            listen: vec!["127.0.0.1:4343".parse().expect("valid address")],
            server_name: "localhost".into(),
            connections_max: 256,
            connections_per_address_max: 16,
            query_bytes_max: 256,
            query_timeout_s: 10,
            disclaimer: "The data in this record is provided for information purposes only; the registry does not guarantee its accuracy. \
                         It may not be used for marketing or any other unlawful purpose."
                .into(),
            limits: crate::ratelimit::RateLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscrowConfig {
    /// Where deposits are written. Relative to `data_dir`.
    pub folder: PathBuf,
    /// The escrow agent's OpenPGP certificate, which deposits are encrypted to.
    pub agent_cert: Option<PathBuf>,
    /// The registry's OpenPGP key, with its secret, which signs deposits.
    pub signing_key: Option<PathBuf>,
    /// ICANN's OpenPGP certificate, which bulk registration data (BRDA,
    /// RA Specification 4) is encrypted to.
    pub brda_cert: Option<PathBuf>,
    /// Make deposits on their schedule while serving (with the keys above).
    pub schedule: bool,
    /// The weekday of the weekly FULL deposit (RA Specification 2: Sunday).
    pub full_weekday: crate::escrow::schedule::Weekday,
    /// The deposit of the other days: `diff` or `full`.
    pub daily: crate::escrow::schedule::Daily,
    /// The weekday of the weekly BRDA (with `brda_cert`).
    pub brda_weekday: crate::escrow::schedule::Weekday,
    /// How often the schedule is looked at.
    pub check_interval_s: u64,
    /// The largest file the receivers take: larger deposits are split
    /// into `_S1_`, `_S2_`, … files (0: never).
    pub split_bytes: u64,
    /// The escrow agent's SFTP server: scheduled deposits are uploaded to it.
    pub sftp: Option<crate::escrow::deliver::SftpConfig>,
    /// ICANN's SFTP server: scheduled BRDAs are uploaded to it.
    pub brda_sftp: Option<crate::escrow::deliver::SftpConfig>,
    /// ICANN's reporting interface: each deposit's report is PUT to it once
    /// the agent has the deposit.
    pub icann: Option<crate::escrow::deliver::IcannConfig>,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        EscrowConfig {
            folder: PathBuf::from("escrow"),
            agent_cert: None,
            signing_key: None,
            brda_cert: None,
            schedule: false,
            full_weekday: crate::escrow::schedule::Weekday::Sunday,
            daily: crate::escrow::schedule::Daily::Diff,
            brda_weekday: crate::escrow::schedule::Weekday::Tuesday,
            check_interval_s: 300,
            split_bytes: 0,
            sftp: None,
            brda_sftp: None,
            icann: None,
        }
    }
}

/// ICANN's monthly reports (RA Specification 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Where the reports are written. Relative to `data_dir`.
    pub folder: PathBuf,
    /// Make each month's reports once it is over while serving, and send
    /// them to `icann` when it is set.
    pub schedule: bool,
    /// How often the schedule is looked at (it also wakes when a month begins).
    pub check_interval_s: u64,
    /// The `zfa-passwords` column: `"CZDS"` where zone file access goes
    /// through ICANN's Centralized Zone Data Service; unset gives 0.
    pub zfa_passwords: Option<String>,
    /// ICANN's reporting interface, which the reports are PUT to.
    pub icann: Option<crate::escrow::deliver::IcannConfig>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig { folder: PathBuf::from("reports"), schedule: false, check_interval_s: 3600, zfa_passwords: None, icann: None }
    }
}

impl ReportsConfig {
    pub fn settings(&self) -> crate::report::ReportSettings {
        crate::report::ReportSettings { zfa_passwords: self.zfa_passwords.clone() }
    }
}

impl EscrowConfig {
    /// The keys escrow deposits need, once both are configured.
    pub fn keys(&self) -> Option<crate::escrow::RydeKeys> {
        Some(crate::escrow::RydeKeys {
            agent_cert: self.agent_cert.clone()?,
            signing_key: self.signing_key.clone()?,
            split_bytes: self.split_bytes,
        })
    }

    /// The keys BRDA deposits need: ICANN's certificate instead of the agent's.
    pub fn brda_keys(&self) -> Option<crate::escrow::RydeKeys> {
        Some(crate::escrow::RydeKeys {
            agent_cert: self.brda_cert.clone()?,
            signing_key: self.signing_key.clone()?,
            split_bytes: self.split_bytes,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnssecConfig {
    /// A PKCS#11 token for key signing keys; without one, every private
    /// key is a file under `data_dir/keys`.
    pub pkcs11: Option<Pkcs11Config>,
    /// A resolver that finds the addresses of children's name servers
    /// outside our zones, for the CDS scan; without one only in-zone name
    /// servers (with glue) are asked.
    pub resolver: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The token's PKCS#11 module (SoftHSM: /usr/lib/softhsm/libsofthsm2.so).
    pub module: PathBuf,
    pub token_label: String,
    /// A file (readable by the daemon only) holding the user PIN.
    pub pin_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Where scheduled backups (and `domain-os backup` without `--to`) are
    /// written, as `registry-<UTC time>.redb`. Relative to `data_dir`.
    pub folder: PathBuf,
    /// Seconds between scheduled backups; 0: none are scheduled.
    pub interval_s: u64,
    /// Scheduled backups kept; older ones are removed after each new one.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig { folder: PathBuf::from("backups"), interval_s: 0, keep: 7 }
    }
}

impl Config {
    /// Reads a config file; relative paths in it become relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.rebase(&base);
        config.validate()?;
        Ok(config)
    }

    /// Anchors relative paths at `base`.
    pub fn rebase(&mut self, base: &Path) {
        let anchor = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        anchor(&mut self.data_dir);
        anchor(&mut self.zones_dir);
        for key in &mut self.dns.tsig_key_files {
            anchor(key);
        }
        for key in [&mut self.escrow.agent_cert, &mut self.escrow.signing_key, &mut self.escrow.brda_cert].into_iter().flatten() {
            anchor(key);
        }
        for sftp in [&mut self.escrow.sftp, &mut self.escrow.brda_sftp].into_iter().flatten() {
            anchor(&mut sftp.key);
            anchor(&mut sftp.known_hosts);
        }
        if let Some(icann) = &mut self.escrow.icann {
            anchor(&mut icann.password_file);
            anchor(&mut icann.ca_file);
        }
        if let Some(pkcs11) = &mut self.dnssec.pkcs11 {
            anchor(&mut pkcs11.module);
            anchor(&mut pkcs11.pin_file);
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.shutdown_timeout_s == 0 {
            return bad("shutdown_timeout_s must be positive");
        }
        if self.reports.zfa_passwords.as_deref().is_some_and(|z| z != "CZDS" && z.parse::<u64>().is_err()) {
            return bad("reports.zfa_passwords must be \"CZDS\" or a number");
        }
        if self.dns.udp_payload_bytes_max < 512 {
            return bad("dns.udp_payload_bytes_max must be at least 512");
        }
        if self.registry.queue_max == 0 || self.registry.batch_max == 0 || self.registry.lifecycle_tick_ms == 0 {
            return bad("registry.queue_max, registry.batch_max and registry.lifecycle_tick_ms must be positive");
        }
        if self.dns.tcp_connections_max == 0 || self.dns.tcp_connections_per_address_max == 0 || self.dns.transfers_max == 0 {
            return bad("dns.tcp_connections_max, dns.tcp_connections_per_address_max and dns.transfers_max must be positive");
        }
        if self.dns.journal_entries_max == 0 {
            return bad("dns.journal_entries_max must be positive");
        }
        let e = &self.epp;
        if e.connections_max == 0
            || e.connections_per_address_max == 0
            || e.sessions_per_registrar_max == 0
            || e.commands_per_second == 0
            || e.failed_logins_max == 0
            || e.login_hashes_max == 0
            || e.connects_per_network_per_s == 0
            || e.connects_per_network_burst == 0
        {
            return bad("epp limits must be positive");
        }
        if !(1..=e.connections_max).contains(&e.unauthenticated_connections_max) {
            return bad("epp.unauthenticated_connections_max must be between 1 and epp.connections_max");
        }
        if !(1024..=16 << 20).contains(&e.frame_bytes_max) {
            return bad("epp.frame_bytes_max must be between 1 KiB and 16 MiB");
        }
        if self.dns.nsid.len() > 255 {
            return bad("dns.nsid is longer than 255 bytes");
        }
        let r = &self.rdap;
        if r.certificate_file.is_some() != r.private_key_file.is_some() {
            return bad("rdap.certificate_file and rdap.private_key_file go together");
        }
        if r.connections_max == 0
            || r.connections_per_address_max == 0
            || r.search_results_max == 0
            || r.request_bytes_max < 64
            || r.idle_timeout_s == 0
            || r.connection_lifetime_s == 0
            || r.searches_concurrent_max == 0
        {
            return bad("rdap limits must be positive (request_bytes_max at least 64)");
        }
        if !(r.base_url.is_empty() || r.base_url.starts_with("https://") || r.base_url.starts_with("http://")) {
            return bad("rdap.base_url must be an http(s) URL");
        }
        let w = &self.whois;
        if w.connections_max == 0 || w.connections_per_address_max == 0 || w.query_bytes_max < 16 || w.query_timeout_s == 0 {
            return bad("whois limits must be positive (query_bytes_max at least 16)");
        }
        if self.backup.keep == 0 {
            return bad("backup.keep must be positive");
        }
        r.limits.validate().map_err(|e| ConfigError::Invalid(format!("rdap.limits: {e}")))?;
        w.limits.validate().map_err(|e| ConfigError::Invalid(format!("whois.limits: {e}")))?;
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("registry.redb")
    }

    pub fn token_path(&self) -> PathBuf {
        self.data_dir.join(&self.admin.token_file)
    }

    /// The private CA's folder (demo and self-issued certificates).
    pub fn tls_dir(&self) -> PathBuf {
        self.data_dir.join("tls")
    }

    /// The private halves of the zone signing keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// The RDAP certificate and key, when HTTPS is configured.
    pub fn rdap_certificate(&self) -> Option<(PathBuf, PathBuf)> {
        match (&self.rdap.certificate_file, &self.rdap.private_key_file) {
            (Some(c), Some(k)) => Some((self.data_dir.join(c), self.data_dir.join(k))),
            _ => None,
        }
    }

    pub fn epp_certificate(&self) -> (PathBuf, PathBuf) {
        (self.data_dir.join(&self.epp.certificate_file), self.data_dir.join(&self.epp.private_key_file))
    }

    /// The effective configuration as TOML, for `check-config`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_on_loopback() {
        let c = Config::default();
        assert!(c.dns.listen.iter().all(|a| a.ip().is_loopback()));
        assert!(c.admin.listen.ip().is_loopback());
        let public = c.epp.listen.iter().chain(&c.rdap.listen).chain(&c.whois.listen);
        assert!(public.into_iter().all(|a| a.ip().is_loopback() && a.port() > 1024));
        c.validate().unwrap();
    }

    #[test]
    fn rejects_unknown_fields_and_rebases_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("domain-os.toml");
        std::fs::write(&path, "data_dir = \"state\"\n[dns]\nlisten = [\"127.0.0.1:5353\"]\n").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.data_dir, dir.path().join("state"));
        assert_eq!(c.dns.listen[0].port(), 5353);

        std::fs::write(&path, "[dns]\nlisen = []\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");

        std::fs::write(&path, "[dns]\nudp_payload_bytes_max = 100\n").unwrap();
        assert!(matches!(Config::load(&path), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn round_trips_through_toml() {
        let text = Config::default().to_toml();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.dns.listen, Config::default().dns.listen);
    }

    /// The shipped, annotated configuration is the defaults but for what it
    /// marks "installed:": state under /var/lib/domain-os and the public
    /// services on their standard ports.
    #[test]
    fn the_example_configuration_is_the_defaults_but_for_the_installed_paths_and_ports() {
        let text = include_str!("../domain-os.example.toml");
        let example: toml::Value = toml::from_str(text).unwrap();
        let mut expected = toml::Value::try_from(Config::default()).unwrap();
        let t = expected.as_table_mut().unwrap();
        t.insert("data_dir".into(), "/var/lib/domain-os".into());
        t.insert("zones_dir".into(), "/var/lib/domain-os/zones".into());
        for (service, address) in [("dns", "[::]:53"), ("epp", "[::]:700"), ("rdap", "[::]:443"), ("whois", "[::]:43")] {
            t[service].as_table_mut().unwrap().insert("listen".into(), toml::Value::Array(vec![address.into()]));
        }
        assert_eq!(example, expected);
        assert_eq!(text.matches("installed:").count(), 1 + 6, "the header and each difference where it is set");
        let config: Config = toml::from_str(text).unwrap();
        config.validate().unwrap();
    }
}
