//! A TLD's launch timeline (RFC 8334 phases): phases that follow each other
//! without overlapping — sunrise (creates by holders of signed marks),
//! landrush or another limited registration phase, general availability
//! (`open`), general availability under trademark claims (`claims`), or
//! `closed` — each from its start to its end (the last may have none). The
//! phase of a moment is the one running then; a TLD without a timeline is
//! in general availability, and one whose timeline has not begun, or has a
//! gap, is closed. Phases that have begun cannot change.
//!
//! A phase has terms of its own (`PhaseTerms`): prices and policy that
//! replace the TLD's for every command made while it runs, and named fees
//! charged beside the price (`price_in`, which both a fee quote and the
//! writer's charge come from).

use super::lifecycle::{PeriodCommand, PremiumPrices, Price, RegistrationPolicy};
use super::{DomainName, Money, Timestamp};

/// How many phases a TLD's timeline holds at most.
pub const PHASES_MAX: usize = 32;

/// RFC 8334 phase names this registry runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    /// A limited registration phase before general availability.
    Landrush,
    /// General availability.
    Open,
    /// No registrations.
    Closed,
    /// A phase of the operator's own, named by `Phase::name` (`launch:phase name="…"`).
    Custom,
    /// Creates only with a signed mark holding the label (start-date sunrise).
    Sunrise,
    /// General availability, but a create of a label on the DNL carries a
    /// claims notice for it.
    Claims,
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Landrush => "landrush",
            PhaseKind::Open => "open",
            PhaseKind::Closed => "closed",
            PhaseKind::Custom => "custom",
            PhaseKind::Sunrise => "sunrise",
            PhaseKind::Claims => "claims",
        }
    }
}

/// One phase of a TLD's timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Phase {
    pub tld: DomainName,
    pub kind: PhaseKind,
    /// A custom phase's name.
    pub name: Option<String>,
    pub starts: Timestamp,
    pub ends: Option<Timestamp>,
    /// The yearly create price in this phase, instead of the name's.
    pub create_price: Option<Money>,
    #[serde(flatten)]
    pub terms: PhaseTerms,
}

/// What a phase sets beside its dates. Prices and periods left `None` are
/// the TLD's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhaseTerms {
    /// The phase collects applications (RFC 8334 §2.3), allocated when it
    /// ends (`model::application`), instead of registering domains.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub applications: bool,
    /// Early access: the create price of each day of the phase, declining.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily_create_prices: Vec<Money>,
    /// Trademark claims beside a landrush, open or custom phase.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claims: bool,
    /// The label lengths the phase takes, in characters (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_lengths: Option<(u8, u8)>,
    /// Yearly renewal (and auto-renewal) price of names at standard prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_price: Option<Money>,
    /// Yearly transfer price of names at standard prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_price: Option<Money>,
    /// The add grace period of creates made in the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_grace_s: Option<i64>,
    /// The longest registration, and how far ahead an expiry may lie, in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years_max: Option<u32>,
    /// Days after a create or transfer in which a transfer requested in the phase is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_lock_days: Option<u32>,
    /// Fees charged beside the price (fee-1.0 `description`, `refundable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<NamedFee>,
}

/// The commands a named fee can fall on. A renewal's fall on auto-renewals
/// too. Transfers have none: a pending transfer keeps one fee, all of which
/// a transfer that does not complete gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeeCommand {
    Create,
    Renew,
    Restore,
}

impl FeeCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeCommand::Create => "create",
            FeeCommand::Renew => "renew",
            FeeCommand::Restore => "restore",
        }
    }
}

/// A fee a command pays once beside its price, such as a sunrise
/// application fee. A refundable one is credited back with the price by a
/// delete in the command's grace period; another never is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFee {
    pub command: FeeCommand,
    pub description: String,
    pub amount: Money,
    #[serde(default)]
    pub refundable: bool,
}

/// How many named fees a phase has at most.
pub const NAMED_FEES_MAX: usize = 8;

impl PhaseTerms {
    /// `policy` as the phase changes it.
    pub fn policy(&self, policy: &RegistrationPolicy) -> RegistrationPolicy {
        let mut p = policy.clone();
        // The phase's own yearly price goes before the TLD's prices by period.
        let own = |c: PeriodCommand| match c {
            PeriodCommand::Create => false,
            PeriodCommand::Renew => self.renew_price.is_some(),
            PeriodCommand::Transfer => self.transfer_price.is_some(),
        };
        p.period_prices.retain(|pp| !own(pp.command));
        let or = |own: Option<Money>, tld: Money| own.unwrap_or(tld);
        p.renew_price = or(self.renew_price, p.renew_price);
        p.transfer_price = or(self.transfer_price, p.transfer_price);
        p.restore_price = or(self.restore_price, p.restore_price);
        p.add_grace_s = self.add_grace_s.unwrap_or(p.add_grace_s);
        p.years_max = self.years_max.unwrap_or(p.years_max);
        p.transfer_lock_days = self.transfer_lock_days.unwrap_or(p.transfer_lock_days);
        p
    }

