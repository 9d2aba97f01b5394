//! The commands the registry writer executes, who executes them, and what
//! they return. Request bodies are typed with the model's parsed newtypes,
//! so a front-end that deserializes one has already refused bad names.

use std::net::IpAddr;

use serde::Deserialize;

use crate::model::lifecycle::ContactPolicy;
use crate::model::objects::{Disclose, Phone};
use crate::model::rollover::CleanPass;
use crate::model::{
    ClientId, Contact, ContactId, Domain, DomainContact, DomainName, DomainStatus, DsData, GluePolicy, Host, HostName, HostStatus,
    IpPrefix, Money, PostalAddress, PostalInfo, Registrar, RegistrarStatus, Tld, Transfer,
};

/// On whose behalf a command runs. The registry (operator API, import,
/// timers) may do what the rules allow; a registrar only to what it
/// sponsors, with `client*` statuses, and pays for what it buys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Registry,
    Registrar(ClientId),
}

impl Actor {
    pub fn registrar(&self) -> Option<&ClientId> {
        match self {
            Actor::Registry => None,
            Actor::Registrar(id) => Some(id),
        }
    }
}

/// A change to registry state. Each one commits whole or not at all.
#[derive(Debug)]
pub enum Command {
    CreateTld(TldSpec),
    UpdateTld(DomainName, TldSpec),
    CreateRegistrar(RegistrarSpec),
    UpdateRegistrar(ClientId, RegistrarSpec),
    /// Funds for a registrar's account in a currency (by default, the one
    /// its TLDs price in); negative to take funds back.
    Fund(ClientId, Option<String>, Money),
    /// A registrar's new EPP password (`newPW`).
    ChangePassword(ClientId, Password),
    CreateContact(CreateContact),
    UpdateContact(ContactId, UpdateContact),
    DeleteContact(ContactId),
    CreateDomain(CreateDomain),
    UpdateDomain(DomainName, UpdateDomain),
    DeleteDomain(DomainName),
    RenewDomain(DomainName, RenewDomain),
    TransferDomain(DomainName, TransferOp),
    /// RFC 5733 transfer; the request's `years` and `fee` do not apply.
    TransferContact(ContactId, TransferOp),
    CreateHost(CreateHost),
    UpdateHost(HostName, UpdateHost),
    DeleteHost(HostName),
    /// Dequeues a poll message.
    AckPoll(u64),
    /// Bulk load of a parsed zone; runs alone in its own transaction.
    Import(Box<super::import_data::ZoneImport>),
    /// Reserves names of a TLD: they cannot be registered (NNDN).
    Reserve(ReserveNames),
    /// Ends the reservations of names of a TLD.
    Unreserve {
        tld: DomainName,
        names: Vec<DomainName>,
    },
    /// Sets a TLD's IDN table (replacing one it had).
    SetIdnTable(crate::model::idn::IdnTable),
    /// Removes a TLD's IDN table: its labels are then LDH or any IDNA2008 A-label.
    RemoveIdnTable(DomainName),
    /// Adds a phase to a TLD's launch timeline, with the terms kept beside it.
    AddPhase(crate::model::phase::Phase),
    /// Allocates the name of a launch application to it, once its phase is
    /// over: the domain is created for its registrar, and the other
    /// applications for the name are rejected.
    AllocateApplication(String),
    /// Rejects a launch application: what it paid, but for fees that are
    /// not refundable, goes back.
    RejectApplication(String),
    /// A registrar withdraws its launch application for `name` made in `phase` (RFC 8334 `launch:delete`).
    WithdrawApplication {
        name: DomainName,
        id: String,
        phase: LaunchPhase,
    },
    /// A registrar's change of its open application (RFC 8334 §3.4): its
    /// name servers, DS, contacts and authorization information, as a
    /// domain update changes them.
    UpdateApplication {
        name: DomainName,
        id: String,
        phase: LaunchPhase,
        spec: Box<UpdateDomain>,
    },
    /// Removes a phase that has not begun.
    RemovePhase {
        tld: DomainName,
        starts: crate::model::Timestamp,
    },
    /// Sets what signed marks are verified against: the TMCH CA
    /// certificate and its revocation list.
    SetTmchTrust(crate::model::tmch::TmchTrust),
    /// Makes a TLD a gTLD (only IANA-accredited registrars act on it) or not.
    SetGtld {
        tld: DomainName,
        gtld: bool,
    },
    /// Puts IANA's registrar list in place of the one held.
    ReplaceIanaRegistrars(Vec<crate::model::iana::IanaRegistrar>),
    /// Puts a DNL in place of the one held.
    ReplaceDnl(Vec<crate::model::tmch::ClaimsLabel>),
    /// Puts an SMD revocation list in place of the one held.
    ReplaceSmdrl(Vec<crate::model::tmch::RevokedMark>),
    /// Issues an allocation token (RFC 8495).
    IssueToken(crate::model::token::AllocationToken),
    /// Revokes an allocation token: it allows nothing more.
    RevokeToken(String),
    /// Lets a registrar act on a TLD.
    Accredit {
        registrar: ClientId,
        tld: DomainName,
        /// The currency the registrar pays the TLD's fees in, one the TLD
        /// takes (none: the TLD's own).
        currency: Option<String>,
    },
    /// Ends a registrar's accreditation for a TLD: what it sponsors there
    /// stays, but it can no longer act on it.
    Unaccredit {
        registrar: ClientId,
        tld: DomainName,
    },
    /// Prices names of a TLD as premium names (replacing their prices).
    SetPremium {
        tld: DomainName,
        names: Vec<crate::model::premium::PremiumName>,
    },
    /// Gives names of a TLD their standard prices again.
    RemovePremium {
        tld: DomainName,
        names: Vec<DomainName>,
    },
    /// Records the escrow deposit (or BRDA) just made of a TLD.
    RecordDeposit {
        tld: DomainName,
        cursor: crate::model::change::EscrowCursor,
    },
    /// Bulk load of a registry deposit; runs alone in its own transaction.
    ImportDeposit(Box<super::import_data::DepositImport>),
    /// Carries out lifecycle deadlines that have passed (auto-renew, grace
    /// ends, transfer auto-approval, redemption and purge).
    RunDue,
    /// Makes again the signatures of a signed TLD that the sweep found near
    /// expiry: at the owner names with these canonical keys and on the
    /// NSEC3 records with these hashes (each checked again by the writer).
    RefreshSignatures {
        tld: DomainName,
        owners: Vec<Vec<u8>>,
        nsec3: Vec<Vec<u8>>,
    },
    /// Begins a rollover of the zone's ZSK, its KSK, or every key now.
    RollKey {
        tld: DomainName,
        roll: crate::model::rollover::Roll,
    },
    /// The operator saw the DS of this KSK served by the parent.
    DsSeen {
        tld: DomainName,
        key_tag: u16,
    },
    /// Carries out the zone's next key step if its time has come; `clean`
    /// is the sweep's last full pass that found no signature by a key that
    /// no longer signs.
    AdvanceKeys {
        tld: DomainName,
        clean: Option<CleanPass>,
    },
    /// Read-only commands (check, info, poll, transfer query) to add to the
    /// report counters: `(key, count)`.
    CountReads(Vec<(String, u64)>),
    /// Sets report counters: a month's totals, an external secondary's DNS
    /// counts, a report's delivery.
    SetCounts(Vec<(String, u64)>),
    /// Runs the commands in order as one: all of them, or none if one is
    /// refused (a bulk import cannot be one of them).
    All(Vec<Command>),
    /// Misbehaves on purpose, to prove what the writer guarantees.
    #[cfg(test)]
    Fault(super::tests::Fault),
}

