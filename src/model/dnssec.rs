//! The DNSSEC record rules a signed zone is built from, as RFC 4034, RFC
//! 5155 and RFC 9276 write them: zone keys with their roles (KSK, ZSK or
//! combined) and timelines, DNSKEY RDATA and key tags, DS digests,
//! NSEC3 owner hashes (SHA-1, and per RFC 9276 no extra iterations and no
//! salt) and their base32hex labels, type bitmaps, NSEC, NSEC3 and
//! NSEC3PARAM RDATA, and the RRSIG fields with the exact bytes a signature covers.
//! Pure functions over wire-form data; private keys and signing live with
//! the keys, outside the model.

use ring::digest;
use serde::{Deserialize, Serialize};

use super::objects::DsData;
use super::time::Timestamp;

/// How a signed zone denies existence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Denial {
    /// NSEC3 for every name in the zone, delegations without DS included.
    Nsec3,
    /// NSEC3 with Opt-Out (RFC 5155 §6): delegations without DS are left out
    /// of the chain, so a large TLD signs and changes only its secure part.
    #[serde(rename = "nsec3-optout")]
    Nsec3OptOut,
    /// NSEC (RFC 4034 §4): the names themselves, in canonical order, chained
    /// at each owner; every delegation is in the chain. For small zones,
    /// where walking the names gives nothing away.
    Nsec,
}

impl Denial {
    pub fn as_str(self) -> &'static str {
        match self {
            Denial::Nsec3 => "nsec3",
            Denial::Nsec3OptOut => "nsec3-optout",
            Denial::Nsec => "nsec",
        }
    }
}

/// A fixed share of `spread_s` for `owner`: FNV-1a of its lower-cased wire
/// form, so every signer agrees and the shares are even over names.
fn owner_jitter_s(owner: &[u8], spread_s: u32) -> u32 {
    if spread_s == 0 {
        return 0;
    }
    let hash = owner.iter().fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0193));
    hash % spread_s
}

/// What a zone key signs (RFC 6781 §3.1): a key signing key signs the
/// DNSKEY RRset and has its DS at the parent, a zone signing key signs
/// everything else, a combined signing key does both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    Ksk,
    Zsk,
    Csk,
}

impl KeyRole {
    pub fn flags(self) -> u16 {
        match self {
            KeyRole::Zsk => DNSKEY_ZONE,
            KeyRole::Ksk | KeyRole::Csk => DNSKEY_ZONE | DNSKEY_SEP,
        }
    }

    /// Whether keys of this role sign RRsets of type `rtype`.
    pub fn signs(self, rtype: u16) -> bool {
        match self {
            KeyRole::Csk => true,
            KeyRole::Ksk => rtype == super::zone::rtype::DNSKEY,
            KeyRole::Zsk => rtype != super::zone::rtype::DNSKEY,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Ksk => "ksk",
            KeyRole::Zsk => "zsk",
            KeyRole::Csk => "csk",
        }
    }
}

/// A key of a signed zone. Its private half is kept by the registry beside
/// the store, never in it. A key is in the zone's DNSKEY RRset from
/// `published` until it leaves the zone's key list, and makes signatures
/// from `active_from` until `retired`; a key set that replaces all keys (an
/// algorithm rollover) signs before it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneKey {
    pub flags: u16,
    pub algorithm: u8,
    /// The public key in its DNSKEY form.
    pub public_key: Vec<u8>,
    pub created: Timestamp,
    /// `None` while the key signs ahead of its publication.
    pub published: Option<Timestamp>,
    pub role: KeyRole,
    /// `None` while the key is only published ahead of its use.
    pub active_from: Option<Timestamp>,
    pub retired: Option<Timestamp>,
    /// When the operator confirmed the key's DS at the parent.
    pub ds_seen: Option<Timestamp>,
}

impl ZoneKey {
    /// Whether the key makes signatures now.
    pub fn active(&self) -> bool {
        self.active_from.is_some() && self.retired.is_none()
    }

