//! A TLD's launch timeline on the manual clock: closed before it begins, a
//! landrush phase whose creates must name it and pay its price, general
//! availability after it, and the rules of the timeline itself (no phase in
//! the past, none overlapping, none changed once begun).

use domain_os::model::{ManualClock, Money, Timestamp};
use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_follow_the_phase_the_clock_is_in() {
    let clock = ManualClock::new(at("2026-11-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = run(&[
        "tld",
        "phase",
        "add",
        "example",
        "--kind",
        "landrush",
        "--starts",
        "2026-11-10T00:00:00Z",
        "--ends",
        "2026-11-20T00:00:00Z",
        "--create-price",
        "100.00",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&["tld", "phase", "add", "example", "--kind", "open", "--starts", "2026-11-20T00:00:00Z"]);
    assert!(ok, "{out}{err}");
    // The timeline's own rules.
    let overlapping = json!({"kind": "closed", "starts": "2026-11-15T00:00:00Z", "ends": "2026-11-16T00:00:00Z"});
    let (code_, body) = d.api("POST", "/v1/tlds/example/phases", Some(overlapping)).await;
    assert!(code_ == 422 && body.to_string().contains("overlaps"), "{body}");
    let (code_, _) = d
        .api(
            "POST",
            "/v1/tlds/example/phases",
            Some(json!({"kind": "closed", "starts": "2026-10-01T00:00:00Z", "ends": "2026-10-02T00:00:00Z"})),
        )
        .await;
    assert_eq!(code_, 422, "not in the past");

    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let landrush =
        r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>landrush</launch:phase></launch:create>"#;
    let balance = async || {
        Money::parse(d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].as_str().unwrap()).unwrap()
    };
    d.ok("POST", "/v1/registrars/demo-registrar/funds", Some(json!({ "amount": "1000.00" }))).await;

    // Before the timeline begins, the TLD is closed to registrars (the registry still creates).
    assert_eq!(d.ok("GET", "/v1/tlds/example/phases", None).await["now"], "closed");
    let checked = a.domain("check", "<domain:name>early.example</domain:name>", "").await;
    assert!(checked.contains(r#"avail="0">early.example</domain:name><domain:reason>no registrations now"#), "{checked}");
    let refused = a.domain("create", &create_body("early.example", "1", &[], STRONG), "").await;
    assert!(code(&refused) == 2306 && refused.contains("takes no registrations now"), "{refused}");
    d.ok("POST", "/v1/domains", Some(json!({"name": "registry-own.example", "registrar": "demo-registrar"}))).await;

    // Landrush: a create names the phase and pays its price; the quote says so too.
    clock.set(at("2026-11-12T00:00:00Z"));
    assert_eq!(d.ok("GET", "/v1/tlds/example/phases", None).await["now"], "landrush");
    let unnamed = a.domain("create", &create_body("rush.example", "1", &[], STRONG), "").await;
    assert!(code(&unnamed) == 2306 && unnamed.contains("landrush phase"), "{unnamed}");
    let fee = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check>"#;
    let quote = a.domain("check", "<domain:name>rush.example</domain:name>", fee).await;
    assert!(quote.contains(">100.00</fee:fee>") && quote.contains(r#"avail="1""#), "{quote}");
    let before = balance().await;
    let created = a.domain("create", &create_body("rush.example", "1", &[], STRONG), landrush).await;
    assert_eq!(code(&created), 1000, "{created}");
    assert_eq!(before.0 - balance().await.0, 10_000, "the landrush price");
    let mark = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>sunrise</launch:phase><launch:codeMark><launch:code>x</launch:code></launch:codeMark></launch:create>"#;
    assert_eq!(code(&a.domain("create", &create_body("mark.example", "1", &[], STRONG), mark).await), 2102, "code marks are not taken");
    // A phase that has begun cannot be removed.
    let (code_, _) = d.api("DELETE", "/v1/tlds/example/phases/2026-11-10T00:00:00Z", None).await;
    assert_eq!(code_, 409);

    // General availability: no phase to name, the standard price.
    clock.set(at("2026-11-20T00:00:00Z"));
    let before = balance().await;
    assert_eq!(code(&a.domain("create", &create_body("ga.example", "1", &[], STRONG), "").await), 1000);
    assert_eq!(before.0 - balance().await.0, 1_000);
    assert_eq!(code(&a.domain("create", &create_body("late.example", "1", &[], STRONG), landrush).await), 2306, "landrush is over");
    let (ok, out, _) = run(&["tld", "phase", "list", "example"]);
    assert!(ok && out.contains("\"now\": \"open\""), "{out}");
    seen.validate();
    d.stop().await;
}

/// Early access: a phase whose create price declines day by day; the quote
/// and the charge follow the clock's day of the phase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_access_price_declines_day_by_day() {
    let clock = ManualClock::new(at("2026-11-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |_, _| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = run(&[
        "tld",
        "phase",
        "add",
        "example",
        "--kind",
        "custom",
        "--name",
        "early-access",
        "--starts",
        "2026-11-10T00:00:00Z",
        "--ends",
        "2026-11-20T00:00:00Z",
        "--daily-create-prices",
        "500.00,250.00,100.00",
        "--label-lengths",
        "1-6",
    ]);
    assert!(ok, "{out}{err}");
    let rising = json!({"kind": "open", "starts": "2026-11-20T00:00:00Z", "daily_create_prices": ["1.00", "2.00"]});
    let (code_, body) = d.api("POST", "/v1/tlds/example/phases", Some(rising)).await;
    assert!(code_ == 422 && body.to_string().contains("decline"), "{body}");
    let both = json!({"kind": "open", "starts": "2026-11-20T00:00:00Z", "create_price": "1.00", "daily_create_prices": ["1.00"]});
    assert_eq!(d.api("POST", "/v1/tlds/example/phases", Some(both)).await.0, 422);

    d.ok("POST", "/v1/registrars/demo-registrar/funds", Some(json!({ "amount": "2000.00" }))).await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let early = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase name="early-access">custom</launch:phase></launch:create>"#;
    let fee = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check>"#;
    let balance = async || {
        Money::parse(d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].as_str().unwrap()).unwrap()
    };
    for (day, (when, price)) in
        [("2026-11-10T12:00:00Z", "500.00"), ("2026-11-11T00:00:00Z", "250.00"), ("2026-11-19T23:00:00Z", "100.00")].into_iter().enumerate()
    {
        clock.set(at(when));
        let name = format!("early{day}.example");
        let quote = a.domain("check", &format!("<domain:name>{name}</domain:name>"), fee).await;
        assert!(quote.contains(&format!(">{price}</fee:fee>")), "{when}: {quote}");
        let before = balance().await;
        let acknowledged =
            format!(r#"{early}<fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:fee>{price}</fee:fee></fee:create>"#);
        let created = a.domain("create", &create_body(&name, "1", &[], STRONG), &acknowledged).await;
        assert_eq!(code(&created), 1000, "{when}: {created}");
        assert_eq!((before.0 - balance().await.0).to_string(), Money::parse(price).unwrap().0.to_string(), "{when}: charged as quoted");
    }
    let long = format!(r#"{early}<fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:fee>100.00</fee:fee></fee:create>"#);
    let refused = a.domain("create", &create_body("sevenxx.example", "1", &[], STRONG), &long).await;
    assert!(code(&refused) == 2306 && refused.contains("labels of 1 to 6 characters"), "{refused}");
    let listed = d.ok("GET", "/v1/tlds/example/phases", None).await;
    assert_eq!(listed["phases"][0]["create_price_today"], "100.00", "{listed}");
    assert_eq!(listed["phases"][0]["label_lengths"], json!([1, 6]), "{listed}");
    let bad = json!({"kind": "open", "starts": "2026-11-20T00:00:00Z", "label_lengths": [0, 3]});
    let (code_, body) = d.api("POST", "/v1/tlds/example/phases", Some(bad)).await;
    assert!(code_ == 422 && body.to_string().contains("label lengths"), "{body}");
    seen.validate();
    d.stop().await;
}

/// A phase's own terms: named fees beside the price (fee-1.0 `description`,
/// `refundable`) quoted, agreed to and charged as one sum, refunded in the
/// grace period only where refundable; its own add grace period and
/// longest registration; and the TLD's terms once it is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_has_named_fees_and_terms_of_its_own() {
    let clock = ManualClock::new(at("2026-11-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |_, _| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let dates = "tld phase add example --kind landrush --starts 2026-11-10T00:00:00Z --ends 2026-11-20T00:00:00Z";
    let mut landrush: Vec<&str> = dates.split(' ').collect();
    landrush.extend(["--fee", "create:30.00:Landrush fee", "--refundable-fee", "create:2.00:Registry fee"]);
    landrush.extend(["--set", "years_max=1", "--set", "add_grace_s=86400"]);
    let (ok, out, err) = run(&landrush);
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"Landrush fee\""), "{out}");
    let (ok, out, err) = run(&["tld", "phase", "add", "example", "--kind", "open", "--starts", "2026-11-20T00:00:00Z"]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) =
        run(&["tld", "phase", "add", "example", "--kind", "closed", "--starts", "2027-01-01T00:00:00Z", "--fee", "create:x"]);
    assert!(!ok && err.contains("COMMAND:AMOUNT:DESCRIPTION"), "{err}");
    let typo = json!({"kind": "closed", "starts": "2027-01-01T00:00:00Z", "renew_prise": "1.00"});
    let (code_, body) = d.api("POST", "/v1/tlds/example/phases", Some(typo)).await;
    assert!(code_ == 422 && body.to_string().contains("renew_prise"), "{body}");
    let transfer_fee = json!({"kind": "closed", "starts": "2027-01-01T00:00:00Z",
        "fees": [{"command": "transfer", "description": "x", "amount": "1.00"}]});
    assert_eq!(d.api("POST", "/v1/tlds/example/phases", Some(transfer_fee)).await.0, 422, "transfers have no named fees");

    d.ok("POST", "/v1/registrars/demo-registrar/funds", Some(json!({ "amount": "1000.00" }))).await;
    let balance = async || {
        Money::parse(d.ok("GET", "/v1/registrars/demo-registrar", None).await["accounts"][0]["balance"].as_str().unwrap()).unwrap()
    };
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    clock.set(at("2026-11-12T00:00:00Z"));
    let check = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check>"#;
    let quote = a.domain("check", "<domain:name>rush.example</domain:name>", check).await;
    for part in [
        r#"<fee:command name="create" standard="0">"#,
        r#"<fee:fee refundable="1" grace-period="P1D">10.00</fee:fee>"#,
        r#"<fee:fee description="Landrush fee" refundable="0">30.00</fee:fee>"#,
        r#"<fee:fee description="Registry fee" refundable="1" grace-period="P1D">2.00</fee:fee>"#,
    ] {
        assert!(quote.contains(part), "{part} in {quote}");
    }
    let agreeing = |fees: &str| {
        format!(
            r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>landrush</launch:phase></launch:create><fee:create xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0">{fees}</fee:create>"#
        )
    };
    let short = a.domain("create", &create_body("rush.example", "1", &[], STRONG), &agreeing("<fee:fee>10.00</fee:fee>")).await;
    assert!(code(&short) == 2004 && short.contains("42.00"), "the price alone is not the fee: {short}");
    let long = a.domain("create", &create_body("rush.example", "2", &[], STRONG), &agreeing("<fee:fee>52.00</fee:fee>")).await;
    assert!(code(&long) == 2004 && long.contains("1 to 1 years"), "{long}");
    let before = balance().await;
    let parts = "<fee:fee>10.00</fee:fee><fee:fee>30.00</fee:fee><fee:fee>2.00</fee:fee>";
    let created = a.domain("create", &create_body("rush.example", "1", &[], STRONG), &agreeing(parts)).await;
    assert!(code(&created) == 1000 && created.contains("<fee:fee>42.00</fee:fee>"), "{created}");
    assert_eq!(before.0 - balance().await.0, 4_200);
    // Deleted in its (one-day) add grace period: all but the landrush fee comes back.
    let deleted = a.domain("delete", "<domain:name>rush.example</domain:name>", "").await;
    assert!(code(&deleted) == 1000 && deleted.contains("<fee:credit>-12.00</fee:credit>"), "{deleted}");
    assert_eq!(before.0 - balance().await.0, 3_000);
    // After a day there is no refund.
    let created = a.domain("create", &create_body("kept.example", "1", &[], STRONG), &agreeing("<fee:fee>42.00</fee:fee>")).await;
    assert_eq!(code(&created), 1000, "{created}");
    clock.set(at("2026-11-13T00:00:01Z"));
    let deleted = a.domain("delete", "<domain:name>kept.example</domain:name>", "").await;
    assert!(code(&deleted) == 1001 && !deleted.contains("fee:credit"), "{deleted}");

    // General availability: the TLD's price alone, and its ten years.
    clock.set(at("2026-11-20T00:00:00Z"));
    let quote = a.domain("check", "<domain:name>ga.example</domain:name>", check).await;
    assert!(quote.contains(r#"standard="1""#) && !quote.contains("description="), "{quote}");
    assert_eq!(code(&a.domain("create", &create_body("ga.example", "10", &[], STRONG), "").await), 1000);
    seen.validate();
    d.stop().await;
}
