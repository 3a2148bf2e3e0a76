//! Currencycloud login: the first login, the token on the call, a refused login, logout.
//!
//! As the API documents it (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): log in with a login id and an API key, put the token on every call
//! as `X-Auth-Token`, never retry a refused login, and log out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::Currencycloud;
use authsession_core::providers::CurrencycloudCredentials;
use authsession_core::providers::currencycloud::{LOGIN_ID_MAX, LOGIN_PATH, LOGOUT_PATH};
use authsession_core::{Error, Level, Method, NotReady, SessionState, Verdict};
use authsession_tests::currencycloud::{Failure, LOGGING_IN, REQUEST_ID, answer_login, fail_login};
use authsession_tests::{
    API_KEY, AUTH_FAILED, BAD_LOGIN_DETAILS, BALANCES_OK, Harness, INTERNAL_SERVER_ERROR, LOGIN_ID,
    LOGIN_OK, LOGOUT_OK, NEXT_LOGIN_OK, NEXT_TOKEN, Seen, TOKEN, hours, the_only_event,
};

/// A session whose login was refused with the seed's `401`.
fn rejected() -> Harness<Currencycloud> {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 401, AUTH_FAILED);
    assert_eq!(h.state(), SessionState::Rejected);
    h.take_events();
    h
}

// ---- first login ----

#[test]
fn a_call_that_needs_a_token_queues_the_first_login() {
    let mut h = Harness::currencycloud();

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    let login = h.take_one_sent();
    assert_eq!(login.method, Method::Post);
    assert_eq!(login.path, LOGIN_PATH);
    assert_eq!(login.header("X-Auth-Token"), None);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn the_login_is_multipart_with_login_id_and_api_key_between_the_announced_boundaries() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();

    let content_type = login.header("Content-Type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart content type with its boundary");
    assert!(!boundary.is_empty());
    let body = login.body_text();
    let part = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    assert!(body.starts_with(&format!("--{boundary}\r\n")), "{body}");
    assert!(body.contains(&part("login_id", LOGIN_ID)), "{body}");
    assert!(body.contains(&part("api_key", API_KEY)), "{body}");
    assert!(body.ends_with(&format!("\r\n--{boundary}--\r\n")), "{body}");
    assert_eq!(body.matches(&format!("--{boundary}")).count(), 3);
    assert!(!LOGIN_ID.contains(boundary) && !API_KEY.contains(boundary));
}

#[test]
fn the_seed_200_logs_in_and_makes_the_session_active() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();

    h.answer(&login, 200, LOGIN_OK);

    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(h.state(), SessionState::Active);
    assert_eq!(h.session.generation(), 1);
    assert!(h.nothing_sent());
    assert_eq!(h.session.last_error(), None);
}

#[test]
fn calls_waiting_for_the_first_login_share_one_login() {
    let mut h = Harness::currencycloud();
    for _ in 0..10 {
        assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    }
    let login = h.take_one_sent();

    h.answer(&login, 200, LOGIN_OK);

    for _ in 0..10 {
        assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
    }
    assert_eq!(h.all_sent.len(), 1);
}

#[test]
fn the_longest_login_id_fits_the_login_body() {
    let login_id = format!("{}@example.com", "d".repeat(LOGIN_ID_MAX - 12));
    assert_eq!(login_id.len(), LOGIN_ID_MAX);
    let mut h = Harness::currencycloud();
    h.set_credentials(CurrencycloudCredentials::new(&login_id, API_KEY).unwrap());

    h.login();

    assert!(h.take_one_sent().body_text().contains(&login_id));
    assert_eq!(h.state(), LOGGING_IN);
}

// ---- the token on the call ----

#[test]
fn the_token_goes_on_the_call_as_x_auth_token() {
    let mut h = Harness::logged_in();

    let call = h.grant();

    assert_eq!(call.headers.len(), 1);
    let header = &call.headers[0];
    assert_eq!(header.name, "X-Auth-Token");
    assert_eq!((header.prefix.as_str(), header.value.as_str()), ("", TOKEN));
    assert!(header.sensitive);
    assert_eq!(call.ticket.generation(), 1);
    assert_eq!(call.ticket.level(), Level::User);
}

#[test]
fn a_successful_call_changes_nothing() {
    let mut h = Harness::logged_in();
    let call = h.grant();

    assert_eq!(h.reply(call.ticket, 200, BALANCES_OK), Verdict::Ok);

    assert_eq!(h.state(), SessionState::Active);
    assert!(h.nothing_sent());
    assert!(h.take_events().is_empty());
}

// ---- a refused login ----

#[test]
fn a_401_to_the_login_rejects_it_with_the_servers_error_and_request_id() {
    let mut h = Harness::currencycloud();

    let events = answer_login(
        &mut h,
        401,
        &[("X-Request-Id", REQUEST_ID.as_bytes())],
        AUTH_FAILED.as_bytes(),
    );

    let Seen::LoginRejected(Error::Api(error)) = the_only_event(events) else {
        panic!("not a rejection with the server's error");
    };
    assert_eq!(error.status, 401);
    assert_eq!(error.code, "auth_failed");
    assert_eq!(error.request_id, REQUEST_ID);
    assert_eq!(error.field_count, 1);
    let field = error.field.as_ref().expect("the field error");
    assert_eq!(field.field, "username");
    assert_eq!(field.code, "invalid_supplied_credentials");
    assert_eq!(h.state(), SessionState::Rejected);
    assert_eq!(h.session.last_error(), Some(&Error::Api(error)));
}

