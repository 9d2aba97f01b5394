//! The frozen layouts of stored records, one type per stored structure of
//! the current schema, apart from the live model types. A live type reaches
//! the disk only through its record ([`Stored`]), so renaming, reordering or
//! re-deriving a model type (for its JSON, say) cannot change a stored byte:
//! a field added to or removed from a model type fails to compile here until
//! the record and a migration say what it becomes.
//!
//! Rules for these types: field order and enum variant order are the byte
//! layout (postcard); a change is a new schema version, whose migration keeps
//! the old layout as its own frozen copy (`migrate.rs`). Leaves are scalars
//! whose encoding is their canonical text or number (names, identifiers,
//! instants in ms, money in minor units, status sets as their RFC names).
//! `tests/golden/records.txt` pins the bytes of every record type.

use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::dnssec::{Denial, KeyRole, ZoneKey, ZoneSigning};
use crate::model::ledger::Accreditation;
use crate::model::lifecycle::{ContactPolicy, PeriodCommand, PeriodPrice, Rate, Requirement};
use crate::model::net::AddressPolicy;
use crate::model::objects::{Disclose, DiscloseField, Phone};
use crate::model::zone::Rr;
use crate::model::{
    ChangeOperation, ClientId, Contact, ContactId, ContactStatusSet, ContactType, Domain, DomainContact, DomainName, DomainStatusSet,
    DsData, GluePolicy, Grace, GraceKind, Host, HostStatusSet, IpPrefix, Money, PollMessage, PollPayload, PostalAddress, PostalInfo,
    Registrar, RegistrarStatus, RegistrationPolicy, Rgp, RgpPhase, Roid, SoaPolicy, Timestamp, Tld, TldPolicy, Transfer, TransferStatus,
};

/// A live type that is stored as its frozen [`Stored::Record`].
pub trait Stored: Sized {
    type Record: Serialize + DeserializeOwned;
    fn to_record(&self) -> Self::Record;
    fn from_record(record: Self::Record) -> Self;
}

/// Scalars are their own record.
macro_rules! scalar {
    ($($t:ty),* $(,)?) => {$(
        impl Stored for $t {
            type Record = $t;
            fn to_record(&self) -> $t {
                Clone::clone(self)
            }
            fn from_record(record: $t) -> $t {
                record
            }
        }
    )*};
}

scalar!(
    bool,
    u8,
    u16,
    u32,
    u64,
    i64,
    String,
    IpAddr,
    std::net::SocketAddr,
    DomainName,
    ClientId,
    ContactId,
    Roid,
    Timestamp,
    Money,
    IpPrefix,
    DomainStatusSet,
    HostStatusSet,
    ContactStatusSet,
    (u32, Vec<u8>),
    (u32, u32),
    (u8, u8),
);

impl<T: Stored> Stored for Vec<T> {
    type Record = Vec<T::Record>;
    fn to_record(&self) -> Self::Record {
        self.iter().map(T::to_record).collect()
    }
    fn from_record(record: Self::Record) -> Self {
        record.into_iter().map(T::from_record).collect()
    }
}

impl<T: Stored> Stored for Option<T> {
    type Record = Option<T::Record>;
    fn to_record(&self) -> Self::Record {
        self.as_ref().map(T::to_record)
    }
    fn from_record(record: Self::Record) -> Self {
        record.map(T::from_record)
    }
}

impl<T: Stored> Stored for Box<T> {
    type Record = Box<T::Record>;
    fn to_record(&self) -> Self::Record {
        Box::new(T::to_record(self))
    }
    fn from_record(record: Self::Record) -> Self {
        Box::new(T::from_record(*record))
    }
}

/// A map by currency (or another text key) is its entries in key order.
impl<V: Stored> Stored for std::collections::BTreeMap<String, V> {
    type Record = Vec<(String, V::Record)>;
    fn to_record(&self) -> Self::Record {
        self.iter().map(|(k, v)| (k.clone(), v.to_record())).collect()
    }
    fn from_record(record: Self::Record) -> Self {
        record.into_iter().map(|(k, v)| (k, V::from_record(v))).collect()
    }
}

