//! Loading a registry deposit (RFC 9022 FULL, `escrow::import` read it):
//! the migration path from another registry, and the way back from our own
//! escrow. Everything is checked before anything is written — names and
//! ROIDs free, every reference (sponsors, contacts, name servers,
//! superordinate domains) resolvable in the deposit or the store, the limits
//! every later update enforces — and then written in one transaction with
//! the ROIDs, dates and statuses the deposit gives. What RFC 9022 leaves
//! out is worked out here: link counts and superordinate domains from the
//! objects, the end of each grace period and RGP phase from the dates the
//! deposit has and the TLD's policy (RFC 3915 periods), their lifecycle
//! deadlines, and the zone rows. Registrars already here keep their
//! credentials; imported ones have none until the operator sets them.

use std::collections::{HashMap, HashSet};

use super::context::{Cx, Due, Result};
use super::import_data::{DepositImport, DepositImportSummary, RgpState};
use super::zone_rows;
use super::{ObjectKind, RegistryError};
use crate::model::ledger::Accreditation;
use crate::model::lifecycle::{Grace, GraceKind, Rgp, RgpPhase, TransferStatus};
use crate::model::objects::Domain;
use crate::model::{ClientId, ContactId, DOMAIN_NAMESERVERS_MAX, DomainName, HOST_ADDRS_MAX, HostName, Roid, Timestamp, Tld};

const PROGRESS_EVERY: usize = 10_000;
/// Problems listed in the refusal; the rest are counted.
const PROBLEMS_LISTED: usize = 20;

pub(super) fn run(cx: &mut Cx, import: &DepositImport) -> Result<super::Outcome> {
    let (tld, tld_created) = tld(cx, import)?;
    let plan = check(cx, import, &tld)?;
    raise_sequences(cx, import)?;

    let mut summary = DepositImportSummary {
        tld: tld.name.clone(),
        tld_created,
        registrars: 0,
        registrars_kept: plan.stored_registrars.len(),
        contacts: 0,
        contacts_kept: plan.contacts_kept.len(),
        hosts: 0,
        hosts_kept: plan.hosts_kept.len(),
        domains: import.domains.len(),
        reserved: import.reserved.len(),
    };
    for reserved in &import.reserved {
        cx.tables.put_reserved(reserved)?;
    }
    for r in import.registrars.iter().filter(|r| !plan.stored_registrars.contains(&r.id)) {
        cx.tables.put_registrar(r)?;
        summary.registrars += 1;
    }
    // The deposit's registrars were acting on its TLD.
    for r in import.registrars.iter().filter(|r| r.status != crate::model::RegistrarStatus::Terminated) {
        cx.tables.accredit(&tld.name, &r.id, &Accreditation { since: cx.now, currency: None })?;
    }

    let mut contact_links: HashMap<&ContactId, u32> = HashMap::new();
    for d in &import.domains {
        for id in d.domain.registrant.iter().chain(d.domain.contacts.iter().map(|c| &c.id)) {
            *contact_links.entry(id).or_default() += 1;
        }
    }
    for c in &import.contacts {
        let kept = plan.contacts_kept.contains(&c.id);
        // Kept contacts gain the links of this TLD's domains.
        let mut contact = match kept {
            true => cx.tables.contact(&c.id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, &c.id))?,
            false => c.clone(),
        };
        contact.link_count += contact_links.remove(&c.id).unwrap_or(0);
        cx.tables.put_contact(&contact)?;
        if !kept {
            summary.contacts += 1;
            if let Some(t) = contact.transfer.as_ref().filter(|t| t.status == TransferStatus::Pending) {
                cx.schedule(t.acted, Due::ContactTransferApproval, contact.id.as_str())?;
            }
        }
    }
    // Contacts already here that this TLD's domains name.
    for (id, links) in contact_links {
        if let Some(mut contact) = cx.tables.contact(id)? {
            contact.link_count += links;
            cx.tables.put_contact(&contact)?;
        }
    }

    // Domains before hosts: a host's link counts follow from the domains.
    let mut host_links: HashMap<Roid, (u32, u32)> = HashMap::new();
    let total = import.domains.len();
    for (i, d) in import.domains.iter().enumerate() {
        let domain = domain(&tld, import.watermark, d, &plan.host_roids);
        cx.tables.put_domain(&domain)?;
        let published = domain.is_published();
        for (roid, ns) in domain.nameservers.iter().zip(&d.nameservers) {
            cx.tables.link_host(roid, &domain.name)?;
            let links = host_links.entry(roid.clone()).or_default();
            links.0 += 1;
            // Only delegations in the host's own zone count towards its glue.
            links.1 += (published && ns.is_below(&tld.name)) as u32;
        }
        schedule(cx, &domain)?;
        if let Some(progress) = &import.progress
            && ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == total)
        {
            progress(i + 1, total);
        }
    }
    let mut glue_owners = Vec::new();
    for h in &import.hosts {
        let mut host = match plan.hosts_kept.contains(&h.name) {
            true => cx.tables.host_by_name(&h.name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, &h.name))?,
            false => {
                summary.hosts += 1;
                let mut host = h.clone();
                host.superordinate = plan.superordinates.get(&h.name).cloned();
                host
            }
        };
        let (links, published) = host_links.remove(&host.roid).unwrap_or_default();
        host.link_count += links;
        host.published_link_count += published;
        if host.name.is_below(&tld.name) {
            glue_owners.push(host.name.clone());
        }
        cx.tables.put_host(&host)?;
    }
    // Name servers already here that this TLD's domains now use.
    for (roid, (links, published)) in host_links {
        if let Some(mut host) = cx.tables.host(&roid)? {
            host.link_count += links;
            host.published_link_count += published;
            if host.name.is_below(&tld.name) {
                glue_owners.push(host.name.clone());
            }
            cx.tables.put_host(&host)?;
        }
    }

    // A diff the size of the zone is useless for IXFR: only a reset is recorded.
    let (t, changes) = cx.tables_and_zones();
    changes.begin(&tld).reset();
    for owner in import.domains.iter().map(|d| &d.domain.name).chain(&glue_owners) {
        zone_rows::refresh(t, changes, &tld, owner)?;
    }
    Ok(super::Outcome::DepositImported(summary))
}

