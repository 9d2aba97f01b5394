//! Verifying signed marks (RFC 7848 SMDs) for sunrise creates, at the edge
//! before the writer: the mark's XML signature is checked by xmlsec1 (the
//! reference XML-DSig implementation), and the certificate that signed it is
//! checked by webpki against the TMCH CA certificate and its revocation list
//! at the registry's clock. Only a document shaped as the TMCH issues them
//! is given to either: `smd:signedMark` at the root, one enveloped signature
//! beside its content, whose one reference is the root and whose key is one
//! X.509 certificate, so what was verified is what is read (no signature
//! wrapping). What the registry then holds against the label, the clock and
//! the SMD revocation list is in `model::tmch`.

use std::time::Duration;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};

use crate::epp::xml::{self, Element, Ns};
use crate::model::Timestamp;
use crate::model::tmch::{TmchTrust, VerifiedMark};

pub const SIGNED_MARK: &str = "urn:ietf:params:xml:ns:signedMark-1.0";
pub const MARK: &str = "urn:ietf:params:xml:ns:mark-1.0";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The largest signed mark accepted (the TMCH's are a few KiB).
pub const SIGNED_MARK_BYTES_MAX: usize = 64 * 1024;

/// How long xmlsec1 may take over one mark.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many xmlsec1 processes run at once; sunrise creates beyond them wait
/// their turn (within the timeout) instead of forking without bound.
const VERIFIERS_MAX: usize = 4;

static VERIFIERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(VERIFIERS_MAX);

/// What a signed mark's document says, read before its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkDocument {
    pub mark: VerifiedMark,
    /// The DER of the certificate that signed it.
    pub signer: Vec<u8>,
}

/// The signed mark XML of an `smd:encodedSignedMark` (base64, whitespace
/// allowed) or of a whole SMD file (`-----BEGIN ENCODED SMD-----` …).
pub fn decode_encoded(text: &str) -> Result<Vec<u8>, String> {
    let body = match (text.find("-----BEGIN ENCODED SMD-----"), text.find("-----END ENCODED SMD-----")) {
        (Some(b), Some(e)) if b < e => &text[b + "-----BEGIN ENCODED SMD-----".len()..e],
        _ => text,
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > SIGNED_MARK_BYTES_MAX * 4 / 3 + 4 {
        return Err(format!("a signed mark is at most {SIGNED_MARK_BYTES_MAX} bytes"));
    }
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|e| format!("the encoded signed mark is not base64: {e}"))
}

/// Reads a signed mark's document and refuses any other shape than the
/// TMCH's (see the module doc).
pub fn read_document(document: &[u8]) -> Result<MarkDocument, String> {
    if document.len() > SIGNED_MARK_BYTES_MAX {
        return Err(format!("a signed mark is at most {SIGNED_MARK_BYTES_MAX} bytes"));
    }
    let limits = xml::Limits { depth_max: 16, elements_max: 2_000, text_bytes_max: SIGNED_MARK_BYTES_MAX };
    let root = xml::parse(document, limits).map_err(|e| format!("the signed mark is not well-formed XML: {e}"))?;
    let (smd, mark_ns, dsig) = (Ns::Other(SIGNED_MARK.into()), Ns::Other(MARK.into()), Ns::Other(DSIG.into()));
    if root.ns != smd || root.name != "signedMark" {
        return Err("the signed mark's root is not smd:signedMark".into());
    }
    let id = root.attr("id").filter(|id| !id.is_empty()).ok_or("smd:signedMark has no id")?;
    if count_ids(&root, id) != 1 {
        return Err("the signed mark's id is carried by more than one element".into());
    }
    let one = |parent: &Element, ns: &Ns, name: &str| -> Result<Element, String> {
        let mut found = parent.children_named(ns, name);
        match (found.next(), found.next()) {
            (Some(e), None) => Ok(e.clone()),
            _ => Err(format!("the signed mark needs exactly one {name} in {}", parent.name)),
        }
    };
    let signature = one(&root, &dsig, "Signature")?;
    if count_named(&root, &dsig, "Signature") != 1 {
        return Err("the signed mark holds a signature other than its own".into());
    }
    let reference = one(&one(&signature, &dsig, "SignedInfo")?, &dsig, "Reference")?;
    if reference.attr("URI") != Some(format!("#{id}").as_str()) {
        return Err("the signature does not sign the signed mark".into());
    }
    let certificate = one(&one(&one(&signature, &dsig, "KeyInfo")?, &dsig, "X509Data")?, &dsig, "X509Certificate")?;
    let compact: String = certificate.text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let signer = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| "the signing certificate is not base64")?;

    let time = |name: &str| -> Result<Timestamp, String> {
        let e = one(&root, &smd, name)?;
        Timestamp::parse_rfc3339(e.trimmed()).map_err(|_| format!("smd:{name} is not a time"))
    };
    let smd_id = one(&root, &smd, "id")?.trimmed().to_string();
    crate::model::tmch::check_smd_id(&smd_id)?;
    let mark = one(&root, &mark_ns, "mark")?;
    let mut labels = Vec::new();
    for kind in &mark.children {
        labels.extend(kind.children_named(&mark_ns, "label").map(|l| l.trimmed().to_ascii_lowercase()));
    }
    if labels.is_empty() {
        return Err("the mark holds no labels".into());
    }
    Ok(MarkDocument { mark: VerifiedMark { smd_id, not_before: time("notBefore")?, not_after: time("notAfter")?, labels }, signer })
}

