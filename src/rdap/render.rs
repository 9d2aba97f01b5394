//! RDAP JSON (RFC 9083) as the ICANN gTLD RDAP Response Profile and
//! Technical Implementation Guide (February 2024) want it: conformance
//! tags, the required notices and links, registrar entity with IANA id and
//! abuse contact, events, `secureDNS`, RFC 8056 statuses, and contact data
//! redacted per RFC 9537 unless the contact chose to disclose it.

use serde_json::{Value, json};

use crate::model::rdds::{ContactField, disclosed, rdap_statuses};
use crate::model::{Contact, Registrar, Timestamp};
use crate::rdds::{DomainRecord, HostRecord, unicode_name};

pub const MEDIA_TYPE: &str = "application/rdap+json";

/// What every response is made with.
pub struct Context<'a> {
    /// Base URL ending in `/`.
    pub base: &'a str,
    /// The URL that was asked for (link `value`s).
    pub request_url: &'a str,
    pub terms_of_service_url: &'a str,
    pub now: Timestamp,
}

impl Context<'_> {
    fn link(&self, rel: &str, href: &str) -> Value {
        json!({ "value": self.request_url, "rel": rel, "href": href, "type": MEDIA_TYPE })
    }

    fn terms_of_service(&self) -> Value {
        json!({
            "title": "Terms of Service",
            "description": [
                "Registration data is provided for lawful purposes only, under the registry's terms of service.",
                "Queries are rate limited; automated bulk collection is not allowed."
            ],
            "links": [{ "value": self.request_url, "rel": "terms-of-service", "href": self.terms_of_service_url, "type": "text/html" }]
        })
    }

    fn status_codes(&self) -> Value {
        json!({
            "title": "Status Codes",
            "description": ["For more information on domain status codes, please visit https://icann.org/epp"],
            "links": [{ "value": self.request_url, "rel": "glossary", "href": "https://icann.org/epp", "type": "text/html" }]
        })
    }

    fn inaccuracy_form(&self) -> Value {
        json!({
            "title": "RDDS Inaccuracy Complaint Form",
            "description": ["URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"],
            "links": [{ "value": self.request_url, "rel": "help", "href": "https://icann.org/wicf", "type": "text/html" }]
        })
    }

    fn last_update(&self) -> Value {
        event("last update of RDAP database", self.now)
    }
}

fn event(action: &str, at: Timestamp) -> Value {
    json!({ "eventAction": action, "eventDate": at.to_rfc3339_seconds() })
}

fn conformance(redacted: bool) -> Value {
    let mut c = vec!["rdap_level_0", "icann_rdap_response_profile_1", "icann_rdap_technical_implementation_guide_1"];
    if redacted {
        c.push("redacted");
    }
    json!(c)
}

/// Adds what only the top-level object carries.
fn top_level(mut object: Value, redacted: Vec<Value>, notices: Vec<Value>) -> Value {
    let o = object.as_object_mut().expect("an object");
    o.insert("rdapConformance".into(), conformance(!redacted.is_empty()));
    o.insert("notices".into(), Value::Array(notices));
    if !redacted.is_empty() {
        o.insert("redacted".into(), Value::Array(redacted));
    }
    object
}

