//! The blocking client's HTTP: a `ureq` agent set up for carrying tokens.
//!
//! No secret reaches a log through ureq: its trace-level wire dump is
//! compiled out by the `log` features in this crate's `Cargo.toml`, and at
//! debug it logs only an allow-list of headers.

use std::io::Read;
use std::mem;
use std::time::{Duration, Instant};

use http::Method;
use http::uri::Scheme;
use zeroize::Zeroizing;

use crate::error::{Error, TransportError};
use crate::transport::{Exchange, Timeouts, USER_AGENT_VALUE};

/// A ureq agent: statuses as values, no redirects, the client's timeouts.
#[derive(Debug)]
pub(crate) struct UreqExchange {
    agent: ureq::Agent,
    /// The agent's own bound on one exchange.
    global_timeout: Duration,
}

impl UreqExchange {
    pub(crate) fn new(timeouts: Timeouts) -> Self {
        let agent = ureq::Agent::config_builder()
            // Statuses are the session's business, not errors.
            .http_status_as_error(false)
            // A redirect could carry the token to another host: never follow.
            .max_redirects(0)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.connect + timeouts.response))
            .user_agent(USER_AGENT_VALUE)
            .build()
            .new_agent();
        UreqExchange {
            agent,
            global_timeout: timeouts.connect + timeouts.response,
        }
    }

    /// `request`, bounded by `within` as well as the agent's own timeout.
    fn within<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        within: Option<Duration>,
    ) -> http::Request<S> {
        match within {
            Some(within) => self
                .agent
                .configure_request(request)
                .timeout_global(Some(within.min(self.global_timeout)))
                .build(),
            None => request,
        }
    }
}

impl Exchange for UreqExchange {
    fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
        body_limit: u64,
        within: Option<Duration>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let (parts, body) = request.into_parts();
        let body = Zeroizing::new(body);
        let https = parts.uri.scheme() == Some(&Scheme::HTTPS);
        let started = Instant::now();
        let failed = |error: ureq::Error| {
            Error::Transport(TransportError::from_ureq(error, started.elapsed(), https))
        };
        // A request without a body says nothing of one: a `GET` carrying
        // `Content-Length: 0` is allowed but frowned upon (RFC 9110 8.6).
        let sent = if body.is_empty()
            && !matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
        {
            let request = http::Request::from_parts(parts, ());
            self.agent.run(self.within(request, within))
        } else {
            // Lent, not given: a `Vec` handed to ureq would be dropped there
            // unwiped.
            let request = http::Request::from_parts(parts, body.as_slice());
            self.agent.run(self.within(request, within))
        };
        drop(body);
        let response = sent.map_err(&failed)?;
        let (parts, mut body) = response.into_parts();
        // Read into room for the whole declared length, so that growing
        // leaves no stray copy of a login answer in freed memory; wiped if
        // the read fails halfway.
        let room = body.content_length().unwrap_or(0).min(body_limit);
        let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(room).unwrap_or(0)));
        body.with_config()
            .limit(body_limit)
            .reader()
            .read_to_end(&mut bytes)
            // ureq's errors while reading (a timeout, the body limit) come
            // wrapped in `io::Error`: `From` unwraps them.
            .map_err(|error| failed(ureq::Error::from(error)))?;
        Ok(http::Response::from_parts(parts, mem::take(&mut *bytes)))
    }
}
