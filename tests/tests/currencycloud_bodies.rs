//! Currencycloud bodies: oversized and malformed answers, and tokens unfit for a header.
//!
//! As the API documents it (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): bad login and error bodies give typed errors without panicking, and
//! a token that cannot travel in a header is refused and never sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::currencycloud::TOKEN_CAPACITY;
use authsession_core::{Error, NotReady, SessionState, TokenProblem};
use authsession_tests::currencycloud::{MALFORMED_LOGIN, REQUEST_ID, answer_login};
use authsession_tests::{AUTH_FAILED, Harness, Seen, mins, the_only_event};

// ---- oversized and malformed bodies ----

/// A login answered `200` with `body` is not a login: the session keeps
/// the typed error and retries later, and hands out no token.
fn login_200_fails_with(body: &[u8], expected: &Error) {
    let mut h = Harness::currencycloud();

    let events = answer_login(&mut h, 200, &[], body);

    assert!(
        matches!(events[..], [Seen::RetryScheduled { attempt: 1, .. }]),
        "{events:?}"
    );
    assert_eq!(h.session.last_error(), Some(expected));
    assert!(matches!(
        h.state(),
        SessionState::Waiting { attempt: 1, .. }
    ));
    assert!(h.authorize().is_err());
    assert!(h.all_grants.is_empty());
}

/// A login answered `200` with `body` gave a token that cannot be used:
/// the login ends with `problem` and is not retried by itself.
fn login_200_unusable(body: &[u8], problem: TokenProblem) {
    let mut h = Harness::currencycloud();

    let events = answer_login(&mut h, 200, &[], body);
    for _ in 0..3 {
        assert_eq!(h.authorize().err(), Some(NotReady::Rejected));
        h.advance(mins(10));
        h.timeout();
    }

    assert_eq!(events, [Seen::LoginRejected(Error::UnusableToken(problem))]);
    assert_eq!(h.all_sent.len(), 1, "one login in all");
    assert!(h.all_grants.is_empty());
}

#[test]
fn a_login_200_with_garbage_is_a_malformed_login_response() {
    login_200_fails_with(b"<html><body>Bad gateway</body></html>", &MALFORMED_LOGIN);
}

#[test]
fn a_login_200_with_an_empty_body_is_a_malformed_login_response() {
    login_200_fails_with(b"", &MALFORMED_LOGIN);
}