/// The registrar as an entity: IANA id as handle and public id, vCard, abuse contact.
pub fn registrar_entity(r: &Registrar, cx: &Context, full: bool) -> Value {
    let handle = r.iana_id.map(|i| i.to_string()).unwrap_or_else(|| r.id.to_string());
    let mut vcard = vec![json!(["version", {}, "text", "4.0"]), json!(["fn", {}, "text", r.name])];
    if full {
        let a = &r.address;
        vcard.push(json!(["adr", {"cc": a.country_code}, "text", ["", "", a.street.join(", "), a.city, a.state.clone().unwrap_or_default(), a.postal_code.clone().unwrap_or_default(), ""]]));
        if let Some(p) = &r.phone {
            vcard.push(json!(["tel", {"type": ["voice"]}, "uri", format!("tel:{p}")]));
        }
        vcard.push(json!(["email", {}, "text", r.email]));
    }
    let mut entity = json!({
        "objectClassName": "entity",
        "handle": handle,
        "roles": ["registrar"],
        "publicIds": [{ "type": "IANA Registrar ID", "identifier": handle }],
        "vcardArray": ["vcard", vcard],
        "status": ["active"],
    });
    let mut links = vec![cx.link("self", &format!("{}entity/{handle}", cx.base))];
    if let Some(about) = r.rdap_base_url.as_deref().or(r.url.as_deref()) {
        links.push(json!({ "value": cx.request_url, "rel": "about", "href": about, "type": "text/html" }));
    }
    entity["links"] = json!(links);
    if r.abuse_email.is_some() || r.abuse_phone.is_some() {
        let mut abuse = vec![json!(["version", {}, "text", "4.0"]), json!(["fn", {}, "text", format!("{} abuse contact", r.name)])];
        if let Some(p) = &r.abuse_phone {
            abuse.push(json!(["tel", {"type": ["voice"]}, "uri", format!("tel:{p}")]));
        }
        if let Some(e) = &r.abuse_email {
            abuse.push(json!(["email", {}, "text", e]));
        }
        entity["entities"] = json!([{ "objectClassName": "entity", "roles": ["abuse"], "vcardArray": ["vcard", abuse] }]);
    }
    if full {
        entity["events"] = json!([event("registration", r.created), event("last changed", r.updated)]);
    }
    entity
}

/// A contact in `role` (`registrant`, `technical`), its withheld fields
/// described in `redacted` (RFC 9537 with the profile's methods).
fn contact_entity(c: &Contact, role: &str, redacted: &mut Vec<Value>) -> Value {
    let label = if role == "registrant" { "Registrant" } else { "Tech" };
    let path = format!("$.entities[?(@.roles[0]=='{role}')]");
    let vpath = |field: &str| format!("{path}.vcardArray[1][?(@[0]=='{field}')]");
    let mut redact = |name: String, pre: Option<String>, post: Option<String>, method: &str| {
        let mut r =
            json!({ "name": { "type": name }, "pathLang": "jsonpath", "method": method, "reason": { "description": "Server policy" } });
        if let Some(p) = pre {
            r["prePath"] = json!(p);
        }
        if let Some(p) = post {
            r["postPath"] = json!(p);
        }
        redacted.push(r);
    };
    let postal = c.postal_int.as_ref().or(c.postal_loc.as_ref());
    let mut vcard = vec![json!(["version", {}, "text", "4.0"])];
    let mut entity = json!({ "objectClassName": "entity", "roles": [role] });
    // Registry contact ids are personal data under the profile: always removed.
    redact(format!("Registry {label} ID"), Some(format!("{path}.handle")), None, "removal");
    if disclosed(c, ContactField::Name) {
        vcard.push(json!(["fn", {}, "text", postal.map(|p| p.name.clone()).unwrap_or_default()]));
    } else {
        vcard.push(json!(["fn", {}, "text", ""]));
        redact(format!("{label} Name"), None, Some(format!("{}[3]", vpath("fn"))), "emptyValue");
    }
    if let Some(org) = postal.and_then(|p| p.org.clone()) {
        if disclosed(c, ContactField::Organization) {
            vcard.push(json!(["org", {}, "text", org]));
        } else if role == "registrant" {
            redact(format!("{label} Organization"), Some(vpath("org")), None, "removal");
        }
    }
    if role == "registrant"
        && let Some(p) = postal
    {
        let a = &p.address;
        let show = disclosed(c, ContactField::Address);
        let street = if show { a.street.join(", ") } else { String::new() };
        let city = if show { a.city.clone() } else { String::new() };
        let code = if show { a.postal_code.clone().unwrap_or_default() } else { String::new() };
        vcard.push(json!(["adr", {"cc": a.country_code}, "text", ["", "", street, city, a.state.clone().unwrap_or_default(), code, ""]]));
        if !show {
            for (name, index) in [("Street", 2), ("City", 3), ("Postal Code", 5)] {
                redact(format!("{label} {name}"), None, Some(format!("{}[3][{index}]", vpath("adr"))), "emptyValue");
            }
        }
    }
    match &c.voice {
        Some(v) if disclosed(c, ContactField::Phone) => vcard.push(json!(["tel", {"type": ["voice"]}, "uri", format!("tel:{}", v.number)])),
        Some(_) => redact(format!("{label} Phone"), Some(vpath("tel")), None, "removal"),
        None => {}
    }
    if role == "registrant" {
        match &c.fax {
            Some(f) if disclosed(c, ContactField::Fax) => vcard.push(json!(["tel", {"type": ["fax"]}, "uri", format!("tel:{}", f.number)])),
            Some(_) => redact(format!("{label} Fax"), Some(format!("{}[?(@[1].type[0]=='fax')]", vpath("tel"))), None, "removal"),
            None => {}
        }
    }
    if disclosed(c, ContactField::Email) {
        vcard.push(json!(["email", {}, "text", c.email]));
    } else {
        redact(format!("{label} Email"), Some(vpath("email")), None, "removal");
    }
    entity["vcardArray"] = json!(["vcard", vcard]);
    entity
}

