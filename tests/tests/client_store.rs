//! Clients that share one session through a store, counted where the
//! sandbox sees them. Each client here has its own session, as a process
//! of a fleet has: what one of them holds, the others learn only through
//! the store (a directory, or a real `redis-server` the test starts).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;
mod client_weavr_support;

use std::sync::Arc;
use std::time::Duration;

use authsession_core::providers::Currencycloud;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, Fault, Sandbox, SandboxConfig};
use authsession_std::store::{FileStore, RedisStore, SealKey, SessionStore};
use authsession_std::{Client, Error};
use authsession_tests::redis_server::RedisServer;
use authsession_tests::tap::Tap;
use client_currencycloud_support::{
    LONG_IDLE, WRONG_KEY, credentials, session_config, start_sandbox,
};

const KEY: &str = "5f2b8c1e9d4a7b3c6e0f1a2d3c4b5a6978695a4b3c2d1e0f9e8d7c6b5a493827";

fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 8,
        idle_timeout: Duration::from_secs(60),
        ..SandboxConfig::for_tests()
    })
}

/// A client of `url` sharing its session through `store`.
fn client(
    url: &str,
    api_key: &str,
    store: impl SessionStore + 'static,
    budget: u32,
) -> Client<Currencycloud> {
    patient_client(url, api_key, store, budget, Duration::from_secs(10))
}

/// A client of the sandbox with the right key, on `store`.
fn fleet_client(sandbox: &Sandbox, store: impl SessionStore + 'static) -> Client<Currencycloud> {
    client(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        store,
        10,
    )
}

