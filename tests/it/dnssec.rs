//! Signed zones, checked by independent validators: the exported zone file
//! and the AXFR stream by `dnssec-verify` and `kzonecheck`, answers by a
//! validating Unbound that trusts only the TLD's DS.

use std::sync::Arc;

use serde_json::json;

use crate::common::*;

/// Writes `text` to a file in the daemon's folder and has `dnssec-verify`
/// and `kzonecheck` check every signature and the NSEC3 chain of it
/// (`dnssec-verify` also that a key with the SEP flag signs the DNSKEY RRset
/// and a ZSK of each algorithm everything else).
fn verify_zone_text(d: &TestDaemon, name: &str, text: &str) {
    verify_zone_of(d, "example", name, text);
}

fn verify_zone_of(d: &TestDaemon, origin: &str, name: &str, text: &str) {
    let path = d.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let (ok, out, err) = tool("dnssec-verify", &["-o", origin, path]);
    assert!(ok, "dnssec-verify {name}: {out}{err}");
    let (ok, out, err) = tool("kzonecheck", &["-o", origin, "-d", "on", path]);
    assert!(ok, "kzonecheck {name}: {out}{err}");
}

async fn export(d: &TestDaemon) -> String {
    d.ok("POST", "/v1/tlds/example/export", None).await;
    std::fs::read_to_string(d.config.zones_dir.join("example.zone")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_zones_verify_as_files_and_transfers_in_every_denial_mode() {
    let d = TestDaemon::demo().await;
    for mode in ["nsec", "nsec3", "nsec3-optout"] {
        d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": mode }))).await;
        let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        assert_eq!(status["signed"], true, "{status}");
        assert_eq!(status["denial"], mode);
        let text = export(&d).await;
        if mode == "nsec" {
            assert!(!text.contains("NSEC3"), "{text}");
            // Every delegation is in an NSEC chain, signed or not.
            assert!(text.lines().any(|l| l.starts_with("nic.example.\t") && l.contains("\tNSEC\t")), "{text}");
        } else {
            assert!(text.contains("NSEC3PARAM\t1 0 0 -"), "RFC 9276 parameters: {text}");
            assert!(!text.contains("\tNSEC\t"), "{text}");
        }
        verify_zone_text(&d, &format!("{mode}.zone"), &text);
        let (ok, axfr) = kdig(d.dns, &["+tcp", "example", "AXFR"]);
        assert!(ok, "{axfr}");
        verify_zone_text(&d, &format!("{mode}.axfr"), &axfr);
    }
    // Changes through the writer re-sign only what they touch; the zone
    // must stay whole after each: first under opt-out (what this zone has
    // now), then under NSEC, with names joining and leaving the chain at
    // its start and its end.
    let ds = json!([{"key_tag": 7, "algorithm": 13, "digest_type": 2, "digest": "AB".repeat(32)}]);
    let changes = [
        (
            "POST",
            "/v1/domains".to_string(),
            json!({"name": "fresh.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "ds": ds}),
        ),
        (
            "POST",
            "/v1/domains".to_string(),
            json!({"name": "plain.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]}),
        ),
        ("PATCH", "/v1/domains/world.example".to_string(), json!({"remove_all_ds": true})),
        ("PATCH", "/v1/domains/nic.example".to_string(), json!({"add_ds": ds})),
        ("PATCH", "/v1/domains/hello.example".to_string(), json!({"add_statuses": ["serverHold"]})),
        ("PATCH", "/v1/tlds/example".to_string(), json!({"dnssec": "nsec"})),
        ("PATCH", "/v1/domains/hello.example".to_string(), json!({"remove_statuses": ["serverHold"]})),
        ("PATCH", "/v1/domains/fresh.example".to_string(), json!({"remove_all_ds": true})),
        (
            "POST",
            "/v1/domains".to_string(),
            json!({"name": "aaa.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]}),
        ),
        (
            "POST",
            "/v1/domains".to_string(),
            json!({"name": "zzz.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "ds": ds}),
        ),
        ("DELETE", "/v1/domains/plain.example".to_string(), json!({})),
        ("PATCH", "/v1/domains/zzz.example".to_string(), json!({"remove_all_ds": true})),
        ("DELETE", "/v1/domains/zzz.example".to_string(), json!({})),
        ("PATCH", "/v1/tlds/example".to_string(), json!({"dnssec": "nsec3"})),
    ];
    for (step, (method, path, body)) in changes.into_iter().enumerate() {
        let before = d.serial("example").await;
        d.ok(method, &path, Some(body)).await;
        assert_ne!(d.serial("example").await, before, "step {step} changed the zone");
        verify_zone_text(&d, &format!("step-{step}.zone"), &export(&d).await);
    }
    let (ok, axfr) = kdig(d.dns, &["+tcp", "example", "AXFR"]);
    assert!(ok, "{axfr}");
    verify_zone_text(&d, "after-changes.axfr", &axfr);
    d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": "off" }))).await;
    let text = export(&d).await;
    assert!(!text.contains("RRSIG") && !text.contains("NSEC3") && !text.contains("DNSKEY"), "{text}");
    d.stop().await;
}

/// `delv`'s answer to `name type` from our server, trusting only `anchor`.
fn delv(d: &TestDaemon, anchor: &std::path::Path, name: &str, rtype: &str) -> String {
    delv_under(d, "example", anchor, name, rtype)
}

/// `delv` with `root` as the top of its chain of trust.
fn delv_under(d: &TestDaemon, root: &str, anchor: &std::path::Path, name: &str, rtype: &str) -> String {
    let port = d.dns.port().to_string();
    let anchor = anchor.to_str().unwrap();
    let root = format!("+root={root}");
    let (_, out, err) = tool("delv", &["@127.0.0.1", "-p", &port, "-a", anchor, &root, "+tcp", name, rtype]);
    format!("{out}{err}")
}

/// A `delv` trust anchor file for the DS record `ds` (presentation form).
fn write_anchor(d: &TestDaemon, ds: &str) -> std::path::PathBuf {
    let f: Vec<&str> = ds.split_whitespace().collect();
    let anchor = d.dir.path().join("anchor.conf");
    std::fs::write(&anchor, format!("trust-anchors {{ \"{}\" static-ds {} {} {} \"{}\"; }};\n", f[0], f[3], f[4], f[5], f[6])).unwrap();
    anchor
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delv_validates_answers_and_denials_from_the_ds_alone() {
    let d = TestDaemon::demo().await;
    for mode in ["nsec", "nsec3", "nsec3-optout"] {
        d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": mode }))).await;
        let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        let anchor = write_anchor(&d, status["keys"][0]["ds"].as_str().unwrap());
        for (name, rtype, verdict) in [
            ("example", "SOA", "; fully validated"),
            ("example", "DNSKEY", "; fully validated"),
            ("example", "NS", "; fully validated"),
            ("hello.example", "DS", "; fully validated"),
            ("nope.example", "A", "; negative response, fully validated"),
            ("a.b.nope.example", "AAAA", "; negative response, fully validated"),
            ("example", "MX", "; negative response, fully validated"),
        ] {
            let out = delv(&d, &anchor, name, rtype);
            assert!(out.contains(verdict), "{mode}: delv {name} {rtype}: {out}");
        }
        // A delegation without DS: proven to have none by its own NSEC or
        // NSEC3 record; with Opt-Out by the closest encloser's record, whose
        // Opt-Out flag covers it (RFC 5155 §7.2.4).
        let out = delv(&d, &anchor, "nic.example", "DS");
        assert!(out.contains("; negative response, fully validated"), "{mode}: delv nic.example DS: {out}");
        let flags = match mode {
            "nsec" => ". NS RRSIG NSEC",
            "nsec3" => "NSEC3 1 0 0 -",
            _ => "NSEC3 1 1 0 -",
        };
        assert!(out.contains(flags), "{mode}: delv nic.example DS: {out}");
        // A key the DS does not match: nothing validates.
        std::fs::write(
            &anchor,
            "trust-anchors { \"example.\" static-ds 1 13 2 \"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"; };\n",
        )
        .unwrap();
        let out = delv(&d, &anchor, "example", "SOA");
        assert!(!out.contains("fully validated"), "{mode}: a wrong trust anchor still validated: {out}");
    }
    d.stop().await;
}

/// `kzonecheck` over `text` as of `at` (Unix seconds), for a zone signed on a
/// test's clock.
fn verify_zone_text_at(d: &TestDaemon, name: &str, text: &str, at: i64) {
    let path = d.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let at = at.to_string();
    let (ok, out, err) = tool("kzonecheck", &["-o", "example", "-d", "on", "-t", &at, path.to_str().unwrap()]);
    assert!(ok, "kzonecheck {name} at {at}: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_refreshed_ahead_of_expiry_spread_over_a_day() {
    use domain_os::model::Clock;
    let clock = domain_os::model::ManualClock::new(domain_os::model::SystemClock.now());
    let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
    d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": "nsec3" }))).await;
    let signed_at = clock.now().unix_seconds();
    let expiry = |status: &serde_json::Value| {
        domain_os::model::Timestamp::parse_rfc3339(status["earliest_signature_expiry"].as_str().unwrap()).unwrap().unix_seconds()
    };
    let first = expiry(&d.ok("GET", "/v1/tlds/example/dnssec", None).await);
    // Two weeks less each name's share of a day's jitter.
    assert!((signed_at + 13 * 86_400..=signed_at + 14 * 86_400).contains(&first), "{first} for {signed_at}");
    let text = export(&d).await;
    let expiries: std::collections::BTreeSet<&str> =
        text.lines().filter(|l| l.contains("\tRRSIG\t")).filter_map(|l| l.split('\t').nth(4)?.split(' ').nth(4)).collect();
    assert!(expiries.len() > 3, "expiries spread over names: {expiries:?}");

    // A week and a day later, with no change meanwhile, every signature is
    // within its refresh time: the sweep makes them all again.
    let serial = d.serial("example").await;
    clock.advance_seconds(8 * 86_400);
    let now = clock.now().unix_seconds();
    let mut refreshed = 0;
    for _ in 0..500 {
        refreshed = expiry(&d.ok("GET", "/v1/tlds/example/dnssec", None).await);
        if refreshed > now + 7 * 86_400 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refreshed >= now + 13 * 86_400, "earliest expiry {refreshed}, now {now}");
    assert_ne!(d.serial("example").await, serial, "secondaries see the refresh");
    verify_zone_text_at(&d, "refreshed.zone", &export(&d).await, now);
    let (ok, axfr) = kdig(d.dns, &["+tcp", "example", "AXFR"]);
    assert!(ok, "{axfr}");
    verify_zone_text_at(&d, "refreshed.axfr", &axfr, now);
    // Status and metrics say what the sweep saw on its last full pass.
    let mut status = serde_json::Value::Null;
    for _ in 0..500 {
        status = d.ok("GET", "/v1/status", None).await;
        if status["zones"][0]["earliest_signature_expiry"]
            .as_str()
            .is_some_and(|e| domain_os::model::Timestamp::parse_rfc3339(e).unwrap().unix_seconds() >= now + 13 * 86_400)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(status["zones"][0]["earliest_signature_expiry"].is_string(), "{status}");
    let ready: serde_json::Value = reqwest::get(format!("{}/health/ready", d.base)).await.unwrap().json().await.unwrap();
    assert_eq!(ready, json!({"status": "ready", "warnings": []}), "signatures a fortnight from expiry are healthy");
    let metrics = d.http().get(format!("{}/metrics", d.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("domain_os_dnssec_earliest_signature_expiry_timestamp_seconds{zone=\"example\"}"), "{metrics}");
    assert!(metrics.contains("domain_os_dnssec_keys{zone=\"example\""), "{metrics}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_timing_is_tld_policy_and_the_sweep_follows_a_change() {
    use domain_os::model::Clock;
    let clock = domain_os::model::ManualClock::new(domain_os::model::SystemClock.now());
    let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
    for (body, says) in [
        (json!({"signature_refresh_s": 13 * 86_400}), "signature_jitter_s"),
        (json!({"signature_validity_s": 3_600}), "signature_validity_s"),
        (json!({"zsk_lifetime_s": 86_400}), "zsk_lifetime_s"),
        (json!({"dnskey_ttl_s": 30}), "dnskey_ttl_s"),
    ] {
        let (code, answer) = d.api("PATCH", "/v1/tlds/example", Some(body.clone())).await;
        assert_eq!(code, 422, "{body}: {answer}");
        assert!(answer.to_string().contains(says), "{body}: {answer}");
    }
    d.ok("POST", "/v1/tlds", Some(json!({"name": "plain", "nameservers": ["a.nic.example"]}))).await;
    let (code, answer) = d.api("PATCH", "/v1/tlds/plain", Some(json!({"signature_validity_s": 21 * 86_400}))).await;
    assert_eq!(code, 422, "an unsigned TLD has no signature timing: {answer}");

    // Longer signatures: every signature made under the old validity is now
    // within the new refresh time, and the sweep makes them all again.
    let timing = json!({"signature_validity_s": 21 * 86_400, "signature_refresh_s": 19 * 86_400, "dnskey_ttl_s": 7_200});
    d.ok("PATCH", "/v1/tlds/example", Some(timing)).await;
    let now = clock.now().unix_seconds();
    let status = status_until(&d, "the sweep re-signed under the new validity", |s| {
        s["earliest_signature_expiry"]
            .as_str()
            .is_some_and(|e| domain_os::model::Timestamp::parse_rfc3339(e).unwrap().unix_seconds() > now + 19 * 86_400)
    })
    .await;
    assert_eq!((status["signature_validity_s"].as_u64(), status["dnskey_ttl_s"].as_u64()), (Some(21 * 86_400), Some(7_200)));
    let text = export(&d).await;
    assert!(text.lines().filter(|l| l.contains("\tDNSKEY\t")).all(|l| l.contains("\t7200\t")), "{text}");
    verify_zone_text(&d, "retimed.zone", &text);
    d.stop().await;
}

/// A validating Unbound in a network namespace of its own, whose loopback
/// holds only a relay to our server: the resolver can reach nothing else.
/// The relay corrupts one signature on its way, as an attacker on the path
/// would.
struct Unbound {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
    /// Answers the relay corrupted.
    tampered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Flips a bit in the signature of every RRSIG in the answer to
/// `hello.example DS`; true when it did.
fn tamper_hello_ds(packet: &mut [u8]) -> bool {
    use hickory_proto::op::Message;
    use hickory_proto::rr::RecordType;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
    let Ok(message) = Message::from_vec(packet) else { return false };
    let asked = message.queries.first().is_some_and(|q| q.name().to_ascii() == "hello.example." && q.query_type() == RecordType::DS);
    let mut done = false;
    for record in message.answers.iter().filter(|r| asked && r.record_type() == RecordType::RRSIG) {
        let mut rdata = Vec::new();
        record.data.emit(&mut BinEncoder::new(&mut rdata)).unwrap();
        // An ECDSA P-256 signature is the last 64 octets of the RDATA.
        let signature = &rdata[rdata.len() - 64..];
        if let Some(at) = packet.windows(64).position(|w| w == signature) {
            packet[at + 20] ^= 0x01;
            done = true;
        }
    }
    done
}

impl Unbound {
    /// Starts Unbound trusting `ds` alone for `example.`, with the zone's
    /// servers at a relay to `server`.
    async fn start(dir: &std::path::Path, server: std::net::SocketAddr, ds: &str) -> Unbound {
        let dir = dir.join(format!("unbound-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("unbound.log");
        let port = 5300;
        let (conf_dir, log_path) = (dir.clone(), log.clone());
        let ds = ds.to_string();
        // A namespace is a thread's: this one leaves ours, brings up its
        // loopback, binds the relay there and starts Unbound inside.
        let (relay, child) = std::thread::spawn(move || {
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "a network namespace of its own (needs root): {}", std::io::Error::last_os_error());
            let (ok, out, err) = tool("ip", &["link", "set", "lo", "up"]);
            assert!(ok, "ip link set lo up: {out}{err}");
            let relay = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let relay_port = relay.local_addr().unwrap().port();
            let conf = format!(
                r#"server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-tcp: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    logfile: "{log}"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    qname-minimisation: no
    edns-buffer-size: 4096
    module-config: "validator iterator"
    trust-anchor: "{ds}"
remote-control:
    control-enable: no
stub-zone:
    name: "example"
    stub-addr: 127.0.0.1@{relay_port}
"#,
                d = conf_dir.display(),
                log = log_path.display(),
            );
            let conf_path = conf_dir.join("unbound.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let (ok, out, err) = tool("unbound-checkconf", &[conf_path.to_str().unwrap()]);
            assert!(ok, "unbound-checkconf: {out}{err}");
            let child = std::process::Command::new("unbound")
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("unbound must be installed (scripts/test installs it)");
            (relay, child)
        })
        .join()
        .unwrap();
        let tampered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        relay.set_nonblocking(true).unwrap();
        let relay = Arc::new(tokio::net::UdpSocket::from_std(relay).unwrap());
        let counter = tampered.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_535];
            while let Ok((len, from)) = relay.recv_from(&mut buf).await {
                let (query, relay, counter) = (buf[..len].to_vec(), relay.clone(), counter.clone());
                tokio::spawn(async move {
                    // The upstream side lives in the test's own namespace.
                    let upstream = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    upstream.send_to(&query, server).await.unwrap();
                    let mut answer = vec![0u8; 65_535];
                    let Ok(Ok(len)) = tokio::time::timeout(std::time::Duration::from_secs(5), upstream.recv(&mut answer)).await else {
                        return;
                    };
                    answer.truncate(len);
                    if tamper_hello_ds(&mut answer) {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let _ = relay.send_to(&answer, from).await;
                });
            }
        });
        let unbound = Unbound { child, port, log, tampered };
        let ready =
            eventually(std::time::Duration::from_secs(20), async || unbound.dig("example", "SOA").contains("status: NOERROR")).await;
        assert!(ready, "Unbound did not answer:\n{}", unbound.log());
        unbound
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `dig` (recursion desired) at Unbound, run inside its namespace.
    fn dig(&self, name: &str, rtype: &str) -> String {
        let netns = format!("--net=/proc/{}/ns/net", self.child.id());
        let port = self.port.to_string();
        let (_, out, err) = tool("nsenter", &[&netns, "dig", "@127.0.0.1", "-p", &port, "+dnssec", "+time=5", "+tries=1", name, rtype]);
        format!("{out}{err}")
    }
}

/// dig's header flags of `answer` and its status.
fn flags_and_status(answer: &str) -> (String, String) {
    let flags = answer.lines().find_map(|l| l.split(";; flags: ").nth(1)).and_then(|f| f.split(';').next()).unwrap_or("").to_string();
    let status = answer.split("status: ").nth(1).and_then(|s| s.split(',').next()).unwrap_or("").to_string();
    (flags, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_validates_answers_and_denials_and_refuses_a_forged_signature() {
    let d = TestDaemon::demo().await;
    for mode in ["nsec", "nsec3", "nsec3-optout"] {
        d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": mode }))).await;
        let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        let unbound = Unbound::start(d.dir.path(), d.dns, status["keys"][0]["ds"].as_str().unwrap()).await;
        // Under Opt-Out a name proven absent may still be an unsigned
        // delegation, so denials of names are validated as insecure, not
        // authentic (RFC 5155 §9.2); everything else validates as secure.
        let opt_out = mode == "nsec3-optout";
        for (name, rtype, rcode, authentic) in [
            ("example", "SOA", "NOERROR", true),
            ("example", "DNSKEY", "NOERROR", true),
            ("example", "NS", "NOERROR", true),
            ("example", "MX", "NOERROR", true),
            ("world.example", "DS", "NOERROR", true),
            ("nope.example", "A", "NXDOMAIN", !opt_out),
            ("a.b.nope.example", "AAAA", "NXDOMAIN", !opt_out),
            // A delegation without DS: proven to have none by its own NSEC3,
            // or under Opt-Out only proven insecure.
            ("nic.example", "DS", "NOERROR", !opt_out),
        ] {
            let answer = unbound.dig(name, rtype);
            let (flags, status) = flags_and_status(&answer);
            assert_eq!(status, rcode, "{mode}: {name} {rtype}: {answer}\n{}", unbound.log());
            assert_eq!(flags.split(' ').any(|f| f == "ad"), authentic, "{mode}: {name} {rtype}: {answer}\n{}", unbound.log());
        }
        // The relay breaks the signature over hello.example's DS.
        let answer = unbound.dig("hello.example", "DS");
        assert!(unbound.tampered.load(std::sync::atomic::Ordering::Relaxed) > 0, "the relay saw no hello.example DS answer");
        assert_eq!(flags_and_status(&answer).1, "SERVFAIL", "{mode}: a forged signature was accepted: {answer}");
        assert!(unbound.log().contains("validation failure"), "{}", unbound.log());
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tlds_signed_with_ed25519_and_rsa_validate_and_keep_their_algorithm() {
    let d = TestDaemon::demo().await;
    let (status, body) = d
        .api("POST", "/v1/tlds", Some(json!({"name": "dsa", "nameservers": ["a.nic.example"], "dnssec": "nsec3", "dnssec_algorithm": 3})))
        .await;
    assert_eq!(status, 422, "DSA is not offered: {body}");
    for (tld, algorithm, mode) in [("ed", 15, "nsec3"), ("rsa", 8, "nsec")] {
        let spec = json!({"name": tld, "nameservers": ["a.nic.example"], "dnssec": mode, "dnssec_algorithm": algorithm});
        d.ok("POST", "/v1/tlds", Some(spec)).await;
        let ds = json!([{"key_tag": 7, "algorithm": algorithm, "digest_type": 2, "digest": "CD".repeat(32)}]);
        let one = json!({"name": format!("one.{tld}"), "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "ds": ds});
        d.ok("POST", "/v1/domains", Some(one)).await;
        let two = json!({"name": format!("two.{tld}"), "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]});
        d.ok("POST", "/v1/domains", Some(two)).await;
        let status = d.ok("GET", &format!("/v1/tlds/{tld}/dnssec"), None).await;
        assert!(status["keys"].as_array().unwrap().iter().all(|k| k["algorithm"] == algorithm), "{status}");
        d.ok("POST", &format!("/v1/tlds/{tld}/export"), None).await;
        let text = std::fs::read_to_string(d.config.zones_dir.join(format!("{tld}.zone"))).unwrap();
        verify_zone_of(&d, tld, &format!("{tld}.zone"), &text);
        let anchor = write_anchor(&d, status["keys"][0]["ds"].as_str().unwrap());
        for (name, rtype, verdict) in [
            (tld.to_string(), "SOA", "; fully validated"),
            (format!("one.{tld}"), "DS", "; fully validated"),
            (format!("nope.{tld}"), "A", "; negative response, fully validated"),
            (format!("two.{tld}"), "DS", "; negative response, fully validated"),
        ] {
            let out = delv_under(&d, tld, &anchor, &name, rtype);
            assert!(out.contains(verdict), "delv {name} {rtype}: {out}");
        }
        // Another algorithm would take an algorithm rollover: refused, zone unchanged.
        let serial = d.serial(tld).await;
        for body in [json!({"dnssec_algorithm": 13}), json!({"dnssec": "nsec3-optout", "dnssec_algorithm": 13})] {
            let (code, answer) = d.api("PATCH", &format!("/v1/tlds/{tld}"), Some(body)).await;
            assert_eq!(code, 422, "{answer}");
            assert!(answer.to_string().contains("algorithm rollover"), "{answer}");
        }
        assert_eq!(d.serial(tld).await, serial);
    }
    d.stop().await;
}

/// The key tags of the RRSIGs over `rtype` in a zone file's text.
fn signers_of(text: &str, rtype: &str) -> std::collections::BTreeSet<u16> {
    records(text)
        .into_iter()
        .filter(|(_, _, t, rdata)| t == "RRSIG" && rdata.split(' ').next() == Some(rtype.to_lowercase().as_str()))
        .filter_map(|(_, _, _, rdata)| rdata.split(' ').nth(6)?.parse().ok())
        .collect()
}

fn dnskey_count(text: &str) -> usize {
    records(text).iter().filter(|(_, _, t, _)| t == "DNSKEY").count()
}

/// One point of a rollover, checked as validators and a secondary would:
/// the exported zone and the AXFR by `dnssec-verify` and `kzonecheck`,
/// `delv` answers from the DS of each key in `ds` as trust anchor, and the
/// Knot and NSD secondaries serving exactly our zone once they have followed
/// by NOTIFY and IXFR.
/// Returns the exported text.
async fn rollover_checkpoint(d: &TestDaemon, secondaries: &Secondaries, label: &str, ds: &[String]) -> String {
    let knot = &secondaries.knot;
    let text = export(d).await;
    verify_zone_text(d, &format!("{label}.zone"), &text);
    let (ok, axfr) = kdig(d.dns, &["+tcp", "example", "AXFR"]);
    assert!(ok, "{label}: {axfr}");
    verify_zone_text(d, &format!("{label}.axfr"), &axfr);
    // The sweep may still be adding signatures, so each secondary is
    // compared with our zone as it is at that moment.
    let serves_ours =
        async |addr| record_set(&kdig(addr, &["+tcp", "example", "AXFR"]).1) == record_set(&kdig(d.dns, &["+tcp", "example", "AXFR"]).1);
    assert!(
        eventually(std::time::Duration::from_secs(60), async || serves_ours(knot.addr).await).await,
        "{label}: Knot does not serve what we serve:\n{}",
        knot.log()
    );
    let nsd = &secondaries.nsd;
    assert!(
        eventually(std::time::Duration::from_secs(60), async || serves_ours(nsd.addr).await).await,
        "{label}: NSD does not serve what we serve:\n{}",
        nsd.log()
    );
    for ds in ds {
        let anchor = write_anchor(d, ds);
        for (name, rtype, verdict) in [
            ("example", "DNSKEY", "; fully validated"),
            ("hello.example", "DS", "; fully validated"),
            ("nope.example", "A", "; negative response, fully validated"),
        ] {
            let out = delv(d, &anchor, name, rtype);
            assert!(out.contains(verdict), "{label}: delv {name} {rtype} from {ds}: {out}");
        }
    }
    text
}

/// The secondaries that follow a rollover.
struct Secondaries {
    knot: crate::secondary::Knot,
    nsd: crate::secondary::Nsd,
}

/// Waits until the TLD's DNSSEC status satisfies `check`, as the sweep
/// carries out what the clock made due.
async fn status_until(d: &TestDaemon, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let mut status = serde_json::Value::Null;
    let reached = eventually(std::time::Duration::from_secs(10), async || {
        status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        check(&status)
    })
    .await;
    assert!(reached, "{what}: {status:#}");
    status
}

fn tag_of(status: &serde_json::Value, role: &str, state: &str) -> u16 {
    let key = status["keys"].as_array().unwrap().iter().find(|k| k["role"] == role && k["state"] == state);
    key.unwrap_or_else(|| panic!("no {state} {role}: {status:#}"))["key_tag"].as_u64().unwrap() as u16
}

/// The demo on a manual clock two days back (so that signatures made as the
/// test moves the clock on are valid now for validators on the real clock),
/// with Knot and NSD following it as secondaries.
async fn demo_with_secondaries() -> (domain_os::model::ManualClock, TestDaemon, Secondaries) {
    use domain_os::model::Clock;
    let clock = domain_os::model::ManualClock::new(domain_os::model::SystemClock.now().plus_seconds(-2 * 86_400));
    let (knot_port, nsd_port) = (free_port(), free_port());
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.registry.lifecycle_tick_ms = 20;
        crate::secondary::serve_secondaries_on_loopback(c, &[knot_port, nsd_port]);
    })
    .await;
    let secondaries = Secondaries {
        knot: crate::secondary::Knot::start_with(d.dir.path(), knot_port, d.dns, "example", None, false),
        nsd: crate::secondary::Nsd::start_with(d.dir.path(), nsd_port, d.dns, "example", false),
    };
    (clock, d, secondaries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zsk_and_a_ksk_roll_over_on_the_manual_clock_and_every_step_validates() {
    use domain_os::model::Clock;
    let (clock, d, secondaries) = demo_with_secondaries().await;
    let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
    let roles: Vec<&str> = status["keys"].as_array().unwrap().iter().map(|k| k["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["ksk", "zsk"], "{status:#}");
    assert_eq!(status["next_key_step"]["step"], "publish a new ZSK", "{status:#}");
    let old_ksk_ds = status["keys"][0]["ds"].as_str().unwrap().to_string();
    let (old_ksk, old_zsk) = (tag_of(&status, "ksk", "active"), tag_of(&status, "zsk", "active"));
    let text = rollover_checkpoint(&d, &secondaries, "start", std::slice::from_ref(&old_ksk_ds)).await;
    assert_eq!((signers_of(&text, "DNSKEY"), signers_of(&text, "SOA")), ([old_ksk].into(), [old_zsk].into()));

    // ZSK pre-publication: the new key is published first, signing nothing.
    let serial = d.serial("example").await;
    let status = d.ok("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "zsk" }))).await;
    let new_zsk = tag_of(&status, "zsk", "published");
    assert_ne!(d.serial("example").await, serial);
    let (code, body) = d.api("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "ksk" }))).await;
    assert_eq!(code, 422, "one rollover at a time: {body}");
    let text = rollover_checkpoint(&d, &secondaries, "zsk-published", std::slice::from_ref(&old_ksk_ds)).await;
    assert_eq!(dnskey_count(&text), 3);
    assert_eq!(signers_of(&text, "SOA"), [old_zsk].into(), "a published ZSK does not sign yet");

    // Once the DNSKEY RRset's TTL and the propagation delay have passed, it
    // signs; the sweep replaces the old key's signatures, and the old key
    // leaves once no cache can hold one of them.
    clock.advance_seconds(2 * 3_600);
    let status = status_until(&d, "the new ZSK signs", |s| s["keys"].as_array().unwrap().iter().any(|k| k["state"] == "retired")).await;
    assert_eq!(tag_of(&status, "zsk", "active"), new_zsk);
    assert_eq!(tag_of(&status, "zsk", "retired"), old_zsk);
    let status = status_until(&d, "the sweep replaced the old signatures", |s| s["next_key_step"]["due"].is_string()).await;
    let text = rollover_checkpoint(&d, &secondaries, "zsk-swapped", std::slice::from_ref(&old_ksk_ds)).await;
    assert_eq!(dnskey_count(&text), 3);
    let zone_signers: std::collections::BTreeSet<u16> =
        ["SOA", "NS", "DS", "NSEC3", "NSEC3PARAM"].iter().flat_map(|t| signers_of(&text, t)).collect();
    assert_eq!(zone_signers, [new_zsk].into(), "no signature of the retired ZSK is left");
    let due = domain_os::model::Timestamp::parse_rfc3339(status["next_key_step"]["due"].as_str().unwrap()).unwrap();
    assert!(due.unix_seconds() - clock.now().unix_seconds() <= 2 * 3_600, "the largest signed TTL and the propagation delay: {status:#}");
    clock.set(due);
    let status = status_until(&d, "the old ZSK left", |s| s["keys"].as_array().unwrap().len() == 2).await;
    assert!(!status["rolling"].as_bool().unwrap(), "{status:#}");
    let text = rollover_checkpoint(&d, &secondaries, "zsk-removed", std::slice::from_ref(&old_ksk_ds)).await;
    assert_eq!(dnskey_count(&text), 2);

    // KSK double signature: both keys sign the DNSKEY RRset, so either DS validates.
    let status = d.ok("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "ksk" }))).await;
    let new_ksk = status["keys"].as_array().unwrap().iter().find(|k| k["role"] == "ksk" && k["key_tag"] != old_ksk).unwrap().clone();
    let new_ksk_tag = new_ksk["key_tag"].as_u64().unwrap() as u16;
    let new_ksk_ds = new_ksk["ds"].as_str().unwrap().to_string();
    assert!(status["next_key_step"]["waiting_for"].as_str().unwrap().contains("ds-seen"), "{status:#}");
    let text = rollover_checkpoint(&d, &secondaries, "ksk-published", &[old_ksk_ds.clone(), new_ksk_ds.clone()]).await;
    assert_eq!(signers_of(&text, "DNSKEY"), [old_ksk, new_ksk_tag].into());
    assert_eq!(signers_of(&text, "SOA"), [new_zsk].into());
    // Its DS may go to the parent only once every cache has the new key.
    let (code, body) = d.api("POST", "/v1/tlds/example/dnssec/ds-seen", Some(json!({ "key_tag": new_ksk_tag }))).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.to_string().contains("may go to the parent from"), "{body}");
    clock.advance_seconds(2 * 3_600);
    let status = d.ok("POST", "/v1/tlds/example/dnssec/ds-seen", Some(json!({ "key_tag": new_ksk_tag }))).await;
    let due = domain_os::model::Timestamp::parse_rfc3339(status["next_key_step"]["due"].as_str().unwrap()).unwrap();
    assert_eq!(due.unix_seconds(), clock.now().unix_seconds() + 86_400 + 3_600, "the parent's DS TTL and the propagation delay");
    rollover_checkpoint(&d, &secondaries, "ksk-ds-seen", &[old_ksk_ds.clone(), new_ksk_ds.clone()]).await;
    clock.set(due);
    let status = status_until(&d, "the old KSK left", |s| s["keys"].as_array().unwrap().len() == 2).await;
    assert_eq!((tag_of(&status, "ksk", "active"), tag_of(&status, "zsk", "active")), (new_ksk_tag, new_zsk));
    let text = rollover_checkpoint(&d, &secondaries, "ksk-removed", std::slice::from_ref(&new_ksk_ds)).await;
    assert_eq!(signers_of(&text, "DNSKEY"), [new_ksk_tag].into());
    let out = delv(&d, &write_anchor(&d, &old_ksk_ds), "example", "SOA");
    assert!(!out.contains("fully validated"), "the old DS no longer validates: {out}");
    let metrics = d.http().get(format!("{}/metrics", d.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("key_tag=\"{new_ksk_tag}\"")) && metrics.contains("role=\"ksk\",state=\"active\""), "{metrics}");
    let log = secondaries.knot.log();
    assert!(log.contains("IXFR, incoming") && !log.contains("fallback to AXFR"), "Knot followed every step by IXFR:\n{log}");
    // The same secondaries follow a switch to NSEC (a new zone: AXFR) and
    // then a name joining the end of the chain (by IXFR).
    d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": "nsec" }))).await;
    rollover_checkpoint(&d, &secondaries, "nsec", std::slice::from_ref(&new_ksk_ds)).await;
    let zzz = json!({"name": "zzz.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]});
    d.ok("POST", "/v1/domains", Some(zzz)).await;
    let text = rollover_checkpoint(&d, &secondaries, "nsec-change", std::slice::from_ref(&new_ksk_ds)).await;
    assert!(text.lines().any(|l| l.starts_with("zzz.example.\t") && l.contains("\tNSEC\texample. NS RRSIG NSEC")), "{text}");
    drop(secondaries);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_algorithm_rollover_moves_every_key_from_ecdsa_to_ed25519_and_every_step_validates() {
    let (clock, d, secondaries) = demo_with_secondaries().await;
    let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
    let old_ds = status["keys"][0]["ds"].as_str().unwrap().to_string();
    let (old_ksk, old_zsk) = (tag_of(&status, "ksk", "active"), tag_of(&status, "zsk", "active"));
    let (code, body) = d.api("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "all", "algorithm": 3 }))).await;
    assert_eq!(code, 422, "DSA is not offered: {body}");

    // The new KSK and ZSK sign everything beside the old keys before either
    // is published; the sweep brings every RRset their signatures.
    let status = d.ok("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "all", "algorithm": 15 }))).await;
    let (new_ksk, new_zsk) = (tag_of(&status, "ksk", "pre-active"), tag_of(&status, "zsk", "pre-active"));
    let (code, body) = d.api("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "zsk" }))).await;
    assert_eq!(code, 422, "one rollover at a time: {body}");
    let status = status_until(&d, "every RRset signed by the new keys too", |s| s["next_key_step"]["due"].is_string()).await;
    assert_eq!(status["next_key_step"]["step"], "publish the new key set's DNSKEYs", "{status:#}");
    let text = rollover_checkpoint(&d, &secondaries, "key-set-signing", std::slice::from_ref(&old_ds)).await;
    assert_eq!(dnskey_count(&text), 2, "the new keys are not published yet");
    assert_eq!(signers_of(&text, "DNSKEY"), [old_ksk, new_ksk].into());
    for rtype in ["SOA", "DS", "NSEC3"] {
        assert_eq!(signers_of(&text, rtype), [old_zsk, new_zsk].into(), "{rtype}");
    }

    // Once the longest TTL has passed, the new DNSKEYs are published; then
    // either DS validates.
    let due = domain_os::model::Timestamp::parse_rfc3339(status["next_key_step"]["due"].as_str().unwrap()).unwrap();
    clock.set(due);
    let status =
        status_until(&d, "the new keys are published", |s| s["keys"].as_array().unwrap().iter().all(|k| k["state"] == "active")).await;
    let new_ds = status["keys"].as_array().unwrap().iter().find(|k| k["key_tag"] == new_ksk).unwrap()["ds"].as_str().unwrap().to_string();
    assert!(new_ds.contains(" DS ") && new_ds.contains(&format!("{new_ksk} 15 2 ")), "{new_ds}");
    let text = rollover_checkpoint(&d, &secondaries, "key-set-published", &[old_ds.clone(), new_ds.clone()]).await;
    assert_eq!(dnskey_count(&text), 4);
    let unbound = Unbound::start(d.dir.path(), d.dns, &new_ds).await;
    for (name, rtype) in [("world.example", "DS"), ("example", "SOA"), ("nope.example", "A")] {
        let answer = unbound.dig(name, rtype);
        let authentic = flags_and_status(&answer).0.split(' ').any(|f| f == "ad");
        assert!(authentic, "Unbound validates {name} {rtype} from the new DS: {answer}\n{}", unbound.log());
    }
    drop(unbound);

    // The new DS goes to the parent once the keys are in every cache; once
    // the parent's TTL has passed, the old keys leave.
    let (code, body) = d.api("POST", "/v1/tlds/example/dnssec/ds-seen", Some(json!({ "key_tag": new_ksk }))).await;
    assert_eq!(code, 422, "too early: {body}");
    clock.advance_seconds(2 * 3_600);
    let status = d.ok("POST", "/v1/tlds/example/dnssec/ds-seen", Some(json!({ "key_tag": new_ksk }))).await;
    assert_eq!(status["next_key_step"]["step"], "remove the old keys", "{status:#}");
    let due = domain_os::model::Timestamp::parse_rfc3339(status["next_key_step"]["due"].as_str().unwrap_or_else(|| panic!("{status:#}")))
        .unwrap();
    clock.set(due);
    let status = status_until(&d, "the old keys left", |s| s["keys"].as_array().unwrap().len() == 2).await;
    assert_eq!((tag_of(&status, "ksk", "active"), tag_of(&status, "zsk", "active")), (new_ksk, new_zsk));
    assert!(!status["rolling"].as_bool().unwrap(), "{status:#}");
    // The sweep takes the old algorithm's signatures out.
    let only_new = eventually(std::time::Duration::from_secs(20), async || {
        let text = export(&d).await;
        ["SOA", "NS", "DS", "NSEC3", "NSEC3PARAM"].iter().all(|t| signers_of(&text, t) == [new_zsk].into())
    })
    .await;
    assert!(only_new, "signatures of the old keys left:\n{}", export(&d).await);
    let text = rollover_checkpoint(&d, &secondaries, "key-set-done", std::slice::from_ref(&new_ds)).await;
    assert_eq!(signers_of(&text, "DNSKEY"), [new_ksk].into());
    assert!(records(&text).iter().filter(|(_, _, t, _)| t == "DNSKEY").all(|(_, _, _, rdata)| rdata.split(' ').nth(2) == Some("15")));
    let out = delv(&d, &write_anchor(&d, &old_ds), "example", "SOA");
    assert!(!out.contains("fully validated"), "the old DS no longer validates: {out}");
    drop(secondaries);
    d.stop().await;
}

/// NSD on loopback, authoritative for `zone` with the records `text`.
struct Authoritative {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Authoritative {
    fn start(dir: &std::path::Path, port: u16, zone: &str, text: &str) -> Authoritative {
        let dir = dir.join(format!("nsd-{port}-{}", text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("zone"), text).unwrap();
        let conf = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  server-count: 1\n  database: \"\"\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  pidfile: \"{d}/nsd.pid\"\n  logfile: \"{d}/nsd.log\"\nremote-control:\n  control-enable: no\nzone:\n  name: \"{zone}\"\n  zonefile: \"{d}/zone\"\n",
            d = dir.display()
        );
        std::fs::write(dir.join("nsd.conf"), conf).unwrap();
        let child = std::process::Command::new("nsd")
            .args(["-d", "-c"])
            .arg(dir.join("nsd.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nsd must be installed (scripts/test installs it)");
        let server = Authoritative { child, addr: ([127, 0, 0, 1], port).into() };
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            kdig(server.addr, &[zone, "SOA"]).1.contains("NOERROR")
        });
        assert!(up, "NSD did not answer for {zone}");
        server
    }

    /// A root zone delegating `example` with the DS records `ds`
    /// (presentation form, owner first): the parent of our TLD.
    fn root(dir: &std::path::Path, port: u16, ds: &[&str]) -> Authoritative {
        let mut zone = ". 86400 IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400\n. 86400 IN NS a.root.\na.root. 86400 IN A 127.0.0.1\nexample. 86400 IN NS a.nic.example.\n".to_string();
        for ds in ds {
            let f: Vec<&str> = ds.split_whitespace().collect();
            zone.push_str(&format!("example. 86400 IN DS {} {} {} {}\n", f[3], f[4], f[5], f[6]));
        }
        Authoritative::start(dir, port, ".", &zone)
    }
}

impl Drop for Authoritative {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ksk_rollover_sees_the_new_ds_on_every_parent_server_by_itself() {
    use domain_os::model::Clock;
    let clock = domain_os::model::ManualClock::new(domain_os::model::SystemClock.now().plus_seconds(-2 * 86_400));
    let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
    let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
    let old_ds = status["keys"][0]["ds"].as_str().unwrap().to_string();
    let parent_port = free_port();
    // A second parent server that takes queries and never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    silent.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let parent = Authoritative::root(d.dir.path(), parent_port, &[&old_ds]);
    let servers = json!({"dnssec_parent_servers": [parent.addr.to_string(), format!("127.0.0.1:{silent_port}")], "ds_check_interval_s": 1});
    d.ok("PATCH", "/v1/tlds/example", Some(servers)).await;
    let status = d.ok("POST", "/v1/tlds/example/dnssec/roll", Some(json!({ "key": "ksk" }))).await;
    let new_ksk = status["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "ksk" && k["ds_seen"].is_null() && k["ds"] != old_ds.as_str())
        .unwrap()
        .clone();
    let new_ds = new_ksk["ds"].as_str().unwrap().to_string();
    clock.advance_seconds(2 * 3_600);

    // The parent serves only the old DS, and a second server does not answer: not seen.
    let parent = {
        drop(parent);
        Authoritative::root(d.dir.path(), parent_port, &[&old_ds, &new_ds])
    };
    // Once the silent server has been asked, the watch has seen the new DS at
    // NSD and gone unanswered here.
    let asked = tokio::task::spawn_blocking(move || silent.recv_from(&mut [0u8; 512]).is_ok()).await.unwrap();
    assert!(asked, "the silent parent server was never asked");
    let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
    assert!(
        status["next_key_step"]["waiting_for"].as_str().is_some_and(|w| w.contains("ds-seen")),
        "every server must serve it: {status:#}"
    );

    // Every configured server serves the new DS: the registry sees it by itself.
    d.ok("PATCH", "/v1/tlds/example", Some(json!({"dnssec_parent_servers": [parent.addr.to_string()]}))).await;
    let status = status_until(&d, "the new DS seen at the parent", |s| {
        s["keys"].as_array().unwrap().iter().any(|k| k["key_tag"] == new_ksk["key_tag"] && k["ds_seen"].is_string())
    })
    .await;
    let due = domain_os::model::Timestamp::parse_rfc3339(status["next_key_step"]["due"].as_str().unwrap()).unwrap();
    assert!(due.unix_seconds() > clock.now().unix_seconds() + 86_400, "the parent's DS TTL still to wait: {status:#}");
    drop(parent);
    d.stop().await;
}

/// `domain-os serve` as a child process with SoftHSM's configuration in its
/// environment (the module reads it there; setting it in this process would
/// race the other tests' threads).
fn serve_with_token(conf: &std::path::Path, softhsm_conf: &std::path::Path, demo: bool) -> Served {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_domain-os"));
    cmd.arg("--config").arg(conf).arg("serve").env("SOFTHSM2_CONF", softhsm_conf);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    Served(cmd.spawn().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_signing_keys_live_in_a_softhsm_token_and_sign_after_a_restart() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    let dir = tempfile::tempdir().unwrap();
    let softhsm_conf = dir.path().join("softhsm2.conf");
    std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
    std::fs::write(
        &softhsm_conf,
        format!("directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir.path().display()),
    )
    .unwrap();
    let init = std::process::Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "domain-os", "--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &softhsm_conf)
        .output()
        .expect("softhsm2-util (scripts/test installs softhsm2)");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, "1234\n").unwrap();
    let mut config = test_config(dir.path());
    let dns: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    config.dns.listen = vec![dns];
    config.admin.listen = ([127, 0, 0, 1], free_port()).into();
    config.dnssec.pkcs11 = Some(domain_os::config::Pkcs11Config { module: MODULE.into(), token_label: "domain-os".into(), pin_file });
    let conf = crate::import::write_config(dir.path(), &config);
    let cli = |args: &[&str]| {
        let mut all = vec!["--config", conf.to_str().unwrap()];
        all.extend_from_slice(args);
        let (ok, out, err) = tool(env!("CARGO_BIN_EXE_domain-os"), &all);
        assert!(ok, "domain-os {args:?}: {err}");
        out
    };
    let up = || async {
        eventually(std::time::Duration::from_secs(60), async || std::net::TcpStream::connect(config.admin.listen).is_ok()).await
    };
    // Each export is checked whole by dnssec-verify and kzonecheck.
    let verified_export = |name: &str| {
        let exported: serde_json::Value = serde_json::from_str(&cli(&["zone", "export", "example"])).unwrap();
        let path = exported["path"].as_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for (program, args) in [("dnssec-verify", vec!["-o", "example", &path]), ("kzonecheck", vec!["-o", "example", "-d", "on", &path])] {
            let (ok, out, err) = tool(program, &args);
            assert!(ok, "{program} {name}: {out}{err}");
        }
        text
    };

    let served = serve_with_token(&conf, &softhsm_conf, true);
    assert!(up().await, "serve came up");
    // The demo's KSK was made in the token: only the ZSK is a file.
    let status: serde_json::Value = serde_json::from_str(&cli(&["dnssec", "status", "example"])).unwrap();
    let ksk = tag_of(&status, "ksk", "active");
    let files: Vec<String> = std::fs::read_dir(config.keys_dir().join("example"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].contains(&format!("{:05}", tag_of(&status, "zsk", "active"))), "{files:?}");
    verified_export("token");
    // A backup carries the ZSK's file; the KSK stays in the token.
    cli(&["backup"]);
    drop(served);

    // After a restart the token's key is found again and signs a new KSK's
    // DNSKEY RRset beside the new one, also made in the token.
    let served = serve_with_token(&conf, &softhsm_conf, false);
    assert!(up().await, "serve came up again");
    let status: serde_json::Value = serde_json::from_str(&cli(&["dnssec", "roll", "example", "ksk"])).unwrap();
    let ksks: std::collections::BTreeSet<u16> =
        status["keys"].as_array().unwrap().iter().filter(|k| k["role"] == "ksk").map(|k| k["key_tag"].as_u64().unwrap() as u16).collect();
    assert_eq!(ksks.len(), 2, "{status:#}");
    assert!(ksks.contains(&ksk));
    let text = verified_export("token-rolled");
    assert_eq!(signers_of(&text, "DNSKEY"), ksks);
    assert_eq!(std::fs::read_dir(config.keys_dir().join("example")).unwrap().count(), 1, "the new KSK is in the token too");
    drop(served);
}

/// Knot signing `child.example` by itself on `address` port 53 (where a
/// parent asks), publishing CDS as `cds_publish` says, with SHA-384 digests.
struct SignedChild {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl SignedChild {
    fn start(dir: &std::path::Path, address: &str, cds_publish: &str) -> SignedChild {
        let dir = dir.join("child-knot");
        std::fs::create_dir_all(&dir).unwrap();
        let zone = dir.join("child.example.zone");
        if !zone.exists() {
            std::fs::write(
                &zone,
                "child.example. 3600 IN SOA ns1.child-dns.test. hostmaster.child.example. 1 3600 900 604800 300\nchild.example. 3600 IN NS ns1.child-dns.test.\nwww.child.example. 3600 IN A 192.0.2.7\n",
            )
            .unwrap();
        }
        let log = dir.join("knot.log");
        let conf = format!(
            "server:\n    rundir: \"{d}\"\n    listen: {address}@53\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\nlog:\n  - target: \"{log}\"\n    any: info\ndatabase:\n    storage: \"{d}\"\npolicy:\n  - id: child\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    cds-cdnskey-publish: {cds_publish}\n    cds-digest-type: sha384\ntemplate:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    journal-content: none\nzone:\n  - domain: child.example\n    file: \"{z}\"\n    dnssec-signing: on\n    dnssec-policy: child\n",
            d = dir.display(),
            log = log.display(),
            z = zone.display(),
        );
        std::fs::write(dir.join("knot.conf"), conf).unwrap();
        let child = std::process::Command::new("knotd")
            .arg("-c")
            .arg(dir.join("knot.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("knotd must be installed (scripts/test installs it)");
        let server: std::net::SocketAddr = format!("{address}:53").parse().unwrap();
        let signed = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            kdig(server, &["+dnssec", "child.example", "CDS"]).1.contains("RRSIG")
        });
        let started = SignedChild { child, log };
        assert!(signed, "Knot did not sign the child:\n{}", std::fs::read_to_string(&started.log).unwrap_or_default());
        started
    }
}

impl Drop for SignedChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_cds_signed_by_its_current_key_replaces_then_removes_its_ds() {
    use base64::Engine;
    let child_address = "127.77.0.1";
    // NSD, authoritative for the child's name server zone, stands in for the resolver.
    let resolver_dir = tempfile::tempdir().unwrap();
    let resolver = Authoritative::start(
        resolver_dir.path(),
        free_port(),
        "child-dns.test",
        "child-dns.test. 3600 IN SOA ns.child-dns.test. h.child-dns.test. 1 3600 900 604800 300\nchild-dns.test. 3600 IN NS ns.child-dns.test.\nns1.child-dns.test. 3600 IN A 127.77.0.1\n",
    );
    let d = TestDaemon::start(true, |c, _| c.dnssec.resolver = Some(resolver.addr)).await;
    let mut child = SignedChild::start(d.dir.path(), child_address, "always");
    // The child's key and the SHA-256 DS its registrar registers for it.
    let (_, dnskey) = kdig(format!("{child_address}:53").parse().unwrap(), &["+short", "child.example", "DNSKEY"]);
    let f: Vec<&str> = dnskey.split_whitespace().collect();
    let key = base64::engine::general_purpose::STANDARD.decode(f[3..].concat()).unwrap();
    let rdata = domain_os::model::dnssec::dnskey_rdata(f[0].parse().unwrap(), f[2].parse().unwrap(), &key);
    let owner = domain_os::model::DomainName::parse("child.example").unwrap().to_wire();
    let ds = domain_os::model::dnssec::ds_sha256(&owner, &rdata);
    d.ok("POST", "/v1/hosts", Some(json!({"name": "ns1.child-dns.test", "registrar": "demo-registrar"}))).await;
    let domain = json!({"name": "child.example", "registrar": "demo-registrar", "nameservers": ["ns1.child-dns.test"], "ds": [ds]});
    d.ok("POST", "/v1/domains", Some(domain)).await;

    // The scan finds a CDS for the same key with a SHA-384 digest, signed by
    // the key the DS holds now: the DS becomes that.
    d.ok("PATCH", "/v1/tlds/example", Some(json!({"cds_scan_interval_s": 1}))).await;
    let replaced = eventually(std::time::Duration::from_secs(20), async || {
        let held = d.ok("GET", "/v1/domains/child.example", None).await["ds"].clone();
        held.as_array().is_some_and(|a| a.len() == 1 && a[0]["digest_type"] == 4 && a[0]["key_tag"] == ds.key_tag)
    })
    .await;
    assert!(replaced, "{}", d.ok("GET", "/v1/domains/child.example", None).await);
    let (ok, answer) = kdig(d.dns, &["+dnssec", "child.example", "DS"]);
    assert!(ok && answer.contains(&format!("{} 13 4 ", ds.key_tag)), "served signed at once: {answer}");

    // The child asks for its DS to go (RFC 8078): the delegation becomes insecure.
    drop(child);
    child = SignedChild::start(d.dir.path(), child_address, "delete-dnssec");
    let removed = eventually(std::time::Duration::from_secs(20), async || {
        d.ok("GET", "/v1/domains/child.example", None).await["ds"].as_array().is_some_and(|a| a.is_empty())
    })
    .await;
    assert!(removed, "{}", d.ok("GET", "/v1/domains/child.example", None).await);
    drop((child, resolver));
    d.stop().await;
}
