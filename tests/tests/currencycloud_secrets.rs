//! Currencycloud secrets: no secret in any `Debug` or `Display`, and credentials checked first.
//!
//! As the API documents it (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): no output of the session shows the API key, the login id or a
//! token, and bad credentials are refused before anything is sent, naming
//! the field and the rule, never the value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::CurrencycloudCredentials;
use authsession_core::providers::currencycloud::{API_KEY_LEN, LOGIN_ID_MAX, TOKEN_CAPACITY};
use authsession_core::{Config, CredentialError, CredentialProblem, Error, SessionState};
use authsession_tests::currencycloud::MALFORMED_LOGIN;
use authsession_tests::{
    API_KEY, AUTH_FAILED, Harness, INTERNAL_SERVER_ERROR, LOGIN_ID, LOGIN_OK, LOGOUT_OK,
    NEXT_LOGIN_OK, SERVICE_UNAVAILABLE, TOKEN, assert_no_secret, hours,
};

// ---- no secret in Debug or Display ----

#[test]
fn debug_of_the_session_shows_no_secret_in_any_state() {
    let mut seen = Vec::new();
    let mut h = Harness::currencycloud();
    seen.push((h.state(), format!("{:?}", h.session)));
    h.login();
    seen.push((h.state(), format!("{:?}", h.session)));
    let login = h.take_one_sent();
    h.answer(&login, 200, LOGIN_OK);
    seen.push((h.state(), format!("{:?}", h.session)));
    h.logout();
    seen.push((h.state(), format!("{:?}", h.session)));
    let close = h.take_one_sent();
    h.answer(&close, 200, LOGOUT_OK);
    h.log_in_with(NEXT_LOGIN_OK);
    h.sleep_until_timeout();
    seen.push((h.state(), format!("{:?}", h.session)));
    h.authorize().unwrap_err();
    let login = h.take_one_sent();
    h.answer(&login, 503, SERVICE_UNAVAILABLE);
    seen.push((h.state(), format!("{:?}", h.session)));
    h.sleep_until_timeout();
    let login = h.take_one_sent();
    h.answer(&login, 401, AUTH_FAILED);
    seen.push((h.state(), format!("{:?}", h.session)));

    let states: Vec<_> = seen.iter().map(|(state, _)| *state).collect();
    assert_eq!(states.len(), 7);
    assert!(matches!(
        states[..],
        [
            SessionState::LoggedOut,
            SessionState::LoggingIn { .. },
            SessionState::Active,
            SessionState::LoggingOut,
            SessionState::Expired { .. },
            SessionState::Waiting { .. },
            SessionState::Rejected,
        ]
    ));
    for (_, debug) in &seen {
        assert_no_secret(debug);
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}

#[test]
fn debug_of_credentials_transmits_and_grants_shows_no_secret() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, LOGIN_OK);
    let call = h.grant();
    h.logout();
    let close = h.take_one_sent();

    assert_no_secret(&format!(
        "{:?}",
        authsession_tests::currencycloud_credentials()
    ));
    for debug in [&login.debug, &call.debug, &close.debug] {
        assert_no_secret(debug);
    }
    assert!(close.carries(TOKEN) && call.header("X-Auth-Token").is_some());
    assert!(
        login.carries(API_KEY),
        "the secrets are on the wire, only not in Debug"
    );
}

