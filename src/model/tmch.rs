//! The Trademark Clearinghouse's rules for launch phases
//! (draft-ietf-regext-tmch-func-spec, RFC 7848, RFC 8334): the trust the
//! registry places in signed marks (the TMCH CA certificate and its
//! revocation list), the DNL (labels under claims, with the claim key a
//! claims check returns), the SMD revocation list, and what a sunrise create
//! (a verified mark matching the label, valid now, not revoked) and a claims
//! create (a notice whose id checksums to the label, not expired, accepted
//! within 48 hours) must show. Verifying a mark's XML signature is done at
//! the edge (`crate::tmch`); here a [`VerifiedMark`] is what came out of it.

use super::{ClientId, DomainName, Roid, Timestamp};

/// How long before a create a claims notice may have been accepted.
pub const NOTICE_ACCEPTED_WITHIN_S: i64 = 48 * 3600;

/// The most labels a DNL or an SMD revocation list may hold.
pub const LIST_ROWS_MAX: usize = 5_000_000;

/// What signed marks are verified against: the TMCH CA certificates (PEM)
/// and the CA's certificate revocation list (PEM), as loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TmchTrust {
    pub ca_pem: String,
    pub crl_pem: Option<String>,
    pub loaded: Timestamp,
}

/// A label of the DNL: creates of it in a claims phase need a claims notice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimsLabel {
    pub label: String,
    /// The lookup key (`launch:claimKey`) registrars fetch the notice with.
    pub claim_key: String,
    pub inserted: Timestamp,
}

/// A signed mark the TMCH revoked (a row of the SMD revocation list).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevokedMark {
    pub smd_id: String,
    pub revoked: Timestamp,
}

/// A domain created under a launch rule — with a signed mark in sunrise, or
/// with a claims notice — as the LORDN files report it to the TMCH.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LaunchRegistration {
    pub tld: DomainName,
    pub domain: DomainName,
    pub roid: Roid,
    pub registrar: ClientId,
    pub created: Timestamp,
    /// True: a sunrise create with the signed mark `id`; false: a claims
    /// create with the notice `id`, accepted at `accepted`.
    pub sunrise: bool,
    pub id: String,
    pub accepted: Option<Timestamp>,
}

/// A LORDN file (the TMCH functional specification's sunrise or claims
/// list of registrations): a line `1,<creation time>,<rows>`, the header,
/// then one row per registration, each with its registrar's IANA id.
pub fn lordn(sunrise: bool, rows: &[(LaunchRegistration, u32)], now: Timestamp) -> String {
    let mut out = format!("1,{},{}\n", now.to_rfc3339(), rows.len());
    out.push_str(match sunrise {
        true => "roid,domain-name,SMD-id,registrar-id,registration-datetime,application-datetime\n",
        false => "roid,domain-name,notice-id,registrar-id,registration-datetime,ack-datetime,application-datetime\n",
    });
    for (r, iana_id) in rows {
        let created = r.created.to_rfc3339();
        out.push_str(&format!("{},{},{},{iana_id},{created},", r.roid.as_str(), r.domain, r.id));
        if !sunrise {
            out.push_str(&format!("{},", r.accepted.map(Timestamp::to_rfc3339).unwrap_or_default()));
        }
        out.push('\n');
    }
    out
}

/// A signed mark whose signature and certificate chain were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMark {
    pub smd_id: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// The A-labels the mark may register (`mark:label`), lower-cased.
    pub labels: Vec<String>,
}

impl VerifiedMark {
    /// Whether it lets `label` be registered at `now`.
    pub fn allows(&self, label: &str, now: Timestamp) -> Result<(), String> {
        if now < self.not_before || now >= self.not_after {
            return Err(format!(
                "the signed mark {} is valid from {} to {}",
                self.smd_id,
                self.not_before.to_rfc3339_seconds(),
                self.not_after.to_rfc3339_seconds()
            ));
        }
        if !self.labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
            return Err(format!("the signed mark {} does not hold the label {label}", self.smd_id));
        }
        Ok(())
    }
}

