//! The contact mapping (RFC 5733): check, info (the sponsor, or a client
//! holding the authorization information), create, update, delete, and
//! transfer (request, query, approve, reject, cancel).

use super::ext;
use super::mapping::{ClientView, Render, Verdict, check_items};
use super::render::{Response, fragment};
use super::request::{TransferVerb, Verb};
use super::result::{EppError, code};
use super::xml::{self, Element, Ns};
use crate::model::objects::{Disclose, DiscloseField, Phone};
use crate::model::{Contact, ContactId, ContactStatus, PostalAddress, PostalInfo, Transfer};
use crate::registry::command::*;
use crate::registry::{ObjectKind, Outcome, RegistryError, query};

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.child(&Ns::Contact, name)
}

fn text(e: &Element, name: &str) -> Option<String> {
    child(e, name).map(|c| c.trimmed().to_string())
}

fn id(parent: &Element) -> Result<ContactId, EppError> {
    let id = text(parent, "id").ok_or_else(|| EppError::syntax("<contact:id> is missing"))?;
    ContactId::parse(&id).map_err(|e| EppError::new(code::VALUE_SYNTAX, e.to_string()))
}

fn postal(p: &Element) -> Result<PostalInfo, EppError> {
    let addr = child(p, "addr").ok_or_else(|| EppError::syntax("<contact:addr> is missing"))?;
    Ok(PostalInfo {
        name: text(p, "name").ok_or_else(|| EppError::syntax("<contact:name> is missing"))?,
        org: text(p, "org"),
        address: PostalAddress {
            street: addr.children_named(&Ns::Contact, "street").map(|s| s.trimmed().to_string()).collect(),
            city: text(addr, "city").ok_or_else(|| EppError::syntax("<contact:city> is missing"))?,
            state: text(addr, "sp"),
            postal_code: text(addr, "pc"),
            country_code: text(addr, "cc").ok_or_else(|| EppError::syntax("<contact:cc> is missing"))?,
        },
    })
}

/// `(int, loc)` postal information.
fn postal_infos(parent: &Element) -> Result<(Option<PostalInfo>, Option<PostalInfo>), EppError> {
    let (mut int, mut loc) = (None, None);
    for p in parent.children_named(&Ns::Contact, "postalInfo") {
        match p.attr("type") {
            Some("int") => int = Some(postal(p)?),
            Some("loc") => loc = Some(postal(p)?),
            _ => return Err(EppError::syntax("postalInfo type must be int or loc")),
        }
    }
    Ok((int, loc))
}

/// E.164 in EPP form (`+CC.NUMBER`, checked by the registry) with an optional extension; empty means none.
fn phone(e: &Element) -> Result<Option<Phone>, EppError> {
    let number = e.trimmed();
    Ok((!number.is_empty()).then(|| Phone { number: number.to_string(), ext: e.attr("x").map(str::to_string) }))
}

fn disclose(parent: &Element) -> Result<Option<Disclose>, EppError> {
    let Some(d) = child(parent, "disclose") else { return Ok(None) };
    let flag = matches!(d.attr("flag"), Some("1" | "true"));
    let mut fields = Vec::new();
    for f in &d.children {
        let typed = |int, loc| if f.attr("type") == Some("loc") { loc } else { int };
        fields.push(match f.name.as_str() {
            "name" => typed(DiscloseField::NameInt, DiscloseField::NameLoc),
            "org" => typed(DiscloseField::OrgInt, DiscloseField::OrgLoc),
            "addr" => typed(DiscloseField::AddrInt, DiscloseField::AddrLoc),
            "voice" => DiscloseField::Voice,
            "fax" => DiscloseField::Fax,
            "email" => DiscloseField::Email,
            other => return Err(EppError::syntax(format!("<contact:{other}> cannot be disclosed"))),
        });
    }
    Ok(Some(Disclose { flag, fields }))
}

fn auth_info(parent: &Element) -> Result<Option<String>, EppError> {
    let Some(a) = child(parent, "authInfo") else { return Ok(None) };
    if child(a, "ext").is_some() {
        return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "extended authorization information is not supported"));
    }
    Ok(Some(child(a, "pw").ok_or_else(|| EppError::syntax("<contact:pw> is missing"))?.text.clone()))
}

