//! Launch applications through the writer (`model::application`, RFC 8334
//! §2.3): a registrar's create in a phase that collects them makes one and
//! pays for it; the end of the phase (a deadline in `due`) allocates the
//! names with one application and leaves contended ones to the operator,
//! whose allocation rejects the others; a rejected or withdrawn
//! application is credited back what it paid but for fees that are not
//! refundable. An allocation creates the domain through the ordinary create,
//! as the registry, for the application's registrar: it paid already.

use super::command::*;
use super::context::{Cx, Due, Result};
use super::{ObjectKind, RegistryError};
use crate::model::application::{Application, ApplicationStatus, AtPhaseEnd, at_phase_end};
use crate::model::lifecycle::Price;
use crate::model::phase::Phase;
use crate::model::{ClientId, DomainName, PollPayload, Tld};

/// Makes the application `spec` asks for, in `phase`, paid at `price`
/// (checked and affordable: the create's rules ran up to here).
pub(super) fn apply(cx: &mut Cx, spec: &CreateDomain, tld: &Tld, phase: &Phase, registrar: &ClientId, price: &Price) -> Result<Outcome> {
    let ends = phase.ends.ok_or_else(|| RegistryError::Policy("a phase that collects applications ends".into()))?;
    let earlier = cx.tables.applications_for(&spec.name)?;
    if earlier.iter().any(|a| a.phase_starts == phase.starts && &a.registrar == registrar && a.status.is_open()) {
        return Err(RegistryError::Policy(format!("{registrar} has applied for {} in this phase already", spec.name)));
    }
    let (lordn_id, notice_accepted) = super::domain::lordn_of(spec).map_or((None, None), |(id, accepted)| (Some(id), accepted));
    let application = Application {
        id: cx.next_roid('A')?.to_string(),
        tld: tld.name.clone(),
        name: spec.name.clone(),
        phase: phase.kind,
        phase_name: phase.name.clone(),
        phase_starts: phase.starts,
        registrar: registrar.clone(),
        created: cx.now,
        updated: None,
        status: ApplicationStatus::Validated,
        period_years: spec.period_years,
        registrant: spec.registrant.clone(),
        contacts: spec.contacts.clone(),
        nameservers: spec.nameservers.clone(),
        ds: spec.ds.clone(),
        auth_info_hash: spec.auth_info_hash.clone().filter(|h| !h.is_empty()),
        fee: price.total(),
        refundable: price.refundable(),
        currency: price.currency.clone(),
        lordn_id,
        notice_accepted,
    };
    cx.tables.put_application(&application)?;
    cx.schedule(ends, Due::PhaseEnd, &phase_end_object(&tld.name, phase))?;
    let balance = super::domain::charge(cx, registrar, &application.currency, application.fee, "launch application", &spec.name)?;
    Ok(Outcome::Application(Box::new(application), balance))
}

/// The `due` object of the end of `phase`: the TLD and the phase's start.
fn phase_end_object(tld: &DomainName, phase: &Phase) -> String {
    format!("{tld} {}", phase.starts.0)
}