/// An exchange rate is its millionths.
impl Stored for Rate {
    type Record = u64;
    fn to_record(&self) -> u64 {
        self.0
    }
    fn from_record(record: u64) -> Rate {
        Rate(record)
    }
}

/// A record struct with its field types spelled out, and the conversions
/// from and to the live struct of the same fields (all of them: a field
/// the record does not name is a compile error).
macro_rules! record {
    ($(#[$meta:meta])* $record:ident of $live:ty { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $record {
            $(pub $field: $ty,)*
        }

        impl $crate::store::record::Stored for $live {
            type Record = $record;
            fn to_record(&self) -> $record {
                $record { $($field: $crate::store::record::Stored::to_record(&self.$field),)* }
            }
            fn from_record(record: $record) -> Self {
                Self { $($field: $crate::store::record::Stored::from_record(record.$field),)* }
            }
        }
    };
}
pub(super) use record;

/// A record enum of unit variants, matched by name to the live enum's.
macro_rules! record_enum {
    ($(#[$meta:meta])* $record:ident of $live:ident { $($variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $record {
            $($variant,)*
        }

        impl Stored for $live {
            type Record = $record;
            fn to_record(&self) -> $record {
                match self { $($live::$variant => $record::$variant,)* }
            }
            fn from_record(record: $record) -> Self {
                match record { $($record::$variant => $live::$variant,)* }
            }
        }
    };
}

record!(SoaRecord of SoaPolicy {
    mname: DomainName,
    rname: DomainName,
    refresh_s: u32,
    retry_s: u32,
    expire_s: u32,
    minimum_s: u32,
    ttl_s: u32,
});

record_enum!(GluePolicyRecord of GluePolicy { Narrow, Wide });

record!(AddressPolicyRecord of AddressPolicy { private_allowed: bool, documentation_allowed: bool });

record!(TldPolicyRecord of TldPolicy {
    soa: SoaRecord,
    nameservers: Vec<DomainName>,
    apex_ns_ttl_s: u32,
    delegation_ttl_s: u32,
    ds_ttl_s: u32,
    glue_ttl_s: u32,
    glue_policy: GluePolicyRecord,
    glue_addresses: AddressPolicyRecord,
});

record_enum!(RequirementRecord of Requirement { Mandatory, Optional, Prohibited });

record!(ContactPolicyRecord of ContactPolicy {
    registrant: RequirementRecord,
    admin: RequirementRecord,
    tech: RequirementRecord,
    billing: RequirementRecord,
});

record_enum!(PeriodCommandRecord of PeriodCommand { Create, Renew, Transfer });

record!(PeriodPriceRecord of PeriodPrice { command: PeriodCommandRecord, years: u32, amount: Money });

record!(RegistrationRecord of RegistrationPolicy {
    add_grace_s: i64,
    renew_grace_s: i64,
    auto_renew_grace_s: i64,
    transfer_grace_s: i64,
    transfer_pending_s: i64,
    redemption_s: i64,
    pending_delete_s: i64,
    pending_restore_s: i64,
    years_max: u32,
    transfer_lock_days: u32,
    currency: String,
    exchange_rates: Vec<(String, u64)>,
    period_prices: Vec<PeriodPriceRecord>,
    create_price: Money,
    renew_price: Money,
    transfer_price: Money,
    restore_price: Money,
    contacts: ContactPolicyRecord,
});

record!(TldRecord of Tld {
    name: DomainName,
    policy: TldPolicyRecord,
    registration: RegistrationRecord,
    serial: u32,
    created: Timestamp,
    updated: Timestamp,
});

record_enum!(DenialRecord of Denial { Nsec3, Nsec3OptOut, Nsec });

record_enum!(KeyRoleRecord of KeyRole { Ksk, Zsk, Csk });

record!(ZoneKeyRecord of ZoneKey {
    flags: u16,
    algorithm: u8,
    public_key: Vec<u8>,
    created: Timestamp,
    published: Option<Timestamp>,
    role: KeyRoleRecord,
    active_from: Option<Timestamp>,
    retired: Option<Timestamp>,
    ds_seen: Option<Timestamp>,
});

