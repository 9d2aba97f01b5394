//! The domain mapping (RFC 5731) and its extensions: reading commands into
//! registry commands or snapshot reads, and writing `chkData`, `infData`,
//! `creData`, `renData`, `trnData` and the extension data that goes with
//! them.

use super::ext;
use super::mapping::{ClientView, Render, Verdict, check_items, period};
use super::render::{Response, fragment};
use super::request::{TransferVerb, Verb};
use super::result::{EppError, code};
use super::xml::{self, Element, Ns};
use crate::model::{ContactId, ContactType, Domain, DomainContact, DomainName, DomainStatus, Money, Transfer};
use crate::registry::command::*;
use crate::registry::{Outcome, RegistryError, query};

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.child(&Ns::Domain, name)
}

fn required<'a>(e: &'a Element, name: &str) -> Result<&'a Element, EppError> {
    child(e, name).ok_or_else(|| EppError::syntax(format!("<domain:{name}> is missing")))
}

/// A domain name from a command; syntax errors are 2005.
pub fn name(e: &Element) -> Result<DomainName, EppError> {
    DomainName::parse(e.trimmed()).map_err(|err| EppError::new(code::VALUE_SYNTAX, format!("{:?}: {err}", e.trimmed())))
}

fn optional_period(e: &Element) -> Result<u32, EppError> {
    child(e, "period").map(period).transpose().map(|p| p.unwrap_or(1))
}

/// `<domain:ns>` with host objects; host attributes are refused (this registry uses host objects).
fn nameservers(ns: Option<&Element>) -> Result<Vec<DomainName>, EppError> {
    let Some(ns) = ns else { return Ok(Vec::new()) };
    if child(ns, "hostAttr").is_some() {
        return Err(EppError::new(code::POLICY, "this registry uses host objects; host attributes are not accepted"));
    }
    ns.children_named(&Ns::Domain, "hostObj").map(name).collect()
}

fn contacts(parent: &Element) -> Result<Vec<DomainContact>, EppError> {
    parent
        .children_named(&Ns::Domain, "contact")
        .map(|c| {
            let kind = match c.attr("type") {
                Some("admin") => ContactType::Admin,
                Some("tech") => ContactType::Tech,
                Some("billing") => ContactType::Billing,
                other => return Err(EppError::syntax(format!("contact type {other:?} is not admin, tech or billing"))),
            };
            let id = ContactId::parse(c.trimmed()).map_err(|e| EppError::new(code::VALUE_SYNTAX, e.to_string()))?;
            Ok(DomainContact { kind, id })
        })
        .collect()
}

fn statuses(parent: &Element) -> Result<Vec<DomainStatus>, EppError> {
    parent
        .children_named(&Ns::Domain, "status")
        .map(|s| {
            let value = s.attr("s").ok_or_else(|| EppError::syntax("status needs s"))?;
            DomainStatus::parse(value).map_err(|e| EppError::syntax(e.to_string()))
        })
        .collect()
}

/// `<domain:authInfo><domain:pw>…</domain:pw></domain:authInfo>`; `<domain:ext>` is not supported.
fn auth_info(parent: &Element) -> Result<Option<String>, EppError> {
    let Some(a) = child(parent, "authInfo") else { return Ok(None) };
    if child(a, "ext").is_some() {
        return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "extended authorization information is not supported"));
    }
    Ok(Some(required(a, "pw")?.text.clone()))
}

pub fn handle(verb: Verb, object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    match (verb, object.name.as_str()) {
        (Verb::Check, "check") => check(object, extension, cx),
        (Verb::Info, "info") => info(object, extension, cx),
        (Verb::Create, "create") => create(object, extension),
        (Verb::Update, "update") => update(object, extension),
        (Verb::Delete, "delete") => {
            ext::only(extension, &[(Ns::Launch, "delete")])?;
            let domain_name = name(required(object, "name")?)?;
            let command = match ext::launch_id(extension, "delete")? {
                // RFC 8334 §3.4: the application is withdrawn, not the domain.
                Some(ext::LaunchId { phase, application: Some(id) }) => {
                    Command::WithdrawApplication { name: domain_name.clone(), id, phase }
                }
                _ => Command::DeleteDomain(domain_name.clone()),
            };
            Ok(Verdict::Execute(command, Render::DomainDelete { name: domain_name }))
        }
        (Verb::Renew, "renew") => renew(object, extension),
        (Verb::Transfer(op), "transfer") => transfer(op, object, extension, cx),
        _ => Err(EppError::syntax(format!("<domain:{}> does not belong in this command", object.name))),
    }
}

