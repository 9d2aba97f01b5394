//! A TLD's IDN table: the code points its labels may use and the variants
//! among them, read from the repertoire and variant parts of an RFC 7940
//! Label Generation Ruleset (`<char cp>`, `<range first-cp last-cp>`,
//! `<var cp>` inside a `<char>`), and the TLD's variant policy. A label is
//! valid when every code point of its U-label is in the repertoire; its
//! variants are the labels made by replacing code points by their
//! variants. A variant of a registered name is blocked, or open only to
//! the registrar of that name, as the policy says. An IDN-only TLD takes no
//! pure ASCII labels. LGR whole-label rules and contexts, and code point
//! sequences, are not read: a table using them is refused.

use std::collections::BTreeMap;

use super::DomainName;

/// The most variant labels computed for one label (the rest are not looked at).
pub const VARIANTS_MAX: usize = 256;
/// The most code points a table holds ranges and variants of.
const ENTRIES_MAX: usize = 100_000;

/// What a variant of a registered name may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantPolicy {
    /// Nobody registers it.
    Blocked,
    /// Only the registered name's registrar does.
    SameRegistrar,
}

/// A TLD's IDN table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdnTable {
    pub tld: DomainName,
    /// The table's id, as RDAP and escrow name it (`latin-1.0`).
    pub id: String,
    /// Code point ranges, sorted and disjoint.
    pub repertoire: Vec<(u32, u32)>,
    /// Each code point's variants, both ways.
    pub variants: Vec<(u32, u32)>,
    pub policy: VariantPolicy,
    pub idn_only: bool,
    /// Where the table is published (the IANA repository, say) and the
    /// registry's IDN policy: escrow deposits name them (`rdeIDN:idnTableRef`).
    pub url: Option<String>,
    pub url_policy: Option<String>,
}

/// Inclusive code point ranges (the repertoire), or pairs of variants.
pub type CodePointPairs = Vec<(u32, u32)>;

fn code_point(text: &str) -> Result<u32, String> {
    let cp = u32::from_str_radix(text.trim(), 16).map_err(|_| format!("{text:?} is not a code point"))?;
    char::from_u32(cp).map(|_| cp).ok_or_else(|| format!("U+{cp:04X} is not a character"))
}

