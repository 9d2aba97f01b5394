//! Bulk import of an existing TLD zone (migrations, benchmarks): its
//! delegations become domains and its name servers hosts, sponsored by one
//! registrar, written through the writer in a single transaction — all of it
//! or none. The input has already been parsed and checked line by line
//! (`dns::zonefile::parse_for_import`); this stage checks it against the
//! registry and writes it. Delegation rows are derived directly from the
//! input; glue rows through the same refresh as every other change.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::zone::{self, ZoneChanges};
use super::{ObjectKind, RegistryError, WriterSettings};
use crate::model::zone::{RowSources, derive_row};
use crate::model::{
    ClientId, DOMAIN_NAMESERVERS_MAX, Domain, DomainName, DomainStatusSet, DsData, Host, HostName, HostStatusSet, RegistrarStatus, Roid,
    Timestamp,
};
use crate::store::WriteTables;

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
    pub period_years: u32,
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for ZoneImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneImport")
            .field("tld", &self.tld)
            .field("registrar", &self.registrar)
            .field("delegations", &self.delegations.len())
            .field("glue", &self.glue.len())
            .finish()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub tld: DomainName,
    pub domains: usize,
    pub hosts_created: usize,
    pub hosts_reused: usize,
    pub serial: u32,
}

const PROGRESS_EVERY: usize = 10_000;

struct HostEntry {
    host: Host,
    created: bool,
    new_links: u32,
}

