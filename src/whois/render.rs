//! WHOIS answers in the ICANN format: `Key: value` lines in the order of
//! Registry Agreement Specification 4, UTC dates, `REDACTED FOR PRIVACY`
//! for withheld contact data, the status-code and inaccuracy-form lines,
//! the `>>> Last update of WHOIS database <<<` line and the disclaimer.

use std::fmt::Write as _;

use crate::config::WhoisConfig;
use crate::model::disclosure::{ContactField, disclosed};
use crate::model::{Contact, DomainName, Registrar, Timestamp};
use crate::rdds;
use crate::store::{Snapshot, StoreError};

const REDACTED: &str = "REDACTED FOR PRIVACY";

pub enum Query {
    Domain(Option<DomainName>),
    Nameserver(Option<DomainName>),
    Registrar(String),
}

impl Query {
    /// `NAME`, `domain NAME`, `nameserver NAME`, `registrar NAME-OR-IANA-ID` (keywords in any case).
    pub fn parse(line: &str) -> Query {
        let line = line.trim();
        let (keyword, rest) = line.split_once(char::is_whitespace).map_or((line, ""), |(k, r)| (k, r.trim()));
        match keyword.to_ascii_lowercase().as_str() {
            "domain" if !rest.is_empty() => Query::Domain(rdds::query_name(rest)),
            "nameserver" | "ns" if !rest.is_empty() => Query::Nameserver(rdds::query_name(rest)),
            "registrar" if !rest.is_empty() => Query::Registrar(rest.to_string()),
            _ => Query::Domain(rdds::query_name(line)),
        }
    }

    /// The name queried, for counting under its TLD.
    pub fn name(&self) -> Option<&DomainName> {
        match self {
            Query::Domain(n) | Query::Nameserver(n) => n.as_ref(),
            Query::Registrar(_) => None,
        }
    }
}

struct Out(String);

impl Out {
    /// One `Key: value` line. Control characters (CR and LF above all) become
    /// spaces: whatever a registrar stored, it cannot forge a line of its own.
    fn line(&mut self, key: &str, value: &str) {
        let _ = write!(self.0, "{key}: ");
        self.0.extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }));
        self.0.push_str("\r\n");
    }

    fn date(&mut self, key: &str, at: Option<Timestamp>) {
        self.line(key, &at.map(Timestamp::to_rfc3339_seconds).unwrap_or_default());
    }

    fn finish(mut self, now: Timestamp, cfg: &WhoisConfig, status_note: bool) -> String {
        let _ = write!(self.0, ">>> Last update of WHOIS database: {} <<<\r\n\r\n", now.to_rfc3339_seconds());
        if status_note {
            self.0.push_str("For more information on Whois status codes, please visit https://icann.org/epp\r\n\r\n");
        }
        let _ = write!(self.0, "{}\r\n", cfg.disclaimer);
        self.0
    }
}

pub fn answer(query: &Query, snapshot: &Snapshot, now: Timestamp, cfg: &WhoisConfig) -> Result<String, StoreError> {
    let mut out = Out(String::new());
    match query {
        Query::Domain(None) | Query::Nameserver(None) => {
            out.0.push_str("Malformed query: give a domain name, \"nameserver NAME\" or \"registrar NAME\".\r\n");
            Ok(out.finish(now, cfg, false))
        }
        Query::Domain(Some(name)) => match rdds::domain(snapshot, name, now)? {
            None => {
                out.0.push_str("Domain not found.\r\n");
                Ok(out.finish(now, cfg, false))
            }
            Some(d) => {
                let r = d.registrar.as_deref();
                out.line("Domain Name", &d.domain.name.as_str().to_ascii_uppercase());
                out.line("Registry Domain ID", d.domain.roid.as_str());
                out.line("Registrar WHOIS Server", r.and_then(|r| r.whois_server.as_deref()).unwrap_or_default());
                out.line("Registrar URL", r.and_then(|r| r.url.as_deref()).unwrap_or_default());
                out.date("Updated Date", d.domain.updated);
                out.date("Creation Date", Some(d.domain.created));
                out.date("Registry Expiry Date", Some(d.domain.expires));
                registrar_lines(&mut out, r);
                for s in &d.statuses {
                    out.line("Domain Status", &format!("{s} https://icann.org/epp#{s}"));
                }
                contact_lines(&mut out, "Registrant", d.registrant.as_ref(), true);
                contact_lines(&mut out, "Tech", d.tech.as_ref(), false);
                for h in &d.nameservers {
                    out.line("Name Server", &h.name.as_str().to_ascii_uppercase());
                }
                out.line("DNSSEC", if d.domain.ds.is_empty() { "unsigned" } else { "signedDelegation" });
                out.line("URL of the ICANN Whois Inaccuracy Complaint Form", "https://www.icann.org/wicf/");
                Ok(out.finish(now, cfg, true))
            }
        },
        Query::Nameserver(Some(name)) => match rdds::host(snapshot, name)? {
            None => {
                out.0.push_str("Nameserver not found.\r\n");
                Ok(out.finish(now, cfg, false))
            }
            Some(h) => {
                out.line("Server Name", &h.host.name.as_str().to_ascii_uppercase());
                for a in &h.host.addrs {
                    out.line("IP Address", &a.to_string());
                }
                let r = h.registrar.as_deref();
                out.line("Registrar", r.map(|r| r.name.as_str()).unwrap_or_default());
                out.line("Registrar WHOIS Server", r.and_then(|r| r.whois_server.as_deref()).unwrap_or_default());
                out.line("Registrar URL", r.and_then(|r| r.url.as_deref()).unwrap_or_default());
                Ok(out.finish(now, cfg, false))
            }
        },
        Query::Registrar(text) => {
            let wanted = text.to_ascii_lowercase();
            let found = snapshot.registrars()?.into_iter().find(|r| {
                r.name.to_ascii_lowercase() == wanted || r.iana_id.is_some_and(|i| i.to_string() == wanted) || r.id.as_str() == wanted
            });
            match found {
                None => out.0.push_str("Registrar not found.\r\n"),
                Some(r) => {
                    let a = &r.address;
                    out.line("Registrar", &r.name);
                    out.line("Street", &a.street.join(", "));
                    out.line("City", &a.city);
                    out.line("State/Province", a.state.as_deref().unwrap_or_default());
                    out.line("Postal Code", a.postal_code.as_deref().unwrap_or_default());
                    out.line("Country", &a.country_code);
                    out.line("Phone Number", r.phone.as_deref().unwrap_or_default());
                    out.line("Fax Number", r.fax.as_deref().unwrap_or_default());
                    out.line("Email", &r.email);
                    out.line("Registrar WHOIS Server", r.whois_server.as_deref().unwrap_or_default());
                    out.line("Registrar URL", r.url.as_deref().unwrap_or_default());
                    out.line("Registrar IANA ID", &r.iana_id.map(|i| i.to_string()).unwrap_or_default());
                }
            }
            Ok(out.finish(now, cfg, false))
        }
    }
}

