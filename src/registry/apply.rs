//! Executing one command inside the batch's write transaction. A refused
//! command leaves nothing behind by construction, not by each handler's
//! care: every write goes through the store's undo log, and [`apply`] rolls
//! a refused command back to where it started. Writes end with the zone rows
//! of the owner names the command may have changed being re-derived. This
//! file holds the dispatch to the handlers (one file per object family) and
//! the report counters; what the handlers share is `context.rs`.

use super::command::*;
use super::context::{Cx, Result};
use super::{ObjectKind, RegistryError};
use crate::model::{ClientId, DomainName, Timestamp};

/// A report counter key: `YYYYMM|tld|registrar|object|command|result`.
pub fn counter_key(now: Timestamp, tld: &str, registrar: &ClientId, object: &str, command: &str, ok: bool) -> String {
    format!("{}|{tld}|{registrar}|{object}|{command}|{}", month(now), if ok { "ok" } else { "fail" })
}

/// The counter of a public lookup service (`rdap`, `whois-43`) for one TLD
/// (empty when the query names none) in a month: `YYYYMM|tld||rdds|service|ok`.
pub fn query_counter_key((y, m): (i64, u32), tld: &str, service: &str) -> String {
    format!("{y:04}{m:02}|{tld}||rdds|{service}|ok")
}

fn month(now: Timestamp) -> String {
    let (y, m) = now.year_month();
    format!("{y:04}{m:02}")
}

/// The TLD a command is counted under: the domain's or the in-zone host's.
fn counted_tld(cx: &Cx, command: &Command) -> String {
    let name = match command {
        Command::CreateDomain(c) => Some(c.name.clone()),
        Command::UpdateDomain(n, _)
        | Command::DeleteDomain(n)
        | Command::RenewDomain(n, _)
        | Command::TransferDomain(n, _)
        | Command::WithdrawApplication { name: n, .. }
        | Command::UpdateApplication { name: n, .. } => Some(n.clone()),
        Command::CreateHost(c) => Some(c.name.clone()),
        Command::UpdateHost(n, _) | Command::DeleteHost(n) => Some(n.clone()),
        _ => None,
    };
    name.and_then(|n| cx.tld_of(&n).ok().flatten()).map(|t| t.name.to_string()).unwrap_or_default()
}

/// Runs one command: whole, or (refused) with nothing of it left but its
/// report counter.
pub(super) fn apply(cx: &mut Cx<'_, '_>, command: &Command) -> Result<Outcome> {
    let result = cx.attempt(|cx| {
        if let (Actor::Registrar(_), Some(what)) = (cx.actor, command.registry_only()) {
            return Err(RegistryError::Authorization(format!("only the registry may {what}")));
        }
        // A registrar that is `readonly` (RFC 9022) or `terminated` changes
        // nothing, and acts only on the TLDs it is accredited for.
        if let (Actor::Registrar(me), Some(_)) = (cx.actor, command.counted_as()) {
            cx.active_registrar(me)?;
            let tld = counted_tld(cx, command);
            if !tld.is_empty() {
                cx.accredited_for(&DomainName::parse(&tld)?, me)?;
            }
        }
        let outcome = dispatch(cx, command)?;
        cx.flush()?;
        Ok(outcome)
    });
    if let (Actor::Registrar(registrar), Some((object, verb))) = (cx.actor, command.counted_as())
        && !matches!(result, Err(RegistryError::Store(_)))
    {
        let key = counter_key(cx.now, &counted_tld(cx, command), registrar, object, verb, result.is_ok());
        cx.tables.count(&key, 1)?;
    }
    result
}