impl Command {
    /// The command's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateTld(_) => "TLD create",
            Command::UpdateTld(..) => "TLD update",
            Command::CreateRegistrar(_) => "registrar create",
            Command::UpdateRegistrar(..) => "registrar update",
            Command::Fund(..) => "registrar funding",
            Command::ChangePassword(..) => "password change",
            Command::CreateContact(_) => "contact create",
            Command::UpdateContact(..) => "contact update",
            Command::DeleteContact(_) => "contact delete",
            Command::CreateDomain(_) => "domain create",
            Command::UpdateDomain(..) => "domain update",
            Command::DeleteDomain(_) => "domain delete",
            Command::RenewDomain(..) => "domain renew",
            Command::TransferDomain(..) => "domain transfer",
            Command::TransferContact(..) => "contact transfer",
            Command::CreateHost(_) => "host create",
            Command::UpdateHost(..) => "host update",
            Command::DeleteHost(_) => "host delete",
            Command::AckPoll(_) => "poll ack",
            Command::Import(_) => "zone import",
            Command::ImportDeposit(_) => "deposit import",
            Command::Reserve(_) => "name reservation",
            Command::Unreserve { .. } => "reservation end",
            Command::SetPremium { .. } => "premium prices",
            Command::Accredit { .. } => "accreditation",
            Command::IssueToken(_) => "token issue",
            Command::SetTmchTrust(_) => "TMCH trust",
            Command::ReplaceDnl(_) => "DNL",
            Command::ReplaceIanaRegistrars(_) => "IANA registrar list",
            Command::SetGtld { .. } => "gTLD",
            Command::ReplaceSmdrl(_) => "SMD revocation list",
            Command::AddPhase(..) => "phase",
            Command::SetIdnTable(_) => "IDN table",
            Command::RemoveIdnTable(_) => "IDN table removal",
            Command::RemovePhase { .. } => "phase removal",
            Command::AllocateApplication(_) => "application allocation",
            Command::RejectApplication(_) => "application rejection",
            Command::WithdrawApplication { .. } => "application withdrawal",
            Command::UpdateApplication { .. } => "application update",
            Command::RevokeToken(_) => "token revocation",
            Command::Unaccredit { .. } => "accreditation end",
            Command::RemovePremium { .. } => "premium removal",
            Command::RecordDeposit { .. } => "deposit record",
            Command::RunDue => "lifecycle run",
            Command::RefreshSignatures { .. } => "signature refresh",
            Command::RollKey { .. } => "key rollover start",
            Command::DsSeen { .. } => "DS seen at the parent",
            Command::AdvanceKeys { .. } => "key rollover step",
            Command::CountReads(_) => "read counting",
            Command::SetCounts(_) => "report counters",
            Command::All(_) => "command group",
            #[cfg(test)]
            Command::Fault(_) => "fault",
        }
    }

    /// What the command does, when only the registry may do it; the writer
    /// refuses such commands from a registrar before they run.
    pub fn registry_only(&self) -> Option<&'static str> {
        Some(match self {
            Command::CreateTld(_) => "create TLDs",
            Command::UpdateTld(..) => "change TLDs",
            Command::CreateRegistrar(_) => "create registrars",
            Command::UpdateRegistrar(..) => "change registrars",
            Command::Fund(..) => "change balances",
            Command::Import(_) => "import zones",
            Command::ImportDeposit(_) => "import deposits",
            Command::Reserve(_) | Command::Unreserve { .. } => "reserve names",
            Command::SetPremium { .. } | Command::RemovePremium { .. } => "price premium names",
            Command::Accredit { .. } | Command::Unaccredit { .. } | Command::ReplaceIanaRegistrars(_) | Command::SetGtld { .. } => {
                "accredit registrars"
            }
            Command::IssueToken(_) | Command::RevokeToken(_) => "issue allocation tokens",
            Command::SetTmchTrust(_) | Command::ReplaceDnl(_) | Command::ReplaceSmdrl(_) => "load TMCH data",
            Command::AddPhase(..) | Command::RemovePhase { .. } => "plan launch phases",
            Command::AllocateApplication(_) | Command::RejectApplication(_) => "decide launch applications",
            Command::SetIdnTable(_) | Command::RemoveIdnTable(_) => "set IDN tables",
            Command::RecordDeposit { .. } => "record deposits",
            Command::RunDue => "carry out lifecycle deadlines",
            Command::RefreshSignatures { .. } => "refresh zone signatures",
            Command::RollKey { .. } | Command::DsSeen { .. } | Command::AdvanceKeys { .. } => "roll zone keys",
            Command::CountReads(_) => "add to the report counters",
            Command::SetCounts(_) => "set report counters",
            Command::All(_) => "run command groups",
            _ => return None,
        })
    }

    /// Object and command names for the report counters.
    pub fn counted_as(&self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Command::CreateContact(_) => ("contact", "create"),
            Command::UpdateContact(..) => ("contact", "update"),
            Command::DeleteContact(_) => ("contact", "delete"),
            Command::CreateDomain(_) => ("domain", "create"),
            // RFC 3915 restores are their own SRS commands in ICANN's reports.
            Command::UpdateDomain(_, u) if matches!(u.restore, Some(Restore::Request)) => ("domain", "rgp-restore-request"),
            Command::UpdateDomain(_, u) if u.restore.is_some() => ("domain", "rgp-restore-report"),
            Command::UpdateDomain(..) | Command::UpdateApplication { .. } => ("domain", "update"),
            Command::DeleteDomain(_) | Command::WithdrawApplication { .. } => ("domain", "delete"),
            Command::RenewDomain(..) => ("domain", "renew"),
            Command::TransferDomain(_, op) => ("domain", op.counted_as()),
            Command::TransferContact(_, op) => ("contact", op.counted_as()),
            Command::CreateHost(_) => ("host", "create"),
            Command::UpdateHost(..) => ("host", "update"),
            Command::DeleteHost(_) => ("host", "delete"),
            _ => return None,
        })
    }
}

