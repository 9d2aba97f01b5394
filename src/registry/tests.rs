//! The registry's rules end to end through the writer, with a real store
//! and a manual clock: serials and journal, group commit isolation, and the
//! domain lifecycle (grace periods, redemption, restore, renew, auto-renew,
//! transfers) with its billing, poll messages and counters.

use std::sync::Arc;

use super::command::*;
use super::context::Cx;
use super::due::DUE_RETRY_S;
use super::*;
use crate::model::zone::rtype;
use crate::model::{
    ClientId, ContactStatus, DomainName, DomainStatus, GraceKind, ManualClock, Money, RoidSuffix, Timestamp, TransferStatus,
};

const DAY: i64 = 86_400;

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn id(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

fn reg(s: &str) -> Actor {
    Actor::Registrar(id(s))
}

struct Fixture {
    r: Registry,
    writer: Option<WriterThread>,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let (tx, _) = tokio::sync::mpsc::channel(1);
        // Dropping the last handle stops the writer; join it so the store closes cleanly.
        self.r.queue = tx;
        // A failed assertion may leave tasks holding handles that only the
        // runtime this drop blocks would finish: do not wait for them.
        if let Some(w) = self.writer.take().filter(|_| !std::thread::panicking()) {
            w.join();
        }
    }
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.redb"), 1 << 22, crate::store::Upgrade::Refused).unwrap();
        Fixture::on(store, dir).await
    }

    /// A registry over `store` with two funded registrars, the TLD `test` and one nameserver.
    async fn on(store: Store, dir: tempfile::TempDir) -> Fixture {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000));
        let settings = WriterSettings {
            roid_suffix: RoidSuffix::parse("T").unwrap(),
            queue_max: 64,
            batch_max: 64,
            journal_entries_max: 100,
            keys: Arc::new(crate::registry::keys::Keys::new(dir.path().join("keys"))),
        };
        let (r, writer) = Registry::start(store, Arc::new(clock.clone()), settings).unwrap();
        let f = Fixture { r, writer: Some(writer), clock, _dir: dir };
        for registrar in ["reg-a", "reg-b"] {
            f.ok(
                Actor::Registry,
                Command::CreateRegistrar(RegistrarSpec {
                    id: Some(id(registrar)),
                    name: Some(registrar.into()),
                    email: Some(format!("ops@{registrar}.test")),
                    ..Default::default()
                }),
            )
            .await;
            // No TLD yet, so no currency the registrar's TLDs price in: it is named.
            f.ok(Actor::Registry, Command::Fund(id(registrar), Some("USD".into()), Money(100_000))).await;
        }
        f.ok(
            Actor::Registry,
            Command::CreateTld(TldSpec { name: Some(n("test")), nameservers: Some(vec![n("ns.example.net")]), ..Default::default() }),
        )
        .await;
        f.ok(reg("reg-a"), host("ns.example.net")).await;
        f
    }

    async fn run(&self, actor: Actor, c: Command) -> Result<Outcome, RegistryError> {
        self.r.execute_as(actor, c).await
    }

    async fn ok(&self, actor: Actor, c: Command) -> Outcome {
        self.run(actor, c).await.unwrap()
    }

    fn domain(&self, name: &str) -> Option<crate::model::Domain> {
        self.r.snapshot().domain(&n(name)).unwrap()
    }

    fn balance(&self, registrar: &str) -> Money {
        self.r.snapshot().registrar(&id(registrar)).unwrap().unwrap().account("USD").balance
    }

    fn serial(&self) -> u32 {
        self.r.snapshot().tld(&n("test")).unwrap().serial
    }

    fn published(&self, name: &str) -> bool {
        let snap = self.r.snapshot();
        snap.zone_row(&n(name).canonical_key()).unwrap().is_some()
    }

    /// Moves the clock and runs whatever fell due.
    async fn advance(&self, seconds: i64) {
        self.clock.advance_seconds(seconds);
        self.ok(Actor::Registry, Command::RunDue).await;
    }
}

fn host(name: &str) -> Command {
    Command::CreateHost(CreateHost { name: n(name), registrar: None, addresses: vec![], statuses: vec![] })
}

fn create(name: &str, years: u32) -> Command {
    Command::CreateDomain(CreateDomain {
        nameservers: vec![n("ns.example.net")],
        period_years: years,
        auth_info: Some("Sesame-Open-2026x".into()),
        ..CreateDomain::of(n(name), None)
    })
}

/// A contact with the least a registry accepts and the test code `Sesame-Open-2026x`.
fn contact(id: &crate::model::ContactId) -> Command {
    Command::CreateContact(CreateContact {
        id: id.clone(),
        registrar: None,
        email: "a@example.net".into(),
        postal_int: Some(crate::model::PostalInfo {
            name: "A".into(),
            org: None,
            address: crate::model::PostalAddress { city: "Oslo".into(), country_code: "NO".into(), ..Default::default() },
        }),
        postal_loc: None,
        voice: None,
        fax: None,
        disclose: None,
        auth_info: Some("Sesame-Open-2026x".into()),
        auth_info_hash: None,
    })
}

fn transfer_request(years: u32, pw: &str) -> TransferOp {
    TransferOp::Request { years, auth_info: pw.into(), fee: None }
}

#[tokio::test]
async fn serials_follow_the_manual_clock_and_the_journal_holds_the_diff() {
    let f = Fixture::new().await;
    assert_eq!(f.serial(), 1_800_000_000);
    f.ok(reg("reg-a"), create("a.test", 1)).await;
    assert_eq!(f.serial(), 1_800_000_001, "two changes in one second still move the serial");
    let before = f.serial();
    f.clock.advance_seconds(100);
    f.ok(reg("reg-a"), create("b.test", 1)).await;
    assert_eq!(f.serial(), 1_800_000_100);
    let entries = f.r.snapshot().journal_since(&n("test"), before).unwrap().unwrap();
    assert_eq!(entries.len(), 1);
    let added: Vec<(String, u16)> =
        entries[0].added.iter().map(|rr| (DomainName::from_canonical_key(&rr.owner_key).unwrap().to_string(), rr.rtype)).collect();
    assert_eq!(added, vec![("b.test".into(), rtype::NS)]);
}

#[tokio::test]
async fn refused_commands_leave_no_trace_beside_accepted_ones() {
    let f = Fixture::new().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let r = f.r.clone();
        // Every other command asks for eleven years.
        let years = if i % 2 == 0 { 1 } else { 11 };
        tasks.push(tokio::spawn(async move { r.execute_as(reg("reg-a"), create(&format!("d{i}.test"), years)).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        assert_eq!(result.is_ok(), i % 2 == 0, "d{i}: {:?}", result.as_ref().err());
    }
    let snap = f.r.snapshot();
    assert_eq!(snap.domains(&n("test"), None, 100).unwrap().len(), 20);
    assert_eq!(snap.host_by_name(&n("ns.example.net")).unwrap().unwrap().link_count, 20);
    assert_eq!(f.balance("reg-a"), Money(100_000 - 20 * 1000), "only accepted creates were charged");
}

#[tokio::test]
async fn creates_are_billed_and_deleting_within_add_grace_refunds() {
    let f = Fixture::new().await;
    let out = f.ok(reg("reg-a"), create("a.test", 2)).await;
    let Outcome::Domain(d) = out else { panic!() };
    assert_eq!((d.fee, d.balance), (Money(2000), Some(Money(98_000))));
    assert_eq!(d.domain.rgp_statuses(f.clock.now()), vec!["addPeriod"]);
    assert!(f.published("a.test"));
    let Outcome::Deleted { pending, credit } = f.ok(reg("reg-a"), Command::DeleteDomain(n("a.test"))).await else { panic!() };
    assert_eq!((pending, credit), (false, Money(2000)), "deleted at once, fee credited");
    assert!(f.domain("a.test").is_none() && !f.published("a.test"));
    assert_eq!(f.balance("reg-a"), Money(100_000));

    f.ok(Actor::Registry, Command::UpdateRegistrar(id("reg-b"), RegistrarSpec::default())).await;
    f.ok(Actor::Registry, Command::Fund(id("reg-b"), None, Money(-99_500))).await;
    let err = f.run(reg("reg-b"), create("poor.test", 1)).await.unwrap_err();
    assert!(matches!(err, RegistryError::Billing(_)), "{err:?}");
    assert!(f.domain("poor.test").is_none());

    // A fund that would overflow the balance is refused; the writer carries on.
    let err = f.run(Actor::Registry, Command::Fund(id("reg-a"), None, Money(i64::MAX))).await.unwrap_err();
    assert!(matches!(err, RegistryError::Range(_)), "{err:?}");
    assert_eq!(f.balance("reg-a"), Money(100_000));
    f.ok(reg("reg-a"), create("after.test", 1)).await;
}

#[tokio::test]
async fn each_currency_is_its_own_account_and_a_tld_keeps_its_currency_once_registered() {
    let f = Fixture::new().await;
    let eur = TldSpec {
        name: Some(n("eu-test")),
        nameservers: Some(vec![n("ns.example.net")]),
        currency: Some("EUR".into()),
        create_price: Some(Money(700)),
        ..Default::default()
    };
    f.ok(Actor::Registry, Command::CreateTld(eur)).await;
    let eur_balance = |f: &Fixture| f.r.snapshot().registrar(&id("reg-a")).unwrap().unwrap().account("EUR").balance;
    // USD funds do not pay for a EUR TLD.
    let err = f.run(reg("reg-a"), create("a.eu-test", 1)).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Billing(m) if m.contains("EUR")), "{err:?}");
    // Its TLDs now price in two currencies: funds name theirs.
    let err = f.run(Actor::Registry, Command::Fund(id("reg-a"), None, Money(1000))).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Missing(m) if m.contains("EUR, USD")), "{err:?}");
    f.ok(Actor::Registry, Command::Fund(id("reg-a"), Some("EUR".into()), Money(1000))).await;
    let Outcome::Domain(d) = f.ok(reg("reg-a"), create("a.eu-test", 1)).await else { panic!() };
    assert_eq!((d.fee, d.balance), (Money(700), Some(Money(300))), "charged and reported in EUR");
    assert_eq!(f.balance("reg-a"), Money(100_000), "the USD account is untouched");
    // A credit limit is of one account.
    let limit = RegistrarSpec { credit_limit: Some(Money(500)), currency: Some("EUR".into()), ..Default::default() };
    f.ok(Actor::Registry, Command::UpdateRegistrar(id("reg-a"), limit)).await;
    f.ok(reg("reg-a"), create("b.eu-test", 1)).await;
    assert_eq!(eur_balance(&f), Money(-400));
    let err = f.run(reg("reg-a"), create("c.eu-test", 1)).await.unwrap_err();
    assert!(matches!(err, RegistryError::Billing(_)), "{err:?}");
    // A delete in add grace refunds the account that paid.
    f.ok(reg("reg-a"), Command::DeleteDomain(n("b.eu-test"))).await;
    assert_eq!(eur_balance(&f), Money(300));
    let history = f.r.snapshot().ledger(&id("reg-a"), None, 100).unwrap();
    let last = history.last().unwrap();
    assert_eq!((last.currency.as_str(), last.amount, last.balance), ("EUR", Money(700), Money(300)));
    // Refunds and auto-renewals follow the TLD's currency, so it stays.
    let to_usd = TldSpec { currency: Some("USD".into()), ..Default::default() };
    let err = f.run(Actor::Registry, Command::UpdateTld(n("eu-test"), to_usd.clone())).await.unwrap_err();
    assert!(matches!(err, RegistryError::Policy(_)), "{err:?}");
    f.ok(reg("reg-a"), Command::DeleteDomain(n("a.eu-test"))).await;
    f.ok(Actor::Registry, Command::UpdateTld(n("eu-test"), to_usd)).await;
}