fn dispatch(cx: &mut Cx<'_, '_>, command: &Command) -> Result<Outcome> {
    match command {
        Command::CreateTld(spec) => super::account::create_tld(cx, spec),
        Command::UpdateTld(name, spec) => super::account::update_tld(cx, name, spec),
        Command::CreateRegistrar(spec) => super::account::create_registrar(cx, spec),
        Command::UpdateRegistrar(id, spec) => super::account::update_registrar(cx, id, spec),
        Command::Fund(id, currency, amount) => super::account::fund(cx, id, currency.as_deref(), *amount),
        Command::ChangePassword(id, hash) => super::account::change_password(cx, id, hash),
        Command::CreateContact(spec) => super::contact::create(cx, spec),
        Command::UpdateContact(id, spec) => super::contact::update(cx, id, spec),
        Command::DeleteContact(id) => super::contact::delete(cx, id),
        Command::TransferContact(id, op) => super::contact::transfer(cx, id, op),
        Command::CreateDomain(spec) => super::domain::create(cx, spec),
        Command::UpdateDomain(name, spec) => super::domain::update(cx, name, spec),
        Command::DeleteDomain(name) => super::domain::delete(cx, name),
        Command::RenewDomain(name, spec) => super::domain::renew(cx, name, spec),
        Command::TransferDomain(name, op) => super::domain::transfer(cx, name, op),
        Command::CreateHost(spec) => super::host::create(cx, spec),
        Command::UpdateHost(name, spec) => super::host::update(cx, name, spec),
        Command::DeleteHost(name) => super::host::delete(cx, name),
        Command::AckPoll(id) => ack_poll(cx, *id),
        Command::Import(import) => super::import::run(cx, import),
        Command::ImportDeposit(import) => super::import_deposit::run(cx, import),
        Command::Reserve(spec) => super::names::reserve(cx, spec),
        Command::Unreserve { tld, names } => super::names::unreserve(cx, tld, names),
        Command::SetIdnTable(table) => {
            cx.tld(&table.tld)?;
            let id_ok = (1..=64).contains(&table.id.len()) && table.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            if !id_ok || table.repertoire.is_empty() {
                return Err(RegistryError::Invalid(
                    "an IDN table has an id of 1 to 64 of A-Z, a-z, 0-9, -, . and _, and a repertoire".into(),
                ));
            }
            cx.tables.put_idn_table(table)?;
            Ok(Outcome::Done)
        }
        Command::RemoveIdnTable(tld) => {
            cx.tld(tld)?;
            if !cx.tables.delete_idn_table(tld)? {
                return Err(RegistryError::not_found(ObjectKind::Tld, format!("IDN table of {tld}")));
            }
            Ok(Outcome::Done)
        }
        Command::AddPhase(phase) => {
            cx.tld(&phase.tld)?;
            let existing = cx.tables.phases(&phase.tld)?;
            crate::model::phase::check_new(&existing, phase, cx.now).map_err(RegistryError::Invalid)?;
            cx.tables.put_phase(phase)?;
            Ok(Outcome::Done)
        }
        Command::AllocateApplication(id) => super::application::allocate(cx, id),
        Command::RejectApplication(id) => super::application::reject(cx, id),
        Command::WithdrawApplication { name, id, phase } => super::application::withdraw(cx, name, id, phase),
        Command::UpdateApplication { name, id, phase, spec } => super::application::update(cx, name, id, phase, spec),
        Command::RemovePhase { tld, starts } => {
            cx.tld(tld)?;
            if *starts <= cx.now {
                return Err(RegistryError::StatusProhibits("a phase that has begun cannot change".into()));
            }
            if !cx.tables.delete_phase(tld, *starts)? {
                return Err(RegistryError::not_found(ObjectKind::Tld, format!("phase of {tld} beginning {}", starts.to_rfc3339_seconds())));
            }
            Ok(Outcome::Done)
        }
        Command::SetTmchTrust(trust) => {
            cx.tables.put_tmch_trust(trust)?;
            Ok(Outcome::Done)
        }
        Command::SetGtld { tld, gtld } => super::account::set_gtld(cx, tld, *gtld),
        Command::ReplaceIanaRegistrars(list) => super::account::replace_iana_registrars(cx, list),
        Command::ReplaceDnl(labels) => {
            cx.tables.replace_dnl(labels)?;
            Ok(Outcome::Done)
        }
        Command::ReplaceSmdrl(marks) => {
            cx.tables.replace_smdrl(marks)?;
            Ok(Outcome::Done)
        }
        Command::IssueToken(token) => {
            cx.tld(&token.tld)?;
            crate::model::token::check_token(&token.token).map_err(RegistryError::Invalid)?;
            if token.name.as_ref().is_some_and(|n| !n.is_directly_below(&token.tld)) || token.uses_max == 0 {
                return Err(RegistryError::Invalid("a token is for a name directly below its TLD, and for one use or more".into()));
            }
            if let Some(r) = &token.registrar {
                cx.tables.registrar(r)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, r))?;
            }
            if cx.tables.token(&token.token)?.is_some() {
                return Err(RegistryError::Exists { kind: ObjectKind::Token, id: "that allocation token".into() });
            }
            cx.tables.put_token(token)?;
            Ok(Outcome::Done)
        }
        Command::RevokeToken(text) => {
            let mut token = cx.tables.token(text)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Token, "allocation token"))?;
            token.revoked = true;
            cx.tables.put_token(&token)?;
            Ok(Outcome::Done)
        }
        Command::Accredit { registrar, tld, currency } => {
            let t = cx.tld(tld)?;
            let r = cx.tables.registrar(registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, registrar))?;
            super::account::may_act_on_gtld(cx, tld, &r)?;
            if let Some(c) = currency.as_deref().filter(|c| t.registration.rate_to(c).is_none()) {
                let takes = t.registration.currencies().collect::<Vec<_>>().join(", ");
                return Err(RegistryError::Policy(format!("{tld} does not take {c}: it takes {takes}")));
            }
            // Accredited again, it keeps its date and pays in the currency now named.
            let since = cx.tables.accreditation(tld, registrar)?.map_or(cx.now, |a| a.since);
            let currency = currency.clone().filter(|c| *c != t.registration.currency);
            cx.tables.accredit(tld, registrar, &crate::model::ledger::Accreditation { since, currency })?;
            Ok(Outcome::Done)
        }
        Command::Unaccredit { registrar, tld } => {
            cx.tld(tld)?;
            cx.tables.registrar(registrar)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Registrar, registrar))?;
            if !cx.tables.unaccredit(tld, registrar)? {
                return Err(RegistryError::Invalid(format!("registrar {registrar} is not accredited for {tld}")));
            }
            Ok(Outcome::Done)
        }
        Command::SetPremium { tld, names } => super::names::set_premium(cx, tld, names),
        Command::RemovePremium { tld, names } => super::names::remove_premium(cx, tld, names),
        Command::RecordDeposit { tld, cursor } => {
            cx.tld(tld)?;
            cx.tables.put_escrow_cursor(tld, cursor)?;
            Ok(Outcome::Done)
        }
        Command::RunDue => super::due::run(cx),
        Command::RefreshSignatures { tld, owners, nsec3 } => {
            let tld = cx.tld(tld)?;
            if cx.tables.zone_signing(&tld.name)?.is_none() {
                return Err(RegistryError::Invalid(format!("{} is not signed", tld.name)));
            }
            cx.signatures_due(&tld, owners.clone(), nsec3.clone());
            Ok(Outcome::Done)
        }
        Command::RollKey { tld, roll } => super::rollover::roll(cx, tld, *roll),
        Command::DsSeen { tld, key_tag } => super::rollover::ds_seen(cx, tld, *key_tag),
        Command::AdvanceKeys { tld, clean } => super::rollover::advance(cx, tld, *clean),
        Command::CountReads(counts) => {
            for (key, n) in counts {
                cx.tables.count(key, *n)?;
            }
            Ok(Outcome::Done)
        }
        Command::SetCounts(counts) => {
            for (key, n) in counts {
                cx.tables.set_count(key, *n)?;
            }
            Ok(Outcome::Done)
        }
        Command::All(commands) => {
            for command in commands {
                if matches!(command, Command::Import(_) | Command::ImportDeposit(_)) {
                    return Err(RegistryError::Invalid("an import runs alone, not in a command group".into()));
                }
                dispatch(cx, command)?;
            }
            Ok(Outcome::Done)
        }
        #[cfg(test)]
        Command::Fault(fault) => super::tests::inject(cx, fault),
    }
}

fn ack_poll(cx: &mut Cx, id: u64) -> Result<Outcome> {
    let Actor::Registrar(registrar) = cx.actor else {
        return Err(RegistryError::Authorization("only a registrar has a poll queue".into()));
    };
    let registrar = registrar.clone();
    if !cx.tables.poll_remove(&registrar, id)? {
        return Err(RegistryError::not_found(ObjectKind::PollMessage, id));
    }
    Ok(Outcome::PollAcked { remaining: cx.tables.poll_count(&registrar)? })
}
