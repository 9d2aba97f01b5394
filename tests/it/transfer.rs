//! Zone transfers: AXFR of a consistent snapshot, IXFR from the journal with
//! AXFR fallback, the transfer ACL, and TSIG — checked with kdig, which
//! verifies every message's MAC, and with hickory's transfer client.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;

use crate::common::*;

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldCE=";

fn write_key(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("transfer.key");
    std::fs::write(&path, format!("key \"xfr-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n")).unwrap();
    path
}

fn soa_serials(text: &str) -> Vec<u32> {
    records(text).iter().filter(|r| r.2 == "SOA").map(|r| r.3.split_whitespace().nth(2).unwrap().parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axfr_matches_the_zone_file_and_is_refused_outside_the_acl() {
    let d = TestDaemon::demo().await;
    let (ok, out) = kdig(d.dns, &["example", "AXFR"]);
    assert!(ok, "{out}");
    let axfr: BTreeSet<_> = records(&out).into_iter().collect();
    d.ok("POST", "/v1/tlds/example/export", None).await;
    let file = std::fs::read_to_string(d.config.zones_dir.join("example.zone")).unwrap();
    let exported: BTreeSet<_> = records(&file).into_iter().collect();
    assert_eq!(axfr, exported);
    assert_eq!(soa_serials(&out).len(), 2, "SOA first and last");
    // The same through hickory's transfer client.
    let count = collect_xfr(d.dns, "example.").await;
    assert_eq!(count, records(&out).len());

    let (ok, out) = kdig(d.dns, &["nope", "AXFR"]);
    assert!(!ok || out.contains("NOTAUTH"), "{out}");
    d.stop().await;

    let closed = TestDaemon::start(true, |c, _| c.dns.transfer_acl.clear()).await;
    let (_, out) = kdig(closed.dns, &["example", "AXFR"]);
    assert!(out.contains("REFUSED"), "{out}");
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsig_signed_transfers_verify_and_bad_keys_are_refused() {
    let d = TestDaemon::start(true, |c, dir| {
        c.dns.tsig_key_files = vec![write_key(dir)];
        c.dns.transfer_acl = vec![domain_os::config::AclRule { addresses: vec![], keys: vec!["xfr-key".into()] }];
    })
    .await;
    // Many domains, so the transfer spans several messages, each signed and chained.
    let mut zone = String::new();
    for i in 0..3000 {
        zone.push_str(&format!("d{i}.example. 3600 IN NS ns1.example.net.\nd{i}.example. 3600 IN NS ns2.example.net.\n"));
    }
    let resp = d
        .http()
        .post(format!("{}/v1/tlds/example/import?registrar=demo-registrar", d.base))
        .bearer_auth(&d.token)
        .body(zone)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let key = format!("hmac-sha256:xfr-key:{SECRET}");
    let (ok, out) = kdig(d.dns, &["-y", &key, "example", "AXFR"]);
    assert!(ok && !out.contains("WARNING"), "{out}");
    let messages: usize = out
        .lines()
        .find_map(|l| l.strip_prefix(";; Received "))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(messages > 1, "expected a multi-message transfer: {out}");
    assert!(records(&out).len() > 6000);

    let (_, unsigned) = kdig(d.dns, &["example", "AXFR"]);
    assert!(unsigned.contains("REFUSED"), "{unsigned}");
    let wrong = "hmac-sha256:xfr-key:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=";
    let (_, bad) = kdig(d.dns, &["-y", wrong, "example", "AXFR"]);
    assert!(bad.contains("BADSIG"), "{bad}");
    let unknown = format!("hmac-sha256:other-key:{SECRET}");
    let (_, bad) = kdig(d.dns, &["-y", &unknown, "example", "SOA"]);
    assert!(bad.contains("BADKEY"), "{bad}");
    // Signed ordinary queries get signed answers.
    let (ok, out) = kdig(d.dns, &["-y", &key, "example", "SOA"]);
    assert!(ok && out.contains("status: NOERROR") && !out.contains("WARNING"), "{out}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_replays_the_journal_and_falls_back_to_axfr() {
    let d = TestDaemon::demo().await;
    let s0 = d.serial("example").await;
    d.ok("POST", "/v1/domains", Some(json!({"name": "new.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})))
        .await;
    let s1 = d.serial("example").await;
    d.ok("PATCH", "/v1/domains/hello.example", Some(json!({"remove_nameservers": ["ns2.hello.example"]}))).await;
    let s2 = d.serial("example").await;

    let ixfr = format!("IXFR={s0}");
    let (ok, out) = kdig(d.dns, &["example", &ixfr]);
    assert!(ok, "{out}");
    // SOA(new), then per change SOA(old) deletions SOA(new) additions, then SOA(new).
    assert_eq!(soa_serials(&out), vec![s2, s0, s1, s1, s2, s2], "{out}");
    let rr = records(&out);
    assert!(rr.iter().any(|r| r.0 == "new.example." && r.2 == "NS"), "{out}");
    assert!(rr.iter().any(|r| r.0 == "ns2.hello.example." && r.2 == "A"), "glue removed with its last delegation: {out}");
    assert!(!rr.iter().any(|r| r.0 == "world.example."), "unchanged data is not sent: {out}");

    // Up to date: one SOA.
    let (_, out) = kdig(d.dns, &["example", &format!("IXFR={s2}")]);
    assert_eq!(soa_serials(&out), vec![s2]);
    // Older than the journal: the whole zone.
    let (_, out) = kdig(d.dns, &["example", &format!("IXFR={}", s0.wrapping_sub(1000))]);
    let serials = soa_serials(&out);
    assert_eq!(serials, vec![s2, s2]);
    assert!(records(&out).iter().any(|r| r.0 == "world.example."));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_bounded() {
    let d = TestDaemon::start(true, |c, _| c.dns.journal_entries_max = 2).await;
    let s0 = d.serial("example").await;
    for i in 0..3 {
        d.ok(
            "POST",
            "/v1/domains",
            Some(json!({"name": format!("j{i}.example"), "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})),
        )
        .await;
    }
    let now = d.serial("example").await;
    let (_, out) = kdig(d.dns, &["example", &format!("IXFR={s0}")]);
    assert_eq!(soa_serials(&out), vec![now, now], "pruned history means a full transfer: {out}");
    d.stop().await;
}

/// Counts the records of a zone transfer through hickory's client.
async fn collect_xfr(server: std::net::SocketAddr, zone: &str) -> usize {
    use futures_util::StreamExt;
    use hickory_net::client::ClientHandle;
    let mut client = tcp_client(server).await;
    let mut stream = client.zone_transfer(hickory_net::proto::rr::Name::from_ascii(zone).unwrap(), None);
    let mut count = 0;
    while let Some(response) = stream.next().await {
        count += response.unwrap().answers.len();
    }
    count
}