#[tokio::test]
async fn a_registrar_pays_in_the_currency_of_its_accreditation_at_the_tlds_rate_and_is_refunded_what_it_paid() {
    use crate::model::lifecycle::Rate;
    let f = Fixture::new().await;
    let rates = |list: &[(&str, &str)]| TldSpec {
        exchange_rates: Some(list.iter().map(|(c, r)| (c.to_string(), Rate::parse(r).unwrap())).collect()),
        ..Default::default()
    };
    let accredit =
        |currency: Option<&str>| Command::Accredit { registrar: id("reg-a"), tld: n("test"), currency: currency.map(String::from) };
    let eur = |f: &Fixture| f.r.snapshot().registrar(&id("reg-a")).unwrap().unwrap().account("EUR").balance;
    // The TLD must take a currency before a registrar pays in it.
    let err = f.run(Actor::Registry, accredit(Some("EUR"))).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Policy(m) if m.contains("takes USD")), "{err:?}");
    let err = f.run(Actor::Registry, Command::UpdateTld(n("test"), rates(&[("USD", "1")]))).await.unwrap_err();
    assert!(matches!(err, RegistryError::Invalid(_)), "its own currency is no other: {err:?}");
    f.ok(Actor::Registry, Command::UpdateTld(n("test"), rates(&[("EUR", "0.9")]))).await;
    f.ok(Actor::Registry, accredit(Some("EUR"))).await;
    f.ok(Actor::Registry, Command::Fund(id("reg-a"), Some("EUR".into()), Money(10_000))).await;
    let usd = f.balance("reg-a");

    // 2 years at 10.00 USD are 18.00 EUR, from the EUR account.
    let Outcome::Domain(d) = f.ok(reg("reg-a"), create("x.test", 2)).await else { panic!() };
    assert_eq!((d.fee, d.currency.as_str(), d.balance), (Money(1800), "EUR", Some(Money(8200))));
    assert_eq!(d.domain.grace[0].currency, "EUR");
    assert_eq!(f.balance("reg-a"), usd, "the USD account is untouched");
    // A new rate prices what comes next; a refund gives back what was paid.
    f.ok(Actor::Registry, Command::UpdateTld(n("test"), rates(&[("EUR", "0.5")]))).await;
    let Outcome::Deleted { credit, .. } = f.ok(reg("reg-a"), Command::DeleteDomain(n("x.test"))).await else { panic!() };
    assert_eq!((credit, eur(&f)), (Money(1800), Money(10_000)));
    f.ok(reg("reg-a"), create("y.test", 1)).await;
    assert_eq!(eur(&f), Money(9_500), "10.00 USD at 0.5");
    // Paying in USD from now on, the EUR it paid still comes back in EUR.
    f.ok(Actor::Registry, accredit(None)).await;
    f.ok(reg("reg-a"), Command::DeleteDomain(n("y.test"))).await;
    assert_eq!((eur(&f), f.balance("reg-a")), (Money(10_000), usd));
    // A TLD cannot stop taking a currency a registrar pays in.
    f.ok(Actor::Registry, accredit(Some("EUR"))).await;
    let err = f.run(Actor::Registry, Command::UpdateTld(n("test"), rates(&[]))).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Policy(m) if m.contains("reg-a pays .test in EUR")), "{err:?}");
    // An auto-renewal is charged in the currency the sponsor pays in, at the rate of the day.
    f.ok(reg("reg-a"), create("z.test", 1)).await;
    assert_eq!(eur(&f), Money(9_500));
    f.ok(Actor::Registry, Command::UpdateTld(n("test"), rates(&[("EUR", "0.8")]))).await;
    f.advance(366 * DAY).await;
    let z = f.domain("z.test").unwrap();
    let auto = z.grace.iter().find(|g| g.kind == GraceKind::AutoRenew).expect("auto-renewed");
    assert_eq!((auto.amount, auto.currency.as_str(), eur(&f)), (Money(800), "EUR", Money(8_700)));
    let entry = f.r.snapshot().ledger(&id("reg-a"), None, 100).unwrap().pop().unwrap();
    assert_eq!((entry.reason.as_str(), entry.currency.as_str(), entry.amount), ("auto-renew", "EUR", Money(-800)));
}

#[tokio::test]
async fn redemption_restore_and_purge() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("r.test", 1)).await;
    f.advance(6 * DAY).await;
    assert!(f.domain("r.test").unwrap().grace.is_empty(), "add grace ended");
    let Outcome::Deleted { pending, credit } = f.ok(reg("reg-a"), Command::DeleteDomain(n("r.test"))).await else { panic!() };
    assert_eq!((pending, credit), (true, Money(0)));
    let d = f.domain("r.test").unwrap();
    assert!(d.statuses.contains(DomainStatus::PendingDelete));
    assert_eq!(d.rgp_statuses(f.clock.now()), vec!["redemptionPeriod"]);
    assert!(!f.published("r.test"), "redemption is out of DNS");
    // Only a restore is possible now.
    let other = UpdateDomain { add_statuses: vec![DomainStatus::ClientHold], ..Default::default() };
    assert!(matches!(f.run(reg("reg-a"), Command::UpdateDomain(n("r.test"), other)).await, Err(RegistryError::StatusProhibits(_))));
    assert!(matches!(
        f.run(reg("reg-a"), Command::RenewDomain(n("r.test"), RenewDomain { current_expiry_date: "x".into(), years: 1, fee: None })).await,
        Err(RegistryError::NotRenewable(_))
    ));

    let restore = |op| Command::UpdateDomain(n("r.test"), UpdateDomain { restore: Some(op), ..Default::default() });
    let balance = f.balance("reg-a");
    f.ok(reg("reg-a"), restore(Restore::Request)).await;
    assert_eq!(f.balance("reg-a"), balance - Money(4000), "the restore fee");
    assert!(f.published("r.test"), "pending restore is published");
    assert_eq!(f.domain("r.test").unwrap().rgp_statuses(f.clock.now()), vec!["pendingRestore"]);
    // No report within 7 days: back to redemption, out of DNS again.
    f.advance(8 * DAY).await;
    assert_eq!(f.domain("r.test").unwrap().rgp_statuses(f.clock.now()), vec!["redemptionPeriod"]);
    assert!(!f.published("r.test"));
    f.ok(reg("reg-a"), restore(Restore::Request)).await;
    f.ok(reg("reg-a"), restore(Restore::Report { reason: "registrant error".into() })).await;
    let d = f.domain("r.test").unwrap();
    assert!(d.rgp.is_none() && !d.statuses.contains(DomainStatus::PendingDelete));
    assert!(f.published("r.test"));

    // Delete again and let it run out: redemption, pending delete, purge.
    f.ok(reg("reg-a"), Command::DeleteDomain(n("r.test"))).await;
    f.advance(31 * DAY).await;
    assert_eq!(f.domain("r.test").unwrap().rgp_statuses(f.clock.now()), vec!["pendingDelete"]);
    assert!(matches!(f.run(reg("reg-a"), restore(Restore::Request)).await, Err(RegistryError::StatusProhibits(_))));
    f.advance(6 * DAY).await;
    assert!(f.domain("r.test").is_none(), "purged");
    let (msg, count) = f.r.snapshot().poll_first(&id("reg-a")).unwrap();
    assert_eq!(count, 1);
    assert!(msg.unwrap().text.contains("purged"));
    f.ok(reg("reg-b"), create("r.test", 1)).await;
}

