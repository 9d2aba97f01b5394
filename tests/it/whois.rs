//! WHOIS on TCP against the demo registry, asked with Debian's `whois`
//! client: the ICANN format and order, redaction, IDN and case, name
//! servers and registrars, not-found and malformed queries, limits on size,
//! rate and slow clients, and query counting.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

fn whois(d: &TestDaemon, query: &str) -> String {
    let addr = d.whois();
    let (ok, out, err) = tool("whois", &["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), query]);
    assert!(ok, "whois {query}: {err}");
    out
}

fn value<'a>(answer: &'a str, key: &str) -> Vec<&'a str> {
    answer.lines().filter_map(|l| l.trim_end_matches('\r').strip_prefix(&format!("{key}: "))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_answers_follow_the_icann_format() {
    let d = TestDaemon::demo().await;
    let a = whois(&d, "hello.example");
    let keys: Vec<&str> = a.lines().filter_map(|l| l.split_once(": ").map(|(k, _)| k)).collect();
    let order = [
        "Domain Name",
        "Registry Domain ID",
        "Registrar WHOIS Server",
        "Registrar URL",
        "Updated Date",
        "Creation Date",
        "Registry Expiry Date",
        "Registrar",
        "Registrar IANA ID",
        "Registrar Abuse Contact Email",
        "Registrar Abuse Contact Phone",
        "Domain Status",
        "Registry Registrant ID",
        "Registrant Name",
        "Name Server",
        "DNSSEC",
        "URL of the ICANN Whois Inaccuracy Complaint Form",
    ];
    let positions: Vec<usize> =
        order.iter().map(|k| keys.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k} missing:\n{a}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order:\n{a}");
    assert_eq!(value(&a, "Domain Name"), ["HELLO.EXAMPLE"]);
    assert_eq!(value(&a, "Registrar IANA ID"), ["9999"]);
    assert_eq!(value(&a, "Domain Status"), ["ok https://icann.org/epp#ok"]);
    assert_eq!(value(&a, "Name Server"), ["NS1.HELLO.EXAMPLE", "NS2.HELLO.EXAMPLE"]);
    assert_eq!(value(&a, "DNSSEC"), ["signedDelegation"]);
    assert!(value(&a, "Creation Date")[0].ends_with('Z'));
    // Withheld unless disclosed; state and country always shown.
    assert_eq!(value(&a, "Registrant Name"), ["REDACTED FOR PRIVACY"]);
    assert_eq!(value(&a, "Registrant Street"), ["REDACTED FOR PRIVACY"]);
    assert_eq!(value(&a, "Registrant State/Province"), ["OR"]);
    assert_eq!(value(&a, "Registrant Country"), ["US"]);
    assert!(!a.contains("Alex Owner") && !a.contains("demo-owner@"));
    assert_eq!(value(&a, "Tech Name"), ["Terry Tech"]);
    assert_eq!(value(&a, "Tech Email"), ["demo-tech@people.demo.example"]);
    assert!(a.contains(">>> Last update of WHOIS database: ") && a.contains(" <<<"));
    assert!(a.contains("For more information on Whois status codes, please visit https://icann.org/epp"));

    // Case, trailing dot and the keyword form give the same record.
    for q in ["HELLO.Example.", "domain hello.example"] {
        assert_eq!(value(&whois(&d, q), "Registry Domain ID"), value(&a, "Registry Domain ID"), "{q}");
    }
    let held = whois(&d, "held.example");
    assert_eq!(value(&held, "Domain Status"), ["serverHold https://icann.org/epp#serverHold"]);
    assert_eq!(value(&whois(&d, "world.example"), "DNSSEC"), ["signedDelegation"]);
    assert_eq!(value(&whois(&d, "parked.example"), "DNSSEC"), ["unsigned"]);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idn_nameserver_registrar_and_missing_objects() {
    let d = TestDaemon::demo().await;
    d.ok("POST", "/v1/domains", Some(serde_json::json!({"name": "xn--bcher-kva.example", "registrar": "demo-registrar"}))).await;
    assert_eq!(value(&whois(&d, "bücher.example"), "Domain Name"), ["XN--BCHER-KVA.EXAMPLE"]);
    let ns = whois(&d, "nameserver ns1.hello.example");
    assert_eq!(value(&ns, "Server Name"), ["NS1.HELLO.EXAMPLE"]);
    assert_eq!(value(&ns, "IP Address"), ["192.0.2.1", "2001:db8::1"]);
    assert_eq!(value(&ns, "Registrar"), ["Demo Registrar"]);
    for q in ["registrar 9999", "registrar Demo Registrar"] {
        let r = whois(&d, q);
        assert_eq!(value(&r, "Registrar"), ["Demo Registrar"], "{q}");
        assert_eq!(value(&r, "City"), ["Demo City"]);
    }
    assert!(whois(&d, "nothere.example").starts_with("Domain not found."));
    assert!(whois(&d, "nameserver ns9.nowhere.example").starts_with("Nameserver not found."));
    assert!(whois(&d, "registrar Nobody").starts_with("Registrar not found."));
    assert!(whois(&d, "bad_name!").starts_with("Malformed query"));
    d.stop().await;
}

/// Sends raw bytes and reads the answer until the server closes.
pub async fn raw(d: &TestDaemon, bytes: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(d.whois()).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("closed by the server").unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_politely_and_others_are_served() {
    // Buckets run on the registry's clock: frozen here, so nothing refills unless the test says so.
    let clock = domain_os::model::ManualClock::new(domain_os::model::Timestamp::parse_rfc3339("2026-01-15T12:00:00Z").unwrap());
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.whois.limits.burst = 3;
        c.whois.limits.queries_per_second = 1;
        c.whois.query_timeout_s = 1;
    })
    .await;
    let long = format!("{}\r\n", "a".repeat(1000));
    assert!(raw(&d, long.as_bytes()).await.starts_with("Query too long"));
    // A client that never sends its query is closed after the timeout, saying nothing.
    let idle = tokio::net::TcpStream::connect(d.whois()).await.unwrap();
    // Three answers, then the limit.
    for _ in 0..3 {
        assert!(raw(&d, b"hello.example\r\n").await.starts_with("Domain Name: HELLO.EXAMPLE"));
    }
    let refused = raw(&d, b"hello.example\r\n").await;
    assert!(refused.starts_with("Query rate limit exceeded; try again in 1 seconds."), "{refused}");
    clock.advance_seconds(1);
    assert!(raw(&d, b"hello.example\r\n").await.starts_with("Domain Name: HELLO.EXAMPLE"), "a token back after a second");
    assert!(raw(&d, b"hello.example\r\n").await.starts_with("Query rate limit exceeded"));
    let mut idle = idle;
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut buf)).await;
    assert!(closed.is_ok() && buf.is_empty());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let d = TestDaemon::start(true, |c, _| c.whois.connections_per_address_max = 1).await;
    let _idle = tokio::net::TcpStream::connect(d.whois()).await.unwrap();
    let refused = raw(&d, b"hello.example\r\n").await;
    assert_eq!(refused, "Refused: too many connections from this address; try again later.\r\n");
    let mut other = connect_from("127.0.0.2", d.whois()).await;
    other.write_all(b"hello.example\r\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), other.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("Domain Name: HELLO.EXAMPLE"), "{answer}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_counted_for_the_activity_report() {
    let d = TestDaemon::demo().await;
    whois(&d, "hello.example");
    whois(&d, "nothere.example");
    whois(&d, "registrar 9999");
    let counted = eventually(Duration::from_secs(10), async || {
        let all = d.registry().snapshot().counters("").unwrap();
        let of = |tld: &str| all.iter().filter(|(k, _)| k.ends_with(&format!("|{tld}||rdds|whois-43|ok"))).map(|(_, v)| *v).sum::<u64>();
        of("example") == 2 && of("") == 1
    })
    .await;
    assert!(counted, "{:?}", d.registry().snapshot().counters("").unwrap());
    d.stop().await;
}
