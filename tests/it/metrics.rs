//! `/metrics` as Prometheus reads it: a real Prometheus on loopback scrapes
//! the daemon, and its query API shows the target up and the counters moving
//! after DNS, EPP and RDAP traffic; the exposition itself; and the token the
//! config can ask for.

use std::time::Duration;

use hickory_net::proto::rr::RecordType;
use serde_json::Value;

use crate::common::*;
use crate::epp::{Epp, Responses, code};

/// A Prometheus server scraping `target` every second, killed when dropped.
struct Prometheus {
    _served: Served,
    _dir: tempfile::TempDir,
    base: String,
}

impl Prometheus {
    fn start(target: std::net::SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: domain-os\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus (Debian package prometheus) must be installed");
        Prometheus { _served: Served(child), _dir: dir, base: format!("http://127.0.0.1:{port}") }
    }

    /// The value of an instant query returning one sample, if it returns one.
    async fn value(&self, http: &reqwest::Client, query: &str) -> Option<f64> {
        let query = percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC);
        let response = http.get(format!("{}/api/v1/query?query={query}", self.base)).send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        body["data"]["result"].as_array()?.first()?["value"][1].as_str()?.parse().ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_daemon_and_sees_its_counters_move() {
    let d = TestDaemon::demo().await;
    let prometheus = Prometheus::start(d.base.trim_start_matches("http://").parse().unwrap());
    let http = reqwest::Client::new();
    let up = async || prometheus.value(&http, "up{job=\"domain-os\"}").await == Some(1.0);
    assert!(eventually(Duration::from_secs(60), up).await, "Prometheus never saw the target up");
    let dns_total = "sum(domain_os_dns_queries_total)";
    let before = prometheus.value(&http, dns_total).await.unwrap_or(0.0);

    for i in 0..20 {
        d.query(&format!("n{i}.example."), RecordType::A).await;
    }
    d.query_tcp("example.", RecordType::SOA).await;
    let seen = Responses::default();
    let mut epp = Epp::session(&d, "demo-registrar", &seen).await;
    let info = epp.domain("info", "<domain:name>hello.example</domain:name>", "").await;
    assert_eq!(code(&info), 1000, "{info}");
    d.http().get(format!("{}domain/hello.example", d.rdap())).send().await.unwrap();

    let moved = async || prometheus.value(&http, dns_total).await.is_some_and(|v| v >= before + 21.0);
    assert!(eventually(Duration::from_secs(60), moved).await, "DNS queries did not show in Prometheus");
    let info_counted = async || {
        let q = "domain_os_epp_commands_total{object=\"domain\",command=\"info\",code=\"1000\"}";
        prometheus.value(&http, q).await.is_some_and(|v| v >= 1.0)
    };
    assert!(eventually(Duration::from_secs(60), info_counted).await, "the EPP info did not show in Prometheus");
    let sessions = async || prometheus.value(&http, "domain_os_epp_sessions").await == Some(1.0);
    assert!(eventually(Duration::from_secs(60), sessions).await, "the open EPP session did not show");
    assert!(prometheus.value(&http, "domain_os_rdap_requests_total").await.is_some_and(|v| v >= 1.0));
    assert!(prometheus.value(&http, "domain_os_zone_serial{zone=\"example\"}").await.is_some_and(|v| v > 0.0));
    assert!(prometheus.value(&http, "process_resident_memory_bytes").await.is_some_and(|v| v > 0.0));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_names_every_family_and_the_token_can_be_required() {
    let d = TestDaemon::demo().await;
    d.query("nope.example.", RecordType::A).await;
    let response = d.http().get(format!("{}/metrics", d.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "open without a token by default");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for family in [
        "domain_os_dns_queries_total{transport=\"udp\",rcode=\"NXDOMAIN\"} 1",
        "domain_os_writer_queue_depth ",
        "domain_os_writer_commit_seconds_bucket",
        "domain_os_writer_apply_seconds_bucket",
        "domain_os_writer_batch_commands_count",
        "domain_os_snapshot_age_seconds ",
        "domain_os_store_bytes ",
        "domain_os_zone_serial{zone=\"example\"}",
        "domain_os_epp_connections 0",
        "domain_os_whois_rate_limited_total 0",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(text.contains(family), "no {family} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
    d.stop().await;

    let d = TestDaemon::start(true, |c, _| c.admin.metrics_token_required = true).await;
    let url = format!("{}/metrics", d.base);
    assert_eq!(d.http().get(&url).send().await.unwrap().status(), 401);
    assert_eq!(d.http().get(&url).bearer_auth(&d.token).send().await.unwrap().status(), 200);
    d.stop().await;
}
