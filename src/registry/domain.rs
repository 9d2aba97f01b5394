//! Domain objects (RFC 5731) through their lifecycle (RFC 3915, the spec
//! digest §2): create with an add grace period, updates (with RGP restore),
//! delete into redemption or at once within add grace, renew, and transfers
//! that wait for the losing registrar or the clock. Registrars pay for what
//! they buy and get credits back within grace periods; the registry acts for
//! free and its changes to a registrar's domains are reported by poll.

use std::collections::BTreeSet;

use super::command::*;
use super::context::{Cx, Due, Result, refuse_clear_auth_info};
use super::credentials::verify_auth_info;
use super::{ObjectKind, RegistryError};
use crate::model::lifecycle::{Requirement, current_grace, delete_outcome, expiry_horizon, valid_period};
use crate::model::phase::Phase;
use crate::model::report::TransactionField;
use crate::model::reserved::NameState;
use crate::model::{
    ChangeOperation, ClientId, ContactId, ContactType, DOMAIN_DS_MAX, DOMAIN_NAMESERVERS_MAX, Domain, DomainContact, DomainName,
    DomainStatus, DomainStatusSet, DsData, Grace, GraceKind, Host, HostName, Money, PollPayload, Rgp, RgpPhase, Roid, Timestamp, Tld,
    Transfer, TransferStatus,
};

/// Statuses a registrar (`client*`) or the registry (`client*` and `server*`) may set.
fn settable(cx: &Cx, s: DomainStatus) -> Result<DomainStatus> {
    match () {
        _ if s.is_client() => Ok(s),
        _ if s.is_server() && cx.is_registry() => Ok(s),
        _ if s.is_server() => Err(RegistryError::Authorization(format!("only the registry sets {s}"))),
        _ => Err(RegistryError::Invalid(format!("status {s} is managed by the registry and cannot be set"))),
    }
}

fn load(cx: &Cx, name: &DomainName) -> Result<Domain> {
    cx.tables.domain(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Domain, name))
}

/// Looks up the hosts a domain is to be delegated to, enforcing the glue rule:
/// a host below one of our TLDs needs addresses, or the delegation is lame.
pub(super) fn resolve_nameservers(cx: &Cx, names: &[HostName]) -> Result<Vec<Host>> {
    let mut hosts: Vec<Host> = Vec::with_capacity(names.len());
    for name in names {
        if hosts.iter().any(|h| &h.name == name) {
            return Err(RegistryError::Invalid(format!("name server {name} is listed twice")));
        }
        let host = cx.tables.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
        if host.superordinate.is_some() && host.addrs.is_empty() {
            return Err(RegistryError::Policy(format!("name server {name} is below a TLD of this registry and has no addresses (glue)")));
        }
        hosts.push(host);
    }
    Ok(hosts)
}

pub(super) fn check_ds(ds: &[DsData]) -> Result<()> {
    if ds.len() > DOMAIN_DS_MAX {
        return Err(RegistryError::Range(format!("at most {DOMAIN_DS_MAX} DS records per domain")));
    }
    for (i, d) in ds.iter().enumerate() {
        d.validate()?;
        if ds[..i].contains(d) {
            return Err(RegistryError::Invalid(format!("DS {} is listed twice", d.to_presentation())));
        }
    }
    Ok(())
}

/// The name servers after an update's `<rem>` then `<add>`, within the limit.
fn updated_nameservers(cx: &Cx, before: &Domain, spec: &UpdateDomain) -> Result<Vec<Roid>> {
    let name = &before.name;
    let mut current: Vec<Host> = Vec::new();
    for roid in &before.nameservers {
        if let Some(h) = cx.tables.host(roid)? {
            current.push(h);
        }
    }
    for ns in &spec.remove_nameservers {
        let at = current
            .iter()
            .position(|h| &h.name == ns)
            .ok_or_else(|| RegistryError::Invalid(format!("{ns} is not a name server of {name}")))?;
        current.remove(at);
    }
    for host in resolve_nameservers(cx, &spec.add_nameservers)? {
        if current.iter().any(|h| h.roid == host.roid) {
            return Err(RegistryError::Invalid(format!("{} is already a name server of {name}", host.name)));
        }
        current.push(host);
    }
    if current.len() > DOMAIN_NAMESERVERS_MAX {
        return Err(RegistryError::Range(format!("at most {DOMAIN_NAMESERVERS_MAX} name servers per domain")));
    }
    Ok(current.into_iter().map(|h| h.roid).collect())
}

/// An update's DS changes to the DS set `ds` of `owner` (RFC 5910: remove all, remove some, then add).
pub(super) fn update_ds(ds: &mut Vec<DsData>, owner: &DomainName, spec: &UpdateDomain) -> Result<()> {
    if spec.remove_all_ds {
        ds.clear();
    }
    for gone in &spec.remove_ds {
        let at = ds
            .iter()
            .position(|d| d == gone)
            .ok_or_else(|| RegistryError::Invalid(format!("DS {} is not on {owner}", gone.to_presentation())))?;
        ds.remove(at);
    }
    ds.extend(spec.add_ds.iter().cloned());
    check_ds(ds)
}

/// An update's contact and registrant changes to those of `owner`,
/// checked against the TLD's contact policy.
pub(super) fn update_contacts(
    cx: &Cx,
    tld: &Tld,
    owner: &DomainName,
    (registrant, contacts): (&mut Option<ContactId>, &mut Vec<DomainContact>),
    spec: &UpdateDomain,
) -> Result<()> {
    for c in &spec.remove_contacts {
        let at = contacts
            .iter()
            .position(|x| x == c)
            .ok_or_else(|| RegistryError::Invalid(format!("{:?} contact {} is not on {owner}", c.kind, c.id)))?;
        contacts.remove(at);
    }
    contacts.extend(spec.add_contacts.iter().cloned());
    if let Some(r) = &spec.registrant {
        *registrant = r.clone();
    }
    if !spec.add_contacts.is_empty() || !spec.remove_contacts.is_empty() || spec.registrant.is_some() {
        check_contacts(cx, tld, registrant.as_ref(), contacts)?;
    }
    Ok(())
}

