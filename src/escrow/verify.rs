//! Checks a deposit the way ICANN's registry system tests do (RST rde-01 to
//! rde-15): its file name, the registry's signature, decryption with the
//! agent's key, the XML, the menu and header URIs, the counts, every
//! domain, host, contact and registrar object and what they refer to, NNDN
//! objects and the EPP parameters. The XML is read as a stream, one object
//! at a time, so a deposit of millions of domains is checked in little
//! memory: what is kept is the set of names, ids and ROIDs that uniqueness
//! and references need. Schema validation is left to `xmllint`, which holds
//! the schemas; IDN tables, policy objects and CSV files are reported as not
//! applicable, since deposits written here hold none.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, Read};
use std::path::Path;

use super::read::{self, Node, Visitor, check_signatures, decrypt};
use super::{CONTACT, DOMAIN, EPP_PARAMS, EscrowError, HEADER, HOST, IDN, NNDN, REGISTRAR};
use crate::model::{DomainName, Timestamp};

pub(super) const POLICY: &str = "urn:ietf:params:xml:ns:rdePolicy-1.0";

/// The findings kept per case; the rest are only counted.
const FINDINGS_KEPT: usize = 20;

/// The cases, in order, with what each checks.
const CASES: [(&str, &str); 15] = [
    ("rde-01", "deposit file name"),
    ("rde-02", "signature over the deposit file"),
    ("rde-03", "decryption of the deposit file"),
    ("rde-04", "well-formed XML"),
    ("rde-05", "object types in the menu and the header"),
    ("rde-06", "object counts"),
    ("rde-07", "domain objects"),
    ("rde-08", "host objects"),
    ("rde-09", "contact objects"),
    ("rde-10", "registrar objects"),
    ("rde-11", "IDN table objects"),
    ("rde-12", "NNDN objects"),
    ("rde-13", "EPP parameters object"),
    ("rde-14", "policy objects"),
    ("rde-15", "CSV fRegistrant isRequired"),
];

/// One problem found: the RST error code and what it concerns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub detail: String,
}