    /// Where the key stands in its life: signing ahead of publication
    /// (Knot's "pre-active"), published ahead of use, signing, or retired
    /// and still published.
    pub fn state(&self) -> &'static str {
        match (self.published, self.active_from, self.retired) {
            (None, _, _) => "pre-active",
            (Some(_), None, _) => "published",
            (Some(_), Some(_), None) => "active",
            (Some(_), Some(_), Some(_)) => "retired",
        }
    }

    pub fn dnskey_rdata(&self) -> Vec<u8> {
        dnskey_rdata(self.flags, self.algorithm, &self.public_key)
    }

    pub fn key_tag(&self) -> u16 {
        key_tag(&self.dnskey_rdata())
    }

    /// The SHA-256 DS record of this key at `apex`, in presentation format,
    /// as the parent's operator takes it.
    pub fn ds_record(&self, apex: &crate::model::DomainName) -> String {
        format!("{apex}. IN DS {}", ds_sha256(&apex.to_wire(), &self.dnskey_rdata()).to_presentation())
    }
}

/// Keys by key tag and role, as they sign.
pub type Signers = Vec<(u16, KeyRole)>;

/// A TLD's signing: how it denies existence, its keys, and the timing of
/// its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSigning {
    pub denial: Denial,
    pub keys: Vec<ZoneKey>,
    /// A signature is valid from `inception_offset_s` before it is made
    /// (clocks of validators run late) until `signature_validity_s` after.
    pub signature_validity_s: u32,
    pub inception_offset_s: u32,
    /// A signature is made again once less than this remains of it.
    pub signature_refresh_s: u32,
    /// Each owner name's signatures expire up to this much earlier than the
    /// validity says, by an amount fixed per name, so a zone signed at once
    /// is due for refresh over this span and not in one instant.
    pub signature_jitter_s: u32,
    pub dnskey_ttl_s: u32,
    /// A zone signing key is replaced this long after it began to sign
    /// (0: only on the operator's command).
    pub zsk_lifetime_s: u32,
    /// Likewise for the key signing key; 0 by default, as a new DS needs
    /// the parent's operator.
    pub ksk_lifetime_s: u32,
    /// How long a change takes to reach every secondary (RFC 7583 Dprp).
    pub propagation_delay_s: u32,
    /// The TTL of the zone's DS in the parent (the root's is a day).
    pub parent_ds_ttl_s: u32,
    /// The parent's authoritative servers, asked for a new KSK's DS: once
    /// every one serves it, the registry confirms it as the operator would.
    /// None: the operator confirms it.
    pub parent_servers: Vec<std::net::SocketAddr>,
    /// How often they are asked while a rollover waits for the DS.
    pub ds_check_interval_s: u32,
    /// How often the name servers of every secure delegation are asked for
    /// its CDS (RFC 7344); 0: never.
    pub cds_scan_interval_s: u32,
}

impl ZoneSigning {
    /// Knot's defaults: signatures valid for two weeks, refreshed in their
    /// last week, back-dated by an hour; expiries spread over a day.
    pub fn new(denial: Denial, keys: Vec<ZoneKey>) -> Self {
        ZoneSigning {
            denial,
            keys,
            signature_validity_s: 14 * 86_400,
            inception_offset_s: 3_600,
            signature_refresh_s: 7 * 86_400,
            signature_jitter_s: 86_400,
            dnskey_ttl_s: 3_600,
            zsk_lifetime_s: 30 * 86_400,
            ksk_lifetime_s: 0,
            propagation_delay_s: 3_600,
            parent_ds_ttl_s: 86_400,
            parent_servers: Vec::new(),
            ds_check_interval_s: 3_600,
            cds_scan_interval_s: 0,
        }
    }

    /// The keys that sign now, by key tag and role: a signature by any
    /// other key, or over a type its key's role does not sign, is stale,
    /// and a signed RRset lacking the signature of one of them is due.
    pub fn active_signers(&self) -> Signers {
        self.keys.iter().filter(|k| k.active()).map(|k| (k.key_tag(), k.role)).collect()
    }

