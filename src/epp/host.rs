//! The host mapping (RFC 5732): commands into registry commands or
//! snapshot reads, and `chkData`, `infData` and `creData` out.

use std::net::IpAddr;

use super::ext;
use super::mapping::{ClientView, Render, Verdict, check_items};
use super::render::{Response, fragment};
use super::request::Verb;
use super::result::{EppError, code};
use super::xml::{self, Element, Ns};
use crate::model::{DomainName, HostStatus};
use crate::registry::command::*;
use crate::registry::{Outcome, RegistryError};

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.child(&Ns::Host, name)
}

fn name(parent: &Element) -> Result<DomainName, EppError> {
    let n = child(parent, "name").ok_or_else(|| EppError::syntax("<host:name> is missing"))?;
    DomainName::parse(n.trimmed()).map_err(|e| EppError::new(code::VALUE_SYNTAX, format!("{:?}: {e}", n.trimmed())))
}

/// `<host:addr ip="v4|v6">`: the text must be an address of the family named.
fn addresses(parent: &Element) -> Result<Vec<IpAddr>, EppError> {
    parent
        .children_named(&Ns::Host, "addr")
        .map(|a| {
            let text = a.trimmed();
            let addr: IpAddr = text.parse().map_err(|_| EppError::new(code::VALUE_SYNTAX, format!("{text:?} is not an IP address")))?;
            match (a.attr("ip").unwrap_or("v4"), addr) {
                ("v4", IpAddr::V4(_)) | ("v6", IpAddr::V6(_)) => Ok(addr),
                (family, _) => Err(EppError::new(code::VALUE_SYNTAX, format!("{text} is not an {family} address"))),
            }
        })
        .collect()
}

fn statuses(parent: &Element) -> Result<Vec<HostStatus>, EppError> {
    parent
        .children_named(&Ns::Host, "status")
        .map(|s| HostStatus::parse(s.attr("s").unwrap_or_default()).map_err(|e| EppError::syntax(e.to_string())))
        .collect()
}

pub fn handle(verb: Verb, object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    ext::only(extension, &[])?;
    match (verb, object.name.as_str()) {
        (Verb::Check, "check") => check(object, cx),
        (Verb::Info, "info") => info(object, cx),
        (Verb::Create, "create") => {
            let spec = CreateHost { name: name(object)?, registrar: None, addresses: addresses(object)?, statuses: Vec::new() };
            Ok(Verdict::Execute(Command::CreateHost(spec), Render::HostCreate))
        }
        (Verb::Update, "update") => {
            let mut spec = UpdateHost::default();
            if let Some(add) = child(object, "add") {
                spec.add_addresses = addresses(add)?;
                spec.add_statuses = statuses(add)?;
            }
            if let Some(rem) = child(object, "rem") {
                spec.remove_addresses = addresses(rem)?;
                spec.remove_statuses = statuses(rem)?;
            }
            if let Some(chg) = child(object, "chg") {
                spec.new_name = Some(name(chg)?);
            }
            Ok(Verdict::Execute(Command::UpdateHost(name(object)?, spec), Render::Plain))
        }
        (Verb::Delete, "delete") => Ok(Verdict::Execute(Command::DeleteHost(name(object)?), Render::Plain)),
        _ => Err(EppError::new(code::UNIMPLEMENTED_COMMAND, format!("hosts have no <{}> here", object.name))),
    }
}

fn check(object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let names = check_items(object, &Ns::Host, "name")?;
    let mut w = fragment();
    w.open("host:chkData", &[("xmlns:host", xml::HOST)]);
    for n in names {
        let text = n.trimmed();
        let (available, reason) = match DomainName::parse(text) {
            Err(_) => (false, Some("invalid host name")),
            Ok(parsed) => match cx.snapshot.host_by_name(&parsed).map_err(RegistryError::from)? {
                Some(_) => (false, Some("in use")),
                None => (true, None),
            },
        };
        w.open("host:cd", &[]).leaf("host:name", &[("avail", if available { "1" } else { "0" })], text);
        if let Some(r) = reason {
            w.leaf("host:reason", &[], r);
        }
        w.close();
    }
    Ok(Verdict::Reply(Response::new(code::OK).res_data(w.finish())))
}

fn info(object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let host_name = name(object)?;
    let h = cx
        .snapshot
        .host_by_name(&host_name)
        .map_err(RegistryError::from)?
        .ok_or_else(|| EppError::new(code::NOT_FOUND, format!("{host_name} does not exist")))?;
    let mut w = fragment();
    w.open("host:infData", &[("xmlns:host", xml::HOST)]);
    w.leaf("host:name", &[], h.name.as_str()).leaf("host:roid", &[], h.roid.as_str());
    for s in h.statuses.displayed(h.is_linked()) {
        w.empty("host:status", &[("s", s.as_str())]);
    }
    for a in &h.addrs {
        w.leaf("host:addr", &[("ip", if a.is_ipv4() { "v4" } else { "v6" })], &a.to_string());
    }
    w.leaf("host:clID", &[], h.registrar.as_str()).leaf("host:crID", &[], h.cr_registrar.as_str());
    w.leaf("host:crDate", &[], &h.created.to_rfc3339());
    if let Some(up) = &h.up_registrar {
        w.leaf("host:upID", &[], up.as_str());
    }
    if let Some(u) = h.updated {
        w.leaf("host:upDate", &[], &u.to_rfc3339());
    }
    if let Some(t) = h.transferred {
        w.leaf("host:trDate", &[], &t.to_rfc3339());
    }
    Ok(Verdict::Reply(Response::new(code::OK).res_data(w.finish())))
}

pub fn render(after: &Render, outcome: Outcome) -> Response {
    match (after, outcome) {
        (Render::HostCreate, Outcome::Host(h)) => {
            let mut w = fragment();
            w.open("host:creData", &[("xmlns:host", xml::HOST)]);
            w.leaf("host:name", &[], h.name.as_str()).leaf("host:crDate", &[], &h.created.to_rfc3339());
            Response::new(code::OK).res_data(w.finish())
        }
        _ => Response::new(code::OK),
    }
}