/// A sponsor change by the registry (registrars change sponsors by
/// transfer); returns the subordinate hosts that move with the domain.
fn change_sponsor(cx: &Cx, before: &Domain, after: &mut Domain, spec: &UpdateDomain) -> Result<Vec<Host>> {
    let Some(registrar) = &spec.registrar else { return Ok(Vec::new()) };
    if !cx.is_registry() {
        return Err(RegistryError::Authorization("registrars change sponsors by transfer".into()));
    }
    if registrar == &before.registrar {
        return Ok(Vec::new());
    }
    cx.active_registrar(registrar)?;
    after.registrar = registrar.clone();
    after.transferred = Some(cx.now);
    Ok(cx.tables.hosts_at_or_below(&before.name, usize::MAX)?)
}

/// The TLD a new domain goes in: it must be exactly one label below a served TLD.
/// The TLD `name` can be registered in, as the phase running now has it (`Cx::tld_in_force`).
fn registrable_tld(cx: &Cx, name: &DomainName) -> Result<(Tld, Option<Phase>)> {
    let tld = cx
        .tld_of(name)?
        .filter(|t| &t.name != name)
        .ok_or_else(|| RegistryError::Policy(format!("{name} is not below a TLD of this registry")))?;
    if !name.is_directly_below(&tld.name) {
        return Err(RegistryError::Policy(format!("only names directly below .{} can be registered, not {name}", tld.name)));
    }
    cx.tld_in_force(&tld.name)
}

/// Contacts must exist and follow the TLD's contact policy (minimum data set or not).
fn check_contacts(cx: &Cx, tld: &Tld, registrant: Option<&ContactId>, contacts: &[DomainContact]) -> Result<()> {
    let policy = tld.registration.contacts;
    let roles = [
        ("registrant", policy.registrant, registrant.is_some()),
        ("admin", policy.admin, contacts.iter().any(|c| c.kind == ContactType::Admin)),
        ("tech", policy.tech, contacts.iter().any(|c| c.kind == ContactType::Tech)),
        ("billing", policy.billing, contacts.iter().any(|c| c.kind == ContactType::Billing)),
    ];
    for (role, requirement, present) in roles {
        match requirement {
            Requirement::Mandatory if !present => {
                return Err(RegistryError::Missing(format!("a {role} contact is required in .{}", tld.name)));
            }
            Requirement::Prohibited if present => {
                return Err(RegistryError::Policy(format!(".{} does not collect {role} contacts (minimum data set)", tld.name)));
            }
            _ => {}
        }
    }
    for (i, c) in contacts.iter().enumerate() {
        if contacts[..i].contains(c) {
            return Err(RegistryError::Invalid(format!("{:?} contact {} is listed twice", c.kind, c.id)));
        }
    }
    for id in registrant.into_iter().chain(contacts.iter().map(|c| &c.id)) {
        if cx.tables.contact(id)?.is_none() {
            return Err(RegistryError::not_found(ObjectKind::Contact, id));
        }
    }
    Ok(())
}

