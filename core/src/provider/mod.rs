//! The seam between the generic session and one API's protocol.
//!
//! A [`Provider`] writes the session's own requests (login steps, step-up,
//! logout), reads their answers into typed outcomes, names the headers an
//! application call needs at each [`Level`], and says what an application
//! response means. The session does everything else: timers, single-flight
//! login, backoff, generations, secrets. A provider for a new API is one
//! file; see the built-in ones in [`crate::providers`].

pub mod kit;

use core::fmt;
use core::time::Duration;

use crate::call_step_up::CallStepUp;
use crate::error::{ApiError, Error};
use crate::grant::Level;
use crate::response::{Response, retry_after};
use crate::secret::Buffer;
use crate::transmit::{HeaderValue, Headers, RequestHead};

/// One step of a login; most APIs need one, Weavr two or three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginStep(pub u8);

impl LoginStep {
    /// The first step.
    pub const FIRST: LoginStep = LoginStep(0);
}

/// A request of the session's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionRequest {
    /// A step of the login.
    Login(LoginStep),
    /// Asking for a step-up challenge on a channel.
    StartStepUp(Channel),
    /// Sending the one-time code of a challenge.
    VerifyCode(Channel),
    /// Closing the session on the server.
    Logout,
}

/// How the user proves the second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A one-time code sent by SMS, typed back by the user.
    Sms,
    /// A push notification to the Authy app, approved out of band.
    Authy,
    /// A push notification to the issuer's app, approved with biometrics.
    Biometric,
}

impl Channel {
    /// Whether the user approves on a device (no code to type).
    pub const fn is_push(self) -> bool {
        matches!(self, Channel::Authy | Channel::Biometric)
    }

    /// The channel's name in the API's paths.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "SMS",
            Channel::Authy => "AUTHY",
            Channel::Biometric => "BIOMETRIC",
        }
    }
}

/// What a request may carry besides what the provider holds: the
/// credentials, a token, and the one-time code of a step-up. The code is
/// handed through only for [`SessionRequest::VerifyCode`]; the session
/// keeps it in a wiped buffer until the answer arrives, and never
/// elsewhere.
#[derive(Debug)]
pub struct RequestSecrets<'a, C, T> {
    /// The user's credentials.
    pub credentials: &'a C,
    /// The token buffer (empty, an intermediate token, or the token).
    pub token: &'a T,
    /// The one-time code for [`SessionRequest::VerifyCode`], else empty.
    pub one_time_code: &'a str,
}

/// What the answer to a step-up request means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepUpOutcome {
    /// The code is on its way to the user.
    CodeSent,
    /// The push challenge waits for the user's approval.
    AwaitingApproval,
    /// The token is stepped up.
    SteppedUp,
    /// The step-up failed; `then` says what follows.
    Failed {
        /// What the server said.
        error: Error,
        /// What the session does next.
        then: AfterStepUpFailure,
    },
}

/// What follows a failed step-up request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterStepUpFailure {
    /// The challenge stands: the user may type the code again.
    RetryCode,
    /// The challenge is over: a new one may be started (after `wait`).
    NewChallenge {
        /// How long before the server accepts a new challenge.
        wait: Option<Duration>,
    },
    /// The token cannot be stepped up any more: log in again.
    LogInAgain,
}

/// What the answer to a login step means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Go on with this step (the provider kept what it needs from the
    /// answer, in the token buffer or in itself).
    Next(LoginStep),
    /// The login is complete: the token is in the token buffer.
    LoggedIn(NewToken),
    /// The credentials were refused: the session will not retry by itself.
    Rejected(Error),
    /// A passing failure: the session retries with backoff.
    Retry(RetryHint),
}

