//! Real secondaries follow us: Knot DNS and NSD, each started with its own
//! configuration on a loopback port, transfers the zone with TSIG, is
//! NOTIFYed on every change and catches up by IXFR, signatures and NSEC3
//! changes included, to serve exactly what we serve; and one that held a
//! TLD's zone from its previous primary keeps following after the import.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

const SECRET: &str = "a25vdC1zZWNvbmRhcnktdGVzdC1rZXktbWF0ZXJpYWwhIQ==";

pub(crate) struct Knot {
    child: Child,
    log: std::path::PathBuf,
    pub(crate) addr: std::net::SocketAddr,
    zone: String,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Knot {
    /// A secondary of `zone`, starting from `zonefile` (the previous primary's copy) when given.
    pub(crate) fn start(dir: &Path, port: u16, primary: std::net::SocketAddr, zone: &str, zonefile: Option<&str>) -> Knot {
        Knot::start_with(dir, port, primary, zone, zonefile, true)
    }

    /// Like `start`; without `tsig` the primary is trusted by its address
    /// alone (TSIG needs both clocks to agree, which a test's manual clock
    /// far from the real one does not).
    pub(crate) fn start_with(dir: &Path, port: u16, primary: std::net::SocketAddr, zone: &str, zonefile: Option<&str>, tsig: bool) -> Knot {
        let key = if tsig { "\n    key: xfr-key" } else { "" };
        let dir = dir.join("knot");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("knot.log");
        let load = match zonefile {
            Some(text) => {
                let path = dir.join(format!("{zone}.zone"));
                std::fs::write(&path, text).unwrap();
                format!("    file: \"{}\"\n    zonefile-load: whole\n", path.display())
            }
            None => String::new(),
        };
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
    address: {ip}@{pport}{key}
acl:
  - id: notify_from_primary
    address: {ip}{key}
    action: notify
  - id: transfer_to_test
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
  - domain: {zone}
    master: primary
    acl: [notify_from_primary, transfer_to_test]
{load}"#,
            d = dir.display(),
            log = log.display(),
            ip = primary.ip(),
            pport = primary.port(),
            key = key,
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
        Knot { child, log, addr: ([127, 0, 0, 1], port).into(), zone: zone.into() }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn serial(&self) -> Option<u32> {
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
                &self.zone,
                "SOA",
            ],
        );
        out.split_whitespace().nth(2)?.parse().ok()
    }
}

/// A daemon that lets the Knot secondary on `knot_port` transfer with TSIG and NOTIFYs it.
async fn primary_of(knot_port: u16, demo: bool) -> TestDaemon {
    TestDaemon::start(demo, |c, dir| serve_secondary(c, dir, knot_port)).await
}

/// Lets the secondary on `port` transfer with TSIG (and only with it), and NOTIFYs it.
fn serve_secondary(c: &mut domain_os::config::Config, dir: &Path, port: u16) {
    let key = dir.join("xfr.key");
    std::fs::write(&key, format!("key \"xfr-key\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n")).unwrap();
    c.dns.tsig_key_files = vec![key];
    c.dns.transfer_acl = vec![domain_os::config::AclRule { addresses: vec![], keys: vec!["xfr-key".into()] }];
    c.dns.secondaries =
        vec![domain_os::config::Secondary { address: ([127, 0, 0, 1], port).into(), key: Some("xfr-key".into()), zones: vec![] }];
    c.dns.notify_timeout_ms = 500;
}