    /// Whether the terms hold together: prices not negative, periods within
    /// the TLD's bounds, fees named (1 to 64 characters, no control
    /// characters, one of each name per command) and few.
    pub fn check(&self) -> Result<(), String> {
        let prices = [self.renew_price, self.transfer_price, self.restore_price];
        if prices.iter().flatten().chain(self.fees.iter().map(|f| &f.amount)).any(|p| p.0 < 0) {
            return Err("a price is not negative".into());
        }
        if self.label_lengths.is_some_and(|(min, max)| min == 0 || min > max || max > 63) {
            return Err("a phase's label lengths run from 1 to at most 63 characters".into());
        }
        if self.add_grace_s.is_some_and(|s| !(0..=30 * 86_400).contains(&s)) {
            return Err("an add grace period is 0 to 30 days".into());
        }
        if self.years_max.is_some_and(|y| !(1..=99).contains(&y)) {
            return Err("years_max must be 1 to 99".into());
        }
        if self.transfer_lock_days.is_some_and(|d| d > 366) {
            return Err("a transfer lock is at most 366 days".into());
        }
        if self.fees.len() > NAMED_FEES_MAX {
            return Err(format!("a phase has at most {NAMED_FEES_MAX} named fees"));
        }
        for (i, fee) in self.fees.iter().enumerate() {
            let d = &fee.description;
            if !(1..=64).contains(&d.chars().count()) || d.chars().any(char::is_control) || d.trim() != d {
                return Err("a fee's description is 1 to 64 characters, without control characters or surrounding spaces".into());
            }
            if self.fees[..i].iter().any(|f| f.command == fee.command && f.description == *d) {
                return Err(format!("the {} fee {d:?} is named twice", fee.command.as_str()));
            }
        }
        Ok(())
    }

    /// The named fees `command` pays.
    pub fn fees_of<'t>(&'t self, command: &'t str) -> impl Iterator<Item = &'t NamedFee> {
        self.fees.iter().filter(move |f| f.command.as_str() == command)
    }
}

/// The policy in force while `phase` runs (none: the TLD's own).
pub fn policy_in(policy: &RegistrationPolicy, phase: Option<&Phase>) -> RegistrationPolicy {
    phase.map_or_else(|| policy.clone(), |p| p.terms.policy(policy))
}

/// What `command` for `years` costs while `phase` runs, `policy` being the
/// one in force then (`policy_in`): the price (`RegistrationPolicy::price`)
/// and the phase's named fees for it, in `currency` (converted at the TLD's
/// rate; none if the TLD does not take it). A fee quote and the writer's
/// charge both come from here.
#[allow(clippy::too_many_arguments)]
pub fn price_in(
    policy: &RegistrationPolicy,
    phase: Option<&Phase>,
    command: &str,
    years: u32,
    expires: Option<Timestamp>,
    now: Timestamp,
    premium: Option<&PremiumPrices>,
    currency: &str,
) -> Option<Price> {
    let rate = policy.rate_to(currency)?;
    let mut price = policy.price(command, years, expires, now, premium)?;
    if let Some(p) = phase {
        price.fees = p.terms.fees_of(command).cloned().collect();
    }
    Some(price.converted(currency, rate))
}

impl Phase {
    /// The create price of the phase at `at`: its own, or that day's of its
    /// daily schedule (early access).
    pub fn create_price_on(&self, at: Timestamp) -> Option<Money> {
        self.create_price.or_else(|| price_on_day(&self.terms.daily_create_prices, self.starts, at))
    }

    fn covers(&self, at: Timestamp) -> bool {
        self.starts <= at && self.ends.is_none_or(|e| at < e)
    }

    fn overlaps(&self, other: &Phase) -> bool {
        self.starts < other.ends.unwrap_or(Timestamp(i64::MAX)) && other.starts < self.ends.unwrap_or(Timestamp(i64::MAX))
    }
}

/// Whether `label` (an A-label or LDH label) is within a phase's label
/// lengths, counted in characters of its U-label.
pub fn label_length_allowed(label: &str, (min, max): (u8, u8)) -> bool {
    let chars = super::idn::u_label(label).map_or(label.len(), |u| u.chars().count());
    (usize::from(min)..=usize::from(max)).contains(&chars)
}