/// How one case came out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaseOutcome {
    Pass,
    Fail {
        findings: Vec<Finding>,
        total: u64,
    },
    /// Not run, and why.
    NotRun {
        reason: String,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseResult {
    pub case: &'static str,
    pub checks: &'static str,
    #[serde(flatten)]
    pub outcome: CaseOutcome,
}

/// Every case's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub cases: Vec<CaseResult>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        !self.cases.iter().any(|c| matches!(c.outcome, CaseOutcome::Fail { .. }))
    }

    /// The error codes found, each once.
    pub fn codes(&self) -> BTreeSet<&'static str> {
        self.cases
            .iter()
            .filter_map(|c| match &c.outcome {
                CaseOutcome::Fail { findings, .. } => Some(findings.iter().map(|f| f.code)),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.cases {
            match &c.outcome {
                CaseOutcome::Pass => writeln!(f, "{}  pass     {}", c.case, c.checks)?,
                CaseOutcome::NotRun { reason } => writeln!(f, "{}  not run  {}: {reason}", c.case, c.checks)?,
                CaseOutcome::Fail { findings, total } => {
                    writeln!(f, "{}  FAIL     {}: {total} finding(s)", c.case, c.checks)?;
                    for finding in findings {
                        writeln!(f, "          {}: {}", finding.code, finding.detail)?;
                    }
                    if *total > findings.len() as u64 {
                        writeln!(f, "          … and {} more", total - findings.len() as u64)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What to check a deposit with.
#[derive(Debug, Clone, Default)]
pub struct VerifyKeys {
    /// The escrow agent's secret key, to decrypt a `.ryde`.
    pub decrypt_key: Option<std::path::PathBuf>,
    /// The registry's certificate, to check the `.sig` beside a `.ryde`.
    pub signer_cert: Option<std::path::PathBuf>,
}

/// Collects findings per case.
#[derive(Default)]
struct Findings {
    by_case: BTreeMap<&'static str, (Vec<Finding>, u64)>,
    not_run: BTreeMap<&'static str, String>,
}

impl Findings {
    fn add(&mut self, case: &'static str, code: &'static str, detail: impl Into<String>) {
        let (kept, total) = self.by_case.entry(case).or_default();
        *total += 1;
        if kept.len() < FINDINGS_KEPT {
            kept.push(Finding { code, detail: detail.into() });
        }
    }

    fn not_run(&mut self, case: &'static str, reason: impl Into<String>) {
        self.not_run.insert(case, reason.into());
    }

    fn report(mut self) -> VerifyReport {
        let cases = CASES
            .iter()
            .map(|&(case, checks)| {
                let outcome = match (self.by_case.remove(case), self.not_run.remove(case)) {
                    (Some((findings, total)), _) => CaseOutcome::Fail { findings, total },
                    (None, Some(reason)) => CaseOutcome::NotRun { reason },
                    (None, None) => CaseOutcome::Pass,
                };
                CaseResult { case, checks, outcome }
            })
            .collect();
        VerifyReport { cases }
    }
}

/// The parts of an RA Specification 2 file name:
/// `{tld}_{YYYY-MM-DD}_{full|diff|thin}_S{n}_R{n}.{ext}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileName {
    tld: DomainName,
    kind: String,
}

fn parse_file_name(name: &str) -> Option<FileName> {
    let stem = name.strip_suffix(".ryde").or_else(|| name.strip_suffix(".xml"))?;
    let mut parts = stem.rsplitn(5, '_');
    let (revision, split, kind, date, tld) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let numbered = |text: &str, prefix: char, least: u32| {
        text.strip_prefix(prefix)
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= least)
    };
    let date_ok = date.len() == 10 && Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z")).is_ok();
    if !(numbered(revision, 'R', 0) && numbered(split, 'S', 1) && date_ok && ["full", "diff", "thin"].contains(&kind)) {
        return None;
    }
    Some(FileName { tld: DomainName::parse(tld).ok()?, kind: kind.into() })
}

/// Checks the deposit at `path`: a `.ryde` (decrypted with `keys`, its
/// `.sig` beside it) or the plain `.xml`.
pub fn verify(path: &Path, keys: &VerifyKeys) -> Result<VerifyReport, EscrowError> {
    let mut findings = Findings::default();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file_name = parse_file_name(&name);
    match &file_name {
        None => findings.add(
            "rde-01",
            "RDE_INVALID_FILENAME",
            format!("{name} is not {{tld}}_{{YYYY-MM-DD}}_{{full|diff|thin}}_S{{n}}_R{{n}}.ryde"),
        ),
        Some(f) if f.kind != "full" => findings.add("rde-01", "RDE_INVALID_FILENAME", format!("{name}: the deposit must be FULL")),
        Some(_) => {}
    }
    let tld = file_name.map(|f| f.tld);
    if name.ends_with(".ryde") {
        match &keys.signer_cert {
            Some(cert) => {
                if let Err(e) = check_signatures(&read::parts(path), cert) {
                    findings.add("rde-02", "RDE_INVALID_SIGNATURE", e);
                }
            }
            None => findings.not_run("rde-02", "no registry certificate given (--signer-cert)"),
        }
        let Some(key) = &keys.decrypt_key else {
            findings.not_run("rde-03", "no decryption key given (--decrypt-key)");
            for case in
                ["rde-04", "rde-05", "rde-06", "rde-07", "rde-08", "rde-09", "rde-10", "rde-11", "rde-12", "rde-13", "rde-14", "rde-15"]
            {
                findings.not_run(case, "the deposit was not decrypted");
            }
            return Ok(findings.report());
        };
        let stem = name.trim_end_matches(".ryde");
        match decrypt(&read::parts(path), key) {
            Err(e) => findings.add("rde-03", "RDE_DECRYPTION_FAILED", e),
            Ok(reader) => {
                let mut archive = tar::Archive::new(reader);
                match read_archive(&mut archive, stem, tld.as_ref(), &mut findings) {
                    Ok(()) => {}
                    Err(e) => findings.add("rde-03", "RDE_DECRYPTION_FAILED", e.to_string()),
                }
            }
        }
    } else {
        findings.not_run("rde-02", "a plain XML deposit carries no signature");
        findings.not_run("rde-03", "a plain XML deposit is not encrypted");
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        Checker::new(tld, &mut findings).run(file);
    }
    Ok(findings.report())
}

/// Reads the one XML file of a RyDE tar and checks it.
fn read_archive(
    archive: &mut tar::Archive<impl Read>,
    stem: &str,
    tld: Option<&DomainName>,
    findings: &mut Findings,
) -> std::io::Result<()> {
    let mut files = 0;
    for entry in archive.entries()? {
        let entry = entry?;
        files += 1;
        let path = entry.path()?.to_string_lossy().into_owned();
        if files > 1 {
            findings.add("rde-04", "RDE_MISSING_FILES", format!("the tar holds more than the deposit's one XML file ({path})"));
            continue;
        }
        if path != format!("{stem}.xml") {
            findings.add("rde-01", "RDE_INVALID_FILENAME", format!("the tar holds {path}, not {stem}.xml"));
        }
        Checker::new(tld.cloned(), findings).run(std::io::BufReader::new(entry));
    }
    if files == 0 {
        findings.add("rde-04", "RDE_MISSING_FILES", "the tar holds no XML file");
    }
    Ok(())
}

/// A set of names, ids or ROIDs, held as 128-bit hashes under keys drawn
/// for this check: uniqueness and references need only equality, and a
/// million names cost 16 bytes each instead of their text. A deposit cannot
/// aim for collisions under keys it does not know.
#[derive(Default)]
struct Keys {
    hashers: [std::collections::hash_map::RandomState; 2],
    set: HashSet<u128>,
}

impl Keys {
    fn key(&self, text: &str) -> u128 {
        use std::hash::BuildHasher;
        let [high, low] = &self.hashers;
        (u128::from(high.hash_one(text)) << 64) | u128::from(low.hash_one(text))
    }

    /// Whether `text` was not yet in the set.
    fn insert(&mut self, text: &str) -> bool {
        let key = self.key(text);
        self.set.insert(key)
    }

    fn contains(&self, text: &str) -> bool {
        self.set.contains(&self.key(text))
    }
}

/// A reference from one object to another that was not yet seen.
struct Pending {
    case: &'static str,
    code: &'static str,
    kind: Kind,
    from: String,
    to: String,
}

/// The streaming check of a deposit's XML.
struct Checker<'f> {
    tld: Option<DomainName>,
    findings: &'f mut Findings,
    watermark: Option<Timestamp>,
    menu: Option<BTreeSet<String>>,
    header: Option<(String, BTreeMap<String, u64>)>,
    counts: BTreeMap<String, u64>,
    registrars: Keys,
    hosts: Keys,
    host_roids: Keys,
    contacts: Keys,
    contact_roids: Keys,
    domains: Keys,
    domain_roids: Keys,
    nndns: Vec<String>,
    pending: Vec<Pending>,
    /// Domains checked before the watermark was read: its date checks wait.
    dated_late: Vec<(String, Option<String>, Option<String>, bool)>,
}

impl<'f> Checker<'f> {
    fn new(tld: Option<DomainName>, findings: &'f mut Findings) -> Self {
        Checker {
            tld,
            findings,
            watermark: None,
            menu: None,
            header: None,
            counts: BTreeMap::new(),
            registrars: Keys::default(),
            hosts: Keys::default(),
            host_roids: Keys::default(),
            contacts: Keys::default(),
            contact_roids: Keys::default(),
            domains: Keys::default(),
            domain_roids: Keys::default(),
            nndns: Vec::new(),
            pending: Vec::new(),
            dated_late: Vec::new(),
        }
    }

    fn run(mut self, input: impl BufRead) {
        if let Err(e) = read::read(input, &mut self) {
            self.findings.add("rde-04", "RDE_XML_PARSE_ERROR", e);
            for case in ["rde-05", "rde-06", "rde-07", "rde-08", "rde-09", "rde-10", "rde-12", "rde-13"] {
                self.findings.not_run(case, "the XML could not be read to its end");
            }
            return;
        }
        self.finish();
    }
}

impl Visitor for Checker<'_> {
    fn root(&mut self, kind: Option<&str>) {
        if kind.is_some_and(|k| k != "FULL") {
            self.findings.add("rde-01", "RDE_INVALID_FILENAME", "the deposit's type is not FULL");
        }
    }

    fn deposit_child(&mut self, ns: &str, node: Node) {
        if ns != super::RDE {
            return;
        }
        match node.name.as_str() {
            "watermark" => match Timestamp::parse_rfc3339(node.text.trim()) {
                Ok(at) => self.watermark = Some(at),
                Err(_) => {
                    self.findings.add("rde-04", "RDE_XML_PARSE_ERROR", format!("the watermark {} is not a date-time", node.text.trim()))
                }
            },
            "rdeMenu" => self.menu = Some(node.all("objURI").map(|u| u.text.trim().to_string()).collect()),
            _ => {}
        }
    }

    fn object(&mut self, ns: &str, node: Node) {
        if ns == HEADER && node.name == "header" {
            let tld = node.text_of("tld").unwrap_or_default().to_string();
            let mut counts = BTreeMap::new();
            for count in node.all("count") {
                let uri = count.attr("uri").unwrap_or_default().to_string();
                match count.text.trim().parse::<u64>() {
                    Ok(n) => {
                        counts.insert(uri, n);
                    }
                    Err(_) => self.findings.add("rde-06", "RDE_OBJECT_COUNT_MISMATCH", format!("the count for {uri} is not a number")),
                }
            }
            if self.header.replace((tld, counts)).is_some() {
                self.findings.add("rde-06", "RDE_UNEXPECTED_OBJECT", "more than one header");
            }
            return;
        }
        *self.counts.entry(ns.to_string()).or_default() += 1;
        match (ns, node.name.as_str()) {
            (DOMAIN, "domain") => self.domain(&node),
            (HOST, "host") => self.host(&node),
            (CONTACT, "contact") => self.contact(&node),
            (REGISTRAR, "registrar") => self.registrar(&node),
            (NNDN, "NNDN") => self.nndn(&node),
            (EPP_PARAMS, "eppParams") => self.epp_params(&node),
            (IDN, "idnTableRef") | (POLICY, "policy") => {}
            _ => self.findings.add("rde-06", "RDE_UNEXPECTED_OBJECT", format!("{{{ns}}}{}", node.name)),
        }
    }
}

impl Checker<'_> {
    /// Checks that the `kind` object `to`, which `from` refers to, is in
    /// the deposit: now, or once the whole deposit was read.
    fn refer(&mut self, case: &'static str, code: &'static str, from: &str, kind: Kind, to: &str) {
        if !self.known(kind, to) {
            self.pending.push(Pending { case, code, kind, from: from.to_string(), to: to.to_string() });
        }
    }

    fn known(&self, kind: Kind, name: &str) -> bool {
        let known = match kind {
            Kind::Registrar => &self.registrars,
            Kind::Host => &self.hosts,
            Kind::Contact => &self.contacts,
        };
        known.contains(&normalise(kind, name))
    }

    fn domain(&mut self, d: &Node) {
        let Some(name) = d.text_of("name") else {
            self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_NAME", "a domain without a name");
            return;
        };
        let name = name.to_string();
        match DomainName::parse(&name) {
            Ok(parsed) => {
                if let Some(tld) = &self.tld
                    && parsed.parent().as_ref() != Some(tld)
                {
                    self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_NAME", format!("{name} is not a name directly under {tld}"));
                }
                if !self.domains.insert(parsed.as_str()) {
                    self.findings.add("rde-07", "RDE_DOMAIN_HAS_NON_UNIQUE_NAME", name.clone());
                }
            }
            Err(e) => self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_NAME", format!("{name}: {e}")),
        }
        let codes = ["RDE_DOMAIN_HAS_MISSING_ROID", "RDE_DOMAIN_HAS_INVALID_ROID", "RDE_DOMAIN_HAS_NON_UNIQUE_ROID"];
        check_roid(self.findings, &mut self.domain_roids, "rde-07", codes, &name, d.text_of("roid"));
        let statuses: Vec<&str> = d.all("status").filter_map(|s| s.attr("s")).collect();
        if statuses.is_empty() {
            self.findings.add("rde-07", "RDE_DOMAIN_HAS_MISSING_STATUS", name.clone());
        }
        for s in &statuses {
            if crate::model::status::DomainStatus::parse(s).is_err() {
                self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_STATUS", format!("{name}: {s}"));
            }
        }
        if let Some(registrant) = d.text_of("registrant") {
            self.refer("rde-07", "RDE_DOMAIN_HAS_INVALID_REGISTRANT", &name, Kind::Contact, registrant);
        }
        for contact in d.all("contact") {
            self.refer("rde-07", "RDE_DOMAIN_HAS_MISSING_CONTACT", &name, Kind::Contact, contact.text.trim());
        }
        if let Some(ns) = d.child("ns") {
            for host in ns.all("hostObj") {
                self.refer("rde-07", "RDE_DOMAIN_HAS_MISSING_NAMESERVER", &name, Kind::Host, host.text.trim());
            }
            if ns.child("hostAttr").is_some() {
                self.findings.add(
                    "rde-07",
                    "RDE_DOMAIN_HAS_UNEXPECTED_HOST_ATTRIBUTES",
                    format!("{name}: host attributes in a deposit of host objects"),
                );
            }
        }
        self.sponsor("rde-07", &name, d, ["RDE_DOMAIN_HAS_MISSING_CLID", "RDE_DOMAIN_HAS_INVALID_CLID"]);
        for (element, code) in [("crRr", "RDE_DOMAIN_HAS_INVALID_CRRR"), ("upRr", "RDE_DOMAIN_HAS_INVALID_UPRR")] {
            if let Some(r) = d.text_of(element) {
                self.refer("rde-07", code, &name, Kind::Registrar, r);
            }
        }
        if let Some(trn) = d.child("trnData") {
            for (element, code) in [("reRr", "RDE_DOMAIN_HAS_INVALID_RERR"), ("acRr", "RDE_DOMAIN_HAS_INVALID_ACRR")] {
                if let Some(r) = trn.text_of(element) {
                    self.refer("rde-07", code, &name, Kind::Registrar, r);
                }
            }
        }
        let pending_delete = statuses.contains(&"pendingDelete");
        let dates = (name, d.text_of("crDate").map(str::to_string), d.text_of("exDate").map(str::to_string), pending_delete);
        match self.watermark {
            Some(watermark) => self.domain_dates(watermark, dates),
            None => self.dated_late.push(dates),
        }
    }

    fn domain_dates(
        &mut self,
        watermark: Timestamp,
        (name, created, expires, pending_delete): (String, Option<String>, Option<String>, bool),
    ) {
        match created.as_deref().map(|c| (c, Timestamp::parse_rfc3339(c))) {
            None => self.findings.add("rde-07", "RDE_DOMAIN_HAS_MISSING_CRDATE", name.clone()),
            Some((c, Ok(at))) if at >= watermark => {
                self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_CRDATE", format!("{name}: crDate {c} is not before the watermark"))
            }
            Some((c, Err(_))) => self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_CRDATE", format!("{name}: {c}")),
            Some(_) => {}
        }
        match expires.as_deref().map(|e| (e, Timestamp::parse_rfc3339(e))) {
            None => self.findings.add("rde-07", "RDE_DOMAIN_HAS_MISSING_EXDATE", name),
            Some((e, Ok(at))) if at <= watermark && !pending_delete => {
                self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_EXDATE", format!("{name}: exDate {e} is not after the watermark"))
            }
            Some((e, Err(_))) => self.findings.add("rde-07", "RDE_DOMAIN_HAS_INVALID_EXDATE", format!("{name}: {e}")),
            Some(_) => {}
        }
    }

    fn sponsor(&mut self, case: &'static str, name: &str, object: &Node, [missing, invalid]: [&'static str; 2]) {
        match object.text_of("clID") {
            None => self.findings.add(case, missing, name.to_string()),
            Some(id) => self.refer(case, invalid, name, Kind::Registrar, id),
        }
    }

    fn host(&mut self, h: &Node) {
        let Some(name) = h.text_of("name").map(str::to_ascii_lowercase) else {
            self.findings.add("rde-08", "RDE_HOST_HAS_INVALID_NAME", "a host without a name");
            return;
        };
        match DomainName::parse(&name) {
            Ok(parsed) => {
                let subordinate = self.tld.as_ref().is_some_and(|tld| parsed.as_str().ends_with(&format!(".{tld}")));
                if subordinate && h.child("addr").is_none() {
                    self.findings.add("rde-08", "RDE_HOST_HAS_MISSING_IP_ADDRESS", format!("{name} is under the TLD and has no address"));
                }
            }
            Err(e) => self.findings.add("rde-08", "RDE_HOST_HAS_INVALID_NAME", format!("{name}: {e}")),
        }
        if !self.hosts.insert(name.as_str()) {
            self.findings.add("rde-08", "RDE_HOST_HAS_NON_UNIQUE_NAME", name.clone());
        }
        let codes = ["RDE_HOST_HAS_MISSING_ROID", "RDE_HOST_HAS_INVALID_ROID", "RDE_HOST_HAS_NON_UNIQUE_ROID"];
        check_roid(self.findings, &mut self.host_roids, "rde-08", codes, &name, h.text_of("roid"));
        let statuses: Vec<&str> = h.all("status").filter_map(|s| s.attr("s")).collect();
        if statuses.is_empty() {
            self.findings.add("rde-08", "RDE_HOST_HAS_MISSING_STATUS", name.clone());
        }
        for s in statuses.iter().filter(|s| crate::model::status::HostStatus::parse(s).is_err()) {
            self.findings.add("rde-08", "RDE_HOST_HAS_INVALID_STATUS", format!("{name}: {s}"));
        }
        for addr in h.all("addr") {
            let text = addr.text.trim();
            let ok = match addr.attr("ip").unwrap_or("v4") {
                "v6" => text.parse::<std::net::Ipv6Addr>().is_ok(),
                _ => text.parse::<std::net::Ipv4Addr>().is_ok(),
            };
            if !ok {
                self.findings.add("rde-08", "RDE_HOST_HAS_INVALID_IP_ADDRESS", format!("{name}: {text}"));
            }
        }
        self.sponsor("rde-08", &name, h, ["RDE_HOST_HAS_MISSING_CLID", "RDE_HOST_HAS_INVALID_CLID"]);
    }

    fn contact(&mut self, c: &Node) {
        let id = c.text_of("id").unwrap_or_default().to_string();
        if !self.contacts.insert(id.as_str()) {
            self.findings.add("rde-09", "RDE_CONTACT_HAS_NON_UNIQUE_ID", id.clone());
        }
        // RST has no code of its own for a contact without a ROID.
        let codes = ["RDE_CONTACT_HAS_INVALID_ROID", "RDE_CONTACT_HAS_INVALID_ROID", "RDE_CONTACT_HAS_NON_UNIQUE_ROID"];
        check_roid(self.findings, &mut self.contact_roids, "rde-09", codes, &id, c.text_of("roid"));
        let mut types = BTreeSet::new();
        for info in c.all("postalInfo") {
            let kind = info.attr("type").unwrap_or_default();
            if !types.insert(kind) {
                self.findings.add("rde-09", "RDE_CONTACT_HAS_MULTIPLE_POSTALINFO_TYPES", format!("{id}: two postalInfo of type {kind}"));
            }
        }
        for cc in c.descendants("cc") {
            let cc = cc.text.trim();
            if !(cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase())) {
                self.findings.add("rde-09", "RDE_CONTACT_HAS_INVALID_CC", format!("{id}: {cc}"));
            }
        }
        if let Some(email) = c.text_of("email")
            && !email_ok(email)
        {
            self.findings.add("rde-09", "RDE_CONTACT_HAS_INVALID_EMAIL", format!("{id}: {email}"));
        }
        match c.text_of("clID") {
            Some(r) => self.refer("rde-09", "RDE_CONTACT_HAS_UNKNOWN_CLID", &id, Kind::Registrar, r),
            None => self.findings.add("rde-09", "RDE_CONTACT_HAS_UNKNOWN_CLID", format!("{id} has no sponsor")),
        }
        for (element, code) in [("crRr", "RDE_CONTACT_HAS_UNKNOWN_CRRR"), ("upRr", "RDE_CONTACT_HAS_UNKNOWN_UPRR")] {
            if let Some(r) = c.text_of(element) {
                self.refer("rde-09", code, &id, Kind::Registrar, r);
            }
        }
    }

    fn registrar(&mut self, r: &Node) {
        let Some(id) = r.text_of("id").map(str::to_string) else {
            self.findings.add("rde-10", "RDE_REGISTRAR_HAS_MISSING_ID", "a registrar without an id");
            return;
        };
        if !self.registrars.insert(id.as_str()) {
            self.findings.add("rde-10", "RDE_REGISTRAR_HAS_NON_UNIQUE_ID", id.clone());
        }
        if r.text_of("name").is_none() {
            self.findings.add("rde-10", "RDE_REGISTRAR_HAS_MISSING_NAME", id.clone());
        }
        match r.text_of("gurid") {
            None => self.findings.add("rde-10", "RDE_REGISTRAR_HAS_MISSING_GURID", id),
            Some(gurid) if gurid.parse::<u32>().map_or(true, |n| n == 0) => {
                self.findings.add("rde-10", "RDE_REGISTRAR_HAS_INVALID_GURID", format!("{id}: {gurid}"))
            }
            Some(_) => {}
        }
    }

    fn nndn(&mut self, n: &Node) {
        let name = n.text_of("aName").unwrap_or_default().to_ascii_lowercase();
        self.nndns.push(name);
    }

    fn epp_params(&mut self, p: &Node) {
        let objects: BTreeSet<&str> = p.all("objURI").map(|u| u.text.trim()).collect();
        let extensions: BTreeSet<&str> = p.descendants("extURI").map(|u| u.text.trim()).collect();
        if !objects.contains(crate::epp::xml::DOMAIN) {
            self.findings.add("rde-13", "RDE_EPP_PARAMS_MISSING_OBJURI", crate::epp::xml::DOMAIN);
        }
        for uri in objects.iter().filter(|u| ![crate::epp::xml::DOMAIN, crate::epp::xml::HOST, crate::epp::xml::CONTACT].contains(u)) {
            self.findings.add("rde-13", "RDE_EPP_PARAMS_UNEXPECTED_OBJURI", uri.to_string());
        }
        for uri in [crate::epp::xml::SECDNS, crate::epp::xml::RGP] {
            if !extensions.contains(uri) {
                self.findings.add("rde-13", "RDE_EPP_PARAMS_MISSING_EXTURI", uri);
            }
        }
    }

    /// What can only be judged once the whole deposit was read.
    fn finish(mut self) {
        let watermark = self.watermark;
        match watermark {
            Some(watermark) => {
                for dates in std::mem::take(&mut self.dated_late) {
                    self.domain_dates(watermark, dates);
                }
            }
            None => self.findings.add("rde-04", "RDE_XML_PARSE_ERROR", "the deposit has no watermark"),
        }
        for p in std::mem::take(&mut self.pending) {
            if !self.known(p.kind, &p.to) {
                self.findings.add(p.case, p.code, format!("{} refers to {} {}, which the deposit lacks", p.from, p.kind.noun(), p.to));
            }
        }
        let mut nndns = HashSet::new();
        for name in std::mem::take(&mut self.nndns) {
            if self.domains.contains(&name) {
                self.findings.add("rde-12", "RDE_NNDN_CONFLICTS_WITH_DOMAIN", name.to_string());
            }
            if !nndns.insert(name.clone()) {
                self.findings.add("rde-12", "RDE_NNDN_HAS_NON_UNIQUE_NAME", name.to_string());
            }
        }
        let present = |uri: &str| self.counts.get(uri).copied().unwrap_or(0);
        if present(DOMAIN) == 0 {
            self.findings.add("rde-07", "RDE_DOMAIN_OBJECT_MISSING", "the deposit holds no domain");
        }
        if present(REGISTRAR) == 0 {
            self.findings.add("rde-10", "RDE_REGISTRAR_OBJECT_MISSING", "the deposit holds no registrar");
        }
        match present(EPP_PARAMS) {
            0 => self.findings.add("rde-13", "RDE_MISSING_EPP_PARAMS_OBJECT", "the deposit holds no eppParams"),
            1 => {}
            n => self.findings.add("rde-13", "RDE_MULTIPLE_EPP_PARAMS_OBJECTS", format!("{n} eppParams")),
        }
        self.findings.not_run(
            "rde-11",
            match present(IDN) {
                0 => "the deposit holds no IDN tables",
                _ => "IDN tables are counted, not checked against the TLD's",
            },
        );
        if present(NNDN) == 0 {
            self.findings.not_run("rde-12", "the deposit holds no NNDN objects");
        }
        self.findings.not_run(
            "rde-14",
            match present(POLICY) {
                0 => "the deposit holds no policy objects",
                _ => "policy objects are not checked against the Registration Data Policy",
            },
        );
        self.findings.not_run("rde-15", "the deposit holds no CSV files");
        self.uris();
    }

    /// rde-05 and rde-06: the menu, the header and what is present agree.
    fn uris(&mut self) {
        let Some((tld, header)) = self.header.take() else {
            self.findings.add("rde-06", "RDE_OBJECT_COUNT_MISMATCH", "the deposit has no header");
            return;
        };
        if let Some(expected) = &self.tld
            && tld != expected.as_str()
        {
            self.findings.add("rde-01", "RDE_INVALID_FILENAME", format!("the file is named for {expected}, the header says {tld}"));
        }
        for (uri, count) in &header {
            let present = self.counts.get(uri).copied().unwrap_or(0);
            if present != *count {
                self.findings.add(
                    "rde-06",
                    "RDE_OBJECT_COUNT_MISMATCH",
                    format!("the header counts {count} of {uri}, the deposit holds {present}"),
                );
            }
        }
        // Policy objects describe the others: like the header, they need no count.
        for (uri, present) in self.counts.iter().filter(|(uri, _)| *uri != POLICY) {
            if !header.contains_key(uri) {
                self.findings.add(
                    "rde-06",
                    "RDE_UNEXPECTED_OBJECT",
                    format!("{present} object(s) of {uri}, which the header does not count"),
                );
            }
        }
        // The header describes the objects; it is in the menu but not counted.
        let menu: BTreeSet<String> = self.menu.take().unwrap_or_default().into_iter().filter(|u| u != HEADER).collect();
        let counted: BTreeSet<String> = header.keys().cloned().collect();
        let policy_listed = menu.contains(POLICY) && !counted.contains(POLICY);
        let menu_compared: BTreeSet<String> = menu.iter().filter(|u| !(policy_listed && u.as_str() == POLICY)).cloned().collect();
        if menu_compared != counted {
            let listed: Vec<&String> = menu_compared.symmetric_difference(&counted).collect();
            self.findings.add("rde-05", "RDE_MENU_AND_HEADER_URIS_DIFFER", format!("in one but not the other: {listed:?}"));
        }
        for uri in counted.iter().filter(|u| ![DOMAIN, HOST, CONTACT, REGISTRAR, IDN, NNDN, EPP_PARAMS, POLICY].contains(&u.as_str())) {
            self.findings.add("rde-05", "RDE_UNEXPECTED_OBJECT_URI", uri.clone());
        }
        let mut required = vec![DOMAIN, REGISTRAR, EPP_PARAMS];
        if self.counts.contains_key(HOST) {
            required.push(HOST);
        }
        if self.counts.contains_key(CONTACT) {
            required.push(CONTACT);
        }
        for uri in required {
            if !counted.contains(uri) {
                self.findings.add("rde-05", "RDE_MISSING_OBJECT_URI", uri);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Registrar,
    Host,
    Contact,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Registrar => "registrar",
            Kind::Host => "host",
            Kind::Contact => "contact",
        }
    }
}

