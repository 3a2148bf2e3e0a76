//! The blocking client against a server that answers badly: tokens that
//! lapse on arrival or cannot be used, oversized answers, an absurd
//! `Retry-After`, a login that never answers,
//! a path that climbs out of the API. Each test counts what the sandbox
//! saw; none measures time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use authsession_core::providers::{
    AccessKey, AccessKeyCredentials, Currencycloud, CurrencycloudCredentials,
};
use authsession_core::{Config, Error as CoreError, TokenProblem};
use authsession_sandbox::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Fault,
    Sandbox, SandboxConfig,
};
use authsession_std::{Client, Error, PathError};

const ACCOUNT: &str = "/v2/accounts/current";

fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).expect("the sandbox starts")
}

fn currencycloud(sandbox: &Sandbox, idle: Duration, config: Config) -> Client<Currencycloud> {
    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    Client::builder(Currencycloud::with_idle_timeout(idle), credentials)
        .base_url(sandbox.currencycloud_url())
        .config(config)
        .max_wait(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Retries that follow each other quickly, so that a test sees them all.
fn quick_retries() -> Config {
    Config {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..Config::default()
    }
}

#[test]
fn a_jwt_that_lapses_on_arrival_costs_max_attempts_logins_not_a_storm() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    // The sandbox's shortest token, exp - iat = 1 s: less the second the
    // whole-second claims may hide, it is over as soon as it is issued.
    sandbox.set_access_key_token_lifetime(Duration::ZERO);
    let credentials = AccessKeyCredentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET).unwrap();
    let client = Client::builder(AccessKey, credentials)
        .base_url(sandbox.access_key_url())
        .config(quick_retries())
        .build()
        .unwrap();

    let error = client.get("/partners/me").unwrap_err();

    assert!(
        matches!(error, Error::GaveUp(ref why) if matches!(**why, CoreError::TokenLapsedOnArrival)),
        "{error:?}"
    );
    let attempts = u64::from(Config::default().max_attempts);
    assert_eq!(sandbox.counters().access_key_logins, attempts);
    assert_eq!(sandbox.counters().calls, 0);
}

#[test]
fn a_short_idle_timeout_with_the_default_margin_serves_calls() {
    let idle = Duration::from_millis(300);
    let sandbox = sandbox(SandboxConfig {
        idle_timeout: idle,
        ..SandboxConfig::for_tests()
    });
    let client = currencycloud(&sandbox, idle, Config::default());

    for _ in 0..5 {
        assert_eq!(client.get(ACCOUNT).unwrap().status(), 200);
    }

    assert_eq!(sandbox.counters().logins, 1);
    assert_eq!(sandbox.counters().calls, 5);
}

#[test]
fn an_absurd_retry_after_is_capped_and_new_credentials_end_it() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    let client = currencycloud(&sandbox, Duration::from_secs(60), Config::default());
    sandbox.inject(Fault::StatusRetryAfter(503, u32::MAX), 1);

    // The wait is longer than the call's patience: returned, not slept,
    // and capped at the configured five minutes.
    let error = client.get(ACCOUNT).unwrap_err();
    let Error::RateLimited { retry_after } = error else {
        panic!("{error:?}");
    };
    assert!(retry_after <= Config::default().max_retry_after);

    // New credentials: the next call logs in at once.
    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    client.set_credentials(credentials);
    assert_eq!(client.get(ACCOUNT).unwrap().status(), 200);
    assert_eq!(sandbox.counters().faults, 1);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn an_explicit_login_ends_an_absurd_backoff() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    let client = currencycloud(&sandbox, Duration::from_secs(60), Config::default());
    sandbox.inject(Fault::StatusRetryAfter(429, u32::MAX), 1);
    assert!(matches!(
        client.get(ACCOUNT),
        Err(Error::RateLimited { .. })
    ));

    client.login().unwrap();

    assert_eq!(client.get(ACCOUNT).unwrap().status(), 200);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_login_slower_than_the_calls_patience_ends_the_call_at_its_patience() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    let client = Client::builder(Currencycloud::default(), credentials)
        .base_url(sandbox.currencycloud_url())
        .max_wait(Duration::from_millis(300))
        .build()
        .unwrap();
    // The login's answer comes long after the call's patience.
    sandbox.inject(Fault::Delay(Duration::from_secs(3)), 1);

    let error = client.get(ACCOUNT).unwrap_err();

    // The round trip was cut at the call's patience: the call failed
    // instead of taking the late login.
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(sandbox.counters().calls, 0);
}

