//! The core's `wire` driver over scripted connections: it logs in before a
//! call, replays a call once after a refused token, reports transport
//! failures to the session, never retries a refused login, wipes the
//! session's answers from the buffer, and logs out.
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::embedded_io::{self, ErrorKind, ErrorType, Read, Write};
use authsession_core::wire::httparse::EMPTY_HEADER;
use authsession_core::wire::{Call, Connector, Driver, DriverError, Endpoint, WireError};
use authsession_core::{
    Event, Instant, Level, Method, NotReady, Response, Session, SessionState, Verdict,
};
use authsession_tests::{
    API_KEY, AUTH_FAILED, LOGIN_ID, LOGIN_OK, NEXT_LOGIN_OK, NEXT_TOKEN, TOKEN,
};

const ACCOUNT: &str = r#"{"id":"8ec3a69b-02d1-4f09-9a6b-6bd54a61b3a8","account_name":"Demo"}"#;

/// What one connection does: answer with these bytes, or not open at all.
#[derive(Clone)]
enum Script {
    Answer(Vec<u8>),
    Refuse,
}

fn answer(status: u16, body: &str) -> Script {
    Script::Answer(
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// The connections the driver opened, in order: what was written on each.
type Log = Rc<RefCell<Vec<Vec<u8>>>>;

struct Scripted {
    answer: Vec<u8>,
    pos: usize,
    log: Log,
    index: usize,
}

#[derive(Debug, PartialEq, Eq)]
struct Failure;

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("refused")
    }
}

impl core::error::Error for Failure {}

impl embedded_io::Error for Failure {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ConnectionRefused
    }
}

impl ErrorType for Scripted {
    type Error = Failure;
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        // Seven bytes at a time: answers arrive in pieces.
        let n = (self.answer.len() - self.pos).min(buf.len()).min(7);
        buf[..n].copy_from_slice(&self.answer[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Failure> {
        self.log.borrow_mut()[self.index].extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Failure> {
        Ok(())
    }
}

/// A connector that plays `scripts` in order, one a connection.
fn connector(scripts: Vec<Script>, log: &Log) -> impl FnMut() -> Result<Scripted, Failure> + use<> {
    let mut scripts = VecDeque::from(scripts);
    let log = log.clone();
    move || {
        let index = log.borrow().len();
        log.borrow_mut().push(Vec::new());
        match scripts.pop_front().expect("a connection nobody scripted") {
            Script::Answer(answer) => Ok(Scripted {
                answer,
                pos: 0,
                log: log.clone(),
                index,
            }),
            Script::Refuse => Err(Failure),
        }
    }
}

fn session() -> Session<Currencycloud> {
    let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
    Session::new(Currencycloud::default(), credentials)
}

fn request_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or_default().to_owned()
}

fn clock() -> impl FnMut() -> Instant {
    let mut millis = 0;
    move || {
        millis += 10;
        Instant::from_millis(millis)
    }
}

const ACCOUNT_CALL: Call<'static> = Call::new(Level::User, Method::Get, "/v2/accounts/current");

/// A driver to host `h` that plays `scripts`, and the log of what it
/// wrote on each connection.
fn scripted(
    scripts: Vec<Script>,
) -> (
    Driver<'static, impl FnMut() -> Result<Scripted, Failure>>,
    Log,
) {
    let log = Log::default();
    (
        Driver::new(connector(scripts, &log), Endpoint::new("h")),
        log,
    )
}

/// `ACCOUNT_CALL` for `session` through `driver` with a 1 KiB buffer and
/// eight headers: the verdict and the status, or the error.
fn call_account<C: Connector, E: FnMut(Event<'_>), const N: usize>(
    driver: &mut Driver<'_, C, E, N>,
    session: &mut Session<Currencycloud>,
    now: &mut impl FnMut() -> Instant,
) -> Result<(Verdict, u16), DriverError<C::Error>> {
    call_sized(driver, session, 1024, 8, now)
}

/// The same with a buffer of `buf_len` bytes and `header_len` headers.
fn call_sized<C: Connector, E: FnMut(Event<'_>), const N: usize>(
    driver: &mut Driver<'_, C, E, N>,
    session: &mut Session<Currencycloud>,
    buf_len: usize,
    header_len: usize,
    now: &mut impl FnMut() -> Instant,
) -> Result<(Verdict, u16), DriverError<C::Error>> {
    let (mut buf, mut headers) = (vec![0u8; buf_len], vec![EMPTY_HEADER; header_len]);
    driver
        .call(session, &ACCOUNT_CALL, &mut buf, &mut headers, now)
        .map(|(verdict, response)| (verdict, response.status()))
}

#[test]
fn a_call_logs_in_first_then_goes_with_the_token() {
    let log = Log::default();
    let scripts = vec![answer(200, LOGIN_OK), answer(200, ACCOUNT)];
    let mut events = Vec::new();
    let mut driver = Driver::new(connector(scripts, &log), Endpoint::new("api.example"))
        .on_event(|event| events.push(format!("{event:?}")));
    let mut session = session();
    let (mut buf, mut headers) = ([0u8; 1024], [EMPTY_HEADER; 8]);

    let (verdict, response) = driver
        .call(
            &mut session,
            &ACCOUNT_CALL,
            &mut buf,
            &mut headers,
            &mut clock(),
        )
        .unwrap();

    assert_eq!(verdict, Verdict::Ok);
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), ACCOUNT.as_bytes());
    assert_eq!(
        response.header("content-type"),
        Some(&b"application/json"[..])
    );
    drop(driver);
    assert_eq!(events, ["LoggedIn { generation: 1 }"]);
    let log = log.borrow();
    assert_eq!(log.len(), 2);
    assert_eq!(request_line(&log[0]), "POST /v2/authenticate/api HTTP/1.1");
    let call = String::from_utf8_lossy(&log[1]);
    assert!(call.starts_with("GET /v2/accounts/current HTTP/1.1\r\nHost: api.example\r\n"));
    assert!(
        call.contains(&format!("X-Auth-Token: {TOKEN}\r\n")),
        "{call}"
    );
    assert!(call.contains("Connection: close\r\n"), "{call}");
}

