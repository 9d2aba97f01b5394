//! Contact objects (RFC 5733): created by a registrar (which sponsors
//! them), changed and deleted only by their sponsor, never deleted while a
//! domain names them, transferred with their authorization code (approved by
//! the sponsor, or by the server once the pending period has passed).

use super::account::email;
use super::command::*;
use super::context::{Cx, Due, Result, refuse_clear_auth_info};
use super::credentials::verify_auth_info;
use super::{ObjectKind, RegistryError};
use crate::model::contact as fields;
use crate::model::objects::Phone;
use crate::model::{
    Contact, ContactId, ContactStatus, ContactStatusSet, Money, PollPayload, PostalInfo, RegistrationPolicy, Transfer, TransferStatus,
};

fn settable(cx: &Cx, s: ContactStatus) -> Result<ContactStatus> {
    match () {
        _ if s.is_client() => Ok(s),
        _ if s.is_server() && cx.is_registry() => Ok(s),
        _ if s.is_server() => Err(RegistryError::Authorization(format!("only the registry sets {s}"))),
        _ => Err(RegistryError::Invalid(format!("status {s} is managed by the registry and cannot be set"))),
    }
}

/// The field rules of `model::contact`, as 2005 (value syntax) when broken.
fn check_fields(int: Option<&PostalInfo>, loc: Option<&PostalInfo>, voice: Option<&Phone>, fax: Option<&Phone>) -> Result<()> {
    let postal = int.map(|p| (p, true)).into_iter().chain(loc.map(|p| (p, false)));
    postal
        .map(|(p, int)| fields::check_postal(p, int))
        .chain(voice.into_iter().chain(fax).map(fields::check_phone))
        .collect::<std::result::Result<(), _>>()
        .map_err(RegistryError::Syntax)
}

pub(super) fn create(cx: &mut Cx, spec: &CreateContact) -> Result<Outcome> {
    if cx.tables.contact(&spec.id)?.is_some() {
        return Err(RegistryError::exists(ObjectKind::Contact, &spec.id));
    }
    let registrar = cx.sponsor_for_new(spec.registrar.as_ref())?.id;
    let email = email(&spec.email)?;
    check_fields(spec.postal_int.as_ref(), spec.postal_loc.as_ref(), spec.voice.as_ref(), spec.fax.as_ref())?;
    refuse_clear_auth_info(&spec.auth_info)?;
    let contact = Contact {
        id: spec.id.clone(),
        roid: cx.next_roid('C')?,
        registrar: registrar.clone(),
        postal_int: spec.postal_int.clone(),
        postal_loc: spec.postal_loc.clone(),
        voice: spec.voice.clone(),
        fax: spec.fax.clone(),
        email,
        statuses: ContactStatusSet::default(),
        disclose: spec.disclose.clone(),
        auth_info_hash: spec.auth_info_hash.clone().filter(|a| !a.is_empty()),
        link_count: 0,
        created: cx.now,
        cr_registrar: registrar,
        updated: None,
        up_registrar: None,
        transferred: None,
        transfer: None,
    };
    cx.tables.put_contact(&contact)?;
    Ok(Outcome::Contact(Box::new(contact)))
}

pub(super) fn update(cx: &mut Cx, id: &ContactId, spec: &UpdateContact) -> Result<Outcome> {
    let before = cx.tables.contact(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, id))?;
    cx.sponsor_only(&before.registrar, format!("contact {id}"))?;
    let s = before.statuses;
    let only_statuses = spec.email.is_none()
        && spec.postal_int.is_none()
        && spec.postal_loc.is_none()
        && spec.voice.is_none()
        && spec.fax.is_none()
        && spec.disclose.is_none()
        && spec.auth_info_hash.is_none();
    // RFC 5733 §2.2: while a transfer is pending, only transfer commands apply.
    let locked = s.contains(ContactStatus::ServerUpdateProhibited) && !(cx.is_registry() && only_statuses)
        || (!cx.is_registry() && s.contains(ContactStatus::PendingTransfer))
        || (!cx.is_registry()
            && s.contains(ContactStatus::ClientUpdateProhibited)
            && !(only_statuses && spec.remove_statuses.contains(&ContactStatus::ClientUpdateProhibited)));
    if locked {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {id} prohibit this update")));
    }
    let mut after = before.clone();
    for st in spec.remove_statuses.iter().chain(&spec.add_statuses) {
        settable(cx, *st)?;
    }
    after.statuses.change(&spec.remove_statuses, &spec.add_statuses)?;
    after.statuses.validate()?;
    if let Some(e) = &spec.email {
        after.email = email(e)?;
    }
    check_fields(
        spec.postal_int.as_ref(),
        spec.postal_loc.as_ref(),
        spec.voice.as_ref().and_then(Option::as_ref),
        spec.fax.as_ref().and_then(Option::as_ref),
    )?;
    if spec.postal_int.is_some() {
        after.postal_int = spec.postal_int.clone();
    }
    if spec.postal_loc.is_some() {
        after.postal_loc = spec.postal_loc.clone();
    }
    if let Some(v) = &spec.voice {
        after.voice = v.clone();
    }
    if let Some(v) = &spec.fax {
        after.fax = v.clone();
    }
    if spec.disclose.is_some() {
        after.disclose = spec.disclose.clone();
    }
    refuse_clear_auth_info(&spec.auth_info)?;
    if let Some(hash) = &spec.auth_info_hash {
        after.auth_info_hash = (!hash.is_empty()).then(|| hash.clone());
    }
    after.updated = Some(cx.now);
    after.up_registrar = cx.actor.registrar().cloned().or(after.up_registrar);
    cx.tables.put_contact(&after)?;
    Ok(Outcome::Contact(Box::new(after)))
}

