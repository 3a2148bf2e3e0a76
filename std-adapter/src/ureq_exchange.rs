//! The blocking client's HTTP: a `ureq` agent set up for carrying tokens.
//!
//! No secret reaches a log through ureq: its trace-level wire dump is
//! compiled out by the `log` features in this crate's `Cargo.toml`, and at
//! debug it logs only an allow-list of headers.

use std::io::{self, Read};
use std::mem;
use std::time::{Duration, Instant};

use http::Method;
use http::uri::Scheme;
use zeroize::Zeroizing;

use crate::error::{Error, TransportError, TransportErrorKind};
use crate::transport::{Exchange, Timeouts, USER_AGENT_VALUE};

/// A ureq agent: statuses as values, no redirects, the client's timeouts.
#[derive(Debug)]
pub(crate) struct UreqExchange {
    agent: ureq::Agent,
    /// The agent's own bound on one exchange.
    global_timeout: Duration,
}

impl UreqExchange {
    pub(crate) fn new(timeouts: Timeouts) -> Self {
        let agent = ureq::Agent::config_builder()
            // Statuses are the session's business, not errors.
            .http_status_as_error(false)
            // A redirect could carry the token to another host: never follow.
            .max_redirects(0)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.connect + timeouts.response))
            .user_agent(USER_AGENT_VALUE)
            .build()
            .new_agent();
        UreqExchange {
            agent,
            global_timeout: timeouts.connect + timeouts.response,
        }
    }

    /// `request`, bounded by `within` as well as the agent's own timeout.
    fn within<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        within: Option<Duration>,
    ) -> http::Request<S> {
        match within {
            Some(within) => self
                .agent
                .configure_request(request)
                .timeout_global(Some(within.min(self.global_timeout)))
                .build(),
            None => request,
        }
    }
}

impl Exchange for UreqExchange {
    fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let (parts, body) = request.into_parts();
        let body = Zeroizing::new(body);
        let https = parts.uri.scheme() == Some(&Scheme::HTTPS);
        let started = Instant::now();
        let failed =
            |error: ureq::Error| Error::Transport(from_ureq(error, started.elapsed(), https));
        // A request without a body says nothing of one: a `GET` carrying
        // `Content-Length: 0` is allowed but frowned upon (RFC 9110 8.6).
        let sent = if body.is_empty()
            && !matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
        {
            let request = http::Request::from_parts(parts, ());
            self.agent.run(self.within(request, within))
        } else {
            // Lent, not given: a `Vec` handed to ureq would be dropped there
            // unwiped.
            let request = http::Request::from_parts(parts, body.as_slice());
            self.agent.run(self.within(request, within))
        };
        drop(body);
        let response = sent.map_err(&failed)?;
        let (parts, mut body) = response.into_parts();
        // Read into room for the whole declared length, so that growing
        // leaves no stray copy of a login answer in freed memory; wiped if
        // the read fails halfway.
        let room = body.content_length().unwrap_or(0).min(body_limit);
        let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(room).unwrap_or(0)));
        body.with_config()
            .limit(body_limit)
            .reader()
            .read_to_end(&mut bytes)
            // ureq's errors while reading (a timeout, the body limit) come
            // wrapped in `io::Error`: `From` unwraps them.
            .map_err(|error| failed(ureq::Error::from(error)))?;
        Ok(http::Response::from_parts(parts, mem::take(&mut *bytes)))
    }
}

/// ureq's `error`, which ended an exchange `elapsed` after it began, sent
/// to an `https://` URL or not.
pub(crate) fn from_ureq(error: ureq::Error, elapsed: Duration, https: bool) -> TransportError {
    TransportError::new(kind_of(&error, https), elapsed, error)
}

/// The kind of a ureq error. ureq's enum depends on its features and is
/// `#[non_exhaustive]`: what is not named here is `Other`.
fn kind_of(error: &ureq::Error, https: bool) -> TransportErrorKind {
    use TransportErrorKind as Kind;
    match error {
        ureq::Error::Timeout(_) => Kind::Timeout,
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::ConnectProxyFailed(_) => Kind::Connect,
        ureq::Error::Tls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::TlsRequired => Kind::Tls,
        ureq::Error::Protocol(_) | ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            Kind::Protocol
        }
        ureq::Error::BodyExceedsLimit(_) | ureq::Error::LargeResponseHeader(..) => Kind::TooLarge,
        ureq::Error::Io(error) => io_kind_of(error, https),
        _ => Kind::Other,
    }
}

/// The kind of an I/O error on the connection.
fn io_kind_of(error: &io::Error, https: bool) -> TransportErrorKind {
    use TransportErrorKind as Kind;
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Kind::Timeout,
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::NetworkDown
        | io::ErrorKind::AddrNotAvailable => Kind::Connect,
        // rustls reports a failed handshake or a corrupt record as an
        // `InvalidData` I/O error wrapping its own error, which ureq hands
        // on as `Error::Io` (rustls is not a dependency of ours, so the
        // inner error cannot be downcast: it is told by its shape). No
        // other part of the stack makes such an error on an `https://`
        // connection: ureq's own errors are unwrapped from `io::Error`,
        // and the socket's are the OS's, without an inner error.
        io::ErrorKind::InvalidData if https && error.get_ref().is_some() => Kind::Tls,
        _ => Kind::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(error: ureq::Error, https: bool) -> TransportErrorKind {
        from_ureq(error, Duration::ZERO, https).kind()
    }

    #[test]
    fn ureq_errors_map_to_kinds() {
        use TransportErrorKind as Kind;
        let io = |kind| ureq::Error::Io(io::Error::from(kind));
        assert_eq!(
            kind(ureq::Error::Timeout(ureq::Timeout::Global), false),
            Kind::Timeout
        );
        assert_eq!(kind(io(io::ErrorKind::TimedOut), false), Kind::Timeout);
        assert_eq!(
            kind(io(io::ErrorKind::ConnectionRefused), false),
            Kind::Connect
        );
        assert_eq!(kind(ureq::Error::HostNotFound, true), Kind::Connect);
        assert_eq!(kind(ureq::Error::Tls("bad name"), true), Kind::Tls);
        let corrupt = || {
            ureq::Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "received corrupt message",
            ))
        };
        assert_eq!(kind(corrupt(), true), Kind::Tls);
        assert_eq!(kind(corrupt(), false), Kind::Io);
        assert_eq!(
            kind(ureq::Error::BodyExceedsLimit(10), false),
            Kind::TooLarge
        );
        assert_eq!(kind(io(io::ErrorKind::ConnectionReset), false), Kind::Io);
        assert_eq!(kind(io(io::ErrorKind::UnexpectedEof), false), Kind::Io);
        assert_eq!(kind(ureq::Error::TooManyRedirects, false), Kind::Protocol);
        assert_eq!(kind(ureq::Error::BadUri("x".into()), false), Kind::Other);
    }

    #[test]
    fn the_source_of_a_transport_error_is_ureqs() {
        use std::error::Error as _;
        let error = Error::Transport(from_ureq(
            ureq::Error::Timeout(ureq::Timeout::Global),
            Duration::from_millis(1500),
            false,
        ));
        let source = error.source().expect("a source");
        assert!(source.downcast_ref::<ureq::Error>().is_some());
        assert!(error.is_timeout() && !error.is_config());
        assert_eq!(
            error.to_string(),
            "no answer from the API: timed out after 1.5 s (timeout: global)"
        );
    }
}
