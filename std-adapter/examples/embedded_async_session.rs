//! A Currencycloud session as an Embassy device would run it, on the host:
//! the core's async `wire` driver over a byte stream (tokio's `TcpStream`
//! behind `embedded-io-adapters`) on a single-threaded executor, with
//! fixed buffers and no HTTP client, against the local sandbox. It logs
//! in, reads the current account and the balances, and logs out.
//!
//! ```sh
//! cargo run -p authsession-std --example embedded_async_session
//! ```
//!
//! On a device, only the connector changes: it opens an
//! `embassy_net::tcp::TcpSocket` (and a TLS session over it) on buffers it
//! keeps and lends to each connection (`type Stream<'s> = TcpSocket<'s>`).

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::{AsyncConnector, AsyncDriver, Call, Endpoint, httparse};
use authsession_core::{Instant, Level, Method, Response, Session, SessionState, Verdict};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use embedded_io_adapters::tokio_1::FromTokio;
use tokio::net::TcpStream;

/// The response buffer and its headers: what the blocking
/// `embedded_session` example gives a device (the largest answer of this
/// session, about 0.9 KiB, with room for the real API's extra headers).
const RESPONSE_BUFFER: usize = 2048;
const RESPONSE_HEADERS: usize = 24;

/// What one call answered.
struct Answer {
    path: &'static str,
    status: u16,
    verdict: Verdict,
    body: String,
}

/// What the session did.
struct Report {
    events: Vec<String>,
    answers: Vec<Answer>,
    final_state: SessionState,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in &self.events {
            writeln!(f, "event: {event}")?;
        }
        for answer in &self.answers {
            writeln!(
                f,
                "GET {}: HTTP {} ({:?}), {} bytes: {}",
                answer.path,
                answer.status,
                answer.verdict,
                answer.body.len(),
                answer.body
            )?;
        }
        write!(f, "session after logout: {:?}", self.final_state)
    }
}

// One thread, as on a device: the driver's futures need not be `Send`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::start(SandboxConfig::default())?;
    println!("sandbox at {}", sandbox.currencycloud_url());
    let report = run(
        sandbox.addr(),
        CURRENCYCLOUD_LOGIN_ID,
        CURRENCYCLOUD_API_KEY,
    )
    .await?;
    println!("{report}");
    println!("buffers: {RESPONSE_BUFFER} bytes for a response, {RESPONSE_HEADERS} headers");
    Ok(())
}

/// A fresh connection for each request, as the driver wants. A closure
/// that returns a future of the connection is a connector; on a device,
/// open the socket and the TLS session here.
fn connector(addr: SocketAddr) -> impl AsyncConnector<Error = io::Error> {
    move || async move {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(FromTokio::new(stream))
    }
}

/// Logs in to the sandbox's Currencycloud at `addr`, reads two resources
/// and logs out.
async fn run(addr: SocketAddr, login_id: &str, api_key: &str) -> Result<Report, Box<dyn Error>> {
    // A device keeps these in its task's memory: nothing here grows.
    let mut buf = [0u8; RESPONSE_BUFFER];

    let credentials = CurrencycloudCredentials::new(login_id, api_key)?;
    let mut session = Session::new(Currencycloud::default(), credentials);

    // The device's monotonic clock, in milliseconds.
    let started = std::time::Instant::now();
    let mut now = || {
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(millis)
    };

    let host = addr.to_string();
    let mut events = Vec::new();
    let mut driver = AsyncDriver::new(connector(addr), Endpoint::new(&host))
        .with_header_capacity::<RESPONSE_HEADERS>()
        .on_event(|event| events.push(format!("{event:?}")));

    // The first call logs in: the session has no token yet. The second
    // goes with the same token.
    let mut answers = Vec::new();
    for path in ["/v2/accounts/current", "/v2/balances/find"] {
        let call = Call::new(Level::User, Method::Get, path)
            .with_headers(&[("Accept", "application/json")]);
        // The header array is declared for each call: its type holds the
        // borrow of `buf`.
        let mut headers = [httparse::EMPTY_HEADER; RESPONSE_HEADERS];
        let (verdict, response) = driver
            .call(&mut session, &call, &mut buf, &mut headers, &mut now)
            .await?;
        answers.push(Answer {
            path,
            status: response.status(),
            verdict,
            body: String::from_utf8_lossy(response.body()).into_owned(),
        });
    }

    session.logout(now());
    driver.drive(&mut session, &mut buf, &mut now).await?;
    drop(driver);

    Ok(Report {
        events,
        answers,
        final_state: session.state(),
    })
}
