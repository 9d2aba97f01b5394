//! Addresses as the registry accepts them: glue addresses (RFC 5732
//! `host:addr`) and address prefixes for access lists.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    Syntax(String),
    #[error("{0} is not usable as a name server address (unspecified, multicast or broadcast)")]
    NotUnicast(IpAddr),
    #[error("{0:?} is not an address prefix (ADDR/LEN)")]
    Prefix(String),
}

/// Parses a name server address; anything a resolver could not send a query to is refused.
pub fn parse_host_addr(text: &str) -> Result<IpAddr, AddrError> {
    check_host_addr(text.trim().parse().map_err(|_| AddrError::Syntax(text.to_string()))?)
}

/// Refuses addresses a resolver could not send a query to.
pub fn check_host_addr(addr: IpAddr) -> Result<IpAddr, AddrError> {
    let unusable = match addr {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    };
    if unusable {
        return Err(AddrError::NotUnicast(addr));
    }
    Ok(addr)
}

/// An address prefix such as `127.0.0.0/8` or `::1/128` (a bare address means the host).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    pub fn parse(text: &str) -> Result<Self, AddrError> {
        let err = || AddrError::Prefix(text.to_string());
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len_text {
            Some(l) => l.parse::<u8>().map_err(|_| err())?,
            None => max,
        };
        if len > max {
            return Err(err());
        }
        Ok(IpPrefix { addr, len })
    }

    pub fn contains(&self, candidate: IpAddr) -> bool {
        let candidate = match candidate {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(candidate),
            v4 => v4,
        };
        match (self.addr, candidate) {
            (IpAddr::V4(net), IpAddr::V4(c)) => mask_eq(u32::from(net) as u128, u32::from(c) as u128, self.len, 32),
            (IpAddr::V6(net), IpAddr::V6(c)) => mask_eq(u128::from(net), u128::from(c), self.len, 128),
            _ => false,
        }
    }
}

fn mask_eq(a: u128, b: u128, len: u8, bits: u8) -> bool {
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (a >> shift) == (b >> shift)
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for IpPrefix {
    type Error = AddrError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        IpPrefix::parse(&value)
    }
}

impl From<IpPrefix> for String {
    fn from(value: IpPrefix) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses() {
        assert!(parse_host_addr("192.0.2.1").is_ok());
        assert!(parse_host_addr("2001:db8::1").is_ok());
        assert!(matches!(parse_host_addr("256.1.1.1"), Err(AddrError::Syntax(_))));
        assert!(matches!(parse_host_addr("::X"), Err(AddrError::Syntax(_))));
        assert!(matches!(parse_host_addr("0.0.0.0"), Err(AddrError::NotUnicast(_))));
        assert!(matches!(parse_host_addr("ff02::1"), Err(AddrError::NotUnicast(_))));
        assert!(matches!(parse_host_addr("224.0.0.1"), Err(AddrError::NotUnicast(_))));
    }

    #[test]
    fn prefixes() {
        let lo = IpPrefix::parse("127.0.0.0/8").unwrap();
        assert!(lo.contains("127.1.2.3".parse().unwrap()));
        assert!(lo.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!lo.contains("128.0.0.1".parse().unwrap()));
        assert!(!lo.contains("::1".parse().unwrap()));
        let v6 = IpPrefix::parse("::1").unwrap();
        assert!(v6.contains("::1".parse().unwrap()));
        assert!(IpPrefix::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(IpPrefix::parse("10.0.0.0/33").is_err());
        assert!(IpPrefix::parse("nonsense/8").is_err());
        assert_eq!(IpPrefix::parse("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
    }
}
