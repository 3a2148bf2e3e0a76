//! How the core reads a response: a small trait, so that an
//! `http::Response`, a response read off a byte stream and a test fixture
//! are all read in place, without copying.

use core::time::Duration;

/// A response as the core needs to see it.
pub trait Response {
    /// The HTTP status code.
    fn status(&self) -> u16;
    /// The first value of the header `name` (ASCII case-insensitive).
    fn header(&self, name: &str) -> Option<&[u8]>;
    /// The body, whole.
    fn body(&self) -> &[u8];
}

impl<R: Response + ?Sized> Response for &R {
    fn status(&self) -> u16 {
        (**self).status()
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
    fn body(&self) -> &[u8] {
        (**self).body()
    }
}

/// A response made of borrowed parts: for fixtures, tests and adapters
/// whose own response type is not at hand.
///
/// ```
/// use authsession_core::{Response, ResponseParts};
///
/// let response = ResponseParts::new(200, br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#)
///     .with_headers(&[("X-Request-Id", b"abc")]);
/// assert_eq!(response.header("x-request-id"), Some(&b"abc"[..]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ResponseParts<'a> {
    /// The status code.
    pub status: u16,
    /// The headers, names in any case.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The body.
    pub body: &'a [u8],
}

impl<'a> ResponseParts<'a> {
    /// A response with a status, a body and no headers.
    pub const fn new(status: u16, body: &'a [u8]) -> Self {
        ResponseParts {
            status,
            headers: &[],
            body,
        }
    }

    /// The same response with these headers.
    #[must_use]
    pub const fn with_headers(self, headers: &'a [(&'a str, &'a [u8])]) -> Self {
        ResponseParts { headers, ..self }
    }
}

impl Response for ResponseParts<'_> {
    fn status(&self) -> u16 {
        self.status
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
    fn body(&self) -> &[u8] {
        self.body
    }
}

/// The wait a `Retry-After` header asks for, when it is given in seconds.
/// The HTTP-date form needs a wall clock, which the core does not have; it
/// is treated as absent, and the session's own backoff applies.
pub fn retry_after<R: Response + ?Sized>(response: &R) -> Option<Duration> {
    let value = response.header("retry-after")?;
    let text = core::str::from_utf8(value).ok()?.trim();
    text.parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether the status is a success (`2xx`).
pub const fn is_success(status: u16) -> bool {
    matches!(status, 200..=299)
}