    /// The DNSKEY RRset's RDATA: the published keys.
    pub fn dnskey_rdatas(&self) -> Vec<Vec<u8>> {
        self.keys.iter().filter(|k| k.published.is_some()).map(ZoneKey::dnskey_rdata).collect()
    }

    /// When a signature over an RRset of `owner` (wire form) made at `now`
    /// expires: the validity less the owner's share of the jitter.
    pub fn expiration(&self, owner: &[u8], now: u32) -> u32 {
        now.wrapping_add(self.signature_validity_s).wrapping_sub(owner_jitter_s(owner, self.signature_jitter_s))
    }

    /// Whether a signature expiring at `expiration` is due to be made again
    /// at `now` (RFC 4034 serial arithmetic).
    pub fn refresh_due(&self, expiration: u32, now: u32) -> bool {
        expiration.wrapping_sub(now) as i32 <= self.signature_refresh_s as i32
    }

    pub fn opt_out(&self) -> bool {
        self.denial == Denial::Nsec3OptOut
    }

    /// Whether the timing holds together: a new signature is not due the
    /// moment it is made, a refreshed one is made while validators may still
    /// cache the old, and a key lives longer than its own rollover takes.
    pub fn check_timing(&self) -> Result<(), String> {
        const DAY: u32 = 86_400;
        let s = self;
        if !(DAY..=366 * DAY).contains(&s.signature_validity_s) {
            return Err("signature_validity_s must be between 1 day and 366 days".into());
        }
        if s.signature_refresh_s < 3_600 || s.signature_refresh_s.saturating_add(s.signature_jitter_s) >= s.signature_validity_s {
            return Err(
                "signature_refresh_s must be at least an hour, and with signature_jitter_s less than signature_validity_s (else a new signature is due at once)"
                    .into(),
            );
        }
        if s.signature_refresh_s <= s.dnskey_ttl_s.saturating_add(s.propagation_delay_s) {
            return Err("signature_refresh_s must exceed dnskey_ttl_s plus propagation_delay_s, so no cache outlives a signature".into());
        }
        if s.inception_offset_s > DAY {
            return Err("inception_offset_s must be at most a day".into());
        }
        if !(60..=2 * DAY).contains(&s.dnskey_ttl_s) {
            return Err("dnskey_ttl_s must be between 60 seconds and 2 days".into());
        }
        if s.propagation_delay_s > DAY || s.parent_ds_ttl_s > 7 * DAY {
            return Err("propagation_delay_s must be at most a day and parent_ds_ttl_s at most a week".into());
        }
        if s.cds_scan_interval_s > 7 * DAY {
            return Err("cds_scan_interval_s must be 0 (no scan) or at most a week".into());
        }
        if !(1..=DAY).contains(&s.ds_check_interval_s) || s.parent_servers.len() > 16 {
            return Err("ds_check_interval_s must be between 1 second and a day, and parent_servers at most 16".into());
        }
        for (field, lifetime) in [("zsk_lifetime_s", s.zsk_lifetime_s), ("ksk_lifetime_s", s.ksk_lifetime_s)] {
            if lifetime != 0 && lifetime < 7 * DAY {
                return Err(format!("{field} must be 0 (roll only on command) or at least a week"));
            }
        }
        Ok(())
    }
}

/// DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers").
pub mod algorithm {
    pub const RSASHA256: u8 = 8;
    pub const ECDSAP256SHA256: u8 = 13;
    pub const ED25519: u8 = 15;
}

/// DNSKEY flags (RFC 4034 §2.1.1): a zone key, and with SEP a key signing
/// key (or a combined signing key) whose DS goes to the parent.
pub const DNSKEY_ZONE: u16 = 0x0100;
pub const DNSKEY_SEP: u16 = 0x0001;

/// NSEC3 hash algorithm 1 (SHA-1, RFC 5155 §11), the only one defined.
pub const NSEC3_SHA1: u8 = 1;
/// The NSEC3 Opt-Out flag (RFC 5155 §3.1.2.1).
pub const NSEC3_OPT_OUT: u8 = 0x01;
pub const NSEC3_HASH_BYTES: usize = 20;

