//! Reading a FULL deposit (ours or another registry's) into the objects the
//! registry holds, for `import escrow`: registrars, contacts, hosts and
//! domains with their statuses, RGP state, DS, pending transfers, dates and
//! ROIDs; authorization information is hashed as it is read, as EPP does.
//! Every object is converted on its own and every problem is reported with
//! the object it concerns; the import is written (by `registry`) only when
//! there is none. What RFC 9022 does not carry (when a grace period ends,
//! what it cost) the writer infers from the TLD's policy.

use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use super::read::{self, Node, Visitor};
use super::{CONTACT, DOMAIN, EscrowError, HEADER, HOST, REGISTRAR};
use crate::model::lifecycle::{Money, Transfer, TransferStatus};
use crate::model::objects::{
    Contact, ContactType, Disclose, DiscloseField, Domain, DomainContact, DsData, Host, Phone, PostalAddress, PostalInfo, Registrar,
    RegistrarStatus,
};
use crate::model::{ClientId, ContactId, ContactStatusSet, DomainName, DomainStatusSet, HostName, HostStatusSet, Roid, Timestamp};
use crate::registry::import_data::{DepositDomain, DepositImport, RgpState};

/// Problems kept for the report; the rest are counted.
const PROBLEMS_KEPT: usize = 100;

/// Why a deposit cannot be imported: every object that is wrong, with why.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DepositProblems {
    pub problems: Vec<String>,
    pub total: u64,
}

impl std::fmt::Display for DepositProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        if self.total > self.problems.len() as u64 {
            writeln!(f, "… and {} more", self.total - self.problems.len() as u64)?;
        }
        write!(f, "{} problem(s) in the deposit; nothing was imported", self.total)
    }
}

/// Reads the deposit at `path` into the objects to import.
pub fn read_file(path: &Path, decrypt_key: Option<&Path>, signer_cert: Option<&Path>) -> Result<DepositImport, ImportError> {
    with_xml(path, decrypt_key, signer_cert, |xml| parse(xml))?
}

/// Hands `use_xml` the XML of the deposit at `path`: a `.ryde`, decrypted
/// with `decrypt_key` and, when `signer_cert` is given, checked against its
/// `.sig` first; or the plain XML.
pub fn with_xml<T>(
    path: &Path,
    decrypt_key: Option<&Path>,
    signer_cert: Option<&Path>,
    use_xml: impl FnOnce(&mut dyn BufRead) -> T,
) -> Result<T, ImportError> {
    if path.extension().is_none_or(|e| e != "ryde") {
        let file = std::fs::File::open(path).map_err(EscrowError::Io)?;
        return Ok(use_xml(&mut std::io::BufReader::with_capacity(1 << 20, file)));
    }
    if let Some(cert) = signer_cert {
        read::check_signatures(&read::parts(path), cert).map_err(ImportError::Pgp)?;
    }
    let key = decrypt_key.ok_or_else(|| ImportError::Pgp("a .ryde deposit needs the agent's key (--decrypt-key)".into()))?;
    let reader = read::decrypt(&read::parts(path), key).map_err(ImportError::Pgp)?;
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(EscrowError::Io)?;
    let entry = entries.next().ok_or_else(|| ImportError::Pgp("the tar holds no XML file".into()))?.map_err(EscrowError::Io)?;
    let done = use_xml(&mut std::io::BufReader::with_capacity(1 << 20, entry));
    if entries.next().is_some() {
        return Err(ImportError::Pgp("the tar holds more than the deposit's one XML file".into()));
    }
    Ok(done)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Escrow(#[from] EscrowError),
    #[error("{0}")]
    Pgp(String),
    #[error("the XML: {0}")]
    Xml(String),
    #[error("{0}")]
    Objects(DepositProblems),
}

/// Reads a deposit's XML into the objects to import.
pub fn parse(input: impl BufRead) -> Result<DepositImport, ImportError> {
    let mut reader = Reader::default();
    read::read(input, &mut reader).map_err(ImportError::Xml)?;
    let Reader { kind, watermark, tld, registrars, contacts, hosts, domains, nndns, mut problems } = reader;
    if kind.as_deref() != Some("FULL") {
        problems.add(format!("the deposit is {}, not FULL: only a whole registry can be imported", kind.as_deref().unwrap_or("untyped")));
    }
    if watermark.is_none() {
        problems.add("the deposit has no watermark".into());
    }
    match &tld {
        None => problems.add("the deposit has no header naming its TLD".into()),
        Some(tld) => {
            for d in domains.iter().filter(|d| d.domain.name.parent().as_ref() != Some(tld)) {
                problems.add(format!("domain {}: not directly below .{tld}", d.domain.name));
            }
        }
    }
    match (tld, watermark) {
        (Some(tld), Some(watermark)) if problems.total == 0 => {
            let reserved = nndns
                .into_iter()
                .map(|(name, state, created)| crate::model::reserved::ReservedName {
                    name,
                    tld: tld.clone(),
                    state,
                    reason: "imported from an escrow deposit".into(),
                    list: "imported".into(),
                    created: created.unwrap_or(watermark),
                })
                .collect();
            Ok(DepositImport { tld, watermark, nameservers: Vec::new(), registrars, contacts, hosts, domains, reserved, progress: None })
        }
        _ => Err(ImportError::Objects(problems)),
    }
}

impl DepositProblems {
    fn add(&mut self, problem: String) {
        self.total += 1;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(problem);
        }
    }
}