/// The most days an early-access price schedule lists.
pub const DAILY_PRICES_MAX: usize = 366;

/// Early access: a phase whose create price declines day by day — the
/// first price on the phase's first day, the next on its second, and the
/// last for every day after the schedule. `None` without a schedule.
pub fn price_on_day(daily: &[Money], starts: Timestamp, at: Timestamp) -> Option<Money> {
    let day = usize::try_from((at.unix_seconds() - starts.unix_seconds()).max(0) / 86_400).unwrap_or(usize::MAX);
    daily.get(day.min(daily.len().checked_sub(1)?)).copied()
}

/// Whether `daily` can be the price schedule of `phase`: at most a year of
/// prices, none negative, none above the day before's, and not beside a
/// fixed create price.
pub fn check_daily(phase: &Phase) -> Result<(), String> {
    let daily = &phase.terms.daily_create_prices;
    if daily.is_empty() {
        return Ok(());
    }
    if phase.create_price.is_some() {
        return Err("a phase has a create price or a daily schedule of them, not both".into());
    }
    if daily.len() > DAILY_PRICES_MAX {
        return Err(format!("a daily schedule lists at most {DAILY_PRICES_MAX} prices"));
    }
    if daily.iter().any(|p| p.0 < 0) || daily.windows(2).any(|w| w[1] > w[0]) {
        return Err("a daily schedule's prices are not negative and decline (or stay) day by day".into());
    }
    Ok(())
}

/// Where a TLD's timeline stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'p> {
    /// No timeline: general availability.
    Open,
    /// A phase runs.
    In(&'p Phase),
    /// The timeline has not begun, or is between phases.
    Closed,
}

/// The phase running at `at`, if one is.
pub fn running(phases: &[Phase], at: Timestamp) -> Option<&Phase> {
    phases.iter().find(|p| p.covers(at))
}

/// The standing of a timeline at `at`.
pub fn standing(phases: &[Phase], at: Timestamp) -> Standing<'_> {
    if phases.is_empty() {
        return Standing::Open;
    }
    phases.iter().find(|p| p.covers(at)).map_or(Standing::Closed, Standing::In)
}

