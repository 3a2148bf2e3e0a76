//! The HTTP/1.1 request writer of the core's `wire` module: the exact bytes
//! of a request, secrets written part by part, and every request that must
//! be refused before a byte of it goes out.
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::embedded_io::{self, ErrorKind, ErrorType, Write};
use authsession_core::wire::{WireError, WireRequest, write_request};
use authsession_core::{HeaderValue, Headers, Instant, Level, Method, ResponseParts, Session};
use authsession_tests::{API_KEY, LOGIN_ID, LOGIN_OK, TOKEN};

/// A stream that records every write, accepts at most `step` bytes a
/// call, and can be told to fail or to accept nothing.
#[derive(Default)]
struct Recorder {
    writes: Vec<Vec<u8>>,
    flushes: usize,
    step: Option<usize>,
    fail: Option<ErrorKind>,
    accept_nothing: bool,
}

impl Recorder {
    fn bytes(&self) -> Vec<u8> {
        self.writes.concat()
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes()).unwrap()
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

impl ErrorType for Recorder {
    type Error = Failure;
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Failure> {
        if let Some(kind) = self.fail {
            return Err(Failure(kind));
        }
        if self.accept_nothing {
            return Ok(0);
        }
        let n = buf.len().min(self.step.unwrap_or(usize::MAX));
        self.writes.push(buf[..n].to_vec());
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Failure> {
        self.flushes += 1;
        Ok(())
    }
}

fn token_headers() -> Headers<'static> {
    let mut headers = Headers::new();
    headers
        .push("X-Auth-Token", HeaderValue::secret("", TOKEN))
        .unwrap();
    headers
}

#[test]
fn the_exact_bytes_of_a_get() {
    let mut out = Recorder::default();
    let request = WireRequest::new(
        "devapi.currencycloud.com",
        Method::Get,
        "/v2/accounts/current",
    );
    write_request(&mut out, &request, &token_headers()).unwrap();
    assert_eq!(
        out.text(),
        format!(
            "GET /v2/accounts/current HTTP/1.1\r\n\
             Host: devapi.currencycloud.com\r\n\
             X-Auth-Token: {TOKEN}\r\n\
             \r\n"
        )
    );
    assert_eq!(out.flushes, 1);
}

#[test]
fn the_exact_bytes_of_a_post_with_everything() {
    let mut out = Recorder::default();
    let mut headers = Headers::new();
    headers
        .push("api-key", HeaderValue::secret("", "weavr-key"))
        .unwrap();
    headers
        .push(
            "Authorization",
            HeaderValue::secret("Bearer ", "jwt.jwt.jwt"),
        )
        .unwrap();
    let extra = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let request = WireRequest::new("127.0.0.1:8080", Method::Post, "/managed_accounts?limit=2")
        .with_base_path("/multi")
        .with_headers(&extra)
        .with_body(br#"{"a":1}"#)
        .closing();
    write_request(&mut out, &request, &headers).unwrap();
    assert_eq!(
        out.text(),
        "POST /multi/managed_accounts?limit=2 HTTP/1.1\r\n\
         Host: 127.0.0.1:8080\r\n\
         api-key: weavr-key\r\n\
         Authorization: Bearer jwt.jwt.jwt\r\n\
         Content-Type: application/json\r\n\
         Accept: application/json\r\n\
         Content-Length: 7\r\n\
         Connection: close\r\n\
         \r\n\
         {\"a\":1}"
    );
}

#[test]
fn a_secret_value_is_written_part_by_part() {
    let mut out = Recorder::default();
    let mut headers = Headers::new();
    headers
        .push("Authorization", HeaderValue::secret("Bearer ", TOKEN))
        .unwrap();
    let request = WireRequest::new("h", Method::Get, "/");
    write_request(&mut out, &request, &headers).unwrap();
    // The prefix and the token went out as written, never joined first.
    assert!(out.writes.iter().any(|write| write == b"Bearer "));
    assert!(out.writes.iter().any(|write| write == TOKEN.as_bytes()));
}

#[test]
fn a_session_login_goes_out_as_the_session_wrote_it() {
    let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
    let mut session = Session::new(Currencycloud::default(), credentials);
    session.login(Instant::ZERO);
    let login = session.poll_transmit().unwrap();
    let mut out = Recorder::default();
    let request = WireRequest::new("api.example", login.method, login.path)
        .with_body(login.body)
        .closing();
    write_request(&mut out, &request, &login.headers).unwrap();
    let head = format!(
        "POST /v2/authenticate/api HTTP/1.1\r\n\
         Host: api.example\r\n\
         Content-Type: multipart/form-data; boundary=authsession-4f1c9e2b7a\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n",
        login.body.len()
    );
    assert_eq!(out.bytes(), [head.as_bytes(), login.body].concat());
    let id = login.id;
    session.handle_response(
        id,
        &ResponseParts::new(200, LOGIN_OK.as_bytes()),
        Instant::ZERO,
    );
    assert!(session.authorize(Level::User, Instant::ZERO).is_ok());
}

#[test]
fn content_length_follows_the_method_and_the_body() {
    let cases = [
        (Method::Get, &b""[..], None),
        (Method::Delete, b"", None),
        (Method::Post, b"", Some("0")),
        (Method::Put, b"", Some("0")),
        (Method::Patch, b"x", Some("1")),
        (Method::Delete, b"{}", Some("2")),
        (Method::Get, b"abc", Some("3")),
    ];
    for (method, body, length) in cases {
        let mut out = Recorder::default();
        let request = WireRequest::new("h", method, "/").with_body(body);
        write_request(&mut out, &request, &Headers::new()).unwrap();
        let text = out.text();
        let written = text
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "));
        assert_eq!(written, length, "{method}: {text}");
    }
}

#[test]
fn a_stream_that_takes_a_few_bytes_at_a_time_gets_them_all() {
    let mut out = Recorder {
        step: Some(3),
        ..Recorder::default()
    };
    let request = WireRequest::new("h", Method::Post, "/x").with_body(b"0123456789");
    write_request(&mut out, &request, &token_headers()).unwrap();
    assert!(out.text().ends_with("Content-Length: 10\r\n\r\n0123456789"));
    assert!(out.writes.iter().all(|write| write.len() <= 3));
}

#[test]
fn header_values_with_control_characters_are_refused_before_anything_is_written() {
    for bad in [
        "a\r\nX-Evil: 1",
        "a\rb",
        "a\nb",
        "a\0b",
        "a\x01b",
        "a\x1fb",
        "a\x7fb",
    ] {
        // As a caller's header.
        let mut out = Recorder::default();
        let extra = [("X-Note", bad)];
        let request = WireRequest::new("h", Method::Get, "/").with_headers(&extra);
        let result = write_request(&mut out, &request, &token_headers());
        assert_eq!(result, Err(WireError::InvalidHeaderValue), "{bad:?}");
        assert!(out.writes.is_empty() && out.flushes == 0, "{bad:?}");

        // As the session's, in either part.
        for value in [HeaderValue::secret("", bad), HeaderValue::plain(bad)] {
            let mut headers = Headers::new();
            headers.push("X-Auth-Token", value).unwrap();
            let mut out = Recorder::default();
            let request = WireRequest::new("h", Method::Get, "/");
            let result = write_request(&mut out, &request, &headers);
            assert_eq!(result, Err(WireError::InvalidHeaderValue), "{bad:?}");
            assert!(out.writes.is_empty());
        }
    }
}

#[test]
fn tabs_and_non_ascii_text_are_allowed_in_values() {
    let mut out = Recorder::default();
    let extra = [("X-Note", "a\tb é")];
    let request = WireRequest::new("h", Method::Get, "/").with_headers(&extra);
    write_request(&mut out, &request, &Headers::new()).unwrap();
    assert!(out.text().contains("X-Note: a\tb é\r\n"));
}

#[test]
fn bad_or_reserved_header_names_are_refused() {
    for name in [
        "",
        "X Note",
        "X-Note:",
        "X\r\nEvil",
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "HOST",
        "Connection",
    ] {
        let mut out = Recorder::default();
        let extra = [(name, "1")];
        let request = WireRequest::new("h", Method::Get, "/").with_headers(&extra);
        let result = write_request(&mut out, &request, &Headers::new());
        assert_eq!(result, Err(WireError::InvalidHeaderName), "{name:?}");
        assert!(out.writes.is_empty());
    }
}

#[test]
fn bad_hosts_and_paths_are_refused() {
    let targets = [
        ("", "", "/"),
        ("h h", "", "/"),
        ("h\r\nX: 1", "", "/"),
        ("h/x", "", "/"),
        ("h", "", ""),
        ("h", "", "x"),
        ("h", "multi", "/x"),
        ("h", "", "/a b"),
        ("h", "", "/a\r\nX: 1"),
        ("h", "/multi", "/caf\u{e9}"),
    ];
    for (host, base_path, path) in targets {
        let mut out = Recorder::default();
        let request = WireRequest::new(host, Method::Get, path).with_base_path(base_path);
        let result = write_request(&mut out, &request, &Headers::new());
        assert_eq!(
            result,
            Err(WireError::InvalidTarget),
            "{host:?} {base_path:?} {path:?}"
        );
        assert!(out.writes.is_empty());
    }
}

#[test]
fn a_failing_stream_is_an_io_error() {
    let mut out = Recorder {
        fail: Some(ErrorKind::BrokenPipe),
        ..Recorder::default()
    };
    let request = WireRequest::new("h", Method::Get, "/");
    assert_eq!(
        write_request(&mut out, &request, &Headers::new()),
        Err(WireError::Io(ErrorKind::BrokenPipe))
    );
}

#[test]
fn a_stream_that_accepts_nothing_is_an_error_not_a_panic() {
    let mut out = Recorder {
        accept_nothing: true,
        ..Recorder::default()
    };
    let request = WireRequest::new("h", Method::Get, "/");
    assert_eq!(
        write_request(&mut out, &request, &Headers::new()),
        Err(WireError::Io(ErrorKind::WriteZero))
    );
}

#[test]
fn a_full_slice_is_an_error() {
    let mut space = [0u8; 16];
    let request = WireRequest::new("h", Method::Get, "/v2/accounts/current");
    let result = write_request(&mut &mut space[..], &request, &Headers::new());
    assert_eq!(result, Err(WireError::Io(ErrorKind::WriteZero)));
}

#[test]
fn debug_of_a_request_shows_no_value_and_no_body() {
    let extra = [("X-Secret", "hunter2")];
    let request = WireRequest::new("h", Method::Post, "/")
        .with_headers(&extra)
        .with_body(b"password=hunter2");
    let printed = format!("{request:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("X-Secret") && printed.contains("body_len: 16"));
}
