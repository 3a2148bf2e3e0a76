//! The async client's HTTP: a `reqwest` client set up for carrying tokens
//! (no redirects followed, statuses as values, rustls with ring and the
//! webpki roots, no proxy from the environment), and its exchange, awaited
//! by the async client's calls or run to completion on a blocking thread
//! for the session's own requests.
//!
//! reqwest logs (through `log`, capped at debug by this crate) a request's
//! method and URL and a response's status, never a header or a body.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use zeroize::Zeroizing;

use crate::client::Call;
use crate::error::{Error, TransportError, TransportErrorKind};
use crate::origin::BaseUrl;
use crate::transport::{Exchange, Timeouts, USER_AGENT_VALUE, WipedOnDrop};

/// The reqwest client of one async client.
#[derive(Clone, Debug)]
pub(crate) struct ReqwestExchange {
    pub(crate) client: reqwest::Client,
}

impl ReqwestExchange {
    pub(crate) fn new(timeouts: Timeouts) -> Result<Self, Error> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Config("the TLS configuration was refused by rustls".into()))?
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // A redirect could carry the token to another host: never follow.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.connect + timeouts.response)
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|error| Error::Config(format!("the HTTP client: {error}")))?;
        Ok(ReqwestExchange { client })
    }

    /// Sends `request` and reads the whole answer, up to `body_limit`,
    /// within the client's timeouts or `within` if shorter.
    pub(crate) async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let mut outgoing =
            self.outgoing(parts.method, &parts.uri, None, parts.headers, body, started)?;
        if let Some(within) = within {
            *outgoing.timeout_mut() = Some(within);
        }
        answer(self.client.execute(outgoing), body_limit, started).await
    }

    /// Hands `call`, with the headers of its grant, to reqwest, and
    /// returns the future of its whole answer, read up to `body_limit`
    /// within the client's timeouts. Its URL is set on `origin`'s, if
    /// given. What building the request needs is not kept in the future:
    /// a call's future is written whole into its task at every call, and
    /// on a multi-threaded runtime the task's memory moves between cores.
    pub(crate) fn send_call(
        &self,
        call: &Call<'_>,
        grant: http::HeaderMap,
        body_limit: u64,
        origin: Option<&Origin>,
    ) -> Result<impl Future<Output = Result<http::Response<Vec<u8>>, Error>> + use<>, Error> {
        let started = Instant::now();
        let headers = call.headers_with(&http::HeaderMap::new(), grant);
        let outgoing = self.outgoing(
            call.method.clone(),
            call.url,
            origin,
            headers,
            call.body.to_vec(),
            started,
        )?;
        Ok(answer(self.client.execute(outgoing), body_limit, started))
    }

    /// The request as reqwest's (built before any `.await`: what building
    /// needs is not kept in a future), to `uri` set on the origin's URL if
    /// one is given.
    fn outgoing(
        &self,
        method: Method,
        uri: &http::Uri,
        origin: Option<&Origin>,
        headers: http::HeaderMap,
        body: Vec<u8>,
        started: Instant,
    ) -> Result<reqwest::Request, Error> {
        // Wiped whether it is sent or not (a refused URL).
        let body = WipedOnDrop(body);
        // A request without a body says nothing of one.
        let with_body =
            !body.0.is_empty() || matches!(method, Method::POST | Method::PUT | Method::PATCH);
        let url = match origin {
            Some(origin) if origin.holds(uri) => Some(origin.url_of(uri)),
            _ => parsed_as_is(uri),
        };
        let mut outgoing = match url {
            // The headers moved in rather than inserted one by one into an
            // empty map.
            Some(url) => {
                let mut outgoing = reqwest::Request::new(method, url);
                *outgoing.headers_mut() = headers;
                outgoing
            }
            // Anything else as reqwest's builder has it, refusals too.
            None => self
                .client
                .request(method, uri_text::<String>(uri).unwrap_or_default())
                .headers(headers)
                .build()
                .map_err(|error| failed(error, started))?,
        };
        if with_body {
            *outgoing.body_mut() = Some(bytes::Bytes::from_owner(body).into());
        }
        Ok(outgoing)
    }
}

