//! Registry data escrow deposits (RFC 8909 with the RFC 9022 objects): the
//! XML of a FULL deposit of one TLD, written from one read snapshot object
//! by object straight to a writer, so memory stays flat as the registry
//! grows: registrars, hosts, contacts, the TLD's domains with their
//! statuses, RGP state, DS, pending transfers and dates, and the registry's
//! EPP parameters; the header with the counts comes last, as the contents
//! are unordered. A DIFF holds the objects the change log names since the
//! previous deposit, and deletes for those gone. RyDE wraps it (tar,
//! OpenPGP, the registry's signature) and the `rdeReport` for ICANN goes
//! beside it. A BRDA (RA Specification 4) is the same deposit thinned to
//! registrars and domain fields it lists. `schedule` makes them on the RA
//! schedule, `deliver` sends them, `verify` checks deposits as RST does and
//! `import` reads them back.

pub mod deliver;
pub mod import;
mod read;
pub mod schedule;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::epp::xml::{self, Writer};
use crate::model::change::ObjectRef;
use crate::model::lifecycle::Transfer;
use crate::model::objects::{Contact, DiscloseField, Domain, Host, Registrar};
use crate::model::{ClientId, ContactId, DomainName, Roid, Timestamp};
use crate::store::{Snapshot, StoreError};

pub const RDE: &str = "urn:ietf:params:xml:ns:rde-1.0";
pub const HEADER: &str = "urn:ietf:params:xml:ns:rdeHeader-1.0";
pub const REGISTRAR: &str = "urn:ietf:params:xml:ns:rdeRegistrar-1.0";
pub const HOST: &str = "urn:ietf:params:xml:ns:rdeHost-1.0";
pub const CONTACT: &str = "urn:ietf:params:xml:ns:rdeContact-1.0";
pub const DOMAIN: &str = "urn:ietf:params:xml:ns:rdeDomain-1.0";
pub const EPP_PARAMS: &str = "urn:ietf:params:xml:ns:rdeEppParams-1.0";
pub const NNDN: &str = "urn:ietf:params:xml:ns:rdeNNDN-1.0";
pub const IDN: &str = "urn:ietf:params:xml:ns:rdeIDN-1.0";
pub const REPORT: &str = "urn:ietf:params:xml:ns:rdeReport-1.0";

/// What a deposit is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositKind {
    /// The whole registry, for the escrow agent (RA Specification 2).
    Full,
    /// The objects changed since the previous escrow deposit, and those
    /// deleted, for the agent (RFC 8909 DIFF).
    Diff,
    /// Bulk registration data for ICANN (RA Specification 4): registrars and
    /// domains with the fields it lists only, a FULL deposit in RDE terms.
    Brda,
}

impl DepositKind {
    /// The type in the file name.
    pub fn file_type(self) -> &'static str {
        match self {
            DepositKind::Full => "full",
            DepositKind::Diff => "diff",
            DepositKind::Brda => "thin",
        }
    }

    /// The `type` of `rde:deposit` and the report's `kind`.
    fn rde_type(self) -> &'static str {
        match self {
            DepositKind::Diff => "DIFF",
            DepositKind::Full | DepositKind::Brda => "FULL",
        }
    }

    /// The last characters of the deposit id (after the date): one per
    /// kind, so deposits of one day never share an id.
    fn id_suffix(self) -> &'static str {
        match self {
            DepositKind::Full => "001",
            DepositKind::Diff => "D01",
            DepositKind::Brda => "T01",
        }
    }

    /// The kinds of object such a deposit holds.
    fn objects(self) -> &'static [&'static str] {
        match self {
            DepositKind::Full | DepositKind::Diff => &[REGISTRAR, HOST, CONTACT, DOMAIN, IDN, NNDN, EPP_PARAMS],
            DepositKind::Brda => &[REGISTRAR, DOMAIN],
        }
    }
}

/// Objects read from the snapshot at a time.
const PAGE: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("writing the deposit: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLD {0} does not exist")]
    NoTld(DomainName),
    #[error("a DIFF deposit follows a previous escrow deposit whose changes the change log still holds: make a FULL deposit first")]
    NoBase,
    #[error("the DIFF deposit {0} of this day is made already: make a FULL deposit to send the day again")]
    DiffMade(String),
}

/// What a DIFF deposit holds: the objects the change log names after the
/// previous deposit (`prev_id`), each written as it is now or, if it is
/// gone, as a delete. Domains of other TLDs are left out.
#[derive(Debug, Clone, Default)]
pub struct Changed {
    pub prev_id: String,
    registrars: BTreeSet<ClientId>,
    contacts: BTreeSet<ContactId>,
    hosts: BTreeSet<Roid>,
    domains: BTreeSet<DomainName>,
    reserved: BTreeSet<DomainName>,
}

