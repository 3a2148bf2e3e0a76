//! Weavr login: the `api-key`, the login, the identities and the exchange, and login errors.
//!
//! Step by step as the Multi API documents it (seed
//! `001_41d0dd5883504114.txt`, `PROVIDERS.md` §2, issue 4): the `api-key`
//! on every request; a password login to an auth token, the identities,
//! and the exchange for an access token; the login's errors, refused for
//! good or waited out. Scripted with fixtures, without a network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::weavr::{
    ACCESS_TOKEN_PATH, IDENTITIES_PATH, Identity, IdentityType, LOGIN_PATH, LOGOUT_PATH, Weavr,
};
use authsession_core::{
    ApiError, Config, Error, ErrorKind, Level, LoginStep, Method, NotReady, SessionState,
    StepUpState, Verdict,
};
use authsession_tests::weavr::{
    ACCESS_TOKEN, API_KEY, AUTH_TOKEN, BAD_LOGIN, CONSUMER_ID, CORPORATE_ID, EMAIL,
    NEXT_ACCESS_TOKEN, NEXT_AUTH_TOKEN, PASSWORD, REQUEST_REF, TEMPORARY_TOKEN, WeavrRequest,
    access_ok, identities, listed, login_ok, one_identity, two_identities,
};
use authsession_tests::{Harness, Seen, at, millis, mins, secs};

/// The API error of the one `LoginRejected` among `events`.
fn rejected_api_error(events: &[Seen]) -> ApiError {
    match events {
        [Seen::LoginRejected(Error::Api(api))] => api.clone(),
        other => panic!("expected one LoginRejected from the API, got {other:?}"),
    }
}

// ---- the account layer ----

#[test]
fn the_api_key_goes_on_every_request_including_login_and_account_calls() {
    let mut h = Harness::weavr();

    // An account-level call needs no login: the key alone.
    let account = h.grant_at(Level::Account);
    assert_eq!(account.header("api-key").as_deref(), Some(API_KEY));
    assert!(account.headers.iter().all(|header| header.sensitive));
    assert_eq!(account.header("Authorization"), None);
    assert_eq!(account.headers.len(), 1);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::LoggedOut);

    // Every step of the login, a call, the step-up, the logout.
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    let user = h.grant();
    assert_eq!(user.header("api-key").as_deref(), Some(API_KEY));
    let account = h.grant_at(Level::Account);
    assert_eq!(account.header("api-key").as_deref(), Some(API_KEY));
    assert_eq!(account.header("Authorization"), None);
    h.step_up();
    h.logout();
    let logout = h.take_one_sent();
    h.answer(&logout, 204, "");

    let paths: Vec<&str> = h.all_sent.iter().map(|sent| sent.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            LOGIN_PATH,
            IDENTITIES_PATH,
            ACCESS_TOKEN_PATH,
            "/stepup/challenges/otp/SMS",
            "/stepup/challenges/otp/SMS/verify",
            LOGOUT_PATH,
        ]
    );
    for sent in &h.all_sent {
        assert_eq!(sent.header("api-key").as_deref(), Some(API_KEY), "{sent:?}");
    }
    h.assert_no_secret_printed();
}

#[test]
fn a_401_to_an_account_call_is_fatal_and_leaves_the_session_alone() {
    let mut h = Harness::weavr_logged_in();
    let account = h.grant_at(Level::Account);

    let verdict = h.reply(account.ticket, 401, "");

    assert!(
        matches!(verdict, Verdict::Fatal(Error::Api(ref api)) if api.status == 401),
        "{verdict:?}"
    );
    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_sent().is_empty());
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 1);
}

// ---- the end-user layer: login, identities, exchange ----

