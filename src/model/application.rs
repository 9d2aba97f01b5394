//! Launch applications (RFC 8334 §2.3, §3.3): in a phase that collects
//! them (an end-date sunrise, a landrush), a registrar's create makes an
//! application for the name instead of a domain, and several registrars
//! may apply for one name. The application is paid for when it is made.
//! When the phase ends, a name with one application is allocated to it
//! (the domain is created for its registrar) and a name with more waits in
//! `pendingAllocation` until the operator allocates it to one of them
//! (after an auction, say), which rejects the others. A rejected or
//! withdrawn application gets back what it paid but for the fees that are
//! not refundable.

use super::{ClientId, ContactId, DomainContact, DomainName, DsData, HostName, Money, Timestamp};

/// RFC 8334 §2.3 application statuses this registry gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplicationStatus {
    /// Made, and its mark (sunrise) or notice (claims) checked as it was.
    Validated,
    /// Its phase is over and other applications want the same name.
    PendingAllocation,
    /// The domain was created for it.
    Allocated,
    /// Another application was allocated the name, or the operator refused it.
    Rejected,
}

impl ApplicationStatus {
    /// The RFC 8334 `launch:status s` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Validated => "validated",
            ApplicationStatus::PendingAllocation => "pendingAllocation",
            ApplicationStatus::Allocated => "allocated",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    /// Whether the application can still be allocated (or withdrawn).
    pub fn is_open(self) -> bool {
        matches!(self, ApplicationStatus::Validated | ApplicationStatus::PendingAllocation)
    }
}

/// One application: what the domain's create would carry, the phase it was
/// made in (by its start), and what it paid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Application {
    /// The RFC 8334 `applicationID` (a ROID of its own).
    pub id: String,
    pub tld: DomainName,
    pub name: DomainName,
    /// The phase it was made in: its kind, a custom phase's name, and its start.
    pub phase: super::phase::PhaseKind,
    pub phase_name: Option<String>,
    pub phase_starts: Timestamp,
    pub registrar: ClientId,
    pub created: Timestamp,
    pub updated: Option<Timestamp>,
    pub status: ApplicationStatus,
    pub period_years: u32,
    pub registrant: Option<ContactId>,
    pub contacts: Vec<DomainContact>,
    pub nameservers: Vec<HostName>,
    pub ds: Vec<DsData>,
    #[serde(skip)]
    pub auth_info_hash: Option<String>,
    /// Charged when it was made, in `currency`.
    pub fee: Money,
    /// The part of `fee` a rejection or a withdrawal gives back.
    pub refundable: Money,
    pub currency: String,
    /// The signed mark's id (sunrise) or the claims notice's id, for the LORDN files.
    pub lordn_id: Option<String>,
    /// When a claims notice was accepted.
    pub notice_accepted: Option<Timestamp>,
}

/// What a phase's end does to the open applications of one name: allocate
/// the one there is, or leave several to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtPhaseEnd {
    Allocate,
    AwaitAllocation,
}

/// What the end of its phase does to the open applications for one name
/// (`open` of them), if anything.
pub fn at_phase_end(open: usize) -> Option<AtPhaseEnd> {
    match open {
        0 => None,
        1 => Some(AtPhaseEnd::Allocate),
        _ => Some(AtPhaseEnd::AwaitAllocation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_one_application_is_allocated_and_one_with_more_waits() {
        assert_eq!(at_phase_end(0), None);
        assert_eq!(at_phase_end(1), Some(AtPhaseEnd::Allocate));
        assert_eq!(at_phase_end(3), Some(AtPhaseEnd::AwaitAllocation));
        assert!(ApplicationStatus::PendingAllocation.is_open() && !ApplicationStatus::Rejected.is_open());
        assert_eq!(ApplicationStatus::PendingAllocation.as_str(), "pendingAllocation");
    }
}
