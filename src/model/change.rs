//! The change log's vocabulary: which object a committed change touched,
//! and when. The writer records one entry per object per commit, in the
//! same transaction as the change, numbered in commit order; DIFF escrow
//! deposits read the entries since the previous deposit, and an event
//! stream could follow the same numbers.

use super::{ClientId, ContactId, DomainName, Roid, Timestamp};

/// An object as the change log names it: hosts by ROID, which a rename
/// keeps; the others by the name or id they are stored under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectRef {
    Registrar(ClientId),
    Contact(ContactId),
    Host(Roid),
    Domain(DomainName),
    /// A name that cannot be registered (NNDN), by name.
    Reserved(DomainName),
}

/// One entry of the change log: `object` was created, changed or deleted
/// by the commit at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: Timestamp,
    pub object: ObjectRef,
}

/// The last deposit of one kind of a TLD (escrow, FULL or DIFF; or bulk
/// registration data), kept in the store: the next DIFF holds the changes
/// after `last_change`, and the schedule resumes from `watermark`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EscrowCursor {
    pub id: String,
    /// `full`, `diff` or `thin`, as in the file name.
    pub kind: String,
    pub watermark: Timestamp,
    /// The newest change log entry the deposit includes.
    pub last_change: u64,
    /// The watermark of the FULL deposit this one follows (its own for a FULL).
    pub full_watermark: Timestamp,
}

impl EscrowCursor {
    /// Where the cursor of `kind` deposits of `tld` is kept: escrow deposits
    /// (FULL and DIFF) share one, since a DIFF follows either.
    pub fn key(tld: &DomainName, kind: &str) -> String {
        match kind {
            "thin" => format!("brda:{tld}"),
            _ => format!("escrow:{tld}"),
        }
    }
}
