//! `SessionMiddleware`: the session as a `reqwest_middleware::Middleware`,
//! for a program that already sends its calls through a
//! `ClientWithMiddleware`. Feature `tokio`.
//!
//! Each request to the API's origin waits for the session's grant (one
//! login for every request that meets an expired token), goes with the
//! token, and is judged by the session when its answer comes: a refused
//! token is replayed once after the new login, a call that needs step-up
//! once after the step-up (when the client has a step-up callback), by the
//! same [`CallRounds`] as every client. A request to another origin passes
//! through untouched: the token never travels there.
//!
//! The answer's body is read into memory (up to the client's body limit)
//! for the session to judge, then handed on as a new `reqwest::Response`.
//! A request whose body cannot be cloned (a stream) goes once: it cannot
//! be replayed. A call with a challenge of its own (a Currencycloud payment
//! with SCA) goes through the client's flow for it, on the client's own
//! reqwest client: it is several requests (validate, the call with the
//! user's code).
//!
//! Put it on [`AsyncClient::reqwest_client`] (or any reqwest client built
//! with `redirect(Policy::none())`): reqwest follows redirects inside the
//! client, below every middleware, and drops only its own sensitive
//! headers on the way, not an `X-Auth-Token`. An answer that came from
//! another origin says such a redirect was followed: the middleware then
//! closes the session (the token went along) and fails the request.

use std::time::Instant;

use authsession_core::{CallRounds, Level, NextRound};
use reqwest_middleware::{Middleware, Next};

use crate::async_client::{AsyncClient, SendProvider};
use crate::client::Answered;
use crate::error::Error;
use crate::reqwest_exchange::read_whole;
use crate::transport::put_grant;

/// The session of an [`AsyncClient`] as a middleware: see
/// [`AsyncClient::middleware`].
///
/// ```no_run
/// use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
/// use authsession_std::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let credentials = CurrencycloudCredentials::new("me@example.com", &"0".repeat(64))?;
/// let session = Client::builder(Currencycloud::default(), credentials)
///     .base_url("https://devapi.currencycloud.com")
///     .build_async()?;
/// // The session's own reqwest client: it follows no redirect.
/// let http = reqwest_middleware::ClientBuilder::new(session.reqwest_client())
///     .with(session.middleware())
///     .build();
/// let balances = http
///     .get("https://devapi.currencycloud.com/v2/balances/find")
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SessionMiddleware<P: SendProvider> {
    client: AsyncClient<P>,
}

impl<P: SendProvider> AsyncClient<P> {
    /// This client's session as a `reqwest_middleware` middleware: every
    /// request it sees to the base URL's origin goes as a logged-in user
    /// (or at the [`Level`] put in the request's extensions), sharing this
    /// client's session, its logins and its step-up.
    pub fn middleware(&self) -> SessionMiddleware<P> {
        SessionMiddleware {
            client: self.clone(),
        }
    }
}

