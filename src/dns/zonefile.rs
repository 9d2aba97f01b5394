//! Zone files. Writing: a TLD zone from one snapshot in BIND master-file
//! form, or in ICANN's CZDS form (one record per line, fully qualified,
//! lower-case, tab-separated, SOA first and last, no directives or
//! comments), replaced atomically. Reading: a TLD zone file turned into the
//! delegations, DS records and glue that an import needs, and the apex
//! (SOA, NS) and TTLs it kept, with every problem reported by line number
//! before anything is written.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;

use super::wire::{name_to_text, wire_name_len};
use crate::model::Timestamp;
use crate::model::dnssec::{RrsigFields, base32hex, bitmap_types};
use crate::model::objects::hex_bytes;
use crate::model::zone::rtype;
use crate::model::{ClientId, DomainName, DsData, HostName};
use crate::registry::import_data::{FileFacts, FileSoa, ImportDelegation, TtlKind, ZoneImport};
use crate::store::codec::RowView;
use crate::store::{Snapshot, StoreError, ZoneApex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Bind,
    Czds,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub tld: DomainName,
    pub path: PathBuf,
    pub serial: u32,
    pub records: usize,
}

/// Writes `zone` from `snapshot` to `out`; returns the number of records.
pub fn write_zone(
    snapshot: &Snapshot,
    zone: &ZoneApex,
    format: Format,
    out: &mut impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<usize, ExportError> {
    let apex = name_to_text(&zone.wire);
    let soa = format_rr(&apex, zone.soa_ttl(), rtype::SOA, &zone.soa_rdata, format);
    if format == Format::Bind {
        writeln!(out, "; zone {apex} serial {} — written by domain-os from one committed snapshot", zone.serial())?;
    }
    out.write_all(soa.as_bytes())?;
    let mut records = 1;
    let mut rows = 0u64;
    let mut owner_wire = Vec::with_capacity(256);
    for item in snapshot.zone_rows(zone)? {
        let (key, value) = item?;
        super::wire::key_to_wire(&key, &mut owner_wire);
        let owner = name_to_text(&owner_wire);
        let row = RowView::new(value.value())?;
        records += write_row(out, &owner, row, format)?;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_ROWS) {
            progress(records as u64);
        }
    }
    if format == Format::Bind {
        for item in snapshot.nsec3_rows(zone)? {
            let (hash, value) = item?;
            super::wire::nsec3_owner(&zone.wire, &hash, &mut owner_wire);
            records += write_row(out, &name_to_text(&owner_wire), RowView::new(value.value())?, format)?;
        }
    }
    if format == Format::Czds {
        out.write_all(soa.as_bytes())?;
        records += 1;
    }
    out.flush()?;
    progress(records as u64);
    Ok(records)
}

/// Rows between two progress reports of an export.
const PROGRESS_ROWS: u64 = 65_536;

