//! Running as an appliance under a supervisor: the systemd protocols
//! (readiness, watchdog, inherited sockets) and where every front-end's
//! listening sockets come from.
//!
//! Must not: hold registry rules or write registry state.

pub mod backup;
pub mod listeners;
pub mod systemd;
