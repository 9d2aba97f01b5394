//! What a zone import carries and answers with: the delegations, glue and
//! facts (SOA, apex NS set, TTLs, dropped records) read from a zone file,
//! and the summary of what was written and of every value served
//! differently from the file. Command data only; the import itself is
//! `import.rs`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::model::objects::{Contact, Domain, Host, Registrar};
use crate::model::{ClientId, DomainName, DsData, HostName, Timestamp, TldPolicy};

/// A delegation read from the zone file.
#[derive(Debug, Clone)]
pub struct ImportDelegation {
    pub name: DomainName,
    pub nameservers: Vec<HostName>,
    pub ds: Vec<DsData>,
}

/// Progress callback: (domains written, domains in total).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

pub struct ZoneImport {
    pub tld: DomainName,
    pub registrar: ClientId,
    pub delegations: Vec<ImportDelegation>,
    /// Addresses of in-zone name servers (the zone's glue).
    pub glue: HashMap<HostName, Vec<IpAddr>>,
    pub file: FileFacts,
    /// Serve the file's SOA fields, apex NS set and TTLs instead of the TLD's policy.
    pub apex_from_file: bool,
    pub period_years: u32,
    pub progress: Option<Progress>,
}

/// What a zone file says besides its delegations, kept or reported by the import.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    pub soa: Option<FileSoa>,
    /// The apex NS set, in file order.
    pub nameservers: Vec<HostName>,
    /// Records per (kind, TTL).
    pub ttls: BTreeMap<(TtlKind, u32), usize>,
    /// DNSSEC records (signatures, NSEC*, DNSKEY, ...): the registry makes its own.
    pub dnssec_records: usize,
    /// Address records of names that no delegation or apex NS uses.
    pub unused_address_records: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSoa {
    pub mname: HostName,
    pub rname: DomainName,
    pub serial: u32,
    pub refresh_s: u32,
    pub retry_s: u32,
    pub expire_s: u32,
    pub minimum_s: u32,
    pub ttl_s: u32,
}

/// The kinds of record whose TTL a TLD's policy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TtlKind {
    ApexNs,
    DelegationNs,
    Ds,
    Glue,
}

impl TtlKind {
    const ALL: [TtlKind; 4] = [TtlKind::ApexNs, TtlKind::DelegationNs, TtlKind::Ds, TtlKind::Glue];

    fn label(self) -> &'static str {
        match self {
            TtlKind::ApexNs => "apex NS TTL",
            TtlKind::DelegationNs => "delegation NS TTL",
            TtlKind::Ds => "DS TTL",
            TtlKind::Glue => "glue TTL",
        }
    }

    fn served(self, policy: &TldPolicy) -> u32 {
        match self {
            TtlKind::ApexNs => policy.apex_ns_ttl_s,
            TtlKind::DelegationNs => policy.delegation_ttl_s,
            TtlKind::Ds => policy.ds_ttl_s,
            TtlKind::Glue => policy.glue_ttl_s,
        }
    }

    fn policy(self, policy: &mut TldPolicy) -> &mut u32 {
        match self {
            TtlKind::ApexNs => &mut policy.apex_ns_ttl_s,
            TtlKind::DelegationNs => &mut policy.delegation_ttl_s,
            TtlKind::Ds => &mut policy.ds_ttl_s,
            TtlKind::Glue => &mut policy.glue_ttl_s,
        }
    }
}

