//! The test harness: the whole daemon in-process on port 0 with a temporary
//! data folder, and the clients the tests talk to it with (HTTP for the
//! operator API, hickory for DNS, raw sockets for malformed input, and the
//! command-line tools dig/kdig/named-checkzone/kzonecheck).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use domain_os::config::Config;
use domain_os::daemon::{self, Daemon, Options};
use domain_os::model::{Clock, ManualClock, SystemClock};
use hickory_net::client::{Client, ClientHandle};
use hickory_net::proto::op::{DnsResponse, Message};
use hickory_net::proto::rr::{DNSClass, Name, RecordType};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use serde_json::Value;

pub struct TestDaemon {
    daemon: Option<Daemon>,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub dns: SocketAddr,
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

/// Daemon logs go to the test's captured output (shown for failing tests); `RUST_LOG` filters.
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().with_ansi(false).try_init();
    });
}

/// A configuration for tests: loopback, port 0, a temporary folder.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config { data_dir: dir.join("data"), zones_dir: dir.join("zones"), ..Config::default() };
    config.dns.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.admin.listen = "127.0.0.1:0".parse().unwrap();
    config.epp.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.rdap.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.whois.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.registry.cache_mib = 16;
    config
}

impl TestDaemon {
    /// The demo registry.
    pub async fn demo() -> Self {
        Self::start(true, |_, _| {}).await
    }