fn check(object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    ext::only(extension, &[(Ns::Fee, "check"), (Ns::AllocationToken, "allocationToken"), (Ns::Launch, "check")])?;
    if ext::launch_claims_check(extension)? {
        ext::only(extension, &[(Ns::Launch, "check")])?;
        return claims_check(object, cx);
    }
    let fee = ext::fee_check(extension)?;
    let token = ext::allocation_token(extension)?;
    let names = check_items(object, &Ns::Domain, "name")?;
    let snap = &cx.snapshot;
    let mut w = fragment();
    let mut fees = fragment();
    // RFC 8748 §3.4: the currency asked for, else the one the registrar
    // pays the first name's TLD in.
    let mut currency = fee.as_ref().and_then(|f| f.currency.clone());
    w.open("domain:chkData", &[("xmlns:domain", xml::DOMAIN)]);
    for n in names {
        let text = n.trimmed();
        let mut check = query::check_domain(snap, text).map_err(RegistryError::from)?;
        if let Some(token) = &token {
            check = check.with_token(snap, text, token, &cx.registrar, cx.now).map_err(RegistryError::from)?;
        }
        check = check.with_timeline(snap, cx.now).map_err(RegistryError::from)?;
        if fee.is_some() {
            check = check.with_prices(snap, text, cx.now).map_err(RegistryError::from)?;
        }
        let available = check.availability == query::Availability::Available;
        w.open("domain:cd", &[]).leaf("domain:name", &[("avail", if available { "1" } else { "0" })], text);
        if let Some(r) = check.availability.reason() {
            w.leaf("domain:reason", &[], r);
        }
        w.close();
        if let Some(fee) = &fee {
            if currency.is_none()
                && let Some(tld) = check.tld
            {
                currency = Some(paying_currency(cx, tld)?);
            }
            ext::fee_cd(&mut fees, text, &check, &fee.commands, cx.now, currency.as_deref().unwrap_or("USD"));
        }
    }
    let mut response = Response::new(code::OK).res_data(w.finish());
    if fee.is_some() {
        let currency = currency.unwrap_or_else(|| "USD".into());
        let mut f = fragment();
        f.open("fee:chkData", &[("xmlns:fee", xml::FEE)]).leaf("fee:currency", &[], &currency);
        f.out.push_str(&fees.finish());
        response = response.extension(xml::FEE, f.finish());
    }
    Ok(Verdict::Reply(response))
}

/// The currency the registrar of `cx` pays `tld`'s fees in.
fn paying_currency(cx: &ClientView, tld: &crate::model::Tld) -> Result<String, EppError> {
    let accreditation = cx.snapshot.accreditation(&tld.name, &cx.registrar).map_err(RegistryError::from)?;
    Ok(crate::model::ledger::paying_currency(accreditation.as_ref(), &tld.registration).to_string())
}

/// The claims check form (RFC 8334 §3.1.1): for each name, whether its
/// label is on the DNL, and the claim key to fetch its claims notice with.
fn claims_check(object: &Element, cx: &ClientView) -> Result<Verdict, EppError> {
    let mut w = fragment();
    w.open("launch:chkData", &[("xmlns:launch", xml::LAUNCH)]).leaf("launch:phase", &[], "claims");
    for n in check_items(object, &Ns::Domain, "name")? {
        let domain_name = name(n)?;
        if cx.snapshot.tld_of(&domain_name).is_none() {
            return Err(EppError::new(code::POLICY, format!("{domain_name} is not under a TLD of this registry")));
        }
        let label = domain_name.as_str().split('.').next().unwrap_or_default();
        let listed = cx.snapshot.claims_label(label).map_err(RegistryError::from)?;
        w.open("launch:cd", &[]).leaf("launch:name", &[("exists", if listed.is_some() { "1" } else { "0" })], domain_name.as_str());
        if let Some(l) = listed {
            w.leaf("launch:claimKey", &[("validatorID", "tmch")], &l.claim_key);
        }
        w.close();
    }
    w.close();
    Ok(Verdict::Reply(Response::new(code::OK).extension(xml::LAUNCH, w.finish())))
}

