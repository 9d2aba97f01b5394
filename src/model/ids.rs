//! The identifiers that name the registry's objects: registrar (client) and
//! contact ids (RFC 5730 `clIDType`, RFC 5733 `clIDType`), repository object
//! ids (ROIDs) and the repository suffix they end in.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("registrar id {0:?} must be 3-16 printable characters without spaces")]
    ClientId(String),
    #[error("contact id {0:?} must be 3-16 printable characters without spaces")]
    ContactId(String),
    #[error("repository id {0:?} must be 1-8 letters, digits or '_'")]
    RoidSuffix(String),
}

macro_rules! token_id {
    ($(#[$meta:meta])* $name:ident, $err:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Box<str>);

        impl $name {
            /// eppcom `clIDType`: a token of 3 to 16 characters.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                let ok = (3..=16).contains(&text.chars().count())
                    && text.chars().all(|c| c.is_ascii_graphic());
                if ok { Ok($name(text.into())) } else { Err(IdError::$err(text.to_string())) }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.into()
            }
        }
    };
}

token_id!(
    /// A registrar's EPP client identifier (`clID`).
    ClientId,
    ClientId
);
token_id!(
    /// A contact's client-chosen identifier (RFC 5733 `contact:id`).
    ContactId,
    ContactId
);

/// Repository object identifier, `<id>-<REPO>` (RFC 5730 §2.8).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Roid(pub Box<str>);

impl Roid {
    pub fn new(kind: char, number: u64, suffix: &RoidSuffix) -> Self {
        Roid(format!("{kind}{number}-{}", suffix.0).into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// The repository part of ROIDs, registered with IANA's EPP ROID registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoidSuffix(Box<str>);

impl RoidSuffix {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(text: &str) -> Result<Self, IdError> {
        let ok = (1..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok { Ok(RoidSuffix(text.into())) } else { Err(IdError::RoidSuffix(text.to_string())) }
    }
}

impl TryFrom<String> for RoidSuffix {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RoidSuffix::parse(&value)
    }
}

impl From<RoidSuffix> for String {
    fn from(value: RoidSuffix) -> Self {
        value.0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(ClientId::parse("registrar-1").is_ok());
        assert!(ClientId::parse("ab").is_err());
        assert!(ClientId::parse("has space").is_err());
        assert!(ClientId::parse(&"x".repeat(17)).is_err());
        let suffix = RoidSuffix::parse("DOS").unwrap();
        assert_eq!(Roid::new('D', 42, &suffix).as_str(), "D42-DOS");
        assert!(RoidSuffix::parse("TOO-LONG-X").is_err());
    }
}
