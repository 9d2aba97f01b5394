//! A good registrar and a good public client while others abuse the
//! services: a domain-os server (started here, its own process, loopback
//! only) is measured quiet, then while
//!
//! - 500 peers at 500 addresses (in 2 networks, or as many as
//!   `BOGUS_NETWORKS` says, up to one each) log in over and over with bogus
//!   credentials: half name the good registrar (no certificate, from
//!   outside its allowed addresses), half name a registrar whose
//!   certificate they hold but not its password, and
//! - one address in another network holds 2,000 slow connections (one byte
//!   every few seconds, reconnecting when cut) to each of EPP, RDAP and
//!   WHOIS.
//!
//! Printed: p50/p99 of the good registrar's connect (TCP, TLS, greeting),
//! login and domain:create, and of the good client's RDAP lookup and WHOIS
//! query, quiet and under abuse, with failures; and the server's memory.
//!
//!     cargo bench --bench abuse
//!     DOMAIN_OS_BIN=/path/to/older/domain-os cargo bench --bench abuse   # the same against another build
//!     ROUNDS=100 BOGUS=500 BOGUS_NETWORKS=2 SLOW=2000 cargo bench --bench abuse   # the defaults
//!     BOGUS_NETWORKS=500 cargo bench --bench abuse                       # every bogus peer in a /24 of its own
//!
//! Not a test: numbers depend on the machine, whose two cores the
//! attackers share with the server and the good clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

mod support;

use support::*;

const TLD: &str = "bench";
const PASSWORD: &str = "bench-password-1";
const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
/// Good clients: 127.0.0.1. Slow connections: 127.0.5.2 (another /24). Bogus logins: 127.6.0.0/16 and up.
const GOOD: &str = "127.0.0.1";
const SLOW_FROM: &str = "127.0.5.2";
/// The good client keeps within the public per-address query rate (10 per second).
const ROUND_MIN: Duration = Duration::from_millis(120);

async fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.parse().expect("an address"), 0))?;
    let tcp = socket.connect(to).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

