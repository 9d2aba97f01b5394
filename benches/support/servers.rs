//! The DNS servers the benchmarks start and compare: domain-os from its
//! binary with a benchmark configuration (the TLD imported into a stopped
//! store), NSD and Knot DNS from one zone file, each timed from its start
//! to its first answer.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Server;

pub const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

fn soa_query(tld: &str, id: u16) -> Vec<u8> {
    let mut p = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    p.push(tld.len() as u8);
    p.extend_from_slice(tld.as_bytes());
    p.extend_from_slice(&[0, 0, 6, 0, 1]);
    p
}

/// Time until `port` answers the apex SOA of `tld` (with the SOA when
/// `need_zone`), polling every 2 ms.
fn first_answer(port: u16, tld: &str, started: Instant, limit: Duration, need_zone: bool) -> Option<Duration> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    let mut buf = [0u8; 4096];
    let mut id = 1u16;
    while started.elapsed() < limit {
        id = id.wrapping_add(1);
        let _ = socket.send_to(&soa_query(tld, id), ("127.0.0.1", port));
        let deadline = Instant::now() + Duration::from_millis(2);
        while Instant::now() < deadline {
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                let answered = buf[3] & 0x0F == 0 && buf[7] > 0;
                if n > 12 && u16::from_be_bytes([buf[0], buf[1]]) == id && (answered || !need_zone) {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

/// Starts `cmd` and waits for its first answer about `tld`: the server and
/// the seconds that took.
pub fn spawn(name: &str, cmd: &mut Command, port: u16, tld: &str, need_zone: bool) -> (Server, f64) {
    let started = Instant::now();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{name}: {e}"));
    let server = Server { name: name.into(), child, port, started };
    let first =
        first_answer(port, tld, server.started, Duration::from_secs(600), need_zone).unwrap_or_else(|| panic!("{name} never answered"));
    (server, first.as_secs_f64())
}

/// A domain-os configuration in `dir` with DNS and the operator API only.
pub fn domain_os_config(dir: &Path, dns: u16, admin: u16, metrics: bool) -> PathBuf {
    let path = dir.join("domain-os.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nzones_dir = \"zones\"\nlog = \"warn\"\n[dns]\nlisten = [\"127.0.0.1:{dns}\"]\n[admin]\nlisten = \"127.0.0.1:{admin}\"\nmetrics = {metrics}\n[epp]\nlisten = []\n[rdap]\nlisten = []\n[whois]\nlisten = []\n"
        ),
    )
    .unwrap();
    path
}

/// `domain-os ARGS` with configuration `conf`; its standard output.
pub fn cli(conf: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN).arg("--config").arg(conf).args(args).output().unwrap();
    assert!(out.status.success(), "domain-os {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates registrar `bench` and TLD `tld` through a daemon on `dns_port`,
/// then imports `zone` into the stopped store: the seconds the import took.
pub fn import_bench_tld(conf: &Path, dns_port: u16, tld: &str, zone: &Path) -> f64 {
    {
        let (_server, _) = spawn("setup", Command::new(BIN).arg("--config").arg(conf).arg("serve"), dns_port, tld, false);
        // An accredited registrar has an IANA id: escrow deposits carry it (gurid).
        cli(conf, &["registrar", "create", "bench", "--name", "Bench Registrar", "--email", "ops@bench.example", "--set", "iana_id=9998"]);
        // The generated zone's glue is in 10.0.0.0/8, which a TLD refuses unless its policy allows private ranges.
        cli(conf, &["tld", "create", tld, "--ns", "ns1.nic.example", "--ns", "ns2.nic.example", "--set", "glue_private_allowed=true"]);
    }
    let t = Instant::now();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(conf)
        .args(["import", "zone", zone.to_str().unwrap(), "--tld", tld, "--registrar", "bench"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    t.elapsed().as_secs_f64()
}

/// NSD serving `zone` for `tld`, with response-rate limiting off (its
/// default limits one source to 200 answers a second).
pub fn nsd(dir: &Path, zone: &Path, tld: &str, port: u16) -> (Server, f64) {
    let d = dir.join("nsd");
    std::fs::create_dir_all(&d).unwrap();
    let conf = d.join("nsd.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  server-count: 2\n  reuseport: yes\n  database: \"\"\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  pidfile: \"{d}/nsd.pid\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 0\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\nzone:\n  name: {tld}\n  zonefile: \"{z}\"\n  provide-xfr: 127.0.0.1 NOKEY\n",
            d = d.display(),
            z = zone.display()
        ),
    )
    .unwrap();
    spawn("NSD 4.6", Command::new("nsd").arg("-d").arg("-c").arg(&conf), port, tld, true)
}

/// Knot DNS serving `zone` for `tld` as it is (no signing of its own).
pub fn knot(dir: &Path, zone: &Path, tld: &str, port: u16) -> (Server, f64) {
    let d = dir.join("knot");
    std::fs::create_dir_all(&d).unwrap();
    let conf = d.join("knot.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n  udp-workers: 2\n  tcp-workers: 1\n  background-workers: 1\nlog:\n  - target: \"{d}/knot.log\"\n    any: warning\ndatabase:\n  storage: \"{d}\"\nacl:\n  - id: local_transfer\n    address: 127.0.0.1\n    action: transfer\ntemplate:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\nzone:\n  - domain: {tld}\n    file: \"{z}\"\n    acl: local_transfer\n",
            d = d.display(),
            z = zone.display()
        ),
    )
    .unwrap();
    spawn("Knot 3.2", Command::new("knotd").arg("-c").arg(&conf), port, tld, true)
}
