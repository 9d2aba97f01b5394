//! The daemon under a service manager's protocols: socket activation (the
//! sockets `systemd-socket-activate` passes are adopted for the configured
//! addresses), `sd_notify` readiness, watchdog and stopping notifications
//! to a `NOTIFY_SOCKET` this test listens on.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_net::client::ClientHandle;
use hickory_net::proto::op::ResponseCode;
use hickory_net::proto::rr::{DNSClass, Name, RecordType};

use crate::common::*;
use crate::import::write_config;

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");
const SOCKET_ACTIVATE: &str = "/usr/bin/systemd-socket-activate";

/// Every notification datagram that reaches `path`, in arrival order.
pub struct NotifySocket {
    pub path: std::path::PathBuf,
    received: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    pub fn bind(dir: &std::path::Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::downgrade(&received);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Some(sink) = sink.upgrade() {
                if let Ok(n) = socket.recv(&mut buf) {
                    sink.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        NotifySocket { path, received }
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// How many notifications so far carry the line `line`.
    pub fn count(&self, line: &str) -> usize {
        self.received().iter().filter(|m| m.lines().any(|l| l == line)).count()
    }

    pub async fn wait_for(&self, line: &str, times: usize) -> bool {
        eventually(Duration::from_secs(60), async || self.count(line) >= times).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_activated_daemon_adopts_its_sockets_and_notifies_readiness_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let notify = NotifySocket::bind(dir.path());
    let (dns_port, admin_port) = (free_port(), free_port());
    let mut config = test_config(dir.path());
    config.dns.listen = vec![([127, 0, 0, 1], dns_port).into()];
    config.admin.listen = ([127, 0, 0, 1], admin_port).into();
    config.admin.token_file = dir.path().join("admin.token");
    (config.epp.listen, config.rdap.listen, config.whois.listen) = (vec![], vec![], vec![]);
    let conf = write_config(dir.path(), &config);

    // One socket-activate per socket type: the outer passes the UDP socket,
    // the inner adds the TCP ones and passes all three on.
    let dns = format!("127.0.0.1:{dns_port}");
    let admin = format!("127.0.0.1:{admin_port}");
    let mut served = Command::new(SOCKET_ACTIVATE);
    served
        .args(["-d", "-l", &dns, "-E", "NOTIFY_SOCKET", "-E", "WATCHDOG_USEC", SOCKET_ACTIVATE])
        .args(["-l", &dns, "-l", &admin, "-E", "NOTIFY_SOCKET", "-E", "WATCHDOG_USEC", BIN])
        .arg("--config")
        .arg(&conf)
        .args(["serve", "--demo"])
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "300000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = served.spawn().expect("systemd-socket-activate (package systemd) must be installed");
    let mut served = Served(child);

    // Nothing runs until the first query arrives; it waits in the passed
    // socket and is answered once the daemon adopts it.
    let server: std::net::SocketAddr = dns.parse().unwrap();
    let first = tokio::time::timeout(Duration::from_secs(60), udp_query(server, "example.", RecordType::SOA));
    let first = first.await.expect("the query queued in the passed UDP socket is answered");
    assert_eq!(first.metadata.response_code, ResponseCode::NoError);
    assert!(first.answers.iter().any(|r| r.record_type() == RecordType::SOA));

    assert!(notify.wait_for("READY=1", 1).await, "READY=1 arrives: {:?}", notify.received());
    let ready = notify.received().into_iter().find(|m| m.lines().any(|l| l == "READY=1")).unwrap();
    assert!(ready.contains(&format!("STATUS=serving; operator API on {admin}")), "{ready}");
    assert!(notify.wait_for("WATCHDOG=1", 3).await, "the watchdog is fed at half its interval: {:?}", notify.received());

    let mut tcp = tcp_client(server).await;
    let over_tcp = tcp.query(Name::from_ascii("example.").unwrap(), DNSClass::IN, RecordType::SOA).await.unwrap();
    assert_eq!(over_tcp.metadata.response_code, ResponseCode::NoError, "the passed TCP socket serves DNS");
    let health = reqwest::get(format!("http://{admin}/health/ready")).await.unwrap();
    assert_eq!(health.status(), 200, "the operator API answers on its passed socket");

    assert!(sigterm(&mut served).success());
    assert_eq!(notify.count("STOPPING=1"), 1, "{:?}", notify.received());
}

/// The shipped units, with `ExecStart=` pointing at this build (`verify`
/// checks that the binary exists).
fn packaged_units(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let units = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd");
    let service = std::fs::read_to_string(format!("{units}/domain-os.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/bin/domain-os "), "the unit runs the packaged binary");
    let (service_path, socket_path) = (dir.join("domain-os.service"), dir.join("domain-os.socket"));
    std::fs::write(&service_path, service.replace("/usr/bin/domain-os", BIN)).unwrap();
    std::fs::copy(format!("{units}/domain-os.socket"), &socket_path).unwrap();
    (service_path, socket_path)
}

#[test]
fn the_systemd_units_verify_and_the_service_is_exposed_at_most_1_5() {
    let dir = tempfile::tempdir().unwrap();
    let (service, socket) = packaged_units(dir.path());
    let verify = Command::new("systemd-analyze").arg("verify").arg(&service).arg(&socket).output().expect("systemd-analyze");
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && complaints.trim().is_empty(), "systemd-analyze verify: {complaints}");

    let security = Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&service).output().unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let overall = report.lines().find_map(|l| l.split("Overall exposure level for domain-os.service: ").nth(1)).expect(&report);
    let exposure: f64 = overall.split_whitespace().next().unwrap().parse().unwrap();
    assert!(exposure <= 1.5, "exposure {exposure} (at most 1.5):\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_has_one_json_line_per_login_transform_and_logout_and_no_secrets() {
    use crate::epp::{ALL_EXT, Epp, PW, Responses, code, create_body};
    let dir = tempfile::tempdir().unwrap();
    let notify = NotifySocket::bind(dir.path());
    let mut config = test_config(dir.path());
    let epp_addr: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    config.dns.listen = vec![([127, 0, 0, 1], free_port()).into()];
    config.admin.listen = ([127, 0, 0, 1], free_port()).into();
    config.epp.listen = vec![epp_addr];
    (config.rdap.listen, config.whois.listen) = (vec![], vec![]);
    config.log_format = domain_os::config::LogFormat::Json;
    let conf = write_config(dir.path(), &config);
    let log_path = dir.path().join("log.jsonl");
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&conf)
        .args(["serve", "--demo"])
        .env("NOTIFY_SOCKET", &notify.path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut served = Served(child);
    assert!(notify.wait_for("READY=1", 1).await);

    let seen = Responses::default();
    let mut epp = Epp::connect_with_ca(&config.tls_dir(), epp_addr, Some("demo-registrar"), &seen).await;
    assert_eq!(code(&epp.login_with("demo-registrar", "wrong-password-9", ALL_EXT).await), 2200);
    assert_eq!(code(&epp.login_with("demo-registrar", PW, ALL_EXT).await), 1000);
    let secret_code = "Audit-Secret-Code-77x";
    let create = epp.domain("create", &create_body("audited.example", "1", &[], secret_code), "").await;
    assert_eq!(code(&create), 1000, "{create}");
    let info = epp.domain("info", "<domain:name>audited.example</domain:name>", "").await;
    assert_eq!(code(&info), 1000);
    let taken = epp.domain("create", &create_body("audited.example", "1", &[], secret_code), "").await;
    assert_eq!(code(&taken), 2302);
    assert_eq!(code(&epp.command("<logout/>", "").await), 1500);
    let svtrid = |r: &str| r.split("<svTRID>").nth(1).and_then(|t| t.split('<').next()).unwrap().to_string();
    assert!(sigterm(&mut served).success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))).collect();
    let audit: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    let summary: Vec<(String, String, String, u64)> = audit
        .iter()
        .map(|l| {
            let f = &l["fields"];
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (text("command"), text("registrar"), text("object"), f["code"].as_u64().unwrap())
        })
        .collect();
    let expected = [
        ("login", "demo-registrar", "", 2200),
        ("login", "demo-registrar", "", 1000),
        ("domain:create", "demo-registrar", "audited.example", 1000),
        ("domain:create", "demo-registrar", "audited.example", 2302),
        ("logout", "demo-registrar", "", 1500),
    ];
    let expected: Vec<(String, String, String, u64)> =
        expected.iter().map(|(c, r, o, n)| (c.to_string(), r.to_string(), o.to_string(), *n)).collect();
    assert_eq!(summary, expected, "one line per login, transform and logout; the info is not audited");
    let created = &audit[2]["fields"];
    assert_eq!(created["svtrid"], svtrid(&create));
    assert_eq!(created["cltrid"], "TEST-3");
    assert!(created["client"].as_str().unwrap().starts_with("127.0.0.1:"), "{created}");
    assert!(created["elapsed_us"].as_u64().is_some());
    for secret in [PW, "wrong-password-9", secret_code] {
        assert!(!log.contains(secret), "a secret in the log: {secret}");
    }
}
