//! libFuzzer entry point: see `authsession_fuzz::payment_sca`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::payment_sca(data));
