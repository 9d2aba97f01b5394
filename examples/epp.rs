//! A registrar's EPP session against `serve --demo`, through a stock EPP
//! client library (instant-epp): log in with the demo registrar's password
//! and client certificate, run one domain command, print the response.
//!
//!     cargo run --example epp -- create mine.example
//!     cargo run --example epp -- info mine.example
//!     cargo run --example epp -- renew mine.example
//!     cargo run --example epp -- hold mine.example       # clientHold: out of DNS
//!     cargo run --example epp -- unhold mine.example
//!     cargo run --example epp -- --as other-registrar transfer mine.example
//!     cargo run --example epp -- approve mine.example
//!     cargo run --example epp -- --as other-registrar delete mine.example
//!
//! `DATA` (default `data`) is the demo's data folder, `EPP_PORT` (default 7700) its EPP port.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instant_epp::EppClient;
use instant_epp::client::RustlsConnector;
use instant_epp::domain::update::{DomainAdd, DomainRemove};
use instant_epp::domain::{
    DomainCheck, DomainCreate, DomainDelete, DomainInfo, DomainRenew, DomainTransfer, DomainUpdate, HostInfo, HostObj, Period,
    PeriodLength, Status,
};
use instant_epp::login::Login;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The demo's transfer code for domains created here (RFC 9154 strength).
const AUTH_INFO: &str = "Demo-Transfer-Code-2026";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: epp [--as REGISTRAR] COMMAND DOMAIN";
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let registrar = match args.iter().position(|a| a == "--as") {
        Some(i) if i + 1 < args.len() => args.drain(i..i + 2).nth(1).expect("two arguments drained"),
        Some(_) => return Err(USAGE.into()),
        None => "demo-registrar".to_string(),
    };
    let [command, name] = <[String; 2]>::try_from(args).map_err(|_| USAGE)?;
    let tls = PathBuf::from(std::env::var("DATA").unwrap_or_else(|_| "data".into())).join("tls");
    let port: u16 = std::env::var("EPP_PORT").unwrap_or_else(|_| "7700".into()).parse()?;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(tls.join("ca.pem"))?)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_file(tls.join(format!("{registrar}.pem")))?],
            PrivateKeyDer::from_pem_file(tls.join(format!("{registrar}.key")))?,
        )?;
    // The demo listens on 127.0.0.1 (which its certificate names); `localhost` may resolve to ::1 first.
    let connector = RustlsConnector::builder(("127.0.0.1".to_string(), port))?.build_with_config(Arc::new(config));
    let mut client = EppClient::new(connector, "domain-os".into(), Duration::from_secs(10)).await?;
    client.transact(&Login::new(&registrar, "demo-password-1", None, None), "login").await?;

    let one_year = Period::Years(PeriodLength::new(1)?);
    let ns = [HostInfo::Obj(HostObj { name: "ns1.example.net".into() })];
    let hold = [Status::ClientHold];
    let xml = match command.as_str() {
        "check" => format!("{:?}", client.transact(&DomainCheck { domains: &[&name] }, "check").await?.res_data()),
        "create" => format!(
            "{:?}",
            client.transact(&DomainCreate::new(&name, one_year, Some(&ns), None, AUTH_INFO, None), "create").await?.res_data()
        ),
        "info" => format!("{:?}", client.transact(&DomainInfo::new(&name, None), "info").await?.res_data()),
        "renew" => {
            let info = client.transact(&DomainInfo::new(&name, None), "info").await?;
            let expiry = info.res_data().and_then(|d| d.expiring_at).ok_or("no expiry date")?;
            format!("{:?}", client.transact(&DomainRenew::new(&name, expiry.date_naive(), one_year), "renew").await?.res_data())
        }
        "hold" | "unhold" => {
            let mut update = DomainUpdate::new(&name);
            if command == "hold" {
                update.add(DomainAdd { ns: None, contacts: None, statuses: Some(&hold) });
            } else {
                update.remove(DomainRemove { ns: None, contacts: None, statuses: Some(&hold) });
            }
            format!("{:?}", client.transact(&update, "update").await?.result)
        }
        "transfer" => format!("{:?}", client.transact(&DomainTransfer::new(&name, None, AUTH_INFO), "transfer").await?.res_data()),
        "approve" => format!("{:?}", client.transact(&DomainTransfer::approve(&name), "approve").await?.res_data()),
        "delete" => format!("{:?}", client.transact(&DomainDelete::new(&name), "delete").await?.result),
        other => return Err(format!("unknown command {other}: check, create, info, renew, hold, unhold, transfer, approve, delete").into()),
    };
    println!("{xml}");
    Ok(())
}
