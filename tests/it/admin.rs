//! The operator API: authentication, and refusals that are clear, carry a
//! stable code, and leave state exactly as it was.

use serde_json::{Value, json};

use crate::common::*;

/// Everything a refused request could have touched, to compare before and after.
async fn state(d: &TestDaemon) -> Value {
    json!({
        "tld": d.ok("GET", "/v1/tlds/example", None).await,
        "domains": d.ok("GET", "/v1/tlds/example/domains", None).await,
        "hosts": d.ok("GET", "/v1/hosts", None).await,
    })
}

async fn refused(d: &TestDaemon, method: &str, path: &str, body: Option<Value>, status: u16, code: &str) -> String {
    let (got, body) = d.api(method, path, body).await;
    assert_eq!(got, status, "{method} {path}: {body}");
    assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    assert!(!message.is_empty());
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_the_bearer_token() {
    let d = TestDaemon::demo().await;
    let url = format!("{}/v1/tlds", d.base);
    let none = d.http().get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let wrong = d.http().get(&url).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let create = d.http().post(&url).json(&json!({"name": "x", "nameservers": ["a.b"]})).send().await.unwrap();
    assert_eq!(create.status(), 401);
    assert_eq!(d.ok("GET", "/v1/tlds", None).await.as_array().unwrap().len(), 1, "nothing was created");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_change_nothing() {
    let d = TestDaemon::demo().await;
    d.ok("POST", "/v1/registrars", Some(json!({"id": "other-one", "name": "Other", "email": "ops@other.test"}))).await;
    let before = state(&d).await;

    // Not JSON, wrong shapes, unknown fields.
    let resp = d
        .http()
        .post(format!("{}/v1/domains", d.base))
        .bearer_auth(&d.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "bad_request");
    refused(&d, "POST", "/v1/domains", Some(json!({"name": "x.example", "registrar": "demo-registrar", "colour": "red"})), 422, "invalid")
        .await;
    refused(&d, "POST", "/v1/domains", Some(json!({"name": 42})), 422, "invalid").await;

    // Bad names: not LDH, too long, wrong TLD, below a registrable level.
    let m = refused(&d, "POST", "/v1/domains", Some(json!({"name": "under_score.example", "registrar": "demo-registrar"})), 422, "invalid")
        .await;
    assert!(m.contains("under_score"), "{m}");
    let long = format!("{}.example", "a".repeat(64));
    refused(&d, "POST", "/v1/domains", Some(json!({"name": long, "registrar": "demo-registrar"})), 422, "invalid").await;
    refused(&d, "POST", "/v1/domains", Some(json!({"name": "x.other", "registrar": "demo-registrar"})), 422, "policy").await;
    refused(&d, "POST", "/v1/domains", Some(json!({"name": "a.b.example", "registrar": "demo-registrar"})), 422, "policy").await;
    refused(&d, "GET", "/v1/domains/bad..name", None, 422, "bad_name").await;

    // Unknown objects.
    refused(&d, "GET", "/v1/domains/nobody.example", None, 404, "not_found").await;
    refused(&d, "PATCH", "/v1/domains/nobody.example", Some(json!({"add_statuses": ["serverHold"]})), 404, "not_found").await;
    refused(&d, "POST", "/v1/domains", Some(json!({"name": "x.example", "registrar": "nobody"})), 404, "not_found").await;
    refused(
        &d,
        "POST",
        "/v1/domains",
        Some(json!({"name": "x.example", "registrar": "demo-registrar", "nameservers": ["ns9.nowhere.net"]})),
        404,
        "not_found",
    )
    .await;
    refused(&d, "DELETE", "/v1/hosts/ns9.nowhere.net", None, 404, "not_found").await;
    refused(&d, "GET", "/v1/nothing-here", None, 404, "not_found").await;

    // Statuses: derived ones cannot be set, unknown ones do not parse, pending ones belong to the lifecycle.
    refused(&d, "PATCH", "/v1/domains/hello.example", Some(json!({"add_statuses": ["ok"]})), 422, "invalid").await;
    refused(&d, "PATCH", "/v1/domains/hello.example", Some(json!({"add_statuses": ["inactive"]})), 422, "invalid").await;
    refused(&d, "PATCH", "/v1/domains/hello.example", Some(json!({"add_statuses": ["pendingDelete"]})), 422, "invalid").await;
    refused(&d, "PATCH", "/v1/domains/hello.example", Some(json!({"add_statuses": ["serverhold"]})), 422, "invalid").await;

    // Rule violations.
    refused(&d, "POST", "/v1/domains", Some(json!({"name": "hello.example", "registrar": "demo-registrar"})), 409, "exists").await;
    let m = refused(&d, "DELETE", "/v1/domains/hello.example", None, 409, "association_prohibits").await;
    assert!(m.contains("ns1.hello.example"), "{m}");
    refused(&d, "DELETE", "/v1/hosts/ns1.hello.example", None, 409, "association_prohibits").await;
    refused(&d, "DELETE", "/v1/hosts/a.nic.example", None, 409, "association_prohibits").await;
    refused(
        &d,
        "POST",
        "/v1/hosts",
        Some(json!({"name": "ns3.example.net", "registrar": "demo-registrar", "addresses": ["192.0.2.9"]})),
        422,
        "policy",
    )
    .await;
    refused(&d, "POST", "/v1/hosts", Some(json!({"name": "ns1.unregistered.example", "addresses": ["192.0.2.9"]})), 404, "not_found").await;
    refused(&d, "POST", "/v1/hosts", Some(json!({"name": "ns9.hello.example", "addresses": ["0.0.0.0"]})), 422, "bad_address").await;
    refused(&d, "POST", "/v1/hosts", Some(json!({"name": "ns9.hello.example", "addresses": ["256.1.1.1"]})), 422, "invalid").await;
    refused(&d, "POST", "/v1/hosts", Some(json!({"name": "ns9.hello.example", "addresses": ["::X"]})), 422, "invalid").await;
    refused(&d, "POST", "/v1/hosts", Some(json!({"name": "ns9.hello.example", "registrar": "other-one"})), 403, "forbidden").await;
    refused(
        &d,
        "PATCH",
        "/v1/domains/hello.example",
        Some(json!({"add_ds": [{"key_tag": 1, "algorithm": 99, "digest_type": 2, "digest": "00"}]})),
        422,
        "bad_ds",
    )
    .await;
    refused(&d, "PATCH", "/v1/domains/hello.example", Some(json!({"add_nameservers": ["ns1.hello.example"]})), 422, "invalid").await;
    refused(
        &d,
        "POST",
        "/v1/domains",
        Some(json!({"name": "y.example", "registrar": "demo-registrar", "period_years": 11})),
        422,
        "out_of_range",
    )
    .await;
    refused(&d, "POST", "/v1/tlds", Some(json!({"name": "sub.example", "nameservers": ["ns1.example.net"]})), 422, "policy").await;
    refused(&d, "POST", "/v1/tlds", Some(json!({"name": "new", "nameservers": []})), 422, "bad_policy").await;

    // A host carrying its domain's own name is subordinate too: the domain cannot go first.
    d.ok("POST", "/v1/domains", Some(json!({"name": "self.example", "registrar": "demo-registrar"}))).await;
    d.ok("POST", "/v1/hosts", Some(json!({"name": "self.example", "addresses": ["192.0.2.44"]}))).await;
    let m = refused(&d, "DELETE", "/v1/domains/self.example", None, 409, "association_prohibits").await;
    assert!(m.contains("self.example"), "{m}");
    d.ok("DELETE", "/v1/hosts/self.example", None).await;
    d.ok("DELETE", "/v1/domains/self.example", None).await;
    // A new TLD may not swallow hosts created as external.
    refused(&d, "POST", "/v1/tlds", Some(json!({"name": "net", "nameservers": ["ns1.example.net"]})), 409, "association_prohibits").await;

    // In-zone name server without an address: refused as a delegation target (lame).
    d.ok("POST", "/v1/hosts", Some(json!({"name": "bare.hello.example"}))).await;
    refused(&d, "PATCH", "/v1/domains/world.example", Some(json!({"add_nameservers": ["bare.hello.example"]})), 422, "policy").await;
    d.ok("DELETE", "/v1/hosts/bare.hello.example", None).await;

    assert_eq!(state(&d).await, before, "refused requests changed nothing");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_statuses_lock_objects_against_other_changes() {
    let d = TestDaemon::demo().await;
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"add_statuses": ["serverUpdateProhibited", "serverDeleteProhibited"]}))).await;
    let before = state(&d).await;
    refused(&d, "PATCH", "/v1/domains/world.example", Some(json!({"remove_nameservers": ["ns2.example.net"]})), 409, "status_prohibits")
        .await;
    refused(&d, "DELETE", "/v1/domains/world.example", None, 409, "status_prohibits").await;
    assert_eq!(state(&d).await, before);
    // Lifting the lock is itself allowed, and then so is the change.
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"remove_statuses": ["serverUpdateProhibited", "serverDeleteProhibited"]})))
        .await;
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"remove_nameservers": ["ns2.example.net"]}))).await;
    d.ok("DELETE", "/v1/domains/world.example", None).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_show_derived_statuses_and_no_secrets() {
    let d = TestDaemon::demo().await;
    let r = d.ok("GET", "/v1/registrars/demo-registrar", None).await;
    assert_eq!(r["has_password"], true);
    assert!(!r.to_string().contains("argon2"), "{r}");
    // Contacts and domains never show their authorization codes or hashes, created or read.
    let spec = json!({"id": "secret-1", "registrar": "demo-registrar", "email": "s@example.net", "auth_info": "Contact-Code-2026x"});
    let (status, created) = d.api("POST", "/v1/contacts", Some(spec)).await;
    assert_eq!(status, 201, "{created}");
    let shown = d.ok("GET", "/v1/contacts/secret-1", None).await;
    for view in [&created, &shown] {
        assert_eq!(view["has_auth_info"], true, "{view}");
        assert!(!view.to_string().contains("argon2") && !view.to_string().contains("auth_info_hash"), "{view}");
    }
    let domain = d.ok("GET", "/v1/domains/hello.example", None).await;
    assert!(!domain.to_string().contains("argon2") && !domain.to_string().contains("auth_info"), "{domain}");
    assert_eq!(domain["statuses"], json!(["ok"]));
    let parked = d.ok("GET", "/v1/domains/parked.example", None).await;
    assert_eq!((parked["statuses"].clone(), parked["published"].clone()), (json!(["inactive"]), json!(false)));
    let held = d.ok("GET", "/v1/domains/held.example", None).await;
    assert_eq!(held["statuses"], json!(["serverHold"]));
    let host = d.ok("GET", "/v1/hosts/ns1.hello.example", None).await;
    assert_eq!((host["statuses"].clone(), host["linked_domains"].clone()), (json!(["linked", "ok"]), json!(1)));
    assert!(host["created"].as_str().unwrap().ends_with('Z'), "dates are RFC 3339");

    // Renaming a host rewrites every delegation that uses it.
    d.ok("POST", "/v1/hosts", Some(json!({"name": "ns3.hello.example", "addresses": ["192.0.2.3"]}))).await;
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"add_nameservers": ["ns3.hello.example"]}))).await;
    d.ok("PATCH", "/v1/hosts/ns3.hello.example", Some(json!({"new_name": "ns4.hello.example"}))).await;
    let world = d.ok("GET", "/v1/domains/world.example", None).await;
    assert!(world["nameservers"].as_array().unwrap().contains(&json!("ns4.hello.example")), "{world}");
    let out = dig(d.dns, &["world.example", "NS"]);
    assert!(out.contains("ns4.hello.example.") && !out.contains("ns3.hello.example."), "{out}");

    // Apex name servers cannot be renamed out from under their TLD.
    refused(&d, "PATCH", "/v1/hosts/a.nic.example", Some(json!({"new_name": "c.nic.example"})), 409, "association_prohibits").await;

    // Moving a domain moves its subordinate hosts with it.
    d.ok(
        "POST",
        "/v1/registrars",
        Some(json!({"id": "other-one", "name": "Other", "email": "ops@other.test", "password": "sufficiently-long"})),
    )
    .await;
    d.ok("PATCH", "/v1/domains/hello.example", Some(json!({"registrar": "other-one"}))).await;
    assert_eq!(d.ok("GET", "/v1/hosts/ns1.hello.example", None).await["registrar"], "other-one");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tld_policy_changes_reach_every_row() {
    let d = TestDaemon::demo().await;
    let s0 = d.serial("example").await;
    d.ok("PATCH", "/v1/tlds/example", Some(json!({"delegation_ttl_s": 86400, "glue_ttl_s": 7200, "soa_refresh_s": 3600}))).await;
    assert!(d.serial("example").await > s0);
    let out = dig(d.dns, &["www.hello.example", "A"]);
    assert!(out.contains("hello.example.\t\t86400\tIN\tNS") && out.contains("ns1.hello.example.\t7200\tIN\tA"), "{out}");
    let soa = dig(d.dns, &["example", "SOA", "+short"]);
    assert_eq!(soa.split_whitespace().nth(3), Some("3600"));
    // Wide glue: a sibling's in-zone name server gets its glue too.
    d.ok("PATCH", "/v1/tlds/example", Some(json!({"glue_policy": "wide"}))).await;
    d.ok("POST", "/v1/hosts", Some(json!({"name": "ns5.hello.example", "addresses": ["192.0.2.5"]}))).await;
    d.ok("PATCH", "/v1/domains/world.example", Some(json!({"add_nameservers": ["ns5.hello.example"]}))).await;
    let out = dig(d.dns, &["world.example", "NS"]);
    assert!(out.contains("ns5.hello.example.\t7200\tIN\tA\t192.0.2.5"), "{out}");
    d.ok("PATCH", "/v1/tlds/example", Some(json!({"glue_policy": "narrow"}))).await;
    let (ok, axfr) = kdig(d.dns, &["example", "AXFR"]);
    assert!(ok);
    assert!(!records(&axfr).iter().any(|r| r.0 == "ns5.hello.example." && r.2 == "A"), "narrow glue drops the sibling's address: {axfr}");
    d.stop().await;
}

