//! DNS messages on the wire (RFC 1035 §4, RFC 6891, RFC 8945): a parser for
//! incoming requests that borrows the packet and never allocates, and a
//! message writer with name compression and a hard size limit, reused across
//! queries. Anything malformed is reported, never panicked on.

/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2).
pub mod flags {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const CD: u16 = 0x0010;
}

pub mod opcode {
    pub const QUERY: u8 = 0;
    pub const NOTIFY: u8 = 4;
}

pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const NOTAUTH: u16 = 9;
    /// Extended (RFC 6891): needs the OPT record's upper bits.
    pub const BADVERS: u16 = 16;
}

pub mod class {
    pub const IN: u16 = 1;
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;
}

/// Types with protocol meaning beyond plain data.
pub mod qtype {
    pub const OPT: u16 = 41;
    pub const TKEY: u16 = 249;
    pub const TSIG: u16 = 250;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const MAILB: u16 = 253;
    pub const MAILA: u16 = 254;
    pub const ANY: u16 = 255;
}

/// EDNS option codes.
const OPTION_NSID: u16 = 3;

pub const HEADER_BYTES: usize = 12;
pub const NAME_BYTES_MAX: usize = 255;

/// Why a packet cannot be answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Too short to carry a header, or a response: drop silently.
    Drop,
    /// Malformed: answer FORMERR (the header is known).
    FormErr,
}

/// A name read from a packet: uncompressed wire form, lower-cased, and the
/// offsets where each label starts.
#[derive(Clone)]
pub struct NameBuf {
    bytes: [u8; NAME_BYTES_MAX],
    len: u8,
    label_starts: [u8; 128],
    labels: u8,
}

impl Default for NameBuf {
    fn default() -> Self {
        NameBuf { bytes: [0; NAME_BYTES_MAX], len: 0, label_starts: [0; 128], labels: 0 }
    }
}

impl NameBuf {
    /// Wire form including the root label.
    pub fn wire(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels as usize
    }

    /// The label at `index`, counted from the left.
    pub fn label(&self, index: usize) -> &[u8] {
        let start = self.label_starts[index] as usize;
        let len = self.bytes[start] as usize;
        &self.bytes[start + 1..start + 1 + len]
    }

    /// Wire form of the ancestor keeping only the last `keep` labels.
    pub fn suffix(&self, keep: usize) -> &[u8] {
        let drop = self.label_count() - keep;
        let start = if drop == self.label_count() { self.len as usize - 1 } else { self.label_starts[drop] as usize };
        &self.bytes[start..self.len as usize]
    }

    /// Writes the canonical-order key (labels right to left, each followed by
    /// a zero byte) and returns the key length after each label depth.
    /// A zero byte inside a label becomes 0xFF, so such a name can never
    /// collide with a stored (LDH) key.
    pub fn canonical_key(&self, key: &mut Vec<u8>, depth_ends: &mut Vec<usize>) {
        key.clear();
        depth_ends.clear();
        for i in (0..self.label_count()).rev() {
            key.extend(self.label(i).iter().map(|b| if *b == 0 { 0xFF } else { *b }));
            key.push(0);
            depth_ends.push(key.len());
        }
    }

    /// Parses an uncompressed name at `at` in `msg`, or a compressed one when
    /// `allow_pointers` is set; returns the offset after it.
    pub fn read(&mut self, msg: &[u8], mut at: usize, allow_pointers: bool) -> Result<usize, ParseError> {
        self.len = 0;
        self.labels = 0;
        let mut end = None;
        let mut jumps = 0;
        loop {
            let len = *msg.get(at).ok_or(ParseError::FormErr)? as usize;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    self.push_byte(0)?;
                    return Ok(end.unwrap_or(at + 1));
                }
                0x00 => {
                    let label = msg.get(at + 1..at + 1 + len).ok_or(ParseError::FormErr)?;
                    if self.labels as usize >= self.label_starts.len() {
                        return Err(ParseError::FormErr);
                    }
                    self.label_starts[self.labels as usize] = self.len;
                    self.labels += 1;
                    self.push_byte(len as u8)?;
                    for b in label {
                        self.push_byte(b.to_ascii_lowercase())?;
                    }
                    at += 1 + len;
                }
                0xC0 if allow_pointers => {
                    let low = *msg.get(at + 1).ok_or(ParseError::FormErr)? as usize;
                    let target = ((len & 0x3F) << 8) | low;
                    jumps += 1;
                    // A pointer must go backwards; a bounded count stops loops.
                    if target >= at || jumps > 64 {
                        return Err(ParseError::FormErr);
                    }
                    end.get_or_insert(at + 2);
                    at = target;
                }
                _ => return Err(ParseError::FormErr),
            }
        }
    }

    fn push_byte(&mut self, b: u8) -> Result<(), ParseError> {
        if self.len as usize >= NAME_BYTES_MAX {
            return Err(ParseError::FormErr);
        }
        self.bytes[self.len as usize] = b;
        self.len += 1;
        Ok(())
    }
}

