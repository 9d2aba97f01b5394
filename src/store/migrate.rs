//! Explicit schema upgrades, run once in the transaction that opens an older
//! database. Each step keeps frozen copies of the record layouts it reads,
//! so later changes to the live types cannot break it; the fixture test in
//! `tests/it/migration.rs` opens a real v1 database.
//!
//! v1 → v2: TLDs gain a registration policy (periods, prices, contact
//! rules), registrars a balance and credit limit, domains their grace
//! periods, RGP state and transfer record, contacts their transfer record.
//!
//! v2 → v3: the length of each registrar's poll queue is kept in `meta`.

use redb::{ReadableTable, Table, WriteTransaction};
use serde::Deserialize;

use super::{CONTACTS, DOMAINS, POLL, REGISTRARS, StoreError, TLDS, codec};
use crate::model::objects::{Disclose, Phone};
use crate::model::{
    ClientId, Contact, ContactId, ContactStatusSet, Domain, DomainContact, DomainName, DomainStatusSet, DsData, IpPrefix, Money,
    PostalAddress, PostalInfo, Registrar, RegistrarStatus, RegistrationPolicy, Roid, Timestamp, Tld, TldPolicy,
};

#[derive(Deserialize)]
struct TldV1 {
    name: DomainName,
    policy: TldPolicy,
    serial: u32,
    created: Timestamp,
    updated: Timestamp,
}

#[derive(Deserialize)]
struct RegistrarV1 {
    id: ClientId,
    name: String,
    iana_id: Option<u32>,
    status: RegistrarStatus,
    email: String,
    phone: Option<String>,
    fax: Option<String>,
    url: Option<String>,
    whois_server: Option<String>,
    rdap_base_url: Option<String>,
    address: PostalAddress,
    abuse_email: Option<String>,
    abuse_phone: Option<String>,
    password_hash: Option<String>,
    cert_fingerprints: Vec<String>,
    allowed_addresses: Vec<IpPrefix>,
    created: Timestamp,
    updated: Timestamp,
}

#[derive(Deserialize)]
struct ContactV1 {
    id: ContactId,
    roid: Roid,
    registrar: ClientId,
    postal_int: Option<PostalInfo>,
    postal_loc: Option<PostalInfo>,
    voice: Option<Phone>,
    fax: Option<Phone>,
    email: String,
    statuses: ContactStatusSet,
    disclose: Option<Disclose>,
    auth_info_hash: Option<String>,
    link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
}

#[derive(Deserialize)]
struct DomainV1 {
    name: DomainName,
    roid: Roid,
    tld: DomainName,
    registrar: ClientId,
    registrant: Option<ContactId>,
    contacts: Vec<DomainContact>,
    nameservers: Vec<Roid>,
    ds: Vec<DsData>,
    statuses: DomainStatusSet,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    expires: Timestamp,
    transferred: Option<Timestamp>,
    auth_info_hash: Option<String>,
}

