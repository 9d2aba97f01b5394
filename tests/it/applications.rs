//! Launch applications (RFC 8334 §2.3) on the manual clock: a landrush that
//! collects applications, several registrars applying for one name, info
//! and withdrawal of an application, the allocation of uncontended names
//! when the phase ends, the operator's allocation of a contended one, and
//! what each application is charged and credited back.

use domain_os::model::{ManualClock, Money, Timestamp};
use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

const LANDRUSH: &str = r#"<launch:phase>landrush</launch:phase>"#;

fn apply() -> String {
    format!(r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0" type="application">{LANDRUSH}</launch:create>"#)
}

fn about(element: &str, id: &str) -> String {
    format!(
        r#"<launch:{element} xmlns:launch="urn:ietf:params:xml:ns:launch-1.0">{LANDRUSH}<launch:applicationID>{id}</launch:applicationID></launch:{element}>"#
    )
}

/// The application id of a create's answer.
fn application_id(response: &str) -> String {
    let start = response.find("<launch:applicationID>").expect("an application id") + "<launch:applicationID>".len();
    response[start..].split('<').next().unwrap().to_string()
}

/// The first queued message that contains `needle`, acknowledging those before it.
async fn poll_for(epp: &mut Epp, needle: &str) -> String {
    loop {
        let polled = epp.command(r#"<poll op="req"/>"#, "").await;
        assert_eq!(code(&polled), 1301, "no message with {needle}: {polled}");
        if polled.contains(needle) {
            return polled;
        }
        let id = polled.split("<msgQ ").nth(1).and_then(|t| t.split("id=\"").nth(1)).and_then(|t| t.split('"').next()).unwrap();
        epp.command(&format!(r#"<poll op="ack" msgID="{id}"/>"#), "").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landrush_collects_applications_and_allocates_them_when_it_ends() {
    let clock = ManualClock::new(at("2026-11-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let run = |args: &[&str]| crate::cli::cli(&conf, args);
    let dates = "tld phase add example --kind landrush --starts 2026-11-10T00:00:00Z --ends 2026-11-20T00:00:00Z";
    let mut landrush: Vec<&str> = dates.split(' ').collect();
    landrush.extend(["--applications", "--fee", "create:50.00:Application fee"]);
    let (ok, out, err) = run(&landrush);
    assert!(ok && out.contains("\"applications\": true"), "{out}{err}");
    let (ok, out, err) = run(&["tld", "phase", "add", "example", "--kind", "open", "--starts", "2026-11-20T00:00:00Z"]);
    assert!(ok, "{out}{err}");
    let open_ended = json!({"kind": "custom", "name": "later", "starts": "2027-01-01T00:00:00Z", "applications": true});
    let (status, body) = d.api("POST", "/v1/tlds/example/phases", Some(open_ended)).await;
    assert!(status == 422 && body.to_string().contains("ends"), "{body}");

    for r in ["demo-registrar", "other-registrar"] {
        d.ok("POST", &format!("/v1/registrars/{r}/funds"), Some(json!({ "amount": "1000.00" }))).await;
    }
    let balance = async |r: &str| {
        Money::parse(d.ok("GET", &format!("/v1/registrars/{r}"), None).await["accounts"][0]["balance"].as_str().unwrap()).unwrap().0
    };
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    clock.set(at("2026-11-12T00:00:00Z"));
    let plain = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>landrush</launch:phase></launch:create>"#;
    let refused = a.domain("create", &create_body("contested.example", "1", &[], STRONG), plain).await;
    assert!(code(&refused) == 2306 && refused.contains("collects applications"), "{refused}");

    // Applications: paid when made, several for one name.
    let a0 = balance("demo-registrar").await;
    let made = a.domain("create", &create_body("contested.example", "1", &[], STRONG), &apply()).await;
    assert_eq!(code(&made), 1001, "{made}");
    assert!(made.contains("<launch:creData") && made.contains("<fee:fee>60.00</fee:fee>"), "{made}");
    assert_eq!(a0 - balance("demo-registrar").await, 6_000);
    let a_contested = application_id(&made);
    let again = a.domain("create", &create_body("contested.example", "1", &[], STRONG), &apply()).await;
    assert!(code(&again) == 2306 && again.contains("already"), "{again}");
    let b_contested = application_id(&b.domain("create", &create_body("contested.example", "1", &[], STRONG), &apply()).await);
    let solo = application_id(&a.domain("create", &create_body("solo.example", "1", &[], STRONG), &apply()).await);
    assert_eq!(d.api("GET", "/v1/domains/solo.example", None).await.0, 404, "no domain before allocation");
    // An update changes what the domain will be created with (RFC 8334 §3.4); not its statuses, not another's.
    let add_ns = "<domain:name>solo.example</domain:name><domain:add><domain:ns><domain:hostObj>ns1.hello.example</domain:hostObj></domain:ns></domain:add>";
    let updated = a.domain("update", add_ns, &about("update", &solo)).await;
    assert_eq!(code(&updated), 1000, "{updated}");
    let twice = a.domain("update", add_ns, &about("update", &solo)).await;
    assert!(code(&twice) == 2306 && twice.contains("already a name server"), "{twice}");
    assert_eq!(code(&b.domain("update", add_ns, &about("update", &solo)).await), 2201);
    let hold = r#"<domain:name>solo.example</domain:name><domain:add><domain:status s="clientHold"/></domain:add>"#;
    assert_eq!(code(&a.domain("update", hold, &about("update", &solo)).await), 2306);

    // Info, to the applicant only; withdrawal credits back all but the application fee.
    let info = a.domain("info", "<domain:name>contested.example</domain:name>", &about("info", &a_contested)).await;
    assert!(code(&info) == 1000 && info.contains(r#"s="pendingCreate""#) && info.contains(r#"<launch:status s="validated"/>"#), "{info}");
    let other = b.domain("info", "<domain:name>contested.example</domain:name>", &about("info", &a_contested)).await;
    assert_eq!(code(&other), 2201, "{other}");
    let gone = application_id(&a.domain("create", &create_body("gone.example", "1", &[], STRONG), &apply()).await);
    let before = balance("demo-registrar").await;
    let withdrawn = a.domain("delete", "<domain:name>gone.example</domain:name>", &about("delete", &gone)).await;
    assert!(code(&withdrawn) == 1000 && withdrawn.contains("<fee:credit>-10.00</fee:credit>"), "{withdrawn}");
    assert_eq!(balance("demo-registrar").await - before, 1_000);
    let info = a.domain("info", "<domain:name>gone.example</domain:name>", &about("info", &gone)).await;
    assert_eq!(code(&info), 2303, "{info}");
    let (status, _) = d.api("POST", &format!("/v1/applications/{a_contested}/allocate"), None).await;
    assert_eq!(status, 409, "not while the phase runs");

    // The phase ends: the uncontended name is allocated, the contended one waits.
    clock.set(at("2026-11-20T00:00:00Z"));
    let allocated = async || d.api("GET", "/v1/domains/solo.example", None).await.0 == 200;
    assert!(eventually(std::time::Duration::from_secs(10), allocated).await, "solo.example allocated at the end of the landrush");
    let solo_domain = d.ok("GET", "/v1/domains/solo.example", None).await;
    assert_eq!(solo_domain["registrar"], "demo-registrar");
    assert_eq!(solo_domain["nameservers"], json!(["ns1.hello.example"]), "as the update left it: {solo_domain}");
    let listed = d.ok("GET", "/v1/tlds/example/applications", None).await;
    let status_of = |id: &str| listed["applications"].as_array().unwrap().iter().find(|x| x["id"] == id).unwrap()["status"].clone();
    assert_eq!(status_of(&solo), "allocated", "{listed}");
    assert_eq!((status_of(&a_contested), status_of(&b_contested)), (json!("pendingAllocation"), json!("pendingAllocation")));
    let polled = poll_for(&mut a, r#"paResult="1">solo.example"#).await;
    assert!(polled.contains(r#"<launch:status s="allocated"/>"#), "{polled}");

    // The operator allocates the contended name to one; the other is rejected and credited.
    let before = balance("demo-registrar").await;
    let (ok, out, err) = run(&["application", "allocate", &b_contested]);
    assert!(ok && out.contains("\"allocated\""), "{out}{err}");
    assert_eq!(d.ok("GET", "/v1/domains/contested.example", None).await["registrar"], "other-registrar");
    assert_eq!(balance("demo-registrar").await - before, 1_000, "the rejected one's price back, not its fee");
    let (ok, out, _) = run(&["application", "list", "example"]);
    assert!(ok && out.contains("\"rejected\""), "{out}");
    let (status, _) = d.api("POST", &format!("/v1/applications/{a_contested}/reject"), None).await;
    assert_eq!(status, 409, "decided already");
    let polled = poll_for(&mut a, r#"paResult="0">contested.example"#).await;
    assert!(polled.contains(r#"s="rejected""#), "{polled}");

    // General availability: creates register domains again, and take no applications.
    let ga = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0" type="application"><launch:phase>open</launch:phase></launch:create>"#;
    let late = a.domain("create", &create_body("late.example", "1", &[], STRONG), ga).await;
    assert!(code(&late) == 2306 && late.contains("no launch applications"), "{late}");
    assert_eq!(code(&a.domain("create", &create_body("late.example", "1", &[], STRONG), "").await), 1000);
    seen.validate();
    d.stop().await;
}