    pub async fn start(demo: bool, tweak: impl FnOnce(&mut Config, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        tweak(&mut config, dir.path());
        Self::start_in(dir, config, demo).await
    }

    /// The demo registry on a clock that moves only when the test moves it.
    pub async fn demo_on(clock: &ManualClock, tweak: impl FnOnce(&mut Config, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        tweak(&mut config, dir.path());
        Self::start_with_clock(dir, config, true, Arc::new(clock.clone())).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: Config, demo: bool) -> Self {
        Self::start_with_clock(dir, config, demo, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(dir: tempfile::TempDir, config: Config, demo: bool, clock: Arc<dyn Clock>) -> Self {
        init_logging();
        let daemon = daemon::start(&config, clock, Options { demo }).await.expect("daemon starts");
        let dns = daemon.dns_addrs[0];
        let base = format!("http://{}", daemon.admin_addr);
        let token = daemon.token.clone();
        TestDaemon { daemon: Some(daemon), dir, config, dns, base, token, http: reqwest::Client::new() }
    }

    /// The first EPP listener.
    pub fn epp(&self) -> SocketAddr {
        self.epp_all()[0]
    }

    /// The RDAP base URL (ends in `/`).
    pub fn rdap(&self) -> String {
        self.daemon.as_ref().unwrap().rdap_base.clone()
    }

    pub fn rdap_all(&self) -> Vec<SocketAddr> {
        self.daemon.as_ref().unwrap().rdap_addrs.clone()
    }

    pub fn whois(&self) -> SocketAddr {
        self.daemon.as_ref().unwrap().whois_addrs[0]
    }

    pub fn epp_all(&self) -> Vec<SocketAddr> {
        self.daemon.as_ref().unwrap().epp_addrs.clone()
    }

    /// The running registry (for tests that call the library directly).
    pub fn registry(&self) -> &domain_os::registry::Registry {
        &self.daemon.as_ref().unwrap().registry
    }

    /// Stops the daemon and hands back its folder and configuration (for restarts).
    pub async fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.daemon.take().unwrap().shutdown().await;
        (self.dir, self.config)
    }

    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// Like `api`, but the call must succeed.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.api(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path} -> {status}: {body}");
        body
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn serial(&self, tld: &str) -> u32 {
        self.ok("GET", &format!("/v1/tlds/{tld}"), None).await["serial"].as_u64().unwrap() as u32
    }

    pub async fn query(&self, name: &str, rtype: RecordType) -> DnsResponse {
        udp_query(self.dns, name, rtype).await
    }

    pub async fn query_tcp(&self, name: &str, rtype: RecordType) -> DnsResponse {
        let mut client = tcp_client(self.dns).await;
        client.query(Name::from_ascii(name).unwrap(), DNSClass::IN, rtype).await.unwrap()
    }
}

pub async fn udp_query(server: SocketAddr, name: &str, rtype: RecordType) -> DnsResponse {
    let stream = UdpClientStream::builder(server, TokioRuntimeProvider::default()).build();
    let (mut client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
    tokio::spawn(bg);
    client.query(Name::from_ascii(name).unwrap(), DNSClass::IN, rtype).await.unwrap()
}

pub async fn tcp_client(server: SocketAddr) -> Client<TokioRuntimeProvider> {
    let (future, sender) = TcpClientStream::new(server, None, Some(Duration::from_secs(10)), TokioRuntimeProvider::default());
    let (client, bg) = Client::<TokioRuntimeProvider>::new(future.await.unwrap(), sender);
    tokio::spawn(bg);
    client
}

/// Sends raw bytes over UDP and returns the reply, if one comes within `wait`.
pub fn raw_udp(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(packet, server).unwrap();
    let mut buf = vec![0u8; 65535];
    match socket.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// A query packet: `flags` is the second header word, `edns` is (payload, version, DO).
pub fn packet(id: u16, flags: u16, qname: &str, qtype: u16, qclass: u16, edns: Option<(u16, u8, bool)>) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, edns.is_some() as u8]);
    for label in qname.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&qclass.to_be_bytes());
    if let Some((payload, version, dnssec_ok)) = edns {
        p.push(0);
        p.extend_from_slice(&41u16.to_be_bytes());
        p.extend_from_slice(&payload.to_be_bytes());
        p.push(0);
        p.push(version);
        p.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p
}

pub fn parse(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).expect("our reply parses with hickory")
}

/// Runs a command-line tool and returns (success, stdout, stderr).
pub fn tool(program: &str, args: &[&str]) -> (bool, String, String) {
    let out =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} must be installed (scripts/test installs it): {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `dig` against our server, without recursion; returns stdout.
pub fn dig(server: SocketAddr, args: &[&str]) -> String {
    let at = format!("@{}", server.ip());
    let port = server.port().to_string();
    let mut all = vec![at.as_str(), "-p", port.as_str(), "+norec", "+time=5", "+tries=1"];
    all.extend_from_slice(args);
    let (ok, out, err) = tool("dig", &all);
    assert!(ok, "dig {all:?} failed: {out}{err}");
    out
}

/// `kdig` against our server; returns (success, stdout + stderr).
pub fn kdig(server: SocketAddr, args: &[&str]) -> (bool, String) {
    let at = format!("@{}", server.ip());
    let port = server.port().to_string();
    let mut all = vec![at.as_str(), "-p", port.as_str(), "+timeout=10", "+retry=0"];
    all.extend_from_slice(args);
    let (ok, out, err) = tool("kdig", &all);
    (ok, format!("{out}{err}"))
}

/// Records of a presentation-format zone (dig/kdig output or a zone file):
/// `(owner, ttl, type, rdata)` with whitespace normalised, comments dropped.
/// A zone's records as a set: what two servers serving the same zone agree on,
/// whatever the order and repetition of their transfers.
pub fn record_set(text: &str) -> std::collections::BTreeSet<(String, u32, String, String)> {
    records(text).into_iter().collect()
}

pub fn records(text: &str) -> Vec<(String, u32, String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';') && !l.starts_with('$'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 5 || f[2] != "IN" {
                return None;
            }
            let rdata = if f[3] == "DS" { format!("{} {} {} {}", f[4], f[5], f[6], f[7..].concat()) } else { f[4..].join(" ") };
            Some((f[0].to_lowercase(), f[1].parse().ok()?, f[3].to_string(), rdata.to_lowercase()))
        })
        .collect()
}

/// Polls `check` until it returns true or `limit` passes.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free loopback port for both UDP and TCP (for external servers we configure).
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A TCP connection to `server` from loopback address `source` (all of
/// 127.0.0.0/8 is local), to act as a client in another address or network.
pub async fn connect_from(source: &str, server: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.parse().unwrap(), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// A daemon started as a child process; killed when dropped.
pub struct Served(pub std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM, then the exit status (within a minute).
pub fn sigterm(served: &mut Served) -> std::process::ExitStatus {
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(served.0.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
