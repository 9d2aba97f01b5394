//! What the object mappings (domain, host and contact: RFC 5731–5733) share
//! and the session hands them: what a mapping sees of its client (`ClientView`), a mapping's
//! verdict on a command, how to answer once the registry has executed it, and the
//! element rules they have in common (check lists, periods). The session
//! owns the transport and calls the mappings; the mappings never reach into
//! the session.

use std::sync::Arc;

use super::render::Response;
use super::result::{EppError, code};
use super::xml::{Element, Ns};
use crate::model::{ClientId, Timestamp};
use crate::registry::command::Command;
use crate::store::Snapshot;

/// The state a mapping module sees.
pub struct ClientView {
    pub snapshot: Arc<Snapshot>,
    pub registrar: ClientId,
    pub now: Timestamp,
}

/// How to answer once the registry has executed a command.
#[derive(Debug, Clone)]
pub enum Render {
    DomainCreate { years: u32 },
    DomainUpdate { restore: bool },
    DomainDelete { name: crate::model::DomainName },
    DomainRenew { years: u32 },
    DomainTransfer { years: Option<u32> },
    HostCreate,
    ContactCreate,
    Plain,
}

/// A mapping module's verdict on a command.
#[allow(clippy::large_enum_variant)] // one per command, moved straight into the writer queue
pub enum Verdict {
    Reply(Response),
    Execute(Command, Render),
}

/// Names per check command; longer lists are refused rather than served slowly.
pub const CHECK_NAMES_MAX: usize = 100;

/// The `<{name}>` items of a `<check>`: at least one (the schema's rule: 2001), at most [`CHECK_NAMES_MAX`] (2306).
pub fn check_items<'a>(object: &'a Element, ns: &'a Ns, name: &'a str) -> Result<Vec<&'a Element>, EppError> {
    let items: Vec<&Element> = object.children_named(ns, name).collect();
    if items.is_empty() {
        return Err(EppError::syntax(format!("a check needs a <{name}>")));
    }
    if items.len() > CHECK_NAMES_MAX {
        return Err(EppError::new(code::POLICY, format!("at most {CHECK_NAMES_MAX} per check")));
    }
    Ok(items)
}

/// `<domain:period unit="y|m">`: a positive whole number of years (months in
/// multiples of twelve). Values outside the schema (1-99) are syntax errors;
/// the registry's own limit (10 years) answers 2004.
pub fn period(e: &Element) -> Result<u32, EppError> {
    let value: u32 = e.trimmed().parse().map_err(|_| EppError::syntax(format!("period {:?} is not a whole number", e.trimmed())))?;
    if !(1..=99).contains(&value) {
        return Err(EppError::syntax(format!("period {value} is outside 1-99")));
    }
    match e.attr("unit") {
        Some("y") => Ok(value),
        Some("m") if value.is_multiple_of(12) => Ok(value / 12),
        Some("m") => Err(EppError::new(code::POLICY, "periods are whole years")),
        _ => Err(EppError::syntax("period unit must be y or m")),
    }
}
