//! Backup benchmark: an online backup of an N-domain store (default
//! 1,000,000, imported from the DNS benchmark's generated zone) while the
//! daemon serves, beside the same load without a backup: backup time and
//! size, the daemon's memory before and at its peak, and DNS throughput
//! (dnsperf) and EPP domain:create latency while the copy runs.
//!
//!     scripts/bench backup
//!     DOMAINS=100000 SESSIONS=8 cargo bench --bench backup
//!
//! Only loopback traffic. Not a test: numbers depend on the machine.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::epp::*;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

fn write_config(dir: &Path, dns: u16, admin: u16, epp: u16) -> PathBuf {
    let path = dir.join("domain-os.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nzones_dir = \"zones\"\nlog = \"warn\"\n[registry]\ncache_mib = 256\n[dns]\nlisten = [\"127.0.0.1:{dns}\"]\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[epp]\nlisten = [\"127.0.0.1:{epp}\"]\nsessions_per_registrar_max = 64\n[rdap]\nlisten = []\n[whois]\nlisten = []\n"
        ),
    )
    .unwrap();
    path
}

/// Peak resident memory of a process since it started (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok()).unwrap_or(0.0)
        / 1024.0
}

/// `domain-os backup --to`, through the running daemon: its duration and report.
fn take_backup(conf: &Path, to: &Path) -> (f64, serde_json::Value) {
    let t = Instant::now();
    let out = Command::new(BIN).arg("--config").arg(conf).arg("backup").arg("--to").arg(to).output().unwrap();
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    (t.elapsed().as_secs_f64(), serde_json::from_slice(&out.stdout).unwrap())
}

/// One load window: dnsperf and EPP creates side by side for `seconds`.
struct Load {
    dns_qps: f64,
    creates: usize,
    create_p50_ms: f64,
    create_p99_ms: f64,
}

async fn load(sessions: Vec<Session>, dns: u16, queries: &Path, seconds: usize) -> (Vec<Session>, Load) {
    let queries = queries.to_path_buf();
    let dnsperf_run = tokio::task::spawn_blocking(move || dnsperf(dns, &queries, seconds, &[]));
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let tasks: Vec<_> = sessions.into_iter().map(|s| tokio::spawn(drive(s, Op::Create, deadline))).collect();
    let (mut sessions, mut latencies) = (Vec::new(), Vec::new());
    for t in tasks {
        let (s, r) = t.await.unwrap();
        assert_eq!(r.errors, 0, "creates failed: {:?}", r.first_error);
        sessions.push(s);
        latencies.extend(r.latencies_us);
    }
    let (dns_qps, ..) = dnsperf_run.await.unwrap();
    let creates = latencies.len();
    let create_p50_ms = percentile(&mut latencies, 0.5) / 1000.0;
    let create_p99_ms = percentile(&mut latencies, 0.99) / 1000.0;
    (sessions, Load { dns_qps, creates, create_p50_ms, create_p99_ms })
}

fn main() {
    let n = env_usize("DOMAINS", 1_000_000);
    let session_count = env_usize("SESSIONS", 8);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-backup");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!("domain-os backup benchmark: {n} domains, {session_count} EPP sessions creating, dnsperf, 2-core machine, loopback only");

    let zone = dir.join("source.zone");
    generate_zone(&zone, n, TLD);
    let queries = dir.join("queries.txt");
    generate_queries(&queries, n, 2_000_000, TLD);
    let (dns, admin, epp) = (free_port(), free_port(), free_port());
    let conf = write_config(&dir, dns, admin, epp);
    let cli = |args: &[&str]| {
        let out = Command::new(BIN).arg("--config").arg(&conf).args(args).stderr(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "domain-os {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve = || {
        let child =
            Command::new(BIN).arg("--config").arg(&conf).arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
        let server = Server { name: "domain-os".into(), child, port: epp, started: Instant::now() };
        while std::net::TcpStream::connect(("127.0.0.1", epp)).is_err() {
            assert!(server.started.elapsed() < Duration::from_secs(300), "the server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    };

    let registrar = "bench-r0";
    {
        let _setup = serve();
        let r = &["registrar", "create", registrar, "--name", registrar, "--email", "ops@bench.test", "--password", PASSWORD];
        cli(&[&r[..], &["--set", r#"allowed_addresses=["127.0.0.0/8"]"#]].concat());
        cli(&["registrar", "fund", registrar, "100000000.00"]);
        cli(&["registrar", "certificate", registrar]);
        cli(&["tld", "create", TLD, "--ns", "ns1.nic.example", "--ns", "ns2.nic.example", "--set", "glue_private_allowed=true"]);
    }
    let t = Instant::now();
    cli(&["import", "zone", zone.to_str().unwrap(), "--tld", TLD, "--registrar", registrar]);
    eprintln!("imported {n} delegations in {:.1} s", t.elapsed().as_secs_f64());

    let server = serve();
    let pid = server.child.id();
    let tls = tls_config(&dir.join("data/tls"), registrar);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let (quiet, under_backup, idle_s, loaded_s, report, rss_before, rss_peak) = runtime.block_on(async {
        let mut sessions = Vec::new();
        for i in 0..session_count {
            sessions.push(Session::open(("127.0.0.1", epp), tls.clone(), i, registrar).await);
        }
        let host = format!(r#"<create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns1.{registrar}.net</host:name></host:create></create>"#);
        assert_eq!(sessions[0].command(&host).await.0, 1000);

        let rss_before = memory_mib(pid).0;
        let (idle_s, report) = tokio::task::block_in_place(|| take_backup(&conf, &dir.join("idle.redb")));
        let rss_peak = peak_rss_mib(pid);
        // The load windows last as long as a backup takes, so the second lies within one.
        let seconds = (idle_s.ceil() as usize).max(5);
        let (sessions, quiet) = load(sessions, dns, &queries, seconds).await;
        let (conf, to) = (conf.clone(), dir.join("loaded.redb"));
        let copying = tokio::task::spawn_blocking(move || take_backup(&conf, &to));
        let (_, under_backup) = load(sessions, dns, &queries, seconds).await;
        let (loaded_s, _) = copying.await.unwrap();
        (quiet, under_backup, idle_s, loaded_s, report, rss_before, rss_peak.max(peak_rss_mib(pid)))
    });
    drop(server);

    let mib = report["bytes"].as_f64().unwrap_or(0.0) / f64::from(1 << 20);
    let domains = report["tables"].as_array().and_then(|t| t.iter().find(|t| t[0] == "domains")).map_or(0, |t| t[1].as_u64().unwrap_or(0));
    let mut table = String::new();
    writeln!(table, "\nbackup of {domains} domains ({mib:.0} MiB): {idle_s:.1} s idle, {loaded_s:.1} s under load").unwrap();
    writeln!(table, "daemon RSS: {rss_before:.0} MiB before the first backup, peak {rss_peak:.0} MiB").unwrap();
    writeln!(table, "\n| window | DNS QPS | EPP creates | create p50 | create p99 |").unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|").unwrap();
    for (name, l) in [("no backup", &quiet), ("backup running", &under_backup)] {
        writeln!(table, "| {name} | {:.0} | {} | {:.2} ms | {:.2} ms |", l.dns_qps, l.creates, l.create_p50_ms, l.create_p99_ms).unwrap();
    }
    writeln!(table, "\nDNS QPS during / without a backup: {:.2}", under_backup.dns_qps / quiet.dns_qps).unwrap();
    writeln!(table, "EPP create p99 during / without a backup: {:.2}", under_backup.create_p99_ms / quiet.create_p99_ms).unwrap();
    println!("{table}");
}
