//! How a fuzz input becomes a response: a tiny framing that libFuzzer can
//! mutate and a person can still write by hand.
//!
//! ```text
//! [status: u16 big-endian] [header count n (mod 4)]
//! n × ([name selector] [value length] [value bytes])
//! [body: the rest]
//! ```
//!
//! The status is taken whole, so that statuses no server sends (0, 999,
//! 65535) are tried too; the header names are the ones the core reads.

use authsession_core::ResponseParts;

/// The header names a frame can carry, picked by a selector byte (mod the
/// length): the ones the providers read, in two spellings.
pub const HEADER_NAMES: [&str; 6] = [
    "Retry-After",
    "X-Request-Id",
    "request-ref",
    "Content-Type",
    "retry-after",
    "x-ratelimit-reset",
];

/// The most headers one frame carries.
pub const MAX_HEADERS: usize = 3;

/// A response read from fuzz bytes; [`Frame::parts`] lends it to the core.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(&'static str, &'a [u8])>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Reads a frame; missing bytes read as a status of 0, no headers and
    /// an empty body, so that every input is a response.
    pub fn read(data: &'a [u8]) -> Self {
        let (status, rest) = match data {
            [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
            _ => return Frame::default(),
        };
        let Some((&count, mut rest)) = rest.split_first() else {
            return Frame {
                status,
                ..Frame::default()
            };
        };
        let mut headers = Vec::new();
        for _ in 0..usize::from(count) % (MAX_HEADERS + 1) {
            let [selector, length, tail @ ..] = rest else {
                break;
            };
            let length = usize::from(*length).min(tail.len());
            let (value, tail) = tail.split_at(length);
            headers.push((
                HEADER_NAMES[usize::from(*selector) % HEADER_NAMES.len()],
                value,
            ));
            rest = tail;
        }
        Frame {
            status,
            headers,
            body: rest,
        }
    }

    /// The response as the core reads it.
    pub fn parts(&self) -> ResponseParts<'_> {
        ResponseParts::new(self.status, self.body).with_headers(&self.headers)
    }
}

/// The bytes of a frame: the inverse of [`Frame::read`], for writing seeds.
/// Header values longer than 255 bytes and more than [`MAX_HEADERS`]
/// headers cannot be framed and are left out.
pub fn encode(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let framed: Vec<(u8, &[u8])> = headers
        .iter()
        .filter_map(|(name, value)| {
            let selector = HEADER_NAMES.iter().position(|known| known == name)?;
            u8::try_from(value.len())
                .is_ok()
                .then_some((u8::try_from(selector).ok()?, *value))
        })
        .take(MAX_HEADERS)
        .collect();
    let mut out = Vec::with_capacity(3 + body.len());
    out.extend_from_slice(&status.to_be_bytes());
    out.push(u8::try_from(framed.len()).unwrap_or(0));
    for (selector, value) in framed {
        out.push(selector);
        out.push(u8::try_from(value.len()).unwrap_or(0));
        out.extend_from_slice(value);
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_what_was_encoded() {
        let bytes = encode(
            429,
            &[("Retry-After", b"30"), ("X-Request-Id", b"r-1")],
            b"{}",
        );
        let frame = Frame::read(&bytes);
        assert_eq!(frame.status, 429);
        assert_eq!(
            frame.headers,
            [("Retry-After", &b"30"[..]), ("X-Request-Id", b"r-1")]
        );
        assert_eq!(frame.body, b"{}");
    }

    #[test]
    fn short_inputs_are_responses_too() {
        assert_eq!(Frame::read(b"").status, 0);
        assert_eq!(Frame::read(b"\x01\xf4").status, 500);
        let cut = Frame::read(b"\x00\xc8\x02\x00\x05ab");
        assert_eq!(cut.headers, [("Retry-After", &b"ab"[..])]);
        assert!(cut.body.is_empty());
    }
}
