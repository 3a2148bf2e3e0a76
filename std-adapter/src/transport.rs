//! The HTTP underneath a client: the base URL every request goes to, an
//! exchange that sends one request and reads its whole answer (over ureq
//! for the blocking client, over reqwest for the async one), and the
//! conversions between the core's requests and the `http` crate's types.
//!
//! Our own copies of secrets (login bodies, header values, answers) are
//! wiped once used.

use std::fmt;
use std::mem;
use std::time::Duration;

use authsession_core::{Header, Headers, Response};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, USER_AGENT};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::origin::BaseUrl;

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT_VALUE: &str = concat!("authsession/", env!("CARGO_PKG_VERSION"));

/// The largest answer to one of the session's own requests that is read:
/// a login answer is a few hundred bytes, a JWT a few kilobytes.
pub(crate) const SESSION_BODY_LIMIT: u64 = 64 * 1024;

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting, TLS included. Default 10 s.
    pub connect: Duration,
    /// From the request sent to the whole response received. Default 30 s.
    pub response: Duration,
    /// The largest response body read. Default 16 MiB.
    pub body_limit: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(30),
            body_limit: 16 * 1024 * 1024,
        }
    }
}

/// One HTTP exchange, blocking: sends `request` (redirects not followed,
/// statuses as values) and reads the whole answer, up to `body_limit`,
/// within the client's timeouts or `within` if shorter. The request's body
/// is wiped once sent: a login's holds the credentials.
pub(crate) trait Exchange: Send + Sync + fmt::Debug {
    fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error>;
}

/// The base URL every request goes to, and how requests are exchanged.
#[derive(Debug)]
pub(crate) struct Transport {
    http: Box<dyn Exchange>,
    pub(crate) base: BaseUrl,
    body_limit: u64,
}

impl Transport {
    pub(crate) fn new(base: BaseUrl, http: Box<dyn Exchange>, timeouts: Timeouts) -> Self {
        Transport {
            http,
            base,
            body_limit: timeouts.body_limit,
        }
    }

    /// Sends an application call and reads the whole answer, up to the
    /// configured body limit.
    pub(crate) fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.http.exchange(request, self.body_limit, None)
    }

    /// Sends one of the session's own requests (a login step, step-up,
    /// logout), answered within `within` at most. Its answer is small: a
    /// larger one is refused rather than read (a hostile server's 16 MiB
    /// "token" costs no memory).
    pub(crate) fn send_session_request(
        &self,
        request: http::Request<Vec<u8>>,
        within: Duration,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.http
            .exchange(request, SESSION_BODY_LIMIT, Some(within))
    }

    /// Builds a request to `target` (a path under the base URL).
    pub(crate) fn request(
        &self,
        method: &str,
        target: &str,
        headers: &Headers<'_>,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        // The body may hold credentials: wiped on every way out but `Ok`.
        let mut body = Zeroizing::new(body);
        let mut request = http::Request::builder()
            .method(method)
            .uri(self.base.join(target)?)
            .body(mem::take(&mut *body))
            .map_err(|error| Error::from_http(&error, method))?;
        if let Err(error) = add_headers(request.headers_mut(), headers) {
            request.body_mut().zeroize();
            return Err(error);
        }
        request
            .headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(request)
    }
}

/// Adds the session's headers, marking secret ones sensitive so that the
/// `http` crate's `Debug` hides them too.
pub(crate) fn add_headers(
    target: &mut http::HeaderMap,
    headers: &Headers<'_>,
) -> Result<(), Error> {
    for header in headers.iter() {
        let (name, value) = to_http(header)?;
        target.insert(name, value);
    }
    Ok(())
}

/// One of the session's headers as an `http` one. A secret value is
/// marked sensitive, so that the `http` crate's `Debug` hides it, and its
/// bytes are wiped when the last request holding them is dropped (a
/// `HeaderValue` is a shared, immutable `Bytes`: this one's owner wipes
/// it). What an HTTP library copies it into to write it out, it does not
/// wipe.
fn to_http(header: &Header<'_>) -> Result<(HeaderName, HeaderValue), Error> {
    let name =
        HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| Error::InvalidHeaderName {
            name: header.name.to_owned(),
        })?;
    let [prefix, value] = header.value.parts();
    // Room for both parts up front: growing would leave a copy behind.
    let mut text = Vec::with_capacity(prefix.len() + value.len());
    text.extend_from_slice(prefix.as_bytes());
    text.extend_from_slice(value.as_bytes());
    let refused = || Error::InvalidHeaderValue {
        name: name.as_str().to_owned(),
    };
    // Visible ASCII only, as `HeaderValue::from_str` has it (the `http`
    // crate takes any byte above 127 from bytes).
    let visible = text
        .iter()
        .all(|&byte| byte == b'\t' || (b' '..=b'~').contains(&byte));
    let text = WipedOnDrop(text);
    if !visible {
        return Err(refused());
    }
    let mut value =
        HeaderValue::from_maybe_shared(Bytes::from_owner(text)).map_err(|_| refused())?;
    value.set_sensitive(header.value.is_sensitive());
    Ok((name, value))
}

