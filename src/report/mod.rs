//! ICANN's monthly reports of a TLD (RA Specification 3): the registry
//! functions activity report and the per-registrar transactions report, as
//! RFC 4180 CSV files with CRLF line ends and ICANN's header line, read from
//! one snapshot. Both are sums over what the writer stored in the same
//! transactions as the work they count:
//!
//! - report counters (`YYYYMM|tld|registrar|object|command|result`): every
//!   EPP command answered (failures too), RDAP and WHOIS queries, DNS
//!   queries of our servers and those the operator records for external
//!   secondaries; commands that name no TLD (contacts, hosts outside our
//!   zones) count in every TLD's report, as one shared system serves them;
//! - transaction records (`model::report`), by reporting time;
//! - the month-end totals (domains and name servers per registrar,
//!   operational registrars), taken once the month is over and kept as
//!   counters, so a month is recomputed the same later.
//!
//! `schedule` makes them after each month and sends them to ICANN;
//! [`check`] validates a file against the column definitions.

pub mod schedule;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::report::{ACTIVITY_COLUMNS, Month, TRANSACTION_COLUMNS};
use crate::model::{ClientId, DomainName, RegistrarStatus, Timestamp};
use crate::store::{Snapshot, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("TLD {0} does not exist")]
    NoTld(DomainName),
    #[error("{0} has not begun")]
    Future(Month),
}

/// Which of the two reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    Activity,
    Transactions,
}

impl ReportKind {
    pub fn parse(text: &str) -> Option<ReportKind> {
        match text {
            "activity" => Some(ReportKind::Activity),
            "transactions" => Some(ReportKind::Transactions),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Activity => "activity",
            ReportKind::Transactions => "transactions",
        }
    }

    /// The path ICANN's reporting interface takes it at, after `/report/`.
    pub fn icann_path(self) -> &'static str {
        match self {
            ReportKind::Activity => "registry-functions-activity",
            ReportKind::Transactions => "registrar-transactions",
        }
    }

    /// `<tld>-activity-YYYYMM.csv`, with the TLD as an A-label.
    pub fn file_name(self, tld: &DomainName, month: Month) -> String {
        format!("{tld}-{}-{}.csv", self.as_str(), month.compact())
    }
}

/// What the reports take from the configuration.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// `zfa-passwords`: `CZDS` where zone file access goes through ICANN's
    /// Centralized Zone Data Service; none gives 0.
    pub zfa_passwords: Option<String>,
}

/// A report, ready to write or send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportFile {
    pub file_name: String,
    pub csv: String,
}

/// A report counter key of `month`, as the writer and the front-ends write them.
pub fn counter_key(month: Month, tld: &str, registrar: &str, object: &str, name: &str) -> String {
    format!("{}|{tld}|{registrar}|{object}|{name}|ok", month.compact())
}

/// The month-end totals of a TLD, as the counters that keep them.
pub const TOTAL: &str = "total";
/// When the totals were taken (Unix milliseconds).
const TAKEN: &str = "taken-at";

/// The DNS counters, in the activity report's order.
pub const DNS_COUNTS: [&str; 4] = ["udp-received", "udp-responded", "tcp-received", "tcp-responded"];

