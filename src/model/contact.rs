//! The value rules of contact fields, as RFC 5733 and its XSD types say
//! them: postal lines of 1-255 characters (`postalLineType`), postal codes of
//! at most 16 (`pcType`), ISO 3166-1 alpha-2 country codes, E.164 numbers of
//! at most 17 characters (`e164StringType`), e-mail addresses within the
//! RFC 5321 limits, `int` postal information in 7-bit ASCII (RFC 5733
//! §2.3), and no control characters anywhere, so that no stored value can
//! break a line of WHOIS or a schema-valid EPP response.

use super::objects::{Phone, PostalInfo};

/// Officially assigned ISO 3166-1 alpha-2 codes.
const COUNTRY_CODES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

const POSTAL_LINE_CHARS_MAX: usize = 255;
const POSTAL_CODE_CHARS_MAX: usize = 16;
const STREET_LINES_MAX: usize = 3;
const E164_CHARS_MAX: usize = 17;
const PHONE_EXT_CHARS_MAX: usize = 16;
/// RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256 with its brackets.
const EMAIL_LOCAL_BYTES_MAX: usize = 64;
const EMAIL_BYTES_MAX: usize = 254;

/// A field value that breaks its rule, described for the peer.
pub type FieldError = String;

fn text(field: &str, value: &str, chars: std::ops::RangeInclusive<usize>, ascii: bool) -> Result<(), FieldError> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!("{field} contains the control character U+{:04X}", c as u32));
    }
    if ascii && !value.is_ascii() {
        return Err(format!("{field} of int postal information must be 7-bit ASCII (RFC 5733 §2.3); use loc for other scripts"));
    }
    let n = value.chars().count();
    if !chars.contains(&n) {
        return Err(format!("{field} must be {} to {} characters, not {n}", chars.start(), chars.end()));
    }
    Ok(())
}

/// Checks postal information; `int` is the internationalized (ASCII) form.
pub fn check_postal(p: &PostalInfo, int: bool) -> Result<(), FieldError> {
    let line = 1..=POSTAL_LINE_CHARS_MAX;
    text("name", &p.name, line.clone(), int)?;
    if let Some(org) = &p.org {
        text("org", org, line.clone(), int)?;
    }
    let a = &p.address;
    if a.street.len() > STREET_LINES_MAX {
        return Err(format!("at most {STREET_LINES_MAX} street lines"));
    }
    for street in &a.street {
        text("street", street, 0..=POSTAL_LINE_CHARS_MAX, int)?;
    }
    text("city", &a.city, line, int)?;
    if let Some(sp) = &a.state {
        text("sp", sp, 0..=POSTAL_LINE_CHARS_MAX, int)?;
    }
    if let Some(pc) = &a.postal_code {
        text("pc", pc, 0..=POSTAL_CODE_CHARS_MAX, true)?;
    }
    if !(a.country_code.len() == 2 && COUNTRY_CODES.split(' ').any(|c| c == a.country_code)) {
        return Err(format!("{:?} is not an ISO 3166-1 alpha-2 country code", a.country_code));
    }
    Ok(())
}

/// `+CC.NUMBER` (`e164StringType`) with an optional extension of digits and visual separators.
pub fn check_phone(p: &Phone) -> Result<(), FieldError> {
    let well_formed = p.number.strip_prefix('+').and_then(|n| n.split_once('.')).is_some_and(|(cc, rest)| {
        (1..=3).contains(&cc.len()) && (1..=14).contains(&rest.len()) && cc.bytes().chain(rest.bytes()).all(|b| b.is_ascii_digit())
    });
    if !well_formed || p.number.len() > E164_CHARS_MAX {
        return Err(format!("{:?} is not a telephone number like +1.5555550100 (at most {E164_CHARS_MAX} characters)", p.number));
    }
    if let Some(ext) = &p.ext {
        let ok = (1..=PHONE_EXT_CHARS_MAX).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit() || b"-.()".contains(&b));
        if !ok {
            return Err(format!("extension {ext:?} must be 1 to {PHONE_EXT_CHARS_MAX} digits"));
        }
    }
    Ok(())
}

/// An e-mail address within RFC 5321's limits, trimmed.
pub fn check_email(value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let bad = || format!("{value:?} is not an e-mail address");
    let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) || local.is_empty() || local.len() > EMAIL_LOCAL_BYTES_MAX {
        return Err(bad());
    }
    if v.len() > EMAIL_BYTES_MAX {
        return Err(format!("an e-mail address is at most {EMAIL_BYTES_MAX} bytes (RFC 5321)"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-')) {
        return Err(bad());
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::PostalAddress;

    fn postal(name: &str, cc: &str) -> PostalInfo {
        PostalInfo {
            name: name.into(),
            org: None,
            address: PostalAddress {
                street: vec!["Via Roma 1".into()],
                city: "Roma".into(),
                state: None,
                postal_code: Some("00100".into()),
                country_code: cc.into(),
            },
        }
    }

    #[test]
    fn postal_information_follows_the_schema_types() {
        assert_eq!(COUNTRY_CODES.split(' ').count(), 249);
        assert!(check_postal(&postal("Ada Lovelace", "GB"), true).is_ok());
        assert!(check_postal(&postal("Zoë Ünal", "DE"), false).is_ok());
        assert!(check_postal(&postal("Zoë Ünal", "DE"), true).unwrap_err().contains("7-bit ASCII"));
        for cc in ["XX", "gb", "G", "GBR", "UK"] {
            assert!(check_postal(&postal("A", cc), false).is_err(), "{cc}");
        }
        assert!(check_postal(&postal(&"a".repeat(255), "GB"), true).is_ok());
        assert!(check_postal(&postal(&"a".repeat(256), "GB"), true).is_err());
        assert!(check_postal(&postal("", "GB"), true).is_err());
        for ctl in ["A\rB", "A\nB", "A\tB", "A\u{85}B", "A\u{7f}B"] {
            assert!(check_postal(&postal(ctl, "GB"), false).unwrap_err().contains("control character"), "{ctl:?}");
        }
        let mut p = postal("A", "GB");
        p.address.postal_code = Some("1".repeat(17));
        assert!(check_postal(&p, false).is_err());
        p.address.postal_code = None;
        p.address.street = vec!["x".into(); 4];
        assert!(check_postal(&p, false).is_err());
    }

    #[test]
    fn phones_and_addresses_keep_their_limits() {
        let phone = |n: &str, x: Option<&str>| check_phone(&Phone { number: n.into(), ext: x.map(str::to_string) });
        assert!(phone("+1.5555550100", Some("42")).is_ok());
        assert!(phone("+39.06123456789012", None).is_err(), "18 characters");
        assert!(phone("+390.612345678901", None).is_ok());
        for bad in ["1.555", "+1555", "+1.", "+1234.5", "+1.55a"] {
            assert!(phone(bad, None).is_err(), "{bad}");
        }
        assert!(phone("+1.5555550100", Some("4\r2")).is_err());
        assert!(check_email(" ops@example.net ").is_ok_and(|e| e == "ops@example.net"));
        for bad in ["ops", "@example.net", "ops@example", "ops@.example.net", "o ps@example.net", "ops@exa\rmple.net", "ops@-x.net"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.net", "a".repeat(65))).is_err());
        assert!(check_email(&format!("a@{}.net", "b".repeat(63))).is_ok());
        assert!(check_email(&format!("a@{}.net", vec!["b".repeat(63); 4].join("."))).is_err(), "over 254 bytes");
    }
}
