//! Answering one DNS request from a snapshot: protocol checks (opcode, class,
//! EDNS version, TSIG), then the authoritative algorithm over the ordered
//! zone rows — referral, authoritative data, NODATA or NXDOMAIN — written
//! straight into the reused response buffer. UDP and TCP share this; zone
//! transfers are handed back to the caller.

use std::net::IpAddr;
use std::rc::Rc;

use super::tsig::{self, Keyring, Signer};
use super::wire::{self, MessageWriter, ParseError, Rdata, Request, Section, class, flags, opcode, qtype, rcode};
use crate::model::dnssec::{NSEC3_HASH_BYTES, nsec3_hash};
use crate::model::zone::rtype;
use crate::store::codec::{RowView, RrSetView};
use crate::store::{Snapshot, StoreError, ZoneApex, ZoneProbe};

/// Fixed facts the answering code needs, shared by all workers.
pub struct AnswerConfig {
    pub udp_payload_max: u16,
    pub nsid: Option<Vec<u8>>,
    pub keyring: Keyring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Buffers reused from one request to the next by a worker.
#[derive(Default)]
pub struct Scratch {
    pub writer: MessageWriter,
    /// The zone (its index in the snapshot's zones) the last query was
    /// answered from, for the report counts; none when it named no zone of ours.
    pub zone: Option<usize>,
    key: Vec<u8>,
    depth_ends: Vec<usize>,
    target_key: Vec<u8>,
}

/// What to do with a request.
pub enum Handled {
    /// Send `scratch.writer.buf`.
    Reply,
    /// Say nothing (responses, runts).
    Drop,
    /// An AXFR or IXFR over TCP: the caller checks the ACL and streams it.
    Transfer(Option<Box<Signer>>),
}

/// Answers `packet`; `now` is Unix seconds (TSIG time checks).
pub fn handle(packet: &[u8], transport: Transport, snapshot: &Snapshot, config: &AnswerConfig, scratch: &mut Scratch, now: u64) -> Handled {
    scratch.zone = None;
    let request = match Request::parse(packet) {
        Ok(r) => r,
        Err(ParseError::Drop) => return Handled::Drop,
        Err(ParseError::FormErr) => {
            let Some((id, fl)) = wire::peek_header(packet) else {
                return Handled::Drop;
            };
            let w = &mut scratch.writer;
            w.start(id, response_flags(fl), None, 512);
            w.set_rcode(rcode::FORMERR);
            if let Some(e) = wire::Edns::of_malformed(packet) {
                w.opt(config.udp_payload_max, 0, e.dnssec_ok, None);
            }
            w.finish();
            return Handled::Reply;
        }
    };
    let limit = match (transport, request.edns) {
        (Transport::Tcp, _) => 65535,
        (Transport::Udp, Some(e)) => (e.udp_payload.min(config.udp_payload_max) as usize).max(512),
        (Transport::Udp, None) => 512,
    };
    let w = &mut scratch.writer;
    w.start(request.id, response_flags(request.flags), Some(request.question_bytes()), limit);

    let mut signer = None;
    if let Some(t) = &request.tsig {
        match tsig::verify_request(&config.keyring, packet, t, now) {
            Ok(s) => signer = Some(Box::new(s)),
            Err(failure) => {
                tracing::info!(rcode = failure.rcode, error = failure.error, "TSIG verification failed");
                failure.append(w, t.original_id, t.algorithm, t.key_name, now);
                return Handled::Reply;
            }
        }
    }

    let edns = request.edns;
    let nsid = edns.filter(|e| e.nsid_requested).and(config.nsid.as_deref());
    let opt_len = edns.map_or(0, |_| MessageWriter::opt_len(nsid));
    let tsig_len = signer.as_ref().map_or(0, |s| s.reserve_bytes());
    w.reserve(opt_len + tsig_len);

    let result = if edns.is_some_and(|e| e.version > 0) {
        Ok(rcode::BADVERS)
    } else if request.opcode == opcode::NOTIFY {
        // We are a primary; NOTIFY is for secondaries.
        Ok(rcode::REFUSED)
    } else if request.opcode != opcode::QUERY {
        Ok(rcode::NOTIMP)
    } else if request.qclass != class::IN && request.qclass != class::ANY {
        Ok(rcode::REFUSED)
    } else {
        let responder = Responder {
            snapshot,
            request: &request,
            scratch_key: &mut scratch.key,
            zone_index: &mut scratch.zone,
            depth_ends: &mut scratch.depth_ends,
            target_key: &mut scratch.target_key,
            w,
            dnssec: false,
            proved: Vec::new(),
            proved_nsec: Vec::new(),
            last_probe: None,
        };
        match request.qtype {
            qtype::AXFR | qtype::IXFR if transport == Transport::Tcp => return Handled::Transfer(signer),
            qtype::AXFR => Ok(rcode::NOTIMP),
            qtype::IXFR => responder.ixfr_over_udp(),
            qtype::OPT | qtype::TSIG | qtype::TKEY => Ok(rcode::FORMERR),
            qtype::MAILA | qtype::MAILB => Ok(rcode::NOTIMP),
            _ => responder.respond(),
        }
    };
    let rc = result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "storage failure while answering");
        rcode::SERVFAIL
    });
    let w = &mut scratch.writer;
    w.release(opt_len + tsig_len);
    w.set_rcode(rc & 0xF);
    if let Some(e) = edns {
        w.opt(config.udp_payload_max, (rc >> 4) as u8, e.dnssec_ok, nsid);
    }
    w.finish();
    if let Some(mut s) = signer {
        s.sign(w, now);
    }
    Handled::Reply
}

