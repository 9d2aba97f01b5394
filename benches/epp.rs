//! EPP load generator: N concurrent TLS sessions from several registrars
//! against a domain-os server (started here, its own process, loopback
//! only), one timed phase per command — domain:check, create (durable),
//! info, update, renew — printing per-command throughput, p50/p99 latency,
//! server CPU per command, and the EPP→DNS freshness: time from a create's
//! response to the first DNS answer that contains the new delegation,
//! sampled while the create phase runs. Then domain:check, with the fee
//! extension (so prices are looked up), twice more on the same store:
//! without and then with a 100,000-name premium list (many of the free names
//! checked are on it), 10,000 reserved names and an IDN table loaded. The
//! TLD holds `DOMAINS` delegations (imported from the DNS benchmark's zone
//! before the server starts) besides what the create phase adds.
//!
//!     cargo bench --bench epp
//!     SESSIONS=32 REGISTRARS=4 SECONDS=10 DOMAINS=0 cargo bench --bench epp   # defaults: 128, 4, 10, 1,000,000
//!
//! Not a test: numbers depend on the machine. The generator shares the
//! machine's cores with the server, as a registrar's client would not.

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::epp::*;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

/// Creates a domain every few milliseconds and times how long after the
/// response DNS publishes it.
async fn sample_freshness(mut s: Session, dns: u16, deadline: Instant) -> (Session, Vec<f64>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut visible_us = Vec::new();
    while Instant::now() < deadline {
        let (body, index) = s.body(Op::Create);
        let (code, response) = s.command(&body).await;
        assert_eq!(code, 1000, "{response}");
        let acked = Instant::now();
        let name = s.domains[index].0.clone();
        let waited = tokio::task::block_in_place(|| wait_until_published(&socket, dns, &name, acked));
        visible_us.push(waited.as_secs_f64() * 1e6);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (s, visible_us)
}

/// Every session of the benchmark comes from 127.0.0.1, so the per-address and
/// per-network connection limits (sized for registrars, not for a load
/// generator) are raised to let them all in.
fn write_config(dir: &Path, dns: u16, admin: u16, epp: u16, sessions: usize, sessions_per_registrar: usize) -> PathBuf {
    let path = dir.join("domain-os.toml");
    let connections = sessions + 8;
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nzones_dir = \"zones\"\nlog = \"warn\"\n[dns]\nlisten = [\"127.0.0.1:{dns}\"]\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[epp]\nlisten = [\"127.0.0.1:{epp}\"]\nsessions_per_registrar_max = {sessions_per_registrar}\nconnections_per_address_max = {connections}\nconnects_per_network_burst = {connections}\n[rdap]\nlisten = []\n[whois]\nlisten = []\n"
        ),
    )
    .unwrap();
    path
}

struct Row {
    op: Op,
    /// Checks asked for the fee.
    fee: bool,
    /// Run with the premium and reserved lists and the IDN table loaded.
    with_lists: bool,
    sessions: usize,
    completed: usize,
    errors: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_us: f64,
}

