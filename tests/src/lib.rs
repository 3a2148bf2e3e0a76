//! The shared kit of the authsession tests: a [`Harness`] that drives a
//! [`Session`](authsession_core::Session) of any provider by the crate's
//! one rule (drain `poll_transmit` and `poll_event` after every input) and
//! records every output as owned values ([`Sent`], [`Granted`], [`Seen`]),
//! so that a test reads like the protocol; and each provider's fixtures
//! ([`currencycloud`], whose items are also at the crate root,
//! [`weavr`] and [`access_key`]).
//!
//! ```
//! use authsession_tests::{Harness, LOGIN_OK, Seen};
//!
//! let mut h = Harness::currencycloud();
//! h.login();
//! let login = h.take_one_sent();
//! h.answer(&login, 200, LOGIN_OK);
//! assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
//! ```

// A test fixture may fail loudly: its panics are the tests' failures.
#![allow(clippy::expect_used)]

pub mod access_key;
pub mod currencycloud;
pub mod harness;
pub mod model;
pub mod record;
pub mod redis_server;
pub mod tap;
pub mod weavr;

use core::time::Duration;

use authsession_core::Instant;

pub use currencycloud::{
    API_KEY, AUTH_FAILED, BAD_LOGIN_DETAILS, BALANCES_OK, INTERNAL_SERVER_ERROR, LOGIN_ID,
    LOGIN_OK, LOGOUT_OK, NEXT_LOGIN_OK, NEXT_TOKEN, SECRETS, SERVICE_UNAVAILABLE, TOKEN,
    TOO_MANY_REQUESTS, assert_no_secret, currencycloud_credentials,
};
pub use harness::Harness;
pub use record::{Granted, Seen, SeenHeader, Sent, the_only_event};

/// `n` milliseconds.
pub const fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` minutes.
pub const fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// `n` hours.
pub const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// The instant `since_origin` after instant zero.
pub fn at(since_origin: Duration) -> Instant {
    Instant::ZERO + since_origin
}

/// The last millisecond before `instant`.
pub fn just_before(instant: Instant) -> Instant {
    instant.saturating_sub(millis(1))
}
