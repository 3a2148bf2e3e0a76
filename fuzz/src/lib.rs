//! # authsession-fuzz
//!
//! The bodies of the `cargo fuzz` targets in `fuzz_targets/`, as plain
//! functions over `&[u8]`, so that `tests/replay_corpus.rs` replays the
//! committed corpus (`corpus/<target>/`) on stable with `cargo test`, and a
//! crash found by libFuzzer is one file away from a regression test.
//!
//! Each function asserts what must hold for any input: it panics (a crash,
//! for libFuzzer) when the core panics or breaks one of the invariants of
//! `shared/DESIGN.md`. See `FUZZING.md` for the commands and the figures.

pub mod access_key;
pub mod frame;
pub mod payment_sca;
pub mod replies;
pub mod session;
pub mod snapshot;
pub mod wire;

pub use access_key::{access_key_replies, jwt_claims};
pub use payment_sca::payment_sca;
pub use replies::{currencycloud_replies, weavr_replies};
pub use session::session;
pub use snapshot::snapshot_restore;
pub use wire::http_response;

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `cargo fuzz` and the corpus folders name
/// them.
pub const TARGETS: &[(&str, Target)] = &[
    ("currencycloud_replies", currencycloud_replies),
    ("weavr_replies", weavr_replies),
    ("access_key_replies", access_key_replies),
    ("jwt_claims", jwt_claims),
    ("http_response", http_response),
    ("session", session),
    ("payment_sca", payment_sca),
    ("snapshot_restore", snapshot_restore),
];
