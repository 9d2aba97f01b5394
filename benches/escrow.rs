//! Escrow benchmark: a FULL RyDE deposit of the TLD of N delegations
//! (default 1,000,000, imported from the DNS benchmark's generated zone,
//! with its in-zone hosts): the deposit's wall time through the operator API
//! and the daemon's peak memory (VmHWM) before and after it, beside `gzip |
//! gpg --encrypt --sign` of the same XML on the same machine, the practical
//! floor; the BRDA of the same TLD; a DIFF after 10,000 domain updates;
//! DNS latency (dnsperf at a steady rate) and EPP latency (check and
//! create on one session) idle and while a FULL deposit runs; then
//! `domain-os escrow verify` of that deposit (its time and peak memory)
//! beside `gpg --decrypt` of it, and `domain-os import escrow` of it into a
//! fresh registry (time and peak memory).
//!
//!     scripts/bench escrow
//!     DOMAINS=100000 cargo bench --bench escrow
//!     CACHE_MIB=128 cargo bench --bench escrow   # the daemon's page cache
//!
//! Only loopback traffic. Not a test: numbers depend on the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod support;

use support::servers::*;
use support::*;

const TLD: &str = "bench";

/// The daemon's peak resident set so far, in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// `gpg` in `home`, in batch mode, without a passphrase.
fn gpg(home: &Path) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir").arg(home).args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]);
    cmd
}

