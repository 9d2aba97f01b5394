//! EPP status values of domains (RFC 5731 §2.3) and hosts (RFC 5732 §2.3),
//! the sets an object carries, and the combination rules both RFCs impose.
//!
//! Stored sets hold only the statuses someone set (`client*`, `server*`,
//! `pending*`); `ok`, `inactive` and `linked` are derived from the object's
//! state when it is shown, so they can never disagree with it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("unknown status {0:?}")]
    Unknown(String),
    #[error("status {0} is derived by the server and cannot be set")]
    Derived(&'static str),
    #[error("status {0} is not valid with {1}")]
    Conflict(&'static str, &'static str),
    #[error("more than one pending status")]
    MultiplePending,
    #[error("status {0} is already set")]
    AlreadySet(&'static str),
    #[error("status {0} is not set")]
    NotSet(&'static str),
}

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        #[repr(u8)]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Result<Self, StatusError> {
                match text {
                    $($text => Ok($name::$variant),)*
                    _ => Err(StatusError::Unknown(text.to_string())),
                }
            }

            /// Statuses only the registry (not a registrar) may set or clear.
            pub fn is_server(self) -> bool {
                self.as_str().starts_with("server")
            }
            pub fn is_client(self) -> bool {
                self.as_str().starts_with("client")
            }
            fn is_pending(self) -> bool {
                self.as_str().starts_with("pending")
            }
            /// Shown by the server from the object's state, never stored.
            fn is_derived(self) -> bool {
                matches!(self.as_str(), "ok" | "inactive" | "linked")
            }

            fn bit(self) -> u32 {
                1 << (self as u8)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = StatusError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self {
                value.as_str()
            }
        }
    };
}

status_enum! {
    /// The 17 domain statuses of RFC 5731.
    DomainStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientHold = "clientHold",
        ClientRenewProhibited = "clientRenewProhibited",
        ClientTransferProhibited = "clientTransferProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Inactive = "inactive",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingRenew = "pendingRenew",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerHold = "serverHold",
        ServerRenewProhibited = "serverRenewProhibited",
        ServerTransferProhibited = "serverTransferProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
}

status_enum! {
    /// The host statuses of RFC 5732.
    HostStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Linked = "linked",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
}

status_enum! {
    /// The contact statuses of RFC 5733.
    ContactStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientTransferProhibited = "clientTransferProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Linked = "linked",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerTransferProhibited = "serverTransferProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
}

impl ContactStatus {
    const CONFLICTS: &'static [(Self, Self)] = &[
        (Self::PendingDelete, Self::ClientDeleteProhibited),
        (Self::PendingDelete, Self::ServerDeleteProhibited),
        (Self::PendingTransfer, Self::ClientTransferProhibited),
        (Self::PendingTransfer, Self::ServerTransferProhibited),
        (Self::PendingUpdate, Self::ClientUpdateProhibited),
        (Self::PendingUpdate, Self::ServerUpdateProhibited),
    ];
}

impl DomainStatus {
    /// RFC 5731 §2.3: a pending action may not coexist with its prohibition.
    const CONFLICTS: &'static [(Self, Self)] = &[
        (Self::PendingDelete, Self::ClientDeleteProhibited),
        (Self::PendingDelete, Self::ServerDeleteProhibited),
        (Self::PendingRenew, Self::ClientRenewProhibited),
        (Self::PendingRenew, Self::ServerRenewProhibited),
        (Self::PendingTransfer, Self::ClientTransferProhibited),
        (Self::PendingTransfer, Self::ServerTransferProhibited),
        (Self::PendingUpdate, Self::ClientUpdateProhibited),
        (Self::PendingUpdate, Self::ServerUpdateProhibited),
    ];
}

impl HostStatus {
    const CONFLICTS: &'static [(Self, Self)] = &[
        (Self::PendingDelete, Self::ClientDeleteProhibited),
        (Self::PendingDelete, Self::ServerDeleteProhibited),
        (Self::PendingUpdate, Self::ClientUpdateProhibited),
        (Self::PendingUpdate, Self::ServerUpdateProhibited),
    ];
}

