//! TLS for EPP (RFC 5734, RFC 9325): TLS 1.2 and 1.3 only, with ring's
//! AEAD suites. Every client is asked for a certificate; the handshake
//! accepts any (and proves possession of its key), and login then requires
//! the certificate to be one pinned to the registrar, so a wrong or missing
//! certificate gets an EPP error rather than a bare TLS alert.
//!
//! When the configured certificate files do not exist, a private CA and a
//! server certificate are created next to the data (`tls/`), and in the demo
//! a registrar client certificate from the same CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName, ServerConfig, SignatureScheme};
use tokio_rustls::rustls;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::File { path: path.to_path_buf(), message: message.to_string() }
}

/// SHA-256 of a certificate's DER encoding, lower-case hex: what registrars are pinned by.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Accepts any client certificate whose holder proves its key; pinning happens at login.
#[derive(Debug)]
struct PinLaterVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinLaterVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side of EPP's TLS.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let (certs, key) = load(cert_file, key_file)?;
    let provider = provider();
    let verifier = Arc::new(PinLaterVerifier { algorithms: provider.signature_verification_algorithms });
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

/// A TLS 1.2/1.3 server configuration without client certificates (HTTPS for RDAP).
pub fn server_config_without_client_auth(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let (certs, key) = load(cert_file, key_file)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn load(cert_file: &Path, key_file: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_error(cert_file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert_file, e))?;
    if certs.is_empty() {
        return Err(file_error(cert_file, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| file_error(key_file, e))?;
    Ok((certs, key))
}

/// Files of a private CA and what it issued.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn client_cert(&self, registrar: &str) -> PathBuf {
        self.dir.join(format!("{registrar}.pem"))
    }
    pub fn client_key(&self, registrar: &str) -> PathBuf {
        self.dir.join(format!("{registrar}.key"))
    }

    /// Creates the CA and a server certificate for `server_names` unless they exist.
    pub fn ensure_server(&self, server_names: &[String]) -> Result<(), TlsError> {
        if self.server_cert().exists() && self.server_key().exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let (ca, ca_key) = self.ca()?;
        let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Config(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(server_names.to_vec()).map_err(|e| TlsError::Config(e.to_string()))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, server_names.first().cloned().unwrap_or_default());
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(|e| TlsError::Config(e.to_string()))?;
        write_private(&self.server_key(), &key.serialize_pem())?;
        write_file(&self.server_cert(), &cert.pem())?;
        tracing::warn!(cert = %self.server_cert().display(), "created an EPP server certificate from a private CA; configure one from your CA in production");
        Ok(())
    }

    /// Creates a client certificate for `registrar` unless it exists; returns its fingerprint.
    pub fn ensure_client(&self, registrar: &str) -> Result<String, TlsError> {
        let path = self.client_cert(registrar);
        if !path.exists() {
            let (ca, ca_key) = self.ca()?;
            let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Config(e.to_string()))?;
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| TlsError::Config(e.to_string()))?;
            params.distinguished_name.push(rcgen::DnType::CommonName, registrar);
            params.is_ca = rcgen::IsCa::ExplicitNoCa;
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let issuer = rcgen::Issuer::new(ca, ca_key);
            let cert = params.signed_by(&key, &issuer).map_err(|e| TlsError::Config(e.to_string()))?;
            write_private(&self.client_key(registrar), &key.serialize_pem())?;
            write_file(&path, &cert.pem())?;
        }
        let der = CertificateDer::from_pem_file(&path).map_err(|e| file_error(&path, e))?;
        Ok(fingerprint(&der))
    }

    /// Loads the CA, creating it on first use.
    fn ca(&self) -> Result<(rcgen::CertificateParams, rcgen::KeyPair), TlsError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| TlsError::Config(e.to_string()))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, "domain-os private CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        if self.ca_key().exists() && self.ca_cert().exists() {
            let pem = std::fs::read_to_string(self.ca_key()).map_err(|e| file_error(&self.ca_key(), e))?;
            let key = rcgen::KeyPair::from_pem(&pem).map_err(|e| file_error(&self.ca_key(), e))?;
            return Ok((params, key));
        }
        let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Config(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(|e| TlsError::Config(e.to_string()))?;
        write_private(&self.ca_key(), &key.serialize_pem())?;
        write_file(&self.ca_cert(), &cert.pem())?;
        Ok((params, key))
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), TlsError> {
    std::fs::write(path, text).map_err(|e| file_error(path, e))
}

fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(|e| file_error(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_ca_a_server_and_a_client_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki { dir: dir.path().join("tls") };
        pki.ensure_server(&["epp.example".into(), "localhost".into()]).unwrap();
        let fp = pki.ensure_client("demo-registrar").unwrap();
        assert_eq!(fp.len(), 64);
        assert_eq!(pki.ensure_client("demo-registrar").unwrap(), fp, "stable once created");
        server_config(&pki.server_cert(), &pki.server_key()).unwrap();
        assert!(server_config(&pki.ca_key(), &pki.server_key()).is_err());
    }
}
