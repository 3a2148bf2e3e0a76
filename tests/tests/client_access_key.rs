//! The blocking client against the sandbox's access-key JWT API, over real
//! sockets on 127.0.0.1: tokens refreshed ahead of their expiry while calls
//! keep flowing, with the sandbox's clock an hour off ours either way; a
//! fleet of clients started together spreading their refreshes over the
//! jitter window; a refresh that fails leaving the old token serving until
//! it lapses; a refused key; and a logout that only forgets.
//!
//! The sandbox is as strict as a real server: its `iat` is floored to the
//! second and it refuses a token once its clock reaches `exp`, so a token
//! serves up to a second less than `exp - iat`. The session plans from
//! `exp - iat` less that second; the tests below name both lifetimes: the
//! token's (the sandbox's setting) and the plan's, a second shorter.
//!
//! The sandbox's tokens live a few seconds, so that three lifetimes pass in
//! a test; the session's refresh window is then a tenth of the planned
//! lifetime (its cap), a few hundred milliseconds. Every loop is bounded in
//! count and in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
use authsession_core::{Config, Level, SessionState};
use authsession_sandbox::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, Counters, Fault, Sandbox, SandboxConfig,
};
use authsession_std::{Client, Error, Timeouts};

const PARTNER: &str = "/partners/me";
const HOUR: i64 = 3600;
/// The pace of a caller.
const CALL_EVERY: Duration = Duration::from_millis(50);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

// ---- fixtures ----

/// A sandbox whose tokens live `lifetime` seconds, its clock `skew`
/// seconds off ours.
fn sandbox(lifetime: u64, skew: i64, workers: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        worker_threads: workers,
        access_key_token_lifetime: Duration::from_secs(lifetime),
        access_key_clock_skew: skew,
        ..SandboxConfig::for_tests()
    })
    .unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

/// The session's settings here: the default margins (which a short
/// lifetime caps at a twentieth and a tenth of it), short retries.
fn config(seed: u64) -> Config {
    Config {
        backoff_base: ms(50),
        backoff_max: ms(200),
        max_attempts: 4,
        rate_limit_wait: ms(500),
        seed,
        ..Config::default()
    }
}

fn client_with(sandbox: &Sandbox, secret: &str, config: Config) -> Client<AccessKey> {
    let credentials = AccessKeyCredentials::new(ACCESS_KEY_ID, secret)
        .unwrap_or_else(|error| panic!("credentials refused: {error}"));
    Client::builder(AccessKey, credentials)
        .base_url(sandbox.access_key_url())
        .config(config)
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(5),
            body_limit: 1024 * 1024,
        })
        .max_wait(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

fn client(sandbox: &Sandbox, config: Config) -> Client<AccessKey> {
    client_with(sandbox, ACCESS_KEY_SECRET, config)
}

/// `GET /partners/me`, which must answer `200`.
fn get_ok(client: &Client<AccessKey>) {
    let response = client
        .get(PARTNER)
        .unwrap_or_else(|error| panic!("GET {PARTNER} failed: {error}"));
    assert_eq!(
        response.status(),
        200,
        "{}",
        String::from_utf8_lossy(response.body())
    );
}

fn sleep_until(at: Instant) {
    thread::sleep(at.saturating_duration_since(Instant::now()));
}

// ---- refresh ahead of expiry, whatever the server's clock says ----

/// Calls every 50 ms until the client holds its fourth token, so that three
/// tokens served their whole useful life.
fn calls_through_three_lifetimes(skew: i64) {
    // 3 s tokens, planned as 2 s.
    const LIFETIME: u64 = 3;
    let sandbox = sandbox(LIFETIME, skew, 4);
    let client = client(&sandbox, config(7));
    let lifetime = Duration::from_secs(LIFETIME - 1);
    let started = Instant::now();
    let deadline = started + lifetime * 3 + Duration::from_secs(2);
    let mut calls = 0;
    while client.generation() < 4 && Instant::now() < deadline && calls < 300 {
        get_ok(&client);
        calls += 1;
        thread::sleep(CALL_EVERY);
    }
    let counters = sandbox.counters();
    assert_eq!(client.generation(), 4, "after {calls} calls: {counters:?}");
    assert_eq!(
        counters,
        Counters {
            logins: 4,
            access_key_logins: 4,
            calls,
            ..Counters::default()
        },
        "skew {skew}: no 401, one login per token"
    );
    // Each token was replaced ahead of its end, and not much earlier: the
    // refresh window of a token planned as 2 s starts at 1.5 s and ends at
    // 1.7 s after its login, counted on our clock from exp - iat - 1 s.
    let times = sandbox.login_times();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= lifetime * 7 / 10 && gap < lifetime * 95 / 100,
            "skew {skew}: a login {gap:?} after the one before"
        );
    }
}

