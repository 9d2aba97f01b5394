//! Reading and writing EPP XML. Incoming frames become a small
//! namespace-resolved element tree, within limits on depth, element count
//! and text size; DTDs are refused and only XML's predefined entities and
//! character references are understood, so nothing is ever expanded.
//! Outgoing documents are written with a tiny escaping writer.

use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The namespaces we speak (and anything else, kept by URI).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ns {
    Epp,
    Domain,
    Host,
    Contact,
    SecDns,
    Rgp,
    Fee,
    LoginSec,
    ChangePoll,
    Launch,
    AllocationToken,
    Other(String),
    None,
}

pub const EPP: &str = "urn:ietf:params:xml:ns:epp-1.0";
pub const DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
pub const HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
pub const CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
pub const SECDNS: &str = "urn:ietf:params:xml:ns:secDNS-1.1";
pub const RGP: &str = "urn:ietf:params:xml:ns:rgp-1.0";
pub const FEE: &str = "urn:ietf:params:xml:ns:epp:fee-1.0";
pub const LOGIN_SEC: &str = "urn:ietf:params:xml:ns:epp:loginSec-1.0";
pub const CHANGE_POLL: &str = "urn:ietf:params:xml:ns:changePoll-1.0";
pub const LAUNCH: &str = "urn:ietf:params:xml:ns:launch-1.0";
pub const ALLOCATION_TOKEN: &str = "urn:ietf:params:xml:ns:allocationToken-1.0";
pub const SECURE_AUTHINFO: &str = "urn:ietf:params:xml:ns:epp:secure-authinfo-transfer-1.0";
pub const UNHANDLED_NS: &str = "urn:ietf:params:xml:ns:epp:unhandled-namespaces-1.0";

impl Ns {
    fn from_uri(uri: &str) -> Ns {
        match uri {
            EPP => Ns::Epp,
            DOMAIN => Ns::Domain,
            HOST => Ns::Host,
            CONTACT => Ns::Contact,
            SECDNS => Ns::SecDns,
            RGP => Ns::Rgp,
            FEE => Ns::Fee,
            LOGIN_SEC => Ns::LoginSec,
            CHANGE_POLL => Ns::ChangePoll,
            LAUNCH => Ns::Launch,
            ALLOCATION_TOKEN => Ns::AllocationToken,
            other => Ns::Other(other.to_string()),
        }
    }

    pub fn uri(&self) -> &str {
        match self {
            Ns::Epp => EPP,
            Ns::Domain => DOMAIN,
            Ns::Host => HOST,
            Ns::Contact => CONTACT,
            Ns::SecDns => SECDNS,
            Ns::Rgp => RGP,
            Ns::Fee => FEE,
            Ns::LoginSec => LOGIN_SEC,
            Ns::ChangePoll => CHANGE_POLL,
            Ns::Launch => LAUNCH,
            Ns::AllocationToken => ALLOCATION_TOKEN,
            Ns::Other(uri) => uri,
            Ns::None => "",
        }
    }
}

/// One element: its namespace, local name, unqualified attributes, children and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: Ns,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &Ns, name: &str) -> bool {
        &self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &Ns, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(&'a self, ns: &'a Ns, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Text with surrounding white space removed (xs:token-like fields).
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Bounds on what one frame may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth_max: usize,
    pub elements_max: usize,
    pub text_bytes_max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    #[error("document type declarations are not accepted")]
    Dtd,
    #[error("entity &{0}; is not defined")]
    Entity(String),
    #[error("undeclared namespace prefix {0}")]
    UnknownPrefix(String),
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooManyElements(usize),
    #[error("more than {0} bytes of text")]
    TooMuchText(usize),
    #[error("the document is empty or has several root elements")]
    Root,
    /// Named by code point: echoing the character itself would break the response.
    #[error("character U+{0:04X} is not allowed in XML 1.0")]
    Char(u32),
}

/// XML 1.0 `Char` (§2.2): what a document may contain, raw or as a reference.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(text: &str) -> Result<(), XmlError> {
    match text.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(XmlError::Char(c as u32)),
        None => Ok(()),
    }
}

