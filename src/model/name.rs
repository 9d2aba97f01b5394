//! Domain and host names as the registry accepts them: LDH labels (RFC 5890
//! NR-LDH and A-labels), lower-case, at most 253 characters, parsed once at
//! the edge. Also the DNS forms derived from a name: uncompressed wire format
//! and the canonical-order key under which zone rows are stored.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest presentation form of a name without the trailing dot (RFC 1035: 255 octets in wire form).
pub const NAME_CHARS_MAX: usize = 253;
/// Longest label (RFC 1035).
pub const LABEL_CHARS_MAX: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name is longer than {NAME_CHARS_MAX} characters")]
    TooLong,
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    #[error("label {0:?} is longer than {LABEL_CHARS_MAX} characters")]
    LabelTooLong(String),
    #[error("label {0:?} has a character other than a-z, 0-9 and '-'")]
    BadCharacter(String),
    #[error("label {0:?} starts or ends with '-'")]
    BadHyphen(String),
    #[error("label {0:?} has '--' in positions 3-4 but is not an A-label (xn--)")]
    ReservedLdh(String),
    #[error("label {0:?} is not a valid IDNA2008 A-label (RFC 5890-5892)")]
    BadALabel(String),
    #[error("top-level label {0:?} is all-numeric")]
    NumericTld(String),
}

/// A fully-qualified LDH name, lower-case, stored without the trailing dot.
///
/// Used for domains, hosts and TLDs; [`HostName`] marks the places that name a
/// name server.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(Box<str>);

impl DomainName {
    /// Parses a name in presentation form; a trailing dot is accepted, upper case is folded.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        DomainName::try_from(input.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Labels from the leftmost (most specific) to the top-level label.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('.')
    }

    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }

    /// The name with its leftmost label removed, if it has more than one.
    pub fn parent(&self) -> Option<DomainName> {
        self.0.split_once('.').map(|(_, rest)| DomainName(rest.into()))
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_at_or_below(&self, ancestor: &DomainName) -> bool {
        let (s, a) = (self.as_str(), ancestor.as_str());
        s == a || (s.len() > a.len() && s.ends_with(a) && s.as_bytes()[s.len() - a.len() - 1] == b'.')
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_below(&self, ancestor: &DomainName) -> bool {
        self != ancestor && self.is_at_or_below(ancestor)
    }

    /// Exactly one label below `parent`: what a TLD lets register.
    pub fn is_directly_below(&self, parent: &DomainName) -> bool {
        self.is_below(parent) && !self.as_str()[..self.as_str().len() - parent.as_str().len() - 1].contains('.')
    }

    /// The ancestor of `self` that is exactly one label below `apex`, if `self` is below `apex`.
    pub fn child_of(&self, apex: &DomainName) -> Option<DomainName> {
        if !self.is_below(apex) {
            return None;
        }
        let prefix = &self.as_str()[..self.as_str().len() - apex.as_str().len() - 1];
        let first_label_start = prefix.rfind('.').map_or(0, |i| i + 1);
        Some(DomainName(self.as_str()[first_label_start..].into()))
    }

    /// Uncompressed wire form (RFC 1035 §3.1), including the root label.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        self.write_wire(&mut out);
        out
    }

    pub fn write_wire(&self, out: &mut Vec<u8>) {
        for label in self.labels() {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }

    /// The key that sorts names in DNS canonical order (RFC 4034 §6.1).
    pub fn canonical_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.0.len() + 1);
        // Over bytes: searching a `str` backwards for '.' is several times slower, and every lookup makes a key.
        for label in self.0.as_bytes().rsplit(|&b| b == b'.') {
            key.extend_from_slice(label);
            key.push(0);
        }
        key
    }

    /// Builds a name from a canonical key written by [`DomainName::canonical_key`].
    pub fn from_canonical_key(key: &[u8]) -> Option<DomainName> {
        let body = key.strip_suffix(&[0])?;
        let mut labels: Vec<&[u8]> = body.split(|b| *b == 0).collect();
        labels.reverse();
        let joined = labels.join(&b'.');
        let text = std::str::from_utf8(&joined).ok()?;
        DomainName::parse(text).ok()
    }
}

/// The uncompressed wire form of the name with canonical key `key` (see
/// [`DomainName::canonical_key`]), written into `out`.
pub fn key_to_wire(key: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let body = key.strip_suffix(&[0]).unwrap_or(key);
    if !body.is_empty() {
        for label in body.rsplit(|b| *b == 0) {
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
    }
    out.push(0);
}

fn check_label(label: &[u8]) -> Result<(), NameError> {
    let text = || String::from_utf8_lossy(label).into_owned();
    if label.is_empty() {
        return Err(NameError::EmptyLabel(text()));
    }
    if label.len() > LABEL_CHARS_MAX {
        return Err(NameError::LabelTooLong(text()));
    }
    if !label.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(NameError::BadCharacter(text()));
    }
    if label[0] == b'-' || label[label.len() - 1] == b'-' {
        return Err(NameError::BadHyphen(text()));
    }
    if label.len() >= 4 && &label[2..4] == b"--" && !label.starts_with(b"xn--") {
        return Err(NameError::ReservedLdh(text()));
    }
    if label.starts_with(b"xn--") && !is_a_label(label) {
        return Err(NameError::BadALabel(text()));
    }
    Ok(())
}

