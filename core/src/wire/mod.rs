//! HTTP/1.1 over any `embedded_io` byte stream, for devices with a TCP or
//! TLS stack of their own and no heap: a request writer, a response reader
//! whose head and body stay in the caller's buffer, and a [`Driver`] that
//! runs a whole [`Session`](crate::Session) over a [`Connector`].
//!
//! With the feature `embedded-io-async`, the same over `embedded_io_async`
//! streams (Embassy's): `read_response_async`, `write_request_async` and
//! the `AsyncDriver` over an `AsyncConnector`. Both kinds share one codec:
//! the request's bytes, the response's framing, every limit and every
//! error are sans-IO code that only the thin loops of each kind feed.
//!
//! Every limit is the caller's: the buffer the response is read into and
//! the array its headers are parsed into. Whatever does not fit is a typed
//! [`WireError`], never a cut-short answer and never a panic.
//!
//! ```
//! use authsession_core::wire::{httparse, read_response, write_request, WireRequest};
//! use authsession_core::{Headers, Method, Response};
//!
//! // Any `embedded_io::Write`; a byte slice here.
//! let mut sent = [0u8; 128];
//! let mut out = &mut sent[..];
//! let request = WireRequest::new("api.example.com", Method::Get, "/v2/accounts/current");
//! write_request(&mut out, &request, &Headers::new())?;
//!
//! // Any `embedded_io::Read`; a byte slice here.
//! let mut answer: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
//! let mut buf = [0u8; 256];
//! let mut headers = [httparse::EMPTY_HEADER; 8];
//! let response = read_response(&mut answer, &mut buf, &mut headers)?;
//! assert_eq!((response.status(), response.body()), (200, &b"{}"[..]));
//! # Ok::<(), authsession_core::wire::WireError>(())
//! ```

#[cfg(feature = "embedded-io-async")]
mod async_driver;
#[cfg(feature = "embedded-io-async")]
mod asynch;
mod blocking;
mod body;
mod driver;
mod read;
mod write;

use core::fmt;

#[cfg(feature = "embedded-io-async")]
pub use async_driver::{AsyncConnector, AsyncDriver};
#[cfg(feature = "embedded-io-async")]
pub use asynch::{read_response_async, write_request_async};
pub use driver::{
    Call, Connector, DEFAULT_HEADER_CAPACITY, DEFAULT_MAX_ROUNDS, Driver, DriverError, Endpoint,
};
// The traits the streams implement and the header type responses are
// parsed into, at the versions this module was built with.
pub use blocking::{read_response, write_request};
pub use embedded_io;
#[cfg(feature = "embedded-io-async")]
pub use embedded_io_async;
pub use httparse;
pub use read::WireResponse;
pub use write::WireRequest;

/// Why a request could not be written or a response could not be read.
///
/// None of them holds a byte of the request or the response: a header
/// value may be a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The response head (status line and headers) did not fit the buffer.
    HeadTooLarge {
        /// The buffer's size in bytes.
        capacity: usize,
    },
    /// The response body (or, for a chunked body, the framing that still
    /// had to be read after it) did not fit what the head left of the
    /// buffer.
    BodyTooLarge {
        /// The bytes the head left for the body.
        capacity: usize,
    },
    /// The response has more headers than the caller's array holds.
    TooManyHeaders {
        /// The array's length.
        capacity: usize,
    },
    /// The stream ended before the response did.
    Truncated,
    /// The response breaks HTTP/1.1 framing in a way that makes its body
    /// ambiguous or unreadable; `what` says how.
    Malformed {
        /// What was wrong.
        what: &'static str,
    },
    /// A request header value holds a control character (CR, LF, NUL,
    /// anything below 0x20 but tab, or DEL): written, it could split the
    /// request. Nothing was written.
    InvalidHeaderValue,
    /// A request header name is not an HTTP token, or is one the writer
    /// sets itself (`Host`, `Content-Length`, `Transfer-Encoding`,
    /// `Connection`). Nothing was written.
    InvalidHeaderName,
    /// The host or the path holds a character that cannot appear there
    /// (a space, a control character). Nothing was written.
    InvalidTarget,
    /// The stream failed.
    Io(embedded_io::ErrorKind),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::HeadTooLarge { capacity } => {
                write!(
                    f,
                    "the response head does not fit its buffer of {capacity} bytes"
                )
            }
            WireError::BodyTooLarge { capacity } => write!(
                f,
                "the response body does not fit the {capacity} bytes left after its head"
            ),
            WireError::TooManyHeaders { capacity } => {
                write!(f, "the response has more than {capacity} headers")
            }
            WireError::Truncated => f.write_str("the connection closed before the response ended"),
            WireError::Malformed { what } => write!(f, "malformed response: {what}"),
            WireError::InvalidHeaderValue => {
                f.write_str("a request header value contains a control character")
            }
            WireError::InvalidHeaderName => {
                f.write_str("a request header name is not a token or is set by the writer")
            }
            WireError::InvalidTarget => {
                f.write_str("the request's host or path contains a character not allowed there")
            }
            WireError::Io(kind) => write!(f, "the stream failed: {kind:?}"),
        }
    }
}

impl core::error::Error for WireError {}

impl WireError {
    /// The error of a failed stream operation.
    pub(crate) fn io<E: embedded_io::Error>(error: &E) -> Self {
        WireError::Io(error.kind())
    }

    /// A broken response, `what` saying how.
    pub(crate) const fn malformed(what: &'static str) -> Self {
        WireError::Malformed { what }
    }
}
