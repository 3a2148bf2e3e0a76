//! libFuzzer entry point: see `authsession_fuzz::currencycloud_replies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::currencycloud_replies(data));
