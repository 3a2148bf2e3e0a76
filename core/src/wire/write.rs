//! One HTTP/1.1 request as the slices it is written from, straight from
//! the session's own buffers: a header value made of parts (`Bearer ` and a
//! token) is written part by part and never assembled in memory. Every
//! name, value, host and path is checked before the first byte goes out, so
//! a refused request leaves nothing half-written on the stream.
//!
//! Sans-IO: [`EncodedRequest`] is the checked request and its bytes in
//! order; the blocking [`write_request`](super::write_request) and its async
//! twin only hand those slices to a stream.

use super::WireError;
use crate::transmit::{Headers, Method};

/// The headers the writer sets itself; a caller's header of the same name
/// would make the request's framing ambiguous (request smuggling).
const RESERVED: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// What to write besides the session's headers: where, what, and the
/// caller's own headers and body.
///
/// ```
/// use authsession_core::wire::WireRequest;
/// use authsession_core::Method;
///
/// let request = WireRequest::new("sandbox.weavr.io", Method::Post, "/login_with_password")
///     .with_base_path("/multi")
///     .with_headers(&[("Accept", "application/json")])
///     .with_body(br#"{"email":"a@example.com"}"#)
///     .closing();
/// assert_eq!(request.base_path, "/multi");
/// ```
#[derive(Clone, Copy)]
pub struct WireRequest<'a> {
    /// The `Host` header: the API's host name, with `:port` when it is not
    /// the scheme's default.
    pub host: &'a str,
    /// The method.
    pub method: Method,
    /// Written before `path`: the base URL's path (`/multi` for Weavr), or
    /// empty.
    pub base_path: &'a str,
    /// The path and query under the base path, starting with `/`.
    pub path: &'a str,
    /// The caller's headers, written after the session's.
    pub extra_headers: &'a [(&'a str, &'a str)],
    /// The body; `Content-Length` is written from its length.
    pub body: &'a [u8],
    /// Whether to ask the server to close the connection after answering
    /// (`Connection: close`), so that the answer ends at the end of the
    /// stream at the latest.
    pub close: bool,
}

impl<'a> WireRequest<'a> {
    /// A request without base path, extra headers or body, on a connection
    /// kept open.
    pub const fn new(host: &'a str, method: Method, path: &'a str) -> Self {
        WireRequest {
            host,
            method,
            base_path: "",
            path,
            extra_headers: &[],
            body: &[],
            close: false,
        }
    }

    /// The same request under `base_path`.
    #[must_use]
    pub const fn with_base_path(self, base_path: &'a str) -> Self {
        WireRequest { base_path, ..self }
    }

    /// The same request with the caller's headers.
    #[must_use]
    pub const fn with_headers(self, extra_headers: &'a [(&'a str, &'a str)]) -> Self {
        WireRequest {
            extra_headers,
            ..self
        }
    }

    /// The same request with a body.
    #[must_use]
    pub const fn with_body(self, body: &'a [u8]) -> Self {
        WireRequest { body, ..self }
    }

    /// The same request with `Connection: close`.
    #[must_use]
    pub const fn closing(self) -> Self {
        WireRequest {
            close: true,
            ..self
        }
    }
}

impl core::fmt::Debug for WireRequest<'_> {
    /// Leaves out the header values and the body: either may hold a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WireRequest")
            .field("host", &self.host)
            .field("method", &self.method)
            .field("base_path", &self.base_path)
            .field("path", &self.path)
            .field("extra_headers", &HeaderNames(self.extra_headers))
            .field("body_len", &self.body.len())
            .field("close", &self.close)
            .finish()
    }
}

/// Prints the names of headers, not their values.
struct HeaderNames<'a>(&'a [(&'a str, &'a str)]);

impl core::fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// A request checked and ready to go: its bytes are
/// [`parts`](Self::parts), in order.
///
/// The request line is `METHOD base_path+path HTTP/1.1`; then `Host`, the
/// session's headers, the caller's, `Content-Length` (left out only for a
/// `GET` or `DELETE` without body, which RFC 9110 asks for), `Connection:
/// close` when asked, and the body.
pub(super) struct EncodedRequest<'r> {
    request: &'r WireRequest<'r>,
    headers: &'r Headers<'r>,
    /// The body's length in decimal, in the tail of the array.
    digits: [u8; 20],
    /// Where the digits start, when `Content-Length` is written.
    length_from: Option<usize>,
}

impl<'r> EncodedRequest<'r> {
    /// Checks `request` and the session's `headers` (from a
    /// [`Transmit`](crate::Transmit) or a [`Grant`](crate::Grant)).
    pub(super) fn new(
        request: &'r WireRequest<'r>,
        headers: &'r Headers<'r>,
    ) -> Result<Self, WireError> {
        check(request, headers)?;
        let mut digits = [0u8; 20];
        let expects_body = matches!(request.method, Method::Post | Method::Put | Method::Patch);
        let length_from = (expects_body || !request.body.is_empty())
            .then(|| decimal(request.body.len(), &mut digits));
        Ok(EncodedRequest {
            request,
            headers,
            digits,
            length_from,
        })
    }

