//! Bulk import of an existing TLD zone (migrations, benchmarks): its
//! delegations become domains and its name servers hosts, sponsored by one
//! registrar, written through the writer in a single transaction — all of it
//! or none. The input has already been parsed and checked line by line
//! (`dns::zonefile::parse_for_import`); this stage checks it against the
//! registry and writes it. Delegation rows are derived directly from the
//! input; glue rows through the same refresh as every other change.
//!
//! Secondaries and resolvers that followed the zone before the migration
//! keep working: the served serial ends up greater (RFC 1982) than the
//! file's, the addresses of the TLD's own in-zone name servers are kept (or
//! the import is refused), and every value the registry serves differently
//! from the file (TTLs flattened to the TLD's policy, SOA fields, dropped
//! records) is listed with counts in the summary.

use std::collections::HashMap;

use super::context::Cx;
use super::import_data::{ImportSummary, ZoneImport};
use super::zone_rows;
use super::{ObjectKind, RegistryError, WriterSettings};
use crate::model::zone::{RowSources, derive_row, serial_gt};
use crate::model::{
    DOMAIN_NAMESERVERS_MAX, Domain, DomainName, DomainStatusSet, Host, HostName, HostStatusSet, RegistrarStatus, Roid, Timestamp, Tld,
};
use crate::store::WriteTables;

const PROGRESS_EVERY: usize = 10_000;

struct HostEntry {
    host: Host,
    created: bool,
    new_links: u32,
}

pub(super) fn run(cx: &mut Cx, import: &ZoneImport) -> Result<super::Outcome, RegistryError> {
    let (now, settings) = (cx.now, cx.settings);
    let (t, changes) = cx.tables_and_zones();
    let stored = t.tld(&import.tld)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Tld, &import.tld))?;
    let registrar = t.registrar(&import.registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, &import.registrar))?;
    if registrar.status != RegistrarStatus::Ok {
        return Err(RegistryError::Policy(format!("registrar {} is not active", registrar.id)));
    }
    if !(1..=10).contains(&import.period_years) {
        return Err(RegistryError::Invalid("the registration period must be 1 to 10 years".into()));
    }
    let mut tld = served_apex(&stored, import)?;
    let mut hosts = resolve_hosts(t, import, &tld, now)?;
    let unused_address_records: usize = import.glue.iter().filter(|(h, _)| !hosts.contains_key(*h)).map(|(_, a)| a.len()).sum();

    // A policy taken from the file reshapes rows the TLD already had.
    let (old, new) = (&stored.policy, &tld.policy);
    let every_row = (old.delegation_ttl_s, old.ds_ttl_s, old.glue_ttl_s) != (new.delegation_ttl_s, new.ds_ttl_s, new.glue_ttl_s);
    let existing_owners = if every_row { t.owner_names(&tld.name)? } else { Default::default() };
    if tld != stored {
        tld.updated = now;
        t.put_tld(&tld)?;
    }
    let new_hosts = hosts.values().filter(|e| e.created).count() as u64;
    let host_base = t.reserve_sequence("H", new_hosts)?;
    for (number, entry) in (host_base..).zip(hosts.values_mut().filter(|e| e.created)) {
        entry.host.roid = Roid::new('H', number, &settings.roid_suffix);
    }

    // Only a zone-wide reset is recorded; a diff the size of the zone is useless for IXFR.
    changes.begin(&stored).reset();
    write_domains(t, import, &tld, &mut hosts, now, settings)?;
    let (created, reused, glue_owners) = write_hosts(t, &tld, hosts)?;
    // A name that is both a delegation and a glue host gets its full row here too.
    let apex_rows = stored.policy.nameservers.iter().chain(&tld.policy.nameservers).chain([&tld.name]);
    for owner in glue_owners.iter().chain(&existing_owners).chain(apex_rows) {
        zone_rows::refresh(t, changes, &tld, owner)?;
    }

    let serial = crate::model::zone::next_serial(tld.serial, now);
    let mut file = import.file.clone();
    file.unused_address_records += unused_address_records;
    Ok(super::Outcome::Imported(ImportSummary {
        tld: tld.name.clone(),
        domains: import.delegations.len(),
        hosts_created: created,
        hosts_reused: reused,
        serial,
        changes: file.changes(&tld.policy, serial),
    }))
}

/// The TLD as it will be served: with the file's apex when asked for, and a
/// serial from which the next one follows the file's (RFC 1982), so
/// secondaries holding the file's version see the served one as newer.
fn served_apex(stored: &Tld, import: &ZoneImport) -> Result<Tld, RegistryError> {
    let mut tld = stored.clone();
    if import.apex_from_file {
        import.file.apply_to(&mut tld.policy);
        tld.policy.validate()?;
    }
    if let Some(soa) = &import.file.soa
        && !serial_gt(tld.serial, soa.serial)
    {
        if tld.serial != soa.serial && !serial_gt(soa.serial, tld.serial) {
            return Err(RegistryError::Policy(format!(
                "the file's serial {} is 2^31 away from the served serial {}: no serial follows both (RFC 1982)",
                soa.serial, tld.serial
            )));
        }
        tld.serial = soa.serial;
    }
    Ok(tld)
}