/// QR set; opcode, RD and CD copied from the request.
pub fn response_flags(request_flags: u16) -> u16 {
    flags::QR | (request_flags & (0x7800 | flags::RD | flags::CD))
}

struct Responder<'a, 'w> {
    snapshot: &'a Snapshot,
    request: &'a Request<'a>,
    scratch_key: &'w mut Vec<u8>,
    zone_index: &'w mut Option<usize>,
    depth_ends: &'w mut Vec<usize>,
    target_key: &'w mut Vec<u8>,
    w: &'w mut MessageWriter,
    /// The client set DO and the zone is signed: signatures and proofs go in.
    dnssec: bool,
    /// NSEC3 records already in this answer (one proof may need a record twice).
    proved: Vec<[u8; NSEC3_HASH_BYTES]>,
    /// Likewise the owner keys of NSEC records.
    proved_nsec: Vec<Vec<u8>>,
    /// The last name looked up in the NSEC3 chain, and what was found.
    last_probe: Option<(Vec<u8>, Rc<Nsec3Probe>)>,
}

/// A name's NSEC3 hash and the record at or before it in the chain.
type Nsec3Probe = ([u8; NSEC3_HASH_BYTES], Option<(Vec<u8>, Vec<u8>)>);

type Answered = Result<u16, StoreError>;

