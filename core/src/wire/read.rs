//! One HTTP/1.1 response in the caller's buffer: the head first (parsed by
//! `httparse` into the caller's header array), interim `1xx` answers
//! skipped, then the body right after the head, however it is framed. The
//! result borrows the buffer and is read by the session through
//! [`Response`] without a copy.
//!
//! Sans-IO, as the body's reader: [`HeadReader`] finds the head in what
//! a loop reads into the buffer, [`HeadEnd::parse`] turns it into the
//! reader of the body, [`ParsedHead::with_body`] into the response. The
//! blocking [`read_response`](super::read_response) and its async twin are
//! those three steps around a stream.

use core::fmt;

use httparse::Header;

use super::WireError;
use super::body::{BodyReader, Framing, Next, Reader, checked_read, shift};
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

/// Where the head of the final response ends in the buffer, and how much
/// of the buffer was filled with it (the rest is the body's start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct HeadEnd {
    head_len: usize,
    filled: usize,
}

/// A response's head and status, parsed; the body is still to be read.
#[derive(Debug)]
pub(super) struct ParsedHead<'h> {
    status: u16,
    reason: &'h str,
    headers: &'h [Header<'h>],
    head_len: usize,
}

impl HeadEnd {
    /// Parses the head that `buf` starts with into `headers`; gives it with
    /// the rest of `buf` (where the body goes) and the reader of the body.
    pub(super) fn parse<'h, 'b: 'h>(
        self,
        buf: &'b mut [u8],
        headers: &'h mut [Header<'b>],
    ) -> Result<(ParsedHead<'h>, &'b mut [u8], BodyReader), WireError> {
        let broken = WireError::malformed("inconsistent framing state");
        let (head, region) = buf.split_at_mut_checked(self.head_len).ok_or(broken)?;
        let head: &'b [u8] = head;
        let (status, reason, headers) = parse_head(head, headers)?;
        let framing = Framing::of(status, headers)?;
        let body = BodyReader::new(
            framing,
            self.filled.saturating_sub(self.head_len),
            region.len(),
        )?;
        let head = ParsedHead {
            status,
            reason,
            headers,
            head_len: self.head_len,
        };
        Ok((head, region, body))
    }
}

impl<'h> ParsedHead<'h> {
    /// The response, its body the first `body_len` bytes of `region`.
    pub(super) fn with_body(
        self,
        region: &'h [u8],
        body_len: usize,
    ) -> Result<WireResponse<'h>, WireError> {
        let body = region
            .get(..body_len)
            .ok_or(WireError::malformed("inconsistent framing state"))?;
        Ok(WireResponse {
            status: self.status,
            reason: self.reason,
            headers: self.headers,
            body,
            layout: Layout {
                head_len: self.head_len,
                body_len,
            },
        })
    }
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

/// Reads until the buffer starts with the head of a final (not `1xx`)
/// response; gives where the head ends and how much was filled.
///
/// Each round either reads at least one byte or ends, and the number of
/// interim answers is bounded, so a server cannot keep it busy for ever
/// without sending bytes, nor fill it past the buffer.
#[derive(Debug, Default)]
pub(super) struct HeadReader {
    filled: usize,
    interim: usize,
    scanner: HeadScanner,
    /// The size of the space the last `next` gave.
    asked: usize,
}

impl Reader for HeadReader {
    type Output = HeadEnd;

    fn next<'s>(&'s mut self, buf: &'s mut [u8]) -> Result<Next<'s, HeadEnd>, WireError> {
        while let Some(head_len) = self
            .scanner
            .scan(buf.get(..self.filled).unwrap_or_default())
        {
            let status_line = buf
                .get(self.scanner.status_line.clone())
                .ok_or(WireError::malformed("the status line"))?;
            match status_of(status_line)? {
                101 => return Err(WireError::malformed("a protocol switch nobody asked for")),
                100..=199 => {
                    self.interim += 1;
                    if self.interim > MAX_INTERIM {
                        return Err(WireError::malformed("too many interim responses"));
                    }
                    // The interim head is dropped; what came after it is the
                    // start of the next answer.
                    shift(buf, head_len..self.filled, 0)?;
                    self.filled -= head_len;
                    self.scanner = HeadScanner::default();
                }
                _ => {
                    return Ok(Next::Done(HeadEnd {
                        head_len,
                        filled: self.filled,
                    }));
                }
            }
        }
        let capacity = buf.len();
        let space = buf
            .get_mut(self.filled..)
            .filter(|space| !space.is_empty())
            .ok_or(WireError::HeadTooLarge { capacity })?;
        self.asked = space.len();
        Ok(Next::Read(space))
    }

    fn advance(&mut self, read: usize) -> Result<(), WireError> {
        match checked_read(read, self.asked)? {
            0 => Err(WireError::Truncated),
            read => {
                self.filled += read;
                self.asked = 0;
                Ok(())
            }
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
