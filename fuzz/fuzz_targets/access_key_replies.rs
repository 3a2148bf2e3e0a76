//! libFuzzer entry point: see `authsession_fuzz::access_key_replies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::access_key_replies(data));
