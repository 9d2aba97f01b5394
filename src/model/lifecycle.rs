//! The domain lifecycle of an ICANN-style registry (RFC 3915, the spec
//! digest §2): grace periods with credits, auto-renew at expiry, redemption,
//! pending delete and purge, restore, and transfers that wait for the losing
//! registrar or the clock. Money in minor units. Pure rules: they take the
//! domain's state, the TLD's policy and "now", and say what happens.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::ClientId;
use super::time::Timestamp;

/// An amount in the TLD's currency, in hundredths (cents). Stored as the
/// number; shown (JSON) as a decimal string such as `"12.50"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_string()) } else { s.serialize_i64(self.0) }
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            Money::parse(&text).map_err(serde::de::Error::custom)
        } else {
            i64::deserialize(d).map(Money)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an amount with at most two decimals")]
pub struct MoneyError(pub String);

impl Money {
    /// Parses `12`, `12.5`, `12.50` or `-5.00` (more decimals only when they are zeros).
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let err = || MoneyError(text.to_string());
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if frac.len() > 2 && frac[2..].bytes().any(|b| b != b'0') {
            return Err(err());
        }
        let cents_text = format!("{:0<2}", &frac[..frac.len().min(2)]);
        let whole: i64 = whole.parse().map_err(|_| err())?;
        let cents: i64 = cents_text.parse().map_err(|_| err())?;
        let value = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(err)?;
        Ok(Money(if negative { -value } else { value }))
    }

    pub fn times(self, n: u32) -> Money {
        Money(self.0.saturating_mul(n as i64))
    }

    pub fn checked_add(self, o: Money) -> Option<Money> {
        self.0.checked_add(o.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }
}

/// How many units of another currency one unit of a TLD's own currency is
/// worth, in millionths (`0.92` is 920,000): a TLD that also takes that
/// currency converts every price at this rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

impl Rate {
    /// One to one: the TLD's own currency.
    pub const PAR: Rate = Rate(1_000_000);
    /// Far beyond any real rate, so that a conversion cannot overflow.
    const MAX: u64 = 1_000_000 * 1_000_000;

    /// Parses a positive decimal of at most six decimals, such as `0.92` or `150`.
    pub fn parse(text: &str) -> Result<Rate, MoneyError> {
        let err = || MoneyError(format!("{text:?} is not a positive exchange rate of at most six decimals"));
        let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if whole.is_empty() || frac.len() > 6 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let whole: u64 = whole.parse().map_err(|_| err())?;
        let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| err())?;
        match whole.checked_mul(1_000_000).and_then(|w| w.checked_add(frac)) {
            Some(ppm) if ppm > 0 && ppm <= Self::MAX => Ok(Rate(ppm)),
            _ => Err(err()),
        }
    }

    /// `amount` in the other currency, to the nearest hundredth (halves away from zero).
    pub fn convert(self, amount: Money) -> Money {
        let scaled = i128::from(amount.0) * i128::from(self.0);
        let half = if scaled < 0 { -500_000 } else { 500_000 };
        Money(i64::try_from((scaled + half) / 1_000_000).unwrap_or(if scaled < 0 { i64::MIN } else { i64::MAX }))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frac = format!("{:06}", self.0 % 1_000_000);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() { write!(f, "{}", self.0 / 1_000_000) } else { write!(f, "{}.{frac}", self.0 / 1_000_000) }
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_string()) } else { s.serialize_u64(self.0) }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            Rate::parse(&String::deserialize(d)?).map_err(|e| serde::de::Error::custom(e.0))
        } else {
            u64::deserialize(d).map(Rate)
        }
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    /// Saturates: far beyond any real balance, and the writer must never panic on arithmetic.
    fn add(self, o: Money) -> Money {
        Money(self.0.saturating_add(o.0))
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0.saturating_sub(o.0))
    }
}

