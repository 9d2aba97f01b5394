//! TLDs and registrars: creating and changing them, registrar funds and
//! EPP passwords. Only the registry acts here.

use super::command::*;
use super::context::{Cx, Result};
use super::{ObjectKind, RegistryError};
use crate::model::dnssec::{KeyRole, ZoneSigning, algorithm};
use crate::model::ledger::Accreditation;
use crate::model::zone::negative_ttl;
use crate::model::{ClientId, DomainName, Money, Registrar, RegistrarStatus, RegistrationPolicy, Tld, TldPolicy};

fn set<T: Clone>(target: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

fn apply_tld_spec(policy: &mut TldPolicy, registration: &mut RegistrationPolicy, spec: &TldSpec) -> Result<()> {
    let soa = &mut policy.soa;
    set(&mut soa.mname, &spec.soa_mname);
    set(&mut soa.rname, &spec.soa_rname);
    set(&mut soa.refresh_s, &spec.soa_refresh_s);
    set(&mut soa.retry_s, &spec.soa_retry_s);
    set(&mut soa.expire_s, &spec.soa_expire_s);
    set(&mut soa.minimum_s, &spec.soa_minimum_s);
    set(&mut soa.ttl_s, &spec.soa_ttl_s);
    set(&mut policy.apex_ns_ttl_s, &spec.apex_ns_ttl_s);
    set(&mut policy.delegation_ttl_s, &spec.delegation_ttl_s);
    set(&mut policy.ds_ttl_s, &spec.ds_ttl_s);
    set(&mut policy.glue_ttl_s, &spec.glue_ttl_s);
    set(&mut policy.glue_policy, &spec.glue_policy);
    set(&mut policy.glue_addresses.private_allowed, &spec.glue_private_allowed);
    set(&mut policy.glue_addresses.documentation_allowed, &spec.glue_documentation_allowed);
    set(&mut policy.nameservers, &spec.nameservers);
    let r = registration;
    set(&mut r.add_grace_s, &spec.add_grace_s);
    set(&mut r.renew_grace_s, &spec.renew_grace_s);
    set(&mut r.auto_renew_grace_s, &spec.auto_renew_grace_s);
    set(&mut r.transfer_grace_s, &spec.transfer_grace_s);
    set(&mut r.transfer_pending_s, &spec.transfer_pending_s);
    set(&mut r.redemption_s, &spec.redemption_s);
    set(&mut r.pending_delete_s, &spec.pending_delete_s);
    set(&mut r.pending_restore_s, &spec.pending_restore_s);
    set(&mut r.years_max, &spec.years_max);
    set(&mut r.transfer_lock_days, &spec.transfer_lock_days);
    set(&mut r.currency, &spec.currency);
    set(&mut r.exchange_rates, &spec.exchange_rates);
    set(&mut r.period_prices, &spec.period_prices);
    set(&mut r.create_price, &spec.create_price);
    set(&mut r.renew_price, &spec.renew_price);
    set(&mut r.transfer_price, &spec.transfer_price);
    set(&mut r.restore_price, &spec.restore_price);
    set(&mut r.contacts, &spec.contacts);
    let periods = [
        r.add_grace_s,
        r.renew_grace_s,
        r.auto_renew_grace_s,
        r.transfer_grace_s,
        r.transfer_pending_s,
        r.redemption_s,
        r.pending_delete_s,
        r.pending_restore_s,
    ];
    if periods.iter().any(|p| !(0..=10 * 366 * 86_400).contains(p)) {
        return Err(RegistryError::Range("lifecycle periods must be between 0 and 10 years".into()));
    }
    if !(1..=99).contains(&r.years_max) {
        return Err(RegistryError::Range("years_max must be 1 to 99".into()));
    }
    crate::model::ledger::check_currency(&r.currency).map_err(RegistryError::Syntax)?;
    if r.exchange_rates.len() > crate::model::lifecycle::EXCHANGE_RATES_MAX {
        return Err(RegistryError::Range(format!("a TLD takes at most {} other currencies", crate::model::lifecycle::EXCHANGE_RATES_MAX)));
    }
    for code in r.exchange_rates.keys() {
        crate::model::ledger::check_currency(code).map_err(RegistryError::Syntax)?;
        if *code == r.currency {
            return Err(RegistryError::Invalid(format!("{code} is the TLD's own currency, not another it takes")));
        }
    }
    if r.period_prices.len() > crate::model::lifecycle::PERIOD_PRICES_MAX {
        return Err(RegistryError::Range(format!("a TLD has at most {} period prices", crate::model::lifecycle::PERIOD_PRICES_MAX)));
    }
    for (i, p) in r.period_prices.iter().enumerate() {
        if !(1..=r.years_max).contains(&p.years) || p.amount.0 < 0 {
            return Err(RegistryError::Range(format!("a period price is of 1 to {} years and not negative", r.years_max)));
        }
        if r.period_prices[..i].iter().any(|o| o.command == p.command && o.years == p.years) {
            return Err(RegistryError::Invalid(format!("{} for {} years is priced twice", p.command.as_str(), p.years)));
        }
    }
    if [r.create_price, r.renew_price, r.transfer_price, r.restore_price].iter().any(|p| p.0 < 0) {
        return Err(RegistryError::Range("prices cannot be negative".into()));
    }
    Ok(())
}

pub(super) fn create_tld(cx: &mut Cx, spec: &TldSpec) -> Result<Outcome> {
    let name = spec.name.clone().ok_or_else(|| RegistryError::Missing("a TLD needs a name".into()))?;
    let nameservers = spec.nameservers.clone().ok_or_else(|| RegistryError::Missing("a TLD needs nameservers".into()))?;
    if cx.tables.tld(&name)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Tld, &name));
    }
    for other in cx.tables.tlds()? {
        if name.is_at_or_below(&other.name) || other.name.is_below(&name) {
            return Err(RegistryError::Policy(format!("TLD {name} would overlap the zone of TLD {}", other.name)));
        }
    }
    // Hosts created as external would suddenly be in-zone without a superordinate domain.
    if let Some(host) = cx.tables.hosts_at_or_below(&name, 1)?.first() {
        return Err(RegistryError::Association(format!("host {} already exists under {name}; delete it first", host.name)));
    }
    let mut policy = TldPolicy::with_defaults(&name, nameservers);
    let mut registration = RegistrationPolicy::default();
    apply_tld_spec(&mut policy, &mut registration, spec)?;
    policy.validate()?;
    let tld = Tld { name: name.clone(), policy, registration, serial: 0, created: cx.now, updated: cx.now };
    cx.tables.put_tld(&tld)?;
    // Every registrar that can act may act on a new TLD; the operator narrows it down.
    for r in cx.tables.registrars()?.iter().filter(|r| r.status != RegistrarStatus::Terminated) {
        cx.tables.accredit(&name, &r.id, &Accreditation { since: cx.now, currency: None })?;
    }
    cx.zone_created(&name);
    cx.touch(&name, &name);
    for ns in &tld.policy.nameservers {
        cx.touch(&name, ns);
    }
    if let Some(mode) = spec.dnssec {
        set_signing(cx, &tld, mode, spec.dnssec_algorithm, spec)?;
    }
    Ok(Outcome::Tld(Box::new(tld)))
}