record!(ZoneSigningRecord of ZoneSigning {
    denial: DenialRecord,
    keys: Vec<ZoneKeyRecord>,
    signature_validity_s: u32,
    inception_offset_s: u32,
    signature_refresh_s: u32,
    signature_jitter_s: u32,
    dnskey_ttl_s: u32,
    zsk_lifetime_s: u32,
    ksk_lifetime_s: u32,
    propagation_delay_s: u32,
    parent_ds_ttl_s: u32,
    parent_servers: Vec<std::net::SocketAddr>,
    ds_check_interval_s: u32,
    cds_scan_interval_s: u32,
});

record_enum!(RegistrarStatusRecord of RegistrarStatus { Ok, Readonly, Terminated });

record!(PostalAddressRecord of PostalAddress {
    street: Vec<String>,
    city: String,
    state: Option<String>,
    postal_code: Option<String>,
    country_code: String,
});

record!(RegistrarRecord of Registrar {
    id: ClientId,
    name: String,
    iana_id: Option<u32>,
    status: RegistrarStatusRecord,
    email: String,
    phone: Option<String>,
    fax: Option<String>,
    url: Option<String>,
    whois_server: Option<String>,
    rdap_base_url: Option<String>,
    address: PostalAddressRecord,
    abuse_email: Option<String>,
    abuse_phone: Option<String>,
    password_hash: Option<String>,
    cert_fingerprints: Vec<String>,
    allowed_addresses: Vec<IpPrefix>,
    created: Timestamp,
    updated: Timestamp,
    accounts: Vec<AccountRecord>,
});

record!(AccountRecord of crate::model::ledger::Account { currency: String, balance: Money, credit_limit: Money });

record!(PostalInfoRecord of PostalInfo { name: String, org: Option<String>, address: PostalAddressRecord });

record!(PhoneRecord of Phone { number: String, ext: Option<String> });

record_enum!(DiscloseFieldRecord of DiscloseField { NameInt, NameLoc, OrgInt, OrgLoc, AddrInt, AddrLoc, Voice, Fax, Email });

record!(DiscloseRecord of Disclose { flag: bool, fields: Vec<DiscloseFieldRecord> });

record_enum!(TransferStatusRecord of TransferStatus {
    Pending,
    ClientApproved,
    ClientRejected,
    ClientCancelled,
    ServerApproved,
    ServerCancelled,
});

record!(TransferRecord of Transfer {
    status: TransferStatusRecord,
    gaining: ClientId,
    requested: Timestamp,
    losing: ClientId,
    acted: Timestamp,
    years: u32,
    new_expires: Option<Timestamp>,
    fee: Money,
    currency: Option<String>,
});

record!(ContactRecord of Contact {
    id: ContactId,
    roid: Roid,
    registrar: ClientId,
    postal_int: Option<PostalInfoRecord>,
    postal_loc: Option<PostalInfoRecord>,
    voice: Option<PhoneRecord>,
    fax: Option<PhoneRecord>,
    email: String,
    statuses: ContactStatusSet,
    disclose: Option<DiscloseRecord>,
    auth_info_hash: Option<String>,
    link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
    transfer: Option<TransferRecord>,
});

record!(HostRecord of Host {
    name: DomainName,
    roid: Roid,
    registrar: ClientId,
    addrs: Vec<IpAddr>,
    statuses: HostStatusSet,
    superordinate: Option<DomainName>,
    link_count: u32,
    published_link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
});

record_enum!(ContactTypeRecord of ContactType { Admin, Billing, Tech });

record!(DomainContactRecord of DomainContact { kind: ContactTypeRecord, id: ContactId });

record!(DsRecord of DsData { key_tag: u16, algorithm: u8, digest_type: u8, digest: Vec<u8> });

record_enum!(GraceKindRecord of GraceKind { Add, Renew, AutoRenew, Transfer });

record!(GraceRecord of Grace { kind: GraceKindRecord, ends: Timestamp, registrar: ClientId, amount: Money, currency: String, years: u32 });

record!(AccreditationRecord of Accreditation { since: Timestamp, currency: Option<String> });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RgpPhaseRecord {
    Redemption,
    PendingRestore { redemption_ends: Timestamp },
    PendingDelete,
}

