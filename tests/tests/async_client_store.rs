//! Async clients sharing one session through a real Redis, as the tasks of
//! several processes would: the store's promises hold for the async client
//! too (its store operations run on the runtime's blocking pool).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;

use std::time::Duration;

use authsession_core::providers::Currencycloud;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, SandboxConfig};
use authsession_std::AsyncClient;
use authsession_std::store::{RedisStore, SealKey};
use authsession_tests::millis;
use authsession_tests::redis_server::RedisServer;
use client_currencycloud_support::{ACCOUNT, LONG_IDLE, WRONG_KEY, builder_for, start_sandbox};

const KEY: &str = "5f2b8c1e9d4a7b3c6e0f1a2d3c4b5a6978695a4b3c2d1e0f9e8d7c6b5a493827";

fn process(url: &str, api_key: &str, redis: &RedisServer) -> AsyncClient<Currencycloud> {
    builder_for(url, api_key, LONG_IDLE, Duration::ZERO)
        .store(
            RedisStore::open(&redis.url()).unwrap(),
            SealKey::from_hex(KEY).unwrap(),
        )
        .build_async()
        .unwrap()
}

/// `tasks` calls at once on each of `processes`: their statuses.
async fn burst(processes: &[AsyncClient<Currencycloud>], tasks: usize) -> Vec<u16> {
    let mut handles = Vec::new();
    for process in processes {
        for _ in 0..tasks {
            let process = process.clone();
            handles.push(tokio::spawn(async move {
                process
                    .get(ACCOUNT)
                    .await
                    .map(|answer| answer.status().as_u16())
            }));
        }
    }
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap().unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_async_processes_meeting_an_expiry_log_in_once_through_redis() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 8,
        idle_timeout: millis(500),
        ..SandboxConfig::for_tests()
    });
    let redis = RedisServer::start();
    let url = sandbox.currencycloud_url();
    let processes: Vec<_> = (0..4)
        .map(|_| process(&url, CURRENCYCLOUD_API_KEY, &redis))
        .collect();
    for expiry in 1..=2 {
        let statuses = burst(&processes, 25).await;
        assert!(statuses.iter().all(|status| *status == 200));
        assert_eq!(sandbox.counters().logins, expiry, "one login per expiry");
        tokio::time::sleep(millis(800)).await;
    }
    // A stored session is the fleet's: dropping a process does not close it.
    drop(processes);
    tokio::time::sleep(millis(100)).await;
    assert_eq!(sandbox.counters().logouts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_key_is_tried_once_for_every_async_process() {
    let sandbox = start_sandbox(SandboxConfig::for_tests());
    let redis = RedisServer::start();
    let url = sandbox.currencycloud_url();
    for _ in 0..4 {
        let wrong = process(&url, WRONG_KEY, &redis);
        assert!(wrong.get(ACCOUNT).await.is_err());
    }
    assert_eq!(sandbox.counters().rejected_logins, 1);
}
