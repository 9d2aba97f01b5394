//! Key rollovers as registry commands: the operator starts one or confirms
//! a DS at the parent, the signature sweep asks for each step once the
//! clock has passed it, and every step changes the zone's keys and signs
//! its apex again in the same transaction. The timeline itself is
//! [`crate::model::rollover`].

use super::RegistryError;
use super::command::Outcome;
use super::context::{Cx, Result};
use crate::model::dnssec::{KeyRole, ZoneSigning};
use crate::model::rollover::{self, CleanPass, KeyStep, Roll};
use crate::model::{DomainName, Tld};

fn signing_of(cx: &Cx, tld: &DomainName) -> Result<ZoneSigning> {
    cx.tables.zone_signing(tld)?.ok_or_else(|| RegistryError::Invalid(format!("{tld} is not signed")))
}

/// Begins a rollover of the zone's key (or every key) now.
pub(super) fn roll(cx: &mut Cx, tld: &DomainName, roll: Roll) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    let mut signing = signing_of(cx, &tld.name)?;
    if let Roll::KeySet { algorithm: Some(algorithm) } = roll {
        super::account::offered_algorithm(Some(algorithm))?;
    }
    let step = rollover::start(&signing, roll).map_err(RegistryError::Invalid)?;
    apply(cx, &tld, &mut signing, step)?;
    Ok(Outcome::Done)
}

/// Records that the parent serves the DS of KSK `key_tag`, which starts the
/// wait for the parent's TTL before the old KSK goes.
pub(super) fn ds_seen(cx: &mut Cx, tld: &DomainName, key_tag: u16) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    let mut signing = signing_of(cx, &tld.name)?;
    let now = cx.now;
    let ready_at = {
        let key = signing
            .keys
            .iter()
            .find(|k| k.key_tag() == key_tag && k.role != KeyRole::Zsk)
            .ok_or_else(|| RegistryError::Invalid(format!("{} has no KSK with key tag {key_tag}", tld.name)))?;
        rollover::ds_ready_at(&signing, key)
            .ok_or_else(|| RegistryError::Invalid(format!("KSK {key_tag} is not published yet: its DS cannot go to the parent")))?
    };
    if now < ready_at {
        return Err(RegistryError::Invalid(format!(
            "KSK {key_tag} is not in every cache yet: its DS may go to the parent from {}",
            ready_at.to_rfc3339_seconds()
        )));
    }
    for key in signing.keys.iter_mut().filter(|k| k.key_tag() == key_tag && k.ds_seen.is_none()) {
        key.ds_seen = Some(now);
    }
    cx.tables.put_zone_signing(&tld.name, Some(&signing))?;
    Ok(Outcome::Done)
}

/// Carries out the zone's next key step if it is due; nothing otherwise.
pub(super) fn advance(cx: &mut Cx, tld: &DomainName, clean: Option<CleanPass>) -> Result<Outcome> {
    let tld = cx.tld(tld)?;
    let Some(mut signing) = cx.tables.zone_signing(&tld.name)? else { return Ok(Outcome::Done) };
    let ttl_max_s = rollover::signed_ttl_max_s(&tld.policy, &signing);
    match rollover::next_step(&signing, ttl_max_s, clean) {
        Some(next) if next.due_at(cx.now) => apply(cx, &tld, &mut signing, next.step)?,
        _ => {}
    }
    Ok(Outcome::Done)
}

fn apply(cx: &mut Cx, tld: &Tld, signing: &mut ZoneSigning, step: KeyStep) -> Result<()> {
    let now = cx.now;
    // One rollover at a time: a single key is rolled only when all keys share an algorithm.
    let algorithm = signing.keys.first().map(|k| k.algorithm).unwrap_or(crate::model::dnssec::algorithm::ECDSAP256SHA256);
    match step {
        KeyStep::PublishZsk => signing.keys.push(cx.settings.keys.generate(&tld.name, algorithm, KeyRole::Zsk, now, false)?),
        KeyStep::PublishKsk => signing.keys.push(cx.settings.keys.generate(&tld.name, algorithm, KeyRole::Ksk, now, true)?),
        KeyStep::ActivateZsk { key_tag } => {
            for key in signing.keys.iter_mut().filter(|k| k.role == KeyRole::Zsk) {
                if key.key_tag() == key_tag {
                    key.active_from = Some(now);
                } else if key.active() {
                    key.retired = Some(now);
                }
            }
        }
        KeyStep::RemoveZsk { key_tag } | KeyStep::RemoveKsk { key_tag } => signing.keys.retain(|k| k.key_tag() != key_tag),
        KeyStep::StartKeySet { algorithm } => {
            for role in [KeyRole::Ksk, KeyRole::Zsk] {
                let mut key = cx.settings.keys.generate(&tld.name, algorithm, role, now, true)?;
                key.published = None;
                signing.keys.push(key);
            }
        }
        KeyStep::PublishKeySet => {
            for key in signing.keys.iter_mut().filter(|k| k.published.is_none()) {
                key.published = Some(now);
            }
        }
        KeyStep::RemoveOldKeys => {
            let old = rollover::key_sets(signing).map_or(0, |(old, _)| old.len());
            signing.keys.drain(..old);
        }
    }
    cx.tables.put_zone_signing(&tld.name, Some(signing))?;
    // The DNSKEY RRset and the apex's signatures follow in this transaction;
    // the rest of the zone moves to a new ZSK through the sweep.
    cx.signatures_due(tld, vec![tld.name.canonical_key()], Vec::new());
    tracing::info!(tld = %tld.name, step = %step.describe(), "key rollover step");
    Ok(())
}
