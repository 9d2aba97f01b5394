//! Zone files written from one snapshot: BIND form accepted by
//! named-checkzone and kzonecheck, the CZDS form's rules, and automatic
//! re-emission after changes.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_export_passes_named_checkzone_and_kzonecheck() {
    let d = TestDaemon::demo().await;
    let summary = d.ok("POST", "/v1/tlds/example/export", None).await;
    let path = d.config.zones_dir.join("example.zone");
    assert_eq!(summary["path"].as_str().unwrap(), path.to_str().unwrap());
    assert_eq!(summary["serial"].as_u64().unwrap() as u32, d.serial("example").await);

    let (ok, out, err) = tool("named-checkzone", &["-i", "local", "example", path.to_str().unwrap()]);
    assert!(ok, "named-checkzone: {out}{err}");
    assert!(out.contains(&format!("loaded serial {}", summary["serial"])), "{out}");
    let (ok, out, err) = tool("kzonecheck", &["-o", "example", path.to_str().unwrap()]);
    assert!(ok, "kzonecheck: {out}{err}");

    let text = std::fs::read_to_string(&path).unwrap();
    let rr = records(&text);
    assert_eq!(rr.len() as u64, summary["records"].as_u64().unwrap());
    assert!(!rr.iter().any(|r| r.0.starts_with("held.") || r.0.starts_with("parked.")), "withheld domains are not in the file");
    assert_eq!(rr[0].2, "SOA");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn czds_format_follows_icann_rules() {
    let d = TestDaemon::demo().await;
    let summary = d.ok("POST", "/v1/tlds/example/export?format=czds", None).await;
    let text = std::fs::read_to_string(summary["path"].as_str().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 3);
    for line in &lines {
        assert!(!line.is_empty() && !line.starts_with(';') && !line.starts_with('$') && !line.contains('@'), "{line:?}");
        assert_eq!(*line, line.to_lowercase(), "lower-case");
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 5, "five tab-separated fields: {line:?}");
        assert!(fields[0].ends_with('.'), "fully qualified owner: {line:?}");
        assert_eq!(fields[2], "in");
        if fields[3] == "ns" {
            assert!(fields[4].ends_with('.'), "fully qualified target: {line:?}");
        }
    }
    assert!(lines[0].contains("\tsoa\t") && lines[lines.len() - 1] == lines[0], "SOA first and last");
    assert_eq!(lines.iter().filter(|l| l.contains("\tsoa\t")).count(), 2);
    // The body is in canonical order, the order the zone is served in, and
    // unsigned (ICANN's CZDS takes no DNSSEC records).
    assert!(!lines.iter().any(|l| ["\trrsig\t", "\tnsec3\t", "\tnsec3param\t", "\tdnskey\t"].iter().any(|t| l.contains(t))));
    let (ok, out) = kdig(d.dns, &["example", "AXFR"]);
    assert!(ok);
    let dnssec = ["SOA", "RRSIG", "NSEC3", "NSEC3PARAM", "DNSKEY"];
    let axfr: Vec<String> = records(&out).iter().filter(|r| !dnssec.contains(&r.2.as_str())).map(|r| r.0.clone()).collect();
    let file: Vec<String> = lines[1..lines.len() - 1].iter().map(|l| l.split('\t').next().unwrap().to_string()).collect();
    assert_eq!(axfr, file);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_files_are_rewritten_after_changes() {
    let d = TestDaemon::start(true, |c, _| {
        c.zonefile.auto_export = true;
        c.zonefile.debounce_ms = 50;
    })
    .await;
    let path = d.config.zones_dir.join("example.zone");
    let s0 = d.serial("example").await;
    assert!(eventually(Duration::from_secs(30), async || std::fs::read_to_string(&path).is_ok_and(|t| t.contains(&s0.to_string()))).await);
    d.ok("POST", "/v1/domains", Some(json!({"name": "auto.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})))
        .await;
    let s1 = d.serial("example").await;
    assert!(
        eventually(Duration::from_secs(30), async || std::fs::read_to_string(&path)
            .is_ok_and(|t| t.contains(&format!("serial {s1}")) && t.contains("auto.example.")))
        .await,
        "zone file re-written"
    );
    d.stop().await;
}