pub(super) fn update_tld(cx: &mut Cx, name: &DomainName, spec: &TldSpec) -> Result<Outcome> {
    if spec.name.as_ref().is_some_and(|n| n != name) {
        return Err(RegistryError::Invalid("a TLD cannot be renamed".into()));
    }
    let before = cx.tld(name)?;
    let mut tld = before.clone();
    apply_tld_spec(&mut tld.policy, &mut tld.registration, spec)?;
    // Fees paid are refunded, and auto-renewals charged, in the currency of
    // the TLD: it is chosen before the first registration and then kept.
    if tld.registration.currency != before.registration.currency && cx.tables.has_domains(name)? {
        return Err(RegistryError::Policy(format!(
            ".{name} has registrations paid in {}: its currency cannot change",
            before.registration.currency
        )));
    }
    // A registrar paying in a currency goes on paying in it until its
    // accreditation names another.
    for (registrar, accreditation) in cx.tables.accreditations_for(name)? {
        if let Some(c) = accreditation.currency.filter(|c| tld.registration.rate_to(c).is_none()) {
            return Err(RegistryError::Policy(format!(
                "registrar {registrar} pays .{name} in {c}: accredit it in another currency before .{name} stops taking {c}"
            )));
        }
    }
    tld.policy.validate()?;
    tld.updated = cx.now;
    let (old, new) = (&before.policy, &tld.policy);
    // TTLs and the glue rule shape every row; a change re-derives the whole zone.
    let every_row = old.delegation_ttl_s != new.delegation_ttl_s
        || old.ds_ttl_s != new.ds_ttl_s
        || old.glue_ttl_s != new.glue_ttl_s
        || old.glue_policy != new.glue_policy;
    cx.soa_changed(&before);
    cx.tables.put_tld(&tld)?;
    cx.touch(name, name);
    for ns in old.nameservers.iter().chain(&new.nameservers) {
        cx.touch(name, ns);
    }
    if every_row {
        for owner in cx.tables.owner_names(name)? {
            cx.touch(name, &owner);
        }
    }
    match (spec.dnssec, spec.dnssec_algorithm) {
        (Some(mode), algorithm) => set_signing(cx, &before, mode, algorithm, spec)?,
        (None, Some(algorithm)) => same_algorithm(&cx.tables.zone_signing(name)?, algorithm)?,
        (None, None) => {}
    }
    if spec.dnssec.is_none() && has_signing_timing(spec) {
        let Some(mut signing) = cx.tables.zone_signing(name)? else {
            return Err(RegistryError::Invalid(format!("TLD {name} is not signed: its signature timing comes with --dnssec")));
        };
        apply_signing_timing(&mut signing, spec)?;
        cx.tables.put_zone_signing(name, Some(&signing))?;
        // The DNSKEY RRset's TTL may have changed; other signatures follow
        // the new timing as the sweep finds them due.
        cx.signatures_due(&tld, vec![name.canonical_key()], Vec::new());
    }
    // The TTL of NSEC and NSEC3 records follows the SOA (RFC 9077).
    if negative_ttl(&before.policy) != negative_ttl(&tld.policy) && spec.dnssec.is_none() && cx.tables.zone_signing(name)?.is_some() {
        cx.signing_changed(&before);
    }
    Ok(Outcome::Tld(Box::new(tld)))
}