/// Periods and prices of a TLD's registrations (defaults from the digest §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationPolicy {
    pub add_grace_s: i64,
    pub renew_grace_s: i64,
    pub auto_renew_grace_s: i64,
    pub transfer_grace_s: i64,
    /// A transfer nobody acts on is approved by the server after this long.
    pub transfer_pending_s: i64,
    pub redemption_s: i64,
    pub pending_delete_s: i64,
    pub pending_restore_s: i64,
    /// Longest registration, and how far ahead an expiry may lie (years).
    pub years_max: u32,
    /// Days after creation or a transfer during which a transfer is refused (0: none).
    pub transfer_lock_days: u32,
    /// ISO 4217 currency of the prices below.
    pub currency: String,
    /// Other currencies registrars may pay in, each with its rate from
    /// `currency`: every price is converted (`Price::converted`).
    #[serde(default)]
    pub exchange_rates: std::collections::BTreeMap<String, Rate>,
    /// Standard prices of whole periods, instead of years times the yearly price below.
    #[serde(default)]
    pub period_prices: Vec<PeriodPrice>,
    /// Price of one year for create, renew (also auto-renew) and transfer; restore once.
    pub create_price: Money,
    pub renew_price: Money,
    pub transfer_price: Money,
    pub restore_price: Money,
    pub contacts: ContactPolicy,
}

const DAY: i64 = 86_400;

/// What a billable command costs and how it is refunded (RFC 8748 `fee:command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub amount: Money,
    /// Years the price covers (shown as `fee:period`); 0 for one-off fees.
    pub years: u32,
    /// Grace period in which the fee is refunded on delete (0: none).
    pub grace_s: i64,
    /// Fees beside the price, of the phase running (`model::phase`).
    pub fees: Vec<super::phase::NamedFee>,
    /// The ISO 4217 currency of the amounts.
    pub currency: String,
}

impl Price {
    /// The price in `currency`: each part converted at `rate`, so that the
    /// total is the sum of the parts shown.
    pub fn converted(mut self, currency: &str, rate: Rate) -> Price {
        if currency == self.currency {
            return self;
        }
        self.currency = currency.to_string();
        self.amount = rate.convert(self.amount);
        for fee in &mut self.fees {
            fee.amount = rate.convert(fee.amount);
        }
        self
    }

    /// The price and its named fees.
    pub fn total(&self) -> Money {
        self.fees.iter().fold(self.amount, |sum, f| sum + f.amount)
    }

    /// What a delete in the grace period credits back: the price and the
    /// refundable named fees.
    pub fn refundable(&self) -> Money {
        self.fees.iter().filter(|f| f.refundable).fold(self.amount, |sum, f| sum + f.amount)
    }
}

/// A premium name's yearly prices, instead of the TLD's (`model::premium`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PremiumPrices {
    pub create: Money,
    pub renew: Money,
    pub transfer: Money,
}

impl PremiumPrices {
    /// The prices of a name: `premium` ones, or the policy's, with the
    /// create price of an allocation token instead when it has one.
    pub fn of(policy: &RegistrationPolicy, premium: Option<&PremiumPrices>, create_override: Option<Money>) -> Option<PremiumPrices> {
        match create_override {
            Some(create) => Some(PremiumPrices {
                create,
                renew: premium.map_or(policy.renew_price, |p| p.renew),
                transfer: premium.map_or(policy.transfer_price, |p| p.transfer),
            }),
            None => premium.copied(),
        }
    }
}

/// The commands a TLD can price by period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodCommand {
    Create,
    Renew,
    Transfer,
}

impl PeriodCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodCommand::Create => "create",
            PeriodCommand::Renew => "renew",
            PeriodCommand::Transfer => "transfer",
        }
    }
}

/// The standard price of a whole period of a command, instead of its
/// years times the yearly price: a multi-year discount, or a first year
/// priced apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodPrice {
    pub command: PeriodCommand,
    pub years: u32,
    pub amount: Money,
}

/// How many period prices a TLD has at most.
pub const PERIOD_PRICES_MAX: usize = 32;

/// How many other currencies a TLD takes at most.
pub const EXCHANGE_RATES_MAX: usize = 16;

impl RegistrationPolicy {
    /// The rate from the TLD's currency to `currency`, if the TLD takes it.
    pub fn rate_to(&self, currency: &str) -> Option<Rate> {
        if currency == self.currency { Some(Rate::PAR) } else { self.exchange_rates.get(currency).copied() }
    }

