//! The outer shape of an EPP request (RFC 5730 §2): `<hello/>`, or a
//! `<command>` with one verb, an optional `<extension>` and `<clTRID>`. The
//! object-level element under the verb is handed on as it is, to the module
//! of its namespace.

use super::result::{EppError, code};
use super::xml::{Element, Ns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Check,
    Info,
    Create,
    Delete,
    Renew,
    Transfer(TransferVerb),
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferVerb {
    Request,
    Query,
    Approve,
    Reject,
    Cancel,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub client_id: String,
    pub password: String,
    pub new_password: Option<String>,
    pub version: String,
    pub lang: String,
    pub object_uris: Vec<String>,
    pub extension_uris: Vec<String>,
    /// RFC 8807 login security: `(pw, newPW)` when present.
    pub login_sec: Option<(Option<String>, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOp {
    Request,
    Ack(u64),
}

#[derive(Debug, Clone)]
pub enum Request {
    Hello,
    Login(Login, Option<String>),
    Logout(Option<String>),
    Poll(PollOp, Option<String>),
    Object { verb: Verb, object: Element, extension: Option<Element>, cltrid: Option<String> },
}

impl Request {
    pub fn cltrid(&self) -> Option<&str> {
        match self {
            Request::Hello => None,
            Request::Login(_, c) | Request::Logout(c) | Request::Poll(_, c) | Request::Object { cltrid: c, .. } => c.as_deref(),
        }
    }
}

fn required<'a>(parent: &'a Element, ns: &Ns, name: &str) -> Result<&'a Element, EppError> {
    parent.child(ns, name).ok_or_else(|| EppError::syntax(format!("<{name}> is missing from <{}>", parent.name)))
}

/// The client transaction id, if the command carries a well-formed one.
fn cltrid(command: &Element) -> Result<Option<String>, EppError> {
    match command.child(&Ns::Epp, "clTRID") {
        None => Ok(None),
        Some(c) => {
            let id = c.trimmed();
            if (3..=64).contains(&id.chars().count()) {
                Ok(Some(id.to_string()))
            } else {
                Err(EppError::syntax("clTRID must be 3 to 64 characters"))
            }
        }
    }
}

/// The clTRID of a document, as far as it can be found (for error responses).
pub fn salvage_cltrid(root: &Element) -> Option<String> {
    root.child(&Ns::Epp, "command").and_then(|c| cltrid(c).ok().flatten())
}

pub fn parse(root: &Element) -> Result<Request, EppError> {
    if !root.is(&Ns::Epp, "epp") {
        return Err(EppError::syntax("the root element must be <epp> in urn:ietf:params:xml:ns:epp-1.0"));
    }
    let [top] = root.children.as_slice() else {
        return Err(EppError::syntax("<epp> must contain exactly one element"));
    };
    if top.is(&Ns::Epp, "hello") {
        return Ok(Request::Hello);
    }
    if !top.is(&Ns::Epp, "command") {
        return Err(EppError::syntax(format!("<{}> is not a request", top.name)));
    }
    let command = top;
    let cl = cltrid(command)?;
    let mut verbs = command.children.iter().filter(|c| !(c.ns == Ns::Epp && (c.name == "extension" || c.name == "clTRID")));
    let (Some(verb), None) = (verbs.next(), verbs.next()) else {
        return Err(EppError::syntax("<command> must contain exactly one command element"));
    };
    if verb.ns != Ns::Epp {
        return Err(EppError::syntax(format!("<{}> is not an EPP command element", verb.name)));
    }
    let extension = command.child(&Ns::Epp, "extension").cloned();
    let object_verb = match verb.name.as_str() {
        "login" => return Ok(Request::Login(parse_login(verb, extension.as_ref())?, cl)),
        "logout" => return Ok(Request::Logout(cl)),
        "poll" => {
            let op = match verb.attr("op") {
                Some("req") => PollOp::Request,
                Some("ack") => {
                    let id = verb.attr("msgID").ok_or_else(|| EppError::syntax("an ack needs msgID"))?;
                    // Our message ids are numbers; any other id names no message we have.
                    PollOp::Ack(id.trim().parse().map_err(|_| EppError::new(code::NOT_FOUND, format!("no message {id}")))?)
                }
                _ => return Err(EppError::syntax("poll op must be req or ack")),
            };
            return Ok(Request::Poll(op, cl));
        }
        "check" => Verb::Check,
        "info" => Verb::Info,
        "create" => Verb::Create,
        "delete" => Verb::Delete,
        "renew" => Verb::Renew,
        "update" => Verb::Update,
        "transfer" => Verb::Transfer(match verb.attr("op") {
            Some("request") => TransferVerb::Request,
            Some("query") => TransferVerb::Query,
            Some("approve") => TransferVerb::Approve,
            Some("reject") => TransferVerb::Reject,
            Some("cancel") => TransferVerb::Cancel,
            _ => return Err(EppError::syntax("transfer op must be request, query, approve, reject or cancel")),
        }),
        other => return Err(EppError::new(code::UNKNOWN_COMMAND, format!("<{other}> is not an EPP command"))),
    };
    let [object] = verb.children.as_slice() else {
        return Err(EppError::syntax(format!("<{}> must contain exactly one object element", verb.name)));
    };
    Ok(Request::Object { verb: object_verb, object: object.clone(), extension, cltrid: cl })
}

fn parse_login(login: &Element, extension: Option<&Element>) -> Result<Login, EppError> {
    let options = required(login, &Ns::Epp, "options")?;
    let svcs = required(login, &Ns::Epp, "svcs")?;
    let login_sec = extension.and_then(|e| e.child(&Ns::LoginSec, "loginSec")).map(|ls| {
        let text = |n: &str| ls.child(&Ns::LoginSec, n).map(|e| e.text.clone());
        (text("pw"), text("newPW"))
    });
    Ok(Login {
        client_id: required(login, &Ns::Epp, "clID")?.trimmed().to_string(),
        password: required(login, &Ns::Epp, "pw")?.text.clone(),
        new_password: login.child(&Ns::Epp, "newPW").map(|e| e.text.clone()),
        version: required(options, &Ns::Epp, "version")?.trimmed().to_string(),
        lang: required(options, &Ns::Epp, "lang")?.trimmed().to_string(),
        object_uris: svcs.children_named(&Ns::Epp, "objURI").map(|e| e.trimmed().to_string()).collect(),
        extension_uris: svcs
            .child(&Ns::Epp, "svcExtension")
            .map(|s| s.children_named(&Ns::Epp, "extURI").map(|e| e.trimmed().to_string()).collect())
            .unwrap_or_default(),
        login_sec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epp::xml::{Limits, parse as parse_xml};

    const LIMITS: Limits = Limits { depth_max: 32, elements_max: 1000, text_bytes_max: 100_000 };

    fn req(body: &str) -> Result<Request, EppError> {
        let doc = format!(r#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">{body}</epp>"#);
        parse(&parse_xml(doc.as_bytes(), LIMITS).unwrap())
    }

    #[test]
    fn recognises_the_request_kinds() {
        assert!(matches!(req("<hello/>"), Ok(Request::Hello)));
        assert!(matches!(req("<command><logout/><clTRID>ABC-1</clTRID></command>"), Ok(Request::Logout(Some(c))) if c == "ABC-1"));
        assert!(matches!(req(r#"<command><poll op="ack" msgID="12"/></command>"#), Ok(Request::Poll(PollOp::Ack(12), None))));
        let login = req(r#"<command><login><clID>reg-1</clID><pw>secret1</pw><options><version>1.0</version><lang>en</lang></options>
            <svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI><svcExtension><extURI>urn:ietf:params:xml:ns:rgp-1.0</extURI></svcExtension></svcs></login></command>"#);
        let Ok(Request::Login(l, None)) = login else { panic!("{login:?}") };
        assert_eq!((l.client_id.as_str(), l.extension_uris.len()), ("reg-1", 1));
        let check = req(
            r#"<command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.example</domain:name></domain:check></check></command>"#,
        );
        assert!(matches!(check, Ok(Request::Object { verb: Verb::Check, ref object, .. }) if object.ns == Ns::Domain));
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        assert_eq!(req("<command><frobnicate/></command>").unwrap_err().code, code::UNKNOWN_COMMAND);
        assert_eq!(req("<command><check/><info/></command>").unwrap_err().code, code::SYNTAX);
        assert_eq!(req("<greeting/>").unwrap_err().code, code::SYNTAX);
        assert_eq!(req("<command><logout/><clTRID>x</clTRID></command>").unwrap_err().code, code::SYNTAX);
        assert_eq!(req(r#"<command><transfer op="steal"><x/></transfer></command>"#).unwrap_err().code, code::SYNTAX);
        assert_eq!(req(r#"<command><poll op="ack" msgID="abc"/></command>"#).unwrap_err().code, code::NOT_FOUND);
    }
}