pub(super) fn run(
    t: &mut WriteTables<'_>,
    changes: &mut ZoneChanges,
    now: Timestamp,
    settings: &WriterSettings,
    import: &ZoneImport,
) -> Result<super::Outcome, RegistryError> {
    let tld = t.tld(&import.tld)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Tld, &import.tld))?;
    let registrar = t.registrar(&import.registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, &import.registrar))?;
    if registrar.status != RegistrarStatus::Ok {
        return Err(RegistryError::Policy(format!("registrar {} is not active", registrar.id)));
    }
    if !(1..=10).contains(&import.period_years) {
        return Err(RegistryError::Invalid("the registration period must be 1 to 10 years".into()));
    }

    // Check every delegation and name server before writing anything.
    let mut hosts: HashMap<HostName, HostEntry> = HashMap::new();
    let mut new_hosts = 0u64;
    let delegated: std::collections::HashSet<&DomainName> = import.delegations.iter().map(|d| &d.name).collect();
    for d in &import.delegations {
        if d.name.parent().as_ref() != Some(&tld.name) {
            return Err(RegistryError::Policy(format!("{} is not directly below .{}", d.name, tld.name)));
        }
        if t.domain(&d.name)?.is_some() {
            return Err(RegistryError::exists(ObjectKind::Domain, &d.name));
        }
        // The limits every later update enforces hold from the start.
        if d.nameservers.len() > DOMAIN_NAMESERVERS_MAX {
            return Err(RegistryError::Invalid(format!("{} has more than {DOMAIN_NAMESERVERS_MAX} name servers", d.name)));
        }
        super::domain::check_ds(&d.ds).map_err(|e| RegistryError::Invalid(format!("{}: {e}", d.name)))?;
        for ns in &d.nameservers {
            if hosts.contains_key(ns) {
                continue;
            }
            let glue = import.glue.get(ns);
            let entry = match t.host_by_name(ns)? {
                Some(existing) => {
                    if glue.is_some_and(|g| g != &existing.addrs) {
                        return Err(RegistryError::exists(ObjectKind::Host, ns));
                    }
                    HostEntry { host: existing, created: false, new_links: 0 }
                }
                None => {
                    let superordinate = ns.child_of(&tld.name);
                    if superordinate.is_none() && t.tlds()?.iter().any(|other| ns.is_below(&other.name)) {
                        return Err(RegistryError::not_found(ObjectKind::Host, ns));
                    }
                    if let Some(s) = &superordinate {
                        let sponsor_ok =
                            delegated.contains(s) || t.domain(s)?.is_some_and(|existing| existing.registrar == import.registrar);
                        if !sponsor_ok {
                            return Err(RegistryError::Policy(format!("{ns} is below {s}, which this import does not delegate")));
                        }
                        if glue.is_none_or(|g| g.is_empty()) {
                            return Err(RegistryError::Policy(format!("{ns} is below .{} and has no glue", tld.name)));
                        }
                        super::host::host_addrs(glue.map(Vec::as_slice).unwrap_or_default())
                            .map_err(|e| RegistryError::Invalid(format!("glue of {ns}: {e}")))?;
                    }
                    new_hosts += 1;
                    HostEntry {
                        host: Host {
                            name: ns.clone(),
                            roid: Roid(String::new().into()),
                            registrar: import.registrar.clone(),
                            addrs: if superordinate.is_some() { glue.cloned().unwrap_or_default() } else { Vec::new() },
                            statuses: HostStatusSet::default(),
                            superordinate,
                            link_count: 0,
                            published_link_count: 0,
                            created: now,
                            cr_registrar: import.registrar.clone(),
                            updated: None,
                            up_registrar: None,
                            transferred: None,
                        },
                        created: true,
                        new_links: 0,
                    }
                }
            };
            hosts.insert(ns.clone(), entry);
        }
    }

    let host_base = t.reserve_sequence("H", new_hosts)?;
    for (number, entry) in (host_base..).zip(hosts.values_mut().filter(|e| e.created)) {
        entry.host.roid = Roid::new('H', number, &settings.roid_suffix);
    }

    // Only a zone-wide reset is recorded; a diff the size of the zone is useless for IXFR.
    changes.begin(&tld).reset();

    let total = import.delegations.len();
    let domain_base = t.reserve_sequence("D", total as u64)?;
    let expires = now.plus_years(import.period_years as i32);
    for (i, d) in import.delegations.iter().enumerate() {
        let mut nameservers = Vec::with_capacity(d.nameservers.len());
        for ns in &d.nameservers {
            let entry = hosts.get_mut(ns).expect("every name server was resolved above");
            entry.new_links += 1;
            nameservers.push(entry.host.roid.clone());
        }
        let domain = Domain {
            name: d.name.clone(),
            roid: Roid::new('D', domain_base + i as u64, &settings.roid_suffix),
            tld: tld.name.clone(),
            registrar: import.registrar.clone(),
            registrant: None,
            contacts: Vec::new(),
            nameservers,
            ds: d.ds.clone(),
            statuses: DomainStatusSet::default(),
            created: now,
            cr_registrar: import.registrar.clone(),
            updated: None,
            up_registrar: None,
            expires,
            transferred: None,
            auth_info_hash: None,
            grace: Vec::new(),
            rgp: None,
            transfer: None,
        };
        t.put_domain(&domain)?;
        for roid in &domain.nameservers {
            t.link_host(roid, &domain.name)?;
        }
        let row = derive_row(&tld.policy, &RowSources { delegation: Some((&d.nameservers, &d.ds)), ..Default::default() });
        t.put_zone_row(&domain.name.canonical_key(), &row)?;
        if let Some(progress) = &import.progress
            && ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == total)
        {
            progress(i + 1, total);
        }
    }

    let (mut created, mut reused) = (0, 0);
    let mut glue_owners = Vec::new();
    for entry in hosts.values_mut() {
        entry.host.link_count += entry.new_links;
        if entry.host.name.is_below(&tld.name) {
            entry.host.published_link_count += entry.new_links;
            glue_owners.push(entry.host.name.clone());
        }
        if entry.created {
            created += 1
        } else {
            reused += 1
        }
        t.put_host(&entry.host)?;
    }
    // A name that is both a delegation and a glue host gets its full row here too.
    for owner in glue_owners {
        zone::refresh(t, changes, &tld, &owner)?;
    }

    let serial_hint = crate::model::zone::next_serial(tld.serial, now);
    Ok(super::Outcome::Imported(ImportSummary {
        tld: tld.name.clone(),
        domains: total,
        hosts_created: created,
        hosts_reused: reused,
        serial: serial_hint,
    }))
}
