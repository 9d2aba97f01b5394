//! Explicit schema upgrades, run once in the transaction that opens an older
//! database. Each step reads frozen copies of the old record layouts and
//! writes the current ones ([`super::record`]), never live model types; the fixture test in
//! `tests/it/migration.rs` opens a real v1 database.
//!
//! v1 → v2: TLDs gain a registration policy (periods, prices, contact
//! rules), registrars a balance and credit limit, domains their grace
//! periods, RGP state and transfer record, contacts their transfer record.
//!
//! v2 → v3: the length of each registrar's poll queue is kept in `meta`.
//!
//! v3 → v4: status sets are stored as the list of their RFC names instead of
//! bits in the order the variants happened to be declared; domains, hosts,
//! contacts and poll messages (which carry domains) are rewritten.
//!
//! v4 → v5: a TLD's zone policy gains its glue address policy (private and
//! documentation ranges), given the defaults.
//!
//! v5 → v6: zones can be signed: the `dnssec` and `nsec3` tables (created
//! empty when the store opens), and RRSIG sets in zone rows. No stored value
//! changes, but a build of schema 5 must not serve a signed zone's rows.
//!
//! v6 → v7: zone keys have a role and a timeline (active, retired, DS seen
//! at the parent) and zones the timings of their rollovers. A key of schema
//! 6 signed everything: it becomes a combined key (or a ZSK, if it lacked
//! the SEP flag), active since it was made.
//!
//! v10 → v11: a registrar has an account per currency; its one balance
//! moves to the account in the currency most TLDs price in.
//!
//! v11 → v12: a launch phase holds its terms in its record (prices and
//! policy of its own, named fees); the daily prices, claims mark and label
//! lengths that `meta` kept beside it move in.
//!
//! v12 → v13: money held for a refund names its currency: grace periods
//! and transfers keep the account they were paid from (until now always
//! the TLD's currency); a TLD may take other currencies at exchange rates
//! and price whole periods (none yet); an accreditation names the currency its registrar pays in
//! (none: the TLD's).