#[test]
fn a_400_to_the_login_rejects_it_with_the_first_field_error_and_their_count() {
    let mut h = Harness::currencycloud();

    let events = answer_login(
        &mut h,
        400,
        &[("x-request-id", REQUEST_ID.as_bytes())],
        BAD_LOGIN_DETAILS.as_bytes(),
    );

    let Seen::LoginRejected(Error::Api(error)) = the_only_event(events) else {
        panic!("not a rejection with the server's error");
    };
    assert_eq!(error.status, 400);
    assert_eq!(error.code, "auth_invalid_user_login_details");
    assert_eq!(error.request_id, REQUEST_ID);
    let field = error.field.as_ref().expect("the first field error");
    assert_eq!(
        (field.field.as_str(), field.code.as_str()),
        ("login_id", "login_id_is_too_short")
    );
    assert_eq!(error.field_count, 2);
    assert!(
        error
            .to_string()
            .contains("(login_id: login_id_is_too_short, and 1 more)"),
        "{error}"
    );
    assert_eq!(h.state(), SessionState::Rejected);
}

#[test]
fn a_rejected_login_stays_rejected_across_hours_of_timers_and_calls() {
    let mut h = rejected();

    for hour in 1..=72 {
        h.set_time(hours(hour));
        h.timeout();
        for _ in 0..20 {
            assert_eq!(h.authorize(), Err(NotReady::Rejected));
        }
        assert_eq!(h.session.poll_timeout(), None);
    }

    assert_eq!(h.all_sent.len(), 1, "only the refused login, never again");
    assert!(h.take_events().is_empty());
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.all_grants.is_empty());
}

#[test]
fn logout_leaves_a_rejected_session_rejected() {
    let mut h = rejected();

    h.logout();

    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.nothing_sent());
    assert_eq!(h.authorize(), Err(NotReady::Rejected));
}

#[test]
fn an_explicit_login_is_a_way_out_of_rejected() {
    let mut h = rejected();

    h.login();

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn new_credentials_are_a_way_out_of_rejected() {
    let mut h = rejected();
    let other_key = "2f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544";

    h.set_credentials(CurrencycloudCredentials::new(LOGIN_ID, other_key).unwrap());
    assert_eq!(h.state(), SessionState::LoggedOut);
    assert!(h.nothing_sent());
    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert!(h.take_one_sent().body_text().contains(other_key));
}

// ---- logout ----

#[test]
fn logout_posts_close_session_with_the_token() {
    let mut h = Harness::logged_in();

    h.logout();

    let close = h.take_one_sent();
    assert_eq!(close.method, Method::Post);
    assert_eq!(close.path, LOGOUT_PATH);
    assert_eq!(close.header("X-Auth-Token").as_deref(), Some(TOKEN));
    assert!(close.headers.iter().all(|header| header.sensitive));
    assert!(close.body.is_empty());
    assert_eq!(h.state(), SessionState::LoggingOut);
    assert_eq!(h.authorize(), Err(NotReady::LoggingOut));
    assert!(h.nothing_sent());
}

#[test]
fn logout_ends_logged_out_whatever_the_answer() {
    for answer in [
        Failure::Status(200, LOGOUT_OK),
        Failure::Status(401, AUTH_FAILED),
        Failure::Status(500, INTERNAL_SERVER_ERROR),
        Failure::Transport,
    ] {
        let mut h = Harness::logged_in();
        h.logout();
        let close = h.take_one_sent();

        fail_login(&mut h, &close, answer);

        assert_eq!(h.take_events(), [Seen::LoggedOut], "{answer:?}");
        assert_eq!(h.state(), SessionState::LoggedOut, "{answer:?}");
        assert!(h.nothing_sent(), "{answer:?}");
    }
}

#[test]
fn after_logout_no_call_gets_the_old_token() {
    let mut h = Harness::logged_in();
    let before = h.grant();
    h.logout();
    let close = h.take_one_sent();
    h.answer(&close, 500, INTERNAL_SERVER_ERROR);
    let sent_before = h.all_sent.len();
    let grants_before = h.all_grants.len();

    for _ in 0..10 {
        assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    }
    h.log_in_with(NEXT_LOGIN_OK);
    let after = h.grant();
    assert_eq!(
        h.reply(before.ticket, 401, AUTH_FAILED),
        Verdict::Replay,
        "the old call is replayed under the new token"
    );

    assert_eq!(after.header("X-Auth-Token").as_deref(), Some(NEXT_TOKEN));
    assert!(!h.all_sent[sent_before..].iter().any(|s| s.carries(TOKEN)));
    assert!(
        !h.all_grants[grants_before..]
            .iter()
            .any(|g| g.headers.iter().any(|v| v.full_value().contains(TOKEN)))
    );
    assert_eq!(
        h.all_sent.len(),
        sent_before + 1,
        "one new login, nothing else"
    );
}

#[test]
fn logout_while_logged_out_sends_nothing() {
    let mut h = Harness::currencycloud();

    h.logout();

    assert!(h.nothing_sent());
    assert_eq!(h.state(), SessionState::LoggedOut);
}