/// The totals of `tld` now: per registrar, the domains it sponsors (any
/// status; a purged domain is gone) and the distinct hosts those domains
/// name; and the registrars that can operate. As counters of `month`.
pub fn month_end_totals(snapshot: &Snapshot, tld: &DomainName, month: Month, now: Timestamp) -> Result<Vec<(String, u64)>, ReportError> {
    snapshot.tld(tld).ok_or_else(|| ReportError::NoTld(tld.clone()))?;
    let mut domains: HashMap<ClientId, u64> = HashMap::new();
    let mut hosts: HashMap<ClientId, HashSet<crate::model::Roid>> = HashMap::new();
    let mut after: Option<DomainName> = None;
    loop {
        let page = snapshot.domains(tld, after.as_ref(), 1000)?;
        for d in &page {
            *domains.entry(d.registrar.clone()).or_default() += 1;
            hosts.entry(d.registrar.clone()).or_default().extend(d.nameservers.iter().cloned());
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.name.clone()),
            _ => break,
        }
    }
    let registrars = snapshot.registrars()?;
    let accredited: HashSet<ClientId> = snapshot.accredited_registrars(tld)?.into_iter().collect();
    let t = tld.as_str();
    let operational = registrars.iter().filter(|r| r.status == RegistrarStatus::Ok && accredited.contains(&r.id)).count();
    let mut out = vec![
        (counter_key(month, t, "", TOTAL, TAKEN), now.0.max(0) as u64),
        (counter_key(month, t, "", TOTAL, "operational-registrars"), operational as u64),
    ];
    for r in &registrars {
        out.push((counter_key(month, t, r.id.as_str(), TOTAL, "domains"), domains.get(&r.id).copied().unwrap_or(0)));
        out.push((counter_key(month, t, r.id.as_str(), TOTAL, "nameservers"), hosts.get(&r.id).map_or(0, |h| h.len() as u64)));
    }
    Ok(out)
}

/// The counters of `tld`'s month: those under the TLD and those under
/// none, by `(registrar, object, name)`, ok and fail together.
struct Counts(BTreeMap<(String, String, String), u64>);

impl Counts {
    fn read(snapshot: &Snapshot, tld: &DomainName, month: Month) -> Result<Counts, StoreError> {
        let mut counts = BTreeMap::new();
        for scope in [tld.as_str(), ""] {
            for (key, n) in snapshot.counters(&format!("{}|{scope}|", month.compact()))? {
                let parts: Vec<&str> = key.split('|').collect();
                let [_, _, registrar, object, name, _] = parts[..] else { continue };
                // A domain command that names no TLD of ours is no TLD's.
                if scope.is_empty() && object == "domain" {
                    continue;
                }
                *counts.entry((registrar.to_string(), object.to_string(), name.to_string())).or_insert(0) += n;
            }
        }
        Ok(Counts(counts))
    }

    /// The sum over registrars of `object`'s `name`.
    fn all(&self, object: &str, name: &str) -> u64 {
        self.0.iter().filter(|((_, o, c), _)| o == object && c == name).map(|(_, n)| n).sum()
    }

    fn of(&self, registrar: &str, object: &str, name: &str) -> u64 {
        self.0.get(&(registrar.to_string(), object.to_string(), name.to_string())).copied().unwrap_or(0)
    }

    fn has_totals(&self) -> bool {
        self.0.contains_key(&(String::new(), TOTAL.to_string(), TAKEN.to_string()))
    }
}

/// The counters of `tld`'s month with its totals: those kept, or, for a
/// month whose totals were not taken yet, those of now.
fn counts_with_totals(snapshot: &Snapshot, tld: &DomainName, month: Month, now: Timestamp) -> Result<Counts, ReportError> {
    snapshot.tld(tld).ok_or_else(|| ReportError::NoTld(tld.clone()))?;
    if month.start() > now {
        return Err(ReportError::Future(month));
    }
    let mut counts = Counts::read(snapshot, tld, month)?;
    if !counts.has_totals() {
        for (key, n) in month_end_totals(snapshot, tld, month, now)? {
            let parts: Vec<&str> = key.split('|').collect();
            counts.0.insert((parts[2].to_string(), parts[3].to_string(), parts[4].to_string()), n);
        }
    }
    Ok(counts)
}

/// One CSV line (RFC 4180): fields with a comma, quote or line break are quoted.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| if f.contains([',', '"', '\r', '\n']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

fn header(columns: &[&str]) -> String {
    csv_line(&columns.iter().map(|c| c.to_string()).collect::<Vec<_>>())
}

