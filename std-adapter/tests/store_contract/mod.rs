//! The contract of every `SessionStore`, as functions over a store, run by
//! `store_file.rs` on a `FileStore` and by `store_redis.rs` on a
//! `RedisStore` against a real Redis. Each takes a key of its own
//! ([`fresh_key`]), so that the tests of one file can share one store.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authsession_std::store::{Budget, Record, RefusedMark, SessionStore, StoreKey};

/// A key no other test uses.
pub fn fresh_key(name: &str) -> StoreKey {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    StoreKey::new(
        "contract",
        "https://api.example.invalid",
        &format!("{name}-{}-{n}", std::process::id()),
    )
}

pub fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

pub fn mark(error: &str) -> RefusedMark {
    RefusedMark {
        credentials: [0x5a; 32],
        error: error.to_owned(),
        at_ms: 1_700_000_000_123,
    }
}

/// An unknown key reads as nothing stored.
pub fn an_unknown_key_holds_nothing(store: &dyn SessionStore) {
    let key = fresh_key("unknown");
    assert_eq!(store.read(&key).unwrap(), Record::default());
}

/// A write is kept only if its generation is newer than the stored one.
pub fn a_write_is_fenced_by_its_generation(store: &dyn SessionStore) {
    let key = fresh_key("fenced");
    assert!(store.write(&key, 5, b"five").unwrap());
    assert_eq!(
        store.read(&key).unwrap().snapshot,
        Some((5, b"five".to_vec()))
    );
    // Older and equal generations are refused, and the stored one stays.
    assert!(!store.write(&key, 4, b"four").unwrap());
    assert!(!store.write(&key, 5, b"another five").unwrap());
    assert!(!store.write(&key, 0, b"zero").unwrap());
    assert_eq!(
        store.read(&key).unwrap().snapshot,
        Some((5, b"five".to_vec()))
    );
    // Newer ones replace it, bytes of any value included.
    let all_bytes: Vec<u8> = (0..=255).collect();
    assert!(store.write(&key, 6, &all_bytes).unwrap());
    assert_eq!(store.read(&key).unwrap().snapshot, Some((6, all_bytes)));
    // Generations past 2^53 (a double's exact range) and up to u64::MAX
    // compare exactly.
    let big = 1_u64 << 53;
    assert!(store.write(&key, big + 1, b"big").unwrap());
    assert!(!store.write(&key, big, b"smaller").unwrap());
    assert!(store.write(&key, big + 2, b"bigger").unwrap());
    assert!(!store.write(&key, big + 1, b"big again").unwrap());
    assert!(
        store
            .write(&key, 10_000_000_000_000_000_000, b"twenty digits")
            .unwrap()
    );
    assert!(
        !store
            .write(&key, 9_999_999_999_999_999_999, b"nineteen nines")
            .unwrap()
    );
    assert!(store.write(&key, u64::MAX, b"max").unwrap());
    assert!(!store.write(&key, u64::MAX, b"max again").unwrap());
    assert_eq!(
        store.read(&key).unwrap().snapshot,
        Some((u64::MAX, b"max".to_vec()))
    );
    // An empty snapshot is a snapshot.
    let other = fresh_key("fenced-empty");
    assert!(store.write(&other, 1, b"").unwrap());
    assert_eq!(store.read(&other).unwrap().snapshot, Some((1, Vec::new())));
}