/// The same, whose calls wait at most `max_wait`.
fn patient_client(
    url: &str,
    api_key: &str,
    store: impl SessionStore + 'static,
    budget: u32,
    max_wait: Duration,
) -> Client<Currencycloud> {
    Client::builder(
        Currencycloud::with_idle_timeout(LONG_IDLE),
        credentials(api_key),
    )
    .base_url(url)
    .config(session_config(Duration::ZERO))
    .max_wait(max_wait)
    .store(store, SealKey::from_hex(KEY).unwrap())
    .logins_per_minute(budget)
    .build()
    .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authsession-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The stores a test runs on: a directory, and a Redis of its own.
fn each_store(name: &str, test: impl Fn(&dyn Fn() -> Box<dyn SessionStore>)) {
    let dir = temp_dir(name);
    test(&|| Box::new(FileStore::new(&dir).unwrap()));
    let redis = RedisServer::start();
    let url = redis.url();
    test(&|| Box::new(RedisStore::open(&url).unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

fn get_ok(client: &Client<Currencycloud>) {
    let response = client.get("/v2/accounts/current").unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn a_second_process_takes_up_the_first_ones_token_without_a_login() {
    each_store("takeup", |store| {
        let sandbox = sandbox();
        let first = fleet_client(&sandbox, store());
        get_ok(&first);
        let second = fleet_client(&sandbox, store());
        get_ok(&second);
        get_ok(&second);
        assert_eq!(sandbox.counters().logins, 1);
        assert_eq!(second.generation(), 1);
    });
}

#[test]
fn sixteen_clients_meeting_at_once_log_in_once() {
    each_store("burst", |store| {
        let sandbox = sandbox();
        let clients: Vec<_> = (0..16)
            .map(|_| Arc::new(fleet_client(&sandbox, store())))
            .collect();
        let calls: Vec<_> = clients
            .iter()
            .map(|client| {
                let client = Arc::clone(client);
                std::thread::spawn(move || get_ok(&client))
            })
            .collect();
        for call in calls {
            call.join().unwrap();
        }
        assert_eq!(sandbox.counters().logins, 1);
    });
}

#[test]
fn a_refused_key_is_tried_once_for_the_whole_fleet() {
    each_store("refused", |store| {
        let sandbox = sandbox();
        for n in 0..4 {
            let client = client(&sandbox.currencycloud_url(), WRONG_KEY, store(), 10);
            let error = client.get("/v2/accounts/current").unwrap_err();
            assert!(matches!(error, Error::Rejected(_)), "client {n}: {error:?}");
            if n > 0 {
                assert!(
                    matches!(
                        error,
                        Error::Rejected(ref why)
                            if matches!(**why, authsession_core::Error::RefusedByFleet)
                    ),
                    "{error:?}"
                );
            }
        }
        assert_eq!(sandbox.counters().rejected_logins, 1);

        // The right key is not refused: other credentials, no mark.
        let right = fleet_client(&sandbox, store());
        get_ok(&right);
        // An operator clears the mark: the wrong key is tried once more.
        let wrong = client(&sandbox.currencycloud_url(), WRONG_KEY, store(), 10);
        wrong.clear_refusal().unwrap();
        assert!(wrong.get("/v2/accounts/current").is_err());
        assert_eq!(sandbox.counters().rejected_logins, 2);
    });
}

#[test]
fn a_token_refused_for_one_process_is_one_login_for_all() {
    each_store("refresh", |store| {
        let sandbox = sandbox();
        let first = fleet_client(&sandbox, store());
        let second = fleet_client(&sandbox, store());
        get_ok(&first);
        get_ok(&second);
        // The server refuses the token, to one process, then the other.
        sandbox.inject(Fault::Status(401), 1);
        get_ok(&first);
        sandbox.inject(Fault::Status(401), 1);
        get_ok(&second);
        let counters = sandbox.counters();
        assert_eq!(
            counters.logins, 2,
            "one login for the refusal: {counters:?}"
        );
        assert_eq!((first.generation(), second.generation()), (2, 2));
    });
}

#[test]
fn the_fleets_budget_holds_back_a_login_past_it() {
    each_store("budget", |store| {
        let sandbox = sandbox();
        let first = patient_client(
            &sandbox.currencycloud_url(),
            CURRENCYCLOUD_API_KEY,
            store(),
            1,
            Duration::from_millis(500),
        );
        get_ok(&first);
        sandbox.inject(Fault::Status(401), 1);
        // The budget is spent for a minute: past the call's patience, the
        // call says so, again and again.
        for _ in 0..5 {
            let error = first.get("/v2/accounts/current").unwrap_err();
            let Error::RateLimited { retry_after } = error else {
                panic!("{error:?}");
            };
            assert!(retry_after > Duration::from_secs(50), "{retry_after:?}");
        }
        assert_eq!(sandbox.counters().logins, 1, "no second login this minute");
    });
}

#[test]
fn the_file_is_private_sealed_and_a_tampered_one_means_a_fresh_login() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let dir = temp_dir("sealed");
    let first = client(
        &tap.url(),
        CURRENCYCLOUD_API_KEY,
        FileStore::new(&dir).unwrap(),
        10,
    );
    get_ok(&first);
    let tokens = tap.answer_strings("auth_token");
    assert_eq!(tokens.len(), 1);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    assert!(!files.is_empty());
    for file in &files {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if bytes.len() > 64 {
            assert_eq!(mode, 0o600, "{file:?}");
        }
        for secret in [tokens[0].as_str(), CURRENCYCLOUD_API_KEY, KEY] {
            assert!(!text.contains(secret), "{file:?} holds a secret");
        }
    }

    // Every file's bytes changed: the next process cannot take the token.
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        if let Some(last) = bytes.iter_mut().rev().find(|byte| byte.is_ascii_hexdigit()) {
            *last = if *last == b'0' { b'1' } else { b'0' };
        }
        std::fs::write(file, bytes).unwrap();
    }
    let second = client(
        &tap.url(),
        CURRENCYCLOUD_API_KEY,
        FileStore::new(&dir).unwrap(),
        10,
    );
    let outcome = second.get("/v2/accounts/current");
    // A store that holds what cannot be read is refused as a whole, or
    // the sealed token is: either way no tampered token is used.
    if let Ok(response) = outcome {
        assert_eq!(response.status(), 200);
        assert_eq!(sandbox.counters().logins, 2, "a fresh login");
    }
    assert_eq!(sandbox.counters().unauthorized, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_store_without_a_given_key_seals_with_its_own_private_one() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let dir = temp_dir("own-key");
    let process = || {
        let store = FileStore::new(&dir).unwrap();
        let key = store.local_key().unwrap();
        Client::builder(Currencycloud::default(), credentials(CURRENCYCLOUD_API_KEY))
            .base_url(tap.url())
            .config(session_config(Duration::ZERO))
            .store(store, key)
            .build()
            .unwrap()
    };
    get_ok(&process());
    get_ok(&process());
    assert_eq!(
        sandbox.counters().logins,
        1,
        "the second took the first's token"
    );
    let key_file = dir.join("seal.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let tokens = tap.answer_strings("auth_token");
    assert_eq!(tokens.len(), 1);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text =
            String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).into_owned();
        assert!(!text.contains(tokens[0].as_str()));
        assert!(!text.contains(CURRENCYCLOUD_API_KEY));
    }
    // Without its key file, the session files are of no use: a login.
    std::fs::remove_file(&key_file).unwrap();
    get_ok(&process());
    assert_eq!(sandbox.counters().logins, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_process_idle_past_the_timeout_takes_up_the_token_the_fleet_kept_alive() {
    let sandbox = sandbox();
    let redis = RedisServer::start();
    // Both know the API's idle timeout: a second.
    let process = || {
        Client::builder(
            Currencycloud::with_idle_timeout(Duration::from_secs(1)),
            credentials(CURRENCYCLOUD_API_KEY),
        )
        .base_url(sandbox.currencycloud_url())
        .config(session_config(Duration::ZERO))
        .store(
            RedisStore::open(&redis.url()).unwrap(),
            SealKey::from_hex(KEY).unwrap(),
        )
        .build()
        .unwrap()
    };
    let busy = process();
    let idle = process();
    get_ok(&busy);
    get_ok(&idle);
    // One process keeps calling for twice the idle timeout, the other
    // does not call at all: by its own clock its token idled out.
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(250));
        get_ok(&busy);
    }
    get_ok(&idle);
    assert_eq!(
        sandbox.counters().logins,
        1,
        "the fleet's use kept the token alive"
    );
}

#[test]
fn a_weavr_login_of_three_steps_is_stored_for_the_fleet() {
    use authsession_sandbox::WEAVR_EMAIL;
    use client_weavr_support::{builder_for, provider};

    let sandbox = start_sandbox(SandboxConfig {
        weavr_idle_timeout: LONG_IDLE,
        ..SandboxConfig::for_tests()
    });
    let redis = RedisServer::start();
    let process = || {
        builder_for(&sandbox.weavr_url(), provider(LONG_IDLE), WEAVR_EMAIL)
            .store(
                RedisStore::open(&redis.url()).unwrap(),
                SealKey::from_hex(KEY).unwrap(),
            )
            .build()
            .unwrap()
    };
    let first = process();
    assert_eq!(first.get("/managed_accounts").unwrap().status(), 200);
    // The lock was held through the login's three steps, then released;
    // the second process takes up the token (and its identity).
    let second = process();
    assert_eq!(second.get("/managed_accounts").unwrap().status(), 200);
    let counters = sandbox.counters();
    assert_eq!((counters.weavr_logins, counters.weavr_exchanges), (1, 1));
}

#[test]
fn redis_going_away_fails_no_call_and_the_fleet_rejoins_when_it_returns() {
    let sandbox = sandbox();
    let mut redis = RedisServer::start();
    let port = redis.port();
    let url = redis.url();
    let first = client(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        RedisStore::open(&url).unwrap(),
        10,
    );
    get_ok(&first);

    redis.stop();
    for _ in 0..5 {
        get_ok(&first);
    }
    // A refused token while Redis is away: one login, alone.
    sandbox.inject(Fault::Status(401), 1);
    get_ok(&first);
    assert_eq!(sandbox.counters().logins, 2);

    // Redis returns (empty: nothing was persisted). The next login is the
    // fleet's again, and another process takes its token.
    let _redis = RedisServer::start_on(port);
    get_ok(&first);
    sandbox.inject(Fault::Status(401), 1);
    get_ok(&first);
    assert_eq!(sandbox.counters().logins, 3);
    let second = client(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        RedisStore::open(&url).unwrap(),
        10,
    );
    get_ok(&second);
    assert_eq!(
        sandbox.counters().logins,
        3,
        "the second process took the token"
    );
    assert_eq!(second.generation(), first.generation());
}

/// Sleeps past a minute's end if it is near, so that a test of the
/// per-minute budget runs within one minute of the wall clock.
fn within_one_minute(needed: Duration) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let left = Duration::from_millis(60_000 - u64::try_from(now_ms % 60_000).unwrap());
    if left < needed {
        std::thread::sleep(left + Duration::from_millis(50));
    }
}

#[test]
fn a_hundred_clients_whose_token_idles_out_again_and_again_never_pass_the_fleets_budget() {
    const BUDGET: u32 = 3;
    // Tokens idle out after a second; the clients do not know it.
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 8,
        idle_timeout: Duration::from_secs(1),
        ..SandboxConfig::for_tests()
    });
    let redis = RedisServer::start();
    let clients: Vec<_> = (0..100)
        .map(|_| {
            Arc::new(patient_client(
                &sandbox.currencycloud_url(),
                CURRENCYCLOUD_API_KEY,
                RedisStore::open(&redis.url()).unwrap(),
                BUDGET,
                Duration::from_secs(2),
            ))
        })
        .collect();
    within_one_minute(Duration::from_secs(20));
    // One login for all; then each round, after the token idled out, needs
    // another.
    for client in &clients {
        get_ok(client);
    }
    assert_eq!(sandbox.counters().logins, 1);
    let mut failed = 0;
    for _round in 0..6 {
        std::thread::sleep(Duration::from_millis(1200));
        let calls: Vec<_> = clients
            .iter()
            .map(|client| {
                let client = Arc::clone(client);
                std::thread::spawn(move || client.get("/v2/accounts/current").is_ok())
            })
            .collect();
        failed += calls
            .into_iter()
            .map(|call| call.join().is_ok_and(|ok| ok))
            .filter(|ok| !ok)
            .count();
    }
    let logins = sandbox.counters().logins;
    assert!(logins <= u64::from(BUDGET), "{logins} logins in a minute");
    assert_eq!(logins, u64::from(BUDGET), "the budget is used");
    assert!(failed > 0, "calls past the budget wait or fail");
}