    /// The request's bytes, in the order they go on the wire, as slices of
    /// the request's own buffers (some of them empty).
    pub(super) fn parts(&self) -> impl Iterator<Item = &[u8]> {
        let request = self.request;
        let line: [&[u8]; 7] = [
            request.method.as_str().as_bytes(),
            b" ",
            request.base_path.as_bytes(),
            request.path.as_bytes(),
            b" HTTP/1.1\r\nHost: ",
            request.host.as_bytes(),
            b"\r\n",
        ];
        let session = self.headers.iter().flat_map(|header| -> [&[u8]; 5] {
            let [prefix, value] = header.value.parts();
            [
                header.name.as_bytes(),
                b": ",
                prefix.as_bytes(),
                value.as_bytes(),
                b"\r\n",
            ]
        });
        let caller = request
            .extra_headers
            .iter()
            .flat_map(|(name, value)| -> [&[u8]; 4] {
                [name.as_bytes(), b": ", value.as_bytes(), b"\r\n"]
            });
        let length = self
            .length_from
            .and_then(|from| self.digits.get(from..))
            .into_iter()
            .flat_map(|digits| -> [&[u8]; 3] { [b"Content-Length: ", digits, b"\r\n"] });
        let close: &[u8] = if request.close {
            b"Connection: close\r\n"
        } else {
            b""
        };
        line.into_iter()
            .chain(session)
            .chain(caller)
            .chain(length)
            .chain([close, b"\r\n", request.body])
    }
}

/// What is left of `part` after a write that took `written` bytes of it.
///
/// This is why the writers do not use `write_all`: `embedded_io`'s panics
/// on a stream that accepts nothing.
pub(super) fn unwritten(part: &[u8], written: usize) -> Result<&[u8], WireError> {
    if written == 0 {
        return Err(WireError::Io(embedded_io::ErrorKind::WriteZero));
    }
    // A stream that claims more than it was given is broken.
    part.get(written..)
        .ok_or(WireError::Io(embedded_io::ErrorKind::Other))
}

/// Checks everything that will be written, before anything is.
fn check(request: &WireRequest<'_>, headers: &Headers<'_>) -> Result<(), WireError> {
    let host_ok = !request.host.is_empty()
        && request
            .host
            .bytes()
            .all(|byte| is_visible(byte) && byte != b'/');
    let target_ok = request
        .base_path
        .bytes()
        .chain(request.path.bytes())
        .next()
        .is_some_and(|first| first == b'/')
        && request
            .base_path
            .bytes()
            .chain(request.path.bytes())
            .all(is_visible);
    if !host_ok || !target_ok {
        return Err(WireError::InvalidTarget);
    }
    let session = headers
        .iter()
        .map(|header| (header.name, header.value.parts()));
    let caller = request
        .extra_headers
        .iter()
        .map(|(name, value)| (*name, [*value, ""]));
    for (name, parts) in session.chain(caller) {
        let reserved = RESERVED
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(name));
        if name.is_empty() || reserved || !name.bytes().all(is_token_byte) {
            return Err(WireError::InvalidHeaderName);
        }
        if parts.iter().any(|part| part.bytes().any(is_control)) {
            return Err(WireError::InvalidHeaderValue);
        }
    }
    Ok(())
}

/// A control character in a header value: CR and LF would end the header
/// (and could start a forged one), NUL and the others are refused by
/// RFC 9110's field-value grammar. Tab is the one allowed.
const fn is_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// Visible ASCII: what may appear in a request target or a host without
/// encoding.
const fn is_visible(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7e)
}

/// A `tchar` of RFC 9110: the characters of a header name.
const fn is_token_byte(byte: u8) -> bool {
    matches!(byte,
        b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~')
}

/// Writes `n` in decimal in the tail of `digits` (20 digits hold any
/// `u64`); returns where it starts.
fn decimal(mut n: usize, digits: &mut [u8; 20]) -> usize {
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // `n % 10` is below 10, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        *slot = b'0' + digit;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_writes_every_magnitude() {
        let written = |n| {
            let mut digits = [0u8; 20];
            let start = decimal(n, &mut digits);
            digits[start..].to_vec()
        };
        assert_eq!(written(0), b"0");
        assert_eq!(written(7), b"7");
        assert_eq!(written(10), b"10");
        assert_eq!(written(640), b"640");
        assert_eq!(written(1_000_000), b"1000000");
        assert_eq!(written(4_294_967_295), b"4294967295");
    }
}
