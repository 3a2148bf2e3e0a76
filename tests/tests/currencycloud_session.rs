//! A Currencycloud session, step by step as the API documents it (seed
//! `000_55fb0fa7bc37453b`, `PROVIDERS.md` §1): log in with a login id and
//! an API key, put the token on every call as `X-Auth-Token`, log in again
//! once when it lapses (30 minutes idle, or a `401`), never retry a refused
//! login, back off when the server is busy, and log out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::CurrencycloudCredentials;
use authsession_core::providers::currencycloud::{
    API_KEY_LEN, LOGIN_ID_MAX, LOGIN_PATH, LOGOUT_PATH, TOKEN_CAPACITY,
};
use authsession_core::{
    Config, CredentialError, CredentialProblem, Error, ExpiryReason, Instant, Level, LoginStep,
    Method, NotReady, RequestId, ResponseParts, SessionState, TokenProblem, Verdict,
};
use authsession_tests::{
    API_KEY, AUTH_FAILED, BAD_LOGIN_DETAILS, BALANCES_OK, Harness, INTERNAL_SERVER_ERROR, LOGIN_ID,
    LOGIN_OK, LOGOUT_OK, NEXT_LOGIN_OK, NEXT_TOKEN, SERVICE_UNAVAILABLE, Seen, Sent, TOKEN,
    TOO_MANY_REQUESTS, assert_no_secret, hours, just_before, millis, mins, secs,
};

/// Currencycloud's idle timeout.
const IDLE: Duration = mins(30);
/// The request id the server gives its answers in these tests.
const REQUEST_ID: &str = "5b3c0e5e-3a4f-4bb8-9f0b-6a2f1d1c7e21";

const LOGGING_IN: SessionState = SessionState::LoggingIn {
    step: LoginStep::FIRST,
};

fn refused() -> Seen {
    Seen::Expired {
        why: ExpiryReason::Refused,
    }
}

fn idle() -> Seen {
    Seen::Expired {
        why: ExpiryReason::Idle,
    }
}

/// A session whose login was refused with the seed's `401`.
fn rejected() -> Harness {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 401, AUTH_FAILED);
    assert_eq!(h.state(), SessionState::Rejected);
    h.take_events();
    h
}

