//! Deposits on their schedule inside `serve`: per TLD, one escrow deposit a
//! UTC day (a FULL on the configured weekday, Sunday by RA Specification
//! 2, and a FULL or a DIFF on the others) and bulk registration data once a
//! week on its weekday (Specification 4). What was last made is the
//! cursor in the store, so a restart does not repeat the day's deposit and
//! a daemon that was down makes the one due as soon as it is back: a FULL
//! when the week's FULL was missed. A deposit shows the registry at the
//! moment its read snapshot is taken (its watermark); the schedule wakes at
//! 00:00 UTC to take it, so a day's deposits are as of the day's start, and
//! missed days are not made after the fact. The same path serves the
//! operator's on-demand deposits; one made again the same day is a resend
//! (the same id, the next revision `R1`, `R2`, … in its file name).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{DepositKind, EscrowError, RydeDeposit, RydeKeys};
use crate::model::change::EscrowCursor;
use crate::model::{Clock, DomainName, Timestamp};
use crate::registry::{Command, Registry};

const DAY_MS: i64 = 86_400_000;

/// A day of the week, for the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

impl Weekday {
    /// The UTC weekday of `at`.
    pub fn of(at: Timestamp) -> Weekday {
        // 1970-01-01 was a Thursday.
        const DAYS: [Weekday; 7] =
            [Weekday::Thursday, Weekday::Friday, Weekday::Saturday, Weekday::Sunday, Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday];
        DAYS[day(at).rem_euclid(7) as usize]
    }
}

/// The deposit of the days between the weekly FULLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Daily {
    Full,
    Diff,
}

/// When deposits are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub full_weekday: Weekday,
    pub daily: Daily,
    /// The BRDA's weekday; none when no BRDA is made.
    pub brda_weekday: Option<Weekday>,
}

/// Days since 1970-01-01 (UTC).
fn day(at: Timestamp) -> i64 {
    at.0.div_euclid(DAY_MS)
}

impl Schedule {
    /// The deposits due for a TLD at `now`, given the last escrow deposit
    /// and the last BRDA made of it.
    pub fn due(&self, now: Timestamp, escrow: Option<&EscrowCursor>, brda: Option<&EscrowCursor>) -> Vec<DepositKind> {
        let mut due = Vec::new();
        match escrow {
            Some(last) if day(last.watermark) == day(now) => {}
            Some(last) if self.daily == Daily::Diff && Weekday::of(now) != self.full_weekday && day(now) - day(last.full_watermark) < 7 => {
                due.push(DepositKind::Diff)
            }
            _ => due.push(DepositKind::Full),
        }
        if let Some(weekday) = self.brda_weekday {
            let made_this_week = brda.is_some_and(|b| day(now) - day(b.watermark) < 7);
            let made_today = brda.is_some_and(|b| day(b.watermark) == day(now));
            // On its weekday, or as soon as possible when that was missed.
            if !made_today && (Weekday::of(now) == weekday || !made_this_week) {
                due.push(DepositKind::Brda);
            }
        }
        due
    }
}

/// Makes a deposit of `kind` of `tld` from the registry as it is now and
/// records it as the TLD's cursor. A DIFF without a base it can follow is
/// refused ([`EscrowError::NoBase`]).
pub async fn make(
    registry: &Registry,
    clock: &dyn Clock,
    kind: DepositKind,
    tld: DomainName,
    keys: RydeKeys,
    folder: std::path::PathBuf,
    keep_xml: bool,
) -> Result<RydeDeposit, EscrowError> {
    let snapshot = registry.snapshot();
    // The snapshot is the registry as of now, so now is its watermark.
    let now = clock.now();
    let made = tokio::task::spawn_blocking(move || super::deposit_and_cursor(kind, &snapshot, &tld, now, &keys, &folder, keep_xml))
        .await
        .map_err(|e| EscrowError::Io(std::io::Error::other(e.to_string())))??;
    let (deposit, tld, cursor) = made;
    registry.execute(Command::RecordDeposit { tld, cursor }).await.map_err(|e| EscrowError::Io(std::io::Error::other(e.to_string())))?;
    Ok(deposit)
}

/// The time from `now` to the next 00:00 UTC.
fn until_next_day(now: Timestamp) -> Duration {
    Duration::from_millis((DAY_MS - now.0.rem_euclid(DAY_MS)) as u64)
}

/// What the schedule needs besides the registry.
pub struct Scheduled {
    pub schedule: Schedule,
    pub keys: RydeKeys,
    pub brda_keys: Option<RydeKeys>,
    pub folder: std::path::PathBuf,
    pub check_interval: Duration,
    pub sftp: Option<super::deliver::SftpConfig>,
    pub brda_sftp: Option<super::deliver::SftpConfig>,
    pub icann: Option<super::deliver::IcannConfig>,
    /// Counts the passes completed (deposits and deliveries), for the status.
    pub passes: Arc<std::sync::atomic::AtomicU64>,
}

