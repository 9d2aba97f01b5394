//! The key timeline of a signed zone: a zone signing key is replaced by
//! pre-publication (RFC 7583 §3.2.1), a key signing key by double signature
//! (RFC 6781 §4.1.2, RFC 7583 §3.3.1), and every key at once — to another
//! algorithm, or from a combined key to a KSK and a ZSK — by the algorithm
//! rollover of RFC 6781 §4.1.4 (RFC 7583 §3.4.1); one rollover at a time,
//! each step due at a moment the RFC 7583 timings fix. Pure: the registry applies a
//! step once its clock has passed it, and the signature sweep says when no
//! signature of a retired key is left to wait for.

use super::dnssec::{KeyRole, ZoneKey, ZoneSigning};
use super::objects::TldPolicy;
use super::time::Timestamp;
use super::zone::negative_ttl;

/// One change to a zone's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStep {
    /// A new zone signing key is published, not yet signing.
    PublishZsk,
    /// The published zone signing key signs from now on; the one before it
    /// retires (its signatures stay valid until the sweep replaces them).
    ActivateZsk { key_tag: u16 },
    /// The retired zone signing key's DNSKEY leaves the zone.
    RemoveZsk { key_tag: u16 },
    /// A new key signing key is published and signs the DNSKEY RRset beside
    /// the current one.
    PublishKsk,
    /// The old key signing key leaves: the parent serves the new DS, and no
    /// cache holds the old one any more.
    RemoveKsk { key_tag: u16 },
    /// A new KSK and ZSK of `algorithm` sign the whole zone beside the
    /// current keys, not yet published: caches must hold their signatures
    /// before any DNSKEY of theirs (RFC 6781 §4.1.4, "new RRSIGs").
    StartKeySet { algorithm: u8 },
    /// The new key set's DNSKEYs are published.
    PublishKeySet,
    /// The parent serves the new KSK's DS and no cache holds the old one:
    /// the old keys leave the DNSKEY RRset and stop signing (their
    /// signatures go as the sweep replaces them).
    RemoveOldKeys,
}

impl KeyStep {
    pub fn describe(&self) -> String {
        match self {
            KeyStep::PublishZsk => "publish a new ZSK".into(),
            KeyStep::ActivateZsk { key_tag } => format!("ZSK {key_tag} starts signing, the old ZSK retires"),
            KeyStep::RemoveZsk { key_tag } => format!("remove the retired ZSK {key_tag}"),
            KeyStep::PublishKsk => "publish a new KSK".into(),
            KeyStep::RemoveKsk { key_tag } => format!("remove the old KSK {key_tag}"),
            KeyStep::StartKeySet { algorithm } => format!("a new KSK and ZSK of algorithm {algorithm} sign beside the current keys"),
            KeyStep::PublishKeySet => "publish the new key set's DNSKEYs".into(),
            KeyStep::RemoveOldKeys => "remove the old keys".into(),
        }
    }
}

/// A full pass of the signature sweep that found no signature made by a key
/// that no longer signs: from `started` on, no answer carried one after
/// `ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanPass {
    pub started: Timestamp,
    pub ended: Timestamp,
}

/// The next step of a zone's timeline: when it falls due, or what it
/// waits for when no clock can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    pub step: KeyStep,
    pub due: Result<Timestamp, String>,
}

impl NextStep {
    pub fn due_at(&self, now: Timestamp) -> bool {
        self.due.as_ref().is_ok_and(|at| *at <= now)
    }
}

/// How long a new DNSKEY takes to be in every cache that holds the zone's
/// DNSKEY RRset (RFC 7583 Ipub = Dprp + TTLkey).
pub fn publish_interval_s(signing: &ZoneSigning) -> i64 {
    i64::from(signing.dnskey_ttl_s) + i64::from(signing.propagation_delay_s)
}

