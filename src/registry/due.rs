//! Lifecycle deadlines: every change that sets one (expiry, the end of a
//! grace period, of a pending transfer or of an RGP phase) records it in the
//! `due` table, and `RunDue` carries out those that have passed — through
//! the writer like any command, with the injected clock deciding what has
//! passed. Each entry is checked against the domain's current state, so
//! entries made stale by later changes are simply dropped.

use super::RegistryError;
use super::command::Outcome;
use super::context::{Cx, Due, Result};
use super::domain::{complete_transfer, purge, relink};
use crate::model::{
    ChangeOperation, ContactId, DomainName, DomainStatus, Grace, GraceKind, Money, PollPayload, Rgp, RgpPhase, TransferStatus,
};

/// Deadlines handled per command, so one run never holds the writer for long;
/// the scheduler runs again while more are due.
pub(super) const DUE_BATCH_MAX: usize = 1000;

/// A deadline whose transition was refused is tried again this much later
/// (and logged), so it is neither lost nor retried in a tight loop.
pub(super) const DUE_RETRY_S: i64 = 300;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let due = cx.tables.due_until(cx.now, DUE_BATCH_MAX)?;
    let handled = due.len();
    let mut deferred = 0;
    for (at, kind, object) in due {
        // Each transition is undone whole if it is refused; the others go on.
        match cx.attempt(|cx| carry_out(cx, at, kind, &object)) {
            Ok(()) => {}
            Err(RegistryError::Store(e)) => return Err(e.into()),
            Err(refusal) => {
                tracing::error!(object = %object, kind, error = %refusal, retry_in_s = DUE_RETRY_S, "lifecycle transition refused");
                cx.tables.due_remove(at, kind, &object)?;
                cx.tables.due_add(cx.now.plus_seconds(DUE_RETRY_S), kind, &object)?;
                deferred += 1;
            }
        }
    }
    Ok(Outcome::Due { handled, deferred, more: handled == DUE_BATCH_MAX })
}

/// Takes one deadline off the table and carries it out.
fn carry_out(cx: &mut Cx, at: crate::model::Timestamp, kind: u8, object: &str) -> Result<()> {
    cx.tables.due_remove(at, kind, object)?;
    match Due::from_u8(kind) {
        Some(Due::ContactTransferApproval) => match ContactId::parse(object) {
            Ok(id) => super::contact::approve_due_transfer(cx, &id),
            Err(_) => {
                tracing::warn!(object, "dropping a contact deadline that names no contact");
                Ok(())
            }
        },
        Some(Due::PhaseEnd) => super::application::phase_end(cx, object),
        Some(kind) => {
            let Ok(name) = DomainName::parse(object) else {
                tracing::warn!(object, "dropping a domain deadline that names no domain");
                return Ok(());
            };
            match kind {
                Due::Expiry => auto_renew(cx, &name),
                Due::GraceEnd => end_grace(cx, &name),
                Due::TransferApproval => approve_transfer(cx, &name),
                Due::RgpEnd => next_rgp_phase(cx, &name),
                Due::ContactTransferApproval | Due::PhaseEnd => unreachable!("matched above"),
            }
        }
        None => {
            tracing::warn!(object, kind, "dropping a deadline of an unknown kind");
            Ok(())
        }
    }
}