fn frame(xml: &str) -> Vec<u8> {
    let mut framed = ((xml.len() + 4) as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(xml.as_bytes());
    framed
}

async fn read_frame(stream: &mut TlsStream<TcpStream>) -> std::io::Result<String> {
    let len = stream.read_u32().await? as usize;
    if !(5..=1 << 20).contains(&len) {
        return Err(std::io::Error::other("bad frame length"));
    }
    let mut buf = vec![0u8; len - 4];
    stream.read_exact(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn result_code(response: &str) -> u16 {
    response.find("<result code=\"").and_then(|at| response.get(at + 14..at + 18)).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn login_xml(registrar: &str, password: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>{registrar}</clID><pw>{password}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>{DOMAIN_NS}</objURI></svcs></login><clTRID>bench</clTRID></command></epp>"#
    )
}

async fn tls_connect(source: &str, epp: SocketAddr, tls: Arc<rustls::ClientConfig>) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = connect_from(source, epp).await?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    connector.connect(rustls::pki_types::ServerName::try_from("localhost").expect("a name"), tcp).await
}

#[derive(Default)]
struct Timings {
    connect_us: Vec<f64>,
    login_us: Vec<f64>,
    create_us: Vec<f64>,
    rdap_us: Vec<f64>,
    whois_us: Vec<f64>,
    failures: Vec<String>,
}

/// One round of the good registrar: connect, log in, create, log out; then one RDAP and one WHOIS query.
async fn good_round(round: usize, label: &str, ports: &Ports, tls: Arc<rustls::ClientConfig>, http: &reqwest::Client, t: &mut Timings) {
    let limit = Duration::from_secs(30);
    let started = Instant::now();
    let connected = tokio::time::timeout(limit, async {
        let mut s = tls_connect(GOOD, ports.epp, tls).await?;
        let greeting = read_frame(&mut s).await?;
        Ok::<_, std::io::Error>((s, greeting))
    })
    .await;
    match connected {
        Ok(Ok((mut s, greeting))) if greeting.contains("<greeting>") => {
            t.connect_us.push(started.elapsed().as_secs_f64() * 1e6);
            let mut exchange = async |xml: String| -> std::io::Result<(u16, f64)> {
                let at = Instant::now();
                s.write_all(&frame(&xml)).await?;
                let r = tokio::time::timeout(limit, read_frame(&mut s)).await.map_err(|_| std::io::Error::other("timed out"))??;
                Ok((result_code(&r), at.elapsed().as_secs_f64() * 1e6))
            };
            match exchange(login_xml("good", PASSWORD)).await {
                Ok((1000, us)) => {
                    t.login_us.push(us);
                    let create = format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="{DOMAIN_NS}"><domain:name>{label}-{round}.{TLD}</domain:name><domain:period unit="y">1</domain:period><domain:authInfo><domain:pw>Bench-Auth-Code-2026x</domain:pw></domain:authInfo></domain:create></create><clTRID>create-{round}</clTRID></command></epp>"#
                    );
                    match exchange(create).await {
                        Ok((1000, us)) => t.create_us.push(us),
                        other => t.failures.push(format!("create: {other:?}")),
                    }
                    let _ = exchange(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><logout/></command></epp>"#.into()).await;
                }
                other => t.failures.push(format!("login: {other:?}")),
            }
        }
        Ok(Ok((_, other))) => t.failures.push(format!("connect: no greeting but {}", &other[..other.len().min(200)])),
        Ok(Err(e)) => t.failures.push(format!("connect: {e}")),
        Err(_) => t.failures.push("connect: timed out".into()),
    }
    let at = Instant::now();
    match http.get(format!("http://{}/domain/{label}-{round}.{TLD}", ports.rdap)).send().await {
        Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND => {
            let _ = r.bytes().await;
            t.rdap_us.push(at.elapsed().as_secs_f64() * 1e6);
        }
        Ok(r) => t.failures.push(format!("rdap: {}", r.status())),
        Err(e) => t.failures.push(format!("rdap: {e}")),
    }
    let at = Instant::now();
    let whois = tokio::time::timeout(limit, async {
        let mut s = connect_from(GOOD, ports.whois).await?;
        s.write_all(format!("{label}-{round}.{TLD}\r\n").as_bytes()).await?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    })
    .await;
    match whois {
        Ok(Ok(a)) if a.contains("Domain Name:") || a.contains("No match") => t.whois_us.push(at.elapsed().as_secs_f64() * 1e6),
        Ok(Ok(a)) => t.failures.push(format!("whois: {}", a.lines().next().unwrap_or(""))),
        Ok(Err(e)) => t.failures.push(format!("whois: {e}")),
        Err(_) => t.failures.push("whois: timed out".into()),
    }
}

/// A bogus login, again and again, until `stop`.
async fn bogus_logins(
    source: String,
    ports: Ports,
    tls: Arc<rustls::ClientConfig>,
    registrar: &'static str,
    stop: Arc<AtomicBool>,
    tries: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        let attempt = tokio::time::timeout(Duration::from_secs(30), async {
            let mut s = tls_connect(&source, ports.epp, tls.clone()).await?;
            read_frame(&mut s).await?;
            s.write_all(&frame(&login_xml(registrar, "not-the-password"))).await?;
            read_frame(&mut s).await
        })
        .await;
        tries.fetch_add(1, Ordering::Relaxed);
        if !matches!(attempt, Ok(Ok(_))) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A connection that sends a byte every few seconds and reconnects when cut, until `stop`.
async fn slow_connection(to: SocketAddr, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = connect_from(SLOW_FROM, to).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            if s.write_all(b"G").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

#[derive(Clone, Copy)]
struct Ports {
    epp: SocketAddr,
    rdap: SocketAddr,
    whois: SocketAddr,
}

fn tls_config(tls_dir: &Path, registrar: Option<&str>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(tls_dir.join("ca.pem")).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match registrar {
        Some(r) => {
            let cert = CertificateDer::from_pem_file(tls_dir.join(format!("{r}.pem"))).unwrap();
            let key = PrivateKeyDer::from_pem_file(tls_dir.join(format!("{r}.key"))).unwrap();
            builder.with_client_auth_cert(vec![cert], key).unwrap()
        }
        None => builder.with_no_client_auth(),
    })
}

/// Only settings every build knows, so an older build reads the same file.
fn write_config(dir: &Path, dns: u16, admin: u16, ports: &Ports) -> PathBuf {
    let path = dir.join("domain-os.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nzones_dir = \"zones\"\nlog = \"error\"\n[dns]\nlisten = [\"127.0.0.1:{dns}\"]\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[epp]\nlisten = [\"{}\"]\n[rdap]\nlisten = [\"{}\"]\n[whois]\nlisten = [\"{}\"]\n",
            ports.epp, ports.rdap, ports.whois
        ),
    )
    .unwrap();
    path
}

fn row(table: &mut String, what: &str, quiet: &mut [f64], abused: &mut [f64], rounds: usize) {
    use std::fmt::Write as _;
    let ms = |v: &mut [f64], p: f64| percentile(v, p) / 1000.0;
    writeln!(
        table,
        "| {what} | {:.2} ms | {:.2} ms | {}/{rounds} | {:.2} ms | {:.2} ms | {}/{rounds} |",
        ms(quiet, 0.5),
        ms(quiet, 0.99),
        quiet.len(),
        ms(abused, 0.5),
        ms(abused, 0.99),
        abused.len()
    )
    .unwrap();
}

fn main() {
    let rounds = env_usize("ROUNDS", 100);
    let bogus = env_usize("BOGUS", 500);
    let slow = env_usize("SLOW", 2000);
    let networks = env_usize("BOGUS_NETWORKS", 2).clamp(1, bogus.max(1));
    let bin = std::env::var("DOMAIN_OS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_domain-os").to_string());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-abuse");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let local = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let ports = Ports { epp: local(free_port()), rdap: local(free_port()), whois: local(free_port()) };
    let (dns, admin) = (free_port(), free_port());
    let conf = write_config(&dir, dns, admin, &ports);
    println!(
        "domain-os abuse benchmark ({bin}): {rounds} rounds of a good registrar and client, {bogus} bogus logins at once from {networks} networks, {slow} slow connections per service"
    );

    let child = Command::new(&bin).arg("--config").arg(&conf).arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    let server = Server { name: "domain-os".into(), child, port: ports.epp.port(), started: Instant::now() };
    while std::net::TcpStream::connect(("127.0.0.1", admin)).is_err() {
        assert!(server.started.elapsed() < Duration::from_secs(60), "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cli = |args: &[&str]| {
        let out = Command::new(&bin).arg("--config").arg(&conf).args(args).output().unwrap();
        assert!(out.status.success(), "domain-os {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["tld", "create", TLD, "--ns", "ns1.nic.example", "--ns", "ns2.nic.example"]);
    for (name, allowed) in [("good", "127.0.0.1/32"), ("mallory", "127.0.0.0/8")] {
        let set = format!(r#"allowed_addresses=["{allowed}"]"#);
        cli(&["registrar", "create", name, "--name", name, "--email", "ops@bench.test", "--password", PASSWORD, "--set", &set]);
        cli(&["registrar", "fund", name, "1000000.00"]);
        cli(&["registrar", "certificate", name]);
    }
    let tls_dir = dir.join("data/tls");
    let (good_tls, mallory_tls, anonymous_tls) =
        (tls_config(&tls_dir, Some("good")), tls_config(&tls_dir, Some("mallory")), tls_config(&tls_dir, None));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mut quiet, mut abused, tries, rss_quiet) = runtime.block_on(async {
        let http = reqwest::Client::builder().local_address(GOOD.parse::<std::net::IpAddr>().ok()).build().unwrap();
        let mut quiet = Timings::default();
        for round in 0..rounds {
            let next = tokio::time::Instant::now() + ROUND_MIN;
            good_round(round, "quiet", &ports, good_tls.clone(), &http, &mut quiet).await;
            tokio::time::sleep_until(next).await;
        }
        let (rss_quiet, _) = memory_mib(server.child.id());
        let stop = Arc::new(AtomicBool::new(false));
        let tries = Arc::new(AtomicU64::new(0));
        let mut attackers = Vec::new();
        for to in [ports.epp, ports.rdap, ports.whois] {
            for _ in 0..slow {
                attackers.push(tokio::spawn(slow_connection(to, stop.clone())));
            }
        }
        for i in 0..bogus {
            let (net, host) = (i % networks, i / networks);
            let source = format!("127.{}.{}.{}", 6 + net / 250, net % 250, 1 + host % 250);
            let (registrar, tls) = if i % 2 == 0 { ("good", anonymous_tls.clone()) } else { ("mallory", mallory_tls.clone()) };
            attackers.push(tokio::spawn(bogus_logins(source, ports, tls, registrar, stop.clone(), tries.clone())));
        }
        // Let the abuse build up before measuring under it.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut abused = Timings::default();
        for round in 0..rounds {
            let next = tokio::time::Instant::now() + ROUND_MIN;
            good_round(round, "abused", &ports, good_tls.clone(), &http, &mut abused).await;
            tokio::time::sleep_until(next).await;
        }
        stop.store(true, Ordering::Relaxed);
        for a in attackers {
            a.abort();
        }
        (quiet, abused, tries.load(Ordering::Relaxed), rss_quiet)
    });
    let (rss, _) = memory_mib(server.child.id());

    let mut table = String::from(
        "\n| good client's | quiet p50 | quiet p99 | quiet done | under abuse p50 | under abuse p99 | under abuse done |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    row(&mut table, "EPP connect + greeting", &mut quiet.connect_us, &mut abused.connect_us, rounds);
    row(&mut table, "EPP login", &mut quiet.login_us, &mut abused.login_us, rounds);
    row(&mut table, "EPP domain:create", &mut quiet.create_us, &mut abused.create_us, rounds);
    row(&mut table, "RDAP domain lookup", &mut quiet.rdap_us, &mut abused.rdap_us, rounds);
    row(&mut table, "WHOIS query", &mut quiet.whois_us, &mut abused.whois_us, rounds);
    println!("{table}");
    println!("Bogus logins attempted during the abuse phase: {tries}");
    println!("Server resident memory: {rss_quiet:.0} MiB quiet, {rss:.0} MiB at the end of the abuse");
    for (phase, t) in [("quiet", &quiet), ("under abuse", &abused)] {
        if let Some(first) = t.failures.first() {
            println!("Failures {phase}: {} (the first: {first})", t.failures.len());
        }
    }
}