fn has_signing_timing(spec: &TldSpec) -> bool {
    [
        spec.signature_validity_s,
        spec.signature_refresh_s,
        spec.signature_jitter_s,
        spec.inception_offset_s,
        spec.dnskey_ttl_s,
        spec.zsk_lifetime_s,
        spec.ksk_lifetime_s,
        spec.propagation_delay_s,
        spec.parent_ds_ttl_s,
        spec.ds_check_interval_s,
        spec.cds_scan_interval_s,
    ]
    .iter()
    .any(Option::is_some)
        || spec.dnssec_parent_servers.is_some()
}

fn apply_signing_timing(signing: &mut ZoneSigning, spec: &TldSpec) -> Result<()> {
    set(&mut signing.signature_validity_s, &spec.signature_validity_s);
    set(&mut signing.signature_refresh_s, &spec.signature_refresh_s);
    set(&mut signing.signature_jitter_s, &spec.signature_jitter_s);
    set(&mut signing.inception_offset_s, &spec.inception_offset_s);
    set(&mut signing.dnskey_ttl_s, &spec.dnskey_ttl_s);
    set(&mut signing.zsk_lifetime_s, &spec.zsk_lifetime_s);
    set(&mut signing.ksk_lifetime_s, &spec.ksk_lifetime_s);
    set(&mut signing.propagation_delay_s, &spec.propagation_delay_s);
    set(&mut signing.parent_ds_ttl_s, &spec.parent_ds_ttl_s);
    set(&mut signing.parent_servers, &spec.dnssec_parent_servers);
    set(&mut signing.ds_check_interval_s, &spec.ds_check_interval_s);
    set(&mut signing.cds_scan_interval_s, &spec.cds_scan_interval_s);
    signing.check_timing().map_err(RegistryError::Range)
}

