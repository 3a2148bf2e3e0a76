//! The blocking Weavr client: login, two identities, refused logins, expiry after step-up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use authsession_core::providers::weavr::{IdentityType, Weavr};
use authsession_core::{Channel, ErrorKind, Level, SessionState};
use authsession_sandbox::{
    SandboxConfig, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL, WEAVR_MANAGED_ACCOUNT_ID,
    WEAVR_TWO_IDENTITIES_CONSUMER_ID, WEAVR_TWO_IDENTITIES_EMAIL,
};
use authsession_std::{Client, Error};
use authsession_tests::millis;

mod client_weavr_support;

use client_weavr_support::{
    ACCOUNTS, Asked, IDLE, LONG_IDLE, MAX_WAIT, api_error, build, builder, builder_for,
    credentials, get_ok, get_stepped_up_ok, provider, sandbox, session_config, start_sandbox,
    statement, weavr_counts, with_right_code,
};

#[test]
fn the_client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client<Weavr>>();
}

#[test]
fn login_exchange_user_call_then_a_stepped_up_call_through_the_sms_code() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(builder(&sandbox), &asked));

    // The user call: a login and an exchange, no step-up.
    let accounts = get_ok(&client, ACCOUNTS);
    assert!(String::from_utf8_lossy(accounts.body()).contains(WEAVR_MANAGED_ACCOUNT_ID));
    assert_eq!(weavr_counts(&sandbox), [1, 1, 0, 0]);
    assert_eq!(asked.count(), 0);

    // The statement is refused with 403 STEP_UP_REQUIRED; the callback is
    // asked for the SMS code; the call is replayed.
    let statement_answer = get_ok(&client, &statement());
    assert!(String::from_utf8_lossy(statement_answer.body()).contains("\"entry\""));
    assert_eq!(asked.channels(), [Channel::Sms]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);

    // The token stays stepped up: no more questions, at either level.
    get_ok(&client, &statement());
    get_stepped_up_ok(&client, &statement());
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    let counters = sandbox.counters();
    assert_eq!(counters.calls, 4);
    assert_eq!(counters.logins, 1);
    assert_eq!(counters.unauthorized, 0);
    assert_eq!(client.generation(), 1);
    assert_eq!(client.state(), SessionState::Active);
}

// ---- identities ----

#[test]
fn a_user_with_two_identities_and_none_configured_is_a_clear_error_never_retried() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.weavr_url(),
        provider(IDLE),
        WEAVR_TWO_IDENTITIES_EMAIL,
    ));

    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(
        matches!(
            error,
            Error::Rejected(ref why)
                if matches!(**why, authsession_core::Error::AmbiguousIdentity { count: 2 })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("2 identities"), "{error}");
    assert_eq!(client.state(), SessionState::Rejected);
    assert_eq!(weavr_counts(&sandbox), [1, 0, 0, 0]);
    // Not retried by itself.
    let again = client.get(ACCOUNTS).unwrap_err();
    assert!(
        matches!((&again, &error), (Error::Rejected(a), Error::Rejected(b)) if a == b),
        "{again:?}"
    );
    assert_eq!(weavr_counts(&sandbox), [1, 0, 0, 0]);
}

#[test]
fn a_user_with_two_identities_works_with_the_one_configured() {
    let sandbox = sandbox();
    let provider = provider(IDLE)
        .with_identity(IdentityType::Consumer, WEAVR_TWO_IDENTITIES_CONSUMER_ID)
        .unwrap();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(
        builder_for(&sandbox.weavr_url(), provider, WEAVR_TWO_IDENTITIES_EMAIL),
        &asked,
    ));

    let accounts = get_ok(&client, ACCOUNTS);
    let body = String::from_utf8_lossy(accounts.body()).into_owned();
    assert!(body.contains("Alex Owner"), "not the consumer's: {body}");
    assert_eq!(weavr_counts(&sandbox), [1, 1, 0, 0]);

    // Its own account's statement, after step-up.
    let key = "\"id\":\"";
    let at = body.find(key).unwrap() + key.len();
    let account = &body[at..at + body[at..].find('"').unwrap()];
    assert_ne!(account, WEAVR_MANAGED_ACCOUNT_ID);
    get_ok(&client, &format!("/managed_accounts/{account}/statement"));
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
}

// ---- expiry after step-up ----

#[test]
fn after_the_idle_timeout_the_new_token_is_not_stepped_up_until_it_steps_up_again() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(builder(&sandbox), &asked));
    get_ok(&client, &statement());
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);

    thread::sleep(IDLE + millis(100));
    // The client knows the token lapsed: a user call logs in again, and is
    // not stepped up for it.
    get_ok(&client, ACCOUNTS);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 1, 1]);
    assert_eq!(asked.count(), 1);
    assert_eq!(sandbox.counters().unauthorized, 0);

    // The stepped-up call needs a step-up of its own.
    get_ok(&client, &statement());
    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 2, 2]);
    assert_eq!(client.generation(), 2);
}

#[test]
fn a_token_the_server_idled_out_after_step_up_is_replaced_and_stepped_up_again() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    // The client believes tokens last a minute: only the server expires it.
    let client = build(with_right_code(
        builder_for(&sandbox.weavr_url(), provider(LONG_IDLE), WEAVR_EMAIL),
        &asked,
    ));
    get_stepped_up_ok(&client, &statement());

    thread::sleep(IDLE + millis(100));
    // 401, a new login, step-up again, the call replayed.
    get_stepped_up_ok(&client, &statement());

    assert_eq!(sandbox.counters().unauthorized, 1);
    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 2, 2]);
}

// ---- refused logins ----

#[test]
fn an_expired_password_is_rejected_with_its_own_kind_and_never_retried() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.weavr_url(),
        provider(IDLE),
        WEAVR_EXPIRED_EMAIL,
    ));

    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    let api = api_error(&error);
    assert_eq!(api.status, 409);
    assert_eq!(api.kind, ErrorKind::PasswordExpired);
    assert_eq!(sandbox.counters().rejected_logins, 1);
    thread::sleep(millis(100));
    assert!(matches!(client.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert!(matches!(
        client.call(Level::SteppedUp, "GET", &statement(), Vec::new()),
        Err(Error::Rejected(_))
    ));
    let counters = sandbox.counters();
    assert_eq!(counters.rejected_logins, 1);
    assert_eq!(weavr_counts(&sandbox), [0, 0, 0, 0]);
    assert_eq!(counters.unauthorized, 0);
}

#[test]
fn a_locked_user_is_rejected_as_locked() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        weavr_lockout_after: 2,
        ..SandboxConfig::for_tests()
    });
    let wrong = build(
        Client::builder(provider(IDLE), credentials(WEAVR_EMAIL, "not-the-password"))
            .base_url(sandbox.weavr_url())
            .config(session_config())
            .max_wait(MAX_WAIT),
    );
    // Two wrong passwords: 403, each tried once.
    let error = wrong.get(ACCOUNTS).unwrap_err();
    assert_eq!(api_error(&error).status, 403);
    assert!(matches!(wrong.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 1);
    assert!(matches!(wrong.login(), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 2);

    // Now even the right password meets the lock.
    let client = build(builder(&sandbox));
    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    let api = api_error(&error);
    assert_eq!(api.status, 423);
    assert_eq!(
        api.kind,
        ErrorKind::Locked {
            retry_after: Duration::from_secs(30 * 60)
        }
    );
    assert!(matches!(client.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 3);
    assert_eq!(weavr_counts(&sandbox), [0, 0, 0, 0]);
}
