//! EPP poll (RFC 5730 §2.9.2.3): the oldest queued message of the
//! session's registrar with its count, rendered as a transfer or a change
//! notice (RFC 8590), and acknowledgements.

use super::login::LoggedIn;
use super::mapping::ClientView;
use super::render::{self, MsgQ, Response};
use super::request::PollOp;
use super::result::{EppError, code};
use super::shared::EppShared;
use super::xml;
use crate::model::PollPayload;
use crate::registry::command::Command;
use crate::registry::{Actor, Outcome, RegistryError};

pub(super) async fn poll(op: PollOp, s: &LoggedIn, shared: &EppShared) -> Response {
    let actor = Actor::Registrar(s.registrar.clone());
    match op {
        PollOp::Request => {
            let snapshot = shared.registry.snapshot();
            let (message, count) = match snapshot.poll_first(&s.registrar) {
                Ok(x) => x,
                Err(e) => return EppError::from(RegistryError::from(e)).into_response(),
            };
            let Some(m) = message else { return Response::new(code::OK_NO_MESSAGES) };
            let view = ClientView { snapshot: snapshot.clone(), registrar: s.registrar.clone(), now: shared.clock.now() };
            let mut response = Response::new(code::OK_ACK_TO_DEQUEUE);
            response.msgq = Some(MsgQ { count, id: m.id, queued: m.queued, msg: m.text.clone() });
            match &m.payload {
                PollPayload::DomainTransfer { name, transfer } => response.res_data = Some(super::domain::transfer_data(name, transfer)),
                PollPayload::ContactTransfer { id, transfer } => response.res_data = Some(super::contact::transfer_data(id, transfer)),
                PollPayload::DomainChange { domain, operation, server_transaction, who, reason } => {
                    let mut w = render::fragment();
                    if super::domain::info_data(&mut w, domain, "del", &view).is_ok() {
                        response.res_data = Some(w.finish());
                    }
                    let mut c = render::fragment();
                    c.open("changePoll:changeData", &[("xmlns:changePoll", xml::CHANGE_POLL), ("state", "after")]);
                    c.leaf("changePoll:operation", &[], operation.as_str()).leaf("changePoll:date", &[], &m.queued.to_rfc3339());
                    c.leaf("changePoll:svTRID", &[], server_transaction).leaf("changePoll:who", &[], who);
                    if let Some(r) = reason {
                        c.leaf("changePoll:reason", &[], r);
                    }
                    response = response.extension(xml::CHANGE_POLL, c.finish());
                }
                // RFC 8334 §2.6 with RFC 5731 §3.3: the outcome of an application as a pending action notice.
                PollPayload::Application(a) => {
                    let mut w = render::fragment();
                    w.open("domain:panData", &[("xmlns:domain", xml::DOMAIN)]);
                    let result = if a.status == crate::model::application::ApplicationStatus::Allocated { "1" } else { "0" };
                    w.leaf("domain:name", &[("paResult", result)], a.name.as_str());
                    // trIDType is EPP's own: its elements are in the document's default namespace.
                    w.open("domain:paTRID", &[]).leaf("svTRID", &[], &a.id).close();
                    w.leaf("domain:paDate", &[], &a.updated.unwrap_or(m.queued).to_rfc3339());
                    response.res_data = Some(w.finish());
                    response = response.extension(xml::LAUNCH, super::ext::application_data(a, "launch:infData"));
                }
            }
            response
        }
        PollOp::Ack(id) => match shared.registry.execute_as(actor, Command::AckPoll(id)).await {
            Ok(Outcome::PollAcked { remaining }) => {
                let mut r = Response::new(code::OK);
                r.acked = Some((remaining, id));
                r
            }
            Ok(_) => Response::new(code::OK),
            Err(e) => EppError::from(e).into_response(),
        },
    }
}
