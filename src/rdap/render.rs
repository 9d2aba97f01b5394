//! RDAP JSON (RFC 9083) as the ICANN gTLD RDAP Response Profile and
//! Technical Implementation Guide (February 2024) want it: conformance
//! tags, the required notices and links, registrar entity with IANA id and
//! abuse contact, events, `secureDNS`, RFC 8056 statuses, and contact data
//! redacted per RFC 9537 unless the contact chose to disclose it. What is
//! the same from answer to answer (notices, shared name servers, registrar
//! entities) is rendered once, with the request URL spliced in per answer.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

use super::json::{Json, Template};
use crate::model::disclosure::{ContactField, disclosed, rdap_statuses};
use crate::model::{ClientId, Contact, Host, Registrar, Roid, Timestamp};
use crate::rdds::{PublicDomain, PublicHost, unicode_name};

pub const MEDIA_TYPE: &str = "application/rdap+json";

/// What every response is made with.
pub struct ResponseBasis<'a> {
    /// Base URL ending in `/`.
    pub base: &'a str,
    /// The URL that was asked for (link `value`s).
    pub request_url: &'a str,
    pub notices: &'a Notices,
    pub now: Timestamp,
    /// The snapshot answered from ([`crate::store::Snapshot::memo_id`]), when
    /// fragments rendered from it may be reused.
    pub snapshot: Option<u64>,
}

impl ResponseBasis<'_> {
    /// Writes the fragment `render` makes, rendered once per snapshot, thread
    /// and service with the request URL left open. `render` must depend on
    /// nothing but `key`'s object, the base URL and the request URL.
    fn fragment(&self, j: &mut Json, key: FragmentKey, render: impl FnOnce(&mut Json, &ResponseBasis)) {
        let Some(snapshot) = self.snapshot else {
            return render(j, self);
        };
        FRAGMENTS.with_borrow_mut(|cache| {
            if cache.owner != (snapshot, self.notices.id) {
                cache.owner = (snapshot, self.notices.id);
                cache.templates.clear();
            }
            if !cache.templates.contains_key(&key) {
                let marked = ResponseBasis { request_url: URL_MARK, snapshot: None, ..*self };
                let mut once = Json::default();
                render(&mut once, &marked);
                if cache.templates.len() >= FRAGMENTS_MAX {
                    cache.templates.clear();
                }
                cache.templates.insert(key.clone(), Template::new(&once.finish(), URL_MARK));
            }
            j.template(&cache.templates[&key], self.request_url);
        });
    }

    /// A link whose `href` is the concatenation of `href`.
    fn link(&self, j: &mut Json, rel: &str, href: &[&str], media_type: &str) {
        link(j, self.request_url, rel, href, media_type);
    }

    fn terms_of_service(&self, j: &mut Json) {
        terms_of_service(j, self.request_url, &self.notices.terms_of_service_url);
    }
}

fn link(j: &mut Json, value: &str, rel: &str, href: &[&str], media_type: &str) {
    j.object(|j| {
        j.field("value", value).field("rel", rel).key("href").concat(href).field("type", media_type);
    });
}

fn notice(j: &mut Json, value: &str, title: &str, description: &[&str], rel: &str, href: &str) {
    j.object(|j| {
        j.field("title", title).key("description").strings(description.iter().copied());
        j.key("links").array(|j| link(j, value, rel, &[href], "text/html"));
    });
}

fn terms_of_service(j: &mut Json, value: &str, url: &str) {
    let text = [
        "Registration data is provided for lawful purposes only, under the registry's terms of service.",
        "Queries are rate limited; automated bulk collection is not allowed.",
    ];
    notice(j, value, "Terms of Service", &text, "terms-of-service", url);
}

/// Stands for the request URL in JSON rendered once and reused.
const URL_MARK: &str = "\u{1}request\u{1}";

#[derive(Clone, PartialEq, Eq, Hash)]
enum FragmentKey {
    Nameserver(Roid),
    Registrar(ClientId),
}

/// Name server summaries and registrar entities as domain answers embed
/// them; per thread, so lookups never share a lock.
struct Fragments {
    /// (snapshot, service) the templates were rendered for.
    owner: (u64, u64),
    templates: FxHashMap<FragmentKey, Template>,
}