/// The login lock: taken by one holder, refused to others, released only
/// by its holder.
pub fn the_login_lock_has_one_holder(store: &dyn SessionStore) {
    let key = fresh_key("lock");
    let ttl = Duration::from_secs(30);
    assert!(store.try_lock(&key, "holder-a", ttl).unwrap());
    assert!(!store.try_lock(&key, "holder-b", ttl).unwrap());
    // Its holder asking again still holds it.
    assert!(store.try_lock(&key, "holder-a", ttl).unwrap());
    // Another's unlock does nothing.
    store.unlock(&key, "holder-b").unwrap();
    assert!(!store.try_lock(&key, "holder-c", ttl).unwrap());
    store.unlock(&key, "holder-a").unwrap();
    assert!(store.try_lock(&key, "holder-b", ttl).unwrap());
    assert!(!store.try_lock(&key, "holder-a", ttl).unwrap());
    store.unlock(&key, "holder-b").unwrap();
    // Unlocking a free lock is fine.
    store.unlock(&key, "holder-b").unwrap();
    // Holders are any text.
    let odd = "a holder with spaces, \\ backslashes,\nnew lines\r\nand ünïcödé";
    assert!(store.try_lock(&key, odd, ttl).unwrap());
    assert!(!store.try_lock(&key, "a holder with spaces,", ttl).unwrap());
    assert!(store.try_lock(&key, odd, ttl).unwrap());
    store.unlock(&key, odd).unwrap();
    assert!(store.try_lock(&key, "holder-d", ttl).unwrap());
    store.unlock(&key, "holder-d").unwrap();
    // The lock is the session's: another key's is free.
    assert!(store.try_lock(&key, "holder-e", ttl).unwrap());
    assert!(
        store
            .try_lock(&fresh_key("lock-other"), "holder-f", ttl)
            .unwrap()
    );
    // The lock is not part of what is read, and a write does not free it.
    assert!(store.write(&key, 1, b"one").unwrap());
    assert!(!store.try_lock(&key, "holder-g", ttl).unwrap());
}

/// A lock whose holder never releases it (a killed process) expires by
/// time; the late holder's unlock then frees nothing of the next one's.
pub fn the_login_lock_expires_after_its_ttl(store: &dyn SessionStore) {
    let key = fresh_key("expiry");
    let ttl = Duration::from_millis(300);
    let taken = Instant::now();
    assert!(store.try_lock(&key, "stalled", ttl).unwrap());
    assert!(
        !store
            .try_lock(&key, "waiting", Duration::from_secs(30))
            .unwrap()
    );
    // Polled, bounded in count and time.
    let mut got = false;
    for _ in 0..100 {
        if store
            .try_lock(&key, "waiting", Duration::from_secs(30))
            .unwrap()
        {
            got = true;
            break;
        }
        assert!(
            taken.elapsed() < Duration::from_secs(3),
            "the lock did not expire"
        );
        thread::sleep(Duration::from_millis(25));
    }
    assert!(got, "the lock did not expire");
    let waited = taken.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "expired after {waited:?}"
    );
    // The stalled holder wakes up and unlocks: the new holder keeps it.
    store.unlock(&key, "stalled").unwrap();
    assert!(
        !store
            .try_lock(&key, "third", Duration::from_secs(30))
            .unwrap()
    );
    store.unlock(&key, "waiting").unwrap();
    assert!(
        store
            .try_lock(&key, "third", Duration::from_secs(30))
            .unwrap()
    );
}

/// The refused mark: set, read back, cleared by `None` or by a write that
/// is kept (a login succeeded), not by one that is refused.
pub fn the_refused_mark_is_set_and_cleared(store: &dyn SessionStore) {
    let key = fresh_key("refused");
    let first = mark("401 auth_failed: Authentication failed with the supplied credentials");
    store.set_refused(&key, Some(&first)).unwrap();
    assert_eq!(store.read(&key).unwrap().refused, Some(first.clone()));
    // Replaced whole by another mark; any text survives.
    let second = RefusedMark {
        credentials: [7; 32],
        error: "two\nlines, a \\ and ünïcödé\r".to_owned(),
        at_ms: 0,
    };
    store.set_refused(&key, Some(&second)).unwrap();
    assert_eq!(store.read(&key).unwrap().refused, Some(second));
    store.set_refused(&key, None).unwrap();
    assert_eq!(store.read(&key).unwrap().refused, None);
    store.set_refused(&key, None).unwrap();
    // A kept write clears it; a refused write does not.
    store.set_refused(&key, Some(&first)).unwrap();
    assert!(store.write(&key, 2, b"two").unwrap());
    assert_eq!(store.read(&key).unwrap().refused, None);
    store.set_refused(&key, Some(&first)).unwrap();
    assert!(!store.write(&key, 1, b"older").unwrap());
    assert_eq!(store.read(&key).unwrap().refused, Some(first.clone()));
    assert!(!store.write(&key, 2, b"equal").unwrap());
    assert_eq!(store.read(&key).unwrap().refused, Some(first.clone()));
    assert!(store.write(&key, 3, b"three").unwrap());
    assert_eq!(
        store.read(&key).unwrap(),
        Record {
            snapshot: Some((3, b"three".to_vec())),
            refused: None,
            last_used_ms: None,
        }
    );
}

