//! Reads one HTTP/1.1 response from an `embedded_io::Read` into the
//! caller's buffer: the head first (parsed by `httparse` into the caller's
//! header array), interim `1xx` answers skipped, then the body right after
//! the head, however it is framed. The result borrows the buffer and is
//! read by the session through [`Response`] without a copy.

use core::fmt;

use embedded_io::Read;
use httparse::Header;

use super::WireError;
use super::body::{Framing, read_body, read_some, shift};
use crate::response::Response;

/// The most interim (`1xx`) answers skipped before the real one: a server
/// that sends more is not answering.
const MAX_INTERIM: usize = 8;

/// A response read off the stream; everything in it borrows the caller's
/// buffer and header array.
///
/// Its `Debug` shows the status, the header names and the body's length,
/// never a value or the body: a login answer holds the token.
#[derive(Clone, Copy)]
pub struct WireResponse<'a> {
    status: u16,
    reason: &'a str,
    headers: &'a [Header<'a>],
    body: &'a [u8],
    layout: Layout,
}

/// Where a response lies in the buffer it was read into: the head from
/// the start, the body right after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub(super) head_len: usize,
    pub(super) body_len: usize,
}

impl Layout {
    /// The bytes of the buffer the response takes.
    pub(super) const fn used(self) -> usize {
        self.head_len.saturating_add(self.body_len)
    }
}

impl<'a> WireResponse<'a> {
    /// The reason phrase (`OK`), empty when the server sent none.
    pub const fn reason(&self) -> &'a str {
        self.reason
    }

    /// Every header, in the order received.
    pub const fn headers(&self) -> &'a [Header<'a>] {
        self.headers
    }

    /// The length of the head (status line, headers, empty line): with
    /// [`body`](Response::body)'s length, how much of the buffer the
    /// response used.
    pub const fn head_len(&self) -> usize {
        self.layout.head_len
    }

    pub(super) const fn layout(&self) -> Layout {
        self.layout
    }

    /// Parses again a response that [`read_response`] left in `buf`, into
    /// another header array: the driver reads with a header array of its
    /// own and hands the caller a response in the caller's.
    pub(super) fn reparse<'b: 'a>(
        buf: &'b [u8],
        layout: Layout,
        headers: &'a mut [Header<'b>],
    ) -> Result<Self, WireError> {
        let broken = WireError::malformed("inconsistent framing state");
        let head = buf.get(..layout.head_len).ok_or(broken)?;
        let body = buf.get(layout.head_len..layout.used()).ok_or(broken)?;
        let (status, reason, headers) = parse_head(head, headers)?;
        Ok(WireResponse {
            status,
            reason,
            headers,
            body,
            layout,
        })
    }
}

impl Response for WireResponse<'_> {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    fn body(&self) -> &[u8] {
        self.body
    }
}

impl fmt::Debug for WireResponse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireResponse")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("headers", &HeaderNames(self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Prints the names of headers, not their values.
struct HeaderNames<'a>(&'a [Header<'a>]);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|header| header.name))
            .finish()
    }
}

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
    let (head_len, filled) = read_head(stream, buf)?;
    let broken = WireError::malformed("inconsistent framing state");
    let (head, region) = buf.split_at_mut_checked(head_len).ok_or(broken)?;
    let head: &'b [u8] = head;
    let (status, reason, headers) = parse_head(head, headers)?;
    let framing = Framing::of(status, headers)?;
    let body_len = read_body(stream, region, filled.saturating_sub(head_len), framing)?;
    let region: &'b [u8] = region;
    let body = region.get(..body_len).ok_or(broken)?;
    Ok(WireResponse {
        status,
        reason,
        headers,
        body,
        layout: Layout { head_len, body_len },
    })
}