fn statuses(parent: &Element) -> Result<Vec<ContactStatus>, EppError> {
    parent
        .children_named(&Ns::Contact, "status")
        .map(|s| ContactStatus::parse(s.attr("s").unwrap_or_default()).map_err(|e| EppError::syntax(e.to_string())))
        .collect()
}

pub fn handle(verb: Verb, object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    ext::only(extension, &[])?;
    match (verb, object.name.as_str()) {
        (Verb::Check, "check") => check(object, cx),
        (Verb::Info, "info") => info(object, cx),
        (Verb::Create, "create") => {
            let (postal_int, postal_loc) = postal_infos(object)?;
            if postal_int.is_none() && postal_loc.is_none() {
                return Err(EppError::syntax("a contact needs postal information"));
            }
            let spec = CreateContact {
                id: id(object)?,
                registrar: None,
                email: text(object, "email").ok_or_else(|| EppError::syntax("<contact:email> is missing"))?,
                postal_int,
                postal_loc,
                voice: child(object, "voice").map(phone).transpose()?.flatten(),
                fax: child(object, "fax").map(phone).transpose()?.flatten(),
                disclose: disclose(object)?,
                auth_info: Some(auth_info(object)?.ok_or_else(|| EppError::syntax("<contact:authInfo> is missing"))?),
                auth_info_hash: None,
            };
            Ok(Verdict::Execute(Command::CreateContact(spec), Render::ContactCreate))
        }
        (Verb::Update, "update") => {
            let mut spec = UpdateContact::default();
            if let Some(add) = child(object, "add") {
                spec.add_statuses = statuses(add)?;
            }
            if let Some(rem) = child(object, "rem") {
                spec.remove_statuses = statuses(rem)?;
            }
            if let Some(chg) = child(object, "chg") {
                let (int, loc) = postal_infos(chg)?;
                spec.postal_int = int;
                spec.postal_loc = loc;
                spec.email = text(chg, "email");
                spec.voice = child(chg, "voice").map(phone).transpose()?;
                spec.fax = child(chg, "fax").map(phone).transpose()?;
                spec.disclose = disclose(chg)?;
                spec.auth_info = auth_info(chg)?;
            }
            Ok(Verdict::Execute(Command::UpdateContact(id(object)?, spec), Render::Plain))
        }
        (Verb::Delete, "delete") => Ok(Verdict::Execute(Command::DeleteContact(id(object)?), Render::Plain)),
        (Verb::Transfer(op), "transfer") => transfer(op, object, cx),
        _ => Err(EppError::new(code::UNIMPLEMENTED_COMMAND, format!("contacts have no <{}> here", object.name))),
    }
}

fn check(object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let ids = check_items(object, &Ns::Contact, "id")?;
    let mut w = fragment();
    w.open("contact:chkData", &[("xmlns:contact", xml::CONTACT)]);
    for e in ids {
        let text = e.trimmed();
        let (available, reason) = match ContactId::parse(text) {
            Err(_) => (false, Some("invalid id")),
            Ok(parsed) => match cx.snapshot.contact(&parsed).map_err(RegistryError::from)? {
                Some(_) => (false, Some("in use")),
                None => (true, None),
            },
        };
        w.open("contact:cd", &[]).leaf("contact:id", &[("avail", if available { "1" } else { "0" })], text);
        if let Some(r) = reason {
            w.leaf("contact:reason", &[], r);
        }
        w.close();
    }
    Ok(Verdict::Reply(Response::new(code::OK).res_data(w.finish())))
}

fn info(object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let c = query::contact_for(&cx.snapshot, &cx.registrar, &id(object)?, auth_info(object)?.as_deref())?;
    Ok(Verdict::Reply(Response::new(code::OK).res_data(info_data(&c))))
}

/// `<element type="kind">` holding a contact's postal information in the
/// `contact` namespace (EPP's `contact:postalInfo`, escrow's
/// `rdeContact:postalInfo`).
pub fn write_postal(w: &mut xml::Writer, element: &'static str, kind: &str, p: &PostalInfo) {
    w.open(element, &[("type", kind)]).leaf("contact:name", &[], &p.name);
    if let Some(org) = &p.org {
        w.leaf("contact:org", &[], org);
    }
    w.open("contact:addr", &[]);
    for s in &p.address.street {
        w.leaf("contact:street", &[], s);
    }
    w.leaf("contact:city", &[], &p.address.city);
    if let Some(sp) = &p.address.state {
        w.leaf("contact:sp", &[], sp);
    }
    if let Some(pc) = &p.address.postal_code {
        w.leaf("contact:pc", &[], pc);
    }
    w.leaf("contact:cc", &[], &p.address.country_code).close().close();
}