#[tokio::test]
async fn renewals_auto_renewals_and_the_ten_year_horizon() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("x.test", 1)).await;
    let exp = f.domain("x.test").unwrap().expires;
    let date = exp.to_rfc3339_seconds()[..10].to_string();
    let renew = |years, date: &str| Command::RenewDomain(n("x.test"), RenewDomain { current_expiry_date: date.into(), years, fee: None });
    assert!(matches!(f.run(reg("reg-a"), renew(1, "2001-01-01")).await, Err(RegistryError::Policy(_))), "wrong current expiry date");
    assert!(matches!(f.run(reg("reg-a"), renew(10, &date)).await, Err(RegistryError::Range(_))), "beyond ten years");
    assert!(matches!(f.run(reg("reg-b"), renew(1, &date)).await, Err(RegistryError::Authorization(_))));
    f.ok(reg("reg-a"), renew(2, &date)).await;
    let d = f.domain("x.test").unwrap();
    assert_eq!(d.expires, exp.plus_years(2));
    assert!(d.rgp_statuses(f.clock.now()).contains(&"renewPeriod"));

    // At expiry the registry renews for a year and charges for it.
    let balance = f.balance("reg-a");
    f.advance(3 * 366 * DAY).await;
    let d = f.domain("x.test").unwrap();
    assert_eq!(d.expires, exp.plus_years(3));
    assert_eq!(d.rgp_statuses(f.clock.now()), vec!["autoRenewPeriod"]);
    assert_eq!(f.balance("reg-a"), balance - Money(1000));
    // Deleting within the auto-renew grace period credits it back and takes the year off.
    f.ok(reg("reg-a"), Command::DeleteDomain(n("x.test"))).await;
    assert_eq!(f.balance("reg-a"), balance);
    assert_eq!(f.domain("x.test").unwrap().expires, exp.plus_years(2));
}

#[tokio::test]
async fn transfers_wait_for_the_losing_registrar_or_the_clock() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("t.test", 1)).await;
    let exp = f.domain("t.test").unwrap().expires;
    let transfer = |op| Command::TransferDomain(n("t.test"), op);

    assert!(matches!(f.run(reg("reg-b"), transfer(transfer_request(1, "Wrong-Code-123456"))).await, Err(RegistryError::AuthInfo)));
    assert!(
        matches!(f.run(reg("reg-b"), transfer(transfer_request(10, "Sesame-Open-2026x"))).await, Err(RegistryError::Range(_))),
        "beyond ten years"
    );
    assert!(matches!(
        f.run(reg("reg-a"), transfer(transfer_request(1, "Sesame-Open-2026x"))).await,
        Err(RegistryError::NotTransferable(_))
    ));
    let b0 = f.balance("reg-b");
    let Outcome::Transfer { pending, .. } = f.ok(reg("reg-b"), transfer(transfer_request(1, "Sesame-Open-2026x"))).await else { panic!() };
    assert!(pending);
    assert!(f.domain("t.test").unwrap().statuses.contains(DomainStatus::PendingTransfer));
    assert_eq!(f.balance("reg-b"), b0 - Money(1000));
    assert!(matches!(
        f.run(reg("reg-b"), transfer(transfer_request(1, "Sesame-Open-2026x"))).await,
        Err(RegistryError::TransferPending(_))
    ));
    assert!(
        matches!(f.run(reg("reg-b"), transfer(TransferOp::Approve)).await, Err(RegistryError::Authorization(_))),
        "the gaining side cannot approve"
    );
    let (msg, _) = f.r.snapshot().poll_first(&id("reg-a")).unwrap();
    assert!(msg.unwrap().text.contains("requested by reg-b"), "the losing registrar is told");

    // Rejected: the fee goes back, nothing moves.
    f.ok(reg("reg-a"), transfer(TransferOp::Reject)).await;
    assert_eq!(f.balance("reg-b"), b0);
    let d = f.domain("t.test").unwrap();
    assert_eq!((d.registrar.as_str(), d.transfer.as_ref().unwrap().status), ("reg-a", TransferStatus::ClientRejected));
    assert!(matches!(f.run(reg("reg-a"), transfer(TransferOp::Approve)).await, Err(RegistryError::NoTransferPending(_))));

    // Requested again and left alone: the server approves after five days.
    f.ok(reg("reg-b"), transfer(transfer_request(1, "Sesame-Open-2026x"))).await;
    f.advance(5 * DAY + 1).await;
    let d = f.domain("t.test").unwrap();
    assert_eq!(d.registrar.as_str(), "reg-b");
    assert_eq!(d.transfer.as_ref().unwrap().status, TransferStatus::ServerApproved);
    assert_eq!(d.expires, exp.plus_years(1));
    assert!(d.auth_info_hash.is_none(), "RFC 9154: the code is spent");
    assert!(d.rgp_statuses(f.clock.now()).contains(&"transferPeriod"));
    assert!(!d.statuses.contains(DomainStatus::PendingTransfer));
    assert_eq!(f.r.snapshot().poll_first(&id("reg-b")).unwrap().1, 2, "the gaining registrar is told of the rejection and the approval");
}

#[tokio::test]
async fn a_transfer_in_auto_renew_grace_replaces_the_auto_renewal() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("ar.test", 1)).await;
    let exp = f.domain("ar.test").unwrap().expires;
    f.advance(366 * DAY).await;
    assert_eq!(f.domain("ar.test").unwrap().expires, exp.plus_years(1), "auto-renewed");
    let a0 = f.balance("reg-a");
    f.ok(reg("reg-b"), Command::TransferDomain(n("ar.test"), transfer_request(1, "Sesame-Open-2026x"))).await;
    f.ok(reg("reg-a"), Command::TransferDomain(n("ar.test"), TransferOp::Approve)).await;
    let d = f.domain("ar.test").unwrap();
    assert_eq!(d.expires, exp.plus_years(1), "the transfer year replaces the auto-renew year");
    assert_eq!(f.balance("reg-a"), a0 + Money(1000), "the auto-renewal is credited back");
}

#[tokio::test]
async fn a_transfer_ends_the_losing_registrars_grace_periods() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("g.test", 1)).await;
    let exp = f.domain("g.test").unwrap().expires;
    let (a0, b0) = (f.balance("reg-a"), f.balance("reg-b"));
    f.ok(reg("reg-b"), Command::TransferDomain(n("g.test"), transfer_request(1, "Sesame-Open-2026x"))).await;
    f.ok(reg("reg-a"), Command::TransferDomain(n("g.test"), TransferOp::Approve)).await;
    let d = f.domain("g.test").unwrap();
    assert_eq!(d.grace.iter().map(|g| g.kind).collect::<Vec<_>>(), vec![GraceKind::Transfer]);
    // Deleted by the gaining registrar within its transfer grace: it gets the
    // transfer back, the losing registrar nothing, and the domain is redeemable.
    let Outcome::Deleted { pending, credit } = f.ok(reg("reg-b"), Command::DeleteDomain(n("g.test"))).await else { panic!() };
    assert!(pending, "no add grace any more: redemption");
    assert_eq!(credit, Money(1000));
    assert_eq!((f.balance("reg-a"), f.balance("reg-b")), (a0, b0));
    assert_eq!(f.domain("g.test").unwrap().expires, exp, "the transfer year is taken back");
}

#[tokio::test]
async fn contact_transfers_wait_for_the_sponsor_or_the_clock() {
    let f = Fixture::new().await;
    let cid = crate::model::ContactId::parse("moving-1").unwrap();
    f.ok(reg("reg-a"), contact(&cid)).await;
    let transfer = |op| Command::TransferContact(cid.clone(), op);
    let request = || transfer(TransferOp::Request { years: 0, auth_info: "Sesame-Open-2026x".into(), fee: None });
    assert!(matches!(
        f.run(reg("reg-b"), transfer(TransferOp::Request { years: 0, auth_info: "Wrong-Code-2026xx".into(), fee: None })).await,
        Err(RegistryError::AuthInfo)
    ));
    let b0 = f.balance("reg-b");
    let Outcome::ContactTransfer { pending: true, .. } = f.ok(reg("reg-b"), request()).await else { panic!() };
    assert_eq!(f.balance("reg-b"), b0, "contact transfers are free");
    let contact = |f: &Fixture| f.r.snapshot().contact(&cid).unwrap().unwrap();
    assert!(contact(&f).statuses.contains(ContactStatus::PendingTransfer));
    let del = f.run(reg("reg-a"), Command::DeleteContact(cid.clone())).await;
    assert!(matches!(del, Err(RegistryError::StatusProhibits(_))), "no delete while a transfer is pending: {del:?}");
    // Cancelled by the requester, then requested again and left to the clock.
    f.ok(reg("reg-b"), transfer(TransferOp::Cancel)).await;
    assert_eq!(contact(&f).registrar.as_str(), "reg-a");
    f.ok(reg("reg-b"), request()).await;
    f.advance(5 * DAY + 1).await;
    let c = contact(&f);
    assert_eq!((c.registrar.as_str(), c.transfer.as_ref().unwrap().status), ("reg-b", TransferStatus::ServerApproved));
    assert!(c.auth_info_hash.is_none() && c.transferred.is_some() && !c.statuses.contains(ContactStatus::PendingTransfer));
}

