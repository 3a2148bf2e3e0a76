//! The Currencycloud part of the demo: login, reuse, idle expiry, a
//! replayed call, a burst of threads, payments (with SCA), a refused key,
//! logout.

use std::thread;
use std::time::Duration;

use authsession_core::Config;
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox};
use authsession_std::{Client, Error};

use super::{IDLE, MARGIN, Outcome, PAST_CLIENT_IDLE, expect_delta, step};

/// Threads in the burst.
const THREADS: usize = 16;

pub fn walk(sandbox: &Sandbox) -> Outcome {
    println!(
        "\n=== Currencycloud, at {} ===",
        sandbox.currencycloud_url()
    );
    let client = currencycloud_client(sandbox, CURRENCYCLOUD_API_KEY)?;
    currencycloud_calls(sandbox, &client)?;
    super::currencycloud_payments::walk(sandbox)?;
    currencycloud_refusals(sandbox, &client)
}

/// Login, reuse, idle expiry, a replayed call and a burst of threads.
fn currencycloud_calls(sandbox: &Sandbox, client: &Client<Currencycloud>) -> Outcome {
    step("1. The first call logs in once; later calls reuse the token");
    let before = sandbox.counters();
    call(client, "/v2/accounts/current")?;
    call(client, "/v2/balances/find")?;
    call(client, "/v2/accounts/current")?;
    expect_delta(
        sandbox,
        before,
        |c| (c.logins, 1),
        "one login for three calls",
    )?;

    step(
        "2. Idle expiry: after a pause the session knows the token has lapsed and logs in before calling",
    );
    thread::sleep(PAST_CLIENT_IDLE);
    let before = sandbox.counters();
    call(client, "/v2/accounts/current")?;
    expect_delta(sandbox, before, |c| (c.logins, 1), "one new login")?;
    expect_delta(
        sandbox,
        before,
        |c| (c.unauthorized, 0),
        "no token sent to bounce",
    )?;

    step(
        "3. The server drops the token early: the call is refused, the client logs in once and replays it",
    );
    sandbox.set_idle_timeout(Duration::from_millis(50));
    thread::sleep(Duration::from_millis(120));
    let before = sandbox.counters();
    call(client, "/v2/balances/find")?;
    sandbox.set_idle_timeout(IDLE);
    expect_delta(sandbox, before, |c| (c.unauthorized, 1), "one 401")?;
    expect_delta(
        sandbox,
        before,
        |c| (c.logins, 1),
        "one login for the replay",
    )?;

    step(&format!(
        "4. A burst: {THREADS} threads find the token lapsed at once; one login serves them all"
    ));
    thread::sleep(PAST_CLIENT_IDLE);
    let before = sandbox.counters();
    let failures = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| client.get("/v2/balances/find").map(|r| r.status().as_u16())))
            .collect();
        handles
            .into_iter()
            .map(handle_result)
            .filter(|status| *status != Some(200))
            .count()
    });
    println!("   {THREADS} calls sent from {THREADS} threads, {failures} failed");
    if failures > 0 {
        return Err(format!("{failures} calls of the burst failed"));
    }
    expect_delta(
        sandbox,
        before,
        |c| (c.logins, 1),
        "one login for the whole burst",
    )
}

/// A rejected login that is not retried, and the logout.
fn currencycloud_refusals(sandbox: &Sandbox, client: &Client<Currencycloud>) -> Outcome {
    step(
        "7. A wrong API key: the login is refused once and never retried (four failures disable an account)",
    );
    let wrong_key = "0".repeat(64);
    let intruder = currencycloud_client(sandbox, &wrong_key)?;
    let before = sandbox.counters();
    for attempt in 1..=3 {
        match intruder.get("/v2/accounts/current") {
            Err(error @ Error::Rejected(_)) => println!("   call {attempt}: {error}"),
            other => return Err(format!("expected a rejected login, got {other:?}")),
        }
    }
    expect_delta(
        sandbox,
        before,
        |c| (c.rejected_logins, 1),
        "one login attempt for three calls",
    )?;

    step("8. Logout closes the session on the server; the token is gone");
    let before = sandbox.counters();
    client.logout().map_err(|error| error.to_string())?;
    expect_delta(sandbox, before, |c| (c.logouts, 1), "one logout")
}

fn handle_result(handle: thread::ScopedJoinHandle<'_, Result<u16, Error>>) -> Option<u16> {
    handle.join().ok().and_then(Result::ok)
}

fn currencycloud_client(sandbox: &Sandbox, api_key: &str) -> Result<Client<Currencycloud>, String> {
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, api_key)
        .map_err(|error| error.to_string())?;
    let config = Config {
        expiry_margin: MARGIN,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..Config::default()
    };
    Client::builder(Currencycloud::with_idle_timeout(IDLE), credentials)
        .base_url(sandbox.currencycloud_url())
        .config(config)
        .logout_on_drop(false)
        .build()
        .map_err(|error| error.to_string())
}

fn call(client: &Client<Currencycloud>, path: &str) -> Outcome {
    let response = client
        .get(path)
        .map_err(|error| format!("GET {path}: {error}"))?;
    println!("   GET {path} -> {}", response.status().as_u16());
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("GET {path} answered {}", response.status()))
    }
}
