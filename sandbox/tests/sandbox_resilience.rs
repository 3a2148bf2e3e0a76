//! The sandbox under the loads that broke its first HTTP server: the
//! process running out of file descriptors, which ended that server's
//! accept thread for good, and a burst of new connections, a few of which
//! it left unserved while the others stayed open. The descriptor limit is
//! the whole process's, so these tests have a binary of their own, and take
//! turns in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw_http;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use raw_http::{IO_TIMEOUT, connect, request};
use rlimit::Resource;

/// `errno` for "too many open files" (Linux's, and the BSDs').
const EMFILE: i32 = 24;
/// The descriptor limit while the sandbox runs out: low, so that filling
/// it is quick.
const LOW_LIMIT: u64 = 256;
/// Connections opened together.
const BURST: usize = 100;
const ACCOUNT: &str = "/v2/accounts/current";

/// One test at a time: the first changes what the whole process may open.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Puts the descriptor limit back as it was when dropped, even when the
/// test fails.
struct LimitRestored {
    soft: u64,
    hard: u64,
}

impl Drop for LimitRestored {
    fn drop(&mut self) {
        // No panic here: this may run while a failed test unwinds.
        if let Err(error) = Resource::NOFILE.set(self.soft, self.hard) {
            eprintln!("the limit of open files was not restored: {error}");
        }
    }
}

#[test]
fn a_failed_accept_is_counted_and_the_sandbox_serves_on() {
    let _turn = take_turn();
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    let (soft, hard) = Resource::NOFILE.get().unwrap();
    let restored = LimitRestored { soft, hard };
    Resource::NOFILE.set(LOW_LIMIT.min(soft), hard).unwrap();

    // Every descriptor left goes to a placeholder; one given back is taken
    // by the client's socket, so the sandbox has none for its side.
    let mut placeholders = Vec::new();
    let most = usize::try_from(LOW_LIMIT).unwrap();
    let full = loop {
        match File::open("/dev/null") {
            Ok(file) if placeholders.len() < most => placeholders.push(file),
            Ok(_) => panic!("the limit of open files did not hold"),
            Err(error) => break error,
        }
    };
    assert_eq!(full.raw_os_error(), Some(EMFILE), "{full}");
    assert!(!placeholders.is_empty(), "the process was already full");
    drop(placeholders.pop());
    let mut waiting = connect(sandbox.addr());
    let deadline = Instant::now() + IO_TIMEOUT;
    while sandbox.counters().accept_failures == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        sandbox.counters().accept_failures >= 1,
        "accept never failed"
    );

    drop(placeholders);
    drop(restored);
    // The connection that could not be accepted is served once it can be,
    // and so is a new one.
    waiting
        .write_all(b"GET /v2/accounts/current HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let fresh = request(&sandbox, "GET", ACCOUNT, &[], b"");
    assert_eq!(fresh.status, 401);
    assert_eq!(fresh.header("Content-Type"), Some("application/json"));
    assert_eq!(fresh.json()["error_code"], "auth_failed");
    let counters = sandbox.counters();
    assert_eq!(counters.unauthorized, 2);
    assert!(counters.accept_failures >= 1);
}

/// Reads one answer off a keep-alive connection (its head, then as many
/// bytes as its `Content-Length` says) and returns its status and body.
fn read_answer(stream: &mut TcpStream) -> io::Result<(u16, String)> {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 || bytes.len() > 64 * 1024 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse().unwrap());
    let mut body = bytes.split_off(head_end);
    if body.len() < length {
        let mut rest = vec![0_u8; length - body.len()];
        stream.read_exact(&mut rest)?;
        body.extend_from_slice(&rest);
    }
    Ok((status, String::from_utf8(body).unwrap()))
}

#[test]
fn a_hundred_connections_opened_at_once_are_all_answered() {
    let _turn = take_turn();
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    let form = format!("login_id={CURRENCYCLOUD_LOGIN_ID}&api_key={CURRENCYCLOUD_API_KEY}");
    let login = format!(
        "POST /v2/authenticate/api HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let (opened, answered) = (Barrier::new(BURST), Barrier::new(BURST));
    let answers: Vec<io::Result<(u16, String)>> = thread::scope(|scope| {
        let threads: Vec<_> = (0..BURST)
            .map(|_| {
                scope.spawn(|| {
                    opened.wait();
                    let mut stream = connect(sandbox.addr());
                    let answer = stream
                        .write_all(login.as_bytes())
                        .and_then(|()| read_answer(&mut stream));
                    // Each keeps its connection open, as a pooling client
                    // does, until all are answered or have given up: no
                    // connection's close frees the server for another.
                    answered.wait();
                    answer
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let mut tokens = HashSet::new();
    for answer in answers {
        let (status, body) = answer.expect("every connection is answered");
        assert_eq!(status, 200, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        tokens.insert(body["auth_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens.len(), BURST);
    assert_eq!(sandbox.counters().logins, u64::try_from(BURST).unwrap());
}