#[test]
fn no_key_or_value_in_redis_holds_a_secret_in_the_clear() {
    use authsession_tests::redis_server::Resp;
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let redis = RedisServer::start();
    let first = client(
        &tap.url(),
        CURRENCYCLOUD_API_KEY,
        RedisStore::open(&redis.url()).unwrap(),
        10,
    );
    get_ok(&first);
    // A refused login too, with its mark.
    let wrong = client(
        &tap.url(),
        WRONG_KEY,
        RedisStore::open(&redis.url()).unwrap(),
        10,
    );
    assert!(wrong.get("/v2/accounts/current").is_err());
    let tokens = tap.answer_strings("auth_token");
    assert_eq!(tokens.len(), 1);

    let Resp::Array(Some(keys)) = redis.command(&["KEYS", "*"]) else {
        panic!("no keys");
    };
    assert!(keys.len() >= 2, "{keys:?}");
    let mut everything = Vec::new();
    for key in keys {
        let Resp::Bulk(Some(key)) = key else {
            panic!("{key:?}")
        };
        let name = String::from_utf8(key.clone()).unwrap();
        everything.extend_from_slice(&key);
        let value = match redis.command(&["TYPE", &name]) {
            Resp::Simple(kind) if kind == "hash" => redis.command(&["HGETALL", &name]),
            Resp::Simple(kind) if kind == "string" => redis.command(&["GET", &name]),
            Resp::Simple(kind) if kind == "zset" => {
                redis.command(&["ZRANGE", &name, "0", "-1", "WITHSCORES"])
            }
            other => panic!("{name}: {other:?}"),
        };
        everything.extend_from_slice(format!("{value:?}").as_bytes());
        if let Resp::Array(Some(items)) = value {
            for item in items {
                if let Resp::Bulk(Some(bytes)) = item {
                    everything.extend_from_slice(&bytes);
                }
            }
        } else if let Resp::Bulk(Some(bytes)) = value {
            everything.extend_from_slice(&bytes);
        }
    }
    for secret in [
        tokens[0].as_str(),
        CURRENCYCLOUD_API_KEY,
        WRONG_KEY,
        KEY,
        authsession_sandbox::CURRENCYCLOUD_LOGIN_ID,
    ] {
        assert!(
            !everything
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "Redis holds {secret:?} in the clear"
        );
    }
}
