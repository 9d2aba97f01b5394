//! domain-os: a domain registry appliance in one binary.
//!
//! Registry state lives in one embedded redb database ([`store`]). Every change
//! — from registrars over EPP ([`epp`]), the operator API, zone imports and
//! lifecycle timers — is a command executed by the single registry writer
//! ([`registry`]), which commits objects, the zone rows derived from them, a
//! journal of the exact RR changes, poll messages, billing and report counters
//! in one transaction, durably, before anyone is told it succeeded.
//! Authoritative DNS ([`dns`]) answers every query from the latest committed
//! snapshot, serves AXFR/IXFR from the same rows and journal, NOTIFYs
//! secondaries and writes BIND zonefiles; RDAP ([`rdap`]) and WHOIS
//! ([`whois`]) read the same snapshots for the public, behind rate limits
//! ([`ratelimit`]). [`daemon`] wires the front-ends together; [`model`] holds
//! the pure rules they all share.

// Unsafe code lives in two modules, which allow it for themselves: `dns::udp`
// (recvmmsg/sendmmsg) and `ops::systemd` (adopting inherited sockets).
#![deny(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod connections;
pub mod daemon;
pub mod demo;
pub mod dns;
pub mod epp;
pub mod escrow;
#[doc(hidden)]
pub mod fuzz;
pub mod model;
pub mod ops;
pub mod ratelimit;
pub mod rdap;
pub mod rdds;
pub mod registry;
pub mod report;
pub mod store;
pub mod tmch;
pub mod whois;
