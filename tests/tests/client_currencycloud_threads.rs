//! The blocking Currencycloud client: 32 threads, across expiries and failed logins, one login.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use authsession_core::providers::Currencycloud;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Counters, Fault, Sandbox, SandboxConfig};
use authsession_std::{Client, Error};
use authsession_tests::millis;

mod client_currencycloud_support;

use client_currencycloud_support::{
    ACCOUNT, BALANCES, LONG_IDLE, WRONG_KEY, build, builder_for, client_of, counters_after,
    start_sandbox,
};

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
        idle_timeout: millis(500),
        ..SandboxConfig::for_tests()
    });
    let client = client_of(&sandbox);

    bursts_across_expiries(&sandbox, &client, millis(700));

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
        idle_timeout: millis(1000),
        ..SandboxConfig::for_tests()
    });
    let client = build(builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        millis(1000),
        millis(400),
    ));

    bursts_across_expiries(&sandbox, &client, millis(700));

    assert_eq!(sandbox.counters().unauthorized, 0);
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
