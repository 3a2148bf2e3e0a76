//! The session state machine: one token, kept alive for every caller.
//!
//! Inputs are method calls carrying `now`; outputs are drained with the
//! `poll_*` methods. Every state change clears the request in flight, so an
//! answer to anything but the current request is ignored: a late login
//! answer cannot revive a session that was logged out (invariant 5).

mod login;
mod snapshot;
mod state;
mod step_up;

pub use snapshot::{PROVIDER_STATE_MAX, SCOPE_MAX, SNAPSHOT_VERSION, SnapshotError};

pub use state::{SessionState, StepUpState};
use state::{State, Throttles};

use crate::backoff::Jitter;
use crate::challenge::{Challenges, ONE_TIME_CODE_MAX};
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, ExpiryReason};
use crate::grant::{Grant, Level, NotReady, Ticket, Verdict};
use crate::provider::{
    AfterStepUpFailure, Classification, LoginOutcome, LoginStep, Provider, RequestSecrets,
    RetryHint, SessionRequest,
};
use crate::response::Response;
use crate::secret::{Buffer, SecretBuf};
use crate::time::Instant;
use crate::transmit::{Headers, RequestId, Transmit};

/// How many events the session holds before the caller drains them. One
/// input produces at most three.
const EVENT_CAPACITY: usize = 8;

/// Why a step-up action was refused locally, before anything was sent.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpRefused {
    /// The provider has no step-up.
    Unsupported,
    /// No usable token: log in first.
    NotLoggedIn,
    /// A step-up request is already in flight.
    InProgress,
    /// The token is already stepped up.
    AlreadySteppedUp,
    /// The API allows no new challenge before `until`.
    TooSoon {
        /// When a challenge may be asked for again.
        until: Instant,
    },
    /// No code was sent, so there is nothing to submit (or to approve).
    NothingToAnswer,
    /// The code is not 1 to 16 letters or digits.
    InvalidCode,
    /// The server already refused this code for this challenge: it is
    /// never sent again (a wrong code sent twice costs the user a try).
    CodeAlreadyRefused,
    /// So many codes were refused for this challenge that the session
    /// takes no more: ask for a new challenge.
    TooManyCodes,
}

/// The session's one request in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    id: RequestId,
    request: SessionRequest,
    /// Whether `poll_transmit` has handed it out.
    sent: bool,
    /// Unanswered by then, it counts as failed (invariant 13).
    deadline: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    LoggedIn { generation: u64 },
    Restored { generation: u64 },
    Expired { why: ExpiryReason },
    LoginRejected,
    RetryScheduled { until: Instant, attempt: u32 },
    StepUpRequired,
    CodeSent,
    AwaitingApproval,
    SteppedUp,
    StepUpFailed,
    LoggedOut,
    GaveUp,
}

/// An API session: credentials, token, timers and the login protocol of
/// provider `P`, without I/O, clock or heap.
///
/// See the crate documentation for the loop that drives it.
pub struct Session<P: Provider> {
    provider: P,
    credentials: P::Credentials,
    config: Config,
    /// The token that serves calls.
    token: P::Token,
    /// Where a login writes, so that a refresh leaves `token` alone.
    login_token: P::Token,
    body: P::Body,
    /// The code of the verification in flight, kept (wiped) until its
    /// answer so that the provider can describe the request when it goes.
    one_time_code: SecretBuf<ONE_TIME_CODE_MAX>,
    state: State,
    generation: u64,
    next_request_id: u64,
    in_flight: Option<InFlight>,
    events: heapless::Deque<EventKind, EVENT_CAPACITY>,
    events_lost: u32,
    last_error: Option<Error>,
    /// When the next login and the next challenge may go.
    throttles: Throttles,
    /// How many step-ups have succeeded.
    step_ups: u64,
    /// The challenges of the step-up in progress.
    challenges: Challenges,
    jitter: Jitter,
}