pub(super) fn create(cx: &mut Cx, spec: &CreateDomain) -> Result<Outcome> {
    let (tld, phase) = registrable_tld(cx, &spec.name)?;
    if cx.tables.domain(&spec.name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Domain, &spec.name));
    }
    let registrar = cx.sponsor_for_new(spec.registrar.as_ref())?.id;
    cx.accredited_for(&tld.name, &registrar)?;
    check_idn(cx, &tld, &spec.name, &registrar)?;
    let token = match &spec.allocation_token {
        Some(text) => Some(allocation_token(cx, &tld, text, &spec.name, &registrar)?),
        None => None,
    };
    if let Some(reserved) = cx.tables.reserved(&spec.name)? {
        // The registry allocates a withheld name, or lets the holder of a
        // token for it do so; nobody registers a blocked one.
        let allocated = cx.is_registry() || token.as_ref().is_some_and(|t| t.name.as_ref() == Some(&spec.name));
        if reserved.state != NameState::Withheld || !allocated {
            return Err(RegistryError::StatusProhibits(format!(
                "{} is {} ({}): {}",
                spec.name,
                if reserved.state == NameState::Blocked { "blocked" } else { "reserved" },
                reserved.list,
                reserved.reason
            )));
        }
        cx.tables.delete_reserved(&spec.name)?;
    }
    if !valid_period(spec.period_years, &tld.registration) {
        return Err(RegistryError::Range(format!("the registration period must be 1 to {} years", tld.registration.years_max)));
    }
    if spec.nameservers.len() > DOMAIN_NAMESERVERS_MAX {
        return Err(RegistryError::Range(format!("at most {DOMAIN_NAMESERVERS_MAX} name servers per domain")));
    }
    let hosts = resolve_nameservers(cx, &spec.nameservers)?;
    check_ds(&spec.ds)?;
    let statuses = DomainStatusSet::from_statuses(spec.statuses.iter().map(|s| settable(cx, *s)).collect::<Result<Vec<_>>>()?)?;
    check_contacts(cx, &tld, spec.registrant.as_ref(), &spec.contacts)?;
    refuse_clear_auth_info(&spec.auth_info)?;
    // A token's price goes before the phase's, which goes before the name's.
    let phase_price = phase_price(cx, &tld, spec)?;
    let applications = phase.as_ref().filter(|p| p.terms.applications && !cx.is_registry());
    match (applications, spec.application) {
        (Some(p), false) => {
            return Err(RegistryError::Policy(format!(
                "{} collects applications in its {} phase: a create is <launch:create type=\"application\">",
                tld.name,
                p.kind.as_str()
            )));
        }
        (None, true) => return Err(RegistryError::Policy(format!("{} takes no launch applications now", tld.name))),
        _ => {}
    }
    let create_override = token.as_ref().and_then(|t| t.create_price).or(phase_price);
    let price =
        cx.price(&tld, phase.as_ref(), &spec.name, "create", spec.period_years, None, spec.fee.as_ref(), create_override, &registrar)?;
    let fee = price.total();
    cx.check_funds(&registrar, &price.currency, fee)?;
    if let Some(mut token) = token {
        token.uses += 1;
        cx.tables.put_token(&token)?;
    }
    if let Some(p) = applications {
        return super::application::apply(cx, spec, &tld, p, &registrar, &price);
    }

    let expires = cx.now.plus_years(spec.period_years as i32);
    let mut grace = Vec::new();
    if !cx.is_registry() {
        let ends = cx.now.plus_seconds(tld.registration.add_grace_s);
        let amount = price.refundable();
        let currency = price.currency.clone();
        grace.push(Grace { kind: GraceKind::Add, ends, registrar: registrar.clone(), amount, currency, years: spec.period_years });
    }
    let domain = Domain {
        name: spec.name.clone(),
        roid: cx.next_roid('D')?,
        tld: tld.name.clone(),
        registrar: registrar.clone(),
        registrant: spec.registrant.clone(),
        contacts: spec.contacts.clone(),
        nameservers: hosts.iter().map(|h| h.roid.clone()).collect(),
        ds: spec.ds.clone(),
        statuses,
        created: cx.now,
        cr_registrar: cx.actor.registrar().cloned().unwrap_or_else(|| registrar.clone()),
        updated: None,
        up_registrar: None,
        expires,
        transferred: None,
        auth_info_hash: spec.auth_info_hash.clone().filter(|h| !h.is_empty()),
        grace,
        rgp: None,
        transfer: None,
    };
    if let Some(premium) = cx.tables.premium(&spec.name)? {
        cx.tables.put_grandfathered(&premium)?;
    }
    cx.tables.put_domain(&domain)?;
    if let Some(launch) = lordn_of(spec) {
        record_lordn(cx, &domain, launch)?;
    }
    cx.schedule(expires, Due::Expiry, domain.name.as_str())?;
    for g in &domain.grace {
        cx.schedule(g.ends, Due::GraceEnd, domain.name.as_str())?;
    }
    // Counted once its add grace is over (a delete within it takes it back).
    let reported_at = domain.grace.first().map_or(cx.now, |g| g.ends);
    cx.report(&domain, reported_at, &registrar, TransactionField::net_adds(spec.period_years), 1)?;
    let balance = charge(cx, &registrar, &price.currency, fee, "domain create", &domain.name)?;
    relink(cx, None, Some(&domain))?;
    cx.touch(&tld.name, &domain.name);
    Ok(Outcome::Domain(Box::new(DomainOutcome { domain, fee, credit: Money(0), balance, currency: price.currency })))
}

/// A new name of a TLD with an IDN table: its U-label must use the table's
/// repertoire (EPP 2306), and a variant of a registered name is blocked, or
/// open only to that name's registrar, as the table's policy says (2304).
fn check_idn(cx: &Cx, tld: &Tld, name: &DomainName, registrar: &ClientId) -> Result<()> {
    use crate::model::idn::{VariantPolicy, a_label, u_label};
    let Some(table) = cx.tables.idn_table(&tld.name)? else { return Ok(()) };
    let label = name.as_str().split('.').next().unwrap_or_default();
    let u = u_label(label).ok_or_else(|| RegistryError::Invalid(format!("{label} is not a valid A-label")))?;
    if let Some(why) = table.refusal(&u) {
        return Err(RegistryError::Policy(format!("{name}: {why}")));
    }
    for variant in table.variants_of(&u) {
        let Some(variant) = a_label(&variant).and_then(|a| DomainName::parse(&format!("{a}.{}", tld.name)).ok()) else { continue };
        let Some(held) = cx.tables.domain(&variant)? else { continue };
        match table.policy {
            VariantPolicy::Blocked => {
                return Err(RegistryError::StatusProhibits(format!("{name} is a variant of {variant}, which is registered")));
            }
            VariantPolicy::SameRegistrar if &held.registrar != registrar => {
                return Err(RegistryError::StatusProhibits(format!(
                    "{name} is a variant of {variant}: only its registrar may register it"
                )));
            }
            VariantPolicy::SameRegistrar => {}
        }
    }
    Ok(())
}

