//! JSON shapes the operator API returns: stored objects plus what is derived
//! from them (displayed statuses, name server names, publication), and
//! never secrets (password and authorization-code hashes).

use serde::Serialize;

use crate::model::objects::{Disclose, Phone};
use crate::model::{
    Contact, ContactId, ContactStatus, DomainName, DomainStatus, DsData, Host, HostName, HostStatus, IpPrefix, PostalAddress, PostalInfo,
    Registrar, RegistrarStatus, Roid, Timestamp, Tld, TldPolicy, Transfer,
};
use crate::registry::RegistryError;
use crate::store::{Snapshot, ZoneApex};

#[derive(Serialize)]
pub struct TldView<'a> {
    pub name: &'a DomainName,
    pub serial: u32,
    #[serde(flatten)]
    pub policy: &'a TldPolicy,
    #[serde(flatten)]
    pub registration: &'a crate::model::RegistrationPolicy,
    pub created: Timestamp,
    pub updated: Timestamp,
}

pub fn tld(zone: &ZoneApex) -> TldView<'_> {
    tld_record(&zone.tld)
}

pub fn tld_record(t: &Tld) -> TldView<'_> {
    TldView { name: &t.name, serial: t.serial, policy: &t.policy, registration: &t.registration, created: t.created, updated: t.updated }
}

/// A TLD's signing: how it denies existence, its keys (their roles and
/// states, and the DS records to hand to the parent), the next step of its
/// key timeline, and when its first signature expires.
pub fn dnssec(
    zone: &ZoneApex,
    signing: Option<&crate::model::dnssec::ZoneSigning>,
    earliest_expiry: Option<u32>,
    clean: Option<crate::model::rollover::CleanPass>,
) -> serde_json::Value {
    use crate::model::dnssec::KeyRole;
    use crate::model::rollover;
    use serde_json::json;
    let Some(signing) = signing else {
        return json!({ "tld": zone.tld.name, "signed": false });
    };
    let keys: Vec<_> = signing
        .keys
        .iter()
        .map(|k| {
            use base64::Engine;
            let mut key = json!({
                "key_tag": k.key_tag(),
                "algorithm": k.algorithm,
                "flags": k.flags,
                "role": k.role.as_str(),
                "state": k.state(),
                "created": k.created,
                "published": k.published,
                "active_from": k.active_from,
                "retired": k.retired,
                "dnskey": format!("{}. {} IN DNSKEY {} 3 {} {}", zone.tld.name, signing.dnskey_ttl_s, k.flags, k.algorithm,
                    base64::engine::general_purpose::STANDARD.encode(&k.public_key)),
            });
            if k.role != KeyRole::Zsk {
                key["ds"] = json!(k.ds_record(&zone.tld.name));
                key["ds_ready_at"] = json!(rollover::ds_ready_at(signing, k));
                key["ds_seen"] = json!(k.ds_seen);
            }
            key
        })
        .collect();
    let next = rollover::next_step(signing, rollover::signed_ttl_max_s(&zone.tld.policy, signing), clean).map(|n| match n.due {
        Ok(at) => json!({ "step": n.step.describe(), "due": at }),
        Err(waiting_for) => json!({ "step": n.step.describe(), "waiting_for": waiting_for }),
    });
    json!({
        "tld": zone.tld.name,
        "signed": true,
        "serial": zone.serial(),
        "denial": signing.denial,
        "nsec3": (signing.denial != crate::model::dnssec::Denial::Nsec)
            .then(|| json!({ "algorithm": 1, "iterations": 0, "salt": "-", "opt_out": signing.opt_out() })),
        "keys": keys,
        "rolling": rollover::rolling(signing),
        "next_key_step": next,
        "zsk_lifetime_s": signing.zsk_lifetime_s,
        "ksk_lifetime_s": signing.ksk_lifetime_s,
        "propagation_delay_s": signing.propagation_delay_s,
        "parent_ds_ttl_s": signing.parent_ds_ttl_s,
        "signature_validity_s": signing.signature_validity_s,
        "signature_refresh_s": signing.signature_refresh_s,
        "signature_jitter_s": signing.signature_jitter_s,
        "inception_offset_s": signing.inception_offset_s,
        "dnskey_ttl_s": signing.dnskey_ttl_s,
        "parent_servers": signing.parent_servers,
        "ds_check_interval_s": signing.ds_check_interval_s,
        "cds_scan_interval_s": signing.cds_scan_interval_s,
        "earliest_signature_expiry": earliest_expiry.map(|e| Timestamp::from_unix_seconds(i64::from(e))),
    })
}

#[derive(Serialize)]
pub struct RegistrarView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub iana_id: Option<u32>,
    pub status: RegistrarStatus,
    pub email: &'a str,
    pub phone: &'a Option<String>,
    pub fax: &'a Option<String>,
    pub url: &'a Option<String>,
    pub whois_server: &'a Option<String>,
    pub rdap_base_url: &'a Option<String>,
    pub address: &'a PostalAddress,
    pub abuse_email: &'a Option<String>,
    pub abuse_phone: &'a Option<String>,
    pub has_password: bool,
    pub cert_fingerprints: &'a [String],
    pub allowed_addresses: &'a [IpPrefix],
    /// One per currency it has been funded, charged or given credit in.
    pub accounts: &'a [crate::model::ledger::Account],
    pub created: Timestamp,
    pub updated: Timestamp,
}