impl Stored for RgpPhase {
    type Record = RgpPhaseRecord;
    fn to_record(&self) -> RgpPhaseRecord {
        match *self {
            RgpPhase::Redemption => RgpPhaseRecord::Redemption,
            RgpPhase::PendingRestore { redemption_ends } => RgpPhaseRecord::PendingRestore { redemption_ends },
            RgpPhase::PendingDelete => RgpPhaseRecord::PendingDelete,
        }
    }
    fn from_record(record: RgpPhaseRecord) -> Self {
        match record {
            RgpPhaseRecord::Redemption => RgpPhase::Redemption,
            RgpPhaseRecord::PendingRestore { redemption_ends } => RgpPhase::PendingRestore { redemption_ends },
            RgpPhaseRecord::PendingDelete => RgpPhase::PendingDelete,
        }
    }
}

record!(RgpRecord of Rgp { phase: RgpPhaseRecord, ends: Timestamp });

record!(DomainRecord of Domain {
    name: DomainName,
    roid: Roid,
    tld: DomainName,
    registrar: ClientId,
    registrant: Option<ContactId>,
    contacts: Vec<DomainContactRecord>,
    nameservers: Vec<Roid>,
    ds: Vec<DsRecord>,
    statuses: DomainStatusSet,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    expires: Timestamp,
    transferred: Option<Timestamp>,
    auth_info_hash: Option<String>,
    grace: Vec<GraceRecord>,
    rgp: Option<RgpRecord>,
    transfer: Option<TransferRecord>,
});

record_enum!(ChangeOperationRecord of ChangeOperation {
    Create,
    Delete,
    Renew,
    Transfer,
    Update,
    Restore,
    AutoRenew,
    AutoDelete,
    AutoPurge,
});

/// Variants are appended, never reordered: a stored message keeps its variant number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PollPayloadRecord {
    DomainTransfer {
        name: DomainName,
        transfer: TransferRecord,
    },
    DomainChange {
        domain: Box<DomainRecord>,
        operation: ChangeOperationRecord,
        server_transaction: String,
        who: String,
        reason: Option<String>,
    },
    ContactTransfer {
        id: ContactId,
        transfer: TransferRecord,
    },
    Application(Box<ApplicationRecord>),
}

impl Stored for PollPayload {
    type Record = PollPayloadRecord;
    fn to_record(&self) -> PollPayloadRecord {
        match self {
            PollPayload::DomainTransfer { name, transfer } => {
                PollPayloadRecord::DomainTransfer { name: name.clone(), transfer: transfer.to_record() }
            }
            PollPayload::DomainChange { domain, operation, server_transaction, who, reason } => PollPayloadRecord::DomainChange {
                domain: domain.to_record(),
                operation: operation.to_record(),
                server_transaction: server_transaction.clone(),
                who: who.clone(),
                reason: reason.clone(),
            },
            PollPayload::ContactTransfer { id, transfer } => {
                PollPayloadRecord::ContactTransfer { id: id.clone(), transfer: transfer.to_record() }
            }
            PollPayload::Application(a) => PollPayloadRecord::Application(a.to_record()),
        }
    }
    fn from_record(record: PollPayloadRecord) -> Self {
        match record {
            PollPayloadRecord::DomainTransfer { name, transfer } => {
                PollPayload::DomainTransfer { name, transfer: Stored::from_record(transfer) }
            }
            PollPayloadRecord::DomainChange { domain, operation, server_transaction, who, reason } => PollPayload::DomainChange {
                domain: Stored::from_record(domain),
                operation: Stored::from_record(operation),
                server_transaction,
                who,
                reason,
            },
            PollPayloadRecord::ContactTransfer { id, transfer } => {
                PollPayload::ContactTransfer { id, transfer: Stored::from_record(transfer) }
            }
            PollPayloadRecord::Application(a) => PollPayload::Application(Stored::from_record(a)),
        }
    }
}

record!(PollMessageRecord of PollMessage { id: u64, queued: Timestamp, text: String, payload: PollPayloadRecord });

record!(RrRecord of Rr { owner_key: Vec<u8>, rtype: u16, ttl: u32, rdata: Vec<u8> });

/// A change log entry's object (`ObjectRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectRefRecord {
    Registrar(ClientId),
    Contact(ContactId),
    Host(Roid),
    Domain(DomainName),
    Reserved(DomainName),
}

