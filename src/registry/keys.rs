//! Zone signing keys: made with ring (ECDSA P-256 and Ed25519) or, as ring
//! cannot make RSA keys, with the `rsa` crate (RSA/SHA-256, which ring then
//! signs with), each private key a PKCS#8 file readable by its owner only,
//! in a folder per TLD under the data folder's `keys/`, loaded once by the
//! writer and used to sign RRsets; with a PKCS#11 token configured, key
//! signing (and combined) keys are made and kept in the token instead. The
//! store holds only the public halves ([`crate::model::dnssec::ZoneKey`]);
//! backups carry the private key files beside the store's tables (a token's
//! keys stay in the token), and a restore puts them back here.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

use super::token::Token;
use crate::model::dnssec::{KeyRole, ZoneKey, algorithm, dnskey_rdata, key_tag};
use crate::model::{DomainName, Timestamp};
use crate::store::StoreError;

/// A private key, ready to sign.
pub struct SigningKey {
    pair: Pair,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
    /// A key in the PKCS#11 token: its private handle and public key.
    Token {
        token: Arc<Token>,
        handle: cryptoki::object::ObjectHandle,
        algorithm: u8,
        public_key: Vec<u8>,
    },
}

/// The modulus of the RSA keys made here: RFC 8624 §3.1's minimum, Knot's
/// and BIND's default.
const RSA_BITS: usize = 2048;

impl SigningKey {
    fn from_pkcs8(algorithm: u8, pkcs8: &[u8], rng: &SystemRandom) -> Option<SigningKey> {
        let pair = match algorithm {
            algorithm::ECDSAP256SHA256 => Pair::Ecdsa(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, rng).ok()?),
            algorithm::ED25519 => Pair::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).ok()?),
            algorithm::RSASHA256 => Pair::Rsa(RsaKeyPair::from_pkcs8(pkcs8).ok()?),
            _ => return None,
        };
        Some(SigningKey { pair })
    }

    /// The public key as a DNSKEY carries it: for ECDSA the point without
    /// its uncompressed-form prefix (RFC 6605 §4), for Ed25519 as is (RFC
    /// 8080), for RSA the exponent's length, the exponent and the modulus
    /// (RFC 3110 §2).
    fn public_key(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Ecdsa(p) => p.public_key().as_ref()[1..].to_vec(),
            Pair::Ed25519(p) => p.public_key().as_ref().to_vec(),
            Pair::Rsa(p) => {
                let parts = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(p.public());
                rsa_dnskey_key(&parts.e, &parts.n)
            }
            Pair::Token { public_key, .. } => public_key.clone(),
        }
    }

    /// The signature over `data` in DNSSEC form (ECDSA r‖s, RFC 6605 §4).
    pub fn sign(&self, data: &[u8], rng: &SystemRandom) -> Result<Vec<u8>, StoreError> {
        match &self.pair {
            Pair::Ecdsa(p) => Ok(p.sign(rng, data).map_err(|_| StoreError::Db("ECDSA signing failed".into()))?.as_ref().to_vec()),
            Pair::Ed25519(p) => Ok(p.sign(data).as_ref().to_vec()),
            Pair::Rsa(p) => {
                let mut signature = vec![0; p.public().modulus_len()];
                p.sign(&RSA_PKCS1_SHA256, rng, data, &mut signature).map_err(|_| StoreError::Db("RSA signing failed".into()))?;
                Ok(signature)
            }
            Pair::Token { token, handle, algorithm, .. } => token.sign(*handle, *algorithm, data),
        }
    }
}

