//! The registry's pure core: names, identifiers, statuses, objects, policies
//! and the rules over them, including what a TLD zone contains. Nothing here
//! knows about storage, tasks, XML or HTTP, so every rule is unit-tested with
//! plain values and a manual clock.
//!
//! Must not: do I/O, or know redb, tokio, HTTP or XML.

pub mod application;
pub mod cds;
pub mod change;
pub mod contact;
pub mod disclosure;
pub mod dnssec;
pub mod iana;
pub mod idn;
pub mod ids;
pub mod ledger;
pub mod lifecycle;
pub mod name;
pub mod net;
pub mod objects;
pub mod phase;
pub mod poll;
pub mod premium;
pub mod report;
pub mod reserved;
pub mod rollover;
pub mod status;
pub mod time;
pub mod tmch;
pub mod token;
pub mod zone;

pub use ids::*;
pub use lifecycle::{Grace, GraceKind, Money, RegistrationPolicy, Rgp, RgpPhase, Transfer, TransferStatus};
pub use name::{DomainName, HostName, NameError};
pub use net::{AddrError, IpPrefix};
pub use objects::*;
pub use poll::{ChangeOperation, PollMessage, PollPayload};
pub use status::{ContactStatus, ContactStatusSet, DomainStatus, DomainStatusSet, HostStatus, HostStatusSet, StatusError};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