/// A valid A-label decodes to a U-label that the IDNA checks accept (UTS 46
/// non-transitional processing with STD3 rules, CheckHyphens, CheckBidi and
/// CheckJoiners, which carry RFC 5891 §5.4 and the CONTEXTJ rules), that
/// encodes back to exactly this label, and whose every code point IDNA2008
/// allows (RFC 5892: UTS 46 also lets through symbols and punctuation that
/// IDNA2008 disallows, such as U+2603).
fn is_a_label(label: &[u8]) -> bool {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    let round_trips =
        Uts46::new().to_ascii(label, AsciiDenyList::STD3, Hyphens::Check, DnsLength::Verify).is_ok_and(|ascii| ascii.as_bytes() == label);
    let u_label = std::str::from_utf8(&label[4..]).ok().and_then(idna::punycode::decode_to_string);
    round_trips && u_label.is_some_and(|u| idna2008::allowed(&u))
}

/// RFC 5892's derived property over a U-label, for code points UTS 46
/// already accepted (so the stability, ignorable-property and joiner
/// categories are settled): PVALID, or CONTEXTO with its Appendix A rule met.
mod idna2008 {
    use icu_properties::CodePointMapData;
    use icu_properties::props::{GeneralCategory as Gc, Script};

    pub fn allowed(u_label: &str) -> bool {
        let chars: Vec<char> = u_label.chars().collect();
        (0..chars.len()).all(|i| code_point_allowed(&chars, i))
    }

    fn code_point_allowed(chars: &[char], i: usize) -> bool {
        let c = chars[i];
        let script = |c: char| CodePointMapData::<Script>::new().get(c);
        match c {
            // F (exceptions): PVALID, then DISALLOWED.
            '\u{DF}' | '\u{3C2}' | '\u{6FD}' | '\u{6FE}' | '\u{F0B}' | '\u{3007}' => true,
            '\u{640}' | '\u{7FA}' | '\u{302E}' | '\u{302F}' | '\u{3031}'..='\u{3035}' | '\u{303B}' => false,
            // CONTEXTO (Appendix A.3–A.9).
            '\u{B7}' => i > 0 && chars[i - 1] == 'l' && chars.get(i + 1) == Some(&'l'),
            '\u{375}' => chars.get(i + 1).is_some_and(|&n| script(n) == Script::Greek),
            '\u{5F3}' | '\u{5F4}' => i > 0 && script(chars[i - 1]) == Script::Hebrew,
            '\u{30FB}' => chars.iter().any(|&o| matches!(script(o), Script::Hiragana | Script::Katakana | Script::Han)),
            '\u{660}'..='\u{669}' => !chars.iter().any(|o| ('\u{6F0}'..='\u{6F9}').contains(o)),
            '\u{6F0}'..='\u{6F9}' => !chars.iter().any(|o| ('\u{660}'..='\u{669}').contains(o)),
            // D (IgnorableBlocks) and G (OldHangulJamo).
            '\u{20D0}'..='\u{20FF}' | '\u{1D100}'..='\u{1D24F}' => false,
            '\u{1100}'..='\u{11FF}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}' => false,
            // H (LDH) and A (LetterDigits).
            '-' | '0'..='9' | 'a'..='z' => true,
            _ => matches!(
                CodePointMapData::<Gc>::new().get(c),
                Gc::LowercaseLetter
                    | Gc::UppercaseLetter
                    | Gc::OtherLetter
                    | Gc::DecimalNumber
                    | Gc::ModifierLetter
                    | Gc::NonspacingMark
                    | Gc::SpacingMark
            ),
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// Parses in place: decoding a stored name costs one allocation, not two.
impl TryFrom<String> for DomainName {
    type Error = NameError;
    fn try_from(mut name: String) -> Result<Self, Self::Error> {
        if name.ends_with('.') {
            name.pop();
        }
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > NAME_CHARS_MAX {
            return Err(NameError::TooLong);
        }
        name.make_ascii_lowercase();
        // Over bytes: stored names are checked again with every lookup that decodes them.
        let mut last: &[u8] = &[];
        for label in name.as_bytes().split(|&b| b == b'.') {
            check_label(label)?;
            last = label;
        }
        if last.iter().all(u8::is_ascii_digit) {
            return Err(NameError::NumericTld(String::from_utf8_lossy(last).into_owned()));
        }
        Ok(DomainName(name.into_boxed_str()))
    }
}

impl From<DomainName> for String {
    fn from(value: DomainName) -> Self {
        value.0.into()
    }
}

impl std::str::FromStr for DomainName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DomainName::parse(s)
    }
}

/// The name of a name server (RFC 5732 host object).
pub type HostName = DomainName;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_folds_case() {
        let n = DomainName::parse("WWW.Hello.Example.").unwrap();
        assert_eq!(n.as_str(), "www.hello.example");
        assert_eq!(n.label_count(), 3);
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(DomainName::parse(""), Err(NameError::Empty));
        assert_eq!(DomainName::parse("."), Err(NameError::Empty));
        assert!(matches!(DomainName::parse("a..b"), Err(NameError::EmptyLabel(_))));
        assert!(matches!(DomainName::parse("-a.b"), Err(NameError::BadHyphen(_))));
        assert!(matches!(DomainName::parse("a-.b"), Err(NameError::BadHyphen(_))));
        assert!(matches!(DomainName::parse("a_b.c"), Err(NameError::BadCharacter(_))));
        assert!(matches!(DomainName::parse("ex ample.c"), Err(NameError::BadCharacter(_))));
        assert!(matches!(DomainName::parse("ab--cd.c"), Err(NameError::ReservedLdh(_))));
        assert!(matches!(DomainName::parse("a.123"), Err(NameError::NumericTld(_))));
        let long_label = "a".repeat(64);
        assert!(matches!(DomainName::parse(&format!("{long_label}.c")), Err(NameError::LabelTooLong(_))));
        let long_name = vec!["a".repeat(63); 4].join(".");
        assert_eq!(DomainName::parse(&long_name), Err(NameError::TooLong));
        assert!(DomainName::parse("xn--bcher-kva.example").is_ok());
        // Punycode that decodes to nothing valid or to an ASCII-only label; a
        // leading combining mark, a joiner out of context, a bidi rule breach.
        for bad in [
            "xn--a.example",
            "xn--abc-.example",
            "xn--ab-.example",
            "xn--zz-zzzzzzzzzz.example",
            "xn--a-wbb.example",
            "xn--ab-m1t.example",
            "xn--ab-dtd.example",
            // Symbols UTS 46 lets through and IDNA2008 disallows: U+2603, U+2665.
            "xn--n3h.example",
            "xn--ab-u0x.example",
            // U+00B7 not between two l.
            "xn--ab-0ea.example",
        ] {
            assert!(matches!(DomainName::parse(bad), Err(NameError::BadALabel(_) | NameError::BadHyphen(_))), "{bad}");
        }
        for good in [
            "xn--55qx5d.example",
            "xn--4ca0bs.example",
            "xn--ab-gia.example",
            "xn--mgbh0fb.example",
            "xn--h2brj9c.example",
            "xn--80ak6aa92e.example",
            // Catalan l·l: U+00B7 between two l (RFC 5892 A.3).
            "xn--collecci-ioa91d.example",
        ] {
            assert!(DomainName::parse(good).is_ok(), "{good}");
        }
        assert!(DomainName::parse("123.example").is_ok());
    }

