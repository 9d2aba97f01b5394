//! Executing one command inside the batch's write transaction. Each handler
//! reads what it needs, checks every rule, and only then writes; a refused
//! command leaves nothing behind. Writes end with the zone rows of the owner
//! names the command may have changed being re-derived.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::command::*;
use super::zone::{self, ZoneChanges};
use super::{ObjectKind, RegistryError, WriterSettings};
use crate::model::net::check_host_addr;
use crate::model::{
    ClientId, Contact, ContactStatusSet, DOMAIN_DS_MAX, DOMAIN_NAMESERVERS_MAX, Domain, DomainName, DomainStatus, DomainStatusSet,
    HOST_ADDRS_MAX, Host, HostName, HostStatus, HostStatusSet, Registrar, RegistrarStatus, Roid, Timestamp, Tld, TldPolicy,
};
use crate::store::{StoreError, WriteTables};

type Result<T> = std::result::Result<T, RegistryError>;

/// One command's view of the batch.
pub(super) struct Cx<'a, 't> {
    pub t: &'a mut WriteTables<'t>,
    pub zones: &'a mut ZoneChanges,
    pub now: Timestamp,
    pub settings: &'a WriterSettings,
    /// Owner names (with their TLD) whose zone rows must be re-derived.
    touched: BTreeSet<(DomainName, DomainName)>,
}

impl<'a, 't> Cx<'a, 't> {
    pub fn new(t: &'a mut WriteTables<'t>, zones: &'a mut ZoneChanges, now: Timestamp, settings: &'a WriterSettings) -> Self {
        Cx { t, zones, now, settings, touched: BTreeSet::new() }
    }

    fn touch(&mut self, tld: &DomainName, owner: &DomainName) {
        if owner.is_at_or_below(tld) {
            self.touched.insert((tld.clone(), owner.clone()));
        }
    }

    /// Touches `owner` in whichever served zone it lies in.
    fn touch_anywhere(&mut self, owner: &DomainName) -> Result<()> {
        if let Some(tld) = self.tld_of(owner)? {
            self.touch(&tld.name, owner);
        }
        Ok(())
    }

    fn tld_of(&self, name: &DomainName) -> Result<Option<Tld>> {
        Ok(self.t.tlds()?.into_iter().filter(|t| name.is_at_or_below(&t.name)).max_by_key(|t| t.name.label_count()))
    }

    /// Re-derives every touched row.
    fn flush(&mut self) -> std::result::Result<(), StoreError> {
        let touched = std::mem::take(&mut self.touched);
        let mut current: Option<Tld> = None;
        for (tld_name, owner) in touched {
            if current.as_ref().map(|t| &t.name) != Some(&tld_name) {
                current = self.t.tld(&tld_name)?;
            }
            if let Some(tld) = &current {
                zone::refresh(self.t, self.zones, tld, &owner)?;
            }
        }
        Ok(())
    }

    fn next_roid(&mut self, kind: char) -> Result<Roid> {
        let n = self.t.next_sequence(&kind.to_string())?;
        Ok(Roid::new(kind, n, &self.settings.roid_suffix))
    }

    fn registrar_for_new_objects(&self, id: &ClientId) -> Result<Registrar> {
        let registrar = self.t.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
        if registrar.status != RegistrarStatus::Ok {
            return Err(RegistryError::Policy(format!("registrar {id} is not active ({:?})", registrar.status)));
        }
        Ok(registrar)
    }
}

pub(super) fn apply(cx: &mut Cx<'_, '_>, command: &Command) -> Result<Outcome> {
    let outcome = match command {
        Command::CreateTld(spec) => create_tld(cx, spec)?,
        Command::UpdateTld(name, spec) => update_tld(cx, name, spec)?,
        Command::CreateRegistrar(spec) => create_registrar(cx, spec)?,
        Command::UpdateRegistrar(id, spec) => update_registrar(cx, id, spec)?,
        Command::CreateContact(spec) => create_contact(cx, spec)?,
        Command::DeleteContact(id) => delete_contact(cx, id)?,
        Command::CreateDomain(spec) => create_domain(cx, spec)?,
        Command::UpdateDomain(name, spec) => update_domain(cx, name, spec)?,
        Command::DeleteDomain(name) => delete_domain(cx, name)?,
        Command::CreateHost(spec) => create_host(cx, spec)?,
        Command::UpdateHost(name, spec) => update_host(cx, name, spec)?,
        Command::DeleteHost(name) => delete_host(cx, name)?,
        Command::Import(import) => super::import::run(cx.t, cx.zones, cx.now, cx.settings, import)?,
    };
    cx.flush()?;
    Ok(outcome)
}