/// Parses one EPP document into its root element.
pub fn parse(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(input).map_err(|_| XmlError::Syntax("not UTF-8".into()))?;
    // Raw characters first, so no parser error message can quote one back.
    check_chars(text)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let (mut elements, mut text_bytes) = (0usize, 0usize);
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(|e| XmlError::Syntax(e.to_string()))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(Ns::from_uri(ns.as_ref())),
            ResolveResult::Unbound => Some(Ns::None),
            ResolveResult::Unknown(prefix) => return Err(XmlError::UnknownPrefix(prefix.to_string())),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() {
                    return Err(XmlError::Root);
                }
                if stack.len() >= limits.depth_max {
                    return Err(XmlError::TooDeep(limits.depth_max));
                }
                elements += 1;
                if elements > limits.elements_max {
                    return Err(XmlError::TooManyElements(limits.elements_max));
                }
                let name = start.local_name().as_ref().to_string();
                let attrs = attributes(start, &mut text_bytes)?;
                let element = Element { ns: ns.unwrap_or(Ns::None), name, attrs, children: Vec::new(), text: String::new() };
                if matches!(event, Event::Empty(_)) {
                    close(element, &mut stack, &mut root);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| XmlError::Syntax("unmatched end tag".into()))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                text_bytes += content.len();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(XmlError::Syntax("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let content = c.as_ref().to_string();
                text_bytes += content.len();
                stack.last_mut().ok_or_else(|| XmlError::Syntax("CDATA outside the root element".into()))?.text.push_str(&content);
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = resolve_reference(&name)?;
                text_bytes += resolved.len_utf8();
                stack.last_mut().ok_or_else(|| XmlError::Syntax("reference outside the root element".into()))?.text.push(resolved);
            }
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
        if text_bytes > limits.text_bytes_max {
            return Err(XmlError::TooMuchText(limits.text_bytes_max));
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unclosed element".into()));
    }
    root.ok_or(XmlError::Root)
}

/// An element's data attributes, their value bytes added to `text_bytes`.
fn attributes(start: &quick_xml::events::BytesStart, text_bytes: &mut usize) -> Result<Vec<(String, String)>, XmlError> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Syntax(e.to_string()))?;
        let key = attr.key;
        // Namespace declarations and qualified attributes (xsi:schemaLocation) are not data.
        if key.as_namespace_binding().is_some() || key.prefix().is_some() {
            continue;
        }
        let value = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| XmlError::Syntax(e.to_string()))?;
        check_chars(&value)?;
        *text_bytes += value.len();
        attrs.push((key.local_name().as_ref().to_string(), value.into_owned()));
    }
    Ok(attrs)
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// The five predefined entities and numeric character references to XML 1.0 `Char`s.
pub(crate) fn resolve_reference(name: &str) -> Result<char, XmlError> {
    let unknown = || XmlError::Entity(name.to_string());
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => {
            let number = name.strip_prefix('#').ok_or_else(unknown)?;
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => number.parse(),
            }
            .map_err(|_| unknown())?;
            char::from_u32(code).filter(|c| is_xml_char(*c)).ok_or(XmlError::Char(code))
        }
    }
}

/// Escapes text for element content and attribute values. A character XML
/// cannot carry at all becomes U+FFFD, so no stored or imported text can make
/// a response that is not XML.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"', '\'']) && text.chars().all(is_xml_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other if !is_xml_char(other) => out.push('\u{FFFD}'),
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Builds an XML document as text. Element and attribute names come from
/// our code; every value goes through [`escape`].
#[derive(Default)]
pub struct Writer {
    pub out: String,
    open: Vec<&'static str>,
}

impl Writer {
    pub fn new() -> Self {
        let mut w = Writer::default();
        w.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>");
        w
    }

    /// `<name attr="value" …>`; attribute values are escaped.
    pub fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(name, attrs);
        self.out.push('>');
        self.open.push(name);
        self
    }

    /// `<name attr="value" …/>`.
    pub fn empty(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(name, attrs);
        self.out.push_str("/>");
        self
    }

    /// `<name attr="value" …>text</name>`.
    pub fn leaf(&mut self, name: &'static str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.start(name, attrs);
        self.out.push('>');
        self.out.push_str(&escape(text));
        let _ = write!(self.out, "</{name}>");
        self
    }

    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            let _ = write!(self.out, "</{name}>");
        }
        self
    }

    fn start(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
    }

    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { depth_max: 16, elements_max: 100, text_bytes_max: 10_000 };

    #[test]
    fn parses_namespaces_attributes_and_references() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x y">
  <command>
    <check><d:check xmlns:d="urn:ietf:params:xml:ns:domain-1.0"><d:name>a&amp;b&#x41;</d:name></d:check></check>
    <clTRID>ABC-1</clTRID>
  </command>
