//! DNS benchmark: a TLD of N delegations (default 1,000,000; 10% with in-zone
//! glue, 30% with DS) served by domain-os, NSD and Knot DNS on the same
//! machine, from the same zone (exported by domain-os), measured with the
//! same dnsperf run: throughput, latency, losses, queries per server
//! CPU-second, start-to-first-answer, memory, AXFR time — plus how fast a
//! committed change shows in DNS, and what metrics cost the query path (the
//! same daemon again with `admin.metrics = false`).
//!
//!     scripts/bench                      # installs nsd, knot, dnsperf when missing
//!     DOMAINS=100000 SECONDS=10 cargo bench --bench dns
//!
//! Only loopback traffic. Not a test: numbers depend on the machine.

use std::fmt::Write as _;
use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::servers::*;
use support::*;

const TLD: &str = "bench";

#[derive(Default, Clone)]
struct Row {
    name: String,
    start_s: f64,
    qps: f64,
    avg_latency_ms: f64,
    lost: f64,
    qps_per_cpu_s: f64,
    rss_mib: f64,
    pss_mib: f64,
    axfr_s: f64,
    axfr_records: usize,
}

fn axfr(port: u16) -> (f64, usize) {
    let started = Instant::now();
    let mut child = Command::new("kdig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+timeout=120", "+retry=0", TLD, "AXFR", "+noall", "+stats"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kdig");
    let mut text = String::new();
    child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    child.wait().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let records = text
        .lines()
        .find_map(|l| l.strip_prefix(";; Received "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    (elapsed, records)
}

fn measure(server: &Server, queries: &Path, seconds: usize) -> Row {
    let pid = server.child.id();
    let cpu0 = cpu_seconds(pid);
    let (qps, latency, lost, completed) = dnsperf(server.port, queries, seconds, &[]);
    let cpu = cpu_seconds(pid) - cpu0;
    let (rss, pss) = memory_mib(pid);
    let (axfr_s, axfr_records) = axfr(server.port);
    Row {
        name: server.name.clone(),
        start_s: 0.0,
        qps,
        avg_latency_ms: latency,
        lost,
        qps_per_cpu_s: completed / cpu.max(1e-9),
        rss_mib: rss,
        pss_mib: pss,
        axfr_s,
        axfr_records,
    }
}

/// Time from the API's acknowledgement of a change to the first DNS answer that shows it.
fn freshness(dns: u16, admin: u16, token: &str, samples: usize) -> (f64, f64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut visible_us = Vec::with_capacity(samples);
    let mut commit_us = Vec::with_capacity(samples);
    for i in 0..samples {
        let name = format!("fresh{i}.{TLD}");
        let body = serde_json::json!({"name": name, "registrar": "bench", "nameservers": ["ns1.provider1.example.net"]});
        let t0 = Instant::now();
        let status = runtime.block_on(async {
            http.post(format!("http://127.0.0.1:{admin}/v1/domains")).bearer_auth(token).json(&body).send().await.unwrap().status()
        });
        assert!(status.is_success(), "create {name}: {status}");
        let acked = Instant::now();
        commit_us.push((acked - t0).as_secs_f64() * 1e6);
        visible_us.push(wait_until_published(&socket, dns, &name, acked).as_secs_f64() * 1e6);
    }
    let p50 = percentile(&mut visible_us, 0.5);
    let p99 = percentile(&mut visible_us, 0.99);
    let commit_p50 = percentile(&mut commit_us, 0.5);
    (p50, p99, commit_p50)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let n = env_usize("DOMAINS", 1_000_000);
    let seconds = env_usize("SECONDS", 15);
    for tool in ["dnsperf", "nsd", "knotd", "kdig"] {
        if Command::new("which").arg(tool).stdout(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
            eprintln!("{tool} is missing: run scripts/bench, which installs it");
            std::process::exit(2);
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-dns");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!("domain-os DNS benchmark: {n} delegations, {seconds} s dnsperf per server, 2-core machine, loopback only");

    let source = dir.join("source.zone");
    let t = Instant::now();
    generate_zone(&source, n, TLD);
    eprintln!("generated the zone in {:.1} s", t.elapsed().as_secs_f64());
    let queries = dir.join("queries.txt");
    generate_queries(&queries, n, 2_000_000, TLD);

    let (dns_port, admin_port) = (free_port(), free_port());
    let conf = domain_os_config(&dir, dns_port, admin_port, true);
    let run = |args: &[&str]| cli(&conf, args);
    let import_s = import_bench_tld(&conf, dns_port, TLD, &source);
    let db_mib = std::fs::metadata(dir.join("data/registry.redb")).map(|m| m.len() as f64 / (1 << 20) as f64).unwrap_or(0.0);

    let mut rows = Vec::new();
    let (server, start_s) = spawn("domain-os", Command::new(BIN).arg("--config").arg(&conf).arg("serve"), dns_port, TLD, true);
    let export = run(&["zone", "export", TLD]);
    let zone: PathBuf = serde_json::from_str::<serde_json::Value>(&export).unwrap()["path"].as_str().unwrap().into();
    let zone = if zone.is_absolute() { zone } else { dir.join(zone) };
    let mut row = measure(&server, &queries, seconds);
    row.start_s = start_s;
    let token = std::fs::read_to_string(dir.join("data/admin.token")).unwrap();
    let (fresh_p50, fresh_p99, commit_p50) = freshness(dns_port, admin_port, token.trim(), 500);
    rows.push(row);
    drop(server);

    // The same daemon with metrics off: what counting costs the query path.
    domain_os_config(&dir, dns_port, admin_port, false);
    let (server, start_s) = spawn("domain-os, metrics off", Command::new(BIN).arg("--config").arg(&conf).arg("serve"), dns_port, TLD, true);
    let mut row = measure(&server, &queries, seconds);
    row.start_s = start_s;
    rows.push(row);
    drop(server);

    for start in [nsd as fn(&Path, &Path, &str, u16) -> (Server, f64), knot] {
        let port = free_port();
        let (server, start_s) = start(&dir, &zone, TLD, port);
        let mut row = measure(&server, &queries, seconds);
        row.start_s = start_s;
        rows.push(row);
        drop(server);
    }

    let mut table = String::new();
    writeln!(table, "\n| server | start→first answer | QPS | avg latency | lost | queries/CPU-s | RSS | PSS | AXFR (records) |").unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for r in &rows {
        writeln!(
            table,
            "| {} | {:.2} s | {:.0} | {:.3} ms | {:.0} | {:.0} | {:.0} MiB | {:.0} MiB | {:.2} s ({}) |",
            r.name, r.start_s, r.qps, r.avg_latency_ms, r.lost, r.qps_per_cpu_s, r.rss_mib, r.pss_mib, r.axfr_s, r.axfr_records
        )
        .unwrap();
    }
    let nsd_qps = rows.iter().find(|r| r.name.starts_with("NSD")).map_or(f64::NAN, |r| r.qps);
    writeln!(table, "\ndomain-os / NSD throughput: {:.2}", rows[0].qps / nsd_qps).unwrap();
    writeln!(table, "metrics on / off throughput: {:.3}", rows[0].qps / rows[1].qps).unwrap();
    writeln!(table, "import of {n} delegations: {import_s:.1} s; store on disk: {db_mib:.0} MiB").unwrap();
    writeln!(table, "change visible in DNS after the API acknowledged it: p50 {fresh_p50:.0} µs, p99 {fresh_p99:.0} µs (API round trip incl. durable commit: p50 {:.1} ms)", commit_p50 / 1000.0).unwrap();
    println!("{table}");
}
