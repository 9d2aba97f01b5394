//! What the benchmarks share: environment knobs, loopback ports, the server
//! process they measure (its CPU time and memory from /proc), percentiles,
//! a DNS probe for "is this name published yet", the generated zone and
//! query mix, dnsperf runs, EPP sessions ([`epp`]) and the DNS servers
//! compared ([`servers`]).

#![allow(dead_code)] // each benchmark uses a different part

pub mod epp;
pub mod servers;

use std::io::{BufWriter, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
                let after = stat.rsplit_once(") ").map(|x| x.1).unwrap_or("");
                if after.split_whitespace().nth(1).and_then(|pp| pp.parse::<u32>().ok()) == Some(parent) && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        i += 1;
    }
    out
}

/// User + system CPU seconds of a process tree.
pub fn cpu_seconds(pid: u32) -> f64 {
    let ticks = 100.0; // sysconf(_SC_CLK_TCK) on Linux
    children_of(pid)
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .map(|stat| {
            let f: Vec<&str> = stat.rsplit_once(") ").map(|x| x.1).unwrap_or("").split_whitespace().collect();
            (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / ticks
        })
        .sum()
}

/// Resident set and proportional set (shared pages counted once) of a process tree, in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let field = |text: &str, key: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    children_of(pid)
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .map(|text| (field(&text, "Rss:"), field(&text, "Pss:")))
        .fold((0.0, 0.0), |(r, p), (r1, p1)| (r + r1, p + p1))
}

/// A server under measurement; stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Server {
    pub name: String,
    pub child: Child,
    pub port: u16,
    pub started: Instant,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a clean shutdown, then make sure.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `p` quantile (0..=1) of `values`, which it sorts.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// A recursion-free NS query for `name`.
pub fn ns_query(name: &str) -> Vec<u8> {
    let mut query = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 2, 0, 1]);
    query
}

/// Asks `dns` for `name` until the referral is there (NOERROR with an
/// authority section); returns how long that took from `since`.
pub fn wait_until_published(socket: &UdpSocket, dns: u16, name: &str, since: Instant) -> Duration {
    let mut query = ns_query(name);
    let mut buf = [0u8; 1500];
    let mut id = 0u16;
    loop {
        id = id.wrapping_add(1);
        // A fresh id per try: a late answer to an earlier try (or an earlier name) must not count.
        query[..2].copy_from_slice(&id.to_be_bytes());
        socket.send_to(&query, ("127.0.0.1", dns)).unwrap();
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            if n > 12 && buf[..2] == id.to_be_bytes() {
                if buf[3] & 0x0F == 0 && buf[9] > 0 {
                    return since.elapsed();
                }
                break;
            }
        }
        assert!(since.elapsed() < Duration::from_secs(10), "{name} never appeared in DNS");
    }
}

/// The name of delegation `i` in a generated zone (its first label).
pub fn domain(i: usize) -> String {
    format!("d{i:07}")
}

/// A TLD zone of `n` delegations: 10% with in-zone glue, 30% with DS.
pub fn generate_zone(path: &Path, n: usize, tld: &str) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(out, "$ORIGIN {tld}.\n$TTL 3600").unwrap();
    writeln!(out, "@ IN SOA ns1.nic.example. hostmaster.nic.example. 1 1800 900 1209600 900\n@ IN NS ns1.nic.example.").unwrap();
    for i in 0..n {
        let name = domain(i);
        if i % 10 == 0 {
            writeln!(
                out,
                "{name} NS ns1.{name}\n{name} NS ns2.{name}\nns1.{name} A 10.{}.{}.1\nns2.{name} A 10.{}.{}.2\nns2.{name} AAAA 2001:db8::{:x}",
                i >> 16 & 255,
                i >> 8 & 255,
                i >> 16 & 255,
                i >> 8 & 255,
                i & 0xFFFF
            )
            .unwrap();
        } else {
            let p = i % 1000;
            writeln!(out, "{name} NS ns1.provider{p}.example.net.\n{name} NS ns2.provider{p}.example.net.").unwrap();
        }
        if i % 10 < 3 {
            writeln!(out, "{name} DS {} 13 2 {:016X}{:016X}{:016X}{:016X}", i & 0xFFFF, i, i ^ 0x5555, !i, i.rotate_left(7)).unwrap();
        }
    }
    out.flush().unwrap();
}

