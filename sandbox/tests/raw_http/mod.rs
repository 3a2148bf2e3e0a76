//! A raw HTTP/1.1 client over `TcpStream`, shared by the sandbox's wire
//! tests: each request goes on a new connection with `Connection: close`,
//! and its answer is read to the end. What each API adds (its headers, its
//! error bodies) stays in its own test file.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use authsession_sandbox::Sandbox;
use serde_json::Value;

/// How long a read or a write may wait before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// An answer as it came off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The value of the header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON; panics, showing the body, if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Splits a complete answer into its status, headers and body.
    fn parse(text: &str) -> Self {
        let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.to_owned(),
        }
    }
}

/// A new connection to `addr`, with [`IO_TIMEOUT`] on reads and writes.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Sends raw bytes on a new connection and reads the answer to the end, as
/// it came.
pub fn send(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// Sends raw bytes on a new connection and reads the answer to the end.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Answer {
    Answer::parse(&send(addr, raw))
}

/// Sends `method path` to the sandbox with a `Content-Length`, then
/// `headers` in their order, then `body`.
pub fn request(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(raw, "{name}: {value}\r\n");
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    exchange(sandbox.addr(), &raw)
}

/// A request as the JSON APIs (Weavr, access-key) take it: `headers`, then
/// `Authorization: Bearer` when there is a `bearer` token, then, when there
/// is a `body`, `Content-Type: application/json` and the body.
#[allow(
    dead_code,
    reason = "each test file is its own crate, and Currencycloud's sends forms"
)]
pub fn json_request(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    bearer: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let mut all = headers.to_vec();
    if let Some(authorization) = &authorization {
        all.push(("Authorization", authorization));
    }
    if body.is_some() {
        all.push(("Content-Type", "application/json"));
    }
    let body = body.unwrap_or_default();
    request(sandbox, method, path, &all, body.as_bytes())
}
