//! The HTTP/1.1 response reader of the `embedded-io` feature, fed a byte
//! stream, whole and in small reads.

use authsession_core::Response;
use authsession_core::wire::{WireError, read_response};
use embedded_io::{ErrorType, Read};

/// A stream that hands out at most `step` bytes a read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl ErrorType for Trickle<'_> {
    type Error = core::convert::Infallible;
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What a read gave, owned, to compare two reads of one stream.
#[derive(Debug, PartialEq, Eq)]
enum Read_ {
    Response {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(String, Vec<u8>)>,
    },
    Error(WireError),
}

fn read(data: &[u8], step: usize, capacity: usize) -> Read_ {
    let mut stream = Trickle { data, step };
    let mut buf = vec![0u8; capacity];
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match read_response(&mut stream, &mut buf, &mut headers) {
        Ok(response) => {
            let printed = format!("{response:?}");
            let headers: Vec<(String, Vec<u8>)> = response
                .headers()
                .iter()
                .map(|header| (header.name.to_owned(), header.value.to_vec()))
                .collect();
            // What Debug may show: the status, the reason, the names.
            let shown: Vec<&[u8]> = core::iter::once(response.reason().as_bytes())
                .chain(headers.iter().map(|(name, _)| name.as_bytes()))
                .collect();
            for (name, value) in &headers {
                // Every header is found by its name, in any case.
                assert!(response.header(&name.to_ascii_uppercase()).is_some());
                // Debug never shows a value (a header may hold a token),
                // unless the value happens to be shown text too.
                let also_shown = shown.iter().any(|text| contains(text, value))
                    || contains(DEBUG_WORDS.as_bytes(), value);
                if value.len() >= 12 && is_token_like(value) && !also_shown {
                    let value = String::from_utf8_lossy(value);
                    assert!(
                        !printed.contains(value.as_ref()),
                        "Debug printed the value of {name}"
                    );
                }
            }
            // Three digits, as HTTP/1.1 writes a status (RFC 9112 §4).
            assert!(response.status() <= 999);
            assert!(response.head_len() + response.body().len() <= capacity);
            Read_::Response {
                status: response.status(),
                body: response.body().to_vec(),
                headers,
            }
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
            Read_::Error(error)
        }
    }
}

/// The first byte picks the buffer's size; the rest is the stream. The
/// answer must not depend on how the stream splits its bytes: read whole,
/// one, two and three bytes a read, and as many as the first byte picks,
/// it is the same response or the same error.
pub fn http_response(data: &[u8]) {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let capacity = 32usize << (size % 8);
    let whole = read(stream, usize::MAX, capacity);
    for step in [1, 2, 3, 1 + usize::from(size >> 5)] {
        assert_eq!(
            read(stream, step, capacity),
            whole,
            "the answer depends on how the stream was split ({step}-byte reads)"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// The words of `WireResponse`'s `Debug` itself.
const DEBUG_WORDS: &str = "WireResponse status reason headers body_len";

/// Whether `value` looks like a token or a key (the values that must not be
/// printed): letters, digits and `-._~+/=`.
fn is_token_like(value: &[u8]) -> bool {
    value
        .iter()
        .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/=".contains(byte))
}
