//! libFuzzer entry point: see `authsession_fuzz::snapshot_restore`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsession_fuzz::snapshot_restore(data));