/// The base URL's origin as reqwest's URL (`scheme://authority/`), parsed
/// once: a call's URL is this one with the call's path and query set,
/// which parses only them. (Parsing the scheme and the host, which goes
/// through IDNA, is most of what parsing a whole URL costs: some 5,000 of
/// its 6,500 instructions on a loopback URL.)
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    url: reqwest::Url,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
}

impl Origin {
    /// The origin of `base`, if reqwest takes it as it is.
    pub(crate) fn of(base: &BaseUrl) -> Option<Self> {
        let (scheme, authority) = base.origin();
        let text = format!("{scheme}://{authority}/");
        let uri = text.parse::<http::Uri>().ok()?;
        Some(Origin {
            url: parsed_as_is(&uri)?,
            scheme: scheme.clone(),
            authority: authority.clone(),
        })
    }

    /// Whether `uri` is on this origin (as every URL the base URL joins is).
    fn holds(&self, uri: &http::Uri) -> bool {
        uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority)
    }

    /// `uri`, on this origin, as reqwest's URL: the same URL as parsing
    /// it whole gives.
    fn url_of(&self, uri: &http::Uri) -> reqwest::Url {
        let mut url = self.url.clone();
        url.set_path(uri.path());
        url.set_query(uri.query());
        url
    }
}

/// `uri` as reqwest's URL, if reqwest's builder would take it as it is:
/// with a host, without a user or password to move into a header. Written
/// out on the stack for parsing when it fits (the usual URL).
fn parsed_as_is(uri: &http::Uri) -> Option<reqwest::Url> {
    let parsed = match uri_text::<heapless::String<256>>(uri) {
        Some(text) => reqwest::Url::parse(&text),
        None => reqwest::Url::parse(&uri_text::<String>(uri)?),
    }
    .ok()?;
    (parsed.has_host() && parsed.username().is_empty() && parsed.password().is_none())
        .then_some(parsed)
}

/// `uri` as its `Display` writes it, into a `T` (`None` if it does not fit).
fn uri_text<T: Default + std::fmt::Write>(uri: &http::Uri) -> Option<T> {
    let mut text = T::default();
    if let Some(scheme) = uri.scheme_str() {
        text.write_str(scheme).ok()?;
        text.write_str("://").ok()?;
    }
    if let Some(authority) = uri.authority() {
        text.write_str(authority.as_str()).ok()?;
    }
    text.write_str(uri.path()).ok()?;
    if let Some(query) = uri.query() {
        text.write_str("?").ok()?;
        text.write_str(query).ok()?;
    }
    Some(text)
}

/// The whole answer to a request reqwest was handed (`sent`) at
/// `started`, its body read up to `body_limit`. (`async` blocks rather
/// than `async fn`s here and in [`read_whole`]: an `async fn`'s state
/// holds its arguments twice.)
#[allow(clippy::manual_async_fn)]
fn answer(
    sent: impl Future<Output = Result<reqwest::Response, reqwest::Error>>,
    body_limit: u64,
    started: Instant,
) -> impl Future<Output = Result<http::Response<Vec<u8>>, Error>> {
    async move {
        let response = sent.await.map_err(|error| failed(error, started))?;
        read_whole(response, body_limit, started).await
    }
}

/// reqwest's `error`, in an exchange that began at `started`.
fn failed(error: reqwest::Error, started: Instant) -> Error {
    Error::Transport(from_reqwest(error, started.elapsed()))
}

/// The whole of `response`, its body read up to `body_limit` into memory
/// that is wiped if the read fails halfway (`started`: when the exchange
/// began, for the error).
#[allow(clippy::manual_async_fn)] // See `answer`.
pub(crate) fn read_whole(
    mut response: reqwest::Response,
    body_limit: u64,
    started: Instant,
) -> impl Future<Output = Result<http::Response<Vec<u8>>, Error>> {
    async move {
        let room = response.content_length().unwrap_or(0).min(body_limit);
        let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(room).unwrap_or(0)));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| failed(error, started))?
        {
            let total = bytes.len().saturating_add(chunk.len());
            if u64::try_from(total).unwrap_or(u64::MAX) > body_limit {
                return Err(Error::Transport(TransportError::new(
                    TransportErrorKind::TooLarge,
                    started.elapsed(),
                    std::io::Error::other(format!(
                        "the answer's body is larger than {body_limit} bytes"
                    )),
                )));
            }
            // Room for the whole declared length was made: only an answer
            // longer than it declared grows (and leaves a copy behind).
            bytes.extend_from_slice(&chunk);
        }
        let mut answer = http::Response::new(std::mem::take(&mut *bytes));
        *answer.status_mut() = response.status();
        *answer.version_mut() = response.version();
        *answer.headers_mut() = std::mem::take(response.headers_mut());
        Ok(answer)
    }
}