/// DNSKEY RDATA (RFC 4034 §2.1): flags, protocol 3, algorithm, public key.
pub fn dnskey_rdata(flags: u16, algorithm: u8, public_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public_key.len());
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(3);
    out.push(algorithm);
    out.extend_from_slice(public_key);
    out
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, &b) in dnskey_rdata.iter().enumerate() {
        sum += if i % 2 == 0 { u32::from(b) << 8 } else { u32::from(b) };
    }
    sum += (sum >> 16) & 0xFFFF;
    (sum & 0xFFFF) as u16
}

/// The digest of a DS record of `digest_type` (2: SHA-256, RFC 4509; 4:
/// SHA-384, RFC 6605) over the key `dnskey_rdata` at `owner_wire`; `None`
/// for other types.
pub fn ds_digest(owner_wire: &[u8], dnskey_rdata: &[u8], digest_type: u8) -> Option<Vec<u8>> {
    let algorithm = match digest_type {
        2 => &digest::SHA256,
        4 => &digest::SHA384,
        _ => return None,
    };
    let mut ctx = digest::Context::new(algorithm);
    ctx.update(owner_wire);
    ctx.update(dnskey_rdata);
    Some(ctx.finish().as_ref().to_vec())
}

/// The SHA-256 DS (digest type 2, RFC 4509) of the key `dnskey_rdata` at
/// the owner `owner_wire` (canonical, lower-case wire form).
pub fn ds_sha256(owner_wire: &[u8], dnskey_rdata: &[u8]) -> DsData {
    DsData {
        key_tag: key_tag(dnskey_rdata),
        algorithm: dnskey_rdata.get(3).copied().unwrap_or(0),
        digest_type: 2,
        digest: ds_digest(owner_wire, dnskey_rdata, 2).unwrap_or_default(),
    }
}

/// Whether the RRSIG RDATA `rrsig` is a valid signature, at `now` (Unix
/// seconds), over the RRset of `rdatas` of its covered type at
/// `owner_wire` (canonical wire form) by the key `dnskey` (DNSKEY RDATA):
/// RFC 4035 §5.3, for algorithms 8, 13 and 15, wildcard expansion aside.
pub fn verify_rrsig(rrsig: &[u8], owner_wire: &[u8], rdatas: &[Vec<u8>], dnskey: &[u8], now: u32) -> bool {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};
    let Some((fields, signature)) = RrsigFields::parse(rrsig) else { return false };
    let (Some(flags), Some(&alg), Some(public)) = (dnskey.get(..2), dnskey.get(3), dnskey.get(4..)) else { return false };
    let zone_key = u16::from_be_bytes([flags[0], flags[1]]) & DNSKEY_ZONE != 0;
    let current = (now.wrapping_sub(fields.inception) as i32) >= 0 && (fields.expiration.wrapping_sub(now) as i32) >= 0;
    if !zone_key || !current || alg != fields.algorithm || key_tag(dnskey) != fields.key_tag || fields.labels != label_count(owner_wire) {
        return false;
    }
    let data = fields.signed_data(owner_wire, rdatas);
    match alg {
        algorithm::ECDSAP256SHA256 => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, [&[4u8][..], public].concat()).verify(&data, signature).is_ok()
        }
        algorithm::ED25519 => UnparsedPublicKey::new(&ED25519, public).verify(&data, signature).is_ok(),
        algorithm::RSASHA256 => {
            // RFC 3110 §2: the exponent's length (one octet, or zero and two), the exponent, the modulus.
            let (e_len, at) = match public {
                [0, high, low, ..] => (usize::from(u16::from_be_bytes([*high, *low])), 3),
                [len, ..] => (usize::from(*len), 1),
                [] => return false,
            };
            let (Some(e), Some(n)) = (public.get(at..at + e_len), public.get(at + e_len..)) else { return false };
            RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, &data, signature).is_ok()
        }
        _ => false,
    }
}

