//! What every command handler works with inside the batch's write
//! transaction: the tables behind the store's undo log, the actor, the
//! clock, and the helpers they share — who may act, money, deadlines, poll
//! messages, and the owner names whose zone rows must be re-derived (zone
//! bookkeeping is recorded only once the command succeeded). The dispatch
//! that calls the handlers is `apply.rs`; no handler imports it.

use std::collections::BTreeSet;

use super::command::*;
use super::zone_rows::{self, ZoneChanges};
use super::{ObjectKind, RegistryError, WriterSettings};
use crate::model::lifecycle::Price;
use crate::model::{
    ClientId, DomainName, Money, PollMessage, PollPayload, Registrar, RegistrarStatus, Roid, Timestamp, Tld, Transfer, TransferStatus,
};
use crate::store::{StoreError, WriteTables};

pub(super) type Result<T> = std::result::Result<T, RegistryError>;

/// Kinds of lifecycle deadlines in the `due` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Due {
    /// The domain reaches its expiry date: auto-renew.
    Expiry = 1,
    /// A grace period ends.
    GraceEnd = 2,
    /// A pending transfer is approved by the server.
    TransferApproval = 3,
    /// The current RGP phase ends (redemption, pending restore, pending delete).
    RgpEnd = 4,
    /// A pending contact transfer is approved by the server (the object is a contact id).
    ContactTransferApproval = 5,
    /// A phase that collects launch applications ends: its uncontended ones
    /// are allocated (the object is the TLD and the phase's start in ms,
    /// `model::application`).
    PhaseEnd = 6,
}

impl Due {
    pub fn from_u8(v: u8) -> Option<Due> {
        [Due::Expiry, Due::GraceEnd, Due::TransferApproval, Due::RgpEnd, Due::ContactTransferApproval, Due::PhaseEnd]
            .into_iter()
            .find(|d| *d as u8 == v)
    }
}

/// Clear-text authorization information is hashed by the front-end; the writer refuses it.
pub(super) fn refuse_clear_auth_info(auth_info: &Option<String>) -> Result<()> {
    match auth_info {
        Some(_) => Err(RegistryError::Invalid("authorization information must be hashed before it reaches the writer".into())),
        None => Ok(()),
    }
}

/// One command's view of the batch.
pub(super) struct Cx<'a, 't> {
    pub tables: &'a mut WriteTables<'t>,
    zones: &'a mut ZoneChanges,
    pub now: Timestamp,
    pub settings: &'a WriterSettings,
    pub actor: &'a Actor,
    /// Owner names (with their TLD) whose zone rows must be re-derived.
    touched: BTreeSet<(DomainName, DomainName)>,
    /// Zones created, or whose SOA changes, recorded in the batch's zone
    /// changes only when the command succeeds.
    zone_events: Vec<ZoneEvent>,
}

enum ZoneEvent {
    Created(DomainName),
    /// The TLD as stored before the command.
    SoaChanged(Box<Tld>),
    /// The zone is signed or unsigned (the TLD as stored before the command).
    SigningChanged(Box<Tld>),
    /// Signatures found due by the sweep: owner keys and NSEC3 hashes.
    SignaturesDue(Box<Tld>, Vec<Vec<u8>>, Vec<Vec<u8>>),
}

impl<'a, 't> Cx<'a, 't> {
    /// The tables and the batch's zone changes at once, for a handler that
    /// writes zone rows itself (a bulk import resets the zone's history).
    pub(super) fn tables_and_zones(&mut self) -> (&mut WriteTables<'t>, &mut ZoneChanges) {
        (self.tables, self.zones)
    }

    pub fn new(
        tables: &'a mut WriteTables<'t>,
        zones: &'a mut ZoneChanges,
        now: Timestamp,
        settings: &'a WriterSettings,
        actor: &'a Actor,
    ) -> Self {
        Cx { tables, zones, now, settings, actor, touched: BTreeSet::new(), zone_events: Vec::new() }
    }

    /// A zone created by this command: it has no previous version to diff from.
    pub fn zone_created(&mut self, tld: &DomainName) {
        self.zone_events.push(ZoneEvent::Created(tld.clone()));
    }

    /// The SOA of `before`'s zone changes (a policy update), even if no other RR does.
    pub fn soa_changed(&mut self, before: &Tld) {
        self.zone_events.push(ZoneEvent::SoaChanged(Box::new(before.clone())));
    }

