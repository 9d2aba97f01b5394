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