/// Host names compare without case; ids as they are.
fn normalise(kind: Kind, name: &str) -> std::borrow::Cow<'_, str> {
    match kind {
        Kind::Host => name.to_ascii_lowercase().into(),
        _ => name.into(),
    }
}

/// An object's ROID: present, well-formed and not another object's; `codes`
/// are the case's errors for each, in that order.
fn check_roid(findings: &mut Findings, roids: &mut Keys, case: &'static str, codes: [&'static str; 3], name: &str, roid: Option<&str>) {
    let [missing, invalid, non_unique] = codes;
    match roid {
        None => findings.add(case, missing, format!("{name} has no ROID")),
        Some(roid) if !roid_ok(roid) => findings.add(case, invalid, format!("{name}: {roid}")),
        Some(roid) if !roids.insert(roid) => findings.add(case, non_unique, format!("{name}: {roid}")),
        Some(_) => {}
    }
}

/// RFC 5730 §2.8: `(\w|_){1,80}-\w{1,8}`.
pub(super) fn roid_ok(roid: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    match roid.rsplit_once('-') {
        Some((id, repository)) => {
            (1..=80).contains(&id.chars().count())
                && id.chars().all(word)
                && (1..=8).contains(&repository.chars().count())
                && repository.chars().all(word)
        }
        None => false,
    }
}