    /// The currencies the TLD takes: its own, then the others.
    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.currency.as_str()).chain(self.exchange_rates.keys().map(String::as_str).filter(|c| *c != self.currency))
    }

    /// Renewal years a restore includes: one when the domain expired in the
    /// meantime, so that it comes back unexpired.
    pub fn restore_renewal_years(expires: Timestamp, now: Timestamp) -> u32 {
        u32::from(expires <= now)
    }

    /// The price of `command` for `years`, `expires` being the domain's
    /// expiry when it exists (a restore of an expired domain includes a
    /// renewal), at `premium`'s prices for a premium name. The writer
    /// charges exactly what this quotes.
    pub fn price(
        &self,
        command: &str,
        years: u32,
        expires: Option<Timestamp>,
        now: Timestamp,
        premium: Option<&PremiumPrices>,
    ) -> Option<Price> {
        let currency = self.currency.clone();
        let of = |amount, years, grace_s| Price { amount, years, grace_s, fees: Vec::new(), currency: currency.clone() };
        // A name at standard prices pays the period's price where the TLD has one.
        let yearly = |command: PeriodCommand, per_year: Money, grace_s| {
            let period = self.period_prices.iter().find(|p| p.command == command && p.years == years).filter(|_| premium.is_none());
            of(period.map_or(per_year.times(years), |p| p.amount), years, grace_s)
        };
        let renew_price = premium.map_or(self.renew_price, |p| p.renew);
        Some(match command {
            "create" => yearly(PeriodCommand::Create, premium.map_or(self.create_price, |p| p.create), self.add_grace_s),
            "renew" => yearly(PeriodCommand::Renew, renew_price, self.renew_grace_s),
            "transfer" => yearly(PeriodCommand::Transfer, premium.map_or(self.transfer_price, |p| p.transfer), self.transfer_grace_s),
            "restore" => {
                let renewal = expires.map_or(0, |e| Self::restore_renewal_years(e, now));
                of(renew_price.times(renewal) + self.restore_price, 0, 0)
            }
            "delete" | "update" => of(Money(0), 0, 0),
            _ => return None,
        })
    }
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        RegistrationPolicy {
            add_grace_s: 5 * DAY,
            renew_grace_s: 5 * DAY,
            auto_renew_grace_s: 45 * DAY,
            transfer_grace_s: 5 * DAY,
            transfer_pending_s: 5 * DAY,
            redemption_s: 30 * DAY,
            pending_delete_s: 5 * DAY,
            pending_restore_s: 7 * DAY,
            years_max: 10,
            transfer_lock_days: 0,
            currency: "USD".into(),
            exchange_rates: Default::default(),
            period_prices: Vec::new(),
            create_price: Money(1000),
            renew_price: Money(1000),
            transfer_price: Money(1000),
            restore_price: Money(4000),
            contacts: ContactPolicy::default(),
        }
    }
}

/// Whether a contact role must, may or may not be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    Mandatory,
    #[default]
    Optional,
    Prohibited,
}

/// Contact roles per domain: the "minimum data set" prohibits all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactPolicy {
    pub registrant: Requirement,
    pub admin: Requirement,
    pub tech: Requirement,
    pub billing: Requirement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraceKind {
    Add,
    Renew,
    AutoRenew,
    Transfer,
}

impl GraceKind {
    /// RFC 3915 `rgpStatus` value.
    pub fn rgp_status(self) -> &'static str {
        match self {
            GraceKind::Add => "addPeriod",
            GraceKind::Renew => "renewPeriod",
            GraceKind::AutoRenew => "autoRenewPeriod",
            GraceKind::Transfer => "transferPeriod",
        }
    }
}

/// A grace period: deleting the domain before `ends` credits `amount` back
/// to `registrar`'s account in `currency`, the one it was paid from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grace {
    pub kind: GraceKind,
    pub ends: Timestamp,
    pub registrar: ClientId,
    pub amount: Money,
    pub currency: String,
    pub years: u32,
}

/// Where a deleted domain is in the redemption grace process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RgpPhase {
    /// Restorable until `ends`.
    Redemption,
    /// A restore was requested; a report must follow before `ends`.
    PendingRestore { redemption_ends: Timestamp },
    /// No longer restorable; purged at `ends`.
    PendingDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgp {
    pub phase: RgpPhase,
    pub ends: Timestamp,
}

