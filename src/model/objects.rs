//! The registry's objects: TLDs with their policy, registrars, contacts,
//! hosts and domains with the RFC 5730–5733 fields, and the identifiers that
//! name them. Plain data plus the checks that need no storage.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ids::{ClientId, ContactId, Roid};
use super::lifecycle::{Grace, RegistrationPolicy, Rgp, RgpPhase, Transfer, current_grace};
use super::name::{DomainName, HostName};
use super::net::IpPrefix;
use super::status::{ContactStatusSet, DomainStatusSet, HostStatusSet};
use super::time::Timestamp;

/// Which name server addresses a TLD zone publishes as glue
/// (draft-koch-dns-glue-clarifications §4, RST `dns.gluePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GluePolicy {
    /// Only for name servers within or below the delegated child.
    #[default]
    Narrow,
    /// For any name server below the TLD that a published delegation uses.
    Wide,
}

/// SOA fields the operator chooses; the serial is the registry's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoaPolicy {
    /// Primary name server (MNAME).
    pub mname: HostName,
    /// Responsible mailbox as a name (RNAME), e.g. `hostmaster.nic.example`.
    pub rname: DomainName,
    pub refresh_s: u32,
    pub retry_s: u32,
    pub expire_s: u32,
    /// Negative-caching TTL (RFC 2308).
    pub minimum_s: u32,
    pub ttl_s: u32,
}

/// Everything about a TLD's zone that the operator sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TldPolicy {
    pub soa: SoaPolicy,
    /// Apex NS set.
    pub nameservers: Vec<HostName>,
    pub apex_ns_ttl_s: u32,
    /// TTL of NS records at delegations.
    pub delegation_ttl_s: u32,
    pub ds_ttl_s: u32,
    pub glue_ttl_s: u32,
    pub glue_policy: GluePolicy,
    /// Which addresses this zone's hosts may have beyond public unicast ones.
    pub glue_addresses: super::net::AddressPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a TLD needs 1 to 13 apex name servers")]
    NameserverCount,
    #[error("apex name server {0} is listed twice")]
    DuplicateNameserver(HostName),
    #[error("{0} must be at most 2147483647 (RFC 2181 §8)")]
    TtlRange(&'static str),
    #[error("SOA retry must be shorter than refresh, and expire longer than refresh plus retry")]
    SoaTimers,
}

impl TldPolicy {
    /// Policy defaults for a new TLD served by `nameservers`.
    pub fn with_defaults(tld: &DomainName, nameservers: Vec<HostName>) -> Self {
        let mname = nameservers.first().cloned().unwrap_or_else(|| tld.clone());
        let rname = DomainName::parse(&format!("hostmaster.{tld}")).unwrap_or_else(|_| tld.clone());
        TldPolicy {
            soa: SoaPolicy { mname, rname, refresh_s: 1800, retry_s: 900, expire_s: 1_209_600, minimum_s: 900, ttl_s: 3600 },
            nameservers,
            apex_ns_ttl_s: 3600,
            delegation_ttl_s: 3600,
            ds_ttl_s: 3600,
            glue_ttl_s: 3600,
            glue_policy: GluePolicy::Narrow,
            glue_addresses: Default::default(),
        }
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.nameservers.is_empty() || self.nameservers.len() > 13 {
            return Err(PolicyError::NameserverCount);
        }
        for (i, ns) in self.nameservers.iter().enumerate() {
            if self.nameservers[..i].contains(ns) {
                return Err(PolicyError::DuplicateNameserver(ns.clone()));
            }
        }
        let ttls = [
            ("soa.ttl_s", self.soa.ttl_s),
            ("soa.minimum_s", self.soa.minimum_s),
            ("soa.refresh_s", self.soa.refresh_s),
            ("soa.retry_s", self.soa.retry_s),
            ("soa.expire_s", self.soa.expire_s),
            ("apex_ns_ttl_s", self.apex_ns_ttl_s),
            ("delegation_ttl_s", self.delegation_ttl_s),
            ("ds_ttl_s", self.ds_ttl_s),
            ("glue_ttl_s", self.glue_ttl_s),
        ];
        for (field, value) in ttls {
            if value > i32::MAX as u32 {
                return Err(PolicyError::TtlRange(field));
            }
        }
        let soa = &self.soa;
        if soa.retry_s >= soa.refresh_s || soa.expire_s <= soa.refresh_s.saturating_add(soa.retry_s) {
            return Err(PolicyError::SoaTimers);
        }
        Ok(())
    }
}