#[derive(Default)]
struct Reader {
    kind: Option<String>,
    watermark: Option<Timestamp>,
    tld: Option<DomainName>,
    registrars: Vec<Registrar>,
    contacts: Vec<Contact>,
    hosts: Vec<Host>,
    domains: Vec<DepositDomain>,
    /// NNDN names with their state and creation.
    nndns: Vec<(DomainName, crate::model::reserved::NameState, Option<Timestamp>)>,
    problems: DepositProblems,
}

impl Visitor for Reader {
    fn root(&mut self, kind: Option<&str>) {
        self.kind = kind.map(str::to_string);
    }

    fn deposit_child(&mut self, ns: &str, node: Node) {
        if ns == super::RDE && node.name == "watermark" {
            match Timestamp::parse_rfc3339(node.text.trim()) {
                Ok(at) => self.watermark = Some(at),
                Err(e) => self.problems.add(format!("the watermark: {e}")),
            }
        }
    }

    fn object(&mut self, ns: &str, node: Node) {
        let (kind, result) = match (ns, node.name.as_str()) {
            (HEADER, "header") => {
                match node.text_of("tld").map(DomainName::parse) {
                    Some(Ok(tld)) => self.tld = Some(tld),
                    _ => self.problems.add("the header names no valid TLD".into()),
                }
                return;
            }
            (REGISTRAR, "registrar") => ("registrar", registrar(&node).map(|r| self.registrars.push(r))),
            (CONTACT, "contact") => ("contact", contact(&node).map(|c| self.contacts.push(c))),
            (HOST, "host") => ("host", host(&node).map(|h| self.hosts.push(h))),
            (DOMAIN, "domain") => ("domain", domain(&node).map(|d| self.domains.push(d))),
            // The old registry's EPP parameters, IDN table references and
            // policy describe its configuration, which is set here anew.
            (super::EPP_PARAMS, "eppParams") | (super::IDN, "idnTableRef") | (super::verify::POLICY, "policy") => return,
            (super::NNDN, "NNDN") => ("NNDN", nndn(&node).map(|n| self.nndns.push(n))),
            _ => ("object", Err(format!("{{{ns}}}{} cannot be imported", node.name))),
        };
        if let Err(e) = result {
            let name = node.text_of("name").or_else(|| node.text_of("id")).or_else(|| node.text_of("aName")).unwrap_or("(unnamed)");
            self.problems.add(format!("{kind} {name}: {e}"));
        }
    }
}

type Parsed<T> = Result<T, String>;

