//! domain-os: a domain registry appliance in one binary.
//!
//! Registry state lives in one embedded redb database ([`store`]). Every change
//! — from the operator API, zone imports, and later EPP and lifecycle timers —
//! is a command executed by the single registry writer ([`registry`]), which
//! commits objects, the zone rows derived from them and a journal of the exact
//! RR changes in one transaction, durably, before anyone is told it succeeded.
//! Authoritative DNS ([`dns`]) answers every query from the latest committed
//! snapshot, serves AXFR/IXFR from the same rows and journal, NOTIFYs
//! secondaries and writes BIND zonefiles. [`daemon`] wires the front-ends
//! together; [`model`] holds the pure rules they all share.

pub mod admin;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod dns;
pub mod epp;
pub mod model;
pub mod registry;
pub mod store;