/// A top-level domain the registry runs: one DNS zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tld {
    pub name: DomainName,
    pub policy: TldPolicy,
    pub registration: RegistrationPolicy,
    /// Current SOA serial; strictly increases (RFC 1982) with every zone change.
    pub serial: u32,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrarStatus {
    #[default]
    Ok,
    /// May read but not change anything (RFC 9022 `readonly`).
    Readonly,
    Terminated,
}

impl RegistrarStatus {
    /// The RFC 9022 `rdeRegistrar:status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrarStatus::Ok => "ok",
            RegistrarStatus::Readonly => "readonly",
            RegistrarStatus::Terminated => "terminated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalAddress {
    #[serde(default)]
    pub street: Vec<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166 alpha-2.
    #[serde(default)]
    pub country_code: String,
}

/// A registrar (sponsoring client) and what it needs to log in over EPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    pub id: ClientId,
    pub name: String,
    pub iana_id: Option<u32>,
    pub status: RegistrarStatus,
    pub email: String,
    pub phone: Option<String>,
    pub fax: Option<String>,
    pub url: Option<String>,
    pub whois_server: Option<String>,
    pub rdap_base_url: Option<String>,
    pub address: PostalAddress,
    pub abuse_email: Option<String>,
    pub abuse_phone: Option<String>,
    /// Argon2id PHC string of the EPP password.
    pub password_hash: Option<String>,
    /// SHA-256 fingerprints (lower-case hex) of the client certificates pinned to this registrar.
    pub cert_fingerprints: Vec<String>,
    /// Source addresses allowed to log in.
    pub allowed_addresses: Vec<IpPrefix>,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Its accounts, one per currency, by currency code.
    pub accounts: Vec<super::ledger::Account>,
}

impl Registrar {
    /// The account in `currency` (empty when it has none yet).
    pub fn account(&self, currency: &str) -> super::ledger::Account {
        self.accounts.iter().find(|a| a.currency == currency).cloned().unwrap_or_else(|| super::ledger::Account::new(currency))
    }

    /// The account in `currency`, opened when it has none yet.
    pub fn account_mut(&mut self, currency: &str) -> &mut super::ledger::Account {
        let at = match self.accounts.binary_search_by(|a| a.currency.as_str().cmp(currency)) {
            Ok(at) => at,
            Err(at) => {
                self.accounts.insert(at, super::ledger::Account::new(currency));
                at
            }
        };
        &mut self.accounts[at]
    }
}

/// RFC 5733 postal information (`int` or `loc` form).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalInfo {
    pub name: String,
    pub org: Option<String>,
    pub address: PostalAddress,
}

/// A contact object (RFC 5733).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub roid: Roid,
    pub registrar: ClientId,
    pub postal_int: Option<PostalInfo>,
    pub postal_loc: Option<PostalInfo>,
    pub voice: Option<Phone>,
    pub fax: Option<Phone>,
    pub email: String,
    pub statuses: ContactStatusSet,
    /// What the registrant asked to disclose or withhold (RFC 5733 §2.9).
    pub disclose: Option<Disclose>,
    /// Argon2id hash of the contact's authorization information.
    pub auth_info_hash: Option<String>,
    /// Domains that name this contact.
    pub link_count: u32,
    pub created: Timestamp,
    pub cr_registrar: ClientId,
    pub updated: Option<Timestamp>,
    pub up_registrar: Option<ClientId>,
    pub transferred: Option<Timestamp>,
    /// The latest transfer (pending or done).
    pub transfer: Option<Transfer>,
}

/// A telephone number in E.164 form (`+1.5555550100`) with an optional extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub number: String,
    #[serde(default)]
    pub ext: Option<String>,
}

/// Contact fields RFC 5733 lets a registrant disclose or withhold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscloseField {
    NameInt,
    NameLoc,
    OrgInt,
    OrgLoc,
    AddrInt,
    AddrLoc,
    Voice,
    Fax,
    Email,
}

/// `<contact:disclose flag="…">`: the listed fields are disclosed (`flag`
/// true) or withheld (`flag` false); the rest follow the server's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclose {
    pub flag: bool,
    pub fields: Vec<DiscloseField>,
}

/// A host object (RFC 5732): a name server, with addresses if it is below one of our TLDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: HostName,
    pub roid: Roid,
    pub registrar: ClientId,
    pub addrs: Vec<IpAddr>,
    pub statuses: HostStatusSet,
    /// The registered domain this host is below, when it is below one of our TLDs.
    pub superordinate: Option<DomainName>,
    /// Domains that delegate to this host (non-zero means `linked`).
    pub link_count: u32,
    /// Of those, domains currently published in their zone (drives wide glue).
    pub published_link_count: u32,
    pub created: Timestamp,
    pub cr_registrar: ClientId,
    pub updated: Option<Timestamp>,
    pub up_registrar: Option<ClientId>,
    pub transferred: Option<Timestamp>,
}

