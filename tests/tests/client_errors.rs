//! The blocking client's errors, typed: a refused connection, a timeout
//! (with how long it waited), a server that does not speak TLS, an answer
//! over the body limit, a refused login with the API's error, and the
//! configuration errors of a base URL or a path. Each has the `source()`
//! it should, and none prints a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Config, SessionState};
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Fault, Sandbox, SandboxConfig,
};
use authsession_std::{
    BaseUrlError, Client, ClientBuilder, Error, PathError, Timeouts, TransportErrorKind,
};

const ACCOUNT: &str = "/v2/accounts/current";
/// A well-formed key that the sandbox does not know.
const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// An answer far over the body limit of [`small_answers`].
static HUGE: [u8; 64 * 1024] = [b' '; 64 * 1024];

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::for_tests()).expect("the sandbox starts")
}

/// A client of `base_url` whose failed logins are retried once, quickly.
fn builder(base_url: &str, api_key: &str) -> ClientBuilder<Currencycloud> {
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, api_key).unwrap();
    Client::builder(Currencycloud::default(), credentials)
        .base_url(base_url)
        .config(Config {
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(20),
            max_attempts: 2,
            ..Config::default()
        })
        .max_wait(Duration::from_secs(5))
        .logout_on_drop(false)
}

/// The agent bounds one exchange by `connect + response`.
fn timeouts(response: Duration, body_limit: u64) -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(300),
        response,
        body_limit,
    }
}

/// The error and every error below it, each as printed and debugged: none
/// may hold the API key (or the wrong key tried).
fn assert_secret_free(error: &Error) {
    let mut printed = vec![format!("{error:?}"), format!("{error:#?}")];
    let mut next: Option<&dyn std::error::Error> = Some(error);
    while let Some(error) = next {
        printed.push(error.to_string());
        next = error.source();
    }
    for text in printed {
        for secret in [CURRENCYCLOUD_API_KEY, WRONG_KEY] {
            assert!(!text.contains(secret), "a secret is printed: {text}");
        }
    }
}

/// How many errors the chain below `error` holds.
fn sources(error: &Error) -> usize {
    let mut count = 0;
    let mut next = error.source();
    while let Some(error) = next {
        count += 1;
        next = error.source();
    }
    count
}

#[test]
fn a_port_nothing_listens_on_is_a_connect_error_with_ureqs_as_source() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"), CURRENCYCLOUD_API_KEY)
        .build()
        .unwrap();

    // The login never reached the API: the call is told why.
    let error = client.get(ACCOUNT).unwrap_err();

    let Error::Transport(transport) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(transport.kind(), TransportErrorKind::Connect, "{error}");
    assert!(!error.is_config() && !error.is_timeout());
    let source = error.source().expect("a source");
    assert!(
        source
            .downcast_ref::<authsession_std::ureq::Error>()
            .is_some(),
        "{source:?}"
    );
    assert!(transport.source().is_some());
    assert!(error.to_string().contains("could not connect"), "{error}");
    assert_eq!(error.status(), None);
    assert_secret_free(&error);
    assert_ne!(client.state(), SessionState::Active);
}

#[test]
fn an_answer_slower_than_the_response_timeout_is_a_timeout_saying_how_long_it_waited() {
    let sandbox = sandbox();
    let client = builder(&sandbox.currencycloud_url(), CURRENCYCLOUD_API_KEY)
        .timeouts(timeouts(Duration::from_millis(200), 1024 * 1024))
        .build()
        .unwrap();
    client.get(ACCOUNT).unwrap();
    sandbox.inject(Fault::Delay(Duration::from_millis(1500)), 1);

    let error = client.get(ACCOUNT).unwrap_err();

    let Error::Transport(transport) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(transport.kind(), TransportErrorKind::Timeout, "{error}");
    assert!(error.is_timeout());
    let waited = transport.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
    assert!(error.to_string().contains("timed out after"), "{error}");
    assert!(sources(&error) >= 1);
    assert_secret_free(&error);
    // The token was not at fault.
    client.get(ACCOUNT).unwrap();
}

