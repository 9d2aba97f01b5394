//! Addresses as the registry accepts them: glue addresses (RFC 5732
//! `host:addr`) and address prefixes for access lists.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    Syntax(String),
    #[error("{0} is not usable as a name server address: {1}")]
    Unusable(IpAddr, &'static str),
    #[error("{0:?} is not an address prefix (ADDR/LEN)")]
    Prefix(String),
}

/// Which glue addresses the registry accepts beyond those any resolver on
/// the Internet could reach. Addresses no resolver can use as glue
/// (unspecified, loopback, link-local, multicast, broadcast, reserved,
/// IPv4-mapped) are always refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AddressPolicy {
    /// RFC 1918, RFC 6598 shared and RFC 4193 unique-local addresses: only
    /// for a registry whose resolvers share that private network.
    pub private_allowed: bool,
    /// RFC 5737, RFC 3849 and RFC 9637 documentation prefixes: useful in
    /// test and demo registries, a mistake in a production zone.
    pub documentation_allowed: bool,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        AddressPolicy { private_allowed: false, documentation_allowed: true }
    }
}

/// Parses a name server address and checks it against `policy`.
pub fn parse_host_addr(text: &str, policy: AddressPolicy) -> Result<IpAddr, AddrError> {
    check_host_addr(text.trim().parse().map_err(|_| AddrError::Syntax(text.to_string()))?, policy)
}

/// Refuses addresses a resolver could not send a query to, and those `policy` leaves out.
pub fn check_host_addr(addr: IpAddr, policy: AddressPolicy) -> Result<IpAddr, AddrError> {
    let in_any = |prefixes: &[&str]| prefixes.iter().any(|p| IpPrefix::parse(p).expect("a prefix literal").contains_exactly(addr));
    let unusable = match addr {
        IpAddr::V4(v4) if v4.is_unspecified() || in_any(&["0.0.0.0/8"]) => Some("\"this network\" (RFC 791)"),
        IpAddr::V4(v4) if v4.is_loopback() => Some("loopback"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("multicast"),
        IpAddr::V4(v4) if v4.is_broadcast() || in_any(&["240.0.0.0/4"]) => Some("reserved (RFC 1112)"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("unspecified"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("loopback"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("multicast"),
        IpAddr::V6(_) if in_any(&["fe80::/10"]) => Some("link-local"),
        IpAddr::V6(_) if in_any(&["::ffff:0:0/96", "::/96"]) => Some("an IPv4 address in IPv6 form; give it as IPv4"),
        IpAddr::V6(_) if in_any(&["100::/64"]) => Some("discard-only (RFC 6666)"),
        _ if !policy.private_allowed && in_any(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]) => {
            Some("private (RFC 1918, 6598, 4193), which this registry's policy refuses")
        }
        _ if !policy.documentation_allowed
            && in_any(&["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"]) =>
        {
            Some("for documentation only (RFC 5737, 3849, 9637), which this registry's policy refuses")
        }
        _ => None,
    };
    match unusable {
        Some(reason) => Err(AddrError::Unusable(addr, reason)),
        None => Ok(addr),
    }
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

    /// Like [`IpPrefix::contains`], but an IPv4-mapped IPv6 address is not taken as IPv4.
    fn contains_exactly(&self, candidate: IpAddr) -> bool {
        match (self.addr, candidate) {
            (IpAddr::V4(net), IpAddr::V4(c)) => mask_eq(u32::from(net) as u128, u32::from(c) as u128, self.len, 32),
            (IpAddr::V6(net), IpAddr::V6(c)) => mask_eq(u128::from(net), u128::from(c), self.len, 128),
            _ => false,
        }
    }

    pub fn contains(&self, candidate: IpAddr) -> bool {
        let candidate = match candidate {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(candidate),
            v4 => v4,
        };
        self.contains_exactly(candidate)
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
        let default = AddressPolicy::default();
        let strict = AddressPolicy { private_allowed: false, documentation_allowed: false };
        let private = AddressPolicy { private_allowed: true, documentation_allowed: false };
        assert!(parse_host_addr("192.0.2.1", default).is_ok());
        assert!(parse_host_addr("2001:db8::1", default).is_ok());
        assert!(parse_host_addr("8.8.8.8", strict).is_ok() && parse_host_addr("2a00:1450::1", strict).is_ok());
        assert!(matches!(parse_host_addr("256.1.1.1", default), Err(AddrError::Syntax(_))));
        assert!(matches!(parse_host_addr("::X", default), Err(AddrError::Syntax(_))));
        let always = [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.1.1",
            "224.0.0.1",
            "239.1.1.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "100::1",
        ];
        for a in always {
            assert!(matches!(parse_host_addr(a, private), Err(AddrError::Unusable(..))), "{a}");
            assert!(parse_host_addr(a, AddressPolicy { private_allowed: true, documentation_allowed: true }).is_err(), "{a}");
        }
        for a in ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "fd00::1"] {
            assert!(matches!(parse_host_addr(a, default), Err(AddrError::Unusable(_, r)) if r.contains("private")), "{a}");
            assert!(parse_host_addr(a, private).is_ok(), "{a}");
        }
        for a in ["192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::53", "3fff::1"] {
            assert!(matches!(parse_host_addr(a, strict), Err(AddrError::Unusable(_, r)) if r.contains("documentation")), "{a}");
        }
        assert!(parse_host_addr("172.32.0.1", strict).is_ok() && parse_host_addr("100.128.0.1", strict).is_ok());
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
