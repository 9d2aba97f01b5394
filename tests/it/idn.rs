//! A TLD's IDN table over EPP (RST idn-01, idn-02): labels outside its
//! repertoire are refused, a variant of a registered name is blocked or
//! open only to that name's registrar as the policy says, and an IDN-only
//! TLD takes no ASCII names.

use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

const LGR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<lgr xmlns="urn:ietf:params:xml:ns:lgr-1.0">
  <meta><version>1</version><language>sv</language></meta>
  <data>
    <char cp="002D"/>
    <range first-cp="0030" last-cp="0039"/>
    <range first-cp="0061" last-cp="007A"/>
    <char cp="00E4"><var cp="00E6" type="blocked"/></char>
    <char cp="00E6"/>
    <char cp="00F6"/>
  </data>
</lgr>"#;

/// bär, its variant bær, and räksmörgås (å is not in the table).
const BAR: &str = "xn--br-via.example";
const BAER: &str = "xn--br-1ia.example";
const SANDWICH: &str = "xn--rksmrgs-5wao1o.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_follow_the_idn_table_and_variants_its_policy() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let lgr = dir.path().join("sv.xml");
    std::fs::write(&lgr, LGR).unwrap();
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = run(&["tld", "idn", "set", "example", lgr.to_str().unwrap(), "--id", "sv-1.0"]);
    assert!(ok && out.contains("\"code_points\": 40"), "{out}{err}");
    std::fs::write(&lgr, "<lgr><data><char cp=\"0061 0062\"/></data></lgr>").unwrap();
    let (ok, _, err) = run(&["tld", "idn", "set", "example", lgr.to_str().unwrap(), "--id", "bad"]);
    assert!(!ok && err.contains("sequences"), "{err}");

    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    let create = |name: &str| create_body(name, "1", &[], STRONG);
    let refused = a.domain("create", &create(SANDWICH), "").await;
    assert!(code(&refused) == 2306 && refused.contains("U+00E5 is not in the sv-1.0 IDN table"), "{refused}");
    assert_eq!(code(&a.domain("create", &create(BAR), "").await), 1000);
    let variant = a.domain("create", &create(BAER), "").await;
    assert!(code(&variant) == 2304 && variant.contains("variant of xn--br-via.example"), "{variant}");
    let check = a.domain("check", &format!("<domain:name>{BAER}</domain:name><domain:name>{SANDWICH}</domain:name>"), "").await;
    assert!(
        check.contains(&format!(
            r#"<domain:name avail="0">{BAER}</domain:name><domain:reason>variant of a registered name</domain:reason>"#
        )),
        "{check}"
    );
    assert!(
        check.contains(&format!(r#"<domain:name avail="0">{SANDWICH}</domain:name><domain:reason>not in the IDN table</domain:reason>"#)),
        "{check}"
    );
    assert_eq!(code(&a.domain("create", &create("plain.example"), "").await), 1000, "ASCII labels in the repertoire");
    // RDAP names the table and the variants (RFC 9083 §5.3), which ICANN's checks accept.
    let rdap = crate::rdap::assert_rdap(&crate::rdap::get(&d, &format!("domain/{BAR}")).await, 200);
    assert_eq!(
        rdap["variants"],
        json!([{"relation": ["unregistered", "registration restricted"], "idnTable": "sv-1.0", "variantNames": [{"ldhName": BAER, "unicodeName": "bær.example"}]}]),
        "{rdap}"
    );
    let plain = crate::rdap::assert_rdap(&crate::rdap::get(&d, "domain/plain.example").await, 200);
    assert!(plain.get("variants").is_none(), "ASCII names have no variants: {plain}");

    // Escrow names the table and the tables' domains carry its id (RFC 9022).
    let body = json!({"id": "sv-1.0", "lgr": LGR, "policy": "blocked", "url": "https://www.iana.org/domains/idn-tables/tables/example_sv_1.0.txt", "url_policy": "https://nic.example/idn"});
    d.ok("PUT", "/v1/tlds/example/idn", Some(body)).await;
    let tld = domain_os::model::DomainName::parse("example").unwrap();
    let deposit = dir.path().join("example_2026-12-07_full_S1_R0.xml");
    let mut file = std::fs::File::create(&deposit).unwrap();
    let now = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    domain_os::escrow::write_xml(
        domain_os::escrow::DepositKind::Full,
        &d.registry().snapshot(),
        &tld,
        now,
        "20261207001",
        0,
        None,
        &mut file,
    )
    .unwrap();
    drop(file);
    crate::escrow::xmllint_rde(&deposit);
    let xml = std::fs::read_to_string(&deposit).unwrap();
    assert!(
        xml.contains(
            r#"<rdeIDN:idnTableRef id="sv-1.0"><rdeIDN:url>https://www.iana.org/domains/idn-tables/tables/example_sv_1.0.txt</rdeIDN:url>"#
        ),
        "{xml}"
    );
    assert!(xml.contains("<rdeDomain:name>xn--br-via.example</rdeDomain:name><rdeDomain:roid>"), "{xml}");
    assert!(xml.contains("<rdeDomain:uName>bär.example</rdeDomain:uName><rdeDomain:idnTableId>sv-1.0</rdeDomain:idnTableId>"), "{xml}");
    let checked = domain_os::escrow::verify::verify(&deposit, &Default::default()).unwrap();
    assert!(checked.passed(), "{checked}");

    // Variants open to the registered name's registrar only.
    let body = json!({"id": "sv-1.0", "lgr": LGR, "policy": "same-registrar"});
    d.ok("PUT", "/v1/tlds/example/idn", Some(body)).await;
    let other = b.domain("create", &create(BAER), "").await;
    assert!(code(&other) == 2304 && other.contains("only its registrar"), "{other}");
    assert_eq!(code(&a.domain("create", &create(BAER), "").await), 1000);
    let rdap = crate::rdap::assert_rdap(&crate::rdap::get(&d, &format!("domain/{BAR}")).await, 200);
    assert_eq!(rdap["variants"][0]["relation"], json!(["registered"]), "{rdap}");
    assert_eq!(rdap["variants"][0]["variantNames"][0]["ldhName"], BAER, "{rdap}");

    // An IDN-only TLD (RST idn-02).
    d.ok("PUT", "/v1/tlds/example/idn", Some(json!({"id": "sv-1.0", "lgr": LGR, "policy": "blocked", "idn_only": true}))).await;
    let ascii = a.domain("create", &create("ascii.example"), "").await;
    assert!(code(&ascii) == 2306 && ascii.contains("internationalised names only"), "{ascii}");
    assert_eq!(d.ok("GET", "/v1/tlds/example/idn", None).await["idn_only"], true);
    let (ok, _, err) = run(&["tld", "idn", "remove", "example"]);
    assert!(ok, "{err}");
    assert_eq!(code(&a.domain("create", &create("ascii.example"), "").await), 1000, "no table, no IDN rules");
    seen.validate();
    d.stop().await;
}