/// A claims notice as a create carries it (RFC 8334 `launch:notice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsNotice {
    pub notice_id: String,
    pub validator: String,
    pub not_after: Timestamp,
    pub accepted: Timestamp,
}

impl ClaimsNotice {
    /// Whether it is a notice for `label` that still holds at `now`: the
    /// TMCH validated it, its id's checksum matches the label and expiry,
    /// it has not expired, and it was accepted in the last 48 hours.
    pub fn check(&self, label: &str, now: Timestamp) -> Result<(), String> {
        if self.validator != "tmch" {
            return Err(format!("claims notices of the validator {:?} are not accepted; only tmch", self.validator));
        }
        if !notice_checksum_matches(&self.notice_id, label, self.not_after) {
            return Err(format!(
                "the claims notice id {} is not one for {label} expiring {}",
                self.notice_id,
                self.not_after.to_rfc3339_seconds()
            ));
        }
        if self.not_after <= now {
            return Err(format!("the claims notice expired at {}", self.not_after.to_rfc3339_seconds()));
        }
        if self.accepted > now {
            return Err("the claims notice was accepted in the future".into());
        }
        if now.unix_seconds() - self.accepted.unix_seconds() > NOTICE_ACCEPTED_WITHIN_S {
            return Err(format!("the claims notice was accepted at {}, more than 48 hours ago", self.accepted.to_rfc3339_seconds()));
        }
        Ok(())
    }
}

/// A TMCH notice id is 8 hex digits of checksum and 19 decimal ones; the
/// checksum is the CRC-32 of the label, the notice's expiry in seconds since
/// the epoch, and the 19 digits, one after the other.
pub fn notice_checksum_matches(notice_id: &str, label: &str, not_after: Timestamp) -> bool {
    if notice_id.len() != 27 || !notice_id.is_ascii() {
        return false;
    }
    let (checksum, digits) = notice_id.split_at(8);
    let Ok(checksum) = u32::from_str_radix(checksum, 16) else { return false };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    checksum == notice_checksum(label, not_after, digits)
}

/// The checksum a notice id for `label` expiring at `not_after` begins with.
pub fn notice_checksum(label: &str, not_after: Timestamp, digits: &str) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(format!("{}{}{digits}", label.to_ascii_lowercase(), not_after.unix_seconds()).as_bytes());
    hasher.finalize()
}

/// Reads a DNL file: a line `version,created`, the header
/// `DNL,lookup-key,insertion-datetime`, then `label,claim key,inserted`.
/// Every problem is named with its line.
pub fn parse_dnl(text: &str) -> Result<Vec<ClaimsLabel>, Vec<String>> {
    parse_rows(text, "DNL,lookup-key,insertion-datetime", 3, |fields| {
        let label = fields[0].to_ascii_lowercase();
        check_label(&label)?;
        let claim_key = fields[1];
        if claim_key.is_empty() || claim_key.len() > 256 || !claim_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("{claim_key:?} is not a lookup key"));
        }
        Ok(ClaimsLabel { label, claim_key: claim_key.to_string(), inserted: time(fields[2])? })
    })
}

/// Reads an SMD revocation list: a line `version,created`, the header
/// `smd-id,insertion-datetime`, then `smd id,revoked`.
pub fn parse_smdrl(text: &str) -> Result<Vec<RevokedMark>, Vec<String>> {
    parse_rows(text, "smd-id,insertion-datetime", 2, |fields| {
        let smd_id = fields[0];
        check_smd_id(smd_id)?;
        Ok(RevokedMark { smd_id: smd_id.to_string(), revoked: time(fields[1])? })
    })
}

/// An SMD id (`mark:idType`): digits, a hyphen, digits.
pub fn check_smd_id(id: &str) -> Result<(), String> {
    let ok = id.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    });
    if !ok || id.len() > 128 {
        return Err(format!("{id:?} is not an SMD id (digits-digits)"));
    }
    Ok(())
}