fn info_data(c: &Contact) -> String {
    let mut w = fragment();
    w.open("contact:infData", &[("xmlns:contact", xml::CONTACT)]);
    w.leaf("contact:id", &[], c.id.as_str()).leaf("contact:roid", &[], c.roid.as_str());
    for s in c.statuses.displayed(c.link_count > 0) {
        w.empty("contact:status", &[("s", s.as_str())]);
    }
    if let Some(p) = &c.postal_int {
        write_postal(&mut w, "contact:postalInfo", "int", p);
    }
    if let Some(p) = &c.postal_loc {
        write_postal(&mut w, "contact:postalInfo", "loc", p);
    }
    for (element, phone) in [("contact:voice", &c.voice), ("contact:fax", &c.fax)] {
        if let Some(p) = phone {
            let attrs: Vec<(&str, &str)> = p.ext.as_deref().map(|x| vec![("x", x)]).unwrap_or_default();
            w.leaf(element, &attrs, &p.number);
        }
    }
    w.leaf("contact:email", &[], &c.email);
    w.leaf("contact:clID", &[], c.registrar.as_str()).leaf("contact:crID", &[], c.cr_registrar.as_str());
    w.leaf("contact:crDate", &[], &c.created.to_rfc3339());
    if let Some(up) = &c.up_registrar {
        w.leaf("contact:upID", &[], up.as_str());
    }
    if let Some(u) = c.updated {
        w.leaf("contact:upDate", &[], &u.to_rfc3339());
    }
    if let Some(t) = c.transferred {
        w.leaf("contact:trDate", &[], &t.to_rfc3339());
    }
    w.finish()
}

fn transfer(op: TransferVerb, object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let id = id(object)?;
    let op = match op {
        TransferVerb::Query => {
            let contact =
                cx.snapshot.contact(&id).map_err(RegistryError::from)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, &id))?;
            let transfer = query::transfer_for(contact.transfer.as_ref(), &cx.registrar, id.as_str())?;
            return Ok(Verdict::Reply(Response::new(code::OK).res_data(transfer_data(&id, transfer))));
        }
        TransferVerb::Request => {
            let pw = auth_info(object)?
                .ok_or_else(|| EppError::new(code::AUTH_INFO, "a transfer request needs the authorization information"))?;
            TransferOp::Request { years: 0, auth_info: pw, fee: None }
        }
        TransferVerb::Approve => TransferOp::Approve,
        TransferVerb::Reject => TransferOp::Reject,
        TransferVerb::Cancel => TransferOp::Cancel,
    };
    Ok(Verdict::Execute(Command::TransferContact(id, op), Render::Plain))
}

/// `<contact:trnData>`.
pub fn transfer_data(id: &ContactId, t: &Transfer) -> String {
    let mut w = fragment();
    w.open("contact:trnData", &[("xmlns:contact", xml::CONTACT)]);
    w.leaf("contact:id", &[], id.as_str()).leaf("contact:trStatus", &[], t.status.as_str());
    w.leaf("contact:reID", &[], t.gaining.as_str()).leaf("contact:reDate", &[], &t.requested.to_rfc3339());
    w.leaf("contact:acID", &[], t.losing.as_str()).leaf("contact:acDate", &[], &t.acted.to_rfc3339());
    w.finish()
}

pub fn render(after: &Render, outcome: Outcome) -> Response {
    match (after, outcome) {
        (_, Outcome::ContactTransfer { id, transfer, pending }) => {
            Response::new(if pending { code::OK_PENDING } else { code::OK }).res_data(transfer_data(&id, &transfer))
        }
        (Render::ContactCreate, Outcome::Contact(c)) => {
            let mut w = fragment();
            w.open("contact:creData", &[("xmlns:contact", xml::CONTACT)]);
            w.leaf("contact:id", &[], c.id.as_str()).leaf("contact:crDate", &[], &c.created.to_rfc3339());
            Response::new(code::OK).res_data(w.finish())
        }
        _ => Response::new(code::OK),
    }
}
