//! The three ways an HTTP/1.1 response body is framed (RFC 9112 §6.3),
//! read into the part of the caller's buffer that the head left: a
//! `Content-Length`, `chunked` transfer coding (decoded in place, the
//! framing squeezed out as the data moves down), or the end of the stream.
//!
//! The reading is sans-IO: a [`Reader`] says which bytes it needs next and
//! is told how many came. The loops that feed it from a stream, one
//! blocking and one async, are the only code that knows which kind of
//! stream it is (`blocking.rs`, `asynch.rs`); every limit, every framing
//! rule and every error is decided here, once.

use core::ops::Range;

use httparse::Header;

use super::WireError;

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body whatever follows (`204`, `304`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything up to the end of the stream.
    UntilClose,
}

impl Framing {
    /// The framing a response's status and headers give, or why they give
    /// none that can be trusted: a body whose end is ambiguous could let a
    /// forged response be read out of it.
    pub(super) fn of(status: u16, headers: &[Header<'_>]) -> Result<Framing, WireError> {
        let named = |name: &'static str| {
            headers
                .iter()
                .filter(move |header| header.name.eq_ignore_ascii_case(name))
        };
        let has_coding = named("transfer-encoding").next().is_some();
        let length = content_length(headers)?;
        if matches!(status, 204 | 304) {
            // These never have a body. A length of zero agrees (tiny_http
            // and other servers send one on a 204); any other length or a
            // transfer coding is a server confused about where its answer
            // ends, and what follows could be read as the next answer.
            return match (length, has_coding) {
                (None | Some(0), false) => Ok(Framing::Empty),
                _ => Err(WireError::malformed("a body length on a 204 or 304")),
            };
        }
        if has_coding {
            if length.is_some() {
                return Err(WireError::malformed(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            let mut codings = named("transfer-encoding")
                .flat_map(|header| header.value.split(|&byte| byte == b','))
                .map(trim)
                .filter(|coding| !coding.is_empty());
            // Only `chunked` alone can be decoded here: we never ask for a
            // compressed body, and a coding we cannot undo is no body at all.
            return match (codings.next(), codings.next()) {
                (Some(coding), None) if coding.eq_ignore_ascii_case(b"chunked") => {
                    Ok(Framing::Chunked)
                }
                _ => Err(WireError::malformed("a transfer coding other than chunked")),
            };
        }
        Ok(length.map_or(Framing::UntilClose, Framing::Length))
    }
}

/// The `Content-Length` of a response, if it gives one: every value of
/// every such header must be the same number.
fn content_length(headers: &[Header<'_>]) -> Result<Option<u64>, WireError> {
    let mut length = None;
    for value in headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case("content-length"))
        .flat_map(|header| header.value.split(|&byte| byte == b','))
        .map(trim)
    {
        let parsed = parse_length(value)?;
        match length {
            Some(earlier) if earlier != parsed => {
                return Err(WireError::malformed("conflicting Content-Length values"));
            }
            _ => length = Some(parsed),
        }
    }
    Ok(length)
}

/// A `Content-Length` value: decimal digits only (no sign, no space
/// inside), at most a `u64`.
fn parse_length(value: &[u8]) -> Result<u64, WireError> {
    let invalid = WireError::malformed("a Content-Length that is not a number");
    if value.is_empty() {
        return Err(invalid);
    }
    value.iter().try_fold(0u64, |length, &byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit < 10);
        digit
            .and_then(|digit| length.checked_mul(10)?.checked_add(u64::from(digit)))
            .ok_or(invalid)
    })
}

/// `value` without the spaces and tabs around it.
fn trim(value: &[u8]) -> &[u8] {
    let is_space = |byte: &u8| matches!(byte, b' ' | b'\t');
    let start = value.iter().position(|byte| !is_space(byte));
    let end = value.iter().rposition(|byte| !is_space(byte));
    match (start, end) {
        (Some(start), Some(end)) => value.get(start..=end).unwrap_or_default(),
        _ => &[],
    }
}

/// What a [`Reader`] needs next.
#[derive(Debug)]
pub(super) enum Next<'s, T> {
    /// Bytes from the stream, read into this space (never empty); the
    /// count goes to [`Reader::advance`], 0 at the end of the stream.
    Read(&'s mut [u8]),
    /// Nothing more: the result.
    Done(T),
}

/// A reader of part of a response (the head, the body) over the caller's
/// buffer, fed by a loop around a stream: [`next`](Self::next) says where
/// to read, the loop reads once and hands the count to
/// [`advance`](Self::advance). Each round reads at least one byte or ends
/// the reading, and the room to read into is bounded by the buffer, so no
/// loop over a reader can spin.
pub(super) trait Reader {
    /// What the reader gives when it is done.
    type Output;

    /// Works through what was read into `buf` so far; says where to read
    /// next or gives the result. `buf` is the same buffer at every call.
    fn next<'s>(&'s mut self, buf: &'s mut [u8]) -> Result<Next<'s, Self::Output>, WireError>;