/// The TLD the deposit is of: the stored one, or one created with the
/// import's apex name servers and the default policy.
fn tld(cx: &mut Cx, import: &DepositImport) -> Result<(Tld, bool)> {
    if let Some(tld) = cx.tables.tld(&import.tld)? {
        return Ok((tld, false));
    }
    if import.nameservers.is_empty() {
        return Err(RegistryError::Missing(format!(
            "TLD {} does not exist: create it first, or give its apex name servers to create it with the default policy",
            import.tld
        )));
    }
    let spec =
        super::command::TldSpec { name: Some(import.tld.clone()), nameservers: Some(import.nameservers.clone()), ..Default::default() };
    super::account::create_tld(cx, &spec)?;
    Ok((cx.tld(&import.tld)?, true))
}

/// What the checks found out, for the writing.
struct Plan {
    stored_registrars: HashSet<ClientId>,
    contacts_kept: HashSet<ContactId>,
    hosts_kept: HashSet<HostName>,
    /// Every name server a domain of the deposit names, by name.
    host_roids: HashMap<HostName, Roid>,
    superordinates: HashMap<HostName, DomainName>,
}

/// Every check, before anything is written; all problems are listed at once.
fn check(cx: &Cx, import: &DepositImport, tld: &Tld) -> Result<Plan> {
    // The first few are listed; the rest only counted.
    let (mut problems, mut more) = (Vec::new(), 0usize);
    let mut problem = |p: String| {
        if problems.len() < PROBLEMS_LISTED { problems.push(p) } else { more += 1 }
    };
    let t = &*cx.tables;

    let mut registrars: HashSet<ClientId> = HashSet::new();
    let mut stored_registrars = HashSet::new();
    for r in &import.registrars {
        if !registrars.insert(r.id.clone()) {
            problem(format!("registrar {}: listed twice", r.id));
        }
        if t.registrar(&r.id)?.is_some() {
            stored_registrars.insert(r.id.clone());
        }
    }
    let known_registrar = |id: &ClientId| -> Result<bool> { Ok(registrars.contains(id) || t.registrar(id)?.is_some()) };

    let mut contacts: HashSet<&ContactId> = HashSet::new();
    let mut contacts_kept = HashSet::new();
    let mut roids: HashSet<&Roid> = HashSet::new();
    for c in &import.contacts {
        if !contacts.insert(&c.id) {
            problem(format!("contact {}: listed twice", c.id));
        }
        if !roids.insert(&c.roid) {
            problem(format!("contact {}: ROID {} is not unique", c.id, c.roid));
        }
        match t.contact(&c.id)? {
            Some(stored) if stored.roid == c.roid => {
                contacts_kept.insert(c.id.clone());
            }
            Some(_) => problem(format!("contact {}: a different contact with this id exists", c.id)),
            None => {}
        }
        for (role, id) in [("sponsor", Some(&c.registrar)), ("creator", Some(&c.cr_registrar)), ("updater", c.up_registrar.as_ref())] {
            if let Some(id) = id
                && !known_registrar(id)?
            {
                problem(format!("contact {}: its {role} {id} is neither in the deposit nor here", c.id));
            }
        }
    }

    let domains: HashMap<&DomainName, &Domain> = import.domains.iter().map(|d| (&d.domain.name, &d.domain)).collect();
    let mut host_roids: HashMap<HostName, Roid> = HashMap::new();
    let mut hosts_kept = HashSet::new();
    let mut superordinates = HashMap::new();
    for h in &import.hosts {
        if host_roids.insert(h.name.clone(), h.roid.clone()).is_some() {
            problem(format!("host {}: listed twice", h.name));
        }
        if !roids.insert(&h.roid) {
            problem(format!("host {}: ROID {} is not unique", h.name, h.roid));
        }
        if h.addrs.len() > HOST_ADDRS_MAX {
            problem(format!("host {}: more than {HOST_ADDRS_MAX} addresses", h.name));
        }
        match t.host_by_name(&h.name)? {
            Some(stored) if stored.roid == h.roid => {
                hosts_kept.insert(h.name.clone());
                continue;
            }
            Some(_) => problem(format!("host {}: a different host with this name exists", h.name)),
            None if t.host(&h.roid)?.is_some() => problem(format!("host {}: its ROID {} is taken", h.name, h.roid)),
            None => {}
        }
        if !known_registrar(&h.registrar)? {
            problem(format!("host {}: its sponsor {} is neither in the deposit nor here", h.name, h.registrar));
        }
        // A host below a served TLD belongs to the domain it is below.
        let served = if h.name.is_below(&tld.name) { Some(tld.clone()) } else { cx.tld_of(&h.name)? };
        if let Some(zone) = served.filter(|z| z.name != h.name) {
            let Some(parent) = h.name.child_of(&zone.name) else { continue };
            let present = domains.contains_key(&parent) || t.domain(&parent)?.is_some();
            if !present {
                problem(format!("host {}: it is below .{}, and its domain {parent} is neither in the deposit nor here", h.name, zone.name));
            }
            superordinates.insert(h.name.clone(), parent);
        }
    }

    for d in &import.domains {
        let domain = &d.domain;
        let name = &domain.name;
        if domain.tld != tld.name {
            problem(format!("domain {name}: not below .{}", tld.name));
        }
        if !roids.insert(&domain.roid) {
            problem(format!("domain {name}: ROID {} is not unique", domain.roid));
        }
        if t.domain(name)?.is_some() {
            problem(format!("domain {name}: exists here already"));
        }
        if d.nameservers.len() > DOMAIN_NAMESERVERS_MAX {
            problem(format!("domain {name}: more than {DOMAIN_NAMESERVERS_MAX} name servers"));
        }
        if let Err(e) = super::domain::check_ds(&domain.ds) {
            problem(format!("domain {name}: {e}"));
        }
        for ns in &d.nameservers {
            if host_roids.contains_key(ns) {
                continue;
            }
            match t.host_by_name(ns)? {
                Some(stored) => {
                    host_roids.insert(ns.clone(), stored.roid);
                }
                None => problem(format!("domain {name}: its name server {ns} is neither in the deposit nor here")),
            }
        }
        for id in domain.registrant.iter().chain(domain.contacts.iter().map(|c| &c.id)) {
            if !contacts.contains(id) && t.contact(id)?.is_none() {
                problem(format!("domain {name}: its contact {id} is neither in the deposit nor here"));
            }
        }
        let transfer = domain.transfer.iter().flat_map(|t| [&t.gaining, &t.losing]);
        for id in [&domain.registrar, &domain.cr_registrar].into_iter().chain(&domain.up_registrar).chain(transfer) {
            if !known_registrar(id)? {
                problem(format!("domain {name}: registrar {id} is neither in the deposit nor here"));
            }
        }
    }
    let mut reserved = HashSet::new();
    for r in &import.reserved {
        if !r.name.is_directly_below(&tld.name) {
            problem(format!("NNDN {}: not directly below .{}", r.name, tld.name));
        }
        if !reserved.insert(&r.name) {
            problem(format!("NNDN {}: listed twice", r.name));
        }
        if domains.contains_key(&r.name) || t.domain(&r.name)?.is_some() {
            problem(format!("NNDN {}: registered as a domain too", r.name));
        }
        if t.reserved(&r.name)?.is_some() {
            problem(format!("NNDN {}: reserved here already", r.name));
        }
    }
    if problems.is_empty() {
        return Ok(Plan { stored_registrars, contacts_kept, hosts_kept, host_roids, superordinates });
    }
    let mut text = problems.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Err(RegistryError::Invalid(format!("the deposit cannot be imported, nothing was: {text}")))
}