impl Changed {
    /// The objects of `tld`'s deposit changed by the change log entries after `after` up to `through`.
    pub fn since(snapshot: &Snapshot, tld: &DomainName, prev_id: &str, after: u64, through: u64) -> Result<Self, StoreError> {
        let mut changed = Changed { prev_id: prev_id.to_string(), ..Changed::default() };
        let mut at = after;
        loop {
            let page = snapshot.changes(at, through, 10 * PAGE)?;
            for (_, change) in &page {
                match &change.object {
                    ObjectRef::Registrar(id) => changed.registrars.insert(id.clone()),
                    ObjectRef::Contact(id) => changed.contacts.insert(id.clone()),
                    ObjectRef::Host(roid) => changed.hosts.insert(roid.clone()),
                    ObjectRef::Domain(name) => name.is_below(tld) && changed.domains.insert(name.clone()),
                    ObjectRef::Reserved(name) => name.is_below(tld) && changed.reserved.insert(name.clone()),
                };
            }
            match page.last() {
                Some((last, _)) if page.len() == 10 * PAGE => at = *last,
                _ => return Ok(changed),
            }
        }
    }
}

/// What a deposit holds: objects by their RFC 9022 namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct DepositSummary {
    pub counts: BTreeMap<&'static str, u64>,
}

/// Writes the deposit `id` of `tld` as of `watermark` from `snapshot`, its
/// `resend`th resend; a DIFF holds the objects in `changed`.
#[allow(clippy::too_many_arguments)]
pub fn write_xml(
    kind: DepositKind,
    snapshot: &Snapshot,
    tld: &DomainName,
    watermark: Timestamp,
    id: &str,
    resend: u16,
    changed: Option<&Changed>,
    out: &mut impl Write,
) -> Result<DepositSummary, EscrowError> {
    snapshot.tld(tld).ok_or_else(|| EscrowError::NoTld(tld.clone()))?;
    let changed = match kind {
        DepositKind::Diff => Some(changed.ok_or(EscrowError::NoBase)?),
        _ => None,
    };
    let mut summary = DepositSummary::default();
    // A deposit references the TLD's IDN table when it says where the table is.
    let idn = snapshot.idn_table(tld)?.filter(|_| kind != DepositKind::Brda);
    let idn_ref = idn.as_ref().and_then(|t| Some((t, t.url.as_deref()?, t.url_policy.as_deref()?)));
    let idn_id = idn_ref.map(|(t, _, _)| t.id.as_str());
    let mut w = Writer::new();
    let prev = changed.map(|c| ("prevId", c.prev_id.as_str()));
    let resend = resend.to_string();
    let resend = (resend != "0").then_some(("resend", resend.as_str()));
    w.open(
        "rde:deposit",
        &[
            ("type", kind.rde_type()),
            ("id", id),
            ("xmlns:rde", RDE),
            ("xmlns:rdeHeader", HEADER),
            ("xmlns:rdeRegistrar", REGISTRAR),
            ("xmlns:rdeHost", HOST),
            ("xmlns:rdeContact", CONTACT),
            ("xmlns:rdeDomain", DOMAIN),
            ("xmlns:rdeIDN", IDN),
            ("xmlns:rdeNNDN", NNDN),
            ("xmlns:rdeEppParams", EPP_PARAMS),
            ("xmlns:domain", xml::DOMAIN),
            ("xmlns:host", xml::HOST),
            ("xmlns:contact", xml::CONTACT),
            ("xmlns:secDNS", xml::SECDNS),
            ("xmlns:rgp", xml::RGP),
            ("xmlns:epp", xml::EPP),
        ]
        .into_iter()
        .chain(prev)
        .chain(resend)
        .collect::<Vec<_>>(),
    );
    // Whole milliseconds, as the objects' dates: cut to the second, an object
    // made in the deposit's second would seem younger than its watermark.
    w.leaf("rde:watermark", &[], &watermark.to_rfc3339());
    w.open("rde:rdeMenu", &[]).leaf("rde:version", &[], "1.0").leaf("rde:objURI", &[], HEADER);
    // The header counts every kind the menu lists, none of them too (RST rde-05).
    for &uri in kind.objects() {
        w.leaf("rde:objURI", &[], uri);
        summary.counts.insert(uri, 0);
    }
    w.close();
    out.write_all(w.out.as_bytes())?;
    if let Some(changed) = changed {
        write_deletes(snapshot, changed, out)?;
        out.write_all(b"<rde:contents>")?;
        let mut emit = |uri: &'static str, fragment: String| -> std::io::Result<()> {
            *summary.counts.entry(uri).or_default() += 1;
            out.write_all(fragment.as_bytes())
        };
        for id in &changed.registrars {
            if let Some(r) = snapshot.registrar(id)? {
                emit(REGISTRAR, registrar_xml(kind, &r))?;
            }
        }
        for roid in &changed.hosts {
            if let Some(h) = snapshot.host(roid)? {
                emit(HOST, host_xml(&h))?;
            }
        }
        for id in &changed.contacts {
            if let Some(c) = snapshot.contact(id)? {
                emit(CONTACT, contact_xml(&c))?;
            }
        }
        for name in &changed.domains {
            if let Some(d) = snapshot.domain(name)? {
                emit(DOMAIN, domain_xml(kind, snapshot, &d, watermark, idn_id)?)?;
            }
        }
        for name in &changed.reserved {
            if let Some(r) = snapshot.reserved(name)? {
                emit(NNDN, nndn_xml(&r))?;
            }
        }
        return finish_xml(tld, summary, out);
    }
    // The deposit stays open: each object is written and flushed on its own.
    out.write_all(b"<rde:contents>")?;
    let mut emit = |uri: &'static str, fragment: String| -> std::io::Result<()> {
        *summary.counts.entry(uri).or_default() += 1;
        out.write_all(fragment.as_bytes())
    };
    for registrar in snapshot.registrars()? {
        emit(REGISTRAR, registrar_xml(kind, &registrar))?;
    }
    // Hosts and contacts are escrowed; bulk registration data has neither.
    if kind == DepositKind::Full {
        let mut after = None;
        loop {
            let page = snapshot.hosts(after.as_ref(), PAGE)?;
            for host in &page {
                emit(HOST, host_xml(host))?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
                _ => break,
            }
        }
        let mut after: Option<crate::model::ContactId> = None;
        loop {
            let page = snapshot.contacts(after.as_ref(), PAGE)?;
            for contact in &page {
                emit(CONTACT, contact_xml(contact))?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.id.clone()),
                _ => break,
            }
        }
    }
    let mut after = None;
    loop {
        let page = snapshot.domains(tld, after.as_ref(), PAGE)?;
        for domain in &page {
            emit(DOMAIN, domain_xml(kind, snapshot, domain, watermark, idn_id)?)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
            _ => break,
        }
    }
    if kind == DepositKind::Full {
        let mut after = None;
        loop {
            let page = snapshot.reserved_in(tld, after.as_ref(), PAGE)?;
            for reserved in &page {
                emit(NNDN, nndn_xml(reserved))?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
                _ => break,
            }
        }
        if let Some((table, url, url_policy)) = idn_ref {
            emit(IDN, idn_table_ref_xml(table, url, url_policy))?;
        }
        emit(EPP_PARAMS, epp_params_xml())?;
    }
    finish_xml(tld, summary, out)
}

