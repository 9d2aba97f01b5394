//! EPP over TLS against the demo registry: login rules (RST epp-02/03),
//! commands and their extensions, the domain lifecycle with DNS following,
//! transfers with poll messages, host and contact rules (epp-08…27), bad
//! input and limits. Every response any test receives is validated with
//! xmllint against the EPP schemas; a stock client (instant-epp) is run too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_net::proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

use crate::common::*;

const DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
const HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
const CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
pub const ALL_EXT: &[&str] = &[
    "urn:ietf:params:xml:ns:secDNS-1.1",
    "urn:ietf:params:xml:ns:rgp-1.0",
    "urn:ietf:params:xml:ns:epp:fee-1.0",
    "urn:ietf:params:xml:ns:launch-1.0",
    "urn:ietf:params:xml:ns:allocationToken-1.0",
    "urn:ietf:params:xml:ns:changePoll-1.0",
];
pub const PW: &str = "demo-password-1";
pub const STRONG: &str = "Transfer-Code-2026x";

/// Every response of a test, for one xmllint run at its end.
#[derive(Clone, Default)]
pub struct Responses(Arc<Mutex<Vec<String>>>);

impl Responses {
    pub fn add(&self, doc: String) {
        self.0.lock().unwrap().push(doc);
    }

    /// Validates every response collected so far against the EPP schemas.
    pub fn validate(&self) {
        let docs = self.0.lock().unwrap().clone();
        assert!(!docs.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--noout".to_string(), "--schema".into(), concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/epp/all.xsd").into()];
        for (i, doc) in docs.iter().enumerate() {
            let path = dir.path().join(format!("response-{i}.xml"));
            std::fs::write(&path, doc).unwrap();
            args.push(path.to_string_lossy().into_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = tool("xmllint", &args);
        assert!(ok, "responses fail the EPP schemas:\n{out}{err}");
    }
}

pub struct Epp {
    stream: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    pub greeting: String,
    seen: Responses,
    n: u32,
}

fn tls_config(d: &TestDaemon, registrar: Option<&str>) -> Arc<rustls::ClientConfig> {
    tls_config_from(&d.config.tls_dir(), registrar)
}

/// Trusting the daemon's private CA in `tls`, presenting `registrar`'s certificate if any.
fn tls_config_from(tls: &std::path::Path, registrar: Option<&str>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(tls.join("ca.pem")).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match registrar {
        Some(r) => {
            let cert = CertificateDer::from_pem_file(tls.join(format!("{r}.pem"))).unwrap();
            let key = PrivateKeyDer::from_pem_file(tls.join(format!("{r}.key"))).unwrap();
            builder.with_client_auth_cert(vec![cert], key).unwrap()
        }
        None => builder.with_no_client_auth(),
    })
}

/// The result code of a response.
pub fn code(xml: &str) -> u16 {
    let at = xml.find("<result code=\"").expect("a result") + 14;
    xml[at..at + 4].parse().unwrap()
}

impl Epp {
    /// Connects presenting `certificate` (a registrar's, or none).
    pub async fn connect(d: &TestDaemon, certificate: Option<&str>, seen: &Responses) -> Epp {
        Self::connect_to(d, d.epp(), certificate, seen).await
    }

    pub async fn connect_to(d: &TestDaemon, addr: std::net::SocketAddr, certificate: Option<&str>, seen: &Responses) -> Epp {
        Self::over(&d.config.tls_dir(), tokio::net::TcpStream::connect(addr).await.unwrap(), certificate, seen).await
    }

    /// Connects to a daemon running elsewhere whose private CA is in `tls`.
    pub async fn connect_with_ca(tls: &std::path::Path, addr: std::net::SocketAddr, certificate: Option<&str>, seen: &Responses) -> Epp {
        Self::over(tls, tokio::net::TcpStream::connect(addr).await.unwrap(), certificate, seen).await
    }

    /// Connects from loopback address `source`.
    pub async fn connect_from(d: &TestDaemon, source: &str, certificate: Option<&str>, seen: &Responses) -> Epp {
        Self::over(&d.config.tls_dir(), connect_from(source, d.epp()).await, certificate, seen).await
    }

    async fn over(tls: &std::path::Path, tcp: tokio::net::TcpStream, certificate: Option<&str>, seen: &Responses) -> Epp {
        let connector = tokio_rustls::TlsConnector::from(tls_config_from(tls, certificate));
        let stream = connector.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        let mut epp = Epp { stream, greeting: String::new(), seen: seen.clone(), n: 0 };
        epp.greeting = epp.read().await.expect("a greeting");
        epp
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub async fn read(&mut self) -> Option<String> {
        let len = tokio::time::timeout(Duration::from_secs(30), self.stream.read_u32()).await.ok()?.ok()?;
        let mut buf = vec![0u8; len as usize - 4];
        self.stream.read_exact(&mut buf).await.ok()?;
        let text = String::from_utf8(buf).unwrap();
        self.seen.0.lock().unwrap().push(text.clone());
        Some(text)
    }

    /// Sends a whole document and returns the response.
    pub async fn send(&mut self, xml: &str) -> String {
        let mut framed = ((xml.len() + 4) as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(xml.as_bytes());
        self.write_raw(&framed).await;
        self.read().await.expect("a response")
    }

    /// Sends `<command>{body}<clTRID>…</clTRID></command>` with `extension` if any.
    pub async fn command(&mut self, body: &str, extension: &str) -> String {
        self.n += 1;
        let ext = if extension.is_empty() { String::new() } else { format!("<extension>{extension}</extension>") };
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}{ext}<clTRID>TEST-{}</clTRID></command></epp>"#,
            self.n
        );
        let response = self.send(&xml).await;
        assert!(response.contains(&format!("<clTRID>TEST-{}</clTRID>", self.n)), "clTRID echoed: {response}");
        response
    }

    pub async fn login_with(&mut self, id: &str, pw: &str, extensions: &[&str]) -> String {
        let ext: String = extensions.iter().map(|e| format!("<extURI>{e}</extURI>")).collect();
        let body = format!(
            "<login><clID>{id}</clID><pw>{pw}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>{DOMAIN}</objURI><objURI>{HOST}</objURI><objURI>{CONTACT}</objURI><svcExtension>{ext}</svcExtension></svcs></login>"
        );
        self.command(&body, "").await
    }

    /// A logged-in session of `registrar` with every extension declared.
    pub async fn session(d: &TestDaemon, registrar: &str, seen: &Responses) -> Epp {
        Self::session_at(d, d.epp(), registrar, seen).await
    }

    pub async fn session_at(d: &TestDaemon, addr: std::net::SocketAddr, registrar: &str, seen: &Responses) -> Epp {
        let mut epp = Epp::connect_to(d, addr, Some(registrar), seen).await;
        let r = epp.login_with(registrar, PW, ALL_EXT).await;
        assert_eq!(code(&r), 1000, "{r}");
        epp
    }