thread_local! {
    static FRAGMENTS: RefCell<Fragments> = RefCell::new(Fragments { owner: (0, 0), templates: FxHashMap::default() });
}

const FRAGMENTS_MAX: usize = 16_384;

/// The notices answers carry, rendered once: from answer to answer only the
/// request URL in their links' `value` changes.
pub struct Notices {
    /// Tells services (and so their base URLs) apart in [`FRAGMENTS`]; unique in the process.
    id: u64,
    terms_of_service_url: String,
    /// Terms of service, status codes and the inaccuracy form (domain lookups).
    domain: Template,
    /// Terms of service alone.
    terms: Template,
}

impl Notices {
    pub fn new(terms_of_service_url: String) -> Notices {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let render = |all: bool| {
            let mut j = Json::default();
            j.key("notices").array(|j| {
                terms_of_service(j, URL_MARK, &terms_of_service_url);
                if all {
                    let text = ["For more information on domain status codes, please visit https://icann.org/epp"];
                    notice(j, URL_MARK, "Status Codes", &text, "glossary", "https://icann.org/epp");
                    let text = ["URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"];
                    notice(j, URL_MARK, "RDDS Inaccuracy Complaint Form", &text, "help", "https://icann.org/wicf");
                }
            });
            Template::new(&j.finish(), URL_MARK)
        };
        Notices { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), domain: render(true), terms: render(false), terms_of_service_url }
    }
}

fn event(j: &mut Json, action: &str, at: Timestamp) {
    j.object(|j| {
        j.field("eventAction", action).key("eventDate").timestamp(at);
    });
}

fn events(j: &mut Json, body: impl FnOnce(&mut Json)) {
    j.key("events").array(body);
}

