//! Blocking client for `authsession` sessions over `ureq`, a local sandbox of
//! the APIs, and the `authsession` command.

#[cfg(feature = "sandbox")]
pub mod sandbox;
