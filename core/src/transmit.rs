//! What the session asks the caller to send: its own requests (login steps,
//! step-up, logout) as a [`Transmit`], and the headers of an application
//! call as part of a [`Grant`](crate::Grant).

use core::fmt;

use crate::error::Error;

/// The most headers one request of the session carries.
pub const MAX_HEADERS: usize = 4;

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header value made of a fixed prefix and a borrowed part (`Bearer ` and
/// a token), so that it is written without being assembled in memory.
/// A sensitive value prints as `[redacted]` through `Debug`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderValue<'a> {
    prefix: &'static str,
    value: &'a str,
    sensitive: bool,
}

impl<'a> HeaderValue<'a> {
    /// A value that may be logged (`Content-Type`).
    pub const fn plain(value: &'a str) -> Self {
        HeaderValue {
            prefix: "",
            value,
            sensitive: false,
        }
    }

    /// A value that holds a secret, after a fixed prefix.
    pub const fn secret(prefix: &'static str, value: &'a str) -> Self {
        HeaderValue {
            prefix,
            value,
            sensitive: true,
        }
    }

    /// Whether the value holds a secret: adapters mark such headers
    /// sensitive and loggers leave them out.
    pub const fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The two parts to write one after the other.
    pub const fn parts(&self) -> [&'a str; 2] {
        [self.prefix, self.value]
    }

    /// The length in bytes of the whole value.
    pub const fn len(&self) -> usize {
        self.prefix.len() + self.value.len()
    }

    /// Whether the value is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the whole value to `out`, for adapters that need it in one piece.
    pub fn write_to<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        out.write_str(self.prefix)?;
        out.write_str(self.value)
    }
}

impl fmt::Debug for HeaderValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sensitive {
            f.write_str("[redacted]")
        } else {
            fmt::Debug::fmt(self.value, f)
        }
    }
}

/// One header: a name and a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, as the API documents it.
    pub name: &'static str,
    /// The value.
    pub value: HeaderValue<'a>,
}

/// The headers of one request, at most [`MAX_HEADERS`].
///
/// A plain array rather than a `heapless::Vec`, so that it has no drop glue
/// and a [`Transmit`] borrowing the session ends where it is last used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers<'a> {
    items: [Header<'a>; MAX_HEADERS],
    len: usize,
}

impl Default for Headers<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Headers<'a> {
    /// No headers.
    pub const fn new() -> Self {
        const UNUSED: Header<'static> = Header {
            name: "",
            value: HeaderValue::plain(""),
        };
        Headers {
            items: [UNUSED; MAX_HEADERS],
            len: 0,
        }
    }

    /// Adds a header, or fails with [`Error::Overflow`] past [`MAX_HEADERS`].
    pub fn push(&mut self, name: &'static str, value: HeaderValue<'a>) -> Result<(), Error> {
        let slot = self.items.get_mut(self.len).ok_or(Error::Overflow {
            what: "request headers",
            capacity: MAX_HEADERS,
        })?;
        *slot = Header { name, value };
        self.len += 1;
        Ok(())
    }

    /// The headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header<'a>> {
        self.items[..self.len].iter()
    }

    /// The value of the header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&HeaderValue<'a>> {
        self.iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| &header.value)
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The start of a request a provider writes: method, path and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The method.
    pub method: Method,
    /// The path (and query) under the API's base URL.
    pub path: &'a str,
    /// The headers.
    pub headers: Headers<'a>,
}

impl<'a> RequestHead<'a> {
    /// A head with no headers yet.
    pub const fn new(method: Method, path: &'a str) -> Self {
        RequestHead {
            method,
            path,
            headers: Headers::new(),
        }
    }
}

/// Which of the session's requests an answer belongs to. Answers whose id
/// is not the one in flight are ignored, so a late answer cannot change the
/// session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A request the session wants sent. Send it, then hand the answer to
/// [`Session::handle_response`](crate::Session::handle_response) or report
/// [`Session::handle_failure`](crate::Session::handle_failure).
pub struct Transmit<'a> {
    /// The id to hand back with the answer.
    pub id: RequestId,
    /// The method.
    pub method: Method,
    /// The path under the API's base URL.
    pub path: &'a str,
    /// The headers, `Content-Type` among them when there is a body.
    pub headers: Headers<'a>,
    /// The body (it may hold credentials: never log it).
    pub body: &'a [u8],
}

impl fmt::Debug for Transmit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmit")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}