#[tokio::test]
async fn registrars_act_only_on_what_they_sponsor_and_are_counted() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("own.test", 1)).await;
    let hold = UpdateDomain { add_statuses: vec![DomainStatus::ClientHold], ..Default::default() };
    assert!(matches!(f.run(reg("reg-b"), Command::UpdateDomain(n("own.test"), hold.clone())).await, Err(RegistryError::Authorization(_))));
    assert!(matches!(f.run(reg("reg-b"), Command::DeleteDomain(n("own.test"))).await, Err(RegistryError::Authorization(_))));
    let server = UpdateDomain { add_statuses: vec![DomainStatus::ServerHold], ..Default::default() };
    assert!(matches!(f.run(reg("reg-a"), Command::UpdateDomain(n("own.test"), server)).await, Err(RegistryError::Authorization(_))));
    f.ok(reg("reg-a"), Command::UpdateDomain(n("own.test"), hold)).await;
    assert!(!f.published("own.test"));
    // A registrar's weak authorization code is refused before it reaches the writer.
    let weak = UpdateDomain { auth_info: Some("password".into()), ..Default::default() };
    assert!(matches!(f.run(reg("reg-a"), Command::UpdateDomain(n("own.test"), weak)).await, Err(RegistryError::Policy(_))));
    // Subordinate hosts belong to the domain's sponsor.
    assert!(matches!(f.run(reg("reg-b"), host("ns1.own.test")).await, Err(RegistryError::Authorization(_))));

    let month: String = f.clock.now().to_rfc3339_seconds().chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    let counters = f.r.snapshot().counters(&month).unwrap();
    let get = |k: &str| counters.iter().find(|(key, _)| key == &format!("{month}|{k}")).map(|(_, v)| *v);
    assert_eq!(get("test|reg-a|domain|create|ok"), Some(1));
    assert_eq!(get("test|reg-b|domain|update|fail"), Some(1));
    assert_eq!(get("test|reg-a|domain|update|ok"), Some(1));
    // The weak code never reached the writer; front-ends count such refusals themselves.
    assert_eq!(get("test|reg-a|domain|update|fail"), Some(1));
    assert_eq!(get("test|reg-b|host|create|fail"), Some(1));
}

#[tokio::test]
async fn memos_outlive_count_commits_but_not_object_changes() {
    let f = Fixture::new().await;
    let before = f.r.snapshot();
    f.ok(Actor::Registry, Command::CountReads(vec![(query_counter_key((2026, 11), "test", "rdap"), 3)])).await;
    let counted = f.r.snapshot();
    assert_ne!(counted.generation, before.generation, "counts are committed and visible");
    assert_eq!(counted.memo_id(), before.memo_id(), "no object changed");
    f.ok(reg("reg-a"), create("a.test", 1)).await;
    assert_ne!(f.r.snapshot().memo_id(), counted.memo_id());
}

/// Handlers that misbehave on purpose, to prove what the writer guarantees
/// whatever a handler does.
#[derive(Debug)]
pub enum Fault {
    /// Creates the domain for real, then refuses.
    WriteThenRefuse(Box<CreateDomain>),
    Panic,
    /// Leaves the domain sponsored by a registrar that does not exist, so
    /// that its auto-renewal writes and then is refused.
    Orphan(DomainName),
}

pub(super) fn inject(cx: &mut Cx, fault: &Fault) -> context::Result<Outcome> {
    match fault {
        Fault::WriteThenRefuse(spec) => {
            super::domain::create(cx, spec)?;
            Err(RegistryError::Policy("refused after writing".into()))
        }
        Fault::Panic => panic!("a handler bug"),
        Fault::Orphan(name) => {
            let mut domain = cx.tables.domain(name)?.expect("the domain exists");
            domain.registrar = id("gone");
            cx.tables.put_domain(&domain)?;
            Ok(Outcome::Done)
        }
    }
}

fn create_spec(name: &str) -> CreateDomain {
    let Command::CreateDomain(mut spec) = create(name, 1) else { unreachable!() };
    spec.auth_info = None;
    spec
}

#[tokio::test]
async fn a_command_that_writes_and_then_refuses_leaves_nothing_while_its_batch_commits() {
    let f = Fixture::new().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let r = f.r.clone();
        let command = if i % 2 == 0 {
            create(&format!("d{i}.test"), 1)
        } else {
            Command::Fault(Fault::WriteThenRefuse(Box::new(create_spec(&format!("d{i}.test")))))
        };
        tasks.push(tokio::spawn(async move { r.execute_as(reg("reg-a"), command).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        assert_eq!(result.is_ok(), i % 2 == 0, "d{i}: {:?}", result.as_ref().err());
        let name = format!("d{i}.test");
        assert_eq!(f.domain(&name).is_some(), i % 2 == 0, "{name}");
        assert_eq!(f.published(&name), i % 2 == 0, "{name} in the zone");
    }
    let snap = f.r.snapshot();
    assert_eq!(snap.domains(&n("test"), None, 100).unwrap().len(), 20);
    assert_eq!(snap.host_by_name(&n("ns.example.net")).unwrap().unwrap().link_count, 20);
    assert_eq!(f.balance("reg-a"), Money(100_000 - 20 * 1000), "only accepted creates were charged");
    let added: usize = snap.journal_since(&n("test"), 1_800_000_000).unwrap().unwrap().iter().map(|e| e.added.len()).sum();
    assert_eq!(added, 20, "the journal holds only the accepted delegations");
}

#[tokio::test]
async fn a_refused_lifecycle_transition_is_deferred_not_lost() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("x.test", 1)).await;
    f.ok(reg("reg-a"), create("y.test", 1)).await;
    let (x0, y0) = (f.domain("x.test").unwrap(), f.domain("y.test").unwrap());
    f.clock.advance_seconds(366 * DAY);
    f.ok(Actor::Registry, Command::Fault(Fault::Orphan(n("x.test")))).await;
    let orphaned = f.domain("x.test").unwrap();

    let Outcome::Due { deferred, .. } = f.ok(Actor::Registry, Command::RunDue).await else { panic!() };
    assert_eq!(deferred, 1, "x's renewal is refused: its sponsor is gone");
    assert_eq!(f.domain("y.test").unwrap().expires, y0.expires.plus_years(1), "y is renewed all the same");
    let x = f.domain("x.test").unwrap();
    assert_eq!((x.expires, x.registrar.as_str()), (x0.expires, orphaned.registrar.as_str()), "nothing of x's renewal is kept");
    assert!(x.grace.iter().all(|g| g.kind != GraceKind::AutoRenew));
    let now = f.clock.now();
    assert!(!f.r.snapshot().due_before(now).unwrap(), "not retried in a tight loop");
    assert!(f.r.snapshot().due_before(now.plus_seconds(DUE_RETRY_S)).unwrap(), "but kept");
    f.clock.advance_seconds(DUE_RETRY_S + 1);
    let Outcome::Due { deferred, .. } = f.ok(Actor::Registry, Command::RunDue).await else { panic!() };
    assert_eq!(deferred, 1, "tried again, and kept again");
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_command_and_the_writer_goes_on() {
    let f = Fixture::new().await;
    let mut tasks = Vec::new();
    for i in 0..21 {
        let r = f.r.clone();
        let command = if i == 10 { Command::Fault(Fault::Panic) } else { create(&format!("p{i}.test"), 1) };
        tasks.push(tokio::spawn(async move { r.execute_as(reg("reg-a"), command).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        if i == 10 {
            assert!(matches!(result, Err(RegistryError::Internal(_))), "{result:?}");
        } else {
            assert!(result.is_ok(), "p{i}: {result:?}");
            assert!(f.domain(&format!("p{i}.test")).is_some());
        }
    }
    assert!(f.r.health().is_live());
    f.ok(reg("reg-a"), create("after.test", 1)).await;
}

/// A disk that starts refusing on demand: writes (as when full) or fsync.
#[derive(Debug)]
struct FailingDisk {
    file: redb::backends::FileBackend,
    failing: Arc<std::sync::atomic::AtomicBool>,
    fsync_only: bool,
}

impl FailingDisk {
    fn check(&self, fsync: bool) -> std::io::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) && fsync == self.fsync_only {
            // ENOSPC for writes, EIO for fsync.
            return Err(std::io::Error::from_raw_os_error(if fsync { 5 } else { 28 }));
        }
        Ok(())
    }
}

impl redb::StorageBackend for FailingDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check(false)?;
        self.file.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.check(true)?;
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check(false)?;
        self.file.write(offset, data)
    }
    fn close(&self) -> std::io::Result<()> {
        self.file.close()
    }
}