use redb::{ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::record::{
    AccountRecord, AccreditationRecord, ApplicationRecord, ChangeOperationRecord, ContactPolicyRecord, ContactRecord, DenialRecord,
    DiscloseRecord, DomainContactRecord, DomainRecord, DsRecord, GluePolicyRecord, GraceKindRecord, GraceRecord, HostRecord, KeyRoleRecord,
    LedgerEntryRecord, PhaseKindRecord, PhaseRecord, PhaseTermsRecord, PhoneRecord, PollMessageRecord, PollPayloadRecord,
    PostalAddressRecord, PostalInfoRecord, RegistrarRecord, RegistrarStatusRecord, RegistrationRecord, RgpRecord, SoaRecord, Stored,
    TldPolicyRecord, TldRecord, TransferRecord, TransferStatusRecord, ZoneKeyRecord, ZoneSigningRecord,
};
use super::{CONTACTS, DNSSEC, DOMAINS, HOSTS, LEDGER, PHASES, POLL, REGISTRARS, StoreError, TLDS, codec};
use crate::model::dnssec::{DNSKEY_SEP, Denial, ZoneSigning};
use crate::model::net::AddressPolicy;
use crate::model::{
    ClientId, ContactId, ContactStatus, ContactStatusSet, DomainName, DomainStatus, DomainStatusSet, HostStatus, HostStatusSet, IpPrefix,
    Money, RegistrationPolicy, Roid, Timestamp,
};

/// Status sets up to schema 3: bit `i` is the `i`-th name below (the
/// declaration order of the variants when those schemas were written).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct StatusBits(u32);

const DOMAIN_STATUS_BITS: [&str; 17] = [
    "clientDeleteProhibited",
    "clientHold",
    "clientRenewProhibited",
    "clientTransferProhibited",
    "clientUpdateProhibited",
    "inactive",
    "ok",
    "pendingCreate",
    "pendingDelete",
    "pendingRenew",
    "pendingTransfer",
    "pendingUpdate",
    "serverDeleteProhibited",
    "serverHold",
    "serverRenewProhibited",
    "serverTransferProhibited",
    "serverUpdateProhibited",
];
const HOST_STATUS_BITS: [&str; 10] = [
    "clientDeleteProhibited",
    "clientUpdateProhibited",
    "linked",
    "ok",
    "pendingCreate",
    "pendingDelete",
    "pendingTransfer",
    "pendingUpdate",
    "serverDeleteProhibited",
    "serverUpdateProhibited",
];
const CONTACT_STATUS_BITS: [&str; 12] = [
    "clientDeleteProhibited",
    "clientTransferProhibited",
    "clientUpdateProhibited",
    "linked",
    "ok",
    "pendingCreate",
    "pendingDelete",
    "pendingTransfer",
    "pendingUpdate",
    "serverDeleteProhibited",
    "serverTransferProhibited",
    "serverUpdateProhibited",
];

impl StatusBits {
    fn statuses<S>(self, names: &[&str], parse: impl Fn(&str) -> Option<S>) -> Result<Vec<S>, StoreError> {
        (0..32)
            .filter(|bit| self.0 & (1 << bit) != 0)
            .map(|bit| names.get(bit).and_then(|n| parse(n)).ok_or_else(|| StoreError::Corrupt(format!("status bit {bit}"))))
            .collect()
    }
    fn domain(self) -> Result<DomainStatusSet, StoreError> {
        Ok(self.statuses(&DOMAIN_STATUS_BITS, |n| DomainStatus::parse(n).ok())?.into())
    }
    fn host(self) -> Result<HostStatusSet, StoreError> {
        Ok(self.statuses(&HOST_STATUS_BITS, |n| HostStatus::parse(n).ok())?.into())
    }
    fn contact(self) -> Result<ContactStatusSet, StoreError> {
        Ok(self.statuses(&CONTACT_STATUS_BITS, |n| ContactStatus::parse(n).ok())?.into())
    }
}

#[derive(Deserialize)]
struct TldV1 {
    name: DomainName,
    policy: TldPolicyV4,
    serial: u32,
    created: Timestamp,
    updated: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RegistrarV1 {
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
}

/// A registrar of schemas 2 to 10: that of schema 1, then one balance in
/// no stated currency (postcard writes a nested struct's fields in line,
/// so this is the flat layout those schemas stored).
#[derive(Serialize, Deserialize)]
struct RegistrarV10 {
    v1: RegistrarV1,
    balance: Money,
    credit_limit: Money,
}

/// A ledger entry of schema 10, in no stated currency.
#[derive(Deserialize)]
struct LedgerEntryV10 {
    registrar: ClientId,
    seq: u64,
    at: Timestamp,
    amount: Money,
    balance: Money,
    reason: String,
    domain: Option<DomainName>,
}

#[derive(Deserialize)]
struct ContactV1 {
    id: ContactId,
    roid: Roid,
    registrar: ClientId,
    postal_int: Option<PostalInfoRecord>,
    postal_loc: Option<PostalInfoRecord>,
    voice: Option<PhoneRecord>,
    fax: Option<PhoneRecord>,
    email: String,
    statuses: StatusBits,
    disclose: Option<DiscloseRecord>,
    auth_info_hash: Option<String>,
    link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
}

#[derive(Deserialize)]
struct DomainV1 {
    name: DomainName,
    roid: Roid,
    tld: DomainName,
    registrar: ClientId,
    registrant: Option<ContactId>,
    contacts: Vec<DomainContactRecord>,
    nameservers: Vec<Roid>,
    ds: Vec<DsRecord>,
    statuses: StatusBits,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    expires: Timestamp,
    transferred: Option<Timestamp>,
    auth_info_hash: Option<String>,
}

/// The contact layout of schemas 2 and 3.
#[derive(Serialize, Deserialize)]
struct ContactV3 {
    id: ContactId,
    roid: Roid,
    registrar: ClientId,
    postal_int: Option<PostalInfoRecord>,
    postal_loc: Option<PostalInfoRecord>,
    voice: Option<PhoneRecord>,
    fax: Option<PhoneRecord>,
    email: String,
    statuses: StatusBits,
    disclose: Option<DiscloseRecord>,
    auth_info_hash: Option<String>,
    link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
    transfer: Option<TransferV12>,
}

/// The domain layout of schemas 2 and 3.
#[derive(Serialize, Deserialize)]
struct DomainV3 {
    name: DomainName,
    roid: Roid,
    tld: DomainName,
    registrar: ClientId,
    registrant: Option<ContactId>,
    contacts: Vec<DomainContactRecord>,
    nameservers: Vec<Roid>,
    ds: Vec<DsRecord>,
    statuses: StatusBits,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    expires: Timestamp,
    transferred: Option<Timestamp>,
    auth_info_hash: Option<String>,
    grace: Vec<GraceV12>,
    rgp: Option<RgpRecord>,
    transfer: Option<TransferV12>,
}

/// The host layout of schemas 1 to 3.
#[derive(Deserialize)]
struct HostV3 {
    name: DomainName,
    roid: Roid,
    registrar: ClientId,
    addrs: Vec<std::net::IpAddr>,
    statuses: StatusBits,
    superordinate: Option<DomainName>,
    link_count: u32,
    published_link_count: u32,
    created: Timestamp,
    cr_registrar: ClientId,
    updated: Option<Timestamp>,
    up_registrar: Option<ClientId>,
    transferred: Option<Timestamp>,
}

/// The poll message layout of schemas 2 and 3 (a domain change carries a domain).
#[derive(Deserialize)]
struct PollMessageV3 {
    id: u64,
    queued: Timestamp,
    text: String,
    payload: PollPayloadV3,
}

#[derive(Deserialize)]
enum PollPayloadV3 {
    DomainTransfer {
        name: DomainName,
        transfer: TransferV12,
    },
    DomainChange {
        domain: Box<DomainV3>,
        operation: ChangeOperationRecord,
        server_transaction: String,
        who: String,
        reason: Option<String>,
    },
    ContactTransfer {
        id: ContactId,
        transfer: TransferV12,
    },
}

impl DomainV3 {
    fn upgrade(self) -> Result<DomainV12, StoreError> {
        Ok(DomainV12 {
            name: self.name,
            roid: self.roid,
            tld: self.tld,
            registrar: self.registrar,
            registrant: self.registrant,
            contacts: self.contacts,
            nameservers: self.nameservers,
            ds: self.ds,
            statuses: self.statuses.domain()?,
            created: self.created,
            cr_registrar: self.cr_registrar,
            updated: self.updated,
            up_registrar: self.up_registrar,
            expires: self.expires,
            transferred: self.transferred,
            auth_info_hash: self.auth_info_hash,
            grace: self.grace,
            rgp: self.rgp,
            transfer: self.transfer,
        })
    }
}

/// The zone policy layout of schemas 1 to 4.
#[derive(Serialize, Deserialize)]
struct TldPolicyV4 {
    soa: SoaRecord,
    nameservers: Vec<DomainName>,
    apex_ns_ttl_s: u32,
    delegation_ttl_s: u32,
    ds_ttl_s: u32,
    glue_ttl_s: u32,
    glue_policy: GluePolicyRecord,
}

/// The TLD layout of schemas 2 to 4.
#[derive(Serialize, Deserialize)]
struct TldV4 {
    name: DomainName,
    policy: TldPolicyV4,
    registration: RegistrationV12,
    serial: u32,
    created: Timestamp,
    updated: Timestamp,
}

/// v4 → v5: every TLD gets the default glue address policy.
pub(super) fn v4_to_v5(txn: &WriteTransaction) -> Result<String, StoreError> {
    let tlds = rewrite(txn, TLDS, "tld (v4)", |t: TldV4| {
        let p = t.policy;
        let policy = TldPolicyRecord {
            soa: p.soa,
            nameservers: p.nameservers,
            apex_ns_ttl_s: p.apex_ns_ttl_s,
            delegation_ttl_s: p.delegation_ttl_s,
            ds_ttl_s: p.ds_ttl_s,
            glue_ttl_s: p.glue_ttl_s,
            glue_policy: p.glue_policy,
            glue_addresses: AddressPolicy::default().to_record(),
        };
        Ok(TldV12 { name: t.name, policy, registration: t.registration, serial: t.serial, created: t.created, updated: t.updated })
    })?;
    Ok(format!("schema 4 to 5: {tlds} TLDs given the default glue address policy (private ranges refused, documentation ranges allowed)"))
}

/// v5 → v6: nothing to rewrite; the signing tables are created empty.
pub(super) fn v8_to_v9() -> String {
    "schema 8 to 9: the change log added (it records changes from now on; a DIFF escrow deposit needs a deposit made after it)".into()
}

pub(super) fn v9_to_v10(txn: &WriteTransaction) -> Result<String, StoreError> {
    // Registrars could act on every TLD: each stays accredited for each.
    let tlds: Vec<String> =
        txn.open_table(super::TLDS)?.iter()?.map(|i| i.map(|(k, _)| k.value().to_string())).collect::<Result<_, _>>()?;
    let registrars: Vec<String> =
        txn.open_table(super::REGISTRARS)?.iter()?.map(|i| i.map(|(k, _)| k.value().to_string())).collect::<Result<_, _>>()?;
    let mut table = txn.open_table(ACCREDITATIONS_V12)?;
    for tld in &tlds {
        for registrar in &registrars {
            table.insert(super::accreditation_key(tld, registrar).as_slice(), 0)?;
        }
    }
    Ok(format!(
        "schema 9 to 10: transaction records for the monthly reports (written from now on), reserved and premium names, and accreditations ({} registrars accredited for each of {} TLDs)",
        registrars.len(),
        tlds.len()
    ))
}

/// v10 → v11: a registrar's one balance becomes its account in the
/// currency most TLDs price in (USD without TLDs), its history entries
/// that account's; other currencies open empty accounts as they are used.
pub(super) fn v10_to_v11(txn: &WriteTransaction) -> Result<String, StoreError> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for item in txn.open_table(TLDS)?.iter()? {
        let (_, v) = item?;
        let tld: TldV12 = codec::decode_record(v.value(), "tld (v10)")?;
        *counts.entry(tld.registration.currency).or_default() += 1;
    }
    // The most common; of equally common ones, the first in code order.
    let currency = counts.iter().rev().max_by_key(|(_, n)| **n).map_or_else(|| "USD".to_string(), |(c, _)| c.clone());
    let registrars = rewrite(txn, REGISTRARS, "registrar (v10)", |r: RegistrarV10| {
        let accounts = if r.balance.0 == 0 && r.credit_limit.0 == 0 {
            Vec::new()
        } else {
            vec![AccountRecord { currency: currency.clone(), balance: r.balance, credit_limit: r.credit_limit }]
        };
        Ok(r.v1.with_accounts(accounts))
    })?;
    let entries = rewrite_keyed_by_bytes(txn, LEDGER, "ledger entry (v10)", |e: LedgerEntryV10| {
        Ok(LedgerEntryRecord {
            registrar: e.registrar,
            seq: e.seq,
            at: e.at,
            amount: e.amount,
            balance: e.balance,
            currency: currency.clone(),
            reason: e.reason,
            domain: e.domain,
        })
    })?;
    Ok(format!("schema 10 to 11: the balances of {registrars} registrars and {entries} account history entries are now in {currency}"))
}

/// A launch phase as schema 11 stored it, its terms in `meta` beside it.
#[derive(Serialize, Deserialize)]
struct PhaseV11 {
    tld: DomainName,
    kind: PhaseKindRecord,
    name: Option<String>,
    starts: Timestamp,
    ends: Option<Timestamp>,
    create_price: Option<Money>,
}

/// v11 → v12: each phase takes in the terms `meta` kept for it under
/// `phase_daily:`, `phase_claims:` and `phase_labels:` (TLD, start in ms),
/// which are removed.
pub(super) fn v11_to_v12(txn: &WriteTransaction, meta: &mut Table<&'static str, &'static [u8]>) -> Result<String, StoreError> {
    let mut phases = txn.open_table(PHASES)?;
    let mut rows = Vec::new();
    for item in phases.iter()? {
        let (k, v) = item?;
        rows.push((k.value().to_vec(), codec::decode_record::<PhaseV11>(v.value(), "phase (v11)")?));
    }
    let key = |prefix: &str, p: &PhaseV11| format!("{prefix}:{}:{}", p.tld.as_str(), p.starts.0);
    for (k, p) in &rows {
        let daily_create_prices = match meta.get(key("phase_daily", p).as_str())? {
            Some(v) => codec::decode_record::<Vec<Money>>(v.value(), "daily prices (v11)")?,
            None => Vec::new(),
        };
        let claims = meta.get(key("phase_claims", p).as_str())?.is_some();
        let label_lengths = match meta.get(key("phase_labels", p).as_str())?.as_ref().map(|v| v.value().to_vec()).as_deref() {
            Some(&[min, max]) => Some((min, max)),
            _ => None,
        };
        let terms = PhaseTermsRecord {
            applications: false,
            daily_create_prices,
            claims,
            label_lengths,
            renew_price: None,
            transfer_price: None,
            restore_price: None,
            add_grace_s: None,
            years_max: None,
            transfer_lock_days: None,
            fees: Vec::new(),
        };
        let record = PhaseRecord {
            tld: p.tld.clone(),
            kind: p.kind,
            name: p.name.clone(),
            starts: p.starts,
            ends: p.ends,
            create_price: p.create_price,
            terms,
        };
        phases.insert(k.as_slice(), codec::encode_record(&record).as_slice())?;
    }
    let mut old_keys = Vec::new();
    for item in meta.iter()? {
        let (k, _) = item?;
        if ["phase_daily:", "phase_claims:", "phase_labels:"].iter().any(|prefix| k.value().starts_with(prefix)) {
            old_keys.push(k.value().to_string());
        }
    }
    for k in &old_keys {
        meta.remove(k.as_str())?;
    }
    Ok(format!("schema 11 to 12: {} launch phases hold their terms ({} entries moved out of meta)", rows.len(), old_keys.len()))
}

pub(super) fn v5_to_v6() -> String {
    "schema 5 to 6: tables for signed zones added (no zone is signed yet)".into()
}

/// A zone key as schema 6 stored it.
#[derive(Serialize, Deserialize)]
struct ZoneKeyV6 {
    flags: u16,
    algorithm: u8,
    public_key: Vec<u8>,
    created: Timestamp,
}

/// A zone's signing as schema 6 stored it.
#[derive(Serialize, Deserialize)]
struct ZoneSigningV6 {
    denial: DenialRecord,
    keys: Vec<ZoneKeyV6>,
    signature_validity_s: u32,
    inception_offset_s: u32,
    signature_refresh_s: u32,
    signature_jitter_s: u32,
    dnskey_ttl_s: u32,
}

/// A zone key as schema 7 stored it.
#[derive(Serialize, Deserialize)]
struct ZoneKeyV7 {
    flags: u16,
    algorithm: u8,
    public_key: Vec<u8>,
    created: Timestamp,
    role: KeyRoleRecord,
    active_from: Option<Timestamp>,
    retired: Option<Timestamp>,
    ds_seen: Option<Timestamp>,
}

/// A zone's signing as schema 7 stored it.
#[derive(Serialize, Deserialize)]
struct ZoneSigningV7 {
    denial: DenialRecord,
    keys: Vec<ZoneKeyV7>,
    signature_validity_s: u32,
    inception_offset_s: u32,
    signature_refresh_s: u32,
    signature_jitter_s: u32,
    dnskey_ttl_s: u32,
    zsk_lifetime_s: u32,
    ksk_lifetime_s: u32,
    propagation_delay_s: u32,
    parent_ds_ttl_s: u32,
}

fn zone_signing_v6_to_v7(old: ZoneSigningV6) -> ZoneSigningV7 {
    let defaults = ZoneSigning::new(Denial::Nsec3, Vec::new());
    let keys = old
        .keys
        .into_iter()
        .map(|k| ZoneKeyV7 {
            role: if k.flags & DNSKEY_SEP != 0 { KeyRoleRecord::Csk } else { KeyRoleRecord::Zsk },
            active_from: Some(k.created),
            retired: None,
            ds_seen: None,
            flags: k.flags,
            algorithm: k.algorithm,
            public_key: k.public_key,
            created: k.created,
        })
        .collect();
    ZoneSigningV7 {
        denial: old.denial,
        keys,
        signature_validity_s: old.signature_validity_s,
        inception_offset_s: old.inception_offset_s,
        signature_refresh_s: old.signature_refresh_s,
        signature_jitter_s: old.signature_jitter_s,
        dnskey_ttl_s: old.dnskey_ttl_s,
        zsk_lifetime_s: defaults.zsk_lifetime_s,
        ksk_lifetime_s: defaults.ksk_lifetime_s,
        propagation_delay_s: defaults.propagation_delay_s,
        parent_ds_ttl_s: defaults.parent_ds_ttl_s,
    }
}

/// v6 → v7: every signed zone's keys get their role and timeline.
pub(super) fn v6_to_v7(txn: &WriteTransaction) -> Result<String, StoreError> {
    let zones = rewrite(txn, DNSSEC, "zone signing (v6)", |old: ZoneSigningV6| Ok(zone_signing_v6_to_v7(old)))?;
    Ok(format!("schema 6 to 7: the keys of {zones} signed zones given roles and a timeline (each a combined key, active since made)"))
}

fn zone_signing_v7_to_v8(old: ZoneSigningV7) -> ZoneSigningRecord {
    let keys = old
        .keys
        .into_iter()
        .map(|k| ZoneKeyRecord {
            flags: k.flags,
            algorithm: k.algorithm,
            public_key: k.public_key,
            created: k.created,
            published: Some(k.created),
            role: k.role,
            active_from: k.active_from,
            retired: k.retired,
            ds_seen: k.ds_seen,
        })
        .collect();
    ZoneSigningRecord {
        denial: old.denial,
        keys,
        signature_validity_s: old.signature_validity_s,
        inception_offset_s: old.inception_offset_s,
        signature_refresh_s: old.signature_refresh_s,
        signature_jitter_s: old.signature_jitter_s,
        dnskey_ttl_s: old.dnskey_ttl_s,
        zsk_lifetime_s: old.zsk_lifetime_s,
        ksk_lifetime_s: old.ksk_lifetime_s,
        propagation_delay_s: old.propagation_delay_s,
        parent_ds_ttl_s: old.parent_ds_ttl_s,
        parent_servers: Vec::new(),
        ds_check_interval_s: ZoneSigning::new(Denial::Nsec3, Vec::new()).ds_check_interval_s,
        cds_scan_interval_s: 0,
    }
}

/// v7 → v8: every key was published when it was made (a key may now sign
/// before its publication), no parent servers are watched for a new DS,
/// and a zone may deny existence with NSEC, which a schema-7 build could
/// not read.
pub(super) fn v7_to_v8(txn: &WriteTransaction) -> Result<String, StoreError> {
    let zones = rewrite(txn, DNSSEC, "zone signing (v7)", |old: ZoneSigningV7| Ok(zone_signing_v7_to_v8(old)))?;
    Ok(format!("schema 7 to 8: the keys of {zones} signed zones marked published since made; NSEC added as a way to deny existence"))
}

/// Rewrites every record whose layout changed from v1 to v2, and says how many.
pub(super) fn v1_to_v2(txn: &WriteTransaction) -> Result<String, StoreError> {
    let tlds = rewrite(txn, TLDS, "tld", |t: TldV1| {
        Ok(TldV4 {
            name: t.name,
            policy: t.policy,
            registration: RegistrationV12::from_current(RegistrationPolicy::default().to_record()),
            serial: t.serial,
            created: t.created,
            updated: t.updated,
        })
    })?;
    let registrars = rewrite(txn, REGISTRARS, "registrar", |r: RegistrarV1| Ok(r.upgrade()))?;
    let contacts = rewrite(txn, CONTACTS, "contact", |c: ContactV1| Ok(c.upgrade()))?;
    let domains = rewrite_keyed_by_bytes(txn, DOMAINS, "domain (v1)", |d: DomainV1| Ok(d.upgrade()))?;
    Ok(format!(
        "schema 1 to 2: {tlds} TLDs given the default registration policy, {registrars} registrars a zero balance, \
         {contacts} contacts and {domains} domains an empty transfer record"
    ))
}

impl RegistrarV1 {
    /// Schema 2 gave registrars a balance and a credit limit, both zero.
    fn upgrade(self) -> RegistrarV10 {
        RegistrarV10 { v1: self, balance: Money(0), credit_limit: Money(0) }
    }

    /// The current record of this registrar, with `accounts`.
    fn with_accounts(self, accounts: Vec<AccountRecord>) -> RegistrarRecord {
        let r = self;
        RegistrarRecord {
            id: r.id,
            name: r.name,
            iana_id: r.iana_id,
            status: r.status,
            email: r.email,
            phone: r.phone,
            fax: r.fax,
            url: r.url,
            whois_server: r.whois_server,
            rdap_base_url: r.rdap_base_url,
            address: r.address,
            abuse_email: r.abuse_email,
            abuse_phone: r.abuse_phone,
            password_hash: r.password_hash,
            cert_fingerprints: r.cert_fingerprints,
            allowed_addresses: r.allowed_addresses,
            created: r.created,
            updated: r.updated,
            accounts,
        }
    }
}

impl ContactV1 {
    /// Schema 2 gave contacts their latest transfer, none yet.
    fn upgrade(self) -> ContactV3 {
        let c = self;
        ContactV3 {
            id: c.id,
            roid: c.roid,
            registrar: c.registrar,
            postal_int: c.postal_int,
            postal_loc: c.postal_loc,
            voice: c.voice,
            fax: c.fax,
            email: c.email,
            statuses: c.statuses,
            disclose: c.disclose,
            auth_info_hash: c.auth_info_hash,
            link_count: c.link_count,
            created: c.created,
            cr_registrar: c.cr_registrar,
            updated: c.updated,
            up_registrar: c.up_registrar,
            transferred: c.transferred,
            transfer: None,
        }
    }
}

impl DomainV1 {
    /// Schema 2 gave domains their grace periods, RGP state and latest transfer, none yet.
    fn upgrade(self) -> DomainV3 {
        let d = self;
        DomainV3 {
            name: d.name,
            roid: d.roid,
            tld: d.tld,
            registrar: d.registrar,
            registrant: d.registrant,
            contacts: d.contacts,
            nameservers: d.nameservers,
            ds: d.ds,
            statuses: d.statuses,
            created: d.created,
            cr_registrar: d.cr_registrar,
            updated: d.updated,
            up_registrar: d.up_registrar,
            expires: d.expires,
            transferred: d.transferred,
            auth_info_hash: d.auth_info_hash,
            grace: Vec::new(),
            rgp: None,
            transfer: None,
        }
    }
}

/// Accreditations up to schema 12: since when, in Unix milliseconds.
const ACCREDITATIONS_V12: redb::TableDefinition<&[u8], u64> = redb::TableDefinition::new("accreditations");

/// The grace period layout of schemas 2 to 12, paid in the TLD's currency.
#[derive(Serialize, Deserialize)]
struct GraceV12 {
    kind: GraceKindRecord,
    ends: Timestamp,
    registrar: ClientId,
    amount: Money,
    years: u32,
}

/// The transfer layout of schemas 2 to 12, a fee in the TLD's currency.
#[derive(Serialize, Deserialize)]
struct TransferV12 {
    status: TransferStatusRecord,
    gaining: ClientId,
    requested: Timestamp,
    losing: ClientId,
    acted: Timestamp,
    years: u32,
    new_expires: Option<Timestamp>,
    fee: Money,
}

/// The domain layout of schemas 4 to 12.
#[derive(Serialize, Deserialize)]
struct DomainV12 {
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
    grace: Vec<GraceV12>,
    rgp: Option<RgpRecord>,
    transfer: Option<TransferV12>,
}

/// The contact layout of schemas 4 to 12.
#[derive(Serialize, Deserialize)]
struct ContactV12 {
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
    transfer: Option<TransferV12>,
}

/// The poll message layout of schemas 4 to 12.
#[derive(Serialize, Deserialize)]
struct PollMessageV12 {
    id: u64,
    queued: Timestamp,
    text: String,
    payload: PollPayloadV12,
}

#[derive(Serialize, Deserialize)]
enum PollPayloadV12 {
    DomainTransfer {
        name: DomainName,
        transfer: TransferV12,
    },
    DomainChange {
        domain: Box<DomainV12>,
        operation: ChangeOperationRecord,
        server_transaction: String,
        who: String,
        reason: Option<String>,
    },
    ContactTransfer {
        id: ContactId,
        transfer: TransferV12,
    },
    Application(Box<ApplicationRecord>),
}

/// The registration policy layout of schemas 2 to 12: one currency.
#[derive(Serialize, Deserialize)]
struct RegistrationV12 {
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
    create_price: Money,
    renew_price: Money,
    transfer_price: Money,
    restore_price: Money,
    contacts: ContactPolicyRecord,
}

/// The TLD layout of schemas 5 to 12.
#[derive(Serialize, Deserialize)]
struct TldV12 {
    name: DomainName,
    policy: TldPolicyRecord,
    registration: RegistrationV12,
    serial: u32,
    created: Timestamp,
    updated: Timestamp,
}

impl RegistrationV12 {
    /// The layout of `r` as schemas 2 to 12 stored it (for the defaults schema 2 gave).
    fn from_current(r: RegistrationRecord) -> RegistrationV12 {
        RegistrationV12 {
            add_grace_s: r.add_grace_s,
            renew_grace_s: r.renew_grace_s,
            auto_renew_grace_s: r.auto_renew_grace_s,
            transfer_grace_s: r.transfer_grace_s,
            transfer_pending_s: r.transfer_pending_s,
            redemption_s: r.redemption_s,
            pending_delete_s: r.pending_delete_s,
            pending_restore_s: r.pending_restore_s,
            years_max: r.years_max,
            transfer_lock_days: r.transfer_lock_days,
            currency: r.currency,
            create_price: r.create_price,
            renew_price: r.renew_price,
            transfer_price: r.transfer_price,
            restore_price: r.restore_price,
            contacts: r.contacts,
        }
    }

    fn upgrade(self) -> RegistrationRecord {
        let r = self;
        RegistrationRecord {
            add_grace_s: r.add_grace_s,
            renew_grace_s: r.renew_grace_s,
            auto_renew_grace_s: r.auto_renew_grace_s,
            transfer_grace_s: r.transfer_grace_s,
            transfer_pending_s: r.transfer_pending_s,
            redemption_s: r.redemption_s,
            pending_delete_s: r.pending_delete_s,
            pending_restore_s: r.pending_restore_s,
            years_max: r.years_max,
            transfer_lock_days: r.transfer_lock_days,
            currency: r.currency,
            exchange_rates: Vec::new(),
            period_prices: Vec::new(),
            create_price: r.create_price,
            renew_price: r.renew_price,
            transfer_price: r.transfer_price,
            restore_price: r.restore_price,
            contacts: r.contacts,
        }
    }
}

impl TransferV12 {
    /// A fee was paid from the account in `currency`; a free transfer (a
    /// contact's, or one the registry made) names none.
    fn upgrade(self, currency: Option<&str>) -> TransferRecord {
        let t = self;
        let currency = currency.filter(|_| t.fee.0 != 0).map(str::to_string);
        TransferRecord {
            status: t.status,
            gaining: t.gaining,
            requested: t.requested,
            losing: t.losing,
            acted: t.acted,
            years: t.years,
            new_expires: t.new_expires,
            fee: t.fee,
            currency,
        }
    }
}

impl DomainV12 {
    /// Its grace periods and transfer paid in `currencies[tld]`.
    fn upgrade(self, currencies: &std::collections::BTreeMap<DomainName, String>) -> Result<DomainRecord, StoreError> {
        let d = self;
        let currency =
            currencies.get(&d.tld).ok_or_else(|| StoreError::Corrupt(format!("domain {} names no stored TLD", d.name.as_str())))?;
        let grace = d
            .grace
            .into_iter()
            .map(|g| GraceRecord {
                kind: g.kind,
                ends: g.ends,
                registrar: g.registrar,
                amount: g.amount,
                currency: currency.clone(),
                years: g.years,
            })
            .collect();
        Ok(DomainRecord {
            name: d.name,
            roid: d.roid,
            tld: d.tld,
            registrar: d.registrar,
            registrant: d.registrant,
            contacts: d.contacts,
            nameservers: d.nameservers,
            ds: d.ds,
            statuses: d.statuses,
            created: d.created,
            cr_registrar: d.cr_registrar,
            updated: d.updated,
            up_registrar: d.up_registrar,
            expires: d.expires,
            transferred: d.transferred,
            auth_info_hash: d.auth_info_hash,
            grace,
            rgp: d.rgp,
            transfer: d.transfer.map(|t| t.upgrade(Some(currency))),
        })
    }
}

/// v12 → v13: grace periods and pending transfers of each domain name the
/// currency of its TLD, which paid them; TLDs take no other currency yet;
/// accreditations keep their registrars paying in the TLD's currency.
pub(super) fn v12_to_v13(txn: &WriteTransaction) -> Result<String, StoreError> {
    let mut currencies = std::collections::BTreeMap::new();
    let tlds = rewrite(txn, TLDS, "tld (v12)", |t: TldV12| {
        currencies.insert(t.name.clone(), t.registration.currency.clone());
        Ok(TldRecord {
            name: t.name,
            policy: t.policy,
            registration: t.registration.upgrade(),
            serial: t.serial,
            created: t.created,
            updated: t.updated,
        })
    })?;
    let domains = rewrite_keyed_by_bytes(txn, DOMAINS, "domain (v12)", |d: DomainV12| d.upgrade(&currencies))?;
    let contacts = rewrite(txn, CONTACTS, "contact (v12)", |c: ContactV12| {
        Ok(ContactRecord {
            id: c.id,
            roid: c.roid,
            registrar: c.registrar,
            postal_int: c.postal_int,
            postal_loc: c.postal_loc,
            voice: c.voice,
            fax: c.fax,
            email: c.email,
            statuses: c.statuses,
            disclose: c.disclose,
            auth_info_hash: c.auth_info_hash,
            link_count: c.link_count,
            created: c.created,
            cr_registrar: c.cr_registrar,
            updated: c.updated,
            up_registrar: c.up_registrar,
            transferred: c.transferred,
            transfer: c.transfer.map(|t| t.upgrade(None)),
        })
    })?;
    let messages = rewrite_keyed_by_bytes(txn, POLL, "poll message (v12)", |m: PollMessageV12| {
        let payload = match m.payload {
            // A message's copy of a transfer is what it was told; its fee
            // was in the TLD's currency, which the message does not name.
            PollPayloadV12::DomainTransfer { name, transfer } => {
                let currency = currencies.iter().find(|(tld, _)| name.is_below(tld)).map(|(_, c)| c.as_str());
                PollPayloadRecord::DomainTransfer { name, transfer: transfer.upgrade(currency) }
            }
            PollPayloadV12::DomainChange { domain, operation, server_transaction, who, reason } => PollPayloadRecord::DomainChange {
                domain: Box::new(domain.upgrade(&currencies)?),
                operation,
                server_transaction,
                who,
                reason,
            },
            PollPayloadV12::ContactTransfer { id, transfer } => PollPayloadRecord::ContactTransfer { id, transfer: transfer.upgrade(None) },
            PollPayloadV12::Application(a) => PollPayloadRecord::Application(a),
        };
        Ok(PollMessageRecord { id: m.id, queued: m.queued, text: m.text, payload })
    })?;
    let mut old = Vec::new();
    for item in txn.open_table(ACCREDITATIONS_V12)?.iter()? {
        let (k, since) = item?;
        old.push((k.value().to_vec(), since.value()));
    }
    txn.delete_table(ACCREDITATIONS_V12)?;
    let mut accreditations = txn.open_table(super::ACCREDITATIONS)?;
    for (k, since_ms) in &old {
        let record = AccreditationRecord { since: Timestamp(i64::try_from(*since_ms).unwrap_or(i64::MAX)), currency: None };
        accreditations.insert(k.as_slice(), codec::encode_record(&record).as_slice())?;
    }
    Ok(format!(
        "schema 12 to 13: the grace periods and transfers of {domains} domains, {contacts} contacts and {messages} poll messages name the currency they were paid in; {tlds} TLDs and {} accreditations keep their one currency",
        old.len()
    ))
}

fn rewrite<Old: serde::de::DeserializeOwned, New: serde::Serialize>(
    txn: &WriteTransaction,
    table: redb::TableDefinition<&'static str, &'static [u8]>,
    what: &str,
    mut convert: impl FnMut(Old) -> Result<New, StoreError>,
) -> Result<usize, StoreError> {
    let mut t = txn.open_table(table)?;
    let mut rows = Vec::new();
    for item in t.iter()? {
        let (k, v) = item?;
        rows.push((k.value().to_string(), codec::encode_record(&convert(codec::decode_record(v.value(), what)?)?)));
    }
    for (k, v) in &rows {
        t.insert(k.as_str(), v.as_slice())?;
    }
    Ok(rows.len())
}

/// [`rewrite`] for tables keyed by bytes.
fn rewrite_keyed_by_bytes<Old: serde::de::DeserializeOwned, New: serde::Serialize>(
    txn: &WriteTransaction,
    table: redb::TableDefinition<&'static [u8], &'static [u8]>,
    what: &str,
    mut convert: impl FnMut(Old) -> Result<New, StoreError>,
) -> Result<usize, StoreError> {
    let mut t = txn.open_table(table)?;
    let mut rows = Vec::new();
    for item in t.iter()? {
        let (k, v) = item?;
        rows.push((k.value().to_vec(), codec::encode_record(&convert(codec::decode_record(v.value(), what)?)?)));
    }
    for (k, v) in &rows {
        t.insert(k.as_slice(), v.as_slice())?;
    }
    Ok(rows.len())
}

/// v3 → v4: status sets become lists of names in every record that has one.
pub(super) fn v3_to_v4(txn: &WriteTransaction) -> Result<String, StoreError> {
    let domains = rewrite_keyed_by_bytes(txn, DOMAINS, "domain (v3)", DomainV3::upgrade)?;
    let hosts = rewrite(txn, HOSTS, "host (v3)", |h: HostV3| {
        Ok(HostRecord {
            name: h.name,
            roid: h.roid,
            registrar: h.registrar,
            addrs: h.addrs,
            statuses: h.statuses.host()?,
            superordinate: h.superordinate,
            link_count: h.link_count,
            published_link_count: h.published_link_count,
            created: h.created,
            cr_registrar: h.cr_registrar,
            updated: h.updated,
            up_registrar: h.up_registrar,
            transferred: h.transferred,
        })
    })?;
    let contacts = rewrite(txn, CONTACTS, "contact (v3)", |c: ContactV3| {
        Ok(ContactV12 {
            id: c.id,
            roid: c.roid,
            registrar: c.registrar,
            postal_int: c.postal_int,
            postal_loc: c.postal_loc,
            voice: c.voice,
            fax: c.fax,
            email: c.email,
            statuses: c.statuses.contact()?,
            disclose: c.disclose,
            auth_info_hash: c.auth_info_hash,
            link_count: c.link_count,
            created: c.created,
            cr_registrar: c.cr_registrar,
            updated: c.updated,
            up_registrar: c.up_registrar,
            transferred: c.transferred,
            transfer: c.transfer,
        })
    })?;
    let messages = rewrite_keyed_by_bytes(txn, POLL, "poll message (v3)", |m: PollMessageV3| {
        let payload = match m.payload {
            PollPayloadV3::DomainTransfer { name, transfer } => PollPayloadV12::DomainTransfer { name, transfer },
            PollPayloadV3::DomainChange { domain, operation, server_transaction, who, reason } => {
                PollPayloadV12::DomainChange { domain: Box::new(domain.upgrade()?), operation, server_transaction, who, reason }
            }
            PollPayloadV3::ContactTransfer { id, transfer } => PollPayloadV12::ContactTransfer { id, transfer },
        };
        Ok(PollMessageV12 { id: m.id, queued: m.queued, text: m.text, payload })
    })?;
    Ok(format!(
        "schema 3 to 4: status sets stored by name in {domains} domains, {hosts} hosts, {contacts} contacts and {messages} poll messages"
    ))
}

/// v2 → v3: counts each registrar's queued poll messages once and keeps the
/// lengths in `meta`. Poll keys are the registrar's id, a zero byte, then the message id.
pub(super) fn v2_to_v3(txn: &WriteTransaction, meta: &mut Table<&'static str, &'static [u8]>) -> Result<String, StoreError> {
    let mut lengths: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for item in txn.open_table(POLL)?.iter()? {
        let (key, _) = item?;
        let registrar = key.value().split(|&b| b == 0).next().unwrap_or_default();
        let registrar = std::str::from_utf8(registrar).map_err(|_| StoreError::Corrupt("poll key".into()))?;
        *lengths.entry(registrar.to_string()).or_default() += 1;
    }
    let (queues, messages) = (lengths.len(), lengths.values().sum::<u64>());
    for (registrar, length) in lengths {
        meta.insert(super::tables::poll_count_key(&registrar).as_str(), length.to_be_bytes().as_slice())?;
    }
    Ok(format!("schema 2 to 3: poll queue lengths recorded for {queues} registrars ({messages} messages)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dnssec::KeyRole;
    use crate::store::record::Stored;

    #[test]
    fn a_schema_12_grace_period_and_transfer_were_paid_in_the_tlds_currency() {
        let (at, reg) = (Timestamp::from_unix_seconds(1_800_000_000), ClientId::parse("reg-a").unwrap());
        let transfer = |fee| TransferV12 {
            status: crate::model::TransferStatus::Pending.to_record(),
            gaining: reg.clone(),
            requested: at,
            losing: reg.clone(),
            acted: at,
            years: 1,
            new_expires: None,
            fee: Money(fee),
        };
        let domain = DomainV12 {
            name: DomainName::parse("a.example").unwrap(),
            roid: Roid("D1-TEST".into()),
            tld: DomainName::parse("example").unwrap(),
            registrar: reg.clone(),
            registrant: None,
            contacts: Vec::new(),
            nameservers: Vec::new(),
            ds: Vec::new(),
            statuses: DomainStatusSet::default(),
            created: at,
            cr_registrar: reg.clone(),
            updated: None,
            up_registrar: None,
            expires: at,
            transferred: None,
            auth_info_hash: None,
            grace: vec![GraceV12 { kind: GraceKindRecord::Add, ends: at, registrar: reg.clone(), amount: Money(700), years: 1 }],
            rgp: None,
            transfer: Some(transfer(1000)),
        };
        let bytes = codec::encode_record(&domain);
        let currencies = [(DomainName::parse("example").unwrap(), "EUR".to_string())].into();
        let record = codec::decode_record::<DomainV12>(&bytes, "domain (v12)").unwrap().upgrade(&currencies).unwrap();
        let d = crate::model::Domain::from_record(record);
        assert_eq!((d.grace[0].currency.as_str(), d.grace[0].amount), ("EUR", Money(700)));
        assert_eq!(d.transfer.unwrap().currency.as_deref(), Some("EUR"));
        assert_eq!(transfer(0).upgrade(Some("EUR")).currency, None, "nothing was charged");
    }

    #[test]
    fn a_schema_6_key_becomes_a_combined_key_active_since_it_was_made() {
        let made = Timestamp::from_unix_seconds(1_800_000_000);
        let old = ZoneSigningV6 {
            denial: DenialRecord::Nsec3OptOut,
            keys: vec![ZoneKeyV6 { flags: 257, algorithm: 13, public_key: vec![7; 64], created: made }],
            signature_validity_s: 1_209_600,
            inception_offset_s: 3_600,
            signature_refresh_s: 604_800,
            signature_jitter_s: 86_400,
            dnskey_ttl_s: 3_600,
        };
        let bytes = codec::encode_record(&old);
        let v7 = codec::encode_record(&zone_signing_v6_to_v7(codec::decode_record(&bytes, "zone signing (v6)").unwrap()));
        let record = zone_signing_v7_to_v8(codec::decode_record(&v7, "zone signing (v7)").unwrap());
        let signing = ZoneSigning::from_record(record);
        assert_eq!(signing.denial, Denial::Nsec3OptOut);
        let key = &signing.keys[0];
        assert_eq!((key.role, key.active_from, key.retired, key.ds_seen), (KeyRole::Csk, Some(made), None, None));
        assert_eq!(key.published, Some(made), "schema 7 published every key when it made it");
        assert_eq!((key.flags, key.public_key.len()), (257, 64));
        assert_eq!(signing.zsk_lifetime_s, ZoneSigning::new(Denial::Nsec3, Vec::new()).zsk_lifetime_s);
    }
}
