//! Integration tests: the whole daemon in-process, driven by real clients.

mod admin;
mod backup;
mod cli;
mod code_map;
mod common;
mod daemon;
mod dns;
mod dnssec;
mod epp;
mod escrow;
mod fuzz;
mod golden;
mod idn;
mod import;
mod metrics;
mod migration;
mod ops;
mod packaging;
mod phases;
mod rdap;
mod report;
mod reserved;
mod secondary;
mod transfer;
mod whois;
mod zonefile;
