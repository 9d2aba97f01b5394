//! Properties of the parsers peers and stored bytes reach, for the fuzz
//! targets in `fuzz/` (cargo-fuzz) and for their bounded runs in the test
//! suite (`tests/it/fuzz.rs`). Each takes arbitrary input and panics when a
//! property breaks — a round trip that does not return, an answer that does
//! not parse, a response that is not well-formed — not only when the code
//! under test panics by itself.
//!
//! Must not: be used by the serving paths.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use crate::dns::answer::{self, AnswerConfig, Handled, Scratch, Transport};
use crate::dns::zonefile;
use crate::epp::render::Response;
use crate::epp::result::code;
use crate::epp::{request, xml};
use crate::model::zone::ZoneRow;
use crate::model::{Contact, DomainName, RoidSuffix, SystemClock, Timestamp};
use crate::registry::{Command, Registry, WriterSettings, WriterThread};
use crate::store::{Snapshot, Store, codec};

/// The limits the EPP session parses frames with, by default.
fn epp_limits() -> xml::Limits {
    let c = crate::config::EppConfig::default();
    xml::Limits { depth_max: c.xml_depth_max, elements_max: c.xml_elements_max, text_bytes_max: c.frame_bytes_max }
}

/// An EPP frame through XML and request parsing. A refused frame gets the
/// response the session would send, which must be well-formed XML that our
/// own parser reads back, naming the same result code; it is returned so a
/// caller can check it against the schemas.
pub fn epp_frame(frame: &[u8]) -> Option<String> {
    let (refusal, cltrid) = match xml::parse(frame, epp_limits()) {
        Err(e) => (Response::with_msg(code::SYNTAX, e.to_string()), None),
        Ok(root) => match request::parse(&root) {
            Ok(_) => return None,
            Err(e) => (Response::with_msg(e.code, e.reason), request::salvage_cltrid(&root)),
        },
    };
    let text = refusal.to_xml(cltrid.as_deref(), "FUZZ-1", &[]);
    let back = xml::parse(text.as_bytes(), epp_limits()).unwrap_or_else(|e| panic!("a refusal is not well-formed ({e}): {text}"));
    let result = back.children.iter().find(|c| c.name == "response").and_then(|r| r.children.iter().find(|c| c.name == "result"));
    let shown = result.and_then(|r| r.attr("code")).and_then(|c| c.parse::<u16>().ok());
    assert!(shown.is_some_and(|c| (2000..2600).contains(&c)), "a refusal without an error code: {text}");
    Some(text)
}

/// RFC 3339: what parses prints and parses back to the same instant.
pub fn timestamp(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        let printed = t.to_rfc3339();
        assert_eq!(Timestamp::parse_rfc3339(&printed), Ok(t), "{text:?} printed as {printed:?}");
    }
}

/// Zone import: a file that parses holds only delegations one label below
/// the apex, each with name servers, and glue only for in-zone names; a file
/// that does not gets a bounded, line-ordered list of problems.
pub fn zonefile(input: &[u8]) {
    let apex = DomainName::parse("fuzz").expect("a valid apex");
    match zonefile::parse_for_import(&apex, input) {
        Ok(zone) => {
            for d in &zone.delegations {
                assert!(d.name.is_directly_below(&apex) && !d.nameservers.is_empty(), "{d:?}");
            }
            assert!(zone.glue.keys().all(|h| h.is_below(&apex)));
        }
        Err(errors) => {
            assert!(!errors.is_empty() && errors.len() <= 100);
            assert!(errors.windows(2).all(|w| w[0].line <= w[1].line));
        }
    }
}

/// Stored bytes: a zone row or object that decodes encodes to bytes that
/// decode to the same value; nothing else panics.
pub fn stored_bytes(input: &[u8]) {
    if let Ok(row) = codec::decode_row(input) {
        let again: ZoneRow = codec::decode_row(&codec::encode_row(&row)).expect("an encoded row decodes");
        assert_eq!(again, row);
    }
    fn round_trip<T: crate::store::record::Stored + PartialEq + std::fmt::Debug>(input: &[u8]) {
        if let Ok(value) = codec::decode::<T>(input, "fuzz") {
            assert_eq!(codec::decode::<T>(&codec::encode(&value), "fuzz").ok().as_ref(), Some(&value));
        }
    }
    round_trip::<Contact>(input);
    round_trip::<crate::model::Domain>(input);
    round_trip::<crate::model::Host>(input);
    round_trip::<crate::model::Tld>(input);
    round_trip::<crate::model::Registrar>(input);
    round_trip::<crate::model::PollMessage>(input);
}