/// The session's own requests from a blocking thread of the runtime: the
/// session's logic (logins, the fleet's store, step-up, logout) runs there
/// as in the blocking client, to completion even if the task that started
/// it is dropped.
#[derive(Debug)]
pub(crate) struct BlockingBridge {
    pub(crate) http: ReqwestExchange,
    pub(crate) runtime: tokio::runtime::Handle,
}

impl Exchange for BlockingBridge {
    fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        // Only ever called on the runtime's blocking threads (the async
        // client sends its session requests from `spawn_blocking`), where
        // `block_on` is allowed. A runtime that is shutting down (a logout
        // on drop at the program's end) makes tokio's timers panic: that is
        // a request that got no answer.
        let started = Instant::now();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.runtime
                .block_on(self.http.send(request, body_limit, within))
        }))
        .unwrap_or_else(|_| {
            Err(Error::Transport(TransportError::new(
                TransportErrorKind::Other,
                started.elapsed(),
                std::io::Error::other("the tokio runtime is shutting down"),
            )))
        })
    }
}

/// reqwest's `error`, which ended an exchange `elapsed` after it began,
/// without its URL.
fn from_reqwest(error: reqwest::Error, elapsed: Duration) -> TransportError {
    let error = error.without_url();
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_body() || error.is_decode() {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, elapsed, error)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Base URLs with and without a path prefix, a port, a host in
    /// capitals, an IPv6 host.
    const BASES: [&str; 5] = [
        "http://127.0.0.1:35171",
        "http://localhost:8080/api",
        "https://API.Example.com",
        "https://example.com:8443/v2/",
        "http://[::1]:99/multi",
    ];

    /// What a caller may write after the base: segments of the characters
    /// the `http` crate takes in a path (percent signs and dots among
    /// them, which URL parsing treats apart), and maybe a query.
    fn target() -> impl Strategy<Value = String> {
        let segment = r#"[a-zA-Z0-9._~!$&'()*+,;=:@%"{}|^`-]{0,6}"#;
        let query = r#"(\?[a-zA-Z0-9._~!$&'()*+,;=:@/?%"{}|^`-]{0,10})?"#;
        (prop::collection::vec(segment, 1..5), query)
            .prop_map(|(segments, query)| format!("/{}{query}", segments.join("/")))
    }

    proptest! {
        // Half the targets climb out of the base URL's path or hold what
        // the `http` crate refuses.
        #![proptest_config(ProptestConfig {
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        })]

        #[test]
        fn a_url_set_on_the_origin_is_the_url_parsed_whole(
            base in prop::sample::select(&BASES[..]),
            target in target(),
            absolute in any::<bool>(),
        ) {
            let base = BaseUrl::parse(base).unwrap();
            let origin = Origin::of(&base).unwrap();
            // A path, or the same origin's absolute URL (its scheme and
            // host in capitals: still the base URL's origin).
            let target = if absolute {
                let (scheme, authority) = base.origin();
                format!("{}://{}{target}", scheme.as_str().to_uppercase(), authority.as_str().to_uppercase())
            } else {
                target
            };
            // What the base URL refuses never reaches reqwest.
            let joined = base.join(&target);
            prop_assume!(joined.is_ok());
            let uri = joined.unwrap();
            prop_assert!(origin.holds(&uri));
            prop_assert_eq!(Some(origin.url_of(&uri)), parsed_as_is(&uri));
        }
    }

    #[test]
    fn another_origin_is_parsed_whole() {
        let origin = Origin::of(&BaseUrl::parse("https://example.com").unwrap()).unwrap();
        for other in [
            "https://example.org/a",
            "http://example.com/a",
            "https://example.com:8443/a",
        ] {
            assert!(!origin.holds(&other.parse().unwrap()), "{other}");
        }
    }
}