pub fn registrar(r: &Registrar) -> RegistrarView<'_> {
    RegistrarView {
        id: r.id.as_str(),
        name: &r.name,
        iana_id: r.iana_id,
        status: r.status,
        email: &r.email,
        phone: &r.phone,
        fax: &r.fax,
        url: &r.url,
        whois_server: &r.whois_server,
        rdap_base_url: &r.rdap_base_url,
        address: &r.address,
        abuse_email: &r.abuse_email,
        abuse_phone: &r.abuse_phone,
        has_password: r.password_hash.is_some(),
        cert_fingerprints: &r.cert_fingerprints,
        allowed_addresses: &r.allowed_addresses,
        accounts: &r.accounts,
        created: r.created,
        updated: r.updated,
    }
}

#[derive(Serialize)]
pub struct DomainView {
    pub name: DomainName,
    pub roid: Roid,
    pub tld: DomainName,
    pub registrar: String,
    pub statuses: Vec<DomainStatus>,
    pub nameservers: Vec<HostName>,
    pub ds: Vec<DsData>,
    pub registrant: Option<String>,
    pub contacts: Vec<crate::model::DomainContact>,
    /// Whether the domain is in its zone right now.
    pub published: bool,
    /// RFC 3915 statuses: grace periods and redemption.
    pub rgp_statuses: Vec<&'static str>,
    pub created: Timestamp,
    pub updated: Option<Timestamp>,
    pub expires: Timestamp,
    pub transferred: Option<Timestamp>,
}

pub fn domain(snap: &Snapshot, d: &crate::model::Domain, now: Timestamp) -> Result<DomainView, RegistryError> {
    let mut nameservers = Vec::with_capacity(d.nameservers.len());
    for roid in &d.nameservers {
        if let Some(h) = snap.host(roid)? {
            nameservers.push(h.name);
        }
    }
    Ok(DomainView {
        name: d.name.clone(),
        roid: d.roid.clone(),
        tld: d.tld.clone(),
        registrar: d.registrar.to_string(),
        statuses: d.statuses.displayed(!d.nameservers.is_empty()),
        nameservers,
        ds: d.ds.clone(),
        registrant: d.registrant.as_ref().map(|c| c.to_string()),
        contacts: d.contacts.clone(),
        published: d.is_published(),
        rgp_statuses: d.rgp_statuses(now),
        created: d.created,
        updated: d.updated,
        expires: d.expires,
        transferred: d.transferred,
    })
}

/// A contact as the operator sees it: everything but the hash of its authorization code.
#[derive(Serialize)]
pub struct ContactView<'a> {
    pub id: &'a ContactId,
    pub roid: &'a Roid,
    pub registrar: &'a str,
    pub postal_int: &'a Option<PostalInfo>,
    pub postal_loc: &'a Option<PostalInfo>,
    pub voice: &'a Option<Phone>,
    pub fax: &'a Option<Phone>,
    pub email: &'a str,
    pub statuses: Vec<ContactStatus>,
    pub disclose: &'a Option<Disclose>,
    pub has_auth_info: bool,
    pub linked_domains: u32,
    pub created: Timestamp,
    pub updated: Option<Timestamp>,
    pub transferred: Option<Timestamp>,
    pub transfer: &'a Option<Transfer>,
}

pub fn contact(c: &Contact) -> ContactView<'_> {
    ContactView {
        id: &c.id,
        roid: &c.roid,
        registrar: c.registrar.as_str(),
        postal_int: &c.postal_int,
        postal_loc: &c.postal_loc,
        voice: &c.voice,
        fax: &c.fax,
        email: &c.email,
        statuses: c.statuses.iter().collect(),
        disclose: &c.disclose,
        has_auth_info: c.auth_info_hash.is_some(),
        linked_domains: c.link_count,
        created: c.created,
        updated: c.updated,
        transferred: c.transferred,
        transfer: &c.transfer,
    }
}

#[derive(Serialize)]
pub struct HostView<'a> {
    pub name: &'a HostName,
    pub roid: &'a Roid,
    pub registrar: &'a str,
    pub addresses: &'a [std::net::IpAddr],
    pub statuses: Vec<HostStatus>,
    pub superordinate: &'a Option<DomainName>,
    pub linked_domains: u32,
    pub created: Timestamp,
    pub updated: Option<Timestamp>,
}

pub fn host(h: &Host) -> HostView<'_> {
    HostView {
        name: &h.name,
        roid: &h.roid,
        registrar: h.registrar.as_str(),
        addresses: &h.addrs,
        statuses: h.statuses.displayed(h.is_linked()),
        superordinate: &h.superordinate,
        linked_domains: h.link_count,
        created: h.created,
        updated: h.updated,
    }
}
