//! Host objects (RFC 5732) and the rules RST checks: a host below one of our
//! TLDs belongs to the sponsor of its superordinate domain (epp-25/26),
//! only such hosts carry addresses, a delegation may not use an in-zone host
//! without glue (epp-27, enforced where domains are delegated), and a rename
//! may not move a host into someone else's domain or away from other
//! registrars' delegations (epp-23).

use std::net::IpAddr;

use super::command::*;
use super::context::{Cx, Result};
use super::{ObjectKind, RegistryError};
use crate::model::net::{AddressPolicy, check_host_addr};
use crate::model::{ClientId, DomainName, HOST_ADDRS_MAX, Host, HostName, HostStatus, HostStatusSet};

pub(super) fn host_addrs(addrs: &[IpAddr], policy: AddressPolicy) -> Result<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        let a = check_host_addr(*a, policy)?;
        if out.contains(&a) {
            return Err(RegistryError::Invalid(format!("address {a} is listed twice")));
        }
        out.push(a);
    }
    if out.len() > HOST_ADDRS_MAX {
        return Err(RegistryError::Range(format!("at most {HOST_ADDRS_MAX} addresses per host")));
    }
    Ok(out)
}

/// The glue address policy of the zone `name` is in (the default outside our zones, where no addresses are kept).
fn glue_addresses(cx: &Cx, name: &HostName) -> Result<AddressPolicy> {
    Ok(cx.tld_of(name)?.map(|t| t.policy.glue_addresses).unwrap_or_default())
}

/// Statuses a registrar (`client*`) or the registry (`client*` and `server*`) may set.
pub(super) fn settable_host_status(cx: &Cx, s: HostStatus) -> Result<HostStatus> {
    match () {
        _ if s.is_client() => Ok(s),
        _ if s.is_server() && cx.is_registry() => Ok(s),
        _ if s.is_server() => Err(RegistryError::Authorization(format!("only the registry sets {s}"))),
        _ => Err(RegistryError::Invalid(format!("status {s} is managed by the registry and cannot be set"))),
    }
}

/// Where a host name stands: below one of our TLDs (then its superordinate
/// domain must exist and be sponsored by `sponsor`), or external.
fn placement(cx: &Cx, name: &HostName, sponsor: &ClientId) -> Result<Option<DomainName>> {
    match cx.tld_of(name)? {
        Some(tld) if &tld.name == name => Err(RegistryError::Policy(format!("{name} is a TLD apex, not a host name"))),
        Some(tld) => {
            let superordinate = name.child_of(&tld.name).expect("a name below the TLD has a child of it");
            let domain = cx
                .tables
                .domain(&superordinate)?
                .ok_or_else(|| RegistryError::not_found(ObjectKind::Domain, format!("{superordinate} (superordinate of {name})")))?;
            if &domain.registrar != sponsor {
                return Err(RegistryError::Authorization(format!("{name} is below {superordinate}, which another registrar sponsors")));
            }
            Ok(Some(superordinate))
        }
        None => Ok(None),
    }
}

pub(super) fn create(cx: &mut Cx, spec: &CreateHost) -> Result<Outcome> {
    if cx.tables.host_by_name(&spec.name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Host, &spec.name));
    }
    // From the operator API an in-zone host defaults to its domain's sponsor.
    let named = match (&spec.registrar, cx.tld_of(&spec.name)?) {
        (None, Some(tld)) if cx.is_registry() && tld.name != spec.name => {
            let superordinate = spec.name.child_of(&tld.name).expect("below the TLD");
            let domain = cx.tables.domain(&superordinate)?;
            Some(
                domain
                    .ok_or_else(|| {
                        RegistryError::not_found(ObjectKind::Domain, format!("{superordinate} (superordinate of {})", spec.name))
                    })?
                    .registrar,
            )
        }
        (named, _) => named.clone(),
    };
    let registrar = cx.sponsor_for_new(named.as_ref())?.id;
    let superordinate = placement(cx, &spec.name, &registrar)?;
    let addrs = host_addrs(&spec.addresses, glue_addresses(cx, &spec.name)?)?;
    if superordinate.is_none() && !addrs.is_empty() {
        return Err(RegistryError::Policy(format!(
            "{} is not below a TLD of this registry; addresses are only kept for in-zone hosts",
            spec.name
        )));
    }
    let statuses = HostStatusSet::from_statuses(spec.statuses.iter().map(|s| settable_host_status(cx, *s)).collect::<Result<Vec<_>>>()?)?;
    let host = Host {
        name: spec.name.clone(),
        roid: cx.next_roid('H')?,
        registrar: registrar.clone(),
        addrs,
        statuses,
        superordinate,
        link_count: 0,
        published_link_count: 0,
        created: cx.now,
        cr_registrar: registrar,
        updated: None,
        up_registrar: None,
        transferred: None,
    };
    cx.tables.put_host(&host)?;
    cx.touch_anywhere(&host.name)?;
    Ok(Outcome::Host(Box::new(host)))
}

