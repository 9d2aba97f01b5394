//! A parent's reading of its child's CDS RRset (RFC 7344, RFC 8078): what
//! the child's name servers answered is trusted only through the DS the
//! registry holds now — a DNSKEY that DS vouches for must sign both the
//! child's DNSKEY RRset and its CDS RRset — and a new DS set is taken only
//! if a key that signs the child's DNSKEY RRset keeps its chain whole. The
//! special CDS `0 0 0 00` asks for the DS to be removed (RFC 8078 §4).
//! Pure: the name servers are asked elsewhere.

use super::dnssec::{ds_matches, verify_rrsig};
use super::objects::DsData;
use super::zone::ds_rdata;

/// What a child's name server answered for its DNSKEY and CDS RRsets (RDATA
/// in wire form, with the RRSIGs over each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildAnswer {
    pub dnskeys: Vec<Vec<u8>>,
    pub dnskey_sigs: Vec<Vec<u8>>,
    pub cds: Vec<Vec<u8>>,
    pub cds_sigs: Vec<Vec<u8>>,
}

/// What the registry should do with the child's DS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CdsChange {
    /// No CDS, or one that asks for the DS held now.
    Unchanged,
    /// The DS becomes these records.
    Replace(Vec<DsData>),
    /// The DS is removed: the delegation becomes insecure.
    Delete,
}

/// The CDS of RFC 8078 §4 that asks for the removal of the DS.
const DELETE: [u8; 5] = [0, 0, 0, 0, 0];