/// New ROIDs must not repeat imported ones: each object counter goes past
/// the highest number the deposit holds under this registry's suffix.
fn raise_sequences(cx: &mut Cx, import: &DepositImport) -> Result<()> {
    let suffix = format!("-{}", cx.settings.roid_suffix.as_str());
    let number = |roid: &Roid, kind: char| -> Option<u64> { roid.as_str().strip_suffix(&suffix)?.strip_prefix(kind)?.parse().ok() };
    let highest = [
        ('D', import.domains.iter().filter_map(|d| number(&d.domain.roid, 'D')).max()),
        ('H', import.hosts.iter().filter_map(|h| number(&h.roid, 'H')).max()),
        ('C', import.contacts.iter().filter_map(|c| number(&c.roid, 'C')).max()),
    ];
    for (kind, highest) in highest {
        let Some(highest) = highest else { continue };
        let next = cx.tables.reserve_sequence(&kind.to_string(), 0)?;
        if highest >= next {
            cx.tables.reserve_sequence(&kind.to_string(), highest + 1 - next)?;
        }
    }
    Ok(())
}

/// The domain as stored: its name servers by ROID, and the grace periods
/// and RGP phase its `rgpStatus` values show, ending where the TLD's policy
/// says counting from the dates the deposit has (RFC 9022 carries neither
/// the end nor the amount; an amount is the TLD's price for one year now).
fn domain(tld: &Tld, watermark: Timestamp, d: &super::import_data::DepositDomain, roids: &HashMap<HostName, Roid>) -> Domain {
    let mut domain = d.domain.clone();
    domain.nameservers = d.nameservers.iter().map(|ns| roids[ns].clone()).collect();
    let p = &tld.registration;
    let updated = domain.updated.unwrap_or(watermark);
    let price = |command: &str| p.price(command, 1, Some(domain.expires), watermark, None).map_or(crate::model::Money(0), |p| p.amount);
    for state in &d.rgp {
        let (kind, ends, command) = match state {
            RgpState::AddPeriod => (GraceKind::Add, domain.created.plus_seconds(p.add_grace_s), "create"),
            RgpState::RenewPeriod => (GraceKind::Renew, updated.plus_seconds(p.renew_grace_s), "renew"),
            RgpState::AutoRenewPeriod => (GraceKind::AutoRenew, domain.expires.plus_years(-1).plus_seconds(p.auto_renew_grace_s), "renew"),
            RgpState::TransferPeriod => {
                (GraceKind::Transfer, domain.transferred.unwrap_or(updated).plus_seconds(p.transfer_grace_s), "transfer")
            }
            _ => continue,
        };
        // The deposit says the period is running: it ends after the watermark.
        let ends = ends.max(watermark.plus_seconds(1));
        let currency = p.currency.clone();
        domain.grace.push(Grace { kind, ends, registrar: domain.registrar.clone(), amount: price(command), currency, years: 1 });
    }
    domain.rgp = rgp_of(tld, updated, &d.rgp).map(|mut rgp| {
        rgp.ends = rgp.ends.max(watermark.plus_seconds(1));
        rgp
    });
    domain
}