/// The header (last, as the contents are unordered) and the end of the deposit.
fn finish_xml(tld: &DomainName, summary: DepositSummary, out: &mut impl Write) -> Result<DepositSummary, EscrowError> {
    let mut w = Writer::default();
    header_xml(&mut w, tld, &summary);
    w.out.push_str("</rde:contents></rde:deposit>\n");
    out.write_all(w.out.as_bytes())?;
    out.flush()?;
    Ok(summary)
}

/// `rde:deletes` of a DIFF: the changed objects no longer there. Hosts go by
/// ROID, which the host they were had whatever its name became.
fn write_deletes(snapshot: &Snapshot, changed: &Changed, out: &mut impl Write) -> Result<(), EscrowError> {
    out.write_all(b"<rde:deletes>")?;
    let mut delete = |element: &'static str, key: &'static str, value: &str| -> std::io::Result<()> {
        let mut w = Writer::default();
        w.open(element, &[]).leaf(key, &[], value);
        out.write_all(w.finish().as_bytes())
    };
    for id in &changed.registrars {
        if snapshot.registrar(id)?.is_none() {
            delete("rdeRegistrar:delete", "rdeRegistrar:id", id.as_str())?;
        }
    }
    for roid in &changed.hosts {
        if snapshot.host(roid)?.is_none() {
            delete("rdeHost:delete", "rdeHost:roid", roid.as_str())?;
        }
    }
    for id in &changed.contacts {
        if snapshot.contact(id)?.is_none() {
            delete("rdeContact:delete", "rdeContact:id", id.as_str())?;
        }
    }
    for name in &changed.domains {
        if snapshot.domain(name)?.is_none() {
            delete("rdeDomain:delete", "rdeDomain:name", name.as_str())?;
        }
    }
    for name in &changed.reserved {
        if snapshot.reserved(name)?.is_none() {
            delete("rdeNNDN:delete", "rdeNNDN:aName", name.as_str())?;
        }
    }
    out.write_all(b"</rde:deletes>")?;
    Ok(())
}

/// The `rdeHeader:header` of a deposit: its TLD and what it holds.
fn header_xml(w: &mut Writer, tld: &DomainName, summary: &DepositSummary) {
    w.open("rdeHeader:header", &[]).leaf("rdeHeader:tld", &[], tld.as_str());
    for (uri, count) in &summary.counts {
        w.leaf("rdeHeader:count", &[("uri", uri)], &count.to_string());
    }
    w.close();
}

/// The report on a deposit that goes to ICANN (`rdeReport`, the ICANN
/// registry interfaces): its id, the specifications it follows, its
/// resend number, when it was made, its kind and watermark, and its header.
pub fn report_xml(
    kind: DepositKind,
    tld: &DomainName,
    id: &str,
    resend: u16,
    created: Timestamp,
    watermark: Timestamp,
    summary: &DepositSummary,
) -> String {
    let mut w = Writer::new();
    w.open("rdeReport:report", &[("xmlns:rdeReport", REPORT), ("xmlns:rdeHeader", HEADER)])
        .leaf("rdeReport:id", &[], id)
        .leaf("rdeReport:version", &[], "1")
        .leaf("rdeReport:rydeSpecEscrow", &[], "RFC8909")
        .leaf("rdeReport:rydeSpecMapping", &[], "RFC9022")
        .leaf("rdeReport:resend", &[], &resend.to_string())
        .leaf("rdeReport:crDate", &[], &created.to_rfc3339_seconds())
        .leaf("rdeReport:kind", &[], kind.rde_type())
        .leaf("rdeReport:watermark", &[], &watermark.to_rfc3339());
    header_xml(&mut w, tld, summary);
    w.close();
    w.out.push('\n');
    w.out
}

