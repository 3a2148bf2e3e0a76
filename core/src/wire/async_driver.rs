//! The async twin of [`Driver`](super::Driver), for Embassy and any other
//! executor: the same requests on the same fresh connections, the same
//! codec, the same call policy ([`CallRounds`]) and the same wiping, over
//! `embedded_io_async` streams from an [`AsyncConnector`].
//!
//! Only the loops differ from the blocking driver, by their `.await`s;
//! what goes into a request, what an answer does to the session and when a
//! call goes again are the shared code of `driver.rs` and the crate.

use core::fmt;
use core::future::Future;

use embedded_io_async::{Read, Write};
use httparse::Header;
use zeroize::Zeroize;

use super::asynch::{read_response_async, write_request_async};
use super::driver::{
    Call, DEFAULT_HEADER_CAPACITY, DEFAULT_MAX_ROUNDS, DriverError, Endpoint, MAX_EXCHANGES,
    discard, drain_events, settle,
};
use super::read::WireResponse;
use super::write::WireRequest;
use crate::call_rounds::{CallRounds, NextRound};
use crate::event::Event;
use crate::grant::{NotReady, Verdict};
use crate::provider::Provider;
use crate::session::Session;
use crate::time::Instant;
use crate::transmit::{Headers, RequestId};

/// Opens a connection to the API's host, without blocking: a TCP socket,
/// or a TLS session over one. A closure that returns a future of the
/// connection (`move || async move { ... }`, any `FnMut() -> impl
/// Future<Output = Result<S, E>>`) is a connector.
///
/// A connection may borrow the connector (`Stream<'s>`), so that a device
/// keeps one pair of socket buffers (and TLS record buffers) in the
/// connector and lends them to each connection in turn: the driver opens
/// one connection at a time and drops it before the next.
///
/// Implement it with `async fn connect(&mut self) -> Result<..., ...>`.
/// The trait spells out the future rather than being an `async fn` itself
/// only so that the compiler does not warn that its futures are not known
/// to be `Send`; an embedded executor has no use for `Send`.
pub trait AsyncConnector {
    /// The connection: anything that reads and writes bytes, asynchronously.
    type Stream<'s>: Read + Write
    where
        Self: 's;
    /// Why a connection could not be opened.
    type Error;

    /// Opens a new connection.
    fn connect(&mut self) -> impl Future<Output = Result<Self::Stream<'_>, Self::Error>>;
}

impl<F, Fut, S, E> AsyncConnector for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, E>>,
    S: Read + Write,
{
    type Stream<'s>
        = S
    where
        Self: 's;
    type Error = E;

    fn connect(&mut self) -> impl Future<Output = Result<S, E>> {
        self()
    }
}

/// Runs a [`Session`] over connections from an [`AsyncConnector`]: the
/// async twin of [`Driver`](super::Driver), with the same methods, the same
/// defaults and the same errors.
///
/// `HEADERS` is the size of the header array the driver parses every
/// response into ([`DEFAULT_HEADER_CAPACITY`]); `E` receives the session's
/// events. Every method takes the response buffer (`buf`) and a clock
/// (`now`, the caller's monotonic milliseconds), so the driver itself holds
/// no memory but the connector. The buffer is wiped after each answer to
/// the session's own requests: a login answer holds the token.
///
/// A future of the driver may be dropped before it is done (a timeout
/// around it, say). If it was sending one of the session's own requests,
/// what it had read of the answer is wiped from `buf` as it is dropped,
/// and the next [`drive`](Self::drive), [`tick`](Self::tick) or
/// [`call`](Self::call) reports the request to the session as failed (it
/// backs off and sends it again), so that the session does not wait for
/// an answer nobody reads.
///
/// A device's task, on any executor (on Embassy, the connector opens an
/// `embassy_net::tcp::TcpSocket`, and a TLS session over it):
///
/// ```
/// use authsession_core::providers::Currencycloud;
/// use authsession_core::wire::{AsyncConnector, AsyncDriver, Call, DriverError, Endpoint, httparse};
/// use authsession_core::{Instant, Level, Method, Response, Session, Verdict};
///
/// /// Reads the current account (logging in first: the session has no
/// /// token yet), then logs out. Gives the verdict, the status and the
/// /// account's length.
/// async fn read_account<C: AsyncConnector>(
///     connector: C,
///     session: &mut Session<Currencycloud>,
///     now: &mut impl FnMut() -> Instant,
/// ) -> Result<(Verdict, u16, usize), DriverError<C::Error>> {
///     // One response at a time, head and body; nothing here grows.
///     let mut buf = [0u8; 2048];
///     let mut driver = AsyncDriver::new(connector, Endpoint::new("devapi.currencycloud.com"))
///         .with_header_capacity::<24>();
///
///     let call = Call::new(Level::User, Method::Get, "/v2/accounts/current")
///         .with_headers(&[("Accept", "application/json")]);
///     // Declared for each call: its type holds the borrow of `buf`.
///     let mut headers = [httparse::EMPTY_HEADER; 24];
///     let (verdict, response) = driver.call(session, &call, &mut buf, &mut headers, now).await?;
///     // The body is in `buf`: parse it (serde-json-core, say) before the
///     // next request. `Verdict::Replay` is a call refused again after a
///     // new login.
///     let account = (verdict, response.status(), response.body().len());
///
///     session.logout(now());
///     driver.drive(session, &mut buf, now).await?;
///     Ok(account)
/// }
/// ```
pub struct AsyncDriver<'a, C, E = fn(Event<'_>), const HEADERS: usize = DEFAULT_HEADER_CAPACITY> {
    connector: C,
    endpoint: Endpoint<'a>,
    on_event: E,
    max_rounds: usize,
    /// The session's own request being sent and not yet settled: still
    /// set when its future was dropped, for the next drive to report.
    abandoned: Option<RequestId>,
}

