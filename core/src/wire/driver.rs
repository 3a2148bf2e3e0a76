//! The common case on a device, done once: open a connection to the API
//! for each request, write it, read the answer, feed it to the session,
//! and drain the session's outputs by its one rule. Generic over the
//! [`Provider`], so one driver serves every API.
//!
//! Each request goes on a fresh connection with `Connection: close`: no
//! state lives between requests but the session's own, an answer can
//! always end at the end of the stream, and a connection the server
//! dropped while idle is never reused.

use core::fmt;

use embedded_io::{Read, Write};
use httparse::Header;
use zeroize::Zeroize;

use super::WireError;
use super::blocking::{read_response, write_request};
use super::read::WireResponse;
use super::write::WireRequest;
use crate::call_rounds::{CallRounds, NextRound};
use crate::event::Event;
use crate::grant::{Level, NotReady, Verdict};
use crate::provider::Provider;
use crate::session::Session;
use crate::time::Instant;
use crate::transmit::{Headers, Method, RequestId, Transmit};

/// The headers the driver can parse in a response of the session's own
/// requests (login, logout) and of an application call before handing it
/// over. Each takes 16 bytes of stack on a 32-bit device.
pub const DEFAULT_HEADER_CAPACITY: usize = 32;

/// How many times [`Driver::call`] asks the session for a grant before it
/// gives up: a login, the call, a re-login after a refused token and the
/// call again.
pub const DEFAULT_MAX_ROUNDS: usize = 4;

/// The most requests one [`Driver::drive`] sends: a Weavr login is three,
/// and whatever the session queues after a failure waits for the next
/// drive.
pub(super) const MAX_EXCHANGES: usize = 8;

/// Opens a connection to the API's host: a TCP socket, or a TLS session
/// over one. A closure `FnMut() -> Result<S, E>` is a connector.
pub trait Connector {
    /// The connection: anything that reads and writes bytes.
    type Stream: Read + Write;
    /// Why a connection could not be opened.
    type Error;

    /// Opens a new connection.
    fn connect(&mut self) -> Result<Self::Stream, Self::Error>;
}

impl<F, S, E> Connector for F
where
    F: FnMut() -> Result<S, E>,
    S: Read + Write,
{
    type Stream = S;
    type Error = E;

    fn connect(&mut self) -> Result<S, E> {
        self()
    }
}

/// Where the API is: the `Host` header and the base URL's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The host, with `:port` when it is not the scheme's default.
    pub host: &'a str,
    /// The base URL's path, written before every request's path: empty
    /// for Currencycloud, `/multi` for Weavr.
    pub base_path: &'a str,
}

impl<'a> Endpoint<'a> {
    /// An endpoint whose paths start at the root.
    pub const fn new(host: &'a str) -> Self {
        Endpoint {
            host,
            base_path: "",
        }
    }

    /// The same endpoint under `base_path`.
    #[must_use]
    pub const fn with_base_path(self, base_path: &'a str) -> Self {
        Endpoint { base_path, ..self }
    }

    /// What to write for one of the session's own requests (its headers
    /// go beside it): on a connection of its own, closed after the answer.
    pub(super) fn session_request<'t>(&self, transmit: &Transmit<'t>) -> WireRequest<'t>
    where
        'a: 't,
    {
        WireRequest {
            host: self.host,
            method: transmit.method,
            base_path: self.base_path,
            path: transmit.path,
            extra_headers: &[],
            body: transmit.body,
            close: true,
        }
    }

    /// What to write for an application call (the grant's headers go
    /// beside it), likewise closed after the answer.
    pub(super) fn call_request<'t>(&self, call: &Call<'t>) -> WireRequest<'t>
    where
        'a: 't,
    {
        WireRequest {
            host: self.host,
            method: call.method,
            base_path: self.base_path,
            path: call.path,
            extra_headers: call.headers,
            body: call.body,
            close: true,
        }
    }
}

