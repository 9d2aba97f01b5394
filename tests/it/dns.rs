//! Authoritative answers from live registry state, checked with hickory's
//! client and parser, dig, and raw packets for the malformed cases.

use std::time::Duration;

use hickory_net::proto::op::{Message, ResponseCode};
use hickory_net::proto::rr::{RData, Record, RecordType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

fn names(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| format!("{} {}", r.name, r.record_type())).collect()
}

fn message(r: &hickory_net::proto::op::DnsResponse) -> &Message {
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apex_soa_and_ns_are_authoritative() {
    let d = TestDaemon::demo().await;
    let serial = d.serial("example").await;

    let soa = d.query("example.", RecordType::SOA).await;
    let m = message(&soa);
    assert!(m.metadata.authoritative);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
    match &m.answers[0].data {
        RData::SOA(s) => {
            assert_eq!(s.serial, serial);
            assert_eq!(s.mname.to_string(), "a.nic.example.");
            assert_eq!(s.minimum, 900);
        }
        other => panic!("expected SOA, got {other:?}"),
    }

    let ns = d.query("example.", RecordType::NS).await;
    let m = message(&ns);
    assert!(m.metadata.authoritative);
    assert_eq!(names(&m.answers), vec!["example. NS", "example. NS"]);
    // Glue for the apex name servers rides along.
    let glue = names(&m.additionals);
    assert!(glue.contains(&"a.nic.example. A".to_string()) && glue.contains(&"b.nic.example. A".to_string()), "{glue:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qclass_any_is_answered_but_not_authoritatively() {
    let d = TestDaemon::demo().await;
    let port = d.dns.port().to_string();
    let (ok, out, err) = tool("kdig", &["@127.0.0.1", "-p", &port, "-c", "ANY", "+norecurse", "example.", "SOA"]);
    assert!(ok, "{err}");
    assert!(out.contains("status: NOERROR") && out.contains("example.") && out.contains("SOA"), "{out}");
    let flags = out.lines().find(|l| l.contains("Flags:")).unwrap_or_default();
    assert!(!flags.contains(" aa"), "{out}");
    let (_, out, _) = tool("kdig", &["@127.0.0.1", "-p", &port, "+norecurse", "example.", "SOA"]);
    assert!(out.lines().any(|l| l.contains("Flags:") && l.contains(" aa")), "{out}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_carry_ns_and_glue_without_aa() {
    let d = TestDaemon::demo().await;
    for qname in ["www.hello.example.", "hello.example.", "deep.www.hello.example."] {
        let r = d.query(qname, RecordType::A).await;
        let m = message(&r);
        assert!(!m.metadata.authoritative, "{qname}: referral must not be authoritative");
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty());
        assert_eq!(names(&m.authorities), vec!["hello.example. NS", "hello.example. NS"]);
        let mut glue = names(&m.additionals);
        glue.sort();
        assert_eq!(glue, vec!["ns1.hello.example. A", "ns1.hello.example. AAAA", "ns2.hello.example. A"]);
    }
    // Out-of-zone name servers: no glue.
    let r = d.query("world.example.", RecordType::NS).await;
    assert_eq!(names(&r.authorities), vec!["world.example. NS", "world.example. NS"]);
    assert!(r.additionals.is_empty());
    // Glue names themselves are below the cut: also a referral.
    let r = d.query("ns1.hello.example.", RecordType::A).await;
    assert!(!r.metadata.authoritative && r.answers.is_empty());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ds_is_answered_by_the_parent_and_sent_in_referrals_only_from_signed_zones() {
    let d = TestDaemon::demo().await;
    let r = d.query("hello.example.", RecordType::DS).await;
    assert!(r.metadata.authoritative);
    assert_eq!(names(&r.answers), vec!["hello.example. DS"]);
    // A delegation without DS: NODATA from the parent.
    let r = d.query("nic.example.", RecordType::DS).await;
    assert!(r.metadata.authoritative && r.answers.is_empty());
    assert_eq!(names(&r.authorities), vec!["example. SOA"]);

    // Like NSD and Knot: an unsigned parent proves nothing, so its referrals carry no DS.
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"dnssec": "off"}))).await;
    let unsigned = dig(d.dns, &["+dnssec", "www.world.example", "A"]);
    assert!(!unsigned.contains("\tDS\t"), "{unsigned}");
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"dnssec": "nsec3"}))).await;
    let with_do = dig(d.dns, &["+dnssec", "www.world.example", "A"]);
    assert!(with_do.contains("world.example.\t\t3600\tIN\tDS\t54321 8 2"), "{with_do}");
    assert!(with_do.contains("world.example.\t\t3600\tIN\tRRSIG\tDS 13 2 3600"), "{with_do}");
    let without = dig(d.dns, &["www.world.example", "A"]);
    assert!(!without.contains("\tDS\t") && !without.contains("RRSIG"), "{without}");
    assert!(without.contains("flags: qr;"), "no AA on a referral: {without}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_answers_carry_the_soa() {
    let d = TestDaemon::demo().await;
    for qname in ["nope.example.", "held.example.", "parked.example.", "a.b.nope.example."] {
        let r = d.query(qname, RecordType::A).await;
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{qname}");
        assert!(r.metadata.authoritative);
        assert_eq!(r.authorities.len(), 1);
        // RFC 2308: TTL of the SOA in a negative answer is min(TTL, MINIMUM).
        assert_eq!((r.authorities[0].record_type(), r.authorities[0].ttl), (RecordType::SOA, 900));
    }
    // NODATA at the apex.
    let r = d.query("example.", RecordType::A).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.metadata.authoritative && r.answers.is_empty());
    assert_eq!(names(&r.authorities), vec!["example. SOA"]);
    // A type nobody has heard of is still just NODATA.
    let r = d.query("example.", RecordType::Unknown(65000)).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_outside_our_zones_are_refused() {
    let d = TestDaemon::demo().await;
    for qname in ["www.example.com.", "com.", "."] {
        let r = d.query(qname, RecordType::A).await;
        assert_eq!(r.metadata.response_code, ResponseCode::Refused, "{qname}");
        assert!(!r.metadata.authoritative);
    }
    let reply = raw_udp(d.dns, &packet(7, 0, "example", 6, 3, None), Duration::from_secs(5)).unwrap();
    assert_eq!(parse(&reply).metadata.response_code, ResponseCode::Refused, "class CH");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_case_insensitive_and_the_question_case_is_kept() {
    let d = TestDaemon::demo().await;
    let out = dig(d.dns, &["WwW.HeLLo.ExAmPlE", "A"]);
    assert!(out.contains(";WwW.HeLLo.ExAmPlE.\t\tIN\tA"), "{out}");
    assert!(out.to_lowercase().contains("hello.example.\t\t3600\tin\tns\tns1.hello.example."), "{out}");
    let r = d.query("NOPE.EXAMPLE.", RecordType::A).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_non_terminals_and_names_that_are_not_delegated() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    d.ok("POST", "/v1/registrars", Some(json!({"id": "reg-one", "name": "Registrar One", "email": "ops@one.test"}))).await;
    d.ok("POST", "/v1/tlds", Some(json!({"name": "test", "nameservers": ["ns1.dns.test"]}))).await;
    // dns.test is registered but not delegated; its host is the apex name server.
    d.ok("POST", "/v1/domains", Some(json!({"name": "dns.test", "registrar": "reg-one"}))).await;
    d.ok("POST", "/v1/hosts", Some(json!({"name": "ns1.dns.test", "addresses": ["192.0.2.7"]}))).await;

    let r = d.query("ns1.dns.test.", RecordType::A).await;
    assert!(r.metadata.authoritative, "not below a cut: authoritative");
    assert_eq!(names(&r.answers), vec!["ns1.dns.test. A"]);
    let r = d.query("dns.test.", RecordType::A).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "empty non-terminal is NODATA");
    assert!(r.answers.is_empty() && r.metadata.authoritative);
    let r = d.query("x.dns.test.", RecordType::A).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_change_is_in_the_very_next_answer() {
    let d = TestDaemon::demo().await;
    let s0 = d.serial("example").await;
    d.ok("POST", "/v1/domains", Some(json!({"name": "fresh.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})))
        .await;
    let r = d.query("fresh.example.", RecordType::NS).await;
    assert_eq!(names(&r.authorities), vec!["fresh.example. NS"]);
    let s1 = d.serial("example").await;
    assert!(s1 > s0, "serial {s0} -> {s1}");
    let soa = d.query("example.", RecordType::SOA).await;
    assert!(matches!(&soa.answers[0].data, RData::SOA(s) if s.serial == s1));

    d.ok("PATCH", "/v1/domains/fresh.example", Some(json!({"add_statuses": ["serverHold"]}))).await;
    assert_eq!(d.query("fresh.example.", RecordType::NS).await.metadata.response_code, ResponseCode::NXDomain);
    d.ok("PATCH", "/v1/domains/fresh.example", Some(json!({"remove_statuses": ["serverHold"]}))).await;
    assert_eq!(names(&d.query("fresh.example.", RecordType::NS).await.authorities), vec!["fresh.example. NS"]);
    d.ok("PATCH", "/v1/domains/fresh.example", Some(json!({"remove_nameservers": ["ns1.example.net"]}))).await;
    assert_eq!(d.query("fresh.example.", RecordType::NS).await.metadata.response_code, ResponseCode::NXDomain, "inactive");
    d.ok("DELETE", "/v1/domains/fresh.example", None).await;
    assert!(d.serial("example").await > s1);

    // A host's new address is in the next referral's glue.
    d.ok("PATCH", "/v1/hosts/ns2.hello.example", Some(json!({"add_addresses": ["2001:db8::2"]}))).await;
    let glue = names(&d.query("hello.example.", RecordType::NS).await.additionals);
    assert!(glue.contains(&"ns2.hello.example. AAAA".to_string()), "{glue:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_ipv6_too() {
    let d = TestDaemon::start(true, |c, _| c.dns.listen = vec!["[::1]:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()]).await;
    assert!(d.dns.is_ipv6());
    let r = d.query("example.", RecordType::SOA).await;
    assert!(r.metadata.authoritative && r.answers.len() == 1);
    assert_eq!(d.query_tcp("www.hello.example.", RecordType::A).await.authorities.len(), 2);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edns_is_answered_and_unknown_versions_get_badvers() {
    let d = TestDaemon::demo().await;
    let reply = parse(&raw_udp(d.dns, &packet(1, 0, "example", 6, 1, Some((4096, 0, true))), Duration::from_secs(5)).unwrap());
    let edns = reply.edns.expect("OPT in the reply");
    assert_eq!(edns.max_payload(), 1232, "we advertise our own limit");
    assert!(edns.flags().dnssec_ok, "DO is copied");
    let out = dig(d.dns, &["+edns=1", "+noednsneg", "example", "SOA"]);
    assert!(out.contains("status: BADVERS"), "{out}");
    // A request that is malformed around a well-formed OPT gets FORMERR with OPT (RFC 6891 §7).
    let mut trailing = packet(2, 0, "example", 6, 1, Some((4096, 0, true)));
    trailing.extend_from_slice(b"junk");
    let mut two_questions = packet(3, 0, "example", 6, 1, Some((4096, 0, false)));
    two_questions[5] = 2;
    let question = two_questions[12..12 + 9 + 4].to_vec();
    two_questions.splice(12..12, question);
    for (id, bad) in [(2u16, trailing), (3, two_questions)] {
        let m = parse(&raw_udp(d.dns, &bad, Duration::from_secs(5)).unwrap());
        assert_eq!((m.metadata.id, m.metadata.response_code), (id, ResponseCode::FormErr));
        assert_eq!(m.edns.map(|e| e.max_payload()), Some(1232), "FORMERR {id} carries OPT");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_referrals_truncate_over_udp_and_come_whole_over_tcp() {
    let d = TestDaemon::demo().await;
    d.ok("POST", "/v1/domains", Some(json!({"name": "big.example", "registrar": "demo-registrar"}))).await;
    let mut nameservers = Vec::new();
    for i in 0..13 {
        let host = format!("ns{i}-a-rather-long-label-that-fills-packets-quickly.big.example");
        d.ok(
            "POST",
            "/v1/hosts",
            Some(json!({"name": host, "addresses": [format!("192.0.2.{}", i + 10), format!("2001:db8::{}", i + 10)]})),
        )
        .await;
        nameservers.push(host);
    }
    d.ok("PATCH", "/v1/domains/big.example", Some(json!({"add_nameservers": nameservers}))).await;

    let plain = raw_udp(d.dns, &packet(2, 0, "www.big.example", 1, 1, None), Duration::from_secs(5)).unwrap();
    assert!(plain.len() <= 512, "{} bytes over plain UDP", plain.len());
    assert!(parse(&plain).metadata.truncation, "required glue did not fit: TC");
    let edns = raw_udp(d.dns, &packet(3, 0, "www.big.example", 1, 1, Some((1232, 0, false))), Duration::from_secs(5)).unwrap();
    assert!(edns.len() <= 1232);

    let r = d.query_tcp("www.big.example.", RecordType::A).await;
    assert!(!r.metadata.truncation);
    assert_eq!(r.authorities.len(), 13);
    assert_eq!(r.additionals.iter().filter(|a| a.record_type() != RecordType::OPT).count(), 26);
    // dig retries over TCP by itself.
    let out = dig(d.dns, &["www.big.example", "A"]);
    assert!(out.contains("AUTHORITY: 13"), "{out}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_get_formerr_or_silence_and_service_continues() {
    let d = TestDaemon::demo().await;
    let wait = Duration::from_millis(500);
    // Too short for a header, and responses: dropped.
    assert!(raw_udp(d.dns, &[1, 2, 3, 4, 5], wait).is_none());
    let mut response = packet(9, 0x8000, "example", 6, 1, None);
    assert!(raw_udp(d.dns, &response, wait).is_none());
    // A header followed by garbage, a label that runs off the end, no question, two questions.
    let mut garbage = packet(10, 0, "example", 6, 1, None)[..12].to_vec();
    garbage.extend_from_slice(&[0xFF; 20]);
    let mut runs_off = packet(11, 0, "example", 6, 1, None);
    runs_off.truncate(16);
    let mut no_question = packet(12, 0, "example", 6, 1, None);
    no_question[5] = 0;
    let mut two_questions = packet(13, 0, "example", 6, 1, None);
    two_questions[5] = 2;
    for (id, bad) in [(10u16, garbage), (11, runs_off), (12, no_question), (13, two_questions)] {
        let reply = raw_udp(d.dns, &bad, Duration::from_secs(5)).expect("FORMERR reply");
        let m = parse(&reply);
        assert_eq!((m.metadata.id, m.metadata.response_code), (id, ResponseCode::FormErr));
    }
    // Opcodes we do not serve.
    let update = raw_udp(d.dns, &packet(14, 5 << 11, "example", 6, 1, None), Duration::from_secs(5)).unwrap();
    assert_eq!(parse(&update).metadata.response_code, ResponseCode::NotImp);
    let notify = raw_udp(d.dns, &packet(15, 4 << 11, "example", 6, 1, None), Duration::from_secs(5)).unwrap();
    assert_eq!(parse(&notify).metadata.response_code, ResponseCode::Refused);
    let axfr_udp = raw_udp(d.dns, &packet(16, 0, "example", 252, 1, None), Duration::from_secs(5)).unwrap();
    assert_eq!(parse(&axfr_udp).metadata.response_code, ResponseCode::NotImp);
    response[2] = 0;
    // Still serving.
    let r = d.query("example.", RecordType::SOA).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_pipelines_and_closes_bad_or_idle_connections() {
    let d = TestDaemon::start(true, |c, _| c.dns.tcp_idle_timeout_s = 1).await;
    let mut stream = tokio::net::TcpStream::connect(d.dns).await.unwrap();
    // Two queries in one write: two answers, in order.
    let mut both = Vec::new();
    for (id, name) in [(21u16, "example"), (22, "nope.example")] {
        let q = packet(id, 0, name, 6, 1, None);
        both.extend_from_slice(&(q.len() as u16).to_be_bytes());
        both.extend_from_slice(&q);
    }
    stream.write_all(&both).await.unwrap();
    for (id, rcode) in [(21u16, ResponseCode::NoError), (22, ResponseCode::NXDomain)] {
        let len = stream.read_u16().await.unwrap() as usize;
        let mut buf = vec![0; len];
        stream.read_exact(&mut buf).await.unwrap();
        let m = parse(&buf);
        assert_eq!((m.metadata.id, m.metadata.response_code), (id, rcode));
    }
    // Idle: closed by the server.
    assert!(closed_by_server(&mut stream).await, "idle connection");

    // A length that promises more than is sent: closed after the timeout, others unaffected.
    let mut liar = tokio::net::TcpStream::connect(d.dns).await.unwrap();
    liar.write_all(&[0xFF, 0xFF, 0, 1]).await.unwrap();
    assert_eq!(d.query_tcp("example.", RecordType::SOA).await.metadata.response_code, ResponseCode::NoError);
    assert!(closed_by_server(&mut liar).await, "incomplete frame");
    d.stop().await;

    // Bad frames are closed at once: with an idle timeout longer than `closed_by_server` waits, only the frame check can close them.
    let d = TestDaemon::start(true, |c, _| c.dns.tcp_idle_timeout_s = 120).await;
    let mut huge = tokio::net::TcpStream::connect(d.dns).await.unwrap();
    huge.write_all(&[0xFF, 0xF0]).await.unwrap();
    assert!(closed_by_server(&mut huge).await, "oversize frame");
    let mut short = tokio::net::TcpStream::connect(d.dns).await.unwrap();
    short.write_all(&[0, 3, 1, 2, 3]).await.unwrap();
    assert!(closed_by_server(&mut short).await, "short frame");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_stop_reading_are_dropped_and_free_their_slot() {
    let d = TestDaemon::start(true, |c, _| {
        c.dns.tcp_idle_timeout_s = 3;
        c.dns.tcp_connections_per_address_max = 1;
    })
    .await;
    // A referral of about 1.5 KB, so a few thousand pipelined queries fill every buffer.
    d.ok("POST", "/v1/domains", Some(serde_json::json!({"name": "wide.example", "registrar": "demo-registrar"}))).await;
    let mut hosts = Vec::new();
    for i in 0..13 {
        let host = format!("ns{i}-a-rather-long-label-that-fills-packets-quickly.wide.example");
        d.ok("POST", "/v1/hosts", Some(serde_json::json!({"name": host, "addresses": [format!("192.0.2.{i}"), format!("2001:db8::{i}")]})))
            .await;
        hosts.push(host);
    }
    d.ok("PATCH", "/v1/domains/wide.example", Some(serde_json::json!({"add_nameservers": hosts}))).await;

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(d.dns).await.unwrap();
    let q = packet(1, 0, "www.wide.example", 1, 1, None);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    // One answer on `slow` shows it holds the address's one slot (accepts may run on several sockets).
    slow.write_all(&framed).await.unwrap();
    let len = slow.read_u16().await.unwrap() as usize;
    slow.read_exact(&mut vec![0; len]).await.unwrap();
    // So a second connection gets no answer, only a close.
    let mut second = tokio::net::TcpStream::connect(d.dns).await.unwrap();
    second.write_all(&framed).await.unwrap();
    let mut first = [0u8; 2];
    let read = tokio::time::timeout(Duration::from_secs(30), second.read(&mut first)).await.expect("closed, not left hanging");
    assert!(matches!(read, Ok(0) | Err(_)), "over the per-address cap: closed without an answer");
    // `slow` asks for far more than it reads and never reads at all. Only the server
    // giving up on it can free the address's one slot for the query below.
    let burst = framed.repeat(8000);
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.write_all(&burst)).await;
    assert!(
        eventually(Duration::from_secs(30), async || {
            tokio::time::timeout(Duration::from_secs(5), async {
                let mut client = tcp_client(d.dns).await;
                hickory_net::client::ClientHandle::query(
                    &mut client,
                    hickory_net::proto::rr::Name::from_ascii("example.").unwrap(),
                    hickory_net::proto::rr::DNSClass::IN,
                    RecordType::SOA,
                )
                .await
                .is_ok()
            })
            .await
            .unwrap_or(false)
        })
        .await,
        "a peer that stops reading is dropped and its slot freed"
    );
    drop(slow);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_over_udp_gets_the_current_soa() {
    let d = TestDaemon::demo().await;
    let serial = d.serial("example").await;
    let out = dig(d.dns, &["+notcp", "example", "IXFR=1"]);
    assert!(out.contains(&format!("example.\t\t3600\tIN\tSOA\ta.nic.example. hostmaster.nic.example. {serial}")), "{out}");
    let reply = parse(&raw_udp(d.dns, &packet(5, 0, "example", 251, 1, None), Duration::from_secs(5)).unwrap());
    assert!(reply.metadata.authoritative);
    assert_eq!(names(&reply.answers), vec!["example. SOA"]);
    let reply = parse(&raw_udp(d.dns, &packet(6, 0, "hello.example", 251, 1, None), Duration::from_secs(5)).unwrap());
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_ipv4_and_ipv6_listeners_coexist() {
    let port = free_port();
    // Wildcards are only bound; every query goes to loopback.
    let d = TestDaemon::start(true, |c, _| c.dns.listen = vec![([0, 0, 0, 0], port).into(), format!("[::]:{port}").parse().unwrap()]).await;
    for server in [std::net::SocketAddr::from(([127, 0, 0, 1], port)), format!("[::1]:{port}").parse().unwrap()] {
        assert_eq!(udp_query(server, "example.", RecordType::SOA).await.answers.len(), 1, "{server} UDP");
        let mut client = tcp_client(server).await;
        let r = hickory_net::client::ClientHandle::query(
            &mut client,
            hickory_net::proto::rr::Name::from_ascii("example.").unwrap(),
            hickory_net::proto::rr::DNSClass::IN,
            RecordType::SOA,
        )
        .await
        .unwrap();
        assert_eq!(r.answers.len(), 1, "{server} TCP");
    }
    d.stop().await;
}

/// True when the server ends the connection (EOF or reset) within a generous limit.
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}
