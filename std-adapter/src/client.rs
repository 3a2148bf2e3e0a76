//! `Client`: one session shared by every thread of a program.
//!
//! The session sits behind a mutex. The lock is held only for bookkeeping,
//! never while a request is on the wire. The session hands each of its own
//! requests (a login step, a logout) to exactly one thread: that thread
//! sends it while the others sleep on the condition variable, and wakes
//! them with the outcome. So however many threads meet an expired token,
//! one login goes out.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use authsession_core::{
    CallRounds, Channel, CodePrompt, Config, Event, ExpiryReason, Instant, Level, NextRound,
    NotReady, Provider, Session, SessionState, Ticket, Transmit, Verdict,
};

use crate::error::{BaseUrlError, Error, TransportError};
use crate::origin::BaseUrl;
use crate::step_up::{StepUp, StepUpAnswer};
use crate::transport::{GrantHeaders, HttpResponse, Timeouts, Transport, put_grant};

/// A thread-safe, blocking API client that keeps one session alive.
///
/// ```no_run
/// use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
/// use authsession_std::Client;
///
/// let credentials = CurrencycloudCredentials::new("me@example.com", &"0".repeat(64))?;
/// let client = Client::builder(Currencycloud::default(), credentials)
///     .base_url("https://devapi.currencycloud.com")
///     .build()?;
/// let account = client.get("/v2/accounts/current")?;
/// println!("{}", String::from_utf8_lossy(account.body()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client<P: Provider> {
    pub(crate) transport: Transport,
    pub(crate) shared: Mutex<Shared<P>>,
    pub(crate) changed: Condvar,
    /// What async tasks wait on, where threads wait on `changed`.
    #[cfg(feature = "tokio")]
    pub(crate) notify: tokio::sync::Notify,
    clock_origin: StdInstant,
    logout_on_drop: bool,
    pub(crate) max_wait: Duration,
    pub(crate) step_up: Option<StepUp>,
    /// The store the session is shared through, if any.
    #[cfg(feature = "store")]
    pub(crate) fleet: Option<crate::fleet::Fleet>,
}

pub(crate) struct Shared<P: Provider> {
    pub(crate) session: Session<P>,
    /// Threads sending one of the session's own requests right now.
    exchanging: u32,
    /// How many times the session gave up; a waiter that saw it change
    /// fails instead of starting over.
    pub(crate) give_ups: u64,
    /// A thread is stepping the session up (and may be waiting for the
    /// user); the others wait for it.
    pub(crate) stepping_up: bool,
    /// How many step-ups have ended, and why the last one failed (if it
    /// did): a caller that waited for one takes its outcome instead of
    /// asking the user again.
    pub(crate) step_ups_ended: u64,
    pub(crate) last_step_up_failure: Option<Error>,
    /// Why the session's last request got no answer, if it got none: what
    /// a call is told when the session stops trying (or must wait longer
    /// than the call may) because its logins never reached the API.
    last_transport: Option<TransportError>,
    /// Until when the fleet's login budget held the session's last login
    /// back, if it did: what a call is told instead (the login was never
    /// sent, so the session counts it as failed). Only with a store.
    held_back_until: Option<StdInstant>,
    /// The generation whose token this process let idle out (by its own
    /// clock), if the last one did: the fleet may have kept it alive, so
    /// a store may give it back. Only with a store.
    pub(crate) idled_out: Option<u64>,
    /// A login of this process that the fleet's store was asked about,
    /// while its further steps go (Weavr's three): its lock is released
    /// after the last step.
    #[cfg(feature = "store")]
    fleet_login: Option<crate::fleet::FleetLogin>,
    /// The last grant's headers, built once for every call that carries
    /// the same token; cleared at each of the session's events.
    grant_headers: GrantHeaders,
}

impl<P: Provider> Shared<P> {
    /// The challenge the provider asks of a call to `url` with `method`
    /// before it goes (a Currencycloud payment with SCA), if any.
    pub(crate) fn call_step_up(
        &self,
        method: &http::Method,
        url: &http::Uri,
    ) -> Option<authsession_core::CallStepUp> {
        self.session
            .provider()
            .call_step_up(method.as_str(), url.path())
    }
}

/// An application call as the caller gave it, its URL joined to the base.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) level: Level,
    pub(crate) method: &'a http::Method,
    pub(crate) url: &'a http::Uri,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) body: &'a [u8],
}