fn registrar_xml(kind: DepositKind, r: &Registrar) -> String {
    let mut w = Writer::default();
    w.open("rdeRegistrar:registrar", &[]).leaf("rdeRegistrar:id", &[], r.id.as_str()).leaf("rdeRegistrar:name", &[], &r.name);
    if let Some(iana) = r.iana_id.filter(|i| *i > 0) {
        w.leaf("rdeRegistrar:gurid", &[], &iana.to_string());
    }
    w.leaf("rdeRegistrar:status", &[], r.status.as_str());
    let full = kind != DepositKind::Brda;
    let a = &r.address;
    if full && !a.city.is_empty() && !a.country_code.is_empty() {
        w.open("rdeRegistrar:postalInfo", &[("type", "int")]).open("rdeRegistrar:addr", &[]);
        for street in a.street.iter().take(3) {
            w.leaf("rdeRegistrar:street", &[], street);
        }
        w.leaf("rdeRegistrar:city", &[], &a.city);
        if let Some(sp) = &a.state {
            w.leaf("rdeRegistrar:sp", &[], sp);
        }
        if let Some(pc) = &a.postal_code {
            w.leaf("rdeRegistrar:pc", &[], pc);
        }
        w.leaf("rdeRegistrar:cc", &[], &a.country_code).close().close();
    }
    if full {
        if let Some(phone) = &r.phone {
            w.leaf("rdeRegistrar:voice", &[], phone);
        }
        if let Some(fax) = &r.fax {
            w.leaf("rdeRegistrar:fax", &[], fax);
        }
        w.leaf("rdeRegistrar:email", &[], &r.email);
    }
    if let Some(url) = &r.url {
        w.leaf("rdeRegistrar:url", &[], url);
    }
    if let Some(whois) = &r.whois_server {
        w.open("rdeRegistrar:whoisInfo", &[]).leaf("rdeRegistrar:name", &[], whois).close();
    }
    if full {
        w.leaf("rdeRegistrar:crDate", &[], &r.created.to_rfc3339()).leaf("rdeRegistrar:upDate", &[], &r.updated.to_rfc3339());
    }
    w.finish()
}

fn host_xml(h: &Host) -> String {
    let mut w = Writer::default();
    w.open("rdeHost:host", &[]).leaf("rdeHost:name", &[], h.name.as_str()).leaf("rdeHost:roid", &[], h.roid.as_str());
    for s in h.statuses.displayed(h.is_linked()) {
        w.empty("rdeHost:status", &[("s", s.as_str())]);
    }
    for addr in &h.addrs {
        let ip = if addr.is_ipv4() { "v4" } else { "v6" };
        w.leaf("rdeHost:addr", &[("ip", ip)], &addr.to_string());
    }
    w.leaf("rdeHost:clID", &[], h.registrar.as_str());
    let stamps = Stamps {
        cr_registrar: &h.cr_registrar,
        created: h.created,
        up_registrar: h.up_registrar.as_ref(),
        updated: h.updated,
        transferred: h.transferred,
    };
    stamps.write(&mut w, ["rdeHost:crRr", "rdeHost:crDate", "rdeHost:upRr", "rdeHost:upDate", "rdeHost:trDate"]);
    w.finish()
}

/// Who made and changed a host or contact, and when: the same elements in each's namespace.
struct Stamps<'a> {
    cr_registrar: &'a crate::model::ClientId,
    created: Timestamp,
    up_registrar: Option<&'a crate::model::ClientId>,
    updated: Option<Timestamp>,
    transferred: Option<Timestamp>,
}

impl Stamps<'_> {
    fn write(&self, w: &mut Writer, [cr_rr, cr_date, up_rr, up_date, tr_date]: [&'static str; 5]) {
        w.leaf(cr_rr, &[], self.cr_registrar.as_str()).leaf(cr_date, &[], &self.created.to_rfc3339());
        if let Some(up) = self.up_registrar {
            w.leaf(up_rr, &[], up.as_str());
        }
        if let Some(u) = self.updated {
            w.leaf(up_date, &[], &u.to_rfc3339());
        }
        if let Some(t) = self.transferred {
            w.leaf(tr_date, &[], &t.to_rfc3339());
        }
    }
}