async fn storage_failure_is_named_and_nothing_acknowledged_is_lost(fsync_only: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.redb");
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).unwrap();
    let disk = FailingDisk { file: redb::backends::FileBackend::new(file).unwrap(), failing: failing.clone(), fsync_only };
    let store = Store::open_on(disk, 1 << 22).unwrap();
    let mut f = Fixture::on(store, dir).await;
    f.ok(reg("reg-a"), create("kept.test", 1)).await;
    assert!(f.r.health().is_live());

    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = f.run(reg("reg-a"), create("lost.test", 1)).await.unwrap_err();
    let RegistryError::Store(e) = &err else { panic!("{err:?}") };
    assert!(e.is_unavailable(), "{e}");
    assert!(err.to_string().contains("storage unavailable"), "{err}");
    assert!(!f.r.health().is_live());
    let reason = tokio::time::timeout(std::time::Duration::from_secs(5), f.r.failed()).await.expect("the daemon is told");
    assert!(reason.contains("storage unavailable"), "{reason}");
    // The disk is well again, but this process's database is not: it says so.
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let again = f.run(reg("reg-a"), create("later.test", 1)).await.unwrap_err();
    assert!(matches!(&again, RegistryError::Store(e) if e.is_unavailable()), "{again:?}");

    // What the supervisor does: a fresh process opens the store again.
    let (tx, _) = tokio::sync::mpsc::channel(1);
    f.r = Registry { queue: tx, ..f.r.clone() };
    f.writer.take().unwrap().join();
    let path = f._dir.path().join("r.redb");
    let store = Store::open(&path, 1 << 22, crate::store::Upgrade::Refused).unwrap();
    let snap = store.snapshot(0).unwrap();
    assert!(snap.domain(&n("kept.test")).unwrap().is_some(), "what was acknowledged is there");
    // The refused commit was never acknowledged. Whether its bytes reached the
    // disk before the failing fsync is the disk's business, but it is there
    // whole or not at all: its domain with its zone row, or neither.
    let lost = snap.domain(&n("lost.test")).unwrap().is_some();
    assert_eq!(lost, snap.zone_row(&n("lost.test").canonical_key()).unwrap().is_some(), "a commit is whole or absent");
    assert!(snap.domain(&n("later.test")).unwrap().is_none(), "nothing is written after the failure");
}

#[tokio::test]
async fn a_full_disk_is_storage_unavailable_and_nothing_acknowledged_is_lost() {
    storage_failure_is_named_and_nothing_acknowledged_is_lost(false).await;
}

#[tokio::test]
async fn a_failing_fsync_is_storage_unavailable_and_nothing_acknowledged_is_lost() {
    storage_failure_is_named_and_nothing_acknowledged_is_lost(true).await;
}

#[tokio::test]
async fn a_command_group_commits_whole_or_not_at_all() {
    let f = Fixture::new().await;
    let group =
        |last: Command| Command::All(vec![Command::Fund(id("reg-a"), None, Money(500)), create("g1.test", 1), host("ns1.g1.test"), last]);
    let refused = f.run(Actor::Registry, group(create("g1.test", 1))).await;
    assert!(matches!(refused, Err(RegistryError::Missing(_) | RegistryError::Exists { .. })), "{refused:?}");
    assert!(f.domain("g1.test").is_none() && f.r.snapshot().host_by_name(&n("ns1.g1.test")).unwrap().is_none());
    assert_eq!(f.balance("reg-a"), Money(100_000), "the funding in the group is undone too");
    let refused = f.run(reg("reg-a"), group(create("g2.test", 1))).await;
    assert!(matches!(refused, Err(RegistryError::Authorization(_))), "{refused:?}");

    let mut spec = create_spec("g1.test");
    spec.registrar = Some(id("reg-a"));
    let Command::CreateHost(mut ns) = host("ns1.g1.test") else { unreachable!() };
    ns.registrar = Some(id("reg-a"));
    f.ok(
        Actor::Registry,
        Command::All(vec![Command::Fund(id("reg-a"), None, Money(500)), Command::CreateDomain(spec), Command::CreateHost(ns)]),
    )
    .await;
    assert!(f.domain("g1.test").is_some() && f.r.snapshot().host_by_name(&n("ns1.g1.test")).unwrap().is_some());
    assert_eq!(f.balance("reg-a"), Money(100_500));
}

