//! The vocabulary of ICANN's monthly reports (RA Specification 3): the
//! columns of the registry functions activity report and of the
//! per-registrar transactions report, in ICANN's order, and the transaction
//! records the writer keeps for the second. A record is written in the same
//! transaction as the command it counts, dated by its *reporting time*
//! (when ICANN counts it: a create at the end of its add grace period, a
//! renewal at the end of its grace), so a month's report is a sum over the
//! records dated in it and can be recomputed at any time. A command that
//! undoes a counted one (a delete within add grace) writes the opposite
//! amount at the same reporting time, so the two net out in that month.

use super::{ClientId, DomainName, Timestamp};

/// The registry functions activity report's columns, in order.
pub const ACTIVITY_COLUMNS: [&str; 38] = [
    "operational-registrars",
    "zfa-passwords",
    "whois-43-queries",
    "web-whois-queries",
    "searchable-whois-queries",
    "dns-udp-queries-received",
    "dns-udp-queries-responded",
    "dns-tcp-queries-received",
    "dns-tcp-queries-responded",
    "srs-dom-check",
    "srs-dom-create",
    "srs-dom-delete",
    "srs-dom-info",
    "srs-dom-renew",
    "srs-dom-rgp-restore-report",
    "srs-dom-rgp-restore-request",
    "srs-dom-transfer-approve",
    "srs-dom-transfer-cancel",
    "srs-dom-transfer-query",
    "srs-dom-transfer-reject",
    "srs-dom-transfer-request",
    "srs-dom-update",
    "srs-host-check",
    "srs-host-create",
    "srs-host-delete",
    "srs-host-info",
    "srs-host-update",
    "srs-cont-check",
    "srs-cont-create",
    "srs-cont-delete",
    "srs-cont-info",
    "srs-cont-transfer-approve",
    "srs-cont-transfer-cancel",
    "srs-cont-transfer-query",
    "srs-cont-transfer-reject",
    "srs-cont-transfer-request",
    "srs-cont-update",
    "rdap-queries",
];

/// The per-registrar transactions report's columns, in order.
pub const TRANSACTION_COLUMNS: [&str; 39] = [
    "registrar-name",
    "iana-id",
    "total-domains",
    "total-nameservers",
    "net-adds-1-yr",
    "net-adds-2-yr",
    "net-adds-3-yr",
    "net-adds-4-yr",
    "net-adds-5-yr",
    "net-adds-6-yr",
    "net-adds-7-yr",
    "net-adds-8-yr",
    "net-adds-9-yr",
    "net-adds-10-yr",
    "net-renews-1-yr",
    "net-renews-2-yr",
    "net-renews-3-yr",
    "net-renews-4-yr",
    "net-renews-5-yr",
    "net-renews-6-yr",
    "net-renews-7-yr",
    "net-renews-8-yr",
    "net-renews-9-yr",
    "net-renews-10-yr",
    "transfer-gaining-successful",
    "transfer-gaining-nacked",
    "transfer-losing-successful",
    "transfer-losing-nacked",
    "transfer-disputed-won",
    "transfer-disputed-lost",
    "transfer-disputed-nodecision",
    "deleted-domains-grace",
    "deleted-domains-nograce",
    "restored-domains",
    "restored-noreport",
    "agp-exemption-requests",
    "agp-exemptions-granted",
    "agp-exempted-domains",
    "attempted-adds",
];

/// What a transaction record counts: one of the transactions report's
/// columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransactionField {
    /// A create of that many years, counted when its add grace ends.
    NetAdds(u8),
    /// A renewal (by command or automatic) of that many years, counted when its grace ends.
    NetRenews(u8),
    TransferGainingSuccessful,
    TransferGainingNacked,
    TransferLosingSuccessful,
    TransferLosingNacked,
    /// A delete within the add grace period.
    DeletedGrace,
    DeletedNoGrace,
    /// A restore completed by its report.
    RestoredDomains,
    /// A restore whose report did not come before pending restore ended.
    RestoredNoReport,
}

impl TransactionField {
    /// The field for a registration period: periods are 1 to 10 years.
    pub fn net_adds(years: u32) -> TransactionField {
        TransactionField::NetAdds(years.clamp(1, 10) as u8)
    }

    pub fn net_renews(years: u32) -> TransactionField {
        TransactionField::NetRenews(years.clamp(1, 10) as u8)
    }

