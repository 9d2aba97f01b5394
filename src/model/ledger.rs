//! A registrar's account history: every debit and credit of its balance —
//! the fees of creates, renewals, transfers and restores, automatic
//! renewals, the credits of grace-period deletes and refused transfers, and
//! the operator's funds — with the command that made it and the balance
//! after it, in the order they were committed.

use super::{ClientId, DomainName, Money, Timestamp};

/// The most entries one page of the history holds.
pub const LEDGER_PAGE_MAX: usize = 1_000;

/// One change of a registrar's balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerEntry {
    pub registrar: ClientId,
    /// Its place in the registry's history of balance changes (increasing).
    pub seq: u64,
    pub at: Timestamp,
    /// Positive: a credit; negative: a debit.
    pub amount: Money,
    /// The balance after it.
    pub balance: Money,
    /// What made it (`domain create`, `auto-renew`, `funds`, …).
    pub reason: String,
    /// The domain it was for, if any.
    pub domain: Option<DomainName>,
}
