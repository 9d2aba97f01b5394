//! DNSSEC benchmark on the TLD of N delegations (default 1,000,000; 10% with
//! in-zone glue, 30% with DS): the time to sign the whole zone from unsigned,
//! with NSEC and with NSEC3 with and without Opt-Out, beside Knot's `kzonesign` signing the same
//! exported zone with the same parameters (ECDSA P-256, NSEC3 with no
//! extra iterations and no salt; Knot with one combined key, we with a KSK
//! and a ZSK: one signature per RRset either way); DNS throughput with DO=1 on the signed
//! zone beside NSD and Knot serving our signed export, with the same dnsperf
//! mix (20% of it NXDOMAIN, answered with NSEC3 proofs); store size (as a
//! compact backup copy) and RSS
//! signed and unsigned; the time from the acknowledgement of a DS change
//! to the first signed answer that carries it, and the writer's time per
//! change; and the time the signature sweep takes to re-sign a zone whose
//! every signature is due at once.
//!
//!     scripts/bench                      # installs nsd, knot, dnsperf when missing
//!     DOMAINS=100000 SECONDS=10 cargo bench --bench dnssec
//!
//! Only loopback traffic. Not a test: numbers depend on the machine.

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::servers::*;
use support::*;

const TLD: &str = "bench";

/// The store's size as a compact copy holds it: the disk blocks of a backup
/// through the running daemon (the live file keeps the pages earlier
/// signings freed).
fn store_mib(conf: &Path, dir: &Path, name: &str) -> f64 {
    let to = dir.join(format!("{name}.redb"));
    cli(conf, &["backup", "--to", to.to_str().unwrap()]);
    // Blocks in use: redb grows its file in large regions, so the length is coarse.
    let mib = std::fs::metadata(&to).map_or(0.0, |m| (std::os::unix::fs::MetadataExt::blocks(&m) * 512) as f64 / f64::from(1 << 20));
    let _ = std::fs::remove_file(&to);
    mib
}

/// `tld update TLD --dnssec MODE`, timed: the whole zone is (un)signed in
/// the one commit it acknowledges.
fn set_signing(conf: &Path, mode: &str) -> f64 {
    let t = Instant::now();
    cli(conf, &["tld", "update", TLD, "--dnssec", mode]);
    t.elapsed().as_secs_f64()
}

/// Knot's offline signer over `zone` with our parameters for denial `mode`
/// (`nsec`, `nsec3` or `nsec3-optout`); seconds taken.
fn kzonesign(dir: &Path, zone: &Path, mode: &str) -> f64 {
    let d = dir.join(format!("kzonesign-{mode}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("out")).unwrap();
    let conf = d.join("knot.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  rundir: \"{d}\"\ndatabase:\n  storage: \"{d}\"\npolicy:\n  - id: bench\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: {}\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    nsec3-opt-out: {}\n    signing-threads: 2\ntemplate:\n  - id: default\n    storage: \"{d}\"\nzone:\n  - domain: {TLD}\n    file: \"{z}\"\n    dnssec-signing: on\n    dnssec-policy: bench\n",
            if mode == "nsec" { "off" } else { "on" },
            if mode == "nsec3-optout" { "on" } else { "off" },
            d = d.display(),
            z = zone.display()
        ),
    )
    .unwrap();
    let t = Instant::now();
    let out = Command::new("kzonesign").arg("-c").arg(&conf).arg("-o").arg(d.join("out")).arg(TLD).output().expect("kzonesign");
    assert!(out.status.success(), "kzonesign: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    t.elapsed().as_secs_f64()
}

/// A DS query for `name` with DO set (EDNS0, 4096-octet buffer).
fn ds_query_do(name: &str, id: u16) -> Vec<u8> {
    let mut q = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 43, 0, 1]);
    q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0]);
    q
}

