#![no_main]
//! `domain_os::fuzz::timestamp` on every input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = domain_os::fuzz::timestamp(data);
});