// ---------------------------------------------------------------- TLDs

fn apply_tld_spec(policy: &mut TldPolicy, spec: &TldSpec) {
    let soa = &mut policy.soa;
    let set = |target: &mut u32, value: Option<u32>| {
        if let Some(v) = value {
            *target = v;
        }
    };
    if let Some(m) = &spec.soa_mname {
        soa.mname = m.clone();
    }
    if let Some(r) = &spec.soa_rname {
        soa.rname = r.clone();
    }
    set(&mut soa.refresh_s, spec.soa_refresh_s);
    set(&mut soa.retry_s, spec.soa_retry_s);
    set(&mut soa.expire_s, spec.soa_expire_s);
    set(&mut soa.minimum_s, spec.soa_minimum_s);
    set(&mut soa.ttl_s, spec.soa_ttl_s);
    set(&mut policy.apex_ns_ttl_s, spec.apex_ns_ttl_s);
    set(&mut policy.delegation_ttl_s, spec.delegation_ttl_s);
    set(&mut policy.ds_ttl_s, spec.ds_ttl_s);
    set(&mut policy.glue_ttl_s, spec.glue_ttl_s);
    if let Some(g) = spec.glue_policy {
        policy.glue_policy = g;
    }
    if let Some(ns) = &spec.nameservers {
        policy.nameservers = ns.clone();
    }
}

fn create_tld(cx: &mut Cx, spec: &TldSpec) -> Result<Outcome> {
    let name = spec.name.clone().ok_or_else(|| RegistryError::Invalid("a TLD needs a name".into()))?;
    let nameservers = spec.nameservers.clone().ok_or_else(|| RegistryError::Invalid("a TLD needs nameservers".into()))?;
    if cx.t.tld(&name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Tld, &name));
    }
    for other in cx.t.tlds()? {
        if name.is_at_or_below(&other.name) || other.name.is_below(&name) {
            return Err(RegistryError::Policy(format!("TLD {name} would overlap the zone of TLD {}", other.name)));
        }
    }
    // Hosts created as external would suddenly be in-zone without a superordinate domain.
    if let Some(host) = cx.t.hosts_at_or_below(&name, 1)?.first() {
        return Err(RegistryError::Association(format!("host {} already exists under {name}; delete it first", host.name)));
    }
    let mut policy = TldPolicy::with_defaults(&name, nameservers);
    apply_tld_spec(&mut policy, spec);
    policy.validate()?;
    let tld = Tld { name: name.clone(), policy, serial: 0, created: cx.now, updated: cx.now };
    cx.t.put_tld(&tld)?;
    cx.zones.created(&name);
    cx.touch(&name, &name);
    for ns in &tld.policy.nameservers {
        cx.touch(&name, ns);
    }
    Ok(Outcome::Tld(tld))
}

fn update_tld(cx: &mut Cx, name: &DomainName, spec: &TldSpec) -> Result<Outcome> {
    if spec.name.as_ref().is_some_and(|n| n != name) {
        return Err(RegistryError::Invalid("a TLD cannot be renamed".into()));
    }
    let before = cx.t.tld(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Tld, name))?;
    let mut tld = before.clone();
    apply_tld_spec(&mut tld.policy, spec);
    tld.policy.validate()?;
    tld.updated = cx.now;
    let (old, new) = (&before.policy, &tld.policy);
    // TTLs and the glue rule shape every row; a change re-derives the whole zone.
    let every_row = old.delegation_ttl_s != new.delegation_ttl_s
        || old.ds_ttl_s != new.ds_ttl_s
        || old.glue_ttl_s != new.glue_ttl_s
        || old.glue_policy != new.glue_policy;
    cx.zones.begin(&before).soa_changed();
    cx.t.put_tld(&tld)?;
    cx.touch(name, name);
    for ns in old.nameservers.iter().chain(&new.nameservers) {
        cx.touch(name, ns);
    }
    if every_row {
        for owner in cx.t.owner_names(name)? {
            cx.touch(name, &owner);
        }
    }
    Ok(Outcome::Tld(tld))
}