/// An RFC 5322 §3.4.1 addr-spec, as far as a registry can tell: a local
/// part and a domain with at least two labels.
fn email_ok(email: &str) -> bool {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.chars().any(|c| c.is_whitespace() || c == '@')
                && domain.contains('.')
                && DomainName::parse(domain).is_ok()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_ra_specification_2() {
        let ok = parse_file_name("example_2026-12-07_full_S1_R0.ryde").unwrap();
        assert_eq!((ok.tld.as_str(), ok.kind.as_str()), ("example", "full"));
        assert!(parse_file_name("xn--p1ai_2026-12-07_diff_S2_R1.xml").is_some());
        for bad in [
            "example_2026-12-07_full_S0_R0.ryde",
            "example_2026-13-07_full_S1_R0.ryde",
            "example_2026-12-07_weekly_S1_R0.ryde",
            "example_2026-12-07_full_S1.ryde",
            "example_2026-12-07_full_S1_R0.tar",
            "_2026-12-07_full_S1_R0.ryde",
        ] {
            assert!(parse_file_name(bad).is_none(), "{bad}");
        }
    }

    const EXAMPLE: &str = include_str!("../../tests/xsd/rde/examples/full-deposit.xml");

    fn codes_of(xml: &str) -> BTreeSet<&'static str> {
        let mut findings = Findings::default();
        Checker::new(Some(DomainName::parse("test").unwrap()), &mut findings).run(xml.as_bytes());
        findings.report().codes()
    }

    #[test]
    fn nndn_names_are_unique_and_not_domains() {
        assert!(codes_of(EXAMPLE).is_empty(), "{:?}", codes_of(EXAMPLE));
        let nndn = &EXAMPLE[EXAMPLE.find("<rdeNNDN:NNDN>").unwrap()..EXAMPLE.find("</rdeNNDN:NNDN>").unwrap() + "</rdeNNDN:NNDN>".len()];
        let twice = EXAMPLE.replace(nndn, &format!("{nndn}{nndn}")).replace(
            "<rdeHeader:count uri=\"urn:ietf:params:xml:ns:rdeNNDN-1.0\">1<",
            "<rdeHeader:count uri=\"urn:ietf:params:xml:ns:rdeNNDN-1.0\">2<",
        );
        assert_eq!(codes_of(&twice), BTreeSet::from(["RDE_NNDN_HAS_NON_UNIQUE_NAME"]));
        let taken = EXAMPLE.replace("<rdeNNDN:aName>xn--exmple-cua.test<", "<rdeNNDN:aName>HARBOUR.test<");
        assert_eq!(codes_of(&taken), BTreeSet::from(["RDE_NNDN_CONFLICTS_WITH_DOMAIN"]));
    }

    #[test]
    fn references_to_objects_read_later_are_found_and_missing_ones_named() {
        // The example lists its registrars first: moved to the end, every
        // reference to them waits and is then found.
        let start = EXAMPLE.find("<rdeRegistrar:registrar>").unwrap();
        let end = EXAMPLE.rfind("</rdeRegistrar:registrar>").unwrap() + "</rdeRegistrar:registrar>".len();
        let registrars = &EXAMPLE[start..end];
        let late = EXAMPLE.replacen(registrars, "", 1).replace("</rde:contents>", &format!("{registrars}</rde:contents>"));
        assert!(codes_of(&late).is_empty(), "{:?}", codes_of(&late));
        let without = EXAMPLE.replacen(registrars, "", 1);
        assert!(codes_of(&without).contains("RDE_DOMAIN_HAS_INVALID_CLID"), "{:?}", codes_of(&without));
    }

    #[test]
    fn roids_and_email_addresses() {
        assert!(roid_ok("D1-EXAMPLE") && roid_ok("Dx_1-REP") && roid_ok("C1234-X"));
        assert!(!roid_ok("D1") && !roid_ok("-EXAMPLE") && !roid_ok("D1-TOOLONGREPO") && !roid_ok("D 1-EX"));
        assert!(email_ok("jdoe@example.com"));
        assert!(!email_ok("jdoe") && !email_ok("@example.com") && !email_ok("j doe@example.com") && !email_ok("jdoe@localhost"));
    }
}