/// The create price of the phase `tld` is in, if the create may be made in
/// it: refused (EPP 2306) when the TLD takes no registrations now, or when
/// the create does not name the running limited phase (RFC 8334 §3.3) or
/// names another. In sunrise a create shows a signed mark for its label, and
/// under claims (a `claims` phase, or a phase with claims beside it) a create
/// of a DNL label shows a claims notice for it; a mark or a notice in any
/// other phase is refused. The registry creates in any
/// phase.
fn phase_price(cx: &Cx, tld: &Tld, spec: &CreateDomain) -> Result<Option<Money>> {
    use crate::model::phase::{PhaseKind, Standing, standing};
    if cx.is_registry() {
        return Ok(None);
    }
    let named = spec.launch_phase.as_ref();
    let label = spec.name.as_str().split('.').next().unwrap_or_default();
    let phases = cx.tables.phases(&tld.name)?;
    let names = |phase: &str| named.is_none_or(|n| n.phase == phase && n.name.is_none());
    let refuse = |why: String| Err(RegistryError::Policy(format!("{} {why}", tld.name)));
    let standing = standing(&phases, cx.now);
    let running = match standing {
        Standing::In(p) => Some(p.kind),
        _ => None,
    };
    if spec.verified_mark.is_some() && running != Some(PhaseKind::Sunrise) {
        return refuse("is not in sunrise: a create carries no signed mark".into());
    }
    let under_claims = match standing {
        Standing::In(p) => p.kind == PhaseKind::Claims || p.terms.claims,
        _ => false,
    };
    if spec.claims_notice.is_some() && !under_claims {
        return refuse("is not under trademark claims: a create carries no claims notice".into());
    }
    if let Standing::In(p) = standing
        && let Some((min, max)) = p.terms.label_lengths
        && !crate::model::phase::label_length_allowed(label, (min, max))
    {
        return refuse(format!("takes labels of {min} to {max} characters in this phase"));
    }
    match standing {
        Standing::Open if names("open") => Ok(None),
        Standing::In(p) if p.kind == PhaseKind::Open && names("open") => {
            if under_claims {
                check_claims(cx, spec, label)?;
            }
            Ok(p.create_price_on(cx.now))
        }
        Standing::In(p) if p.kind == PhaseKind::Claims && (names("open") || names("claims")) => {
            check_claims(cx, spec, label)?;
            Ok(p.create_price_on(cx.now))
        }
        Standing::Open => refuse("is in general availability: a create names no other phase".into()),
        Standing::In(p) if matches!(p.kind, PhaseKind::Open | PhaseKind::Claims) => {
            refuse("is in general availability: a create names no other phase".into())
        }
        Standing::In(p) if p.kind == PhaseKind::Closed => refuse("takes no registrations now".into()),
        Standing::In(p) => {
            if !named.is_some_and(|n| n.phase == p.kind.as_str() && n.name == p.name) {
                let shown = p.name.as_ref().map_or_else(|| p.kind.as_str().to_string(), |n| format!("custom \"{n}\""));
                return refuse(format!("is in its {shown} phase: a create names it in <launch:phase>"));
            }
            if p.kind == PhaseKind::Sunrise {
                check_mark(cx, tld, spec, label)?;
            }
            if under_claims {
                check_claims(cx, spec, label)?;
            }
            Ok(p.create_price_on(cx.now))
        }
        Standing::Closed => refuse("takes no registrations now".into()),
    }
}

/// What the LORDN files report of a create: the id of the signed mark
/// (sunrise) or of the claims notice its phase rules checked, and when a
/// notice was accepted.
pub(super) fn lordn_of(spec: &CreateDomain) -> Option<(String, Option<Timestamp>)> {
    match (&spec.verified_mark, &spec.claims_notice) {
        (Some(m), _) => Some((m.smd_id.clone(), None)),
        (None, Some(n)) => Some((n.notice_id.clone(), Some(n.accepted))),
        (None, None) => None,
    }
}

/// Keeps `lordn_of`'s answer for `domain`, created now.
pub(super) fn record_lordn(cx: &mut Cx, domain: &Domain, (id, accepted): (String, Option<Timestamp>)) -> Result<()> {
    let r = crate::model::tmch::LaunchRegistration {
        tld: domain.tld.clone(),
        domain: domain.name.clone(),
        roid: domain.roid.clone(),
        registrar: domain.registrar.clone(),
        created: cx.now,
        sunrise: accepted.is_none(),
        id,
        accepted,
    };
    Ok(cx.tables.put_launch_registration(&r)?)
}

/// A sunrise create's signed mark (verified before the writer) holds its
/// label, is valid now, and is not on the SMD revocation list.
fn check_mark(cx: &Cx, tld: &Tld, spec: &CreateDomain, label: &str) -> Result<()> {
    let Some(mark) = &spec.verified_mark else {
        return Err(RegistryError::Missing(format!("{} is in sunrise: a create carries a signed mark (smd:encodedSignedMark)", tld.name)));
    };
    if cx.tables.mark_revoked(&mark.smd_id)? {
        return Err(RegistryError::Invalid(format!("the signed mark {} is revoked", mark.smd_id)));
    }
    mark.allows(label, cx.now).map_err(RegistryError::Invalid)
}

/// Under trademark claims, a create of a DNL label carries a claims notice
/// for it that still holds; a create of any other label carries none.
fn check_claims(cx: &Cx, spec: &CreateDomain, label: &str) -> Result<()> {
    match (cx.tables.claims_label(label)?, &spec.claims_notice) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(RegistryError::Invalid(format!("{label} is not on the DNL: a create of it carries no claims notice"))),
        (Some(_), None) => Err(RegistryError::Missing(format!(
            "{label} is under trademark claims: a create of it carries a claims notice (launch:notice)"
        ))),
        (Some(_), Some(notice)) => notice.check(label, cx.now).map_err(RegistryError::Invalid),
    }
}

/// The allocation token `text` of `tld`, if it lets `registrar` create
/// `name` now; refused (EPP 2201, RFC 8495 §3.1) otherwise.
fn allocation_token(
    cx: &Cx,
    tld: &Tld,
    text: &str,
    name: &DomainName,
    registrar: &ClientId,
) -> Result<crate::model::token::AllocationToken> {
    let token = cx
        .tables
        .token(text)?
        .filter(|t| t.tld == tld.name)
        .ok_or_else(|| RegistryError::Authorization("the allocation token is not valid".into()))?;
    match token.refusal(name, registrar, cx.now) {
        Some(why) => Err(RegistryError::Authorization(why)),
        None => Ok(token),
    }
}

/// Debits a registrar actor `fee` in `currency` for `command` on `domain`; `None` for the registry.
pub(super) fn charge(
    cx: &mut Cx,
    registrar: &ClientId,
    currency: &str,
    fee: Money,
    command: &str,
    domain: &DomainName,
) -> Result<Option<Money>> {
    if cx.is_registry() {
        return Ok(None);
    }
    Ok(Some(cx.adjust_balance(registrar, currency, Money(-fee.0), command, Some(domain))?))
}

