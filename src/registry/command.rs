//! The commands the registry writer executes and what they return. Request
//! bodies are typed with the model's parsed newtypes, so a front-end that
//! deserializes one has already refused bad names and values.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{
    ClientId, Contact, ContactId, Disclose, Domain, DomainContact, DomainName, DomainStatus, DsData, GluePolicy, Host, HostName,
    HostStatus, IpPrefix, Phone, PostalAddress, PostalInfo, Registrar, RegistrarStatus, Tld,
};

/// A change to registry state. Each one commits whole or not at all.
#[derive(Debug)]
pub enum Command {
    CreateTld(TldSpec),
    UpdateTld(DomainName, TldSpec),
    CreateRegistrar(RegistrarSpec),
    UpdateRegistrar(ClientId, RegistrarSpec),
    CreateContact(CreateContact),
    DeleteContact(ContactId),
    CreateDomain(CreateDomain),
    UpdateDomain(DomainName, UpdateDomain),
    DeleteDomain(DomainName),
    CreateHost(CreateHost),
    UpdateHost(HostName, UpdateHost),
    DeleteHost(HostName),
    /// Bulk load of a parsed zone; runs alone in its own transaction.
    Import(Box<super::import::ZoneImport>),
}

/// What a successful command produced.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Tld(Tld),
    Registrar(Box<Registrar>),
    Contact(Box<Contact>),
    Domain(Box<Domain>),
    Host(Box<Host>),
    Deleted,
    Imported(super::import::ImportSummary),
}

/// TLD fields for create and update. On create, `name` and `nameservers` are
/// required and absent settings take their defaults; on update, `name` must
/// be absent and absent fields keep their current values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TldSpec {
    pub name: Option<DomainName>,
    pub nameservers: Option<Vec<HostName>>,
    pub soa_mname: Option<HostName>,
    pub soa_rname: Option<DomainName>,
    pub soa_refresh_s: Option<u32>,
    pub soa_retry_s: Option<u32>,
    pub soa_expire_s: Option<u32>,
    pub soa_minimum_s: Option<u32>,
    pub soa_ttl_s: Option<u32>,
    pub apex_ns_ttl_s: Option<u32>,
    pub delegation_ttl_s: Option<u32>,
    pub ds_ttl_s: Option<u32>,
    pub glue_ttl_s: Option<u32>,
    pub glue_policy: Option<GluePolicy>,
}

/// Registrar fields for create and update. On create, `id`, `name` and
/// `email` are required; on update, `id` must be absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarSpec {
    pub id: Option<ClientId>,
    pub name: Option<String>,
    pub iana_id: Option<u32>,
    pub email: Option<String>,
    pub status: Option<RegistrarStatus>,
    pub phone: Option<String>,
    pub fax: Option<String>,
    pub url: Option<String>,
    pub whois_server: Option<String>,
    pub rdap_base_url: Option<String>,
    pub address: Option<PostalAddress>,
    pub abuse_email: Option<String>,
    pub abuse_phone: Option<String>,
    /// EPP password in clear; replaced by `password_hash` before the writer sees it.
    pub password: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub cert_fingerprints: Option<Vec<String>>,
    pub allowed_addresses: Option<Vec<IpPrefix>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    pub id: ContactId,
    pub registrar: ClientId,
    pub email: String,
    pub postal_int: Option<PostalInfo>,
    pub postal_loc: Option<PostalInfo>,
    pub voice: Option<Phone>,
    pub fax: Option<Phone>,
    pub disclose: Option<Disclose>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomain {
    pub name: DomainName,
    pub registrar: ClientId,
    #[serde(default)]
    pub nameservers: Vec<HostName>,
    #[serde(default)]
    pub ds: Vec<DsData>,
    #[serde(default)]
    pub statuses: Vec<DomainStatus>,
    /// Registration period in years (1-10).
    #[serde(default = "one_year")]
    pub period_years: u32,
    pub registrant: Option<ContactId>,
    #[serde(default)]
    pub contacts: Vec<DomainContact>,
}

fn one_year() -> u32 {
    1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateDomain {
    #[serde(default)]
    pub add_nameservers: Vec<HostName>,
    #[serde(default)]
    pub remove_nameservers: Vec<HostName>,
    #[serde(default)]
    pub add_ds: Vec<DsData>,
    #[serde(default)]
    pub remove_ds: Vec<DsData>,
    #[serde(default)]
    pub remove_all_ds: bool,
    #[serde(default)]
    pub add_statuses: Vec<DomainStatus>,
    #[serde(default)]
    pub remove_statuses: Vec<DomainStatus>,
    /// Moves sponsorship to another registrar (a registry-side transfer).
    pub registrar: Option<ClientId>,
}

impl UpdateDomain {
    /// True when the update touches nothing but `server*` statuses, which the
    /// registry may change even on a `serverUpdateProhibited` domain.
    pub fn only_server_statuses(&self) -> bool {
        self.add_nameservers.is_empty()
            && self.remove_nameservers.is_empty()
            && self.add_ds.is_empty()
            && self.remove_ds.is_empty()
            && !self.remove_all_ds
            && self.registrar.is_none()
            && self.add_statuses.iter().chain(&self.remove_statuses).all(|s| s.is_server())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHost {
    pub name: HostName,
    /// Sponsor; defaults to the superordinate domain's registrar for in-zone hosts.
    pub registrar: Option<ClientId>,
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    #[serde(default)]
    pub statuses: Vec<HostStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateHost {
    #[serde(default)]
    pub add_addresses: Vec<IpAddr>,
    #[serde(default)]
    pub remove_addresses: Vec<IpAddr>,
    #[serde(default)]
    pub add_statuses: Vec<HostStatus>,
    #[serde(default)]
    pub remove_statuses: Vec<HostStatus>,
    pub new_name: Option<HostName>,
}

impl UpdateHost {
    pub fn only_server_statuses(&self) -> bool {
        self.add_addresses.is_empty()
            && self.remove_addresses.is_empty()
            && self.new_name.is_none()
            && self.add_statuses.iter().chain(&self.remove_statuses).all(|s| s.is_server())
    }
}
