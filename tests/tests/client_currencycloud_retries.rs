//! The blocking Currencycloud client: refused keys, retries after 429/503/drops, waits, timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::{Duration, Instant};

use authsession_core::SessionState;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Fault};
use authsession_std::{Error, Timeouts, TransportErrorKind};
use authsession_tests::millis;

mod client_currencycloud_support;

use client_currencycloud_support::{
    ACCOUNT, BACKOFF_BASE, BACKOFF_MAX, BALANCES, LONG_IDLE, MAX_ATTEMPTS, RATE_LIMIT_WAIT, SLACK,
    WRONG_KEY, assert_client_secret_free, assert_error_secret_free, build, builder_for, client_of,
    counters_after, credentials, get_ok, sandbox,
};

#[test]
fn a_wrong_key_is_tried_once_and_never_again_by_itself() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        WRONG_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    let secrets = [WRONG_KEY.to_owned(), CURRENCYCLOUD_API_KEY.to_owned()];

    let error = client.get(ACCOUNT).unwrap_err();
    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    let shown = error.to_string();
    assert!(
        shown.contains("auth_failed") || shown.contains("401"),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown}");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.api_code(), Some("auth_failed"));
    assert_error_secret_free(&error, &secrets);
    assert_eq!(client.state(), SessionState::Rejected);

    for path in [ACCOUNT, BALANCES, ACCOUNT, BALANCES, ACCOUNT] {
        let again = client.get(path).unwrap_err();
        assert!(
            matches!((&again, &error), (Error::Rejected(a), Error::Rejected(b)) if a == b),
            "{path}: {again:?}"
        );
        assert_error_secret_free(&again, &secrets);
    }
    assert_client_secret_free(&client, &secrets);
    counters_after(
        &sandbox,
        Counters {
            rejected_logins: 1,
            ..Counters::default()
        },
    );

    // New credentials are the way out, and the account was never locked.
    client.set_credentials(credentials(CURRENCYCLOUD_API_KEY));
    get_ok(&client, ACCOUNT);
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            rejected_logins: 1,
            calls: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn an_explicit_login_is_the_one_other_way_to_try_a_refused_key_again() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        WRONG_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    assert!(matches!(client.login(), Err(Error::Rejected(_))));
    assert!(matches!(client.get(ACCOUNT), Err(Error::Rejected(_))));
    assert!(matches!(client.login(), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 2);
}

#[test]
fn a_key_revoked_mid_session_is_found_at_the_next_login_and_not_retried() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    sandbox.add_currencycloud_user(CURRENCYCLOUD_LOGIN_ID, &"ab".repeat(32));
    thread::sleep(millis(450));

    let error = client.get(ACCOUNT).unwrap_err();
    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    for _ in 0..3 {
        let again = client.get(BALANCES).unwrap_err();
        assert!(
            matches!((&again, &error), (Error::Rejected(a), Error::Rejected(b)) if a == b),
            "{again:?}"
        );
    }
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            rejected_logins: 1,
            unauthorized: 1,
            calls: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn a_429_with_retry_after_on_login_is_waited_out_then_the_login_succeeds() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::StatusRetryAfter(429, 1), 1);

    let started = Instant::now();
    get_ok(&client, ACCOUNT);
    let took = started.elapsed();

    assert!(
        took >= Duration::from_secs(1),
        "Retry-After honoured: {took:?}"
    );
    assert!(
        took < Duration::from_secs(1) + BACKOFF_MAX + SLACK,
        "{took:?}"
    );
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 1,
            faults: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn a_429_without_retry_after_on_login_waits_the_configured_time() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::Status(429), 1);

    let started = Instant::now();
    get_ok(&client, ACCOUNT);
    let took = started.elapsed();

    assert!(took >= RATE_LIMIT_WAIT, "{took:?}");
    assert!(took < RATE_LIMIT_WAIT + SLACK, "{took:?}");
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_503_on_login_is_retried_within_the_backoff_limits() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::Status(503), 2);

    let started = Instant::now();
    get_ok(&client, ACCOUNT);
    let took = started.elapsed();

    // Two waits, at most one and two backoff bases.
    assert!(took < BACKOFF_BASE * 3 + SLACK, "{took:?}");
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 1,
            faults: 2,
            ..Counters::default()
        },
    );
}

