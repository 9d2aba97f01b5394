//! Sunrise and trademark claims (RFC 8334, RFC 7848) against a TMCH the
//! suite sets up itself: a CA made with openssl, a signing certificate and
//! a revoked one with the CA's revocation list, signed marks signed with
//! xmlsec1, a DNL and an SMD revocation list. The TLD's timeline moves by
//! the manual clock from sunrise to claims; every case of ICANN's
//! minimum-RPMs tests is tried through EPP, and every response validates.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use domain_os::model::{ManualClock, Timestamp};
use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// A test Trademark Clearinghouse: its CA, a signer in good standing and a
/// revoked one, and a signer the CA never certified.
struct Tmch {
    dir: tempfile::TempDir,
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program).current_dir(dir).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Tmch {
    fn new() -> Tmch {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ca.cnf"),
            "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\ndefault_crl_days = 30\ncrlnumber = crlnumber\ncrl_extensions = crl_ext\n[crl_ext]\nauthorityKeyIdentifier = keyid:always\n[any]\ncommonName = supplied\n[tmch_ca]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n[leaf]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature\n",
        )
        .unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        // Valid over the whole timeline the test runs on its manual clock.
        let validity = ["-startdate", "20260101000000Z", "-enddate", "20300101000000Z"];
        let request = |name: &str| {
            let (subj, key, csr) = (format!("/CN=Test {name}"), format!("{name}.key"), format!("{name}.csr"));
            run(d, "openssl", &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj]);
        };
        let issue = |name: &str, how: &[&str]| {
            let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
            let ca = ["ca", "-batch", "-config", "ca.cnf", "-notext", "-in", &csr, "-out", &pem];
            run(d, "openssl", &[&ca[..], &validity, how].concat());
        };
        request("ca");
        issue("ca", &["-selfsign", "-keyfile", "ca.key", "-extensions", "tmch_ca"]);
        request("stranger");
        issue("stranger", &["-selfsign", "-keyfile", "stranger.key", "-extensions", "leaf"]);
        for signer in ["signer", "revoked"] {
            request(signer);
            issue(signer, &["-cert", "ca.pem", "-keyfile", "ca.key", "-extensions", "leaf"]);
        }
        run(d, "openssl", &["ca", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-revoke", "revoked.pem"]);
        run(d, "openssl", &["ca", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-gencrl", "-out", "crl.pem"]);
        Tmch { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn text(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap()
    }

    /// A signed mark for `labels`, signed by `signer`, as the XML document.
    fn signed_mark(&self, signer: &str, smd_id: &str, labels: &[&str]) -> String {
        let labels: String = labels.iter().map(|l| format!("<mark:label>{l}</mark:label>")).collect();
        let template = format!(
            r##"<?xml version="1.0" encoding="UTF-8"?>
<smd:signedMark xmlns:smd="urn:ietf:params:xml:ns:signedMark-1.0" id="_smd-{smd_id}">
  <smd:id>{smd_id}</smd:id>
  <smd:issuerInfo issuerID="65535"><smd:org>Test Validator</smd:org><smd:email>validator@example.test</smd:email></smd:issuerInfo>
  <smd:notBefore>2026-11-01T00:00:00Z</smd:notBefore>
  <smd:notAfter>2027-11-01T00:00:00Z</smd:notAfter>
  <mark:mark xmlns:mark="urn:ietf:params:xml:ns:mark-1.0">
    <mark:trademark>
      <mark:id>1-65535</mark:id>
      <mark:markName>Test Mark</mark:markName>
      <mark:holder entitlement="owner"><mark:org>Test Holder</mark:org><mark:addr><mark:street>1 Main St</mark:street><mark:city>Oslo</mark:city><mark:cc>NO</mark:cc></mark:addr></mark:holder>
      <mark:jurisdiction>NO</mark:jurisdiction>
      {labels}
      <mark:goodsAndServices>Goods</mark:goodsAndServices>
      <mark:regNum>1</mark:regNum>
      <mark:regDate>2020-01-01T00:00:00Z</mark:regDate>
    </mark:trademark>
  </mark:mark>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <Reference URI="#_smd-{smd_id}">
        <Transforms>
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo>
  </Signature>
</smd:signedMark>
"##
        );
        let template_path = self.path(&format!("{smd_id}.tmpl.xml"));
        std::fs::write(&template_path, template).unwrap();
        let key = format!("{signer}.key,{signer}.pem");
        let out = format!("{smd_id}.{signer}.xml");
        run(
            self.dir.path(),
            "xmlsec1",
            &[
                "--sign",
                "--privkey-pem",
                &key,
                "--id-attr:id",
                "urn:ietf:params:xml:ns:signedMark-1.0:signedMark",
                "--output",
                &out,
                template_path.to_str().unwrap(),
            ],
        );
        self.text(&out)
    }
}

/// The launch extension of a sunrise create with the signed mark `xml`.
fn sunrise(xml: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    format!(
        r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>sunrise</launch:phase><smd:encodedSignedMark xmlns:smd="urn:ietf:params:xml:ns:signedMark-1.0">{encoded}</smd:encodedSignedMark></launch:create>"#
    )
}

/// The launch extension of a claims create with a notice.
fn claims(notice_id: &str, not_after: Timestamp, accepted: Timestamp) -> String {
    format!(
        r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>claims</launch:phase><launch:notice><launch:noticeID validatorID="tmch">{notice_id}</launch:noticeID><launch:notAfter>{}</launch:notAfter><launch:acceptedDate>{}</launch:acceptedDate></launch:notice></launch:create>"#,
        not_after.to_rfc3339_seconds(),
        accepted.to_rfc3339_seconds()
    )
}

/// A notice id as the TMCH makes them: CRC-32 of label, expiry and digits, then the digits.
fn notice_id(label: &str, not_after: Timestamp) -> String {
    let digits = "0000000000000004242";
    format!("{:08x}{digits}", crc32fast::hash(format!("{label}{}{digits}", not_after.unix_seconds()).as_bytes()))
}

/// RFC 8334 `<launch:info>` asking about `phase`.
fn launch_info(phase: &str) -> String {
    format!(r#"<launch:info xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>{phase}</launch:phase></launch:info>"#)
}

/// The notice id with its first checksum digit changed.
fn corrupt(id: &str) -> String {
    let first = if id.starts_with('0') { "1" } else { "0" };
    format!("{first}{}", &id[1..])
}

const CLAIMS_CHECK: &str =
    r#"<launch:check xmlns:launch="urn:ietf:params:xml:ns:launch-1.0" type="claims"><launch:phase>claims</launch:phase></launch:check>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sunrise_takes_valid_signed_marks_and_claims_take_valid_notices() {
    let tmch = Tmch::new();
    let clock = ManualClock::new(at("2026-12-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |_, _| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let cli = |args: &[&str]| crate::cli::cli(&conf, args);
    d.ok("POST", "/v1/registrars/demo-registrar/funds", Some(json!({ "amount": "1000.00" }))).await;
    for (kind, starts, ends) in
        [("sunrise", "2026-12-02T00:00:00Z", Some("2026-12-10T00:00:00Z")), ("claims", "2026-12-10T00:00:00Z", None)]
    {
        d.ok("POST", "/v1/tlds/example/phases", Some(json!({ "kind": kind, "starts": starts, "ends": ends }))).await;
    }

    // The TMCH's files, loaded as an operator would.
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    clock.set(at("2026-12-03T00:00:00Z"));
    let good = tmch.signed_mark("signer", "1-2", &["testmark", "test-mark"]);
    let refused = a.domain("create", &create_body("testmark.example", "1", &[], STRONG), &sunrise(&good)).await;
    assert!(code(&refused) == 2306 && refused.contains("no TMCH CA certificate"), "{refused}");
    let (code_, body) = d.api("PUT", "/v1/tmch/crl", Some(json!({ "text": tmch.text("crl.pem") }))).await;
    assert_eq!(code_, 409, "a CRL needs its CA first: {body}");
    let (ok, out, err) = cli(&["tmch", "import", "ca", tmch.path("ca.pem").to_str().unwrap()]);
    assert!(ok && out.contains("\"ca_certificates\": 1"), "{out}{err}");
    let (code_, body) = d.api("PUT", "/v1/tmch/ca", Some(json!({ "text": "not a certificate" }))).await;
    assert_eq!(code_, 422, "{body}");
    d.ok("PUT", "/v1/tmch/crl", Some(json!({ "text": tmch.text("crl.pem") }))).await;
    let dnl = "1,2026-12-01T00:00:00.0Z\nDNL,lookup-key,insertion-datetime\nclaimed,2026120100/1/2/3/rJ1NrDO92vDsAzf7EQzgjX4R0000000001,2026-11-01T00:00:00.0Z\n";
    d.ok("PUT", "/v1/tmch/dnl", Some(json!({ "text": dnl }))).await;
    let smdrl = "1,2026-12-01T00:00:00.0Z\nsmd-id,insertion-datetime\n9-9,2026-11-20T00:00:00.0Z\n";
    let shown = d.ok("PUT", "/v1/tmch/smdrl", Some(json!({ "text": smdrl }))).await;
    assert_eq!(
        (shown["crl"].as_bool(), shown["dnl_labels"].as_u64(), shown["revoked_marks"].as_u64()),
        (Some(true), Some(1), Some(1)),
        "{shown}"
    );
    let (code_, body) = d.api("PUT", "/v1/tmch/dnl", Some(json!({ "text": "DNL,lookup-key,insertion-datetime\n" }))).await;
    assert_eq!(code_, 422, "{body}");

    // Sunrise: a valid mark registers its label, and nothing else does.
    let created = a.domain("create", &create_body("testmark.example", "1", &[], STRONG), &sunrise(&good)).await;
    assert_eq!(code(&created), 1000, "{created}");
    let info = a.domain("info", "<domain:name>testmark.example</domain:name>", "").await;
    assert!(code(&info) == 1000 && info.contains("<domain:clID>demo-registrar</domain:clID>"), "{info}");
    let info = a.domain("info", "<domain:name>testmark.example</domain:name>", &launch_info("sunrise")).await;
    assert!(info.contains("<launch:phase>sunrise</launch:phase></launch:infData>"), "{info}");
    assert_eq!(code(&a.domain("info", "<domain:name>testmark.example</domain:name>", &launch_info("claims")).await), 2306);
    let cases = [
        ("other.example", sunrise(&good), "does not hold the label other"),
        ("test-mark.example", sunrise(&good.replace("Test Holder", "Someone Else")), "signature does not verify"),
        ("test-mark.example", sunrise(&tmch.signed_mark("signer", "9-9", &["test-mark"])), "9-9 is revoked"),
        ("test-mark.example", sunrise(&tmch.signed_mark("revoked", "1-3", &["test-mark"])), "is revoked"),
        ("test-mark.example", sunrise(&tmch.signed_mark("stranger", "1-4", &["test-mark"])), "not signed by the TMCH"),
        ("test-mark.example", sunrise("<smd:signedMark/>"), "not well-formed"),
    ];
    for (name, extension, why) in cases {
        let refused = a.domain("create", &create_body(name, "1", &[], STRONG), &extension).await;
        assert!(code(&refused) == 2306 && refused.contains(why), "{name} ({why}): {refused}");
    }
    // A large mark of garbage (the 64 KiB frame limit bounds its size) is refused, and the session goes on.
    let huge = format!(
        r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>sunrise</launch:phase><smd:encodedSignedMark xmlns:smd="urn:ietf:params:xml:ns:signedMark-1.0">{}</smd:encodedSignedMark></launch:create>"#,
        "A".repeat(60_000)
    );
    let refused = a.domain("create", &create_body("test-mark.example", "1", &[], STRONG), &huge).await;
    assert!(code(&refused) == 2306 && refused.contains("not well-formed"), "{refused}");
    let plain = r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>sunrise</launch:phase></launch:create>"#;
    assert_eq!(code(&a.domain("create", &create_body("test-mark.example", "1", &[], STRONG), plain).await), 2003, "a mark is required");
    let notice = claims(&notice_id("claimed", at("2026-12-05T00:00:00Z")), at("2026-12-05T00:00:00Z"), at("2026-12-02T12:00:00Z"));
    assert_eq!(code(&a.domain("create", &create_body("claimed.example", "1", &[], STRONG), &notice).await), 2306, "no notices in sunrise");

    // Claims: the check form gives the claim key of DNL labels only.
    clock.set(at("2026-12-11T00:00:00Z"));
    let checked =
        a.domain("check", "<domain:name>claimed.example</domain:name><domain:name>free.example</domain:name>", CLAIMS_CHECK).await;
    assert!(checked.contains(r#"<launch:name exists="1">claimed.example</launch:name><launch:claimKey validatorID="tmch">2026120100/1/2/3/rJ1NrDO92vDsAzf7EQzgjX4R0000000001</launch:claimKey>"#), "{checked}");
    assert!(checked.contains(r#"<launch:name exists="0">free.example</launch:name></launch:cd>"#), "{checked}");
    assert_eq!(code(&a.domain("create", &create_body("other.example", "1", &[], STRONG), &sunrise(&good)).await), 2306, "sunrise is over");

    // A DNL label needs a notice for it that holds; another label needs none.
    let not_after = at("2026-12-13T00:00:00Z");
    let missing = a.domain("create", &create_body("claimed.example", "1", &[], STRONG), "").await;
    assert!(code(&missing) == 2003 && missing.contains("claims notice"), "{missing}");
    let cases = [
        (claims(&corrupt(&notice_id("claimed", not_after)), not_after, at("2026-12-10T12:00:00Z")), "not one for claimed"),
        (claims(&notice_id("other", not_after), not_after, at("2026-12-10T12:00:00Z")), "not one for claimed"),
        (claims(&notice_id("claimed", at("2026-12-10T23:00:00Z")), at("2026-12-10T23:00:00Z"), at("2026-12-10T12:00:00Z")), "expired"),
        (claims(&notice_id("claimed", not_after), not_after, at("2026-12-08T00:00:00Z")), "more than 48 hours ago"),
        (claims(&notice_id("claimed", not_after), not_after, at("2025-12-01T00:00:00Z")), "more than 48 hours ago"),
    ];
    for (extension, why) in cases {
        let refused = a.domain("create", &create_body("claimed.example", "1", &[], STRONG), &extension).await;
        assert!(code(&refused) == 2306 && refused.contains(why), "{why}: {refused}");
    }
    let valid = claims(&notice_id("claimed", not_after), not_after, at("2026-12-10T12:00:00Z"));
    let unlisted = a.domain("create", &create_body("free.example", "1", &[], STRONG), &valid).await;
    assert!(code(&unlisted) == 2306 && unlisted.contains("not on the DNL"), "{unlisted}");
    assert_eq!(code(&a.domain("create", &create_body("free.example", "1", &[], STRONG), "").await), 1000);
    let created = a.domain("create", &create_body("claimed.example", "1", &[], STRONG), &valid).await;
    assert_eq!(code(&created), 1000, "{created}");
    let info = a.domain("info", "<domain:name>claimed.example</domain:name>", &launch_info("claims")).await;
    assert!(code(&info) == 1000 && info.contains("<launch:phase>claims</launch:phase>"), "{info}");
    assert_eq!(
        code(&a.domain("info", "<domain:name>free.example</domain:name>", &launch_info("claims")).await),
        2306,
        "created without a notice"
    );
    let (ok, out, _) = cli(&["tmch", "show"]);
    assert!(ok && out.contains("\"dnl_labels\": 1"), "{out}");

    // The LORDN files report what was created with a mark or a notice, with the registrar's IANA id.
    let (ok, out, err) = cli(&["tmch", "lordn", "example", "sunrise", "--out", dir.path().to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let sunrise_file = std::fs::read_to_string(out.trim()).unwrap();
    let lines: Vec<&str> = sunrise_file.lines().collect();
    assert!(lines[0].starts_with("1,") && lines[0].ends_with(",1"), "{sunrise_file}");
    assert_eq!(lines[1], "roid,domain-name,SMD-id,registrar-id,registration-datetime,application-datetime");
    assert!(lines[2].contains(",testmark.example,1-2,9999,2026-12-03T00:00:00.000Z,"), "{sunrise_file}");
    let claims_file = d.ok("GET", "/v1/tlds/example/lordn/claims", None).await;
    assert_eq!(claims_file["rows"], 1, "free.example needed no notice: {claims_file}");
    let expected = format!(",claimed.example,{},9999,2026-12-11T00:00:00.000Z,2026-12-10T12:00:00.000Z,", notice_id("claimed", not_after));
    assert!(claims_file["csv"].as_str().unwrap().contains(&expected), "{claims_file}");
    let before_sunrise = d.ok("GET", "/v1/tlds/example/lordn/sunrise?to=2026-12-02T00:00:00Z", None).await;
    assert_eq!(before_sunrise["rows"], 0, "{before_sunrise}");
    seen.validate();
    d.stop().await;
}

/// Claims beside a landrush phase, as ICANN asks of limited registration
/// periods: creates name the landrush, and a DNL label's carries a notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landrush_with_claims_asks_notices_for_dnl_labels() {
    let clock = ManualClock::new(at("2026-12-01T00:00:00Z"));
    let d = TestDaemon::demo_on(&clock, |_, _| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&d, dir.path());
    let cli = |args: &[&str]| crate::cli::cli(&conf, args);
    let (ok, out, err) = cli(&["tld", "phase", "add", "example", "--kind", "landrush", "--starts", "2026-12-02T00:00:00Z", "--claims"]);
    assert!(ok && out.contains("\"claims\": true"), "{out}{err}");
    let (code_, body) =
        d.api("POST", "/v1/tlds/example/phases", Some(json!({"kind": "closed", "starts": "2026-11-01T00:00:00Z", "claims": true}))).await;
    assert_eq!(code_, 422, "{body}");
    let dnl = "1,2026-12-01T00:00:00.0Z\nDNL,lookup-key,insertion-datetime\nclaimed,2026120100/1/2/3/rJ1NrDO92vDsAzf7EQzgjX4R0000000001,2026-11-01T00:00:00.0Z\n";
    d.ok("PUT", "/v1/tmch/dnl", Some(json!({ "text": dnl }))).await;
    clock.set(at("2026-12-03T00:00:00Z"));
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let landrush = |notice: &str| {
        format!(
            r#"<launch:create xmlns:launch="urn:ietf:params:xml:ns:launch-1.0"><launch:phase>landrush</launch:phase>{notice}</launch:create>"#
        )
    };
    let missing = a.domain("create", &create_body("claimed.example", "1", &[], STRONG), &landrush("")).await;
    assert!(code(&missing) == 2003 && missing.contains("claims notice"), "{missing}");
    let not_after = at("2026-12-05T00:00:00Z");
    let notice = format!(
        r#"<launch:notice><launch:noticeID>{}</launch:noticeID><launch:notAfter>2026-12-05T00:00:00Z</launch:notAfter><launch:acceptedDate>2026-12-02T12:00:00Z</launch:acceptedDate></launch:notice>"#,
        notice_id("claimed", not_after)
    );
    assert_eq!(code(&a.domain("create", &create_body("claimed.example", "1", &[], STRONG), &landrush(&notice)).await), 1000);
    assert_eq!(code(&a.domain("create", &create_body("unclaimed.example", "1", &[], STRONG), &landrush("")).await), 1000);
    let lordn = d.ok("GET", "/v1/tlds/example/lordn/claims", None).await;
    assert_eq!(lordn["rows"], 1, "{lordn}");
    seen.validate();
    d.stop().await;
}