/// One application call: what it needs and what to send. The session adds
/// its headers (the token) to `headers`.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// What the call needs.
    pub level: Level,
    /// The method.
    pub method: Method,
    /// The path and query under the endpoint's base path.
    pub path: &'a str,
    /// The caller's headers (`Content-Type` for a body).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Call<'a> {
    /// A call without headers or body.
    pub const fn new(level: Level, method: Method, path: &'a str) -> Self {
        Call {
            level,
            method,
            path,
            headers: &[],
            body: &[],
        }
    }

    /// The same call with the caller's headers.
    #[must_use]
    pub const fn with_headers(self, headers: &'a [(&'a str, &'a str)]) -> Self {
        Call { headers, ..self }
    }

    /// The same call with a body.
    #[must_use]
    pub const fn with_body(self, body: &'a [u8]) -> Self {
        Call { body, ..self }
    }
}

impl fmt::Debug for Call<'_> {
    /// Leaves out the header values and the body: either may hold a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("level", &self.level)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why the driver could not finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverError<E> {
    /// The connector could not open a connection.
    Connect(E),
    /// A request could not be written or its answer read. For the
    /// session's own requests the session was told (it backs off and
    /// retries by itself); ask again later.
    Wire(WireError),
    /// The session cannot authorize the call now, and the driver cannot
    /// change that by itself: wait out a backoff, step up, new credentials
    /// after a rejection ([`Session::last_error`] says why).
    NotReady(NotReady),
    /// The call was not answered within the driver's rounds (a login, the
    /// call, a re-login, the call again).
    TooManyRounds,
}

impl<E> From<WireError> for DriverError<E> {
    fn from(error: WireError) -> Self {
        DriverError::Wire(error)
    }
}

impl<E: fmt::Display> fmt::Display for DriverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Connect(error) => write!(f, "could not connect: {error}"),
            DriverError::Wire(error) => fmt::Display::fmt(error, f),
            DriverError::NotReady(why) => write!(f, "the session is not ready: {why:?}"),
            DriverError::TooManyRounds => {
                f.write_str("the call did not get through in the rounds allowed")
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for DriverError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            DriverError::Connect(error) => Some(error),
            DriverError::Wire(error) => Some(error),
            _ => None,
        }
    }
}

/// Drops an event: the default of a driver whose caller does not listen.
pub(super) fn discard(_: Event<'_>) {}

/// Runs a [`Session`] over connections from a [`Connector`].
///
/// `HEADERS` is the size of the header array the driver parses every
/// response into on the stack ([`DEFAULT_HEADER_CAPACITY`]); `E` receives
/// the session's events.
///
/// Every method takes the response buffer (`buf`) and a clock (`now`,
/// the caller's monotonic milliseconds), so the driver itself holds no
/// memory but the connector. The buffer is wiped after each answer to the
/// session's own requests: a login answer holds the token.
///
/// Works for every provider. Currencycloud needs nothing more. For Weavr,
/// give the endpoint the base path `/multi`; a call at
/// [`Level::SteppedUp`] that gets [`DriverError::NotReady`] with
/// [`NotReady::StepUpRequired`] (or the verdict [`Verdict::StepUp`]) is
/// stepped up by [`Session::start_step_up`], a [`drive`](Self::drive),
/// [`Session::submit_code`] and another `drive`. An access-key API has no
/// login: its calls go at once.
pub struct Driver<'a, C, E = fn(Event<'_>), const HEADERS: usize = DEFAULT_HEADER_CAPACITY> {
    connector: C,
    endpoint: Endpoint<'a>,
    on_event: E,
    max_rounds: usize,
}

impl<C, E, const HEADERS: usize> fmt::Debug for Driver<'_, C, E, HEADERS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("endpoint", &self.endpoint)
            .field("headers", &HEADERS)
            .field("max_rounds", &self.max_rounds)
            .finish_non_exhaustive()
    }
}