/// An NNDN object: its A-label name, state and creation. A mirrored name
/// (delegated to the name servers of another) is refused: this registry
/// keeps withheld and blocked names only.
fn nndn(node: &Node) -> Parsed<(DomainName, crate::model::reserved::NameState, Option<Timestamp>)> {
    let name = DomainName::parse(required(node, "aName")?).map_err(|e| e.to_string())?;
    let state = required(node, "nameState")?;
    let state = crate::model::reserved::NameState::parse(state)
        .ok_or_else(|| format!("name state {state:?} is not kept here (withheld or blocked)"))?;
    Ok((name, state, date(node, "crDate")?))
}

fn required<'a>(node: &'a Node, element: &str) -> Parsed<&'a str> {
    node.text_of(element).ok_or_else(|| format!("no {element}"))
}

fn date(node: &Node, element: &str) -> Parsed<Option<Timestamp>> {
    node.text_of(element).map(|t| Timestamp::parse_rfc3339(t).map_err(|e| format!("{element}: {e}"))).transpose()
}

fn required_date(node: &Node, element: &str) -> Parsed<Timestamp> {
    date(node, element)?.ok_or_else(|| format!("no {element}"))
}

fn client(node: &Node, element: &str) -> Parsed<Option<ClientId>> {
    node.text_of(element).map(|t| ClientId::parse(t).map_err(|e| format!("{element}: {e}"))).transpose()
}

fn required_client(node: &Node, element: &str) -> Parsed<ClientId> {
    client(node, element)?.ok_or_else(|| format!("no {element}"))
}

fn roid(node: &Node) -> Parsed<Roid> {
    let roid = required(node, "roid")?;
    if !super::verify::roid_ok(roid) {
        return Err(format!("{roid} is not a ROID (RFC 5730 §2.8)"));
    }
    Ok(Roid(roid.into()))
}

/// The stored statuses of an object: those the server derives (`ok`,
/// `inactive`, `linked`) are dropped.
fn statuses<S: Copy>(node: &Node, parse: impl Fn(&str) -> Result<S, crate::model::status::StatusError>) -> Parsed<Vec<S>> {
    node.all("status")
        .filter_map(|s| s.attr("s"))
        .filter(|s| !matches!(*s, "ok" | "inactive" | "linked"))
        .map(|s| parse(s).map_err(|e| e.to_string()))
        .collect()
}

fn registrar(r: &Node) -> Parsed<Registrar> {
    let id = ClientId::parse(required(r, "id")?).map_err(|e| e.to_string())?;
    let status = match r.text_of("status").unwrap_or("ok") {
        "ok" => RegistrarStatus::Ok,
        "readonly" => RegistrarStatus::Readonly,
        "terminated" => RegistrarStatus::Terminated,
        other => return Err(format!("status {other} is not ok, readonly or terminated")),
    };
    let gurid = r.text_of("gurid").map(|g| g.parse::<u32>().map_err(|_| format!("gurid {g} is not a number"))).transpose()?;
    let postal = r.all("postalInfo").find(|p| p.attr("type") == Some("int")).or_else(|| r.child("postalInfo"));
    let created = date(r, "crDate")?.unwrap_or(Timestamp(0));
    Ok(Registrar {
        id,
        name: required(r, "name")?.to_string(),
        iana_id: gurid,
        status,
        email: r.text_of("email").unwrap_or_default().to_string(),
        phone: r.text_of("voice").map(str::to_string),
        fax: r.text_of("fax").map(str::to_string),
        url: r.text_of("url").map(str::to_string),
        whois_server: r.child("whoisInfo").and_then(|w| w.text_of("name")).map(str::to_string),
        rdap_base_url: None,
        address: postal.and_then(|p| p.child("addr")).map(address).unwrap_or_default(),
        abuse_email: None,
        abuse_phone: None,
        password_hash: None,
        cert_fingerprints: Vec::new(),
        allowed_addresses: Vec::new(),
        created,
        updated: date(r, "upDate")?.unwrap_or(created),
        accounts: Vec::new(),
    })
}

