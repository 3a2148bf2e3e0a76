//! libFuzzer entry point: see `authsession_fuzz::http_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::http_response(data));
