//! Importing an existing TLD zone file: through the operator API while the
//! daemon runs, and from the CLI into a stopped store. Bad input is reported
//! by line and nothing is half-imported.

use std::fmt::Write as _;
use std::path::Path;

use hickory_net::proto::rr::RecordType;
use serde_json::json;

use crate::common::*;

/// A TLD zone of `n` delegations: every 10th with in-zone glue, every 3rd with DS.
pub fn generate_zone(tld: &str, n: usize) -> String {
    let mut z = format!(
        "$ORIGIN {tld}.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 1800 900 1209600 900\n@ IN NS ns1.example.net.\n"
    );
    for i in 0..n {
        let name = format!("d{i:06}");
        if i % 10 == 0 {
            writeln!(
                z,
                "{name} IN NS ns1.{name}\n{name} IN NS ns2.{name}.{tld}.\nns1.{name} IN A 192.0.2.{}\nns2.{name} IN AAAA 2001:db8::{:x}",
                i % 250 + 1,
                i + 1
            )
            .unwrap();
        } else {
            writeln!(z, "{name}\t3600\tIN\tNS\tns{}.provider{}.example.net.\n\t\tNS\tns2.provider{}.example.net.", 1, i % 50, i % 50)
                .unwrap();
        }
        if i % 3 == 0 {
            writeln!(z, "{name} IN DS {} 13 2 {:064X}", i % 65536, i).unwrap();
        }
    }
    z
}

async fn setup_tld(d: &TestDaemon, tld: &str) {
    d.ok("POST", "/v1/registrars", Some(json!({"id": "importer", "name": "Importer", "email": "ops@importer.test"}))).await;
    d.ok("POST", "/v1/tlds", Some(json!({"name": tld, "nameservers": ["ns1.example.net", "ns2.example.net"]}))).await;
}