/// When the DS of `key` may go to the parent: once every validator that
/// could see the DS also sees the key (RFC 7583 §3.3.1); `None` while the
/// key is not published.
pub fn ds_ready_at(signing: &ZoneSigning, key: &ZoneKey) -> Option<Timestamp> {
    Some(key.published?.plus_seconds(publish_interval_s(signing)))
}

/// The longest TTL of a signed RRset in a zone of `policy`: how long a cache
/// may keep serving a signature after the zone dropped it.
pub fn signed_ttl_max_s(policy: &TldPolicy, signing: &ZoneSigning) -> u32 {
    [policy.soa.ttl_s, policy.apex_ns_ttl_s, policy.ds_ttl_s, negative_ttl(policy), signing.dnskey_ttl_s].into_iter().max().unwrap_or(0)
}

/// Whether a rollover is under way: a key published ahead of use, a
/// retired key still published, a key signing ahead of its publication, two
/// key signing keys, or two keys signing the zone's data.
pub fn rolling(signing: &ZoneSigning) -> bool {
    let keys = &signing.keys;
    keys.iter().any(|k| !k.active() || k.published.is_none())
        || keys.iter().filter(|k| k.role.signs(super::zone::rtype::DNSKEY)).count() > 1
        || data_signers(signing).count() > 1
}

/// The active keys that sign the zone's data (ZSKs and combined keys).
fn data_signers(signing: &ZoneSigning) -> impl Iterator<Item = &ZoneKey> {
    signing.keys.iter().filter(|k| k.active() && k.role.signs(super::zone::rtype::SOA))
}

/// What the operator may roll: one key, or every key at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roll {
    Key(KeyRole),
    /// A new KSK and ZSK replace every key: of this algorithm, or of the
    /// one the zone has.
    KeySet {
        algorithm: Option<u8>,
    },
}

/// The step a rollover the operator asks for begins with, or why it cannot
/// begin now.
pub fn start(signing: &ZoneSigning, roll: Roll) -> Result<KeyStep, String> {
    if rolling(signing) {
        return Err("a key rollover is under way; one rollover at a time".into());
    }
    let combined = signing.keys.iter().any(|k| k.role == KeyRole::Csk);
    match roll {
        Roll::KeySet { algorithm } => {
            let current = signing.keys.first().map(|k| k.algorithm).ok_or("the zone has no keys")?;
            Ok(KeyStep::StartKeySet { algorithm: algorithm.unwrap_or(current) })
        }
        Roll::Key(_) if combined => Err(
            "the zone signs with a combined key (CSK): roll every key at once (dnssec roll TLD all), which replaces it by a KSK and a ZSK"
                .into(),
        ),
        Roll::Key(KeyRole::Zsk) => Ok(KeyStep::PublishZsk),
        Roll::Key(KeyRole::Ksk) => Ok(KeyStep::PublishKsk),
        Roll::Key(KeyRole::Csk) => Err("a combined key is replaced by rolling every key (dnssec roll TLD all)".into()),
    }
}

/// The keys of a key-set rollover under way: the old, and the new KSK and
/// ZSK. Keys are kept in the order they were made, so the new set is the
/// last two.
pub fn key_sets(signing: &ZoneSigning) -> Option<(&[ZoneKey], &[ZoneKey])> {
    if data_signers(signing).count() < 2 || signing.keys.len() < 3 {
        return None;
    }
    let (old, new) = signing.keys.split_at(signing.keys.len() - 2);
    (new[0].role == KeyRole::Ksk && new[1].role == KeyRole::Zsk).then_some((old, new))
}

/// The KSK whose DS the zone's rollover waits for the parent to serve.
pub fn awaited_ds(signing: &ZoneSigning) -> Option<&ZoneKey> {
    let key = match key_sets(signing) {
        Some((_, new)) => &new[0],
        None => {
            let mut ksks: Vec<&ZoneKey> = signing.keys.iter().filter(|k| k.role == KeyRole::Ksk).collect();
            ksks.sort_by_key(|k| k.created);
            if ksks.len() < 2 {
                return None;
            }
            ksks.pop()?
        }
    };
    (key.ds_seen.is_none() && key.published.is_some()).then_some(key)
}

