//! `AsyncClient`: one session shared by every task of a tokio program, over
//! reqwest. Feature `tokio`.
//!
//! The session and its logic are the blocking client's, behind the same
//! mutex (never held across an `.await`). What differs is how a caller
//! waits and sends:
//!
//! - a call waits for its grant on a `tokio::sync::Notify`, not a thread;
//!   its own request goes over reqwest from the task;
//! - the session's own requests (a login step, a refresh, a step-up with
//!   its callback, a logout) and the fleet's store run on the runtime's
//!   blocking pool, started by the first task that needs them and run to
//!   completion there: a task dropped while it waits for one (a timeout, a
//!   `select!`) leaves it going, and its answer reaches the session and
//!   wakes the others. A session request that can no longer be started
//!   (the runtime is shutting down) is handed back to the session as
//!   failed, so that another caller takes over.
//!
//! So a cancelled task never leaves the others waiting, and however many
//! tasks meet an expired token, one login goes out.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as StdInstant};

use authsession_core::{
    CallRounds, CallStepUp, Channel, CodePrompt, Level, NextRound, Provider, SessionState,
    StepUpState, Ticket,
};

#[cfg(feature = "store")]
use crate::client::Answered;
use crate::client::{Call, Client, ClientBuilder, Exchanging, GrantStep, Shared};
use crate::error::Error;
use crate::reqwest_exchange::{BlockingBridge, Origin, ReqwestExchange};
use crate::step_up::{AsyncStepUp, StepUpAnswer};

/// A thread-safe async API client that keeps one session alive, for tokio
/// programs: clone it into every task (clones share the session).
///
/// ```no_run
/// use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
/// use authsession_std::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let credentials = CurrencycloudCredentials::new("me@example.com", &"0".repeat(64))?;
/// let client = Client::builder(Currencycloud::default(), credentials)
///     .base_url("https://devapi.currencycloud.com")
///     .build_async()?;
/// let account = client.get("/v2/accounts/current").await?;
/// println!("{}", String::from_utf8_lossy(account.body()));
/// client.logout().await?;
/// # Ok(()) }
/// ```
pub struct AsyncClient<P: SendProvider> {
    pub(crate) inner: Arc<Client<P>>,
    http: ReqwestExchange,
    /// The base URL's origin, which every call's URL is set on.
    origin: Option<Origin>,
    pub(crate) body_limit: u64,
    /// Shared by the clones: the last one dropped drops it, and it closes
    /// the session (when the builder said so). Never read: it acts on drop.
    #[allow(dead_code)]
    logout_on_drop: Option<Arc<LogoutOnDrop<P>>>,
}

/// Closes the session when the last clone of an [`AsyncClient`] is
/// dropped, once: the logout goes on the runtime's blocking pool (a runtime
/// that is shutting down may not run it: call `logout` to be sure).
struct LogoutOnDrop<P: SendProvider> {
    inner: Arc<Client<P>>,
}

impl<P: SendProvider> Drop for LogoutOnDrop<P> {
    fn drop(&mut self) {
        let inner = Arc::clone(&self.inner);
        if !inner.closes_on_drop() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(move || {
                if let Err(error) = inner.logout() {
                    tracing::warn!(provider = P::NAME, %error, "logout on drop failed");
                }
            });
        } else {
            tracing::warn!(
                provider = P::NAME,
                "the async client was dropped outside a tokio runtime: the session is not closed"
            );
        }
    }
}

impl<P: SendProvider> Clone for AsyncClient<P> {
    fn clone(&self) -> Self {
        AsyncClient {
            inner: Arc::clone(&self.inner),
            http: self.http.clone(),
            origin: self.origin.clone(),
            body_limit: self.body_limit,
            logout_on_drop: self.logout_on_drop.clone(),
        }
    }
}

impl<P: SendProvider> ClientBuilder<P> {
    /// How the program steps the session up when a call needs it, with an
    /// async callback: as [`step_up`](Self::step_up), the callback told
    /// what the user is asked and returning the answer. One task steps up
    /// while the others wait; a task dropped meanwhile does not end it.
    /// Feature `tokio`; the client is then built with
    /// [`build_async`](Self::build_async).
    pub fn step_up_async<F, A>(mut self, channel: Channel, callback: F) -> Self
    where
        F: Fn(CodePrompt) -> A + Send + Sync + 'static,
        A: Future<Output = StepUpAnswer> + Send + 'static,
    {
        self.async_step_up = Some(AsyncStepUp::new(channel, callback));
        self
    }

