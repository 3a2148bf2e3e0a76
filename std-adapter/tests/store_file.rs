//! `FileStore`: the store contract on a temporary directory, and what is
//! the file store's own: the files' modes, the atomic replacement, a
//! corrupt file, the user's cache directory, and processes (this test
//! binary run again as a child) that share one directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_contract;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use authsession_std::store::{FileStore, Record, SessionStore, StoreError, StoreKey};
use store_contract::{fresh_key, mark, now_ms};

/// What a child process of this test is asked to do.
const ROLE: &str = "AUTHSESSION_STORE_TEST_ROLE";
/// The directory a child process uses.
const DIR: &str = "AUTHSESSION_STORE_TEST_DIR";
/// The session a child process uses (its identity).
const IDENTITY: &str = "AUTHSESSION_STORE_TEST_IDENTITY";

/// A directory of its own for a test, deleted at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "authsession-store-file-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn store(&self) -> FileStore {
        FileStore::new(&self.0).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn hex_of(key: &StoreKey) -> String {
    let (_, rest) = key.as_str().split_once('{').unwrap();
    rest.split_once('}').unwrap().0.to_owned()
}

#[test]
fn an_unknown_key_holds_nothing() {
    let dir = TempDir::new("unknown");
    store_contract::an_unknown_key_holds_nothing(&dir.store());
}

#[test]
fn a_write_is_fenced_by_its_generation() {
    let dir = TempDir::new("fenced");
    store_contract::a_write_is_fenced_by_its_generation(&dir.store());
}

#[test]
fn the_login_lock_has_one_holder() {
    let dir = TempDir::new("lock");
    store_contract::the_login_lock_has_one_holder(&dir.store());
}

#[test]
fn the_login_lock_expires_after_its_ttl() {
    let dir = TempDir::new("expiry");
    store_contract::the_login_lock_expires_after_its_ttl(&dir.store());
}

#[test]
fn the_refused_mark_is_set_and_cleared() {
    let dir = TempDir::new("refused");
    store_contract::the_refused_mark_is_set_and_cleared(&dir.store());
}

#[test]
fn the_budget_allows_its_logins_in_any_minute() {
    let dir = TempDir::new("budget");
    store_contract::the_budget_allows_its_logins_in_any_minute(&dir.store());
}

#[test]
fn touch_keeps_the_latest_use() {
    let dir = TempDir::new("touch");
    store_contract::touch_keeps_the_latest_use(&dir.store());
}

#[test]
fn remove_forgets_the_session_and_deletes_its_file() {
    let dir = TempDir::new("remove");
    let store = dir.store();
    store_contract::remove_forgets_the_session(&store);
    let key = fresh_key("remove-file");
    assert!(store.write(&key, 1, b"one").unwrap());
    assert!(store.path(&key).exists());
    store.remove(&key).unwrap();
    assert!(!store.path(&key).exists());
}

#[test]
fn many_threads_never_hold_the_lock_together() {
    let dir = TempDir::new("hammer");
    let path = dir.store().dir().to_owned();
    store_contract::many_stores_never_hold_the_lock_together(
        &|| Box::new(FileStore::new(&path).unwrap()),
        8,
        100,
    );
}

#[test]
fn concurrent_writes_keep_the_newest() {
    let dir = TempDir::new("race");
    let path = dir.store().dir().to_owned();
    store_contract::concurrent_writes_keep_the_newest(
        &|| Box::new(FileStore::new(&path).unwrap()),
        4,
        50,
    );
}

#[test]
fn a_shared_budget_is_never_exceeded() {
    let dir = TempDir::new("budget-race");
    let path = dir.store().dir().to_owned();
    store_contract::a_shared_budget_is_never_exceeded(
        &|| Box::new(FileStore::new(&path).unwrap()),
        8,
        10,
    );
}

#[test]
fn the_directory_is_0700_and_every_file_0600() {
    let dir = TempDir::new("modes");
    let nested = dir.0.join("a").join("b");
    let store = FileStore::new(&nested).unwrap();
    assert_eq!(mode(&nested), 0o700);
    let key = fresh_key("modes");
    assert!(store.write(&key, 1, b"sealed").unwrap());
    store.touch(&key, now_ms()).unwrap();
    let hex = hex_of(&key);
    assert_eq!(store.path(&key), nested.join(format!("{hex}.session")));
    assert_eq!(mode(&store.path(&key)), 0o600);
    assert_eq!(mode(&nested.join(format!("{hex}.lock"))), 0o600);
    // Under a umask that would give others read access too, and over a
    // file someone made readable: each write replaces it with a 0600 one.
    fs::set_permissions(store.path(&key), fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.write(&key, 2, b"sealed").unwrap());
    assert_eq!(mode(&store.path(&key)), 0o600);
    // The file's name is the key's hash: no login id in it.
    let name = store
        .path(&key)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(!name.contains("modes"), "{name}");
}

