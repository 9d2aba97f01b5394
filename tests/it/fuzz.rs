//! Bounded runs of the fuzz properties (`domain_os::fuzz`, the same ones the
//! cargo-fuzz targets in `fuzz/` run without bound): deterministic mutations
//! of real inputs, a few tens of thousands each, so that every suite run
//! covers the parsers peers reach. EPP refusals are also checked against the
//! EPP schemas.

use std::collections::BTreeMap;

use domain_os::fuzz::{self, Mutator};

use crate::epp::Responses;

const EPP_SEEDS: &[&str] = &[
    r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>demo-registrar</clID><pw>demo-password-1</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login><clTRID>ABC-12345</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.example</domain:name></domain:check></check><extension><fee:check xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0"><fee:command name="create"/></fee:check></extension><clTRID>c-1</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.example</domain:name><domain:chg/></domain:update></update><extension><rgp:update xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0"><rgp:restore op="report"><rgp:report><rgp:preData>x</rgp:preData><rgp:postData>y</rgp:postData><rgp:delTime>2026-11-01T22:00:00.0Z</rgp:delTime><rgp:resTime>2026-11-02T22:00:00+01:00</rgp:resTime><rgp:resReason>r</rgp:resReason><rgp:statement>s</rgp:statement></rgp:report></rgp:restore></rgp:update></extension><clTRID>u-1</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="query"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.example</domain:name></domain:transfer></transfer><clTRID>t-1</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><poll op="ack" msgID="12"/><clTRID>p-1</clTRID></command></epp>"#,
];

const EPP_SPLICES: &[&[u8]] = &[
    b"&#1;",
    b"&#x1b;",
    b"\x1b[31m",
    b"\x00",
    "é€😀".as_bytes(),
    b"<![CDATA[x]]>",
    b"<!DOCTYPE epp [<!ENTITY x \"y\">]>",
    b"&amp;&lt;&unknown;",
    b"<clTRID>",
    b"</clTRID>",
    b"<clTRID>a-very-long-client-transaction-identifier-that-goes-on-and-on-beyond-sixty-four-characters</clTRID>",
    b"</epp>",
    b" xmlns=\"urn:example:other\"",
    b"<command>",
    b"\r\n\t",
];

#[test]
fn epp_frames_get_well_formed_schema_valid_refusals() {
    let mut mutator = Mutator::new(0x9E37_79B9_7F4A_7C15);
    // One refusal per (code, start of message) for the schema check, so the xmllint run stays small.
    let mut sample: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..40_000usize {
        let frame = mutator.mutate(EPP_SEEDS[round % EPP_SEEDS.len()].as_bytes(), EPP_SPLICES);
        if let Some(refusal) = fuzz::epp_frame(&frame)
            && sample.len() < 300
        {
            let at = refusal.find("<result code=").unwrap_or(0);
            let key: String = refusal[at..].chars().take(60).collect();
            sample.entry(key).or_insert(refusal);
        }
    }
    assert!(sample.len() > 20, "the mutations reach many refusals: {}", sample.len());
    let seen = Responses::default();
    for refusal in sample.into_values() {
        seen.add(refusal);
    }
    seen.validate();
}

#[test]
fn timestamps_round_trip() {
    let seeds: &[&[u8]] = &[b"2026-11-01T22:00:00.0Z", b"2026-02-28T23:59:60+01:30", b"1999-12-31t00:00:00.123456-05:00"];
    let mut mutator = Mutator::new(0xD1B5_4A32_D192_ED03);
    for round in 0..100_000usize {
        fuzz::timestamp(&mutator.mutate(seeds[round % seeds.len()], &[b"\xc3\xa9", "９".as_bytes(), b"+", b":", b"."]));
    }
}

#[test]
fn zone_files_parse_into_registrable_delegations_or_line_errors() {
    let seed = "$ORIGIN fuzz.\n$TTL 3600\n@ IN SOA a.nic.fuzz. h.fuzz. ( 2024010101 7200 1800 1209600 300 )\n@ IN NS a.nic.fuzz.\na.nic IN A 192.0.2.1\nnic IN NS a.nic\none 600 IN NS ns.example.net.\none IN DS 1 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372\ntwo IN NS ns.two\nns.two IN AAAA 2001:db8::1\n";
    let splices: &[&[u8]] = &[b"\n", b"(", b")", b";", b"\"", b"$ORIGIN x.\n", b"$TTL 1w\n", b" IN ", b" NS ", b"\\", b"@", "é".as_bytes()];
    let mut mutator = Mutator::new(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        fuzz::zonefile(&mutator.mutate(seed.as_bytes(), splices));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_bytes_decode_only_into_values_that_round_trip() {
    use domain_os::model::{ContactId, DomainName};
    use domain_os::store::codec;
    let d = crate::common::TestDaemon::demo().await;
    let snapshot = d.registry().snapshot();
    let name = |s: &str| DomainName::parse(s).unwrap();
    let seeds = [
        codec::encode(&snapshot.domain(&name("hello.example")).unwrap().unwrap()),
        codec::encode(&snapshot.host_by_name(&name("ns1.hello.example")).unwrap().unwrap()),
        codec::encode(&snapshot.contact(&ContactId::parse("demo-tech").unwrap()).unwrap().unwrap()),
        codec::encode(snapshot.tld(&name("example")).unwrap()),
        snapshot.zone_row(&name("hello.example").canonical_key()).unwrap().expect("a zone row").value().to_vec(),
    ];
    let mut mutator = Mutator::new(0xA076_1D64_78BD_642F);
    for round in 0..50_000usize {
        fuzz::stored_bytes(&mutator.mutate(&seeds[round % seeds.len()], &[&[0xff; 8], &[0; 8], &[1]]));
    }
    drop(snapshot);
    d.stop().await;
}

/// Whatever bytes arrive, the answering code stays silent or replies with a
/// message an independent parser accepts, with the query's id and QR set.
#[test]
fn mutated_packets_never_break_the_answering_code() {
    use crate::common::packet;
    use domain_os::dns::answer::{AnswerConfig, Scratch};
    let fixture = fuzz::DnsFixture::new();
    let snapshot = fixture.snapshot();
    let config = AnswerConfig { udp_payload_max: 1232, nsid: Some(b"test".to_vec()), keyring: Default::default() };
    let mut scratch = Scratch::default();
    let seeds = [
        packet(1, 0x0100, "www.glue.fuzz", 1, 1, Some((1232, 0, true))),
        packet(2, 0, "fuzz", 6, 1, None),
        packet(3, 0, "nope.fuzz", 43, 1, Some((512, 0, false))),
        packet(4, 0, "fuzz", 252, 1, None),
        packet(5, 0, "a.nic.fuzz", 28, 1, Some((4096, 0, true))),
        packet(6, 0, "away.fuzz", 251, 1, None),
    ];
    let mut mutator = Mutator::new(0x2545_F491_4F6C_DD1D);
    for round in 0..200_000usize {
        fuzz::dns_answer(&mutator.mutate(&seeds[round % seeds.len()], &[&[0xC0, 0x0C], &[0, 41], &[0]]), &snapshot, &config, &mut scratch);
    }
}