#[test]
fn a_sandbox_clock_an_hour_ahead_costs_no_401_and_one_login_per_lifetime() {
    calls_through_three_lifetimes(HOUR);
}

#[test]
fn a_sandbox_clock_an_hour_behind_costs_no_401_and_one_login_per_lifetime() {
    calls_through_three_lifetimes(-HOUR);
}

// ---- whole-second claims against a strict server ----

/// The tokens of these runs live 4 s by their claims (issue 11, item 6).
const STRICT_LIFETIME: u64 = 4;
/// The calls of a run: one every 50 ms, five lifetimes and more.
const STRICT_CALLS: u64 = 400;

/// Waits until our wall clock is 900 ms into a second. The sandbox's clock
/// is ours moved by whole hours, so a login sent now gets an `iat` that
/// hides 900 ms: the token's real life is 3.1 s, not 4.
fn wait_until_late_in_a_second() {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let wait = (1900 - since.subsec_millis()) % 1000;
    thread::sleep(ms(u64::from(wait)));
}

/// A call every 50 ms, `STRICT_CALLS` of them, against a sandbox that
/// floors `iat` and refuses a token at `now >= exp`, its clock `skew`
/// seconds off ours. Not one call may meet a `401`.
fn strict_server_refuses_no_call(skew: i64, config: Config) {
    let sandbox = sandbox(STRICT_LIFETIME, skew, 4);
    let client = client(&sandbox, config);
    wait_until_late_in_a_second();
    let started = Instant::now();
    let mut failures = Vec::new();
    for _ in 0..STRICT_CALLS {
        match client.get(PARTNER) {
            Ok(response) if response.status() == 200 => {}
            other => failures.push(format!("{other:?}")),
        }
        thread::sleep(CALL_EVERY);
    }
    let elapsed = started.elapsed();
    let counters = sandbox.counters();
    assert_eq!(
        counters.unauthorized, 0,
        "skew {skew}: a token was used after the server's end: {counters:?}"
    );
    assert!(failures.is_empty(), "skew {skew}: {failures:?}");
    assert_eq!(
        (counters.calls, counters.rejected_logins, counters.faults),
        (STRICT_CALLS, 0, 0),
        "skew {skew}: {counters:?}"
    );
    assert_eq!(counters.logins, counters.access_key_logins);
    // About one login per lifetime. At least one per 4 s of calls, since a
    // token serves no longer and no call was refused; at most two, since
    // the session keeps a token for at least three quarters of its planned
    // 3 s.
    let (elapsed_ms, lifetime_ms) = (elapsed.as_millis(), u128::from(STRICT_LIFETIME * 1000));
    let logins = u128::from(counters.logins);
    eprintln!("skew {skew}: {STRICT_CALLS} calls, {logins} logins in {elapsed:?}");
    assert!(
        (elapsed_ms / lifetime_ms..=2 * elapsed_ms / lifetime_ms + 1).contains(&logins),
        "skew {skew}: {logins} logins in {elapsed:?}"
    );
}

#[test]
fn a_strict_server_an_hour_ahead_refuses_no_call_of_a_token_kept_to_its_plans_end() {
    // No refresh: each token serves until the session's planned lapse, so
    // a plan that reached past the server's end would show as a 401.
    strict_server_refuses_no_call(
        HOUR,
        Config {
            refresh_ahead: Duration::ZERO,
            ..config(21)
        },
    );
}

#[test]
fn a_strict_server_an_hour_behind_refuses_no_call_of_a_refreshed_token() {
    strict_server_refuses_no_call(-HOUR, config(22));
}

// ---- a fleet started together spreads its refreshes ----

const FLEET: usize = 100;
/// The fleet's tokens live 5 s by their claims, which the session plans as
/// 4 s. Its margins for them: a token lapses 200 ms early (a twentieth),
/// and its refresh starts at a random moment in the 400 ms (a tenth) before
/// the last 400 ms: between 3.0 s and 3.4 s after its login.
const FLEET_TOKEN_LIFETIME: u64 = 5;
const FLEET_LIFETIME: Duration = Duration::from_secs(FLEET_TOKEN_LIFETIME - 1);
const FLEET_WINDOW: Duration = Duration::from_millis(400);
const FLEET_WINDOW_START: Duration = Duration::from_secs(3);
/// The pace of a fleet client's calls while its refresh may come.
const FLEET_PACE: Duration = Duration::from_millis(25);

/// What one client of the fleet saw: when its first call started, and
/// when the call that sent its refresh started.
struct Seen {
    first_call: Instant,
    refresh_call: Option<Instant>,
}