/// At the end of the phase `object` names: each name with one open
/// application is allocated to it, and each with more waits for the
/// operator. An allocation the rules now refuse (a contact deleted since,
/// say) rejects the application instead, which is logged.
pub(super) fn phase_end(cx: &mut Cx, object: &str) -> Result<()> {
    let parsed = object.split_once(' ').and_then(|(tld, ms)| Some((DomainName::parse(tld).ok()?, ms.parse::<i64>().ok()?)));
    let Some((tld, starts)) = parsed else {
        tracing::warn!(object, "dropping a phase end that names no phase");
        return Ok(());
    };
    let mut by_name = std::collections::BTreeMap::<DomainName, Vec<Application>>::new();
    for a in cx.tables.applications_of(&tld, crate::model::Timestamp(starts))? {
        if a.status == ApplicationStatus::Validated {
            by_name.entry(a.name.clone()).or_default().push(a);
        }
    }
    for (name, mut open) in by_name {
        match at_phase_end(open.len()) {
            Some(AtPhaseEnd::Allocate) => {
                let a = open.remove(0);
                if let Err(refusal) = cx.attempt(|cx| allocate_now(cx, a.clone())) {
                    if let RegistryError::Store(e) = refusal {
                        return Err(e.into());
                    }
                    tracing::warn!(application = %a.id, %name, error = %refusal, "launch application cannot be allocated: rejected");
                    decide(cx, a, ApplicationStatus::Rejected, &format!("not allocated: {refusal}"))?;
                }
            }
            Some(AtPhaseEnd::AwaitAllocation) => {
                for mut a in open {
                    a.status = ApplicationStatus::PendingAllocation;
                    a.updated = Some(cx.now);
                    cx.tables.put_application(&a)?;
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// The operator's allocation of an open application whose phase is over.
pub(super) fn allocate(cx: &mut Cx, id: &str) -> Result<Outcome> {
    let a = open_application(cx, id)?;
    let phase_ends = cx.tables.phases(&a.tld)?.into_iter().find(|p| p.starts == a.phase_starts).and_then(|p| p.ends);
    if phase_ends.is_some_and(|ends| cx.now < ends) {
        return Err(RegistryError::StatusProhibits(format!("application {id} is allocated once its phase is over")));
    }
    let allocated = allocate_now(cx, a)?;
    Ok(Outcome::Application(Box::new(allocated), None))
}

/// Creates the domain `a` applied for, for its registrar, records what the
/// LORDN files report of it, and rejects the other open applications for
/// the name.
fn allocate_now(cx: &mut Cx, a: Application) -> Result<Application> {
    let spec = CreateDomain {
        nameservers: a.nameservers.clone(),
        ds: a.ds.clone(),
        period_years: a.period_years,
        registrant: a.registrant.clone(),
        contacts: a.contacts.clone(),
        auth_info_hash: a.auth_info_hash.clone(),
        ..CreateDomain::of(a.name.clone(), Some(a.registrar.clone()))
    };
    let Outcome::Domain(created) = super::domain::create(cx, &spec)? else {
        return Err(RegistryError::Invalid(format!("the allocation of {} made no domain", a.name)));
    };
    if let Some(id) = a.lordn_id.clone() {
        super::domain::record_lordn(cx, &created.domain, (id, a.notice_accepted))?;
    }
    for other in cx.tables.applications_for(&a.name)? {
        if other.phase_starts == a.phase_starts && other.id != a.id && other.status.is_open() {
            decide(cx, other, ApplicationStatus::Rejected, &format!("{} was allocated to another application", a.name))?;
        }
    }
    decide(cx, a, ApplicationStatus::Allocated, "allocated")
}

/// The operator's rejection of an open application.
pub(super) fn reject(cx: &mut Cx, id: &str) -> Result<Outcome> {
    let a = open_application(cx, id)?;
    let rejected = decide(cx, a, ApplicationStatus::Rejected, "rejected by the registry")?;
    Ok(Outcome::Application(Box::new(rejected), None))
}

/// A registrar's own open application `id` for `name`, made in `phase`.
fn own_application(cx: &Cx, name: &DomainName, id: &str, phase: &LaunchPhase) -> Result<Application> {
    let a = open_application(cx, id)?;
    if &a.name != name {
        return Err(RegistryError::not_found(ObjectKind::Application, format!("{id} for {name}")));
    }
    cx.sponsor_only(&a.registrar, format!("application {id}"))?;
    if phase.phase != a.phase.as_str() || phase.name != a.phase_name {
        return Err(RegistryError::Policy(format!("application {id} was made in the {} phase", a.phase.as_str())));
    }
    Ok(a)
}

/// A registrar's change of its open application: what the domain will be
/// created with, changed and checked as a domain update is. An application
/// has no statuses, and nothing in it is billed.
pub(super) fn update(cx: &mut Cx, name: &DomainName, id: &str, phase: &LaunchPhase, spec: &UpdateDomain) -> Result<Outcome> {
    let mut a = own_application(cx, name, id, phase)?;
    if !spec.add_statuses.is_empty() || !spec.remove_statuses.is_empty() || spec.registrar.is_some() || spec.restore.is_some() {
        return Err(RegistryError::Policy(
            "an application changes its name servers, DS, contacts and authorization information only".into(),
        ));
    }
    let tld = cx.tld(&a.tld)?;
    for ns in &spec.remove_nameservers {
        let at = a
            .nameservers
            .iter()
            .position(|n| n == ns)
            .ok_or_else(|| RegistryError::Invalid(format!("{ns} is not a name server of application {id}")))?;
        a.nameservers.remove(at);
    }
    for host in super::domain::resolve_nameservers(cx, &spec.add_nameservers)? {
        if a.nameservers.contains(&host.name) {
            return Err(RegistryError::Invalid(format!("{} is already a name server of application {id}", host.name)));
        }
        a.nameservers.push(host.name);
    }
    if a.nameservers.len() > crate::model::DOMAIN_NAMESERVERS_MAX {
        return Err(RegistryError::Range(format!("at most {} name servers per domain", crate::model::DOMAIN_NAMESERVERS_MAX)));
    }
    super::domain::update_ds(&mut a.ds, name, spec)?;
    super::domain::update_contacts(cx, &tld, name, (&mut a.registrant, &mut a.contacts), spec)?;
    if let Some(hash) = &spec.auth_info_hash {
        a.auth_info_hash = (!hash.is_empty()).then(|| hash.clone());
    }
    a.updated = Some(cx.now);
    cx.tables.put_application(&a)?;
    Ok(Outcome::Application(Box::new(a), None))
}

/// A registrar's withdrawal of its open application made in `phase`.
pub(super) fn withdraw(cx: &mut Cx, name: &DomainName, id: &str, phase: &LaunchPhase) -> Result<Outcome> {
    let a = own_application(cx, name, id, phase)?;
    cx.tables.delete_application(&a)?;
    let credit = a.refundable;
    if credit.0 > 0 {
        cx.adjust_balance(&a.registrar, &a.currency, credit, "launch application withdrawn", Some(&a.name))?;
    }
    Ok(Outcome::Deleted { pending: false, credit })
}

fn open_application(cx: &Cx, id: &str) -> Result<Application> {
    let a = cx.tables.application(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Application, id))?;
    if !a.status.is_open() {
        return Err(RegistryError::StatusProhibits(format!("application {id} is {}", a.status.as_str())));
    }
    Ok(a)
}

/// Gives `a` its final `status`, credits back a rejected one's refundable
/// part, and tells its registrar.
fn decide(cx: &mut Cx, mut a: Application, status: ApplicationStatus, why: &str) -> Result<Application> {
    a.status = status;
    a.updated = Some(cx.now);
    cx.tables.put_application(&a)?;
    if status == ApplicationStatus::Rejected && a.refundable.0 > 0 {
        cx.adjust_balance(&a.registrar, &a.currency, a.refundable, "launch application rejected", Some(&a.name))?;
    }
    let text = format!("Application {} for {}: {why}", a.id, a.name);
    cx.notify(&a.registrar.clone(), text, PollPayload::Application(Box::new(a.clone())))?;
    Ok(a)
}