fn contact_xml(c: &Contact) -> String {
    let mut w = Writer::default();
    w.open("rdeContact:contact", &[]).leaf("rdeContact:id", &[], c.id.as_str()).leaf("rdeContact:roid", &[], c.roid.as_str());
    for s in c.statuses.displayed(c.link_count > 0) {
        w.empty("rdeContact:status", &[("s", s.as_str())]);
    }
    for (kind, postal) in [("int", &c.postal_int), ("loc", &c.postal_loc)] {
        if let Some(p) = postal {
            crate::epp::contact::write_postal(&mut w, "rdeContact:postalInfo", kind, p);
        }
    }
    for (element, phone) in [("rdeContact:voice", &c.voice), ("rdeContact:fax", &c.fax)] {
        if let Some(p) = phone {
            let attrs: Vec<(&str, &str)> = p.ext.as_deref().map(|x| vec![("x", x)]).unwrap_or_default();
            w.leaf(element, &attrs, &p.number);
        }
    }
    w.leaf("rdeContact:email", &[], &c.email).leaf("rdeContact:clID", &[], c.registrar.as_str());
    let stamps = Stamps {
        cr_registrar: &c.cr_registrar,
        created: c.created,
        up_registrar: c.up_registrar.as_ref(),
        updated: c.updated,
        transferred: c.transferred,
    };
    stamps.write(&mut w, ["rdeContact:crRr", "rdeContact:crDate", "rdeContact:upRr", "rdeContact:upDate", "rdeContact:trDate"]);
    if let Some(t) = &c.transfer {
        transfer_xml(&mut w, &CONTACT_TRANSFER, t);
    }
    if let Some(d) = c.disclose.as_ref().filter(|d| !d.fields.is_empty()) {
        w.open("rdeContact:disclose", &[("flag", if d.flag { "1" } else { "0" })]);
        // contact:discloseType's order: names, orgs, addresses, then voice, fax, email.
        let order = [
            (DiscloseField::NameInt, "contact:name", Some("int")),
            (DiscloseField::NameLoc, "contact:name", Some("loc")),
            (DiscloseField::OrgInt, "contact:org", Some("int")),
            (DiscloseField::OrgLoc, "contact:org", Some("loc")),
            (DiscloseField::AddrInt, "contact:addr", Some("int")),
            (DiscloseField::AddrLoc, "contact:addr", Some("loc")),
            (DiscloseField::Voice, "contact:voice", None),
            (DiscloseField::Fax, "contact:fax", None),
            (DiscloseField::Email, "contact:email", None),
        ];
        for (field, element, kind) in order {
            if d.fields.contains(&field) {
                let attrs: Vec<(&str, &str)> = kind.map(|k| vec![("type", k)]).unwrap_or_default();
                w.empty(element, &attrs);
            }
        }
        w.close();
    }
    w.finish()
}

/// The element names of a `trnData` in one RDE namespace; only domains
/// carry the expiry a transfer gives.
struct TransferNames {
    trn_data: &'static str,
    tr_status: &'static str,
    re_rr: &'static str,
    re_date: &'static str,
    ac_rr: &'static str,
    ac_date: &'static str,
    ex_date: Option<&'static str>,
}

const DOMAIN_TRANSFER: TransferNames = TransferNames {
    trn_data: "rdeDomain:trnData",
    tr_status: "rdeDomain:trStatus",
    re_rr: "rdeDomain:reRr",
    re_date: "rdeDomain:reDate",
    ac_rr: "rdeDomain:acRr",
    ac_date: "rdeDomain:acDate",
    ex_date: Some("rdeDomain:exDate"),
};

const CONTACT_TRANSFER: TransferNames = TransferNames {
    trn_data: "rdeContact:trnData",
    tr_status: "rdeContact:trStatus",
    re_rr: "rdeContact:reRr",
    re_date: "rdeContact:reDate",
    ac_rr: "rdeContact:acRr",
    ac_date: "rdeContact:acDate",
    ex_date: None,
};

/// `trnData` of a transfer, pending or done.
fn transfer_xml(w: &mut Writer, names: &TransferNames, t: &Transfer) {
    w.open(names.trn_data, &[]).leaf(names.tr_status, &[], t.status.as_str());
    w.leaf(names.re_rr, &[], t.gaining.as_str()).leaf(names.re_date, &[], &t.requested.to_rfc3339());
    w.leaf(names.ac_rr, &[], t.losing.as_str()).leaf(names.ac_date, &[], &t.acted.to_rfc3339());
    if let (Some(element), Some(ex)) = (names.ex_date, t.new_expires) {
        w.leaf(element, &[], &ex.to_rfc3339());
    }
    w.close();
}

/// A domain: in a BRDA only its name, ROID, statuses, name servers,
/// sponsor and dates (RA Specification 4, 3.1.1).
/// A name that cannot be registered, as RFC 9022 NNDN: its name, state
/// and when it was reserved (the reason has no place there).
fn nndn_xml(r: &crate::model::reserved::ReservedName) -> String {
    let mut w = Writer::default();
    w.open("rdeNNDN:NNDN", &[]).leaf("rdeNNDN:aName", &[], r.name.as_str()).leaf("rdeNNDN:nameState", &[], r.state.as_str()).leaf(
        "rdeNNDN:crDate",
        &[],
        &r.created.to_rfc3339(),
    );
    w.finish()
}

/// The reference to the TLD's IDN table (RFC 9022 `idnTableRef`).
fn idn_table_ref_xml(t: &crate::model::idn::IdnTable, url: &str, url_policy: &str) -> String {
    let mut w = Writer::default();
    w.open("rdeIDN:idnTableRef", &[("id", t.id.as_str())]).leaf("rdeIDN:url", &[], url).leaf("rdeIDN:urlPolicy", &[], url_policy);
    w.finish()
}

