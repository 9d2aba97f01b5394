//! Allocation tokens (RFC 8495): a code the registry issues that allows a
//! create which would otherwise be refused or priced differently — bound to
//! a name (a reserved name allocated to the holder of the code), to a
//! registrar, or to neither; used once or a set number of times; optionally
//! until a date; and with a create price of its own (a discount, or the
//! standard price for a premium name). A check with the token quotes what
//! the create with it charges.

use super::{ClientId, DomainName, Money, Timestamp};

/// Token characters: enough to be unguessable, few enough for EPP's `token`.
pub const TOKEN_CHARS_MIN: usize = 16;
pub const TOKEN_CHARS_MAX: usize = 64;

/// An allocation token of a TLD.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AllocationToken {
    pub token: String,
    pub tld: DomainName,
    /// The only name it allocates, if bound to one.
    pub name: Option<DomainName>,
    /// The only registrar that may use it, if bound to one.
    pub registrar: Option<ClientId>,
    /// How many creates it allows (1: single use).
    pub uses_max: u32,
    pub uses: u32,
    /// The yearly create price with this token, instead of the name's.
    pub create_price: Option<Money>,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
    pub created: Timestamp,
}

impl AllocationToken {
    /// Why this token does not allow `registrar` to create `name` at `now`, if it does not.
    pub fn refusal(&self, name: &DomainName, registrar: &ClientId, now: Timestamp) -> Option<String> {
        if self.revoked {
            return Some("the allocation token was revoked".into());
        }
        if self.expires.is_some_and(|e| e <= now) {
            return Some("the allocation token has expired".into());
        }
        if self.uses >= self.uses_max {
            return Some("the allocation token has been used".into());
        }
        if !name.is_directly_below(&self.tld) || self.name.as_ref().is_some_and(|n| n != name) {
            return Some(format!("the allocation token is not for {name}"));
        }
        if self.registrar.as_ref().is_some_and(|r| r != registrar) {
            return Some(format!("the allocation token is not for registrar {registrar}"));
        }
        None
    }
}

/// Checks a token's text: 16 to 64 of A-Z, a-z, 0-9, `-` and `_`.
pub fn check_token(token: &str) -> Result<(), String> {
    let ok = (TOKEN_CHARS_MIN..=TOKEN_CHARS_MAX).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(format!("a token is {TOKEN_CHARS_MIN} to {TOKEN_CHARS_MAX} of A-Z, a-z, 0-9, - and _")) }
}

/// A new random token (144 bits, URL-safe base64).
pub fn generate() -> Result<String, String> {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| "no randomness for a token".to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> AllocationToken {
        AllocationToken {
            token: generate().unwrap(),
            tld: DomainName::parse("example").unwrap(),
            name: Some(DomainName::parse("gift.example").unwrap()),
            registrar: Some(ClientId::parse("reg-a").unwrap()),
            uses_max: 1,
            uses: 0,
            create_price: None,
            expires: Some(Timestamp::from_unix_seconds(2_000)),
            revoked: false,
            created: Timestamp::from_unix_seconds(1_000),
        }
    }

    #[test]
    fn a_token_allows_only_what_it_is_bound_to() {
        let (t, gift, reg_a) = (token(), DomainName::parse("gift.example").unwrap(), ClientId::parse("reg-a").unwrap());
        let now = Timestamp::from_unix_seconds(1_500);
        assert_eq!(t.refusal(&gift, &reg_a, now), None);
        assert!(t.refusal(&DomainName::parse("other.example").unwrap(), &reg_a, now).is_some());
        assert!(t.refusal(&gift, &ClientId::parse("reg-b").unwrap(), now).is_some());
        assert!(t.refusal(&gift, &reg_a, Timestamp::from_unix_seconds(2_000)).unwrap().contains("expired"));
        assert!(AllocationToken { uses: 1, ..t.clone() }.refusal(&gift, &reg_a, now).unwrap().contains("used"));
        assert!(AllocationToken { revoked: true, ..t.clone() }.refusal(&gift, &reg_a, now).unwrap().contains("revoked"));
        assert!(check_token(&t.token).is_ok() && t.token.len() == 24);
        assert!(check_token("short").is_err() && check_token(&"x".repeat(65)).is_err() && check_token("with space in it ok").is_err());
    }
}
