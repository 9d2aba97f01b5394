//! Integration tests: the whole daemon in-process, driven by real clients.

mod common;
mod dns;