/// What a new token says about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewToken {
    /// The token's whole life, counted from the instant its login was sent;
    /// `None` when only idleness (or a `401`) ends it.
    pub lifetime: Option<Duration>,
    /// The token's end in Unix seconds, for a token that gives no lifetime
    /// (a JWT with `exp` but no `iat`). Used only when the caller gave the
    /// wall-clock time in [`Config::unix_time_at_zero`](crate::Config::unix_time_at_zero).
    pub expires_at_unix: Option<u64>,
    /// Whether the token has already passed strong customer authentication.
    pub stepped_up: bool,
}

/// A passing failure of a login step and what the server said about when
/// to come back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryHint {
    /// What went wrong (kept for [`Event::GaveUp`](crate::Event::GaveUp)).
    pub error: Error,
    /// The wait the server asked for (`Retry-After`), if any.
    pub retry_after: Option<Duration>,
    /// Whether the server said we were too fast (`429`): without a
    /// `Retry-After`, the session then waits
    /// [`Config::rate_limit_wait`](crate::Config::rate_limit_wait).
    pub rate_limited: bool,
}

impl RetryHint {
    /// The hint a response gives: its `Retry-After` and whether it is a `429`.
    pub fn from_response<R: Response + ?Sized>(response: &R, error: Error) -> Self {
        RetryHint {
            error,
            retry_after: retry_after(response),
            rate_limited: response.status() == 429,
        }
    }

    /// A hint with nothing from the server (a body we could not read).
    pub const fn without_wait(error: Error) -> Self {
        RetryHint {
            error,
            retry_after: None,
            rate_limited: false,
        }
    }
}

/// What an application response means for the session, as the provider
/// reads it; the session turns it into the caller's [`Verdict`](crate::Verdict).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Classification {
    /// Nothing for the session (success, or an error of the call itself).
    Fine,
    /// The token was refused (`401`).
    TokenRefused,
    /// The call needs step-up.
    StepUpRequired,
    /// Too many calls; the server's wait if it gave one.
    RateLimited(Option<Duration>),
    /// The call cannot succeed whatever the session does.
    Fatal(Error),
}

/// One API's authentication protocol.
///
/// The session calls these methods; the provider never sees the clock, the
/// network or the session's state. Secrets reach it by reference only.
pub trait Provider {
    /// What the user logs in with: validated when built, shown as
    /// `[redacted]` by `Debug`, wiped on drop.
    type Credentials: fmt::Debug;
    /// The buffer the token lives in, as large as the API's tokens.
    type Token: Buffer;
    /// The buffer the session's request bodies are written into.
    type Body: Buffer;

    /// The API's name, for logs and errors.
    const NAME: &'static str;

    /// How long the server keeps an unused token, if it says (by default
    /// it does not: the token lasts until its lifetime or a `401`).
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether the API has a logout endpoint. Without one, `logout()`
    /// forgets the token locally.
    fn has_logout(&self) -> bool {
        true
    }

    /// Whether the API knows step-up (strong customer authentication).
    fn supports_step_up(&self) -> bool {
        false
    }

    /// How long the server wants between two step-up challenges; the
    /// session does not ask for a new one sooner.
    fn step_up_resend_interval(&self) -> Duration {
        Duration::ZERO
    }

