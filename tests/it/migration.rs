//! Stored data from every earlier schema version keeps working: a database
//! written by a build of each (the demo registry plus a little more; see
//! `scripts/make-fixture`) is opened by this build, upgraded, and serves the
//! same objects and zone.

use hickory_net::proto::rr::RecordType;
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_v1_database_opens_and_serves_the_same_zone() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v1.redb"), config.db_path()).unwrap();
    let d = TestDaemon::start_in(dir, config, false).await;
    assert_eq!(d.serial("example").await, 1_795_873_064);
    let hello = d.ok("GET", "/v1/domains/hello.example", None).await;
    assert_eq!(hello["nameservers"], serde_json::json!(["ns1.hello.example", "ns2.hello.example"]));
    assert_eq!(d.ok("GET", "/v1/hosts/ns1.world.example", None).await["addresses"], serde_json::json!(["192.0.2.77"]));
    let r = d.query("www.hello.example.", RecordType::A).await;
    assert_eq!(r.authorities.len(), 2);
    assert_eq!(d.query("held.example.", RecordType::A).await.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_fixture_opens_upgrades_and_serves() {
    for version in [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
        let dir = tempfile::tempdir().unwrap();
        let config = test_config(dir.path());
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let fixture = format!("{}/tests/fixtures/schema-v{version}.redb", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(&fixture, config.db_path()).unwrap();
        let d = TestDaemon::start_in(dir, config, false).await;
        let made = d.ok("GET", "/v1/domains/fixture.example", None).await;
        assert_eq!(made["nameservers"], serde_json::json!(["ns1.example.net"]), "v{version}: {made}");
        assert_eq!(made["registrar"], "demo-registrar");
        let registrar = d.ok("GET", "/v1/registrars/demo-registrar", None).await;
        assert_eq!(registrar["has_password"], true, "v{version}");
        // Its one balance is now its account in the currency of the TLDs (schema 11).
        assert_eq!(registrar["accounts"][0]["currency"], "USD", "v{version}: {registrar}");
        assert_eq!(registrar["accounts"].as_array().map(Vec::len), Some(1), "v{version}: {registrar}");
        // Statuses stored as bits up to schema 3 come back as the same statuses.
        assert_eq!(d.ok("GET", "/v1/domains/held.example", None).await["statuses"], serde_json::json!(["serverHold"]), "v{version}");
        let host = d.ok("GET", "/v1/hosts/ns1.hello.example", None).await;
        assert_eq!(host["statuses"], serde_json::json!(["linked", "ok"]), "v{version}");
        assert_eq!(d.query("www.fixture.example.", RecordType::A).await.authorities.len(), 1, "v{version}");
        assert!(!d.query("www.hello.example.", RecordType::A).await.additionals.is_empty(), "v{version}: glue");
        // Accredited, it pays in the TLD's currency (schema 13).
        let accreditations = d.ok("GET", "/v1/registrars/demo-registrar/accreditations", None).await;
        assert_eq!(accreditations["accreditations"][0]["currency"], "USD", "v{version}: {accreditations}");
        let tld = d.ok("GET", "/v1/tlds/example", None).await;
        assert_eq!(tld["exchange_rates"], serde_json::json!({}), "v{version}: {tld}");
        if version == 12 {
            let phases = d.ok("GET", "/v1/tlds/example/phases", None).await;
            let sunrise = &phases["phases"][0];
            assert_eq!(
                (&sunrise["kind"], &sunrise["applications"], &sunrise["renew_price"]),
                (&json!("sunrise"), &json!(true), &json!("12.00"))
            );
            assert_eq!(sunrise["fees"][0]["description"], "Sunrise fee", "{phases}");
            assert_eq!(sunrise["fees"][1]["refundable"], true, "{phases}");
        }
        if version == 11 {
            // The terms schema 11 kept beside a phase are in it (schema 12).
            let phases = d.ok("GET", "/v1/tlds/example/phases", None).await;
            let landrush = &phases["phases"][0];
            assert_eq!(landrush["kind"], "landrush", "{phases}");
            assert_eq!(landrush["daily_create_prices"], serde_json::json!(["50.00", "20.00"]), "{phases}");
            assert_eq!((&landrush["claims"], &landrush["label_lengths"]), (&serde_json::json!(true), &serde_json::json!([1, 6])));
        }
        d.stop().await;
    }
}
