//! What a TLD zone contains, derived from registry objects: the rules that
//! turn a TLD policy, domains and hosts into resource records (apex NS,
//! delegation NS and DS, glue A/AAAA), RR data in uncompressed wire form,
//! and the SOA serial rule. Pure functions; the store keeps their output.

use std::net::IpAddr;

use super::name::HostName;
use super::objects::{DsData, GluePolicy, TldPolicy};
use super::time::Timestamp;

/// RR type codes this registry publishes (IANA DNS parameters).
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const SOA: u16 = 6;
    pub const AAAA: u16 = 28;
    pub const DS: u16 = 43;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const DNSKEY: u16 = 48;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;

    pub fn mnemonic(rtype: u16) -> std::borrow::Cow<'static, str> {
        match rtype {
            A => "A".into(),
            NS => "NS".into(),
            SOA => "SOA".into(),
            AAAA => "AAAA".into(),
            DS => "DS".into(),
            RRSIG => "RRSIG".into(),
            NSEC => "NSEC".into(),
            DNSKEY => "DNSKEY".into(),
            NSEC3 => "NSEC3".into(),
            NSEC3PARAM => "NSEC3PARAM".into(),
            other => format!("TYPE{other}").into(),
        }
    }
}

/// The RRs of one type at one owner name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RrSet {
    pub rtype: u16,
    pub ttl: u32,
    /// RDATA in uncompressed wire form, sorted and without duplicates.
    pub rdatas: Vec<Vec<u8>>,
}

/// Everything published at one owner name, RRsets sorted by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneRow {
    pub rrsets: Vec<RrSet>,
}

impl ZoneRow {
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    fn push(&mut self, rtype: u16, ttl: u32, mut rdatas: Vec<Vec<u8>>) {
        if rdatas.is_empty() {
            return;
        }
        rdatas.sort();
        rdatas.dedup();
        self.rrsets.push(RrSet { rtype, ttl, rdatas });
    }

    fn finish(mut self) -> Self {
        self.rrsets.sort_by_key(|s| s.rtype);
        self
    }

    /// Single RRs, for diffs and transfers.
    pub fn rrs(&self) -> impl Iterator<Item = (u16, u32, &[u8])> + '_ {
        self.rrsets.iter().flat_map(|set| set.rdatas.iter().map(move |rd| (set.rtype, rr_ttl(set.rtype, set.ttl, rd), rd.as_slice())))
    }

    pub fn get(&self, rtype: u16) -> Option<&RrSet> {
        self.rrsets.iter().find(|s| s.rtype == rtype)
    }

    /// Adds or replaces the RRset of `set.rtype` (an empty one removes it).
    pub fn put(&mut self, set: RrSet) {
        self.rrsets.retain(|s| s.rtype != set.rtype);
        if !set.rdatas.is_empty() {
            self.rrsets.push(set);
            self.rrsets.sort_by_key(|s| s.rtype);
        }
    }
}

/// The TTL of one RR of an RRset. The RRSIGs at a name are kept as one set,
/// but each is served with the TTL of the RRset it covers (RFC 4034 §3),
/// which is its Original TTL field.
pub fn rr_ttl(rtype: u16, set_ttl: u32, rdata: &[u8]) -> u32 {
    match (rtype, rdata.get(4..8)) {
        (rtype::RRSIG, Some(ttl)) => u32::from_be_bytes([ttl[0], ttl[1], ttl[2], ttl[3]]),
        _ => set_ttl,
    }
}

/// One resource record with its owner, as journals and transfers carry it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rr {
    /// Owner name's canonical key (see [`DomainName::canonical_key`]); orders RRs canonically.
    pub owner_key: Vec<u8>,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// What lives at one owner name, as far as the zone is concerned.
#[derive(Debug, Default)]
pub struct RowSources<'a> {
    /// The zone apex: its NS set comes from the TLD policy.
    pub apex: bool,
    /// A published delegation at this name: its name servers and DS records.
    pub delegation: Option<(&'a [HostName], &'a [DsData])>,
    /// Glue addresses of a host at this name, when the glue rule publishes them.
    pub glue: Option<&'a [IpAddr]>,
}

/// Builds the row for one owner name from its sources under `policy`.
pub fn derive_row(policy: &TldPolicy, sources: &RowSources<'_>) -> ZoneRow {
    let mut row = ZoneRow::default();
    if sources.apex {
        row.push(rtype::NS, policy.apex_ns_ttl_s, policy.nameservers.iter().map(|n| n.to_wire()).collect());
    }
    if let Some((nameservers, ds)) = sources.delegation {
        row.push(rtype::NS, policy.delegation_ttl_s, nameservers.iter().map(|n| n.to_wire()).collect());
        row.push(rtype::DS, policy.ds_ttl_s, ds.iter().map(ds_rdata).collect());
    }
    if let Some(addrs) = sources.glue {
        let (v4, v6): (Vec<_>, Vec<_>) = addrs.iter().partition(|a| a.is_ipv4());
        row.push(rtype::A, policy.glue_ttl_s, v4.iter().map(addr_rdata).collect());
        row.push(rtype::AAAA, policy.glue_ttl_s, v6.iter().map(addr_rdata).collect());
    }
    row.finish()
}

