//! The HTTP/1.1 response reader of the core's `wire` module: every framing,
//! every error, answers cut into the smallest pieces a stream can give, and
//! a sweep of broken answers that must never panic.
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::embedded_io::{self, ErrorKind, ErrorType, Read};
use authsession_core::wire::httparse::{EMPTY_HEADER, Header};
use authsession_core::wire::{WireError, WireResponse, read_response};
use authsession_core::{Event, Instant, Response, Session};
use authsession_tests::{API_KEY, LOGIN_ID, TOKEN};

/// A stream that hands out its bytes at most `step` at a time, then ends
/// (or fails, if told to).
struct Trickle {
    bytes: Vec<u8>,
    pos: usize,
    step: usize,
    reads: usize,
    fail_at_end: Option<ErrorKind>,
}

impl Trickle {
    fn new(bytes: &[u8], step: usize) -> Self {
        Trickle {
            bytes: bytes.to_vec(),
            pos: 0,
            step,
            reads: 0,
            fail_at_end: None,
        }
    }

    fn failing(bytes: &[u8], kind: ErrorKind) -> Self {
        Trickle {
            fail_at_end: Some(kind),
            ..Trickle::new(bytes, usize::MAX)
        }
    }

    fn rest(&self) -> &[u8] {
        &self.bytes[self.pos..]
    }
}

#[derive(Debug)]
struct Failure(ErrorKind);

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl core::error::Error for Failure {}

impl embedded_io::Error for Failure {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

impl ErrorType for Trickle {
    type Error = Failure;
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        self.reads += 1;
        let left = self.bytes.len() - self.pos;
        if left == 0
            && let Some(kind) = self.fail_at_end
        {
            return Err(Failure(kind));
        }
        let n = left.min(buf.len()).min(self.step);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A stream that claims to have read more than it was given room for.
struct Liar;

impl ErrorType for Liar {
    type Error = Failure;
}

impl Read for Liar {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        Ok(buf.len() + 1)
    }
}

/// What a test keeps of a response, owned.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    body: Vec<u8>,
}

fn seen(response: &WireResponse<'_>) -> Seen {
    Seen {
        status: response.status(),
        body: response.body().to_vec(),
    }
}

/// Reads `answer` with a 1 KiB buffer and 16 headers, handed out `step`
/// bytes at a time.
fn read_in_steps(answer: &[u8], step: usize) -> Result<Seen, WireError> {
    let mut stream = Trickle::new(answer, step);
    let mut buf = [0u8; 1024];
    let mut headers = [EMPTY_HEADER; 16];
    read_response(&mut stream, &mut buf, &mut headers).map(|response| seen(&response))
}

fn read(answer: &[u8]) -> Result<Seen, WireError> {
    read_in_steps(answer, usize::MAX)
}

/// The expected outcome of a read that succeeds: a `Result`, to compare
/// with what the reader returned.
#[allow(clippy::unnecessary_wraps)]
fn ok(status: u16, body: &[u8]) -> Result<Seen, WireError> {
    Ok(Seen {
        status,
        body: body.to_vec(),
    })
}

fn malformed() -> impl Fn(&Result<Seen, WireError>) -> bool {
    |result| matches!(result, Err(WireError::Malformed { .. }))
}

// ---- framing ----

#[test]
fn a_body_by_content_length() {
    let answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"acc\"}\n";
    assert_eq!(read(answer), ok(200, b"{\"id\":\"acc\"}\n"));
}

#[test]
fn a_content_length_body_read_one_byte_at_a_time() {
    let body = br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#;
    let answer = [
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat();
    let mut stream = Trickle::new(&answer, 1);
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 4];
    let response = read_response(&mut stream, &mut buf, &mut headers).unwrap();
    assert_eq!(response.body(), body);
    // One read per byte, and not one more: the reader stops at the length.
    assert_eq!(stream.reads, answer.len());
}

