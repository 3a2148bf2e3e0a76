//! A property of the async client: tasks dropped at random points (before,
//! during or after the login, while their call is on its way) never leave
//! the session stuck. Whatever the cancellation points, one login serves
//! every task, every task that was not dropped is answered, and a call
//! made afterwards goes with the same token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;

use std::time::Duration;

use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Fault, SandboxConfig};
use authsession_tests::millis;
use client_currencycloud_support::{ACCOUNT, LONG_IDLE, builder_for, start_sandbox};
use proptest::prelude::*;

/// One task: when it starts, and when it is dropped (never, if `None`).
#[derive(Clone, Debug)]
struct Task {
    starts_after_ms: u64,
    dropped_after_ms: Option<u64>,
}

fn task() -> impl Strategy<Value = Task> {
    (0..150_u64, proptest::option::of(0..400_u64)).prop_map(|(starts_after_ms, dropped)| Task {
        starts_after_ms,
        dropped_after_ms: dropped,
    })
}

/// What became of one task.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered(u16),
    Dropped,
    Failed(String),
}

fn run(login_delay_ms: u64, tasks: &[Task]) {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 8,
        idle_timeout: LONG_IDLE,
        ..SandboxConfig::for_tests()
    });
    // The first request is the login.
    sandbox.inject(Fault::Delay(millis(login_delay_ms)), 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (outcomes, last) = runtime.block_on(async {
        let client = builder_for(
            &sandbox.currencycloud_url(),
            CURRENCYCLOUD_API_KEY,
            LONG_IDLE,
            Duration::ZERO,
        )
        .max_wait(Duration::from_secs(10))
        .build_async()
        .unwrap();
        let handles: Vec<_> = tasks
            .iter()
            .cloned()
            .map(|task| {
                let client = client.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(millis(task.starts_after_ms)).await;
                    let call = client.get(ACCOUNT);
                    let answer = match task.dropped_after_ms {
                        Some(ms) => match tokio::time::timeout(millis(ms), call).await {
                            Ok(answer) => answer,
                            Err(_) => return Outcome::Dropped,
                        },
                        None => call.await,
                    };
                    match answer {
                        Ok(response) => Outcome::Answered(response.status().as_u16()),
                        Err(error) => Outcome::Failed(error.to_string()),
                    }
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for handle in handles {
            outcomes.push(handle.await.unwrap());
        }
        let last = client.get(ACCOUNT).await.map(|r| r.status().as_u16());
        (outcomes, last)
    });
    for (task, outcome) in tasks.iter().zip(&outcomes) {
        match outcome {
            Outcome::Answered(status) => assert_eq!(*status, 200, "{task:?}"),
            Outcome::Dropped => assert!(task.dropped_after_ms.is_some(), "{task:?}"),
            Outcome::Failed(error) => panic!("{task:?} failed: {error}"),
        }
    }
    assert_eq!(last.unwrap(), 200, "the session is not stuck");
    let counters = sandbox.counters();
    assert_eq!(counters.logins, 1, "one login whatever was dropped");
    let answered = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Answered(_)))
        .count() as u64;
    // A task dropped while its call was on its way may still have been
    // answered by the server.
    assert!(counters.calls > answered && counters.calls <= tasks.len() as u64 + 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn tasks_dropped_at_random_points_never_leave_the_session_stuck(
        login_delay_ms in 0..300_u64,
        tasks in proptest::collection::vec(task(), 1..12),
    ) {
        run(login_delay_ms, &tasks);
    }
}