#[test]
fn a_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
    let dir = TempDir::new("atomic");
    let store = dir.store();
    let key = fresh_key("atomic");
    let hex = hex_of(&key);
    // A temporary file left by a writer that died is replaced.
    fs::write(dir.0.join(format!("{hex}.tmp")), b"half a write").unwrap();
    let big = vec![0xa5_u8; 256 * 1024];
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        // A reader, without the lock, sees one whole file or another.
        let reader = scope.spawn(|| {
            let reader = FileStore::new(&dir.0).unwrap();
            let (mut reads, mut last) = (0, 0);
            let started = Instant::now();
            while !done.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60) {
                if let Some((generation, sealed)) = reader.read(&key).unwrap().snapshot {
                    assert!(generation >= last, "generation {generation} after {last}");
                    assert_eq!(
                        sealed.len(),
                        big.len() + usize::try_from(generation).unwrap()
                    );
                    last = generation;
                }
                reads += 1;
            }
            reads
        });
        for generation in 1..=40_u64 {
            let mut sealed = big.clone();
            sealed.extend(std::iter::repeat_n(7, usize::try_from(generation).unwrap()));
            assert!(store.write(&key, generation, &sealed).unwrap());
        }
        done.store(true, Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
    });
    assert_eq!(
        names_in(&dir.0),
        [format!("{hex}.lock"), format!("{hex}.session")]
    );
}

#[test]
fn a_file_that_does_not_parse_is_corrupt_until_removed() {
    let dir = TempDir::new("corrupt");
    let store = dir.store();
    let key = fresh_key("corrupt");
    assert!(store.write(&key, 3, b"three").unwrap());
    store.set_refused(&key, Some(&mark("refused"))).unwrap();
    let good = fs::read(store.path(&key)).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    assert!(text.starts_with("authsession-store 2\n"), "{text}");
    assert!(text.ends_with("\nend\n"), "{text}");
    let mut bad: Vec<Vec<u8>> = vec![
        b"not a session file".to_vec(),
        Vec::new(),
        vec![0xff, 0xfe, 0],
        text.replace("authsession-store 2", "authsession-store 3")
            .into_bytes(),
        text.replace("snapshot 3", "snapshot x").into_bytes(),
    ];
    // Cut short anywhere.
    for cut in [1, good.len() / 2, good.len() - 5, good.len() - 1] {
        bad.push(good[..cut].to_vec());
    }
    for contents in bad {
        fs::write(store.path(&key), &contents).unwrap();
        let corrupt = |result: Result<(), StoreError>| match result {
            Err(StoreError::Corrupt(what)) => {
                assert!(!what.contains("three"));
            }
            other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(&contents)),
        };
        corrupt(store.read(&key).map(drop));
        corrupt(store.write(&key, 4, b"four").map(drop));
        corrupt(
            store
                .try_lock(&key, "holder", Duration::from_secs(1))
                .map(drop),
        );
        corrupt(store.unlock(&key, "holder"));
        corrupt(store.set_refused(&key, None));
        corrupt(store.take_budget(&key, 1, now_ms()).map(drop));
        corrupt(store.touch(&key, now_ms()));
        // What the store refused to read it did not overwrite.
        assert_eq!(fs::read(store.path(&key)).unwrap(), contents);
    }
    store.remove(&key).unwrap();
    assert_eq!(store.read(&key).unwrap(), Record::default());
    assert!(store.write(&key, 1, b"one").unwrap());
}

#[test]
fn a_directory_that_cannot_be_made_is_unavailable() {
    let dir = TempDir::new("unavailable");
    fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("a file");
    fs::write(&file, b"").unwrap();
    assert!(matches!(
        FileStore::new(file.join("below")),
        Err(StoreError::Unavailable(_))
    ));
}

/// Runs this test binary's `test` as a child process with `role`.
fn child(test: &str, role: &str, envs: &[(&str, &Path)]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in envs {
        command.env(name, value);
    }
    command
}

