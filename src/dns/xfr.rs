//! Zone transfers from one snapshot: AXFR (RFC 5936) walks the zone rows in
//! canonical order between two SOAs; IXFR (RFC 1995) replays the journal
//! from the client's serial, or falls back to a full transfer when the
//! journal no longer reaches back that far. Messages are packed up to the
//! 64 KiB limit and each is TSIG-signed when the request was.

use super::answer::response_flags;
use super::tsig::Signer;
use super::wire::{self, MessageWriter, Rdata, Request, Section, class, flags, qtype, rcode};
use crate::model::zone::{Rr, rtype, serial_gt};
use crate::store::codec::RowView;
use crate::store::{JournalEntry, Snapshot, StoreError, ZoneApex};

/// What a transfer sent, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XfrKind {
    Axfr,
    Ixfr,
    /// IXFR answered with a full zone (journal too short).
    IxfrFallback,
    /// IXFR from a client that is current: one SOA.
    UpToDate,
    Refused(u16),
}

#[derive(Debug, Clone, Copy)]
pub struct XfrStats {
    pub kind: XfrKind,
    pub serial: u32,
    pub messages: usize,
    pub records: usize,
}

/// Sends one finished message; returns false when the peer is gone.
pub type Sink<'s> = dyn FnMut(&[u8]) -> bool + 's;

struct Packer<'a, 's> {
    w: MessageWriter,
    id: u16,
    flags: u16,
    question: &'a [u8],
    first: bool,
    signer: Option<Signer>,
    now: u64,
    sink: &'a mut Sink<'s>,
    messages: usize,
    records: usize,
    owner: Vec<u8>,
    peer_gone: bool,
}

impl<'a, 's> Packer<'a, 's> {
    fn new(request: &'a Request<'a>, signer: Option<Signer>, now: u64, sink: &'a mut Sink<'s>) -> Self {
        let mut p = Packer {
            w: MessageWriter::default(),
            id: request.id,
            flags: response_flags(request.flags) | flags::AA,
            question: request.question_bytes(),
            first: true,
            signer,
            now,
            sink,
            messages: 0,
            records: 0,
            owner: Vec::with_capacity(256),
            peer_gone: false,
        };
        p.begin();
        p
    }

    fn begin(&mut self) {
        // Only the first message repeats the question (RFC 5936 §2.2).
        let question = self.first.then_some(self.question);
        self.w.start(self.id, self.flags, question, 65535);
        if let Some(s) = &self.signer {
            self.w.reserve(s.reserve_bytes());
        }
    }

    fn flush(&mut self) {
        self.w.finish();
        if let Some(s) = &mut self.signer {
            s.sign(&mut self.w, self.now);
        }
        if !(self.sink)(&self.w.buf) {
            self.peer_gone = true;
        }
        self.messages += 1;
        self.first = false;
        self.begin();
    }

    fn rr(&mut self, owner: &[u8], rt: u16, ttl: u32, rdata: &[u8]) -> bool {
        let rd = match rt {
            rtype::NS => Rdata::Name(rdata),
            rtype::SOA => Rdata::Soa(rdata),
            _ => Rdata::Raw(rdata),
        };
        if self.w.record(Section::Answer, owner, rt, class::IN, ttl, rd).is_err() {
            self.flush();
            if self.w.record(Section::Answer, owner, rt, class::IN, ttl, rd).is_err() {
                // Cannot happen: one record always fits an empty message.
                self.peer_gone = true;
            }
        }
        self.records += 1;
        !self.peer_gone
    }

    fn journal_rr(&mut self, rr: &Rr) -> bool {
        let mut owner = std::mem::take(&mut self.owner);
        wire::key_to_wire(&rr.owner_key, &mut owner);
        let ok = self.rr(&owner, rr.rtype, rr.ttl, &rr.rdata);
        self.owner = owner;
        ok
    }

    fn finish(mut self, kind: XfrKind, serial: u32) -> XfrStats {
        if !self.peer_gone && (!self.w.is_empty() || self.messages == 0) {
            self.flush();
        }
        XfrStats { kind, serial, messages: self.messages, records: self.records }
    }
}