#[test]
fn a_login_200_without_a_token_is_a_malformed_login_response() {
    login_200_fails_with(b"{}", &MALFORMED_LOGIN);
    login_200_unusable(br#"{"auth_token":""}"#, TokenProblem::Empty);
    login_200_fails_with(br#"{"auth_token":42}"#, &MALFORMED_LOGIN);
    login_200_fails_with(br#"{"auth_token":null}"#, &MALFORMED_LOGIN);
}

#[test]
fn a_login_200_that_is_not_utf8_is_a_malformed_login_response() {
    login_200_fails_with(b"{\"auth_token\":\"\xff\xfe\xfd\"}", &MALFORMED_LOGIN);
    login_200_fails_with(b"\xff\xfe\xfd\xfc", &MALFORMED_LOGIN);
}

#[test]
fn a_login_200_with_a_10_kb_token_overflows_the_token_buffer() {
    let body = format!(r#"{{"auth_token":"{}"}}"#, "a".repeat(10 * 1024));

    login_200_unusable(
        body.as_bytes(),
        TokenProblem::TooLong {
            capacity: TOKEN_CAPACITY,
        },
    );
}

#[test]
fn a_login_200_with_a_token_one_byte_too_long_overflows_and_one_that_fits_logs_in() {
    let too_long = format!(r#"{{"auth_token":"{}"}}"#, "a".repeat(TOKEN_CAPACITY + 1));
    login_200_unusable(
        too_long.as_bytes(),
        TokenProblem::TooLong {
            capacity: TOKEN_CAPACITY,
        },
    );

    let longest = "a".repeat(TOKEN_CAPACITY);
    let mut h = Harness::currencycloud();
    h.log_in_with(&format!(r#"{{"auth_token":"{longest}"}}"#));
    assert_eq!(h.grant().header("X-Auth-Token"), Some(longest));
}

/// A login answered `401` with `body` is rejected with `expected`.
fn login_401_rejected_with(body: &[u8], expected: &Error) {
    let mut h = Harness::currencycloud();

    let events = answer_login(&mut h, 401, &[], body);

    assert_eq!(events, [Seen::LoginRejected(expected.clone())]);
    assert_eq!(h.state(), SessionState::Rejected);
}

const MALFORMED_ERROR_BODY: Error = Error::Malformed {
    what: "error body",
    status: 401,
};

#[test]
fn an_error_body_with_an_error_code_too_long_overflows() {
    let body = format!(
        r#"{{"error_code":"{}","error_messages":{{}}}}"#,
        "x".repeat(65)
    );

    login_401_rejected_with(
        body.as_bytes(),
        &Error::Overflow {
            what: "error body",
            capacity: 64,
        },
    );
}

#[test]
fn an_error_body_with_many_field_errors_keeps_the_first_and_counts_them_all() {
    let first = r#"{"code":"invalid_supplied_credentials","message":"no","params":{}}"#;
    let entry = r#"{"code":"other_problem","message":"no","params":{"length":64}}"#;
    let many = [first]
        .into_iter()
        .chain([entry; 999])
        .collect::<Vec<_>>()
        .join(",");
    let body =
        format!(r#"{{"error_code":"auth_failed","error_messages":{{"username":[{many}]}}}}"#);
    let mut h = Harness::currencycloud();

    let events = answer_login(&mut h, 401, &[], body.as_bytes());

    let Seen::LoginRejected(Error::Api(error)) = the_only_event(events) else {
        panic!("not a rejection with the server's error");
    };
    assert_eq!(error.field_count, 1000);
    let field = error.field.expect("the first field error");
    assert_eq!(field.code, "invalid_supplied_credentials");
}

#[test]
fn an_error_body_that_is_not_json_is_malformed() {
    login_401_rejected_with(b"<html>Unauthorized</html>", &MALFORMED_ERROR_BODY);
    login_401_rejected_with(br#"{"error_code":"auth_failed""#, &MALFORMED_ERROR_BODY);
    login_401_rejected_with(br#"{"error_code":17}"#, &MALFORMED_ERROR_BODY);
}

#[test]
fn an_error_body_that_is_not_utf8_is_malformed() {
    login_401_rejected_with(b"{\"error_code\":\"\xff\xfe\"}", &MALFORMED_ERROR_BODY);
}

#[test]
fn an_empty_error_body_still_gives_the_status_and_request_id() {
    let mut h = Harness::currencycloud();

    let events = answer_login(&mut h, 401, &[("X-Request-Id", REQUEST_ID.as_bytes())], b"");

    let Seen::LoginRejected(Error::Api(error)) = the_only_event(events) else {
        panic!("not a rejection with the status");
    };
    assert_eq!(
        (error.status, error.code.as_str(), error.request_id.as_str()),
        (401, "", REQUEST_ID)
    );
    assert_eq!((error.field, error.field_count), (None, 0));
}

#[test]
fn deeply_nested_or_huge_bodies_give_a_typed_error_without_panicking() {
    let deep_ignored = format!(
        r#"{{"error_code":"auth_failed","other":{}}}"#,
        "[".repeat(100_000)
    );
    let deep_params = format!(
        r#"{{"error_messages":{{"username":[{{"params":{{"p":{}}}}}]}}}}"#,
        "[".repeat(100_000)
    );
    let huge = " ".repeat(1 << 20) + "{";
    for body in [deep_ignored, deep_params, huge] {
        let mut h = Harness::currencycloud();
        let events = answer_login(&mut h, 401, &[], body.as_bytes());
        assert!(
            matches!(
                events[..],
                [Seen::LoginRejected(
                    Error::Malformed { .. } | Error::Overflow { .. }
                )]
            ),
            "{events:?}"
        );

        let mut h = Harness::currencycloud();
        let events = answer_login(&mut h, 200, &[], body.as_bytes());
        assert!(
            matches!(events[..], [Seen::RetryScheduled { .. }]),
            "{events:?}"
        );
    }
}

#[test]
fn bodies_that_serde_would_quote_at_length_give_a_typed_error_without_panicking() {
    // serde's refusals quote the value, and serde-json-core panics on a
    // message longer than 64 bytes: no body may lead the reader there.
    let long = "x".repeat(200);
    let escaped_token = format!(r#"{{"auth_token":"{}"}}"#, r"ab\/".repeat(40));
    login_200_unusable(escaped_token.as_bytes(), TokenProblem::Escaped);

    for params in [
        format!(r#""{long}""#),
        format!(
            r#""{long}
""#
        ),
        "-12345678901234567890.5e300".into(),
    ] {
        let body = format!(
            r#"{{"error_code":"auth_failed","error_messages":{{"username":[{{"code":"invalid_supplied_credentials","params":{params}}}]}}}}"#
        );
        let mut h = Harness::currencycloud();
        let events = answer_login(&mut h, 401, &[], body.as_bytes());
        let Seen::LoginRejected(Error::Api(error)) = the_only_event(events) else {
            panic!("not a rejection with the server's error: {params}");
        };
        let field = error.field.expect("the field error");
        assert_eq!(field.code, "invalid_supplied_credentials");
    }
}

#[test]
fn a_request_id_too_long_or_not_utf8_is_a_typed_error() {
    let long_id = "r".repeat(65);
    for (id, expected) in [
        (
            long_id.as_bytes(),
            Error::Overflow {
                what: "X-Request-Id",
                capacity: 64,
            },
        ),
        (
            b"\xff\xfe".as_slice(),
            Error::Malformed {
                what: "X-Request-Id",
                status: 401,
            },
        ),
    ] {
        let mut h = Harness::currencycloud();
        let events = answer_login(&mut h, 401, &[("X-Request-Id", id)], AUTH_FAILED.as_bytes());
        assert_eq!(events, [Seen::LoginRejected(expected)]);
    }
}

// ---- a token that cannot travel in a header ----

/// A login answered with `token` in the seed's body shape ends the login
/// with `problem`; it is not retried (each login the server answers is a
/// live session), and the token goes on no request and into no grant.
fn token_refused(token_json: &str, problem: TokenProblem) {
    let mut h = Harness::currencycloud();
    let body = format!(r#"{{"auth_token":"{token_json}"}}"#);

    let events = answer_login(&mut h, 200, &[], body.as_bytes());
    for _ in 0..5 {
        let _ = h.authorize();
        h.advance(mins(1));
        h.timeout();
    }

    assert_eq!(
        events,
        [Seen::LoginRejected(Error::UnusableToken(problem))],
        "{token_json}"
    );
    assert_eq!(h.state(), SessionState::Rejected);
    assert_eq!(h.all_sent.len(), 1, "one login in all: {token_json}");
    assert_eq!(h.session.generation(), 0);
    assert!(h.all_grants.is_empty());
    let shown = token_json.replace("\\u0001", "\u{1}");
    assert!(!h.all_sent.iter().any(|sent| sent.carries(&shown)));
    assert!(
        !h.all_sent
            .iter()
            .any(|sent| sent.header("X-Auth-Token").is_some())
    );
    // Only the caller's own login tries again.
    h.login();
    assert_eq!(h.take_one_sent().path, "/v2/authenticate/api");
}

#[test]
fn a_token_with_a_control_character_is_refused() {
    token_refused(r"ab\u0001cd", TokenProblem::Escaped);
}

#[test]
fn a_token_with_a_space_is_refused() {
    token_refused("ab cd", TokenProblem::NotHeaderSafe);
}

#[test]
fn a_token_with_a_line_break_is_refused() {
    token_refused(r"ab\r\nX-Injected: yes", TokenProblem::Escaped);
}

#[test]
fn a_token_with_a_non_ascii_character_is_refused() {
    token_refused("ab\u{e9}cd", TokenProblem::NotHeaderSafe);
}