fn info(object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    ext::only(extension, &[(Ns::Launch, "info")])?;
    let name_el = required(object, "name")?;
    let domain_name = name(name_el)?;
    let hosts = name_el.attr("hosts").unwrap_or("all");
    if !matches!(hosts, "all" | "del" | "sub" | "none") {
        return Err(EppError::syntax("hosts must be all, del, sub or none"));
    }
    let launch = ext::launch_id(extension, "info")?;
    if let Some(ext::LaunchId { phase, application: Some(id) }) = &launch {
        return application_info(&domain_name, phase, id, cx);
    }
    let domain = cx
        .snapshot
        .domain(&domain_name)
        .map_err(RegistryError::from)?
        .ok_or_else(|| EppError::new(code::NOT_FOUND, format!("{domain_name} does not exist")))?;
    let mut w = fragment();
    info_data(&mut w, &domain, hosts, cx)?;
    let mut response = Response::new(code::OK).res_data(w.finish());
    if let Some(sec) = ext::secdns_info(&domain.ds) {
        response = response.extension(xml::SECDNS, sec);
    }
    if let Some(rgp) = ext::rgp_info(&domain.rgp_statuses(cx.now), "rgp:infData") {
        response = response.extension(xml::RGP, rgp);
    }
    if let Some(l) = launch {
        response = response.extension(xml::LAUNCH, launch_info(&domain, &l.phase.phase, cx)?);
    }
    Ok(Verdict::Reply(response))
}

/// RFC 8334 §3.1.3: a launch application, to its registrar only, as the
/// domain it asks for (`pendingCreate`) with its `<launch:infData>`.
fn application_info(name: &DomainName, phase: &LaunchPhase, id: &str, cx: &ClientView) -> Result<Verdict, EppError> {
    let unknown = || EppError::new(code::NOT_FOUND, format!("application {id} for {name} does not exist"));
    let a = cx.snapshot.application(id).map_err(RegistryError::from)?.filter(|a| &a.name == name).ok_or_else(unknown)?;
    if a.registrar != cx.registrar {
        return Err(EppError::new(code::AUTHORIZATION, format!("application {id} is another registrar's")));
    }
    if phase.phase != a.phase.as_str() || phase.name != a.phase_name {
        return Err(EppError::new(code::POLICY, format!("application {id} was made in the {} phase", a.phase.as_str())));
    }
    let mut w = fragment();
    w.open("domain:infData", &[("xmlns:domain", xml::DOMAIN)]);
    w.leaf("domain:name", &[], a.name.as_str()).leaf("domain:roid", &[], &a.id);
    w.empty("domain:status", &[("s", "pendingCreate")]);
    if let Some(r) = &a.registrant {
        w.leaf("domain:registrant", &[], r.as_str());
    }
    for c in &a.contacts {
        w.leaf("domain:contact", &[("type", c.kind.as_str())], c.id.as_str());
    }
    if !a.nameservers.is_empty() {
        w.open("domain:ns", &[]);
        for ns in &a.nameservers {
            w.leaf("domain:hostObj", &[], ns.as_str());
        }
        w.close();
    }
    w.leaf("domain:clID", &[], a.registrar.as_str()).leaf("domain:crID", &[], a.registrar.as_str());
    w.leaf("domain:crDate", &[], &a.created.to_rfc3339());
    if let Some(u) = a.updated {
        w.leaf("domain:upDate", &[], &u.to_rfc3339());
    }
    w.close();
    let response = Response::new(code::OK).res_data(w.finish()).extension(xml::LAUNCH, ext::application_data(&a, "launch:infData"));
    Ok(Verdict::Reply(response))
}

/// RFC 8334 `<launch:infData>`: the launch phase `domain` was created in,
/// when it is the one asked about (2306 otherwise).
fn launch_info(domain: &Domain, phase: &str, cx: &ClientView) -> Result<String, EppError> {
    let created_in = cx
        .snapshot
        .launch_registration(&domain.tld, &domain.name)
        .map_err(RegistryError::from)?
        .filter(|r| r.roid == domain.roid)
        .map(|r| if r.sunrise { "sunrise" } else { "claims" });
    if created_in != Some(phase) {
        return Err(EppError::new(code::POLICY, format!("{} was not created in the {phase} phase", domain.name)));
    }
    let mut w = fragment();
    w.open("launch:infData", &[("xmlns:launch", xml::LAUNCH)]).leaf("launch:phase", &[], phase);
    Ok(w.finish())
}

