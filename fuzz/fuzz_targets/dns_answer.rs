#![no_main]
//! `domain_os::fuzz::dns_answer` on every input, against a small TLD zone.

use std::cell::RefCell;
use std::sync::LazyLock;

use domain_os::dns::answer::{AnswerConfig, Scratch};
use domain_os::fuzz::{DnsFixture, dns_answer};

static FIXTURE: LazyLock<DnsFixture> = LazyLock::new(DnsFixture::new);

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let config = AnswerConfig { udp_payload_max: 1232, nsid: Some(b"fuzz".to_vec()), keyring: Default::default() };
    let snapshot = FIXTURE.snapshot();
    SCRATCH.with(|s| dns_answer(data, &snapshot, &config, &mut s.borrow_mut()));
});