#[test]
fn a_login_without_a_configured_identity_lists_them_and_exchanges_the_only_one() {
    let mut h = Harness::weavr();

    assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn));
    let login = h.take_one_sent();
    login.expect(Method::Post, LOGIN_PATH, None);
    assert_eq!(
        login.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        login.body_text(),
        format!(r#"{{"email":"{EMAIL}","password":{{"value":"{PASSWORD}"}}}}"#)
    );

    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    assert_eq!(h.state(), SessionState::LoggingIn { step: LoginStep(1) });
    let listing = h.take_one_sent();
    listing.expect(Method::Get, IDENTITIES_PATH, Some(AUTH_TOKEN));
    assert!(listing.body.is_empty());
    // The auth token is good for the login's next steps only.
    assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn));
    assert!(h.take_sent().is_empty());

    h.answer(&listing, 200, &one_identity());
    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert_eq!(
        exchange.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        exchange.body_text(),
        format!(r#"{{"identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}}}}"#)
    );
    assert!(h.take_events().is_empty());

    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STANDARD"));
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(h.state(), SessionState::Active);
    assert_eq!(
        h.session.provider().identity(),
        Some(&Identity {
            kind: IdentityType::Corporate,
            id: authsession_core::Text::new(CORPORATE_ID).unwrap(),
        })
    );
    assert_eq!(h.step_up_state(), StepUpState::NotNeeded);

    // Calls carry the access token, never the auth token.
    let user = h.grant();
    assert_eq!(
        user.header("Authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
    assert_eq!(user.header("api-key").as_deref(), Some(API_KEY));
    assert!(user.headers.iter().all(|header| header.sensitive));
    assert!(!h.all_sent.iter().skip(3).any(|s| s.carries(AUTH_TOKEN)));
    h.assert_no_secret_printed();
}

#[test]
fn an_empty_identity_list_falls_back_to_the_identity_of_the_login_answer() {
    let mut h = Harness::weavr();
    let listing = h.listing_sent();

    h.answer(&listing, 200, &identities(&[]));

    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert!(exchange.body_text().contains(CORPORATE_ID));
}

#[test]
fn a_configured_identity_is_exchanged_without_listing_identities() {
    let provider = Weavr::default()
        .with_identity(IdentityType::Consumer, CONSUMER_ID)
        .unwrap();
    let mut h = Harness::weavr_with(provider, Config::default());

    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));

    // The login answer names the corporate identity; the configured one wins.
    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert_eq!(
        exchange.body_text(),
        format!(r#"{{"identity":{{"type":"CONSUMER","id":"{CONSUMER_ID}"}}}}"#)
    );
    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STANDARD"));
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(
        h.session
            .provider()
            .identity()
            .map(|identity| identity.kind),
        Some(IdentityType::Consumer)
    );
    assert!(h.all_sent.iter().all(|sent| sent.path != IDENTITIES_PATH));
}

#[test]
fn several_identities_and_none_configured_are_refused_as_ambiguous() {
    let mut h = Harness::weavr();
    let listing = h.listing_sent();

    h.answer(&listing, 200, &two_identities());

    let events = h.take_events();
    assert_eq!(
        events,
        [Seen::LoginRejected(Error::AmbiguousIdentity { count: 2 })]
    );
    assert!(
        Error::AmbiguousIdentity { count: 2 }
            .to_string()
            .contains("configure which one")
    );
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.take_sent().is_empty());
    // Never retried by itself, whatever the time.
    assert_eq!(h.session.poll_timeout(), None);
    h.now = at(mins(60));
    h.timeout();
    assert_eq!(h.authorize().err(), Some(NotReady::Rejected));
    assert!(h.take_sent().is_empty());
    assert_eq!(
        h.session.last_error(),
        Some(&Error::AmbiguousIdentity { count: 2 })
    );
    h.assert_no_secret_printed();
}

#[test]
fn more_identities_than_the_list_holds_are_still_ambiguous_not_a_passing_failure() {
    let mut h = Harness::weavr();
    let listing = h.listing_sent();
    let many: Vec<String> = (0..12)
        .map(|n| listed("CORPORATE", &format!("1000{n}")))
        .collect();

    h.answer(&listing, 200, &identities(&many));

    assert_eq!(h.state(), SessionState::Rejected, "{:?}", h.take_events());
    assert!(
        matches!(
            h.session.last_error(),
            Some(Error::AmbiguousIdentity { count: 12 })
        ),
        "{:?}",
        h.session.last_error()
    );
}

#[test]
fn an_exchange_that_says_stepped_up_starts_stepped_up() {
    let mut h = Harness::weavr();
    let exchange = h.exchange_sent();

    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STEPPED_UP"));

    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    let granted = h.grant_at(Level::SteppedUp);
    assert_eq!(
        granted.header("Authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

// ---- login errors ----

/// A fresh session whose login was answered `status` with `headers` and
/// `body`: its events.
fn login_answered(
    status: u16,
    headers: &[(&str, &[u8])],
    body: &str,
) -> (Harness<Weavr>, Vec<Seen>) {
    let mut h = Harness::weavr();
    h.login();
    let login = h.take_one_sent();
    h.answer_with(&login, status, headers, body);
    let events = h.take_events();
    (h, events)
}

/// Asserts a refused session stays refused: no timer, no request, calls
/// refused.
fn assert_stays_rejected(h: &mut Harness<Weavr>) {
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.session.poll_timeout(), None);
    h.now = h.now + mins(31);
    h.timeout();
    assert_eq!(h.authorize().err(), Some(NotReady::Rejected));
    assert!(h.take_sent().is_empty());
}

#[test]
fn a_400_with_syntax_errors_is_rejected_with_its_fields() {
    let headers: &[(&str, &[u8])] = &[("request-ref", REQUEST_REF.as_bytes())];
    let (mut h, events) = login_answered(400, headers, BAD_LOGIN);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 400);
    assert_eq!(api.message, "Bad request");
    assert_eq!(api.request_id, REQUEST_REF);
    assert_eq!(api.field_count, 1);
    let field = api.field.as_ref().expect("the field error");
    assert_eq!(
        (field.field.as_str(), field.code.as_str()),
        ("email", "REQUIRED")
    );
    assert_eq!(api.kind, ErrorKind::Other);
    let shown = Error::Api(api).to_string();
    assert!(shown.contains("email: REQUIRED"), "{shown}");
    assert!(shown.contains(REQUEST_REF), "{shown}");
    assert_stays_rejected(&mut h);
}

#[test]
fn a_401_without_a_body_is_rejected() {
    let (mut h, events) = login_answered(401, &[], "");

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 401);
    assert!(api.code.is_empty() && api.message.is_empty());
    assert_stays_rejected(&mut h);
}