fn cli(conf: &Path, args: &[&str]) {
    let out = Command::new(BIN).arg("--config").arg(conf).args(args).output().unwrap();
    assert!(out.status.success(), "domain-os {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Premium labels among the free names the check phase asks about (session
/// `s`'s odd-numbered ones), reserved labels apart, and an IDN table (an LGR
/// of LDH and Latin-1 letters, with variants) every name checked is held to.
fn write_lists(dir: &Path, sessions: usize) -> (PathBuf, PathBuf, PathBuf) {
    const PREMIUM: usize = 100_000;
    const RESERVED: usize = 10_000;
    let premium = dir.join("premium.csv");
    let mut text = String::with_capacity(PREMIUM * 40);
    for i in 0..PREMIUM {
        writeln!(text, "free-{}-{},premium,100.00,100.00", i % sessions, 2 * (i / sessions) + 1).unwrap();
    }
    std::fs::write(&premium, text).unwrap();
    let reserved = dir.join("reserved.txt");
    std::fs::write(&reserved, (0..RESERVED).map(|i| format!("reserved-{i}\n")).collect::<String>()).unwrap();
    let idn = dir.join("bench-lgr.xml");
    std::fs::write(
        &idn,
        r#"<lgr xmlns="urn:ietf:params:xml:ns:lgr-1.0"><data><char cp="002D"/><range first-cp="0030" last-cp="0039"/><range first-cp="0061" last-cp="007A"/><range first-cp="00E0" last-cp="00F6"/><char cp="00E4"><var cp="00E6"/></char><char cp="00F6"><var cp="00F8"/></char><char cp="00F8"/></data></lgr>"#,
    )
    .unwrap();
    (premium, reserved, idn)
}

fn main() {
    let sessions = env_usize("SESSIONS", 128);
    let registrars = env_usize("REGISTRARS", 4).max(1);
    let seconds = env_usize("SECONDS", 10) as u64;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-epp");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (dns, admin, epp) = (free_port(), free_port(), free_port());
    let conf = write_config(&dir, dns, admin, epp, sessions, sessions / registrars + 2);
    let preload = env_usize("DOMAINS", 1_000_000);
    println!(
        "domain-os EPP benchmark: {sessions} TLS sessions from {registrars} registrars, {seconds} s per command, a TLD of {preload} delegations, 2-core machine, loopback only"
    );
    if preload > 0 {
        let zone = dir.join("preload.zone");
        generate_zone(&zone, preload, TLD);
        let import_s = support::servers::import_bench_tld(&conf, dns, TLD, &zone);
        println!("{preload} delegations imported in {import_s:.0} s");
    }

    let child = Command::new(BIN).arg("--config").arg(&conf).arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    let server = Server { name: "domain-os".into(), child, port: epp, started: Instant::now() };
    while std::net::TcpStream::connect(("127.0.0.1", admin)).is_err() {
        assert!(server.started.elapsed() < Duration::from_secs(60), "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = |args: &[&str]| cli(&conf, args);
    if preload == 0 {
        run(&["tld", "create", TLD, "--ns", "ns1.nic.example", "--ns", "ns2.nic.example"]);
    }
    let names: Vec<String> = (0..registrars).map(|r| format!("bench-r{r}")).collect();
    for name in &names {
        run(&[
            "registrar",
            "create",
            name,
            "--name",
            name,
            "--email",
            "ops@bench.test",
            "--password",
            PASSWORD,
            "--set",
            r#"allowed_addresses=["127.0.0.0/8"]"#,
        ]);
        run(&["registrar", "fund", name, "100000000.00"]);
        run(&["registrar", "certificate", name]);
    }
    let tls_dir = dir.join("data/tls");
    let configs: Vec<_> = names.iter().map(|n| tls_config(&tls_dir, n)).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (rows, mut freshness) = runtime.block_on(async {
        let mut open = Vec::new();
        for i in 0..sessions {
            let r = i % registrars;
            open.push(Session::open(("127.0.0.1", epp), configs[r].clone(), i, &names[r]).await);
        }
        // Each registrar's external name server, for the delegations.
        for s in open.iter_mut().take(registrars) {
            let body = format!(r#"<create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns1.{}.net</host:name></host:create></create>"#, s.registrar);
            assert_eq!(s.command(&body).await.0, 1000);
        }
        let sampler = Session::open(("127.0.0.1", epp), configs[0].clone(), sessions, &names[0]).await;
        let mut sampler = Some(sampler);
        let mut freshness = Vec::new();
        let mut rows = Vec::new();
        // The last two checks run on the same store, without and then with the lists.
        let phases = [
            (Op::Create, false, false),
            (Op::Check, false, false),
            (Op::Info, false, false),
            (Op::Update, false, false),
            (Op::Renew, false, false),
            (Op::Check, true, false),
            (Op::Check, true, true),
        ];
        for (op, fee, with_lists) in phases {
            if with_lists {
                let (premium, reserved, idn) = write_lists(&dir, sessions);
                let conf = conf.clone();
                tokio::task::spawn_blocking(move || {
                    cli(&conf, &["premium", "import", TLD, premium.to_str().unwrap()]);
                    cli(&conf, &["reserved", "import", TLD, reserved.to_str().unwrap(), "--reason", "benchmark"]);
                    cli(&conf, &["tld", "idn", "set", TLD, idn.to_str().unwrap(), "--id", "bench-1.0"]);
                })
                .await
                .unwrap();
            }
            // Every check phase asks about the same names.
            if op == Op::Check {
                for s in open.iter_mut() {
                    s.cursor = 0;
                    s.fee = fee;
                }
            }
            let cpu0 = cpu_seconds(server.child.id());
            let started = Instant::now();
            let deadline = started + Duration::from_secs(seconds);
            let sampling = (op == Op::Create).then(|| tokio::spawn(sample_freshness(sampler.take().unwrap(), dns, deadline)));
            let tasks: Vec<_> = open.drain(..).map(|s| tokio::spawn(drive(s, op, deadline))).collect();
            let mut all = PhaseResult::default();
            for t in tasks {
                let (s, r) = t.await.unwrap();
                open.push(s);
                all.latencies_us.extend(r.latencies_us);
                all.errors += r.errors;
                if all.first_error.is_none() {
                    all.first_error = r.first_error;
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            let mut sampled = 0;
            if let Some(task) = sampling {
                let (s, f) = task.await.unwrap();
                sampled = s.domains.len();
                freshness = f;
                sampler = Some(s);
            }
            let cpu = cpu_seconds(server.child.id()) - cpu0;
            if let Some(e) = &all.first_error {
                eprintln!("{op:?}: {} errors; the first: {e}", all.errors);
            }
            let completed = all.latencies_us.len();
            rows.push(Row {
                op,
                fee,
                with_lists,
                sessions,
                completed,
                errors: all.errors,
                per_second: completed as f64 / elapsed,
                p50_ms: percentile(&mut all.latencies_us, 0.5) / 1000.0,
                p99_ms: percentile(&mut all.latencies_us, 0.99) / 1000.0,
                server_cpu_us: cpu * 1e6 / (completed + sampled).max(1) as f64,
            });
        }
        (rows, freshness)
    });

    let mut table = String::new();
    writeln!(table, "\n| command | sessions | completed | errors | per second | p50 | p99 | server CPU per command |").unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for r in &rows {
        writeln!(
            table,
            "| domain:{}{} | {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.0} µs |",
            format!("{:?}", r.op).to_lowercase(),
            match (r.fee, r.with_lists) {
                (_, true) => " with fee, 100,000 premium and 10,000 reserved names and an IDN table loaded",
                (true, false) => " with fee",
                _ => "",
            },
            r.sessions,
            r.completed,
            r.errors,
            r.per_second,
            r.p50_ms,
            r.p99_ms,
            r.server_cpu_us
        )
        .unwrap();
    }
    let checks: Vec<f64> = rows.iter().filter(|r| r.op == Op::Check).map(|r| r.per_second).collect();
    if let [.., without, with] = checks[..] {
        writeln!(table, "\ndomain:check with the lists / without: {:.2} (target: at least 0.90)", with / without).unwrap();
    }
    let samples = freshness.len();
    let (f50, f99) = (percentile(&mut freshness, 0.5), percentile(&mut freshness, 0.99));
    writeln!(table, "\nEPP→DNS freshness (create response → first DNS answer with the delegation), {samples} samples under the create load: p50 {f50:.0} µs, p99 {f99:.0} µs").unwrap();
    writeln!(table, "Targets on this machine: ≥ 10,000 durable creates/s, ≥ 30,000 checks/s, p99 EPP→DNS ≤ 10 ms. Anchor: Nomulus reported 1,000 creates/s on Google's fleet.").unwrap();
    let (rss, _) = memory_mib(server.child.id());
    writeln!(table, "Server resident memory at the end: {rss:.0} MiB").unwrap();
    println!("{table}");
}
