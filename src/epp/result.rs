//! EPP result codes (RFC 5730 §3), the error a command ends with, and how
//! registry refusals map onto codes.

use crate::registry::RegistryError;

pub mod code {
    pub const OK: u16 = 1000;
    pub const OK_PENDING: u16 = 1001;
    pub const OK_NO_MESSAGES: u16 = 1300;
    pub const OK_ACK_TO_DEQUEUE: u16 = 1301;
    pub const OK_BYE: u16 = 1500;
    pub const UNKNOWN_COMMAND: u16 = 2000;
    pub const SYNTAX: u16 = 2001;
    pub const USE: u16 = 2002;
    pub const MISSING: u16 = 2003;
    pub const RANGE: u16 = 2004;
    pub const VALUE_SYNTAX: u16 = 2005;
    pub const UNIMPLEMENTED_VERSION: u16 = 2100;
    pub const UNIMPLEMENTED_COMMAND: u16 = 2101;
    pub const UNIMPLEMENTED_OPTION: u16 = 2102;
    pub const UNIMPLEMENTED_EXTENSION: u16 = 2103;
    pub const BILLING: u16 = 2104;
    pub const NOT_RENEWABLE: u16 = 2105;
    pub const NOT_TRANSFERABLE: u16 = 2106;
    pub const AUTHENTICATION: u16 = 2200;
    pub const AUTHORIZATION: u16 = 2201;
    pub const AUTH_INFO: u16 = 2202;
    pub const PENDING_TRANSFER: u16 = 2300;
    pub const NOT_PENDING_TRANSFER: u16 = 2301;
    pub const EXISTS: u16 = 2302;
    pub const NOT_FOUND: u16 = 2303;
    pub const STATUS_PROHIBITS: u16 = 2304;
    pub const ASSOCIATION: u16 = 2305;
    pub const POLICY: u16 = 2306;
    pub const UNIMPLEMENTED_SERVICE: u16 = 2307;
    pub const DATA_MANAGEMENT: u16 = 2308;
    pub const FAILED: u16 = 2400;
    pub const FAILED_CLOSING: u16 = 2500;
    pub const AUTHENTICATION_CLOSING: u16 = 2501;
    pub const SESSION_LIMIT_CLOSING: u16 = 2502;
}

/// The standard text of a result code.
pub fn text(code: u16) -> &'static str {
    match code {
        1000 => "Command completed successfully",
        1001 => "Command completed successfully; action pending",
        1300 => "Command completed successfully; no messages",
        1301 => "Command completed successfully; ack to dequeue",
        1500 => "Command completed successfully; ending session",
        2000 => "Unknown command",
        2001 => "Command syntax error",
        2002 => "Command use error",
        2003 => "Required parameter missing",
        2004 => "Parameter value range error",
        2005 => "Parameter value syntax error",
        2100 => "Unimplemented protocol version",
        2101 => "Unimplemented command",
        2102 => "Unimplemented option",
        2103 => "Unimplemented extension",
        2104 => "Billing failure",
        2105 => "Object is not eligible for renewal",
        2106 => "Object is not eligible for transfer",
        2200 => "Authentication error",
        2201 => "Authorization error",
        2202 => "Invalid authorization information",
        2300 => "Object pending transfer",
        2301 => "Object not pending transfer",
        2302 => "Object exists",
        2303 => "Object does not exist",
        2304 => "Object status prohibits operation",
        2305 => "Object association prohibits operation",
        2306 => "Parameter value policy error",
        2307 => "Unimplemented object service",
        2308 => "Data management policy violation",
        2400 => "Command failed",
        2500 => "Command failed; server closing connection",
        2501 => "Authentication error; server closing connection",
        2502 => "Session limit exceeded; server closing connection",
        _ => "Command failed",
    }
}

/// A command that did not succeed: the code, and a reason for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EppError {
    pub code: u16,
    pub reason: String,
}

impl EppError {
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        EppError { code, reason: reason.into() }
    }

    pub fn syntax(reason: impl Into<String>) -> Self {
        EppError::new(code::SYNTAX, reason)
    }

    /// Whether the server closes the connection after sending this result.
    pub fn closes(&self) -> bool {
        self.code >= 2500
    }
}

impl From<RegistryError> for EppError {
    fn from(e: RegistryError) -> Self {
        use RegistryError as R;
        let code = match &e {
            R::NotFound { .. } => code::NOT_FOUND,
            R::Exists { .. } => code::EXISTS,
            // An address that parses but cannot serve as glue breaks policy, not syntax.
            R::Addr(crate::model::AddrError::Unusable(..)) => code::POLICY,
            R::Name(_) | R::Addr(_) | R::Id(_) | R::Syntax(_) => code::VALUE_SYNTAX,
            R::Ds(crate::model::DsError::DigestHex | crate::model::DsError::Syntax) => code::VALUE_SYNTAX,
            R::Ds(_) | R::Status(_) | R::TldPolicy(_) | R::Invalid(_) | R::Policy(_) => code::POLICY,
            R::Range(_) => code::RANGE,
            R::Missing(_) => code::MISSING,
            R::Authorization(_) => code::AUTHORIZATION,
            R::AuthInfo => code::AUTH_INFO,
            R::Billing(_) => code::BILLING,
            R::NotRenewable(_) => code::NOT_RENEWABLE,
            R::NotTransferable(_) => code::NOT_TRANSFERABLE,
            R::TransferPending(_) => code::PENDING_TRANSFER,
            R::NoTransferPending(_) => code::NOT_PENDING_TRANSFER,
            R::StatusProhibits(_) => code::STATUS_PROHIBITS,
            R::Association(_) => code::ASSOCIATION,
            R::Unavailable | R::Internal(_) | R::Store(_) => code::FAILED,
        };
        if code == code::FAILED {
            tracing::error!(error = %e, "registry failure behind an EPP command");
        }
        EppError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_refusals_map_to_rfc_codes() {
        let map = |e| EppError::from(e).code;
        assert_eq!(map(RegistryError::AuthInfo), 2202);
        assert_eq!(map(RegistryError::Range("x".into())), 2004);
        assert_eq!(map(RegistryError::Billing("x".into())), 2104);
        assert_eq!(map(RegistryError::TransferPending("x".into())), 2300);
        assert_eq!(map(RegistryError::Association("x".into())), 2305);
        assert_eq!(map(RegistryError::Unavailable), 2400);
        assert!(EppError::new(2501, "x").closes() && !EppError::new(2400, "x").closes());
        assert_eq!(text(2303), "Object does not exist");
    }
}