impl Call<'_> {
    /// The request to send: the caller's headers, `extra` headers, and the
    /// session's grant.
    pub(crate) fn request(
        &self,
        extra: &http::HeaderMap,
        grant: http::HeaderMap,
    ) -> http::Request<Vec<u8>> {
        // Method and URL are already checked: nothing for a builder to
        // refuse.
        let mut outgoing = http::Request::new(self.body.to_vec());
        *outgoing.method_mut() = self.method.clone();
        *outgoing.uri_mut() = self.url.clone();
        *outgoing.headers_mut() = self.headers_with(extra, grant);
        outgoing
    }

    /// The caller's headers, then `extra` headers, then the session's
    /// grant: each later map's names replace the earlier's.
    pub(crate) fn headers_with(
        &self,
        extra: &http::HeaderMap,
        grant: http::HeaderMap,
    ) -> http::HeaderMap {
        if self.headers.is_empty() && extra.is_empty() {
            // The usual call: the grant's headers are all there is.
            return grant;
        }
        let mut headers = self.headers.clone();
        if !extra.is_empty() {
            headers.extend(extra.clone());
        }
        put_grant(&mut headers, grant);
        headers
    }
}

/// A call's answer once any replay or step-up is done, and the session's
/// error when it judged the answer fatal.
pub(crate) struct Answered {
    pub(crate) response: http::Response<Vec<u8>>,
    pub(crate) fatal: Option<authsession_core::Error>,
}