/// IANA's registrar list, as IANA publishes it: once loaded, a registrar
/// given an IANA id must hold one it accredits (or one reserved for the
/// registry); a new list shows which registrars it no longer accredits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrars_hold_the_iana_ids_the_iana_list_accredits() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let list = dir.path().join("registrar-ids-1.csv");
    std::fs::write(
        &list,
        "ID,Registrar Name,Status,RDAP Base URL\r\n292,\"MarkMonitor, Inc.\",Accredited,https://rdap.markmonitor.com/rdap/\r\n1455,Old Registrar,Terminated,\r\n9998,Reserved for billable transactions,Reserved,\r\n9999,Reserved for non-billable transactions,Reserved,\r\n",
    )
    .unwrap();
    let (ok, out, err) = crate::cli::cli(&conf, &["registrar", "iana-import", list.to_str().unwrap()]);
    assert!(ok && out.contains("\"registrars\": 4") && out.contains("\"not_accredited\": []"), "{out}{err}");

    let create = |id: &str, iana: u32| json!({"id": id, "name": "R", "email": "ops@r.test", "iana_id": iana});
    d.ok("POST", "/v1/registrars", Some(create("accredited-one", 292))).await;
    let why = refused(&d, "POST", "/v1/registrars", Some(create("terminated-one", 1455)), 422, "invalid").await;
    assert!(why.contains("Terminated"), "{why}");
    refused(&d, "POST", "/v1/registrars", Some(create("unknown-one", 77)), 422, "invalid").await;
    assert_eq!(d.api("GET", "/v1/registrars/unknown-one", None).await.0, 404, "nothing of a refused create is kept");
    refused(&d, "PATCH", "/v1/registrars/accredited-one", Some(json!({"iana_id": 1455})), 422, "invalid").await;

    // A list that no longer accredits a registrar is loaded, and says so.
    let (code, body) = d.api("PUT", "/v1/iana/registrars", Some(json!({"text": "ID,Registrar Name,Status,RDAP Base URL\n292,\"MarkMonitor, Inc.\",Terminated,\n9998,R,Reserved,\n9999,R,Reserved,\n"}))).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["not_accredited"][0]["registrar"], "accredited-one", "{body}");
    refused(&d, "PUT", "/v1/iana/registrars", Some(json!({"text": "id,name\n"})), 422, "bad_iana_list").await;

    // A gTLD takes only registrars IANA accredits: a registrar without an IANA
    // id is named and must be unaccredited first, and is not accredited again.
    d.ok("POST", "/v1/registrars", Some(json!({"id": "no-iana", "name": "N", "email": "ops@n.test"}))).await;
    d.ok("DELETE", "/v1/registrars/accredited-one/accreditations/example", None).await;
    let why = refused(&d, "PUT", "/v1/tlds/example/gtld", Some(json!({"gtld": true})), 422, "policy").await;
    assert!(why.contains("no-iana") && !why.contains("demo-registrar"), "{why}");
    d.ok("DELETE", "/v1/registrars/no-iana/accreditations/example", None).await;
    let (ok, out, err) = crate::cli::cli(&conf, &["tld", "gtld", "example", "true"]);
    assert!(ok && out.contains("\"gtld\": true"), "{out}{err}");
    let why = refused(&d, "POST", "/v1/registrars/no-iana/accreditations", Some(json!({"tld": "example"})), 422, "policy").await;
    assert!(why.contains("no IANA id"), "{why}");
    refused(&d, "POST", "/v1/registrars/accredited-one/accreditations", Some(json!({"tld": "example"})), 422, "policy").await;
    d.ok("POST", "/v1/registrars", Some(json!({"id": "late-one", "name": "L", "email": "ops@l.test"}))).await;
    let tlds = d.ok("GET", "/v1/registrars/late-one/accreditations", None).await;
    assert_eq!(tlds["tlds"], json!([]), "left out of the gTLD: {tlds}");
    d.ok("PUT", "/v1/tlds/example/gtld", Some(json!({"gtld": false}))).await;
    d.ok("POST", "/v1/registrars/no-iana/accreditations", Some(json!({"tld": "example"}))).await;
    d.stop().await;
}