/// Facts about a host below the zone apex that decide whether its addresses are published.
#[derive(Debug, Clone, Copy)]
pub struct GlueFacts {
    /// The host is one of the apex name servers.
    pub is_apex_nameserver: bool,
    /// The host's superordinate domain is published and delegates to the host itself.
    pub superordinate_delegates_to_it: bool,
    /// Published domains that delegate to the host.
    pub published_link_count: u32,
}

/// The glue rule: an in-zone host's addresses are in the zone when the apex
/// needs them, or when a published delegation does under the TLD's policy.
pub fn glue_published(policy: GluePolicy, facts: GlueFacts) -> bool {
    facts.is_apex_nameserver
        || match policy {
            GluePolicy::Narrow => facts.superordinate_delegates_to_it,
            GluePolicy::Wide => facts.published_link_count > 0,
        }
}

pub fn ds_rdata(ds: &DsData) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ds.digest.len());
    out.extend_from_slice(&ds.key_tag.to_be_bytes());
    out.push(ds.algorithm);
    out.push(ds.digest_type);
    out.extend_from_slice(&ds.digest);
    out
}

pub fn addr_rdata(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// SOA RDATA (RFC 1035 §3.3.13) for the TLD's policy at `serial`.
pub fn soa_rdata(policy: &TldPolicy, serial: u32) -> Vec<u8> {
    let soa = &policy.soa;
    let mut out = Vec::with_capacity(64);
    soa.mname.write_wire(&mut out);
    soa.rname.write_wire(&mut out);
    for v in [serial, soa.refresh_s, soa.retry_s, soa.expire_s, soa.minimum_s] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
pub fn negative_ttl(policy: &TldPolicy) -> u32 {
    policy.soa.ttl_s.min(policy.soa.minimum_s)
}

/// The next SOA serial: the Unix time when it is ahead, otherwise one more
/// than the current serial, so it strictly increases in RFC 1982 arithmetic
/// however many changes a second brings.
pub fn next_serial(current: u32, now: Timestamp) -> u32 {
    let unix = now.unix_seconds().clamp(0, u32::MAX as i64) as u32;
    if serial_gt(unix, current) { unix } else { current.wrapping_add(1) }
}

/// RFC 1982 serial comparison: is `a` greater than `b`?
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::DomainName;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn policy() -> TldPolicy {
        TldPolicy::with_defaults(&name("example"), vec![name("a.nic.example"), name("b.nic.example")])
    }

    #[test]
    fn delegation_row_has_ns_and_ds_sorted() {
        let ns = [name("ns2.hello.example"), name("ns1.hello.example")];
        let ds = [DsData { key_tag: 1, algorithm: 13, digest_type: 2, digest: vec![0xAB; 32] }];
        let row = derive_row(&policy(), &RowSources { delegation: Some((&ns, &ds)), ..Default::default() });
        assert_eq!(row.rrsets.len(), 2);
        assert_eq!(row.rrsets[0].rtype, rtype::NS);
        assert_eq!(row.rrsets[0].rdatas[0], name("ns1.hello.example").to_wire());
        assert_eq!(row.rrsets[1].rtype, rtype::DS);
        assert_eq!(&row.rrsets[1].rdatas[0][..4], &[0, 1, 13, 2]);
    }

    #[test]
    fn glue_row_splits_families() {
        let addrs: Vec<IpAddr> = vec!["2001:db8::1".parse().unwrap(), "192.0.2.1".parse().unwrap()];
        let row = derive_row(&policy(), &RowSources { glue: Some(&addrs), ..Default::default() });
        assert_eq!(row.rrsets.iter().map(|s| s.rtype).collect::<Vec<_>>(), vec![rtype::A, rtype::AAAA]);
        assert_eq!(row.rrsets[0].rdatas[0], vec![192, 0, 2, 1]);
        assert!(derive_row(&policy(), &RowSources::default()).is_empty());
    }

    #[test]
    fn glue_rules() {
        let none = GlueFacts { is_apex_nameserver: false, superordinate_delegates_to_it: false, published_link_count: 3 };
        assert!(!glue_published(GluePolicy::Narrow, none));
        assert!(glue_published(GluePolicy::Wide, none));
        let own = GlueFacts { superordinate_delegates_to_it: true, published_link_count: 1, ..none };
        assert!(glue_published(GluePolicy::Narrow, own));
        let orphan = GlueFacts { published_link_count: 0, ..none };
        assert!(!glue_published(GluePolicy::Wide, orphan));
        let apex = GlueFacts { is_apex_nameserver: true, ..orphan };
        assert!(glue_published(GluePolicy::Narrow, apex));
    }

    #[test]
    fn serial_strictly_increases() {
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        assert_eq!(next_serial(1, now), 1_700_000_000);
        assert_eq!(next_serial(1_700_000_000, now), 1_700_000_001);
        assert_eq!(next_serial(1_800_000_000, now), 1_800_000_001);
        assert_eq!(next_serial(u32::MAX, Timestamp(0)), 0);
        assert!(serial_gt(0, u32::MAX));
        assert!(serial_gt(5, 4) && !serial_gt(4, 5) && !serial_gt(4, 4));
    }

    #[test]
    fn soa_rdata_layout() {
        let rdata = soa_rdata(&policy(), 7);
        let names_len = name("a.nic.example").to_wire().len() + name("hostmaster.example").to_wire().len();
        assert_eq!(rdata.len(), names_len + 20);
        assert_eq!(&rdata[names_len..names_len + 4], &7u32.to_be_bytes());
        assert_eq!(negative_ttl(&policy()), 900);
    }
}