#[test]
fn the_reader_stops_at_the_content_length() {
    let mut stream = Trickle::new(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n",
        4,
    );
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 4];
    let response = read_response(&mut stream, &mut buf, &mut headers).unwrap();
    assert_eq!(response.body(), b"ok");
    // What the server sent after the body is left in the stream, save what
    // came in the same reads as the head.
    assert!(stream.rest().ends_with(b"\r\n\r\n"));
}

#[test]
fn bytes_after_the_content_length_in_the_same_read_are_not_body() {
    assert_eq!(
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE"),
        ok(200, b"ok")
    );
}

#[test]
fn a_zero_content_length_is_an_empty_body() {
    assert_eq!(
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ok(200, b"")
    );
}

#[test]
fn a_repeated_identical_content_length_is_one_length() {
    assert_eq!(
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\nok"),
        ok(200, b"ok")
    );
}

#[test]
fn a_chunked_body_is_decoded_in_place() {
    let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        7\r\n{\"id\":\"\r\n\
        A\r\n0123456789\r\n\
        2\r\n\"}\r\n\
        0\r\n\r\n";
    assert_eq!(read(answer), ok(200, b"{\"id\":\"0123456789\"}"));
}

#[test]
fn a_chunked_body_with_extensions_and_trailers() {
    let answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n\
        5;name=value;quoted=\"a;b\"\r\nhello\r\n\
        1 ; ext\r\n,\r\n\
        6;last\r\n world\r\n\
        0;final=yes\r\n\
        X-Checksum: abc\r\n\
        X-Other: def\r\n\
        \r\n";
    for step in [usize::MAX, 1, 2, 3, 7] {
        assert_eq!(
            read_in_steps(answer, step),
            ok(200, b"hello, world"),
            "step {step}"
        );
    }
}

#[test]
fn a_chunked_body_read_one_byte_at_a_time() {
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut expected = Vec::new();
    for n in 1..=40u8 {
        let chunk: Vec<u8> = (0..n).map(|i| b'a' + (i + n) % 26).collect();
        answer.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        answer.extend_from_slice(&chunk);
        answer.extend_from_slice(b"\r\n");
        expected.extend_from_slice(&chunk);
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(expected.len(), 820);
    assert_eq!(read_in_steps(&answer, 1), ok(200, &expected));
}

#[test]
fn a_chunked_body_uses_all_of_the_buffer_but_the_last_size_line() {
    // Head 47 bytes, body 80, and 3 bytes more for the last size line
    // ("0\r\n"): the framing before it is squeezed out as the data moves
    // down, and the trailers' empty line is dropped as it is read.
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let body = [b'x'; 80];
    let answer = [
        &head[..],
        b"28\r\n",
        &body[..40],
        b"\r\n28\r\n",
        &body[40..],
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    for step in [1, 5, usize::MAX] {
        let mut buf = vec![0u8; head.len() + body.len() + 3];
        let mut stream = Trickle::new(&answer, step);
        let mut headers = [EMPTY_HEADER; 2];
        let response = read_response(&mut stream, &mut buf, &mut headers).unwrap();
        assert_eq!(response.body(), body, "step {step}");

        // One byte less, and the last size line has no room: an error,
        // never a body cut short.
        let mut buf = vec![0u8; head.len() + body.len() + 2];
        let mut stream = Trickle::new(&answer, step);
        let result = read_response(&mut stream, &mut buf, &mut headers);
        assert_eq!(
            result.unwrap_err(),
            WireError::BodyTooLarge { capacity: 82 }
        );
    }
}

#[test]
fn a_body_to_the_end_of_the_stream_when_no_length_is_given() {
    let answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"id\":\"acc\"}";
    assert_eq!(read(answer), ok(200, b"{\"id\":\"acc\"}"));
    assert_eq!(read_in_steps(answer, 1), ok(200, b"{\"id\":\"acc\"}"));
}

#[test]
fn a_body_to_the_end_of_the_stream_may_fill_the_buffer_exactly() {
    let answer = b"HTTP/1.1 200 OK\r\n\r\n0123456789";
    let mut buf = [0u8; 29];
    let mut headers = [EMPTY_HEADER; 2];
    let response = read_response(&mut Trickle::new(answer, 3), &mut buf, &mut headers).unwrap();
    assert_eq!(response.body(), b"0123456789");
}

#[test]
fn no_body_on_204_and_304() {
    assert_eq!(read(b"HTTP/1.1 204 No Content\r\n\r\n"), ok(204, b""));
    // A zero length agrees with "no body" (tiny_http sends one on a 204).
    assert_eq!(
        read(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
        ok(204, b"")
    );
    assert_eq!(
        read(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\nignored"),
        ok(304, b"")
    );
}

#[test]
fn interim_answers_are_skipped() {
    let answer = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
    assert_eq!(read(answer), ok(201, b"{}"));
    assert_eq!(read_in_steps(answer, 1), ok(201, b"{}"));
}

#[test]
fn empty_lines_before_the_status_line_are_skipped() {
    assert_eq!(
        read(b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        ok(200, b"x")
    );
}

#[test]
fn bare_line_feeds_end_lines_too() {
    assert_eq!(
        read(b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx"),
        ok(200, b"x")
    );
}

#[test]
fn headers_are_found_by_name_in_any_case() {
    let answer = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nX-Request-Id: abc\r\nContent-Length: 0\r\n\r\n";
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 8];
    let response = read_response(&mut Trickle::new(answer, 5), &mut buf, &mut headers).unwrap();
    assert_eq!(response.header("retry-after"), Some(&b"7"[..]));
    assert_eq!(response.header("X-REQUEST-ID"), Some(&b"abc"[..]));
    assert_eq!(response.header("missing"), None);
    assert_eq!(response.reason(), "Too Many Requests");
    assert_eq!(response.headers().len(), 3);
    assert_eq!(response.head_len(), answer.len());
    assert_eq!(
        authsession_core::kit::retry_after(&response),
        Some(core::time::Duration::from_secs(7))
    );
}

#[test]
fn debug_shows_neither_header_values_nor_the_body() {
    let answer = format!(
        "HTTP/1.1 200 OK\r\nSet-Cookie: session={TOKEN}\r\nContent-Length: 49\r\n\r\n{{\"auth_token\":\"{TOKEN}\"}}"
    );
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 8];
    let response = read_response(
        &mut Trickle::new(answer.as_bytes(), 64),
        &mut buf,
        &mut headers,
    )
    .unwrap();
    let printed = format!("{response:?}");
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(
        printed.contains("Set-Cookie") && printed.contains("body_len: 49"),
        "{printed}"
    );
}

#[test]
fn the_session_reads_a_wire_response_directly() {
    let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
    let mut session = Session::new(Currencycloud::default(), credentials);
    let now = Instant::ZERO;
    session.login(now);
    let id = session.poll_transmit().unwrap().id;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
         10\r\n{{\"auth_token\": \"\r\n20\r\n{TOKEN}\r\n2\r\n\"}}\r\n0\r\n\r\n"
    );
    let mut buf = [0u8; 512];
    let mut headers = [EMPTY_HEADER; 8];
    let response = read_response(
        &mut Trickle::new(answer.as_bytes(), 3),
        &mut buf,
        &mut headers,
    )
    .unwrap();
    session.handle_response(id, &response, now);
    assert_eq!(
        session.poll_event(),
        Some(Event::LoggedIn { generation: 1 })
    );
    let grant = session
        .authorize(authsession_core::Level::User, now)
        .unwrap();
    assert_eq!(grant.headers.get("X-Auth-Token").unwrap().parts()[1], TOKEN);
}

// ---- limits ----

#[test]
fn a_head_larger_than_the_buffer() {
    let answer =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    for size in [0, 1, 16, 40, 69] {
        let mut buf = vec![0u8; size];
        let mut headers = [EMPTY_HEADER; 4];
        let result = read_response(&mut Trickle::new(answer, 7), &mut buf, &mut headers);
        assert_eq!(
            result.unwrap_err(),
            WireError::HeadTooLarge { capacity: size }
        );
    }
    // The head alone fits in 70 bytes; the body then does not.
    let mut buf = [0u8; 70];
    let mut headers = [EMPTY_HEADER; 4];
    let result = read_response(&mut Trickle::new(answer, 7), &mut buf, &mut headers);
    assert_eq!(result.unwrap_err(), WireError::BodyTooLarge { capacity: 0 });
}

#[test]
fn interim_answers_count_against_the_buffer_only_one_at_a_time() {
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(8);
    let answer = [
        &interim[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    ]
    .concat();
    let mut buf = [0u8; 64];
    let mut headers = [EMPTY_HEADER; 2];
    let response = read_response(&mut Trickle::new(&answer, 10), &mut buf, &mut headers).unwrap();
    assert_eq!(response.body(), b"{}");
}

#[test]
fn more_headers_than_the_array_holds() {
    let answer = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n";
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 3];
    let result = read_response(&mut Trickle::new(answer, 100), &mut buf, &mut headers);
    assert_eq!(
        result.unwrap_err(),
        WireError::TooManyHeaders { capacity: 3 }
    );
    let mut headers: [Header<'_>; 4] = [EMPTY_HEADER; 4];
    let result = read_response(&mut Trickle::new(answer, 100), &mut buf, &mut headers);
    assert_eq!(result.unwrap().headers().len(), 4);
}

#[test]
fn a_content_length_larger_than_the_room_left() {
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    let mut buf = [0u8; 100];
    let mut headers = [EMPTY_HEADER; 2];
    let result = read_response(&mut Trickle::new(answer, 100), &mut buf, &mut headers);
    assert_eq!(
        result.unwrap_err(),
        WireError::BodyTooLarge { capacity: 60 }
    );
    let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n";
    assert!(malformed()(&read(huge)), "a length past u64 is no length");
    let large = b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n";
    assert_eq!(
        read(large),
        Err(WireError::BodyTooLarge {
            capacity: 1024 - 57
        })
    );
}

#[test]
fn a_chunked_body_larger_than_the_room_left() {
    let answer =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
    let head = 47;
    let mut buf = vec![0u8; head + 15];
    let mut headers = [EMPTY_HEADER; 2];
    let result = read_response(&mut Trickle::new(answer, 1), &mut buf, &mut headers);
    assert_eq!(
        result.unwrap_err(),
        WireError::BodyTooLarge { capacity: 15 }
    );
    let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
    assert_eq!(
        read(huge),
        Err(WireError::BodyTooLarge {
            capacity: 1024 - head
        })
    );
}

#[test]
fn a_body_to_the_end_of_the_stream_larger_than_the_room_left() {
    let answer = b"HTTP/1.1 200 OK\r\n\r\n0123456789";
    let mut buf = [0u8; 28];
    let mut headers = [EMPTY_HEADER; 2];
    let result = read_response(&mut Trickle::new(answer, 1), &mut buf, &mut headers);
    assert_eq!(result.unwrap_err(), WireError::BodyTooLarge { capacity: 9 });
}

#[test]
fn trailers_longer_than_the_buffer() {
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    for n in 0..100 {
        answer.extend_from_slice(format!("X-Trailer-{n}: value\r\n").as_bytes());
    }
    answer.extend_from_slice(b"\r\n");
    let mut buf = [0u8; 256];
    let mut headers = [EMPTY_HEADER; 2];
    let result = read_response(&mut Trickle::new(&answer, 16), &mut buf, &mut headers);
    assert_eq!(
        result.unwrap_err(),
        WireError::BodyTooLarge { capacity: 256 - 47 }
    );
}

// ---- the stream ends early or fails ----

#[test]
fn a_stream_that_ends_early() {
    let cut_short: [&[u8]; 8] = [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ];
    for answer in cut_short {
        for step in [1, usize::MAX] {
            assert_eq!(
                read_in_steps(answer, step),
                Err(WireError::Truncated),
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
    }
}

#[test]
fn a_stream_that_fails() {
    let answers: [&[u8]; 4] = [
        b"",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ];
    for answer in answers {
        for kind in [ErrorKind::ConnectionReset, ErrorKind::TimedOut] {
            let mut stream = Trickle::failing(answer, kind);
            let mut buf = [0u8; 256];
            let mut headers = [EMPTY_HEADER; 4];
            let result = read_response(&mut stream, &mut buf, &mut headers);
            assert_eq!(result.unwrap_err(), WireError::Io(kind));
        }
    }
}

#[test]
fn a_stream_that_claims_more_than_it_was_given() {
    let mut buf = [0u8; 64];
    let mut headers = [EMPTY_HEADER; 4];
    let result = read_response(&mut Liar, &mut buf, &mut headers);
    assert_eq!(result.unwrap_err(), WireError::Io(ErrorKind::Other));
}

// ---- framing that cannot be trusted ----

#[test]
fn refused_framing() {
    let broken: [&[u8]; 17] = [
        // Two lengths that disagree, in two headers or in one list.
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc",
        // Lengths that are not numbers.
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        // A length where there can be no body.
        b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // A length and a transfer coding: which one ends the body?
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // Codings that cannot be undone here.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // A protocol switch nobody asked for, and a status line that is not one.
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
    ];
    for answer in broken {
        let result = read(answer);
        assert!(
            malformed()(&result),
            "{}: {result:?}",
            String::from_utf8_lossy(answer)
        );
    }
}

#[test]
fn refused_chunks() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let broken = [
        "zz\r\n",
        "\r\n",
        ";ext\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhello!\r\n0\r\n\r\n",
        "5\r\nhelloXY0\r\n\r\n",
        "11111111111111111\r\n",
        "-1\r\n",
    ];
    for chunks in broken {
        let answer = format!("{head}{chunks}");
        for step in [1, usize::MAX] {
            let result = read_in_steps(answer.as_bytes(), step);
            assert!(malformed()(&result), "{chunks:?}: {result:?}");
        }
    }
}

#[test]
fn too_many_interim_answers() {
    let answer = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(9);
    assert!(malformed()(&read(&answer)));
}

#[test]
fn a_head_that_is_not_http() {
    for answer in [
        &b"hello\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ] {
        assert!(malformed()(&read(answer)), "{answer:?}");
    }
}

// ---- nothing panics ----

/// A small deterministic generator: the test needs variety, not quality.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

#[test]
fn broken_answers_never_panic() {
    let seeds: [&[u8]; 5] = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n{\"error_code\":\"auth_failed\"}",
        b"\r\nHTTP/1.0 200 OK\nA: b\n\nbody",
    ];
    let alphabet = b"\r\n :;0123456789abcdefHTTP/1.\x00\x7f\xff";
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut outcomes = [0usize; 2];
    for round in 0..20_000 {
        let mut answer = seeds[round % seeds.len()].to_vec();
        for _ in 0..=random.below(4) {
            let at = random.below(answer.len() + 1);
            match random.below(3) {
                0 => answer.insert(at, alphabet[random.below(alphabet.len())]),
                1 if at < answer.len() => {
                    answer.remove(at);
                }
                _ if at < answer.len() => answer[at] = alphabet[random.below(alphabet.len())],
                _ => answer.truncate(at),
            }
        }
        let mut buf = vec![0u8; random.below(160)];
        let mut headers = vec![EMPTY_HEADER; random.below(4)];
        let step = 1 + random.below(8);
        let result = read_response(&mut Trickle::new(&answer, step), &mut buf, &mut headers);
        outcomes[usize::from(result.is_ok())] += 1;
    }
    // Both kinds of outcome were reached: the sweep tested something.
    assert!(outcomes[0] > 1000 && outcomes[1] > 1000, "{outcomes:?}");
}
