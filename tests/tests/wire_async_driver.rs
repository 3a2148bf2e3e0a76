//! The core's async `wire` driver against the sandbox over real loopback
//! sockets (tokio's `TcpStream` behind `embedded-io-adapters`, a fresh
//! connection for each request, as a device opens them): it logs in before
//! the first call and reuses the token after, replaces a token it knows
//! has idled out before sending it, replays a call once when the server
//! refused its token (idled out there, or a `401` injected), hands back a
//! call refused twice, and logs out; a drive dropped halfway through a
//! login leaves nothing of the answer in the buffer and the session not
//! waiting for it. The sandbox's counters say what the server saw.
//!
//! Every test runs on a current-thread runtime under a timeout, so a
//! server that stops answering fails the test instead of hanging it. The
//! last test keeps the README's Embassy example the driver's doctest.
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A test's future holds a session and a device's response buffers (20 KB),
// as a device's task does: that is the point, not a mistake to box away.
#![allow(clippy::large_futures)]

use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::httparse::EMPTY_HEADER;
use authsession_core::wire::{AsyncConnector, AsyncDriver, Call, DriverError, Endpoint};
use authsession_core::{
    Config, Event, ExpiryReason, Instant, Level, Method, NotReady, Response, Session, SessionState,
    Verdict,
};
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Fault, Sandbox, SandboxConfig,
};
use authsession_tests::TOKEN;
use authsession_tests::millis;
use embedded_io_adapters::tokio_1::FromTokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ACCOUNT: &str = "/v2/accounts/current";
const BALANCES: &str = "/v2/balances/find";

/// What the `embedded_session` examples and the README give a device.
const RESPONSE_BUFFER: usize = 2048;
const RESPONSE_HEADERS: usize = 24;

/// The longest any test here may take.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// Runs `test` to its end, or fails once it has taken [`TEST_LIMIT`].
async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

/// A connector that opens a new loopback connection to `addr` for each
/// request: a closure that returns a future of the connection is a
/// connector.
fn connector(addr: SocketAddr) -> impl AsyncConnector<Error = io::Error> {
    move || async move {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(FromTokio::new(stream))
    }
}

fn session_of(provider: Currencycloud, config: Config) -> Session<Currencycloud> {
    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    Session::with_config(provider, credentials, config)
}

/// A session that expires tokens only when the server refuses them (its
/// idle timeout is Currencycloud's own, 30 minutes).
fn session() -> Session<Currencycloud> {
    session_of(Currencycloud::default(), Config::default())
}

/// The monotonic clock of the test, in milliseconds since it started.
fn clock() -> impl FnMut() -> Instant {
    let started = std::time::Instant::now();
    move || Instant::from_millis(u64::try_from(started.elapsed().as_millis()).unwrap())
}

/// `GET path` through `driver` with a device's buffers: the verdict and
/// the status. The driver's errors fail the test.
async fn get<C, E, const N: usize>(
    driver: &mut AsyncDriver<'_, C, E, N>,
    session: &mut Session<Currencycloud>,
    path: &str,
    now: &mut impl FnMut() -> Instant,
) -> (Verdict, u16)
where
    C: AsyncConnector,
    C::Error: Display,
    E: FnMut(Event<'_>),
{
    let mut buf = [0u8; RESPONSE_BUFFER];
    let mut headers = [EMPTY_HEADER; RESPONSE_HEADERS];
    let call = Call::new(Level::User, Method::Get, path);
    match driver
        .call(session, &call, &mut buf, &mut headers, now)
        .await
    {
        Ok((verdict, response)) => (verdict, response.status()),
        Err(error) => panic!("GET {path}: {error}"),
    }
}

/// The sandbox's counters, with `accept_failures` (the host's business,
/// not the driver's) left out of the comparison.
fn counters(sandbox: &Sandbox) -> Counters {
    Counters {
        accept_failures: 0,
        ..sandbox.counters()
    }
}

#[tokio::test]
async fn a_session_logs_in_once_for_its_calls_and_logs_out() {
    bounded(async {
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let events = RefCell::new(Vec::new());
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host))
            .with_header_capacity::<RESPONSE_HEADERS>()
            .on_event(|event| events.borrow_mut().push(format!("{event:?}")));
        let mut session = session();
        let mut now = clock();

        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(
            get(&mut driver, &mut session, BALANCES, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(events.borrow().as_slice(), ["LoggedIn { generation: 1 }"]);
        assert_eq!(
            counters(&sandbox),
            Counters {
                logins: 1,
                calls: 2,
                ..Counters::default()
            }
        );

        session.logout(now());
        let mut buf = [0u8; RESPONSE_BUFFER];
        assert_eq!(
            driver
                .drive(&mut session, &mut buf, &mut now)
                .await
                .unwrap(),
            1
        );

        assert_eq!(session.state(), SessionState::LoggedOut);
        assert_eq!(events.borrow().last().unwrap(), "LoggedOut");
        assert_eq!(counters(&sandbox).logouts, 1);
    })
    .await;
}

#[tokio::test]
async fn the_login_answer_is_wiped_from_the_buffer() {
    bounded(async {
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host));
        let mut session = session();
        let mut now = clock();
        let mut buf = [0u8; RESPONSE_BUFFER];
        session.login(now());

        assert_eq!(
            driver
                .drive(&mut session, &mut buf, &mut now)
                .await
                .unwrap(),
            1
        );

        assert_eq!(session.state(), SessionState::Active);
        assert_eq!(counters(&sandbox).logins, 1);
        assert!(buf.iter().all(|&byte| byte == 0));
    })
    .await;
}

