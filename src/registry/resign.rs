//! The signature sweep: signatures are made again ahead of expiry, not all
//! at once. A task walks each signed zone on the latest snapshot, a stretch
//! of rows per tick (its zone rows, then its NSEC3 records), and hands what
//! is due to the writer as `RefreshSignatures` commands of bounded size,
//! which re-check and re-sign in the batch's transaction like any change.
//! Since every name's expiries are spread by its jitter, a zone signed at
//! once falls due over a day, in small commits between registrar commands.
//! Each full pass records the earliest expiry it saw, for metrics and
//! status, and warns when a signature is closer to expiring than the
//! refresh time, which only happens when refreshing fails or falls behind.
//!
//! The sweep also drives key rollovers: a signature by a key that no longer
//! signs is due at once, a full pass that finds none is what a retired
//! key's removal waits for, and each zone's next key step is handed to the
//! writer once the clock has passed it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Command, Registry};
use crate::model::rollover::{self, CleanPass};
use crate::model::{Clock, DomainName, Timestamp};
use crate::store::{Snapshot, StoreError};

/// Rows (zone rows or NSEC3 records) a zone's sweep reads per tick.
pub const SWEEP_ROWS_PER_TICK: usize = 10_000;

/// Owner names (or NSEC3 records) re-signed per command, so the writer
/// never holds registrar commands back for long.
pub const REFRESH_PER_COMMAND_MAX: usize = 250;

/// Where a zone's sweep stands.
#[derive(Debug, Default)]
struct Cursor {
    /// When this pass began.
    started: Option<Timestamp>,
    /// Whether this pass saw a signature by a key that no longer signs (or
    /// no longer signs that type), an RRset lacking the signature of a key
    /// that signs it, or the keys that sign changed under it (so rows read
    /// before the change prove nothing).
    stale: bool,
    /// The keys (tags and roles) that signed when the sweep last read,
    /// kept from one pass to the next.
    signers: crate::model::dnssec::Signers,
    /// The last full pass that saw none: what a retired key's removal waits for.
    clean: Option<CleanPass>,
    /// In the NSEC3 records (after the zone rows).
    nsec3: bool,
    /// The last row read, relative to the zone's prefix.
    after: Option<Vec<u8>>,
    /// The earliest expiry seen so far in this pass.
    earliest: Option<u32>,
}

/// What a tick found in one zone: signatures due, and whether its next key
/// step is due (with the clean pass it may need).
struct Found {
    tld: DomainName,
    nsec3: bool,
    due: Vec<Vec<u8>>,
    key_step: Option<Option<CleanPass>>,
}

/// Runs the sweep every `tick` until shutdown.
pub async fn run_signature_sweep(registry: Registry, clock: Arc<dyn Clock>, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut cursors: HashMap<DomainName, Cursor> = HashMap::new();
    loop {
        let snapshot = registry.snapshot();
        let now = clock.now();
        let health = registry.health.clone();
        let step = tokio::task::spawn_blocking(move || {
            let found = sweep_step(&snapshot, &mut cursors, now, &health);
            (found, cursors)
        })
        .await;
        let found = match step {
            Ok((found, back)) => {
                cursors = back;
                found
            }
            Err(e) => {
                // Signatures must go on being refreshed: start the passes again.
                tracing::error!(error = %e, "a signature sweep step failed; the sweep starts its passes again");
                cursors = HashMap::new();
                Ok(Vec::new())
            }
        };
        match found {
            Ok(found) => {
                for zone in found {
                    if let Some(clean) = zone.key_step
                        && let Err(e) = registry.execute(Command::AdvanceKeys { tld: zone.tld.clone(), clean }).await
                    {
                        tracing::error!(tld = %zone.tld, error = %e, "a key rollover step failed");
                    }
                    for chunk in zone.due.chunks(REFRESH_PER_COMMAND_MAX) {
                        let (owners, nsec3) = if zone.nsec3 { (Vec::new(), chunk.to_vec()) } else { (chunk.to_vec(), Vec::new()) };
                        let command = Command::RefreshSignatures { tld: zone.tld.clone(), owners, nsec3 };
                        if let Err(e) = registry.execute(command).await {
                            tracing::error!(tld = %zone.tld, error = %e, "signature refresh failed");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the zones for the signature sweep"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Reads one stretch of every signed zone, moves the cursors on, and
/// reports each completed pass's earliest expiry to `health`.
fn sweep_step(
    snapshot: &Snapshot,
    cursors: &mut HashMap<DomainName, Cursor>,
    at: Timestamp,
    health: &super::WriterHealth,
) -> Result<Vec<Found>, StoreError> {
    let now = at.unix_seconds().clamp(0, i64::from(u32::MAX)) as u32;
    let mut found = Vec::new();
    let mut signed = Vec::new();
    for zone in snapshot.zones() {
        let name = &zone.tld.name;
        let Some(signing) = snapshot.zone_signing(name)? else { continue };
        signed.push(name.clone());
        let cursor = cursors.entry(name.clone()).or_default();
        let stretch = snapshot.signature_sweep(zone, &signing, cursor.nsec3, cursor.after.as_deref(), SWEEP_ROWS_PER_TICK, now)?;
        cursor.earliest = crate::store::earlier_expiry(cursor.earliest, stretch.earliest, now);
        let signers = signing.active_signers();
        if !cursor.signers.is_empty() && cursor.signers != signers {
            // Rows read before the change prove nothing, and neither does a
            // pass that ended before it: on a coarse clock it can carry the
            // very timestamp the new keys were made at.
            cursor.stale |= cursor.started.is_some();
            cursor.clean = None;
        }
        cursor.signers = signers;
        cursor.started.get_or_insert(at);
        cursor.stale |= stretch.stale;
        let ttl_max_s = rollover::signed_ttl_max_s(&zone.tld.policy, &signing);
        let key_step = rollover::next_step(&signing, ttl_max_s, cursor.clean).is_some_and(|next| next.due_at(at)).then_some(cursor.clean);
        if !stretch.due.is_empty() || key_step.is_some() {
            found.push(Found { tld: name.clone(), nsec3: cursor.nsec3, due: stretch.due, key_step });
        }
        match (stretch.last, cursor.nsec3) {
            (Some(last), _) => cursor.after = Some(last),
            (None, false) => {
                cursor.nsec3 = true;
                cursor.after = None;
            }
            (None, true) => {
                if let Some(earliest) = cursor.earliest {
                    let left_s = i64::from(earliest.wrapping_sub(now) as i32);
                    if left_s <= i64::from(signing.signature_refresh_s) {
                        tracing::warn!(tld = %name, expires_in_s = left_s, "a zone signature is closer to expiry than its refresh time");
                    }
                }
                health.set_signature_expiry(name, cursor.earliest);
                let started = cursor.started.unwrap_or(at);
                let clean = if cursor.stale { cursor.clean } else { Some(CleanPass { started, ended: at }) };
                if let Some(pass) = clean {
                    health.set_clean_pass(name, cursor.signers.clone(), pass);
                }
                *cursor = Cursor { clean, signers: std::mem::take(&mut cursor.signers), ..Cursor::default() };
            }
        }
    }
    cursors.retain(|name, _| signed.contains(name));
    health.keep_signature_expiries(&signed);
    Ok(found)
}