/// `<domain:infData>` of a domain as it stands (also used for change poll messages).
pub fn info_data(w: &mut xml::Writer, d: &Domain, hosts: &str, cx: &ClientView) -> Result<(), EppError> {
    let snap = &cx.snapshot;
    w.open("domain:infData", &[("xmlns:domain", xml::DOMAIN)]);
    w.leaf("domain:name", &[], d.name.as_str()).leaf("domain:roid", &[], d.roid.as_str());
    for s in d.statuses.displayed(!d.nameservers.is_empty()) {
        w.empty("domain:status", &[("s", s.as_str())]);
    }
    if let Some(r) = &d.registrant {
        w.leaf("domain:registrant", &[], r.as_str());
    }
    for c in &d.contacts {
        w.leaf("domain:contact", &[("type", c.kind.as_str())], c.id.as_str());
    }
    if matches!(hosts, "all" | "del") && !d.nameservers.is_empty() {
        w.open("domain:ns", &[]);
        for roid in &d.nameservers {
            if let Some(h) = snap.host(roid).map_err(RegistryError::from)? {
                w.leaf("domain:hostObj", &[], h.name.as_str());
            }
        }
        w.close();
    }
    if matches!(hosts, "all" | "sub") {
        for h in snap.hosts_at_or_below(&d.name, 1000).map_err(RegistryError::from)? {
            w.leaf("domain:host", &[], h.name.as_str());
        }
    }
    w.leaf("domain:clID", &[], d.registrar.as_str()).leaf("domain:crID", &[], d.cr_registrar.as_str());
    w.leaf("domain:crDate", &[], &d.created.to_rfc3339());
    if let Some(up) = &d.up_registrar {
        w.leaf("domain:upID", &[], up.as_str());
    }
    if let Some(u) = d.updated {
        w.leaf("domain:upDate", &[], &u.to_rfc3339());
    }
    w.leaf("domain:exDate", &[], &d.expires.to_rfc3339());
    if let Some(t) = d.transferred {
        w.leaf("domain:trDate", &[], &t.to_rfc3339());
    }
    // RFC 9154: authorization information is never returned.
    w.close();
    Ok(())
}

fn create(object: &Element, extension: Option<&Element>) -> Result<Verdict, EppError> {
    ext::only(extension, &[(Ns::SecDns, "create"), (Ns::Fee, "create"), (Ns::Launch, "create"), (Ns::AllocationToken, "allocationToken")])?;
    let domain_name = name(required(object, "name")?)?;
    let years = optional_period(object)?;
    let registrant = match child(object, "registrant") {
        Some(r) => Some(ContactId::parse(r.trimmed()).map_err(|e| EppError::new(code::VALUE_SYNTAX, e.to_string()))?),
        None => None,
    };
    let pw = auth_info(object)?.ok_or_else(|| EppError::syntax("<domain:authInfo> is missing"))?;
    let launch = ext::launch_create(extension)?;
    let command = CreateDomain {
        name: domain_name,
        registrar: None,
        nameservers: nameservers(child(object, "ns"))?,
        ds: ext::secdns_create(extension)?,
        statuses: Vec::new(),
        period_years: years,
        registrant,
        contacts: contacts(object)?,
        auth_info: Some(pw),
        auth_info_hash: None,
        fee: ext::fee_agreement(extension, "create")?,
        allocation_token: ext::allocation_token(extension)?,
        launch_phase: launch.phase,
        signed_mark: launch.signed_mark,
        verified_mark: None,
        claims_notice: launch.notice,
        application: launch.application,
    };
    Ok(Verdict::Execute(Command::CreateDomain(command), Render::DomainCreate { years }))
}

