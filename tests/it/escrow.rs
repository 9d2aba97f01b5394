//! Escrow deposits of a registry exercised through the writer, checked by
//! `xmllint` against the RDE schemas (RFC 8909, RFC 9022).

use std::time::Duration;

use domain_os::model::{ClientId, DomainName, HostName};
use domain_os::registry::command::{Actor, Command, CreateDomain, TransferOp};

use crate::common::*;

pub fn xmllint_rde(path: &std::path::Path) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/rde/all.xsd");
    let (ok, out, err) = tool("xmllint", &["--noout", "--schema", schema, path.to_str().unwrap()]);
    assert!(ok, "the deposit does not validate: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_deposit_validates_against_the_rde_schemas_and_counts_what_it_holds() {
    let d = TestDaemon::demo().await;
    let registry = d.registry();
    // A domain with a pending transfer to the other registrar.
    let name = DomainName::parse("moving.example").unwrap();
    let create = CreateDomain {
        nameservers: vec![HostName::parse("ns1.example.net").unwrap()],
        auth_info: Some("Sesame-Open-2026x".into()),
        ..CreateDomain::of(name.clone(), Some(ClientId::parse("demo-registrar").unwrap()))
    };
    registry.execute_as(Actor::Registry, Command::CreateDomain(create)).await.unwrap();
    let request = TransferOp::Request { years: 1, auth_info: "Sesame-Open-2026x".into(), fee: None };
    let other = Actor::Registrar(ClientId::parse("other-registrar").unwrap());
    registry.execute_as(other, Command::TransferDomain(name, request)).await.unwrap();

    let snapshot = registry.snapshot();
    let path = d.dir.path().join("example_2026-12-07_full_S1_R0.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let tld = DomainName::parse("example").unwrap();
    // The watermark is the snapshot's moment: nothing in it is younger.
    let watermark = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    let summary =
        domain_os::escrow::write_xml(domain_os::escrow::DepositKind::Full, &snapshot, &tld, watermark, "20261207001", 0, None, &mut file)
            .unwrap();
    drop(file);
    xmllint_rde(&path);

    let text = std::fs::read_to_string(&path).unwrap();
    let counts = &summary.counts;
    let status = d.ok("GET", "/v1/status", None).await;
    assert_eq!(counts[domain_os::escrow::DOMAIN], status["objects"]["domains"].as_u64().unwrap(), "{counts:?}");
    assert_eq!(counts[domain_os::escrow::HOST], status["objects"]["hosts"].as_u64().unwrap());
    assert_eq!(counts[domain_os::escrow::CONTACT], status["objects"]["contacts"].as_u64().unwrap());
    assert_eq!(counts[domain_os::escrow::REGISTRAR], 2);
    for (uri, count) in counts {
        assert!(text.contains(&format!("<rdeHeader:count uri=\"{uri}\">{count}</rdeHeader:count>")), "{uri}");
    }
    assert!(text.contains("<rdeDomain:trStatus>pending</rdeDomain:trStatus>"), "the pending transfer");
    assert!(text.contains("<secDNS:dsData>"), "the demo's DS");
    assert!(
        text.contains("<rdeContact:disclose flag=\"1\"><contact:name type=\"int\"/><contact:email/></rdeContact:disclose>"),
        "the demo tech contact publishes name and email"
    );
    d.stop().await;
}

/// `gpg` in its own home folder, in batch mode.
fn gpg(home: &std::path::Path, args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg (scripts/test installs gnupg)");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A home folder holding a new key for `who`, and the key exported to `file`
/// (with its secret when `secret`).
fn gpg_key(dir: &std::path::Path, who: &str, secret: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let home = dir.join(format!("gnupg-{who}"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let uid = format!("{who} <{who}@escrow.example>");
    let (ok, _, err) = gpg(&home, &["--quick-gen-key", &uid, "future-default", "default", "never"]);
    assert!(ok, "gpg key generation: {err}");
    let (ok, key, err) = gpg(&home, &[if secret { "--export-secret-keys" } else { "--export" }, &uid]);
    assert!(ok && !key.is_empty(), "gpg export: {err}");
    let file = dir.join(format!("{who}.pgp"));
    std::fs::write(&file, key).unwrap();
    (home, file)
}

/// The escrow agent's key in `dir`: its gpg home, its certificate, and its
/// secret key exported (what our checker and the import decrypt with).
fn agent_key(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (home, cert) = gpg_key(dir, "agent", false);
    let (ok, secret, err) = gpg(&home, &["--export-secret-keys"]);
    assert!(ok, "{err}");
    let secret_file = dir.join("agent-secret.pgp");
    std::fs::write(&secret_file, secret).unwrap();
    (home, cert, secret_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ryde_deposit_decrypts_with_the_agents_key_and_verifies_with_the_registrys() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let (agent_home, agent_cert) = gpg_key(dir.path(), "agent", false);
    let (registry_home, signing_key) = gpg_key(dir.path(), "registry", true);
    let keys = domain_os::escrow::RydeKeys { agent_cert, signing_key, split_bytes: 0 };
    let tld = DomainName::parse("example").unwrap();
    let watermark = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    let created = watermark.plus_seconds(5);
    let deposit = domain_os::escrow::write_ryde(
        domain_os::escrow::DepositKind::Full,
        None,
        &d.registry().snapshot(),
        &tld,
        watermark,
        created,
        &keys,
        &dir.path().join("escrow"),
    )
    .unwrap();
    let name = deposit.ryde.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("example_") && name.ends_with("_full_S1_R0.ryde"), "{name}");

    // The packets RA Specification 2 asks for: a session key for the agent's
    // key, integrity-protected encryption (not AEAD), compression, a literal.
    let (ok, dump, err) = gpg(&agent_home, &["--list-packets", deposit.ryde.to_str().unwrap()]);
    let dump = String::from_utf8_lossy(&dump).into_owned() + &err;
    assert!(ok, "{dump}");
    for packet in [":pubkey enc packet:", ":encrypted data packet:", "mdc_method: 2", ":compressed packet:", ":literal data packet:"] {
        assert!(dump.contains(packet), "{packet} missing:\n{dump}");
    }
    assert!(!dump.contains(":aead encrypted packet:"), "{dump}");

    // sq agrees on the outer packets: a v3 session key packet and version 1
    // (not AEAD) integrity-protected data; the signature is a binary one.
    let (ok, dump, err) = tool("sq", &["packet", "dump", deposit.ryde.to_str().unwrap()]);
    assert!(ok, "sq packet dump (scripts/test installs sq): {err}");
    let session = dump.split("Public-Key Encrypted Session Key Packet").nth(1).unwrap_or_default();
    assert!(session.contains("Version: 3"), "{dump}");
    let data = dump.split("Sym. Encrypted and Integrity Protected Data Packet").nth(1).unwrap_or_default();
    assert!(data.contains("Version: 1"), "{dump}");
    let (ok, dump, err) = tool("sq", &["packet", "dump", deposit.signature.to_str().unwrap()]);
    assert!(ok && dump.contains("Signature Packet") && dump.contains("Type: Binary"), "{dump}{err}");

    // The registry's detached signature verifies over the .ryde.
    let (ok, _, err) = gpg(&registry_home, &["--verify", deposit.signature.to_str().unwrap(), deposit.ryde.to_str().unwrap()]);
    assert!(ok && err.contains("Good signature"), "{err}");

    // The agent decrypts a tar of one XML file, which validates.
    let (ok, tar, err) = gpg(&agent_home, &["--decrypt", deposit.ryde.to_str().unwrap()]);
    assert!(ok, "{err}");
    let tar_path = dir.path().join("deposit.tar");
    std::fs::write(&tar_path, &tar).unwrap();
    let (ok, listing, err) = tool("tar", &["-tvf", tar_path.to_str().unwrap()]);
    assert!(ok && listing.lines().count() == 1 && listing.contains("_full_S1_R0.xml"), "{listing}{err}");
    let (ok, _, err) = tool("tar", &["-xf", tar_path.to_str().unwrap(), "-C", dir.path().to_str().unwrap()]);
    assert!(ok, "{err}");
    let xml = dir.path().join(name.replace(".ryde", ".xml"));
    assert_eq!(std::fs::metadata(&xml).unwrap().len(), deposit.xml_bytes);
    xmllint_rde(&xml);

    // The report for ICANN validates and says what the deposit holds.
    let report_path = deposit.report.unwrap();
    assert_eq!(report_path.file_name().unwrap().to_string_lossy(), name.replace(".ryde", "-report.xml"));
    xmllint_rde(&report_path);
    let report = std::fs::read_to_string(&report_path).unwrap();
    let deposit_xml = std::fs::read_to_string(&xml).unwrap();
    let between = |text: &str, open: &str, close: &str| text.split(open).nth(1).and_then(|t| t.split(close).next()).map(str::to_string);
    assert_eq!(between(&report, "<rdeReport:id>", "<"), between(&deposit_xml, " id=\"", "\""), "{report}");
    assert_eq!(between(&report, "<rdeReport:watermark>", "<"), between(&deposit_xml, "<rde:watermark>", "<"), "{report}");
    assert_eq!(between(&report, "<rdeReport:crDate>", "<").as_deref(), Some(created.to_rfc3339_seconds().as_str()), "{report}");
    assert!(report.contains("<rdeReport:resend>0</rdeReport:resend><rdeReport:crDate>"), "{report}");
    assert!(report.contains("<rdeReport:kind>FULL</rdeReport:kind>"), "{report}");
    assert_eq!(
        between(&report, "<rdeHeader:header>", "</rdeHeader:header>"),
        between(&deposit_xml, "<rdeHeader:header>", "</rdeHeader:header>"),
        "the report's header is the deposit's"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_api_writes_a_deposit_and_keeps_the_xml_when_asked() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (agent_home, agent_cert) = gpg_key(keys_dir.path(), "agent", false);
    let (_, signing_key) = gpg_key(keys_dir.path(), "registry", true);
    let unconfigured = TestDaemon::demo().await;
    let (code, body) = unconfigured.api("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "full"}))).await;
    assert_eq!(code, 409, "no keys configured: {body}");
    unconfigured.stop().await;

    let (icann_home, icann_cert) = gpg_key(keys_dir.path(), "icann", false);
    let d = TestDaemon::start(true, |c, _| {
        c.escrow.agent_cert = Some(agent_cert.clone());
        c.escrow.signing_key = Some(signing_key.clone());
        c.escrow.brda_cert = Some(icann_cert.clone());
    })
    .await;
    let (code, body) = d.api("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "incr"}))).await;
    assert_eq!(code, 422, "{body}");
    let (code, body) = d.api("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "diff"}))).await;
    assert_eq!(code, 409, "a DIFF needs an escrow deposit before it: {body}");
    let made = d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "full", "keep_xml": true}))).await;
    assert_eq!(made["counts"][domain_os::escrow::REGISTRAR], 2, "{made}");
    xmllint_rde(std::path::Path::new(made["xml"].as_str().unwrap()));
    let (ok, _, err) = gpg(&agent_home, &["--decrypt", "--output", "/dev/null", made["ryde"].as_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(std::path::Path::new(made["signature"].as_str().unwrap()).exists());
    xmllint_rde(std::path::Path::new(made["report"].as_str().unwrap()));

    // The weekly bulk registration data: registrars and domains with the
    // fields RA Specification 4 lists, for ICANN's key alone.
    let brda = d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "brda", "keep_xml": true}))).await;
    let ryde = brda["ryde"].as_str().unwrap();
    assert!(ryde.ends_with("_thin_S1_R0.ryde") && brda["report"].is_null(), "{brda}");
    assert_ne!(brda["id"], made["id"], "a BRDA has its own deposit id");
    let counts = brda["counts"].as_object().unwrap();
    assert_eq!(counts.keys().collect::<Vec<_>>(), [domain_os::escrow::DOMAIN, domain_os::escrow::REGISTRAR], "{brda}");
    let xml_path = std::path::Path::new(brda["xml"].as_str().unwrap());
    xmllint_rde(xml_path);
    let xml = std::fs::read_to_string(xml_path).unwrap();
    for field in [
        "<rdeDomain:name>",
        "<rdeDomain:roid>",
        "<rdeDomain:status ",
        "<domain:hostObj>",
        "<rdeDomain:clID>",
        "<rdeDomain:crDate>",
        "<rdeDomain:exDate>",
        "<rdeRegistrar:gurid>",
    ] {
        assert!(xml.contains(field), "{field} missing from the BRDA");
    }
    for field in [
        "<rdeDomain:registrant>",
        "<rdeDomain:contact ",
        "<rdeDomain:secDNS>",
        "<rdeDomain:trnData>",
        "rdeContact:contact>",
        "rdeHost:host>",
        "<rdeRegistrar:email>",
        "rdeEppParams:eppParams>",
    ] {
        assert!(!xml.contains(field), "{field} is not bulk registration data");
    }
    let (ok, _, err) = gpg(&icann_home, &["--decrypt", "--output", "/dev/null", ryde]);
    assert!(ok, "ICANN decrypts the BRDA: {err}");
    let (ok, _, _) = gpg(&agent_home, &["--decrypt", "--output", "/dev/null", ryde]);
    assert!(!ok, "the escrow agent cannot");

    // The day's deposit made again is its resend: the same id, the next
    // revision in the file name, its number in the deposit and the report.
    let resent = d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "full", "keep_xml": true}))).await;
    assert_eq!((&resent["id"], &resent["resend"]), (&made["id"], &serde_json::json!(1)), "{resent}");
    let (first, again) = (made["ryde"].as_str().unwrap(), resent["ryde"].as_str().unwrap());
    assert_eq!(again, first.replace("_S1_R0.ryde", "_S1_R1.ryde"));
    assert!(std::path::Path::new(first).exists(), "the first revision is kept");
    let xml = std::fs::read_to_string(resent["xml"].as_str().unwrap()).unwrap();
    assert!(xml.contains(" resend=\"1\""), "{}", &xml[..600]);
    xmllint_rde(std::path::Path::new(resent["xml"].as_str().unwrap()));
    let report = std::fs::read_to_string(resent["report"].as_str().unwrap()).unwrap();
    assert!(report.contains("<rdeReport:resend>1</rdeReport:resend>"), "{report}");
    let checked = domain_os::escrow::verify::verify(
        std::path::Path::new(resent["xml"].as_str().unwrap()),
        &domain_os::escrow::verify::VerifyKeys::default(),
    )
    .unwrap();
    assert!(checked.passed(), "{checked}");
    // A DIFF follows the day's escrow deposit once; the same day again it
    // would follow itself, so the day is resent as a FULL instead.
    d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "diff"}))).await;
    let (code, body) = d.api("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "diff"}))).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.to_string().contains("FULL"), "{body}");
    d.stop().await;
}

