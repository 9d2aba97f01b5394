//! A PKCS#11 token (an HSM, or SoftHSM) holding key signing keys: keys are
//! made inside it, never leave it (sensitive, not extractable), are found
//! again by their label (`K<tld>.+<alg>+<tag>`, as their files would be
//! named), and sign through one logged-in session. ECDSA P-256 and
//! RSA/SHA-256 keys; the token hashes for RSA, we hash for ECDSA (CKM_ECDSA
//! signs a digest and returns r‖s, the DNSSEC form of RFC 6605).

use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use crate::config::Pkcs11Config;
use crate::model::dnssec::algorithm;
use crate::store::StoreError;

/// DER of the P-256 curve's OID (1.2.840.10045.3.1.7), as CKA_EC_PARAMS.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

pub struct Token {
    session: Mutex<Session>,
    // Kept for the session's lifetime: finalizes the module when dropped.
    _module: Pkcs11,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").finish_non_exhaustive()
    }
}

fn failed(what: &str) -> impl Fn(cryptoki::error::Error) -> StoreError + '_ {
    move |e| StoreError::Unavailable(format!("PKCS#11 token: {what}: {e}"))
}

impl Token {
    /// Loads the module, finds the token by its label and logs in with the
    /// PIN in the configured file.
    pub fn open(config: &Pkcs11Config) -> Result<Token, StoreError> {
        let module = Pkcs11::new(&config.module).map_err(failed("loading the module"))?;
        module.initialize(CInitializeArgs::OsThreads).map_err(failed("initializing the module"))?;
        let mut found = None;
        for slot in module.get_slots_with_token().map_err(failed("listing its slots"))? {
            if module.get_token_info(slot).is_ok_and(|info| info.label() == config.token_label) {
                found = Some(slot);
                break;
            }
        }
        let slot = found.ok_or_else(|| StoreError::Unavailable(format!("PKCS#11 token {:?} is not there", config.token_label)))?;
        let pin = std::fs::read_to_string(&config.pin_file)
            .map_err(|e| StoreError::Unavailable(format!("PKCS#11 PIN file {}: {e}", config.pin_file.display())))?;
        let session = module.open_rw_session(slot).map_err(failed("opening a session"))?;
        session.login(UserType::User, Some(&AuthPin::new(pin.trim().to_string()))).map_err(failed("logging in"))?;
        Ok(Token { session: Mutex::new(session), _module: module })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a key pair of `alg` labelled `label`: its private handle and
    /// its public key in DNSKEY form.
    pub fn generate(&self, alg: u8, label: &str) -> Result<(ObjectHandle, Vec<u8>), StoreError> {
        let label = label.as_bytes().to_vec();
        let common = |private: bool| vec![Attribute::Token(true), Attribute::Label(label.clone()), Attribute::Private(private)];
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([Attribute::Sign(true), Attribute::Sensitive(true), Attribute::Extractable(false)]);
        let mechanism = match alg {
            algorithm::ECDSAP256SHA256 => {
                public.push(Attribute::EcParams(P256_PARAMS.to_vec()));
                Mechanism::EccKeyPairGen
            }
            algorithm::RSASHA256 => {
                public.extend([Attribute::ModulusBits(2048.into()), Attribute::PublicExponent(vec![1, 0, 1])]);
                Mechanism::RsaPkcsKeyPairGen
            }
            other => {
                return Err(StoreError::Unavailable(format!("algorithm {other} keys are not made in a PKCS#11 token (13 or 8)")));
            }
        };
        let session = self.session();
        let (public, private) = session.generate_key_pair(&mechanism, &public, &private).map_err(failed("making a key"))?;
        let key = public_key(&session, public, alg)?;
        Ok((private, key))
    }

    /// Gives the key pair labelled `from` the label `to`.
    pub fn relabel(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let session = self.session();
        for handle in session.find_objects(&[Attribute::Label(from.as_bytes().to_vec())]).map_err(failed("finding a key"))? {
            session.update_attributes(handle, &[Attribute::Label(to.as_bytes().to_vec())]).map_err(failed("labelling a key"))?;
        }
        Ok(())
    }

    /// Destroys the key pair labelled `label`.
    pub fn destroy(&self, label: &str) -> Result<(), StoreError> {
        let session = self.session();
        for handle in session.find_objects(&[Attribute::Label(label.as_bytes().to_vec())]).map_err(failed("finding a key"))? {
            session.destroy_object(handle).map_err(failed("destroying a key"))?;
        }
        Ok(())
    }

    /// The private handle and public key (DNSKEY form) of the key pair
    /// labelled `label`, if the token holds it.
    pub fn find(&self, label: &str, alg: u8) -> Result<Option<(ObjectHandle, Vec<u8>)>, StoreError> {
        let session = self.session();
        let find = |class| {
            session
                .find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())])
                .map(|found| found.first().copied())
                .map_err(failed("finding a key"))
        };
        let (Some(private), Some(public)) = (find(ObjectClass::PRIVATE_KEY)?, find(ObjectClass::PUBLIC_KEY)?) else {
            return Ok(None);
        };
        Ok(Some((private, public_key(&session, public, alg)?)))
    }

    /// The signature over `data` by the private key `handle` of `alg`, in
    /// DNSSEC form.
    pub fn sign(&self, handle: ObjectHandle, alg: u8, data: &[u8]) -> Result<Vec<u8>, StoreError> {
        let session = self.session();
        match alg {
            algorithm::ECDSAP256SHA256 => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                session.sign(&Mechanism::Ecdsa, handle, digest.as_ref()).map_err(failed("signing"))
            }
            _ => session.sign(&Mechanism::Sha256RsaPkcs, handle, data).map_err(failed("signing")),
        }
    }
}

/// The public key `handle` of `alg` in DNSKEY form.
fn public_key(session: &Session, handle: ObjectHandle, alg: u8) -> Result<Vec<u8>, StoreError> {
    let wanted = if alg == algorithm::ECDSAP256SHA256 {
        vec![AttributeType::EcPoint]
    } else {
        vec![AttributeType::PublicExponent, AttributeType::Modulus]
    };
    let attributes = session.get_attributes(handle, &wanted).map_err(failed("reading a public key"))?;
    let (mut point, mut exponent, mut modulus) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::Modulus(m) => modulus = Some(m),
            _ => {}
        }
    }
    let bad = || StoreError::Unavailable("PKCS#11 token: a public key without its parts".into());
    match (point, exponent, modulus) {
        // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point 04‖X‖Y.
        (Some(point), _, _) => match point.get(point.len().saturating_sub(65)..) {
            Some([0x04, xy @ ..]) if xy.len() == 64 => Ok(xy.to_vec()),
            _ => Err(bad()),
        },
        (None, Some(e), Some(n)) => Ok(super::keys::rsa_dnskey_key(&e, &n)),
        _ => Err(bad()),
    }
}
