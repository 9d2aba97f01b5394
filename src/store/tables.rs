//! The key layouts of the store's tables and the typed accessors that
//! readers (`read.rs`) and the writer (`write.rs`) share, so neither imports
//! the other: objects by name or id, a host's links, poll queues and their
//! kept lengths, and deadline keys that sort by time.

use redb::ReadableTable;

use super::{StoreError, codec};
use crate::model::{ClientId, Domain, DomainName, PollMessage, Roid, Timestamp};

/// A stored object by its string key.
pub(super) fn get<T: super::record::Stored>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    what: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key)? {
        Some(v) => Ok(Some(codec::decode(v.value(), what)?)),
        None => Ok(None),
    }
}

pub(super) fn get_domain(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    name: &DomainName,
) -> Result<Option<Domain>, StoreError> {
    get_by_name(table, name, "domain")
}

/// A record stored under a name's canonical key.
pub(super) fn get_by_name<T: super::record::Stored>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    name: &DomainName,
    what: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(name.canonical_key().as_slice())? {
        Some(v) => Ok(Some(codec::decode(v.value(), what)?)),
        None => Ok(None),
    }
}

pub(super) fn link_key(host: &Roid, domain: &DomainName) -> Vec<u8> {
    let mut k = Vec::with_capacity(host.as_str().len() + 1 + domain.as_str().len());
    k.extend_from_slice(host.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(domain.as_str().as_bytes());
    k
}

pub(super) fn host_link_names(
    table: &impl ReadableTable<&'static [u8], ()>,
    host: &Roid,
    limit: usize,
) -> Result<Vec<DomainName>, StoreError> {
    let mut prefix = host.as_str().as_bytes().to_vec();
    prefix.push(0);
    let mut out = Vec::new();
    for item in table.range::<&[u8]>(prefix.as_slice()..)?.take(limit) {
        let (k, _) = item?;
        let Some(name) = k.value().strip_prefix(prefix.as_slice()) else {
            break;
        };
        let text = std::str::from_utf8(name).map_err(|_| StoreError::Corrupt("host link".into()))?;
        out.push(DomainName::parse(text).map_err(|_| StoreError::Corrupt("host link".into()))?);
    }
    Ok(out)
}

pub(super) fn poll_key(registrar: &ClientId, id: u64) -> Vec<u8> {
    let mut k = registrar.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn poll_range(registrar: &ClientId) -> (Vec<u8>, Vec<u8>) {
    let mut start = registrar.as_str().as_bytes().to_vec();
    start.push(0);
    let mut end = registrar.as_str().as_bytes().to_vec();
    end.push(1);
    (start, end)
}

/// Where the length of a registrar's queue is kept (`meta`), so that a poll
/// or an ack does not walk a queue that may hold many thousand messages.
pub(super) fn poll_count_key(registrar: &str) -> String {
    format!("poll_count:{registrar}")
}

pub(super) fn poll_count(meta: &impl ReadableTable<&'static str, &'static [u8]>, registrar: &ClientId) -> Result<u64, StoreError> {
    let key = poll_count_key(registrar.as_str());
    match meta.get(key.as_str())? {
        Some(v) => Ok(u64::from_be_bytes(v.value().try_into().map_err(|_| StoreError::Corrupt(key))?)),
        None => Ok(0),
    }
}

/// The oldest message queued for `registrar`.
pub(super) fn poll_first(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    registrar: &ClientId,
) -> Result<Option<PollMessage>, StoreError> {
    let (start, end) = poll_range(registrar);
    match table.range::<&[u8]>(start.as_slice()..end.as_slice())?.next() {
        Some(item) => Ok(Some(codec::decode(item?.1.value(), "poll message")?)),
        None => Ok(None),
    }
}

/// Deadline keys sort by time: milliseconds (non-negative), kind, object.
pub(super) fn due_key(at: Timestamp, kind: u8, object: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + object.len());
    k.extend_from_slice(&(at.0.max(0) as u64).to_be_bytes());
    k.push(kind);
    k.extend_from_slice(object.as_bytes());
    k
}

pub(super) fn parse_due_key(key: &[u8]) -> Result<(Timestamp, u8, String), StoreError> {
    let corrupt = || StoreError::Corrupt("due key".into());
    let ms = u64::from_be_bytes(key.get(..8).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?);
    let kind = *key.get(8).ok_or_else(corrupt)?;
    let object = std::str::from_utf8(&key[9..]).map_err(|_| corrupt())?.to_string();
    Ok((Timestamp(ms as i64), kind, object))
}

/// Where a zone's NSEC3 records start: the apex key behind its length, so
/// that no zone's records fall inside another's (`example` and `a.example`).
pub(super) fn nsec3_prefix(apex_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + apex_key.len() + crate::model::dnssec::NSEC3_HASH_BYTES);
    k.push(apex_key.len() as u8);
    k.extend_from_slice(apex_key);
    k
}

pub(super) fn nsec3_key(apex_key: &[u8], hash: &[u8]) -> Vec<u8> {
    let mut k = nsec3_prefix(apex_key);
    k.extend_from_slice(hash);
    k
}

/// An NSEC3 record as stored: its owner hash and its row bytes.
pub(crate) type Nsec3Entry = (Vec<u8>, Vec<u8>);

/// The NSEC3 record whose hash is the greatest at or before `hash` (`at_most`)
/// or strictly before it, wrapping round to the last of the zone: the one
/// that matches or covers `hash`. `None` when the zone has none.
pub(super) fn nsec3_at_or_before(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    apex_key: &[u8],
    hash: &[u8],
    at_most: bool,
) -> Result<Option<Nsec3Entry>, StoreError> {
    let prefix = nsec3_prefix(apex_key);
    let key = nsec3_key(apex_key, hash);
    let mut end = prefix.clone();
    end.extend_from_slice(&[0xFF; crate::model::dnssec::NSEC3_HASH_BYTES + 1]);
    let before = if at_most {
        table.range::<&[u8]>(prefix.as_slice()..=key.as_slice())?.next_back()
    } else {
        table.range::<&[u8]>(prefix.as_slice()..key.as_slice())?.next_back()
    };
    let found = match before {
        Some(item) => Some(item?),
        None => table.range::<&[u8]>(prefix.as_slice()..end.as_slice())?.next_back().transpose()?,
    };
    Ok(found.map(|(k, v)| (k.value()[prefix.len()..].to_vec(), v.value().to_vec())))
}

/// An NSEC record's row as stored: its owner key and the row bytes.
pub(crate) type NsecEntry = (Vec<u8>, Vec<u8>);

/// The zone row at or before the owner key `key` (`at_most`) or strictly
/// before it that holds an NSEC record: the one that matches or covers the
/// name in an NSEC chain. Rows without one lie below a delegation (glue),
/// so the walk back passes at most the glue of one delegation; the apex
/// ends it. `None` when the zone (at `apex_key`) has no NSEC chain.
pub(super) fn nsec_at_or_before(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    apex_key: &[u8],
    key: &[u8],
    at_most: bool,
) -> Result<Option<NsecEntry>, StoreError> {
    let end = if at_most { std::ops::Bound::Included(key) } else { std::ops::Bound::Excluded(key) };
    for item in table.range::<&[u8]>((std::ops::Bound::Included(apex_key), end))?.rev() {
        let (k, v) = item?;
        if super::codec::RowView::new(v.value())?.get(crate::model::zone::rtype::NSEC).is_some() {
            return Ok(Some((k.value().to_vec(), v.value().to_vec())));
        }
    }
    Ok(None)
}