pub(super) fn update(cx: &mut Cx, name: &HostName, spec: &UpdateHost) -> Result<Outcome> {
    let before = cx.tables.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
    cx.sponsor_only(&before.registrar, format!("host {name}"))?;
    refuse_if_locked(cx, &before, spec)?;
    let mut after = before.clone();
    for st in spec.remove_statuses.iter().chain(&spec.add_statuses) {
        settable_host_status(cx, *st)?;
    }
    after.statuses.change(&spec.remove_statuses, &spec.add_statuses)?;
    after.statuses.validate()?;

    for a in &spec.remove_addresses {
        let at =
            after.addrs.iter().position(|x| x == a).ok_or_else(|| RegistryError::Invalid(format!("{a} is not an address of {name}")))?;
        after.addrs.remove(at);
    }
    let mut addrs = after.addrs.clone();
    addrs.extend(spec.add_addresses.iter().copied());
    after.addrs = host_addrs(&addrs, glue_addresses(cx, spec.new_name.as_ref().unwrap_or(name))?)?;

    let links = match spec.new_name.as_ref().filter(|n| *n != name) {
        Some(new_name) => rename(cx, &before, &mut after, new_name)?,
        None => Vec::new(),
    };
    if after.superordinate.is_none() && !after.addrs.is_empty() {
        return Err(RegistryError::Policy(format!("{} is not below a TLD of this registry and cannot have addresses", after.name)));
    }
    if after.superordinate.is_some() && after.addrs.is_empty() && after.is_linked() {
        return Err(RegistryError::Policy(format!("{} is delegated to and below a TLD of this registry; it needs an address", after.name)));
    }
    after.updated = Some(cx.now);
    after.up_registrar = cx.actor.registrar().cloned().or(after.up_registrar);

    if after.name != before.name {
        // Glue counts are per zone: recount for the host's new zone.
        let mut published = 0;
        for d in &links {
            if let Some(domain) = cx.tables.domain(d)? {
                if domain.is_published() && after.name.is_below(&domain.tld) {
                    published += 1;
                }
                cx.touch(&domain.tld, d);
            }
        }
        after.published_link_count = published;
        cx.tables.unindex_host_name(&before.name)?;
    }
    cx.tables.put_host(&after)?;
    cx.touch_anywhere(&before.name)?;
    cx.touch_anywhere(&after.name)?;
    Ok(Outcome::Host(Box::new(after)))
}

/// Refuses an update the host's statuses prohibit: a registrar may only lift
/// its own update lock; the registry is held by its own lock only.
fn refuse_if_locked(cx: &Cx, before: &Host, spec: &UpdateHost) -> Result<()> {
    let (name, s) = (&before.name, before.statuses);
    let locked = if cx.is_registry() {
        s.contains(HostStatus::ServerUpdateProhibited) && !spec.only_server_statuses()
    } else {
        s.contains(HostStatus::ServerUpdateProhibited)
            || s.contains(HostStatus::PendingDelete)
            || (s.contains(HostStatus::ClientUpdateProhibited)
                && !(spec.only_statuses() && spec.remove_statuses.contains(&HostStatus::ClientUpdateProhibited)))
    };
    if locked {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {name} prohibit this update")));
    }
    Ok(())
}

/// Gives `after` its new name and place, refusing a rename that would
/// change other registrars' delegations; the domains that delegate to it.
fn rename(cx: &mut Cx, before: &Host, after: &mut Host, new_name: &HostName) -> Result<Vec<DomainName>> {
    let name = &before.name;
    if cx.tables.host_by_name(new_name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Host, new_name));
    }
    if let Some(tld) = cx.tables.tlds()?.into_iter().find(|t| t.policy.nameservers.contains(name)) {
        return Err(RegistryError::Association(format!("{name} is an apex name server of .{}; change the TLD first", tld.name)));
    }
    after.superordinate = placement(cx, new_name, &before.registrar)?;
    after.name = new_name.clone();
    let links = cx.tables.host_links(&before.roid, usize::MAX)?;
    // Renaming a host others delegate to would change their delegations (RST epp-23).
    if let crate::registry::Actor::Registrar(me) = cx.actor {
        for d in &links {
            if cx.tables.domain(d)?.is_some_and(|d| &d.registrar != me) {
                return Err(RegistryError::Association(format!("{name} is used by {d}, which another registrar sponsors")));
            }
        }
    }
    Ok(links)
}

pub(super) fn delete(cx: &mut Cx, name: &HostName) -> Result<Outcome> {
    let host = cx.tables.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
    cx.sponsor_only(&host.registrar, format!("host {name}"))?;
    let s = host.statuses;
    if s.contains(HostStatus::ServerDeleteProhibited) || (!cx.is_registry() && s.contains(HostStatus::ClientDeleteProhibited)) {
        return Err(RegistryError::StatusProhibits(format!("{name} is delete-prohibited")));
    }
    if host.is_linked() {
        return Err(RegistryError::Association(format!("{name} is a name server of {} domain(s)", host.link_count)));
    }
    if let Some(tld) = cx.tables.tlds()?.into_iter().find(|t| t.policy.nameservers.contains(name)) {
        return Err(RegistryError::Association(format!("{name} is an apex name server of .{}", tld.name)));
    }
    cx.tables.delete_host(&host)?;
    cx.touch_anywhere(name)?;
    Ok(Outcome::Deleted { pending: false, credit: crate::model::Money(0) })
}
