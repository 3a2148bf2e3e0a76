//! The provider kit: what every [`Provider`](crate::Provider) needs, so that
//! one for another API is its protocol and little else. The built-in
//! providers are written with it.
//!
//! - [`checked_credential`]: a credential kept in a wiped buffer, refused
//!   before anything is sent when it is empty, too long or holds a control
//!   character;
//! - [`login_outcome`]: a one-step login's answer read by its status, a
//!   passing failure ([`is_passing`]) retried, a refusal never;
//! - [`store_token`]: a token kept only if it can travel in a header;
//! - [`error_body`]: an error answer's status, request id and body;
//! - [`classify`]: the default reading of an application answer (`401` a
//!   refused token, `429` a rate limit with its `Retry-After`);
//! - [`redacted`]: a `Debug` for credentials that shows none of them;
//! - [`parse_json`] and [`write_json`]: bodies read and written without a
//!   heap, every string in a [`Text`](crate::Text) of fixed capacity.
//!
//! It also holds the types only an implementor of
//! [`Provider`](crate::Provider) meets: the requests it describes
//! ([`SessionRequest`], [`RequestHead`], [`RequestSecrets`]) and what it
//! reads from their answers ([`LoginOutcome`], [`StepUpOutcome`],
//! [`Classification`]).

use serde::Deserialize;

pub use crate::json::{parse as parse_json, write as write_json};
pub use crate::provider::{
    AfterStepUpFailure, Classification, LoginOutcome, NewToken, RequestSecrets, RetryHint,
    SessionRequest, StepUpOutcome, is_header_safe,
};
pub use crate::response::{is_success, retry_after};
pub use crate::transmit::RequestHead;

use crate::error::{ApiError, CredentialError, CredentialProblem, Error, TokenProblem};
use crate::grant::Level;
use crate::json::{self, RawStr};
use crate::response::Response;
use crate::secret::{Buffer, SecretBuf};

/// A credential kept in a buffer of `N` bytes: not empty, no control
/// character (it could not travel in a header or a form), not too long.
pub fn checked_credential<const N: usize>(
    field: &'static str,
    value: &str,
) -> Result<SecretBuf<N>, CredentialError> {
    let problem = |problem| CredentialError { field, problem };
    if value.is_empty() {
        return Err(problem(CredentialProblem::Missing));
    }
    if value.chars().any(char::is_control) {
        return Err(problem(CredentialProblem::ControlCharacter));
    }
    SecretBuf::from_text(value, field).map_err(|_| problem(CredentialProblem::TooLong { max: N }))
}

/// Whether a failed answer may succeed later: too many requests, or a
/// server error. Anything else (bad credentials, a wrong path) will not
/// change by retrying, and a retried bad login can lock an account.
pub const fn is_passing(status: u16) -> bool {
    matches!(status, 429 | 500..=599)
}

/// The outcome of a one-step login: a success read by `read_token` (a
/// success we cannot read is retried), a passing failure retried, anything
/// else refused with the error `error_of` reads.
pub fn login_outcome<R: Response + ?Sized>(
    response: &R,
    read_token: impl FnOnce() -> Result<NewToken, Error>,
    error_of: impl FnOnce(&R) -> Error,
) -> LoginOutcome {
    let status = response.status();
    if is_success(status) {
        return match read_token() {
            Ok(new_token) => LoginOutcome::LoggedIn(new_token),
            Err(error) => unreadable_success(error),
        };
    }
    let error = error_of(response);
    if is_passing(status) {
        LoginOutcome::Retry(RetryHint::from_response(response, error))
    } else {
        LoginOutcome::Rejected(error)
    }
}

/// An error answer: its status and request id (from the header
/// `request_id_header`), and its body read as `T`, or `T::default()` when
/// the body is empty.
pub fn error_body<'a, R, T>(
    response: &'a R,
    request_id_header: &'static str,
) -> Result<(ApiError, T), Error>
where
    R: Response + ?Sized,
    T: Deserialize<'a> + Default,
{
    let status = response.status();
    let error = ApiError::with_request_id(status, response, request_id_header)?;
    let body = response.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((error, T::default()));
    }
    Ok((error, json::parse(body, "error body", status)?))
}

/// What a successful answer that could not be read means for the login.
/// A token that cannot be used, or one too large for its buffer, would come
/// again on every retry, and each retry leaves a live session on the
/// server: the login ends, as after a refusal. A body that could not be
/// read at all may be a passing fault (a proxy's page): it is retried.
pub fn unreadable_success(error: Error) -> LoginOutcome {
    match error {
        Error::UnusableToken(_) | Error::Overflow { .. } | Error::AmbiguousIdentity { .. } => {
            LoginOutcome::Rejected(error)
        }
        error => LoginOutcome::Retry(RetryHint::without_wait(error)),
    }
}

/// Keeps a token a login gave, if it can be used: not empty, fit for a
/// header, not longer than the buffer. Otherwise the error says which of
/// these it is, never what the token was.
pub fn store_token(value: &[u8], token: &mut impl Buffer) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::UnusableToken(TokenProblem::Empty));
    }
    if !is_header_safe(value) {
        return Err(Error::UnusableToken(TokenProblem::NotHeaderSafe));
    }
    token.clear();
    token.extend(value, "token").map_err(|error| match error {
        Error::Overflow { capacity, .. } => {
            Error::UnusableToken(TokenProblem::TooLong { capacity })
        }
        other => other,
    })
}

/// [`store_token`] for a token read from JSON: one written with escapes is
/// no header-safe token.
pub(crate) fn store_json_token(value: RawStr<'_>, token: &mut impl Buffer) -> Result<(), Error> {
    match value {
        RawStr::Plain(text) => store_token(text.as_bytes(), token),
        RawStr::Escaped => Err(Error::UnusableToken(TokenProblem::Escaped)),
    }
}

/// The default meaning of an application answer: a `401` to a call that
/// carried a token refuses the token (to one that carried none it is the
/// account's own problem, `error_of` reads it), a `429` is a rate limit
/// with its `Retry-After`, and anything else is the application's.
pub fn classify<R: Response + ?Sized>(
    level: Level,
    response: &R,
    error_of: impl FnOnce(&R) -> Error,
) -> Classification {
    match response.status() {
        401 if level == Level::Account => Classification::Fatal(error_of(response)),
        401 => Classification::TokenRefused,
        429 => Classification::RateLimited(retry_after(response)),
        _ => Classification::Fine,
    }
}

/// Writes `name([redacted])`: the `Debug` of a type that holds
/// credentials, which must show none of them.
///
/// ```
/// use core::fmt;
/// struct Keys;
/// impl fmt::Debug for Keys {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         authsession_core::kit::redacted(f, "Keys")
///     }
/// }
/// assert_eq!(format!("{:?}", Keys), "Keys([redacted])");
/// ```
pub fn redacted(f: &mut core::fmt::Formatter<'_>, name: &str) -> core::fmt::Result {
    write!(f, "{name}([redacted])")
}
