//! What the sandbox saw, so that tests can assert on the traffic a client
//! produced (one login for a burst of expired calls, no login after a
//! rejection) rather than only on what the client reports.

use std::time::Instant;

/// A snapshot of the sandbox's counters, taken by [`Sandbox::counters`].
///
/// Every API served by the sandbox adds to the same counters.
///
/// ```
/// use authsession_sandbox::{Counters, Sandbox, SandboxConfig};
///
/// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
/// assert_eq!(sandbox.counters(), Counters::default());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`Sandbox::counters`]: super::Sandbox::counters
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Successful logins, of every API (for Weavr, the password logins
    /// answered `200`; the exchanges are counted apart).
    pub logins: u64,
    /// Logins refused for their credentials (unknown user, wrong key or
    /// password, disabled or locked account; for Weavr also a missing or
    /// wrong `api-key` and an expired password; for the access-key API an
    /// unknown key or a wrong secret); malformed logins (`400`) are not
    /// counted.
    pub rejected_logins: u64,
    /// `401`s served to requests that need a token (protected calls and
    /// logout; for Weavr also the exchange, `GET /identities` and step-up)
    /// because it was missing, unknown, of the wrong kind, logged out or
    /// idle-expired, or because Weavr's `api-key` was missing or wrong; for
    /// the access-key API, a bearer JWT that is missing, not signed by this
    /// sandbox, or past its end.
    pub unauthorized: u64,
    /// Successful logouts.
    pub logouts: u64,
    /// Protected calls answered with a `2xx` (for Currencycloud also the
    /// payment validates and creates; for Weavr, the calls on managed
    /// accounts, not the login steps or step-up).
    pub calls: u64,
    /// Logins refused by the login rate limit.
    pub rate_limited: u64,
    /// Injected faults consumed.
    pub faults: u64,
    /// Weavr password logins answered `200` (also counted in `logins`).
    pub weavr_logins: u64,
    /// Weavr auth tokens exchanged for an access token.
    pub weavr_exchanges: u64,
    /// Weavr step-up challenges started, by SMS or push.
    pub weavr_challenges: u64,
    /// Weavr step-ups that succeeded: a right code, or an approved push.
    pub weavr_verifications: u64,
    /// Weavr SMS codes the sandbox checked, right or wrong: what a user's
    /// allowance of wrong codes is counted against.
    pub weavr_codes_checked: u64,
    /// Currencycloud `POST /v2/payments/validate`s answered `200`, with or
    /// without SCA.
    pub payment_validations: u64,
    /// Currencycloud payment SCA codes sent by SMS: one per validate that
    /// answered `x-sca-type: SMS`.
    pub payment_sms_sent: u64,
    /// Currencycloud `POST /v2/payments/create`s whose `x-sca-token` the
    /// sandbox compared with the code, right or wrong: what a challenge's
    /// allowance of wrong codes is counted against.
    pub payment_codes_checked: u64,
    /// Currencycloud payments created (`POST /v2/payments/create` answered
    /// `200`).
    pub payments_created: u64,
    /// Access-key logins answered `201` with a token (also counted in
    /// `logins`).
    pub access_key_logins: u64,
    /// Connections the sandbox failed to `accept` (for example with
    /// `EMFILE`, out of file descriptors). Each failure is waited out with
    /// a short backoff, and the sandbox goes on accepting.
    pub accept_failures: u64,
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
