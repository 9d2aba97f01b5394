//! ICANN's monthly reports end to end: lifecycle scenarios driven over EPP
//! on a manual clock, each with its expected CSV (golden files under
//! `tests/golden/reports/`, rewritten with `UPDATE_GOLDEN=1`), checked cell
//! by cell where the rule under test shows; the command line writing and
//! checking the files; DNS counts of our servers and of a secondary; and the
//! upload to a local stand-in for ICANN's reporting interface.

use std::time::Duration;

use domain_os::model::report::{ACTIVITY_COLUMNS, TRANSACTION_COLUMNS};
use domain_os::model::{ManualClock, Timestamp};
use serde_json::json;

use crate::common::*;
use crate::epp::{Epp, Responses, STRONG, code, create_body};

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// A demo registry on a manual clock with an EPP session per demo registrar.
struct Scenario {
    d: TestDaemon,
    clock: ManualClock,
    a: Epp,
    b: Epp,
    _seen: Responses,
}

impl Scenario {
    /// The demo made at `start`: its own domains count in that month.
    async fn start(start: &str) -> Scenario {
        let clock = ManualClock::new(at(start));
        let d = TestDaemon::demo_on(&clock, |c, _| c.registry.lifecycle_tick_ms = 20).await;
        let seen = Responses::default();
        let a = Epp::session(&d, "demo-registrar", &seen).await;
        let b = Epp::session(&d, "other-registrar", &seen).await;
        Scenario { d, clock, a, b, _seen: seen }
    }

    /// Moves the clock to `when` and waits until the lifecycle has carried out what fell due.
    async fn at(&self, when: &str) {
        let now = at(when);
        self.clock.set(now);
        let registry = self.d.registry();
        let caught_up = eventually(Duration::from_secs(30), async || !registry.snapshot().due_before(now).unwrap()).await;
        assert!(caught_up, "the lifecycle did not catch up with {when}");
    }

    async fn create(&mut self, name: &str, years: &str) {
        let r = self.a.domain("create", &create_body(name, years, &[], STRONG), "").await;
        assert_eq!(code(&r), 1000, "{r}");
    }

    async fn delete(&mut self, name: &str) -> u16 {
        code(&self.a.domain("delete", &format!("<domain:name>{name}</domain:name>"), "").await)
    }

    /// Both reports of `month` as the daemon makes them now.
    async fn reports(&self, tld: &str, month: &str) -> (String, String) {
        // Counts made outside the writer reach the store within a second.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let v = self.d.ok("GET", &format!("/v1/tlds/{tld}/reports/{month}"), None).await;
        let compact = month.replace('-', "");
        assert_eq!(v["activity"]["file_name"], format!("{tld}-activity-{compact}.csv"));
        assert_eq!(v["transactions"]["file_name"], format!("{tld}-transactions-{compact}.csv"));
        let (activity, transactions) =
            (v["activity"]["csv"].as_str().unwrap().to_string(), v["transactions"]["csv"].as_str().unwrap().to_string());
        assert_eq!(domain_os::report::check(domain_os::report::ReportKind::Activity, &activity), Vec::<String>::new());
        assert_eq!(domain_os::report::check(domain_os::report::ReportKind::Transactions, &transactions), Vec::<String>::new());
        (activity, transactions)
    }
}

