//! libFuzzer entry point: see `authsession_fuzz::jwt_claims`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::jwt_claims(data));
