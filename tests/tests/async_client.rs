//! The async client against the sandbox over real sockets, on a
//! multi-threaded runtime: many tasks meeting one expiry, a refused token,
//! tasks cancelled while the login is on its way, a login that never
//! answers. Counted where the sandbox sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;

use std::sync::Arc;
use std::time::Duration;

use authsession_core::providers::Currencycloud;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Fault, Sandbox, SandboxConfig};
use authsession_std::{AsyncClient, Error};
use authsession_tests::millis;
use client_currencycloud_support::{ACCOUNT, LONG_IDLE, builder_for, start_sandbox};

/// A sandbox whose tokens idle out after `idle`, with room for many
/// connections at once.
fn sandbox_idling_after(idle: Duration) -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 16,
        idle_timeout: idle,
        ..SandboxConfig::for_tests()
    })
}

/// An async client of the sandbox that leaves expiry to the server.
fn client_of(sandbox: &Sandbox, max_wait: Duration) -> AsyncClient<Currencycloud> {
    builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    )
    .max_wait(max_wait)
    .build_async()
    .unwrap()
}

/// Runs `tasks` calls at once, each a task of its own; their outcomes.
async fn burst(client: &AsyncClient<Currencycloud>, tasks: usize) -> Vec<Result<u16, Error>> {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get(ACCOUNT).await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks);
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_tasks_meeting_an_expiry_log_in_once() {
    let sandbox = sandbox_idling_after(millis(500));
    let client = client_of(&sandbox, Duration::from_secs(20));
    for expiry in 1..=2 {
        let outcomes = burst(&client, 1_000).await;
        assert!(outcomes.iter().all(|outcome| matches!(outcome, Ok(200))));
        assert_eq!(sandbox.counters().logins, expiry, "one login per expiry");
        tokio::time::sleep(millis(800)).await;
    }
    assert_eq!(sandbox.counters().calls, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_token_costs_one_login_and_each_call_is_replayed_once() {
    let sandbox = sandbox_idling_after(millis(500));
    let client = client_of(&sandbox, Duration::from_secs(10));
    assert!(burst(&client, 1).await[0].is_ok());
    tokio::time::sleep(millis(800)).await;
    // Every call of the burst holds the lapsed token or the new one: at
    // most one refusal each, and one login in all.
    let outcomes = burst(&client, 100).await;
    assert!(outcomes.iter().all(|outcome| matches!(outcome, Ok(200))));
    let counters = sandbox.counters();
    assert_eq!(counters.logins, 2);
    assert!(counters.unauthorized >= 1 && counters.unauthorized <= 100);
    assert_eq!(counters.calls, 101, "each call answered once");

    // A `401` for a token the server still holds (injected): one login,
    // the call sent once more.
    sandbox.inject(Fault::Status(401), 1);
    assert_eq!(client.get(ACCOUNT).await.unwrap().status(), 200);
    let counters = sandbox.counters();
    assert_eq!(
        (counters.logins, counters.faults, counters.calls),
        (3, 1, 102)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_cancelled_during_the_login_leave_one_login_and_every_other_call_answered() {
    let sandbox = sandbox_idling_after(LONG_IDLE);
    // The login takes 400 ms to answer.
    sandbox.inject(Fault::Delay(millis(400)), 1);
    let client = client_of(&sandbox, Duration::from_secs(10));
    // The first task starts the login and is dropped 100 ms later, while
    // it waits for it; so are 49 more.
    let starter = {
        let client = client.clone();
        tokio::spawn(async move { tokio::time::timeout(millis(100), client.get(ACCOUNT)).await })
    };
    tokio::time::sleep(millis(20)).await;
    let mut cancelled = Vec::new();
    let mut surviving = Vec::new();
    for task in 0..99 {
        let client = client.clone();
        if task % 2 == 0 {
            surviving.push(tokio::spawn(async move { client.get(ACCOUNT).await }));
        } else {
            cancelled.push(tokio::spawn(async move {
                tokio::select! {
                    answer = client.get(ACCOUNT) => Some(answer),
                    () = tokio::time::sleep(millis(150)) => None,
                }
            }));
        }
    }
    assert!(
        starter.await.unwrap().is_err(),
        "dropped before the login's answer"
    );
    for task in cancelled {
        assert!(task.await.unwrap().is_none(), "dropped during the login");
    }
    for task in surviving {
        let answer = task.await.unwrap().unwrap();
        assert_eq!(answer.status(), 200);
    }
    let counters = sandbox.counters();
    assert_eq!(
        counters.logins, 1,
        "the dropped task's login served them all"
    );
    assert_eq!(counters.calls, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_that_never_answers_fails_every_task_within_its_wait() {
    let sandbox = sandbox_idling_after(LONG_IDLE);
    sandbox.inject(Fault::Delay(Duration::from_secs(30)), 1);
    let client = client_of(&sandbox, millis(700));
    let outcomes = tokio::time::timeout(Duration::from_secs(10), burst(&client, 20))
        .await
        .expect("every task ends within its wait, not the login's");
    for outcome in outcomes {
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, Error::Timeout { .. }) || error.is_timeout(),
            "{error:?}"
        );
    }
    assert_eq!(sandbox.counters().logins, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_share_one_session_and_build_async_needs_a_runtime() {
    let sandbox = sandbox_idling_after(LONG_IDLE);
    let client = Arc::new(client_of(&sandbox, Duration::from_secs(5)));
    let clone = (*client).clone();
    assert_eq!(burst(&clone, 3).await.len(), 3);
    assert_eq!(client.generation(), 1);
    client.logout().await.unwrap();
    assert_eq!(sandbox.counters().logouts, 1);

    let outside = std::thread::spawn(move || {
        builder_for(
            "http://127.0.0.1:1",
            CURRENCYCLOUD_API_KEY,
            LONG_IDLE,
            Duration::ZERO,
        )
        .build_async()
        .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(matches!(outside, Error::Config(_)), "{outside:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_async_client_prints_holds_the_api_key_or_a_token() {
    use authsession_tests::tap::Tap;
    use client_currencycloud_support::{WRONG_KEY, assert_error_secret_free, assert_secret_free};

    let sandbox = sandbox_idling_after(LONG_IDLE);
    let tap = Tap::start(sandbox.addr());
    let client = builder_for(&tap.url(), CURRENCYCLOUD_API_KEY, LONG_IDLE, Duration::ZERO)
        .build_async()
        .unwrap();
    assert_eq!(client.get(ACCOUNT).await.unwrap().status(), 200);
    let mut prints = vec![format!("{client:?}"), format!("{client:#?}")];
    // A connection dropped mid-call, and a refused key.
    sandbox.inject(Fault::Drop, 1);
    let dropped = client.get(ACCOUNT).await.unwrap_err();
    let wrong = builder_for(&tap.url(), WRONG_KEY, LONG_IDLE, Duration::ZERO)
        .build_async()
        .unwrap();
    let refused = wrong.get(ACCOUNT).await.unwrap_err();
    assert!(matches!(refused, Error::Rejected(_)), "{refused:?}");
    prints.push(format!("{wrong:?}"));

    let mut secrets = tap.answer_strings("auth_token");
    assert_eq!(secrets.len(), 1);
    secrets.push(CURRENCYCLOUD_API_KEY.to_owned());
    secrets.push(WRONG_KEY.to_owned());
    assert_secret_free("the async client", &prints, &secrets);
    for error in [&dropped, &refused] {
        assert_error_secret_free(error, &secrets);
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            assert_secret_free(
                "a source",
                &[inner.to_string(), format!("{inner:?}")],
                &secrets,
            );
            source = inner.source();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_clone_closes_the_session_once() {
    let sandbox = sandbox_idling_after(LONG_IDLE);
    let client = client_of(&sandbox, Duration::from_secs(5));
    let clones: Vec<_> = (0..4).map(|_| client.clone()).collect();
    assert_eq!(burst(&client, 4).await.len(), 4);
    drop(client);
    // The clones still hold the session open.
    tokio::time::sleep(millis(100)).await;
    assert_eq!(sandbox.counters().logouts, 0);
    drop(clones);
    for _ in 0..50 {
        if sandbox.counters().logouts > 0 {
            break;
        }
        tokio::time::sleep(millis(20)).await;
    }
    assert_eq!(sandbox.counters().logouts, 1);
}