/// The registry functions activity report of `tld` for `month`.
pub fn activity(
    snapshot: &Snapshot,
    tld: &DomainName,
    month: Month,
    settings: &ReportSettings,
    now: Timestamp,
) -> Result<ReportFile, ReportError> {
    let counts = counts_with_totals(snapshot, tld, month, now)?;
    let mut values: Vec<String> = Vec::with_capacity(ACTIVITY_COLUMNS.len());
    for column in ACTIVITY_COLUMNS {
        let value = match column {
            "operational-registrars" => counts.of("", TOTAL, "operational-registrars").to_string(),
            "zfa-passwords" => settings.zfa_passwords.clone().unwrap_or_else(|| "0".into()),
            "whois-43-queries" => counts.of("", "rdds", "whois-43").to_string(),
            "rdap-queries" => counts.of("", "rdds", "rdap").to_string(),
            // Neither a web WHOIS nor a searchable one is offered: RDAP is the web service.
            "web-whois-queries" | "searchable-whois-queries" => "0".into(),
            dns if dns.starts_with("dns-") => {
                // `dns-udp-queries-received` → `udp-received`, ours and the secondaries'.
                let name = dns.trim_start_matches("dns-").replace("-queries", "");
                counts
                    .0
                    .iter()
                    .filter(|((_, o, n), _)| (o == "dns" || o.starts_with("dns-secondary:")) && *n == name)
                    .map(|(_, v)| v)
                    .sum::<u64>()
                    .to_string()
            }
            srs => {
                let (object, command) = srs_command(srs);
                counts.all(object, command).to_string()
            }
        };
        values.push(value);
    }
    let csv = header(&ACTIVITY_COLUMNS) + &csv_line(&values);
    Ok(ReportFile { file_name: ReportKind::Activity.file_name(tld, month), csv })
}

/// The counter `(object, command)` of an `srs-*` column.
fn srs_command(column: &str) -> (&'static str, &str) {
    let rest = column.trim_start_matches("srs-");
    let (object, command) = rest.split_once('-').unwrap_or((rest, ""));
    let object = match object {
        "dom" => "domain",
        "host" => "host",
        _ => "contact",
    };
    (object, command)
}

/// The per-registrar transactions report of `tld` for `month`: a row per
/// registrar (by name), then the totals.
pub fn transactions(snapshot: &Snapshot, tld: &DomainName, month: Month, now: Timestamp) -> Result<ReportFile, ReportError> {
    let counts = counts_with_totals(snapshot, tld, month, now)?;
    let mut sums: HashMap<ClientId, [i64; TRANSACTION_COLUMNS.len()]> = HashMap::new();
    for record in snapshot.transactions(tld, month.start(), month.end())? {
        sums.entry(record.registrar.clone()).or_insert([0; TRANSACTION_COLUMNS.len()])[record.field.column()] += record.amount;
    }
    let mut registrars = snapshot.registrars()?;
    // A row per registrar accredited for the TLD, and for any other that
    // still has something to report in it (a terminated one, say).
    let accredited: HashSet<ClientId> = snapshot.accredited_registrars(tld)?.into_iter().collect();
    registrars.retain(|r| {
        (accredited.contains(&r.id) && r.status != RegistrarStatus::Terminated)
            || sums.contains_key(&r.id)
            || counts.of(r.id.as_str(), TOTAL, "domains") > 0
    });
    registrars.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let mut csv = header(&TRANSACTION_COLUMNS);
    let mut totals = [0u64; TRANSACTION_COLUMNS.len()];
    for r in &registrars {
        let id = r.id.as_str();
        let mut row = [0u64; TRANSACTION_COLUMNS.len()];
        row[2] = counts.of(id, TOTAL, "domains");
        row[3] = counts.of(id, TOTAL, "nameservers");
        if let Some(sum) = sums.get(&r.id) {
            // Undone transactions net out within the month; a month never shows a negative count.
            for (column, value) in sum.iter().enumerate().skip(4) {
                row[column] = (*value).max(0) as u64;
            }
        }
        row[38] = counts.of(id, "domain", "create");
        let mut fields = vec![r.name.clone(), r.iana_id.map_or_else(|| "9999".to_string(), |n| n.to_string())];
        for (column, value) in row.iter().enumerate().skip(2) {
            totals[column] += value;
            fields.push(value.to_string());
        }
        csv += &csv_line(&fields);
    }
    let mut fields = vec!["Totals".to_string(), String::new()];
    fields.extend(totals.iter().skip(2).map(u64::to_string));
    csv += &csv_line(&fields);
    Ok(ReportFile { file_name: ReportKind::Transactions.file_name(tld, month), csv })
}