/// Signs the zone of `tld` (making its first keys, a KSK and a ZSK of
/// `algorithm` or ECDSA P-256, when it has none), changes how it denies
/// existence, or unsigns it.
/// The signing algorithm `asked` for, ECDSA P-256 by default, if offered.
pub(super) fn offered_algorithm(asked: Option<u8>) -> Result<u8> {
    match asked {
        None => Ok(algorithm::ECDSAP256SHA256),
        Some(a @ (algorithm::ECDSAP256SHA256 | algorithm::ED25519 | algorithm::RSASHA256)) => Ok(a),
        Some(other) => Err(RegistryError::Invalid(format!(
            "DNSSEC algorithm {other} is not offered: 13 (ECDSA P-256), 15 (Ed25519) or 8 (RSA/SHA-256)"
        ))),
    }
}

fn set_signing(cx: &mut Cx, tld: &Tld, mode: DnssecMode, algorithm: Option<u8>, spec: &TldSpec) -> Result<()> {
    let algorithm = offered_algorithm(algorithm)?;
    let current = cx.tables.zone_signing(&tld.name)?;
    if mode.denial().is_some() {
        same_algorithm(&current, algorithm)?;
    }
    if current.as_ref().map(|s| s.denial) == mode.denial() {
        if let Some(mut signing) = current.filter(|_| has_signing_timing(spec)) {
            apply_signing_timing(&mut signing, spec)?;
            cx.tables.put_zone_signing(&tld.name, Some(&signing))?;
            cx.signatures_due(tld, vec![tld.name.canonical_key()], Vec::new());
        }
        return Ok(());
    }
    if mode.denial().is_none() && has_signing_timing(spec) {
        return Err(RegistryError::Invalid("signature timing is for a signed zone, not one being unsigned".into()));
    }
    let mut next = match mode.denial() {
        None => None,
        Some(denial) => {
            // A change of denial keeps the keys and the signature timing.
            match current {
                Some(c) => Some(ZoneSigning { denial, ..c }),
                None => {
                    let keys = &cx.settings.keys;
                    let keys = vec![
                        keys.generate(&tld.name, algorithm, KeyRole::Ksk, cx.now, true)?,
                        keys.generate(&tld.name, algorithm, KeyRole::Zsk, cx.now, true)?,
                    ];
                    Some(ZoneSigning::new(denial, keys))
                }
            }
        }
    };
    if let Some(signing) = &mut next {
        apply_signing_timing(signing, spec)?;
    }
    cx.tables.put_zone_signing(&tld.name, next.as_ref())?;
    cx.signing_changed(tld);
    Ok(())
}

/// A signed zone keeps its keys' algorithm: changing it takes an algorithm
/// rollover (RFC 6781 §4.1.4), which the operator starts as one.
fn same_algorithm(current: &Option<ZoneSigning>, algorithm: u8) -> Result<()> {
    match current.as_ref().and_then(|s| s.keys.first()) {
        Some(key) if key.algorithm != algorithm => Err(RegistryError::Invalid(format!(
            "the zone is signed with algorithm {}; changing it to {algorithm} takes an algorithm rollover: dnssec roll TLD all --algorithm {algorithm}",
            key.algorithm
        ))),
        _ => Ok(()),
    }
}

fn non_empty(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.len() > 255 {
        return Err(RegistryError::Invalid(format!("{field} must be 1-255 characters")));
    }
    Ok(v.to_string())
}

/// A plausible email address (RFC 5322 addr-spec shape), trimmed.
pub(super) fn email(value: &str) -> Result<String> {
    crate::model::contact::check_email(value).map_err(RegistryError::Syntax)
}

/// A SHA-256 certificate fingerprint: 64 hex digits, colons allowed.
fn fingerprint(value: &str) -> Result<String> {
    let hex: String = value.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(RegistryError::Syntax(format!("{value:?} is not a SHA-256 fingerprint")))
    }
}