/// The login budget allows its logins in any minute: a sliding window
/// over the times given, not a calendar minute.
pub fn the_budget_allows_its_logins_in_any_minute(store: &dyn SessionStore) {
    let key = fresh_key("budget");
    let now = now_ms();
    // Three logins 10 s apart, then the budget of three is spent.
    for at in [now, now + 10_000, now + 20_000] {
        assert_eq!(store.take_budget(&key, 3, at).unwrap(), Budget::Granted);
    }
    assert_eq!(
        store.take_budget(&key, 3, now + 30_000).unwrap(),
        Budget::Spent {
            retry_in: Duration::from_secs(30)
        },
        "the first login leaves the window a minute after it"
    );
    assert_eq!(
        store.take_budget(&key, 3, now + 59_999).unwrap(),
        Budget::Spent {
            retry_in: Duration::from_millis(1)
        }
    );
    // A minute after the first login, one more; then the second login is
    // the one that must leave.
    assert_eq!(
        store.take_budget(&key, 3, now + 60_000).unwrap(),
        Budget::Granted
    );
    assert_eq!(
        store.take_budget(&key, 3, now + 60_000).unwrap(),
        Budget::Spent {
            retry_in: Duration::from_secs(10)
        }
    );
    // A smaller budget counts the same logins.
    assert_eq!(
        store.take_budget(&key, 1, now + 75_000).unwrap(),
        Budget::Spent {
            retry_in: Duration::from_secs(5)
        }
    );
    // Another session's budget is its own.
    let other = fresh_key("budget-other");
    assert_eq!(store.take_budget(&other, 1, now).unwrap(), Budget::Granted);
    assert!(matches!(
        store.take_budget(&other, 1, now).unwrap(),
        Budget::Spent { .. }
    ));
    // No budget at all.
    assert!(matches!(
        store
            .take_budget(&fresh_key("budget-none"), 0, now)
            .unwrap(),
        Budget::Spent { .. }
    ));
    // The budget is not part of what is read.
    assert_eq!(store.read(&key).unwrap(), Record::default());
}

/// The last use only moves forward.
pub fn touch_keeps_the_latest_use(store: &dyn SessionStore) {
    let key = fresh_key("touch");
    store.touch(&key, 1_000).unwrap();
    assert_eq!(store.read(&key).unwrap().last_used_ms, Some(1_000));
    store.touch(&key, 500).unwrap();
    assert_eq!(store.read(&key).unwrap().last_used_ms, Some(1_000));
    store.touch(&key, 1_000).unwrap();
    store.touch(&key, 99_999).unwrap();
    assert_eq!(store.read(&key).unwrap().last_used_ms, Some(99_999));
    store.touch(&key, 100_000).unwrap();
    assert_eq!(store.read(&key).unwrap().last_used_ms, Some(100_000));
    let later = now_ms();
    store.touch(&key, later).unwrap();
    store.touch(&key, later - 1).unwrap();
    assert_eq!(store.read(&key).unwrap().last_used_ms, Some(later));
    // A touch is not a write: the snapshot and the mark stay as they are.
    assert!(store.write(&key, 1, b"one").unwrap());
    store.touch(&key, later + 1).unwrap();
    assert_eq!(
        store.read(&key).unwrap().snapshot,
        Some((1, b"one".to_vec()))
    );
}

