//! Starting and stopping whole: liveness and readiness without a token, a start that fails
//! on one address undoing everything it started, and a shutdown bounded in
//! time however peers behave.

use std::time::{Duration, Instant};

use domain_os::daemon::{self, Options};
use domain_os::model::SystemClock;
use tokio::io::AsyncWriteExt;

use crate::common::{TestDaemon, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_needs_no_token_and_says_live_and_ready() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    let response = reqwest::get(format!("{}/health/live", d.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "live");
    assert!(d.registry().health().is_live());
    let ready = reqwest::get(format!("{}/health/ready", d.base)).await.unwrap();
    assert_eq!(ready.status(), 200, "every listener is bound");
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    let other = reqwest::get(format!("{}/v1/tlds", d.base)).await.unwrap();
    assert_eq!(other.status(), 401, "everything else still needs the token");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_cannot_bind_says_where_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let mut config = test_config(dir.path());
    // Bound after DNS, the operator API and RDAP: those must be stopped again.
    config.whois.listen = vec![taken_addr];
    let error = match daemon::start(&config, std::sync::Arc::new(SystemClock), Options { demo: true }).await {
        Ok(_) => panic!("the WHOIS address is taken"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("WHOIS") && error.contains(&taken_addr.to_string()), "{error}");

    // The store lock was released and the demo seeded whole: the same folder starts again.
    config.whois.listen = vec!["127.0.0.1:0".parse().unwrap()];
    let d = TestDaemon::start_in(dir, config, true).await;
    let domains = d.ok("GET", "/v1/tlds/example/domains", None).await;
    assert!(domains.as_array().is_some_and(|a| a.len() >= 5), "{domains}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_however_peers_behave() {
    let d = TestDaemon::start(true, |c, _| {
        c.shutdown_timeout_s = 1;
        c.epp.tls_handshake_timeout_s = 120;
        c.rdap.idle_timeout_s = 120;
        c.whois.query_timeout_s = 120;
    })
    .await;
    // Peers that never finish: an RDAP request header one byte short of its
    // end, a WHOIS query without its line end, an EPP connection that never
    // says a word of TLS.
    let mut peers = Vec::new();
    let mut rdap = tokio::net::TcpStream::connect(d.rdap_all()[0]).await.unwrap();
    rdap.write_all(b"GET /domain/hello.example HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    peers.push(rdap);
    let mut whois = tokio::net::TcpStream::connect(d.whois()).await.unwrap();
    whois.write_all(b"hello.exam").await.unwrap();
    peers.push(whois);
    peers.push(tokio::net::TcpStream::connect(d.epp()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    d.stop().await;
    // Far above the 1 s timeout (twice: peers, then the last commit), far
    // below the idle and handshake timeouts that would end them otherwise.
    assert!(started.elapsed() < Duration::from_secs(30), "shutdown took {:?}", started.elapsed());
    drop(peers);
}