/// Whether a registrar's update is blocked by the domain's statuses.
fn update_locked(cx: &Cx, d: &Domain, spec: &UpdateDomain) -> bool {
    let s = d.statuses;
    if cx.is_registry() {
        return s.contains(DomainStatus::ServerUpdateProhibited) && !spec.only_server_statuses();
    }
    if spec.restore.is_some() {
        return false;
    }
    s.contains(DomainStatus::ServerUpdateProhibited)
        || s.contains(DomainStatus::PendingDelete)
        || s.contains(DomainStatus::PendingTransfer)
        || (s.contains(DomainStatus::ClientUpdateProhibited)
            && !(spec.only_statuses() && spec.remove_statuses.contains(&DomainStatus::ClientUpdateProhibited)))
}

pub(super) fn update(cx: &mut Cx, name: &DomainName, spec: &UpdateDomain) -> Result<Outcome> {
    let before = load(cx, name)?;
    cx.sponsor_only(&before.registrar, format!("domain {name}"))?;
    if update_locked(cx, &before, spec) {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {name} prohibit this update")));
    }
    if let Some(restore) = &spec.restore {
        let alone = UpdateDomain { restore: None, fee: None, ..spec.clone() };
        if !alone.only_statuses() || !alone.add_statuses.is_empty() || !alone.remove_statuses.is_empty() {
            return Err(RegistryError::Invalid("a restore cannot change anything else".into()));
        }
        return self::restore(cx, before, restore, spec.fee.as_ref());
    }
    refuse_clear_auth_info(&spec.auth_info)?;
    let tld = cx.tld(&before.tld)?;
    let mut after = before.clone();

    for s in spec.remove_statuses.iter().chain(&spec.add_statuses) {
        settable(cx, *s)?;
    }
    after.statuses.change(&spec.remove_statuses, &spec.add_statuses)?;
    after.statuses.validate()?;

    after.nameservers = updated_nameservers(cx, &before, spec)?;
    update_ds(&mut after.ds, name, spec)?;
    update_contacts(cx, &tld, name, (&mut after.registrant, &mut after.contacts), spec)?;
    if let Some(hash) = &spec.auth_info_hash {
        after.auth_info_hash = (!hash.is_empty()).then(|| hash.clone());
    }
    let moved_hosts = change_sponsor(cx, &before, &mut after, spec)?;

    after.updated = Some(cx.now);
    after.up_registrar = cx.actor.registrar().cloned().or(after.up_registrar.clone());
    cx.tables.put_domain(&after)?;
    for mut host in moved_hosts {
        host.registrar = after.registrar.clone();
        host.transferred = Some(cx.now);
        cx.tables.put_host(&host)?;
    }
    relink(cx, Some(&before), Some(&after))?;
    cx.touch(&after.tld, name);
    if cx.is_registry() {
        report_change(cx, &after, ChangeOperation::Update, "registry update")?;
    }
    let currency = cx.tld(&after.tld)?.registration.currency;
    Ok(Outcome::Domain(Box::new(DomainOutcome { domain: after, fee: Money(0), credit: Money(0), balance: None, currency })))
}

/// Tells the sponsor that the registry changed its domain (RFC 8590).
fn report_change(cx: &mut Cx, domain: &Domain, operation: ChangeOperation, why: &str) -> Result<()> {
    let payload = PollPayload::DomainChange {
        domain: Box::new(domain.clone()),
        operation,
        server_transaction: format!("{}-{}", domain.roid, cx.now.0),
        who: "registry".into(),
        reason: Some(why.to_string()),
    };
    cx.notify(&domain.registrar, format!("{} of {} by the registry", operation.as_str(), domain.name), payload)
}

fn restore(cx: &mut Cx, before: Domain, op: &Restore, agreed: Option<&FeeAgreement>) -> Result<Outcome> {
    let name = before.name.clone();
    let (tld, phase) = cx.tld_in_force(&before.tld)?;
    let rgp = before.rgp.ok_or_else(|| RegistryError::StatusProhibits(format!("{name} is not in redemption")))?;
    let mut after = before.clone();
    let (mut fee, mut balance) = (Money(0), None);
    match (op, rgp.phase) {
        (Restore::Request, RgpPhase::Redemption) => {
            // A restored domain must not have expired: restoring includes a year's renewal when it has.
            let renew_years = crate::model::RegistrationPolicy::restore_renewal_years(before.expires, cx.now);
            let price = cx.price(&tld, phase.as_ref(), &name, "restore", 0, Some(before.expires), agreed, None, &before.registrar)?;
            fee = price.total();
            cx.check_funds(&before.registrar, &price.currency, fee)?;
            after.expires = before.expires.plus_years(renew_years as i32);
            let ends = cx.now.plus_seconds(tld.registration.pending_restore_s);
            after.rgp = Some(Rgp { phase: RgpPhase::PendingRestore { redemption_ends: rgp.ends }, ends });
            cx.schedule(ends, Due::RgpEnd, name.as_str())?;
            if renew_years > 0 {
                cx.schedule(after.expires, Due::Expiry, name.as_str())?;
            }
            balance = charge(cx, &before.registrar, &price.currency, fee, "domain restore", &name)?;
        }
        (Restore::Report { .. }, RgpPhase::PendingRestore { .. }) => {
            after.rgp = None;
            after.statuses.remove(DomainStatus::PendingDelete);
            cx.report(&before, cx.now, &before.registrar, TransactionField::RestoredDomains, 1)?;
        }
        (Restore::Request, _) => return Err(RegistryError::StatusProhibits(format!("{name} can no longer be restored"))),
        (Restore::Report { .. }, _) => return Err(RegistryError::StatusProhibits(format!("no restore of {name} is pending"))),
    }
    after.updated = Some(cx.now);
    after.up_registrar = cx.actor.registrar().cloned().or(after.up_registrar.clone());
    cx.tables.put_domain(&after)?;
    relink(cx, Some(&before), Some(&after))?;
    cx.touch(&after.tld, &name);
    let currency = cx.paying_currency(&tld, &before.registrar)?;
    Ok(Outcome::Domain(Box::new(DomainOutcome { domain: after, fee, credit: Money(0), balance, currency })))
}

