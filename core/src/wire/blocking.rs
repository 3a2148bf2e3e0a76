//! The codec over blocking `embedded_io` streams: the loops that hand the
//! sans-IO request writer's bytes to a stream and feed the response
//! readers from one. Nothing here decides anything about HTTP; the async
//! twins in `asynch.rs` are the same loops with `.await`.

use embedded_io::{Read, Write};
use httparse::Header;

use super::WireError;
use super::body::{Next, Reader};
use super::read::{HeadReader, WireResponse};
use super::write::{EncodedRequest, WireRequest, unwritten};
use crate::transmit::Headers;

/// Reads one response: its head into the start of `buf` (parsed into
/// `headers`), its body right after it, decoded.
///
/// The body is framed by `Content-Length`, by `Transfer-Encoding: chunked`
/// (decoded in place; extensions and trailers are read and dropped), or by
/// the end of the stream when neither is given; `204` and `304` have none.
/// Interim `1xx` answers are skipped. At most `buf.len()` bytes are kept,
/// so a device sizes `buf` for the largest head and body it expects; a
/// chunked body needs room for one more chunk-size line besides, and its
/// trailers (dropped as they are read) may not be longer than the room the
/// head left.
///
/// The answer is a function of the bytes alone: every limit is checked
/// against what the bytes need, never against how much one read happened
/// to bring, so a response read whole and one read in one-byte pieces give
/// the same response or the same error.
///
/// As with `httparse` itself, the header array's type holds the borrow of
/// `buf` (`Header<'b>`): declare the array next to each read rather than
/// once for a loop of them.
///
/// # Errors
///
/// [`WireError::HeadTooLarge`] and [`WireError::BodyTooLarge`] when `buf`
/// is too small, [`WireError::TooManyHeaders`] when `headers` is,
/// [`WireError::Truncated`] when the stream ends early,
/// [`WireError::Malformed`] for framing that cannot be trusted (conflicting
/// lengths, a length and a transfer coding, a bad chunk size, a length
/// other than 0 on a `204` or `304`), [`WireError::Io`] when the stream
/// fails.
///
/// ```
/// use authsession_core::wire::{httparse, read_response, WireError};
/// use authsession_core::Response;
///
/// let mut answer: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
///     HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
///     4;note=x\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n";
/// let mut buf = [0u8; 128];
/// let mut headers = [httparse::EMPTY_HEADER; 4];
/// let response = read_response(&mut answer, &mut buf, &mut headers)?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body(), br#"{"a":1}"#);
///
/// let mut small = [0u8; 16];
/// let mut answer: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
/// assert_eq!(
///     read_response(&mut answer, &mut small, &mut headers).unwrap_err(),
///     WireError::HeadTooLarge { capacity: 16 },
/// );
/// # Ok::<(), WireError>(())
/// ```
pub fn read_response<'h, 'b: 'h, S: Read + ?Sized>(
    stream: &mut S,
    buf: &'b mut [u8],
    headers: &'h mut [Header<'b>],
) -> Result<WireResponse<'h>, WireError> {
    let head_end = pump(stream, buf, HeadReader::default())?;
    let (head, region, body) = head_end.parse(buf, headers)?;
    let body_len = pump(stream, region, body)?;
    head.with_body(region, body_len)
}

/// Feeds `reader` from `stream` until it is done.
fn pump<S: Read + ?Sized, R: Reader>(
    stream: &mut S,
    buf: &mut [u8],
    mut reader: R,
) -> Result<R::Output, WireError> {
    loop {
        match reader.next(buf)? {
            Next::Read(space) => {
                let read = stream.read(space).map_err(|error| WireError::io(&error))?;
                reader.advance(read)?;
            }
            Next::Done(output) => return Ok(output),
        }
    }
}

/// Writes `request` with the session's `headers` (from a
/// [`Transmit`](crate::Transmit) or a [`Grant`](crate::Grant)) and flushes.
///
/// The request line is `METHOD base_path+path HTTP/1.1`; then `Host`, the
/// session's headers, the caller's, `Content-Length` (left out only for a
/// `GET` or `DELETE` without body, which RFC 9110 asks for), `Connection:
/// close` when asked, and the body.
///
/// Nothing is written when a header name is not a token or is one this
/// function sets ([`WireError::InvalidHeaderName`]), a header value holds a
/// control character ([`WireError::InvalidHeaderValue`]), or the host or
/// path holds a space or a control character ([`WireError::InvalidTarget`]).
///
/// ```
/// use authsession_core::wire::{write_request, WireError, WireRequest};
/// use authsession_core::{HeaderValue, Headers, Method};
///
/// let mut headers = Headers::new();
/// headers.push("X-Auth-Token", HeaderValue::secret("", "ea6d13c7bc50feb46cf978d137bc01a2")).unwrap();
/// let mut sent = [0u8; 256];
/// let mut out = &mut sent[..];
/// write_request(&mut out, &WireRequest::new("api.example.com", Method::Get, "/v2/balances/find"), &headers)?;
/// let left = out.len();
/// assert_eq!(
///     &sent[..sent.len() - left],
///     b"GET /v2/balances/find HTTP/1.1\r\nHost: api.example.com\r\n\
///       X-Auth-Token: ea6d13c7bc50feb46cf978d137bc01a2\r\n\r\n"
/// );
///
/// let smuggling = [("X-Note", "a\r\nX-Evil: 1")];
/// let request = WireRequest::new("api.example.com", Method::Get, "/").with_headers(&smuggling);
/// assert_eq!(write_request(&mut &mut sent[..], &request, &Headers::new()), Err(WireError::InvalidHeaderValue));
/// # Ok::<(), WireError>(())
/// ```
pub fn write_request<W: Write + ?Sized>(
    stream: &mut W,
    request: &WireRequest<'_>,
    headers: &Headers<'_>,
) -> Result<(), WireError> {
    let request = EncodedRequest::new(request, headers)?;
    for mut part in request.parts() {
        while !part.is_empty() {
            let written = stream.write(part).map_err(|error| WireError::io(&error))?;
            part = unwritten(part, written)?;
        }
    }
    stream.flush().map_err(|error| WireError::io(&error))
}
