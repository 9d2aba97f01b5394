//! The monthly reports inside `serve`: once a month is over (UTC) — the
//! schedule wakes at 00:00 on the 1st — the month's totals of each TLD are
//! taken from that moment's snapshot and kept, both reports are written to
//! the reports folder, and, where ICANN's reporting interface is
//! configured, PUT to it. Acceptance is recorded in the store (a counter
//! per report), so a restart neither loses nor repeats a delivery; a report
//! not accepted is tried again with a growing delay (up to six hours) until
//! it is. An accepted month is sent again only when the operator asks.
//! Months a daemon that was down missed are made when it is back (up to a
//! year), with the totals of then.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{ReportError, ReportFile, ReportKind, ReportSettings, TOTAL, counter_key};
use crate::escrow::deliver::{DeliveryError, IcannConfig, Retries, put_to_icann};
use crate::model::report::Month;
use crate::model::{Clock, DomainName, Timestamp};
use crate::registry::{Command, Registry};

/// The counter that records ICANN's acceptance of a report (Unix milliseconds).
fn accepted_key(tld: &DomainName, month: Month, kind: ReportKind) -> String {
    counter_key(month, tld.as_str(), "", "icann", kind.as_str())
}

/// When ICANN accepted `kind` of `tld`'s `month`, if it did.
pub fn accepted(
    snapshot: &crate::store::Snapshot,
    tld: &DomainName,
    month: Month,
    kind: ReportKind,
) -> Result<Option<Timestamp>, ReportError> {
    let key = accepted_key(tld, month, kind);
    Ok(snapshot.counters(&key)?.into_iter().find(|(k, _)| *k == key).map(|(_, ms)| Timestamp(ms as i64)))
}

/// Takes `tld`'s totals of `month` from the registry as it is now, unless
/// they were taken already.
pub async fn take_totals(registry: &Registry, tld: &DomainName, month: Month, now: Timestamp) -> Result<(), ReportError> {
    let snapshot = registry.snapshot();
    let taken = counter_key(month, tld.as_str(), "", TOTAL, "taken-at");
    if snapshot.counters(&taken)?.iter().any(|(k, _)| *k == taken) {
        return Ok(());
    }
    let tld = tld.clone();
    let totals = tokio::task::spawn_blocking(move || super::month_end_totals(&snapshot, &tld, month, now))
        .await
        .map_err(|e| ReportError::Store(crate::store::StoreError::Db(e.to_string())))??;
    registry.execute(Command::SetCounts(totals)).await.map_err(|e| ReportError::Store(crate::store::StoreError::Db(e.to_string())))?;
    Ok(())
}

/// Both reports of `tld`'s `month` from the registry as it is now.
pub fn make_both(
    registry: &Registry,
    tld: &DomainName,
    month: Month,
    settings: &ReportSettings,
    now: Timestamp,
) -> Result<Vec<(ReportKind, ReportFile)>, ReportError> {
    let snapshot = registry.snapshot();
    [ReportKind::Activity, ReportKind::Transactions]
        .into_iter()
        .map(|kind| Ok((kind, super::make(kind, &snapshot, tld, month, settings, now)?)))
        .collect()
}

/// Sends one report to ICANN and records its acceptance.
pub async fn send(
    registry: &Registry,
    icann: &IcannConfig,
    tld: &DomainName,
    month: Month,
    kind: ReportKind,
    report: &ReportFile,
    now: Timestamp,
) -> Result<(), DeliveryError> {
    let path = format!("/report/{}/{tld}/{month}", kind.icann_path());
    put_to_icann(icann, tld.as_str(), &path, "text/csv", report.csv.clone().into_bytes()).await?;
    let accepted = vec![(accepted_key(tld, month, kind), now.0.max(0) as u64)];
    registry.execute(Command::SetCounts(accepted)).await.map_err(|e| DeliveryError::Report(format!("recording the acceptance: {e}")))?;
    Ok(())
}

fn write_file(folder: &Path, report: &ReportFile) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let partial = folder.join(format!(".{}.partial", report.file_name));
    std::fs::write(&partial, &report.csv)?;
    std::fs::rename(partial, folder.join(&report.file_name))
}