#[tokio::test]
async fn the_change_log_names_each_object_a_commit_changed_once_and_nothing_a_refused_command_wrote() {
    use crate::model::change::ObjectRef;
    let f = Fixture::new().await;
    let logged = || {
        let s = f.r.snapshot();
        s.changes(0, s.last_change().unwrap(), 1000).unwrap()
    };
    let before = logged().len();
    let group =
        |last: Command| Command::All(vec![Command::Fund(id("reg-a"), None, Money(500)), create("g1.test", 1), host("ns1.g1.test"), last]);
    assert!(f.run(Actor::Registry, group(create("g1.test", 1))).await.is_err());
    assert_eq!(logged().len(), before, "a refused group leaves no entry");

    f.ok(reg("reg-a"), create("c1.test", 1)).await;
    let entries = logged();
    let new: Vec<&ObjectRef> = entries[before..].iter().map(|(_, c)| &c.object).collect();
    // The domain, its sponsor (charged) and its name server (one more link);
    // each once although written more than once.
    let ns = f.domain("c1.test").unwrap().nameservers[0].clone();
    assert_eq!(new, [&ObjectRef::Registrar(id("reg-a")), &ObjectRef::Host(ns), &ObjectRef::Domain(n("c1.test"))]);
    assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "numbered in commit order");
    assert!(entries[before..].iter().all(|(_, c)| c.at == f.clock.now()));

    // Entries older than the retention are dropped as new ones come, and the log says how far.
    f.advance(super::writer::CHANGE_LOG_RETENTION_S + DAY).await;
    for i in 0..entries.len() {
        f.ok(reg("reg-a"), create(&format!("later{i}.test"), 1)).await;
    }
    let s = f.r.snapshot();
    let dropped = s.changes_dropped_through().unwrap();
    assert_eq!(dropped, entries.last().unwrap().0, "every old entry is gone");
    assert!(s.changes(0, dropped, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_restore_quote_is_what_the_restore_costs_also_after_expiry() {
    let f = Fixture::new().await;
    f.ok(reg("reg-a"), create("q.test", 1)).await;
    let original_expiry = f.domain("q.test").unwrap().expires;
    // Auto-renewed at expiry, then deleted within the auto-renew grace: the renewal
    // is credited back and the domain sits in redemption already expired.
    f.advance(366 * DAY).await;
    f.ok(reg("reg-a"), Command::DeleteDomain(n("q.test"))).await;
    let d = f.domain("q.test").unwrap();
    assert_eq!(d.expires, original_expiry);
    assert!(d.expires <= f.clock.now() && d.rgp_statuses(f.clock.now()) == vec!["redemptionPeriod"]);

    let snapshot = f.r.snapshot();
    let check = super::query::check_domain(&snapshot, "q.test").unwrap();
    assert_eq!(check.availability, super::query::Availability::InUse);
    let quote = check.price("restore", 1, f.clock.now(), "USD").unwrap();
    assert_eq!(quote.amount, Money(4000 + 1000), "the restore fee and the year that brings it back unexpired");
    let balance = f.balance("reg-a");
    let agreed = FeeAgreement { currency: None, amount: quote.amount };
    let restore = UpdateDomain { restore: Some(Restore::Request), fee: Some(agreed), ..Default::default() };
    f.ok(reg("reg-a"), Command::UpdateDomain(n("q.test"), restore)).await;
    assert_eq!(f.balance("reg-a"), balance - quote.amount);
    assert!(f.domain("q.test").unwrap().expires > f.clock.now());
}

/// The bytes every kind of stored record is written as, for values that use
/// every field, status and variant the model has. A change here changes what
/// is on operators' disks: it needs a new schema version, a migration from
/// this layout and a fixture database of it (`tests/fixtures`), and only then
/// a rewrite of `tests/golden/records.txt` (`UPDATE_GOLDEN=1`).
#[tokio::test]
async fn stored_layouts_match_their_golden_bytes() {
    use crate::model::objects::{Disclose, DiscloseField, Phone};
    use crate::model::{ContactId, ContactType, DomainContact, DsData, PollPayload, PostalAddress, PostalInfo};
    use crate::store::codec;

    let f = Fixture::new().await;
    let postal = |name: &str| PostalInfo {
        name: name.into(),
        org: Some("Org".into()),
        address: PostalAddress {
            street: vec!["1 Main St".into(), "Floor 2".into()],
            city: "Oslo".into(),
            state: Some("OS".into()),
            postal_code: Some("0150".into()),
            country_code: "NO".into(),
        },
    };
    let contact = CreateContact {
        id: ContactId::parse("golden-1").unwrap(),
        registrar: None,
        email: "g@example.net".into(),
        postal_int: Some(postal("Int Name")),
        postal_loc: Some(postal("Loc Näme")),
        voice: Some(Phone { number: "+47.12345678".into(), ext: Some("12".into()) }),
        fax: Some(Phone { number: "+47.87654321".into(), ext: None }),
        disclose: Some(Disclose { flag: true, fields: vec![DiscloseField::NameInt, DiscloseField::Voice, DiscloseField::Email] }),
        auth_info: Some("Sesame-Open-2026x".into()),
        auth_info_hash: None,
    };
    f.ok(reg("reg-a"), Command::CreateContact(contact)).await;
    let ds = DsData { key_tag: 12345, algorithm: 13, digest_type: 2, digest: vec![0xAB; 32] };
    let golden = CreateDomain {
        registrant: Some(ContactId::parse("golden-1").unwrap()),
        contacts: vec![DomainContact { kind: ContactType::Tech, id: ContactId::parse("golden-1").unwrap() }],
        ds: vec![ds],
        statuses: vec![DomainStatus::ClientHold, DomainStatus::ClientRenewProhibited],
        ..match create("golden.test", 2) {
            Command::CreateDomain(c) => c,
            _ => unreachable!(),
        }
    };
    f.ok(reg("reg-a"), Command::CreateDomain(golden)).await;
    let ns = CreateHost {
        name: n("ns.golden.test"),
        registrar: None,
        addresses: vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        statuses: vec![crate::model::HostStatus::ClientDeleteProhibited],
    };
    f.ok(reg("reg-a"), Command::CreateHost(ns)).await;
    f.ok(reg("reg-a"), create("moving.test", 1)).await;
    f.ok(reg("reg-a"), create("gone.test", 1)).await;
    f.clock.advance_seconds(6 * DAY);
    f.ok(reg("reg-b"), Command::TransferDomain(n("moving.test"), transfer_request(1, "Sesame-Open-2026x"))).await;
    f.ok(reg("reg-b"), Command::TransferContact(ContactId::parse("golden-1").unwrap(), transfer_request(1, "Sesame-Open-2026x"))).await;
    f.ok(reg("reg-a"), Command::DeleteDomain(n("gone.test"))).await;

    let snap = f.r.snapshot();
    // Hashes are salted afresh each run; their place in the layout is what counts.
    let hash = Some("$argon2id$fixed".to_string());
    let domain = |name: &str| {
        let mut d = snap.domain(&n(name)).unwrap().unwrap();
        d.auth_info_hash = hash.clone();
        codec::encode(&d)
    };
    let mut contact = snap.contact(&ContactId::parse("golden-1").unwrap()).unwrap().unwrap();
    contact.auth_info_hash = hash.clone();
    let mut records = vec![
        ("tld", codec::encode(snap.tld(&n("test")).unwrap())),
        ("registrar", codec::encode(&snap.registrar(&id("reg-a")).unwrap().unwrap())),
        ("contact with a pending transfer", codec::encode(&contact)),
        ("domain with contacts, DS, statuses and add grace", domain("golden.test")),
        ("domain with a pending transfer", domain("moving.test")),
        ("domain in redemption", domain("gone.test")),
        ("host", codec::encode(&snap.host_by_name(&n("ns.golden.test")).unwrap().unwrap())),
        ("zone row", snap.zone_row(&n("golden.test").canonical_key()).unwrap().map(|v| v.value().to_vec()).unwrap_or_default()),
    ];
    let journal = snap.journal_since(&n("test"), 1_800_000_000).unwrap().unwrap();
    records.push(("journal entry", journal.last().unwrap().encode()));
    drop(snap);
    // The losing registrar's queue: a domain and a contact transfer.
    for _ in 0..2 {
        let (Some(mut m), _) = f.r.snapshot().poll_first(&id("reg-a")).unwrap() else { panic!("a poll message") };
        if let PollPayload::DomainChange { domain, .. } = &mut m.payload {
            domain.auth_info_hash = hash.clone();
        }
        records.push(("poll message", codec::encode(&m)));
        f.ok(reg("reg-a"), Command::AckPoll(m.id)).await;
    }
    // A change the registry made (RFC 8590): the auto-renewal at expiry, after the transfers' own notices.
    f.advance(2 * 366 * DAY).await;
    loop {
        let (Some(mut m), _) = f.r.snapshot().poll_first(&id("reg-a")).unwrap() else { panic!("an auto-renewal notice") };
        f.ok(reg("reg-a"), Command::AckPoll(m.id)).await;
        if let PollPayload::DomainChange { domain, .. } = &mut m.payload {
            domain.auth_info_hash = hash.clone();
            records.push(("poll message of a registry change", codec::encode(&m)));
            break;
        }
    }

    // A signed zone's state: keys by their public halves with their timeline, the denial mode, the signature and rollover timing.
    let key = crate::model::dnssec::ZoneKey {
        flags: 257,
        algorithm: 13,
        public_key: vec![7; 64],
        created: Timestamp::from_unix_seconds(1_800_000_000),
        published: Some(Timestamp::from_unix_seconds(1_800_000_050)),
        role: crate::model::dnssec::KeyRole::Ksk,
        active_from: Some(Timestamp::from_unix_seconds(1_800_000_100)),
        retired: Some(Timestamp::from_unix_seconds(1_800_000_200)),
        ds_seen: Some(Timestamp::from_unix_seconds(1_800_000_300)),
    };
    let mut signing = crate::model::dnssec::ZoneSigning::new(crate::model::dnssec::Denial::Nsec3OptOut, vec![key]);
    signing.parent_servers = vec!["192.0.2.1:53".parse().unwrap(), "[2001:db8::1]:5353".parse().unwrap()];
    signing.cds_scan_interval_s = 86_400;
    records.push(("zone signing", codec::encode(&signing)));

    // The change log, one entry per kind of object, and an escrow cursor.
    use crate::model::change::{Change, EscrowCursor, ObjectRef};
    let at = Timestamp::from_unix_seconds(1_800_000_000);
    for object in [
        ObjectRef::Registrar(id("reg-a")),
        ObjectRef::Contact(ContactId::parse("golden-1").unwrap()),
        ObjectRef::Host(crate::model::Roid("H2-T".into())),
        ObjectRef::Domain(DomainName::parse("golden.test").unwrap()),
        ObjectRef::Reserved(DomainName::parse("nic.test").unwrap()),
    ] {
        records.push(("change log entry", codec::encode(&Change { at, object })));
    }
    let full_watermark = Timestamp::from_unix_seconds(1_799_900_000);
    let cursor = EscrowCursor { id: "20270115D01".into(), kind: "diff".into(), watermark: at, last_change: 4242, full_watermark };
    records.push(("escrow cursor", codec::encode(&cursor)));
    // A name that cannot be registered.
    let reserved = crate::model::reserved::ReservedName {
        name: n("nic.test"),
        tld: n("test"),
        state: crate::model::reserved::NameState::Blocked,
        reason: "Specification 5".into(),
        list: "spec5".into(),
        created: at,
    };
    records.push(("reserved name", codec::encode(&reserved)));
    let premium = crate::model::premium::PremiumName {
        name: n("gold.test"),
        tld: n("test"),
        class: "premium".into(),
        prices: crate::model::lifecycle::PremiumPrices { create: Money(100_000), renew: Money(50_000), transfer: Money(25_000) },
    };
    records.push(("premium name", codec::encode(&premium)));
    let token = crate::model::token::AllocationToken {
        token: "Golden-Token-0123456789".into(),
        tld: n("test"),
        name: Some(n("gold.test")),
        registrar: Some(id("reg-a")),
        uses_max: 1,
        uses: 0,
        create_price: Some(Money(500)),
        expires: Some(Timestamp::from_unix_seconds(1_900_000_000)),
        revoked: false,
        created: at,
    };
    records.push(("allocation token", codec::encode(&token)));
    let application = crate::model::application::Application {
        id: "A7-T".into(),
        tld: n("test"),
        name: n("wanted.test"),
        phase: crate::model::phase::PhaseKind::Custom,
        phase_name: Some("early-access".into()),
        phase_starts: at,
        registrar: id("reg-a"),
        created: at,
        updated: Some(Timestamp::from_unix_seconds(1_800_864_000)),
        status: crate::model::application::ApplicationStatus::PendingAllocation,
        period_years: 2,
        registrant: Some(ContactId::parse("golden-1").unwrap()),
        contacts: vec![DomainContact { kind: ContactType::Admin, id: ContactId::parse("golden-1").unwrap() }],
        nameservers: vec![n("ns.example.net")],
        ds: vec![DsData { key_tag: 7, algorithm: 13, digest_type: 2, digest: vec![0xAB; 32] }],
        auth_info_hash: hash.clone(),
        fee: Money(6000),
        refundable: Money(1000),
        currency: "USD".into(),
        lordn_id: Some("2026120100/1/2/3/rJ1NrDO92vDsAzf7EQzgjX4R0000000001".into()),
        notice_accepted: Some(at),
    };
    records.push(("launch application", codec::encode(&application)));
    let decided = crate::model::PollMessage {
        id: 9,
        queued: at,
        text: "Application A7-T for wanted.test: allocated".into(),
        payload: PollPayload::Application(Box::new(application)),
    };
    records.push(("poll message of an application", codec::encode(&decided)));
    let phase = crate::model::phase::Phase {
        tld: n("test"),
        kind: crate::model::phase::PhaseKind::Custom,
        name: Some("early-access".into()),
        starts: at,
        ends: Some(Timestamp::from_unix_seconds(1_800_864_000)),
        create_price: None,
        terms: crate::model::phase::PhaseTerms {
            applications: true,
            daily_create_prices: vec![Money(25_000), Money(12_500)],
            claims: true,
            label_lengths: Some((1, 6)),
            renew_price: Some(Money(900)),
            transfer_price: None,
            restore_price: Some(Money(3000)),
            add_grace_s: Some(0),
            years_max: Some(1),
            transfer_lock_days: Some(60),
            fees: vec![crate::model::phase::NamedFee {
                command: crate::model::phase::FeeCommand::Create,
                description: "Early access fee".into(),
                amount: Money(5000),
                refundable: false,
            }],
        },
    };
    records.push(("launch phase", codec::encode(&phase)));
    let idn = crate::model::idn::IdnTable {
        tld: n("test"),
        id: "sv-1.0".into(),
        repertoire: vec![(0x2D, 0x2D), (0x61, 0x7A), (0xE4, 0xE4)],
        variants: vec![(0xE4, 0xE6)],
        policy: crate::model::idn::VariantPolicy::SameRegistrar,
        idn_only: true,
        url: Some("https://www.iana.org/domains/idn-tables/tables/test_sv_1.0.txt".into()),
        url_policy: Some("https://nic.test/idn-policy".into()),
    };
    records.push(("IDN table", codec::encode(&idn)));
    // Transaction records of the monthly reports: a column with years and one without.
    use crate::model::report::{TransactionField, TransactionRecord};
    for (field, amount) in [(TransactionField::NetAdds(10), -1), (TransactionField::TransferLosingNacked, 1)] {
        let record = TransactionRecord {
            tld: n("test"),
            reported_at: Timestamp::from_unix_seconds(1_800_432_000),
            registrar: id("reg-a"),
            domain: n("golden.test"),
            field,
            amount,
            at,
        };
        records.push(("transaction record", codec::encode(&record)));
    }
    use crate::model::tmch::{ClaimsLabel, RevokedMark, TmchTrust};
    let trust = TmchTrust {
        ca_pem: "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n".into(),
        crl_pem: Some("-----BEGIN X509 CRL-----\nAAEC\n-----END X509 CRL-----\n".into()),
        loaded: at,
    };
    records.push(("TMCH trust", codec::encode(&trust)));
    let label =
        ClaimsLabel { label: "claimed".into(), claim_key: "2026120100/1/2/3/rJ1NrDO92vDsAzf7EQzgjX4R0000000001".into(), inserted: at };
    records.push(("DNL label", codec::encode(&label)));
    records.push(("revoked signed mark", codec::encode(&RevokedMark { smd_id: "0000001681375789102250-65535".into(), revoked: at })));
    let entry = crate::model::ledger::LedgerEntry {
        registrar: id("reg-a"),
        seq: 7,
        at,
        amount: Money(-1_000),
        balance: Money(99_000),
        currency: "USD".into(),
        reason: "domain create".into(),
        domain: Some(n("golden.test")),
    };
    records.push(("ledger entry", codec::encode(&entry)));
    let sunrise = crate::model::phase::Phase { kind: crate::model::phase::PhaseKind::Sunrise, name: None, ..phase };
    records.push(("sunrise phase", codec::encode(&sunrise)));
    let iana = vec![crate::model::iana::IanaRegistrar {
        id: 292,
        name: "MarkMonitor, Inc.".into(),
        status: "Accredited".into(),
        rdap_base_url: Some("https://rdap.markmonitor.com/rdap/".into()),
    }];
    records.push(("IANA registrar list", codec::encode(&iana)));
    let launch = crate::model::tmch::LaunchRegistration {
        tld: n("test"),
        domain: n("golden.test"),
        roid: f.domain("golden.test").unwrap().roid,
        registrar: id("reg-a"),
        created: at,
        sunrise: false,
        id: "370d0b7c9223372036854775807".into(),
        accepted: Some(Timestamp::from_unix_seconds(1_800_000_000)),
    };
    records.push(("launch registration", codec::encode(&launch)));
    let text: String =
        records.iter().map(|(what, bytes)| format!("{what}\n{}\n\n", crate::model::objects::hex_bytes::encode_upper(bytes))).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    for (want, got) in expected.split("\n\n").zip(text.split("\n\n")) {
        assert_eq!(
            want, got,
            "a stored layout changed: give it a new schema version, a migration and a fixture database before updating the golden bytes"
        );
    }
    assert_eq!(expected.len(), text.len(), "records were added or removed");
}

#[tokio::test]
async fn another_registrars_contact_and_transfers_are_read_only_by_those_entitled() {
    use crate::model::ContactId;
    let f = Fixture::new().await;
    let cid = ContactId::parse("owned-1").unwrap();
    f.ok(reg("reg-a"), contact(&cid)).await;
    let snap = f.r.snapshot();
    assert!(super::query::contact_for(&snap, &id("reg-a"), &cid, None).is_ok(), "the sponsor");
    assert!(matches!(super::query::contact_for(&snap, &id("reg-b"), &cid, None), Err(RegistryError::Authorization(_))));
    assert!(matches!(super::query::contact_for(&snap, &id("reg-b"), &cid, Some("wrong")), Err(RegistryError::Authorization(_))));
    assert!(super::query::contact_for(&snap, &id("reg-b"), &cid, Some("Sesame-Open-2026x")).is_ok(), "a holder of the code");
    drop(snap);

    f.ok(reg("reg-a"), create("t.test", 1)).await;
    assert!(matches!(super::query::transfer_for(None, &id("reg-a"), "t.test"), Err(RegistryError::NoTransferPending(_))));
    f.ok(reg("reg-b"), Command::TransferDomain(n("t.test"), transfer_request(1, "Sesame-Open-2026x"))).await;
    let transfer = f.domain("t.test").unwrap().transfer;
    for party in ["reg-a", "reg-b"] {
        assert!(super::query::transfer_for(transfer.as_ref(), &id(party), "t.test").is_ok(), "{party}");
    }
    assert!(matches!(super::query::transfer_for(transfer.as_ref(), &id("reg-c"), "t.test"), Err(RegistryError::Authorization(_))));
}

/// The NSEC chain of the zone `test` as stored: a record at the apex and at
/// every delegation, none below a cut, each naming the next in canonical
/// order (the last the apex) and signed.
fn assert_nsec_chain(f: &Fixture, step: &str) {
    use crate::store::codec::RowView;
    let snap = f.r.snapshot();
    let apex = snap.zone(&n("test")).unwrap();
    let mut chain: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut cut: Option<Vec<u8>> = None;
    for item in snap.zone_rows(apex).unwrap() {
        let (key, guard) = item.unwrap();
        let row = RowView::new(guard.value()).unwrap();
        let below_cut = cut.as_ref().is_some_and(|c| key.starts_with(c));
        let nsec = row.get(rtype::NSEC).map(|s| s.rdatas().next().unwrap().to_vec());
        assert_eq!(nsec.is_some(), !below_cut, "{step}: NSEC at {:?}", String::from_utf8_lossy(&key));
        if let Some(rdata) = nsec {
            assert!(row.get(rtype::RRSIG).is_some_and(|s| s.covering(rtype::NSEC).count() > 0), "{step}: unsigned NSEC");
            if key != apex.key {
                assert!(row.get(rtype::NS).is_some(), "{step}: every name below the apex here is a delegation");
                cut = Some(key.clone());
            }
            chain.push((key, rdata));
        }
    }
    for (i, (key, rdata)) in chain.iter().enumerate() {
        let mut next = Vec::new();
        crate::model::name::key_to_wire(&chain[(i + 1) % chain.len()].0, &mut next);
        assert!(rdata.starts_with(&next), "{step}: the NSEC at {:?} skips or misses its next name", String::from_utf8_lossy(key));
    }
}

#[tokio::test]
async fn the_nsec_chain_stays_whole_through_creates_deletes_ds_and_glue() {
    let f = Fixture::new().await;
    let nsec = TldSpec { dnssec: Some(DnssecMode::Nsec), ..Default::default() };
    f.ok(Actor::Registry, Command::UpdateTld(n("test"), nsec)).await;
    assert_nsec_chain(&f, "signed");
    let ds = crate::model::DsData::parse_presentation(&format!("12345 13 2 {}", "AB".repeat(32))).unwrap();
    let labels = ["a", "b", "c", "m", "m-1", "x", "zz", "0", "9"];
    let (mut present, mut with_glue) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    let mut seed = 7u32;
    for step in 0..60 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let label = labels[(seed >> 16) as usize % labels.len()];
        let name = format!("{label}.test");
        let create = |name: &str, years| match create(name, years) {
            Command::CreateDomain(c) => Command::CreateDomain(CreateDomain { registrar: Some(id("reg-a")), ..c }),
            _ => unreachable!(),
        };
        let command = if present.insert(name.clone()) {
            // Some names come with a DS, some with in-zone glue, some as a batch of two.
            match (seed >> 8) % 3 {
                0 => Command::All(vec![
                    create(&name, 1),
                    Command::UpdateDomain(n(&name), UpdateDomain { add_ds: vec![ds.clone()], ..Default::default() }),
                ]),
                1 => {
                    with_glue.insert(name.clone());
                    let ns = format!("ns.{name}");
                    let glue = CreateHost {
                        name: n(&ns),
                        registrar: Some(id("reg-a")),
                        addresses: vec!["192.0.2.1".parse().unwrap()],
                        statuses: vec![],
                    };
                    let delegate = UpdateDomain { add_nameservers: vec![n(&ns)], ..Default::default() };
                    Command::All(vec![create(&name, 1), Command::CreateHost(glue), Command::UpdateDomain(n(&name), delegate)])
                }
                _ => create(&name, 1),
            }
        } else {
            present.remove(&name);
            let mut group: Vec<Command> = Vec::new();
            if with_glue.remove(&name) {
                let ns = n(&format!("ns.{name}"));
                group.push(Command::UpdateDomain(n(&name), UpdateDomain { remove_nameservers: vec![ns.clone()], ..Default::default() }));
                group.push(Command::DeleteHost(ns));
            }
            group.push(Command::DeleteDomain(n(&name)));
            Command::All(group)
        };
        f.ok(Actor::Registry, command).await;
        assert_nsec_chain(&f, &format!("step {step} ({name})"));
    }
    for mode in [DnssecMode::Nsec3, DnssecMode::Nsec] {
        f.ok(Actor::Registry, Command::UpdateTld(n("test"), TldSpec { dnssec: Some(mode), ..Default::default() })).await;
    }
    assert_nsec_chain(&f, "signed again with NSEC");
}

#[tokio::test]
async fn a_domain_keeps_its_premium_prices_until_it_is_purged() {
    use crate::model::lifecycle::PremiumPrices;
    use crate::model::premium::PremiumName;
    let f = Fixture::new().await;
    let prices = PremiumPrices { create: Money(50_000), renew: Money(40_000), transfer: Money(40_000) };
    let premium = PremiumName { name: n("gold.test"), tld: n("test"), class: "premium".into(), prices };
    f.ok(Actor::Registry, Command::SetPremium { tld: n("test"), names: vec![premium.clone()] }).await;
    let mut spec = match create("gold.test", 1) {
        Command::CreateDomain(c) => c,
        _ => unreachable!(),
    };
    spec.fee = Some(FeeAgreement { currency: None, amount: Money(50_000) });
    f.ok(reg("reg-a"), Command::CreateDomain(spec)).await;
    assert_eq!(f.r.snapshot().grandfathered(&n("gold.test")).unwrap(), Some(premium));
    f.ok(reg("reg-a"), Command::DeleteDomain(n("gold.test"))).await;
    assert!(f.domain("gold.test").is_none(), "deleted in its add grace period, it is purged");
    assert_eq!(f.r.snapshot().grandfathered(&n("gold.test")).unwrap(), None, "and its prices with it");
}

#[tokio::test]
async fn a_phase_prices_and_governs_the_commands_made_while_it_runs() {
    use crate::model::phase::{FeeCommand, NamedFee, Phase, PhaseKind, PhaseTerms};
    let f = Fixture::new().await;
    let now = f.clock.now();
    let fee = |command, description: &str, cents, refundable| NamedFee {
        command,
        description: description.into(),
        amount: Money(cents),
        refundable,
    };
    let terms = PhaseTerms {
        renew_price: Some(Money(800)),
        years_max: Some(2),
        transfer_lock_days: Some(30),
        fees: vec![
            fee(FeeCommand::Create, "Launch fee", 2500, false),
            fee(FeeCommand::Create, "Registry fee", 100, true),
            fee(FeeCommand::Renew, "Renewal fee", 50, false),
        ],
        ..Default::default()
    };
    let ends = now.plus_seconds(30 * DAY);
    let launch = Phase { tld: n("test"), kind: PhaseKind::Open, name: None, starts: now, ends: Some(ends), create_price: None, terms };
    f.ok(Actor::Registry, Command::AddPhase(launch.clone())).await;
    let ga = Phase { starts: ends, ends: None, terms: PhaseTerms::default(), ..launch.clone() };
    f.ok(Actor::Registry, Command::AddPhase(ga)).await;
    let taken = Phase { terms: PhaseTerms { fees: vec![fee(FeeCommand::Create, "x", 1, false); 2], ..Default::default() }, ..launch };
    let err = f.run(Actor::Registry, Command::AddPhase(taken)).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Invalid(m) if m.contains("named twice")), "{err:?}");

    // The quote is what the create is charged: the price and both fees.
    let snapshot = f.r.snapshot();
    let check = super::query::check_domain(&snapshot, "p.test").unwrap().with_prices(&snapshot, "p.test", now).unwrap();
    let quote = check.price("create", 1, now, "USD").unwrap();
    assert_eq!((quote.amount, quote.total(), quote.refundable()), (Money(1000), Money(3600), Money(1100)));
    let err = f.run(reg("reg-a"), create("p.test", 3)).await.unwrap_err();
    assert!(matches!(&err, RegistryError::Range(m) if m.contains("1 to 2 years")), "{err:?}");
    let before = f.balance("reg-a");
    let Outcome::Domain(d) = f.ok(reg("reg-a"), create("p.test", 1)).await else { panic!() };
    assert_eq!(d.fee, quote.total());
    // Deleted in its add grace period: the price and the refundable fee come back, the launch fee does not.
    f.ok(reg("reg-a"), Command::DeleteDomain(n("p.test"))).await;
    assert_eq!(f.balance("reg-a"), before - Money(2500));

    // Renewed in the phase: its renew price and fee; not transferable within its lock.
    f.ok(reg("reg-a"), create("q.test", 1)).await;
    let renew = |years| {
        let date = f.domain("q.test").unwrap().expires.to_rfc3339_seconds()[..10].to_string();
        Command::RenewDomain(n("q.test"), RenewDomain { current_expiry_date: date, years, fee: None })
    };
    let Outcome::Domain(d) = f.ok(reg("reg-a"), renew(1)).await else { panic!() };
    assert_eq!(d.fee, Money(850));
    let transfer = || Command::TransferDomain(n("q.test"), transfer_request(1, "Sesame-Open-2026x"));
    let err = f.run(reg("reg-b"), transfer()).await.unwrap_err();
    assert!(matches!(&err, RegistryError::NotTransferable(m) if m.contains("30 days")), "{err:?}");

    // In general availability the TLD's own terms hold again.
    f.advance(31 * DAY).await;
    let Outcome::Domain(d) = f.ok(reg("reg-a"), renew(1)).await else { panic!() };
    assert_eq!(d.fee, Money(1000));
    f.ok(reg("reg-b"), transfer()).await;
}