/// The login request after `status` with `headers` answered it, and the
/// events that followed.
fn answer_login(h: &mut Harness, status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<Seen> {
    h.login();
    let login = h.take_one_sent();
    h.answer_id(
        login.id,
        &ResponseParts::new(status, body).with_headers(headers),
    );
    h.take_events()
}

fn the_only_event(events: Vec<Seen>) -> Seen {
    let [event] = <[Seen; 1]>::try_from(events).expect("exactly one event");
    event
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

// ---- idle expiry → re-login ----

#[test]
fn the_token_is_handed_out_until_just_before_the_idle_deadline() {
    let margin = mins(2);
    let mut h = Harness::with_config(Config {
        expiry_margin: margin,
        ..Config::default()
    });
    h.log_in_with(LOGIN_OK);
    assert_eq!(
        h.session.poll_timeout(),
        Some(Instant::ZERO + IDLE.saturating_sub(margin))
    );

    h.set_now(just_before(Instant::ZERO + IDLE.saturating_sub(margin)));

    assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
    assert!(h.nothing_sent());
}

#[test]
fn a_call_at_30_minutes_less_the_margin_gets_no_token_and_queues_one_login() {
    let margin = mins(2);
    let mut h = Harness::with_config(Config {
        expiry_margin: margin,
        ..Config::default()
    });
    h.log_in_with(LOGIN_OK);
    h.set_time(IDLE.saturating_sub(margin));

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert_eq!(h.take_events(), [idle()]);
    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn the_login_after_an_idle_expiry_hands_out_the_new_token() {
    let mut h = Harness::logged_in();
    h.advance(IDLE);
    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    h.take_events();

    h.log_in_with(NEXT_LOGIN_OK);

    let call = h.grant();
    assert_eq!(call.header("X-Auth-Token").as_deref(), Some(NEXT_TOKEN));
    assert_eq!(call.ticket.generation(), 2);
}

#[test]
fn the_idle_timer_at_poll_timeout_expires_the_token_without_sending_anything() {
    let mut h = Harness::logged_in();
    let deadline = Instant::ZERO + (IDLE.saturating_sub(Config::default().expiry_margin));
    assert_eq!(h.session.poll_timeout(), Some(deadline));

    h.set_now(just_before(deadline));
    h.timeout();
    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());

    h.sleep_until_timeout();

    assert_eq!(h.now, deadline);
    assert_eq!(h.take_events(), [idle()]);
    assert_eq!(
        h.state(),
        SessionState::Expired {
            why: ExpiryReason::Idle
        }
    );
    assert!(h.nothing_sent());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn a_call_after_the_idle_timer_fired_queues_one_login() {
    let mut h = Harness::logged_in();
    h.sleep_until_timeout();
    h.take_events();

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert!(h.take_events().is_empty());
}

#[test]
fn every_call_moves_the_idle_deadline() {
    let mut h = Harness::logged_in();
    let idle_less_margin = IDLE.saturating_sub(Config::default().expiry_margin);

    // A call every 20 minutes for ten hours keeps the one token alive.
    for minute in (20..=600).step_by(20) {
        h.set_time(mins(minute));
        assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
        assert_eq!(h.session.poll_timeout(), Some(h.now + idle_less_margin));
        h.timeout();
    }

    assert_eq!(h.all_sent.len(), 1);
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 1);
}

#[test]
fn the_idle_clock_starts_when_the_login_is_sent_not_when_it_is_answered() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.set_time(secs(20));

    h.answer(&login, 200, LOGIN_OK);

    let idle_less_margin = IDLE.saturating_sub(Config::default().expiry_margin);
    assert_eq!(
        h.session.poll_timeout(),
        Some(Instant::ZERO + idle_less_margin)
    );
}

// ---- 401 replay ----

#[test]
fn a_401_under_the_current_token_replays_and_queues_one_login() {
    let mut h = Harness::logged_in();
    let call = h.grant();

    assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);

    assert_eq!(h.take_events(), [refused()]);
    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn while_the_re_login_is_in_flight_calls_wait_and_send_nothing() {
    let mut h = Harness::logged_in();
    let call = h.grant();
    h.reply(call.ticket, 401, AUTH_FAILED);
    h.take_one_sent();

    for _ in 0..10 {
        assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    }

    assert!(h.nothing_sent());
}

#[test]
fn after_the_re_login_a_401_of_the_old_token_replays_without_another_login() {
    let mut h = Harness::logged_in();
    let old_call = h.grant();
    h.reply(old_call.ticket, 401, AUTH_FAILED);
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    assert_eq!(h.reply(old_call.ticket, 401, AUTH_FAILED), Verdict::Replay);

    assert!(h.nothing_sent());
    assert!(h.take_events().is_empty());
    assert_eq!(h.state(), SessionState::Active);
    let replayed = h.grant();
    assert_eq!(replayed.header("X-Auth-Token").as_deref(), Some(NEXT_TOKEN));
    assert_eq!(replayed.ticket.generation(), 2);
}

#[test]
fn a_burst_of_ten_401s_from_one_generation_sends_exactly_one_login() {
    let mut h = Harness::logged_in();
    let calls: Vec<_> = (0..10).map(|_| h.grant()).collect();

    for call in &calls {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }

    assert_eq!(h.take_sent().len(), 1);
    assert_eq!(h.take_events(), [refused()]);
}

#[test]
fn a_burst_of_401s_split_around_the_re_login_still_sends_one_login() {
    let mut h = Harness::logged_in();
    let calls: Vec<_> = (0..10).map(|_| h.grant()).collect();
    for call in &calls[..5] {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    for call in &calls[5..] {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }

    let logins = h.all_sent.iter().filter(|sent| sent.path == LOGIN_PATH);
    assert_eq!(logins.count(), 2, "the first login and one re-login");
    assert!(h.take_events().is_empty());
    assert_eq!(h.state(), SessionState::Active);
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
    assert_eq!(error.fields.len(), 1);
    assert_eq!(error.fields[0].field, "username");
    assert_eq!(error.fields[0].code, "invalid_supplied_credentials");
    assert_eq!(
        error.fields[0].message,
        "Authentication failed with the supplied credentials"
    );
    assert!(error.fields[0].params.is_empty());
    assert_eq!(h.state(), SessionState::Rejected);
    assert_eq!(h.session.last_error(), Some(&Error::Api(error)));
}

#[test]
fn a_400_to_the_login_rejects_it_with_every_field_error() {
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
    let fields: Vec<_> = error
        .fields
        .iter()
        .map(|field| (field.field.as_str(), field.code.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("login_id", "login_id_is_too_short"),
            ("api_key", "api_key_length_is_invalid"),
        ]
    );
    let length = &error.fields[1].params[0];
    assert_eq!((length.name.as_str(), &length.value), ("length", &None));
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

// ---- backoff: 429, 5xx, transport failures ----

#[test]
fn a_429_with_retry_after_5_sends_no_login_before_5_seconds_and_one_at_5() {
    let mut h = Harness::currencycloud();
    let events = answer_login(
        &mut h,
        429,
        &[("Retry-After", b"5")],
        TOO_MANY_REQUESTS.as_bytes(),
    );
    let until = Instant::ZERO + secs(5);
    assert_eq!(events, [Seen::RetryScheduled { until, attempt: 1 }]);
    assert_eq!(h.state(), SessionState::Waiting { until, attempt: 1 });
    assert_eq!(h.session.poll_timeout(), Some(until));

    for millisecond in (0..5_000).step_by(100) {
        h.set_time(millis(millisecond));
        h.timeout();
        assert_eq!(h.authorize(), Err(NotReady::Backoff { until }));
    }
    assert!(h.nothing_sent());

    h.sleep_until_timeout();

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn a_call_after_the_backoff_sends_the_login_even_before_the_timer_is_handled() {
    let mut h = Harness::currencycloud();
    answer_login(
        &mut h,
        429,
        &[("Retry-After", b"5")],
        TOO_MANY_REQUESTS.as_bytes(),
    );
    h.set_time(secs(6));

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
}

#[test]
fn a_429_without_retry_after_waits_the_configured_rate_limit_wait() {
    let mut h = Harness::currencycloud();
    let events = answer_login(&mut h, 429, &[], TOO_MANY_REQUESTS.as_bytes());
    let until = Instant::ZERO + Config::default().rate_limit_wait;
    assert_eq!(Config::default().rate_limit_wait, secs(60));
    assert_eq!(events, [Seen::RetryScheduled { until, attempt: 1 }]);

    for second in 0..60 {
        h.set_time(secs(second));
        h.timeout();
        assert_eq!(h.authorize(), Err(NotReady::Backoff { until }));
    }
    h.set_now(just_before(until));
    h.timeout();
    assert!(h.nothing_sent());

    h.sleep_until_timeout();

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
}

#[test]
fn a_503_with_retry_after_waits_as_long_as_the_server_asks() {
    let mut h = Harness::currencycloud();

    let events = answer_login(
        &mut h,
        503,
        &[("Retry-After", b"120")],
        SERVICE_UNAVAILABLE.as_bytes(),
    );

    let until = Instant::ZERO + secs(120);
    assert_eq!(events, [Seen::RetryScheduled { until, attempt: 1 }]);
    h.set_now(just_before(until));
    h.timeout();
    assert!(h.nothing_sent());
}

/// How a login failed, in the backoff tests.
#[derive(Clone, Copy, Debug)]
enum Failure {
    Status(u16, &'static str),
    Transport,
}

const PASSING_FAILURES: [Failure; 7] = [
    Failure::Status(500, INTERNAL_SERVER_ERROR),
    Failure::Status(503, SERVICE_UNAVAILABLE),
    Failure::Transport,
    Failure::Status(500, INTERNAL_SERVER_ERROR),
    Failure::Status(503, SERVICE_UNAVAILABLE),
    Failure::Transport,
    Failure::Status(500, INTERNAL_SERVER_ERROR),
];

fn fail_login(h: &mut Harness, login: &Sent, failure: Failure) {
    match failure {
        Failure::Status(status, body) => h.answer(login, status, body),
        Failure::Transport => h.fail(login),
    }
}

/// The exponential ceiling of the wait after failure number `attempt`.
fn ceiling(config: &Config, attempt: u32) -> Duration {
    (config.backoff_base * 2u32.pow(attempt - 1)).min(config.backoff_max)
}

#[test]
fn failed_logins_wait_within_the_exponential_ceiling_and_no_login_goes_earlier() {
    let config = Config {
        max_attempts: 8,
        ..Config::default()
    };
    let mut h = Harness::with_config(config);
    h.login();

    for (attempt, failure) in (1..).zip(PASSING_FAILURES) {
        let login = h.take_one_sent();
        let failed_at = h.now;
        fail_login(&mut h, &login, failure);

        let Seen::RetryScheduled { until, attempt: n } = the_only_event(h.take_events()) else {
            panic!("no retry after {failure:?}");
        };
        assert_eq!(n, attempt);
        let wait = until.saturating_duration_since(failed_at);
        assert!(
            wait <= ceiling(&config, attempt),
            "attempt {attempt} waits {wait:?}"
        );
        if until > failed_at {
            h.set_now(just_before(until));
            for _ in 0..10 {
                assert_eq!(h.authorize(), Err(NotReady::Backoff { until }));
                h.timeout();
            }
            assert!(h.nothing_sent(), "a login before the wait was over");
        }
        h.sleep_until_timeout();
    }
    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
}

#[test]
fn the_jitter_spreads_waits_over_the_whole_window_and_repeats_with_the_seed() {
    let first_wait = |seed| {
        let mut h = Harness::with_config(Config {
            seed,
            ..Config::default()
        });
        h.login();
        let login = h.take_one_sent();
        h.answer(&login, 500, INTERNAL_SERVER_ERROR);
        let Seen::RetryScheduled { until, .. } = the_only_event(h.take_events()) else {
            panic!("no retry");
        };
        until.saturating_duration_since(Instant::ZERO)
    };
    let window = Config::default().backoff_base;

    let waits: Vec<Duration> = (0..64).map(first_wait).collect();

    assert!(waits.iter().all(|wait| *wait <= window));
    assert!(waits.iter().any(|wait| *wait < window / 4), "{waits:?}");
    assert!(waits.iter().any(|wait| *wait > window * 3 / 4), "{waits:?}");
    assert_eq!(first_wait(7), first_wait(7));
}

#[test]
fn the_session_gives_up_after_max_attempts_with_the_last_error() {
    let config = Config {
        max_attempts: 3,
        ..Config::default()
    };
    let mut h = Harness::with_config(config);
    h.login();
    for failure in [
        Failure::Status(503, SERVICE_UNAVAILABLE),
        Failure::Transport,
    ] {
        let login = h.take_one_sent();
        fail_login(&mut h, &login, failure);
        h.sleep_until_timeout();
    }
    h.take_events();
    let last = h.take_one_sent();

    h.answer_id(
        last.id,
        &ResponseParts::new(500, INTERNAL_SERVER_ERROR.as_bytes())
            .with_headers(&[("X-Request-Id", REQUEST_ID.as_bytes())]),
    );

    let Seen::GaveUp(Error::Api(error)) = the_only_event(h.take_events()) else {
        panic!("did not give up with the server's error");
    };
    assert_eq!(
        (error.status, error.code.as_str(), error.request_id.as_str()),
        (500, "internal_server_error", REQUEST_ID)
    );
    assert_eq!(h.state(), SessionState::LoggedOut);
    assert_eq!(h.session.poll_timeout(), None);
    h.advance(hours(5));
    h.timeout();
    assert!(h.nothing_sent());
}

#[test]
fn a_call_after_giving_up_starts_again_but_not_before_the_last_wait() {
    let config = Config {
        max_attempts: 1,
        ..Config::default()
    };
    let mut h = Harness::with_config(config);
    let events = answer_login(
        &mut h,
        429,
        &[("Retry-After", b"30")],
        TOO_MANY_REQUESTS.as_bytes(),
    );
    assert!(matches!(events[..], [Seen::GaveUp(_)]), "{events:?}");
    let until = Instant::ZERO + secs(30);

    for second in 0..30 {
        h.set_time(secs(second));
        assert_eq!(h.authorize(), Err(NotReady::Backoff { until }));
        h.timeout();
    }
    assert!(h.nothing_sent());

    h.sleep_until_timeout();

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
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

// ---- late and stray answers ----

#[test]
fn a_login_answer_arriving_after_logout_is_ignored() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.logout();
    assert_eq!(h.take_events(), [Seen::LoggedOut]);
    assert!(h.nothing_sent(), "no token, so nothing to close");

    h.answer(&login, 200, LOGIN_OK);

    assert_eq!(h.state(), SessionState::LoggedOut);
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 0);
    assert_eq!(
        h.authorize(),
        Err(NotReady::LoggingIn),
        "no token to hand out"
    );
    assert!(h.all_grants.is_empty());
}

#[test]
fn a_late_answer_to_an_earlier_login_changes_nothing() {
    let mut h = Harness::currencycloud();
    h.login();
    let first = h.take_one_sent();
    h.logout();
    h.login();
    let second = h.take_one_sent();
    assert_ne!(first.id, second.id);
    h.take_events();

    h.answer(&first, 200, LOGIN_OK);
    h.answer(&first, 401, AUTH_FAILED);
    h.answer(&first, 429, TOO_MANY_REQUESTS);
    h.fail(&first);

    assert_eq!(h.state(), LOGGING_IN);
    assert!(h.take_events().is_empty());
    assert!(h.nothing_sent());
    h.answer(&second, 200, NEXT_LOGIN_OK);
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(
        h.grant().header("X-Auth-Token").as_deref(),
        Some(NEXT_TOKEN)
    );
}

#[test]
fn answers_with_a_wrong_or_old_request_id_change_nothing() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, LOGIN_OK);
    h.take_events();

    h.answer(&login, 401, AUTH_FAILED);
    h.fail(&login);
    h.answer_id(
        RequestId(9_999),
        &ResponseParts::new(401, AUTH_FAILED.as_bytes()),
    );
    h.fail_id(RequestId(u64::MAX));

    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());
    assert!(h.nothing_sent());
    assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
}

#[test]
fn a_late_answer_to_the_logout_does_not_touch_the_next_session() {
    let mut h = Harness::logged_in();
    h.logout();
    let close = h.take_one_sent();
    h.fail(&close);
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    h.answer(&close, 200, LOGOUT_OK);

    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());
    assert_eq!(
        h.grant().header("X-Auth-Token").as_deref(),
        Some(NEXT_TOKEN)
    );
}

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

const MALFORMED_LOGIN: Error = Error::Malformed {
    what: "login response",
    status: 200,
};

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
fn an_error_body_with_more_than_four_field_errors_overflows() {
    let entry = r#"{"code":"invalid_supplied_credentials","message":"no","params":{}}"#;
    let five = [entry; 5].join(",");
    let body =
        format!(r#"{{"error_code":"auth_failed","error_messages":{{"username":[{five}]}}}}"#);

    login_401_rejected_with(
        body.as_bytes(),
        &Error::Overflow {
            what: "error body",
            capacity: 4,
        },
    );
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
    assert!(error.fields.is_empty());
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
        assert_eq!(error.fields[0].code, "invalid_supplied_credentials");
        assert!(error.fields[0].params.is_empty());
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