macro_rules! status_set {
    ($set:ident, $status:ident) => {
        /// A set of statuses, a bit set in memory. Stored and shown as the
        /// list of its RFC names, so reordering the variants changes nothing
        /// on disk (the bit order is not frozen; the names are).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $set(u32);

        impl Serialize for $set {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // Postcard needs the length first, which a filtered iterator does not know.
                self.iter().collect::<Vec<_>>().serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $set {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Vec::<$status>::deserialize(d).map(Self::from)
            }
        }

        impl From<Vec<$status>> for $set {
            fn from(statuses: Vec<$status>) -> Self {
                let mut set = $set::default();
                for s in statuses {
                    set.insert(s);
                }
                set
            }
        }

        impl $set {
            pub fn contains(self, status: $status) -> bool {
                self.0 & status.bit() != 0
            }
            pub fn insert(&mut self, status: $status) {
                self.0 |= status.bit();
            }
            pub fn remove(&mut self, status: $status) {
                self.0 &= !status.bit();
            }
            pub fn is_empty(self) -> bool {
                self.0 == 0
            }
            /// An update's `<rem>` then `<add>`: removing a status that is not
            /// set, or adding one that is, is refused (RFC 5731 §3.2.5 and its
            /// host and contact twins), the same way for every object.
            pub fn change(&mut self, remove: &[$status], add: &[$status]) -> Result<(), StatusError> {
                for s in remove {
                    if !self.contains(*s) {
                        return Err(StatusError::NotSet(s.as_str()));
                    }
                    self.remove(*s);
                }
                for s in add {
                    if self.contains(*s) {
                        return Err(StatusError::AlreadySet(s.as_str()));
                    }
                    self.insert(*s);
                }
                Ok(())
            }
            pub fn iter(self) -> impl Iterator<Item = $status> {
                $status::ALL.iter().copied().filter(move |s| self.contains(*s))
            }
            /// Builds a validated set from status values (derived ones are refused).
            pub fn from_statuses(statuses: impl IntoIterator<Item = $status>) -> Result<Self, StatusError> {
                let mut set = $set::default();
                for status in statuses {
                    if status.is_derived() {
                        return Err(StatusError::Derived(status.as_str()));
                    }
                    set.insert(status);
                }
                set.validate()?;
                Ok(set)
            }
            /// The RFC's combination rules: no derived status stored, one
            /// pending status at most, no pending action with its prohibition.
            pub fn validate(self) -> Result<(), StatusError> {
                if let Some(s) = self.iter().find(|s| s.is_derived()) {
                    return Err(StatusError::Derived(s.as_str()));
                }
                if self.iter().filter(|s| s.is_pending()).count() > 1 {
                    return Err(StatusError::MultiplePending);
                }
                for (pending, prohibition) in $status::CONFLICTS {
                    if self.contains(*pending) && self.contains(*prohibition) {
                        return Err(StatusError::Conflict(pending.as_str(), prohibition.as_str()));
                    }
                }
                Ok(())
            }
        }

        impl FromIterator<$status> for $set {
            fn from_iter<I: IntoIterator<Item = $status>>(iter: I) -> Self {
                let mut set = $set::default();
                for s in iter {
                    set.insert(s);
                }
                set
            }
        }
    };
}

status_set!(DomainStatusSet, DomainStatus);
status_set!(HostStatusSet, HostStatus);
status_set!(ContactStatusSet, ContactStatus);

impl DomainStatusSet {
    /// Statuses as shown to peers: the stored ones plus `inactive` (no name
    /// servers) and `ok` (nothing else applies).
    pub fn displayed(self, has_nameservers: bool) -> Vec<DomainStatus> {
        let mut shown: Vec<DomainStatus> = self.iter().collect();
        if !has_nameservers {
            shown.push(DomainStatus::Inactive);
        }
        if shown.is_empty() {
            shown.push(DomainStatus::Ok);
        }
        shown.sort();
        shown
    }

    /// Whether a domain with these statuses may appear in its TLD zone
    /// (held and pendingDelete domains are withheld).
    pub fn allows_publication(self) -> bool {
        !(self.contains(DomainStatus::ClientHold) || self.contains(DomainStatus::ServerHold) || self.contains(DomainStatus::PendingDelete))
    }
}