/// Adds a DS with a fresh digest to delegations without one, through the
/// operator API, and asks DNS (DO=1) until the answer carries that digest
/// and its signature: (p50, p99) in µs from the acknowledgement, the API
/// round trip (durable commit included) p50 in ms, and the writer's mean
/// time per batch in µs before its commit (each batch one change, besides
/// the once-a-second count commits).
fn ds_to_signed_answer(dns: u16, api: &Api, n: usize, samples: usize) -> (f64, f64, f64, f64) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let (mut visible_us, mut commit_us) = (Vec::new(), Vec::new());
    let apply_before = api.writer_apply();
    let mut buf = [0u8; 4096];
    let mut id = 0u16;
    for s in 0..samples {
        // Delegations i with i % 10 >= 3 have no DS in the generated zone.
        let i = (s * 7919 % (n / 10)) * 10 + 5;
        let name = format!("{}.{TLD}", domain(i));
        let digest: Vec<u8> = (0..32).map(|b| (s * 31 + b * 7 + 1) as u8).collect();
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        let body = serde_json::json!({"add_ds": [{"key_tag": 4242, "algorithm": 13, "digest_type": 2, "digest": hex}]});
        let t0 = Instant::now();
        let status = api.patch(&format!("/v1/domains/{name}"), &body);
        assert!(status.is_success(), "DS for {name}: {status}");
        let acked = Instant::now();
        commit_us.push((acked - t0).as_secs_f64() * 1e6);
        loop {
            id = id.wrapping_add(1);
            socket.send_to(&ds_query_do(&name, id), ("127.0.0.1", dns)).unwrap();
            if let Ok((len, _)) = socket.recv_from(&mut buf) {
                let answers = u16::from_be_bytes([buf[6], buf[7]]);
                if buf[..2] == id.to_be_bytes() && answers >= 2 && buf[..len].windows(32).any(|w| w == digest) {
                    break;
                }
            }
            assert!(acked.elapsed() < Duration::from_secs(10), "{name}'s DS never appeared signed");
        }
        visible_us.push(acked.elapsed().as_secs_f64() * 1e6);
    }
    let apply_after = api.writer_apply();
    let apply_us = (apply_after.0 - apply_before.0) / (apply_after.1 - apply_before.1) * 1e6;
    (percentile(&mut visible_us, 0.5), percentile(&mut visible_us, 0.99), percentile(&mut commit_us, 0.5) / 1000.0, apply_us)
}

