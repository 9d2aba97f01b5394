//! EPP sessions for the benchmarks: TLS with a registrar's client
//! certificate, login, and the domain commands the load phases send.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

pub const TLD: &str = "bench";
pub const PASSWORD: &str = "bench-password-1";
pub const AUTH_INFO: &str = "Bench-Auth-Code-2026x";
pub const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Check,
    Create,
    Info,
    Update,
    Renew,
}

/// One logged-in EPP session and the domains it created.
pub struct Session {
    pub stream: TlsStream<TcpStream>,
    pub id: usize,
    pub registrar: String,
    pub transactions: u64,
    /// `(name, current expiry date YYYY-MM-DD)`.
    pub domains: Vec<(String, String)>,
    pub cursor: usize,
    /// Checks ask for the create fee too (fee-1.0), so prices are looked up.
    pub fee: bool,
}

impl Session {
    pub async fn open(addr: (&str, u16), tls: Arc<rustls::ClientConfig>, id: usize, registrar: &str) -> Session {
        let tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let connector = tokio_rustls::TlsConnector::from(tls);
        let stream = connector.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        let mut s = Session { stream, id, registrar: registrar.into(), transactions: 0, domains: Vec::new(), cursor: 0, fee: false };
        let _greeting = s.read().await;
        let login = format!(
            "<login><clID>{registrar}</clID><pw>{PASSWORD}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>{DOMAIN_NS}</objURI><objURI>urn:ietf:params:xml:ns:host-1.0</objURI><svcExtension><extURI>urn:ietf:params:xml:ns:epp:fee-1.0</extURI></svcExtension></svcs></login>"
        );
        let (code, r) = s.command(&login).await;
        assert_eq!(code, 1000, "login of {registrar}: {r}");
        s
    }

    pub async fn read(&mut self) -> String {
        let len = self.stream.read_u32().await.unwrap() as usize;
        let mut buf = vec![0u8; len - 4];
        self.stream.read_exact(&mut buf).await.unwrap();
        String::from_utf8(buf).unwrap()
    }

    pub async fn command(&mut self, body: &str) -> (u16, String) {
        self.transactions += 1;
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}<clTRID>B{}-{}</clTRID></command></epp>"#,
            self.id, self.transactions
        );
        let mut frame = Vec::with_capacity(xml.len() + 4);
        frame.extend_from_slice(&((xml.len() + 4) as u32).to_be_bytes());
        frame.extend_from_slice(xml.as_bytes());
        self.stream.write_all(&frame).await.unwrap();
        let response = self.read().await;
        let at = response.find("<result code=\"").expect("a result") + 14;
        (response[at..at + 4].parse().unwrap(), response)
    }

    /// The next domain this session created, round-robin.
    pub fn next_domain(&mut self) -> usize {
        let i = self.cursor % self.domains.len();
        self.cursor += 1;
        i
    }

    pub fn body(&mut self, op: Op) -> (String, usize) {
        let domain =
            |verb: &str, inner: &str| format!(r#"<{verb}><domain:{verb} xmlns:domain="{DOMAIN_NS}">{inner}</domain:{verb}></{verb}>"#);
        match op {
            Op::Create => {
                let name = format!("s{}-{}.{TLD}", self.id, self.domains.len());
                let inner = format!(
                    "<domain:name>{name}</domain:name><domain:period unit=\"y\">1</domain:period><domain:ns><domain:hostObj>ns1.{}.net</domain:hostObj></domain:ns><domain:authInfo><domain:pw>{AUTH_INFO}</domain:pw></domain:authInfo>",
                    self.registrar
                );
                self.domains.push((name, String::new()));
                (domain("create", &inner), self.domains.len() - 1)
            }
            Op::Check => {
                // Half the names exist, half are free.
                self.cursor += 1;
                let name = if self.cursor.is_multiple_of(2) && !self.domains.is_empty() {
                    self.domains[self.cursor / 2 % self.domains.len()].0.clone()
                } else {
                    format!("free-{}-{}.{TLD}", self.id, self.cursor)
                };
                let fee = if self.fee {
                    r#"<extension><fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check></extension>"#
                } else {
                    ""
                };
                (domain("check", &format!("<domain:name>{name}</domain:name>")) + fee, 0)
            }
            Op::Info => {
                let i = self.next_domain();
                (domain("info", &format!("<domain:name>{}</domain:name>", self.domains[i].0)), i)
            }
            Op::Update => {
                // Alternately adds and removes a client status: a real change each time.
                let pass = self.cursor / self.domains.len();
                let i = self.next_domain();
                let (verb, name) = (if pass.is_multiple_of(2) { "add" } else { "rem" }, &self.domains[i].0);
                let inner = format!(
                    "<domain:name>{name}</domain:name><domain:{verb}><domain:status s=\"clientTransferProhibited\"/></domain:{verb}>"
                );
                (domain("update", &inner), i)
            }
            Op::Renew => {
                let i = self.next_domain();
                let (name, expiry) = &self.domains[i];
                let inner = format!(
                    "<domain:name>{name}</domain:name><domain:curExpDate>{expiry}</domain:curExpDate><domain:period unit=\"y\">1</domain:period>"
                );
                (domain("renew", &inner), i)
            }
        }
    }
}

pub fn expiry_of(response: &str) -> String {
    let at = response.find("<domain:exDate>").expect("an exDate") + 15;
    response[at..at + 10].to_string()
}

#[derive(Default)]
pub struct PhaseResult {
    pub latencies_us: Vec<f64>,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Runs `op` on one session until `deadline`.
pub async fn drive(mut s: Session, op: Op, deadline: Instant) -> (Session, PhaseResult) {
    let mut result = PhaseResult::default();
    if op != Op::Create {
        // An update's add or remove follows from how often the cursor went
        // round the session's domains, so each phase starts from the first.
        // Creates keep counting: their names must stay new.
        s.cursor = 0;
    }
    while Instant::now() < deadline {
        let (body, index) = s.body(op);
        let started = Instant::now();
        let (code, response) = s.command(&body).await;
        result.latencies_us.push(started.elapsed().as_secs_f64() * 1e6);
        if code >= 2000 {
            result.errors += 1;
            result.first_error.get_or_insert(response);
            if op == Op::Create {
                s.domains.pop();
            }
            continue;
        }
        if matches!(op, Op::Create | Op::Renew) {
            s.domains[index].1 = expiry_of(&response);
        }
    }
    (s, result)
}

pub fn tls_config(tls_dir: &Path, registrar: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(tls_dir.join("ca.pem")).unwrap()).unwrap();
    let cert = CertificateDer::from_pem_file(tls_dir.join(format!("{registrar}.pem"))).unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_dir.join(format!("{registrar}.key"))).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![cert], key)
            .unwrap(),
    )
}