fn update(object: &Element, extension: Option<&Element>) -> Result<Verdict, EppError> {
    ext::only(extension, &[(Ns::SecDns, "update"), (Ns::Rgp, "update"), (Ns::Fee, "update"), (Ns::Launch, "update")])?;
    let domain_name = name(required(object, "name")?)?;
    let mut spec = UpdateDomain::default();
    if let Some(add) = child(object, "add") {
        spec.add_nameservers = nameservers(child(add, "ns"))?;
        spec.add_contacts = contacts(add)?;
        spec.add_statuses = statuses(add)?;
    }
    if let Some(rem) = child(object, "rem") {
        spec.remove_nameservers = nameservers(child(rem, "ns"))?;
        spec.remove_contacts = contacts(rem)?;
        spec.remove_statuses = statuses(rem)?;
    }
    if let Some(chg) = child(object, "chg") {
        if let Some(r) = child(chg, "registrant") {
            spec.registrant = Some(match r.trimmed() {
                "" => None,
                id => Some(ContactId::parse(id).map_err(|e| EppError::new(code::VALUE_SYNTAX, e.to_string()))?),
            });
        }
        spec.auth_info = auth_info(chg)?;
    }
    if let Some(ds) = ext::secdns_update(extension)? {
        spec.remove_all_ds = ds.remove_all;
        spec.remove_ds = ds.remove;
        spec.add_ds = ds.add;
    }
    spec.restore = ext::rgp_restore(extension)?;
    spec.fee = ext::fee_agreement(extension, "update")?;
    let restore = spec.restore.is_some();
    // RFC 8334 §3.4: the application is updated, not the domain.
    if let Some(ext::LaunchId { phase, application: Some(id) }) = ext::launch_id(extension, "update")? {
        if restore || spec.fee.is_some() {
            return Err(EppError::new(code::POLICY, "an application is neither restored nor billed by an update"));
        }
        let command = Command::UpdateApplication { name: domain_name, id, phase, spec: Box::new(spec) };
        return Ok(Verdict::Execute(command, Render::DomainUpdate { restore: false }));
    }
    Ok(Verdict::Execute(Command::UpdateDomain(domain_name, spec), Render::DomainUpdate { restore }))
}

fn renew(object: &Element, extension: Option<&Element>) -> Result<Verdict, EppError> {
    ext::only(extension, &[(Ns::Fee, "renew")])?;
    let domain_name = name(required(object, "name")?)?;
    let date = required(object, "curExpDate")?.trimmed();
    if date.len() != 10 || crate::model::Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z")).is_err() {
        return Err(EppError::syntax(format!("curExpDate {date:?} is not a date")));
    }
    let years = optional_period(object)?;
    let spec = RenewDomain { current_expiry_date: date.to_string(), years, fee: ext::fee_agreement(extension, "renew")? };
    Ok(Verdict::Execute(Command::RenewDomain(domain_name, spec), Render::DomainRenew { years }))
}

fn transfer(op: TransferVerb, object: &Element, extension: Option<&Element>, cx: &ClientView) -> Result<Verdict, EppError> {
    let domain_name = name(required(object, "name")?)?;
    let op = match op {
        TransferVerb::Query => {
            ext::only(extension, &[])?;
            let domain = cx
                .snapshot
                .domain(&domain_name)
                .map_err(RegistryError::from)?
                .ok_or_else(|| EppError::new(code::NOT_FOUND, format!("{domain_name} does not exist")))?;
            let transfer = query::transfer_for(domain.transfer.as_ref(), &cx.registrar, domain_name.as_str())?;
            return Ok(Verdict::Reply(Response::new(code::OK).res_data(transfer_data(&domain_name, transfer))));
        }
        TransferVerb::Request => {
            ext::only(extension, &[(Ns::Fee, "transfer")])?;
            let pw = auth_info(object)?
                .ok_or_else(|| EppError::new(code::AUTH_INFO, "a transfer request needs the authorization information"))?;
            TransferOp::Request { years: optional_period(object)?, auth_info: pw, fee: ext::fee_agreement(extension, "transfer")? }
        }
        TransferVerb::Approve => TransferOp::Approve,
        TransferVerb::Reject => TransferOp::Reject,
        TransferVerb::Cancel => TransferOp::Cancel,
    };
    let years = if let TransferOp::Request { years, .. } = &op { Some(*years) } else { None };
    Ok(Verdict::Execute(Command::TransferDomain(domain_name, op), Render::DomainTransfer { years }))
}

/// `<domain:trnData>`.
pub fn transfer_data(name: &DomainName, t: &Transfer) -> String {
    let mut w = fragment();
    w.open("domain:trnData", &[("xmlns:domain", xml::DOMAIN)]);
    w.leaf("domain:name", &[], name.as_str()).leaf("domain:trStatus", &[], t.status.as_str());
    w.leaf("domain:reID", &[], t.gaining.as_str()).leaf("domain:reDate", &[], &t.requested.to_rfc3339());
    w.leaf("domain:acID", &[], t.losing.as_str()).leaf("domain:acDate", &[], &t.acted.to_rfc3339());
    if let Some(e) = t.new_expires {
        w.leaf("domain:exDate", &[], &e.to_rfc3339());
    }
    w.finish()
}