/// Streams the transfer `request` asks for. The caller has checked the ACL.
pub fn transfer(
    snapshot: &Snapshot,
    request: &Request<'_>,
    signer: Option<Signer>,
    now: u64,
    sink: &mut Sink<'_>,
) -> Result<XfrStats, StoreError> {
    let mut key = Vec::new();
    let mut ends = Vec::new();
    request.qname.canonical_key(&mut key, &mut ends);
    let zone = snapshot.zones().iter().find(|z| z.key == key);
    let Some(zone) = zone else {
        return Ok(refuse(request, signer, now, sink, rcode::NOTAUTH));
    };
    let current = zone.serial();
    if request.qtype == qtype::IXFR {
        let Some(client) = request.ixfr_serial else {
            return Ok(refuse(request, signer, now, sink, rcode::FORMERR));
        };
        if !serial_gt(current, client) {
            let mut p = Packer::new(request, signer, now, sink);
            p.rr(&zone.wire, rtype::SOA, zone.soa_ttl(), &zone.soa_rdata);
            return Ok(p.finish(XfrKind::UpToDate, current));
        }
        if let Some(entries) = snapshot.journal_since(&zone.tld.name, client)? {
            return Ok(incremental(zone, &entries, request, signer, now, sink));
        }
        return full(snapshot, zone, request, signer, now, sink, XfrKind::IxfrFallback);
    }
    full(snapshot, zone, request, signer, now, sink, XfrKind::Axfr)
}

fn refuse(request: &Request<'_>, signer: Option<Signer>, now: u64, sink: &mut Sink<'_>, rc: u16) -> XfrStats {
    let mut p = Packer::new(request, signer, now, sink);
    p.w.set_flags(response_flags(request.flags));
    p.w.set_rcode(rc);
    p.finish(XfrKind::Refused(rc), 0)
}

fn full(
    snapshot: &Snapshot,
    zone: &ZoneApex,
    request: &Request<'_>,
    signer: Option<Signer>,
    now: u64,
    sink: &mut Sink<'_>,
    kind: XfrKind,
) -> Result<XfrStats, StoreError> {
    let mut p = Packer::new(request, signer, now, sink);
    let mut owner = Vec::with_capacity(256);
    p.rr(&zone.wire, rtype::SOA, zone.soa_ttl(), &zone.soa_rdata);
    for item in snapshot.zone_rows(zone)? {
        let (key, value) = item?;
        wire::key_to_wire(&key, &mut owner);
        let row = RowView::new(value.value())?;
        for set in row.rrsets() {
            for (ttl, rdata) in set.rrs() {
                if !p.rr(&owner, set.rtype, ttl, rdata) {
                    return Ok(p.finish(kind, zone.serial()));
                }
            }
        }
    }
    for item in snapshot.nsec3_rows(zone)? {
        let (hash, value) = item?;
        wire::nsec3_owner(&zone.wire, &hash, &mut owner);
        let row = RowView::new(value.value())?;
        for set in row.rrsets() {
            for (ttl, rdata) in set.rrs() {
                if !p.rr(&owner, set.rtype, ttl, rdata) {
                    return Ok(p.finish(kind, zone.serial()));
                }
            }
        }
    }
    p.rr(&zone.wire, rtype::SOA, zone.soa_ttl(), &zone.soa_rdata);
    Ok(p.finish(kind, zone.serial()))
}

fn incremental(
    zone: &ZoneApex,
    entries: &[JournalEntry],
    request: &Request<'_>,
    signer: Option<Signer>,
    now: u64,
    sink: &mut Sink<'_>,
) -> XfrStats {
    let mut p = Packer::new(request, signer, now, sink);
    p.rr(&zone.wire, rtype::SOA, zone.soa_ttl(), &zone.soa_rdata);
    for entry in entries {
        p.rr(&zone.wire, rtype::SOA, entry.old_soa.0, &entry.old_soa.1);
        for rr in &entry.removed {
            if !p.journal_rr(rr) {
                return p.finish(XfrKind::Ixfr, zone.serial());
            }
        }
        p.rr(&zone.wire, rtype::SOA, entry.new_soa.0, &entry.new_soa.1);
        for rr in &entry.added {
            if !p.journal_rr(rr) {
                return p.finish(XfrKind::Ixfr, zone.serial());
            }
        }
    }
    p.rr(&zone.wire, rtype::SOA, zone.soa_ttl(), &zone.soa_rdata);
    p.finish(XfrKind::Ixfr, zone.serial())
}