/// Compares `text` with the golden file `name`.
fn golden(name: &str, text: &str) {
    let path = format!("{}/tests/golden/reports/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(text, expected, "{name} differs from its golden file");
}

/// The value of `column` in the transactions report's row `row` (a registrar's name, or `Totals`).
fn cell(csv: &str, row: &str, column: &str) -> u64 {
    let at = TRANSACTION_COLUMNS.iter().position(|c| *c == column).unwrap();
    let line = csv.split("\r\n").find(|l| l.split(',').next() == Some(row)).unwrap_or_else(|| panic!("no row {row}:\n{csv}"));
    line.split(',').nth(at).unwrap().parse().unwrap()
}

fn activity_cell(csv: &str, column: &str) -> String {
    let at = ACTIVITY_COLUMNS.iter().position(|c| *c == column).unwrap();
    csv.split("\r\n").nth(1).unwrap().split(',').nth(at).unwrap().to_string()
}

const DEMO: &str = "Demo Registrar";
const OTHER: &str = "Other Demo Registrar";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_deleted_within_add_grace_never_counts_and_an_idle_registrar_has_a_row_of_zeros() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.d.ok(
        "POST",
        "/v1/registrars",
        Some(json!({"id": "idle-registrar", "name": "Idle Registrar", "email": "ops@idle.example", "iana_id": 4242})),
    )
    .await;
    s.at("2026-11-02T10:00:00Z").await;
    s.create("brief.example", "2").await;
    // A refused create is an attempted add too.
    assert_eq!(code(&s.a.domain("create", &create_body("hello.example", "1", &[], STRONG), "").await), 2302);
    s.at("2026-11-03T10:00:00Z").await;
    assert_eq!(s.delete("brief.example").await, 1000, "gone at once within add grace");
    s.at("2026-12-01T00:00:00Z").await;
    let (activity, transactions) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&transactions, DEMO, "net-adds-2-yr"), 0);
    assert_eq!(cell(&transactions, DEMO, "deleted-domains-grace"), 1);
    assert_eq!(cell(&transactions, DEMO, "deleted-domains-nograce"), 0);
    assert_eq!(cell(&transactions, DEMO, "attempted-adds"), 2);
    assert_eq!(cell(&transactions, DEMO, "total-domains"), 5, "the demo's five");
    assert_eq!(cell(&transactions, DEMO, "total-nameservers"), 6);
    let idle = transactions.split("\r\n").find(|l| l.starts_with("Idle Registrar,4242,")).unwrap();
    assert!(idle.split(',').skip(2).all(|v| v == "0"), "{idle}");
    assert_eq!(activity_cell(&activity, "srs-dom-create"), "2");
    assert_eq!(activity_cell(&activity, "srs-dom-delete"), "1");
    assert_eq!(activity_cell(&activity, "operational-registrars"), "3");
    golden("add-grace-activity.csv", &activity);
    golden("add-grace-transactions.csv", &transactions);
    // October holds the demo's own five creates (made by the registry, without add grace).
    let (_, october) = s.reports("example", "2026-10").await;
    assert_eq!(cell(&october, DEMO, "net-adds-1-yr"), 5);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_late_in_the_month_counts_in_the_next_even_across_the_year() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.at("2026-11-30T12:00:00Z").await;
    s.create("late.example", "1").await;
    s.at("2026-12-01T00:00:00Z").await;
    let (_, november) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&november, DEMO, "net-adds-1-yr"), 0, "its add grace ends in December");
    assert_eq!(cell(&november, DEMO, "attempted-adds"), 1);
    assert_eq!(cell(&november, DEMO, "total-domains"), 6, "it is registered at the month's end");
    s.at("2027-01-01T00:00:00Z").await;
    let (_, december) = s.reports("example", "2026-12").await;
    assert_eq!(cell(&december, DEMO, "net-adds-1-yr"), 1);
    assert_eq!(cell(&december, DEMO, "attempted-adds"), 0);
    golden("month-boundary-transactions-202611.csv", &november);
    golden("month-boundary-transactions-202612.csv", &december);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_deleted_within_its_grace_nets_out() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.at("2026-11-02T10:00:00Z").await;
    s.create("renewed.example", "1").await;
    s.at("2026-11-10T10:00:00Z").await;
    let renew = "<domain:name>renewed.example</domain:name><domain:curExpDate>2027-11-02</domain:curExpDate><domain:period unit=\"y\">1</domain:period>";
    assert_eq!(code(&s.a.domain("renew", renew, "").await), 1000);
    s.at("2026-11-12T10:00:00Z").await;
    assert_eq!(s.delete("renewed.example").await, 1001, "into redemption");
    s.at("2026-12-01T00:00:00Z").await;
    let (activity, transactions) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&transactions, DEMO, "net-adds-1-yr"), 1, "its add grace ended before the delete");
    assert_eq!(cell(&transactions, DEMO, "net-renews-1-yr"), 0, "deleted within renew grace");
    assert_eq!(cell(&transactions, DEMO, "deleted-domains-nograce"), 1);
    assert_eq!(cell(&transactions, DEMO, "total-domains"), 6, "in redemption, not purged");
    assert_eq!(activity_cell(&activity, "srs-dom-renew"), "1");
    golden("renew-grace-transactions.csv", &transactions);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_renewal_deleted_within_its_grace_nets_out_in_the_month_its_grace_ends() {
    let mut s = Scenario::start("2025-10-20T12:00:00Z").await;
    s.at("2025-11-02T10:00:00Z").await;
    s.create("auto.example", "1").await;
    // The demo's domains renew on 2026-10-20, this one on 2026-11-02: 45 days of grace each.
    s.at("2026-10-21T00:00:00Z").await;
    s.at("2026-11-02T10:00:01Z").await;
    s.at("2026-11-20T10:00:00Z").await;
    assert_eq!(s.delete("auto.example").await, 1001);
    s.at("2026-12-01T00:00:00Z").await;
    let (_, november) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&november, DEMO, "net-renews-1-yr"), 0);
    assert_eq!(cell(&november, DEMO, "deleted-domains-nograce"), 1);
    s.at("2027-01-01T00:00:00Z").await;
    let (_, december) = s.reports("example", "2026-12").await;
    assert_eq!(cell(&december, DEMO, "net-renews-1-yr"), 5, "the demo's five; the deleted one's renewal nets out");
    golden("auto-renew-transactions-202611.csv", &november);
    golden("auto-renew-transactions-202612.csv", &december);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_count_for_both_registrars_when_approved_rejected_or_approved_by_the_clock() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.at("2026-11-02T10:00:00Z").await;
    for name in ["approved.example", "rejected.example", "waited.example"] {
        s.create(name, "1").await;
    }
    s.at("2026-11-10T10:00:00Z").await;
    let request =
        |name: &str| format!("<domain:name>{name}</domain:name><domain:authInfo><domain:pw>{STRONG}</domain:pw></domain:authInfo>");
    for name in ["approved.example", "rejected.example", "waited.example"] {
        assert_eq!(code(&s.b.domain("transfer request", &request(name), "").await), 1001);
    }
    assert_eq!(code(&s.a.domain("transfer approve", "<domain:name>approved.example</domain:name>", "").await), 1000);
    assert_eq!(code(&s.a.domain("transfer reject", "<domain:name>rejected.example</domain:name>", "").await), 1000);
    // The losing registrar does not act: the registry approves after five days.
    s.at("2026-11-15T10:00:01Z").await;
    let info = s.b.domain("info", "<domain:name>waited.example</domain:name>", "").await;
    assert!(info.contains("<domain:clID>other-registrar</domain:clID>"), "{info}");
    s.at("2026-12-01T00:00:00Z").await;
    let (activity, transactions) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&transactions, OTHER, "transfer-gaining-successful"), 2);
    assert_eq!(cell(&transactions, OTHER, "transfer-gaining-nacked"), 1);
    assert_eq!(cell(&transactions, DEMO, "transfer-losing-successful"), 2);
    assert_eq!(cell(&transactions, DEMO, "transfer-losing-nacked"), 1);
    assert_eq!(cell(&transactions, DEMO, "transfer-gaining-successful"), 0);
    assert_eq!((cell(&transactions, DEMO, "total-domains"), cell(&transactions, OTHER, "total-domains")), (6, 2));
    assert_eq!(activity_cell(&activity, "srs-dom-transfer-request"), "3");
    assert_eq!(activity_cell(&activity, "srs-dom-transfer-approve"), "1");
    assert_eq!(activity_cell(&activity, "srs-dom-transfer-reject"), "1");
    golden("transfers-transactions.csv", &transactions);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_count_with_their_report_and_without_it_once_pending_restore_ends() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.at("2026-11-02T10:00:00Z").await;
    s.create("reported.example", "1").await;
    s.create("unreported.example", "1").await;
    s.at("2026-11-10T10:00:00Z").await;
    assert_eq!(s.delete("reported.example").await, 1001);
    assert_eq!(s.delete("unreported.example").await, 1001);
    s.at("2026-11-11T10:00:00Z").await;
    let restore = |op: &str, report: &str| {
        format!(r#"<rgp:update xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0"><rgp:restore op="{op}">{report}</rgp:restore></rgp:update>"#)
    };
    let report = "<rgp:report><rgp:preData>Pre-delete data</rgp:preData><rgp:postData>Post-restore data</rgp:postData><rgp:delTime>2026-11-10T10:00:00.0Z</rgp:delTime><rgp:resTime>2026-11-11T10:00:00.0Z</rgp:resTime><rgp:resReason>Registrant error.</rgp:resReason><rgp:statement>This registrar has not restored the Registered Name in order to assume the rights to use or sell the Registered Name for itself or for any third party.</rgp:statement><rgp:statement>The information in this report is true to best of this registrar's knowledge.</rgp:statement></rgp:report>";
    for name in ["reported.example", "unreported.example"] {
        let update = format!("<domain:name>{name}</domain:name><domain:chg/>");
        assert_eq!(code(&s.a.domain("update", &update, &restore("request", "")).await), 1000);
    }
    let update = "<domain:name>reported.example</domain:name><domain:chg/>";
    assert_eq!(code(&s.a.domain("update", update, &restore("report", report)).await), 1000);
    // Pending restore lasts seven days; unreported, the domain goes back to redemption.
    s.at("2026-11-18T10:00:01Z").await;
    let info = s.a.domain("info", "<domain:name>unreported.example</domain:name>", "").await;
    assert!(info.contains(r#"<rgp:rgpStatus s="redemptionPeriod"/>"#), "{info}");
    s.at("2026-12-01T00:00:00Z").await;
    let (activity, transactions) = s.reports("example", "2026-11").await;
    assert_eq!(cell(&transactions, DEMO, "restored-domains"), 1);
    assert_eq!(cell(&transactions, DEMO, "restored-noreport"), 1);
    assert_eq!(cell(&transactions, DEMO, "deleted-domains-nograce"), 2);
    assert_eq!(activity_cell(&activity, "srs-dom-rgp-restore-request"), "2");
    assert_eq!(activity_cell(&activity, "srs-dom-rgp-restore-report"), "1");
    assert_eq!(activity_cell(&activity, "srs-dom-update"), "0", "restores are their own commands");
    golden("restores-activity.csv", &activity);
    golden("restores-transactions.csv", &transactions);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tlds_report_apart_and_dns_counts_add_our_servers_and_a_secondary() {
    let mut s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.d.ok("POST", "/v1/tlds", Some(json!({"name": "second", "nameservers": ["a.nic.example", "b.nic.example"]}))).await;
    s.at("2026-11-02T10:00:00Z").await;
    s.create("one.example", "1").await;
    s.create("two.second", "1").await;
    s.create("three.second", "1").await;
    // Our DNS servers: two UDP queries and one TCP query under example, one UDP under second.
    s.d.query("hello.example.", hickory_net::proto::rr::RecordType::NS).await;
    s.d.query("nothere.example.", hickory_net::proto::rr::RecordType::A).await;
    s.d.query_tcp("world.example.", hickory_net::proto::rr::RecordType::NS).await;
    s.d.query("two.second.", hickory_net::proto::rr::RecordType::NS).await;
    // A query for no zone of ours is no TLD's.
    s.d.query("elsewhere.test.", hickory_net::proto::rr::RecordType::A).await;
    // The operator enters the month's counts of an external secondary.
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = crate::cli::config_reaching(&s.d, conf_dir.path());
    let (ok, out, err) = tool(
        env!("CARGO_BIN_EXE_domain-os"),
        &[
            "--config",
            conf.to_str().unwrap(),
            "report",
            "dns",
            "example",
            "2026-11",
            "ns.secondary.example.net",
            "--udp-received",
            "1000",
            "--udp-responded",
            "990",
            "--tcp-received",
            "10",
            "--tcp-responded",
            "10",
        ],
    );
    assert!(ok, "{out}{err}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.at("2026-12-01T00:00:00Z").await;
    let (activity, transactions) = s.reports("example", "2026-11").await;
    assert_eq!(activity_cell(&activity, "dns-udp-queries-received"), "1002");
    assert_eq!(activity_cell(&activity, "dns-udp-queries-responded"), "992");
    assert_eq!(activity_cell(&activity, "dns-tcp-queries-received"), "11");
    assert_eq!(activity_cell(&activity, "dns-tcp-queries-responded"), "11");
    assert_eq!(activity_cell(&activity, "srs-dom-create"), "1");
    assert_eq!(cell(&transactions, DEMO, "total-domains"), 6);
    let (second_activity, second) = s.reports("second", "2026-11").await;
    assert_eq!(activity_cell(&second_activity, "dns-udp-queries-received"), "1");
    assert_eq!(activity_cell(&second_activity, "srs-dom-create"), "2");
    assert_eq!(cell(&second, DEMO, "total-domains"), 2);
    assert_eq!(cell(&second, DEMO, "attempted-adds"), 2);
    golden("two-tlds-activity-example.csv", &activity);
    golden("two-tlds-activity-second.csv", &second_activity);
    golden("two-tlds-transactions-second.csv", &second);
    // A month not begun has no report; a TLD that does not exist neither.
    let (code, _) = s.d.api("GET", "/v1/tlds/example/reports/2027-02", None).await;
    assert_eq!(code, 422);
    let (code, _) = s.d.api("GET", "/v1/tlds/nothere/reports/2026-11", None).await;
    assert_eq!(code, 404);
    s.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_the_files_and_checks_them() {
    let s = Scenario::start("2026-10-20T12:00:00Z").await;
    s.at("2026-11-02T10:00:00Z").await;
    let out = tempfile::tempdir().unwrap();
    let config = crate::cli::config_reaching(&s.d, out.path());
    let run = |args: &[&str]| tool(env!("CARGO_BIN_EXE_domain-os"), &[&["--config", config.to_str().unwrap()], args].concat());
    for kind in ["activity", "transactions"] {
        let (ok, stdout, err) = run(&["report", kind, "example", "2026-10", "--out", out.path().to_str().unwrap()]);
        assert!(ok, "{stdout}{err}");
        let file = out.path().join(format!("example-{kind}-202610.csv"));
        assert_eq!(stdout.trim(), file.to_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF line ends");
        let (ok, stdout, err) = run(&["report", kind, "--check", file.to_str().unwrap()]);
        assert!(ok && stdout.contains("a valid"), "{stdout}{err}");
        // A broken file fails its check and says why.
        std::fs::write(&file, text.replacen("\r\n", "\n", 1)).unwrap();
        let (ok, _, err) = run(&["report", kind, "--check", file.to_str().unwrap()]);
        assert!(!ok && err.contains("CRLF"), "{err}");
    }
    let (ok, _, err) = run(&["report", "activity", "example", "2026-13"]);
    assert!(!ok && err.contains("not a month"), "{err}");
    // With the daemon stopped, the files come from the store itself.
    let (dir, config) = s.d.stop().await;
    let path = crate::import::write_config(dir.path(), &config);
    let (ok, stdout, err) = tool(
        env!("CARGO_BIN_EXE_domain-os"),
        &["--config", path.to_str().unwrap(), "report", "transactions", "example", "2026-10", "--out", out.path().to_str().unwrap()],
    );
    assert!(ok, "{stdout}{err}");
    let text = std::fs::read_to_string(out.path().join("example-transactions-202610.csv")).unwrap();
    assert_eq!(cell(&text, DEMO, "net-adds-1-yr"), 5, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_month_is_sent_to_icann_once_accepted_and_again_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (icann_port, icann_ca, received) = crate::escrow::icann_stand_in(&dir.path().join("icann")).await;
    let password = dir.path().join("icann-password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let clock = ManualClock::new(at("2026-10-20T12:00:00Z"));
    let icann = domain_os::escrow::deliver::IcannConfig {
        url: format!("https://localhost:{icann_port}"),
        password_file: password,
        ca_file: icann_ca,
    };
    let configure = |c: &mut domain_os::config::Config| {
        c.registry.lifecycle_tick_ms = 20;
        c.reports.schedule = true;
        c.reports.check_interval_s = 1;
        c.reports.zfa_passwords = Some("CZDS".into());
        c.reports.icann = Some(icann.clone());
    };
    let d = TestDaemon::demo_on(&clock, |c, _| configure(c)).await;
    let passes = async |d: &TestDaemon, n: u64| {
        let start = d.ok("GET", "/v1/tlds/example/reports/2026-10", None).await["schedule_passes"].as_u64().unwrap();
        assert!(
            eventually(Duration::from_secs(30), async || {
                d.ok("GET", "/v1/tlds/example/reports/2026-10", None).await["schedule_passes"].as_u64().unwrap() >= start + n
            })
            .await
        );
    };
    // October is over: its reports are made and sent; ICANN's first answer
    // is 503, so the first report is tried again a second later.
    clock.set(at("2026-11-01T00:00:00Z"));
    passes(&d, 3).await;
    let state = d.ok("GET", "/v1/tlds/example/reports/2026-10", None).await;
    assert!(!state["activity"]["accepted"].is_null() && !state["transactions"]["accepted"].is_null(), "{state}");
    let folder = d.config.data_dir.join("reports");
    for kind in ["activity", "transactions"] {
        let file = std::fs::read_to_string(folder.join(format!("example-{kind}-202610.csv"))).unwrap();
        assert_eq!(file, state[kind]["csv"].as_str().unwrap());
    }
    {
        let received = received.lock().unwrap();
        let paths: Vec<(&str, bool)> = received.iter().map(|r| (r.path.as_str(), r.accepted)).collect();
        assert_eq!(
            paths,
            [
                ("/report/registry-functions-activity/example/2026-10", false),
                ("/report/registrar-transactions/example/2026-10", true),
                ("/report/registry-functions-activity/example/2026-10", true),
            ],
            "{paths:?}"
        );
        use base64::Engine;
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("example_ry:s3cret"));
        for r in received.iter() {
            assert_eq!((r.authorization.as_str(), r.content_type.as_str()), (basic.as_str(), "text/csv"));
        }
        let activity = &received.last().unwrap().body;
        assert_eq!(activity, state["activity"]["csv"].as_str().unwrap());
        assert_eq!(activity_cell(activity, "zfa-passwords"), "CZDS");
    }
    // A restart does not send an accepted month again.
    let (dir2, config) = d.stop().await;
    let d = TestDaemon::start_with_clock(dir2, config, true, std::sync::Arc::new(clock.clone())).await;
    passes(&d, 2).await;
    assert_eq!(received.lock().unwrap().len(), 3);
    // Asked to, it sends again; ICANN refuses a duplicate, and says so.
    let (code, body) = d.api("POST", "/v1/tlds/example/reports/2026-10/send", Some(json!({"again": true}))).await;
    assert_eq!(code, 502, "{body}");
    assert!(body.to_string().contains("2002") && body.to_string().contains("previously submitted"), "{body}");
    let (code, body) = d.api("POST", "/v1/tlds/example/reports/2026-10/send", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["activity"], "accepted before");
    d.stop().await;
}
