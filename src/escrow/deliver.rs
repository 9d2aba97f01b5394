//! Delivering escrow deposits: the `.ryde` and its `.sig` to the escrow
//! agent by SFTP, then the deposit's report to ICANN by HTTPS PUT
//! (`/report/registry-escrow-report/<tld>/<id>`, Basic auth `<tld>_ry`),
//! whose `iirdea` answer says whether it was taken. SFTP is OpenSSH's own
//! `sftp` client in batch mode, with key authentication and a pinned host
//! key: it resumes a transfer a dropped connection cut short (`put -a`)
//! and makes the file appear under its name only once it is whole (a
//! rename). What was delivered is marked in `.delivered/` beside the
//! deposits, so a restart resumes where delivery stopped; failures are
//! tried again with a growing delay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The escrow agent's SFTP server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConfig {
    pub host: String,
    #[serde(default = "ssh_port")]
    pub port: u16,
    pub user: String,
    /// The registry's SSH private key (OpenSSH format).
    pub key: PathBuf,
    /// The agent's host key, as an OpenSSH `known_hosts` file: no other host is accepted.
    pub known_hosts: PathBuf,
    /// The agent's folder for deposits.
    #[serde(default = "dot")]
    pub folder: String,
}

fn ssh_port() -> u16 {
    22
}

fn dot() -> String {
    ".".into()
}

/// ICANN's reporting interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcannConfig {
    /// `https://host[:port]`, without a path.
    pub url: String,
    /// The password of the `<tld>_ry` account, in a file (a systemd credential, say).
    pub password_file: PathBuf,
    /// The certificates the server's is checked against (PEM).
    #[serde(default = "system_roots")]
    pub ca_file: PathBuf,
}

fn system_roots() -> PathBuf {
    PathBuf::from("/etc/ssl/certs/ca-certificates.crt")
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("sftp: {0}")]
    Sftp(String),
    #[error("ICANN's reporting interface: {0}")]
    Report(String),
    /// ICANN answered, and not 200: its status and `iirdea` result.
    #[error("ICANN's reporting interface: HTTP {status}{}", iirdea.as_ref().map(|(c, m)| format!(", iirdea result {c}: {m}")).unwrap_or_default())]
    Refused { status: u16, iirdea: Option<(u16, String)> },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Uploads `files` to the agent, each under its own name: first as
/// `<name>.part`, continued if a cut connection left one, then renamed.
pub fn upload(target: &SftpConfig, files: &[&Path]) -> Result<(), DeliveryError> {
    let folder = quote(&target.folder);
    let listing = sftp(target, &format!("-mkdir {folder}\ncd {folder}\nls -1\n"))?;
    let present: std::collections::HashSet<&str> = listing.lines().filter(|l| !l.starts_with("sftp>")).map(str::trim).collect();
    let mut batch = format!("cd {folder}\n");
    for file in files {
        let name =
            file.file_name().and_then(|n| n.to_str()).ok_or_else(|| DeliveryError::Sftp(format!("{} has no name", file.display())))?;
        let local = file.to_str().ok_or_else(|| DeliveryError::Sftp(format!("{} is not UTF-8", file.display())))?;
        let partial = format!("{name}.part");
        // `put -a` continues a partial file (it refuses when there is none).
        let put = if present.contains(partial.as_str()) { "put -a" } else { "put" };
        batch.push_str(&format!(
            "{put} {} {}\n-rm {}\nrename {} {}\n",
            quote(local),
            quote(&partial),
            quote(name),
            quote(&partial),
            quote(name)
        ));
    }
    sftp(target, &batch)?;
    Ok(())
}