fn address(a: &Node) -> PostalAddress {
    PostalAddress {
        street: a.all("street").map(|s| s.text.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        city: a.text_of("city").unwrap_or_default().to_string(),
        state: a.text_of("sp").map(str::to_string),
        postal_code: a.text_of("pc").map(str::to_string),
        country_code: a.text_of("cc").unwrap_or_default().to_string(),
    }
}

fn phone(node: &Node, element: &str) -> Option<Phone> {
    let p = node.child(element)?;
    let number = p.text.trim();
    (!number.is_empty()).then(|| Phone { number: number.to_string(), ext: p.attr("x").map(str::to_string) })
}

/// The `trnData` of a domain or contact.
fn transfer(node: &Node) -> Parsed<Option<Transfer>> {
    let Some(t) = node.child("trnData") else { return Ok(None) };
    let status = required(t, "trStatus")?;
    let status = [
        TransferStatus::Pending,
        TransferStatus::ClientApproved,
        TransferStatus::ClientRejected,
        TransferStatus::ClientCancelled,
        TransferStatus::ServerApproved,
        TransferStatus::ServerCancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == status)
    .ok_or_else(|| format!("trStatus {status} is not an RFC 5730 transfer status"))?;
    let requested = required_date(t, "reDate")?;
    let new_expires = date(t, "exDate")?;
    Ok(Some(Transfer {
        status,
        gaining: required_client(t, "reRr")?,
        requested,
        losing: required_client(t, "acRr")?,
        acted: required_date(t, "acDate")?,
        // RFC 9022 carries the expiry the transfer gives, not its period:
        // whole years between the request and that expiry, at least one.
        years: new_expires.map(|ex| ((ex.0 - requested.0) / (365 * 86_400 * 1000)).clamp(1, 10) as u32).unwrap_or(1),
        new_expires,
        fee: Money(0),
        currency: None,
    }))
}

fn contact(c: &Node) -> Parsed<Contact> {
    let id = ContactId::parse(required(c, "id")?).map_err(|e| e.to_string())?;
    let postal = |kind: &str| -> Parsed<Option<PostalInfo>> {
        let Some(p) = c.all("postalInfo").find(|p| p.attr("type") == Some(kind)) else { return Ok(None) };
        Ok(Some(PostalInfo {
            name: required(p, "name")?.to_string(),
            org: p.text_of("org").map(str::to_string),
            address: p.child("addr").map(address).ok_or("a postalInfo without addr")?,
        }))
    };
    let disclose = c
        .child("disclose")
        .map(|d| -> Parsed<Disclose> {
            let flag = match d.attr("flag") {
                Some("1" | "true") => true,
                Some("0" | "false") => false,
                other => return Err(format!("disclose flag {other:?} is not 0 or 1")),
            };
            let mut fields = Vec::new();
            for f in &d.children {
                let field = match (f.name.as_str(), f.attr("type")) {
                    ("name", Some("int")) => DiscloseField::NameInt,
                    ("name", Some("loc")) => DiscloseField::NameLoc,
                    ("org", Some("int")) => DiscloseField::OrgInt,
                    ("org", Some("loc")) => DiscloseField::OrgLoc,
                    ("addr", Some("int")) => DiscloseField::AddrInt,
                    ("addr", Some("loc")) => DiscloseField::AddrLoc,
                    ("voice", _) => DiscloseField::Voice,
                    ("fax", _) => DiscloseField::Fax,
                    ("email", _) => DiscloseField::Email,
                    (other, kind) => return Err(format!("disclose {other} {kind:?} is not a contact field")),
                };
                fields.push(field);
            }
            Ok(Disclose { flag, fields })
        })
        .transpose()?;
    let statuses = ContactStatusSet::from_statuses(statuses(c, crate::model::ContactStatus::parse)?).map_err(|e| e.to_string())?;
    Ok(Contact {
        id,
        roid: roid(c)?,
        registrar: required_client(c, "clID")?,
        postal_int: postal("int")?,
        postal_loc: postal("loc")?,
        voice: phone(c, "voice"),
        fax: phone(c, "fax"),
        email: required(c, "email")?.to_string(),
        statuses,
        disclose,
        auth_info_hash: auth_info(c),
        link_count: 0,
        created: required_date(c, "crDate")?,
        cr_registrar: client(c, "crRr")?.map_or_else(|| required_client(c, "clID"), Ok)?,
        updated: date(c, "upDate")?,
        up_registrar: client(c, "upRr")?,
        transferred: date(c, "trDate")?,
        transfer: transfer(c)?,
    })
}

/// The hash of an object's password, when the deposit carries it.
fn auth_info(node: &Node) -> Option<String> {
    let pw = node.child("authInfo")?.text_of("pw")?;
    Some(crate::registry::credentials::hash_auth_info(pw))
}

fn host(h: &Node) -> Parsed<Host> {
    let name = HostName::parse(required(h, "name")?).map_err(|e| e.to_string())?;
    let addrs = h
        .all("addr")
        .map(|a| a.text.trim().parse::<IpAddr>().map_err(|_| format!("{} is not an IP address", a.text.trim())))
        .collect::<Parsed<Vec<_>>>()?;
    let statuses = HostStatusSet::from_statuses(statuses(h, crate::model::HostStatus::parse)?).map_err(|e| e.to_string())?;
    let registrar = required_client(h, "clID")?;
    Ok(Host {
        name,
        roid: roid(h)?,
        addrs,
        statuses,
        // Which domain a host is below, and how many link to it, follow
        // from the other objects: the writer works them out.
        superordinate: None,
        link_count: 0,
        published_link_count: 0,
        created: required_date(h, "crDate")?,
        cr_registrar: client(h, "crRr")?.unwrap_or_else(|| registrar.clone()),
        registrar,
        updated: date(h, "upDate")?,
        up_registrar: client(h, "upRr")?,
        transferred: date(h, "trDate")?,
    })
}

fn domain(d: &Node) -> Parsed<DepositDomain> {
    let name = DomainName::parse(required(d, "name")?).map_err(|e| e.to_string())?;
    let tld = name.parent().ok_or("a domain must be below a TLD")?;
    let mut contacts = Vec::new();
    for c in d.all("contact") {
        let kind = match c.attr("type") {
            Some("admin") => ContactType::Admin,
            Some("tech") => ContactType::Tech,
            Some("billing") => ContactType::Billing,
            other => return Err(format!("contact type {other:?} is not admin, tech or billing")),
        };
        contacts.push(DomainContact { kind, id: ContactId::parse(c.text.trim()).map_err(|e| e.to_string())? });
    }
    let mut nameservers = Vec::new();
    if let Some(ns) = d.child("ns") {
        if ns.child("hostAttr").is_some() {
            return Err("host attributes: this registry keeps name servers as host objects".into());
        }
        for h in ns.all("hostObj") {
            nameservers.push(HostName::parse(h.text.trim()).map_err(|e| format!("name server {}: {e}", h.text.trim()))?);
        }
    }
    let mut ds = Vec::new();
    if let Some(sec) = d.child("secDNS") {
        if sec.child("keyData").is_some() {
            return Err("secDNS keyData: this registry takes DS records (dsData) only".into());
        }
        for r in sec.all("dsData") {
            let number = |element: &str| -> Parsed<u32> {
                required(r, element)?.parse::<u32>().map_err(|_| format!("secDNS {element} is not a number"))
            };
            let digest = crate::model::objects::hex_bytes::decode(required(r, "digest")?).ok_or("secDNS digest is not hex")?;
            let record = DsData {
                key_tag: u16::try_from(number("keyTag")?).map_err(|_| "secDNS keyTag is out of range")?,
                algorithm: u8::try_from(number("alg")?).map_err(|_| "secDNS alg is out of range")?,
                digest_type: u8::try_from(number("digestType")?).map_err(|_| "secDNS digestType is out of range")?,
                digest,
            };
            record.validate().map_err(|e| e.to_string())?;
            ds.push(record);
        }
    }
    let mut rgp = Vec::new();
    for s in d.all("rgpStatus").filter_map(|s| s.attr("s")) {
        rgp.push(RgpState::parse(s).ok_or_else(|| format!("rgpStatus {s} is not an RFC 3915 status"))?);
    }
    let statuses = DomainStatusSet::from_statuses(statuses(d, crate::model::DomainStatus::parse)?).map_err(|e| e.to_string())?;
    let registrar = required_client(d, "clID")?;
    let domain = Domain {
        name,
        roid: roid(d)?,
        tld,
        registrant: d.text_of("registrant").map(ContactId::parse).transpose().map_err(|e| format!("registrant: {e}"))?,
        contacts,
        nameservers: Vec::new(),
        ds,
        statuses,
        created: required_date(d, "crDate")?,
        cr_registrar: client(d, "crRr")?.unwrap_or_else(|| registrar.clone()),
        registrar,
        updated: date(d, "upDate")?,
        up_registrar: client(d, "upRr")?,
        expires: required_date(d, "exDate")?,
        transferred: date(d, "trDate")?,
        auth_info_hash: auth_info(d),
        grace: Vec::new(),
        rgp: None,
        transfer: transfer(d)?,
    };
    Ok(DepositDomain { domain, nameservers, rgp })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../tests/xsd/rde/examples/full-deposit.xml");

    #[test]
    fn another_registrys_deposit_reads_into_our_objects() {
        let import = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(import.tld.as_str(), "test");
        assert_eq!((import.registrars.len(), import.hosts.len(), import.contacts.len(), import.domains.len()), (1, 1, 1, 1));
        let d = &import.domains[0];
        assert_eq!(d.domain.roid.as_str(), "D7001-TEST");
        assert_eq!(d.nameservers, [HostName::parse("ns1.harbour.test").unwrap()]);
        assert_eq!(d.rgp, [RgpState::AddPeriod]);
        assert_eq!(d.domain.ds.len(), 1);
        assert!(d.domain.statuses.contains(crate::model::DomainStatus::ClientTransferProhibited));
        assert_eq!(d.domain.contacts.len(), 2);
        let c = &import.contacts[0];
        assert_eq!(
            c.disclose.as_ref().map(|d| (d.flag, d.fields.clone())),
            Some((false, vec![DiscloseField::Voice, DiscloseField::Email]))
        );
        // Its name that is not a domain becomes a reserved name in the same state.
        let r = &import.reserved[0];
        assert_eq!(
            (r.name.as_str(), r.state, r.list.as_str()),
            ("xn--exmple-cua.test", crate::model::reserved::NameState::Blocked, "imported")
        );
        // A mirrored name is not kept here: refused, named.
        let mirrored = EXAMPLE.replace("<rdeNNDN:nameState>blocked</rdeNNDN:nameState>", "<rdeNNDN:nameState>mirrored</rdeNNDN:nameState>");
        let Err(ImportError::Objects(problems)) = parse(mirrored.as_bytes()) else { panic!("the mirrored name is refused") };
        assert_eq!(problems.total, 1, "{problems}");
        assert!(problems.problems[0].starts_with("NNDN xn--exmple-cua.test:"), "{problems}");
    }

    #[test]
    fn every_problem_is_named_with_its_object() {
        let broken = EXAMPLE.replace("<rdeDomain:exDate>2026-01-02T10:20:30Z</rdeDomain:exDate>", "").replace("D7001-TEST", "not a roid");
        let Err(ImportError::Objects(problems)) = parse(broken.as_bytes()) else { panic!("refused") };
        assert!(problems.problems.iter().any(|p| p.starts_with("domain harbour.test: ") && p.contains("ROID")), "{problems}");
        assert!(matches!(parse("<rde:deposit".as_bytes()), Err(ImportError::Xml(_))));
    }
}
