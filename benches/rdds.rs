//! RDAP and WHOIS benchmark on a registry of N domains (default 1,000,000,
//! imported from a generated zone): RDAP domain lookups with wrk beside a
//! trivial axum handler returning a fixed JSON body of the same size (the
//! framework's ceiling on this machine, measured in the same run), RDAP with
//! rate limiting on and off, and WHOIS domain queries (one TCP connection
//! per query, as WHOIS works) from a built-in load generator.
//!
//!     scripts/bench                      # installs wrk when missing
//!     DOMAINS=100000 SECONDS=10 ROUNDS=3 cargo bench --bench rdds
//!
//! Only loopback traffic. Not a test: numbers depend on the machine.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use domain_os::model::{Clock, SystemClock};
use domain_os::ratelimit::{Kind, RateLimiter, RateLimits};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");
const TLD: &str = "bench";
/// Set in the child process that serves the fixed body.
const FIXED_ENV: &str = "RDDS_BENCH_FIXED";

/// The framework's ceiling: axum answering every path with one fixed JSON body.
fn serve_fixed(port: u16, body: Vec<u8>) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let body = axum::body::Bytes::from(body);
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/rdap+json")], body) }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    std::process::exit(0)
}

fn write_config(dir: &Path, ports: (u16, u16, u16, u16), limits: bool) -> PathBuf {
    let (dns, admin, rdap, whois) = ports;
    // The store's page cache sized to hold the registry, as an operator would for lookups.
    let cache_mib = env_usize("CACHE_MIB", 1024);
    let path = dir.join("domain-os.toml");
    // Limits far above the load: the cost measured is the bookkeeping, not refusals.
    let limits = format!(
        "enabled = {limits}\nqueries_per_second = 1000000000\nburst = 1000000000\nprefix_queries_per_second = 1000000000\nprefix_burst = 1000000000"
    );
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nzones_dir = \"zones\"\nlog = \"warn\"\n[registry]\ncache_mib = {cache_mib}\n[dns]\nlisten = [\"127.0.0.1:{dns}\"]\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[epp]\nlisten = []\n\
             [rdap]\nlisten = [\"127.0.0.1:{rdap}\"]\n[rdap.limits]\n{limits}\n[whois]\nlisten = [\"127.0.0.1:{whois}\"]\n[whois.limits]\n{limits}\n"
        ),
    )
    .unwrap();
    path
}

fn wait_for_port(port: u16, started: Instant) {
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Load {
    qps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// wrk with a Lua script asking for random domains (or one fixed path).
fn wrk(dir: &Path, port: u16, n: usize, seconds: usize) -> Load {
    let script = dir.join("random-domain.lua");
    std::fs::write(
        &script,
        format!(
            "math.randomseed(42)\nrequest = function()\n  return wrk.format(\"GET\", string.format(\"/domain/d%07d.{TLD}\", math.random(0, {})))\nend\n",
            n - 1
        ),
    )
    .unwrap();
    let out = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            "64",
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "-s",
            script.to_str().unwrap(),
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .expect("wrk (scripts/bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let ms = |line_key: &str| -> f64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(line_key))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|v| {
                let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
                let n: f64 = num.parse().unwrap_or(f64::NAN);
                match unit {
                    "us" => n / 1000.0,
                    "s" => n * 1000.0,
                    _ => n,
                }
            })
            .unwrap_or(f64::NAN)
    };
    let qps = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN);
    let errors =
        text.lines().find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    Load { qps, p50_ms: ms("50%"), p99_ms: ms("99%"), errors }
}

