//! The request and the reply as the API modules see them: plain owned data,
//! read from hyper's request and made into hyper's response here, so that an
//! API module is request in, reply out, and never touches the server.

use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use serde_json::Value;

/// No login form or API call of the emulated APIs comes near this; a larger
/// body is refused.
const MAX_BODY: usize = 64 * 1024;
/// A body over [`MAX_BODY`] is still read up to this, so that the client
/// gets to read its `400`: closing a socket with unread bytes in it sends a
/// reset, which can beat the answer to the client.
const READ_LIMIT: usize = 1024 * 1024;

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
    pub async fn read(request: http::Request<Body>) -> Option<Self> {
        let (head, body) = request.into_parts();
        let body = Limited::new(body, READ_LIMIT).collect().await.ok()?;
        let body = body.to_bytes();
        if body.len() > MAX_BODY {
            return None;
        }
        Some(Incoming {
            method: head.method.as_str().to_owned(),
            path: head.uri.path().to_owned(),
            headers: head
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: body.to_vec(),
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

    /// A reply of `body` as it is, declared JSON: an injected answer.
    pub fn bytes(status: u16, body: &[u8]) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_vec(),
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

    /// The reply as hyper sends it.
    pub fn into_response(self) -> http::Response<Full<Bytes>> {
        let mut response = http::Response::new(Full::new(Bytes::from(self.body)));
        // The API modules make only real statuses; an injected fault's
        // status may be out of HTTP's range, which cannot be sent.
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::try_from(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}