/// Client `n` of the fleet: logs in with the others, then calls every
/// 25 ms from just before its refresh window until its refresh is done.
fn fleet_client(n: usize, sandbox: &Sandbox, start: &Barrier, one_at_a_time: &Mutex<()>) -> Seen {
    let client = client(sandbox, config(1000 + u64::try_from(n).unwrap()));
    // Each client opens its connection first, one after the other, with a
    // call that needs no token (a 404): the sandbox's HTTP server
    // (tiny_http) can leave a few of a burst of new keep-alive connections
    // unserved until another closes, which would hold their logins back by
    // seconds. The logins themselves then start together.
    {
        let _turn = one_at_a_time.lock().unwrap_or_else(PoisonError::into_inner);
        let probe = client.call(Level::Account, "GET", "/connect", Vec::new());
        assert_eq!(probe.unwrap().status(), 404);
    }
    start.wait();
    let first_call = Instant::now();
    get_ok(&client);
    // No call is needed before the window opens.
    sleep_until(first_call + FLEET_WINDOW_START.saturating_sub(ms(100)));
    let give_up = first_call + FLEET_LIFETIME;
    let mut refresh_call = None;
    for _ in 0..100 {
        let at = Instant::now();
        get_ok(&client);
        if client.generation() >= 2 {
            refresh_call = Some(at);
            break;
        }
        if at > give_up {
            break;
        }
        thread::sleep(FLEET_PACE);
    }
    Seen {
        first_call,
        refresh_call,
    }
}

#[test]
fn a_hundred_clients_started_together_spread_their_refreshes_over_the_window() {
    let sandbox = Arc::new(sandbox(FLEET_TOKEN_LIFETIME, HOUR, 16));
    let start = Arc::new(Barrier::new(FLEET));
    let one_at_a_time = Arc::new(Mutex::new(()));
    let fleet: Vec<_> = (0..FLEET)
        .map(|n| {
            let (sandbox, start) = (sandbox.clone(), start.clone());
            let one_at_a_time = one_at_a_time.clone();
            thread::spawn(move || fleet_client(n, &sandbox, &start, &one_at_a_time))
        })
        .collect();
    let seen: Vec<Seen> = fleet.into_iter().map(|t| t.join().unwrap()).collect();

    let counters = sandbox.counters();
    assert_eq!(counters.unauthorized, 0, "{counters:?}");
    assert_eq!(
        counters.logins,
        2 * u64::try_from(FLEET).unwrap(),
        "{counters:?}"
    );
    let mut times = sandbox.login_times();
    times.sort();
    let (first, refreshes) = times.split_at(FLEET);
    let first_spread = first[FLEET - 1] - first[0];
    assert!(refreshes[0] - first[FLEET - 1] > FLEET_LIFETIME / 2);

    // By the sandbox's clock: the refreshes cover at least half the window,
    // and no 5% slice of the window holds more than a fifth of them.
    let spread = refreshes[FLEET - 1] - refreshes[0];
    let slice = FLEET_WINDOW / 20;
    let mut per_slice = [0_usize; 64];
    for at in refreshes {
        let index = (*at - refreshes[0]).as_millis() / slice.as_millis();
        per_slice[usize::try_from(index).unwrap_or(63).min(63)] += 1;
    }
    let busiest = per_slice.iter().max().copied().unwrap_or_default();
    eprintln!(
        "first logins spread over {first_spread:?}; refreshes over {spread:?}; \
         at most {busiest} in a {slice:?} slice"
    );
    assert!(
        spread >= FLEET_WINDOW / 2,
        "refreshes spread over {spread:?} only"
    );
    assert!(busiest <= FLEET / 5, "{busiest} refreshes in one slice");

    // By each client's own clock, where the fleet's start does not count:
    // the refresh came between the window's start and a little after its
    // end, and the clients' offsets differ over at least half the window.
    let offsets: Vec<Duration> = seen
        .iter()
        .map(|s| s.refresh_call.expect("every client refreshed") - s.first_call)
        .collect();
    let earliest = offsets.iter().min().copied().unwrap_or_default();
    let latest = offsets.iter().max().copied().unwrap_or_default();
    eprintln!("refresh offsets from {earliest:?} to {latest:?}");
    assert!(
        earliest >= FLEET_WINDOW_START.saturating_sub(FLEET_PACE * 2),
        "{earliest:?}"
    );
    assert!(
        latest <= FLEET_WINDOW_START + FLEET_WINDOW + ms(500),
        "{latest:?}"
    );
    assert!(
        latest.saturating_sub(earliest) >= FLEET_WINDOW / 2,
        "{earliest:?}..{latest:?}"
    );
}

// ---- a failed refresh ----