/// Runs `cmd` to its end: whether it succeeded, its wall time in seconds
/// and its peak resident set in MiB (read while it runs).
fn run_measured(cmd: &mut Command) -> (bool, f64, f64) {
    let t = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let mut peak = 0.0f64;
    loop {
        peak = peak.max(peak_mib(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), t.elapsed().as_secs_f64(), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// One home holding the agent's and the registry's keys; the agent's
/// certificate and the registry's secret key exported beside it, and the
/// agent's secret key (to check deposits with) as `agent-secret.pgp`.
fn keys(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut files = Vec::new();
    for (who, export) in [("agent", "--export"), ("registry", "--export-secret-keys")] {
        let uid = format!("{who} <{who}@escrow.example>");
        assert!(gpg(&home).args(["--quick-gen-key", &uid, "future-default", "default", "never"]).status().unwrap().success());
        let out = gpg(&home).args([export, &uid]).output().unwrap();
        let file = dir.join(format!("{who}.pgp"));
        std::fs::write(&file, out.stdout).unwrap();
        files.push(file);
    }
    let out = gpg(&home).args(["--export-secret-keys", "agent@escrow.example"]).output().unwrap();
    std::fs::write(dir.join("agent-secret.pgp"), out.stdout).unwrap();
    (home, files[0].clone(), files[1].clone())
}

fn main() {
    let n = env_usize("DOMAINS", 1_000_000);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-escrow");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!("domain-os escrow benchmark: a FULL RyDE deposit of {n} domains, 2-core machine");
    let source = dir.join("source.zone");
    generate_zone(&source, n, TLD);
    let (dns_port, admin_port) = (free_port(), free_port());
    let conf = domain_os_config(&dir, dns_port, admin_port, false);
    let (home, agent, registry) = keys(&dir);
    let mut text = std::fs::read_to_string(&conf).unwrap();
    // The agent's certificate stands in for ICANN's in the BRDA.
    text.push_str(&format!(
        "[escrow]\nagent_cert = \"{a}\"\nsigning_key = \"{}\"\nbrda_cert = \"{a}\"\n",
        registry.display(),
        a = agent.display()
    ));
    // redb keeps the pages a deposit reads in the daemon's page cache, up
    // to its size: the daemon's memory grows to that bound, not with the TLD.
    let cache_mib = env_usize("CACHE_MIB", 1024);
    text.push_str(&format!("[registry]\ncache_mib = {cache_mib}\n"));
    let epp_port = free_port();
    let text = text.replace("[epp]\nlisten = []", &format!("[epp]\nlisten = [\"127.0.0.1:{epp_port}\"]"));
    std::fs::write(&conf, text).unwrap();
    import_bench_tld(&conf, dns_port, TLD, &source);

    let (server, _) = spawn("domain-os", Command::new(BIN).arg("--config").arg(&conf).arg("serve"), dns_port, TLD, true);
    let token = std::fs::read_to_string(dir.join("data/admin.token")).unwrap();
    let api = Api::new(admin_port, token.trim());
    let before_mib = peak_mib(server.child.id());
    let t = Instant::now();
    let made = api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "full"}));
    let ryde_s = t.elapsed().as_secs_f64();
    let after_mib = peak_mib(server.child.id());
    let ryde = PathBuf::from(made["ryde"].as_str().unwrap());
    let ryde_mib = std::fs::metadata(&ryde).unwrap().len() as f64 / f64::from(1 << 20);
    let xml_mib = made["xml_bytes"].as_f64().unwrap() / f64::from(1 << 20);
    let t = Instant::now();
    let brda = api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "brda"}));
    let brda_s = t.elapsed().as_secs_f64();
    let brda_mib = brda["xml_bytes"].as_f64().unwrap() / f64::from(1 << 20);
    // DNS latency at a steady 5,000 queries a second, idle and while a FULL deposit runs.
    let queries = dir.join("queries.txt");
    generate_queries(&queries, n, 200_000, TLD);
    // A first run warms the page cache the deposits left cold, so both runs start alike.
    dnsperf(dns_port, &queries, 5, &["-Q", "5000"]);
    let (_, idle_ms, _, _) = dnsperf(dns_port, &queries, 5, &["-Q", "5000"]);
    let during = {
        let queries = queries.clone();
        std::thread::spawn(move || dnsperf(dns_port, &queries, 5, &["-Q", "5000"]))
    };
    api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "full"}));
    let (_, busy_ms, busy_lost, _) = during.join().unwrap();

    // EPP latency of a read (check) and a write (create, through the writer), idle and while a FULL deposit runs.
    for args in [
        &[
            "registrar",
            "create",
            "bench-epp",
            "--name",
            "EPP",
            "--email",
            "ops@bench.test",
            "--password",
            epp::PASSWORD,
            "--set",
            r#"allowed_addresses=["127.0.0.0/8"]"#,
            "--set",
            "iana_id=9997",
        ][..],
        &["registrar", "fund", "bench-epp", "100000000.00"],
        &["registrar", "certificate", "bench-epp"],
    ] {
        cli(&conf, args);
    }
    let tls = epp::tls_config(&dir.join("data/tls"), "bench-epp");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut session = runtime.block_on(epp::Session::open(("127.0.0.1", epp_port), tls, 0, "bench-epp"));
    let mut epp_sample = |label: &str, deposit: bool| -> (f64, f64, f64, f64) {
        let running = deposit.then(|| {
            let api = Api::new(admin_port, token.trim());
            std::thread::spawn(move || api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "full"})))
        });
        let (mut checks, mut creates) = (Vec::new(), Vec::new());
        let started = Instant::now();
        let mut i = 0;
        while started.elapsed().as_secs_f64() < 5.0 {
            let check = format!(
                r#"<check><domain:check xmlns:domain="{}"><domain:name>{}.{TLD}</domain:name></domain:check></check>"#,
                epp::DOMAIN_NS,
                domain(i * 7919 % n)
            );
            let create = format!(
                r#"<create><domain:create xmlns:domain="{}"><domain:name>lat-{label}-{i}.{TLD}</domain:name><domain:period unit="y">1</domain:period><domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo></domain:create></create>"#,
                epp::DOMAIN_NS,
                epp::AUTH_INFO
            );
            for (body, into, want) in [(check, &mut checks, 1000), (create, &mut creates, 1000)] {
                let t = Instant::now();
                let (code, response) = runtime.block_on(session.command(&body));
                assert_eq!(code, want, "{response}");
                into.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            i += 1;
            // A steady load, below the session's command rate limit.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if let Some(running) = running {
            running.join().unwrap();
        }
        (percentile(&mut checks, 0.5), percentile(&mut checks, 0.99), percentile(&mut creates, 0.5), percentile(&mut creates, 0.99))
    };
    let epp_idle = epp_sample("idle", false);
    let epp_busy = epp_sample("busy", true);
    let kept = api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "full", "keep_xml": true}));
    // The day's changes: 10,000 domain updates, then the DIFF that holds them.
    let changes = 10_000.min(n);
    for c in 0..changes {
        let name = format!("{}.{TLD}", domain(c * (n / changes)));
        let status = api.patch(&format!("/v1/domains/{name}"), &serde_json::json!({"add_statuses": ["serverHold"]}));
        assert!(status.is_success(), "{name}: {status}");
    }
    let t = Instant::now();
    let diff = api.post(&format!("/v1/tlds/{TLD}/escrow"), &serde_json::json!({"type": "diff"}));
    let diff_s = t.elapsed().as_secs_f64();
    let diff_domains = diff["counts"]["urn:ietf:params:xml:ns:rdeDomain-1.0"].as_u64().unwrap();
    assert_eq!(diff_domains, changes as u64, "the DIFF holds the changed domains");
    let diff_kib = std::fs::metadata(diff["ryde"].as_str().unwrap()).unwrap().len() as f64 / 1024.0;
    drop(server);

    let xml = kept["xml"].as_str().unwrap().to_string();
    let t = Instant::now();
    let floor = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c '{xml}' | gpg --homedir '{h}' --batch --yes --pinentry-mode loopback --passphrase '' --trust-model always --encrypt -r agent@escrow.example --sign -u registry@escrow.example -o '{d}/floor.gpg'",
            h = home.display(),
            d = dir.display()
        ))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(floor.success(), "gzip | gpg");
    let floor_s = t.elapsed().as_secs_f64();

    let (verified, verify_s, verify_mib) = run_measured(
        Command::new(BIN)
            .args(["escrow", "verify"])
            .arg(&ryde)
            .arg("--decrypt-key")
            .arg(dir.join("agent-secret.pgp"))
            .arg("--signer-cert")
            .arg(&registry),
    );
    assert!(verified, "escrow verify of the deposit");
    let (decrypted, decrypt_s, _) = run_measured(gpg(&home).arg("--decrypt").arg("--output").arg(dir.join("floor.tar")).arg(&ryde));
    assert!(decrypted, "gpg --decrypt");

    // The migration path: the .ryde into a fresh registry, as an agent would hand it over.
    let import_dir = dir.join("import");
    std::fs::create_dir_all(&import_dir).unwrap();
    let import_conf = domain_os_config(&import_dir, free_port(), free_port(), false);
    let (imported, import_s, import_mib) = run_measured(
        Command::new(BIN)
            .arg("--config")
            .arg(&import_conf)
            .args(["import", "escrow"])
            .arg(&ryde)
            .arg("--decrypt-key")
            .arg(dir.join("agent-secret.pgp"))
            .args(["--ns", "ns1.nic.example,ns2.nic.example"]),
    );
    assert!(imported, "import escrow of the deposit");

    println!("\n| FULL deposit of {n} domains | time | peak RSS of the daemon (cache_mib = {cache_mib}) | output |");
    println!("|---|---:|---:|---:|");
    println!(
        "| domain-os (XML twice, tar, compress, encrypt, sign) | {ryde_s:.1} s | {before_mib:.0} → {after_mib:.0} MiB | {ryde_mib:.0} MiB from {xml_mib:.0} MiB of XML |"
    );
    println!("| gzip \\| gpg --encrypt --sign of the same XML | {floor_s:.1} s | | |");
    println!("| domain-os BRDA (thin) of the same TLD | {brda_s:.1} s | | from {brda_mib:.0} MiB of XML |");
    println!("| domain-os DIFF after {changes} domain updates | {diff_s:.2} s | | {diff_kib:.0} KiB, {diff_domains} domains |");
    println!("\ndomain-os / floor: {:.2}", ryde_s / floor_s);
    println!("\n| DNS at 5,000 QPS (dnsperf, 5 s) | average latency | lost |");
    println!("|---|---:|---:|");
    println!("| idle | {idle_ms:.3} ms | |");
    println!("| while a FULL deposit runs | {busy_ms:.3} ms | {busy_lost:.0} |");
    println!("\nduring / idle: {:.2}", busy_ms / idle_ms);
    println!("\n| EPP, one session, 5 s | check p50 | check p99 | create p50 | create p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (label, (c50, c99, w50, w99)) in [("idle", epp_idle), ("while a FULL deposit runs", epp_busy)] {
        println!("| {label} | {c50:.2} ms | {c99:.2} ms | {w50:.2} ms | {w99:.2} ms |");
    }
    println!("\n| checking that deposit | time | peak RSS |");
    println!("|---|---:|---:|");
    println!("| domain-os escrow verify (signature, decrypt, untar, rde-01…15) | {verify_s:.1} s | {verify_mib:.0} MiB |");
    println!("| gpg --decrypt of the same .ryde | {decrypt_s:.1} s | |");
    println!(
        "| domain-os import escrow of it into a fresh registry (decrypt, read, write, zone rows) | {import_s:.1} s | {import_mib:.0} MiB |"
    );
}