#[test]
fn a_refused_token_means_one_login_and_one_replay() {
    let scripts = vec![
        answer(200, LOGIN_OK),
        answer(401, AUTH_FAILED),
        answer(200, NEXT_LOGIN_OK),
        answer(200, ACCOUNT),
    ];
    let (mut driver, log) = scripted(scripts);
    let mut session = session();

    let (verdict, status) = call_account(&mut driver, &mut session, &mut clock()).unwrap();

    assert_eq!((verdict, status), (Verdict::Ok, 200));
    assert_eq!(session.generation(), 2);
    let log = log.borrow();
    assert_eq!(log.len(), 4);
    assert!(String::from_utf8_lossy(&log[3]).contains(NEXT_TOKEN));
}

#[test]
fn a_call_refused_twice_is_handed_back() {
    let scripts = vec![
        answer(200, LOGIN_OK),
        answer(401, AUTH_FAILED),
        answer(200, NEXT_LOGIN_OK),
        answer(401, AUTH_FAILED),
    ];
    let (mut driver, log) = scripted(scripts);
    let mut session = session();

    let (verdict, status) = call_account(&mut driver, &mut session, &mut clock()).unwrap();

    assert_eq!((verdict, status), (Verdict::Replay, 401));
    assert_eq!(log.borrow().len(), 4);
}

#[test]
fn a_refused_login_is_not_retried() {
    let scripts = vec![answer(401, AUTH_FAILED)];
    let (mut driver, log) = scripted(scripts);
    let mut session = session();

    let error = call_account(&mut driver, &mut session, &mut clock()).unwrap_err();

    assert_eq!(error, DriverError::NotReady(NotReady::Rejected));
    assert_eq!(session.state(), SessionState::Rejected);
    assert_eq!(log.borrow().len(), 1);
    // Asking again sends nothing: the connector has no script left.
    let again = call_account(&mut driver, &mut session, &mut clock());
    assert_eq!(
        again.unwrap_err(),
        DriverError::NotReady(NotReady::Rejected)
    );
}

#[test]
fn a_login_without_answer_is_reported_and_backs_off() {
    let cut = Script::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"auth".to_vec());
    let scripts = vec![Script::Refuse, cut];
    let (mut driver, log) = scripted(scripts);
    let mut session = session();
    let mut now = clock();

    let error = call_account(&mut driver, &mut session, &mut now).unwrap_err();
    assert!(matches!(error, DriverError::Connect(Failure)), "{error:?}");
    assert!(matches!(session.state(), SessionState::Waiting { .. }));

    // While the backoff runs, nothing is sent.
    let error = call_account(&mut driver, &mut session, &mut now).unwrap_err();
    let DriverError::NotReady(NotReady::Backoff { until }) = error else {
        panic!("{error:?}");
    };
    assert_eq!(log.borrow().len(), 1);

    // After it, the login goes again; its answer is cut short.
    let mut later = move || until;
    let error = call_account(&mut driver, &mut session, &mut later).unwrap_err();
    assert_eq!(error, DriverError::Wire(WireError::Truncated));
    assert!(matches!(session.state(), SessionState::Waiting { .. }));
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn the_login_answer_is_wiped_from_the_buffer() {
    let scripts = vec![answer(200, LOGIN_OK)];
    let (mut driver, _log) = scripted(scripts);
    let mut session = session();
    let mut buf = [0u8; 1024];
    let mut now = clock();
    session.login(now());

    assert_eq!(driver.drive(&mut session, &mut buf, &mut now), Ok(1));

    assert_eq!(session.state(), SessionState::Active);
    assert!(buf.iter().all(|&byte| byte == 0));
}