#[test]
fn a_failing_early_refresh_leaves_the_old_token_serving_until_it_lapses() {
    // 4 s tokens, planned as 3 s.
    const LIFETIME: u64 = 4;
    let sandbox = sandbox(LIFETIME, 0, 4);
    // One attempt per login: the refresh is not tried again, so the old
    // token must serve out its life.
    let client = client(
        &sandbox,
        Config {
            max_attempts: 1,
            ..config(11)
        },
    );
    let lifetime = Duration::from_secs(LIFETIME - 1);
    let before_login = Instant::now();
    get_ok(&client);
    let after_login = Instant::now();
    // The refresh window of a token planned as 3 s ends 2.55 s after its
    // login; the token lapses, for the session, at 2.85 s.
    sleep_until(after_login + ms(2600));
    sandbox.inject(Fault::Status(503), 1);
    get_ok(&client);
    let counters = sandbox.counters();
    assert_eq!(
        (counters.faults, counters.logins),
        (1, 1),
        "the refresh got the 503, the call went through"
    );
    assert_eq!(client.generation(), 1);
    assert_eq!(client.state(), SessionState::Active);

    // The old token keeps serving; once it lapses, one login replaces it.
    let lapse = before_login + lifetime.saturating_sub(lifetime / 20);
    let mut old_token_calls = 0;
    for _ in 0..60 {
        let at = Instant::now();
        get_ok(&client);
        if client.generation() == 1 {
            old_token_calls += 1;
            assert!(at < lapse, "the old token was used after it lapsed");
        } else if at > lapse + ms(200) {
            break;
        }
        thread::sleep(CALL_EVERY);
    }
    assert!(
        old_token_calls >= 1,
        "no call after the failure used the old token"
    );
    assert_eq!(client.generation(), 2);
    let counters = sandbox.counters();
    assert_eq!(
        (counters.unauthorized, counters.logins, counters.faults),
        (0, 2, 1),
        "{counters:?}"
    );
    let second_login = sandbox.login_times()[1];
    assert!(
        second_login >= lapse,
        "the new login came before the old token lapsed"
    );
}

#[test]
fn a_refresh_that_fails_once_is_retried_while_the_old_token_serves() {
    // 4 s tokens, planned as 3 s.
    const LIFETIME: u64 = 4;
    let sandbox = sandbox(LIFETIME, 0, 4);
    let client = client(&sandbox, config(12));
    let before_login = Instant::now();
    get_ok(&client);
    sleep_until(before_login + ms(2600));
    sandbox.inject(Fault::Status(503), 1);
    let lapse = before_login + Duration::from_secs(LIFETIME - 1) * 95 / 100;
    let mut calls = 0;
    while client.generation() < 2 && calls < 40 {
        get_ok(&client);
        calls += 1;
        thread::sleep(ms(20));
    }
    assert_eq!(client.generation(), 2);
    let counters = sandbox.counters();
    assert_eq!(
        (counters.unauthorized, counters.logins, counters.faults),
        (0, 2, 1),
        "{counters:?}"
    );
    assert!(
        sandbox.login_times()[1] < lapse,
        "the retried refresh replaced the token before it lapsed"
    );
}

// ---- refused credentials, logout ----

#[test]
fn a_wrong_secret_is_refused_once_and_never_retried() {
    let sandbox = sandbox(3600, 0, 2);
    let client = client_with(&sandbox, "not-the-secret", config(3));
    for _ in 0..3 {
        match client.get(PARTNER) {
            Err(error @ Error::Rejected(_)) => {
                let error = error.api_error().unwrap();
                assert_eq!(error.status, 401);
                assert_eq!(error.code, "AuthenticationError");
                assert_eq!(error.reason, "AccessKeyUnauthorized");
            }
            other => panic!("not a rejection: {other:?}"),
        }
    }
    let error = client.get(PARTNER).unwrap_err();
    assert!(
        error.to_string().contains("AccessKeyUnauthorized"),
        "{error}"
    );
    assert_eq!(client.state(), SessionState::Rejected);
    assert_eq!(
        sandbox.counters(),
        Counters {
            rejected_logins: 1,
            ..Counters::default()
        },
        "one attempt"
    );
}

#[test]
fn logout_forgets_the_token_without_a_request_and_the_next_call_logs_in() {
    let sandbox = sandbox(3600, 0, 2);
    let client = client(&sandbox, config(5));
    get_ok(&client);
    assert_eq!(client.state(), SessionState::Active);
    // A harmless fault: whichever request comes next consumes it.
    sandbox.inject(Fault::Delay(Duration::ZERO), 1);
    client.logout().unwrap();
    assert_eq!(client.state(), SessionState::LoggedOut);
    assert_eq!(sandbox.counters().faults, 0, "logout sent a request");

    get_ok(&client);
    assert_eq!(client.generation(), 2);
    drop(client);
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 2,
            access_key_logins: 2,
            calls: 2,
            faults: 1,
            ..Counters::default()
        },
        "no logout request, not even on drop"
    );
}
