//! What the built-in providers share: checking a credential, reading a
//! login answer by its status, and reading an error answer's body.

use serde::Deserialize;

use crate::error::{ApiError, CredentialError, CredentialProblem, Error, TokenProblem};
use crate::json::{self, RawStr};
use crate::provider::{LoginOutcome, NewToken, RetryHint, is_header_safe};
use crate::response::{Response, is_success};
use crate::secret::{Buffer, SecretBuf};

/// A credential kept in a buffer of `N` bytes: not empty, no control
/// character (it could not travel in a header or a form), not too long.
pub(crate) fn checked_credential<const N: usize>(
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
pub(crate) const fn is_passing(status: u16) -> bool {
    matches!(status, 429 | 500..=599)
}

/// The outcome of a one-step login: a success read by `read_token` (a
/// success we cannot read is retried), a passing failure retried, anything
/// else refused with the error `error_of` reads.
pub(crate) fn login_outcome<R: Response + ?Sized>(
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
pub(crate) fn error_body<'a, R, T>(
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
pub(crate) fn unreadable_success(error: Error) -> LoginOutcome {
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
pub(crate) fn store_token(value: &[u8], token: &mut impl Buffer) -> Result<(), Error> {
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