impl Host {
    pub fn is_linked(&self) -> bool {
        self.link_count > 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactType {
    Admin,
    Billing,
    Tech,
}

impl ContactType {
    /// The RFC 5731 `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactType::Admin => "admin",
            ContactType::Tech => "tech",
            ContactType::Billing => "billing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainContact {
    #[serde(rename = "type")]
    pub kind: ContactType,
    pub id: ContactId,
}

/// A delegation signer record (RFC 4034 §5; RFC 5910 `dsData`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DsData {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    /// Digest bytes (shown as hex).
    #[serde(with = "hex_bytes")]
    pub digest: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsError {
    #[error("DS algorithm {0} is not accepted: the key must use RSA/SHA-256 (8), RSA/SHA-512 (10), ECDSA (13, 14) or EdDSA (15, 16)")]
    Algorithm(u8),
    #[error("DS digest type {0} is not accepted: SHA-256 (2) or SHA-384 (4); SHA-1 (1) and GOST (3) are refused")]
    DigestType(u8),
    #[error("DS digest of type {digest_type} must be {expected} bytes, not {actual}")]
    DigestLength { digest_type: u8, expected: usize, actual: usize },
    #[error("DS digest is not hexadecimal")]
    DigestHex,
    #[error("DS record must read 'KEYTAG ALGORITHM DIGESTTYPE HEXDIGEST'")]
    Syntax,
}

/// Signing algorithms a child's key may use: those RFC 8624 recommends or
/// allows for signing, numbered 8 or above as ICANN's tests require of a TLD
/// (RST dnssec-91), without GOST (12), which RFC 8624 says not to use.
/// RSA/MD5, DSA and RSA/SHA-1 (1, 3, 5, 6, 7) are refused.
const DS_ALGORITHMS: &[u8] = &[8, 10, 13, 14, 15, 16];

impl DsData {
    /// The digest types accepted (RFC 8624 §3.3, RST dnssec-92: neither
    /// SHA-1 nor GOST) and their digest lengths.
    fn digest_length(digest_type: u8) -> Option<usize> {
        match digest_type {
            2 => Some(32),
            4 => Some(48),
            _ => None,
        }
    }

    pub fn validate(&self) -> Result<(), DsError> {
        if !DS_ALGORITHMS.contains(&self.algorithm) {
            return Err(DsError::Algorithm(self.algorithm));
        }
        let expected = Self::digest_length(self.digest_type).ok_or(DsError::DigestType(self.digest_type))?;
        if self.digest.len() != expected {
            return Err(DsError::DigestLength { digest_type: self.digest_type, expected, actual: self.digest.len() });
        }
        Ok(())
    }

    /// Parses the presentation form `12345 13 2 ABCDEF…` (the digest may contain spaces).
    pub fn parse_presentation(text: &str) -> Result<Self, DsError> {
        let mut parts = text.split_whitespace();
        let key_tag = parts.next().and_then(|p| p.parse().ok()).ok_or(DsError::Syntax)?;
        let algorithm = parts.next().and_then(|p| p.parse().ok()).ok_or(DsError::Syntax)?;
        let digest_type = parts.next().and_then(|p| p.parse().ok()).ok_or(DsError::Syntax)?;
        let hex: String = parts.collect();
        if hex.is_empty() {
            return Err(DsError::Syntax);
        }
        let digest = hex_bytes::decode(&hex).ok_or(DsError::DigestHex)?;
        let ds = DsData { key_tag, algorithm, digest_type, digest };
        ds.validate()?;
        Ok(ds)
    }

    pub fn to_presentation(&self) -> String {
        format!("{} {} {} {}", self.key_tag, self.algorithm, self.digest_type, hex_bytes::encode_upper(&self.digest))
    }
}

/// A domain object (RFC 5731).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: DomainName,
    pub roid: Roid,
    pub tld: DomainName,
    pub registrar: ClientId,
    pub registrant: Option<ContactId>,
    pub contacts: Vec<DomainContact>,
    /// Host objects, by ROID, in the order they were added.
    pub nameservers: Vec<Roid>,
    pub ds: Vec<DsData>,
    pub statuses: DomainStatusSet,
    pub created: Timestamp,
    pub cr_registrar: ClientId,
    pub updated: Option<Timestamp>,
    pub up_registrar: Option<ClientId>,
    pub expires: Timestamp,
    pub transferred: Option<Timestamp>,
    /// Salted hash of the domain's authorization information (RFC 9154: never stored in clear).
    pub auth_info_hash: Option<String>,
    /// Grace periods in force (RFC 3915 addPeriod, renewPeriod, …).
    pub grace: Vec<Grace>,
    /// Set once a registrar deleted the domain: redemption, pending restore, pending delete.
    pub rgp: Option<Rgp>,
    /// The latest transfer (pending or done).
    pub transfer: Option<Transfer>,
}

impl Domain {
    /// Whether this domain belongs in its zone: delegated (has NS) and not
    /// withheld by status. A domain whose restore was requested is published
    /// again although it is still `pendingDelete` (RFC 3915 §3.2).
    pub fn is_published(&self) -> bool {
        let restoring = self.rgp.is_some_and(|r| matches!(r.phase, RgpPhase::PendingRestore { .. }));
        let mut statuses = self.statuses;
        if restoring {
            statuses.remove(crate::model::DomainStatus::PendingDelete);
        }
        !self.nameservers.is_empty() && statuses.allows_publication()
    }