/// EDNS(0) facts from a request's OPT record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Edns {
    pub udp_payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    pub nsid_requested: bool,
}

impl Edns {
    /// Reads an OPT record's CLASS, TTL and RDATA (RFC 6891 §6.1.2).
    fn from_opt(class: u16, ttl: u32, rdata: &[u8]) -> Result<Edns, ParseError> {
        let mut e = Edns { udp_payload: class, version: ((ttl >> 16) & 0xFF) as u8, dnssec_ok: ttl & 0x8000 != 0, nsid_requested: false };
        let mut o = 0;
        while o < rdata.len() {
            let code = u16_at(rdata, o)?;
            let len = u16_at(rdata, o + 2)? as usize;
            if o + 4 + len > rdata.len() {
                return Err(ParseError::FormErr);
            }
            e.nsid_requested |= code == OPTION_NSID;
            o += 4 + len;
        }
        Ok(e)
    }

    /// The one well-formed OPT of a request that failed to parse, if its
    /// sections can still be walked: a FORMERR to it carries OPT too
    /// (RFC 6891 §7). Trailing bytes and faults outside the records do not
    /// hide it; two OPTs do.
    pub fn of_malformed(packet: &[u8]) -> Option<Edns> {
        let counts: Vec<usize> = (0..4).map(|i| u16_at(packet, 4 + 2 * i).map(usize::from)).collect::<Result<_, _>>().ok()?;
        let mut at = HEADER_BYTES;
        for _ in 0..counts[0] {
            at = skip_name(packet, at).ok()? + 4;
        }
        let mut found = None;
        for i in 0..counts[1] + counts[2] + counts[3] {
            let name_end = skip_name(packet, at).ok()?;
            let rtype = u16_at(packet, name_end).ok()?;
            let rdlen = u16_at(packet, name_end + 8).ok()? as usize;
            let rdata = packet.get(name_end + 10..name_end + 10 + rdlen)?;
            if i >= counts[1] + counts[2] && rtype == qtype::OPT {
                if found.is_some() || packet[at] != 0 {
                    return None;
                }
                found = Some(Edns::from_opt(u16_at(packet, name_end + 2).ok()?, u32_at(packet, name_end + 4).ok()?, rdata).ok()?);
            }
            at = name_end + 10 + rdlen;
        }
        found
    }
}

/// A TSIG record found at the end of a request (RFC 8945 §4.2).
#[derive(Debug, Clone, Copy)]
pub struct TsigRr<'a> {
    /// Offset of the record in the packet (where the signed data ends).
    pub start: usize,
    pub key_name: &'a [u8],
    pub algorithm: &'a [u8],
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: &'a [u8],
    pub original_id: u16,
    pub error: u16,
    pub other: &'a [u8],
}

/// A parsed request. Borrowed from the packet.
pub struct Request<'a> {
    pub packet: &'a [u8],
    pub id: u16,
    pub flags: u16,
    pub opcode: u8,
    pub qname: NameBuf,
    pub qtype: u16,
    pub qclass: u16,
    /// End of the question section (the header and question are echoed verbatim).
    pub question_end: usize,
    pub edns: Option<Edns>,
    pub tsig: Option<TsigRr<'a>>,
    /// Serial of the SOA in the authority section (an IXFR request's current version).
    pub ixfr_serial: Option<u32>,
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, ParseError> {
    msg.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(ParseError::FormErr)
}

fn u32_at(msg: &[u8], at: usize) -> Result<u32, ParseError> {
    msg.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or(ParseError::FormErr)
}

