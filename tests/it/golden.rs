//! Golden files: the canonical EPP, RDAP and WHOIS answers of the demo
//! registry at a fixed time, compared with `tests/golden/`. EPP documents
//! are kept as `xmllint --format` shows them and each golden file is
//! validated against the EPP schemas; RDAP JSON is kept indented with its
//! member order as sent; WHOIS answers byte for byte. Only the per-run parts
//! (server transaction ids) are replaced. After an intended change, rewrite
//! them with `UPDATE_GOLDEN=1 cargo test --test it golden` and review the diff.

use std::path::PathBuf;

use domain_os::model::{ManualClock, Timestamp};

use crate::common::*;
use crate::epp::{DS, Epp, PW, Responses, code};
use crate::whois::raw;

/// The demo registry is seeded and queried at this instant.
const AT: &str = "2026-01-15T12:00:00Z";
const RDAP_BASE: &str = "https://rdap.nic.example/";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares answers with their golden files, or rewrites the files when
/// `UPDATE_GOLDEN` is set; reports every mismatch at once.
#[derive(Default)]
struct Golden {
    mismatches: Vec<String>,
}

impl Golden {
    fn check(&mut self, name: &str, actual: &str) {
        let path = golden_dir().join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(e, a)| e != a)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            self.mismatches.push(format!(
                "{name}: differs from line {}\n  golden: {:?}\n  actual: {:?}",
                line + 1,
                expected.lines().nth(line).unwrap_or("<end>"),
                actual.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }

    fn finish(self) {
        assert!(
            self.mismatches.is_empty(),
            "answers differ from tests/golden (rewrite with UPDATE_GOLDEN=1 if the change is intended):\n{}",
            self.mismatches.join("\n")
        );
    }
}

/// An EPP document as `xmllint --format` shows it, server transaction ids replaced.
fn epp_golden(xml: &str) -> String {
    let mut masked = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(at) = rest.find("<svTRID>") {
        let end = rest[at..].find("</svTRID>").expect("closed svTRID") + at;
        masked.push_str(&rest[..at]);
        masked.push_str("<svTRID>SVTRID</svTRID>");
        rest = &rest[end + "</svTRID>".len()..];
    }
    masked.push_str(rest);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.xml");
    std::fs::write(&path, masked).unwrap();
    let (ok, out, err) = tool("xmllint", &["--format", path.to_str().unwrap()]);
    assert!(ok, "not XML: {err}\n{xml}");
    out
}

/// Indents JSON text without reordering its members.
fn indent_json(json: &str) -> String {
    let (mut out, mut depth, mut in_string, mut escaped) = (String::with_capacity(json.len() * 2), 0usize, false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().unwrap());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

async fn golden_daemon() -> TestDaemon {
    let clock = ManualClock::new(Timestamp::parse_rfc3339(AT).unwrap());
    TestDaemon::demo_on(&clock, |c, _| c.rdap.base_url = RDAP_BASE.into()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epp_answers_match_their_golden_files_and_the_schemas() {
    let d = golden_daemon().await;
    let mut golden = Golden::default();
    let seen = Responses::default();
    let mut epp = Epp::connect(&d, Some("demo-registrar"), &seen).await;
    golden.check("epp/greeting.xml", &epp_golden(&epp.greeting));
    let login = epp
        .login_with(
            "demo-registrar",
            PW,
            &["urn:ietf:params:xml:ns:secDNS-1.1", "urn:ietf:params:xml:ns:rgp-1.0", "urn:ietf:params:xml:ns:epp:fee-1.0"],
        )
        .await;
    assert_eq!(code(&login), 1000, "{login}");
    golden.check("epp/login.xml", &epp_golden(&login));
    let fee_check = r#"<fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:currency>USD</fee:currency><fee:command name="create"><fee:period unit="y">1</fee:period></fee:command></fee:check>"#;
    let check = epp.domain("check", "<domain:name>hello.example</domain:name><domain:name>fresh.example</domain:name>", fee_check).await;
    golden.check("epp/domain-check.xml", &epp_golden(&check));
    golden.check("epp/domain-info.xml", &epp_golden(&epp.domain("info", "<domain:name>hello.example</domain:name>", "").await));
    let create = epp
        .domain(
            "create",
            "<domain:name>fresh.example</domain:name><domain:period unit=\"y\">2</domain:period><domain:ns><domain:hostObj>ns1.example.net</domain:hostObj></domain:ns><domain:registrant>demo-owner</domain:registrant><domain:authInfo><domain:pw>Fresh-Code-2026x</domain:pw></domain:authInfo>",
            DS,
        )
        .await;
    assert_eq!(code(&create), 1000, "{create}");
    golden.check("epp/domain-create.xml", &epp_golden(&create));
    golden.check("epp/domain-info-created.xml", &epp_golden(&epp.domain("info", "<domain:name>fresh.example</domain:name>", "").await));
    golden.check("epp/host-info.xml", &epp_golden(&epp.host("info", "<host:name>ns1.hello.example</host:name>").await));
    golden.check("epp/contact-info.xml", &epp_golden(&epp.contact("info", "<contact:id>demo-tech</contact:id>").await));
    let missing = epp.domain("info", "<domain:name>nothere.example</domain:name>", "").await;
    assert_eq!(code(&missing), 2303);
    golden.check("epp/domain-info-missing.xml", &epp_golden(&missing));
    golden.check("epp/poll-request.xml", &epp_golden(&epp.command(r#"<poll op="req"/>"#, "").await));
    golden.check("epp/logout.xml", &epp_golden(&epp.command("<logout/>", "").await));
    seen.validate();
    golden.finish();

    // Every golden EPP document on disk meets the schemas too.
    let mut files: Vec<String> = std::fs::read_dir(golden_dir().join("epp"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".xml"))
        .collect();
    files.sort();
    let mut args = vec!["--noout", "--schema", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/epp/all.xsd")];
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = tool("xmllint", &args);
    assert!(ok, "golden EPP files fail the schemas:\n{out}{err}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdap_answers_match_their_golden_files() {
    let d = golden_daemon().await;
    let mut golden = Golden::default();
    // Asked at the listener; links name the configured public base.
    let listener = format!("http://{}/", d.rdap_all()[0]);
    for (name, path) in [
        ("domain", "domain/hello.example"),
        // Parts rendered for the first answer are reused with this request's URL.
        ("domain-asked-in-capitals", "domain/HELLO.EXAMPLE"),
        ("domain-external-ns", "domain/world.example"),
        ("nameserver", "nameserver/ns1.hello.example"),
        ("entity-registrar", "entity/9999"),
        ("entity-contact", "entity/demo-tech"),
        ("help", "help"),
        ("search-domains", "domains?name=hel*"),
        ("error-not-found", "domain/nothere.example"),
        ("error-bad-request", "domain/bad_name!.example"),
    ] {
        let body = d.http().get(format!("{listener}{path}")).send().await.unwrap().text().await.unwrap();
        golden.check(&format!("rdap/{name}.json"), &indent_json(&body));
    }
    golden.finish();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whois_answers_match_their_golden_files() {
    let d = golden_daemon().await;
    let mut golden = Golden::default();
    for (name, query) in [
        ("domain", "hello.example"),
        ("domain-held", "held.example"),
        ("nameserver", "nameserver ns1.hello.example"),
        ("registrar", "registrar 9999"),
        ("not-found", "nothere.example"),
    ] {
        golden.check(&format!("whois/{name}.txt"), &raw(&d, format!("{query}\r\n").as_bytes()).await);
    }
    golden.finish();
    d.stop().await;
}
