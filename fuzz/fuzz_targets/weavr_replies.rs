//! libFuzzer entry point: see `authsession_fuzz::weavr_replies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::weavr_replies(data));
