//! The session state machine: one token, kept alive for every caller.
//!
//! Inputs are method calls carrying `now`; outputs are drained with the
//! `poll_*` methods. Every state change clears the request in flight, so an
//! answer to anything but the current request is ignored: a late login
//! answer cannot revive a session that was logged out (invariant 5).

use core::time::Duration;

use crate::backoff::Jitter;
use crate::config::Config;
use crate::error::Error;
use crate::error::{ApiError, ErrorKind, StepUpError};
use crate::event::{Event, ExpiryReason};
use crate::grant::{Grant, Level, NotReady, Ticket, Verdict};
use crate::provider::{
    AfterStepUpFailure, Channel, LoginOutcome, LoginStep, NewToken, Provider, Reply,
    RequestSecrets, RetryHint, SessionRequest, StepUpOutcome, is_header_safe,
};
use crate::response::Response;
use crate::secret::Buffer;
use crate::time::Instant;
use crate::transmit::{Headers, RequestId, Transmit};

/// How many events the session holds before the caller drains them. One
/// input produces at most three.
const EVENT_CAPACITY: usize = 8;

/// The state of a session, as the caller may inspect it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// No token, no login in flight.
    LoggedOut,
    /// A login step is in flight.
    LoggingIn {
        /// Which step.
        step: LoginStep,
    },
    /// A token is held and usable.
    Active,
    /// The token lapsed; the next call that needs one logs in.
    Expired {
        /// Why.
        why: ExpiryReason,
    },
    /// A login failed for a passing reason; the next goes at `until`.
    Waiting {
        /// When.
        until: Instant,
        /// Failed logins in a row so far.
        attempt: u32,
    },
    /// The credentials were refused; nothing happens by itself.
    Rejected,
    /// The logout request is in flight.
    LoggingOut,
}

/// Where the session stands with strong customer authentication. A new
/// token starts at `NotNeeded` (or `SteppedUp` if the API says so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpState {
    /// No call has needed step-up yet.
    NotNeeded,
    /// A call needs step-up; none has been started.
    Needed,
    /// A challenge was asked for on this channel.
    Requested(Channel),
    /// A code was sent; [`Session::submit_code`] it.
    CodeSent(Channel),
    /// The code is being checked.
    Verifying(Channel),
    /// A push challenge waits for the user; report it with
    /// [`Session::report_push_result`].
    AwaitingApproval(Channel),
    /// The token is stepped up.
    SteppedUp,
}

/// Why a step-up action was refused locally, before anything was sent.
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
}

/// What the session knows about its token while it is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TokenTimes {
    /// The token is treated as idle-expired from here on; every authorized
    /// call moves it.
    idle_deadline: Option<Instant>,
    /// The token's own lifetime (less the margin) ends here.
    expires_at: Option<Instant>,
    /// Strong customer authentication of this token.
    step_up: StepUpState,
}

impl TokenTimes {
    fn lapsed(&self, now: Instant) -> Option<ExpiryReason> {
        if self.expires_at.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Lifetime)
        } else if self.idle_deadline.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Idle)
        } else {
            None
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.idle_deadline, self.expires_at) {
            (Some(idle), Some(expiry)) => Some(idle.min(expiry)),
            (one, other) => one.or(other),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    LoggedOut,
    LoggingIn {
        step: LoginStep,
        /// Failed logins in a row before this one.
        failures: u32,
        /// When this step was queued: the token's life is counted from here.
        sent_at: Instant,
    },
    Active(TokenTimes),
    Expired(ExpiryReason),
    Waiting {
        until: Instant,
        failures: u32,
    },
    Rejected,
    LoggingOut,
}