/// A domain; an internationalised one with its U-label and, when the
/// deposit references the TLD's IDN table, that table's id.
fn domain_xml(
    kind: DepositKind,
    snapshot: &Snapshot,
    d: &Domain,
    watermark: Timestamp,
    idn_id: Option<&str>,
) -> Result<String, StoreError> {
    let full = kind != DepositKind::Brda;
    let mut w = Writer::default();
    w.open("rdeDomain:domain", &[]).leaf("rdeDomain:name", &[], d.name.as_str()).leaf("rdeDomain:roid", &[], d.roid.as_str());
    let label = d.name.as_str().split('.').next().unwrap_or_default();
    if full && label.starts_with("xn--") {
        if let Some(u) = crate::model::idn::u_label(label) {
            w.leaf("rdeDomain:uName", &[], &format!("{u}.{}", d.tld));
        }
        if let Some(id) = idn_id {
            w.leaf("rdeDomain:idnTableId", &[], id);
        }
    }
    for s in d.statuses.displayed(!d.nameservers.is_empty()) {
        w.empty("rdeDomain:status", &[("s", s.as_str())]);
    }
    for s in d.rgp_statuses(watermark).into_iter().filter(|_| full) {
        w.empty("rdeDomain:rgpStatus", &[("s", s)]);
    }
    if let Some(registrant) = d.registrant.as_ref().filter(|_| full) {
        w.leaf("rdeDomain:registrant", &[], registrant.as_str());
    }
    for c in d.contacts.iter().filter(|_| full) {
        w.leaf("rdeDomain:contact", &[("type", c.kind.as_str())], c.id.as_str());
    }
    if !d.nameservers.is_empty() {
        w.open("rdeDomain:ns", &[]);
        for roid in &d.nameservers {
            if let Some(host) = snapshot.host(roid)? {
                w.leaf("domain:hostObj", &[], host.name.as_str());
            }
        }
        w.close();
    }
    w.leaf("rdeDomain:clID", &[], d.registrar.as_str());
    if full {
        w.leaf("rdeDomain:crRr", &[], d.cr_registrar.as_str());
    }
    w.leaf("rdeDomain:crDate", &[], &d.created.to_rfc3339()).leaf("rdeDomain:exDate", &[], &d.expires.to_rfc3339());
    if let Some(up) = d.up_registrar.as_ref().filter(|_| full) {
        w.leaf("rdeDomain:upRr", &[], up.as_str());
    }
    if let Some(u) = d.updated {
        w.leaf("rdeDomain:upDate", &[], &u.to_rfc3339());
    }
    if !full {
        return Ok(w.finish());
    }
    if !d.ds.is_empty() {
        w.open("rdeDomain:secDNS", &[]);
        for ds in &d.ds {
            w.open("secDNS:dsData", &[]);
            w.leaf("secDNS:keyTag", &[], &ds.key_tag.to_string()).leaf("secDNS:alg", &[], &ds.algorithm.to_string());
            w.leaf("secDNS:digestType", &[], &ds.digest_type.to_string());
            w.leaf("secDNS:digest", &[], &crate::model::objects::hex_bytes::encode_upper(&ds.digest));
            w.close();
        }
        w.close();
    }
    if let Some(t) = d.transferred {
        w.leaf("rdeDomain:trDate", &[], &t.to_rfc3339());
    }
    if let Some(t) = &d.transfer {
        transfer_xml(&mut w, &DOMAIN_TRANSFER, t);
    }
    Ok(w.finish())
}

/// The registry's EPP parameters (RFC 9022 §9.1): what its EPP server
/// greets with.
fn epp_params_xml() -> String {
    let mut w = Writer::default();
    w.open("rdeEppParams:eppParams", &[]).leaf("rdeEppParams:version", &[], "1.0").leaf("rdeEppParams:lang", &[], "en");
    for uri in [xml::DOMAIN, xml::HOST, xml::CONTACT] {
        w.leaf("rdeEppParams:objURI", &[], uri);
    }
    w.open("rdeEppParams:svcExtension", &[]);
    for uri in [xml::SECDNS, xml::RGP, xml::FEE, xml::LOGIN_SEC, xml::CHANGE_POLL] {
        w.leaf("epp:extURI", &[], uri);
    }
    w.close();
    w.open("rdeEppParams:dcp", &[]);
    w.open("epp:access", &[]).empty("epp:all", &[]).close();
    w.open("epp:statement", &[]);
    w.open("epp:purpose", &[]).empty("epp:admin", &[]).empty("epp:prov", &[]).close();
    w.open("epp:recipient", &[]).empty("epp:ours", &[]).empty("epp:public", &[]).close();
    w.open("epp:retention", &[]).empty("epp:stated", &[]).close();
    w.finish()
}

/// Where a RyDE deposit goes and with which keys.
#[derive(Debug, Clone)]
pub struct RydeKeys {
    /// The escrow agent's OpenPGP certificate: the deposit is encrypted to it.
    pub agent_cert: std::path::PathBuf,
    /// The registry's OpenPGP key (with its secret): the deposit is signed by it.
    pub signing_key: std::path::PathBuf,
    /// The largest file the receiver takes: a larger `.ryde` is split into
    /// `_S1_`, `_S2_`, … files of at most this size, each with its `.sig`
    /// (RA Specification 2); 0 for no limit.
    pub split_bytes: u64,
}

