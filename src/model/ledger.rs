//! A registrar's account history: every debit and credit of its balance —
//! the fees of creates, renewals, transfers and restores, automatic
//! renewals, the credits of grace-period deletes and refused transfers, and
//! the operator's funds — with the command that made it and the balance
//! after it, in the order they were committed. A registrar has an account
//! per currency: a command is paid from the account in its TLD's currency,
//! so fees of TLDs priced in different currencies never mix.

use super::{ClientId, DomainName, Money, Timestamp};

/// The most entries one page of the history holds.
pub const LEDGER_PAGE_MAX: usize = 1_000;

/// A registrar's funds in one currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// ISO 4217 code.
    pub currency: String,
    /// Prepaid funds; billable commands debit it, refunds credit it.
    pub balance: Money,
    /// How far below zero the balance may go.
    pub credit_limit: Money,
}

impl Account {
    pub fn new(currency: &str) -> Account {
        Account { currency: currency.to_string(), balance: Money(0), credit_limit: Money(0) }
    }

    /// What can still be spent: the balance and the credit limit.
    pub fn available(&self) -> Money {
        self.balance + self.credit_limit
    }
}

/// A registrar's accreditation for a TLD: since when, and the account it
/// pays the TLD's fees from — the TLD's currency, or another the TLD takes
/// (its `exchange_rates`), agreed with the registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Accreditation {
    pub since: crate::model::Timestamp,
    pub currency: Option<String>,
}

/// The currency a registrar accredited as `accreditation` pays a TLD of
/// `policy` in: the one the accreditation names while the TLD takes it,
/// else the TLD's own.
pub fn paying_currency<'a>(accreditation: Option<&'a Accreditation>, policy: &'a crate::model::RegistrationPolicy) -> &'a str {
    accreditation.and_then(|a| a.currency.as_deref()).filter(|c| policy.rate_to(c).is_some()).unwrap_or(&policy.currency)
}

/// Checks an ISO 4217 currency code: three upper-case letters.
pub fn check_currency(code: &str) -> Result<(), String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{code:?} is not an ISO 4217 currency code such as USD"))
    }
}

/// One change of a registrar's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerEntry {
    pub registrar: ClientId,
    /// Its place in the registry's history of balance changes (increasing).
    pub seq: u64,
    pub at: Timestamp,
    /// Positive: a credit; negative: a debit.
    pub amount: Money,
    /// The balance after it, in the same currency.
    pub balance: Money,
    /// The account it changed.
    pub currency: String,
    /// What made it (`domain create`, `auto-renew`, `funds`, …).
    pub reason: String,
    /// The domain it was for, if any.
    pub domain: Option<DomainName>,
}