/// The next step of a key-set rollover, when one is under way.
fn next_key_set_step(signing: &ZoneSigning, max_ttl_s: u32, clean: Option<CleanPass>) -> Option<NextStep> {
    let (_, new) = key_sets(signing)?;
    let started = new[0].created;
    let propagation_s = i64::from(signing.propagation_delay_s);
    if new.iter().any(|k| k.published.is_none()) {
        // Every RRset signed by the new keys too, and that long in caches.
        let due = match clean.filter(|c| c.started >= started) {
            Some(c) => Ok(c.ended.plus_seconds(i64::from(max_ttl_s) + propagation_s)),
            None => Err("the signature sweep to sign every RRset with the new keys too".into()),
        };
        return Some(NextStep { step: KeyStep::PublishKeySet, due });
    }
    let new_ksk = &new[0];
    let due = match new_ksk.ds_seen {
        Some(seen) => Ok(seen.plus_seconds(i64::from(signing.parent_ds_ttl_s) + propagation_s)),
        None => Err(format!(
            "the operator to replace the DS at the parent by that of KSK {} from {} and confirm it (dnssec ds-seen)",
            new_ksk.key_tag(),
            ds_ready_at(signing, new_ksk).map_or_else(|| "its publication".into(), |at| at.to_rfc3339())
        )),
    };
    Some(NextStep { step: KeyStep::RemoveOldKeys, due })
}