#[tokio::test]
async fn a_token_the_session_knows_has_idled_out_is_replaced_before_it_is_sent() {
    bounded(async {
        // The session treats a token as lapsed 300 ms after the last call
        // (a 600 ms idle timeout less a 300 ms margin), the sandbox only
        // after 600 ms: past 400 ms, the session's own timer expires the
        // token, and the server never sees it again.
        let sandbox = Sandbox::start(SandboxConfig {
            idle_timeout: millis(600),
            ..SandboxConfig::for_tests()
        })
        .unwrap();
        let host = sandbox.addr().to_string();
        let events = RefCell::new(Vec::new());
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host))
            .on_event(|event| events.borrow_mut().push(format!("{event:?}")));
        let config = Config {
            expiry_margin: millis(300),
            ..Config::default()
        };
        let mut session = session_of(Currencycloud::with_idle_timeout(millis(600)), config);
        let mut now = clock();
        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );

        tokio::time::sleep(millis(400)).await;
        let mut buf = [0u8; RESPONSE_BUFFER];
        let next_timer = driver.tick(&mut session, &mut buf, &mut now).await.unwrap();

        assert_eq!(next_timer, None);
        assert!(matches!(session.state(), SessionState::Expired { .. }));
        let expired = format!(
            "{:?}",
            Event::Expired {
                why: ExpiryReason::Idle
            }
        );
        assert_eq!(events.borrow().last(), Some(&expired));

        assert_eq!(
            get(&mut driver, &mut session, BALANCES, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(session.generation(), 2);
        assert_eq!(
            counters(&sandbox),
            Counters {
                logins: 2,
                calls: 2,
                ..Counters::default()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_the_server_idled_out_means_one_login_and_the_call_replayed() {
    bounded(async {
        // The session believes tokens live 30 minutes; the sandbox kills
        // them after 300 ms, so only the server's 401 tells the session.
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host));
        let mut session = session();
        let mut now = clock();
        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );

        tokio::time::sleep(millis(450)).await;

        assert_eq!(
            get(&mut driver, &mut session, BALANCES, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(session.generation(), 2);
        assert_eq!(
            counters(&sandbox),
            Counters {
                logins: 2,
                unauthorized: 1,
                calls: 2,
                ..Counters::default()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_token_means_one_login_and_the_call_replayed_once() {
    bounded(async {
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host));
        let mut session = session();
        let mut now = clock();
        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );

        // The next request, the call with the first token, gets a 401.
        sandbox.inject(Fault::Status(401), 1);

        assert_eq!(
            get(&mut driver, &mut session, BALANCES, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(session.generation(), 2);
        assert_eq!(
            counters(&sandbox),
            Counters {
                logins: 2,
                calls: 2,
                faults: 1,
                ..Counters::default()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_call_refused_again_after_the_new_login_is_handed_back() {
    bounded(async {
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host));
        let mut session = session();
        let mut now = clock();
        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );

        // The call gets a 401, the login goes through untouched (a zero
        // delay is no fault at all), and the replayed call gets a 401 again.
        sandbox.inject(Fault::Status(401), 1);
        sandbox.inject(Fault::Delay(Duration::ZERO), 1);
        sandbox.inject(Fault::Status(401), 1);

        assert_eq!(
            get(&mut driver, &mut session, BALANCES, &mut now).await,
            (Verdict::Replay, 401)
        );
        assert_eq!(
            counters(&sandbox),
            Counters {
                logins: 2,
                calls: 1,
                faults: 3,
                ..Counters::default()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_login_answer_cut_off_by_a_dropped_drive_is_wiped() {
    bounded(async {
        // A server on loopback that sends the head and half the body of a
        // login answer, the token among it, and then nothing more.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await.unwrap();
            let half = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n{{\"auth_token\":\"{TOKEN}\""
            );
            stream.write_all(half.as_bytes()).await.unwrap();
            // Hold the connection open until the test is over.
            tokio::time::sleep(TEST_LIMIT).await;
        });
        let mut driver = AsyncDriver::new(connector(addr), Endpoint::new("h"));
        let mut session = session();
        let mut now = clock();
        let mut buf = [0u8; RESPONSE_BUFFER];
        session.login(now());

        let drive = driver.drive(&mut session, &mut buf, &mut now);
        let cut_off = tokio::time::timeout(millis(300), drive).await;

        assert!(cut_off.is_err(), "{cut_off:?}");
        assert!(buf.iter().all(|&byte| byte == 0));
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn a_login_whose_drive_was_dropped_is_reported_failed_and_sent_again() {
    bounded(async {
        let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
        let host = sandbox.addr().to_string();
        let mut driver = AsyncDriver::new(connector(sandbox.addr()), Endpoint::new(&host));
        let config = Config {
            backoff_base: millis(100),
            ..Config::default()
        };
        let mut session = session_of(Currencycloud::default(), config);
        let mut now = clock();
        let mut buf = [0u8; RESPONSE_BUFFER];
        // The login is answered only after the drive sending it was dropped.
        sandbox.inject(Fault::Delay(Duration::from_secs(2)), 1);
        session.login(now());

        let drive = driver.drive(&mut session, &mut buf, &mut now);
        assert!(tokio::time::timeout(millis(300), drive).await.is_err());
        assert!(matches!(session.state(), SessionState::LoggingIn { .. }));

        // The next call reports the login failed: the session backs off
        // instead of waiting for the answer nobody reads.
        let call = Call::new(Level::User, Method::Get, ACCOUNT);
        let mut headers = [EMPTY_HEADER; RESPONSE_HEADERS];
        let refused = driver
            .call(&mut session, &call, &mut buf, &mut headers, &mut now)
            .await
            .map(|(verdict, response)| (verdict, response.status()));
        let Err(DriverError::NotReady(NotReady::Backoff { until })) = refused else {
            panic!("{refused:?}");
        };

        // After the backoff, the login goes again and the call with it.
        let wait = until.saturating_duration_since(now());
        tokio::time::sleep(wait + millis(10)).await;
        assert_eq!(
            get(&mut driver, &mut session, ACCOUNT, &mut now).await,
            (Verdict::Ok, 200)
        );
        assert_eq!(session.generation(), 1);
        let seen = counters(&sandbox);
        assert_eq!((seen.calls, seen.faults), (1, 1));
        // The delayed login may have been answered by now, to nobody.
        assert!((1..=2).contains(&seen.logins), "{seen:?}");
    })
    .await;
}

#[test]
fn the_readmes_embassy_example_is_the_drivers_doctest() {
    // The README is not compiled; the doctest of `AsyncDriver` is.
    let source = include_str!("../../core/src/wire/async_driver.rs");
    let docs: String = source
        .lines()
        .filter_map(|line| line.strip_prefix("///"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .fold(String::new(), |docs, line| docs + line + "\n");
    let readme = include_str!("../../README.md");
    let (_, section) = readme
        .split_once("## Embassy / embedded-io-async")
        .expect("the README's Embassy section");
    let (_, example) = section
        .split_once("```rust,ignore\n")
        .expect("a code block in the README's Embassy section");
    let (example, _) = example.split_once("```").expect("the block's end");

    assert!(example.contains("AsyncDriver::new"), "{example}");
    assert!(
        docs.contains(&format!("```\n{example}```\n")),
        "the README's Embassy example differs from AsyncDriver's doctest:\n{example}"
    );
}