#[test]
fn logins_that_keep_failing_give_up_after_the_configured_attempts() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::Status(503), MAX_ATTEMPTS);

    let error = client.get(ACCOUNT).unwrap_err();
    assert!(matches!(error, Error::GaveUp(_)), "{error:?}");
    assert_eq!(error.status(), Some(503));
    assert!(error.to_string().contains("503"), "{error}");
    assert_error_secret_free(&error, &[CURRENCYCLOUD_API_KEY.to_owned()]);
    counters_after(
        &sandbox,
        Counters {
            faults: u64::from(MAX_ATTEMPTS),
            ..Counters::default()
        },
    );

    // The next call starts over (after the last wait) and gets through.
    get_ok(&client, ACCOUNT);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_connection_dropped_during_login_is_retried() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::Drop, 1);

    let started = Instant::now();
    get_ok(&client, ACCOUNT);

    assert!(started.elapsed() < BACKOFF_BASE + SLACK);
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 1,
            faults: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn a_429_on_a_call_is_the_callers_to_wait_out() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    sandbox.inject(Fault::StatusRetryAfter(429, 1), 1);

    let error = client.get(ACCOUNT).unwrap_err();

    let Error::RateLimited { retry_after } = error else {
        panic!("{error:?}");
    };
    assert!(retry_after <= Duration::from_secs(1) && retry_after > millis(500));
    // The session is untouched: the next call goes out with the same token.
    get_ok(&client, ACCOUNT);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_connection_dropped_during_a_call_is_a_transport_error_that_keeps_the_session() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    sandbox.inject(Fault::Drop, 1);

    let error = client.get(ACCOUNT).unwrap_err();
    assert!(
        matches!(&error, Error::Transport(t) if t.kind() == TransportErrorKind::Io),
        "{error:?}"
    );
    assert_error_secret_free(&error, &[CURRENCYCLOUD_API_KEY.to_owned()]);

    // The token was not at fault: the next call goes out with it.
    get_ok(&client, ACCOUNT);
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 2,
            faults: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn a_wait_longer_than_the_callers_patience_is_returned_not_slept() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    sandbox.inject(Fault::StatusRetryAfter(429, 60), 1);

    let started = Instant::now();
    let error = client.get(ACCOUNT).unwrap_err();
    assert!(started.elapsed() < SLACK, "{:?}", started.elapsed());
    let Error::RateLimited { retry_after } = error else {
        panic!("{error:?}");
    };
    assert!(retry_after > Duration::from_secs(50), "{retry_after:?}");
    // The next call does not knock before the time is up either.
    assert!(matches!(
        client.get(ACCOUNT),
        Err(Error::RateLimited { .. })
    ));
    counters_after(
        &sandbox,
        Counters {
            faults: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn an_answer_slower_than_the_response_timeout_is_a_transport_error() {
    let sandbox = sandbox();
    let client = build(
        builder_for(
            &sandbox.currencycloud_url(),
            CURRENCYCLOUD_API_KEY,
            LONG_IDLE,
            Duration::ZERO,
        )
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            response: millis(200),
            body_limit: 1024 * 1024,
        }),
    );
    get_ok(&client, ACCOUNT);
    sandbox.inject(Fault::Delay(millis(1500)), 1);

    let started = Instant::now();
    let error = client.get(ACCOUNT).unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(&error, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout),
        "{error:?}"
    );
    assert!(error.is_timeout());
    assert!(took < millis(1500), "{took:?}");
}
