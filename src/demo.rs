//! The demo registry `serve --demo` starts with: TLD `example`, two demo
//! registrars (funded, with EPP passwords and client certificates from the
//! private CA), and a few domains that show each case — in-zone glue, DS
//! records, out-of-zone name servers, a held domain and an inactive one —
//! and two contacts, one withholding all personal data, one publishing some.
//! The TLD is signed with NSEC3 (keys in the data folder).
//! Seeded through the ordinary write path as one command, once: all of it
//! or nothing, and a store that already has the TLD is left as it is.

use crate::epp::tls::Pki;
use crate::model::{
    ClientId, ContactId, ContactType, Disclose, DiscloseField, DomainContact, DomainName, DomainStatus, DsData, IpPrefix, Phone, PostalInfo,
};
use crate::registry::command::{CreateContact, CreateDomain, CreateHost, DnssecMode, RegistrarSpec, TldSpec, UpdateDomain};
use crate::registry::{Command, Registry, RegistryError};

pub const TLD: &str = "example";
pub const REGISTRAR: &str = "demo-registrar";
/// A second registrar, to try transfers with.
pub const OTHER_REGISTRAR: &str = "other-registrar";
/// Demo EPP password of both (printed at start; not for production).
pub const REGISTRAR_PASSWORD: &str = "demo-password-1";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Tls(#[from] crate::epp::tls::TlsError),
}

fn n(text: &str) -> DomainName {
    DomainName::parse(text).expect("demo names are valid")
}

fn ds(text: &str) -> DsData {
    DsData::parse_presentation(text).expect("demo DS records are valid")
}

/// Seeds the demo data unless the demo TLD already exists. Client
/// certificates for the demo registrars come from `pki`.
pub async fn seed(registry: &Registry, pki: &Pki) -> Result<(), DemoError> {
    if registry.snapshot().tld(&n(TLD)).is_some() {
        tracing::info!("demo TLD exists; keeping the current state");
        return Ok(());
    }
    let registrar = ClientId::parse(REGISTRAR).expect("valid id");
    let mut all = registrars(pki)?;
    all.push(Command::CreateTld(TldSpec {
        name: Some(n(TLD)),
        nameservers: Some(vec![n("a.nic.example"), n("b.nic.example")]),
        soa_rname: Some(n("hostmaster.nic.example")),
        // Signed from the start, as a TLD must be; the zone is small, so
        // without Opt-Out every delegation gets its own NSEC3 proof.
        dnssec: Some(DnssecMode::Nsec3),
        ..Default::default()
    }));

    all.extend(domains_and_hosts(&registrar, contacts(&registrar)));
    // One command, so that a seed cut short leaves nothing to trip over.
    registry.execute(Command::All(all)).await?;
    tracing::info!("demo registry seeded");
    Ok(())
}

/// The two demo registrars, funded, each with its client certificate pinned.
fn registrars(pki: &Pki) -> Result<Vec<Command>, DemoError> {
    let mut all = Vec::new();
    for (id, name, iana) in [(REGISTRAR, "Demo Registrar", 9999), (OTHER_REGISTRAR, "Other Demo Registrar", 9998)] {
        let fingerprint = pki.ensure_client(id)?;
        all.push(Command::CreateRegistrar(RegistrarSpec {
            id: Some(ClientId::parse(id).expect("valid id")),
            name: Some(name.into()),
            iana_id: Some(iana),
            email: Some(format!("registrar@{id}.demo.example")),
            url: Some(format!("https://{id}.demo.example")),
            phone: Some("+1.5555550199".into()),
            whois_server: Some(format!("whois.{id}.demo.example")),
            rdap_base_url: Some(format!("https://rdap.{id}.demo.example/")),
            address: Some(crate::model::PostalAddress {
                street: vec!["1 Demo Street".into()],
                city: "Demo City".into(),
                state: Some("CA".into()),
                postal_code: Some("90210".into()),
                country_code: "US".into(),
            }),
            abuse_email: Some(format!("abuse@{id}.demo.example")),
            abuse_phone: Some("+1.5555550100".into()),
            password: Some(REGISTRAR_PASSWORD.into()),
            cert_fingerprints: Some(vec![fingerprint]),
            allowed_addresses: Some(vec![IpPrefix::parse("127.0.0.0/8").expect("prefix"), IpPrefix::parse("::1").expect("prefix")]),
            ..Default::default()
        }));
        all.push(Command::Fund(ClientId::parse(id).expect("valid id"), Some("USD".into()), crate::model::Money(100_000)));
    }

    Ok(all)
}

