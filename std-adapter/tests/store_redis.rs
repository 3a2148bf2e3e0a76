//! `RedisStore`: the store contract against a real `redis-server` that
//! each test starts on a free loopback port (it must be on PATH; without
//! it every test here fails, none skips: `scripts/test` installs it), and
//! what is Redis's own: the keys and their hash tag, values that are not
//! ours, and Redis going away (killed, or frozen) and coming back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../tests/src/redis_server.rs"]
mod redis_server;
mod store_contract;

use std::time::{Duration, Instant};

use authsession_std::store::{Budget, Record, RedisStore, SessionStore, StoreError, StoreKey};
use redis_server::{RedisServer, Resp};
use store_contract::{fresh_key, mark, now_ms};

/// How long an operation may take when Redis is away (the store's
/// timeouts are 1 second).
const FAST: Duration = Duration::from_secs(2);

fn started() -> (RedisServer, RedisStore) {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    (server, store)
}

fn bulk(text: &str) -> Resp {
    Resp::Bulk(Some(text.as_bytes().to_vec()))
}

#[test]
fn an_unknown_key_holds_nothing() {
    let (_server, store) = started();
    store_contract::an_unknown_key_holds_nothing(&store);
}

#[test]
fn a_write_is_fenced_by_its_generation() {
    let (_server, store) = started();
    store_contract::a_write_is_fenced_by_its_generation(&store);
}

#[test]
fn the_login_lock_has_one_holder() {
    let (_server, store) = started();
    store_contract::the_login_lock_has_one_holder(&store);
}

#[test]
fn the_login_lock_expires_after_its_ttl() {
    let (_server, store) = started();
    store_contract::the_login_lock_expires_after_its_ttl(&store);
}

#[test]
fn the_refused_mark_is_set_and_cleared() {
    let (_server, store) = started();
    store_contract::the_refused_mark_is_set_and_cleared(&store);
}

#[test]
fn the_budget_allows_its_logins_in_any_minute() {
    let (_server, store) = started();
    store_contract::the_budget_allows_its_logins_in_any_minute(&store);
}

#[test]
fn touch_keeps_the_latest_use() {
    let (_server, store) = started();
    store_contract::touch_keeps_the_latest_use(&store);
}

#[test]
fn remove_forgets_the_session() {
    let (_server, store) = started();
    store_contract::remove_forgets_the_session(&store);
}

#[test]
fn many_connections_never_hold_the_lock_together() {
    let server = RedisServer::start();
    let url = server.url();
    store_contract::many_stores_never_hold_the_lock_together(
        &|| Box::new(RedisStore::open(&url).unwrap()),
        16,
        100,
    );
}

#[test]
fn one_store_shared_by_threads_never_holds_the_lock_twice() {
    let (_server, store) = started();
    let store = std::sync::Arc::new(store);
    store_contract::many_stores_never_hold_the_lock_together(
        &|| Box::new(SharedStore(store.clone())),
        8,
        100,
    );
}

/// One store behind an `Arc`, as a client's threads share it.
#[derive(Debug)]
struct SharedStore(std::sync::Arc<RedisStore>);

impl SessionStore for SharedStore {
    fn read(&self, key: &StoreKey) -> Result<Record, StoreError> {
        self.0.read(key)
    }
    fn write(&self, key: &StoreKey, generation: u64, sealed: &[u8]) -> Result<bool, StoreError> {
        self.0.write(key, generation, sealed)
    }
    fn try_lock(&self, key: &StoreKey, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.0.try_lock(key, holder, ttl)
    }
    fn unlock(&self, key: &StoreKey, holder: &str) -> Result<(), StoreError> {
        self.0.unlock(key, holder)
    }
    fn set_refused(
        &self,
        key: &StoreKey,
        mark: Option<&authsession_std::store::RefusedMark>,
    ) -> Result<(), StoreError> {
        self.0.set_refused(key, mark)
    }
    fn take_budget(
        &self,
        key: &StoreKey,
        per_minute: u32,
        now_ms: u64,
    ) -> Result<Budget, StoreError> {
        self.0.take_budget(key, per_minute, now_ms)
    }
    fn touch(&self, key: &StoreKey, now_ms: u64) -> Result<(), StoreError> {
        self.0.touch(key, now_ms)
    }
    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.0.remove(key)
    }
}

#[test]
fn concurrent_writes_keep_the_newest() {
    let server = RedisServer::start();
    let url = server.url();
    store_contract::concurrent_writes_keep_the_newest(
        &|| Box::new(RedisStore::open(&url).unwrap()),
        8,
        50,
    );
}

#[test]
fn a_shared_budget_is_never_exceeded() {
    let server = RedisServer::start();
    let url = server.url();
    store_contract::a_shared_budget_is_never_exceeded(
        &|| Box::new(RedisStore::open(&url).unwrap()),
        16,
        10,
    );
}