// ---------------------------------------------------------------- registrars

fn apply_registrar_spec(r: &mut Registrar, spec: &RegistrarSpec) -> Result<()> {
    if let Some(v) = &spec.name {
        r.name = non_empty("name", v)?;
    }
    if let Some(v) = spec.iana_id {
        r.iana_id = Some(v);
    }
    if let Some(v) = &spec.email {
        r.email = email(v)?;
    }
    if let Some(v) = spec.status {
        r.status = v;
    }
    let opt = |target: &mut Option<String>, value: &Option<String>| {
        if let Some(v) = value {
            *target = (!v.is_empty()).then(|| v.clone());
        }
    };
    opt(&mut r.phone, &spec.phone);
    opt(&mut r.fax, &spec.fax);
    opt(&mut r.url, &spec.url);
    opt(&mut r.whois_server, &spec.whois_server);
    opt(&mut r.rdap_base_url, &spec.rdap_base_url);
    opt(&mut r.abuse_phone, &spec.abuse_phone);
    if let Some(v) = &spec.abuse_email {
        r.abuse_email = if v.is_empty() { None } else { Some(email(v)?) };
    }
    if let Some(v) = &spec.address {
        r.address = v.clone();
    }
    if spec.password.is_some() {
        return Err(RegistryError::Invalid("the password must be hashed before it reaches the writer".into()));
    }
    if let Some(v) = &spec.password_hash {
        r.password_hash = Some(v.clone());
    }
    if let Some(v) = &spec.cert_fingerprints {
        r.cert_fingerprints = v.iter().map(|f| fingerprint(f)).collect::<Result<_>>()?;
    }
    if let Some(v) = &spec.allowed_addresses {
        r.allowed_addresses = v.clone();
    }
    Ok(())
}

fn non_empty(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.len() > 255 {
        return Err(RegistryError::Invalid(format!("{field} must be 1-255 characters")));
    }
    Ok(v.to_string())
}

fn email(value: &str) -> Result<String> {
    let v = value.trim();
    match v.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && v.len() <= 254 && !v.contains(char::is_whitespace) => {
            Ok(v.to_string())
        }
        _ => Err(RegistryError::Invalid(format!("{value:?} is not an email address"))),
    }
}

/// A SHA-256 certificate fingerprint: 64 hex digits, colons allowed.
fn fingerprint(value: &str) -> Result<String> {
    let hex: String = value.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(RegistryError::Invalid(format!("{value:?} is not a SHA-256 fingerprint")))
    }
}

fn create_registrar(cx: &mut Cx, spec: &RegistrarSpec) -> Result<Outcome> {
    let id = spec.id.clone().ok_or_else(|| RegistryError::Invalid("a registrar needs an id".into()))?;
    if spec.name.is_none() || spec.email.is_none() {
        return Err(RegistryError::Invalid("a registrar needs a name and an email".into()));
    }
    if cx.t.registrar(&id)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Registrar, &id));
    }
    let mut r = Registrar {
        id,
        name: String::new(),
        iana_id: None,
        status: RegistrarStatus::Ok,
        email: String::new(),
        phone: None,
        fax: None,
        url: None,
        whois_server: None,
        rdap_base_url: None,
        address: Default::default(),
        abuse_email: None,
        abuse_phone: None,
        password_hash: None,
        cert_fingerprints: Vec::new(),
        allowed_addresses: Vec::new(),
        created: cx.now,
        updated: cx.now,
    };
    apply_registrar_spec(&mut r, spec)?;
    cx.t.put_registrar(&r)?;
    Ok(Outcome::Registrar(Box::new(r)))
}

fn update_registrar(cx: &mut Cx, id: &ClientId, spec: &RegistrarSpec) -> Result<Outcome> {
    if spec.id.as_ref().is_some_and(|i| i != id) {
        return Err(RegistryError::Invalid("a registrar id cannot change".into()));
    }
    let mut r = cx.t.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
    apply_registrar_spec(&mut r, spec)?;
    r.updated = cx.now;
    cx.t.put_registrar(&r)?;
    Ok(Outcome::Registrar(Box::new(r)))
}

// ---------------------------------------------------------------- contacts

