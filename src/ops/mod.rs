//! Running as an appliance under a supervisor: the systemd protocols
//! (readiness, watchdog, inherited sockets), where every front-end's
//! listening sockets come from, metrics and online backups.
//!
//! Must not: hold registry rules or write registry state.

pub mod backup;
pub mod listeners;
pub mod metrics;
pub mod systemd;
