//! The request and the reply as the API modules see them: plain owned data,
//! read from and written to `tiny_http` here, so that an API module is
//! request in, reply out, and never touches the server.

use std::io::Read;

use serde_json::Value;
use tiny_http::{Header, Request, Response};

/// No login form or API call of the emulated APIs comes near this; a larger
/// body is refused rather than buffered.
const MAX_BODY: u64 = 64 * 1024;

/// A request, read whole.
#[derive(Debug)]
pub(super) struct Incoming {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Incoming {
    /// Reads the request's body; `None` if it cannot be read or is too large.
    pub fn read(request: &mut Request) -> Option<Self> {
        let mut body = Vec::new();
        request
            .as_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .ok()?;
        if body.len() as u64 > MAX_BODY {
            return None;
        }
        let url = request.url();
        Some(Incoming {
            method: request.method().as_str().to_owned(),
            path: url.split_once('?').map_or(url, |(path, _)| path).to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|h| (h.field.as_str().to_string(), h.value.to_string()))
                .collect(),
            body,
        })
    }

    /// The first header called `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A reply, built by an API module.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A reply whose body is `text`, not JSON: the access-key API's bare
    /// JWT.
    pub fn text(status: u16, content_type: &str, text: String) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: text.into_bytes(),
        }
    }

    /// A reply without a body: a `204`, or one of Weavr's bare errors.
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The answer for a path under no emulated API.
    pub fn no_api(status: u16) -> Self {
        let error = if status == 404 { "not_found" } else { "error" };
        Reply::json(
            status,
            &serde_json::json!({ "error": error, "message": "no API is served under this path" }),
        )
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Sends the reply; a client that has gone away is no concern of ours.
    pub fn send(self, request: Request) {
        let mut response = Response::from_data(self.body).with_status_code(self.status);
        for (name, value) in self.headers {
            if let Ok(header) = Header::from_bytes(name, value) {
                response.add_header(header);
            }
        }
        let _ = request.respond(response);
    }
}