#[async_trait::async_trait]
impl<P: SendProvider> Middleware for SessionMiddleware<P> {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let inner = &self.client.inner;
        // A challenge of the request's own (a Currencycloud payment with
        // SCA) takes the client's flow for it. That flow, the step-up and
        // the logout are boxed futures of their own, as in the async
        // client: the future of every request stays small (async_trait
        // boxes it, and it is copied as it is), and the joined URL is not
        // kept in it.
        let challenged = match inner.transport.base.join(request.url().as_str()) {
            Ok(joined) => inner.call_step_up(request.method(), &joined).is_some(),
            Err(_) => return next.run(request, extensions).await,
        };
        let level = extensions.get::<Level>().copied().unwrap_or(Level::User);
        if challenged {
            return Box::pin(self.send_challenged(level, request)).await;
        }
        let mut rounds = CallRounds::new(inner.step_up.is_some());
        // Kept for a replay while its body can be cloned.
        let mut kept = Some(request);
        loop {
            let (grant, ticket) = match self.client.await_grant(level).await {
                Err(Error::StepUpRequired) if rounds.step_up_before_sending() => {
                    Box::pin(self.client.step_up()).await.map_err(failure)?;
                    continue;
                }
                granted => granted.map_err(failure)?,
            };
            let started = Instant::now();
            // In a block: the attempt and the request it was cloned from
            // end before the answer is awaited (they would stay in the
            // future's state otherwise).
            let response = {
                let Some(request) = kept.take() else {
                    return Err(failure(Error::TokenRefused));
                };
                let mut attempt = match request.try_clone() {
                    Some(copy) => {
                        kept = Some(request);
                        copy
                    }
                    None => request,
                };
                put_grant(attempt.headers_mut(), grant);
                next.clone().run(attempt, extensions)
            }
            .await?;
            let url = response.url().clone();
            // The answer's URL is the request's unless a redirect was
            // followed (the kept copy has the request's).
            let redirected = kept.as_ref().is_none_or(|kept| *kept.url() != url);
            if redirected && inner.transport.base.join(url.as_str()).is_err() {
                // The client below followed a redirect to another origin,
                // and the token went with it: it must not serve again.
                tracing::warn!(
                    provider = P::NAME,
                    "a redirect carried the token to another origin: logging out"
                );
                let _ = Box::pin(self.client.logout()).await;
                return Err(failure(Error::Config(
                    "the reqwest client under the middleware followed a redirect to another \
                     origin with the token (the session was closed): build it with \
                     redirect(Policy::none()), or use AsyncClient::reqwest_client"
                        .into(),
                )));
            }
            let response = read_whole(response, self.client.body_limit, started)
                .await
                .map(|response| with_url(response, url))
                .map_err(failure)?;
            // The verdict (half a kilobyte: the API's error inline) ends
            // before the step-up is awaited: a flag outlives it.
            let step_up = {
                let verdict = inner.judge(ticket, &response);
                let next_round = match rounds.after(&verdict) {
                    // A request that cannot go again ends with its answer.
                    NextRound::Replay | NextRound::StepUp if kept.is_none() => NextRound::Finish,
                    other => other,
                };
                match next_round {
                    NextRound::Replay => {
                        tracing::info!(provider = P::NAME, "token refused: replaying after login");
                        false
                    }
                    NextRound::StepUp => true,
                    NextRound::Finish => {
                        return inner
                            .finish(verdict, response)
                            .and_then(Answered::into_result)
                            .map(reqwest::Response::from)
                            .map_err(failure);
                    }
                }
            };
            if step_up {
                Box::pin(self.client.step_up()).await.map_err(failure)?;
            }
        }
    }
}

impl<P: SendProvider> SessionMiddleware<P> {
    /// A request with its own challenge goes through the client's flow for
    /// it (validate, the user's code, the call) on the client's own reqwest
    /// client, not down the middleware stack: it is several requests.
    async fn send_challenged(
        &self,
        level: Level,
        request: reqwest::Request,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let url = request.url().clone();
        let Some(body) = request
            .body()
            .map_or(Some(&[][..]), reqwest::Body::as_bytes)
        else {
            return Err(failure(Error::Config(
                "a call with its own challenge needs a body in memory, not a stream".into(),
            )));
        };
        let mut call = http::Request::builder()
            .method(request.method().clone())
            .uri(url.as_str())
            .body(body.to_vec())
            .map_err(|error| failure(Error::from_http(&error, request.method().as_str())))?;
        *call.headers_mut() = request.headers().clone();
        let answer = self.client.send(level, call).await.map_err(failure)?;
        Ok(reqwest::Response::from(with_url(answer, url)))
    }
}

/// `response` with the URL it came from, which reqwest's `Response` made
/// from it reports (instead of a placeholder).
fn with_url(mut response: http::Response<Vec<u8>>, url: reqwest::Url) -> http::Response<Vec<u8>> {
    use reqwest::ResponseBuilderExt as _;
    if let Ok(marked) = http::Response::builder().url(url).body(()) {
        response
            .extensions_mut()
            .extend(marked.into_parts().0.extensions);
    }
    response
}

/// The session's error as the middleware's.
fn failure(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}