#[test]
fn a_403_for_wrong_credentials_is_rejected() {
    let (mut h, events) = login_answered(403, &[], r#"{"errorCode":"INVALID_CREDENTIALS"}"#);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 403);
    assert_eq!(api.code, "INVALID_CREDENTIALS");
    assert_eq!(api.kind, ErrorKind::Other);
    assert_stays_rejected(&mut h);
    h.assert_no_secret_printed();
}

#[test]
fn an_error_at_the_exchange_is_rejected_like_one_at_the_login() {
    let mut h = Harness::weavr();
    let exchange = h.exchange_sent();

    h.answer(&exchange, 403, "");

    let api = rejected_api_error(&h.take_events());
    assert_eq!(api.status, 403);
    assert_stays_rejected(&mut h);
}

#[test]
fn a_409_password_expired_is_rejected_and_its_token_goes_nowhere() {
    let body = format!(r#"{{"token":"{TEMPORARY_TOKEN}"}}"#);
    let (mut h, events) = login_answered(409, &[], &body);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 409);
    assert_eq!(api.kind, ErrorKind::PasswordExpired);
    assert_stays_rejected(&mut h);

    // An explicit login tries again; neither it nor anything else carries
    // the temporary token.
    h.login();
    let login = h.take_one_sent();
    login.expect(Method::Post, LOGIN_PATH, None);
    h.answer(&login, 409, &body);
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.all_sent.iter().all(|sent| !sent.carries(TEMPORARY_TOKEN)));
    assert_eq!(
        h.authorize_at(Level::Account)
            .map(|g| g.header("Authorization"))
            .ok(),
        Some(None)
    );
    assert!(!format!("{:?}", h.session.last_error()).contains(TEMPORARY_TOKEN));
    h.assert_no_secret_printed();
}

#[test]
fn a_423_is_rejected_as_locked_with_the_thirty_minute_hint() {
    let (mut h, events) = login_answered(423, &[], "");

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 423);
    assert_eq!(
        api.kind,
        ErrorKind::Locked {
            retry_after: mins(30)
        }
    );
    assert_stays_rejected(&mut h);

    // A Retry-After, when the server gives one, says better.
    let (_, events) = login_answered(423, &[("Retry-After", b"600")], "");
    assert_eq!(
        rejected_api_error(&events).kind,
        ErrorKind::Locked {
            retry_after: secs(600)
        }
    );
}

#[test]
fn a_429_on_login_waits_what_the_server_asks_then_logs_in() {
    let (mut h, events) = login_answered(
        429,
        &[("Retry-After", b"7"), ("x-ratelimit-limit", b"100")],
        r#"{"message":"Too many requests"}"#,
    );

    let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
        panic!("{events:?}");
    };
    assert!(until >= at(secs(7)), "{until:?}");
    assert_eq!(h.state(), SessionState::Waiting { until, attempt: 1 });
    assert!(matches!(h.authorize(), Err(NotReady::Backoff { .. })));
    h.now = until.saturating_sub(millis(1));
    h.timeout();
    assert!(h.take_sent().is_empty());

    h.now = until;
    h.timeout();
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
}

#[test]
fn a_429_without_retry_after_waits_the_configured_rate_limit_wait() {
    let (_, events) = login_answered(429, &[], r#"{"message":"Too many requests"}"#);
    let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
        panic!("{events:?}");
    };
    assert!(until >= at(Config::default().rate_limit_wait), "{until:?}");
}

#[test]
fn a_5xx_at_any_step_backs_off_and_starts_the_login_again() {
    for status in [500, 502, 503, 504] {
        let mut h = Harness::weavr();
        let exchange = h.exchange_sent();

        h.answer(&exchange, status, r#"{"message":"Service unavailable"}"#);

        let events = h.take_events();
        let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
            panic!("{status}: {events:?}");
        };
        // Within the first backoff ceiling (1 s by default).
        assert!(until <= at(secs(1)), "{status}: {until:?}");
        assert!(h.take_sent().is_empty());
        h.now = until;
        h.timeout();
        h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    }
}