impl Stored for crate::model::change::ObjectRef {
    type Record = ObjectRefRecord;
    fn to_record(&self) -> ObjectRefRecord {
        use crate::model::change::ObjectRef as O;
        match self {
            O::Registrar(id) => ObjectRefRecord::Registrar(id.clone()),
            O::Contact(id) => ObjectRefRecord::Contact(id.clone()),
            O::Host(roid) => ObjectRefRecord::Host(roid.clone()),
            O::Domain(name) => ObjectRefRecord::Domain(name.clone()),
            O::Reserved(name) => ObjectRefRecord::Reserved(name.clone()),
        }
    }
    fn from_record(record: ObjectRefRecord) -> Self {
        use crate::model::change::ObjectRef as O;
        match record {
            ObjectRefRecord::Registrar(id) => O::Registrar(id),
            ObjectRefRecord::Contact(id) => O::Contact(id),
            ObjectRefRecord::Host(roid) => O::Host(roid),
            ObjectRefRecord::Domain(name) => O::Domain(name),
            ObjectRefRecord::Reserved(name) => O::Reserved(name),
        }
    }
}

record!(ChangeRecord of crate::model::change::Change { at: Timestamp, object: ObjectRefRecord });

/// A transaction record's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionFieldRecord {
    NetAdds(u8),
    NetRenews(u8),
    TransferGainingSuccessful,
    TransferGainingNacked,
    TransferLosingSuccessful,
    TransferLosingNacked,
    DeletedGrace,
    DeletedNoGrace,
    RestoredDomains,
    RestoredNoReport,
}

impl Stored for crate::model::report::TransactionField {
    type Record = TransactionFieldRecord;
    fn to_record(&self) -> TransactionFieldRecord {
        use crate::model::report::TransactionField as F;
        use TransactionFieldRecord as R;
        match *self {
            F::NetAdds(y) => R::NetAdds(y),
            F::NetRenews(y) => R::NetRenews(y),
            F::TransferGainingSuccessful => R::TransferGainingSuccessful,
            F::TransferGainingNacked => R::TransferGainingNacked,
            F::TransferLosingSuccessful => R::TransferLosingSuccessful,
            F::TransferLosingNacked => R::TransferLosingNacked,
            F::DeletedGrace => R::DeletedGrace,
            F::DeletedNoGrace => R::DeletedNoGrace,
            F::RestoredDomains => R::RestoredDomains,
            F::RestoredNoReport => R::RestoredNoReport,
        }
    }
    fn from_record(record: TransactionFieldRecord) -> Self {
        use crate::model::report::TransactionField as F;
        use TransactionFieldRecord as R;
        match record {
            R::NetAdds(y) => F::NetAdds(y),
            R::NetRenews(y) => F::NetRenews(y),
            R::TransferGainingSuccessful => F::TransferGainingSuccessful,
            R::TransferGainingNacked => F::TransferGainingNacked,
            R::TransferLosingSuccessful => F::TransferLosingSuccessful,
            R::TransferLosingNacked => F::TransferLosingNacked,
            R::DeletedGrace => F::DeletedGrace,
            R::DeletedNoGrace => F::DeletedNoGrace,
            R::RestoredDomains => F::RestoredDomains,
            R::RestoredNoReport => F::RestoredNoReport,
        }
    }
}

record!(TransactionRecordRecord of crate::model::report::TransactionRecord {
    tld: DomainName,
    reported_at: Timestamp,
    registrar: ClientId,
    domain: DomainName,
    field: TransactionFieldRecord,
    amount: i64,
    at: Timestamp,
});

use crate::model::reserved::NameState;
record_enum!(NameStateRecord of NameState { Withheld, Blocked });

record!(ReservedNameRecord of crate::model::reserved::ReservedName {
    name: DomainName,
    tld: DomainName,
    state: NameStateRecord,
    reason: String,
    list: String,
    created: Timestamp,
});

record!(PremiumPricesRecord of crate::model::lifecycle::PremiumPrices { create: Money, renew: Money, transfer: Money });

record!(PremiumNameRecord of crate::model::premium::PremiumName {
    name: DomainName,
    tld: DomainName,
    class: String,
    prices: PremiumPricesRecord,
});

