//! IANA's registrar list (the "Registrar IDs" registry, published as CSV:
//! `ID,Registrar Name,Status,RDAP Base URL`): which IANA ids belong to
//! registrars ICANN accredits. A registrar of this registry given an IANA id
//! must hold one that is `Accredited` there, or one of the ids IANA
//! `Reserved` for registry operators acting as registrar (9995–9999), once
//! the operator has loaded the list.

/// The most rows the list may hold (IANA's has a few thousand).
pub const ROWS_MAX: usize = 100_000;

/// One row of IANA's registrar list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IanaRegistrar {
    pub id: u32,
    pub name: String,
    /// `Accredited`, `Terminated`, `Reserved`, … as IANA writes it.
    pub status: String,
    pub rdap_base_url: Option<String>,
}

impl IanaRegistrar {
    /// Whether a registrar may act under this id.
    pub fn usable(&self) -> bool {
        self.status.eq_ignore_ascii_case("accredited") || self.status.eq_ignore_ascii_case("reserved")
    }
}

/// Whether `id` may be a registrar's IANA id under `list`.
pub fn check_id(list: &[IanaRegistrar], id: u32) -> Result<(), String> {
    match list.binary_search_by_key(&id, |r| r.id) {
        Ok(i) if list[i].usable() => Ok(()),
        Ok(i) => Err(format!("IANA id {id} ({}) is {} on IANA's registrar list", list[i].name, list[i].status)),
        Err(_) => Err(format!("IANA id {id} is not on IANA's registrar list")),
    }
}

/// Reads IANA's CSV (RFC 4180: quoted fields may hold commas and doubled
/// quotes), sorted by id; every problem is named with its line.
pub fn parse_csv(text: &str) -> Result<Vec<IanaRegistrar>, Vec<String>> {
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    match lines.next().map(|(_, h)| fields(h)) {
        Some(Ok(h)) if h.len() >= 3 && h[0] == "ID" && h[1] == "Registrar Name" && h[2] == "Status" => {}
        _ => problems.push("line 1: not the header `ID,Registrar Name,Status,RDAP Base URL`".to_string()),
    }
    for (i, line) in lines {
        let n = i + 1;
        let f = match fields(line) {
            Ok(f) if f.len() >= 3 => f,
            Ok(f) => {
                problems.push(format!("line {n}: {} fields, not 3 or 4", f.len()));
                continue;
            }
            Err(e) => {
                problems.push(format!("line {n}: {e}"));
                continue;
            }
        };
        let Ok(id) = f[0].trim().parse::<u32>() else {
            problems.push(format!("line {n}: {:?} is not an IANA id", f[0]));
            continue;
        };
        let url = f.get(3).map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
        rows.push(IanaRegistrar { id, name: f[1].trim().to_string(), status: f[2].trim().to_string(), rdap_base_url: url });
        if rows.len() > ROWS_MAX {
            problems.push(format!("more than {ROWS_MAX} rows"));
            break;
        }
    }
    rows.sort_by_key(|r| r.id);
    if let Some(w) = rows.windows(2).find(|w| w[0].id == w[1].id) {
        problems.push(format!("IANA id {} appears twice", w[0].id));
    }
    problems.truncate(20);
    if problems.is_empty() { Ok(rows) } else { Err(problems) }
}

/// The fields of one CSV line.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field does not end".into()),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err("text after a quoted field".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        out.push(field);
        match chars.next() {
            Some(',') => continue,
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "ID,Registrar Name,Status,RDAP Base URL\r\n1,Reserved,Reserved,\r\n292,\"MarkMonitor, Inc.\",Accredited,https://rdap.markmonitor.com/rdap/\r\n9998,Reserved for billable transactions where Registry Operator acts as Registrar,Reserved,\r\n1455,\"The \"\"Old\"\" Registrar\",Terminated,\r\n";

    #[test]
    fn the_list_is_read_with_quoted_names_and_ids_are_checked_against_it() {
        let list = parse_csv(LIST).unwrap();
        assert_eq!(list.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 292, 1455, 9998]);
        assert_eq!(list[1].name, "MarkMonitor, Inc.");
        assert_eq!(list[1].rdap_base_url.as_deref(), Some("https://rdap.markmonitor.com/rdap/"));
        assert_eq!(list[2].name, "The \"Old\" Registrar");
        assert_eq!(check_id(&list, 292), Ok(()));
        assert_eq!(check_id(&list, 9998), Ok(()), "registry operators act under the reserved ids");
        assert!(check_id(&list, 1455).unwrap_err().contains("Terminated"));
        assert!(check_id(&list, 77).unwrap_err().contains("not on"));
    }

    #[test]
    fn a_bad_list_is_refused_whole() {
        assert!(parse_csv("id,name\n1,a,Accredited\n").is_err(), "the header");
        let problems =
            parse_csv("ID,Registrar Name,Status,RDAP Base URL\nx,a,Accredited,\n2,\"open,Accredited\n3,b,Accredited\n3,c,Accredited\n")
                .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