/// A `vcardArray` (RFC 7095) with the properties `properties` writes after the version.
fn vcard(j: &mut Json, properties: impl FnOnce(&mut Json)) {
    j.key("vcardArray").array(|j| {
        j.string("vcard").array(|j| {
            j.raw(r#"["version",{},"text","4.0"]"#);
            properties(j);
        });
    });
}

fn vcard_text(j: &mut Json, name: &str, value: &str) {
    j.array(|j| {
        j.string(name).raw("{}").string("text").string(value);
    });
}

/// A tel URI (RFC 3966: the EPP form's `.` is a visual separator), with `;ext=` when there is one.
fn vcard_tel(j: &mut Json, kind: &str, number: &str, ext: Option<&str>) {
    let ext = ext.map_or([""; 2], |x| [";ext=", x]);
    j.array(|j| {
        j.string("tel")
            .object(|j| {
                j.key("type").strings([kind]);
            })
            .string("uri")
            .concat(&["tel:", number, ext[0], ext[1]]);
    });
}

fn vcard_adr(j: &mut Json, country_code: &str, fields: [&str; 7]) {
    j.array(|j| {
        j.string("adr")
            .object(|j| {
                j.field("cc", country_code);
            })
            .string("text")
            .strings(fields);
    });
}

/// A whole response: conformance first, then the members `body` writes.
fn response(j: &mut Json, redacted: bool, body: impl FnOnce(&mut Json)) {
    j.object(|j| {
        j.key("rdapConformance").array(|j| {
            // Written as one piece: these three start every answer.
            j.raw(r#""rdap_level_0","icann_rdap_response_profile_1","icann_rdap_technical_implementation_guide_1""#);
            if redacted {
                j.string("redacted");
            }
        });
        body(j);
    });
}

/// The registrar as an entity: IANA id as handle and public id, vCard, abuse contact.
pub fn registrar_entity(j: &mut Json, r: &Registrar, basis: &ResponseBasis, full: bool) {
    j.object(|j| registrar_members(j, r, basis, full));
}

fn registrar_members(j: &mut Json, r: &Registrar, basis: &ResponseBasis, full: bool) {
    let handle = r.iana_id.map(|i| i.to_string()).unwrap_or_else(|| r.id.to_string());
    j.field("objectClassName", "entity").field("handle", &handle).key("roles").strings(["registrar"]);
    j.key("publicIds").array(|j| {
        j.object(|j| {
            j.field("type", "IANA Registrar ID").field("identifier", &handle);
        });
    });
    vcard(j, |j| {
        vcard_text(j, "fn", &r.name);
        if full {
            let a = &r.address;
            let street = a.street.join(", ");
            let (state, code) = (a.state.as_deref().unwrap_or_default(), a.postal_code.as_deref().unwrap_or_default());
            vcard_adr(j, &a.country_code, ["", "", &street, &a.city, state, code, ""]);
            if let Some(p) = &r.phone {
                vcard_tel(j, "voice", p, None);
            }
            vcard_text(j, "email", &r.email);
        }
    });
    j.key("status").strings(["active"]);
    j.key("links").array(|j| {
        basis.link(j, "self", &[basis.base, "entity/", &handle], MEDIA_TYPE);
        // RDAP profile 2.4.6: the value is the registrar's RDAP base URL, the href its web site.
        if let Some(base) = r.rdap_base_url.as_deref().or(r.url.as_deref()) {
            link(j, base, "about", &[r.url.as_deref().unwrap_or(base)], "text/html");
        }
    });
    if r.abuse_email.is_some() || r.abuse_phone.is_some() {
        j.key("entities").array(|j| {
            j.object(|j| {
                j.field("objectClassName", "entity").key("roles").strings(["abuse"]);
                vcard(j, |j| {
                    j.array(|j| {
                        j.string("fn").raw("{}").string("text").concat(&[&r.name, " abuse contact"]);
                    });
                    if let Some(p) = &r.abuse_phone {
                        vcard_tel(j, "voice", p, None);
                    }
                    if let Some(e) = &r.abuse_email {
                        vcard_text(j, "email", e);
                    }
                });
            });
        });
    }
    if full {
        events(j, |j| {
            event(j, "registration", r.created);
            event(j, "last changed", r.updated);
            event(j, "last update of RDAP database", basis.now);
        });
    }
}

/// RFC 9537 redaction notes, collected while contacts are written.
#[derive(Default)]
struct Redactions(Vec<String>);

impl Redactions {
    fn add(&mut self, name: &str, pre: Option<&str>, post: Option<&str>, method: &str) {
        let mut j = Json::with_capacity(256);
        j.object(|j| {
            j.key("name").object(|j| {
                j.field("type", name);
            });
            if let Some(p) = pre {
                j.field("prePath", p);
            }
            if let Some(p) = post {
                j.field("postPath", p);
            }
            j.field("pathLang", "jsonpath").field("method", method);
            j.key("reason").object(|j| {
                j.field("description", "Server policy");
            });
        });
        self.0.push(j.finish());
    }

    fn write(&self, j: &mut Json) {
        if self.0.is_empty() {
            return;
        }
        j.key("redacted").array(|j| {
            for r in &self.0 {
                j.raw(r);
            }
        });
    }
}

/// A contact in `role` (`registrant`, `technical`), its withheld fields
/// noted in `redacted` with the profile's methods. `path` locates the entity
/// (`$.entities[?(@.roles[0]=='registrant')]`, or `$` for a bare lookup).
/// Writes the entity's members; the caller opens the object.
fn contact_members(j: &mut Json, c: &Contact, role: &str, path: &str, handle: bool, redacted: &mut Redactions) {
    let label = if role == "registrant" { "Registrant" } else { "Tech" };
    let vpath = |field: &str| format!("{path}.vcardArray[1][?(@[0]=='{field}')]");
    let postal = c.postal_int.as_ref().or(c.postal_loc.as_ref());
    j.field("objectClassName", "entity");
    if handle {
        j.field("handle", c.id.as_str());
    } else {
        j.key("roles").strings([role]);
        // Registry contact ids are personal data under the profile: removed.
        redacted.add(&format!("Registry {label} ID"), Some(&format!("{path}.handle")), None, "removal");
    }
    vcard(j, |j| {
        if disclosed(c, ContactField::Name) {
            vcard_text(j, "fn", postal.map(|p| p.name.as_str()).unwrap_or_default());
        } else {
            vcard_text(j, "fn", "");
            redacted.add(&format!("{label} Name"), None, Some(&format!("{}[3]", vpath("fn"))), "emptyValue");
        }
        if let Some(org) = postal.and_then(|p| p.org.as_deref()) {
            if disclosed(c, ContactField::Organization) {
                vcard_text(j, "org", org);
            } else if role == "registrant" {
                redacted.add(&format!("{label} Organization"), Some(&vpath("org")), None, "removal");
            }
        }
        if role == "registrant"
            && let Some(p) = postal
        {
            let a = &p.address;
            let show = disclosed(c, ContactField::Address);
            let street = a.street.join(", ");
            let pick = |v: &str| if show { v.to_string() } else { String::new() };
            let (street, city, code) = (pick(&street), pick(&a.city), pick(a.postal_code.as_deref().unwrap_or_default()));
            vcard_adr(j, &a.country_code, ["", "", &street, &city, a.state.as_deref().unwrap_or_default(), &code, ""]);
            if !show {
                for (name, index) in [("Street", 2), ("City", 3), ("Postal Code", 5)] {
                    redacted.add(&format!("{label} {name}"), None, Some(&format!("{}[3][{index}]", vpath("adr"))), "emptyValue");
                }
            }
        }
        // Each path selects its own tel entry only: a disclosed fax must not match a withheld voice (RFC 9537 §4.2).
        let tel_path = |kind: &str| format!("{path}.vcardArray[1][?(@[0]=='tel' && @[1].type[0]=='{kind}')]");
        match &c.voice {
            Some(v) if disclosed(c, ContactField::Phone) => vcard_tel(j, "voice", &v.number, v.ext.as_deref()),
            Some(_) => redacted.add(&format!("{label} Phone"), Some(&tel_path("voice")), None, "removal"),
            None => {}
        }
        if role == "registrant" {
            match &c.fax {
                Some(f) if disclosed(c, ContactField::Fax) => vcard_tel(j, "fax", &f.number, f.ext.as_deref()),
                Some(_) => redacted.add(&format!("{label} Fax"), Some(&tel_path("fax")), None, "removal"),
                None => {}
            }
        }
        if disclosed(c, ContactField::Email) {
            vcard_text(j, "email", &c.email);
        } else {
            redacted.add(&format!("{label} Email"), Some(&vpath("email")), None, "removal");
        }
    });
}

/// A name server's members; `record` (statuses, sponsor) makes it a full
/// object, `None` a summary within a domain.
fn nameserver_members(j: &mut Json, host: &Host, record: Option<&PublicHost>, basis: &ResponseBasis) {
    let name = host.name.as_str();
    j.field("objectClassName", "nameserver").field("handle", host.roid.as_str()).field("ldhName", name);
    if let Some(u) = unicode_name(&host.name) {
        j.field("unicodeName", &u);
    }
    j.key("links").array(|j| basis.link(j, "self", &[basis.base, "nameserver/", name], MEDIA_TYPE));
    if !host.addrs.is_empty() {
        // RFC 9083 §5.2: a family without addresses is left out, not given as an empty list.
        j.key("ipAddresses").object(|j| {
            for (family, v4) in [("v4", true), ("v6", false)] {
                let list: Vec<String> = host.addrs.iter().filter(|a| a.is_ipv4() == v4).map(|a| a.to_string()).collect();
                if !list.is_empty() {
                    j.key(family).strings(list.iter().map(String::as_str));
                }
            }
        });
    }
    if let Some(h) = record {
        j.key("status").strings(rdap_statuses(h.statuses.iter().copied()));
        events(j, |j| {
            event(j, "registration", host.created);
            if let Some(u) = host.updated {
                event(j, "last changed", u);
            }
            event(j, "last update of RDAP database", basis.now);
        });
        if let Some(r) = &h.registrar {
            j.key("entities").array(|j| registrar_entity(j, r, basis, false));
        }
    }
}

/// A domain object; `top` makes it a whole response with its contacts,
/// conformance, notices and redactions (search results leave those out).
pub fn domain(d: &PublicDomain, basis: &ResponseBasis, top: bool) -> String {
    let mut j = Json::with_capacity(if top { 6144 } else { 2048 });
    let mut redacted = Redactions::default();
    // Contacts are written first so the conformance list knows whether anything was redacted.
    let mut contacts = Json::with_capacity(1024);
    if top {
        if let Some(c) = &d.registrant {
            let path = "$.entities[?(@.roles[0]=='registrant')]";
            contacts.object(|j| contact_members(j, c, "registrant", path, false, &mut redacted));
        }
        if let Some(c) = &d.tech {
            let path = "$.entities[?(@.roles[0]=='technical')]";
            contacts.object(|j| contact_members(j, c, "technical", path, false, &mut redacted));
        }
    }
    let contacts = contacts.finish();
    let members = |j: &mut Json| {
        domain_members(j, d, basis, &contacts);
        if top {
            j.template(&basis.notices.domain, basis.request_url);
            redacted.write(j);
        }
    };
    if top {
        response(&mut j, !redacted.0.is_empty(), members);
    } else {
        j.object(members);
    }
    j.finish()
}

/// RFC 9083 `variants`: registered variants, then those that are not,
/// whose registration the TLD's variant policy restricts.
fn variants(j: &mut Json, v: &crate::rdds::PublicVariants) {
    let names = |j: &mut Json, names: &[crate::model::DomainName]| {
        j.key("variantNames").array(|j| {
            for n in names {
                j.object(|j| {
                    j.field("ldhName", n.as_str());
                    if let Some(u) = unicode_name(n) {
                        j.field("unicodeName", &u);
                    }
                });
            }
        });
    };
    j.key("variants").array(|j| {
        if !v.registered.is_empty() {
            j.object(|j| {
                j.key("relation").strings(["registered"]);
                j.field("idnTable", &v.idn_table);
                names(j, &v.registered);
            });
        }
        j.object(|j| {
            j.key("relation").strings(["unregistered", "registration restricted"]);
            j.field("idnTable", &v.idn_table);
            names(j, &v.unregistered);
        });
    });
}

fn domain_members(j: &mut Json, d: &PublicDomain, basis: &ResponseBasis, contacts: &str) {
    let name = d.domain.name.as_str();
    j.field("objectClassName", "domain").field("handle", d.domain.roid.as_str()).field("ldhName", name);
    if let Some(u) = unicode_name(&d.domain.name) {
        j.field("unicodeName", &u);
    }
    if let Some(v) = &d.variants {
        variants(j, v);
    }
    j.key("links").array(|j| {
        basis.link(j, "self", &[basis.base, "domain/", name], MEDIA_TYPE);
        if let Some(base) = d.registrar.as_ref().and_then(|r| r.rdap_base_url.as_deref()) {
            basis.link(j, "related", &[base.trim_end_matches('/'), "/domain/", name], MEDIA_TYPE);
        }
    });
    j.key("status").strings(rdap_statuses(d.statuses.iter().copied()));
    events(j, |j| {
        event(j, "registration", d.domain.created);
        event(j, "expiration", d.domain.expires);
        if let Some(u) = d.domain.updated {
            event(j, "last changed", u);
        }
        if let Some(t) = d.domain.transferred {
            event(j, "transfer", t);
        }
        event(j, "last update of RDAP database", basis.now);
    });
    j.key("nameservers").array(|j| {
        for h in &d.nameservers {
            let render = |j: &mut Json, basis: &ResponseBasis| {
                j.object(|j| nameserver_members(j, h, None, basis));
            };
            // Only name servers of several domains are worth keeping.
            if h.link_count > 1 {
                basis.fragment(j, FragmentKey::Nameserver(h.roid.clone()), render);
            } else {
                render(j, basis);
            }
        }
    });
    j.key("secureDNS").object(|j| {
        j.key("zoneSigned").boolean(false).key("delegationSigned").boolean(!d.domain.ds.is_empty());
        // An unsigned delegation has no dsData member rather than an empty one (ICANN's rdap-test warns on `[]`).
        if !d.domain.ds.is_empty() {
            j.key("dsData").array(|j| {
                for ds in &d.domain.ds {
                    j.object(|j| {
                        j.key("keyTag").number(ds.key_tag.into()).key("algorithm").number(ds.algorithm.into());
                        j.key("digestType").number(ds.digest_type.into());
                        j.field("digest", &crate::model::objects::hex_bytes::encode_upper(&ds.digest));
                    });
                }
            });
        }
    });
    j.key("entities").array(|j| {
        if let Some(r) = &d.registrar {
            basis.fragment(j, FragmentKey::Registrar(r.id.clone()), |j, basis| registrar_entity(j, r, basis, false));
        }
        if !contacts.is_empty() {
            j.raw(contacts);
        }
    });
}

pub fn nameserver(h: &PublicHost, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(2048);
    response(&mut j, false, |j| {
        nameserver_members(j, &h.host, Some(h), basis);
        j.template(&basis.notices.terms, basis.request_url);
    });
    j.finish()
}

pub fn host_summary(h: &PublicHost, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(1024);
    j.object(|j| nameserver_members(j, &h.host, Some(h), basis));
    j.finish()
}

pub fn registrar(r: &Registrar, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(3072);
    response(&mut j, false, |j| {
        registrar_members(j, r, basis, true);
        j.template(&basis.notices.terms, basis.request_url);
    });
    j.finish()
}

/// A contact looked up by its handle: only what its owner chose to disclose.
pub fn contact(c: &Contact, basis: &ResponseBasis) -> String {
    let mut redacted = Redactions::default();
    // The members first, so the conformance list knows whether anything was redacted.
    let mut members = Json::with_capacity(1024);
    contact_members(&mut members, c, "registrant", "$", true, &mut redacted);
    members.key("links").array(|j| basis.link(j, "self", &[basis.base, "entity/", c.id.as_str()], MEDIA_TYPE));
    events(&mut members, |j| {
        event(j, "registration", c.created);
        event(j, "last update of RDAP database", basis.now);
    });
    let members = members.finish();
    let mut j = Json::with_capacity(members.len() + 2048);
    response(&mut j, !redacted.0.is_empty(), |j| {
        j.raw(&members);
        j.template(&basis.notices.terms, basis.request_url);
        redacted.write(j);
    });
    j.finish()
}

/// A contact in search results: its handle, and its name where disclosed.
pub fn contact_summary(c: &Contact, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(512);
    j.object(|j| {
        j.field("objectClassName", "entity").field("handle", c.id.as_str());
        j.key("links").array(|j| basis.link(j, "self", &[basis.base, "entity/", c.id.as_str()], MEDIA_TYPE));
        if disclosed(c, ContactField::Name) {
            let name = c.postal_int.as_ref().or(c.postal_loc.as_ref()).map(|p| p.name.as_str()).unwrap_or_default();
            vcard(j, |j| vcard_text(j, "fn", name));
        }
    });
    j.finish()
}

pub fn help(basis: &ResponseBasis, searches: bool) -> String {
    let mut lines = vec![
        "domain/<name>: a domain registered here (A-label or U-label)",
        "nameserver/<name>: a name server",
        "entity/<IANA id>: a registrar; entity/<handle>: a contact",
    ];
    if searches {
        lines.push("domains?name=, domains?nsLdhName=, domains?nsIp=, nameservers?name=, nameservers?ip=, entities?fn=, entities?handle= (a trailing * matches any ending)");
    }
    lines.push("Queries are rate limited per client address and network; exceeding the limit returns 429 with Retry-After.");
    let mut j = Json::with_capacity(2048);
    response(&mut j, false, |j| {
        j.key("notices").array(|j| {
            basis.terms_of_service(j);
            j.object(|j| {
                j.field("title", "Queries").key("description").strings(lines);
                j.key("links").array(|j| basis.link(j, "self", &[basis.base, "help"], MEDIA_TYPE));
            });
        });
    });
    j.finish()
}

/// An RDAP error body (RFC 9083 §6).
pub fn error(code: u16, title: &str, description: &str, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(1024);
    response(&mut j, false, |j| {
        j.key("errorCode").number(code.into()).field("title", title).key("description").strings([description]);
        j.template(&basis.notices.terms, basis.request_url);
    });
    j.finish()
}

/// Search results; `truncated` adds the RFC 9083 §8 notice.
pub fn search_results(key: &str, results: &[String], truncated: bool, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(results.iter().map(String::len).sum::<usize>() + 2048);
    response(&mut j, false, |j| {
        j.key(key).array(|j| {
            for r in results {
                j.raw(r);
            }
        });
        j.key("notices").array(|j| {
            basis.terms_of_service(j);
            if truncated {
                j.object(|j| {
                    j.field("title", "Search Policy").field("type", "result set truncated due to excessive load");
                    j.key("description").strings(["The result set was cut short; narrow the search for more."]);
                });
            }
        });
    });
    j.finish()
}

/// A registrar entity for search results (full vCard, no top-level members).
pub fn registrar_summary(r: &Registrar, basis: &ResponseBasis) -> String {
    let mut j = Json::with_capacity(2048);
    registrar_entity(&mut j, r, basis, true);
    j.finish()
}
