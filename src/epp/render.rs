//! EPP documents the server sends: the greeting and responses (result,
//! message queue, resData, extensions, transaction ids). Object and
//! extension data arrive as fragments written by their own modules. An
//! extension fragment whose namespace the client did not declare at login is
//! not sent as an extension but reported in `<extValue>` (RFC 9038).

use std::sync::atomic::{AtomicU64, Ordering};

use super::result::text;
use super::xml::{self, Writer};
use crate::model::Timestamp;

/// The object and extension namespaces this server offers.
pub const OBJECT_URIS: &[&str] = &[xml::DOMAIN, xml::HOST, xml::CONTACT];
pub const EXTENSION_URIS: &[&str] = &[
    xml::SECDNS,
    xml::RGP,
    xml::FEE,
    xml::LAUNCH,
    xml::ALLOCATION_TOKEN,
    xml::LOGIN_SEC,
    xml::CHANGE_POLL,
    xml::SECURE_AUTHINFO,
    xml::UNHANDLED_NS,
];

pub fn greeting(server_id: &str, now: Timestamp) -> String {
    let mut w = Writer::new();
    w.open("epp", &[("xmlns", xml::EPP)]).open("greeting", &[]);
    w.leaf("svID", &[], server_id).leaf("svDate", &[], &now.to_rfc3339());
    w.open("svcMenu", &[]).leaf("version", &[], "1.0").leaf("lang", &[], "en");
    for uri in OBJECT_URIS {
        w.leaf("objURI", &[], uri);
    }
    w.open("svcExtension", &[]);
    for uri in EXTENSION_URIS {
        w.leaf("extURI", &[], uri);
    }
    w.close().close();
    w.open("dcp", &[]).open("access", &[]).empty("all", &[]).close();
    w.open("statement", &[]);
    w.open("purpose", &[]).empty("admin", &[]).empty("prov", &[]).close();
    w.open("recipient", &[]).empty("ours", &[]).empty("public", &[]).close();
    w.open("retention", &[]).empty("stated", &[]).close();
    w.close().close();
    w.finish()
}

/// A queued message shown in a poll response.
#[derive(Debug, Clone)]
pub struct MsgQ {
    pub count: u64,
    pub id: u64,
    pub queued: Timestamp,
    pub msg: String,
}

/// One response under construction.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub code: u16,
    /// Overrides the standard text of the code.
    pub msg: Option<String>,
    pub msgq: Option<MsgQ>,
    /// After an ack: `(messages left, the acknowledged id)`, as in RFC 5730 §2.9.2.3.
    pub acked: Option<(u64, u64)>,
    pub res_data: Option<String>,
    /// `(namespace, fragment)`: sent only where the client declared the namespace.
    pub extensions: Vec<(&'static str, String)>,
}

impl super::result::EppError {
    /// The response that carries this error.
    pub(super) fn into_response(self) -> Response {
        Response::with_msg(self.code, self.reason)
    }
}

impl Response {
    pub fn new(code: u16) -> Self {
        Response { code, ..Default::default() }
    }

    pub fn with_msg(code: u16, msg: impl Into<String>) -> Self {
        Response { code, msg: Some(msg.into()), ..Default::default() }
    }

    pub fn res_data(mut self, fragment: String) -> Self {
        self.res_data = Some(fragment);
        self
    }

    pub fn extension(mut self, ns: &'static str, fragment: String) -> Self {
        self.extensions.push((ns, fragment));
        self
    }

    /// Renders the document. `declared` are the extension namespaces of the session.
    pub fn to_xml(&self, cltrid: Option<&str>, svtrid: &str, declared: &[String]) -> String {
        let mut w = Writer::new();
        w.open("epp", &[("xmlns", xml::EPP)]).open("response", &[]);
        w.open("result", &[("code", &self.code.to_string())]);
        w.leaf("msg", &[], self.msg.as_deref().unwrap_or(text(self.code)));
        let mut sent = Vec::new();
        let mut unhandled = Vec::new();
        for (ns, fragment) in &self.extensions {
            if declared.iter().any(|d| d == ns) {
                sent.push(fragment);
            } else {
                unhandled.push((fragment, format!("{ns} not in login services")));
            }
        }
        for (value, reason) in unhandled {
            w.open("extValue", &[]).open("value", &[]);
            w.out.push_str(value);
            w.close().leaf("reason", &[], &reason).close();
        }
        w.close();
        if let Some(q) = &self.msgq {
            w.open("msgQ", &[("count", &q.count.to_string()), ("id", &q.id.to_string())]);
            w.leaf("qDate", &[], &q.queued.to_rfc3339()).leaf("msg", &[], &q.msg).close();
        } else if let Some((count, id)) = self.acked {
            w.empty("msgQ", &[("count", &count.to_string()), ("id", &id.to_string())]);
        }
        if let Some(data) = &self.res_data {
            w.open("resData", &[]);
            w.out.push_str(data);
            w.close();
        }
        if !sent.is_empty() {
            w.open("extension", &[]);
            for fragment in sent {
                w.out.push_str(fragment);
            }
            w.close();
        }
        w.open("trID", &[]);
        if let Some(c) = cltrid {
            w.leaf("clTRID", &[], c);
        }
        w.leaf("svTRID", &[], svtrid).close();
        w.finish()
    }
}

/// Server transaction ids: unique per process run and increasing.
pub fn next_svtrid() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    format!("DOS-{start:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Starts a fragment (no XML declaration) for resData or an extension.
pub fn fragment() -> Writer {
    Writer::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_extensions_go_to_ext_value() {
        let r = Response::new(1000).extension(xml::RGP, "<rgp:infData xmlns:rgp=\"urn:ietf:params:xml:ns:rgp-1.0\"/>".into());
        let with = r.to_xml(Some("ABC-1"), "S-1", &[xml::RGP.to_string()]);
        assert!(with.contains("<extension><rgp:infData"));
        let without = r.to_xml(Some("ABC-1"), "S-1", &[]);
        assert!(!without.contains("<extension>"));
        assert!(without.contains("<extValue><value><rgp:infData"));
        assert!(without.contains("urn:ietf:params:xml:ns:rgp-1.0 not in login services"));
        assert!(next_svtrid() != next_svtrid());
    }
}