#[test]
fn a_sessions_keys_share_its_hash_tag_and_hold_no_login() {
    let (server, store) = started();
    let identity = "login-id-in-no-key@example.com";
    let key = StoreKey::new(
        "currencycloud",
        "https://devapi.currencycloud.com",
        identity,
    );
    let now = now_ms();
    assert!(store.write(&key, 3, b"sealed").unwrap());
    assert!(
        store
            .try_lock(&key, "holder-1", Duration::from_secs(30))
            .unwrap()
    );
    store
        .set_refused(&key, Some(&mark("401 auth_failed")))
        .unwrap();
    assert_eq!(store.take_budget(&key, 5, now).unwrap(), Budget::Granted);
    store.touch(&key, now).unwrap();
    let k = key.as_str();
    assert_eq!(
        server.keys(),
        [
            format!("{k}:budget"),
            format!("{k}:lock"),
            format!("{k}:refused"),
            format!("{k}:snapshot"),
            format!("{k}:used"),
        ]
    );
    let (_, tag) = k.split_once('{').unwrap();
    let tag = format!("{{{tag}");
    for name in server.keys() {
        assert!(name.contains(&tag), "{name} is not in {tag}");
        assert!(!name.contains("login-id"), "{name}");
    }
    // What each holds.
    assert_eq!(
        server.command(&["HGETALL", &format!("{k}:snapshot")]),
        Resp::Array(Some(vec![
            bulk("v"),
            bulk("1"),
            bulk("generation"),
            bulk("3"),
            bulk("sealed"),
            bulk("sealed"),
        ]))
    );
    assert_eq!(
        server.command(&["GET", &format!("{k}:lock")]),
        bulk("holder-1")
    );
    let Resp::Integer(lock_ttl) = server.command(&["PTTL", &format!("{k}:lock")]) else {
        panic!("no PTTL");
    };
    assert!((1..=30_000).contains(&lock_ttl), "{lock_ttl}");
    let Resp::Integer(budget_ttl) = server.command(&["PTTL", &format!("{k}:budget")]) else {
        panic!("no PTTL");
    };
    assert!((1..=60_000).contains(&budget_ttl), "{budget_ttl}");
    // One login, scored by its time.
    assert_eq!(
        server.command(&["ZRANGE", &format!("{k}:budget"), "0", "-1", "WITHSCORES"]),
        Resp::Array(Some(vec![
            bulk(&format!("{now}:0")),
            bulk(&now.to_string())
        ]))
    );
    assert_eq!(
        server.command(&["GET", &format!("{k}:used")]),
        bulk(&now.to_string())
    );
    assert_eq!(
        server.command(&["HGET", &format!("{k}:refused"), "error"]),
        bulk("401 auth_failed")
    );
    // The snapshot, the lock, the mark and the last use go with remove;
    // the budget's logins stay (they expire by themselves).
    store.remove(&key).unwrap();
    assert_eq!(server.keys(), [format!("{k}:budget")]);
}

#[test]
fn values_that_are_not_ours_are_corrupt() {
    let (server, store) = started();
    let key = fresh_key("corrupt");
    let k = key.as_str();
    let snapshot = format!("{k}:snapshot");
    let corrupt = |result: Result<Record, StoreError>| {
        assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    };
    // Another type under our key.
    server.command(&["SET", &snapshot, "a plain string"]);
    corrupt(store.read(&key));
    assert!(matches!(
        store.write(&key, 9, b"nine"),
        Err(StoreError::Corrupt(_))
    ));
    // Another version, or a field missing, or a generation that is no
    // number.
    for fields in [
        &["v", "2", "generation", "1", "sealed", "x"][..],
        &["v", "1", "generation", "1"],
        &["v", "1", "generation", "01", "sealed", "x"],
        &["v", "1", "generation", "-1", "sealed", "x"],
        &["generation", "1", "sealed", "x"],
    ] {
        server.command(&["DEL", &snapshot]);
        let mut command = vec!["HSET", &snapshot];
        command.extend_from_slice(fields);
        server.command(&command);
        corrupt(store.read(&key));
    }
    server.command(&["DEL", &snapshot]);
    server.command(&["SET", &format!("{k}:used"), "soon"]);
    corrupt(store.read(&key));
    server.command(&["DEL", &format!("{k}:used")]);
    server.command(&[
        "HSET",
        &format!("{k}:refused"),
        "v",
        "1",
        "credentials",
        "zz",
        "at_ms",
        "1",
        "error",
        "e",
    ]);
    corrupt(store.read(&key));
    // Remove clears it all; the store works again, on the same connection.
    store.remove(&key).unwrap();
    assert_eq!(store.read(&key).unwrap(), Record::default());
    assert!(store.write(&key, 1, b"one").unwrap());
}

/// Runs `operation`, which must fail as `Unavailable` within [`FAST`].
fn unavailable_fast<T: std::fmt::Debug>(
    what: &str,
    operation: impl FnOnce() -> Result<T, StoreError>,
) {
    let started = Instant::now();
    let result = operation();
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{what} gave {result:?}"
    );
    assert!(took < FAST, "{what} took {took:?} to fail");
}