/// WHOIS: `clients` loops of connect, query, read to the end.
fn whois_load(port: u16, n: usize, seconds: usize, clients: usize) -> Load {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs(seconds as u64);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            tasks.push(tokio::spawn(async move {
                let (mut latencies, mut errors, mut i) = (Vec::new(), 0u64, c * 7919);
                while Instant::now() < deadline {
                    i = (i * 48271 + 11) % n;
                    let t = Instant::now();
                    let ok = async {
                        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
                        s.write_all(format!("{}.{TLD}\r\n", domain(i)).as_bytes()).await.ok()?;
                        let mut out = Vec::with_capacity(4096);
                        s.read_to_end(&mut out).await.ok()?;
                        out.starts_with(b"Domain Name: ").then_some(())
                    }
                    .await;
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    errors += u64::from(ok.is_none());
                }
                (latencies, errors)
            }));
        }
        let (mut all, mut errors) = (Vec::new(), 0);
        for t in tasks {
            let (l, e) = t.await.unwrap();
            all.extend(l);
            errors += e;
        }
        let qps = all.len() as f64 / started.elapsed().as_secs_f64();
        Load { qps, p50_ms: percentile(&mut all, 0.5), p99_ms: percentile(&mut all, 0.99), errors }
    })
}

fn main() {
    if let Ok(spec) = std::env::var(FIXED_ENV) {
        let (port, body) = spec.split_once(' ').expect("PORT BODY-FILE");
        serve_fixed(port.parse().unwrap(), std::fs::read(body).unwrap());
    }
    let n = env_usize("DOMAINS", 1_000_000);
    let seconds = env_usize("SECONDS", 10);
    if Command::new("which").arg("wrk").stdout(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
        eprintln!("wrk is missing: run scripts/bench, which installs it");
        std::process::exit(2);
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-rdds");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!("domain-os RDAP/WHOIS benchmark: {n} domains, {seconds} s per run, wrk -t2 -c64, 2-core machine, loopback only");

    let source = dir.join("source.zone");
    generate_zone(&source, n, TLD);
    let ports = (free_port(), free_port(), free_port(), free_port());
    let (_, _, rdap, whois) = ports;
    let run = |conf: &Path, args: &[&str]| {
        let out = Command::new(BIN).arg("--config").arg(conf).args(args).stderr(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "domain-os {args:?}");
    };
    let serve = |conf: &Path| {
        let child = Command::new(BIN).arg("--config").arg(conf).arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = Server { name: "domain-os".into(), child, port: rdap, started: Instant::now() };
        wait_for_port(rdap, server.started);
        server
    };
    let conf = write_config(&dir, ports, true);
    {
        let _server = serve(&conf);
        run(&conf, &["registrar", "create", "bench", "--name", "Bench Registrar", "--email", "ops@bench.example", "--set", "iana_id=9999"]);
        // The generated zone's glue is in 10.0.0.0/8, which a TLD refuses unless its policy allows private ranges.
        run(&conf, &["tld", "create", TLD, "--ns", "ns1.nic.example", "--ns", "ns2.nic.example", "--set", "glue_private_allowed=true"]);
    }
    let t = Instant::now();
    run(&conf, &["import", "zone", source.to_str().unwrap(), "--tld", TLD, "--registrar", "bench"]);
    eprintln!("imported {n} domains in {:.1} s", t.elapsed().as_secs_f64());

    // This machine's speed drifts by ±10% from minute to minute: RDAP and the
    // ceiling are measured in alternating rounds, and medians are reported.
    let rounds = env_usize("ROUNDS", 3);
    let (mut rdap_on, mut rdap_off, mut ceiling, mut cpu_us_per_lookup) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let whois_row;
    let body_len;
    {
        let server = serve(&conf);
        let sample = fetch_body(&format!("http://127.0.0.1:{rdap}/domain/{}.{TLD}", domain(n / 2)));
        body_len = sample.len();
        std::fs::write(dir.join("fixed.json"), &sample).unwrap();
        let port = free_port();
        let exe = std::env::current_exe().unwrap();
        let child = Command::new(exe)
            .env(FIXED_ENV, format!("{port} {}", dir.join("fixed.json").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let fixed = Server { name: "fixed".into(), child, port, started: Instant::now() };
        wait_for_port(port, fixed.started);
        // Steady state is what is compared: the first pass fills the store's page cache.
        wrk(&dir, rdap, n, seconds);
        wrk(&dir, port, n, seconds);
        for _ in 0..rounds {
            let cpu = cpu_seconds(server.child.id());
            let load = wrk(&dir, rdap, n, seconds);
            cpu_us_per_lookup.push((cpu_seconds(server.child.id()) - cpu) * 1e6 / (load.qps * seconds as f64));
            rdap_on.push(load);
            ceiling.push(wrk(&dir, port, n, seconds));
        }
        whois_row = whois_load(whois, n, seconds, 64);
    }
    {
        let conf = write_config(&dir, ports, false);
        let _server = serve(&conf);
        wrk(&dir, rdap, n, seconds);
        for _ in 0..rounds {
            rdap_off.push(wrk(&dir, rdap, n, seconds));
        }
    }

    let mut table = String::new();
    writeln!(table, "\n| what | QPS (median of {rounds}) | QPS range | p50 | p99 | errors |").unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|---:|").unwrap();
    let mut row = |name: &str, runs: &mut Vec<Load>| -> f64 {
        runs.sort_by(|a, b| a.qps.total_cmp(&b.qps));
        let m = &runs[runs.len() / 2];
        let errors: u64 = runs.iter().map(|l| l.errors).sum();
        let range = format!("{:.0}–{:.0}", runs[0].qps, runs[runs.len() - 1].qps);
        writeln!(table, "| {name} | {:.0} | {range} | {:.2} ms | {:.2} ms | {errors} |", m.qps, m.p50_ms, m.p99_ms).unwrap();
        m.qps
    };
    let on = row("RDAP domain lookup, rate limiting on", &mut rdap_on);
    let off = row("RDAP domain lookup, rate limiting off", &mut rdap_off);
    let top = row(&format!("axum, fixed {body_len}-byte JSON body (ceiling)"), &mut ceiling);
    row("WHOIS domain query (connection per query, 64 clients)", &mut vec![whois_row]);
    writeln!(table, "\nRDAP lookups / axum ceiling: {:.0}% (target ≥ 50%)", on / top * 100.0).unwrap();
    // Throughput with and without limits differs by less than this machine's drift, so the
    // limiter's cost is measured directly and set against the server's CPU time per lookup.
    cpu_us_per_lookup.sort_by(f64::total_cmp);
    let cpu_us = cpu_us_per_lookup[cpu_us_per_lookup.len() / 2];
    let check_ns = limiter_ns_per_check(64);
    writeln!(table, "server CPU per RDAP lookup: {cpu_us:.1} µs (median)").unwrap();
    writeln!(
        table,
        "cost of rate limiting: {check_ns:.0} ns per query = {:.1}% of that (target < 5%); throughput off/on {:.0}/{:.0} QPS",
        check_ns / (cpu_us * 1000.0) * 100.0,
        off,
        on
    )
    .unwrap();
    println!("{table}");
}

/// The limiter's own CPU cost per check, from two threads (as the server's two
/// workers make them) over `clients` addresses.
fn limiter_ns_per_check(clients: u32) -> f64 {
    let many = 1_000_000_000;
    let limits =
        RateLimits { queries_per_second: many, burst: many, prefix_queries_per_second: many, prefix_burst: many, ..RateLimits::default() };
    let limiter = RateLimiter::new(limits);
    let (threads, per_thread) = (2u32, 2_000_000u32);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let limiter = &limiter;
            s.spawn(move || {
                for i in 0..per_thread {
                    let client = (i + t) % clients;
                    let ip = std::net::IpAddr::from([127, 0, (client / 256) as u8, client as u8]);
                    assert!(limiter.check(ip, Kind::Lookup, SystemClock.now()).is_ok());
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 * f64::from(threads) / f64::from(threads * per_thread)
}

/// One body over HTTP, blocking (the sample the fixed server answers with).
fn fetch_body(url: &str) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let r = reqwest::Client::new().get(url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap().to_vec()
    })
}