    #[test]
    fn ancestry() {
        let apex = DomainName::parse("example").unwrap();
        let d = DomainName::parse("hello.example").unwrap();
        let h = DomainName::parse("ns1.hello.example").unwrap();
        let other = DomainName::parse("xexample").unwrap();
        assert!(h.is_below(&apex) && h.is_below(&d) && d.is_at_or_below(&d));
        assert!(!d.is_below(&d) && !other.is_at_or_below(&apex));
        assert_eq!(h.child_of(&apex), Some(d.clone()));
        assert_eq!(d.child_of(&apex), Some(d.clone()));
        assert_eq!(apex.child_of(&apex), None);
        assert_eq!(h.parent(), Some(d));
    }

    #[test]
    fn canonical_order_and_round_trip() {
        // RFC 4034 §6.1 example order, lower-cased and LDH-only.
        let ordered = ["example", "a.example", "yljkjljk.a.example", "z.a.example", "zabc.a.example", "z.example", "a-b.z.example"];
        let mut keys: Vec<_> = ordered.iter().map(|n| DomainName::parse(n).unwrap().canonical_key()).collect();
        let sorted = {
            let mut k = keys.clone();
            k.sort();
            k
        };
        assert_eq!(keys, sorted);
        for key in keys.drain(..) {
            let name = DomainName::from_canonical_key(&key).unwrap();
            assert_eq!(name.canonical_key(), key);
        }
        assert_eq!(DomainName::parse("a.b").unwrap().to_wire(), b"\x01a\x01b\x00");
    }

    #[test]
    fn descendants_share_the_key_prefix() {
        let d = DomainName::parse("hello.example").unwrap().canonical_key();
        let h = DomainName::parse("ns1.hello.example").unwrap().canonical_key();
        let sibling = DomainName::parse("hello-world.example").unwrap().canonical_key();
        assert!(h.starts_with(&d));
        assert!(!sibling.starts_with(&d));
    }
}