impl<C, E, const HEADERS: usize> fmt::Debug for AsyncDriver<'_, C, E, HEADERS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncDriver")
            .field("endpoint", &self.endpoint)
            .field("headers", &HEADERS)
            .field("max_rounds", &self.max_rounds)
            .field("abandoned", &self.abandoned)
            .finish_non_exhaustive()
    }
}

impl<'a, C: AsyncConnector> AsyncDriver<'a, C> {
    /// A driver that connects with `connector` to `endpoint` and drops the
    /// session's events.
    pub fn new(connector: C, endpoint: Endpoint<'a>) -> Self {
        AsyncDriver {
            connector,
            endpoint,
            on_event: discard,
            max_rounds: DEFAULT_MAX_ROUNDS,
            abandoned: None,
        }
    }
}

impl<'a, C, E, const HEADERS: usize> AsyncDriver<'a, C, E, HEADERS>
where
    C: AsyncConnector,
    E: FnMut(Event<'_>),
{
    /// The same driver handing every event of the session to `on_event`.
    pub fn on_event<F: FnMut(Event<'_>)>(self, on_event: F) -> AsyncDriver<'a, C, F, HEADERS> {
        AsyncDriver {
            connector: self.connector,
            endpoint: self.endpoint,
            on_event,
            max_rounds: self.max_rounds,
            abandoned: self.abandoned,
        }
    }

    /// The same driver parsing responses into `N` headers.
    pub fn with_header_capacity<const N: usize>(self) -> AsyncDriver<'a, C, E, N> {
        AsyncDriver {
            connector: self.connector,
            endpoint: self.endpoint,
            on_event: self.on_event,
            max_rounds: self.max_rounds,
            abandoned: self.abandoned,
        }
    }

    /// The same driver asking the session for a grant at most `rounds`
    /// times per call.
    #[must_use]
    pub fn with_max_rounds(self, rounds: usize) -> Self {
        AsyncDriver {
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
    pub async fn drive<P: Provider>(
        &mut self,
        session: &mut Session<P>,
        buf: &mut [u8],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<usize, DriverError<C::Error>> {
        if let Some(id) = self.abandoned.take() {
            // A future of this driver was dropped while it sent `id`.
            session.handle_failure(id, now());
        }
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
            self.abandoned = Some(id);
            let mut exchange = WipedUnlessSettled {
                buf: &mut *buf,
                settled: false,
            };
            let answered =
                match open_and_send(&mut self.connector, &request, &transmit.headers).await {
                    Ok(mut stream) => {
                        let buf = &mut *exchange.buf;
                        answer_session::<_, _, HEADERS, _>(&mut stream, session, id, buf, now).await
                    }
                    Err(error) => Err(error),
                };
            if let Some(error) = settle(session, id, answered, exchange.buf, now) {
                first_error.get_or_insert(error);
            }
            // Settled: what the answer left in `buf` is wiped, the session
            // knows.
            exchange.settled = true;
            self.abandoned = None;
            self.drain_events(session);
        }
        first_error.map_or(Ok(sent), Err)
    }

    /// Lets time pass: when the session's timer is due, hands it the time
    /// and sends what it queued (a refresh login, say). Returns when to
    /// call again.
    pub async fn tick<P: Provider>(
        &mut self,
        session: &mut Session<P>,
        buf: &mut [u8],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<Option<Instant>, DriverError<C::Error>> {
        let at = now();
        if session.poll_timeout().is_some_and(|due| due <= at) {
            session.handle_timeout(at);
        }
        self.drive(session, buf, now).await?;
        Ok(session.poll_timeout())
    }

    /// Performs one application call with the session's grant: logs in
    /// first when needed, sends the call with the session's headers and
    /// the caller's, reads the answer into `buf` and `headers`, and hands
    /// it to [`Session::handle_reply`]. A call whose token was refused is
    /// sent once more after the new login ([`CallRounds`] decides, as for
    /// every driver); refused again, it is returned with
    /// [`Verdict::Replay`].
    ///
    /// Returns the session's verdict and the response (in `buf`). A
    /// response with more headers than `headers` holds (or than the
    /// driver's `HEADERS`) is [`WireError::TooManyHeaders`](super::WireError::TooManyHeaders).
    /// Declare `headers` next to each call: its type holds the borrow of
    /// `buf`.
    ///
    /// A transport failure of the call itself is returned as it is: the
    /// session has nothing to learn from it, and whether the call may be
    /// sent again is the caller's to judge.
    pub async fn call<'b, 'h, P: Provider>(
        &mut self,
        session: &mut Session<P>,
        call: &Call<'_>,
        buf: &'b mut [u8],
        headers: &'h mut [Header<'b>],
        now: &mut impl FnMut() -> Instant,
    ) -> Result<(Verdict, WireResponse<'h>), DriverError<C::Error>> {
        // Anything queued before this call (a refresh, a logout) goes first.
        self.drive(session, buf, now).await?;
        // The driver cannot step up by itself: the caller does.
        let mut rounds = CallRounds::new(false);
        for _ in 0..self.max_rounds {
            let grant = match session.authorize(call.level, now()) {
                Ok(grant) => grant,
                Err(NotReady::LoggingIn | NotReady::LoggingOut) => {
                    // The session queued (or has in flight) what it needs.
                    self.drive(session, buf, now).await?;
                    continue;
                }
                Err(other) => {
                    self.drain_events(session);
                    return Err(DriverError::NotReady(other));
                }
            };
            let ticket = grant.ticket;
            let request = self.endpoint.call_request(call);
            let mut stream = open_and_send(&mut self.connector, &request, &grant.headers).await?;
            let (verdict, layout) = {
                let mut slots = [httparse::EMPTY_HEADER; HEADERS];
                let response = read_response_async(&mut stream, &mut *buf, &mut slots).await?;
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

    fn drain_events<P: Provider>(&mut self, session: &mut Session<P>) {
        drain_events(session, &mut self.on_event);
    }
}

/// The buffer an answer to one of the session's own requests is read
/// into, wiped whole if the future reading it is dropped before the answer
/// is settled: the answer to a login holds the token.
struct WipedUnlessSettled<'b> {
    buf: &'b mut [u8],
    settled: bool,
}

impl Drop for WipedUnlessSettled<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.buf.zeroize();
        }
    }
}

/// Opens a connection and writes `request` with the session's `headers`
/// on it.
async fn open_and_send<'c, C: AsyncConnector>(
    connector: &'c mut C,
    request: &WireRequest<'_>,
    headers: &Headers<'_>,
) -> Result<C::Stream<'c>, DriverError<C::Error>> {
    let mut stream = connector.connect().await.map_err(DriverError::Connect)?;
    write_request_async(&mut stream, request, headers).await?;
    Ok(stream)
}

/// Reads the answer to the session's own request `id` and hands it to the
/// session; gives how much of `buf` it took.
async fn answer_session<S: Read, P: Provider, const HEADERS: usize, X>(
    stream: &mut S,
    session: &mut Session<P>,
    id: RequestId,
    buf: &mut [u8],
    now: &mut impl FnMut() -> Instant,
) -> Result<usize, DriverError<X>> {
    let mut slots = [httparse::EMPTY_HEADER; HEADERS];
    let response = read_response_async(stream, buf, &mut slots).await?;
    session.handle_response(id, &response, now());
    Ok(response.layout().used())
}