/// Whether `registrar` may be accredited for `tld`: for a gTLD it must
/// hold an IANA id, one IANA's list accredits once the list is loaded.
pub(super) fn may_act_on_gtld(cx: &Cx, tld: &DomainName, registrar: &Registrar) -> Result<()> {
    if !cx.tables.is_gtld(tld)? {
        return Ok(());
    }
    let Some(id) = registrar.iana_id else {
        return Err(RegistryError::Policy(format!("{tld} is a gTLD: registrar {} has no IANA id", registrar.id)));
    };
    match cx.tables.iana_registrars()? {
        Some(list) => crate::model::iana::check_id(&list, id).map_err(|e| RegistryError::Policy(format!("{tld} is a gTLD: {e}"))),
        None => Ok(()),
    }
}

/// Makes `tld` a gTLD, once every registrar accredited for it may act on
/// one (the refusal names those that may not), or an ordinary TLD again.
pub(super) fn set_gtld(cx: &mut Cx, tld: &DomainName, gtld: bool) -> Result<Outcome> {
    cx.tld(tld)?;
    cx.tables.set_gtld(tld, gtld)?;
    if gtld {
        let mut refused = Vec::new();
        for r in cx.tables.registrars()? {
            if cx.tables.accredited(tld, &r.id)? && may_act_on_gtld(cx, tld, &r).is_err() {
                refused.push(r.id.to_string());
            }
        }
        if !refused.is_empty() {
            return Err(RegistryError::Policy(format!(
                "{tld} cannot be a gTLD while these accredited registrars lack an IANA accreditation: {} (unaccredit them first)",
                refused.join(", ")
            )));
        }
    }
    Ok(Outcome::Done)
}

/// Loads IANA's registrar list. Registrars already holding an id it does
/// not accredit stay as they are: the operator decides what becomes of them
/// (the API lists them).
pub(super) fn replace_iana_registrars(cx: &mut Cx, list: &Vec<crate::model::iana::IanaRegistrar>) -> Result<Outcome> {
    cx.tables.put_iana_registrars(list)?;
    Ok(Outcome::Done)
}

fn apply_registrar_spec(cx: &Cx, r: &mut Registrar, spec: &RegistrarSpec) -> Result<()> {
    if let Some(v) = &spec.name {
        r.name = non_empty("name", v)?;
    }
    if let Some(v) = spec.iana_id {
        if let Some(list) = cx.tables.iana_registrars()? {
            crate::model::iana::check_id(&list, v).map_err(RegistryError::Invalid)?;
        }
        r.iana_id = Some(v);
    }
    if let Some(v) = &spec.email {
        r.email = email(v)?;
    }
    set(&mut r.status, &spec.status);
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
    set(&mut r.address, &spec.address);
    if spec.password.is_some() {
        return Err(RegistryError::Invalid("the password must be hashed before it reaches the writer".into()));
    }
    if let Some(v) = &spec.password_hash {
        r.password_hash = Some(v.clone());
    }
    if let Some(v) = &spec.cert_fingerprints {
        r.cert_fingerprints = v.iter().map(|f| fingerprint(f)).collect::<Result<_>>()?;
    }
    set(&mut r.allowed_addresses, &spec.allowed_addresses);
    Ok(())
}

/// Sets the credit limit `spec` names, of the account in its currency;
/// after accreditation, which can choose that currency.
fn set_credit_limit(cx: &Cx, r: &mut Registrar, spec: &RegistrarSpec) -> Result<()> {
    let Some(limit) = spec.credit_limit else {
        if spec.currency.is_some() {
            return Err(RegistryError::Invalid("a currency names the account of a credit limit".into()));
        }
        return Ok(());
    };
    if limit.0 < 0 {
        return Err(RegistryError::Range("a credit limit cannot be negative".into()));
    }
    let currency = account_currency(cx, r, spec.currency.as_deref())?;
    r.account_mut(&currency).credit_limit = limit;
    Ok(())
}

