//! Read-side rules over one snapshot, the same for every front-end: whether
//! a domain name can be registered (and why not), what a command on it
//! costs, and who may read what (another registrar's contact, a transfer's
//! status). The writer acts by the same model rules (`is_directly_below`,
//! `RegistrationPolicy::price`), so a check never promises what a create
//! then refuses, and a quote is what the writer charges.

use super::credentials::verify_auth_info;
use super::{ObjectKind, RegistryError};
use crate::model::lifecycle::Price;
use crate::model::{ClientId, Contact, ContactId, DomainName, NameError, Timestamp, Tld, Transfer};
use crate::store::{Snapshot, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    InUse,
    NotServed,
    BadALabel,
    Invalid,
    /// Withheld by the registry (a reserved name).
    Reserved,
    /// Blocked: no one can register it.
    Blocked,
    /// Not valid under the TLD's IDN table.
    NotInIdnTable,
    /// A variant of a registered name, blocked by the TLD's variant policy.
    Variant,
    /// The TLD's launch timeline takes no registrations now.
    Closed,
}

impl Availability {
    /// Why a name is not available, short enough for EPP's `reason` (32 characters).
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Availability::Available => None,
            Availability::InUse => Some("in use"),
            Availability::NotServed => Some("not served by this registry"),
            Availability::BadALabel => Some("not an IDNA2008 A-label"),
            Availability::Invalid => Some("invalid domain name"),
            Availability::Reserved => Some("reserved"),
            Availability::Blocked => Some("blocked"),
            Availability::NotInIdnTable => Some("not in the IDN table"),
            Availability::Variant => Some("variant of a registered name"),
            Availability::Closed => Some("no registrations now"),
        }
    }
}

/// A domain name as a registrar asks about it.
pub struct DomainCheck<'s> {
    pub availability: Availability,
    /// The TLD that would hold it, when it is registrable there.
    pub tld: Option<&'s Tld>,
    /// Expiry of the registered domain, which some prices depend on.
    pub expires: Option<Timestamp>,
    /// The name's premium prices, if it has them.
    pub premium: Option<crate::model::premium::PremiumName>,
    /// The create price of the allocation token the check carries, if it allows the create.
    pub create_override: Option<crate::model::Money>,
    /// The phase running, whose terms the prices follow.
    pub phase: Option<crate::model::phase::Phase>,
}

impl DomainCheck<'_> {
    /// What `command` for `years` would cost in `currency`: what the
    /// writer charges (`Cx::price`, by the same `model::phase::price_in`).
    pub fn price(&self, command: &str, years: u32, now: Timestamp, currency: &str) -> Option<Price> {
        let policy = crate::model::phase::policy_in(&self.tld?.registration, self.phase.as_ref());
        let prices = crate::model::lifecycle::PremiumPrices::of(&policy, self.premium.as_ref().map(|p| &p.prices), self.create_override);
        crate::model::phase::price_in(&policy, self.phase.as_ref(), command, years, self.expires, now, prices.as_ref(), currency)
    }
}

impl DomainCheck<'_> {
    /// The check as the TLD's timeline has it at `now`: a free name of a
    /// TLD that is closed (before its timeline begins, between phases, or
    /// in a `closed` phase) cannot be created by a registrar.
    pub fn with_timeline(mut self, snapshot: &Snapshot, now: Timestamp) -> Result<Self, StoreError> {
        use crate::model::phase::{PhaseKind, Standing, standing};
        let Some(tld) = self.tld.filter(|_| self.availability == Availability::Available) else { return Ok(self) };
        let phases = snapshot.phases(&tld.name)?;
        if matches!(standing(&phases, now), Standing::Closed | Standing::In(crate::model::phase::Phase { kind: PhaseKind::Closed, .. })) {
            self.availability = Availability::Closed;
        }
        Ok(self)
    }

    /// The check with the name's premium prices and the running phase's
    /// create price at `now`, for a fee quote.
    pub fn with_prices(mut self, snapshot: &Snapshot, name: &str, now: Timestamp) -> Result<Self, StoreError> {
        if let (Ok(name), Some(tld)) = (DomainName::parse(name), self.tld) {
            // As the writer prices it: a registered name at the prices it was created at.
            self.premium = match self.expires {
                Some(_) => snapshot.grandfathered(&name)?,
                None => snapshot.premium(&name)?,
            };
            let phases = snapshot.phases(&tld.name)?;
            self.phase = crate::model::phase::running(&phases, now).cloned();
            self.create_override = self.create_override.or(self.phase.as_ref().and_then(|p| p.create_price_on(now)));
        }
        Ok(self)
    }

    /// The check as the holder of allocation token `token` sees it: a
    /// withheld name the token is for is available to it, at the token's
    /// create price. A token that does not allow the create changes nothing.
    pub fn with_token(
        mut self,
        snapshot: &Snapshot,
        name: &str,
        token: &str,
        registrar: &ClientId,
        now: Timestamp,
    ) -> Result<Self, StoreError> {
        let (Ok(name), Some(tld)) = (DomainName::parse(name), self.tld) else { return Ok(self) };
        let Some(t) = snapshot.token(token)?.filter(|t| t.tld == tld.name && t.refusal(&name, registrar, now).is_none()) else {
            return Ok(self);
        };
        if self.availability == Availability::Reserved && t.name.as_ref() == Some(&name) {
            self.availability = Availability::Available;
        }
        self.create_override = t.create_price;
        Ok(self)
    }
}

