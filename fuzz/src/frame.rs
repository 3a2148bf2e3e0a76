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
//! 65535) are tried too; the header names are the ones the core reads
//! ([`HEADER_NAMES`], or another list given to [`Frame::read_with`]).
//!
//! A target that reads several responses from one input takes each but the
//! last with [`Frame::read_prefixed`], whose body is as long as the byte
//! before it says:
//!
//! ```text
//! [status: u16 big-endian] [header count n (mod 4)]
//! n × ([name selector] [value length] [value bytes])
//! [body length] [body bytes]         and the rest is the next response
//! ```

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

/// The header names of a payment's strong customer authentication
/// (Currencycloud's validate answer and the call's error), each in two
/// spellings, for [`Frame::read_with`] (the `payment_sca` target).
pub const SCA_HEADER_NAMES: [&str; 8] = [
    "x-sca-id",
    "x-sca-type",
    "x-sca-required",
    "X-Request-Id",
    "X-SCA-ID",
    "X-Sca-Type",
    "X-SCA-REQUIRED",
    "x-request-id",
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
    /// Reads a frame whose header names are [`HEADER_NAMES`]; missing bytes
    /// read as a status of 0, no headers and an empty body, so that every
    /// input is a response.
    pub fn read(data: &'a [u8]) -> Self {
        Self::read_with(data, &HEADER_NAMES)
    }

    /// Reads a frame whose selectors pick among `names` (mod its length;
    /// no headers if it is empty); the body is the rest.
    pub fn read_with(data: &'a [u8], names: &[&'static str]) -> Self {
        let (mut frame, rest) = Self::read_head(data, names);
        frame.body = rest;
        frame
    }

    /// Reads a frame whose body is as long as its first byte says (or what
    /// is left, if less), and returns it with the bytes after it: the next
    /// frame. A missing length byte reads as an empty body.
    pub fn read_prefixed(data: &'a [u8], names: &[&'static str]) -> (Self, &'a [u8]) {
        let (mut frame, rest) = Self::read_head(data, names);
        let Some((&length, rest)) = rest.split_first() else {
            return (frame, &[]);
        };
        let (body, rest) = rest.split_at(usize::from(length).min(rest.len()));
        frame.body = body;
        (frame, rest)
    }

    /// The status and the headers, with an empty body, and the bytes after
    /// them.
    fn read_head(data: &'a [u8], names: &[&'static str]) -> (Self, &'a [u8]) {
        let (status, rest) = match data {
            [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
            _ => return (Frame::default(), &[]),
        };
        let Some((&count, mut rest)) = rest.split_first() else {
            return (
                Frame {
                    status,
                    ..Frame::default()
                },
                &[],
            );
        };
        let mut headers = Vec::new();
        for _ in 0..usize::from(count) % (MAX_HEADERS + 1) {
            let [selector, length, tail @ ..] = rest else {
                break;
            };
            let length = usize::from(*length).min(tail.len());
            let (value, tail) = tail.split_at(length);
            rest = tail;
            if names.is_empty() {
                continue;
            }
            headers.push((names[usize::from(*selector) % names.len()], value));
        }
        (
            Frame {
                status,
                headers,
                body: &[],
            },
            rest,
        )
    }

    /// The response as the core reads it.
    pub fn parts(&self) -> ResponseParts<'_> {
        ResponseParts::new(self.status, self.body).with_headers(&self.headers)
    }
}

/// The bytes of a frame: the inverse of [`Frame::read`], for writing seeds.
/// Header values longer than 255 bytes, names not in [`HEADER_NAMES`] and
/// more than [`MAX_HEADERS`] headers cannot be framed and are left out.
pub fn encode(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    encode_with(&HEADER_NAMES, status, headers, body)
}

/// The bytes of a frame whose header names are `names`: the inverse of
/// [`Frame::read_with`]. What cannot be framed is left out, as with
/// [`encode`].
pub fn encode_with(names: &[&str], status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = encode_head(names, status, headers);
    out.extend_from_slice(body);
    out
}

/// The bytes of a frame with a length-prefixed body: the inverse of
/// [`Frame::read_prefixed`]. `None` if the body is longer than 255 bytes.
pub fn encode_prefixed(
    names: &[&str],
    status: u16,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Option<Vec<u8>> {
    let length = u8::try_from(body.len()).ok()?;
    let mut out = encode_head(names, status, headers);
    out.push(length);
    out.extend_from_slice(body);
    Some(out)
}

fn encode_head(names: &[&str], status: u16, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let framed: Vec<(u8, &[u8])> = headers
        .iter()
        .filter_map(|(name, value)| {
            let selector = names.iter().position(|known| known == name)?;
            u8::try_from(value.len())
                .is_ok()
                .then_some((u8::try_from(selector).ok()?, *value))
        })
        .take(MAX_HEADERS)
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(&status.to_be_bytes());
    out.push(u8::try_from(framed.len()).unwrap_or(0));
    for (selector, value) in framed {
        out.push(selector);
        out.push(u8::try_from(value.len()).unwrap_or(0));
        out.extend_from_slice(value);
    }
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

    #[test]
    fn prefixed_frames_follow_one_another() {
        let first = encode_prefixed(
            &SCA_HEADER_NAMES,
            200,
            &[("x-sca-id", b"c-1"), ("X-Sca-Type", b"SMS")],
            b"{}",
        )
        .unwrap();
        let second = encode_with(&SCA_HEADER_NAMES, 401, &[("X-Request-Id", b"r-1")], b"no");
        let bytes = [first, second].concat();
        let (frame, rest) = Frame::read_prefixed(&bytes, &SCA_HEADER_NAMES);
        assert_eq!(frame.status, 200);
        assert_eq!(
            frame.headers,
            [("x-sca-id", &b"c-1"[..]), ("X-Sca-Type", b"SMS")]
        );
        assert_eq!(frame.body, b"{}");
        let next = Frame::read_with(rest, &SCA_HEADER_NAMES);
        assert_eq!(next.status, 401);
        assert_eq!(next.headers, [("X-Request-Id", &b"r-1"[..])]);
        assert_eq!(next.body, b"no");
        assert!(encode_prefixed(&SCA_HEADER_NAMES, 200, &[], &[0; 256]).is_none());
    }

    #[test]
    fn a_cut_prefixed_frame_is_a_response_too() {
        let (frame, rest) = Frame::read_prefixed(b"\x00\xc8\x00\x09ab", &SCA_HEADER_NAMES);
        assert_eq!((frame.status, frame.body), (200, &b"ab"[..]));
        assert!(rest.is_empty());
        let (frame, rest) = Frame::read_prefixed(b"\x00\xc8\x01\x00", &[]);
        assert!(frame.headers.is_empty() && frame.body.is_empty() && rest.is_empty());
    }
}
