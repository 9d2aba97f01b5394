//! Names that cannot be registered (RFC 9022's non-nominal domain names,
//! NNDN): names the registry withholds — the labels RA Specification 5
//! reserves, the operator's own reserved lists — and names it blocks
//! (name collisions). A withheld name can still be allocated by the
//! registry, which ends its reservation; a blocked one cannot be
//! registered at all until the block is lifted. A name is reserved only
//! while it is not registered, so no deposit holds a name both as a domain
//! and as an NNDN (RST rde-12).

use super::{DomainName, Timestamp};

/// The longest reason kept with a reservation.
pub const REASON_CHARS_MAX: usize = 255;
/// The longest list name (`spec5`, `operator`, `collision`, …).
pub const LIST_CHARS_MAX: usize = 64;
/// The most names one command reserves, releases or prices.
pub const NAMES_PER_COMMAND_MAX: usize = 100_000;

/// RFC 9022 `nameState`, the two this registry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameState {
    /// Reserved: the registry may still allocate it.
    Withheld,
    /// Cannot be registered by anyone.
    Blocked,
}

impl NameState {
    pub fn as_str(self) -> &'static str {
        match self {
            NameState::Withheld => "withheld",
            NameState::Blocked => "blocked",
        }
    }

    pub fn parse(text: &str) -> Option<NameState> {
        match text {
            "withheld" => Some(NameState::Withheld),
            "blocked" => Some(NameState::Blocked),
            _ => None,
        }
    }
}

/// A name of a TLD that cannot be registered, why, and from which list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReservedName {
    pub name: DomainName,
    pub tld: DomainName,
    pub state: NameState,
    pub reason: String,
    pub list: String,
    pub created: Timestamp,
}

/// Checks a reservation's reason and list name.
pub fn check_labels(reason: &str, list: &str) -> Result<(), String> {
    if reason.trim().is_empty() || reason.chars().count() > REASON_CHARS_MAX || reason.chars().any(char::is_control) {
        return Err(format!("a reason is 1 to {REASON_CHARS_MAX} characters without control characters"));
    }
    let list_ok =
        (1..=LIST_CHARS_MAX).contains(&list.len()) && list.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !list_ok {
        return Err(format!("a list name is 1 to {LIST_CHARS_MAX} of a-z, 0-9 and -"));
    }
    Ok(())
}

/// A label or a name as an operator writes it, as the name below `tld`.
pub fn name_under(entry: &str, tld: &DomainName) -> Result<DomainName, String> {
    let full = if entry.contains('.') { entry.trim_end_matches('.').to_string() } else { format!("{entry}.{tld}") };
    match DomainName::parse(&full) {
        Ok(name) if name.is_directly_below(tld) => Ok(name),
        Ok(name) => Err(format!("{name} is not directly below {tld}")),
        Err(e) => Err(format!("{entry:?}: {e}")),
    }
}

/// The names of a reserved-names file for `tld`: one label or name per
/// line; `#` starts a comment; a bare label is taken under `tld`. Every
/// line that is not a name directly below `tld` is a problem, by line.
pub fn parse_list(text: &str, tld: &DomainName) -> Result<Vec<DomainName>, Vec<String>> {
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if !entry.is_empty() {
            match name_under(entry, tld) {
                Ok(name) => names.push(name),
                Err(e) => problems.push(format!("line {}: {e}", i + 1)),
            }
        }
    }
    if problems.is_empty() { Ok(names) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_takes_labels_and_names_and_says_which_lines_are_wrong() {
        let tld = DomainName::parse("example").unwrap();
        let names = parse_list("# Specification 5\nnic\nwhois.example\n\n  www  # the web\n", &tld).unwrap();
        let names: Vec<&str> = names.iter().map(DomainName::as_str).collect();
        assert_eq!(names, ["nic.example", "whois.example", "www.example"]);
        let problems = parse_list("ok\nbad_label\na.b.example\nother.test\n", &tld).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("line 2:") && problems[1].starts_with("line 3:") && problems[2].starts_with("line 4:"),
            "{problems:?}"
        );
    }

    #[test]
    fn reasons_and_list_names_are_bounded() {
        assert!(check_labels("Specification 5: two-character label", "spec5").is_ok());
        assert!(check_labels("", "spec5").is_err());
        assert!(check_labels("x", "Spec 5").is_err());
        assert!(check_labels(&"x".repeat(256), "spec5").is_err());
        assert!(check_labels("line\nbreak", "spec5").is_err());
    }
}
