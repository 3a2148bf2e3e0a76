//! The session's tunable behaviour, with defaults that suit the built-in
//! APIs.

use core::time::Duration;

/// How a [`Session`](crate::Session) times its tokens and retries.
///
/// ```
/// use authsession_core::Config;
/// use core::time::Duration;
///
/// let config = Config {
///     max_attempts: 3,
///     seed: 42,
///     ..Config::default()
/// };
/// assert_eq!(config.backoff_base, Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// A token is treated as lapsed this long before the server would lapse
    /// it, so that a call never leaves with a token that expires on its way.
    /// It is at most half an idle timeout and a twentieth of a
    /// lifetime, so that a short-lived token still serves most of its life.
    /// Default 30 s: longer than any sane network round trip, a tenth of
    /// Weavr's 5-minute idle timeout.
    pub expiry_margin: Duration,
    /// A token with a known lifetime (a JWT's `exp`) is replaced this long
    /// before it lapses, at a random moment in a window as wide again, so
    /// that clients started together spread their logins; calls keep
    /// using the old token meanwhile. Capped at a tenth of the lifetime.
    /// Default 60 s: a minute is ample for a login round trip and retries,
    /// and costs a one-hour token under 3% of its life. Zero turns
    /// refreshing off (the token is replaced when it lapses).
    pub refresh_ahead: Duration,
    /// The Unix time (seconds) at [`Instant::ZERO`](crate::Instant::ZERO),
    /// if the caller knows it. Only a token that states its end (`exp`) but
    /// not its start (`iat`) needs it; without it such a token lives until
    /// a `401`.
    pub unix_time_at_zero: Option<u64>,
    /// The first retry of a failed login waits up to this long. Default 1 s.
    pub backoff_base: Duration,
    /// No retry waits longer than this (unless the server asks for longer
    /// with `Retry-After`). Default 60 s.
    pub backoff_max: Duration,
    /// Logins that fail for passing reasons (`429`, `5xx`, a broken
    /// connection) in a row before the session gives up. Default 5.
    pub max_attempts: u32,
    /// How long to wait after a `429` that gives no `Retry-After`. Default
    /// 60 s, as Currencycloud advises.
    pub rate_limit_wait: Duration,
    /// The longest wait a server's `Retry-After` may impose; a longer one
    /// is cut to this. Default 5 minutes: longer than any rate limit of the
    /// built-in APIs (Currencycloud asks for a minute), short enough that
    /// one absurd answer (`Retry-After: 31536000000`) does not disable the
    /// session. New credentials or an explicit
    /// [`Session::login`](crate::Session::login) end any wait at once.
    pub max_retry_after: Duration,
    /// How long one of the session's own requests (a login step, step-up,
    /// logout) may go unanswered before it counts as a transport failure,
    /// so that a request the caller lost cannot hold the session for ever.
    /// Reported through [`Session::poll_timeout`](crate::Session::poll_timeout).
    /// Default 60 s: above the blocking client's own HTTP timeouts (40 s),
    /// so that its transport always speaks first.
    pub request_timeout: Duration,
    /// Seed of the jitter of retries, so that tests are repeatable. Give
    /// each process a different seed (the time, its id) so that a fleet does
    /// not retry in step.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            expiry_margin: Duration::from_secs(30),
            refresh_ahead: Duration::from_secs(60),
            unix_time_at_zero: None,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            max_attempts: 5,
            rate_limit_wait: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(5 * 60),
            request_timeout: Duration::from_secs(60),
            seed: 0x5EED_A17E_55E5_510A,
        }
    }
}

impl Config {
    /// The wait a server asked for, capped at [`max_retry_after`](Self::max_retry_after).
    pub fn capped_retry_after(&self, asked: Duration) -> Duration {
        asked.min(self.max_retry_after)
    }
}