/// Runs OpenSSH's sftp client on `batch`; its standard output.
fn sftp(target: &SftpConfig, batch: &str) -> Result<String, DeliveryError> {
    use std::io::Write;
    let mut child = std::process::Command::new("sftp")
        .args(["-b", "-", "-q", "-P", &target.port.to_string(), "-i"])
        .arg(&target.key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", target.known_hosts.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=30"])
        .args(["-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"])
        .arg(format!("{}@{}", target.user, target.host))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| DeliveryError::Sftp(format!("cannot run OpenSSH's sftp client: {e}")))?;
    child.stdin.take().expect("piped").write_all(batch.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(DeliveryError::Sftp(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A name for an sftp batch line.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// PUTs the report `body` of deposit `id` of `tld` to ICANN; Ok once
/// ICANN answers 200, otherwise the `iirdea` result it gave.
pub async fn put_report(icann: &IcannConfig, tld: &str, id: &str, body: Vec<u8>) -> Result<(), DeliveryError> {
    put_to_icann(icann, tld, &format!("/report/registry-escrow-report/{tld}/{id}"), "text/xml", body).await
}

/// PUTs `body` to `path` of ICANN's reporting interface as `<tld>_ry`
/// (HTTP Basic); Ok once ICANN answers 200, otherwise the `iirdea` result
/// it gave.
pub async fn put_to_icann(icann: &IcannConfig, tld: &str, path: &str, content_type: &str, body: Vec<u8>) -> Result<(), DeliveryError> {
    use base64::Engine;
    use http_body_util::BodyExt;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls;

    let report = |m: String| DeliveryError::Report(m);
    let rest = icann.url.strip_prefix("https://").ok_or_else(|| report(format!("{} is not an https:// URL", icann.url)))?;
    let authority = rest.trim_end_matches('/');
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| report(format!("bad port in {}", icann.url)))?)
        }
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let password = std::fs::read_to_string(&icann.password_file)
        .map_err(|e| report(format!("{}: {e}", icann.password_file.display())))?
        .trim()
        .to_string();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&icann.ca_file).map_err(|e| report(format!("{}: {e}", icann.ca_file.display())))? {
        let cert = cert.map_err(|e| report(format!("{}: {e}", icann.ca_file.display())))?;
        roots.add(cert).map_err(|e| report(e.to_string()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| report(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| report(format!("{host}: {e}")))?;
    let timeout = Duration::from_secs(60);
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls)).connect(name, tcp).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| report(e.to_string()))?;
        tokio::spawn(connection);
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{tld}_ry:{password}"));
        let request = hyper::Request::put(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::AUTHORIZATION, format!("Basic {credentials}"))
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
            .map_err(|e| report(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| report(e.to_string()))?;
        let status = response.status();
        let text = response.into_body().collect().await.map_err(|e| report(e.to_string()))?.to_bytes();
        Ok::<_, DeliveryError>((status, String::from_utf8_lossy(&text).into_owned()))
    };
    let (status, text) = tokio::time::timeout(timeout, exchange).await.map_err(|_| report("no answer within 60 s".into()))??;
    if status == hyper::StatusCode::OK {
        return Ok(());
    }
    Err(DeliveryError::Refused { status: status.as_u16(), iirdea: iirdea_result(&text) })
}

/// ICANN's `iirdea` result code for a deposit report it was sent before.
const PREVIOUSLY_SUBMITTED: u16 = 2002;

/// The code and message of an `iirdea:response`.
pub fn iirdea_result(xml: &str) -> Option<(u16, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut code, mut msg, mut in_msg) = (None, String::new(), false);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "result" => {
                let value = e.try_get_attribute("code").ok()??.value.to_string();
                code = value.parse().ok();
            }
            Event::Start(e) => in_msg = e.local_name().as_ref() == "msg",
            Event::Text(t) if in_msg => msg.push_str(&t.xml10_content()),
            Event::End(_) => in_msg = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Some((code?, msg.trim().to_string()))
}

/// Where each delivery stands: what failed, how often, and when it is next
/// tried (after `first_delay`, doubling with each failure up to six hours).
pub struct Retries {
    first_delay: Duration,
    failed: HashMap<String, (u32, Instant)>,
}

impl Retries {
    const LONGEST_DELAY: Duration = Duration::from_secs(6 * 3600);

    pub fn new(first_delay: Duration) -> Self {
        Retries { first_delay, failed: HashMap::new() }
    }

    pub fn ready(&self, what: &str) -> bool {
        self.failed.get(what).is_none_or(|(_, next)| Instant::now() >= *next)
    }

    pub fn failed(&mut self, what: &str) -> Duration {
        let attempts = self.failed.get(what).map_or(0, |(n, _)| *n) + 1;
        let delay = self.first_delay.saturating_mul(1 << (attempts - 1).min(16)).min(Self::LONGEST_DELAY);
        self.failed.insert(what.to_string(), (attempts, Instant::now() + delay));
        delay
    }

    pub fn done(&mut self, what: &str) {
        self.failed.remove(what);
    }
}

/// Where deliveries go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets<'a> {
    /// The escrow agent, for FULL and DIFF deposits.
    pub agent: Option<&'a SftpConfig>,
    /// ICANN's SFTP server, for BRDAs.
    pub brda: Option<&'a SftpConfig>,
    /// ICANN's reporting interface, for escrow deposits' reports.
    pub icann: Option<&'a IcannConfig>,
}