/// A registrant who chose to publish nothing and a technical contact who
/// published name and email: RDAP and WHOIS redact accordingly.
fn contacts(registrar: &ClientId) -> Vec<Command> {
    let contact = |id: &str, name: &str, disclose: Option<Disclose>| {
        Command::CreateContact(CreateContact {
            id: ContactId::parse(id).expect("valid id"),
            registrar: Some(registrar.clone()),
            email: format!("{id}@people.demo.example"),
            postal_int: Some(PostalInfo {
                name: name.into(),
                org: Some("Example Holdings".into()),
                address: crate::model::PostalAddress {
                    street: vec!["2 Private Lane".into()],
                    city: "Springfield".into(),
                    state: Some("OR".into()),
                    postal_code: Some("97477".into()),
                    country_code: "US".into(),
                },
            }),
            postal_loc: None,
            voice: Some(Phone { number: "+1.5555550123".into(), ext: None }),
            fax: None,
            disclose,
            auth_info: None,
            auth_info_hash: None,
        })
    };
    let owner = contact("demo-owner", "Alex Owner", None);
    let published = Disclose { flag: true, fields: vec![DiscloseField::NameInt, DiscloseField::Email] };
    vec![owner, contact("demo-tech", "Terry Tech", Some(published))]
}

/// Domains and hosts that show each case the zone and the public lookups
/// handle; `contacts` go in after the registry's own domain, so every
/// object keeps the ROID it has always had.
fn domains_and_hosts(registrar: &ClientId, contacts: Vec<Command>) -> Vec<Command> {
    let mut all = Vec::new();
    let domain = |name: &str, statuses: Vec<DomainStatus>, nameservers: Vec<&str>, dss: Vec<&str>| {
        Command::CreateDomain(CreateDomain {
            nameservers: nameservers.into_iter().map(n).collect(),
            ds: dss.into_iter().map(ds).collect(),
            statuses,
            ..CreateDomain::of(n(name), Some(registrar.clone()))
        })
    };
    let host = |name: &str, addrs: &[&str]| {
        Command::CreateHost(CreateHost {
            name: n(name),
            registrar: Some(registrar.clone()),
            addresses: addrs.iter().map(|a| a.parse().expect("demo address")).collect(),
            statuses: Vec::new(),
        })
    };
    let delegate = |name: &str, nameservers: &[&str]| {
        Command::UpdateDomain(n(name), UpdateDomain { add_nameservers: nameservers.iter().map(|s| n(s)).collect(), ..Default::default() })
    };

    // The registry's own domain carries the apex name servers' glue.
    all.push(domain("nic.example", vec![], vec![], vec![]));
    all.push(host("a.nic.example", &["192.0.2.53", "2001:db8::53"]));
    all.push(host("b.nic.example", &["198.51.100.53"]));
    all.push(delegate("nic.example", &["a.nic.example", "b.nic.example"]));

    all.extend(contacts);

    // In-zone name servers with glue, and a DS record.
    all.push(Command::CreateDomain(CreateDomain {
        registrant: Some(ContactId::parse("demo-owner").expect("valid id")),
        contacts: vec![DomainContact { kind: ContactType::Tech, id: ContactId::parse("demo-tech").expect("valid id") }],
        ..CreateDomain::of(n("hello.example"), Some(registrar.clone()))
    }));
    all.push(host("ns1.hello.example", &["192.0.2.1", "2001:db8::1"]));
    all.push(host("ns2.hello.example", &["192.0.2.2"]));
    all.push(Command::UpdateDomain(
        n("hello.example"),
        UpdateDomain {
            add_nameservers: vec![n("ns1.hello.example"), n("ns2.hello.example")],
            add_ds: vec![ds("12345 13 2 F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372")],
            ..Default::default()
        },
    ));

    // Name servers outside the zone: no glue, two DS records.
    all.push(host("ns1.example.net", &[]));
    all.push(host("ns2.example.net", &[]));
    all.push(domain(
        "world.example",
        vec![],
        vec!["ns1.example.net", "ns2.example.net"],
        vec![
            "54321 8 2 426959B1A3117A34271C456925B294412D81E2FF8CB5A40A1864F4566F645978",
            "54322 13 4 1871BF30E22873A97F8753B650DEB79E074DD1A997A1572C9FB18ED94DE66F5CE36F344A3ECAE41DB0ECD1D0CFFB49E1",
        ],
    ));

    // On serverHold: registered, delegated, and absent from DNS.
    all.push(domain("held.example", vec![DomainStatus::ServerHold], vec!["ns1.example.net"], vec![]));
    // No name servers: inactive, absent from DNS.
    all.push(domain("parked.example", vec![], vec![], vec![]));

    all
}
