//! The blocking Currencycloud client: login, calls, logout, redirects and origins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::Duration;

use authsession_core::SessionState;
use authsession_core::providers::Currencycloud;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Counters, Fault};
use authsession_std::{BaseUrlError, Client, Error, PathError, TransportErrorKind};
use authsession_tests::millis;

mod client_currencycloud_support;

use client_currencycloud_support::{
    ACCOUNT, BALANCES, LONG_IDLE, REDIRECT, assert_error_secret_free, build, builder_for,
    client_of, counters_after, credentials, get_ok, sandbox,
};

#[test]
fn the_client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client<Currencycloud>>();
    assert_send_sync::<Error>();
}

#[test]
fn logs_in_once_and_makes_calls() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    assert_eq!(client.state(), SessionState::LoggedOut);

    let account = get_ok(&client, ACCOUNT);
    assert!(String::from_utf8_lossy(account.body()).contains("Demo Sandbox Ltd"));
    assert!(account.headers().contains_key("x-request-id"));
    let balances = get_ok(&client, BALANCES);
    assert!(String::from_utf8_lossy(balances.body()).contains("\"balances\""));
    for _ in 0..3 {
        get_ok(&client, ACCOUNT);
    }
    // An absolute URL of the same origin is fine.
    get_ok(
        &client,
        &format!("{}{BALANCES}", sandbox.currencycloud_url()),
    );

    assert_eq!(client.state(), SessionState::Active);
    assert_eq!(client.generation(), 1);
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 6,
            ..Counters::default()
        },
    );
}

#[test]
fn logout_reaches_the_server_and_the_next_call_logs_in_afresh() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    // Nothing to close yet: nothing is sent.
    client.logout().unwrap();
    assert_eq!(sandbox.counters(), Counters::default());

    get_ok(&client, ACCOUNT);
    client.logout().unwrap();
    assert_eq!(client.state(), SessionState::LoggedOut);
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            logouts: 1,
            calls: 1,
            ..Counters::default()
        },
    );

    get_ok(&client, BALANCES);
    assert_eq!(client.generation(), 2);
    counters_after(
        &sandbox,
        Counters {
            logins: 2,
            logouts: 1,
            calls: 2,
            ..Counters::default()
        },
    );
}

#[test]
fn dropping_a_client_logs_out_unless_told_not_to() {
    let sandbox = sandbox();
    {
        let client = client_of(&sandbox);
        get_ok(&client, ACCOUNT);
    }
    assert_eq!(sandbox.counters().logouts, 1);

    {
        let client = build(
            builder_for(
                &sandbox.currencycloud_url(),
                CURRENCYCLOUD_API_KEY,
                LONG_IDLE,
                Duration::ZERO,
            )
            .logout_on_drop(false),
        );
        get_ok(&client, ACCOUNT);
    }
    // A client that never logged in has nothing to close either.
    drop(client_of(&sandbox));
    counters_after(
        &sandbox,
        Counters {
            logins: 2,
            logouts: 1,
            calls: 2,
            ..Counters::default()
        },
    );
}

#[test]
fn a_token_the_client_knows_has_lapsed_is_not_sent_to_log_out() {
    // The client treats the token as lapsed 300 ms after the last call;
    // the server forgets it after 300 ms too.
    let sandbox = sandbox();
    let build_client = || {
        build(builder_for(
            &sandbox.currencycloud_url(),
            CURRENCYCLOUD_API_KEY,
            millis(600),
            millis(300),
        ))
    };
    let client = build_client();
    get_ok(&client, ACCOUNT);
    thread::sleep(millis(400));
    client.logout().unwrap();
    assert_eq!(client.state(), SessionState::LoggedOut);

    let dropped = build_client();
    get_ok(&dropped, ACCOUNT);
    thread::sleep(millis(400));
    drop(dropped);

    counters_after(
        &sandbox,
        Counters {
            logins: 2,
            calls: 2,
            ..Counters::default()
        },
    );
}

#[test]
fn a_connection_dropped_during_logout_still_forgets_the_token() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    sandbox.inject(Fault::Drop, 1);

    assert!(matches!(
        client.logout(),
        Err(Error::Transport(t)) if t.kind() == TransportErrorKind::Io
    ));
    assert_eq!(client.state(), SessionState::LoggedOut);

    get_ok(&client, ACCOUNT);
    assert_eq!(client.generation(), 2);
    assert_eq!(sandbox.counters().logins, 2);
}

#[test]
fn a_redirect_is_returned_to_the_caller_not_followed() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);

    let answer = client.get(REDIRECT).unwrap();

    assert_eq!(answer.status(), 302);
    assert_eq!(
        answer.headers().get(http::header::LOCATION).unwrap(),
        "http://127.0.0.2:9/steal"
    );
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn plain_http_to_another_host_is_refused_when_building() {
    for base in [
        "http://api.currencycloud.com",
        "http://devapi.currencycloud.com/v2",
        "http://10.0.0.1:8080",
        "http://128.0.0.1",
        "http://localhost.evil.example",
        "ftp://127.0.0.1",
    ] {
        let built = builder_for(base, CURRENCYCLOUD_API_KEY, LONG_IDLE, Duration::ZERO).build();
        let error = built.unwrap_err();
        assert!(
            matches!(
                error,
                Error::BaseUrl(BaseUrlError::PlainHttpNotLoopback | BaseUrlError::NotHttps)
            ),
            "{base}: {error:?}"
        );
        assert_error_secret_free(&error, &[CURRENCYCLOUD_API_KEY.to_owned()]);
    }
    let unset = Client::builder(Currencycloud::default(), credentials(CURRENCYCLOUD_API_KEY));
    assert!(matches!(
        unset.build(),
        Err(Error::BaseUrl(BaseUrlError::Missing))
    ));
    for base in [
        "https://api.currencycloud.com",
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
    ] {
        let built = builder_for(base, CURRENCYCLOUD_API_KEY, LONG_IDLE, Duration::ZERO).build();
        assert!(built.is_ok(), "{base}");
    }
}

#[test]
fn a_url_to_another_origin_is_refused_without_any_traffic() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    let port = sandbox.addr().port();
    for target in [
        "http://127.0.0.2:1/x".to_owned(),
        format!("http://127.0.0.2:{port}{ACCOUNT}"),
        format!("https://127.0.0.1:{port}{ACCOUNT}"),
        format!("//127.0.0.2:{port}{ACCOUNT}"),
        "v2/accounts/current".to_owned(),
    ] {
        let error = client.get(&target).unwrap_err();
        assert!(matches!(error, Error::Path(_)), "{target}: {error:?}");
    }
    // Refused before the session was asked for a token: nothing was sent.
    assert_eq!(sandbox.counters(), Counters::default());
    assert_eq!(client.state(), SessionState::LoggedOut);

    get_ok(&client, ACCOUNT);
    assert!(matches!(
        client.get("http://127.0.0.2:1/x"),
        Err(Error::Path(PathError::OtherOrigin))
    ));
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: 1,
            ..Counters::default()
        },
    );
}