/// Delivers every deposit in `folder` (by its `_S1_` file) not yet delivered: an escrow deposit
/// to the agent first, then its report to ICANN; a BRDA to ICANN's server.
pub async fn deliver_pending(folder: &Path, targets: Targets<'_>, retries: &mut Retries) {
    let marks = folder.join(".delivered");
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    let mut deposits: Vec<String> =
        entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".ryde") && n.contains("_S1_")).collect();
    deposits.sort();
    for ryde in deposits {
        let base = ryde.trim_end_matches(".ryde").to_string();
        let (sftp, icann) = if base.contains("_thin_") { (targets.brda, None) } else { (targets.agent, targets.icann) };
        let (agent_mark, report_mark) = (marks.join(format!("{base}.agent")), marks.join(format!("{base}.icann")));
        if let Some(sftp) = sftp
            && !agent_mark.exists()
            && retries.ready(&agent_mark.to_string_lossy())
        {
            // A split deposit goes whole: every file with its signature.
            let files: Vec<PathBuf> =
                super::read::parts(&folder.join(&ryde)).into_iter().flat_map(|p| [p.clone(), p.with_extension("sig")]).collect();
            let target = sftp.clone();
            let sent = tokio::task::spawn_blocking(move || upload(&target, &files.iter().map(PathBuf::as_path).collect::<Vec<_>>()))
                .await
                .unwrap_or_else(|e| Err(DeliveryError::Sftp(e.to_string())));
            match sent.and_then(|()| mark(&agent_mark)) {
                Ok(()) => {
                    retries.done(&agent_mark.to_string_lossy());
                    tracing::info!(deposit = %base, host = %sftp.host, "deposit delivered");
                }
                Err(e) => {
                    let delay = retries.failed(&agent_mark.to_string_lossy());
                    tracing::error!(deposit = %base, host = %sftp.host, error = %e, retry_in_s = delay.as_secs(), "deposit not delivered");
                    continue;
                }
            }
        }
        // The report tells ICANN the agent has the deposit: only after it does.
        let delivered = sftp.is_none() || agent_mark.exists();
        let report = folder.join(format!("{base}-report.xml"));
        let Some(icann) = icann.filter(|_| delivered && report.exists() && !report_mark.exists()) else { continue };
        if !retries.ready(&report_mark.to_string_lossy()) {
            continue;
        }
        let (Some(tld), Ok(body)) = (base.split('_').next(), std::fs::read(&report)) else { continue };
        let Some(id) = report_id(&body) else {
            tracing::error!(report = %report.display(), "the report has no id");
            continue;
        };
        let sent = match put_report(icann, tld, &id, body).await {
            // ICANN has that report already (an earlier try was taken, its answer lost).
            Err(DeliveryError::Refused { iirdea: Some((PREVIOUSLY_SUBMITTED, _)), .. }) => {
                tracing::warn!(deposit = %base, %id, "ICANN had the report already");
                Ok(())
            }
            other => other,
        };
        match sent.and_then(|()| mark(&report_mark)) {
            Ok(()) => {
                retries.done(&report_mark.to_string_lossy());
                tracing::info!(deposit = %base, %id, "report accepted by ICANN");
            }
            Err(e) => {
                let delay = retries.failed(&report_mark.to_string_lossy());
                tracing::error!(deposit = %base, error = %e, retry_in_s = delay.as_secs(), "report not accepted by ICANN");
            }
        }
    }
}

fn mark(path: &Path) -> Result<(), DeliveryError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, b"")?;
    Ok(())
}

/// The `rdeReport:id` of a report.
fn report_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<rdeReport:id>")? + "<rdeReport:id>".len();
    Some(text[start..start + text[start..].find('<')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iirdea_answers_give_their_code_and_message() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><iirdea:response xmlns:iirdea="urn:ietf:params:xml:ns:iirdea-1.0"><iirdea:result code="2002"><iirdea:msg>A report for that ID was previously submitted</iirdea:msg></iirdea:result></iirdea:response>"#;
        assert_eq!(iirdea_result(xml), Some((2002, "A report for that ID was previously submitted".into())));
        assert_eq!(iirdea_result("not xml"), None);
    }

    #[test]
    fn failed_deliveries_wait_longer_each_time_up_to_a_bound() {
        let mut r = Retries::new(Duration::from_secs(60));
        assert!(r.ready("x"));
        let first = r.failed("x");
        assert!(!r.ready("x") && r.failed("x") > first);
        for _ in 0..20 {
            assert!(r.failed("x") <= Retries::LONGEST_DELAY);
        }
        r.done("x");
        assert!(r.ready("x"));
    }

    #[test]
    fn sftp_names_are_quoted() {
        assert_eq!(quote(r#"a "b"\c"#), r#""a \"b\"\\c""#);
    }
}