/// Names of `tld` to reserve, all in one state, for one reason, from one list.
#[derive(Debug, Clone)]
pub struct ReserveNames {
    pub tld: DomainName,
    pub names: Vec<DomainName>,
    pub state: crate::model::reserved::NameState,
    pub reason: String,
    pub list: String,
}

/// A password on its way to the writer: hashed before it gets there.
#[derive(Debug, Clone)]
pub enum Password {
    Clear(String),
    Hashed(String),
}

/// What a successful command produced. Not serializable: objects carry
/// secret hashes, and front-ends render their own views of them.
#[derive(Debug, Clone)]
pub enum Outcome {
    Tld(Box<Tld>),
    Registrar(Box<Registrar>),
    Contact(Box<Contact>),
    Domain(Box<DomainOutcome>),
    /// A launch application made, allocated or rejected, with the registrar's balance after it (when it paid).
    Application(Box<crate::model::application::Application>, Option<Money>),
    Host(Box<Host>),
    /// The object is gone (`pending` false) or waits for deletion (`pending` true, EPP 1001).
    Deleted {
        pending: bool,
        credit: Money,
    },
    Transfer {
        name: DomainName,
        transfer: Transfer,
        pending: bool,
    },
    ContactTransfer {
        id: ContactId,
        transfer: Transfer,
        pending: bool,
    },
    PollAcked {
        remaining: u64,
    },
    /// Lifecycle deadlines looked at; `deferred` of them were refused and
    /// moved to a later retry; `more` when the batch limit was reached.
    Due {
        handled: usize,
        deferred: usize,
        more: bool,
    },
    Imported(super::import_data::ImportSummary),
    DepositImported(super::import_data::DepositImportSummary),
    /// How many names a command on a TLD's names (reservations, premium
    /// prices) concerned, and how many of them already were so.
    Names {
        names: usize,
        already: usize,
    },
    Done,
}

