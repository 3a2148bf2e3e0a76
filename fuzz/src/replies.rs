//! Each provider's reading of the server's answers, fed a response made of
//! fuzz bytes: logins (every step), error bodies, application replies at
//! every level, and step-up answers. Every function runs all of them on one
//! input and asserts what must hold whatever the bytes are.

use core::fmt::Write as _;

use authsession_core::kit::{
    Classification, LoginOutcome, SessionRequest, StepUpOutcome, is_header_safe, is_success,
    retry_after,
};
use authsession_core::providers::weavr::IdentityType;
use authsession_core::providers::{Currencycloud, Weavr, currencycloud, weavr};
use authsession_core::{
    ApiError, Channel, Error, ErrorKind, Level, LoginStep, Provider, Response, ResponseParts,
    SecretBuf,
};

use crate::frame::Frame;

/// The three levels of an application call.
const LEVELS: [Level; 3] = [Level::Account, Level::User, Level::SteppedUp];

/// Currencycloud: the login answer, the error body, and the reply to a call
/// at each level.
pub fn currencycloud_replies(data: &[u8]) {
    let frame = Frame::read(data);
    let response = frame.parts();

    let mut provider = Currencycloud::default();
    let mut token = SecretBuf::<{ currencycloud::TOKEN_CAPACITY }>::new();
    let outcome = provider.read_login(LoginStep::FIRST, &response, &mut token);
    check_login(&outcome, token.as_bytes(), &[], &response);

    check_error(
        &currencycloud::error_of(&response),
        &response,
        "X-Request-Id",
    );

    for level in LEVELS {
        let reply = provider.classify(level, &response);
        check_reply(&reply, &response);
        check_classified(&reply, level, &response);
    }
}

/// Weavr: each login step in order (with and without a configured
/// identity, so that the provider's memory between steps is exercised), the
/// error body, the reply to a call at each level, and the answer to each
/// step-up request.
pub fn weavr_replies(data: &[u8]) {
    let frame = Frame::read(data);
    let response = frame.parts();

    let configured = Weavr::default()
        .with_identity(IdentityType::Corporate, "109876")
        .unwrap_or_default();
    for mut provider in [Weavr::default(), configured] {
        let mut token = SecretBuf::<{ weavr::TOKEN_CAPACITY }>::new();
        for step in [LoginStep(0), LoginStep(1), LoginStep(2)] {
            let before = token.as_bytes().to_vec();
            let outcome = provider.read_login(step, &response, &mut token);
            check_login(&outcome, token.as_bytes(), &before, &response);
            if let LoginOutcome::Next(next) = outcome {
                assert!(next > step, "a login step {step:?} leads back to {next:?}");
            }
        }
    }

    check_error(&weavr::error_of(&response), &response, "request-ref");

    let provider = Weavr::default();
    for level in LEVELS {
        let reply = provider.classify(level, &response);
        check_reply(&reply, &response);
        check_classified(&reply, level, &response);
    }

    let mut provider = Weavr::default();
    for request in [
        SessionRequest::StartStepUp(Channel::Sms),
        SessionRequest::StartStepUp(Channel::Authy),
        SessionRequest::StartStepUp(Channel::Biometric),
        SessionRequest::VerifyCode(Channel::Sms),
    ] {
        let outcome = provider.read_step_up(request, &response);
        let success = matches!(response.status(), 200 | 204);
        match &outcome {
            StepUpOutcome::Failed { error, .. } => {
                assert!(!success, "{request:?} failed on a success: {outcome:?}");
                printable_error(error);
            }
            _ => assert!(success, "{request:?} succeeded on {}", response.status()),
        }
        printable(&outcome);
    }
}