fn registrar_lines(out: &mut Out, r: Option<&Registrar>) {
    out.line("Registrar", r.map(|r| r.name.as_str()).unwrap_or_default());
    out.line("Registrar IANA ID", &r.and_then(|r| r.iana_id).map(|i| i.to_string()).unwrap_or_default());
    out.line("Registrar Abuse Contact Email", r.and_then(|r| r.abuse_email.as_deref()).unwrap_or_default());
    out.line("Registrar Abuse Contact Phone", r.and_then(|r| r.abuse_phone.as_deref()).unwrap_or_default());
}

/// A contact block; withheld fields read REDACTED FOR PRIVACY, except the
/// state/province and country, which are always shown.
fn contact_lines(out: &mut Out, role: &str, contact: Option<&Contact>, full: bool) {
    let Some(c) = contact else { return };
    let postal = c.postal_int.as_ref().or(c.postal_loc.as_ref());
    let shown = |field: ContactField, value: String| if disclosed(c, field) { value } else { REDACTED.to_string() };
    out.line(&format!("Registry {role} ID"), REDACTED);
    out.line(&format!("{role} Name"), &shown(ContactField::Name, postal.map(|p| p.name.clone()).unwrap_or_default()));
    if full {
        out.line(
            &format!("{role} Organization"),
            &shown(ContactField::Organization, postal.and_then(|p| p.org.clone()).unwrap_or_default()),
        );
        let address = postal.map(|p| p.address.clone()).unwrap_or_default();
        out.line(&format!("{role} Street"), &shown(ContactField::Address, address.street.join(", ")));
        out.line(&format!("{role} City"), &shown(ContactField::Address, address.city.clone()));
        out.line(&format!("{role} State/Province"), address.state.as_deref().unwrap_or_default());
        out.line(&format!("{role} Postal Code"), &shown(ContactField::Address, address.postal_code.clone().unwrap_or_default()));
        out.line(&format!("{role} Country"), &address.country_code);
    }
    let phone = c.voice.as_ref();
    out.line(&format!("{role} Phone"), &shown(ContactField::Phone, phone.map(|p| p.number.clone()).unwrap_or_default()));
    out.line(&format!("{role} Phone Ext"), &shown(ContactField::Phone, phone.and_then(|p| p.ext.clone()).unwrap_or_default()));
    if full {
        let fax = c.fax.as_ref();
        out.line(&format!("{role} Fax"), &shown(ContactField::Fax, fax.map(|p| p.number.clone()).unwrap_or_default()));
        out.line(&format!("{role} Fax Ext"), &shown(ContactField::Fax, fax.and_then(|p| p.ext.clone()).unwrap_or_default()));
    }
    // A withheld address is replaced by a pointer to the sponsor's contact form.
    let email = if disclosed(c, ContactField::Email) {
        c.email.clone()
    } else {
        "Please query the RDDS service of the Registrar of Record identified in this output for information on how to contact the Registrant, Admin, or Tech contact of the queried domain name.".to_string()
    };
    out.line(&format!("{role} Email"), &email);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stored_text_forges_a_line() {
        let mut out = Out(String::new());
        out.line("Registrant Name", "A\r\nRegistrant Email: forged@example.net\u{1b}[2J\u{85}");
        assert_eq!(out.0, "Registrant Name: A  Registrant Email: forged@example.net [2J \r\n");
        assert_eq!(out.0.matches("\r\n").count(), 1);
    }

    #[test]
    fn queries_are_read_with_or_without_keywords() {
        assert!(matches!(Query::parse("Hello.Example"), Query::Domain(Some(n)) if n.as_str() == "hello.example"));
        assert!(matches!(Query::parse("domain bücher.example"), Query::Domain(Some(n)) if n.as_str() == "xn--bcher-kva.example"));
        assert!(matches!(Query::parse("NAMESERVER ns1.hello.example"), Query::Nameserver(Some(_))));
        assert!(matches!(Query::parse("registrar 9999"), Query::Registrar(r) if r == "9999"));
        assert!(matches!(Query::parse("not a name!"), Query::Domain(None)));
    }
}