async fn upload(d: &TestDaemon, tld: &str, zone: String) -> (u16, serde_json::Value) {
    let resp =
        d.http().post(format!("{}/v1/tlds/{tld}/import?registrar=importer", d.base)).bearer_auth(&d.token).body(zone).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_file_becomes_domains_hosts_and_the_same_zone() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    setup_tld(&d, "imp").await;
    let (status, summary) = upload(&d, "imp", generate_zone("imp", 2000)).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["domains"], 2000);
    // 200 glue domains with two in-zone hosts each; 45 providers with two external hosts.
    assert_eq!(summary["hosts_created"], 200 * 2 + 45 * 2);

    let listed = d.ok("GET", "/v1/tlds/imp/domains?limit=1000", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1000);
    let last = listed[999]["name"].as_str().unwrap().to_string();
    let rest = d.ok("GET", &format!("/v1/tlds/imp/domains?limit=1000&after={last}"), None).await;
    assert_eq!(rest.as_array().unwrap().len(), 1000);

    let r = d.query("www.d000010.imp.", RecordType::A).await;
    assert_eq!(r.authorities.len(), 2);
    assert_eq!(r.additionals.len(), 2, "in-zone glue: {:?}", r.additionals);
    let r = d.query("d000003.imp.", RecordType::DS).await;
    assert_eq!(r.answers.len(), 1);

    d.ok("POST", "/v1/tlds/imp/export", None).await;
    let path = d.config.zones_dir.join("imp.zone");
    let (ok, out, err) = tool("named-checkzone", &["-i", "local", "imp", path.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    // 2000 domains × 2 NS, 667 DS, 200 × 2 glue, apex SOA + 2 NS.
    assert_eq!(records(&std::fs::read_to_string(&path).unwrap()).len(), 4000 + 667 + 400 + 3);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_reported_and_nothing_is_imported() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    setup_tld(&d, "imp").await;
    let serial = d.serial("imp").await;
    let zone = "\
$ORIGIN imp.
ok1 IN NS ns1.example.net.
bad_name IN NS ns1.example.net.
ok2 IN NS ns.ok2
ok3 IN MX 10 mail.example.net.
deep.ok1 IN NS ns1.example.net.
ok4 IN DS 1 13 2 ABCD
outside.example.com. IN NS ns1.example.net.
ok5 IN A 999.1.1.1
ok6 IN DS 1 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372
";
    let (status, body) = upload(&d, "imp", zone.into()).await;
    assert_eq!(status, 422, "{body}");
    let lines: Vec<u64> = body["error"]["lines"].as_array().unwrap().iter().map(|l| l["line"].as_u64().unwrap()).collect();
    // Bad owner, MX, delegation below a delegation, short DS digest, out of zone,
    // bad address, DS without NS, and the in-zone name server without glue.
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9, 10], "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nothing was imported"));
    assert_eq!(d.ok("GET", "/v1/tlds/imp/domains", None).await, json!([]));
    assert_eq!(d.serial("imp").await, serial);

    // Limits the registry enforces on every later update hold for imports too.
    let many_ns: String = (0..14).map(|i| format!("wide IN NS ns{i}.example.net.\n")).collect();
    let (status, body) = upload(&d, "imp", format!("$ORIGIN imp.\n{many_ns}")).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = upload(&d, "imp", "$ORIGIN imp.\ng IN NS ns.g\nns.g IN A 0.0.0.0\n".into()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("0.0.0.0"), "{body}");

    // A delegation that already exists: refused whole.
    d.ok("POST", "/v1/domains", Some(json!({"name": "taken.imp", "registrar": "importer"}))).await;
    let (status, body) = upload(&d, "imp", "$ORIGIN imp.\nfree IN NS ns1.example.net.\ntaken IN NS ns1.example.net.\n".into()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("exists")), "{body}");
    assert_eq!(d.ok("GET", "/v1/tlds/imp/domains", None).await.as_array().unwrap().len(), 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_imports_into_a_stopped_store() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    setup_tld(&d, "imp").await;
    let (dir, config) = d.stop().await;
    let conf = write_config(dir.path(), &config);
    let zone = dir.path().join("imp.zone");
    std::fs::write(&zone, generate_zone("imp", 500)).unwrap();
    let (ok, out, err) = tool(
        env!("CARGO_BIN_EXE_domain-os"),
        &["--config", conf.to_str().unwrap(), "import", "zone", zone.to_str().unwrap(), "--tld", "imp", "--registrar", "importer"],
    );
    assert!(ok, "{out}{err}");
    assert!(err.contains("writing domains: 500/500"), "progress is shown: {err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["domains"], 500);
    // The offline path reports what it serves differently from the file, as the API does.
    let apex = summary["changes"].as_array().unwrap().iter().find(|c| c["field"] == "apex NS set").unwrap();
    assert_eq!((apex["file"].as_str(), apex["records"].as_u64()), (Some("ns1.example.net"), Some(1)), "{summary}");

    let d = TestDaemon::start_in(dir, config, false).await;
    assert_eq!(d.query("d000499.imp.", RecordType::NS).await.authorities.len(), 2);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_apex_and_ttls_can_be_served_as_they_were() {
    let d = TestDaemon::start(false, |_, _| {}).await;
    setup_tld(&d, "keep").await;
    d.ok("POST", "/v1/hosts", Some(json!({"name": "ns1.example.net", "registrar": "importer"}))).await;
    d.ok("POST", "/v1/domains", Some(json!({"name": "before.keep", "registrar": "importer", "nameservers": ["ns1.example.net"]}))).await;
    let zone = "\
$ORIGIN keep.
$TTL 86400
@ 3600 IN SOA ns1.example.net. hostmaster.example.net. 7 7200 1800 1209600 300
@ IN NS ns1.example.net.
@ IN NS ns3.example.net.
one IN NS ns1.example.net.
one IN NS ns2.example.net.
two 600 IN NS ns1.example.net.
";
    let url = format!("{}/v1/tlds/keep/import?registrar=importer&apex_from_file=true", d.base);
    let resp = d.http().post(url).bearer_auth(&d.token).body(zone).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let summary: serde_json::Value = resp.json().await.unwrap();
    let fields: Vec<&str> = summary["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    // Only the serial (already past 7) and the one NS record the policy's single TTL cannot carry.
    assert_eq!(fields, ["SOA serial", "delegation NS TTL"], "{summary}");

    let soa = d.query("keep.", RecordType::SOA).await;
    let hickory_net::proto::rr::RData::SOA(rdata) = &soa.answers[0].data else { panic!("{soa:?}") };
    assert_eq!((rdata.refresh, rdata.retry, rdata.minimum, soa.answers[0].ttl), (7200, 1800, 300, 3600));
    let apex = d.query("keep.", RecordType::NS).await;
    let mut names: Vec<String> = apex.answers.iter().map(|r| r.data.to_string()).collect();
    names.sort();
    assert_eq!(names, ["ns1.example.net.", "ns3.example.net."]);
    // The new delegation TTL holds for the domain registered before the import too.
    for name in ["one.keep.", "two.keep.", "before.keep."] {
        let r = d.query(name, RecordType::NS).await;
        assert_eq!(r.authorities[0].ttl, 86400, "{name}");
    }
    d.stop().await;
}

/// Writes `config` as a TOML file next to its data, for the CLI.
pub fn write_config(dir: &Path, config: &domain_os::config::Config) -> std::path::PathBuf {
    let path = dir.join("domain-os.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    path
}