impl Rgp {
    pub fn rgp_status(&self) -> &'static str {
        match self.phase {
            RgpPhase::Redemption => "redemptionPeriod",
            RgpPhase::PendingRestore { .. } => "pendingRestore",
            RgpPhase::PendingDelete => "pendingDelete",
        }
    }
}

/// RFC 5730 `trStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferStatus {
    Pending,
    ClientApproved,
    ClientRejected,
    ClientCancelled,
    ServerApproved,
    ServerCancelled,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "pending",
            TransferStatus::ClientApproved => "clientApproved",
            TransferStatus::ClientRejected => "clientRejected",
            TransferStatus::ClientCancelled => "clientCancelled",
            TransferStatus::ServerApproved => "serverApproved",
            TransferStatus::ServerCancelled => "serverCancelled",
        }
    }
}

/// The latest transfer of an object (RFC 5731 `trnData`), pending or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub status: TransferStatus,
    /// Requesting (gaining) registrar.
    pub gaining: ClientId,
    pub requested: Timestamp,
    /// Losing registrar.
    pub losing: ClientId,
    /// When the losing registrar must act by (pending) or acted (done).
    pub acted: Timestamp,
    pub years: u32,
    /// Expiry the domain gets (or got) when the transfer completes.
    pub new_expires: Option<Timestamp>,
    /// Charged to the gaining registrar at the request; credited back if it fails.
    pub fee: Money,
    /// The gaining registrar's account the fee came from (none: nothing
    /// was charged, as for a contact).
    pub currency: Option<String>,
}

/// Drops grace periods that have ended.
pub fn current_grace(grace: &[Grace], now: Timestamp) -> impl Iterator<Item = &Grace> {
    grace.iter().filter(move |g| g.ends > now)
}

/// What a registrar's delete does (digest §2, "Delete, by phase").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Deleted at once (within the add grace period), answered 1000; otherwise redemption, 1001.
    pub immediate: bool,
    /// Credits to give back, per registrar and the currency it paid in,
    /// and the years they took off the expiry.
    pub credits: Vec<(ClientId, String, Money)>,
    pub years_refunded: u32,
}

pub fn delete_outcome(grace: &[Grace], now: Timestamp) -> DeleteOutcome {
    let active: Vec<&Grace> = current_grace(grace, now).collect();
    let immediate = active.iter().any(|g| g.kind == GraceKind::Add);
    let credits = active.iter().map(|g| (g.registrar.clone(), g.currency.clone(), g.amount)).collect();
    let years_refunded = active.iter().filter(|g| g.kind != GraceKind::Add).map(|g| g.years).sum();
    DeleteOutcome { immediate, credits, years_refunded }
}

/// The latest expiry allowed now: `years_max` years ahead.
pub fn expiry_horizon(now: Timestamp, policy: &RegistrationPolicy) -> Timestamp {
    now.plus_years(policy.years_max as i32)
}

/// Whether `years` is an acceptable registration period under `policy`.
pub fn valid_period(years: u32, policy: &RegistrationPolicy) -> bool {
    (1..=policy.years_max).contains(&years)
}

