//! Names that cannot be registered, end to end: a Specification 5 list
//! imported from a file on the command line, names blocked through the API,
//! and what registrars see of them over EPP (check and create), what the
//! registry may still do (allocate a withheld name), and what is refused
//! (reserving a registered name, a name outside the TLD).

use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_and_blocked_names_are_unavailable_over_epp_and_only_withheld_ones_can_be_allocated() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);

    // RA Specification 5 names from a file: labels and names, with comments.
    let list = dir.path().join("spec5.txt");
    std::fs::write(&list, "# Specification 5, section 2\nab\nxy.example\n\nwhois  # section 4\n").unwrap();
    let (ok, out, err) = run(&["reserved", "import", "example", list.to_str().unwrap(), "--reason", "Specification 5", "--list", "spec5"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"reserved\": 3"), "{out}");
    // A bad line refuses the whole file, naming it.
    std::fs::write(&list, "cd\nbad_label\n").unwrap();
    let (ok, _, err) = run(&["reserved", "import", "example", list.to_str().unwrap(), "--reason", "Specification 5"]);
    assert!(!ok && err.contains("line 2"), "{err}");
    let blocked = json!({"names": ["collision.example"], "state": "blocked", "reason": "name collision", "list": "collision"});
    assert_eq!(d.ok("POST", "/v1/tlds/example/reserved", Some(blocked)).await["reserved"], 1);

    // A registered name cannot be reserved, nor a name outside the TLD; nothing of such a request is kept.
    let (code_, body) = d.api("POST", "/v1/tlds/example/reserved", Some(json!({"names": ["fresh", "hello"], "reason": "x"}))).await;
    assert_eq!(code_, 409, "{body}");
    assert!(body.to_string().contains("hello.example"), "{body}");
    let (code_, _) = d.api("POST", "/v1/tlds/example/reserved", Some(json!({"names": ["a.b.example"], "reason": "x"}))).await;
    assert_eq!(code_, 422);
    let listed = d.ok("GET", "/v1/tlds/example/reserved", None).await;
    let names: Vec<&str> = listed["names"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ab.example", "collision.example", "whois.example", "xy.example"], "{listed}");
    assert_eq!(listed["names"][1]["state"], "blocked");

    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let check = a
        .domain(
            "check",
            "<domain:name>ab.example</domain:name><domain:name>collision.example</domain:name><domain:name>free.example</domain:name>",
            "",
        )
        .await;
    assert!(check.contains(r#"<domain:name avail="0">ab.example</domain:name><domain:reason>reserved</domain:reason>"#), "{check}");
    assert!(check.contains(r#"<domain:name avail="0">collision.example</domain:name><domain:reason>blocked</domain:reason>"#), "{check}");
    assert!(check.contains(r#"<domain:name avail="1">free.example</domain:name>"#), "{check}");
    let refused = a.domain("create", &create_body("ab.example", "1", &[], STRONG), "").await;
    assert_eq!(code(&refused), 2304, "{refused}");
    assert!(refused.contains("reserved (spec5): Specification 5"), "{refused}");
    assert_eq!(code(&a.domain("create", &create_body("collision.example", "1", &[], STRONG), "").await), 2304);

    // The registry allocates a withheld name to a registrar; the reservation ends with it.
    let allocated = d.ok("POST", "/v1/domains", Some(json!({"name": "whois.example", "registrar": "demo-registrar"}))).await;
    assert_eq!(allocated["name"], "whois.example");
    assert_eq!(d.ok("GET", "/v1/tlds/example/reserved", None).await["names"].as_array().unwrap().len(), 3);
    // A blocked name the registry cannot register either, until the block ends.
    let (code_, body) = d.api("POST", "/v1/domains", Some(json!({"name": "collision.example", "registrar": "demo-registrar"}))).await;
    assert_eq!(code_, 409, "{body}");
    let (ok, out, err) = run(&["reserved", "remove", "example", "collision"]);
    assert!(ok && out.contains("\"released\": 1"), "{out}{err}");
    assert_eq!(code(&a.domain("create", &create_body("collision.example", "1", &[], STRONG), "").await), 1000);
    let (ok, out, _) = run(&["reserved", "list", "example", "--limit", "1"]);
    assert!(ok && out.contains("ab.example") && !out.contains("xy.example"), "{out}");
    seen.validate();
    d.stop().await;
}

/// The body of a one-year renewal of `name`, from its `info` response.
fn renew_for_a_year(name: &str, info: &str) -> String {
    let at = info.find("<domain:exDate>").unwrap() + "<domain:exDate>".len();
    format!(
        "<domain:name>{name}</domain:name><domain:curExpDate>{}</domain:curExpDate><domain:period unit=\"y\">1</domain:period>",
        &info[at..at + 10]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_premium_name_is_quoted_and_charged_the_same_and_its_fee_must_be_acknowledged() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let list = dir.path().join("premium.csv");
    std::fs::write(&list, "label,class,create,renew,transfer\ngold,premium,1000.00,500.00\nsilver,tier-2,100,80,60\n").unwrap();
    let (ok, out, err) = crate::cli::cli(&conf, &["premium", "import", "example", list.to_str().unwrap()]);
    assert!(ok && out.contains("\"priced\": 2"), "{out}{err}");
    let listed = d.ok("GET", "/v1/tlds/example/premium", None).await;
    assert_eq!(listed["names"][0]["name"], "gold.example", "{listed}");
    assert_eq!(listed["names"][0]["transfer"], "500.00", "transfer defaults to renew");

    d.ok("POST", "/v1/registrars/demo-registrar/funds", Some(json!({ "amount": "10000.00" }))).await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let balance = async || d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].as_str().unwrap().to_string();
    let fee_check = |command: &str, years: u32| {
        format!(
            r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="{command}"><fee:period unit="y">{years}</fee:period></fee:command></fee:check>"#
        )
    };
    let check =
        a.domain("check", "<domain:name>gold.example</domain:name><domain:name>plain.example</domain:name>", &fee_check("create", 2)).await;
    assert!(check.contains(r#"<fee:objID>gold.example</fee:objID><fee:class>premium</fee:class><fee:command name="create" standard="0"><fee:period unit="y">2</fee:period><fee:fee refundable="1" grace-period="P5D">2000.00</fee:fee>"#), "{check}");
    assert!(
        check.contains(r#"<fee:objID>plain.example</fee:objID><fee:class>standard</fee:class><fee:command name="create" standard="1">"#),
        "{check}"
    );

    // Without the fee, with a wrong one, then with the quoted one.
    let create = create_body("gold.example", "2", &[], STRONG);
    let refused = a.domain("create", &create, "").await;
    assert_eq!(code(&refused), 2003, "{refused}");
    assert!(refused.contains("premium name"), "{refused}");
    let fee = |amount: &str| {
        format!(
            r#"<fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:currency>USD</fee:currency><fee:fee>{amount}</fee:fee></fee:create>"#
        )
    };
    assert_eq!(code(&a.domain("create", &create, &fee("20.00")).await), 2004);
    let before = balance().await;
    let created = a.domain("create", &create, &fee("2000.00")).await;
    assert_eq!(code(&created), 1000, "{created}");
    let charged =
        |before: &str, after: &str| domain_os::model::Money::parse(before).unwrap().0 - domain_os::model::Money::parse(after).unwrap().0;
    assert_eq!(charged(&before, &balance().await), 200_000, "charged what was quoted");

    // A renewal of a premium name is quoted and charged at its renewal price.
    let check = a.domain("check", "<domain:name>gold.example</domain:name>", &fee_check("renew", 1)).await;
    assert!(check.contains(r#"<fee:command name="renew" standard="0"><fee:period unit="y">1</fee:period><fee:fee refundable="1" grace-period="P5D">500.00</fee:fee>"#), "{check}");
    let renew = renew_for_a_year("gold.example", &a.domain("info", "<domain:name>gold.example</domain:name>", "").await);
    let renew_fee = r#"<fee:renew xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:fee>500.00</fee:fee></fee:renew>"#;
    let before = balance().await;
    assert_eq!(code(&a.domain("renew", &renew, renew_fee).await), 1000);
    assert_eq!(charged(&before, &balance().await), 50_000);
    // A standard name keeps the standard price, without any fee extension.
    assert_eq!(code(&a.domain("create", &create_body("plain.example", "1", &[], STRONG), "").await), 1000);

    // Registered names keep the prices they were created at (grandfathered):
    // a new list reprices gold and makes plain premium, for new registrations only.
    std::fs::write(
        &list,
        "gold,premium,3000.00,900.00
plain,premium,700.00,700.00
silver,tier-2,100,80,60
",
    )
    .unwrap();
    let (ok, out, err) = crate::cli::cli(&conf, &["premium", "import", "example", list.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let check =
        a.domain("check", "<domain:name>gold.example</domain:name><domain:name>plain.example</domain:name>", &fee_check("renew", 1)).await;
    assert!(check.contains(r#"<fee:command name="renew" standard="0"><fee:period unit="y">1</fee:period><fee:fee refundable="1" grace-period="P5D">500.00</fee:fee>"#), "{check}");
    assert!(check.contains(r#"<fee:objID>plain.example</fee:objID><fee:class>standard</fee:class><fee:command name="renew" standard="1"><fee:period unit="y">1</fee:period><fee:fee refundable="1" grace-period="P5D">10.00</fee:fee>"#), "{check}");
    let renew = renew_for_a_year("gold.example", &a.domain("info", "<domain:name>gold.example</domain:name>", "").await);
    let before = balance().await;
    assert_eq!(code(&a.domain("renew", &renew, renew_fee).await), 1000, "renewed at the price it was created at");
    assert_eq!(charged(&before, &balance().await), 50_000);
    let check = a.domain("check", "<domain:name>silver.example</domain:name>", &fee_check("create", 1)).await;
    assert!(check.contains(">100.00</fee:fee>"), "an unregistered name at the list's price: {check}");
    // Back to standard prices.
    assert_eq!(d.ok("POST", "/v1/tlds/example/premium/remove", Some(json!({"names": ["silver"]}))).await["removed"], 1);
    let check = a.domain("check", "<domain:name>silver.example</domain:name>", &fee_check("create", 1)).await;
    assert!(check.contains("<fee:class>standard</fee:class>"), "{check}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_token_allocates_its_reserved_name_once_to_its_registrar_at_its_price() {
    let d = TestDaemon::demo().await;
    let withheld = json!({"names": ["gift"], "reason": "kept for a launch partner", "list": "operator"});
    d.ok("POST", "/v1/tlds/example/reserved", Some(withheld)).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = run(&["token", "issue", "example", "--name", "gift", "--registrar", "demo-registrar", "--create-price", "5.00"]);
    assert!(ok, "{out}{err}");
    let issued: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    assert_eq!((issued["uses_max"].as_u64(), issued["name"].as_str()), (Some(1), Some("gift.example")), "{issued}");

    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    let with = |t: &str| {
        format!(
            r#"<allocationToken:allocationToken xmlns:allocationToken="urn:ietf:params:xml:ns:allocationToken-1.0">{t}</allocationToken:allocationToken>"#
        )
    };
    let fee = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check>"#;
    let check = a.domain("check", "<domain:name>gift.example</domain:name>", &format!("{}{fee}", with(&token))).await;
    assert!(check.contains(r#"<domain:name avail="1">gift.example</domain:name>"#), "{check}");
    assert!(check.contains(r#"<fee:fee refundable="1" grace-period="P5D">5.00</fee:fee>"#), "the token's price: {check}");
    let without = a.domain("check", "<domain:name>gift.example</domain:name>", "").await;
    assert!(without.contains(r#"avail="0""#), "{without}");

    let create = create_body("gift.example", "1", &[], STRONG);
    assert_eq!(code(&a.domain("create", &create, "").await), 2304, "reserved without the token");
    let refused = b.domain("create", &create, &with(&token)).await;
    assert_eq!(code(&refused), 2201, "{refused}");
    assert!(refused.contains("not for registrar other-registrar"), "{refused}");
    let balance = async || {
        domain_os::model::Money::parse(d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].as_str().unwrap())
            .unwrap()
    };
    let before = balance().await;
    let created = a.domain("create", &create, &with(&token)).await;
    assert_eq!(code(&created), 1000, "{created}");
    assert_eq!(before.0 - balance().await.0, 500, "charged the token's price");
    assert!(d.ok("GET", "/v1/tlds/example/reserved", None).await["names"].as_array().unwrap().is_empty(), "allocated");
    // Single use.
    let again = a.domain("create", &create_body("gift2.example", "1", &[], STRONG), &with(&token)).await;
    assert_eq!(code(&again), 2201, "{again}");
    assert_eq!(code(&a.domain("create", &create_body("x.example", "1", &[], STRONG), &with("not-a-token-we-issued")).await), 2201);

    // A token of many uses for any name, here a discount on a premium name; revoked, it allows nothing.
    d.ok("POST", "/v1/tlds/example/premium", Some(json!({"names": [{"name": "gold", "create": "1000.00", "renew": "1000.00"}]}))).await;
    let many = d.ok("POST", "/v1/tlds/example/tokens", Some(json!({"uses": 10, "create_price": "10.00"}))).await;
    let many = many["token"].as_str().unwrap().to_string();
    let before = balance().await;
    assert_eq!(code(&a.domain("create", &create_body("gold.example", "1", &[], STRONG), &with(&many)).await), 1000);
    assert_eq!(before.0 - balance().await.0, 1000);
    let (ok, out, err) = run(&["token", "revoke", &many]);
    assert!(ok, "{out}{err}");
    let revoked = a.domain("create", &create_body("another.example", "1", &[], STRONG), &with(&many)).await;
    assert!(code(&revoked) == 2201 && revoked.contains("revoked"), "{revoked}");
    let listed = d.ok("GET", "/v1/tlds/example/tokens", None).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 2, "{listed}");
    seen.validate();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_accredited_in_another_currency_is_quoted_and_charged_in_it_at_the_tlds_rate() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = run(&["registrar", "accredit", "demo-registrar", "example", "--currency", "EUR"]);
    assert!(!ok && err.contains("does not take EUR"), "{out}{err}");
    let (ok, out, err) = run(&["tld", "update", "example", "--set", r#"exchange_rates={"EUR":"0.9"}"#]);
    assert!(ok && out.contains(r#""EUR": "0.9""#), "{out}{err}");
    let (ok, out, err) = run(&["registrar", "accredit", "demo-registrar", "example", "--currency", "EUR"]);
    assert!(ok && out.contains(r#""currency": "EUR""#), "{out}{err}");
    let (ok, out, err) = run(&["registrar", "fund", "demo-registrar", "100.00", "--currency", "EUR"]);
    assert!(ok, "{out}{err}");

    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let fee_check = |currency: &str| {
        format!(
            r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0">{currency}<fee:command name="create"><fee:period unit="y">1</fee:period></fee:command></fee:check>"#
        )
    };
    let names = "<domain:name>euro.example</domain:name>";
    // Without a currency: the one it pays in; with one the TLD takes: that one.
    let check = a.domain("check", names, &fee_check("")).await;
    assert!(check.contains("<fee:currency>EUR</fee:currency>") && check.contains(">9.00</fee:fee>"), "{check}");
    let check = a.domain("check", names, &fee_check("<fee:currency>USD</fee:currency>")).await;
    assert!(check.contains("<fee:currency>USD</fee:currency>") && check.contains(">10.00</fee:fee>"), "{check}");
    let check = a.domain("check", names, &fee_check("<fee:currency>GBP</fee:currency>")).await;
    assert!(
        check.contains(r#"<fee:cd avail="0"><fee:objID>euro.example</fee:objID><fee:reason>not priced in GBP</fee:reason>"#),
        "{check}"
    );

    let fee = |currency: &str, amount: &str| {
        format!(
            r#"<fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:currency>{currency}</fee:currency><fee:fee>{amount}</fee:fee></fee:create>"#
        )
    };
    let create = create_body("euro.example", "1", &[], STRONG);
    let refused = a.domain("create", &create, &fee("USD", "10.00")).await;
    assert_eq!(code(&refused), 2306, "it pays in EUR: {refused}");
    let created = a.domain("create", &create, &fee("EUR", "9.00")).await;
    assert_eq!(code(&created), 1000, "{created}");
    assert!(
        created.contains(
            "<fee:currency>EUR</fee:currency><fee:period unit=\"y\">1</fee:period><fee:fee>9.00</fee:fee><fee:balance>91.00</fee:balance>"
        ),
        "{created}"
    );
    let registrar = d.ok("GET", "/v1/registrars/demo-registrar", None).await;
    let eur = registrar["accounts"].as_array().unwrap().iter().find(|a| a["currency"] == "EUR").cloned().unwrap();
    assert_eq!(eur["balance"], "91.00", "{registrar}");
    // In add grace the delete credits the EUR it paid.
    let deleted = a.domain("delete", "<domain:name>euro.example</domain:name>", "").await;
    assert!(deleted.contains("<fee:currency>EUR</fee:currency><fee:credit>-9.00</fee:credit>"), "{deleted}");
    // Two years priced as a whole (15.00 USD, not 2 × 10.00) are 13.50 EUR, quoted and charged.
    let periods = r#"period_prices=[{"command":"create","years":2,"amount":"15.00"}]"#;
    let (ok, out, err) = run(&["tld", "update", "example", "--set", periods]);
    assert!(ok, "{out}{err}");
    let two_years = fee_check("").replace(r#"unit="y">1<"#, r#"unit="y">2<"#);
    let check = a.domain("check", "<domain:name>euros.example</domain:name>", &two_years).await;
    assert!(check.contains(r#"<fee:period unit="y">2</fee:period><fee:fee refundable="1" grace-period="P5D">13.50</fee:fee>"#), "{check}");
    let created = a.domain("create", &create_body("euros.example", "2", &[], STRONG), &fee("EUR", "13.50")).await;
    assert!(created.contains("<fee:fee>13.50</fee:fee><fee:balance>86.50</fee:balance>"), "{created}");
    // The TLD cannot stop taking EUR while the registrar pays in it.
    let (ok, out, err) = run(&["tld", "update", "example", "--set", "exchange_rates={}"]);
    assert!(!ok && err.contains("pays .example in EUR"), "{out}{err}");
    // A decimal `--set` value is an amount of money.
    let (ok, out, err) = run(&["tld", "update", "example", "--set", "renew_price=11.50"]);
    assert!(ok && out.contains(r#""renew_price": "11.50""#), "{out}{err}");
    seen.validate();
    d.stop().await;
}