    /// `read` bytes came into the space the last [`next`](Self::next)
    /// gave; 0 means the stream ended.
    fn advance(&mut self, read: usize) -> Result<(), WireError>;
}

/// The count of one read into a space of `asked` bytes, checked.
pub(super) fn checked_read(read: usize, asked: usize) -> Result<usize, WireError> {
    if read > asked {
        // A stream that claims more than it was given is broken.
        return Err(WireError::Io(embedded_io::ErrorKind::Other));
    }
    Ok(read)
}

/// The body framed by a [`Framing`], read into the region of the buffer
/// that the head left (`region`, the same slice at every call), whose
/// first bytes were read with the head. Its output is the body's length:
/// the body is `region[..length]`.
#[derive(Debug)]
pub(super) struct BodyReader {
    state: Body,
    /// The one byte read past a full region, for a body framed by the end
    /// of the stream: whether the stream ends there.
    probe: [u8; 1],
    /// The size of the space the last `next` gave.
    asked: usize,
}

#[derive(Clone, Copy, Debug)]
enum Body {
    /// Read: the body is `region[..length]`.
    Done {
        length: usize,
    },
    /// `region[..have]` of a body of `length` bytes is in.
    Length {
        length: usize,
        have: usize,
    },
    /// `region[..have]` is in; the body goes on to the end of the stream.
    UntilClose {
        have: usize,
    },
    /// The region is full (`have` is its size): the body fits only if the
    /// stream ends right here, which one more byte tells.
    Probe {
        have: usize,
    },
    Chunked(Chunked),
}

impl BodyReader {
    /// The reader of a body framed by `framing` into a region of
    /// `capacity` bytes whose first `filled` were read with the head.
    pub(super) fn new(framing: Framing, filled: usize, capacity: usize) -> Result<Self, WireError> {
        let state = match framing {
            Framing::Empty => Body::Done { length: 0 },
            Framing::Length(length) => {
                let length = usize::try_from(length)
                    .ok()
                    .filter(|length| *length <= capacity)
                    .ok_or(WireError::BodyTooLarge { capacity })?;
                // Bytes past the length were sent after the response: not
                // ours.
                Body::Length {
                    length,
                    have: filled.min(length),
                }
            }
            Framing::UntilClose => Body::UntilClose {
                have: filled.min(capacity),
            },
            Framing::Chunked => Body::Chunked(Chunked {
                out: 0,
                pos: 0,
                filled,
                step: ChunkStep::Size,
            }),
        };
        Ok(BodyReader {
            state,
            probe: [0],
            asked: 0,
        })
    }
}

impl Reader for BodyReader {
    type Output = usize;

    fn next<'s>(&'s mut self, region: &'s mut [u8]) -> Result<Next<'s, usize>, WireError> {
        let broken = WireError::malformed("inconsistent framing state");
        let space = match self.state {
            Body::Done { length } => return Ok(Next::Done(length)),
            Body::Length { length, have } if have >= length => {
                self.state = Body::Done { length };
                return Ok(Next::Done(length));
            }
            // Never reads past the length, so a connection kept open is
            // left at the start of the next response.
            Body::Length { length, have } => region.get_mut(have..length).ok_or(broken)?,
            Body::UntilClose { have } if have >= region.len() => {
                self.state = Body::Probe { have };
                &mut self.probe[..]
            }
            Body::UntilClose { have } => region.get_mut(have..).ok_or(broken)?,
            Body::Probe { .. } => &mut self.probe[..],
            Body::Chunked(ref mut chunked) => match chunked.next(region)? {
                Next::Read(space) => space,
                Next::Done(length) => {
                    self.state = Body::Done { length };
                    return Ok(Next::Done(length));
                }
            },
        };
        self.asked = space.len();
        Ok(Next::Read(space))
    }