    /// Its column in [`TRANSACTION_COLUMNS`].
    pub fn column(self) -> usize {
        match self {
            TransactionField::NetAdds(y) => 3 + usize::from(y.clamp(1, 10)),
            TransactionField::NetRenews(y) => 13 + usize::from(y.clamp(1, 10)),
            TransactionField::TransferGainingSuccessful => 24,
            TransactionField::TransferGainingNacked => 25,
            TransactionField::TransferLosingSuccessful => 26,
            TransactionField::TransferLosingNacked => 27,
            TransactionField::DeletedGrace => 31,
            TransactionField::DeletedNoGrace => 32,
            TransactionField::RestoredDomains => 33,
            TransactionField::RestoredNoReport => 34,
        }
    }

    /// The column's name, as the record stores it.
    pub fn name(self) -> &'static str {
        TRANSACTION_COLUMNS[self.column()]
    }

    pub fn parse(name: &str) -> Option<TransactionField> {
        let years = |prefix: &str| name.strip_prefix(prefix)?.strip_suffix("-yr")?.parse::<u8>().ok().filter(|y| (1..=10).contains(y));
        if let Some(y) = years("net-adds-") {
            return Some(TransactionField::NetAdds(y));
        }
        if let Some(y) = years("net-renews-") {
            return Some(TransactionField::NetRenews(y));
        }
        [
            TransactionField::TransferGainingSuccessful,
            TransactionField::TransferGainingNacked,
            TransactionField::TransferLosingSuccessful,
            TransactionField::TransferLosingNacked,
            TransactionField::DeletedGrace,
            TransactionField::DeletedNoGrace,
            TransactionField::RestoredDomains,
            TransactionField::RestoredNoReport,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// One counted transaction of a domain of `tld`: `amount` (1, or -1 for an
/// undone one) in `field` of `registrar`'s row in the month of
/// `reported_at`; `at` is when the command ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub tld: DomainName,
    pub reported_at: Timestamp,
    pub registrar: ClientId,
    pub domain: DomainName,
    pub field: TransactionField,
    pub amount: i64,
    pub at: Timestamp,
}

/// A calendar month (UTC), as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse::<i64>().ok()?, m.parse::<u32>().ok()?);
        (1970..=9999).contains(&year).then_some(())?;
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    pub fn of(at: Timestamp) -> Month {
        let (year, month) = at.year_month();
        Month { year, month }
    }

    /// The first instant of the month.
    pub fn start(self) -> Timestamp {
        Timestamp::parse_rfc3339(&format!("{:04}-{:02}-01T00:00:00Z", self.year, self.month)).expect("a month's first day is a date")
    }

    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { year: self.year, month: self.month + 1 } }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 { Month { year: self.year - 1, month: 12 } } else { Month { year: self.year, month: self.month - 1 } }
    }

    /// The first instant after the month.
    pub fn end(self) -> Timestamp {
        self.next().start()
    }

    /// `YYYYMM`, as in file names and counter keys.
    pub fn compact(self) -> String {
        format!("{:04}{:02}", self.year, self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_their_columns_and_parse_back() {
        assert_eq!(TransactionField::NetAdds(1).name(), "net-adds-1-yr");
        assert_eq!(TransactionField::NetAdds(10).name(), "net-adds-10-yr");
        assert_eq!(TransactionField::NetRenews(10).name(), "net-renews-10-yr");
        assert_eq!(TransactionField::TransferLosingNacked.name(), "transfer-losing-nacked");
        assert_eq!(TransactionField::DeletedGrace.name(), "deleted-domains-grace");
        assert_eq!(TransactionField::RestoredNoReport.name(), "restored-noreport");
        for f in [TransactionField::NetAdds(10), TransactionField::NetRenews(3), TransactionField::RestoredDomains] {
            assert_eq!(TransactionField::parse(f.name()), Some(f));
        }
        assert_eq!(TransactionField::parse("net-adds-11-yr"), None);
        assert_eq!(TransactionField::parse("Net-Adds-10-Yr"), None);
    }

    #[test]
    fn months_run_across_years() {
        let december = Month::parse("2026-12").unwrap();
        assert_eq!(december.next(), Month { year: 2027, month: 1 });
        assert_eq!(Month { year: 2027, month: 1 }.previous(), december);
        assert_eq!(december.end(), Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap());
        assert_eq!(Month::of(Timestamp::parse_rfc3339("2026-12-31T23:59:59.999Z").unwrap()), december);
        assert_eq!(december.compact(), "202612");
        assert_eq!(december.to_string(), "2026-12");
        for bad in ["2026-13", "2026-00", "26-12", "2026-1", "2026/12"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }
}