/// `text` with the content of the first `<tag>` replaced by `value`.
fn with_first(text: &str, tag: &str, value: &str) -> String {
    let open = format!("<{tag}>");
    let start = text.find(&open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let end = start + text[start..].find('<').unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escrow_verify_passes_our_deposits_and_names_what_is_broken_in_others() {
    use domain_os::escrow::verify::{VerifyKeys, verify};
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, agent_cert, agent_secret) = agent_key(dir.path());
    let (_, signing_key) = gpg_key(dir.path(), "registry", true);
    let tld = DomainName::parse("example").unwrap();
    let now = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    let keys = domain_os::escrow::RydeKeys { agent_cert, signing_key: signing_key.clone(), split_bytes: 0 };
    let folder = dir.path().join("escrow");
    let made = domain_os::escrow::deposit(
        domain_os::escrow::DepositKind::Full,
        None,
        &d.registry().snapshot(),
        &tld,
        now,
        now,
        &keys,
        &folder,
        true,
    )
    .unwrap();
    d.stop().await;

    // Ours passes every case that applies, from the command line.
    let ryde = made.ryde.to_str().unwrap();
    let (ok, out, err) = tool(
        env!("CARGO_BIN_EXE_domain-os"),
        &["escrow", "verify", ryde, "--decrypt-key", agent_secret.to_str().unwrap(), "--signer-cert", signing_key.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    for case in ["rde-01", "rde-02", "rde-03", "rde-04", "rde-05", "rde-06", "rde-07", "rde-08", "rde-09", "rde-10", "rde-13"] {
        assert!(out.lines().any(|l| l.starts_with(case) && l.contains(" pass ")), "{case}:\n{out}");
    }
    let full = VerifyKeys { decrypt_key: Some(agent_secret.clone()), signer_cert: Some(signing_key.clone()) };
    let xml_path = made.xml.clone().unwrap();
    assert!(verify(&xml_path, &VerifyKeys::default()).unwrap().passed());
    // So does the example deposit beside the schemas (with IDN, NNDN and
    // policy objects), under a name RA Specification 2 allows.
    let example = dir.path().join("test_2025-01-05_full_S1_R0.xml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/rde/examples/full-deposit.xml"), &example).unwrap();
    let report = verify(&example, &VerifyKeys::default()).unwrap();
    assert!(report.passed(), "{report}");

    // Broken deposits fail the case that covers what is broken.
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let domains = summary_count(&xml, domain_os::escrow::DOMAIN);
    let broken_dir = dir.path().join("broken");
    std::fs::create_dir_all(&broken_dir).unwrap();
    let broken: Vec<(&str, String, &str)> = vec![
        (
            "count",
            xml.replace(
                &format!("uri=\"{}\">{domains}<", domain_os::escrow::DOMAIN),
                &format!("uri=\"{}\">{}<", domain_os::escrow::DOMAIN, domains + 1),
            ),
            "RDE_OBJECT_COUNT_MISMATCH",
        ),
        ("menu", xml.replace(&format!("<rde:objURI>{}</rde:objURI>", domain_os::escrow::HOST), ""), "RDE_MENU_AND_HEADER_URIS_DIFFER"),
        ("expiry", with_first(&xml, "rdeDomain:exDate", "2001-01-01T00:00:00Z"), "RDE_DOMAIN_HAS_INVALID_EXDATE"),
        ("creation", with_first(&xml, "rdeDomain:crDate", "2999-01-01T00:00:00Z"), "RDE_DOMAIN_HAS_INVALID_CRDATE"),
        ("nameserver", with_first(&xml, "domain:hostObj", "ns9.nowhere.example"), "RDE_DOMAIN_HAS_MISSING_NAMESERVER"),
        ("sponsor", with_first(&xml, "rdeDomain:clID", "no-such-registrar"), "RDE_DOMAIN_HAS_INVALID_CLID"),
        ("roid", with_first(&xml, "rdeDomain:roid", "NOREPOSITORY"), "RDE_DOMAIN_HAS_INVALID_ROID"),
        ("outside", with_first(&xml, "rdeDomain:name", "hello.other"), "RDE_DOMAIN_HAS_INVALID_NAME"),
        ("gurid", with_first(&xml, "rdeRegistrar:gurid", "0"), "RDE_REGISTRAR_HAS_INVALID_GURID"),
        ("rgp", xml.replace("<epp:extURI>urn:ietf:params:xml:ns:rgp-1.0</epp:extURI>", ""), "RDE_EPP_PARAMS_MISSING_EXTURI"),
        ("truncated", xml[..xml.len() / 2].to_string(), "RDE_XML_PARSE_ERROR"),
    ];
    for (what, text, code) in broken {
        let path = broken_dir.join(what).join(xml_path.file_name().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        let report = verify(&path, &VerifyKeys::default()).unwrap();
        assert!(!report.passed() && report.codes().contains(code), "{what}: expected {code}:\n{report}");
    }
    let misnamed = broken_dir.join("example_2026-12-07_full.xml");
    std::fs::write(&misnamed, &xml).unwrap();
    assert!(verify(&misnamed, &VerifyKeys::default()).unwrap().codes().contains("RDE_INVALID_FILENAME"));

    // A .ryde changed after signing fails the signature; a key it was not
    // encrypted to cannot decrypt it.
    let tampered_dir = broken_dir.join("tampered");
    std::fs::create_dir_all(&tampered_dir).unwrap();
    let tampered = tampered_dir.join(made.ryde.file_name().unwrap());
    let mut bytes = std::fs::read(&made.ryde).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&tampered, bytes).unwrap();
    std::fs::copy(&made.signature, tampered.with_extension("sig")).unwrap();
    let report = verify(&tampered, &full).unwrap();
    assert!(report.codes().contains("RDE_INVALID_SIGNATURE"), "{report}");
    let wrong_key = VerifyKeys { decrypt_key: Some(signing_key.clone()), signer_cert: Some(signing_key) };
    let report = verify(&made.ryde, &wrong_key).unwrap();
    assert_eq!(report.codes().into_iter().collect::<Vec<_>>(), ["RDE_DECRYPTION_FAILED"], "{report}");
}

/// The header's count of objects of `uri` in a deposit's text.
fn summary_count(xml: &str, uri: &str) -> u64 {
    let open = format!("<rdeHeader:count uri=\"{uri}\">");
    let start = xml.find(&open).unwrap() + open.len();
    xml[start..].split('<').next().unwrap().parse().unwrap()
}

/// The objects of a deposit's XML, each as its text, in deposit order.
fn deposit_objects(xml: &str) -> Vec<&str> {
    let opens = [
        "<rdeRegistrar:registrar>",
        "<rdeHost:host>",
        "<rdeContact:contact>",
        "<rdeDomain:domain>",
        "<rdeNNDN:NNDN>",
        "<rdeEppParams:eppParams>",
    ];
    let mut starts: Vec<usize> = opens.iter().flat_map(|o| xml.match_indices(o).map(|(i, _)| i)).collect();
    starts.sort();
    let end = xml.find("<rdeHeader:header>").unwrap();
    starts.iter().enumerate().map(|(i, &s)| &xml[s..starts.get(i + 1).copied().unwrap_or(end)]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_deposit_imports_into_a_fresh_registry_which_deposits_the_same_objects() {
    use crate::epp::{DS, Epp, Responses, STRONG, code, create_body};
    let d = TestDaemon::demo().await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    let mut b = Epp::session(&d, "other-registrar", &seen).await;
    // A domain in its add grace period with DS and its own glue; one with a
    // transfer pending; one in redemption; the demo's contacts with disclose flags.
    assert_eq!(code(&a.domain("create", &create_body("glued.example", "2", &[], STRONG), DS).await), 1000);
    let host =
        r#"<host:name>ns1.glued.example</host:name><host:addr ip="v4">192.0.2.53</host:addr><host:addr ip="v6">2001:db8::53</host:addr>"#;
    assert_eq!(code(&a.host("create", host).await), 1000);
    let delegate = "<domain:name>glued.example</domain:name><domain:add><domain:ns><domain:hostObj>ns1.glued.example</domain:hostObj></domain:ns></domain:add>";
    assert_eq!(code(&a.domain("update", delegate, "").await), 1000);
    assert_eq!(code(&a.domain("create", &create_body("moving.example", "1", &["ns1.example.net"], STRONG), "").await), 1000);
    let request = format!("<domain:name>moving.example</domain:name><domain:authInfo><domain:pw>{STRONG}</domain:pw></domain:authInfo>");
    assert_eq!(code(&b.domain("transfer request", &request, "").await), 1001);
    d.ok("PATCH", "/v1/tlds/example", Some(serde_json::json!({"add_grace_s": 0}))).await;
    assert_eq!(code(&a.domain("create", &create_body("gone.example", "1", &["ns1.glued.example"], STRONG), "").await), 1000);
    assert_eq!(code(&a.domain("delete", "<domain:name>gone.example</domain:name>", "").await), 1001);
    // Names that cannot be registered: withheld and blocked.
    for (names, state) in [(vec!["nic-reserved", "www"], "withheld"), (vec!["collision"], "blocked")] {
        let body = serde_json::json!({"names": names, "state": state, "reason": "Specification 5", "list": "spec5"});
        d.ok("POST", "/v1/tlds/example/reserved", Some(body)).await;
    }
    // A second TLD whose domain shares a name server and the registrant with .example's.
    d.ok("POST", "/v1/tlds", Some(serde_json::json!({"name": "second", "nameservers": ["a.nic.example", "b.nic.example"]}))).await;
    let shared = serde_json::json!({"name": "shared.second", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"], "registrant": "demo-owner"});
    d.ok("POST", "/v1/domains", Some(shared)).await;

    let dir = tempfile::tempdir().unwrap();
    let (_, agent_cert, agent_secret) = agent_key(dir.path());
    let (_, signing_key) = gpg_key(dir.path(), "registry", true);
    let tld = DomainName::parse("example").unwrap();
    let watermark = domain_os::model::Clock::now(&domain_os::model::SystemClock);
    let keys = domain_os::escrow::RydeKeys { agent_cert, signing_key: signing_key.clone(), split_bytes: 0 };
    let full = domain_os::escrow::DepositKind::Full;
    let made = domain_os::escrow::deposit(
        full,
        None,
        &d.registry().snapshot(),
        &tld,
        watermark,
        watermark,
        &keys,
        &dir.path().join("escrow"),
        true,
    )
    .unwrap();
    let before = std::fs::read_to_string(made.xml.as_ref().unwrap()).unwrap();
    let checked = domain_os::escrow::verify::verify(made.xml.as_ref().unwrap(), &Default::default()).unwrap();
    let shown = checked.to_string();
    assert!(checked.passed() && shown.lines().any(|l| l.starts_with("rde-12") && l.contains(" pass ")), "{shown}");
    let second = DomainName::parse("second").unwrap();
    let mut second_before = Vec::new();
    domain_os::escrow::write_xml(full, &d.registry().snapshot(), &second, watermark, "20261207002", 0, None, &mut second_before).unwrap();
    assert!(
        [
            "redemptionPeriod",
            "addPeriod",
            "<rdeDomain:trStatus>pending",
            "<secDNS:dsData>",
            "<rdeHost:addr ip=\"v6\">",
            "<rdeContact:disclose",
            "<rdeNNDN:nameState>blocked</rdeNNDN:nameState>"
        ]
        .iter()
        .all(|s| before.contains(s)),
        "the deposit shows what was exercised"
    );
    let owner_before = d.ok("GET", "/v1/contacts/demo-owner", None).await;
    d.stop().await;

    // The import, from the command line into a fresh data folder, of the
    // .ryde as the escrow agent would hand it over.
    let fresh = tempfile::tempdir().unwrap();
    let config = test_config(fresh.path());
    let conf = crate::import::write_config(fresh.path(), &config);
    let bin = env!("CARGO_BIN_EXE_domain-os");
    let import = |file: &std::path::Path| {
        let args = [
            "--config",
            conf.to_str().unwrap(),
            "import",
            "escrow",
            file.to_str().unwrap(),
            "--decrypt-key",
            agent_secret.to_str().unwrap(),
            "--signer-cert",
            signing_key.to_str().unwrap(),
            "--ns",
            "a.nic.example,b.nic.example",
        ];
        tool(bin, &args)
    };
    // A broken deposit is refused whole, naming each problem.
    let broken = fresh.path().join("example_2026-12-07_full_S1_R0.xml");
    let text = with_first(&before, "domain:hostObj", "ns9.nowhere.example");
    std::fs::write(&broken, with_first(&text, "rdeContact:email", "")).unwrap();
    let (ok, out, err) = import(&broken);
    assert!(!ok, "{out}");
    assert!(err.contains("contact") && err.contains("no email") && err.contains("nothing was imported"), "{err}");
    let (ok, out, err) = import(&made.ryde);
    assert!(ok, "{out}{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let counts = &made.summary.counts;
    assert_eq!(summary["domains"].as_u64(), Some(counts[domain_os::escrow::DOMAIN]), "{summary}");
    assert_eq!(summary["hosts"].as_u64(), Some(counts[domain_os::escrow::HOST]), "{summary}");
    assert_eq!(summary["tld_created"], true, "{summary}");

    // The fresh registry deposits, object by object, what it was given.
    let d2 = TestDaemon::start_in(fresh, config, false).await;
    let mut again = Vec::new();
    domain_os::escrow::write_xml(full, &d2.registry().snapshot(), &tld, watermark, &made.id, 0, None, &mut again).unwrap();
    let again = String::from_utf8(again).unwrap();
    let (old, new) = (deposit_objects(&before), deposit_objects(&again));
    for (o, n) in old.iter().zip(&new) {
        assert_eq!(o, n, "an object changed in the round trip");
    }
    assert_eq!(old.len(), new.len());
    assert_eq!(before, again, "the header too");

    // The other TLD's deposit holds the same hosts and contacts: they are
    // kept, gain its links, and its deposit comes back the same too.
    let response = d2
        .http()
        .post(format!("{}/v1/escrow/import?ns=a.nic.example,b.nic.example", d2.base))
        .bearer_auth(&d2.token)
        .body(second_before.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let summary: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (summary["domains"].as_u64(), summary["hosts"].as_u64(), summary["contacts"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{summary}"
    );
    assert!(summary["hosts_kept"].as_u64().unwrap() > 0 && summary["registrars_kept"].as_u64().unwrap() == 2, "{summary}");
    let mut second_again = Vec::new();
    domain_os::escrow::write_xml(full, &d2.registry().snapshot(), &second, watermark, "20261207002", 0, None, &mut second_again).unwrap();
    assert_eq!(String::from_utf8(second_again).unwrap(), String::from_utf8(second_before).unwrap());
    let owner = d2.ok("GET", "/v1/contacts/demo-owner", None).await;
    assert_eq!(owner["linked_domains"], owner_before["linked_domains"], "{owner}");

    // It serves them: the delegation with its glue and DS, and not the domain in redemption.
    let answer = d2.query("glued.example.", hickory_net::proto::rr::RecordType::NS).await;
    assert_eq!(answer.authorities.len(), 1, "{answer:?}");
    assert_eq!(answer.additionals.len(), 2, "glue A and AAAA: {answer:?}");
    let answer = d2.query("gone.example.", hickory_net::proto::rr::RecordType::NS).await;
    assert_eq!(answer.metadata.response_code, hickory_net::proto::op::ResponseCode::NXDomain);
    // The same deposit again is refused: its objects are here.
    let (code, body) = d2.api("POST", "/v1/escrow/import", None).await;
    assert_eq!(code, 422, "{body}");
    let response =
        d2.http().post(format!("{}/v1/escrow/import", d2.base)).bearer_auth(&d2.token).body(before.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("exists here already"), "{body}");
    seen.validate();
    d2.stop().await;
}

/// The identity of a deposit object (kind and what an escrow agent keys
/// it by) from its text.
fn object_key(object: &str) -> (String, String) {
    let kind = object[1..object.find(':').unwrap()].to_string();
    let key = match kind.as_str() {
        "rdeRegistrar" | "rdeContact" => "id",
        "rdeHost" => "roid",
        "rdeDomain" => "name",
        "rdeNNDN" => "aName",
        _ => return (kind, String::new()),
    };
    let open = format!("<{kind}:{key}>");
    let start = object.find(&open).unwrap() + open.len();
    (kind, object[start..start + object[start..].find('<').unwrap()].to_string())
}

/// What a FULL deposit holds after a DIFF is applied to it, as an escrow
/// agent would: deleted objects go, changed and new ones replace theirs.
fn apply_diff(full: &str, diff: &str) -> std::collections::BTreeMap<(String, String), String> {
    let mut objects: std::collections::BTreeMap<_, _> = deposit_objects(full).into_iter().map(|o| (object_key(o), o.to_string())).collect();
    let deletes = &diff[diff.find("<rde:deletes>").unwrap()..diff.find("</rde:deletes>").unwrap()];
    // Each `<rdeX:delete><rdeX:key>value</rdeX:key></rdeX:delete>`.
    for delete in deletes.split(":delete>").filter(|d| d.starts_with("<rde") && d.contains("</")) {
        let kind = delete[1..delete.find(':').unwrap()].to_string();
        let value = &delete[delete.find('>').unwrap() + 1..delete.find("</").unwrap()];
        objects.remove(&(kind, value.to_string()));
    }
    for object in deposit_objects(diff) {
        objects.insert(object_key(object), object.to_string());
    }
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_holds_what_changed_after_the_previous_deposit_and_full_plus_diff_gives_the_next_full() {
    use crate::epp::{Epp, Responses, STRONG, code, create_body};
    let keys_dir = tempfile::tempdir().unwrap();
    let (_, agent_cert) = gpg_key(keys_dir.path(), "agent", false);
    let (_, signing_key) = gpg_key(keys_dir.path(), "registry", true);
    let d = TestDaemon::start(true, |c, _| {
        c.escrow.agent_cert = Some(agent_cert.clone());
        c.escrow.signing_key = Some(signing_key.clone());
    })
    .await;
    let seen = Responses::default();
    let mut a = Epp::session(&d, "demo-registrar", &seen).await;
    for host in ["ns.spare.net", "ns.gone.net"] {
        assert_eq!(code(&a.host("create", &format!("<host:name>{host}</host:name>")).await), 1000);
    }
    assert_eq!(code(&a.domain("create", &create_body("temp.example", "1", &[], STRONG), "").await), 1000);
    let reserve = |names: &[&str], state: &str| serde_json::json!({"names": names, "state": state, "reason": "test", "list": "operator"});
    d.ok("POST", "/v1/tlds/example/reserved", Some(reserve(&["kept", "dropped"], "withheld"))).await;
    let deposit = async |kind: &str| {
        let made = d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": kind, "keep_xml": true}))).await;
        let path = std::path::PathBuf::from(made["xml"].as_str().unwrap());
        xmllint_rde(&path);
        xmllint_rde(std::path::Path::new(made["report"].as_str().unwrap()));
        // The next deposit of the same day is written beside this one's files.
        let kept = keys_dir.path().join(format!("{kind}-{}.xml", made["id"].as_str().unwrap()));
        std::fs::rename(&path, &kept).unwrap();
        (made, std::fs::read_to_string(kept).unwrap())
    };
    let (first, full) = deposit("full").await;

    // Changes: a new domain, an update, a purge, a host renamed and one deleted.
    assert_eq!(code(&a.domain("create", &create_body("fresh.example", "1", &["ns.spare.net"], STRONG), "").await), 1000);
    let hold = r#"<domain:name>hello.example</domain:name><domain:add><domain:status s="clientHold"/></domain:add>"#;
    assert_eq!(code(&a.domain("update", hold, "").await), 1000);
    assert_eq!(code(&a.domain("delete", "<domain:name>temp.example</domain:name>", "").await), 1000, "purged in add grace");
    let rename = "<host:name>ns.spare.net</host:name><host:chg><host:name>ns.renamed.net</host:name></host:chg>";
    assert_eq!(code(&a.host("update", rename).await), 1000);
    assert_eq!(code(&a.host("delete", "<host:name>ns.gone.net</host:name>").await), 1000);
    // A name blocked, a reservation ended.
    d.ok("POST", "/v1/tlds/example/reserved", Some(reserve(&["added.example"], "blocked"))).await;
    d.ok("POST", "/v1/tlds/example/reserved/release", Some(serde_json::json!({"names": ["dropped"]}))).await;

    let (diff_made, diff) = deposit("diff").await;
    assert!(diff.contains("<rdeNNDN:delete><rdeNNDN:aName>dropped.example</rdeNNDN:aName></rdeNNDN:delete>"), "{diff}");
    let names: Vec<String> = deposit_objects(&diff).iter().map(|o| object_key(o)).filter(|k| k.0 == "rdeNNDN").map(|k| k.1).collect();
    assert_eq!(names, ["added.example"]);
    assert!(full.contains("<rdeNNDN:aName>kept.example</rdeNNDN:aName><rdeNNDN:nameState>withheld</rdeNNDN:nameState>"), "{full}");
    assert!(diff_made["ryde"].as_str().unwrap().ends_with("_diff_S1_R0.ryde"), "{diff_made}");
    assert!(diff.contains(&format!(r#"<rde:deposit type="DIFF" id="{}""#, diff_made["id"].as_str().unwrap())), "{diff}");
    assert!(diff.contains(&format!(r#"prevId="{}""#, first["id"].as_str().unwrap())), "{diff}");
    assert!(diff.contains("<rdeDomain:delete><rdeDomain:name>temp.example</rdeDomain:name></rdeDomain:delete>"), "{diff}");
    assert!(diff.contains("<rdeHost:delete><rdeHost:roid>"), "{diff}");
    let domains: Vec<String> = deposit_objects(&diff).iter().map(|o| object_key(o)).filter(|k| k.0 == "rdeDomain").map(|k| k.1).collect();
    assert_eq!(domains, ["fresh.example", "hello.example"], "only what changed");
    assert!(summary_count(&diff, domain_os::escrow::DOMAIN) == 2 && !diff.contains("<rdeEppParams:eppParams>"));

    let (_, next) = deposit("full").await;
    let expected: std::collections::BTreeMap<_, _> = deposit_objects(&next).into_iter().map(|o| (object_key(o), o.to_string())).collect();
    let applied = apply_diff(&full, &diff);
    let keys: std::collections::BTreeSet<_> = applied.keys().chain(expected.keys()).collect();
    let differing: Vec<_> =
        keys.into_iter().filter(|k| applied.get(*k) != expected.get(*k)).map(|k| (k, applied.get(k), expected.get(k))).collect();
    assert!(differing.is_empty(), "FULL + DIFF = the next FULL, but for (key, applied, next FULL): {differing:#?}");

    // A DIFF right after the FULL holds nothing, and says so.
    let (_, empty) = deposit("diff").await;
    assert!(deposit_objects(&empty).is_empty() && empty.contains("<rde:deletes></rde:deletes>"), "{empty}");
    seen.validate();
    d.stop().await;
}

/// Waits until the deposit schedule has completed `n` more passes (one may
/// have been under way), so what it did not do, it will not.
async fn schedule_passes(d: &TestDaemon, n: u64) {
    let passes = async || d.ok("GET", "/v1/tlds/example/escrow", None).await["schedule_passes"].as_u64().expect("the schedule runs");
    let start = passes().await;
    assert!(eventually(Duration::from_secs(60), async || passes().await >= start + n).await, "the schedule stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_follow_their_schedule_and_a_restart_resumes_it() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (_, agent_cert) = gpg_key(keys_dir.path(), "agent", false);
    let (_, signing_key) = gpg_key(keys_dir.path(), "registry", true);
    let (_, icann_cert) = gpg_key(keys_dir.path(), "icann", false);
    let day = |date: &str| domain_os::model::Timestamp::parse_rfc3339(&format!("{date}T10:00:00Z")).unwrap();
    // A Saturday.
    let clock = domain_os::model::ManualClock::new(day("2026-12-05"));
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.escrow.agent_cert = Some(agent_cert.clone());
        c.escrow.signing_key = Some(signing_key.clone());
        c.escrow.brda_cert = Some(icann_cert.clone());
        c.escrow.schedule = true;
        c.escrow.check_interval_s = 1;
    })
    .await;
    let folder = d.config.data_dir.join("escrow");
    let made = |names: &[&str]| names.iter().all(|n| folder.join(n).exists());
    let wait_for = async |names: &[&str]| {
        assert!(
            eventually(Duration::from_secs(60), async || made(names)).await,
            "{names:?} in {:?}",
            std::fs::read_dir(&folder).ok().map(|d| d.count())
        );
    };
    // The first day: a FULL, and the BRDA whose week has none yet.
    wait_for(&["example_2026-12-05_full_S1_R0.ryde", "example_2026-12-05_full_S1_R0.sig", "example_2026-12-05_thin_S1_R0.ryde"]).await;
    clock.set(day("2026-12-06"));
    wait_for(&["example_2026-12-06_full_S1_R0.ryde", "example_2026-12-06_full_S1_R0-report.xml"]).await;
    clock.set(day("2026-12-07"));
    wait_for(&["example_2026-12-07_diff_S1_R0.ryde", "example_2026-12-07_diff_S1_R0-report.xml"]).await;
    // Tuesday is the BRDA's day.
    clock.set(day("2026-12-08"));
    wait_for(&["example_2026-12-08_diff_S1_R0.ryde", "example_2026-12-08_thin_S1_R0.ryde"]).await;
    let status = d.ok("GET", "/v1/tlds/example/escrow", None).await;
    assert_eq!(status["escrow"]["kind"], "diff", "{status}");
    assert_eq!(status["brda"]["kind"], "thin", "{status}");
    assert!(!folder.join("example_2026-12-07_thin_S1_R0.ryde").exists(), "one BRDA a week");

    // The cursors are in the store: after a restart the day's deposits are not made again.
    let files = || std::fs::read_dir(&folder).unwrap().count();
    let before = files();
    let (dir, config) = d.stop().await;
    let d = TestDaemon::start_with_clock(dir, config, false, std::sync::Arc::new(clock.clone())).await;
    schedule_passes(&d, 2).await;
    assert_eq!(files(), before, "nothing is made twice a day");
    let again = d.ok("GET", "/v1/tlds/example/escrow", None).await;
    assert_eq!((&again["escrow"], &again["brda"]), (&status["escrow"], &status["brda"]));
    // Down from Wednesday to the next Monday: the missed Sunday's FULL comes first.
    clock.set(day("2026-12-14"));
    wait_for(&["example_2026-12-14_full_S1_R0.ryde"]).await;
    assert!(!folder.join("example_2026-12-14_diff_S1_R0.ryde").exists());
    d.stop().await;
}

/// OpenSSH's sshd on a loopback port, serving SFTP with `sftp-server` to
/// the one key it generates, as an escrow agent's server would.
struct Sshd {
    child: std::process::Child,
    port: u16,
    client_key: std::path::PathBuf,
    known_hosts: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl Sshd {
    fn configure(dir: &std::path::Path) -> Sshd {
        for key in ["host_key", "client_key"] {
            let path = dir.join(key);
            let (ok, _, err) = tool("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", path.to_str().unwrap()]);
            assert!(ok, "{err}");
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nStrictModes no\nUsePAM no\n\
                 Subsystem sftp /usr/lib/openssh/sftp-server\nLogLevel ERROR\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let host_key = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let known_hosts = dir.join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_key}")).unwrap();
        // sshd run by root wants its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = std::process::Command::new("/usr/sbin/sshd").arg("-D").arg("-e").arg("-f").arg(&config).spawn().unwrap();
        let mut sshd = Sshd { child, port, client_key: dir.join("client_key"), known_hosts, config };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&mut self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd does not listen");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn start(&mut self) {
        self.child = std::process::Command::new("/usr/sbin/sshd").arg("-D").arg("-e").arg("-f").arg(&self.config).spawn().unwrap();
        self.wait_listening();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the stand-in for ICANN's reporting interface received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: String,
    pub content_type: String,
    pub body: String,
    pub accepted: bool,
}

/// A local HTTPS server answering like ICANN's reporting interface: 503
/// the first time (to be tried again), then 200 for a new report and 400
/// with an `iirdea` result for one already submitted.
pub async fn icann_stand_in(dir: &std::path::Path) -> (u16, std::path::PathBuf, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use http_body_util::BodyExt;
    let pki = domain_os::epp::tls::Pki { dir: dir.to_path_buf() };
    pki.ensure_server(&["localhost".into()]).unwrap();
    let tls = domain_os::epp::tls::server_config_without_client_auth(&pki.server_cert(), &pki.server_key()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = Default::default();
    let seen = received.clone();
    tokio::spawn(async move {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, seen, calls) = (acceptor.clone(), seen.clone(), calls.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (seen, calls) = (seen.clone(), calls.clone());
                    async move {
                        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                        let (authorization, content_type) = (header("authorization"), header("content-type"));
                        let path = request.uri().path().to_string();
                        let body = String::from_utf8(request.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
                        let iirdea = |code: u16, msg: &str| {
                            format!(
                                r#"<?xml version="1.0" encoding="UTF-8"?><iirdea:response xmlns:iirdea="urn:ietf:params:xml:ns:iirdea-1.0"><iirdea:result code="{code}"><iirdea:msg>{msg}</iirdea:msg></iirdea:result></iirdea:response>"#
                            )
                        };
                        let first = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
                        let mut seen = seen.lock().unwrap();
                        let again = seen.iter().any(|r: &Received| r.path == path && r.accepted);
                        let (status, text) = match (first, again) {
                            (true, _) => (503, String::new()),
                            (_, true) => (400, iirdea(2002, "A report for that ID was previously submitted")),
                            _ => (200, iirdea(1000, "Command completed successfully")),
                        };
                        seen.push(Received { path, authorization, content_type, body, accepted: status == 200 });
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(http_body_util::Full::new(axum::body::Bytes::from(text)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (port, pki.ca_cert(), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_deposits_reach_the_agent_by_sftp_and_their_reports_reach_icann() {
    let dir = tempfile::tempdir().unwrap();
    let (_, agent_cert) = gpg_key(dir.path(), "agent", false);
    let (_, signing_key) = gpg_key(dir.path(), "registry", true);
    let (_, icann_cert) = gpg_key(dir.path(), "icann", false);
    let ssh_dir = dir.path().join("ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let mut sshd = Sshd::configure(&ssh_dir);
    // The agent is unreachable at first: delivery waits and is tried again.
    sshd.stop();
    let (agent_folder, brda_folder) = (dir.path().join("agent"), dir.path().join("icann-sftp"));
    let (icann_port, icann_ca, received) = icann_stand_in(&dir.path().join("icann")).await;
    let password = dir.path().join("icann-password");
    std::fs::write(&password, "s3cret-Report-Pw\n").unwrap();
    let user = tool("id", &["-un"]).1.trim().to_string();
    let day = domain_os::model::Timestamp::parse_rfc3339("2026-12-06T10:00:00Z").unwrap();
    let clock = domain_os::model::ManualClock::new(day);
    let d = TestDaemon::demo_on(&clock, |c, _| {
        c.escrow.agent_cert = Some(agent_cert.clone());
        c.escrow.signing_key = Some(signing_key.clone());
        c.escrow.brda_cert = Some(icann_cert.clone());
        c.escrow.schedule = true;
        c.escrow.check_interval_s = 1;
        // The agent takes files of 1,500 bytes at most: deposits go split.
        c.escrow.split_bytes = 1500;
        let sftp = |folder: &std::path::Path| domain_os::escrow::deliver::SftpConfig {
            host: "127.0.0.1".into(),
            port: sshd.port,
            user: user.clone(),
            key: sshd.client_key.clone(),
            known_hosts: sshd.known_hosts.clone(),
            folder: folder.to_str().unwrap().into(),
        };
        c.escrow.sftp = Some(sftp(&agent_folder));
        c.escrow.brda_sftp = Some(sftp(&brda_folder));
        c.escrow.icann = Some(domain_os::escrow::deliver::IcannConfig {
            url: format!("https://localhost:{icann_port}"),
            password_file: password.clone(),
            ca_file: icann_ca.clone(),
        });
    })
    .await;
    let folder = d.config.data_dir.join("escrow");
    let base = "example_2026-12-06_full_S1_R0";
    assert!(eventually(Duration::from_secs(60), async || folder.join(format!("{base}.ryde")).exists()).await);
    schedule_passes(&d, 2).await;
    assert!(!agent_folder.join(format!("{base}.ryde")).exists());
    assert!(received.lock().unwrap().is_empty(), "no report before the agent has the deposit");

    // A transfer a dropped connection cut short: part of the file is there.
    std::fs::create_dir_all(&agent_folder).unwrap();
    let ryde = std::fs::read(folder.join(format!("{base}.ryde"))).unwrap();
    std::fs::write(agent_folder.join(format!("{base}.ryde.part")), &ryde[..ryde.len() / 2]).unwrap();
    sshd.start();
    let delivered = eventually(Duration::from_secs(90), async || {
        std::fs::read(agent_folder.join(format!("{base}.sig")))
            .is_ok_and(|s| s == std::fs::read(folder.join(format!("{base}.sig"))).unwrap())
    })
    .await;
    assert!(delivered, "the deposit reaches the agent");
    assert_eq!(std::fs::read(agent_folder.join(format!("{base}.ryde"))).unwrap(), ryde, "intact");
    assert!(!agent_folder.join(format!("{base}.ryde.part")).exists());
    let second = "example_2026-12-06_full_S2_R0";
    for file in [format!("{second}.ryde"), format!("{second}.sig")] {
        assert_eq!(std::fs::read(agent_folder.join(&file)).unwrap(), std::fs::read(folder.join(&file)).unwrap(), "{file}");
    }
    // The BRDA goes to ICANN's server, not to the agent.
    let thin = "example_2026-12-06_thin_S1_R0";
    assert!(eventually(Duration::from_secs(30), async || brda_folder.join(format!("{thin}.sig")).exists()).await);
    assert_eq!(
        std::fs::read(brda_folder.join(format!("{thin}.ryde"))).unwrap(),
        std::fs::read(folder.join(format!("{thin}.ryde"))).unwrap()
    );
    assert!(!agent_folder.join(format!("{thin}.ryde")).exists() && !brda_folder.join(format!("{base}.ryde")).exists());

    // The report: refused once (503), then accepted; never sent again.
    assert!(eventually(Duration::from_secs(90), async || received.lock().unwrap().len() >= 2).await, "{:?}", received.lock().unwrap());
    schedule_passes(&d, 2).await;
    let seen_by_icann = received.clone();
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "{received:?}");
    let report = std::fs::read_to_string(folder.join(format!("{base}-report.xml"))).unwrap();
    let id = "20261206001";
    use base64::Engine;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("example_ry:s3cret-Report-Pw"));
    for r in &received {
        assert_eq!(r.path, format!("/report/registry-escrow-report/example/{id}"));
        assert_eq!((r.authorization.as_str(), r.content_type.as_str()), (basic.as_str(), "text/xml"));
        assert_eq!(r.body, report);
    }
    let mark = folder.join(format!(".delivered/{base}.icann"));
    assert!(mark.exists());
    // Had the acceptance been lost, ICANN's "previously submitted" counts as delivered.
    std::fs::remove_file(&mark).unwrap();
    assert!(eventually(Duration::from_secs(60), async || mark.exists()).await, "the mark comes back");
    let last = seen_by_icann.lock().unwrap().last().cloned().unwrap();
    assert!(!last.accepted, "ICANN answered 400 with iirdea 2002");
    schedule_passes(&d, 2).await;
    assert_eq!(seen_by_icann.lock().unwrap().len(), 3, "and nothing more is sent");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_larger_than_the_agents_limit_is_split_and_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (agent_home, agent_cert, agent_secret) = agent_key(dir.path());
    let (registry_home, signing_key) = gpg_key(dir.path(), "registry", true);
    let d = TestDaemon::start(true, |c, _| {
        c.escrow.agent_cert = Some(agent_cert.clone());
        c.escrow.signing_key = Some(signing_key.clone());
        c.escrow.split_bytes = 1024;
    })
    .await;
    let made = d.ok("POST", "/v1/tlds/example/escrow", Some(serde_json::json!({"type": "full"}))).await;
    let parts = made["parts"].as_u64().unwrap();
    assert!(parts >= 2, "{made}");
    let first = std::path::PathBuf::from(made["ryde"].as_str().unwrap());
    assert!(first.to_str().unwrap().ends_with("_full_S1_R0.ryde"));
    let mut joined = Vec::new();
    for k in 1..=parts {
        let part = std::path::PathBuf::from(first.to_str().unwrap().replace("_S1_", &format!("_S{k}_")));
        let bytes = std::fs::read(&part).unwrap();
        assert!(bytes.len() <= 1024, "{} is {} bytes", part.display(), bytes.len());
        // Each file carries its own signature.
        let (ok, _, err) = gpg(&registry_home, &["--verify", part.with_extension("sig").to_str().unwrap(), part.to_str().unwrap()]);
        assert!(ok, "{err}");
        joined.extend(bytes);
    }
    // Joined, the files are the one RyDE message.
    let whole = dir.path().join("joined.ryde");
    std::fs::write(&whole, &joined).unwrap();
    let (ok, _, err) =
        gpg(&agent_home, &["--decrypt", "--output", dir.path().join("joined.tar").to_str().unwrap(), whole.to_str().unwrap()]);
    assert!(ok, "{err}");
    // Our checker and the import read a split deposit from its first file.
    let (ok, out, err) = tool(
        env!("CARGO_BIN_EXE_domain-os"),
        &[
            "escrow",
            "verify",
            first.to_str().unwrap(),
            "--decrypt-key",
            agent_secret.to_str().unwrap(),
            "--signer-cert",
            signing_key.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let imported = domain_os::escrow::import::read_file(&first, Some(&agent_secret), Some(&signing_key)).unwrap();
    assert_eq!(imported.domains.len() as u64, made["counts"][domain_os::escrow::DOMAIN].as_u64().unwrap());
    d.stop().await;
}