#[test]
fn debug_and_display_of_every_event_and_error_show_no_secret() {
    let config = Config {
        max_attempts: 2,
        ..Config::default()
    };
    let mut h = Harness::with_config(config);
    // LoggedIn, Expired (idle and refused), RetryScheduled, GaveUp,
    // LoginRejected, LoggedOut, with every kind of error on the way.
    h.log_in_with(LOGIN_OK);
    h.sleep_until_timeout();
    h.log_in_with(NEXT_LOGIN_OK);
    let call = h.grant();
    h.reply(call.ticket, 401, AUTH_FAILED);
    let login = h.take_one_sent();
    h.fail(&login);
    h.sleep_until_timeout();
    let login = h.take_one_sent();
    h.fail(&login);
    h.advance(hours(1));
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, r#"{"auth_token":"ab cd"}"#);
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, "garbage");
    h.sleep_until_timeout();
    let login = h.take_one_sent();
    h.answer(&login, 401, AUTH_FAILED);
    h.login();
    h.log_in_with(LOGIN_OK);
    h.logout();
    let close = h.take_one_sent();
    h.answer(&close, 500, INTERNAL_SERVER_ERROR);

    let mut printed = h.printed.clone();
    let credential_errors = [
        CurrencycloudCredentials::new("", API_KEY).unwrap_err(),
        CurrencycloudCredentials::new(LOGIN_ID, &API_KEY.to_uppercase()).unwrap_err(),
        CurrencycloudCredentials::new(LOGIN_ID, &API_KEY[1..]).unwrap_err(),
    ];
    for error in credential_errors {
        printed.push(format!("{error:?} {error}"));
        let error = Error::from(error);
        printed.push(format!("{error:?} {error}"));
    }
    for error in [
        Error::Transport,
        Error::Unsupported { what: "step-up" },
        Error::Overflow {
            what: "token",
            capacity: TOKEN_CAPACITY,
        },
        MALFORMED_LOGIN,
    ] {
        printed.push(format!("{error:?} {error}"));
    }

    let everything = printed.join("\n");
    for needle in [
        "LoggedIn",
        "Idle",
        "Refused",
        "RetryScheduled",
        "GaveUp",
        "LoginRejected",
        "LoggedOut",
        "Transport",
        "UnusableToken",
        "Malformed",
        "Overflow",
        "auth_failed",
    ] {
        assert!(everything.contains(needle), "the scenario missed {needle}");
    }
    for text in &printed {
        assert_no_secret(text);
    }
}

// ---- credentials, checked before anything is sent ----

fn credential_problem(login_id: &str, api_key: &str) -> CredentialError {
    CurrencycloudCredentials::new(login_id, api_key).unwrap_err()
}

#[test]
fn an_empty_login_id_is_missing() {
    assert_eq!(
        credential_problem("", API_KEY),
        CredentialError {
            field: "login_id",
            problem: CredentialProblem::Missing
        }
    );
}

#[test]
fn a_login_id_longer_than_255_bytes_is_too_long() {
    let login_id = format!("{}@example.com", "d".repeat(LOGIN_ID_MAX - 11));

    assert_eq!(
        credential_problem(&login_id, API_KEY),
        CredentialError {
            field: "login_id",
            problem: CredentialProblem::TooLong { max: LOGIN_ID_MAX }
        }
    );
}

#[test]
fn a_login_id_with_a_control_character_is_refused() {
    for login_id in ["dev\r\n@example.com", "dev\u{0}@example.com", "dev\u{7f}@x"] {
        assert_eq!(
            credential_problem(login_id, API_KEY),
            CredentialError {
                field: "login_id",
                problem: CredentialProblem::ControlCharacter
            }
        );
    }
}

#[test]
fn an_empty_api_key_is_missing() {
    assert_eq!(
        credential_problem(LOGIN_ID, ""),
        CredentialError {
            field: "api_key",
            problem: CredentialProblem::Missing
        }
    );
}

#[test]
fn an_api_key_not_64_characters_long_has_the_wrong_length() {
    for api_key in [&API_KEY[..63], &format!("{API_KEY}0")] {
        assert_eq!(
            credential_problem(LOGIN_ID, api_key),
            CredentialError {
                field: "api_key",
                problem: CredentialProblem::WrongLength {
                    expected: API_KEY_LEN
                }
            }
        );
    }
}

#[test]
fn an_api_key_that_is_not_lowercase_hex_is_refused() {
    for api_key in [
        API_KEY.to_uppercase(),
        "g".repeat(64),
        format!("{} ", &API_KEY[..63]),
    ] {
        assert_eq!(
            credential_problem(LOGIN_ID, &api_key),
            CredentialError {
                field: "api_key",
                problem: CredentialProblem::NotLowercaseHex
            }
        );
    }
}

#[test]
fn credential_errors_name_the_field_and_rule_never_the_value() {
    let error = credential_problem(LOGIN_ID, &API_KEY.to_uppercase());

    assert_eq!(error.to_string(), "api_key must be lowercase hexadecimal");
    assert!(!format!("{error:?}").contains(&API_KEY.to_uppercase()));
}