/// Whether the DS RDATA `ds` (RFC 4034 §5.1) at `owner_wire` is that of
/// the key `dnskey_rdata`.
pub fn ds_matches(ds: &[u8], owner_wire: &[u8], dnskey_rdata: &[u8]) -> bool {
    match ds {
        [tag_high, tag_low, algorithm, digest_type, digest @ ..] => {
            u16::from_be_bytes([*tag_high, *tag_low]) == key_tag(dnskey_rdata)
                && Some(algorithm) == dnskey_rdata.get(3)
                && ds_digest(owner_wire, dnskey_rdata, *digest_type).is_some_and(|d| d == digest)
        }
        _ => false,
    }
}

/// The NSEC3 hash of an owner name in canonical wire form (RFC 5155 §5).
/// Zones signed here use no salt and no extra iterations (RFC 9276 §3.1);
/// the parameters are for reading other zones and the RFC's examples.
pub fn nsec3_hash(owner_wire: &[u8], salt: &[u8], iterations: u16) -> [u8; NSEC3_HASH_BYTES] {
    let round = |input: &[u8]| {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(input);
        ctx.update(salt);
        let mut out = [0u8; NSEC3_HASH_BYTES];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    };
    let mut hash = round(owner_wire);
    for _ in 0..iterations {
        hash = round(&hash);
    }
    hash
}

