//! Names of a TLD with rules of their own. Reserving names (NNDN: withheld
//! or blocked) and ending reservations: every name must lie directly below
//! the TLD and not be registered, or nothing of the command is kept.
//! Creating a reserved name is refused in `domain::create`, except that the
//! registry may allocate a withheld one, which ends its reservation in the
//! same transaction. Premium names: their prices replace the TLD's in
//! `Cx::price`, registered or not.

use super::command::*;
use super::context::{Cx, Result};
use super::{ObjectKind, RegistryError};
use crate::model::DomainName;
use crate::model::reserved::{NAMES_PER_COMMAND_MAX, ReservedName, check_labels};

/// Names that are not directly below `tld`, as one refusal.
fn check_names(tld: &DomainName, names: &[DomainName]) -> Result<()> {
    if names.is_empty() || names.len() > NAMES_PER_COMMAND_MAX {
        return Err(RegistryError::Range(format!("1 to {NAMES_PER_COMMAND_MAX} names at a time")));
    }
    let outside: Vec<&str> = names.iter().filter(|n| !n.is_directly_below(tld)).take(10).map(DomainName::as_str).collect();
    if !outside.is_empty() {
        return Err(RegistryError::Invalid(format!("not directly below {tld}: {}", outside.join(", "))));
    }
    Ok(())
}

pub(super) fn reserve(cx: &mut Cx, spec: &ReserveNames) -> Result<Outcome> {
    let tld = cx.tld(&spec.tld)?;
    check_names(&tld.name, &spec.names)?;
    check_labels(&spec.reason, &spec.list).map_err(RegistryError::Invalid)?;
    let mut registered = Vec::new();
    for name in &spec.names {
        if cx.tables.domain(name)?.is_some() {
            registered.push(name.as_str().to_string());
        }
    }
    if !registered.is_empty() {
        let count = registered.len();
        registered.truncate(10);
        return Err(RegistryError::Exists {
            kind: ObjectKind::Domain,
            id: format!("{} ({count} registered names cannot be reserved)", registered.join(", ")),
        });
    }
    let mut already = 0;
    for name in &spec.names {
        let before = cx.tables.reserved(name)?;
        already += usize::from(before.is_some());
        let reserved = ReservedName {
            name: name.clone(),
            tld: tld.name.clone(),
            state: spec.state,
            reason: spec.reason.clone(),
            list: spec.list.clone(),
            created: before.map_or(cx.now, |b| b.created),
        };
        cx.tables.put_reserved(&reserved)?;
    }
    Ok(Outcome::Names { names: spec.names.len(), already })
}

pub(super) fn set_premium(cx: &mut Cx, tld: &DomainName, names: &[crate::model::premium::PremiumName]) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    check_names(&tld.name, &names.iter().map(|p| p.name.clone()).collect::<Vec<_>>())?;
    let mut already = 0;
    for premium in names {
        crate::model::premium::check_class(&premium.class).map_err(RegistryError::Invalid)?;
        let prices = premium.prices;
        if [prices.create, prices.renew, prices.transfer].iter().any(|m| m.0 < 0) {
            return Err(RegistryError::Range(format!("{}: prices are not negative", premium.name)));
        }
        already += usize::from(cx.tables.premium(&premium.name)?.is_some());
        cx.tables.put_premium(&crate::model::premium::PremiumName { tld: tld.name.clone(), ..premium.clone() })?;
    }
    Ok(Outcome::Names { names: names.len(), already })
}

pub(super) fn remove_premium(cx: &mut Cx, tld: &DomainName, names: &[DomainName]) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    check_names(&tld.name, names)?;
    let mut removed = 0;
    for name in names {
        removed += usize::from(cx.tables.delete_premium(name)?);
    }
    Ok(Outcome::Names { names: removed, already: names.len() - removed })
}

pub(super) fn unreserve(cx: &mut Cx, tld: &DomainName, names: &[DomainName]) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    check_names(&tld.name, names)?;
    let mut released = 0;
    for name in names {
        if cx.tables.reserved(name)?.is_some() {
            cx.tables.delete_reserved(name)?;
            released += 1;
        }
    }
    Ok(Outcome::Names { names: released, already: names.len() - released })
}
