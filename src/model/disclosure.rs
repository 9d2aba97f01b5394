//! Rules of the public registration data services (RDAP and WHOIS) that do
//! not depend on either protocol: how EPP statuses read in RDAP (RFC 8056),
//! which contact data may be shown (the registrant's RFC 5733 disclose
//! choices over a redact-by-default policy, as ICANN's Registration Data
//! Policy asks), and how a search pattern with a trailing `*` is understood.

use super::objects::{Contact, DiscloseField};

/// RFC 8056 §2: the RDAP status value of an EPP status or RGP status.
pub fn rdap_status(epp: &str) -> Option<&'static str> {
    Some(match epp {
        "ok" => "active",
        "inactive" => "inactive",
        "linked" => "associated",
        "clientHold" => "client hold",
        "serverHold" => "server hold",
        "pendingCreate" => "pending create",
        "pendingDelete" => "pending delete",
        "pendingRenew" => "pending renew",
        "pendingTransfer" => "pending transfer",
        "pendingUpdate" => "pending update",
        "clientDeleteProhibited" => "client delete prohibited",
        "clientRenewProhibited" => "client renew prohibited",
        "clientTransferProhibited" => "client transfer prohibited",
        "clientUpdateProhibited" => "client update prohibited",
        "serverDeleteProhibited" => "server delete prohibited",
        "serverRenewProhibited" => "server renew prohibited",
        "serverTransferProhibited" => "server transfer prohibited",
        "serverUpdateProhibited" => "server update prohibited",
        "addPeriod" => "add period",
        "autoRenewPeriod" => "auto renew period",
        "renewPeriod" => "renew period",
        "transferPeriod" => "transfer period",
        "redemptionPeriod" => "redemption period",
        "pendingRestore" => "pending restore",
        _ => return None,
    })
}

/// Maps EPP statuses to RDAP ones, dropping unknown values and duplicates (RFC 8056 §2).
pub fn rdap_statuses<'a>(epp: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in epp.into_iter().filter_map(rdap_status) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Contact data that may be withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    Name,
    Organization,
    /// Street, city and postal code; state/province and country are always shown.
    Address,
    Phone,
    Fax,
    Email,
}

/// Whether `field` of `contact` is published. Personal data is withheld
/// unless the contact asked for it to be disclosed (`<contact:disclose
/// flag="1">` naming the field in either postal form).
pub fn disclosed(contact: &Contact, field: ContactField) -> bool {
    let Some(d) = &contact.disclose else { return false };
    if !d.flag {
        return false;
    }
    let wanted: &[DiscloseField] = match field {
        ContactField::Name => &[DiscloseField::NameInt, DiscloseField::NameLoc],
        ContactField::Organization => &[DiscloseField::OrgInt, DiscloseField::OrgLoc],
        ContactField::Address => &[DiscloseField::AddrInt, DiscloseField::AddrLoc],
        ContactField::Phone => &[DiscloseField::Voice],
        ContactField::Fax => &[DiscloseField::Fax],
        ContactField::Email => &[DiscloseField::Email],
    };
    d.fields.iter().any(|f| wanted.contains(f))
}

/// A lookup pattern: an exact value, or a prefix when it ends with `*`
/// (RFC 9082 §4.1 allows the wildcard as the last character of a label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    /// Lower-cases and splits off one trailing `*`; `None` for a `*` anywhere else
    /// or a prefix shorter than `min_prefix` characters (too broad to serve).
    pub fn parse(text: &str, min_prefix: usize) -> Option<Pattern> {
        Self::parse_keeping_case(&text.to_ascii_lowercase(), min_prefix)
    }

    /// As [`Pattern::parse`] for case-sensitive values (contact handles, RFC 5730 `clIDType`).
    pub fn parse_keeping_case(text: &str, min_prefix: usize) -> Option<Pattern> {
        let text = text.trim().to_string();
        match text.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') && prefix.chars().count() >= min_prefix => Some(Pattern::Prefix(prefix.to_string())),
            Some(_) => None,
            None if !text.contains('*') && !text.is_empty() => Some(Pattern::Exact(text)),
            None => None,
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        let value = value.to_ascii_lowercase();
        match self {
            Pattern::Exact(e) => value == *e,
            Pattern::Prefix(p) => value.starts_with(p.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::Disclose;

    #[test]
    fn statuses_follow_rfc_8056_without_duplicates() {
        assert_eq!(rdap_statuses(["ok"]), vec!["active"]);
        assert_eq!(rdap_statuses(["clientHold", "serverHold", "clientHold"]), vec!["client hold", "server hold"]);
        assert_eq!(rdap_statuses(["redemptionPeriod", "pendingDelete"]), vec!["redemption period", "pending delete"]);
        assert_eq!(rdap_statuses(["linked", "nonsense"]), vec!["associated"]);
    }

    #[test]
    fn personal_data_is_withheld_unless_disclosed() {
        let registrar = crate::model::ClientId::parse("registrar-1").unwrap();
        let mut c = Contact {
            id: crate::model::ContactId::parse("contact-1").unwrap(),
            roid: crate::model::Roid("C1-T".into()),
            registrar: registrar.clone(),
            postal_int: None,
            postal_loc: None,
            voice: None,
            fax: None,
            email: "a@example.net".into(),
            statuses: Default::default(),
            disclose: None,
            auth_info_hash: None,
            link_count: 0,
            created: crate::model::Timestamp(0),
            cr_registrar: registrar,
            updated: None,
            up_registrar: None,
            transferred: None,
            transfer: None,
        };
        assert!(!disclosed(&c, ContactField::Email));
        c.disclose = Some(Disclose { flag: true, fields: vec![DiscloseField::Email, DiscloseField::NameLoc] });
        assert!(disclosed(&c, ContactField::Email) && disclosed(&c, ContactField::Name));
        assert!(!disclosed(&c, ContactField::Phone));
        c.disclose = Some(Disclose { flag: false, fields: vec![DiscloseField::Email] });
        assert!(!disclosed(&c, ContactField::Email));
    }

    #[test]
    fn patterns_take_one_trailing_star() {
        assert_eq!(Pattern::parse("Exam*", 2), Some(Pattern::Prefix("exam".into())));
        assert_eq!(Pattern::parse("hello.example", 2), Some(Pattern::Exact("hello.example".into())));
        assert_eq!(Pattern::parse("*", 2), None);
        assert_eq!(Pattern::parse("e*", 2), None, "too broad");
        assert_eq!(Pattern::parse("ex*am*", 2), None);
        assert!(Pattern::Prefix("ns".into()).matches("NS1.example.net"));
    }
}