/// What the schedule needs besides the registry.
pub struct Scheduled {
    pub settings: ReportSettings,
    pub folder: PathBuf,
    pub icann: Option<IcannConfig>,
    pub check_interval: Duration,
    /// Counts the passes completed, for the status.
    pub passes: Arc<std::sync::atomic::AtomicU64>,
}

/// How many ended months the schedule looks at: the last one, and those a
/// daemon that was down missed.
const CATCH_UP_MONTHS: usize = 12;

/// The time from `now` to the next month's first instant.
fn until_next_month(now: Timestamp) -> Duration {
    Duration::from_millis((Month::of(now).end().0 - now.0).max(1) as u64)
}

/// After each month, takes the totals, writes the reports and sends those
/// ICANN has not accepted, every `check_interval` (and at 00:00 UTC on the
/// 1st), until shutdown.
pub async fn run(registry: Registry, clock: Arc<dyn Clock>, scheduled: Scheduled, mut shutdown: watch::Receiver<bool>) {
    let mut retries = Retries::new(scheduled.check_interval);
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let now = clock.now();
        wait = scheduled.check_interval.min(until_next_month(now));
        // The month just ended, and those before it the daemon missed (down
        // across a month's end), up to a year back; a TLD made after a
        // month has no report of it.
        let mut month = Month::of(now).previous();
        for _ in 0..CATCH_UP_MONTHS {
            let tlds: Vec<DomainName> =
                registry.snapshot().zones().iter().filter(|z| z.tld.created < month.end()).map(|z| z.tld.name.clone()).collect();
            for tld in tlds {
                if let Err(e) = pass(&registry, &scheduled, &mut retries, &tld, month, now).await {
                    tracing::error!(%tld, %month, error = %e, "monthly reports not made; tried again at the next check");
                }
            }
            month = month.previous();
        }
        scheduled.passes.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

async fn pass(
    registry: &Registry,
    scheduled: &Scheduled,
    retries: &mut Retries,
    tld: &DomainName,
    month: Month,
    now: Timestamp,
) -> Result<(), ReportError> {
    take_totals(registry, tld, month, now).await?;
    let snapshot = registry.snapshot();
    let mut due = Vec::new();
    for kind in [ReportKind::Activity, ReportKind::Transactions] {
        let written = scheduled.folder.join(kind.file_name(tld, month)).exists();
        let to_send = scheduled.icann.is_some() && accepted(&snapshot, tld, month, kind)?.is_none();
        if !written || to_send {
            due.push(kind);
        }
    }
    if due.is_empty() {
        return Ok(());
    }
    for (kind, report) in make_both(registry, tld, month, &scheduled.settings, now)?.into_iter().filter(|(k, _)| due.contains(k)) {
        if let Err(e) = write_file(&scheduled.folder, &report) {
            tracing::error!(file = %report.file_name, error = %e, "cannot write the report");
        }
        let Some(icann) = &scheduled.icann else { continue };
        let what = format!("{tld} {month} {}", kind.as_str());
        if accepted(&snapshot, tld, month, kind)?.is_some() || !retries.ready(&what) {
            continue;
        }
        match send(registry, icann, tld, month, kind, &report, now).await {
            Ok(()) => {
                retries.done(&what);
                tracing::info!(%tld, %month, report = kind.as_str(), "report accepted by ICANN");
            }
            Err(e) => {
                let delay = retries.failed(&what);
                tracing::error!(%tld, %month, report = kind.as_str(), error = %e, retry_in_s = delay.as_secs(), "report not accepted by ICANN");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_wakes_when_a_month_begins() {
        let before = Timestamp::parse_rfc3339("2026-11-30T23:59:59Z").unwrap();
        assert_eq!(until_next_month(before), Duration::from_secs(1));
        let new_year = Timestamp::parse_rfc3339("2026-12-31T12:00:00Z").unwrap();
        assert_eq!(until_next_month(new_year), Duration::from_secs(12 * 3600));
    }
}