/// Skips a (possibly compressed) name without decoding it.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, ParseError> {
    loop {
        let len = *msg.get(at).ok_or(ParseError::FormErr)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Ok(at + 1),
            0x00 => at += 1 + len,
            0xC0 => {
                return if at + 2 <= msg.len() { Ok(at + 2) } else { Err(ParseError::FormErr) };
            }
            _ => return Err(ParseError::FormErr),
        }
    }
}

/// Header fields a FORMERR reply needs; `None` when the packet should be dropped.
pub fn peek_header(packet: &[u8]) -> Option<(u16, u16)> {
    if packet.len() < HEADER_BYTES {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let fl = u16::from_be_bytes([packet[2], packet[3]]);
    if fl & flags::QR != 0 {
        return None;
    }
    Some((id, fl))
}

impl<'a> Request<'a> {
    pub fn parse(packet: &'a [u8]) -> Result<Self, ParseError> {
        let (id, fl) = peek_header(packet).ok_or(ParseError::Drop)?;
        let opcode = ((fl >> 11) & 0xF) as u8;
        let qdcount = u16_at(packet, 4)?;
        let ancount = u16_at(packet, 6)?;
        let nscount = u16_at(packet, 8)?;
        let arcount = u16_at(packet, 10)?;
        if qdcount != 1 {
            return Err(ParseError::FormErr);
        }
        let mut qname = NameBuf::default();
        let mut at = qname.read(packet, HEADER_BYTES, false)?;
        let qtype = u16_at(packet, at)?;
        let qclass = u16_at(packet, at + 2)?;
        at += 4;
        let question_end = at;

        let mut ixfr_serial = None;
        for _ in 0..(ancount as usize + nscount as usize) {
            let name_end = skip_name(packet, at)?;
            let rtype = u16_at(packet, name_end)?;
            let rdlen = u16_at(packet, name_end + 8)? as usize;
            let rdata_at = name_end + 10;
            if rdata_at + rdlen > packet.len() {
                return Err(ParseError::FormErr);
            }
            if rtype == crate::model::zone::rtype::SOA && qtype == qtype::IXFR {
                // MNAME and RNAME, then SERIAL.
                let after_names = skip_name(packet, skip_name(packet, rdata_at)?)?;
                if after_names + 20 != rdata_at + rdlen {
                    return Err(ParseError::FormErr);
                }
                ixfr_serial = Some(u32_at(packet, after_names)?);
            }
            at = rdata_at + rdlen;
        }

        let mut edns = None;
        let mut tsig = None;
        for i in 0..arcount as usize {
            let start = at;
            let name_end = skip_name(packet, at)?;
            let rtype = u16_at(packet, name_end)?;
            let rclass = u16_at(packet, name_end + 2)?;
            let ttl = u32_at(packet, name_end + 4)?;
            let rdlen = u16_at(packet, name_end + 8)? as usize;
            let rdata_at = name_end + 10;
            let rdata = packet.get(rdata_at..rdata_at + rdlen).ok_or(ParseError::FormErr)?;
            at = rdata_at + rdlen;
            match rtype {
                qtype::OPT => {
                    // RFC 6891 §6.1.1: one OPT, owned by the root.
                    if edns.is_some() || packet[start] != 0 || tsig.is_some() {
                        return Err(ParseError::FormErr);
                    }
                    edns = Some(Edns::from_opt(rclass, ttl, rdata)?);
                }
                qtype::TSIG => {
                    // RFC 8945 §5.1: TSIG must be the last record.
                    if i + 1 != arcount as usize || rclass != class::ANY || ttl != 0 {
                        return Err(ParseError::FormErr);
                    }
                    tsig = Some(parse_tsig(packet, start, name_end, rdata)?);
                }
                _ => {}
            }
        }
        if at != packet.len() {
            return Err(ParseError::FormErr);
        }
        Ok(Request { packet, id, flags: fl, opcode, qname, qtype, qclass, question_end, edns, tsig, ixfr_serial })
    }

    /// The question section as received (keeps the client's letter case).
    pub fn question_bytes(&self) -> &'a [u8] {
        &self.packet[HEADER_BYTES..self.question_end]
    }
}

