//! `authsession call --store`: processes that share one session through a
//! store, run as a fleet runs them, against one sandbox all of them share,
//! counted where the sandbox sees them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Fault, Sandbox, SandboxConfig,
};
use authsession_tests::redis_server::RedisServer;

const STORE_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff";
const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        idle_timeout: Duration::from_secs(60),
        ..SandboxConfig::for_tests()
    })
    .expect("the sandbox starts")
}

/// `authsession call ... --store store GET /v2/accounts/current`.
fn call(sandbox: &Sandbox, store: &str, api_key: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authsession"));
    command
        .args(["call", "--provider", "currencycloud", "--base-url"])
        .arg(sandbox.currencycloud_url())
        .args(["--store", store])
        .args(extra)
        .args(["GET", "/v2/accounts/current"])
        .env_remove("AUTHSESSION_STORE")
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", api_key)
        .env("AUTHSESSION_STORE_KEY", STORE_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `n` calls at once; each must succeed.
fn all_succeed(n: usize, make: impl Fn() -> Command) {
    for output in run_all((0..n).map(|_| make()).collect()) {
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
}

/// Starts `n` processes at once and waits for all of them, within a bound.
fn run_all(commands: Vec<Command>) -> Vec<Output> {
    let children: Vec<Child> = commands
        .into_iter()
        .map(|mut command| command.spawn().expect("the command starts"))
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().expect("the command ends"))
        .collect()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authsession-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn five_calls_in_a_row_with_a_file_store_log_in_once_and_leave_a_sealed_private_file() {
    let sandbox = sandbox();
    let dir = temp_dir("five");
    let store = format!("file:{}", dir.display());
    for run in 0..5 {
        let output = call(&sandbox, &store, CURRENCYCLOUD_API_KEY, &[])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run {run}: {}",
            text(&output.stderr)
        );
    }
    let counters = sandbox.counters();
    assert_eq!(counters.logins, 1);
    assert_eq!(counters.logouts, 0, "a stored session stays open");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if path.is_file() && !bytes.is_empty() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{path:?}");
            let text = text(&bytes);
            assert!(!text.contains(CURRENCYCLOUD_API_KEY), "{path:?}");
            assert!(!text.contains(STORE_KEY), "{path:?}");
        }
    }

    // `logout` closes it on the server and removes it: the next call
    // logs in again.
    let logout = Command::new(env!("CARGO_BIN_EXE_authsession"))
        .args(["logout", "--provider", "currencycloud", "--base-url"])
        .arg(sandbox.currencycloud_url())
        .args(["--store", &store])
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", CURRENCYCLOUD_API_KEY)
        .env("AUTHSESSION_STORE_KEY", STORE_KEY)
        .output()
        .unwrap();
    assert!(logout.status.success(), "{}", text(&logout.stderr));
    assert_eq!(sandbox.counters().logouts, 1);
    assert_eq!(sandbox.counters().logins, 1);
    let again = call(&sandbox, &store, CURRENCYCLOUD_API_KEY, &[])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(sandbox.counters().logins, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sixteen_processes_meeting_an_expiry_together_log_in_once_per_expiry() {
    // The sandbox ends a token unused for a second; the processes do not
    // know it (Currencycloud's idle timeout is 30 minutes): they meet the
    // expiry as a `401` from the server.
    let sandbox = Sandbox::start(SandboxConfig {
        idle_timeout: Duration::from_secs(1),
        ..SandboxConfig::for_tests()
    })
    .expect("the sandbox starts");
    let redis = RedisServer::start();
    let store = redis.url();
    for expiry in 1..=3 {
        all_succeed(16, || call(&sandbox, &store, CURRENCYCLOUD_API_KEY, &[]));
        assert_eq!(sandbox.counters().logins, expiry, "one login per expiry");
        std::thread::sleep(Duration::from_millis(1_500));
    }
    // Each expiry after the first was met by at least one process, which
    // logged in for all; the others took its token.
    assert!(sandbox.counters().unauthorized >= 2);
    assert_eq!(sandbox.counters().calls, 48, "every call answered once");
}

#[test]
fn sixteen_processes_with_a_wrong_key_cost_one_login_attempt() {
    let sandbox = sandbox();
    let redis = RedisServer::start();
    let outputs = run_all(
        (0..16)
            .map(|_| call(&sandbox, &redis.url(), WRONG_KEY, &[]))
            .collect(),
    );
    for output in &outputs {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("auth_failed") || stderr.contains("refused"),
            "{stderr}"
        );
        assert!(!stderr.contains(WRONG_KEY));
    }
    assert_eq!(sandbox.counters().rejected_logins, 1);

    // An operator clears the mark: the next process tries once more.
    let reset = Command::new(env!("CARGO_BIN_EXE_authsession"))
        .args([
            "store",
            "reset",
            "--provider",
            "currencycloud",
            "--base-url",
        ])
        .arg(sandbox.currencycloud_url())
        .args(["--store", &redis.url()])
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", WRONG_KEY)
        .env("AUTHSESSION_STORE_KEY", STORE_KEY)
        .output()
        .unwrap();
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    let again = call(&sandbox, &redis.url(), WRONG_KEY, &[])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(sandbox.counters().rejected_logins, 2);
}

#[test]
fn a_worker_killed_holding_the_login_lock_lets_exactly_one_other_log_in() {
    let sandbox = sandbox();
    let redis = RedisServer::start();
    // The first login hangs; its worker is killed while it holds the lock.
    sandbox.inject(Fault::Delay(Duration::from_secs(30)), 1);
    let mut stalled = call(&sandbox, &redis.url(), CURRENCYCLOUD_API_KEY, &[])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sandbox.counters().logins == 0 && started.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stalled.kill().unwrap();
    let _ = stalled.wait();

    all_succeed(4, || {
        call(&sandbox, &redis.url(), CURRENCYCLOUD_API_KEY, &[])
    });
    // The stalled login was never answered; one of the others logged in
    // once the lock expired, and the rest took its token.
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn a_redis_store_needs_the_fleets_key_and_a_file_store_keeps_its_own() {
    let sandbox = sandbox();
    let redis = RedisServer::start();
    let output = call(&sandbox, &redis.url(), CURRENCYCLOUD_API_KEY, &[])
        .env_remove("AUTHSESSION_STORE_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("AUTHSESSION_STORE_KEY"));
    assert_eq!(sandbox.counters().logins, 0, "nothing sent");

    let dir = temp_dir("own-key");
    let store = format!("file:{}", dir.display());
    for _ in 0..2 {
        let output = call(&sandbox, &store, CURRENCYCLOUD_API_KEY, &[])
            .env_remove("AUTHSESSION_STORE_KEY")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(sandbox.counters().logins, 1);
    let mode = std::fs::metadata(dir.join("seal.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}