/// Writes the response to a domain command the registry executed.
pub fn render(after: &Render, outcome: Outcome, cx: &ClientView) -> Response {
    // What a delete credits is in the currency the registrar pays in.
    let currency = |name: &DomainName| match cx.snapshot.tld_of(name) {
        Some(tld) => paying_currency(cx, tld).unwrap_or_else(|_| tld.registration.currency.clone()),
        None => "USD".into(),
    };
    match (after, outcome) {
        (Render::DomainCreate { years }, Outcome::Domain(d)) => {
            let mut w = fragment();
            w.open("domain:creData", &[("xmlns:domain", xml::DOMAIN)]);
            w.leaf("domain:name", &[], d.domain.name.as_str()).leaf("domain:crDate", &[], &d.domain.created.to_rfc3339());
            w.leaf("domain:exDate", &[], &d.domain.expires.to_rfc3339());
            let fee = ext::fee_result("fee:creData", &d.currency, Some(*years), d.fee, Money(0), d.balance);
            Response::new(code::OK).res_data(w.finish()).extension(xml::FEE, fee)
        }
        // RFC 8334 §3.3.1: an application is made; the domain waits for its allocation.
        (Render::DomainCreate { years }, Outcome::Application(a, balance)) => {
            let mut w = fragment();
            w.open("domain:creData", &[("xmlns:domain", xml::DOMAIN)]);
            w.leaf("domain:name", &[], a.name.as_str()).leaf("domain:crDate", &[], &a.created.to_rfc3339());
            let fee = ext::fee_result("fee:creData", &a.currency, Some(*years), a.fee, Money(0), balance);
            Response::new(code::OK_PENDING)
                .res_data(w.finish())
                .extension(xml::LAUNCH, ext::application_data(&a, "launch:creData"))
                .extension(xml::FEE, fee)
        }
        (Render::DomainUpdate { restore }, Outcome::Domain(d)) => {
            let mut response = Response::new(code::OK);
            if *restore {
                if let Some(rgp) = ext::rgp_info(&d.domain.rgp_statuses(cx.now), "rgp:upData") {
                    response = response.extension(xml::RGP, rgp);
                }
                if d.fee.0 > 0 {
                    response = response.extension(xml::FEE, ext::fee_result("fee:updData", &d.currency, None, d.fee, Money(0), d.balance));
                }
            }
            response
        }
        (Render::DomainUpdate { .. }, Outcome::Application(..)) => Response::new(code::OK),
        (Render::DomainDelete { name }, Outcome::Deleted { pending, credit }) => {
            let mut response = Response::new(if pending { code::OK_PENDING } else { code::OK });
            if credit.0 > 0 {
                response = response.extension(xml::FEE, ext::fee_result("fee:delData", &currency(name), None, Money(0), credit, None));
            }
            response
        }
        (Render::DomainRenew { years }, Outcome::Domain(d)) => {
            let mut w = fragment();
            w.open("domain:renData", &[("xmlns:domain", xml::DOMAIN)]);
            w.leaf("domain:name", &[], d.domain.name.as_str()).leaf("domain:exDate", &[], &d.domain.expires.to_rfc3339());
            let fee = ext::fee_result("fee:renData", &d.currency, Some(*years), d.fee, Money(0), d.balance);
            Response::new(code::OK).res_data(w.finish()).extension(xml::FEE, fee)
        }
        (Render::DomainTransfer { years }, Outcome::Transfer { name, transfer, pending }) => {
            let mut response = Response::new(if pending { code::OK_PENDING } else { code::OK }).res_data(transfer_data(&name, &transfer));
            if let (true, Some(c)) = (pending, transfer.currency.as_deref().filter(|_| transfer.fee.0 > 0)) {
                response = response.extension(xml::FEE, ext::fee_result("fee:trnData", c, *years, transfer.fee, Money(0), None));
            }
            response
        }
        (_, other) => {
            tracing::error!(?other, "unexpected outcome of a domain command");
            Response::new(code::FAILED)
        }
    }
}