/// Reads a child's answer against the DS held now (`current`) for the
/// child at `owner_wire`, at `now` (Unix seconds); `Err` says why the CDS
/// cannot be trusted or applied.
pub fn read(current: &[DsData], owner_wire: &[u8], answer: &ChildAnswer, now: u32) -> Result<CdsChange, String> {
    if answer.cds.is_empty() {
        return Ok(CdsChange::Unchanged);
    }
    let held: Vec<Vec<u8>> = current.iter().map(ds_rdata).collect();
    let vouched: Vec<&Vec<u8>> = answer.dnskeys.iter().filter(|k| held.iter().any(|ds| ds_matches(ds, owner_wire, k))).collect();
    if vouched.is_empty() {
        return Err("no DNSKEY of the child matches the DS held for it".into());
    }
    let signed_by = |sigs: &[Vec<u8>], rdatas: &[Vec<u8>], keys: &[&Vec<u8>]| {
        sigs.iter().any(|sig| keys.iter().any(|k| verify_rrsig(sig, owner_wire, rdatas, k, now)))
    };
    if !signed_by(&answer.dnskey_sigs, &answer.dnskeys, &vouched) {
        return Err("the child's DNSKEY RRset is not signed by a key of the DS held for it".into());
    }
    if !signed_by(&answer.cds_sigs, &answer.cds, &vouched) {
        return Err("the child's CDS RRset is not signed by a key of the DS held for it".into());
    }
    if answer.cds.iter().all(|c| c.as_slice() == DELETE) {
        return Ok(CdsChange::Delete);
    }
    let mut wanted = Vec::with_capacity(answer.cds.len());
    for rdata in &answer.cds {
        match rdata.as_slice() {
            [high, low, algorithm, digest_type, digest @ ..] if !digest.is_empty() && rdata.as_slice() != DELETE => wanted.push(DsData {
                key_tag: u16::from_be_bytes([*high, *low]),
                algorithm: *algorithm,
                digest_type: *digest_type,
                digest: digest.to_vec(),
            }),
            _ => return Err("a CDS record is malformed, or a removal mixed with other records".into()),
        }
    }
    // The new DS must keep the chain: one of them is of a key that signs the DNSKEY RRset.
    let signers: Vec<&Vec<u8>> = answer.dnskeys.iter().filter(|k| signed_by(&answer.dnskey_sigs, &answer.dnskeys, &[*k])).collect();
    if !wanted.iter().any(|ds| signers.iter().any(|k| ds_matches(&ds_rdata(ds), owner_wire, k))) {
        return Err("no CDS record is of a key that signs the child's DNSKEY RRset: taking it would break the chain".into());
    }
    wanted.sort_by(|a, b| (a.key_tag, a.algorithm, a.digest_type, &a.digest).cmp(&(b.key_tag, b.algorithm, b.digest_type, &b.digest)));
    wanted.dedup();
    let mut now_held = current.to_vec();
    now_held.sort_by(|a, b| (a.key_tag, a.algorithm, a.digest_type, &a.digest).cmp(&(b.key_tag, b.algorithm, b.digest_type, &b.digest)));
    Ok(if wanted == now_held { CdsChange::Unchanged } else { CdsChange::Replace(wanted) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DomainName;
    use crate::model::dnssec::{RrsigFields, dnskey_rdata, ds_digest, key_tag};
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    struct Key {
        pair: EcdsaKeyPair,
        dnskey: Vec<u8>,
    }

    fn key() -> Key {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let dnskey = dnskey_rdata(257, 13, &pair.public_key().as_ref()[1..]);
        Key { pair, dnskey }
    }

    fn sign(key: &Key, owner: &[u8], rtype: u16, rdatas: &[Vec<u8>]) -> Vec<u8> {
        let fields = RrsigFields {
            type_covered: rtype,
            algorithm: 13,
            labels: 2,
            original_ttl: 3600,
            expiration: 2_000,
            inception: 1_000,
            key_tag: key_tag(&key.dnskey),
            signer: owner.to_vec(),
        };
        let rng = ring::rand::SystemRandom::new();
        fields.rdata(key.pair.sign(&rng, &fields.signed_data(owner, rdatas)).unwrap().as_ref())
    }

    fn ds(key: &Key, owner: &[u8], digest_type: u8) -> DsData {
        DsData { key_tag: key_tag(&key.dnskey), algorithm: 13, digest_type, digest: ds_digest(owner, &key.dnskey, digest_type).unwrap() }
    }

    fn answer(signer: &Key, dnskeys: &[&Key], cds: Vec<Vec<u8>>, owner: &[u8]) -> ChildAnswer {
        let dnskeys: Vec<Vec<u8>> = dnskeys.iter().map(|k| k.dnskey.clone()).collect();
        ChildAnswer { dnskey_sigs: vec![sign(signer, owner, 48, &dnskeys)], cds_sigs: vec![sign(signer, owner, 59, &cds)], dnskeys, cds }
    }

    #[test]
    fn a_cds_signed_by_the_current_key_replaces_or_removes_the_ds_and_nothing_else_does() {
        let owner = DomainName::parse("child.example").unwrap().to_wire();
        let (old, new, stranger) = (key(), key(), key());
        let current = vec![ds(&old, &owner, 2)];

        // The child asks for its new key's DS, signed by the key the parent trusts.
        let wanted = ds(&new, &owner, 4);
        let a = answer(&old, &[&old, &new], vec![ds_rdata(&wanted)], &owner);
        let mut both = a.clone();
        both.dnskey_sigs.push(sign(&new, &owner, 48, &a.dnskeys));
        assert_eq!(read(&current, &owner, &both, 1_500), Ok(CdsChange::Replace(vec![wanted.clone()])));
        assert!(read(&current, &owner, &a, 1_500).unwrap_err().contains("break the chain"), "the new key does not sign the DNSKEYs yet");
        assert_eq!(read(&current, &owner, &answer(&old, &[&old], vec![ds_rdata(&current[0])], &owner), 1_500), Ok(CdsChange::Unchanged));
        assert_eq!(read(&current, &owner, &ChildAnswer::default(), 1_500), Ok(CdsChange::Unchanged));

        // RFC 8078's removal.
        assert_eq!(read(&current, &owner, &answer(&old, &[&old], vec![DELETE.to_vec()], &owner), 1_500), Ok(CdsChange::Delete));

        // Signed by a key the DS does not vouch for, or expired: refused.
        let forged = answer(&stranger, &[&old, &stranger], vec![DELETE.to_vec()], &owner);
        assert!(read(&current, &owner, &forged, 1_500).is_err());
        assert!(read(&current, &owner, &answer(&old, &[&old], vec![DELETE.to_vec()], &owner), 2_500).is_err(), "expired signatures");
        let mut unsigned_cds = answer(&old, &[&old], vec![DELETE.to_vec()], &owner);
        unsigned_cds.cds_sigs.clear();
        assert!(read(&current, &owner, &unsigned_cds, 1_500).unwrap_err().contains("CDS RRset is not signed"));
    }
}
