//! Signed zones, checked by independent validators: the exported zone file
//! and the AXFR stream by `dnssec-verify` and `kzonecheck`, answers by a
//! validating Unbound that trusts only the TLD's DS.

use serde_json::json;

use crate::common::*;

/// Writes `text` to a file in the daemon's folder and has `dnssec-verify`
/// and `kzonecheck` check every signature and the NSEC3 chain of it (`-z`:
/// one combined key signs everything, so no key is a ZSK by its flags).
fn verify_zone_text(d: &TestDaemon, name: &str, text: &str) {
    let path = d.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let (ok, out, err) = tool("dnssec-verify", &["-z", "-o", "example", path]);
    assert!(ok, "dnssec-verify {name}: {out}{err}");
    let (ok, out, err) = tool("kzonecheck", &["-o", "example", "-d", "on", path]);
    assert!(ok, "kzonecheck {name}: {out}{err}");
}

async fn export(d: &TestDaemon) -> String {
    d.ok("POST", "/v1/tlds/example/export", None).await;
    std::fs::read_to_string(d.config.zones_dir.join("example.zone")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_zones_verify_as_files_and_transfers_in_both_denial_modes() {
    let d = TestDaemon::demo().await;
    for mode in ["nsec3", "nsec3-optout"] {
        d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": mode }))).await;
        let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        assert_eq!(status["signed"], true, "{status}");
        assert_eq!(status["denial"], mode);
        let text = export(&d).await;
        assert!(text.contains("NSEC3PARAM\t1 0 0 -"), "RFC 9276 parameters: {text}");
        verify_zone_text(&d, &format!("{mode}.zone"), &text);
        let (ok, axfr) = kdig(d.dns, &["+tcp", "example", "AXFR"]);
        assert!(ok, "{axfr}");
        verify_zone_text(&d, &format!("{mode}.axfr"), &axfr);
    }
    // Changes through the writer re-sign only what they touch; the zone
    // must stay whole after each (opt-out is what this zone has now).
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
        ("PATCH", "/v1/tlds/example".to_string(), json!({"dnssec": "nsec3"})),
        ("PATCH", "/v1/domains/hello.example".to_string(), json!({"remove_statuses": ["serverHold"]})),
        ("PATCH", "/v1/domains/fresh.example".to_string(), json!({"remove_all_ds": true})),
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
    let port = d.dns.port().to_string();
    let anchor = anchor.to_str().unwrap();
    let (_, out, err) = tool("delv", &["@127.0.0.1", "-p", &port, "-a", anchor, "+root=example", "+tcp", name, rtype]);
    format!("{out}{err}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delv_validates_answers_and_denials_from_the_ds_alone() {
    let d = TestDaemon::demo().await;
    for mode in ["nsec3", "nsec3-optout"] {
        d.ok("PATCH", "/v1/tlds/example", Some(json!({ "dnssec": mode }))).await;
        let status = d.ok("GET", "/v1/tlds/example/dnssec", None).await;
        let ds = status["keys"][0]["ds"].as_str().unwrap().to_string();
        let fields: Vec<&str> = ds.split_whitespace().collect();
        let anchor = d.dir.path().join("anchor.conf");
        std::fs::write(
            &anchor,
            format!("trust-anchors {{ \"example.\" static-ds {} {} {} \"{}\"; }};\n", fields[3], fields[4], fields[5], fields[6]),
        )
        .unwrap();
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
        // A delegation without DS: proven to have none; with Opt-Out by the
        // closest encloser's record, whose Opt-Out flag covers it (RFC 5155 §7.2.4).
        let out = delv(&d, &anchor, "nic.example", "DS");
        assert!(out.contains("; negative response, fully validated"), "{mode}: delv nic.example DS: {out}");
        let flags = if mode == "nsec3" { "NSEC3 1 0 0 -" } else { "NSEC3 1 1 0 -" };
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
    let metrics = d.http().get(format!("{}/metrics", d.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("domain_os_dnssec_earliest_signature_expiry_timestamp_seconds{zone=\"example\"}"), "{metrics}");
    assert!(metrics.contains("domain_os_dnssec_keys{zone=\"example\""), "{metrics}");
    d.stop().await;
}