/// The currency of the account an operator's funds or credit limit go to:
/// the one named, or else the one `registrar` pays every TLD it is
/// accredited for in.
fn account_currency(cx: &Cx, registrar: &Registrar, named: Option<&str>) -> Result<String> {
    if let Some(code) = named {
        crate::model::ledger::check_currency(code).map_err(RegistryError::Syntax)?;
        return Ok(code.to_string());
    }
    let mut currencies = std::collections::BTreeSet::new();
    for tld in cx.tables.tlds()? {
        if let Some(a) = cx.tables.accreditation(&tld.name, &registrar.id)? {
            currencies.insert(crate::model::ledger::paying_currency(Some(&a), &tld.registration).to_string());
        }
    }
    let mut currencies = currencies.into_iter();
    match (currencies.next(), currencies.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => Err(RegistryError::Missing(format!("registrar {} is accredited for no TLD: name the currency", registrar.id))),
        (Some(first), Some(second)) => Err(RegistryError::Missing(format!(
            "registrar {} pays its TLDs in {first}, {second}{}: name the currency",
            registrar.id,
            currencies.map(|c| format!(", {c}")).collect::<String>()
        ))),
    }
}

pub(super) fn create_registrar(cx: &mut Cx, spec: &RegistrarSpec) -> Result<Outcome> {
    let id = spec.id.clone().ok_or_else(|| RegistryError::Missing("a registrar needs an id".into()))?;
    if spec.name.is_none() || spec.email.is_none() {
        return Err(RegistryError::Missing("a registrar needs a name and an email".into()));
    }
    if cx.tables.registrar(&id)?.is_some() {
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
        accounts: Vec::new(),
    };
    apply_registrar_spec(cx, &mut r, spec)?;
    let tlds = match &spec.tlds {
        Some(tlds) => tlds.iter().map(|t| cx.tld(t).map(|t| t.name)).collect::<Result<Vec<_>>>()?,
        None => cx.tables.tlds()?.into_iter().map(|t| t.name).collect(),
    };
    // A gTLD takes only registrars IANA accredits: named, the others are
    // refused; by default, they are left out.
    for tld in tlds {
        match may_act_on_gtld(cx, &tld, &r) {
            Ok(()) => cx.tables.accredit(&tld, &r.id, &Accreditation { since: cx.now, currency: None })?,
            Err(e) if spec.tlds.is_some() => return Err(e),
            Err(_) => {}
        }
    }
    set_credit_limit(cx, &mut r, spec)?;
    cx.tables.put_registrar(&r)?;
    Ok(Outcome::Registrar(Box::new(r)))
}

pub(super) fn update_registrar(cx: &mut Cx, id: &ClientId, spec: &RegistrarSpec) -> Result<Outcome> {
    if spec.id.as_ref().is_some_and(|i| i != id) {
        return Err(RegistryError::Invalid("a registrar id cannot change".into()));
    }
    let mut r = cx.tables.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
    if spec.tlds.is_some() {
        return Err(RegistryError::Invalid("accreditations change one at a time (accredit, unaccredit)".into()));
    }
    apply_registrar_spec(cx, &mut r, spec)?;
    set_credit_limit(cx, &mut r, spec)?;
    r.updated = cx.now;
    cx.tables.put_registrar(&r)?;
    Ok(Outcome::Registrar(Box::new(r)))
}

pub(super) fn fund(cx: &mut Cx, id: &ClientId, currency: Option<&str>, amount: Money) -> Result<Outcome> {
    let r = cx.tables.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
    let currency = account_currency(cx, &r, currency)?;
    cx.adjust_balance(id, &currency, amount, "funds", None)?;
    let mut r = cx.tables.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
    r.updated = cx.now;
    cx.tables.put_registrar(&r)?;
    Ok(Outcome::Registrar(Box::new(r)))
}

pub(super) fn change_password(cx: &mut Cx, id: &ClientId, password: &Password) -> Result<Outcome> {
    cx.sponsor_only(id, format!("registrar {id}"))?;
    let Password::Hashed(hash) = password else {
        return Err(RegistryError::Invalid("the password must be hashed before it reaches the writer".into()));
    };
    let mut r = cx.tables.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
    r.password_hash = Some(hash.clone());
    r.updated = cx.now;
    cx.tables.put_registrar(&r)?;
    Ok(Outcome::Done)
}