    /// The async client, over reqwest, for the tokio runtime this is
    /// called in (a multi-threaded one: the session's own requests run on
    /// its blocking pool). [`Error::Config`] outside a runtime; otherwise
    /// as [`build`](Self::build). Feature `tokio`.
    ///
    /// With [`logout_on_drop`](Self::logout_on_drop) (the default), the
    /// last clone dropped closes the session from the runtime's blocking
    /// pool; a runtime that is ending may not run it, so a program that
    /// ends calls [`AsyncClient::logout`] first.
    pub fn build_async(mut self) -> Result<AsyncClient<P>, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config("build_async must be called within a tokio runtime".into())
        })?;
        let http = ReqwestExchange::new(self.timeouts)?;
        let body_limit = self.timeouts.body_limit;
        if let Some(step_up) = self.async_step_up.take() {
            self.step_up = Some(step_up.on_blocking_thread(runtime.clone()));
        }
        // The async client logs out itself: the blocking one would do it
        // on whatever thread drops it last.
        let logout_on_drop = std::mem::replace(&mut self.logout_on_drop, false);
        let bridge = BlockingBridge {
            http: http.clone(),
            runtime,
        };
        let inner = Arc::new(self.build_with(Box::new(bridge))?);
        Ok(AsyncClient {
            logout_on_drop: logout_on_drop.then(|| {
                Arc::new(LogoutOnDrop {
                    inner: Arc::clone(&inner),
                })
            }),
            origin: Origin::of(&inner.transport.base),
            inner,
            http,
            body_limit,
        })
    }
}

/// A provider whose session can move between threads, as the async
/// client's must (its session's own requests run on the runtime's
/// blocking pool). Every built-in provider is one; so is any provider
/// whose types are `Send`.
pub trait SendProvider:
    Provider<Credentials: Send, Token: Send, Body: Send> + Send + 'static
{
}

impl<P> SendProvider for P where
    P: Provider<Credentials: Send, Token: Send, Body: Send> + Send + 'static
{
}

/// A counted session request handed to a blocking thread: finished there,
/// or, if that thread never runs it, abandoned (handed back as failed).
struct Handoff<P: Provider> {
    client: Arc<Client<P>>,
    exchanging: Option<Exchanging>,
}

impl<P: Provider> Handoff<P> {
    fn finish(mut self) -> Result<(), Error> {
        match self.exchanging.take() {
            Some(exchanging) => self.client.finish_exchange(exchanging).1,
            None => Ok(()),
        }
    }
}

impl<P: Provider> Drop for Handoff<P> {
    fn drop(&mut self) {
        if let Some(exchanging) = self.exchanging.take() {
            self.client.abandon_exchange(exchanging);
        }
    }
}

/// A call's wait for its grant, boxed: only calls that must wait pay for
/// its future.
type GrantWait<'a> =
    Pin<Box<dyn Future<Output = Result<(http::HeaderMap, Ticket), Error>> + Send + 'a>>;

/// What a call's first look at the session leaves it to do.
enum FirstLook<'a> {
    /// Decided at once: go with this grant, or not (a step-up to make
    /// first, an error).
    Decided(Result<(http::HeaderMap, Ticket), Error>),
    /// Wait for the grant: a session request to send, a change to see.
    Waiting(GrantWait<'a>),
    /// The call has a challenge of its own.
    Challenged(CallStepUp),
}

/// What a call's answer leads to.
enum Judged {
    /// The call is over: its answer.
    Answer(http::Response<Vec<u8>>),
    /// Send it again after the new login.
    Replay,
    /// Send it again after a step-up.
    StepUp,
}

/// The grant of a round, or `None` when the session is to be stepped up
/// first (and the rounds allow it).
fn step_up_first(
    granted: Result<(http::HeaderMap, Ticket), Error>,
    rounds: &mut CallRounds,
) -> Result<Option<(http::HeaderMap, Ticket)>, Error> {
    match granted {
        Err(Error::StepUpRequired) if rounds.step_up_before_sending() => Ok(None),
        granted => granted.map(Some),
    }
}