pub(super) fn delete(cx: &mut Cx, id: &ContactId) -> Result<Outcome> {
    let contact = cx.tables.contact(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, id))?;
    cx.sponsor_only(&contact.registrar, format!("contact {id}"))?;
    let s = contact.statuses;
    let client_locked = s.contains(ContactStatus::ClientDeleteProhibited) || s.contains(ContactStatus::PendingTransfer);
    if s.contains(ContactStatus::ServerDeleteProhibited) || (!cx.is_registry() && client_locked) {
        return Err(RegistryError::StatusProhibits(format!("{id} is delete-prohibited")));
    }
    if contact.link_count > 0 {
        return Err(RegistryError::Association(format!("contact {id} is used by {} domain(s)", contact.link_count)));
    }
    cx.tables.delete_contact(id)?;
    Ok(Outcome::Deleted { pending: false, credit: Money(0) })
}

pub(super) fn transfer(cx: &mut Cx, id: &ContactId, op: &TransferOp) -> Result<Outcome> {
    let contact = cx.tables.contact(id)?.ok_or_else(|| RegistryError::not_found(ObjectKind::Contact, id))?;
    match op {
        TransferOp::Request { auth_info, .. } => request_transfer(cx, contact, auth_info),
        TransferOp::Approve | TransferOp::Reject | TransferOp::Cancel => {
            let status = cx.transfer_decision(contact.transfer.as_ref(), op, id.as_str())?;
            finish_transfer(cx, contact, status)
        }
    }
}

fn request_transfer(cx: &mut Cx, contact: Contact, auth_info: &str) -> Result<Outcome> {
    let id = contact.id.clone();
    let Some(gaining) = cx.actor.registrar().cloned() else {
        return Err(RegistryError::Authorization("transfers are requested by the gaining registrar".into()));
    };
    cx.active_registrar(&gaining)?;
    if gaining == contact.registrar {
        return Err(RegistryError::NotTransferable(format!("{id} is already sponsored by {gaining}")));
    }
    let s = contact.statuses;
    if s.contains(ContactStatus::PendingTransfer) {
        return Err(RegistryError::TransferPending(id.to_string()));
    }
    if s.contains(ContactStatus::ClientTransferProhibited) || s.contains(ContactStatus::ServerTransferProhibited) {
        return Err(RegistryError::StatusProhibits(format!("the statuses of {id} prohibit a transfer")));
    }
    if !contact.auth_info_hash.as_deref().is_some_and(|h| verify_auth_info(auth_info, h)) {
        return Err(RegistryError::AuthInfo);
    }
    // Contacts belong to no TLD: the registry-wide default pending period applies.
    let acted = cx.now.plus_seconds(RegistrationPolicy::default().transfer_pending_s);
    let transfer = Transfer {
        status: TransferStatus::Pending,
        gaining: gaining.clone(),
        requested: cx.now,
        losing: contact.registrar.clone(),
        acted,
        years: 0,
        new_expires: None,
        fee: Money(0),
        currency: None,
    };
    let mut after = contact.clone();
    after.statuses.insert(ContactStatus::PendingTransfer);
    after.transfer = Some(transfer.clone());
    cx.tables.put_contact(&after)?;
    cx.schedule(acted, Due::ContactTransferApproval, id.as_str())?;
    let payload = PollPayload::ContactTransfer { id: id.clone(), transfer: transfer.clone() };
    cx.notify(&contact.registrar, format!("Transfer of contact {id} requested by {gaining}"), payload)?;
    Ok(Outcome::ContactTransfer { id, transfer, pending: true })
}

/// Approves (moving the contact), rejects or cancels a pending transfer and tells the other side.
fn finish_transfer(cx: &mut Cx, contact: Contact, status: TransferStatus) -> Result<Outcome> {
    let id = contact.id.clone();
    let mut transfer = contact.transfer.clone().expect("a pending transfer");
    transfer.status = status;
    transfer.acted = cx.now;
    let mut after = contact.clone();
    after.statuses.remove(ContactStatus::PendingTransfer);
    if matches!(status, TransferStatus::ClientApproved | TransferStatus::ServerApproved) {
        after.registrar = transfer.gaining.clone();
        after.transferred = Some(cx.now);
        // RFC 9154: the code that moved the object is spent.
        after.auth_info_hash = None;
    }
    after.transfer = Some(transfer.clone());
    cx.tables.put_contact(&after)?;
    let payload = PollPayload::ContactTransfer { id: id.clone(), transfer: transfer.clone() };
    let text = format!("Transfer of contact {id}: {}", status.as_str());
    // The registrar that did not act is told; on server approval, both are.
    let told = match status {
        TransferStatus::ClientCancelled => vec![&transfer.losing],
        TransferStatus::ServerApproved => vec![&transfer.gaining, &transfer.losing],
        _ => vec![&transfer.gaining],
    };
    for to in told {
        cx.notify(to, text.clone(), payload.clone())?;
    }
    Ok(Outcome::ContactTransfer { id, transfer, pending: false })
}

/// The pending period has passed without the sponsor acting.
pub(super) fn approve_due_transfer(cx: &mut Cx, id: &ContactId) -> Result<()> {
    let Some(contact) = cx.tables.contact(id)? else { return Ok(()) };
    if contact.transfer.as_ref().is_some_and(|t| t.status == TransferStatus::Pending && t.acted <= cx.now) {
        finish_transfer(cx, contact, TransferStatus::ServerApproved)?;
    }
    Ok(())
}