impl ContactStatusSet {
    /// Statuses as shown: stored ones, `ok` when none is stored, and
    /// `linked` when a domain names the contact.
    pub fn displayed(self, linked: bool) -> Vec<ContactStatus> {
        let mut shown: Vec<ContactStatus> = self.iter().collect();
        if shown.is_empty() {
            shown.push(ContactStatus::Ok);
        }
        if linked {
            shown.push(ContactStatus::Linked);
        }
        shown
    }
}

impl HostStatusSet {
    /// Statuses as shown: stored ones, `linked` when a domain delegates to the
    /// host, and `ok` when nothing but (at most) `linked` applies.
    pub fn displayed(self, linked: bool) -> Vec<HostStatus> {
        let mut shown: Vec<HostStatus> = self.iter().collect();
        if shown.is_empty() {
            shown.push(HostStatus::Ok);
        }
        if linked {
            shown.push(HostStatus::Linked);
        }
        shown.sort();
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DomainStatus as D;

    #[test]
    fn text_round_trip() {
        for s in DomainStatus::ALL {
            assert_eq!(DomainStatus::parse(s.as_str()).unwrap(), *s);
        }
        for s in HostStatus::ALL {
            assert_eq!(HostStatus::parse(s.as_str()).unwrap(), *s);
        }
        assert!(matches!(DomainStatus::parse("serverhold"), Err(StatusError::Unknown(_))));
        assert_eq!(DomainStatus::ALL.len(), 17);
    }

    #[test]
    fn forbidden_domain_combinations() {
        assert!(DomainStatusSet::from_statuses([D::ServerHold, D::ClientHold]).is_ok());
        assert_eq!(DomainStatusSet::from_statuses([D::Ok]), Err(StatusError::Derived("ok")));
        assert_eq!(DomainStatusSet::from_statuses([D::Inactive]), Err(StatusError::Derived("inactive")));
        assert_eq!(
            DomainStatusSet::from_statuses([D::PendingDelete, D::ServerDeleteProhibited]),
            Err(StatusError::Conflict("pendingDelete", "serverDeleteProhibited"))
        );
        assert_eq!(
            DomainStatusSet::from_statuses([D::PendingTransfer, D::ClientTransferProhibited]),
            Err(StatusError::Conflict("pendingTransfer", "clientTransferProhibited"))
        );
        assert_eq!(
            DomainStatusSet::from_statuses([D::PendingRenew, D::ServerRenewProhibited]),
            Err(StatusError::Conflict("pendingRenew", "serverRenewProhibited"))
        );
        assert_eq!(
            DomainStatusSet::from_statuses([D::PendingUpdate, D::ClientUpdateProhibited]),
            Err(StatusError::Conflict("pendingUpdate", "clientUpdateProhibited"))
        );
        assert_eq!(DomainStatusSet::from_statuses([D::PendingDelete, D::PendingTransfer]), Err(StatusError::MultiplePending));
    }

    #[test]
    fn derived_domain_statuses() {
        let empty = DomainStatusSet::default();
        assert_eq!(empty.displayed(true), vec![D::Ok]);
        assert_eq!(empty.displayed(false), vec![D::Inactive]);
        let held: DomainStatusSet = [D::ServerHold].into_iter().collect();
        assert_eq!(held.displayed(false), vec![D::Inactive, D::ServerHold]);
        assert!(!held.allows_publication());
        assert!(empty.allows_publication());
        let pd: DomainStatusSet = [D::PendingDelete].into_iter().collect();
        assert!(!pd.allows_publication());
    }

    #[test]
    fn host_rules() {
        use HostStatus as H;
        assert_eq!(HostStatusSet::default().displayed(false), vec![H::Ok]);
        assert_eq!(HostStatusSet::default().displayed(true), vec![H::Linked, H::Ok]);
        let locked: HostStatusSet = [H::ServerUpdateProhibited].into_iter().collect();
        assert_eq!(locked.displayed(true), vec![H::Linked, H::ServerUpdateProhibited]);
        assert_eq!(HostStatusSet::from_statuses([H::Linked]), Err(StatusError::Derived("linked")));
        assert_eq!(
            HostStatusSet::from_statuses([H::PendingDelete, H::ClientDeleteProhibited]),
            Err(StatusError::Conflict("pendingDelete", "clientDeleteProhibited"))
        );
    }
}