/// At expiry the sponsor is charged a year and has 45 days to change its mind.
fn auto_renew(cx: &mut Cx, name: &DomainName) -> Result<()> {
    let Some(before) = cx.tables.domain(name)? else { return Ok(()) };
    if before.expires > cx.now || before.rgp.is_some() {
        return Ok(());
    }
    // Priced as a renewal would be now: in the running phase, at the prices the name was created at.
    let (tld, phase) = cx.tld_in_force(&before.tld)?;
    let premium = cx.premium_of(name)?;
    let prices = premium.as_ref().map(|p| &p.prices);
    let currency = cx.paying_currency(&tld, &before.registrar)?;
    let price =
        crate::model::phase::price_in(&tld.registration, phase.as_ref(), "renew", 1, Some(before.expires), cx.now, prices, &currency);
    let (fee, refundable) = price.map_or((Money(0), Money(0)), |p| (p.total(), p.refundable()));
    let mut after = before.clone();
    after.expires = before.expires.plus_years(1);
    let ends = cx.now.plus_seconds(tld.registration.auto_renew_grace_s);
    let registrar = before.registrar.clone();
    after.grace.push(Grace { kind: GraceKind::AutoRenew, ends, registrar, amount: refundable, currency: currency.clone(), years: 1 });
    cx.tables.put_domain(&after)?;
    // Auto-renewal is owed whatever the balance; it may go below zero.
    cx.adjust_balance(&before.registrar, &currency, Money(-fee.0), "auto-renew", Some(name))?;
    cx.schedule(after.expires, Due::Expiry, name.as_str())?;
    cx.schedule(ends, Due::GraceEnd, name.as_str())?;
    cx.report(&after, ends, &before.registrar, crate::model::report::TransactionField::net_renews(1), 1)?;
    let payload = PollPayload::DomainChange {
        domain: Box::new(after.clone()),
        operation: ChangeOperation::AutoRenew,
        server_transaction: format!("{}-{}", after.roid, cx.now.0),
        who: "registry".into(),
        reason: None,
    };
    cx.notify(&before.registrar, format!("{name} was renewed automatically"), payload)?;
    Ok(())
}

fn end_grace(cx: &mut Cx, name: &DomainName) -> Result<()> {
    let Some(mut domain) = cx.tables.domain(name)? else { return Ok(()) };
    let before = domain.grace.len();
    let now = cx.now;
    domain.grace.retain(|g| g.ends > now);
    if domain.grace.len() != before {
        cx.tables.put_domain(&domain)?;
    }
    Ok(())
}

fn approve_transfer(cx: &mut Cx, name: &DomainName) -> Result<()> {
    let Some(domain) = cx.tables.domain(name)? else { return Ok(()) };
    let pending = domain.transfer.as_ref().is_some_and(|t| t.status == TransferStatus::Pending && t.acted <= cx.now);
    if pending {
        complete_transfer(cx, domain, TransferStatus::ServerApproved)?;
    }
    Ok(())
}

/// Redemption → pending delete → purge; an unreported restore falls back to redemption.
fn next_rgp_phase(cx: &mut Cx, name: &DomainName) -> Result<()> {
    let Some(before) = cx.tables.domain(name)? else { return Ok(()) };
    let Some(rgp) = before.rgp.filter(|r| r.ends <= cx.now) else { return Ok(()) };
    let tld = cx.tld(&before.tld)?;
    let pending_delete =
        |now: crate::model::Timestamp| Rgp { phase: RgpPhase::PendingDelete, ends: now.plus_seconds(tld.registration.pending_delete_s) };
    if matches!(rgp.phase, RgpPhase::PendingRestore { .. }) {
        // The restore was asked for and never reported.
        cx.report(&before, cx.now, &before.registrar, crate::model::report::TransactionField::RestoredNoReport, 1)?;
    }
    let next = match rgp.phase {
        RgpPhase::Redemption => pending_delete(cx.now),
        RgpPhase::PendingRestore { redemption_ends } if redemption_ends > cx.now => {
            Rgp { phase: RgpPhase::Redemption, ends: redemption_ends }
        }
        RgpPhase::PendingRestore { .. } => pending_delete(cx.now),
        RgpPhase::PendingDelete => {
            purge(cx, &before)?;
            let payload = PollPayload::DomainChange {
                domain: Box::new(before.clone()),
                operation: ChangeOperation::AutoPurge,
                server_transaction: format!("{}-{}", before.roid, cx.now.0),
                who: "registry".into(),
                reason: None,
            };
            cx.notify(&before.registrar, format!("{name} was purged"), payload)?;
            return Ok(());
        }
    };
    let mut after = before.clone();
    after.rgp = Some(next);
    after.statuses.insert(DomainStatus::PendingDelete);
    cx.tables.put_domain(&after)?;
    cx.schedule(next.ends, Due::RgpEnd, name.as_str())?;
    relink(cx, Some(&before), Some(&after))?;
    cx.touch(&after.tld, name);
    Ok(())
}