/// Checks every delegation and decides every name server (stored, or new
/// with the file's glue) before anything is written; the TLD's own in-zone
/// name servers keep the addresses the file gives them.
fn resolve_hosts(
    t: &WriteTables<'_>,
    import: &ZoneImport,
    tld: &Tld,
    now: Timestamp,
) -> Result<HashMap<HostName, HostEntry>, RegistryError> {
    let mut hosts: HashMap<HostName, HostEntry> = HashMap::new();
    let cx = Hosts {
        import,
        tld: &tld.name,
        glue_addresses: tld.policy.glue_addresses,
        delegated: import.delegations.iter().map(|d| &d.name).collect(),
        now,
    };
    for d in &import.delegations {
        if !d.name.is_directly_below(&tld.name) {
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
            if !hosts.contains_key(ns) {
                hosts.insert(ns.clone(), resolve_host(t, &cx, ns, None)?);
            }
        }
    }
    for ns in &tld.policy.nameservers {
        if ns.is_below(&tld.name) && import.glue.contains_key(ns) && !hosts.contains_key(ns) {
            hosts.insert(ns.clone(), resolve_host(t, &cx, ns, Some(&tld.name))?);
        }
    }
    Ok(hosts)
}

/// Writes every delegation as a domain with its links and zone row.
fn write_domains(
    t: &mut WriteTables<'_>,
    import: &ZoneImport,
    tld: &Tld,
    hosts: &mut HashMap<HostName, HostEntry>,
    now: Timestamp,
    settings: &WriterSettings,
) -> Result<(), RegistryError> {
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
    Ok(())
}

/// Writes the hosts with their new links; returns how many were created and
/// reused, and the in-zone ones whose glue rows need refreshing.
fn write_hosts(
    t: &mut WriteTables<'_>,
    tld: &Tld,
    hosts: HashMap<HostName, HostEntry>,
) -> Result<(usize, usize, Vec<HostName>), RegistryError> {
    let (mut created, mut reused) = (0, 0);
    let mut glue_owners = Vec::new();
    for mut entry in hosts.into_values() {
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
    Ok((created, reused, glue_owners))
}

/// What deciding the import's hosts needs besides the tables.
struct Hosts<'a> {
    import: &'a ZoneImport,
    tld: &'a DomainName,
    glue_addresses: crate::model::net::AddressPolicy,
    delegated: std::collections::HashSet<&'a DomainName>,
    now: Timestamp,
}

/// The host `ns` of the import: the stored one, or a new one with the file's
/// glue. `apex_of` names the TLD when `ns` is one of its apex name servers.
fn resolve_host(t: &WriteTables<'_>, cx: &Hosts<'_>, ns: &HostName, apex_of: Option<&DomainName>) -> Result<HostEntry, RegistryError> {
    let Hosts { import, tld, delegated, now, .. } = cx;
    let now = *now;
    let glue = import.glue.get(ns);
    if let Some(existing) = t.host_by_name(ns)? {
        if glue.is_some_and(|g| g != &existing.addrs) {
            return Err(RegistryError::exists(ObjectKind::Host, ns));
        }
        return Ok(HostEntry { host: existing, created: false, new_links: 0 });
    }
    let superordinate = ns.child_of(tld);
    if superordinate.is_none() && t.tlds()?.iter().any(|other| ns.is_below(&other.name)) {
        return Err(RegistryError::not_found(ObjectKind::Host, ns));
    }
    if let Some(s) = &superordinate {
        let sponsor_ok = delegated.contains(s) || t.domain(s)?.is_some_and(|existing| existing.registrar == import.registrar);
        if !sponsor_ok {
            return Err(RegistryError::Policy(match apex_of {
                Some(apex) => format!(
                    "{ns} is an apex name server of .{apex} and its addresses would be lost: {s}, the domain it is below, \
                     is neither delegated in this import nor sponsored by {}; register {s} first or include its delegation",
                    import.registrar
                ),
                None => format!("{ns} is below {s}, which this import does not delegate"),
            }));
        }
        if glue.is_none_or(|g| g.is_empty()) {
            return Err(RegistryError::Policy(format!("{ns} is below .{tld} and has no glue")));
        }
        super::host::host_addrs(glue.map(Vec::as_slice).unwrap_or_default(), cx.glue_addresses)
            .map_err(|e| RegistryError::Invalid(format!("glue of {ns}: {e}")))?;
    }
    Ok(HostEntry {
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
    })
}
