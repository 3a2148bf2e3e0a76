//! The three ways an HTTP/1.1 response body is framed (RFC 9112 §6.3),
//! read into the part of the caller's buffer that the head left: a
//! `Content-Length`, `chunked` transfer coding (decoded in place, the
//! framing squeezed out as the data moves down), or the end of the stream.

use core::ops::Range;

use embedded_io::Read;
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

/// Reads the body framed by `framing` into `region`, whose first `filled`
/// bytes were read with the head. Returns the body's length; the body is
/// `region[..length]`.
pub(super) fn read_body<S: Read + ?Sized>(
    stream: &mut S,
    region: &mut [u8],
    filled: usize,
    framing: Framing,
) -> Result<usize, WireError> {
    match framing {
        Framing::Empty => Ok(0),
        Framing::Length(length) => read_length(stream, region, filled, length),
        Framing::UntilClose => read_until_close(stream, region, filled),
        Framing::Chunked => Chunked {
            stream,
            region,
            out: 0,
            pos: 0,
            filled,
        }
        .run(),
    }
}

fn read_length<S: Read + ?Sized>(
    stream: &mut S,
    region: &mut [u8],
    filled: usize,
    length: u64,
) -> Result<usize, WireError> {
    let capacity = region.len();
    let length = usize::try_from(length)
        .ok()
        .filter(|length| *length <= capacity)
        .ok_or(WireError::BodyTooLarge { capacity })?;
    // Bytes past the length were sent after the response: not ours.
    let mut have = filled.min(length);
    // Never reads past the length, so a connection kept open is left at
    // the start of the next response.
    while let Some(space) = region
        .get_mut(have..length)
        .filter(|space| !space.is_empty())
    {
        match read_some(stream, space)? {
            0 => return Err(WireError::Truncated),
            read => have += read,
        }
    }
    Ok(length)
}

fn read_until_close<S: Read + ?Sized>(
    stream: &mut S,
    region: &mut [u8],
    filled: usize,
) -> Result<usize, WireError> {
    let mut have = filled.min(region.len());
    while let Some(space) = region.get_mut(have..).filter(|space| !space.is_empty()) {
        match read_some(stream, space)? {
            0 => return Ok(have),
            read => have += read,
        }
    }
    // The buffer is full: the body fits only if the stream ends right
    // here, which one more byte tells.
    let mut probe = [0u8; 1];
    match read_some(stream, &mut probe)? {
        0 => Ok(have),
        _ => Err(WireError::BodyTooLarge {
            capacity: region.len(),
        }),
    }
}

/// One `read` into a non-empty `space`: the bytes read, 0 at the end of the
/// stream.
pub(super) fn read_some<S: Read + ?Sized>(
    stream: &mut S,
    space: &mut [u8],
) -> Result<usize, WireError> {
    let read = stream.read(space).map_err(|error| WireError::io(&error))?;
    if read > space.len() {
        // A stream that claims more than it was given is broken.
        return Err(WireError::Io(embedded_io::ErrorKind::Other));
    }
    Ok(read)
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
struct Chunked<'r, S: ?Sized> {
    stream: &'r mut S,
    region: &'r mut [u8],
    out: usize,
    pos: usize,
    filled: usize,
}

impl<S: Read + ?Sized> Chunked<'_, S> {
    fn run(mut self) -> Result<usize, WireError> {
        loop {
            let size = self.chunk_size()?;
            if size == 0 {
                self.skip_trailers()?;
                return Ok(self.out);
            }
            self.chunk_data(size)?;
            self.line_end()?;
        }
    }

    fn pending(&self) -> &[u8] {
        self.region.get(self.pos..self.filled).unwrap_or_default()
    }

    fn capacity_error(&self) -> WireError {
        WireError::BodyTooLarge {
            capacity: self.region.len(),
        }
    }

    /// Reads more raw bytes after moving the pending ones down to `out`,
    /// which frees the room the decoded framing took. Every call reads at
    /// least one byte or fails, so no loop over it can spin.
    fn more(&mut self) -> Result<(), WireError> {
        if self.pos > self.out {
            shift(self.region, self.pos..self.filled, self.out)?;
            self.filled -= self.pos - self.out;
            self.pos = self.out;
        }
        let error = self.capacity_error();
        let space = self
            .region
            .get_mut(self.filled..)
            .filter(|space| !space.is_empty())
            .ok_or(error)?;
        match read_some(self.stream, space)? {
            0 => Err(WireError::Truncated),
            read => {
                self.filled += read;
                Ok(())
            }
        }
    }

    /// The size line of the next chunk, its extensions ignored.
    fn chunk_size(&mut self) -> Result<u64, WireError> {
        let invalid = WireError::malformed("an invalid chunk size");
        loop {
            let pending = self.pending();
            // httparse takes an empty size as zero; the grammar wants a digit.
            if pending
                .first()
                .is_some_and(|byte| !byte.is_ascii_hexdigit())
            {
                return Err(invalid);
            }
            match httparse::parse_chunk_size(pending) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.pos += used;
                    return Ok(size);
                }
                Ok(httparse::Status::Partial) => self.more()?,
                Err(httparse::InvalidChunkSize) => return Err(invalid),
            }
        }
    }

    /// Moves the chunk's `size` bytes down to `out`, reading as needed.
    fn chunk_data(&mut self, size: u64) -> Result<(), WireError> {
        let room = self.region.len().saturating_sub(self.out);
        let mut left = usize::try_from(size)
            .ok()
            .filter(|size| *size <= room)
            .ok_or(self.capacity_error())?;
        while left > 0 {
            let take = left.min(self.filled.saturating_sub(self.pos));
            if take == 0 {
                self.more()?;
                continue;
            }
            shift(self.region, self.pos..self.pos + take, self.out)?;
            self.out += take;
            self.pos += take;
            left -= take;
        }
        Ok(())
    }

    /// The CR LF that ends a chunk's data.
    fn line_end(&mut self) -> Result<(), WireError> {
        while self.pending().len() < 2 {
            self.more()?;
        }
        if self.pending().get(..2) != Some(b"\r\n") {
            return Err(WireError::malformed("chunk data longer than its size"));
        }
        self.pos += 2;
        Ok(())
    }

    /// Skips the trailer fields up to the empty line that ends the body.
    /// They are not merged into the head: nothing the session reads comes
    /// in a trailer. They are dropped as they are read, so they take no
    /// room, but they (with the empty line) may not be longer than the
    /// region either.
    ///
    /// The limit is counted byte by byte, as each byte is looked at: a
    /// check made only when the bytes read so far run out would pass or
    /// fail depending on where the stream's reads happen to end.
    fn skip_trailers(&mut self) -> Result<(), WireError> {
        let limit = self.region.len();
        let mut line_empty = true;
        let mut skipped = 0usize;
        loop {
            while let Some(&byte) = self.pending().first() {
                skipped += 1;
                if skipped > limit {
                    return Err(self.capacity_error());
                }
                self.pos += 1;
                match byte {
                    b'\n' if line_empty => return Ok(()),
                    b'\n' => line_empty = true,
                    b'\r' => {}
                    _ => line_empty = false,
                }
            }
            self.more()?;
        }
    }
}