/// The RSA public key as a DNSKEY carries it (RFC 3110 §2): the exponent's
/// length, the exponent and the modulus, without leading zeros.
pub(super) fn rsa_dnskey_key(exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
    let strip = |b: &[u8]| b.iter().position(|&x| x != 0).map_or_else(Vec::new, |at| b[at..].to_vec());
    let (exponent, modulus) = (strip(exponent), strip(modulus));
    let mut out = Vec::with_capacity(3 + exponent.len() + modulus.len());
    match u8::try_from(exponent.len()) {
        Ok(len) => out.push(len),
        Err(_) => {
            out.push(0);
            out.extend_from_slice(&(exponent.len() as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&exponent);
    out.extend_from_slice(&modulus);
    out
}

/// The zone signing keys kept beside the store (and in the token).
pub struct Keys {
    dir: PathBuf,
    rng: SystemRandom,
    loaded: Mutex<HashMap<(DomainName, u16, u8), Arc<SigningKey>>>,
    token: Option<Arc<Token>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Keys {
    pub fn new(dir: PathBuf) -> Keys {
        Keys { dir, rng: SystemRandom::new(), loaded: Mutex::default(), token: None }
    }

    /// The keys of `config`'s data folder and, when it names one, its token.
    pub fn open(config: &crate::config::Config) -> Result<Keys, StoreError> {
        let token = config.dnssec.pkcs11.as_ref().map(Token::open).transpose()?.map(Arc::new);
        Ok(Keys { token, ..Keys::new(config.keys_dir()) })
    }

    pub fn rng(&self) -> &SystemRandom {
        &self.rng
    }

    fn path(&self, tld: &DomainName, algorithm: u8, key_tag: u16) -> PathBuf {
        self.dir.join(file_name(tld, algorithm, key_tag))
    }

    /// The private key file of every key the zones of `snapshot` use, by
    /// its name in the keys folder: what a backup must carry so that its
    /// restore can sign again. A missing file fails the backup.
    pub fn export(&self, snapshot: &crate::store::Snapshot) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut files = Vec::new();
        for zone in snapshot.zones() {
            let tld = &zone.tld.name;
            for key in snapshot.zone_signing(tld)?.map(|s| s.keys).unwrap_or_default() {
                // A key in the token never leaves it.
                if matches!(self.signer(tld, &key)?.pair, Pair::Token { .. }) {
                    continue;
                }
                let name = file_name(tld, key.algorithm, key.key_tag());
                let path = self.dir.join(&name);
                files.push((name, std::fs::read(&path).map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?));
            }
        }
        Ok(files)
    }

    /// Puts key files taken from a backup into the keys folder (owner-only,
    /// synced). A file already there with the same bytes is kept; one with
    /// other bytes is never overwritten.
    pub fn install(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        for (name, bytes) in files {
            let mut parts = name.split('/');
            let safe = |p: Option<&str>| {
                p.is_some_and(|p| {
                    !p.is_empty() && !p.starts_with('.') && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b))
                })
            };
            if !(safe(parts.next()) && safe(parts.next()) && parts.next().is_none() && name.ends_with(".pk8")) {
                return Err(StoreError::Corrupt(format!("{name:?} is not the name of a key file")));
            }
            let path = self.dir.join(name);
            match std::fs::read(&path) {
                Ok(present) if present == *bytes => continue,
                Ok(_) => {
                    return Err(StoreError::Unavailable(format!("{} holds another key; remove it to restore this one", path.display())));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Unavailable(format!("{}: {e}", path.display()))),
            }
            write_private(&path, bytes).map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Makes a key for `tld`, writes its private half (synced, mode 0600)
    /// and returns the public half to publish from `now`, signing from then
    /// on when `active`.
    pub fn generate(&self, tld: &DomainName, algorithm: u8, role: KeyRole, now: Timestamp, active: bool) -> Result<ZoneKey, StoreError> {
        let flags = role.flags();
        let failed = |what: &str| StoreError::Db(format!("cannot make a signing key for {tld}: {what}"));
        // Key signing (and combined) keys go to the token when there is one.
        if let Some(token) = self.token.as_ref().filter(|_| role != KeyRole::Zsk) {
            return self.generate_in_token(token, tld, algorithm, role, now, active);
        }
        // A new key's tag may equal that of a key the zone has or had (its
        // file is there): such a key is made again.
        for _ in 0..8 {
            let pkcs8: Vec<u8> = match algorithm {
                algorithm::ECDSAP256SHA256 => {
                    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.rng).map(|d| d.as_ref().to_vec())
                }
                algorithm::ED25519 => Ed25519KeyPair::generate_pkcs8(&self.rng).map(|d| d.as_ref().to_vec()),
                algorithm::RSASHA256 => {
                    use rsa::pkcs8::EncodePrivateKey;
                    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS).map_err(|e| failed(&e.to_string()))?;
                    Ok(key.to_pkcs8_der().map_err(|e| failed(&e.to_string()))?.as_bytes().to_vec())
                }
                other => return Err(failed(&format!("algorithm {other} is not supported (8, 13 or 15)"))),
            }
            .map_err(|_| failed("the random source failed"))?;
            let key = SigningKey::from_pkcs8(algorithm, &pkcs8, &self.rng).ok_or_else(|| failed("ring refused the new key"))?;
            let public_key = key.public_key();
            let tag = key_tag(&dnskey_rdata(flags, algorithm, &public_key));
            let path = self.path(tld, algorithm, tag);
            match write_private(&path, &pkcs8) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::Unavailable(format!("{}: {e}", path.display()))),
                Ok(()) => {}
            }
            self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert((tld.clone(), tag, algorithm), Arc::new(key));
            return Ok(new_key(algorithm, public_key, role, now, active));
        }
        Err(failed("every new key's tag was taken"))
    }

    /// Makes a key in the token, labelled like its file would be named.
    fn generate_in_token(
        &self,
        token: &Arc<Token>,
        tld: &DomainName,
        algorithm: u8,
        role: KeyRole,
        now: Timestamp,
        active: bool,
    ) -> Result<ZoneKey, StoreError> {
        let pending = format!("{tld}-new-{}", now.unix_seconds());
        for _ in 0..8 {
            let (handle, public_key) = token.generate(algorithm, &pending)?;
            let tag = key_tag(&dnskey_rdata(role.flags(), algorithm, &public_key));
            let label = token_label(tld, algorithm, tag);
            if token.find(&label, algorithm)?.is_some() || self.path(tld, algorithm, tag).exists() {
                token.destroy(&pending)?;
                continue;
            }
            token.relabel(&pending, &label)?;
            let key = SigningKey { pair: Pair::Token { token: token.clone(), handle, algorithm, public_key: public_key.clone() } };
            self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert((tld.clone(), tag, algorithm), Arc::new(key));
            return Ok(new_key(algorithm, public_key, role, now, active));
        }
        Err(StoreError::Db(format!("cannot make a signing key for {tld}: every new key's tag was taken")))
    }

    /// The private half of `key`, read from its file (or found in the
    /// token) the first time.
    pub fn signer(&self, tld: &DomainName, key: &ZoneKey) -> Result<Arc<SigningKey>, StoreError> {
        let id = (tld.clone(), key.key_tag(), key.algorithm);
        if let Some(k) = self.loaded.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(k.clone());
        }
        let path = self.path(tld, key.algorithm, key.key_tag());
        if let Some(token) = self.token.as_ref().filter(|_| !path.exists())
            && let Some((handle, public_key)) = token.find(&token_label(tld, key.algorithm, key.key_tag()), key.algorithm)?
        {
            if public_key != key.public_key {
                return Err(StoreError::Db(format!("the token's key {} of {tld} is not the published one", key.key_tag())));
            }
            let loaded = Arc::new(SigningKey { pair: Pair::Token { token: token.clone(), handle, algorithm: key.algorithm, public_key } });
            self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(id, loaded.clone());
            return Ok(loaded);
        }
        let pkcs8 = std::fs::read(&path)
            .map_err(|e| StoreError::Db(format!("the private key of {tld} key {} is missing ({}: {e})", key.key_tag(), path.display())))?;
        let loaded = SigningKey::from_pkcs8(key.algorithm, &pkcs8, &self.rng)
            .filter(|k| k.public_key() == key.public_key)
            .ok_or_else(|| StoreError::Db(format!("{} is not the private key of {tld} key {}", path.display(), key.key_tag())))?;
        let loaded = Arc::new(loaded);
        self.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(id, loaded.clone());
        Ok(loaded)
    }
}