fn every_operation_is_unavailable(store: &RedisStore, key: &StoreKey) {
    unavailable_fast("read", || store.read(key));
    unavailable_fast("write", || store.write(key, 100, b"hundred"));
    unavailable_fast("try_lock", || {
        store.try_lock(key, "h", Duration::from_secs(5))
    });
    unavailable_fast("unlock", || store.unlock(key, "h"));
    unavailable_fast("set_refused", || store.set_refused(key, None));
    unavailable_fast("take_budget", || store.take_budget(key, 5, now_ms()));
    unavailable_fast("touch", || store.touch(key, now_ms()));
    unavailable_fast("remove", || store.remove(key));
}

#[test]
fn a_killed_redis_is_unavailable_at_once_and_a_restarted_one_serves_again() {
    let (mut server, store) = started();
    let key = fresh_key("restart");
    assert!(store.write(&key, 1, b"one").unwrap());
    server.stop();
    // The kept connection is closed, and every new one refused.
    every_operation_is_unavailable(&store, &key);
    let fresh = RedisStore::open(&server.url()).unwrap();
    every_operation_is_unavailable(&fresh, &key);
    server.restart();
    // Back on the same port (empty: nothing was persisted); the first
    // operation after it already works.
    assert_eq!(store.read(&key).unwrap(), Record::default());
    assert!(store.write(&key, 2, b"two").unwrap());
    assert!(store.try_lock(&key, "h", Duration::from_secs(5)).unwrap());
    assert_eq!(
        fresh.read(&key).unwrap().snapshot,
        Some((2, b"two".to_vec()))
    );
    // And again: a restart under a kept connection, with no operation
    // while it was away.
    server.restart();
    assert!(store.write(&key, 3, b"three").unwrap());
    assert_eq!(
        fresh.take_budget(&key, 1, now_ms()).unwrap(),
        Budget::Granted
    );
}

#[test]
fn a_frozen_redis_is_unavailable_within_the_timeout_and_serves_again_when_thawed() {
    let (mut server, store) = started();
    let key = fresh_key("frozen");
    assert!(store.write(&key, 1, b"one").unwrap());
    server.pause();
    // It accepts connections (the kernel does) but answers nothing.
    let started = Instant::now();
    unavailable_fast("read", || store.read(&key));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    unavailable_fast("write", || store.write(&key, 2, b"two"));
    unavailable_fast("take_budget", || store.take_budget(&key, 5, now_ms()));
    // Threads that call at once do not wait for one another's timeouts.
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| unavailable_fast("a read among threads", || store.read(&key)));
        }
    });
    assert!(started.elapsed() < FAST, "{:?}", started.elapsed());
    // A store that connects to it anew.
    let fresh = RedisStore::open(&server.url()).unwrap();
    unavailable_fast("a new connection's read", || fresh.read(&key));
    let fresh_db = RedisStore::open(&format!("{}/2", server.url())).unwrap();
    unavailable_fast("a new connection's write to db 2", || {
        fresh_db.write(&key, 2, b"two")
    });
    server.resume();
    // Unavailable does not say "not done": the write that timed out was
    // in Redis's socket, and Redis carries it out when it thaws (a client
    // must treat a failed write or lock as one that may have happened).
    // The write to db 2 never left: its connection's SELECT timed out.
    let stored = store.read(&key).unwrap().snapshot;
    assert!(
        [Some((1, b"one".to_vec())), Some((2, b"two".to_vec()))].contains(&stored),
        "{stored:?}"
    );
    assert_eq!(fresh.read(&key).unwrap().snapshot, stored);
    assert_eq!(fresh_db.read(&key).unwrap(), Record::default());
    assert!(store.write(&key, 3, b"three").unwrap());
    assert!(fresh_db.write(&key, 1, b"one in db 2").unwrap());
}

#[test]
fn no_password_of_the_url_is_shown() {
    let server = RedisServer::start();
    let url = format!("redis://:pw-do-not-show@127.0.0.1:{}/0", server.port());
    let store = RedisStore::open(&url).unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("pw-do-not-show"), "{debug}");
    assert!(
        debug.contains(&format!("127.0.0.1:{}", server.port())),
        "{debug}"
    );
    // This server has no password: the login fails, and says no password.
    let error = store.read(&fresh_key("password")).unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)));
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains("pw-do-not-show"), "{shown}");
    }
    // A URL that is not one of a Redis: the error does not repeat it.
    for bad in [
        "http://:pw-do-not-show@host:1",
        "pw-do-not-show",
        "rediss://:pw-do-not-show@h:1",
    ] {
        let error = RedisStore::open(bad).unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("pw-do-not-show"), "{shown}");
        }
    }
}

#[test]
fn a_database_number_in_the_url_is_used() {
    let server = RedisServer::start();
    let store = RedisStore::open(&format!("{}/3", server.url())).unwrap();
    let key = fresh_key("db");
    assert!(store.write(&key, 1, b"one").unwrap());
    assert!(server.keys().is_empty(), "written to db 0");
    server.command(&["SELECT", "3"]);
    assert_eq!(
        server.command(&["EXISTS", &format!("{}:snapshot", key.as_str())]),
        Resp::Integer(0),
        "each command of the helper is a new connection, on db 0"
    );
}