/// DNS: every reply to a packet parses as a DNS message with the query's id,
/// is a response, and fits the UDP limit over UDP.
pub fn dns_answer(packet: &[u8], snapshot: &Snapshot, config: &AnswerConfig, scratch: &mut Scratch) {
    for transport in [Transport::Udp, Transport::Tcp] {
        if let Handled::Reply = answer::handle(packet, transport, snapshot, config, scratch, 0) {
            let reply =
                hickory_proto::op::Message::from_vec(&scratch.writer.buf).unwrap_or_else(|e| panic!("unparsable reply to {packet:?}: {e}"));
            assert_eq!(reply.metadata.id, u16::from_be_bytes([packet[0], packet[1]]));
            assert_eq!(reply.metadata.message_type, hickory_proto::op::MessageType::Response);
            if transport == Transport::Udp {
                assert!(scratch.writer.buf.len() <= usize::from(config.udp_payload_max).max(512));
            }
        }
    }
}

/// A registry holding a small TLD zone (a delegation with glue and DS, an
/// external one), for the DNS answer target; its folder goes when it does.
pub struct DnsFixture {
    registry: Option<Registry>,
    writer: Option<WriterThread>,
    dir: PathBuf,
}

impl DnsFixture {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("domain-os-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let store = Store::open(&dir.join("registry.redb"), 16 << 20, crate::store::Upgrade::Refused).expect("a fresh store");
        let settings = WriterSettings {
            roid_suffix: RoidSuffix::parse("FUZZ").expect("a valid suffix"),
            queue_max: 64,
            batch_max: 64,
            journal_entries_max: 16,
            keys: Arc::new(crate::registry::keys::Keys::new(dir.join("keys"))),
        };
        let (registry, writer) = Registry::start(store, Arc::new(SystemClock), settings).expect("the writer starts");
        fn spec<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
            serde_json::from_value(value).expect("a valid fixture command")
        }
        let ds = json!({"key_tag": 12345, "algorithm": 13, "digest_type": 2, "digest": "F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372"});
        let commands = [
            Command::CreateTld(spec(json!({"name": "fuzz", "nameservers": ["a.nic.fuzz", "ns.example.net"]}))),
            Command::CreateRegistrar(spec(json!({"id": "fuzzer", "name": "Fuzzer", "email": "ops@fuzz.example"}))),
            Command::CreateDomain(spec(json!({"name": "nic.fuzz", "registrar": "fuzzer"}))),
            Command::CreateHost(spec(json!({"name": "a.nic.fuzz", "addresses": ["192.0.2.53", "2001:db8::53"]}))),
            Command::CreateDomain(spec(json!({"name": "glue.fuzz", "registrar": "fuzzer"}))),
            Command::CreateHost(spec(json!({"name": "ns.glue.fuzz", "addresses": ["192.0.2.1"]}))),
            Command::UpdateDomain(spec(json!("glue.fuzz")), spec(json!({"add_nameservers": ["ns.glue.fuzz"], "add_ds": [ds]}))),
            Command::CreateHost(spec(json!({"name": "ns.example.net", "registrar": "fuzzer"}))),
            Command::CreateDomain(spec(json!({"name": "away.fuzz", "registrar": "fuzzer", "nameservers": ["ns.example.net"]}))),
        ];
        for command in commands {
            registry.execute_blocking(command).expect("the fixture is valid");
        }
        DnsFixture { registry: Some(registry), writer: Some(writer), dir }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.registry.as_ref().expect("running").snapshot()
    }
}

impl Default for DnsFixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DnsFixture {
    fn drop(&mut self) {
        drop(self.registry.take());
        if let Some(w) = self.writer.take() {
            w.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Deterministic mutations of seed inputs for the bounded runs: byte flips,
/// truncations, insertions and splices, as a fuzzer would start.
pub struct Mutator(u64);

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Mutator(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A mutation of `seed`, with `splice` material for insertions.
    pub fn mutate(&mut self, seed: &[u8], splice: &[&[u8]]) -> Vec<u8> {
        let mut p = seed.to_vec();
        for _ in 0..1 + self.next() % 4 {
            let r = self.next();
            let at = |len: usize| (r >> 8) as usize % (len + 1);
            match r % 5 {
                0 if !p.is_empty() => {
                    let i = at(p.len() - 1);
                    p[i] = (r >> 32) as u8;
                }
                1 => p.truncate(at(p.len())),
                2 => p.insert(at(p.len()), (r >> 24) as u8),
                3 if !splice.is_empty() => {
                    let piece = splice[(r >> 40) as usize % splice.len()];
                    let i = at(p.len());
                    p.splice(i..i, piece.iter().copied());
                }
                _ => {
                    let (a, b) = (at(p.len()), at(p.len()));
                    let (a, b) = (a.min(b), a.max(b));
                    p.drain(a..b);
                }
            }
        }
        p
    }
}