impl Outcome {
    /// What kind of outcome this is, for logs that must not show the objects.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Tld(_) => "TLD",
            Outcome::Registrar(_) => "registrar",
            Outcome::Contact(_) => "contact",
            Outcome::Domain(_) => "domain",
            Outcome::Application(..) => "application",
            Outcome::Host(_) => "host",
            Outcome::Deleted { .. } => "deleted",
            Outcome::Transfer { .. } => "transfer",
            Outcome::ContactTransfer { .. } => "contact transfer",
            Outcome::PollAcked { .. } => "poll ack",
            Outcome::Due { .. } => "deadlines",
            Outcome::Imported(_) => "import",
            Outcome::DepositImported(_) => "deposit import",
            Outcome::Names { .. } => "names",
            Outcome::Done => "done",
        }
    }
}

/// A domain after a command, and what it cost.
#[derive(Debug, Clone)]
pub struct DomainOutcome {
    pub domain: Domain,
    /// Charged for this command (0 when free or done by the registry).
    pub fee: Money,
    /// Credited back by this command.
    pub credit: Money,
    /// The registrar's balance afterwards (registrar commands only).
    pub balance: Option<Money>,
    /// The currency of the fee, credit and balance.
    pub currency: String,
}

/// The fee a client agreed to (RFC 8748): must equal the server's price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FeeAgreement {
    pub currency: Option<String>,
    pub amount: Money,
}