fn create_contact(cx: &mut Cx, spec: &CreateContact) -> Result<Outcome> {
    if cx.t.contact(&spec.id)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Contact, &spec.id));
    }
    cx.registrar_for_new_objects(&spec.registrar)?;
    let email = email(&spec.email)?;
    let contact = Contact {
        id: spec.id.clone(),
        roid: cx.next_roid('C')?,
        registrar: spec.registrar.clone(),
        postal_int: spec.postal_int.clone(),
        postal_loc: spec.postal_loc.clone(),
        voice: spec.voice.clone(),
        fax: spec.fax.clone(),
        email,
        statuses: ContactStatusSet::default(),
        disclose: spec.disclose.clone(),
        auth_info_hash: None,
        link_count: 0,
        created: cx.now,
        cr_registrar: spec.registrar.clone(),
        updated: None,
        up_registrar: None,
        transferred: None,
    };
    cx.t.put_contact(&contact)?;
    Ok(Outcome::Contact(Box::new(contact)))
}

fn delete_contact(cx: &mut Cx, id: &crate::model::ContactId) -> Result<Outcome> {
    let contact = cx.t.contact(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, id))?;
    if contact.link_count > 0 {
        return Err(RegistryError::Association(format!("contact {id} is used by {} domain(s)", contact.link_count)));
    }
    cx.t.delete_contact(id)?;
    Ok(Outcome::Deleted)
}

// ---------------------------------------------------------------- domains

/// Statuses an operator may set directly; `pending*` belong to the lifecycle.
fn settable_domain_status(s: DomainStatus) -> Result<DomainStatus> {
    if s.is_client() || s.is_server() {
        Ok(s)
    } else {
        Err(RegistryError::Invalid(format!("status {s} is managed by the registry and cannot be set")))
    }
}

fn settable_host_status(s: HostStatus) -> Result<HostStatus> {
    if s.is_client() || s.is_server() {
        Ok(s)
    } else {
        Err(RegistryError::Invalid(format!("status {s} is managed by the registry and cannot be set")))
    }
}

/// Looks up the hosts a domain is to be delegated to, enforcing the glue rule:
/// a host below one of our TLDs needs addresses, or the delegation is lame.
fn resolve_nameservers(cx: &Cx, names: &[HostName]) -> Result<Vec<Host>> {
    let mut hosts: Vec<Host> = Vec::with_capacity(names.len());
    for name in names {
        if hosts.iter().any(|h| &h.name == name) {
            return Err(RegistryError::Invalid(format!("name server {name} is listed twice")));
        }
        let host = cx.t.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
        if host.superordinate.is_some() && host.addrs.is_empty() {
            return Err(RegistryError::Policy(format!("name server {name} is below a TLD of this registry and has no addresses (glue)")));
        }
        hosts.push(host);
    }
    Ok(hosts)
}

pub(super) fn check_ds(ds: &[crate::model::DsData]) -> Result<()> {
    if ds.len() > DOMAIN_DS_MAX {
        return Err(RegistryError::Invalid(format!("at most {DOMAIN_DS_MAX} DS records per domain")));
    }
    for (i, d) in ds.iter().enumerate() {
        d.validate()?;
        if ds[..i].contains(d) {
            return Err(RegistryError::Invalid(format!("DS {} is listed twice", d.to_presentation())));
        }
    }
    Ok(())
}

/// The TLD a new domain goes in: it must be exactly one label below a served TLD.
fn registrable_tld(cx: &Cx, name: &DomainName) -> Result<Tld> {
    let tld = cx
        .tld_of(name)?
        .filter(|t| &t.name != name)
        .ok_or_else(|| RegistryError::Policy(format!("{name} is not below a TLD of this registry")))?;
    if name.parent().as_ref() != Some(&tld.name) {
        return Err(RegistryError::Policy(format!("only names directly below .{} can be registered, not {name}", tld.name)));
    }
    Ok(tld)
}