impl Answered {
    /// What the caller of `send` gets: the answer, or the session's error.
    pub(crate) fn into_result(self) -> Result<http::Response<Vec<u8>>, Error> {
        match self.fatal {
            Some(error) => Err(Error::Api(Box::new(error))),
            None => Ok(self.response),
        }
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder<P: Provider> {
    provider: P,
    credentials: P::Credentials,
    base_url: Option<String>,
    config: Config,
    pub(crate) timeouts: Timeouts,
    pub(crate) logout_on_drop: bool,
    max_wait: Duration,
    pub(crate) step_up: Option<StepUp>,
    #[cfg(feature = "tokio")]
    pub(crate) async_step_up: Option<crate::step_up::AsyncStepUp>,
    #[cfg(feature = "store")]
    store: Option<(
        std::sync::Arc<dyn crate::store::SessionStore>,
        crate::store::SealKey,
    )>,
    #[cfg(feature = "store")]
    logins_per_minute: Option<u32>,
}

impl<P: Provider> ClientBuilder<P> {
    /// Shares the session through `store`, sealed with the fleet's `key`:
    /// every process with the same store, key, provider, base URL and
    /// login uses one session (one login at a time for all of them, a
    /// refused login recorded for all, at most
    /// [`logins_per_minute`](Self::logins_per_minute) logins in any minute
    /// for all of them). See [`crate::store`]. Feature `store`.
    #[cfg(feature = "store")]
    pub fn store(
        mut self,
        store: impl crate::store::SessionStore + 'static,
        key: crate::store::SealKey,
    ) -> Self {
        self.store = Some((std::sync::Arc::new(store), key));
        self
    }

    /// With a [`store`](Self::store): the most logins the whole fleet
    /// sends in any minute. Default: the provider's
    /// [`Provider::logins_per_minute`] (10 for the built-in ones). A login
    /// past it waits for the budget within [`max_wait`](Self::max_wait),
    /// or fails with [`Error::RateLimited`]. Feature `store`.
    #[cfg(feature = "store")]
    pub fn logins_per_minute(mut self, logins: u32) -> Self {
        self.logins_per_minute = Some(logins);
        self
    }

    /// How the program steps the session up when a call needs it: the
    /// channel to use, and a callback that is told what the user is asked
    /// (the channel, why: a first code, a refused one, an expired one, and
    /// how many tries are left when the API says) and returns the code the
    /// user typed (SMS), a request for a new code, the user's answer to a
    /// push, or a refusal. The call is replayed after a successful step-up.
    /// Without it, such calls fail with [`Error::StepUpRequired`].
    ///
    /// A panic in the callback ends that step-up and reaches the calling
    /// thread; the next call may step up again.
    pub fn step_up(
        mut self,
        channel: Channel,
        callback: impl Fn(&CodePrompt) -> StepUpAnswer + Send + Sync + 'static,
    ) -> Self {
        self.step_up = Some(StepUp::new(channel, callback));
        self
    }

    /// The API's base URL (`https://`, or `http://` to a loopback address).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The session's timing and retry configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The HTTP timeouts and body limit.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Whether dropping the client closes the session on the server (when
    /// the API has a logout). Default: yes.
    pub fn logout_on_drop(mut self, logout_on_drop: bool) -> Self {
        self.logout_on_drop = logout_on_drop;
        self
    }

    /// The longest a call waits for the session (logins and their round
    /// trips, backoff, another thread's step-up) before it fails with
    /// [`Error::Timeout`]. Default 2 minutes.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The client, or [`Error::BaseUrl`] for a missing or unsafe base URL.
    /// Feature `blocking` (a default one).
    #[cfg(feature = "blocking")]
    pub fn build(self) -> Result<Client<P>, Error> {
        #[cfg(feature = "tokio")]
        if self.async_step_up.is_some() {
            return Err(Error::Config(
                "an async step-up callback (step_up_async) needs build_async".into(),
            ));
        }
        let http = Box::new(crate::ureq_exchange::UreqExchange::new(self.timeouts));
        self.build_with(http)
    }

    /// The client, its HTTP exchanged by `http`.
    pub(crate) fn build_with(
        self,
        http: Box<dyn crate::transport::Exchange>,
    ) -> Result<Client<P>, Error> {
        let base_url = self.base_url.ok_or(Error::BaseUrl(BaseUrlError::Missing))?;
        let base = BaseUrl::parse(&base_url)?;
        let session = Session::with_config(self.provider, self.credentials, self.config);
        #[cfg(feature = "store")]
        let fleet = self.store.map(|(store, key)| {
            let budget = self
                .logins_per_minute
                .unwrap_or_else(|| session.provider().logins_per_minute());
            crate::fleet::Fleet::new(store, key, &session, &base.as_string(), budget)
        });
        Ok(Client {
            transport: Transport::new(base, http, self.timeouts),
            shared: Mutex::new(Shared {
                session,
                exchanging: 0,
                give_ups: 0,
                stepping_up: false,
                step_ups_ended: 0,
                last_step_up_failure: None,
                last_transport: None,
                held_back_until: None,
                idled_out: None,
                #[cfg(feature = "store")]
                fleet_login: None,
                grant_headers: GrantHeaders::default(),
            }),
            changed: Condvar::new(),
            #[cfg(feature = "tokio")]
            notify: tokio::sync::Notify::new(),
            clock_origin: StdInstant::now(),
            logout_on_drop: self.logout_on_drop,
            max_wait: self.max_wait,
            step_up: self.step_up,
            #[cfg(feature = "store")]
            fleet,
        })
    }
}

impl<P: Provider> Shared<P> {
    /// The transport's error, when the session's last failure is that its
    /// last request got no answer.
    fn unanswered(&self) -> Option<Error> {
        if !matches!(
            self.session.last_error(),
            Some(authsession_core::Error::Transport)
        ) {
            return None;
        }
        if let Some(until) = self.held_back_until {
            return Some(Error::RateLimited {
                retry_after: until.saturating_duration_since(StdInstant::now()),
            });
        }
        self.last_transport.clone().map(Error::Transport)
    }
}

/// A session request counted as on its way.
pub(crate) struct Exchanging {
    outgoing: Outgoing,
    within: Duration,
    /// Whether it is the first step of a login (the fleet's store is
    /// asked before it goes).
    #[cfg(feature = "store")]
    starts_login: bool,
}

/// What a call waiting for its grant does next.
pub(crate) enum GrantStep {
    /// Send the call with these headers, and hand its answer back with
    /// the ticket.
    Granted(http::HeaderMap, Ticket),
    /// Send the session's request (a login), answered within `within`,
    /// then look again.
    Send {
        outgoing: Outgoing,
        within: Duration,
    },
    /// Send the session's refresh, then look again (the current token
    /// still serves).
    Refresh {
        outgoing: Outgoing,
        within: Duration,
    },
    /// Wait for the session to change, at most this long.
    Wait(Duration),
}

/// A session request taken out of the session, ready to send.
pub(crate) struct Outgoing {
    id: authsession_core::RequestId,
    request: http::Request<Vec<u8>>,
}

impl Outgoing {
    /// Wipes the body of a request that will not be sent: a login's holds
    /// the credentials.
    fn wipe(mut self) {
        zeroize::Zeroize::zeroize(self.request.body_mut());
    }
}

impl<P: Provider> Client<P> {
    /// A builder for a client of `provider` with `credentials`.
    pub fn builder(provider: P, credentials: P::Credentials) -> ClientBuilder<P> {
        ClientBuilder {
            provider,
            credentials,
            base_url: None,
            config: Config::default(),
            timeouts: Timeouts::default(),
            logout_on_drop: true,
            max_wait: Duration::from_secs(120),
            step_up: None,
            #[cfg(feature = "tokio")]
            async_step_up: None,
            #[cfg(feature = "store")]
            store: None,
            #[cfg(feature = "store")]
            logins_per_minute: None,
        }
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> String {
        self.transport.base.as_string()
    }

    /// `GET path` as a logged-in user.
    pub fn get(&self, path: &str) -> Result<http::Response<Vec<u8>>, Error> {
        self.call(Level::User, "GET", path, Vec::new())
    }

    /// `POST path` with a JSON body, as a logged-in user.
    pub fn post_json(
        &self,
        path: &str,
        json: impl Into<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(Level::User, crate::request::json(path, json.into())?)
    }

    /// `POST path` with a `multipart/form-data` body of `fields`, as a
    /// logged-in user: how Currencycloud's calls take their data. A
    /// payment (`/v2/payments/create`) on a provider with payment SCA goes
    /// through its challenge: see [`ClientBuilder::step_up`].
    ///
    /// ```no_run
    /// # fn pay(client: &authsession_std::Client<authsession_core::providers::Currencycloud>)
    /// # -> Result<(), authsession_std::Error> {
    /// let payment = client.post_form("/v2/payments/create", &[
    ///     ("currency", "EUR"),
    ///     ("beneficiary_id", "b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10"),
    ///     ("amount", "250.00"),
    ///     ("reason", "Invoice 42"),
    ///     ("reference", "INV-42"),
    /// ])?;
    /// # Ok(()) }
    /// ```
    pub fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(Level::User, crate::request::form(path, fields)?)
    }

    /// `method path` with `body` at `level`.
    pub fn call(
        &self,
        level: Level,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        self.send(level, crate::request::plain(method, path, body)?)
    }

    /// Sends `request` (its URI a path under the base URL, or an absolute
    /// URL of the same origin) with the headers `level` needs. A call whose
    /// token is refused is sent once more after the new login; a call that
    /// needs step-up is sent once more after the step-up, when a step-up
    /// callback was given.
    ///
    /// Non-2xx answers the session has nothing to say about are returned as
    /// responses, not errors: they are the application's business.
    pub fn send(
        &self,
        level: Level,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let (parts, body) = request.into_parts();
        // Refused before a token is asked for: a call to another origin
        // must not cost a login.
        let url = self.transport.base.join_uri(&parts.uri)?;
        let call = Call {
            level,
            method: &parts.method,
            url: &url,
            headers: &parts.headers,
            body: &body,
        };
        if let Some(challenge) = self.call_step_up(&parts.method, &url) {
            return self.send_with_call_step_up(&call, challenge, &|| false);
        }
        self.send_call(&call, &http::HeaderMap::new())?
            .into_result()
    }

    /// The challenge the provider asks of a call to `url` with `method`
    /// before it goes (a Currencycloud payment with SCA), if any.
    pub(crate) fn call_step_up(
        &self,
        method: &http::Method,
        url: &http::Uri,
    ) -> Option<authsession_core::CallStepUp> {
        self.lock().call_step_up(method, url)
    }

    /// Sends `call` with `extra` headers and the headers its level needs,
    /// until the session is content: once more after a new login if its
    /// token was refused, once more after a step-up if it needed one (when
    /// a step-up callback was given).
    pub(crate) fn send_call(
        &self,
        call: &Call<'_>,
        extra: &http::HeaderMap,
    ) -> Result<Answered, Error> {
        let mut rounds = CallRounds::new(self.step_up.is_some());
        loop {
            let (grant_headers, ticket) = match self.await_grant(call.level) {
                Err(Error::StepUpRequired) if rounds.step_up_before_sending() => {
                    self.perform_step_up()?;
                    continue;
                }
                granted => granted?,
            };
            let response = self.transport.send(call.request(extra, grant_headers))?;
            let verdict = self.judge(ticket, &response);
            match rounds.after(&verdict) {
                NextRound::Replay => {
                    tracing::info!(provider = P::NAME, "token refused: replaying after login");
                }
                NextRound::StepUp => self.perform_step_up()?,
                NextRound::Finish => {
                    let answered = self.finish(verdict, response);
                    #[cfg(feature = "store")]
                    if let (Ok(Answered { fatal: None, .. }), Some(fleet)) =
                        (&answered, &self.fleet)
                    {
                        fleet.touch();
                    }
                    return answered;
                }
            }
        }
    }

    /// The session's verdict on the answer to a call sent with `ticket`.
    pub(crate) fn judge(&self, ticket: Ticket, response: &http::Response<Vec<u8>>) -> Verdict {
        let mut shared = self.lock();
        let now = self.now();
        let verdict = shared
            .session
            .handle_reply(ticket, &HttpResponse(response), now);
        self.drain_events(&mut shared);
        verdict
    }

    /// What the caller gets for a call whose rounds are over: its answer,
    /// or the error the final verdict means.
    pub(crate) fn finish(
        &self,
        verdict: Verdict,
        response: http::Response<Vec<u8>>,
    ) -> Result<Answered, Error> {
        match verdict {
            Verdict::Replay => Err(Error::TokenRefused),
            Verdict::StepUp => Err(Error::StepUpRequired),
            Verdict::RateLimited { until } => Err(Error::RateLimited {
                retry_after: until.saturating_duration_since(self.now()),
            }),
            Verdict::Fatal(error) => Ok(Answered {
                response,
                fatal: Some(error),
            }),
            // `Ok`, and any verdict this client does not know (it asks
            // nothing of the client): the answer is the caller's.
            _ => Ok(Answered {
                response,
                fatal: None,
            }),
        }
    }

    /// Logs in now (unless a token is held), waiting for the outcome. This
    /// is also how a session whose credentials were refused tries again.
    pub fn login(&self) -> Result<(), Error> {
        {
            let mut shared = self.lock();
            let now = self.now();
            shared.session.login(now);
            self.drain_events(&mut shared);
        }
        self.await_grant(Level::User).map(drop)
    }

    /// Closes the session: the logout request goes out (when the API has
    /// one) and the token is forgotten whatever the answer. Later calls log
    /// in afresh. An error says only that the server may not have heard.
    pub fn logout(&self) -> Result<(), Error> {
        let mut shared = self.lock();
        // A token whose time is up must not travel, not even to log out.
        let now = self.catch_up(&mut shared);
        shared.session.logout(now);
        self.drain_events(&mut shared);
        let result = match self.take_transmit(&mut shared)? {
            Some(outgoing) => self.exchange(shared, outgoing, self.max_wait).1,
            None => Ok(()),
        };
        // The session is closed for the whole fleet: no process takes it
        // up again.
        #[cfg(feature = "store")]
        if let (Ok(()), Some(fleet)) = (&result, &self.fleet) {
            fleet
                .forget()
                .map_err(|error| Error::Store(std::sync::Arc::new(error)))?;
        }
        result
    }

    /// Takes up the stored session, or logs in, as a call would. With a
    /// store, what `logout` needs first in a new process. Feature `store`.
    #[cfg(feature = "store")]
    pub fn resume(&self) -> Result<(), Error> {
        self.await_grant(Level::User).map(drop)
    }

    /// Clears the fleet's mark of a refused login (what an operator does
    /// once the credentials are fixed on the API's side): the processes of
    /// the fleet log in again with them. A client that saw the refusal
    /// itself stays rejected until [`login`](Self::login). Feature `store`.
    #[cfg(feature = "store")]
    pub fn clear_refusal(&self) -> Result<(), Error> {
        match &self.fleet {
            Some(fleet) => fleet
                .clear_refusal()
                .map_err(|error| Error::Store(std::sync::Arc::new(error))),
            None => Ok(()),
        }
    }

    /// Replaces the credentials; the current token, if any, is forgotten.
    pub fn set_credentials(&self, credentials: P::Credentials) {
        let mut shared = self.lock();
        shared.session.set_credentials(credentials);
        shared.grant_headers.clear();
        self.drain_events(&mut shared);
        self.wake_all();
    }

    /// The session's state.
    pub fn state(&self) -> SessionState {
        self.lock().session.state()
    }

    /// How many logins have succeeded.
    pub fn generation(&self) -> u64 {
        self.lock().session.generation()
    }

    /// Waits until the session can authorize a call at `level`, sending the
    /// session's own requests from this thread when none is on its way.
    pub(crate) fn await_grant(&self, level: Level) -> Result<(http::HeaderMap, Ticket), Error> {
        let started = StdInstant::now();
        let mut shared = self.lock();
        let give_ups_seen = shared.give_ups;
        loop {
            match self.grant_step(&mut shared, level, started, give_ups_seen)? {
                GrantStep::Granted(headers, ticket) => return Ok((headers, ticket)),
                GrantStep::Send { outgoing, within } => {
                    let (guard, sent) = self.exchange(shared, outgoing, within);
                    shared = guard;
                    // The fleet's budget held the login back past this
                    // call's patience: that is this call's answer.
                    if let Err(error @ Error::RateLimited { .. }) = sent {
                        return Err(error);
                    }
                }
                // The call may go with the current token whatever comes of
                // the refresh (a request that cannot be built was handed
                // back to the session as failed).
                GrantStep::Refresh { outgoing, within } => {
                    shared = self.exchange(shared, outgoing, within).0;
                }
                GrantStep::Wait(nap) => {
                    shared = self
                        .changed
                        .wait_timeout(shared, nap)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    /// One look at the session for a call at `level` that began waiting at
    /// `started` and had seen `give_ups_seen` give-ups: what it does next.
    /// The blocking and the async client wait the same way but for how
    /// they sleep and send.
    pub(crate) fn grant_step(
        &self,
        shared: &mut Shared<P>,
        level: Level,
        started: StdInstant,
        give_ups_seen: u64,
    ) -> Result<GrantStep, Error> {
        let now = self.catch_up(shared);
        let not_ready = match shared.session.authorize(level, now) {
            Ok(grant) => {
                let headers = shared.grant_headers.for_request(&grant.headers)?;
                let ticket = grant.ticket;
                self.drain_events(shared);
                // A refresh came due: this caller sends it, then takes the
                // newest token; the others keep calling with the current
                // one meanwhile.
                if let Ok(Some(outgoing)) = self.take_transmit(shared) {
                    let within = self.max_wait.saturating_sub(started.elapsed());
                    return Ok(GrantStep::Refresh { outgoing, within });
                }
                return Ok(GrantStep::Granted(headers, ticket));
            }
            Err(not_ready) => not_ready,
        };
        self.drain_events(shared);
        if shared.give_ups != give_ups_seen {
            return Err(shared
                .unanswered()
                .unwrap_or_else(|| Error::GaveUp(Box::new(last_error(&shared.session)))));
        }
        match not_ready {
            NotReady::Rejected => {
                return Err(Error::Rejected(Box::new(last_error(&shared.session))));
            }
            NotReady::StepUpRequired | NotReady::SteppingUp => {
                return Err(Error::StepUpRequired);
            }
            NotReady::Unsupported => {
                return Err(Error::UnsupportedLevel {
                    provider: P::NAME,
                    level,
                });
            }
            // Something is on its way (a login, a logout, a backoff):
            // wait for it, within the call's patience.
            _ => {}
        }
        let waited = started.elapsed();
        let Some(patience) = self.max_wait.checked_sub(waited) else {
            return Err(Error::Timeout { waited });
        };
        if let Some(outgoing) = self.take_transmit(shared)? {
            // The round trip counts against the call's patience too.
            return Ok(GrantStep::Send {
                outgoing,
                within: patience,
            });
        }
        if let NotReady::Backoff { until } = not_ready {
            let backoff = until.saturating_duration_since(now);
            if backoff > patience {
                // A backoff after logins that got no answer is the
                // network's doing, not the API's.
                return Err(shared.unanswered().unwrap_or(Error::RateLimited {
                    retry_after: backoff,
                }));
            }
            return Ok(GrantStep::Wait(backoff));
        }
        Ok(GrantStep::Wait(patience))
    }

    /// Lets the session see the time: a lapsed token is dropped, a backoff
    /// that is over ends. Returns the time it was told.
    pub(crate) fn catch_up(&self, shared: &mut Shared<P>) -> Instant {
        let now = self.now();
        // While a thread sends the session's request, its transport's own
        // timeout speaks for it: the session's deadline must not fail it
        // (and start another) while it may still be answered. The token's
        // own timers are checked by `authorize` meanwhile.
        if shared.exchanging == 0 && shared.session.poll_timeout().is_some_and(|at| at <= now) {
            shared.session.handle_timeout(now);
        }
        now
    }

    /// The session's next request, as an `http::Request`.
    pub(crate) fn take_transmit(&self, shared: &mut Shared<P>) -> Result<Option<Outgoing>, Error> {
        let Some(transmit) = shared.session.poll_transmit() else {
            return Ok(None);
        };
        let id = transmit.id;
        let request = self.to_request(&transmit);
        match request {
            Ok(request) => Ok(Some(Outgoing { id, request })),
            Err(error) => {
                let now = self.now();
                shared.session.handle_failure(id, now);
                // Not sent: whatever the transport said before is stale.
                shared.last_transport = None;
                shared.held_back_until = None;
                self.drain_events(shared);
                Err(error)
            }
        }
    }

    fn to_request(&self, transmit: &Transmit<'_>) -> Result<http::Request<Vec<u8>>, Error> {
        tracing::debug!(
            provider = P::NAME,
            method = transmit.method.as_str(),
            path = transmit.path,
            "sending the session's request"
        );
        self.transport.request(
            transmit.method.as_str(),
            transmit.path,
            &transmit.headers,
            transmit.body.to_vec(),
        )
    }

    /// Sends a session request without the lock, answered within `within`
    /// at most, hands the answer back to the session, and wakes the
    /// waiters.
    pub(crate) fn exchange<'a>(
        &'a self,
        mut shared: MutexGuard<'a, Shared<P>>,
        outgoing: Outgoing,
        within: Duration,
    ) -> (MutexGuard<'a, Shared<P>>, Result<(), Error>) {
        let exchanging = self.begin_exchange(&mut shared, outgoing, within);
        drop(shared);
        self.finish_exchange(exchanging)
    }

    /// Counts a session request as on its way (the session's own deadline
    /// must not fail it while the transport may still be answered), under
    /// the lock. It must then be finished or, if it can no longer be sent,
    /// abandoned.
    // `self` tells whether the client has a fleet, when it can have one.
    #[cfg_attr(not(feature = "store"), allow(clippy::unused_self))]
    pub(crate) fn begin_exchange(
        &self,
        shared: &mut Shared<P>,
        outgoing: Outgoing,
        within: Duration,
    ) -> Exchanging {
        shared.exchanging += 1;
        Exchanging {
            #[cfg(feature = "store")]
            starts_login: self.fleet.is_some() && crate::fleet::starts_login(&shared.session),
            // Within the session's own deadline for the request too, so
            // that the transport always speaks first; and never a zero
            // bound.
            within: within
                .min(shared.session.config().request_timeout)
                .max(Duration::from_millis(1)),
            outgoing,
        }
    }

    /// A session request that was counted but will never be sent (the
    /// task that was to send it is gone): handed back to the session as
    /// failed, so that another caller takes over.
    #[cfg(feature = "tokio")]
    pub(crate) fn abandon_exchange(&self, exchanging: Exchanging) {
        let mut shared = self.lock();
        shared.exchanging -= 1;
        let now = self.now();
        shared.session.handle_failure(exchanging.outgoing.id, now);
        exchanging.outgoing.wipe();
        self.drain_events(&mut shared);
        self.wake_all();
    }

    /// Sends a counted session request (without the lock: the fleet's
    /// store is asked first when it starts a login) and hands the answer
    /// back to the session.
    pub(crate) fn finish_exchange(
        &self,
        exchanging: Exchanging,
    ) -> (MutexGuard<'_, Shared<P>>, Result<(), Error>) {
        let Exchanging {
            outgoing, within, ..
        } = exchanging;
        #[cfg(feature = "store")]
        let starts_login = exchanging.starts_login;
        // Whether this request is a step of a login the fleet's store was
        // asked about (and the lock this process took for it, if any).
        #[cfg(feature = "store")]
        let mut fleet_login: Option<crate::fleet::FleetLogin> = None;
        #[cfg(feature = "store")]
        if let Some(fleet) = self.fleet.as_ref().filter(|_| starts_login) {
            use crate::fleet::BeforeLogin;
            let decided = self.before_login(fleet, within);
            if !matches!(decided, Ok(BeforeLogin::Send(_))) {
                let id = outgoing.id;
                outgoing.wipe();
                let mut shared = self.lock();
                shared.exchanging -= 1;
                let result = match decided {
                    Ok(BeforeLogin::Refused) => {
                        shared
                            .session
                            .reject_login(authsession_core::Error::RefusedByFleet);
                        Ok(())
                    }
                    Err(error) => {
                        // Not sent: the session counts it as failed.
                        shared.session.handle_failure(id, self.now());
                        shared.held_back_until = match &error {
                            Error::RateLimited { retry_after } => {
                                Some(StdInstant::now() + *retry_after)
                            }
                            _ => None,
                        };
                        Err(error)
                    }
                    _ => Ok(()),
                };
                self.drain_events(&mut shared);
                self.wake_all();
                return (shared, result);
            }
            if let Ok(BeforeLogin::Send(login)) = decided {
                fleet_login = Some(login);
            }
        }
        // A further step of a login this process started.
        #[cfg(feature = "store")]
        if fleet_login.is_none() && self.fleet.is_some() && !starts_login {
            fleet_login = self.lock().fleet_login.take();
        }
        let answer = self
            .transport
            .send_session_request(outgoing.request, within);
        let mut shared = self.lock();
        shared.exchanging -= 1;
        let now = self.now();
        let result = match answer {
            Ok(mut response) => {
                shared
                    .session
                    .handle_response(outgoing.id, &HttpResponse(&response), now);
                // A login answer holds the token: the session has its copy.
                zeroize::Zeroize::zeroize(response.body_mut());
                shared.last_transport = None;
                shared.held_back_until = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(provider = P::NAME, %error, "the session's request got no answer");
                shared.session.handle_failure(outgoing.id, now);
                shared.last_transport = error.transport().cloned();
                shared.held_back_until = None;
                Err(error)
            }
        };
        // The login's outcome for the fleet, once its last step is
        // answered: taken now, stored once the lock is let go.
        #[cfg(feature = "store")]
        let for_fleet = match (&self.fleet, fleet_login) {
            // The login goes on: the lock is kept for its next step.
            (Some(_), Some(login)) if crate::fleet::login_goes_on(&shared.session) => {
                shared.fleet_login = Some(login);
                None
            }
            (Some(fleet), Some(login)) => {
                Some((fleet, login, fleet.outcome_of(&shared.session, now)))
            }
            _ => None,
        };
        self.drain_events(&mut shared);
        self.wake_all();
        #[cfg(feature = "store")]
        if let Some((fleet, login, outcome)) = for_fleet {
            drop(shared);
            fleet.record(&outcome, &login);
            shared = self.lock();
        }
        (shared, result)
    }

    /// Logs the session's events and notes give-ups.
    pub(crate) fn drain_events(&self, shared: &mut Shared<P>) {
        let mut gave_up = false;
        while let Some(event) = shared.session.poll_event() {
            // The token, the level or the credentials may have changed:
            // the next grant builds its headers afresh, and the old ones'
            // copies go once their last request does.
            shared.grant_headers.clear();
            trace_event::<P>(&event);
            gave_up |= matches!(event, Event::GaveUp(_));
            // Only a token this process let idle out may be taken back
            // from the store: not one the server refused, nor an old one.
            match event {
                Event::Expired {
                    why: ExpiryReason::Idle,
                } => shared.idled_out = Some(shared.session.generation()),
                Event::Expired { .. } | Event::LoggedIn { .. } | Event::Restored { .. } => {
                    shared.idled_out = None;
                }
                _ => {}
            }
        }
        if gave_up {
            shared.give_ups += 1;
            self.wake_all();
        }
    }

    /// Wakes every thread and task waiting for the session to change.
    pub(crate) fn wake_all(&self) {
        self.changed.notify_all();
        #[cfg(feature = "tokio")]
        self.notify.notify_waiters();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared<P>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> Instant {
        let elapsed = self.clock_origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }
}

impl<P: Provider> Client<P> {
    /// Whether dropping the client should close the session on the
    /// server: a token is held, the API has a logout, and the session is
    /// not the fleet's (dropping one client of a stored session does not
    /// close it).
    pub(crate) fn closes_on_drop(&self) -> bool {
        let active = matches!(
            self.state(),
            SessionState::Active | SessionState::Refreshing { .. }
        );
        #[cfg(feature = "store")]
        let shared_by_fleet = self.fleet.is_some();
        #[cfg(not(feature = "store"))]
        let shared_by_fleet = false;
        active && !shared_by_fleet && self.lock().session.provider().has_logout()
    }
}

impl<P: Provider> Drop for Client<P> {
    fn drop(&mut self) {
        if self.logout_on_drop
            && self.closes_on_drop()
            && let Err(error) = self.logout()
        {
            tracing::warn!(provider = P::NAME, %error, "logout on drop failed");
        }
    }
}

impl<P: Provider> std::fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &P::NAME)
            .field("base_url", &self.transport.base.as_string())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

pub(crate) fn last_error<P: Provider>(session: &Session<P>) -> authsession_core::Error {
    session
        .last_error()
        .cloned()
        .unwrap_or(authsession_core::Error::Transport)
}

/// One `tracing` event a session event; none of them carries a secret.
fn trace_event<P: Provider>(event: &Event<'_>) {
    let provider = P::NAME;
    match event {
        Event::LoggedIn { generation } => tracing::info!(provider, generation, "logged in"),
        Event::Restored { generation } => {
            tracing::info!(provider, generation, "took the stored session's token");
        }
        Event::Expired { why } => tracing::info!(provider, ?why, "token expired"),
        Event::LoginRejected(error) => tracing::warn!(provider, %error, "login rejected"),
        Event::RetryScheduled { until, attempt } => tracing::warn!(
            provider,
            attempt,
            at_ms = until.as_millis(),
            "login failed; retrying later"
        ),
        Event::GaveUp(error) => tracing::warn!(provider, %error, "gave up logging in"),
        Event::LoggedOut => tracing::info!(provider, "logged out"),
        Event::StepUpFailed(error) => tracing::warn!(provider, %error, "step-up failed"),
        other => tracing::info!(provider, event = ?other, "session event"),
    }
}