/// The public half of a key made at `now`: published at once, signing
/// from then on when `active`.
fn new_key(algorithm: u8, public_key: Vec<u8>, role: KeyRole, now: Timestamp, active: bool) -> ZoneKey {
    ZoneKey {
        flags: role.flags(),
        algorithm,
        public_key,
        created: now,
        published: Some(now),
        role,
        active_from: active.then_some(now),
        retired: None,
        ds_seen: None,
    }
}

/// A key's label in the token: its file's name without folder and suffix.
fn token_label(tld: &DomainName, algorithm: u8, key_tag: u16) -> String {
    format!("K{tld}.+{algorithm:03}+{key_tag:05}")
}

/// A key's file in the keys folder, named as BIND and Knot name theirs.
fn file_name(tld: &DomainName, algorithm: u8, key_tag: u16) -> String {
    format!("{tld}/K{tld}.+{algorithm:03}+{key_tag:05}.pk8")
}

/// Writes a private key readable by its owner only, in a folder only its
/// owner can enter, synced before it is used.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tld = DomainName::parse("example").unwrap();
        let keys = Keys::new(dir.path().join("keys"));
        for (alg, signature_len) in [(algorithm::ECDSAP256SHA256, 64), (algorithm::ED25519, 64), (algorithm::RSASHA256, RSA_BITS / 8)] {
            let key = keys.generate(&tld, alg, KeyRole::Ksk, Timestamp(0), true).unwrap();
            let path = keys.path(&tld, alg, key.key_tag());
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
            let fresh = Keys::new(dir.path().join("keys"));
            let signer = fresh.signer(&tld, &key).unwrap();
            assert_eq!(signer.sign(b"data", fresh.rng()).unwrap().len(), signature_len);
            let other = ZoneKey { public_key: vec![0; key.public_key.len()], ..key };
            assert!(fresh.signer(&tld, &other).is_err(), "a key file must match its published key");
        }
    }

    #[test]
    fn installed_key_files_stay_inside_the_folder_and_never_replace_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::new(dir.path().join("keys"));
        let file = |name: &str, bytes: &[u8]| vec![(name.to_string(), bytes.to_vec())];
        keys.install(&file("example/Kexample.+013+00001.pk8", b"one")).unwrap();
        keys.install(&file("example/Kexample.+013+00001.pk8", b"one")).unwrap();
        assert!(keys.install(&file("example/Kexample.+013+00001.pk8", b"two")).is_err(), "overwrote a key");
        assert_eq!(std::fs::read(dir.path().join("keys/example/Kexample.+013+00001.pk8")).unwrap(), b"one");
        for bad in ["../evil.pk8", "example/../../evil.pk8", "/etc/evil.pk8", "example/.hidden.pk8", "a/b/c.pk8", "example/key.txt", "x"] {
            assert!(keys.install(&file(bad, b"x")).is_err(), "{bad} accepted");
        }
    }
}