fn parse_tsig<'a>(packet: &'a [u8], start: usize, name_end: usize, rdata: &'a [u8]) -> Result<TsigRr<'a>, ParseError> {
    // Key and algorithm names are never compressed in TSIG (RFC 8945 §4.2).
    let key_name = &packet[start..name_end];
    let alg_end = wire_name_len(rdata).ok_or(ParseError::FormErr)?;
    if wire_name_len(key_name) != Some(key_name.len()) {
        return Err(ParseError::FormErr);
    }
    let algorithm = &rdata[..alg_end];
    let mut at = alg_end;
    let time_hi = u16_at(rdata, at)? as u64;
    let time_lo = u32_at(rdata, at + 2)? as u64;
    let fudge = u16_at(rdata, at + 6)?;
    let mac_len = u16_at(rdata, at + 8)? as usize;
    at += 10;
    let mac = rdata.get(at..at + mac_len).ok_or(ParseError::FormErr)?;
    at += mac_len;
    let original_id = u16_at(rdata, at)?;
    let error = u16_at(rdata, at + 2)?;
    let other_len = u16_at(rdata, at + 4)? as usize;
    at += 6;
    let other = rdata.get(at..at + other_len).ok_or(ParseError::FormErr)?;
    if at + other_len != rdata.len() {
        return Err(ParseError::FormErr);
    }
    Ok(TsigRr { start, key_name, algorithm, time_signed: (time_hi << 32) | time_lo, fudge, mac, original_id, error, other })
}

/// Message sections, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Answer = 1,
    Authority = 2,
    Additional = 3,
}