/// A free name under the TLD's IDN table: valid, and not a blocked variant.
fn idn_availability(snapshot: &Snapshot, tld: &Tld, name: &DomainName) -> Result<Availability, StoreError> {
    use crate::model::idn::{VariantPolicy, a_label, u_label};
    let Some(table) = snapshot.idn_table(&tld.name)? else { return Ok(Availability::Available) };
    let Some(u) = u_label(name.as_str().split('.').next().unwrap_or_default()) else { return Ok(Availability::NotInIdnTable) };
    if table.refusal(&u).is_some() {
        return Ok(Availability::NotInIdnTable);
    }
    if table.policy == VariantPolicy::Blocked {
        for variant in table.variants_of(&u) {
            let variant = a_label(&variant).and_then(|a| DomainName::parse(&format!("{a}.{}", tld.name)).ok());
            if let Some(variant) = variant
                && snapshot.domain(&variant)?.is_some()
            {
                return Ok(Availability::Variant);
            }
        }
    }
    Ok(Availability::Available)
}

pub fn check_domain<'s>(snapshot: &'s Snapshot, text: &str) -> Result<DomainCheck<'s>, StoreError> {
    let unregistrable =
        |availability| DomainCheck { availability, tld: None, expires: None, premium: None, create_override: None, phase: None };
    let name = match DomainName::parse(text) {
        Ok(name) => name,
        Err(NameError::BadALabel(_)) => return Ok(unregistrable(Availability::BadALabel)),
        Err(_) => return Ok(unregistrable(Availability::Invalid)),
    };
    let Some(tld) = snapshot.tld_of(&name).filter(|t| name.is_directly_below(&t.name)) else {
        return Ok(unregistrable(Availability::NotServed));
    };
    // Prices are looked up only when asked for (`with_prices`).
    let premium = None;
    Ok(match snapshot.domain(&name)? {
        Some(domain) => {
            let expires = Some(domain.expires);
            DomainCheck { availability: Availability::InUse, tld: Some(tld), expires, premium, create_override: None, phase: None }
        }
        None => {
            let availability = match snapshot.reserved(&name)?.map(|r| r.state) {
                Some(crate::model::reserved::NameState::Withheld) => Availability::Reserved,
                Some(crate::model::reserved::NameState::Blocked) => Availability::Blocked,
                None => idn_availability(snapshot, tld, &name)?,
            };
            DomainCheck { availability, tld: Some(tld), expires: None, premium, create_override: None, phase: None }
        }
    })
}

/// A contact as `reader` may see it: its sponsor always, another registrar
/// only with the contact's authorization code (RFC 5733 §3.1.2, RST epp-08).
pub fn contact_for(snapshot: &Snapshot, reader: &ClientId, id: &ContactId, auth_info: Option<&str>) -> Result<Contact, RegistryError> {
    let contact = snapshot.contact(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, id))?;
    let knows_code = || auth_info.zip(contact.auth_info_hash.as_deref()).is_some_and(|(pw, hash)| verify_auth_info(pw, hash));
    if &contact.registrar != reader && !knows_code() {
        return Err(RegistryError::Authorization(format!("{id} is sponsored by another registrar")));
    }
    Ok(contact)
}

/// The latest transfer of an object, for the two registrars it concerns only.
pub fn transfer_for<'t>(transfer: Option<&'t Transfer>, reader: &ClientId, object: &str) -> Result<&'t Transfer, RegistryError> {
    let transfer = transfer.ok_or_else(|| RegistryError::NoTransferPending(format!("{object} has never been transferred")))?;
    if &transfer.gaining != reader && &transfer.losing != reader {
        return Err(RegistryError::Authorization("only the registrars of a transfer may query it".into()));
    }
    Ok(transfer)
}