    /// The zone of `before` is signed or unsigned by this command.
    pub fn signing_changed(&mut self, before: &Tld) {
        self.zone_events.push(ZoneEvent::SigningChanged(Box::new(before.clone())));
    }

    /// The signatures at `owners` (keys) and on the NSEC3 records `hashes`
    /// of `tld`'s zone are to be made again.
    pub fn signatures_due(&mut self, tld: &Tld, owners: Vec<Vec<u8>>, hashes: Vec<Vec<u8>>) {
        self.zone_events.push(ZoneEvent::SignaturesDue(Box::new(tld.clone()), owners, hashes));
    }

    /// Runs `step` so that, if it is refused, what it wrote is undone;
    /// storage failures pass through (they abort the batch). Names it
    /// touched stay touched: re-deriving an unchanged row changes nothing.
    pub fn attempt<T>(&mut self, step: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let point = self.tables.rollback_point();
        let events = self.zone_events.len();
        let result = step(self);
        if let Err(refusal) = &result
            && !matches!(refusal, RegistryError::Store(_))
        {
            // False only for a bulk import, which keeps no undo log: the
            // writer aborts its batch (it runs alone) instead.
            self.tables.roll_back(point)?;
            self.zone_events.truncate(events);
        }
        result
    }

    pub fn touch(&mut self, tld: &DomainName, owner: &DomainName) {
        if owner.is_at_or_below(tld) {
            self.touched.insert((tld.clone(), owner.clone()));
        }
    }

    /// Touches `owner` in whichever served zone it lies in.
    pub fn touch_anywhere(&mut self, owner: &DomainName) -> Result<()> {
        if let Some(tld) = self.tld_of(owner)? {
            self.touch(&tld.name, owner);
        }
        Ok(())
    }

    /// The most specific served TLD at or above `name`: point lookups from the
    /// name upwards, not a decode of every TLD (the writer asks several times per command).
    pub fn tld_of(&self, name: &DomainName) -> Result<Option<Tld>> {
        let mut at = Some(name.clone());
        while let Some(n) = at {
            if let Some(tld) = self.tables.tld(&n)? {
                return Ok(Some(tld));
            }
            at = n.parent();
        }
        Ok(None)
    }