fn count_ids(e: &Element, id: &str) -> usize {
    let here = e.attrs.iter().filter(|(k, v)| k.eq_ignore_ascii_case("id") && v == id).count();
    here + e.children.iter().map(|c| count_ids(c, id)).sum::<usize>()
}

fn count_named(e: &Element, ns: &Ns, name: &str) -> usize {
    usize::from(&e.ns == ns && e.name == name) + e.children.iter().map(|c| count_named(c, ns, name)).sum::<usize>()
}

/// Verifies a signed mark's document: its shape, its XML signature, and its
/// signing certificate against `trust` at `now`.
pub async fn verify(document: Vec<u8>, trust: &TmchTrust, now: Timestamp) -> Result<VerifiedMark, String> {
    let read = read_document(&document)?;
    check_signer(&read.signer, trust, now)?;
    check_signature(document, trust, now).await?;
    Ok(read.mark)
}

/// The signer's certificate chains to a TMCH CA certificate, is valid at
/// `now`, and is not on the CA's revocation list.
pub fn check_signer(signer: &[u8], trust: &TmchTrust, now: Timestamp) -> Result<(), String> {
    let anchors_der = ca_certificates(&trust.ca_pem)?;
    let anchors: Vec<_> = anchors_der
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a TMCH CA certificate is not usable: {e}"))?;
    let crls = match &trust.crl_pem {
        Some(pem) => vec![revocation_list(pem)?],
        None => Vec::new(),
    };
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    let revocation = match crl_refs.is_empty() {
        true => None,
        false => Some(
            webpki::RevocationOptionsBuilder::new(&crl_refs)
                .map_err(|e| format!("{e:?}"))?
                .with_depth(webpki::RevocationCheckDepth::EndEntity)
                .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                .build(),
        ),
    };
    let signer = CertificateDer::from(signer.to_vec());
    let end_entity = webpki::EndEntityCert::try_from(&signer).map_err(|e| format!("the signing certificate is not usable: {e}"))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now.unix_seconds()).unwrap_or(0)));
    end_entity.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &[], time, AnyPurpose, revocation, None).map_err(|e| match e {
        webpki::Error::CertRevoked => "the certificate that signed the mark is revoked".to_string(),
        webpki::Error::UnknownIssuer => "the signed mark is not signed by the TMCH".to_string(),
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            "the certificate that signed the mark is not valid now".to_string()
        }
        other => format!("the certificate that signed the mark does not verify: {other}"),
    })?;
    Ok(())
}

/// The TMCH does not say which extended key usage its signing certificates
/// carry; any (or none) is accepted.
struct AnyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// The certificates of a PEM text; at least one.
pub fn ca_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE in the PEM text".into());
    }
    for c in &certs {
        webpki::anchor_from_trusted_cert(c).map_err(|e| format!("a certificate does not parse: {e}"))?;
    }
    Ok(certs)
}

/// The revocation list of a PEM text.
pub fn revocation_list(pem: &str) -> Result<webpki::CertRevocationList<'static>, String> {
    let der = CertificateRevocationListDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("not a PEM X509 CRL: {e}"))?;
    let owned = webpki::OwnedCertRevocationList::from_der(der.as_ref()).map_err(|e| format!("the CRL does not parse: {e}"))?;
    Ok(webpki::CertRevocationList::Owned(owned))
}