#[test]
fn a_logout_is_driven_like_any_request() {
    let log = Log::default();
    let scripts = vec![
        answer(200, LOGIN_OK),
        answer(200, ACCOUNT),
        answer(200, "{}"),
    ];
    let mut driver = Driver::new(
        connector(scripts, &log),
        Endpoint::new("h").with_base_path("/base"),
    );
    let mut session = session();
    let mut now = clock();
    call_account(&mut driver, &mut session, &mut now).unwrap();

    session.logout(now());
    let mut buf = [0u8; 1024];
    assert_eq!(driver.drive(&mut session, &mut buf, &mut now), Ok(1));

    assert_eq!(session.state(), SessionState::LoggedOut);
    let log = log.borrow();
    assert_eq!(
        request_line(&log[0]),
        "POST /base/v2/authenticate/api HTTP/1.1"
    );
    assert_eq!(
        request_line(&log[2]),
        "POST /base/v2/authenticate/close_session HTTP/1.1"
    );
    assert!(String::from_utf8_lossy(&log[2]).contains(TOKEN));
}

#[test]
fn an_answer_too_large_for_the_buffer_is_an_error_and_a_failure() {
    let scripts = vec![answer(200, LOGIN_OK)];
    let (mut driver, _log) = scripted(scripts);
    let mut session = session();

    let error = call_sized(&mut driver, &mut session, 100, 8, &mut clock()).unwrap_err();

    assert!(
        matches!(error, DriverError::Wire(WireError::BodyTooLarge { .. })),
        "{error:?}"
    );
    assert!(matches!(session.state(), SessionState::Waiting { .. }));
}

#[test]
fn a_response_with_more_headers_than_the_callers_array() {
    let scripts = vec![answer(200, LOGIN_OK), answer(200, ACCOUNT)];
    let (mut driver, _log) = scripted(scripts);
    let mut session = session();

    let error = call_sized(&mut driver, &mut session, 1024, 2, &mut clock()).unwrap_err();

    assert_eq!(
        error,
        DriverError::Wire(WireError::TooManyHeaders { capacity: 2 })
    );
}

#[test]
fn a_driver_with_a_small_header_array_refuses_large_heads() {
    let scripts = vec![answer(200, LOGIN_OK)];
    let (driver, _log) = scripted(scripts);
    let mut driver = driver.with_header_capacity::<2>();
    let mut session = session();

    let error = call_account(&mut driver, &mut session, &mut clock()).unwrap_err();

    assert_eq!(
        error,
        DriverError::Wire(WireError::TooManyHeaders { capacity: 2 })
    );
}

#[test]
fn rounds_are_bounded() {
    let scripts = vec![answer(200, LOGIN_OK)];
    let (driver, log) = scripted(scripts);
    let mut driver = driver.with_max_rounds(1);
    let mut session = session();

    let error = call_account(&mut driver, &mut session, &mut clock()).unwrap_err();

    assert_eq!(error, DriverError::TooManyRounds);
    assert_eq!(log.borrow().len(), 1);
}

#[test]
fn tick_hands_the_session_its_timer() {
    let scripts = vec![answer(200, LOGIN_OK)];
    let (mut driver, _log) = scripted(scripts);
    let mut session = session();
    let mut buf = [0u8; 1024];
    let mut now = clock();
    session.login(now());
    let idle_deadline = driver.tick(&mut session, &mut buf, &mut now).unwrap();
    let idle_deadline = idle_deadline.expect("an active Currencycloud token has an idle deadline");

    let mut later = move || idle_deadline;
    assert_eq!(driver.tick(&mut session, &mut buf, &mut later), Ok(None));
    assert!(matches!(session.state(), SessionState::Expired { .. }));
}

#[test]
fn errors_print_without_secrets() {
    let error: DriverError<std::io::Error> = DriverError::Wire(WireError::Truncated);
    assert_eq!(
        error.to_string(),
        "the connection closed before the response ended"
    );
    let error: DriverError<std::io::Error> =
        DriverError::Connect(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    assert!(error.to_string().starts_with("could not connect"));
    assert!(std::error::Error::source(&error).is_some());
}