    /// RFC 3915 RGP statuses in force now.
    pub fn rgp_statuses(&self, now: Timestamp) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = current_grace(&self.grace, now).map(|g| g.kind.rgp_status()).collect();
        if let Some(r) = &self.rgp {
            out.push(r.rgp_status());
        }
        out.dedup();
        out
    }
}

/// Largest number of name servers on one domain (keeps a referral within a TCP message).
pub const DOMAIN_NAMESERVERS_MAX: usize = 13;
/// Largest number of DS records on one domain.
pub const DOMAIN_DS_MAX: usize = 8;
/// Largest number of addresses on one host.
pub const HOST_ADDRS_MAX: usize = 13;

/// Hex encoding for digests, as text in JSON and zone files.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn encode_upper(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 15)] as char);
        }
        out
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if !text.len().is_multiple_of(2) {
            return None;
        }
        (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&encode_upper(bytes)) } else { s.serialize_bytes(bytes) }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            decode(&text).ok_or_else(|| serde::de::Error::custom("digest is not hexadecimal"))
        } else {
            Ok(serde_bytes_vec(d)?)
        }
    }

    fn serde_bytes_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_validation() {
        let ds = DsData::parse_presentation("12345 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CF C41A5766").unwrap();
        assert_eq!(ds.digest.len(), 32);
        assert_eq!(ds.to_presentation(), "12345 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766");
        assert_eq!(DsData::parse_presentation("1 99 2 00").unwrap_err(), DsError::Algorithm(99));
        assert_eq!(DsData::parse_presentation("1 13 9 00").unwrap_err(), DsError::DigestType(9));
        // RST dnssec-91/92: no algorithm below 8, no SHA-1 or GOST digest.
        for alg in [1, 3, 5, 6, 7, 12] {
            assert_eq!(DsData::parse_presentation(&format!("1 {alg} 2 {}", "AB".repeat(32))).unwrap_err(), DsError::Algorithm(alg));
        }
        assert_eq!(DsData::parse_presentation(&format!("1 13 1 {}", "AB".repeat(20))).unwrap_err(), DsError::DigestType(1));
        assert_eq!(DsData::parse_presentation(&format!("1 13 3 {}", "AB".repeat(32))).unwrap_err(), DsError::DigestType(3));
        for (alg, digest_type, len) in [(8, 2, 32), (13, 4, 48), (15, 2, 32), (16, 4, 48)] {
            assert!(DsData::parse_presentation(&format!("1 {alg} {digest_type} {}", "AB".repeat(len))).is_ok());
        }
        assert!(matches!(DsData::parse_presentation("1 13 2 00"), Err(DsError::DigestLength { .. })));
        assert_eq!(DsData::parse_presentation("1 13 2 ZZ").unwrap_err(), DsError::DigestHex);
        assert_eq!(DsData::parse_presentation("70000 13 2 00").unwrap_err(), DsError::Syntax);
    }

    #[test]
    fn policy_validation() {
        let tld = DomainName::parse("example").unwrap();
        let ns = vec![DomainName::parse("a.nic.example").unwrap(), DomainName::parse("b.nic.example").unwrap()];
        let mut policy = TldPolicy::with_defaults(&tld, ns.clone());
        assert_eq!(policy.validate(), Ok(()));
        policy.nameservers.push(ns[0].clone());
        assert!(matches!(policy.validate(), Err(PolicyError::DuplicateNameserver(_))));
        policy.nameservers = vec![];
        assert_eq!(policy.validate(), Err(PolicyError::NameserverCount));
        policy.nameservers = ns;
        policy.soa.retry_s = policy.soa.refresh_s;
        assert_eq!(policy.validate(), Err(PolicyError::SoaTimers));
        policy.soa.retry_s = 10;
        policy.glue_ttl_s = u32::MAX;
        assert_eq!(policy.validate(), Err(PolicyError::TtlRange("glue_ttl_s")));
    }
}