/// Remove forgets the snapshot, the mark, the lock and the last use.
pub fn remove_forgets_the_session(store: &dyn SessionStore) {
    let key = fresh_key("remove");
    let other = fresh_key("remove-other");
    for key in [&key, &other] {
        assert!(store.write(key, 9, b"nine").unwrap());
        store.set_refused(key, Some(&mark("refused"))).unwrap();
        store.touch(key, 1234).unwrap();
        assert!(
            store
                .try_lock(key, "holder", Duration::from_secs(30))
                .unwrap()
        );
    }
    store.remove(&key).unwrap();
    assert_eq!(store.read(&key).unwrap(), Record::default());
    assert!(
        store
            .try_lock(&key, "another", Duration::from_secs(30))
            .unwrap()
    );
    // Generation 1 is new again.
    assert!(store.write(&key, 1, b"one").unwrap());
    // Another session is untouched.
    let kept = store.read(&other).unwrap();
    assert_eq!(kept.snapshot, Some((9, b"nine".to_vec())));
    assert_eq!(kept.last_used_ms, Some(1234));
    assert!(kept.refused.is_some());
    assert!(
        !store
            .try_lock(&other, "another", Duration::from_secs(30))
            .unwrap()
    );
    // Removing what is not there is fine.
    store.remove(&fresh_key("remove-none")).unwrap();
    store.remove(&key).unwrap();
    store.remove(&key).unwrap();
}

/// Many stores (each with its own connection or file handles, as
/// processes have) hammering one lock: never two holders at once, and
/// each gets it in turn. Bounded in count and time.
pub fn many_stores_never_hold_the_lock_together(
    open: &(dyn Fn() -> Box<dyn SessionStore> + Sync),
    threads: usize,
    rounds: usize,
) {
    let key = fresh_key("hammer");
    let inside = AtomicUsize::new(0);
    let held = AtomicUsize::new(0);
    let started = Instant::now();
    let deadline = Duration::from_secs(60);
    thread::scope(|scope| {
        for thread in 0..threads {
            let (key, inside, held) = (&key, &inside, &held);
            scope.spawn(move || {
                let store = open();
                for round in 0..rounds {
                    assert!(started.elapsed() < deadline, "the hammering took too long");
                    let holder = format!("thread-{thread}-round-{round}");
                    if store
                        .try_lock(key, &holder, Duration::from_secs(30))
                        .unwrap()
                    {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        held.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_micros(200));
                        assert_eq!(inside.fetch_sub(1, Ordering::SeqCst), 1, "two holders");
                        store.unlock(key, &holder).unwrap();
                    } else {
                        thread::yield_now();
                    }
                }
            });
        }
    });
    let held = held.load(Ordering::SeqCst);
    assert!(held > 0, "no thread ever held the lock");
    eprintln!(
        "{threads} threads x {rounds} rounds: the lock was held {held} times, never twice at once ({:?})",
        started.elapsed()
    );
}

/// Many stores writing generations at once: the newest stays, and each
/// write that was kept was newer than every one kept before it.
pub fn concurrent_writes_keep_the_newest(
    open: &(dyn Fn() -> Box<dyn SessionStore> + Sync),
    threads: usize,
    writes: u64,
) {
    let key = fresh_key("race");
    let kept = AtomicUsize::new(0);
    thread::scope(|scope| {
        for thread in 0..threads as u64 {
            let (key, kept) = (&key, &kept);
            scope.spawn(move || {
                let store = open();
                for n in 0..writes {
                    // Interleaved generations: thread t writes t, t+T, ...
                    let generation = n * threads as u64 + thread + 1;
                    if store
                        .write(key, generation, generation.to_string().as_bytes())
                        .unwrap()
                    {
                        kept.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let last = writes * threads as u64;
    let store = open();
    assert_eq!(
        store.read(&key).unwrap().snapshot,
        Some((last, last.to_string().into_bytes()))
    );
    assert!(kept.load(Ordering::SeqCst) >= usize::try_from(writes).unwrap());
}

/// Many stores taking one minute's budget at once never take more than it.
pub fn a_shared_budget_is_never_exceeded(
    open: &(dyn Fn() -> Box<dyn SessionStore> + Sync),
    threads: usize,
    per_minute: u32,
) {
    let key = fresh_key("budget-race");
    let now = now_ms() / 60_000 * 60_000 + 1_000;
    let granted = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..threads {
            let (key, granted) = (&key, &granted);
            scope.spawn(move || {
                let store = open();
                for _ in 0..per_minute {
                    if store.take_budget(key, per_minute, now).unwrap() == Budget::Granted {
                        granted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(
        granted.load(Ordering::SeqCst),
        usize::try_from(per_minute).unwrap()
    );
}
