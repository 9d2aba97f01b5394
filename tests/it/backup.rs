//! Backups while the daemon serves and commits: what a backup taken under
//! EPP write load holds (everything acknowledged before it began, and a
//! consistent cut of what came after), restored into a new daemon whose zone
//! and objects equal the source's at the backup's serial; and the
//! `verify`/`restore` commands on such a file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::epp::{Epp, Responses, code, create_body};

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

/// The zone file lines of `tld` as `d` exports it, without the SOA (its serial differs).
async fn zone_lines(d: &TestDaemon, tld: &str) -> Vec<String> {
    let summary = d.ok("POST", &format!("/v1/tlds/{tld}/export"), None).await;
    let path = summary["path"].as_str().map(std::path::PathBuf::from).unwrap_or_else(|| d.config.zones_dir.join(format!("{tld}.zone")));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.starts_with(';') && !l.split_whitespace().any(|w| w == "SOA")).map(str::to_string).collect()
}

fn rows(report: &Value, table: &str) -> u64 {
    report["tables"].as_array().unwrap().iter().find(|t| t[0] == table).map(|t| t[1].as_u64().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_epp_load_restores_to_the_state_at_its_serial() {
    let source = TestDaemon::demo().await;
    for registrar in ["demo-registrar", "other-registrar"] {
        source.ok("POST", &format!("/v1/registrars/{registrar}/funds"), Some(json!({ "amount": "100000.00" }))).await;
    }
    // Two registrars' sessions create domains as fast as they are acknowledged;
    // each keeps the names in the order they were acknowledged.
    let acknowledged: Vec<Arc<Mutex<Vec<String>>>> = (0..2).map(|_| Arc::default()).collect();
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut writers = Vec::new();
    for (i, registrar) in ["demo-registrar", "other-registrar"].into_iter().enumerate() {
        let (seen, acked, mut stopped) = (Responses::default(), acknowledged[i].clone(), stop.subscribe());
        let mut epp = Epp::session(&source, registrar, &seen).await;
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !*stopped.borrow_and_update() {
                let name = format!("load-{i}-{n}.example");
                let r = epp.domain("create", &create_body(&name, "1", &["ns1.example.net"], "Backup-Code-2026x"), "").await;
                assert_eq!(code(&r), 1000, "{r}");
                acked.lock().unwrap().push(name);
                n += 1;
            }
        }));
    }
    assert!(eventually(Duration::from_secs(60), async || acknowledged.iter().all(|a| a.lock().unwrap().len() >= 20)).await);
    let before: Vec<Vec<String>> = acknowledged.iter().map(|a| a.lock().unwrap().clone()).collect();
    let file = source.dir.path().join("under-load.redb");
    let report = source.ok("POST", "/v1/backups", Some(json!({ "to": file }))).await;
    assert!(
        eventually(Duration::from_secs(60), async || acknowledged.iter().all(|a| a.lock().unwrap().len() >= before[0].len() + 20)).await
    );
    stop.send(true).unwrap();
    for w in writers {
        w.await.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let (ok, out, err) = tool(BIN, &["restore", file.to_str().unwrap(), "--config", &write_restore_config(dir.path(), &config)]);
    assert!(ok, "{out}{err}");
    let restored = TestDaemon::start_in(dir, config, false).await;

    // A consistent cut: of each session's creates, the backup holds exactly
    // the first few, and at least all acknowledged before it began.
    let mut after_cut = Vec::new();
    let mut kept = 0;
    for (i, acked) in acknowledged.iter().enumerate() {
        let acked = acked.lock().unwrap().clone();
        let mut present = Vec::new();
        for name in &acked {
            let (status, _) = restored.api("GET", &format!("/v1/domains/{name}"), None).await;
            present.push(status == 200);
        }
        let cut = present.iter().take_while(|p| **p).count();
        assert!(present[cut..].iter().all(|p| !p), "session {i}: the backup is not a prefix of its acknowledged creates");
        assert!(cut >= before[i].len(), "session {i}: {} acknowledged before the backup, {cut} in it", before[i].len());
        assert!(cut < acked.len(), "the load went on past the backup");
        after_cut.extend(acked[cut..].iter().cloned());
        kept += cut;
    }
    let domains = restored.ok("GET", "/v1/tlds/example/domains?limit=100000", None).await;
    let demo_domains = source.ok("GET", "/v1/tlds/example/domains?limit=100000", None).await.as_array().unwrap().len()
        - acknowledged.iter().map(|a| a.lock().unwrap().len()).sum::<usize>();
    assert_eq!(domains.as_array().unwrap().len(), demo_domains + kept, "object counts at the backup's serial");
    assert_eq!(rows(&report, "domains") as usize, demo_domains + kept);

    let serial = report["serials"].as_array().unwrap().iter().find(|s| s[0] == "example").unwrap()[1].as_u64().unwrap();
    assert_eq!(u64::from(restored.serial("example").await), serial, "the restored zone is at the backup's serial");
    // The data is the source's without the later names; the proofs differ
    // (the source's NSEC3 chain also covers the later names), so the
    // restored zone's are checked on their own.
    let later: Vec<String> = after_cut.iter().map(|n| format!("{n}.")).collect();
    let unsigned = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().filter(|l| !l.split('\t').nth(3).is_some_and(|t| ["RRSIG", "NSEC3", "NSEC3PARAM"].contains(&t))).collect()
    };
    let expected: Vec<String> =
        unsigned(zone_lines(&source, "example").await).into_iter().filter(|l| !later.iter().any(|n| l.starts_with(n.as_str()))).collect();
    assert_eq!(
        unsigned(zone_lines(&restored, "example").await),
        expected,
        "the restored zone is the source's without what came after the cut"
    );
    let exported = restored.ok("POST", "/v1/tlds/example/export", None).await;
    let (ok, out, err) = tool("dnssec-verify", &["-z", "-o", "example", exported["path"].as_str().unwrap()]);
    assert!(ok, "the restored zone's signatures and NSEC3 chain: {out}{err}");
    // The backup carried the signing keys, KSK and ZSK (in a file only its
    // owner reads), so the restored registry signs its next change with them.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(rows(&report, "signing_keys"), 2);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let keys = restored.ok("GET", "/v1/tlds/example/dnssec", None).await["keys"].clone();
    assert_eq!(keys, source.ok("GET", "/v1/tlds/example/dnssec", None).await["keys"]);
    let ds = json!([{"key_tag": 7, "algorithm": 13, "digest_type": 2, "digest": "AB".repeat(32)}]);
    restored
        .ok(
            "POST",
            "/v1/domains",
            Some(json!({"name": "after-restore.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "ds": ds})),
        )
        .await;
    let exported = restored.ok("POST", "/v1/tlds/example/export", None).await;
    let text = std::fs::read_to_string(exported["path"].as_str().unwrap()).unwrap();
    assert!(text.contains("after-restore.example.\t3600\tIN\tRRSIG\tDS"), "{text}");
    let (ok, out, err) = tool("dnssec-verify", &["-z", "-o", "example", exported["path"].as_str().unwrap()]);
    assert!(ok, "signed after the restore: {out}{err}");
    let (_dir, config) = restored.stop().await;
    let store = config.db_path();
    let (ok, out, err) = tool(BIN, &["verify", store.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(rows(&serde_json::from_str(&out).unwrap(), "signing_keys"), 0, "the live store holds no private key");
    source.stop().await;
}

fn write_restore_config(dir: &std::path::Path, config: &domain_os::config::Config) -> String {
    crate::import::write_config(dir, config).to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_a_backup_whole_and_restore_refuses_a_running_store() {
    let d = TestDaemon::demo().await;
    let report = d.ok("POST", "/v1/backups", None).await;
    let file = report["path"].as_str().unwrap().to_string();
    assert!(file.starts_with(d.config.data_dir.join("backups").to_str().unwrap()), "time-named in the backup folder: {file}");
    let (ok, out, err) = tool(BIN, &["verify", &file]);
    assert!(ok, "{err}");
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["tables"], report["tables"]);
    assert_eq!(verified["schema_version"], domain_os::store::SCHEMA_VERSION);
    assert!(rows(&verified, "domains") >= 5 && rows(&verified, "zone") > 0, "{out}");

    let refused = domain_os::store::backup::restore(std::path::Path::new(&file), &d.config.db_path(), &mut |_| Ok(()), &mut |_, _| {});
    assert!(matches!(refused, Err(domain_os::store::StoreError::Locked)), "{refused:?}");

    // A damaged copy is refused by verify, and so by restore.
    let damaged = d.dir.path().join("damaged.redb");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&damaged, bytes).unwrap();
    let (ok, _, err) = tool(BIN, &["verify", damaged.to_str().unwrap()]);
    assert!(!ok, "a truncated backup verifies: {err}");
    d.stop().await;
}
