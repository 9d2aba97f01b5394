//! Escrow deposits of a registry exercised through the writer, checked by
//! `xmllint` against the RDE schemas (RFC 8909, RFC 9022).

use domain_os::model::{ClientId, DomainName, HostName};
use domain_os::registry::command::{Actor, Command, CreateDomain, TransferOp};

use crate::common::*;

fn xmllint_rde(path: &std::path::Path) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/rde/all.xsd");
    let (ok, out, err) = tool("xmllint", &["--noout", "--schema", schema, path.to_str().unwrap()]);
    assert!(ok, "the deposit does not validate: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_deposit_validates_against_the_rde_schemas_and_counts_what_it_holds() {
    let d = TestDaemon::demo().await;
    let registry = d.registry();
    // A domain with a pending transfer to the other registrar.
    let name = DomainName::parse("moving.example").unwrap();
    let create = CreateDomain {
        name: name.clone(),
        registrar: Some(ClientId::parse("demo-registrar").unwrap()),
        nameservers: vec![HostName::parse("ns1.example.net").unwrap()],
        ds: Vec::new(),
        statuses: Vec::new(),
        period_years: 1,
        registrant: None,
        contacts: Vec::new(),
        auth_info: Some("Sesame-Open-2026x".into()),
        auth_info_hash: None,
        fee: None,
    };
    registry.execute_as(Actor::Registry, Command::CreateDomain(create)).await.unwrap();
    let request = TransferOp::Request { years: 1, auth_info: "Sesame-Open-2026x".into(), fee: None };
    let other = Actor::Registrar(ClientId::parse("other-registrar").unwrap());
    registry.execute_as(other, Command::TransferDomain(name, request)).await.unwrap();

    let snapshot = registry.snapshot();
    let path = d.dir.path().join("example_2026-12-07_full_S1_R0.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let tld = DomainName::parse("example").unwrap();
    // The watermark is the snapshot's moment: nothing in it is younger.
    let watermark = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    let summary = domain_os::escrow::write_full(&snapshot, &tld, watermark, "20261207001", &mut file).unwrap();
    drop(file);
    xmllint_rde(&path);

    let text = std::fs::read_to_string(&path).unwrap();
    let counts = &summary.counts;
    let status = d.ok("GET", "/v1/status", None).await;
    assert_eq!(counts[domain_os::escrow::DOMAIN], status["objects"]["domains"].as_u64().unwrap(), "{counts:?}");
    assert_eq!(counts[domain_os::escrow::HOST], status["objects"]["hosts"].as_u64().unwrap());
    assert_eq!(counts[domain_os::escrow::CONTACT], status["objects"]["contacts"].as_u64().unwrap());
    assert_eq!(counts[domain_os::escrow::REGISTRAR], 2);
    for (uri, count) in counts {
        assert!(text.contains(&format!("<rdeHeader:count uri=\"{uri}\">{count}</rdeHeader:count>")), "{uri}");
    }
    assert!(text.contains("<rdeDomain:trStatus>pending</rdeDomain:trStatus>"), "the pending transfer");
    assert!(text.contains("<secDNS:dsData>"), "the demo's DS");
    assert!(
        text.contains("<rdeContact:disclose flag=\"1\"><contact:name type=\"int\"/><contact:email/></rdeContact:disclose>"),
        "the demo tech contact publishes name and email"
    );
    d.stop().await;
}
