//! The binary as operators use it: `serve` until SIGTERM, the admin
//! commands against a running daemon, `zone export` with and without one,
//! `check-config`, and state that survives restarts.

use std::process::{Command, Stdio};
use std::time::Duration;

use hickory_net::proto::rr::RecordType;
use serde_json::{Value, json};

use crate::common::*;
use crate::import::write_config;

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

/// Runs the domain-os CLI with the configuration `conf`.
pub fn cli(conf: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["--config", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    tool(BIN, &all)
}

/// A configuration file in `dir` whose operator API is the running `d`'s.
pub fn config_reaching(d: &TestDaemon, dir: &std::path::Path) -> std::path::PathBuf {
    let mut config = d.config.clone();
    config.admin.listen = d.base.trim_start_matches("http://").parse().unwrap();
    write_config(dir, &config)
}

fn serve(conf: &std::path::Path, demo: bool) -> Served {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config").arg(conf).arg("serve").stdout(Stdio::piped()).stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    Served(cmd.spawn().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_sigterm_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    let dns_port = free_port();
    config.dns.listen = vec![([127, 0, 0, 1], dns_port).into()];
    config.admin.listen = ([127, 0, 0, 1], free_port()).into();
    let conf = write_config(dir.path(), &config);
    let dns = config.dns.listen[0];

    let mut served = serve(&conf, true);
    assert!(eventually(Duration::from_secs(60), async || { std::net::TcpStream::connect(dns).is_ok() }).await, "serve came up");
    let (ok, out, err) = cli(&conf, &["tld", "list"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()[0]["name"], "example");
    let (ok, out, err) = cli(
        &conf,
        &[
            "domain",
            "create",
            "cli.example",
            "--registrar",
            "demo-registrar",
            "--ns",
            "ns1.example.net",
            "--ds",
            "7 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(udp_query(dns, "cli.example.", RecordType::DS).await.answers.len(), 1);
    let (ok, _, err) = cli(&conf, &["domain", "create", "bad_name.example", "--registrar", "demo-registrar"]);
    assert!(!ok && err.contains("bad_name"), "{err}");
    let (ok, _, err) = cli(&conf, &["domain", "show", "nobody.example"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
    // A registrar made ready for EPP: created, funded, given a pinned client certificate.
    let (ok, _, err) =
        cli(&conf, &["registrar", "create", "new-registrar", "--name", "New", "--email", "ops@new.test", "--password", "new-password-1"]);
    assert!(ok, "{err}");
    // Funds go to the account in the currency its TLDs price in, unless another is named.
    let (ok, out, err) = cli(&conf, &["registrar", "fund", "new-registrar", "250.00"]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["accounts"],
        json!([{"currency": "USD", "balance": "250.00", "credit_limit": "0.00"}])
    );
    let (ok, out, err) = cli(&conf, &["registrar", "fund", "new-registrar", "10.00", "--currency", "EUR"]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["accounts"][0],
        json!({"currency": "EUR", "balance": "10.00", "credit_limit": "0.00"})
    );
    let (ok, _, err) = cli(&conf, &["registrar", "fund", "new-registrar", "10.00", "--currency", "euro"]);
    assert!(!ok && err.contains("ISO 4217"), "{err}");
    let (ok, out, err) = cli(&conf, &["registrar", "certificate", "new-registrar"]);
    assert!(ok, "{err}");
    let pinned = out.lines().find_map(|l| l.strip_prefix("pinned")).unwrap().trim().to_string();
    assert!(config.tls_dir().join("new-registrar.pem").exists() && config.tls_dir().join("new-registrar.key").exists());
    let (_, out, _) = cli(&conf, &["registrar", "show", "new-registrar"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["cert_fingerprints"], json!([pinned]));
    let (ok, _, err) = cli(&conf, &["registrar", "certificate", "nobody"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
    // Export through the running daemon.
    let (ok, out, err) = cli(&conf, &["zone", "export", "example"]);
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(config.zones_dir.join("example.zone")).unwrap().contains("cli.example."), "{out}");

    let status = sigterm(&mut served);
    assert!(status.success(), "exit status {status:?}");

    // Offline export reads the store itself.
    std::fs::remove_file(config.zones_dir.join("example.zone")).unwrap();
    let (ok, _, err) = cli(&conf, &["zone", "export", "example", "--format", "czds"]);
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(config.zones_dir.join("example.czds.txt")).unwrap().contains("cli.example."));

    // Seeding again keeps what is there.
    let mut served = serve(&conf, true);
    assert!(eventually(Duration::from_secs(60), async || { std::net::TcpStream::connect(dns).is_ok() }).await);
    assert_eq!(udp_query(dns, "cli.example.", RecordType::DS).await.answers.len(), 1, "state survived the restart");
    assert!(sigterm(&mut served).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_a_restart() {
    let d = TestDaemon::demo().await;
    d.ok(
        "POST",
        "/v1/domains",
        Some(json!({"name": "durable.example", "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]})),
    )
    .await;
    let serial = d.serial("example").await;
    let (dir, config) = d.stop().await;
    let d = TestDaemon::start_in(dir, config, true).await;
    assert_eq!(d.serial("example").await, serial);
    assert_eq!(d.query("durable.example.", RecordType::NS).await.authorities.len(), 1);
    d.stop().await;
}

#[test]
fn check_config_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[dns]\nlisten = [\"127.0.0.1:5353\"]\n").unwrap();
    let (ok, out, _) = tool(BIN, &["--config", good.to_str().unwrap(), "check-config"]);
    assert!(ok && out.contains("127.0.0.1:5353"), "{out}");

    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[dns]\nlistne = []\n").unwrap();
    let (ok, _, err) = tool(BIN, &["--config", unknown.to_str().unwrap(), "check-config"]);
    assert!(!ok && err.contains("unknown field"), "{err}");

    let missing_key = dir.path().join("keys.toml");
    std::fs::write(&missing_key, "[dns]\ntsig_key_files = [\"nope.key\"]\n").unwrap();
    let (ok, _, err) = tool(BIN, &["--config", missing_key.to_str().unwrap(), "check-config"]);
    assert!(!ok && err.contains("nope.key"), "{err}");

    let (ok, out, _) = tool(BIN, &["--help"]);
    assert!(ok && out.contains("serve") && out.contains("zone"));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    drop(domain_os::daemon::open_store(&config, domain_os::store::Upgrade::Refused).unwrap());
    // As a newer build would leave it: the schema version is a big-endian u32 in the meta table.
    let db = redb::Database::create(config.db_path()).unwrap();
    let txn = db.begin_write().unwrap();
    let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let newer = (domain_os::store::SCHEMA_VERSION + 1).to_be_bytes();
    txn.open_table(meta).unwrap().insert("schema_version", newer.as_slice()).unwrap();
    txn.commit().unwrap();
    drop(db);
    let conf = write_config(dir.path(), &config);
    let (ok, _, err) = cli(&conf, &["zone", "export", "example"]);
    assert!(!ok && err.contains("newer domain-os"), "{err}");
}

#[test]
fn reading_commands_never_change_the_store_and_only_an_upgrade_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v1.redb");
    std::fs::copy(fixture, config.db_path()).unwrap();
    let conf = write_config(dir.path(), &config);
    let zone = dir.path().join("example.zone");
    std::fs::write(&zone, "$ORIGIN example.\nnew IN NS ns1.example.net.\n").unwrap();

    // A reading command refuses the old schema without touching a byte; a writing one refuses to migrate it.
    let (ok, _, err) = cli(&conf, &["zone", "export", "example"]);
    assert!(!ok && err.contains("schema 1") && err.contains("store upgrade"), "{err}");
    assert!(std::fs::read(config.db_path()).unwrap() == std::fs::read(fixture).unwrap(), "the store is untouched");
    let args = ["import", "zone", zone.to_str().unwrap(), "--tld", "example", "--registrar", "demo-registrar"];
    let (ok, _, err) = cli(&conf, &args);
    assert!(!ok && err.contains("store upgrade"), "{err}");

    let (ok, out, err) = cli(&conf, &["store", "upgrade"]);
    assert!(ok, "{err}");
    assert!(out.contains("schema 1 to 2: 1 TLDs") && out.contains("schema 2 to 3"), "says what changed: {out}");
    let (ok, out, _) = cli(&conf, &["store", "upgrade"]);
    assert!(ok && out.contains("nothing to do"), "{out}");
    let upgraded = std::fs::read(config.db_path()).unwrap();

    let (ok, out, err) = cli(&conf, &["zone", "export", "example"]);
    assert!(ok, "{out}{err}");
    let path = config.zones_dir.join("example.zone");
    let (ok, out, err) = tool("named-checkzone", &["-i", "local", "example", path.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(std::fs::read(config.db_path()).unwrap() == upgraded, "an export reads only");
}

/// A real full disk: the data folder is a 16 MiB tmpfs (mounted in a mount
/// namespace of its own, so nothing outside sees it) that is filled while the
/// daemon runs. The script stands in for systemd: it starts `serve` again,
/// once the space is freed, after `serve` exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tmpfs_is_storage_unavailable_and_the_restarted_daemon_has_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (data, control) = (dir.path().join("data"), dir.path().join("control"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&control).unwrap();
    let mut config = test_config(dir.path());
    config.admin.listen = ([127, 0, 0, 1], free_port()).into();
    config.admin.token_file = dir.path().join("admin.token");
    (config.epp.listen, config.rdap.listen, config.whois.listen) = (vec![], vec![], vec![]);
    let conf = write_config(dir.path(), &config);
    let notify = crate::ops::NotifySocket::bind(dir.path());
    let supervisor = r#"
        set -u
        mount -t tmpfs -o size=16m tmpfs "$DATA" || exit 90
        "$BIN" --config "$CONF" serve --demo >/dev/null 2>&1 &
        serving=$!
        until [ -e "$CONTROL/fill" ]; do sleep 0.05; done
        dd if=/dev/zero of="$DATA/filler" bs=64k >/dev/null 2>&1
        touch "$CONTROL/filled"
        wait "$serving"
        echo $? > "$CONTROL/exit"
        until [ -e "$CONTROL/free" ]; do sleep 0.05; done
        rm "$DATA/filler"
        exec "$BIN" --config "$CONF" serve --demo >/dev/null 2>&1
    "#;
    let child = Command::new("unshare")
        .args(["-m", "sh", "-c", supervisor])
        .env("BIN", BIN)
        .env("CONF", &conf)
        .env("DATA", &data)
        .env("CONTROL", &control)
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "200000")
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare (util-linux) must be installed");
    let _served = Served(child);
    let admin = format!("http://{}", config.admin.listen);
    let http = reqwest::Client::new();
    let healthy = async || http.get(format!("{admin}/health/live")).send().await.is_ok_and(|r| r.status() == 200);
    assert!(eventually(Duration::from_secs(60), healthy).await, "serve came up on its tmpfs (this test mounts one: it needs root)");
    let token = std::fs::read_to_string(&config.admin.token_file).unwrap();
    let create = async |name: &str| {
        let body = json!({"name": name, "registrar": "demo-registrar", "nameservers": ["ns1.example.net"]});
        let response = http.post(format!("{admin}/v1/domains")).bearer_auth(token.trim()).json(&body).send().await;
        response.map(|r| r.status().as_u16()).unwrap_or(0)
    };
    assert_eq!(create("before-full.example").await, 201);

    std::fs::write(control.join("fill"), "").unwrap();
    assert!(eventually(Duration::from_secs(60), async || control.join("filled").exists()).await);
    let mut acknowledged = vec!["before-full.example".to_string()];
    let refusal = loop {
        let name = format!("full-{}.example", acknowledged.len());
        match create(&name).await {
            201 => acknowledged.push(name),
            other => break other,
        }
        assert!(acknowledged.len() < 100_000, "the disk never filled");
    };
    assert_eq!(refusal, 503, "a full disk is storage unavailable, not damage");
    assert!(eventually(Duration::from_secs(60), async || control.join("exit").exists()).await, "serve exits for its supervisor");
    let exit = std::fs::read_to_string(control.join("exit")).unwrap();
    assert_ne!(exit.trim(), "0", "a non-zero exit, so the supervisor restarts it");
    let first_run = notify.received();
    let stopping = first_run.iter().position(|m| m.starts_with("STOPPING=1")).expect("STOPPING=1 before the exit");
    assert!(first_run[stopping].contains("STATUS=stopping: "), "the reason goes to the service manager: {}", first_run[stopping]);
    assert!(first_run[..stopping].iter().any(|m| m == "WATCHDOG=1"), "the watchdog was fed while the writer lived");
    assert!(!first_run[stopping..].iter().any(|m| m == "WATCHDOG=1"), "and not once the writer failed: {first_run:?}");

    std::fs::write(control.join("free"), "").unwrap();
    assert!(eventually(Duration::from_secs(60), healthy).await, "restarted once the space is back");
    for name in &acknowledged {
        let shown = http.get(format!("{admin}/v1/domains/{name}")).bearer_auth(token.trim()).send().await.unwrap();
        assert_eq!(shown.status(), 200, "{name} was acknowledged before the disk filled and is kept");
    }
    assert_eq!(create("after-free.example").await, 201, "writes go on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_prints_health_serials_object_counts_and_the_queue() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = config_reaching(&d, dir.path());

    let (ok, out, err) = cli(&conf, &["status"]);
    assert!(ok, "{err}");
    let serial = d.serial("example").await;
    for line in [": ready", "writer: 0 queued, snapshot ", &format!("zone example: serial {serial}")] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    let (ok, out, err) = cli(&conf, &["status", "--json"]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    let domains = d.ok("GET", "/v1/tlds/example/domains?limit=1000", None).await;
    assert_eq!(status["objects"]["domains"].as_u64().unwrap() as usize, domains.as_array().unwrap().len());
    assert_eq!(status["objects"]["registrars"], 2);
    assert!(status["store_bytes"].as_u64().unwrap() > 0);
    let hosts = d.ok("GET", "/v1/hosts?limit=1000", None).await;
    assert_eq!(status["objects"]["hosts"].as_u64().unwrap() as usize, hosts.as_array().unwrap().len());

    let (_kept, _) = d.stop().await;
    let (ok, _, err) = cli(&conf, &["status"]);
    assert!(!ok && err.contains("cannot reach the operator API"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnssec_commands_show_keys_start_a_rollover_and_refuse_an_early_ds() {
    let d = TestDaemon::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = config_reaching(&d, dir.path());

    let (ok, out, err) = cli(&conf, &["dnssec", "status", "example"]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["next_key_step"]["step"], "publish a new ZSK", "{status:#}");
    let (ok, out, err) = cli(&conf, &["dnssec", "roll", "example", "ksk"]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    let keys = status["keys"].as_array().unwrap();
    assert_eq!(keys.iter().filter(|k| k["role"] == "ksk").count(), 2, "{status:#}");
    let new = keys.iter().filter(|k| k["role"] == "ksk").max_by_key(|k| k["created"].as_str().unwrap().to_string()).unwrap();
    let tag = new["key_tag"].to_string();
    let (ok, _, err) = cli(&conf, &["dnssec", "ds-seen", "example", &tag]);
    assert!(!ok && err.contains("may go to the parent from"), "a DS before the key reached every cache: {err}");
    let (ok, _, err) = cli(&conf, &["dnssec", "roll", "example", "zsk"]);
    assert!(!ok && err.contains("one rollover at a time"), "{err}");
    let (ok, _, err) = cli(&conf, &["dnssec", "roll", "example", "csk"]);
    assert!(!ok && err.contains("csk"), "{err}");
    d.stop().await;
}