    /// Describes `request` whole: writes its body into `body` (empty when
    /// called; a request without a body writes nothing) and returns its
    /// method, path and headers.
    ///
    /// The session calls it when it queues the request (an error then ends
    /// the request: a login is rejected, a step-up fails) and again, with
    /// the same inputs, when it hands the request out, so what it returns
    /// must depend on those inputs alone.
    fn describe<'a>(
        &'a self,
        request: SessionRequest,
        secrets: RequestSecrets<'a, Self::Credentials, Self::Token>,
        body: &mut Self::Body,
    ) -> Result<RequestHead<'a>, Error>;

    /// Reads the answer to a login step. A token goes into `token` (wiped
    /// before the first step); so may an intermediate one between steps.
    fn read_login<R: Response + ?Sized>(
        &mut self,
        step: LoginStep,
        response: &R,
        token: &mut Self::Token,
    ) -> LoginOutcome;

    /// Adds the headers an application call at `level` needs. `token` is
    /// empty for [`Level::Account`]. By default a call with a token
    /// carries it as `Authorization: Bearer`, and an account-level call
    /// carries nothing.
    fn call_headers<'a>(
        &'a self,
        level: Level,
        credentials: &'a Self::Credentials,
        token: &'a Self::Token,
        headers: &mut Headers<'a>,
    ) -> Result<(), Error> {
        let _ = credentials;
        match level {
            Level::Account => Ok(()),
            Level::User | Level::SteppedUp => headers.push(
                "Authorization",
                HeaderValue::secret("Bearer ", token.as_str()),
            ),
        }
    }

    /// What an application response at `level` means for the session. By
    /// default, [`kit::classify`](crate::kit::classify)'s reading with the
    /// status as the error: a `401` refuses the token, a `429` is a rate
    /// limit.
    fn classify<R: Response + ?Sized>(&self, level: Level, response: &R) -> Classification {
        crate::kit::classify(level, response, |answer| {
            Error::Api(ApiError::status(answer.status()))
        })
    }

    /// The login the credentials name (an e-mail address, a login id, an
    /// access key's id): not a secret, it names a shared session in a
    /// store. By default none.
    fn login_identity<'a>(&self, credentials: &'a Self::Credentials) -> &'a str {
        let _ = credentials;
        ""
    }

    /// The most logins a minute that a fleet sharing one session should
    /// send to this API: its documented login limit with room to spare.
    /// By default 10 (Currencycloud's older documented limit; its current
    /// one is 60).
    fn logins_per_minute(&self) -> u32 {
        10
    }

    /// Feeds every secret of the credentials to `feed`, for a keyed hash
    /// that tells a store whether the credentials changed without keeping
    /// them. By default nothing (a store then cannot tell).
    fn feed_credentials(&self, credentials: &Self::Credentials, feed: &mut dyn FnMut(&[u8])) {
        let _ = (credentials, feed);
    }

    /// Writes what the provider must remember of the current token for
    /// another process to go on with it (Weavr: the identity it acts for)
    /// into `out`, and returns how many bytes. By default nothing.
    fn save_state(&self, out: &mut [u8]) -> Result<usize, Error> {
        let _ = out;
        Ok(0)
    }

    /// Takes back what [`save_state`](Self::save_state) wrote, from a
    /// snapshot. By default only an empty state is accepted.
    fn restore_state(&mut self, state: &[u8]) -> Result<(), Error> {
        if state.is_empty() {
            Ok(())
        } else {
            Err(Error::Unsupported {
                what: "a provider state",
            })
        }
    }

    /// The challenge an application call needs of its own, if any: call
    /// step-up, as Currencycloud's payments with SCA (the call is
    /// validated first, then sent with the user's code). By default no
    /// call needs one.
    fn call_step_up(&self, method: &str, path: &str) -> Option<CallStepUp> {
        let _ = (method, path);
        None
    }

    /// Reads the answer to a step-up request. Only called when
    /// [`supports_step_up`](Self::supports_step_up) is true.
    fn read_step_up<R: Response + ?Sized>(
        &mut self,
        request: SessionRequest,
        response: &R,
    ) -> StepUpOutcome {
        let _ = (request, response);
        StepUpOutcome::Failed {
            error: Error::Unsupported { what: "step-up" },
            then: AfterStepUpFailure::NewChallenge { wait: None },
        }
    }
}

/// Whether `value` may travel in a header: visible ASCII only, no spaces,
/// no control characters. Tokens and keys from any source pass this check
/// before they are stored.
pub fn is_header_safe(value: &[u8]) -> bool {
    // A fold rather than `all`: without the early exit the check runs many
    // bytes at a time, which matters for a JWT of a few hundred bytes.
    !value.is_empty()
        && value
            .iter()
            .fold(true, |safe, byte| safe & (0x21..=0x7e).contains(byte))
}
