//! The blocking Currencycloud client: tokens idled out by the server or by its own clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::Duration;

use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Counters, Fault, SandboxConfig};
use authsession_std::Error;
use authsession_tests::millis;

mod client_currencycloud_support;

use client_currencycloud_support::{
    ACCOUNT, BALANCES, assert_error_secret_free, build, builder_for, client_of, counters_after,
    get_ok, sandbox, start_sandbox,
};

#[test]
fn a_token_the_server_idled_out_is_replaced_by_one_login_and_the_call_replayed() {
    // The client believes tokens live a minute; the sandbox kills them
    // after 300 ms, so only the server's 401 tells the client.
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    thread::sleep(millis(450));

    get_ok(&client, BALANCES);

    assert_eq!(client.generation(), 2);
    counters_after(
        &sandbox,
        Counters {
            logins: 2,
            unauthorized: 1,
            calls: 2,
            ..Counters::default()
        },
    );
}

#[test]
fn a_token_the_client_knows_has_idled_out_is_never_sent() {
    // The client treats tokens as lapsed 300 ms after the last call (600 ms
    // idle timeout less a 300 ms margin): after 400 ms it logs in again
    // before sending, although the server would still take the token.
    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: millis(600),
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    });
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        millis(600),
        millis(300),
    ));
    get_ok(&client, ACCOUNT);
    thread::sleep(millis(400));

    get_ok(&client, ACCOUNT);

    assert_eq!(client.generation(), 2);
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
fn a_token_refused_again_after_a_fresh_login_is_an_error() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    // The call gets a 401, the login goes through untouched (a zero delay
    // is no fault at all), and the replayed call gets a 401 again.
    sandbox.inject(Fault::Status(401), 1);
    sandbox.inject(Fault::Delay(Duration::ZERO), 1);
    sandbox.inject(Fault::Status(401), 1);

    let error = client.get(ACCOUNT).unwrap_err();

    assert!(matches!(error, Error::TokenRefused), "{error:?}");
    assert_error_secret_free(&error, &[CURRENCYCLOUD_API_KEY.to_owned()]);
    counters_after(
        &sandbox,
        Counters {
            logins: 2,
            calls: 1,
            faults: 3,
            ..Counters::default()
        },
    );
    // The error is for that call only: the next one logs in and succeeds.
    get_ok(&client, ACCOUNT);
    assert_eq!(sandbox.counters().logins, 3);
}