/// A call of the async client, its URL joined, owned by its future.
struct Dispatched {
    level: Level,
    method: http::Method,
    url: http::Uri,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Dispatched {
    fn as_call(&self) -> Call<'_> {
        Call {
            level: self.level,
            method: &self.method,
            url: &self.url,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// What one look at the session came to.
enum Looked<P: Provider> {
    /// The call may go.
    Granted(http::HeaderMap, Ticket),
    /// A session request to send from the blocking pool, then look again;
    /// `own`: the call's login (not a refresh the current token outlives).
    Exchange(Handoff<P>, bool),
    /// Nothing to do but wait for a change, at most this long.
    Wait(Duration),
}

impl<P: SendProvider> AsyncClient<P> {
    /// The base URL calls go to.
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// The reqwest client this one sends with: no redirect followed,
    /// rustls with the webpki roots, no proxy, the builder's timeouts. The
    /// one to put the [`middleware`](Self::middleware) on: a client that
    /// follows redirects would carry the token to wherever the API
    /// redirects.
    pub fn reqwest_client(&self) -> reqwest::Client {
        self.http.client.clone()
    }

    /// `GET path` as a logged-in user.
    pub async fn get(&self, path: &str) -> Result<http::Response<Vec<u8>>, Error> {
        let url = self.inner.transport.base.join(path)?;
        let call = Dispatched {
            level: Level::User,
            method: http::Method::GET,
            url,
            headers: http::HeaderMap::new(),
            body: Vec::new(),
        };
        self.dispatch(call).await
    }

    /// `POST path` with a JSON body, as a logged-in user.
    pub async fn post_json(
        &self,
        path: &str,
        json: impl Into<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(Level::User, crate::request::json(path, json.into())?)
            .await
    }

    /// `POST path` with a `multipart/form-data` body of `fields`, as a
    /// logged-in user (Currencycloud's calls), as
    /// [`Client::post_form`].
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(Level::User, crate::request::form(path, fields)?)
            .await
    }

    /// `method path` with `body` at `level`.
    pub async fn call(
        &self,
        level: Level,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(level, crate::request::plain(method, path, body)?)
            .await
    }

    /// Sends `request` as [`Client::send`] does: a refused token replayed
    /// once after the new login, a call that needs step-up sent once more
    /// after it (with a step-up callback), no redirect followed.
    pub async fn send(
        &self,
        level: Level,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let (parts, body) = request.into_parts();
        let url = self.inner.transport.base.join_uri(&parts.uri)?;
        let call = Dispatched {
            level,
            method: parts.method,
            url,
            headers: parts.headers,
            body,
        };
        self.dispatch(call).await
    }

    /// Sends `call` until its rounds are over (the shared [`CallRounds`]).
    /// The usual call finds its grant at the first look and goes. The
    /// waits, the session's requests and the step-up are boxed futures of
    /// their own, and what is decided between two `.await`s is decided in
    /// plain functions, so that the future of every call stays small: it
    /// is written whole into its task at each call, and on a
    /// multi-threaded runtime the task's memory moves between cores. (An
    /// `async` block rather than an `async fn`, whose state would hold
    /// `call` twice; no value lives across an `.await` it is not needed
    /// at.)
    #[allow(clippy::manual_async_fn)] // See above: `call` once.
    fn dispatch(
        &self,
        call: Dispatched,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, Error>> + '_ {
        async move {
            let mut rounds = CallRounds::new(self.inner.step_up.is_some());
            let mut first_round = true;
            // Each round until the answer, or until the call's own
            // challenge takes another way.
            let challenge = loop {
                let granted = match self.look_at_call(&call, first_round) {
                    FirstLook::Decided(granted) => granted,
                    FirstLook::Waiting(waiting) => waiting.await,
                    FirstLook::Challenged(challenge) => break challenge,
                };
                first_round = false;
                let Some((grant, ticket)) = step_up_first(granted, &mut rounds)? else {
                    Box::pin(self.step_up()).await?;
                    continue;
                };
                // In a block: the temporaries of the request's building
                // end before the answer is awaited.
                let response = {
                    self.http.send_call(
                        &call.as_call(),
                        grant,
                        self.body_limit,
                        self.origin.as_ref(),
                    )?
                }
                .await?;
                // A flag, not the judgement, is what outlives the match
                // into the step-up's await.
                let step_up = match self.judge(ticket, response, &mut rounds)? {
                    Judged::Answer(response) => return Ok(response),
                    Judged::StepUp => true,
                    Judged::Replay => {
                        tracing::info!(provider = P::NAME, "token refused: replaying after login");
                        false
                    }
                };
                if step_up {
                    Box::pin(self.step_up()).await?;
                }
            };
            Box::pin(self.send_challenged(call, challenge)).await
        }
    }

    /// A call's look at the session; on its first round, under the same
    /// lock, the provider's probe for a challenge of the call's own (a
    /// payment with SCA), which takes another way before the session is
    /// asked for anything.
    fn look_at_call(&self, call: &Dispatched, first_round: bool) -> FirstLook<'_> {
        let started = StdInstant::now();
        let mut give_ups_seen = None;
        let mut shared = self.inner.lock();
        if first_round && let Some(challenge) = shared.call_step_up(&call.method, &call.url) {
            return FirstLook::Challenged(challenge);
        }
        match self.look(&mut shared, call.level, started, &mut give_ups_seen) {
            Ok(Looked::Granted(headers, ticket)) => FirstLook::Decided(Ok((headers, ticket))),
            Ok(looked) => {
                drop(shared);
                let waiting = self.await_looked(call.level, started, give_ups_seen, looked);
                FirstLook::Waiting(Box::pin(waiting))
            }
            Err(error) => FirstLook::Decided(Err(error)),
        }
    }

    /// The session's verdict on a call's answer, and what the rounds make
    /// of it.
    fn judge(
        &self,
        ticket: Ticket,
        response: http::Response<Vec<u8>>,
        rounds: &mut CallRounds,
    ) -> Result<Judged, Error> {
        let verdict = self.inner.judge(ticket, &response);
        Ok(match rounds.after(&verdict) {
            NextRound::Replay => Judged::Replay,
            NextRound::StepUp => Judged::StepUp,
            NextRound::Finish => {
                let answered = self.inner.finish(verdict, response);
                #[cfg(feature = "store")]
                if matches!(answered, Ok(Answered { fatal: None, .. })) {
                    self.touch_store();
                }
                Judged::Answer(answered?.into_result()?)
            }
        })
    }

    /// A call with its own challenge (a payment with SCA): the blocking
    /// client's flow, on a blocking thread. If this task is dropped, the
    /// flow stops before it asks the user or sends the call: a caller that
    /// timed out and tries again must not pay twice.
    async fn send_challenged(
        &self,
        call: Dispatched,
        challenge: CallStepUp,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let abandoned = AbandonedOnDrop::default();
        let seen = Arc::clone(&abandoned.0);
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner
                .send_with_call_step_up(&call.as_call(), challenge, &|| seen.load(Ordering::SeqCst))
        })
        .await
    }

    /// Records the token's use in the fleet's store when it is due, from
    /// a blocking thread.
    #[cfg(feature = "store")]
    fn touch_store(&self) {
        if self
            .inner
            .fleet
            .as_ref()
            .is_some_and(crate::fleet::Fleet::touch_due)
        {
            let inner = Arc::clone(&self.inner);
            tokio::task::spawn_blocking(move || {
                if let Some(fleet) = &inner.fleet {
                    fleet.touch();
                }
            });
        }
    }

    /// Waits until the session can authorize a call at `level`: the async
    /// twin of the blocking client's wait, one [`GrantStep`] at a time.
    pub(crate) async fn await_grant(
        &self,
        level: Level,
    ) -> Result<(http::HeaderMap, Ticket), Error> {
        let started = StdInstant::now();
        let mut give_ups_seen = None;
        match self.look_now(level, started, &mut give_ups_seen)? {
            Looked::Granted(headers, ticket) => Ok((headers, ticket)),
            looked => Box::pin(self.await_looked(level, started, give_ups_seen, looked)).await,
        }
    }

    /// Goes on from `looked` until the call is granted: sends the session
    /// request a look took, or sleeps until the session changes, and looks
    /// again.
    async fn await_looked(
        &self,
        level: Level,
        started: StdInstant,
        mut give_ups_seen: Option<u64>,
        mut looked: Looked<P>,
    ) -> Result<(http::HeaderMap, Ticket), Error> {
        loop {
            looked = match looked {
                Looked::Granted(headers, ticket) => return Ok((headers, ticket)),
                Looked::Exchange(handoff, own) => {
                    let sent = blocking(move || handoff.finish()).await;
                    // The fleet's budget held the login back past this
                    // call's patience: that is this call's answer (a
                    // refresh's outcome is not: the current token serves).
                    if own && let Err(error @ Error::RateLimited { .. }) = sent {
                        return Err(error);
                    }
                    self.look_now(level, started, &mut give_ups_seen)?
                }
                Looked::Wait(_) => {
                    // Registered before the look, so that a change made
                    // between that look and the wait still wakes this task.
                    let mut changed = pin!(self.inner.notify.notified());
                    changed.as_mut().enable();
                    match self.look_now(level, started, &mut give_ups_seen)? {
                        Looked::Wait(nap) => {
                            let _ = tokio::time::timeout(nap, changed).await;
                            self.look_now(level, started, &mut give_ups_seen)?
                        }
                        other => other,
                    }
                }
            };
        }
    }

    /// [`look`](Self::look) under the session's lock, taken for it.
    fn look_now(
        &self,
        level: Level,
        started: StdInstant,
        give_ups_seen: &mut Option<u64>,
    ) -> Result<Looked<P>, Error> {
        self.look(&mut self.inner.lock(), level, started, give_ups_seen)
    }

    /// One [`GrantStep`]; a session request it takes is handed off for
    /// sending (a handoff dropped unsent gives it back as failed).
    /// `give_ups_seen` is set at the first look.
    fn look(
        &self,
        shared: &mut Shared<P>,
        level: Level,
        started: StdInstant,
        give_ups_seen: &mut Option<u64>,
    ) -> Result<Looked<P>, Error> {
        let seen = *give_ups_seen.get_or_insert(shared.give_ups);
        let (outgoing, within, own) = match self.inner.grant_step(shared, level, started, seen)? {
            GrantStep::Granted(headers, ticket) => return Ok(Looked::Granted(headers, ticket)),
            GrantStep::Wait(nap) => return Ok(Looked::Wait(nap)),
            GrantStep::Send { outgoing, within } => (outgoing, within, true),
            GrantStep::Refresh { outgoing, within } => (outgoing, within, false),
        };
        let handoff = Handoff {
            client: Arc::clone(&self.inner),
            exchanging: Some(self.inner.begin_exchange(shared, outgoing, within)),
        };
        Ok(Looked::Exchange(handoff, own))
    }

    /// Steps the session up (the callback on a blocking thread), or waits
    /// for the task that is doing it and takes its outcome.
    pub(crate) async fn step_up(&self) -> Result<(), Error> {
        let started = StdInstant::now();
        let ended_seen = self.inner.lock().step_ups_ended;
        loop {
            let mut changed = pin!(self.inner.notify.notified());
            changed.as_mut().enable();
            // Only a look here: the turn is claimed on the blocking thread
            // that runs it, so that a task dropped now claims nothing.
            {
                let shared = self.inner.lock();
                if shared.session.step_up_state() == StepUpState::SteppedUp {
                    return Ok(());
                }
                if !shared.stepping_up {
                    break;
                }
            }
            let waited = started.elapsed();
            let patience = self
                .inner
                .max_wait
                .checked_sub(waited)
                .ok_or(Error::Timeout { waited })?;
            let _ = tokio::time::timeout(patience, changed).await;
        }
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.perform_step_up_since(started, ended_seen)).await
    }

    /// Logs in now (unless a token is held), waiting for the outcome; how a
    /// session whose credentials were refused tries again.
    pub async fn login(&self) -> Result<(), Error> {
        {
            let mut shared = self.inner.lock();
            let now = self.inner.now();
            shared.session.login(now);
            self.inner.drain_events(&mut shared);
        }
        self.await_grant(Level::User).await.map(drop)
    }

    /// Closes the session, as [`Client::logout`]; it goes on to its end
    /// if this task is dropped meanwhile.
    pub async fn logout(&self) -> Result<(), Error> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.logout()).await
    }

    /// Takes up the stored session, or logs in, as a call would. Feature
    /// `store`.
    #[cfg(feature = "store")]
    pub async fn resume(&self) -> Result<(), Error> {
        self.await_grant(Level::User).await.map(drop)
    }

    /// Clears the fleet's mark of a refused login, as
    /// [`Client::clear_refusal`]. Feature `store`.
    #[cfg(feature = "store")]
    pub async fn clear_refusal(&self) -> Result<(), Error> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.clear_refusal()).await
    }

    /// Replaces the credentials; the current token, if any, is forgotten.
    pub fn set_credentials(&self, credentials: P::Credentials) {
        self.inner.set_credentials(credentials);
    }

    /// The session's state.
    pub fn state(&self) -> SessionState {
        self.inner.state()
    }

    /// How many logins have succeeded.
    pub fn generation(&self) -> u64 {
        self.inner.generation()
    }
}

/// Set when the future holding it is dropped.
#[derive(Default)]
struct AbandonedOnDrop(Arc<AtomicBool>);

impl Drop for AbandonedOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `work` on the runtime's blocking pool and awaits it; a panic there
/// reaches the caller.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Cancelled: the runtime shut down before it ran.
        Err(_) => Err(Error::Transport(crate::error::TransportError::new(
            crate::error::TransportErrorKind::Other,
            std::time::Duration::ZERO,
            std::io::Error::other("the tokio runtime is shutting down"),
        ))),
    }
}

impl<P: SendProvider> std::fmt::Debug for AsyncClient<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("provider", &P::NAME)
            .field("base_url", &self.inner.base_url())
            .field("state", &self.inner.state())
            .finish_non_exhaustive()
    }
}