/// Parses a complete head into `headers`: status, reason, headers.
fn parse_head<'h, 'b>(
    head: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<(u16, &'b str, &'h [Header<'b>]), WireError> {
    let capacity = headers.len();
    let mut response = httparse::Response::new(headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Err(httparse::Error::TooManyHeaders) => {
            return Err(WireError::TooManyHeaders { capacity });
        }
        // A head the scanner found complete that httparse finds partial,
        // or longer, is not one both read alike: refused.
        Ok(_) | Err(_) => return Err(WireError::malformed("the response head")),
    }
    let httparse::Response {
        code,
        reason,
        headers,
        ..
    } = response;
    let status = code.ok_or(WireError::malformed("the status line"))?;
    Ok((status, reason.unwrap_or_default(), headers))
}

/// Reads until `buf` starts with the head of a final (not `1xx`) response.
/// Returns the head's length and how many bytes of `buf` were filled.
///
/// Each pass of each loop either reads at least one byte or ends, and the
/// number of interim answers is bounded, so a server cannot keep it busy
/// for ever without sending bytes, nor fill it past `buf`.
fn read_head<S: Read + ?Sized>(
    stream: &mut S,
    buf: &mut [u8],
) -> Result<(usize, usize), WireError> {
    let mut filled = 0;
    let mut interim = 0;
    loop {
        let mut scanner = HeadScanner::default();
        let head_len = loop {
            if let Some(end) = scanner.scan(buf.get(..filled).unwrap_or_default()) {
                break end;
            }
            let capacity = buf.len();
            let space = buf
                .get_mut(filled..)
                .filter(|space| !space.is_empty())
                .ok_or(WireError::HeadTooLarge { capacity })?;
            match read_some(stream, space)? {
                0 => return Err(WireError::Truncated),
                read => filled += read,
            }
        };
        let status_line = buf
            .get(scanner.status_line.clone())
            .ok_or(WireError::malformed("the status line"))?;
        match status_of(status_line)? {
            101 => return Err(WireError::malformed("a protocol switch nobody asked for")),
            100..=199 => {
                interim += 1;
                if interim > MAX_INTERIM {
                    return Err(WireError::malformed("too many interim responses"));
                }
                // The interim head is dropped; what came after it is the
                // start of the next answer.
                shift(buf, head_len..filled, 0)?;
                filled -= head_len;
            }
            _ => return Ok((head_len, filled)),
        }
    }
}

/// The status code of a status line (with its line end), parsed by
/// `httparse`: a head cut after its status line is a partial head whose
/// code is already filled in.
fn status_of(status_line: &[u8]) -> Result<u16, WireError> {
    let mut response = httparse::Response::new(&mut []);
    match response.parse(status_line) {
        Ok(_) => response.code.ok_or(WireError::malformed("the status line")),
        Err(_) => Err(WireError::malformed("the status line")),
    }
}

/// Finds where a head ends (the first empty line after a non-empty one)
/// and where its status line is, one byte at a time, resuming where the
/// last call stopped, so that a head read in many small pieces is scanned
/// once.
#[derive(Debug, Default)]
struct HeadScanner {
    /// The next byte to look at.
    pos: usize,
    /// Whether a non-empty line was seen (empty lines before the status
    /// line are skipped, as `httparse` skips them).
    started: bool,
    /// Whether the current line has nothing but CR so far.
    line_has_content: bool,
    /// The status line with its line end, once it is complete.
    status_line: core::ops::Range<usize>,
}

impl HeadScanner {
    /// The head's length, if `bytes` holds all of it.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        while let Some(&byte) = bytes.get(self.pos) {
            self.pos += 1;
            match byte {
                b'\n' if self.started && !self.line_has_content => return Some(self.pos),
                b'\n' => {
                    if self.started && self.status_line.end == 0 {
                        self.status_line.end = self.pos;
                    }
                    self.line_has_content = false;
                }
                b'\r' => {}
                _ => {
                    if !self.started {
                        self.started = true;
                        self.status_line.start = self.pos - 1;
                    }
                    self.line_has_content = true;
                }
            }
        }
        None
    }
}
