//! Runs the `core_loop` example's loop against the sandbox: the core's
//! `Session` driven by hand over `ureq`, by the one rule. Each test counts
//! what the server saw: the logins, the call served, the logout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../examples/core_loop.rs"]
mod example;

use std::time::Duration;

use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Fault, Sandbox, SandboxConfig,
};

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::for_tests()).unwrap()
}

fn run(sandbox: &Sandbox, api_key: &str) -> Result<(u16, String), String> {
    example::run(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_LOGIN_ID,
        api_key,
    )
    .map_err(|error| error.to_string())
}

#[test]
fn the_loop_logs_in_once_makes_its_call_and_logs_out() {
    let sandbox = sandbox();
    let (status, account) = run(&sandbox, CURRENCYCLOUD_API_KEY).unwrap();
    assert_eq!(status, 200, "{account}");
    assert!(account.contains("\"account_name\""), "{account}");
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            calls: 1,
            logouts: 1,
            ..Counters::default()
        }
    );
}

#[test]
fn the_loop_sleeps_out_a_backoff_after_a_503_and_a_dropped_login() {
    let sandbox = sandbox();
    // The first login answers 503, the second gets no answer: both are
    // waited out (the loop's only sleeps), and the third logs in.
    sandbox.inject(Fault::Status(503), 1);
    sandbox.inject(Fault::Drop, 1);
    let (status, _) = run(&sandbox, CURRENCYCLOUD_API_KEY).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            calls: 1,
            logouts: 1,
            faults: 2,
            ..Counters::default()
        }
    );
}

#[test]
fn a_refused_token_is_replaced_once_and_the_call_goes_again() {
    let sandbox = sandbox();
    // The login is served (a harmless delay consumes the first fault); the
    // call is refused with a 401, which costs one login and one replay.
    sandbox.inject(Fault::Delay(Duration::ZERO), 1);
    sandbox.inject(Fault::Status(401), 1);
    let (status, _) = run(&sandbox, CURRENCYCLOUD_API_KEY).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 2,
            calls: 1,
            logouts: 1,
            faults: 2,
            ..Counters::default()
        }
    );
}

#[test]
fn refused_credentials_end_the_loop_after_one_login() {
    let sandbox = sandbox();
    let error = run(&sandbox, &"0".repeat(64)).unwrap_err();
    assert!(error.contains("no session"), "{error}");
    assert_eq!(
        sandbox.counters(),
        Counters {
            rejected_logins: 1,
            ..Counters::default()
        }
    );
}
