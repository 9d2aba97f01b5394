//! Service messages queued for a registrar (RFC 5730 `<poll>`): transfer
//! notices to both sides, and changes the registry made to objects the
//! registrar sponsors (RFC 8590 change poll).

use super::ContactId;
use super::lifecycle::Transfer;
use super::name::DomainName;
use super::objects::Domain;
use super::time::Timestamp;

/// RFC 8590 `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOperation {
    Create,
    Delete,
    Renew,
    Transfer,
    Update,
    Restore,
    AutoRenew,
    AutoDelete,
    AutoPurge,
}

impl ChangeOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOperation::Create => "create",
            ChangeOperation::Delete => "delete",
            ChangeOperation::Renew => "renew",
            ChangeOperation::Transfer => "transfer",
            ChangeOperation::Update => "update",
            ChangeOperation::Restore => "restore",
            ChangeOperation::AutoRenew => "autoRenew",
            ChangeOperation::AutoDelete => "autoDelete",
            ChangeOperation::AutoPurge => "autoPurge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollPayload {
    /// A domain transfer event, with the transfer data as it stands.
    DomainTransfer { name: DomainName, transfer: Transfer },
    /// The registry changed a domain this registrar sponsors: the domain after the change.
    DomainChange { domain: Box<Domain>, operation: ChangeOperation, server_transaction: String, who: String, reason: Option<String> },
    /// A contact transfer event (appended last: stored messages keep their variant numbers).
    ContactTransfer { id: ContactId, transfer: Transfer },
    /// A launch application was allocated or rejected: the application after it.
    Application(Box<super::application::Application>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollMessage {
    pub id: u64,
    pub queued: Timestamp,
    /// Human-readable `<msg>`.
    pub text: String,
    pub payload: PollPayload,
}