/// Whether and how a TLD's zone is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnssecMode {
    Off,
    Nsec3,
    #[serde(rename = "nsec3-optout")]
    Nsec3OptOut,
    Nsec,
}

impl DnssecMode {
    pub fn denial(self) -> Option<crate::model::dnssec::Denial> {
        use crate::model::dnssec::Denial;
        match self {
            DnssecMode::Off => None,
            DnssecMode::Nsec3 => Some(Denial::Nsec3),
            DnssecMode::Nsec3OptOut => Some(Denial::Nsec3OptOut),
            DnssecMode::Nsec => Some(Denial::Nsec),
        }
    }
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
    /// Private (RFC 1918, 6598, 4193) glue addresses allowed in this zone.
    pub glue_private_allowed: Option<bool>,
    /// Documentation (RFC 5737, 3849, 9637) glue addresses allowed in this zone.
    pub glue_documentation_allowed: Option<bool>,
    /// Signs the zone (with NSEC3, NSEC3 with Opt-Out, or NSEC) or stops signing it.
    pub dnssec: Option<DnssecMode>,
    /// The signing key's algorithm when signing starts: 13 (ECDSA P-256
    /// with SHA-256, the default), 15 (Ed25519) or 8 (RSA/SHA-256, 2048 bits).
    pub dnssec_algorithm: Option<u8>,
    /// Signature and key timing of a signed zone
    /// ([`crate::model::dnssec::ZoneSigning`] says what each means).
    pub signature_validity_s: Option<u32>,
    pub signature_refresh_s: Option<u32>,
    pub signature_jitter_s: Option<u32>,
    pub inception_offset_s: Option<u32>,
    pub dnskey_ttl_s: Option<u32>,
    pub zsk_lifetime_s: Option<u32>,
    pub ksk_lifetime_s: Option<u32>,
    pub propagation_delay_s: Option<u32>,
    pub parent_ds_ttl_s: Option<u32>,
    /// The parent's servers, asked for a new KSK's DS (empty: the operator confirms it).
    pub dnssec_parent_servers: Option<Vec<std::net::SocketAddr>>,
    pub ds_check_interval_s: Option<u32>,
    /// How often children are scanned for CDS (0: never).
    pub cds_scan_interval_s: Option<u32>,
    pub add_grace_s: Option<i64>,
    pub renew_grace_s: Option<i64>,
    pub auto_renew_grace_s: Option<i64>,
    pub transfer_grace_s: Option<i64>,
    pub transfer_pending_s: Option<i64>,
    pub redemption_s: Option<i64>,
    pub pending_delete_s: Option<i64>,
    pub pending_restore_s: Option<i64>,
    pub years_max: Option<u32>,
    pub transfer_lock_days: Option<u32>,
    pub currency: Option<String>,
    /// Replaces the other currencies the TLD takes, each with its rate.
    pub exchange_rates: Option<std::collections::BTreeMap<String, crate::model::lifecycle::Rate>>,
    /// Replaces the TLD's standard prices of whole periods.
    pub period_prices: Option<Vec<crate::model::lifecycle::PeriodPrice>>,
    pub create_price: Option<Money>,
    pub renew_price: Option<Money>,
    pub transfer_price: Option<Money>,
    pub restore_price: Option<Money>,
    pub contacts: Option<ContactPolicy>,
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
    pub credit_limit: Option<Money>,
    /// The account of `credit_limit` (by default, the currency the
    /// registrar's TLDs price in).
    pub currency: Option<String>,
    /// On create, the TLDs it is accredited for (all of them when absent).
    pub tlds: Option<Vec<DomainName>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    pub id: ContactId,
    /// Sponsor; a registrar creating a contact sponsors it.
    pub registrar: Option<ClientId>,
    pub email: String,
    pub postal_int: Option<PostalInfo>,
    pub postal_loc: Option<PostalInfo>,
    pub voice: Option<Phone>,
    pub fax: Option<Phone>,
    pub disclose: Option<Disclose>,
    /// Authorization information in clear; moved into `auth_info_hash` before the writer sees it.
    #[serde(default)]
    pub auth_info: Option<String>,
    #[serde(skip)]
    pub auth_info_hash: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    #[serde(default)]
    pub add_statuses: Vec<crate::model::ContactStatus>,
    #[serde(default)]
    pub remove_statuses: Vec<crate::model::ContactStatus>,
    pub email: Option<String>,
    pub postal_int: Option<PostalInfo>,
    pub postal_loc: Option<PostalInfo>,
    /// `Some(None)` removes the number.
    pub voice: Option<Option<Phone>>,
    pub fax: Option<Option<Phone>>,
    pub disclose: Option<Disclose>,
    /// New authorization information in clear (`Some("")` clears it).
    pub auth_info: Option<String>,
    /// Set from `auth_info` before the writer sees the command (`Some("")`: clear).
    #[serde(skip)]
    pub auth_info_hash: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomain {
    pub name: DomainName,
    /// Sponsor; required from the operator API, the actor for registrars.
    pub registrar: Option<ClientId>,
    #[serde(default)]
    pub nameservers: Vec<HostName>,
    #[serde(default)]
    pub ds: Vec<DsData>,
    #[serde(default)]
    pub statuses: Vec<DomainStatus>,
    /// Registration period in years.
    #[serde(default = "one_year")]
    pub period_years: u32,
    pub registrant: Option<ContactId>,
    #[serde(default)]
    pub contacts: Vec<DomainContact>,
    /// Authorization information in clear (empty: none); moved into `auth_info_hash` before the writer sees it.
    #[serde(default)]
    pub auth_info: Option<String>,
    #[serde(skip)]
    pub auth_info_hash: Option<String>,
    #[serde(skip)]
    pub fee: Option<FeeAgreement>,
    /// An allocation token (RFC 8495) the create is made with.
    #[serde(default)]
    pub allocation_token: Option<String>,
    /// The launch phase the create names (RFC 8334 `launch:phase`).
    #[serde(default)]
    pub launch_phase: Option<LaunchPhase>,
    /// A signed mark's document (RFC 7848); verified before the writer sees
    /// it, which then sees only `verified_mark`.
    #[serde(skip)]
    pub signed_mark: Option<Vec<u8>>,
    #[serde(skip)]
    pub verified_mark: Option<crate::model::tmch::VerifiedMark>,
    /// A trademark claims notice (RFC 8334 `launch:notice`).
    #[serde(skip)]
    pub claims_notice: Option<crate::model::tmch::ClaimsNotice>,
    /// An application for the domain, not the domain (RFC 8334
    /// `<launch:create type="application">`), in a phase that collects them.
    #[serde(skip)]
    pub application: bool,
}

impl CreateDomain {
    /// A create of `name` for `registrar` and nothing more: a year, no name
    /// servers, contacts, code or extensions (for the fields to set, `..`).
    pub fn of(name: DomainName, registrar: Option<ClientId>) -> CreateDomain {
        CreateDomain {
            name,
            registrar,
            nameservers: Vec::new(),
            ds: Vec::new(),
            statuses: Vec::new(),
            period_years: 1,
            registrant: None,
            contacts: Vec::new(),
            auth_info: None,
            auth_info_hash: None,
            fee: None,
            allocation_token: None,
            launch_phase: None,
            signed_mark: None,
            verified_mark: None,
            claims_notice: None,
            application: false,
        }
    }
}

/// A phase as a create names it: RFC 8334 `<launch:phase name="…">phase</launch:phase>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchPhase {
    pub phase: String,
    pub name: Option<String>,
}

