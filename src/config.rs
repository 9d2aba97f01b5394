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
    /// `tracing` filter directives (overridden by `RUST_LOG`).
    pub log: String,
    pub registry: RegistryConfig,
    pub dns: DnsConfig,
    pub zonefile: ZonefileConfig,
    pub admin: AdminConfig,
    pub epp: EppConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            zones_dir: PathBuf::from("zones"),
            log: "info".into(),
            registry: RegistryConfig::default(),
            dns: DnsConfig::default(),
            zonefile: ZonefileConfig::default(),
            admin: AdminConfig::default(),
            epp: EppConfig::default(),
        }
    }
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
    /// Page cache of the store, in MiB.
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
            cache_mib: 256,
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
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:8081".parse().expect("valid address"),
            token_file: PathBuf::from("admin.token"),
            body_bytes_max: 512 * 1024 * 1024,
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
    pub sessions_per_registrar_max: usize,
    /// Largest EPP frame (RFC 5734 data unit) accepted.
    pub frame_bytes_max: usize,
    pub xml_depth_max: usize,
    pub xml_elements_max: usize,
    pub commands_per_second: u32,
    /// A session waits this long for the next command.
    pub idle_timeout_s: u64,
    /// A new connection must log in within this time.
    pub login_timeout_s: u64,
    /// A frame, once started, must arrive within this time (slow senders are cut off).
    pub frame_timeout_s: u64,
    pub tls_handshake_timeout_s: u64,
    /// Failed logins in a row before a client id is locked out.
    pub failed_logins_max: u32,
    pub lockout_s: u64,
}

impl Default for EppConfig {
    fn default() -> Self {
        EppConfig {
            listen: vec!["127.0.0.1:7700".parse().expect("valid address")],
            server_name: "localhost".into(),
            certificate_file: PathBuf::from("tls/server.pem"),
            private_key_file: PathBuf::from("tls/server.key"),
            connections_max: 512,
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
        }
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
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.dns.udp_payload_bytes_max < 512 {
            return bad("dns.udp_payload_bytes_max must be at least 512");
        }
        if self.registry.queue_max == 0 || self.registry.batch_max == 0 {
            return bad("registry.queue_max and registry.batch_max must be positive");
        }
        if self.dns.tcp_connections_max == 0 || self.dns.tcp_connections_per_address_max == 0 || self.dns.transfers_max == 0 {
            return bad("dns.tcp_connections_max, dns.tcp_connections_per_address_max and dns.transfers_max must be positive");
        }
        if self.dns.journal_entries_max == 0 {
            return bad("dns.journal_entries_max must be positive");
        }
        let e = &self.epp;
        if e.connections_max == 0 || e.sessions_per_registrar_max == 0 || e.commands_per_second == 0 || e.failed_logins_max == 0 {
            return bad("epp limits must be positive");
        }
        if !(1024..=16 << 20).contains(&e.frame_bytes_max) {
            return bad("epp.frame_bytes_max must be between 1 KiB and 16 MiB");
        }
        if self.dns.nsid.len() > 255 {
            return bad("dns.nsid is longer than 255 bytes");
        }
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
}