    pub fn tld(&self, name: &DomainName) -> Result<Tld> {
        self.tables.tld(name)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Tld, name))
    }

    /// Records the command's zone events and re-derives every touched row.
    pub(super) fn flush(&mut self) -> std::result::Result<(), StoreError> {
        // Before the refreshes: a changed SOA diffs from the TLD as it was.
        for event in std::mem::take(&mut self.zone_events) {
            match event {
                ZoneEvent::Created(name) => self.zones.created(&name),
                ZoneEvent::SoaChanged(before) => self.zones.begin(&before).soa_changed(),
                ZoneEvent::SigningChanged(before) => self.zones.signing_changed(&before),
                ZoneEvent::SignaturesDue(tld, owners, hashes) => self.zones.signatures_due(&tld, owners, hashes),
            }
        }
        let touched = std::mem::take(&mut self.touched);
        let mut current: Option<Tld> = None;
        for (tld_name, owner) in touched {
            if current.as_ref().map(|t| &t.name) != Some(&tld_name) {
                current = self.tables.tld(&tld_name)?;
            }
            if let Some(tld) = &current {
                zone_rows::refresh(self.tables, self.zones, tld, &owner)?;
            }
        }
        Ok(())
    }

    pub fn next_roid(&mut self, kind: char) -> Result<Roid> {
        let n = self.tables.next_sequence(&kind.to_string())?;
        Ok(Roid::new(kind, n, &self.settings.roid_suffix))
    }

    /// The registrar that will sponsor a new object: the acting registrar, or
    /// for the registry the one named in the request.
    pub fn sponsor_for_new(&self, named: Option<&ClientId>) -> Result<Registrar> {
        let id = match (self.actor, named) {
            (Actor::Registrar(me), Some(other)) if other != me => {
                return Err(RegistryError::Authorization(format!("registrar {me} cannot create objects for {other}")));
            }
            (Actor::Registrar(me), _) => me.clone(),
            (Actor::Registry, Some(id)) => id.clone(),
            (Actor::Registry, None) => return Err(RegistryError::Missing("the sponsoring registrar is required".into())),
        };
        self.active_registrar(&id)
    }

    pub fn active_registrar(&self, id: &ClientId) -> Result<Registrar> {
        let registrar = self.tables.registrar(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, id))?;
        if registrar.status != RegistrarStatus::Ok {
            let status = registrar.status.as_str();
            return Err(RegistryError::Authorization(format!("registrar {id} is {status}: it may read but not change anything")));
        }
        Ok(registrar)
    }

    /// Refused unless `registrar` is accredited for `tld`.
    pub fn accredited_for(&self, tld: &DomainName, registrar: &ClientId) -> Result<()> {
        if !self.tables.accredited(tld, registrar)? {
            return Err(RegistryError::Authorization(format!("registrar {registrar} is not accredited for {tld}")));
        }
        Ok(())
    }

    /// Registrars act only on what they sponsor.
    pub fn sponsor_only(&self, sponsor: &ClientId, what: impl std::fmt::Display) -> Result<()> {
        match self.actor {
            Actor::Registrar(me) if me != sponsor => Err(RegistryError::Authorization(format!("{what} is sponsored by another registrar"))),
            _ => Ok(()),
        }
    }

    pub fn is_registry(&self) -> bool {
        matches!(self.actor, Actor::Registry)
    }

    /// `tld` as the phase running now has it, with that phase: its policy
    /// is the one in force for a command made now (`model::phase::policy_in`).
    pub fn tld_in_force(&self, name: &DomainName) -> Result<(Tld, Option<crate::model::phase::Phase>)> {
        let mut tld = self.tld(name)?;
        let phase = crate::model::phase::running(&self.tables.phases(name)?, self.now).cloned();
        tld.registration = crate::model::phase::policy_in(&tld.registration, phase.as_ref());
        Ok((tld, phase))
    }

    /// The premium prices of `name`: a registered name keeps those it was
    /// created at (none: standard ones), whatever the premium list says now.
    pub fn premium_of(&self, name: &DomainName) -> Result<Option<crate::model::premium::PremiumName>> {
        Ok(match self.tables.domain(name)? {
            Some(_) => self.tables.grandfathered(name)?,
            None => self.tables.premium(name)?,
        })
    }

    /// The currency `registrar` pays `tld`'s fees in: the one its
    /// accreditation names, else the TLD's own.
    pub fn paying_currency(&self, tld: &Tld, registrar: &ClientId) -> Result<String> {
        let accreditation = self.tables.accreditation(&tld.name, registrar)?;
        Ok(crate::model::ledger::paying_currency(accreditation.as_ref(), &tld.registration).to_string())
    }

    /// What `command` on `name` costs `payer`, in the currency it pays in
    /// (`paying_currency`), by the same rule a fee
    /// check quotes (`model::phase::price_in`), `tld` being as the running
    /// `phase` has it (`tld_in_force`); the registry pays nothing. Premium
    /// prices are the name's — a registered name's those it was created at
    /// (grandfathered) — and a registrar acknowledges them with the fee
    /// extension (fee-1.0, RFC 8748 §3.8); an allocation token's or the
    /// phase's create price (`create_override`) goes before them. A fee the
    /// client agreed to must be the total (a different amount is 2004, a
    /// different currency 2306).
    #[allow(clippy::too_many_arguments)]
    pub fn price(
        &self,
        tld: &Tld,
        phase: Option<&crate::model::phase::Phase>,
        name: &DomainName,
        command: &str,
        years: u32,
        expires: Option<Timestamp>,
        agreed: Option<&FeeAgreement>,
        create_override: Option<Money>,
        payer: &ClientId,
    ) -> Result<Price> {
        let free = |currency: String| Price { amount: Money(0), years, grace_s: 0, fees: Vec::new(), currency };
        if self.is_registry() {
            return Ok(free(tld.registration.currency.clone()));
        }
        let currency = self.paying_currency(tld, payer)?;
        let premium = self.premium_of(name)?;
        let prices = crate::model::lifecycle::PremiumPrices::of(&tld.registration, premium.as_ref().map(|p| &p.prices), create_override);
        let price = crate::model::phase::price_in(&tld.registration, phase, command, years, expires, self.now, prices.as_ref(), &currency)
            .unwrap_or_else(|| free(currency.clone()));
        let total = price.total();
        if let (Some(p), None, None) = (&premium, agreed, create_override)
            && total.0 > 0
        {
            return Err(RegistryError::Missing(format!(
                "{name} is a {} name: acknowledge its fee of {total} {currency} with the fee extension",
                p.class
            )));
        }
        if let Some(fee) = agreed {
            if fee.currency.as_ref().is_some_and(|c| !c.eq_ignore_ascii_case(&currency)) {
                return Err(RegistryError::Policy(format!("{payer} pays the fees of .{} in {currency}", tld.name)));
            }
            if fee.amount != total {
                return Err(RegistryError::Range(format!("the fee is {total} {currency}, not {}", fee.amount)));
            }
        }
        Ok(price)
    }

    /// Checks that `registrar` can pay `amount` from its account in
    /// `currency` (balance plus credit limit).
    pub fn check_funds(&self, registrar: &ClientId, currency: &str, amount: Money) -> Result<()> {
        if amount.0 <= 0 {
            return Ok(());
        }
        let r = self.tables.registrar(registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, registrar))?;
        let available = r.account(currency).available();
        if available < amount {
            return Err(RegistryError::Billing(format!("{amount} {currency} needed, {available} {currency} available")));
        }
        Ok(())
    }

    /// Moves money in `registrar`'s account in `currency`: positive `delta`
    /// credits it, negative debits it, and the account history says why.
    /// Returns the new balance.
    pub fn adjust_balance(
        &mut self,
        registrar: &ClientId,
        currency: &str,
        delta: Money,
        reason: &str,
        domain: Option<&DomainName>,
    ) -> Result<Money> {
        let mut r = self.tables.registrar(registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, registrar))?;
        if delta.0 == 0 {
            return Ok(r.account(currency).balance);
        }
        let account = r.account_mut(currency);
        account.balance = account.balance.checked_add(delta).ok_or_else(|| RegistryError::Range("the balance would overflow".into()))?;
        let balance = account.balance;
        self.tables.put_registrar(&r)?;
        let entry = crate::model::ledger::LedgerEntry {
            registrar: registrar.clone(),
            seq: self.tables.reserve_sequence("ledger", 1)?,
            at: self.now,
            amount: delta,
            balance,
            currency: currency.to_string(),
            reason: reason.to_string(),
            domain: domain.cloned(),
        };
        self.tables.put_ledger_entry(&entry)?;
        Ok(balance)
    }

    /// Counts `amount` of `field` for `registrar` in the monthly reports of
    /// `domain`'s TLD, in the month of `reported_at` (RA Specification 3).
    pub fn report(
        &mut self,
        domain: &crate::model::Domain,
        reported_at: Timestamp,
        registrar: &ClientId,
        field: crate::model::report::TransactionField,
        amount: i64,
    ) -> Result<()> {
        let record = crate::model::report::TransactionRecord {
            tld: domain.tld.clone(),
            reported_at,
            registrar: registrar.clone(),
            domain: domain.name.clone(),
            field,
            amount,
            at: self.now,
        };
        Ok(self.tables.put_transaction(&record)?)
    }

    /// Records that `due` falls on `object` (a domain name or contact id) at `at`.
    pub fn schedule(&mut self, at: Timestamp, due: Due, object: &str) -> Result<()> {
        Ok(self.tables.due_add(at, due as u8, object)?)
    }

    /// Who may approve, reject or cancel a pending transfer of `object`, and
    /// the status that results: the sponsor decides, the requester cancels.
    pub fn transfer_decision(&self, transfer: Option<&Transfer>, op: &TransferOp, object: &str) -> Result<TransferStatus> {
        let Some(transfer) = transfer.filter(|t| t.status == TransferStatus::Pending) else {
            return Err(RegistryError::NoTransferPending(object.to_string()));
        };
        let (allowed, status) = match op {
            TransferOp::Approve => (&transfer.losing, TransferStatus::ClientApproved),
            TransferOp::Reject => (&transfer.losing, TransferStatus::ClientRejected),
            TransferOp::Cancel => (&transfer.gaining, TransferStatus::ClientCancelled),
            TransferOp::Request { .. } => unreachable!("requests are not decisions"),
        };
        if let Actor::Registrar(me) = self.actor
            && me != allowed
        {
            return Err(RegistryError::Authorization(format!("only {allowed} may do that to the transfer of {object}")));
        }
        Ok(status)
    }

    pub fn notify(&mut self, registrar: &ClientId, text: String, payload: PollPayload) -> Result<()> {
        self.tables.poll_push(registrar, PollMessage { id: 0, queued: self.now, text, payload })?;
        Ok(())
    }
}
