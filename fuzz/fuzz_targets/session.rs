//! libFuzzer entry point: see `authsession_fuzz::session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::session(data));