/// The zone's next key step. `max_ttl_s` is the longest TTL of any signed
/// RRset (caches may hold its signature that long); `clean` is the last
/// full sweep pass that found no signature by a key that no longer signs.
pub fn next_step(signing: &ZoneSigning, max_ttl_s: u32, clean: Option<CleanPass>) -> Option<NextStep> {
    if let Some(next) = next_key_set_step(signing, max_ttl_s, clean) {
        return Some(next);
    }
    let keys = &signing.keys;
    if keys.iter().any(|k| k.role == KeyRole::Csk) {
        return None;
    }
    let propagation_s = i64::from(signing.propagation_delay_s);
    if let Some(new) = keys.iter().find(|k| k.role == KeyRole::Zsk && k.active_from.is_none()) {
        let due = Ok(new.published.unwrap_or(new.created).plus_seconds(publish_interval_s(signing)));
        return Some(NextStep { step: KeyStep::ActivateZsk { key_tag: new.key_tag() }, due });
    }
    if let Some(old) = keys.iter().find(|k| k.role == KeyRole::Zsk && k.retired.is_some()) {
        let retired = old.retired.unwrap_or(old.created);
        let due = match clean.filter(|c| c.started >= retired) {
            Some(c) => Ok(c.ended.plus_seconds(i64::from(max_ttl_s) + propagation_s)),
            None => Err(format!("the signature sweep to replace every signature of ZSK {}", old.key_tag())),
        };
        return Some(NextStep { step: KeyStep::RemoveZsk { key_tag: old.key_tag() }, due });
    }
    let mut ksks: Vec<&ZoneKey> = keys.iter().filter(|k| k.role == KeyRole::Ksk).collect();
    ksks.sort_by_key(|k| k.created);
    if let [old, .., new] = ksks.as_slice() {
        let due = match new.ds_seen {
            Some(seen) => Ok(seen.plus_seconds(i64::from(signing.parent_ds_ttl_s) + propagation_s)),
            None => Err(format!(
                "the operator to put the DS of KSK {} at the parent from {} and confirm it (dnssec ds-seen)",
                new.key_tag(),
                ds_ready_at(signing, new).map_or_else(|| "its publication".into(), |at| at.to_rfc3339())
            )),
        };
        return Some(NextStep { step: KeyStep::RemoveKsk { key_tag: old.key_tag() }, due });
    }
    let lifetime_end = |role: KeyRole, lifetime_s: u32| {
        let key = keys.iter().find(|k| k.role == role && k.active())?;
        (lifetime_s > 0).then(|| key.active_from.unwrap_or(key.created).plus_seconds(i64::from(lifetime_s)))
    };
    let zsk = lifetime_end(KeyRole::Zsk, signing.zsk_lifetime_s).map(|at| (at, KeyStep::PublishZsk));
    let ksk = lifetime_end(KeyRole::Ksk, signing.ksk_lifetime_s).map(|at| (at, KeyStep::PublishKsk));
    [zsk, ksk].into_iter().flatten().min_by_key(|(at, _)| *at).map(|(at, step)| NextStep { step, due: Ok(at) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dnssec::Denial;

    const T0: i64 = 1_800_000_000;

    fn key(role: KeyRole, byte: u8, created: i64) -> ZoneKey {
        ZoneKey {
            flags: role.flags(),
            algorithm: 13,
            public_key: vec![byte; 64],
            created: Timestamp::from_unix_seconds(created),
            published: Some(Timestamp::from_unix_seconds(created)),
            role,
            active_from: Some(Timestamp::from_unix_seconds(created)),
            retired: None,
            ds_seen: None,
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    #[test]
    fn a_zsk_is_pre_published_then_swapped_then_removed_once_its_signatures_are_gone() {
        let mut signing = ZoneSigning::new(Denial::Nsec3, vec![key(KeyRole::Ksk, 1, T0), key(KeyRole::Zsk, 2, T0)]);
        let lifetime = i64::from(signing.zsk_lifetime_s);
        let first = next_step(&signing, 86_400, None).unwrap();
        assert_eq!(first, NextStep { step: KeyStep::PublishZsk, due: Ok(at(T0 + lifetime)) });
        assert!(!first.due_at(at(T0 + lifetime - 1)) && first.due_at(at(T0 + lifetime)));

        let mut new = key(KeyRole::Zsk, 3, T0 + lifetime);
        new.active_from = None;
        signing.keys.push(new.clone());
        assert!(rolling(&signing));
        assert!(start(&signing, Roll::Key(KeyRole::Ksk)).is_err(), "one rollover at a time");
        let activate = next_step(&signing, 86_400, None).unwrap();
        // Ipub: the DNSKEY TTL and the propagation delay.
        assert_eq!(activate, NextStep { step: KeyStep::ActivateZsk { key_tag: new.key_tag() }, due: Ok(at(T0 + lifetime + 7_200)) });

        let swap = T0 + lifetime + 7_200;
        signing.keys[1].retired = Some(at(swap));
        signing.keys[2].active_from = Some(at(swap));
        let old_tag = signing.keys[1].key_tag();
        let waiting = next_step(&signing, 86_400, None).unwrap();
        assert_eq!(waiting.step, KeyStep::RemoveZsk { key_tag: old_tag });
        assert!(waiting.due.is_err(), "no clean pass yet");
        let early = CleanPass { started: at(swap - 1), ended: at(swap + 100) };
        assert!(next_step(&signing, 86_400, Some(early)).unwrap().due.is_err(), "a pass begun before the swap proves nothing");
        let clean = CleanPass { started: at(swap + 10), ended: at(swap + 500) };
        assert_eq!(next_step(&signing, 86_400, Some(clean)).unwrap().due, Ok(at(swap + 500 + 86_400 + 3_600)));

        signing.keys.remove(1);
        assert!(!rolling(&signing));
        assert_eq!(next_step(&signing, 86_400, None).unwrap().due, Ok(at(swap + lifetime)));
    }

    #[test]
    fn a_ksk_waits_for_the_operator_to_confirm_its_ds_then_for_the_parents_ttl() {
        let mut signing = ZoneSigning::new(Denial::Nsec3, vec![key(KeyRole::Ksk, 1, T0), key(KeyRole::Zsk, 2, T0)]);
        signing.zsk_lifetime_s = 0;
        assert_eq!(next_step(&signing, 86_400, None), None, "no lifetimes: nothing scheduled");
        assert_eq!(start(&signing, Roll::Key(KeyRole::Ksk)), Ok(KeyStep::PublishKsk));
        signing.keys.push(key(KeyRole::Ksk, 3, T0 + 100));
        let old_tag = signing.keys[0].key_tag();
        let waiting = next_step(&signing, 86_400, None).unwrap();
        assert_eq!(waiting.step, KeyStep::RemoveKsk { key_tag: old_tag });
        assert!(waiting.due.as_ref().unwrap_err().contains("ds-seen"), "{waiting:?}");
        assert_eq!(ds_ready_at(&signing, &signing.keys[2]), Some(at(T0 + 100 + 7_200)));
        signing.keys[2].ds_seen = Some(at(T0 + 10_000));
        assert_eq!(next_step(&signing, 86_400, None).unwrap().due, Ok(at(T0 + 10_000 + 86_400 + 3_600)));
    }

    #[test]
    fn a_combined_key_has_no_timeline_and_goes_by_a_key_set_rollover() {
        let signing = ZoneSigning::new(Denial::Nsec3, vec![key(KeyRole::Csk, 1, T0)]);
        assert_eq!(next_step(&signing, 86_400, None), None);
        assert!(start(&signing, Roll::Key(KeyRole::Zsk)).unwrap_err().contains("roll TLD all"));
        assert_eq!(start(&signing, Roll::KeySet { algorithm: None }), Ok(KeyStep::StartKeySet { algorithm: 13 }));
        assert_eq!(start(&signing, Roll::KeySet { algorithm: Some(15) }), Ok(KeyStep::StartKeySet { algorithm: 15 }));
    }

    #[test]
    fn a_key_set_signs_first_is_published_once_cached_and_replaces_the_old_after_the_ds() {
        let old = [key(KeyRole::Ksk, 1, T0), key(KeyRole::Zsk, 2, T0)];
        let start_at = T0 + 1_000;
        let mut new = [key(KeyRole::Ksk, 3, start_at), key(KeyRole::Zsk, 4, start_at)];
        for k in &mut new {
            k.algorithm = 15;
            k.published = None;
        }
        let mut signing = ZoneSigning::new(Denial::Nsec3, [old.to_vec(), new.to_vec()].concat());
        assert!(rolling(&signing));
        assert!(start(&signing, Roll::Key(KeyRole::Zsk)).is_err(), "one rollover at a time");
        assert_eq!(signing.dnskey_rdatas().len(), 2, "the new keys sign unpublished");
        let first = next_step(&signing, 86_400, None).unwrap();
        assert_eq!(first.step, KeyStep::PublishKeySet);
        assert!(first.due.is_err(), "waits for a pass that signed everything with the new keys");
        let early = CleanPass { started: at(start_at - 1), ended: at(start_at + 50) };
        assert!(next_step(&signing, 86_400, Some(early)).unwrap().due.is_err(), "a pass begun before the start proves nothing");
        let clean = CleanPass { started: at(start_at + 10), ended: at(start_at + 500) };
        assert_eq!(next_step(&signing, 86_400, Some(clean)).unwrap().due, Ok(at(start_at + 500 + 86_400 + 3_600)));

        let published = start_at + 100_000;
        for k in &mut signing.keys[2..] {
            k.published = Some(at(published));
        }
        assert_eq!(signing.dnskey_rdatas().len(), 4);
        let waiting = next_step(&signing, 86_400, Some(clean)).unwrap();
        assert_eq!(waiting.step, KeyStep::RemoveOldKeys);
        assert!(waiting.due.as_ref().unwrap_err().contains("ds-seen"), "{waiting:?}");
        assert_eq!(ds_ready_at(&signing, &signing.keys[2]), Some(at(published + 7_200)));
        signing.keys[2].ds_seen = Some(at(published + 10_000));
        assert_eq!(next_step(&signing, 86_400, None).unwrap().due, Ok(at(published + 10_000 + 86_400 + 3_600)));

        signing.keys.drain(..2);
        assert!(!rolling(&signing));
    }
}