/// The files a RyDE deposit was written to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RydeDeposit {
    pub id: String,
    /// How many times it was made before: the file's revision, `R<resend>`.
    pub resend: u16,
    /// The first (or only) file of the deposit, `_S1_`.
    pub ryde: std::path::PathBuf,
    pub signature: std::path::PathBuf,
    /// How many files it was split into.
    pub parts: usize,
    /// The `rdeReport` for ICANN (escrow deposits only).
    pub report: Option<std::path::PathBuf>,
    /// The plain XML, when it was kept.
    pub xml: Option<std::path::PathBuf>,
    pub xml_bytes: u64,
    #[serde(rename = "counts")]
    pub summary: DepositSummary,
}

/// A RyDE deposit of `tld` in `folder` made at `created`, with the plain
/// XML beside it when `keep_xml`; a DIFF holds the objects in `changed`.
#[allow(clippy::too_many_arguments)]
pub fn deposit(
    kind: DepositKind,
    changed: Option<&Changed>,
    snapshot: &Snapshot,
    tld: &DomainName,
    watermark: Timestamp,
    created: Timestamp,
    keys: &RydeKeys,
    folder: &std::path::Path,
    keep_xml: bool,
) -> Result<RydeDeposit, EscrowError> {
    let mut made = write_ryde(kind, changed, snapshot, tld, watermark, created, keys, folder)?;
    if keep_xml {
        let path = made.ryde.with_extension("xml");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        write_xml(kind, snapshot, tld, watermark, &made.id, made.resend, changed, &mut file)?;
        made.xml = Some(path);
    }
    Ok(made)
}

/// A deposit of `kind` of `tld` as of the snapshot's moment `now` (a DIFF
/// of what changed since the previous deposit that the snapshot records),
/// and the cursor to record for it.
pub fn deposit_and_cursor(
    kind: DepositKind,
    snapshot: &Snapshot,
    tld: &DomainName,
    now: Timestamp,
    keys: &RydeKeys,
    folder: &std::path::Path,
    keep_xml: bool,
) -> Result<(RydeDeposit, DomainName, crate::model::change::EscrowCursor), EscrowError> {
    let through = snapshot.last_change()?;
    let (changed, full_watermark) = match kind {
        DepositKind::Diff => {
            let base = snapshot.escrow_cursor(tld, "diff")?.ok_or(EscrowError::NoBase)?;
            // Its own day's DIFF would be its base: that DIFF's changes are
            // not told apart from later ones, so the day is sent again whole.
            if base.id == deposit_id(kind, now) {
                return Err(EscrowError::DiffMade(base.id));
            }
            // Entries dropped for age may have named objects the DIFF needs.
            if base.last_change < snapshot.changes_dropped_through()? {
                return Err(EscrowError::NoBase);
            }
            (Some(Changed::since(snapshot, tld, &base.id, base.last_change, through)?), base.full_watermark)
        }
        _ => (None, now),
    };
    let made = deposit(kind, changed.as_ref(), snapshot, tld, now, now, keys, folder, keep_xml)?;
    let cursor = crate::model::change::EscrowCursor {
        id: made.id.clone(),
        kind: kind.file_type().to_string(),
        watermark: now,
        last_change: through,
        full_watermark,
    };
    Ok((made, tld.clone(), cursor))
}

/// Counts what is written to it and keeps nothing.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn pgp_error(e: impl std::fmt::Display) -> EscrowError {
    EscrowError::Io(std::io::Error::other(format!("OpenPGP: {e}")))
}