#[tokio::test]
async fn an_auto_renewal_is_charged_at_the_prices_the_name_was_created_at() {
    use crate::model::lifecycle::PremiumPrices;
    use crate::model::premium::PremiumName;
    let f = Fixture::new().await;
    let premium = |renew| PremiumName {
        name: n("gold.test"),
        tld: n("test"),
        class: "premium".into(),
        prices: PremiumPrices { create: Money(50_000), renew: Money(renew), transfer: Money(40_000) },
    };
    f.ok(Actor::Registry, Command::SetPremium { tld: n("test"), names: vec![premium(40_000)] }).await;
    let Command::CreateDomain(mut spec) = create("gold.test", 1) else { unreachable!() };
    spec.fee = Some(FeeAgreement { currency: None, amount: Money(50_000) });
    f.ok(reg("reg-a"), Command::CreateDomain(spec)).await;
    // The list changes; the registered name keeps its renewal price.
    f.ok(Actor::Registry, Command::SetPremium { tld: n("test"), names: vec![premium(90_000)] }).await;
    let balance = f.balance("reg-a");
    f.advance(366 * DAY).await;
    assert_eq!(f.domain("gold.test").unwrap().rgp_statuses(f.clock.now()), vec!["autoRenewPeriod"]);
    assert_eq!(f.balance("reg-a"), balance - Money(40_000));
}