/// The worst day of re-signing: a zone signed in one commit falls due
/// within one day (its jitter), a week later. Lengthening the validity makes
/// every signature due at once; the signature sweep re-signs them in its
/// small commits. Timed until the sweep's full pass sees none due: (seconds,
/// writer seconds spent in those commits, commits).
fn resign_everything_due(api: &Api) -> (f64, f64, f64) {
    let (validity_s, refresh_s) = (21 * 86_400, 19 * 86_400);
    let before = api.writer_apply();
    let t = Instant::now();
    let status =
        api.patch(&format!("/v1/tlds/{TLD}"), &serde_json::json!({"signature_validity_s": validity_s, "signature_refresh_s": refresh_s}));
    assert!(status.is_success(), "new signature timing: {status}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let series = format!("domain_os_dnssec_earliest_signature_expiry_timestamp_seconds{{zone=\"{TLD}\"}}");
    while api.sample(&series).is_none_or(|earliest| earliest <= now + f64::from(refresh_s)) {
        assert!(t.elapsed() < Duration::from_secs(3_600), "the sweep did not re-sign the zone within an hour");
        std::thread::sleep(Duration::from_millis(500));
    }
    let after = api.writer_apply();
    (t.elapsed().as_secs_f64(), after.0 - before.0, after.1 - before.1)
}

struct Serving {
    name: String,
    qps: f64,
    latency_ms: f64,
    lost: f64,
    rss_mib: f64,
}

/// A DO=1 dnsperf run after a short one that warms every server's caches
/// alike (a freshly opened store reads its pages from disk at first).
fn serve_do(server: &Server, queries: &Path, seconds: usize) -> Serving {
    dnsperf(server.port, queries, 3, &["-D"]);
    let (qps, latency_ms, lost, _) = dnsperf(server.port, queries, seconds, &["-D"]);
    Serving { name: server.name.clone(), qps, latency_ms, lost, rss_mib: memory_mib(server.child.id()).0 }
}

fn main() {
    let n = env_usize("DOMAINS", 1_000_000);
    let seconds = env_usize("SECONDS", 15);
    for tool in ["dnsperf", "nsd", "knotd", "kzonesign"] {
        if Command::new("which").arg(tool).stdout(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
            eprintln!("{tool} is missing: run scripts/bench, which installs it");
            std::process::exit(2);
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-dnssec");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "domain-os DNSSEC benchmark: {n} delegations (30% with DS), {seconds} s dnsperf (DO=1) per server, 2-core machine, loopback only"
    );

    let source = dir.join("source.zone");
    generate_zone(&source, n, TLD);
    let queries = dir.join("queries.txt");
    generate_queries(&queries, n, 2_000_000, TLD);
    let (dns_port, admin_port) = (free_port(), free_port());
    let conf = domain_os_config(&dir, dns_port, admin_port, true);
    import_bench_tld(&conf, dns_port, TLD, &source);

    let serve = || spawn("domain-os", Command::new(BIN).arg("--config").arg(&conf).arg("serve"), dns_port, TLD, true).0;
    let server = serve();
    let unsigned_zone = dir.join("unsigned.zone");
    std::fs::copy(dir.join(export_path(&conf)), &unsigned_zone).unwrap();
    let unsigned = serve_do(&server, &queries, seconds);
    let unsigned_mib = store_mib(&conf, &dir, "unsigned");

    eprintln!("signing with NSEC");
    let sign_nsec_s = set_signing(&conf, "nsec");
    let nsec_mib = store_mib(&conf, &dir, "nsec");
    set_signing(&conf, "off");
    eprintln!("signing with NSEC3");
    let sign_nsec3_s = set_signing(&conf, "nsec3");
    let nsec3_mib = store_mib(&conf, &dir, "nsec3");
    set_signing(&conf, "off");
    eprintln!("signing with NSEC3 Opt-Out");
    let sign_optout_s = set_signing(&conf, "nsec3-optout");
    let token = std::fs::read_to_string(dir.join("data/admin.token")).unwrap();
    let api = Api::new(admin_port, token.trim());
    let (ds_p50, ds_p99, commit_p50, apply_us) = ds_to_signed_answer(dns_port, &api, n, 300);
    let optout_mib = store_mib(&conf, &dir, "optout");
    eprintln!("re-signing everything due");
    let (resign_s, resign_writer_s, resign_commits) = resign_everything_due(&api);
    drop(server);
    // Measured on a fresh start, as the servers beside it are.
    let server = serve();
    let signed_zone = dir.join(export_path(&conf));
    let mut rows = vec![serve_do(&server, &queries, seconds)];
    drop(server);
    for start in [nsd as fn(&Path, &Path, &str, u16) -> (Server, f64), knot] {
        let (server, _) = start(&dir, &signed_zone, TLD, free_port());
        rows.push(serve_do(&server, &queries, seconds));
    }
    eprintln!("kzonesign");
    let knot_nsec_s = kzonesign(&dir, &unsigned_zone, "nsec");
    let knot_nsec3_s = kzonesign(&dir, &unsigned_zone, "nsec3");
    let knot_optout_s = kzonesign(&dir, &unsigned_zone, "nsec3-optout");

    let mut table = String::new();
    writeln!(table, "\n| signing {n} delegations from unsigned | domain-os (one commit) | kzonesign (2 threads) | domain-os / Knot |")
        .unwrap();
    writeln!(table, "|---|---:|---:|---:|").unwrap();
    for (mode, ours, theirs) in
        [("NSEC", sign_nsec_s, knot_nsec_s), ("NSEC3", sign_nsec3_s, knot_nsec3_s), ("NSEC3 Opt-Out", sign_optout_s, knot_optout_s)]
    {
        writeln!(table, "| {mode} | {ours:.1} s | {theirs:.1} s | {:.2} |", ours / theirs).unwrap();
    }
    writeln!(table, "\n| server, signed zone (Opt-Out), DO=1 | QPS | avg latency | lost | RSS |").unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|").unwrap();
    for r in &rows {
        writeln!(table, "| {} | {:.0} | {:.3} ms | {:.0} | {:.0} MiB |", r.name, r.qps, r.latency_ms, r.lost, r.rss_mib).unwrap();
    }
    let nsd_qps = rows.iter().find(|r| r.name.starts_with("NSD")).map_or(f64::NAN, |r| r.qps);
    writeln!(table, "\ndomain-os / NSD throughput, signed, DO=1: {:.2}", rows[0].qps / nsd_qps).unwrap();
    writeln!(table, "domain-os unsigned, same queries with DO=1: {:.0} QPS, RSS {:.0} MiB", unsigned.qps, unsigned.rss_mib).unwrap();
    writeln!(
        table,
        "store (compact copy): unsigned {unsigned_mib:.0} MiB, NSEC {nsec_mib:.0} MiB, NSEC3 {nsec3_mib:.0} MiB, NSEC3 Opt-Out {optout_mib:.0} MiB"
    )
        .unwrap();
    writeln!(
        table,
        "DS change to its first signed answer: p50 {ds_p50:.0} µs, p99 {ds_p99:.0} µs from the acknowledgement (API round trip incl. durable commit: p50 {commit_p50:.1} ms)"
    )
    .unwrap();
    writeln!(table, "writer time per DS change, signing included, before its commit: mean {apply_us:.0} µs").unwrap();
    writeln!(
        table,
        "every signature due at once (the worst day), re-signed by the sweep: {resign_s:.0} s until a full pass finds none due; {resign_writer_s:.1} s of writer time in {resign_commits:.0} commits"
    )
    .unwrap();
    println!("{table}");
}

/// Exports the zone through the daemon: the file's path, relative to the benchmark folder.
fn export_path(conf: &Path) -> PathBuf {
    let export = cli(conf, &["zone", "export", TLD]);
    serde_json::from_str::<serde_json::Value>(&export).unwrap()["path"].as_str().unwrap().into()
}
