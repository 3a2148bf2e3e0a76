//! Who the emulated Weavr knows: the account's API key, the users every
//! sandbox starts with and their identities, and what each user's failed
//! logins have done to it.

use std::time::{Duration, Instant};

/// The account's API key, sent as the `api-key` header on every request.
///
/// ```
/// use authsession_sandbox::WEAVR_API_KEY;
///
/// assert!(WEAVR_API_KEY.ends_with("=="));
/// ```
pub const WEAVR_API_KEY: &str = "Wv4yT0sQm8Lx2Nc6Rk9BzA==";

/// The email of a user with one corporate identity,
/// [`WEAVR_CORPORATE_ID`].
///
/// ```
/// use authsession_sandbox::{WEAVR_EMAIL, WEAVR_PASSWORD};
///
/// assert_eq!(WEAVR_EMAIL, "corporate@example.com");
/// assert!(!WEAVR_PASSWORD.is_empty());
/// ```
pub const WEAVR_EMAIL: &str = "corporate@example.com";

/// The password of every Weavr sandbox user.
pub const WEAVR_PASSWORD: &str = "Sandbox-Passw0rd!";

/// The email of a user with two identities, a corporate
/// ([`WEAVR_TWO_IDENTITIES_CORPORATE_ID`]) and a consumer
/// ([`WEAVR_TWO_IDENTITIES_CONSUMER_ID`]); its password is
/// [`WEAVR_PASSWORD`].
pub const WEAVR_TWO_IDENTITIES_EMAIL: &str = "owner@example.com";

/// The email of a user whose password has expired: a login with the right
/// password gets a `409` and a temporary token.
pub const WEAVR_EXPIRED_EMAIL: &str = "expired@example.com";

/// The corporate identity of [`WEAVR_EMAIL`].
pub const WEAVR_CORPORATE_ID: &str = "110138374263767072";

/// The managed account of [`WEAVR_CORPORATE_ID`].
pub const WEAVR_MANAGED_ACCOUNT_ID: &str = "110138374263767200";

/// The corporate identity of [`WEAVR_TWO_IDENTITIES_EMAIL`].
pub const WEAVR_TWO_IDENTITIES_CORPORATE_ID: &str = "110138374263767104";

/// The consumer identity of [`WEAVR_TWO_IDENTITIES_EMAIL`].
pub const WEAVR_TWO_IDENTITIES_CONSUMER_ID: &str = "110138374263767136";

/// The one-time code of every step-up challenge, as in Weavr's sandbox.
pub const WEAVR_OTP_CODE: &str = "123456";

/// An identity a user may act as, with its one managed account.
#[derive(Debug)]
pub(super) struct Identity {
    /// `CORPORATE` or `CONSUMER`.
    pub kind: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    pub account: &'static str,
}

/// A user as configured: fixed for the sandbox's life.
#[derive(Debug)]
pub(super) struct Profile {
    pub email: &'static str,
    pub password: &'static str,
    /// The root user's credentials id.
    pub credentials: &'static str,
    pub password_expired: bool,
    pub identities: &'static [Identity],
}

const PROFILES: [Profile; 3] = [
    Profile {
        email: WEAVR_EMAIL,
        password: WEAVR_PASSWORD,
        credentials: WEAVR_CORPORATE_ID,
        password_expired: false,
        identities: &[Identity {
            kind: "CORPORATE",
            id: WEAVR_CORPORATE_ID,
            name: "Demo Corporate Ltd",
            account: WEAVR_MANAGED_ACCOUNT_ID,
        }],
    },
    Profile {
        email: WEAVR_TWO_IDENTITIES_EMAIL,
        password: WEAVR_PASSWORD,
        credentials: WEAVR_TWO_IDENTITIES_CORPORATE_ID,
        password_expired: false,
        identities: &[
            Identity {
                kind: "CORPORATE",
                id: WEAVR_TWO_IDENTITIES_CORPORATE_ID,
                name: "Owner Trading Ltd",
                account: "110138374263767232",
            },
            Identity {
                kind: "CONSUMER",
                id: WEAVR_TWO_IDENTITIES_CONSUMER_ID,
                name: "Alex Owner",
                account: "110138374263767264",
            },
        ],
    },
    Profile {
        email: WEAVR_EXPIRED_EMAIL,
        password: WEAVR_PASSWORD,
        credentials: "110138374263767168",
        password_expired: true,
        identities: &[Identity {
            kind: "CORPORATE",
            id: "110138374263767168",
            name: "Expired Password Ltd",
            account: "110138374263767296",
        }],
    },
];

/// A user and its record of failed logins.
#[derive(Debug)]
pub(super) struct User {
    pub profile: &'static Profile,
    /// Consecutive failed logins.
    failures: u32,
    /// When the user was locked out, if it still may be.
    locked_at: Option<Instant>,
}

impl User {
    pub fn all() -> Vec<User> {
        PROFILES
            .iter()
            .map(|profile| User {
                profile,
                failures: 0,
                locked_at: None,
            })
            .collect()
    }

    /// Whether the user is locked out at `now`; a lock that has run its
    /// course is lifted, with the failures that caused it.
    pub fn locked(&mut self, now: Instant, lock_duration: Duration) -> bool {
        match self.locked_at {
            Some(at) if now.duration_since(at) < lock_duration => true,
            Some(_) => {
                self.locked_at = None;
                self.failures = 0;
                false
            }
            None => false,
        }
    }

    /// Records a failed login; the `lockout_after`-th in a row locks the
    /// user out.
    pub fn failed(&mut self, now: Instant, lockout_after: u32) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= lockout_after {
            self.locked_at = Some(now);
        }
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}