#[test]
fn a_path_that_climbs_out_of_the_api_is_refused_before_any_login() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    // The access-key API lives under `/access-key` on the sandbox's host,
    // beside Currencycloud's `/v2`: its token must not reach `/v2`.
    let credentials = AccessKeyCredentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET).unwrap();
    let client = Client::builder(AccessKey, credentials)
        .base_url(sandbox.access_key_url())
        .build()
        .unwrap();

    for path in [
        "/../v2/accounts/current",
        "/partners/../../v2/accounts/current",
        "/%2e%2e/v2/accounts/current",
    ] {
        let error = client.get(path).unwrap_err();
        assert!(
            matches!(error, Error::Path(PathError::ClimbsOut)),
            "{path}: {error:?}"
        );
    }

    assert_eq!(sandbox.counters().logins, 0);
    assert_eq!(sandbox.counters().faults, 0);
}

#[test]
fn a_login_200_with_an_unusable_token_costs_one_login_until_the_caller_asks() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    let client = currencycloud(&sandbox, Duration::from_secs(60), quick_retries());
    sandbox.inject(Fault::Answer(200, br#"{"auth_token":"ab cd"}"#), 1);

    for _ in 0..3 {
        let error = client.get(ACCOUNT).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Rejected(ref why)
                    if matches!(**why, CoreError::UnusableToken(TokenProblem::NotHeaderSafe))
            ),
            "{error:?}"
        );
    }
    // The hostile answer was the only request: no retry reached the server.
    assert_eq!(sandbox.counters().faults, 1);
    assert_eq!(sandbox.counters().logins, 0);

    client.login().unwrap();
    assert_eq!(client.get(ACCOUNT).unwrap().status(), 200);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_login_answer_larger_than_64_kib_is_not_read() {
    let sandbox = sandbox(SandboxConfig::for_tests());
    let client = currencycloud(&sandbox, Duration::from_secs(60), quick_retries());
    // A "token" of 100 KB: read, it would end the login as too long; the
    // client stops reading at 64 KiB, so it is a failed exchange, retried.
    let huge = format!(r#"{{"auth_token":"{}"}}"#, "a".repeat(100 * 1024));
    let huge: &'static [u8] = Box::leak(huge.into_bytes().into_boxed_slice());
    sandbox.inject(Fault::Answer(200, huge), 1);

    assert_eq!(client.get(ACCOUNT).unwrap().status(), 200);
    assert_eq!(sandbox.counters().faults, 1);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_step_up_whose_token_lapses_while_the_user_types_is_a_step_up_error() {
    use authsession_core::Channel;
    use authsession_core::providers::weavr::{IdentityType, Weavr, WeavrCredentials};
    use authsession_sandbox::{
        WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE,
        WEAVR_PASSWORD,
    };
    use authsession_std::StepUpAnswer;
    let sandbox = sandbox(SandboxConfig::for_tests());
    let idle = Duration::from_millis(300);
    let provider = Weavr::default()
        .with_timers(idle, Duration::from_millis(200))
        .with_identity(IdentityType::Corporate, WEAVR_CORPORATE_ID)
        .unwrap();
    let credentials = WeavrCredentials::new(WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_PASSWORD).unwrap();
    let client = Client::builder(provider, credentials)
        .base_url(sandbox.weavr_url())
        .step_up(Channel::Sms, move |_| {
            // The user takes longer than the token's idle time.
            std::thread::sleep(idle * 2);
            StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
        })
        .build()
        .unwrap();

    let statement = format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement");
    let error = client.get(&statement).unwrap_err();

    // The session itself refused to send the code with a lapsed token: a
    // step-up error (the command exits 1), not a configuration one.
    assert!(matches!(error, Error::StepUpRefused(_)), "{error:?}");
    assert_eq!(sandbox.counters().weavr_codes_checked, 0);
}