/// The record did not fit within the message's size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// How names inside RDATA are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rdata<'r> {
    /// Opaque bytes (A, AAAA, DS, …).
    Raw(&'r [u8]),
    /// One domain name (NS): may be compressed (RFC 3597 §4).
    Name(&'r [u8]),
    /// SOA: two names then 20 bytes; both names may be compressed.
    Soa(&'r [u8]),
}

/// A saved writer position (see [`MessageWriter::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    counts: [u16; 4],
    names: usize,
    arena: usize,
}

/// Largest number of remembered name positions for compression.
const COMPRESSION_ENTRIES_MAX: usize = 64;
/// Compression pointers hold 14 bits.
const POINTER_TARGET_MAX: usize = 0x3FFF;

/// Builds one response message into a reused buffer.
pub struct MessageWriter {
    pub buf: Vec<u8>,
    limit: usize,
    counts: [u16; 4],
    /// Message offsets of names written in full, with the (lower-case) wire
    /// suffix starting there, for compression.
    names: Vec<(u16, u16, u8)>,
    arena: Vec<u8>,
}

impl Default for MessageWriter {
    fn default() -> Self {
        MessageWriter { buf: Vec::with_capacity(4096), limit: 512, counts: [0; 4], names: Vec::new(), arena: Vec::new() }
    }
}

impl MessageWriter {
    /// Starts a message: header fields and the question (copied verbatim).
    pub fn start(&mut self, id: u16, flag_bits: u16, question: Option<&[u8]>, limit: usize) {
        self.buf.clear();
        self.names.clear();
        self.arena.clear();
        self.counts = [0; 4];
        self.limit = limit.min(65535);
        self.buf.extend_from_slice(&id.to_be_bytes());
        self.buf.extend_from_slice(&flag_bits.to_be_bytes());
        self.buf.extend_from_slice(&[0; 8]);
        if let Some(q) = question {
            self.buf.extend_from_slice(q);
            self.counts[0] = 1;
            // The question name and each of its suffixes are the best compression targets.
            let name_len = wire_name_len(q).unwrap_or(0);
            let name = q[..name_len].to_ascii_lowercase();
            let mut at = 0;
            while at + 1 < name.len() {
                self.remember(HEADER_BYTES + at, &name[at..]);
                at += 1 + name[at] as usize;
            }
        }
    }

    /// Lowers (never raises) the size limit, e.g. to keep room for OPT or TSIG.
    pub fn reserve(&mut self, bytes: usize) {
        self.limit = self.limit.saturating_sub(bytes);
    }

    pub fn release(&mut self, bytes: usize) {
        self.limit = (self.limit + bytes).min(65535);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count(Section::Answer) == 0 && self.count(Section::Authority) == 0 && self.count(Section::Additional) == 0
    }

    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    pub fn set_flags(&mut self, flag_bits: u16) {
        self.buf[2..4].copy_from_slice(&flag_bits.to_be_bytes());
    }

    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// Sets the 4-bit RCODE in the header.
    pub fn set_rcode(&mut self, rcode: u16) {
        let f = (self.flags() & !0x000F) | (rcode & 0x000F);
        self.set_flags(f);
    }

    /// A point to roll back to, so an RRset goes in whole or not at all.
    pub fn mark(&self) -> Mark {
        Mark { len: self.buf.len(), counts: self.counts, names: self.names.len(), arena: self.arena.len() }
    }

    pub fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.counts = mark.counts;
        self.names.truncate(mark.names);
        self.arena.truncate(mark.arena);
    }

    /// Appends one record; on `Full` the message is left as it was.
    pub fn record(&mut self, section: Section, owner: &[u8], rtype: u16, class: u16, ttl: u32, rdata: Rdata<'_>) -> Result<(), Full> {
        let mark = self.mark();
        let result = self.try_record(owner, rtype, class, ttl, rdata);
        if result.is_err() || self.buf.len() > self.limit {
            self.rollback(mark);
            return Err(Full);
        }
        self.counts[section as usize] += 1;
        Ok(())
    }

    fn try_record(&mut self, owner: &[u8], rtype: u16, class: u16, ttl: u32, rdata: Rdata<'_>) -> Result<(), Full> {
        self.name(owner)?;
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&class.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match rdata {
            Rdata::Raw(bytes) => self.buf.extend_from_slice(bytes),
            Rdata::Name(name) => self.name(name)?,
            Rdata::Soa(bytes) => {
                let mname_end = wire_name_len(bytes).ok_or(Full)?;
                let rname_end = mname_end + wire_name_len(&bytes[mname_end..]).ok_or(Full)?;
                self.name(&bytes[..mname_end])?;
                self.name(&bytes[mname_end..rname_end])?;
                self.buf.extend_from_slice(&bytes[rname_end..]);
            }
        }
        let rdlen = self.buf.len() - len_at - 2;
        if rdlen > u16::MAX as usize {
            return Err(Full);
        }
        self.buf[len_at..len_at + 2].copy_from_slice(&(rdlen as u16).to_be_bytes());
        Ok(())
    }

    /// Writes an uncompressed wire name, compressing its longest known suffix.
    fn name(&mut self, name: &[u8]) -> Result<(), Full> {
        let mut at = 0;
        while at < name.len() {
            let len = name[at] as usize;
            if len == 0 {
                self.buf.push(0);
                return Ok(());
            }
            let suffix = &name[at..];
            if let Some(target) = self.find(suffix) {
                self.buf.extend_from_slice(&(0xC000 | target as u16).to_be_bytes());
                return Ok(());
            }
            let offset = self.buf.len();
            self.remember(offset, suffix);
            self.buf.extend_from_slice(&name[at..at + 1 + len]);
            at += 1 + len;
        }
        Err(Full)
    }

    fn find(&self, suffix: &[u8]) -> Option<usize> {
        self.names.iter().find_map(|&(offset, start, len)| {
            let known = &self.arena[start as usize..start as usize + len as usize];
            (known.len() == suffix.len() && known.eq_ignore_ascii_case(suffix)).then_some(offset as usize)
        })
    }

    fn remember(&mut self, offset: usize, suffix: &[u8]) {
        if offset > POINTER_TARGET_MAX || self.names.len() >= COMPRESSION_ENTRIES_MAX || suffix.len() > NAME_BYTES_MAX {
            return;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(suffix);
        self.names.push((offset as u16, start as u16, suffix.len() as u8));
    }

    /// Appends an OPT record (RFC 6891) advertising `udp_payload`.
    pub fn opt(&mut self, udp_payload: u16, extended_rcode: u8, dnssec_ok: bool, nsid: Option<&[u8]>) {
        self.buf.push(0);
        self.buf.extend_from_slice(&qtype::OPT.to_be_bytes());
        self.buf.extend_from_slice(&udp_payload.to_be_bytes());
        self.buf.push(extended_rcode);
        self.buf.push(0); // version
        self.buf.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
        match nsid {
            Some(id) => {
                self.buf.extend_from_slice(&((4 + id.len()) as u16).to_be_bytes());
                self.buf.extend_from_slice(&OPTION_NSID.to_be_bytes());
                self.buf.extend_from_slice(&(id.len() as u16).to_be_bytes());
                self.buf.extend_from_slice(id);
            }
            None => self.buf.extend_from_slice(&[0, 0]),
        }
        self.counts[Section::Additional as usize] += 1;
    }

    /// Bytes an OPT record takes.
    pub fn opt_len(nsid: Option<&[u8]>) -> usize {
        11 + nsid.map_or(0, |id| 4 + id.len())
    }

    /// Writes the section counts into the header and returns the message.
    pub fn finish(&mut self) -> &[u8] {
        for (i, c) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
        }
        &self.buf
    }

    /// Appends raw bytes of a record already encoded (TSIG), counts it and
    /// updates the header, so the message is complete afterwards.
    pub fn append_additional(&mut self, record: &[u8]) {
        self.buf.extend_from_slice(record);
        self.counts[Section::Additional as usize] += 1;
        self.finish();
    }
}