/// The repertoire and variants of an LGR document.
pub fn parse_lgr(xml: &str) -> Result<(CodePointPairs, CodePointPairs), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut ranges, mut variants) = (Vec::new(), Vec::new());
    let mut current: Option<u32> = None;
    loop {
        let event = reader.read_event().map_err(|e| format!("the LGR is not XML: {e}"))?;
        let (element, empty) = match &event {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(e) if e.local_name().into_inner() == "char" => {
                current = None;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let attr = |name: &str| -> Option<String> { element.try_get_attribute(name).ok().flatten().map(|a| a.value.to_string()) };
        match element.local_name().into_inner() {
            "char" => {
                let cp = attr("cp").ok_or("a char without cp")?;
                if cp.split_whitespace().count() != 1 {
                    return Err(format!("code point sequences ({cp}) are not supported"));
                }
                let cp = code_point(&cp)?;
                ranges.push((cp, cp));
                current = (!empty).then_some(cp);
            }
            "range" => {
                let (first, last) = (
                    code_point(&attr("first-cp").ok_or("a range without first-cp")?)?,
                    code_point(&attr("last-cp").ok_or("a range without last-cp")?)?,
                );
                if last < first {
                    return Err(format!("range U+{first:04X}..U+{last:04X} is empty"));
                }
                ranges.push((first, last));
            }
            "var" => {
                let from = current.ok_or("a var outside a char")?;
                let cp = attr("cp").ok_or("a var without cp")?;
                if cp.split_whitespace().count() != 1 {
                    return Err(format!("code point sequences ({cp}) are not supported"));
                }
                let to = code_point(&cp)?;
                variants.push((from.min(to), from.max(to)));
            }
            "rule" | "action" | "class" | "union" | "complement" | "intersection" | "difference" | "symmetric-difference" => {
                return Err("LGR rules, classes and actions are not supported; the table's repertoire and variants are".into());
            }
            _ => {}
        }
        if ranges.len() + variants.len() > ENTRIES_MAX {
            return Err(format!("more than {ENTRIES_MAX} entries"));
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    variants.sort_unstable();
    variants.dedup();
    if merged.is_empty() {
        return Err("the LGR has no repertoire".into());
    }
    Ok((merged, variants))
}

impl IdnTable {
    fn allows(&self, c: char) -> bool {
        let cp = c as u32;
        let i = self.repertoire.partition_point(|(first, _)| *first <= cp);
        i > 0 && self.repertoire[i - 1].1 >= cp
    }

    /// Why `u_label` is not valid under the table, if it is not.
    pub fn refusal(&self, u_label: &str) -> Option<String> {
        if self.idn_only && u_label.is_ascii() {
            return Some(format!("{} takes internationalised names only", self.tld));
        }
        u_label.chars().find(|c| !self.allows(*c)).map(|c| format!("U+{:04X} is not in the {} IDN table", c as u32, self.id))
    }

    /// The labels `u_label` is a variant of (itself excluded), at most [`VARIANTS_MAX`].
    pub fn variants_of(&self, u_label: &str) -> Vec<String> {
        let mut of: BTreeMap<u32, Vec<char>> = BTreeMap::new();
        for &(a, b) in &self.variants {
            if let (Some(ca), Some(cb)) = (char::from_u32(a), char::from_u32(b)) {
                of.entry(a).or_default().push(cb);
                of.entry(b).or_default().push(ca);
            }
        }
        let mut labels = vec![String::new()];
        for c in u_label.chars() {
            let choices: Vec<char> = std::iter::once(c).chain(of.get(&(c as u32)).into_iter().flatten().copied()).collect();
            let mut next = Vec::with_capacity(labels.len() * choices.len());
            'grow: for label in &labels {
                for choice in &choices {
                    if next.len() > VARIANTS_MAX {
                        break 'grow;
                    }
                    next.push(format!("{label}{choice}"));
                }
            }
            labels = next;
        }
        labels.retain(|l| l != u_label);
        labels.truncate(VARIANTS_MAX);
        labels
    }
}

/// The U-label of a label: decoded when it is an A-label.
pub fn u_label(label: &str) -> Option<String> {
    match label.strip_prefix("xn--") {
        Some(encoded) => idna::punycode::decode_to_string(encoded),
        None => Some(label.to_string()),
    }
}

/// The A-label of a U-label.
pub fn a_label(u_label: &str) -> Option<String> {
    if u_label.is_ascii() { Some(u_label.to_string()) } else { idna::punycode::encode_str(u_label).map(|p| format!("xn--{p}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LGR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<lgr xmlns="urn:ietf:params:xml:ns:lgr-1.0">
  <meta><version>1</version><language>sv</language></meta>
  <data>
    <char cp="002D"/>
    <range first-cp="0030" last-cp="0039"/>
    <range first-cp="0061" last-cp="007A"/>
    <char cp="00E4"><var cp="00E6" type="blocked"/></char>
    <char cp="00E6"/>
    <char cp="00F6"/>
  </data>
</lgr>"#;

    fn table(idn_only: bool) -> IdnTable {
        let (repertoire, variants) = parse_lgr(LGR).unwrap();
        IdnTable {
            tld: DomainName::parse("example").unwrap(),
            id: "sv-1.0".into(),
            repertoire,
            variants,
            policy: VariantPolicy::Blocked,
            idn_only,
            url: None,
            url_policy: None,
        }
    }

    #[test]
    fn labels_use_the_repertoire_only() {
        let t = table(false);
        assert_eq!(t.repertoire, vec![(0x2D, 0x2D), (0x30, 0x39), (0x61, 0x7A), (0xE4, 0xE4), (0xE6, 0xE6), (0xF6, 0xF6)]);
        assert_eq!(t.refusal("räksmörgås"), Some("U+00E5 is not in the sv-1.0 IDN table".into()));
        assert_eq!(t.refusal("räksmörg"), None);
        assert_eq!(t.refusal("plain"), None);
        assert!(table(true).refusal("plain").unwrap().contains("internationalised names only"));
    }

    #[test]
    fn variants_replace_code_points_both_ways() {
        let t = table(false);
        assert_eq!(t.variants_of("bär"), ["bær"]);
        let mut both = t.variants_of("bæä");
        both.sort();
        assert_eq!(both, ["bää", "bäæ", "bææ"]);
        assert!(t.variants_of("plain").is_empty());
        assert_eq!(a_label("bær").as_deref(), Some("xn--br-1ia"));
        assert_eq!(u_label("xn--br-1ia").as_deref(), Some("bær"));
    }

    #[test]
    fn rules_and_sequences_are_refused() {
        assert!(parse_lgr(r#"<lgr><data><char cp="0061 0062"/></data></lgr>"#).unwrap_err().contains("sequences"));
        assert!(parse_lgr(r#"<lgr><data><char cp="0061"/></data><rules><rule name="x"/></rules></lgr>"#).unwrap_err().contains("rules"));
        assert!(parse_lgr(r#"<lgr><data></data></lgr>"#).is_err());
        assert!(parse_lgr(r#"<lgr><data><range first-cp="0062" last-cp="0061"/></data></lgr>"#).is_err());
    }
}
