//! Writes one HTTP/1.1 request to an `embedded_io::Write`, straight from
//! the session's own buffers: a header value made of parts (`Bearer ` and a
//! token) is written part by part and never assembled in memory. Every
//! name, value, host and path is checked before the first byte goes out, so
//! a refused request leaves nothing half-written on the stream.

use embedded_io::Write;

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
    check(request, headers)?;

    let mut out = Out { stream };
    out.put(request.method.as_str().as_bytes())?;
    out.put(b" ")?;
    out.put(request.base_path.as_bytes())?;
    out.put(request.path.as_bytes())?;
    out.put(b" HTTP/1.1\r\nHost: ")?;
    out.put(request.host.as_bytes())?;
    out.put(b"\r\n")?;
    for header in headers.iter() {
        out.put(header.name.as_bytes())?;
        out.put(b": ")?;
        for part in header.value.parts() {
            out.put(part.as_bytes())?;
        }
        out.put(b"\r\n")?;
    }
    for (name, value) in request.extra_headers {
        out.put(name.as_bytes())?;
        out.put(b": ")?;
        out.put(value.as_bytes())?;
        out.put(b"\r\n")?;
    }
    let expects_body = matches!(request.method, Method::Post | Method::Put | Method::Patch);
    if expects_body || !request.body.is_empty() {
        let mut digits = [0u8; 20];
        out.put(b"Content-Length: ")?;
        out.put(decimal(request.body.len(), &mut digits))?;
        out.put(b"\r\n")?;
    }
    if request.close {
        out.put(b"Connection: close\r\n")?;
    }
    out.put(b"\r\n")?;
    out.put(request.body)?;
    out.stream.flush().map_err(|error| WireError::io(&error))
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

/// `n` in decimal, in the tail of `digits` (20 digits hold any `u64`).
fn decimal(mut n: usize, digits: &mut [u8; 20]) -> &[u8] {
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
    digits.get(start..).unwrap_or_default()
}

/// The stream, written to without `embedded_io::Write::write_all`, which
/// panics on a stream that accepts nothing.
struct Out<'s, W: ?Sized> {
    stream: &'s mut W,
}

impl<W: Write + ?Sized> Out<'_, W> {
    fn put(&mut self, mut bytes: &[u8]) -> Result<(), WireError> {
        while !bytes.is_empty() {
            let written = self
                .stream
                .write(bytes)
                .map_err(|error| WireError::io(&error))?;
            if written == 0 {
                return Err(WireError::Io(embedded_io::ErrorKind::WriteZero));
            }
            // A stream that claims more than it was given is broken.
            bytes = bytes
                .get(written..)
                .ok_or(WireError::Io(embedded_io::ErrorKind::Other))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_writes_every_magnitude() {
        let mut digits = [0u8; 20];
        assert_eq!(decimal(0, &mut digits), b"0");
        assert_eq!(decimal(7, &mut digits), b"7");
        assert_eq!(decimal(10, &mut digits), b"10");
        assert_eq!(decimal(640, &mut digits), b"640");
        assert_eq!(decimal(1_000_000, &mut digits), b"1000000");
    }
}
