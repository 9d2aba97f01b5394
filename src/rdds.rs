//! What the public lookup services (RDAP, WHOIS) show, gathered from one
//! snapshot: a domain with its sponsor, name servers and contacts, a name
//! server, a registrar; how names in queries are read (U-labels become
//! A-labels); and the query counters both services keep for the ICANN
//! activity report. Formats live in `rdap` and `whois`.
//!
//! Must not: format anything.

use std::sync::Arc;

use crate::model::{Contact, ContactType, Domain, DomainName, Host, Registrar, Timestamp};
use crate::registry::counts::ReadCounts;
use crate::store::{Snapshot, StoreError};

/// A domain as the public sees it.
pub struct PublicDomain {
    pub domain: Domain,
    pub registrar: Option<Arc<Registrar>>,
    pub nameservers: Vec<Arc<Host>>,
    pub registrant: Option<Contact>,
    pub tech: Option<Contact>,
    /// EPP statuses as shown (stored, derived and RGP).
    pub statuses: Vec<&'static str>,
    /// Its variants under the TLD's IDN table, when it is an IDN of a TLD with one.
    pub variants: Option<PublicVariants>,
}

/// An IDN's variants under its TLD's IDN table (RFC 9083 `variants`): the
/// table's id, and the variant names registered and not.
pub struct PublicVariants {
    pub idn_table: String,
    pub registered: Vec<DomainName>,
    pub unregistered: Vec<DomainName>,
}

/// A name server as the public sees it.
pub struct PublicHost {
    pub host: Arc<Host>,
    pub registrar: Option<Arc<Registrar>>,
    pub statuses: Vec<&'static str>,
}

/// Reads a query name: an A-label or U-label domain name, any case, with or
/// without the final dot; `None` when it is not a valid name.
pub fn query_name(text: &str) -> Option<DomainName> {
    let text = text.trim().trim_end_matches('.');
    if text.is_empty() || text.len() > 1024 {
        return None;
    }
    let ascii = if text.is_ascii() { text.to_string() } else { idna::domain_to_ascii(text).ok()? };
    DomainName::try_from(ascii).ok()
}

/// The U-label form of a name with A-labels, when it has any.
pub fn unicode_name(name: &DomainName) -> Option<String> {
    if !name.as_str().as_bytes().split(|&b| b == b'.').any(|l| l.starts_with(b"xn--")) {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(name.as_str());
    result.ok().map(|_| unicode)
}

pub fn domain(snapshot: &Snapshot, name: &DomainName, now: Timestamp) -> Result<Option<PublicDomain>, StoreError> {
    match snapshot.domain(name)? {
        Some(domain) => public_domain(snapshot, domain, now).map(Some),
        None => Ok(None),
    }
}

/// A domain with its sponsor, name servers, contacts and displayed statuses.
pub fn public_domain(snapshot: &Snapshot, domain: Domain, now: Timestamp) -> Result<PublicDomain, StoreError> {
    let registrar = snapshot.registrar_shared(&domain.registrar)?;
    let mut nameservers = Vec::with_capacity(domain.nameservers.len());
    for roid in &domain.nameservers {
        if let Some(h) = snapshot.host_shared(roid)? {
            nameservers.push(h);
        }
    }
    let registrant = match &domain.registrant {
        Some(id) => snapshot.contact(id)?,
        None => None,
    };
    let tech = match domain.contacts.iter().find(|c| c.kind == ContactType::Tech) {
        Some(c) => snapshot.contact(&c.id)?,
        None => None,
    };
    let mut statuses: Vec<&'static str> =
        domain.statuses.displayed(!domain.nameservers.is_empty()).into_iter().map(|s| s.as_str()).collect();
    statuses.extend(domain.rgp_statuses(now));
    let variants = variants(snapshot, &domain)?;
    Ok(PublicDomain { domain, registrar, nameservers, registrant, tech, statuses, variants })
}

/// The variants of an IDN under its TLD's IDN table, if it has one.
fn variants(snapshot: &Snapshot, domain: &Domain) -> Result<Option<PublicVariants>, StoreError> {
    use crate::model::idn::{a_label, u_label};
    let label = domain.name.as_str().split('.').next().unwrap_or_default();
    if !label.starts_with("xn--") {
        return Ok(None);
    }
    let (Some(table), Some(u)) = (snapshot.idn_table(&domain.tld)?, u_label(label)) else { return Ok(None) };
    let mut out = PublicVariants { idn_table: table.id.clone(), registered: Vec::new(), unregistered: Vec::new() };
    for variant in table.variants_of(&u) {
        let Some(name) = a_label(&variant).and_then(|a| DomainName::parse(&format!("{a}.{}", domain.tld)).ok()) else { continue };
        match snapshot.domain(&name)? {
            Some(_) => out.registered.push(name),
            None => out.unregistered.push(name),
        }
    }
    Ok(Some(out))
}

pub fn host(snapshot: &Snapshot, name: &DomainName) -> Result<Option<PublicHost>, StoreError> {
    let Some(host) = snapshot.host_roid(name)?.map(|roid| snapshot.host_shared(&roid)).transpose()?.flatten() else {
        return Ok(None);
    };
    public_host(snapshot, host).map(Some)
}

/// A host with its sponsor and displayed statuses.
pub fn public_host(snapshot: &Snapshot, host: Arc<Host>) -> Result<PublicHost, StoreError> {
    let registrar = snapshot.registrar_shared(&host.registrar)?;
    let statuses = host.statuses.displayed(host.is_linked()).into_iter().map(|s| s.as_str()).collect();
    Ok(PublicHost { host, registrar, statuses })
}

/// A registrar by IANA id.
pub fn registrar_by_iana_id(snapshot: &Snapshot, iana_id: u32) -> Result<Option<Registrar>, StoreError> {
    Ok(snapshot.registrars()?.into_iter().find(|r| r.iana_id == Some(iana_id)))
}

/// Counts one query of `service` under the TLD of `name`; says whether `name` is under one of our TLDs.
pub fn count(counts: &ReadCounts, snapshot: &Snapshot, name: Option<&DomainName>, now: Timestamp, service: &'static str) -> bool {
    let tld = name.and_then(|n| snapshot.tld_of(n));
    counts.add_query(now, tld.map_or("", |t| t.name.as_str()), service);
    tld.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_accept_u_labels_and_any_case() {
        assert_eq!(query_name("Hello.Example.").unwrap().as_str(), "hello.example");
        assert_eq!(query_name("bücher.example").unwrap().as_str(), "xn--bcher-kva.example");
        assert!(query_name("bad_name.example").is_none());
        assert!(query_name("").is_none());
        let idn = DomainName::parse("xn--bcher-kva.example").unwrap();
        assert_eq!(unicode_name(&idn).as_deref(), Some("bücher.example"));
        assert_eq!(unicode_name(&DomainName::parse("plain.example").unwrap()), None);
    }
}