/// Lets loopback transfer without TSIG and NOTIFYs the secondaries on `ports` unsigned.
pub(crate) fn serve_secondaries_on_loopback(c: &mut domain_os::config::Config, ports: &[u16]) {
    let loopback = domain_os::model::IpPrefix::parse("127.0.0.0/8").unwrap();
    c.dns.transfer_acl = vec![domain_os::config::AclRule { addresses: vec![loopback], keys: vec![] }];
    c.dns.secondaries = ports
        .iter()
        .map(|&port| domain_os::config::Secondary { address: ([127, 0, 0, 1], port).into(), key: None, zones: vec![] })
        .collect();
    c.dns.notify_timeout_ms = 500;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_follows_by_notify_and_ixfr() {
    let knot_port = free_port();
    let d = primary_of(knot_port, true).await;
    let knot = Knot::start(d.dir.path(), knot_port, d.dns, "example", None);
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

    // The demo zone is signed: what Knot built from our IXFRs, signatures
    // and NSEC3 chain included, is exactly what we serve, and validates.
    let tsig = format!("hmac-sha256:xfr-key:{SECRET}");
    let (ok, ours) = kdig(d.dns, &["+tcp", "-y", &tsig, "example", "AXFR"]);
    assert!(ok, "{ours}");
    let (ok, theirs) = kdig(knot.addr, &["+tcp", "example", "AXFR"]);
    assert!(ok, "{theirs}");
    assert!(ours.contains("\tNSEC3\t") && ours.contains("\tRRSIG\t"), "{ours}");
    assert_eq!(record_set(&theirs), record_set(&ours), "Knot serves what we serve");
    let copy = d.dir.path().join("knot-copy.zone");
    std::fs::write(&copy, &theirs).unwrap();
    let (ok, out, err) = tool("kzonecheck", &["-o", "example", "-d", "on", copy.to_str().unwrap()]);
    assert!(ok, "Knot's copy: {out}{err}");

    let log = knot.log();
    assert!(log.contains("AXFR, incoming") && log.contains("finished"), "{log}");
    assert!(log.contains("IXFR, incoming") && log.contains("notify, incoming"), "changes arrive by NOTIFY + IXFR:\n{log}");
    assert!(!log.contains("fallback to AXFR"), "{log}");
    drop(knot);
    d.stop().await;
}

/// The zone of .mig as its previous primary served it: a date serial, SOA
/// timers and TTLs of its own, and the TLD's name servers inside the zone.
const OLD_MIG_ZONE: &str = "\
$ORIGIN mig.
$TTL 86400
@ 3600 IN SOA a.nic.mig. hostmaster.nic.mig. 2024010101 7200 1800 1209600 300
@ IN NS a.nic.mig.
@ IN NS b.nic.mig.
a.nic IN A 192.0.2.53
b.nic IN AAAA 2001:db8::53
old IN NS ns1.example.net.
old IN NS ns2.example.net.
signed 3600 IN NS ns1.example.net.
signed IN DS 1 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372
signed IN RRSIG DS 13 2 86400 20270101000000 20261201000000 1 mig. AAAA
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_holding_the_previous_zone_follows_the_import() {
    let knot_port = free_port();
    let d = primary_of(knot_port, false).await;
    d.ok("POST", "/v1/registrars", Some(json!({"id": "importer", "name": "Importer", "email": "ops@importer.test"}))).await;
    d.ok("POST", "/v1/tlds", Some(json!({"name": "mig", "nameservers": ["a.nic.mig", "b.nic.mig"]}))).await;
    let knot = Knot::start(d.dir.path(), knot_port, d.dns, "mig", Some(OLD_MIG_ZONE));
    assert!(eventually(Duration::from_secs(30), async || knot.serial() == Some(2024010101)).await, "Knot did not load:\n{}", knot.log());
    assert!(serde_json::from_value::<u32>(d.ok("GET", "/v1/tlds/mig", None).await["serial"].clone()).unwrap() < 2024010101);

    let import = async |zone: &str| {
        let url = format!("{}/v1/tlds/mig/import?registrar=importer", d.base);
        let resp = d.http().post(url).bearer_auth(&d.token).body(zone.to_string()).send().await.unwrap();
        (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
    };
    // a.nic.mig and b.nic.mig are below nic.mig, which nobody holds: their addresses would be lost.
    let (status, body) = import(OLD_MIG_ZONE).await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("apex name server of .mig") && message.contains("register nic.mig"), "{message}");
    assert_eq!(d.ok("GET", "/v1/tlds/mig/domains", None).await, json!([]), "nothing was imported");

    d.ok("POST", "/v1/domains", Some(json!({"name": "nic.mig", "registrar": "importer"}))).await;
    let (status, summary) = import(OLD_MIG_ZONE).await;
    assert_eq!(status, 200, "{summary}");
    let serial = summary["serial"].as_u64().unwrap() as u32;
    assert_eq!(serial, 2024010102, "the first serial after the file's (RFC 1982): {summary}");
    let change = |field: &str| summary["changes"].as_array().unwrap().iter().find(|c| c["field"] == field).cloned();
    assert_eq!(change("SOA serial").unwrap()["file"], "2024010101");
    assert_eq!(change("SOA refresh").unwrap()["served"], "1800", "the TLD's policy is served: {summary}");
    // Two delegation NS records at 86400, one at 3600; the policy serves 3600.
    assert_eq!(change("delegation NS TTL").unwrap()["records"], 2, "{summary}");
    assert_eq!(change("DNSSEC records").unwrap()["records"], 1, "{summary}");
    assert!(change("apex NS set").is_none(), "{summary}");

    assert!(
        eventually(Duration::from_secs(60), async || knot.serial() == Some(serial)).await,
        "Knot did not follow to {serial}:\n{}",
        knot.log()
    );
    for server in [d.dns, knot.addr] {
        let apex = udp_query(server, "mig.", hickory_net::proto::rr::RecordType::NS).await;
        let glue: Vec<String> = apex.additionals.iter().map(|r| r.data.to_string()).collect();
        assert!(glue.contains(&"192.0.2.53".to_string()) && glue.contains(&"2001:db8::53".to_string()), "{server}: {glue:?}");
        let old = udp_query(server, "old.mig.", hickory_net::proto::rr::RecordType::NS).await;
        assert_eq!(old.authorities.len(), 2, "{server} serves the imported delegation");
    }
    drop(knot);
    d.stop().await;
}

/// NSD as a secondary of `zone` at `primary`, with TSIG and NOTIFY, that
/// lets loopback transfer its copy.
pub(crate) struct Nsd {
    child: Child,
    log: std::path::PathBuf,
    pub(crate) addr: std::net::SocketAddr,
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nsd {
    fn start(dir: &Path, port: u16, primary: std::net::SocketAddr, zone: &str) -> Nsd {
        Nsd::start_with(dir, port, primary, zone, true)
    }

    /// Like `start`; without `tsig` the primary is trusted by its address
    /// alone (see `Knot::start_with`).
    pub(crate) fn start_with(dir: &Path, port: u16, primary: std::net::SocketAddr, zone: &str, tsig: bool) -> Nsd {
        let key = if tsig { "xfr-key" } else { "NOKEY" };
        let dir = dir.join("nsd");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("nsd.log");
        let conf = format!(
            r#"server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  server-count: 1
  database: ""
  username: ""
  chroot: ""
  zonesdir: "{d}"
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{log}"
  verbosity: 2
remote-control:
  control-enable: no
key:
  name: xfr-key
  algorithm: hmac-sha256
  secret: "{SECRET}"
zone:
  name: {zone}
  zonefile: "{d}/{zone}.zone"
  request-xfr: {ip}@{pport} {key}
  allow-notify: {ip} {key}
  provide-xfr: 127.0.0.1 NOKEY
"#,
            d = dir.display(),
            log = log.display(),
            ip = primary.ip(),
            pport = primary.port(),
        );
        let conf_path = dir.join("nsd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("nsd")
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsd must be installed (scripts/test installs it)");
        Nsd { child, log, addr: ([127, 0, 0, 1], port).into() }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_follows_the_signed_zone_and_serves_what_we_serve() {
    let nsd_port = free_port();
    let d = primary_of(nsd_port, true).await;
    let nsd = Nsd::start(d.dir.path(), nsd_port, d.dns, "example");
    let tsig = format!("hmac-sha256:xfr-key:{SECRET}");
    let same = async || {
        let (ok, ours) = kdig(d.dns, &["+tcp", "-y", &tsig, "example", "AXFR"]);
        let (_, theirs) = kdig(nsd.addr, &["+tcp", "example", "AXFR"]);
        ok && record_set(&theirs) == record_set(&ours)
    };
    assert!(eventually(Duration::from_secs(60), same).await, "NSD never held our zone:\n{}", nsd.log());
    // Changes that move DS, NSEC3 records and signatures, announced by NOTIFY.
    let ds = json!([{"key_tag": 7, "algorithm": 13, "digest_type": 2, "digest": "AB".repeat(32)}]);
    d.ok(
        "POST",
        "/v1/domains",
        Some(json!({"name": "viansd.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "ds": ds})),
    )
    .await;
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"remove_all_ds": true}))).await;
    assert!(eventually(Duration::from_secs(60), same).await, "NSD did not follow:\n{}", nsd.log());
    let (_, theirs) = kdig(nsd.addr, &["+tcp", "example", "AXFR"]);
    assert!(theirs.contains("viansd.example.") && theirs.contains("\tNSEC3\t"), "{theirs}");
    let copy = d.dir.path().join("nsd-copy.zone");
    std::fs::write(&copy, &theirs).unwrap();
    let (ok, out, err) = tool("kzonecheck", &["-o", "example", "-d", "on", copy.to_str().unwrap()]);
    assert!(ok, "NSD's copy: {out}{err}");
    drop(nsd);
    d.stop().await;
}
