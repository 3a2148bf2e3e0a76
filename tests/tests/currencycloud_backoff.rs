//! Currencycloud backoff: `429`, `5xx` and transport failures of the login.
//!
//! As the API documents it (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): the session waits what the server asks or an exponential backoff
//! with jitter, sends no login earlier, and gives up after `max_attempts`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::currencycloud::LOGIN_PATH;
use authsession_core::{Config, Error, Instant, NotReady, ResponseParts, SessionState};
use authsession_tests::currencycloud::{Failure, LOGGING_IN, REQUEST_ID, answer_login, fail_login};
use authsession_tests::{
    Harness, INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE, Seen, TOO_MANY_REQUESTS, hours,
    just_before, millis, secs, the_only_event,
};

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

/// The failures a login may meet and still be retried.
const PASSING_FAILURES: [Failure; 7] = [
    Failure::Status(500, INTERNAL_SERVER_ERROR),
    Failure::Status(503, SERVICE_UNAVAILABLE),
    Failure::Transport,
    Failure::Status(500, INTERNAL_SERVER_ERROR),
    Failure::Status(503, SERVICE_UNAVAILABLE),
    Failure::Transport,
    Failure::Status(500, INTERNAL_SERVER_ERROR),
];

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