fn create_domain(cx: &mut Cx, spec: &CreateDomain) -> Result<Outcome> {
    let tld = registrable_tld(cx, &spec.name)?;
    if cx.t.domain(&spec.name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Domain, &spec.name));
    }
    cx.registrar_for_new_objects(&spec.registrar)?;
    if !(1..=10).contains(&spec.period_years) {
        return Err(RegistryError::Invalid("the registration period must be 1 to 10 years".into()));
    }
    if spec.nameservers.len() > DOMAIN_NAMESERVERS_MAX {
        return Err(RegistryError::Invalid(format!("at most {DOMAIN_NAMESERVERS_MAX} name servers per domain")));
    }
    let hosts = resolve_nameservers(cx, &spec.nameservers)?;
    check_ds(&spec.ds)?;
    let statuses = DomainStatusSet::from_statuses(spec.statuses.iter().map(|s| settable_domain_status(*s)).collect::<Result<Vec<_>>>()?)?;
    check_contacts(cx, spec.registrant.iter().chain(spec.contacts.iter().map(|c| &c.id)))?;

    let domain = Domain {
        name: spec.name.clone(),
        roid: cx.next_roid('D')?,
        tld: tld.name.clone(),
        registrar: spec.registrar.clone(),
        registrant: spec.registrant.clone(),
        contacts: spec.contacts.clone(),
        nameservers: hosts.iter().map(|h| h.roid.clone()).collect(),
        ds: spec.ds.clone(),
        statuses,
        created: cx.now,
        cr_registrar: spec.registrar.clone(),
        updated: None,
        up_registrar: None,
        expires: cx.now.plus_years(spec.period_years as i32),
        transferred: None,
        auth_info_hash: None,
    };
    cx.t.put_domain(&domain)?;
    relink(cx, None, Some(&domain))?;
    cx.touch(&tld.name, &domain.name);
    Ok(Outcome::Domain(Box::new(domain)))
}

fn check_contacts<'a>(cx: &Cx, ids: impl Iterator<Item = &'a crate::model::ContactId>) -> Result<()> {
    for id in ids {
        if cx.t.contact(id)?.is_none() {
            return Err(RegistryError::not_found(ObjectKind::Contact, id));
        }
    }
    Ok(())
}

fn update_domain(cx: &mut Cx, name: &DomainName, spec: &UpdateDomain) -> Result<Outcome> {
    let before = cx.t.domain(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Domain, name))?;
    if before.statuses.contains(DomainStatus::ServerUpdateProhibited) && !spec.only_server_statuses() {
        return Err(RegistryError::StatusProhibits(format!("{name} is serverUpdateProhibited")));
    }
    let mut after = before.clone();

    for s in &spec.remove_statuses {
        after.statuses.remove(settable_domain_status(*s)?);
    }
    for s in &spec.add_statuses {
        after.statuses.insert(settable_domain_status(*s)?);
    }
    after.statuses.validate()?;

    let mut current: Vec<Host> = Vec::new();
    for roid in &before.nameservers {
        if let Some(h) = cx.t.host(roid)? {
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
        return Err(RegistryError::Invalid(format!("at most {DOMAIN_NAMESERVERS_MAX} name servers per domain")));
    }
    after.nameservers = current.into_iter().map(|h| h.roid).collect();

    if spec.remove_all_ds {
        after.ds.clear();
    }
    for ds in &spec.remove_ds {
        let at = after
            .ds
            .iter()
            .position(|d| d == ds)
            .ok_or_else(|| RegistryError::Invalid(format!("DS {} is not on {name}", ds.to_presentation())))?;
        after.ds.remove(at);
    }
    after.ds.extend(spec.add_ds.iter().cloned());
    check_ds(&after.ds)?;

    let mut moved_hosts = Vec::new();
    if let Some(registrar) = &spec.registrar
        && registrar != &before.registrar
    {
        cx.registrar_for_new_objects(registrar)?;
        after.registrar = registrar.clone();
        after.transferred = Some(cx.now);
        moved_hosts = cx.t.hosts_at_or_below(name, usize::MAX)?;
    }

    after.updated = Some(cx.now);
    cx.t.put_domain(&after)?;
    for mut host in moved_hosts {
        host.registrar = after.registrar.clone();
        host.transferred = Some(cx.now);
        cx.t.put_host(&host)?;
    }
    relink(cx, Some(&before), Some(&after))?;
    cx.touch(&after.tld, name);
    Ok(Outcome::Domain(Box::new(after)))
}

