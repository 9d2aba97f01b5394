//! TSIG (RFC 8945): shared-secret keys read from BIND key files, request
//! verification, and signing of responses — including the chained MACs of
//! multi-message zone transfers — and of the NOTIFY messages we send.

use std::path::Path;

use base64::Engine;
use ring::hmac;

use super::wire::rcode::{FORMERR, NOTAUTH};
use super::wire::{MessageWriter, TsigRr, wire_name_len};
use crate::model::DomainName;

/// TSIG error codes (RFC 8945 §3).
pub mod error {
    pub const BADSIG: u16 = 16;
    pub const BADKEY: u16 = 17;
    pub const BADTIME: u16 = 18;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Self> {
        match name.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "hmac-sha384" => Some(Algorithm::HmacSha384),
            "hmac-sha512" => Some(Algorithm::HmacSha512),
            _ => None,
        }
    }

    fn wire(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha384 => b"\x0bhmac-sha384\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha384 => hmac::HMAC_SHA384,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// One shared secret.
#[derive(Clone)]
pub struct Key {
    pub name: DomainName,
    name_wire: Vec<u8>,
    pub algorithm: Algorithm,
    key: hmac::Key,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl Key {
    pub fn new(name: DomainName, algorithm: Algorithm, secret: &[u8]) -> Self {
        Key { name_wire: name.to_wire(), name, algorithm, key: hmac::Key::new(algorithm.ring(), secret) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Syntax(String, String),
}

/// All configured keys.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    pub fn new(keys: Vec<Key>) -> Self {
        Keyring { keys }
    }

    pub fn load(files: &[impl AsRef<Path>]) -> Result<Self, KeyFileError> {
        let mut keys = Vec::new();
        for file in files {
            let path = file.as_ref().display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| KeyFileError::Read(path.clone(), e))?;
            keys.extend(parse_key_file(&text).map_err(|m| KeyFileError::Syntax(path.clone(), m))?);
        }
        Ok(Keyring { keys })
    }

    pub fn get(&self, name: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.name.as_str().eq_ignore_ascii_case(name.trim_end_matches('.')))
    }

    fn by_wire(&self, name_wire: &[u8], algorithm_wire: &[u8]) -> Option<&Key> {
        self.keys.iter().find(|k| k.name_wire.eq_ignore_ascii_case(name_wire) && k.algorithm.wire().eq_ignore_ascii_case(algorithm_wire))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Parses BIND key statements: `key "name" { algorithm hmac-sha256; secret "base64"; };`
pub fn parse_key_file(text: &str) -> Result<Vec<Key>, String> {
    let cleaned: String = text
        .lines()
        .map(|l| {
            let l = l.split("//").next().unwrap_or("");
            l.split('#').next().unwrap_or("")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut tokens = tokenize(&cleaned).into_iter().peekable();
    let mut keys = Vec::new();
    while let Some(tok) = tokens.next() {
        if tok != "key" {
            return Err(format!("expected 'key', found {tok:?}"));
        }
        let name = tokens.next().ok_or("key name missing")?;
        let name = DomainName::parse(name.trim_matches('"')).map_err(|e| format!("key name: {e}"))?;
        if tokens.next().as_deref() != Some("{") {
            return Err(format!("expected '{{' after key {name}"));
        }
        let (mut algorithm, mut secret) = (None, None);
        loop {
            let field = tokens.next().ok_or("unterminated key statement")?;
            if field == "}" {
                break;
            }
            let value = tokens.next().ok_or_else(|| format!("{field} needs a value"))?;
            if tokens.next().as_deref() != Some(";") {
                return Err(format!("expected ';' after {field}"));
            }
            match field.as_str() {
                "algorithm" => {
                    algorithm = Some(Algorithm::parse(value.trim_matches('"')).ok_or_else(|| format!("unsupported algorithm {value}"))?)
                }
                "secret" => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(value.trim_matches('"'))
                        .map_err(|e| format!("secret of {name} is not base64: {e}"))?;
                    secret = Some(decoded);
                }
                other => return Err(format!("unknown key field {other}")),
            }
        }
        if tokens.peek().map(String::as_str) == Some(";") {
            tokens.next();
        }
        let algorithm = algorithm.ok_or_else(|| format!("key {name} has no algorithm"))?;
        let secret = secret.ok_or_else(|| format!("key {name} has no secret"))?;
        keys.push(Key::new(name, algorithm, &secret));
    }
    Ok(keys)
}

fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "{};".contains(c) {
            out.push(c.to_string());
            chars.next();
        } else if c == '"' {
            let mut s = String::from('"');
            chars.next();
            for d in chars.by_ref() {
                s.push(d);
                if d == '"' {
                    break;
                }
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() || "{};".contains(d) {
                    break;
                }
                s.push(d);
                chars.next();
            }
            out.push(s);
        }
    }
    out
}

/// A refused TSIG check: NOTAUTH with a TSIG error saying why, or FORMERR
/// (no TSIG record) for a MAC of impossible length.
#[derive(Debug, Clone)]
pub struct Failure {
    pub rcode: u16,
    pub error: u16,
    /// For BADTIME the response is signed with the key that was recognised.
    pub key: Option<Key>,
    pub request_mac: Vec<u8>,
}

/// Signs the responses to a verified request, chaining MACs across messages.
#[derive(Debug, Clone)]
pub struct Signer {
    key: Key,
    prior_mac: Vec<u8>,
    first: bool,
    original_id: u16,
}

/// Allowed clock difference when we sign (seconds).
const FUDGE_S: u16 = 300;

fn variables(out: &mut Vec<u8>, key: &Key, time: u64, fudge: u16, error: u16, other: &[u8], timers_only: bool) {
    if !timers_only {
        out.extend_from_slice(&key.name_wire.to_ascii_lowercase());
        out.extend_from_slice(&255u16.to_be_bytes()); // class ANY
        out.extend_from_slice(&0u32.to_be_bytes()); // TTL
        out.extend_from_slice(key.algorithm.wire());
    }
    out.extend_from_slice(&time.to_be_bytes()[2..]);
    out.extend_from_slice(&fudge.to_be_bytes());
    if !timers_only {
        out.extend_from_slice(&error.to_be_bytes());
        out.extend_from_slice(&(other.len() as u16).to_be_bytes());
        out.extend_from_slice(other);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies a request's TSIG. `now` is Unix seconds.
pub fn verify_request(keyring: &Keyring, packet: &[u8], tsig: &TsigRr<'_>, now: u64) -> Result<Signer, Box<Failure>> {
    let unsigned = |error| Box::new(Failure { rcode: NOTAUTH, error, key: None, request_mac: Vec::new() });
    let key = keyring.by_wire(tsig.key_name, tsig.algorithm).ok_or_else(|| unsigned(error::BADKEY))?;
    let full = key.algorithm.mac_len();
    // RFC 8945 §5.2.2.1: longer than the hash, or truncated below half of it or 10 bytes: FORMERR.
    if tsig.mac.len() > full || tsig.mac.len() < (full / 2).max(10) {
        return Err(Box::new(Failure { rcode: FORMERR, error: 0, key: None, request_mac: Vec::new() }));
    }
    let mut data = Vec::with_capacity(tsig.start + 128);
    data.extend_from_slice(&tsig.original_id.to_be_bytes());
    data.extend_from_slice(&packet[2..tsig.start]);
    let arcount = u16::from_be_bytes([packet[10], packet[11]]).saturating_sub(1);
    data[10..12].copy_from_slice(&arcount.to_be_bytes());
    variables(&mut data, key, tsig.time_signed, tsig.fudge, tsig.error, tsig.other, false);
    let mac = hmac::sign(&key.key, &data);
    if !constant_time_eq(&mac.as_ref()[..tsig.mac.len()], tsig.mac) {
        return Err(unsigned(error::BADSIG));
    }
    if now.abs_diff(tsig.time_signed) > tsig.fudge as u64 {
        return Err(Box::new(Failure { rcode: NOTAUTH, error: error::BADTIME, key: Some(key.clone()), request_mac: tsig.mac.to_vec() }));
    }
    Ok(Signer { key: key.clone(), prior_mac: tsig.mac.to_vec(), first: true, original_id: tsig.original_id })
}

impl Signer {
    /// Signs a key's first message of an exchange we start (NOTIFY).
    pub fn for_request(key: &Key, id: u16) -> Self {
        Signer { key: key.clone(), prior_mac: Vec::new(), first: true, original_id: id }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Room the TSIG record takes at the end of a message.
    pub fn reserve_bytes(&self) -> usize {
        self.key.name_wire.len() + 10 + self.key.algorithm.wire().len() + 16 + self.key.algorithm.mac_len() + 6
    }

    /// Appends the TSIG record to a finished message. `now` is Unix seconds.
    pub fn sign(&mut self, msg: &mut MessageWriter, now: u64) {
        let mac = {
            let body = msg.finish();
            let mut data = Vec::with_capacity(body.len() + 128);
            if !self.prior_mac.is_empty() {
                data.extend_from_slice(&(self.prior_mac.len() as u16).to_be_bytes());
                data.extend_from_slice(&self.prior_mac);
            }
            data.extend_from_slice(body);
            variables(&mut data, &self.key, now, FUDGE_S, 0, &[], !self.first);
            hmac::sign(&self.key.key, &data).as_ref().to_vec()
        };
        let record = tsig_record(&self.key, now, &mac, self.original_id, 0, &[]);
        msg.append_additional(&record);
        self.prior_mac = mac;
        self.first = false;
    }
}

impl Failure {
    /// Appends the TSIG record that tells the client why: unsigned for
    /// BADKEY/BADSIG, signed for BADTIME (with our clock in "other data").
    pub fn append(&self, msg: &mut MessageWriter, original_id: u16, algorithm_wire: &[u8], key_name_wire: &[u8], now: u64) {
        msg.set_rcode(self.rcode);
        if self.rcode != NOTAUTH {
            msg.finish();
            return;
        }
        match &self.key {
            Some(key) if self.error == error::BADTIME => {
                let other = now.to_be_bytes()[2..].to_vec();
                let mac = {
                    let body = msg.finish();
                    let mut data = Vec::with_capacity(body.len() + 128);
                    data.extend_from_slice(&(self.request_mac.len() as u16).to_be_bytes());
                    data.extend_from_slice(&self.request_mac);
                    data.extend_from_slice(body);
                    variables(&mut data, key, now, FUDGE_S, self.error, &other, false);
                    hmac::sign(&key.key, &data).as_ref().to_vec()
                };
                msg.append_additional(&tsig_record(key, now, &mac, original_id, self.error, &other));
            }
            _ => {
                let mut record = Vec::with_capacity(64);
                record.extend_from_slice(key_name_wire);
                push_tsig_rdata(&mut record, algorithm_wire, now, &[], original_id, self.error, &[]);
                msg.append_additional(&record);
            }
        }
    }
}

fn tsig_record(key: &Key, now: u64, mac: &[u8], original_id: u16, error: u16, other: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(key.name_wire.len() + 64 + mac.len());
    record.extend_from_slice(&key.name_wire);
    push_tsig_rdata(&mut record, key.algorithm.wire(), now, mac, original_id, error, other);
    record
}

fn push_tsig_rdata(record: &mut Vec<u8>, algorithm_wire: &[u8], now: u64, mac: &[u8], original_id: u16, error: u16, other: &[u8]) {
    record.extend_from_slice(&super::wire::qtype::TSIG.to_be_bytes());
    record.extend_from_slice(&255u16.to_be_bytes());
    record.extend_from_slice(&0u32.to_be_bytes());
    let alg = &algorithm_wire[..wire_name_len(algorithm_wire).unwrap_or(algorithm_wire.len())];
    let rdlen = alg.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2 + other.len();
    record.extend_from_slice(&(rdlen as u16).to_be_bytes());
    record.extend_from_slice(alg);
    record.extend_from_slice(&now.to_be_bytes()[2..]);
    record.extend_from_slice(&FUDGE_S.to_be_bytes());
    record.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    record.extend_from_slice(mac);
    record.extend_from_slice(&original_id.to_be_bytes());
    record.extend_from_slice(&error.to_be_bytes());
    record.extend_from_slice(&(other.len() as u16).to_be_bytes());
    record.extend_from_slice(other);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::{Request, flags};

    const KEY_FILE: &str = r#"
        // transfer key
        key "xfr-key." {
            algorithm hmac-sha256;
            secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==";
        };
        key other { algorithm "hmac-sha512"; secret "AAAA"; };
    "#;

    #[test]
    fn parses_bind_key_files() {
        let keys = parse_key_file(KEY_FILE).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].name.as_str(), "xfr-key");
        assert_eq!(keys[0].algorithm, Algorithm::HmacSha256);
        assert_eq!(keys[1].algorithm, Algorithm::HmacSha512);
        assert!(parse_key_file("key x { algorithm md5; secret \"AA==\"; };").is_err());
        assert!(parse_key_file("key x { secret \"!!\"; };").is_err());
        assert!(parse_key_file("zone x {};").is_err());
    }

    /// Signs a request the way a client does, then checks our verifier and
    /// that our signed response verifies with the request MAC chained in.
    #[test]
    fn round_trip_sign_and_verify() {
        let keyring = Keyring::new(parse_key_file(KEY_FILE).unwrap());
        let key = keyring.get("xfr-key").unwrap().clone();
        let mut w = MessageWriter::default();
        let question = b"\x07example\x00\x00\xfc\x00\x01";
        w.start(0x4242, 0, Some(question), 65535);
        let mut client = Signer::for_request(&key, 0x4242);
        client.sign(&mut w, 1_000_000);
        let packet = w.finish().to_vec();

        let request = Request::parse(&packet).unwrap();
        let tsig = request.tsig.unwrap();
        let mut server = verify_request(&keyring, &packet, &tsig, 1_000_010).unwrap();

        let mut tampered = packet.clone();
        tampered[13] ^= 0x20; // change a letter's case in the question
        let t = Request::parse(&tampered).unwrap();
        assert_eq!(verify_request(&keyring, &tampered, &t.tsig.unwrap(), 1_000_010).unwrap_err().error, error::BADSIG);
        assert_eq!(verify_request(&keyring, &packet, &tsig, 2_000_000).unwrap_err().error, error::BADTIME);
        assert_eq!(verify_request(&Keyring::default(), &packet, &tsig, 1_000_010).unwrap_err().error, error::BADKEY);
        let short = crate::dns::wire::TsigRr { mac: &tsig.mac[..8], ..tsig };
        assert_eq!(verify_request(&keyring, &packet, &short, 1_000_010).unwrap_err().rcode, crate::dns::wire::rcode::FORMERR);

        let mut response = MessageWriter::default();
        response.start(0x4242, flags::QR | flags::AA, Some(question), 65535);
        server.sign(&mut response, 1_000_011);
        let bytes = response.finish().to_vec();
        let parsed_tsig_start = bytes.len() - (key.name.to_wire().len() + 10 + 13 + 10 + 32 + 6);
        assert_eq!(&bytes[parsed_tsig_start..parsed_tsig_start + 9], b"\x07xfr-key\x00");
    }
}