/// Writes the deposit of `tld` as RyDE (RA Specification 2): the XML, in a
/// tar of that one file, as an OpenPGP literal, compressed, encrypted with
/// integrity protection to the key in `keys` (the agent's, or ICANN's for a
/// BRDA), in `folder` as `<tld>_<date>_<full|thin>_S1_R0.ryde`, with the
/// registry's detached binary signature over it beside it (`.sig`) and, for
/// escrow, the report on it for ICANN (`-report.xml`), made at `created`. The XML is made twice from the
/// same snapshot — once to learn the size the tar header states — so it is
/// never held in memory nor left on disk in the clear.
#[allow(clippy::too_many_arguments)]
pub fn write_ryde(
    kind: DepositKind,
    changed: Option<&Changed>,
    snapshot: &Snapshot,
    tld: &DomainName,
    watermark: Timestamp,
    created: Timestamp,
    keys: &RydeKeys,
    folder: &std::path::Path,
) -> Result<RydeDeposit, EscrowError> {
    use sequoia_openpgp::cert::prelude::*;
    use sequoia_openpgp::parse::Parse;
    use sequoia_openpgp::policy::StandardPolicy;
    use sequoia_openpgp::serialize::stream::{Compressor, Encryptor, LiteralWriter, Message, Signer};
    use sequoia_openpgp::types::CompressionAlgorithm;

    let policy = StandardPolicy::new();
    let date = &watermark.to_rfc3339_seconds()[..10];
    let stem = format!("{tld}_{date}_{}", kind.file_type());
    let resend = next_revision(folder, &stem);
    let base = format!("{stem}_S1_R{resend}");
    let id = deposit_id(kind, watermark);
    let mut counter = Counter::default();
    write_xml(kind, snapshot, tld, watermark, &id, resend, changed, &mut counter)?;
    let xml_bytes = counter.0;

    let agent = Cert::from_file(&keys.agent_cert).map_err(pgp_error)?;
    let recipients = agent.keys().with_policy(&policy, None).supported().alive().revoked(false).for_storage_encryption();
    std::fs::create_dir_all(folder)?;
    let ryde = folder.join(format!("{base}.ryde"));
    let partial = folder.join(format!(".{base}.ryde.partial"));
    let file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    let message = Message::new(file);
    let message = Encryptor::for_recipients(message, recipients).build().map_err(pgp_error)?;
    let message = Compressor::new(message).algo(CompressionAlgorithm::Zip).build().map_err(pgp_error)?;
    let mut literal = LiteralWriter::new(message).build().map_err(pgp_error)?;
    let mut header = tar::Header::new_ustar();
    header.set_path(format!("{base}.xml")).map_err(EscrowError::Io)?;
    header.set_size(xml_bytes);
    header.set_mode(0o600);
    header.set_mtime(watermark.unix_seconds().max(0) as u64);
    header.set_cksum();
    literal.write_all(header.as_bytes())?;
    let mut sized = Counter::default();
    {
        let mut tee = Tee { inner: &mut literal, count: &mut sized };
        let summary = write_xml(kind, snapshot, tld, watermark, &id, resend, changed, &mut tee)?;
        if sized.0 != xml_bytes {
            return Err(EscrowError::Io(std::io::Error::other("the deposit changed between its two passes")));
        }
        // The tar entry is padded to its 512-octet block; two zero blocks end the archive.
        let padding = (512 - (xml_bytes % 512) as usize) % 512;
        literal.write_all(&vec![0u8; padding + 1024])?;
        literal.finalize().map_err(pgp_error)?;
        std::fs::rename(&partial, &ryde)?;

        let signer_cert = Cert::from_file(&keys.signing_key).map_err(pgp_error)?;
        let key = signer_cert
            .keys()
            .unencrypted_secret()
            .with_policy(&policy, None)
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .next()
            .ok_or_else(|| pgp_error("the registry's key has no usable signing key with its secret"))?;
        let keypair = key.key().clone().into_keypair().map_err(pgp_error)?;
        let parts = split(&ryde, keys.split_bytes)?;
        for part in &parts {
            let sink = std::io::BufWriter::new(std::fs::File::create(part.with_extension("sig"))?);
            let mut signer = Signer::new(Message::new(sink), keypair.clone()).map_err(pgp_error)?.detached().build().map_err(pgp_error)?;
            std::io::copy(&mut std::fs::File::open(part)?, &mut signer)?;
            signer.finalize().map_err(pgp_error)?;
        }
        let signature = ryde.with_extension("sig");
        let report = match kind {
            DepositKind::Full | DepositKind::Diff => {
                let report = folder.join(format!("{base}-report.xml"));
                std::fs::write(&report, report_xml(kind, tld, &id, resend, created, watermark, &summary))?;
                Some(report)
            }
            DepositKind::Brda => None,
        };
        Ok(RydeDeposit { id, resend, ryde, signature, parts: parts.len(), report, xml: None, xml_bytes, summary })
    }
}

/// The id of the deposit of `kind` of the day of `watermark`: one per kind
/// and day, so a BRDA never shares the escrow deposit's; a resend keeps it.
fn deposit_id(kind: DepositKind, watermark: Timestamp) -> String {
    format!("{}{}", watermark.to_rfc3339_seconds()[..10].replace('-', ""), kind.id_suffix())
}

/// The revision of the deposit `stem` (`<tld>_<date>_<kind>`) to make: 0,
/// or one more than the highest already in `folder` or delivered from it
/// (RA Specification 2 numbers a resend's file `R1`, `R2`, …).
fn next_revision(folder: &std::path::Path, stem: &str) -> u16 {
    let marks = folder.join(".delivered");
    let names = [folder, marks.as_path()]
        .into_iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok());
    let prefix = format!("{stem}_S1_R");
    names
        .filter_map(|n| n.strip_prefix(&prefix)?.split('.').next()?.split('-').next()?.parse::<u16>().ok())
        .max()
        .map_or(0, |r| r.saturating_add(1))
}

/// Splits `ryde` (an `_S1_` file) into files of at most `limit` bytes,
/// `_S2_` and on beside it, `_S1_` keeping the start; its files in order.
/// The receiver joins them before decrypting.
fn split(ryde: &std::path::Path, limit: u64) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::io::Read;
    let size = std::fs::metadata(ryde)?.len();
    if limit == 0 || size <= limit {
        return Ok(vec![ryde.to_path_buf()]);
    }
    let name = ryde.to_string_lossy();
    let mut parts = vec![ryde.to_path_buf()];
    let mut source = std::fs::File::open(ryde)?;
    std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(limit))?;
    for k in 2..=size.div_ceil(limit) {
        let part = std::path::PathBuf::from(name.replacen("_S1_", &format!("_S{k}_"), 1));
        let mut out = std::fs::File::create(&part)?;
        std::io::copy(&mut (&mut source).take(limit), &mut out)?;
        out.sync_all()?;
        parts.push(part);
    }
    std::fs::OpenOptions::new().write(true).open(ryde)?.set_len(limit)?;
    Ok(parts)
}

/// Writes through to `inner`, counting.
struct Tee<'a, W: Write> {
    inner: &'a mut W,
    count: &'a mut Counter,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.0 += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