/// A mark label: an LDH label of 1 to 63 characters.
pub fn check_label(label: &str) -> Result<(), String> {
    let b = label.as_bytes();
    let ok =
        (1..=63).contains(&b.len()) && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') && b[0] != b'-' && b[b.len() - 1] != b'-';
    if !ok {
        return Err(format!("{label:?} is not a label of letters, digits and hyphens"));
    }
    Ok(())
}

fn time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|_| format!("{text:?} is not an RFC 3339 time"))
}

fn parse_rows<T>(text: &str, header: &str, fields_count: usize, row: impl Fn(&[&str]) -> Result<T, String>) -> Result<Vec<T>, Vec<String>> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty());
    let mut problems = Vec::new();
    match lines.next() {
        Some((_, first)) if first.split_once(',').is_some_and(|(v, t)| v == "1" && time(t).is_ok()) => {}
        _ => problems.push("line 1: not `1,<creation time>`".to_string()),
    }
    match lines.next() {
        Some((_, h)) if h.eq_ignore_ascii_case(header) => {}
        _ => problems.push(format!("line 2: not the header `{header}`")),
    }
    let mut rows = Vec::new();
    for (n, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != fields_count {
            problems.push(format!("line {n}: {} fields, not {fields_count}", fields.len()));
            continue;
        }
        match row(&fields) {
            Ok(r) => rows.push(r),
            Err(e) => problems.push(format!("line {n}: {e}")),
        }
        if rows.len() > LIST_ROWS_MAX {
            problems.push(format!("more than {LIST_ROWS_MAX} rows"));
            break;
        }
    }
    problems.truncate(20);
    if problems.is_empty() { Ok(rows) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn notice_id(label: &str, not_after: Timestamp, digits: &str) -> String {
        format!("{:08x}{digits}", notice_checksum(label, not_after, digits))
    }

    #[test]
    fn a_notice_holds_for_its_label_until_it_expires_and_for_48_hours_after_acceptance() {
        let not_after = at("2026-12-10T00:00:00Z");
        let notice = ClaimsNotice {
            notice_id: notice_id("example", not_after, "0000000000000000001"),
            validator: "tmch".into(),
            not_after,
            accepted: at("2026-12-07T00:00:00Z"),
        };
        assert_eq!(notice.check("example", at("2026-12-07T12:00:00Z")), Ok(()));
        assert_eq!(notice.check("EXAMPLE", at("2026-12-07T12:00:00Z")), Ok(()), "labels compare without case");
        assert!(notice.check("other", at("2026-12-07T12:00:00Z")).unwrap_err().contains("not one for other"));
        assert!(notice.check("example", at("2026-12-09T00:00:01Z")).unwrap_err().contains("48 hours"));
        assert!(notice.check("example", at("2026-12-06T23:00:00Z")).unwrap_err().contains("future"));
        let expired = ClaimsNotice { accepted: at("2026-12-09T23:00:00Z"), ..notice.clone() };
        assert!(expired.check("example", at("2026-12-10T00:00:00Z")).unwrap_err().contains("expired"));
        let moved = ClaimsNotice { not_after: at("2026-12-11T00:00:00Z"), ..notice.clone() };
        assert!(moved.check("example", at("2026-12-07T12:00:00Z")).is_err(), "the expiry is part of the checksum");
        let other_validator = ClaimsNotice { validator: "other".into(), ..notice };
        assert!(other_validator.check("example", at("2026-12-07T12:00:00Z")).is_err());
        assert!(!notice_checksum_matches("zz", "example", not_after));
        assert!(!notice_checksum_matches("0123456x0000000000000000001", "example", not_after));
    }

    #[test]
    fn the_checksum_is_the_crc32_of_label_expiry_and_digits() {
        // CRC-32 of "example1700000000" followed by the digits, computed independently.
        let digits = "0000000000000000001";
        let expected = crc32fast::hash(format!("example1700000000{digits}").as_bytes());
        assert_eq!(notice_checksum("example", Timestamp::from_unix_seconds(1_700_000_000), digits), expected);
    }

    #[test]
    fn the_dnl_and_the_smd_revocation_list_are_read_with_their_headers() {
        let dnl = "1,2026-12-01T00:00:00.0Z\nDNL,lookup-key,insertion-datetime\nExample,2026120100/1/2/3/abcdef0000000001,2026-11-01T00:00:00.0Z\n\ntest-mark,2026120100/1/2/3/abcdef0000000002,2026-11-02T00:00:00.0Z\n";
        let labels = parse_dnl(dnl).unwrap();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].label, "example");
        assert_eq!(labels[0].claim_key, "2026120100/1/2/3/abcdef0000000001");
        let bad = "1,2026-12-01T00:00:00.0Z\nDNL,lookup-key,insertion-datetime\n-bad,key,2026-11-01T00:00:00Z\nok,key\n";
        let problems = parse_dnl(bad).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 3"));
        assert!(parse_dnl("DNL,lookup-key,insertion-datetime\n").is_err(), "the first line is missing");

        let smdrl = "1,2026-12-01T00:00:00.0Z\nsmd-id,insertion-datetime\n0000001681375789102250-65535,2026-08-09T12:00:00.0Z\n";
        assert_eq!(parse_smdrl(smdrl).unwrap()[0].smd_id, "0000001681375789102250-65535");
        assert!(parse_smdrl("1,2026-12-01T00:00:00.0Z\nsmd-id,insertion-datetime\nnot-an-id,2026-08-09T12:00:00Z\n").is_err());
    }

    #[test]
    fn lordn_files_list_registrations_with_the_registrars_iana_ids() {
        let registration = LaunchRegistration {
            tld: DomainName::parse("example").unwrap(),
            domain: DomainName::parse("testmark.example").unwrap(),
            roid: Roid::new('D', 1, &super::super::RoidSuffix::parse("EXAMPLE").unwrap()),
            registrar: ClientId::parse("demo-registrar").unwrap(),
            created: at("2026-12-03T00:00:00Z"),
            sunrise: true,
            id: "1-2".into(),
            accepted: None,
        };
        assert_eq!(
            lordn(true, &[(registration.clone(), 9999)], at("2026-12-04T00:00:00Z")),
            "1,2026-12-04T00:00:00.000Z,1\nroid,domain-name,SMD-id,registrar-id,registration-datetime,application-datetime\nD1-EXAMPLE,testmark.example,1-2,9999,2026-12-03T00:00:00.000Z,\n"
        );
        let claims = LaunchRegistration {
            sunrise: false,
            id: "370d0b7c9223372036854775807".into(),
            accepted: Some(at("2026-12-02T00:00:00Z")),
            ..registration
        };
        assert!(lordn(false, &[(claims, 9999)], at("2026-12-04T00:00:00Z")).ends_with(
            "D1-EXAMPLE,testmark.example,370d0b7c9223372036854775807,9999,2026-12-03T00:00:00.000Z,2026-12-02T00:00:00.000Z,\n"
        ));
    }

    #[test]
    fn a_mark_allows_its_labels_while_it_is_valid() {
        let mark = VerifiedMark {
            smd_id: "1-2".into(),
            not_before: at("2026-01-01T00:00:00Z"),
            not_after: at("2027-01-01T00:00:00Z"),
            labels: vec!["testmark".into(), "test-mark".into()],
        };
        assert_eq!(mark.allows("test-mark", at("2026-06-01T00:00:00Z")), Ok(()));
        assert!(mark.allows("other", at("2026-06-01T00:00:00Z")).is_err());
        assert!(mark.allows("testmark", at("2027-01-01T00:00:00Z")).is_err());
        assert!(mark.allows("testmark", at("2025-12-31T00:00:00Z")).is_err());
    }
}
