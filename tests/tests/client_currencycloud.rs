//! The blocking client against the sandbox's Currencycloud, over real
//! sockets on 127.0.0.1: login and calls, idle expiry (the server's and the
//! client's own), one login for 32 threads, refused credentials, retries
//! after `429`, `503` and a dropped connection, logout, redirects, origins,
//! and no secret in anything the client prints.
//!
//! Every test starts its own sandbox with short timers and a client whose
//! session waits at most a fraction of a second between retries (the one
//! exception honours a one-second `Retry-After`), so the suite stays fast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Config, SessionState};
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Fault, Sandbox, SandboxConfig,
};
use authsession_std::{
    BaseUrlError, Client, ClientBuilder, Error, PathError, Timeouts, TransportErrorKind,
};
use authsession_tests::tap::Tap;

const ACCOUNT: &str = "/v2/accounts/current";
const BALANCES: &str = "/v2/balances/find";
const REDIRECT: &str = "/v2/redirect";
/// A well-formed key that the sandbox does not know.
const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The session's retry limits in these tests.
const BACKOFF_BASE: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(200);
const MAX_ATTEMPTS: u32 = 4;
const RATE_LIMIT_WAIT: Duration = Duration::from_millis(500);
/// Scheduling slack on a busy two-core machine.
const SLACK: Duration = Duration::from_secs(2);
/// The client's view of the idle timeout when the test wants only the
/// server to expire tokens.
const LONG_IDLE: Duration = Duration::from_secs(60);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

// ---- fixtures ----

fn start_sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    })
}

fn session_config(expiry_margin: Duration) -> Config {
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

fn credentials(api_key: &str) -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, api_key)
        .unwrap_or_else(|error| panic!("credentials refused: {error}"))
}

/// A client of `base_url` that believes tokens idle out after `idle`, and
/// treats them as lapsed `margin` earlier.
fn builder_for(
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

fn build(builder: ClientBuilder<Currencycloud>) -> Client<Currencycloud> {
    builder
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

/// A client of the sandbox with the right key, for which only the server
/// expires tokens.
fn client_of(sandbox: &Sandbox) -> Client<Currencycloud> {
    build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ))
}

/// `GET path`, which must answer `200`.
fn get_ok(client: &Client<Currencycloud>, path: &str) -> http::Response<Vec<u8>> {
    let response = client
        .get(path)
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

/// Asserts the sandbox's counters are exactly `expected`.
fn counters_after(sandbox: &Sandbox, expected: Counters) {
    assert_eq!(sandbox.counters(), expected);
}

// ---- secrets ----

/// Fails if any of the `printed` texts (of `what`) holds one of `secrets`.
fn assert_secret_free(what: &str, printed: &[String], secrets: &[String]) {
    for text in printed {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} prints a secret: {text}"
            );
        }
    }
}

fn assert_error_secret_free(error: &Error, secrets: &[String]) {
    let printed = [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    assert_secret_free("an error", &printed, secrets);
}

fn assert_client_secret_free(client: &Client<Currencycloud>, secrets: &[String]) {
    let printed = [format!("{client:?}"), format!("{client:#?}")];
    assert_secret_free("the client", &printed, secrets);
}

// ---- the tests ----

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
fn a_token_the_server_idled_out_is_replaced_by_one_login_and_the_call_replayed() {
    // The client believes tokens live a minute; the sandbox kills them
    // after 300 ms, so only the server's 401 tells the client.
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    thread::sleep(ms(450));

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
        idle_timeout: ms(600),
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    });
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        ms(600),
        ms(300),
    ));
    get_ok(&client, ACCOUNT);
    thread::sleep(ms(400));

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

const THREADS: usize = 32;
const CALLS_PER_THREAD: usize = 2;
const PHASES: u64 = 3;

