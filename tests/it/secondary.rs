//! A real secondary follows us: Knot DNS, started with its own
//! configuration on a loopback port, transfers the zone with TSIG, is
//! NOTIFYed on every change and catches up by IXFR.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

const SECRET: &str = "a25vdC1zZWNvbmRhcnktdGVzdC1rZXktbWF0ZXJpYWwhIQ==";

struct Knot {
    child: Child,
    log: std::path::PathBuf,
    addr: std::net::SocketAddr,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Knot {
    fn start(dir: &Path, port: u16, primary: std::net::SocketAddr) -> Knot {
        let dir = dir.join("knot");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("knot.log");
        let conf = format!(
            r#"server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "{log}"
    any: info
database:
    storage: "{d}"
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: primary
    address: {ip}@{pport}
    key: xfr-key
acl:
  - id: notify_from_primary
    address: {ip}
    key: xfr-key
    action: notify
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
  - domain: example
    master: primary
    acl: notify_from_primary
"#,
            d = dir.display(),
            log = log.display(),
            ip = primary.ip(),
            pport = primary.port(),
        );
        let conf_path = dir.join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("knotd must be installed (scripts/test installs it)");
        Knot { child, log, addr: ([127, 0, 0, 1], port).into() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn serial(&self) -> Option<u32> {
        let (_, out, _) = tool(
            "dig",
            &[
                &format!("@{}", self.addr.ip()),
                "-p",
                &self.addr.port().to_string(),
                "+norec",
                "+short",
                "+time=2",
                "+tries=1",
                "example",
                "SOA",
            ],
        );
        out.split_whitespace().nth(2)?.parse().ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_follows_by_notify_and_ixfr() {
    let knot_port = free_port();
    let d = TestDaemon::start(true, |c, dir| {
        let key = dir.join("xfr.key");
        std::fs::write(&key, format!("key \"xfr-key\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n")).unwrap();
        c.dns.tsig_key_files = vec![key];
        c.dns.transfer_acl = vec![domain_os::config::AclRule { addresses: vec![], keys: vec!["xfr-key".into()] }];
        c.dns.secondaries =
            vec![domain_os::config::Secondary { address: ([127, 0, 0, 1], knot_port).into(), key: Some("xfr-key".into()), zones: vec![] }];
        c.dns.notify_timeout_ms = 500;
    })
    .await;
    let knot = Knot::start(d.dir.path(), knot_port, d.dns);
    let s0 = d.serial("example").await;
    assert!(eventually(Duration::from_secs(60), async || knot.serial() == Some(s0)).await, "Knot never loaded the zone:\n{}", knot.log());

    for i in 0..3 {
        d.ok(
            "POST",
            "/v1/domains",
            Some(json!({"name": format!("follow{i}.example"), "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})),
        )
        .await;
    }
    d.ok("PATCH", "/v1/domains/hello.example", Some(json!({"add_statuses": ["clientHold"]}))).await;
    let s1 = d.serial("example").await;
    assert!(eventually(Duration::from_secs(60), async || knot.serial() == Some(s1)).await, "Knot did not follow to {s1}:\n{}", knot.log());

    let at_knot = udp_query(knot.addr, "follow2.example.", hickory_net::proto::rr::RecordType::NS).await;
    assert_eq!(at_knot.authorities.len(), 1, "the secondary serves the new delegation");
    let held = udp_query(knot.addr, "hello.example.", hickory_net::proto::rr::RecordType::NS).await;
    assert_eq!(held.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain, "and has dropped the held one");

    let log = knot.log();
    assert!(log.contains("AXFR, incoming") && log.contains("finished"), "{log}");
    assert!(log.contains("IXFR, incoming") && log.contains("notify, incoming"), "changes arrive by NOTIFY + IXFR:\n{log}");
    assert!(!log.contains("fallback to AXFR"), "{log}");
    drop(knot);
    d.stop().await;
}