fn delete_domain(cx: &mut Cx, name: &DomainName) -> Result<Outcome> {
    let domain = cx.t.domain(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Domain, name))?;
    if domain.statuses.contains(DomainStatus::ServerDeleteProhibited) {
        return Err(RegistryError::StatusProhibits(format!("{name} is serverDeleteProhibited")));
    }
    let subordinates = cx.t.hosts_at_or_below(name, 5)?;
    if !subordinates.is_empty() {
        let names: Vec<String> = subordinates.iter().map(|h| h.name.to_string()).collect();
        return Err(RegistryError::Association(format!("{name} has subordinate hosts ({}); delete them first", names.join(", "))));
    }
    cx.t.delete_domain(name)?;
    relink(cx, Some(&domain), None)?;
    cx.touch(&domain.tld, name);
    Ok(Outcome::Deleted)
}

/// Keeps host and contact link counts, the host→domain index, and the glue
/// rows that depend on them in step with a domain going from `before` to `after`.
fn relink(cx: &mut Cx, before: Option<&Domain>, after: Option<&Domain>) -> Result<()> {
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
        let Some(mut host) = cx.t.host(roid)? else {
            continue;
        };
        host.link_count = (host.link_count + in_new as u32).saturating_sub(in_old as u32);
        // Only delegations in the host's own zone count towards its glue.
        if host.name.is_below(&domain.tld) {
            host.published_link_count = (host.published_link_count + pub_new as u32).saturating_sub(pub_old as u32);
            cx.touch(&domain.tld, &host.name);
        }
        match (in_old, in_new) {
            (false, true) => cx.t.link_host(roid, &domain.name)?,
            (true, false) => cx.t.unlink_host(roid, &domain.name)?,
            _ => {}
        }
        cx.t.put_host(&host)?;
    }

    let contacts = |d: Option<&Domain>| -> BTreeSet<crate::model::ContactId> {
        d.map(|d| d.registrant.iter().cloned().chain(d.contacts.iter().map(|c| c.id.clone())).collect()).unwrap_or_default()
    };
    let (old_c, new_c) = (contacts(before), contacts(after));
    for id in old_c.symmetric_difference(&new_c) {
        let Some(mut contact) = cx.t.contact(id)? else {
            continue;
        };
        if new_c.contains(id) {
            contact.link_count += 1;
        } else {
            contact.link_count = contact.link_count.saturating_sub(1);
        }
        cx.t.put_contact(&contact)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- hosts

pub(super) fn host_addrs(addrs: &[IpAddr]) -> Result<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        let a = check_host_addr(*a)?;
        if out.contains(&a) {
            return Err(RegistryError::Invalid(format!("address {a} is listed twice")));
        }
        out.push(a);
    }
    if out.len() > HOST_ADDRS_MAX {
        return Err(RegistryError::Invalid(format!("at most {HOST_ADDRS_MAX} addresses per host")));
    }
    Ok(out)
}

/// Where a host name stands: below one of our TLDs (then its superordinate
/// domain must exist and be sponsored by `registrar`), or external.
fn host_placement(cx: &Cx, name: &HostName, registrar: Option<&ClientId>) -> Result<(Option<DomainName>, ClientId)> {
    match cx.tld_of(name)? {
        Some(tld) if &tld.name == name => Err(RegistryError::Policy(format!("{name} is a TLD apex, not a host name"))),
        Some(tld) => {
            let superordinate = name.child_of(&tld.name).expect("a name below the TLD has a child of it");
            let domain =
                cx.t.domain(&superordinate)?
                    .ok_or_else(|| RegistryError::Policy(format!("{name} is below {superordinate}, which is not registered")))?;
            let sponsor = registrar.cloned().unwrap_or_else(|| domain.registrar.clone());
            if sponsor != domain.registrar {
                return Err(RegistryError::Policy(format!(
                    "{name} is below {superordinate}, so only its registrar {} may sponsor it",
                    domain.registrar
                )));
            }
            Ok((Some(superordinate), sponsor))
        }
        None => {
            let sponsor = registrar.cloned().ok_or_else(|| RegistryError::Invalid(format!("external host {name} needs a registrar")))?;
            Ok((None, sponsor))
        }
    }
}