/// xorshift64*: reproducible query mixes without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 70% existing delegations, 20% names that do not exist, 10% apex SOA/NS.
pub fn generate_queries(path: &Path, n: usize, count: usize, tld: &str) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    for _ in 0..count {
        let roll = rng.below(100);
        if roll < 70 {
            let i = rng.below(n);
            let qtype = ["A", "AAAA", "NS", "DS"][rng.below(4)];
            if rng.below(2) == 0 {
                writeln!(out, "www.{}.{tld} {qtype}", domain(i)).unwrap();
            } else {
                writeln!(out, "{}.{tld} {qtype}", domain(i)).unwrap();
            }
        } else if roll < 90 {
            writeln!(out, "nx{}.{tld} A", rng.next() % 1_000_000_000).unwrap();
        } else if rng.below(2) == 0 {
            writeln!(out, "{tld} SOA").unwrap();
        } else {
            writeln!(out, "{tld} NS").unwrap();
        }
    }
    out.flush().unwrap();
}

/// One dnsperf run against `port`, with `extra` arguments (`-D` for DO):
/// (QPS, average latency in ms, lost, completed).
pub fn dnsperf(port: u16, queries: &Path, seconds: usize, extra: &[&str]) -> (f64, f64, f64, f64) {
    let out = Command::new("dnsperf")
        .args([
            "-s",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-d",
            queries.to_str().unwrap(),
            "-l",
            &seconds.to_string(),
            "-c",
            "8",
            "-q",
            "400",
            "-t",
            "2",
        ])
        .args(extra)
        .output()
        .expect("dnsperf (apt-get install dnsperf)");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| -> f64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let completed = value("Queries completed");
    let lost = value("Queries lost");
    let qps = value("Queries per second");
    let latency_ms = value("Average Latency (s)") * 1000.0;
    (qps, latency_ms, lost, completed)
}

/// The daemon's operator API, from synchronous code.
pub struct Api {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(admin: u16, token: &str) -> Api {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Api { runtime, http: reqwest::Client::new(), base: format!("http://127.0.0.1:{admin}"), token: token.to_string() }
    }

    /// POSTs `body`, and the JSON answer of a success.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let request = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body);
        self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "POST {path}: {}", response.status());
            response.json().await.unwrap()
        })
    }

    pub fn patch(&self, path: &str, body: &serde_json::Value) -> reqwest::StatusCode {
        let request = self.http.patch(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body);
        self.runtime.block_on(async { request.send().await.unwrap().status() })
    }

    pub fn metrics(&self) -> String {
        let request = self.http.get(format!("{}/metrics", self.base)).bearer_auth(&self.token);
        self.runtime.block_on(async { request.send().await.unwrap().text().await.unwrap() })
    }

    /// The value of the metric sample whose line starts with `series`.
    pub fn sample(&self, series: &str) -> Option<f64> {
        let text = self.metrics();
        text.lines().find(|l| l.starts_with(series) && l.as_bytes().get(series.len()) == Some(&b' '))?.split(' ').nth(1)?.parse().ok()
    }

    /// The writer's time in the transaction, before each commit: (sum in
    /// seconds, batches).
    pub fn writer_apply(&self) -> (f64, f64) {
        let sum = self.sample("domain_os_writer_apply_seconds_sum").unwrap_or(0.0);
        (sum, self.sample("domain_os_writer_apply_seconds_count").unwrap_or(0.0))
    }
}