#[tokio::test]
async fn an_application_the_rules_refuse_at_its_phase_end_is_rejected_and_credited() {
    use crate::model::application::ApplicationStatus;
    use crate::model::phase::{Phase, PhaseKind, PhaseTerms};
    let f = Fixture::new().await;
    let now = f.clock.now();
    let terms = PhaseTerms { applications: true, ..Default::default() };
    let landrush = Phase {
        tld: n("test"),
        kind: PhaseKind::Landrush,
        name: None,
        starts: now,
        ends: Some(now.plus_seconds(10 * DAY)),
        create_price: None,
        terms,
    };
    f.ok(Actor::Registry, Command::AddPhase(landrush)).await;
    let holder = crate::model::ContactId::parse("holder-1").unwrap();
    f.ok(reg("reg-a"), contact(&holder)).await;
    let Command::CreateDomain(mut spec) = create("wanted.test", 1) else { unreachable!() };
    spec.registrant = Some(holder.clone());
    spec.launch_phase = Some(LaunchPhase { phase: "landrush".into(), name: None });
    spec.application = true;
    let before = f.balance("reg-a");
    let Outcome::Application(a, _) = f.ok(reg("reg-a"), Command::CreateDomain(spec)).await else { panic!("an application") };
    assert_eq!(f.balance("reg-a"), before - Money(1000));
    // Nothing refers to the contact yet, so it can go; the allocation then cannot name it.
    f.ok(reg("reg-a"), Command::DeleteContact(holder)).await;
    f.advance(11 * DAY).await;
    assert!(f.domain("wanted.test").is_none());
    let after = f.r.snapshot().application(&a.id).unwrap().unwrap();
    assert_eq!(after.status, ApplicationStatus::Rejected);
    assert_eq!(f.balance("reg-a"), before, "its price back: there were no fees that are not refundable");
}