/// The session's grant headers as `http` ones, kept from one call to the
/// next: while the grant stays the same (the same token), each call gets
/// clones (a reference count each) instead of building, checking and
/// copying the values again. The client clears it whenever the session
/// changes (any event: a login, an expiry, a logout), so that no copy of a
/// token outlives the session's use of it longer than the requests that
/// carry it.
#[derive(Default)]
pub(crate) struct GrantHeaders(Vec<(HeaderName, HeaderValue)>);

impl GrantHeaders {
    /// `headers` as a map for one request.
    pub(crate) fn for_request(&mut self, headers: &Headers<'_>) -> Result<http::HeaderMap, Error> {
        if !self.holds(headers) {
            self.0.clear();
            for header in headers.iter() {
                self.0.push(to_http(header)?);
            }
        }
        // Without room made: reqwest adds its own headers to the map, and
        // its first insert makes room for them all.
        let mut map = http::HeaderMap::new();
        for (name, value) in &self.0 {
            map.insert(name.clone(), value.clone());
        }
        Ok(map)
    }

    /// Whether the kept headers are `headers`, byte for byte.
    fn holds(&self, headers: &Headers<'_>) -> bool {
        self.0.len() == headers.len()
            && self
                .0
                .iter()
                .zip(headers.iter())
                .all(|((name, value), header)| {
                    let [prefix, rest] = header.value.parts();
                    let bytes = value.as_bytes();
                    name.as_str().eq_ignore_ascii_case(header.name)
                        && value.is_sensitive() == header.value.is_sensitive()
                        && bytes.len() == prefix.len() + rest.len()
                        && bytes.starts_with(prefix.as_bytes())
                        && bytes.ends_with(rest.as_bytes())
                })
    }

    /// Lets the kept headers go.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Puts the `grant`'s headers on `headers`, each replacing the headers of
/// its name, as `extend` does but without its reserving room for the grant
/// alone: into a map that has no room yet (a request with no headers of
/// its caller's), the first insert makes room for the headers reqwest adds
/// after it, instead of the map growing twice more.
pub(crate) fn put_grant(headers: &mut http::HeaderMap, grant: http::HeaderMap) {
    let mut name = None;
    for (next, value) in grant {
        // A name comes with its first value only.
        if let Some(next) = next {
            headers.insert(&next, value);
            name = Some(next);
        } else if let Some(name) = &name {
            headers.append(name, value);
        }
    }
}

/// Bytes handed to the `http` crate or an HTTP library (a request body, a
/// header value), wiped when the last holder lets them go.
pub(crate) struct WipedOnDrop(pub(crate) Vec<u8>);

impl AsRef<[u8]> for WipedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// An `http::Response` as the core reads responses.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a>(pub &'a http::Response<Vec<u8>>);

impl Response for HttpResponse<'_> {
    fn status(&self) -> u16 {
        self.0.status().as_u16()
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.headers().get(name).map(HeaderValue::as_bytes)
    }
    fn body(&self) -> &[u8] {
        self.0.body()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use http::header::{ACCEPT, AUTHORIZATION};

    use super::*;

    #[test]
    fn a_grant_replaces_the_headers_of_its_names_and_keeps_the_rest() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer old"));
        let mut grant = HeaderMap::new();
        grant.insert(AUTHORIZATION, HeaderValue::from_static("Bearer new"));
        grant.append("x-grant", HeaderValue::from_static("one"));
        grant.append("x-grant", HeaderValue::from_static("two"));

        put_grant(&mut headers, grant);

        assert_eq!(headers[ACCEPT], "application/json");
        let authorization: Vec<_> = headers.get_all(AUTHORIZATION).iter().collect();
        assert_eq!(authorization, ["Bearer new"]);
        let values: Vec<_> = headers.get_all("x-grant").iter().collect();
        assert_eq!(values, ["one", "two"]);
    }
}