pub(super) fn delete(cx: &mut Cx, name: &DomainName) -> Result<Outcome> {
    let domain = load(cx, name)?;
    cx.sponsor_only(&domain.registrar, format!("domain {name}"))?;
    let s = domain.statuses;
    let locked = s.contains(DomainStatus::ServerDeleteProhibited)
        || (!cx.is_registry()
            && (s.contains(DomainStatus::ClientDeleteProhibited)
                || s.contains(DomainStatus::PendingDelete)
                || s.contains(DomainStatus::PendingTransfer)));
    if locked {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {name} prohibit deleting it")));
    }
    let subordinates = cx.tables.hosts_at_or_below(name, 5)?;
    if !subordinates.is_empty() {
        let names: Vec<String> = subordinates.iter().map(|h| h.name.to_string()).collect();
        return Err(RegistryError::Association(format!("{name} has subordinate hosts ({}); delete them first", names.join(", "))));
    }
    report_delete(cx, &domain)?;
    if cx.is_registry() {
        purge(cx, &domain)?;
        return Ok(Outcome::Deleted { pending: false, credit: Money(0) });
    }
    let tld = cx.tld(&domain.tld)?;
    let paying = cx.paying_currency(&tld, &domain.registrar)?;
    let outcome = delete_outcome(&domain.grace, cx.now);
    let mut credit = Money(0);
    for (registrar, currency, amount) in &outcome.credits {
        cx.adjust_balance(registrar, currency, *amount, "domain delete in grace", Some(&domain.name))?;
        // The response reports what the deleting sponsor gets back in the currency it pays in.
        if *registrar == domain.registrar && *currency == paying {
            credit = credit + *amount;
        }
    }
    if outcome.immediate {
        purge(cx, &domain)?;
        return Ok(Outcome::Deleted { pending: false, credit });
    }
    let mut after = domain.clone();
    after.expires = domain.expires.plus_years(-(outcome.years_refunded as i32));
    after.grace.clear();
    after.statuses.insert(DomainStatus::PendingDelete);
    let ends = cx.now.plus_seconds(tld.registration.redemption_s);
    after.rgp = Some(Rgp { phase: RgpPhase::Redemption, ends });
    after.updated = Some(cx.now);
    after.up_registrar = cx.actor.registrar().cloned();
    cx.tables.put_domain(&after)?;
    cx.schedule(ends, Due::RgpEnd, name.as_str())?;
    relink(cx, Some(&domain), Some(&after))?;
    cx.touch(&after.tld, name);
    Ok(Outcome::Deleted { pending: true, credit })
}

/// Counts a delete: within add grace or not, and, for each grace period it
/// cuts short, the opposite of what that period's create or renewal counted,
/// in the same month, so the two net out.
fn report_delete(cx: &mut Cx, domain: &Domain) -> Result<()> {
    let now = cx.now;
    let in_add_grace = current_grace(&domain.grace, now).any(|g| g.kind == GraceKind::Add);
    let field = if in_add_grace { TransactionField::DeletedGrace } else { TransactionField::DeletedNoGrace };
    cx.report(domain, now, &domain.registrar, field, 1)?;
    for g in current_grace(&domain.grace, now) {
        let field = match g.kind {
            GraceKind::Add => TransactionField::net_adds(g.years),
            GraceKind::Renew | GraceKind::AutoRenew => TransactionField::net_renews(g.years),
            GraceKind::Transfer => continue,
        };
        cx.report(domain, g.ends, &g.registrar, field, -1)?;
    }
    Ok(())
}

/// Removes a domain and everything that pointed at it.
pub(super) fn purge(cx: &mut Cx, domain: &Domain) -> Result<()> {
    cx.tables.delete_domain(&domain.name)?;
    cx.tables.delete_grandfathered(&domain.name)?;
    relink(cx, Some(domain), None)?;
    cx.touch(&domain.tld, &domain.name);
    Ok(())
}

fn same_date(a: Timestamp, date: &str) -> bool {
    a.to_rfc3339_seconds().get(..10) == Some(date)
}

pub(super) fn renew(cx: &mut Cx, name: &DomainName, spec: &RenewDomain) -> Result<Outcome> {
    let before = load(cx, name)?;
    cx.sponsor_only(&before.registrar, format!("domain {name}"))?;
    let s = before.statuses;
    if s.contains(DomainStatus::PendingDelete) || before.rgp.is_some() {
        return Err(RegistryError::NotRenewable(format!("{name} is being deleted")));
    }
    if s.contains(DomainStatus::ServerRenewProhibited) || (!cx.is_registry() && s.contains(DomainStatus::ClientRenewProhibited)) {
        return Err(RegistryError::StatusProhibits(format!("{name} is renew-prohibited")));
    }
    if !same_date(before.expires, &spec.current_expiry_date) {
        return Err(RegistryError::Policy(format!("the current expiry date of {name} is {}", &before.expires.to_rfc3339_seconds()[..10])));
    }
    let (tld, phase) = cx.tld_in_force(&before.tld)?;
    if !valid_period(spec.years, &tld.registration) {
        return Err(RegistryError::Range(format!("the renewal period must be 1 to {} years", tld.registration.years_max)));
    }
    let expires = before.expires.plus_years(spec.years as i32);
    if expires > expiry_horizon(cx.now, &tld.registration) {
        return Err(RegistryError::Range(format!("{name} would expire more than {} years from now", tld.registration.years_max)));
    }
    let price =
        cx.price(&tld, phase.as_ref(), name, "renew", spec.years, Some(before.expires), spec.fee.as_ref(), None, &before.registrar)?;
    let fee = price.total();
    cx.check_funds(&before.registrar, &price.currency, fee)?;

    let mut after = before.clone();
    after.expires = expires;
    let mut reported_at = cx.now;
    if !cx.is_registry() {
        let ends = cx.now.plus_seconds(tld.registration.renew_grace_s);
        let amount = price.refundable();
        let currency = price.currency.clone();
        after.grace.push(Grace { kind: GraceKind::Renew, ends, registrar: before.registrar.clone(), amount, currency, years: spec.years });
        cx.schedule(ends, Due::GraceEnd, name.as_str())?;
        reported_at = ends;
    }
    cx.report(&after, reported_at, &before.registrar, TransactionField::net_renews(spec.years), 1)?;
    after.updated = Some(cx.now);
    cx.tables.put_domain(&after)?;
    cx.schedule(expires, Due::Expiry, name.as_str())?;
    let balance = charge(cx, &before.registrar, &price.currency, fee, "domain renew", name)?;
    Ok(Outcome::Domain(Box::new(DomainOutcome { domain: after, fee, credit: Money(0), balance, currency: price.currency })))
}