/// What a login outcome must satisfy: a token taken from the body whole
/// (never cut, never invented), fit for a header, never printed; the
/// server's wait as the header says it.
fn check_login(outcome: &LoginOutcome, token: &[u8], before: &[u8], response: &ResponseParts<'_>) {
    // The outcomes of a success hold no text at all, so they cannot print
    // the token; the session's model tests check printing with tokens that
    // cannot occur by chance.
    printable(outcome);
    match outcome {
        LoginOutcome::LoggedIn(_) | LoginOutcome::Next(_) if token != before => {
            assert!(is_header_safe(token), "a token unfit for a header was kept");
            let mut quoted = b"\"".to_vec();
            quoted.extend_from_slice(token);
            quoted.push(b'"');
            assert!(
                contains(response.body(), &quoted),
                "the token kept is not a whole string of the body"
            );
        }
        LoginOutcome::LoggedIn(_) => {
            assert!(is_header_safe(token), "logged in without a token");
        }
        LoginOutcome::Next(_) => {}
        LoginOutcome::Rejected(error) => {
            printable_error(error);
            // A success is refused only for what no retry can change.
            if is_success(response.status()) {
                assert!(
                    matches!(
                        error,
                        Error::UnusableToken(_)
                            | Error::Overflow { .. }
                            | Error::AmbiguousIdentity { .. }
                    ),
                    "a success refused for {error:?}"
                );
            }
        }
        LoginOutcome::Retry(hint) => {
            printable_error(&hint.error);
            if hint.retry_after.is_some() {
                assert_eq!(hint.retry_after, retry_after(response));
            }
            if hint.rate_limited {
                assert_eq!(response.status(), 429);
            }
        }
    }
}

/// What an error read from a body must satisfy: the request id whole or
/// refused, the code a string of the body (never a cut one), printable.
pub(crate) fn check_error(error: &Error, response: &ResponseParts<'_>, request_id_header: &str) {
    printable_error(error);
    if let Error::Api(api) = error {
        assert_eq!(api.status, response.status());
        match response.header(request_id_header) {
            Some(id) => assert_eq!(api.request_id.as_bytes(), id),
            None => assert!(api.request_id.is_empty()),
        }
        let escaped = response.body().contains(&b'\\');
        for text in [api.code.as_str(), api.message.as_str()] {
            if !text.is_empty() && !escaped {
                assert!(
                    contains(response.body(), text.as_bytes()),
                    "{text:?} is not in the body"
                );
            }
        }
    }
}

/// A `401` to a call that carried a token refuses the token, unless it
/// speaks of a payment's strong customer authentication (then it is the
/// call's own error); one to a call that carried none cannot (it is the
/// account's key, or the call's own business). Only `401`, `403` and `429`
/// concern the session.
fn check_classified(reply: &Classification, level: Level, response: &ResponseParts<'_>) {
    match (response.status(), level) {
        (401, Level::Account) => {
            assert!(!matches!(reply, Classification::TokenRefused), "{reply:?}");
        }
        (401, _) => assert!(
            matches!(
                reply,
                Classification::TokenRefused
                    | Classification::Fatal(Error::Api(ApiError {
                        kind: ErrorKind::PaymentSca(_),
                        ..
                    }))
            ),
            "{reply:?}"
        ),
        (403 | 429, _) => {}
        _ => assert_eq!(*reply, Classification::Fine),
    }
}

fn check_reply(reply: &Classification, response: &ResponseParts<'_>) {
    printable(reply);
    if let Classification::RateLimited(wait) = reply {
        assert_eq!(response.status(), 429);
        assert_eq!(*wait, retry_after(response));
    }
}

/// `Debug` (and `Display`, for errors) of `value`, which must not panic.
pub(crate) fn printable<T: core::fmt::Debug>(value: &T) -> String {
    let mut out = String::new();
    let _ = write!(out, "{value:?}");
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// `Display` and `Debug` of an error, which must not panic.
pub(crate) fn printable_error(error: &Error) -> String {
    let mut out = String::new();
    let _ = write!(out, "{error} {error:?}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode;

    #[test]
    fn the_seed_login_is_read() {
        let body = br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#;
        currencycloud_replies(&encode(200, &[], body));
        weavr_replies(&encode(200, &[], br#"{"token":"abc.def.ghi"}"#));
    }

    #[test]
    fn errors_print() {
        let error = currencycloud::error_of(&ResponseParts::new(500, b"not json"));
        assert!(!printable_error(&error).is_empty());
    }
}