/// Rewrites every record whose layout changed from v1 to v2, and says how many.
pub(super) fn v1_to_v2(txn: &WriteTransaction) -> Result<String, StoreError> {
    let tlds = rewrite(txn, TLDS, "tld", |t: TldV1| Tld {
        name: t.name,
        policy: t.policy,
        registration: RegistrationPolicy::default(),
        serial: t.serial,
        created: t.created,
        updated: t.updated,
    })?;
    let registrars = rewrite(txn, REGISTRARS, "registrar", |r: RegistrarV1| Registrar {
        id: r.id,
        name: r.name,
        iana_id: r.iana_id,
        status: r.status,
        email: r.email,
        phone: r.phone,
        fax: r.fax,
        url: r.url,
        whois_server: r.whois_server,
        rdap_base_url: r.rdap_base_url,
        address: r.address,
        abuse_email: r.abuse_email,
        abuse_phone: r.abuse_phone,
        password_hash: r.password_hash,
        cert_fingerprints: r.cert_fingerprints,
        allowed_addresses: r.allowed_addresses,
        created: r.created,
        updated: r.updated,
        balance: Money(0),
        credit_limit: Money(0),
    })?;
    let contacts = rewrite(txn, CONTACTS, "contact", |c: ContactV1| Contact {
        id: c.id,
        roid: c.roid,
        registrar: c.registrar,
        postal_int: c.postal_int,
        postal_loc: c.postal_loc,
        voice: c.voice,
        fax: c.fax,
        email: c.email,
        statuses: c.statuses,
        disclose: c.disclose,
        auth_info_hash: c.auth_info_hash,
        link_count: c.link_count,
        created: c.created,
        cr_registrar: c.cr_registrar,
        updated: c.updated,
        up_registrar: c.up_registrar,
        transferred: c.transferred,
        transfer: None,
    })?;
    let mut domains = txn.open_table(DOMAINS)?;
    let mut rows = Vec::new();
    for item in domains.iter()? {
        let (k, v) = item?;
        let d: DomainV1 = codec::decode(v.value(), "domain (v1)")?;
        let upgraded = Domain {
            name: d.name,
            roid: d.roid,
            tld: d.tld,
            registrar: d.registrar,
            registrant: d.registrant,
            contacts: d.contacts,
            nameservers: d.nameservers,
            ds: d.ds,
            statuses: d.statuses,
            created: d.created,
            cr_registrar: d.cr_registrar,
            updated: d.updated,
            up_registrar: d.up_registrar,
            expires: d.expires,
            transferred: d.transferred,
            auth_info_hash: d.auth_info_hash,
            grace: Vec::new(),
            rgp: None,
            transfer: None,
        };
        rows.push((k.value().to_vec(), codec::encode(&upgraded)));
    }
    let domain_count = rows.len();
    for (k, v) in rows {
        domains.insert(k.as_slice(), v.as_slice())?;
    }
    Ok(format!(
        "schema 1 to 2: {tlds} TLDs given the default registration policy, {registrars} registrars a zero balance, \
         {contacts} contacts and {domain_count} domains an empty transfer record"
    ))
}

fn rewrite<Old: serde::de::DeserializeOwned, New: serde::Serialize>(
    txn: &WriteTransaction,
    table: redb::TableDefinition<&'static str, &'static [u8]>,
    what: &str,
    convert: impl Fn(Old) -> New,
) -> Result<usize, StoreError> {
    let mut t = txn.open_table(table)?;
    let mut rows = Vec::new();
    for item in t.iter()? {
        let (k, v) = item?;
        let old: Old = codec::decode(v.value(), what)?;
        rows.push((k.value().to_string(), codec::encode(&convert(old))));
    }
    let count = rows.len();
    for (k, v) in rows {
        t.insert(k.as_str(), v.as_slice())?;
    }
    Ok(count)
}

/// v2 → v3: counts each registrar's queued poll messages once and keeps the
/// lengths in `meta`. Poll keys are the registrar's id, a zero byte, then the message id.
pub(super) fn v2_to_v3(txn: &WriteTransaction, meta: &mut Table<&'static str, &'static [u8]>) -> Result<String, StoreError> {
    let mut lengths: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for item in txn.open_table(POLL)?.iter()? {
        let (key, _) = item?;
        let registrar = key.value().split(|&b| b == 0).next().unwrap_or_default();
        let registrar = std::str::from_utf8(registrar).map_err(|_| StoreError::Corrupt("poll key".into()))?;
        *lengths.entry(registrar.to_string()).or_default() += 1;
    }
    let (queues, messages) = (lengths.len(), lengths.values().sum::<u64>());
    for (registrar, length) in lengths {
        meta.insert(super::write::poll_count_key(&registrar).as_str(), length.to_be_bytes().as_slice())?;
    }
    Ok(format!("schema 2 to 3: poll queue lengths recorded for {queues} registrars ({messages} messages)"))
}