/// Length of an uncompressed wire name at the start of `bytes`.
pub fn wire_name_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = *bytes.get(at)? as usize;
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// Presentation form of an uncompressed wire name (`www.example.`), for logs.
pub fn name_to_text(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        let label = wire.get(at + 1..at + 1 + len as usize).unwrap_or_default();
        for &b in label {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        out.push('.');
        at += 1 + len as usize;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

pub use crate::model::name::key_to_wire;

/// The wire name of the NSEC3 record for `hash` in the zone at `apex` (wire form).
pub fn nsec3_owner(apex: &[u8], hash: &[u8], out: &mut Vec<u8>) {
    let label = crate::model::dnssec::base32hex(hash);
    out.clear();
    out.push(label.len() as u8);
    out.extend_from_slice(label.as_bytes());
    out.extend_from_slice(apex);
}

/// Canonical key of an uncompressed wire name (which must be LDH, as our data is).
pub fn wire_to_key(wire: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut labels: [(usize, usize); 128] = [(0, 0); 128];
    let mut n = 0;
    let mut at = 0;
    while at < wire.len() && wire[at] != 0 && n < labels.len() {
        let len = wire[at] as usize;
        labels[n] = (at + 1, (at + 1 + len).min(wire.len()));
        n += 1;
        at += 1 + len;
    }
    for &(s, e) in labels[..n].iter().rev() {
        out.extend(wire[s..e].iter().map(u8::to_ascii_lowercase));
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&arcount.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }

    const OPT_DO: &[u8] = &[0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 4, 0, 3, 0, 0];

    #[test]
    fn parses_a_query_with_edns() {
        let p = query(b"\x03WWW\x05hello\x07example\x00", 1, OPT_DO, 1);
        let r = Request::parse(&p).unwrap();
        assert_eq!((r.id, r.qtype, r.qclass), (0x1234, 1, 1));
        assert_eq!(r.qname.wire(), b"\x03www\x05hello\x07example\x00");
        assert_eq!(r.qname.label_count(), 3);
        assert_eq!(r.qname.label(1), b"hello");
        assert_eq!(r.qname.suffix(1), b"\x07example\x00");
        assert_eq!(r.qname.suffix(0), b"\x00");
        let e = r.edns.unwrap();
        assert_eq!((e.udp_payload, e.version, e.dnssec_ok, e.nsid_requested), (1232, 0, true, true));
        assert_eq!(r.question_bytes(), &p[12..p.len() - OPT_DO.len()]);
        let (mut key, mut ends) = (Vec::new(), Vec::new());
        r.qname.canonical_key(&mut key, &mut ends);
        assert_eq!(key, b"example\0hello\0www\0");
        assert_eq!(ends, vec![8, 14, 18]);
    }

    #[test]
    fn malformed_packets() {
        assert_eq!(Request::parse(&[0; 5]).err(), Some(ParseError::Drop));
        let mut response = query(b"\x00", 1, &[], 0);
        response[2] |= 0x80;
        assert_eq!(Request::parse(&response).err(), Some(ParseError::Drop));
        // Label running past the end, pointer in the question, trailing garbage, two OPTs.
        assert_eq!(Request::parse(&query(b"\x05ab", 1, &[], 0)).err(), Some(ParseError::FormErr));
        assert_eq!(Request::parse(&query(b"\xC0\x0C", 1, &[], 0)).err(), Some(ParseError::FormErr));
        assert_eq!(Request::parse(&query(b"\x00", 1, b"junk", 0)).err(), Some(ParseError::FormErr));
        let two = [OPT_DO, OPT_DO].concat();
        assert_eq!(Request::parse(&query(b"\x00", 1, &two, 2)).err(), Some(ParseError::FormErr));
        let mut no_question = query(b"\x00", 1, &[], 0);
        no_question[5] = 0;
        assert_eq!(Request::parse(&no_question).err(), Some(ParseError::FormErr));
        // Name longer than 255 bytes.
        let long: Vec<u8> = std::iter::repeat_n([&[63u8][..], &[b'a'; 63][..]].concat(), 5).flatten().chain([0]).collect();
        assert_eq!(Request::parse(&query(&long, 1, &[], 0)).err(), Some(ParseError::FormErr));
    }

    #[test]
    fn a_malformed_request_still_shows_its_opt() {
        let with_opt = |extra: &[u8], arcount| Edns::of_malformed(&query(b"\x00", 1, extra, arcount));
        let junk = [OPT_DO, b"junk"].concat();
        assert_eq!(with_opt(&junk, 1).map(|e| (e.udp_payload, e.dnssec_ok)), Some((1232, true)), "trailing bytes");
        let mut no_question = query(b"\x00", 1, OPT_DO, 1);
        no_question[5] = 0;
        no_question.drain(12..17);
        assert!(Edns::of_malformed(&no_question).is_some(), "QDCOUNT 0");
        assert_eq!(with_opt(&[OPT_DO, OPT_DO].concat(), 2), None, "two OPTs");
        assert_eq!(with_opt(&[], 0), None);
        assert_eq!(Edns::of_malformed(&query(b"\x05ab", 1, OPT_DO, 1)), None, "an unreadable question hides what follows");
        let p = query(b"\x03www\x07example\x00", 1, OPT_DO, 1);
        for cut in 0..p.len() {
            let _ = Edns::of_malformed(&p[..cut]);
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        let p = query(b"\x03www\x07example\x00", 1, OPT_DO, 1);
        for cut in 0..p.len() {
            let _ = Request::parse(&p[..cut]);
        }
    }

    #[test]
    fn writer_compresses_and_respects_limits() {
        let p = query(b"\x03www\x05hello\x07example\x00", 1, &[], 0);
        let r = Request::parse(&p).unwrap();
        let mut w = MessageWriter::default();
        w.start(r.id, flags::QR, Some(r.question_bytes()), 512);
        let owner = r.qname.suffix(2);
        w.record(Section::Authority, owner, 2, 1, 60, Rdata::Name(b"\x03ns1\x05hello\x07example\x00")).unwrap();
        let msg = w.finish().to_vec();
        // Owner is a pointer into the question; the NS target reuses "hello.example".
        let expected_tail = [0xC0, 16, 0, 2, 0, 1, 0, 0, 0, 60, 0, 6, 3, b'n', b's', b'1', 0xC0, 16];
        assert!(msg.ends_with(&expected_tail), "{msg:?}");
        assert_eq!(&msg[8..10], &[0, 1]);

        let mut small = MessageWriter::default();
        small.start(1, flags::QR, Some(r.question_bytes()), 40);
        assert_eq!(small.record(Section::Answer, owner, 1, 1, 60, Rdata::Raw(&[0; 30])), Err(Full));
        assert_eq!(small.count(Section::Answer), 0);
        assert_eq!(small.len(), 12 + r.question_bytes().len());
    }

    #[test]
    fn key_conversions() {
        let mut wire = Vec::new();
        key_to_wire(b"example\0hello\0", &mut wire);
        assert_eq!(wire, b"\x05hello\x07example\x00");
        let mut key = Vec::new();
        wire_to_key(b"\x05HELLO\x07example\x00", &mut key);
        assert_eq!(key, b"example\0hello\0");
        key_to_wire(b"", &mut wire);
        assert_eq!(wire, b"\x00");
    }
}