fn nameserver_object(h: &HostRecord, cx: &Context, summary: bool) -> Value {
    let name = h.host.name.as_str();
    let mut ns = json!({
        "objectClassName": "nameserver",
        "handle": h.host.roid.as_str(),
        "ldhName": name,
        "links": [cx.link("self", &format!("{}nameserver/{name}", cx.base))],
    });
    if let Some(u) = unicode_name(&h.host.name) {
        ns["unicodeName"] = json!(u);
    }
    if !h.host.addrs.is_empty() {
        // RFC 9083 §5.2: a family without addresses is left out, not given as an empty list.
        let mut addresses = serde_json::Map::new();
        for (family, want_v4) in [("v4", true), ("v6", false)] {
            let list: Vec<String> = h.host.addrs.iter().filter(|a| a.is_ipv4() == want_v4).map(|a| a.to_string()).collect();
            if !list.is_empty() {
                addresses.insert(family.into(), json!(list));
            }
        }
        ns["ipAddresses"] = Value::Object(addresses);
    }
    if !summary {
        ns["status"] = json!(rdap_statuses(h.statuses.iter().copied()));
        let mut events = vec![event("registration", h.host.created)];
        if let Some(u) = h.host.updated {
            events.push(event("last changed", u));
        }
        events.push(cx.last_update());
        ns["events"] = json!(events);
        if let Some(r) = &h.registrar {
            ns["entities"] = json!([registrar_entity(r, cx, false)]);
        }
    }
    ns
}

/// A domain object; `top` adds conformance, notices and redactions.
pub fn domain(d: &DomainRecord, cx: &Context, top: bool) -> Value {
    let name = d.domain.name.as_str();
    let mut links = vec![cx.link("self", &format!("{}domain/{name}", cx.base))];
    if let Some(base) = d.registrar.as_ref().and_then(|r| r.rdap_base_url.as_deref()) {
        let base = base.trim_end_matches('/');
        links.push(cx.link("related", &format!("{base}/domain/{name}")));
    }
    let mut events = vec![event("registration", d.domain.created), event("expiration", d.domain.expires)];
    if let Some(u) = d.domain.updated {
        events.push(event("last changed", u));
    }
    if let Some(t) = d.domain.transferred {
        events.push(event("transfer", t));
    }
    events.push(cx.last_update());
    let hosts: Vec<HostRecord> =
        d.nameservers.iter().map(|h| HostRecord { host: h.clone(), registrar: None, statuses: Vec::new() }).collect();
    let mut object = json!({
        "objectClassName": "domain",
        "handle": d.domain.roid.as_str(),
        "ldhName": name,
        "links": links,
        "status": rdap_statuses(d.statuses.iter().copied()),
        "events": events,
        "nameservers": hosts.iter().map(|h| nameserver_object(h, cx, true)).collect::<Vec<_>>(),
        "secureDNS": {
            "zoneSigned": false,
            "delegationSigned": !d.domain.ds.is_empty(),
            "dsData": d.domain.ds.iter().map(|ds| json!({
                "keyTag": ds.key_tag,
                "algorithm": ds.algorithm,
                "digestType": ds.digest_type,
                "digest": crate::model::objects::hex_bytes::encode_upper(&ds.digest),
            })).collect::<Vec<_>>(),
        },
    });
    if let Some(u) = unicode_name(&d.domain.name) {
        object["unicodeName"] = json!(u);
    }
    let mut entities = Vec::new();
    if let Some(r) = &d.registrar {
        entities.push(registrar_entity(r, cx, false));
    }
    let mut redacted = Vec::new();
    if top {
        if let Some(c) = &d.registrant {
            entities.push(contact_entity(c, "registrant", &mut redacted));
        }
        if let Some(c) = &d.tech {
            entities.push(contact_entity(c, "technical", &mut redacted));
        }
    }
    object["entities"] = json!(entities);
    if !top {
        return object;
    }
    top_level(object, redacted, vec![cx.terms_of_service(), cx.status_codes(), cx.inaccuracy_form()])
}