fn create_host(cx: &mut Cx, spec: &CreateHost) -> Result<Outcome> {
    if cx.t.host_by_name(&spec.name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Host, &spec.name));
    }
    let (superordinate, registrar) = host_placement(cx, &spec.name, spec.registrar.as_ref())?;
    cx.registrar_for_new_objects(&registrar)?;
    let addrs = host_addrs(&spec.addresses)?;
    if superordinate.is_none() && !addrs.is_empty() {
        return Err(RegistryError::Policy(format!(
            "{} is not below a TLD of this registry; addresses are only kept for in-zone hosts",
            spec.name
        )));
    }
    let statuses = HostStatusSet::from_statuses(spec.statuses.iter().map(|s| settable_host_status(*s)).collect::<Result<Vec<_>>>()?)?;
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
    cx.t.put_host(&host)?;
    cx.touch_anywhere(&host.name)?;
    Ok(Outcome::Host(Box::new(host)))
}

fn update_host(cx: &mut Cx, name: &HostName, spec: &UpdateHost) -> Result<Outcome> {
    let before = cx.t.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
    if before.statuses.contains(HostStatus::ServerUpdateProhibited) && !spec.only_server_statuses() {
        return Err(RegistryError::StatusProhibits(format!("{name} is serverUpdateProhibited")));
    }
    let mut after = before.clone();
    for s in &spec.remove_statuses {
        after.statuses.remove(settable_host_status(*s)?);
    }
    for s in &spec.add_statuses {
        after.statuses.insert(settable_host_status(*s)?);
    }
    after.statuses.validate()?;

    for a in &spec.remove_addresses {
        let at =
            after.addrs.iter().position(|x| x == a).ok_or_else(|| RegistryError::Invalid(format!("{a} is not an address of {name}")))?;
        after.addrs.remove(at);
    }
    let mut addrs = after.addrs.clone();
    addrs.extend(spec.add_addresses.iter().copied());
    after.addrs = host_addrs(&addrs)?;

    let links = if let Some(new_name) = spec.new_name.as_ref().filter(|n| *n != name) {
        if cx.t.host_by_name(new_name)?.is_some() {
            return Err(RegistryError::exists(ObjectKind::Host, new_name));
        }
        if let Some(tld) = cx.t.tlds()?.into_iter().find(|t| t.policy.nameservers.contains(name)) {
            return Err(RegistryError::Association(format!("{name} is an apex name server of .{}; change the TLD first", tld.name)));
        }
        let (superordinate, _) = host_placement(cx, new_name, Some(&before.registrar))?;
        after.name = new_name.clone();
        after.superordinate = superordinate;
        cx.t.host_links(&before.roid, usize::MAX)?
    } else {
        Vec::new()
    };
    if after.superordinate.is_none() && !after.addrs.is_empty() {
        return Err(RegistryError::Policy(format!("{} is not below a TLD of this registry and cannot have addresses", after.name)));
    }
    if after.superordinate.is_some() && after.addrs.is_empty() && after.is_linked() {
        return Err(RegistryError::Policy(format!("{} is delegated to and below a TLD of this registry; it needs an address", after.name)));
    }
    after.updated = Some(cx.now);

    if after.name != before.name {
        // Glue counts are per zone: recount for the host's new zone.
        let mut published = 0;
        for d in &links {
            if let Some(domain) = cx.t.domain(d)? {
                if domain.is_published() && after.name.is_below(&domain.tld) {
                    published += 1;
                }
                cx.touch(&domain.tld, d);
            }
        }
        after.published_link_count = published;
        cx.t.unindex_host_name(&before.name)?;
    }
    cx.t.put_host(&after)?;
    cx.touch_anywhere(&before.name)?;
    cx.touch_anywhere(&after.name)?;
    Ok(Outcome::Host(Box::new(after)))
}

fn delete_host(cx: &mut Cx, name: &HostName) -> Result<Outcome> {
    let host = cx.t.host_by_name(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Host, name))?;
    if host.statuses.contains(HostStatus::ServerDeleteProhibited) {
        return Err(RegistryError::StatusProhibits(format!("{name} is serverDeleteProhibited")));
    }
    if host.is_linked() {
        return Err(RegistryError::Association(format!("{name} is a name server of {} domain(s)", host.link_count)));
    }
    if let Some(tld) = cx.t.tlds()?.into_iter().find(|t| t.policy.nameservers.contains(name)) {
        return Err(RegistryError::Association(format!("{name} is an apex name server of .{}", tld.name)));
    }
    cx.t.delete_host(&host)?;
    cx.touch_anywhere(name)?;
    Ok(Outcome::Deleted)
}