impl FileFacts {
    fn ttls_of(&self, kind: TtlKind) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.ttls.range((kind, 0)..=(kind, u32::MAX)).map(|(&(_, ttl), &n)| (ttl, n))
    }

    /// The TTL most records of `kind` carry (the lower one on a tie).
    fn usual_ttl(&self, kind: TtlKind) -> Option<u32> {
        self.ttls_of(kind).max_by_key(|&(ttl, n)| (n, std::cmp::Reverse(ttl))).map(|(ttl, _)| ttl)
    }

    /// The policy these facts give when the file's apex is served as it is.
    pub(super) fn apply_to(&self, policy: &mut TldPolicy) {
        if let Some(soa) = &self.soa {
            let p = &mut policy.soa;
            p.mname = soa.mname.clone();
            p.rname = soa.rname.clone();
            (p.refresh_s, p.retry_s, p.expire_s, p.minimum_s, p.ttl_s) =
                (soa.refresh_s, soa.retry_s, soa.expire_s, soa.minimum_s, soa.ttl_s);
        }
        if !self.nameservers.is_empty() {
            policy.nameservers = self.nameservers.clone();
        }
        for kind in TtlKind::ALL {
            if let Some(ttl) = self.usual_ttl(kind) {
                *kind.policy(policy) = ttl;
            }
        }
    }

    /// Every value served differently from the file, given the served `policy` and `serial`.
    pub(super) fn changes(&self, policy: &TldPolicy, serial: u32) -> Vec<ImportChange> {
        let mut out = Vec::new();
        let mut change = |field: &str, file: String, served: String, records: usize| {
            out.push(ImportChange { field: field.to_string(), file, served, records })
        };
        if let Some(soa) = &self.soa {
            change("SOA serial", soa.serial.to_string(), serial.to_string(), 1);
            let p = &policy.soa;
            let fields = [
                ("SOA MNAME", soa.mname.to_string(), p.mname.to_string()),
                ("SOA RNAME", soa.rname.to_string(), p.rname.to_string()),
                ("SOA refresh", soa.refresh_s.to_string(), p.refresh_s.to_string()),
                ("SOA retry", soa.retry_s.to_string(), p.retry_s.to_string()),
                ("SOA expire", soa.expire_s.to_string(), p.expire_s.to_string()),
                ("SOA minimum", soa.minimum_s.to_string(), p.minimum_s.to_string()),
                ("SOA TTL", soa.ttl_s.to_string(), p.ttl_s.to_string()),
            ];
            for (field, file, served) in fields {
                if file != served {
                    change(field, file, served, 1);
                }
            }
        }
        let (file_ns, served_ns) = (&self.nameservers, &policy.nameservers);
        let differing =
            file_ns.iter().filter(|ns| !served_ns.contains(ns)).count() + served_ns.iter().filter(|ns| !file_ns.contains(ns)).count();
        if !file_ns.is_empty() && differing > 0 {
            let list = |names: &[HostName]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ");
            change("apex NS set", list(file_ns), list(served_ns), differing);
        }
        for kind in TtlKind::ALL {
            let served = kind.served(policy);
            let differing: usize = self.ttls_of(kind).filter(|&(ttl, _)| ttl != served).map(|(_, n)| n).sum();
            if differing > 0 {
                let file = self.ttls_of(kind).map(|(ttl, n)| format!("{ttl} ({n} records)")).collect::<Vec<_>>().join(", ");
                change(kind.label(), file, served.to_string(), differing);
            }
        }
        if self.dnssec_records > 0 {
            change("DNSSEC records", "present".into(), "not imported: the registry makes its own".into(), self.dnssec_records);
        }
        if self.unused_address_records > 0 {
            change(
                "unused address records",
                "present".into(),
                "not imported: no delegation or apex NS uses them".into(),
                self.unused_address_records,
            );
        }
        out
    }
}

/// A value the registry serves differently from the imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportChange {
    pub field: String,
    pub file: String,
    pub served: String,
    /// Records (or SOA fields) affected.
    pub records: usize,
}

impl std::fmt::Debug for ZoneImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneImport")
            .field("tld", &self.tld)
            .field("registrar", &self.registrar)
            .field("delegations", &self.delegations.len())
            .field("glue", &self.glue.len())
            .field("apex_from_file", &self.apex_from_file)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub tld: DomainName,
    pub domains: usize,
    pub hosts_created: usize,
    pub hosts_reused: usize,
    /// The serial the zone is served with after the import.
    pub serial: u32,
    pub changes: Vec<ImportChange>,
}

/// A registry deposit to load (RFC 9022 FULL, already read and converted
/// object by object): command data for `import_deposit.rs`.
pub struct DepositImport {
    pub tld: DomainName,
    /// The moment the deposit shows: grace periods and redemption are
    /// placed relative to it.
    pub watermark: Timestamp,
    /// The apex name servers of the TLD, when the import creates it.
    pub nameservers: Vec<HostName>,
    pub registrars: Vec<Registrar>,
    pub contacts: Vec<Contact>,
    pub hosts: Vec<Host>,
    pub domains: Vec<DepositDomain>,
    /// NNDN objects: names that cannot be registered.
    pub reserved: Vec<crate::model::reserved::ReservedName>,
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for DepositImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepositImport")
            .field("tld", &self.tld)
            .field("registrars", &self.registrars.len())
            .field("contacts", &self.contacts.len())
            .field("hosts", &self.hosts.len())
            .field("domains", &self.domains.len())
            .field("reserved", &self.reserved.len())
            .finish()
    }
}

/// A domain of a deposit: the object without what the writer works out
/// (name server ROIDs, grace periods, RGP phase), and what those follow from.
#[derive(Debug, Clone)]
pub struct DepositDomain {
    pub domain: Domain,
    pub nameservers: Vec<HostName>,
    pub rgp: Vec<RgpState>,
}

/// An RFC 3915 `rgpStatus` as a deposit shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RgpState {
    AddPeriod,
    RenewPeriod,
    AutoRenewPeriod,
    TransferPeriod,
    RedemptionPeriod,
    PendingRestore,
    PendingDelete,
}

impl RgpState {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "addPeriod" => RgpState::AddPeriod,
            "renewPeriod" => RgpState::RenewPeriod,
            "autoRenewPeriod" => RgpState::AutoRenewPeriod,
            "transferPeriod" => RgpState::TransferPeriod,
            "redemptionPeriod" => RgpState::RedemptionPeriod,
            "pendingRestore" => RgpState::PendingRestore,
            "pendingDelete" => RgpState::PendingDelete,
            _ => return None,
        })
    }
}

/// What a deposit import wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DepositImportSummary {
    pub tld: DomainName,
    pub tld_created: bool,
    pub registrars: usize,
    /// Registrars already here (with their credentials): kept as they are.
    pub registrars_kept: usize,
    pub contacts: usize,
    /// Contacts and hosts already here with the same ROID (from the deposit
    /// of another TLD of the same registry): kept.
    pub contacts_kept: usize,
    pub hosts: usize,
    pub hosts_kept: usize,
    pub domains: usize,
    /// NNDN objects, as reserved names.
    pub reserved: usize,
}