/// `PHASES` bursts of `THREADS` threads, each making `CALLS_PER_THREAD`
/// calls through `client`, with `pause` between bursts (longer than the
/// token's idle life). Every call must succeed and each burst must cost
/// exactly one login.
fn bursts_across_expiries(sandbox: &Sandbox, client: &Client<Currencycloud>, pause: Duration) {
    for phase in 0..PHASES {
        if phase > 0 {
            thread::sleep(pause);
        }
        let barrier = Barrier::new(THREADS);
        let outcomes: Vec<Result<u16, Error>> = thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        [ACCOUNT, BALANCES]
                            .iter()
                            .cycle()
                            .take(CALLS_PER_THREAD)
                            .map(|path| client.get(path).map(|answer| answer.status().as_u16()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        assert_eq!(outcomes.len(), THREADS * CALLS_PER_THREAD);
        for outcome in outcomes {
            assert!(matches!(outcome, Ok(200)), "burst {phase}: {outcome:?}");
        }
        assert_eq!(sandbox.counters().logins, phase + 1, "burst {phase}");
    }
    assert_eq!(client.generation(), PHASES);
    let calls = u64::try_from(THREADS * CALLS_PER_THREAD).unwrap_or(u64::MAX) * PHASES;
    assert_eq!(sandbox.counters().calls, calls);
}

#[test]
fn thirty_two_threads_meeting_a_refused_token_cause_one_login() {
    // The server idles tokens out after 500 ms; the client does not know.
    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: ms(500),
        ..SandboxConfig::for_tests()
    });
    let client = client_of(&sandbox);

    bursts_across_expiries(&sandbox, &client, ms(700));

    let counters = sandbox.counters();
    assert_eq!(counters.rejected_logins, 0);
    // Each burst after the first met the dead token at least once; at most
    // every thread did.
    let expiries = PHASES - 1;
    let threads = u64::try_from(THREADS).unwrap();
    assert!(
        (expiries..=expiries * threads).contains(&counters.unauthorized),
        "{counters:?}"
    );
}

#[test]
fn thirty_two_threads_meeting_a_lapsed_token_cause_one_login() {
    // The client treats tokens as lapsed 600 ms after the last call; the
    // server would keep them for a second. No 401 is ever needed.
    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: ms(1000),
        ..SandboxConfig::for_tests()
    });
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        ms(1000),
        ms(400),
    ));

    bursts_across_expiries(&sandbox, &client, ms(700));

    assert_eq!(sandbox.counters().unauthorized, 0);
}

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
    assert!(retry_after <= Duration::from_secs(1) && retry_after > ms(500));
    // The session is untouched: the next call goes out with the same token.
    get_ok(&client, ACCOUNT);
    assert_eq!(sandbox.counters().logins, 1);
}

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

#[test]
fn thirty_two_threads_with_a_wrong_key_cause_one_login_attempt() {
    let sandbox = start_sandbox(SandboxConfig::for_tests());
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        WRONG_KEY,
        LONG_IDLE,
        Duration::ZERO,
    ));
    let barrier = Barrier::new(THREADS);
    let errors: Vec<Error> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    client.get(ACCOUNT).unwrap_err()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for error in &errors {
        assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    }
    counters_after(
        &sandbox,
        Counters {
            rejected_logins: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn thirty_two_threads_wait_together_for_a_login_that_failed_once() {
    let sandbox = start_sandbox(SandboxConfig::for_tests());
    let client = client_of(&sandbox);
    sandbox.inject(Fault::Status(503), 1);
    let barrier = Barrier::new(THREADS);
    let statuses: Vec<u16> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    client.get(ACCOUNT).unwrap().status().as_u16()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    counters_after(
        &sandbox,
        Counters {
            logins: 1,
            calls: u64::try_from(THREADS).unwrap(),
            faults: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn a_key_revoked_mid_session_is_found_at_the_next_login_and_not_retried() {
    let sandbox = sandbox();
    let client = client_of(&sandbox);
    get_ok(&client, ACCOUNT);
    sandbox.add_currencycloud_user(CURRENCYCLOUD_LOGIN_ID, &"ab".repeat(32));
    thread::sleep(ms(450));

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
fn a_token_the_client_knows_has_lapsed_is_not_sent_to_log_out() {
    // The client treats the token as lapsed 300 ms after the last call;
    // the server forgets it after 300 ms too.
    let sandbox = sandbox();
    let build_client = || {
        build(builder_for(
            &sandbox.currencycloud_url(),
            CURRENCYCLOUD_API_KEY,
            ms(600),
            ms(300),
        ))
    };
    let client = build_client();
    get_ok(&client, ACCOUNT);
    thread::sleep(ms(400));
    client.logout().unwrap();
    assert_eq!(client.state(), SessionState::LoggedOut);

    let dropped = build_client();
    get_ok(&dropped, ACCOUNT);
    thread::sleep(ms(400));
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
            response: ms(200),
            body_limit: 1024 * 1024,
        }),
    );
    get_ok(&client, ACCOUNT);
    sandbox.inject(Fault::Delay(ms(1500)), 1);

    let started = Instant::now();
    let error = client.get(ACCOUNT).unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(&error, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout),
        "{error:?}"
    );
    assert!(error.is_timeout());
    assert!(took < ms(1500), "{took:?}");
}
