//! RDAP against the demo registry over HTTP and HTTPS: the RST v2 cases
//! (rdap-01…10 lookups, HEAD and 404s, rdap-91 TLS versions, rdap-92 port
//! consistency), searches, redaction, IDN, bad input, rate limits, slow
//! clients and query counting. Every answer is judged by ICANN's RDAP
//! library (icann-rdap-common's RFC 9083 and gTLD-profile checks) besides
//! the profile rules asserted here.

use std::net::SocketAddr;
use std::time::Duration;

use icann_rdap_common::check::{Check, CheckParams, ERROR_CHECK_CLASSES, GetChecks, traverse_checks};
use icann_rdap_common::httpdata::HttpData;
use icann_rdap_common::response::RdapResponse;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

pub struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn fetch(client: &reqwest::Client, method: reqwest::Method, url: &str) -> Answer {
    let r = client.request(method, url).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    Answer { status, headers, body: r.text().await.unwrap() }
}

pub async fn get(d: &TestDaemon, path: &str) -> Answer {
    fetch(d.http(), reqwest::Method::GET, &format!("{}{path}", d.rdap())).await
}

/// Errors ICANN's checks find in a response (RFC 9083 and the gTLD profile), with the HTTP facts when given.
fn check_errors(body: &Value, http: Option<HttpData>) -> Vec<String> {
    let rdap = RdapResponse::try_from(body.clone()).unwrap_or_else(|e| panic!("not RDAP: {e}: {body}"));
    let mut found = Vec::new();
    let mut collect = |tree: &str, item: &icann_rdap_common::check::CheckItem| {
        // The library takes an entity nested in an entity response for the root
        // (same type) and asks it for rdapConformance; RFC 9083 §4.1 puts that
        // member on the top-level object only, which the root check covers.
        if item.check == Check::RdapConformanceMissing && tree.contains("/[") {
            return;
        }
        found.push(format!("{tree}: {item}"));
    };
    traverse_checks(&rdap.get_checks(None, CheckParams::for_rdap(&rdap)), ERROR_CHECK_CLASSES, None, &mut collect);
    if let Some(h) = http {
        traverse_checks(&h.get_checks(None, CheckParams::for_rdap(&rdap)), ERROR_CHECK_CLASSES, None, &mut collect);
    }
    found
}

/// A successful RDAP answer: status, media type, CORS, and no check errors.
pub fn assert_rdap(a: &Answer, status: u16) -> Value {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.header("content-type"), "application/rdap+json");
    assert_eq!(a.header("access-control-allow-origin"), "*");
    let body = a.json();
    let errors = check_errors(&body, None);
    assert!(errors.is_empty(), "{errors:#?}\n{body:#}");
    if status >= 400 {
        assert_eq!(body["errorCode"], status, "{body}");
    }
    body
}

fn titles(body: &Value) -> Vec<String> {
    body["notices"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap().to_string()).collect()
}

fn event(body: &Value, action: &str) -> bool {
    body["events"].as_array().is_some_and(|e| e.iter().any(|e| e["eventAction"] == action))
}

