//! HTTP over `ureq`: an agent set up for carrying tokens, and the
//! conversions between the core's requests and the `http` crate's types.
//!
//! No secret reaches a log through ureq: its trace-level wire dump is
//! compiled out by the `log` features in this crate's `Cargo.toml`, and at
//! debug it logs only an allow-list of headers. Our own copies of secrets
//! (login bodies, header values, answers) are wiped once used.

use std::io::Read;
use std::mem;
use std::time::{Duration, Instant};

use authsession_core::{Headers, Response};
use http::Method;
use http::header::{HeaderName, HeaderValue, USER_AGENT};
use http::uri::Scheme;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, TransportError};
use crate::origin::BaseUrl;

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT_VALUE: &str = concat!("authsession/", env!("CARGO_PKG_VERSION"));

/// The largest answer to one of the session's own requests that is read:
/// a login answer is a few hundred bytes, a JWT a few kilobytes.
const SESSION_BODY_LIMIT: u64 = 64 * 1024;

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting, TLS included. Default 10 s.
    pub connect: Duration,
    /// From the request sent to the whole response received. Default 30 s.
    pub response: Duration,
    /// The largest response body read. Default 16 MiB.
    pub body_limit: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(30),
            body_limit: 16 * 1024 * 1024,
        }
    }
}

/// The agent and the base URL every request goes to.
#[derive(Debug)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub(crate) base: BaseUrl,
    body_limit: u64,
    /// The agent's own bound on one exchange.
    global_timeout: Duration,
}

impl Transport {
    pub(crate) fn new(base: BaseUrl, timeouts: Timeouts) -> Self {
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
        Transport {
            agent,
            base,
            body_limit: timeouts.body_limit,
            global_timeout: timeouts.connect + timeouts.response,
        }
    }

    /// Sends an application call and reads the whole answer, up to the
    /// configured body limit.
    pub(crate) fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.exchange(request, self.body_limit, None)
    }

    /// Sends one of the session's own requests (a login step, step-up,
    /// logout), answered within `within` at most. Its answer is small: a
    /// larger one is refused rather than read (a hostile server's 16 MiB
    /// "token" costs no memory).
    pub(crate) fn send_session_request(
        &self,
        request: http::Request<Vec<u8>>,
        within: Duration,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.exchange(request, SESSION_BODY_LIMIT, Some(within))
    }

    /// Sends `request` and reads the whole answer, up to `body_limit`, in
    /// the agent's timeouts or `within` if shorter. The request's body is
    /// wiped once sent: a login's holds the credentials.
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
        let failed = |error: ureq::Error| {
            Error::Transport(TransportError::new(error, started.elapsed(), https))
        };
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

    /// Builds a request to `target` (a path under the base URL).
    pub(crate) fn request(
        &self,
        method: &str,
        target: &str,
        headers: &Headers<'_>,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        // The body may hold credentials: wiped on every way out but `Ok`.
        let mut body = Zeroizing::new(body);
        let mut request = http::Request::builder()
            .method(method)
            .uri(self.base.join(target)?)
            .body(mem::take(&mut *body))
            .map_err(|error| Error::from_http(&error, method))?;
        if let Err(error) = add_headers(request.headers_mut(), headers) {
            request.body_mut().zeroize();
            return Err(error);
        }
        request
            .headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(request)
    }
}

/// Adds the session's headers, marking secret ones sensitive so that the
/// `http` crate's `Debug` hides them too.
///
/// The value is put together in a `String` that is wiped at once. The
/// `HeaderValue` made from it cannot be: its bytes are a shared, immutable
/// `Bytes` (and ureq copies them into its own buffers), freed unwiped when
/// the request is dropped.
pub(crate) fn add_headers(
    target: &mut http::HeaderMap,
    headers: &Headers<'_>,
) -> Result<(), Error> {
    for header in headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
            Error::InvalidHeaderName {
                name: header.name.to_owned(),
            }
        })?;
        let [prefix, value] = header.value.parts();
        // Room for both parts up front: growing would leave a copy behind.
        let mut text = Zeroizing::new(String::with_capacity(prefix.len() + value.len()));
        text.push_str(prefix);
        text.push_str(value);
        let mut value = HeaderValue::from_str(&text).map_err(|_| Error::InvalidHeaderValue {
            name: name.as_str().to_owned(),
        })?;
        value.set_sensitive(header.value.is_sensitive());
        target.insert(name, value);
    }
    Ok(())
}

/// An `http::Response` as the core reads responses.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a>(pub &'a http::Response<Vec<u8>>);

impl Response for HttpResponse<'_> {
    fn status(&self) -> u16 {
        self.0.status().as_u16()
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.headers().get(name).map(HeaderValue::as_bytes)
    }
    fn body(&self) -> &[u8] {
        self.0.body()
    }
}