#[test]
fn a_server_that_does_not_speak_tls_is_a_tls_error() {
    // Answers every connection with plain HTTP, which rustls reads as a
    // corrupt record, and waits for the client to hang up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut hello = [0; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    let client = builder(&format!("https://127.0.0.1:{port}"), CURRENCYCLOUD_API_KEY)
        .build()
        .unwrap();

    let error = client.get(ACCOUNT).unwrap_err();

    let Error::Transport(transport) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(transport.kind(), TransportErrorKind::Tls, "{error:?}");
    assert!(sources(&error) >= 1);
    assert_secret_free(&error);
}

#[test]
fn an_answer_over_the_body_limit_is_too_large() {
    let sandbox = sandbox();
    let client = builder(&sandbox.currencycloud_url(), CURRENCYCLOUD_API_KEY)
        .timeouts(timeouts(Duration::from_secs(5), 16 * 1024))
        .build()
        .unwrap();
    client.get(ACCOUNT).unwrap();
    sandbox.inject(Fault::Answer(200, &HUGE), 1);

    let error = client.get(ACCOUNT).unwrap_err();

    assert!(
        matches!(&error, Error::Transport(t) if t.kind() == TransportErrorKind::TooLarge),
        "{error:?}"
    );
    assert_secret_free(&error);
}

#[test]
fn a_refused_login_is_rejected_with_the_apis_error_as_source() {
    let sandbox = sandbox();
    let client = builder(&sandbox.currencycloud_url(), WRONG_KEY)
        .build()
        .unwrap();

    let error = client.get(ACCOUNT).unwrap_err();

    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.api_code(), Some("auth_failed"));
    let source = error.source().expect("the API's error");
    match source.downcast_ref::<authsession_core::Error>() {
        Some(authsession_core::Error::Api(api)) => assert_eq!(api.code, "auth_failed"),
        other => panic!("{other:?}"),
    }
    assert!(!error.is_config());
    assert_secret_free(&error);
}

#[test]
fn a_plain_http_base_url_or_one_with_credentials_is_a_base_url_error() {
    let error = builder("http://example.com", CURRENCYCLOUD_API_KEY)
        .build()
        .unwrap_err();
    assert!(
        matches!(error, Error::BaseUrl(BaseUrlError::PlainHttpNotLoopback)),
        "{error:?}"
    );
    assert!(error.is_config());
    assert!(error.source().is_none());
    assert!(error.to_string().contains("https://"), "{error}");

    // The key where a password would go is not repeated.
    let error = builder(
        &format!("https://demo:{CURRENCYCLOUD_API_KEY}@127.0.0.1:1"),
        CURRENCYCLOUD_API_KEY,
    )
    .build()
    .unwrap_err();
    assert!(
        matches!(error, Error::BaseUrl(BaseUrlError::Credentials)),
        "{error:?}"
    );
    assert_secret_free(&error);

    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    let unset = Client::builder(Currencycloud::default(), credentials).build();
    assert!(matches!(unset, Err(Error::BaseUrl(BaseUrlError::Missing))));
}

#[test]
fn a_path_to_another_origin_is_a_path_error_before_any_login() {
    let sandbox = sandbox();
    let client = builder(&sandbox.currencycloud_url(), CURRENCYCLOUD_API_KEY)
        .build()
        .unwrap();

    for (target, why) in [
        (
            "http://127.0.0.2:1/v2/accounts/current",
            PathError::OtherOrigin,
        ),
        ("//127.0.0.2/v2/accounts/current", PathError::OtherOrigin),
        ("v2/accounts/current", PathError::Invalid),
    ] {
        let error = client.get(target).unwrap_err();
        assert!(
            matches!(&error, Error::Path(found) if *found == why),
            "{target}: {error:?}"
        );
        assert!(error.is_config() && error.source().is_none());
        assert_secret_free(&error);
    }
    let error = client
        .call(authsession_core::Level::User, "GE T", ACCOUNT, Vec::new())
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidMethod { method } if method == "GE T"),
        "{error:?}"
    );
    assert_eq!(sandbox.counters().logins, 0);
}