pub fn nameserver(h: &HostRecord, cx: &Context) -> Value {
    top_level(nameserver_object(h, cx, false), Vec::new(), vec![cx.terms_of_service()])
}

pub fn registrar(r: &Registrar, cx: &Context) -> Value {
    let mut entity = registrar_entity(r, cx, true);
    entity["events"].as_array_mut().expect("events").push(cx.last_update());
    top_level(entity, Vec::new(), vec![cx.terms_of_service()])
}

/// A contact looked up by its handle: only what its owner chose to disclose.
pub fn contact(c: &Contact, cx: &Context) -> Value {
    let mut redacted = Vec::new();
    let mut entity = contact_entity(c, "registrant", &mut redacted);
    // Looked up directly, the handle is what was asked for: keep it, drop its redaction.
    redacted.retain(|r| r["name"]["type"] != "Registry Registrant ID");
    entity["handle"] = json!(c.id.as_str());
    entity.as_object_mut().expect("an object").remove("roles");
    entity["links"] = json!([cx.link("self", &format!("{}entity/{}", cx.base, c.id))]);
    entity["events"] = json!([event("registration", c.created), cx.last_update()]);
    // Paths above name the registrant role; a bare lookup has no role to filter on.
    for r in &mut redacted {
        for key in ["prePath", "postPath"] {
            if let Some(p) = r[key].as_str() {
                r[key] = json!(p.replacen("$.entities[?(@.roles[0]=='registrant')]", "$", 1));
            }
        }
    }
    top_level(entity, redacted, vec![cx.terms_of_service()])
}

pub fn help(cx: &Context, searches: bool) -> Value {
    let mut lines = vec![
        "domain/<name>: a domain registered here (A-label or U-label)".to_string(),
        "nameserver/<name>: a name server".to_string(),
        "entity/<IANA id>: a registrar; entity/<handle>: a contact".to_string(),
    ];
    if searches {
        lines.push("domains?name=, domains?nsLdhName=, domains?nsIp=, nameservers?name=, nameservers?ip=, entities?fn=, entities?handle= (a trailing * matches any ending)".into());
    }
    lines.push("Queries are rate limited per client address and network; exceeding the limit returns 429 with Retry-After.".into());
    json!({
        "rdapConformance": conformance(false),
        "notices": [cx.terms_of_service(), { "title": "Queries", "description": lines, "links": [cx.link("self", &format!("{}help", cx.base))] }],
    })
}

/// An RDAP error body (RFC 9083 §6).
pub fn error(code: u16, title: &str, description: &str, cx: &Context) -> Value {
    json!({
        "rdapConformance": conformance(false),
        "errorCode": code,
        "title": title,
        "description": [description],
        "notices": [cx.terms_of_service()],
    })
}

/// Search results; `truncated` adds the RFC 9083 §8 notice.
pub fn search_results(key: &str, results: Vec<Value>, truncated: bool, cx: &Context) -> Value {
    let mut notices = vec![cx.terms_of_service()];
    if truncated {
        notices.push(json!({
            "title": "Search Policy",
            "type": "result set truncated due to excessive load",
            "description": ["The result set was cut short; narrow the search for more."],
        }));
    }
    json!({ "rdapConformance": conformance(false), key: results, "notices": notices })
}

pub fn host_summary(h: &HostRecord, cx: &Context) -> Value {
    nameserver_object(h, cx, false)
}
