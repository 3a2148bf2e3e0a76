//! The blocking Currencycloud client: no API key or token in anything it prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Fault, SandboxConfig};
use authsession_std::{Error, PathError, TransportErrorKind};
use authsession_tests::tap::Tap;

mod client_currencycloud_support;

use client_currencycloud_support::{
    ACCOUNT, LONG_IDLE, MAX_ATTEMPTS, WRONG_KEY, assert_client_secret_free,
    assert_error_secret_free, assert_secret_free, build, builder_for, get_ok, start_sandbox,
};

#[test]
fn nothing_printed_holds_the_api_key_or_a_token() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    });
    let tap = Tap::start(sandbox.addr());
    let good = build(builder_for(
        &tap.url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    let mut errors = Vec::new();
    let mut prints = vec![format!("{good:?}")];

    // Two tokens: one before a logout, one after.
    get_ok(&good, ACCOUNT);
    prints.push(format!("{good:#?}"));
    good.logout().unwrap();
    get_ok(&good, ACCOUNT);
    prints.push(format!("{good:?}"));
    // A rate limit on a call, a token refused twice, another origin, the
    // server gone during a call.
    sandbox.inject(Fault::StatusRetryAfter(429, 1), 1);
    errors.push(good.get(ACCOUNT).unwrap_err());
    sandbox.inject(Fault::Status(401), 1);
    sandbox.inject(Fault::Delay(Duration::ZERO), 1);
    sandbox.inject(Fault::Status(401), 1);
    errors.push(good.get(ACCOUNT).unwrap_err());
    prints.push(format!("{good:?}"));
    get_ok(&good, ACCOUNT);
    errors.push(good.get("http://127.0.0.2:1/x").unwrap_err());
    prints.push(format!("{good:?}"));

    // Refused credentials, and logins that kept failing.
    let wrong = build(builder_for(
        &tap.url(),
        WRONG_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    errors.push(wrong.get(ACCOUNT).unwrap_err());
    prints.push(format!("{wrong:?}"));
    let failing = build(builder_for(
        &tap.url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    sandbox.inject(Fault::Status(503), MAX_ATTEMPTS);
    errors.push(failing.get(ACCOUNT).unwrap_err());
    prints.push(format!("{failing:?}"));

    // The `auth_token`s of the login answers the tap saw.
    let tokens = tap.answer_strings("auth_token");
    assert_eq!(tokens.len(), 4, "one token per login: {tokens:?}");
    assert!(tokens.iter().all(|token| token.len() >= 16), "{tokens:?}");
    let mut secrets = tokens;
    secrets.push(CURRENCYCLOUD_API_KEY.to_owned());
    secrets.push(WRONG_KEY.to_owned());

    assert!(matches!(errors[0], Error::RateLimited { .. }), "{errors:?}");
    assert!(matches!(errors[1], Error::TokenRefused), "{errors:?}");
    assert!(
        matches!(errors[2], Error::Path(PathError::OtherOrigin)),
        "{errors:?}"
    );
    assert!(matches!(errors[3], Error::Rejected(_)), "{errors:?}");
    assert!(matches!(errors[4], Error::GaveUp(_)), "{errors:?}");
    for error in &errors {
        assert_error_secret_free(error, &secrets);
    }
    assert_secret_free("a client", &prints, &secrets);
    assert_client_secret_free(&good, &secrets);

    // The server gone while a call is on its way: a transport error.
    drop(sandbox);
    drop(tap);
    let error = good.get(ACCOUNT).unwrap_err();
    assert!(
        matches!(&error, Error::Transport(t) if t.kind() == TransportErrorKind::Connect),
        "{error:?}"
    );
    assert_error_secret_free(&error, &secrets);
}