const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Base32 with the extended hex alphabet, lower case and unpadded (RFC 4648
/// §7, RFC 5155 §3.3): the NSEC3 owner label, which sorts like the hash.
pub fn base32hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32HEX[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32HEX[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The type bitmap of NSEC and NSEC3 records (RFC 4034 §4.1.2) for `types`
/// (any order, duplicates allowed).
pub fn type_bitmap(types: &[u16]) -> Vec<u8> {
    let mut sorted = types.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut at = 0;
    while at < sorted.len() {
        let window = sorted[at] >> 8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while at < sorted.len() && sorted[at] >> 8 == window {
            let low = (sorted[at] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            at += 1;
        }
        out.push(window as u8);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

/// The types a type bitmap lists, in ascending order.
pub fn bitmap_types(bitmap: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    let mut rest = bitmap;
    while let [window, len, tail @ ..] = rest {
        let len = (*len as usize).min(tail.len());
        for (i, byte) in tail[..len].iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    types.push(u16::from(*window) << 8 | (i * 8 + bit) as u16);
                }
            }
        }
        rest = &tail[len..];
    }
    types
}

/// NSEC RDATA (RFC 4034 §4.1): the next owner name in canonical order
/// (uncompressed, lower case) and the types at this owner.
pub fn nsec_rdata(next_owner_wire: &[u8], types: &[u16]) -> Vec<u8> {
    let mut out = next_owner_wire.to_vec();
    out.extend_from_slice(&type_bitmap(types));
    out
}

/// NSEC3 RDATA (RFC 5155 §3.2) with no salt and no extra iterations.
pub fn nsec3_rdata(flags: u8, next_hash: &[u8; NSEC3_HASH_BYTES], types: &[u16]) -> Vec<u8> {
    let bitmap = type_bitmap(types);
    let mut out = Vec::with_capacity(6 + NSEC3_HASH_BYTES + bitmap.len());
    out.extend_from_slice(&[NSEC3_SHA1, flags, 0, 0, 0, NSEC3_HASH_BYTES as u8]);
    out.extend_from_slice(next_hash);
    out.extend_from_slice(&bitmap);
    out
}

/// NSEC3PARAM RDATA (RFC 5155 §4.2) for the parameters of [`nsec3_rdata`].
pub fn nsec3param_rdata() -> Vec<u8> {
    vec![NSEC3_SHA1, 0, 0, 0, 0]
}

/// Labels of a wire name, the root not counted (RRSIG "Labels", RFC 4034 §3.1.3).
pub fn label_count(wire: &[u8]) -> u8 {
    let (mut at, mut n) = (0usize, 0u8);
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        n += 1;
        at += 1 + len as usize;
    }
    n
}

/// The fields of an RRSIG before its signature (RFC 4034 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsigFields {
    pub type_covered: u16,
    pub algorithm: u8,
    pub labels: u8,
    pub original_ttl: u32,
    /// Unix seconds (RFC 4034 §3.1.5 serial arithmetic; fine until 2106).
    pub expiration: u32,
    pub inception: u32,
    pub key_tag: u16,
    /// The zone apex in lower-case wire form.
    pub signer: Vec<u8>,
}

impl RrsigFields {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.type_covered.to_be_bytes());
        out.push(self.algorithm);
        out.push(self.labels);
        out.extend_from_slice(&self.original_ttl.to_be_bytes());
        out.extend_from_slice(&self.expiration.to_be_bytes());
        out.extend_from_slice(&self.inception.to_be_bytes());
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        out.extend_from_slice(&self.signer);
    }

    /// What the signature covers (RFC 4034 §3.1.8.1): these fields, then
    /// each RR of the set at `owner_wire` in canonical form and order
    /// (RDATA as octet strings, ascending, RFC 4034 §6.3). Names in our RDATA
    /// are already lower case, as §6.2 asks.
    pub fn signed_data(&self, owner_wire: &[u8], rdatas: &[Vec<u8>]) -> Vec<u8> {
        let mut sorted: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::with_capacity(64 + sorted.iter().map(|r| owner_wire.len() + 10 + r.len()).sum::<usize>());
        self.write(&mut out);
        for rdata in sorted {
            out.extend_from_slice(owner_wire);
            out.extend_from_slice(&self.type_covered.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&self.original_ttl.to_be_bytes());
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(rdata);
        }
        out
    }

    /// The RRSIG RDATA: these fields and the signature.
    pub fn rdata(&self, signature: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.signer.len() + signature.len());
        self.write(&mut out);
        out.extend_from_slice(signature);
        out
    }

    /// Reads the fields back from RRSIG RDATA; `None` when it is too short.
    pub fn parse(rdata: &[u8]) -> Option<(RrsigFields, &[u8])> {
        let fixed = rdata.get(..18)?;
        let mut at = 18;
        while *rdata.get(at)? != 0 {
            at += 1 + rdata[at] as usize;
        }
        let signer = rdata.get(18..=at)?.to_vec();
        let be32 = |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let fields = RrsigFields {
            type_covered: u16::from_be_bytes([fixed[0], fixed[1]]),
            algorithm: fixed[2],
            labels: fixed[3],
            original_ttl: be32(4),
            expiration: be32(8),
            inception: be32(12),
            key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
            signer,
        };
        Some((fields, &rdata[at + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DomainName;

    fn wire(name: &str) -> Vec<u8> {
        DomainName::parse(name).unwrap().to_wire()
    }

    #[test]
    fn the_default_timing_holds_and_a_signature_born_due_is_refused() {
        let mut signing = ZoneSigning::new(Denial::Nsec, Vec::new());
        assert_eq!(signing.check_timing(), Ok(()));
        signing.signature_refresh_s = signing.signature_validity_s - signing.signature_jitter_s;
        assert!(signing.check_timing().is_err(), "refresh plus jitter reach the validity");
        signing.signature_refresh_s = signing.dnskey_ttl_s + signing.propagation_delay_s;
        assert!(signing.check_timing().is_err(), "a cache could outlive the signature");
    }

    #[test]
    fn a_signature_verifies_only_over_its_rrset_by_its_key_in_its_window() {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let dnskey = dnskey_rdata(257, 13, &pair.public_key().as_ref()[1..]);
        let owner = wire("child.example");
        let rdatas = vec![vec![1, 2, 3, 4, 13, 2, 9, 9]];
        let fields = RrsigFields {
            type_covered: 59,
            algorithm: 13,
            labels: 2,
            original_ttl: 3600,
            expiration: 2_000,
            inception: 1_000,
            key_tag: key_tag(&dnskey),
            signer: owner.clone(),
        };
        let signature = pair.sign(&rng, &fields.signed_data(&owner, &rdatas)).unwrap();
        let rrsig = fields.rdata(signature.as_ref());
        assert!(verify_rrsig(&rrsig, &owner, &rdatas, &dnskey, 1_500));
        assert!(!verify_rrsig(&rrsig, &owner, &rdatas, &dnskey, 2_500), "expired");
        assert!(!verify_rrsig(&rrsig, &owner, &[vec![0]], &dnskey, 1_500), "another RRset");
        assert!(!verify_rrsig(&rrsig, &wire("other.example"), &rdatas, &dnskey, 1_500), "another owner");
        let other = dnskey_rdata(257, 13, &[7; 64]);
        assert!(!verify_rrsig(&rrsig, &owner, &rdatas, &other, 1_500), "another key");
    }

    #[test]
    fn nsec_rdata_is_the_next_name_and_the_bitmap() {
        let rdata = nsec_rdata(&wire("b.example"), &[super::super::zone::rtype::NS, super::super::zone::rtype::NSEC]);
        assert_eq!(rdata[..11], wire("b.example")[..]);
        assert_eq!(bitmap_types(&rdata[11..]), vec![2, 47]);
    }

    #[test]
    fn nsec3_hashes_match_rfc_5155_appendix_a() {
        let salt = [0xAA, 0xBB, 0xCC, 0xDD];
        for (name, hash) in [
            ("example", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ns1.example", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
            ("xx.example", "t644ebqk9bibcna874givr6joj62mlhv"),
        ] {
            assert_eq!(base32hex(&nsec3_hash(&wire(name), &salt, 12)), hash, "{name}");
        }
    }

    /// RFC 4034 §5.4 (key tag 60485, SHA-1 DS) and RFC 4509 §2.3 (its SHA-256 DS).
    #[test]
    fn key_tag_and_ds_match_rfc_4034_and_4509() {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD
            .decode(
                "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
            )
            .unwrap();
        let rdata = dnskey_rdata(DNSKEY_ZONE, 5, &key);
        assert_eq!(key_tag(&rdata), 60485);
        let ds = ds_sha256(&wire("dskey.example.com"), &rdata);
        assert_eq!((ds.key_tag, ds.algorithm, ds.digest_type), (60485, 5, 2));
        assert_eq!(
            crate::model::objects::hex_bytes::encode_upper(&ds.digest),
            "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A"
        );
    }

    #[test]
    fn type_bitmaps_round_trip_and_match_rfc_4034_section_4_3() {
        // "A MX RRSIG NSEC TYPE1234" from RFC 4034 §4.3.
        let bitmap = type_bitmap(&[1, 15, 46, 47, 1234]);
        let mut expected = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        expected.extend([0; 26]);
        expected.push(0x20);
        assert_eq!(bitmap, expected);
        assert_eq!(bitmap_types(&bitmap), vec![1, 15, 46, 47, 1234]);
        assert!(type_bitmap(&[]).is_empty());
    }

    #[test]
    fn base32hex_keeps_the_order_of_the_bytes() {
        assert_eq!(base32hex(b"f"), "co");
        assert_eq!(base32hex(b"foobar"), "cpnmuoj1e8");
        let (a, b) = ([0x10u8; 20], [0x11u8; 20]);
        assert!(base32hex(&a) < base32hex(&b));
    }

    #[test]
    fn rrsig_fields_round_trip_and_sign_sorted_rrs() {
        let fields = RrsigFields {
            type_covered: 2,
            algorithm: algorithm::ECDSAP256SHA256,
            labels: label_count(&wire("example")),
            original_ttl: 3600,
            expiration: 1_800_000_000,
            inception: 1_700_000_000,
            key_tag: 4242,
            signer: wire("example"),
        };
        assert_eq!(fields.labels, 1);
        let rdata = fields.rdata(&[9; 64]);
        let (back, signature) = RrsigFields::parse(&rdata).unwrap();
        assert_eq!((back, signature), (fields.clone(), &[9u8; 64][..]));
        let (a, b) = (wire("b.nic.example"), wire("a.nic.example"));
        assert_eq!(fields.signed_data(&wire("example"), &[a.clone(), b.clone()]), fields.signed_data(&wire("example"), &[b, a]));
        assert_eq!(nsec3_rdata(NSEC3_OPT_OUT, &[0; 20], &[2])[..6], [1, 1, 0, 0, 0, 20]);
    }
}