/// The report of `kind`.
pub fn make(
    kind: ReportKind,
    snapshot: &Snapshot,
    tld: &DomainName,
    month: Month,
    settings: &ReportSettings,
    now: Timestamp,
) -> Result<ReportFile, ReportError> {
    match kind {
        ReportKind::Activity => activity(snapshot, tld, month, settings, now),
        ReportKind::Transactions => transactions(snapshot, tld, month, now),
    }
}

/// Splits RFC 4180 text into records of fields; `None` when a line does not
/// end in CRLF or a quote is left open.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
            }
            (false, '\r' | '\n') => return Err(format!("line {line} does not end in CRLF")),
            (false, '"') => return Err(format!("line {line}: a quote inside an unquoted field")),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !field.is_empty() || !record.is_empty() {
        return Err(format!("line {line} does not end in CRLF"));
    }
    Ok(records)
}

/// Checks a report of `kind` against ICANN's column definitions: the header
/// with the exact names in order, CRLF line ends, every count a
/// non-negative integer, one data line (activity), or a row per registrar
/// with its IANA id and a last `Totals` row that sums the columns
/// (transactions). Every problem is listed.
pub fn check(kind: ReportKind, text: &str) -> Vec<String> {
    let records = match parse_csv(text) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let columns: &[&str] = match kind {
        ReportKind::Activity => &ACTIVITY_COLUMNS,
        ReportKind::Transactions => &TRANSACTION_COLUMNS,
    };
    let mut problems = Vec::new();
    let Some((head, rows)) = records.split_first() else { return vec!["the file is empty".into()] };
    if head.iter().map(String::as_str).ne(columns.iter().copied()) {
        problems.push(format!("the header is not ICANN's: it must be {}", columns.join(",")));
    }
    let count = |line: usize, column: &str, value: &str, problems: &mut Vec<String>| -> u64 {
        match value.parse::<u64>() {
            Ok(n) if !value.starts_with('+') => n,
            _ => {
                problems.push(format!("line {line}: {column} is {value:?}, not a non-negative integer"));
                0
            }
        }
    };
    for (i, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            problems.push(format!("line {}: {} fields, not {}", i + 2, row.len(), columns.len()));
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    match kind {
        ReportKind::Activity => {
            if rows.len() != 1 {
                problems.push(format!("{} data lines, not one", rows.len()));
            }
            for row in rows {
                for (column, value) in columns.iter().zip(row) {
                    if !(*column == "zfa-passwords" && value == "CZDS") {
                        count(2, column, value, &mut problems);
                    }
                }
            }
        }
        ReportKind::Transactions => {
            let Some((totals, registrars)) = rows.split_last() else {
                problems.push("no Totals line".into());
                return problems;
            };
            let mut sums = vec![0u64; columns.len()];
            for (i, row) in registrars.iter().enumerate() {
                let line = i + 2;
                if row[0].is_empty() || row[0] == "Totals" {
                    problems.push(format!("line {line}: registrar-name is {:?}", row[0]));
                }
                if row[1].is_empty() || !row[1].bytes().all(|b| b.is_ascii_digit()) {
                    problems.push(format!("line {line}: iana-id is {:?}, not a number", row[1]));
                }
                for (c, value) in row.iter().enumerate().skip(2) {
                    sums[c] += count(line, columns[c], value, &mut problems);
                }
            }
            let line = rows.len() + 1;
            if totals[0] != "Totals" || !totals[1].is_empty() {
                problems.push(format!("line {line}: the last line must start \"Totals,,\""));
            }
            for (c, value) in totals.iter().enumerate().skip(2) {
                let total = count(line, columns[c], value, &mut problems);
                if total != sums[c] {
                    problems.push(format!("line {line}: the total of {} is {total}, the rows add up to {}", columns[c], sums[c]));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests;
