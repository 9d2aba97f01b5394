//! A TLD's launch timeline (RFC 8334 phases): phases that follow each other
//! without overlapping — sunrise (creates by holders of signed marks),
//! landrush or another limited registration phase, general availability
//! (`open`), general availability under trademark claims (`claims`), or
//! `closed` — each from its start to its
//! end (the last may have none), with a create price of its own if set. The
//! phase of a moment is the one running then; a TLD without a timeline is
//! in general availability, and one whose timeline has not begun, or has a
//! gap, is closed. Phases that have begun cannot change.

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
}

impl Phase {
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
pub fn check_daily(phase: &Phase, daily: &[Money]) -> Result<(), String> {
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
        let custom = phase(PhaseKind::Custom, "2026-11-10T00:00:00Z", None);
        assert!(check_daily(&custom, &daily).is_ok());
        assert!(check_daily(&custom, &[Money(1), Money(2)]).is_err(), "rising");
        assert!(check_daily(&Phase { create_price: Some(Money(1)), ..custom.clone() }, &daily).is_err());
        assert!(check_daily(&custom, &vec![Money(1); DAILY_PRICES_MAX + 1]).is_err());
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