fn conformance(body: &Value) -> Vec<&str> {
    body["rdapConformance"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_follow_the_gtld_profile_rst_rdap_01_to_04() {
    let d = TestDaemon::demo().await;
    // rdap-01: a domain.
    let domain = assert_rdap(&get(&d, "domain/hello.example").await, 200);
    for tag in ["rdap_level_0", "icann_rdap_response_profile_1", "icann_rdap_technical_implementation_guide_1", "redacted"] {
        assert!(conformance(&domain).contains(&tag), "{tag}");
    }
    assert_eq!(domain["ldhName"], "hello.example");
    assert!(domain["handle"].as_str().unwrap().ends_with("-DOS"));
    assert_eq!(titles(&domain), ["Terms of Service", "Status Codes", "RDDS Inaccuracy Complaint Form"]);
    let tos = &domain["notices"][0]["links"][0];
    assert_eq!(tos["rel"], "terms-of-service");
    assert_eq!(tos["value"], format!("{}domain/hello.example", d.rdap()));
    assert_eq!(domain["notices"][1]["links"][0]["href"], "https://icann.org/epp");
    assert_eq!(domain["notices"][2]["links"][0]["href"], "https://icann.org/wicf");
    for action in ["registration", "expiration", "last update of RDAP database"] {
        assert!(event(&domain, action), "{action}");
    }
    assert_eq!(domain["status"], json!(["active"]));
    assert_eq!(domain["secureDNS"]["delegationSigned"], true);
    assert_eq!(domain["secureDNS"]["dsData"][0]["keyTag"], 12345);
    let unsigned = assert_rdap(&get(&d, "domain/parked.example").await, 200);
    assert_eq!(unsigned["secureDNS"], json!({"zoneSigned": false, "delegationSigned": false}), "no empty dsData");
    assert_eq!(domain["nameservers"][0]["ldhName"], "ns1.hello.example");
    let links = domain["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["rel"] == "self") && links.iter().any(|l| l["rel"] == "related"));
    assert!(links.iter().all(|l| l["value"].is_string() && l["rel"].is_string()));
    // Exactly one registrar entity, with IANA id, about link and abuse contact.
    let entities = domain["entities"].as_array().unwrap();
    let registrars: Vec<&Value> = entities.iter().filter(|e| e["roles"] == json!(["registrar"])).collect();
    assert_eq!(registrars.len(), 1);
    let registrar = registrars[0];
    assert_eq!(registrar["handle"], "9999");
    assert_eq!(registrar["publicIds"], json!([{ "type": "IANA Registrar ID", "identifier": "9999" }]));
    // RDAP profile 2.4.6: the about link's value is the registrar's RDAP base URL, its href the registrar's site.
    let about = registrar["links"].as_array().unwrap().iter().find(|l| l["rel"] == "about").unwrap();
    assert_eq!(
        (about["value"].as_str(), about["href"].as_str()),
        (Some("https://rdap.demo-registrar.demo.example/"), Some("https://demo-registrar.demo.example"))
    );
    let abuse = &registrar["entities"][0];
    assert_eq!(abuse["roles"], json!(["abuse"]));
    let abuse_vcard = abuse["vcardArray"][1].to_string();
    assert!(abuse_vcard.contains("\"tel\"") && abuse_vcard.contains("\"email\""));

    // Redaction: the registrant withheld everything, the technical contact published name and email.
    let registrant = entities.iter().find(|e| e["roles"] == json!(["registrant"])).unwrap();
    assert!(registrant.get("handle").is_none());
    assert_eq!(registrant["vcardArray"][1][1], json!(["fn", {}, "text", ""]));
    assert!(!registrant.to_string().contains("Alex") && !registrant.to_string().contains("Private Lane"));
    let tech = entities.iter().find(|e| e["roles"] == json!(["technical"])).unwrap();
    assert!(tech.to_string().contains("Terry Tech") && tech.to_string().contains("demo-tech@people.demo.example"));
    let redacted: Vec<(&str, &str)> = domain["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"]["type"].as_str().unwrap(), r["method"].as_str().unwrap()))
        .collect();
    for expected in [
        ("Registry Registrant ID", "removal"),
        ("Registrant Name", "emptyValue"),
        ("Registrant Organization", "removal"),
        ("Registrant Street", "emptyValue"),
        ("Registrant City", "emptyValue"),
        ("Registrant Postal Code", "emptyValue"),
        ("Registrant Phone", "removal"),
        ("Registrant Email", "removal"),
        ("Registry Tech ID", "removal"),
        ("Tech Phone", "removal"),
    ] {
        assert!(redacted.contains(&expected), "{expected:?} in {redacted:?}");
    }
    assert!(!redacted.iter().any(|(n, _)| *n == "Tech Name" || *n == "Tech Email"), "disclosed, so not redacted");

    // rdap-02: a name server.
    let ns = assert_rdap(&get(&d, "nameserver/ns1.hello.example").await, 200);
    assert_eq!(ns["ldhName"], "ns1.hello.example");
    assert_eq!(ns["ipAddresses"], json!({ "v4": ["192.0.2.1"], "v6": ["2001:db8::1"] }));
    assert!(ns["status"].as_array().unwrap().contains(&json!("associated")));
    assert!(event(&ns, "last update of RDAP database"));
    assert_eq!(titles(&ns), ["Terms of Service"]);

    // rdap-03: a registrar by IANA id.
    let entity = assert_rdap(&get(&d, "entity/9999").await, 200);
    assert_eq!(entity["roles"], json!(["registrar"]));
    assert_eq!(entity["publicIds"][0]["identifier"], "9999");
    assert!(entity["vcardArray"][1].to_string().contains("Demo City"));
    assert!(event(&entity, "last update of RDAP database"));
    // A contact by handle shows only what it disclosed.
    let contact = assert_rdap(&get(&d, "entity/demo-owner").await, 200);
    assert!(!contact.to_string().contains("Alex"), "{contact}");

    // rdap-04: help.
    let help = assert_rdap(&get(&d, "help").await, 200);
    assert!(help["notices"].to_string().contains("domain/<name>"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_like_get_without_a_body_rst_rdap_05_to_07() {
    let d = TestDaemon::demo().await;
    for path in ["domain/hello.example", "nameserver/ns1.hello.example", "entity/9999", "domain/nothere.example"] {
        let url = format!("{}{path}", d.rdap());
        let got = fetch(d.http(), reqwest::Method::GET, &url).await;
        let head = fetch(d.http(), reqwest::Method::HEAD, &url).await;
        assert_eq!(head.status, got.status, "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.header("content-type"), "application/rdap+json");
        assert_eq!(head.header("access-control-allow-origin"), "*");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_objects_are_404_rst_rdap_08_to_10() {
    let d = TestDaemon::demo().await;
    for path in ["domain/q7x2k9v4.example", "nameserver/ns1.q7x2k9v4.example", "entity/123456", "entity/nobody-here", "domain/hello.other"]
    {
        let body = assert_rdap(&get(&d, path).await, 404);
        assert_eq!(titles(&body), ["Terms of Service"], "{path}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_follow_every_commit() {
    // Name servers and registrars are decoded and rendered once per snapshot: a change must show at once.
    let d = TestDaemon::demo().await;
    let ns1 = |body: &Value| body["nameservers"][0]["ipAddresses"]["v4"].clone();
    for _ in 0..3 {
        assert_eq!(ns1(&assert_rdap(&get(&d, "domain/hello.example").await, 200)), json!(["192.0.2.1"]));
    }
    d.ok("PATCH", "/v1/hosts/ns1.hello.example", Some(json!({"add_addresses": ["192.0.2.77"]}))).await;
    assert_eq!(ns1(&assert_rdap(&get(&d, "domain/hello.example").await, 200)), json!(["192.0.2.1", "192.0.2.77"]));
    d.ok("PATCH", "/v1/registrars/demo-registrar", Some(json!({"name": "Renamed Registrar"}))).await;
    let domain = assert_rdap(&get(&d, "domain/hello.example").await, 200);
    assert_eq!(domain["entities"][0]["vcardArray"][1][1][3], "Renamed Registrar");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_rdap_error_bodies() {
    let d = TestDaemon::demo().await;
    let long = format!("domain/{}.example", "a".repeat(3000));
    for (path, status) in [
        ("domain/bad_name.example", 400),
        ("domain/-leading.example", 400),
        (long.as_str(), 400),
        ("nameserver/a..b", 400),
        ("entity/%00%01", 400),
        ("domain/%FF%FE.example", 400),
        ("nameserver/%C3", 400),
        ("entity/%80", 400),
        ("ip/192.0.2.1", 501),
        ("autnum/64496", 501),
        ("no/such/query", 400),
        ("domains", 400),
        ("domains?name=*", 422),
        ("domains?name=h*llo.example", 422),
        ("domains?name=hello.example&nsIp=192.0.2.1", 400),
        ("domains?nsIp=256.1.1.1", 400),
        ("domains?nsIp=::X", 400),
        ("nameservers?name=ns*", 422),
        ("entities?fn=*", 422),
    ] {
        let answer = get(&d, path).await;
        assert_rdap(&answer, status);
    }
    let post = d.http().post(format!("{}domain/hello.example", d.rdap())).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["access-control-allow-origin"], "*");
    assert_eq!(post.headers()["allow"], "GET, HEAD, OPTIONS", "RFC 9110 §15.5.6");
    // A browser's CORS preflight is allowed from any origin.
    let preflight = d
        .http()
        .request(reqwest::Method::OPTIONS, format!("{}domain/hello.example", d.rdap()))
        .header("origin", "https://client.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "accept")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(
        (&h["access-control-allow-origin"], &h["access-control-allow-methods"]),
        (&"*".parse().unwrap(), &"GET, HEAD, OPTIONS".parse().unwrap())
    );
    assert_eq!(h["access-control-allow-headers"], "accept");
    // The service is fine afterwards.
    assert_rdap(&get(&d, "domain/hello.example").await, 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_take_trailing_wildcards_and_never_reveal_withheld_data() {
    let d = TestDaemon::start(true, |c, _| c.rdap.search_results_max = 1).await;
    let names = |body: &Value, key: &str, field: &str| -> Vec<String> {
        body[key].as_array().unwrap().iter().map(|o| o[field].as_str().unwrap_or_default().to_string()).collect()
    };
    let truncated = |body: &Value| body["notices"].to_string().contains("result set truncated");
    let r = assert_rdap(&get(&d, "domains?name=hell*.example").await, 200);
    assert_eq!(names(&r, "domainSearchResults", "ldhName"), ["hello.example"]);
    assert!(!truncated(&r));
    let r = assert_rdap(&get(&d, "domains?name=hel*").await, 200);
    assert_eq!(names(&r, "domainSearchResults", "ldhName"), ["held.example"], "held and hello match; one is shown");
    assert!(truncated(&r));
    let r = assert_rdap(&get(&d, "domains?name=HELLO.example").await, 200);
    assert_eq!(names(&r, "domainSearchResults", "ldhName"), ["hello.example"]);
    // Two domains use ns1.example.net; one result allowed: truncated, and said so.
    let r = assert_rdap(&get(&d, "domains?nsLdhName=ns1.example.net").await, 200);
    assert_eq!(r["domainSearchResults"].as_array().unwrap().len(), 1);
    assert!(truncated(&r));
    let r = assert_rdap(&get(&d, "domains?nsIp=192.0.2.1").await, 200);
    assert_eq!(names(&r, "domainSearchResults", "ldhName"), ["hello.example"]);
    let r = assert_rdap(&get(&d, "nameservers?ip=192.0.2.2").await, 200);
    assert_eq!(names(&r, "nameserverSearchResults", "ldhName"), ["ns2.hello.example"]);
    let r = assert_rdap(&get(&d, "nameservers?name=ns*.hello.example").await, 200);
    assert_eq!(names(&r, "nameserverSearchResults", "ldhName"), ["ns1.hello.example"]);
    assert!(truncated(&r));
    let r = assert_rdap(&get(&d, "entities?fn=Demo%20Reg*").await, 200);
    assert_eq!(names(&r, "entitySearchResults", "handle"), ["9999"]);
    let r = assert_rdap(&get(&d, "entities?handle=demo-te*").await, 200);
    assert_eq!(names(&r, "entitySearchResults", "handle"), ["demo-tech"]);
    // Contact handles keep their case (RFC 5730): a search finds what a lookup finds.
    d.ok("POST", "/v1/contacts", Some(json!({"id": "ABC-1", "registrar": "demo-registrar", "email": "abc@people.demo.example"}))).await;
    assert_rdap(&get(&d, "entity/ABC-1").await, 200);
    for query in ["entities?handle=ABC-1", "entities?handle=ABC*"] {
        let r = assert_rdap(&get(&d, query).await, 200);
        assert_eq!(names(&r, "entitySearchResults", "handle"), ["ABC-1"], "{query}");
    }
    let r = assert_rdap(&get(&d, "entities?fn=Terry*").await, 200);
    assert_eq!(names(&r, "entitySearchResults", "handle"), ["demo-tech"], "a disclosed name is searchable");
    let r = assert_rdap(&get(&d, "entities?fn=Alex*").await, 200);
    assert!(r["entitySearchResults"].as_array().unwrap().is_empty(), "a withheld name is not: {r}");
    d.stop().await;

    let d = TestDaemon::start(true, |c, _| c.rdap.searches = false).await;
    assert_rdap(&get(&d, "domains?name=hel*.example").await, 501);
    assert_rdap(&get(&d, "domain/hello.example").await, 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disclosed_fax_shows_with_its_extension_and_the_withheld_voice_is_named_exactly() {
    let d = TestDaemon::demo().await;
    let contact = json!({
        "id": "fax-only", "registrar": "demo-registrar", "email": "fax@people.demo.example",
        "voice": {"number": "+1.5555550100", "ext": "12"}, "fax": {"number": "+1.5555550199", "ext": "7"},
        "disclose": {"flag": true, "fields": ["fax"]}
    });
    d.ok("POST", "/v1/contacts", Some(contact)).await;
    d.ok("POST", "/v1/domains", Some(json!({"name": "fax.example", "registrar": "demo-registrar", "registrant": "fax-only"}))).await;
    let domain = assert_rdap(&get(&d, "domain/fax.example").await, 200);
    let registrant = domain["entities"].as_array().unwrap().iter().find(|e| e["roles"] == json!(["registrant"])).unwrap();
    let tels: Vec<&Value> = registrant["vcardArray"][1].as_array().unwrap().iter().filter(|p| p[0] == "tel").collect();
    assert_eq!(tels, [&json!(["tel", {"type": ["fax"]}, "uri", "tel:+1.5555550199;ext=7"])], "RFC 3966 extension");
    let phone = domain["redacted"].as_array().unwrap().iter().find(|r| r["name"]["type"] == "Registrant Phone").unwrap();
    let path = phone["prePath"].as_str().unwrap();
    assert_eq!(path, "$.entities[?(@.roles[0]=='registrant')].vcardArray[1][?(@[0]=='tel' && @[1].type[0]=='voice')]");
    assert!(!domain["redacted"].to_string().contains("Registrant Fax"), "the fax was disclosed");
    // WHOIS withholds and shows the same fields.
    let addr = d.whois();
    let (ok, whois, err) = tool("whois", &["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "fax.example"]);
    assert!(ok, "{err}");
    let whois = whois.replace('\r', "");
    assert!(whois.contains("Registrant Fax: +1.5555550199\nRegistrant Fax Ext: 7\n"), "{whois}");
    assert!(whois.contains("Registrant Phone: REDACTED FOR PRIVACY"), "{whois}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idn_queries_answer_with_both_forms() {
    let d = TestDaemon::demo().await;
    d.ok(
        "POST",
        "/v1/domains",
        Some(json!({"name": "xn--bcher-kva.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})),
    )
    .await;
    for path in ["domain/xn--bcher-kva.example", "domain/b%C3%BCcher.example", "domain/B%C3%9CCHER.example"] {
        let body = assert_rdap(&get(&d, path).await, 200);
        assert_eq!(body["ldhName"], "xn--bcher-kva.example", "{path}");
        assert_eq!(body["unicodeName"], "bücher.example", "{path}");
    }
    d.stop().await;
}

fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(Some(addr.parse().unwrap())).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    // Buckets run on the registry's clock: frozen here, so nothing refills unless the test says so.
    let clock = domain_os::model::ManualClock::new(domain_os::model::Timestamp::parse_rfc3339("2026-01-15T12:00:00Z").unwrap());
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.rdap.limits.burst = 5;
        c.rdap.limits.queries_per_second = 1;
        c.rdap.limits.prefix_burst = 7;
        c.rdap.limits.prefix_queries_per_second = 1;
        c.rdap.limits.searches_per_minute = 2;
        c.rdap.limits.trusted = vec![domain_os::model::IpPrefix::parse("127.0.0.9/32").unwrap()];
    })
    .await;
    let url = |p: &str| format!("{}{p}", d.rdap());
    let (a, b, c) = (client_from("127.0.0.1"), client_from("127.0.0.2"), client_from("127.0.0.3"));
    // Searches have their own, smaller budget.
    for _ in 0..2 {
        assert_eq!(fetch(&a, reqwest::Method::GET, &url("domains?name=hel*.example")).await.status, 200);
    }
    let refused = fetch(&a, reqwest::Method::GET, &url("domains?name=hel*.example")).await;
    assert_rdap(&refused, 429);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(fetch(&a, reqwest::Method::GET, &url("domain/hello.example")).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "five per address, two of them spent on searches");
    let limited = fetch(&a, reqwest::Method::GET, &url("domain/hello.example")).await;
    assert_rdap(&limited, 429);
    assert_eq!(limited.header("retry-after"), "1");
    // A second later the address has one query again (and the /24 one of its own).
    clock.advance_seconds(1);
    assert_eq!(fetch(&a, reqwest::Method::GET, &url("domain/hello.example")).await.status, 200);
    assert_eq!(fetch(&a, reqwest::Method::GET, &url("domain/hello.example")).await.status, 429);
    // Another address in the same /24 has its own budget, until the network's is spent.
    assert_eq!(fetch(&b, reqwest::Method::GET, &url("domain/hello.example")).await.status, 200);
    assert_eq!(fetch(&c, reqwest::Method::GET, &url("domain/hello.example")).await.status, 200);
    assert_eq!(fetch(&c, reqwest::Method::GET, &url("domain/hello.example")).await.status, 429, "the /24 spent its 7");
    // Trusted clients are not held back.
    let trusted = client_from("127.0.0.9");
    for _ in 0..30 {
        assert_eq!(fetch(&trusted, reqwest::Method::GET, &url("domain/hello.example")).await.status, 200);
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_counted_for_the_activity_report() {
    let d = TestDaemon::demo().await;
    for path in ["domain/hello.example", "domain/nothere.example", "nameserver/ns1.hello.example", "help", "domain/%FF"] {
        get(&d, path).await;
    }
    let counted = eventually(Duration::from_secs(10), async || {
        let all = d.registry().snapshot().counters("").unwrap();
        let of = |tld: &str| all.iter().filter(|(k, _)| k.ends_with(&format!("|{tld}||rdds|rdap|ok"))).map(|(_, v)| *v).sum::<u64>();
        of("example") == 3 && of("") == 2
    })
    .await;
    assert!(counted, "{:?}", d.registry().snapshot().counters("").unwrap());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_port_answers_the_same_rst_rdap_92() {
    let d = TestDaemon::start(true, |c, _| c.rdap.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()]).await;
    let ports = d.rdap_all();
    for path in ["domain/hello.example", "nameserver/ns1.hello.example", "entity/9999"] {
        let mut bodies = Vec::new();
        for port in &ports {
            let mut body = assert_rdap(&fetch(d.http(), reqwest::Method::GET, &format!("http://{port}/{path}")).await, 200);
            strip_last_update(&mut body);
            bodies.push(body);
        }
        assert_eq!(bodies[0], bodies[1], "{path}");
    }
    d.stop().await;
}

fn strip_last_update(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(events)) = o.get_mut("events") {
                events.retain(|e| e["eventAction"] != "last update of RDAP database");
            }
            o.values_mut().for_each(strip_last_update);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_last_update),
        _ => {}
    }
}

/// One HTTPS GET with rustls, trusting the private CA.
async fn https_get(d: &TestDaemon, addr: SocketAddr, path: &str) -> (String, String) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(d.config.tls_dir().join("ca.pem")).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let mut tls = connector.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    tls.write_all(format!("GET /{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut raw = String::new();
    tls.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_takes_tls_1_2_and_1_3_only_rst_rdap_91() {
    let d = TestDaemon::start(true, |c, _| {
        c.rdap.certificate_file = Some("tls/server.pem".into());
        c.rdap.private_key_file = Some("tls/server.key".into());
    })
    .await;
    let addr = d.rdap_all()[0];
    assert!(d.rdap().starts_with("https://"));
    let (head, body) = https_get(&d, addr, "domain/hello.example").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let http = HttpData::now()
        .scheme("https")
        .host("localhost")
        .content_type("application/rdap+json")
        .access_control_allow_origin("*")
        .status_code(200)
        .build();
    let errors = check_errors(&body, Some(http));
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(body["links"][0]["href"].as_str().unwrap().starts_with("https://"));
    let connect = format!("127.0.0.1:{}", addr.port());
    for (version, accepted) in [("-tls1_1", false), ("-tls1", false), ("-tls1_2", true), ("-tls1_3", true)] {
        let out = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &connect, version, "-servername", "localhost"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl (scripts/test installs it)");
        let text = String::from_utf8_lossy(&out.stdout);
        let negotiated = text.contains("Cipher is") && !text.contains("Cipher is (NONE)");
        assert_eq!(negotiated, accepted, "{version}: {text}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_served() {
    let d = TestDaemon::start(true, |c, _| {
        c.rdap.idle_timeout_s = 1;
        c.rdap.connections_max = 3;
    })
    .await;
    let addr = d.rdap_all()[0];
    // Two clients that never finish their request hold two of the three slots...
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /domain/hello.example HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    // ...while others are still served,
    assert_rdap(&get(&d, "domain/hello.example").await, 200);
    // and the slow ones are closed once idle.
    for mut s in slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "closed by the server");
    }
    // A new connection: the server closes kept-alive ones after the same idle second, which a reused one could race.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    assert_rdap(&fetch(&fresh, reqwest::Method::GET, &format!("{}domain/hello.example", d.rdap())).await, 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowding_dribbling_and_unread_clients_cannot_hold_slots() {
    let d = TestDaemon::start(true, |c, _| {
        c.rdap.idle_timeout_s = 2;
        c.rdap.connections_per_address_max = 2;
        c.rdap.limits.enabled = false;
    })
    .await;
    let addr = d.rdap_all()[0];
    // A header trickled a byte every 200 ms is cut at the header deadline, however steadily it comes.
    let mut dribbler = connect_from("127.0.0.3", addr).await;
    let header = format!("GET /domain/hello.example HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n", "a".repeat(200));
    let started = std::time::Instant::now();
    let mut sent = 0;
    for byte in header.bytes() {
        if dribbler.write_all(&[byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sent < header.len(), "cut before the header was whole ({sent} bytes in {:?})", started.elapsed());

    // Two idle connections fill this address's share; the next is answered 503 with Retry-After…
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let refused = get(&d, "domain/hello.example").await;
    assert_rdap(&refused, 503);
    assert_eq!(refused.header("retry-after"), "10");
    // …while a client at another address is answered.
    let other = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    assert_rdap(&fetch(&other, reqwest::Method::GET, &format!("{}domain/hello.example", d.rdap())).await, 200);
    drop(idle);

    // A client that pipelines requests and never reads is cut once a response stalls for the idle timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.4:0".parse().unwrap()).unwrap();
    let (mut reader, mut writer) = socket.connect(addr).await.unwrap().into_split();
    const REQUESTS: usize = 5000;
    let sending = tokio::spawn(async move {
        for _ in 0..REQUESTS {
            if writer.write_all(b"GET /help HTTP/1.1\r\nHost: x\r\n\r\n").await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (mut received, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(n) = reader.read(&mut chunk).await
            && n > 0
        {
            received.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    sending.abort();
    let answered = received.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
    assert!(ended.is_ok() && answered < REQUESTS, "the server went on writing to a client that does not read ({answered} answers)");
    assert_rdap(&get(&d, "domain/hello.example").await, 200);
    d.stop().await;
}