/// Writes `<dir>/<tld>.zone` (or `.czds.txt`) via a temporary file and a rename,
/// so readers never see half a zone.
pub fn export(
    snapshot: &Snapshot,
    tld: &DomainName,
    format: Format,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, ExportError> {
    let zone = snapshot.zone(tld).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no TLD {tld}")))?;
    std::fs::create_dir_all(dir)?;
    let file_name = match format {
        Format::Bind => format!("{tld}.zone"),
        Format::Czds => format!("{tld}.czds.txt"),
    };
    let path = dir.join(file_name);
    let tmp = dir.join(format!(".{tld}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        let records = write_zone(snapshot, zone, format, &mut out, progress)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok::<_, ExportError>(records)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(ExportSummary { tld: tld.clone(), path, serial: zone.serial(), records: result? })
}

/// Writes the RRs of one row; CZDS files leave out what signing added
/// (ICANN's zone file access carries the unsigned zone).
fn write_row(out: &mut impl Write, owner: &str, row: RowView<'_>, format: Format) -> io::Result<usize> {
    let mut records = 0;
    for set in row.rrsets() {
        if format == Format::Czds && matches!(set.rtype, rtype::RRSIG | rtype::DNSKEY | rtype::NSEC | rtype::NSEC3 | rtype::NSEC3PARAM) {
            continue;
        }
        for (ttl, rdata) in set.rrs() {
            out.write_all(format_rr(owner, ttl, set.rtype, rdata, format).as_bytes())?;
            records += 1;
        }
    }
    Ok(records)
}

fn format_rr(owner: &str, ttl: u32, rt: u16, rdata: &[u8], format: Format) -> String {
    let mut line = format!("{owner}\t{ttl}\tIN\t{}\t", rtype::mnemonic(rt));
    format_rdata(&mut line, rt, rdata);
    if format == Format::Czds {
        line.make_ascii_lowercase();
    }
    line.push('\n');
    line
}

fn format_rdata(out: &mut String, rt: u16, rdata: &[u8]) {
    match rt {
        rtype::A if rdata.len() == 4 => {
            let _ = write!(out, "{}", Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]));
        }
        rtype::AAAA if rdata.len() == 16 => {
            let octets: [u8; 16] = rdata.try_into().unwrap_or([0; 16]);
            let _ = write!(out, "{}", Ipv6Addr::from(octets));
        }
        rtype::NS => out.push_str(&name_to_text(rdata)),
        rtype::DS if rdata.len() > 4 => {
            let key_tag = u16::from_be_bytes([rdata[0], rdata[1]]);
            let _ = write!(out, "{key_tag} {} {} {}", rdata[2], rdata[3], hex_bytes::encode_upper(&rdata[4..]));
        }
        rtype::SOA => {
            let m = wire_name_len(rdata).unwrap_or(rdata.len());
            let r = m + wire_name_len(&rdata[m..]).unwrap_or(0);
            let nums: Vec<u32> = rdata[r..].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
            let _ = write!(out, "{} {}", name_to_text(&rdata[..m]), name_to_text(&rdata[m..r]));
            for n in nums {
                let _ = write!(out, " {n}");
            }
        }
        rtype::DNSKEY if rdata.len() > 4 => {
            let flags = u16::from_be_bytes([rdata[0], rdata[1]]);
            let _ = write!(out, "{flags} {} {} {}", rdata[2], rdata[3], base64::engine::general_purpose::STANDARD.encode(&rdata[4..]));
        }
        rtype::RRSIG if RrsigFields::parse(rdata).is_some() => {
            let (f, signature) = RrsigFields::parse(rdata).expect("checked by the guard");
            let time = |t: u32| Timestamp::from_unix_seconds(i64::from(t)).to_rfc3339_seconds().replace(['-', ':', 'T', 'Z'], "");
            let _ = write!(
                out,
                "{} {} {} {} {} {} {} {} {}",
                rtype::mnemonic(f.type_covered),
                f.algorithm,
                f.labels,
                f.original_ttl,
                time(f.expiration),
                time(f.inception),
                f.key_tag,
                name_to_text(&f.signer),
                base64::engine::general_purpose::STANDARD.encode(signature)
            );
        }
        rtype::NSEC if wire_name_len(rdata).is_some() => {
            let next = wire_name_len(rdata).expect("checked by the guard");
            out.push_str(&name_to_text(&rdata[..next]));
            for t in bitmap_types(&rdata[next..]) {
                let _ = write!(out, " {}", rtype::mnemonic(t));
            }
        }
        rtype::NSEC3 | rtype::NSEC3PARAM if rdata.len() >= 5 + rdata.get(4).copied().unwrap_or(255) as usize => {
            let salt_end = 5 + rdata[4] as usize;
            let salt = if rdata[4] == 0 { "-".to_string() } else { hex_bytes::encode_upper(&rdata[5..salt_end]) };
            let iterations = u16::from_be_bytes([rdata[2], rdata[3]]);
            let _ = write!(out, "{} {} {iterations} {salt}", rdata[0], rdata[1]);
            if rt == rtype::NSEC3 && salt_end < rdata.len() {
                let hash_end = (salt_end + 1 + rdata[salt_end] as usize).min(rdata.len());
                let _ = write!(out, " {}", base32hex(&rdata[salt_end + 1..hash_end]).to_ascii_uppercase());
                for t in bitmap_types(&rdata[hash_end..]) {
                    let _ = write!(out, " {}", rtype::mnemonic(t));
                }
            }
        }
        _ => {
            // RFC 3597 generic form.
            let _ = write!(out, "\\# {} {}", rdata.len(), hex_bytes::encode_upper(rdata));
        }
    }
}

// ------------------------------------------------------------------ reading

/// A problem at a line of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import takes from a zone file.
#[derive(Debug, Default)]
pub struct ParsedZone {
    pub delegations: Vec<ImportDelegation>,
    pub glue: HashMap<HostName, Vec<IpAddr>>,
    pub records: usize,
    pub facts: FileFacts,
}

impl ParsedZone {
    /// The import command for this file: `registrar` sponsors what it creates in `tld`.
    pub fn into_import(self, tld: DomainName, registrar: ClientId, period_years: u32, apex_from_file: bool) -> ZoneImport {
        ZoneImport {
            tld,
            registrar,
            delegations: self.delegations,
            glue: self.glue,
            file: self.facts,
            apex_from_file,
            period_years,
            progress: None,
        }
    }
}

/// Stop collecting errors after this many; the file is rejected anyway.
const LINE_ERRORS_MAX: usize = 100;

#[derive(Default)]
struct Delegation {
    nameservers: Vec<HostName>,
    ds: Vec<DsData>,
    ds_line: usize,
}

struct Parser {
    apex: DomainName,
    origin: DomainName,
    last_owner: Option<DomainName>,
    delegations: BTreeMap<Vec<u8>, (DomainName, Delegation)>,
    addresses: HashMap<HostName, Vec<(IpAddr, Option<u32>)>>,
    /// In-zone name server targets and the first line naming them.
    targets: HashMap<HostName, usize>,
    /// `$TTL`, and the last TTL a record stated (RFC 1035 §5.1 carries it on).
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    zone: ParsedZone,
    errors: Vec<LineError>,
}

/// Reads a zone file for the TLD `apex`. On any problem, returns every line error found.
pub fn parse_for_import(apex: &DomainName, input: impl BufRead) -> Result<ParsedZone, Vec<LineError>> {
    let mut p = Parser {
        apex: apex.clone(),
        origin: apex.clone(),
        last_owner: None,
        delegations: BTreeMap::new(),
        addresses: HashMap::new(),
        targets: HashMap::new(),
        default_ttl: None,
        last_ttl: None,
        zone: ParsedZone::default(),
        errors: Vec::new(),
    };
    let mut pending = String::new();
    let mut pending_line = 0;
    let mut depth = 0i32;
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                p.error(number, format!("cannot read: {e}"));
                break;
            }
        };
        let content = strip_comment(&line);
        if depth == 0 {
            pending.clear();
            pending_line = number;
        }
        depth += content.matches('(').count() as i32 - content.matches(')').count() as i32;
        pending.push_str(content);
        pending.push(' ');
        if depth < 0 {
            p.error(number, "unbalanced ')'".into());
            depth = 0;
            continue;
        }
        if depth == 0 {
            let record = pending.replace(['(', ')'], " ");
            if let Err(message) = p.record(&record, line.starts_with([' ', '\t']), pending_line) {
                p.error(pending_line, message);
            }
        }
        if p.errors.len() >= LINE_ERRORS_MAX {
            break;
        }
    }
    if depth != 0 {
        p.error(pending_line, "unterminated '('".into());
    }
    p.finish()
}

fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

/// TTL in seconds, with BIND's unit suffixes (`1h30m`).
fn parse_ttl(text: &str) -> Option<u32> {
    if let Ok(n) = text.parse::<u32>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total += digits.parse::<u64>().ok()? * unit;
        digits.clear();
    }
    if !digits.is_empty() {
        return None;
    }
    u32::try_from(total).ok()
}

const DNSSEC_TYPES: &[&str] = &["RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY", "ZONEMD"];

impl Parser {
    fn error(&mut self, line: usize, message: String) {
        if self.errors.len() < LINE_ERRORS_MAX {
            self.errors.push(LineError { line, message });
        }
    }

    fn name(&self, text: &str) -> Result<DomainName, String> {
        let absolute = if text == "@" {
            self.origin.to_string()
        } else if text.ends_with('.') {
            text.to_string()
        } else {
            format!("{text}.{}", self.origin)
        };
        if absolute.contains('\\') {
            return Err(format!("escaped characters are not valid in registry names: {text}"));
        }
        DomainName::parse(&absolute).map_err(|e| format!("{text}: {e}"))
    }

    fn record(&mut self, text: &str, inherits_owner: bool, line: usize) -> Result<(), String> {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let Some(&first) = tokens.first() else {
            return Ok(());
        };
        match first.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                let origin = tokens.get(1).ok_or("$ORIGIN needs a name")?;
                self.origin = self.name(origin)?;
                return Ok(());
            }
            "$TTL" => {
                let ttl = tokens.get(1).ok_or("$TTL needs a value")?;
                self.default_ttl = Some(parse_ttl(ttl).ok_or_else(|| format!("bad TTL {ttl}"))?);
                return Ok(());
            }
            d if d.starts_with('$') => return Err(format!("{first} is not supported")),
            _ => {}
        }
        let mut rest = &tokens[..];
        let owner = if inherits_owner {
            self.last_owner.clone().ok_or("a record without an owner name")?
        } else {
            rest = &rest[1..];
            self.name(first)?
        };
        self.last_owner = Some(owner.clone());
        // TTL and class, in either order, both optional.
        let mut ttl = None;
        while let Some(&t) = rest.first() {
            if let Some(stated) = parse_ttl(t) {
                ttl = Some(stated);
                rest = &rest[1..];
            } else if t.eq_ignore_ascii_case("IN") {
                rest = &rest[1..];
            } else if ["CH", "HS", "CS"].iter().any(|c| t.eq_ignore_ascii_case(c)) {
                return Err(format!("class {t} is not IN"));
            } else {
                break;
            }
        }
        if ttl.is_some() {
            self.last_ttl = ttl;
        }
        let ttl = ttl.or(self.default_ttl).or(self.last_ttl);
        let (&rtype_text, rdata) = rest.split_first().ok_or("record type missing")?;
        let rtype_upper = rtype_text.to_ascii_uppercase();
        self.zone.records += 1;
        if !owner.is_at_or_below(&self.apex) {
            return Err(format!("{owner} is outside the zone {}", self.apex));
        }
        match rtype_upper.as_str() {
            "SOA" if owner == self.apex => self.soa(rdata, ttl),
            "NS" if owner == self.apex => {
                let [target] = rdata else {
                    return Err("NS needs exactly one name server name".into());
                };
                let target = self.name(target)?;
                if !self.zone.facts.nameservers.contains(&target) {
                    self.count_ttl(TtlKind::ApexNs, ttl);
                    if target.is_below(&self.apex) {
                        self.targets.entry(target.clone()).or_insert(line);
                    }
                    self.zone.facts.nameservers.push(target);
                }
                Ok(())
            }
            "SOA" => Err("SOA below the apex".into()),
            "NS" | "DS" => {
                if owner.parent().as_ref() != Some(&self.apex) {
                    return Err(format!("{owner} is not directly below {}; only registrable names can be delegated", self.apex));
                }
                self.delegation(owner, &rtype_upper, rdata, ttl, line)
            }
            "A" | "AAAA" => {
                if owner == self.apex {
                    return Err("address records at the apex cannot be imported".into());
                }
                let [addr] = rdata else {
                    return Err(format!("{rtype_upper} needs exactly one address"));
                };
                let ip: IpAddr = match rtype_upper.as_str() {
                    "A" => addr.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| format!("bad IPv4 address {addr}"))?,
                    _ => addr.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| format!("bad IPv6 address {addr}"))?,
                };
                let addrs = self.addresses.entry(owner).or_default();
                if !addrs.iter().any(|(a, _)| *a == ip) {
                    addrs.push((ip, ttl));
                }
                Ok(())
            }
            t if DNSSEC_TYPES.contains(&t) => {
                self.zone.facts.dnssec_records += 1;
                Ok(())
            }
            other => Err(format!("{other} records cannot be imported into a TLD zone")),
        }
    }

    fn count_ttl(&mut self, kind: TtlKind, ttl: Option<u32>) {
        if let Some(ttl) = ttl {
            *self.zone.facts.ttls.entry((kind, ttl)).or_default() += 1;
        }
    }

    fn soa(&mut self, rdata: &[&str], ttl: Option<u32>) -> Result<(), String> {
        if self.zone.facts.soa.is_some() {
            return Err("a second SOA record".into());
        }
        let [mname, rname, serial, timers @ ..] = rdata else {
            return Err("SOA needs MNAME, RNAME, serial, refresh, retry, expire and minimum".into());
        };
        let [refresh_s, retry_s, expire_s, minimum_s] = match timers {
            [a, b, c, d] => [a, b, c, d].map(|t| parse_ttl(t).ok_or_else(|| format!("bad SOA timer {t}"))),
            _ => return Err("SOA needs MNAME, RNAME, serial, refresh, retry, expire and minimum".into()),
        };
        let (refresh_s, retry_s, expire_s, minimum_s) = (refresh_s?, retry_s?, expire_s?, minimum_s?);
        self.zone.facts.soa = Some(FileSoa {
            mname: self.name(mname)?,
            rname: self.name(rname)?,
            serial: serial.parse().map_err(|_| format!("bad SOA serial {serial}"))?,
            refresh_s,
            retry_s,
            expire_s,
            minimum_s,
            // A SOA without any TTL in force takes its minimum, as BIND does.
            ttl_s: ttl.unwrap_or(minimum_s),
        });
        Ok(())
    }

    fn delegation(&mut self, owner: DomainName, rtype_upper: &str, rdata: &[&str], ttl: Option<u32>, line: usize) -> Result<(), String> {
        // Check the record before it can create a delegation entry.
        let (target, ds) = if rtype_upper == "NS" {
            let [target] = rdata else {
                return Err("NS needs exactly one name server name".into());
            };
            let absolute = if target.ends_with('.') { target.to_string() } else { format!("{target}.{}", self.origin) };
            (Some(DomainName::parse(&absolute).map_err(|e| format!("{target}: {e}"))?), None)
        } else {
            (None, Some(DsData::parse_presentation(&rdata.join(" ")).map_err(|e| e.to_string())?))
        };
        let (_, d) = self.delegations.entry(owner.canonical_key()).or_insert_with(|| (owner, Delegation::default()));
        let mut counted = None;
        if let Some(target) = target {
            if !d.nameservers.contains(&target) {
                d.nameservers.push(target.clone());
                counted = Some(TtlKind::DelegationNs);
            }
            if target.is_below(&self.apex) {
                self.targets.entry(target).or_insert(line);
            }
        }
        if let Some(ds) = ds {
            if !d.ds.contains(&ds) {
                d.ds.push(ds);
                counted = Some(TtlKind::Ds);
            }
            d.ds_line = line;
        }
        if let Some(kind) = counted {
            self.count_ttl(kind, ttl);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ParsedZone, Vec<LineError>> {
        let mut delegations = Vec::with_capacity(self.delegations.len());
        for (_, (name, d)) in std::mem::take(&mut self.delegations) {
            if d.nameservers.is_empty() {
                self.errors.push(LineError { line: d.ds_line, message: format!("DS for {name} without NS records") });
                continue;
            }
            delegations.push(ImportDelegation { name, nameservers: d.nameservers, ds: d.ds });
        }
        let mut missing: Vec<(usize, HostName)> =
            self.targets.iter().filter(|(t, _)| !self.addresses.contains_key(*t)).map(|(t, l)| (*l, t.clone())).collect();
        missing.sort();
        for (line, target) in missing {
            self.errors.push(LineError { line, message: format!("name server {target} is in the zone but has no address records (glue)") });
        }
        for (host, addrs) in std::mem::take(&mut self.addresses) {
            if self.targets.contains_key(&host) {
                for (_, ttl) in &addrs {
                    self.count_ttl(TtlKind::Glue, *ttl);
                }
                self.zone.glue.insert(host, addrs.into_iter().map(|(a, _)| a).collect());
            } else {
                self.zone.facts.unused_address_records += addrs.len();
            }
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| e.line);
            self.errors.truncate(LINE_ERRORS_MAX);
            return Err(self.errors);
        }
        self.zone.delegations = delegations;
        Ok(self.zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedZone, Vec<LineError>> {
        parse_for_import(&DomainName::parse("mig").unwrap(), text.as_bytes())
    }

    #[test]
    fn the_apex_and_the_ttls_in_force_are_read() {
        let zone = parse(
            "$ORIGIN mig.\n\
             @ 7200 IN SOA a.nic hostmaster.nic.mig. ( 2024010101 2h 30m 2w 300 )\n\
             $TTL 86400\n\
             @ IN NS a.nic\n\
             @ IN NS ns.example.net.\n\
             a.nic 600 IN A 192.0.2.53\n\
             nic IN NS a.nic\n\
             one 3600 IN NS ns.example.net.\n\
             one IN DS 1 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372\n\
             two IN NS ns.example.net.\n\
             two IN RRSIG NS 13 2 3600 20270101000000 20261201000000 1 mig. AAAA\n\
             spare.nic IN A 192.0.2.99\n",
        )
        .unwrap();
        let f = &zone.facts;
        let soa = f.soa.as_ref().unwrap();
        assert_eq!(
            (soa.serial, soa.refresh_s, soa.retry_s, soa.expire_s, soa.minimum_s, soa.ttl_s),
            (2024010101, 7200, 1800, 1_209_600, 300, 7200)
        );
        assert_eq!((soa.mname.to_string(), soa.rname.to_string()), ("a.nic.mig".into(), "hostmaster.nic.mig".into()));
        assert_eq!(f.nameservers.iter().map(|n| n.to_string()).collect::<Vec<_>>(), ["a.nic.mig", "ns.example.net"]);
        // $TTL governs records without their own; a stated TTL is that record's alone.
        let ttls: Vec<_> = f.ttls.iter().map(|(&(kind, ttl), &n)| (kind, ttl, n)).collect();
        assert_eq!(
            ttls,
            [
                (TtlKind::ApexNs, 86400, 2),
                (TtlKind::DelegationNs, 3600, 1),
                (TtlKind::DelegationNs, 86400, 2),
                (TtlKind::Ds, 86400, 1),
                (TtlKind::Glue, 600, 1)
            ]
        );
        assert_eq!((f.dnssec_records, f.unused_address_records), (1, 1));
        assert!(zone.glue.contains_key(&DomainName::parse("a.nic.mig").unwrap()), "the apex name server keeps its address");
    }

    #[test]
    fn an_in_zone_apex_name_server_needs_its_address_and_one_soa_is_allowed() {
        let errors = parse("@ IN SOA a.nic.mig. h.mig. 1 2 1 9 1\n@ IN SOA a.nic.mig. h.mig. 2 2 1 9 1\n@ IN NS a.nic.mig.\n").unwrap_err();
        let messages: Vec<_> = errors.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(messages, [(2, "a second SOA record"), (3, "name server a.nic.mig is in the zone but has no address records (glue)")]);
        let errors = parse("@ IN SOA a.nic.mig. h.mig. 1 2 1\n").unwrap_err();
        assert!(errors[0].message.contains("SOA needs"), "{errors:?}");
    }
}
