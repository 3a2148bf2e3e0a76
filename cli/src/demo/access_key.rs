//! The access-key part of the demo: short-lived JWTs replaced ahead of
//! their expiry while calls keep flowing, with the sandbox's clock an hour
//! ahead of ours.

use std::thread;
use std::time::{Duration, Instant};

use authsession_core::providers::{AccessKey, AccessKeyCredentials};
use authsession_sandbox::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, Sandbox};
use authsession_std::Client;

use super::{Outcome, expect_delta, step};

/// The sandbox's token lifetime for this walk. The session plans three
/// seconds of it (a second is lost to the claims' rounding) and refreshes
/// between 2.25 s and 2.55 s after each login.
const LIFETIME: Duration = Duration::from_secs(4);
/// How long calls keep flowing: time for two refreshes, not three.
const FLOW: Duration = Duration::from_secs(6);
/// The pause between two calls.
const PACE: Duration = Duration::from_millis(100);

pub fn walk(sandbox: &Sandbox) -> Outcome {
    println!(
        "\n=== Access-key JWT API, at {} ===",
        sandbox.access_key_url()
    );
    sandbox.set_access_key_token_lifetime(LIFETIME);
    sandbox.set_access_key_clock_skew(3_600);

    step("1. Calls flow for 1.5 token lifetimes; the server's clock is an hour ahead of ours");
    println!(
        "   tokens live {} s; the session plans from exp - iat on its own clock",
        LIFETIME.as_secs()
    );
    let credentials =
        AccessKeyCredentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET).map_err(|e| e.to_string())?;
    let client = Client::builder(AccessKey, credentials)
        .base_url(sandbox.access_key_url())
        .build()
        .map_err(|e| e.to_string())?;
    let before = sandbox.counters();
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < FLOW {
        let response = client
            .get("/partners/me")
            .map_err(|error| format!("GET /partners/me: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("GET /partners/me answered {}", response.status()));
        }
        calls += 1;
        thread::sleep(PACE);
    }
    println!("   {calls} calls, every one 200");
    expect_delta(
        sandbox,
        before,
        |c| (c.access_key_logins, 3),
        "three logins: the first and one ahead of each expiry",
    )?;
    expect_delta(sandbox, before, |c| (c.unauthorized, 0), "no token refused")?;

    step("2. Logout: this API has none, so the token is forgotten locally");
    let before = sandbox.counters();
    client.logout().map_err(|e| e.to_string())?;
    expect_delta(sandbox, before, |c| (c.logouts, 0), "nothing sent")
}