/// The RGP phase of a domain deleted at `deleted` (its last update).
fn rgp_of(tld: &Tld, deleted: Timestamp, states: &[RgpState]) -> Option<Rgp> {
    let p = &tld.registration;
    let redemption_ends = deleted.plus_seconds(p.redemption_s);
    states.iter().find_map(|s| match s {
        RgpState::RedemptionPeriod => Some(Rgp { phase: RgpPhase::Redemption, ends: redemption_ends }),
        RgpState::PendingRestore => {
            Some(Rgp { phase: RgpPhase::PendingRestore { redemption_ends }, ends: deleted.plus_seconds(p.pending_restore_s) })
        }
        RgpState::PendingDelete => Some(Rgp { phase: RgpPhase::PendingDelete, ends: redemption_ends.plus_seconds(p.pending_delete_s) }),
        _ => None,
    })
}

/// The lifecycle deadlines of an imported domain.
fn schedule(cx: &mut Cx, domain: &Domain) -> Result<()> {
    let name = domain.name.as_str();
    cx.schedule(domain.expires, Due::Expiry, name)?;
    for g in &domain.grace {
        cx.schedule(g.ends, Due::GraceEnd, name)?;
    }
    if let Some(rgp) = &domain.rgp {
        cx.schedule(rgp.ends, Due::RgpEnd, name)?;
    }
    if let Some(t) = domain.transfer.as_ref().filter(|t| t.status == TransferStatus::Pending) {
        cx.schedule(t.acted, Due::TransferApproval, name)?;
    }
    Ok(())
}