impl<P: Provider> core::fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("provider", &P::NAME)
            .field("credentials", &self.credentials)
            .field("token", &self.token)
            .field("state", &self.state())
            .field("generation", &self.generation)
            .field("in_flight", &self.in_flight)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> Session<P> {
    /// A logged-out session with the default [`Config`].
    pub fn new(provider: P, credentials: P::Credentials) -> Self {
        Self::with_config(provider, credentials, Config::default())
    }

    /// A logged-out session with `config`.
    pub fn with_config(provider: P, credentials: P::Credentials, config: Config) -> Self {
        Session {
            provider,
            credentials,
            config,
            token: P::Token::default(),
            login_token: P::Token::default(),
            body: P::Body::default(),
            one_time_code: SecretBuf::new(),
            state: State::LoggedOut,
            generation: 0,
            next_request_id: 0,
            in_flight: None,
            events: heapless::Deque::new(),
            events_lost: 0,
            last_error: None,
            throttles: Throttles::default(),
            step_ups: 0,
            challenges: Challenges::new(),
            jitter: Jitter::new(config.seed),
        }
    }

    /// The state the session is in.
    pub fn state(&self) -> SessionState {
        self.state.public()
    }

    /// How many logins have succeeded; the generation of the current token.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The error of the last failed login (refused, or given up), if any.
    pub const fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// The provider.
    pub const fn provider(&self) -> &P {
        &self.provider
    }

    /// The credentials (their `Debug` shows none of them).
    pub const fn credentials(&self) -> &P::Credentials {
        &self.credentials
    }

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Events lost because the caller did not drain them (zero when the
    /// caller follows the drain rule).
    pub const fn events_lost(&self) -> u32 {
        self.events_lost
    }

    /// Starts a login now, unless one is in flight or a token is held. It
    /// ends any backoff (the caller asked; a `Retry-After` no longer
    /// holds), and it is the one way, besides
    /// [`set_credentials`](Self::set_credentials), out of
    /// [`SessionState::Rejected`].
    pub fn login(&mut self, now: Instant) {
        match self.state {
            State::LoggedOut | State::Expired(_) | State::Rejected | State::Waiting { .. } => {
                self.throttles.login_not_before = Instant::ZERO;
                // A new cycle: the failures counted so far are forgiven.
                self.state = State::LoggedOut;
                self.begin_login(now);
            }
            State::LoggingIn(_) | State::Active(_) | State::LoggingOut => {}
        }
    }

    /// Replaces the credentials. Any token, login in flight and backoff
    /// are forgotten (log out first to close the old session on the
    /// server); a rejected session becomes logged out and logs in on the
    /// next call.
    pub fn set_credentials(&mut self, credentials: P::Credentials) {
        self.credentials = credentials;
        self.throttles.login_not_before = Instant::ZERO;
        let had_token = matches!(self.state, State::Active(_) | State::LoggingOut);
        self.forget_token();
        self.state = State::LoggedOut;
        if had_token {
            self.emit(EventKind::LoggedOut);
        }
    }

    /// Asks to send an application call that needs `level`.
    ///
    /// With a usable token, returns the headers to add and a ticket, and
    /// counts the call as activity. Otherwise says why not and queues what
    /// is needed (a login): drain the outputs, then ask again.
    pub fn authorize(&mut self, level: Level, now: Instant) -> Result<Grant<'_>, NotReady> {
        if level == Level::SteppedUp && !self.provider.supports_step_up() {
            return Err(NotReady::Unsupported);
        }
        if level != Level::Account {
            self.make_ready(now)?;
            if level == Level::SteppedUp {
                self.check_stepped_up()?;
            }
            let idle_deadline = self
                .provider
                .idle_timeout()
                .map(|idle| self.idle_deadline(now, idle));
            if let State::Active(times) = &mut self.state {
                times.idle_deadline = idle_deadline;
            }
        }
        let ticket = Ticket {
            generation: self.generation,
            level,
            step_ups: self.step_ups,
        };
        let mut headers = Headers::new();
        match self
            .provider
            .call_headers(level, &self.credentials, &self.token, &mut headers)
        {
            Ok(()) => Ok(Grant { headers, ticket }),
            Err(_) => Err(NotReady::Unsupported),
        }
    }

    /// Leaves the session `Active` with a token that has not lapsed, or
    /// says why it cannot be, starting a login where one is needed.
    fn make_ready(&mut self, now: Instant) -> Result<(), NotReady> {
        self.check_token(now);
        match self.state {
            State::Active(_) => return Ok(()),
            State::LoggedOut | State::Expired(_) => self.begin_login(now),
            // The wait is over even if the timer was not handled yet.
            State::Waiting { until, .. } if now >= until => self.begin_login(now),
            _ => {}
        }
        Err(match self.state {
            State::Waiting { until, .. } => NotReady::Backoff { until },
            State::Rejected => NotReady::Rejected,
            State::LoggingOut => NotReady::LoggingOut,
            _ => NotReady::LoggingIn,
        })
    }

    /// Judges the response to an application call sent under `ticket`.
    pub fn handle_reply<R: Response + ?Sized>(
        &mut self,
        ticket: Ticket,
        response: &R,
        now: Instant,
    ) -> Verdict {
        match self.provider.classify(ticket.level, response) {
            Classification::Fine => Verdict::Ok,
            Classification::TokenRefused => {
                // Only the first refusal of the current token ends it; the
                // others of the same burst (or older ones) just replay.
                let current = ticket.generation == self.generation;
                if current && matches!(self.state, State::Active(_)) {
                    self.expire(ExpiryReason::Refused);
                    // A refresh already in flight carries on as the login.
                    if matches!(self.state, State::Expired(_)) {
                        self.begin_login(now);
                    }
                }
                Verdict::Replay
            }
            Classification::StepUpRequired => {
                // Only a refusal of a call sent under the current token and
                // the current step-up says that step-up is needed now.
                let current =
                    ticket.generation == self.generation && ticket.step_ups == self.step_ups;
                if current
                    && let State::Active(times) = &mut self.state
                    && matches!(
                        times.step_up,
                        StepUpState::NotNeeded | StepUpState::SteppedUp
                    )
                {
                    // The server decides how long step-up lasts: when it
                    // asks again, the session needs it again.
                    times.step_up = StepUpState::Needed;
                    self.emit(EventKind::StepUpRequired);
                }
                Verdict::StepUp
            }
            Classification::RateLimited(wait) => Verdict::RateLimited {
                until: now
                    + wait.map_or(self.config.rate_limit_wait, |wait| {
                        self.config.capped_retry_after(wait)
                    }),
            },
            Classification::Fatal(error) => Verdict::Fatal(error),
        }
    }

    /// Hands over the answer to the session's request `id`. Answers to any
    /// other request (late, duplicated, of an older state) are ignored.
    pub fn handle_response<R: Response + ?Sized>(
        &mut self,
        id: RequestId,
        response: &R,
        now: Instant,
    ) {
        let Some(request) = self.take_in_flight(id) else {
            return;
        };
        match request {
            SessionRequest::Login(step) => {
                let outcome = self
                    .provider
                    .read_login(step, response, &mut self.login_token);
                self.after_login_step(outcome, now);
            }
            SessionRequest::StartStepUp(_) | SessionRequest::VerifyCode(_) => {
                let outcome = self.provider.read_step_up(request, response);
                self.after_step_up(request, outcome, now);
            }
            SessionRequest::Logout => self.finish_logout(),
        }
    }

    /// Reports that the session's request `id` got no answer (connection
    /// refused or dropped, timeout).
    pub fn handle_failure(&mut self, id: RequestId, now: Instant) {
        self.fail_in_flight(id, Error::Transport, now);
    }

    /// The session's request `id` failed with `error`: what a failure of
    /// each kind of request leads to.
    fn fail_in_flight(&mut self, id: RequestId, error: Error, now: Instant) {
        let Some(request) = self.take_in_flight(id) else {
            return;
        };
        match request {
            SessionRequest::Login(_) => {
                let failure = RetryHint::without_wait(error);
                self.after_login_step(LoginOutcome::Retry(failure), now);
            }
            SessionRequest::StartStepUp(_) => {
                let next = AfterStepUpFailure::NewChallenge { wait: None };
                self.fail_step_up(error, next, now);
            }
            SessionRequest::VerifyCode(channel) => {
                self.set_step_up(StepUpState::CodeSent(channel));
                self.fail_step_up(error, AfterStepUpFailure::RetryCode, now);
            }
            SessionRequest::Logout => self.finish_logout(),
        }
    }

    /// Lets time pass: call it at [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(in_flight) = self.in_flight
            && now >= in_flight.deadline
        {
            self.fail_in_flight(in_flight.id, Error::Timeout, now);
        }
        match self.state {
            State::Waiting { until, failures } if now >= until => {
                self.queue_login(LoginStep::FIRST, failures, now);
            }
            State::Active(_) => self.check_token(now),
            _ => {}
        }
    }

    /// Expires the active token if it lapsed, or starts its refresh if one
    /// is due (and nothing else is in flight, and no backoff runs).
    fn check_token(&mut self, now: Instant) {
        let State::Active(times) = self.state else {
            return;
        };
        if let Some(why) = times.lapsed(now) {
            self.expire(why);
        } else if times.refresh_due(now)
            && self.in_flight.is_none()
            && now >= self.throttles.login_not_before
        {
            self.begin_refresh(now);
        }
    }

    /// Closes the session. With a usable token and a logout endpoint,
    /// queues the logout request (it carries the token one last time);
    /// otherwise forgets the token at once, so a token that lapsed by `now`
    /// is never sent. No call is authorized with the old token afterwards,
    /// and no late answer brings it back. A rejected session stays rejected.
    pub fn logout(&mut self, now: Instant) {
        match self.state {
            State::Rejected | State::LoggingOut => {}
            State::Active(times) if times.lapsed(now).is_none() && self.provider.has_logout() => {
                if self.queue(SessionRequest::Logout, "", now).is_ok() {
                    self.state = State::LoggingOut;
                } else {
                    self.finish_logout();
                }
            }
            _ => self.finish_logout(),
        }
    }

    /// The next request to send, if any. Each is handed out once.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        let in_flight = self
            .in_flight
            .as_mut()
            .filter(|in_flight| !in_flight.sent)?;
        in_flight.sent = true;
        let (id, request) = (in_flight.id, in_flight.request);
        // Described once already, when it was queued, from the same inputs:
        // the provider answers the same now. (If it did not, the request
        // is not sent, and its deadline fails it.)
        self.body.clear();
        let secrets = request_secrets(
            request,
            &self.credentials,
            &self.token,
            &self.login_token,
            &self.one_time_code,
        );
        let head = self
            .provider
            .describe(request, secrets, &mut self.body)
            .ok()?;
        Some(Transmit {
            id,
            method: head.method,
            path: head.path,
            headers: head.headers,
            body: self.body.as_bytes(),
        })
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        loop {
            let kind = self.events.pop_front()?;
            let carries_error = matches!(
                kind,
                EventKind::LoginRejected | EventKind::GaveUp | EventKind::StepUpFailed
            );
            // The error was replaced since (the caller did not drain in
            // time): skip the event rather than end the drain.
            if carries_error && self.last_error.is_none() {
                continue;
            }
            return Some(match kind {
                EventKind::LoggedIn { generation } => Event::LoggedIn { generation },
                EventKind::Restored { generation } => Event::Restored { generation },
                EventKind::Expired { why } => Event::Expired { why },
                EventKind::RetryScheduled { until, attempt } => {
                    Event::RetryScheduled { until, attempt }
                }
                EventKind::StepUpRequired => Event::StepUpRequired,
                EventKind::CodeSent => Event::CodeSent,
                EventKind::AwaitingApproval => Event::AwaitingApproval,
                EventKind::SteppedUp => Event::SteppedUp,
                EventKind::LoggedOut => Event::LoggedOut,
                EventKind::StepUpFailed => Event::StepUpFailed(self.last_error.as_ref()?),
                EventKind::LoginRejected => Event::LoginRejected(self.last_error.as_ref()?),
                EventKind::GaveUp => Event::GaveUp(self.last_error.as_ref()?),
            });
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state_timer = match self.state {
            State::Waiting { until, .. } => Some(until),
            State::Active(times) => times.next_deadline(),
            _ => None,
        };
        let request_deadline = self.in_flight.map(|in_flight| in_flight.deadline);
        [state_timer, request_deadline].into_iter().flatten().min()
    }

    /// Makes `request` the one in flight, once the provider has described
    /// it (the error if it cannot).
    fn queue(
        &mut self,
        request: SessionRequest,
        one_time_code: &str,
        now: Instant,
    ) -> Result<(), Error> {
        self.in_flight = None;
        self.clear_request();
        self.one_time_code
            .extend(one_time_code.as_bytes(), "one-time code")?;
        let secrets = request_secrets(
            request,
            &self.credentials,
            &self.token,
            &self.login_token,
            &self.one_time_code,
        );
        self.provider
            .describe(request, secrets, &mut self.body)
            .map(drop)?;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        self.in_flight = Some(InFlight {
            id: RequestId(self.next_request_id),
            request,
            sent: false,
            deadline: now + self.config.request_timeout,
        });
        Ok(())
    }

    /// Wipes what the request in flight carried: its body and its code.
    fn clear_request(&mut self) {
        self.body.clear();
        self.one_time_code.clear();
    }

    /// Takes the request in flight if `id` names it, wiping its body.
    fn take_in_flight(&mut self, id: RequestId) -> Option<SessionRequest> {
        let in_flight = self.in_flight.filter(|in_flight| in_flight.id == id)?;
        self.in_flight = None;
        self.clear_request();
        Some(in_flight.request)
    }

    /// Wipes the tokens and drops any request in flight.
    fn forget_token(&mut self) {
        self.challenges.reset();
        self.token.clear();
        self.login_token.clear();
        self.clear_request();
        self.in_flight = None;
    }

    fn emit(&mut self, kind: EventKind) {
        if self.events.is_full() {
            self.events.pop_front();
            self.events_lost = self.events_lost.saturating_add(1);
        }
        // Cannot fail: a place was just made.
        let _ = self.events.push_back(kind);
    }
}

/// What `request` carries: a login its own token buffer (an intermediate
/// token between steps), anything else the active token.
fn request_secrets<'a, C, T>(
    request: SessionRequest,
    credentials: &'a C,
    token: &'a T,
    login_token: &'a T,
    one_time_code: &'a SecretBuf<ONE_TIME_CODE_MAX>,
) -> RequestSecrets<'a, C, T> {
    RequestSecrets {
        credentials,
        token: match request {
            SessionRequest::Login(_) => login_token,
            _ => token,
        },
        one_time_code: one_time_code.as_str(),
    }
}
