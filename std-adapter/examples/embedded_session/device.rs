//! What a device does, written against nothing but `authsession-core` and
//! its `wire` module: a Currencycloud session over a byte stream with
//! fixed buffers. Here the stream is std's `TcpStream` behind
//! `embedded-io-adapters`; on a device it is the board's TCP or TLS socket.
//! Shared by the `embedded_session` example and the test that runs it.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::{Call, Driver, Endpoint, httparse};
use authsession_core::{Instant, Level, Method, Response, Session, SessionState, Verdict};
use embedded_io_adapters::std::FromStd;

/// The response buffer: the largest Currencycloud answer of this session
/// (head and body) with room to spare. Measured against the sandbox, the
/// largest is the account's, about 0.9 KiB; the real API adds headers of
/// its own (cookies, tracing), hence twice that.
pub const RESPONSE_BUFFER: usize = 2048;
/// The headers one response may have.
pub const RESPONSE_HEADERS: usize = 24;

/// How long a connection may take to open, and each read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What the session did.
#[derive(Debug)]
pub struct Report {
    /// The session's events, in order.
    pub events: Vec<String>,
    /// The status of `GET /v2/accounts/current`.
    pub status: u16,
    /// What the session made of that answer.
    pub verdict: Verdict,
    /// The account, as the API sent it.
    pub account: String,
    /// The session's state after the logout.
    pub final_state: SessionState,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in &self.events {
            writeln!(f, "event: {event}")?;
        }
        writeln!(
            f,
            "GET /v2/accounts/current: HTTP {} ({:?}), {} bytes: {}",
            self.status,
            self.verdict,
            self.account.len(),
            self.account
        )?;
        write!(f, "session after logout: {:?}", self.final_state)
    }
}

/// Logs in to the Currencycloud at `base_url` (reached at `addr`), reads
/// the current account, and logs out.
pub fn run(
    addr: SocketAddr,
    base_url: &str,
    login_id: &str,
    api_key: &str,
) -> Result<Report, Box<dyn Error>> {
    // A device keeps these in static memory or on its stack: nothing here
    // grows.
    let mut buf = [0u8; RESPONSE_BUFFER];
    let mut headers = [httparse::EMPTY_HEADER; RESPONSE_HEADERS];

    let (host, base_path) = split_base_url(base_url)?;
    let credentials = CurrencycloudCredentials::new(login_id, api_key)?;
    let mut session = Session::new(Currencycloud::default(), credentials);

    // The device's monotonic clock, in milliseconds.
    let started = std::time::Instant::now();
    let mut now = || {
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(millis)
    };

    // A fresh connection for each request; on a device, open the socket
    // (and the TLS session over it) here.
    let connect = move || -> io::Result<FromStd<TcpStream>> {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(FromStd::new(stream))
    };

    let mut events = Vec::new();
    let endpoint = Endpoint::new(host).with_base_path(base_path);
    let mut driver = Driver::new(connect, endpoint)
        .with_header_capacity::<RESPONSE_HEADERS>()
        .on_event(|event| events.push(format!("{event:?}")));

    // The call logs in first: the session has no token yet.
    let account = Call::new(Level::User, Method::Get, "/v2/accounts/current")
        .with_headers(&[("Accept", "application/json")]);
    let (verdict, response) =
        driver.call(&mut session, &account, &mut buf, &mut headers, &mut now)?;
    let status = response.status();
    let account = String::from_utf8_lossy(response.body()).into_owned();

    session.logout(now());
    driver.drive(&mut session, &mut buf, &mut now)?;

    Ok(Report {
        events,
        status,
        verdict,
        account,
        final_state: session.state(),
    })
}

/// `http://host:port/base` as the host and the base path (empty or
/// starting with `/`). TLS (`https`) is the device's stack's business:
/// the connector would open it.
fn split_base_url(base_url: &str) -> Result<(&str, &str), Box<dyn Error>> {
    let rest = base_url
        .strip_prefix("http://")
        .ok_or("only http:// base URLs here: a TLS connector would take https://")?;
    Ok(rest.find('/').map_or((rest, ""), |at| rest.split_at(at)))
}
