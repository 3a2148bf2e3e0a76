//! A hundred processes of a fleet, started at once, sharing one session
//! through a real Redis, against one sandbox whose tokens idle out after a
//! second: every round of calls meets an expired token and wants a login,
//! and the sandbox's login times show that the fleet's budget is never
//! exceeded in any minute. Each process is a `fleet_worker`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use authsession_tests::redis_server::RedisServer;

const WORKERS: usize = 100;
const BUDGET: u32 = 2;
const ROUNDS: u32 = 5;
/// Longer than the sandbox's idle timeout: each round finds the token of
/// the one before expired.
const EVERY: Duration = Duration::from_millis(2_500);
const STORE_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff";

/// The most logins within any minute of `times`.
fn most_in_a_minute(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|&from| {
            times
                .iter()
                .filter(|&&at| at >= from && at < from + Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_hundred_processes_meeting_expiry_after_expiry_never_pass_the_budget() {
    let sandbox = Sandbox::start(SandboxConfig {
        worker_threads: 8,
        idle_timeout: Duration::from_secs(1),
        ..SandboxConfig::for_tests()
    })
    .unwrap();
    let redis = RedisServer::start();
    // Time for a hundred processes to start before the first round.
    let start_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(3);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_fleet_worker"))
                .arg(sandbox.currencycloud_url())
                .arg(redis.url())
                .arg(BUDGET.to_string())
                .arg(start_at.as_millis().to_string())
                .arg(ROUNDS.to_string())
                .arg(EVERY.as_millis().to_string())
                .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
                .env("CURRENCYCLOUD_API_KEY", CURRENCYCLOUD_API_KEY)
                .env("AUTHSESSION_STORE_KEY", STORE_KEY)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("a worker starts")
        })
        .collect();
    // Each worker ends after its rounds: each call waits 2 s at most.
    let mut rounds: Vec<Vec<String>> = vec![Vec::new(); ROUNDS as usize];
    for worker in workers {
        let output = worker.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(lines.len(), ROUNDS as usize, "{lines:?} {stderr}");
        for (round, line) in lines.into_iter().enumerate() {
            rounds[round].push(line);
        }
    }

    let logins = sandbox.login_times();
    assert!(
        most_in_a_minute(&logins) <= BUDGET as usize,
        "{} logins in a minute",
        most_in_a_minute(&logins)
    );
    // Every round wanted a login; the budget allowed the first two.
    assert_eq!(logins.len(), BUDGET as usize);
    for (round, outcomes) in rounds.iter().enumerate() {
        let ok = outcomes.iter().filter(|line| *line == "ok").count();
        let limited = outcomes
            .iter()
            .filter(|line| *line == "rate_limited")
            .count();
        assert_eq!(ok + limited, WORKERS, "round {round}: {outcomes:?}");
        if round < BUDGET as usize {
            assert_eq!(ok, WORKERS, "round {round}: every call is answered");
        } else {
            assert_eq!(limited, WORKERS, "round {round}: past the budget");
        }
    }
}