pub(super) fn transfer(cx: &mut Cx, name: &DomainName, op: &TransferOp) -> Result<Outcome> {
    let domain = load(cx, name)?;
    match op {
        TransferOp::Request { years, auth_info, fee } => request_transfer(cx, domain, *years, auth_info, fee.as_ref()),
        TransferOp::Approve | TransferOp::Reject | TransferOp::Cancel => {
            let status = cx.transfer_decision(domain.transfer.as_ref(), op, name.as_str())?;
            if status == TransferStatus::ClientApproved { complete_transfer(cx, domain, status) } else { end_transfer(cx, domain, status) }
        }
    }
}

fn request_transfer(cx: &mut Cx, domain: Domain, years: u32, auth_info: &str, agreed: Option<&FeeAgreement>) -> Result<Outcome> {
    let name = domain.name.clone();
    let Some(gaining) = cx.actor.registrar().cloned() else {
        return Err(RegistryError::Authorization("transfers are requested by the gaining registrar".into()));
    };
    cx.active_registrar(&gaining)?;
    if gaining == domain.registrar {
        return Err(RegistryError::NotTransferable(format!("{name} is already sponsored by {gaining}")));
    }
    if domain.statuses.contains(DomainStatus::PendingTransfer) {
        return Err(RegistryError::TransferPending(name.to_string()));
    }
    let s = domain.statuses;
    if s.contains(DomainStatus::ClientTransferProhibited)
        || s.contains(DomainStatus::ServerTransferProhibited)
        || s.contains(DomainStatus::PendingDelete)
    {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {name} prohibit a transfer")));
    }
    if !domain.auth_info_hash.as_deref().is_some_and(|h| verify_auth_info(auth_info, h)) {
        return Err(RegistryError::AuthInfo);
    }
    let (tld, phase) = cx.tld_in_force(&domain.tld)?;
    let lock_s = tld.registration.transfer_lock_days as i64 * 86_400;
    let last_change = domain.transferred.unwrap_or(domain.created).max(domain.created);
    if lock_s > 0 && cx.now < last_change.plus_seconds(lock_s) {
        return Err(RegistryError::NotTransferable(format!(
            "{name} was registered or transferred less than {} days ago",
            tld.registration.transfer_lock_days
        )));
    }
    if !valid_period(years, &tld.registration) {
        return Err(RegistryError::Range(format!("the transfer period must be 1 to {} years", tld.registration.years_max)));
    }
    let new_expires = transfer_expiry(&domain, years, cx.now);
    if new_expires > expiry_horizon(cx.now, &tld.registration) {
        return Err(RegistryError::Range(format!("{name} would expire more than {} years from now", tld.registration.years_max)));
    }
    let price = cx.price(&tld, phase.as_ref(), &name, "transfer", years, None, agreed, None, &gaining)?;
    let fee = price.total();
    cx.check_funds(&gaining, &price.currency, fee)?;

    let acted = cx.now.plus_seconds(tld.registration.transfer_pending_s);
    let transfer = Transfer {
        status: TransferStatus::Pending,
        gaining: gaining.clone(),
        requested: cx.now,
        losing: domain.registrar.clone(),
        acted,
        years,
        new_expires: Some(new_expires),
        fee,
        currency: Some(price.currency.clone()).filter(|_| fee.0 != 0),
    };
    let mut after = domain.clone();
    after.statuses.insert(DomainStatus::PendingTransfer);
    after.transfer = Some(transfer.clone());
    cx.tables.put_domain(&after)?;
    cx.schedule(acted, Due::TransferApproval, name.as_str())?;
    charge(cx, &gaining, &price.currency, fee, "domain transfer", &name)?;
    let payload = PollPayload::DomainTransfer { name: name.clone(), transfer: transfer.clone() };
    cx.notify(&domain.registrar, format!("Transfer of {name} requested by {gaining}"), payload)?;
    Ok(Outcome::Transfer { name, transfer, pending: true })
}

/// The expiry a transfer of `years` gives now; a transfer during the
/// auto-renew grace period replaces the auto-renewal instead of adding to it.
fn transfer_expiry(domain: &Domain, years: u32, now: Timestamp) -> Timestamp {
    let auto_renewed: u32 = current_grace(&domain.grace, now).filter(|g| g.kind == GraceKind::AutoRenew).map(|g| g.years).sum();
    domain.expires.plus_years(years as i32 - auto_renewed as i32)
}