impl Responder<'_, '_> {
    fn respond(mut self) -> Answered {
        let q = &self.request.qname;
        q.canonical_key(self.scratch_key, self.depth_ends);
        let Some(index) = self.snapshot.zone_index_for(self.scratch_key) else {
            return Ok(rcode::REFUSED);
        };
        *self.zone_index = Some(index);
        let zone = &self.snapshot.zones()[index];
        self.dnssec = zone.signed && self.request.edns.is_some_and(|e| e.dnssec_ok);
        let apex_depth = zone.label_count;
        let qdepth = q.label_count();
        if qdepth == apex_depth {
            let row = self.snapshot.zone_row(&zone.key)?;
            let row = row.as_ref().map(|g| RowView::new(g.value())).transpose()?;
            return self.authoritative(zone, row, true);
        }
        for depth in apex_depth + 1..=qdepth {
            let prefix_len = self.depth_ends[depth - 1];
            match self.snapshot.zone_probe(&self.scratch_key[..prefix_len])? {
                ZoneProbe::Row(guard) => {
                    let row = RowView::new(guard.value())?;
                    if let Some(ns) = row.get(rtype::NS) {
                        if depth == qdepth && self.request.qtype == rtype::DS {
                            // The parent side of the cut is authoritative for DS.
                            return self.authoritative(zone, Some(row), false);
                        }
                        return self.referral(zone, depth, ns, row);
                    }
                    if depth == qdepth {
                        return self.authoritative(zone, Some(row), false);
                    }
                }
                ZoneProbe::EmptyNonTerminal if depth == qdepth => {
                    return self.authoritative(zone, None, false);
                }
                ZoneProbe::EmptyNonTerminal => {}
                ZoneProbe::Absent => {
                    self.set_aa();
                    self.negative(zone)?;
                    self.deny_name(zone, depth)?;
                    return Ok(rcode::NXDOMAIN);
                }
            }
        }
        unreachable!("the loop answers at the query name's depth")
    }

    /// RFC 1995 §2: over UDP an IXFR is answered with the current SOA alone,
    /// meaning "up to date, or ask again over TCP".
    fn ixfr_over_udp(mut self) -> Answered {
        self.request.qname.canonical_key(self.scratch_key, self.depth_ends);
        let Some(index) = self.snapshot.zone_index_for(self.scratch_key) else { return Ok(rcode::REFUSED) };
        *self.zone_index = Some(index);
        let zone = &self.snapshot.zones()[index];
        if zone.key != *self.scratch_key {
            return Ok(rcode::NOTAUTH);
        }
        self.set_aa();
        if !self.soa(zone, Section::Answer, zone.soa_ttl())? {
            self.set_tc();
        }
        Ok(rcode::NOERROR)
    }

    /// RFC 1035 §6.2: an answer to QCLASS=ANY cannot know it holds every
    /// class, so it is never authoritative.
    fn set_aa(&mut self) {
        if self.request.qclass == class::ANY {
            return;
        }
        let f = self.w.flags() | flags::AA;
        self.w.set_flags(f);
    }

    fn set_tc(&mut self) {
        let f = self.w.flags() | flags::TC;
        self.w.set_flags(f);
    }

    /// Writes a whole RRset or nothing; false when it did not fit. With
    /// `sigs` (the row's RRSIGs, for a DNSSEC answer) its signatures follow.
    fn rrset(&mut self, section: Section, owner: &[u8], set: RrSetView<'_>, sigs: Option<RrSetView<'_>>) -> bool {
        let mark = self.w.mark();
        for (ttl, rdata) in set.rrs() {
            let rd = match set.rtype {
                rtype::NS => Rdata::Name(rdata),
                _ => Rdata::Raw(rdata),
            };
            if self.w.record(section, owner, set.rtype, class::IN, ttl, rd).is_err() {
                self.w.rollback(mark);
                return false;
            }
        }
        if let Some(sigs) = sigs.filter(|_| self.dnssec) {
            for sig in sigs.covering(set.rtype) {
                if self.w.record(section, owner, rtype::RRSIG, class::IN, set.ttl, Rdata::Raw(sig)).is_err() {
                    self.w.rollback(mark);
                    return false;
                }
            }
        }
        true
    }