    /// Reads and acknowledges every queued poll message; returns them.
    pub async fn drain_poll(&mut self) -> Vec<String> {
        let mut messages = Vec::new();
        loop {
            let r = self.command(r#"<poll op="req"/>"#, "").await;
            if code(&r) == 1300 {
                return messages;
            }
            assert_eq!(code(&r), 1301, "{r}");
            let at = r.find(" id=\"").expect("msgQ id") + 5;
            let id: String = r[at..].chars().take_while(char::is_ascii_digit).collect();
            assert_eq!(code(&self.command(&format!(r#"<poll op="ack" msgID="{id}"/>"#), "").await), 1000);
            messages.push(r);
        }
    }

    pub async fn domain(&mut self, verb: &str, inner: &str, extension: &str) -> String {
        let open = if verb.starts_with("transfer") { format!("<transfer op=\"{}\">", &verb[9..]) } else { format!("<{verb}>") };
        let close = if verb.starts_with("transfer") { "</transfer>".to_string() } else { format!("</{verb}>") };
        let tag = if verb.starts_with("transfer") { "transfer" } else { verb };
        self.command(&format!(r#"{open}<domain:{tag} xmlns:domain="{DOMAIN}">{inner}</domain:{tag}>{close}"#), extension).await
    }

    pub async fn host(&mut self, verb: &str, inner: &str) -> String {
        self.command(&format!(r#"<{verb}><host:{verb} xmlns:host="{HOST}">{inner}</host:{verb}></{verb}>"#), "").await
    }

    pub async fn contact(&mut self, verb: &str, inner: &str) -> String {
        self.command(&format!(r#"<{verb}><contact:{verb} xmlns:contact="{CONTACT}">{inner}</contact:{verb}></{verb}>"#), "").await
    }

    /// True once the server has closed the connection.
    pub async fn closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }
}

pub fn create_body(name: &str, years: &str, ns: &[&str], pw: &str) -> String {
    let ns: String = ns.iter().map(|n| format!("<domain:hostObj>{n}</domain:hostObj>")).collect();
    let ns = if ns.is_empty() { String::new() } else { format!("<domain:ns>{ns}</domain:ns>") };
    format!(
        "<domain:name>{name}</domain:name><domain:period unit=\"y\">{years}</domain:period>{ns}<domain:authInfo><domain:pw>{pw}</domain:pw></domain:authInfo>"
    )
}

pub const DS: &str = "<secDNS:create xmlns:secDNS=\"urn:ietf:params:xml:ns:secDNS-1.1\"><secDNS:dsData><secDNS:keyTag>4242</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372</secDNS:digest></secDNS:dsData></secDNS:create>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greeting_and_login_follow_rst_epp_02_and_03() {
    let d = TestDaemon::start(true, |c, _| c.epp.failed_logins_max = 3).await;
    let seen = Responses::default();
    let mut epp = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    seen.0.lock().unwrap().push(epp.greeting.clone());
    for uri in [
        "secDNS-1.1",
        "rgp-1.0",
        "launch-1.0",
        "epp:loginSec-1.0",
        "changePoll-1.0",
        "epp:secure-authinfo-transfer-1.0",
        "epp:unhandled-namespaces-1.0",
        "epp:fee-1.0",
    ] {
        assert!(epp.greeting.contains(&format!("<extURI>urn:ietf:params:xml:ns:{uri}</extURI>")), "{uri}: {}", epp.greeting);
    }
    assert_eq!(epp.greeting.matches("<version>1.0</version>").count(), 1);
    // Before login: nothing but hello and login.
    assert_eq!(code(&epp.domain("check", "<domain:name>a.example</domain:name>", "").await), 2002);
    let hello = epp.send(r#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#).await;
    assert!(hello.contains("<greeting>"));
    // Unknown client, wrong password, unknown extension, wrong version.
    assert_eq!(code(&epp.login_with("nobody-here", PW, &[]).await), 2200);
    assert_eq!(code(&epp.login_with("demo-registrar", "wrong-password", &[]).await), 2200);
    assert_eq!(code(&epp.login_with("demo-registrar", PW, &["urn:example:unknown-1.0"]).await), 2103);
    epp.login_with("demo-registrar", PW, &[]).await; // reaches the login itself: succeeds
    assert_eq!(code(&epp.login_with("demo-registrar", PW, &[]).await), 2002, "already logged in");

    // The other registrar's certificate, and none at all: refused although id and password are right.
    // Not counted either: such a peer can never log in, so it cannot lock the registrar out.
    let mut other_cert = Epp::connect(&d, Some("other-registrar"), &seen).await;
    assert_eq!(code(&other_cert.login_with("demo-registrar", PW, &[]).await), 2200);
    let mut no_cert = Epp::connect(&d, None, &seen).await;
    for _ in 0..4 {
        assert_eq!(code(&no_cert.login_with("demo-registrar", PW, &[]).await), 2200);
    }
    // Wrong passwords with the pinned certificate from an allowed address do
    // count: the third locks that client id out for this network and closes.
    let mut guesser = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    for _ in 0..2 {
        assert_eq!(code(&guesser.login_with("demo-registrar", "wrong-password", &[]).await), 2200);
    }
    let r = guesser.login_with("demo-registrar", "wrong-password", &[]).await;
    assert_eq!(code(&r), 2501, "{r}");
    assert!(guesser.closed().await);
    let mut locked = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&locked.login_with("demo-registrar", PW, &[]).await), 2501, "locked out even with the right credentials");
    // The registrar's other network (127.0.1.0/24 is another /24) is not locked out.
    let mut elsewhere = Epp::connect_from(&d, "127.0.1.1", Some("demo-registrar"), &seen).await;
    assert_eq!(code(&elsewhere.login_with("demo-registrar", PW, &[]).await), 1000);

    let bye = epp.command("<logout/>", "").await;
    assert_eq!(code(&bye), 1500);
    assert!(epp.closed().await);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_input_gets_the_rfc_codes() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut epp = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&epp.login_with("demo-registrar", PW, &["urn:ietf:params:xml:ns:secDNS-1.1"]).await), 1000);
    for (doc, expected) in [
        ("<epp><unclosed>", 2001),
        (r#"<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY boom "x">]><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">&boom;</epp>"#, 2001),
        (r#"<epp xmlns="urn:example:wrong"><hello/></epp>"#, 2001),
        (r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><frobnicate/></command></epp>"#, 2000),
    ] {
        assert_eq!(code(&epp.send(doc).await), expected, "{doc}");
    }
    let deep = format!(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">{}{}</epp>"#, "<a>".repeat(100), "</a>".repeat(100));
    assert_eq!(code(&epp.send(&deep).await), 2001);
    // An extension nobody offers, and one offered but not declared at login.
    let fee = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check>"#;
    assert_eq!(code(&epp.domain("check", "<domain:name>a.example</domain:name>", fee).await), 2002);
    let unknown = r#"<x:thing xmlns:x="urn:example:thing-1.0"/>"#;
    assert_eq!(code(&epp.domain("check", "<domain:name>a.example</domain:name>", unknown).await), 2103);
    // The session is still good.
    let r = epp.domain("check", "<domain:name>hello.example</domain:name><domain:name>free.example</domain:name><domain:name>bad_name.example</domain:name><domain:name>x.other</domain:name>", "").await;
    assert_eq!(code(&r), 1000);
    assert!(r.contains(r#"<domain:name avail="0">hello.example</domain:name><domain:reason>in use</domain:reason>"#), "{r}");
    assert!(r.contains(r#"<domain:name avail="1">free.example</domain:name>"#), "{r}");
    // Punycode that is no IDNA2008 A-label (a leading combining mark): unavailable with a reason, refused on create.
    let r = epp.domain("check", "<domain:name>xn--a-wbb.example</domain:name><domain:name>xn--4ca0bs.example</domain:name>", "").await;
    assert!(
        r.contains(r#"<domain:name avail="0">xn--a-wbb.example</domain:name><domain:reason>not an IDNA2008 A-label</domain:reason>"#),
        "{r}"
    );
    assert!(r.contains(r#"<domain:name avail="1">xn--4ca0bs.example</domain:name>"#), "{r}");
    let r = epp
        .domain(
            "create",
            &format!("<domain:name>xn--a-wbb.example</domain:name><domain:authInfo><domain:pw>{STRONG}</domain:pw></domain:authInfo>"),
            "",
        )
        .await;
    assert_eq!(code(&r), 2005, "{r}");
    // A check of nothing breaks the schema (2001) for every object; a check of too much is policy (2306).
    assert_eq!(code(&epp.domain("check", "", "").await), 2001);
    assert_eq!(code(&epp.host("check", "").await), 2001);
    assert_eq!(code(&epp.contact("check", "").await), 2001);
    let many: String = (0..101).map(|i| format!("<host:name>ns{i}.example.net</host:name>")).collect();
    assert_eq!(code(&epp.host("check", &many).await), 2306);
    // Characters XML 1.0 cannot carry, raw or referenced, are a 2001 that does not echo them, and nothing is stored.
    for (i, bad) in ["&#1;", "&#x1b;[31m", "\u{1b}[31m", "\u{0}", "<![CDATA[\u{7}]]>"].iter().enumerate() {
        let id = format!("ctl-{i}");
        let contact = format!(
            "<contact:id>{id}</contact:id><contact:postalInfo type=\"loc\"><contact:name>A{bad}B</contact:name><contact:addr><contact:city>Rome</contact:city><contact:cc>IT</contact:cc></contact:addr></contact:postalInfo><contact:email>r@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
        );
        let r = epp
            .send(&format!(
                r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><contact:create xmlns:contact="{CONTACT}">{contact}</contact:create></create><clTRID>CTL-{i}</clTRID></command></epp>"#
            ))
            .await;
        assert_eq!(code(&r), 2001, "{bad}: {r}");
        assert!(!r.contains(['\u{0}', '\u{1}', '\u{7}', '\u{1b}']) && !r.contains("&#"), "{r}");
        let r = epp.contact("check", &format!("<contact:id>{id}</contact:id>")).await;
        assert!(r.contains(&format!(r#"<contact:id avail="1">{id}</contact:id>"#)), "{r}");
    }
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_lives_its_life_over_epp_and_dns_follows() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut epp = Epp::session(&d, "demo-registrar", &seen).await;

    let check = epp
        .domain("check", "<domain:name>life.example</domain:name>", r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"><fee:period unit="y">2</fee:period></fee:command></fee:check>"#)
        .await;
    assert!(check.contains("<fee:fee refundable=\"1\" grace-period=\"P5D\">20.00</fee:fee>"), "{check}");
    let wrong_fee = r#"<fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:currency>USD</fee:currency><fee:fee>1.00</fee:fee></fee:create>"#;
    assert_eq!(
        code(&epp.domain("create", &create_body("life.example", "2", &["ns1.example.net"], ""), &format!("{DS}{wrong_fee}")).await),
        2004
    );
    let right_fee = wrong_fee.replace("1.00", "20.00");
    let created = epp.domain("create", &create_body("life.example", "2", &["ns1.example.net"], ""), &format!("{DS}{right_fee}")).await;
    assert_eq!(code(&created), 1000, "{created}");
    assert!(created.contains("<fee:balance>980.00</fee:balance>"), "{created}");
    let r = d.query("life.example.", RecordType::DS).await;
    assert_eq!(r.answers.len(), 1, "in DNS at once, with its DS");

    let info = epp.domain("info", "<domain:name>life.example</domain:name>", "").await;
    assert!(
        info.contains("<domain:clID>demo-registrar</domain:clID>") && info.contains("<domain:crID>demo-registrar</domain:crID>"),
        "{info}"
    );
    assert!(info.contains("<secDNS:keyTag>4242</secDNS:keyTag>") && info.contains(r#"<rgp:rgpStatus s="addPeriod"/>"#), "{info}");
    assert!(info.contains("<domain:roid>D") && info.contains("-DOS</domain:roid>"), "ROID with the repository suffix");
    assert!(!info.contains("<domain:authInfo>"), "RFC 9154: never returned");

    // Update: name servers, a client hold (out of DNS), then lifted.
    let upd = "<domain:name>life.example</domain:name><domain:add><domain:ns><domain:hostObj>ns2.example.net</domain:hostObj></domain:ns><domain:status s=\"clientHold\"/></domain:add>";
    assert_eq!(code(&epp.domain("update", upd, "").await), 1000);
    assert_eq!(d.query("life.example.", RecordType::NS).await.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain);
    let server = "<domain:name>life.example</domain:name><domain:add><domain:status s=\"serverHold\"/></domain:add>";
    assert_eq!(code(&epp.domain("update", server, "").await), 2201, "registrars set client statuses only");
    let lift = "<domain:name>life.example</domain:name><domain:rem><domain:status s=\"clientHold\"/></domain:rem>";
    assert_eq!(code(&epp.domain("update", lift, "").await), 1000);
    assert_eq!(d.query("life.example.", RecordType::NS).await.authorities.len(), 2);

    // Renew: the current expiry date must match; ten years is the horizon.
    let exp_at = info.find("<domain:exDate>").unwrap() + 15;
    let date = &info[exp_at..exp_at + 10];
    let renew = |years: &str, date: &str| {
        format!(
            "<domain:name>life.example</domain:name><domain:curExpDate>{date}</domain:curExpDate><domain:period unit=\"y\">{years}</domain:period>"
        )
    };
    assert_eq!(code(&epp.domain("renew", &renew("1", "2001-01-01"), "").await), 2306);
    assert_eq!(code(&epp.domain("renew", &renew("9", date), "").await), 2004);
    let renewed = epp.domain("renew", &renew("1", date), "").await;
    assert_eq!(code(&renewed), 1000, "{renewed}");
    let info = epp.domain("info", "<domain:name>life.example</domain:name>", "").await;
    assert!(info.contains(r#"<rgp:rgpStatus s="renewPeriod"/>"#), "{info}");

    // Delete within the add grace period: gone at once, everything credited.
    let deleted = epp.domain("delete", "<domain:name>life.example</domain:name>", "").await;
    assert_eq!(code(&deleted), 1000, "{deleted}");
    assert!(deleted.contains("<fee:credit>-30.00</fee:credit>"), "{deleted}");
    assert_eq!(code(&epp.domain("info", "<domain:name>life.example</domain:name>", "").await), 2303);
    assert_eq!(d.query("life.example.", RecordType::NS).await.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain);

    // The account history holds every debit and credit, with its command and
    // the balance after it; a delete in grace credits each grace period's fee.
    let history = d.ok("GET", "/v1/registrars/demo-registrar/ledger", None).await;
    let entries: Vec<_> = history["entries"].as_array().unwrap().iter().filter(|e| e["domain"] == "life.example").collect();
    let seen_reasons: Vec<_> = entries.iter().map(|e| (e["reason"].as_str().unwrap(), e["amount"].as_str().unwrap())).collect();
    assert_eq!(
        seen_reasons,
        [("domain create", "-20.00"), ("domain renew", "-10.00"), ("domain delete in grace", "20.00"), ("domain delete in grace", "10.00")],
        "{history}"
    );
    let last = history["entries"].as_array().unwrap().last().unwrap();
    let balance = d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].clone();
    assert_eq!(last["balance"], balance, "the last entry's balance is the registrar's");
    let seq = entries[0]["seq"].as_u64().unwrap();
    let page = d.ok("GET", &format!("/v1/registrars/demo-registrar/ledger?after={seq}&limit=1"), None).await;
    assert_eq!(page["entries"][0]["reason"], "domain renew", "{page}");
    assert_eq!(d.api("GET", "/v1/registrars/nobody/ledger", None).await.0, 404);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_move_domains_between_registrars_with_poll_messages() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut losing = Epp::session(&d, "demo-registrar", &seen).await;
    let mut gaining = Epp::session(&d, "other-registrar", &seen).await;
    // The demo's registry-side changes (serverHold, glue) were announced by change poll.
    let seeded = losing.drain_poll().await;
    assert!(!seeded.is_empty() && seeded.iter().all(|m| m.contains("<changePoll:who>registry</changePoll:who>")), "{seeded:?}");
    gaining.drain_poll().await;
    assert_eq!(code(&losing.domain("create", &create_body("move.example", "1", &["ns1.example.net"], ""), "").await), 1000);
    // RFC 9154: weak codes are refused.
    let set_pw = |pw: &str| {
        format!(
            "<domain:name>move.example</domain:name><domain:chg><domain:authInfo><domain:pw>{pw}</domain:pw></domain:authInfo></domain:chg>"
        )
    };
    assert_eq!(code(&losing.domain("update", &set_pw("secret"), "").await), 2306);
    assert_eq!(code(&losing.domain("update", &set_pw(STRONG), "").await), 1000);
    assert_eq!(code(&gaining.domain("update", &set_pw(STRONG), "").await), 2201, "not the sponsor");

    let request = |pw: &str, years: &str| {
        format!(
            "<domain:name>move.example</domain:name><domain:period unit=\"y\">{years}</domain:period><domain:authInfo><domain:pw>{pw}</domain:pw></domain:authInfo>"
        )
    };
    assert_eq!(code(&gaining.domain("transfer request", &request("Wrong-Code-2026xx", "1"), "").await), 2202);
    assert_eq!(code(&gaining.domain("transfer request", &request(STRONG, "10"), "").await), 2004, "beyond ten years");
    let requested = gaining.domain("transfer request", &request(STRONG, "1"), "").await;
    assert_eq!(code(&requested), 1001, "{requested}");
    assert!(requested.contains("<domain:trStatus>pending</domain:trStatus>"));
    let info = losing.domain("info", "<domain:name>move.example</domain:name>", "").await;
    assert!(info.contains(r#"<domain:status s="pendingTransfer"/>"#), "{info}");
    let query = gaining.domain("transfer query", &request(STRONG, "1"), "").await;
    assert!(
        query.contains("<domain:reID>other-registrar</domain:reID>") && query.contains("<domain:acID>demo-registrar</domain:acID>"),
        "{query}"
    );

    // The losing registrar hears of it by poll, then approves.
    let poll = losing.command(r#"<poll op="req"/>"#, "").await;
    assert_eq!(code(&poll), 1301, "{poll}");
    assert!(poll.contains("<domain:trStatus>pending</domain:trStatus>"), "{poll}");
    let id_at = poll.find("<msgQ count=\"1\" id=\"").expect(&poll) + 20;
    let id: String = poll[id_at..].chars().take_while(char::is_ascii_digit).collect();
    let ack = losing.command(&format!(r#"<poll op="ack" msgID="{id}"/>"#), "").await;
    assert_eq!(code(&ack), 1000);
    assert!(ack.contains(&format!(r#"<msgQ count="0" id="{id}"/>"#)), "{ack}");
    assert_eq!(code(&losing.command(r#"<poll op="req"/>"#, "").await), 1300);
    assert_eq!(code(&losing.command(r#"<poll op="ack" msgID="999999"/>"#, "").await), 2303);

    assert_eq!(code(&gaining.domain("transfer approve", "<domain:name>move.example</domain:name>", "").await), 2201);
    let approved = losing.domain("transfer approve", "<domain:name>move.example</domain:name>", "").await;
    assert_eq!(code(&approved), 1000, "{approved}");
    assert!(approved.contains("<domain:trStatus>clientApproved</domain:trStatus>"));
    let info = gaining.domain("info", "<domain:name>move.example</domain:name>", "").await;
    assert!(
        info.contains("<domain:clID>other-registrar</domain:clID>") && info.contains(r#"<rgp:rgpStatus s="transferPeriod"/>"#),
        "{info}"
    );
    // RFC 9154: the code is reset; the old one no longer works.
    assert_eq!(code(&losing.domain("transfer request", &request(STRONG, "1"), "").await), 2202);
    let gaining_poll = gaining.command(r#"<poll op="req"/>"#, "").await;
    assert!(gaining_poll.contains("<domain:trStatus>clientApproved</domain:trStatus>"), "{gaining_poll}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_refused_with_the_rst_codes() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut epp = Epp::session(&d, "demo-registrar", &seen).await;
    for (years, expected) in [("-1", 2001), ("1.5", 2001), ("0", 2001), ("11", 2004)] {
        assert_eq!(code(&epp.domain("create", &create_body("period.example", years, &[], ""), "").await), expected, "period {years}");
    }
    let months = "<domain:name>period.example</domain:name><domain:period unit=\"m\">18</domain:period><domain:authInfo><domain:pw/></domain:authInfo>";
    assert_eq!(code(&epp.domain("create", months, "").await), 2306);
    for addr in [
        r#"<host:addr ip="v4">256.1.1.1</host:addr>"#,
        r#"<host:addr ip="v6">::X</host:addr>"#,
        r#"<host:addr ip="v6">192.0.2.1</host:addr>"#,
    ] {
        let r = epp.host("create", &format!("<host:name>ns7.hello.example</host:name>{addr}")).await;
        assert_eq!(code(&r), 2005, "{addr}: {r}");
    }
    // Addresses no resolver can use as glue, and private ones the default policy leaves out: 2306, nothing stored.
    for (version, addr) in
        [("v4", "127.0.0.1"), ("v4", "169.254.0.1"), ("v6", "fe80::1"), ("v6", "::ffff:192.0.2.1"), ("v4", "10.0.0.53"), ("v6", "fd00::53")]
    {
        let r =
            epp.host("create", &format!(r#"<host:name>ns7.hello.example</host:name><host:addr ip="{version}">{addr}</host:addr>"#)).await;
        assert_eq!(code(&r), 2306, "{addr}: {r}");
        assert!(r.contains("not usable as a name server address"), "{r}");
        let r = epp
            .host(
                "update",
                &format!(r#"<host:name>ns1.hello.example</host:name><host:add><host:addr ip="{version}">{addr}</host:addr></host:add>"#),
            )
            .await;
        assert_eq!(code(&r), 2306, "{addr}: {r}");
    }
    assert!(epp.host("check", "<host:name>ns7.hello.example</host:name>").await.contains(r#"avail="1""#));
    // Reads are counted for the reports under the TLD of the name, as writes are: hosts too.
    assert_eq!(code(&epp.host("info", "<host:name>ns1.hello.example</host:name>").await), 1000);
    let counted = eventually(Duration::from_secs(10), async || {
        d.registry().snapshot().counters("").unwrap().iter().any(|(k, _)| k.ends_with("|example|demo-registrar|host|info|ok"))
    })
    .await;
    assert!(counted, "{:?}", d.registry().snapshot().counters("").unwrap());
    // Private ranges are the TLD's choice; the unusable ones stay refused whatever it chooses.
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"glue_private_allowed": true}))).await;
    let private = r#"<host:name>ns7.hello.example</host:name><host:addr ip="v4">10.0.0.53</host:addr>"#;
    assert_eq!(code(&epp.host("create", private).await), 1000);
    let loopback = r#"<host:name>ns8.hello.example</host:name><host:addr ip="v4">127.0.0.1</host:addr>"#;
    assert_eq!(code(&epp.host("create", loopback).await), 2306);
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"glue_documentation_allowed": false}))).await;
    let documentation = r#"<host:name>ns8.hello.example</host:name><host:addr ip="v6">2001:db8::8</host:addr>"#;
    assert_eq!(code(&epp.host("create", documentation).await), 2306);
    assert_eq!(
        d.ok("GET", "/v1/tlds/example", None).await["glue_addresses"],
        serde_json::json!({"private_allowed": true, "documentation_allowed": false})
    );
    let bad_ds = |alg: &str, digest_type: &str, digest: &str| {
        format!(
            "<secDNS:create xmlns:secDNS=\"urn:ietf:params:xml:ns:secDNS-1.1\"><secDNS:dsData><secDNS:keyTag>1</secDNS:keyTag><secDNS:alg>{alg}</secDNS:alg><secDNS:digestType>{digest_type}</secDNS:digestType><secDNS:digest>{digest}</secDNS:digest></secDNS:dsData></secDNS:create>"
        )
    };
    let body = create_body("ds.example", "1", &[], "");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("99", "2", &"AB".repeat(32))).await), 2306, "unknown algorithm");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("7", "2", &"AB".repeat(32))).await), 2306, "RSA/SHA-1 (RST dnssec-91)");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("13", "1", &"AB".repeat(20))).await), 2306, "SHA-1 digest (RST dnssec-92)");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("13", "3", &"AB".repeat(32))).await), 2306, "GOST digest (RST dnssec-92)");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("13", "2", "ABCD")).await), 2306, "digest of the wrong length");
    assert_eq!(code(&epp.domain("create", &body, &bad_ds("13", "2", "XYZ")).await), 2005, "not hex");
    let host_attr = "<domain:name>attr.example</domain:name><domain:ns><domain:hostAttr><domain:hostName>ns1.attr.example</domain:hostName><domain:hostAddr ip=\"v4\">192.0.2.1</domain:hostAddr></domain:hostAttr></domain:ns><domain:authInfo><domain:pw/></domain:authInfo>";
    assert_eq!(code(&epp.domain("create", host_attr, "").await), 2306, "host objects only");
    assert_eq!(code(&epp.domain("create", &create_body("nohost.example", "1", &["ns9.nowhere.test"], ""), "").await), 2303);
    assert_eq!(code(&epp.domain("create", &create_body("bad_name.example", "1", &[], ""), "").await), 2005);
    assert_eq!(code(&epp.domain("create", &create_body("x.other", "1", &[], ""), "").await), 2306);
    assert_eq!(code(&epp.domain("create", &create_body("hello.example", "1", &[], ""), "").await), 2302);
    let weak = create_body("weak.example", "1", &[], "password");
    assert_eq!(code(&epp.domain("create", &weak, "").await), 2306);
    let urgent = r#"<secDNS:update xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1" urgent="true"><secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem></secDNS:update>"#;
    assert_eq!(code(&epp.domain("update", "<domain:name>hello.example</domain:name>", urgent).await), 2102);
    let launch = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>sunrise</launch:phase></launch:create>"#;
    assert_eq!(code(&epp.domain("create", &create_body("sun.example", "1", &[], ""), launch).await), 2306);
    let open = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>open</launch:phase></launch:create>"#;
    assert_eq!(code(&epp.domain("create", &create_body("open.example", "1", &[], ""), open).await), 1000);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_rules_of_rst_epp_12_23_25_26_27() {
    let d = TestDaemon::start(true, |_, _| {}).await;
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"glue_policy": "wide"}))).await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    assert_eq!(code(&b.domain("create", &create_body("bees.example", "1", &["ns1.example.net"], ""), "").await), 1000);
    // epp-25/26: no host, with or without glue, under another registrar's domain.
    assert_eq!(code(&a.host("create", r#"<host:name>ns1.bees.example</host:name><host:addr ip="v4">192.0.2.9</host:addr>"#).await), 2201);
    assert_eq!(code(&a.host("create", "<host:name>ns2.bees.example</host:name>").await), 2201);
    // epp-27: a glueless in-zone host cannot be delegated to.
    assert_eq!(code(&b.host("create", "<host:name>bare.bees.example</host:name>").await), 1000);
    let delegate = "<domain:name>bees.example</domain:name><domain:add><domain:ns><domain:hostObj>bare.bees.example</domain:hostObj></domain:ns></domain:add>";
    assert_eq!(code(&b.domain("update", delegate, "").await), 2306);
    // epp-12: only the sponsor updates a host.
    assert_eq!(
        code(
            &a.host("update", r#"<host:name>bare.bees.example</host:name><host:add><host:addr ip="v4">192.0.2.10</host:addr></host:add>"#)
                .await
        ),
        2201
    );
    // epp-23: renames.
    assert_eq!(code(&a.host("create", "<host:name>ns.rename-me.net</host:name>").await), 1000);
    let rename = |to: &str| format!("<host:name>ns.rename-me.net</host:name><host:chg><host:name>{to}</host:name></host:chg>");
    assert_eq!(code(&a.host("update", &rename("bad_name.net")).await), 2005);
    assert_eq!(code(&a.host("update", &rename("ns.nonexistent.example")).await), 2303);
    assert_eq!(code(&a.host("update", &rename("ns.bees.example")).await), 2201, "into another registrar's domain");
    assert_eq!(code(&a.host("update", &rename("ns.other-tld.net")).await), 1000, "to another external name");
    let uses = "<domain:name>bees.example</domain:name><domain:add><domain:ns><domain:hostObj>ns.other-tld.net</domain:hostObj></domain:ns></domain:add>";
    assert_eq!(code(&b.domain("update", uses, "").await), 1000);
    let again = "<host:name>ns.other-tld.net</host:name><host:chg><host:name>ns.third.net</host:name></host:chg>";
    assert_eq!(code(&a.host("update", again).await), 2305, "linked to another registrar's domain");
    assert_eq!(code(&a.host("delete", "<host:name>ns.other-tld.net</host:name>").await), 2305);
    let info = a.host("info", "<host:name>ns.other-tld.net</host:name>").await;
    assert!(info.contains(r#"<host:status s="linked"/>"#), "{info}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_belong_to_their_sponsor() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    let create = format!(
        "<contact:id>jd-1234</contact:id><contact:postalInfo type=\"int\"><contact:name>John Doe</contact:name><contact:addr><contact:street>123 Example Dr.</contact:street><contact:city>Dulles</contact:city><contact:cc>US</contact:cc></contact:addr></contact:postalInfo><contact:voice x=\"1234\">+1.7035555555</contact:voice><contact:email>jdoe@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
    );
    let r = a.contact("create", &create).await;
    assert_eq!(code(&r), 1000, "{r}");
    assert_eq!(code(&a.contact("create", &create).await), 2302);
    let info = a.contact("info", "<contact:id>jd-1234</contact:id>").await;
    assert!(info.contains("<contact:email>jdoe@example.net</contact:email>") && info.contains(r#"<contact:voice x="1234">"#), "{info}");
    // epp-08: another registrar may neither read nor change it.
    assert_eq!(code(&b.contact("info", "<contact:id>jd-1234</contact:id>").await), 2201);
    let update = "<contact:id>jd-1234</contact:id><contact:chg><contact:email>evil@example.net</contact:email></contact:chg>";
    assert_eq!(code(&b.contact("update", update).await), 2201);
    assert_eq!(code(&a.contact("update", &update.replace("evil", "jane")).await), 1000);
    // epp-15: linked contacts are not deleted.
    let body = "<domain:name>owned.example</domain:name><domain:registrant>jd-1234</domain:registrant><domain:authInfo><domain:pw/></domain:authInfo>";
    assert_eq!(code(&a.domain("create", body, "").await), 1000);
    assert_eq!(code(&a.contact("delete", "<contact:id>jd-1234</contact:id>").await), 2305);
    let check = a.contact("check", "<contact:id>jd-1234</contact:id><contact:id>free-1</contact:id>").await;
    assert!(
        check.contains(r#"<contact:id avail="0">jd-1234</contact:id>"#) && check.contains(r#"<contact:id avail="1">free-1</contact:id>"#)
    );
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_close_sessions_with_2500_and_2502() {
    // The command budget runs on the registry's clock: frozen here, so it never refills.
    let clock = domain_os::model::ManualClock::new(domain_os::model::Timestamp::parse_rfc3339("2026-01-15T12:00:00Z").unwrap());
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.epp.commands_per_second = 5;
        c.epp.sessions_per_registrar_max = 1;
        c.epp.frame_timeout_s = 1;
    })
    .await;
    let seen = Responses::default();
    // Oversize frame: 2500 and closed.
    let mut big = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    big.write_raw(&(10_000_000u32).to_be_bytes()).await;
    let r = big.read().await.expect("a 2500");
    assert_eq!(code(&r), 2500);
    assert!(big.closed().await);
    // A length prefix that lies: closed once the frame timeout passes.
    let mut liar = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    liar.write_raw(&[0, 0, 1, 0, b'<']).await;
    assert!(liar.closed().await);
    // One session per registrar here.
    let mut first = Epp::session(&d, "demo-registrar", &seen).await;
    let mut second = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&second.login_with("demo-registrar", PW, &[]).await), 2502);
    assert!(second.closed().await);
    // Five commands a second: the login and four checks, then 2502 and closed.
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(code(&first.domain("check", "<domain:name>a.example</domain:name>", "").await));
    }
    assert_eq!(codes, [1000, 1000, 1000, 1000, 2502]);
    assert!(first.closed().await);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_and_crowding_peers_are_bounded() {
    let d = TestDaemon::start(true, |c, _| {
        c.epp.login_timeout_s = 2;
        c.epp.connections_per_address_max = 2;
    })
    .await;
    let seen = Responses::default();
    // `<hello/>` every 300 ms does not keep an unauthenticated connection open past the login deadline.
    let mut chatty = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    let started = std::time::Instant::now();
    let hello = r#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#;
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(20) {
        let mut framed = ((hello.len() + 4) as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(hello.as_bytes());
        if chatty.stream.write_all(&framed).await.is_err() || chatty.read().await.is_none() {
            break;
        }
        answered += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(answered >= 1 && started.elapsed() < Duration::from_secs(20), "closed at the login deadline after {answered} hellos");
    drop(chatty);

    // Two idle connections fill this address's share; the third gets 2502 in place of a greeting.
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(d.epp()).await.unwrap());
    }
    let connector = tokio_rustls::TlsConnector::from(tls_config(&d, Some("demo-registrar")));
    let tcp = tokio::net::TcpStream::connect(d.epp()).await.unwrap();
    let stream = connector.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let mut refused = Epp { stream, greeting: String::new(), seen: seen.clone(), n: 0 };
    let r = refused.read().await.expect("an answer");
    assert_eq!(code(&r), 2502, "{r}");
    assert!(r.contains("too many connections from this address"), "{r}");
    assert!(refused.closed().await);
    // A client at another address is served as usual.
    let mut other = Epp::connect_from(&d, "127.0.0.2", Some("demo-registrar"), &seen).await;
    assert!(other.greeting.contains("<greeting>"));
    assert_eq!(code(&other.login_with("demo-registrar", PW, &[]).await), 1000);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_that_connects_too_fast_is_closed_before_tls() {
    let d = TestDaemon::start(true, |c, _| {
        c.epp.connects_per_network_per_s = 1;
        c.epp.connects_per_network_burst = 3;
    })
    .await;
    let seen = Responses::default();
    let connector = tokio_rustls::TlsConnector::from(tls_config(&d, Some("demo-registrar")));
    // All six connect before any handshake, so the budget cannot refill in between however slow the machine.
    let mut connects = Vec::new();
    for i in 0..6 {
        connects.push(crate::common::connect_from(&format!("127.0.9.{}", i + 1), d.epp()).await);
    }
    let mut handshakes = Vec::new();
    for tcp in connects {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        handshakes
            .push(tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp)).await.expect("closed, not hung").is_ok());
    }
    assert_eq!(handshakes.iter().filter(|ok| **ok).count(), 3, "the network's burst, then closed before TLS: {handshakes:?}");
    // Another network's registrar is untouched.
    let mut good = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&good.login_with("demo-registrar", PW, &[]).await), 1000);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_client_instant_epp_runs_the_whole_lifecycle() {
    use hickory_net::proto::op::ResponseCode;
    use instant_epp::EppClient;
    use instant_epp::client::RustlsConnector;
    use instant_epp::domain::update::{DomainAdd, DomainChangeInfo, DomainRemove};
    use instant_epp::domain::{
        DomainAuthInfo, DomainCheck, DomainCreate, DomainDelete, DomainInfo, DomainRenew, DomainTransfer, DomainUpdate, HostInfo, HostObj,
        Period, PeriodLength, Status,
    };
    use instant_epp::login::Login;
    use instant_epp::response::ResultCode;
    let d = TestDaemon::demo().await;
    let client_of = async |registrar: &str| {
        let connector = RustlsConnector::builder((d.epp().ip().to_string(), d.epp().port()))
            .unwrap()
            .build_with_config(tls_config(&d, Some(registrar)));
        let mut client = EppClient::new(connector, "domain-os".into(), Duration::from_secs(10)).await.unwrap();
        assert!(client.xml_greeting().contains("domain-os"));
        client.transact(&Login::new(registrar, PW, None, None), "login").await.unwrap();
        client
    };
    let mut client = client_of("demo-registrar").await;
    let one_year = || Period::Years(PeriodLength::new(1).unwrap());
    let published = async |name: &str| d.query(name, RecordType::NS).await.metadata.response_code != ResponseCode::NXDomain;

    let check = client.transact(&DomainCheck { domains: &["stock.example", "hello.example"] }, "check-1").await.unwrap();
    let data = check.res_data().unwrap();
    assert!(data.list[0].name.available && !data.list[1].name.available);
    let ns = [HostInfo::Obj(HostObj { name: "ns1.example.net".into() })];
    let create = DomainCreate::new("stock.example", one_year(), Some(&ns), None, STRONG, None);
    let created = client.transact(&create, "create-1").await.unwrap();
    assert_eq!(created.res_data().unwrap().name, "stock.example");
    assert!(published("stock.example.").await, "in DNS once created");

    // Update: a client hold takes it out of DNS; lifting it brings it back.
    let hold = [Status::ClientHold];
    let mut update = DomainUpdate::new("stock.example");
    update.add(DomainAdd { ns: None, contacts: None, statuses: Some(&hold) });
    client.transact(&update, "update-1").await.unwrap();
    assert!(!published("stock.example.").await, "held");
    let mut update = DomainUpdate::new("stock.example");
    update.remove(DomainRemove { ns: None, contacts: None, statuses: Some(&hold) });
    client.transact(&update, "update-2").await.unwrap();
    assert!(published("stock.example.").await, "released");

    // Renew against the current expiry date.
    let info = client.transact(&DomainInfo::new("stock.example", None), "info-1").await.unwrap();
    let expiry = info.res_data().unwrap().expiring_at.unwrap();
    let renewed = client.transact(&DomainRenew::new("stock.example", expiry.date_naive(), one_year()), "renew-1").await.unwrap();
    assert!(renewed.res_data().unwrap().expiring_at.unwrap() > expiry);

    // Transfer to the other registrar, approved by us; it then deletes the domain.
    let mut other = client_of("other-registrar").await;
    let requested = other.transact(&DomainTransfer::new("stock.example", None, STRONG), "transfer-1").await.unwrap();
    assert_eq!(requested.result.code, ResultCode::CommandCompletedSuccessfullyActionPending);
    client.transact(&DomainTransfer::approve("stock.example"), "transfer-2").await.unwrap();
    let info = other.transact(&DomainInfo::new("stock.example", None), "info-2").await.unwrap();
    assert_eq!(info.res_data().unwrap().client_id, "other-registrar");
    let mut rotate = DomainUpdate::new("stock.example");
    rotate.info(DomainChangeInfo { registrant: None, auth_info: Some(DomainAuthInfo::new("Fresh-Transfer-Code-77")) });
    other.transact(&rotate, "update-3").await.unwrap();
    other.transact(&DomainDelete::new("stock.example"), "delete-1").await.unwrap();
    assert!(!published("stock.example.").await, "deleted: out of DNS at once");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejection_redemption_restore_and_object_deletes() {
    let d = TestDaemon::demo().await;
    // No add grace here, so a delete goes to redemption (RST epp-21).
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"add_grace_s": 0}))).await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    a.drain_poll().await;

    // epp-05, epp-11, epp-24: host check, create, delete.
    let check = a.host("check", "<host:name>ns1.hello.example</host:name><host:name>ns.fresh.net</host:name>").await;
    assert!(check.contains(r#"<host:name avail="1">ns.fresh.net</host:name>"#), "{check}");
    assert_eq!(code(&a.host("create", "<host:name>ns.fresh.net</host:name>").await), 1000);
    assert_eq!(code(&b.host("delete", "<host:name>ns.fresh.net</host:name>").await), 2201);
    assert_eq!(code(&a.host("delete", "<host:name>ns.fresh.net</host:name>").await), 1000);
    assert_eq!(code(&a.host("info", "<host:name>ns.fresh.net</host:name>").await), 2303);

    // epp-06, epp-10: contact check and delete.
    let contact = format!(
        "<contact:id>gone-1</contact:id><contact:postalInfo type=\"loc\"><contact:name>Ann Example</contact:name><contact:addr><contact:city>Oslo</contact:city><contact:cc>NO</contact:cc></contact:addr></contact:postalInfo><contact:email>ann@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
    );
    assert_eq!(code(&a.contact("create", &contact).await), 1000);
    assert_eq!(code(&b.contact("delete", "<contact:id>gone-1</contact:id>").await), 2201);
    assert_eq!(code(&a.contact("delete", "<contact:id>gone-1</contact:id>").await), 1000);
    assert!(a.contact("check", "<contact:id>gone-1</contact:id>").await.contains(r#"avail="1""#));

    // epp-20: a transfer the sponsor rejects; the domain stays and both hear of it.
    assert_eq!(code(&a.domain("create", &create_body("keep.example", "1", &["ns1.example.net"], STRONG), "").await), 1000);
    let request = format!("<domain:name>keep.example</domain:name><domain:authInfo><domain:pw>{STRONG}</domain:pw></domain:authInfo>");
    assert_eq!(code(&b.domain("transfer request", &request, "").await), 1001);
    assert_eq!(code(&b.domain("transfer reject", "<domain:name>keep.example</domain:name>", "").await), 2201, "only the sponsor rejects");
    let rejected = a.domain("transfer reject", "<domain:name>keep.example</domain:name>", "").await;
    assert_eq!(code(&rejected), 1000, "{rejected}");
    assert!(rejected.contains("<domain:trStatus>clientRejected</domain:trStatus>"), "{rejected}");
    let heard = b.drain_poll().await;
    assert!(heard.iter().any(|m| m.contains("<domain:trStatus>clientRejected</domain:trStatus>")), "{heard:?}");
    // A cancelled request leaves no pending transfer behind.
    assert_eq!(code(&b.domain("transfer request", &request, "").await), 1001);
    assert_eq!(code(&b.domain("transfer cancel", "<domain:name>keep.example</domain:name>", "").await), 1000);
    assert_eq!(code(&a.domain("transfer approve", "<domain:name>keep.example</domain:name>", "").await), 2301);

    // epp-21: delete outside the add grace period → redemption, out of DNS, restorable.
    let deleted = a.domain("delete", "<domain:name>keep.example</domain:name>", "").await;
    assert_eq!(code(&deleted), 1001, "{deleted}");
    assert_eq!(d.query("keep.example.", RecordType::NS).await.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain);
    let info = a.domain("info", "<domain:name>keep.example</domain:name>", "").await;
    assert!(info.contains(r#"<domain:status s="pendingDelete"/>"#) && info.contains(r#"<rgp:rgpStatus s="redemptionPeriod"/>"#), "{info}");
    assert_eq!(code(&a.domain("create", &create_body("keep.example", "1", &[], ""), "").await), 2302, "not free until purged");
    let restore = |op: &str, report: &str| {
        format!(r#"<rgp:update xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0"><rgp:restore op="{op}">{report}</rgp:restore></rgp:update>"#)
    };
    let update = "<domain:name>keep.example</domain:name><domain:chg/>";
    assert_eq!(code(&b.domain("update", update, &restore("request", "")).await), 2201);
    let requested = a.domain("update", update, &restore("request", "")).await;
    assert_eq!(code(&requested), 1000, "{requested}");
    assert_eq!(d.query("keep.example.", RecordType::NS).await.authorities.len(), 1, "back in DNS on request");
    let info = a.domain("info", "<domain:name>keep.example</domain:name>", "").await;
    assert!(info.contains(r#"<rgp:rgpStatus s="pendingRestore"/>"#), "{info}");
    let report = "<rgp:report><rgp:preData>Pre-delete data</rgp:preData><rgp:postData>Post-restore data</rgp:postData><rgp:delTime>2026-11-01T22:00:00.0Z</rgp:delTime><rgp:resTime>2026-11-02T22:00:00.0Z</rgp:resTime><rgp:resReason>Registrant error.</rgp:resReason><rgp:statement>This registrar has not restored the Registered Name in order to assume the rights to use or sell the Registered Name for itself or for any third party.</rgp:statement><rgp:statement>The information in this report is true to best of this registrar's knowledge.</rgp:statement></rgp:report>";
    assert_eq!(code(&a.domain("update", update, &restore("report", report)).await), 1000);
    let info = a.domain("info", "<domain:name>keep.example</domain:name>", "").await;
    assert!(info.contains(r#"<domain:status s="ok"/>"#) && !info.contains("rgpStatus"), "{info}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_security_changes_passwords_and_reports_events() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    const LOGIN_SEC: &str = "urn:ietf:params:xml:ns:epp:loginSec-1.0";
    let login = |pw: &str, new_pw: Option<&str>, sec: &str| {
        let new_pw = new_pw.map(|n| format!("<newPW>{n}</newPW>")).unwrap_or_default();
        format!(
            "<login><clID>demo-registrar</clID><pw>{pw}</pw>{new_pw}<options><version>1.0</version><lang>en</lang></options><svcs><objURI>{DOMAIN}</objURI><svcExtension><extURI>{LOGIN_SEC}</extURI></svcExtension></svcs></login>"
        ) + &if sec.is_empty() {
            String::new()
        } else {
            format!("<extension><loginSec:loginSec xmlns:loginSec=\"{LOGIN_SEC}\">{sec}</loginSec:loginSec></extension>")
        }
    };
    let mut epp = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&epp.command(&login("wrong-password", None, ""), "").await), 2200);
    // A weak new password fails the login with a newPW event.
    let refused = epp.command(&login(PW, Some("short"), ""), "").await;
    assert_eq!(code(&refused), 2200, "{refused}");
    assert!(refused.contains(r#"<loginSec:event type="newPW" level="error" lang="en">"#), "{refused}");
    assert!(refused.contains(r#"<loginSec:event type="stat" name="failedLogins" level="warning" value="1" lang="en">"#), "{refused}");
    // A long new password travels in the extension.
    let long = "A-long-pass-phrase-of-more-than-sixteen-characters-2026";
    let sec = format!(
        "<loginSec:userAgent><loginSec:app>domain-os tests</loginSec:app></loginSec:userAgent><loginSec:newPW>{long}</loginSec:newPW>"
    );
    let changed = epp.command(&login(PW, Some("[LOGIN-SECURITY]"), &sec), "").await;
    assert_eq!(code(&changed), 1000, "{changed}");
    assert!(!changed.contains("loginSecData"), "nothing to report: {changed}");
    assert_eq!(code(&epp.command("<logout/>", "").await), 1500);
    // The old password no longer works; the new one does, through the extension.
    let mut again = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&again.command(&login(PW, None, ""), "").await), 2200);
    let ok = again.command(&login("[LOGIN-SECURITY]", None, &format!("<loginSec:pw>{long}</loginSec:pw>")), "").await;
    assert_eq!(code(&ok), 1000, "{ok}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_of_rst_epp_16_are_stored_and_shown() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    let contact = |id: &str| {
        format!(
            "<contact:id>{id}</contact:id><contact:postalInfo type=\"int\"><contact:name>Owner {id}</contact:name><contact:addr><contact:city>Paris</contact:city><contact:cc>FR</contact:cc></contact:addr></contact:postalInfo><contact:email>{id}@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
        )
    };
    for id in ["own-1", "own-2"] {
        assert_eq!(code(&a.contact("create", &contact(id)).await), 1000);
    }
    let create = "<domain:name>upd.example</domain:name><domain:ns><domain:hostObj>ns1.example.net</domain:hostObj><domain:hostObj>ns2.example.net</domain:hostObj></domain:ns><domain:registrant>own-1</domain:registrant><domain:authInfo><domain:pw/></domain:authInfo>";
    assert_eq!(code(&a.domain("create", create, DS).await), 1000);
    let name = "<domain:name>upd.example</domain:name>";
    let update = format!(
        "{name}<domain:add><domain:status s=\"clientDeleteProhibited\"/></domain:add><domain:rem><domain:ns><domain:hostObj>ns2.example.net</domain:hostObj></domain:ns></domain:rem><domain:chg><domain:registrant>own-2</domain:registrant></domain:chg>"
    );
    let ds_swap = r#"<secDNS:update xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem><secDNS:add><secDNS:dsData><secDNS:keyTag>777</secDNS:keyTag><secDNS:alg>8</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>2BB183AF5F22588179A53B0A98631FAD1A292118F41DB2CD0A25DEA7F3A1E7A0</secDNS:digest></secDNS:dsData></secDNS:add></secDNS:update>"#;
    assert_eq!(code(&b.domain("update", &update, ds_swap).await), 2201, "another registrar's domain");
    let r = a.domain("update", &update, ds_swap).await;
    assert_eq!(code(&r), 1000, "{r}");
    let info = a.domain("info", name, "").await;
    assert!(info.contains(r#"<domain:status s="clientDeleteProhibited"/>"#), "{info}");
    assert!(info.contains("<domain:registrant>own-2</domain:registrant>"), "{info}");
    assert!(info.contains("ns1.example.net") && !info.contains("ns2.example.net"), "{info}");
    assert!(info.contains("<secDNS:keyTag>777</secDNS:keyTag>") && !info.contains("<secDNS:keyTag>4242</secDNS:keyTag>"), "{info}");
    let ds = d.query("upd.example.", RecordType::DS).await;
    assert_eq!(ds.answers.len(), 1, "DNS carries the new DS only");
    assert_eq!(code(&a.domain("delete", name, "").await), 2304, "clientDeleteProhibited");
    // Then everything removed again.
    let undo = format!("{name}<domain:rem><domain:status s=\"clientDeleteProhibited\"/></domain:rem>");
    let no_ds = r#"<secDNS:update xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem></secDNS:update>"#;
    assert_eq!(code(&a.domain("update", &undo, no_ds).await), 1000);
    let info = a.domain("info", name, "").await;
    assert!(!info.contains("secDNS") && !info.contains("clientDeleteProhibited"), "{info}");
    assert!(d.query("upd.example.", RecordType::DS).await.answers.is_empty());
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_policies_of_rst_epp_14() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let contact = format!(
        "<contact:id>reg-1</contact:id><contact:postalInfo type=\"int\"><contact:name>R</contact:name><contact:addr><contact:city>Rome</contact:city><contact:cc>IT</contact:cc></contact:addr></contact:postalInfo><contact:email>r@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
    );
    assert_eq!(code(&a.contact("create", &contact).await), 1000);
    let with = |n: &str| {
        format!("<domain:name>{n}</domain:name><domain:registrant>reg-1</domain:registrant><domain:authInfo><domain:pw/></domain:authInfo>")
    };
    let without = |n: &str| format!("<domain:name>{n}</domain:name><domain:authInfo><domain:pw/></domain:authInfo>");
    let policy = |p: &str| serde_json::json!({"contacts": {"registrant": p, "admin": p, "tech": p, "billing": p}});
    // Minimum data set: contacts are refused.
    d.ok("PATCH", "/v1/tlds/example", Some(policy("prohibited"))).await;
    assert_eq!(code(&a.domain("create", &with("min-1.example"), "").await), 2306);
    assert_eq!(code(&a.domain("create", &without("min-2.example"), "").await), 1000);
    // Full data set: a registrant is required.
    d.ok(
        "PATCH",
        "/v1/tlds/example",
        Some(serde_json::json!({"contacts": {"registrant": "mandatory", "admin": "optional", "tech": "optional", "billing": "optional"}})),
    )
    .await;
    assert_eq!(code(&a.domain("create", &without("max-1.example"), "").await), 2003);
    assert_eq!(code(&a.domain("create", &with("max-2.example"), "").await), 1000);
    let missing = "<domain:name>max-3.example</domain:name><domain:registrant>nobody-1</domain:registrant><domain:authInfo><domain:pw/></domain:authInfo>";
    assert_eq!(code(&a.domain("create", missing, "").await), 2303, "a contact that does not exist");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_fields_keep_their_schema_types_and_statuses_change_symmetrically() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let contact = |id: &str, kind: &str, name: &str, cc: &str, voice: &str, email: &str| {
        format!(
            "<contact:id>{id}</contact:id><contact:postalInfo type=\"{kind}\"><contact:name>{name}</contact:name><contact:addr><contact:city>Rome</contact:city><contact:cc>{cc}</contact:cc></contact:addr></contact:postalInfo>{voice}<contact:email>{email}</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
        )
    };
    let long = "n".repeat(256);
    let long_email = format!("{}@example.net", "a".repeat(65));
    let bad = [
        ("int", "Zoë", "IT", "", "r@example.net", "7-bit ASCII"),
        ("loc", "R", "XX", "", "r@example.net", "ISO 3166-1"),
        ("loc", "R", "it", "", "r@example.net", "ISO 3166-1"),
        ("loc", &long, "IT", "", "r@example.net", "1 to 255"),
        ("loc", "A&#13;&#10;Registrar: forged", "IT", "", "r@example.net", "control character"),
        ("loc", "A&#x85;B", "IT", "", "r@example.net", "control character"),
        ("loc", "R", "IT", "<contact:voice>+39.06123456789012</contact:voice>", "r@example.net", "telephone number"),
        ("loc", "R", "IT", "<contact:voice x=\"1&#10;2\">+39.0612345</contact:voice>", "r@example.net", "extension"),
        ("loc", "R", "IT", "", &long_email, "e-mail"),
    ];
    for (i, (kind, name, cc, voice, email, why)) in bad.iter().enumerate() {
        let r = a.contact("create", &contact(&format!("bad-{i}"), kind, name, cc, voice, email)).await;
        assert_eq!(code(&r), 2005, "{why}: {r}");
        assert!(r.contains(why), "{why}: {r}");
        assert!(!r.contains("forged"), "{r}");
    }
    let r = a.contact("check", &(0..bad.len()).map(|i| format!("<contact:id>bad-{i}</contact:id>")).collect::<String>()).await;
    assert!(!r.contains(r#"avail="0""#), "nothing was stored: {r}");
    let good = contact("good-1", "int", "Ada Lovelace", "GB", "<contact:voice x=\"42\">+44.2071234567</contact:voice>", "ada@example.net");
    assert_eq!(code(&a.contact("create", &good).await), 1000);

    // Adding a status already set, or removing one that is not, is refused for contacts as for domains and hosts.
    let status =
        |op: &str, id: &str, s: &str| format!("<contact:id>{id}</contact:id><contact:{op}><contact:status s=\"{s}\"/></contact:{op}>");
    assert_eq!(code(&a.contact("update", &status("add", "good-1", "clientDeleteProhibited")).await), 1000);
    assert_eq!(code(&a.contact("update", &status("add", "good-1", "clientDeleteProhibited")).await), 2306);
    assert_eq!(code(&a.contact("update", &status("rem", "good-1", "clientTransferProhibited")).await), 2306);
    let domain_status =
        |op: &str, s: &str| format!("<domain:name>hello.example</domain:name><domain:{op}><domain:status s=\"{s}\"/></domain:{op}>");
    assert_eq!(code(&a.domain("update", &domain_status("rem", "clientHold"), "").await), 2306);
    let host_status =
        |op: &str, s: &str| format!("<host:name>ns1.hello.example</host:name><host:{op}><host:status s=\"{s}\"/></host:{op}>");
    assert_eq!(code(&a.host("update", &host_status("add", "clientDeleteProhibited")).await), 1000);
    assert_eq!(code(&a.host("update", &host_status("add", "clientDeleteProhibited")).await), 2306);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_port_shows_the_same_objects_rst_epp_17() {
    let d = TestDaemon::start(true, |c, _| c.epp.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()]).await;
    let seen = Responses::default();
    let ports = d.epp_all();
    assert_eq!(ports.len(), 2);
    let mut first = Epp::session_at(&d, ports[0], "demo-registrar", &seen).await;
    assert_eq!(code(&first.domain("create", &create_body("ports.example", "1", &["ns1.example.net"], ""), DS).await), 1000);
    let info_data = |r: &str| r[r.find("<resData>").unwrap()..r.find("</resData>").unwrap()].to_string();
    let here = info_data(&first.domain("info", "<domain:name>ports.example</domain:name>", "").await);
    let mut second = Epp::session_at(&d, ports[1], "demo-registrar", &seen).await;
    let there = info_data(&second.domain("info", "<domain:name>ports.example</domain:name>", "").await);
    assert_eq!(here, there);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_command_in_hand_and_what_was_acknowledged_survives() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut epp = Epp::session(&d, "demo-registrar", &seen).await;
    let mut idle = Epp::session(&d, "other-registrar", &seen).await;
    // Frame a create, then stop the daemon while it is in flight.
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="{DOMAIN}">{}</domain:create></create><clTRID>LAST-1</clTRID></command></epp>"#,
        create_body("last.example", "1", &["ns1.example.net"], "")
    );
    let mut framed = ((xml.len() + 4) as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(xml.as_bytes());
    epp.write_raw(&framed).await;
    let stopping = tokio::spawn(d.stop());
    let reply = epp.read().await;
    assert!(idle.closed().await, "idle sessions are closed");
    let (dir, config) = stopping.await.unwrap();
    let d = TestDaemon::start_in(dir, config, true).await;
    let exists = d.query("last.example.", RecordType::NS).await.metadata.response_code != hickory_net::proto::op::ResponseCode::NXDomain;
    match reply {
        // Acknowledged means durable.
        Some(r) => assert!(code(&r) == 1000 && exists, "{r}"),
        // Closed before the frame was read: nothing was done.
        None => assert!(!exists),
    }
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_transfer_between_registrars() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    a.drain_poll().await;
    b.drain_poll().await;
    let create = format!(
        "<contact:id>move-c1</contact:id><contact:postalInfo type=\"int\"><contact:name>M</contact:name><contact:addr><contact:city>Lima</contact:city><contact:cc>PE</contact:cc></contact:addr></contact:postalInfo><contact:email>m@example.net</contact:email><contact:authInfo><contact:pw>{STRONG}</contact:pw></contact:authInfo>"
    );
    assert_eq!(code(&a.contact("create", &create).await), 1000);
    async fn transfer(epp: &mut Epp, op: &str, pw: Option<&str>) -> String {
        let auth = pw.map(|p| format!("<contact:authInfo><contact:pw>{p}</contact:pw></contact:authInfo>")).unwrap_or_default();
        let body = format!(
            r#"<transfer op="{op}"><contact:transfer xmlns:contact="{CONTACT}"><contact:id>move-c1</contact:id>{auth}</contact:transfer></transfer>"#
        );
        epp.command(&body, "").await
    }
    assert_eq!(code(&transfer(&mut b, "request", Some("Not-The-Code-2026x")).await), 2202);
    assert_eq!(code(&transfer(&mut b, "query", None).await), 2301, "never transferred");
    let requested = transfer(&mut b, "request", Some(STRONG)).await;
    assert_eq!(code(&requested), 1001, "{requested}");
    assert!(
        requested.contains("<contact:trStatus>pending</contact:trStatus>")
            && requested.contains("<contact:reID>other-registrar</contact:reID>")
    );
    let info = a.contact("info", "<contact:id>move-c1</contact:id>").await;
    assert!(info.contains(r#"<contact:status s="pendingTransfer"/>"#), "{info}");
    let told = a.drain_poll().await;
    assert!(told.len() == 1 && told[0].contains("<contact:trnData"), "{told:?}");
    assert_eq!(code(&transfer(&mut b, "approve", None).await), 2201, "the requester cannot approve");
    let approved = transfer(&mut a, "approve", None).await;
    assert!(code(&approved) == 1000 && approved.contains("<contact:trStatus>clientApproved</contact:trStatus>"), "{approved}");
    let info = b.contact("info", "<contact:id>move-c1</contact:id>").await;
    assert!(info.contains("<contact:clID>other-registrar</contact:clID>") && info.contains("<contact:trDate>"), "{info}");
    assert!(b.drain_poll().await.iter().any(|m| m.contains("<contact:trStatus>clientApproved</contact:trStatus>")));
    assert_eq!(code(&a.contact("info", "<contact:id>move-c1</contact:id>").await), 2201, "no longer ours to read");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_needs_an_allowed_source_address() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(serde_json::json!({"allowed_addresses": ["192.0.2.0/24"]}))).await;
    let mut epp = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&epp.login_with("demo-registrar", PW, &[]).await), 2200, "right credentials, wrong place");
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(serde_json::json!({"allowed_addresses": ["127.0.0.1/32"]}))).await;
    assert_eq!(code(&epp.login_with("demo-registrar", PW, &[]).await), 1000);
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_registrar_networks_reach_tls_and_unauthenticated_peers_leave_room_for_sessions() {
    let d = TestDaemon::start(true, |c, _| {
        c.epp.unauthenticated_connections_max = 2;
        c.epp.connections_per_address_max = 16;
    })
    .await;
    let seen = Responses::default();
    let registrars = d.ok("GET", "/v1/registrars", None).await;
    for r in registrars.as_array().expect("a list") {
        let path = format!("/v1/registrars/{}", r["id"].as_str().unwrap());
        d.ok("PATCH", &path, Some(serde_json::json!({"allowed_addresses": ["127.0.0.0/16"]}))).await;
    }
    // No registrar may log in from 127.1.0.0/16: closed before the handshake, holding no slot.
    let connector = tokio_rustls::TlsConnector::from(tls_config(&d, Some("demo-registrar")));
    let name = || rustls::pki_types::ServerName::try_from("localhost").unwrap();
    for _ in 0..3 {
        let tcp = crate::common::connect_from("127.1.0.1", d.epp()).await;
        let handshake = tokio::time::timeout(Duration::from_secs(5), connector.connect(name(), tcp)).await.expect("closed, not hung");
        assert!(handshake.is_err(), "no TLS for a network no registrar may log in from");
    }
    // Two connections that never log in fill the unauthenticated share; a third is told why.
    let mut waiting = Vec::new();
    for source in ["127.0.1.1", "127.0.1.2"] {
        waiting.push(Epp::connect_from(&d, source, Some("demo-registrar"), &seen).await);
    }
    let tcp = crate::common::connect_from("127.0.1.3", d.epp()).await;
    let stream = connector.connect(name(), tcp).await.unwrap();
    let mut refused = Epp { stream, greeting: String::new(), seen: seen.clone(), n: 0 };
    let r = refused.read().await.expect("an answer");
    assert_eq!(code(&r), 2502, "{r}");
    assert!(r.contains("waiting to log in"), "{r}");
    // A login gives its connection's turn back: the next peer connects, and fills the share again.
    assert_eq!(code(&waiting[0].login_with("demo-registrar", PW, &[]).await), 1000);
    let mut next = Epp::connect_from(&d, "127.0.1.4", Some("demo-registrar"), &seen).await;
    assert!(next.greeting.contains("<greeting>"));
    let tcp = crate::common::connect_from("127.0.1.5", d.epp()).await;
    let mut refused = Epp { stream: connector.connect(name(), tcp).await.unwrap(), greeting: String::new(), seen: seen.clone(), n: 0 };
    assert_eq!(code(&refused.read().await.expect("an answer")), 2502);
    // The address a registrar logged in from lately does not wait among the unauthenticated.
    let mut again = Epp::connect_from(&d, "127.0.1.1", Some("demo-registrar"), &seen).await;
    assert_eq!(code(&again.login_with("demo-registrar", PW, &[]).await), 1000);
    assert_eq!(code(&next.login_with("demo-registrar", PW, &[]).await), 1000);
    seen.validate();
    d.stop().await;
}

/// Order, not time: with one shared hash turn, a registrar's login waits
/// behind at most the one hash another registrar's flood has in hand, not
/// behind the whole flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_registrars_failed_logins_queue_behind_each_other_not_in_front_of_another() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let d = TestDaemon::start(true, |c, _| {
        c.epp.login_hashes_max = 1;
        c.epp.failed_logins_max = 1000;
    })
    .await;
    let seen = Responses::default();
    const FLOOD: usize = 12;
    let mut flood = Vec::new();
    for i in 0..FLOOD {
        flood.push(Epp::connect_from(&d, &format!("127.0.3.{}", i + 1), Some("other-registrar"), &seen).await);
    }
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for mut epp in flood {
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let r = epp.login_with("other-registrar", "Wrong-Password-1", &[]).await;
            answered.fetch_add(1, Ordering::SeqCst);
            code(&r)
        }));
    }
    // Once the first wrong password is answered, the rest of the flood is queued at the server.
    assert!(eventually(Duration::from_secs(60), async || answered.load(Ordering::SeqCst) >= 1).await);
    let mut good = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&good.login_with("demo-registrar", PW, &[]).await), 1000);
    let before_good = answered.load(Ordering::SeqCst);
    assert!(before_good <= 4, "the good login waited behind {before_good} of the other registrar's {FLOOD} failed logins");
    for task in tasks {
        assert_eq!(task.await.unwrap(), 2200);
    }
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readonly_registrar_reads_but_changes_nothing_and_a_terminated_one_cannot_log_in() {
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    assert_eq!(code(&a.domain("create", &create_body("before.example", "1", &[], STRONG), "").await), 1000);
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(serde_json::json!({"status": "readonly"}))).await;
    // Reads go on; every change is refused, whatever the object.
    assert_eq!(code(&a.domain("info", "<domain:name>before.example</domain:name>", "").await), 1000);
    assert_eq!(code(&a.domain("check", "<domain:name>after.example</domain:name>", "").await), 1000);
    let refused = a.domain("create", &create_body("after.example", "1", &[], STRONG), "").await;
    assert_eq!(code(&refused), 2201, "{refused}");
    assert!(refused.contains("readonly"), "{refused}");
    let hold = r#"<domain:name>before.example</domain:name><domain:add><domain:status s="clientHold"/></domain:add>"#;
    assert_eq!(code(&a.domain("update", hold, "").await), 2201);
    assert_eq!(code(&a.domain("delete", "<domain:name>before.example</domain:name>", "").await), 2201);
    assert_eq!(code(&a.host("create", "<host:name>ns.readonly.net</host:name>").await), 2201);
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(serde_json::json!({"status": "ok"}))).await;
    assert_eq!(code(&a.domain("update", hold, "").await), 1000, "active again");
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(serde_json::json!({"status": "terminated"}))).await;
    let mut again = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    let login = again.login_with("demo-registrar", crate::epp::PW, &[]).await;
    assert_eq!(code(&login), 2201, "{login}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_acts_only_on_the_tlds_it_is_accredited_for() {
    let d = TestDaemon::demo().await;
    d.ok("POST", "/v1/tlds", Some(serde_json::json!({"name": "second", "nameservers": ["a.nic.example", "b.nic.example"]}))).await;
    let both = d.ok("GET", "/v1/registrars/demo-registrar/accreditations", None).await;
    assert_eq!(both["tlds"], serde_json::json!(["example", "second"]), "a new TLD accredits every registrar");
    // A registrar created for one TLD only.
    let body = serde_json::json!({"id": "narrow", "name": "Narrow", "email": "ops@narrow.example", "tlds": ["second"]});
    d.ok("POST", "/v1/registrars", Some(body)).await;
    assert_eq!(d.ok("GET", "/v1/registrars/narrow/accreditations", None).await["tlds"], serde_json::json!(["second"]));
    let (code_, _) = d.api("POST", "/v1/domains", Some(serde_json::json!({"name": "narrow.example", "registrar": "narrow"}))).await;
    assert_eq!(code_, 403, "not for example");
    d.ok("POST", "/v1/domains", Some(serde_json::json!({"name": "narrow.second", "registrar": "narrow"}))).await;

    // Over EPP: unaccredited for example, the demo registrar still checks and reads, but changes nothing there.
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    d.ok("DELETE", "/v1/registrars/demo-registrar/accreditations/example", None).await;
    assert_eq!(code(&a.domain("check", "<domain:name>new.example</domain:name>", "").await), 1000);
    assert_eq!(code(&a.domain("info", "<domain:name>hello.example</domain:name>", "").await), 1000);
    let refused = a.domain("create", &create_body("new.example", "1", &[], STRONG), "").await;
    assert_eq!(code(&refused), 2201, "{refused}");
    assert!(refused.contains("not accredited for example"), "{refused}");
    let hold = r#"<domain:name>hello.example</domain:name><domain:add><domain:status s="clientHold"/></domain:add>"#;
    assert_eq!(code(&a.domain("update", hold, "").await), 2201);
    assert_eq!(code(&a.domain("create", &create_body("new.second", "1", &[], STRONG), "").await), 1000);
    let (code_, body) = d.api("DELETE", "/v1/registrars/demo-registrar/accreditations/example", None).await;
    assert_eq!(code_, 422, "{body}");
    d.ok("POST", "/v1/registrars/demo-registrar/accreditations", Some(serde_json::json!({"tld": "example"}))).await;
    assert_eq!(code(&a.domain("update", hold, "").await), 1000, "accredited again");
    seen.validate();
    d.stop().await;
}
