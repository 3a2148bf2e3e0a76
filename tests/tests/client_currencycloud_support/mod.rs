//! The fixtures of the `client_currencycloud_*.rs` tests: the constants,
//! a sandbox with short timers, clients of it, `get_ok`, the sandbox's
//! counters, and the checks that nothing printed holds a secret. (Here
//! rather than in the kit's `src`: they need `authsession-std` and
//! `authsession-sandbox`, which are dev-dependencies only.) Each test
//! binary uses part of it.
//!
//! Every test starts its own sandbox with short timers and a client whose
//! session waits at most a fraction of a second between retries (the one
//! exception honours a one-second `Retry-After`), so the suites stay fast.
#![allow(dead_code)]

use std::time::Duration;

use authsession_core::Config;
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Sandbox, SandboxConfig,
};
use authsession_std::{Client, ClientBuilder, Error, Timeouts};

pub const ACCOUNT: &str = "/v2/accounts/current";
pub const BALANCES: &str = "/v2/balances/find";
pub const REDIRECT: &str = "/v2/redirect";
/// A well-formed key that the sandbox does not know.
pub const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The session's retry limits in these tests.
pub const BACKOFF_BASE: Duration = Duration::from_millis(50);
pub const BACKOFF_MAX: Duration = Duration::from_millis(200);
pub const MAX_ATTEMPTS: u32 = 4;
pub const RATE_LIMIT_WAIT: Duration = Duration::from_millis(500);
/// Scheduling slack on a busy two-core machine.
pub const SLACK: Duration = Duration::from_secs(2);
/// The client's view of the idle timeout when the test wants only the
/// server to expire tokens.
pub const LONG_IDLE: Duration = Duration::from_secs(60);

pub fn start_sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

pub fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    })
}

pub fn session_config(expiry_margin: Duration) -> Config {
    Config {
        expiry_margin,
        backoff_base: BACKOFF_BASE,
        backoff_max: BACKOFF_MAX,
        max_attempts: MAX_ATTEMPTS,
        rate_limit_wait: RATE_LIMIT_WAIT,
        seed: 7,
        ..Config::default()
    }
}

pub fn credentials(api_key: &str) -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, api_key)
        .unwrap_or_else(|error| panic!("credentials refused: {error}"))
}

/// A client of `base_url` that believes tokens idle out after `idle`, and
/// treats them as lapsed `margin` earlier.
pub fn builder_for(
    base_url: &str,
    api_key: &str,
    idle: Duration,
    margin: Duration,
) -> ClientBuilder<Currencycloud> {
    Client::builder(Currencycloud::with_idle_timeout(idle), credentials(api_key))
        .base_url(base_url)
        .config(session_config(margin))
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(5),
            body_limit: 1024 * 1024,
        })
        .max_wait(Duration::from_secs(5))
}

pub fn build(builder: ClientBuilder<Currencycloud>) -> Client<Currencycloud> {
    builder
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

/// A client of the sandbox with the right key, for which only the server
/// expires tokens.
pub fn client_of(sandbox: &Sandbox) -> Client<Currencycloud> {
    build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ))
}

/// `GET path`, which must answer `200`.
pub fn get_ok(client: &Client<Currencycloud>, path: &str) -> http::Response<Vec<u8>> {
    let response = client
        .get(path)
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

/// Asserts the sandbox's counters are exactly `expected`.
pub fn counters_after(sandbox: &Sandbox, expected: Counters) {
    assert_eq!(sandbox.counters(), expected);
}
/// Fails if any of the `printed` texts (of `what`) holds one of `secrets`.
pub fn assert_secret_free(what: &str, printed: &[String], secrets: &[String]) {
    for text in printed {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} prints a secret: {text}"
            );
        }
    }
}

pub fn assert_error_secret_free(error: &Error, secrets: &[String]) {
    let printed = [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    assert_secret_free("an error", &printed, secrets);
}

pub fn assert_client_secret_free(client: &Client<Currencycloud>, secrets: &[String]) {
    let printed = [format!("{client:?}"), format!("{client:#?}")];
    assert_secret_free("the client", &printed, secrets);
}