impl<'a, C: Connector> Driver<'a, C> {
    /// A driver that connects with `connector` to `endpoint` and drops the
    /// session's events.
    pub fn new(connector: C, endpoint: Endpoint<'a>) -> Self {
        Driver {
            connector,
            endpoint,
            on_event: discard,
            max_rounds: DEFAULT_MAX_ROUNDS,
        }
    }
}

impl<'a, C, E, const HEADERS: usize> Driver<'a, C, E, HEADERS>
where
    C: Connector,
    E: FnMut(Event<'_>),
{
    /// The same driver handing every event of the session to `on_event`.
    pub fn on_event<F: FnMut(Event<'_>)>(self, on_event: F) -> Driver<'a, C, F, HEADERS> {
        Driver {
            connector: self.connector,
            endpoint: self.endpoint,
            on_event,
            max_rounds: self.max_rounds,
        }
    }

    /// The same driver parsing responses into `N` headers.
    pub fn with_header_capacity<const N: usize>(self) -> Driver<'a, C, E, N> {
        Driver {
            connector: self.connector,
            endpoint: self.endpoint,
            on_event: self.on_event,
            max_rounds: self.max_rounds,
        }
    }

    /// The same driver asking the session for a grant at most `rounds`
    /// times per call.
    #[must_use]
    pub fn with_max_rounds(self, rounds: usize) -> Self {
        Driver {
            max_rounds: rounds,
            ..self
        }
    }

    /// The connector.
    pub fn connector_mut(&mut self) -> &mut C {
        &mut self.connector
    }

    /// Sends what the session queued (a login and its steps, a step-up, a
    /// logout), each on its own connection, and feeds the answers back,
    /// draining the events after every input. A request that gets no
    /// answer is reported with [`Session::handle_failure`]: the session
    /// backs off by itself.
    ///
    /// Returns how many requests were sent, or the first error that one
    /// of them met (the others were still sent and answered).
    pub fn drive<P: Provider>(
        &mut self,
        session: &mut Session<P>,
        buf: &mut [u8],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<usize, DriverError<C::Error>> {
        self.drain_events(session);
        let mut sent = 0;
        let mut first_error = None;
        while sent < MAX_EXCHANGES {
            let Some(transmit) = session.poll_transmit() else {
                break;
            };
            sent += 1;
            let id = transmit.id;
            let request = self.endpoint.session_request(&transmit);
            let answered =
                self.open_and_send(&request, &transmit.headers)
                    .and_then(|mut stream| {
                        let mut slots = [httparse::EMPTY_HEADER; HEADERS];
                        let response = read_response(&mut stream, &mut *buf, &mut slots)?;
                        session.handle_response(id, &response, now());
                        Ok(response.layout().used())
                    });
            if let Some(error) = settle(session, id, answered, buf, now) {
                first_error.get_or_insert(error);
            }
            self.drain_events(session);
        }
        first_error.map_or(Ok(sent), Err)
    }

    /// Lets time pass: when the session's timer is due, hands it the time
    /// and sends what it queued (a refresh login, say). Returns when to
    /// call again.
    pub fn tick<P: Provider>(
        &mut self,
        session: &mut Session<P>,
        buf: &mut [u8],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<Option<Instant>, DriverError<C::Error>> {
        let at = now();
        if session.poll_timeout().is_some_and(|due| due <= at) {
            session.handle_timeout(at);
        }
        self.drive(session, buf, now)?;
        Ok(session.poll_timeout())
    }

    /// Performs one application call with the session's grant: logs in
    /// first when needed, sends the call with the session's headers and
    /// the caller's, reads the answer into `buf` and `headers`, and hands
    /// it to [`Session::handle_reply`]. A call whose token was refused is
    /// sent once more after the new login; refused again, it is returned
    /// with [`Verdict::Replay`].
    ///
    /// Returns the session's verdict and the response (in `buf`). A
    /// response with more headers than `headers` holds (or than the
    /// driver's `HEADERS`) is [`WireError::TooManyHeaders`]. Declare
    /// `headers` next to each call: its type holds the borrow of `buf`.
    ///
    /// A transport failure of the call itself is returned as it is: the
    /// session has nothing to learn from it, and whether the call may be
    /// sent again is the caller's to judge.
    pub fn call<'b, 'h, P: Provider>(
        &mut self,
        session: &mut Session<P>,
        call: &Call<'_>,
        buf: &'b mut [u8],
        headers: &'h mut [Header<'b>],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<(Verdict, WireResponse<'h>), DriverError<C::Error>> {
        // Anything queued before this call (a refresh, a logout) goes first.
        self.drive(session, buf, now)?;
        // The driver cannot step up by itself: the caller does.
        let mut rounds = CallRounds::new(false);
        for _ in 0..self.max_rounds {
            let grant = match session.authorize(call.level, now()) {
                Ok(grant) => grant,
                Err(NotReady::LoggingIn | NotReady::LoggingOut) => {
                    // The session queued (or has in flight) what it needs.
                    self.drive(session, buf, now)?;
                    continue;
                }
                Err(other) => {
                    self.drain_events(session);
                    return Err(DriverError::NotReady(other));
                }
            };
            let ticket = grant.ticket;
            let request = self.endpoint.call_request(call);
            let mut stream = self.open_and_send(&request, &grant.headers)?;
            let (verdict, layout) = {
                let mut slots = [httparse::EMPTY_HEADER; HEADERS];
                let response = read_response(&mut stream, &mut *buf, &mut slots)?;
                (
                    session.handle_reply(ticket, &response, now()),
                    response.layout(),
                )
            };
            drop(stream);
            self.drain_events(session);
            if rounds.after(&verdict) == NextRound::Replay {
                continue;
            }
            // Read with the driver's header array, handed over in the
            // caller's: the first borrow of `buf` had to end before the
            // loop could go round again.
            let response = WireResponse::reparse(buf, layout, headers)?;
            return Ok((verdict, response));
        }
        Err(DriverError::TooManyRounds)
    }

    fn open_and_send(
        &mut self,
        request: &WireRequest<'_>,
        headers: &Headers<'_>,
    ) -> Result<C::Stream, DriverError<C::Error>> {
        let mut stream = self.connector.connect().map_err(DriverError::Connect)?;
        write_request(&mut stream, request, headers)?;
        Ok(stream)
    }

    fn drain_events<P: Provider>(&mut self, session: &mut Session<P>) {
        drain_events(session, &mut self.on_event);
    }
}

/// Hands every event the session has to `on_event`.
pub(super) fn drain_events<P: Provider>(
    session: &mut Session<P>,
    on_event: &mut impl FnMut(Event<'_>),
) {
    while let Some(event) = session.poll_event() {
        on_event(event);
    }
}

/// After one of the session's own requests: wipes what its answer left in
/// `buf` (`used` bytes of it, or all of it when there was no answer: a
/// login answer holds the token) and tells the session when it got none.
/// Gives back the error, if there was one.
pub(super) fn settle<P: Provider, E>(
    session: &mut Session<P>,
    id: RequestId,
    answered: Result<usize, DriverError<E>>,
    buf: &mut [u8],
    now: &mut impl FnMut() -> Instant,
) -> Option<DriverError<E>> {
    match answered {
        Ok(used) => {
            wipe(buf, used);
            None
        }
        Err(error) => {
            // Whatever the answer held, it is no use now.
            buf.zeroize();
            session.handle_failure(id, now());
            Some(error)
        }
    }
}

/// Wipes the first `used` bytes of `buf`.
fn wipe(buf: &mut [u8], used: usize) {
    match buf.get_mut(..used) {
        Some(used) => used.zeroize(),
        None => buf.zeroize(),
    }
}