/// xmlsec1 checks the XML signature: the digest of the signed mark and the
/// signature over it, with the key of the X.509 certificate in it (no other
/// key form), which must chain to the TMCH CA, and no reference but one in
/// the document.
async fn check_signature(document: Vec<u8>, trust: &TmchTrust, now: Timestamp) -> Result<(), String> {
    let _turn = tokio::time::timeout(VERIFY_TIMEOUT, VERIFIERS.acquire())
        .await
        .map_err(|_| "too many signed marks are being verified; try again".to_string())?
        .map_err(|_| "signed marks cannot be verified now".to_string())?;
    let ca = TempFile::write(trust.ca_pem.as_bytes()).map_err(|e| format!("no temporary file for xmlsec1: {e}"))?;
    let time = xmlsec_time(now);
    let mut child = tokio::process::Command::new("xmlsec1")
        .args(["--verify", "--enabled-key-data", "x509", "--enabled-reference-uris", "same-doc"])
        .args(["--id-attr:id", &format!("{SIGNED_MARK}:signedMark")])
        .arg("--trusted-pem")
        .arg(&ca.0)
        .args(["--verification-gmt-time", &time, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("xmlsec1 cannot run (is it installed?): {e}"))?;
    let mut stdin = child.stdin.take().ok_or("xmlsec1 has no input")?;
    let run = async move {
        use tokio::io::AsyncWriteExt as _;
        stdin.write_all(&document).await?;
        drop(stdin);
        child.wait_with_output().await
    };
    let output = tokio::time::timeout(VERIFY_TIMEOUT, run)
        .await
        .map_err(|_| "xmlsec1 took too long over the signed mark".to_string())?
        .map_err(|e| format!("xmlsec1 failed: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    tracing::debug!(%stderr, "xmlsec1 refused a signed mark");
    Err("the signed mark's signature does not verify".into())
}

/// A file in the temporary folder, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn write(bytes: &[u8]) -> std::io::Result<TempFile> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("domain-os-tmch-{}-{n}.pem", std::process::id()));
        std::fs::write(&path, bytes)?;
        Ok(TempFile(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `YYYY-MM-DD HH:MM:SS`, as xmlsec1 takes a time.
fn xmlsec_time(t: Timestamp) -> String {
    let s = t.to_rfc3339_seconds();
    format!("{} {}", &s[..10], &s[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<smd:signedMark xmlns:smd="urn:ietf:params:xml:ns:signedMark-1.0" id="_a">
  <smd:id>1-2</smd:id>
  <smd:issuerInfo issuerID="65535"><smd:org>V</smd:org><smd:email>v@example.test</smd:email></smd:issuerInfo>
  <smd:notBefore>2026-01-01T00:00:00Z</smd:notBefore>
  <smd:notAfter>2030-01-01T00:00:00Z</smd:notAfter>
  <mark:mark xmlns:mark="urn:ietf:params:xml:ns:mark-1.0"><mark:trademark><mark:id>1-1</mark:id><mark:markName>T</mark:markName>
    <mark:label>TestMark</mark:label><mark:label>test-mark</mark:label></mark:trademark></mark:mark>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><Reference URI="#_a"/></SignedInfo><SignatureValue/>
    <KeyInfo><X509Data><X509Certificate>AAEC</X509Certificate></X509Data></KeyInfo></Signature>
</smd:signedMark>"##;

    #[test]
    fn a_mark_is_read_only_in_the_tmch_shape() {
        let read = read_document(SIGNED.as_bytes()).unwrap();
        assert_eq!(read.mark.smd_id, "1-2");
        assert_eq!(read.mark.labels, ["testmark", "test-mark"]);
        assert_eq!(read.signer, [0, 1, 2]);
        let other_reference = SIGNED.replace(r##"URI="#_a""##, r##"URI="#_b""##);
        assert!(read_document(other_reference.as_bytes()).unwrap_err().contains("does not sign"));
        let wrapped = SIGNED.replace("<smd:id>1-2</smd:id>", r#"<smd:id>1-2</smd:id><x id="_a" xmlns="urn:x"/>"#);
        assert!(read_document(wrapped.as_bytes()).unwrap_err().contains("more than one"));
        let two = SIGNED.replace("<SignatureValue/>", r#"<SignatureValue/><Object><Signature/></Object>"#);
        assert!(read_document(two.as_bytes()).is_err());
        let dtd = SIGNED.replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>"#);
        assert!(read_document(dtd.as_bytes()).is_err());
        assert!(read_document(b"<a/>").is_err());
    }

    #[test]
    fn encoded_marks_are_read_bare_or_from_an_smd_file() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(SIGNED);
        let wrapped: String = encoded.as_bytes().chunks(72).map(|c| format!("{}\n", std::str::from_utf8(c).unwrap())).collect();
        assert_eq!(decode_encoded(&wrapped).unwrap(), SIGNED.as_bytes());
        let file = format!("Marks: T\nsmdID: 1-2\nU-labels: testmark\n-----BEGIN ENCODED SMD-----\n{wrapped}-----END ENCODED SMD-----\n");
        assert_eq!(decode_encoded(&file).unwrap(), SIGNED.as_bytes());
        assert!(decode_encoded("!!").is_err());
    }

    #[test]
    fn xmlsec1_takes_utc_times() {
        assert_eq!(xmlsec_time(Timestamp::parse_rfc3339("2026-12-07T10:11:12Z").unwrap()), "2026-12-07 10:11:12");
    }
}