/// RFC 9154 §4.3: an authorization code must carry real entropy. We ask for
/// 16 to 64 printable characters drawing on at least three character classes.
pub fn strong_auth_info(pw: &str) -> bool {
    let len = pw.chars().count();
    if !(16..=64).contains(&len) || pw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let classes = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    classes.iter().filter(|c| **c).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }

    #[test]
    fn a_rate_converts_each_part_of_a_price_to_the_nearest_hundredth() {
        let rate = Rate::parse("0.925").unwrap();
        assert_eq!((rate, rate.to_string()), (Rate(925_000), "0.925".to_string()));
        assert_eq!(Rate::parse("150").unwrap().to_string(), "150");
        for bad in ["0", "0.0000001", "-1", "1e3", "", ".5", "2000000"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(rate.convert(Money(1000)), Money(925));
        assert_eq!(rate.convert(Money(1)), Money(1), "0.925 of a cent rounds up");
        assert_eq!(Rate::parse("0.5").unwrap().convert(Money(-3)), Money(-2), "halves away from zero");
        let fee = super::super::phase::NamedFee {
            command: super::super::phase::FeeCommand::Create,
            description: "Sunrise fee".into(),
            amount: Money(333),
            refundable: false,
        };
        let price = Price { amount: Money(1001), years: 1, grace_s: 0, fees: vec![fee], currency: "USD".into() }.converted("EUR", rate);
        assert_eq!((price.amount, price.fees[0].amount, price.total()), (Money(926), Money(308), Money(1234)));
        assert_eq!(price.currency, "EUR");
        let policy = RegistrationPolicy { exchange_rates: [("EUR".to_string(), rate)].into(), ..Default::default() };
        assert_eq!((policy.rate_to("USD"), policy.rate_to("EUR"), policy.rate_to("GBP")), (Some(Rate::PAR), Some(rate), None));
        assert_eq!(policy.currencies().collect::<Vec<_>>(), ["USD", "EUR"]);
    }

    #[test]
    fn a_period_price_replaces_its_years_times_the_yearly_price_of_standard_names() {
        let two_years = PeriodPrice { command: PeriodCommand::Renew, years: 2, amount: Money(1500) };
        let policy = RegistrationPolicy { period_prices: vec![two_years], ..Default::default() };
        let now = Timestamp::from_unix_seconds(0);
        let amount = |command, years, premium: Option<&PremiumPrices>| policy.price(command, years, None, now, premium).unwrap().amount;
        assert_eq!(
            (amount("renew", 2, None), amount("renew", 3, None), amount("create", 2, None)),
            (Money(1500), Money(3000), Money(2000))
        );
        let premium = PremiumPrices { create: Money(5000), renew: Money(5000), transfer: Money(5000) };
        assert_eq!(amount("renew", 2, Some(&premium)), Money(10_000), "a premium name keeps its own prices");
    }

    #[test]
    fn money_parses_and_prints() {
        assert_eq!(Money::parse("12").unwrap(), Money(1200));
        assert_eq!(Money::parse("12.5").unwrap(), Money(1250));
        assert_eq!(Money::parse("0.05").unwrap(), Money(5));
        assert_eq!(Money::parse("-5.00").unwrap(), Money(-500));
        assert_eq!(Money::parse("7.000").unwrap(), Money(700));
        assert!(Money::parse("7.001").is_err());
        assert!(Money::parse("1e3").is_err());
        assert!(Money::parse("").is_err());
        assert!(Money::parse(".5").is_err());
        assert_eq!(Money(-1250).to_string(), "-12.50");
        assert_eq!(Money(5).to_string(), "0.05");
    }

    #[test]
    fn deletes_by_phase() {
        let now = Timestamp::from_unix_seconds(1_000_000);
        let later = now.plus_seconds(100);
        let add =
            Grace { kind: GraceKind::Add, ends: later, registrar: id("reg-a"), amount: Money(1000), currency: "USD".into(), years: 1 };
        let renew =
            Grace { kind: GraceKind::Renew, ends: later, registrar: id("reg-a"), amount: Money(2000), currency: "USD".into(), years: 2 };
        let expired =
            Grace { kind: GraceKind::Renew, ends: now, registrar: id("reg-a"), amount: Money(9999), currency: "USD".into(), years: 9 };

        let o = delete_outcome(std::slice::from_ref(&add), now);
        assert!(o.immediate);
        assert_eq!(o.credits, vec![(id("reg-a"), "USD".to_string(), Money(1000))]);

        let o = delete_outcome(&[renew.clone(), expired.clone()], now);
        assert!(!o.immediate, "outside the add grace period: redemption");
        assert_eq!((o.credits.len(), o.years_refunded), (1, 2));

        let o = delete_outcome(&[expired], now);
        assert!(!o.immediate && o.credits.is_empty());
    }

    #[test]
    fn periods_and_codes() {
        let p = RegistrationPolicy::default();
        assert!(valid_period(1, &p) && valid_period(10, &p));
        assert!(!valid_period(0, &p) && !valid_period(11, &p));
        assert!(strong_auth_info("Correct-Horse-42x"));
        assert!(!strong_auth_info("short1A!"));
        assert!(!strong_auth_info("alllowercaseletters"));
        assert!(!strong_auth_info("with space Inside 1"));
    }
}