/// The session's one request in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    id: RequestId,
    request: SessionRequest,
    /// Whether `poll_transmit` has handed it out.
    sent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    LoggedIn { generation: u64 },
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
    token: P::Token,
    body: P::Body,
    state: State,
    generation: u64,
    next_request_id: u64,
    in_flight: Option<InFlight>,
    events: heapless::Deque<EventKind, EVENT_CAPACITY>,
    events_lost: u32,
    last_error: Option<Error>,
    /// No login is sent before this instant, across give-ups and new
    /// cycles: what the server asked for is always honoured (invariant 6).
    login_not_before: Instant,
    /// No step-up challenge is asked for before this instant.
    challenge_not_before: Instant,
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
            body: P::Body::default(),
            state: State::LoggedOut,
            generation: 0,
            next_request_id: 0,
            in_flight: None,
            events: heapless::Deque::new(),
            events_lost: 0,
            last_error: None,
            login_not_before: Instant::ZERO,
            challenge_not_before: Instant::ZERO,
            jitter: Jitter::new(config.seed),
        }
    }

    /// The state the session is in.
    pub fn state(&self) -> SessionState {
        match self.state {
            State::LoggedOut => SessionState::LoggedOut,
            State::LoggingIn { step, .. } => SessionState::LoggingIn { step },
            State::Active(_) => SessionState::Active,
            State::Expired(why) => SessionState::Expired { why },
            State::Waiting { until, failures } => SessionState::Waiting {
                until,
                attempt: failures,
            },
            State::Rejected => SessionState::Rejected,
            State::LoggingOut => SessionState::LoggingOut,
        }
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

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Events lost because the caller did not drain them (zero when the
    /// caller follows the drain rule).
    pub const fn events_lost(&self) -> u32 {
        self.events_lost
    }

    /// Starts a login now, unless one is in flight, a token is held, or a
    /// backoff is running. This is also the one way, besides
    /// [`set_credentials`](Self::set_credentials), out of
    /// [`SessionState::Rejected`].
    pub fn login(&mut self, now: Instant) {
        match self.state {
            State::LoggedOut | State::Expired(_) | State::Rejected => self.begin_login(now),
            State::LoggingIn { .. }
            | State::Active(_)
            | State::Waiting { .. }
            | State::LoggingOut => {}
        }
    }

    /// Replaces the credentials. Any token and login in flight are
    /// forgotten (log out first to close the old session on the server); a
    /// rejected session becomes logged out and logs in on the next call.
    pub fn set_credentials(&mut self, credentials: P::Credentials) {
        self.credentials = credentials;
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
        };
        let mut headers = Headers::new();
        match self
            .provider
            .grant(level, &self.credentials, &self.token, &mut headers)
        {
            Ok(()) => Ok(Grant { headers, ticket }),
            Err(_) => Err(NotReady::Unsupported),
        }
    }

    /// Leaves the session `Active` with a token that has not lapsed, or
    /// says why it cannot be, starting a login where one is needed.
    fn make_ready(&mut self, now: Instant) -> Result<(), NotReady> {
        if let State::Active(times) = self.state
            && let Some(why) = times.lapsed(now)
        {
            self.expire(why);
        }
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

    /// Passes if the active token is stepped up; otherwise notes that
    /// step-up is needed (telling the caller once) or in progress.
    fn check_stepped_up(&mut self) -> Result<(), NotReady> {
        let State::Active(times) = &mut self.state else {
            return Err(NotReady::LoggingIn);
        };
        match times.step_up {
            StepUpState::SteppedUp => Ok(()),
            StepUpState::NotNeeded => {
                times.step_up = StepUpState::Needed;
                self.emit(EventKind::StepUpRequired);
                Err(NotReady::StepUpRequired)
            }
            StepUpState::Needed => Err(NotReady::StepUpRequired),
            StepUpState::Requested(_)
            | StepUpState::CodeSent(_)
            | StepUpState::Verifying(_)
            | StepUpState::AwaitingApproval(_) => Err(NotReady::SteppingUp),
        }
    }

    /// Where the active token stands with step-up (`NotNeeded` without one).
    pub fn step_up_state(&self) -> StepUpState {
        match self.state {
            State::Active(times) => times.step_up,
            _ => StepUpState::NotNeeded,
        }
    }

    /// Asks for a step-up challenge on `channel`: an SMS code, or a push
    /// the user approves on a device. Queues the request; the answer brings
    /// [`Event::CodeSent`] or [`Event::AwaitingApproval`].
    pub fn start_step_up(&mut self, channel: Channel, now: Instant) -> Result<(), StepUpRefused> {
        if !self.provider.supports_step_up() {
            return Err(StepUpRefused::Unsupported);
        }
        let State::Active(times) = self.state else {
            return Err(StepUpRefused::NotLoggedIn);
        };
        if times.lapsed(now).is_some() {
            return Err(StepUpRefused::NotLoggedIn);
        }
        match times.step_up {
            StepUpState::SteppedUp => return Err(StepUpRefused::AlreadySteppedUp),
            StepUpState::Requested(_) | StepUpState::Verifying(_) => {
                return Err(StepUpRefused::InProgress);
            }
            _ => {}
        }
        if now < self.challenge_not_before {
            return Err(StepUpRefused::TooSoon {
                until: self.challenge_not_before,
            });
        }
        if let Err(error) = self.queue(SessionRequest::StartStepUp(channel), "") {
            self.fail_step_up(error, AfterStepUpFailure::NewChallenge { wait: None }, now);
            return Ok(());
        }
        self.challenge_not_before = now + self.provider.step_up_resend_interval();
        self.set_step_up(StepUpState::Requested(channel));
        Ok(())
    }

    /// Sends the one-time code the user received. The code goes into the
    /// request body only, which is wiped when the answer arrives.
    pub fn submit_code(&mut self, code: &str, now: Instant) -> Result<(), StepUpRefused> {
        let StepUpState::CodeSent(channel) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        let well_formed =
            (1..=16).contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !well_formed {
            return Err(StepUpRefused::InvalidCode);
        }
        if let Err(error) = self.queue(SessionRequest::VerifyCode(channel), code) {
            self.fail_step_up(error, AfterStepUpFailure::RetryCode, now);
            return Ok(());
        }
        self.set_step_up(StepUpState::Verifying(channel));
        Ok(())
    }

    /// Reports the user's answer to a push challenge, which the API
    /// delivers to the application out of band (a webhook).
    pub fn report_push_result(
        &mut self,
        approved: bool,
        now: Instant,
    ) -> Result<(), StepUpRefused> {
        let StepUpState::AwaitingApproval(_) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        if approved {
            self.set_step_up(StepUpState::SteppedUp);
            self.emit(EventKind::SteppedUp);
        } else {
            let mut declined = ApiError::status(0);
            declined.kind = ErrorKind::StepUp(StepUpError::Declined);
            let next = AfterStepUpFailure::NewChallenge { wait: None };
            self.fail_step_up(Error::Api(declined), next, now);
        }
        Ok(())
    }

    fn set_step_up(&mut self, step_up: StepUpState) {
        if let State::Active(times) = &mut self.state {
            times.step_up = step_up;
        }
    }

    fn after_step_up(&mut self, request: SessionRequest, outcome: StepUpOutcome, now: Instant) {
        let (SessionRequest::StartStepUp(channel) | SessionRequest::VerifyCode(channel)) = request
        else {
            return;
        };
        match outcome {
            StepUpOutcome::CodeSent => {
                self.set_step_up(StepUpState::CodeSent(channel));
                self.emit(EventKind::CodeSent);
            }
            StepUpOutcome::AwaitingApproval => {
                self.set_step_up(StepUpState::AwaitingApproval(channel));
                self.emit(EventKind::AwaitingApproval);
            }
            StepUpOutcome::SteppedUp => {
                self.set_step_up(StepUpState::SteppedUp);
                self.emit(EventKind::SteppedUp);
            }
            StepUpOutcome::Failed { error, then } => {
                let then = match (then, request) {
                    // A code that was never sent cannot be typed again.
                    (AfterStepUpFailure::RetryCode, SessionRequest::StartStepUp(_)) => {
                        AfterStepUpFailure::NewChallenge { wait: None }
                    }
                    _ => then,
                };
                if then == AfterStepUpFailure::RetryCode {
                    self.set_step_up(StepUpState::CodeSent(channel));
                }
                self.fail_step_up(error, then, now);
            }
        }
    }

    fn fail_step_up(&mut self, error: Error, then: AfterStepUpFailure, now: Instant) {
        self.last_error = Some(error);
        self.emit(EventKind::StepUpFailed);
        match then {
            AfterStepUpFailure::RetryCode => {}
            AfterStepUpFailure::NewChallenge { wait } => {
                self.set_step_up(StepUpState::Needed);
                if let Some(wait) = wait {
                    self.challenge_not_before = self.challenge_not_before.max(now + wait);
                }
            }
            AfterStepUpFailure::LogInAgain => {
                if matches!(self.state, State::Active(_)) {
                    self.expire(ExpiryReason::StepUpExhausted);
                }
            }
        }
    }

    /// Judges the response to an application call sent under `ticket`.
    pub fn handle_reply<R: Response + ?Sized>(
        &mut self,
        ticket: Ticket,
        response: &R,
        now: Instant,
    ) -> Verdict {
        match self.provider.classify(ticket.level, response) {
            Reply::Fine => Verdict::Ok,
            Reply::TokenRefused => {
                // Only the first refusal of the current token ends it; the
                // others of the same burst (or older ones) just replay.
                let current = ticket.generation == self.generation;
                if current && matches!(self.state, State::Active(_)) {
                    self.expire(ExpiryReason::Refused);
                    self.begin_login(now);
                }
                Verdict::Replay
            }
            Reply::StepUpRequired => {
                let current = ticket.generation == self.generation;
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
            Reply::RateLimited(wait) => Verdict::RateLimited {
                until: now + wait.unwrap_or(self.config.rate_limit_wait),
            },
            Reply::Fatal(error) => Verdict::Fatal(error),
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
                let outcome = self.provider.read_login(step, response, &mut self.token);
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
        let Some(request) = self.take_in_flight(id) else {
            return;
        };
        match request {
            SessionRequest::Login(_) => {
                self.token.clear();
                self.retry_later(RetryHint::without_wait(Error::Transport), now);
            }
            SessionRequest::StartStepUp(_) => {
                let next = AfterStepUpFailure::NewChallenge { wait: None };
                self.fail_step_up(Error::Transport, next, now);
            }
            SessionRequest::VerifyCode(channel) => {
                self.set_step_up(StepUpState::CodeSent(channel));
                self.fail_step_up(Error::Transport, AfterStepUpFailure::RetryCode, now);
            }
            SessionRequest::Logout => self.finish_logout(),
        }
    }

    /// Lets time pass: call it at [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Waiting { until, failures } if now >= until => {
                self.queue_login(LoginStep::FIRST, failures, now);
            }
            State::Active(times) => {
                if let Some(why) = times.lapsed(now) {
                    self.expire(why);
                }
            }
            _ => {}
        }
    }

    /// Closes the session. With a token and a logout endpoint, queues the
    /// logout request (it carries the token one last time); otherwise
    /// forgets the token at once. No call is authorized with the old token
    /// afterwards, and no late answer brings it back. A rejected session
    /// stays rejected.
    pub fn logout(&mut self) {
        match self.state {
            State::Rejected | State::LoggingOut => {}
            State::Active(_) if self.provider.has_logout() => {
                if self.queue(SessionRequest::Logout, "").is_ok() {
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
        // The head was built once when the request was queued; the provider
        // answers the same now.
        let head = self
            .provider
            .head(request, &self.credentials, &self.token)
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
        let kind = self.events.pop_front()?;
        Some(match kind {
            EventKind::LoggedIn { generation } => Event::LoggedIn { generation },
            EventKind::Expired { why } => Event::Expired { why },
            EventKind::RetryScheduled { until, attempt } => {
                Event::RetryScheduled { until, attempt }
            }
            EventKind::StepUpRequired => Event::StepUpRequired,
            EventKind::CodeSent => Event::CodeSent,
            EventKind::AwaitingApproval => Event::AwaitingApproval,
            EventKind::SteppedUp => Event::SteppedUp,
            EventKind::StepUpFailed => Event::StepUpFailed(self.last_error.as_ref()?),
            EventKind::LoggedOut => Event::LoggedOut,
            EventKind::LoginRejected => Event::LoginRejected(self.last_error.as_ref()?),
            EventKind::GaveUp => Event::GaveUp(self.last_error.as_ref()?),
        })
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { until, .. } => Some(until),
            State::Active(times) => times.next_deadline(),
            _ => None,
        }
    }

    // ---- transitions ----

    fn begin_login(&mut self, now: Instant) {
        let failures = match self.state {
            State::Waiting { failures, .. } => failures,
            _ => 0,
        };
        if now < self.login_not_before {
            self.forget_token();
            self.state = State::Waiting {
                until: self.login_not_before,
                failures,
            };
        } else {
            self.queue_login(LoginStep::FIRST, failures, now);
        }
    }

    fn queue_login(&mut self, step: LoginStep, failures: u32, now: Instant) {
        if step == LoginStep::FIRST {
            self.forget_token();
        }
        match self.queue(SessionRequest::Login(step), "") {
            Ok(()) => {
                self.state = State::LoggingIn {
                    step,
                    failures,
                    sent_at: now,
                };
            }
            // The request cannot even be written (credentials too long for
            // the body buffer): no retry can help.
            Err(error) => self.reject(error),
        }
    }

    /// Writes `request` into the body buffer and makes it the one in flight.
    fn queue(&mut self, request: SessionRequest, one_time_code: &str) -> Result<(), Error> {
        self.in_flight = None;
        self.body.clear();
        let secrets = RequestSecrets {
            credentials: &self.credentials,
            token: &self.token,
            one_time_code,
        };
        self.provider
            .write_body(request, &secrets, &mut self.body)?;
        self.provider
            .head(request, &self.credentials, &self.token)
            .map(drop)?;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        self.in_flight = Some(InFlight {
            id: RequestId(self.next_request_id),
            request,
            sent: false,
        });
        Ok(())
    }

    /// Takes the request in flight if `id` names it, wiping its body.
    fn take_in_flight(&mut self, id: RequestId) -> Option<SessionRequest> {
        let in_flight = self.in_flight.filter(|in_flight| in_flight.id == id)?;
        self.in_flight = None;
        self.body.clear();
        Some(in_flight.request)
    }

    fn after_login_step(&mut self, outcome: LoginOutcome, now: Instant) {
        let State::LoggingIn {
            failures, sent_at, ..
        } = self.state
        else {
            return;
        };
        match outcome {
            LoginOutcome::Next(step) => self.queue_login(step, failures, now),
            LoginOutcome::LoggedIn(new_token) => {
                if is_header_safe(self.token.as_bytes()) {
                    self.activate(new_token, sent_at);
                } else {
                    self.token.clear();
                    let error = Error::InvalidHeaderValue { what: "token" };
                    self.retry_later(RetryHint::without_wait(error), now);
                }
            }
            LoginOutcome::Rejected(error) => self.reject(error),
            LoginOutcome::Retry(hint) => {
                self.token.clear();
                self.retry_later(hint, now);
            }
        }
    }

    fn activate(&mut self, new_token: NewToken, sent_at: Instant) {
        let margin = self.config.expiry_margin;
        let times = TokenTimes {
            idle_deadline: self
                .provider
                .idle_timeout()
                .map(|idle| self.idle_deadline(sent_at, idle)),
            expires_at: new_token
                .lifetime
                .map(|total| sent_at + total.saturating_sub(margin)),
            step_up: if new_token.stepped_up {
                StepUpState::SteppedUp
            } else {
                StepUpState::NotNeeded
            },
        };
        self.generation = self.generation.wrapping_add(1);
        self.last_error = None;
        self.state = State::Active(times);
        self.emit(EventKind::LoggedIn {
            generation: self.generation,
        });
    }

    fn idle_deadline(&self, activity: Instant, idle: Duration) -> Instant {
        activity + idle.saturating_sub(self.config.expiry_margin)
    }

    fn reject(&mut self, error: Error) {
        self.forget_token();
        self.last_error = Some(error);
        self.state = State::Rejected;
        self.emit(EventKind::LoginRejected);
    }

    fn retry_later(&mut self, hint: RetryHint, now: Instant) {
        let State::LoggingIn { failures, .. } = self.state else {
            return;
        };
        let attempt = failures.saturating_add(1);
        let server_wait = match hint.retry_after {
            Some(wait) => Some(wait),
            None if hint.rate_limited => Some(self.config.rate_limit_wait),
            None => None,
        };
        self.last_error = Some(hint.error);
        let wait = self.jitter.retry_delay(&self.config, attempt, server_wait);
        let until = now + wait;
        self.login_not_before = until;
        if attempt >= self.config.max_attempts {
            self.state = State::LoggedOut;
            self.emit(EventKind::GaveUp);
        } else {
            self.state = State::Waiting {
                until,
                failures: attempt,
            };
            self.emit(EventKind::RetryScheduled { until, attempt });
        }
    }

    fn expire(&mut self, why: ExpiryReason) {
        self.forget_token();
        self.state = State::Expired(why);
        self.emit(EventKind::Expired { why });
    }

    fn finish_logout(&mut self) {
        self.forget_token();
        self.state = State::LoggedOut;
        self.emit(EventKind::LoggedOut);
    }

    /// Wipes the token and drops any request in flight.
    fn forget_token(&mut self) {
        self.token.clear();
        self.body.clear();
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