</epp>"#;
        let root = parse(doc, LIMITS).unwrap();
        assert!(root.is(&Ns::Epp, "epp") && root.attrs.is_empty());
        let command = root.child(&Ns::Epp, "command").unwrap();
        let check = command.child(&Ns::Epp, "check").unwrap().child(&Ns::Domain, "check").unwrap();
        assert_eq!(check.child(&Ns::Domain, "name").unwrap().text, "a&bA");
        assert_eq!(command.child(&Ns::Epp, "clTRID").unwrap().trimmed(), "ABC-1");
    }

    #[test]
    fn refuses_dtds_entities_and_excess() {
        let dtd = br#"<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY x "boom">]><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">&x;</epp>"#;
        assert_eq!(parse(dtd, LIMITS), Err(XmlError::Dtd));
        let entity = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">&x;</epp>"#;
        assert_eq!(parse(entity, LIMITS), Err(XmlError::Entity("x".into())));
        let deep = format!("<a>{}</a>", "<b>".repeat(20) + &"</b>".repeat(20));
        assert_eq!(parse(deep.as_bytes(), LIMITS), Err(XmlError::TooDeep(16)));
        let wide = format!("<a>{}</a>", "<b/>".repeat(200));
        assert_eq!(parse(wide.as_bytes(), LIMITS), Err(XmlError::TooManyElements(100)));
        assert!(matches!(parse(b"<a><b></a>", LIMITS), Err(XmlError::Syntax(_))));
        assert!(matches!(parse(b"<x:a/>", LIMITS), Err(XmlError::UnknownPrefix(_))));
        assert_eq!(parse(b"<a/><b/>", LIMITS), Err(XmlError::Root));
        assert_eq!(parse(b"", LIMITS), Err(XmlError::Root));
        assert!(parse(b"\xff\xfe", LIMITS).is_err());
    }

    #[test]
    fn refuses_characters_outside_xml_char_raw_referenced_or_in_attributes() {
        let doc = |inner: &str| format!(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><a x="1">{inner}</a></epp>"#);
        assert_eq!(parse(doc("&#1;").as_bytes(), LIMITS), Err(XmlError::Char(1)));
        assert_eq!(parse(doc("&#x1b;").as_bytes(), LIMITS), Err(XmlError::Char(0x1b)));
        assert_eq!(parse(doc("&#xFFFE;").as_bytes(), LIMITS), Err(XmlError::Char(0xfffe)));
        assert_eq!(parse(doc("&#0;").as_bytes(), LIMITS), Err(XmlError::Char(0)));
        assert_eq!(parse(doc("a\u{1b}b").as_bytes(), LIMITS), Err(XmlError::Char(0x1b)));
        assert_eq!(parse(doc("a\0b").as_bytes(), LIMITS), Err(XmlError::Char(0)));
        assert_eq!(parse(doc("<![CDATA[\u{7}]]>").as_bytes(), LIMITS), Err(XmlError::Char(7)));
        let attr = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><a x="&#2;"/></epp>"#;
        assert_eq!(parse(attr, LIMITS), Err(XmlError::Char(2)));
        assert!(!XmlError::Char(0x1b).to_string().contains('\u{1b}'));
        // The edges of Char are accepted.
        let root = parse(doc("&#9;&#xD7FF;&#xE000;&#x10FFFF;\u{FFFD}").as_bytes(), LIMITS).unwrap();
        assert_eq!(root.children[0].text, "\t\u{D7FF}\u{E000}\u{10FFFF}\u{FFFD}");
    }

    #[test]
    fn writer_never_emits_a_character_xml_cannot_carry() {
        assert_eq!(escape("a\u{1b}b\0"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn writer_escapes_values() {
        let mut w = Writer::new();
        w.open("epp", &[("xmlns", EPP)]).leaf("msg", &[("lang", "en")], "a < b & \"c\"").close();
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><msg lang=\"en\">a &lt; b &amp; &quot;c&quot;</msg></epp>"
        );
    }
}
