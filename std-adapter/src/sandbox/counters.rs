//! What the sandbox saw, so that tests can assert on the traffic a client
//! produced (one login for a burst of expired calls, no login after a
//! rejection) rather than only on what the client reports.

use std::time::Instant;

/// A snapshot of the sandbox's counters, taken by [`Sandbox::counters`].
///
/// Every API served by the sandbox adds to the same counters.
///
/// ```
/// use authsession_std::sandbox::{Counters, Sandbox, SandboxConfig};
///
/// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
/// assert_eq!(sandbox.counters(), Counters::default());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`Sandbox::counters`]: super::Sandbox::counters
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Successful logins.
    pub logins: u64,
    /// Logins refused for their credentials (unknown user, wrong key,
    /// disabled account); malformed logins (`400`) are not counted.
    pub rejected_logins: u64,
    /// `401`s served to requests that need a token (protected calls and
    /// logout) because it was missing, unknown, logged out or idle-expired.
    pub unauthorized: u64,
    /// Successful logouts.
    pub logouts: u64,
    /// Protected calls answered with a `2xx`.
    pub calls: u64,
    /// Logins refused by the login rate limit.
    pub rate_limited: u64,
    /// Injected faults consumed.
    pub faults: u64,
}

/// The counters and the instants of successful logins, kept together
/// because a login adds to both under the same lock.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub counters: Counters,
    pub login_times: Vec<Instant>,
}

impl Tally {
    pub fn logged_in(&mut self, now: Instant) {
        self.counters.logins += 1;
        self.login_times.push(now);
    }
}
