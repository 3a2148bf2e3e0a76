//! The HTTP underneath a client: the base URL every request goes to, an
//! exchange that sends one request and reads its whole answer (over ureq
//! for the blocking client, over reqwest for the async one), and the
//! conversions between the core's requests and the `http` crate's types.
//!
//! Our own copies of secrets (login bodies, header values, answers) are
//! wiped once used.

use std::fmt;
use std::mem;
use std::time::Duration;

use authsession_core::{Headers, Response};
use http::header::{HeaderName, HeaderValue, USER_AGENT};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::origin::BaseUrl;

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT_VALUE: &str = concat!("authsession/", env!("CARGO_PKG_VERSION"));

/// The largest answer to one of the session's own requests that is read:
/// a login answer is a few hundred bytes, a JWT a few kilobytes.
pub(crate) const SESSION_BODY_LIMIT: u64 = 64 * 1024;

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

/// One HTTP exchange, blocking: sends `request` (redirects not followed,
/// statuses as values) and reads the whole answer, up to `body_limit`,
/// within the client's timeouts or `within` if shorter. The request's body
/// is wiped once sent: a login's holds the credentials.
pub(crate) trait Exchange: Send + Sync + fmt::Debug {
    fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error>;
}

/// The base URL every request goes to, and how requests are exchanged.
#[derive(Debug)]
pub(crate) struct Transport {
    http: Box<dyn Exchange>,
    pub(crate) base: BaseUrl,
    body_limit: u64,
}

impl Transport {
    pub(crate) fn new(base: BaseUrl, http: Box<dyn Exchange>, timeouts: Timeouts) -> Self {
        Transport {
            http,
            base,
            body_limit: timeouts.body_limit,
        }
    }

    /// Sends an application call and reads the whole answer, up to the
    /// configured body limit.
    pub(crate) fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.http.exchange(request, self.body_limit, None)
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
        self.http
            .exchange(request, SESSION_BODY_LIMIT, Some(within))
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