    fn soa(&mut self, zone: &ZoneApex, section: Section, ttl: u32) -> Result<bool, StoreError> {
        let mark = self.w.mark();
        if self.w.record(section, &zone.wire, rtype::SOA, class::IN, ttl, Rdata::Soa(&zone.soa_rdata)).is_err() {
            return Ok(false);
        }
        if self.dnssec {
            for sig in &zone.soa_rrsigs {
                if self.w.record(section, &zone.wire, rtype::RRSIG, class::IN, ttl, Rdata::Raw(sig)).is_err() {
                    self.w.rollback(mark);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn negative(&mut self, zone: &ZoneApex) -> Result<(), StoreError> {
        if !self.soa(zone, Section::Authority, zone.negative_ttl)? {
            self.set_tc();
        }
        Ok(())
    }

    /// The NSEC3 record that matches (`exact`) or covers the name `wire`,
    /// written to the authority section with its signature; false when the
    /// zone has none such.
    fn nsec3(&mut self, zone: &ZoneApex, wire: &[u8], exact: bool) -> Result<bool, StoreError> {
        let at_apex = wire == zone.wire.as_slice();
        let at_apex_wildcard = wire.len() == zone.wire.len() + 2 && wire.starts_with(b"\x01*") && wire.ends_with(&zone.wire);
        let probed;
        let (found, row) = match (exact, at_apex, at_apex_wildcard) {
            (true, true, _) => zone.apex_nsec3.as_ref(),
            (false, _, true) => zone.apex_wildcard_nsec3.as_ref(),
            _ => {
                probed = self.nsec3_probe(zone, wire)?;
                probed.1.as_ref().filter(|(h, _)| (h[..] == probed.0[..]) == exact)
            }
        }
        .map(|(h, r)| (h.as_slice(), r.as_slice()))
        .unzip();
        let (Some(found), Some(row)) = (found, row) else {
            return Ok(false);
        };
        let found: [u8; NSEC3_HASH_BYTES] = found.try_into().map_err(|_| StoreError::Corrupt("NSEC3 key".into()))?;
        if self.proved.contains(&found) {
            return Ok(true);
        }
        self.proved.push(found);
        let mut owner = Vec::with_capacity(64);
        wire::nsec3_owner(&zone.wire, &found, &mut owner);
        let row = RowView::new(row)?;
        if let Some(set) = row.get(rtype::NSEC3)
            && !self.rrset(Section::Authority, &owner, set, row.get(rtype::RRSIG))
        {
            self.set_tc();
        }
        Ok(true)
    }

    /// The hash of `wire` and the NSEC3 record at or before it. A proof
    /// asks twice for the same name when a name left out of an Opt-Out
    /// chain is also the next closer name: the second time is free.
    fn nsec3_probe(&mut self, zone: &ZoneApex, wire: &[u8]) -> Result<Rc<Nsec3Probe>, StoreError> {
        if let Some((last, probe)) = &self.last_probe
            && last.as_slice() == wire
        {
            return Ok(probe.clone());
        }
        let hash = nsec3_hash(wire, &[], 0);
        let found = self.snapshot.nsec3_at_or_before(zone, &hash)?;
        let probe = Rc::new((hash, found));
        self.last_probe = Some((wire.to_vec(), probe.clone()));
        Ok(probe)
    }

    /// The NSEC record that matches or covers the name with owner key
    /// `key`, written to the authority section with its signature.
    fn nsec(&mut self, zone: &ZoneApex, key: &[u8]) -> Result<(), StoreError> {
        let Some((owner_key, row)) = self.snapshot.nsec_at_or_before(zone, key)? else {
            return Ok(());
        };
        if self.proved_nsec.contains(&owner_key) {
            return Ok(());
        }
        let mut owner = Vec::with_capacity(owner_key.len() + 1);
        crate::model::name::key_to_wire(&owner_key, &mut owner);
        self.proved_nsec.push(owner_key);
        let row = RowView::new(&row)?;
        if let Some(set) = row.get(rtype::NSEC)
            && !self.rrset(Section::Authority, &owner, set, row.get(rtype::RRSIG))
        {
            self.set_tc();
        }
        Ok(())
    }

    /// NXDOMAIN proof (RFC 5155 §7.2.2): the closest encloser (the query
    /// name cut to `depth - 1` labels, which exists) matched, the next closer
    /// name and the wildcard at the closest encloser covered. With NSEC
    /// (RFC 4035 §3.1.3.2): the records covering the name and that wildcard.
    fn deny_name(&mut self, zone: &ZoneApex, depth: usize) -> Result<(), StoreError> {
        if !self.dnssec {
            return Ok(());
        }
        if zone.nsec {
            let name = self.scratch_key[..self.depth_ends[depth - 1]].to_vec();
            self.nsec(zone, &name)?;
            let mut wildcard = self.scratch_key[..self.depth_ends[depth - 2]].to_vec();
            wildcard.extend_from_slice(b"*\0");
            return self.nsec(zone, &wildcard);
        }
        let closest = self.request.qname.suffix(depth - 1).to_vec();
        self.nsec3(zone, &closest, true)?;
        self.nsec3(zone, self.request.qname.suffix(depth), false)?;
        let mut wildcard = b"\x01*".to_vec();
        wildcard.extend_from_slice(&closest);
        self.nsec3(zone, &wildcard, false)?;
        Ok(())
    }

    /// No data of the asked type at the query name (RFC 5155 §7.2.3–7.2.4):
    /// the name's own NSEC3 record; for a name left out of an Opt-Out chain
    /// (a delegation without DS), the closest provable encloser and the
    /// Opt-Out record that covers the next closer name.
    /// With NSEC (RFC 4035 §3.1.3.1, §3.1.3.3): the name's own record, or
    /// for an empty non-terminal the one that covers it.
    fn deny_type(&mut self, zone: &ZoneApex, depth: usize) -> Result<(), StoreError> {
        if self.dnssec && zone.nsec {
            let name = self.scratch_key[..self.depth_ends[depth - 1]].to_vec();
            return self.nsec(zone, &name);
        }
        if !self.dnssec || self.nsec3(zone, self.request.qname.suffix(depth), true)? {
            return Ok(());
        }
        for closest in (zone.label_count..depth).rev() {
            let wire = self.request.qname.suffix(closest).to_vec();
            if self.nsec3(zone, &wire, true)? {
                self.nsec3(zone, self.request.qname.suffix(closest + 1), false)?;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Data we are authoritative for at the query name (apex, DS at a cut,
    /// names that are not delegated), or NODATA.
    fn authoritative(&mut self, zone: &ZoneApex, row: Option<RowView<'_>>, apex: bool) -> Answered {
        self.set_aa();
        let owner = self.request.qname.wire();
        let qt = self.request.qtype;
        let mut answered = false;
        if apex && (qt == rtype::SOA || qt == qtype::ANY) {
            answered = true;
            if !self.soa(zone, Section::Answer, zone.soa_ttl())? {
                self.set_tc();
                return Ok(rcode::NOERROR);
            }
        }
        if let Some(row) = row {
            let sigs = row.get(rtype::RRSIG);
            for set in row.rrsets() {
                // Signatures go with what they sign, unless RRSIG is what was asked.
                let wanted = set.rtype == qt || (qt == qtype::ANY && set.rtype != rtype::RRSIG && (apex || set.rtype != rtype::NS));
                if !wanted {
                    continue;
                }
                answered = true;
                if !self.rrset(Section::Answer, owner, set, sigs) {
                    self.set_tc();
                    return Ok(rcode::NOERROR);
                }
                if set.rtype == rtype::NS {
                    self.glue(zone, set, None)?;
                }
            }
        }
        if !answered {
            self.negative(zone)?;
            self.deny_type(zone, self.request.qname.label_count())?;
        }
        Ok(rcode::NOERROR)
    }

    /// A delegation at `depth`: NS in authority, glue in additional, not
    /// authoritative; for DNSSEC-aware clients of a signed zone, the signed
    /// DS, or the proof that there is none.
    fn referral(&mut self, zone: &ZoneApex, depth: usize, ns: RrSetView<'_>, row: RowView<'_>) -> Answered {
        let owner = self.request.qname.suffix(depth);
        if !self.rrset(Section::Authority, owner, ns, None) {
            self.set_tc();
            return Ok(rcode::NOERROR);
        }
        if self.dnssec {
            match row.get(rtype::DS) {
                Some(ds) => {
                    if !self.rrset(Section::Authority, owner, ds, row.get(rtype::RRSIG)) {
                        self.set_tc();
                        return Ok(rcode::NOERROR);
                    }
                }
                None => self.deny_type(zone, depth)?,
            }
        }
        self.glue(zone, ns, Some(owner))?;
        Ok(rcode::NOERROR)
    }

    /// Addresses of in-zone name servers. Those inside the delegated child
    /// (`cut`) are required: if they do not fit the reply is truncated
    /// (RFC 9471). Others are added while there is room.
    fn glue(&mut self, zone: &ZoneApex, ns: RrSetView<'_>, cut: Option<&[u8]>) -> Result<(), StoreError> {
        let passes: &[bool] = if cut.is_some() { &[true, false] } else { &[false] };
        for &required in passes {
            for target in ns.rdatas() {
                if cut.is_some_and(|c| is_below(target, c)) != required {
                    continue;
                }
                wire::wire_to_key(target, self.target_key);
                if !self.target_key.starts_with(&zone.key) {
                    continue;
                }
                let Some(guard) = self.snapshot.zone_row(self.target_key)? else {
                    continue;
                };
                let row = RowView::new(guard.value())?;
                for t in [rtype::A, rtype::AAAA] {
                    if let Some(set) = row.get(t)
                        && !self.rrset(Section::Additional, target, set, None)
                        && required
                    {
                        self.set_tc();
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether wire name `name` is at or below wire name `ancestor` (case-insensitive).
fn is_below(name: &[u8], ancestor: &[u8]) -> bool {
    let mut at = 0;
    loop {
        if name.len() - at == ancestor.len() && name[at..].eq_ignore_ascii_case(ancestor) {
            return true;
        }
        match name.get(at) {
            Some(0) | None => return false,
            Some(len) => at += 1 + *len as usize,
        }
    }
}

/// Whether `addr` may transfer zones signed (or not) with `key`.
pub fn transfer_allowed(acl: &[crate::config::AclRule], addr: IpAddr, key: Option<&str>) -> bool {
    acl.iter().any(|rule| {
        let addr_ok = rule.addresses.is_empty() || rule.addresses.iter().any(|p| p.contains(addr));
        let key_ok = rule.keys.is_empty() || key.is_some_and(|k| rule.keys.iter().any(|r| r.trim_end_matches('.').eq_ignore_ascii_case(k)));
        addr_ok && key_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_ancestry() {
        assert!(is_below(b"\x03ns1\x05hello\x07example\x00", b"\x05hello\x07example\x00"));
        assert!(is_below(b"\x05HELLO\x07example\x00", b"\x05hello\x07example\x00"));
        assert!(!is_below(b"\x03ns1\x05other\x07example\x00", b"\x05hello\x07example\x00"));
        assert!(!is_below(b"\x06xhello\x07example\x00", b"\x05hello\x07example\x00"));
    }

    #[test]
    fn acl_rules() {
        use crate::config::AclRule;
        use crate::model::IpPrefix;
        let acl = vec![
            AclRule { addresses: vec![IpPrefix::parse("127.0.0.0/8").unwrap()], keys: vec![] },
            AclRule { addresses: vec![], keys: vec!["xfr".into()] },
        ];
        assert!(transfer_allowed(&acl, "127.0.0.1".parse().unwrap(), None));
        assert!(!transfer_allowed(&acl, "192.0.2.1".parse().unwrap(), None));
        assert!(transfer_allowed(&acl, "192.0.2.1".parse().unwrap(), Some("XFR")));
        assert!(!transfer_allowed(&[], "127.0.0.1".parse().unwrap(), None));
    }
}