/// Completes a pending transfer (client or server approved).
pub(super) fn complete_transfer(cx: &mut Cx, domain: Domain, status: TransferStatus) -> Result<Outcome> {
    let name = domain.name.clone();
    let tld = cx.tld(&domain.tld)?;
    let mut transfer = domain.transfer.clone().expect("a pending transfer");
    let mut after = domain.clone();
    // The auto-renewal the losing registrar paid for is cancelled and credited back.
    let now = cx.now;
    for g in current_grace(&domain.grace, now).filter(|g| g.kind == GraceKind::AutoRenew) {
        cx.adjust_balance(&g.registrar, &g.currency, g.amount, "auto-renew cancelled by a transfer", Some(&domain.name))?;
        cx.report(&domain, g.ends, &g.registrar, TransactionField::net_renews(g.years), -1)?;
    }
    cx.report(&domain, now, &transfer.gaining, TransactionField::TransferGainingSuccessful, 1)?;
    cx.report(&domain, now, &transfer.losing, TransactionField::TransferLosingSuccessful, 1)?;
    after.expires = transfer_expiry(&domain, transfer.years, cx.now);
    // The losing registrar's add and renew grace periods end without credit
    // (the years it bought stay on the domain); only the transfer's own begins.
    after.grace.clear();
    let ends = cx.now.plus_seconds(tld.registration.transfer_grace_s);
    after.grace.push(Grace {
        kind: GraceKind::Transfer,
        ends,
        registrar: transfer.gaining.clone(),
        amount: transfer.fee,
        currency: transfer.currency.clone().unwrap_or_else(|| tld.registration.currency.clone()),
        years: transfer.years,
    });
    after.statuses.remove(DomainStatus::PendingTransfer);
    after.registrar = transfer.gaining.clone();
    after.transferred = Some(cx.now);
    // RFC 9154: the code that moved the domain is spent.
    after.auth_info_hash = None;
    transfer.status = status;
    transfer.acted = cx.now;
    transfer.new_expires = Some(after.expires);
    after.transfer = Some(transfer.clone());
    cx.tables.put_domain(&after)?;
    for mut host in cx.tables.hosts_at_or_below(&name, usize::MAX)? {
        host.registrar = transfer.gaining.clone();
        host.transferred = Some(cx.now);
        cx.tables.put_host(&host)?;
    }
    cx.schedule(after.expires, Due::Expiry, name.as_str())?;
    cx.schedule(ends, Due::GraceEnd, name.as_str())?;
    let payload = PollPayload::DomainTransfer { name: name.clone(), transfer: transfer.clone() };
    cx.notify(&transfer.gaining, format!("Transfer of {name} {}", status.as_str()), payload.clone())?;
    if status == TransferStatus::ServerApproved {
        cx.notify(&transfer.losing, format!("Transfer of {name} {}", status.as_str()), payload)?;
    }
    Ok(Outcome::Transfer { name, transfer, pending: false })
}

/// Ends a pending transfer without moving the domain; the fee goes back.
fn end_transfer(cx: &mut Cx, domain: Domain, status: TransferStatus) -> Result<Outcome> {
    let name = domain.name.clone();
    let mut transfer = domain.transfer.clone().expect("a pending transfer");
    let mut after = domain;
    if let Some(currency) = &transfer.currency {
        cx.adjust_balance(&transfer.gaining, currency, transfer.fee, "domain transfer not completed", Some(&name))?;
    }
    if status == TransferStatus::ClientRejected {
        cx.report(&after, cx.now, &transfer.gaining, TransactionField::TransferGainingNacked, 1)?;
        cx.report(&after, cx.now, &transfer.losing, TransactionField::TransferLosingNacked, 1)?;
    }
    transfer.status = status;
    transfer.acted = cx.now;
    transfer.new_expires = None;
    after.statuses.remove(DomainStatus::PendingTransfer);
    after.transfer = Some(transfer.clone());
    cx.tables.put_domain(&after)?;
    let payload = PollPayload::DomainTransfer { name: name.clone(), transfer: transfer.clone() };
    let notified = if status == TransferStatus::ClientCancelled { &transfer.losing } else { &transfer.gaining };
    cx.notify(&notified.clone(), format!("Transfer of {name} {}", status.as_str()), payload)?;
    Ok(Outcome::Transfer { name, transfer, pending: false })
}

/// Keeps host and contact link counts, the host→domain index, and the glue
/// rows that depend on them in step with a domain going from `before` to `after`.
pub(super) fn relink(cx: &mut Cx, before: Option<&Domain>, after: Option<&Domain>) -> Result<()> {
    let domain = after.or(before).expect("relink needs a domain");
    let state = |d: Option<&Domain>| d.map(|d| (d.nameservers.clone(), d.is_published())).unwrap_or_default();
    let (old_ns, old_pub) = state(before);
    let (new_ns, new_pub) = state(after);
    let all: BTreeSet<&Roid> = old_ns.iter().chain(&new_ns).collect();
    for roid in all {
        let (in_old, in_new) = (old_ns.contains(roid), new_ns.contains(roid));
        let (pub_old, pub_new) = (in_old && old_pub, in_new && new_pub);
        if in_old == in_new && pub_old == pub_new {
            continue;
        }
        let Some(mut host) = cx.tables.host(roid)? else { continue };
        host.link_count = (host.link_count + in_new as u32).saturating_sub(in_old as u32);
        // Only delegations in the host's own zone count towards its glue.
        if host.name.is_below(&domain.tld) {
            host.published_link_count = (host.published_link_count + pub_new as u32).saturating_sub(pub_old as u32);
            cx.touch(&domain.tld, &host.name);
        }
        match (in_old, in_new) {
            (false, true) => cx.tables.link_host(roid, &domain.name)?,
            (true, false) => cx.tables.unlink_host(roid, &domain.name)?,
            _ => {}
        }
        cx.tables.put_host(&host)?;
    }

    let contacts = |d: Option<&Domain>| -> BTreeSet<ContactId> {
        d.map(|d| d.registrant.iter().cloned().chain(d.contacts.iter().map(|c| c.id.clone())).collect()).unwrap_or_default()
    };
    let (old_c, new_c) = (contacts(before), contacts(after));
    for id in old_c.symmetric_difference(&new_c) {
        let Some(mut contact) = cx.tables.contact(id)? else { continue };
        if new_c.contains(id) {
            contact.link_count += 1;
        } else {
            contact.link_count = contact.link_count.saturating_sub(1);
        }
        cx.tables.put_contact(&contact)?;
    }
    Ok(())
}