/// Waits for `child` at most `limit`, then kills it by its pid.
fn wait_bounded(mut child: Child, limit: Duration) -> (bool, String) {
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), reader.join().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a child process ran past {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The part of a child's output line after `tag=` (the test harness
/// prints the test's name before it on the same line).
fn said(out: &str, tag: &str) -> Option<String> {
    out.lines()
        .find_map(|line| line.split_once(&format!("{tag}=")))
        .map(|(_, value)| value.to_owned())
}

/// A child process's side of the tests below; nothing when run as a test.
#[test]
fn child_process_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let dir = std::env::var_os(DIR).map(PathBuf::from);
    let key = || {
        StoreKey::new(
            "contract",
            "https://api.example.invalid",
            &std::env::var(IDENTITY).unwrap(),
        )
    };
    match role.as_str() {
        "cache-dir" => match FileStore::in_cache_dir() {
            Ok(store) => println!("DIR={}", store.dir().display()),
            Err(error) => println!("ERROR={error}"),
        },
        "hammer" => {
            let dir = dir.unwrap();
            let store = FileStore::new(&dir).unwrap();
            let key = key();
            let marker = dir.join("inside");
            let started = Instant::now();
            let mut held = 0;
            for round in 0..150 {
                assert!(started.elapsed() < Duration::from_secs(60));
                let holder = format!("{}-{round}", std::process::id());
                if store
                    .try_lock(&key, &holder, Duration::from_secs(30))
                    .unwrap()
                {
                    // Made only if absent: a second holder cannot make it.
                    fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&marker)
                        .expect("two processes hold the lock at once");
                    held += 1;
                    thread::sleep(Duration::from_micros(300));
                    fs::remove_file(&marker).unwrap();
                    store.unlock(&key, &holder).unwrap();
                } else {
                    thread::sleep(Duration::from_micros(100));
                }
            }
            println!("HELD={held}");
        }
        "hold-and-hang" => {
            let store = FileStore::new(dir.unwrap()).unwrap();
            assert!(
                store
                    .try_lock(&key(), "doomed", Duration::from_millis(800))
                    .unwrap()
            );
            println!("LOCKED=yes");
            // Until killed (bounded all the same).
            thread::sleep(Duration::from_secs(30));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn the_default_place_is_the_users_cache_directory() {
    let dir = TempDir::new("cache-dir");
    let xdg = dir.0.join("xdg");
    let home = dir.0.join("home");
    let test = "child_process_role";
    let run = |command: &mut Command| {
        let (ok, out) = wait_bounded(command.spawn().unwrap(), Duration::from_secs(30));
        assert!(ok, "{out}");
        out
    };
    let out = run(&mut child(
        test,
        "cache-dir",
        &[("XDG_CACHE_HOME", &xdg), ("HOME", &home)],
    ));
    assert_eq!(
        said(&out, "DIR"),
        Some(xdg.join("authsession").display().to_string())
    );
    assert_eq!(mode(&xdg.join("authsession")), 0o700);
    let out = run(child(test, "cache-dir", &[("HOME", &home)]).env_remove("XDG_CACHE_HOME"));
    assert_eq!(
        said(&out, "DIR"),
        Some(
            home.join(".cache")
                .join("authsession")
                .display()
                .to_string()
        )
    );
    // A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    let out = run(&mut child(
        test,
        "cache-dir",
        &[("HOME", &home), ("XDG_CACHE_HOME", Path::new("relative"))],
    ));
    assert_eq!(
        said(&out, "DIR"),
        Some(
            home.join(".cache")
                .join("authsession")
                .display()
                .to_string()
        )
    );
    let out = run(child(test, "cache-dir", &[])
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME"));
    assert!(
        said(&out, "ERROR").unwrap().contains("no cache directory"),
        "{out}"
    );
}

#[test]
fn processes_sharing_a_directory_never_hold_the_lock_together() {
    let dir = TempDir::new("processes");
    let store = dir.store();
    let identity = format!("processes-{}", std::process::id());
    let children: Vec<Child> = (0..4)
        .map(|_| {
            child("child_process_role", "hammer", &[(DIR, &dir.0)])
                .env(IDENTITY, &identity)
                .spawn()
                .unwrap()
        })
        .collect();
    let mut held = 0;
    for child in children {
        let (ok, out) = wait_bounded(child, Duration::from_secs(90));
        assert!(ok, "a child failed:\n{out}");
        held += said(&out, "HELD").unwrap().parse::<u32>().unwrap();
    }
    assert!(held > 0);
    eprintln!("4 processes x 150 rounds: the lock was held {held} times, never twice at once");
    // Each released it: it is free.
    let key = StoreKey::new("contract", "https://api.example.invalid", &identity);
    assert!(
        store
            .try_lock(&key, "parent", Duration::from_secs(1))
            .unwrap()
    );
}

#[test]
fn the_lock_of_a_killed_process_expires() {
    let dir = TempDir::new("killed");
    let store = dir.store();
    let identity = format!("killed-{}", std::process::id());
    let key = StoreKey::new("contract", "https://api.example.invalid", &identity);
    let mut holder = child("child_process_role", "hold-and-hang", &[(DIR, &dir.0)])
        .env(IDENTITY, &identity)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    let started = Instant::now();
    loop {
        let line = lines
            .next()
            .expect("the child ended before it locked")
            .unwrap();
        if line.ends_with("LOCKED=yes") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    }
    let locked = Instant::now();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        !store
            .try_lock(&key, "next", Duration::from_secs(30))
            .unwrap()
    );
    let mut taken = false;
    for _ in 0..200 {
        if store
            .try_lock(&key, "next", Duration::from_secs(30))
            .unwrap()
        {
            taken = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(taken, "the dead holder's lock did not expire");
    assert!(
        locked.elapsed() >= Duration::from_millis(700),
        "{:?}",
        locked.elapsed()
    );
}