/// Whether `phase` may join `existing` at `now`: it starts from now on,
/// ends after it starts, overlaps no other phase, and a custom phase is
/// named (1 to 32 of a-z, 0-9 and -) while the others are not.
pub fn check_new(existing: &[Phase], phase: &Phase, now: Timestamp) -> Result<(), String> {
    if phase.starts < now {
        return Err("a phase cannot begin in the past".into());
    }
    if phase.ends.is_some_and(|e| e <= phase.starts) {
        return Err("a phase ends after it begins".into());
    }
    match (&phase.name, phase.kind) {
        (Some(name), PhaseKind::Custom) => {
            let ok = (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err("a custom phase's name is 1 to 32 of a-z, 0-9 and -".into());
            }
        }
        (None, PhaseKind::Custom) => return Err("a custom phase needs a name".into()),
        (Some(_), _) => return Err("only a custom phase has a name".into()),
        (None, _) => {}
    }
    if phase.create_price.is_some_and(|p| p.0 < 0) {
        return Err("a price is not negative".into());
    }
    check_daily(phase)?;
    phase.terms.check()?;
    if phase.terms.applications && !matches!(phase.kind, PhaseKind::Sunrise | PhaseKind::Landrush | PhaseKind::Custom) {
        return Err(format!("a {} phase does not collect applications", phase.kind.as_str()));
    }
    if phase.terms.applications && phase.ends.is_none() {
        return Err("a phase that collects applications ends, to allocate them".into());
    }
    if phase.terms.claims && !matches!(phase.kind, PhaseKind::Landrush | PhaseKind::Open | PhaseKind::Custom) {
        return Err(format!("a {} phase does not take claims beside it", phase.kind.as_str()));
    }
    if let Some(other) = existing.iter().find(|p| p.overlaps(phase)) {
        return Err(format!("it overlaps the {} phase that begins {}", other.kind.as_str(), other.starts.to_rfc3339_seconds()));
    }
    if existing.len() >= PHASES_MAX {
        return Err(format!("a timeline holds at most {PHASES_MAX} phases"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn phase(kind: PhaseKind, starts: &str, ends: Option<&str>) -> Phase {
        Phase {
            tld: DomainName::parse("example").unwrap(),
            kind,
            name: (kind == PhaseKind::Custom).then(|| "early-access".into()),
            starts: at(starts),
            ends: ends.map(at),
            create_price: None,
            terms: PhaseTerms::default(),
        }
    }

    use crate::model::Money;

    #[test]
    fn the_phase_of_a_moment_is_the_one_running_then() {
        let timeline = [
            phase(PhaseKind::Landrush, "2026-11-10T00:00:00Z", Some("2026-11-20T00:00:00Z")),
            phase(PhaseKind::Open, "2026-11-20T00:00:00Z", None),
        ];
        assert_eq!(standing(&timeline, at("2026-11-01T00:00:00Z")), Standing::Closed, "not begun");
        assert_eq!(standing(&timeline, at("2026-11-10T00:00:00Z")), Standing::In(&timeline[0]));
        assert_eq!(standing(&timeline, at("2026-11-19T23:59:59Z")), Standing::In(&timeline[0]));
        assert_eq!(standing(&timeline, at("2026-11-20T00:00:00Z")), Standing::In(&timeline[1]));
        assert_eq!(standing(&[], at("2026-11-01T00:00:00Z")), Standing::Open);
    }

    #[test]
    fn a_phase_price_of_its_own_goes_before_the_tlds_period_prices() {
        use crate::model::lifecycle::PeriodPrice;
        let periods = [PeriodCommand::Renew, PeriodCommand::Transfer].map(|command| PeriodPrice { command, years: 2, amount: Money(1) });
        let tld = RegistrationPolicy { period_prices: periods.to_vec(), ..Default::default() };
        let terms = PhaseTerms { renew_price: Some(Money(5000)), ..Default::default() };
        let now = at("2026-11-10T00:00:00Z");
        let p = terms.policy(&tld);
        let amount = |command| p.price(command, 2, None, now, None).unwrap().amount;
        assert_eq!((amount("renew"), amount("transfer")), (Money(10_000), Money(1)));
    }

    #[test]
    fn label_lengths_count_the_characters_of_the_u_label() {
        assert!(label_length_allowed("abc", (1, 3)));
        assert!(!label_length_allowed("abcd", (1, 3)));
        assert!(label_length_allowed("xn--br-via", (1, 3)), "bär is three characters");
    }

    #[test]
    fn an_early_access_price_declines_day_by_day_then_holds() {
        let starts = at("2026-11-10T00:00:00Z");
        let daily = [Money(500_000), Money(250_000), Money(10_000)];
        assert_eq!(price_on_day(&daily, starts, at("2026-11-10T23:59:59Z")), Some(Money(500_000)));
        assert_eq!(price_on_day(&daily, starts, at("2026-11-11T00:00:00Z")), Some(Money(250_000)));
        assert_eq!(price_on_day(&daily, starts, at("2026-12-30T00:00:00Z")), Some(Money(10_000)));
        assert_eq!(price_on_day(&[], starts, at("2026-11-11T00:00:00Z")), None);
        let with = |daily: Vec<Money>| {
            let mut p = phase(PhaseKind::Custom, "2026-11-10T00:00:00Z", None);
            p.terms.daily_create_prices = daily;
            p
        };
        assert!(check_daily(&with(daily.to_vec())).is_ok());
        assert!(check_daily(&with(vec![Money(1), Money(2)])).is_err(), "rising");
        assert!(check_daily(&Phase { create_price: Some(Money(1)), ..with(daily.to_vec()) }).is_err());
        assert!(check_daily(&with(vec![Money(1); DAILY_PRICES_MAX + 1])).is_err());
    }

    #[test]
    fn phases_begin_in_the_future_and_never_overlap() {
        let now = at("2026-11-01T00:00:00Z");
        let landrush = phase(PhaseKind::Landrush, "2026-11-10T00:00:00Z", Some("2026-11-20T00:00:00Z"));
        assert!(check_new(&[], &landrush, now).is_ok());
        assert!(check_new(&[], &landrush, at("2026-11-11T00:00:00Z")).is_err(), "in the past");
        assert!(check_new(std::slice::from_ref(&landrush), &phase(PhaseKind::Open, "2026-11-19T00:00:00Z", None), now).is_err());
        assert!(check_new(std::slice::from_ref(&landrush), &phase(PhaseKind::Open, "2026-11-20T00:00:00Z", None), now).is_ok());
        assert!(
            check_new(
                &[phase(PhaseKind::Open, "2026-11-20T00:00:00Z", None)],
                &phase(PhaseKind::Closed, "2027-01-01T00:00:00Z", None),
                now
            )
            .is_err(),
            "after an open-ended one"
        );
        assert!(check_new(&[], &phase(PhaseKind::Open, "2026-11-20T00:00:00Z", Some("2026-11-20T00:00:00Z")), now).is_err());
        assert!(check_new(&[], &Phase { name: None, ..phase(PhaseKind::Custom, "2026-11-20T00:00:00Z", None) }, now).is_err());
    }
}
