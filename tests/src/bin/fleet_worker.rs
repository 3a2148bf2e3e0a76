//! A process of a fleet, for the tests that start a hundred of them: a
//! client sharing its session through Redis makes one call per round, all
//! the processes' rounds at the same instants of the wall clock, and says
//! how each went on a line of its own (`ok`, `rate_limited`, or `error`
//! and the error).
//!
//! `fleet_worker BASE_URL REDIS_URL LOGINS_PER_MINUTE START_AT_UNIX_MS ROUNDS EVERY_MS`,
//! with `CURRENCYCLOUD_LOGIN_ID`, `CURRENCYCLOUD_API_KEY` and
//! `AUTHSESSION_STORE_KEY` in the environment. Exits 2 when it cannot
//! start.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_std::store::{RedisStore, SealKey};
use authsession_std::{Client, Error};

struct Args {
    base_url: String,
    redis_url: String,
    logins_per_minute: u32,
    start_at_ms: u64,
    rounds: u32,
    every: Duration,
}

fn args() -> Option<Args> {
    let mut args = std::env::args().skip(1);
    Some(Args {
        base_url: args.next()?,
        redis_url: args.next()?,
        logins_per_minute: args.next()?.parse().ok()?,
        start_at_ms: args.next()?.parse().ok()?,
        rounds: args.next()?.parse().ok()?,
        every: Duration::from_millis(args.next()?.parse().ok()?),
    })
}

fn client(args: &Args) -> Result<Client<Currencycloud>, String> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let credentials = CurrencycloudCredentials::new(
        &env("CURRENCYCLOUD_LOGIN_ID")?,
        &env("CURRENCYCLOUD_API_KEY")?,
    )
    .map_err(|error| error.to_string())?;
    let key = SealKey::from_hex(&env("AUTHSESSION_STORE_KEY")?).map_err(|e| e.to_string())?;
    let store = RedisStore::open(&args.redis_url).map_err(|error| error.to_string())?;
    Client::builder(Currencycloud::default(), credentials)
        .base_url(&args.base_url)
        .store(store, key)
        .logins_per_minute(args.logins_per_minute)
        // A call past the budget fails at once rather than waiting out the
        // minute.
        .max_wait(Duration::from_secs(2))
        .build()
        .map_err(|error| error.to_string())
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let Some(args) = args() else {
        eprintln!(
            "usage: fleet_worker BASE_URL REDIS_URL LOGINS_PER_MINUTE START_AT_UNIX_MS ROUNDS EVERY_MS"
        );
        return ExitCode::from(2);
    };
    let client = match client(&args) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let start = Duration::from_millis(args.start_at_ms);
    for round in 0..args.rounds {
        let at = start + args.every * round;
        std::thread::sleep(at.saturating_sub(unix_now()));
        match client.get("/v2/accounts/current") {
            Ok(response) if response.status().is_success() => println!("ok"),
            Ok(response) => println!("error status {}", response.status()),
            Err(Error::RateLimited { .. }) => println!("rate_limited"),
            Err(error) => println!("error {error}"),
        }
    }
    ExitCode::SUCCESS
}