/// Makes the deposits due and delivers those not yet delivered, every
/// `check_interval`, until shutdown.
pub async fn run(registry: Registry, clock: Arc<dyn Clock>, scheduled: Scheduled, mut shutdown: watch::Receiver<bool>) {
    let mut retries = super::deliver::Retries::new(scheduled.check_interval);
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        // Woken at 00:00 UTC too, so the day's deposits show the registry
        // as of then (RA Specification 2's watermark), not a check later.
        wait = scheduled.check_interval.min(until_next_day(clock.now()));
        let snapshot = registry.snapshot();
        let now = clock.now();
        for zone in snapshot.zones() {
            let tld = zone.tld.name.clone();
            let cursors = (snapshot.escrow_cursor(&tld, "full"), snapshot.escrow_cursor(&tld, "thin"));
            let (Ok(escrow), Ok(brda)) = cursors else {
                tracing::error!(%tld, "cannot read the escrow cursors");
                continue;
            };
            let mut schedule = scheduled.schedule;
            if scheduled.brda_keys.is_none() {
                schedule.brda_weekday = None;
            }
            for kind in schedule.due(now, escrow.as_ref(), brda.as_ref()) {
                let keys = if kind == DepositKind::Brda { scheduled.brda_keys.clone() } else { Some(scheduled.keys.clone()) };
                let Some(keys) = keys else { continue };
                let folder = scheduled.folder.clone();
                let mut made = make(&registry, clock.as_ref(), kind, tld.clone(), keys.clone(), folder.clone(), false).await;
                if kind == DepositKind::Diff && matches!(made, Err(EscrowError::NoBase)) {
                    tracing::warn!(%tld, "the change log no longer reaches the last deposit: a FULL deposit instead of the DIFF");
                    made = make(&registry, clock.as_ref(), DepositKind::Full, tld.clone(), keys, folder, false).await;
                }
                match made {
                    Ok(d) => tracing::info!(%tld, id = %d.id, file = %d.ryde.display(), "scheduled deposit made"),
                    Err(e) => {
                        tracing::error!(%tld, kind = kind.file_type(), error = %e, "scheduled deposit failed; tried again at the next check")
                    }
                }
            }
        }
        let targets =
            super::deliver::Targets { agent: scheduled.sftp.as_ref(), brda: scheduled.brda_sftp.as_ref(), icann: scheduled.icann.as_ref() };
        super::deliver::deliver_pending(&scheduled.folder, targets, &mut retries).await;
        scheduled.passes.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> Timestamp {
        Timestamp::parse_rfc3339(&format!("{date}T10:00:00Z")).unwrap()
    }

    fn cursor(kind: &str, date: &str, full: &str) -> EscrowCursor {
        EscrowCursor { id: "x".into(), kind: kind.into(), watermark: at(date), last_change: 0, full_watermark: at(full) }
    }

    const RA: Schedule = Schedule { full_weekday: Weekday::Sunday, daily: Daily::Diff, brda_weekday: Some(Weekday::Tuesday) };

    #[test]
    fn the_schedule_wakes_at_midnight_utc() {
        let before = Timestamp::parse_rfc3339("2026-12-06T23:59:59.250Z").unwrap();
        assert_eq!(until_next_day(before), Duration::from_millis(750));
        assert_eq!(until_next_day(Timestamp::parse_rfc3339("2026-12-07T00:00:00Z").unwrap()), Duration::from_secs(86_400));
    }

    #[test]
    fn weekdays_are_utc() {
        assert_eq!(Weekday::of(at("2026-12-06")), Weekday::Sunday);
        assert_eq!(Weekday::of(at("2026-12-08")), Weekday::Tuesday);
        assert_eq!(Weekday::of(Timestamp::parse_rfc3339("2026-12-05T23:59:59Z").unwrap()), Weekday::Saturday);
        assert_eq!(Weekday::of(Timestamp(-1)), Weekday::Wednesday);
    }

    #[test]
    fn a_full_on_sundays_a_diff_on_the_other_days_one_a_day() {
        use DepositKind::*;
        // Nothing made yet: a FULL (and the BRDA, whose week has no deposit), whatever the day.
        assert_eq!(RA.due(at("2026-12-03"), None, None), [Full, Brda]);
        let brda = cursor("thin", "2026-12-01", "2026-12-01");
        assert_eq!(RA.due(at("2026-12-03"), Some(&cursor("full", "2026-12-03", "2026-12-03")), Some(&brda)), []);
        assert_eq!(RA.due(at("2026-12-04"), Some(&cursor("full", "2026-12-03", "2026-12-03")), Some(&brda)), [Diff]);
        assert_eq!(RA.due(at("2026-12-06"), Some(&cursor("diff", "2026-12-05", "2026-12-03")), Some(&brda)), [Full], "Sunday");
        assert_eq!(RA.due(at("2026-12-08"), Some(&cursor("full", "2026-12-06", "2026-12-06")), Some(&brda)), [Diff, Brda], "Tuesday");
        // Down over Sunday: the week's FULL is made when the daemon is back.
        assert_eq!(RA.due(at("2026-12-14"), Some(&cursor("diff", "2026-12-12", "2026-12-06")), Some(&brda)), [Full, Brda]);
        let daily_full = Schedule { daily: Daily::Full, brda_weekday: None, ..RA };
        assert_eq!(daily_full.due(at("2026-12-04"), Some(&cursor("full", "2026-12-03", "2026-12-03")), None), [Full]);
    }
}
