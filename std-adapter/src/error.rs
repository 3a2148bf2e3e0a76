//! The one error type of the client. No variant holds a secret: the
//! provider's errors carry only what the server said, and transport errors
//! are reduced to their message, which names no header.

use std::fmt;
use std::time::Duration;

use authsession_core::StepUpRefused;

/// What can go wrong with a call through a [`Client`](crate::Client).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an answer (connection refused or dropped,
    /// timeout, TLS).
    Transport(String),
    /// The API refused the credentials. The client does not try again by
    /// itself; give it new credentials or call
    /// [`Client::login`](crate::Client::login).
    Rejected(authsession_core::Error),
    /// Logins kept failing for passing reasons and the session stopped
    /// trying; the last failure is inside.
    GaveUp(authsession_core::Error),
    /// The API asked us to slow down; try again after `retry_after`.
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The call needs strong customer authentication first, and the client
    /// has no step-up callback.
    StepUpRequired,
    /// Step-up failed: a wrong code too often, an expired code, or the API
    /// wants a new login first. The API's answer is inside.
    StepUpFailed(authsession_core::Error),
    /// The user (or the program) declined to step up.
    StepUpDeclined,
    /// The session refused a step-up action before sending anything: a
    /// code the server already refused for this challenge, a challenge
    /// asked for too soon, a step-up raced by a new login.
    StepUpRefused(StepUpRefused),
    /// The call waited `waited` (for a login, a backoff, a step-up by
    /// another thread) and reached the client's `max_wait`.
    Timeout {
        /// How long it waited.
        waited: Duration,
    },
    /// The token was refused again right after a fresh login.
    TokenRefused,
    /// The API answered with an error the session cannot fix.
    Api(authsession_core::Error),
    /// The client or the call is set up wrongly (a base URL that is not
    /// `https://`, a path to another origin, an invalid header).
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(message) => write!(f, "no answer from the API: {message}"),
            Error::Rejected(error) => write!(f, "login refused: {error}"),
            Error::GaveUp(error) => write!(f, "gave up logging in: {error}"),
            Error::RateLimited { retry_after } => write!(
                f,
                "rate limited by the API: retry in {:.1} s",
                retry_after.as_secs_f64()
            ),
            Error::StepUpRequired => f.write_str("the call needs strong customer authentication"),
            Error::StepUpFailed(error) => write!(f, "step-up failed: {error}"),
            Error::StepUpDeclined => f.write_str("step-up was declined"),
            Error::StepUpRefused(refused) => {
                write!(f, "step-up refused by the session: {refused:?}")
            }
            Error::Timeout { waited } => {
                write!(f, "no session after waiting {:.1} s", waited.as_secs_f64())
            }
            Error::TokenRefused => f.write_str("the token was refused again after a new login"),
            Error::Api(error) => write!(f, "API error: {error}"),
            Error::Config(message) => write!(f, "bad configuration: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The HTTP status of the API's answer behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Rejected(error)
            | Error::GaveUp(error)
            | Error::Api(error)
            | Error::StepUpFailed(error) => match error {
                authsession_core::Error::Api(api) => Some(api.status),
                authsession_core::Error::Malformed { status, .. } => Some(*status),
                _ => None,
            },
            _ => None,
        }
    }

    /// The API's error code behind this error (`auth_failed`), if any.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Error::Rejected(authsession_core::Error::Api(api))
            | Error::GaveUp(authsession_core::Error::Api(api))
            | Error::StepUpFailed(authsession_core::Error::Api(api))
            | Error::Api(authsession_core::Error::Api(api)) => {
                Some(api.code.as_str()).filter(|code| !code.is_empty())
            }
            _ => None,
        }
    }
}
