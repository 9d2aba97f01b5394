//! The report files' format and their check, on hand-made files.

use super::*;

fn activity_file(values: &[&str]) -> String {
    header(&ACTIVITY_COLUMNS) + &csv_line(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
}

fn transactions_file(rows: &[Vec<String>]) -> String {
    rows.iter().fold(header(&TRANSACTION_COLUMNS), |file, row| file + &csv_line(row))
}

fn row(name: &str, iana: &str, value: u64) -> Vec<String> {
    let mut row = vec![name.to_string(), iana.to_string()];
    row.extend((2..TRANSACTION_COLUMNS.len()).map(|_| value.to_string()));
    row
}

#[test]
fn fields_with_commas_or_quotes_are_quoted() {
    assert_eq!(csv_line(&["a".into(), "Acme, Inc.".into(), "say \"hi\"".into()]), "a,\"Acme, Inc.\",\"say \"\"hi\"\"\"\r\n");
    let parsed = parse_csv("a,\"Acme, Inc.\",\"say \"\"hi\"\"\"\r\n").unwrap();
    assert_eq!(parsed, vec![vec!["a".to_string(), "Acme, Inc.".into(), "say \"hi\"".into()]]);
}

#[test]
fn a_well_formed_activity_report_passes_and_czds_is_a_value() {
    let mut values = vec!["0"; ACTIVITY_COLUMNS.len()];
    values[1] = "CZDS";
    assert_eq!(check(ReportKind::Activity, &activity_file(&values)), Vec::<String>::new());
}

#[test]
fn broken_activity_reports_name_their_problem() {
    let good = activity_file(&["1"; 38]);
    let cases: Vec<(String, &str)> = vec![
        (good.replace("\r\n", "\n"), "CRLF"),
        (good.replacen("srs-dom-check", "srs-domain-check", 1), "header"),
        (good.replacen(",1\r\n", ",-1\r\n", 1), "non-negative integer"),
        (good.replacen(",1\r\n", ",x\r\n", 1), "non-negative integer"),
        (good.replacen(",1\r\n", "\r\n", 1), "37 fields"),
        (good.clone() + &csv_line(&vec!["1".to_string(); 38]), "2 data lines"),
        (String::new(), "empty"),
        (good.trim_end().to_string(), "CRLF"),
    ];
    for (text, expected) in cases {
        let problems = check(ReportKind::Activity, &text);
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
    }
}

#[test]
fn a_transactions_report_needs_its_totals_to_add_up() {
    let good = transactions_file(&[row("Acme, Inc.", "1234", 1), row("Beta", "9999", 2), {
        let mut totals = row("Totals", "", 3);
        totals[1] = String::new();
        totals
    }]);
    assert_eq!(check(ReportKind::Transactions, &good), Vec::<String>::new());
    let wrong_total = good.replacen("Totals,,3", "Totals,,4", 1);
    assert!(check(ReportKind::Transactions, &wrong_total).iter().any(|p| p.contains("the total of total-domains is 4")));
    let no_totals = transactions_file(&[row("Acme", "1234", 1)]);
    assert!(
        check(ReportKind::Transactions, &no_totals).iter().any(|p| p.contains("Totals,,")),
        "{:?}",
        check(ReportKind::Transactions, &no_totals)
    );
    let bad_iana = good.replacen("1234", "12a4", 1);
    assert!(check(ReportKind::Transactions, &bad_iana).iter().any(|p| p.contains("iana-id")));
}

#[test]
fn srs_columns_map_to_the_commands_counted() {
    assert_eq!(srs_command("srs-dom-check"), ("domain", "check"));
    assert_eq!(srs_command("srs-dom-rgp-restore-report"), ("domain", "rgp-restore-report"));
    assert_eq!(srs_command("srs-cont-transfer-approve"), ("contact", "transfer-approve"));
    assert_eq!(srs_command("srs-host-update"), ("host", "update"));
    assert_eq!(
        ReportKind::Activity.file_name(&DomainName::parse("example").unwrap(), Month::parse("2026-11").unwrap()),
        "example-activity-202611.csv"
    );
}