use crate::model::idn::VariantPolicy;
record_enum!(VariantPolicyRecord of VariantPolicy { Blocked, SameRegistrar });

record!(IdnTableRecord of crate::model::idn::IdnTable {
    tld: DomainName,
    id: String,
    repertoire: Vec<(u32, u32)>,
    variants: Vec<(u32, u32)>,
    policy: VariantPolicyRecord,
    idn_only: bool,
    url: Option<String>,
    url_policy: Option<String>,
});

use crate::model::phase::{FeeCommand, PhaseKind};
record_enum!(PhaseKindRecord of PhaseKind { Landrush, Open, Closed, Custom, Sunrise, Claims });
record_enum!(FeeCommandRecord of FeeCommand { Create, Renew, Restore });

record!(NamedFeeRecord of crate::model::phase::NamedFee { command: FeeCommandRecord, description: String, amount: Money, refundable: bool });

record!(PhaseTermsRecord of crate::model::phase::PhaseTerms {
    applications: bool,
    daily_create_prices: Vec<Money>,
    claims: bool,
    label_lengths: Option<(u8, u8)>,
    renew_price: Option<Money>,
    transfer_price: Option<Money>,
    restore_price: Option<Money>,
    add_grace_s: Option<i64>,
    years_max: Option<u32>,
    transfer_lock_days: Option<u32>,
    fees: Vec<NamedFeeRecord>,
});

record!(PhaseRecord of crate::model::phase::Phase {
    tld: DomainName,
    kind: PhaseKindRecord,
    name: Option<String>,
    starts: Timestamp,
    ends: Option<Timestamp>,
    create_price: Option<Money>,
    terms: PhaseTermsRecord,
});

use crate::model::application::ApplicationStatus;
record_enum!(ApplicationStatusRecord of ApplicationStatus { Validated, PendingAllocation, Allocated, Rejected });

record!(ApplicationRecord of crate::model::application::Application {
    id: String,
    tld: DomainName,
    name: DomainName,
    phase: PhaseKindRecord,
    phase_name: Option<String>,
    phase_starts: Timestamp,
    registrar: ClientId,
    created: Timestamp,
    updated: Option<Timestamp>,
    status: ApplicationStatusRecord,
    period_years: u32,
    registrant: Option<ContactId>,
    contacts: Vec<DomainContactRecord>,
    nameservers: Vec<DomainName>,
    ds: Vec<DsRecord>,
    auth_info_hash: Option<String>,
    fee: Money,
    refundable: Money,
    currency: String,
    lordn_id: Option<String>,
    notice_accepted: Option<Timestamp>,
});

record!(TmchTrustRecord of crate::model::tmch::TmchTrust { ca_pem: String, crl_pem: Option<String>, loaded: Timestamp });

record!(ClaimsLabelRecord of crate::model::tmch::ClaimsLabel { label: String, claim_key: String, inserted: Timestamp });

record!(RevokedMarkRecord of crate::model::tmch::RevokedMark { smd_id: String, revoked: Timestamp });

record!(IanaRegistrarRecord of crate::model::iana::IanaRegistrar { id: u32, name: String, status: String, rdap_base_url: Option<String> });

record!(LaunchRegistrationRecord of crate::model::tmch::LaunchRegistration {
    tld: DomainName,
    domain: DomainName,
    roid: Roid,
    registrar: ClientId,
    created: Timestamp,
    sunrise: bool,
    id: String,
    accepted: Option<Timestamp>,
});

record!(LedgerEntryRecord of crate::model::ledger::LedgerEntry {
    registrar: ClientId,
    seq: u64,
    at: Timestamp,
    amount: Money,
    balance: Money,
    currency: String,
    reason: String,
    domain: Option<DomainName>,
});

record!(AllocationTokenRecord of crate::model::token::AllocationToken {
    token: String,
    tld: DomainName,
    name: Option<DomainName>,
    registrar: Option<ClientId>,
    uses_max: u32,
    uses: u32,
    create_price: Option<Money>,
    expires: Option<Timestamp>,
    revoked: bool,
    created: Timestamp,
});

record!(EscrowCursorRecord of crate::model::change::EscrowCursor {
    id: String,
    kind: String,
    watermark: Timestamp,
    last_change: u64,
    full_watermark: Timestamp,
});