    fn advance(&mut self, read: usize) -> Result<(), WireError> {
        let read = checked_read(read, self.asked)?;
        self.asked = 0;
        match &mut self.state {
            Body::Length { have, .. } => match read {
                0 => return Err(WireError::Truncated),
                read => *have += read,
            },
            Body::UntilClose { have } => match read {
                0 => self.state = Body::Done { length: *have },
                read => *have += read,
            },
            Body::Probe { have } => match read {
                0 => self.state = Body::Done { length: *have },
                _ => return Err(WireError::BodyTooLarge { capacity: *have }),
            },
            Body::Chunked(chunked) => chunked.advance(read)?,
            Body::Done { .. } => return Err(WireError::malformed("inconsistent framing state")),
        }
        Ok(())
    }
}

/// Moves `region[from]` down to start at `to` (`to <= from.start`).
pub(super) fn shift(region: &mut [u8], from: Range<usize>, to: usize) -> Result<(), WireError> {
    let broken = WireError::malformed("inconsistent framing state");
    if from.start > from.end {
        return Err(broken);
    }
    let offset = from.start.checked_sub(to).ok_or(broken)?;
    let window = region.get_mut(to..from.end).ok_or(broken)?;
    // `offset <= window.len()` since `from.start <= from.end`.
    window.copy_within(offset.., 0);
    Ok(())
}

/// A chunked body decoded in place. `region[..out]` is the decoded body so
/// far, `region[pos..filled]` the raw bytes read but not yet decoded, and
/// `out <= pos` always: framing only ever shrinks, so the data moves down.
#[derive(Clone, Copy, Debug)]
struct Chunked {
    out: usize,
    pos: usize,
    filled: usize,
    step: ChunkStep,
}

/// Where a chunked body's decoding is.
#[derive(Clone, Copy, Debug)]
enum ChunkStep {
    /// The size line of the next chunk, its extensions ignored.
    Size,
    /// `left` bytes of the chunk's data are still to be moved down.
    Data { left: usize },
    /// The CR LF that ends a chunk's data.
    DataEnd,
    /// The trailer fields up to the empty line that ends the body: how
    /// many bytes were skipped so far, and whether the current line is
    /// empty so far.
    Trailers { line_empty: bool, skipped: usize },
}

impl Chunked {
    fn pending<'r>(&self, region: &'r [u8]) -> &'r [u8] {
        region.get(self.pos..self.filled).unwrap_or_default()
    }

    /// Decodes what was read; says where to read more, or gives the
    /// body's length once the last chunk and the trailers are through.
    /// Each pass of the loop moves on through the bytes read or returns,
    /// so it ends.
    fn next<'r>(&mut self, region: &'r mut [u8]) -> Result<Next<'r, usize>, WireError> {
        let capacity = region.len();
        loop {
            match self.step {
                ChunkStep::Size => {
                    let invalid = WireError::malformed("an invalid chunk size");
                    let pending = self.pending(region);
                    // httparse takes an empty size as zero; the grammar wants
                    // a digit.
                    if pending
                        .first()
                        .is_some_and(|byte| !byte.is_ascii_hexdigit())
                    {
                        return Err(invalid);
                    }
                    match httparse::parse_chunk_size(pending) {
                        Ok(httparse::Status::Complete((used, 0))) => {
                            self.pos += used;
                            self.step = ChunkStep::Trailers {
                                line_empty: true,
                                skipped: 0,
                            };
                        }
                        Ok(httparse::Status::Complete((used, size))) => {
                            self.pos += used;
                            let room = capacity.saturating_sub(self.out);
                            let left = usize::try_from(size)
                                .ok()
                                .filter(|size| *size <= room)
                                .ok_or(WireError::BodyTooLarge { capacity })?;
                            self.step = ChunkStep::Data { left };
                        }
                        Ok(httparse::Status::Partial) => return self.more(region),
                        Err(httparse::InvalidChunkSize) => return Err(invalid),
                    }
                }
                ChunkStep::Data { left: 0 } => self.step = ChunkStep::DataEnd,
                ChunkStep::Data { left } => {
                    let take = left.min(self.filled.saturating_sub(self.pos));
                    if take == 0 {
                        return self.more(region);
                    }
                    shift(region, self.pos..self.pos + take, self.out)?;
                    self.out += take;
                    self.pos += take;
                    self.step = ChunkStep::Data { left: left - take };
                }
                ChunkStep::DataEnd => {
                    let pending = self.pending(region);
                    if pending.len() < 2 {
                        return self.more(region);
                    }
                    if pending.get(..2) != Some(b"\r\n") {
                        return Err(WireError::malformed("chunk data longer than its size"));
                    }
                    self.pos += 2;
                    self.step = ChunkStep::Size;
                }
                ChunkStep::Trailers {
                    mut line_empty,
                    mut skipped,
                } => {
                    // Trailers are not merged into the head: nothing the
                    // session reads comes in a trailer. They are dropped as
                    // they are read, so they take no room, but they (with
                    // the empty line) may not be longer than the region
                    // either. The limit is counted byte by byte, as each
                    // byte is looked at: a check made only when the bytes
                    // read so far run out would pass or fail depending on
                    // where the stream's reads happen to end.
                    while let Some(&byte) = self.pending(region).first() {
                        skipped += 1;
                        if skipped > capacity {
                            return Err(WireError::BodyTooLarge { capacity });
                        }
                        self.pos += 1;
                        match byte {
                            b'\n' if line_empty => return Ok(Next::Done(self.out)),
                            b'\n' => line_empty = true,
                            b'\r' => {}
                            _ => line_empty = false,
                        }
                    }
                    self.step = ChunkStep::Trailers {
                        line_empty,
                        skipped,
                    };
                    return self.more(region);
                }
            }
        }
    }

    /// Where to read more raw bytes, after moving the pending ones down to
    /// `out`, which frees the room the decoded framing took.
    fn more<'r>(&mut self, region: &'r mut [u8]) -> Result<Next<'r, usize>, WireError> {
        if self.pos > self.out {
            shift(region, self.pos..self.filled, self.out)?;
            self.filled -= self.pos - self.out;
            self.pos = self.out;
        }
        let capacity = region.len();
        region
            .get_mut(self.filled..)
            .filter(|space| !space.is_empty())
            .map(Next::Read)
            .ok_or(WireError::BodyTooLarge { capacity })
    }

    fn advance(&mut self, read: usize) -> Result<(), WireError> {
        match read {
            0 => Err(WireError::Truncated),
            read => {
                self.filled += read;
                Ok(())
            }
        }
    }
}