fn one_year() -> u32 {
    1
}

/// RFC 3915 restore operations, carried on a domain update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    Request,
    Report { reason: String },
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
    #[serde(default)]
    pub add_contacts: Vec<DomainContact>,
    #[serde(default)]
    pub remove_contacts: Vec<DomainContact>,
    /// `Some(None)` removes the registrant.
    pub registrant: Option<Option<ContactId>>,
    /// New authorization information in clear (`Some("")` clears it).
    pub auth_info: Option<String>,
    /// Set from `auth_info` before the writer sees the command (`Some("")`: clear).
    #[serde(skip)]
    pub auth_info_hash: Option<String>,
    /// Moves sponsorship to another registrar (a registry-side transfer).
    pub registrar: Option<ClientId>,
    #[serde(skip)]
    pub restore: Option<Restore>,
    #[serde(skip)]
    pub fee: Option<FeeAgreement>,
}

impl UpdateDomain {
    /// True when the update touches nothing but `server*` statuses, which the
    /// registry may change even on a `serverUpdateProhibited` domain.
    pub fn only_server_statuses(&self) -> bool {
        self.only_statuses() && self.add_statuses.iter().chain(&self.remove_statuses).all(|s| s.is_server())
    }

    /// True when only statuses change (a registrar lifting its own update lock).
    pub fn only_statuses(&self) -> bool {
        self.add_nameservers.is_empty()
            && self.remove_nameservers.is_empty()
            && self.add_ds.is_empty()
            && self.remove_ds.is_empty()
            && !self.remove_all_ds
            && self.add_contacts.is_empty()
            && self.remove_contacts.is_empty()
            && self.registrant.is_none()
            && self.auth_info.is_none()
            && self.auth_info_hash.is_none()
            && self.registrar.is_none()
            && self.restore.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct RenewDomain {
    /// The expiry date the client believes the domain has (RFC 5731 `curExpDate`), `YYYY-MM-DD`.
    pub current_expiry_date: String,
    pub years: u32,
    pub fee: Option<FeeAgreement>,
}

#[derive(Debug, Clone)]
pub enum TransferOp {
    Request { years: u32, auth_info: String, fee: Option<FeeAgreement> },
    Approve,
    Reject,
    Cancel,
}

impl TransferOp {
    fn counted_as(&self) -> &'static str {
        match self {
            TransferOp::Request { .. } => "transfer-request",
            TransferOp::Approve => "transfer-approve",
            TransferOp::Reject => "transfer-reject",
            TransferOp::Cancel => "transfer-cancel",
        }
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
        self.only_statuses() && self.add_statuses.iter().chain(&self.remove_statuses).all(|s| s.is_server())
    }

    pub fn only_statuses(&self) -> bool {
        self.add_addresses.is_empty() && self.remove_addresses.is_empty() && self.new_name.is_none()
    }
}
